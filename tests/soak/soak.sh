#!/usr/bin/env bash
# The fault matrix, as a soak (issue 14). Runs inside the VM of tests/vm
# (IPVS): tests/vm/vm.sh -e SOAK_SECONDS=120 tests/soak/soak.sh, or
# `make soak` (tests/soak/run.sh), or the two-minute tests/vm/27-soak-short.sh
# in `make check`.
#
# The lab (tests/vm/director-vm-lib.sh's one-bridge LAN): directors lb
# (priority 150) and lb2 (100) running directord with one VRRP instance
# VI_1 (VRRPv3 every 1 s: TCG) holding VIP 198.18.0.100, the IPVS sync
# daemon following it, ipvs_on_stop = keep, a track script each, and two
# DR virtual servers on the VIP: web (port 80, check = http, agent) and
# stream (port 9000, check = tcp, agent); real servers rs1 and rs2 with
# rs-agent (VIP on lo, ARP sysctls, checks of both services), python3's
# http.server and tests/tools/streamcheck's echo; a client running two
# long-lived byte-checked streams (streamcheck client, 20-60 s each, one
# after the other in two slots) and a GET / of the VIP every second.
#
# For SOAK_SECONDS a random schedule of faults, drawn from the seed before
# anything else runs (so SOAK_SEED=N replays the same faults, targets,
# durations and variants; not the same timings), one after the other, each
# followed by a convergence window. A fault has a kind, a target, a
# duration and an expected effect, checked by its own bounds; after each,
# the cluster must converge within SOAK_CONVERGE s to: lb MASTER holding
# the VIP, lb2 BACKUP without it, every daemon process there, all four
# real servers up on lb. Checked all along (tests/soak/sampler.py, every
# second): the VIP on lo of both real servers; exactly one VIP holder and
# every short request answered in each quiet period (convergence reached
# to the next fault); no daemon death but the injected ones (sampler exit
# events against the pids each fault may end); RSS and fds not growing;
# every stream completes byte for byte unless a fault meant to break it
# (echo_stop) overlapped it, or the VIP move that reset it came while it
# was under SOAK_SYNC_GRACE ms old (IPVS's sync daemon sends a new
# connection within 3 s, so the new holder may not know it yet: test 25
# shows what survives, the connections established before the failover).
#
# Settings (environment):
#   SOAK_SECONDS [120]       how long faults are injected
#   SOAK_SEED [random]       printed and recorded: replay with the same one
#   SOAK_FAULTS [all kinds]  the mix: kinds separated by spaces or commas,
#                            a kind repeated weighs more
#   SOAK_CONVERGE [20]       s, the convergence window after each fault
#   SOAK_HEARTBEAT [3]       s, engine_heartbeat_timeout (the watchdog of a
#                            stopped engine; set in the config when this
#                            directord knows the key)
#   SOAK_HB_SLACK [4]        s, over 1.25 x the heartbeat, for the replacement (TCG)
#   SOAK_LVS_HEARTBEAT [30]  s, the LVS engine's heartbeat (at least 30 s)
#   SOAK_RESTART_SLACK [5]   s, over the parent's restart back-off
#   SOAK_INVALID [all]       variants of reload_invalid to draw from
#   SOAK_SABOTAGE [all]      variants of state_sabotage to draw from
#   SOAK_SYNC_GRACE [3500]   ms: a stream reset by a VIP move while it was
#                            younger than this, or after a fault that ended
#                            its director's time as sync master or cut the
#                            segment while it was that young, is not
#                            counted: its sync message may not have gone out
# Output: PASS/FAIL lines (tests/report.sh), "SOAK ..." lines for
# tests/soak/run.sh (the schedule, each fault's verdict, the summary by
# kind), and on failure the seed and the timeline around each violation.
. "$(dirname "$0")/../vm/director-vm-lib.sh"

need_ipvs
SOAK_SECONDS=${SOAK_SECONDS:-120}
SEED=${SOAK_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
CONVERGE=${SOAK_CONVERGE:-20}
HB=${SOAK_HEARTBEAT:-3}
HB_SLACK=${SOAK_HB_SLACK:-4}
LVS_HB=${SOAK_LVS_HEARTBEAT:-$((HB > 30 ? HB : 30))}	# the LVS engine is given at least 30 s
RESTART_SLACK=${SOAK_RESTART_SLACK:-5}
ALL_KINDS="kill_parent kill_vrrp kill_lvs stop_parent stop_vrrp stop_lvs link_flap netem reload_valid reload_changed reload_invalid agent_kill www_stop echo_stop track_flip state_sabotage"
KINDS=(${SOAK_FAULTS:-$ALL_KINDS})
KINDS=(${KINDS[@]//,/ })
INVALIDS=(${SOAK_INVALID:-no_interface bad_value unknown_key dup_key garbage missing_file bad_server})
SABOTAGES=(${SOAK_SABOTAGE:-symlink_admin symlink_applied fifo_admin fifo_applied})
VIP=198.18.0.100 PORT=9000
STREAM=$BUILD/tools/streamcheck
HERE=$(cd "$(dirname "$0")" && pwd)
for k in "${KINDS[@]}"; do
	[[ " $ALL_KINDS " == *" $k "* ]] || { fail "soak: unknown fault kind '$k' (kinds: $ALL_KINDS)"; finish; }
done
[ -x "$STREAM" ] || { fail "soak: $STREAM is built (make)"; finish; }

# ---- the schedule, from the seed, before anything else draws ----
# One line a fault: "KIND TARGET DURATION_S VARIANT GAP_S". More are drawn
# than can run; the run stops at SOAK_SECONDS.
RANDOM=$SEED
# pick WORD...: one of them in PICK (never in a $(...): bash reseeds
# RANDOM in subshells, and the schedule would not follow the seed)
pick() { local a=("$@"); PICK=${a[RANDOM % ${#a[@]}]}; }
: >"$TMP/schedule"
for ((i = 0; i < SOAK_SECONDS / 4 + 10; i++)); do
	pick "${KINDS[@]}"
	k=$PICK v=- d=0
	case $k in
	kill_* | stop_* | link_flap | netem | reload_* | track_flip) pick lb lb lb2 ;;	# the master more often
	*) pick rs1 rs2 ;;
	esac
	t=$PICK
	case $k in
	kill_parent) d=$((1 + RANDOM % 4)) ;;	# until the supervisor (here: us) starts it again
	kill_vrrp | kill_lvs) d=0 ;;
	stop_parent) d=$((1 + RANDOM % (HB + HB_SLACK + 4))) ;;
	stop_vrrp) d=$((1 + RANDOM % (HB * 5 / 4 + HB_SLACK + 4))) ;;	# both sides of the watchdog's bound
	stop_lvs) if ((RANDOM % 3)); then d=$((1 + RANDOM % 8)); else d=$((LVS_HB * 5 / 4 + HB_SLACK + 2 + RANDOM % 3)); fi ;;
	link_flap) d=$((2 + RANDOM % 8)) ;;
	netem) pick loss delay duplicate reorder; v=$PICK d=$((5 + RANDOM % 11)) ;;
	reload_valid) pick ctl hup; v=$PICK ;;
	reload_changed) pick priority weight; v=$PICK ;;
	reload_invalid) pick "${INVALIDS[@]}"; v=$PICK; pick ctl hup; v=$v:$PICK ;;
	agent_kill) d=$((1 + RANDOM % 5)) ;;
	www_stop | echo_stop) d=$((2 + RANDOM % 8)) ;;
	track_flip) d=$((8 + RANDOM % 8)) ;;
	state_sabotage) pick "${SABOTAGES[@]}"; v=$PICK ;;
	esac
	echo "$k $t $d $v $((1 + RANDOM % 4))" >>"$TMP/schedule"
