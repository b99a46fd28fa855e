#!/usr/bin/env bash
# Dual stack through the whole DR path: two directors lb (150) and lb2
# (100) with VRRP VI_4 (198.18.0.100) and VI_6 (2001:db8::100) in one sync
# group, the IPVS sync daemon following VI_6; real servers rs1 and rs2
# with rs-agent (both VIPs on lo, the IPv6 one /128 without DAD and
# deprecated), a web server and streamcheck's echo on every address; a
# client. Shown:
# - lb's IPv6 VIP is deprecated, so lb's own traffic to the real servers
#   (checks, agent queries) leaves from lb's address, and `check = http,
#   agent` over IPv6 brings both real servers into the kernel and keeps
#   them there (the stream service's checks with check_source);
# - the client reaches the IPv6 VIP (resolved to lb's MAC, never a real
#   server's) and the IPv4 VIP, requests alternate between rs1 and rs2,
#   replies bypass the director (IPVS InPkts move, OutPkts stay 0);
# - `rs-agent drain` on rs2 gives it weight 0 through the agent over IPv6;
# - each failover (lb stopped, lb back, lb SIGKILLed, lb back) is
#   announced by unsolicited neighbour advertisements for the IPv6 VIP
#   from the new master, the client's neighbour entry follows, and a
#   byte-checked IPv6 stream (tests/tools/streamcheck) survives all four
#   moves through the sync daemon.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
STREAM=$BUILD/tools/streamcheck
[ -x "$STREAM" ] || { fail "$STREAM is built (make)"; dfinish; }
VIP4=198.18.0.100 VIP6=2001:db8::100 PORT=9000
declare -A A6=([cl]=2001:db8::1 [lb]=2001:db8::2 [lb2]=2001:db8::3 [rs1]=2001:db8::11 [rs2]=2001:db8::12)
MAC_lb=02:00:00:00:02:01 MAC_lb2=02:00:00:00:03:01
SVC6="-t [$VIP6]:80" SVC4="-t $VIP4:80"
BOTH6="[${A6[rs1]}]:80:1 [${A6[rs2]}]:80:1"

lan cl lb lb2 rs1 rs2
for n in cl lb lb2 rs1 rs2; do
	ns=NS_$n
	ip -n "${!ns}" addr add "${A6[$n]}/64" dev eth0 nodad
done
for n in lb lb2; do
	ns=NS_$n
	check "$n's link-local address is usable (VRRPv3 over IPv6 sends from it)" wait_until 10 ll_ready "${!ns}" eth0
done

for rs in rs1 rs2; do
	ns=NS_$rs
	write_rs_config "$TMP/$rs.ini" "$rs" "$VIP4, $VIP6" \
		"[agent]" "listen = [::]:5555" "allow = ${A6[lb]}, ${A6[lb2]}, $ADDR_lb, $ADDR_lb2" \
		"[check web]" "type = http" "port = 80" "interval = 1s" "timeout = 1s"
	mkdir -p "$TMP/www-$rs"
	echo "served by $rs" >"$TMP/www-$rs/index.html"
	# --bind ::: one socket for both families (http.server's dual stack).
	bg_in "${!ns}" "$TMP/www-$rs.log" "$PY" -m http.server 80 --bind :: --directory "$TMP/www-$rs"
	bg_in "${!ns}" "$TMP/echo-$rs.log" "$STREAM" serve "$PORT"
	start_agent "${!ns}" "$TMP/$rs.ini" "$TMP/agent-$rs.log" || { fail "rs-agent on $rs starts"; dfinish; }
	check "$rs: rs-agent put $VIP6/128 on lo without DAD, deprecated" \
		bash -c "ip -n '${!ns}' -6 addr show dev lo | grep -q ' $VIP6/128 scope global nodad deprecated'"
done
for rs in rs1 rs2; do
	check "$rs's web server answers on its IPv6 address" wait_gently 30 answers "$NS_cl" "${A6[$rs]}" "served by $rs"
done

