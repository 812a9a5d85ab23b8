#!/usr/bin/env bash
# Request-aware queue groups side by side with nats-server, on loopback.
# Responders are plain processes with blocking sockets (tests/integration/
# js/responder.py, 1-2 ms of work per request), requesters the JavaScript
# client (tests/integration/js/requester.mjs):
#  frozen      4 responders, one stopped (SIGSTOP); 1,000 requests at 500/s,
#              1 s timeout: how many time out;
#  saturation  4 responders; 20,000 requests at once, 3 s timeout: how many
#              are served, how many answered busy and how fast (ringbus with
#              --max-inflight 8, and with a queue wait too), from the
#              JavaScript client and from a plain blocking one (bench/
#              bench_burst.c: each request's clock starts when its send()
#              returns, which the JavaScript client cannot tell);
#  cost        ringbus-load reqrep at 50k req/s into 4 responders (a queue
#              group): p50/p99 with tracking on and off (--request-aware=false),
#              same build, runs alternating.
# Usage: bench/services.sh [--build DIR] [--reps N] [--only NAME] [--out DIR]
# Every run is bounded; servers and responders are stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=3
only=
out=$top/bench/out/services-$(date +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "services.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
ringbus=$build/router/ringbus
load=$build/tools/ringbus-load
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
for b in "$ringbus" "$load" "$nats" "$build/bench/bench_burst"; do
	[ -x "$b" ] || { echo "services.sh: missing $b (build the release preset)" >&2; exit 1; }
done
[ -d "$top/tests/integration/js/node_modules/nats" ] ||
	(cd "$top/tests/integration/js" && npm ci --silent >/dev/null)
mkdir -p "$out"
. "$top/bench/lib/ports.sh" # stop_pid
results=$out/results.jsonl
port=$((20000 + RANDOM % 20000))
pid=
rpids=()
stop_all() {
	for p in "${rpids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
	for p in "${rpids[@]}"; do wait "$p" 2>/dev/null || true; done
	rpids=()
	stop_pid "$pid"
	pid=
}
trap stop_all EXIT

# start_server KIND [ARGS...]: a fresh server on a new port, sets $pid
start_server() {
	local kind=$1; shift
	port=$((port + 1))
	local bin=$ringbus
	[ "$kind" = nats-server ] && bin=$nats
	"$bin" -a 127.0.0.1 -p "$port" "$@" >"$out/$kind.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "services.sh: $kind did not start" >&2
	exit 1
}

# start_responders N: N responders in queue "workers" on svc.req, ready
start_responders() {
	local fifo
	for i in $(seq "$1"); do
		fifo=$out/ready.$i
		rm -f "$fifo"
		python3 "$top/tests/integration/js/responder.py" "$port" svc.req workers 1 2 >"$fifo" 2>&1 &
		rpids+=($!)
	done
	for i in $(seq "$1"); do
		for _ in $(seq 200); do grep -q ready "$out/ready.$i" 2>/dev/null && break; sleep 0.05; done
		grep -q ready "$out/ready.$i" || { echo "services.sh: responder $i not ready" >&2; exit 1; }
	done
}

# record SCENARIO KIND VARIANT JSON
record() {
	printf '{"scenario":"%s","server":"%s","variant":"%s","rep":%d,"result":%s}\n' \
		"$1" "$2" "$3" "$rep" "$4" | tee -a "$results"
}

requester() {
	timeout 120 node "$top/tests/integration/js/requester.mjs" "nats://127.0.0.1:$port" svc.req "$@"
}

frozen() { # KIND VARIANT [ARGS...]
	local kind=$1 variant=$2; shift 2
	start_server "$kind" "$@"
	start_responders 4
	kill -STOP "${rpids[3]}"
	record frozen "$kind" "$variant" "$(requester --count 1000 --rate 500 --timeout 1000)"
	stop_all
}

saturation() { # KIND VARIANT [ARGS...]: the JavaScript client, then a plain blocking one
	local kind=$1 variant=$2; shift 2
	start_server "$kind" "$@"
	start_responders 4
	record saturation "$kind" "$variant" "$(requester --count 20000 --burst --timeout 3000)"
	stop_all
	start_server "$kind" "$@"
	start_responders 4
	record saturation-blocking "$kind" "$variant" \
		"$(timeout 120 "$build/bench/bench_burst" "$port" svc.req 20000 3000)"
	stop_all
}

cost() { # VARIANT [ARGS...]
	local variant=$1; shift
	start_server ringbus "$@"
	local j
	j=$("$load" reqrep --url "nats://127.0.0.1:$port" --responders 4 --rate 50k \
		--duration 10s --warmup 2s --quiet --json - 2>/dev/null | tr -d '\n' || true)
	record cost ringbus "$variant" "${j:-null}"
	stop_all
}

for rep in $(seq "$reps"); do
	if [ -z "$only" ] || [ "$only" = frozen ]; then
		frozen nats-server default
		frozen ringbus default
	fi
	if [ -z "$only" ] || [ "$only" = saturation ]; then
		saturation nats-server default
		saturation ringbus max-inflight-8 --max-inflight 8
		saturation ringbus max-inflight-8-wait-3s --max-inflight 8 --queue-wait 3s
	fi
	if [ -z "$only" ] || [ "$only" = cost ]; then
		cost tracking-on
		cost tracking-off --request-aware=false
	fi
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r["scenario"], r["server"], r["variant"]), []).append(r["result"])
def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else float("nan")
print("\n%-11s %-12s %-26s %s" % ("scenario", "server", "variant", "medians (each rep)"))
for (sc, srv, var), rs in groups.items():
    if sc == "cost":
        rs = [r for r in rs if r]
        p50 = [r["latency_us"]["p50"] for r in rs if "latency_us" in r]
        p99 = [r["latency_us"]["p99"] for r in rs if "latency_us" in r]
        print("%-11s %-12s %-26s p50 %.1f us %s, p99 %.1f us %s" % (sc, srv, var, med(p50), p50, med(p99), p99))
        continue
    keys = ["answered", "timed_out", "busy", "busy_within_10ms", "busy_p95_ms"]
    print("%-11s %-12s %-26s %s" % (sc, srv, var, ", ".join(
        "%s %s %s" % (k, med([r[k] for r in rs]), [r[k] for r in rs]) for k in keys)))
PY
echo "results: $results"
