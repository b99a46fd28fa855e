#!/usr/bin/env bash
# Failover that keeps connections: two directors lb (priority 150) and lb2
# (100) with the IPVS sync daemon following VRRP VI_1, two real servers set
# up by rs-agent (VIP on lo, ARP sysctls) each running an echo server on
# VIP:9000, and a client. A long-lived TCP stream through the VIP (1 KiB
# each way every 10 ms, every byte of the echo checked: tests/tools/
# streamcheck) must survive, on one connection with no byte lost:
#   kill    SIGKILL of lb's directord (parent and engines)  -> lb2 master
#   return  lb started again: it preempts                   -> lb master
#   cut     lb's port taken off the switch (its link stays up) -> lb2
#   heal    the port back: lb, higher, is master again
#   stop    SIGTERM of lb (priority 0)                       -> lb2
#   return  lb started again: it preempts                   -> lb
# then the same with persistence (persistence_timeout = 300s, reloaded
# into both directors). For each event the takeover time (the event to the
# VIP on the new holder, from `ip -ts monitor` in both directors) and the
# stream's longest pause around it are printed as
#   FAILOVER <variant> <event> takeover_ms=T stall_ms=S
# for bench/failover.sh; only survival and bytes are asserted here.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=198.18.0.100 PORT=9000
STREAM=$BUILD/tools/streamcheck
[ -x "$STREAM" ] || { fail "$STREAM is built (make)"; dfinish; }

lan cl lb lb2 rs1 rs2
for rs in rs1 rs2; do
	write_rs_config "$TMP/$rs.ini" "$rs" "$VIP" \
		"[agent]" "listen = 0.0.0.0:5555" "allow = $ADDR_lb, $ADDR_lb2" \
		"[check stream]" "type = tcp" "port = $PORT" "interval = 1s" "timeout = 1s"
	ns=NS_$rs
	bg_in "${!ns}" "$TMP/echo-$rs.log" "$STREAM" serve "$PORT"
	start_agent "${!ns}" "$TMP/$rs.ini" "$TMP/agent-$rs.log" || { fail "rs-agent on $rs starts"; dfinish; }
done

# VRRP every second: a TCG VM must not see takeovers of its own making.
PERSIST=()
director_conf() {	# director_conf TAG PRIORITY
	dconf "$TMP/$1.ini" "$1" "ipvs_on_stop = keep" "ipvs_sync_interface = eth0" "ipvs_sync_follow = VI_1" \
		"[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $2" \
		"advert_interval = 1s" "virtual_ipaddress = $VIP/24" "
[virtual_server stream]
address = $VIP:$PORT
scheduler = rr
vrrp = VI_1
check = tcp, agent
check_interval = 1s
check_timeout = 1s
agent_port = 5555
agent_interval = 1s" "${PERSIST[@]}" "real_servers = $ADDR_rs1:$PORT, $ADDR_rs2:$PORT"
}
director_conf lb 150
director_conf lb2 100

for tag in lb lb2; do
	ns=NS_$tag
	bg_in "${!ns}" "$TMP/$tag.mon" ip -ts -4 monitor address dev eth0
done
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord lb2 starts"; dfinish; }
start_dir "$NS_lb" lb "$TMP/lb.ini" || { fail "directord lb starts"; dfinish; }
check "lb is VRRP master" wait_gently 30 vmaster lb VI_1 MASTER
check "lb2 is VRRP backup" wait_gently 30 vmaster lb2 VI_1 BACKUP
both_up() { [ "$(rs_state lb stream "$ADDR_rs1:$PORT")" = up ] && [ "$(rs_state lb stream "$ADDR_rs2:$PORT")" = up ]; }
check "both real servers are up on lb" wait_gently 30 both_up
check "lb runs a master sync daemon, lb2 a backup one" \
	wait_gently 20 bash -c '[ "$(ip netns exec '"$NS_lb"' ipvsadm -L --daemon | cut -d" " -f1)" = master ] &&
		[ "$(ip netns exec '"$NS_lb2"' ipvsadm -L --daemon | cut -d" " -f1)" = backup ]'

# holder_since TAG T_MS: the first time (ms) at or after T_MS that the VIP
# was added on TAG's eth0, from its `ip -ts monitor`; fails when it was not.
holder_since() {
	local line ts t
	while read -r line; do
		[[ $line =~ ^\[([0-9T:.-]+)\]\ [0-9]+:\ eth0\ +inet\ $VIP/ ]] || continue
		ts=${BASH_REMATCH[1]}
		t=$(date -d "$ts" +%s%3N) || continue
		((t >= $2)) && { echo "$t"; return 0; }
	done <"$TMP/$1.mon"
	return 1
}
# longest_stall LOG FROM_MS TO_MS: the stream's longest pause that began
# in [FROM, TO] (0: none over 50 ms).
longest_stall() {
	awk -v a="$2" -v b="$3" '$1 == "stall" && $2 >= a && $2 <= b && $3 > m { m = $3 } END { print m + 0 }' "$1"
}
# flowing LOG: the echo advanced since the last call (the client's
# progress lines, one a second, carry the bytes received so far).
flowing() {
	local r
	r=$(awk '$1 == "progress" { r = $4 } END { print r + 0 }' "$1")
	((r > FLOW_MARK)) || return 1
	FLOW_MARK=$r
}

