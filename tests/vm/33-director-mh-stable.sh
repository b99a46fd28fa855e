#!/usr/bin/env bash
# Announced services on two directors (director.ini(5), Announced
# services), on the VM's real IPVS: whichever director a flow reaches,
# it goes to the same real server, also when a real server fails.
# Directors lb1 and lb2 run directord with the same announced service
# (announce = yes and nothing else: the defaults give mh with mh-port and
# mh-fallback, inhibit_on_failure, sloppy_tcp), the real servers listed in
# another order on each; the VIP is on their lo by hand (announcing it is
# another part's), and the client sends its flows to one director or the
# other by its route to the VIP. Three real servers answer UDP datagrams
# to VIP:5300 with their name; each is checked by TCP on port 8080 of the
# same process. ipvs_timeout_udp = 1s, so that between two rounds the
# directors forget the flows and pick a server by their table again.
#  1. the kernel lists the destinations in the same order on both
#     directors (the sorted order, newest first); 300 flows (client ports
#     20001-20300, and the model's 8) reach the same real servers through lb1 and through
#     lb2, all three servers used;
#  2. rs2 fails its check: weight 0 on both (inhibit_on_failure, the
#     default); every flow of rs1 and rs3 keeps its server, rs2's go to
#     the others, the same on both; rs2 back: every flow back to its first
#     server;
#  3. reloaded with inhibit_on_failure = no, rs2 fails: removed on both;
#     the two still agree, and what happened to the flows of rs1 and rs3
#     is reported and asserted (the kernel rebuilds mh's table); rs2 back:
#     re-added at the head of the kernel's list on both (they agree);
#     lb2 rebuilt from scratch (service deleted, directord restarted):
#     its list order differs from lb1's, and so do some flows.
#  A model of mh (mh_model.py) predicts every flow of the first round and
#  names the few flows (about 11 of the table's 4093 slots) that removal
#  and the order move; those are sent too, and must move as it says.
#  4. ipvs_sync_mode = both on both directors: each runs a master and a
#     backup sync daemon; a flow through one director appears in the
#     other's connection table with the same real server, both ways.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
ADDR_lb1=198.18.0.2 ADDR_lb2=198.18.0.3 ADDR_rs3=198.18.0.13
VIP=198.18.0.100 PORT=5300 SVC="-u 198.18.0.100:5300"
RS1=$ADDR_rs1:$PORT RS2=$ADDR_rs2:$PORT RS3=$ADDR_rs3:$PORT
FLOWS=300

lan cl lb1 lb2 rs1 rs2 rs3
for lb in lb1 lb2; do
	ns=NS_$lb
	ip -n "${!ns}" addr add "$VIP/32" dev lo
done

# who.py NAME VIP PORT: answers every datagram to VIP:PORT with NAME, and
# accepts (and closes) TCP connections on 8080 for the director's check.
cat >"$TMP/who.py" <<'PY'
import socket, sys, threading
name, vip, port = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])
def check():
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", 8080))
    t.listen(64)
    while True:
        c, _ = t.accept()
        c.close()
threading.Thread(target=check, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((vip, port))
while True:
    _, peer = u.recvfrom(100)
    u.sendto(name, peer)
PY
who_start() {
	local ns=NS_$1
	bg_in "${!ns}" "$TMP/who-$1.log" "$PY" "$TMP/who.py" "$1" "$VIP" "$PORT"
	printf -v "WHO_PID_$1" '%s' "$LAST_PID"
	disown "$LAST_PID"
}
who_stop() {
	local var="WHO_PID_$1"
	kill -KILL "${!var}" 2>/dev/null
	wait_until 5 not kill -0 "${!var}"
}
for rs in rs1 rs2 rs3; do
	ns=NS_$rs
	dr_real_server "${!ns}" "$VIP"
	who_start "$rs"
done

# flows.py PORTS VIP PORT: one datagram from each client port in the file
# PORTS to VIP:PORT, "PORT NAME" a line (NAME "none" without an answer in
# 1 s).
cat >"$TMP/flows.py" <<'PY'
import socket, sys
ports, vip, port = [int(l) for l in open(sys.argv[1])], sys.argv[2], int(sys.argv[3])
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p))
    s.settimeout(1)
    s.sendto(b"who", (vip, port))
    try:
        name = s.recvfrom(100)[0].decode() or "empty"
    except OSError:
        name = "none"
    print(p, name)
    s.close()