done
STREAM_SEED=$RANDOM
echo "SOAK seed $SEED seconds $SOAK_SECONDS converge ${CONVERGE}s kinds ${KINDS[*]}"
echo "soak: replay with SOAK_SEED=$SEED SOAK_SECONDS=$SOAK_SECONDS${SOAK_FAULTS:+ SOAK_FAULTS='$SOAK_FAULTS'}"

# Every status query is bounded: a stopped parent answers nothing.
ctl() { local tag=$1; shift; timeout 8 "$DIRECTORCTL" -s "$(sock_of "$tag")" "$@"; }

# ---- the record ----
T0=$(now_ms)
rel() { awk -v t="$1" -v z="$T0" 'BEGIN { printf "%.1f", (t - z) / 1000 }'; }	# s since the start
EVENTS=$TMP/events	# "MS IDX what": the timeline
VIOL=$TMP/violations	# "MS IDX KIND message"
: >"$EVENTS"
: >"$VIOL"
IDX=0 KIND=setup
ev() { echo "$(now_ms) $IDX $*" >>"$EVENTS"; }
violate() {	# at VIOL_AT ms when set (a stream judged at the end: when it broke)
	echo "${VIOL_AT:-$(now_ms)} $IDX $KIND $*" >>"$VIOL"
	ev "VIOLATION $*"
	echo "    violation at $(rel "$(now_ms)") s, fault #$IDX $KIND: $*"
	FAULT_OK=0
}

# ---- the lab ----
lan cl lb lb2 rs1 rs2
VICTIM=$TMP/victim	# root's file that a planted symlink would have root change
echo "root's file: not for the daemon user" >"$VICTIM"
chmod 600 "$VICTIM"
for rs in rs1 rs2; do
	write_rs_config "$TMP/$rs.ini" "$rs" "$VIP" \
		"[agent]" "listen = 0.0.0.0:5555" "allow = $ADDR_lb, $ADDR_lb2" \
		"[check web]" "type = http" "port = 80" "interval = 1s" "timeout = 1s" "rise = 1" "fall = 3" \
		"[check echo]" "type = tcp" "port = $PORT" "interval = 1s" "timeout = 1s" "rise = 1" "fall = 3"
done

# echo_start RS / agent_start RS: (re)start a real server's echo or agent,
# logs appended (bg_in truncates them).
echo_start() {
	local ns=NS_$1
	ip netns exec "${!ns}" "$STREAM" serve "$PORT" >>"$TMP/echo-$1.log" 2>&1 &
	BG_PIDS+=($!)
	printf -v "ECHO_PID_$1" '%s' "$!"
	disown $!
	sleep 0.5
	kill -0 "$!" 2>/dev/null
}
agent_start() {
	local ns=NS_$1
	ip netns exec "${!ns}" "$RS_AGENT" -f "$TMP/$1.ini" run >>"$TMP/agent-$1.log" 2>&1 &
	BG_PIDS+=($!)
	printf -v "AGENT_PID_$1" '%s' "$!"
	disown $!
	wait_gently 15 in_ns "${!ns}" timeout 5 "$RS_AGENT" -f "$TMP/$1.ini" status
}
for rs in rs1 rs2; do
	echo_start "$rs"
	agent_start "$rs" || { fail "soak: rs-agent starts on $rs"; tail -20 "$TMP/agent-$rs.log"; dfinish; }
	ns=NS_$rs
	www "$rs" "${!ns}"
done

HB_LINE=()	# set below, once director_conf can write a whole file
# director_conf TAG [VARIANT]: the valid file, with the current priority
# and weight (reload_changed toggles them).
PRIO_lb=150 PRIO_lb2=100 W2_lb=1 W2_lb2=1
director_conf() {
	local tag=$1 p="PRIO_$1" w="W2_$1"
	dconf "$TMP/$tag.ini" "$tag" "ipvs_on_stop = keep" "ipvs_sync_interface = eth0" "ipvs_sync_follow = VI_1" \
		"${HB_LINE[@]}" "
[track_script chk]
command = test ! -e $TMP/$tag.trackfail
interval = 2s
timeout = 2s
fall = 2
weight = -60

[vrrp VI_1]
interface = eth0
virtual_router_id = 51
priority = ${!p}
advert_interval = 1s
virtual_ipaddress = $VIP/24
track_script = chk

[virtual_server web]
address = $VIP:80
scheduler = rr
method = dr
vrrp = VI_1
check = http, agent
check_path = /
check_interval = 1s
check_timeout = 1s
check_rise = 1
check_fall = 3
agent_port = 5555
agent_interval = 1s
real_servers = $ADDR_rs1:80, $ADDR_rs2:80 weight=${!w}

[virtual_server stream]
address = $VIP:$PORT
scheduler = rr
method = dr
vrrp = VI_1
check = tcp, agent
check_interval = 1s
check_timeout = 1s
check_rise = 1
check_fall = 3
agent_port = 5555
agent_interval = 1s
real_servers = $ADDR_rs1:$PORT, $ADDR_rs2:$PORT"
	sed -i 's/^log_level = debug$/log_level = info/' "$TMP/$tag.ini"	# 30 minutes of debug fill the tmpfs
}

