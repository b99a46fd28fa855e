# shellcheck shell=bash
# The DR lab of directorctl doctor's tests (tests/netns/135 on the host's
# kernel, tests/vm/35 beside the VM's IPVS): one director d1, master of
# the VIPs, and eight real servers, each with one DR mistake made on
# purpose, but rs1. Sourced after lib.sh and director-lib.sh (the VM's
# director-vm-lib.sh brings both).
#   rs1  healthy (the VIPs on lo, ARP for them ignored; v4 and v6)
#   rs2  answers ARP for the VIP (arp_ignore 0); v6: the VIP on eth0
#   rs3  behind a router, not on the directors' segment
#   rs4  the service bound to its real address only
#   rs5  rp_filter drops the director's packets (its route back is eth1)
#   rs6  MTU mismatch (eth0 at 1400)
#   rs7  no VIP on its loopback
#   rs8  its agent port blocked (nftables)
# Services: web (rs1-rs7, check tcp), api (rs1, rs8, tcp + agent), good
# (rs1 alone, check none: the healthy setup), web6 (rs1, rs2 over IPv6).

VIP=198.18.0.100 VIP2=198.18.0.101 VIP3=198.18.0.102 VIP6=2001:db8::100

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

# doctor_lab START [GLOBAL_LINE...]: the lab, directord started in D1 by
# START (start_director, or the VM's start_dir) with the [global] lines
# given; returns non-zero (after saying what) when it is not ready.
doctor_lab() {
	local start=$1 n ns; shift
	switch_new
	bridge_new br1
	bridge_new br2
	ns_new d1
	D1=$NS_d1
	join "$D1" eth0 br0 02:00:00:00:01:01 198.18.0.1/24
	ip -n "$D1" addr add 2001:db8:1::1/64 dev eth0 nodad
	ip -n "$D1" route add 198.18.1.0/24 via 198.18.0.254
	mkdir -p "$TMP/www" && echo hello >"$TMP/www/index.html"

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
		ns=RS$n
		write_rs_config "$TMP/rs$n.ini" "rs$n" "$VIP, $VIP2, $VIP3" "[agent]" "listen = 0.0.0.0:5555" \
			"allow = 198.18.0.1" "[check web]" "type = tcp" "port = 80" "interval = 300ms" "timeout = 200ms" "rise = 1"
		start_agent "${!ns}" "$TMP/rs$n.ini" "$TMP/rs$n.log" || fail "rs-agent starts on rs$n"
	done

	dconf "$TMP/d1.ini" d1 "$@" "$(vrrp VI_1 eth0 51 150 "$VIP/24, $VIP2/24, $VIP3/24")" \
		"[virtual_server web]" "address = $VIP:80" "vrrp = VI_1" "check = tcp" \
		"real_servers = 198.18.0.11:80, 198.18.0.12:80, 198.18.1.13:80, 198.18.0.14:80, 198.18.0.15:80, 198.18.0.16:80, 198.18.0.17:80" \
		"[virtual_server api]" "address = $VIP2:80" "vrrp = VI_1" "check = tcp, agent" "inhibit_on_failure = yes" \
		"real_servers = 198.18.0.11:80, 198.18.0.18:80" \
		"[virtual_server good]" "address = $VIP3:80" "vrrp = VI_1" "check = none" "real_servers = 198.18.0.11:80" \
		"$(vrrp VI_6 eth0 61 150 $VIP6/64)" \
		"[virtual_server web6]" "address = [$VIP6]:80" "vrrp = VI_6" "check = none" \
		"real_servers = [2001:db8:1::11]:80, [2001:db8:1::12]:80"
	"$start" "$D1" d1 "$TMP/d1.ini" || { fail "directord starts"; return 1; }
	check "d1 is master" wait_ms 10000 state_is d1 VI_1 MASTER
	check "d1 is master of VI_6" wait_ms 10000 state_is d1 VI_6 MASTER
	wait_until 10 ll_ready "$D1" eth0 || fail "d1's link-local address is ready"
	# The mistake of rs2 for IPv6: the VIP on eth0 (after the director took it).
	ip -n "$RS2" addr add $VIP6/128 dev eth0 nodad
	wait_until 20 in_ns "$RS1" "$PY" -c 'import socket; socket.create_connection(("198.18.0.11", 80), 1)' ||
		fail "the web servers listen"
}

# doctor [ARG...]: directorctl doctor in D1, its output on stdout.
doctor() { in_ns "$D1" timeout 120 "$DIRECTORCTL" -s "$(sock_of d1)" doctor "$@"; }

# doctor_lab_findings OUT: OUT (the whole lab's doctor output) names each
# broken server's mistake, the traps, nothing else.
doctor_lab_findings() {
	local out=$1
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
}