PY
# round VIA OUT: the flows sent through director VIA (the client's route
# to the VIP), after the directors forgot the last round's (UDP timeout 1
# s: 2.5 s of quiet).
round() {
	local via=ADDR_$1
	ip -n "$NS_cl" route replace "$VIP/32" via "${!via}" dev eth0
	sleep 2.5
	in_ns "$NS_cl" timeout 120 "$PY" "$TMP/flows.py" "$TMP/ports" "$VIP" "$PORT" >"$2"
}
answered() { [ "$(awk '$2 != "none"' "$1" | wc -l)" = "$(wc -l <"$TMP/ports")" ]; }	# every flow answered
spread() { awk '{ n[$2]++ } END { for (k in n) printf "%s%s:%d", (s++ ? " " : ""), k, n[k] }' "$1" | tr ' ' '\n' | sort | paste -sd' '; }
# moved A B [NAME...]: the flows whose server in A (one of NAMEs, or any)
# differs in B, counted.
moved() {
	local a=$1 b=$2; shift 2
	awk -v names=" $* " 'NR == FNR { s[$1] = $2; next } (names == "  " || index(names, " " s[$1] " ")) && s[$1] != $2 { n++ } END { print n + 0 }' "$a" "$b"
}
# kernel_order NS: the destinations as the kernel lists them (its list's
# order, which mh builds its table from), "ADDR:PORT:WEIGHT" joined.
kernel_order() {
	# shellcheck disable=SC2086
	in_ns "$1" ipvsadm -L -n --nosort $SVC 2>/dev/null | awk '$1 == "->" && $2 != "RemoteAddress:Port" { print $2 ":" $4 }' | paste -sd' '
}

# The model of mh (tests/vm/mh_model.py): which server a flow gets for a
# list of destinations in the kernel's order; checked against the first
# round, then used to find the few flows (of 4093 slots, about 11 differ)
# that show what the kernel does when the list changes: W_REMOVAL, flows
# of rs1 and rs3 that removing rs2 moves; W_ORDER, flows whose server
# depends on the order of the list (rs2 re-added at its head).
MODEL=$(dirname "$0")/mh_model.py
CANON=$RS3,$RS2,$RS1
name_of() { sed "s/$RS1/rs1/; s/$RS2/rs2/; s/$RS3/rs3/"; }
seq 20001 $((20000 + FLOWS)) >"$TMP/ports"
"$PY" "$MODEL" differ "$ADDR_cl" "$CANON" "$RS3,$RS1" 20001 4 "$RS2" | name_of >"$TMP/w_removal"
"$PY" "$MODEL" differ "$ADDR_cl" "$CANON" "$RS2,$RS3,$RS1" 20001 4 | name_of >"$TMP/w_order"
cut -d' ' -f1 "$TMP/w_removal" "$TMP/w_order" >>"$TMP/ports"
# shellcheck disable=SC2046
"$PY" "$MODEL" map "$ADDR_cl" "$CANON" $(cat "$TMP/ports") | name_of >"$TMP/model"
check "the model finds 4 flows that removal moves ($(paste -sd, "$TMP/w_removal")) and 4 that the order moves ($(paste -sd, "$TMP/w_order"))" \
	eval '[ "$(wc -l <"$TMP/w_removal")" = 4 ] && [ "$(wc -l <"$TMP/w_order")" = 4 ]'
# of FILE WITNESSES: FILE's lines for the witness flows only.
of() { awk 'NR == FNR { w[$1] = 1; next } $1 in w' "$2" "$1"; }
# as_predicted FILE WITNESSES COLUMN: each witness flow went to the server
# the model gives in COLUMN (2: before the change, 3: after).
as_predicted() { [ "$(of "$1" "$2" | paste -sd' ')" = "$(awk -v c="$3" '{ print $1, $c }' "$2" | paste -sd' ')" ]; }

