#!/usr/bin/env bash
# Unicast peers on two subnets with a router between them: the adverts
# arrive with TTL 254 and are accepted (as keepalived does), the backup
# follows the master, and a graceful stop hands over. With
# unicast_ttl_check = yes the same adverts are dropped (counted as ttl,
# logged) and the backup, hearing no master, takes over; without it again
# they are accepted. Multicast adverts that crossed nothing still need
# TTL 255 (the other tests).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.5.100
ns_new d1
ns_new d2
ns_new rt
D1=$NS_d1 D2=$NS_d2 RT=$NS_rt
# veth_to NS IFNAME ADDR RTIF RTADDR: NS's IFNAME to the router's RTIF.
veth_to() {
	local t="v$TEST_ID"
	ip -n "$RT" link add "$4" type veth peer name "$t"
	ip -n "$RT" link set "$t" netns "$1"
	ip -n "$1" link set "$t" name "$2"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$RT" addr add "$5" dev "$4"
	ip -n "$1" link set "$2" up
	ip -n "$RT" link set "$4" up
}
veth_to "$D1" eth0 198.18.0.1/24 eth1 198.18.0.254/24
veth_to "$D2" eth0 198.18.1.2/24 eth2 198.18.1.254/24
ip -n "$D1" route add default via 198.18.0.254
ip -n "$D2" route add default via 198.18.1.254
in_ns "$RT" sysctl -qw net.ipv4.ip_forward=1	# the router namespace's own setting

dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/32 "unicast_peer = 198.18.1.2")"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/32 "unicast_peer = 198.18.0.1")"
start_pair VI_1 || { fail "across the router: d1 (150) master, d2 (100) backup"; dfinish; }
pass "across the router: d1 (150) master, d2 (100) backup"
check "d2 follows d1 (master 198.18.0.1, priority 150)" \
	wait_ms 2000 js_is d2 "I['vi_1']['master'], I['vi_1']['master_priority']" "('198.18.0.1', 150)"
check "d2 counts no drops (TTL 254 accepted)" js_is d2 "sum(I['vi_1']['drops'].values())" 0
check "d2 receives d1's adverts" wait_ms 2000 js_gt d2 "I['vi_1']['rx']" 5
wire=$(timeout 5 ip netns exec "$D2" tcpdump -l -n -v -c 2 -i eth0 'ip proto 112 and src 198.18.0.1' 2>/dev/null)
echo "$wire" | head -2 | sed 's/^/    | /'
check "on d2's link they arrive with TTL 254 (one router crossed)" grep -q 'ttl 254' <<<"$wire"
tr2=$(field d2 VI_1 transitions)
sleep 1
check "no election for a second: d2 still backup, same transitions" \
	js_is d2 "I['vi_1']['state'], I['vi_1']['transitions']" "('BACKUP', $tr2)"

dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/32 "unicast_peer = 198.18.0.1" "unicast_ttl_check = yes")"
check "d2 reloads with unicast_ttl_check = yes" ctl d2 reload
check "... d1's adverts (TTL 254) are dropped, counted as drops.ttl" wait_ms 2000 js_gt d2 "I['vi_1']['drops']['ttl']" 3
check "... so d2 hears no master and takes over (both master: the check is for peers on the link)" \
	wait_ms 3000 state_is d2 VI_1 MASTER
check "... and d2 logs why" grep -q "advert from 198.18.0.1 with TTL 254 dropped (unicast_ttl_check" "$TMP/d2.log"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/32 "unicast_peer = 198.18.0.1")"
check "d2 reloads without it" ctl d2 reload
ttl=$(js d2 "I['vi_1']['drops']['ttl']")
check "... TTL 254 is accepted again: d2 back to backup, following d1" \
	wait_ms 3000 js_is d2 "I['vi_1']['state'], I['vi_1']['master']" "('BACKUP', '198.18.0.1')"
sleep 0.5
check "... no more ttl drops" js_is d2 "I['vi_1']['drops']['ttl']" "$ttl"
stop_director d1 || fail "d1 stops"
check "d1's priority 0 crossed the router: d2 takes over" wait_ms 2000 state_is d2 VI_1 MASTER
check "d2 holds the VIP" wait_ms 1000 has_addr "$D2" eth0 $VIP
dfinish
