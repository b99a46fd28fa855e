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
# every 20 ms. A try that began before the deadline and ended after it
# (the machine stalled) is followed by one more.
wait_ms() {
	local limit=$1 end began; shift
	end=$(($(now_ms) + limit))
	while :; do
		began=$(now_ms)
		"$@" >/dev/null 2>&1 && return 0
		((began >= end)) && return 1
		(($(now_ms) >= end)) || sleep 0.02
	done
}

# not cmd... : succeeds when cmd fails (for check, which cannot take "!").
not() { ! "$@"; }

# add_ms A B: A + B with 3 decimals.
add_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a + b }'; }

# in_range X LO HI: LO <= X <= HI (decimals allowed).
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x ~ /^-?[0-9]+(\.[0-9]+)?$/ && x + 0 >= lo + 0 && x + 0 <= hi + 0) }'; }

# sub_ms A B: A - B, rounded to 0.1 ms ("" when either is missing).
sub_ms() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", a - b }'; }

# ---- topology ----

# switch_new: the namespace $SW holding the bridge br0 (multicast
# snooping off: a switch floods 224.0.0.18 and ff02::12 whatever the
# membership reports say).
switch_new() {
	ns_new sw
	SW=$NS_sw
	bridge_new br0
}

# bridge_new NAME: another bridge in the switch namespace, up.
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
# VRRP engine is started, then until the control socket answers (asking
# before the engine is forked would leave the engine a copy of that
# connection). Pid in PID_<TAG>.
start_director() {
	local ns=$1 tag=$2 conf=$3
	bg_in "$ns" "$TMP/$tag.log" setsid "$DIRECTORD" -n -f "$conf"
	printf -v "PID_$tag" '%s' "$LAST_PID"
	disown "$LAST_PID"	# no "Killed" notice from bash when a test kills it
	if ! wait_until 5 engine_pid_is_up "$tag" || ! wait_until 5 ctl "$tag" status; then
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
engine_pid_is_up() { [ -n "$(engine_pid "$1")" ]; }

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
field() { js "$1" "I['${2,,}']['$3']"; }	# field TAG INSTANCE KEY

# ---- VIP holders ----

# has_addr NS IFNAME ADDR: ADDR (no prefix) is on IFNAME in NS.
has_addr() { ip -n "$1" -o addr show dev "$2" | grep -q " ${3}/"; }

# sampler OUT ADDRS NS... : every 20 ms, one line "START END F1 F2 ..."
# where START and END (ms) bracket the readings and Fi has one digit per
# address in ADDRS (comma-separated): 1 when the i-th namespace holds that
# address (on any interface), else 0. One Python process holds a netlink
# socket in each namespace and dumps its addresses, so a sample reads all
# namespaces within about a millisecond, without forking.
# A field that shows some of the addresses but not all (a sync group half
# moved: its instances add or remove their VIPs one after the other, about
# a millisecond apart) is read again every 0.5 ms until it is whole, for
# at most 1 s; the last reading is the sample, and a "#" comment line
# "# START NS read F, then G after D ms" records how long it took
# (split_ms gives the longest).
sampler() {
	local out=$1 addrs=$2; shift 2
	cat >"$TMP/sampler.py" <<'PY'
import ctypes, os, signal, socket, struct, sys, time

CLONE_NEWNET, RTM_GETADDR, RTM_NEWADDR, NLMSG_DONE, NLMSG_ERROR = 0x40000000, 22, 20, 3, 2
IFA_ADDRESS, IFA_LOCAL = 1, 2
libc = ctypes.CDLL(None, use_errno=True)
wanted = sys.argv[1].split(",")
names = sys.argv[2:]
socks = []
for name in names:	# a netlink socket belongs to the namespace it was made in
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit("setns %s: %s" % (name, os.strerror(ctypes.get_errno())))
    os.close(fd)
    socks.append(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE))
seq = 0

def addresses(s):
    global seq
    seq += 1
    s.send(struct.pack("=IHHII", 24, RTM_GETADDR, 0x301, seq, 0) + struct.pack("=BBBBI", 0, 0, 0, 0, 0))
    found = set()
    while True:
        data = s.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            length, kind, _, mseq, _ = struct.unpack_from("=IHHII", data, off)
            if length < 16:
                return found
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                return found
            if kind == RTM_NEWADDR and mseq == seq:
                family = data[off + 16]
                a = off + 24
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype in (IFA_ADDRESS, IFA_LOCAL):
                        found.add(socket.inet_ntop(family, data[a + 4:a + alen]))
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3

def field(s):
    have = addresses(s)
    return "".join("1" if w in have else "0" for w in wanted)

# TERM ends the loop between samples: killed by it inside write(), a
# line that straddles a page of the file could be cut short (the kernel
# stops a write at a page for a fatal signal), and a cut line reads as
# a sample where nobody holds the address.
stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
ms = lambda: int(time.time() * 1000)
due = time.time()
while not stopping:
    start = ms()
    fields = []
    for name, s in zip(names, socks):
        f = field(s)
        if "0" in f and "1" in f:
            t0, first = time.time(), f
            while "0" in f and "1" in f and time.time() - t0 < 1.0:
                time.sleep(0.0005)
                f = field(s)
            print("# %d %s read %s, then %s after %.1f ms" % (start, name, first, f, (time.time() - t0) * 1000))
        fields.append(f)
    print(start, ms(), " ".join(fields), flush=True)
    due += 0.02
    time.sleep(max(0.0, due - time.time()))
PY
	"$PY" "$TMP/sampler.py" "$addrs" "$@" >"$out" 2>&1 &
	SAMPLER_PID=$!
	BG_PIDS+=("$SAMPLER_PID")
	wait_until 5 test -s "$out"
}

