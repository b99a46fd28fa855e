#!/usr/bin/env bash
# rs-agent benchmarks: drift repair latency, agent replies per second on one
# core, daemon RSS with 64 VIPs and 8 checks; each against reference points
# measured in the same run. Root; network namespaces (tests/netns/lib.sh
# creates them and removes them, with every process started here, on every
# exit path). Addresses: 198.18.0.0/15 only.
#
#   bench/run.sh [BUILD]          (make bench runs: bench/run.sh build)
#
# Settings (environment): TRIALS=100 (repair trials per scenario),
# ROUNDS=3 and SECONDS_PER_ROUND=5 (load rounds per server, after 1 s of
# warm-up each), CONC=16 (connections in flight), SETTLE=5 (seconds the
# 64-VIP daemon runs before its memory is read), RESULTS=bench/results.md.
# Nothing here asserts a timing: it measures and reports. It exits non-zero
# only when a measurement could not be made or a reply was invalid.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "bench: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
export BUILD
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)"; exit 1; }
[ -x "$BUILD/rs-agent" ] && [ -x "$BUILD/tools/tcpquery" ] || { echo "bench: $BUILD/rs-agent missing (run make)"; exit 1; }

TRIALS=${TRIALS:-100}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-5}
CONC=${CONC:-16}
SETTLE=${SETTLE:-5}
RESULTS=${RESULTS:-$HERE/results.md}

# Targets from the rs-agent issue.
TARGET_REPAIR_MS=10
TARGET_RPS=20000
TARGET_RSS_KB=4096

. "$ROOT/tests/netns/lib.sh"

# The agent gets CPU 0, the load generator and the probe CPU 1.
if [ "$(nproc)" -ge 2 ]; then CPU_SERVER=0 CPU_CLIENT=1; else CPU_SERVER=0 CPU_CLIENT=0; fi
CLK_TCK=$(getconf CLK_TCK)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
ERRORS=0
problem() { echo "bench: PROBLEM: $*"; ERRORS=$((ERRORS + 1)); }

# ---- helpers -------------------------------------------------------------

echo "== building the bench helpers (cc -O2)"
for h in nlprobe loadgen oneline; do
	cc -O2 -Wall -Wextra -o "$TMP/$h" "$HERE/$h.c" || { echo "bench: building $h failed"; exit 1; }
done

# cpu_ticks PID: utime + stime, in clock ticks (fields 14 and 15 of stat,
# counted after the command name, which may hold spaces).
cpu_ticks() {
	local rest
	rest=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	set -- $rest
	echo $(( ${12} + ${13} ))
}

# mem PID FIELD: a kB value from /proc/PID/status.
mem() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ratio A B [DIGITS]: A/B.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "n/a"; else printf "%.*f", d, a / b }'; }

# kv KEY LINE: the value of KEY=VALUE in a line of key=value pairs.
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

# start_pinned NS LOG CPU cmd...: bg_in with taskset; pid in LAST_PID.
start_pinned() {
	local ns=$1 log=$2 cpu=$3; shift 3
	bg_in "$ns" "$log" taskset -c "$cpu" "$@"
}

# agent_up NS CONF LOG: rs-agent run pinned to the server CPU, ready when
# its control socket answers. Pid in AGENT_PID.
agent_up() {
	local ns=$1 conf=$2 log=$3
	start_pinned "$ns" "$log" "$CPU_SERVER" "$RS_AGENT" -f "$conf" run
	AGENT_PID=$LAST_PID
	if ! wait_until 10 in_ns "$ns" "$RS_AGENT" -f "$conf" status; then
		echo "rs-agent did not start:"; cat "$log"
		return 1
	fi
}

vip_present() { in_ns "$1" ip -4 addr show dev lo | grep -q "inet $2/32 "; }

# restorer_ready NS VIP: one delete by hand; the restorer must put it back
# (proves it is listening before the probe starts).
restorer_ready() {
	in_ns "$1" ip addr del "$2/32" dev lo 2>/dev/null
	wait_until 5 vip_present "$1" "$2"
}

