#!/usr/bin/env bash
# Lame duck mode with the JavaScript client (ldm.mjs): two servers of the
# kind under test on free loopback ports, the first with lame duck mode's
# shortest duration (30s) and a 1s grace; the client moves to the second.
# ldm.sh SERVER_BINARY KIND. Exit 0 pass, 1 fail, 77 skip (no node, or no
# `npm ci` in this folder).
set -u
server=${1:?usage: ldm.sh SERVER_BINARY KIND}
kind=${2:?usage: ldm.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)

. "$here/common.sh"
js_check

dir=$(mktemp -d /tmp/ringbus-jsldm-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
printf 'lame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n' >"$dir/ldm.conf"

start_server "$dir/first.log" -c "$dir/ldm.conf" || { echo "FAIL: $kind did not start"; cat "$dir/first.log"; exit 1; }
pid1=$pid port1=$port
pids+=("$pid1")
start_server "$dir/second.log" || { echo "FAIL: the second $kind did not start"; exit 1; }
pid2=$pid port2=$port
pids+=("$pid2")

rc=0
timeout 90 node "$here/ldm.mjs" "nats://127.0.0.1:$port1" "nats://127.0.0.1:$port2" "$pid1" || rc=1

# The first server ends lame duck mode by exiting 0.
status=""
for _ in $(seq 1 3000); do
  if ! kill -0 "$pid1" 2>/dev/null; then wait "$pid1"; status=$?; break; fi
  sleep 0.01
done
if [ "$status" != 0 ]; then
  echo "FAIL: the first $kind did not exit 0 after lame duck mode (status '${status:-still running}')"; rc=1
fi
sig=TERM
[ "$kind" = nats-server ] && sig=INT
kill -"$sig" "$pid2"
wait "$pid2"
[ $? = 0 ] || { echo "FAIL: the second $kind did not exit 0"; rc=1; }
pids=()
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$dir"/*.log; then
  tail -n 20 "$dir"/*.log
  rc=1
fi
exit "$rc"
