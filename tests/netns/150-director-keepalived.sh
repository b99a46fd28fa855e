#!/usr/bin/env bash
# Interop with keepalived from Debian (issue 3): each side master in turn,
# failover both ways, for VRRPv2 without and with simple-password auth,
# VRRPv3 multicast and VRRPv3 unicast. In each scenario:
#   1. keepalived (priority 200) master, directord (100) backup following it
#   2. keepalived stops (SIGTERM: priority 0)  -> directord master
#   3. keepalived starts again                 -> it preempts, directord backup
#   4. directord restarts with priority 250    -> it preempts, keepalived backup
#   5. directord stops (SIGTERM: priority 0)   -> keepalived master
# From convergence on, the VIP holders are sampled every 50 ms: exactly one
# holder at every sample in the steady phases; during a graceful stop no
# sample with two holders and none-held for at most Skew_Time (+ tolerance);
# during a preemption the old master can only stand down once the new
# one's advert arrives, so two holders are allowed for the time that takes
# (at most PREEMPT_OVERLAP_MS, measured exactly from the address events of
# `ip monitor` in both namespaces, which also check every phase).
# directorctl must show no dropped advert (checksum, version, auth,
# interval, ...), and keepalived's log must show it accepted directord's
# adverts (it stood down to priority 250, it took over on priority 0) and
# complained about none, nor fell back to its old unicast v3 checksum.
# The capture on br0 must show both speaking the scenario's version, auth
# and addressing, and both sending priority 0 when stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keepalived-lib.sh"

command -v keepalived >/dev/null || { skip "keepalived is not installed"; exit 0; }
command -v tcpdump >/dev/null || { skip "tcpdump is not installed"; exit 0; }
ka_topology || { fail "topology"; finish; }

# skew_ms VERSION INTERVAL_MS PRIORITY: RFC Skew_Time as "ms.µs" (v2 always
# counts in seconds).
skew_ms() {
	local ms=$2
	[ "$1" = 2 ] && ms=1000
	local us=$(((256 - $3) * ms * 1000 / 256))
	printf '%d.%03d' $((us / 1000)) $((us % 1000))
}

# capture_has FILE ERE: one packet of the -vv capture (its two lines joined) matches.
capture_has() { sed -E ':a;N;$!ba;s/\n +/ /g' "$1" | grep -Eq "$2"; }

ka_log_after() {	# LOG PATTERN1 PATTERN2: PATTERN2 on a line after the first with PATTERN1
	awk -v a="$2" -v b="$3" 'index($0, a) {seen = 1; next} seen && index($0, b) {ok = 1} END {exit !ok}' "$1"
}