# probe NS VIP MODE OUTFILE: TRIALS delete -> restore trials.
probe() {
	in_ns "$1" taskset -c "$CPU_CLIENT" "$TMP/nlprobe" -m "$3" -a "$2" -l lo:dsr \
		-n "$TRIALS" -g 50 -t 2000 >"$4" 2>&1
	local rc=$?
	[ $rc = 0 ] || problem "repair probe ($3, $2) exited $rc: $(grep -v '^trial [0-9]* restored' "$4" | head -3)"
	grep '^summary' "$4"
}

# samples FILE: the restored times (us) of a probe run, sorted, 10 a line.
samples() {
	awk '$3 == "restored_us" { print $4 }' "$1" | sort -n | awk '{ printf "%s%s", $1, (NR % 10 ? " " : "\n") } END { if (NR % 10) print "" }'
}

DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- common realserver 2>/dev/null | wc -l)
[ "$DIRTY" -gt 0 ] && REV="$REV + $DIRTY uncommitted change(s) in common/ realserver/"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

# ---- 1. drift repair latency --------------------------------------------

echo "== 1. drift repair latency: VIP deleted (RTM_DELADDR) -> restored (RTM_NEWADDR), $TRIALS trials each"
ns_new lat
NS=$NS_lat
in_ns "$NS" ip link add eth0 type veth peer name peer0
in_ns "$NS" ip link set eth0 up
VIP=198.18.0.10

# Floor: the probe re-adds the VIP itself the moment the delete is acknowledged.
in_ns "$NS" ip addr add "$VIP/32" dev lo label lo:dsr
L_FLOOR=$(probe "$NS" "$VIP" self "$TMP/lat-floor.txt")
echo "   kernel floor (probe re-adds):     $L_FLOOR"

# rs-agent with one VIP. verify_interval = 1h: only the netlink event path
# repairs, so this measures that path and not the periodic sweep.
conf=$TMP/lat1.ini
write_rs_config "$conf" lat1 "$VIP" "verify_interval = 1h" "[agent]" "enabled = no"
agent_up "$NS" "$conf" "$TMP/lat1.log" || { problem "rs-agent (1 VIP) did not start"; exit 1; }
restorer_ready "$NS" "$VIP" || problem "rs-agent (1 VIP) did not restore a deleted VIP"
L_AGENT1=$(probe "$NS" "$VIP" agent "$TMP/lat-agent1.txt")
echo "   rs-agent, 1 VIP:                  $L_AGENT1"
stop_agent "$AGENT_PID"
AGENT1_REPAIRS=$(grep -c 'drift corrected: vip' "$TMP/lat1.log")

# rs-agent with 64 VIPs; the probe deletes the last one.
VIPS64=$(for i in $(seq 1 64); do printf '198.18.0.%d, ' "$i"; done | sed 's/, $//')
VIP64=198.18.0.64
in_ns "$NS" ip addr del "$VIP/32" dev lo 2>/dev/null
conf=$TMP/lat64.ini
write_rs_config "$conf" lat64 "$VIPS64" "verify_interval = 1h" "[agent]" "enabled = no"
agent_up "$NS" "$conf" "$TMP/lat64.log" || { problem "rs-agent (64 VIPs) did not start"; exit 1; }
restorer_ready "$NS" "$VIP64" || problem "rs-agent (64 VIPs) did not restore a deleted VIP"
L_AGENT64=$(probe "$NS" "$VIP64" agent "$TMP/lat-agent64.txt")
echo "   rs-agent, 64 VIPs:                $L_AGENT64"
stop_agent "$AGENT_PID"
for i in $(seq 1 64); do in_ns "$NS" ip addr del "198.18.0.$i/32" dev lo 2>/dev/null; done

# Hand-made peer: the shell watchdog one would write without rs-agent.
# Bounded by timeout(1); the namespace cleanup takes ip monitor with it.
in_ns "$NS" ip addr add "$VIP/32" dev lo label lo:dsr
watchdog="ip -o monitor address dev lo | while read -r line; do
	case \$line in Deleted*' inet $VIP/32 '*) ip addr add $VIP/32 dev lo label lo:dsr ;; esac
