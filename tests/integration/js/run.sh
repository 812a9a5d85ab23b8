#!/usr/bin/env bash
# Runs smoke.mjs (npm `nats` 2.x) against a server started on a free loopback
# port: run.sh SERVER_BINARY KIND (ringbus | nats-server). Exit 0 pass, 1 fail,
# 77 skip (no node, or `npm ci` not run in this folder).
set -u
server=${1:?usage: run.sh SERVER_BINARY KIND}
kind=${2:?usage: run.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)

. "$here/common.sh"
js_check

log=$(mktemp /tmp/ringbus-js-XXXXXX.log)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT

start_server "$log" || { echo "FAIL: $kind did not start"; cat "$log"; exit 1; }

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
