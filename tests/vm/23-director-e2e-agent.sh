#!/usr/bin/env bash
# End to end, the agent's word and quorum (same setup as 22-*: VRRP VIP on
# the director, VIP:80 rr DR to rs1 and rs2 with rs-agent, check = http,
# agent every 500 ms). `rs-agent drain` on rs2 gives it weight 0 in the
# kernel through the agent check while a long-lived download from rs2 (a
# 2 MiB file read slowly) goes on and completes, and new requests go to
# rs1; `rs-agent ready` restores the weight. Then, reloaded with quorum = 2
# and a sorry server (a third namespace's web server): one real server's
# web server stopped loses quorum, so only the sorry server is in the
# kernel and requests are answered "sorry"; restarted, quorum is back and
# the sorry server leaves.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
VIP=$E2E_VIP SVC=$E2E_SVC RS1=198.18.0.11:80 RS2=198.18.0.12:80 SORRY=198.18.0.13:80
BIG_KB=2048 SLACK=1500
E2E_SORRY=1

e2e_setup "$BIG_KB" || { fail "two real servers with rs-agent and a web server"; dfinish; }
pass "two real servers with rs-agent and a web server"
e2e_director_conf
e2e_director || { fail "the director is master with the VIP and both real servers in the kernel"; dfinish; }
pass "the director is master with the VIP on eth0 and both real servers in the kernel ($(dests_of "$NS_lb" "$SVC"))"