done"
start_pinned "$NS" "$TMP/watchdog.log" "$CPU_SERVER" timeout 120 bash -c "$watchdog"
WATCHDOG_PID=$LAST_PID
sleep 0.3
restorer_ready "$NS" "$VIP" || problem "the shell watchdog did not restore a deleted VIP"
L_WATCHDOG=$(probe "$NS" "$VIP" agent "$TMP/lat-watchdog.txt")
echo "   shell watchdog (ip monitor):      $L_WATCHDOG"
kill -TERM "$WATCHDOG_PID" 2>/dev/null
ip netns pids "$NS" 2>/dev/null | xargs -r kill -TERM 2>/dev/null

# ---- 2. agent replies per second on one core ------------------------------

echo "== 2. replies/s: $ROUNDS rounds x ${SECONDS_PER_ROUND}s (+1s warm-up), $CONC connections, server on CPU $CPU_SERVER, client on CPU $CPU_CLIENT"
ns_new rs
ns_new cl
RS=$NS_rs CL=$NS_cl
ip link add "v$TEST_ID" type veth peer name "w$TEST_ID"
ip link set "v$TEST_ID" netns "$RS"
ip link set "w$TEST_ID" netns "$CL"
in_ns "$RS" ip link set "v$TEST_ID" name eth0
in_ns "$CL" ip link set "w$TEST_ID" name eth0
in_ns "$RS" ip addr add 198.18.1.2/24 dev eth0
in_ns "$CL" ip addr add 198.18.1.1/24 dev eth0
in_ns "$RS" ip link set eth0 up
in_ns "$CL" ip link set eth0 up

conf=$TMP/rps.ini
write_rs_config "$conf" rps "$VIP" "[agent]" "listen = 0.0.0.0:5555" "allow = 198.18.1.1"
agent_up "$RS" "$conf" "$TMP/rps-agent.log" || { problem "rs-agent (agent port) did not start"; exit 1; }
RPS_AGENT_PID=$AGENT_PID
start_pinned "$RS" "$TMP/oneline.log" "$CPU_SERVER" "$TMP/oneline" -p 5556 -t 300
RPS_C_PID=$LAST_PID
start_pinned "$RS" "$TMP/pyoneline.log" "$CPU_SERVER" "$PY" "$HERE/pyoneline.py" 0.0.0.0 5557 300
RPS_PY_PID=$LAST_PID

reply_ok() { [ "$(in_ns "$CL" "$TOOLS/tcpquery" -s 198.18.1.1 198.18.1.2 "$1")" = "up ready" ]; }
for port in 5555 5556 5557; do
	wait_until 10 reply_ok "$port" || problem "server on port $port does not answer 'up ready'"
done

declare -A RATES CPUS
RAW_RPS=""
for ((r = 1; r <= ROUNDS; r++)); do
	for srv in agent c py; do
		case $srv in
		agent) port=5555 pid=$RPS_AGENT_PID ;;
		c) port=5556 pid=$RPS_C_PID ;;
		py) port=5557 pid=$RPS_PY_PID ;;
		esac
		t0=$(cpu_ticks "$pid")
		out=$(in_ns "$CL" taskset -c "$CPU_CLIENT" "$TMP/loadgen" -s 198.18.1.1 -d 198.18.1.2 -p "$port" \
			-e "up ready" -c "$CONC" -t "$SECONDS_PER_ROUND" -w 1 2>&1)
		rc=$?
		t1=$(cpu_ticks "$pid")
		# Server CPU over warm-up + window, as a share of one core.
		cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v s=$((SECONDS_PER_ROUND + 1)) 'BEGIN { printf "%.0f", 100 * d / hz / s }')
		[ $rc = 0 ] || problem "load round $r against $srv: $(head -c 300 <<<"$out")"
		rate=$(kv rate "$out")
		RATES[$srv]="${RATES[$srv]:-} ${rate:-0}"
		CPUS[$srv]="${CPUS[$srv]:-} ${cpu}"
		RAW_RPS+="round $r $srv: $out server_cpu_pct=$cpu"$'\n'
		printf '   round %d %-6s %8s replies/s  (server CPU %s%%; %s)\n' "$r" "$srv" "${rate:-?}" "$cpu" \
			"$(sed 's/ rate=.*//' <<<"$out")"
	done
