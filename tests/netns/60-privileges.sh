#!/usr/bin/env bash
# The running daemon is not root and holds only CAP_NET_ADMIN; its control
# socket has the owner and mode asked for.
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10" "control_mode = 0600" "[agent]" "listen = 127.0.0.1:5555" "allow = 127.0.0.1" \
	"[check script]" "type = script" "command = grep -q '^CapEff:.0000000000000000' /proc/self/status && [ \$(id -u) != 0 ]" \
	"interval = 200ms" "timeout = 150ms" "rise = 1" "fall = 1"
start_agent "$NS" "$conf" "$TMP/agent.log" || { fail "daemon starts"; finish; }
status=/proc/$AGENT_PID/status
uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$status")
duid=$(id -u dsrkit)
check "real, effective, saved and fs uid are dsrkit's, the default user ($uid)" [ "$uid" = "$duid $duid $duid $duid" ]
check "effective capabilities: only CAP_NET_ADMIN" grep -q '^CapEff:.0000000000001000$' "$status"
check "permitted capabilities: only CAP_NET_ADMIN" grep -q '^CapPrm:.0000000000001000$' "$status"
check "no inheritable or ambient capabilities" bash -c "grep -q '^CapInh:.0000000000000000$' $status && grep -q '^CapAmb:.0000000000000000$' $status"
sock=$TMP/rs/ctl.sock
check "control socket mode 0600" [ "$(stat -c %a "$sock")" = 600 ]
check "control socket owned by root" [ "$(stat -c %u "$sock")" = 0 ]
check "check script runs unprivileged with no capabilities" \
	wait_until 5 bash -c "[ \"\$(ip netns exec $NS $TOOLS/tcpquery 127.0.0.1 5555)\" = 'up ready' ]"
stop_agent "$AGENT_PID"
finish
