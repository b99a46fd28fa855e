#!/usr/bin/env bash
# The Debian packages of `make deb`, installed as an operator would on a
# machine booted with systemd (the container of nspawn-lib.sh, with this
# host's /usr under a writable overlay and a copy of its dpkg database, so
# apt and the maintainer scripts run for real): lintian finds no error or
# warning; installing creates the user dsrkit and enables both units but
# starts nothing without a configuration; with one, both units start,
# `rs-agent check` exits 0, reloads work (and a bad file is refused);
# `apt-get remove` leaves only the operator's files, the state and the
# user; `apt-get purge` leaves only the user (Debian leaves system users)
# and no file of it. SKIP without systemd-nspawn.
set -u
# shellcheck source=nspawn-lib.sh
. "$(dirname "$0")/nspawn-lib.sh"
nspawn_require "Debian packages"
nspawn_root

DEB=$BUILD/deb
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" BUILD="$MKBUILD" deb >"$TMP/deb.log" 2>&1; then
	pass "make deb"
else
	fail "make deb: $(tail -30 "$TMP/deb.log")"
	exit 1
fi
mapfile -t debs < <(cd "$DEB" && ls dsrkit-*.deb)
if [ "${debs[*]}" = "dsrkit-director_$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)_$(dpkg --print-architecture).deb dsrkit-rs-agent_$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)_$(dpkg --print-architecture).deb" ] &&
	ls "$DEB"/dsrkit_*.dsc "$DEB"/dsrkit_*.tar.* "$DEB"/dsrkit_*.changes >/dev/null; then
	pass "make deb: the two binary packages and the source package in \$BUILD/deb (${debs[*]})"
else
	fail "make deb: in $DEB: $(ls "$DEB")"
fi
if [ -s "$DEB/lintian.txt" ] && ! grep -qE '^[EW]: ' "$DEB/lintian.txt"; then
	pass "lintian: no error and no warning on the source and binary packages"
else
	fail "lintian: $(grep -E '^[EW]: ' "$DEB/lintian.txt" 2>&1 | head -20)"
fi
# The Makefile took dpkg-buildflags' flags from the environment and kept
# its own: each compile line has both (-ffile-prefix-map is dpkg's,
# -Werror the project's), each link line dpkg's -z now; the binary shows it.
compiles=$(grep -cE '^cc .* -c -o build/' "$TMP/deb.log")
mixed=$(grep -E '^cc .* -c -o build/' "$TMP/deb.log" | grep -e '-ffile-prefix-map=' | grep -e '-Werror ' | grep -c -e '-D_FORTIFY_SOURCE=2')
links=$(grep -cE '^cc .* -o build/(directord|directorctl|rs-agent) ' "$TMP/deb.log")
now=$(grep -E '^cc .* -o build/(directord|directorctl|rs-agent) ' "$TMP/deb.log" | grep -c -e '-Wl,-z,now')
mkdir -p "$TMP/x" && dpkg-deb -x "$DEB/${debs[0]}" "$TMP/x"
if [ "$compiles" -gt 0 ] && [ "$mixed" = "$compiles" ] && [ "$links" = 3 ] && [ "$now" = 3 ] &&
	readelf -d "$TMP/x/usr/sbin/directord" | grep -q 'FLAGS_1.*NOW PIE'; then
	pass "the build: Debian's hardening flags and the project's warnings on all $compiles compile lines, -z now on the links; directord is PIE, bound now"
else
	fail "the build's flags: $mixed of $compiles compile lines, $now of $links links: $(grep -m1 -E '^cc .* -c -o build/' "$TMP/deb.log")"
fi
# Nothing live in /etc: a sample configuration would bring its VIPs up.
etc=$(for d in "${debs[@]}"; do dpkg-deb -c "$DEB/$d"; done | awk '$6 ~ /^\.\/etc\// && $1 !~ /^d/ { print $6 }')
[ -z "$etc" ] && pass "the packages install no file in /etc" || fail "the packages install in /etc: $etc"

# The container: /usr writable over this host's, and the host's dpkg
# database, so that apt resolves the packages' dependencies (the libraries
# the build needed are installed here).
mkdir -p "$TMP/usr-upper" "$R"/var/lib/apt/lists/partial "$R"/var/cache/apt/archives/partial "$R"/var/log/apt
cp -a /var/lib/dpkg "$R/var/lib/dpkg"
mkdir -p "$R/root/debs"
for d in "${debs[@]}"; do cp "$DEB/$d" "$R/root/debs/"; done
nspawn_boot --overlay="/usr:$TMP/usr-upper:/usr"
# A container image's policy-rc.d (exit 101) stops maintainer scripts from
# starting or stopping anything; this machine is to behave as a real one.
X rm -f /usr/sbin/policy-rc.d
nspawn_lab
if X getent passwd dsrkit >/dev/null; then
	fail "the container has a user dsrkit before the packages are installed"
	exit 1
fi

apt_in() { X env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends "$@" >"$TMP/apt.log" 2>&1; }
if apt_in install "${debs[@]/#//root/debs/}"; then
	pass "apt-get install ./dsrkit-*.deb in the container"
else
	fail "apt-get install: $(tail -20 "$TMP/apt.log")"
	exit 1
fi
if pw=$(X getent passwd dsrkit); then
	pass "the packages' postinst created the user dsrkit from sysusers.d ($pw)"
else
	fail "no user dsrkit after installing: $(tail -20 "$TMP/apt.log")"