# conf LB ORDER [LINES...]: director.ini of LB, the real servers in ORDER,
# LINES added to the service; [global] gets $GLOBAL_LINES too.
GLOBAL_LINES="ipvs_timeout_udp = 1s"
conf() {
	local lb=$1 order=$2; shift 2
	dconf "$TMP/$lb.ini" "$lb" "$GLOBAL_LINES" "ipvs_expire_nodest_conn = 1" "
[virtual_server dns]
address = $VIP:$PORT
protocol = udp
announce = yes
check = tcp
check_port = 8080
check_interval = 500ms
check_timeout = 500ms
check_rise = 1
check_fall = 2
real_servers = $order" "$@"
}
conf lb1 "$RS1, $RS2, $RS3"
conf lb2 "$RS3, $RS1, $RS2"
out=$("$DIRECTORD" -t -v -f "$TMP/lb1.ini" 2>&1)
check "directord -t -v: announce = yes fills in mh with mh-port and mh-fallback, inhibit_on_failure and sloppy_tcp, without a warning" \
	eval 'grep -q "^scheduler = mh$" <<<"$out" && grep -q "^scheduler_flags = flag-1, flag-2$" <<<"$out" &&
		grep -q "^inhibit_on_failure = yes$" <<<"$out" && grep -q "^ipvs_sloppy_tcp = 1$" <<<"$out" && ! grep -q warning <<<"$out"'

ALL3="$RS1:1 $RS2:1 $RS3:1"
for lb in lb1 lb2; do
	ns=NS_$lb
	start_dir "${!ns}" "$lb" "$TMP/$lb.ini" || { fail "directord $lb starts"; dfinish; }
done
for lb in lb1 lb2; do
	ns=NS_$lb
	check "$lb: the three real servers at weight 1" wait_gently 20 dests_are "${!ns}" "$SVC" "$ALL3"
done
svc_line() { ipvs_save "$1" | grep -- "-u $VIP:$PORT" | grep -- "-s mh"; }
check "both: the service is mh with mh-fallback and mh-port ($(svc_line "$NS_lb1"))" \
	eval 'svc_line "$NS_lb1" | grep -Eq "mh-fallback,mh-port|flag-1,flag-2" && svc_line "$NS_lb2" | grep -Eq "mh-fallback,mh-port|flag-1,flag-2"'
check "both: sloppy_tcp written (1)" eval '[ "$(in_ns "$NS_lb1" cat /proc/sys/net/ipv4/vs/sloppy_tcp)$(in_ns "$NS_lb2" cat /proc/sys/net/ipv4/vs/sloppy_tcp)" = 11 ]'
o1=$(kernel_order "$NS_lb1") o2=$(kernel_order "$NS_lb2")
check "the kernel lists the destinations in one order on both, though the files differ (lb1: $o1; lb2: $o2)" [ "$o1" = "$o2" ]
check "... added sorted, listed newest first" [ "$o1" = "$RS3:1 $RS2:1 $RS1:1" ]

# ---- 1. the same flows, the same servers ----
round lb1 "$TMP/a1"
round lb2 "$TMP/b1"
check "$(wc -l <"$TMP/ports") flows through lb1 all answered ($(spread "$TMP/a1"))" answered "$TMP/a1"
check "... through lb2 too ($(spread "$TMP/b1"))" answered "$TMP/b1"
check "... each flow to the same real server through either director ($(moved "$TMP/a1" "$TMP/b1") differ)" \
	[ "$(moved "$TMP/a1" "$TMP/b1")" = 0 ]
check "... all three servers used" [ "$(awk '{ print $2 }' "$TMP/a1" | sort -u | paste -sd,)" = rs1,rs2,rs3 ]
check "... every flow to the server that the model of ip_vs_mh.c gives ($(moved "$TMP/model" "$TMP/a1") differ)" [ "$(moved "$TMP/model" "$TMP/a1")" = 0 ]

# ---- 2. a failed server at weight 0 ----
who_stop rs2
for lb in lb1 lb2; do
	ns=NS_$lb
	check "rs2 fails its check: weight 0 on $lb (inhibit_on_failure, the default)" \
		wait_gently 15 weight_is "${!ns}" "$SVC" "$RS2" 0
done
o1=$(kernel_order "$NS_lb1")
check "... the kernel's list order unchanged ($o1)" [ "${o1//:0/:1}" = "$o2" ]
round lb1 "$TMP/a2"
round lb2 "$TMP/b2"
check "every flow answered through lb1 ($(spread "$TMP/a2")) and lb2 ($(spread "$TMP/b2"))" \
	eval 'answered "$TMP/a2" && answered "$TMP/b2"'
check "... the same server through either director ($(moved "$TMP/a2" "$TMP/b2") differ)" [ "$(moved "$TMP/a2" "$TMP/b2")" = 0 ]
check "... every flow of rs1 and rs3 kept its server ($(moved "$TMP/a1" "$TMP/a2" rs1 rs3) moved)" \
	[ "$(moved "$TMP/a1" "$TMP/a2" rs1 rs3)" = 0 ]
