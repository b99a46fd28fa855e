#!/usr/bin/env bash
# The routing half of announced services (issue 12), with the routes that
# directord makes added by hand (no IPVS needed): three directors announce
# a VIP by BGP, BIRD's (d1, d3) and FRR's (d2) director recipes export
# exactly the VIP routes (table 222, protocol 222, and the VIP on lo) and
# nothing else; two upstream routers, BIRD (rt) and FRR (rt2), each install
# one multipath route with a next hop per announcing director and spread
# flows by their L4 hash; a withdrawn route takes its next hop away at
# once; a director that dies is dropped: at once when its routing daemon
# is killed (the kernel closes its BGP sessions), within BFD's 300 ms when
# its link is cut and BFD runs, within the BGP hold time when it does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"
. "$(dirname "$0")/routing-lib.sh"

T=140-announce-routing
have_routing_daemons || { skip "$T: needs BIRD 2 (bird2) and FRR (frr): apt-get install bird2 frr"; exit 0; }

VIP=198.18.1.1 VIP2=198.18.1.2
A_rt=198.18.0.1 A_d1=198.18.0.2 A_d2=198.18.0.3 A_d3=198.18.0.4 A_rt2=198.18.0.5
# d1 (BIRD) and d2 (FRR) with BFD to both routers, d3 (BIRD) without.
ROUTERS_BFD="$A_rt:65000:bfd $A_rt2:65010:bfd"
ROUTERS_NOBFD="$A_rt:65000 $A_rt2:65010"
DIRS="$A_d1:65001:bfd $A_d2:65002:bfd $A_d3:65003"

switch_new
i=0
for n in rt d1 d2 d3 rt2; do
	i=$((i + 1))
	ns_new "$n"
	a=A_$n
	join "$TEST_ID-$n" eth0 br0 "$(printf '02:00:00:00:%02x:01' "$i")" "${!a}/24"
done
for n in rt rt2; do
	ns=NS_$n
	in_ns "${!ns}" sysctl -qw net.ipv4.fib_multipath_hash_policy=1 net.ipv4.ip_forward=1
done

# What must never be exported, on every director: a protocol-222 route in
# the main table and in table 223, another protocol's route in table 222,
# an address on lo outside the VIPs (a loopback router id), the LAN.
for n in d1 d2 d3; do
	ns=NS_$n
	ip -n "${!ns}" route add 198.18.2.0/24 dev lo proto 222
	ip -n "${!ns}" route add 198.18.2.1/32 dev lo table 223 proto 222 scope link
	ip -n "${!ns}" route add 198.18.1.99/32 dev lo table 222 proto 99 scope link
	ip -n "${!ns}" addr add 198.18.3.1/32 dev lo
	announce_by_hand "${!ns}" "$VIP"
done
announce_by_hand "$NS_d1" "$VIP2"

bird_start "$NS_d1" d1 "$(bird_director_conf $A_d1 65001 $ROUTERS_BFD)" || { fail "$T: BIRD on d1 starts"; dfinish; }
frr_start "$NS_d2" d2 "$(frr_director_conf $A_d2 65002 $ROUTERS_BFD)" || { fail "$T: FRR on d2 starts"; dfinish; }
bird_start "$NS_d3" d3 "$(bird_director_conf $A_d3 65003 $ROUTERS_NOBFD)" || { fail "$T: BIRD on d3 starts"; dfinish; }
bird_start "$NS_rt" rt "$(bird_router_conf $A_rt 65000 $DIRS)" || { fail "$T: BIRD on rt starts"; dfinish; }
frr_start "$NS_rt2" rt2 "$(frr_router_conf $A_rt2 65010 $DIRS)" || { fail "$T: FRR on rt2 starts"; dfinish; }

ALL3="$A_d1 $A_d2 $A_d3"
# learnt NS: the prefixes a router's routing daemon put in its kernel.
learnt() { ip -n "$1" -o route show proto "$2" | awk '{ print $1 }' | LC_ALL=C sort | paste -sd' '; }
learnt_is() { [ "$(learnt "$1" "$2")" = "$3" ]; }

