#!/usr/bin/env bash
# rs-agent check: exit codes 0 (OK), 1 (WARNING), 2 (CRITICAL), 3 (UNKNOWN: no usable configuration), one line per item.
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
in_ns "$NS" ip link add eth0 type veth peer name peer0
in_ns "$NS" ip link set eth0 up
conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10" "[agent]" "enabled = no"

run_check() { out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" check 2>&1); rc=$?; }

run_check
check "before apply: CRITICAL (exit 2)" [ $rc = 2 ]
check "before apply: names the missing VIP" grep -q '^CRITICAL: vip 198.18.0.10 missing on lo' <<<"$out"

in_ns "$NS" "$RS_AGENT" -f "$conf" apply >/dev/null
run_check
check "healthy: OK (exit 0)" [ $rc = 0 ]
check "healthy: every line starts with OK" [ "$(grep -vc '^OK: ' <<<"$out")" = 0 ]
check "healthy: one line per item (VIP, conf/all, conf/default, lo, eth0, admin)" [ "$(wc -l <<<"$out")" -ge 6 ]

out=$(in_ns "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$RS_AGENT" -f "$conf" check 2>&1); rc=$?
check "check needs no privileges (as nobody: exit 0)" [ $rc = 0 ]
check "the first line is a summary" grep -q '^OK: [0-9]* items checked, all fine' <<<"$(head -1 <<<"$out")"

# Per-device value wrong, but conf/all keeps the effective value right.
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/eth0/arp_ignore >/dev/null
run_check
check "device value covered by conf/all: WARNING (exit 1)" [ $rc = 1 ]
check "warning names eth0" grep -q '^WARNING: eth0: arp_ignore 0 (effective 1' <<<"$out"

in_ns "$NS" "$RS_AGENT" -f "$conf" apply >/dev/null
in_ns "$NS" "$RS_AGENT" -f "$conf" drain >/dev/null
run_check
check "drained: WARNING (exit 1)" [ $rc = 1 ]
check "drained: says so" grep -q '^WARNING: admin state is drain' <<<"$out"
in_ns "$NS" "$RS_AGENT" -f "$conf" ready >/dev/null

# ARP flux: effective arp_ignore 0 on eth0.
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/all/arp_ignore >/dev/null
echo 0 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/eth0/arp_ignore >/dev/null
run_check
check "effective arp_ignore 0: CRITICAL (exit 2)" [ $rc = 2 ]
check "critical line for eth0" grep -q '^CRITICAL: eth0: arp_ignore 0 (effective 0' <<<"$out"

in_ns "$NS" "$RS_AGENT" -f "$conf" apply >/dev/null
in_ns "$NS" ip addr del 198.18.0.10/32 dev lo
run_check
check "VIP deleted: CRITICAL (exit 2)" [ $rc = 2 ]
check "VIP deleted: the summary line names it" grep -q '^CRITICAL: vip 198.18.0.10 missing on lo' <<<"$(head -1 <<<"$out")"

echo "[global]" >"$TMP/bad.ini"; chmod 644 "$TMP/bad.ini"
out=$(in_ns "$NS" "$RS_AGENT" -f "$TMP/bad.ini" check 2>&1); rc=$?
check "unusable config: UNKNOWN (exit 3)" [ $rc = 3 ]
finish
