#!/usr/bin/env bash
# Admission control side by side with nats-server, on loopback:
#  1. isolation: a healthy subscriber's rate while another subscriber of the
#     same subject never reads, divided by its rate alone (ringbus-load
#     pubsub, closed loop, 128 B), and the server's peak RSS;
#  2. overload: one publisher offers 2x what one subscriber consumes
#     (bench/overload.py); under ringbus's defer policy nothing is lost and
#     the publisher settles at the consumer's rate.
# Usage: bench/admission.sh [--build DIR] [--reps N] [--duration S] [--out DIR]
# Every run is bounded; the servers are stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=3
duration=8
out=$top/bench/out/admission-$(date +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "admission.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
ringbus=$build/router/ringbus
load=$build/tools/ringbus-load
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
for b in "$ringbus" "$load" "$nats"; do
	[ -x "$b" ] || { echo "admission.sh: missing $b (build the release preset)" >&2; exit 1; }
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

# start_server KIND [ARGS...]: fresh server on $port, sets $pid
start_server() {
	local kind=$1; shift
	port=$((port + 1))
	if [ "$kind" = ringbus ]; then
		"$ringbus" -a 127.0.0.1 -p "$port" "$@" >"$out/$kind.log" 2>&1 &
	else
		"$nats" -a 127.0.0.1 -p "$port" "$@" >"$out/$kind.log" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "admission.sh: $kind did not start" >&2
	exit 1
}

hwm_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# healthy_rate: delivered msgs/s of one healthy subscriber (JSON field)
healthy_rate() {
	"$load" pubsub --url "nats://127.0.0.1:$port" --pubs 1 --subs 1 --size 128 \
		--duration "${duration}s" --quiet --json "$1" >/dev/null 2>&1 || true
	python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["sub_msgs_per_sec"]))' "$1"
}

echo "kind,rep,alone_msgs_s,stalled_msgs_s,ratio,peak_rss_mib" >"$out/isolation.csv"
for rep in $(seq "$reps"); do
	for kind in ringbus nats-server; do
		start_server "$kind"
		alone=$(healthy_rate "$out/$kind-alone-$rep.json")
		# stdin a pipe that stays open (epoll refuses /dev/null: the holder
		# would exit at once and nothing would be stalled); SIGTERM ends it.
		python3 "$top/bench/lib/holders.py" stalled --port "$port" --subject load.0 \
			< <(sleep 600) >"$out/$kind-stalled-$rep.txt" 2>&1 &
		holder=$!
		sleep 1
		stalled=$(healthy_rate "$out/$kind-stalled-$rep.json")
		kill "$holder" 2>/dev/null || true
		wait "$holder" 2>/dev/null || true
		rss=$(hwm_mib "$pid")
		stop_server
		ratio=$(python3 -c "print(round($stalled / $alone, 3) if $alone else 0)")
		echo "$kind,$rep,$alone,$stalled,$ratio,$rss" | tee -a "$out/isolation.csv"
	done
done

printf 'ringbus { admission { policies { ovl {\n  subjects: "ovl.>", subscriber: defer,\n  subscriber_high: 1MB, defer_max: "60s"\n} } } }\n' \
	>"$out/overload.conf"
for kind in ringbus nats-server; do
	if [ "$kind" = ringbus ]; then start_server ringbus -c "$out/overload.conf"; else start_server nats-server; fi
	python3 "$top/bench/overload.py" --port "$port" --pid "$pid" --duration 20 \
		--json "$out/overload-$kind.json" | sed "s/^/$kind: /" | tee -a "$out/overload.txt" || true
	stop_server
done
echo "results in $out"