check "$T: rt (BIRD) has one route to $VIP with a next hop per director" wait_until 30 nexthops_are "$NS_rt" "$VIP" "$ALL3"
check "$T: rt2 (FRR) has one route to $VIP with a next hop per director" wait_until 30 nexthops_are "$NS_rt2" "$VIP" "$ALL3"
echo "    rt:  $(ip -n "$NS_rt" -o route show "$VIP")"
echo "    rt2: $(ip -n "$NS_rt2" -o route show "$VIP")"
check "$T: $VIP2 (announced by d1 alone) goes to d1 on both routers" \
	wait_until 10 eval 'nexthops_are "$NS_rt" "$VIP2" "$A_d1" && nexthops_are "$NS_rt2" "$VIP2" "$A_d1"'
# Wait until every session is up and has sent what it has before saying
# what was not exported.
sleep 2
check "$T: rt learnt exactly the announced VIPs by BGP (not the decoys)" learnt_is "$NS_rt" bird "$VIP $VIP2"
check "$T: rt2 learnt exactly the announced VIPs by BGP (not the decoys)" learnt_is "$NS_rt2" bgp "$VIP $VIP2"
echo "    rt: $(learnt "$NS_rt" bird); rt2: $(learnt "$NS_rt2" bgp)"
# The directors' own view, before any filter of the routers: what each
# sends to rt.
bird_sent() { birdc "$1" show route export "up_${A_rt//./_}" | grep -oE '^[0-9.]+/[0-9]+' | LC_ALL=C sort | paste -sd' '; }
frr_sent() { vtysh_in "$1" -c "show bgp ipv4 unicast neighbors $A_rt advertised-routes" | grep -oE '^\*> +[0-9.]+/[0-9]+' | awk '{ print $2 }' | LC_ALL=C sort | paste -sd' '; }
check "$T: d1 (BIRD) sends exactly $VIP/32 $VIP2/32" test "$(bird_sent d1)" = "$VIP/32 $VIP2/32"
check "$T: d2 (FRR) sends exactly $VIP/32" test "$(frr_sent d2)" = "$VIP/32"
check "$T: d3 (BIRD) sends exactly $VIP/32" test "$(bird_sent d3)" = "$VIP/32"
echo "    d1 sends: $(bird_sent d1); d2: $(frr_sent d2); d3: $(bird_sent d3)"

# FRR's own table recipe, seen as it is: the route of table 222 is
# imported but not selected beside the VIP's connected /32, so it would
# not be redistributed (hence the connected recipe above).
vtysh_in d2 -c "configure terminal" -c "ip import-table $ANNOUNCE_TABLE" >/dev/null
wait_until 5 eval 'vtysh_in d2 -c "show ip route $VIP/32" | grep -q "table\[$ANNOUNCE_TABLE\]"'
echo "    note: FRR with ip import-table $ANNOUNCE_TABLE: $(vtysh_in d2 -c "show ip route $VIP/32" | grep -E 'Known via' | paste -sd' ' | tr -s ' ')"

# The L4 hash: 60 source ports spread over the three next hops (seen by
# the kernel's own lookup in each router).
spread() {
	local ns=$1 sp
	for sp in $(seq 20000 20059); do
		ip -n "$ns" route get "$VIP" from 198.18.0.200 iif eth0 ipproto tcp sport "$sp" dport 80 2>/dev/null |
			grep -oE 'via [0-9.]+' | awk '{ print $2 }'
	done | LC_ALL=C sort | uniq -c | awk '{ printf "%s%s:%s", sep, $2, $1; sep = " " }'
}
for n in rt rt2; do
	ns=NS_$n
	s=$(spread "${!ns}")
	echo "    $n: 60 source ports to $VIP:80 -> $s"
	check "$T: $n spreads flows over the three directors by source port" test "$(wc -w <<<"$s")" = 3
done

# time_until MS_LIMIT cmd...: ms until cmd succeeds (empty on timeout).
time_until() {
	local t0 limit=$1; shift
	t0=$(now_ms)
	wait_ms "$limit" "$@" && echo $(($(now_ms) - t0))
}
both_are() { nexthops_are "$NS_rt" "$VIP" "$1" && nexthops_are "$NS_rt2" "$VIP" "$1"; }

