#!/usr/bin/env bash
# directord's LVS engine against ipvsadm and keepalived (Debian 2.2.7), on
# the real IPVS of the VM kernel of tests/vm (the host kernel has none),
# all in one VM run:
#
#   1. programming N services x K DR destinations from cold (10,000 x 4 =
#      50,000 objects, check = none): directord (start -> its "ipvs: start:
#      ... operations" log line), `ipvsadm -R` of the same rules (until it
#      exits) and keepalived with the equivalent keepalived.conf (no
#      checkers), each in a fresh namespace; for all three, when the kernel
#      shows every service and destination (lvs-poll, one poller for all);
#   2. reloads of that config with one destination's weight changed:
#      SIGHUP -> directord's "ipvs: reload:" line and its operation count,
#      and SIGHUP -> the kernel has the new weight (keepalived too);
#   3. CHECKED real servers (2,000) checked by tcp every second: CPU of
#      directord's LVS engine vs keepalived's checker child, per second of
#      wall time over CPU_SECONDS after WARMUP, and the checks that reached
#      the real servers (lvs-accept counts them);
#   4. peak memory (VmHWM of every process of the daemon, summed) with the
#      config of 1;
#   5. isolation: a VRRPv3 pair at ISO_INTERVAL_MS (10 ms) on a bridge; the
#      master starts with the config of 1 plus the checked servers of 3 and
#      programs it from cold, runs the checks ISO_CHECK_SECONDS, then is
#      reloaded; transitions logged by both daemons and advert source
#      changes on the wire (tcpdump on the bridge), per phase.
#
# Two halves in this one file. On the host (make bench-lvs, or
# `bench/lvs.sh [BUILD]` as root) it builds the helpers (bench/lvs-*.c,
# cc -O2, into BUILD/bench-lvs), waits for a quiet host, starts
# tests/vm/vm.sh with this script, watches the host's CPU while the VM
# runs, and writes the VM's report to bench/results-lvs.md with the host's
# conditions. Inside the VM (DSRKIT_VM=1) it measures.
#
# Settings (environment, defaults in brackets): N [10000] services, K [4]
# destinations each; CHECKED [2000] checked real servers, CHECK_K [4] per
# service; TRIALS [1] of part 1; RELOADS [5]; WARMUP [10] and CPU_SECONDS
# [30]; ISO_INTERVAL_MS [10], ISO_CHECK_SECONDS [30]; DAEMONS ["directord
# ipvsadm keepalived"]; PARTS ["program reload checks isolation"] (memory
# comes with program); KA_RELOAD [1] (also time keepalived's reload);
# VERIFY_LIST ["directord"] (whose table is also counted with `ipvsadm -L
# -n | wc -l`, slow under TCG); QUIET_MAX [15] and QUIET_WAIT [60] (in the
# VM, before each measurement: wait until the whole VM uses <= QUIET_MAX %
# of a CPU); host side: VM_CPUS [2], VM_MEM [2048] MiB, VM_TIMEOUT [3000]
# s, HOST_QUIET_MAX [15] and HOST_QUIET_WAIT [900] s (wait before starting
# the VM until other processes on the host use <= HOST_QUIET_MAX % of a
# core), RESULTS [bench/results-lvs.md].
#
# Namespaces (tests/netns/lib.sh) and every process started are removed
# on every exit path; addresses are 198.18.0.0/15 only; every loop and
# wait is bounded. Nothing is asserted: numbers are measured and
# reported; the exit status is non-zero only when a measurement could not
# be made.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SETTINGS="N K CHECKED CHECK_K TRIALS RELOADS WARMUP CPU_SECONDS ISO_INTERVAL_MS ISO_CHECK_SECONDS ISO_IDLE_SECONDS KEEP_LOGS DAEMONS PARTS KA_RELOAD VERIFY_LIST QUIET_MAX QUIET_WAIT"
BEGIN_MARK="@@bench-lvs-results-begin@@"
END_MARK="@@bench-lvs-results-end@@"

# ==== the host half ===========================================================

host_main() {
	local build rc t_start out mon hz
	build=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "bench: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
	[ "$(id -u)" = 0 ] || { echo "bench: needs root (qemu, namespaces in the VM)"; exit 1; }
	[ -x "$build/directord" ] && [ -x "$build/directorctl" ] || { echo "bench: $build/directord missing (run make)"; exit 1; }
	for cmd in keepalived ipvsadm tcpdump; do
		command -v "$cmd" >/dev/null || { echo "bench: $cmd is not installed (make deps-test, tests/vm/vm.sh --prepare)"; exit 1; }
	done
	local results=${RESULTS:-$HERE/results-lvs.md}
	local cpus=${VM_CPUS:-2} mem=${VM_MEM:-2048} vmt=${VM_TIMEOUT:-3000}
	local qmax=${HOST_QUIET_MAX:-15} qwait=${HOST_QUIET_WAIT:-900}

	echo "== building the helpers (cc -O2) into $build/bench-lvs"
	mkdir -p "$build/bench-lvs"
	local h
	for h in lvs-poll lvs-stamp lvs-accept; do
		cc -O2 -Wall -Wextra -o "$build/bench-lvs/$h" "$HERE/$h.c" || { echo "bench: building $h failed"; exit 1; }
	done

	hz=$(getconf CLK_TCK)
	out=$(mktemp -d /tmp/dsrkit-bench-lvs.XXXXXX)
	mon=""
	trap '[ -n "$mon" ] && kill "$mon" 2>/dev/null; rm -rf "$out"' EXIT
	trap 'exit 130' INT TERM

	# Wait for a quiet host: under TCG every emulated instruction is
	# host CPU, so other work on the host slows the VM down directly
	# (and the VM cannot see it: TCG reports no steal time).
	local i busy waited=0
	busy=$(host_busy_pct 2 "$hz")
	for ((i = 0; i < qwait && busy > qmax; i += 2)); do
		busy=$(host_busy_pct 2 "$hz")
		((busy <= qmax)) && break
		((i == 0)) && echo "   waiting up to ${qwait}s for a quiet host: others use ${busy}% of a core"
		waited=$((i + 2))
	done
	echo "== host: others use ${busy}% of a core (waited ${waited}s); starting the VM ($cpus vCPUs, $mem MiB)"
	local envs=() v
	for v in $SETTINGS; do
		[ -n "${!v+x}" ] && envs+=(-e "$v=${!v}")
	done
	t_start=$SECONDS
	local date
	date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	VM_MEM=$mem "$ROOT/tests/vm/vm.sh" -b "$build" -c "$cpus" -t "$vmt" "${envs[@]}" "$HERE/lvs.sh" >"$out/console" 2>&1 &
	local vmpid=$!
	host_monitor "$vmpid" "$hz" >"$out/monitor" &
	mon=$!
	# Live output (the results block is printed at the end anyway).
	tail -n +1 -f --pid="$vmpid" "$out/console" | grep --line-buffered -v -e "$BEGIN_MARK" -e "$END_MARK" &
	local tailpid=$!
	wait "$vmpid"
	rc=$?
	wait "$tailpid" 2>/dev/null
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	mon=""
	local total=$((SECONDS - t_start))
	if ! grep -q "$END_MARK" "$out/console"; then
		echo "bench: the VM run gave no results (vm.sh exit $rc)"
		exit 1
	fi
	local others
	others=$(awk '{ n++; s += $2; if ($2 > m) m = $2; q += $3 } END { if (n) printf "others on the host %.0f%% of a core on average, %.0f%% at most (5 s samples); qemu %.0f%% of a core on average", s / n, m, q / n; else print "not sampled" }' "$out/monitor")
	{
		echo "<!-- generated by bench/lvs.sh; rerun it to refresh -->"
		echo "## Results of $date"
		echo
		echo "- command: \`bench/lvs.sh ${1:-}\` on the host, \`tests/vm/vm.sh -c $cpus\` with VM_MEM=$mem; ${total}s in all"
		echo "- host: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r); before the VM started, others used ${busy}% of a core (waited ${waited}s); during the run: $others"
		sed -n "/$BEGIN_MARK/,/$END_MARK/p" "$out/console" | sed '1d;$d'
	} >"$results"
	echo
	echo "== results in ${results#"$ROOT"/} (${total}s; host during the run: $others)"
	[ "$rc" = 0 ] || echo "bench: the VM run reported problems (exit $rc); see above"
	exit "$rc"
}

# host_busy_pct SECONDS HZ: CPU the whole host used over SECONDS, % of a core.
host_busy_pct() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)
	echo $(((b - a) * 100 / $2 / $1))
}

