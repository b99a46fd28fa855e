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
# systemd-nspawn.
set -u
BUILD=${BUILD:?BUILD must point at the build directory}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in "$root"/*) MKBUILD=${BUILD#"$root"/} ;; *) MKBUILD=$BUILD ;; esac
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
skip() { echo "SKIP $*"; }

if ! command -v systemd-nspawn >/dev/null; then
	skip "systemd units under systemd: systemd-nspawn is not installed (Debian package systemd-container)"
	exit 0
fi
[ "$(id -u)" = 0 ] || { skip "systemd units under systemd: needs root (systemd-nspawn)"; exit 0; }

TMP=$(mktemp -d /tmp/dsrkit-units.XXXXXX)
R=$TMP/root
NSPAWN_PID=
cleanup() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID"	# nspawn shuts the container down
		for _ in $(seq 200); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The container's root: /usr comes from the host, read-only.
mkdir -p "$R"/{usr,dev,proc,sys,run,tmp,var/lib,var/log,root,opt}
ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"
[ -e /usr/lib64 ] && ln -s usr/lib64 "$R/lib64"
cp -a /etc "$R/etc"
rm -rf "$R/etc/dsrkit" "$R/etc/os-release"
cp /usr/lib/os-release "$R/etc/os-release"	# nspawn looks for it before /usr is there
for f in passwd group shadow gshadow; do
	[ -f "$R/etc/$f" ] && sed -i '/^dsrkit:/d' "$R/etc/$f"
done
: >"$R/etc/machine-id"

if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" BUILD="$MKBUILD" install \
	DESTDIR="$R" PREFIX=/opt/dsrkit UNITDIR=/etc/systemd/system SYSUSERSDIR=/etc/sysusers.d >"$TMP/install.log" 2>&1; then
	pass "make install into the container's root"
else
	fail "make install: $(tail -5 "$TMP/install.log")"
	exit 1
fi
cat >"$R/etc/dsrkit/director.ini" <<'EOF'
[vrrp web]
interface = v0
virtual_router_id = 80
priority = 150
advert_interval = 100ms
virtual_ipaddress = 198.18.0.80/32

[virtual_server web]
address = 198.18.0.80:80
vrrp = web
check = tcp
real_server = 198.18.0.11:80
EOF
cat >"$R/etc/dsrkit/rs-agent.ini" <<'EOF'
[global]
vips = 198.18.0.90

[agent]
listen = 127.0.0.1:5555
allow = 127.0.0.1

[check web]
type = tcp
port = 80
EOF
chmod 644 "$R/etc/dsrkit/"*.ini

systemd-nspawn -q -D "$R" --bind-ro=/usr --private-network --register=no --keep-unit \
	-M "dsrkit$$" -b systemd.unit=basic.target >"$TMP/nspawn.log" 2>&1 &
NSPAWN_PID=$!
CPID=
for _ in $(seq 100); do
	CPID=$(pgrep -P "$NSPAWN_PID" | head -1)
	[ -n "$CPID" ] && break
	sleep 0.1
done
X() { nsenter -t "$CPID" -a "$@"; }
# Until the container's systemd answers on its bus and has booted.
state=
for _ in $(seq 600); do
	[ -n "$CPID" ] || break
	state=$(timeout 10 nsenter -t "$CPID" -a systemctl is-system-running 2>/dev/null)
	case $state in running | degraded) break ;; esac
	sleep 0.1
done
case $state in
running | degraded) pass "systemd runs as PID 1 of the container ($state)" ;;
*) fail "systemd in the container: '$state': $(tail -20 "$TMP/nspawn.log")"; exit 1 ;;
esac

# The daemons' user, made by the container's systemd-sysusers at boot.
if pw=$(X getent passwd dsrkit); then
	pass "systemd-sysusers in the container created dsrkit from the installed sysusers.d/dsrkit.conf ($pw)"
else
	fail "no user dsrkit in the container: $(X journalctl -u systemd-sysusers --no-pager -n 10 2>&1)"
fi
runs_as_dsrkit() {	# runs_as_dsrkit UNIT: its main process's uid is the container's dsrkit
	local pid uid
	pid=$(X systemctl show -P MainPID "$1")
	uid=$(X awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)	# the container's pid and /proc
	[ -n "$uid" ] && [ "$uid" = "$(X id -u dsrkit 2>/dev/null)" ]
}

X ip link add v0 type veth peer name v1 && X ip addr add 198.18.0.1/24 dev v0 &&
	X ip link set v0 up && X ip link set v1 up || { fail "veth pair in the container"; exit 1; }

wait_until() {	# wait_until SECONDS cmd...: poll every 100 ms
	local end=$((SECONDS + $1))
	shift
	until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
journal() { X journalctl -u "$1" --no-pager -n 15 2>&1 | tail -15; }
unit_ok() {	# unit_ok UNIT: started, reloaded with a good and a bad file, stopped
	local u=$1 conf=$2 rc
	if X systemctl start "$u"; then
		pass "$u: systemctl start"
	else
		fail "$u: systemctl start: $(journal "$u")"
		return 1
	fi
	[ "$(X systemctl is-active "$u")" = active ] && pass "$u: active" || fail "$u: not active: $(journal "$u")"
	"$3" && pass "$u: $4" || fail "$u: $4: $(journal "$u")"
	X systemctl reload "$u" && pass "$u: systemctl reload" || fail "$u: systemctl reload: $(journal "$u")"
	cp "$R$conf" "$TMP/good.ini"
	echo "bogus_key = 1" >>"$R$conf"
	X systemctl reload "$u" 2>/dev/null; rc=$?
	if [ $rc != 0 ] && [ "$(X systemctl is-active "$u")" = active ] && X journalctl -u "$u" --no-pager | grep -q 'bogus_key: unknown key'; then
		pass "$u: a reload with a bad file fails with its error and the daemon stays"
	else
		fail "$u: reload with a bad file: exit $rc, $(X systemctl is-active "$u"): $(journal "$u")"
	fi
	cp "$TMP/good.ini" "$R$conf"
	"$3" && pass "$u: $4 after the reloads" || fail "$u: $4 after the reloads"
	X systemctl stop "$u"; rc=$?
	if [ $rc = 0 ] && [ "$(X systemctl show -P Result "$u")" = success ] && [ "$(X systemctl is-active "$u")" = inactive ]; then
		pass "$u: systemctl stop: a clean exit"
	else
		fail "$u: systemctl stop: exit $rc, result $(X systemctl show -P Result "$u"): $(journal "$u")"
		return 1
	fi
}

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

director_master() {
	wait_until 5 bash -c "nsenter -t $CPID -a /opt/dsrkit/sbin/directorctl status | grep -q '^vrrp web *MASTER'" &&
		runs_as_dsrkit directord.service
}
if unit_ok directord.service /etc/dsrkit/director.ini director_master "directorctl status: MASTER; runs as dsrkit"; then
	if X ip -br address show dev v0 | grep -q 198.18.0.80; then
		fail "directord.service: the VIP is still on v0 after stop"
	else
		pass "directord.service: stop removed the VIP"
	fi
fi
exit $FAILED
