#!/usr/bin/env bash
# The master's link goes down: its instance enters Fault and gives up the
# VIP, the backup takes over after Master_Down (no priority 0 can leave a
# dead link); the link back up ends the Fault, and the recovered director
# preempts again.
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
sampler "$TMP/samples" $VIP "$D1" "$D2"
sleep 0.2

t_down=$(now_ms)
ip -n "$D1" link set eth0 down
check "d1 enters FAULT" wait_ms 2000 state_is d1 VI_1 FAULT
check "d1 removed the VIP from its down link" wait_ms 1000 not has_addr "$D1" eth0 $VIP
check "d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER
t_conv1=$(now_ms)
check "d1 logs the link state" grep -q 'vrrp VI_1: eth0 is down' "$TMP/d1.log"
sleep 0.5
check "d1 stays in FAULT while the link is down" state_is d1 VI_1 FAULT

t_up=$(now_ms)
ip -n "$D1" link set eth0 up
check "link up: d1 leaves FAULT and preempts d2" wait_ms 3000 state_is d1 VI_1 MASTER
check "d2 is backup again" wait_ms 2000 state_is d2 VI_1 BACKUP
t_conv2=$(now_ms)
sleep 0.5
stop_sampler "$SAMPLER_PID"
stop_capture

t_new=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.2 51 100)" "$t_down")
t_last=$(last_pkt_before "$TMP/wire" "$(re_advert 198.18.0.1 51 150)" "${t_new:-0}")
dt=$(sub_ms "$t_new" "$t_last")
echo "    d1's last advert -> d2's first: ${dt:-none} ms (Master_Down_Interval $MASTER_DOWN)"
check "d2 took over one Master_Down_Interval after d1's last advert ($MASTER_DOWN <= ${dt:-none} <= $((MASTER_DOWN + 100)) ms)" \
	in_range "$dt" $((MASTER_DOWN - 1)) $((MASTER_DOWN + 100))
check "d2 announced the VIP" [ -n "$(first_pkt "$TMP/wire" "$(re_garp $MAC2 $VIP)" "$t_down")" ]
check "d1 announced the VIP again after the link came back" [ -n "$(first_pkt "$TMP/wire" "$(re_garp $MAC1 $VIP)" "$t_up")" ]
check "while d1 was in FAULT only d2 held the VIP" always "$TMP/samples" "$t_conv1" "$t_up" "0 1"
check "after recovery only d1 holds it" always "$TMP/samples" "$t_conv2" end "1 0"
ov=$(overlap_ms "$TMP/samples")
check "never two holders in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]
# INIT->BACKUP->MASTER, ->FAULT, ->BACKUP->MASTER
check "d1 made exactly 5 transitions" [ "$(field d1 VI_1 transitions)" = 5 ]
dfinish
