#!/usr/bin/env bash
# The VRRP engine of the master dies (SIGKILL, the parent survives): the
# backup takes over, the parent starts a new engine, which removes the VIP
# the dead one left, comes up as backup and preempts again, leaving
# exactly one holder of the VIP. The new engine starts clean: it holds
# none of the parent's descriptors (a control client connected across
# the restart gets its answer and the end of the connection at once).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
MASTER_DOWN=361
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
capture "$TMP/wire" 'vrrp or arp' || { fail "tcpdump listens on the bridge"; dfinish; }
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup"

eng=$(engine_pid d1)
check "the engine is the parent's child and status names it (pid ${eng:-none})" \
	[ "$(js d1 "j['vrrp_engine']['pid'], j['vrrp_engine']['restarts']")" = "(${eng:-none}, 0)" ]
d2_before=$(field d2 VI_1 transitions)
fds_before=$(ls /proc/"$eng"/fd | wc -l)

# A control client connected while the parent starts the new engine: it
# asks once the engine is back and must get its reply and the end of the
# connection at once (the parent closes it after replying; a copy of the
# connection kept open elsewhere would hold the client until it times out).
cat >"$TMP/client.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print("connected", flush=True)
time.sleep(0.6)
s.sendall(b"status\n")
s.settimeout(3)
t, n = time.time(), 0
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        n += len(d)
    print("EOF after %.0f ms, %d bytes" % ((time.time() - t) * 1000, n))
except socket.timeout:
    print("no EOF within 3000 ms, %d bytes" % n)
PY
"$PY" "$TMP/client.py" "$(sock_of d1)" >"$TMP/client.out" 2>&1 &
client=$!
BG_PIDS+=("$client")
wait_until 5 grep -q connected "$TMP/client.out"

sampler "$TMP/samples" $VIP "$D1" "$D2"
sleep 0.2
t_kill=$(now_ms)
kill -KILL "$eng"
check "the parent survives" kill -0 "$PID_d1"
# Ask the parent only once its restart backoff (100 ms) is over.
sleep 0.4
check "the parent started a new engine (restarts 1)" js_is d1 "j['vrrp_engine']['restarts']" 1
new=$(engine_pid d1)
check "the new engine is another process (${new:-none})" [ "${new:-$eng}" != "$eng" ]
check "the parent logs the crash and the restart" \
	bash -c "grep -q 'vrrp engine (pid $eng) killed by signal 9' '$TMP/d1.log' && grep -q 'restarting the vrrp engine' '$TMP/d1.log'"
wait "$client"
echo "    control client connected across the restart: $(tail -1 "$TMP/client.out")"
check "a control connection open across the restart is answered and closed at once" \
	grep -qE '^EOF after [0-9]{1,3} ms' "$TMP/client.out"
check "d1 converges back to master (preempt)" wait_ms 3000 state_is d1 VI_1 MASTER
check "d2 converges back to backup" wait_ms 2000 state_is d2 VI_1 BACKUP
t_conv=$(now_ms)
# Counted once the new engine is master as the first one was: a master
# keeps a socket open for its announcements.
fds_after=$(ls /proc/"${new:-0}"/fd 2>/dev/null | wc -l)
echo "    descriptors: old engine $fds_before, new engine $fds_after"
check "the new engine inherited no descriptor of the parent's (as many as the first engine: $fds_after = $fds_before)" \
	[ "$fds_after" = "$fds_before" ]
sleep 0.5
stop_sampler "$SAMPLER_PID"
stop_capture

# d2 took over meanwhile: it advertised as master after the crash.
t_new=$(first_pkt "$TMP/wire" "$(re_advert 198.18.0.2 51 100)" "$t_kill")
t_last=$(last_pkt_before "$TMP/wire" "$(re_advert 198.18.0.1 51 150)" "${t_new:-0}")
dt=$(sub_ms "$t_new" "$t_last")
echo "    d1's last advert -> d2's first: ${dt:-none} ms (Master_Down_Interval $MASTER_DOWN)"
check "d2 took over one Master_Down_Interval after the dead engine's last advert ($MASTER_DOWN <= ${dt:-none} <= $((MASTER_DOWN + 100)) ms)" \
	in_range "$dt" $((MASTER_DOWN - 1)) $((MASTER_DOWN + 100))
check "d2 announced the VIP" [ -n "$(first_pkt "$TMP/wire" "$(re_garp $MAC2 $VIP)" "$t_kill")" ]
check "d2 went master and back: 2 more transitions" [ "$(field d2 VI_1 transitions)" = $((d2_before + 2)) ]
check "the new engine removed the dead one's VIP (samples with d2 alone)" \
	[ "$(count_samples "$TMP/samples" "$t_kill" "0 1")" -gt 0 ]
check "after convergence only d1 holds the VIP" always "$TMP/samples" "$t_conv" end "1 0"
ov=$(overlap_ms "$TMP/samples")
check "never two holders in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]
dfinish
