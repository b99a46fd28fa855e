#!/usr/bin/env bash
# make install into scratch directories, without root: every file where it
# belongs with its mode, the units' @SBINDIR@ substituted, the installed
# example configurations accepted by the installed binaries (with their
# commented-out keys too), the units' ExecStartPre and ExecReload command
# lines run against the installed files, every installed man page rendered
# by man -l without a warning, and systemd-analyze verify on the units.
# No systemd manager is needed: the units are not started.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${BUILD:?}" && pwd)
# make reads BUILD relative to the tree, as the rest of the suite gives it.
case $BUILD in "$root"/*) MKBUILD=${BUILD#"$root"/} ;; *) MKBUILD=$BUILD ;; esac
TMP=$(mktemp -d /tmp/dsrkit-install.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
skip() { echo "SKIP $*"; }

# A make of its own: not the jobserver of a make that may be running us.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" BUILD="$MKBUILD" "$@"; }

D=$TMP/destdir
if mk install DESTDIR="$D" PREFIX=/usr >"$TMP/install.log" 2>&1; then
	pass "make install DESTDIR=... PREFIX=/usr"
else
	fail "make install DESTDIR=... PREFIX=/usr: $(tail -20 "$TMP/install.log")"
	exit 1
fi

# Under root (as in make check), install once more as an unprivileged user:
# the target must not need root. nobody may not reach the checkout (under
# /root, say, mode 0700), so it installs from a copy of the tree and of the
# built files in a fresh directory it can read.
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
		U=$TMP/unpriv
		mkdir -p "$U/tree/build" "$U/home" && chown nobody "$U/home"
		tar -C "$root" --exclude=./.git --exclude=./build -cf - . | tar -C "$U/tree" -xf - &&
			tar -C "$BUILD" --exclude=./vm --exclude=./asan --exclude=./fuzz -cf - . | tar -C "$U/tree/build" -xf - &&
			chmod -R a+rX "$U/tree"
		if setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups env HOME="$U/home" \
			bash -c "$(declare -f mk); root='$U/tree' MKBUILD=build mk install DESTDIR='$U/home/d' PREFIX=/usr" \
			>"$U/log" 2>&1 && [ -x "$U/home/d/usr/sbin/directord" ]; then
			pass "make install as an unprivileged user (nobody), from a copy it can read"
		else
			fail "make install as nobody: $(tail -20 "$U/log")"
		fi
	else
		skip "make install as an unprivileged user: no setpriv or no user nobody to run it as"
	fi
else
	pass "make install ran as uid $(id -u), not root"
fi

# Every file, nothing else, with its mode.
expected="644 etc/dsrkit/director.ini.example
644 etc/dsrkit/rs-agent.ini.example
644 lib/systemd/system/directord.service
644 lib/systemd/system/rs-agent.service
644 usr/lib/sysusers.d/dsrkit.conf
755 usr/sbin/directorctl
755 usr/sbin/directord
755 usr/sbin/rs-agent
644 usr/share/doc/dsrkit/prometheus/dsrkit-alerts.yml
644 usr/share/doc/dsrkit/prometheus/dsrkit-dashboard.json
644 usr/share/man/man5/director.ini.5
644 usr/share/man/man5/rs-agent.ini.5
644 usr/share/man/man7/dsrkit.7
644 usr/share/man/man8/directorctl.8
644 usr/share/man/man8/directord.8
644 usr/share/man/man8/rs-agent.8"
got=$(cd "$D" && find . -type f -printf '%m %P\n' | LC_ALL=C sort -k2)
if [ "$got" = "$expected" ]; then
	pass "installed files and modes ($(wc -l <<<"$got") files)"
else
	fail "installed files and modes differ (- expected, + installed): $(diff <(echo "$expected") <(echo "$got") | grep '^[<>]' | tr '<>' '-+' | tr '\n' ' ')"
fi
if [ ! -e "$D/etc/dsrkit/director.ini" ]; then
	pass "no director.ini installed (it would bring VIPs up)"
else
	fail "director.ini installed"
fi
if [ ! -e "$D/etc/dsrkit/rs-agent.ini" ]; then
	pass "no rs-agent.ini installed (its sample VIPs would go on this host's loopback)"
else
	fail "rs-agent.ini installed"
fi
bad_dirs=$(cd "$D" && find . -type d ! -perm 755 -printf '%m %P\n')
if [ -z "$bad_dirs" ]; then pass "directories are mode 0755"; else fail "directories not 0755: $bad_dirs"; fi
# A second install keeps the files the operator wrote.
echo "; edited" >"$D/etc/dsrkit/rs-agent.ini"
if mk install DESTDIR="$D" PREFIX=/usr >"$TMP/install2.log" 2>&1 && grep -q '^; edited$' "$D/etc/dsrkit/rs-agent.ini"; then
	pass "a second make install keeps an existing rs-agent.ini"
	rm -f "$D/etc/dsrkit/rs-agent.ini"
else
	fail "a second make install: $(tail -5 "$TMP/install2.log"), rs-agent.ini edited line kept: $(grep -c '^; edited$' "$D/etc/dsrkit/rs-agent.ini")"
fi

# The units: @SBINDIR@ replaced, every command an installed binary.
for u in directord rs-agent; do
	f=$D/lib/systemd/system/$u.service
	if grep -q '@[A-Z_]*@' "$f"; then
		fail "$u.service: unsubstituted: $(grep '@[A-Z_]*@' "$f" | tr '\n' ' ')"
		continue
	fi
	ok=1
	while read -r cmd; do
		case $cmd in /usr/sbin/*) [ -x "$D$cmd" ] || { ok=0; fail "$u.service: $cmd is not installed"; } ;;
		*) ok=0; fail "$u.service: command $cmd is not in /usr/sbin" ;; esac
	done < <(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$f" | grep -vx -- '-+/sbin/modprobe')
	n=$(grep -c '^Exec[A-Za-z]*=/usr/sbin/' "$f")
	[ $ok = 1 ] && [ "$n" -ge 3 ] && pass "$u.service: @SBINDIR@ substituted, $n commands in /usr/sbin, all installed"
	[ "$n" -ge 3 ] || fail "$u.service: $n Exec lines with /usr/sbin (want ExecStartPre, ExecStart, ExecReload)"
done

# The installed examples pass the installed binaries' -t.
check_ok() {	# check_ok DESC cmd...
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1); rc=$?
	if [ $rc = 0 ] && [ "$out" = "configuration OK" ]; then pass "$desc"; else fail "$desc: exit $rc: $out"; fi
}
check_ok "installed director.ini.example passes directord -t" "$D/usr/sbin/directord" -t -f "$D/etc/dsrkit/director.ini.example"
check_ok "installed rs-agent.ini.example passes rs-agent -t" "$D/usr/sbin/rs-agent" -t -f "$D/etc/dsrkit/rs-agent.ini.example"
# The keys the examples leave commented out are valid once uncommented:
# the virtual server of director.ini.example (with its real_servers list,
# not the real_server lines offered instead), every key of rs-agent's.
sed '/^;\[virtual_server /,$ { /^;real_server = /b; s/^;\(\[\|[a-z_]* = \)/\1/ }' \
	"$D/etc/dsrkit/director.ini.example" >"$TMP/director-vs.ini"
chmod 644 "$TMP/director-vs.ini"
if grep -q '^\[virtual_server ' "$TMP/director-vs.ini"; then
	check_ok "director.ini.example with its virtual server uncommented passes -t" \
		"$D/usr/sbin/directord" -t -f "$TMP/director-vs.ini"
else
	fail "director.ini.example has no commented [virtual_server] section to try"
fi
sed 's/^;\([a-z_]* = \)/\1/' "$D/etc/dsrkit/rs-agent.ini.example" >"$TMP/rs-agent-all.ini"
chmod 644 "$TMP/rs-agent-all.ini"
check_ok "rs-agent.ini.example with every key uncommented passes -t" \
	"$D/usr/sbin/rs-agent" -t -f "$TMP/rs-agent-all.ini"

# A unit's command line, with the paths of the installed tree: /usr/sbin/X
# is $D/usr/sbin/X; a file under /etc is the installed one, or its
# .example when only that is installed (director.ini, rs-agent.ini).
unit_cmd() {	# unit_cmd UNIT KEY -> words in the array CMD
	local line w
	line=$(sed -n "s|^$2=\(/usr/sbin/\)|\1|p" "$D/lib/systemd/system/$1.service" | head -1)	# ours, not modprobe
	CMD=()
	for w in $line; do
		if [ "${w#/}" != "$w" ] && [ -e "$D$w" ]; then w=$D$w
		elif [ "${w#/}" != "$w" ] && [ -e "$D$w.example" ]; then w=$D$w.example
		fi
		CMD+=("$w")
	done
	[ ${#CMD[@]} -gt 0 ]
}
for u in directord rs-agent; do
	if unit_cmd "$u" ExecStartPre; then
		check_ok "$u.service ExecStartPre (${CMD[*]#"$D"}) on the installed file" "${CMD[@]}"
	else
		fail "$u.service has no ExecStartPre"
	fi
done

# ExecReload against a daemon that does not run: a clear error and exit 1,
# not a crash or a hang. The configuration is the installed one with its
# control socket moved into $TMP, so that no daemon of this host is asked.
python_stale_socket() {	# bind a unix socket and leave it behind, unlistened
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$1"
}
for u in directord rs-agent; do
	if ! unit_cmd "$u" ExecReload; then fail "$u.service has no ExecReload"; continue; fi
	file=
	for ((i = 0; i < ${#CMD[@]}; i++)); do [ "${CMD[$i]}" = -f ] && file=${CMD[$((i + 1))]} && fidx=$((i + 1)); done
	if [ -z "$file" ]; then fail "$u.service ExecReload has no -f FILE: ${CMD[*]}"; continue; fi
	sock=$TMP/$u-reload.sock
	sed "s|^;control_socket = .*|control_socket = $sock|" "$file" >"$TMP/$u-reload.ini"
	chmod 644 "$TMP/$u-reload.ini"
	if ! grep -q "^control_socket = $sock\$" "$TMP/$u-reload.ini"; then
		fail "$u: no ';control_socket =' line in $file to point elsewhere"
		continue
	fi
	CMD[$fidx]=$TMP/$u-reload.ini
	for kind in missing stale; do
		rm -f "$sock"
		want="No such file or directory"
		if [ $kind = stale ]; then
			command -v python3 >/dev/null || { skip "$u.service ExecReload with a stale socket: no python3 to make one"; continue; }
			python_stale_socket "$sock" || { fail "$u: could not make a stale socket"; continue; }
			want="Connection refused"
		fi
		out=$(timeout 10 "${CMD[@]}" 2>&1); rc=$?
		if [ $rc = 1 ] && grep -qF "$sock" <<<"$out" && grep -qF "$want" <<<"$out"; then
			pass "$u.service ExecReload, no daemon ($kind socket): exit 1, '$out'"
		else
			fail "$u.service ExecReload, no daemon ($kind socket): exit $rc (want 1, naming $sock: $want): $out"
		fi
	done
done

# make uninstall takes away what install put, and leaves what the operator
# wrote.
echo "; mine" >"$D/etc/dsrkit/director.ini"
if mk uninstall DESTDIR="$D" PREFIX=/usr >"$TMP/uninstall.log" 2>&1; then
	left=$(cd "$D" && find . -type f -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')
	if [ "$left" = "etc/dsrkit/director.ini " ]; then
		pass "make uninstall removes every installed file, keeps the operator's director.ini"
	else
		fail "make uninstall left: $left"
	fi
	if grep -q "userdel dsrkit" "$TMP/uninstall.log"; then pass "... and says what it leaves"; else fail "make uninstall: $(cat "$TMP/uninstall.log")"; fi
else
	fail "make uninstall: $(tail -5 "$TMP/uninstall.log")"
fi
mk install DESTDIR="$D" PREFIX=/usr >"$TMP/install3.log" 2>&1 || fail "make install again: $(tail -5 "$TMP/install3.log")"
rm -f "$D/etc/dsrkit/director.ini"

# Another SYSCONFDIR: the files go there, the units name it, and the
# programs look there when not told (their default is compiled in, so the
# objects that hold it are built again). In a copy of the tree and build,
# so that this build keeps its own default, with this build's flags (the
# sanitizers' in make asan).
SAN=()
ldd "$BUILD/directord" 2>/dev/null | grep -q libasan && SAN=(SANITIZE=1)
C=$TMP/confdir
mkdir -p "$C/tree/build"
copied=0
tar -C "$root" --exclude=./.git --exclude=./build -cf - . | tar -C "$C/tree" -xf - &&
	tar -C "$BUILD" --exclude=./vm --exclude=./asan --exclude=./fuzz -cf - . | tar -C "$C/tree/build" -xf - && copied=1
mkc() { (root=$C/tree MKBUILD=build mk "$@" "${SAN[@]}"); }
if [ $copied = 1 ] && mkc install DESTDIR="$C/d" PREFIX=/usr SYSCONFDIR=/opt/etc >"$C/log" 2>&1; then
	if [ -f "$C/d/opt/etc/dsrkit/director.ini.example" ] && [ ! -e "$C/d/etc/dsrkit" ]; then
		pass "SYSCONFDIR=/opt/etc: the examples go to /opt/etc/dsrkit"
	else
		fail "SYSCONFDIR=/opt/etc: $(cd "$C/d" && find . -name '*.example')"
	fi
	n=$(cat "$C/d/lib/systemd/system/directord.service" "$C/d/lib/systemd/system/rs-agent.service" | grep -c -- '-f /opt/etc/dsrkit/')
	if [ "$n" = 6 ] && ! grep -q '/etc/dsrkit' <(sed 's|/opt/etc/dsrkit||g' "$C/d/lib/systemd/system/"*.service); then
		pass "SYSCONFDIR=/opt/etc: the units name /opt/etc/dsrkit in all 6 commands"
	else
		fail "SYSCONFDIR=/opt/etc: the units: $(grep -h 'etc/dsrkit' "$C/d/lib/systemd/system/"*.service | tr '\n' ' ')"
	fi
	out=$("$C/d/usr/sbin/directord" -h 2>&1)
	if grep -qF "default /opt/etc/dsrkit/director.ini" <<<"$out"; then
		pass "SYSCONFDIR=/opt/etc: directord's default is /opt/etc/dsrkit/director.ini"
	else
		fail "SYSCONFDIR=/opt/etc: directord -h: $out"
	fi
	out=$("$C/d/usr/sbin/rs-agent" -t 2>&1)
	if grep -qF "/opt/etc/dsrkit/rs-agent.ini" <<<"$out"; then
		pass "SYSCONFDIR=/opt/etc: rs-agent looks for /opt/etc/dsrkit/rs-agent.ini"
	else
		fail "SYSCONFDIR=/opt/etc: rs-agent -t: $out"
	fi
else
	fail "make install SYSCONFDIR=/opt/etc in a copy: $(tail -20 "$C/log")"
fi
out=$("$BUILD/directord" -h 2>&1)
if grep -qF "default /etc/dsrkit/director.ini" <<<"$out"; then
	pass "this build keeps its own default (/etc/dsrkit/director.ini)"
else
	fail "this build's directord -h: $out"
fi

# The daemons' user. Into a DESTDIR only the sysusers file; otherwise
# systemd-sysusers on the tree's copy of it, else useradd, and nothing when
# the user exists. Stub commands stand in for getent (no dsrkit), for
# systemd-sysusers and useradd, so this host's passwd is not touched.
S=$TMP/stub
mkdir -p "$S"
# getent: no user dsrkit; a group dsrkit only with STUB_GROUP=1.
printf '#!/bin/sh\n[ "$1" = group ] && [ "${STUB_GROUP:-}" = 1 ] && exit 0\nexit 2\n' >"$S/getent"
for c in sysusers useradd; do printf '#!/bin/sh\necho "$*" >>%s/%s.log\n' "$S" "$c" >"$S/$c"; done
chmod 755 "$S"/*
stub_user() {	# stub_user DESC WANT_SYSUSERS WANT_USERADD make-args...
	local desc=$1 ws=$2 wu=$3 gs gu
	shift 3
	rm -f "$S"/*.log
	PATH=$S:$PATH mk install-user "$@" >"$TMP/user.log" 2>&1
	gs=$(cat "$S/sysusers.log" 2>/dev/null); gu=$(cat "$S/useradd.log" 2>/dev/null)
	if [ "$gs" = "$ws" ] && [ "$gu" = "$wu" ]; then pass "$desc"
	else fail "$desc: systemd-sysusers '$gs' (want '$ws'), useradd '$gu' (want '$wu'): $(cat "$TMP/user.log")"; fi
}
stub_user "make install-user with DESTDIR set creates no user on this host" "" "" DESTDIR="$D" SYSUSERS="$S/sysusers"
if grep -q "not creating the user dsrkit" "$TMP/user.log"; then pass "... and says so"; else fail "DESTDIR: no message: $(cat "$TMP/user.log")"; fi
stub_user "make install-user: systemd-sysusers on the tree's sysusers file" "$root/common/dsrkit-sysusers.conf" "" \
	DESTDIR= SYSUSERS="$S/sysusers"
stub_user "make install-user without systemd-sysusers: useradd --system, no home, nologin" "" \
	"--system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dsrkit" DESTDIR= SYSUSERS=dsrkit-no-such-sysusers
STUB_GROUP=1 stub_user "make install-user, useradd, a group dsrkit already there: joins it" "" \
	"--system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --gid dsrkit dsrkit" \
	DESTDIR= SYSUSERS=dsrkit-no-such-sysusers
if cmp -s "$root/common/dsrkit-sysusers.conf" "$D/usr/lib/sysusers.d/dsrkit.conf"; then
	pass "the installed sysusers.d/dsrkit.conf is the tree's"
else
	fail "the installed sysusers.d/dsrkit.conf differs from common/dsrkit-sysusers.conf"
fi
# The installed file, applied twice by the real systemd-sysusers to an
# empty root of its own: a system user dsrkit with its group, no home, no
# login, the same the second time.
if [ "$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null; then
	SR=$TMP/sysroot
	mkdir -p "$SR/etc"
	systemd-sysusers --root="$SR" "$D/usr/lib/sysusers.d/dsrkit.conf" >"$TMP/sysusers.log" 2>&1
	first=$(cat "$SR/etc/passwd" "$SR/etc/group" 2>/dev/null)
	systemd-sysusers --root="$SR" "$D/usr/lib/sysusers.d/dsrkit.conf" >>"$TMP/sysusers.log" 2>&1
	pw=$(grep '^dsrkit:' "$SR/etc/passwd" 2>/dev/null)
	IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
	if [ -n "$pw" ] && [ "$uid" -lt 1000 ] && [ "$uid" != 0 ] && [ "$home" = /nonexistent ] &&
		[ "$shell" = /usr/sbin/nologin ] && grep -q "^dsrkit:x:$gid:" "$SR/etc/group"; then
		pass "systemd-sysusers with the installed file: $pw"
	else
		fail "systemd-sysusers with the installed file: '$pw': $(cat "$TMP/sysusers.log")"
	fi
	if [ "$(cat "$SR/etc/passwd" "$SR/etc/group")" = "$first" ]; then
		pass "systemd-sysusers a second time changes nothing"
	else
		fail "systemd-sysusers a second time changed the passwd or group file"
	fi
	# Root without DESTDIR: the user exists afterwards, the same each time.
	before=$(getent passwd dsrkit)
	if mk install-user >"$TMP/user-real.log" 2>&1 && mk install-user >>"$TMP/user-real.log" 2>&1 &&
		getent passwd dsrkit >/dev/null && { [ -z "$before" ] || [ "$(getent passwd dsrkit)" = "$before" ]; }; then
		pass "make install-user as root, twice: the user dsrkit exists ($(getent passwd dsrkit))"
	else
		fail "make install-user as root, twice: $(cat "$TMP/user-real.log")"
	fi
else
	skip "systemd-sysusers with the installed file, make install-user on this host: needs root and systemd-sysusers"
fi

# Every installed man page renders without a warning.
if command -v man >/dev/null; then
	for f in "$D"/usr/share/man/man*/*; do
		out=$(MANWIDTH=80 man --warnings=w -l "$f" 2>"$TMP/man.err"); rc=$?
		if [ $rc = 0 ] && [ ! -s "$TMP/man.err" ] && [ -n "$out" ]; then
			pass "man -l ${f#"$D"/usr/share/man/}: no warnings"
		else
			fail "man -l ${f#"$D"/usr/share/man/}: exit $rc: $(head -5 "$TMP/man.err")"
		fi
	done