# host_monitor PID HZ: every 5 s, "T OTHERS% TREE%": the host's CPU used
# by processes outside PID's tree (vm.sh, qemu) and by that tree.
host_monitor() {
	local root=$1 hz=$2 m0 t0 m1 t1
	tree_ticks() {
		cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$root" '{
			pid = $1; sub(/^.*\) /, ""); pp[pid] = $2; t[pid] = $12 + $13 + $14 + $15 }
			END { for (p in t) { q = p; for (i = 0; i < 64 && q > 1; i++) { if (q == root) { s += t[p]; break } q = pp[q] } } print s + 0 }'
	}
	m0=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat) t0=$(tree_ticks)
	while kill -0 "$root" 2>/dev/null; do
		sleep 5
		m1=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat) t1=$(tree_ticks)
		awk -v m=$((m1 - m0)) -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { o = (m - t) * 100 / hz / 5; printf "%d %.0f %.0f\n", systime(), (o < 0 ? 0 : o), t * 100 / hz / 5 }'
		m0=$m1 t0=$t1
	done
}

if [ "${DSRKIT_VM:-}" != 1 ]; then
	host_main "$@"
	exit
fi

# ==== the VM half ==============================================================

N=${N:-10000}
K=${K:-4}
CHECKED=${CHECKED:-2000}
CHECK_K=${CHECK_K:-4}
TRIALS=${TRIALS:-1}
RELOADS=${RELOADS:-5}
WARMUP=${WARMUP:-10}
CPU_SECONDS=${CPU_SECONDS:-30}
ISO_INTERVAL_MS=${ISO_INTERVAL_MS:-10}
ISO_CHECK_SECONDS=${ISO_CHECK_SECONDS:-30}
ISO_IDLE_SECONDS=${ISO_IDLE_SECONDS:-20}
KEEP_LOGS=${KEEP_LOGS:-0}
DAEMONS=${DAEMONS:-directord ipvsadm keepalived}
PARTS=${PARTS:-program reload checks isolation}
KA_RELOAD=${KA_RELOAD:-1}
VERIFY_LIST=${VERIFY_LIST:-directord}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-60}

. "$ROOT/tests/vm/director-vm-lib.sh"	# lib.sh (namespaces, cleanup), director-lib.sh, the IPVS helpers
. "$ROOT/tests/netns/keepalived-lib.sh"	# stop_bg, bg_forget; LC_ALL=C
TEST_ID="dsrb$$"
need_ipvs

NSVC_CHECKED=$((CHECKED / CHECK_K))
if ((N < 1 || K < 1 || N * K > 48000 || N > 24000 || CHECKED % CHECK_K || NSVC_CHECKED > 1000 || CHECKED > 2000)); then
	echo "bench: N x K must be at most 48,000 (N <= 24,000), CHECKED at most 2,000 and a multiple of CHECK_K"
	exit 1
fi

T_START=$SECONDS
ERRORS=0
problem() { echo "bench: PROBLEM: $*"; ERRORS=$((ERRORS + 1)); }
say() { printf '[%4ds] %s\n' $((SECONDS - T_START)) "$*"; }
want() { [[ " $1 " == *" $2 "* ]]; }
CLK_TCK=$(getconf CLK_TCK)

# The binaries are copied: a rebuild on the host during the run does not
# change what is measured.
mkdir -p "$TMP/bin"
cp "$BUILD/directord" "$BUILD/directorctl" "$BUILD"/bench-lvs/lvs-{poll,stamp,accept} "$TMP/bin/" ||
	{ echo "bench: the binaries or the helpers are missing (run bench/lvs.sh on the host)"; exit 1; }
DIRECTORD=$TMP/bin/directord
DIRECTORCTL=$TMP/bin/directorctl
POLL=$TMP/bin/lvs-poll
STAMP=$TMP/bin/lvs-stamp
ACCEPT=$TMP/bin/lvs-accept

# The pcap reader of bench/director.sh (its "stability" mode: adverts by
# source, source changes, gaps in a time window), taken from that script
# rather than copied here.
sed -n "/^cat >\"\$TMP\/wire.py\" <<'PY'\$/,/^PY\$/p" "$HERE/director.sh" | sed '1d;$d' >"$TMP/wire.py"
"$PY" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$TMP/wire.py" 2>/dev/null && grep -q 'def stability' "$TMP/wire.py" ||
	{ echo "bench: could not take the pcap reader out of bench/director.sh"; exit 1; }
wire() { "$PY" "$TMP/wire.py" "$@"; }

# A sleep without a fork.
mkfifo "$TMP/never"
exec {NEVER_FD}<>"$TMP/never"
fsleep() { read -r -t "$1" -u "$NEVER_FD" _; return 0; }

# ---- measuring without forking (a fork costs milliseconds under TCG) ---------

# busy_ticks: user+nice+system+irq+softirq ticks of the whole VM.
busy_ticks() {
	local _c u n s i irq sirq
	read -r _c u n s i _ irq sirq _ </proc/stat
	echo $((u + n + s + irq + sirq))
}
# ticks PID...: utime+stime of these processes (those gone count 0).
ticks() {
	local p l rest sum=0
	for p in "$@"; do
		IFS= read -r l <"/proc/$p/stat" 2>/dev/null || continue
		rest=${l##*) }
		set -- $rest
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}
# self_child_ticks: this script's reaped children (cutime+cstime).
self_child_ticks() {
	local l rest
	IFS= read -r l <"/proc/$$/stat"
	rest=${l##*) }
	set -- $rest
	echo $((${14} + ${15}))
}
pct() { awk -v t="$1" -v hz="$CLK_TCK" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? 100 * t / hz / s : 0) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }	# secs FROM TO
ms_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }	# ms_of FROM TO
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0 || a == "n/a" || b == "n/a") print "n/a"; else printf "%.*f", d, a / b }'; }
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

# quiet: wait (at least 1 s, at most QUIET_WAIT s) until the whole VM used
# <= QUIET_MAX % of a CPU over one second (the cleanup of a namespace
# holding 50,000 IPVS objects runs in kernel workers for a while). Sets
# QUIET_BUSY.
quiet() {
	local i b0 b1
	for ((i = 0; i < QUIET_WAIT; i++)); do
		b0=$(busy_ticks)
		fsleep 1
		b1=$(busy_ticks)
		QUIET_BUSY=$(((b1 - b0) * 100 / CLK_TCK))
		((QUIET_BUSY <= QUIET_MAX)) && return 0
		((i == 0)) && echo "   (waiting up to ${QUIET_WAIT}s for a quiet VM: it uses ${QUIET_BUSY}% of a CPU)"
	done
	return 1
}

# group_pids PGID: the processes of a daemon started with setsid.
group_pids() { pgrep -g "$1" | tr '\n' ' '; }
# mem PID FIELD: a kB value of /proc/PID/status.
mem() {
	local k v _u
	while read -r k v _u; do
		[ "$k" = "$2:" ] && { echo "$v"; return; }
	done <"/proc/$1/status" 2>/dev/null
	echo 0
}

# ---- configurations -----------------------------------------------------------

# Addresses. Service i (0-based) of a set whose third octet starts at
# SBASE: 198.18.(SBASE + i / 250).(1 + i % 250):80; its destination j is
# number d = i * K + j of the set, 198.19.(DBASE + d / 250).(1 + d % 250):80.
# The programming set: SBASE 1, DBASE 0 (unrouted: a dummy interface
# carries 198.18.0.0/15 so that IPVS takes them as unicast); the checked
# set: SBASE 100, DBASE 200, i.e. 198.19.200.0/21, the addresses of the
# real-server namespace.
P_SBASE=1 P_DBASE=0 C_SBASE=100 C_DBASE=200

# gen FORMAT N K SBASE DBASE CHECK [CHANGED_SVC CHANGED_DEST WEIGHT]:
# FORMAT dd (director.ini sections), ka (keepalived.conf blocks) or
# ipvsadm (ipvsadm -R rules); CHECK none or tcp (1 s interval, 1 s
# timeout); the changed destination gets WEIGHT instead of 1.
gen() {
	awk -v fmt="$1" -v n="$2" -v k="$3" -v sb="$4" -v db="$5" -v check="$6" \
		-v cs="${7:--1}" -v cd="${8:--1}" -v cw="${9:-1}" 'BEGIN {
	for (i = 0; i < n; i++) {
		vip = sprintf("198.18.%d.%d", sb + int(i / 250), 1 + i % 250)
		if (fmt == "dd") {
			printf "\n[virtual_server %s%05d]\naddress = %s:80\nprotocol = tcp\nscheduler = wlc\nmethod = dr\n", (check == "none" ? "p" : "c"), i, vip
			if (check == "tcp") print "check = tcp\ncheck_interval = 1s\ncheck_timeout = 1s"
			else print "check = none"
			line = "real_servers = "
		} else if (fmt == "ka") {
			printf "virtual_server %s 80 {\n", vip
			if (check == "tcp") print "    delay_loop 1"
			print "    lb_algo wlc\n    lb_kind DR\n    protocol TCP"
		} else {
			printf "-A -t %s:80 -s wlc\n", vip
		}
		for (j = 0; j < k; j++) {
			d = i * k + j
			rs = sprintf("198.19.%d.%d", db + int(d / 250), 1 + d % 250)
			w = (i == cs && j == cd) ? cw : 1
			if (fmt == "dd") {
				line = line (j ? ", " : "") rs ":80" (w != 1 ? " weight=" w : "")
			} else if (fmt == "ka") {
				printf "    real_server %s 80 {\n        weight %d\n", rs, w
				if (check == "tcp") print "        TCP_CHECK {\n            connect_timeout 1\n        }"
				print "    }"
			} else {
				printf "-a -t %s:80 -r %s:80 -g -w %d\n", vip, rs, w
			}
		}
		if (fmt == "dd") print line
		else if (fmt == "ka") print "}"
	} }'
}
svc_addr() { echo "198.18.$(($1 + $2 / 250)).$((1 + $2 % 250)):80"; }	# svc_addr SBASE I
dest_addr() { local d=$(($3 * K + $4)); echo "198.19.$(($2 + d / 250)).$((1 + d % 250)):80"; }	# dest_addr - DBASE I J

