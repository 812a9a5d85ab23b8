#!/usr/bin/env bash
# JetStream of a nats-server hub used by the JavaScript client (leaf_js.mjs)
# through a leaf: leaf_js.sh SERVER_BINARY KIND, where SERVER_BINARY is the
# leaf under test; the hub is always nats-server (jetstream, domain hub).
# Exit 0 pass, 1 fail, 77 skip (no node, or no `npm ci` in this folder).
set -u
server=${1:?usage: leaf_js.sh SERVER_BINARY KIND}
kind=${2:?usage: leaf_js.sh SERVER_BINARY KIND}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
js_check
hub_server=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$hub_server" ] || { echo "FAIL: the hub needs nats-server"; exit 1; }

dir=$(mktemp -d /tmp/ringbus-jsleaf-XXXXXX)
hub_pid=""
leaf_pid=""
cleanup() {
  [ -n "$leaf_pid" ] && kill -KILL "$leaf_pid" 2>/dev/null
  [ -n "$hub_pid" ] && kill -KILL "$hub_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# stop PID: SIGTERM, then up to 10 s for it to exit (so its log is complete).
stop() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 1000); do kill -0 "$1" 2>/dev/null || break; sleep 0.01; done
}

hub_leafport=$(free_port) || exit 1
cat >"$dir/hub.conf" <<CONF
server_name: hub
jetstream { store_dir: "$dir/store", domain: hub }
leafnodes { listen: "127.0.0.1:$hub_leafport" }
CONF
cat >"$dir/leaf.conf" <<CONF
server_name: leaf
leafnodes { remotes = [ { url: "nats-leaf://127.0.0.1:$hub_leafport" } ] }
default_js_domain: { "\$G": "hub" }
CONF

leaf_server=$server
server=$hub_server
start_server "$dir/hub.log" -c "$dir/hub.conf" || { echo "FAIL: the hub did not start"; cat "$dir/hub.log"; exit 1; }
hub_pid=$pid
server=$leaf_server
start_server "$dir/leaf.log" -c "$dir/leaf.conf" || { echo "FAIL: $kind did not start"; cat "$dir/leaf.log"; exit 1; }
leaf_pid=$pid

rc=0
timeout 60 node "$here/leaf_js.mjs" "nats://127.0.0.1:$port" || rc=1
stop "$leaf_pid"
stop "$hub_pid"
if [ "$rc" != 0 ] || grep -qE "Sanitizer|runtime error:" "$dir/leaf.log"; then
  echo "--- leaf ($kind) log"; cat "$dir/leaf.log"
  echo "--- hub log"; cat "$dir/hub.log"
  rc=1
fi
exit "$rc"
