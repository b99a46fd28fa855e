# Helpers for the interop tests against keepalived from Debian. Source
# after lib.sh. Topology (ka_topology): a "sw" namespace holding the
# bridge br0, and namespaces "ka" (keepalived) and "dd" (directord), each
# joined to br0 by a veth pair whose inner end is eth0.
#
#   ka eth0 198.18.5.1/24 --- br0 (sw) --- dd eth0 198.18.5.2/24
#   VIP 198.18.5.100/24, held by whichever side is master.
#
# Who holds the VIP is read from /proc/PID/net/fib_trie of a process
# parked in each namespace: the kernel adds the /32 local route in the
# same call that adds the address, and reading it costs no fork, so one
# sample of both sides takes well under a millisecond.

DIRECTORD=$BUILD/directord
DIRECTORCTL=$BUILD/directorctl
KA_ADDR=198.18.5.1
DD_ADDR=198.18.5.2
KA_VIP=198.18.5.100
export LC_ALL=C			# EPOCHREALTIME and printf with a '.' decimal point
# Debian's python3: a pyenv shim earlier in PATH costs half a second a call.
PY=$(command -v /usr/bin/python3 || command -v python3)

# bg_forget PID: a process this test stopped and reaped itself leaves
# BG_PIDS, so cleanup never signals a pid the kernel has since reused.
bg_forget() {
	local keep=() p
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# stop_bg PID [SIGNAL]: signal (TERM by default), wait up to 5 s, then
# KILL; reap and forget. Fails when KILL was needed.
stop_bg() {
	local pid=$1 sig=${2:-TERM} i
	kill -"$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	bg_forget "$pid"
	((i < 100))
}

ka_topology() {
	ns_new sw
	ns_new ka
	ns_new dd
	ip -n "$NS_sw" link add br0 type bridge mcast_snooping 0
	ip -n "$NS_sw" link set br0 up
	local side addr
	for side in ka dd; do
		local ns_var="NS_$side"
		[ "$side" = ka ] && addr=$KA_ADDR || addr=$DD_ADDR
		# Created straight inside the namespaces: no name in the root
		# namespace that a concurrent test could collide with.
		ip link add name eth0 netns "${!ns_var}" type veth peer name "$side" netns "$NS_sw" || return 1
		ip -n "$NS_sw" link set "$side" master br0
		ip -n "$NS_sw" link set "$side" up
		ip -n "${!ns_var}" addr add "$addr/24" dev eth0
		ip -n "${!ns_var}" link set eth0 up
	done
	# A process parked in each namespace: /proc/PID/net is that namespace's.
	bg_in "$NS_ka" /dev/null sleep infinity
	KA_PARK=$LAST_PID
	bg_in "$NS_dd" /dev/null sleep infinity
	DD_PARK=$LAST_PID
	wait_until 5 test -r "/proc/$KA_PARK/net/fib_trie" && wait_until 5 test -r "/proc/$DD_PARK/net/fib_trie"
}

# holds PID: the namespace of PID has the VIP.
holds() {
	local v
	IFS= read -r -d '' v <"/proc/$1/net/fib_trie"
	[[ $v == *"-- $KA_VIP"$'\n'* ]]
}
holder_is() {	# ka | dd: that side holds the VIP and the other does not
	case $1 in
	ka) holds "$KA_PARK" && ! holds "$DD_PARK" ;;
	dd) holds "$DD_PARK" && ! holds "$KA_PARK" ;;
	*) return 2 ;;
	esac
}

# ka_write_conf FILE VRID VERSION ADVERT_INT PRIORITY AUTH_PASS|"" unicast|multicast
ka_write_conf() {
	local file=$1 vrid=$2 version=$3 interval=$4 prio=$5 pass=$6 mode=$7
	{
		echo "global_defs {"
		echo "    router_id ka_$TEST_ID"
		echo "    vrrp_version $version"
		echo "}"
		echo "vrrp_instance VI_1 {"
		echo "    state BACKUP"
		echo "    interface eth0"
		echo "    virtual_router_id $vrid"
		echo "    priority $prio"
		echo "    advert_int $interval"
		if [ -n "$pass" ]; then
			echo "    authentication {"
			echo "        auth_type PASS"
			echo "        auth_pass $pass"
			echo "    }"
		fi
		if [ "$mode" = unicast ]; then
			echo "    unicast_src_ip $KA_ADDR"
			echo "    unicast_peer {"
			echo "        $DD_ADDR"
			echo "    }"
		fi
		echo "    virtual_ipaddress {"
		echo "        $KA_VIP/24 dev eth0"
		echo "    }"
		echo "}"
	} >"$file"
	chmod 644 "$file"
}

