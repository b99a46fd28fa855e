#!/usr/bin/env bash
# Replacing keepalived with directord node by node (issue 5): two nodes run
# keepalived from Debian as a VRRP pair (ka: state MASTER, priority 200;
# dd: state BACKUP, priority 100; VRRPv2 with a password and a tracking
# script, as keepalived configurations usually are). Each keepalived.conf
# is converted with directorctl import-keepalived, and the converted file
# is run, unchanged but for its control socket:
#   1. the backup's keepalived stops and directord starts on dd with the
#      converted file, while ka's keepalived stays master: the VIP must not
#      move at all, exactly one holder (ka) at every sample of the swap, and
#      directord must follow ka as BACKUP without dropping one advert;
#   2. then the master's: ka's keepalived stops (priority 0), directord on
#      dd takes over within Skew_Time; directord starts on ka with the
#      converted file and preempts (priority 202 over 102), as keepalived
#      would have: never two holders but for the preemption's moment, never
#      none but for the takeover's Skew_Time.
# Samples every 50 ms and the exact timeline of ip monitor decide
# (keepalived-lib.sh's vip_judge).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keepalived-lib.sh"

command -v keepalived >/dev/null || { skip "keepalived is not installed"; exit 0; }
ka_topology || { fail "topology"; finish; }
VRID=61

# ka_conf FILE SIDE STATE PRIORITY: a keepalived.conf as a site writes it.
ka_conf() {
	cat >"$1" <<EOF
! keepalived.conf of $2
global_defs {
    router_id lb-$2
    notification_email {
        ops@example.com
    }
    smtp_server 192.0.2.25
}

vrrp_script chk_true {
    script "/usr/bin/true"
    interval 1
    weight 2
}

vrrp_instance VI_1 {
    state $3
    interface eth0
    virtual_router_id $VRID
    priority $4
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass swap$VRID
    }
    virtual_ipaddress {
        $KA_VIP/24 dev eth0
    }
    track_script {
        chk_true
    }
}
EOF
	chmod 644 "$1"
}

# convert SIDE: $TMP/SIDE.conf -> $TMP/SIDE.ini, with a control socket of
# this test's own.
convert() {
	local side=$1
	"$DIRECTORCTL" import-keepalived -o "$TMP/$side.ini" "$TMP/$side.conf" 2>"$TMP/$side.import.log" || return 1
	sed -i "s|^\[global\]$|[global]\ncontrol_socket = $TMP/$side.sock\ncontrol_mode = 0600|" "$TMP/$side.ini"
	chmod 644 "$TMP/$side.ini"
	"$DIRECTORD" -t -f "$TMP/$side.ini" >/dev/null
}

# keepalived_in NS TAG CONF: keepalived with pid files of its own. Sets LAST_PID.
keepalived_in() {
	bg_in "$1" "$TMP/$2.log" keepalived -n -l -D -f "$3" \
		-p "$TMP/$2.pid" -r "$TMP/$2-vrrp.pid" -c "$TMP/$2-checker.pid"
}

# directord_in NS SIDE: directord with the converted file; waits for its socket.
directord_in() {
	bg_in "$1" "$TMP/$2-directord.log" "$DIRECTORD" -n -f "$TMP/$2.ini"
	wait_until 10 "$DIRECTORCTL" -s "$TMP/$2.sock" status --json ||
		{ echo "directord on $2 did not answer:"; tail -20 "$TMP/$2-directord.log"; return 1; }
}

# state_is SIDE STATE [MASTER_ADDR]
state_is() {
	"$DIRECTORCTL" -s "$TMP/$1.sock" status --json 2>/dev/null | "$PY" -c '
import json, sys
i = json.load(sys.stdin)["vrrp"]["instances"][0]
sys.exit(not (i["state"] == sys.argv[1] and (len(sys.argv) < 3 or i["master"] == sys.argv[2])))' "${@:2}"
}

