#!/usr/bin/env bash
# A client on the LAN follows the takeover: its neighbour entry for the
# VIP points at the new master's MAC within 100 ms of the new master's
# first advert, thanks to the gratuitous ARP on the wire; traffic to the
# VIP then reaches the new master.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
ns_new cl
CL=$NS_cl
join "$CL" eth0 br0 02:00:00:00:05:01 198.18.0.50/24
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
capture "$TMP/wire" 'vrrp or arp' || { fail "tcpdump listens on the bridge"; dfinish; }
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup"

# The VIP answers from the client: a TCP connection to its port 9 is
# refused (a reset comes back), which needs ARP resolved both ways.
reach() { in_ns "$CL" timeout 2 bash -c "exec 3<>/dev/tcp/$VIP/9" 2>&1 | grep -q 'Connection refused'; }
neigh_mac() { ip -n "$CL" neigh show "$VIP" dev eth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'; }
check "the client reaches the VIP (TCP reset from port 9)" reach
check "the client's neighbour entry for the VIP is d1's MAC" [ "$(neigh_mac)" = "$MAC1" ]

# Poll the client's neighbour table every 10 ms for 2 s, from one Python
# process (a shell loop forking ip and awk is too slow and too irregular
# on a busy machine); the time recorded is after each reading, so it is
# late, never early.
cat >"$TMP/poll.py" <<'PY'
import subprocess, sys, time
vip, end = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < end:
    words = subprocess.run(["ip", "neigh", "show", vip, "dev", "eth0"], capture_output=True, text=True).stdout.split()
    mac = words[words.index("lladdr") + 1] if "lladdr" in words else "none"
    print("%.3f %s" % (time.time() * 1000, mac), flush=True)
    time.sleep(0.01)
PY
bg_in "$CL" "$TMP/neigh" "$PY" "$TMP/poll.py" $VIP 2
poller=$LAST_PID
wait_until 5 test -s "$TMP/neigh"
sleep 0.1
stop_director d1
check "d2 becomes master" wait_ms 2000 state_is d2 VI_1 MASTER
wait "$poller"
polls=$(wc -l <"$TMP/neigh")
gap=$(awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%.0f", m }' "$TMP/neigh")
echo "    $polls readings of the client's neighbour table, longest gap between two: $gap ms"
stop_capture

t0=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.1 51 0)")
t_master=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.2 51 100)" "${t0:-0}")
t_garp=$(first_pkt "$TMP/wire" "$(re_garp $MAC2 $VIP)" "${t0:-0}")
t_neigh=$(awk -v m="$MAC2" '$2 == m { print $1; exit }' "$TMP/neigh")
dn=$(sub_ms "$t_neigh" "$t_master")
echo "    d2's first advert -> its gratuitous ARP: $(sub_ms "$t_garp" "$t_master") ms -> the client's entry seen with d2's MAC: ${dn:-never} ms after the advert"
check "d2's gratuitous ARP (who-has $VIP tell $VIP, from $MAC2) is on the wire within 20 ms of its first advert" \
	in_range "$(sub_ms "$t_garp" "$t_master")" 0 20
check "the client's entry points at d2's MAC within 100 ms of d2 becoming master (${dn:-never} ms)" in_range "$dn" 0 100
check "once changed it stays d2's MAC" bash -c "awk -v t='${t_neigh:-0}' '\$1 >= t' '$TMP/neigh' | awk -v m='$MAC2' '\$2 != m { exit 1 }'"
check "the client reaches the VIP at d2" reach
check "... and its entry is still d2's MAC" [ "$(neigh_mac)" = "$MAC2" ]
dfinish
