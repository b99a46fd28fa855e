#!/usr/bin/env bash
# Active-active directors (issue 12): three directors d1 d2 d3 each run
# directord with an announced service (VIP:9000, `announce = yes`, mh with
# mh-port and mh-fallback, sloppy TCP) and BIRD, which exports the VIP's
# route (table 222, protocol 222) by BGP to the upstream router rt (BIRD,
# merge paths: one ECMP route, fib_multipath_hash_policy = 1). Real
# servers rs1 rs2 rs3 (rs-agent: the VIP on lo) run an echo server; the
# client network behind rt opens a few hundred long-lived TCP connections
# from as many source ports, each carrying data both ways, every byte of
# the echo checked (tests/tools/streamcheck clients). Cases:
#   spread   every director carries new connections (the share printed);
#            the replies go straight from the real servers (no OutPkts)
#   kill     d1's directord and BIRD SIGKILLed: rt drops d1, its
#            connections go on through d2 and d3 to the same real servers:
#            0 broken (the longest wait for an echo printed)
#   drain    `directorctl drain-director --wait` on d2: rt drops it, none
#            broken, new connections avoid it; enable-director: it takes
#            new ones again
#   unreach  d3 can reach no real server: it withdraws, the others carry
#            the service, none broken
#   cut      d3's link cut: rt drops it by BFD, none broken
#   restart  d1 restarted while one real server's first check takes 3 s:
#            the VIP is announced only after it (no black hole)
#   rsfail   rs3's echo server killed: only its connections break, and it
#            is at weight 0 on every director alike
#   mixed    a VRRP-followed service (VI_1 on the LAN) beside the
#            announced one on the same directors: both carry streams
# AA_BY_HAND=1 runs the lab itself without directord's announcer: IPVS
# programmed with ipvsadm and the routes added by hand, exactly as the
# spec has directord make them (the cases that need directord's own
# logic are skipped then). Each event's numbers are printed as
#   AA <event> key=value...
# for bench/aa.sh; with AA_COMPARE_VRRP=1 the same client and real
# servers then go through a VRRP pair (d1, d2) whose master is cut off,
# then killed.
. "$(dirname "$0")/director-vm-lib.sh"
. "$(dirname "$0")/../netns/routing-lib.sh"

T=31-director-active-active
need_ipvs
have_routing_daemons || { skip "$T: needs BIRD 2 (bird2) and FRR (frr)"; exit 0; }
STREAM=$BUILD/tools/streamcheck
[ -x "$STREAM" ] || { fail "$T: $STREAM is built (make)"; dfinish; }
BY_HAND=${AA_BY_HAND:-0}
CONNS=${AA_CONNS:-300}	# long-lived connections
EVERY_MS=${AA_EVERY_MS:-2000}	# each sends 1 KiB that often (TCG: keep it modest)

VIP=198.18.1.1 PORT=9000 VVIP=198.18.0.100
A_rt=198.18.0.1 A_d1=198.18.0.2 A_d2=198.18.0.3 A_d3=198.18.0.4
A_rs1=198.18.0.11 A_rs2=198.18.0.12 A_rs3=198.18.0.13
A_cl=198.18.9.1 A_rtc=198.18.9.254
DIRS="d1 d2 d3" RSS="rs1 rs2 rs3"
SVC="-t $VIP:$PORT"

# A loaded host stops a TCG VM for seconds at times, which looks like a
# stall of the network: one python process notes every gap over 300 ms in
# its 50 ms sleeps ("GAP START_MS MS"), so that a long wait can be told
# from a frozen VM (freezes WHEN_FROM WHEN_TO, below).
cat >"$TMP/freeze.py" <<'PY'
import sys, time
out = open(sys.argv[1], "w", buffering=1)
last = time.time()
while True:
    time.sleep(0.05)
    now = time.time()
    if now - last > 0.3:
        out.write("GAP %d %d\n" % (last * 1000, (now - last) * 1000))
    last = now
