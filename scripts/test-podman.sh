#!/usr/bin/env bash
# Prepares Podman's Docker-compatible API for mybuild's end-to-end tests (e2e/podman_test.go).
# Idempotent, run as root, after scripts/test-daemon.sh (whose dockerd holds the base image).
#
#   1. installs Debian's podman with apt-get when it is missing (no recommends: root needs
#      neither uidmap, fuse-overlayfs, slirp4netns nor catatonit);
#   2. writes /etc/containers/containers.conf.d/mybuild-test.conf: container rlimits no higher
#      than this machine's hard limits (podman gives root containers nofile/nproc 1048576,
#      which runc cannot set without CAP_SYS_RESOURCE: "error setting rlimit type 7"),
#      containers without a network unless asked (no CNI bridge, no iptables rules on the
#      host), cgroupfs and a file events log (no systemd here);
#   3. picks the storage driver: overlay when a test overlay mount works on the storage's
#      file system, else vfs (written to /etc/containers/storage.conf);
#   4. starts `podman system service --time=0 unix://$SOCK` in the background when nothing
#      answers /_ping there (restarts it when step 2 or 3 changed its configuration);
#   5. loads the base image mybuild-test/busybox:latest into podman's storage: `docker save`
#      from the test dockerd, or else scripts/test-daemon.sh's import pointed at podman;
#   6. checks that podman runs a container and that the dockerd still answers.
#
# No registry is reachable: nothing here (nor the tests) ever makes podman pull an image.
#
#   MYBUILD_PODMAN_SOCK      podman's unix socket        (default /run/mybuild-podman.sock)
#   MYBUILD_PODMAN_LOG       the service's log           (default /tmp/mybuild-podman.log)
#   MYBUILD_PODMAN_STORAGE   overlay or vfs              (default: probed, see 3.)
#   MYBUILD_TEST_SOCK        the dockerd to copy the base image from (default /var/run/docker.sock)
#   MYBUILD_TEST_IMAGE       base image reference        (default mybuild-test/busybox:latest)
set -euo pipefail
cd "$(dirname "$0")/.."

SOCK="${MYBUILD_PODMAN_SOCK:-/run/mybuild-podman.sock}"
LOG="${MYBUILD_PODMAN_LOG:-/tmp/mybuild-podman.log}"
PIDFILE="${SOCK%.sock}.pid"
DOCKERD_SOCK="${MYBUILD_TEST_SOCK:-/var/run/docker.sock}"
IMAGE="${MYBUILD_TEST_IMAGE:-mybuild-test/busybox:latest}"
CONF=/etc/containers/containers.conf.d/mybuild-test.conf
STORAGE_CONF=/etc/containers/storage.conf
GRAPHROOT=/var/lib/containers/storage

