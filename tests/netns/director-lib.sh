# Helpers for the directord root tests, sourced after lib.sh.
#
# Topology: a "switch" namespace holds the bridges (br0, br1); each
# director (and client) namespace is joined to a bridge by a veth pair
# (eth0, eth1 inside). directord runs in the foreground (-n) in its own
# process group, with its control socket in this test's $TMP; lib.sh's
# EXIT trap ends every process and namespace on every exit path.
#
# Timing (RFC 5798, v3): with a 100 ms advert interval,
#   Skew_Time        = (256 - priority) * 100 ms / 256  (61 ms at 100, 42 ms at 150)
#   Master_Down      = 3 * 100 ms + Skew_Time           (361 ms at 100, 342 ms at 150)
# Waits use those numbers plus a margin for a loaded machine.

DIRECTORD=$BUILD/directord
DIRECTORCTL=$BUILD/directorctl
# pyenv's shim costs half a second a call; Debian's python3 does not.
PY=$(command -v /usr/bin/python3 || command -v python3)

# Milliseconds since the epoch (bash 5's $EPOCHREALTIME, no fork).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wait_ms MS cmd... : like wait_until, bounded in milliseconds, polling
# every 20 ms.
wait_ms() {
	local limit=$1 end; shift
	end=$(($(now_ms) + limit))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(now_ms) >= end)) && return 1
		sleep 0.02
	done
}

# ---- topology ----

# switch_new: the namespace $SW holding the bridge br0 (multicast
# snooping off: a switch floods 224.0.0.18 and ff02::12 whatever the
# membership reports say).
switch_new() {
	ns_new sw
	SW=$NS_sw
	bridge_new br0
}

bridge_new() {
	ip -n "$SW" link add "$1" type bridge mcast_snooping 0 forward_delay 0
	in_ns "$SW" sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1"
	ip -n "$SW" link set "$1" up
}

# join NS IFNAME BRIDGE MAC [ADDR/LEN...]: a veth pair, IFNAME in NS, its
# peer a port of BRIDGE in the switch namespace; addressed and up.
join() {
	local ns=$1 ifname=$2 br=$3 mac=$4 port; shift 4
	port="${ns#"$TEST_ID"-}-$ifname"
	ip -n "$SW" link add "$port" type veth peer name "$ifname" netns "$ns"
	in_ns "$SW" sysctl -qw "net.ipv6.conf.$port.disable_ipv6=1"
	ip -n "$SW" link set "$port" master "$br" up
	ip -n "$ns" link set "$ifname" address "$mac"
	local a
	for a in "$@"; do ip -n "$ns" addr add "$a" dev "$ifname"; done
	ip -n "$ns" link set "$ifname" up
}

mac_of() { ip -n "$1" -br link show dev "$2" | awk '{print $3}'; }

# IPv6 link-local address of NS's IFNAME usable (DAD done).
ll_ready() {
	local out
	out=$(ip -n "$1" -6 addr show dev "$2" scope link) || return 1
	grep -q 'inet6 fe80::' <<<"$out" && ! grep -q tentative <<<"$out"
}

# ---- directord ----

# dconf FILE TAG [line...]: [global] for this test (control socket in
# $TMP/TAG), then the lines given.
dconf() {
	local file=$1 tag=$2; shift 2
	mkdir -p "$TMP/$tag"
	chmod 755 "$TMP/$tag"
	{
		echo "[global]"
		echo "router_id = $tag"
		echo "user = nobody"
		echo "control_socket = $TMP/$tag/ctl.sock"
		echo "log_level = debug"
		printf '%s\n' "$@"
	} >"$file"
	chmod 644 "$file"
}

# vrrp NAME IFACE VRID PRIORITY VIP [line...]: one instance section with
# the test timing (v3, 100 ms).
vrrp() {
	local name=$1 ifname=$2 vrid=$3 prio=$4 vip=$5; shift 5
	printf '%s\n' "[vrrp $name]" "interface = $ifname" "virtual_router_id = $vrid" "priority = $prio" \
		"advert_interval = 100ms" "virtual_ipaddress = $vip" "$@"
}

sock_of() { echo "$TMP/$1/ctl.sock"; }
ctl() { local tag=$1; shift; "$DIRECTORCTL" -s "$(sock_of "$tag")" "$@"; }

# start_director NS TAG CONF: directord -n in NS, in a process group of
# its own (so that the test can kill the whole group); waits until the
# control socket answers. Pid in PID_<TAG>.
start_director() {
	local ns=$1 tag=$2 conf=$3
	bg_in "$ns" "$TMP/$tag.log" setsid "$DIRECTORD" -n -f "$conf"
	printf -v "PID_$tag" '%s' "$LAST_PID"
	disown "$LAST_PID"	# no "Killed" notice from bash when a test kills it
	if ! wait_until 5 ctl "$tag" status; then
		echo "directord $tag did not start:"; cat "$TMP/$tag.log"
		return 1
	fi
}