# VRRP every second: a TCG VM must not see takeovers of its own making.
director_conf() {	# director_conf TAG PRIORITY
	dconf "$TMP/$1.ini" "$1" "ipvs_on_stop = keep" "ipvs_sync_interface = eth0" "ipvs_sync_follow = VI_6" \
		"[sync_group DUAL]" "instances = VI_4, VI_6" \
		"[vrrp VI_4]" "interface = eth0" "virtual_router_id = 51" "priority = $2" \
		"advert_interval = 1s" "virtual_ipaddress = $VIP4/24" \
		"[vrrp VI_6]" "interface = eth0" "virtual_router_id = 61" "priority = $2" \
		"advert_interval = 1s" "virtual_ipaddress = $VIP6/64" "
[virtual_server web6]
address = [$VIP6]:80
scheduler = rr
vrrp = VI_6
check = http, agent
check_interval = 1s
check_timeout = 1s
agent_port = 5555
agent_interval = 1s
real_servers = [${A6[rs1]}]:80, [${A6[rs2]}]:80

[virtual_server stream6]
address = [$VIP6]:$PORT
scheduler = rr
vrrp = VI_6
check = tcp, agent
check_interval = 1s
check_timeout = 1s
agent_port = 5555
agent_interval = 1s
check_source = ${A6[$1]}
real_servers = [${A6[rs1]}]:$PORT, [${A6[rs2]}]:$PORT

[virtual_server web4]
address = $VIP4:80
scheduler = rr
vrrp = VI_4
check = http, agent
check_interval = 1s
check_timeout = 1s
agent_port = 5555
agent_interval = 1s
real_servers = $ADDR_rs1:80, $ADDR_rs2:80"
}
director_conf lb 150
director_conf lb2 100

capture "$TMP/na" 'icmp6 and ip6[40] == 136' -v || { fail "tcpdump listens for neighbour advertisements"; dfinish; }
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord lb2 starts"; dfinish; }
start_dir "$NS_lb" lb "$TMP/lb.ini" || { fail "directord lb starts"; dfinish; }
check "lb is master of VI_6" wait_gently 30 vmaster lb VI_6 MASTER
check "lb is master of VI_4" wait_gently 30 vmaster lb VI_4 MASTER
check "lb2 is backup of VI_6" wait_gently 30 vmaster lb2 VI_6 BACKUP
check "lb holds $VIP6, deprecated, without DAD" \
	bash -c "ip -n '$NS_lb' -6 addr show dev eth0 | grep -q ' $VIP6/64 scope global nodad deprecated'"
src=$(ip -n "$NS_lb" -o route get "${A6[rs1]}" | sed -n 's/.* src \([^ ]*\).*/\1/p')
check "lb's own traffic to rs1 leaves from ${A6[lb]} (src ${src:-none}), not the VIP" [ "$src" = "${A6[lb]}" ]
check "http and agent checks over IPv6 bring both real servers into the kernel" \
	wait_gently 40 dests_are "$NS_lb" "$SVC6" "$BOTH6"
echo "    web6: $(dests_of "$NS_lb" "$SVC6")"
check "... and the IPv4 service's too" wait_gently 20 dests_are "$NS_lb" "$SVC4" "$ADDR_rs1:80:1 $ADDR_rs2:80:1"
check "... and the IPv6 stream service's" \
	wait_gently 20 dests_are "$NS_lb" "-t [$VIP6]:$PORT" "[${A6[rs1]}]:$PORT:1 [${A6[rs2]}]:$PORT:1"
# Checks that passed before lb held the VIP prove nothing: three more
# passes of each, with the VIP on lb's eth0.
passes() { rs_field lb web6 "[${A6[$1]}]:80" passes; }
p1=$(passes rs1) p2=$(passes rs2)
both_pass_more() { local a b; a=$(passes rs1) && b=$(passes rs2) && ((a >= ${p1:-0} + 3 && b >= ${p2:-0} + 3)); }
check "lb's http checks of rs1 and rs2 over IPv6 go on passing with the VIP held (passes ${p1:-?}, ${p2:-?}, then 3 more each)" \
	wait_gently 20 both_pass_more
check "lb's status: rs1 up in web6" rs_state_is lb web6 "[${A6[rs1]}]:80" up
check "lb's status: rs2 up in web6" rs_state_is lb web6 "[${A6[rs2]}]:80" up

# Through the IPv6 VIP: alternating, and replies straight to the client.
ask_n "$NS_cl" "$VIP6" 6 >"$TMP/r6"
check "requests to [$VIP6]:80 alternate between rs1 and rs2 ($(replies "$TMP/r6"))" alternating "$TMP/r6"
nb=$(ip -n "$NS_cl" -6 neigh show "$VIP6" | sed -n 's/.* lladdr \([^ ]*\).*/\1/p')
check "the client resolved $VIP6 to lb's MAC ($MAC_lb), no real server's (${nb:-none})" [ "$nb" = "$MAC_lb" ]
stat6() { in_ns "$NS_lb" ipvsadm -L -n --stats --exact $SVC6 | awk -v f="$1" '$1 == "TCP" { print $f; exit }'; }
inpkts_move() { [ "$(stat6 4)" -gt 0 ]; }
check "IPVS counts the IPv6 service's packets in" wait_gently 10 inpkts_move
check "... and none out: the replies bypassed the director (InPkts $(stat6 4), OutPkts $(stat6 5))" [ "$(stat6 5)" = 0 ]
ask_n "$NS_cl" "$VIP4" 4 >"$TMP/r4"
check "requests to $VIP4:80 alternate too ($(replies "$TMP/r4"))" alternating "$TMP/r4"

