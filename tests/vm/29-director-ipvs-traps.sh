#!/usr/bin/env bash
# The IPVS traps that `directord -t` warns about (director.ini(5), IPVS
# traps), each shown happening on the VM's real IPVS with the warned
# configuration and not with the fixed one, the sysctls written by
# directord (its LVS engine, as the dsrkit user with CAP_NET_ADMIN) from
# the file and read back from /proc/sys/net/ipv4/vs of its namespace.
# One director lb (VIP on its eth0, no VRRP), DR to rs1 and rs2, each
# running an echo server on port 80 that greets with its name.
# Each configuration is first checked with directord -t (the warning at
# its line, or none), then reloaded into the running directord.
#  1. mh with mh-port, no mh-fallback, rs1 drained (weight 0): of 30 new
#     connections from as many source ports, some fail (refused: IPVS
#     finds no server); with mh-fallback all 30 reach rs2.
#  2. persistence, ipvs_expire_quiescent_template = 0: the client's
#     server drained, its next connection still goes to that server;
#     = 1: the next one goes to the other.
#  3. ipvs_expire_nodest_conn = 0: the server of an established
#     connection removed by a reload, the client's data gets no answer and
#     no error for 3 s (black-holed); = 1: the connection is reset at once.
# A sysctl the file does not give (sloppy_sctp, set to 1 by hand before
# the start) is never written.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=198.18.0.100 SVC="-t 198.18.0.100:80" RS1=$ADDR_rs1:80 RS2=$ADDR_rs2:80
VS_SYSCTL=/proc/sys/net/ipv4/vs

lan cl lb rs1 rs2
ip -n "$NS_lb" addr add "$VIP/32" dev eth0

for rs in rs1 rs2; do
	ns=NS_$rs
	dr_real_server "${!ns}" "$VIP"
	echo_server "${!ns}" 80 "$rs"	# greets with its name, then echoes
done

# client.py many N: N connections one after the other, each from a new
# source port: one line each, the server's name or "fail REASON".
# client.py hold OUT: one connection; OUT gets "name NAME"; once OUT.go
# appears it sends a line and writes "echo", "reset", "closed" or
# "stall" (nothing in 3 s) and ends. Every wait bounded.
cat >"$TMP/client.py" <<'PY'
import os, socket, sys, time
def connect():
    s = socket.create_connection(("198.18.0.100", 80), timeout=3)
    f = s.makefile("rb")
    return s, f.readline().decode().strip() or "no greeting"
if sys.argv[1] == "many":
    for _ in range(int(sys.argv[2])):
        try:
            s, name = connect()
            print(name)
            s.close()
        except OSError as e:
            print("fail %s" % (e.strerror or e))
        sys.stdout.flush()
else:
    out = sys.argv[2]
    log = open(out, "a", buffering=1)
    s, name = connect()
    log.write("name %s\n" % name)
    end = time.time() + 60
    while not os.path.exists(out + ".go") and time.time() < end:
        time.sleep(0.05)
    s.settimeout(3)
    try:
        s.sendall(b"ping\n")
        d = s.recv(100)
        log.write("echo\n" if d else "closed\n")
    except socket.timeout:
        log.write("stall\n")
    except OSError as e:
        log.write("reset\n" if isinstance(e, ConnectionResetError) else "error %s\n" % e)
PY
many() { in_ns "$NS_cl" timeout 120 "$PY" "$TMP/client.py" many "$1"; }
one() { many 1; }
# hold OUT: the long-lived connection of client.py hold, its server's name
# in HELD once it greeted.
hold() {
	: >"$1"
	rm -f "$1.go"
	bg_in "$NS_cl" "$TMP/hold.log" timeout 90 "$PY" "$TMP/client.py" hold "$1"
	wait_until 20 grep -q '^name ' "$1"
	HELD=$(sed -n 's/^name //p' "$1")
}
# poke OUT: let the held connection send its line; its verdict.
poke() {
	touch "$1.go"
	wait_until 15 grep -qE '^(echo|reset|closed|stall|error)' "$1"
	grep -E '^(echo|reset|closed|stall|error)' "$1"
}

# conf FILE GLOBAL_LINES SERVICE_LINES [REAL_SERVERS]: director.ini for lb.
conf() {
	dconf "$1" lb "$2" "
[virtual_server web]
address = $VIP:80
method = dr
check = tcp
check_interval = 500ms
check_timeout = 500ms
check_rise = 1
check_fall = 2
$3
real_servers = ${4:-$RS1, $RS2}"
	sed -i 's/\\n/\n/g' "$1"
}
# warned FILE KEY: directord -t accepts FILE and warns at KEY's line (and
# nowhere else); clean FILE: it accepts FILE without a word.
t_out() { "$DIRECTORD" -t -f "$1" 2>&1; }
warned() {
	local out line
	out=$(t_out "$1") || return 1
	line=$(grep -n "^$2 = " "$1" | cut -d: -f1)
	[ "$(printf '%s\n' "$out" | grep -c ': warning: ')" = 1 ] &&
		printf '%s\n' "$out" | grep -q "^$1:$line: virtual_server web\.$2: warning: "
}
clean() { [ "$(t_out "$1")" = "configuration OK" ]; }
reload_to() { cp "$1" "$TMP/lb.ini" && [ "$(ctl lb reload 2>&1)" = "configuration reloaded" ]; }
sysctl_is() { [ "$(in_ns "$NS_lb" cat "$VS_SYSCTL/$1")" = "$2" ]; }
weight_now() { weight_of "$NS_lb" "$SVC" "$1"; }
count() { grep -c "^$2\$" "$1"; }

