#!/usr/bin/env bash
# The live dashboard (/dashboard on the monitoring port) in a real browser:
# dashboard.sh RINGBUS_BINARY [SCREENSHOT.png]
# Starts ringbus with a WebSocket listener, stats_interval 500ms and -m;
# checks /dashboard's files over HTTP (bytes and content types) and
# config.json; runs a small load (dashboard_load.mjs); opens the page in
# headless chromium driven over the DevTools protocol (dashboard_browser.mjs)
# and wants #server-id to be /varz's server_id and #in-rate above 0; writes a
# 1280x900 screenshot to SCREENSHOT.png, $RINGBUS_DASHBOARD_SCREENSHOT, or the
# test's temporary folder (removed at the end). Then a server without a
# WebSocket listener: the page must say so.
# RINGBUS_DASHBOARD_SECONDS: look at the page this long first (docs/
# screenshots; default 0, the test then takes ~5 s).
# Exit 0 pass, 1 fail, 77 skip: no chromium, node or `npm ci` here, unless
# RINGBUS_REQUIRE_BROWSER is set (tools/test.sh sets it: then it fails).
set -u
server=${1:?usage: dashboard.sh RINGBUS_BINARY [SCREENSHOT.png]}
here=$(cd "$(dirname "$0")" && pwd)
pages="$here/../../../router/monitor/dashboard"
. "$here/common.sh"

missing() {
  if [ -n "${RINGBUS_REQUIRE_BROWSER:-}" ]; then
    echo "FAIL: $1 (RINGBUS_REQUIRE_BROWSER is set)"
    exit 1
  fi
  echo "skip: $1"
  exit 77
}
chromium=$(command -v chromium || command -v chromium-browser) ||
  missing "chromium is not installed (tools/bootstrap.sh installs it)"
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -d "$here/node_modules/nats" ] && [ -d "$here/node_modules/ws" ] ||
  missing "run 'npm ci' in $here first (nats, ws)"
[ -x "$server" ] || { echo "FAIL: cannot execute $server"; exit 1; }

seconds=${RINGBUS_DASHBOARD_SECONDS:-0}
dir=$(mktemp -d /tmp/ringbus-dash-XXXXXX)
shot=${2:-${RINGBUS_DASHBOARD_SCREENSHOT:-$dir/dashboard.png}}
pid=""
load=""
cleanup() {
  [ -n "$load" ] && kill -KILL "$load" 2>/dev/null
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  [ -f "$dir/server.log" ] && tail -n 30 "$dir/server.log"
  exit 1
}

# get PATH: prints "STATUS CONTENT-TYPE" and writes the body to $dir/body.
get() {
  node --input-type=module -e '
    const r = await fetch(process.argv[1]);
    (await import("node:fs")).writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer()));
    console.log(r.status + " " + r.headers.get("content-type"));' \
    "http://127.0.0.1:$mport$1" "$dir/body" 2>&1 ||
    echo "000 fetch failed"
}

# stop_server: SIGINT, wait up to 10 s; fails on a sanitizer's report.
stop_server() {
  kill -INT "$pid" 2>/dev/null
  for _ in $(seq 1 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
  if grep -qE "Sanitizer|runtime error:" "$dir/server.log"; then fail "sanitizer report"; fi
}

# ---- a server with a WebSocket listener ----
wsport=$(free_port) || exit 1
mport=$(free_port) || exit 1
cat >"$dir/ws.conf" <<CONF
websocket { listen: "127.0.0.1:$wsport", no_tls: true }
ringbus { stats_interval: "500ms" }
CONF
start_server "$dir/server.log" -m "$mport" -c "$dir/ws.conf" || fail "ringbus did not start"

# The files, byte for byte, with their content types.
for f in "/dashboard index.html text/html" "/dashboard/ index.html text/html" \
  "/dashboard/dashboard.js dashboard.js text/javascript" \
  "/dashboard/dashboard.css dashboard.css text/css" \
  "/dashboard/vendor/nats.js vendor/nats.js text/javascript" \
  "/dashboard/vendor/uPlot.iife.min.js vendor/uPlot.iife.min.js text/javascript" \
  "/dashboard/vendor/uPlot.min.css vendor/uPlot.min.css text/css" \
  "/dashboard/vendor/uPlot.LICENSE vendor/uPlot.LICENSE text/plain"; do
  set -- $f
  got=$(get "$1")
  case "$got" in "200 $3"*) ;; *) fail "GET $1: $got (want 200 $3)" ;; esac
  cmp -s "$dir/body" "$pages/$2" || fail "GET $1: not the bytes of $2"
done
got=$(get /dashboard/nope)
case "$got" in "404 "*) ;; *) fail "GET /dashboard/nope: $got (want 404)" ;; esac
got=$(get /dashboard/config.json)
grep -q "\"websocket\":{\"host\":\"127.0.0.1\",\"port\":$wsport}" "$dir/body" ||
  fail "config.json: $(cat "$dir/body")"
get /varz >/dev/null
server_id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).server_id)' \
  "$dir/body")
[ -n "$server_id" ] || fail "no server_id in /varz"

# The load (bounded: it ends by itself; the trap kills it otherwise).
node "$here/dashboard_load.mjs" "nats://127.0.0.1:$port" $((seconds + 25)) "${RINGBUS_DASHBOARD_RATE:-4000}" \
  ${RINGBUS_DASHBOARD_SLOW:+slow} >"$dir/load.log" 2>&1 &
load=$!

# The browser: live figures within 20 s (after $seconds).
figures=$(timeout $((seconds + 40)) node "$here/dashboard_browser.mjs" "$chromium" \
  "http://127.0.0.1:$mport/dashboard" "$dir/dom.html" "$shot" $((seconds + 20)) "$seconds" \
  2>"$dir/browser.log") || { cat "$dir/browser.log" "$dir/load.log"; echo "$figures";
  fail "the page showed no live figures"; }
echo "figures: $figures"
grep -q "id=\"server-id\" data-value=\"$server_id\"" "$dir/dom.html" ||
  grep -q "id=\"server-id\"[^>]*>$server_id<" "$dir/dom.html" ||
  fail "#server-id is not $server_id: $(grep -o 'id="server-id"[^<]*' "$dir/dom.html")"
rate=$(grep -o 'id="in-rate"[^>]*data-value="[0-9.e+]*"' "$dir/dom.html" | grep -o '[0-9.e+]*"$' | tr -d '"')
node -e 'process.exit(Number(process.argv[1]) > 0 ? 0 : 1)' "${rate:-0}" ||
  fail "#in-rate is not above 0: $(grep -o 'id="in-rate"[^<]*' "$dir/dom.html")"
[ -s "$shot" ] || fail "no screenshot at $shot"
echo "screenshot: $shot"
kill -INT "$load" 2>/dev/null # SIGINT: bash reports no "Killed"
wait "$load" 2>/dev/null
load=""
stop_server

# ---- without a WebSocket listener: config.json says null, the page says so ----
mport=$(free_port) || exit 1
start_server "$dir/server.log" -m "$mport" || fail "ringbus (no websocket) did not start"
got=$(get /dashboard/config.json)
grep -q '"websocket":null' "$dir/body" || fail "config.json without a listener: $(cat "$dir/body")"
timeout 30 node "$here/dashboard_browser.mjs" "$chromium" "http://127.0.0.1:$mport/dashboard" \
  "$dir/dom2.html" "$dir/nows.png" 10 0 "no WebSocket listener" >/dev/null 2>"$dir/browser.log" ||
  { cat "$dir/browser.log"; fail "the page did not say there is no WebSocket listener"; }
stop_server
echo "PASS"
exit 0
