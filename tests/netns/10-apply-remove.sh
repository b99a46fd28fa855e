#!/usr/bin/env bash
# rs-agent apply / remove: idempotent, exact, and remove undoes only what
# apply did (originals restored, pre-existing VIPs left alone).
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
in_ns "$NS" ip link add eth0 type veth peer name peer0
in_ns "$NS" ip link set eth0 up
in_ns "$NS" ip addr add 198.18.1.2/24 dev eth0
# Distinct originals, so restoring them is visible.
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/all/arp_ignore >/dev/null
echo 1 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/default/arp_announce >/dev/null
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/eth0/arp_ignore >/dev/null
# An address the operator had before: apply keeps it, remove must not touch it.
in_ns "$NS" ip addr add 198.18.0.11/32 dev lo

conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10, 198.18.0.11, 2001:db8::10" "[agent]" "enabled = no"

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" apply 2>&1); rc=$?
check "first apply succeeds" [ $rc = 0 ]
check "first apply reports changes" grep -q '^applied [0-9]* change' <<<"$out"
check "IPv4 VIP on lo with label lo:dsr" \
	bash -c "ip netns exec $NS ip -4 addr show dev lo label lo:dsr | grep -q 'inet 198.18.0.10/32'"
check "IPv6 VIP on lo as /128" bash -c "ip netns exec $NS ip -6 addr show dev lo | grep -q '2001:db8::10/128'"
check "IPv6 VIP is not tentative (no DAD)" \
	bash -c "! ip netns exec $NS ip -6 addr show dev lo | grep '2001:db8::10' | grep -q tentative"
for dev in all default lo eth0; do
	check "$dev arp_ignore=1" [ "$(sysctl_in "$NS" $dev arp_ignore)" = 1 ]
	check "$dev arp_announce=2" [ "$(sysctl_in "$NS" $dev arp_announce)" = 2 ]
done

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" apply 2>&1); rc=$?
check "second apply succeeds" [ $rc = 0 ]
check "second apply changes nothing and says so" grep -q '^nothing to change' <<<"$out"
check "second apply prints no 'changed:' line" [ "$(grep -c '^changed:' <<<"$out")" = 0 ]

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" check 2>&1); rc=$?
check "check after apply exits 0 (OK)" [ $rc = 0 ]

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" remove 2>&1); rc=$?
check "remove succeeds" [ $rc = 0 ]
check "remove took away the VIPs apply added" \
	bash -c "! ip netns exec $NS ip addr show dev lo | grep -q -e '198.18.0.10/' -e '2001:db8::10/'"
check "remove left the pre-existing VIP" bash -c "ip netns exec $NS ip addr show dev lo | grep -q '198.18.0.11/32'"
check "all/arp_ignore back to 0" [ "$(sysctl_in "$NS" all arp_ignore)" = 0 ]
check "all/arp_announce back to 0" [ "$(sysctl_in "$NS" all arp_announce)" = 0 ]
check "default/arp_announce back to 1" [ "$(sysctl_in "$NS" default arp_announce)" = 1 ]
check "default/arp_ignore back to 0" [ "$(sysctl_in "$NS" default arp_ignore)" = 0 ]
check "eth0/arp_ignore back to 0" [ "$(sysctl_in "$NS" eth0 arp_ignore)" = 0 ]
check "lo/arp_announce back to 0" [ "$(sysctl_in "$NS" lo arp_announce)" = 0 ]

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" remove 2>&1); rc=$?
check "second remove succeeds" [ $rc = 0 ]
check "second remove has nothing to do" grep -q '^nothing to remove' <<<"$out"

# A second apply after remove records the originals afresh.
in_ns "$NS" "$RS_AGENT" -f "$conf" apply >/dev/null 2>&1
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/eth0/arp_announce >/dev/null
in_ns "$NS" "$RS_AGENT" -f "$conf" apply >/dev/null 2>&1
in_ns "$NS" "$RS_AGENT" -f "$conf" remove >/dev/null 2>&1
check "originals survive repeated applies (eth0/arp_announce 0)" [ "$(sysctl_in "$NS" eth0 arp_announce)" = 0 ]
finish
