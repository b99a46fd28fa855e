# shellcheck shell=bash
# Helpers for the directord VM tests (tests/vm/2[0-9]-*.sh): directord's
# LVS engine against the VM's real IPVS, with real servers in namespaces.
# Sourced after nothing else: it brings in tests/vm/lib.sh (namespaces,
# cleanup, PASS/FAIL, need_ipvs, ipvs_stat) and tests/netns/director-lib.sh
# (dconf, vrrp, ctl, js, wait_ms, now_ms, stop_director, dfinish).
#
# Under TCG every fork is slow (ipvsadm about 0.15 s, a python3 start 0.5 s
# to 2.5 s with its imports), so the helpers here talk HTTP with bash's
# /dev/tcp, sample with one long-lived python process, and the waits are
# generous; the bounds that a test asserts say what slack they allow.

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../netns/director-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../netns/director-lib.sh"

# ---- topology ----

# lan NAME...: the switch namespace $SW with bridge br0 and, for each
# NAME, a namespace NS_NAME joined to it with eth0 = the address given in
# the ADDR_NAME variable (198.18.0.x/24 by default: cl .1, lb .2, lb2 .3,
# rs1 .11, rs2 .12, sorry .13).
ADDR_cl=198.18.0.1 ADDR_lb=198.18.0.2 ADDR_lb2=198.18.0.3
ADDR_rs1=198.18.0.11 ADDR_rs2=198.18.0.12 ADDR_sorry=198.18.0.13
lan() {
	local n i=0 a
	switch_new
	for n in "$@"; do
		i=$((i + 1))
		ns_new "$n"
		a=ADDR_$n
		join "$TEST_ID-$n" eth0 br0 "$(printf '02:00:00:00:%02x:01' "$i")" "${!a}/24"
	done
}

# unicast_routes NS: a dummy interface carrying 198.18.255.254/15,
# 192.0.2.254/24 and 2001:db8:ffff::1/32, so that destinations anywhere in
# the test ranges are unicast for IPVS (it refuses an IPv4 destination
# with no route: "Invalid operation ... address not unicast").
unicast_routes() {
	ip -n "$1" link add d0 type dummy
	ip -n "$1" addr add 198.18.255.254/15 dev d0
	ip -n "$1" addr add 192.0.2.254/24 dev d0
	ip -n "$1" addr add 2001:db8:ffff::1/32 dev d0 nodad
	ip -n "$1" link set d0 up
}

# dr_real_server NS VIP...: what rs-agent would do, by hand: the VIPs on lo,
# arp_ignore 1 and arp_announce 2 on all and eth0.
dr_real_server() {
	local ns=$1 dev v; shift
	for dev in all eth0; do
		in_ns "$ns" sysctl -qw "net.ipv4.conf.$dev.arp_ignore=1" "net.ipv4.conf.$dev.arp_announce=2"
	done
	for v in "$@"; do in_ns "$ns" ip addr add "$v/32" dev lo; done
}

# wait_gently SECONDS cmd...: wait_until polling every 0.25 s, for waits
# whose every try forks a few processes (under TCG each exec reads its
# binary over 9p and stalls the whole VM a little; a 50 ms poll loop
# slows the daemons and web servers it waits for).
wait_gently() {
	local limit=$1 end; shift
	end=$(($(now_ms) + limit * 1000))
	while (($(now_ms) < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	return 1
}

# ---- web servers ----

# www NAME NS [BIG_KB]: python3 -m http.server on port 80 in NS, serving
# index.html = "served by NAME" and, with BIG_KB, big.bin of that size
# whose first line is "served by NAME". Pid in WWW_PID_NAME.
www() {
	local name=$1 ns=$2 big=${3:-}
	mkdir -p "$TMP/www-$name"
	echo "served by $name" >"$TMP/www-$name/index.html"
	if [ -n "$big" ]; then
		{ echo "served by $name"; head -c $((big * 1024)) /dev/zero; } >"$TMP/www-$name/big.bin"
	fi
	www_start "$name" "$ns"
}

# www_start NAME NS: (re)start the web server of www NAME NS.
www_start() {
	bg_in "$2" "$TMP/www-$1.log" "$PY" -m http.server 80 --bind 0.0.0.0 --directory "$TMP/www-$1"
	printf -v "WWW_PID_$1" '%s' "$LAST_PID"
	disown "$LAST_PID"
}

# www_stop NAME: kill its web server (bounded wait for it to be gone).
www_stop() {
	local var="WWW_PID_$1" pid
	pid=${!var}
	kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	return 1
}

# get NS HOST [PATH] [TIMEOUT_S]: the body of one HTTP/1.0 GET from NS to
# HOST:80, with bash's /dev/tcp (a python3 start costs seconds under TCG).
# Fails when the connection fails or nothing comes within the timeout.
# ask_n NS HOST N: N GETs of / one after the other, in one process, one
# line each: the body ("served by rs1"), or ERROR.
HTTP_GET_SH=$(cat <<'SH'
get1() {
	local status line body=
	exec 3<>"/dev/tcp/$1/80" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&3
	IFS= read -r -t 5 status <&3 || { exec 3<&-; return 1; }
	case $status in "HTTP/1."?" 200"*) ;; *) exec 3<&-; return 1 ;; esac
	while IFS= read -r -t 5 line <&3; do [ "${line%$'\r'}" = "" ] && break; done
	while IFS= read -r -t 5 line <&3 || [ -n "$line" ]; do body+=$line$'\n'; line=; done
	exec 3<&-
	printf '%s\n' "${body%$'\n'}"
}
SH
)
get() {
	in_ns "$1" timeout "${4:-5}" bash -c "$HTTP_GET_SH"'
		get1 "$1" "$2"' _ "$2" "${3:-/}"
}
ask_n() {
	in_ns "$1" timeout $((5 * $3 + 5)) bash -c "$HTTP_GET_SH"'
		for ((i = 0; i < $2; i++)); do
			b=$(get1 "$1" /) || b=ERROR
			echo "${b:-EMPTY}"
		done' _ "$2" "$3"
}

