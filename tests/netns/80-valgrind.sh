#!/usr/bin/env bash
# The daemon under valgrind: start, apply, repair a deleted VIP, answer the
# agent port, the control socket and metrics scrapes (one off the allow
# list), reload, shut down — with no memory
# errors and no leaks.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || { skip "valgrind is not installed"; exit 0; }
ns_new rs
NS=$NS_rs
in_ns "$NS" ip link add eth0 type veth peer name peer0
in_ns "$NS" ip link set eth0 up
conf=$TMP/rs.ini
in_ns "$NS" ip link set lo up
write_rs_config "$conf" rs "198.18.0.10, 2001:db8::10" "verify_interval = 200ms" \
	"metrics_listen = 127.0.0.1:9102" "metrics_allow = 127.0.0.1" \
	"[agent]" "listen = 127.0.0.1:5555" "allow = 127.0.0.1" \
	"[check tcp]" "type = tcp" "address = 127.0.0.1" "port = 5555" "interval = 200ms" "timeout = 150ms" \
	"[check script]" "type = script" "command = exit 0" "interval = 300ms" "timeout = 250ms"
vglog=$TMP/valgrind.log
bg_in "$NS" "$TMP/agent.log" valgrind --quiet --vgdb=no --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	--trace-children=no --log-file="$vglog" "$RS_AGENT" -f "$conf" run
VG_PID=$LAST_PID
wait_until 60 in_ns "$NS" "$RS_AGENT" -f "$conf" status || { fail "daemon starts under valgrind"; cat "$TMP/agent.log"; finish; }
pass "daemon starts under valgrind"
check "agent port answers" wait_until 20 bash -c "[ \"\$(ip netns exec $NS $TOOLS/tcpquery 127.0.0.1 5555)\" = 'up ready' ]"
in_ns "$NS" ip addr del 198.18.0.10/32 dev lo
check "VIP repaired" wait_until 20 bash -c "ip netns exec $NS ip addr show dev lo | grep -q 198.18.0.10/32"
in_ns "$NS" "$RS_AGENT" -f "$conf" drain >/dev/null
in_ns "$NS" "$RS_AGENT" -f "$conf" status --json >/dev/null
in_ns "$NS" "$RS_AGENT" -f "$conf" status >/dev/null
in_ns "$NS" "$RS_AGENT" -f "$conf" reload >/dev/null
scrape() {	# scrape FROM: the HTTP status, or "none"
	in_ns "$NS" timeout 20 python3 -c 'import http.client, sys
try:
    c = http.client.HTTPConnection("127.0.0.1", 9102, timeout=15, source_address=(sys.argv[1], 0))
    c.request("GET", "/metrics"); r = c.getresponse(); b = r.read()
    print(r.status if b"dsrkit_rs_vip_present" in b else "no metrics")
except (http.client.HTTPException, OSError):
    print("none")' "$1"
}
check "metrics scrape answered under valgrind" [ "$(scrape 127.0.0.1)" = 200 ]
check "a scrape off the allow list is not" [ "$(scrape 127.0.0.2)" = none ]
in_ns "$NS" "$RS_AGENT" -f "$conf" ready >/dev/null
sleep 1
kill -TERM "$VG_PID"
rc=0
for _ in $(seq 300); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 0.1; done
wait "$VG_PID"; rc=$?
check "daemon exits cleanly under valgrind (exit $rc)" [ "$rc" = 0 ]
# "==PID==" lines are errors and leaks; "--PID--" lines are valgrind's own
# notes (it lacks pidfd_open, which the loop then does without).
check "valgrind reports no errors or leaks" [ "$(grep -c '^==[0-9]*==' "$vglog")" = 0 ]
grep '^==[0-9]*==' "$vglog" | head -60
finish
