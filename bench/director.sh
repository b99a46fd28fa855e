#!/usr/bin/env bash
# directord benchmarks, each against keepalived (Debian 2.2.7) run in the
# same topology, with the same intervals and priorities, in the same run:
#
#   1. takeover time on the wire: from the master's last advert (hard
#      failure: SIGKILL of every process of its daemon) or its priority-0
#      advert (graceful stop: SIGTERM) to the new master's first gratuitous
#      ARP, captured on the bridge; VRRPv2 at 1 s and VRRPv3 at 100 ms;
#      reported as the excess over the RFC bound (Master_Down_Interval,
#      resp. Skew_Time of the backup);
#   2. stability: VRRPv3 at 10 ms for three minutes while two busy loops
#      load both cores; spurious transitions counted from what the daemons
#      report and from the capture;
#   3. memory with 100 VRRP instances: VmRSS, Pss and private memory of
#      every process of the daemon.
#
# Root; network namespaces made with tests/netns/lib.sh and removed, with
# every process started here, on every exit path (Ctrl-C included).
# Addresses: 198.18.0.0/15 only. Every loop and wait is bounded.
#
#   bench/director.sh [BUILD]     (make bench runs it after bench/run.sh)
#
# Settings (environment, defaults in brackets): TRIALS [10] failures per
# daemon, version and failure kind; STAB_SECONDS [180] and STAB_INTERVAL_MS
# [10] for the stability run; INSTANCES [100] and SETTLE [10] (seconds the
# pair runs before its memory is read); DAEMONS ["directord keepalived"];
# PARTS ["takeover stability memory"]; CASES ["2:1000 3:100"] (version:
# interval in ms of the takeover runs); RESULTS [bench/results-director.md];
# QUIET_MAX [10] and QUIET_WAIT [120] (before each failure, wait at most
# QUIET_WAIT s until other processes use <= QUIET_MAX % of a core; the
# waits of a whole run stop after QUIET_BUDGET [300] s); DISTURB_MAX [10]
# and ATTEMPTS [3] (a failure during which other processes used more than
# DISTURB_MAX % of a core is repeated, ATTEMPTS in all; the least disturbed
# one is kept). KEEP=1 keeps the captures and logs in /tmp.
#
# Nothing here asserts a timing: it measures and reports. It exits non-zero
# only when a measurement could not be made.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "bench: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
export BUILD
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)"; exit 1; }
[ -x "$BUILD/directord" ] && [ -x "$BUILD/directorctl" ] || { echo "bench: $BUILD/directord missing (run make)"; exit 1; }
for cmd in tcpdump keepalived taskset; do
	command -v "$cmd" >/dev/null || { echo "bench: $cmd is not installed (make deps-test installs it)"; exit 1; }
done

TRIALS=${TRIALS:-10}
STAB_SECONDS=${STAB_SECONDS:-180}
STAB_INTERVAL_MS=${STAB_INTERVAL_MS:-10}
INSTANCES=${INSTANCES:-100}
SETTLE=${SETTLE:-10}
DAEMONS=${DAEMONS:-directord keepalived}
PARTS=${PARTS:-takeover stability memory}
CASES=${CASES:-2:1000 3:100}
RESULTS=${RESULTS:-$HERE/results-director.md}
QUIET_MAX=${QUIET_MAX:-10}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUDGET=${QUIET_BUDGET:-300}
DISTURB_MAX=${DISTURB_MAX:-10}
ATTEMPTS=${ATTEMPTS:-3}

# Targets from the directord issue: excess over the RFC bound.
TARGET_MEDIAN_MS=2
TARGET_WORST_MS=5
# Both pairs: n1 is the master (200), n2 the backup (100), whose Skew_Time
# the bounds use.
PRIO_MASTER=200
PRIO_BACKUP=100
VRID=51
VIP=198.18.0.100
IP1=198.18.0.1 IP2=198.18.0.2

. "$ROOT/tests/netns/lib.sh"
. "$ROOT/tests/netns/director-lib.sh"
. "$ROOT/tests/netns/keepalived-lib.sh"	# stop_bg, bg_forget, holds (of $KA_VIP)
TEST_ID="dsrb$$"			# namespaces dsrb<pid>-*, apart from the tests' dsrt<pid>-*
KA_VIP=$VIP

CLK_TCK=$(getconf CLK_TCK)
ERRORS=0
problem() { echo "bench: PROBLEM: $*"; ERRORS=$((ERRORS + 1)); }
say() { printf '[%4ds] %s\n' $((SECONDS - T_START)) "$*"; }
T_START=$SECONDS

# The binaries are copied: someone rebuilding during the run does not
# change what is measured halfway.
mkdir -p "$TMP/bin"
cp "$BUILD/directord" "$BUILD/directorctl" "$TMP/bin/"
DIRECTORD=$TMP/bin/directord
DIRECTORCTL=$TMP/bin/directorctl

echo "== building the bench helper (cc -O2)"
cc -O2 -Wall -Wextra -o "$TMP/spin" "$HERE/spin.c" || { echo "bench: building spin failed"; exit 1; }

# A sleep without a fork: read with a timeout on a FIFO nobody writes.
mkfifo "$TMP/never"
exec {NEVER_FD}<>"$TMP/never"
fsleep() { read -r -t "$1" -u "$NEVER_FD" _; return 0; }

# ---- measuring the measurement (as bench/run.sh does) -----------------------

# usersys: user + nice + system ticks of the whole machine.
usersys() { awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat; }