# answers NS HOST WANT: one GET of / answers WANT (for wait_until).
answers() { [ "$(get "$1" "$2" / 3 2>/dev/null)" = "$3" ]; }

# ---- the IPVS table ----

# ipvs_save NS: `ipvsadm -S -n`, sorted (the kernel's listing order
# depends on its hash tables, not on what was asked).
ipvs_save() { in_ns "$1" ipvsadm -S -n | LC_ALL=C sort; }

# dest_of NS SVC_OPTS DEST: "FORWARD WEIGHT ACTIVE INACTIVE" of DEST
# (ADDR:PORT) in the service given as ipvsadm options (-t VIP:80), empty
# when it is not in the table.
dest_of() {
	local ns=$1 svc=$2 dest=$3
	# shellcheck disable=SC2086
	in_ns "$ns" ipvsadm -L -n $svc 2>/dev/null | awk -v d="$dest" '$1 == "->" && $2 == d { print $3, $4, $5, $6; exit }'
}

# weight_of NS SVC_OPTS DEST: the weight, or "absent".
weight_of() {
	local l
	l=$(dest_of "$@")
	if [ -n "$l" ]; then set -- $l; echo "$2"; else echo absent; fi
}
weight_is() { [ "$(weight_of "$1" "$2" "$3")" = "$4" ]; }	# weight_is NS SVC DEST WEIGHT|absent

