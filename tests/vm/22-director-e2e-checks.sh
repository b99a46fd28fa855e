#!/usr/bin/env bash
# End to end, with rs-agent on two real servers: directord holds the VIP
# with VRRP on its eth0 and balances VIP:80 rr by DR to rs1 and rs2, each
# checked over HTTP and through its agent (check = http, agent; every
# 500 ms, rise 1, fall 2). A client's requests to the VIP alternate
# between rs1 and rs2; the director's IPVS counters show packets in and
# none out (the replies go straight from the real servers). rs1's web
# server killed: rs1 leaves the kernel within interval x fall plus slack
# and every request goes to rs2; restarted, it comes back after rise.
# `directorctl drain web 198.18.0.11:80` puts it at weight 0 (new requests
# all to rs2), `directorctl enable` back to 1; `directorctl status --json`
# is valid JSON and shows each real server's state.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=$E2E_VIP SVC=$E2E_SVC RS1=198.18.0.11:80 RS2=198.18.0.12:80
INTERVAL=500 FALL=2 RISE=1 SLACK=1500	# as e2e_director_conf and e2e_setup set them

e2e_setup || { fail "two real servers with rs-agent and a web server"; dfinish; }
pass "two real servers with rs-agent and a web server"
rs_check() { in_ns "$NS_rs1" "$RS_AGENT" -f "$TMP/rs1.ini" check >"$TMP/rs-check.out" 2>&1; }
check "rs-agent check on rs1: the DR state is right (exit 0)" rs_check
e2e_director_conf
e2e_director || { fail "the director is master with the VIP and both real servers in the kernel"; dfinish; }
pass "the director is master with the VIP on eth0 and both real servers in the kernel ($(dests_of "$NS_lb" "$SVC"))"

