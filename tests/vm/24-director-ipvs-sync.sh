#!/usr/bin/env bash
# The connection-sync daemon follows VRRP, and the IPVS timeouts are set.
# Two directors, lb (priority 150) and lb2 (100), run VRRP VI_1 on eth0
# with ipvs_sync_interface = eth0, ipvs_sync_follow = VI_1, and the same
# [virtual_server stream] (VIP:9000, DR to an echo server on rs1). Read
# back through the kernel (`ipvsadm -L --daemon`, `ipvsadm -L --timeout`):
# lb2 alone runs a backup daemon before it is master, a master daemon
# once it is, and a backup daemon again when lb (higher priority) takes
# over; lb runs a master daemon. A TCP connection through lb's IPVS shows
# up in lb2's connection table (the sync at work). SIGKILL of lb's LVS
# engine: the parent restarts it and the daemon is untouched (same kernel
# thread, nothing stopped or started). A reload with another sync id
# restarts lb's daemon with it; a reload without the ipvs_sync_* keys
# stops it. lb's timeouts are read back as configured. directord stopped
# with ipvs_on_stop = keep leaves its daemon running (the next start
# finds it as wanted); with remove it stops it.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=198.18.0.100 PORT=9000 SVC="-t 198.18.0.100:9000"

lan cl lb lb2 rs1
dr_real_server "$NS_rs1" "$VIP"
echo_server "$NS_rs1" "$PORT"

# daemons NS: the running sync daemons, "STATE IFNAME SYNCID" joined by
# commas (sorted), "none" when there are none.
daemons() {
	local d
	d=$(in_ns "$1" ipvsadm -L --daemon 2>/dev/null |
		sed -nE 's/^(master|backup) sync daemon \(mcast=([^,]*), syncid=([0-9]+).*/\1 \2 \3/p' | LC_ALL=C sort | paste -sd, -)
	echo "${d:-none}"
}
daemons_are() { [ "$(daemons "$1")" = "$2" ]; }
# The kernel threads of the sync daemons (every namespace's): "PID NAME".
sync_threads() { ps -e -o pid=,comm= | awk '$2 ~ /^ipvs-[mb]:/ { print $1, $2 }' | LC_ALL=C sort | paste -sd, -; }

# VRRP every second, as test 21: a busy TCG VM must not cause takeovers.
director_conf() {	# director_conf TAG PRIORITY [global line...]
	local tag=$1 prio=$2; shift 2
	dconf "$TMP/$tag.ini" "$tag" "ipvs_on_stop = ${ON_STOP:-keep}" "$@" \
		"[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $prio" \
		"advert_interval = 1s" "virtual_ipaddress = $VIP/24" "
[virtual_server stream]
address = $VIP:$PORT
scheduler = rr
check = none
vrrp = VI_1
real_servers = $ADDR_rs1:$PORT"
}
SYNC=("ipvs_sync_interface = eth0" "ipvs_sync_follow = VI_1")
TIMEOUTS=("ipvs_timeout_tcp = 15m" "ipvs_timeout_tcp_fin = 90s" "ipvs_timeout_udp = 200")
director_conf lb2 100 "${SYNC[@]}"
director_conf lb 150 "${SYNC[@]}" "${TIMEOUTS[@]}"

# --- lb2 alone: backup, then master ---
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord lb2 starts"; dfinish; }
check "lb2 becomes VRRP master (alone)" wait_gently 20 vmaster lb2 VI_1 MASTER
check "lb2 runs a master sync daemon on eth0, sync id 51 (the VRID), and no backup ($(daemons "$NS_lb2"))" \
	wait_gently 15 daemons_are "$NS_lb2" "master eth0 51"
first_backup=$(grep -n 'ipvs: sync daemon: backup on eth0, sync id 51' "$TMP/lb2.log" | head -1 | cut -d: -f1)
first_master=$(grep -n 'ipvs: sync daemon: master on eth0, sync id 51' "$TMP/lb2.log" | head -1 | cut -d: -f1)
check "before its mastership lb2 ran a backup daemon (log line ${first_backup:-none} before the master's ${first_master:-none})" \
	[ "${first_backup:-999999}" -lt "${first_master:-0}" ]
grep -E 'ipvs: sync daemon' "$TMP/lb2.log" | sed 's/^/    lb2: /'

# --- lb comes, takes over: lb2 backup again ---
start_dir "$NS_lb" lb "$TMP/lb.ini" || { fail "directord lb starts"; dfinish; }
check "lb takes over as VRRP master" wait_gently 20 vmaster lb VI_1 MASTER
check "lb2 is VRRP backup again" wait_gently 20 vmaster lb2 VI_1 BACKUP
check "lb runs a master sync daemon ($(daemons "$NS_lb"))" wait_gently 15 daemons_are "$NS_lb" "master eth0 51"
check "lb2, having lost mastership, runs a backup daemon again ($(daemons "$NS_lb2"))" \
	wait_gently 15 daemons_are "$NS_lb2" "backup eth0 51"
grep -E 'ipvs: sync daemon' "$TMP/lb.log" | sed 's/^/    lb: /'
timeouts=$(in_ns "$NS_lb" ipvsadm -L --timeout)
echo "    lb: $timeouts"
check "lb's timeouts are as configured (tcp 900, tcpfin 90, udp 200)" \
	grep -q 'Timeout (tcp tcpfin udp): 900 90 200' <<<"$timeouts"
