#!/usr/bin/env bash
# Notifications as keepalived makes them: per instance "INSTANCE name
# STATE priority" and per sync group "GROUP name STATE 0" to notify, the
# notify_master/backup/fault/stop scripts without arguments, and the same
# lines on the FIFO. Names keep the case written in the file; scripts run
# as the unprivileged user; a group notifies once per change of the
# group, not once per member; a hanging script is killed after
# script_timeout and holds nothing up. A member started late (its
# startup_delay) joins its group as master at once, without waiting for
# its own Master_Down_Interval.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP_A=198.18.0.100 VIP_B=198.18.0.101
two_directors
for tag in d1 d2; do
	mkdir -p "$TMP/$tag"
	# Written by the scripts (running as dsrkit): a log per director.
	install -m 666 /dev/null "$TMP/$tag/notify.log"
	cat >"$TMP/$tag/notify.sh" <<SH
#!/bin/sh
echo "\$(id -u) \$*" >>$TMP/$tag/notify.log
SH
	chmod 755 "$TMP/$tag/notify.sh"
	mkfifo -m 600 "$TMP/$tag/fifo"
	chown dsrkit "$TMP/$tag/fifo"	# the engine writes as the user
done
nconf() {	# nconf TAG PRIORITY [VI_B line...]
	local t=$1 p=$2 n=$TMP/$1/notify.sh; shift 2
	dconf "$TMP/$t.ini" "$t" "notify_fifo = $TMP/$t/fifo" "script_timeout = 500ms" \
		"[sync_group Web_Group]" "instances = VI_A, VI_B" "notify = $n" \
		"notify_master = $n group-master" "notify_backup = sleep 30" \
		"$(vrrp VI_A eth0 51 "$p" $VIP_A/24 "notify = $n" "notify_master = $n a-master" \
			"notify_backup = $n a-backup" "notify_stop = $n a-stop")" \
		"$(vrrp VI_B eth0 52 "$p" $VIP_B/24 "notify = $n" "$@" | sed 's/^advert_interval = .*/advert_interval = 1s/')"
}
# VI_B advertises every second: alone, it would become master only after
# 3 s and some; d1 starts it after 1 s.
nconf d1 150 "startup_delay = 1s"
nconf d2 100
# FIFO readers, started before the daemons (the engine opens the FIFO
# for writing at start-up without blocking).
for tag in d1 d2; do
	bg_in "$D1" "$TMP/$tag.fifo.log" bash -c "exec 3<>$TMP/$tag/fifo; cat <&3"
done
t0=$(now_ms)
start_director "$D1" d1 "$TMP/d1.ini" || { fail "d1 starts"; dfinish; }
check "d1 becomes master of VI_A" wait_ms 3000 state_is d1 VI_A MASTER
check "d1's VI_B, started after 1 s, joins its group as master at once" wait_ms 2500 state_is d1 VI_B MASTER
joined=$(( $(now_ms) - t0 ))
check "... ${joined} ms after the start, well before its own 3 s timer" [ "$joined" -lt 2700 ]
start_director "$D2" d2 "$TMP/d2.ini" || { fail "d2 starts"; dfinish; }
check "d2 is backup" wait_ms 3000 state_is d2 VI_A BACKUP
check "d2 is backup of both members" wait_ms 2000 state_is d2 VI_B BACKUP

