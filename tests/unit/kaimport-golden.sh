#!/usr/bin/env bash
# directorctl import-keepalived against the golden files of
# tests/fixtures/keepalived: each NAME.conf there converts to exactly
# NAME.ini, with exactly NAME.warnings on stderr and exit 0, and the result
# passes directord -t. A file that does not parse exits 1 with FILE:LINE.
# UPDATE_GOLDEN=1 rewrites the golden files from the current output (check
# the diff before committing it).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${BUILD:?}" && pwd)
fixtures=$root/tests/fixtures/keepalived
TMP=$(mktemp -d /tmp/dsrkit-kaimport.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }

count=0
for conf in "$fixtures"/*.conf; do
	name=$(basename "$conf" .conf)
	count=$((count + 1))
	# Relative names, so that the messages do not depend on the checkout.
	(cd "$fixtures" && "$BUILD/directorctl" import-keepalived -o "$TMP/$name.ini" "$name.conf") \
		2>"$TMP/$name.warnings"
	rc=$?
	if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$TMP/$name.ini" "$fixtures/$name.ini"
		cp "$TMP/$name.warnings" "$fixtures/$name.warnings"
	fi
	if [ $rc = 0 ]; then pass "$name: converted (exit 0)"; else fail "$name: exit $rc: $(head -3 "$TMP/$name.warnings")"; fi
	if d=$(diff -u "$fixtures/$name.ini" "$TMP/$name.ini"); then
		pass "$name: output is $name.ini"
	else
		fail "$name: output differs from $name.ini:"; printf '%s\n' "$d" | head -40
	fi
	if d=$(diff -u "$fixtures/$name.warnings" "$TMP/$name.warnings"); then
		pass "$name: warnings are $name.warnings ($(wc -l <"$TMP/$name.warnings") lines)"
	else
		fail "$name: warnings differ from $name.warnings:"; printf '%s\n' "$d" | head -40
	fi
	# Every warning is also a comment at the top of the output.
	if diff <(sed -n 's/^;   //p' "$TMP/$name.ini") "$TMP/$name.warnings" >/dev/null; then
		pass "$name: the warnings head the output as comments"
	else
		fail "$name: the comments at the top of the output are not the warnings"
	fi
	chmod 644 "$TMP/$name.ini"
	# keepalived sets none of the IPVS sysctls: the IPVS traps of its
	# configuration are warned about (director.ini(5), IPVS traps).
	out=$("$BUILD/directord" -t -f "$TMP/$name.ini" 2>&1); rc=$?
	out=$(printf '%s\n' "$out" |
		grep -Ev '^[^ ]+:[0-9]+: virtual_server [^ ]+: warning: |^[^ ]+: warning: [0-9]+ more virtual servers')
	if [ $rc = 0 ] && [ "$out" = "configuration OK" ]; then
		pass "$name: the output passes directord -t"
	else
		fail "$name: directord -t: exit $rc: $out"
	fi
done
[ "$count" -ge 3 ] && pass "$count golden files" || fail "only $count golden files in $fixtures"

# The same to stdout.
if (cd "$fixtures" && "$BUILD/directorctl" import-keepalived sync-group.conf 2>/dev/null) | cmp -s - "$fixtures/sync-group.ini"; then
	pass "without -o the output goes to stdout"
else
	fail "without -o the output goes to stdout"
fi

# Errors: FILE:LINE on stderr, exit 1, no output file.
printf 'vrrp_instance VI_1 {\n    interface eth0\n' >"$TMP/open.conf"
out=$("$BUILD/directorctl" import-keepalived -o "$TMP/open.ini" "$TMP/open.conf" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "$TMP/open.conf:1: unterminated block" <<<"$out" && [ ! -e "$TMP/open.ini" ]; then
	pass "unterminated block: exit 1 with FILE:LINE, nothing written"
else
	fail "unterminated block: exit $rc: $out"
fi
printf 'global_defs {\n}\ninclude missing.conf\n' >"$TMP/inc.conf"
out=$("$BUILD/directorctl" import-keepalived "$TMP/inc.conf" 2>&1 >/dev/null); rc=$?
if [ $rc = 1 ] && grep -qF "$TMP/inc.conf:3: include $TMP/missing.conf: No such file" <<<"$out"; then
	pass "missing include: exit 1 with FILE:LINE"
else
	fail "missing include: exit $rc: $out"
fi
out=$("$BUILD/directorctl" import-keepalived 2>&1); rc=$?
if [ $rc = 2 ] && grep -q 'import-keepalived \[-o out\]' <<<"$out"; then pass "no file: usage, exit 2"; else fail "no file: exit $rc: $out"; fi
exit $FAILED