# A withdrawn route (what directord does on quorum loss or drain).
withdraw_by_hand "$NS_d2" "$VIP"
ms=$(time_until 5000 both_are "$A_d1 $A_d3")
check "$T: d2's route withdrawn (FRR) -> its next hop gone from both routers within 5 s (${ms:-never} ms)" test -n "$ms"
announce_by_hand "$NS_d2" "$VIP"
ms=$(time_until 10000 both_are "$ALL3")
check "$T: announced again -> back on both routers within 10 s (${ms:-never} ms)" test -n "$ms"
withdraw_by_hand "$NS_d1" "$VIP"
ms=$(time_until 5000 both_are "$A_d2 $A_d3")
check "$T: d1's route withdrawn (BIRD) -> its next hop gone from both routers within 5 s (${ms:-never} ms)" test -n "$ms"
check "$T: d1 still announces $VIP2 (only the withdrawn route went)" nexthops_are "$NS_rt" "$VIP2" "$A_d1"
announce_by_hand "$NS_d1" "$VIP"
ms=$(time_until 10000 both_are "$ALL3")
check "$T: announced again -> back on both routers within 10 s (${ms:-never} ms)" test -n "$ms"

# A director dies. Its routing daemon SIGKILLed: the kernel resets its
# TCP sessions, the routers drop it at once, BFD or not.
routing_kill d3
ms=$(time_until 5000 both_are "$A_d1 $A_d2")
check "$T: d3's BIRD SIGKILLed (no BFD) -> dropped within 5 s (${ms:-never} ms)" test -n "$ms"
bird_start "$NS_d3" d3 "$(bird_director_conf $A_d3 65003 $ROUTERS_NOBFD)" || fail "$T: BIRD on d3 starts again"
ms=$(time_until 20000 both_are "$ALL3")
check "$T: d3's BIRD started again -> back within 20 s (${ms:-never} ms)" test -n "$ms"

# link_cut N: the director's link is gone (its switch port down): nothing
# more from it, no reset either, as a crashed machine or a cut cable.
link_cut() { ip -n "$SW" link set "$1-eth0" down; }
link_back() { ip -n "$SW" link set "$1-eth0" up; }
# The link cut, with BFD (d1 to both routers).
link_cut d1
ms=$(time_until 3000 both_are "$A_d2 $A_d3")
check "$T: d1's link cut, BFD 100 ms x 3 -> dropped within 1.5 s (${ms:-never} ms)" in_range "${ms:-99999}" 0 1500
BFD_MS=$ms
link_back d1
ms=$(time_until 20000 both_are "$ALL3")
check "$T: d1's link back -> announced again within 20 s (${ms:-never} ms)" test -n "$ms"
# FRR on the director's side of BFD (d2).
link_cut d2
ms=$(time_until 3000 both_are "$A_d1 $A_d3")
check "$T: d2's link cut, BFD (FRR director) -> dropped within 1.5 s (${ms:-never} ms)" in_range "${ms:-99999}" 0 1500
link_back d2
wait_until 20 both_are "$ALL3" || fail "$T: d2's link back -> announced again"
# Without BFD (d3): the BGP hold time.
link_cut d3
ms=$(time_until $(((ROUTING_HOLD + 3) * 1000)) both_are "$A_d1 $A_d2")
check "$T: d3's link cut, no BFD -> dropped after the hold time, ${ROUTING_HOLD} s (${ms:-never} ms)" \
	in_range "${ms:-0}" $(((ROUTING_HOLD - ROUTING_KEEPALIVE - 1) * 1000)) $(((ROUTING_HOLD + 2) * 1000))
NOBFD_MS=$ms
link_back d3
echo "    failover seen by the routers: link cut with BFD ${BFD_MS:-?} ms, without (hold ${ROUTING_HOLD} s) ${NOBFD_MS:-?} ms"
check "$T: every director back on both routers" wait_until 30 both_are "$ALL3"

dfinish
