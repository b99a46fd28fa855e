#!/usr/bin/env bash
# Election and preemption between two directord: the higher priority
# holds the VIP; a graceful stop (priority 0) hands over after Skew_Time,
# well before Master_Down; the old master coming back waits Master_Down
# and preempts. The VIP is never held twice once a transition is over.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
capture "$TMP/wire" 'vrrp or arp' || { fail "tcpdump listens on the bridge"; dfinish; }
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup"
check "d1 holds the VIP" has_addr "$D1" eth0 $VIP
check "d2 does not hold it" not has_addr "$D2" eth0 $VIP
# d2 is Backup from its start; it knows the master from the first advert on
follows_d1() { [ "$(js d2 "I['vi_1']['master'], I['vi_1']['master_priority']")" = "('198.18.0.1', 150)" ]; }
check "d2 follows d1 (master 198.18.0.1 at 150)" wait_ms 2000 follows_d1

sampler "$TMP/samples" $VIP "$D1" "$D2"
sleep 0.3

# Graceful stop: priority 0, d2 takes over after its Skew_Time (61 ms).
t_stop=$(now_ms)
check "d1 stops on SIGTERM" stop_director d1
check "d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER
t_conv1=$(now_ms)
sleep 0.5

# d1 comes back: a backup first, it discards d2's lower adverts and takes
# over when its Master_Down_Interval (342 ms at 150) runs out.
t_restart=$(now_ms)
start_director "$D1" d1 "$TMP/d1.ini" || fail "d1 restarts"
check "d1 preempts d2 again" wait_ms 3000 state_is d1 VI_1 MASTER
check "d2 is backup again" wait_ms 2000 state_is d2 VI_1 BACKUP
t_conv2=$(now_ms)
sleep 0.5
stop_sampler "$SAMPLER_PID"
stop_capture

# On the wire.
t0=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.1 51 0)")
t1=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.2 51 100)" "$t0")
tg=$(first_pkt "$TMP/wire" "$(re_garp $MAC2 $VIP)" "$t0")
dt=$(sub_ms "$t1" "$t0")
echo "    priority 0 from d1 -> first advert of d2: ${dt:-none} ms (Skew_Time 61, Master_Down 361)"
check "d1 sent priority 0 when stopping" [ -n "$t0" ]
check "d2 took over after Skew_Time, well under Master_Down (61 <= ${dt:-none} <= 200 ms)" in_range "$dt" 60 200
check "d2's gratuitous ARP follows its first advert within 20 ms" in_range "$(sub_ms "$tg" "$t1")" 0 20
tp=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.1 51 150)" "$t_restart")
dp=$(sub_ms "$tp" "$t_restart")
echo "    d1 restarted -> its first advert: ${dp:-none} ms (Master_Down 342 + start-up)"
check "returning d1 waits Master_Down before preempting (342 <= ${dp:-none} <= 1500 ms)" in_range "$dp" 342 1500
check "returning d1 announces the VIP" [ -n "$(first_pkt "$TMP/wire" "$(re_garp $MAC1 $VIP)" "$t_restart")" ]
check "d2 sends no advert 20 ms after d1's first" \
	[ "$(count_pkts "$TMP/wire" "$(re_advert 198.18.0.2 51)" "$(add_ms "$tp" 20)")" = 0 ]

# The VIP, sampled every 20 ms.
check "before the stop: only d1 holds the VIP" always "$TMP/samples" 0 "$t_stop" "1 0"
check "after d2 took over: only d2 holds it" always "$TMP/samples" "$t_conv1" "$t_restart" "0 1"
check "after d1 preempted: only d1 holds it" always "$TMP/samples" "$t_conv2" end "1 0"
ov=$(overlap_ms "$TMP/samples")
check "never two holders in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]

# No flapping: d2 went INIT->BACKUP->MASTER->BACKUP, the new d1 INIT->BACKUP->MASTER.
check "d2 made exactly 3 transitions" [ "$(field d2 VI_1 transitions)" = 3 ]
check "restarted d1 made exactly 2 transitions" [ "$(field d1 VI_1 transitions)" = 2 ]
dfinish