# ---- 1. mh without fallback ----
G1='ipvs_expire_nodest_conn = 1\nipvs_expire_quiescent_template = 1'
conf "$TMP/mh1.ini" "$G1" 'scheduler = mh\nscheduler_flags = mh-port\ninhibit_on_failure = yes'
conf "$TMP/mh2.ini" "$G1" 'scheduler = mh\nscheduler_flags = mh-fallback, mh-port\ninhibit_on_failure = yes'
check "mh without mh-fallback, inhibit_on_failure: directord -t warns at the scheduler line ($(t_out "$TMP/mh1.ini" | grep warning | cut -c1-150))" \
	warned "$TMP/mh1.ini" scheduler
check "... with mh-fallback: no warning" clean "$TMP/mh2.ini"

in_ns "$NS_lb" sh -c "echo 1 >$VS_SYSCTL/sloppy_sctp"
cp "$TMP/mh1.ini" "$TMP/lb.ini"
start_dir "$NS_lb" lb "$TMP/lb.ini" || { fail "directord lb starts"; dfinish; }
check "both real servers in the kernel" wait_gently 20 dests_are "$NS_lb" "$SVC" "$RS1:1 $RS2:1"
lvs_user=$(ps -o user= -p "$(lvs_engine_pid lb)" 2>/dev/null | tr -d ' ')
check "the LVS engine, which writes the sysctls, runs as dsrkit (with CAP_NET_ADMIN alone): $lvs_user" [ "$lvs_user" = dsrkit ]
check "directord logged the warning at start" grep -q "lb.ini:[0-9]*: virtual_server web.scheduler: warning: " "$TMP/lb.log"
check "directord set expire_nodest_conn and expire_quiescent_template to 1 (the kernel's default is 0)" \
	wait_until 10 eval 'sysctl_is expire_nodest_conn 1 && sysctl_is expire_quiescent_template 1'
many 10 >"$TMP/m0"
check "10 connections reach both servers ($(replies "$TMP/m0"))" \
	eval '[ "$(count "$TMP/m0" rs1)" -ge 1 ] && [ "$(count "$TMP/m0" rs2)" -ge 1 ] && [ $(($(count "$TMP/m0" rs1) + $(count "$TMP/m0" rs2))) = 10 ]'
out=$(ctl lb drain web "$RS1" 2>&1)
check "rs1 drained: weight 0 in the kernel ($out)" wait_until 5 weight_is "$NS_lb" "$SVC" "$RS1" 0
many 30 >"$TMP/m1"
fails=$(grep -c '^fail' "$TMP/m1")
check "trap: of 30 new connections, some fail ($fails: $(grep '^fail' "$TMP/m1" | sort -u | paste -sd, -)), the rest reach rs2 ($(count "$TMP/m1" rs2))" \
	eval '[ "$fails" -ge 1 ] && [ "$((fails + $(count "$TMP/m1" rs2)))" = 30 ]'
check "reload with mh-fallback" reload_to "$TMP/mh2.ini"
has_fallback() { ipvs_save "$NS_lb" | grep -- "-s mh" | grep -Eq 'mh-fallback|flag-1'; }
check "... the kernel's service has mh-fallback ($(ipvs_save "$NS_lb" | grep -- '-s mh'))" wait_gently 10 has_fallback
check "... rs1 is still at weight 0" weight_is "$NS_lb" "$SVC" "$RS1" 0
many 30 >"$TMP/m2"
check "fixed: all 30 new connections reach rs2 ($(replies "$TMP/m2"))" [ "$(count "$TMP/m2" rs2)" = 30 ]
ctl lb enable web "$RS1" >/dev/null 2>&1

# ---- 2. persistence and quiescent templates ----
G2='ipvs_expire_nodest_conn = 1\nipvs_expire_quiescent_template = 0'
P='scheduler = rr\npersistence_timeout = 300s\ninhibit_on_failure = yes'
conf "$TMP/p1.ini" "$G2" "$P"
conf "$TMP/p2.ini" "${G2% = 0} = 1" "$P"
check "persistence, inhibit_on_failure, expire_quiescent_template 0: directord -t warns at persistence_timeout" \
	warned "$TMP/p1.ini" persistence_timeout