# ours_ticks: utime + stime (with reaped children) of this script and of
# every process in its namespaces: the daemons, the capture, the load.
ours_ticks() {
	local files=("/proc/$$/stat") ns p
	for ns in "${NAMESPACES[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do files+=("/proc/$p/stat"); done
	done
	cat "${files[@]}" 2>/dev/null | awk '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}

# Around one measurement: mark_begin; mark_end sets FOREIGN, the CPU (% of
# one core) used meanwhile by processes other than ours, and WALL_MS.
mark_begin() { M0=$(usersys) P0=$(ours_ticks) W0=${EPOCHREALTIME/./}; }
mark_end() {
	local m1 p1 w1
	m1=$(usersys) p1=$(ours_ticks) w1=${EPOCHREALTIME/./}
	WALL_MS=$(((w1 - W0) / 1000))
	OURS_TICKS=$((p1 - P0))
	FOREIGN=$(awk -v d=$((m1 - M0 - (p1 - P0))) -v hz="$CLK_TCK" -v ms=$((WALL_MS + 1)) \
		'BEGIN { f = 100 * d / hz / (ms / 1000); printf "%.0f", (f < 0 ? 0 : f) }')
}

# quiet: wait (at least 1 s, at most QUIET_WAIT s, and no more once the
# run has waited QUIET_BUDGET s in all) until other processes used
# <= QUIET_MAX % of a core over one second. Sets QUIET_BUSY.
QUIET_SPENT=0
quiet() {
	local i
	for ((i = 0; i < QUIET_WAIT; i++)); do
		mark_begin
		fsleep 1
		mark_end
		QUIET_BUSY=$FOREIGN
		((QUIET_BUSY <= QUIET_MAX)) && return 0
		if ((QUIET_SPENT >= QUIET_BUDGET)); then
			((QUIET_SPENT++ == QUIET_BUDGET)) && echo "   (QUIET_BUDGET of ${QUIET_BUDGET}s spent: no more waiting for a quiet machine)"
			return 1
		fi
		QUIET_SPENT=$((QUIET_SPENT + 1))
		((i == 0)) && echo "   (waiting up to ${QUIET_WAIT}s for a quiet machine: others use ${QUIET_BUSY}% of a core)"
	done
	return 1
}

# mem PID FIELD: a kB value of /proc/PID/status; smaps PID FIELD... : the
# sum of these fields of /proc/PID/smaps_rollup.
mem() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
smaps() {
	local pid=$1; shift
	awk -v want=" $* " 'index(want, " " substr($1, 1, length($1) - 1) " ") { s += $2 } END { print s + 0 }' \
		"/proc/$pid/smaps_rollup" 2>/dev/null
}

ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0 || a == "" || b == "") print "n/a"; else printf "%.*f", d, a / b }'; }
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

# ---- topology --------------------------------------------------------------

#   n1 eth0 198.18.0.1/24 --- br0 (sw) --- n2 eth0 198.18.0.2/24
# VIP 198.18.0.100/24 (the memory runs: 198.18.2.1-N/32). A sleeping
# process parked in each node: reading its /proc/PID/net/fib_trie tells,
# without a fork, whether that node holds the VIP.
two_directors
N1=$D1 N2=$D2
bg_in "$N1" /dev/null sleep 7200
PARK1=$LAST_PID
bg_in "$N2" /dev/null sleep 7200
PARK2=$LAST_PID
ns_new ld			# the busy loops of the stability run
wait_until 5 test -r "/proc/$PARK1/net/fib_trie" && wait_until 5 test -r "/proc/$PARK2/net/fib_trie" ||
	{ echo "bench: the parked processes did not start"; exit 1; }

# ---- the two daemons, configured alike --------------------------------------

# tag DAEMON NODE: dd1 dd2 ka1 ka2
tag() { [ "$1" = directord ] && echo "dd${2#n}" || echo "ka${2#n}"; }
node_ns() { [ "$1" = n1 ] && echo "$N1" || echo "$N2"; }

# skew_ms VERSION INTERVAL_MS PRIORITY / master_down_ms ...: RFC 5798 and
# RFC 3768 (v2 skews by a fraction of one second whatever the interval).
skew_ms() { awk -v v="$1" -v i="$2" -v p="$3" 'BEGIN { printf "%.4f", (256 - p) * (v == 2 ? 1000 : i) / 256 }'; }
master_down_ms() { awk -v s="$(skew_ms "$@")" -v i="$2" 'BEGIN { printf "%.4f", 3 * i + s }'; }

# conf DAEMON FILE NODE VERSION INTERVAL_MS PRIORITY NINST: one instance
# VI_1 (VRID 51, VIP 198.18.0.100/24), or NINST > 1 instances VI_1..VI_N
# with VRIDs 1..N and one host VIP each, 198.18.2.K/32. Everything else is
# each daemon's default: in particular 5 gratuitous ARPs at once and 5
# more after 5 s (keepalived's garp_master_repeat/garp_master_delay,
# directord's garp_count/garp_repeat_delay), preemption on, no realtime
# scheduling.
conf() {
	local daemon=$1 file=$2 node=$3 version=$4 ms=$5 prio=$6 n=$7 t k vrid vip int
	t=$(tag "$daemon" "$node")
	mkdir -p "$TMP/$t"
	chmod 755 "$TMP/$t"
	if [ "$daemon" = directord ]; then
		((ms % 1000 == 0)) && int="$((ms / 1000))s" || int="${ms}ms"
		{
			echo "[global]"
			echo "router_id = $node"
			echo "user = dsrkit"
			echo "control_socket = $TMP/$t/ctl.sock"
			echo "control_mode = 0600"
			echo "log_level = info"
			for ((k = 1; k <= n; k++)); do
				if ((n == 1)); then vrid=$VRID vip=$VIP/24; else vrid=$k vip=198.18.2.$k; fi
				echo "[vrrp VI_$k]"
				echo "interface = eth0"
				echo "virtual_router_id = $vrid"
				echo "priority = $prio"
				echo "version = $version"
				echo "advert_interval = $int"
				echo "virtual_ipaddress = $vip"
			done
		} >"$file"
	else
		int=$(awk -v m="$ms" 'BEGIN { printf "%g", m / 1000 }')
		{
			echo "global_defs {"
			echo "    router_id $node"
			echo "    vrrp_version $version"
			echo "}"
			for ((k = 1; k <= n; k++)); do
				if ((n == 1)); then vrid=$VRID vip=$VIP/24; else vrid=$k vip=198.18.2.$k/32; fi
				echo "vrrp_instance VI_$k {"
				echo "    state BACKUP"
				echo "    interface eth0"
				echo "    virtual_router_id $vrid"
				echo "    priority $prio"
				echo "    advert_int $int"
				echo "    virtual_ipaddress {"
				echo "        $vip dev eth0"
				echo "    }"
				echo "}"
			done
		} >"$file"
	fi
	chmod 644 "$file"
}