# dd_global TAG [line...]: directord's [global] (control socket in $TMP/TAG).
dd_global() {
	mkdir -p "$TMP/$1"
	chmod 755 "$TMP/$1"
	printf '%s\n' "[global]" "router_id = $1" "user = dsrkit" "control_socket = $TMP/$1/ctl.sock" \
		"control_mode = 0600" "log_level = info" "ipvs_on_stop = keep" "ipvs_reconcile_interval = 0s" "${@:2}"
}
dd_vrrp() {	# dd_vrrp PRIORITY
	printf '%s\n' "" "[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $1" "version = 3" \
		"advert_interval = ${ISO_INTERVAL_MS}ms" "virtual_ipaddress = 198.18.0.100/24"
}
ka_global() {	# ka_global TAG
	mkdir -p "$TMP/$1"
	printf '%s\n' "global_defs {" "    router_id $1" "    vrrp_version 3" "}"
}
ka_vrrp() {	# ka_vrrp PRIORITY
	local int
	int=$(awk -v m="$ISO_INTERVAL_MS" 'BEGIN { printf "%g", m / 1000 }')
	printf '%s\n' "vrrp_instance VI_1 {" "    state BACKUP" "    interface eth0" "    virtual_router_id 51" \
		"    priority $1" "    advert_int $int" "    virtual_ipaddress {" "        198.18.0.100/24 dev eth0" "    }" "}"
}

# ---- daemons, with timestamped logs ------------------------------------------

# start_stamped NS TAG CMD...: CMD in NS in a session (and process group)
# of its own, stdout and stderr through lvs-stamp into $TMP/TAG.log.
# Pid (= process group) in PID_TAG.
start_stamped() {
	local ns=$1 tag=$2; shift 2
	rm -f "$TMP/$tag.fifo"
	mkfifo "$TMP/$tag.fifo"
	"$STAMP" <"$TMP/$tag.fifo" >"$TMP/$tag.log" &
	BG_PIDS+=($!)
	bg_in "$ns" "$TMP/$tag.fifo" setsid "$@"
	printf -v "PID_$tag" '%s' "$LAST_PID"
	disown "$LAST_PID"
}
pid_of() { local v="PID_$1"; echo "${!v:-}"; }

start_daemon() {	# start_daemon DAEMON NS TAG CONF
	local d=$1 ns=$2 tag=$3 conf=$4
	if [ "$d" = directord ]; then
		start_stamped "$ns" "$tag" "$DIRECTORD" -n -f "$conf"
	else
		mkdir -p "$TMP/$tag"
		rm -f "$TMP/$tag"/*.pid
		start_stamped "$ns" "$tag" keepalived -n -l -f "$conf" -p "$TMP/$tag/ka.pid" -r "$TMP/$tag/vrrp.pid" -c "$TMP/$tag/checker.pid"
	fi
}

# stop_group TAG: SIGKILL to the whole process group (a keepalived told
# to stop removes 50,000 objects one by one first; directord keeps them
# anyway with ipvs_on_stop = keep); bounded wait until none is left.
stop_group() {
	local pid i
	pid=$(pid_of "$1")
	[ -n "$pid" ] || return 0
	kill -KILL -- "-$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 -- "-$pid" 2>/dev/null || break
		fsleep 0.05
	done
	bg_forget "$pid"
	printf -v "PID_$1" '%s' ""
	((i < 200)) || problem "processes of $1 are left after SIGKILL"
}

# stop_term TAG: SIGTERM to the parent, bounded wait for the whole group
# to be gone (then SIGKILL).
stop_term() {
	local pid i
	pid=$(pid_of "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 -- "-$pid" 2>/dev/null || break
		fsleep 0.05
	done
	((i < 300)) || problem "$1 did not stop within 15 s of SIGTERM"
	stop_group "$1"
}

# log_count TAG TEXT: lines of $TMP/TAG.log containing TEXT (no fork).
log_count() {
	local v="" rest
	IFS= read -r -d '' v <"$TMP/$1.log"
	rest=${v//"$2"/}
	echo $(((${#v} - ${#rest}) / ${#2}))
}
# wait_log TAG TEXT COUNT SECONDS: until TEXT is in COUNT lines at least.
wait_log() {
	local end=$((SECONDS + $4))
	while (($(log_count "$1" "$2") < $3)); do
		((SECONDS < end)) || return 1
		fsleep 0.05
	done
}
# log_line TAG TEXT COUNT: the COUNT-th line containing TEXT.
log_line() { grep -F -- "$2" "$TMP/$1.log" | sed -n "${3}p"; }
stamp_of() { echo "${1%% *}"; }
# ops_of LINE: "K F" from "... K operation(s) (F failed)".
ops_of() { sed -E 's/.* ([0-9]+) operations?(\(s\))? \(([0-9]+) failed\).*/\1 \3/' <<<"$1"; }

# poll_start NS TAG ARGS...: lvs-poll in NS in the background, output in
# $TMP/TAG.poll; pid in POLL_PID. poll_wait: its result line.
poll_start() {
	local ns=$1 tag=$2; shift 2
	bg_in "$ns" "$TMP/$tag.poll" "$POLL" "$@"
	POLL_PID=$LAST_PID
}
# poll_wait TAG [DAEMON_TAG]: waits for the poller to end; when the daemon
# it watches is gone meanwhile, ends it.
poll_wait() {
	local d
	[ -n "${2:-}" ] && d=$(pid_of "$2")
	while kill -0 "$POLL_PID" 2>/dev/null; do
		if [ -n "${d:-}" ] && ! kill -0 "$d" 2>/dev/null; then
			echo "bench: $2 is gone:"; tail -5 "$TMP/$2.log"
			kill "$POLL_PID" 2>/dev/null
			break
		fi
		fsleep 0.1
	done
	wait "$POLL_PID" 2>/dev/null
	bg_forget "$POLL_PID"
	tail -1 "$TMP/$1.poll"
}

# hwm_report PGID: HWM_SUM and RSS_SUM over the processes of the group,
# and in HWM_ROWS one entry per process.
hwm_report() {
	local p h r name
	HWM_ROWS="" HWM_SUM=0 RSS_SUM=0
	for p in $(group_pids "$1"); do
		h=$(mem "$p" VmHWM) r=$(mem "$p" VmRSS)
		IFS= read -r name <"/proc/$p/comm" 2>/dev/null
		HWM_ROWS+="pid $p ($name$([ "$p" = "$1" ] && echo ", parent")): VmHWM $h kB, VmRSS $r kB; "
		HWM_SUM=$((HWM_SUM + h)) RSS_SUM=$((RSS_SUM + r))
	done
}
# hwm_keep KEY PGID: hwm_report into P_HWM[KEY], P_RSS[KEY], P_HWM_ROWS[KEY].
hwm_keep() {
	hwm_report "$2"
	P_HWM[$1]=$HWM_SUM P_RSS[$1]=$RSS_SUM P_HWM_ROWS[$1]=$HWM_ROWS
}

# namespaces: lb_ns SHORT makes a fresh one with the dummy that routes the
# test ranges; ns_drop NS deletes one.
lb_ns() {
	ns_new "$1"
	unicast_routes "$TEST_ID-$1"
}
ns_drop() {
	local ns=$1 keep=() n
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	for n in "${NAMESPACES[@]}"; do [ "$n" = "$ns" ] || keep+=("$n"); done
	NAMESPACES=("${keep[@]}")
}

DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- director common 2>/dev/null | wc -l)
[ "$DIRTY" -gt 0 ] && REV="$REV + $DIRTY uncommitted change(s) in director/ common/"
KA_VERSION=$(keepalived --version 2>&1 | head -1)
IPVSADM_VERSION=$(ipvsadm --version 2>&1 | head -1)

