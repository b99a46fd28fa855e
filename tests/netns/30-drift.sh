#!/usr/bin/env bash
# rs-agent run repairs drift: a deleted VIP, a sysctl flipped through /proc
# and through netlink, and a new interface; each repair is logged.
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
in_ns "$NS" ip link add eth0 type veth peer name peer0
in_ns "$NS" ip link set eth0 up

# Event-driven part: the periodic verify is an hour away, so whatever is
# repaired below was repaired because of a netlink notification.
conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10, 2001:db8::10" "verify_interval = 1h" "[agent]" "enabled = no"
log=$TMP/agent.log
start_agent "$NS" "$conf" "$log" || { fail "daemon starts"; finish; }
pass "daemon starts"

vip_present() { in_ns "$NS" ip addr show dev lo | grep -q "$1"; }

in_ns "$NS" ip addr del 198.18.0.10/32 dev lo
check "deleted IPv4 VIP is restored" wait_until 3 vip_present 'inet 198.18.0.10/32'
check "restored VIP keeps its label" wait_until 3 bash -c "ip netns exec $NS ip -4 addr show dev lo label lo:dsr | grep -q 198.18.0.10"
check "repair is logged with what was wrong" wait_until 3 grep -q 'drift corrected: vip 198.18.0.10 was missing on lo: added' "$log"

in_ns "$NS" ip addr del 2001:db8::10/128 dev lo
check "deleted IPv6 VIP is restored" wait_until 3 vip_present '2001:db8::10/128'

in_ns "$NS" "$TOOLS/nl-setarp" eth0 0 0
check "arp sysctls flipped over netlink are restored" \
	wait_until 3 bash -c "[ \$(ip netns exec $NS cat /proc/sys/net/ipv4/conf/eth0/arp_ignore) = 1 ] && [ \$(ip netns exec $NS cat /proc/sys/net/ipv4/conf/eth0/arp_announce) = 2 ]"
check "netlink flip is logged" wait_until 3 grep -q 'drift corrected: eth0: arp_ignore 0 -> 1, arp_announce 0 -> 2' "$log"

# conf/default changed through /proc raises no event; a new interface
# would inherit it. The new link's notification must bring both back.
# A bridge, not a veth pair: a pair announces its peer before the device
# itself exists, so the pass the peer causes may repair conf/default first
# and the device would then inherit the right values unrepaired.
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/default/arp_ignore >/dev/null
in_ns "$NS" ip link add eth9 type bridge
check "new interface gets arp_ignore=1" wait_until 3 bash -c "[ \$(ip netns exec $NS cat /proc/sys/net/ipv4/conf/eth9/arp_ignore) = 1 ]"
check "new interface gets arp_announce=2" wait_until 3 bash -c "[ \$(ip netns exec $NS cat /proc/sys/net/ipv4/conf/eth9/arp_announce) = 2 ]"
check "new interface is logged" wait_until 3 grep -q 'drift corrected: eth9: arp_ignore 0 -> 1' "$log"
stop_agent "$AGENT_PID"

# Periodic part: /proc writes raise no netlink event; verify_interval finds them.
write_rs_config "$conf" rs "198.18.0.10" "verify_interval = 200ms" "[agent]" "enabled = no"
start_agent "$NS" "$conf" "$log" || { fail "daemon restarts"; finish; }
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/eth0/arp_ignore >/dev/null
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/all/arp_announce >/dev/null
check "eth0/arp_ignore flipped via /proc is restored" wait_until 3 bash -c "[ \$(ip netns exec $NS cat /proc/sys/net/ipv4/conf/eth0/arp_ignore) = 1 ]"
check "all/arp_announce flipped via /proc is restored" wait_until 3 bash -c "[ \$(ip netns exec $NS cat /proc/sys/net/ipv4/conf/all/arp_announce) = 2 ]"
check "the /proc repair is logged" wait_until 3 grep -q 'drift corrected: conf/all: arp_ignore 1 -> 1, arp_announce 0 -> 2' "$log"
stop_agent "$AGENT_PID"
check "daemon left the VIP in place on SIGTERM" vip_present 'inet 198.18.0.10/32'
finish
