#!/usr/bin/env bash
# The admin state survives restarts: drained stays drained until `ready`,
# whether set through the running daemon or while it was stopped.
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10" "[agent]" "listen = 127.0.0.1:5555" "allow = 127.0.0.1"
ask() { in_ns "$NS" "$TOOLS/tcpquery" 127.0.0.1 5555; }

start_agent "$NS" "$conf" "$TMP/a1.log" || { fail "daemon starts"; finish; }
check "starts up ready" [ "$(ask)" = "up ready" ]
in_ns "$NS" "$RS_AGENT" -f "$conf" drain >/dev/null
check "drained through the daemon" [ "$(ask)" = "drain" ]
stop_agent "$AGENT_PID"

start_agent "$NS" "$conf" "$TMP/a2.log" || { fail "daemon restarts"; finish; }
check "still drained after a restart" [ "$(ask)" = "drain" ]
check "status shows the admin state" bash -c "ip netns exec $NS $RS_AGENT -f $conf status | grep -q '^admin state: *drain'"
in_ns "$NS" "$RS_AGENT" -f "$conf" ready >/dev/null
check "ready again" [ "$(ask)" = "up ready" ]
stop_agent "$AGENT_PID"

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" maint 2>&1)
check "maint while stopped is saved" grep -q 'saved; the agent is not running' <<<"$out"
start_agent "$NS" "$conf" "$TMP/a3.log" || { fail "daemon starts again"; finish; }
check "starts in maint" [ "$(ask)" = "maint" ]
stop_agent "$AGENT_PID"
finish