# stop_sampler PID: TERM, bounded (also ends captures).
stop_sampler() {
	kill "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.02; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# always FILE FROM TO FIELDS: every sample read entirely within [FROM, TO)
# ms (START >= FROM, END + 1 <= TO: the sampler's times are whole
# milliseconds, cut down, so a sample stamped END may have ended up to a
# millisecond later; TO may be "end") shows exactly FIELDS (e.g.
# "1 0": the first namespace holds the address, the second does not), and
# there is at least one. The first sample that differs is printed.
always() {
	awk -v from="$2" -v to="$3" -v want="$4" '
		/^#/ { next }
		{ s = $1; e = $2; $1 = $2 = ""; sub(/^ +/, "") }
		s >= from && (to == "end" || e + 1 <= to) { n++; if ($0 != want) { bad++; if (!shown++) print "    sample at " s ": " $0 " (want " want ")" } }
		END { if (!n) print "    no sample read within [" from ", " to ")"
		      else if (bad) print "    " bad " of " n " samples in [" from ", " to ") differ"
		      exit !(n > 0 && bad == 0) }' "$1"
}

# never FILE EREGEX: no sample (its fields) matches EREGEX.
never() {
	RE=$2 awk '/^#/ { next } { s = $1; $1 = $2 = ""; sub(/^ +/, "") }
		$0 ~ ENVIRON["RE"] { bad++; if (!shown++) print "    sample at " s ": " $0 }
		END { exit bad > 0 }' "$1"
}

# overlap_ms FILE: the longest run of consecutive samples in which some
# address was held by more than one namespace, in ms from the first to
# the last sample of the run; 0 for a single sample, -1 when never.
overlap_ms() {
	awk '/^#/ { next }
	     { two = 0
	       for (k = 1; k <= length($3); k++) { n = 0; for (i = 3; i <= NF; i++) n += substr($i, k, 1); if (n > 1) two = 1 }
	       if (two) { if (!s) s = $1; if ($1 - s > m) m = $1 - s; seen = 1 } else s = 0 }
	     END { print (seen ? m + 0 : -1) }' "$1"
}

# split_ms FILE: the longest time a namespace was seen holding some of the
# addresses but not all (0 when never).
split_ms() { awk '/^# .* after [0-9.]+ ms$/ { d = $(NF - 1) + 0; if (d > m) m = d } END { printf "%.1f\n", m }' "$1"; }

# count_samples FILE FROM FIELDS: samples from FROM ms on showing FIELDS.
count_samples() {
	awk -v from="$2" -v want="$3" '/^#/ { next } { s = $1; $1 = $2 = ""; sub(/^ +/, "") }
		s >= from && $0 == want { n++ } END { print n + 0 }' "$1"
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

# pair_with_lvs_conf: $TMP/d1.ini (VI_1 at 150, and a virtual server on
# $VIP:80 following it, so an LVS engine runs; no IPVS needed) and
# $TMP/d2.ini (VI_1 at 100).
pair_with_lvs_conf() {
	dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)" "[virtual_server web]" "address = $VIP:80" \
		"vrrp = VI_1" "check = tcp" "real_server = 198.18.0.11:80"
	dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
}

# start_pair INSTANCE: start d1 ($TMP/d1.ini) and wait until it is
# master, then d2 ($TMP/d2.ini) and wait until it is backup.
start_pair() {
	start_director "$D1" d1 "$TMP/d1.ini" || return 1
	wait_ms 3000 state_is d1 "$1" MASTER || { echo "d1 did not become master"; return 1; }
	start_director "$D2" d2 "$TMP/d2.ini" || return 1
	wait_ms 3000 state_is d2 "$1" BACKUP || { echo "d2 did not become backup"; return 1; }
}

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
