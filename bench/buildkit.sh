#!/usr/bin/env bash
# The BuildKit path side by side: `mybuild build` against `docker build` with buildx (its
# docker driver), on a private Engine 29 over loopback tcp, with the ctxbench context. Prints
# a table of medians and a PASS/MISS per target of issue 12. Run as root.
#
# It starts what it needs when it is not there: Engine 20.10 and the packages
# (scripts/test-daemon.sh), buildx and Engine 29's dockerd (scripts/install-refs.sh), and a
# private Engine 29 of its own (the test suites' Engine 29 is left alone: the cold runs prune
# this one's build cache). Extra arguments go to `ctxbench buildkit`, e.g.
# bench/buildkit.sh -runs 9, or -scales 1 to skip the 4x context.
#
# Environment: WORK (contexts, default /tmp/ctxbench), DOCKER (default /usr/local/bin/docker),
# MYBUILD_REFS (default /opt/mybuild-refs), BENCH_KEEP_DAEMON=1 keeps the private daemon
# running afterwards (the next run reuses it).
#
#   private Engine 29  unix:///run/mybuild-bench/docker.sock, tcp://127.0.0.1:2396
#   roots              /var/lib/mybuild-bench (data), /run/mybuild-bench/exec (exec)
#   log                /tmp/mybuild-bench-engine29.log
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
REFS="${MYBUILD_REFS:-/opt/mybuild-refs}"
BUILDX="$REFS/buildx-v0.38.2/buildx"
DOCKERD="$REFS/dockerd-v2.0.0-beta.24/dockerd"
SOCK=/run/mybuild-bench/docker.sock
TCP=tcp://127.0.0.1:2396
PIDFILE=/run/mybuild-bench/docker.pid

step() { printf 'buildkit.sh: %s\n' "$*" >&2; }

# Engine 20.10 and the packages the scripts use (idempotent, quiet when all is there).
bash scripts/test-daemon.sh >/tmp/mybuild-bench-setup.log 2>&1 ||
  { cat /tmp/mybuild-bench-setup.log >&2; exit 1; }
[ -x "$BUILDX" ] && [ -x "$REFS/docker-config/cli-plugins/docker-buildx" ] || bash scripts/install-refs.sh buildx >&2
[ -x "$DOCKERD" ] || bash scripts/install-refs.sh dockerd >&2

started=""
if ! curl -sS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; then
  step "starting a private Engine 29 (log /tmp/mybuild-bench-engine29.log)"
  mkdir -p /run/mybuild-bench /var/lib/mybuild-bench
  MYBUILD_TEST_DOCKERD="$DOCKERD" \
    MYBUILD_TEST_SOCK="$SOCK" \
    MYBUILD_TEST_TCP="$TCP" \
    MYBUILD_TEST_DATA_ROOT=/var/lib/mybuild-bench \
    MYBUILD_TEST_EXEC_ROOT=/run/mybuild-bench/exec \
    MYBUILD_TEST_PIDFILE="$PIDFILE" \
    MYBUILD_TEST_LOG=/tmp/mybuild-bench-engine29.log \
    MYBUILD_TEST_ARGS="--ip6tables=false" \
    MYBUILD_TEST_SMOKE=build \
    bash scripts/test-daemon.sh 2>&1 | sed 's/^test-daemon:/buildkit.sh: engine29:/' >&2
  started=1
fi
stop_daemon() {
  [ -n "$started" ] && [ -z "${BENCH_KEEP_DAEMON:-}" ] || return 0
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bkbench-bin.XXXXXX")
trap 'rm -rf "$tmp"; stop_daemon' EXIT
# mybuild as released (.goreleaser.yaml): no cgo, -trimpath, -s -w.
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/mybuild" ./cmd/mybuild
go build -o "$tmp/ctxbench" ./bench/cmd/ctxbench

"$tmp/ctxbench" buildkit \
  -mybuild "$tmp/mybuild" \
  -docker "${DOCKER:-/usr/local/bin/docker}" \
  -docker-config "$REFS/docker-config" \
  -daemon "$TCP" \
  -daemon-sock "$SOCK" \
  -daemon-pidfile "$PIDFILE" \
  -work "${WORK:-${TMPDIR:-/tmp}/ctxbench}" \
  "$@"
