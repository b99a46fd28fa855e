#!/usr/bin/env bash
# directorctl doctor against the real kernel, no IPVS needed (its probes
# are ARP, neighbour solicitations, SYNs and echoes on packet sockets, a
# route lookup, the agent's port, sysctls): one director (master of the
# VIPs) and eight real servers, each with one DR mistake made on purpose,
# but rs1. The healthy service gets no finding (exit 0); the whole setup
# gets exactly one finding per broken server, naming it and the mistake
# (exit 1); without CAP_NET_RAW the doctor says so (exit 2). IPv6 too: a
# v6 service whose second server holds the VIP on eth0 and so answers
# neighbour solicitations for it. A backup director (d2) tells the
# master's MAC, which answers ARP for the VIP, by its VRRP adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

command -v nft >/dev/null || { skip "directorctl-doctor: no nft (Debian package nftables)"; exit 0; }
# shellcheck source=doctor-lab.sh
. "$(dirname "$0")/doctor-lab.sh"
doctor_lab start_director || dfinish

out=$(doctor good); rc=$?
echo "$out" | sed 's/^/    good: /'
check "the healthy service: no finding, exit 0" test "$rc" = 0 -a "$out" = "no finding"
err=$(doctor good 2>&1 >/dev/full); rc=$?
check "a report that cannot be written: exit 2, says so ($err)" test "$rc" = 2 -a -n "$(grep 'stdout: No space left' <<<"$err")"

t0=$(now_ms)
out=$(doctor); rc=$?
took=$(($(now_ms) - t0))
echo "$out" | sed 's/^/    /'
echo "    ($took ms)"
check "findings: exit 1" test "$rc" = 1
check "bounded: the whole run took less than 20 s" test "$took" -lt 20000
doctor_lab_findings "$out"

json=$(doctor --json); rc=$?
check "--json: exit 1, the same findings as JSON" test "$rc" = 1
check "--json parses, 10 findings with check, server, what and fix" "$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
f = d["findings"]
assert len(f) == 10, f
assert {x["check"] for x in f} == {"vip_arp", "route", "service", "rp_filter", "mtu", "vip", "agent", "trap"}, f
assert all(x["what"] and x["fix"] for x in f)
assert [x["server"] for x in f if x["check"] == "agent"] == ["198.18.0.18:80"]
' "$json"

# The probes act on lines an engine running as the daemon's user wrote:
# once it has them, directorctl runs as nobody with CAP_NET_RAW alone.
ip netns exec "$D1" "$DIRECTORCTL" -s "$(sock_of d1)" doctor >/dev/null 2>&1 &
DOC_PID=$!
creds() { awk '/^Uid:/ { print "uid", $2, $3, $4, $5 } /^Cap(Prm|Eff|Bnd):/ { print $1, $2 }' "/proc/$DOC_PID/status" | paste -sd' '; }
NOBODY=$(id -u nobody)
want="uid $NOBODY $NOBODY $NOBODY $NOBODY CapPrm: 0000000000002000 CapEff: 0000000000002000 CapBnd: 0000000000002000"
creds_are() { [ "$(creds 2>/dev/null)" = "$1" ]; }
check "while it probes: nobody, CAP_NET_RAW only (permitted, effective, bounding)" wait_ms 5000 creds_are "$want"
echo "    $(creds 2>/dev/null)"
wait "$DOC_PID"
check "... and it names the same findings (exit 1)" test "$?" = 1

out=$(doctor nosuch 2>&1); rc=$?
check "an unknown service: exit 2" test "$rc" = 2
out=$(in_ns "$D1" setpriv --inh-caps=-all --bounding-set=-net_raw "$DIRECTORCTL" -s "$(sock_of d1)" doctor 2>&1); rc=$?
echo "    $out"
check "without CAP_NET_RAW: exit 2, says what is missing" test "$rc" = 2 -a -n "$(grep CAP_NET_RAW <<<"$out")"
# The backup: the master answers ARP for the VIP, and is known by its adverts.
ns_new d2
D2=$NS_d2
join "$D2" eth0 br0 02:00:00:00:02:01 198.18.0.2/24
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 "$VIP/24, $VIP2/24, $VIP3/24")" \
	"[virtual_server good]" "address = $VIP3:80" "vrrp = VI_1" "check = none" "real_servers = 198.18.0.11:80"
start_director "$D2" d2 "$TMP/d2.ini" || fail "d2 starts"
check "d2 is backup" wait_ms 3000 state_is d2 VI_1 BACKUP
out=$(in_ns "$D2" timeout 60 "$DIRECTORCTL" -s "$(sock_of d2)" doctor 2>&1); rc=$?
echo "$out" | sed 's/^/    d2: /'
check "on the backup: the master's answer for the VIP is no finding, exit 0" test "$rc" = 0 -a "$out" = "no finding"
dfinish