t0=$(date +%s.%N)
step() { printf 'test-podman: %s\n' "$*"; }
die() { printf 'test-podman: FAILED: %s\n' "$*" >&2; exit 1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

[ "$(id -u)" = 0 ] || die "must run as root (installs podman and starts its service)"

ping() { [ "$(curl -sS --max-time 3 --unix-socket "$1" http://localhost/_ping 2>/dev/null || true)" = OK ]; }
dockerd_was_up=""
ping "$DOCKERD_SOCK" && dockerd_was_up=1

if [ -x /usr/local/bin/docker ]; then DOCKER=/usr/local/bin/docker; else DOCKER=$(command -v docker || true); fi
[ -n "$DOCKER" ] || die "no docker CLI (run scripts/test-daemon.sh first)"
podman_cli() { DOCKER_BUILDKIT=0 "$DOCKER" -H "unix://$SOCK" "$@"; }

# ---------------------------------------------------------------------------------------------
# 1. package
# ---------------------------------------------------------------------------------------------
if command -v podman >/dev/null 2>&1; then
  step "podman present: $(podman --version)"
else
  t=$(date +%s.%N)
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  # No package may start or restart a service (the running dockerd above all).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt_install() { apt-get install -y -q --no-install-recommends podman >>/tmp/mybuild-apt.log 2>&1; }
  rc=0
  # The package lists are fresh when test-daemon.sh has just installed docker.io: update
  # only when the install fails without an update.
  apt_install || { apt-get update -q >>/tmp/mybuild-apt.log 2>&1 && apt_install; } || rc=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" != 0 ]; then
    tail -n 30 /tmp/mybuild-apt.log >&2
    die "apt-get install podman"
  fi
  step "installed $(podman --version) in $(since "$t")"
fi

# ---------------------------------------------------------------------------------------------
# 2. and 3. configuration
# ---------------------------------------------------------------------------------------------
changed=""
write_if_changed() { # path content
  if [ "$(cat "$1" 2>/dev/null || true)" != "$2" ]; then
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" >"$1"
    changed=1
    step "wrote $1"
  fi
}

# The container's limits must not exceed the service's own hard limits: this shell's, except
# that podman lowers its nproc to kernel.pid_max when it cannot raise it to 1048576.
min() { # numbers or "unlimited"; at least one number
  local m="" v
  for v; do
    [ "$v" = unlimited ] && continue
    if [ -z "$m" ] || [ "$v" -lt "$m" ]; then m=$v; fi
  done
  echo "$m"
}
nofile=$(min "$(ulimit -Hn)" 1048576)
nproc=$(min "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 1048576)" 1048576)
write_if_changed "$CONF" "# Written by mybuild's scripts/test-podman.sh (re-run it to update).
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]
netns = \"none\"

[engine]
cgroup_manager = \"cgroupfs\"
events_logger = \"file\""

# overlay works when the kernel can mount it on the storage's own file system (not on an
# overlay root, as in many containers); a storage already made keeps its driver.
overlay_works() {
  local d
  mkdir -p "$GRAPHROOT"
  d=$(mktemp -d "$GRAPHROOT/../.mybuild-overlay-probe.XXXXXX") || return 1
  mkdir -p "$d"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
    umount "$d/merged"
    rm -rf "$d"
    return 0
  fi
  rm -rf "$d"
  return 1
}
driver="${MYBUILD_PODMAN_STORAGE:-}"
if [ -z "$driver" ]; then
  if [ -d "$GRAPHROOT/vfs-images" ]; then driver=vfs
  elif [ -d "$GRAPHROOT/overlay-images" ]; then driver=overlay
  elif overlay_works; then driver=overlay
  else driver=vfs
  fi
fi
case "$driver" in
overlay)
  # the package's default (/usr/share/containers/storage.conf); drop a vfs file of ours
  if grep -qs "mybuild's scripts/test-podman.sh" "$STORAGE_CONF"; then
    rm -f "$STORAGE_CONF"
    changed=1
    step "removed $STORAGE_CONF (vfs)"
  fi
  ;;
vfs)
  if [ -e "$STORAGE_CONF" ] && ! grep -qs "mybuild's scripts/test-podman.sh" "$STORAGE_CONF"; then
    die "$STORAGE_CONF exists and is not ours: set driver = \"vfs\" there (overlay does not work here)"
  fi
  write_if_changed "$STORAGE_CONF" "# Written by mybuild's scripts/test-podman.sh: overlay does not work here.
[storage]
driver = \"vfs\"
runroot = \"/run/containers/storage\"
graphroot = \"$GRAPHROOT\""
  ;;
*) die "MYBUILD_PODMAN_STORAGE=$driver: want overlay or vfs" ;;
esac
step "storage driver: $driver"

# ---------------------------------------------------------------------------------------------
# 4. service
# ---------------------------------------------------------------------------------------------
ours=$(cat "$PIDFILE" 2>/dev/null || true)
case "$( { tr '\0' ' ' <"/proc/${ours:-0}/cmdline"; } 2>/dev/null || true)" in
"podman system service "*) ;;
*) ours="" ;; # gone, or the pid was reused
esac
# A service started from a directory that was removed since (an earlier clone) cannot run
# containers: conmon fails with "Failed to get working directory".
if [ -n "$ours" ] && [[ "$(readlink "/proc/$ours/cwd" 2>/dev/null)" == *" (deleted)" ]]; then
  changed="working directory removed"