# dstart TAG: directord -n in its namespace, own process group, log
# appended; waits (bounded) until the control socket answers.
dstart() {
	local tag=$1 ns=NS_$1
	ip netns exec "${!ns}" setsid "$DIRECTORD" -n -f "$TMP/$tag.ini" >>"$TMP/$tag.log" 2>&1 &
	BG_PIDS+=($!)
	printf -v "PID_$tag" '%s' "$!"
	disown $!
	ENG_FAILS[$tag.vrrp]=0 ENG_FAILS[$tag.lvs]=0
	ENG_START[$tag.vrrp]=$(now_ms) ENG_START[$tag.lvs]=$(now_ms)
	wait_gently 20 ctl "$tag" status
}
declare -A ENG_FAILS ENG_START

# dpids TAG: "PARENT VRRP LVS" from the status (0 for a missing one).
dpids() {
	local j p v l
	j=$(status_json "$1") || { echo "0 0 0"; return 1; }
	p=$(jfield "$j" '{' pid) v=$(jfield "$j" '"vrrp_engine":' pid) l=$(jfield "$j" '"lvs_engine":' pid)
	echo "${p:-0} ${v:-0} ${l:-0}"
}
# poll_ms MS cmd...: wait_gently bounded in ms (every 0.25 s: each try forks).
poll_ms() {
	local end=$(($(now_ms) + $1)); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(now_ms) >= end)) && return 1
		sleep 0.25
	done
}
alive() { [ -n "$1" ] && [ "$1" != 0 ] && kill -0 "$1" 2>/dev/null; }

# The watchdog of a stopped engine (being added): set when this
# directord accepts the key in a whole file (it checks nothing else).
HB_LINE=("engine_heartbeat_timeout = ${HB}s")
director_conf lb
if "$DIRECTORD" -t -f "$TMP/lb.ini" >/dev/null 2>&1; then
	echo "soak: this directord has engine_heartbeat_timeout: set to ${HB}s"
else
	HB_LINE=()
	echo "soak: this directord does not know engine_heartbeat_timeout: stopped engines are expected to be replaced anyway (known defect 3)"
fi
for tag in lb lb2; do director_conf "$tag"; done
"$DIRECTORD" -t -f "$TMP/lb.ini" >/dev/null || { fail "soak: the directors' file passes directord -t"; "$DIRECTORD" -t -f "$TMP/lb.ini"; dfinish; }
dstart lb || { fail "soak: directord lb starts"; dfinish; }
dstart lb2 || { fail "soak: directord lb2 starts"; dfinish; }

# ---- the sampler and the load ----
SAMPLES=$TMP/samples
"$PY" "$HERE/sampler.py" "$SAMPLES" 1 "$VIP" "$NS_cl" \
	"lb=$NS_lb:$TMP/lb.ini:$TMP/lb.log" "lb2=$NS_lb2:$TMP/lb2.ini:$TMP/lb2.log" \
	"rs1=$NS_rs1:$TMP/rs1.ini:$TMP/agent-rs1.log" "rs2=$NS_rs2:$TMP/rs2.ini:$TMP/agent-rs2.log" \
	>"$TMP/sampler.log" 2>&1 &
SAMPLER_PID=$!
BG_PIDS+=("$SAMPLER_PID")
wait_gently 20 grep -q '^S ' "$SAMPLES" || { fail "soak: the sampler runs"; cat "$TMP/sampler.log"; dfinish; }
last_sample() { tac "$SAMPLES" | grep -m1 '^S '; }	# "S MS HOLDERS RSLO"
holders_are() { local s; s=$(last_sample); [ "${s##* }" = 11 ] && set -- $s "$1" && [ "$3" = "$5" ]; }

# converged: lb MASTER holding the VIP, lb2 BACKUP without it, every
# daemon process there, both real servers up in both services on lb.
# Prints what is missing.
converged() {
	local s j2 j n
	s=$(last_sample)
	set -- $s
	[ "${3:-}" = 10 ] || { echo "VIP holders (lb lb2) ${3:-?}"; return 1; }
	[ "${4:-}" = 11 ] || { echo "VIP on lo (rs1 rs2) ${4:-?}"; return 1; }
	j=$(status_json lb) || { echo "lb answers no status"; return 1; }
	j2=$(status_json lb2) || { echo "lb2 answers no status"; return 1; }
	[ "$(jfield "$j" '"name":"VI_1"' state)" = MASTER ] || { echo "lb is $(jfield "$j" '"name":"VI_1"' state)"; return 1; }
	[ "$(jfield "$j2" '"name":"VI_1"' state)" = BACKUP ] || { echo "lb2 is $(jfield "$j2" '"name":"VI_1"' state)"; return 1; }
	for tag in lb lb2; do
		local jj=$j
		[ "$tag" = lb2 ] && jj=$j2
		for e in vrrp_engine lvs_engine; do
			alive "$(jfield "$jj" "\"$e\":" pid)" || { echo "$tag has no $e"; return 1; }
		done
	done
	for rs in rs1 rs2; do
		local a="AGENT_PID_$rs"
		alive "${!a}" || { echo "no rs-agent on $rs"; return 1; }
	done
	n=$(grep -o '"state":"up"' <<<"$j" | wc -l)
	[ "$n" = 4 ] || { echo "$n of 4 real servers up on lb"; return 1; }
}

wait_converged() {	# wait_converged S: bounded; prints what was missing at the end
	local end=$(($(now_ms) + $1 * 1000)) why
	while :; do
		why=$(converged) && return 0
		(($(now_ms) >= end)) && { echo "$why"; return 1; }
		sleep 0.5
	done
}
why=$(wait_converged 60) || { fail "soak: the lab converges before the first fault ($why)"; dfinish; }
ev "lab converged"

# Streams: two slots, each one streamcheck client after the other,
# 20-60 s, until the end; "SLOT N START_MS END_MS RC LOG" in $TMP/streams.
END_MS=$(($(now_ms) + SOAK_SECONDS * 1000))
: >"$TMP/streams"
stream_slot() {
	local slot=$1 n=0 dur log s rc
	RANDOM=$((STREAM_SEED + slot))
	while [ ! -e "$TMP/streams.stop" ] && (($(now_ms) < END_MS - 15000)); do
		n=$((n + 1)) dur=$((20 + RANDOM % 41)) log=$TMP/stream-$slot-$n.log
		s=$(now_ms)
		ip netns exec "$NS_cl" "$STREAM" client "$VIP" "$PORT" "$log" "$dur" >/dev/null 2>&1
		rc=$?
		echo "$slot $n $s $(now_ms) $rc $log" >>"$TMP/streams"
		[ "$rc" = 0 ] || sleep 1
	done
}
for slot in 1 2; do
	stream_slot "$slot" &
	BG_PIDS+=($!)
	SLOT_PIDS+=($!)
