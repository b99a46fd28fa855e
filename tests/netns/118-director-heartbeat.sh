#!/usr/bin/env bash
# The heartbeat: a VRRP engine whose loop is stuck (SIGSTOP of the engine
# alone: alive, doing nothing, its VIP still on) is found by the parent
# within 1.25 times engine_heartbeat_timeout (default 3s), logged, killed
# and replaced; the new engine removes the VIP the stuck one held and the
# pair converges to one master, which both nodes' status then show at
# every sample. The parent keeps answering meanwhile. Its own stalls
# (the parent stopped for longer than the timeout) and reloads never cost
# an engine a restart. The LVS engine (a virtual server, no IPVS needed)
# answers too, is given 30 s, and is replaced when stuck that long, the
# VRRP engine untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
TIMEOUT_MS=3000		# the default
two_directors
pair_with_lvs_conf
start_pair VI_1 || { fail "d1 (150) master, d2 (100) backup"; dfinish; }
pass "d1 (150) master, d2 (100) backup"
missed() { grep -c "did not answer a heartbeat" "$TMP/d1.log"; }
pid_of() { js d1 "j['$1_engine']['pid'], j['$1_engine']['restarts']"; }	# pid_of vrrp|lvs

# Reloads and a stalled parent are no reason to restart anything.
eng=$(js d1 "j['vrrp_engine']['pid']")
lvs=$(js d1 "j['lvs_engine']['pid']")
t_lvs=$(now_ms)
check "d1 runs both engines (vrrp $eng, lvs $lvs)" [ -n "$lvs" ] && [ "$lvs" != 0 ] && [ "$lvs" != "$eng" ]
for i in 1 2 3; do ctl d1 reload >/dev/null || fail "reload $i"; done
kill -STOP "$PID_d1"
sleep $((TIMEOUT_MS / 1000 + 2))
kill -CONT "$PID_d1"
sleep 1
check "after 3 reloads and the parent stopped for $((TIMEOUT_MS / 1000 + 2)) s: no heartbeat missed" [ "$(missed)" = 0 ]
check "... the same VRRP engine, never restarted" [ "$(pid_of vrrp)" = "($eng, 0)" ]

# The stuck engine.
sampler "$TMP/samples" $VIP "$D1" "$D2"
t_stop=$(now_ms)
kill -STOP "$eng"
check "d2 takes over from the silent d1" wait_ms 2000 state_is d2 VI_1 MASTER
check "the stuck d1 still holds its VIP (two holders until it is replaced)" has_addr "$D1" eth0 $VIP
check "d1's parent keeps answering, saying the engine does not" \
	bash -c "timeout 5 \"$DIRECTORCTL\" -s \"$(sock_of d1)\" status | grep -q 'vrrp engine not answering'"
bound=$((TIMEOUT_MS * 5 / 4 + 1500))	# plus the machine's slack
check "within $bound ms the parent logs: the vrrp engine did not answer a heartbeat for N ms: restarting it" \
	wait_ms $((bound - ($(now_ms) - t_stop))) grep -q "the vrrp engine did not answer a heartbeat for [0-9]* ms: restarting it" "$TMP/d1.log"
t_seen=$(now_ms)
echo "    $(grep -o "the vrrp engine did not answer.*" "$TMP/d1.log" | head -1), seen $((t_seen - t_stop)) ms after SIGSTOP"
n=$(grep -o "did not answer a heartbeat for [0-9]* ms" "$TMP/d1.log" | head -1 | grep -o "[0-9][0-9]*")
check "... N is at least the timeout, at most 1 s more (N = ${n:-none})" \
	in_range "${n:-0}" $TIMEOUT_MS $((TIMEOUT_MS + 1000))
check "... and says where the engine was waiting: pid $eng, state T (stopped)" \
	grep -q "restarting it (pid $eng was waiting: state T (stopped)" "$TMP/d1.log"
check "the stuck engine is gone (killed)" wait_ms 2000 not kill -0 "$eng"
replaced() {	# a new engine, one restart counted
	local v
	v=$(pid_of vrrp) && [ "$v" != "($eng, 0)" ] && [[ "$v" == *", 1)" ]]
}
check "a new VRRP engine runs, one restart counted" wait_ms 3000 replaced
check "d1 (150) is master again" wait_ms 5000 state_is d1 VI_1 MASTER
check "d2 is backup again" wait_ms 3000 state_is d2 VI_1 BACKUP

# After convergence: one master at every sample of both nodes' status.
masters=$TMP/masters
end=$(($(now_ms) + 3000))
for ((k = 0; k < 100; k++)); do
	(($(now_ms) < end)) || break
	echo "$(state_of d1 VI_1) $(state_of d2 VI_1)" >>"$masters"
	sleep 0.1
done
echo "    $(wc -l <"$masters") samples of both states; distinct: $(sort -u "$masters" | tr '\n' ';')"
check "both nodes' status show exactly one master at every sample" \
	[ "$(sort -u "$masters")" = "MASTER BACKUP" ]
t_conv=$(now_ms)
sleep 1
stop_sampler "$SAMPLER_PID"
check "only d1 holds the VIP after convergence" always "$TMP/samples" $((t_conv - 3000)) end "1 0"
check "one heartbeat missed in all" [ "$(missed)" = 1 ]

# The LVS engine: more than its 30 s bound of answering, then stuck.
eng=$(js d1 "j['vrrp_engine']['pid']")
left=$((32000 - ($(now_ms) - t_lvs)))
((left > 0)) && sleep "$((left / 1000)).$((left % 1000 / 100))"
check "the LVS engine answered for over 30 s: never restarted" [ "$(pid_of lvs)" = "($lvs, 0)" ]
t_stop=$(now_ms)
kill -STOP "$lvs"
check "the LVS engine stuck: within 40 s the parent logs it and restarts it" \
	wait_ms 40000 grep -q "the lvs engine did not answer a heartbeat for [0-9]* ms: restarting it" "$TMP/d1.log"
echo "    $(grep -o "the lvs engine did not answer.*" "$TMP/d1.log" | head -1), seen $(($(now_ms) - t_stop)) ms after SIGSTOP"
n=$(grep -o "lvs engine did not answer a heartbeat for [0-9]* ms" "$TMP/d1.log" | head -1 | grep -o "[0-9][0-9]*")
check "... after at least 30 s, at most 31 s (N = ${n:-none})" in_range "${n:-0}" 30000 31000
lvs_replaced() { local v; v=$(pid_of lvs) && [ "$v" != "($lvs, 0)" ] && [[ "$v" == *", 1)" ]]; }
check "... a new LVS engine runs, one restart counted" wait_ms 3000 lvs_replaced
check "... the VRRP engine is untouched, d1 still master" \
	[ "$(pid_of vrrp), $(state_of d1 VI_1)" = "($eng, 1), MASTER" ]
dfinish
