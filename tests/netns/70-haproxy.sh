#!/usr/bin/env bash
# Interop with a client no one here wrote: HAProxy from Debian runs
# agent-check against rs-agent; its own stats socket must show the server
# UP, then DRAIN after `rs-agent drain`, then DOWN once the VIP is gone and
# the agent is not allowed to repair it.
. "$(dirname "$0")/lib.sh"

command -v haproxy >/dev/null || { skip "haproxy is not installed"; exit 0; }
ns_new rs
ns_new lb
RS=$NS_rs LB=$NS_lb
link_pair "$RS" 198.18.1.2/24 "$LB" 198.18.1.1/24

mkdir -p "$TMP/www" && echo hello >"$TMP/www/index.html" && chmod -R a+rX "$TMP/www"
bg_in "$RS" "$TMP/web.log" python3 -m http.server 80 --bind 0.0.0.0 --directory "$TMP/www"

conf=$TMP/rs.ini
agent_conf() {
	write_rs_config "$conf" rs "198.18.0.10" "$@" "verify_interval = 200ms" \
		"[agent]" "listen = 198.18.1.2:5555" "allow = 198.18.1.1" \
		"[check web]" "type = http" "port = 80" "interval = 200ms" "timeout = 150ms" "rise = 1" "fall = 1"
}
agent_conf
start_agent "$RS" "$conf" "$TMP/agent.log" || { fail "rs-agent starts"; finish; }

cat >"$TMP/haproxy.cfg" <<CFG
global
    stats socket $TMP/haproxy.sock mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:8080
    default_backend web
backend web
    server rs1 198.18.1.2:80 check inter 300ms agent-check agent-port 5555 agent-inter 300ms
CFG
bg_in "$LB" "$TMP/haproxy.log" haproxy -db -f "$TMP/haproxy.cfg"
wait_until 10 test -S "$TMP/haproxy.sock" || { fail "haproxy starts"; cat "$TMP/haproxy.log"; finish; }

# "show servers state web": field 6 operational state (2 running, 0 stopped),
# field 7 admin state (bit 0x08: drained by the agent), field 8 weight.
server_state() { "$TOOLS/unixquery" "$TMP/haproxy.sock" "show servers state web" | awk '$4 == "rs1" {print $6, $7, $8}'; }
op_is() { [ "$(server_state | cut -d' ' -f1)" = "$1" ]; }
drained() { local a; a=$(server_state | cut -d' ' -f2); [ -n "$a" ] && (( (a & 8) != 0 )); }
not_drained() { local a; a=$(server_state | cut -d' ' -f2); [ -n "$a" ] && (( (a & 8) == 0 )); }

check "HAProxy shows rs1 UP" wait_until 10 op_is 2
check "HAProxy shows rs1 not drained" not_drained

in_ns "$RS" "$RS_AGENT" -f "$conf" drain >/dev/null
check "after rs-agent drain HAProxy shows rs1 in DRAIN" wait_until 10 drained
in_ns "$RS" "$RS_AGENT" -f "$conf" ready >/dev/null
check "after rs-agent ready HAProxy leaves DRAIN" wait_until 10 not_drained
check "still UP" op_is 2

agent_conf "repair = no"
kill -HUP "$AGENT_PID"
sleep 0.5
in_ns "$RS" ip addr del 198.18.0.10/32 dev lo
check "VIP removed, repair off: HAProxy shows rs1 DOWN" wait_until 10 op_is 0
check "the web server itself still answers on the real IP (only the agent said down)" \
	bash -c "ip netns exec $LB $TOOLS/tcpquery 198.18.1.2 80 </dev/null >/dev/null"
finish
