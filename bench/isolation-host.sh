#!/usr/bin/env bash
# The isolation target of bench/lvs.sh (part 5) on the host's real clock,
# where time is not emulated: a VRRPv3 pair at ISO_INTERVAL_MS (10 ms) on a
# bridge; the master restarts with PSVC services x 4 destinations plus
# CHECKED real servers checked by tcp every second, runs the checks for
# CHECK_SECONDS and is reloaded with one weight changed. Any transition of
# either director after the pair has settled is spurious.
#
# The host kernel has no IPVS: the LVS engine reads and keeps the whole
# configuration, and runs every check, but programs nothing (it retries
# opening IPVS every few seconds, as it does on a kernel without the
# module). So this measures the checks and the reload beside VRRP, not
# the programming from cold; bench/lvs.sh measures that in the VM, where
# emulation stalls the pair by itself (BENCHMARKS.md).
#
#   bench/isolation-host.sh [BUILD]     (root; namespaces only)
#
# Settings (environment): PSVC [10000], CHECKED [2000], ISO_INTERVAL_MS
# [10], IDLE_SECONDS [20], CHECK_SECONDS [60], RUNS [10] (each run
# restarts n1, checks, reloads), RESULTS [bench/results-isolation-host.md].
# Every advert on the bridge is captured: a spurious transition is shown
# with both directors' adverts around it and their log lines. Measured, never asserted: the exit
# status is non-zero only when a measurement could not be made.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "bench: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces)"; exit 1; }
[ -x "$BUILD/directord" ] || { echo "bench: $BUILD/directord missing (run make)"; exit 1; }
PSVC=${PSVC:-10000}
CHECKED=${CHECKED:-2000}
ISO_INTERVAL_MS=${ISO_INTERVAL_MS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-20}
CHECK_SECONDS=${CHECK_SECONDS:-60}
RUNS=${RUNS:-10}
RESULTS=${RESULTS:-$HERE/results-isolation-host.md}
((CHECKED % 4 == 0 && CHECKED <= 2000 && PSVC <= 12000)) || { echo "bench: CHECKED a multiple of 4, at most 2000; PSVC at most 12000"; exit 1; }

. "$ROOT/tests/netns/lib.sh"
. "$ROOT/tests/netns/director-lib.sh"
TEST_ID="dsri$$"

ACCEPT=$BUILD/bench-lvs/lvs-accept
mkdir -p "$BUILD/bench-lvs"
cc -O2 -Wall -Wextra -o "$ACCEPT" "$HERE/lvs-accept.c" || { echo "bench: building lvs-accept failed"; exit 1; }

ERRORS=0
problem() { echo "bench: PROBLEM: $*"; ERRORS=$((ERRORS + 1)); }
say() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }

# ---- the lab: n1 (d1) and n2 (d2) on br0, the real servers' namespace rs
# holding 198.19.200.0/21 on its loopback (this kernel has no dummy
# interface), reached through 198.18.0.10.
two_directors
ns_new rs
RS=$NS_rs
join "$RS" eth0 br0 02:00:00:00:0a:01 198.18.0.10/24
for ((k = 0; k < CHECKED; k++)); do
	echo "addr add 198.19.$((200 + k / 250)).$((1 + k % 250))/32 dev lo"
done | ip -n "$RS" -batch - || { echo "bench: adding the real servers' addresses failed"; exit 1; }
ip -n "$RS" link set lo up
in_ns "$RS" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
for ns in "$D1" "$D2"; do
	ip -n "$ns" route add 198.19.200.0/21 via 198.18.0.10
	in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
done
bg_in "$RS" "$TMP/accept.log" "$ACCEPT" 0.0.0.0 80
wait_until 10 grep -q listening "$TMP/accept.log" || { echo "bench: lvs-accept did not start"; exit 1; }