# node_start DAEMON NODE CONF: the daemon in the foreground in NODE's
# namespace, in a process group of its own (setsid: the hard failure
# kills the whole group at once); ready when directord's control socket
# answers, when keepalived logs "Startup complete". Pid in PID_<tag>.
node_start() {
	local daemon=$1 node=$2 conf=$3 ns t
	ns=$(node_ns "$node") t=$(tag "$daemon" "$node")
	if [ "$daemon" = directord ]; then
		start_director "$ns" "$t" "$conf"
		return
	fi
	rm -f "$TMP/$t"/*.pid
	bg_in "$ns" "$TMP/$t.log" setsid keepalived -n -l -f "$conf" \
		-p "$TMP/$t/ka.pid" -r "$TMP/$t/vrrp.pid" -c "$TMP/$t/checker.pid"
	printf -v "PID_$t" '%s' "$LAST_PID"
	disown "$LAST_PID"
	wait_until 10 grep -q 'Startup complete' "$TMP/$t.log" || { echo "keepalived $t did not start:"; tail -20 "$TMP/$t.log"; return 1; }
}

node_pid() { local v="PID_$(tag "$1" "$2")"; echo "${!v:-}"; }

# node_gone NODE: nothing runs in NODE's namespace but the parked sleep.
node_gone() {
	local park=$PARK1
	[ "$1" = n2 ] && park=$PARK2
	[ -z "$(ip netns pids "$(node_ns "$1")" | grep -vx "$park")" ]
}

# node_stop DAEMON NODE [TERM|KILL]: TERM to the parent, or KILL to the
# whole process group; waits (bounded) until nothing of it is left.
node_stop() {
	local daemon=$1 node=$2 sig=${3:-TERM} pid
	pid=$(node_pid "$daemon" "$node")
	[ -n "$pid" ] || return 0
	if [ "$sig" = KILL ]; then kill -KILL -- "-$pid" 2>/dev/null; else kill -TERM "$pid" 2>/dev/null; fi
	wait_until 10 node_gone "$node" || { kill -KILL -- "-$pid" 2>/dev/null; wait_until 5 node_gone "$node"; }
	bg_forget "$pid"
	printf -v "PID_$(tag "$daemon" "$node")" '%s' ""
	node_gone "$node"
}

# ka_state TAG: keepalived's state of VI_1 by the last transition it logged.
ka_state() { grep -o '(VI_1) Entering [A-Z]* STATE' "$TMP/$1.log" 2>/dev/null | tail -1 | awk '{ print $3 }'; }

# converged DAEMON: n1 master and n2 backup, by what the daemons say and by
# who holds the VIP.
converged() {
	holds "$PARK1" && ! holds "$PARK2" || return 1
	if [ "$1" = directord ]; then
		state_is dd1 VI_1 MASTER && state_is dd2 VI_1 BACKUP
	else
		[ "$(ka_state ka1)" = MASTER ] && [ "$(ka_state ka2)" = BACKUP ]
	fi
}

# pair_start DAEMON CONF1 CONF2 SECONDS: n1, until it is master, then n2,
# until the pair has converged.
pair_start() {
	local daemon=$1 c1=$2 c2=$3 limit=$4
	node_start "$daemon" n1 "$c1" || return 1
	wait_until "$limit" holds "$PARK1" || { echo "n1 did not become master"; return 1; }
	node_start "$daemon" n2 "$c2" || return 1
	wait_until "$limit" converged "$daemon" || { echo "the $daemon pair did not converge"; return 1; }
}

pair_stop() {
	node_stop "$1" n2 TERM || problem "$1 on n2 did not stop"
	node_stop "$1" n1 TERM || problem "$1 on n1 did not stop"
}

# capture_start FILE: tcpdump on br0 in the switch namespace, VRRP and ARP,
# to a pcap file (kernel timestamps, microseconds). Pid in CAPTURE_PID.
capture_start() {
	bg_in "$SW" "$1.log" tcpdump -i br0 -n -s 128 -B 4096 -U -w "$1" 'vrrp or arp'
	CAPTURE_PID=$LAST_PID
	wait_until 5 grep -q 'listening on' "$1.log"
}
# capture_stop FILE: ends it; CAPTURE_DROPS from its statistics.
capture_stop() {
	fsleep 0.2
	stop_bg "$CAPTURE_PID"
	CAPTURE_DROPS=$(awk '/dropped by kernel/ { print $1 }' "$1.log")
}

# ---- the wire: a reader of the pcap files -------------------------------------

cat >"$TMP/wire.py" <<'PY'
"""Reads a pcap of VRRP and ARP on the bridge. Modes:

takeover PCAP VIP VRID OLD_IP NEW_IP NEW_MAC KIND BOUND_MS ATTEMPTS_FILE
    For each failure (a line "trial attempt t_fail foreign" of
    ATTEMPTS_FILE, t_fail in epoch seconds): ref = the old master's last
    advert before the new master's first gratuitous ARP for VIP (hard), or
    its first priority-0 advert after t_fail (graceful); prints the
    takeover time, its excess over BOUND_MS, and when the new master's
    first advert went out. Then a summary of the kept attempt of each
    trial (the least disturbed one).
stability PCAP VRID T0 T1 INTERVAL_MS MASTER_DOWN_MS
    Adverts of VRID between T0 and T1: by source, changes of source, gaps.
"""
import socket, statistics, struct, sys

def packets(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    magic = struct.unpack_from("<I", data)[0]
    fmt = {0xa1b2c3d4: ("<", 1e6), 0xd4c3b2a1: (">", 1e6), 0xa1b23c4d: ("<", 1e9), 0x4d3cb2a1: (">", 1e9)}
    if magic not in fmt:
        sys.exit("not a pcap file: " + path)
    e, div = fmt[magic]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(e + "IIII", data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if len(pkt) == incl:
            yield sec + frac / div, pkt

def decode(pkt):
    if len(pkt) < 14:
        return None
    mac = pkt[6:12].hex(":")
    etype = struct.unpack_from("!H", pkt, 12)[0]
    p = pkt[14:]
    if etype == 0x0806 and len(p) >= 28:
        return ("arp", mac, struct.unpack_from("!H", p, 6)[0], socket.inet_ntoa(p[14:18]), socket.inet_ntoa(p[24:28]))
    if etype == 0x0800 and len(p) >= 20 and p[9] == 112:
        ihl = (p[0] & 15) * 4
        v = p[ihl:]
        if len(v) < 8:
            return None
        ver = v[0] >> 4
        interval = (struct.unpack_from("!H", v, 4)[0] & 0xfff) * 10 if ver == 3 else v[5] * 1000
        return ("vrrp", mac, socket.inet_ntoa(p[12:16]), ver, v[1], v[2], interval)
    return None

def load(path):
    return [(t, d) for t, d in ((t, decode(p)) for t, p in packets(path)) if d]

def ms(x):
    return "%.3f" % (x * 1000)

def median(v):
    return statistics.median(v) if v else float("nan")

def takeover(pcap, vip, vrid, old_ip, new_ip, new_mac, kind, bound_ms, attempts_file):
    vrid, bound = int(vrid), float(bound_ms) / 1000
    pk = load(pcap)
    old = [(t, d[5]) for t, d in pk if d[0] == "vrrp" and d[2] == old_ip and d[4] == vrid]
    # The master's own period: gaps between its consecutive adverts of
    # priority > 0, within 1.5 intervals (restarts left out).
    iv = [d[6] / 1000 for t, d in pk if d[0] == "vrrp" and d[2] == old_ip and d[4] == vrid]
    period = [b[0] - a[0] for a, b in zip(old, old[1:]) if a[1] > 0 and b[1] > 0 and iv and b[0] - a[0] < 1.5 * iv[0]]
    new = [t for t, d in pk if d[0] == "vrrp" and d[2] == new_ip and d[4] == vrid and d[5] > 0]
    garps = [t for t, d in pk if d[0] == "arp" and d[1] == new_mac and d[3] == vip and d[4] == vip]
    tries = []
    for line in open(attempts_file):
        f = line.split()
        if len(f) == 4:
            tries.append((int(f[0]), int(f[1]), float(f[2]), int(f[3])))
    tries.sort(key=lambda x: x[2])
    results = {}
    for i, (trial, attempt, t0, foreign) in enumerate(tries):
        t_end = tries[i + 1][2] if i + 1 < len(tries) else float("inf")
        g = [t for t in garps if t0 <= t < t_end]
        r = dict(trial=trial, attempt=attempt, foreign=foreign, ok=False)
        results.setdefault(trial, []).append(r)
        if not g:
            r["why"] = "no gratuitous ARP from the new master"
            continue
        garp = g[0]
        if kind == "hard":
            c = [t for t, prio in old if prio > 0 and t < garp]
        else:
            c = [t for t, prio in old if prio == 0 and t0 - 0.001 <= t < garp]
        if not c:
            r["why"] = "no %s advert of the old master before the ARP" % ("last" if kind == "hard" else "priority-0")
            continue
        ref = c[-1] if kind == "hard" else c[0]
        a = [t for t in new if ref <= t < t_end]
        r.update(ok=True, ref=ref, garp=garp, takeover=garp - ref, excess=garp - ref - bound,
                 adv=(a[0] - ref - bound) if a else None, garp_after_adv=(garp - a[0]) if a else None,
                 kill_after_ref=t0 - ref, garps_1s=sum(1 for t in g if t < garp + 1))
    kept = []
    for trial in sorted(results):
        ok = [r for r in results[trial] if r["ok"]]
        best = min(ok, key=lambda r: (r["foreign"], r["attempt"])) if ok else None
        for r in results[trial]:
            r["kept"] = r is best
            if r["ok"]:
                print("trial %d attempt %d%s: ref %.6f garp %.6f takeover_ms=%s excess_ms=%s first_advert_excess_ms=%s "
                      "garp_after_advert_ms=%s garps_in_1s=%d fail_after_ref_ms=%s others=%d%%" % (
                          r["trial"], r["attempt"], " (kept)" if r["kept"] else "", r["ref"], r["garp"], ms(r["takeover"]),
                          ms(r["excess"]), ms(r["adv"]) if r["adv"] is not None else "n/a",
                          ms(r["garp_after_adv"]) if r["garp_after_adv"] is not None else "n/a",
                          r["garps_1s"], ms(r["kill_after_ref"]), r["foreign"]))
            else:
                print("trial %d attempt %d: MISSING: %s (others=%d%%)" % (r["trial"], r["attempt"], r["why"], r["foreign"]))
        if best:
            kept.append(best)
    ex = sorted(r["excess"] for r in kept)
    adv = sorted(r["adv"] for r in kept if r["adv"] is not None)
    ga = sorted(r["garp_after_adv"] for r in kept if r["garp_after_adv"] is not None)
    print("summary trials=%d measured=%d median_excess_ms=%s worst_excess_ms=%s best_excess_ms=%s "
          "median_first_advert_excess_ms=%s worst_first_advert_excess_ms=%s median_garp_after_advert_ms=%s "
          "worst_garp_after_advert_ms=%s master_advert_period_median_ms=%s max_others=%s" % (
              len(results), len(kept), ms(median(ex)), ms(ex[-1]) if ex else "nan", ms(ex[0]) if ex else "nan",
              ms(median(adv)), ms(adv[-1]) if adv else "nan", ms(median(ga)), ms(ga[-1]) if ga else "nan", ms(median(period)),
              max((r["foreign"] for r in kept), default=0)))
    print("excess_ms sorted: " + " ".join(ms(x) for x in ex))

def stability(pcap, vrid, t0, t1, interval_ms, md_ms):
    vrid, t0, t1, md = int(vrid), float(t0), float(t1), float(md_ms) / 1000
    pk = [(t, d) for t, d in load(pcap) if t0 <= t <= t1]
    adv = [(t, d[2], d[5]) for t, d in pk if d[0] == "vrrp" and d[4] == vrid]
    arps = [(t, d[1]) for t, d in pk if d[0] == "arp"]
    by = {}
    for _, src, _ in adv:
        by[src] = by.get(src, 0) + 1
    changes = sum(1 for a, b in zip(adv, adv[1:]) if a[1] != b[1])
    gaps = sorted(b[0] - a[0] for a, b in zip(adv, adv[1:]))
    def pct(p):
        return ms(gaps[min(len(gaps) - 1, int(p * len(gaps)))]) if gaps else "nan"
    over = sum(1 for g in gaps if g > 1.5 * float(interval_ms) / 1000)
    over_md = sum(1 for g in gaps if g >= md)
    first = adv[0][0] - t0 if adv else float("nan")
    print("adverts=%d by_source=%s source_changes=%d prio0=%d gap_median_ms=%s gap_p99_ms=%s gap_p999_ms=%s "
          "gap_max_ms=%s gaps_over_1.5x_interval=%d gaps_over_master_down=%d arps=%d window_s=%.1f" % (
              len(adv), ",".join("%s:%d" % kv for kv in sorted(by.items())) or "none", changes,
              sum(1 for a in adv if a[2] == 0), pct(0.5), pct(0.99), pct(0.999), ms(gaps[-1]) if gaps else "nan",
              over, over_md, len(arps), t1 - t0))

mode = sys.argv[1]
{"takeover": takeover, "stability": stability}[mode](*sys.argv[2:])
PY
wire() { "$PY" "$TMP/wire.py" "$@"; }

DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- director common 2>/dev/null | wc -l)
[ "$DIRTY" -gt 0 ] && REV="$REV + $DIRTY uncommitted change(s) in director/ common/"
KA_VERSION=$(keepalived --version 2>&1 | head -1)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

want() { [[ " $1 " == *" $2 "* ]]; }

# ---- 1. takeover time on the wire ---------------------------------------------

declare -A TK		# TK[daemon,version,interval,kind] = summary line
declare -A TK_RAW	# per-attempt lines
declare -A TK_DROPS

# takeover DAEMON VERSION INTERVAL_MS KIND(hard|graceful)
takeover() {
	local daemon=$1 version=$2 ims=$3 kind=$4
	local key="$1,$2,$3,$4" name="$1-v$2-$3ms-$4" dir bound md1 limit trial attempt pid t_fail end
	dir=$TMP/$name
	mkdir -p "$dir"
	if [ "$kind" = hard ]; then bound=$(master_down_ms "$version" "$ims" "$PRIO_BACKUP"); else bound=$(skew_ms "$version" "$ims" "$PRIO_BACKUP"); fi
	md1=$(master_down_ms "$version" "$ims" "$PRIO_MASTER")
	# n1 restarting: start-up, then its Master_Down_Interval before it preempts.
	limit=$(awk -v m="$md1" 'BEGIN { printf "%d", m / 1000 + 8 }')
	say "$daemon, VRRPv$version every ${ims} ms, $kind failure of the master: $TRIALS trials (bound $bound ms)"
	conf "$daemon" "$dir/n1.conf" n1 "$version" "$ims" "$PRIO_MASTER" 1
	conf "$daemon" "$dir/n2.conf" n2 "$version" "$ims" "$PRIO_BACKUP" 1
	: >"$dir/attempts"
	capture_start "$dir/wire.pcap" || { problem "$name: tcpdump did not start"; return; }
	if ! pair_start "$daemon" "$dir/n1.conf" "$dir/n2.conf" "$limit"; then
		problem "$name: the pair did not start"
		pair_stop "$daemon"; capture_stop "$dir/wire.pcap"
		return
	fi
	for ((trial = 1; trial <= TRIALS; trial++)); do
		for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
			quiet
			pid=$(node_pid "$daemon" n1)
			mark_begin
			t_fail=$EPOCHREALTIME
			if [ "$kind" = hard ]; then kill -KILL -- "-$pid"; else kill -TERM "$pid"; fi
			# n2 takes the VIP: polled without forking, bounded.
			end=$((${EPOCHREALTIME/./} + 3000000 + ${bound%.*} * 1000))
			while ! holds "$PARK2" && ((${EPOCHREALTIME/./} < end)); do fsleep 0.005; done
			fsleep 0.05	# its announcements reach the capture
			mark_end
			echo "$trial $attempt $t_fail $FOREIGN" >>"$dir/attempts"
			holds "$PARK2" || problem "$name trial $trial: n2 did not take the VIP within ${bound%.*} ms + 3 s"
			printf '   trial %2d attempt %d: n2 holds the VIP after %s ms; others used %s%% of a core meanwhile\n' \
				"$trial" "$attempt" "$(awk -v a="$t_fail" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')" "$FOREIGN"
			# Restore: n1 again, and wait for it to be master again.
			node_stop "$daemon" n1 "$([ "$kind" = hard ] && echo KILL || echo TERM)" ||
				problem "$name trial $trial: processes of $daemon left in n1: $(ip netns pids "$N1" | grep -vx "$PARK1" | tr '\n' ' ')"
			if ! node_start "$daemon" n1 "$dir/n1.conf" || ! wait_until "$limit" converged "$daemon"; then
				problem "$name trial $trial: the pair did not converge again with n1 master"
				break 2
			fi
			((FOREIGN <= DISTURB_MAX)) && break
			# Once the run has given up waiting for a quiet machine,
			# repeating would only make it longer.
			((QUIET_SPENT > QUIET_BUDGET)) && break
		done
	done
	pair_stop "$daemon"
	capture_stop "$dir/wire.pcap"
	TK_DROPS[$key]=${CAPTURE_DROPS:-?}
	local mac2=$MAC2
	TK_RAW[$key]=$(wire takeover "$dir/wire.pcap" "$VIP" "$VRID" "$IP1" "$IP2" "$mac2" "$kind" "$bound" "$dir/attempts" 2>&1)
	TK[$key]=$(grep '^summary' <<<"${TK_RAW[$key]}")
	grep -q MISSING <<<"${TK_RAW[$key]}" && problem "$name: some failures not found on the wire: $(grep -m1 MISSING <<<"${TK_RAW[$key]}")"
	[ -n "${TK[$key]}" ] || problem "$name: the capture could not be read: ${TK_RAW[$key]:0:300}"
	say "   $name: excess over $bound ms: median $(kv median_excess_ms "${TK[$key]}") ms, worst $(kv worst_excess_ms "${TK[$key]}") ms" \
		"(new master's first advert: median $(kv median_first_advert_excess_ms "${TK[$key]}") ms over; first ARP $(kv median_garp_after_advert_ms "${TK[$key]}") ms after it); capture dropped ${TK_DROPS[$key]}"
}

if want "$PARTS" takeover; then
	echo "== 1. takeover on the wire: last (or priority-0) advert of the master -> first gratuitous ARP of the backup"
	for c in $CASES; do
		for kind in hard graceful; do
			for d in $DAEMONS; do
				takeover "$d" "${c%%:*}" "${c#*:}" "$kind"
			done
		done
	done
fi

# ---- 2. stability under load -------------------------------------------------

declare -A ST		# ST[daemon] = wire summary
declare -A ST_DAEMON	# transitions reported by the daemons
declare -A ST_NOTE

stability() {
	local daemon=$1 dir=$TMP/$1-stability md limit t0 t1 s1 s2 e1 e2 p1 p2 c0 c1 cpu
	mkdir -p "$dir"
	md=$(master_down_ms 3 "$STAB_INTERVAL_MS" "$PRIO_BACKUP")
	limit=$(awk -v m="$(master_down_ms 3 "$STAB_INTERVAL_MS" "$PRIO_MASTER")" 'BEGIN { printf "%d", m / 1000 + 8 }')
	say "$daemon, VRRPv3 every ${STAB_INTERVAL_MS} ms, ${STAB_SECONDS}s with two busy loops on the $(nproc) cores"
	conf "$daemon" "$dir/n1.conf" n1 3 "$STAB_INTERVAL_MS" "$PRIO_MASTER" 1
	conf "$daemon" "$dir/n2.conf" n2 3 "$STAB_INTERVAL_MS" "$PRIO_BACKUP" 1
	capture_start "$dir/wire.pcap" || { problem "stability $daemon: tcpdump did not start"; return; }
	if ! pair_start "$daemon" "$dir/n1.conf" "$dir/n2.conf" "$limit"; then
		problem "stability $daemon: the pair did not start"
		pair_stop "$daemon"; capture_stop "$dir/wire.pcap"
		return
	fi
	quiet
	# What the daemons say before: directord's per-instance counters, the
	# number of transitions keepalived logged.
	if [ "$daemon" = directord ]; then
		s1=$(js dd1 "I['vi_1']['transitions']") s2=$(js dd2 "I['vi_1']['transitions']")
	else
		s1=$(grep -c 'Entering [A-Z]* STATE' "$TMP/ka1.log") s2=$(grep -c 'Entering [A-Z]* STATE' "$TMP/ka2.log")
	fi
	p1=$(node_pid "$daemon" n1) p2=$(node_pid "$daemon" n2)
	local pids1 pids2
	pids1=$(pgrep -g "$p1" | tr '\n' ' ') pids2=$(pgrep -g "$p2" | tr '\n' ' ')
	c0=$(cat $(for p in $pids1 $pids2; do echo "/proc/$p/stat"; done) 2>/dev/null | awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }')
	mark_begin
	t0=$EPOCHREALTIME
	local n cpu_n=$(nproc) spins=()
	for ((n = 0; n < cpu_n; n++)); do
		bg_in "$NS_ld" /dev/null taskset -c "$n" "$TMP/spin" $((STAB_SECONDS + 10))
		spins+=("$LAST_PID")
	done
	fsleep "$STAB_SECONDS"
	for n in "${spins[@]}"; do stop_bg "$n"; done
	t1=$EPOCHREALTIME
	c1=$(cat $(for p in $pids1 $pids2; do echo "/proc/$p/stat"; done) 2>/dev/null | awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }')
	mark_end
	cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v ms="$WALL_MS" 'BEGIN { printf "%.1f", 100 * t / hz / (ms / 1000) }')
	if [ "$daemon" = directord ]; then
		e1=$(js dd1 "I['vi_1']['transitions']") e2=$(js dd2 "I['vi_1']['transitions']")
		ST_DAEMON[$daemon]="n1 $((e1 - s1)), n2 $((e2 - s2)) (directorctl status --json, instance transitions; states now $(state_of dd1 VI_1)/$(state_of dd2 VI_1))"
	else
		e1=$(grep -c 'Entering [A-Z]* STATE' "$TMP/ka1.log") e2=$(grep -c 'Entering [A-Z]* STATE' "$TMP/ka2.log")
		ST_DAEMON[$daemon]="n1 $((e1 - s1)), n2 $((e2 - s2)) (\"Entering ... STATE\" lines logged; states now $(ka_state ka1)/$(ka_state ka2))"
	fi
	ST_NOTE[$daemon]="daemon processes (both nodes) ${cpu}% of a core; others ${FOREIGN}% of a core"
	ST_TRANS[$daemon]=$(( (e1 - s1) + (e2 - s2) ))
	pair_stop "$daemon"
	capture_stop "$dir/wire.pcap"
	ST[$daemon]=$(wire stability "$dir/wire.pcap" "$VRID" "$t0" "$t1" "$STAB_INTERVAL_MS" "$md" 2>&1)
	ST[$daemon]+=" capture_dropped=${CAPTURE_DROPS:-?}"
	say "   $daemon: transitions reported: ${ST_DAEMON[$daemon]}"
	say "   $daemon: wire: ${ST[$daemon]}"
	say "   $daemon: ${ST_NOTE[$daemon]}"
}
declare -A ST_TRANS

if want "$PARTS" stability; then
	echo "== 2. stability: VRRPv3 every ${STAB_INTERVAL_MS} ms for ${STAB_SECONDS}s, both cores busy with other processes"
	for d in $DAEMONS; do stability "$d"; done
fi

# ---- 3. memory with N instances ---------------------------------------------

declare -A MEM_ROWS MEM_SUM

# memory DAEMON: a pair with INSTANCES instances (VRRPv3, 1 s), n1 master
# of all, n2 backup of all; after SETTLE s, every process of each node.
memory() {
	local daemon=$1 dir=$TMP/$1-memory node pid p role rss hwm anon file pss uss sr sp su t
	mkdir -p "$dir"
	say "$daemon: $INSTANCES instances (VRIDs 1-$INSTANCES, one VIP each), VRRPv3 every 1 s"
	conf "$daemon" "$dir/n1.conf" n1 3 1000 "$PRIO_MASTER" "$INSTANCES"
	conf "$daemon" "$dir/n2.conf" n2 3 1000 "$PRIO_BACKUP" "$INSTANCES"
	vips_on() { [ "$(ip -n "$1" -4 -o addr show dev eth0 | grep -c ' 198\.18\.2\.')" = "$2" ]; }
	all_backup() {
		if [ "$daemon" = directord ]; then
			[ "$(ctl dd2 status --json | grep -o '"state":"BACKUP"' | wc -l)" = "$INSTANCES" ]
		else
			[ "$(grep -c 'Entering BACKUP STATE' "$TMP/ka2.log")" -ge "$INSTANCES" ]
		fi
	}
	node_start "$daemon" n1 "$dir/n1.conf" && wait_until 30 vips_on "$N1" "$INSTANCES" &&
		node_start "$daemon" n2 "$dir/n2.conf" && wait_until 30 all_backup || {
		problem "memory $daemon: the pair with $INSTANCES instances did not come up"
		pair_stop "$daemon"
		return
	}
	fsleep "$SETTLE"
	vips_on "$N1" "$INSTANCES" && vips_on "$N2" 0 || problem "memory $daemon: n1 does not hold all $INSTANCES VIPs alone"
	MEM_ROWS[$daemon]=""
	for node in n1 n2; do
		pid=$(node_pid "$daemon" "$node")
		sr=0 sp=0 su=0
		for p in $pid $(pgrep -g "$pid" | grep -vx "$pid"); do
			if [ "$p" = "$pid" ]; then role=parent; elif [ "$daemon" = directord ]; then role="VRRP engine"; else role="VRRP child"; fi
			rss=$(mem "$p" VmRSS) hwm=$(mem "$p" VmHWM) anon=$(mem "$p" RssAnon) file=$(mem "$p" RssFile)
			pss=$(smaps "$p" Pss) uss=$(smaps "$p" Private_Clean Private_Dirty)
			MEM_ROWS[$daemon]+="$node $role pid $p: VmRSS $rss VmHWM $hwm RssAnon $anon RssFile $file Pss $pss private $uss"$'\n'
			sr=$((sr + rss)) sp=$((sp + pss)) su=$((su + uss))
		done
		MEM_SUM[$daemon,$node]="$sr $sp $su"
		t=$([ "$node" = n1 ] && echo "master of all" || echo "backup of all")
		say "   $daemon $node ($t): VmRSS $sr kB, Pss $sp kB, private $su kB in $(pgrep -g "$pid" | wc -l) processes"
	done
	printf '%s' "${MEM_ROWS[$daemon]}" | sed 's/^/      /'
	pair_stop "$daemon"
}

if want "$PARTS" memory; then
	echo "== 3. memory: $INSTANCES VRRP instances, after ${SETTLE}s"
	for d in $DAEMONS; do memory "$d"; done
fi

# ---- results -------------------------------------------------------------------

T_TOTAL=$((SECONDS - T_START))
fmt() { awk -v v="$1" 'BEGIN { if (v == "" || v == "nan") print "n/a"; else printf "%+.3f", v }'; }
verdict() {	# MEDIAN WORST: against the targets
	awk -v m="$1" -v w="$2" -v tm="$TARGET_MEDIAN_MS" -v tw="$TARGET_WORST_MS" 'BEGIN {
		if (m == "" || m == "nan") { print "n/a"; exit }
		printf "median %.2f, worst %.2f of target: %s", m / tm, w / tw, (m < tm && w < tw) ? "**meets**" : "**misses**" }'
}

{
echo "<!-- generated by bench/director.sh; rerun it to refresh -->"
echo "## Results of $DATE"
echo
echo "- command: \`bench/director.sh ${1:-}\` (TRIALS=$TRIALS STAB_SECONDS=$STAB_SECONDS STAB_INTERVAL_MS=$STAB_INTERVAL_MS INSTANCES=$INSTANCES SETTLE=$SETTLE DISTURB_MAX=$DISTURB_MAX ATTEMPTS=$ATTEMPTS), ${T_TOTAL}s"
echo "- machine: $(nproc) cores ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "- directord: $BUILD/directord, source $REV; $KA_VERSION (Debian)"
echo "- pair: n1 priority $PRIO_MASTER (master), n2 priority $PRIO_BACKUP (backup; its Skew_Time is in the bounds), on one bridge; capture: tcpdump on the bridge"
[ "$ERRORS" = 0 ] || echo "- **$ERRORS problem(s) during the run: see the run's output**"
echo
if want "$PARTS" takeover; then
	echo "### Takeover on the wire (excess over the RFC bound, ms; $TRIALS trials each)"
	echo
	echo "| failure | RFC bound | directord median / worst | keepalived median / worst | directord / keepalived (median, worst) | directord vs target (median < $TARGET_MEDIAN_MS ms, worst < $TARGET_WORST_MS ms) |"
	echo "|---|---|---|---|---|---|"
	for c in $CASES; do
		v=${c%%:*} i=${c#*:}
		for kind in hard graceful; do
			if [ "$kind" = hard ]; then
				b="Master_Down $(master_down_ms "$v" "$i" "$PRIO_BACKUP" | sed 's/0*$//; s/\.$//') ms"; what="hard (SIGKILL)"
			else
				b="Skew_Time $(skew_ms "$v" "$i" "$PRIO_BACKUP" | sed 's/0*$//; s/\.$//') ms"; what="graceful (SIGTERM, priority 0)"
			fi
			dm=$(kv median_excess_ms "${TK[directord,$v,$i,$kind]:-}") dw=$(kv worst_excess_ms "${TK[directord,$v,$i,$kind]:-}")
			km=$(kv median_excess_ms "${TK[keepalived,$v,$i,$kind]:-}") kw=$(kv worst_excess_ms "${TK[keepalived,$v,$i,$kind]:-}")
			echo "| VRRPv$v every $(awk -v i="$i" 'BEGIN { print (i % 1000 ? i " ms" : i / 1000 " s") }'), $what | $b | $(fmt "$dm") / $(fmt "$dw") | $(fmt "$km") / $(fmt "$kw") | $(ratio "$dm" "$km"), $(ratio "$dw" "$kw") | $(verdict "$dm" "$dw") |"
		done
	done
	echo
	echo "Where the excess goes (medians, ms): the new master's first advert after the bound (when its timer fired), its"
	echo "first gratuitous ARP after that advert (the work in between), and the old master's advert period while it"
	echo "ran (its Adver_Timer; the configured interval is exact):"
	echo
	echo "| failure | directord: first advert over the bound / ARP after it / advert period | keepalived: first advert over the bound / ARP after it / advert period |"
	echo "|---|---|---|"
	for c in $CASES; do
		v=${c%%:*} i=${c#*:}
		for kind in hard graceful; do
			row="| VRRPv$v ${i} ms $kind"
			for d in directord keepalived; do
				s=${TK[$d,$v,$i,$kind]:-}
				row+=" | $(fmt "$(kv median_first_advert_excess_ms "$s")") / $(fmt "$(kv median_garp_after_advert_ms "$s")") / $(kv master_advert_period_median_ms "$s")"
			done
			echo "$row |"
		done
	done
	echo
fi
if want "$PARTS" stability; then
	echo "### Stability: VRRPv3 every $STAB_INTERVAL_MS ms for $STAB_SECONDS s, $(nproc) busy loops (one per core, nice 0)"
	echo
	echo "| daemon | transitions reported | advert source changes on the wire | adverts (by source) | gap between adverts: median / p99.9 / max (Master_Down $(master_down_ms 3 "$STAB_INTERVAL_MS" "$PRIO_BACKUP" | sed 's/0*$//') ms) | gaps > 1.5 intervals | CPU | target: no spurious transition |"
	echo "|---|---|---|---|---|---|---|---|"
	for d in $DAEMONS; do
		s=${ST[$d]:-}
		if [ -z "$s" ]; then v=n/a; elif [ "${ST_TRANS[$d]:-x}" = 0 ] && [ "$(kv source_changes "$s")" = 0 ]; then v="**meets**"; else v="**misses**"; fi
		echo "| $d | ${ST_TRANS[$d]:-n/a}: ${ST_DAEMON[$d]:-n/a} | $(kv source_changes "$s") | $(kv adverts "$s") ($(kv by_source "$s")) | $(kv gap_median_ms "$s") / $(kv gap_p999_ms "$s") / $(kv gap_max_ms "$s") ms | $(kv gaps_over_1.5x_interval "$s") | ${ST_NOTE[$d]:-} | $v |"
	done
	echo
fi
if want "$PARTS" memory; then
	echo "### Memory: $INSTANCES VRRP instances on one interface (VRIDs 1-$INSTANCES, one VIP each, VRRPv3 every 1 s), after ${SETTLE}s (kB)"
	echo
	echo "| node | directord VmRSS / Pss / private (all processes) | keepalived VmRSS / Pss / private (all processes) | directord / keepalived (VmRSS, Pss) | target: directord's total below keepalived's |"
	echo "|---|---|---|---|---|"
	for node in n1 n2; do
		read -r dr dp du <<<"${MEM_SUM[directord,$node]:-}"
		read -r kr kp ku <<<"${MEM_SUM[keepalived,$node]:-}"
		echo "| $node ($([ "$node" = n1 ] && echo "master of all" || echo "backup of all")) | ${dr:-n/a} / ${dp:-n/a} / ${du:-n/a} | ${kr:-n/a} / ${kp:-n/a} / ${ku:-n/a} | $(ratio "${dr:-}" "${kr:-}"), $(ratio "${dp:-}" "${kp:-}") | $(awk -v a="${dr:-}" -v b="${kr:-}" 'BEGIN { print (a == "" || b == "") ? "n/a" : (a + 0 < b + 0 ? "**meets**" : "**misses**") }') |"
	done
	echo
	echo "Per process (kB):"
	echo
	echo "| daemon | node | process | VmRSS | VmHWM | RssAnon | RssFile | Pss | private |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for d in $DAEMONS; do
		printf '%s' "${MEM_ROWS[$d]:-}" | sed 's/ pid [0-9]*:/:/' | awk -v d="$d" -F': ' '{
			split($1, w, " "); proc = substr($1, length(w[1]) + 2)
			n = split($2, f, " "); row = "| " d " | " w[1] " | " proc
			for (i = 2; i <= n; i += 2) row = row " | " f[i]
			print row " |" }'
	done
	echo
fi
echo "### Raw numbers"
echo
if want "$PARTS" takeover; then
	echo "Takeover: per failure, \`ref\` is the old master's last advert (hard) or its priority-0 advert (graceful) and"
	echo "\`garp\` the new master's first gratuitous ARP, both as captured on the bridge (epoch seconds);"
	echo "\`first_advert_excess\` is the new master's first advert after ref + bound; \`others\`: CPU used by"
	echo "other processes on the machine from the failure to the takeover (a trial above ${DISTURB_MAX}% is repeated"
	echo "up to $ATTEMPTS times and the least disturbed attempt kept)."
	echo
	echo '```'
	for c in $CASES; do
		v=${c%%:*} i=${c#*:}
		for kind in hard graceful; do
			for d in $DAEMONS; do
				echo "== $d VRRPv$v ${i} ms $kind (capture dropped ${TK_DROPS[$d,$v,$i,$kind]:-?} packets)"
				echo "${TK_RAW[$d,$v,$i,$kind]:-not run}"
			done
		done
	done
	echo '```'
	echo
fi
if want "$PARTS" stability; then
	echo "Stability (capture of the ${STAB_SECONDS}s window):"
	echo
	echo '```'
	for d in $DAEMONS; do echo "$d: ${ST[$d]:-not run}"; echo "  reported transitions: ${ST_DAEMON[$d]:-}; ${ST_NOTE[$d]:-}"; done
	echo '```'
	echo
fi
if want "$PARTS" memory; then
	echo "Memory per process (/proc/PID/status; Pss and private = Private_Clean + Private_Dirty from smaps_rollup; kB):"
	echo
	echo '```'
	for d in $DAEMONS; do printf '%s' "${MEM_ROWS[$d]:-}" | sed "s/^/$d /"; done
	echo '```'
fi
} >"$RESULTS"

[ -n "${KEEP:-}" ] && cp -r "$TMP" "/tmp/keep-$TEST_ID" && echo "kept $TMP as /tmp/keep-$TEST_ID"
echo
echo "== summary (also in ${RESULTS#$ROOT/}), ${T_TOTAL}s"
sed -n '/^### /,/^### Raw/p' "$RESULTS" | grep -v '^### Raw'
[ "$ERRORS" = 0 ] || { echo "bench: $ERRORS problem(s); the numbers above are not trustworthy"; exit 1; }
exit 0
