#!/usr/bin/env bash
# Announced services (issue 12), one director on the VM's real IPVS and
# kernel routing, no routing daemon: what directord puts in table 222
# with protocol 222 and on lo is what a routing daemon would export.
# One director lb and one real server rs1 (a TCP server on port 80,
# checked with check = tcp every 300 ms, rise 1, fall 1).
#  - At start, a stale route of table 222 proto 222 (a killed
#    directord's) is removed; a route of another protocol in that table
#    is left alone.
#  - The VIP (route and address on lo) does not appear while rs1 has not
#    answered its check, and appears once it does.
#  - rs1's server killed: quorum lost, route and address go; back: they
#    come back.
#  - directorctl drain-director: they go (--wait returns: no traffic);
#    status says drained; directord restarted (SIGTERM withdraws, the
#    restart keeps it drained: state_dir); enable-director: they come back.
#  - SIGTERM: they go before directord exits.
#  - A second announced service (check = none) whose VIP the
#    administrator put on lo before directord: announced by its route
#    alone; its address stays through drain, restart and stop.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=198.18.0.100 SVC="-t 198.18.0.100:80"
STALE=198.18.0.199 OTHER=198.18.0.198 ADM=198.18.0.197

lan lb rs1
dr_real_server "$NS_rs1" "$VIP"
ip -n "$NS_lb" route add "$STALE/32" dev lo table 222 proto 222 scope link
ip -n "$NS_lb" route add "$OTHER/32" dev lo table 222 proto static scope link
ip -n "$NS_lb" addr add "$ADM/32" dev lo	# the administrator's
adm_on_lo() { ip -n "$NS_lb" -o addr show dev lo | grep -q " $ADM/32 "; }
adm_routed() { ip -n "$NS_lb" route show table 222 proto 222 | grep -q "^$ADM dev lo"; }

routed() { ip -n "$NS_lb" route show table 222 proto 222 | grep -q "^$VIP dev lo"; }
on_lo() { ip -n "$NS_lb" -o addr show dev lo | grep -q " $VIP/32 "; }
announced() { routed && on_lo; }
withdrawn() { ! routed && ! on_lo; }
reason_is() { [ "$(js lb "[v for v in j['lvs']['virtual_servers'] if v['name'] == 'web'][0]['announce_reason']")" = "$1" ]; }

CONF=$TMP/lb.ini
dconf "$CONF" lb "state_dir = $TMP/lb/state" "metrics_listen = 127.0.0.1:9101" "metrics_allow = 127.0.0.1" \
	"[virtual_server web]" "address = $VIP:80" "announce = yes" "check = tcp" "check_interval = 300ms" \
	"check_timeout = 300ms" "check_rise = 1" "check_fall = 1" "real_servers = $ADDR_rs1:80" \
	"[virtual_server adm]" "address = $ADM:80" "announce = yes" "check = none" "real_servers = $ADDR_rs1:80"
check "directord -t accepts the announced service" "$DIRECTORD" -t -f "$CONF"

start_dir "$NS_lb" lb "$CONF" || { fail "directord starts"; dfinish; }
pass "directord starts with rs1's server not running"
stale_gone() { ! ip -n "$NS_lb" route show table 222 proto 222 | grep -q "^$STALE "; }
check "the stale route of table 222 proto 222 is removed at start" wait_gently 10 stale_gone
check "... and logged" grep -q "announce: 1 route(s) of table 222 proto 222 found at start" "$TMP/lb.log"
routes=$(ip -n "$NS_lb" route show table 222)
check "a route of another protocol in table 222 is left alone ($OTHER)" grep -q "^$OTHER dev lo proto static" <<<"$routes"
in_ipvs() { in_ns "$NS_lb" ipvsadm -L -n $SVC; }
check "the service is in IPVS" wait_gently 10 in_ipvs
check "the administrator's VIP on lo is announced by its route" wait_gently 10 adm_routed
check "... and logged as left on withdrawal" grep -q "announce: $ADM announced .*already there: left on withdrawal" "$TMP/lb.log"
sleep 1.5	# several check rounds, all failing
check "not announced while rs1 fails its check (no route, no address)" withdrawn
check "... status says why: no-quorum" reason_is no-quorum

echo_server "$NS_rs1" 80 rs1
RS_PID=$LAST_PID
check "rs1 answers: the VIP is announced (route in table 222 proto 222 and address on lo)" wait_gently 15 announced
ip -n "$NS_lb" route show table 222 proto 222 | sed 's/^/    /'
scrape() {
	in_ns "$NS_lb" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9101 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && timeout 5 cat <&3'
}
has_metric() { scrape | grep -qxF "$1"; }
check "metrics: announced 1, state announced, director not drained" eval \
	'has_metric "dsrkit_lvs_virtual_server_announced{virtual_server=\"web\"} 1" &&
	 has_metric "dsrkit_lvs_virtual_server_announce_state{virtual_server=\"web\",state=\"announced\"} 1" &&
	 has_metric "dsrkit_lvs_virtual_server_announce_state{virtual_server=\"web\",state=\"no_quorum\"} 0" &&
	 has_metric "dsrkit_director_drained 0"'
check "... status says announced" wait_gently 5 js_is lb "[v for v in j['lvs']['virtual_servers'] if v['name'] == 'web'][0]['announced']" True

kill -KILL "$RS_PID"
check "rs1's server killed: quorum lost, route and address withdrawn" wait_gently 15 withdrawn
check "... status says no-quorum" reason_is no-quorum
echo_server "$NS_rs1" 80 rs1
RS_PID=$LAST_PID
check "rs1 back: announced again" wait_gently 15 announced

out=$(ctl lb drain-director --wait=10 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
check "drain-director --wait succeeds (no traffic: the counters stay still)" [ "$rc" = 0 ]
check "... and withdrew the VIP" withdrawn
check "... the administrator's VIP: its route went, its address stays" eval '! adm_routed && adm_on_lo'
check "... status says drained" reason_is drained
check "... director-wide too" js_is lb "j['lvs']['drained']" True
check "... metrics: dsrkit_director_drained 1, state drained" eval \
	'has_metric "dsrkit_director_drained 1" &&
	 has_metric "dsrkit_lvs_virtual_server_announce_state{virtual_server=\"web\",state=\"drained\"} 1"' 
check "the drained state is in state_dir" [ "$(cat "$TMP/lb/state/director-drained" 2>/dev/null)" = drained ]
ino=$(stat -c %i "$TMP/lb/state/director-drained")
ctl lb drain-director >/dev/null 2>&1
check "... written once, not again by each request of --wait or a second drain-director" \
	[ "$(stat -c %i "$TMP/lb/state/director-drained")" = "$ino" ]

stop_dir lb || fail "directord stops on SIGTERM"
start_dir "$NS_lb" lb "$CONF" || { fail "directord restarts"; dfinish; }
sleep 2
check "restarted while drained: still not announced" withdrawn
check "... the administrator's address survived the restart (no start-up sweep)" adm_on_lo
check "... status says drained" reason_is drained
out=$(ctl lb enable-director 2>&1); rc=$?
check "enable-director succeeds ($out)" [ "$rc" = 0 ]
check "... the VIP is announced again" wait_gently 15 announced
check "... and state_dir no longer says drained" not test -e "$TMP/lb/state/director-drained"

stop_dir lb || fail "directord stops on SIGTERM"
check "SIGTERM: route and address withdrawn before directord exits" withdrawn
check "... the administrator's address still on lo, its route gone" eval 'adm_on_lo && ! adm_routed'
grep -E "announce:" "$TMP/lb.log" | sed 's/^/    /'
dfinish
