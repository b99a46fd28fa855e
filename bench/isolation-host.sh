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
# [10], IDLE_SECONDS [20], CHECK_SECONDS [60], RESULTS
# [bench/results-isolation-host.md]. Measured, never asserted: the exit
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

say "n1 stops; starts again with $PSVC x 4 services (unprogrammed) and $CHECKED checked real servers"
stop_director n1i || problem "n1 (VRRP only) did not stop"
wait_ms 5000 state_is n2 VI_1 MASTER || problem "n2 did not take over from the stopped n1"
sleep 1
t_start=$EPOCHREALTIME
start_director "$D1" n1 "$TMP/n1.ini" || exit 1
wait_ms 30000 last_state_is n1 MASTER || problem "n1 did not become master within 30 s"
wait_ms 5000 last_state_is n2 BACKUP || problem "n2 did not yield to n1"
t_master=$EPOCHREALTIME
s_n1=$(transitions n1) s_n2=$(transitions n2)
gap0=$(field n2 VI_1 advert_gap_max_ms)
say "   n1 master $(awk -v a="$t_start" -v b="$t_master" 'BEGIN { printf "%.2f", b - a }') s after its start"
up_all() { [ "$(checked_up)" -ge "$CHECKED" ]; }
wait_ms 60000 up_all || problem "not all $CHECKED real servers up on n1 within 60 s"
a0=$(accepted) t0=$EPOCHREALTIME
sleep "$CHECK_SECONDS"
a1=$(accepted) t1=$EPOCHREALTIME
chk_n1=$(($(transitions n1) - s_n1)) chk_n2=$(($(transitions n2) - s_n2))
rate=$(awk -v a="$a0" -v b="$a1" -v x="$t0" -v y="$t1" 'BEGIN { printf "%.0f", (b - a) / (y - x) }')
up=$(checked_up)
say "   checks: ${rate}/s reached the real servers over ${CHECK_SECONDS}s, $up real servers came up; transitions n1 $chk_n1, n2 $chk_n2"

say "n1 reloads with one weight changed"
full_conf 2
r_n1=$(transitions n1) r_n2=$(transitions n2)
kill -HUP "$PID_n1"
reloaded() { grep -q "lvs engine: configuration reloaded" "$TMP/n1.log"; }
wait_ms 30000 reloaded || problem "n1 did not log its reload within 30 s"
sleep 5
rel_n1=$(($(transitions n1) - r_n1)) rel_n2=$(($(transitions n2) - r_n2))
gap1=$(field n2 VI_1 advert_gap_max_ms)
# n1's status is too big for js (an argument): read from a pipe, once.
read -r late1 nlate1 < <(ctl n1 status --json | "$PY" -c '
import json, sys
v = json.load(sys.stdin)["vrrp"]["instances"]
i = [x for x in v if x["name"].lower() == "vi_1"][0]
print(i["advert_late_max_ms"], i["adverts_late"])')
say "   reload: transitions n1 $rel_n1, n2 $rel_n2"
say "   n1 (loaded) sent at most $late1 ms late ($nlate1 more than half an interval late); n2 waited at most $gap1 ms between adverts (before n1's restart: $gap0 ms)"
tail -3 "$TMP/n1.log" | sed 's/^/   n1: /'
spurious=$((chk_n1 + chk_n2 + rel_n1 + rel_n2))

{
	echo "# Isolation on the host's clock (bench/isolation-host.sh)"
	echo
	echo "- source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), no IPVS: nothing is programmed"
	echo "- VRRPv3 every ${ISO_INTERVAL_MS} ms (n2's Master_Down_Interval at priority 100: $master_down_ms ms); n1's configuration: $PSVC services x 4 destinations (check = none) and $CHECKED real servers checked by tcp every second"
	echo
	echo "| phase | length | transitions n1 | transitions n2 | target: none |"
	echo "|---|---|---|---|---|"
	echo "| idle baseline (n1 VRRP only) | ${IDLE_SECONDS} s | $idle_n1 | $idle_n2 | $([ $((idle_n1 + idle_n2)) = 0 ] && echo none || echo '**some**') |"
	echo "| checks (${rate}/s reached the servers; $up real servers came up) | ${CHECK_SECONDS} s | $chk_n1 | $chk_n2 | $([ $((chk_n1 + chk_n2)) = 0 ] && echo meets || echo '**misses**') |"
	echo "| reload, one weight changed | 5 s after the reload | $rel_n1 | $rel_n2 | $([ $((rel_n1 + rel_n2)) = 0 ] && echo meets || echo '**misses**') |"
	echo
	echo "Advert timeliness, from the engines' counters: idle, n1 sent at most $idle_late ms late and n2 waited at most $idle_gap ms; loaded, n1 sent at most $late1 ms late ($nlate1 adverts more than half an interval late) and n2 waited at most $gap1 ms (its maximum since its start, $gap0 ms before n1's restart)."
	[ "$ERRORS" = 0 ] || echo "Problems during the run: $ERRORS (see the script's output)."
} >"$RESULTS"
say "results in ${RESULTS#"$ROOT"/}: $spurious spurious transition(s) while loaded"
[ "$ERRORS" = 0 ]