done

# ---- the faults ----
# Each f_KIND TARGET DUR VARIANT injects, undoes and checks its own
# bounds (violate on a miss), and sets ALLOW: the pids it may end.
dns() { local v="NS_$1"; echo "${!v}"; }

# engine_restart_bound TAG ENG: the parent's back-off for this failure
# (100 ms, doubled after each failure of an engine that ran less than
# 30 s, up to 30 s) plus the slack, in ms; counts the failure.
# Sets BACKOFF (ms, the back-off alone) and BOUND (with the slack); not
# to be called in a $(...) (the count would be lost).
engine_restart_bound() {
	local k=$1.$2 n i
	if (($(now_ms) - ${ENG_START[$k]:-0} >= 30000)); then n=1; else n=$((${ENG_FAILS[$k]:-0} + 1)); fi
	ENG_FAILS[$k]=$n
	BACKOFF=100
	for ((i = 1; i < n; i++)); do BACKOFF=$((BACKOFF * 2)); ((BACKOFF > 30000)) && BACKOFF=30000; done
	BOUND=$((BACKOFF + RESTART_SLACK * 1000))
}

# replaced TAG ENG OLDPID: the engine has a new live pid.
replaced() {
	local p
	p=$(dpids "$1") || return 1
	set -- $p "$2" "$3"
	local now=$2
	[ "$4" = lvs ] && now=$3
	[ "$now" != 0 ] && [ "$now" != "$5" ] && alive "$now"
}

f_kill_engine() {	# TAG ENG
	local tag=$1 eng=$2 old bound t0 took
	read -r _ v l <<<"$(dpids "$tag")"
	old=$v
	[ "$eng" = lvs ] && old=$l
	alive "$old" || { violate "no $eng engine to kill on $tag"; return; }
	engine_restart_bound "$tag" "$eng"
	bound=$BOUND
	ALLOW+=" $old"
	t0=$(now_ms)
	kill -KILL "$old"
	if poll_ms "$bound" replaced "$tag" "$eng" "$old"; then
		took=$(($(now_ms) - t0))
		ENG_START[$tag.$eng]=$(now_ms)
		NOTE="restarted in ${took} ms (bound ${bound}, back-off ${BACKOFF})"
	else
		violate "the $eng engine of $tag was not restarted within ${bound} ms (back-off ${BACKOFF} ms)"
	fi
}
f_kill_vrrp() { f_kill_engine "$1" vrrp; }
f_kill_lvs() { f_kill_engine "$1" lvs; }

f_kill_parent() {	# TAG DUR: SIGKILL of the parent alone; its engines must go, the peer take over; we restart it
	local tag=$1 d=$2 p v l other=lb2 pid_var
	read -r p v l <<<"$(dpids "$tag")"
	[ "$tag" = lb2 ] && other=lb
	pid_var=PID_$tag
	ALLOW+=" ${!pid_var} $p $v $l"
	kill -KILL "${!pid_var}"
	wait_gently 5 not kill -0 "${!pid_var}" || violate "the parent of $tag survived SIGKILL"
	if wait_gently 8 bash -c "! kill -0 $v 2>/dev/null && ! kill -0 $l 2>/dev/null"; then :; else
		violate "the engines of $tag ($v $l) did not stop within 8 s of their parent's death"
		kill -KILL "$v" "$l" 2>/dev/null
	fi
	if [ "$tag" = lb ]; then
		wait_gently 10 holders_are 01 || violate "lb2 did not take the VIP within 10 s of lb's death (holders: $(last_sample | cut -d' ' -f3))"
	else
		holders_are 10 || violate "the VIP moved when the backup died (holders: $(last_sample | cut -d' ' -f3))"
	fi
	sleep "$d"
	dstart "$tag" || violate "directord $tag did not start again within 20 s"
	NOTE="restarted by the supervisor after ${d} s"
}

f_stop() {	# TAG ROLE DUR: SIGSTOP, SIGCONT after DUR unless the watchdog replaced it
	local tag=$1 role=$2 d=$3 p v l pid t0 bound
	read -r p v l <<<"$(dpids "$tag")"
	case $role in parent) pid=$p ;; vrrp) pid=$v ;; lvs) pid=$l ;; esac
	alive "$pid" || { violate "no $role of $tag to stop"; return; }
	# the parent's heartbeat: a stuck engine is replaced within 1.25
	# times its timeout (the LVS engine's at least 30 s)
	if [ "$role" = lvs ]; then bound=$((LVS_HB * 1250 + HB_SLACK * 1000)); else bound=$((HB * 1250 + HB_SLACK * 1000)); fi
	t0=$(now_ms)
	kill -STOP "$pid"
	if [ "$role" = parent ]; then
		sleep "$d"
		kill -CONT "$pid"
		wait_gently 10 ctl "$tag" status || violate "$tag answers no status within 10 s of SIGCONT"
		NOTE="stopped ${d} s"
		return
	fi
	ALLOW+=" $pid"	# the watchdog may replace it
	if ((d * 1000 < bound)); then
		sleep "$d"
		kill -CONT "$pid" 2>/dev/null
		NOTE="stopped ${d} s (under the watchdog bound ${bound} ms): $(alive "$pid" && echo resumed || echo replaced)"
		return
	fi
	# stopped past the watchdog's bound: replaced by then (the
	# watchdog's kill is a failure for the parent's back-off too)
	engine_restart_bound "$tag" "$role"
	bound=$((bound + BACKOFF))
	if poll_ms "$bound" replaced "$tag" "$role" "$pid"; then
		NOTE="replaced after $(($(now_ms) - t0)) ms (bound ${bound})"
		ENG_START[$tag.$role]=$(now_ms)
	else
		violate "the stopped $role engine of $tag was not replaced within ${bound} ms (known defect 3 while the watchdog is missing)"
	fi
	local left=$((d * 1000 - ($(now_ms) - t0)))
	((left > 0)) && sleep "$(awk -v m=$left 'BEGIN { print m / 1000 }')"
	kill -CONT "$pid" 2>/dev/null
}
f_stop_parent() { f_stop "$1" parent "$2"; }
f_stop_vrrp() { f_stop "$1" vrrp "$2"; }
f_stop_lvs() { f_stop "$1" lvs "$2"; }

