#!/usr/bin/env bash
# Hard failure of the master: SIGKILL of its whole process group (no
# priority 0, its VIP left behind as on a dead machine) and SIGSTOP of
# its VRRP engine (a hung process). The backup takes over one
# Master_Down_Interval (361 ms at priority 100) after the master's last
# advert; a restarted master cleans up the VIP its crashed run left, a
# resumed one follows the backup that took over meanwhile (so its sync
# daemon learns the connections made since) and preempts one
# Master_Down_Interval (341 ms at priority 150) later: exactly one master.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
MASTER_DOWN=361
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
capture "$TMP/wire" 'vrrp or arp' || { fail "tcpdump listens on the bridge"; dfinish; }
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup"

# takeover_ms T: from d1's last advert before d2's first after T to the latter.
takeover_ms() {
	local t_last t_new
	t_new=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.2 51 100)" "$1")
	t_last=$(last_pkt_before "$TMP/wire" "$(re_advert 198.18.0.1 51 150)" "${t_new:-0}")
	sub_ms "$t_new" "$t_last"
}

# 1. SIGKILL of d1's process group: parent and engine die at once.
sampler "$TMP/samples" $VIP "$D1" "$D2"
sleep 0.2
t_kill=$(now_ms)
kill -KILL -- "-$PID_d1"
check "d1's process group is gone" wait_ms 2000 not kill -0 "$PID_d1"
check "d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER
sleep 0.2
dt=$(takeover_ms "$t_kill")
echo "    d1's last advert -> d2's first: ${dt:-none} ms (Master_Down_Interval $MASTER_DOWN)"
check "d2 took over one Master_Down_Interval after d1's last advert ($MASTER_DOWN <= ${dt:-none} <= $((MASTER_DOWN + 100)) ms)" \
	in_range "$dt" $((MASTER_DOWN - 1)) $((MASTER_DOWN + 100))
check "no priority 0 from the killed d1" [ "$(count_pkts "$TMP/wire" "$(re_advert 198.18.0.1 51 0)" "$t_kill")" = 0 ]
check "d2 announces the VIP (gratuitous ARP)" [ -n "$(first_pkt "$TMP/wire" "$(re_garp $MAC2 $VIP)" "$t_kill")" ]

# The killed run left its VIP on d1's eth0; the next run removes it at
# start-up, as a backup, before it preempts d2.
check "the killed d1 left its VIP behind (as a dead machine would)" has_addr "$D1" eth0 $VIP
t_restart=$(now_ms)
start_director "$D1" d1 "$TMP/d1.ini" || fail "d1 restarts"
check "restarted d1 preempts d2" wait_ms 3000 state_is d1 VI_1 MASTER
check "d2 is backup again" wait_ms 2000 state_is d2 VI_1 BACKUP
t_conv=$(now_ms)
sleep 0.3
check "restarted d1 removed the stale VIP before taking over (samples with d2 alone after the restart)" \
	[ "$(count_samples "$TMP/samples" "$t_restart" "0 1")" -gt 0 ]
check "after convergence only d1 holds the VIP" always "$TMP/samples" "$t_conv" end "1 0"
stop_sampler "$SAMPLER_PID"

# 2. SIGSTOP of d1's VRRP engine: it stops advertising and keeps its VIP.
eng=$(engine_pid d1)
check "d1 has a VRRP engine process" [ -n "$eng" ]
sampler "$TMP/samples2" $VIP "$D1" "$D2"
t_stop=$(now_ms)
kill -STOP "$eng"
check "engine stopped: d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER
sleep 0.3
dt=$(takeover_ms "$t_stop")
echo "    d1's last advert -> d2's first: ${dt:-none} ms (Master_Down_Interval $MASTER_DOWN)"
check "d2 took over one Master_Down_Interval after d1's last advert ($MASTER_DOWN <= ${dt:-none} <= $((MASTER_DOWN + 100)) ms)" \
	in_range "$dt" $((MASTER_DOWN - 1)) $((MASTER_DOWN + 100))
t_cont=$(now_ms)
kill -CONT "$eng"
check "resumed: d1 (150) is master" wait_ms 3000 state_is d1 VI_1 MASTER
check "resumed: d2 (100) is backup" wait_ms 2000 state_is d2 VI_1 BACKUP
t_conv=$(now_ms)
sleep 0.5
check "still exactly one master 0.5 s later" \
	bash -c '[ "$1" = MASTER ] && [ "$2" = BACKUP ]' _ "$(state_of d1 VI_1)" "$(state_of d2 VI_1)"
check "after convergence only d1 holds the VIP" always "$TMP/samples2" "$t_conv" end "1 0"
stop_sampler "$SAMPLER_PID"
stop_capture
last2=$(last_pkt_before "$TMP/wire" "$(re_advert 198.18.0.2 51)" 99999999999999)
MASTER_DOWN_D1=341
check "d2 stopped advertising one d1 Master_Down after SIGCONT ($MASTER_DOWN_D1 ms, give or take 150)" \
	in_range "$(sub_ms "$last2" "$t_cont")" $((MASTER_DOWN_D1 - 150)) $((MASTER_DOWN_D1 + 150))
check "resumed d1 followed d2 first: a stalled yield counted" js_is d1 "I['vi_1']['stalled_yields']" 1
check "... and logged" grep -q 'vrrp VI_1: this engine was stalled and 198.18.0.2 (priority 100) took over meanwhile' "$TMP/d1.log"
check "no split brain counted on d1 (it never advertised over d2)" js_is d1 "I['vi_1']['split_brain']" 0
check "d2 yielded to an ordinary preemption (no split brain counted there)" js_is d2 "I['vi_1']['split_brain']" 0
check "the engine was not restarted (SIGSTOP is not a crash)" [ "$(js d1 "j['vrrp_engine']['restarts']")" = 0 ]
dfinish
