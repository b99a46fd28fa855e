#!/usr/bin/env bash
# directord programs IPVS from director.ini, and the kernel reads back
# exactly what the file says. Services of every kind (TCP DR wlc with
# weighted servers, UDP with one-packet scheduling, fwmark with scheduler
# flags, an IPv4 and an IPv6 fwmark, IPv6, persistence with a netmask, tun
# and nat destinations, upper/lower thresholds) and 200 plain services go
# in; the same table is built with ipvsadm -R in a reference namespace and
# both are compared (`ipvsadm -S -n`, sorted), besides ipvsadm -L -n
# (--exact, --thresholds) readings of the particular services.
# Reconcile: a reload of the unchanged file (SIGHUP and directorctl
# reload) sends nothing; one changed weight is one operation; a service
# removed from the file is deleted. A foreign service (made with ipvsadm
# before directord starts) is untouched by start, reloads and both stops.
# ipvs_on_stop = keep leaves the whole table after SIGTERM (and the next
# start adopts it with 0 operations); ipvs_on_stop = remove deletes ours
# only. Checks are off (check = none): this test is about the table.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
NGEN=200	# plain services s001..s200, two destinations each

ns_new lb
ns_new ref
LB=$NS_lb REF=$NS_ref
unicast_routes "$LB"
unicast_routes "$REF"

# The foreign service, there before directord.
in_ns "$LB" ipvsadm -A -t 192.0.2.200:443 -s rr
in_ns "$LB" ipvsadm -a -t 192.0.2.200:443 -r 192.0.2.201:443 -g -w 7
FOREIGN=$(printf '%s\n' "-A -t 192.0.2.200:443 -s rr" "-a -t 192.0.2.200:443 -r 192.0.2.201:443 -g -w 7")
foreign_intact() { [ "$(ipvs_save "$LB" | grep -F 192.0.2.200)" = "$FOREIGN" ]; }

# The config (CHANGED_WEIGHT: s037's second server; DROP: a service left out).
write_conf() {	# write_conf ON_STOP CHANGED_WEIGHT DROP
	local on_stop=$1 w37=$2 drop=$3 i w
	{
		cat <<EOF
ipvs_on_stop = $on_stop
ipvs_reconcile_interval = 0

[virtual_server web]
address = 198.18.1.1:80
protocol = tcp
scheduler = wlc
method = dr
check = none
real_servers = 198.18.2.1:80 weight=3, 198.18.2.2:80 weight=5

[virtual_server dns]
address = 198.18.1.2:53
protocol = udp
scheduler = rr
one_packet = yes
check = none
real_servers = 198.18.2.3:53, 198.18.2.4:53 weight=2

[virtual_server mark]
fwmark = 7
scheduler = sh
scheduler_flags = sh-fallback, sh-port
check = none
real_servers = 198.18.2.5, 198.18.2.6 weight=4

[virtual_server mark6]
fwmark = 8
family = inet6
scheduler = rr
check = none
real_servers = 2001:db8:2::5

[virtual_server web6]
address = [2001:db8:1::1]:443
scheduler = sed
check = none
real_servers = [2001:db8:2::1]:443, [2001:db8:2::2]:443 weight=9

[virtual_server sticky]
address = 198.18.1.3:443
scheduler = lc
persistence_timeout = 600s
persistence_netmask = 24
check = none
real_servers = 198.18.2.7:443, 198.18.2.8:443

[virtual_server mixed]
address = 198.18.1.4:8080
scheduler = wrr
check = none
real_servers = 198.18.2.7:8080 method=tun weight=2, 198.18.2.8:8080 method=nat weight=2, \
	198.18.2.9:8080 u_threshold=100 l_threshold=10
EOF
		for ((i = 1; i <= NGEN; i++)); do
			[ "$i" = "$drop" ] && continue
			w=2; [ "$i" = 37 ] && w=$w37
			printf '\n[virtual_server s%03d]\naddress = 198.19.0.%d:80\ncheck = none\n' "$i" "$i"
			printf 'real_servers = 198.19.1.%d:80, 198.19.2.%d:80 weight=%d\n' "$i" "$i" "$w"
		done
	} >"$TMP/vs.ini"
	dconf "$TMP/lb.ini" lb "$(cat "$TMP/vs.ini")"
}

