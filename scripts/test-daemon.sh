#!/usr/bin/env bash
# Prepares a real Docker daemon for mybuild's end-to-end tests. Idempotent, run as root.
#
#   1. installs docker.io, busybox-static, git, curl, socat, openssh (client and server, for
#      the ssh:// tests), tmux (the terminal test), iproute2 (network namespaces), zsh and
#      fish (the completion tests) with apt-get when any is missing;
#   2. starts dockerd (no bridge, no iptables, unix socket + tcp://127.0.0.1:2375) in the
#      background when no daemon answers /_ping on the socket, and waits for it (up to 300 s:
#      a daemon whose state holds many stale network sandboxes, e.g. after being killed,
#      removes them one by one at ~0.25 s each before it listens);
#   3. imports the base image mybuild-test/busybox:latest (a static busybox rootfs) when missing.
#
# No registry is reachable: nothing here (nor the tests) ever makes the daemon pull an image.
#
# Overridable for running a second, throw-away daemon beside the normal one (the defaults are
# what CI uses):
#   MYBUILD_TEST_SOCK       unix socket path           (default /var/run/docker.sock)
#   MYBUILD_TEST_TCP        extra --host, "" for none  (default tcp://127.0.0.1:2375)
#   MYBUILD_TEST_DATA_ROOT  dockerd --data-root        (default: dockerd's own)
#   MYBUILD_TEST_EXEC_ROOT  dockerd --exec-root        (default: dockerd's own)
#   MYBUILD_TEST_PIDFILE    dockerd --pidfile          (default: dockerd's own)
#   MYBUILD_TEST_LOG        dockerd's log              (default /tmp/mybuild-dockerd.log)
#   MYBUILD_TEST_IMAGE      base image reference       (default mybuild-test/busybox:latest)
#   MYBUILD_TEST_DOCKERD    the dockerd binary         (default: dockerd on PATH, Debian's)
#   MYBUILD_TEST_ARGS       more dockerd arguments     (default none)
#   MYBUILD_TEST_SMOKE      how to prove the daemon runs containers: "run" (docker run) or
#                           "build" (a BuildKit RUN step, for daemons whose docker run needs a
#                           newer runc than Debian's)                        (default run)
set -euo pipefail

SOCK="${MYBUILD_TEST_SOCK:-/var/run/docker.sock}"
TCP="${MYBUILD_TEST_TCP-tcp://127.0.0.1:2375}"
LOG="${MYBUILD_TEST_LOG:-/tmp/mybuild-dockerd.log}"
IMAGE="${MYBUILD_TEST_IMAGE:-mybuild-test/busybox:latest}"
WAIT_SECONDS="${MYBUILD_TEST_WAIT:-300}"
DOCKERD="${MYBUILD_TEST_DOCKERD:-dockerd}"
SMOKE="${MYBUILD_TEST_SMOKE:-run}"

t0=$(date +%s.%N)
step() { printf 'test-daemon: %s\n' "$*"; }
die() { printf 'test-daemon: FAILED: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

if [ "$(id -u)" != 0 ]; then
  die "must run as root (installs packages and starts dockerd)"
fi

# ---------------------------------------------------------------------------------------------
# 1. packages
# ---------------------------------------------------------------------------------------------
pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}
missing=()
for p in docker.io busybox-static git curl socat openssh-client openssh-server tmux iproute2 zsh fish; do
  pkg_installed "$p" || missing+=("$p")
done
# The package can be "installed" while the binaries we use are not there (or the other way
# round, e.g. a hand-installed dockerd): check what is actually used.
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ "${#missing[@]}" -gt 0 ]; then
  # shellcheck disable=SC2207
  missing=($(printf '%s\n' "${missing[@]}" | sort -u))
  step "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/tmp/mybuild-apt.log 2>&1 || { tail -n 30 /tmp/mybuild-apt.log >&2; die "apt-get update"; }
  # Keep the package's init script from starting a dockerd of its own (with a bridge and
  # iptables, which fail here) during the install: dockerd is started below, our way.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/mybuild-apt.log 2>&1 || rc=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" != 0 ]; then
    tail -n 30 /tmp/mybuild-apt.log >&2
    die "apt-get install ${missing[*]}"
  fi
  step "installed ${missing[*]}"
