#!/usr/bin/env bash
# Starts Engine 29 (moby v2.0.0-beta.24: API 1.56, BuildKit built in, containerd image store)
# beside the Engine 20.10 of scripts/test-daemon.sh, with roots, sockets and a pidfile of its
# own, and imports the same busybox base image into it. Idempotent, run as root, after
# scripts/test-daemon.sh (which installs the packages) and scripts/install-refs.sh dockerd.
#
#   socket  unix:///run/mybuild-engine29/docker.sock and tcp://127.0.0.1:2376
#   roots   /var/lib/mybuild-engine29 (data), /run/mybuild-engine29/exec (exec)
#   log     /tmp/mybuild-engine29.log
#
# Its `docker run` fails with Debian's runc 1.1.5 (no time namespace), but BuildKit's RUN
# works: the smoke check is a BuildKit build.
set -euo pipefail
cd "$(dirname "$0")/.."
REFS="${MYBUILD_REFS:-/opt/mybuild-refs}"
bin="$REFS/dockerd-v2.0.0-beta.24/dockerd"
[ -x "$bin" ] || bash scripts/install-refs.sh dockerd
mkdir -p /run/mybuild-engine29 /var/lib/mybuild-engine29
MYBUILD_TEST_DOCKERD="$bin" \
  MYBUILD_TEST_SOCK=/run/mybuild-engine29/docker.sock \
  MYBUILD_TEST_TCP=tcp://127.0.0.1:2376 \
  MYBUILD_TEST_DATA_ROOT=/var/lib/mybuild-engine29 \
  MYBUILD_TEST_EXEC_ROOT=/run/mybuild-engine29/exec \
  MYBUILD_TEST_PIDFILE=/run/mybuild-engine29/docker.pid \
  MYBUILD_TEST_LOG=/tmp/mybuild-engine29.log \
  MYBUILD_TEST_ARGS="--ip6tables=false" \
  MYBUILD_TEST_SMOKE=build \
  bash scripts/test-daemon.sh 2>&1 | sed 's/^test-daemon:/test-engine29:/'
