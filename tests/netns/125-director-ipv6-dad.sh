#!/usr/bin/env bash
# An IPv6 VRRP instance started while its interface's link-local address
# is still in duplicate address detection (as on every link that has just
# come up): the kernel refuses that address as a source (IPV6_PKTINFO:
# EINVAL), so directord waits for DAD's end instead of sending adverts it
# logged as errors ("sending an advert: Invalid argument"); once DAD is
# done the instance starts, becomes master and advertises from the
# link-local address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=2001:db8::100
switch_new
ns_new d1
D1=$NS_d1
# Three probes a second apart: DAD lasts about 3 s, longer than the start.
in_ns "$D1" sysctl -qw net.ipv6.conf.default.dad_transmits=3
dconf "$TMP/d1.ini" d1 "$(vrrp VI_6 eth0 61 150 $VIP/64)"
capture "$TMP/wire" 'ip6 proto 112' || { fail "tcpdump listens on the bridge"; dfinish; }
join "$D1" eth0 br0 02:00:00:00:01:01 198.18.0.1/24
start_director "$D1" d1 "$TMP/d1.ini" || { fail "directord starts"; dfinish; }
check "directord started while eth0's link-local address was in DAD" not ll_ready "$D1" eth0
check "status says why VI_6 waits" \
	test "$(field d1 VI_6 error)" = "waiting for duplicate address detection of the interface's link-local address"
check "d1 becomes master once DAD is done" wait_ms 10000 state_is d1 VI_6 MASTER
LL1=$(ip -n "$D1" -6 -o addr show dev eth0 scope link | awk '{ sub("/.*", "", $4); print $4 }')
adverts_seen() { [ "$(count_pkts "$TMP/wire" "$(re_advert "$LL1" 61 150)")" -gt 0 ]; }
check "it advertises from its link-local address ($LL1)" wait_ms 3000 adverts_seen
check "it said it waits for DAD, once" test "$(grep -c "VI_6: waiting for the duplicate address detection of eth0's link-local address" "$TMP/d1.log")" = 1
check "no advert failed (no 'sending an advert' error)" not grep -q "sending an advert" "$TMP/d1.log"
dfinish
