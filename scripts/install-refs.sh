#!/usr/bin/env bash
# Builds the reference programs the BuildKit tests compare mybuild with, from the Go module
# proxy, into a cache this script owns (MYBUILD_REFS, default /opt/mybuild-refs): a build is
# redone only when its binary is missing. Idempotent; prints one line per program.
#
#   buildx     docker/buildx v0.38.2 (go install), and a test-only DOCKER_CONFIG at
#              $MYBUILD_REFS/docker-config with it as cli-plugins/docker-buildx: with that
#              config, `docker build` is buildx (the user's ~/.docker is never touched)
#   dockerd    moby/moby/v2 v2.0.0-beta.24 (Engine 29, API 1.56)
#   buildkit   buildkitd and buildctl v0.34.2, built inside a copy of the module's source
#              (go install is refused: BuildKit's go.mod has exclude directives)
#   registry   distribution/distribution/v3 v3.1.2
#
# Usage: install-refs.sh [buildx] [dockerd] [buildkit] [registry]   (default: all four)
# Prints nothing but its progress lines; the paths are fixed (see refs_env below).
set -euo pipefail
export HOME="${HOME:-/root}"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
REFS="${MYBUILD_REFS:-/opt/mybuild-refs}"
BUILDX_VERSION=v0.38.2
MOBY_VERSION=v2.0.0-beta.24
BUILDKIT_VERSION=v0.34.2
REGISTRY_VERSION=v3.1.2

mkdir -p "$REFS/logs"
step() { printf 'install-refs: %s\n' "$*"; }
die() { printf 'install-refs: FAILED: %s\n' "$*" >&2; exit 1; }

# build NAME BINARY CMD...: runs CMD (logged) unless BINARY exists.
build() {
  local name=$1 bin=$2 t0=$SECONDS
  shift 2
  if [ -x "$bin" ]; then
    step "$name: $bin (cached)"
    return 0
  fi
  step "$name: building (log: $REFS/logs/$name.log)"
  if ! "$@" >"$REFS/logs/$name.log" 2>&1; then
    tail -n 30 "$REFS/logs/$name.log" >&2
    die "$name"
  fi
  [ -x "$bin" ] || die "$name: $bin was not produced"
  step "$name: built $bin in $((SECONDS - t0))s"
}

buildx() {
  build buildx "$REFS/buildx-$BUILDX_VERSION/buildx" \
    env GOBIN="$REFS/buildx-$BUILDX_VERSION" GOFLAGS=-mod=mod \
    go install "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION"
  local plugins="$REFS/docker-config/cli-plugins"
  mkdir -p "$plugins"
  if ! cmp -s "$REFS/buildx-$BUILDX_VERSION/buildx" "$plugins/docker-buildx"; then
    cp "$REFS/buildx-$BUILDX_VERSION/buildx" "$plugins/docker-buildx.tmp"
    mv "$plugins/docker-buildx.tmp" "$plugins/docker-buildx"
  fi
  [ -f "$REFS/docker-config/config.json" ] || echo '{}' >"$REFS/docker-config/config.json"
}

dockerd() {
  build dockerd "$REFS/dockerd-$MOBY_VERSION/dockerd" \
    env GOBIN="$REFS/dockerd-$MOBY_VERSION" GOFLAGS=-mod=mod \
    go install "github.com/moby/moby/v2/cmd/dockerd@$MOBY_VERSION"
}

build_buildkit() {
  local dir src
  dir=$(go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "no module directory for buildkit@$BUILDKIT_VERSION"; return 1; }
  src="$REFS/src-buildkit-$BUILDKIT_VERSION"
  rm -rf "$src"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -tags "osusergo netgo static_build seccomp" \
    -ldflags "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -extldflags -static" \
    -o "$REFS/buildkit-$BUILDKIT_VERSION/" ./cmd/buildkitd ./cmd/buildctl)
  rm -rf "$src"
}

buildkit() {
  mkdir -p "$REFS/buildkit-$BUILDKIT_VERSION"
  if [ -x "$REFS/buildkit-$BUILDKIT_VERSION/buildkitd" ]; then
    build buildkit "$REFS/buildkit-$BUILDKIT_VERSION/buildctl" build_buildkit
  else
    rm -f "$REFS/buildkit-$BUILDKIT_VERSION/buildctl"
    build buildkit "$REFS/buildkit-$BUILDKIT_VERSION/buildkitd" build_buildkit
  fi
}

registry() {
  build registry "$REFS/registry-$REGISTRY_VERSION/registry" \
    env GOBIN="$REFS/registry-$REGISTRY_VERSION" \
    go install "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(buildx dockerd buildkit registry)
for w in "${want[@]}"; do
  case "$w" in
    buildx | dockerd | buildkit | registry) "$w" ;;
    *) die "unknown program $w (want buildx, dockerd, buildkit or registry)" ;;
  esac
done
