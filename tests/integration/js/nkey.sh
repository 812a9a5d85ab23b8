#!/usr/bin/env bash
# NKey login with the JavaScript client (nkey.mjs) against a server whose
# one user is an NKey: nkey.sh SERVER_BINARY KIND. Exit 0 pass, 1 fail, 77
# skip (no node, or no `npm ci` in this folder).
set -u
server=${1:?usage: nkey.sh SERVER_BINARY KIND}
kind=${2:?usage: nkey.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "skip: node is not installed"; exit 77; }
[ -d "$here/node_modules/nats" ] || { echo "skip: run 'npm ci' in $here first"; exit 77; }
[ -x "$server" ] || { echo "FAIL: cannot execute $server"; exit 1; }

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
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
started=0
for _ in 1 2 3 4 5; do
  port=$(free_port) || { echo "FAIL: no free port"; exit 1; }
  "$server" -a 127.0.0.1 -p "$port" -c "$dir/nkey.conf" >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 500); do
    kill -0 "$pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then started=1; break; fi
    sleep 0.01
  done
  [ "$started" = 1 ] && break
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""
done
[ "$started" = 1 ] || { echo "FAIL: $kind did not start"; cat "$dir/server.log"; exit 1; }
rc=0
timeout 60 node "$here/nkey.mjs" "nats://127.0.0.1:$port" || rc=1
kill -TERM "$pid"
for _ in $(seq 1 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$dir/server.log"; then cat "$dir/server.log"; rc=1; fi
exit "$rc"
