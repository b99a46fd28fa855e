#!/usr/bin/env bash
# A restart adopts the kernel's IPVS state: connections are untouched.
# A client streams over one long-lived TCP connection through the VIP to
# an echo server on a real server (a line every 50 ms, each echo read
# back). Meanwhile (1) directord is stopped with SIGTERM (ipvs_on_stop =
# keep) and started again, and (2) its LVS engine alone is SIGKILLed and
# restarted by the parent. Throughout, the destinations are never removed
# or changed (sampled every 20 ms from /proc/net/ip_vs, and with ipvsadm
# -L -n as fast as it runs), the connection's destination keeps its IPVS
# connection entry and counters, the echoes keep coming (also while no
# directord runs at all), and the restarted engines send 0 operations.
# The director also runs VRRP (VI_1, its own VIP 198.18.0.101, a backup
# director lb2 beside it): across the LVS engine's crash the VRRP engine
# is the same process, MASTER throughout with no transition, its VIP never
# gone, and the backup never takes over.
# The service VIP 198.18.0.100 is on the director's eth0 statically, not
# through VRRP: a stopped directord withdraws its VRRP VIPs, and part (1)
# is about the IPVS table alone.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=198.18.0.100 VIP2=198.18.0.101 PORT=9000
SVC="-t $VIP:$PORT"
DESTS="198.18.0.11:$PORT:1 198.18.0.12:$PORT:2"

lan cl lb lb2 rs1 rs2
LB=$NS_lb
ip -n "$LB" addr add "$VIP/32" dev eth0
for rs in rs1 rs2; do
	ns=NS_$rs
	dr_real_server "${!ns}" "$VIP"
	echo_server "${!ns}" "$PORT"
done

# VRRP every second (not director-lib's 100 ms): lb2 must not take over
# for no reason, and with a 361 ms Master_Down a busy TCG VM (a python
# sampler, ipvsadm forks, the stream, two directors) now and then starves
# lb's adverts that long. A 3.6 s stall would be a real fault.
vrrp1s() { printf '%s\n' "[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $1" \
	"advert_interval = 1s" "virtual_ipaddress = $VIP2/24"; }
dconf "$TMP/lb.ini" lb "ipvs_on_stop = keep" "$(vrrp1s 150)" "
[virtual_server stream]
address = $VIP:$PORT
scheduler = rr
check = tcp
check_interval = 500ms
check_timeout = 500ms
check_rise = 1
check_fall = 2
real_servers = 198.18.0.11:$PORT, 198.18.0.12:$PORT weight=2"
dconf "$TMP/lb2.ini" lb2 "$(vrrp1s 100)"

start_dir "$LB" lb "$TMP/lb.ini" || { fail "directord lb starts"; dfinish; }
check "lb becomes VRRP master" wait_gently 15 vmaster lb VI_1 MASTER
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord lb2 starts"; dfinish; }
check "lb2 becomes VRRP backup" wait_gently 15 vmaster lb2 VI_1 BACKUP
check "both real servers pass their TCP check and are in the kernel ($(dests_of "$LB" "$SVC"))" \
	wait_until 20 dests_are "$LB" "$SVC" "$DESTS"
echo "    first start: $(ops_line_after lb 0)"