fi
if [ -n "$changed" ] && [ -n "$ours" ]; then
  step "configuration changed or working directory removed: restarting podman system service (pid $ours)"
  kill "$ours"
  for _ in $(seq 1 40); do kill -0 "$ours" 2>/dev/null || break; sleep 0.25; done
  ours=""
fi
if ping "$SOCK"; then
  step "podman already answers on unix://$SOCK"
else
  [ -z "$ours" ] || die "podman system service (pid $ours) runs but does not answer on $SOCK"
  t=$(date +%s.%N)
  rm -f "$SOCK"
  mkdir -p "$(dirname "$SOCK")"
  step "starting podman system service --time=0 unix://$SOCK (log: $LOG)"
  # setsid + all fds redirected: the service outlives this script and holds no pipe of the
  # caller open (CI waits for .ci/run's output to close).
  # From /: the service must not depend on this checkout staying where it is.
  pushd / >/dev/null
  setsid nohup podman system service --time=0 "unix://$SOCK" </dev/null >>"$LOG" 2>&1 &
  pid=$!
  popd >/dev/null
  echo "$pid" >"$PIDFILE"
  deadline=$((SECONDS + 60))
  until ping "$SOCK"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$LOG" >&2 || true
      die "podman system service (pid $pid) did not answer /_ping on $SOCK"
    fi
    sleep 0.1
  done
  step "podman (pid $pid) answers on unix://$SOCK after $(since "$t")"
fi
# (from the ping's headers: `docker version` takes seconds against podman, which asks conmon
# and the OCI runtime for their versions)
hdr=$(curl -sS --max-time 3 -D - -o /dev/null --unix-socket "$SOCK" http://localhost/_ping | tr -d '\r')
step "service: $(sed -n 's/^Server: //p' <<<"$hdr"), Docker API $(sed -n 's/^Api-Version: //p' <<<"$hdr")"

# ---------------------------------------------------------------------------------------------
# 5. base image
# ---------------------------------------------------------------------------------------------
if podman_cli image inspect "$IMAGE" >/dev/null 2>&1; then
  step "base image $IMAGE present"
elif DOCKER_BUILDKIT=0 "$DOCKER" -H "unix://$DOCKERD_SOCK" image inspect "$IMAGE" >/dev/null 2>&1; then
  t=$(date +%s.%N)
  "$DOCKER" -H "unix://$DOCKERD_SOCK" save "$IMAGE" | podman_cli load -q >/dev/null ||
    die "docker save $IMAGE | podman load"
  step "loaded $IMAGE from the dockerd in $(since "$t")"
else
  # test-daemon.sh pointed at podman: podman answers, so it starts no dockerd and only
  # imports the busybox rootfs (and runs its smoke container).
  ping "$SOCK" || die "podman stopped answering on $SOCK"
  step "the dockerd has no $IMAGE: importing it with scripts/test-daemon.sh into podman"
  MYBUILD_TEST_SOCK="$SOCK" MYBUILD_TEST_TCP="" MYBUILD_TEST_LOG="$LOG" bash scripts/test-daemon.sh
fi

# ---------------------------------------------------------------------------------------------
# 6. checks
# ---------------------------------------------------------------------------------------------
out=$(podman_cli run --rm --network none "$IMAGE" echo mybuild-ok 2>&1) ||
  die "podman cannot run a container: $out
$(tail -n 20 "$LOG" 2>/dev/null)"
[ "$out" = mybuild-ok ] || die "unexpected output from a test container: $out"
if [ -n "$dockerd_was_up" ] && ! ping "$DOCKERD_SOCK"; then
  die "the dockerd on $DOCKERD_SOCK answered before and does not any more"
fi
step "container smoke run OK; ready in $(since "$t0")"