say "VM: $(nproc) CPU(s), $(awk '/^MemTotal/ { printf "%.0f MiB", $2 / 1024 }' /proc/meminfo), kernel $(uname -r); N=$N K=$K CHECKED=$CHECKED"

# ---- the configurations, generated once -----------------------------------------

NDEST=$((N * K))
NOBJ=$((N + NDEST))
CH_SVC=$((N / 2)) CH_DEST=1	# the destination whose weight the reloads change
CH_VIP=$(svc_addr $P_SBASE $CH_SVC)
CH_RS=$(dest_addr - $P_DBASE $CH_SVC $CH_DEST)
P_FIRST=$(svc_addr $P_SBASE 0) P_MID=$(svc_addr $P_SBASE $((N / 2))) P_LAST=$(svc_addr $P_SBASE $((N - 1)))
C_FIRST=$(svc_addr $C_SBASE 0) C_LAST=$(svc_addr $C_SBASE $((NSVC_CHECKED - 1)))
mkdir -p "$TMP/conf"
t0=$SECONDS
gen dd "$N" "$K" $P_SBASE $P_DBASE none >"$TMP/conf/p.dd"
gen ka "$N" "$K" $P_SBASE $P_DBASE none >"$TMP/conf/p.ka"
gen ipvsadm "$N" "$K" $P_SBASE $P_DBASE none >"$TMP/conf/p.rules"
for w in 1 2; do
	gen dd "$N" "$K" $P_SBASE $P_DBASE none $CH_SVC $CH_DEST $w >"$TMP/conf/p.dd.w$w"
	gen ka "$N" "$K" $P_SBASE $P_DBASE none $CH_SVC $CH_DEST $w >"$TMP/conf/p.ka.w$w"
done
gen dd "$NSVC_CHECKED" "$CHECK_K" $C_SBASE $C_DBASE tcp >"$TMP/conf/c.dd"
gen ka "$NSVC_CHECKED" "$CHECK_K" $C_SBASE $C_DBASE tcp >"$TMP/conf/c.ka"
chmod -R a+rX "$TMP/conf"
say "configurations generated in $((SECONDS - t0))s: $(wc -l <"$TMP/conf/p.rules") ipvsadm rules, director.ini $(du -k "$TMP/conf/p.dd" | cut -f1) kB, keepalived.conf $(du -k "$TMP/conf/p.ka" | cut -f1) kB"

# ---- 1, 2 and 4: programming from cold, reloads, memory ------------------------

declare -A P_WALL P_KERNEL P_CPU P_OPS P_VERIFY P_HWM P_RSS P_HWM_ROWS P_NOTE P_BUSY
declare -A R_LINE R_KERNEL R_OPS R_RAW R_READ R_APPLY

# median_max VALUE...: "MEDIAN / MAX".
median_max() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%s / %s", v[int((NR + 1) / 2)], v[NR] }'; }

# reloads_dd TAG NS CONF: RELOADS reloads, the weight of CH_RS going 2, 1, 2...
reloads_dd() {
	local tag=$1 ns=$2 conf=$3 r w n0 t0 line kt lines=() kernel=() ops=() tp eline reads=() applies=()
	# For scale: what reading and checking this file alone takes.
	tp=$EPOCHREALTIME
	"$DIRECTORD" -t -f "$conf" >/dev/null 2>&1 || problem "directord -t fails on $conf"
	R_PARSE=$(ms_of "$tp" "$EPOCHREALTIME")
	say "   directord -t -f (reads and checks the $N-service file, a process of its own): $R_PARSE ms"
	if want "$DAEMONS" keepalived; then
		{ ka_global "$tag-t"; cat "$TMP/conf/p.ka"; } >"$TMP/conf/t.ka"
		tp=$EPOCHREALTIME
		keepalived -t -f "$TMP/conf/t.ka" >/dev/null 2>&1 || problem "keepalived -t fails on its $N-service file"
		R_PARSE_KA=$(ms_of "$tp" "$EPOCHREALTIME")
		say "   keepalived -t -f of the same services: $R_PARSE_KA ms"
	fi
	for ((r = 1; r <= RELOADS; r++)); do
		w=$(((r % 2) ? 2 : 1))
		{ dd_global "$tag"; cat "$TMP/conf/p.dd.w$w"; } >"$conf"
		n0=$(log_count "$tag" "ipvs: reload: ")
		poll_start "$ns" "$tag-w" weight -i 5 -t 120 "$CH_VIP" "$CH_RS" "$w"
		quiet
		t0=$EPOCHREALTIME
		kill -HUP "$(pid_of "$tag")"
		if ! wait_log "$tag" "ipvs: reload: " $((n0 + 1)) 120; then
			problem "directord reload $r: no \"ipvs: reload:\" line within 120 s"
			kill "$POLL_PID" 2>/dev/null; poll_wait "$tag-w" >/dev/null
			return
		fi
		line=$(log_line "$tag" "ipvs: reload: " $((n0 + 1)))
		# The engine's own clock: reading the file, and the rest (compare, kernel).
		wait_log "$tag" "lvs engine: configuration reloaded (" $((n0 + 1)) 30 || problem "reload $r: no engine timing line"
		eline=$(log_line "$tag" "lvs engine: configuration reloaded (" $((n0 + 1)))
		reads+=("$(sed -nE 's/.*(file read|taken) in ([0-9]+) ms.*/\2/p' <<<"$eline")")
		applies+=("$(sed -nE 's/.*applied in ([0-9]+) ms.*/\1/p' <<<"$eline")")
		local lr
		lr=$(log_line "$tag" "reloading " $((n0 + 1)))
		kt=$(poll_wait "$tag-w")
		lines+=("$(ms_of "$t0" "$(stamp_of "$line")")")
		kernel+=("$(ms_of "$t0" "$(kv t "$kt")")")
		ops+=("$(ops_of "$line" | cut -d' ' -f1)")
		R_RAW[directord]+="reload $r (weight -> $w): \"reloading\" (parent) after $(ms_of "$t0" "$(stamp_of "$lr")") ms, \"ipvs: reload:\" after ${lines[-1]} ms, kernel after ${kernel[-1]} ms: ${line#* }; engine: ${eline#*configuration reloaded }"$'\n'
		say "   reload $r: weight $w: \"ipvs: reload:\" after ${lines[-1]} ms, in the kernel after ${kernel[-1]} ms, $(ops_of "$line" | awk '{ print $1 " operation(s), " $2 " failed" }'); engine read the file in ${reads[-1]:-?} ms, applied in ${applies[-1]:-?} ms"
		# The peak after the second reload: no growth from there on is a target.
		((r == 2)) && hwm_keep "directord,reload2" "$(pid_of "$tag")"
	done
	R_LINE[directord]=$(median_max "${lines[@]}")
	R_KERNEL[directord]=$(median_max "${kernel[@]}")
	R_OPS[directord]=$(printf '%s\n' "${ops[@]}" | sort -u | paste -sd, -)
	R_READ[directord]=$(median_max "${reads[@]}")
	R_APPLY[directord]=$(median_max "${applies[@]}")
}

# reload_ka TAG NS CONF: one reload, the weight of CH_RS -> 2.
reload_ka() {
	local tag=$1 ns=$2 conf=$3 t0 kt
	{ ka_global "$tag"; cat "$TMP/conf/p.ka.w2"; } >"$conf"
	poll_start "$ns" "$tag-w" weight -i 20 -t 300 "$CH_VIP" "$CH_RS" 2
	quiet
	t0=$EPOCHREALTIME
	kill -HUP "$(pid_of "$tag")"
	kt=$(poll_wait "$tag-w")
	if [ "${kt%% *}" = "done" ]; then
		R_KERNEL[keepalived]="$(ms_of "$t0" "$(kv t "$kt")")"
	else
		R_KERNEL[keepalived]="> 300000"
		problem "keepalived reload: the new weight was not in the kernel within 300 s"
	fi
	R_RAW[keepalived]="reload (weight -> 2): kernel after ${R_KERNEL[keepalived]} ms"
	say "   keepalived reload: the new weight in the kernel after ${R_KERNEL[keepalived]} ms"
}

