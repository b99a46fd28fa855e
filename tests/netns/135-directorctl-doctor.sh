#!/usr/bin/env bash
# directorctl doctor against the real kernel, no IPVS needed (its probes
# are ARP, neighbour solicitations, SYNs and echoes on packet sockets, a
# route lookup, the agent's port, sysctls): one director (master of the
# VIPs) and eight real servers, each with one DR mistake made on purpose,
# but rs1. The healthy service gets no finding (exit 0); the whole setup
# gets exactly one finding per broken server, naming it and the mistake
# (exit 1); without CAP_NET_RAW the doctor says so (exit 2). IPv6 too: a
# v6 service whose second server holds the VIP on eth0 and so answers
# neighbour solicitations for it. A backup director (d2) tells the
# master's MAC, which answers ARP for the VIP, by its VRRP adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

command -v nft >/dev/null || { skip "directorctl-doctor: no nft (Debian package nftables)"; exit 0; }
VIP=198.18.0.100 VIP2=198.18.0.101 VIP3=198.18.0.102 VIP6=2001:db8::100
switch_new
bridge_new br1
bridge_new br2
ns_new d1
D1=$NS_d1
join "$D1" eth0 br0 02:00:00:00:01:01 198.18.0.1/24
ip -n "$D1" addr add 2001:db8:1::1/64 dev eth0 nodad
ip -n "$D1" route add 198.18.1.0/24 via 198.18.0.254
mkdir -p "$TMP/www" && echo hello >"$TMP/www/index.html"

# rs N [IP]: namespace rsN on br0 (198.18.0.1N unless IP), MAC 02:00:00:00:1N:01.
rs() {
	ns_new "rs$1"
	local ns="$TEST_ID-rs$1"
	join "$ns" eth0 br0 "02:00:00:00:1$1:01" "${2:-198.18.0.1$1}/24"
	printf -v "RS$1" '%s' "$ns"
}
# dr_ok NS VIP...: the VIPs on lo, ARP for them ignored (what rs-agent sets).
dr_ok() {
	local ns=$1 v; shift
	for v in "$@"; do ip -n "$ns" addr add "$v/32" dev lo; done
	in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
}
# web NS [BIND]: an HTTP server on port 80 (every address, v4 and v6, unless BIND).
web() { bg_in "$1" "$TMP/web-$1.log" "$PY" -m http.server --directory "$TMP/www" --bind "${2:-::}" 80; }

rs 1; dr_ok "$RS1" $VIP $VIP2 $VIP3; web "$RS1"			# healthy
rs 2; dr_ok "$RS2" $VIP; in_ns "$RS2" sysctl -qw net.ipv4.conf.all.arp_ignore=0; web "$RS2"	# answers ARP for the VIP
# IPv6: the real servers' subnet is not the VIP's, so that the kernel
# picks the director's own address as its source toward them (with one
# subnet it picks the VIP: the doctor's finding [source]).
ip -n "$RS1" addr add 2001:db8:1::11/64 dev eth0 nodad
ip -n "$RS1" addr add $VIP6/128 dev lo nodad
ip -n "$RS2" addr add 2001:db8:1::12/64 dev eth0 nodad
ns_new rt; RT=$NS_rt							# rs3 behind a router
join "$RT" eth0 br0 02:00:00:00:fe:01 198.18.0.254/24
join "$RT" eth1 br1 02:00:00:00:fe:02 198.18.1.254/24
in_ns "$RT" sysctl -qw net.ipv4.ip_forward=1
ns_new rs3; RS3=$NS_rs3
join "$RS3" eth0 br1 02:00:00:00:13:01 198.18.1.13/24
ip -n "$RS3" route add default via 198.18.1.254
dr_ok "$RS3" $VIP; web "$RS3"
rs 4; dr_ok "$RS4" $VIP; web "$RS4" 198.18.0.14			# its real address only
rs 5; dr_ok "$RS5" $VIP; web "$RS5"					# rp_filter drops the director
join "$RS5" eth1 br2 02:00:00:00:15:02 198.18.2.15/24
ip -n "$RS5" route add 198.18.0.1/32 via 198.18.2.254 dev eth1
in_ns "$RS5" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
rs 6; dr_ok "$RS6" $VIP; web "$RS6"; ip -n "$RS6" link set eth0 mtu 1400	# MTU mismatch
rs 7; dr_ok "$RS7"; web "$RS7"						# no VIP on lo
rs 8; web "$RS8"							# its agent port blocked
in_ns "$RS8" nft -f - <<'EOF'
table inet doctor_test {
	chain in {
		type filter hook input priority 0;
		tcp dport 5555 drop
	}
}
EOF
for n in 1 8; do
	eval "ns=\$RS$n"
	write_rs_config "$TMP/rs$n.ini" "rs$n" "$VIP, $VIP2, $VIP3" "[agent]" "listen = 0.0.0.0:5555" \
		"allow = 198.18.0.1" "[check web]" "type = tcp" "port = 80" "interval = 300ms" "timeout = 200ms" "rise = 1"
	start_agent "$ns" "$TMP/rs$n.ini" "$TMP/rs$n.log" || fail "rs-agent starts on rs$n"
done

dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 "$VIP/24, $VIP2/24, $VIP3/24")" \
	"[virtual_server web]" "address = $VIP:80" "vrrp = VI_1" "check = tcp" \
	"real_servers = 198.18.0.11:80, 198.18.0.12:80, 198.18.1.13:80, 198.18.0.14:80, 198.18.0.15:80, 198.18.0.16:80, 198.18.0.17:80" \
	"[virtual_server api]" "address = $VIP2:80" "vrrp = VI_1" "check = tcp, agent" "inhibit_on_failure = yes" \
	"real_servers = 198.18.0.11:80, 198.18.0.18:80" \
	"[virtual_server good]" "address = $VIP3:80" "vrrp = VI_1" "check = none" "real_servers = 198.18.0.11:80" \
	"$(vrrp VI_6 eth0 61 150 $VIP6/64)" \
	"[virtual_server web6]" "address = [$VIP6]:80" "vrrp = VI_6" "check = none" \
	"real_servers = [2001:db8:1::11]:80, [2001:db8:1::12]:80"
