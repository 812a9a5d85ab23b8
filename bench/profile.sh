#!/usr/bin/env bash
# Where a ringbus server spends its time under one load (docs/PERFORMANCE.md):
# starts ringbus on free loopback ports, drives pub/sub of SIZE bytes from
# one publisher to SUBS subscribers of its subject (1->1 by default, 1->4
# with --subs 4: fan-out) for DURATION with one client profile, and prints
# the delivered rate (all subscribers together), the server's CPU time per
# delivered message (utime + stime, /proc/PID/stat), what each receive and
# send moved (/ioz: bytes and messages per completion) and, with --perf,
# the server's hottest symbols (perf record on the server only) and the
# callers of memmove (--call-graph dwarf).
# Usage: bench/profile.sh [--client load|blocking] [--size B] [--subs N]
#                         [--duration S] [--build DIR] [--server BIN] [--perf]
#                         [--out DIR]
# --server runs another ringbus binary (an older build, to alternate) with
# the load tools of --build.
# Every run is bounded; the server is stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
client=blocking
size=16
subs=1
duration=5
with_perf=0
server=
out=$(mktemp -d /tmp/ringbus-profile-XXXXXX)
while [ $# -gt 0 ]; do
	case $1 in
	--client) client=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--subs) subs=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--server) server=$2; shift 2 ;;
	--perf) with_perf=1; shift ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "profile.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $client in
load) tool=$build/tools/ringbus-load; args=(pubsub) ;;
blocking) tool=$build/tools/ringbus-load-blocking; args=() ;;
*) echo "profile.sh: --client load or blocking" >&2; exit 2 ;;
esac
ringbus=${server:-$build/router/ringbus}
[ -x "$ringbus" ] && [ -x "$tool" ] || { echo "profile.sh: build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
[ $with_perf = 0 ] || command -v perf >/dev/null || { echo "profile.sh: --perf needs perf (apt-get install linux-perf)" >&2; exit 2; }
mkdir -p "$out"
. "$top/bench/lib/ports.sh"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

port=$(free_port); mport=$(free_port)
"$ringbus" -a 127.0.0.1 -p "$port" -m "$mport" >"$out/ringbus.log" 2>&1 &
pid=$!
wait_port "$port" || { echo "profile.sh: ringbus did not start" >&2; cat "$out/ringbus.log" >&2; exit 1; }
wait_port "$mport" || exit 1
ioz() { python3 -c 'import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen("http://127.0.0.1:%s/ioz" % sys.argv[1]))["io_threads"]))' "$mport"; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# The run itself (never under perf's dwarf unwinding, which slows the server).
before=$(ioz); t0=$(cpu)
perf_pid=
if [ $with_perf = 1 ]; then
	perf record -F 999 -g -p "$pid" -o "$out/perf.data" -- sleep "$duration" >/dev/null 2>&1 &
	perf_pid=$!
fi
timeout $((duration + 30)) "$tool" "${args[@]}" --url "nats://127.0.0.1:$port" --pubs 1 --subs "$subs" \
	--size "$size" --duration "${duration}s" --json "$out/load.json" >"$out/load.txt" 2>&1 ||
	{ echo "profile.sh: the load tool failed:" >&2; cat "$out/load.txt" >&2; exit 1; }
[ -z "$perf_pid" ] || wait "$perf_pid" || true
t1=$(cpu); after=$(ioz)
python3 - "$client" "$size" "$subs" "$t0" "$t1" "$before" "$after" "$out/load.json" <<'PY'
import json, sys
client, size, subs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0, t1 = int(sys.argv[4]), int(sys.argv[5])
a, b = json.loads(sys.argv[6]), json.loads(sys.argv[7])
run = json.load(open(sys.argv[8]))
def total(k):
    return sum(y[k] - x[k] for x, y in zip(a, b))
recvs, sends = max(1, total("recv_completions")), max(1, total("send_completions"))
delivered = run.get("delivered") or 0
rate = run.get("sub_msgs_per_sec") or 0
cpu = (t1 - t0) / 100.0
print("%s, 1->%d %d B: delivered %s msg/s; server CPU %.2f s = %.3f us per delivered message"
      % (client, subs, size, "{:,.0f}".format(rate), cpu, cpu / max(1, delivered) * 1e6))
print("  per receive: %.0f bytes, %.1f messages (%d receives); per send: %.0f bytes, %.1f messages (%d sends)"
      % (total("in_bytes") / recvs, total("in_msgs") / recvs, recvs,
         total("out_bytes") / sends, total("out_msgs") / sends, sends))
PY
if [ $with_perf = 1 ]; then
	echo "  hottest symbols of the server (perf, $duration s):"
	perf report -i "$out/perf.data" --no-children --sort symbol --percent-limit 2 --stdio -g none 2>/dev/null |
		grep -E '^ +[0-9]' | head -16 | sed 's/  *-  *-  *$//; s/^/   /'
	# the callers of memmove, from a short second run with DWARF unwinding
	perf record -F 499 --call-graph dwarf,16384 -p "$pid" -o "$out/dwarf.data" -- sleep 3 >/dev/null 2>&1 &
	perf_pid=$!
	timeout 40 "$tool" "${args[@]}" --url "nats://127.0.0.1:$port" --pubs 1 --subs "$subs" --size "$size" \
		--duration 3s >/dev/null 2>&1 || true
	wait "$perf_pid" || true
	echo "  memmove by caller (perf --call-graph dwarf, 3 s):"
	perf report -i "$out/dwarf.data" --no-children --symbol-filter=memmove --stdio -G 2>/dev/null |
		grep -E '[0-9]+\.[0-9]+%' | head -8 | sed 's/^/   /'
fi
echo "  files: $out"