# program DAEMON TRIAL
program() {
	local d=$1 trial=$2 tag ns conf t0 b0 c0 res t_done line rc cpu pids
	tag="p1${d:0:2}$trial"
	lb_ns "$tag"
	ns=$TEST_ID-$tag
	case $d in
	directord) conf=$TMP/$tag.ini; { dd_global "$tag"; cat "$TMP/conf/p.dd"; } >"$conf" ;;
	keepalived) conf=$TMP/$tag.conf; { ka_global "$tag"; cat "$TMP/conf/p.ka"; } >"$conf" ;;
	esac
	[ -n "${conf:-}" ] && chmod 644 "$conf"
	say "$d (trial $trial): $N services x $K destinations from cold"
	poll_start "$ns" "$tag" wait -i 20 -t 900 "$N" "$NDEST" "$P_FIRST=$K" "$P_MID=$K" "$P_LAST=$K"
	fsleep 0.5
	quiet
	P_BUSY[$d,$trial]=$QUIET_BUSY
	b0=$(busy_ticks) c0=$(self_child_ticks)
	t0=$EPOCHREALTIME
	case $d in
	directord|keepalived)
		start_daemon "$d" "$ns" "$tag" "$conf" ;;
	ipvsadm)
		in_ns "$ns" /usr/bin/time -f "maxrss_kb=%M" -o "$TMP/$tag.time" ipvsadm -R <"$TMP/conf/p.rules"
		rc=$?
		t_done=$EPOCHREALTIME
		cpu=$(($(self_child_ticks) - c0))
		((rc == 0)) || problem "ipvsadm -R exited $rc" ;;
	esac
	if [ "$d" = ipvsadm ]; then res=$(poll_wait "$tag"); else res=$(poll_wait "$tag" "$tag"); fi
	local b1
	b1=$(busy_ticks)
	if [ "${res%% *}" != "done" ]; then
		problem "$d: the kernel did not show $N services and $NDEST destinations within 900 s ($res)"
		P_WALL[$d,$trial]=n/a
	fi
	P_KERNEL[$d,$trial]=$(secs "$t0" "$(kv t "$res")")
	case $d in
	directord)
		if wait_log "$tag" "ipvs: start: " 1 60; then
			line=$(log_line "$tag" "ipvs: start: " 1)
			P_WALL[$d,$trial]=$(secs "$t0" "$(stamp_of "$line")")
			P_OPS[$d,$trial]=$(ops_of "$line" | awk '{ print $1 " (" $2 " failed)" }')
			P_NOTE[$d,$trial]="log: ${line#* }"
		else
			problem "directord: no \"ipvs: start:\" line"
			P_WALL[$d,$trial]=n/a
		fi ;;
	ipvsadm)
		P_WALL[$d,$trial]=$(secs "$t0" "$t_done")
		P_OPS[$d,$trial]="$(wc -l <"$TMP/conf/p.rules") rules"
		P_CPU[$d,$trial]=$(awk -v t="$cpu" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz }')
		P_HWM[$d,$trial]=$(sed -n 's/^maxrss_kb=//p' "$TMP/$tag.time")
		P_NOTE[$d,$trial]="ipvsadm -R exit $rc" ;;
	keepalived)
		P_WALL[$d,$trial]=${P_KERNEL[$d,$trial]}
		P_OPS[$d,$trial]="-" ;;
	esac
	if [ "$d" != ipvsadm ]; then
		# CPU of the daemon's processes (alive, so utime + stime).
		pids=$(group_pids "$(pid_of "$tag")")
		P_CPU[$d,$trial]=$(awk -v t="$(ticks $pids)" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz }')
		fsleep 2
		hwm_keep "$d,$trial" "$(pid_of "$tag")"
	fi
	say "   $d: done after ${P_WALL[$d,$trial]} s; the kernel showed all after ${P_KERNEL[$d,$trial]} s ($res); CPU ${P_CPU[$d,$trial]:-?} s; VM busy $(pct $((b1 - b0)) "$(secs "$t0" "$EPOCHREALTIME")")% of a CPU meanwhile"
	[ -n "${P_HWM[$d,$trial]:-}" ] && say "   $d: VmHWM ${P_HWM[$d,$trial]} kB${P_HWM_ROWS[$d,$trial]:+ (${P_HWM_ROWS[$d,$trial]% })}"
	if want "$VERIFY_LIST" "$d"; then
		local tl=$EPOCHREALTIME lines
		lines=$(in_ns "$ns" timeout 600 ipvsadm -L -n | wc -l)
		P_VERIFY[$d,$trial]="ipvsadm -L -n: $lines lines (want $((NOBJ + 3))) in $(secs "$tl" "$EPOCHREALTIME") s"
		[ "$lines" = $((NOBJ + 3)) ] || problem "$d: ipvsadm -L -n shows $lines lines, not $((NOBJ + 3))"
	else
		P_VERIFY[$d,$trial]="lvs-poll: $(kv services "$res") services, $(kv dests "$res") destinations"
	fi
	say "   $d: ${P_VERIFY[$d,$trial]}"
	if ((trial == 1)) && want "$PARTS" reload; then
		if [ "$d" = directord ]; then
			reloads_dd "$tag" "$ns" "$conf"
			hwm_keep "$d,reload" "$(pid_of "$tag")"
		elif [ "$d" = keepalived ] && [ "$KA_RELOAD" = 1 ]; then
			reload_ka "$tag" "$ns" "$conf"
			hwm_keep "$d,reload" "$(pid_of "$tag")"
		fi
	fi
	[ "$d" != ipvsadm ] && stop_group "$tag"
	ns_drop "$ns"
}

if want "$PARTS" program; then
	echo "== 1. programming $N services x $K destinations ($NOBJ objects) from cold; 2. reloads; 4. memory"
	for ((trial = 1; trial <= TRIALS; trial++)); do
		for d in $DAEMONS; do program "$d" "$trial"; done
	done
fi

# ---- the real servers (parts 3 and 5) --------------------------------------------

#   n1 198.18.0.1, n2 198.18.0.2, ck 198.18.0.3, rs 198.18.0.10 on br0 (in $SW);
#   rs holds 198.19.200.0/21 (CHECKED addresses) on a dummy, lvs-accept on
#   0.0.0.0:80 answers them all; n1, n2, ck route 198.19.200.0/21 via rs.
topology() {
	[ -n "${SW:-}" ] && return 0
	switch_new
	ns_new rs
	RS=$NS_rs
	join "$RS" eth0 br0 02:00:00:00:0a:01 198.18.0.10/24
	ip -n "$RS" link add rsd type dummy
	ip -n "$RS" link set rsd up
	local k
	for ((k = 0; k < CHECKED; k++)); do
		echo "addr add 198.19.$((C_DBASE + k / 250)).$((1 + k % 250))/32 dev rsd"
	done | ip -n "$RS" -batch - || { problem "adding the real servers' addresses failed"; return 1; }
	in_ns "$RS" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
	bg_in "$RS" "$TMP/accept.log" "$ACCEPT" 0.0.0.0 80
	ACCEPT_PID=$LAST_PID
	wait_until 10 grep -q listening "$TMP/accept.log" || { problem "lvs-accept did not start"; return 1; }
}
node() {	# node SHORT ADDR MAC: a director namespace on br0
	ns_new "$1"
	local ns=$TEST_ID-$1
	join "$ns" eth0 br0 "$3" "$2/24"
	unicast_routes "$ns"
	ip -n "$ns" route add 198.19.200.0/21 via 198.18.0.10
	in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
}
# accepted: "T N" of the last line lvs-accept printed.
accepted() { tail -1 "$TMP/accept.log" | awk '{ print $1, $2 }'; }

# ---- 3. checks --------------------------------------------------------------------

declare -A C_ENGINE C_ALL C_RATE C_PER C_UP C_NOTE C_BUSY