else
	skip "man -l of the installed pages: man is not installed"
fi

# systemd-analyze verify needs the units' programs at the paths they name
# and finds Documentation= pages through man, so it checks an install of
# its own, to a prefix without DESTDIR, where both are where the units say
# (from the copy: its SYSCONFDIR is compiled in).
if command -v systemd-analyze >/dev/null; then
	P=$TMP/prefix
	if [ $copied = 1 ] && mkc install DESTDIR= PREFIX="$P" SYSCONFDIR="$P/etc" UNITDIR="$P/lib/systemd/system" \
		SYSUSERSDIR="$P/lib/sysusers.d" >"$TMP/install3.log" 2>&1; then
		for u in directord rs-agent; do
			out=$(cd "$TMP" && MANPATH=$P/share/man systemd-analyze verify "$P/lib/systemd/system/$u.service" 2>&1); rc=$?
			if [ $rc = 0 ] && [ -z "$out" ]; then
				pass "systemd-analyze verify $u.service (commands and man pages found)"
			else
				fail "systemd-analyze verify $u.service: exit $rc: $out"
			fi
		done
	else
		fail "make install PREFIX=$P for systemd-analyze: $(tail -5 "$TMP/install3.log")"
	fi
else
	skip "systemd-analyze verify of the units: systemd-analyze is not installed"
fi
exit $FAILED
