#!/usr/bin/env bash
# The official WebSocket client nats.ws (ws.mjs, in Node with the `ws`
# package) against a server's WebSocket listener: ws.sh SERVER_BINARY KIND
# [compression] (the listener with compression: true; the ws package offers
# permessage-deflate).
# Exit 0 pass, 1 fail, 77 skip (no node, or no `npm ci` in this folder).
set -u
server=${1:?usage: ws.sh SERVER_BINARY KIND}
kind=${2:?usage: ws.sh SERVER_BINARY KIND}
compression=false
[ "${3:-}" = compression ] && compression=true
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
js_check
[ -d "$here/node_modules/nats.ws" ] && [ -d "$here/node_modules/ws" ] ||
  { echo "skip: run 'npm ci' in $here first (nats.ws, ws)"; exit 77; }

dir=$(mktemp -d /tmp/ringbus-jsws-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
wsport=$(free_port) || exit 1
cat >"$dir/ws.conf" <<CONF
websocket { listen: "127.0.0.1:$wsport", no_tls: true, compression: $compression }
CONF
start_server "$dir/server.log" -c "$dir/ws.conf" || { echo "FAIL: $kind did not start"; cat "$dir/server.log"; exit 1; }
rc=0
timeout 60 node "$here/ws.mjs" "ws://127.0.0.1:$wsport" "nats://127.0.0.1:$port" "$compression" || rc=1
kill -INT "$pid"
for _ in $(seq 1 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$dir/server.log"; then cat "$dir/server.log"; rc=1; fi
exit "$rc"
