#!/usr/bin/env bash
# The running daemon: parent and VRRP engine run as the configured user,
# the VRRP engine with exactly CAP_NET_ADMIN and CAP_NET_RAW at real-time
# priority (SCHED_FIFO 10, the default), the parent with CAP_SYS_NICE too
# (which the engine used for that) at normal priority; scripts run with
# no capabilities at normal priority; the
# control socket has the owner, group and mode asked for. The config
# check mode: "configuration OK", or every error as FILE:LINE:
# section.key: message and exit status 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
switch_new
ns_new d1
D1=$NS_d1
join "$D1" eth0 br0 02:00:00:00:01:01 198.18.0.1/24
conf=$TMP/d1.ini
dconf "$conf" d1 "control_mode = 0640" "control_group = nogroup" \
	"[track_script unprivileged]" \
	"command = grep -q '^CapEff:.0000000000000000\$' /proc/self/status && grep -q '^CapPrm:.0000000000000000\$' /proc/self/status && [ \$(id -u) = $(id -u dsrkit) ] && [ \$(awk '{ print \$41 }' /proc/self/stat) = 0 ]" \
	"interval = 200ms" "weight = 0" \
	"$(vrrp VI_1 eth0 51 150 $VIP/24 "track_script = unprivileged")"

out=$("$DIRECTORD" -t -f "$conf" 2>&1); rc=$?
check "directord -t: 'configuration OK', exit 0" [ "$rc:$out" = "0:configuration OK" ]
out=$("$DIRECTORD" -t -v -f "$conf" 2>&1); rc=$?
check "directord -t -v: the normalized configuration, then 'configuration OK'" \
	bash -c '[ "$1" = 0 ] && grep -q "^\[vrrp VI_1\]$" <<<"$2" && grep -q "^advert_interval = 100ms$" <<<"$2" && [ "$(tail -1 <<<"$2")" = "configuration OK" ]' _ "$rc" "$out"

start_director "$D1" d1 "$conf" || { fail "directord starts"; dfinish; }
check "d1 becomes master (its weight-0 script succeeds)" wait_ms 3000 state_is d1 VI_1 MASTER
duid=$(id -u dsrkit)
for who in parent engine; do
	if [ $who = parent ]; then pid=$PID_d1; else pid=$(engine_pid d1); fi
	st=/proc/${pid:-0}/status
	uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st" 2>/dev/null)
	check "$who (pid ${pid:-none}): real, effective, saved and fs uid are dsrkit's ($uid)" \
		[ "$uid" = "$duid $duid $duid $duid" ]
	gid=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st" 2>/dev/null)
	ngid=$(id -g dsrkit)
	check "$who: gids are dsrkit's group ($gid)" [ "$gid" = "$ngid $ngid $ngid $ngid" ]
	groups=$(awk '/^Groups:/ { $1 = ""; sub(/^ +/, ""); sub(/ +$/, ""); print }' "$st" 2>/dev/null)
	check "$who: no supplementary group but that one (Groups: $groups)" [ "$groups" = "$ngid" ]
	# CAP_NET_ADMIN|CAP_NET_RAW, and CAP_SYS_NICE for the parent. Without
	# CAP_SETPCAP the engine cannot trim its bounding set: its permitted
	# set is what holds.
	caps=0000000000003000 bnd=0000000000803000 sched="SCHED_FIFO|SCHED_RESET_ON_FORK 10"
	[ $who = parent ] && caps=$bnd sched="SCHED_OTHER 0"
	check "$who: effective capabilities exactly $caps" grep -q "^CapEff:.$caps\$" "$st"
	check "$who: permitted capabilities the same" grep -q "^CapPrm:.$caps\$" "$st"
	check "$who: no inheritable or ambient capabilities" \
		bash -c "grep -q '^CapInh:.0000000000000000$' $st && grep -q '^CapAmb:.0000000000000000$' $st"
	check "$who: bounding set $bnd" grep -q "^CapBnd:.$bnd\$" "$st"
	got=$(chrt -p "${pid:-0}" 2>/dev/null | sed -E 's/.*: //' | paste -sd' ')
	check "$who: scheduling $sched ($got)" [ "$got" = "$sched" ]
	# Not dumpable: its memory and fds (keys, the configuration image)
	# are not for other processes of the user, which scripts are.
	check "$who: a process of user dsrkit cannot read its /proc/PID/environ (not dumpable)" not \
		setpriv --reuid dsrkit --regid "$(id -g dsrkit)" --clear-groups cat "/proc/${pid:-0}/environ"
done
check "the track script runs as dsrkit with no capabilities at normal priority (its result: success)" \
	wait_ms 2000 js_is d1 "T['unprivileged']['result']" success
sock=$(sock_of d1)
check "control socket mode 0640 as configured" [ "$(stat -c %a "$sock")" = 640 ]
check "control socket owned by root, group nogroup" [ "$(stat -c %U:%G "$sock")" = root:nogroup ]
check "the socket answers root" bash -c '"$1" -s "$2" status >/dev/null 2>&1' _ "$DIRECTORCTL" "$sock"
check "the socket refuses other users (nobody: no write permission)" not bash -c \
	'setpriv --reuid nobody --regid nogroup --clear-groups "$1" -s "$2" status >/dev/null 2>&1' _ "$DIRECTORCTL" "$sock"

# A bad file: every error, with file and line; exit 1; nothing started.
bad=$TMP/bad.ini
printf '%s\n' "[global]" "user = nobody" "control_socket = $TMP/bad.sock" "[vrrp VI_1]" "interface = eth0" \
	"virtual_router_id = 300" "prority = 100" "advert_interval = 105ms" "virtual_ipaddress = $VIP/24" \
	"[vrrp_instance VI_2]" >"$bad"
out=$("$DIRECTORD" -t -f "$bad" 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "directord -t on a bad file exits 1" [ $rc = 1 ]
check "out-of-range value: $bad:6: vrrp VI_1.virtual_router_id: ..." grep -q "^$bad:6: vrrp VI_1.virtual_router_id: .*1-255" <<<"$out"
check "unknown key with a suggestion: $bad:7: vrrp VI_1.prority: unknown key (did you mean 'priority'?)" \
	grep -qF "$bad:7: vrrp VI_1.prority: unknown key (did you mean 'priority'?)" <<<"$out"
check "cross-key check: $bad:8: vrrp VI_1.advert_interval: ..." grep -q "^$bad:8: vrrp VI_1.advert_interval: " <<<"$out"
check "unknown section: $bad:10: ..." grep -q "^$bad:10: " <<<"$out"
check "no 'configuration OK'" not grep -q 'configuration OK' <<<"$out"
out=$(in_ns "$D1" "$DIRECTORD" -n -f "$bad" 2>&1); rc=$?
check "directord refuses to start with the bad file (exit 1, errors printed)" \
	bash -c '[ "$1" = 1 ] && grep -q "prority: unknown key" <<<"$2"' _ "$rc" "$out"
check "... and created no control socket" not test -e "$TMP/bad.sock"
dfinish