check "... rs2's flows went to the others (mh-fallback): $(moved "$TMP/a1" "$TMP/a2" rs2) of $(grep -c ' rs2$' "$TMP/a1")" \
	eval '[ "$(grep -c " rs2$" "$TMP/a2")" = 0 ]'
check "... among them the flows that removal would move ($(of "$TMP/a2" "$TMP/w_removal" | paste -sd,))" \
	as_predicted "$TMP/a2" "$TMP/w_removal" 2
who_start rs2
for lb in lb1 lb2; do
	ns=NS_$lb
	check "rs2 passes again: weight 1 on $lb" wait_gently 15 weight_is "${!ns}" "$SVC" "$RS2" 1
done
round lb1 "$TMP/a3"
check "every flow back to its first server ($(moved "$TMP/a1" "$TMP/a3") differ)" \
	eval 'answered "$TMP/a3" && [ "$(moved "$TMP/a1" "$TMP/a3")" = 0 ]'

# ---- 3. a failed server removed ----
conf lb1 "$RS1, $RS2, $RS3" "inhibit_on_failure = no"
conf lb2 "$RS3, $RS1, $RS2" "inhibit_on_failure = no"
for lb in lb1 lb2; do
	check "$lb reloaded with inhibit_on_failure = no" eval '[ "$(ctl $lb reload 2>&1)" = "configuration reloaded" ]'
	check "... directord logged the warning about it" \
		wait_until 5 grep -q "$lb.ini:[0-9]*: virtual_server dns.inhibit_on_failure: warning: announced" "$TMP/$lb.log"
done
who_stop rs2
for lb in lb1 lb2; do
	ns=NS_$lb
	check "rs2 fails its check: removed on $lb" wait_gently 15 weight_is "${!ns}" "$SVC" "$RS2" absent
done
round lb1 "$TMP/a4"
round lb2 "$TMP/b4"
check "every flow answered through lb1 ($(spread "$TMP/a4")) and lb2 ($(spread "$TMP/b4"))" \
	eval 'answered "$TMP/a4" && answered "$TMP/b4"'
check "... the same server through either director (both removed it: $(moved "$TMP/a4" "$TMP/b4") differ)" \
	[ "$(moved "$TMP/a4" "$TMP/b4")" = 0 ]
kept_moved=$(moved "$TMP/a1" "$TMP/a4" rs1 rs3)
n13=$(grep -cE ' rs[13]$' "$TMP/a1")
check "... the kernel rebuilt mh's table without rs2: the flows of rs1 and rs3 that the model says moved as it says ($(of "$TMP/a4" "$TMP/w_removal" | paste -sd,))" \
	as_predicted "$TMP/a4" "$TMP/w_removal" 3
check "... and only those: $kept_moved of the $n13 flows of rs1 and rs3 changed server (weight 0: none)" \
	[ "$kept_moved" = "$(wc -l <"$TMP/w_removal")" ]
who_start rs2
for lb in lb1 lb2; do
	ns=NS_$lb
	check "rs2 passes again: re-added on $lb" wait_gently 15 weight_is "${!ns}" "$SVC" "$RS2" 1
done
o1=$(kernel_order "$NS_lb1") o2=$(kernel_order "$NS_lb2")
check "... at the head of the kernel's list on both ($o1)" eval '[ "$o1" = "$o2" ] && [ "${o1%% *}" = "$RS2:1" ]'
round lb1 "$TMP/a5"
round lb2 "$TMP/b5"
check "... both agree again ($(moved "$TMP/a5" "$TMP/b5") differ; $(moved "$TMP/a1" "$TMP/a5") flows differ from the first round)" \
	eval 'answered "$TMP/a5" && [ "$(moved "$TMP/a5" "$TMP/b5")" = 0 ]'
# lb2 starts from scratch, as a director that never saw rs2 fail.
# (with inhibit_on_failure = no a server enters the table when its first
# check passes, in the order they pass: the defaults add them all at once)
stop_dir lb2
in_ns "$NS_lb2" ipvsadm -D $SVC
conf lb2 "$RS3, $RS1, $RS2"
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord lb2 starts again"; dfinish; }
check "lb2 rebuilt: the three real servers at weight 1" wait_gently 20 dests_are "$NS_lb2" "$SVC" "$ALL3"
o2=$(kernel_order "$NS_lb2")
check "... its list is in the sorted order again, lb1's is not (lb1: $o1; lb2: $o2)" \
	eval '[ "$o2" = "$RS3:1 $RS2:1 $RS1:1" ] && [ "$o1" != "$o2" ]'
