#!/usr/bin/env bash
# A VIP is never the source of anyone's own traffic, and a real server
# keeps quiet about the VIP on the segment (no IPVS needed).
#
# The director: with an IPv6 VIP on its interface, source address
# selection (RFC 6724) found the VIP and the director's own address equal
# and took the newer one, the VIP; a check to a real server that has the
# VIP on lo then left from the VIP, the real server answered its own
# loopback and every check timed out. directord adds IPv6 VIPs deprecated
# (preferred_lft 0), so rule 3 passes them over. IPv4 VIPs are secondary
# addresses (or primaries of a subnet of their own) and never become the
# source of a route to the segment or through its gateway.
#
# The real server: rs-agent's VIPs on lo (/32, /128 nodad deprecated) are
# never the source of its own traffic, and the kernel answers a neighbour
# solicitation only for an address on the interface it came in on (or a
# proxy entry, or an anycast address there: ndisc_recv_ns), so nothing
# needs to be set for IPv6 what arp_ignore/arp_announce do for IPv4; the
# test shows a proxy-NDP entry would break that, and that `rs-agent check`
# (and so the agent's report) says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP4=198.18.0.100 VIP4B=198.19.5.100 VIP6=2001:db8::100
D6=2001:db8::1 D6B=2001:db8::3 RS6=2001:db8::11 CL6=2001:db8::50
switch_new
ns_new d1
ns_new rs
ns_new cl
D1=$NS_d1 RS=$NS_rs CL=$NS_cl
MAC_RS=02:00:00:00:03:01
join "$D1" eth0 br0 02:00:00:00:01:01 198.18.0.1/24
join "$RS" eth0 br0 $MAC_RS 198.18.0.11/24
join "$CL" eth0 br0 02:00:00:00:05:01 198.18.0.50/24
ip -n "$D1" addr add $D6/64 dev eth0 nodad
# A second address of d1's own, newer: the kernel's choice of source;
# check_source = $D6 makes the checks leave from the first.
ip -n "$D1" addr add $D6B/64 dev eth0 nodad
ip -n "$RS" addr add $RS6/64 dev eth0 nodad
ip -n "$CL" addr add $CL6/64 dev eth0 nodad
# Traffic beyond the segment, through its gateway (none answers: only
# the chosen source is read).
ip -n "$D1" route add 192.0.2.0/24 via 198.18.0.254
ip -n "$D1" -6 route add 2001:db8:ff::/48 via 2001:db8::fe
ip -n "$RS" route add 192.0.2.0/24 via 198.18.0.254
ip -n "$RS" -6 route add 2001:db8:ff::/48 via 2001:db8::fe

