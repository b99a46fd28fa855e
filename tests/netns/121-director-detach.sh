#!/usr/bin/env bash
# directord without -n detaches, as rs-agent run -d does (one
# common/daemonize): it returns 0 once the daemon is ready, in a session
# of its own and answering its control socket, and exits 1 when start-up
# fails, with the reason on the terminal. Before, the detached parent
# returned 0 at once and a failed start-up went unseen (the control
# socket of a running directord given to a second one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"

ctl_quiet() { ctl d1 status >/dev/null 2>&1; }
out=$(in_ns "$D1" timeout 20 "$DIRECTORD" -f "$TMP/d1.ini" 2>&1); rc=$?
check "directord detached returns 0 once ready (rc $rc: $out)" [ "$rc" = 0 ]
check "... and its control socket answers" wait_ms 3000 ctl_quiet
pid=$(ctl d1 status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
check "... the daemon ($pid) runs in a session of its own" \
	bash -c "[ -n '$pid' ] && [ \"\$(ps -o sid= -p '$pid' | tr -d ' ')\" = '$pid' ]"
check "... and becomes master" wait_ms 3000 state_is d1 VI_1 MASTER

out=$(in_ns "$D1" timeout 20 "$DIRECTORD" -f "$TMP/d1.ini" 2>&1); rc=$?
check "a second one on the same control socket exits 1 ($rc)" [ "$rc" = 1 ]
check "... and says why on the terminal ($out)" grep -q "another directord is running" <<<"$out"
check "... and that the daemon failed to start" grep -q "directord: the daemon failed to start" <<<"$out"
check "the first one still answers" ctl_quiet
[ -n "$pid" ] && kill -TERM "$pid"
check "SIGTERM stops the detached daemon" wait_ms 5000 not kill -0 "${pid:-0}"
dfinish
