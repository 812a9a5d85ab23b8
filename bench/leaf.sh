#!/usr/bin/env bash
# Leaf nodes, side by side (issue 17). A nats-server hub on loopback whose
# own client holds 10,000 subscriptions (hub.sub.0 .. hub.sub.9999), so every
# leaf of it learns 10,000 remote subscriptions.
#  local    1->1 16 B on a ringbus leaf joined to that hub, against the same
#           ringbus alone (no leafnodes): what the hub's interest costs local
#           traffic (goal: at least 0.9)
#  cross    a publisher on the leaf, its subscriber on the hub (the load
#           tool's --sub-url), 16 B and 1 KiB: a ringbus leaf against a
#           nats-server leaf of the same hub (goal: at least 2x)
# Both client profiles (ringbus-load, ringbus-load-blocking); the kinds in
# turn in every repetition; medians and per-repetition ratios. Every run is
# bounded (the tool under `timeout`); the servers are stopped at the end.
# With --hub ringbus the hub is a ringbus (leafnodes { listen }) in place of
# nats-server: the same two leaves side by side, into a hub that is not the
# limit. Usage: bench/leaf.sh [--build DIR] [--reps N] [--duration S]
# [--out DIR] [--hub nats-server|ringbus]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=5
duration=3
hub=nats-server
out=$(mktemp -d /tmp/ringbus-leaf-XXXXXX)
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--hub) hub=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "leaf.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
ringbus=$build/router/ringbus
nats=$(command -v nats-server)
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

. "$top/bench/lib/ports.sh"

# the hub, and its client holding 10,000 subscriptions
hub_port=$(free_port); hub_leaf=$(free_port)
printf 'leafnodes { listen: "127.0.0.1:%s" }\n' "$hub_leaf" >"$out/hub.conf"
case $hub in
nats-server) "$nats" -a 127.0.0.1 -p "$hub_port" -c "$out/hub.conf" >"$out/hub.log" 2>&1 & ;;
ringbus) "$ringbus" -a 127.0.0.1 -p "$hub_port" -c "$out/hub.conf" >"$out/hub.log" 2>&1 & ;;
*) echo "leaf.sh: --hub nats-server or ringbus" >&2; exit 2 ;;
esac
pids+=($!)
wait_port "$hub_port"
python3 - "$hub_port" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(4096)
s.sendall(b'CONNECT {"verbose":false}\r\n' + b"".join(b"SUB hub.sub.%d %d\r\n" % (i, i) for i in range(10000)))
s.settimeout(1)
end = time.time() + 3600
while time.time() < end:
    try:
        d = s.recv(65536)
        if not d:
            break
        if b"PING" in d:
            s.sendall(b"PONG\r\n")
    except socket.timeout:
        pass
EOF
pids+=($!)

# A server of @kind (r, n, or a: ringbus alone) on free ports; echo its port.
start_node() {
	local kind=$1 port mport conf
	port=$(free_port); mport=$(free_port); conf=$out/node-$port.conf
	: >"$conf"
	[ "$kind" != a ] && printf 'leafnodes { remotes = [ { url: "nats-leaf://127.0.0.1:%s" } ] }\n' "$hub_leaf" >"$conf"
	printf 'http: "127.0.0.1:%s"\n' "$mport" >>"$conf"
	if [ "$kind" = n ]; then "$nats" -a 127.0.0.1 -p "$port" -c "$conf" >"$out/node-$port.log" 2>&1 &
	else "$ringbus" -a 127.0.0.1 -p "$port" -c "$conf" >"$out/node-$port.log" 2>&1 & fi
	node_pid=$!
	wait_port "$port"
	# a leaf: until it holds the hub's 10,000 subscriptions
	if [ "$kind" != a ]; then
		for _ in $(seq 200); do
			n=$(curl -s "127.0.0.1:$mport/leafz" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(l.get("subscriptions",0) for l in d.get("leafs",[])))' 2>/dev/null || echo 0)
			[ "$n" -ge 10000 ] && break
			sleep 0.1
		done
	fi
	node_port=$port
}

# run NAME KIND PROFILE SIZE [SUB_URL]: one measurement, its delivered msg/s
run() {
	local name=$1 kind=$2 prof=$3 size=$4 sub=${5:-} tool json
	start_node "$kind"
	tool=$build/tools/ringbus-load; [ "$prof" = blocking ] && tool=$build/tools/ringbus-load-blocking
	json=$out/$name-$kind-$prof-$size-$rep.json
	local args=(--url "nats://127.0.0.1:$node_port" --duration "${duration}s" --warmup 1s --size "$size" --json "$json")
	[ -n "$sub" ] && args+=(--sub-url "$sub")
	if [ "$prof" = load ]; then timeout 60 "$tool" pubsub "${args[@]}" >/dev/null 2>&1 || true
	else timeout 60 "$tool" "${args[@]}" >/dev/null 2>&1 || true; fi
	kill -INT "$node_pid"; wait "$node_pid" 2>/dev/null || true
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["sub_msgs_per_sec"], d["lost"]+d["duplicated"]+d["out_of_order"])' "$json" \
		>>"$out/$name-$kind-$prof-$size.txt" 2>/dev/null || echo "0 -1" >>"$out/$name-$kind-$prof-$size.txt"
}

for rep in $(seq "$reps"); do
	for prof in load blocking; do
		run local r "$prof" 16; run local a "$prof" 16
		for size in 16 1024; do
			run cross r "$prof" "$size" "nats://127.0.0.1:$hub_port"
			run cross n "$prof" "$size" "nats://127.0.0.1:$hub_port"
		done
	done
	echo "leaf.sh: repetition $rep of $reps done" >&2
done

python3 - "$out" <<'EOF'
import glob, os, statistics, sys
out = sys.argv[1]
def vals(name):
    p = os.path.join(out, name + ".txt")
    rows = [l.split() for l in open(p)] if os.path.exists(p) else []
    return [float(r[0]) for r in rows], sum(int(r[1]) != 0 for r in rows)
def line(title, a, b, goal):
    va, fa = vals(a); vb, fb = vals(b)
    ratios = [x / y for x, y in zip(va, vb) if y > 0]
    med = statistics.median
    spread = lambda v: (max(v) - min(v)) / med(v) if v and med(v) else 0
    print(f"| {title} | {med(va)/1e6:.2f}M ({spread(va):.0%}) | {med(vb)/1e6:.2f}M ({spread(vb):.0%}) | "
          f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {goal} | {fa + fb} |")
print("| scenario | ringbus msg/s (spread) | other msg/s (spread) | ratio, median of per-repetition (min-max) | goal | runs with loss, duplicates or disorder |")
print("|---|---:|---:|---:|---:|---:|")
for prof in ("load", "blocking"):
    line(f"local 1->1 16 B on a leaf with 10,000 hub subscriptions vs alone, {prof}", f"local-r-{prof}-16", f"local-a-{prof}-16", ">= 0.9")
    for size in (16, 1024):
        line(f"leaf -> hub {size} B, ringbus leaf vs nats-server leaf, {prof}", f"cross-r-{prof}-{size}", f"cross-n-{prof}-{size}", ">= 2")
print(f"\nleaf.sh: runs in {out}", file=sys.stderr)
EOF