done
AGENT_STATUS=$(in_ns "$RS" "$RS_AGENT" -f "$conf" status --json 2>/dev/null)
AGENT_COUNTERS=$(grep -o '"agent_[a-z_]*":[0-9]*' <<<"$AGENT_STATUS" | tr '\n' ' ')
AGENT_RSS_AFTER_LOAD=$(mem "$RPS_AGENT_PID" VmRSS) AGENT_HWM_AFTER_LOAD=$(mem "$RPS_AGENT_PID" VmHWM)
C_RSS_AFTER_LOAD=$(mem "$RPS_C_PID" VmRSS) PY_RSS_AFTER_LOAD=$(mem "$RPS_PY_PID" VmRSS)
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
RPS_AGENT=$(median "${RATES[agent]}") RPS_C=$(median "${RATES[c]}") RPS_PY=$(median "${RATES[py]}")
CPU_AGENT=$(median "${CPUS[agent]}") CPU_C=$(median "${CPUS[c]}") CPU_PY=$(median "${CPUS[py]}")
echo "   medians: rs-agent $RPS_AGENT/s (CPU $CPU_AGENT%), C oneline $RPS_C/s (CPU $CPU_C%), python asyncio $RPS_PY/s (CPU $CPU_PY%)"
echo "   rs-agent counters: $AGENT_COUNTERS"
stop_agent "$RPS_AGENT_PID"
kill -TERM "$RPS_C_PID" "$RPS_PY_PID" 2>/dev/null

# ---- 3. RSS with 64 VIPs and 8 checks ------------------------------------

echo "== 3. memory: rs-agent with 64 VIPs and 8 tcp checks, after ${SETTLE}s"
ns_new mem
MNS=$NS_mem
in_ns "$MNS" ip link add eth0 type veth peer name peer0
in_ns "$MNS" ip link set eth0 up
in_ns "$MNS" ip addr add 198.18.1.2/24 dev eth0
mkdir -p "$TMP/www" && echo hello >"$TMP/www/index.html" && chmod -R a+rX "$TMP/www"
bg_in "$MNS" "$TMP/web.log" "$PY" -m http.server 8080 --bind 0.0.0.0 --directory "$TMP/www"
WEB_PID=$LAST_PID
checks=()
for i in $(seq 1 8); do
	checks+=("[check svc$i]" "type = tcp" "address = 198.18.0.$i" "port = 8080" "interval = 1s"
		 "timeout = 500ms" "rise = 1" "fall = 1")
