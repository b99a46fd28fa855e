#!/usr/bin/env bash
# A reload must never end the running director (issue 14). A [vrrp]
# section without interface made the checks read a NULL: `directord -t`
# crashed, and SIGHUP or `directorctl reload` with that file ended the
# whole daemon (parent and engines gone, no log line). Now the file is
# checked in a child process first and refused: by SIGHUP and by
# directorctl reload the daemon keeps running, the same engine keeps the
# instance master with its VIP, the log says why, directorctl reload
# prints the error; the refused file never reaches the engine. Then a
# good reload during which the engine is killed: the reply says so and
# the supervision starts a new engine, with the new file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100 VIP2=198.18.0.101
switch_new
ns_new d1
D1=$NS_d1
join "$D1" eth0 br0 02:00:00:00:01:01 198.18.0.1/24
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
good=$(cat "$TMP/d1.ini")
start_director "$D1" d1 "$TMP/d1.ini" || { fail "directord starts"; dfinish; }
check "d1 becomes master of VI_1 (no peer)" wait_ms 3000 state_is d1 VI_1 MASTER
check "... with its VIP" has_addr "$D1" eth0 $VIP
eng=$(engine_pid d1) tr=$(field d1 VI_1 transitions)
sampler "$TMP/samples" $VIP "$D1"
t_begin=$(now_ms)
alive() { kill -0 "$PID_d1" 2>/dev/null && ctl d1 status >/dev/null 2>&1; }
untouched() {	# same engine, still master, no transition, VIP there, old config only
	js_is d1 "j['vrrp_engine']['pid'], j['vrrp_engine']['restarts'], I['vi_1']['state'], I['vi_1']['transitions'], sorted(I)" \
		"(${eng:-none}, 0, 'MASTER', $tr, ['vi_1'])" && has_addr "$D1" eth0 $VIP
}

# The file from the issue: the old code crashed on it.
bad="$TMP/d1.ini"
dconf "$bad" d1 "[vrrp a]" "virtual_router_id=5" "priority=100" "virtual_ipaddress=198.18.0.105/32"
line=$(grep -n '^\[vrrp a\]' "$bad" | cut -d: -f1)

# 1. SIGHUP.
kill -HUP "$PID_d1"
check "SIGHUP with a [vrrp] without interface: the error is logged at its line" \
	wait_ms 5000 grep -qF "$bad:$line: vrrp a.interface: missing required key" "$TMP/d1.log"
check "... and why it is refused" \
	wait_ms 3000 grep -q 'reload refused: the configuration has errors; the running configuration stays in force' "$TMP/d1.log"
check "... the daemon keeps running and answers" alive
check "... the same engine keeps VI_1 master with its VIP, no transition, no new instance" untouched

# 2. directorctl reload.
out=$(timeout 60 "$DIRECTORCTL" -s "$(sock_of d1)" reload 2>&1); rc=$?
check "directorctl reload of that file exits non-zero ($rc)" [ "$rc" != 0 ] && [ "$rc" != 124 ]
check "... and prints FILE:LINE: section.key: message" grep -qF "$bad:$line: vrrp a.interface: missing required key" <<<"$out"
echo "$out" | sed 's/^/    | /'
check "... the daemon keeps running and answers" alive
check "... the same engine keeps VI_1 master with its VIP" untouched
check "the refused file never reached the engine (no reload there)" \
	not grep -q 'configuration reloaded' "$TMP/d1.log"
check "no process crashed (no engine restart, no signal logged)" not grep -qiE 'killed by signal|restarting the' "$TMP/d1.log"

# 3. A good file, and the engine dies during its reload: the parent
# replies, and its supervision starts a new engine with the new file.
printf '%s\n' "$good" "$(vrrp VI_2 eth0 52 150 $VIP2/24)" >"$TMP/d1.ini"
t_kill=$(now_ms)
kill -SEGV "$eng"
out=$(timeout 60 "$DIRECTORCTL" -s "$(sock_of d1)" reload 2>&1); rc=$?
check "reload while the engine dies: directorctl gets an answer ($rc: $out)" [ "$rc" != 124 ]
check "... the parent restarts the engine" wait_ms 5000 grep -q 'restarting the vrrp engine' "$TMP/d1.log"
check "... the new engine runs the new file: VI_1 and VI_2 master" \
	wait_ms 5000 js_is d1 "str(sorted((n, i['state']) for n, i in I.items()))" "[('vi_1', 'MASTER'), ('vi_2', 'MASTER')]"
check "... a new engine, one restart counted" \
	js_is d1 "j['vrrp_engine']['pid'] != ${eng:-0}, j['vrrp_engine']['restarts']" "(True, 1)"
check "... both VIPs on d1" has_addr "$D1" eth0 $VIP2
check "... VI_1's too" has_addr "$D1" eth0 $VIP
stop_sampler "$SAMPLER_PID"
check "VI_1's VIP stayed on d1 through both refused reloads (every sample until the engine was killed)" \
	always "$TMP/samples" "$t_begin" "$t_kill" "1"
dfinish