ka_conf "$TMP/ka.conf" ka MASTER 200
ka_conf "$TMP/dd.conf" dd BACKUP 100
for side in ka dd; do
	check "$side: the keepalived.conf converts and the result passes directord -t" convert "$side"
done
check "the conversion lists what it did not convert, with file:line" \
	grep -q "^$TMP/dd.conf:4: notification_email: no equivalent" "$TMP/dd.import.log"
check "the converted file keeps keepalived's VRRPv2, password and tracking" \
	bash -c "grep -qx 'version = 2' '$TMP/dd.ini' && grep -qx 'auth_pass = swap$VRID' '$TMP/dd.ini' &&
		grep -qx 'track_script = chk_true' '$TMP/dd.ini' && grep -qx 'command = /usr/bin/true' '$TMP/dd.ini'"

dir=$TMP/watch
mkdir -p "$dir"
vip_watch_start "$dir"
keepalived_in "$NS_ka" ka-keepalived "$TMP/ka.conf"
KA_KEEPALIVED=$LAST_PID
keepalived_in "$NS_dd" dd-keepalived "$TMP/dd.conf"
DD_KEEPALIVED=$LAST_PID
if ! wait_until 15 holder_is ka; then
	fail "keepalived pair: ka becomes master"
	tail -5 "$TMP/ka-keepalived.log" "$TMP/dd-keepalived.log"
	vip_watch_stop "$dir"
	finish
fi
pass "keepalived pair: ka (200) master, dd (100) backup"
sleep 3		# dd has seen adverts and is settled as backup
vip_sample_start "$dir"

# -- 1. the backup's keepalived is replaced --
mark "$dir" steady 0 ka "the backup's keepalived is replaced by directord, ka's keepalived stays master"
sleep 1
stop_bg "$DD_KEEPALIVED" || fail "dd's keepalived exits on SIGTERM"
directord_in "$NS_dd" dd || fail "directord starts on dd with the converted file"
check "directord on dd is BACKUP following keepalived on ka ($KA_ADDR)" wait_until 8 state_is dd BACKUP "$KA_ADDR"
sleep 3
if v=$(dd_drops_zero); then
	pass "directord on dd dropped none of keepalived's adverts"
else
	fail "directord on dd dropped keepalived's adverts: $v"
fi
check "keepalived on ka is still master" holder_is ka

# -- 2. the master's keepalived is replaced --
mark "$dir" takeover "$(awk 'BEGIN {printf "%.3f", (256 - 102) * 1000 / 256}')" - \
	"ka's keepalived stops (priority 0), directord on dd takes over"
stop_bg "$KA_KEEPALIVED" || fail "ka's keepalived exits on SIGTERM"
check "directord on dd takes over from the stopped keepalived" wait_until 5 holder_is dd
check "directord on dd says MASTER" state_is dd MASTER
mark "$dir" steady 0 dd "directord on dd master, nothing on ka"
sleep 2
mark "$dir" preempt 0 - "directord on ka (202) starts and preempts"
directord_in "$NS_ka" ka || fail "directord starts on ka with the converted file"
check "directord on ka preempts (its converted priority 200 + 2 over 100 + 2)" wait_until 10 holder_is ka
check "directord on ka says MASTER, dd BACKUP following it" \
	eval 'state_is ka MASTER && wait_until 2 state_is dd BACKUP "$KA_ADDR"'
mark "$dir" steady 0 ka "directord on ka master, directord on dd backup"
sleep 3
mark "$dir" end 0 - end
vip_watch_stop "$dir"
vip_judge "$dir" "replace keepalived"
if ((FAILED)); then
	for f in dd.import.log ka-keepalived.log dd-keepalived.log dd-directord.log ka-directord.log; do
		[ -f "$TMP/$f" ] && { echo "-- $f (last 15)"; tail -15 "$TMP/$f"; }
	done
fi
finish
