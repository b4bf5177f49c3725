#!/usr/bin/env bash
# Build-context upload over a rate-limited link: docker CLI (legacy builder,
# no compression), mybuild --compress=false and mybuild with no compression
# flag (automatic: it compresses for a tcp:// daemon that is not on
# loopback), run alternately against ctxbench's draining daemon in another
# network namespace. Prints medians of wall time, the ratio to docker and
# the bytes each variant put on the wire.
#
# The script makes two network namespaces of its own joined by a veth pair
# (10.214.0.1 <-> 10.214.0.2), shapes both directions with tc tbf, and
# removes everything on exit. No traffic leaves the namespaces. Needs root,
# iproute2 (ip, tc), Go, and the docker CLI.
#
# Environment: RATE (tbf rate, default 100mbit), SCALE (ctxbench context
# scale, default 0.5: a 76 MB tar), RUNS (timed rounds, default 5), DOCKER
# (default /usr/local/bin/docker), WORK (where contexts are generated,
# default /tmp/ctxbench), MYBUILD (a prebuilt mybuild; default: go build
# ./cmd/mybuild).
set -euo pipefail

cd "$(dirname "$0")/.."

rate=${RATE:-100mbit}
scale=${SCALE:-0.5}
runs=${RUNS:-5}
docker=${DOCKER:-/usr/local/bin/docker}
work=${WORK:-${TMPDIR:-/tmp}/ctxbench}
addr=10.214.0.2:2375

die() { echo "netns.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (ip netns, tc)"
for c in ip tc go /usr/bin/time "$docker"; do
	command -v "$c" >/dev/null || die "$c not found"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netns-bench.XXXXXX")
ns_c=mbbench-c-$$ # the client's namespace
ns_d=mbbench-d-$$ # the daemon's namespace
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	ip netns del "$ns_c" 2>/dev/null || true # also removes the veth pair
	ip netns del "$ns_d" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${MYBUILD:-}" ]; then
	cp "$MYBUILD" "$tmp/mybuild"
else
	go build -o "$tmp/mybuild" ./cmd/mybuild
fi
go build -o "$tmp/ctxbench" ./bench/cmd/ctxbench
ctx=$("$tmp/ctxbench" gen -scale "$scale" -work "$work" | cut -f1)

# Two namespaces, one veth pair between them, both ends shaped.
ip netns add "$ns_c"
ip netns add "$ns_d"
ip -n "$ns_c" link add veth-c type veth peer name veth-d netns "$ns_d"
ip -n "$ns_c" addr add 10.214.0.1/24 dev veth-c
ip -n "$ns_d" addr add 10.214.0.2/24 dev veth-d
for ns in "$ns_c" "$ns_d"; do ip -n "$ns" link set lo up; done
ip -n "$ns_c" link set veth-c up
ip -n "$ns_d" link set veth-d up
# One IP packet per skb (no GSO), so that the veth counters and tbf see the
# frames a real link would carry, headers included.
ip -n "$ns_c" link set dev veth-c gso_max_segs 1
ip -n "$ns_d" link set dev veth-d gso_max_segs 1
tc -n "$ns_c" qdisc add dev veth-c root tbf rate "$rate" burst 128kb latency 100ms
tc -n "$ns_d" qdisc add dev veth-d root tbf rate "$rate" burst 128kb latency 100ms

# The draining daemon in the far namespace; it logs one "drained N bytes
# (gzip B)" line per build before it answers.
ip netns exec "$ns_d" "$tmp/ctxbench" serve -addr "$addr" >"$tmp/daemon.out" 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
	grep -q '^tcp://' "$tmp/daemon.out" 2>/dev/null && break
	kill -0 "$daemon_pid" 2>/dev/null || die "daemon failed: $(cat "$tmp/daemon.log")"
	sleep 0.1
done
grep -q '^tcp://' "$tmp/daemon.out" || die "daemon did not start"

tx_bytes() { ip netns exec "$ns_c" cat /sys/class/net/veth-c/statistics/tx_bytes; }

variants=(docker plain auto)
label() {
	case $1 in
	docker) echo "docker (DOCKER_BUILDKIT=0)" ;;
	plain) echo "mybuild --compress=false" ;;
	auto) echo "mybuild (automatic)" ;;
	esac
}
command_of() {
	case $1 in
	docker) echo "$docker -H tcp://$addr build -t bench:netns $ctx" ;;
	plain) echo "$tmp/mybuild -H tcp://$addr --compress=false -t bench:netns $ctx" ;;
	auto) echo "$tmp/mybuild -H tcp://$addr -t bench:netns $ctx" ;;
	esac
}

