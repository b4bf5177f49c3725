#!/usr/bin/env bash
# The project's test command: prepares the test daemon, vets, then runs every test, including
# the end-to-end tests against the real daemon (MYBUILD_E2E=1: they fail instead of skipping
# when no daemon answers).
set -euo pipefail
cd "$(dirname "$0")/.."
# go needs HOME (GOPATH, module and build caches) when the environment has none
export HOME="${HOME:-/root}"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

start=$SECONDS
echo "== test daemons and reference programs"
bash scripts/test-daemon.sh
bash scripts/test-podman.sh
# buildx v0.38.2 (the BuildKit reference), Engine 29, buildkitd v0.34.2 and a registry, built
# once into a cache of their own (MYBUILD_REFS, default /opt/mybuild-refs).
bash scripts/install-refs.sh buildx dockerd buildkit registry
bash scripts/test-engine29.sh

echo "== gofmt, go vet ./..."
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:" $unformatted >&2
  exit 1
fi
go vet ./...

echo "== go test ./... (MYBUILD_E2E=1)"
export MYBUILD_E2E=1
# -p 2: two packages at a time on CI's 2 cores. The e2e package is a single test binary whose
# tests run one after another (they share one daemon); its own budget is well under 10 min.
# The JSON goes through scripts/testsummary, which prints what plain go test prints, then
# how many tests ran and skipped per package, and fails on a skip that
# scripts/allowed-skips.txt does not list.
summary_dir=$(mktemp -d)
trap 'rm -rf "$summary_dir"' EXIT
go build -o "$summary_dir/testsummary" ./scripts/testsummary
go test -json -count=1 -p 2 -timeout 15m "$@" ./... |
  "$summary_dir/testsummary" -allow scripts/allowed-skips.txt -module "$(go list -m)"

echo "== fuzz targets (scripts/fuzz.sh)"
bash scripts/fuzz.sh

echo "== all tests passed in $((SECONDS - start))s"