# ka_start CONF TAG: keepalived as DESIGN.md runs it, pid files unique to
# TAG in this test's temp dir; log in $TMP/TAG.log. Sets KA_PID (the
# parent: SIGTERM to it makes the VRRP child send priority 0).
ka_start() {
	local conf=$1 tag=$2
	bg_in "$NS_ka" "$TMP/$tag.log" keepalived -n -l -D -f "$conf" \
		-p "$TMP/$tag.pid" -r "$TMP/$tag-vrrp.pid" -c "$TMP/$tag-checker.pid"
	KA_PID=$LAST_PID
}

# dd_write_conf FILE VRID VERSION ADVERT_INTERVAL PRIORITY AUTH_PASS|"" unicast|multicast
dd_write_conf() {
	local file=$1 vrid=$2 version=$3 interval=$4 prio=$5 pass=$6 mode=$7
	{
		echo "[global]"
		echo "router_id = dd_$TEST_ID"
		echo "control_socket = $TMP/dd.sock"
		echo "control_mode = 0600"
		echo "[vrrp VI_1]"
		echo "interface = eth0"
		echo "virtual_router_id = $vrid"
		echo "priority = $prio"
		echo "version = $version"
		echo "advert_interval = $interval"
		echo "virtual_ipaddress = $KA_VIP/24"
		[ -n "$pass" ] && echo "auth_pass = $pass"
		if [ "$mode" = unicast ]; then
			echo "unicast_src_ip = $DD_ADDR"
			echo "unicast_peer = $KA_ADDR"
		fi
	} >"$file"
	chmod 644 "$file"
}

# dd_start CONF TAG: directord in the foreground, log in $TMP/TAG.log;
# waits for its control socket. Sets DD_PID.
dd_start() {
	local conf=$1 tag=$2
	bg_in "$NS_dd" "$TMP/$tag.log" "$DIRECTORD" -n -f "$conf"
	DD_PID=$LAST_PID
	wait_until 10 dd_json || { echo "directord did not answer on its control socket:"; tail -20 "$TMP/$tag.log"; return 1; }
}

dd_json() { "$DIRECTORCTL" -s "$TMP/dd.sock" status --json; }

# dd_is STATE [MASTER_ADDR]: the instance's state (and the master it follows).
dd_is() {
	dd_json 2>/dev/null | "$PY" -c '
import json, sys
i = json.load(sys.stdin)["vrrp"]["instances"][0]
sys.exit(not (i["state"] == sys.argv[1] and (len(sys.argv) < 3 or i["master"] == sys.argv[2])))' "$@"
}

# dd_drops_zero: every drop counter is 0 and adverts were received;
# prints the non-zero counters otherwise.
dd_drops_zero() {
	dd_json | "$PY" -c '
import json, sys
i = json.load(sys.stdin)["vrrp"]["instances"][0]
bad = {k: v for k, v in i["drops"].items() if v}
if i["rx"] == 0 or bad:
    print("rx=%d drops %s" % (i["rx"], bad))
    sys.exit(1)'
}

# ---- VIP holders over time ----

# vip_watch_start DIR: address monitors in ka and dd (the exact timeline);
# the 50 ms sampler starts later, at convergence (vip_sample_start).
# vip_watch_stop DIR ends both.
vip_watch_start() {
	local dir=$1
	: >"$dir/marks"
	SAMPLER_PID=
	bg_in "$NS_ka" "$dir/ka.mon" ip -ts monitor address
	KA_MON=$LAST_PID
	bg_in "$NS_dd" "$dir/dd.mon" ip -ts monitor address
	DD_MON=$LAST_PID
	sleep 0.2	# subscribed before anything happens
}