# ---- configurations
pair_conf() {	# pair_conf FILE TAG PRIORITY
	mkdir -p "$TMP/$2"
	chmod 755 "$TMP/$2"
	printf '%s\n' "[global]" "router_id = $2" "user = dsrkit" "control_socket = $TMP/$2/ctl.sock" \
		"log_level = info" "ipvs_on_stop = keep" "" "[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $3" \
		"advert_interval = ${ISO_INTERVAL_MS}ms" "virtual_ipaddress = 198.18.0.100/24" >"$1"
	chmod 644 "$1"
}
# services FIRST_OCTET COUNT CHECK WEIGHT_OF_FIRST: virtual servers of 4
# destinations each; those checked point at rs's addresses.
services() {
	awk -v base="$1" -v n="$2" -v check="$3" -v w0="$4" 'BEGIN {
		for (s = 0; s < n; s++) {
			printf "\n[virtual_server %s%05d]\naddress = 198.18.%d.%d:80\nscheduler = wlc\n", check, s, base + int(s / 250), 1 + s % 250
			if (check == "tcp") printf "check = tcp\ncheck_interval = 1s\ncheck_timeout = 1s\n"
			else printf "check = none\n"
			printf "real_servers ="
			for (j = 0; j < 4; j++) {
				d = s * 4 + j
				printf "%s 198.19.%d.%d:80%s", (j ? "," : ""), (check == "tcp" ? 200 : 0) + int(d / 250), 1 + d % 250,
					(s == 0 && j == 0 && w0 != 1 ? " weight=" w0 : "")
			}
			printf "\n"
		}
	}'
}
pair_conf "$TMP/n2.ini" n2 100
pair_conf "$TMP/n1-idle.ini" n1i 200
full_conf() {	# full_conf WEIGHT: n1's whole configuration
	pair_conf "$TMP/n1.ini" n1 200
	{ services 20 "$PSVC" none "$1"; services 100 $((CHECKED / 4)) tcp 1; } >>"$TMP/n1.ini"
}
full_conf 1

# From the logs, not the status: n1's status holds every real server
# (42,000 by default), and parsing it again and again would load the very
# CPUs being measured.
transitions() { grep -c "vrrp VI_1: [A-Z]* -> [A-Z]*" "$TMP/$1.log"; }
last_state_is() { [ "$(grep -o "vrrp VI_1: [A-Z]* -> [A-Z]*" "$TMP/$1.log" | tail -1 | awk '{ print $NF }')" = "$2" ]; }
checked_up() { grep -cE "^directord: tcp[0-9]+ [0-9.:]+: up" "$TMP/n1.log"; }
accepted() { tail -1 "$TMP/accept.log" | awk '{ print $2 + 0 }'; }
master_down_ms=$(awk -v i="$ISO_INTERVAL_MS" 'BEGIN { printf "%.2f", 3 * i + (256 - 100) * i / 256 }')

say "n2 (100) alone, then n1 (200) with VRRP only: the idle baseline, ${IDLE_SECONDS}s"
start_director "$D2" n2 "$TMP/n2.ini" || exit 1
wait_ms 5000 state_is n2 VI_1 MASTER || problem "n2 alone did not become master"
start_director "$D1" n1i "$TMP/n1-idle.ini" || exit 1
wait_ms 5000 state_is n1i VI_1 MASTER || problem "n1 (VRRP only) did not become master"
wait_ms 5000 state_is n2 VI_1 BACKUP || problem "n2 did not yield to n1"
sleep 1
i_n1=$(transitions n1i) i_n2=$(transitions n2)
sleep "$IDLE_SECONDS"
idle_n1=$(($(transitions n1i) - i_n1)) idle_n2=$(($(transitions n2) - i_n2))
idle_gap=$(field n2 VI_1 advert_gap_max_ms)
idle_late=$(field n1i VI_1 advert_late_max_ms)
say "   idle: transitions n1 $idle_n1, n2 $idle_n2; n1 sent at most $idle_late ms late, n2 waited at most $idle_gap ms between adverts (Master_Down $master_down_ms ms)"