# event VARIANT NAME NEW_HOLDER ACTION...: run ACTION, wait for the VIP on
# NEW_HOLDER and for the stream to flow again, print the FAILOVER line.
event() {
	local variant=$1 name=$2 holder=$3 t0 t1 stall; shift 3
	t0=$(now_ms)
	"$@"
	if ! wait_gently 30 holder_since "$holder" "$t0"; then
		fail "$variant/$name: the VIP moves to $holder"
		return 1
	fi
	t1=$(holder_since "$holder" "$t0")
	FLOW_MARK=$(awk '$1 == "progress" { r = $4 } END { print r + 0 }' "$LOG")
	check "$variant/$name: the stream flows again after the VIP moved to $holder" wait_gently 30 flowing "$LOG"
	sleep 3	# the old holder's leftovers (ARP caches, a stale VIP) settle
	stall=$(longest_stall "$LOG" $((t0 - 1000)) $((t1 + 30000)))
	echo "FAILOVER $variant $name takeover_ms=$((t1 - t0)) stall_ms=$stall"
}

kill_lb() { local pid=$PID_lb; kill -KILL -- "-$pid" 2>/dev/null; wait_until 10 not kill -0 "$pid"; }
start_lb() { start_dir "$NS_lb" lb "$TMP/lb.ini"; }
cut_lb() { ip -n "$SW" link set lb-eth0 nomaster; }
heal_lb() { ip -n "$SW" link set lb-eth0 master br0; }
term_lb() { stop_dir lb TERM; }

# run_variant NAME: one stream through all six events.
run_variant() {
	local v=$1 done_line
	LOG=$TMP/stream-$v.log FLOW_MARK=0
	bg_in "$NS_cl" "$TMP/stream-$v.out" "$STREAM" client "$VIP" "$PORT" "$LOG" 900
	local client=$LAST_PID
	check "$v: the stream starts and flows" wait_gently 20 flowing "$LOG"
	check "$v: lb2 learns the connection through the sync daemon" \
		wait_gently 30 bash -c "ip netns exec $NS_lb2 ipvsadm -L -n -c | grep -q ' $VIP:$PORT '"
	event "$v" kill lb2 kill_lb
	event "$v" return lb start_lb
	check "$v: lb is master again" wait_gently 30 vmaster lb VI_1 MASTER
	event "$v" cut lb2 cut_lb
	# lb, cut off, is master all along; back on the switch it stays
	# master and lb2 stands down: the VIP was never removed from lb.
	local t_heal
	t_heal=$(now_ms)
	heal_lb
	check "$v/heal: lb2 stands down" wait_gently 30 vmaster lb2 VI_1 BACKUP
	FLOW_MARK=$(awk '$1 == "progress" { r = $4 } END { print r + 0 }' "$LOG")
	check "$v/heal: the stream flows" wait_gently 30 flowing "$LOG"
	sleep 3
	# a stall is logged when it ends: the heal's is read once the stream is done
	local t_heal_end
	t_heal_end=$(now_ms)
	event "$v" stop lb2 term_lb
	event "$v" return2 lb start_lb
	check "$v: lb is master at the end" wait_gently 30 vmaster lb VI_1 MASTER
	touch "$LOG.stop"
	wait_until 60 not kill -0 "$client"
	echo "FAILOVER $v heal takeover_ms=- stall_ms=$(longest_stall "$LOG" $((t_heal - 1000)) "$t_heal_end")"
	done_line=$(grep '^done ' "$LOG")
	echo "    $v: $done_line"
	check "$v: every byte came back on the one connection ($done_line)" \
		grep -q '^done .* lost=0 .*error=none$' "$LOG"
}

run_variant plain
PERSIST=("persistence_timeout = 300s")
director_conf lb 150
director_conf lb2 100
check "lb reloads with persistence_timeout = 300s" ctl lb reload
check "lb2 reloads with persistence_timeout = 300s" ctl lb2 reload
check "the service is persistent on lb" wait_gently 20 bash -c "ip netns exec $NS_lb ipvsadm -L -n | grep -q 'persistent 300'"
run_variant persistent
dfinish