# dests_of NS SVC_OPTS: the destinations of the service, "ADDR:PORT:WEIGHT" sorted, one line.
dests_of() {
	# shellcheck disable=SC2086
	in_ns "$1" ipvsadm -L -n $2 2>/dev/null | awk '$1 == "->" && $2 != "RemoteAddress:Port" { print $2 ":" $4 }' |
		LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
dests_are() { [ "$(dests_of "$1" "$2")" = "$3" ]; }	# dests_are NS SVC "A:P:W A:P:W"

# ---- directord ----

# start_dir NS TAG CONF: directord -n in NS (own process group, log in
# $TMP/TAG.log), waits until its control socket answers. PID_TAG.
start_dir() {
	local ns=$1 tag=$2 conf=$3
	bg_in "$ns" "$TMP/$tag.log" setsid "$DIRECTORD" -n -f "$conf"
	printf -v "PID_$tag" '%s' "$LAST_PID"
	disown "$LAST_PID"
	if ! wait_until 20 ctl "$tag" status; then
		echo "directord $tag did not start:"; tail -30 "$TMP/$tag.log"
		return 1
	fi
}

# stop_dir TAG [SIGNAL]: signal the parent, wait up to 15 s for it to exit.
stop_dir() {
	local var="PID_$1" pid
	pid=${!var}
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	wait_until 15 not kill -0 "$pid"
}

# Status as JSON, raw: status_json TAG.
status_json() { ctl "$1" status --json 2>/dev/null; }

# jfield JSON ANCHOR KEY: in the compact JSON text that directord prints,
# the value (string without its quotes, number, true/false/null) of the
# first "KEY" after the first ANCHOR, in bash alone: js (python) costs a
# second and more a query under TCG, several with samplers running.
# Good for flat fields of the object ANCHOR begins; the structure is
# checked with python3 -m json.tool where a test needs that.
jfield() {
	local t=${1#*"$2"} v
	[ "$t" != "$1" ] || return 1
	t=${t#*\"$3\":}
	[[ $t =~ ^(\"[^\"]*\"|[-0-9.]+|null|true|false) ]] || return 1
	v=${BASH_REMATCH[1]}
	v=${v#\"}
	echo "${v%\"}"
}

# vrrp_engine_pid TAG / lvs_engine_pid TAG: the engines' pids (status
# "vrrp_engine": {"pid": ...}, "lvs_engine": ...; 0 while restarting).
vrrp_engine_pid() { jfield "$(status_json "$1")" '"vrrp_engine":' pid; }
lvs_engine_pid() { jfield "$(status_json "$1")" '"lvs_engine":' pid; }
# vstate TAG INSTANCE: "STATE TRANSITIONS" of a VRRP instance.
vstate() {
	local j s t
	j=$(status_json "$1") || return 1
	s=$(jfield "$j" "\"name\":\"$2\"" state) && t=$(jfield "$j" "\"name\":\"$2\"" transitions) && echo "$s $t"
}
vstate_is() { [ "$(vstate "$1" "$2")" = "$3" ]; }	# vstate_is TAG INSTANCE "MASTER 2"
vmaster() { [ "$(vstate "$1" "$2" | cut -d' ' -f1)" = "$3" ]; }	# vmaster TAG INSTANCE STATE

# ops_lines TAG: the LVS engine's reconcile summaries so far (at start,
# after each reload, on a drift repair), "ipvs: start: N service(s), M
# destination(s): K operation(s) (F failed)"; not the debug lines of
# the small reconciles that follow single check results.
OPS_RE='ipvs: .*[0-9]+ destinations?(\(s\))?: [0-9]+ operations?(\(s\))? \([0-9]+ failed\)'
ops_lines() { grep -E "$OPS_RE" "$TMP/$1.log"; }
ops_count() { ops_lines "$1" | wc -l; }
# ops_after TAG N: the first summary after the first N ones, as "K F"
# (operations, failed); fails while there is none.
ops_after() {
	local l
	l=$(ops_lines "$1" | sed -n "$(($2 + 1))p")
	[ -n "$l" ] || return 1
	sed -E 's/.* ([0-9]+) operations?(\(s\))? \(([0-9]+) failed\).*/\1 \3/' <<<"$l"
}
ops_line_after() { ops_lines "$1" | sed -n "$(($2 + 1))p"; }
has_ops_after() { [ -n "$(ops_line_after "$1" "$2")" ]; }

# rs_field TAG SERVICE SERVER KEY: a real server's KEY ("state": up,
# drain, down, maint; "weight"; "admin"; "why") in the status of
# [virtual_server SERVICE]: lvs.virtual_servers[name = SERVICE]
# .real_servers[server = SERVER].
rs_field() {
	local j t
	j=$(status_json "$1") || return 1
	t=${j#*\"virtual_servers\":}
	t=${t#*\{\"name\":\"$2\"}
	jfield "$t" "\"server\":\"$3\"" "$4"
}
rs_state() { rs_field "$1" "$2" "$3" state; }
rs_state_is() { [ "$(rs_state "$1" "$2" "$3")" = "$4" ]; }

# ---- long-lived connections ----

# echo_server NS PORT [GREETING]: a python echo server (a thread per
# connection) that first sends GREETING and a newline when given.
echo_server() {
	cat >"$TMP/echo_server.py" <<'PY'
import socket, sys, threading
greeting = sys.argv[2].encode() + b"\n" if len(sys.argv) > 2 else b""
def serve(c):
    try:
        if greeting:
            c.sendall(greeting)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	bg_in "$1" "$TMP/echo-$1.log" "$PY" "$TMP/echo_server.py" "$2" ${3:+"$3"}
}

# stream_client NS HOST PORT OUT: one TCP connection that sends a numbered
# line every 50 ms and reads each echo back. OUT gets "connected"; then,
# every second and at the end, "progress N MAXGAP_MS" (N echoes, the
# longest wait for one); it stops when the file OUT.stop appears, with
# "done N MAXGAP_MS AT_MS" (every echo right, connection still open; the
# longest wait began at AT_MS, epoch) or
# "error ..." as its last line. Pid in STREAM_PID.
stream_client() {
	cat >"$TMP/stream_client.py" <<'PY'
import os, socket, sys, time
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = open(out, "a", buffering=1)
try:
    s = socket.create_connection((host, port), timeout=10)
except OSError as e:
    log.write("error connect: %s\n" % e); sys.exit(1)
s.settimeout(15)
log.write("connected %s\n" % (s.getsockname(),))
n, maxgap, maxat, last, report = 0, 0.0, 0.0, time.time(), time.time()
try:
    while not os.path.exists(out + ".stop"):
        msg = b"%d\n" % n
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(len(msg) - len(got))
            if not d:
                raise OSError("connection closed by the peer after %d echoes" % n)
            got += d
        if got != msg:
            raise OSError("bad echo %r for %r" % (got, msg))
        now = time.time()
        if now - last > maxgap:
            maxgap, maxat = now - last, last
        last = now
        n += 1
        if now - report >= 1:
            log.write("progress %d %d\n" % (n, maxgap * 1000)); report = now
        time.sleep(0.05)
    log.write("done %d %d %d\n" % (n, maxgap * 1000, maxat * 1000))
except OSError as e:
    log.write("error %s\n" % e); sys.exit(1)
PY
	: >"$4"
	rm -f "$4.stop"
	bg_in "$1" "$TMP/stream-client.log" "$PY" "$TMP/stream_client.py" "$2" "$3" "$4"
	STREAM_PID=$LAST_PID
	wait_until 20 grep -q '^connected\|^error' "$4"
	grep -q '^connected' "$4"
}

# stream_echoes OUT: the last echo count reported (0 when none).
stream_echoes() { awk '$1 == "progress" || $1 == "done" { n = $2 } END { print n + 0 }' "$1"; }

# ipvs_sampler NS OUT [ADDR]: every 20 ms, one line "MS DESTS VIP" from
# one python process in NS that reads /proc/net/ip_vs and
# /proc/net/fib_trie (no fork per sample): DESTS is every destination
# line of the table, "ADDR:PORT/FORWARD/WEIGHT" joined by commas (the
# kernel's hex notation), VIP 1 when ADDR is a local address of NS, else
# 0 (- without ADDR). Stops when OUT.stop appears. Pid in IPVS_SAMPLER_PID.
ipvs_sampler() {
	cat >"$TMP/ipvs_sampler.py" <<'PY'
import os, sys, time
out, addr = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
f = open(out, "w", buffering=1)
due = time.time()
def local(a):
    if not a:
        return "-"
    lines = open("/proc/net/fib_trie").read().split("\n")
    for i, l in enumerate(lines[:-1]):
        if l.strip() == "|-- " + a and "host LOCAL" in lines[i + 1]:
            return "1"
    return "0"
while not os.path.exists(out + ".stop"):
    d = [",".join(sorted("/".join(l.split()[1:4]) for l in open("/proc/net/ip_vs") if l.strip().startswith("->") and "RemoteAddress" not in l))]
    f.write("%d %s %s\n" % (time.time() * 1000, d[0] or "none", local(addr)))
    due += 0.02
    time.sleep(max(0.0, due - time.time()))
PY
	rm -f "$2.stop"
	bg_in "$1" "$TMP/ipvs_sampler.log" "$PY" "$TMP/ipvs_sampler.py" "$2" ${3:+"$3"}
	IPVS_SAMPLER_PID=$LAST_PID
	wait_until 20 test -s "$2"
}

# ipvsadm_sampler NS SVC_OPTS OUT: as fast as ipvsadm runs (a few times a
# second under TCG), "MS DESTS" with DESTS from dests_of. Stops when
# OUT.stop appears. Pid in IPVSADM_SAMPLER_PID.
ipvsadm_sampler() {
	local ns=$1 svc=$2 out=$3
	rm -f "$out.stop"
	(while [ ! -e "$out.stop" ]; do
		d=$(dests_of "$ns" "$svc")
		echo "$(now_ms) ${d// /,}"
	done >"$out") &
	IPVSADM_SAMPLER_PID=$!
	BG_PIDS+=("$IPVSADM_SAMPLER_PID")
}

# samples_all FILE FIELD VALUE [FROM_MS]: every sample (from FROM_MS on)
# has VALUE in FIELD (2 or 3), and there is at least one; the first that
# differs is shown.
samples_all() {
	awk -v f="$2" -v want="$3" -v from="${4:-0}" '
		$1 >= from { n++; if ($f != want) { bad++; if (!shown++) print "    sample at " $1 ": " $f " (want " want ")" } }
		END { if (!n) print "    no samples"; else if (bad) print "    " bad " of " n " samples differ"; exit !(n > 0 && !bad) }' "$1"
}
samples_count() { awk -v from="${2:-0}" '$1 >= from { n++ } END { print n + 0 }' "$1"; }

# ---- the end-to-end setup (22-*, 23-*) ----

# e2e_setup [BIG_KB]: client, director lb, real servers rs1 and rs2 on one
# bridge. Each real server runs rs-agent (VIP on lo, ARP sysctls, agent
# port 5555 answering lb only, its own HTTP check of VIP:80 every 500 ms,
# timeout 500 ms, rise 1, fall 2) and python3 -m http.server on port 80 serving "served by
# rsN" (and big.bin with BIG_KB). Config files $TMP/rs1.ini, $TMP/rs2.ini;
# agent pids in AGENT_PID_rs1, AGENT_PID_rs2.
E2E_VIP=198.18.0.100
e2e_setup() {
	local rs ns
	lan cl lb rs1 rs2 ${E2E_SORRY:+sorry}
	for rs in rs1 rs2; do
		ns=NS_$rs
		write_rs_config "$TMP/$rs.ini" "$rs" "$E2E_VIP" \
			"[agent]" "listen = 0.0.0.0:5555" "allow = $ADDR_lb" \
			"[check web]" "type = http" "port = 80" "interval = 500ms" "timeout = 500ms" "rise = 1" "fall = 2"
		start_agent "${!ns}" "$TMP/$rs.ini" "$TMP/agent-$rs.log" || return 1
		printf -v "AGENT_PID_$rs" '%s' "$AGENT_PID"
		www "$rs" "${!ns}" ${1:+"$1"}
	done
	for rs in rs1 rs2; do
		ns=ADDR_$rs
		wait_gently 30 answers "$NS_cl" "${!ns}" "served by $rs" || { echo "$rs's web server does not answer"; return 1; }
	done
}

# e2e_director_conf [line...]: director.ini for lb: VRRP VI_1 holding the
# VIP on eth0, and [virtual_server web] VIP:80 rr DR, check = http,
# agent every 500 ms, rise 1, fall 2; the lines given are added to the
# virtual server. Timeouts are the whole interval (500 ms): python's
# http.server under TCG, with the VM busy, answers in 400 ms now and then.
e2e_director_conf() {
	dconf "$TMP/lb.ini" lb "$(vrrp VI_1 eth0 51 150 $E2E_VIP/24)" "
[virtual_server web]
address = $E2E_VIP:80
protocol = tcp
scheduler = rr
method = dr
vrrp = VI_1
check = http, agent
check_path = /
check_interval = 500ms
check_timeout = 500ms
check_rise = 1
check_fall = 2
agent_port = 5555
agent_interval = 500ms
real_servers = $ADDR_rs1:80, $ADDR_rs2:80" "$@"
}

# e2e_director: start lb with e2e_director_conf's file; wait for MASTER,
# the VIP on eth0 and both real servers in the kernel at weight 1.
E2E_SVC="-t $E2E_VIP:80"
E2E_BOTH="$ADDR_rs1:80:1 $ADDR_rs2:80:1"
e2e_director() {
	start_dir "$NS_lb" lb "$TMP/lb.ini" || return 1
	wait_until 15 vmaster lb VI_1 MASTER || { echo "lb did not become master"; return 1; }
	wait_until 5 has_addr "$NS_lb" eth0 "$E2E_VIP" || { echo "the VIP is not on lb's eth0"; return 1; }
	wait_gently 20 dests_are "$NS_lb" "$E2E_SVC" "$E2E_BOTH" || { echo "not both real servers in the kernel: $(dests_of "$NS_lb" "$E2E_SVC")"; return 1; }
}

# alternating FILE: the replies in FILE (one a line) are all answers from
# rs1 and rs2, each different from the one before.
alternating() {
	awk 'BEGIN { ok = 1 } { if ($0 != "served by rs1" && $0 != "served by rs2") ok = 0; if (NR > 1 && $0 == prev) ok = 0; prev = $0 }
		END { exit !(ok && NR >= 2) }' "$1"
}
all_are() { [ -s "$1" ] && [ "$(sort -u "$1")" = "$2" ]; }	# all_are FILE LINE
replies() { sort "$1" | uniq -c | awk '{ $1 = $1 "x"; print }' | paste -sd, -; }	# "3x served by rs1,3x served by rs2"

# elapsed_ms SINCE_MS: ms since then.
elapsed_ms() { echo $(($(now_ms) - $1)); }