# ---- the wire: every advert on br0, for the timelines of spurious
# transitions (the bridge's namespace sees both directors' adverts).
# timelines CAPTURE T0 T1: for each advert of n2 (a backup sends none)
# between epoch T0 and T1, the adverts of both directors 60 ms around it,
# each with its gap since the previous advert of the same director.
timelines() {
	"$PY" - "$1" "$2" "$3" <<'PY'
import re, sys
path, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ads = []
for line in open(path, errors="replace"):
    m = re.match(r"(\d+\.\d+) IP (\S+) > \S+: VRRPv\d, Advertisement, vrid \d+, prio (\d+)", line)
    if m:
        ads.append((float(m.group(1)), m.group(2), int(m.group(3))))
events, last_shown = [], -1.0
for i, (t, src, prio) in enumerate(ads):
    if src == "198.18.0.2" and t0 <= t <= t1 and t > last_shown + 0.15:
        events.append(i)
        last_shown = t
for i in events:
    t = ads[i][0]
    print(f"  n2 advertised at {t:.6f}; the wire 60 ms around it (ms, source, priority, gap since that source's previous advert):")
    prev = {}
    for tt, src, prio in ads:
        if tt < t - 0.5:
            prev[src] = tt
            continue
        if tt > t + 0.06:
            break
        gap = (tt - prev[src]) * 1000 if src in prev else float("nan")
        prev[src] = tt
        if tt >= t - 0.06:
            who = "n1" if src == "198.18.0.1" else "n2" if src == "198.18.0.2" else src
            print(f"    {(tt - t) * 1000:+8.2f}  {who}  prio {prio:3d}  gap {gap:6.2f}")
print(len(events))
PY
}