# run VARIANT: one client run in the client namespace, with a fresh HOME and
# nothing else in the environment. Appends "wall_s wire_bytes body_bytes
# gzip cpu_s rss_kb" to $tmp/VARIANT.
run() {
	local v=$1 home="$tmp/home-$1" before t0 t1 tx0 tx1 drained
	rm -rf "$home" && mkdir -p "$home"
	before=$(wc -l <"$tmp/daemon.log")
	tx0=$(tx_bytes)
	t0=$(date +%s%N)
	# shellcheck disable=SC2046 # the command is split on purpose
	if ! ip netns exec "$ns_c" env -i PATH="$PATH" HOME="$home" DOCKER_CONFIG="$home/.docker" \
		DOCKER_BUILDKIT=0 LANG=C.UTF-8 TMPDIR="$tmp" \
		/usr/bin/time -f '%U %S %M' -o "$tmp/time" $(command_of "$v") >"$tmp/out" 2>&1; then
		cat "$tmp/out" >&2
		die "$(label "$v") failed"
	fi
	t1=$(date +%s%N)
	tx1=$(tx_bytes)
	drained=$(tail -n +"$((before + 1))" "$tmp/daemon.log" | grep -o 'drained [0-9]* bytes (gzip [a-z]*)' | tail -1) ||
		die "$(label "$v"): the daemon drained no build"
	# "drained N bytes (gzip B)": N is $2, B is $5 less its ")".
	set -- $drained
	echo "$(((t1 - t0) / 1000000)) $((tx1 - tx0)) $2 ${5%)} $(awk '{print $1 + $2, $3}' "$tmp/time")" |
		awk '{printf "%.3f %s %s %s %s %s\n", $1 / 1000, $2, $3, $4, $5, $6}' | tee -a "$tmp/$v" |
		awk -v l="$(label "$v")" '{printf "  %-28s %6.2f s  wire %d  body %d  gzip %s\n", l, $1, $2, $3, $4}' >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "netns.sh: $rate link ($ns_c 10.214.0.1 -> $ns_d $addr), context $ctx, $runs rounds" >&2
echo "warm-up (untimed):" >&2
for v in "${variants[@]}"; do
	run "$v"
	rm "$tmp/$v"
done
for ((i = 0; i < runs; i++)); do # alternate, rotating who goes first
	echo "round $((i + 1))/$runs:" >&2
	for ((j = 0; j < 3; j++)); do
		run "${variants[(i + j) % 3]}"
	done
done

# median COLUMN FILE
median() { awk -v c="$1" '{print $c}' "$2" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# minmax COLUMN FILE: "[min-max]" with two decimals, formatted as the median is
minmax() {
	# shellcheck disable=SC2046
	printf '[%.2f-%.2f]' $(awk -v c="$1" '{print $c}' "$2" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo, hi}')
}

docker_wall=$(median 1 "$tmp/docker")
docker_wire=$(median 2 "$tmp/docker")
echo
echo "Upload over a $rate link between two network namespaces; context $(basename "$ctx"), medians of $runs runs"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
printf '%-28s %-20s %9s %12s %9s %12s %5s %7s %6s %6s\n' \
	client "wall s [min-max]" "vs docker" "wire bytes" "vs docker" "body bytes" gzip "Mbit/s" "CPU s" "RSS MB"
for v in "${variants[@]}"; do
	f=$tmp/$v
	wall=$(median 1 "$f")
	wire=$(median 2 "$f")
	body=$(median 3 "$f")
	gz=$(awk '{print $4}' "$f" | sort -u | paste -sd/)
	cpu=$(median 5 "$f")
	rss=$(median 6 "$f")
	printf '%-28s %5.2f %-14s %8.2fx %12d %8.3fx %12d %5s %7.1f %6.2f %6.1f\n' \
		"$(label "$v")" "$wall" "$(minmax 1 "$f")" "$(awk -v a="$wall" -v b="$docker_wall" 'BEGIN {print a / b}')" \
		"$wire" "$(awk -v a="$wire" -v b="$docker_wire" 'BEGIN {print a / b}')" "$body" "$gz" \
		"$(awk -v w="$wire" -v t="$wall" 'BEGIN {print w * 8 / t / 1e6}')" "$cpu" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
done
echo
echo "wire bytes: what the client's end of the veth sent (Ethernet frames, headers included); body bytes:"
echo "the request body the daemon drained (the tar, or the gzip stream); Mbit/s: wire bytes over wall time;"
echo "CPU s: the client's user+system time; RSS MB: its peak resident set. Took ${SECONDS}s."
