#!/bin/sh
# man_flags.sh PAGE HELP_CMD...: the set of flags HELP_CMD prints (the lines
# of its --help that start with a flag, indented) equals the set of flags
# PAGE gives an option of (its .TP tags, in bold). Names the flags missing
# on either side. Run with several HELP_CMDs joined by ';' in one argument
# for a page made of several --help texts.
set -u
page=$1
shift
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# --help: "    -p, --port <PORT>   text" or "  --size B   text" (ringbus-load):
# the words of the tag that begin with a dash, with any "=..." dropped.
sh -c "$*" | sed -n 's/^ \{2,4\}\(-[^ ,]*\(, -[^ ,]*\)*\)\( .*\)\{0,1\}$/\1/p' |
	tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep '^-' | sort -u >"$tmp/help"
# the page: a .TP's next line, "\fB\-p\fR, \fB\-\-port\fR \fIPORT\fR".
awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' "$page" |
	grep -o '\\fB\\-[^\\]*\(\\-[^\\]*\)*\\fR' |
	sed 's/^\\fB//; s/\\fR$//; s/\\-/-/g' | sort -u >"$tmp/page"
if [ ! -s "$tmp/help" ]; then
	echo "FAIL: no flags read from: $*"
	exit 1
fi
missing=$(comm -23 "$tmp/help" "$tmp/page")
extra=$(comm -13 "$tmp/help" "$tmp/page")
[ -z "$missing" ] || echo "FAIL: flags of --help missing in $page:" $missing
[ -z "$extra" ] || echo "FAIL: flags in $page that --help does not print:" $extra
[ -z "$missing$extra" ] || exit 1
echo "ok: $(wc -l <"$tmp/help") flags, the same in --help and $page"
