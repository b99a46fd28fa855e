#!/usr/bin/env bash
# nopreempt and preempt_delay: a higher-priority director coming back
# leaves the current master alone (preempt = no), or takes over only once
# preempt_delay has passed since its start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24 "preempt = no")"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
capture "$TMP/wire" 'vrrp' || { fail "tcpdump listens on the bridge"; dfinish; }
start_pair VI_1 || { fail "d1 (150, nopreempt) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150, nopreempt) becomes master, d2 (100) backup"
stop_director d1
check "d1 stopped: d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER

# nopreempt: d1 returns and follows the lower-priority master.
sampler "$TMP/samples" $VIP "$D1" "$D2"
t_back=$(now_ms)
start_director "$D1" d1 "$TMP/d1.ini" || fail "d1 restarts"
check "returning d1 (nopreempt) becomes backup" wait_ms 2000 state_is d1 VI_1 BACKUP
sleep 1.5	# more than four Master_Down_Intervals (342 ms at 150)
check "1.5 s later d1 is still backup" state_is d1 VI_1 BACKUP
check "... following d2 (master 198.18.0.2 at 100)" \
	[ "$(js d1 "I['vi_1']['master'], I['vi_1']['master_priority']")" = "('198.18.0.2', 100)" ]
check "... and d2 still master" state_is d2 VI_1 MASTER
check "d1 sent no advert since it came back" [ "$(count_pkts "$TMP/wire" "$(re_advert 198.18.0.1 51)" "$t_back")" = 0 ]
check "only d2 held the VIP all along" always "$TMP/samples" "$t_back" end "0 1"
stop_sampler "$SAMPLER_PID"

# preempt_delay = 2s: no preemption in the first 2 s after start-up, then
# the next advert of d2 is discarded and d1 takes over a Master_Down later.
stop_director d1
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24 "preempt_delay = 2s")"
sampler "$TMP/samples2" $VIP "$D1" "$D2"
t_start=$(now_ms)
start_director "$D1" d1 "$TMP/d1.ini" || fail "d1 restarts with preempt_delay = 2s"
sleep "$(awk -v t="$(($(now_ms) - t_start))" 'BEGIN { printf "%.3f", t < 1000 ? (1000 - t) / 1000 : 0 }')"
check "1 s after its start d1 (preempt_delay 2s) is backup" state_is d1 VI_1 BACKUP
check "... and d2 master" state_is d2 VI_1 MASTER
check "d1 takes over by 4 s after its start" wait_ms $((4000 - ($(now_ms) - t_start))) state_is d1 VI_1 MASTER
check "d2 is backup again" wait_ms 1000 state_is d2 VI_1 BACKUP
t_conv=$(now_ms)
sleep 0.3
stop_sampler "$SAMPLER_PID"
stop_capture
tp=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.1 51 150)" "$t_start")
dp=$(sub_ms "$tp" "$t_start")
echo "    d1 started -> its first advert: ${dp:-none} ms (after preempt_delay 2000, Master_Down 342 from the last advert it followed: >= 2242)"
check "d1 preempted after preempt_delay and a Master_Down (2242 <= ${dp:-none} <= 3000 ms)" in_range "$dp" 2240 3000
check "until then only d2 held the VIP" always "$TMP/samples2" "$t_start" "$tp" "0 1"
check "after the takeover only d1 holds it" always "$TMP/samples2" "$t_conv" end "1 0"
ov=$(overlap_ms "$TMP/samples2")
check "never two holders in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]
dfinish
