#!/usr/bin/env bash
# NKey login with the JavaScript client (nkey.mjs) against a server whose
# one user is an NKey: nkey.sh SERVER_BINARY KIND. Exit 0 pass, 1 fail, 77
# skip (no node, or no `npm ci` in this folder).
set -u
server=${1:?usage: nkey.sh SERVER_BINARY KIND}
kind=${2:?usage: nkey.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
js_check

dir=$(mktemp -d /tmp/ringbus-jsnkey-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/nkey.conf" <<'CONF'
authorization { users: [
  {nkey: UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK, permissions: {publish: "n.>"}}
] }
CONF
start_server "$dir/server.log" -c "$dir/nkey.conf" || { echo "FAIL: $kind did not start"; cat "$dir/server.log"; exit 1; }
rc=0
timeout 60 node "$here/nkey.mjs" "nats://127.0.0.1:$port" || rc=1
kill -TERM "$pid"
for _ in $(seq 1 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$dir/server.log"; then cat "$dir/server.log"; rc=1; fi
exit "$rc"
