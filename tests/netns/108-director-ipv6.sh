#!/usr/bin/env bash
# IPv6 (VRRPv3): adverts from the link-local address to ff02::12, the VIP
# 2001:db8::100/64 on the master, failover on a graceful stop announced
# by an unsolicited neighbour advertisement from the new master, and
# preemption when the old master returns.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=2001:db8::100
two_directors
check "d1's link-local address is usable (DAD done)" wait_until 10 ll_ready "$D1" eth0
check "d2's link-local address is usable (DAD done)" wait_until 10 ll_ready "$D2" eth0
LL1=$(ip -n "$D1" -6 -o addr show dev eth0 scope link | awk '{ sub("/.*", "", $4); print $4 }')
LL2=$(ip -n "$D2" -6 -o addr show dev eth0 scope link | awk '{ sub("/.*", "", $4); print $4 }')
dconf "$TMP/d1.ini" d1 "$(vrrp VI_6 eth0 61 150 $VIP/64)"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_6 eth0 61 100 $VIP/64)"
capture "$TMP/wire" 'ip6 proto 112 or icmp6' || { fail "tcpdump listens on the bridge"; dfinish; }
WIRE_PID=$CAPTURE_PID
# Neighbour advertisements alone (ICMPv6 type 136), decoded in full.
capture "$TMP/na" 'icmp6 and ip6[40] == 136' -v || { fail "tcpdump listens for neighbour advertisements"; dfinish; }
start_pair VI_6 || { fail "d1 (150) becomes master, d2 (100) backup over IPv6"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup over IPv6"
check "d1 holds $VIP/64" has_addr "$D1" eth0 $VIP
check "d2 does not" not has_addr "$D2" eth0 $VIP
check "d2 follows d1's link-local address ($LL1)" wait_ms 2000 js_is d2 "I['vi_6']['master']" "$LL1"
check "d1 advertises from its link-local address to ff02::12" \
	[ "$(count_pkts "$TMP/wire" " $LL1 > ff02::12: VRRPv3, Advertisement, vrid 61, prio 150,")" -gt 0 ]
check "d1 announced the VIP: unsolicited NA to ff02::1 from its MAC" \
	[ "$(count_pkts "$TMP/wire" "^[0-9.]+ $MAC1 > 33:33:00:00:00:01, .* > ff02::1: ICMP6, neighbor advertisement, tgt is $VIP,")" -gt 0 ]

sampler "$TMP/samples" $VIP "$D1" "$D2"
t_stop=$(now_ms)
stop_director d1
check "d1 stopped: d2 becomes master" wait_ms 2000 state_is d2 VI_6 MASTER
t_conv1=$(now_ms)
check "d2 holds $VIP/64" has_addr "$D2" eth0 $VIP
sleep 0.3
t_back=$(now_ms)
start_director "$D1" d1 "$TMP/d1.ini" || fail "d1 restarts"
check "returning d1 preempts" wait_ms 3000 state_is d1 VI_6 MASTER
check "d2 is backup again" wait_ms 2000 state_is d2 VI_6 BACKUP
t_conv2=$(now_ms)
sleep 0.3
stop_sampler "$SAMPLER_PID"
stop_capture
stop_sampler "$WIRE_PID"

t0=$(first_pkt "$TMP/wire" " $LL1 > ff02::12: VRRPv3, Advertisement, vrid 61, prio 0," "$t_stop")
t1=$(first_pkt "$TMP/wire" " $LL2 > ff02::12: VRRPv3, Advertisement, vrid 61, prio 100," "${t0:-$t_stop}")
tn=$(first_pkt "$TMP/wire" "^[0-9.]+ $MAC2 > 33:33:00:00:00:01, .* > ff02::1: ICMP6, neighbor advertisement, tgt is $VIP," "${t0:-$t_stop}")
dt=$(sub_ms "$t1" "$t0")
echo "    priority 0 from d1 -> first advert of d2: ${dt:-none} ms (Skew_Time 61)"
check "d1 sent priority 0 from its link-local address" [ -n "$t0" ]
check "d2 took over after Skew_Time (61 <= ${dt:-none} <= 200 ms)" in_range "$dt" 60 200
check "d2's unsolicited NA for $VIP (icmp6 type 136) is on the wire within 20 ms of its first advert" \
	in_range "$(sub_ms "$tn" "$t1")" 0 20
na=$(grep -A1 "^[0-9.]* $MAC2 > 33:33:00:00:00:01, .*hlim 255, .* $LL2 > ff02::1: \[icmp6 sum ok\] ICMP6, neighbor advertisement, length 32, tgt is $VIP, Flags \[override\]$" "$TMP/na")
check "d2's NA: hop limit 255, valid checksum, override flag, from its link-local address" [ -n "$na" ]
check "d2's NA carries d2's MAC as the target link-layer address" grep -q "link-address option (2), length 8 (1): $MAC2$" <<<"$na"
check "after d2 took over only d2 held the VIP" always "$TMP/samples" "$t_conv1" "$t_back" "0 1"
check "after d1 came back only d1 holds it" always "$TMP/samples" "$t_conv2" end "1 0"
ov=$(overlap_ms "$TMP/samples")
check "never two holders in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]
dfinish