checks() {
	local d=$1 tag="ck${1:0:2}" ns conf res pid eng pids a0 a1 n0 n1 t0 t1 e0 e1 g0 g1 b0 b1 wall up
	ns=$TEST_ID-ck
	say "$d: $CHECKED real servers ($NSVC_CHECKED services x $CHECK_K), tcp checks every 1 s"
	if [ "$d" = directord ]; then
		conf=$TMP/$tag.ini; { dd_global "$tag"; cat "$TMP/conf/c.dd"; } >"$conf"
	else
		conf=$TMP/$tag.conf; { ka_global "$tag"; cat "$TMP/conf/c.ka"; } >"$conf"
	fi
	chmod 644 "$conf"
	poll_start "$ns" "$tag" wait -i 100 -t 180 "$NSVC_CHECKED" "$CHECKED" "$C_FIRST=$CHECK_K" "$C_LAST=$CHECK_K"
	quiet
	t0=$EPOCHREALTIME
	start_daemon "$d" "$ns" "$tag" "$conf"
	res=$(poll_wait "$tag" "$tag")
	if [ "${res%% *}" != "done" ]; then
		problem "$d: not all $CHECKED checked real servers in the kernel within 180 s ($res)"
		stop_group "$tag"
		return
	fi
	say "   $d: all $CHECKED in the kernel after $(secs "$t0" "$(kv t "$res")") s; warming up ${WARMUP}s"
	pid=$(pid_of "$tag")
	if [ "$d" = directord ]; then
		eng=$(lvs_engine_pid "$tag")
	else
		eng=$(cat "$TMP/$tag/checker.pid" 2>/dev/null)
	fi
	[ -n "$eng" ] && [ -d "/proc/$eng" ] || { problem "$d: cannot find the checking process"; stop_group "$tag"; return; }
	fsleep "$WARMUP"
	pids=$(group_pids "$pid")
	read -r a0 n0 <<<"$(accepted)"
	b0=$(busy_ticks) e0=$(ticks "$eng") g0=$(ticks $pids) t0=$EPOCHREALTIME
	fsleep "$CPU_SECONDS"
	b1=$(busy_ticks) e1=$(ticks "$eng") g1=$(ticks $pids) t1=$EPOCHREALTIME
	read -r a1 n1 <<<"$(accepted)"
	wall=$(secs "$t0" "$t1")
	C_ENGINE[$d]=$(pct $((e1 - e0)) "$wall")
	C_ALL[$d]=$(pct $((g1 - g0)) "$wall")
	C_BUSY[$d]=$(pct $((b1 - b0)) "$wall")
	C_RATE[$d]=$(awk -v a="$a0" -v b="$a1" -v x="$n0" -v y="$n1" 'BEGIN { printf "%.0f", (b > a ? (y - x) / (b - a) : 0) }')
	C_PER[$d]=$(awk -v t=$((e1 - e0)) -v hz="$CLK_TCK" -v r="${C_RATE[$d]}" -v w="$wall" 'BEGIN { printf "%.0f", (r > 0 ? t / hz / (r * w) * 1e6 : 0) }')
	res=$(in_ns "$ns" "$POLL" count)
	if [ "$d" = directord ]; then
		up=$(status_json "$tag" | grep -o '"state":"up"' | wc -l)
		C_UP[$d]="$(kv dests "$res") destinations in the kernel; status: $up real servers up"
	else
		up=$(grep -ci -e 'fail' -e 'remov' "$TMP/$tag.log")
		C_UP[$d]="$(kv dests "$res") destinations in the kernel; $up log lines with fail/remov"
	fi
	[ "$(kv dests "$res")" = "$CHECKED" ] || problem "$d: $(kv dests "$res") destinations at the end of the check run, not $CHECKED"
	C_NOTE[$d]="checking process pid $eng ($(cat "/proc/$eng/comm" 2>/dev/null)); all processes of the daemon: ${C_ALL[$d]}% of a CPU; whole VM ${C_BUSY[$d]}%"
	say "   $d: checking process ${C_ENGINE[$d]}% of a CPU over ${wall}s, ${C_RATE[$d]} connections/s at the real servers, ${C_PER[$d]} us of CPU per check; ${C_UP[$d]}"
	say "   $d: ${C_NOTE[$d]}"
	stop_group "$tag"
	in_ns "$ns" ipvsadm -C
}

if want "$PARTS" checks; then
	echo "== 3. $CHECKED real servers, tcp checks every second: CPU over ${CPU_SECONDS}s after ${WARMUP}s"
	topology && node ck 198.18.0.3 02:00:00:00:03:01 && {
		for d in $DAEMONS; do [ "$d" = ipvsadm ] || checks "$d"; done
		ns_drop "$TEST_ID-ck"
	}
fi

# ---- 5. isolation -------------------------------------------------------------------

declare -A I_ROWS I_SUM I_IDLE I_NOTE

# transitions_in TAG FROM TO: transition lines logged in [FROM, TO).
transitions_in() {
	awk -v a="$2" -v b="$3" '$1 + 0 >= a + 0 && $1 + 0 < b + 0 && (/vrrp VI_1: [A-Z]+ -> [A-Z]+/ || /\(VI_1\) Entering [A-Z]+ STATE/) { n++ } END { print n + 0 }' "$TMP/$1.log" 2>/dev/null
}

isolation() {
	local d=$1 t0="i0${1:0:2}" t1="i1${1:0:2}" t2="i2${1:0:2}" n1 n2 c0 c1 c2 pcap res t_start t_conv t_prog t_up t_chk t_hup t_rel t_end
	local master_re line md w eng1 vr1 e0 e1 v0 v1 t_i0 t_i1
	say "$d: VRRPv3 pair every ${ISO_INTERVAL_MS} ms: ${ISO_IDLE_SECONDS}s idle; then the master starts again with $N x $K + $CHECKED checked servers, programs them from cold, checks ${ISO_CHECK_SECONDS}s, is reloaded"
	node n1 198.18.0.1 02:00:00:00:01:01 || return
	node n2 198.18.0.2 02:00:00:00:02:01 || return
	n1=$TEST_ID-n1 n2=$TEST_ID-n2
	if [ "$d" = directord ]; then
		c0=$TMP/$t0.ini c1=$TMP/$t1.ini c2=$TMP/$t2.ini
		{ dd_global "$t0"; dd_vrrp 200; } >"$c0"
		{ dd_global "$t2"; dd_vrrp 100; } >"$c2"
		{ dd_global "$t1"; dd_vrrp 200; cat "$TMP/conf/p.dd" "$TMP/conf/c.dd"; } >"$c1"
		master_re="-> MASTER"
	else
		c0=$TMP/$t0.conf c1=$TMP/$t1.conf c2=$TMP/$t2.conf
		{ ka_global "$t0"; ka_vrrp 200; } >"$c0"
		{ ka_global "$t2"; ka_vrrp 100; } >"$c2"
		{ ka_global "$t1"; ka_vrrp 200; cat "$TMP/conf/p.ka" "$TMP/conf/c.ka"; } >"$c1"
		master_re="Entering MASTER STATE"
	fi
	chmod 644 "$c0" "$c1" "$c2"
	pcap=$TMP/$d-iso.pcap
	bg_in "$SW" "$pcap.log" tcpdump -i br0 -n -s 128 -B 8192 -U -w "$pcap" 'vrrp or arp'
	local cap=$LAST_PID
	wait_until 5 grep -q 'listening on' "$pcap.log" || { problem "isolation $d: tcpdump did not start"; return; }
	quiet
	start_daemon "$d" "$n2" "$t2" "$c2"
	if ! wait_log "$t2" "$master_re" 1 20; then
		problem "isolation $d: n2 alone did not become master"; tail -5 "$TMP/$t2.log"
		stop_group "$t2"; stop_bg "$cap"; ns_drop "$n1"; ns_drop "$n2"; return
	fi
	# The baseline: the pair with nothing else to do (n1 with VRRP only).
	start_daemon "$d" "$n1" "$t0" "$c0"
	if ! wait_log "$t0" "$master_re" 1 20; then
		problem "isolation $d: n1 (VRRP only) did not become master"; tail -5 "$TMP/$t0.log"
	fi
	fsleep 1
	t_i0=$EPOCHREALTIME
	fsleep "$ISO_IDLE_SECONDS"
	t_i1=$EPOCHREALTIME
	# n1 stops (SIGTERM: priority 0), n2 takes over; then n1 from cold.
	stop_term "$t0"
	wait_log "$t2" "$master_re" 2 20 || problem "isolation $d: n2 did not take over from the stopped n1"
	fsleep 1
	poll_start "$n1" "$t1" wait -i 100 -t 900 $((N + NSVC_CHECKED)) $((NDEST + CHECKED)) "$P_LAST=$K" "$C_LAST=$CHECK_K"
	fsleep 0.5
	t_start=$EPOCHREALTIME
	start_daemon "$d" "$n1" "$t1" "$c1"
	if ! wait_log "$t1" "$master_re" 1 120; then
		problem "isolation $d: n1 did not become master within 120 s"; tail -5 "$TMP/$t1.log"
	fi
	t_conv=$(stamp_of "$(log_line "$t1" "$master_re" 1)")
	res=$(poll_wait "$t1" "$t1")
	t_up=$(kv t "$res")
	[ "${res%% *}" = "done" ] || problem "isolation $d: n1's table incomplete after 900 s ($res)"
	if [ "$d" = directord ]; then
		wait_log "$t1" "ipvs: start: " 1 60 && t_prog=$(stamp_of "$(log_line "$t1" "ipvs: start: " 1)")
		eng1=$(lvs_engine_pid "$t1") vr1=$(vrrp_engine_pid "$t1")
	else
		t_prog=$t_up
		eng1=$(cat "$TMP/$t1/checker.pid" 2>/dev/null) vr1=$(cat "$TMP/$t1/vrrp.pid" 2>/dev/null)
	fi
	say "   $d: n1 master $(secs "$t_start" "${t_conv:-$t_start}") s after its start; programmed after $(secs "$t_start" "${t_prog:-$t_start}") s; all $((NDEST + CHECKED)) destinations after $(secs "$t_start" "${t_up:-$t_start}") s"
	e0=$(ticks "$eng1") v0=$(ticks "$vr1")
	fsleep "$ISO_CHECK_SECONDS"
	t_chk=$EPOCHREALTIME
	e1=$(ticks "$eng1") v1=$(ticks "$vr1")
	# The reload: one weight changed.
	if [ "$d" = directord ]; then
		{ dd_global "$t1"; dd_vrrp 200; cat "$TMP/conf/p.dd.w2" "$TMP/conf/c.dd"; } >"$c1"
	else
		{ ka_global "$t1"; ka_vrrp 200; cat "$TMP/conf/p.ka.w2" "$TMP/conf/c.ka"; } >"$c1"
	fi
	poll_start "$n1" "$t1-w" weight -i 20 -t 300 "$CH_VIP" "$CH_RS" 2
	fsleep 0.3
	t_hup=$EPOCHREALTIME
	kill -HUP "$(pid_of "$t1")"
	res=$(poll_wait "$t1-w")
	t_rel=$(kv t "$res")
	[ "${res%% *}" = "done" ] || { problem "isolation $d: the reload's weight not in the kernel within 300 s"; t_rel=$EPOCHREALTIME; }
	fsleep 2
	t_end=$EPOCHREALTIME
	say "   $d: reload: the new weight in the kernel after $(ms_of "$t_hup" "$t_rel") ms"
	local st1="" st2="" late=""
	if [ "$d" = directord ]; then
		st1=$(vstate "$t1" VI_1) st2=$(vstate "$t2" VI_1)
		# The engines' own view: how late n1 sent (its clock) and how
		# long n2 waited between adverts (its clock) - a late sender and
		# a late path look the same on the wire.
		local j1 j2
		j1=$(status_json "$t1") j2=$(status_json "$t2")
		late="n1 sent its adverts at most $(jfield "$j1" '"name":"VI_1"' advert_late_max_ms) ms after they were due ($(jfield "$j1" '"name":"VI_1"' adverts_late) more than half an interval late); n2 waited at most $(jfield "$j2" '"name":"VI_1"' advert_gap_max_ms) ms between two of n1's adverts"
	fi
	stop_group "$t1"
	stop_group "$t2"
	fsleep 0.2
	stop_bg "$cap"
	md=$(awk -v i="$ISO_INTERVAL_MS" 'BEGIN { printf "%.4f", 3 * i + (256 - 100) * i / 256 }')
	local a phase from to name
	a=$(awk -v t="$t_conv" 'BEGIN { printf "%.6f", t + 0.2 }')
	I_ROWS[$d]=""
	I_SUM[$d]=0
	for phase in "idle:$t_i0:$t_i1" "programming:$a:${t_prog:-$a}" "checks:${t_prog:-$a}:$t_chk" "reload:$t_hup:$t_end" "all:$a:$t_end"; do
		IFS=: read -r name from to <<<"$phase"
		w=$(wire stability "$pcap" 51 "$from" "$to" "$ISO_INTERVAL_MS" "$md" 2>&1)
		local tr1 tr2 tag1=$t1
		[ "$name" = idle ] && tag1=$t0
		tr1=$(transitions_in "$tag1" "$from" "$to") tr2=$(transitions_in "$t2" "$from" "$to")
		I_ROWS[$d]+="$name|$(secs "$from" "$to")|$tr1|$tr2|$w"$'\n'
		local sc
		sc=$(kv source_changes "$w")
		[ "$name" = all ] && I_SUM[$d]=$((tr1 + tr2 + ${sc:-0}))
		[ "$name" = idle ] && I_IDLE[$d]=$((tr1 + tr2 + ${sc:-0}))
		say "   $d $name ($(secs "$from" "$to") s): transitions logged n1 $tr1, n2 $tr2; wire: $w"
	done
	I_NOTE[$d]="n1 became master $(secs "$t_start" "$t_conv") s after its start; programmed at +$(secs "$t_start" "${t_prog:-$t_start}") s, all destinations at +$(secs "$t_start" "${t_up:-$t_start}") s; reload: weight in the kernel $(ms_of "$t_hup" "$t_rel") ms after SIGHUP; during the ${ISO_CHECK_SECONDS}s of checks: checking process $(pct $((e1 - e0)) "$ISO_CHECK_SECONDS")%, VRRP process $(pct $((v1 - v0)) "$ISO_CHECK_SECONDS")% of a CPU"
	[ -n "$st1" ] && I_NOTE[$d]+="; status at the end (state, transitions since start): n1 $st1, n2 $st2"
	[ -n "$late" ] && I_NOTE[$d]+="; $late"
	ns_drop "$n1"
	ns_drop "$n2"
}

