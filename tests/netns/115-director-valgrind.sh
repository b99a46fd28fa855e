#!/usr/bin/env bash
# directord under valgrind, parent and VRRP engine (a forked child, which
# valgrind follows): start as backup, receive adverts, take over when the
# peer stops, add VIPs and routes, run a track and a notify script, count
# processes, answer status and metrics scrapes, reload with an instance
# added, restart a killed engine,
# shut down; no memory errors and no leaks in either process.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

command -v valgrind >/dev/null || { skip "valgrind is not installed"; exit 0; }
VIP=198.18.0.100 VIP2=198.18.0.101
two_directors
install -m 755 /dev/null "$TMP/notify.sh"
printf '#!/bin/sh\nexit 0\n' >"$TMP/notify.sh"
slow() {	# one instance at 1 s: valgrind slows everything down
	vrrp "$@" | sed 's/^advert_interval = .*/advert_interval = 1s/'
}
# [track_process]: its thread, under valgrind (no pidfd_open there: the
# scan counts), and bash, which this test runs in, is always there.
base=("metrics_listen = 198.18.0.1:9101" "metrics_allow = 198.18.0.1" "[track_script chk]" "command = true" "interval = 500ms" "weight = 2"
	"[track_process sh]" "process = bash" "weight = 1"
	"$(slow VI_1 eth0 51 100 $VIP/24 "track_script = chk" "track_process = sh" "notify = $TMP/notify.sh" \
		"virtual_routes = blackhole 198.18.61.0/24")")
dconf "$TMP/d1.ini" d1 "${base[@]}"
dconf "$TMP/d2.ini" d2 "$(slow VI_1 eth0 51 200 $VIP/24)"

start_director "$D2" d2 "$TMP/d2.ini" || { fail "d2 starts"; dfinish; }
check "d2 (200) becomes master" wait_ms 5000 state_is d2 VI_1 MASTER
# The processes run as dsrkit after the privilege drop: their logs too.
install -d -o dsrkit -m 755 "$TMP/vg"
bg_in "$D1" "$TMP/d1.log" valgrind --quiet --vgdb=no --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	--trace-children=no --child-silent-after-fork=no --log-file="$TMP/vg/%p" \
	"$DIRECTORD" -n -f "$TMP/d1.ini"
PID_d1=$LAST_PID
if ! wait_until 60 ctl d1 status >/dev/null; then fail "d1 starts under valgrind"; dfinish; fi
pass "d1 starts under valgrind"
check "d1 (100+2+1) is backup, following d2" wait_ms 20000 state_is d1 VI_1 BACKUP
check "d1's track_process counts bash" wait_ms 10000 js_is d1 "j['vrrp']['track_processes'][0]['result']" up
check "d1 receives d2's adverts" wait_ms 10000 js_gt d1 "I['vi_1']['rx']" 2
ctl d1 status >/dev/null; ctl d1 status --json >/dev/null
scraped() {	# a scrape has the VRRP state
	in_ns "$D1" timeout 20 "$PY" -c 'import urllib.request, sys
sys.exit(b"dsrkit_vrrp_state{" not in urllib.request.urlopen("http://198.18.0.1:9101/metrics", timeout=15).read())'
}
check "d1 answers a metrics scrape under valgrind" scraped
stop_director d2 || fail "d2 stops"
check "d2 stopped: d1 takes over" wait_ms 20000 state_is d1 VI_1 MASTER
check "... with its VIP and route" wait_ms 5000 bash -c "ip -n $D1 -o addr show dev eth0 | grep -q ' $VIP/24 ' && ip -n $D1 route show | grep -q '^blackhole 198.18.61.0/24'"

dconf "$TMP/d1.ini" d1 "${base[@]}" "$(slow VI_2 eth0 52 100 $VIP2/24)"
out=$(ctl d1 reload 2>&1)
check "reload with VI_2 added ($out)" [ "$out" = "configuration reloaded" ]
check "VI_2 becomes master (no peer)" wait_ms 20000 state_is d1 VI_2 MASTER
kill -HUP "$PID_d1"
sleep 1
eng=$(pgrep -P "$PID_d1" | head -1)
if [ -n "$eng" ]; then kill -KILL "$eng"; else fail "the engine runs"; eng=none; fi
check "a killed engine is restarted" wait_ms 30000 bash -c "p=\$(pgrep -P $PID_d1 | head -1); [ -n \"\$p\" ] && [ \"\$p\" != '$eng' ]"
check "... and takes both instances back to master" wait_ms 30000 bash -c \
	"[ \"\$($PY -c 'import json,sys; j=json.load(sys.stdin); print(sorted(i[\"state\"] for i in j[\"vrrp\"][\"instances\"]))' < <($DIRECTORCTL -s $TMP/d1/ctl.sock status --json 2>/dev/null))\" = \"['MASTER', 'MASTER']\" ]"
ctl d1 status >/dev/null
check "d1 answers a metrics scrape after the reload and the restart" scraped
kill -TERM "$PID_d1"
rc=0
for _ in $(seq 300); do kill -0 "$PID_d1" 2>/dev/null || break; sleep 0.1; done
wait "$PID_d1"; rc=$?
check "d1 exits cleanly under valgrind (exit $rc)" [ "$rc" = 0 ]
check "d1 removed its VIPs and route on the way out" bash -c "! ip -n $D1 -o addr show dev eth0 | grep -q ' $VIP/24 ' && ! ip -n $D1 route show | grep -q blackhole"
logs=("$TMP"/vg/*)
# One log per process: the parent, the killed engine, the new engine.
check "valgrind followed the parent and both engines (${#logs[@]} logs)" [ "${#logs[@]}" -ge 3 ]
# "==PID==" lines are errors and leaks; "--PID--" lines are valgrind's own
# notes. The engine killed with SIGKILL never reached its exit, so it has
# nothing to say about leaks.
check "valgrind reports no errors or leaks" [ "$(cat "${logs[@]}" | grep -c '^==[0-9]*==')" = 0 ]
cat "${logs[@]}" | grep '^==[0-9]*==' | head -60
dfinish
