#!/usr/bin/env bash
# WebSocket throughput, side by side (issue 22): ringbus's and nats-server's
# WebSocket listeners (websocket { listen, no_tls: true }) on loopback, 1->1,
# 16 B and 1 KiB, closed loop (a flush or PING every 1,000 messages), with two
# client profiles: node = the official browser client nats.ws in Node (the
# `ws` package as its socket), one publisher and one subscriber process;
# c = ringbus-load-blocking --url ws://... (a thread per connection, masked
# frames of up to 64 KiB). Reported: delivered msg/s, medians over the
# repetitions (every kind in turn in each), the ratio ringbus / nats-server,
# and for c the server's CPU (utime+stime, /proc/PID/stat) per delivered
# message; with the CPU the rest of the machine used meanwhile (/proc/stat,
# less the server's and the clients'). Every run is bounded (timeout); the
# servers are stopped at the end.
# Usage: bench/ws.sh [--build DIR] [--reps N] [--duration S] [--client node|c|both] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=3
duration=5
client=both
out=$(mktemp -d /tmp/ringbus-ws-XXXXXX)
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--client) client=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "ws.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $client in
node) clients=node ;;
c) clients=c ;;
both) clients="c node" ;;
*) echo "ws.sh: --client is node, c or both" >&2; exit 2 ;;
esac
case " $clients " in *" node "*)
	[ -d "$top/tests/integration/js/node_modules/nats.ws" ] ||
		{ echo "ws.sh: run 'npm ci' in tests/integration/js first (or --client c)" >&2; exit 2; } ;;
esac
ringbus=$build/router/ringbus
blocking=$build/tools/ringbus-load-blocking
nats=$(command -v nats-server)
mkdir -p "$out"
: >"$out/runs.tsv"
node_pid=
cleanup() { [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
. "$top/bench/lib/ports.sh"
tck=$(getconf CLK_TCK)
# CPU seconds: of process $1 (utime+stime), of this shell's reaped children
# (cutime+cstime: the clients, once waited for), of the whole machine (busy:
# all but idle and iowait).
cpu_of() { awk -v t="$tck" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
cpu_children() { awk -v t="$tck" '{ sub(/.*\) /, ""); print ($14 + $15) / t }' "/proc/$$/stat"; }
cpu_machine() { awk -v t="$tck" 'NR == 1 { print ($2 + $3 + $4 + $7 + $8 + $9) / t }' /proc/stat; }
now() { date +%s.%N; }
sub_f() { python3 -c 'import sys; print(float(sys.argv[1]) - float(sys.argv[2]))' "$1" "$2"; }

# run CLIENT KIND SIZE: one measurement, a line of $out/runs.tsv:
# client kind size msg/s delivered server_cpu_s clients_cpu_s machine_busy_s wall_s status
run() {
	local cl=$1 kind=$2 size=$3 port wport
	port=$(free_port); wport=$(free_port)
	printf 'websocket { listen: "127.0.0.1:%s", no_tls: true }\n' "$wport" >"$out/ws.conf"
	if [ "$kind" = n ]; then "$nats" -a 127.0.0.1 -p "$port" -c "$out/ws.conf" >"$out/node.log" 2>&1 &
	else "$ringbus" -a 127.0.0.1 -p "$port" -c "$out/ws.conf" >"$out/node.log" 2>&1 & fi
	node_pid=$!
	wait_port "$wport"
	local url="ws://127.0.0.1:$wport" st=0 s0 c0 m0 t0 s1 c1 m1 t1 res
	s0=$(cpu_of "$node_pid"); c0=$(cpu_children); m0=$(cpu_machine); t0=$(now)
	if [ "$cl" = c ]; then
		timeout $((duration + 60)) "$blocking" --url "$url" --pubs 1 --subs 1 --size "$size" \
			--duration "${duration}s" --quiet --json "$out/c.json" >"$out/c.txt" 2>&1 || st=$?
	else
		timeout $((duration + 60)) node "$top/bench/ws/ws_load.mjs" sub "$url" "$size" "$duration" >"$out/sub.json" 2>&1 &
		local sub=$!
		sleep 1
		timeout $((duration + 60)) node "$top/bench/ws/ws_load.mjs" pub "$url" "$size" "$duration" >/dev/null 2>&1 || st=$?
		wait "$sub" || st=$?
	fi
	s1=$(cpu_of "$node_pid"); c1=$(cpu_children); m1=$(cpu_machine); t1=$(now)
	kill -INT "$node_pid"; wait "$node_pid" 2>/dev/null || true
	node_pid=
	if [ "$cl" = c ]; then
		res=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["sub_msgs_per_sec"], j["delivered"])' "$out/c.json" 2>/dev/null || echo "0 0")
	else
		res=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["msgs_per_sec"], j["delivered"])' "$out/sub.json" 2>/dev/null || echo "0 0")
	fi
	local rate delivered
	read -r rate delivered <<<"$res"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cl" "$kind" "$size" "$rate" "$delivered" \
		"$(sub_f "$s1" "$s0")" "$(sub_f "$c1" "$c0")" "$(sub_f "$m1" "$m0")" "$(sub_f "$t1" "$t0")" \
		"$st" >>"$out/runs.tsv"
}

for rep in $(seq "$reps"); do
	for cl in $clients; do
		for size in 16 1024; do
			run "$cl" r "$size"; run "$cl" n "$size"
		done
	done
	echo "ws.sh: repetition $rep of $reps done" >&2
done

python3 - "$out" <<'PY'
import statistics, sys
out = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(out + "/runs.tsv") if l.strip()]
med = statistics.median
def runs(cl, kind, size):
    return [r for r in rows if r[0] == cl and r[1] == kind and r[2] == str(size)]