# scenario NAME VERSION DD_INTERVAL KA_INTERVAL AUTH_PASS MODE VRID
scenario() {
	local name=$1 version=$2 dd_int=$3 ka_int=$4 pass=$5 mode=$6 vrid=$7
	local dir=$TMP/$name int_ms hold wait_s dst_ka dst_dd cap v failed_before=$FAILED
	FAILED=0	# this scenario's own verdict decides whether to show its capture
	mkdir -p "$dir"
	chmod 755 "$dir"
	int_ms=$(awk -v s="$ka_int" 'BEGIN {printf "%d", s * 1000}')
	hold=$(awk -v i="$int_ms" 'BEGIN {h = 2.5 * i / 1000; printf "%.2f", h < 1 ? 1 : h}')
	wait_s=$(((3 * int_ms + 1000) / 1000 + 4))	# Master_Down_Interval and then some
	echo "== $name: VRRPv$version $mode${pass:+, auth PASS}, advert every ${int_ms} ms, vrid $vrid"

	cap=$dir/capture.txt
	bg_in "$NS_sw" "$cap" tcpdump -i br0 -n -tt -vv -l 'vrrp or arp'
	local tcpdump_pid=$LAST_PID
	wait_until 5 grep -q "listening on" "$cap" || { fail "$name: tcpdump starts"; return; }
	vip_watch_start "$dir"

	ka_write_conf "$dir/ka200.conf" "$vrid" "$version" "$ka_int" 200 "$pass" "$mode"
	dd_write_conf "$dir/dd100.ini" "$vrid" "$version" "$dd_int" 100 "$pass" "$mode"
	dd_write_conf "$dir/dd250.ini" "$vrid" "$version" "$dd_int" 250 "$pass" "$mode"

	# -- 1. keepalived master, directord backup --
	ka_start "$dir/ka200.conf" "$name/ka1"
	if ! wait_until "$wait_s" holder_is ka; then
		fail "$name: keepalived becomes master alone"
		tail -20 "$TMP/$name/ka1.log"
		stop_bg "$KA_PID"; vip_watch_stop "$dir"; stop_bg "$tcpdump_pid"
		return
	fi
	dd_start "$dir/dd100.ini" "$name/dd1" || { fail "$name: directord starts"; stop_bg "$KA_PID"; vip_watch_stop "$dir"; stop_bg "$tcpdump_pid"; return; }
	check "$name: converged: keepalived master, directord BACKUP following $KA_ADDR" \
		wait_until "$wait_s" dd_is BACKUP "$KA_ADDR"
	vip_sample_start "$dir"
	mark "$dir" steady 0 ka "keepalived master (200), directord backup (100)"
	sleep "$hold"

	# -- 2. keepalived stops gracefully --
	mark "$dir" takeover "$(skew_ms "$version" "$int_ms" 100)" - "keepalived stops (priority 0), directord takes over"
	stop_bg "$KA_PID" || fail "$name: keepalived exits on SIGTERM"
	check "$name: directord takes over after keepalived's priority 0" wait_until "$wait_s" holder_is dd
	check "$name: directord says MASTER" dd_is MASTER
	mark "$dir" steady 0 dd "directord master (100), keepalived stopped"
	sleep "$hold"

	# -- 3. keepalived returns with the higher priority and preempts --
	mark "$dir" preempt 0 - "keepalived restarts (200) and preempts"
	ka_start "$dir/ka200.conf" "$name/ka2"
	check "$name: keepalived preempts directord" wait_until "$wait_s" holder_is ka
	check "$name: directord BACKUP following $KA_ADDR again" wait_until 2 dd_is BACKUP "$KA_ADDR"
	mark "$dir" steady 0 ka "keepalived master (200), directord backup (100)"
	sleep "$hold"
	if v=$(dd_drops_zero); then
		pass "$name: directord (100) dropped none of keepalived's adverts"
	else
		fail "$name: directord (100) dropped keepalived's adverts: $v"
	fi

	# -- 4. swap: directord restarts with priority 250 and preempts --
	# (stopping a backup changes nothing: still the steady phase above)
	stop_bg "$DD_PID" || fail "$name: directord exits on SIGTERM"
	mark "$dir" preempt 0 - "directord (250) starts and preempts"
	dd_start "$dir/dd250.ini" "$name/dd2" || { fail "$name: directord starts again"; }
	check "$name: directord (250) preempts keepalived" wait_until "$wait_s" holder_is dd
	check "$name: directord says MASTER" dd_is MASTER
	check "$name: keepalived stood down on directord's advert (its log)" \
		ka_log_after "$TMP/$name/ka2.log" "Master received advert from $DD_ADDR with higher priority 250" \
		"Entering BACKUP STATE"
	mark "$dir" steady 0 dd "directord master (250), keepalived backup (200)"
	sleep "$hold"
	if v=$(dd_drops_zero); then
		pass "$name: directord (250) dropped none of keepalived's adverts"
	else
		fail "$name: directord (250) dropped keepalived's adverts: $v"
	fi

	# -- 5. directord stops gracefully --
	mark "$dir" takeover "$(skew_ms "$version" "$int_ms" 200)" - "directord stops (priority 0), keepalived takes over"
	stop_bg "$DD_PID" || fail "$name: directord exits on SIGTERM"
	check "$name: keepalived takes over after directord's priority 0" wait_until "$wait_s" holder_is ka
	check "$name: keepalived acted on directord's priority 0 (its log)" \
		ka_log_after "$TMP/$name/ka2.log" "Master received advert from $DD_ADDR with higher priority 250" \
		"Backup received priority 0 advertisement"
	mark "$dir" steady 0 ka "keepalived master (200), directord stopped"
	sleep "$hold"
	mark "$dir" end 0 - end

	stop_bg "$KA_PID" || fail "$name: keepalived exits on SIGTERM"
	vip_watch_stop "$dir"
	sleep 0.2
	stop_bg "$tcpdump_pid"
	vip_judge "$dir" "$name"

	# -- on the wire --
	if [ "$mode" = unicast ]; then dst_ka=$DD_ADDR dst_dd=$KA_ADDR; else dst_ka=224.0.0.18 dst_dd=224.0.0.18; fi
	local adv="VRRPv$version, Advertisement, vrid $vrid"
	check "$name: capture: keepalived's adverts $KA_ADDR > $dst_ka, $adv, prio 200 and prio 0" \
		eval "capture_has '$cap' '$KA_ADDR > $dst_ka: $adv, prio 200' && capture_has '$cap' '$KA_ADDR > $dst_ka: $adv, prio 0,'"
	check "$name: capture: directord's adverts $DD_ADDR > $dst_dd, $adv, prio 100, 250 and 0" \
		eval "capture_has '$cap' '$DD_ADDR > $dst_dd: $adv, prio 100' && capture_has '$cap' '$DD_ADDR > $dst_dd: $adv, prio 250' && capture_has '$cap' '$DD_ADDR > $dst_dd: $adv, prio 0,'"
	check "$name: capture: every advert is VRRPv$version with TTL 255" \
		bash -c "! sed -E ':a;N;\$!ba;s/\n +/ /g' '$cap' | grep 'proto VRRP' | grep -Ev 'ttl 255,.*VRRPv$version, Advertisement' | grep -q ."
	if [ "$version" = 2 ] && [ -n "$pass" ]; then
		check "$name: capture: every advert from either side carries simple auth \"$pass\"" \
			bash -c "! sed -E ':a;N;\$!ba;s/\n +/ /g' '$cap' | grep 'VRRPv2, Advertisement' | grep -Ev 'authtype simple, .* auth \"$pass\"' | grep -q ."
	fi
	check "$name: capture: tcpdump flags no bad checksum" bash -c "! grep -qi 'bad.*cksum' '$cap'"
	# keepalived logs every advert it refuses, and falls back silently to
	# the pre-2.0 unicast v3 checksum (multicast group in the pseudo-header)
	# when only that one matches: neither may happen.
	if v=$(grep -hiE "$KA_COMPLAINTS" "$TMP/$name"/ka[12].log); then
		fail "$name: keepalived refused or worked around directord's adverts ($(wc -l <<<"$v") lines): $(head -1 <<<"$v")"
	else
		pass "$name: keepalived logged no complaint about directord's adverts"
	fi
	if ((FAILED)); then
		echo "-- $name: capture (one line per packet, last 30) --"
		sed -E ':a;N;$!ba;s/\n +/ /g' "$cap" | grep -E 'VRRP|ARP' | sed -E 's/ IP \(tos .*length [0-9]+\)/ IP/' | tail -30
	fi
	FAILED=$((FAILED | failed_before))
}

# keepalived 2.2.7's messages for an advert it drops (vrrp_in_chk) or
# works around (unicast checksum compatibility).
KA_COMPLAINTS='invalid|mismatch|checksum|too short|expecting|not present|not a unicast peer|interval changed|bogus'

start=$SECONDS
scenario v2 2 1s 1 "" multicast 51
scenario v2-auth 2 1s 1 "dsr-pw" multicast 52
scenario v3 3 200ms 0.2 "" multicast 53
scenario v3-unicast 3 200ms 0.2 "" unicast 54
echo "ran in $((SECONDS - start)) s"
finish