f_link_flap() {	# TAG DUR: the director's eth0 down, then up
	local tag=$1 d=$2
	ip -n "$(dns "$tag")" link set eth0 down
	if [ "$tag" = lb ]; then
		wait_gently $((d + 10)) holders_are 01 || violate "lb2 did not take the VIP within $((d + 10)) s of lb's link down (holders: $(last_sample | cut -d' ' -f3))"
	fi
	sleep "$d"
	ip -n "$(dns "$tag")" link set eth0 up
	NOTE="down ${d} s"
}

f_netem() {	# TAG DUR VARIANT: on the director's eth0 (VRRP, sync and forwarded traffic)
	local tag=$1 d=$2 v=$3 spec
	case $v in
	loss) spec="loss 30%" ;;
	delay) spec="delay 200ms 50ms" ;;
	duplicate) spec="duplicate 40%" ;;
	reorder) spec="delay 20ms reorder 50% 50%" ;;
	esac
	# shellcheck disable=SC2086
	tc -n "$(dns "$tag")" qdisc add dev eth0 root netem $spec || { violate "tc netem $spec refused"; return; }
	sleep "$d"
	tc -n "$(dns "$tag")" qdisc del dev eth0 root
	NOTE="$spec for ${d} s"
}

# reload TAG HOW: directorctl reload (exit status in RELOAD_RC) or SIGHUP.
reload() {
	local pid_var=PID_$1
	if [ "$2" = hup ]; then
		kill -HUP "${!pid_var}"
		RELOAD_RC=hup
		sleep 2
	else
		RELOAD_OUT=$(ctl "$1" reload 2>&1)
		RELOAD_RC=$?
	fi
}
base_prio() { jfield "$(status_json "$1")" '"name":"VI_1"' base_priority; }
prio_is() { [ "$(base_prio "$1")" = "$2" ]; }
same_pids() { [ "$(dpids "$1")" = "$2" ]; }

f_reload_valid() {	# TAG - HOW
	local tag=$1 how=$3 before
	before=$(dpids "$tag")
	director_conf "$tag"
	reload "$tag" "$how"
	[ "$RELOAD_RC" = 0 ] || [ "$RELOAD_RC" = hup ] || violate "the unchanged file was refused: ${RELOAD_OUT//$'\n'/ }"
	sleep 1
	same_pids "$tag" "$before" || violate "a valid reload changed the processes of $tag: $before -> $(dpids "$tag")"
	NOTE="by $how"
}

f_reload_changed() {	# TAG - VARIANT: a new priority (stays below/above the peer) or rs2's web weight
	local tag=$1 v=$3 before p="PRIO_$1" w="W2_$1"
	before=$(dpids "$tag")
	if [ "$v" = priority ]; then
		if [ "$tag" = lb ]; then ((PRIO_lb = PRIO_lb == 150 ? 140 : 150)); else ((PRIO_lb2 = PRIO_lb2 == 100 ? 110 : 100)); fi
	else
		printf -v "$w" '%s' $((${!w} == 1 ? 2 : 1))
	fi
	director_conf "$tag"
	reload "$tag" ctl
	[ "$RELOAD_RC" = 0 ] || violate "the changed file was refused: ${RELOAD_OUT//$'\n'/ }"
	if [ "$v" = priority ]; then
		wait_gently 10 prio_is "$tag" "${!p}"
		local got
		got=$(base_prio "$tag")
		[ "$got" = "${!p}" ] || violate "$tag runs priority $got after reloading ${!p}"
		NOTE="priority ${!p}"
	else
		local want=${!w}
		wait_gently 10 weight_is "$(dns "$tag")" "-t $VIP:80" "$ADDR_rs2:80" "$want" ||
			violate "rs2's web weight on $tag is $(weight_of "$(dns "$tag")" "-t $VIP:80" "$ADDR_rs2:80") after reloading $want"
		NOTE="rs2 web weight $want"
	fi
	same_pids "$tag" "$before" || violate "a valid reload changed the processes of $tag: $before -> $(dpids "$tag")"
}

f_reload_invalid() {	# TAG - VARIANT:HOW: a bad file is refused, the running config kept, nothing dies
	local tag=$1 v=${3%%:*} how=${3##*:} before prio f=$TMP/$1.ini
	before=$(dpids "$tag")
	prio=$(base_prio "$tag")
	director_conf "$tag"
	case $v in
	no_interface) sed -i '/^\[vrrp VI_1\]/,/^\[/{/^interface = /d}' "$f" ;;	# issue 14 item 1
	bad_value) sed -i 's/^priority = .*/priority = 300/' "$f" ;;
	unknown_key) sed -i 's/^priority = \(.*\)/priorty = \1/' "$f" ;;
	dup_key) sed -i 's/^\(priority = .*\)/\1\npriority = 120/' "$f" ;;
	garbage) awk -v s="$((SEED + IDX))" 'BEGIN { srand(s); for (i = 0; i < 700; i++) printf "%c", 1 + int(rand() * 254) }' >"$f" ;;
	missing_file) rm -f "$f" ;;
	bad_server) sed -i "s/^real_servers = $ADDR_rs1:80,/real_servers = 198.18.0.300:80,/" "$f" ;;
	esac
	reload "$tag" "$how"
	if [ "$how" = ctl ] && [ "$RELOAD_RC" = 0 ]; then
		violate "directorctl reload accepted the $v file (exit 0: ${RELOAD_OUT//$'\n'/ })"
	fi
	sleep 1
	local after
	after=$(dpids "$tag")
	if [ "$after" != "$before" ]; then
		local note=""
		[ "$v" = no_interface ] && note=" (known defect 1)"
		violate "the $v reload changed the processes of $tag: $before -> $after$note"
	else
		[ "$(base_prio "$tag")" = "$prio" ] || violate "$tag runs priority $(base_prio "$tag") after a refused reload (was $prio)"
	fi
	director_conf "$tag"	# the valid file back, for the next start or reload
	NOTE="$v by $how"
}

f_agent_kill() {	# RS DUR
	local rs=$1 d=$2 a="AGENT_PID_$1"
	ALLOW+=" ${!a}"
	kill -KILL "${!a}"
	wait_gently 5 not kill -0 "${!a}"
	sleep "$d"
	agent_start "$rs" || violate "rs-agent on $rs did not answer within 15 s of its restart"
	NOTE="restarted after ${d} s"
}

