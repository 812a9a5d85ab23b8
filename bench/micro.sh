#!/bin/sh
# Runs the micro-benchmarks of the hot pieces (codec, subscription index,
# latency histogram, rings) from a build directory, one after the other, with
# the machine's description first. Usage: bench/micro.sh [BUILD_DIR]
# (default build/release; build it with
#   cmake --preset release && cmake --build --preset release).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
benches="bench_codec bench_sublist bench_hist bench_ring"

missing=""
for b in $benches; do
	[ -x "$build/bench/$b" ] || missing="$missing $b"
done
if [ -n "$missing" ]; then
	echo "bench/micro.sh: not built in $build:$missing" >&2
	echo "  cmake --build $build --target$missing" >&2
	exit 1
fi

echo "# micro-benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# build: $build ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
status=0
for b in $benches; do
	echo
	echo "## $b"
	"$build/bench/$b" || { echo "bench/micro.sh: $b failed ($?)" >&2; status=1; }
done
exit $status
