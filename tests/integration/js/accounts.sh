#!/usr/bin/env bash
# Accounts with the JavaScript client (accounts.mjs): isolation, a stream
# import, a request through a service import, a permission violation in the
# client's error callback. accounts.sh SERVER_BINARY KIND. Exit 0 pass, 1
# fail, 77 skip (no node, or no `npm ci` in this folder).
set -u
server=${1:?usage: accounts.sh SERVER_BINARY KIND}
kind=${2:?usage: accounts.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
js_check

dir=$(mktemp -d /tmp/ringbus-jsaccounts-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/accounts.conf" <<'CONF'
accounts {
  A: { users: [{user: a, password: a, permissions: {publish: {deny: "forbidden.>"}}}]
       exports: [{stream: "news.>"}, {service: "help.>"}] }
  B: { users: [{user: b, password: b}]
       imports: [{stream: {account: A, subject: "news.>"}, prefix: "fromA"}
                 {service: {account: A, subject: "help.>"}, to: "ask.>"}] }
}
CONF
start_server "$dir/server.log" -c "$dir/accounts.conf" || { echo "FAIL: $kind did not start"; cat "$dir/server.log"; exit 1; }
rc=0
timeout 60 node "$here/accounts.mjs" "nats://127.0.0.1:$port" || rc=1
kill -TERM "$pid"
for _ in $(seq 1 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$dir/server.log"; then cat "$dir/server.log"; rc=1; fi
exit "$rc"