st=$(ctl lb status)
check "directorctl status says what runs" grep -q 'running: master on eth0, sync id 51' <<<"$st"
grep -E '^(sync daemon|  running|timeouts)' <<<"$st" | sed 's/^/    status: /'
js=$(status_json lb)
check "... and so does status --json (sync_daemon.wanted master, in step)" \
	"$PY" -c 'import json,sys; s=json.loads(sys.argv[1])["lvs"]["sync_daemon"]; sys.exit(not (s["wanted"] == "master" and s["in_step"] and s["running"][0]["sync_id"] == 51 and s["running"][0]["interface"] == "eth0"))' "$js"

# --- a connection through the master, synced to the backup ---
stream_client "$NS_cl" "$VIP" "$PORT" "$TMP/stream" || { fail "a client connects to $VIP:$PORT"; cat "$TMP/stream"; dfinish; }
conn_on() { in_ns "$1" ipvsadm -L -n -c | awk -v v="$VIP:$PORT" '$1 == "TCP" && $5 == v { print $3, $4, $6; exit }'; }
check "lb's IPVS has the connection ($(conn_on "$NS_lb"))" wait_gently 20 bash -c "[ -n \"\$(ip netns exec $NS_lb ipvsadm -L -n -c | grep $VIP:$PORT)\" ]"
client=$(conn_on "$NS_lb" | cut -d' ' -f2)
has_synced() { in_ns "$NS_lb2" ipvsadm -L -n -c | grep -q " ${client:-none} .*$VIP:$PORT"; }
if wait_gently 40 has_synced; then
	pass "the connection from $client appears in the backup lb2's connection table: $(conn_on "$NS_lb2")"
else
	fail "the connection from ${client:-?} appears in the backup lb2's connection table"
	in_ns "$NS_lb2" ipvsadm -L -n -c
fi

# --- the LVS engine is killed: the daemon stays ---
threads0=$(sync_threads) lvs_pid=$(lvs_engine_pid lb)
echo "    sync threads: $threads0"
lines0=$(wc -l <"$TMP/lb.log")
kill -KILL "$lvs_pid"
new_engine() { local p; p=$(lvs_engine_pid lb); [ "${p:-0}" != 0 ] && [ "$p" != "$lvs_pid" ]; }
check "the parent starts a new LVS engine" wait_until 20 new_engine
left_alone() { tail -n +"$((lines0 + 1))" "$TMP/lb.log" | grep -q 'ipvs: sync daemon: master on eth0, sync id 51.* already runs as wanted: left as it is'; }
check "the new engine finds the master daemon as wanted and leaves it" wait_gently 20 left_alone
tail -n +"$((lines0 + 1))" "$TMP/lb.log" | grep -E 'ipvs: sync daemon' | sed 's/^/    lb: /'
check "... nothing stopped or started" not bash -c "tail -n +$((lines0 + 1)) '$TMP/lb.log' | grep -qE 'ipvs: sync daemon: (stopped|master on eth0, sync id 51 \\()'"
check "the sync daemons' kernel threads are the same ($(sync_threads))" [ "$(sync_threads)" = "$threads0" ]
check "lb still runs its master daemon" daemons_are "$NS_lb" "master eth0 51"
touch "$TMP/stream.stop"

# --- reload: another sync id restarts it; no keys stop it ---
director_conf lb 150 "${SYNC[@]}" "ipvs_sync_id = 77" "${TIMEOUTS[@]}"
check "reload with ipvs_sync_id = 77" ctl lb reload
check "lb's daemon runs with sync id 77 now ($(daemons "$NS_lb"))" wait_gently 15 daemons_are "$NS_lb" "master eth0 77"
check "... the log says it was restarted" grep -q 'ipvs: sync daemon: stopped master on eth0, sync id 51' "$TMP/lb.log"
director_conf lb 150 "${TIMEOUTS[@]}"
check "reload without the ipvs_sync_* keys" ctl lb reload
check "lb runs no sync daemon now ($(daemons "$NS_lb"))" wait_gently 15 daemons_are "$NS_lb" none
check "lb2 still runs its backup daemon" daemons_are "$NS_lb2" "backup eth0 51"
grep -E 'ipvs: sync daemon' "$TMP/lb.log" | tail -3 | sed 's/^/    lb: /'

# --- directord stopped: keep leaves the daemon, remove stops it ---
check "lb2 stops (ipvs_on_stop = keep)" stop_dir lb2 TERM
check "... its backup daemon still runs ($(daemons "$NS_lb2"))" daemons_are "$NS_lb2" "backup eth0 51"
mv "$TMP/lb2.log" "$TMP/lb2-1.log"
ON_STOP=remove director_conf lb2 100 "${SYNC[@]}"
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord lb2 starts again"; dfinish; }
check "lb2 starts as VRRP backup" wait_gently 20 vmaster lb2 VI_1 BACKUP
left_alone2() { grep -q 'ipvs: sync daemon: backup on eth0, sync id 51.* already runs as wanted: left as it is' "$TMP/lb2.log"; }
check "the new lb2 finds its backup daemon as wanted and leaves it" wait_gently 20 left_alone2
check "lb2 stops (ipvs_on_stop = remove)" stop_dir lb2 TERM
check "... and its daemon is stopped ($(daemons "$NS_lb2"))" daemons_are "$NS_lb2" none
check "... as its log says" grep -q 'ipvs_on_stop = remove: sync daemon stopped (backup on eth0, sync id 51' "$TMP/lb2.log"
dfinish
