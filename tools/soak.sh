#!/usr/bin/env bash
# Soak test (on demand, not in CI): runs a release ringbus under mixed traffic
# from ringbus-load for a while, samples its memory, descriptors and the
# traffic's latency every interval into a CSV, and says at the end whether
# anything drifted or was lost. See docs/HARDENING.md.
#
#   tools/soak.sh [--duration 10m] [--interval 10s] [--build build/release]
#                 [--out DIR] [--server PATH]
#
# --server runs another NATS server binary instead of the build's ringbus
# (e.g. nats-server, as a control for the load generator and the machine).
#
# Traffic, all at once, each workload in back-to-back runs of one interval
# (so that every sample has fresh latency figures):
#   fanout    pubsub, 2 publishers -> 8 subscribers on 2 subjects, open loop 10k msg/s
#   reqrep    4 requesters, 2 responders (queue group), open loop 2k req/s
#   subjects  pubsub over 1,000 subjects, 2 publishers, 4 subscribers, 5k msg/s
#   churn     short pubsub runs of 10 + 10 connections, 2,000 messages each,
#             one after the other (connections open and close all the time)
# Exit status: 0 nothing drifted and nothing was lost, 1 otherwise, 2 usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
duration=10m
interval=10s
build="$top/build/release"
out=""
server=""

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--duration) duration=${2:?}; shift 2 ;;
	--interval) interval=${2:?}; shift 2 ;;
	--build) build=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--server) server=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "soak: unknown argument $1" >&2; usage ;;
	esac
done

# Seconds of "90", "90s", "2m", "1h".
seconds() {
	case "$1" in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
total=$(seconds "$duration")
step=$(seconds "$interval")
if ! [[ "$total" =~ ^[0-9]+$ && "$step" =~ ^[0-9]+$ ]] || [ "$step" -lt 1 ] || [ "$total" -lt "$step" ]; then
	echo "soak: bad --duration or --interval" >&2
	exit 2
fi

ringbus="$build/router/ringbus"
load="$build/tools/ringbus-load"
server_args=(--no-pin)
stop_signal=TERM
if [ -n "$server" ]; then
	ringbus=$(command -v "$server" || echo "$server")
	if [ "$(basename "$ringbus")" = nats-server ]; then
		server_args=()
		stop_signal=INT # nats-server exits 1 on SIGTERM
	fi
fi
for bin in "$ringbus" "$load"; do
	if [ ! -x "$bin" ]; then
		echo "soak: $bin is missing: cmake --workflow --preset release (or --build DIR)" >&2
		exit 2
	fi
done
if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/ringbus-soak.XXXXXX)
fi
mkdir -p "$out/runs"
csv="$out/samples.csv"

. "$top/bench/lib/ports.sh"
port=$(free_port)
url="nats://127.0.0.1:$port"
"$ringbus" -a 127.0.0.1 -p "$port" "${server_args[@]}" >"$out/ringbus.log" 2>&1 &
rb_pid=$!
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	kill "$rb_pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.1
done
if ! kill -0 "$rb_pid" 2>/dev/null; then
	echo "soak: ringbus did not start; its log:" >&2
	cat "$out/ringbus.log" >&2
	exit 1
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$rb_pid/status"; }
fd_count() { ls "/proc/$rb_pid/fd" | wc -l; }
now() { date +%s; }

start=$(now)
end=$((start + total))
fd_base=$(fd_count)
rss_base=$(rss_kib)

# Runs one workload in back-to-back runs of one interval until the end.
# Each run leaves runs/<name>-<n>.json and a line "<n> <exit status>" in
# runs/<name>.status. Each run has subjects of its own (<name>-<n>.*): a
# queue group shared with the previous run would hand some requests to its
# responders, whose close the server may not have seen yet (at most once, on
# any NATS server).
workload() {
	local name=$1
	shift
	local n=0
	while [ "$(now)" -lt "$end" ]; do
		local left=$((end - $(now)))
		local d=$((left < step ? left : step))
		[ "$d" -ge 1 ] || break
		local rc=0
		"$load" "$@" --url "$url" --duration "${d}s" --quiet --drain 5s --subject-prefix "$name-$n" \
			--json "$out/runs/$name-$n.json.tmp" >>"$out/runs/$name.log" 2>&1 || rc=$?
		mv -f "$out/runs/$name-$n.json.tmp" "$out/runs/$name-$n.json" 2>/dev/null || true
		echo "$n $rc" >>"$out/runs/$name.status"
		n=$((n + 1))
	done
}

# Short runs, one after the other: connections come and go all the time.
churn() {
	local n=0
	while [ "$(now)" -lt "$end" ]; do
		local rc=0
		"$load" pubsub --url "$url" --pubs 10 --subs 10 --subjects 10 --msgs 2000 \
			--rate 20k --subject-prefix "churn-$n" --quiet --drain 5s \
			--json "$out/runs/churn-last.json" >>"$out/runs/churn.log" 2>&1 || rc=$?
		echo "$n $rc" >>"$out/runs/churn.status"
		[ "$rc" -eq 0 ] || cp "$out/runs/churn-last.json" "$out/runs/churn-$n.json" 2>/dev/null || true
		n=$((n + 1))
	done
}

workload fanout pubsub --pubs 2 --subs 8 --subjects 2 --rate 10k &
pids+=($!)
workload reqrep reqrep --clients 4 --responders 2 --rate 2k &
pids+=($!)
workload subjects pubsub --pubs 2 --subs 4 --subjects 1000 --rate 5k &
pids+=($!)
churn &
pids+=($!)

