#!/usr/bin/env bash
# Runs smoke.mjs (npm `nats` 2.x) against a server started on a free loopback
# port: run.sh SERVER_BINARY KIND (ringbus | nats-server). Exit 0 pass, 1 fail,
# 77 skip (no node, or `npm ci` not run in this folder).
set -u
server=${1:?usage: run.sh SERVER_BINARY KIND}
kind=${2:?usage: run.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1; then
  echo "skip: node is not installed"
  exit 77
fi
if [ ! -d "$here/node_modules/nats" ]; then
  echo "skip: run 'npm ci' in $here first"
  exit 77
fi
[ -x "$server" ] || { echo "FAIL: cannot execute $server"; exit 1; }

log=$(mktemp /tmp/ringbus-js-XXXXXX.log)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Starts the server; succeeds once it accepts TCP (5 s), fails if it exits.
start() {
  "$server" -a 127.0.0.1 -p "$port" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 500); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; pid=""; return 1; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.01
  done
  return 1
}

started=0
for _ in 1 2 3 4 5; do
  port=$(free_port) || { echo "FAIL: no free port"; exit 1; }
  if start; then started=1; break; fi
  [ -n "$pid" ] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; }
done
if [ "$started" != 1 ]; then
  echo "FAIL: $kind did not start"; cat "$log"; exit 1
fi

rc=0
timeout 60 node "$here/smoke.mjs" "nats://127.0.0.1:$port" || rc=1

# nats-server exits 0 on SIGINT (1 on SIGTERM); ringbus exits 0 on SIGTERM.
sig=TERM
[ "$kind" = nats-server ] && sig=INT
kill -"$sig" "$pid"
status=""
for _ in $(seq 1 1000); do
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; status=$?; break; fi
  sleep 0.01
done
if [ -z "$status" ]; then
  echo "FAIL: $kind did not exit within 10 s of SIG$sig"; rc=1
elif [ "$status" != 0 ]; then
  echo "FAIL: $kind exited with status $status"; rc=1
fi
pid=""
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$log"; then
  cat "$log"
  rc=1
fi
exit "$rc"