fi
for u in directord.service rs-agent.service; do
	en=$(X systemctl is-enabled "$u") st=$(X systemctl show -P ActiveState "$u") cond=$(X systemctl show -P ConditionResult "$u")
	if [ "$en" = enabled ] && [ "$st" = inactive ] && [ "$cond" = no ] && ! X pgrep -x "${u%.service}" >/dev/null; then
		pass "$u: enabled, and not started without a configuration (postinst's start skipped: ConditionPathExists)"
	else
		fail "$u: enabled '$en', state '$st', condition '$cond': $(journal "$u")"
	fi
done

nspawn_configs "$R/etc/dsrkit"
# No -f: the packaged programs look in /etc/dsrkit (SYSCONFDIR=/etc).
out=$(X /usr/sbin/directord -t 2>&1)
[ "$out" = "configuration OK" ] && pass "directord -t reads /etc/dsrkit/director.ini: configuration OK" ||
	fail "directord -t without -f: $out"
agent_ok() { X /usr/sbin/rs-agent check >/dev/null && runs_as_dsrkit rs-agent.service; }
unit_ok rs-agent.service /etc/dsrkit/rs-agent.ini agent_ok "rs-agent check exits 0; runs as dsrkit"
director_master_usr() { director_master /usr/sbin; }
unit_ok directord.service /etc/dsrkit/director.ini director_master_usr "directorctl status: MASTER; runs as dsrkit"
if X journalctl -u directord.service --no-pager | grep -q 'reloading /etc/dsrkit/director.ini'; then
	pass "directord.service: its journal shows the reload of /etc/dsrkit/director.ini"
else
	fail "directord.service: no reload in its journal: $(journal directord.service)"
fi

# Removing running daemons: the packages' files go, the operator's
# configuration, rs-agent's state (and its VIP, as documented) and the
# user stay.
X systemctl start rs-agent.service directord.service &&
	wait_until 5 director_master_usr || fail "restarting both units before the removal: $(journal directord.service)"
X dpkg-query -L dsrkit-director dsrkit-rs-agent >"$TMP/files" || fail "dpkg-query -L"
gone() {	# gone: none of the packages' files, nor their doc directories, is left
	local f left=
	while read -r f; do
		[ -n "$f" ] && X test -d "$f" && continue	# shared directories (/usr/sbin, /lib...)
		[ -n "$f" ] && { X test -e "$f" || X test -L "$f"; } && left="$left $f"
	done <"$TMP/files"
	for f in /usr/share/doc/dsrkit-director /usr/share/doc/dsrkit-rs-agent; do
		X test -e "$f" && left="$left $f"
	done
	[ -z "$left" ] || { echo "left:$left"; return 1; }
}
if apt_in remove dsrkit-director dsrkit-rs-agent; then
	pass "apt-get remove dsrkit-director dsrkit-rs-agent"
else
	fail "apt-get remove: $(tail -20 "$TMP/apt.log")"
fi
if ! X pgrep -x directord >/dev/null && ! X pgrep -x rs-agent >/dev/null && out=$(gone) &&
	! X test -e /run/dsrkit && ! X ip -br address show dev v0 | grep -q 198.18.0.80; then
	pass "remove: the daemons stopped (directord took its VIP away), every file of the packages and /run/dsrkit gone"
else
	fail "remove: $(X pgrep -a directord; X pgrep -a rs-agent) ${out:-} $(X ls -la /run/dsrkit 2>&1)"
fi
if X test -f /etc/dsrkit/director.ini && X test -f /etc/dsrkit/rs-agent.ini && X test -f /var/lib/dsrkit/applied &&
	X getent passwd dsrkit >/dev/null && X ip -br address show dev lo | grep -q 198.18.0.90; then
	pass "remove: the configuration, /var/lib/dsrkit, the user dsrkit and rs-agent's VIP on lo stay"
else
	fail "remove: $(X ls -la /etc/dsrkit /var/lib/dsrkit 2>&1)"
fi

uid=$(X id -u dsrkit)
if apt_in purge dsrkit-director dsrkit-rs-agent; then
	pass "apt-get purge dsrkit-director dsrkit-rs-agent"
else
	fail "apt-get purge: $(tail -20 "$TMP/apt.log")"
fi
left=
for p in dsrkit-director dsrkit-rs-agent; do
	X dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv not-installed && left="$left $p($(X dpkg-query -W -f='${db:Status-Status}' "$p"))"
done
for f in /etc/dsrkit /var/lib/dsrkit /run/dsrkit /usr/lib/sysusers.d/dsrkit-director.conf /usr/lib/sysusers.d/dsrkit-rs-agent.conf; do
	X test -e "$f" && left="$left $f"
done
left="$left $(X find /etc/systemd /var/lib/systemd -name 'directord*' -o -name 'rs-agent*' 2>/dev/null | tr '\n' ' ')"
out=$(gone) || left="$left $out"
owned=$(X find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -uid "$uid" -print 2>/dev/null | head -5)
if [ -z "${left// /}" ] && [ -z "$owned" ]; then
	pass "purge: no package state, no file of the packages, no /etc/dsrkit, /var/lib/dsrkit, /run/dsrkit or unit link; no file owned by dsrkit"
else
	fail "purge left:$left ${owned:+owned by dsrkit: $owned}"
fi
# Debian policy: a system user stays after purge (a reused uid would own
# whatever files it left); userdel removes it.
X getent passwd dsrkit >/dev/null && pass "purge: the user dsrkit stays, as Debian leaves system users" ||
	fail "purge removed the user dsrkit"
exit $FAILED