done
conf=$TMP/mem.ini
write_rs_config "$conf" mem "$VIPS64" "[agent]" "listen = 0.0.0.0:5555" "allow = 198.18.1.1" "${checks[@]}"
agent_up "$MNS" "$conf" "$TMP/mem-agent.log" || { problem "rs-agent (64 VIPs, 8 checks) did not start"; exit 1; }
MEM_AGENT_PID=$AGENT_PID
all_up() { [ "$(in_ns "$MNS" "$RS_AGENT" -f "$conf" status --json | grep -o '"state":"up"' | wc -l)" = 8 ]; }
wait_until 10 all_up || problem "the 8 checks did not all come up"
start_pinned "$MNS" "$TMP/mem-oneline.log" "$CPU_SERVER" "$TMP/oneline" -p 5556 -t 120
MEM_C_PID=$LAST_PID
bg_in "$MNS" /dev/null sleep 120
MEM_SLEEP_PID=$LAST_PID
t0=$(cpu_ticks "$MEM_AGENT_PID")
sleep "$SETTLE"
t1=$(cpu_ticks "$MEM_AGENT_PID")
MEM_IDLE_CPU=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$SETTLE" 'BEGIN { printf "%.2f", 100 * d / hz / s }')
MEM_REPORT=$(in_ns "$MNS" "$RS_AGENT" -f "$conf" status | awk -F':  *' '/^reporting:/ { print $2 }')
MEM_VIPS_ON_LO=$(in_ns "$MNS" ip -4 addr show dev lo label lo:dsr | grep -c 'inet 198\.18\.0\.')
MEM_CHECKS_UP=$(in_ns "$MNS" "$RS_AGENT" -f "$conf" status --json | grep -o '"state":"up"' | wc -l)
RSS_AGENT=$(mem "$MEM_AGENT_PID" VmRSS) HWM_AGENT=$(mem "$MEM_AGENT_PID" VmHWM)
ANON_AGENT=$(mem "$MEM_AGENT_PID" RssAnon) FILE_AGENT=$(mem "$MEM_AGENT_PID" RssFile)
RSS_SLEEP=$(mem "$MEM_SLEEP_PID" VmRSS) RSS_C=$(mem "$MEM_C_PID" VmRSS) RSS_WEB=$(mem "$WEB_PID" VmRSS)
ANON_SLEEP=$(mem "$MEM_SLEEP_PID" RssAnon) ANON_C=$(mem "$MEM_C_PID" RssAnon) ANON_WEB=$(mem "$WEB_PID" RssAnon)
echo "   rs-agent: VmRSS ${RSS_AGENT} kB, VmHWM ${HWM_AGENT} kB (RssAnon ${ANON_AGENT}, RssFile ${FILE_AGENT}); reporting '$MEM_REPORT', $MEM_VIPS_ON_LO VIPs on lo, $MEM_CHECKS_UP checks up, CPU ${MEM_IDLE_CPU}%"
echo "   sleep ${RSS_SLEEP} kB, C oneline ${RSS_C} kB, python3 http.server ${RSS_WEB} kB"
[ "$MEM_VIPS_ON_LO" = 64 ] || problem "only $MEM_VIPS_ON_LO of 64 VIPs on lo"
[ "$MEM_REPORT" = "up ready" ] || problem "the 64-VIP agent reports '$MEM_REPORT'"
stop_agent "$MEM_AGENT_PID"

# ---- results --------------------------------------------------------------

lat_ms() { awk -v v="$(kv "$2" "$1")" 'BEGIN { printf "%.3f", v / 1000 }'; }
A1_MED=$(lat_ms "$L_AGENT1" median_us) A1_P99=$(lat_ms "$L_AGENT1" p99_us)
A64_MED=$(lat_ms "$L_AGENT64" median_us) A64_P99=$(lat_ms "$L_AGENT64" p99_us)
F_MED=$(lat_ms "$L_FLOOR" median_us) F_P99=$(lat_ms "$L_FLOOR" p99_us)
W_MED=$(lat_ms "$L_WATCHDOG" median_us) W_P99=$(lat_ms "$L_WATCHDOG" p99_us)

