#!/usr/bin/env bash
# rs-agent's https check (type = https) against openssl s_server on the
# VIP, as a director sees it on the agent port: up with a certificate the
# CA file trusts; down for an expired one, for a server that never speaks
# TLS (the handshake's timeout), for a server that wants a client
# certificate until the configuration gives one. The client key is read
# when the configuration is loaded: at start as root, at a reload by the
# daemon's unprivileged user, so a key only root can read refuses the
# reload (at its line) until the daemon's group may read it.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { skip "45-check-https: no openssl command (Debian package openssl)"; finish; }

ns_new rs
ns_new dir
RS=$NS_rs DIR=$NS_dir
link_pair "$RS" 198.18.1.2/24 "$DIR" 198.18.1.1/24

C=$TMP/certs
mkdir -p "$C" && chmod 755 "$C"
bash "$(dirname "$0")/../tools/mkcerts.sh" "$C" 198.18.0.10 || { fail "making certificates"; finish; }
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhealthy\n' >"$C/health"

# start_tls NAME [s_server options...]: s_server on VIP:443 with NAME.pem.
start_tls() {
	local name=$1; shift
	bg_in "$RS" "$TMP/tls.log" bash -c 'cd "$1" && shift && exec openssl s_server -quiet -HTTP "$@"' _ "$C" \
		-accept 198.18.0.10:443 -cert "$C/$name.pem" -key "$C/$name.key" "$@"
	TLS_PID=$LAST_PID
}
stop_tls() { kill "$TLS_PID" 2>/dev/null; wait "$TLS_PID" 2>/dev/null; }

conf=$TMP/rs.ini
agent=("verify_interval = 200ms" "[agent]" "listen = 0.0.0.0:5555" "allow = 198.18.1.1")
web=("[check web]" "type = https" "port = 443" "host = www.test" "path = /health" "interval = 200ms"
     "timeout = 150ms" "rise = 1" "fall = 1" "tls_ca_file = $C/ca.pem")
write_rs_config "$conf" rs "198.18.0.10" "${agent[@]}" "${web[@]}"
start_agent "$RS" "$conf" "$TMP/agent.log" || { fail "daemon starts"; finish; }
# s_server binds the VIP, which the agent has put on lo by now.
start_tls server

ask() { in_ns "$DIR" "$TOOLS/tcpquery" -s 198.18.1.1 198.18.1.2 5555; }
reply_is() { [ "$(ask)" = "$1" ]; }
reply_starts() { case "$(ask)" in "$1"*) return 0;; esac; return 1; }

check "https with a trusted certificate for www.test: up" wait_until 10 reply_is "up ready"

stop_tls
start_tls expired
check "expired certificate: down, saying so" \
	wait_until 5 reply_starts "down #check web: TLS handshake: certificate: certificate has expired"

stop_tls
start_tls self
check "self-signed certificate nobody trusts: down" \
	wait_until 5 reply_starts "down #check web: TLS handshake: certificate: self-signed certificate"

stop_tls
# Listening, never accepting: the kernel completes the TCP handshake and
# nobody ever speaks TLS.
bg_in "$RS" "$TMP/silent.log" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.10", 443)); s.listen(16); time.sleep(600)'
SILENT_PID=$LAST_PID
check "a server that never speaks TLS: down at the check's timeout" \
	wait_until 5 reply_starts "down #check web: TLS handshake: timeout after 150 ms"
kill "$SILENT_PID"; wait "$SILENT_PID" 2>/dev/null

start_tls server -Verify 1 -verify_return_error -CAfile "$C/ca.pem"
check "server wants a client certificate, none given: down" \
	wait_until 5 reply_starts "down #check web: TLS read: tlsv13 alert certificate required"

# The client key only root can read: a reload, checked by the daemon's
# user, cannot read it, and is refused at its line.
chmod 600 "$C/client.key"
write_rs_config "$conf" rs "198.18.0.10" "${agent[@]}" "${web[@]}" \
	"tls_cert_file = $C/client.pem" "tls_key_file = $C/client.key"
kill -HUP "$AGENT_PID"
line=$(grep -n '^tls_key_file' "$conf" | cut -d: -f1)
check "reload with a key only root can read: refused at its line" \
	wait_until 5 grep -qF "$conf:$line: check web.tls_key_file: cannot read: Permission denied" "$TMP/agent.log"
check "... still down" reply_starts "down #check web: TLS read"
chgrp dsrkit "$C/client.key" && chmod 640 "$C/client.key"
kill -HUP "$AGENT_PID"
check "key readable by the daemon's group: reload applies, the client certificate makes it up" \
	wait_until 5 reply_is "up ready"
check "the agent never crashed" kill -0 "$AGENT_PID"
finish
