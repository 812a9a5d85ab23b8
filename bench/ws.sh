#!/usr/bin/env bash
# WebSocket throughput, side by side (issue 22): ringbus's and nats-server's
# WebSocket listeners (websocket { listen, no_tls: true }) on loopback, the
# official browser client nats.ws in Node (the `ws` package as its socket):
# one publisher process and one subscriber process, 1->1, 16 B and 1 KiB.
# Reported: delivered msg/s, medians over the repetitions (the kinds in turn
# in each), and the ratio ringbus / nats-server. The clients are Node
# processes on the same 2 cores: what they can push bounds both servers.
# Every run is bounded (timeout); the servers are stopped at the end.
# Usage: bench/ws.sh [--build DIR] [--reps N] [--duration S] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=3
duration=5
out=$(mktemp -d /tmp/ringbus-ws-XXXXXX)
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "ws.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -d "$top/tests/integration/js/node_modules/nats.ws" ] ||
	{ echo "ws.sh: run 'npm ci' in tests/integration/js first" >&2; exit 2; }
ringbus=$build/router/ringbus
nats=$(command -v nats-server)
mkdir -p "$out"
node_pid=
cleanup() { [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
. "$top/bench/lib/ports.sh"

# run KIND SIZE: one measurement, its delivered msg/s
run() {
	local kind=$1 size=$2 port wport
	port=$(free_port); wport=$(free_port)
	printf 'websocket { listen: "127.0.0.1:%s", no_tls: true }\n' "$wport" >"$out/ws.conf"
	if [ "$kind" = n ]; then "$nats" -a 127.0.0.1 -p "$port" -c "$out/ws.conf" >"$out/node.log" 2>&1 &
	else "$ringbus" -a 127.0.0.1 -p "$port" -c "$out/ws.conf" >"$out/node.log" 2>&1 & fi
	node_pid=$!
	wait_port "$wport"
	local url="ws://127.0.0.1:$wport" res
	timeout $((duration + 60)) node "$top/bench/ws/ws_load.mjs" sub "$url" "$size" "$duration" >"$out/sub.json" 2>&1 &
	local sub=$!
	sleep 1
	timeout $((duration + 60)) node "$top/bench/ws/ws_load.mjs" pub "$url" "$size" "$duration" >/dev/null 2>&1 || true
	wait "$sub" || true
	kill -INT "$node_pid"; wait "$node_pid" 2>/dev/null || true
	node_pid=
	res=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["msgs_per_sec"])' "$out/sub.json" 2>/dev/null || echo 0)
	echo "$res" >>"$out/$kind-$size.txt"
}

for rep in $(seq "$reps"); do
	for size in 16 1024; do
		run r "$size"; run n "$size"
	done
	echo "ws.sh: repetition $rep of $reps done" >&2
done

python3 - "$out" <<'EOF'
import os, statistics, sys
out = sys.argv[1]
def vals(name):
    p = os.path.join(out, name + ".txt")
    return [float(l) for l in open(p)] if os.path.exists(p) else []
print("| 1->1 over WebSocket (nats.ws in Node) | ringbus msg/s (min-max) | nats-server msg/s (min-max) | ratio, median of per-repetition (min-max) | goal |")
print("|---|---:|---:|---:|---:|")
for size in (16, 1024):
    r, n = vals(f"r-{size}"), vals(f"n-{size}")
    ratios = [a / b for a, b in zip(r, n) if b > 0]
    med = statistics.median
    print(f"| {size} B | {med(r)/1e3:.0f}k ({min(r)/1e3:.0f}k-{max(r)/1e3:.0f}k) | {med(n)/1e3:.0f}k ({min(n)/1e3:.0f}k-{max(n)/1e3:.0f}k) | "
          f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | >= 2 |")
print(f"\nws.sh: runs in {out}", file=sys.stderr)
EOF
