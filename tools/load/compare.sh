#!/usr/bin/env bash
# Runs ringbus-load and ringbus-load-blocking (a plain blocking-socket client)
# against nats-server doing the same pub/sub work, and prints both rates,
# their ratio and the CPU time each spent per message (getrusage).
# Needs jq and python3.
# usage: tools/load/compare.sh [BUILD_DIR] (default build/release)
set -euo pipefail
build=${1:-build/release}
load=$build/tools/ringbus-load
blocking=$build/tools/ringbus-load-blocking
for b in "$load" "$blocking"; do
	[ -x "$b" ] || { echo "compare.sh: $b not built" >&2; exit 2; }
done
command -v nats-server >/dev/null || { echo "compare.sh: nats-server not installed" >&2; exit 77; }

. "$(dirname "$0")/../../bench/lib/ports.sh"
port=$(free_port)
nats-server -a 127.0.0.1 -p "$port" >/dev/null 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
url=nats://127.0.0.1:$port
json=$(mktemp)

reps=${RINGBUS_COMPARE_REPS:-3}

# one scenario: name, then the flags both tools take; the two tools run
# alternately $reps times and the medians are compared
run() {
	local name=$1
	shift
	local lines=()
	for _ in $(seq "$reps"); do
		"$load" pubsub --url "$url" "$@" --quiet --json "$json" >/dev/null || true
		lines+=("$(jq -c '{r: .sub_msgs_per_sec, c: .cpu.us_per_msg}' "$json")")
		"$blocking" --url "$url" "$@" --quiet --json "$json" >/dev/null || true
		lines+=("$(jq -c '{r: .sub_msgs_per_sec, c: .cpu.us_per_msg}' "$json")")
	done
	python3 - "$name" "${lines[@]}" <<'PY'
import json, statistics, sys
name, rows = sys.argv[1], sys.argv[2:]
lr = [json.loads(r)["r"] for r in rows[0::2]]
lc = [json.loads(r)["c"] for r in rows[0::2]]
br = [json.loads(r)["r"] for r in rows[1::2]]
bc = [json.loads(r)["c"] for r in rows[1::2]]
m = statistics.median
print(f"{name:34s} ringbus-load {m(lr):12,.0f} msg/s {m(lc):7.3f} us cpu/msg | "
      f"blocking {m(br):12,.0f} msg/s {m(bc):7.3f} us cpu/msg | rate ratio {m(lr) / m(br):5.2f} "
      f"cpu ratio {m(lc) / m(bc):5.2f}")
PY
}

echo "nats-server $(nats-server --version | awk '{print $2}') on $url; medians of $reps alternating runs:"
echo "delivered msg/s and CPU time per message handled (sent + delivered)"
run "closed loop, 1 pub 1 sub, 128 B"  --pubs 1 --subs 1 --msgs 2000000 --size 128
run "closed loop, 2 pubs 4 subs, 128 B" --pubs 2 --subs 4 --msgs 1000000 --size 128
run "fixed 100k msg/s, 1 pub 1 sub"    --pubs 1 --subs 1 --msgs 300000 --size 128 --rate 100000
run "fixed 200k msg/s, 4 pubs 4 subs"  --pubs 4 --subs 4 --msgs 400000 --size 128 --rate 200000
rm -f "$json"
