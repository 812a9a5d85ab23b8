#!/usr/bin/env bash
# Throughput across NATS routes, side by side (issue 16): clusters of ringbus
# and nats-server nodes on loopback, a publisher on node 0, subscribers on
# the other nodes (the load tools' --sub-url), closed loop:
#  pair_16, pair_1k  1 publisher on node 0 -> 1 subscriber on node 1, 16 B
#                    and 1 KiB; pairs rr, nn, rn, nr (r: ringbus, n:
#                    nats-server; first letter node 0, the publisher's);
#  fan3_16, fan3_1k  3-node cluster, 1 publisher on node 0, one subscriber on
#                    each of nodes 0, 1, 2; rrr and nnn.
# Each run starts fresh nodes on free loopback ports (node i dials every
# node before it), runs ringbus-load pubsub or ringbus-load-blocking (both
# check loss, duplicates and order; they probe until the subscribers'
# interest has crossed before anything is counted), reads the nodes' CPU from
# /proc/<pid>/stat around it, and stops the nodes. Every repetition runs every
# scenario and client with the kinds in turn, the order reversed every other
# repetition. Prints medians, spread and ratios (ringbus / nats-server) and
# writes runs.csv, summary.md, each run's JSON and the nodes' logs to --out.
# Usage: bench/cluster.sh [--build DIR] [--reps N] [--out DIR] [--duration S]
#          [--warmup S] [--profiles load,blocking] [--only SCENARIO[,...]]
#          [--kinds rr,nn,...] [--ringbus-args 'ARGS']
#        bench/cluster.sh --summary DIR   (the tables of an earlier run again)
# Every run is bounded (the tool under `timeout`, nodes killed 5 s after
# SIGINT); about 5 s per run, 24 runs per repetition.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=5
duration=3
warmup=1
profiles=load,blocking
only=
only_kinds=
ringbus_args=
summary_only=
out=$top/bench/out/cluster-$(date -u +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--profiles) profiles=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--kinds) only_kinds=$2; shift 2 ;;
	--ringbus-args) ringbus_args=$2; shift 2 ;;
	--summary) summary_only=$2; shift 2 ;;
	-h|--help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
