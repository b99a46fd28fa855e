#!/usr/bin/env bash
# The user the daemons switch to (global.user), through both binaries:
# dsrkit when the file names none; nobody, which other daemons share, only
# when the file names it, with a warning (FILE:LINE) on stderr and still
# "configuration OK"; a missing default user refused, by -t and by the
# daemon itself, with how to create it. The missing user is made by
# bind-mounting a passwd without dsrkit over /etc/passwd in a private mount
# namespace, which is also a fresh network namespace (unshare -mn as root,
# unshare -rmn otherwise): this host's passwd is not touched, and a daemon
# that started after all (the old code did) finds only an empty network of
# its own. The tests/ runners make sure dsrkit exists.
set -u
BUILD=$(cd "${BUILD:?}" && pwd)
TMP=$(mktemp -d /tmp/dsrkit-user.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
skip() { echo "SKIP $*"; }

conf() {	# conf NAME BIN [global line...] -> $TMP/NAME.ini
	local f=$TMP/$1.ini bin=$2
	shift 2
	{
		echo "[global]"
		printf '%s\n' "$@"
		if [ "$bin" = rs-agent ]; then
			printf '%s\n' "vips = 198.18.0.10" "state_dir = $TMP/state" "control_socket = $TMP/rs.sock" \
				"pid_file = $TMP/rs.pid" "[agent]" "enabled = no"
		else
			printf '%s\n' "control_socket = $TMP/dd.sock" "[vrrp a]" "interface = lo" "virtual_router_id = 1" \
				"virtual_ipaddress = 192.0.2.1"
		fi
	} >"$f"
	chmod 644 "$f"
}

for bin in directord rs-agent; do
	B=$BUILD/$bin
	if getent passwd dsrkit >/dev/null; then
		conf default $bin
		out=$("$B" -t -v -f "$TMP/default.ini" 2>"$TMP/err"); rc=$?
		if [ $rc = 0 ] && grep -qx 'user = dsrkit' <<<"$out" && [ ! -s "$TMP/err" ]; then
			pass "$bin -t -v, no user key: user = dsrkit, no warning"
		else
			fail "$bin -t -v, no user key: exit $rc, user line '$(grep '^user' <<<"$out")', stderr: $(cat "$TMP/err")"
		fi
	else
		fail "$bin: no system user dsrkit here to check the default with (tests/run-unit.sh creates it as root)"
	fi
	conf nobody $bin "user = nobody"
	out=$("$B" -t -f "$TMP/nobody.ini" 2>"$TMP/err"); rc=$?
	if [ $rc = 0 ] && [ "$out" = "configuration OK" ] &&
		grep -q "^$TMP/nobody.ini:2: global.user: warning: 'nobody' (uid [0-9]*) is shared with other daemons" "$TMP/err"; then
		pass "$bin -t, user = nobody named: accepted, with the warning at FILE:2 ($(cat "$TMP/err"))"
	else
		fail "$bin -t, user = nobody named: exit $rc, stdout '$out', stderr '$(cat "$TMP/err")'"
	fi
	conf root $bin "user = root"
	out=$("$B" -t -f "$TMP/root.ini" 2>&1); rc=$?
	if [ $rc = 1 ] && grep -qF "$TMP/root.ini:2: global.user: the daemon must not run as root" <<<"$out"; then
		pass "$bin -t, user = root: refused"
	else
		fail "$bin -t, user = root: exit $rc: $out"
	fi
done

# No dsrkit in the passwd file: -t and the daemons refuse the default, saying how to create it.
if [ "$(id -u)" = 0 ]; then ushare=(unshare -mn); else ushare=(unshare -rmn); fi
grep -v '^dsrkit:' /etc/passwd >"$TMP/passwd"
chmod 644 "$TMP/passwd"
if ! "${ushare[@]}" sh -c 'mount --bind "$1" /etc/passwd && ! getent passwd dsrkit >/dev/null' _ "$TMP/passwd" 2>/dev/null; then
	skip "a missing dsrkit user: cannot bind-mount a passwd in a private mount namespace here (${ushare[*]})"
	exit $FAILED
fi
without_dsrkit() { "${ushare[@]}" sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' _ "$TMP/passwd" "$@"; }
want="global.user: no such user 'dsrkit' (the default): create it with 'systemd-sysusers' (make install does), or with 'useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dsrkit'"
conf default directord
conf default-rs rs-agent
refused() {	# refused FILE cmd...
	local f=$1 out rc
	shift
	out=$(without_dsrkit timeout 10 "$@" 2>&1); rc=$?
	if [ $rc = 1 ] && grep -qF "$f:1: $want" <<<"$out" && ! grep -q "configuration OK" <<<"$out"; then
		pass "${*#"$BUILD"/}, no user dsrkit: exit 1, says how to create it"
	else
		fail "${*#"$BUILD"/}, no user dsrkit: exit $rc (want 1 and '$f:1: $want'): $out"
	fi
}
refused "$TMP/default.ini" "$BUILD/directord" -t -f "$TMP/default.ini"
refused "$TMP/default.ini" "$BUILD/directord" -n -f "$TMP/default.ini"
refused "$TMP/default-rs.ini" "$BUILD/rs-agent" -t -f "$TMP/default-rs.ini"
refused "$TMP/default-rs.ini" "$BUILD/rs-agent" -f "$TMP/default-rs.ini" run
conf named-missing directord "user = dsrkit-no-such-user"
out=$("$BUILD/directord" -t -f "$TMP/named-missing.ini" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qxF "$TMP/named-missing.ini:2: global.user: no such user 'dsrkit-no-such-user'" <<<"$out"; then
	pass "directord -t, a named user missing: exit 1, no such user, at its line"
else
	fail "directord -t, a named user missing: exit $rc: $out"
fi
exit $FAILED