# The same table as ipvsadm -R input (with the foreign service).
reference() {	# reference CHANGED_WEIGHT DROP
	local w37=$1 drop=$2 i w
	cat <<EOF
$FOREIGN
-A -t 198.18.1.1:80 -s wlc
-a -t 198.18.1.1:80 -r 198.18.2.1:80 -g -w 3
-a -t 198.18.1.1:80 -r 198.18.2.2:80 -g -w 5
-A -u 198.18.1.2:53 -s rr -o
-a -u 198.18.1.2:53 -r 198.18.2.3:53 -g -w 1
-a -u 198.18.1.2:53 -r 198.18.2.4:53 -g -w 2
-A -f 7 -s sh -b sh-fallback,sh-port
-a -f 7 -r 198.18.2.5:0 -g -w 1
-a -f 7 -r 198.18.2.6:0 -g -w 4
-A -f 8 -6 -s rr
-a -f 8 -6 -r [2001:db8:2::5]:0 -g -w 1
-A -t [2001:db8:1::1]:443 -s sed
-a -t [2001:db8:1::1]:443 -r [2001:db8:2::1]:443 -g -w 1
-a -t [2001:db8:1::1]:443 -r [2001:db8:2::2]:443 -g -w 9
-A -t 198.18.1.3:443 -s lc -p 600 -M 255.255.255.0
-a -t 198.18.1.3:443 -r 198.18.2.7:443 -g -w 1
-a -t 198.18.1.3:443 -r 198.18.2.8:443 -g -w 1
-A -t 198.18.1.4:8080 -s wrr
-a -t 198.18.1.4:8080 -r 198.18.2.7:8080 -i -w 2
-a -t 198.18.1.4:8080 -r 198.18.2.8:8080 -m -w 2
-a -t 198.18.1.4:8080 -r 198.18.2.9:8080 -g -w 1 -x 100 -y 10
EOF
	for ((i = 1; i <= NGEN; i++)); do
		[ "$i" = "$drop" ] && continue
		w=2; [ "$i" = 37 ] && w=$w37
		echo "-A -t 198.19.0.$i:80 -s wlc"
		echo "-a -t 198.19.0.$i:80 -r 198.19.1.$i:80 -g -w 1"
		echo "-a -t 198.19.0.$i:80 -r 198.19.2.$i:80 -g -w $w"
	done
}

# same_as_reference CHANGED_WEIGHT DROP: the director's table, sorted, is
# the reference's (the differences are shown).
same_as_reference() {
	in_ns "$REF" ipvsadm -C
	reference "$1" "$2" | in_ns "$REF" ipvsadm -R || { echo "    ipvsadm -R of the reference failed"; return 1; }
	ipvs_save "$REF" >"$TMP/want"
	ipvs_save "$LB" >"$TMP/have"
	if ! cmp -s "$TMP/want" "$TMP/have"; then
		diff "$TMP/want" "$TMP/have" | head -20 | sed 's/^/    /'
		return 1
	fi
}

NSVC=$((7 + NGEN)) NDEST=$((14 + 2 * NGEN))

write_conf keep 2 ""
out=$(in_ns "$LB" "$DIRECTORD" -t -f "$TMP/lb.ini" 2>&1)
check "directord -t accepts the file ($(tail -1 <<<"$out"))" [ "$(tail -1 <<<"$out")" = "configuration OK" ]
start_dir "$LB" lb "$TMP/lb.ini" || { fail "directord starts"; dfinish; }
pass "directord starts"
check "start: a reconcile summary is logged" wait_until 30 has_ops_after lb 0
echo "    $(ops_line_after lb 0)"
check "start: $NSVC services and $NDEST destinations in $((NSVC + NDEST)) operations, none failed" \
	[ "$(ops_after lb 0)" = "$((NSVC + NDEST)) 0" ]
check "the kernel's table is the reference table, built with ipvsadm (ipvsadm -S -n)" same_as_reference 2 ""
check "the foreign service is untouched by the start" foreign_intact

L=$(in_ns "$LB" ipvsadm -L -n --exact)
echo "$L" | grep -v '198.19.' | sed 's/^/    /'
has() { local p; for p in "$@"; do grep -qE -- "$p" <<<"$L" || return 1; done; }
check "ipvsadm -L: TCP 198.18.1.1:80 wlc, DR destinations weights 3 and 5" \
	has '^TCP  198\.18\.1\.1:80 wlc *$' '-> 198\.18\.2\.1:80 +Route +3 ' '-> 198\.18\.2\.2:80 +Route +5 '
check "ipvsadm -L: UDP 198.18.1.2:53 rr with one-packet scheduling (ops)" has '^UDP  198\.18\.1\.2:53 rr ops *$'
check "ipvsadm -L: FWM 7 sh with flags sh-fallback,sh-port" has '^FWM  7 sh \(sh-fallback,sh-port\) *$'
check "ipvsadm -L: FWM 8 IPv6 rr" has '^FWM  8 IPv6 rr *$'
check "ipvsadm -L: TCP [2001:db8:1::1]:443 sed, destination weight 9" \
	has '^TCP  \[2001:db8:1::1\]:443 sed *$' '-> \[2001:db8:2::2\]:443 +Route +9 '
