#!/usr/bin/env bash
# Tracked interfaces and files, with keepalived's rules, and what status
# says of each: d1 (150) tracks eth1 (no weight: Fault while down), eth2
# with weight -60, and a file whose number is added (weight 1); d2 (100)
# takes over whenever d1's effective priority drops below 100 or d1 is in
# Fault, and d1 takes the VIP back when the cause is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
for i in 1 2; do
	ip -n "$D1" link add "eth$i" type veth peer name "peer$i"
	ip -n "$D1" link set "peer$i" up
	ip -n "$D1" link set "eth$i" up
done
FILE=$TMP/d1/prio
mkdir -p "$TMP/d1"
echo 0 >"$FILE"
chmod 644 "$FILE"
dconf "$TMP/d1.ini" d1 "[track_file prio]" "path = $FILE" \
	"$(vrrp VI_1 eth0 51 150 $VIP/24 "track_interface = eth1, eth2 weight -60" "track_file = prio")"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
start_pair VI_1 || { fail "d1 (150) master, d2 (100) backup"; dfinish; }
pass "d1 (150) master, d2 (100) backup"

tracks() { js d1 "[(t['type'], t['name'], t['result'], t['priority_change'], t['fault']) for t in I['vi_1']['tracks']]"; }
tracks_are() { [ "$(tracks)" = "$1" ]; }
has_track() { [[ "$(tracks)" == *"$1"* ]]; }	# has_track TEXT
prio_is() { js_is d1 "I['vi_1']['effective_priority']" "$1"; }
takes_over() {	# takes_over WHO: WHO master, the other backup or fault
	local other=d1; [ "$1" = d1 ] && other=d2
	wait_ms 3000 state_is "$1" VI_1 MASTER && wait_ms 2000 bash -c "[ \"\$1\" != MASTER ]" _ "$(state_of $other VI_1)"
}
echo "    status: $(tracks)"
check "status lists the three tracks: all fine, no change" tracks_are \
	'[["interface", "eth1", "up", 0, false], ["interface", "eth2", "up", 0, false], ["file", "prio", "value 0", 0, false]]'
check "the text status shows them too" bash -c "ctl() { \"$DIRECTORCTL\" -s $TMP/d1/ctl.sock \"\$@\"; }; ctl status | grep -q 'track interface eth2: up' && ctl status | grep -q 'track file prio: value 0'"

ip -n "$D1" link set eth2 down
check "eth2 down (weight -60): d1 at 90" wait_ms 2000 prio_is 90
check "... status: eth2 down, -60" wait_ms 1000 has_track '["interface", "eth2", "down", -60, false]'
check "... d2 (100) takes over" takes_over d2
ip -n "$D1" link set eth2 up
check "eth2 up: d1 back at 150" wait_ms 2000 prio_is 150
check "... d1 master again" takes_over d1

echo -60 >"$FILE"
check "file says -60: d1 at 90 (read within about a second)" wait_ms 2500 prio_is 90
check "... status: value -60, -60" has_track '["file", "prio", "value -60", -60, false]'
check "... d2 takes over" takes_over d2
echo 5 >"$FILE"
check "file says 5: d1 at 155, master again" wait_ms 2500 prio_is 155
check "... d1 master" takes_over d1

ip -n "$D1" link set peer1 down	# eth1 loses its carrier
check "eth1 without carrier (no weight): d1 in FAULT" wait_ms 2000 state_is d1 VI_1 FAULT
check "... status: eth1 down, fault" has_track '["interface", "eth1", "down", 0, true]'
check "... d2 master" wait_ms 3000 state_is d2 VI_1 MASTER
check "... d1 holds no VIP in FAULT" not has_addr "$D1" eth0 $VIP
ip -n "$D1" link set peer1 up
check "eth1 back: d1 master again" takes_over d1

rm -f "$FILE"
check "file gone: d1 in FAULT" wait_ms 2500 state_is d1 VI_1 FAULT
check "... status: unreadable, fault" has_track '["file", "prio", "unreadable", 0, true]'
echo garbage >"$FILE"; chmod 644 "$FILE"
check "file holds no number: status says invalid, fault" wait_ms 2500 has_track '["file", "prio", "invalid", 0, true]'
check "... d1 still in FAULT" state_is d1 VI_1 FAULT
echo 0 >"$FILE"
check "file says 0 again: d1 master" takes_over d1
check "d1 ends at its base priority 150" prio_is 150
dfinish