{
echo "<!-- generated by bench/run.sh; rerun it to refresh -->"
echo "## Results of $DATE"
echo
echo "- command: \`bench/run.sh ${1:-}\` (TRIALS=$TRIALS ROUNDS=$ROUNDS SECONDS_PER_ROUND=$SECONDS_PER_ROUND CONC=$CONC SETTLE=$SETTLE)"
echo "- machine: $(nproc) cores ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "- rs-agent: $BUILD/rs-agent, source $REV"
echo "- server CPU $CPU_SERVER, client/probe CPU $CPU_CLIENT (taskset)"
[ "$ERRORS" = 0 ] || echo "- **$ERRORS problem(s) during the run: see the run's output**"
echo
echo "| target (issue) | rs-agent | ratio to target | reference measured in this run | rs-agent / reference |"
echo "|---|---|---|---|---|"
echo "| drift repair < ${TARGET_REPAIR_MS} ms (1 VIP) | median $A1_MED ms, p99 $A1_P99 ms | median $(ratio "$A1_MED" "$TARGET_REPAIR_MS" 3)x, p99 $(ratio "$A1_P99" "$TARGET_REPAIR_MS" 3)x of target (lower is better) | kernel floor (probe re-adds itself): median $F_MED ms; shell watchdog (ip monitor + ip addr add): median $W_MED ms, p99 $W_P99 ms | $(ratio "$A1_MED" "$F_MED" 1)x floor; $(ratio "$A1_MED" "$W_MED" 2)x watchdog (median) |"
echo "| drift repair < ${TARGET_REPAIR_MS} ms (64 VIPs, last one deleted) | median $A64_MED ms, p99 $A64_P99 ms | median $(ratio "$A64_MED" "$TARGET_REPAIR_MS" 3)x, p99 $(ratio "$A64_P99" "$TARGET_REPAIR_MS" 3)x of target (lower is better) | same as above | $(ratio "$A64_MED" "$A1_MED" 1)x rs-agent with 1 VIP; $(ratio "$A64_MED" "$W_MED" 2)x watchdog (median) |"
echo "| agent replies > ${TARGET_RPS}/s on one core | $RPS_AGENT/s (server CPU $CPU_AGENT%) | $(ratio "$RPS_AGENT" "$TARGET_RPS" 2)x target (higher is better) | C epoll one-line responder $RPS_C/s (CPU $CPU_C%); python3 asyncio responder $RPS_PY/s (CPU $CPU_PY%) | $(ratio "$RPS_AGENT" "$RPS_C" 2)x C; $(ratio "$RPS_AGENT" "$RPS_PY" 2)x python |"
echo "| RSS < 4 MiB (64 VIPs, 8 checks) | VmRSS $RSS_AGENT kB, VmHWM $HWM_AGENT kB | VmRSS $(ratio "$RSS_AGENT" "$TARGET_RSS_KB" 2)x, VmHWM $(ratio "$HWM_AGENT" "$TARGET_RSS_KB" 2)x of target (lower is better) | sleep(1) $RSS_SLEEP kB; C one-line responder $RSS_C kB; python3 http.server $RSS_WEB kB | $(ratio "$RSS_AGENT" "$RSS_SLEEP" 1)x sleep; $(ratio "$RSS_AGENT" "$RSS_C" 1)x C; $(ratio "$RSS_AGENT" "$RSS_WEB" 2)x python |"
echo
echo "### Raw numbers"
echo
echo "Repair latency (nlprobe; times from just before RTM_DELADDR is sent to the RTM_NEWADDR"
echo "notification; median and p99 by nearest rank over $TRIALS trials; 50 ms between trials):"
echo
echo '```'
for f in floor agent1 agent64 watchdog; do grep '^summary' "$TMP/lat-$f.txt" | sed "s/^summary/$f:/"; done
echo "rs-agent (1 VIP) repairs logged: $AGENT1_REPAIRS"
for f in agent1 agent64 watchdog floor; do
	echo "$f, restored_us sorted:"
	samples "$TMP/lat-$f.txt"
done
echo '```'
echo
echo "Replies/s (loadgen; counted window ${SECONDS_PER_ROUND}s after 1 s warm-up; server CPU is its utime+stime over warm-up + window):"
echo
echo '```'
printf '%s' "$RAW_RPS"
echo "rs-agent counters after the rounds: $AGENT_COUNTERS"
echo "after the rounds: rs-agent VmRSS $AGENT_RSS_AFTER_LOAD kB VmHWM $AGENT_HWM_AFTER_LOAD kB; C oneline VmRSS $C_RSS_AFTER_LOAD kB; python asyncio VmRSS $PY_RSS_AFTER_LOAD kB"
echo '```'
echo
echo "Memory (/proc/PID/status after ${SETTLE}s; kB):"
echo
echo '```'
echo "rs-agent 64 VIPs 8 checks: VmRSS $RSS_AGENT VmHWM $HWM_AGENT RssAnon $ANON_AGENT RssFile $FILE_AGENT; reporting '$MEM_REPORT'; $MEM_VIPS_ON_LO VIPs on lo; $MEM_CHECKS_UP checks up; CPU ${MEM_IDLE_CPU}% of a core over ${SETTLE}s"
echo "sleep: VmRSS $RSS_SLEEP RssAnon $ANON_SLEEP"
echo "C oneline: VmRSS $RSS_C RssAnon $ANON_C"
echo "python3 http.server: VmRSS $RSS_WEB RssAnon $ANON_WEB"
echo '```'
} >"$RESULTS"

echo
echo "== summary (also in ${RESULTS#$ROOT/})"
sed -n '/^| target/,/^$/p' "$RESULTS"
[ "$ERRORS" = 0 ] || { echo "bench: $ERRORS problem(s); the numbers above are not trustworthy"; exit 1; }
exit 0