check "... with ipvs_expire_quiescent_template = 1: no warning" clean "$TMP/p2.ini"
check "reload: rr with persistence, expire_quiescent_template = 0" reload_to "$TMP/p1.ini"
check "... directord logged the new warning" grep -q "lb.ini:[0-9]*: virtual_server web.persistence_timeout: warning: " "$TMP/lb.log"
check "... directord set expire_quiescent_template to 0" wait_until 10 sysctl_is expire_quiescent_template 0
check "... both servers at weight 1" wait_gently 10 dests_are "$NS_lb" "$SVC" "$RS1:1 $RS2:1"
first=$(one)
case $first in rs1) other=rs2 ;; rs2) other=rs1 ;; *) other= ;; esac
check "the client's first connection goes to $first" [ -n "$other" ]
addr=ADDR_$first
out=$(ctl lb drain web "${!addr}:80" 2>&1)
check "$first drained: weight 0 ($out)" wait_until 5 weight_is "$NS_lb" "$SVC" "${!addr}:80" 0
again=$(one)
check "trap: the client's next connection still goes to the drained $first ($again)" [ "$again" = "$first" ]
check "reload with ipvs_expire_quiescent_template = 1" reload_to "$TMP/p2.ini"
check "... directord set expire_quiescent_template to 1" wait_until 10 sysctl_is expire_quiescent_template 1
again=$(one)
check "fixed: the client's next connection goes to $other ($again)" [ "$again" = "$other" ]
ctl lb enable web "${!addr}:80" >/dev/null 2>&1

# ---- 3. removed servers and expire_nodest_conn ----
G3='ipvs_expire_nodest_conn = 0\nipvs_expire_quiescent_template = 1'
conf "$TMP/n1.ini" "$G3" 'scheduler = rr'
conf "$TMP/n2.ini" "${G3/conn = 0/conn = 1}" 'scheduler = rr'
check "servers removed by a failed check, expire_nodest_conn 0: directord -t warns at the check line" \
	warned "$TMP/n1.ini" check
check "... with ipvs_expire_nodest_conn = 1: no warning" clean "$TMP/n2.ini"
check "reload: rr, expire_nodest_conn = 0" reload_to "$TMP/n1.ini"
check "... directord set expire_nodest_conn to 0" wait_until 10 sysctl_is expire_nodest_conn 0
check "... both servers at weight 1" wait_gently 10 dests_are "$NS_lb" "$SVC" "$RS1:1 $RS2:1"
# removed GLOBAL TAG: a connection held, its server removed by a reload
# (the file then in $TMP/TAG-less.ini); what the client's next line gets
# in VERDICT, after DT ms.
removed() {
	local addr
	hold "$TMP/$2"
	check "a connection is established, to $HELD" [ -n "$HELD" ]
	case $HELD in
	rs1) conf "$TMP/$2-less.ini" "$1" 'scheduler = rr' "$RS2" ;;
	*) conf "$TMP/$2-less.ini" "$1" 'scheduler = rr' "$RS1" ;;
	esac
	addr=ADDR_$HELD
	check "reload without $HELD" reload_to "$TMP/$2-less.ini"
	check "... $HELD is out of the kernel" wait_gently 10 weight_is "$NS_lb" "$SVC" "${!addr}:80" absent
	t0=$(now_ms)
	VERDICT=$(poke "$TMP/$2")
	DT=$(elapsed_ms "$t0")
}
removed "$G3" h1
check "trap: the connection's data is black-holed: no answer, no error ($VERDICT after $DT ms)" [ "$VERDICT" = stall ]
check "reload: both servers, ipvs_expire_nodest_conn = 1" reload_to "$TMP/n2.ini"
check "... directord set expire_nodest_conn to 1" wait_until 10 sysctl_is expire_nodest_conn 1
check "... both servers at weight 1" wait_gently 10 dests_are "$NS_lb" "$SVC" "$RS1:1 $RS2:1"
removed "${G3/conn = 0/conn = 1}" h2
check "fixed: the connection is reset at once ($VERDICT after $DT ms)" eval '[ "$VERDICT" = reset ] && [ "$DT" -lt 2500 ]'

# ---- what is not configured, and status ----
check "sloppy_sctp, not in the file, is still the 1 set by hand" sysctl_is sloppy_sctp 1
json=$(status_json lb)
check "status --json shows expire_nodest_conn: value 1, configured 1, no error" \
	grep -q '"expire_nodest_conn":{"value":1,"configured":1,"error":null}' <<<"$json"
check "... and sloppy_sctp: value 1, not configured" grep -q '"sloppy_sctp":{"value":1,"configured":null,"error":null}' <<<"$json"
ctl lb status | grep -A1 '^sysctls:' | sed 's/^/    /'
check "no sysctl write failed (log)" not grep -q 'setting net.ipv4.vs' "$TMP/lb.log"
dfinish