round lb1 "$TMP/a6"
round lb2 "$TMP/b6"
differ=$(moved "$TMP/a6" "$TMP/b6")
check "... lists in different orders: the directors send the flows the model names to different servers (lb1: $(of "$TMP/a6" "$TMP/w_order" | paste -sd,); lb2: $(of "$TMP/b6" "$TMP/w_order" | paste -sd,))" \
	eval 'as_predicted "$TMP/a6" "$TMP/w_order" 3 && as_predicted "$TMP/b6" "$TMP/w_order" 2'
check "... and only those ($differ of $(wc -l <"$TMP/ports") flows differ)" [ "$differ" = "$(wc -l <"$TMP/w_order")" ]
check "... flows answered through both ($(spread "$TMP/a6") / $(spread "$TMP/b6"))" \
	eval 'answered "$TMP/a6" && answered "$TMP/b6"'
check "... and lb2 maps them as in the first round ($(moved "$TMP/a1" "$TMP/b6") differ)" [ "$(moved "$TMP/a1" "$TMP/b6")" = 0 ]

# ---- 4. connection sync among directors that are all active ----
# Both directors run a master and a backup sync daemon (ipvs_sync_mode =
# both): a flow through one is known to the other, with its real server.
# UDP entries are synced at their third datagram; timeouts of 30 s so that
# the synced entry is there to be seen.
GLOBAL_LINES=$'ipvs_timeout_udp = 30s\nipvs_sync_interface = eth0\nipvs_sync_mode = both'
conf lb1 "$RS1, $RS2, $RS3"
conf lb2 "$RS3, $RS1, $RS2"
daemons() { in_ns "$1" ipvsadm -L -n --daemon 2>/dev/null | awk '{ print $1 }' | sort | paste -sd,; }
for lb in lb1 lb2; do
	ns=NS_$lb
	check "$lb reloaded with ipvs_sync_mode = both" eval '[ "$(ctl $lb reload 2>&1)" = "configuration reloaded" ]'
	check "... the kernel runs a master and a backup sync daemon ($(daemons "${!ns}"))" \
		wait_gently 10 eval '[ "$(daemons "${!ns}")" = backup,master ]'
	check "... status: wanted master and backup, in step" \
		eval 'ctl $lb status | grep -q "sync daemon: wanted master and backup (ipvs_sync_mode = both)" &&
			[ "$(jfield "$(status_json $lb)" "\"sync_daemon\":" in_step)" = true ]'
done
# talk VIA CPORT: five datagrams of one flow (client port CPORT) through
# director VIA; the server that answered.
cat >"$TMP/talk.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(1)
names = set()
for _ in range(5):
    s.sendto(b"who", (sys.argv[2], int(sys.argv[3])))
    try:
        names.add(s.recvfrom(100)[0].decode())
    except OSError:
        names.add("none")
print(",".join(sorted(names)))
PY
talk() {
	local via=ADDR_$1
	ip -n "$NS_cl" route replace "$VIP/32" via "${!via}" dev eth0
	in_ns "$NS_cl" timeout 30 "$PY" "$TMP/talk.py" "$2" "$VIP" "$PORT"
}
# entry NS CPORT: the real server of the connection entry of that flow.
entry() { in_ns "$1" ipvsadm -L -c -n 2>/dev/null | awk -v c="$ADDR_cl:$2" '$4 == c { print $6; exit }'; }
for pair in "lb1 lb2 30001" "lb2 lb1 30002"; do
	read -r from to cport <<<"$pair"
	got=$(talk "$from" "$cport")
	addr=ADDR_$got
	check "a flow through $from (client port $cport) goes to $got" [ -n "${!addr:-}" ]
	ns=NS_$to
	synced() { [ "$(entry "${!ns}" "$cport")" = "${!addr}:$PORT" ]; }
	wait_gently 15 synced
	check "... $to, which never saw it, learns it from $from's sync daemon, with its real server ($(entry "${!ns}" "$cport"))" synced
done
dfinish