else
  step "packages present: docker.io busybox-static git curl socat openssh-client openssh-server tmux iproute2 zsh fish"
fi

# The reference/inspection client: docker CLI 28.2.2 when present, else Debian's.
if [ -x /usr/local/bin/docker ]; then DOCKER=/usr/local/bin/docker; else DOCKER=$(command -v docker); fi
docker_cli() { DOCKER_BUILDKIT=0 "$DOCKER" -H "unix://$SOCK" "$@"; }

# ---------------------------------------------------------------------------------------------
# 2. daemon
# ---------------------------------------------------------------------------------------------
ping() { [ "$(curl -sS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null || true)" = OK ]; }

wait_for_ping() {
  local deadline=$((SECONDS + WAIT_SECONDS)) next=$((SECONDS + 15))
  while [ "$SECONDS" -lt "$deadline" ]; do
    ping && return 0
    # started by us and already dead: no point in waiting longer
    if [ -n "${1:-}" ] && ! kill -0 "$1" 2>/dev/null; then return 1; fi
    if [ "$SECONDS" -ge "$next" ]; then
      next=$((SECONDS + 15))
      step "still waiting for dockerd after $(elapsed); its log says: $(tail -n 1 "$LOG" 2>/dev/null | cut -c 1-160)"
    fi
    sleep 0.25
  done
  return 1
}