# The agent over IPv6 drains rs2.
out=$(in_ns "$NS_rs2" "$RS_AGENT" -f "$TMP/rs2.ini" drain 2>&1); rc=$?
check "rs-agent drain on rs2 ($out)" [ $rc = 0 ]
check "rs2 gets weight 0 in web6 through its agent over IPv6" wait_gently 15 weight_is "$NS_lb" "$SVC6" "[${A6[rs2]}]:80" 0
check "status: rs2 drain in web6" wait_gently 10 rs_state_is lb web6 "[${A6[rs2]}]:80" drain
ask_n "$NS_cl" "$VIP6" 3 >"$TMP/r6d"
check "new requests to the IPv6 VIP all go to rs1 ($(replies "$TMP/r6d"))" all_are "$TMP/r6d" "served by rs1"
in_ns "$NS_rs2" "$RS_AGENT" -f "$TMP/rs2.ini" ready >/dev/null
check "rs-agent ready: rs2 has weight 1 again" wait_gently 15 weight_is "$NS_lb" "$SVC6" "[${A6[rs2]}]:80" 1

# Failover with an IPv6 stream.
LOG=$TMP/stream.log
flowing() {	# the echo advanced since the last call
	local r
	r=$(awk '$1 == "progress" { r = $4 } END { print r + 0 }' "$LOG")
	((r > FLOW_MARK)) || return 1
	FLOW_MARK=$r
}
FLOW_MARK=0
bg_in "$NS_cl" "$TMP/stream.out" "$STREAM" client "$VIP6" "$PORT" "$LOG" 900
STREAM_CLIENT=$LAST_PID
check "an IPv6 stream to [$VIP6]:$PORT starts and flows" wait_gently 20 flowing
check "lb2 learns the IPv6 connection through the sync daemon" \
	wait_gently 30 bash -c "ip netns exec $NS_lb2 ipvsadm -L -n -c | grep -q ' \[$VIP6\]:$PORT '"
# na_seen MAC FROM_MS: an unsolicited NA (override) for the IPv6 VIP from
# MAC to ff02::1 since then.
na_seen() { [ "$(count_pkts "$TMP/na" "^[0-9.]+ $1 > 33:33:00:00:00:01, .*neighbor advertisement, length 32, tgt is $VIP6, Flags \[override\]" "$2")" -gt 0 ]; }
neighbour_of_vip() { ip -n "$NS_cl" -6 neigh show "$VIP6" | sed -n 's/.* lladdr \([^ ]*\).*/\1/p'; }
# move EVENT HOLDER ACTION...: ACTION moves VI_6 to HOLDER, which
# announces the IPv6 VIP, and the stream goes on through it.
move() {
	local event=$1 holder=$2 mac t0 nb; shift 2
	mac=MAC_$holder
	t0=$(now_ms)
	"$@"
	check "$event: $holder is master of VI_6" wait_gently 30 vmaster "$holder" VI_6 MASTER
	check "$event: $holder announced $VIP6: unsolicited NA (override) to ff02::1 from its MAC" \
		wait_gently 10 na_seen "${!mac}" "$t0"
	FLOW_MARK=$(awk '$1 == "progress" { r = $4 } END { print r + 0 }' "$LOG")
	check "$event: the stream flows through $holder" wait_gently 30 flowing
	nb=$(neighbour_of_vip)
	check "$event: the client's neighbour entry for $VIP6 is $holder's MAC (${nb:-none})" [ "$nb" = "${!mac}" ]
}
kill_lb() { local pid=$PID_lb; kill -KILL -- "-$pid" 2>/dev/null; wait_until 10 not kill -0 "$pid"; }
start_lb() { start_dir "$NS_lb" lb "$TMP/lb.ini" || fail "lb starts again"; }
move stop lb2 stop_dir lb TERM
move return lb start_lb
move kill lb2 kill_lb
move return2 lb start_lb
touch "$LOG.stop"
wait_until 60 not kill -0 "$STREAM_CLIENT"
done_line=$(grep '^done ' "$LOG")
echo "    $done_line"
check "every byte of the IPv6 stream came back on the one connection" grep -q '^done .* lost=0 .*error=none$' "$LOG"
stop_capture
dfinish
