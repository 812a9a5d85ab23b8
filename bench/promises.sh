#!/usr/bin/env bash
# The delivery promises of issue 12, side by side with nats-server, with plain
# blocking clients (ringbus-load-blocking: one thread per connection, written
# as fast as the socket takes it, no PING window):
#  1. order: one publisher cycling over 16 subjects (500,000 x 32 B), two
#     subscribers on load.> -- messages out of order, lost;
#  2. fan-out: 4 publishers (250,000 x 128 B each, one subject each), 4
#     subscribers on load.> (4,000,000 deliveries) -- lost, disconnects;
#     with ringbus's defaults and with --sub-policy defer.
# Usage: bench/promises.sh [--build DIR] [--reps N] [--out DIR]
# Every run is bounded (the client gives up after 5 s without progress); the
# servers are stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=10
out=$top/bench/out/promises-$(date +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "promises.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
ringbus=$build/router/ringbus
client=$build/tools/ringbus-load-blocking
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
for b in "$ringbus" "$client" "$nats"; do
	[ -x "$b" ] || { echo "promises.sh: missing $b (build the release preset)" >&2; exit 1; }
done
mkdir -p "$out"
. "$top/bench/lib/ports.sh" # stop_pid
port=$((20000 + RANDOM % 20000))
pid=
stop_server() {
	stop_pid "$pid"
	pid=
}
trap stop_server EXIT

start_server() { # KIND [ARGS...]
	local kind=$1; shift
	port=$((port + 1))
	if [ "$kind" = nats-server ]; then
		"$nats" -a 127.0.0.1 -p "$port" "$@" >>"$out/$kind.log" 2>&1 &
	else
		"$ringbus" -a 127.0.0.1 -p "$port" "$@" >>"$out/$kind.log" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "promises.sh: $kind did not start" >&2
	exit 1
}

# run SCENARIO KIND REP CLIENT-ARGS...: one run on a fresh server, one CSV line
run() {
	local scen=$1 kind=$2 rep=$3; shift 3
	local server_args=()
	[ "$kind" = ringbus-defer ] && server_args=(--sub-policy defer)
	start_server "${kind%-defer}" "${server_args[@]}"
	local json=$out/$scen-$kind-$rep.json
	"$client" --url "nats://127.0.0.1:$port" "$@" --window 0 --drain 5s --json "$json" \
		>/dev/null 2>&1 || true
	stop_server
	python3 - "$json" "$scen" "$kind" "$rep" >>"$out/promises.csv" <<'PY'
import json, sys
path, scen, kind, rep = sys.argv[1:]
try:
    j = json.load(open(path))
except Exception as e:
    print(f"{scen},{kind},{rep},nan,nan,nan,nan,nan,no result ({e})")
    sys.exit(0)
print(f"{scen},{kind},{rep},{j['expected']},{j['delivered']},{j['lost']},"
      f"{j['out_of_order']},{j.get('closed_by_server', 0)},{round(j['sub_msgs_per_sec'])}")
PY
	tail -n 1 "$out/promises.csv"
}

echo "scenario,server,rep,expected,delivered,lost,out_of_order,closed,msgs_per_s" >"$out/promises.csv"
for rep in $(seq "$reps"); do
	for kind in ringbus nats-server; do
		run order16 "$kind" "$rep" --pubs 1 --subs 2 --subjects 16 --sub-subject 'load.>' \
			--size 32 --msgs 500000
	done
	for kind in ringbus ringbus-defer nats-server; do
		run fanout4x4 "$kind" "$rep" --pubs 4 --subs 4 --pub-subject-per-pub \
			--sub-subject 'load.>' --size 128 --msgs 1000000
	done
done
python3 - "$out/promises.csv" <<'PY' | tee "$out/summary.txt"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
groups = {}
for r in rows:
    groups.setdefault((r["scenario"], r["server"]), []).append(r)
print("scenario   server         runs  runs with loss  lost  out of order  disconnects  median msg/s")
for (s, k), rs in groups.items():
    num = lambda f: [int(float(r[f])) for r in rs if r[f] not in ("nan", "")]
    lost, ooo, closed, rate = num("lost"), num("out_of_order"), num("closed"), sorted(num("msgs_per_s"))
    print(f"{s:10} {k:14} {len(rs):4} {sum(1 for x in lost if x):15} {sum(lost):5} "
          f"{sum(ooo):13} {sum(closed):12} {rate[len(rate)//2] if rate else 0:13,}")
PY
echo "promises.sh: results in $out"
