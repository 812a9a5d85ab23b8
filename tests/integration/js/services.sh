#!/usr/bin/env bash
# Request-aware queue groups with the JavaScript client as requester and
# plain-process responders (responder.py, blocking sockets), one of four
# stopped (SIGSTOP): 200 requests at 100/s, 5 s timeout. On both servers
# every request is answered or times out and nothing else goes wrong; on
# ringbus at most 2 time out (the stopped member gets one request and none
# while it holds it); nats-server hands it a quarter (printed, not
# asserted). services.sh SERVER_BINARY KIND. Exit 0 pass, 1 fail, 77 skip
# (no node, or no `npm ci` in this folder).
set -u
server=${1:?usage: services.sh SERVER_BINARY KIND}
kind=${2:?usage: services.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)

. "$here/common.sh"
js_check
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 is not installed"; exit 77; }

dir=$(mktemp -d /tmp/ringbus-jssvc-XXXXXX)
pid=""
rpids=()
cleanup() {
  for p in "${rpids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

start_server "$dir/server.log" || { echo "FAIL: $kind did not start"; cat "$dir/server.log"; exit 1; }

for i in 1 2 3 4; do
  python3 "$here/responder.py" "$port" svc.req workers 1 2 >"$dir/ready.$i" 2>&1 &
  rpids+=($!)
done
for i in 1 2 3 4; do
  for _ in $(seq 1 500); do grep -q ready "$dir/ready.$i" 2>/dev/null && break; sleep 0.01; done
  grep -q ready "$dir/ready.$i" || { echo "FAIL: responder $i did not subscribe"; cat "$dir/ready.$i"; exit 1; }
done
kill -STOP "${rpids[3]}"

out=$(timeout 60 node "$here/requester.mjs" "nats://127.0.0.1:$port" svc.req --count 200 --rate 100 --timeout 5000)
echo "$kind: $out"
rc=0
node -e '
const r = JSON.parse(process.argv[1]), ringbus = process.argv[2] === "ringbus";
const bad = [];
if (r.answered + r.timed_out !== 200) bad.push(`answered ${r.answered} + timed out ${r.timed_out} != 200`);
if (r.other || r.busy) bad.push(`other errors ${r.other}, busy ${r.busy}`);
if (ringbus && r.timed_out > 2) bad.push(`${r.timed_out} timed out: the stopped member kept getting requests`);
if (bad.length) { console.log("FAIL: " + bad.join("; ")); process.exit(1); }
' "$out" "$kind" || rc=1

kill -TERM "$pid"
for _ in $(seq 1 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
if grep -qE "Sanitizer|runtime error:" "$dir/server.log"; then cat "$dir/server.log"; rc=1; fi
exit "$rc"
