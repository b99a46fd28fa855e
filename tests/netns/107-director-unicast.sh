#!/usr/bin/env bash
# Unicast mode: adverts go to the listed peer only, never to 224.0.0.18;
# adverts for the same VRID from an address not on the peer list are
# dropped and counted (a stranger at priority 254 changes nothing); a
# graceful stop still hands over after Skew_Time. d2 sets
# unicast_ttl_check: adverts from the link (TTL 255) still pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
ns_new st
join "$NS_st" eth0 br0 02:00:00:00:03:01 198.18.0.3/24
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24 "unicast_peer = 198.18.0.2")"
# d2 requires TTL 255, as peers on one link may: d1's adverts have it.
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24 "unicast_src_ip = 198.18.0.2" "unicast_peer = 198.18.0.1" \
	"unicast_ttl_check = yes")"
# The stranger: same VRID, highest priority, talking to both directors
# (d2 first: adverts to the first peer are what every version gets right).
dconf "$TMP/st.ini" st "$(vrrp VI_1 eth0 51 254 198.18.0.200/24 "unicast_peer = 198.18.0.2, 198.18.0.1")"
capture "$TMP/wire" 'vrrp' || { fail "tcpdump listens on the bridge"; dfinish; }
start_pair VI_1 || { fail "unicast: d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "unicast: d1 (150) becomes master, d2 (100) backup"
sleep 0.3
check "d1 advertises to its peer 198.18.0.2" [ "$(count_pkts "$TMP/wire" ' 198\.18\.0\.1 > 198\.18\.0\.2: VRRPv3, Advertisement, vrid 51, prio 150,')" -gt 0 ]
check "nothing goes to 224.0.0.18" [ "$(count_pkts "$TMP/wire" ' > 224\.0\.0\.18: ')" = 0 ]
check "d2 follows d1 (master 198.18.0.1)" wait_ms 2000 js_is d2 "I['vi_1']['master']" 198.18.0.1
check "d2 (unicast_ttl_check) accepts d1's adverts on the link: no ttl drops" js_is d2 "I['vi_1']['drops']['ttl']" 0
tr1=$(field d1 VI_1 transitions) tr2=$(field d2 VI_1 transitions)

sampler "$TMP/samples" $VIP "$D1" "$D2"
t_st=$(now_ms)
start_director "$NS_st" st "$TMP/st.ini" || fail "the stranger starts"
check "the stranger (hearing nobody) becomes master and advertises at 254 to both directors" \
	wait_ms 3000 bash -c "[ \$(grep -c ' 198\.18\.0\.3 > 198\.18\.0\.[12]: VRRPv3, Advertisement, vrid 51, prio 254,' $TMP/wire) -ge 10 ]"
check "d2 drops the stranger's adverts, counted as drops.peer" wait_ms 1000 js_gt d2 "I['vi_1']['drops']['peer']" 0
check "d1 drops them too (as drops.peer)" wait_ms 1000 js_gt d1 "I['vi_1']['drops']['peer']" 0
echo "    drops counted by d1 (the stranger's second peer): $(js d1 "{k: v for k, v in I['vi_1']['drops'].items() if v}")"
check "adverts to the second unicast peer carry a valid checksum (d1 counts no checksum drops)" \
	js_is d1 "I['vi_1']['drops']['checksum']" 0
check "d1 is still master, with no transition" js_is d1 "I['vi_1']['state'], I['vi_1']['transitions']" "('MASTER', $tr1)"
check "d2 is still backup, with no transition, following d1" \
	js_is d2 "I['vi_1']['state'], I['vi_1']['transitions'], I['vi_1']['master']" "('BACKUP', $tr2, '198.18.0.1')"
check "only d1 held the VIP while the stranger talked" always "$TMP/samples" "$t_st" end "1 0"

# Graceful stop in unicast mode, with the stranger still talking.
t_stop=$(now_ms)
stop_director d1
check "d1 stopped: d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER
sleep 1
check "d2 stays master for 1 s with the stranger at 254 still talking to it" state_is d2 VI_1 MASTER
check "d2 made exactly one more transition" js_is d2 "I['vi_1']['transitions']" $((tr2 + 1))
stop_sampler "$SAMPLER_PID"
stop_capture
t0=$(first_pkt "$TMP/wire" ' 198\.18\.0\.1 > 198\.18\.0\.2: VRRPv3, Advertisement, vrid 51, prio 0,' "$t_stop")
t1=$(first_pkt "$TMP/wire" ' 198\.18\.0\.2 > 198\.18\.0\.1: VRRPv3, Advertisement, vrid 51, prio 100,' "${t0:-$t_stop}")
dt=$(sub_ms "$t1" "$t0")
echo "    unicast priority 0 from d1 -> first advert of d2: ${dt:-none} ms (Skew_Time 61)"
check "d1 sent its priority 0 to its peer" [ -n "$t0" ]
check "d2 took over after Skew_Time (61 <= ${dt:-none} <= 200 ms), advertising to its peer" in_range "$dt" 60 200
check "still nothing to 224.0.0.18" [ "$(count_pkts "$TMP/wire" ' > 224\.0\.0\.18: ')" = 0 ]
dfinish