ask_n "$NS_cl" "$VIP" 6 >"$TMP/r1"
check "6 requests to the VIP alternate between rs1 and rs2 ($(replies "$TMP/r1"))" alternating "$TMP/r1"
vip_mac=$(ip -n "$NS_cl" neigh show "$VIP" dev eth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
check "the client's ARP entry for the VIP is the director's ($vip_mac)" \
	[ "$vip_mac" = "$(ip netns exec "$NS_lb" cat /sys/class/net/eth0/address)" ]
conns_at_least() { [ "$(ipvs_stat "$NS_lb" 3)" -ge "$1" ]; }
check "IPVS counted the 6 connections (counters folded every 2 s)" wait_until 10 conns_at_least 6
inpkts=$(ipvs_stat "$NS_lb" 4) outpkts=$(ipvs_stat "$NS_lb" 5)
check "IPVS saw packets in ($inpkts)" [ "${inpkts:-0}" -gt 0 ]
check "IPVS saw no packets out: the replies bypassed the director ($outpkts)" [ "${outpkts:-x}" = 0 ]

# rs1's web server dies.
www_stop rs1
t0=$(now_ms)
bound=$((INTERVAL * FALL + INTERVAL + SLACK))
check "rs1 leaves the kernel's table once its check fails" wait_until 15 weight_is "$NS_lb" "$SVC" "$RS1" absent
dt=$(elapsed_ms "$t0")
check "... within interval x fall + one interval (the kill falls anywhere in one) + ${SLACK} ms slack for TCG: $dt <= $bound ms" \
	[ "$dt" -le "$bound" ]
check "rs2 is there, at weight 1" wait_gently 10 dests_are "$NS_lb" "$SVC" "$RS2:1"
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r2"
check "every request now goes to rs2 ($(replies "$TMP/r2"))" all_are "$TMP/r2" "served by rs2"
check "status shows rs1 down" wait_until 5 rs_state_is lb web "$RS1" down
www_start rs1 "$NS_rs1"
check "rs1's web server is back (on its own address)" wait_gently 30 answers "$NS_cl" 198.18.0.11 "served by rs1"
t1=$(now_ms)
# Back when the director's HTTP check passes (rise 1) and rs-agent, whose
# own check of VIP:80 also needs one pass, reports up again to the next
# agent probe: three intervals at worst.
bound=$((INTERVAL * RISE + 2 * INTERVAL + SLACK))
check "rs1 is back in the kernel at weight 1" wait_until 15 weight_is "$NS_lb" "$SVC" "$RS1" 1
dt=$(elapsed_ms "$t1")
check "... within rise x interval + the agent's check and probe (2 intervals) + ${SLACK} ms slack: $dt <= $bound ms" \
	[ "$dt" -le "$bound" ]
check "both real servers are in the kernel" wait_gently 10 dests_are "$NS_lb" "$SVC" "$RS1:1 $RS2:1"
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r3"
check "requests alternate again ($(replies "$TMP/r3"))" alternating "$TMP/r3"

# The operator drains rs1.
out=$(ctl lb drain web "$RS1" 2>&1); rc=$?
check "directorctl drain web $RS1 succeeds ($out)" [ $rc = 0 ]
check "... rs1 has weight 0 in the kernel" wait_until 5 weight_is "$NS_lb" "$SVC" "$RS1" 0
json=$(status_json lb)
json_valid() { "$PY" -m json.tool >/dev/null <<<"$1"; }
check "directorctl status --json is valid JSON (python3 -m json.tool)" json_valid "$json"
check "... and shows rs1 drain at weight 0, rs2 up at weight 1" \
	[ "$(jfield "$json" "\"server\":\"$RS1\"" state):$(jfield "$json" "\"server\":\"$RS1\"" weight):$(jfield "$json" "\"server\":\"$RS2\"" state):$(jfield "$json" "\"server\":\"$RS2\"" weight)" = "drain:0:up:1" ]
res=$(jfield "$json" "\"server\":\"$RS2\"" reason) passes=$(jfield "$json" "\"server\":\"$RS2\"" passes)
agent=$(jfield "$json" "\"server\":\"$RS2\"" reply)
check "... with rs2's check results: HTTP check '$res', $passes passes; agent '$agent'" \
	[ "$res:$((passes > 0)):$agent" = "HTTP 200:1:up ready" ]
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r4"
check "new requests all go to rs2 ($(replies "$TMP/r4"))" all_are "$TMP/r4" "served by rs2"

# The LVS engine dies while rs1 is drained: the parent's new engine keeps
# it drained from its first reconcile on (every sample of the table).
ipvs_sampler "$NS_lb" "$TMP/drain-samples"
lvs_pid=$(lvs_engine_pid lb) nops=$(ops_count lb)
kill -KILL "${lvs_pid:-0}"
new_engine() { local p; p=$(lvs_engine_pid lb); [ "${p:-0}" != 0 ] && [ "$p" != "$lvs_pid" ]; }
check "the LVS engine killed while rs1 is drained: the parent starts a new one" wait_until 15 new_engine
check "... which logs its reconcile" wait_until 20 has_ops_after lb "$nops"
check "... and logs rs1 as still drained" grep -q "web $RS1: still drained" "$TMP/lb.log"
sleep 1.5
touch "$TMP/drain-samples.stop"
wait_until 10 not kill -0 "$IPVS_SAMPLER_PID"
rs1_hex=$(printf '%02X%02X%02X%02X:%04X' 198 18 0 11 80)
rs1_weights=$(awk -v d="$rs1_hex" '{ w = "absent"; n = split($2, a, ","); for (i = 1; i <= n; i++) if (index(a[i], d "/") == 1) { split(a[i], f, "/"); w = f[3] } c[w]++ }
	END { for (k in c) printf "%s%s:%d", (s++ ? " " : ""), k, c[k] }' "$TMP/drain-samples")
check "rs1 stayed at weight 0 in every sample of the kernel's table across the restart (weight:samples $rs1_weights)" \
	[ "$rs1_weights" = "0:$(samples_count "$TMP/drain-samples")" ]
awk -v d="$rs1_hex" 'index("," $2 ",", "," d "/Route/0,") == 0 { print "    sample: " $0; if (++n == 3) exit }' "$TMP/drain-samples"
check "... status shows rs1 drain at weight 0" \
	[ "$(rs_state lb web "$RS1"):$(rs_field lb web "$RS1" weight)" = "drain:0" ]
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r4b"
check "new requests still all go to rs2 ($(replies "$TMP/r4b"))" all_are "$TMP/r4b" "served by rs2"
out=$(ctl lb enable web "$RS1" 2>&1); rc=$?
check "directorctl enable web $RS1 succeeds ($out)" [ $rc = 0 ]
check "... rs1 has weight 1 again" wait_until 5 weight_is "$NS_lb" "$SVC" "$RS1" 1
check "... status shows rs1 up" rs_state_is lb web "$RS1" up
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r5"
check "requests alternate again ($(replies "$TMP/r5"))" alternating "$TMP/r5"
out=$(ctl lb drain web 198.18.0.99:80 2>&1); rc=$?
check "directorctl drain of a server the service does not have fails ($out)" [ $rc != 0 ]
ctl lb status | sed 's/^/    /'
dfinish
