#!/usr/bin/env bash
# `run -d` returns once the daemon is ready (and fails visibly when it
# cannot start); under systemd the daemon reports READY=1, RELOADING=1 and
# STOPPING=1 on $NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10" "[agent]" "listen = 127.0.0.1:5555" "allow = 127.0.0.1"

out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" -d run 2>&1); rc=$?
check "run -d returns 0 once the daemon is ready" [ $rc = 0 ]
pid=$(cat "$TMP/rs/rs-agent.pid" 2>/dev/null)
check "pid file names a running daemon" bash -c "[ -n '$pid' ] && kill -0 '$pid'"
BG_PIDS+=("$pid")
check "the detached daemon answers" bash -c "[ \"\$(ip netns exec $NS $TOOLS/tcpquery 127.0.0.1 5555)\" = 'up ready' ]"
check "the detached daemon has no terminal (own session)" [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
stop_agent "$pid"
check "SIGTERM stops it" bash -c "! kill -0 $pid 2>/dev/null"

# The agent port taken: start-up fails, and run -d says so.
bg_in "$NS" "$TMP/blocker.log" python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",5555)); s.listen(); time.sleep(60)'
wait_until 5 bash -c "ip netns exec $NS ss -ltn | grep -q 127.0.0.1:5555"
out=$(in_ns "$NS" "$RS_AGENT" -f "$conf" -d run 2>&1); rc=$?
check "run -d exits 1 when start-up fails" [ $rc = 1 ]
check "and says why" grep -q 'agent port' <<<"$out"
kill "$LAST_PID" 2>/dev/null; wait "$LAST_PID" 2>/dev/null

# sd_notify without libsystemd.
notify=$TMP/notify.sock
cat >"$TMP/notify.py" <<'PY'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
s.settimeout(30)
with open(out, "a", buffering=1) as f:
    while True:
        try:
            f.write(s.recv(4096).decode() + "\n")
        except socket.timeout:
            break
PY
bg_in "$NS" "$TMP/notify.log" python3 "$TMP/notify.py" "$notify" "$TMP/notify.out"
wait_until 5 test -S "$notify"
NOTIFY_SOCKET=$notify bg_in "$NS" "$TMP/agent.log" "$RS_AGENT" -f "$conf" run
AGENT_PID=$LAST_PID
check "READY=1 after start-up" wait_until 5 grep -qx 'READY=1' "$TMP/notify.out"
kill -HUP "$AGENT_PID"
check "RELOADING=1 on SIGHUP" wait_until 5 grep -qx 'RELOADING=1' "$TMP/notify.out"
check "READY=1 again after the reload" wait_until 5 bash -c "[ \$(grep -cx 'READY=1' $TMP/notify.out) -ge 2 ]"
stop_agent "$AGENT_PID"
check "STOPPING=1 on SIGTERM" wait_until 5 grep -qx 'STOPPING=1' "$TMP/notify.out"
finish
