#!/usr/bin/env bash
# What authorization costs (issue 15), side by side. Two configurations of
# each server, on loopback:
#  open   no authorization at all
#  auth   100 users in 3 accounts (A, B, C), each user with 10 allow rules
#         for publish and 10 for subscribe; A exports a stream that B and C
#         import (so A's publishes are checked against import rules)
# The load runs as a user of A whose last rule allows its subjects:
# 1->1 16 B, with both client profiles (ringbus-load, ringbus-load-blocking).
# Reported: ringbus auth / ringbus open (goal: at least 0.9) and ringbus auth
# / nats-server auth (goal: at least 2), medians of per-repetition ratios;
# and the server's CPU time per delivered message (user + system, from
# /proc, over the whole life of the server process), which moves less than
# the rate on a shared 2-core machine. The kinds run in turn in every
# repetition. Every run is bounded (the tool
# under `timeout`); the servers are stopped at the end.
# Usage: bench/accounts.sh [--build DIR] [--reps N] [--duration S] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/release
reps=5
duration=3
out=$(mktemp -d /tmp/ringbus-accounts-XXXXXX)
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "accounts.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
ringbus=$build/router/ringbus
nats=$(command -v nats-server)
mkdir -p "$out"
node_pid=
cleanup() { [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

. "$top/bench/lib/ports.sh"

# The authorization configuration: users u0..u99, u(3k+j) in account j.
python3 - "$out/auth.conf" <<'EOF'
import sys
accs = {"A": [], "B": [], "C": []}
for u in range(100):
    rules = ", ".join(f'"r{u}.{k}.>"' for k in range(9)) + ', "load.>"'
    perm = f"permissions: {{publish: [{rules}], subscribe: [{rules}, \"_INBOX.>\"]}}"
    accs["ABC"[u % 3]].append(f"{{user: u{u}, password: p{u}, {perm}}}")
with open(sys.argv[1], "w") as f:
    f.write("accounts {\n")
    for name, users in accs.items():
        extra = ""
        if name == "A":
            extra = '\n    exports: [{stream: "shared.>"}]'
        else:
            extra = '\n    imports: [{stream: {account: A, subject: "shared.>"}, prefix: "from"}]'
        f.write(f"  {name}: {{\n    users: [\n      " + "\n      ".join(users) + f"\n    ]{extra}\n  }}\n")
    f.write("}\n")
EOF
: >"$out/open.conf"

# run KIND CONF PROFILE: one measurement, its delivered msg/s
run() {
	local kind=$1 conf=$2 prof=$3 port tool json url
	port=$(free_port)
	if [ "$kind" = n ]; then "$nats" -a 127.0.0.1 -p "$port" -c "$out/$conf.conf" >"$out/node-$port.log" 2>&1 &
	else "$ringbus" -a 127.0.0.1 -p "$port" -c "$out/$conf.conf" >"$out/node-$port.log" 2>&1 & fi
	node_pid=$!
	wait_port "$port"
	url="nats://127.0.0.1:$port"
	[ "$conf" = auth ] && url="nats://u0:p0@127.0.0.1:$port"
	tool=$build/tools/ringbus-load; [ "$prof" = blocking ] && tool=$build/tools/ringbus-load-blocking
	json=$out/$kind-$conf-$prof-$rep.json
	local args=(--url "$url" --duration "${duration}s" --warmup 1s --size 16 --json "$json")
	if [ "$prof" = load ]; then timeout 60 "$tool" pubsub "${args[@]}" >/dev/null 2>&1 || true
	else timeout 60 "$tool" "${args[@]}" >/dev/null 2>&1 || true; fi
	local ticks
	ticks=$(awk '{print $14 + $15}' "/proc/$node_pid/stat" 2>/dev/null || echo 0)
	kill -INT "$node_pid"; wait "$node_pid" 2>/dev/null || true
	node_pid=
	python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1])); cpu=int(sys.argv[2])/os.sysconf("SC_CLK_TCK"); print(d["sub_msgs_per_sec"], d["lost"]+d["duplicated"]+d["out_of_order"], cpu*1e9/max(d["delivered"],1))' "$json" "$ticks" \
		>>"$out/$kind-$conf-$prof.txt" 2>/dev/null || echo "0 -1 0" >>"$out/$kind-$conf-$prof.txt"
}

for rep in $(seq "$reps"); do
	for prof in load blocking; do
		run r open "$prof"; run r auth "$prof"; run n open "$prof"; run n auth "$prof"
	done
	echo "accounts.sh: repetition $rep of $reps done" >&2
done

python3 - "$out" <<'EOF'
import os, statistics, sys
out = sys.argv[1]
def vals(name):
    p = os.path.join(out, name + ".txt")
    rows = [l.split() for l in open(p)] if os.path.exists(p) else []
    return [float(r[0]) for r in rows], sum(int(r[1]) != 0 for r in rows)
def cpu(name):
    p = os.path.join(out, name + ".txt")
    return [float(l.split()[2]) for l in open(p)] if os.path.exists(p) else []
def line(title, a, b, goal):
    va, fa = vals(a); vb, fb = vals(b)
    ratios = [x / y for x, y in zip(va, vb) if y > 0]
    ca, cb = cpu(a), cpu(b)
    med = statistics.median
    spread = lambda v: (max(v) - min(v)) / med(v) if v and med(v) else 0
    print(f"| {title} | {med(va)/1e6:.2f}M ({spread(va):.0%}) | {med(vb)/1e6:.2f}M ({spread(vb):.0%}) | "
          f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {goal} | "
          f"{med(ca):.0f} / {med(cb):.0f} ns = {med(ca)/med(cb):.2f} | {fa + fb} |")
print("| scenario, 1->1 16 B | first msg/s (spread) | second msg/s (spread) | ratio, median of per-repetition (min-max) | goal | server CPU per delivered message, first / second | runs with loss, duplicates or disorder |")
print("|---|---:|---:|---:|---:|---:|---:|")
for prof in ("load", "blocking"):
    line(f"ringbus with authorization vs without, {prof}", f"r-auth-{prof}", f"r-open-{prof}", ">= 0.9")
    line(f"ringbus vs nats-server, both with authorization, {prof}", f"r-auth-{prof}", f"n-auth-{prof}", ">= 2")
    line(f"(nats-server with authorization vs without, {prof})", f"n-auth-{prof}", f"n-open-{prof}", "-")
print(f"\naccounts.sh: runs in {out}", file=sys.stderr)
EOF