# Every 50 ms: ka, dd, ka, dd, read back to back. Whichever side did not
# change across its two reads gives an exact count at the middle read.
# The clock is read before and after: a sample that straddles a phase
# mark (the sampler may lose the CPU between reads) is told apart.
# It ends by itself once DIR/stop exists.
vip_sampler() {
	local dir=$1 a1 b1 a2 b2 t
	while [[ ! -e $dir/stop ]]; do
		t=$EPOCHREALTIME
		holds "$KA_PARK" && a1=1 || a1=0
		holds "$DD_PARK" && b1=1 || b1=0
		holds "$KA_PARK" && a2=1 || a2=0
		holds "$DD_PARK" && b2=1 || b2=0
		echo "$t $EPOCHREALTIME $a1 $b1 $a2 $b2"
		sleep 0.05
	done >"$dir/samples"
}

vip_sample_start() {
	rm -f "$1/stop"
	vip_sampler "$1" &
	SAMPLER_PID=$!
	BG_PIDS+=("$SAMPLER_PID")
}

# mark DIR KIND BOUND_MS EXPECT LABEL...: a phase starts now.
#   steady    exactly EXPECT holds the VIP at every sample
#   takeover  a graceful stop: no moment with two holders; a moment with
#             none lasts at most BOUND_MS (Skew_Time) + TAKEOVER_TOL_MS
#   preempt   a higher priority takes over: two holders for at most
#             PREEMPT_OVERLAP_MS, none for at most PREEMPT_GAP_MS
#   end       stop judging
mark() {
	local dir=$1 kind=$2 bound=$3 expect=$4
	shift 4
	echo "$EPOCHREALTIME $kind $bound $expect $*" >>"$dir/marks"
}

vip_watch_stop() {
	local i
	: >"$1/stop"
	if [ -n "$SAMPLER_PID" ]; then
		for ((i = 0; i < 40; i++)); do
			kill -0 "$SAMPLER_PID" 2>/dev/null || break
			sleep 0.05
		done
		stop_bg "$SAMPLER_PID"
	fi
	stop_bg "$KA_MON"
	stop_bg "$DD_MON"
}