out_of() { local w; w=$(weight_of "$@"); [ "$w" = absent ] || [ "$w" = 0 ]; }
f_www_stop() {	# RS DUR: its web server killed; lb must take it out of web, then back
	local rs=$1 d=$2
	local addr="ADDR_$rs"
	www_stop "$rs"
	# out within check_interval x fall + the agent's own check + slack
	wait_gently 10 out_of "$NS_lb" "-t $VIP:80" "${!addr}:80" || violate "lb did not take $rs out of web within 10 s of its web server's death (weight $(weight_of "$NS_lb" "-t $VIP:80" "${!addr}:80"))"
	sleep "$d"
	www_start "$rs" "$(dns "$rs")"
	NOTE="down ${d} s"
}

f_echo_stop() {	# RS DUR: its echo killed (the streams through it break: expected)
	local rs=$1 d=$2 e="ECHO_PID_$1"
	# the listener and its per-connection children
	kill -KILL $(pgrep -P "${!e}") "${!e}" 2>/dev/null
	wait_gently 5 not kill -0 "${!e}" || violate "the echo server of $rs survived SIGKILL"
	sleep "$d"
	poll_ms 10000 echo_start "$rs" || violate "the echo server of $rs does not start again: $(tail -1 "$TMP/echo-$rs.log")"
	NOTE="down ${d} s; streams through it may break"
}

f_track_flip() {	# TAG DUR: the track script fails (weight -60): lb's failure hands the VIP to lb2
	local tag=$1 d=$2 t0
	t0=$(now_ms)
	touch "$TMP/$tag.trackfail"
	if [ "$tag" = lb ]; then
		# two script rounds (2 s, fall 2), then lb2's Master_Down (3.6 s), + TCG slack
		wait_gently 15 holders_are 01 || violate "lb2 did not take the VIP within 15 s of lb's track script failing (holders: $(last_sample | cut -d' ' -f3))"
	else
		sleep "$d"
		awk -v a="$t0" '$1 == "S" && $2 >= a && $3 != "10" { bad++ } END { exit bad > 0 }' "$SAMPLES" ||
			violate "the VIP left lb while lb2's track script failed"
	fi
	local left=$((d * 1000 - ($(now_ms) - t0)))
	((left > 0)) && sleep "$(awk -v m=$left 'BEGIN { print m / 1000 }')"
	rm -f "$TMP/$tag.trackfail"
	NOTE="failing ${d} s"
}

# state_sabotage RS VARIANT: the daemon user (dsrkit) plants a symlink to
# root's file, or a FIFO, in rs-agent's state_dir; then the agent is
# restarted and `rs-agent drain`/`ready` run as root. Root's file must
# stay root's and unchanged, the agent must start and answer.
as_daemon_user() { setpriv --reuid=dsrkit --regid=dsrkit --clear-groups "$@"; }
f_state_sabotage() {	# RS - VARIANT
	local rs=$1 v=$3 st=$TMP/$1/state name ns a="AGENT_PID_$1" before after
	ns=$(dns "$rs")
	name=${v#*_}
	# the layout being introduced keeps the admin state in admin.d, the
	# one directory the daemon user may write: plant there when it exists
	[ "$name" = admin ] && [ -d "$st/admin.d" ] && st=$st/admin.d
	before=$(stat -c '%U:%G %a %s' "$VICTIM")
	cp -a "$st/$name" "$TMP/$rs-$name.saved" 2>/dev/null
	if ! as_daemon_user sh -c "mv -f '$st/$name' '$st/$name.planted-away' 2>/dev/null; case $v in
		symlink_*) ln -s '$VICTIM' '$st/$name' ;; fifo_*) mkfifo '$st/$name' ;; esac" 2>/dev/null; then
		NOTE="$v: refused to the daemon user (state_dir not writable by it)"
		return
	fi
	ALLOW+=" ${!a}"
	stop_agent "${!a}"
	if ! agent_start "$rs"; then
		violate "rs-agent on $rs does not answer within 15 s of a restart with a planted $v (known defect 2)"
	fi
	in_ns "$ns" timeout 10 "$RS_AGENT" -f "$TMP/$rs.ini" drain >/dev/null 2>&1
	in_ns "$ns" timeout 10 "$RS_AGENT" -f "$TMP/$rs.ini" ready >/dev/null 2>&1 || violate "rs-agent ready on $rs fails or hangs with a planted $v"
	after=$(stat -c '%U:%G %a %s' "$VICTIM")
	[ "$after" = "$before" ] || violate "root's file changed through the planted $v: $before -> $after (known defect 2)"
	# the harness undoes the plant (as root) and restarts a wedged agent
	ALLOW+=" ${!a}"
	if alive "${!a}" && ! in_ns "$ns" timeout 5 "$RS_AGENT" -f "$TMP/$rs.ini" status >/dev/null 2>&1; then
		kill -KILL "${!a}"
		wait_gently 5 not kill -0 "${!a}"
	fi
	rm -f "$st/$name"
	if [ -e "$TMP/$rs-$name.saved" ]; then cp -a "$TMP/$rs-$name.saved" "$st/$name"; fi
	rm -f "$st/$name.planted-away" "$TMP/$rs-$name.saved"
	chown root:root "$VICTIM"
	chmod 600 "$VICTIM"
	alive "${!a}" || agent_start "$rs" || violate "rs-agent on $rs does not start again after the plant was removed"
	in_ns "$ns" timeout 10 "$RS_AGENT" -f "$TMP/$rs.ini" ready >/dev/null 2>&1
	NOTE="$v planted"
}

# After a fault: deaths the fault did not inject, then the convergence.
# A director whose parent died is started again (a supervisor would):
# the soak goes on, the death is recorded.
unexpected_deaths() {	# FROM_MS
	awk -v from="$1" -v allow=" $ALLOW " '$1 == "X" && $2 >= from && index(allow, " " $5 " ") == 0 { print $3 "/" $4 "/" $5 }' "$SAMPLES" | sort -u | paste -sd' ' -
}
# death_context "TAG/KIND/PID ...": what each director's log says of those
# pids (a crash's signal, an exit status, a heartbeat missed), for the
# report: the VM and its logs are gone once the run ends.
death_context() {
	local x tag pid
	for x in $1; do
		tag=${x%%/*} pid=${x##*/}
		[ -f "$TMP/$tag.log" ] || continue
		grep -E "pid $pid\)|did not answer a heartbeat" "$TMP/$tag.log" | tail -4 | sed "s/^/      $tag: /"
	done
}
repair() {
	local tag rs a
	for tag in lb lb2; do
		local pid_var=PID_$tag
		if ! alive "${!pid_var}"; then
			ev "repair: directord $tag is dead: started again"
			dstart "$tag" || violate "directord $tag does not start again"
		fi
	done
	for rs in rs1 rs2; do
		a="AGENT_PID_$rs"
		alive "${!a}" || { ev "repair: rs-agent $rs is dead: started again"; agent_start "$rs"; }
	done
}

