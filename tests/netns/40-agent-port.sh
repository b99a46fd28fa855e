#!/usr/bin/env bash
# The agent-check port as a director sees it: up, drain, down for a VIP
# missing, a service not listening on the VIP, and a failing script; and
# nothing at all for an address that is not on the allow list.
. "$(dirname "$0")/lib.sh"

ns_new rs
ns_new dir
RS=$NS_rs DIR=$NS_dir
link_pair "$RS" 198.18.1.2/24 "$DIR" 198.18.1.1/24
in_ns "$DIR" ip addr add 198.18.1.3/24 dev eth0	# not on the allow list

mkdir -p "$TMP/www" && echo hello >"$TMP/www/index.html" && chmod -R a+rX "$TMP/www"
start_web() {	# start_web ADDRESS
	bg_in "$RS" "$TMP/web.log" python3 -m http.server 80 --bind "$1" --directory "$TMP/www"
	WEB_PID=$LAST_PID
}
stop_web() { kill "$WEB_PID" 2>/dev/null; wait "$WEB_PID" 2>/dev/null; }

conf=$TMP/rs.ini
agent=("verify_interval = 200ms" "[agent]" "listen = 0.0.0.0:5555" "allow = 198.18.1.1")
web=("[check web]" "type = http" "port = 80" "interval = 200ms" "timeout = 150ms"
     "rise = 1" "fall = 1" "expect_body = hello")
base=("${agent[@]}" "${web[@]}")
write_rs_config "$conf" rs "198.18.0.10" "${base[@]}"
start_web 198.18.0.10
start_agent "$RS" "$conf" "$TMP/agent.log" || { fail "daemon starts"; finish; }

ask() { in_ns "$DIR" "$TOOLS/tcpquery" -s 198.18.1.1 198.18.1.2 5555; }
reply_is() { [ "$(ask)" = "$1" ]; }
reply_starts() { case "$(ask)" in "$1"*) return 0;; esac; return 1; }
not_in_log() { ! grep -qE "$1" "$TMP/agent.log"; }

check "healthy server replies 'up ready'" wait_until 5 reply_is "up ready"

in_ns "$RS" "$RS_AGENT" -f "$conf" drain >/dev/null
check "after 'rs-agent drain' replies 'drain'" reply_is "drain"
in_ns "$RS" "$RS_AGENT" -f "$conf" ready >/dev/null
check "after 'rs-agent ready' replies 'up ready'" reply_is "up ready"

stop_web
check "web server stopped: down with the check's reason" wait_until 5 reply_starts "down #check web: connect 198.18.0.10:80"
start_web 198.18.1.2
check "web server on the real IP only: still down (DR failure caught)" wait_until 5 reply_starts "down #check web"
sleep 0.5
check "... and stays down" reply_starts "down #check web"
stop_web
start_web 198.18.0.10
check "web server back on the VIP: up" wait_until 5 reply_is "up ready"

# Weight from load: the reply carries a percentage (feedbackd-style).
write_rs_config "$conf" rs "198.18.0.10" "${agent[@]}" "weight_from = loadavg" "min_weight = 10%" \
	"weight_interval = 100ms" "${web[@]}"
kill -HUP "$AGENT_PID"
weighted() { [[ "$(ask)" =~ ^up\ ready\ ([0-9]+)%$ ]] && (( BASH_REMATCH[1] >= 10 && BASH_REMATCH[1] <= 100 )); }
check "weight_from = loadavg: 'up ready N%' with N in [min_weight, 100]" wait_until 5 weighted

# A failing script check, through SIGHUP reload.
write_rs_config "$conf" rs "198.18.0.10" "${base[@]}" \
	"[check script]" "type = script" "command = exit 2" "interval = 200ms" "timeout = 150ms" "rise = 1" "fall = 1"
kill -HUP "$AGENT_PID"
check "failing script check: down" wait_until 5 reply_starts "down #check script: exit 2"

# The VIP removed while repair is off: down, naming the VIP.
write_rs_config "$conf" rs "198.18.0.10" "repair = no" "${base[@]}"
kill -HUP "$AGENT_PID"
check "reload back to healthy config: up" wait_until 5 reply_is "up ready"
in_ns "$RS" ip addr del 198.18.0.10/32 dev lo
check "VIP missing: down #vip ... missing" wait_until 5 reply_is "down #vip 198.18.0.10 missing on lo"

# Not on the allow list: connection closed with no data, and counted.
out=$(in_ns "$DIR" "$TOOLS/tcpquery" -s 198.18.1.3 198.18.1.2 5555 2>/dev/null)
check "address not on the allow list gets no data" [ -z "$out" ]
check "refused connection is counted" \
	bash -c "ip netns exec $RS $RS_AGENT -f $conf status --json | grep -q '\"agent_rejected_addr\":[1-9]'"
check "refusal is logged" wait_until 3 grep -q 'refused 1 connection' "$TMP/agent.log"

# A bad reload keeps the running configuration and logs every error.
printf '[global]\nvips = 198.18.0.10\nbogus = 1\n[agent]\nalow = 1.2.3.4\n' >"$conf"
kill -HUP "$AGENT_PID"
check "bad reload: error for the unknown key is logged" wait_until 3 grep -q "$conf:3: global.bogus: unknown key" "$TMP/agent.log"
check "bad reload: every error is logged (did you mean 'allow')" grep -q "agent.alow: unknown key (did you mean 'allow'?)" "$TMP/agent.log"
check "bad reload: keeps running config" grep -q 'reload refused: the configuration has errors; the running configuration stays in force' "$TMP/agent.log"
check "bad reload: agent still answers" reply_starts "down #vip 198.18.0.10 missing"
out=$(in_ns "$RS" "$RS_AGENT" -f "$conf" reload 2>&1); rc=$?
check "rs-agent reload (systemctl reload) fails on the bad file" [ $rc != 0 ]
check "... and prints the errors" grep -q "$conf:3: global.bogus: unknown key" <<<"$out"

# A file the checks crashed on (issue 14: a [check] path with a missing
# quote left the path NULL; the old agent died of the reload, VIP and
# all): it is checked in a child process first, and refused.
write_rs_config "$conf" rs "198.18.0.10" "${agent[@]}" "[check web]" "type = http" "port = 80" "path = '/health"
line=$(grep -n "^path = '/health" "$conf" | cut -d: -f1)
kill -HUP "$AGENT_PID"
check "reload of a file the old checks crashed on: its error is logged at its line" \
	wait_until 5 grep -qF "$conf:$line: check web.path: missing closing quote" "$TMP/agent.log"
check "... refused: the running configuration stays in force" \
	wait_until 3 test "$(grep -c 'reload refused: the configuration has errors; the running configuration stays in force' "$TMP/agent.log")" = 2
check "... the agent keeps running" kill -0 "$AGENT_PID"
check "... and answering as before" reply_starts "down #vip 198.18.0.10 missing"
out=$(in_ns "$RS" timeout 60 "$RS_AGENT" -f "$conf" reload 2>&1); rc=$?
check "rs-agent reload of that file fails ($rc) and prints the error" \
	bash -c '[ "$1" = 1 ] && grep -qF "$2" <<<"$3"' _ "$rc" "$conf:$line: check web.path: missing closing quote" "$out"
check "... the agent still answers" reply_starts "down #vip 198.18.0.10 missing"
check "... and nothing crashed" not_in_log 'Segmentation|killed by signal'
finish
