#!/usr/bin/env bash
# The keepalived setup dsrkit replaces: a public VIP on eth0 and a private
# VIP on eth1, two instances in one sync group, both tracked by one script
# of weight +2 (d1 101, d2 100). The master's script failing moves both
# VIPs to the backup together, and back when it succeeds again; the
# master's eth1 going down puts both of its instances in Fault and moves
# both VIPs too. In every sample both VIPs are on the same director.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

PUB=198.18.10.100 PRIV=198.18.20.100
two_directors
bridge_new br1
join "$D1" eth1 br1 02:00:00:00:01:02 198.18.1.1/24
join "$D2" eth1 br1 02:00:00:00:02:02 198.18.1.2/24
sync_conf() {	# sync_conf TAG PRIORITY
	dconf "$TMP/$1.ini" "$1" \
		"[track_script chk_haproxy]" "command = test ! -e $TMP/$1/fail" "interval = 100ms" "weight = 2" \
		"[sync_group VSG]" "instances = VI_PUBLIC, VI_PRIVATE" \
		"$(vrrp VI_PUBLIC eth0 51 "$2" "$PUB/24 brd 198.18.10.255" "track_script = chk_haproxy")" \
		"$(vrrp VI_PRIVATE eth1 52 "$2" "$PRIV/24 label eth1:priv" "track_script = chk_haproxy")"
}
sync_conf d1 101
sync_conf d2 100
start_director "$D1" d1 "$TMP/d1.ini" || { fail "d1 starts"; dfinish; }
check "d1 (101+2) is master of both instances" \
	wait_ms 3000 js_is d1 "I['vi_public']['state'], I['vi_private']['state']" "('MASTER', 'MASTER')"
start_director "$D2" d2 "$TMP/d2.ini" || { fail "d2 starts"; dfinish; }
check "d2 (100+2) is backup of both" \
	wait_ms 3000 js_is d2 "I['vi_public']['state'], I['vi_private']['state']" "('BACKUP', 'BACKUP')"
check "effective priorities 103 and 102" \
	bash -c '[ "$1 $2" = "(103, 103) (102, 102)" ]' _ \
	"$(js d1 "I['vi_public']['effective_priority'], I['vi_private']['effective_priority']")" \
	"$(js d2 "I['vi_public']['effective_priority'], I['vi_private']['effective_priority']")"
check "both instances report the sync group" js_is d1 "I['vi_public']['sync_group'].lower(), I['vi_private']['sync_group'].lower()" "('vsg', 'vsg')"
check "d1 holds both VIPs, on eth0 and eth1" bash -c "ip -n $D1 -o addr show dev eth0 | grep -q ' $PUB/24 ' && ip -n $D1 -o addr show dev eth1 | grep -q ' $PRIV/24 '"
echo "    d1's eth0: $(ip -n "$D1" -o -4 addr show dev eth0 | grep " $PUB/" | sed 's/^[^ ]* *[^ ]* *//; s/\\.*//')"
check "the public VIP has the broadcast address configured (brd 198.18.10.255)" \
	bash -c "ip -n $D1 -o -4 addr show dev eth0 | grep -q ' $PUB/24 brd 198.18.10.255 '"
check "the private VIP has the label configured (eth1:priv)" \
	bash -c "ip -n $D1 -o -4 addr show dev eth1 | grep -q ' $PRIV/24 .* eth1:priv'"

both() {	# both TAG STATE: both instances of TAG are in STATE
	js_is "$1" "I['vi_public']['state'], I['vi_private']['state']" "('$2', '$2')"
}
sampler "$TMP/samples" "$PUB,$PRIV" "$D1" "$D2"
sleep 0.2

# 1. d1's script fails: d1 runs at 101 < 102, d2 preempts both.
t1=$(now_ms)
touch "$TMP/d1/fail"
check "d1's script fails: both VIPs move to d2 (d2 master of both)" wait_ms 3000 both d2 MASTER
check "... d1 backup of both" wait_ms 2000 both d1 BACKUP
c1=$(now_ms)
sleep 0.3
# 2. It succeeds again: d1 at 103 preempts both back.
t2=$(now_ms)
rm -f "$TMP/d1/fail"
check "d1's script succeeds again: both VIPs back on d1" wait_ms 3000 both d1 MASTER
check "... d2 backup of both" wait_ms 2000 both d2 BACKUP
c2=$(now_ms)
sleep 0.3
# 3. d1's eth1 goes down: VI_PRIVATE faults and takes VI_PUBLIC with it.
t3=$(now_ms)
ip -n "$D1" link set eth1 down
check "d1's eth1 down: both of d1's instances in FAULT" wait_ms 2000 both d1 FAULT
check "... both VIPs move to d2" wait_ms 3000 both d2 MASTER
c3=$(now_ms)
sleep 0.3
# 4. eth1 back up: the Fault ends for both, d1 preempts both.
t4=$(now_ms)
ip -n "$D1" link set eth1 up
check "d1's eth1 up: both VIPs back on d1" wait_ms 3000 both d1 MASTER
check "... d2 backup of both" wait_ms 2000 both d2 BACKUP
c4=$(now_ms)
sleep 0.3
stop_sampler "$SAMPLER_PID"

check "before the script failed: d1 held both VIPs" always "$TMP/samples" 0 "$t1" "11 00"
check "script failed: d2 held both" always "$TMP/samples" "$c1" "$t2" "00 11"
check "script recovered: d1 held both" always "$TMP/samples" "$c2" "$t3" "11 00"
check "eth1 down: d2 held both" always "$TMP/samples" "$c3" "$t4" "00 11"
check "eth1 up: d1 holds both" always "$TMP/samples" "$c4" end "11 00"
check "in every sample both VIPs were on the same director" never "$TMP/samples" '(^| )(01|10)( |$)'
sp=$(split_ms "$TMP/samples")
# Members that moved each on its own timer would stay split for a
# Master_Down_Interval (3 adverts, 300 ms here) or more; one step takes a
# few netlink calls, and the bound leaves room for a loaded machine.
check "a director was never seen holding one VIP of the group without the other for 2.5 advert intervals (250 ms; longest: $sp ms)" \
	in_range "$sp" 0 250
ov=$(overlap_ms "$TMP/samples")
check "never a VIP on both directors in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]
n=$(grep -c '^#' "$TMP/samples")
echo "    $n reading(s) caught the group half-moved (a VIP of it added or removed before the other) and were read again"
dfinish
