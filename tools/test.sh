#!/usr/bin/env bash
# Installs what is missing, builds and runs every test: release, the Debian
# package (tools/package-check.sh), ASan+UBSan, TSan (stress programs), the
# formatting check and a bounded fuzz run.
# Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

fuzz_seconds=${RINGBUS_FUZZ_SECONDS:-30}
failed=()
step() { printf '\n==== %s ====\n' "$*"; }

tools/bootstrap.sh

step "format (clang-format --dry-run -Werror)"
mapfile -t sources < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
if [ ${#sources[@]} -gt 0 ] && ! clang-format --dry-run -Werror "${sources[@]}"; then
	failed+=(format)
fi

# The dashboard's browser test fails rather than skips without chromium
# (bootstrap.sh installs it).
export RINGBUS_REQUIRE_BROWSER=1
for preset in release asan tsan; do
	step "$preset: configure, build, test"
	cmake --workflow --preset "$preset" || failed+=("$preset")
	if [ "$preset" = release ]; then
		step "package: build the .deb, unpack it into a scratch root, check it"
		tools/package-check.sh build/release || failed+=(package)
	fi
done

step "fuzz: ${fuzz_seconds}s per target"
fuzz_targets=(fuzz_proto fuzz_conn fuzz_conf fuzz_ws)
if cmake --preset fuzz >/dev/null && cmake --build --preset fuzz --target "${fuzz_targets[@]}"; then
	for name in "${fuzz_targets[@]}"; do
		target=build/fuzz/tests/fuzz/$name
		corpus="tests/fuzz/corpus/${name#fuzz_}"
		work=$(mktemp -d)
		if ! "$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
			-artifact_prefix="build/fuzz/$name-" "$work" "$corpus" 2>build/fuzz/$name.log; then
			tail -n 40 "build/fuzz/$name.log"
			failed+=("$name")
		else
			grep -E 'stat::number_of_executed_units|Done' "build/fuzz/$name.log" || true
		fi
		rm -rf "$work"
	done
else
	failed+=(fuzz-build)
fi

step "summary"
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all test steps passed"
