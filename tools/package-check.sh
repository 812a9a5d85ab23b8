#!/usr/bin/env bash
# Builds the Debian package from a configured and built release tree, unpacks
# it into a scratch root and checks what it holds: the file list, the
# binaries running from there, the configuration, Depends, the conffile and
# the systemd unit (systemd-analyze verify). Usage:
#   tools/package-check.sh [BUILD_DIR]      (default build/release)
# The .deb stays in BUILD_DIR/deb/; the scratch root is removed.
# RINGBUS_PKG_NO_MAN=1 skips the manual pages' checks.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
no_man=${RINGBUS_PKG_NO_MAN:-0}

errors=0
ok() { printf 'ok:   %s\n' "$*"; }
bad() {
	printf 'FAIL: %s\n' "$*"
	errors=$((errors + 1))
}
# check WHAT COMMAND...: ok or FAIL, by the command's status.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

root=$(mktemp -d)
unitdir=$(mktemp -d)
trap 'rm -rf "$root" "$unitdir"' EXIT

echo "package: cpack -G DEB in $build (output in $build/deb)"
mkdir -p "$build/deb"
rm -f "$build"/deb/ringbus_*.deb
(cd "$build" && cpack -G DEB -B "$build/deb" >"$build/deb/cpack.log" 2>&1) || {
	cat "$build/deb/cpack.log"
	exit 1
}
debs=("$build"/deb/ringbus_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
	echo "FAIL: expected one ringbus_*.deb in $build/deb"
	exit 1
fi
deb=${debs[0]}
echo "package: $(basename "$deb"), unpacked with dpkg-deb -x into $root"
dpkg-deb -x "$deb" "$root"

echo "-- files"
expected=(
	usr/bin/ringbus usr/bin/ringbus-load
	etc/ringbus/ringbus.conf
	lib/systemd/system/ringbus.service
	usr/lib/sysusers.d/ringbus.conf
	usr/share/doc/ringbus/README.md usr/share/doc/ringbus/OPERATIONS.md
	usr/share/doc/ringbus/copyright
)
if [ "$no_man" = 1 ]; then
	echo "skip: manual pages (RINGBUS_PKG_NO_MAN=1)"
else
	expected+=(usr/share/man/man8/ringbus.8.gz usr/share/man/man1/ringbus-load.1.gz
		usr/share/man/man5/ringbus.conf.5.gz)
fi
for f in "${expected[@]}"; do
	check "/$f" test -f "$root/$f"
done
# Only what the install rules list: no test, benchmark or helper programs,
# nothing outside the places a Debian system expects.
bins=$(find "$root/usr/bin" -mindepth 1 -printf '%f\n' | sort | xargs)
check "/usr/bin holds ringbus and ringbus-load only ($bins)" test "$bins" = "ringbus ringbus-load"
stray=$(find "$root" -type f -printf '%P\n' |
	{ grep -v -E '^(usr/bin|usr/share/doc/ringbus|usr/share/man/man[158]|etc/ringbus|lib/systemd/system|usr/lib/sysusers.d)/' || true; })
check "no file outside the expected directories${stray:+: }$stray" test -z "$stray"
mode=$(stat -c %a "$root/etc/ringbus/ringbus.conf")
check "/etc/ringbus/ringbus.conf is 0640 (is $mode)" test "$mode" = 640

echo "-- control"
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
echo "Version: $version"
echo "Depends: $depends"
if dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles 2>/dev/null | grep -qx /etc/ringbus/ringbus.conf; then
	ok "conffiles: /etc/ringbus/ringbus.conf"
else
	bad "conffiles does not list /etc/ringbus/ringbus.conf"
fi
# Depends must name the package of every library the binaries link
# (liburing2 among them; ck is used through its inline functions only, so
# libck0 is needed only if the binaries link it).
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
dep_names=$(awk -v RS='[,|]' '{ print $1 }' <<<"$depends")
for lib in $(objdump -p "$root/usr/bin/ringbus" "$root/usr/bin/ringbus-load" |
	awk '$1 == "NEEDED" { print $2 }' | sort -u); do
	pkg=$(dpkg -S "*/$multiarch/$lib" 2>/dev/null | grep -v "^diversion" | sed -n "1s/[:,].*//p" || true)
	if [ -z "$pkg" ]; then
		bad "no installed package holds $lib"
	elif grep -qx "$pkg" <<<"$dep_names"; then
		ok "$lib: Depends names $pkg"
	else
		bad "$lib: Depends does not name $pkg"
	fi
done
check "Depends names liburing" grep -q '^liburing' <<<"$dep_names"

echo "-- running from the scratch root"
if out=$("$root/usr/bin/ringbus" --version 2>&1) && [[ "$out" == *"ringbus ${version%-*}"* ]]; then
	ok "ringbus --version: $out"
else
	bad "ringbus --version: $out"
fi
if out=$("$root/usr/bin/ringbus-load" --version 2>&1) && [[ "$out" == *"${version%-*}"* ]]; then
	ok "ringbus-load --version: $out"
else
	bad "ringbus-load --version: $out"
fi
if out=$("$root/usr/bin/ringbus" --check-config -c "$root/etc/ringbus/ringbus.conf" 2>&1); then
	ok "ringbus --check-config: $out"
else
	bad "ringbus --check-config: $out"
fi

echo "-- systemd unit"
unit=$root/lib/systemd/system/ringbus.service
sed -n -E 's/^Exec[A-Za-z]*=-?(\/[^ ]*).*/\1/p' "$unit" | sort -u >"$unitdir/exec"
while read -r path; do
	case $path in
	/usr/bin/*) check "$path is in the package" test -x "$root$path" ;;
	*) check "$path is on the system" test -x "$path" ;;
	esac
done <"$unitdir/exec"
check "the unit runs as User=ringbus" grep -q '^User=ringbus$' "$unit"
check "sysusers.d creates ringbus" grep -qE '^u ringbus ' "$root/usr/lib/sysusers.d/ringbus.conf"
# systemd-analyze verify checks the executables on this system's paths, so it
# reads a copy whose package paths point into the scratch root.
sed -e "s|/usr/bin/ringbus|$root/usr/bin/ringbus|g" -e "s|/etc/ringbus/|$root/etc/ringbus/|g" \
	"$unit" >"$unitdir/ringbus.service"
man_opt=(--man=no)
if [ "$no_man" != 1 ] && command -v man >/dev/null; then
	man_opt=(--man=yes)
	export MANPATH=$root/usr/share/man
fi
if out=$(systemd-analyze verify "${man_opt[@]}" "$unitdir/ringbus.service" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify ${man_opt[*]}: no complaint"
else
	bad "systemd-analyze verify ${man_opt[*]}: $out"
fi
score=$(systemd-analyze security --offline=yes "$unitdir/ringbus.service" 2>/dev/null | grep 'Overall exposure' || true)
echo "systemd-analyze security: ${score#→ }"

if [ "$errors" -gt 0 ]; then
	echo "package: $errors check(s) failed"
	exit 1
fi
echo "package: all checks passed"