# summarize DIR: the tables of DIR/runs.csv into DIR/summary.md
summarize() {
	python3 - "$1/runs.csv" "$1/meta.txt" <<'PY' | tee "$1/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("".join("    " + l for l in open(sys.argv[2])))
label = {"pair_16": "1->1 across a route, 16 B", "pair_1k": "1->1 across a route, 1 KiB",
         "fan3_16": "3-node fan-out, 16 B", "fan3_1k": "3-node fan-out, 1 KiB"}
groups = {}
for r in rows:
    groups.setdefault((r["scenario"], r["profile"], r["kinds"]), []).append(r)

def num(rs, f):
    return [float(r[f]) for r in rs if r[f] not in ("", "None")]

def med(v):
    return statistics.median(v) if v else float("nan")

def rate(v):
    if v != v:
        return "n/a"
    return "%.2fM" % (v / 1e6) if v >= 1e6 else "%.0fk" % (v / 1e3)

def paired(scen, prof, a, b, field):
    """a/b of @field within each repetition (the two ran minutes apart at
    most, in turn): median and min-max of those ratios."""
    ra = {r["rep"]: float(r[field]) for r in groups.get((scen, prof, a), []) if r[field]}
    rb = {r["rep"]: float(r[field]) for r in groups.get((scen, prof, b), []) if r[field]}
    q = [ra[k] / rb[k] for k in ra if k in rb and rb[k]]
    return (med(q), min(q), max(q)) if q else (float("nan"),) * 3

print("Medians over the repetitions; spread = (max - min) / median; ratios to the all-nats-server "
      "cluster of the same scenario and client, taken per repetition (the two ran in turn), "
      "median (min-max); node CPU = utime + stime of every node over the run, per delivered "
      "message.\n")
print("| scenario | client | nodes | runs | delivered msg/s, median (min-max) | spread | "
      "msg/s ratio to n..n | node CPU us/msg | CPU ratio to n..n | "
      "lost / dup / out of order / closed | others' CPU (cores) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
faults = 0
for (scen, prof, k), rs in groups.items():
    v = num(rs, "msgs_per_s")
    base = "n" * len(k)
    bad = [r for r in rs if r["exit"] != "0" or r["nodes_alive"] != "1"]
    f = [sum(int(float(r[x] or 0)) for r in rs)
         for x in ("lost", "duplicated", "out_of_order", "closed")]
    faults += sum(f) + len(bad)
    spread = (max(v) - min(v)) / med(v) if v else float("nan")
    if k == base:
        ratio = cpu_ratio = "1"
    else:
        q = paired(scen, prof, k, base, "msgs_per_s")
        c = paired(scen, prof, k, base, "node_cpu_us_per_msg")
        ratio = "%.2f (%.2f-%.2f)" % q
        cpu_ratio = "%.2f (%.2f-%.2f)" % c
    print("| %s | %s | %s | %d%s | %s (%s-%s) | %.0f%% | %s | %.3f | %s | %s | %.2f |" % (
        label.get(scen, scen), prof, k, len(v),
        "" if not bad else " (%d failed: exit %s)" % (len(bad), ",".join(r["exit"] for r in bad)),
        rate(med(v)), rate(min(v) if v else float("nan")), rate(max(v) if v else float("nan")),
        100 * spread, ratio, med(num(rs, "node_cpu_us_per_msg")), cpu_ratio,
        " / ".join(str(x) for x in f), med(num(rs, "others_cores"))))
print()
print("Goal: ringbus-only at least 2x the nats-server-only cluster. Per scenario and client: "
      "ratio of the medians; the median of the per-repetition ratios (min-max); worst "
      "ringbus run / best nats-server run:\n")
for scen in dict.fromkeys(r["scenario"] for r in rows):
    for prof in dict.fromkeys(r["profile"] for r in rows):
        n = next((len(k) for (s, p, k) in groups if s == scen and p == prof), 0)
        r = num(groups.get((scen, prof, "r" * n), []), "msgs_per_s")
        s = num(groups.get((scen, prof, "n" * n), []), "msgs_per_s")
        if r and s:
            q = paired(scen, prof, "r" * n, "n" * n, "msgs_per_s")
            print("- %s, %s, %s/%s: %.2fx; per repetition %.2fx (%.2f-%.2f); worst/best %.2fx%s"
                  % (label.get(scen, scen), prof, "r" * n, "n" * n, med(r) / med(s), q[0],
                     q[1], q[2], min(r) / max(s), "" if q[0] >= 2 else "  (below 2x)"))
print()
print("Faults over all runs (lost, duplicated, out of order, closed, failed runs): %d" % faults)
PY
}

if [ -n "$summary_only" ]; then
	summarize "$summary_only"
	exit 0
fi
ringbus=$build/router/ringbus
load=$build/tools/ringbus-load
blocking=$build/tools/ringbus-load-blocking
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
for b in "$ringbus" "$load" "$blocking" "$nats"; do
	[ -x "$b" ] || { echo "cluster.sh: missing $b (build the release preset)" >&2; exit 1; }
done
mkdir -p "$out/runs" "$out/logs"
clk_tck=$(getconf CLK_TCK)
# the load tool's bound: warm-up, duration, probing (10 s), drain (5 s) and slack
limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN {printf "%d", d + w + 40}')

# Scenarios: id, node kinds per pair (the first letter is node 0), payload,
# subscribers (subscriber s on node (s mod n) with n = subscribers > 1, else
# node 1).
scenarios=(pair_16 pair_1k fan3_16 fan3_1k)
declare -A kinds=([pair_16]="rr nn rn nr" [pair_1k]="rr nn rn nr" [fan3_16]="rrr nnn"
	[fan3_1k]="rrr nnn")
declare -A size=([pair_16]=16 [pair_1k]=1024 [fan3_16]=16 [fan3_1k]=1024)

pids=()
stop_nodes() {
	local p
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}
trap stop_nodes EXIT

. "$top/bench/lib/ports.sh" # free_ports N

# cpu_ticks PID: utime + stime (fields 14 and 15 of /proc/PID/stat)
cpu_ticks() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	stat=${stat##*) }
	set -- $stat
	echo $((${12} + ${13}))
}

# busy_ticks: CPU ticks every core spent busy since boot (not idle, iowait)
busy_ticks() {
	local cpu user nice sys idle iow irq sirq steal rest
	read -r cpu user nice sys idle iow irq sirq steal rest </proc/stat
	echo $((user + nice + sys + irq + sirq + steal))
}

# listening PORT: true when a socket listens on 127.0.0.1:PORT (read from
# /proc/net/tcp, so the server sees no connection)
listening() {
	grep -q "^ *[0-9]*: 0100007F:$(printf %04X "$1") 00000000:0000 0A" /proc/net/tcp
}

# start_cluster TAG KINDS: starts one node per letter of KINDS in turn, each
# once the one before listens for clients and routes (so its routes connect
# at the first try); sets pids, ports (client) and cports (cluster). Node i
# dials every node before it.
start_cluster() {
	local tag=$1 k=$2 n=${#2} i j all
	read -r -a all <<<"$(free_ports $((2 * n)))"
	ports=("${all[@]:0:n}")
	cports=("${all[@]:n}")
	for ((i = 0; i < n; i++)); do
		local routes="" name="${k:i:1}$i"
		for ((j = 0; j < i; j++)); do
			routes+="${routes:+,}nats://127.0.0.1:${cports[j]}"
		done
		local args=(-a 127.0.0.1 -p "${ports[i]}" --cluster "nats://127.0.0.1:${cports[i]}"
			--cluster_name bench -n "$name")
		[ -n "$routes" ] && args+=(--routes "$routes")
		if [ "${k:i:1}" = r ]; then
			# shellcheck disable=SC2086
			"$ringbus" "${args[@]}" $ringbus_args >"$out/logs/$tag.$name.log" 2>&1 &
		else
			"$nats" "${args[@]}" >"$out/logs/$tag.$name.log" 2>&1 &
		fi
		pids+=($!)
		local up=
		for _ in $(seq 200); do
			if listening "${ports[i]}" && listening "${cports[i]}"; then up=1; break; fi
			sleep 0.05
		done
		[ -n "$up" ] || { echo "cluster.sh: node $i of $k did not start (see $out/logs/$tag.*)" >&2; return 1; }
	done
}

# run SCENARIO PROFILE KINDS REP: one measured run, one CSV line
run() {
	local scen=$1 prof=$2 k=$3 rep=$4
	local tag=$scen.$prof.$k.$rep n=${#3} subs=1 i
	[ "${scen#fan}" != "$scen" ] && subs=$n
	local json=$out/runs/$tag.json
	rm -f "$json"
	if ! start_cluster "$tag" "$k"; then
		stop_nodes
		echo "$scen,$prof,$k,$rep,start_failed,,,,,,,,,,,," >>"$out/runs.csv"
		return
	fi
	local sub_url="nats://127.0.0.1:${ports[1]}"
	if [ "$subs" -gt 1 ]; then
		sub_url=
		for ((i = 0; i < n; i++)); do sub_url+="${sub_url:+,}nats://127.0.0.1:${ports[i]}"; done
	fi
	local common=(--url "nats://127.0.0.1:${ports[0]}" --sub-url "$sub_url" --pubs 1
		--subs "$subs" --size "${size[$scen]}" --duration "${duration}s"
		--warmup "${warmup}s" --drain 5s --connect-timeout 10s --json "$json" --quiet)
	local cmd=("$load" pubsub "${common[@]}")
	[ "$prof" = blocking ] && cmd=("$blocking" "${common[@]}")
	local c0=() b0 b1 t0 t1 rc=0
	for ((i = 0; i < n; i++)); do c0+=("$(cpu_ticks "${pids[i]}")"); done
	b0=$(busy_ticks)
	t0=$(date +%s.%N)
	timeout "$limit" "${cmd[@]}" >"$out/logs/$tag.load.txt" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	b1=$(busy_ticks)
	local cpu=()
	for ((i = 0; i < n; i++)); do
		cpu+=("$(($(cpu_ticks "${pids[i]}") - c0[i]))")
	done
	local alive=1
	for ((i = 0; i < n; i++)); do kill -0 "${pids[i]}" 2>/dev/null || alive=0; done
	stop_nodes
	echo "${cmd[*]}" >"$out/logs/$tag.cmd"
	python3 - "$json" "$scen" "$prof" "$k" "$rep" "$rc" "$alive" "$clk_tck" "$t0" "$t1" \
		"$b0" "$b1" "${cpu[*]}" >>"$out/runs.csv" <<'PY'
import json, sys
(path, scen, prof, kinds, rep, rc, alive, tck, t0, t1, b0, b1, cpu) = sys.argv[1:]
tck = int(tck)
wall = float(t1) - float(t0)
cpu = [int(c) / tck for c in cpu.split()]
try:
    j = json.load(open(path))
except Exception:
    j = {}
d = j.get("delivered") or 0
tool = (j.get("cpu") or {})
tool_s = (tool.get("user_s") or 0) + (tool.get("sys_s") or 0)
others = max(0.0, (int(b1) - int(b0)) / tck - sum(cpu) - tool_s) / wall if wall > 0 else 0
rate = j.get("sub_msgs_per_sec")
print(",".join(str(x) for x in [
    scen, prof, kinds, rep, rc, alive, round(rate) if rate else "",
    d, j.get("expected", ""), j.get("lost", ""), j.get("duplicated", ""),
    j.get("out_of_order", ""), j.get("closed_by_server", 0), j.get("stalled", ""),
    round(sum(cpu) / d * 1e6, 4) if d else "", "/".join("%.2f" % c for c in cpu),
    round(others, 2), round(j.get("interest_wait_s") or 0, 3)]))
PY
	tail -n 1 "$out/runs.csv"
}

echo "scenario,profile,kinds,rep,exit,nodes_alive,msgs_per_s,delivered,expected,lost,duplicated,out_of_order,closed,stalled,node_cpu_us_per_msg,node_cpu_s,others_cores,interest_wait_s" \
	>"$out/runs.csv"
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "command: bench/cluster.sh --reps $reps --duration $duration --warmup $warmup --profiles $profiles${only:+ --only $only}${only_kinds:+ --kinds $only_kinds}${ringbus_args:+ --ringbus-args '$ringbus_args'} --out $out"
	echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"
	echo "ringbus --version: $("$ringbus" --version 2>&1 | head -1) (git $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo ?), $ringbus)"
	echo "nats-server --version: $("$nats" --version 2>&1 | head -1) ($nats)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/meta.txt"
cat "$out/meta.txt"
IFS=, read -r -a profs <<<"$profiles"
for rep in $(seq "$reps"); do
	for scen in "${scenarios[@]}"; do
		[ -z "$only" ] || [[ ",$only," == *",$scen,"* ]] || continue
		read -r -a ks <<<"${kinds[$scen]}"
		if [ $((rep % 2)) -eq 0 ]; then
			for ((i = 0, j = ${#ks[@]} - 1; i < j; i++, j--)); do
				t=${ks[i]}; ks[i]=${ks[j]}; ks[j]=$t
			done
		fi
		for prof in "${profs[@]}"; do
			for k in "${ks[@]}"; do
				[ -z "$only_kinds" ] || [[ ",$only_kinds," == *",$k,"* ]] || continue
				run "$scen" "$prof" "$k" "$rep"
			done
		done
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.txt"
summarize "$out"
echo "cluster.sh: results in $out"