PY
"$PY" "$TMP/freeze.py" "$TMP/freeze.log" &
BG_PIDS+=($!)
# freezes FROM_MS TO_MS: the VM's own stops between those times.
freezes() { awk -v a="$1" -v b="$2" '$1 == "GAP" && $2 + $3 >= a && $2 <= b { n++; t += $3; if ($3 > m) m = $3 }
	END { printf "VM frozen %d time(s), %d ms in all, the longest %d ms", n, t, m }' "$TMP/freeze.log"; }

# ---- the network: the LAN (br0) and the client network (br1) ----
switch_new
bridge_new br1
i=0
for n in rt $DIRS $RSS; do
	i=$((i + 1))
	ns_new "$n"
	a=A_$n
	join "$TEST_ID-$n" eth0 br0 "$(printf '02:00:00:00:%02x:01' "$i")" "${!a}/24"
done
ns_new cl
join "$NS_cl" eth0 br1 02:00:00:00:20:01 "$A_cl/24"
join "$NS_rt" eth1 br1 02:00:00:00:20:02 "$A_rtc/24"
ip -n "$NS_cl" route add default via "$A_rtc"
in_ns "$NS_rt" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
for n in $DIRS $RSS; do
	ns=NS_$n
	ip -n "${!ns}" route add 198.18.9.0/24 via "$A_rt"	# replies straight back (DR)
done

# ---- real servers: rs-agent (the VIPs on lo, ARP sysctls), echo on 9000 ----
for rs in $RSS; do
	ns=NS_$rs
	write_rs_config "$TMP/$rs.ini" "$rs" "$VIP, $VVIP" \
		"[agent]" "listen = 0.0.0.0:5555" "allow = $A_d1, $A_d2, $A_d3" \
		"[check stream]" "type = tcp" "port = $PORT" "interval = 1s" "timeout = 1s"
	bg_in "${!ns}" "$TMP/echo-$rs.log" "$STREAM" serve "$PORT"
	printf -v "ECHO_PID_$rs" '%s' "$LAST_PID"
	start_agent "${!ns}" "$TMP/$rs.ini" "$TMP/agent-$rs.log" || { fail "$T: rs-agent on $rs starts"; dfinish; }
done

# ---- the router and the directors' BIRD ----
bird_start "$NS_rt" rt "$(bird_router_conf $A_rt 65000 $A_d1:65001:bfd $A_d2:65002:bfd $A_d3:65003:bfd)" ||
	{ fail "$T: BIRD on rt starts"; dfinish; }
dir_bird() { local a=A_$1 ns=NS_$1; bird_start "${!ns}" "$1" "$(bird_director_conf "${!a}" "6500${1#d}" "$A_rt:65000:bfd")"; }

# ---- directord (or the same by hand) ----
# director_conf TAG [extra line...]: the announced service (and, with
# MIXED=1, VI_1 and a VRRP-followed service on the LAN).
MIXED=0
# vrrp_1s PRIORITY: [vrrp VI_1] holding the VRRP VIP on eth0, adverts
# every second (a TCG VM must not see takeovers of its own making).
vrrp_1s() {
	printf '%s\n' "[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $1" \
		"advert_interval = 1s" "virtual_ipaddress = $VVIP/24"
}
director_conf() {
	local tag=$1 prio; shift
	prio=$((160 - 10 * ${tag#d}))
	dconf "$TMP/$tag.ini" "$tag" "announce_interface = lo" "announce_table = $ANNOUNCE_TABLE" \
		"announce_protocol = $ANNOUNCE_PROTO" "ipvs_sloppy_tcp = 1" "$@" "
[virtual_server aa]
address = $VIP:$PORT
protocol = tcp
method = dr
announce = yes
scheduler = mh
scheduler_flags = mh-port, mh-fallback
inhibit_on_failure = yes
check = tcp
check_interval = ${CHECK_TIMEOUT:-500ms}
check_timeout = ${CHECK_TIMEOUT:-500ms}
check_rise = 1
check_fall = 2
real_servers = $A_rs1:$PORT, $A_rs2:$PORT, $A_rs3:$PORT"
	if [ "$MIXED" = 1 ]; then
		{
			vrrp_1s "$prio"
			printf '%s\n' "[virtual_server vrrp]" "address = $VVIP:$PORT" "protocol = tcp" "method = dr" \
				"vrrp = VI_1" "scheduler = mh" "scheduler_flags = mh-port, mh-fallback" \
				"inhibit_on_failure = yes" "check = tcp" \
				"check_interval = 500ms" "check_timeout = 500ms" \
				"real_servers = $A_rs1:$PORT, $A_rs2:$PORT, $A_rs3:$PORT"
		} >>"$TMP/$tag.ini"
	fi
}

# by_hand_up TAG: what directord does for the announced service, by hand.
by_hand_up() {
	local ns=NS_$1 rs a
	in_ns "${!ns}" sysctl -qw net.ipv4.vs.sloppy_tcp=1
	in_ns "${!ns}" ipvsadm -A $SVC -s mh -b mh-port,mh-fallback 2>/dev/null
	for rs in $RSS; do	# one canonical order on every director
		a=A_$rs
		in_ns "${!ns}" ipvsadm -a $SVC -r "${!a}:$PORT" -g -w 1 2>/dev/null
	done
	announce_by_hand "${!ns}" "$VIP" 2>/dev/null
	return 0
}

# dir_up TAG: directord (or by hand) and BIRD on TAG.
dir_up() {
	if [ "$BY_HAND" = 1 ]; then
		by_hand_up "$1"
	else
		local ns=NS_$1
		start_dir "${!ns}" "$1" "$TMP/$1.ini" || return 1
	fi
	[ -s "$TMP/$1/bird.pid" ] && [ -n "$(cat "$TMP/$1/pids" 2>/dev/null)" ] && return 0
	dir_bird "$1"
}

# dir_kill TAG: SIGKILL of directord (its whole process group) and of
# BIRD; the kernel keeps what they made (IPVS, the VIP, the route).
dir_kill() {
	local var=PID_$1
	if [ "$BY_HAND" != 1 ]; then
		kill -KILL -- "-${!var}" 2>/dev/null
		wait_until 10 not kill -0 "${!var}"
	fi
	routing_kill "$1"
}

ev() { echo "    at $(now_ms): $*"; }	# an event, for the at_ms of the verdicts
announced_by() { nexthops "$NS_rt" "$VIP"; }	# the next hops rt has for the VIP
nh_are() { nexthops_are "$NS_rt" "$VIP" "$1"; }
ALL3="$A_d1 $A_d2 $A_d3"

# directord must know the keys of the spec before anything else here.
if [ "$BY_HAND" != 1 ]; then
	director_conf d1
	if ! out=$("$DIRECTORD" -t -f "$TMP/d1.ini" 2>&1); then
		fail "$T: directord knows announced services (announce, announce_interface, announce_table, announce_protocol): $(head -3 <<<"$out" | paste -sd' ')"
		dfinish
	fi
fi

for d in $DIRS; do
	director_conf "$d"
	dir_up "$d" || { fail "$T: $d starts"; dfinish; }
done
check "$T: rt has one route to $VIP with a next hop per director" wait_gently 60 nh_are "$ALL3"
echo "    rt: $(ip -n "$NS_rt" -o route show "$VIP")"
# order_of NS: the service's scheduler and destinations in the kernel's
# own order (the order they were added in: mh's table depends on it).
order_of() { in_ns "$1" ipvsadm -L -n $SVC 2>/dev/null | awk '$1 == "TCP" { print $3, $4 } $1 == "->" && $2 != "RemoteAddress:Port" { print $2 }' | paste -sd' '; }
for d in $DIRS; do
	ns=NS_$d
	check "$T: $d programs the three real servers at weight 1" \
		wait_gently 30 dests_are "${!ns}" "$SVC" "$A_rs1:$PORT:1 $A_rs2:$PORT:1 $A_rs3:$PORT:1"
done
echo "    d1: $(order_of "$NS_d1")"
check "$T: the three directors have mh (mh-port, mh-fallback) and the real servers in one order" \
	test "$(order_of "$NS_d1")" = "$(order_of "$NS_d2")" -a "$(order_of "$NS_d1")" = "$(order_of "$NS_d3")" \
	-a "$(order_of "$NS_d1" | cut -d' ' -f1)" = mh

# ---- streams ----
# streams NAME N SECONDS: N connections from the client (in the
# background), log $TMP/NAME.stream; waits until they are connected.
streams() {
	printf -v "START_$1" '%s' "$(now_ms)"
	: >"$TMP/$1.stream"
	rm -f "$TMP/$1.stream.stop"
	bg_in "$NS_cl" "$TMP/$1.out" "$STREAM" clients "$VIP" "$PORT" "$TMP/$1.stream" "$2" "$3" "$EVERY_MS"
	wait_gently $((20 + $2 / 10)) grep -q '^connected\|^done' "$TMP/$1.stream"
	grep -q '^connected' "$TMP/$1.stream" && return 0
	echo "    $1: $(grep -v '^progress' "$TMP/$1.stream" | tail -3 | paste -sd'|') $(tail -2 "$TMP/$1.out")"
	return 1
}
# streams_end NAME: stop them, wait (bounded) for the verdict line.
streams_end() {
	touch "$TMP/$1.stream.stop"
	wait_gently 90 grep -q '^done' "$TMP/$1.stream"
}
verdict() { grep '^done' "$TMP/$1.stream"; }
frozen() { local v=START_$1; freezes "${!v}" "$(now_ms)"; }	# frozen NAME: the VM's stops during that batch	# done conns=N broken=B max_wait_ms=W port=P
broken() { verdict "$1" | sed -nE 's/.* broken=([0-9]+).*/\1/p'; }
max_wait() { verdict "$1" | sed -nE 's/.* max_wait_ms=([0-9]+).*/\1/p'; }
# slow NAME: how many connections waited over 1 s for an echo, and when
# those waits began (wall ms, first and last), to set beside the events.
slow() {
	awk '$1 == "conn" { w = $5; a = $6; sub(/.*=/, "", w); sub(/.*=/, "", a)
		if (w + 0 > 1000) { n++; if (!f || a < f) f = a; if (a > l) l = a } }
		END { printf "%d waited over 1 s", n; if (n) printf " (from %s to %s)", f, l; print "" }' "$TMP/$1.stream"
}
# progress_since NAME: streams are alive and echoing (at least one
# progress line with no broken connection).
conns_of() { ipvs_stat "$1" 3; }	# connections this director's IPVS scheduled
conns_all() { local d ns; for d in $DIRS; do ns=NS_$d; echo "$d=$(conns_of "${!ns}")"; done | paste -sd' '; }

# spread: the long-lived batch.
sleep 3
before=$(conns_all)
streams long "$CONNS" 900 || { fail "$T: $CONNS connections from the client through $VIP"; dfinish; }
pass "$T: $CONNS connections from the client through $VIP"
sleep 4	# IPVS folds its counters every 2 s
after=$(conns_all)
share=$(for d in $DIRS; do ns=NS_$d; b=$(sed -nE "s/.*$d=([0-9]+).*/\1/p" <<<"$before"); echo "$d=$(($(conns_of "${!ns}") - ${b:-0}))"; done | paste -sd' ')
echo "    new connections per director: $share"
echo "AA spread conns=$CONNS $share"
for d in $DIRS; do
	ns=NS_$d
	n=$(conns_of "${!ns}")
	check "$T: $d carries new connections ($n of $CONNS)" test "${n:-0}" -gt 0
	check "$T: $d sends no packet of them back (replies go straight from the real servers)" test "$(ipvs_stat "${!ns}" 5)" = 0
done

# kill: d1 dies.
t0=$(now_ms)
ev "d1 killed"
dir_kill d1
if wait_gently 30 nh_are "$A_d2 $A_d3"; then
	pass "$T: d1 killed -> rt drops it ($(elapsed_ms "$t0") ms; $(freezes "$t0" "$(now_ms)"))"
	echo "AA kill dropped_ms=$(elapsed_ms "$t0")"
else
	fail "$T: d1 killed -> rt drops it (next hops: $(announced_by))"
fi
sleep 6	# the moved connections exchange data through d2 and d3
streams_end long || fail "$T: the long-lived connections end"
echo "    long-lived: $(verdict long); $(slow long); $(frozen long)"
echo "AA kill broken=$(broken long) max_wait_ms=$(max_wait long)"
grep '^broken' "$TMP/long.stream" | head -5
check "$T: d1 killed -> $CONNS connections, 0 broken, every byte back (longest wait $(max_wait long) ms)" \
	test "$(broken long)" = 0
dir_up d1 || fail "$T: d1 starts again"
streams long2 "$CONNS" 900 || fail "$T: $CONNS connections again"
check "$T: d1 back -> rt has it again" wait_gently 60 nh_are "$ALL3"

# drain: d2 drained and enabled again.
ev "d2 drained"
if [ "$BY_HAND" = 1 ]; then
	withdraw_by_hand "$NS_d2" "$VIP"
	drained=yes
else
	out=$(ctl d2 drain-director --wait=30 2>&1) && drained=yes || drained=no
	echo "    drain-director: $out"
	check "$T: drain-director --wait returns 0" test "$drained" = yes
fi
check "$T: d2 drained -> rt drops it" wait_gently 20 nh_are "$A_d1 $A_d3"
sleep 3	# IPVS folds its counters every 2 s: d2's last connections counted first
c2=$(conns_of "$NS_d2")
streams short1 60 8 || fail "$T: 60 new connections while d2 is drained"
streams_end short1
sleep 3
check "$T: new connections avoid drained d2 ($(verdict short1); d2 took $(($(conns_of "$NS_d2") - c2)))" \
	test "$(conns_of "$NS_d2")" = "$c2"
ev "d2 enabled"
if [ "$BY_HAND" = 1 ]; then
	announce_by_hand "$NS_d2" "$VIP"
else
	check "$T: enable-director returns 0" ctl d2 enable-director
fi
check "$T: d2 enabled -> rt has it again" wait_gently 20 nh_are "$ALL3"
sleep 4	# the long-lived flows that the new route moves to d2 counted first
c2=$(conns_of "$NS_d2")
streams short2 60 8 || fail "$T: 60 new connections after d2 is enabled"
streams_end short2
sleep 3
check "$T: d2 enabled takes new connections again ($(($(conns_of "$NS_d2") - c2)) of 60)" test "$(conns_of "$NS_d2")" -gt "$c2"
check "$T: drain -> no long-lived connection broken" test -z "$(grep '^broken' "$TMP/long2.stream")"

# unreach: d3 cannot reach any real server.
if [ "$BY_HAND" = 1 ]; then
	skip "$T: unreach (needs directord's announcer)"
else
	for rs in $RSS; do a=A_$rs; ip -n "$NS_d3" route add prohibit "${!a}/32"; done
	t0=$(now_ms)
	ev "d3 cut off from the real servers"
	check "$T: d3 with no real server reachable withdraws" wait_gently 30 nh_are "$A_d1 $A_d2"
	echo "AA unreach withdrawn_ms=$(elapsed_ms "$t0")"
	for rs in $RSS; do a=A_$rs; ip -n "$NS_d3" route del prohibit "${!a}/32"; done
	ev "d3 reaches the real servers again"
	check "$T: d3's real servers back -> announced again" wait_gently 30 nh_are "$ALL3"
	sleep 4
	check "$T: unreach -> no long-lived connection broken" test -z "$(grep '^broken' "$TMP/long2.stream")"
fi

streams_end long2 || fail "$T: the long-lived connections end"
echo "    long-lived: $(verdict long2); $(slow long2); $(frozen long2)"
echo "AA drain broken=$(broken long2) max_wait_ms=$(max_wait long2)"
check "$T: drain (and unreach): $CONNS connections, 0 broken, every byte back (longest wait $(max_wait long2) ms)" \
	test "$(broken long2)" = 0

# cut: d3's link cut (its switch port down): the data plane gone too,
# nothing tells rt but BFD.
link_cut() { ip -n "$SW" link set "$1-eth0" down; }
link_back() { ip -n "$SW" link set "$1-eth0" up; }
streams cut "$CONNS" 900 || fail "$T: $CONNS connections for the cut"
sleep 4
t0=$(now_ms)
ev "d3's link cut"
link_cut d3
if wait_ms 10000 nh_are "$A_d1 $A_d2"; then dropped=$(elapsed_ms "$t0"); else dropped=never; fi
sleep 8
streams_end cut
echo "    cut: dropped after $dropped ms; $(verdict cut); $(slow cut); $(frozen cut)"
echo "AA cut dropped_ms=$dropped broken=$(broken cut) max_wait_ms=$(max_wait cut)"
check "$T: d3's link cut -> rt drops it by BFD within 2 s ($dropped ms)" in_range "${dropped/never/99999}" 0 2000
check "$T: d3's link cut -> $CONNS connections, 0 broken (longest wait $(max_wait cut) ms)" test "$(broken cut)" = 0
link_back d3
check "$T: d3's link back -> announced again" wait_gently 30 nh_are "$ALL3"

# restart: announced only after the first check results.
if [ "$BY_HAND" = 1 ]; then
	skip "$T: restart (needs directord's announcer)"
else
	stop_dir d1 TERM
	check "$T: d1 stopped (SIGTERM) -> withdrawn" wait_gently 20 nh_are "$A_d2 $A_d3"
	# rs3's first check result takes 3 s: its packets go to a next hop
	# that never answers ARP (a blackhole route would fail it at once).
	ip -n "$NS_d1" route add "$A_rs3/32" via 198.18.0.250
	CHECK_TIMEOUT=3s director_conf d1
	t0=$(now_ms)
	dir_up d1 || fail "$T: d1 starts again"
	# Sampled every 0.25 s: the route must not be there before rs3's first result.
	early=$(for _ in $(seq 8); do ip -n "$NS_d1" route show table "$ANNOUNCE_TABLE" "$VIP/32" proto "$ANNOUNCE_PROTO"; sleep 0.25; done)
	check "$T: d1 restarted -> no route before every real server's first check ($(elapsed_ms "$t0") ms sampled)" test -z "$early"
	check "$T: d1 restarted -> announced once the checks are in" wait_gently 20 nh_are "$ALL3"
	echo "AA restart announced_ms=$(elapsed_ms "$t0")"
	ip -n "$NS_d1" route del "$A_rs3/32" via 198.18.0.250
	director_conf d1
	ctl d1 reload >/dev/null
fi

# rsfail: rs3's echo server and its connections die.
streams rs 60 900 || fail "$T: 60 connections for rsfail"
sleep 3
on_rs3=$(in_ns "$NS_rs3" ss -Htn state established "( sport = :$PORT )" | wc -l)
for p in $(ip netns pids "$NS_rs3"); do	# pkill would see every namespace's
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = streamcheck ] && kill -KILL "$p"
done
if [ "$BY_HAND" = 1 ]; then	# what directord's check does (inhibit_on_failure)
	for d in $DIRS; do ns=NS_$d; in_ns "${!ns}" ipvsadm -e $SVC -r "$A_rs3:$PORT" -g -w 0; done
fi
for d in $DIRS; do
	ns=NS_$d
	check "$T: rs3 down -> weight 0 on $d too" wait_gently 20 weight_is "${!ns}" "$SVC" "$A_rs3:$PORT" 0
done
sleep 3
streams_end rs
echo "    rsfail: $(verdict rs); rs3 had $on_rs3 of them"
check "$T: rs3 down -> only its connections broke ($(broken rs) broken, $on_rs3 were on rs3)" test "$(broken rs)" = "$on_rs3"
bg_in "$NS_rs3" "$TMP/echo-rs3.log" "$STREAM" serve "$PORT"

# mixed: a VRRP service beside the announced one.
if [ "$BY_HAND" = 1 ]; then
	skip "$T: mixed (needs directord)"
else
	MIXED=1
	for d in $DIRS; do director_conf "$d"; ctl "$d" reload >/dev/null || fail "$T: mixed: $d reloads"; done
	check "$T: mixed: d1 is VRRP master of VI_1" wait_gently 20 vmaster d1 VI_1 MASTER
	check "$T: mixed: the VRRP VIP is on d1's eth0 and not announced" has_addr "$NS_d1" eth0 "$VVIP"
	check "$T: mixed: table $ANNOUNCE_TABLE holds only the announced VIP" \
		test "$(ip -n "$NS_d1" route show table "$ANNOUNCE_TABLE" proto "$ANNOUNCE_PROTO" | awk '{ print $1 }')" = "$VIP"
	check "$T: mixed: the announced VIP still on all three" nh_are "$ALL3"
	VIP_SAVE=$VIP
	VIP=$VVIP streams vrrp 30 900 || fail "$T: mixed: 30 connections to the VRRP VIP"
	VIP=$VIP_SAVE
	streams mix 60 900 || fail "$T: mixed: 60 connections to the announced VIP"
	sleep 5
	streams_end vrrp
	streams_end mix
	check "$T: mixed: VRRP service streams whole ($(verdict vrrp))" test "$(broken vrrp)" = 0
	check "$T: mixed: announced service streams whole ($(verdict mix))" test "$(broken mix)" = 0
fi

# vrrp (AA_COMPARE_VRRP=1, for bench/aa.sh): the same client, real
# servers and kill against a VRRP pair, d1 master and d2 backup, VRRP
# every second (TCG), the IPVS sync daemon following VI_1, mh and sloppy
# TCP as above.
if [ "${AA_COMPARE_VRRP:-0}" = 1 ]; then
	if [ "$BY_HAND" != 1 ]; then for d in $DIRS; do stop_dir "$d" TERM; done; fi
	for i in 1 2; do
		dconf "$TMP/v$i.ini" "v$i" "ipvs_sloppy_tcp = 1" "ipvs_sync_interface = eth0" "ipvs_sync_follow = VI_1" \
			"$(vrrp_1s $((200 - 50 * i)))" "
[virtual_server vrrp]
address = $VVIP:$PORT
protocol = tcp
method = dr
vrrp = VI_1
scheduler = mh
scheduler_flags = mh-port, mh-fallback
inhibit_on_failure = yes
check = tcp
check_interval = 500ms
check_timeout = 500ms
real_servers = $A_rs1:$PORT, $A_rs2:$PORT, $A_rs3:$PORT"
	done
	start_dir "$NS_d2" v2 "$TMP/v2.ini" || fail "$T: vrrp: d2 starts"
	start_dir "$NS_d1" v1 "$TMP/v1.ini" || fail "$T: vrrp: d1 starts"
	check "$T: vrrp: d1 master" wait_gently 30 vmaster v1 VI_1 MASTER
	check "$T: vrrp: d2 backup" wait_gently 30 vmaster v2 VI_1 BACKUP
	VIP=$VVIP streams vrrpcut "$CONNS" 900 || fail "$T: vrrp: $CONNS connections to $VVIP"
	sleep 5
	t0=$(now_ms)
	link_cut d1
	if wait_gently 30 has_addr "$NS_d2" eth0 "$VVIP"; then takeover=$(elapsed_ms "$t0"); else takeover=never; fi
	sleep 8
	streams_end vrrpcut
	echo "    vrrp pair, d1's link cut at $t0: takeover $takeover ms; $(verdict vrrpcut); $(slow vrrpcut); $(frozen vrrpcut)"
	echo "AA vrrp-cut takeover_ms=$takeover broken=$(broken vrrpcut) max_wait_ms=$(max_wait vrrpcut)"
	link_back d1
	check "$T: vrrp: d1 master again after its link is back" wait_gently 30 vmaster v1 VI_1 MASTER
	check "$T: vrrp: d2 backup again" wait_gently 30 vmaster v2 VI_1 BACKUP
	VIP=$VVIP streams vrrpkill "$CONNS" 900 || fail "$T: vrrp: $CONNS connections to $VVIP"
	sleep 5	# the sync daemon sends a connection once 2 s old (tests/vm/README.md)
	t0=$(now_ms)
	kill -KILL -- "-$PID_v1"
	if wait_gently 30 has_addr "$NS_d2" eth0 "$VVIP"; then takeover=$(elapsed_ms "$t0"); else takeover=never; fi
	sleep 8
	streams_end vrrpkill
	echo "    vrrp pair, d1 killed at $t0: takeover $takeover ms; $(verdict vrrpkill); $(slow vrrpkill); $(frozen vrrpkill)"
	echo "AA vrrp-kill takeover_ms=$takeover broken=$(broken vrrpkill) max_wait_ms=$(max_wait vrrpkill)"
	check "$T: vrrp: d2 took over" test "$takeover" != never
fi

dfinish
