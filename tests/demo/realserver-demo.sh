#!/usr/bin/env bash
# `make demo`: a DR real server in a network namespace, run by rs-agent,
# seen from a "director" namespace the way directord (or HAProxy) sees it.
# Cleans up after itself and exits 0 only if every step behaved.
set -u
BUILD=$(cd "${1:-build}" && pwd)
export BUILD
. "$(dirname "$0")/../netns/lib.sh"

[ "$(id -u)" = 0 ] || { echo "the demo needs root (it creates network namespaces)"; exit 1; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step() { local desc=$1; shift; if "$@"; then echo "   ok: $desc"; else echo "   FAILED: $desc"; FAILED=1; fi; }

say "Two namespaces: a director (198.18.1.1) and a real server (198.18.1.2), VIP 198.18.0.10"
ns_new rs; ns_new dir
link_pair "$NS_rs" 198.18.1.2/24 "$NS_dir" 198.18.1.1/24
# The director routes VIP traffic to the real server's MAC, as IPVS-DR does.
in_ns "$NS_dir" ip route add 198.18.0.10/32 via 198.18.1.2

mkdir -p "$TMP/www" && echo "hello from the real server" >"$TMP/www/index.html" && chmod -R a+rX "$TMP/www"
bg_in "$NS_rs" "$TMP/web.log" python3 -m http.server 80 --bind 198.18.0.10 --directory "$TMP/www"
conf=$TMP/rs-agent.ini
write_rs_config "$conf" rs "198.18.0.10" "[agent]" "listen = 198.18.1.2:5555" "allow = 198.18.1.1" \
	"[check web]" "type = http" "port = 80" "interval = 500ms" "timeout = 400ms" "rise = 1" "fall = 1"
echo "rs-agent.ini:"; sed 's/^/   /' "$conf"

say "rs-agent run: VIP on lo, arp_ignore/arp_announce on every interface"
start_agent "$NS_rs" "$conf" "$TMP/agent.log" || { cat "$TMP/agent.log"; exit 1; }
in_ns "$NS_rs" ip -4 addr show dev lo | sed 's/^/   /'
step "VIP 198.18.0.10/32 on lo with label lo:dsr" bash -c "ip netns exec $NS_rs ip -4 addr show dev lo label lo:dsr | grep -q 198.18.0.10/32"
step "eth0 arp_ignore=1, arp_announce=2" bash -c "[ \$(ip netns exec $NS_rs cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)\$(ip netns exec $NS_rs cat /proc/sys/net/ipv4/conf/eth0/arp_announce) = 12 ]"

say "A request to the VIP from the director's side, answered by the real server"
fetch() { in_ns "$NS_dir" python3 -c 'import urllib.request; print(urllib.request.urlopen("http://198.18.0.10/", timeout=3).read().decode().strip())'; }
echo "   $(fetch 2>&1)"
step "HTTP to the VIP is answered by the real server" bash -c "[ \"\$1\" = 'hello from the real server' ]" _ "$(fetch 2>/dev/null)"

ask() { in_ns "$NS_dir" "$TOOLS/tcpquery" -s 198.18.1.1 198.18.1.2 5555; }
say "What a director reads on the agent port (HAProxy agent-check protocol)"
wait_until 5 bash -c "[ \"\$(ip netns exec $NS_dir $TOOLS/tcpquery 198.18.1.2 5555)\" = 'up ready' ]"
echo "   $(ask)"; step "reports up" [ "$(ask)" = "up ready" ]

say "rs-agent drain, then ready"
in_ns "$NS_rs" "$RS_AGENT" -f "$conf" drain | sed 's/^/   /'
echo "   agent says: $(ask)"; step "reports drain" [ "$(ask)" = "drain" ]
in_ns "$NS_rs" "$RS_AGENT" -f "$conf" ready | sed 's/^/   /'
step "reports up again" [ "$(ask)" = "up ready" ]

say "Someone deletes the VIP by hand; rs-agent puts it back at once"
in_ns "$NS_rs" ip addr del 198.18.0.10/32 dev lo
step "VIP restored" wait_until 3 bash -c "ip netns exec $NS_rs ip addr show dev lo | grep -q 198.18.0.10/32"
grep 'drift corrected' "$TMP/agent.log" | tail -1 | sed 's/^/   log: /'

say "rs-agent status"
in_ns "$NS_rs" "$RS_AGENT" -f "$conf" status | sed 's/^/   /'
say "rs-agent check (for monitoring systems)"
in_ns "$NS_rs" "$RS_AGENT" -f "$conf" check | sed 's/^/   /'

if [ $FAILED = 0 ]; then say "demo finished: every step behaved"; else say "demo finished with failures"; fi
exit $FAILED
