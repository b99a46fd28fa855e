#!/usr/bin/env bash
# directord's metrics with a real IPVS: the director of the end-to-end
# setup (VIP:80 rr DR to rs1 and rs2, check = http, agent) serves GET
# /metrics on its metrics_listen; after a client's requests to the VIP the
# kernel's per-server counters show them (connections and packets in,
# no packets out: the replies bypass the director), each real server is
# up in the one-hot state with its weight in IPVS, its HTTP check results
# and agent replies counted, and `promtool check metrics` accepts the
# output; rs1's web server stopped, the metrics show rs1 down.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
command -v promtool >/dev/null || { skip "30-director-metrics-ipvs: no promtool (Debian package prometheus)"; exit 0; }
e2e_setup || { fail "two real servers with rs-agent and a web server"; dfinish; }
e2e_director_conf
sed -i "/^\[global\]\$/a metrics_listen = $ADDR_lb:9101\nmetrics_allow = $ADDR_cl" "$TMP/lb.ini"
e2e_director || { fail "the director is master with both real servers in the kernel"; dfinish; }
pass "the director is master with both real servers in the kernel"

# scrape: the metrics, from the client's namespace, into $TMP/m.prom.
scrape() { http_get "$NS_cl" "http://$ADDR_lb:9101/metrics" 10 >"$TMP/m.prom" 2>/dev/null; }
# value NAME{LABELS}: the sample's value in the last scrape.
value() { awk -v k="$1" '$1 == k { print $2; exit }' "$TMP/m.prom"; }
RS=("$ADDR_rs1:80" "$ADDR_rs2:80")
rsl() { echo "virtual_server=\"web\",real_server=\"$1\""; }
conns_total() {
	scrape || return 1
	local a b
	a=$(value "dsrkit_ipvs_connections_total{$(rsl "${RS[0]}")}") b=$(value "dsrkit_ipvs_connections_total{$(rsl "${RS[1]}")}")
	[ -n "$a" ] && [ -n "$b" ] && [ $((a + b)) -ge "$1" ]
}

ask_n "$NS_cl" "$E2E_VIP" 6 >"$TMP/r1"
check "6 requests to the VIP alternate between rs1 and rs2 ($(replies "$TMP/r1"))" alternating "$TMP/r1"
check "the metrics count the 6 connections (IPVS folds its counters every 2 s)" wait_gently 20 conns_total 6
check "promtool check metrics accepts the output with IPVS" \
	bash -c "promtool check metrics <'$TMP/m.prom' >'$TMP/promtool.out' 2>&1 || { cat '$TMP/promtool.out'; exit 1; }"
check "IPVS is up" [ "$(value dsrkit_ipvs_up)" = 1 ]
for rs in "${RS[@]}"; do
	check "$rs: packets in counted" [ "$(value "dsrkit_ipvs_packets_total{$(rsl "$rs"),direction=\"in\"}")" -gt 0 ]
	check "$rs: no packets out (direct routing)" [ "$(value "dsrkit_ipvs_packets_total{$(rsl "$rs"),direction=\"out\"}")" = 0 ]
	check "$rs: bytes in counted" [ "$(value "dsrkit_ipvs_bytes_total{$(rsl "$rs"),direction=\"in\"}")" -gt 0 ]
	check "$rs: up (one-hot)" [ "$(value "dsrkit_lvs_real_server_state{$(rsl "$rs"),state=\"up\"}")$(value "dsrkit_lvs_real_server_state{$(rsl "$rs"),state=\"down\"}")" = 10 ]
	check "$rs: weight 1 in IPVS" [ "$(value "dsrkit_lvs_real_server_weight{$(rsl "$rs")}")" = 1 ]
	check "$rs: HTTP check passes counted" [ "$(value "dsrkit_lvs_check_results_total{$(rsl "$rs"),check=\"http\",result=\"pass\"}")" -gt 0 ]
	check "$rs: agent replies 'up' counted" [ "$(value "dsrkit_lvs_agent_replies_total{$(rsl "$rs"),answer=\"up\"}")" -gt 0 ]
	check "$rs: HTTP check latency observed" [ "$(value "dsrkit_lvs_check_duration_seconds_count{$(rsl "$rs"),check=\"http\"}")" -gt 0 ]
done
check "the virtual server has quorum and is in the kernel" \
	[ "$(value 'dsrkit_lvs_virtual_server_quorum{virtual_server="web"}')$(value 'dsrkit_lvs_virtual_server_in_kernel{virtual_server="web"}')" = 11 ]

www_stop rs1
rs1_down() { scrape && [ "$(value "dsrkit_lvs_real_server_state{$(rsl "${RS[0]}"),state=\"down\"}")" = 1 ]; }
check "rs1's web server stopped: the metrics show rs1 down" wait_gently 20 rs1_down
check "... and its weight gone from IPVS (no sample)" [ -z "$(value "dsrkit_lvs_real_server_weight{$(rsl "${RS[0]}")}")" ]
check "... and HTTP check failures counted" \
	[ "$(value "dsrkit_lvs_check_results_total{$(rsl "${RS[0]}"),check=\"http\",result=\"fail\"}")" -gt 0 ]
dfinish