check "ipvsadm -L --exact: 198.18.1.3:443 persistent 600 mask 255.255.255.0" \
	has '^TCP  198\.18\.1\.3:443 lc persistent 600 mask 255\.255\.255\.0 *$'
check "ipvsadm -L: tun (Tunnel) and nat (Masq) destinations beside a DR one" \
	has '-> 198\.18\.2\.7:8080 +Tunnel +2 ' '-> 198\.18\.2\.8:8080 +Masq +2 ' '-> 198\.18\.2\.9:8080 +Route +1 '
T=$(in_ns "$LB" ipvsadm -L -n --thresholds -t 198.18.1.4:8080)
check "ipvsadm -L --thresholds: 198.18.2.9:8080 upper 100, lower 10" \
	grep -qE -- '-> 198\.18\.2\.9:8080 +100 +10 ' <<<"$T"
check "ipvsadm -L: all $NGEN plain services with their two destinations" \
	[ "$(grep -cE '^TCP  198\.19\.0\.[0-9]+:80 wlc' <<<"$L"):$(grep -cE -- '-> 198\.19\.[12]\.[0-9]+:80 +Route' <<<"$L")" = "$NGEN:$((2 * NGEN))" ]

# Reloads of the unchanged file send nothing.
n=$(ops_count lb)
kill -HUP "$PID_lb"
check "SIGHUP, file unchanged: a reconcile summary is logged" wait_until 20 has_ops_after lb "$n"
echo "    $(ops_line_after lb "$n")"
check "SIGHUP, file unchanged: 0 operations" [ "$(ops_after lb "$n")" = "0 0" ]
n=$(ops_count lb)
out=$(ctl lb reload 2>&1)
check "directorctl reload, file unchanged: accepted ($out)" [ "$out" = "configuration reloaded" ]
check "... a reconcile summary is logged" wait_until 20 has_ops_after lb "$n"
echo "    $(ops_line_after lb "$n")"
check "... 0 operations" [ "$(ops_after lb "$n")" = "0 0" ]
check "the table is unchanged" same_as_reference 2 ""

# One weight changed among $NSVC services: one operation.
write_conf keep 5 ""
n=$(ops_count lb)
out=$(ctl lb reload 2>&1)
check "directorctl reload with s037's 198.19.2.37 at weight 5: accepted ($out)" [ "$out" = "configuration reloaded" ]
check "... a reconcile summary is logged" wait_until 20 has_ops_after lb "$n"
echo "    $(ops_line_after lb "$n")"
check "... exactly 1 operation" [ "$(ops_after lb "$n")" = "1 0" ]
check "... the kernel has weight 5 for it" weight_is "$LB" "-t 198.19.0.37:80" 198.19.2.37:80 5
check "... and everything else as before" same_as_reference 5 ""
check "the foreign service is untouched by the reloads" foreign_intact

# A service removed from the file is deleted.
write_conf keep 5 150
n=$(ops_count lb)
kill -HUP "$PID_lb"
check "SIGHUP with s150 removed from the file: a reconcile summary is logged" wait_until 20 has_ops_after lb "$n"
echo "    $(ops_line_after lb "$n")"
check "... 1 operation (the service, its destinations with it)" [ "$(ops_after lb "$n")" = "1 0" ]
check "... 198.19.0.150:80 is gone from the kernel" not in_ns "$LB" ipvsadm -L -n -t 198.19.0.150:80 2>/dev/null
check "... the rest is as the file says" same_as_reference 5 150
check "... the foreign service is still there" foreign_intact

# ipvs_on_stop = keep: SIGTERM leaves the table.
ipvs_save "$LB" >"$TMP/before-stop"
check "SIGTERM: directord exits" stop_dir lb TERM
check "ipvs_on_stop = keep: the whole table is still in the kernel" \
	bash -c "ip netns exec $LB ipvsadm -S -n | LC_ALL=C sort | cmp -s - '$TMP/before-stop'"

# Started again on that table, with ipvs_on_stop = remove: adopted, nothing sent.
write_conf remove 5 150
mv "$TMP/lb.log" "$TMP/lb-1.log"
start_dir "$LB" lb "$TMP/lb.ini" || { fail "directord starts again"; dfinish; }
check "restart on a table that already matches: a reconcile summary is logged" wait_until 30 has_ops_after lb 0
echo "    $(ops_line_after lb 0)"
check "... 0 operations (the kernel's state is adopted)" [ "$(ops_after lb 0)" = "0 0" ]
check "... and the table is unchanged" same_as_reference 5 150

# ipvs_on_stop = remove: ours go, the foreign one stays.
check "SIGTERM: directord exits" stop_dir lb TERM
left=$(ipvs_save "$LB")
check "ipvs_on_stop = remove: only the foreign service is left ($(grep -c '^-A' <<<"$left") service(s))" \
	[ "$left" = "$FOREIGN" ]
dfinish