# ---- the run ----
declare -A INJ OKS
QUIET=$TMP/quiet	# "FROM_MS TO_MS IDX": converged, no fault
: >"$QUIET"
quiet_from=$(now_ms)
while read -r kind target dur variant gap; do
	(($(now_ms) + 15000 > END_MS)) && break
	(($(now_ms) + dur * 1000 + 10000 > END_MS)) && continue	# too long for what is left
	IDX=$((IDX + 1)) KIND=$kind ALLOW="" NOTE="" FAULT_OK=1
	echo "$quiet_from $(now_ms) $((IDX - 1))" >>"$QUIET"
	t_start=$(now_ms)
	ev "FAULT $kind $target dur=$dur variant=$variant"
	echo "soak: $(rel "$t_start") s #$IDX $kind $target ${dur}s $variant"
	"f_$kind" "$target" "$dur" "$variant"
	d=$(unexpected_deaths "$t_start")
	[ -n "$d" ] && { violate "daemon deaths not injected: $d"; death_context "$d"; }
	repair
	if why=$(wait_converged "$CONVERGE"); then
		took=$(($(now_ms) - t_start))
	else
		violate "not converged within ${CONVERGE} s of the fault's end: $why"
		repair
		wait_converged "$CONVERGE" >/dev/null || violate "not converged after the repair either"
		took=-
	fi
	d=$(unexpected_deaths "$t_start")
	[ -n "$d" ] && [ -z "$(grep " $IDX $KIND daemon deaths" "$VIOL")" ] &&
		{ violate "daemon deaths not injected: $d"; death_context "$d"; }
	INJ[$kind]=$((${INJ[$kind]:-0} + 1))
	((FAULT_OK)) && OKS[$kind]=$((${OKS[$kind]:-0} + 1))
	moves=$(awk -v a="$t_start" '$1 == "S" && $2 >= a { if (n++ && $3 != p) m++; p = $3; if ($3 == "11") b++ } END { printf "vip_moves=%d both_held_s=%d", m, b }' "$SAMPLES")
	echo "SOAK fault $IDX $(rel "$t_start") $kind $target $dur $variant $([ "$FAULT_OK" = 1 ] && echo survived || echo VIOLATED) converged_ms=$took $moves ${NOTE// /_}"
	ev "END $kind converged_ms=$took $NOTE"
	quiet_from=$(now_ms)
	sleep "$gap"
done <"$TMP/schedule"
echo "$quiet_from $(now_ms) $IDX" >>"$QUIET"
IDX=$((IDX + 1)) KIND=end

# ---- the end: streams, continuous invariants, resources ----
touch "$TMP/streams.stop"
for f in "$TMP"/stream-*.log; do [ -e "$f" ] && touch "$f.stop"; done
for p in "${SLOT_PIDS[@]}"; do wait_gently 45 not kill -0 "$p" || kill -KILL "$p"; done
touch "$SAMPLES.stop"
wait_gently 10 not kill -0 "$SAMPLER_PID"

# faults_over FROM TO: the faults (with their windows) overlapping [FROM, TO], "IDX:KIND" joined.
faults_over() {
	awk -v a="$1" -v b="$2" '$3 == "FAULT" { s[$2] = $1; k[$2] = $4 } $3 == "END" { e[$2] = $1 }
		END { for (i in s) if (s[i] <= b && (!(i in e) || e[i] >= a)) printf "%s:%s ", i, k[i] }' "$EVENTS"
}
# move_before MS: the last change of the VIP's holders at or before MS
# (plus a sample period, as the sampler sees a move up to 1 s late), empty
# if none: the move that reset a stream broken at MS.
move_before() {
	awk -v b="$(($1 + 1500))" '$1 == "S" { if ($2 > b) exit; if (p != "" && $3 != p) m = $2; p = $3 } END { if (m != "") print m }' "$SAMPLES"
}
# master_cut FROM TO: a fault overlapping [FROM, TO] that ends a
# director's time as the sync master or cuts the segment its sync messages
# cross (the kernel discards what a stopped master daemon had not sent
# yet, and UDP does not resend what loss took).
master_cut() {
	local f
	f=$(faults_over "$1" "$2")
	[[ $f =~ :(kill_vrrp|stop_vrrp|kill_parent|stop_parent|link_flap|netem|track_flip) ]]
}
SYNC_GRACE_MS=${SOAK_SYNC_GRACE:-3500}
n_streams=0 n_ok=0 n_excused=0 n_young=0
while read -r slot n s e rc log; do
	n_streams=$((n_streams + 1))
	done_line=$(grep '^done ' "$log" 2>/dev/null | tail -1)
	if [ "$rc" = 0 ] && [[ $done_line == *" lost=0 "*"error=none" ]]; then
		n_ok=$((n_ok + 1))
		continue
	fi
	over=$(faults_over "$s" "$e")
	moved=$(move_before "$e")
	if [[ $done_line == *"differs"* || $done_line == *"more came back"* ]]; then
		VIOL_AT=$e IDX=stream KIND=stream violate "stream $slot.$n ($(rel "$s")-$(rel "$e") s) came back wrong: $done_line (faults: ${over:-none})"
	elif [[ $over == *echo_stop* ]]; then
		n_excused=$((n_excused + 1))
		ev "stream $slot.$n broken under an echo_stop (expected): $done_line"
	elif [ -n "$moved" ] && ((moved >= s)) && { ((moved - s < SYNC_GRACE_MS)) || master_cut "$s" $((s + SYNC_GRACE_MS)); }; then
		# The move that reset it came while the stream was too young to
		# be synced (the kernel sends a new connection in a buffer that
		# goes out once 2 s old, looked at every second), or a fault
		# ended its director's time as sync master, or cut the segment,
		# while it was that young.
		n_young=$((n_young + 1))
		ev "stream $slot.$n was $((moved - s)) ms old at the VIP move that reset it (not yet synced${over:+; faults $over}): $done_line"
	else
		VIOL_AT=$e IDX=stream KIND=stream violate "stream $slot.$n ($(rel "$s")-$(rel "$e") s) broke with no fault meant to break it: ${done_line:-no result} (faults: ${over:-none})"
	fi
