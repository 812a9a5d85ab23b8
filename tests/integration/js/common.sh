# Sourced by the JavaScript client tests (run.sh, ldm.sh, services.sh,
# nkey.sh), which set $here and $server first: what each needs before it
# starts, a free loopback port, and a server started on one.

# Exits 77 (skip) without node or the npm client, 1 without the server.
js_check() {
  command -v node >/dev/null 2>&1 || { echo "skip: node is not installed"; exit 77; }
  [ -d "$here/node_modules/nats" ] || { echo "skip: run 'npm ci' in $here first"; exit 77; }
  [ -x "$server" ] || { echo "FAIL: cannot execute $server"; exit 1; }
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_server LOG [ARGS...]: $server on a free loopback port with ARGS,
# output to LOG, once it accepts TCP (5 s); a port lost to a race is tried
# again with another. Sets $pid and $port; returns 1 when it never started.
start_server() {
  local log=$1
  shift
  for _ in 1 2 3 4 5; do
    port=$(free_port) || return 1
    "$server" -a 127.0.0.1 -p "$port" "$@" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 500); do
      kill -0 "$pid" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
      sleep 0.01
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
  done
  return 1
}