# The latest finished run of a workload: "p50,p99" in microseconds, or ",".
latest_latency() {
	local f
	f=$(ls -t "$out/runs/$1"-*.json 2>/dev/null | head -n 1 || true)
	if [ -z "$f" ]; then
		echo ","
		return
	fi
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); l = d.get("latency_us") or {}
print("%s,%s" % (l.get("p50", ""), l.get("p99", "")))' "$f" 2>/dev/null || echo ","
}

echo "t_s,rss_kib,fds,fanout_p50_us,fanout_p99_us,reqrep_p50_us,reqrep_p99_us,subjects_p50_us,subjects_p99_us,churn_runs" >"$csv"
echo "soak: ringbus pid $rb_pid on $url for ${total}s, sampling every ${step}s into $csv"
echo "soak: at rest: RSS $rss_base KiB, $fd_base descriptors"
while [ "$(now)" -lt "$end" ]; do
	sleep "$step"
	if ! kill -0 "$rb_pid" 2>/dev/null; then
		echo "soak: ringbus exited during the run; its log:" >&2
		tail -n 40 "$out/ringbus.log" >&2
		exit 1
	fi
	churn_runs=$(wc -l <"$out/runs/churn.status" 2>/dev/null || echo 0)
	line="$(($(now) - start)),$(rss_kib),$(fd_count),$(latest_latency fanout),$(latest_latency reqrep),$(latest_latency subjects),$churn_runs"
	echo "$line" >>"$csv"
	echo "soak: $line"
done

for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
# Let the server close what the last runs left, then look again.
sleep 5
fd_end=$(fd_count)
rss_end=$(rss_kib)
kill -"$stop_signal" "$rb_pid"
rb_status=0
wait "$rb_pid" || rb_status=$?
trap - EXIT

python3 - "$out" "$fd_base" "$fd_end" "$rss_base" "$rss_end" "$rb_status" <<'EOF'
import csv, glob, json, os, statistics, sys

out, fd_base, fd_end, rss_base, rss_end, rb_status = sys.argv[1], *map(int, sys.argv[2:])
rows = list(csv.DictReader(open(os.path.join(out, "samples.csv"))))
problems, notes = [], []

def num(row, key):
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        return None

# Memory: growth after the first minute (start-up and pools fill before).
t_end = int(rows[-1]["t_s"]) if rows else 0
warm = [r for r in rows if int(r["t_s"]) >= 60] or rows
if warm:
    first, last = num(warm[0], "rss_kib"), num(rows[-1], "rss_kib")
    peak = max(num(r, "rss_kib") for r in warm)
    growth = last - first
    print(f"RSS: {rss_base} KiB at rest, {first:.0f} KiB at {warm[0]['t_s']} s, "
          f"{last:.0f} KiB at {t_end} s (peak {peak:.0f}), growth after the first "
          f"minute {growth:+.0f} KiB ({100 * growth / first:+.1f}%)")
    if growth > max(0.10 * first, 16 * 1024):
        problems.append(f"RSS grew by {growth:.0f} KiB after the first minute")
print(f"descriptors: {fd_base} at rest, {fd_end} after the load stopped")
if fd_end > fd_base + 2:
    problems.append(f"{fd_end - fd_base} descriptors more than at rest after the load stopped")
if rb_status != 0:
    problems.append(f"ringbus exited with status {rb_status} on SIGTERM")

# Latency: p99 of the last minute against the second minute (medians of samples).
for name in ("fanout", "reqrep", "subjects"):
    second = [num(r, f"{name}_p99_us") for r in rows if 60 < int(r["t_s"]) <= 120]
    lastm = [num(r, f"{name}_p99_us") for r in rows if int(r["t_s"]) > t_end - 60]
    second = [v for v in second if v is not None]
    lastm = [v for v in lastm if v is not None]
    if second and lastm:
        a, b = statistics.median(second), statistics.median(lastm)
        print(f"{name}: p99 {a / 1000:.2f} ms in the second minute, {b / 1000:.2f} ms in the last")
        if b > 2 * a and b - a > 1000:
            problems.append(f"{name}: p99 of the last minute is {b / a:.1f}x the second minute's")

# Loss: every run's counts and exit status.
for name in ("fanout", "reqrep", "subjects", "churn"):
    runs = failed = slow = 0
    try:
        for line in open(os.path.join(out, "runs", name + ".status")):
            n, rc = line.split()
            runs += 1
            if rc == "3":
                slow += 1  # the rate was not reached: the machine was busy
            elif rc != "0":
                failed += 1
    except FileNotFoundError:
        pass
    lost = dup = sent = delivered = 0
    for f in glob.glob(os.path.join(out, "runs", name + "-*.json")):
        d = json.load(open(f))
        lost += d.get("lost") or 0
        dup += d.get("duplicated") or 0
        sent += d.get("sent") or 0
        delivered += d.get("delivered") or 0
    extra = f", {sent} sent, {delivered} delivered" if name != "churn" else ""
    print(f"{name}: {runs} runs, {failed} failed, {slow} below their target rate, "
          f"lost {lost}, duplicated {dup}{extra}")
    if failed or lost or dup:
        problems.append(f"{name}: {failed} failed runs, {lost} lost, {dup} duplicated "
                        f"(see {out}/runs/{name}.log)")
    if slow:
        notes.append(f"{name}: {slow} runs did not reach their rate (a busy machine)")

for n in notes:
    print("note:", n)
if problems:
    print("DRIFT OR LOSS:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"no drift, nothing lost ({out})")
EOF