# one_run K: n1 restarts with the whole file, runs the checks, reloads.
# Appends a row to ROWS and the timelines of any spurious transition.
one_run() {
	local k=$1 t_start t_master s_n1 s_n2 a0 a1 t0 t1 chk_n1 chk_n2 rate up r_n1 r_n2 rel_n1 rel_n2 late1 nlate1 gap1 defer2 w0 w1 n_ev
	say "run $k: n1 stops; starts again with $PSVC x 4 services (unprogrammed) and $CHECKED checked real servers"
	stop_director "$N1_TAG" || problem "n1 did not stop"
	N1_TAG=n1
	wait_ms 5000 state_is n2 VI_1 MASTER || problem "n2 did not take over from the stopped n1"
	sleep 1
	full_conf 1
	t_start=$EPOCHREALTIME
	start_director "$D1" n1 "$TMP/n1.ini" || return 1
	wait_ms 30000 last_state_is n1 MASTER || problem "n1 did not become master within 30 s"
	wait_ms 5000 last_state_is n2 BACKUP || problem "n2 did not yield to n1"
	t_master=$EPOCHREALTIME
	say "   n1 master $(awk -v a="$t_start" -v b="$t_master" 'BEGIN { printf "%.2f", b - a }') s after its start"
	up_all() { [ "$(checked_up)" -ge "$CHECKED" ]; }
	wait_ms 60000 up_all || problem "not all $CHECKED real servers up on n1 within 60 s"
	sleep 1
	s_n1=$(transitions n1) s_n2=$(transitions n2)
	w0=$EPOCHREALTIME
	a0=$(accepted) t0=$EPOCHREALTIME
	sleep "$CHECK_SECONDS"
	a1=$(accepted) t1=$EPOCHREALTIME
	chk_n1=$(($(transitions n1) - s_n1)) chk_n2=$(($(transitions n2) - s_n2))
	rate=$(awk -v a="$a0" -v b="$a1" -v x="$t0" -v y="$t1" 'BEGIN { printf "%.0f", (b - a) / (y - x) }')
	up=$(checked_up)
	say "   checks: ${rate}/s reached the real servers over ${CHECK_SECONDS}s, $up real servers came up; transitions n1 $chk_n1, n2 $chk_n2"
	say "   n1 reloads with one weight changed"
	full_conf 2
	r_n1=$(transitions n1) r_n2=$(transitions n2)
	kill -HUP "$PID_n1"
	reloaded() { grep -q "lvs engine: configuration reloaded" "$TMP/n1.log"; }
	wait_ms 30000 reloaded || problem "n1 did not log its reload within 30 s"
	sleep 5
	w1=$EPOCHREALTIME
	rel_n1=$(($(transitions n1) - r_n1)) rel_n2=$(($(transitions n2) - r_n2))
	gap1=$(field n2 VI_1 advert_gap_max_ms)
	defer2=$(field n2 VI_1 takeovers_deferred)
	# n1's status is too big for js (an argument): read from a pipe, once.
	read -r late1 nlate1 < <(ctl n1 status --json | "$PY" -c '
import json, sys
v = json.load(sys.stdin)["vrrp"]["instances"]
i = [x for x in v if x["name"].lower() == "vi_1"][0]
print(i["advert_late_max_ms"], i["adverts_late"])')
	say "   reload: transitions n1 $rel_n1, n2 $rel_n2; n1 sent at most $late1 ms late ($nlate1 over half an interval), n2 waited at most $gap1 ms, deferred $defer2 takeover(s)"
	timelines "$CAPTURE" "$w0" "$w1" >"$TMP/timeline.$k"
	n_ev=$(tail -1 "$TMP/timeline.$k")
	sed '$d' "$TMP/timeline.$k" >"$TMP/timeline.$k.txt"
	RUN_SPURIOUS=$((chk_n1 + chk_n2 + rel_n1 + rel_n2))
	ROWS+="| $k | $rate/s, $up up | $chk_n1 | $chk_n2 | $rel_n1 | $rel_n2 | $n_ev | $late1 ($nlate1) | $gap1 | $defer2 | $([ "$RUN_SPURIOUS" = 0 ] && echo meets || echo '**misses**') |"$'\n'
	if [ "$RUN_SPURIOUS" != 0 ] || [ "$n_ev" != 0 ]; then
		{
			echo "Run $k: $RUN_SPURIOUS transition(s) while loaded. The directors' own words:"
			grep -h -E "vrrp VI_1: ([A-Z]* -> [A-Z]*|split brain)" "$TMP/n1.log" | sed 's/^/  n1: /'
			grep -h -E "vrrp VI_1: ([A-Z]* -> [A-Z]*|split brain)" "$TMP/n2.log" | tail -6 | sed 's/^/  n2: /'
			echo "The wire:"
			cat "$TMP/timeline.$k.txt"
			echo
		} >>"$TMP/timelines.md"
		sed 's/^/   /' "$TMP/timeline.$k.txt" | head -60
	fi
}

CAPTURE=$TMP/wire.txt
bg_in "$SW" "$CAPTURE" tcpdump -i br0 -n -tt -l -s 96 -B 8192 'ip proto 112'
CAPTURE_PID=$LAST_PID
sleep 1
N1_TAG=n1i ROWS="" TOTAL=0 CLEAN_STREAK=0 BEST_STREAK=0
: >"$TMP/timelines.md"
for ((run = 1; run <= RUNS; run++)); do
	one_run "$run" || break
	TOTAL=$((TOTAL + RUN_SPURIOUS))
	if [ "$RUN_SPURIOUS" = 0 ]; then CLEAN_STREAK=$((CLEAN_STREAK + 1)); else CLEAN_STREAK=0; fi
	((CLEAN_STREAK > BEST_STREAK)) && BEST_STREAK=$CLEAN_STREAK
done
kill "$CAPTURE_PID" 2>/dev/null; wait_until 5 eval "! kill -0 $CAPTURE_PID 2>/dev/null"

{
	echo "# Isolation on the host's clock (bench/isolation-host.sh)"
	echo
	echo "- source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), no IPVS: nothing is programmed"
	echo "- VRRPv3 every ${ISO_INTERVAL_MS} ms (n2's Master_Down_Interval at priority 100: $master_down_ms ms); n1's configuration: $PSVC services x 4 destinations (check = none) and $CHECKED real servers checked by tcp every second"
	echo "- idle baseline (n1 VRRP only, ${IDLE_SECONDS} s): transitions n1 $idle_n1, n2 $idle_n2; n1 sent at most $idle_late ms late, n2 waited at most $idle_gap ms"
	echo "- $RUNS runs of: n1 restarted with the whole file, ${CHECK_SECONDS} s of checks, a reload with one weight changed (and 5 s after it); $TOTAL spurious transition(s) in all; longest streak of clean runs: $BEST_STREAK"
	echo
	echo "| run | checks | transitions n1 (checks) | n2 (checks) | n1 (reload) | n2 (reload) | n2 adverts on the wire | n1 late, ms (adverts over half an interval) | n2's longest wait, ms | n2's deferred takeovers | target: none |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	printf '%s' "$ROWS"
	if [ -s "$TMP/timelines.md" ]; then
		echo
		echo "## Timelines of the spurious transitions"
		echo
		echo '```'
		cat "$TMP/timelines.md"
		echo '```'
	fi
	[ "$ERRORS" = 0 ] || echo "Problems during the run: $ERRORS (see the script's output)."
} >"$RESULTS"
say "results in ${RESULTS#"$ROOT"/}: $TOTAL spurious transition(s) in $RUNS run(s), longest clean streak $BEST_STREAK"
[ "$ERRORS" = 0 ]