# A download that reads slowly (2 KiB every 50 ms, 8 KiB receive buffer)
# until OUT.fast appears, then reads the rest: OUT gets "from rsN" (the
# file's first line), "progress BYTES" every 0.2 s, "done BYTES LENGTH".
cat >"$TMP/download.py" <<'PY'
import os, socket, sys, time
host, out = sys.argv[1], sys.argv[2]
log = open(out, "w", buffering=1)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.settimeout(20)
try:
    s.connect((host, 80))
    s.sendall(b"GET /big.bin HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(2048)
        if not d:
            raise OSError("closed in the header")
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while b"\n" not in body:
        body += s.recv(2048)
    log.write("from %s\n" % body.split(b"\n")[0].decode().replace("served by ", ""))
    got, report = len(body), time.time()
    while got < length:
        fast = os.path.exists(out + ".fast")
        d = s.recv(65536 if fast else 2048)
        if not d:
            break
        got += len(d)
        if time.time() - report >= 0.2:
            log.write("progress %d\n" % got); report = time.time()
        if not fast:
            time.sleep(0.05)
    log.write("done %d %d\n" % (got, length))
except (OSError, IndexError, ValueError) as e:
    log.write("error %s\n" % e)
PY
dl_bytes() { awk '$1 == "progress" || $1 == "done" { n = $2 } END { print n + 0 }' "$TMP/dl"; }
# Start downloads until one lands on rs2 (rr: the second at the latest).
on=""
for try in 1 2 3 4; do
	rm -f "$TMP/dl" "$TMP/dl.fast"
	bg_in "$NS_cl" "$TMP/dl.log" "$PY" "$TMP/download.py" "$VIP" "$TMP/dl"
	DL_PID=$LAST_PID
	wait_until 20 grep -qE '^(from|error)' "$TMP/dl"
	on=$(awk '$1 == "from" { print $2 }' "$TMP/dl")
	[ "$on" = rs2 ] && break
	kill "$DL_PID" 2>/dev/null
	wait "$DL_PID" 2>/dev/null
done
check "a slow download of big.bin is served by rs2 (try $try)" [ "$on" = rs2 ]
check "... and makes progress" wait_until 10 bash -c "grep -q '^progress' '$TMP/dl'"

out=$(in_ns "$NS_rs2" "$RS_AGENT" -f "$TMP/rs2.ini" drain 2>&1); rc=$?
check "rs-agent drain on rs2 ($out)" [ $rc = 0 ]
t0=$(now_ms)
check "rs2 gets weight 0 in the kernel (through the agent check)" wait_until 10 weight_is "$NS_lb" "$SVC" "$RS2" 0
dt=$(elapsed_ms "$t0") bound=$((2 * 500 + SLACK))
check "... within the agent's interval (500 ms) + one for the phase + ${SLACK} ms slack: $dt <= $bound ms" [ "$dt" -le "$bound" ]
states_are() { [ "$(rs_state lb web "$RS2"):$(rs_field lb web "$RS2" weight):$(rs_state lb web "$RS1")" = "$1" ]; }
check "status shows rs2 drain at weight 0, rs1 up" wait_until 5 states_are drain:0:up
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r1"
check "new requests all go to rs1 ($(replies "$TMP/r1"))" all_are "$TMP/r1" "served by rs1"
b0=$(dl_bytes)
sleep 1
b1=$(dl_bytes)
check "the download from rs2 goes on while rs2 is drained ($b0 -> $b1 bytes)" [ "$b1" -gt "$b0" ]
active=$(dest_of "$NS_lb" "$SVC" "$RS2" | awk '{ print $3 }')
check "IPVS still counts rs2's connection active (ActiveConn $active)" [ "${active:-0}" -ge 1 ]
touch "$TMP/dl.fast"
check "the download completes" wait_until 60 grep -qE '^(done|error)' "$TMP/dl"
set -- $(grep -E '^(done|error)' "$TMP/dl")
size=$((BIG_KB * 1024 + 14))	# and "served by rs2\n"
check "... every byte of it (${2:-?} of ${3:-?}; $BIG_KB KiB and the first line)" [ "${1:-}:${2:-}:${3:-}" = "done:$size:$size" ]
out=$(in_ns "$NS_rs2" "$RS_AGENT" -f "$TMP/rs2.ini" ready 2>&1); rc=$?
check "rs-agent ready on rs2 ($out)" [ $rc = 0 ]
check "rs2 has weight 1 again" wait_until 10 weight_is "$NS_lb" "$SVC" "$RS2" 1
check "status shows rs2 up" wait_until 5 rs_state_is lb web "$RS2" up
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r2"
check "requests alternate again ($(replies "$TMP/r2"))" alternating "$TMP/r2"

# Quorum 2 (the weights of the up servers: 1 + 1) with a sorry server.
dr_real_server "$NS_sorry" "$VIP"
www sorry "$NS_sorry"
check "the sorry server answers on its own address" wait_gently 30 answers "$NS_cl" 198.18.0.13 "served by sorry"
e2e_director_conf "quorum = 2" "sorry_server = $SORRY"
out=$(ctl lb reload 2>&1); rc=$?
check "directorctl reload with quorum = 2 and sorry_server = $SORRY ($out)" [ $rc = 0 ]
sleep 1
check "quorum is met: rs1 and rs2 in the kernel, no sorry server ($(dests_of "$NS_lb" "$SVC"))" \
	dests_are "$NS_lb" "$SVC" "$E2E_BOTH"
www_stop rs1
check "rs1's web server stopped: quorum lost, the sorry server alone in the kernel" \
	wait_until 15 dests_are "$NS_lb" "$SVC" "$SORRY:1"
echo "    $(dests_of "$NS_lb" "$SVC")"
ask_n "$NS_cl" "$VIP" 3 >"$TMP/r3"
check "requests are answered by the sorry server ($(replies "$TMP/r3"))" all_are "$TMP/r3" "served by sorry"
www_start rs1 "$NS_rs1"
check "rs1's web server is back" wait_gently 30 answers "$NS_cl" 198.18.0.11 "served by rs1"
check "quorum regained: rs1 and rs2 in the kernel, the sorry server gone" \
	wait_until 15 dests_are "$NS_lb" "$SVC" "$E2E_BOTH"
ask_n "$NS_cl" "$VIP" 4 >"$TMP/r4"
check "requests alternate between rs1 and rs2 again ($(replies "$TMP/r4"))" alternating "$TMP/r4"
ctl lb status | sed 's/^/    /'
dfinish
