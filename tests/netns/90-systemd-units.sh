#!/usr/bin/env bash
# The units that make install ships, run by a real systemd: start, reload
# (a good file, then a bad one that must fail and change nothing), stop.
# systemd boots as PID 1 of a systemd-nspawn container whose root is a
# scratch directory (this host's /usr read-only, a copy of its /etc) with a
# network namespace of its own (--private-network): the daemons change
# addresses and sysctls there only. The copy of /etc has no user dsrkit:
# the container's systemd-sysusers creates it at boot from the file make
# install put in /etc/sysusers.d, as on a machine installed with DESTDIR,
# and both daemons run as it (their default user). SKIP without
# systemd-nspawn (the container: nspawn-lib.sh).
set -u
# shellcheck source=nspawn-lib.sh
. "$(dirname "$0")/nspawn-lib.sh"
nspawn_require "systemd units under systemd"
nspawn_root

if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" BUILD="$MKBUILD" install \
	DESTDIR="$R" PREFIX=/opt/dsrkit UNITDIR=/etc/systemd/system SYSUSERSDIR=/etc/sysusers.d >"$TMP/install.log" 2>&1; then
	pass "make install into the container's root"
else
	fail "make install: $(tail -5 "$TMP/install.log")"
	exit 1
fi
nspawn_configs "$R/etc/dsrkit"
nspawn_boot --bind-ro=/usr

# The daemons' user, made by the container's systemd-sysusers at boot.
if pw=$(X getent passwd dsrkit); then
	pass "systemd-sysusers in the container created dsrkit from the installed sysusers.d/dsrkit.conf ($pw)"
else
	fail "no user dsrkit in the container: $(X journalctl -u systemd-sysusers --no-pager -n 10 2>&1)"
fi
nspawn_lab

# The sandboxed daemon (ProtectSystem=strict, StateDirectory=) can still
# save the admin state in admin.d, its own; state_dir stays root's.
agent_state_ok() {
	X /opt/dsrkit/sbin/rs-agent drain >/dev/null && [ "$(cat "$R/var/lib/dsrkit/admin.d/admin")" = drain ] &&
		X /opt/dsrkit/sbin/rs-agent ready >/dev/null &&
		[ "$(stat -c '%u %a' "$R/var/lib/dsrkit")" = "0 755" ] &&
		[ "$(stat -c '%u %a' "$R/var/lib/dsrkit/applied")" = "0 644" ] &&
		[ "$(stat -c %u "$R/var/lib/dsrkit/admin.d")" != 0 ]
}
agent_ok() { X /opt/dsrkit/sbin/rs-agent check >/dev/null && agent_state_ok && runs_as_dsrkit rs-agent.service; }
unit_ok rs-agent.service /etc/dsrkit/rs-agent.ini agent_ok \
	"rs-agent check: VIP on lo, ARP settings right; drain and ready saved in admin.d; state_dir and applied root's; runs as dsrkit"

director_master_opt() { director_master /opt/dsrkit/sbin; }
if unit_ok directord.service /etc/dsrkit/director.ini director_master_opt "directorctl status: MASTER; runs as dsrkit"; then
	if X ip -br address show dev v0 | grep -q 198.18.0.80; then
		fail "directord.service: the VIP is still on v0 after stop"
	else
		pass "directord.service: stop removed the VIP"
	fi
fi
exit $FAILED
