#!/usr/bin/env bash
# Side-by-side: how long docker (legacy builder) and mybuild take to build a
# tiny context when config.json names slow credential helpers. Both send the
# same X-Registry-Config; docker asks the helpers one after another
# (docker/cli#1591), mybuild asks up to 8 at a time.
#
# Environment: DOCKER (default /usr/local/bin/docker), N (credHelpers
# entries, default 10), DELAY (seconds per helper call, default 0.2), RUNS (3).
set -euo pipefail

cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/credbench.XXXXXX")
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

docker=${DOCKER:-/usr/local/bin/docker}
n=${N:-10}
delay=${DELAY:-0.2}
runs=${RUNS:-3}

go build -o "$tmp/mybuild" ./cmd/mybuild
go build -o "$tmp/ctxbench" ./bench/cmd/ctxbench

mkdir -p "$tmp/bin" "$tmp/config" "$tmp/ctx"
printf 'FROM scratch\n' >"$tmp/ctx/Dockerfile"
cat >"$tmp/bin/docker-credential-slow" <<HELPER
#!/bin/sh
case "\$1" in
list) sleep $delay; printf '{"store1.example.com":"u","store2.example.com":"u"}' ;;
get) read -r server; sleep $delay; printf '{"ServerURL":"%s","Username":"u","Secret":"p-%s"}' "\$server" "\$server" ;;
*) exit 1 ;;
esac
HELPER
chmod +x "$tmp/bin/docker-credential-slow"
helpers=$(for i in $(seq 1 "$n"); do printf '"r%d.example.com":"slow",' "$i"; done)
printf '{"credsStore":"slow","credHelpers":{%s}}\n' "${helpers%,}" >"$tmp/config/config.json"

"$tmp/ctxbench" serve >"$tmp/addr" 2>"$tmp/serve.log" &
daemon_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/addr" ] && break; sleep 0.05; done
host=$(head -n1 "$tmp/addr")
[ -n "$host" ] || { echo "credhelpers.sh: the bench daemon did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }

# run NAME CMD...: the median wall time of RUNS runs of CMD, in seconds.
run() {
	local name=$1 times=() start end
	shift
	for _ in $(seq 1 "$runs"); do
		start=$(date +%s.%N)
		PATH="$tmp/bin:$PATH" DOCKER_CONFIG="$tmp/config" DOCKER_BUILDKIT=0 "$@" >/dev/null 2>"$tmp/$name.err" ||
			{ echo "credhelpers.sh: $name failed:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
		end=$(date +%s.%N)
		times+=("$(echo "$end - $start" | bc)")
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

d=$(run docker "$docker" -H "$host" build "$tmp/ctx")
m=$(run mybuild "$tmp/mybuild" -H "$host" "$tmp/ctx")
echo "credential helpers: $n credHelpers + a credsStore with 2 entries, ${delay} s per helper call, median of $runs runs"
printf '  docker  %6.2f s\n  mybuild %6.2f s  (%.2fx)\n' "$d" "$m" "$(echo "$m / $d" | bc -l)"
