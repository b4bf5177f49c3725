#!/usr/bin/env bash
# Build mybuild and ctxbench into a temp dir and run the context-upload
# benchmark: docker CLI (legacy builder) vs mybuild vs tar|curl against an
# in-process draining daemon on 127.0.0.1. Extra arguments go to ctxbench,
# e.g. bench/run.sh -runs 9 -modes plain, or bench/run.sh -flat=false.
#
# Environment: DOCKER (default /usr/local/bin/docker), WORK (where contexts
# are generated, default /tmp/ctxbench; -scale 4 for -flat needs ~1 GB).
set -euo pipefail

cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctxbench-bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/mybuild" ./cmd/mybuild
go build -o "$tmp/ctxbench" ./bench/cmd/ctxbench

work=${WORK:-${TMPDIR:-/tmp}/ctxbench}
mkdir -p "$work"
avail_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
if [ "${avail_kb:-0}" -lt 2000000 ]; then
	echo "run.sh: less than 2 GB free under $work; the scale-4 context for -flat needs ~1 GB" >&2
fi

"$tmp/ctxbench" \
	-mybuild "$tmp/mybuild" \
	-docker "${DOCKER:-/usr/local/bin/docker}" \
	-work "$work" \
	-runs 5 \
	-modes plain,compress \
	-flat \
	-json "$work/last-run.json" \
	"$@"