# vip_judge DIR LABEL: PASS/FAIL lines per phase, from the samples and
# from the exact timeline of the address monitors.
TAKEOVER_TOL_MS=${TAKEOVER_TOL_MS:-100}
PREEMPT_OVERLAP_MS=${PREEMPT_OVERLAP_MS:-50}
PREEMPT_GAP_MS=${PREEMPT_GAP_MS:-50}
vip_judge() {
	local out rc
	out=$("$PY" - "$1" "$2" "$KA_VIP" "$TAKEOVER_TOL_MS" "$PREEMPT_OVERLAP_MS" "$PREEMPT_GAP_MS" <<'PY'
import datetime, re, sys

d, label, vip = sys.argv[1], sys.argv[2], sys.argv[3]
tol, overlap_max, gap_max = (float(x) for x in sys.argv[4:7])
failed = False

def report(ok, text):
    global failed
    print(("PASS " if ok else "FAIL ") + label + ": " + text)
    failed |= not ok

marks = []
for line in open(d + "/marks"):
    t, kind, bound, expect, text = line.rstrip("\n").split(" ", 4)
    marks.append((float(t), kind, float(bound), expect, text))
start, end = marks[0][0], marks[-1][0]

def phase_index(t):
    i = None
    for k, m in enumerate(marks):
        if m[0] <= t:
            i = k
    return i

# -- samples --
phases = [dict(n=0, zero=0, two=0, amb=0, wrong=0, runs=[], odd=[]) for _ in marks]
run = None
for line in open(d + "/samples"):
    f = line.split()
    if len(f) != 6:
        continue
    t, t_after, (a1, b1, a2, b2) = float(f[0]), float(f[1]), (int(x) for x in f[2:])
    if t < start or t_after >= end:
        continue
    k = phase_index(t)
    # Straddling a mark: the reads may show either side of it, so the
    # sample counts in the transition phase of the two.
    if phase_index(t_after) != k and marks[k][1] == "steady":
        k = phase_index(t_after)
    p = phases[k]
    p["n"] += 1
    if a1 == a2:
        a, b = a1, b1
    elif b1 == b2:
        a, b = a2, b1
    else:
        a = b = None
    if a is None:
        p["amb"] += 1
    elif a + b == 0:
        p["zero"] += 1
    elif a + b == 2:
        p["two"] += 1
    wrong = a is not None and a + b == 1 and marks[k][3] in ("ka", "dd") and (marks[k][3] == "ka") != (a == 1)
    p["wrong"] += wrong
    if a is None or a + b != 1 or wrong:
        p["odd"].append("+%.0f ms (read in %.1f ms): ka %d%d dd %d%d" % (
            (t - marks[k][0]) * 1000, (t_after - t) * 1000, a1, a2, b1, b2))
    if a is not None and a + b == 0:
        if run is None:
            run = [t, t, p]
            p["runs"].append(run)
        run[1] = t
    else:
        run = None

# -- exact timeline from the address monitors --
rx = re.compile(r"^\[([^\]]+)\]\s*(Deleted\s+)?\d+:\s+\S+\s+inet\s+([0-9.]+)/")
events = []
for who in ("ka", "dd"):
    for line in open(d + "/" + who + ".mon"):
        m = rx.match(line)
        if m and m.group(3) == vip:
            t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
            events.append((t, who, 0 if m.group(2) else 1))
events.sort()
held = {"ka": 0, "dd": 0}
segs = []               # (start, stop, holders) with holders != 1, clipped to [start, end]
prev_t = None
for t, who, v in events + [(end, None, None)]:
    if prev_t is not None and held["ka"] + held["dd"] != 1:
        s, e = max(prev_t, start), min(t, end)
        if e > s:
            segs.append((s, e, held["ka"] + held["dd"]))
    if who is None:
        break
    held[who] = v
    prev_t = t
if prev_t is None:
    segs.append((start, end, 0))

for k, (t0, kind, bound, expect, text) in enumerate(marks[:-1]):
    p = phases[k]
    mine = [s for s in segs if phase_index(s[0]) == k]
    gaps = [(e - s) * 1000 for s, e, h in mine if h == 0]
    both = [(e - s) * 1000 for s, e, h in mine if h == 2]
    spans = [(r[1] - r[0]) * 1000 for r in p["runs"]]
    what = "%s: %d samples, %d with no holder, %d with two, %d ambiguous" % (
        text, p["n"], p["zero"], p["two"], p["amb"])
    timeline = "timeline: %s with none, %s with two" % (
        "/".join("%.1f ms" % g for g in gaps) or "never",
        "/".join("%.1f ms" % g for g in both) or "never")
    if kind == "steady":
        ok = (p["n"] > 0 and p["zero"] == 0 and p["two"] == 0 and p["amb"] == 0 and p["wrong"] == 0
              and not gaps and not both)
        text = "%s, %d with the wrong holder (exactly %s expected); %s" % (what, p["wrong"], expect, timeline)
    elif kind == "takeover":
        limit = bound + tol
        ok = (p["two"] == 0 and not both and all(g <= limit for g in gaps) and all(s <= limit for s in spans)
              and p["amb"] <= 1)
        text = "%s; %s (bound Skew_Time %.1f + %d ms)" % (what, timeline, bound, tol)
    elif kind == "preempt":
        ok = (p["zero"] <= 1 and p["two"] <= 1 and p["amb"] <= 1 and all(g <= gap_max for g in gaps)
              and all(b <= overlap_max for b in both))
        text = "%s; %s (at most %d ms with two, %d ms with none)" % (what, timeline, overlap_max, gap_max)
    else:
        continue
    if not ok:
        text += "; phase lasted %.0f ms; odd samples (ka read twice, dd read twice): %s" % (
            (marks[k + 1][0] - t0) * 1000, ", ".join(p["odd"][:3]) or "none")
    report(ok, text)
sys.exit(1 if failed else 0)
PY
)
	rc=$?
	printf '%s\n' "$out"
	[ $rc = 0 ] || FAILED=1
	return $rc
}
