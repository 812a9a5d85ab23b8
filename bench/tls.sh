#!/usr/bin/env bash
# The cost of TLS, side by side: bench_tls (one publisher, one subscriber,
# closed loop) through ringbus and nats-server, plaintext and TLS 1.3, plus
# ringbus with TLS 1.2 (what the kernel can carry both ways with OpenSSL 3.0)
# and with the userspace proxy forced (--tls-no-ktls). Prints a Markdown
# table: the median of RUNS runs, and TLS as a fraction of plaintext.
#
#   bench/tls.sh BUILD_DIR [RUNS]
#
# Certificates are made for the run in a temporary directory and removed.
set -euo pipefail

build=${1:?usage: bench/tls.sh BUILD_DIR [RUNS]}
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
ringbus=$build/router/ringbus
bench=$build/bench/bench_tls
natsd=$(command -v nats-server || true)
work=$(mktemp -d /tmp/ringbus-bench-tls-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

sh "$here/../tests/integration/tls_certs.sh" "$work"
tls_flags=(--tlscert "$work/server.pem" --tlskey "$work/server.key")

. "$here/lib/ports.sh" # free_port

# start NAME BINARY ARGS...: starts a server on a free port, sets port_NAME
start() {
	local name=$1 bin=$2
	shift 2
	local port
	port=$(free_port)
	"$bin" -a 127.0.0.1 -p "$port" "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			printf -v "port_$name" '%s' "$port"
			return
		fi
		sleep 0.05
	done
	echo "bench/tls.sh: $name did not start:" >&2
	cat "$work/$name.log" >&2
	exit 1
}

start rb_plain "$ringbus"
start rb_tls "$ringbus" --tls "${tls_flags[@]}"
start rb_proxy "$ringbus" --tls "${tls_flags[@]}" --tls-no-ktls
if [ -n "$natsd" ]; then
	start ns_plain "$natsd"
	start ns_tls "$natsd" --tls "${tls_flags[@]}"
fi

# median PORT ARGS...: median msgs/s of $runs runs
median() {
	local port=$1
	shift
	for _ in $(seq "$runs"); do
		"$bench" -p "$port" "$@" | awk '{print $8}'
	done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

row() { # label rate plain_rate
	awk -v l="$1" -v r="$2" -v p="$3" -v s="$size" \
		'BEGIN {printf "| %s | %d | %.0f | %.1f | %.2f |\n", l, s, r, r * s / 1e6, r / p}'
}

echo "| server | payload B | msgs/s | MB/s | vs plaintext |"
echo "| --- | --- | --- | --- | --- |"
for size in 128 16384; do
	n=$((size > 1024 ? 40000 : 1000000))
	common=(-n "$n" -s "$size")
	tls=(-t -c "$work/ca.pem")
	p=$(median "$port_rb_plain" "${common[@]}")
	row "ringbus plaintext" "$p" "$p"
	row "ringbus TLS 1.3" "$(median "$port_rb_tls" "${tls[@]}" "${common[@]}")" "$p"
	row "ringbus TLS 1.2" "$(median "$port_rb_tls" "${tls[@]}" -2 "${common[@]}")" "$p"
	row "ringbus TLS 1.3, proxy forced" "$(median "$port_rb_proxy" "${tls[@]}" "${common[@]}")" "$p"
	if [ -n "$natsd" ]; then
		q=$(median "$port_ns_plain" "${common[@]}")
		row "nats-server plaintext" "$q" "$q"
		row "nats-server TLS 1.3" "$(median "$port_ns_tls" "${tls[@]}" "${common[@]}")" "$q"
	fi
done
grep -h "kernel TLS" "$work/rb_tls.log" | head -1 | sed 's/^[^]]*] /ringbus: /' >&2