# cgroups: dockerd needs a cgroup hierarchy to run containers. Mount one when /sys/fs/cgroup is
# empty (bare containers without a cgroup mount); a machine with cgroups already mounted is left
# as it is.
ensure_cgroups() {
  [ -d /sys/fs/cgroup ] || return 0
  if [ -n "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then return 0; fi
  step "no cgroup hierarchy mounted: mounting cgroup2 on /sys/fs/cgroup"
  mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null ||
    step "warning: could not mount cgroup2 (dockerd may fail to run containers)"
}

if ping; then
  step "daemon already answers on unix://$SOCK"
else
  pid=""
  # A dockerd that owns the pidfile may still be starting (e.g. two runs in a row): give it
  # the same wait rather than starting a second one, which would refuse to run anyway.
  pidfile="${MYBUILD_TEST_PIDFILE:-/var/run/docker.pid}"
  running=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$running" ] && [ "$(cat "/proc/$running/comm" 2>/dev/null || true)" = dockerd ]; then
    step "dockerd (pid $running, $pidfile) runs but does not answer yet: waiting up to ${WAIT_SECONDS}s"
    if wait_for_ping "$running"; then
      step "dockerd (pid $running) answers on unix://$SOCK after $(elapsed)"
    elif kill -0 "$running" 2>/dev/null; then
      die "dockerd (pid $running) does not answer /_ping on $SOCK; log tail:
$(tail -n 40 "$LOG" 2>/dev/null)"
    else
      step "dockerd (pid $running) exited (it was shutting down): starting a new one"
      # dockerd removes its pidfile last; give it a moment
      for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$pidfile" ] || break; sleep 0.5; done
    fi
  fi
  if ping; then
    :
  else
    ensure_cgroups
    args=(--bridge=none --iptables=false --ip-masq=false --host "unix://$SOCK")
    [ -n "$TCP" ] && args+=(--host "$TCP")
    [ -n "${MYBUILD_TEST_DATA_ROOT:-}" ] && args+=(--data-root "$MYBUILD_TEST_DATA_ROOT")
    [ -n "${MYBUILD_TEST_EXEC_ROOT:-}" ] && args+=(--exec-root "$MYBUILD_TEST_EXEC_ROOT")
    [ -n "${MYBUILD_TEST_PIDFILE:-}" ] && args+=(--pidfile "$MYBUILD_TEST_PIDFILE")
    # shellcheck disable=SC2206
    [ -n "${MYBUILD_TEST_ARGS:-}" ] && args+=(${MYBUILD_TEST_ARGS})
    mkdir -p "$(dirname "$SOCK")"
    step "starting dockerd ${args[*]} (log: $LOG)"
    # setsid + all fds redirected: the daemon outlives this script and holds no pipe of the
    # caller open (CI waits for .ci/run's output to close).
    # From /: the daemon must not depend on this checkout staying where it is.
    pushd / >/dev/null
    setsid nohup "$DOCKERD" "${args[@]}" </dev/null >>"$LOG" 2>&1 &
    pid=$!
    popd >/dev/null
    if ! wait_for_ping "$pid"; then
      echo "----- tail of $LOG -----" >&2
      tail -n 40 "$LOG" >&2 || true
      echo "------------------------" >&2
      if kill -0 "$pid" 2>/dev/null; then
        die "dockerd (pid $pid) did not answer /_ping on $SOCK within ${WAIT_SECONDS}s"
      fi
      die "dockerd exited before answering /_ping on $SOCK"
    fi
    step "dockerd (pid $pid) answers on unix://$SOCK after $(elapsed)"
  fi
fi
step "daemon: $(docker_cli version --format 'Engine {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo '?')"

# ---------------------------------------------------------------------------------------------
# 3. base image
# ---------------------------------------------------------------------------------------------
if docker_cli image inspect "$IMAGE" >/dev/null 2>&1; then
  step "base image $IMAGE present"
else
  step "importing base image $IMAGE from /bin/busybox"
  root=$(mktemp -d /tmp/mybuild-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,home}
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  # Every applet at its usual place (bin/sh, bin/echo, usr/bin/env, ...), as a symlink.
  # The loop runs in busybox's own sh, whose applets (ln) run without a fork: a bash loop
  # forking ln per applet takes ~10 s on machines with slow forks.
  (/bin/busybox --list-full 2>/dev/null || /bin/busybox --list | sed 's|^|bin/|') |
    (cd "$root" && /bin/busybox sh -c '
      while read -r a; do
        case "$a" in ""|linuxrc|bin/busybox) continue ;; esac
        mkdir -p "${a%/*}" && ln -sf /bin/busybox "$a"
      done')
  n=$(find "$root" -type l | wc -l)
  [ -L "$root/bin/sh" ] || ln -sf /bin/busybox "$root/bin/sh"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker_cli import \
      -c 'CMD ["sh"]' \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'LABEL org.mybuild.test=base' \
      -m "mybuild test base image: static busybox" - "$IMAGE" >/dev/null ||
    die "docker import of $IMAGE"
  step "imported $IMAGE ($n applets): $(docker_cli image inspect -f '{{.Id}}' "$IMAGE")"
fi

# A smoke run proves the daemon can actually run containers (cgroups, runc, overlay).
if [ "$SMOKE" = build ]; then
  # BuildKit's own RUN, through the daemon's /build (version=2, no session): it prints the
  # step's output in its trace, and needs no buildx.
  smoke_dir=$(mktemp -d /tmp/mybuild-smoke.XXXXXX)
  printf 'FROM %s\nRUN echo mybuild-ok >/ok\n' "$IMAGE" >"$smoke_dir/Dockerfile"
  out=$(tar -C "$smoke_dir" -cf - Dockerfile |
    curl -sS --max-time 120 --unix-socket "$SOCK" -H 'Content-Type: application/x-tar' \
      --data-binary @- 'http://localhost/build?version=2&networkmode=none&nocache=1&q=1' 2>&1) || true
  rm -rf "$smoke_dir"
  case "$out" in
    *'"stream":"sha256:'*) ;;
    *) die "the daemon cannot run a BuildKit RUN step: $out
$(tail -n 20 "$LOG" 2>/dev/null)" ;;
  esac
else
  out=$(docker_cli run --rm --network none "$IMAGE" echo mybuild-ok 2>&1) ||
    die "the daemon cannot run a container: $out
$(tail -n 20 "$LOG" 2>/dev/null)"
  [ "$out" = mybuild-ok ] || die "unexpected output from a test container: $out"
fi
step "container smoke run OK; ready in $(elapsed)"