nobody=$(id -u dsrkit)	# the daemon's user, the default one
has() { grep -qxF "$2" "$TMP/$1/notify.log"; }	# has TAG LINE
count() { grep -cxF "$2" "$TMP/$1/notify.log"; }	# count TAG LINE
check "d1: INSTANCE VI_A MASTER 150, run as dsrkit" wait_ms 2000 has d1 "$nobody INSTANCE VI_A MASTER 150"
check "d1: INSTANCE VI_B MASTER 150" wait_ms 2000 has d1 "$nobody INSTANCE VI_B MASTER 150"
check "d1: notify_master of VI_A ran, with no notify arguments" wait_ms 2000 has d1 "$nobody a-master"
check "d1: GROUP Web_Group MASTER 0" wait_ms 2000 has d1 "$nobody GROUP Web_Group MASTER 0"
check "d1: the group's notify_master ran" wait_ms 2000 has d1 "$nobody group-master"
check "d2: INSTANCE VI_A BACKUP 100 and VI_B BACKUP 100" \
	wait_ms 2000 bash -c "grep -qxF '$nobody INSTANCE VI_A BACKUP 100' $TMP/d2/notify.log && grep -qxF '$nobody INSTANCE VI_B BACKUP 100' $TMP/d2/notify.log"
check "d2: notify_backup of VI_A ran" wait_ms 2000 has d2 "$nobody a-backup"
check "d2: GROUP Web_Group BACKUP 0" wait_ms 2000 has d2 "$nobody GROUP Web_Group BACKUP 0"
check "d1's FIFO: INSTANCE \"VI_A\" MASTER 150" wait_ms 2000 grep -qxF 'INSTANCE "VI_A" MASTER 150' "$TMP/d1.fifo.log"
check "d1's FIFO: GROUP \"Web_Group\" MASTER 0" wait_ms 2000 grep -qxF 'GROUP "Web_Group" MASTER 0' "$TMP/d1.fifo.log"
check "d2's FIFO: GROUP \"Web_Group\" BACKUP 0" wait_ms 2000 grep -qxF 'GROUP "Web_Group" BACKUP 0' "$TMP/d2.fifo.log"
check "the group's notify_backup (sleep 30) is killed after script_timeout" \
	wait_ms 3000 grep -q 'notify script (pid [0-9]*): killed after script_timeout' "$TMP/d2.log"

# Graceful stop of d1: d2 takes both over; d1 says STOP.
stop_director d1 || fail "d1 stops"
both_master() { [ "$(state_of d2 VI_A) $(state_of d2 VI_B)" = "MASTER MASTER" ]; }
check "d2 takes both members over" wait_ms 3000 both_master
check "d1: INSTANCE VI_A STOP and its notify_stop" \
	wait_ms 2000 bash -c "grep -qxF '$nobody INSTANCE VI_A STOP 150' $TMP/d1/notify.log && grep -qxF '$nobody a-stop' $TMP/d1/notify.log"
check "d1: GROUP Web_Group STOP 0" wait_ms 2000 has d1 "$nobody GROUP Web_Group STOP 0"
check "d2: GROUP Web_Group MASTER 0" wait_ms 2000 has d2 "$nobody GROUP Web_Group MASTER 0"
check "d2's FIFO: INSTANCE \"VI_B\" MASTER 100" wait_ms 2000 grep -qxF 'INSTANCE "VI_B" MASTER 100' "$TMP/d2.fifo.log"
sleep 0.3
# Two members moved, twice each: the group told each change once.
check "d2: one GROUP BACKUP and one GROUP MASTER ($(count d2 "$nobody GROUP Web_Group BACKUP 0"), $(count d2 "$nobody GROUP Web_Group MASTER 0"))" \
	[ "$(count d2 "$nobody GROUP Web_Group BACKUP 0") $(count d2 "$nobody GROUP Web_Group MASTER 0")" = "1 1" ]
check "d1: one GROUP MASTER, one GROUP STOP" \
	[ "$(count d1 "$nobody GROUP Web_Group MASTER 0") $(count d1 "$nobody GROUP Web_Group STOP 0")" = "1 1" ]
check "d2: each member told its changes once (BACKUP, MASTER)" \
	[ "$(grep -c 'INSTANCE VI_[AB] ' "$TMP/d2/notify.log")" = 4 ]
check "no line from anyone but dsrkit" not grep -qv "^$nobody " "$TMP/d1/notify.log" "$TMP/d2/notify.log"
echo "    d2's notify log:"; sed 's/^/    | /' "$TMP/d2/notify.log"
dfinish
