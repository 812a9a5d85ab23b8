#!/bin/sh
# man_lint.sh PAGE: the page formats without a single warning, under groff
# (-ww: every warning; -z: no output) and under man(1) as a reader would
# see it. Both exit 0 on warnings, so any text on stderr fails the test.
set -u
page=$1
[ -s "$page" ] || { echo "FAIL: $page is missing or empty"; exit 1; }
fail=0
out=$(groff -ww -man -Tutf8 -z "$page" 2>&1 >/dev/null) || { echo "FAIL: groff exit $?"; fail=1; }
if [ -n "$out" ]; then
	echo "FAIL: groff -ww -man -z $page warns:"
	echo "$out"
	fail=1
fi
out=$(MANWIDTH=80 MAN_KEEP_FORMATTING= man -l "$page" 2>&1 >/dev/null) || { echo "FAIL: man -l exit $?"; fail=1; }
if [ -n "$out" ]; then
	echo "FAIL: man -l $page warns:"
	echo "$out"
	fail=1
fi
[ "$fail" = 0 ] && echo "ok: $page formats without warnings"
exit "$fail"