# stop_director TAG [SIGNAL]: signal the parent (default TERM), wait for
# it to exit (bounded).
stop_director() {
	local tag=$1 sig=${2:-TERM} var="PID_$1" pid
	pid=${!var}
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.025; done
	return 1
}

# engine_pid TAG: the VRRP engine, the parent's only child.
engine_pid() { local var="PID_$1"; pgrep -P "${!var}" | head -1; }

# Status as JSON, with small queries on it:
#   js TAG EXPR       prints the Python expression EXPR evaluated with
#                     j = the status, I = {name: instance}, T = {name: track}
js() {
	local out
	out=$(ctl "$1" status --json 2>/dev/null) || return 1
	"$PY" -c '
import json, sys
j = json.loads(sys.argv[1])
v = j.get("vrrp") or {}
I = {i["name"].lower(): i for i in v.get("instances", [])}
T = {t["name"].lower(): t for t in v.get("track_scripts", [])}
r = eval(sys.argv[2])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)
' "$out" "$2"
}

js_is() { [ "$(js "$1" "$2")" = "$3" ]; }	# js_is TAG EXPR VALUE
js_gt() { local v; v=$(js "$1" "$2") && [ "$v" -gt "$3" ]; }	# js_gt TAG EXPR NUMBER
state_of() { js "$1" "I['${2,,}']['state']"; }	# state_of TAG INSTANCE
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }	# state_is TAG INSTANCE STATE

# ---- VIP holders ----

# has_addr NS IFNAME ADDR: ADDR (no prefix) is on IFNAME in NS.
has_addr() { ip -n "$1" -o addr show dev "$2" | grep -q " ${3}/"; }

# sampler OUT ADDRS NS... : every 20 ms, one line "TIME_MS F1 F2 ..."
# where Fi has one digit per address in ADDRS (comma-separated): 1 when
# the i-th namespace holds that address (on any interface), else 0. Each
# field is one address dump of one namespace. A field that shows some of
# the addresses but not all is read again at once: an instance adds or
# removes its group's VIPs one netlink call after another, a fraction of
# a millisecond apart, and a dump may fall in between. The re-read is
# the sample; the first reading is kept as a "#" comment line. Runs in
# the background until stop_sampler; pid in SAMPLER_PID.
sampler() {
	local out=$1 addrs=$2; shift 2
	(
		IFS=, read -r -a list <<<"$addrs"
		exec {sleeper}<> <(:)	# read -t on it: a sleep without a fork
		read_ns() {
			local dump a
			field=""
			dump=$(ip -n "$1" -o addr show 2>/dev/null)
			for a in "${list[@]}"; do
				[[ $dump == *" $a/"* ]] && field+=1 || field+=0
			done
		}
		next=$(now_ms)
		while :; do
			line=$(now_ms)
			for ns in "$@"; do
				read_ns "$ns"
				if [[ $field == *0* && $field == *1* ]]; then
					echo "# $line ${ns#"$TEST_ID"-} read $field, read again"
					read_ns "$ns"
				fi
				line+=" $field"
			done
			echo "$line"
			next=$((next + 20))
			left=$((next - $(now_ms)))
			if ((left > 0)); then
				read -r -t "0.$(printf %03d "$left")" -u "$sleeper" _
			else
				next=$(now_ms)
			fi
		done
	) >"$out" &
	SAMPLER_PID=$!
	BG_PIDS+=("$SAMPLER_PID")
}

