# What a machine installs, run by a real systemd: these helpers boot
# systemd as PID 1 of a systemd-nspawn container (90: make install's units;
# 91: the Debian packages). Its root is a scratch directory: a copy of
# this host's /etc without the user dsrkit (so what is under test must
# create it), this host's /usr (read-only, or under a writable overlay for
# a package manager; the caller says which), a /var of its own, and a
# network namespace of its own (--private-network), so the daemons change
# addresses and sysctls there only. Sourced; sets the EXIT trap, which
# shuts the container down and removes the scratch directory.
set -u
BUILD=${BUILD:?BUILD must point at the build directory}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $BUILD in "$root"/*) MKBUILD=${BUILD#"$root"/} ;; *) MKBUILD=$BUILD ;; esac
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
skip() { echo "SKIP $*"; }

# nspawn_require WHAT: SKIP the test (exit 0) when no container can run here.
nspawn_require() {
	if ! command -v systemd-nspawn >/dev/null; then
		skip "$1: systemd-nspawn is not installed (Debian package systemd-container)"
		exit 0
	fi
	[ "$(id -u)" = 0 ] || { skip "$1: needs root (systemd-nspawn)"; exit 0; }
}

TMP=
R=
NSPAWN_PID=
CPID=
nspawn_cleanup() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID"	# nspawn shuts the container down
		for _ in $(seq 200); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap nspawn_cleanup EXIT
trap 'exit 130' INT TERM

# nspawn_root: the container's root in a new scratch directory, $R ($TMP
# holds it and what the test keeps), less /usr (nspawn_boot's options).
nspawn_root() {
	TMP=$(mktemp -d /tmp/dsrkit-nspawn.XXXXXX)
	R=$TMP/root
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
}

X() { nsenter -t "$CPID" -a "$@"; }

# nspawn_boot NSPAWN-OPTIONS...: boot the container (the options mount its
# /usr) and wait until its systemd has booted; exit the test when it does not.
nspawn_boot() {
	local state=
	systemd-nspawn -q -D "$R" "$@" --private-network --register=no --keep-unit \
		-M "dsrkit$$" -b systemd.unit=basic.target >"$TMP/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	# The container's PID 1, once it is systemd: nspawn's first child is
	# a helper that exits once it has started the container, so the first
	# child seen may be gone by the time it is asked.
	for _ in $(seq 300); do
		CPID=$(pgrep -x -P "$NSPAWN_PID" systemd | head -1)
		[ -n "$CPID" ] && break
		sleep 0.1
	done
	# Until the container's systemd answers on its bus and has booted.
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
}

# nspawn_lab: the link the configurations of nspawn_configs use, v0
# (198.18.0.1/24), a veth whose peer is up in the container too.
nspawn_lab() {
	X ip link add v0 type veth peer name v1 && X ip addr add 198.18.0.1/24 dev v0 &&
		X ip link set v0 up && X ip link set v1 up || { fail "veth pair in the container"; exit 1; }
}

# nspawn_configs DIR: a director.ini (one VRRP instance, VIP 198.18.0.80
# on v0, a virtual server; no IPVS trap for directord -t to warn about)
# and an rs-agent.ini (VIP 198.18.0.90, agent on 127.0.0.1:5555, a tcp
# check) in DIR, each leaving user at dsrkit.
nspawn_configs() {
	cat >"$1/director.ini" <<'EOF'
[global]
ipvs_expire_nodest_conn = 1

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
	cat >"$1/rs-agent.ini" <<'EOF'
[global]
vips = 198.18.0.90

[agent]
listen = 127.0.0.1:5555
allow = 127.0.0.1

[check web]
type = tcp
port = 80
EOF
	chmod 644 "$1/director.ini" "$1/rs-agent.ini"
}

wait_until() {	# wait_until SECONDS cmd...: poll every 100 ms
	local end=$((SECONDS + $1))
	shift
	until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
journal() { X journalctl -u "$1" --no-pager -n 15 2>&1 | tail -15; }
runs_as_dsrkit() {	# runs_as_dsrkit UNIT: its main process's uid is the container's dsrkit
	local pid uid
	pid=$(X systemctl show -P MainPID "$1")
	uid=$(X awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)	# the container's pid and /proc
	[ -n "$uid" ] && [ "$uid" = "$(X id -u dsrkit 2>/dev/null)" ]
}
# director_master SBINDIR: directorctl says the instance of nspawn_configs
# is master within 5 s, and directord runs as dsrkit.
director_master() {
	wait_until 5 bash -c "nsenter -t $CPID -a $1/directorctl status | grep -q '^vrrp web *MASTER'" &&
		runs_as_dsrkit directord.service
}

# unit_ok UNIT CONF CHECK WHAT: started, CHECK holds (PASS "UNIT: WHAT"),
# reloaded with a good file, then a bad one (must fail with its error and
# change nothing), CHECK still holds, stopped cleanly.
unit_ok() {
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
