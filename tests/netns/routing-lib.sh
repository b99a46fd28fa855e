# shellcheck shell=bash
# Routing daemons for the active-active tests (announced services): BIRD 2
# and FRR (zebra, bgpd, bfdd) from Debian, one instance per namespace,
# each with its own config, pid, control socket and log under $TMP/TAG/,
# so several run side by side (and inside the VM, where only /tmp and
# /run are writable). Sourced after tests/netns/lib.sh (bg_in, in_ns,
# wait_until, $TMP). FRR's daemons drop to their user frr (Debian's
# package makes it), so a tag's directory is given to frr.
#
#   bird_start NS TAG CONF_TEXT      birdc TAG COMMAND...
#   frr_start NS TAG CONF_TEXT       vtysh_in TAG COMMAND...
#   routing_kill TAG [SIGNAL]        every daemon of TAG
#
# The pids of a tag's daemons are in $TMP/TAG/pids (one a line).

BIRD=${BIRD:-/usr/sbin/bird}
BIRDC=${BIRDC:-/usr/sbin/birdc}
FRR_DIR=${FRR_DIR:-/usr/lib/frr}
VTYSH=${VTYSH:-/usr/bin/vtysh}

# have_routing_daemons: BIRD and FRR's zebra, bgpd, bfdd and vtysh are there.
have_routing_daemons() {
	[ -x "$BIRD" ] && [ -x "$BIRDC" ] && [ -x "$FRR_DIR/zebra" ] && [ -x "$FRR_DIR/bgpd" ] &&
		[ -x "$FRR_DIR/bfdd" ] && [ -x "$VTYSH" ]
}

routing_dir() { mkdir -p "$TMP/$1" && chmod 755 "$TMP/$1" && echo "$TMP/$1"; }

# bird_start NS TAG CONF_TEXT: BIRD in the foreground (-f) in NS with the
# configuration text given (a `log` line to $TMP/TAG/bird.log is added),
# control socket $TMP/TAG/bird.ctl; waits until birdc answers.
bird_start() {
	local ns=$1 tag=$2 conf=$3 d
	d=$(routing_dir "$tag")
	{ echo "log \"$d/bird.log\" all;"; echo "$conf"; } >"$d/bird.conf"
	: >"$d/bird.log"
	bg_in "$ns" "$d/bird.out" "$BIRD" -f -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
	echo "$LAST_PID" >>"$d/pids"
	disown "$LAST_PID"	# no "Killed" line from bash when a test kills it
	if ! wait_until 10 "$BIRDC" -s "$d/bird.ctl" show status; then
		echo "BIRD $tag did not start:"; cat "$d/bird.out" "$d/bird.log"
		return 1
	fi
}

birdc() { local tag=$1; shift; "$BIRDC" -s "$TMP/$tag/bird.ctl" "$@"; }

