#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test ringbus.
# Installs only what is missing and says what it installs. Idempotent.
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	liburing-dev libck-dev libcriterion-dev libnats-dev nats-server
	libssl-dev openssl zlib1g-dev
	libcjson-dev libcrypt-dev libmicrohttpd-dev gnuplot-nox python3
	groff-base man-db # the manual pages and their tests (docs/man, tests/man)
	chromium # the dashboard's browser test (tests/integration/js/dashboard.sh)
	dpkg-dev # dpkg-shlibdeps: the .deb's Depends (cpack -G DEB, tools/package-check.sh)
	systemd  # systemd-analyze verify of the unit (tools/package-check.sh)
)

# Node.js and npm for the JavaScript client tests (nats.ws over WebSocket,
# the dashboard in chromium, the README's snippet): Debian's packages, unless
# some Node.js is already on the PATH (a newer one from elsewhere is kept).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "bootstrap: installing ${missing[*]}"
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo_cmd[@]}" apt-get update -q
	"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "bootstrap: all packages present"
fi

# Kernel TLS (docs/TLS.md) needs the kernel's 'tls' module; best effort, as
# kernels without modules or CONFIG_TLS have none (ringbus then uses its proxy).
if [ "$(id -u)" -eq 0 ] && command -v modprobe >/dev/null; then
	modprobe tls 2>/dev/null || echo "bootstrap: no 'tls' kernel module: TLS goes through ringbus's proxy"
fi

# The JavaScript clients of the integration tests (npm 'nats', 'nats.ws'
# and 'ws'), from the npm registry: those tests skip themselves when this
# fails.
top=$(cd "$(dirname "$0")/.." && pwd)
js="$top/tests/integration/js"
if [ -f "$js/package-lock.json" ] && [ ! -d "$js/node_modules" ] && command -v npm >/dev/null; then
	echo "bootstrap: installing the npm 'nats' client for tests/integration/js"
	(cd "$js" && npm ci --no-audit --no-fund --silent) ||
		echo "bootstrap: npm install failed; the JavaScript client test will be skipped"
fi