done <"$TMP/streams"

# In each quiet period: one holder (lb), the VIP on both real servers'
# lo, every request answered.
bad_quiet=$(awk 'FNR == NR { f[NR] = $1; t[NR] = $2; q[NR] = $3; n = NR; next }
	{ for (i = 1; i <= n; i++) if ($2 >= f[i] && $2 <= t[i]) {
		if ($1 == "S" && ($3 != "10" || $4 != "11")) { print q[i] " " $2 " holders " $3 " lo " $4; break }
		if ($1 == "Q" && $3 != "ok") { print q[i] " " $2 " request " $4; break } } }' "$QUIET" "$SAMPLES")
lo_bad=$(awk '$1 == "S" && $4 != "11" { n++ } END { print n + 0 }' "$SAMPLES")
q_all=$(awk '$1 == "Q" { n++ } END { print n + 0 }' "$SAMPLES")
q_err=$(awk '$1 == "Q" && $3 != "ok" { n++ } END { print n + 0 }' "$SAMPLES")
if [ -n "$bad_quiet" ]; then
	while read -r q t what; do IDX=$q KIND=quiet violate "after fault #$q, at $(rel "$t") s: $what"; done <<<"$(head -5 <<<"$bad_quiet")"
fi

# Resources: per process alive 60 s or more, RSS (kB) and fds from its
# first sample after 20 s to its last; growth is RSS +4 MiB and +50%, or
# fds +16; and never over 200 MiB or 512 fds.
growth=$(awk '$1 == "R" { k = $3 "/" $4 "/" $5; if (!(k in t0)) t0[k] = $2
		if ($2 - t0[k] >= 20000 && !(k in r0)) { r0[k] = $6; f0[k] = $7; s0[k] = $2 }
		r1[k] = $6; f1[k] = $7; t1[k] = $2; if ($6 > mr[k]) mr[k] = $6; if ($7 > mf[k]) mf[k] = $7 }
	END { for (k in r1) {
		if (mr[k] > 204800 || mf[k] > 512) print k " peak rss " mr[k] " kB fds " mf[k]
		else if ((k in r0) && t1[k] - s0[k] >= 40000 && ((r1[k] - r0[k] > 4096 && r1[k] > 1.5 * r0[k]) || f1[k] - f0[k] > 16))
			print k " rss " r0[k] " -> " r1[k] " kB, fds " f0[k] " -> " f1[k] " over " int((t1[k] - s0[k]) / 1000) " s" } }' "$SAMPLES")
peaks=$(awk '$1 == "R" { k = $3 "." $4; if ($6 > r[k]) r[k] = $6; if ($7 > f[k]) f[k] = $7 }
	END { for (k in r) printf "%s %d kB %d fds; ", k, r[k], f[k] }' "$SAMPLES" | sort)
if [ -n "$growth" ]; then
	while read -r l; do IDX=end KIND=resources violate "growth: $l"; done <<<"$growth"
fi

# ---- the report ----
echo "SOAK summary seed $SEED faults $((IDX - 1)) streams $n_streams ok $n_ok broken_by_echo_stop $n_excused too_young_at_a_takeover $n_young requests $q_all failed $q_err (all, faults included)"
echo "SOAK peaks $peaks"
echo "SOAK table | kind | injected | survived |"
for k in $ALL_KINDS; do
	[ -n "${INJ[$k]:-}" ] && echo "SOAK table | $k | ${INJ[$k]} | ${OKS[$k]:-0} |"
done
for k in $ALL_KINDS; do
	[ -n "${INJ[$k]:-}" ] || continue
	msgs=$(awk -v k="$k" '$3 == k { $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' "$VIOL" | sed -E 's/known defect ([0-9])/known defect_\1_/; s/(^|[^_0-9])[0-9]+/\1N/g; s/known defect_([0-9])_/known defect \1/' | sort | uniq -c | sort -rn | sed 's/^ *\([0-9]*\) /\1x /' | head -3 | paste -sd';' -)
	if [ "${OKS[$k]:-0}" = "${INJ[$k]}" ]; then
		pass "soak: $k: ${INJ[$k]} injected, all survived"
	else
		fail "soak: $k: ${INJ[$k]} injected, $((${INJ[$k]} - ${OKS[$k]:-0})) violated (seed $SEED): $msgs"
	fi
done
check "soak: every stream no fault was meant to break completed byte for byte ($n_ok of $n_streams ok, $n_excused broken under echo_stop, $n_young under ${SYNC_GRACE_MS} ms old at a takeover)" \
	bash -c '! grep -q " stream " "$1"' _ "$VIOL"
check "soak: the VIP stayed on both real servers' lo ($lo_bad samples without)" [ "$lo_bad" = 0 ]
check "soak: each quiet period: lb alone holds the VIP and every request is answered" [ -z "$bad_quiet" ]
check "soak: RSS and open descriptors bounded ($peaks)" [ -z "$growth" ]
check "soak: at least one fault was injected" [ "$((IDX - 1))" -gt 0 ]
if [ -s "$VIOL" ]; then
	echo "soak: FAILED, seed $SEED (replay: SOAK_SEED=$SEED SOAK_SECONDS=$SOAK_SECONDS${SOAK_FAULTS:+ SOAK_FAULTS='$SOAK_FAULTS'}); timeline around each violation (s since start, fault #, event):"
	awk 'FNR == NR { v[$2] = 1; next } ($2 in v) || ($2 + 1 in v) { print }' "$VIOL" "$EVENTS" |
		while read -r t i what; do echo "    $(rel "$t") #$i $what"; done | head -60
	# what the directors logged and where each daemon waited, in the 10 s
	# before each violation (the first five)
	head -5 "$VIOL" | while read -r vt _; do
		echo "  around $(rel "$vt") s:"
		awk -v a=$((vt - 10000)) -v b=$((vt + 1000)) '($1 == "L" || $1 == "W") && $2 >= a && $2 <= b' "$SAMPLES" |
			awk '$1 == "L" || !seen[$3 $4 $6 $7 $8]++' | tail -40 |
			while read -r k t rest; do echo "    $(rel "$t") $k $rest"; done
	done
fi
dfinish
