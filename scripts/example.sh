#!/usr/bin/env bash
# Builds mybuild and runs a real build of testdata/example against the local
# daemon, starting the project's test daemon when none answers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

mkdir -p bin
go build -o bin/mybuild ./cmd/mybuild
echo "built bin/mybuild"

sock=/var/run/docker.sock
if ! curl -fsS --max-time 3 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
  echo "no daemon answers on $sock: starting the test daemon"
  bash scripts/test-daemon.sh
fi

bin/mybuild -H "unix://$sock" -t mybuild-example:latest testdata/example
