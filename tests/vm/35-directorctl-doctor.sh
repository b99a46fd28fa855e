#!/usr/bin/env bash
# directorctl doctor beside a working IPVS: the DR lab of tests 22/23 (a
# client, the director lb holding the VIP and balancing it by DR to rs1
# and rs2, each with rs-agent and a web server), traffic flowing through
# IPVS. The healthy setup gets no finding (exit 0), also while IPVS holds
# the service and its connections. Then two mistakes on purpose: rs2's web
# server bound to its real address only (named [service], and its agent,
# whose check of the VIP fails, reporting down: [agent]), and rs1's MTU
# lowered to 1400 ([mtu]); nothing else is reported. Each DR mistake alone
# is covered without IPVS in tests/netns/135-directorctl-doctor.sh.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=$E2E_VIP SVC=$E2E_SVC

e2e_setup || { fail "two real servers with rs-agent and a web server"; dfinish; }
# e2e_director_conf's service, with the IPVS trap it would have (servers
# removed on failure, ipvs_expire_nodest_conn not 1) avoided.
dconf "$TMP/lb.ini" lb "ipvs_expire_nodest_conn = 1" "$(vrrp VI_1 eth0 51 150 $VIP/24)" \
	"[virtual_server web]" "address = $VIP:80" "scheduler = rr" "method = dr" "vrrp = VI_1" \
	"check = http, agent" "check_interval = 500ms" "check_timeout = 500ms" "check_rise = 1" "check_fall = 2" \
	"agent_port = 5555" "agent_interval = 500ms" "real_servers = $ADDR_rs1:80, $ADDR_rs2:80"
e2e_director || { fail "the director is master with the VIP and both real servers in the kernel"; dfinish; }
pass "the director is master with both real servers in IPVS ($(dests_of "$NS_lb" "$SVC"))"
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r1"
check "requests to the VIP alternate between rs1 and rs2 ($(replies "$TMP/r1"))" alternating "$TMP/r1"

doctor() { in_ns "$NS_lb" timeout 120 "$DIRECTORCTL" -s "$(sock_of lb)" doctor "$@"; }
out=$(doctor); rc=$?
echo "$out" | sed 's/^/    /'
check "healthy, with IPVS holding the service: no finding, exit 0" [ "$rc:$out" = "0:no finding" ]

# The mistakes.
www_stop rs2
bg_in "$NS_rs2" "$TMP/www-rs2b.log" "$PY" -m http.server 80 --bind "$ADDR_rs2" --directory "$TMP/www-rs2"
disown "$LAST_PID"
ip -n "$NS_rs1" link set eth0 mtu 1400
check "rs2 serves on its real address" wait_gently 30 answers "$NS_cl" "$ADDR_rs2" "served by rs2"
check "rs2 leaves IPVS (its agent's check of the VIP fails)" wait_until 20 weight_is "$NS_lb" "$SVC" "$ADDR_rs2:80" absent
out=$(doctor); rc=$?
echo "$out" | sed 's/^/    /'
has() { grep -q -- "$1" <<<"$out"; }
check "findings: exit 1" [ "$rc" = 1 ]
check "rs2: the service on its real address only" \
	has "^web $ADDR_rs2:80: \[service\] the service answers on its real address but refuses $VIP port 80"
check "rs2: its agent reports down" has "^web $ADDR_rs2:80: \[agent\] its agent reports 'down"
check "rs1: the MTU mismatch" has "^web $ADDR_rs1:80: \[mtu\] answers a ping but not one of 1500 bytes"
check "nothing else" [ "$(grep -c '\[' <<<"$out")" = 3 ]
dfinish