# src_of NS DST: the source address the kernel picks for NS's traffic to DST.
src_of() { ip -n "$1" -o route get "$2" | sed -n 's/.* src \([^ ]*\).*/\1/p'; }
# own_sources WHO NS SRC4 SRC6 DST...: NS's own traffic to each DST leaves
# from SRC4 (an IPv4 DST) or SRC6, its own addresses, never a VIP.
own_sources() {
	local who=$1 ns=$2 s4=$3 s6=$4 dst s; shift 4
	for dst in "$@"; do
		s=$(src_of "$ns" "$dst")
		check "$who: its own traffic to $dst leaves from its own address, not a VIP (src ${s:-none})" \
			[ "$s" = "$([ "${dst#*:}" = "$dst" ] && echo "$s4" || echo "$s6")" ]
	done
}
# deprecated_nodad WHO NS DEV ADDR/LEN: that IPv6 VIP is deprecated
# (preferred_lft 0) and nodad.
deprecated_nodad() {
	check "$1: the IPv6 VIP on $3 is deprecated (preferred_lft 0) and nodad" \
		bash -c "ip -n '$2' -6 addr show dev '$3' | grep -A1 ' $4 ' | grep -q 'nodad deprecated'"
}

# The real server: rs-agent's VIPs on lo
# and its agent answering the director over IPv6.
write_rs_config "$TMP/rs.ini" rs "$VIP4, $VIP6" "[agent]" "listen = [::]:5555" "allow = $D6"
start_agent "$RS" "$TMP/rs.ini" "$TMP/rs.log" || { fail "rs-agent starts"; dfinish; }
check "rs: the IPv6 VIP is on lo" has_addr "$RS" lo $VIP6
deprecated_nodad rs "$RS" lo "$VIP6/128"
own_sources rs "$RS" 198.18.0.11 "$RS6" 198.18.0.50 192.0.2.7 "$CL6" 2001:db8:ff::7

dconf "$TMP/d1.ini" d1 "$(vrrp VI_4 eth0 51 150 "$VIP4/24, $VIP4B/24")" "$(vrrp VI_6 eth0 61 150 $VIP6/64)" \
	"[virtual_server web6]" "address = [$VIP6]:80" "vrrp = VI_6" "check = http, agent" \
	"check_interval = 300ms" "agent_port = 5555" "check_source = $D6" "real_servers = [$RS6]:80"
check "d1's link-local address is usable (DAD done)" wait_until 10 ll_ready "$D1" eth0
start_director "$D1" d1 "$TMP/d1.ini" || { fail "directord starts"; dfinish; }
check "d1 becomes master of VI_6" wait_ms 3000 state_is d1 VI_6 MASTER
check "d1 becomes master of VI_4" wait_ms 3000 state_is d1 VI_4 MASTER
check "d1 holds $VIP6" has_addr "$D1" eth0 $VIP6
deprecated_nodad d1 "$D1" eth0 "$VIP6/64"
own_sources d1 "$D1" 198.18.0.1 "$D6B" 198.18.0.11 192.0.2.7 "$RS6" 2001:db8:ff::7
# The real server's service only from now on: a check that passes went
# out with the VIP on d1's interface.
bg_in "$RS" "$TMP/http.log" "$PY" -c '
import http.server, socket
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
S(("::", 80), http.server.SimpleHTTPRequestHandler).serve_forever()'
RSJ="[r for v in j['lvs']['virtual_servers'] if v['name'] == 'web6' for r in v['real_servers']][0]"
check "d1: the http check of [$RS6]:80 passes" wait_ms 5000 js_is d1 "$RSJ['check']['up']" True
check "d1: the agent of $RS6 answers up" wait_ms 5000 js_is d1 "$RSJ['agent']['reachable']" True
check "d1: the real server is up" wait_ms 3000 js_is d1 "$RSJ['state']" up
wait_ms 3000 grep -q "^$D6 .*GET" "$TMP/http.log"
froms=$(awk '/"GET / { print $1 }' "$TMP/http.log" | sort | uniq -c | awk '{ print $2 " x" $1 }' | paste -sd, -)
check "d1: every check came from check_source ($D6), none from the kernel's choice ($D6B): ${froms:-none}" \
	[ "${froms% x*}" = "$D6" ]
in_ns "$RS" "$RS_AGENT" -f "$TMP/rs.ini" drain >/dev/null
check "d1: drained through its agent over IPv6, weight 0" wait_ms 5000 js_is d1 "$RSJ['agent']['reply']" drain
in_ns "$RS" "$RS_AGENT" -f "$TMP/rs.ini" ready >/dev/null

# solicit: the client sends a datagram to the VIP, on the link, which
# makes it solicit the VIP's address (up to 3 times, 1 s apart).
solicit() {
	in_ns "$CL" "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b"x", (sys.argv[1], 9))
time.sleep(1.5)' $VIP6
}

# The segment without a director holding the VIP: a client asking for it
# gets no neighbour advertisement from the real server.
ctl d1 status --json > "$TMP/status.json"
stop_director d1
check "d1 stopped: the VIP is gone from d1" not has_addr "$D1" eth0 $VIP6
capture "$TMP/nd" 'icmp6 and (ip6[40] == 135 or ip6[40] == 136)' || { fail "tcpdump listens on the bridge"; dfinish; }
solicit
stop_capture
check "the client solicited $VIP6" [ "$(count_pkts "$TMP/nd" "neighbor solicitation, who has $VIP6")" -gt 0 ]
check "rs (VIP on lo) sent no neighbour advertisement for $VIP6" \
	[ "$(count_pkts "$TMP/nd" "^[0-9.]+ $MAC_RS > .*neighbor advertisement, tgt is $VIP6")" = 0 ]
check "the client has no neighbour entry for $VIP6 that resolved" \
	not bash -c "ip -n '$CL' -6 neigh show $VIP6 | grep -q lladdr"
# What would break it: proxy NDP for the VIP on the segment interface
# (with forwarding there), as a router-style setup might leave behind.
in_ns "$RS" sysctl -qw net.ipv6.conf.eth0.forwarding=1 net.ipv6.conf.eth0.proxy_ndp=1
ip -n "$RS" -6 neigh add proxy $VIP6 dev eth0
ip -n "$CL" -6 neigh flush dev eth0
capture "$TMP/nd2" 'icmp6 and ip6[40] == 136' || { fail "tcpdump listens on the bridge"; dfinish; }
solicit
stop_capture
check "with a proxy-NDP entry for the VIP, rs answers for it (the IPv6 flux rs-agent reports)" \
	[ "$(count_pkts "$TMP/nd2" "^[0-9.]+ $MAC_RS > .*neighbor advertisement, tgt is $VIP6")" -gt 0 ]
check "... and the client resolves the VIP to rs's MAC" \
	bash -c "ip -n '$CL' -6 neigh show $VIP6 | grep -q 'lladdr $MAC_RS'"
out=$(in_ns "$RS" "$RS_AGENT" -f "$TMP/rs.ini" check 2>&1); rc=$?
check "rs-agent check: CRITICAL (exit 2, was $rc)" [ $rc = 2 ]
check "... naming the proxy-NDP entry and how to remove it" \
	grep -q "^CRITICAL: vip $VIP6: a proxy-NDP entry on eth0 answers for it (ip -6 neigh del proxy $VIP6 dev eth0)" <<<"$out"
reporting() { in_ns "$RS" "$RS_AGENT" -f "$TMP/rs.ini" status 2>/dev/null | sed -n 's/^reporting: *//p'; }
reporting_down() { [[ "$(reporting)" == down* ]]; }
# The daemon looks again every verify_interval (default 1s).
check "the running agent reports the real server down" wait_until 15 reporting_down
ip -n "$RS" -6 neigh del proxy $VIP6 dev eth0
out=$(in_ns "$RS" "$RS_AGENT" -f "$TMP/rs.ini" check 2>&1); rc=$?
check "rs-agent check: OK again once the entry is gone (exit $rc)" [ $rc = 0 ]
dfinish
