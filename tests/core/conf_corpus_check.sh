#!/bin/sh
# Proves tests/core/conf_corpus is nats-server's format: `nats-server -c f -t`
# accepts every valid/*.conf and rejects every invalid/*.conf with the text
# its "# nats-server:" line quotes. TLS files find their certificates in the
# working directory (nats-server's rule), so this runs where fresh ones are
# made. Exit 0 pass, 1 fail, 77 skip (no nats-server or no openssl).
set -u
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/conf_corpus
nats=${NATS_SERVER:-$(command -v nats-server || true)}
[ -n "$nats" ] || { [ -x /usr/sbin/nats-server ] && nats=/usr/sbin/nats-server; }
if [ -z "$nats" ]; then
	echo "skip: nats-server is not installed"
	exit 77
fi
if ! command -v openssl >/dev/null; then
	echo "skip: openssl is not installed (the TLS file needs certificates)"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sh "$here/../integration/tls_certs.sh" "$work" || exit 1
cd "$work" || exit 1
"$nats" --version

fail=0
for f in "$corpus"/valid/*.conf; do
	if out=$(timeout 20 "$nats" -c "$f" -t 2>&1); then
		printf 'ok: accepted: %s\n' "${f#"$corpus"/}"
	else
		echo "FAIL: nats-server rejects ${f#"$corpus"/}: $out"
		fail=1
	fi
done
for f in "$corpus"/invalid/*.conf; do
	want=$(sed -n 's/^# nats-server: //p' "$f")
	if [ -z "$want" ]; then
		echo "FAIL: ${f#"$corpus"/} has no \"# nats-server:\" line"
		fail=1
		continue
	fi
	out=$(timeout 20 "$nats" -c "$f" -t 2>&1)
	rc=$?
	case "$rc:$out" in
	1:*"$want"*) printf 'ok: rejected: %s: %s\n' "${f#"$corpus"/}" "$out" ;;
	*)
		echo "FAIL: ${f#"$corpus"/}: exit $rc, \"$out\", wanted \"$want\""
		fail=1
		;;
	esac
done
exit $fail