# frr_start NS TAG CONF_TEXT: zebra, bfdd and bgpd in NS, reading the one
# configuration text given (each daemon takes what is its own), with
# their sockets in $TMP/TAG; waits until bgpd answers vtysh.
frr_start() {
	local ns=$1 tag=$2 conf=$3 d daemon
	d=$(routing_dir "$tag")
	echo "$conf" >"$d/frr.conf"
	chown -R frr:frr "$d"
	for daemon in zebra bfdd bgpd; do
		local args=(-f "$d/frr.conf" -i "$d/$daemon.pid" -z "$d/zserv.api"
			--vty_socket "$d" --log "file:$d/$daemon.log" -A 127.0.0.1 -P 0)
		case $daemon in
		bfdd) args+=(--bfdctl "$d/bfdd.sock") ;;
		esac
		bg_in "$ns" "$d/$daemon.out" "$FRR_DIR/$daemon" "${args[@]}"
		echo "$LAST_PID" >>"$d/pids"
		disown "$LAST_PID"
		if [ "$daemon" = zebra ] && ! wait_until 10 test -S "$d/zserv.api"; then
			echo "zebra $tag did not start:"; cat "$d/zebra.out" "$d/zebra.log" 2>/dev/null
			return 1
		fi
	done
	if ! wait_until 10 vtysh_in "$tag" -c "show bgp summary"; then
		echo "FRR $tag did not start:"; tail -20 "$d"/*.out "$d"/*.log 2>/dev/null
		return 1
	fi
}

vtysh_in() { local tag=$1; shift; "$VTYSH" --vty_socket "$TMP/$tag" "$@"; }

# routing_kill TAG [SIGNAL]: signal every daemon of TAG (KILL by default),
# wait (bounded) until they are gone.
routing_kill() {
	local pid
	[ -f "$TMP/$1/pids" ] || return 0
	while read -r pid; do kill "-${2:-KILL}" "$pid" 2>/dev/null; done <"$TMP/$1/pids"
	while read -r pid; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	done <"$TMP/$1/pids"
	: >"$TMP/$1/pids"
}

# ---- the routes directord makes for an announced VIP (issue 12's spec) ----

ANNOUNCE_TABLE=${ANNOUNCE_TABLE:-222}
ANNOUNCE_PROTO=${ANNOUNCE_PROTO:-222}

# announce_by_hand NS VIP / withdraw_by_hand NS VIP: exactly what directord
# does for an announced VIP (the address on lo, then the route; withdrawn
# route first, then the address).
announce_by_hand() {
	ip -n "$1" addr add "$2/32" dev lo 2>/dev/null
	ip -n "$1" route add "$2/32" dev lo table "$ANNOUNCE_TABLE" proto "$ANNOUNCE_PROTO" scope link
}
withdraw_by_hand() {
	ip -n "$1" route del "$2/32" dev lo table "$ANNOUNCE_TABLE" proto "$ANNOUNCE_PROTO" scope link
	ip -n "$1" addr del "$2/32" dev lo 2>/dev/null
	return 0
}

# nexthops NS PREFIX: the next hops of PREFIX in NS's main table, sorted,
# joined by spaces ("" when there is no route).
nexthops() {
	ip -n "$1" -o route show "$2" 2>/dev/null |
		grep -oE '(via|nexthop via) [0-9.]+' | awk '{ print $NF }' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'
}
nexthops_are() { [ "$(nexthops "$1" "$2")" = "$3" ]; }	# nexthops_are NS PREFIX "A B C"

# ---- configurations (the ones dsrkit(7) shows) ----
#
# A peer list is "ADDR:AS[:bfd] ...": the neighbours, their AS numbers,
# and :bfd where BFD runs on that session. BGP keepalive 3 s, hold 9 s
# (FRR's datacenter profile; BGP's own defaults are 60/180 in FRR, 240 s
# hold in BIRD), BFD every 100 ms, down after 3 missed. VIPS_RANGE is the
# prefix the announced VIPs are in: the router takes /32s (/128s) of it
# and nothing else; FRR's director recipe needs it too (see frr_director_conf).
ROUTING_HOLD=${ROUTING_HOLD:-9}
ROUTING_KEEPALIVE=${ROUTING_KEEPALIVE:-3}
VIPS_RANGE=${VIPS_RANGE:-198.18.1.0/24}

peer_addr() { echo "${1%%:*}"; }
peer_as() { local r=${1#*:}; echo "${r%%:*}"; }
peer_bfd() { case $1 in *:bfd) return 0 ;; esac; return 1; }

# bird_director_conf ROUTER_ID AS PEERS: a director's BIRD: the kernel
# protocol reads table $ANNOUNCE_TABLE (learn: routes other programs
# made), keeps those of protocol $ANNOUNCE_PROTO and writes nothing back;
# BGP exports exactly what that protocol learnt.
bird_director_conf() {
	local id=$1 as=$2 p; shift 2
	cat <<CONF
router id $id;
protocol device { }
protocol kernel dsrkit {
	kernel table $ANNOUNCE_TABLE;
	learn;			# the routes directord adds are alien to BIRD
	scan time 10;		# netlink notifications come at once; this is the safety net
	ipv4 { import where krt_source = $ANNOUNCE_PROTO; export none; };
}
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
CONF
	for p in $*; do
		cat <<CONF
protocol bgp up_$(peer_addr "$p" | tr . _) {
	local $id as $as;
	neighbor $(peer_addr "$p") as $(peer_as "$p");
	hold time $ROUTING_HOLD; keepalive time $ROUTING_KEEPALIVE;
	connect retry time 1; error wait time 1, 5;
	$(peer_bfd "$p" && echo "bfd on;")
	ipv4 { import none; export where proto = "dsrkit"; next hop self; };
}
CONF
	done
}

# bird_router_conf ROUTER_ID AS PEERS: the upstream router's BIRD: BGP
# from each director (only /32s of VIPS_RANGE), the kernel protocol
# merging equal paths into one multipath route (ECMP).
bird_router_conf() {
	local id=$1 as=$2 p; shift 2
	cat <<CONF
router id $id;
protocol device { }
protocol kernel {
	merge paths on;		# one route, a next hop per director
	ipv4 { import none; export where source = RTS_BGP; };
}
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
CONF
	for p in $*; do
		cat <<CONF
protocol bgp dir_$(peer_addr "$p" | tr . _) {
	local $id as $as;
	neighbor $(peer_addr "$p") as $(peer_as "$p");
	hold time $ROUTING_HOLD; keepalive time $ROUTING_KEEPALIVE;
	connect retry time 1; error wait time 1, 5;
	$(peer_bfd "$p" && echo "bfd on;")
	ipv4 { import where net ~ [ $VIPS_RANGE{32,32} ]; export none; };
}
CONF
	done
}

# frr_bfd_profile: a BFD profile "fast" (100 ms, 3 missed).
frr_bfd_profile() {
	printf 'bfd\n profile fast\n  transmit-interval 100\n  receive-interval 100\n  detect-multiplier 3\n!\n'
}

# frr_neighbors PEERS: neighbour lines of a router bgp block.
frr_neighbors() {
	local p
	for p in $*; do
		echo " neighbor $(peer_addr "$p") remote-as $(peer_as "$p")"
		echo " neighbor $(peer_addr "$p") timers $ROUTING_KEEPALIVE $ROUTING_HOLD"
		echo " neighbor $(peer_addr "$p") timers connect 1"
		peer_bfd "$p" && echo " neighbor $(peer_addr "$p") bfd profile fast"
	done
}

# frr_director_conf ROUTER_ID AS PEERS: a director's FRR. FRR 8.4's
# `ip import-table 222` + `redistribute table 222` imports the route but
# never selects it while the VIP is also an address on lo (the connected
# /32 always wins in zebra, and only selected routes are redistributed),
# so the recipe that works with directord's address + route is the
# connected /32s on announce_interface (lo) within VIPS_RANGE: directord
# adds the address only while the VIP is announced.
frr_director_conf() {
	local id=$1 as=$2 p; shift 2
	echo "frr defaults datacenter"
	echo "hostname dir-$id"
	frr_bfd_profile
	echo "ip prefix-list DSRKIT-VIPS seq 5 permit $VIPS_RANGE ge 32"
	echo "route-map DSRKIT-VIPS permit 10"
	echo " match interface lo"
	echo " match ip address prefix-list DSRKIT-VIPS"
	echo " set origin igp"	# as BIRD's: the origin is compared before multipath
	echo "!"
	echo "route-map NOTHING deny 10"
	echo "!"
	echo "route-map DSRKIT-OUT permit 10"
	echo " match ip address prefix-list DSRKIT-VIPS"
	echo "!"
	echo "router bgp $as"
	echo " bgp router-id $id"
	frr_neighbors "$@"
	echo " address-family ipv4 unicast"
	echo "  redistribute connected route-map DSRKIT-VIPS"
	for p in $*; do
		echo "  neighbor $(peer_addr "$p") route-map DSRKIT-OUT out"
		echo "  neighbor $(peer_addr "$p") route-map NOTHING in"
	done
	echo " exit-address-family"
	echo "!"
}

# frr_router_conf ROUTER_ID AS PEERS: the upstream router's FRR: ECMP over
# up to 16 directors whatever their AS (multipath-relax), only /32s of
# VIPS_RANGE taken, nothing sent back (the datacenter profile has no
# ebgp-requires-policy).
frr_router_conf() {
	local id=$1 as=$2 p; shift 2
	echo "frr defaults datacenter"
	echo "hostname rt-$id"
	frr_bfd_profile
	echo "ip prefix-list DSRKIT-VIPS seq 5 permit $VIPS_RANGE ge 32"
	echo "route-map DIRECTORS-IN permit 10"
	echo " match ip address prefix-list DSRKIT-VIPS"
	echo "!"
	echo "route-map NOTHING deny 10"
	echo "!"
	echo "router bgp $as"
	echo " bgp router-id $id"
	echo " bgp bestpath as-path multipath-relax"
	frr_neighbors "$@"
	echo " address-family ipv4 unicast"
	echo "  maximum-paths 16"
	for p in $*; do
		echo "  neighbor $(peer_addr "$p") route-map DIRECTORS-IN in"
		echo "  neighbor $(peer_addr "$p") route-map NOTHING out"
	done
	echo " exit-address-family"
	echo "!"
}
