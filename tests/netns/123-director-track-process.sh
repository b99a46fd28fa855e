#!/usr/bin/env bash
# [track_process]: haproxy from Debian, running as its own unprivileged
# user (haproxy), tracked by two directors that run as dsrkit, where the
# seed setup's `killall -0 haproxy` cannot work (signalling another user's
# process needs CAP_KILL). Each director tracks its own haproxy (told
# apart by its arguments: both share this machine's /proc). In these
# network namespaces the process connector is not there (the kernel serves
# it in the initial network namespace only), so this is the fallback:
# pidfds for exits, a /proc scan for new processes. The connector is
# checked first, as the VRRP engine would use it in the host's namespaces.
#   d1 (150) tracks h1 with weight 0 (Fault), terminate_delay 1s,
#   fork_delay 500ms; d2 (100) tracks h2.
#   Killing h1: d1 stays master for terminate_delay, then goes to Fault
#   and d2 takes over, within terminate_delay + Master_Down + tolerance.
#   Starting h1 again: found by the next scan (at most 1s), then after
#   fork_delay d1 leaves Fault and, with preempt, is master again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

command -v haproxy >/dev/null || { skip "haproxy is not installed"; exit 0; }
id haproxy >/dev/null 2>&1 || { skip "no user haproxy (Debian's haproxy package makes it)"; exit 0; }
command -v setpriv >/dev/null || { skip "setpriv (util-linux) is missing"; exit 0; }

VIP=198.18.0.100
TERMINATE_MS=1000
FORK_MS=500
SCAN_MS=1000		# PROC_WATCH_SCAN_MS
TOL_MS=1500		# scheduling, Master_Down at 100 ms adverts (~340 ms), the status polls

# The other way, the process connector, as the VRRP engine has it (user
# dsrkit, CAP_NET_ADMIN and nothing else): only in the host's initial
# namespaces, which this test must not run directord in (its VIPs would go
# on the host), so the watch itself runs there: the unit test binary,
# which only listens to process events and reads /proc.
PW=$BUILD/tests/test_vrrp_procwatch
if [ ! -x "$PW" ]; then
	skip "process connector: $PW is not built (make unit)"
elif out=$(setpriv --reuid=dsrkit --regid=dsrkit --clear-groups --inh-caps=-all,+net_admin \
	--ambient-caps=+net_admin timeout 60 "$PW" 2>&1); then
	if grep -q "^PASS test_connector_follows_processes" <<<"$out"; then
		pass "process connector: as dsrkit with CAP_NET_ADMIN, processes are followed by events"
	else
		skip "process connector: $(grep "^SKIP test_connector" <<<"$out" | cut -d: -f2-)"
	fi
else
	fail "process watch as dsrkit with CAP_NET_ADMIN: $out"
fi

two_directors

# haproxy_conf TAG ADDR: a config whose path tells the two apart.
haproxy_conf() {
	cat >"$TMP/h-$1.cfg" <<CFG
global
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind $2:8080
    default_backend be
backend be
    server s1 127.0.0.1:9
CFG
	chmod 644 "$TMP/h-$1.cfg"
}

# start_haproxy TAG NS: as the user haproxy, no capabilities; pid in HP_<TAG>.
start_haproxy() {
	bg_in "$2" "$TMP/h-$1.log" setpriv --reuid=haproxy --regid=haproxy --clear-groups --inh-caps=-all \
		haproxy -db -f "$TMP/h-$1.cfg"
	printf -v "HP_$1" '%s' "$LAST_PID"
	wait_until 5 in_ns "$2" bash -c "exec 3<>/dev/tcp/${3}/8080"
}

haproxy_conf h1 198.18.0.1
haproxy_conf h2 198.18.0.2
start_haproxy h1 "$D1" 198.18.0.1 || { fail "haproxy h1 starts"; cat "$TMP/h-h1.log"; dfinish; }
start_haproxy h2 "$D2" 198.18.0.2 || { fail "haproxy h2 starts"; cat "$TMP/h-h2.log"; dfinish; }
check "haproxy runs as its own user, not root or dsrkit" [ "$(ps -o user= -p "$HP_h1")" = haproxy ]

tp() {	# tp TAG: the section tracking haproxy -db -f $TMP/h-TAG.cfg
	printf '%s\n' "[track_process haproxy]" "process = haproxy" "args = -db -f $TMP/h-$1.cfg" \
		"terminate_delay = ${TERMINATE_MS}ms" "fork_delay = ${FORK_MS}ms"
}
dconf "$TMP/d1.ini" d1 "$(tp h1)" "$(vrrp VI_1 eth0 51 150 $VIP/24 "track_process = haproxy")"
dconf "$TMP/d2.ini" d2 "$(tp h2)" "$(vrrp VI_1 eth0 51 100 $VIP/24 "track_process = haproxy")"
check "directord -t accepts the configuration" "$DIRECTORD" -t -f "$TMP/d1.ini"
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup"

P="j['vrrp']['track_processes'][0]"
check "d1 sees one haproxy of its own" wait_ms 3000 js_is d1 "$P['result'], $P['running']" "('up', 1)"
check "d2 sees one of its own" wait_ms 3000 js_is d2 "$P['result'], $P['running']" "('up', 1)"
check "found by pidfds and a /proc scan (no process connector in a network namespace)" \
	js_is d1 "$P['found_by']" "pidfds and a /proc scan"
check "the directors run as dsrkit" [ "$(ps -o user= -p "$(engine_pid d1)")" = dsrkit ]

# Kill h1: d1 holds on for terminate_delay, then d2 takes over.
t0=$(now_ms)
kill -KILL "$HP_h1"
check "d1 counts no haproxy at once (a pidfd event)" wait_ms 1000 js_is d1 "$P['running'], $P['changing']" "(0, True)"
sleep $(((TERMINATE_MS - 300) / 100))e-1
check "d1 is still master within terminate_delay" state_is d1 VI_1 MASTER
check "d2 takes over" wait_ms $((TERMINATE_MS + TOL_MS)) state_is d2 VI_1 MASTER
t_over=$(now_ms)
check "d1 is in Fault" wait_ms 1000 state_is d1 VI_1 FAULT
took=$((t_over - t0))
check "mastership moved after terminate_delay (${TERMINATE_MS} ms) and within it + ${TOL_MS} ms: took $took ms" \
	in_range "$took" "$TERMINATE_MS" $((TERMINATE_MS + TOL_MS))
check "d1 says haproxy is down" js_is d1 "$P['result']" down

# Start it again: d1 finds it, waits fork_delay, and preempts.
t1=$(now_ms)
start_haproxy h1 "$D1" 198.18.0.1 || fail "haproxy h1 starts again"
check "d1 takes mastership back" wait_ms $((SCAN_MS + FORK_MS + TOL_MS + 1000)) state_is d1 VI_1 MASTER
back=$(($(now_ms) - t1))
check "d2 becomes backup" wait_ms 2000 state_is d2 VI_1 BACKUP
check "mastership came back after fork_delay (${FORK_MS} ms) and within a scan (${SCAN_MS} ms) + it + tolerance: took $back ms" \
	in_range "$back" "$FORK_MS" $((SCAN_MS + FORK_MS + TOL_MS + 1000))
check "d1 counts one haproxy again" js_is d1 "$P['result'], $P['running']" "('up', 1)"
check "d2 never lost its own" js_is d2 "$P['result'], $P['running']" "('up', 1)"
dfinish
