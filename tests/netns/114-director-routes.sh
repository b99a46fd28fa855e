#!/usr/bin/env bash
# Routes that go with the VIPs (virtual_routes): added by the master after
# its VIPs, removed when it leaves master, and removed at start-up by a
# director that is not master (left by a crashed run).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
ROUTES="198.18.60.0/24 via 198.18.0.254 metric 5, blackhole 198.18.61.0/24, 198.18.62.0/24 src $VIP table 100"
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24 "virtual_routes = $ROUTES")"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24 "virtual_routes = $ROUTES")"
# What a crashed run of d2 would have left.
ip -n "$D2" route add blackhole 198.18.61.0/24 proto static
ip -n "$D2" route add 198.18.60.0/24 via 198.18.0.254 metric 5 proto static
routes() { ip -n "$1" route show table all | grep -E '198\.18\.6[0-2]\.0/24' | sort; }
has_routes() {	# has_routes NS: exactly the three configured routes
	local r; r=$(routes "$1")
	grep -q "^198.18.60.0/24 via 198.18.0.254 dev eth0 proto static metric 5" <<<"$r" &&
		grep -q "^blackhole 198.18.61.0/24 proto static" <<<"$r" &&
		grep -q "^198.18.62.0/24 dev eth0 table 100 proto static scope link src $VIP" <<<"$r" &&
		[ "$(wc -l <<<"$r")" = 3 ]
}
no_routes() { [ -z "$(routes "$1")" ]; }

start_pair VI_1 || { fail "d1 (150) master, d2 (100) backup"; dfinish; }
pass "d1 (150) master, d2 (100) backup"
check "d1 (master) has the three routes" wait_ms 2000 has_routes "$D1"
echo "    d1: $(routes "$D1" | paste -sd ';')"
check "d2 (backup) removed the routes left from before at start-up" wait_ms 2000 no_routes "$D2"

stop_director d1 || fail "d1 stops"
check "d1 stopped: d2 takes over" wait_ms 3000 state_is d2 VI_1 MASTER
check "d2 (now master) has the three routes" wait_ms 2000 has_routes "$D2"
check "d1 removed its routes when it left" no_routes "$D1"

start_director "$D1" d1 "$TMP/d1.ini" || fail "d1 starts again"
check "d1 back (150): master again" wait_ms 3000 state_is d1 VI_1 MASTER
check "d2 back to backup" wait_ms 2000 state_is d2 VI_1 BACKUP
check "the routes moved with the VIP: on d1" wait_ms 2000 has_routes "$D1"
check "... and gone from d2" wait_ms 2000 no_routes "$D2"
dfinish