stream_client "$NS_cl" "$VIP" "$PORT" "$TMP/stream" || { fail "a client connects to $VIP:$PORT"; cat "$TMP/stream"; dfinish; }
pass "a client connects to $VIP:$PORT through IPVS"
check "its echoes come back" wait_until 20 bash -c "[ \$(awk '\$1 == \"progress\" { n = \$2 } END { print n + 0 }' '$TMP/stream') -ge 10 ]"
conn=$(in_ns "$LB" ipvsadm -L -n -c | awk -v v="$VIP:$PORT" '$1 == "TCP" && $3 == "ESTABLISHED" && $5 == v { print $4, $6; exit }')
CLIENT=${conn% *} RS=${conn#* }
check "IPVS has the connection ESTABLISHED from ${CLIENT:-?} to ${RS:-?}" [ -n "$conn" ]
dest_conns() { in_ns "$LB" ipvsadm -L -n --stats --exact $SVC | awk -v d="$RS" '$1 == "->" && $2 == d { print $3 }'; }
conns0=$(dest_conns)
save0=$(ipvs_save "$LB")
t_begin=$(now_ms)
ipvs_sampler "$LB" "$TMP/samples" "$VIP2"
ipvsadm_sampler "$LB" "$SVC" "$TMP/ipvsadm-samples"
sleep 0.5

# (1) directord stopped (keep) and started again.
n0=$(stream_echoes "$TMP/stream")
t_stop=$(now_ms)
check "SIGTERM: directord exits" stop_dir lb TERM
sleep 2
n1=$(stream_echoes "$TMP/stream")
check "while no directord runs, the echoes go on ($n0 -> $n1 in 2 s)" [ "$((n1 - n0))" -ge 10 ]
check "... and the kernel's table is as it was" [ "$(ipvs_save "$LB")" = "$save0" ]
mv "$TMP/lb.log" "$TMP/lb-1.log"
t_restart=$(now_ms)
start_dir "$LB" lb "$TMP/lb.ini" || { fail "directord lb starts again"; dfinish; }
check "the new LVS engine logs its reconcile" wait_until 20 has_ops_after lb 0
echo "    $(ops_line_after lb 0)"
check "... with 0 operations: the kernel's service and destinations are adopted" [ "$(ops_after lb 0)" = "0 0" ]
check "lb is VRRP master again" wait_gently 15 vmaster lb VI_1 MASTER
check "lb2 is backup again" wait_gently 15 vmaster lb2 VI_1 BACKUP
sleep 1.5	# three check intervals: the adopted servers are confirmed
check "after the restart's first checks the table is still as it was" [ "$(ipvs_save "$LB")" = "$save0" ]

# (2) The LVS engine alone is killed; the parent restarts it.
vrrp_pid=$(vrrp_engine_pid lb) lvs_pid=$(lvs_engine_pid lb)
st_lb=$(vstate lb VI_1) st_lb2=$(vstate lb2 VI_1)
lvs_ppid=$(ps -o ppid= -p "${lvs_pid:-0}" | tr -d ' ')
check "the LVS engine (${lvs_pid:-none}) is a child of the directord parent ($PID_lb), beside the VRRP engine (${vrrp_pid:-none})" \
	[ "${lvs_ppid:-none}:$([ "${lvs_pid:-0}" != "${vrrp_pid:-0}" ] && echo other)" = "$PID_lb:other" ]
n2=$(stream_echoes "$TMP/stream")
nops=$(ops_count lb)
t_kill=$(now_ms)
kill -KILL "$lvs_pid"
new_engine() { local p; p=$(lvs_engine_pid lb); [ "${p:-0}" != 0 ] && [ "$p" != "$lvs_pid" ]; }
check "the parent starts a new LVS engine" wait_until 15 new_engine
new_pid=$(lvs_engine_pid lb)
echo "    LVS engine $lvs_pid -> ${new_pid:-none}; the log says:"
grep -iE "lvs engine" "$TMP/lb.log" | tail -3 | sed 's/^/      /'
check "the parent survives" kill -0 "$PID_lb"
check "the parent logs the engine's death by signal 9" grep -qiE "lvs engine.*(killed by signal 9|signal 9)" "$TMP/lb.log"
check "the new LVS engine logs its reconcile" wait_until 20 has_ops_after lb "$nops"
echo "    $(ops_line_after lb "$nops")"
check "... with 0 operations (adopted)" [ "$(ops_after lb "$nops")" = "0 0" ]
sleep 1.5
check "the VRRP engine is the same process ($vrrp_pid)" [ "$(vrrp_engine_pid lb)" = "$vrrp_pid" ]
check "VI_1 is still MASTER on lb with no new transition (${st_lb#* })" vstate_is lb VI_1 "MASTER ${st_lb#* }"
check "lb2 stayed BACKUP with no new transition (${st_lb2#* })" vstate_is lb2 VI_1 "BACKUP ${st_lb2#* }"
n3=$(stream_echoes "$TMP/stream")
check "the echoes went on across the engine's restart ($n2 -> $n3)" [ "$((n3 - n2))" -ge 10 ]
touch "$TMP/samples.stop" "$TMP/ipvsadm-samples.stop"
wait_until 10 not kill -0 "$IPVS_SAMPLER_PID"
wait_until 10 not kill -0 "$IPVSADM_SAMPLER_PID"

# What the samples saw.
base=$(awk 'NR == 1 { print $2 }' "$TMP/samples")
check "the first /proc/net/ip_vs sample has both destinations ($base)" \
	[ "$(tr ',' '\n' <<<"$base" | grep -c '/Route/')" = 2 ]
check "every /proc/net/ip_vs sample (20 ms apart, $(samples_count "$TMP/samples") in all) shows them unchanged" \
	samples_all "$TMP/samples" 2 "$base"
check "... $(samples_count "$TMP/samples" "$t_stop") of them from the stop on, $(samples_count "$TMP/samples" "$t_kill") from the kill on" \
	[ "$(samples_count "$TMP/samples" "$t_kill")" -ge 10 ]
check "VI_1's VIP $VIP2 is on lb in every sample from the engine's kill on" samples_all "$TMP/samples" 3 1 "$t_kill"
check "every ipvsadm -L -n sample ($(samples_count "$TMP/ipvsadm-samples") in all, $(samples_count "$TMP/ipvsadm-samples" "$t_kill") from the kill on) shows both destinations, weights 1 and 2" \
	samples_all "$TMP/ipvsadm-samples" 2 "${DESTS// /,}"

conns1=$(dest_conns)
check "$RS's connection counter was never reset (a removed and re-added destination starts at 0): $conns0 -> $conns1" \
	[ "${conns1:-0}" -ge "${conns0:-1}" ]
conn_now=$(in_ns "$LB" ipvsadm -L -n -c | awk -v c="$CLIENT" '$1 == "TCP" && $4 == c { print $3, $6; exit }')
check "IPVS still has the connection, ESTABLISHED to $RS ($conn_now)" [ "$conn_now" = "ESTABLISHED $RS" ]
touch "$TMP/stream.stop"
wait_until 10 grep -qE '^(done|error)' "$TMP/stream"
last=$(tail -1 "$TMP/stream")
echo "    client: $last"
set -- $last
check "the client's connection lived through it all: every echo right, none lost" [ "${1:-}" = done ]
# When the longest wait began, against the events; and whether the
# client had to retransmit (packets lost) or the VM merely stalled.
at=${4:-0}
echo "    longest wait for an echo: ${3:-?} ms, from $((at - t_stop)) ms after the stop ($((t_restart - t_stop)) ms: the restart; $((t_kill - t_stop)) ms: the engine's kill)"
echo "    client's TCP retransmissions: $(in_ns "$NS_cl" nstat -az TcpRetransSegs 2>/dev/null | awk '$1 == "TcpRetransSegs" { print $2 }')"
check "the longest wait for an echo stayed below 5 s (${3:-?} ms; the host's load stalls TCG for seconds at times)" \
	[ "${3:-99999}" -lt 5000 ]
check "the table is as it was at the beginning" [ "$(ipvs_save "$LB")" = "$save0" ]
dfinish
