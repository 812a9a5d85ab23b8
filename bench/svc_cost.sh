#!/usr/bin/env bash
# What tracking requests costs in latency (issue 20), with one ringbus process
# throughout: request_aware is switched on and off by a configuration reload
# (SIGHUP) between short runs of `ringbus-load reqrep --responders 4 --rate
# 50k`, in the order on/off, off/on, ... (ABBA), so that both sides see the
# same process, the same warm allocator and, pair by pair, the same minute
# of a shared host. With --aa both sides of every pair run with tracking on:
# the same analysis then shows what this method reads as a difference when
# there is none (the noise floor to hold the on/off figures against).
# Per side it prints p50, p90 and p99 three ways: the median of the runs'
# values, the median of the per-pair ratios (on / off), and the quantile of
# all runs' latencies pooled; and the server's CPU ticks and context
# switches per run, read from /proc around each run.
# Usage: bench/svc_cost.sh [--build DIR] [--pairs N] [--duration D] [--aa]
#                          [--cpus LIST --client-cpus LIST] [--out DIR]
# --cpus and --client-cpus run the server and the load tool under
# `taskset -c LIST` (e.g. --cpus 0 --client-cpus 1: a core each).
# About 9 s per pair; every run is bounded and the server is stopped at the
# end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
pairs=20
duration=3s
aa=
cpus=
ccpus=
out=$top/bench/out/svc-cost-$(date -u +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--pairs) pairs=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--aa) aa=1; shift ;;
	--cpus) cpus=$2; shift 2 ;;
	--client-cpus) ccpus=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "svc_cost.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
ringbus=$build/router/ringbus
load=$build/tools/ringbus-load
for b in "$ringbus" "$load"; do
	[ -x "$b" ] || { echo "svc_cost.sh: missing $b (build the release preset)" >&2; exit 1; }
done
mkdir -p "$out"
. "$top/bench/lib/ports.sh" # free_ports N, wait_port, stop_pid
read -r port mport <<<"$(free_ports 2)"
conf=$out/ringbus.conf
results=$out/runs.jsonl
: >"$results"
pid=
stop() {
	stop_pid "$pid"
	pid=
}
trap stop EXIT

# aware true|false: writes the configuration and reloads it; waits for the
# reload to be logged
aware() {
	printf 'ringbus { admission { request_aware: %s } }\n' "$1" >"$conf"
	local before
	before=$(grep -c 'reload: done' "$out/ringbus.log" || true)
	kill -HUP "$pid"
	for _ in $(seq 100); do
		[ "$(grep -c 'reload: done' "$out/ringbus.log" || true)" -gt "$before" ] && return 0
		sleep 0.02
	done
	echo "svc_cost.sh: the reload was not logged" >&2
	exit 1
}

# the server's CPU ticks and context switches, summed over its threads
ticks() { cat /proc/"$pid"/task/*/stat 2>/dev/null | awk '{s += $14 + $15} END {print s + 0}'; }
switches() { cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }

printf 'ringbus { admission { request_aware: true } }\n' >"$conf"
srvpin=() clipin=()
[ -n "$cpus" ] && srvpin=(taskset -c "$cpus")
[ -n "$ccpus" ] && clipin=(taskset -c "$ccpus")
"${srvpin[@]}" "$ringbus" -a 127.0.0.1 -p "$port" -m "$mport" -c "$conf" >"$out/ringbus.log" 2>&1 &
pid=$!
wait_port "$port" || { echo "svc_cost.sh: ringbus did not start (see $out/ringbus.log)" >&2; exit 1; }
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "command: bench/svc_cost.sh --pairs $pairs --duration $duration${aa:+ --aa}${cpus:+ --cpus $cpus}${ccpus:+ --client-cpus $ccpus} --out $out"
	echo "ringbus: $("$ringbus" --version 2>&1 | head -1) (git $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo ?))"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/meta.txt"

for i in $(seq "$pairs"); do
	order="on off"
	[ $((i % 2)) = 0 ] && order="off on"
	for side in $order; do
		val=true
		[ "$side" = off ] && [ -z "$aa" ] && val=false
		aware "$val"
		t0=$(ticks) c0=$(switches)
		j=$(timeout 60 "${clipin[@]}" "$load" reqrep --url "nats://127.0.0.1:$port" --responders 4 \
			--rate 50k --duration "$duration" --warmup 1s --quiet --json - \
			--hgrm "$out/hist.$i.$side" 2>/dev/null | tr -d '\n' || true)
		t1=$(ticks) c1=$(switches)
		printf '{"pair":%d,"side":"%s","aware":%s,"ticks":%d,"switches":%d,"result":%s}\n' \
			"$i" "$side" "$val" $((t1 - t0)) $((c1 - c0)) "${j:-null}" >>"$results"
	done
	echo "pair $i of $pairs done"
done
curl -s "http://127.0.0.1:$mport/servicez" >"$out/servicez.json" || true
stop

python3 - "$out" "${aa:+aa}" <<'PY' | tee "$out/summary.md"
import glob, json, statistics, sys
out, aa = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(out + "/runs.jsonl")]
by = {}
for r in rows:
    if r["result"] and "latency_us" in r["result"]:
        by.setdefault(r["pair"], {})[r["side"]] = r
pairs = sorted(p for p in by if len(by[p]) == 2)

def hist(side):
    """(value, count) steps of every run's .hgrm on @side, pooled."""
    ev = []
    for p in pairs:
        prev = 0
        for line in open("%s/hist.%d.%s" % (out, p, side)):
            f = line.split()
            try:
                v, c = float(f[0]), int(f[2])
            except (IndexError, ValueError):
                continue
            if c > prev:
                ev.append((v, c - prev))
                prev = c
    ev.sort()
    return ev

def pooled(ev, q):
    total = sum(c for _, c in ev)
    acc = 0
    for v, c in ev:
        acc += c
        if acc >= q * total:
            return v
    return float("nan")

on, off = ("on", "off")
print("%s: %d pairs%s\n" % (out, len(pairs), " (A/A: tracking on in both columns)" if aa else ""))
print("| estimator | quantile | on (us) | off (us) | on / off |")
print("|---|---|---:|---:|---:|")
h = {s: hist(s) for s in (on, off)}
for q in ("p50", "p90", "p99"):
    a = [by[p][on]["result"]["latency_us"][q] for p in pairs]
    b = [by[p][off]["result"]["latency_us"][q] for p in pairs]
    ratios = [x / y for x, y in zip(a, b)]
    ma, mb = statistics.median(a), statistics.median(b)
    print("| median of runs | %s | %.1f | %.1f | %.3f |" % (q, ma, mb, ma / mb))
    print("| median of paired ratios | %s | | | %.3f (%.2f-%.2f) |"
          % (q, statistics.median(ratios), min(ratios), max(ratios)))
    qf = float(q[1:]) / 100
    pa, pb = pooled(h[on], qf), pooled(h[off], qf)
    print("| pooled | %s | %.1f | %.1f | %.3f |" % (q, pa, pb, pa / pb))
for s in (on, off):
    t = [by[p][s]["ticks"] for p in pairs]
    c = [by[p][s]["switches"] for p in pairs]
    print("\n%s: server CPU ticks per run median %d (%d-%d), context switches median %d"
          % (s, statistics.median(t), min(t), max(t), statistics.median(c)), end="")
print()
PY
echo "results: $out"