names = {"c": "ringbus-load-blocking, ws://", "node": "nats.ws in Node"}
for cl in [c for c in ("c", "node") if any(r[0] == c for r in rows)]:
    print(f"\n| 1->1 over WebSocket ({names[cl]}) | ringbus msg/s (min-max) | nats-server msg/s (min-max) "
          "| ratio, median of per-repetition (min-max) | server CPU per delivered msg, ringbus / nats-server (median) | goal |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in (16, 1024):
        r, n = runs(cl, "r", size), runs(cl, "n", size)
        if not r or not n:
            continue
        rr, nn = [float(x[3]) for x in r], [float(x[3]) for x in n]
        ratios = [a / b for a, b in zip(rr, nn) if b > 0] or [0.0]
        if cl == "c":
            cpu = lambda xs: med([float(x[5]) * 1e6 / float(x[4]) for x in xs if float(x[4]) > 0] or [0.0])
            cell = f"{cpu(r):.3f} / {cpu(n):.3f} us"
        else:  # the Node publisher goes on 2 s past the subscriber's window
            cell = "not comparable"
        print(f"| {size} B | {med(rr)/1e3:.0f}k ({min(rr)/1e3:.0f}k-{max(rr)/1e3:.0f}k) "
              f"| {med(nn)/1e3:.0f}k ({min(nn)/1e3:.0f}k-{max(nn)/1e3:.0f}k) "
              f"| {med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {cell} | >= 2 |")
timed = [x for x in rows if float(x[8]) > 0]
busy = [float(x[7]) / float(x[8]) for x in timed]
others = [max(0.0, float(x[7]) - float(x[5]) - float(x[6])) / float(x[8]) for x in timed]
print(f"\nmachine busy during the runs: median {med(busy):.2f} cores of {len(open('/proc/cpuinfo').read().split('processor')) - 1}; "
      f"other processes (not the server, not the clients): median {med(others):.2f}, max {max(others):.2f} cores")
bad = [r for r in rows if r[9] != "0"]
if bad:
    print(f"runs with a nonzero client exit status: {len(bad)} of {len(rows)} (see {out}/runs.tsv)")
print(f"\nws.sh: runs in {out}", file=sys.stderr)
PY
