#!/usr/bin/env bash
# OpenSSL is loaded by the processes that have an https check, and by no
# other (common/tls_openssl.h: linked, it cost every process some 1.7 MB):
# rs-agent with a tcp check maps no libssl, and loads it at the reload
# that adds an https check; directord with a tcp check maps it in none of
# its three processes, and a reload that makes the check https loads it in
# the LVS engine only (the parent and the VRRP engine never check).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

command -v openssl >/dev/null || { skip "46-openssl-on-demand: no openssl command (Debian package openssl)"; finish; }

C=$TMP/certs
mkdir -p "$C" && chmod 755 "$C"
bash "$(dirname "$0")/../tools/mkcerts.sh" "$C" 198.18.0.10 || { fail "making certificates"; finish; }

has_ssl() { [ -n "$1" ] && grep -q 'libssl\.so' "/proc/$1/maps"; }
no_ssl() { [ -n "$1" ] && [ -e "/proc/$1/maps" ] && ! has_ssl "$1"; }

# ---- rs-agent ----
ns_new rs
conf=$TMP/rs.ini
check_web() {	# check_web TYPE [line...]
	local type=$1; shift
	write_rs_config "$conf" rs "198.18.0.10" "[agent]" "allow = 198.18.1.1" "[check web]" "type = $type" "port = 443" "interval = 200ms" \
		"timeout = 150ms" "$@"
}
check_web tcp
start_agent "$NS_rs" "$conf" "$TMP/agent.log" || { fail "rs-agent starts"; finish; }
check "rs-agent, a tcp check: no libssl mapped" no_ssl "$AGENT_PID"
check_web https "tls_ca_file = $C/ca.pem"
kill -HUP "$AGENT_PID"
check "rs-agent, reloaded with an https check: libssl mapped" wait_until 5 has_ssl "$AGENT_PID"
check "... and the check runs (down: nothing listens)" \
	wait_until 5 grep -q "check web: down" "$TMP/agent.log"
check "... with no loading error" not grep -q "cannot load OpenSSL" "$TMP/agent.log"

# ---- directord ----
ns_new d1
ns_new peer
link_pair "$NS_d1" 198.18.0.1/24 "$NS_peer" 198.18.0.11/24
vs=("[virtual_server web]" "address = 198.18.0.100:443" "vrrp = VI_1" "real_server = 198.18.0.11:443"
    "check_interval = 1s" "check_timeout = 500ms")
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 198.18.0.100/24)" "${vs[@]}" "check = tcp"
start_director "$NS_d1" d1 "$TMP/d1.ini" || { fail "directord starts"; dfinish; }
wait_ms 3000 state_is d1 VI_1 MASTER || fail "d1 becomes master"
vrrp_pid=$(js d1 "j['vrrp_engine']['pid']") lvs_pid=$(js d1 "j['lvs_engine']['pid']")
for p in parent:$PID_d1 "vrrp engine:$vrrp_pid" "lvs engine:$lvs_pid"; do
	check "directord, a tcp check: no libssl mapped in the ${p%%:*} (${p#*:})" no_ssl "${p#*:}"
done

dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 198.18.0.100/24)" "${vs[@]}" "check = https" \
	"check_ca_file = $C/ca.pem"
out=$(ctl d1 reload 2>&1)
check "reload with an https check: accepted ($out)" [ "$out" = "configuration reloaded" ]
check "the lvs engine (the same, $lvs_pid) maps libssl" \
	wait_until 5 has_ssl "$(js d1 "j['lvs_engine']['pid']")"
[ "$(js d1 "j['lvs_engine']['pid']")" = "$lvs_pid" ] || fail "the lvs engine was not restarted"
check "the parent does not" no_ssl "$PID_d1"
check "the vrrp engine does not" no_ssl "$vrrp_pid"
check "no loading error" not grep -q "cannot load OpenSSL" "$TMP/d1.log"
dfinish