start_director "$D1" d1 "$TMP/d1.ini" || { fail "directord starts"; dfinish; }
check "d1 is master" wait_ms 3000 state_is d1 VI_1 MASTER
check "d1 is master of VI_6" wait_ms 3000 state_is d1 VI_6 MASTER
wait_until 5 ll_ready "$D1" eth0 || fail "d1's link-local address is ready"
# The mistake of rs2 for IPv6: the VIP on eth0 (after the director took it).
ip -n "$RS2" addr add $VIP6/128 dev eth0 nodad
wait_until 10 in_ns "$RS1" "$PY" -c 'import socket; socket.create_connection(("198.18.0.11", 80), 1)' ||
	fail "the web servers listen"

doctor() { in_ns "$D1" timeout 60 "$DIRECTORCTL" -s "$(sock_of d1)" doctor "$@"; }

out=$(doctor good); rc=$?
echo "$out" | sed 's/^/    good: /'
check "the healthy service: no finding, exit 0" test "$rc" = 0 -a "$out" = "no finding"

t0=$(now_ms)
out=$(doctor); rc=$?
took=$(($(now_ms) - t0))
echo "$out" | sed 's/^/    /'
echo "    ($took ms)"
check "findings: exit 1" test "$rc" = 1
check "bounded: the whole run took less than 20 s" test "$took" -lt 20000
has() { grep -q -- "$1" <<<"$out"; }
lines_of() { grep -c -- "$1" <<<"$out"; }
check "rs1 (healthy): no finding" test "$(lines_of '198\.18\.0\.11')" = 0
check "rs2: answers ARP for the VIP, named with its MAC" \
	has "^web 198.18.0.12: \[vip_arp\] answers ARP for the VIP $VIP on eth0 (MAC 02:00:00:00:12:01)"
check "rs3: behind a router, not on the segment" \
	has "^web 198.18.1.13:80: \[route\] reached through the gateway 198.18.0.254"
check "rs4: the service on its real address only" \
	has "^web 198.18.0.14:80: \[service\] the service answers on its real address but refuses $VIP port 80"
check "rs5: rp_filter drops the director's packets" \
	has "^web 198.18.0.15:80: \[rp_filter\] answers ARP from 0.0.0.0 but not from the director's 198.18.0.1"
check "rs6: MTU mismatch" has "^web 198.18.0.16:80: \[mtu\] answers a ping but not one of 1500 bytes"
check "rs7: no VIP on its loopback" has "^web 198.18.0.17:80: \[vip\] does not answer packets for the VIP $VIP"
check "rs8: its agent port blocked" has "^api 198.18.0.18:80: \[agent\] agent port 5555: no answer within"
check "the IPVS traps of directord -t (checks remove servers): web's" has "^director: \[trap\] .*virtual_server web.check: warning:"
check "... and api's" has "^director: \[trap\] .*virtual_server api.check: warning:"
check "rs2 (IPv6): answers neighbour solicitations for the VIP" \
	has "^web6 2001:db8:1::12: \[vip_arp\] answers neighbour solicitations for the VIP $VIP6 on eth0 (MAC 02:00:00:00:12:01)"
check "rs1 over IPv6 (healthy): no finding" test "$(lines_of '2001:db8:1::11')" = 0
check "one finding per broken server, the traps, nothing else" test "$(grep -c '\[' <<<"$out")" = 10

json=$(doctor --json); rc=$?
check "--json: exit 1, the same findings as JSON" test "$rc" = 1
check "--json parses, 10 findings with check, server, what and fix" "$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
f = d["findings"]
assert len(f) == 10, f
assert {x["check"] for x in f} == {"vip_arp", "route", "service", "rp_filter", "mtu", "vip", "agent", "trap"}, f
assert all(x["what"] and x["fix"] for x in f)
assert [x["server"] for x in f if x["check"] == "agent"] == ["198.18.0.18:80"]
' "$json"

out=$(doctor nosuch 2>&1); rc=$?
check "an unknown service: exit 2" test "$rc" = 2
out=$(in_ns "$D1" setpriv --inh-caps=-all --bounding-set=-net_raw "$DIRECTORCTL" -s "$(sock_of d1)" doctor 2>&1); rc=$?
echo "    $out"
check "without CAP_NET_RAW: exit 2, says what is missing" test "$rc" = 2 -a -n "$(grep CAP_NET_RAW <<<"$out")"
# The backup: the master answers ARP for the VIP, and is known by its adverts.
ns_new d2
D2=$NS_d2
join "$D2" eth0 br0 02:00:00:00:02:01 198.18.0.2/24
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 "$VIP/24, $VIP2/24, $VIP3/24")" \
	"[virtual_server good]" "address = $VIP3:80" "vrrp = VI_1" "check = none" "real_servers = 198.18.0.11:80"
start_director "$D2" d2 "$TMP/d2.ini" || fail "d2 starts"
check "d2 is backup" wait_ms 3000 state_is d2 VI_1 BACKUP
out=$(in_ns "$D2" timeout 60 "$DIRECTORCTL" -s "$(sock_of d2)" doctor 2>&1); rc=$?
echo "$out" | sed 's/^/    d2: /'
check "on the backup: the master's answer for the VIP is no finding, exit 0" test "$rc" = 0 -a "$out" = "no finding"
dfinish