# stop_sampler PID: TERM (no trap in the sampler: a bash trap that fires
# while a command substitution is being parsed can fail to run), bounded.
stop_sampler() {
	kill "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.02; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# always FILE FROM TO FIELDS: every sample taken in [FROM, TO) ms shows
# exactly FIELDS (e.g. "1 0": the first namespace holds the address, the
# second does not), and there is at least one such sample. TO may be
# "end". The first sample that differs is printed.
always() {
	awk -v from="$2" -v to="$3" -v want="$4" '
		/^#/ { next }
		{ t = $1; $1 = ""; sub(/^ /, "") }
		t >= from && (to == "end" || t < to) { n++; if ($0 != want) { bad++; if (!shown++) print "    sample at " t ": " $0 " (want " want ")" } }
		END { exit !(n > 0 && bad == 0) }' "$1"
}

# never FILE EREGEX: no sample (fields only) matches EREGEX.
never() {
	RE=$2 awk '/^#/ { next } { t = $1; $1 = ""; sub(/^ /, "") }
		$0 ~ ENVIRON["RE"] { bad++; if (!shown++) print "    sample at " t ": " $0 }
		END { exit bad > 0 }' "$1"
}

# overlap_ms FILE: the longest run of consecutive samples in which some
# address was held by more than one namespace, in ms from the first to
# the last sample of the run; 0 for a single sample, -1 when never.
overlap_ms() {
	awk '/^#/ { next }
	     { two = 0
	       for (k = 1; k <= length($2); k++) { n = 0; for (i = 2; i <= NF; i++) n += substr($i, k, 1); if (n > 1) two = 1 }
	       if (two) { if (!s) s = $1; if ($1 - s > m) m = $1 - s; seen = 1 } else s = 0 }
	     END { print (seen ? m + 0 : -1) }' "$1"
}

# count_samples FILE FROM FIELDS: samples from FROM ms on showing FIELDS.
count_samples() {
	awk -v from="$2" -v want="$3" '/^#/ { next } { t = $1; $1 = ""; sub(/^ /, "") }
		t >= from && $0 == want { n++ } END { print n + 0 }' "$1"
}

# ---- capture ----

# capture FILE FILTER [OPTION...]: tcpdump on br0 in the switch namespace,
# link-level headers, epoch timestamps, line-buffered; returns once it
# listens. Pid in CAPTURE_PID.
capture() {
	local out=$1 filter=$2; shift 2
	bg_in "$SW" "$out" tcpdump -i br0 -n -e -tt -l -U "$@" "$filter"
	CAPTURE_PID=$LAST_PID
	wait_until 5 grep -q 'listening on' "$out"
}

stop_capture() { stop_sampler "$CAPTURE_PID"; }

# Captured packets: time in ms (3 decimals) of the first matching line
# (extended regex, on the whole tcpdump line) at or after FROM ms, of the
# last one before TO ms, and the number of them from FROM on.
first_pkt() { RE=$2 awk -v t="${3:-0}" '$1 ~ /^[0-9]+\.[0-9]+$/ && $1 * 1000 >= t && $0 ~ ENVIRON["RE"] { printf "%.3f\n", $1 * 1000; exit }' "$1"; }
last_pkt_before() { RE=$2 awk -v t="$3" '$1 ~ /^[0-9]+\.[0-9]+$/ && $1 * 1000 < t && $0 ~ ENVIRON["RE"] { x = $1 * 1000 } END { if (x) printf "%.3f\n", x }' "$1"; }
count_pkts() { RE=$2 awk -v t="${3:-0}" '$1 ~ /^[0-9]+\.[0-9]+$/ && $1 * 1000 >= t && $0 ~ ENVIRON["RE"] { n++ } END { print n + 0 }' "$1"; }

# Regular expressions for those lines (tcpdump -e -n).
re_advert() { local src=${1//./\\.}; echo " $src > [0-9a-f.:]+: VRRPv[23], Advertisement, vrid $2, prio ${3:-[0-9]+},"; }	# SRC VRID [PRIO]
re_garp() { local vip=${2//./\\.}; echo " $1 > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has $vip tell $vip,"; }	# MAC VIP

# in_range X LO HI: LO <= X <= HI (decimals allowed).
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo + 0 && x + 0 <= hi + 0) }'; }

# sub_ms A B: A - B, rounded to 0.1 ms ("" when either is missing).
sub_ms() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", a - b }'; }

# ---- the usual pair ----

# two_directors: the switch and two directors on br0, eth0 198.18.0.1/24
# (d1) and 198.18.0.2/24 (d2); namespaces in $D1 $D2, MACs in $MAC1 $MAC2.
two_directors() {
	switch_new
	ns_new d1
	ns_new d2
	D1=$NS_d1 D2=$NS_d2
	MAC1=02:00:00:00:01:01 MAC2=02:00:00:00:02:01
	join "$D1" eth0 br0 "$MAC1" 198.18.0.1/24
	join "$D2" eth0 br0 "$MAC2" 198.18.0.2/24
}

# start_pair INSTANCE: start d1 ($TMP/d1.ini) and wait until it is
# master, then d2 ($TMP/d2.ini) and wait until it is backup.
start_pair() {
	start_director "$D1" d1 "$TMP/d1.ini" || return 1
	wait_ms 3000 state_is d1 "$1" MASTER || { echo "d1 did not become master"; return 1; }
	start_director "$D2" d2 "$TMP/d2.ini" || return 1
	wait_ms 3000 state_is d2 "$1" BACKUP || { echo "d2 did not become backup"; return 1; }
}

# not cmd... : succeeds when cmd fails (for check, which cannot take "!").
not() { ! "$@"; }

# field TAG INSTANCE KEY: one member of an instance's status.
field() { js "$1" "I['${2,,}']['$3']"; }

# add_ms A B: A + B with 3 decimals.
add_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a + b }'; }

# dfinish: finish; on failure first show the end of every daemon log.
# KEEP=1 keeps a copy of $TMP (configs, logs, captures, samples).
dfinish() {
	local f
	if [ "$FAILED" != 0 ]; then
		for f in "$TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "--- ${f##*/} (last 25 lines)"
			tail -25 "$f"
		done
	fi
	if [ -n "${KEEP:-}" ]; then
		cp -r "$TMP" "/tmp/keep-$TEST_ID" && echo "kept $TMP as /tmp/keep-$TEST_ID"
	fi
	finish
}
