#!/usr/bin/env bash
# What the director opens on its loops must never block it nor be other
# than it should be. A FIFO, a directory and a device at a track_file's
# path put the tracking instance in Fault ("not a regular file") without
# blocking the VRRP engine: the peer takes over, the engine keeps
# answering (and is never restarted), and the instance comes back when a
# regular file is there again. notify_fifo refuses a regular file and a
# symbolic link to a FIFO, with a clear line in the log, and writes
# nothing into them. The control socket removed at exit is the one bound,
# not the path a reload brought.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
mkdir -p "$TMP/d1" "$TMP/d2"
FILE=$TMP/d1/prio
echo 0 >"$FILE"
chmod 644 "$FILE"
: >"$TMP/d1/notify"		# a regular file, writable by the daemon's user
chmod 666 "$TMP/d1/notify"
mkfifo -m 666 "$TMP/fifo2"
ln -s "$TMP/fifo2" "$TMP/d2/notify"	# a link to a FIFO
dconf "$TMP/d1.ini" d1 "notify_fifo = $TMP/d1/notify" "[track_file prio]" "path = $FILE" \
	"$(vrrp VI_1 eth0 51 150 $VIP/24 "track_file = prio")"
dconf "$TMP/d2.ini" d2 "notify_fifo = $TMP/d2/notify" "$(vrrp VI_1 eth0 51 100 $VIP/24)"
start_pair VI_1 || { fail "d1 (150) master, d2 (100) backup"; dfinish; }
pass "d1 (150) master, d2 (100) backup"
eng=$(engine_pid d1)

check "notify_fifo: a regular file is refused, with a clear log line" \
	grep -q "notify_fifo $TMP/d1/notify: not a FIFO; no notifications are written to it" "$TMP/d1.log"
check "... and nothing is written into it" [ ! -s "$TMP/d1/notify" ]
check "notify_fifo: a symbolic link to a FIFO is refused too" \
	grep -q "notify_fifo $TMP/d2/notify: a symbolic link, not a FIFO; no notifications" "$TMP/d2.log"

track_result() { js d1 "[I['vi_1']['tracks'][0]['result'], I['vi_1']['tracks'][0]['fault']]"; }
result_is() { [ "$(track_result)" = "$1" ]; }
# answers_for MS: the VRRP engine answers status every 100 ms for MS ms.
answers_for() {
	local end=$(($(now_ms) + $1))
	while (($(now_ms) < end)); do
		js_is d1 "I['vi_1']['state']" FAULT || return 1
		sleep 0.1
	done
}
back_to_regular() {
	rm -rf "$FILE"
	echo 0 >"$FILE"
	chmod 644 "$FILE"
	check "$1: a regular file again: d1 master" wait_ms 3000 state_is d1 VI_1 MASTER
	check "$1: ... d2 backup" wait_ms 3000 state_is d2 VI_1 BACKUP
}
# try KIND: with KIND at the track file's path, d1 goes to Fault and keeps
# answering; d2 takes over.
try() {
	local kind=$1
	check "$kind at the track_file path: d1 in FAULT" wait_ms 3000 state_is d1 VI_1 FAULT
	check "$kind: ... its status says: not a regular file, fault" result_is '["not a regular file", true]'
	check "$kind: ... d2 takes over" wait_ms 3000 state_is d2 VI_1 MASTER
	check "$kind: ... d1 holds no VIP" not has_addr "$D1" eth0 $VIP
	check "$kind: ... d1's engine keeps answering (2 s of status every 100 ms)" answers_for 2000
	back_to_regular "$kind"
}

rm -f "$FILE"
mkfifo -m 644 "$FILE"
try "a FIFO"
rm -f "$FILE"
mkdir "$FILE"
try "a directory"
rm -rf "$FILE"
mknod -m 644 "$FILE" c 1 5	# what /dev/zero is
try "a character device"
check "the VRRP engine was never restarted (pid $eng)" \
	[ "$(js d1 "j['vrrp_engine']['pid'], j['vrrp_engine']['restarts']")" = "($eng, 0)" ]
check "no heartbeat was missed" not grep -q "did not answer a heartbeat" "$TMP/d1.log"

# The control socket: a reload that names another path changes nothing
# until the next start, and the exit removes the socket bound, not a file
# that happens to be at the new path.
OTHER=$TMP/d2/other.sock
echo "not ours" >"$OTHER"
dconf "$TMP/d2.ini" d2 "control_socket = $OTHER" "$(vrrp VI_1 eth0 51 100 $VIP/24)"
sed -i "0,/^control_socket = .*ctl.sock$/{//d}" "$TMP/d2.ini"	# keep the new path only
check "d2's file now names $OTHER" grep -q "^control_socket = $OTHER$" "$TMP/d2.ini"
check "d2 reloads (the path waits for the next start)" ctl d2 reload
check "... its socket is where it was" ctl d2 status
# The daemon's user may remove files there (as root's /run/dsrkit does not
# let it, but a directory of its own would).
chown dsrkit "$TMP/d2"	# the default global.user
stop_director d2 || fail "d2 stops"
check "at exit d2 removes the socket it bound" [ ! -e "$(sock_of d2)" ]
check "... and leaves the file at the reloaded path alone" grep -q "not ours" "$OTHER"
dfinish