if want "$PARTS" isolation; then
	echo "== 5. isolation: VRRPv3 every ${ISO_INTERVAL_MS} ms while the master programs and checks"
	topology && for d in $DAEMONS; do [ "$d" = ipvsadm ] || isolation "$d"; done
fi

# ---- the report ------------------------------------------------------------------------

T_TOTAL=$((SECONDS - T_START))
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { if (v == "n/a" || v == "") { print "n/a"; exit } ok = (dir == "ge" ? v + 0 >= t + 0 : dir == "le" ? v + 0 <= t + 0 : v + 0 < t + 0); print (ok ? "**meets**" : "**misses**") }'; }
median_of() { printf '%s\n' "$@" | grep -v '^n/a$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }

report() {
	echo "- VM: qemu TCG, $(nproc) vCPU(s), $(awk '/^MemTotal/ { printf "%.0f MiB", $2 / 1024 }' /proc/meminfo), kernel $(uname -r) (Debian); the measuring run inside the VM took ${T_TOTAL}s"
	echo "- directord: source $REV; $KA_VERSION; $IPVSADM_VERSION"
	echo "- settings: N=$N K=$K CHECKED=$CHECKED CHECK_K=$CHECK_K TRIALS=$TRIALS RELOADS=$RELOADS WARMUP=$WARMUP CPU_SECONDS=$CPU_SECONDS ISO_INTERVAL_MS=$ISO_INTERVAL_MS ISO_IDLE_SECONDS=$ISO_IDLE_SECONDS ISO_CHECK_SECONDS=$ISO_CHECK_SECONDS QUIET_MAX=$QUIET_MAX"
	[ "$ERRORS" = 0 ] || echo "- **$ERRORS problem(s) during the run: see its output**"
	echo
	local d t dw iw kw
	if want "$PARTS" program; then
		echo "### 1. Programming $N services x $K destinations from cold ($NOBJ objects, check = none)"
		echo
		echo "| | done (s): directord's \"ipvs: start:\" line, ipvsadm's exit, keepalived: = kernel | kernel shows all $N services and $NDEST destinations (s) | CPU of the process(es) (s) | operations | verified |"
		echo "|---|---|---|---|---|---|"
		for d in $DAEMONS; do
			for ((t = 1; t <= TRIALS; t++)); do
				echo "| $d$([ "$TRIALS" -gt 1 ] && echo " (trial $t)") | ${P_WALL[$d,$t]:-n/a} | ${P_KERNEL[$d,$t]:-n/a} | ${P_CPU[$d,$t]:-n/a} | ${P_OPS[$d,$t]:-n/a} | ${P_VERIFY[$d,$t]:-n/a} |"
			done
		done
		echo
		# Each timed to the moment the kernel holds the whole table (lvs-poll;
		# its last full count is part of every one of these times).
		dw=$(median_of $(for ((t = 1; t <= TRIALS; t++)); do echo "${P_KERNEL[directord,$t]:-n/a}"; done))
		iw=$(median_of $(for ((t = 1; t <= TRIALS; t++)); do echo "${P_KERNEL[ipvsadm,$t]:-n/a}"; done))
		kw=$(median_of $(for ((t = 1; t <= TRIALS; t++)); do echo "${P_KERNEL[keepalived,$t]:-n/a}"; done))
		local r1 r2
		r1=$(ratio "$iw" "$dw" 1) r2=$(ratio "$kw" "$dw" 1)
		echo "| target (kernel complete, all three) | directord | reference | reference / directord | verdict |"
		echo "|---|---|---|---|---|"
		echo "| >= 2x faster than ipvsadm -R | $dw s | ipvsadm -R: $iw s | ${r1}x | $(verdict "$r1" 2 ge) |"
		echo "| >= 4x faster than keepalived | $dw s | keepalived: $kw s | ${r2}x | $(verdict "$r2" 4 ge) |"
		echo
	fi
	if want "$PARTS" reload && want "$DAEMONS" directord; then
		echo "### 2. Reload of that config with one destination's weight changed ($RELOADS reloads, median / max)"
		echo
		echo "| daemon | SIGHUP -> reload log line (ms) | SIGHUP -> new weight in the kernel (ms) | the LVS engine, its own clock (ms, median / max): taking the configuration in; applying it | operations reported | target: applied < 50 ms, 1 operation |"
		echo "|---|---|---|---|---|---|"
		local med ops app
		med=${R_LINE[directord]:-n/a}
		ops=${R_OPS[directord]:-n/a}
		app=${R_APPLY[directord]:-n/a}
		echo "| directord | $med | ${R_KERNEL[directord]:-n/a} | read ${R_READ[directord]:-n/a}; applied $app | $ops | $(awk -v m="${app%% *}" -v o="$ops" 'BEGIN { if (m == "n/a" || m == "") print "n/a"; else printf "%s, %s", (m + 0 < 50 ? "**meets** (median)" : "**misses** (median)"), (o == "1" ? "**meets**" : "**misses**") }') |"
		if want "$DAEMONS" keepalived && [ "$KA_RELOAD" = 1 ]; then
			echo "| keepalived (one reload) | - | ${R_KERNEL[keepalived]:-n/a} | - | - | (reference) |"
			local rr
			rr=$(ratio "${R_KERNEL[keepalived]%% *}" "${R_KERNEL[directord]%% *}" 1)
			echo
			echo "| target | directord (median) | keepalived | keepalived / directord | verdict |"
			echo "|---|---|---|---|---|"
			echo "| SIGHUP -> new weight in the kernel >= 10x faster than keepalived | ${R_KERNEL[directord]%% *} ms | ${R_KERNEL[keepalived]%% *} ms | ${rr}x | $(verdict "$rr" 10 ge) |"
		fi
		echo
		echo "For scale: \`directord -t -f\` of the same file (read, parse and check it, in a process of its own) took ${R_PARSE:-n/a} ms."
		if [ -n "${R_PARSE_KA:-}" ]; then
			local rt
			rt=$(ratio "$R_PARSE" "$R_PARSE_KA")
			echo
			echo "| target | directord -t | keepalived -t | directord / keepalived | verdict |"
			echo "|---|---|---|---|---|"
			echo "| at most a quarter of keepalived -t's time | $R_PARSE ms | $R_PARSE_KA ms | $rt | $(verdict "$rt" 0.25 le) |"
		fi
		echo
	fi
	if want "$PARTS" program; then
		echo "### 4. Peak memory with the $N-service config (kB)"
		echo
		echo "| daemon | VmHWM, all processes summed: after programming | after the reloads | VmRSS summed after programming | directord / this (VmHWM after programming) |"
		echo "|---|---|---|---|---|"
		for d in $DAEMONS; do
			echo "| $d$([ "$d" = ipvsadm ] && echo " -R (one process, maxrss)") | ${P_HWM[$d,1]:-n/a} | ${P_HWM[$d,reload]:-n/a} | ${P_RSS[$d,1]:-n/a} | $(ratio "${P_HWM[directord,1]:-}" "${P_HWM[$d,1]:-}") |"
		done
		echo
		if want "$DAEMONS" keepalived; then
			local m1 m2
			m1=$(ratio "${P_HWM[directord,1]:-}" "${P_HWM[keepalived,1]:-}")
			m2=$(ratio "${P_HWM[directord,reload]:-}" "${P_HWM[keepalived,reload]:-}")
			echo "| target | directord | keepalived | directord / keepalived | verdict |"
			echo "|---|---|---|---|---|"
			echo "| after programming: at most half of keepalived's | ${P_HWM[directord,1]:-n/a} | ${P_HWM[keepalived,1]:-n/a} | $m1 | $(verdict "$m1" 0.5 le) |"
			echo "| after the reloads: at most half of keepalived's | ${P_HWM[directord,reload]:-n/a} | ${P_HWM[keepalived,reload]:-n/a} | $m2 | $(verdict "$m2" 0.5 le) |"
			echo "| no growth from reload 2 to reload $RELOADS | ${P_HWM[directord,reload2]:-n/a} -> ${P_HWM[directord,reload]:-n/a} | - | - | $(awk -v a="${P_HWM[directord,reload2]:-}" -v b="${P_HWM[directord,reload]:-}" 'BEGIN { if (a == "" || b == "") print "n/a"; else print (b + 0 <= a + 0 ? "**meets**" : "**misses**") }') |"
			echo
		fi
		for d in $DAEMONS; do
			[ -n "${P_HWM_ROWS[$d,1]:-}" ] && echo "- $d after programming: ${P_HWM_ROWS[$d,1]% }"
			[ -n "${P_HWM_ROWS[directord,reload2]:-}" ] && [ "$d" = directord ] && echo "- $d after reload 2: ${P_HWM_ROWS[directord,reload2]% }"
			[ -n "${P_HWM_ROWS[$d,reload]:-}" ] && echo "- $d after the reloads: ${P_HWM_ROWS[$d,reload]% }"
		done
		echo
	fi
	if want "$PARTS" checks; then
		echo "### 3. $CHECKED real servers checked by tcp every second (CPU over ${CPU_SECONDS}s after ${WARMUP}s)"
		echo
		# Under TCG both checkers may use a whole CPU and fall short of
		# the wanted rate: then % of a CPU compares nothing, and the CPU
		# per check that reached a server is what is compared.
		echo "| daemon | checking process: % of a CPU | checks reaching the real servers / s | CPU per check (us) | state at the end | directord / keepalived (CPU per check) | target: at most half of keepalived's |"
		echo "|---|---|---|---|---|---|---|"
		local rc
		rc=$(ratio "${C_PER[directord]:-}" "${C_PER[keepalived]:-}")
		for d in $DAEMONS; do
			[ "$d" = ipvsadm ] && continue
			echo "| $d ($([ "$d" = directord ] && echo "LVS engine" || echo "checker child")) | ${C_ENGINE[$d]:-n/a} | ${C_RATE[$d]:-n/a} | ${C_PER[$d]:-n/a} | ${C_UP[$d]:-n/a} | $([ "$d" = directord ] && echo "$rc" || echo -) | $([ "$d" = directord ] && awk -v a="${C_PER[directord]:-}" -v b="${C_PER[keepalived]:-}" 'BEGIN { if (a == "" || b == "" || a + 0 == 0 || b + 0 == 0) print "n/a"; else print (a + 0 <= b / 2 ? "**meets** (per check)" : "**misses** (per check)") }' || echo -) |"
		done
		echo
		for d in $DAEMONS; do [ -n "${C_NOTE[$d]:-}" ] && echo "- $d: ${C_NOTE[$d]}"; done
		echo
	fi
	if want "$PARTS" isolation; then
		local md
		md=$(awk -v i="$ISO_INTERVAL_MS" 'BEGIN { printf "%.2f", 3 * i + (256 - 100) * i / 256 }')
		echo "### 5. Isolation: VRRPv3 every $ISO_INTERVAL_MS ms (Master_Down of the backup $md ms) while the master programs $N x $K + $CHECKED checked servers, checks, reloads"
		echo
		echo "| daemon | phase | window (s) | transitions logged n1 / n2 | advert source changes (wire) | adverts by source | gap median / p99.9 / max (ms) | gaps > 1.5 intervals | gaps >= Master_Down | target: no spurious transition |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		for d in $DAEMONS; do
			[ "$d" = ipvsadm ] && continue
			[ -n "${I_ROWS[$d]:-}" ] || continue
			while IFS='|' read -r name win tr1 tr2 w; do
				[ -n "$name" ] || continue
				local v=""
				if [ "$name" = all ]; then
					if [ "$((tr1 + tr2))" = 0 ] && [ "$(kv source_changes "$w")" = 0 ]; then v="**meets**"; else v="**misses**"; fi
				elif [ "$name" = idle ]; then
					v="(baseline: the pair alone)"
				fi
				echo "| $d | $name | $win | $tr1 / $tr2 | $(kv source_changes "$w") | $(kv by_source "$w") | $(kv gap_median_ms "$w") / $(kv gap_p999_ms "$w") / $(kv gap_max_ms "$w") | $(kv gaps_over_1.5x_interval "$w") | $(kv gaps_over_master_down "$w") | $v |"
			done <<<"${I_ROWS[$d]}"
		done
		echo
		for d in $DAEMONS; do [ -n "${I_NOTE[$d]:-}" ] && echo "- $d: ${I_NOTE[$d]}"; done
		echo
	fi
	echo "### Raw numbers"
	echo
	echo '```'
	for d in $DAEMONS; do
		for ((t = 1; t <= TRIALS; t++)); do
			[ -n "${P_NOTE[$d,$t]:-}" ] && echo "$d trial $t: ${P_NOTE[$d,$t]}; VM busy before: ${P_BUSY[$d,$t]:-?}%"
		done
		[ -n "${R_RAW[$d]:-}" ] && printf '%s\n' "${R_RAW[$d]%$'\n'}"
	done
	for d in $DAEMONS; do
		[ -n "${I_ROWS[$d]:-}" ] && printf '%s' "${I_ROWS[$d]}" | sed "s/^/isolation $d: /"
	done
	echo '```'
}

if [ "$KEEP_LOGS" = 1 ]; then
	for f in "$TMP"/*.log; do
		echo "--- ${f##*/} (last 60 lines)"
		tail -60 "$f"
	done
fi
echo
echo "$BEGIN_MARK"
report
echo "$END_MARK"
echo
[ "$ERRORS" = 0 ] || { echo "bench: $ERRORS problem(s); the numbers above are not trustworthy"; exit 1; }
exit 0
