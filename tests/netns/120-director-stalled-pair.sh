#!/usr/bin/env bash
# A stall of the whole machine stops both directors at once. When it ends,
# the backup's Master_Down timer has run out while nobody was watching the
# wire, and the master, stopped too, is about to send its next advert: the
# backup must wait for it instead of taking over (bench/isolation-host.sh
# saw such a takeover, and the master's "split brain" warning, once in
# three runs). Emulated here by SIGSTOP of both VRRP engines for longer
# than Master_Down (361 ms at 100 ms intervals), resumed in both orders.
# A master that stalls alone is still taken over within Master_Down, and
# when it resumes it lets the new master be until its own Master_Down ran
# out, so the connections made meanwhile are synced to it first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
STALLS=${STALLS:-10}
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
dconf "$TMP/d2.ini" d2 "$(vrrp VI_1 eth0 51 100 $VIP/24)"
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100) backup"
follows_d1() { [ "$(field d2 VI_1 master)" = 198.18.0.1 ]; }
check "d2 follows d1" wait_ms 2000 follows_d1
sleep 0.5

e1=$(engine_pid d1) e2=$(engine_pid d2)
t1=$(field d1 VI_1 transitions) t2=$(field d2 VI_1 transitions)
for ((i = 0; i < STALLS; i++)); do
	kill -STOP "$e1" "$e2"
	sleep 0.5
	# The backup first in half the rounds: its timer runs before the
	# master can send.
	if ((i % 2)); then kill -CONT "$e1" "$e2"; else kill -CONT "$e2" "$e1"; fi
	sleep 0.4
done
sleep 0.5
n1=$(($(field d1 VI_1 transitions) - t1)) n2=$(($(field d2 VI_1 transitions) - t2))
deferred=$(field d2 VI_1 takeovers_deferred)
echo "    $STALLS stalls of both engines for 500 ms: transitions d1 $n1, d2 $n2; d2 deferred $deferred takeover(s)"
check "no transition of d1 after $STALLS stalls of both" [ "$n1" = 0 ]
check "no transition of d2 after $STALLS stalls of both" [ "$n2" = 0 ]
check "d2 gave the stalled master one more interval (deferred $deferred >= 1)" [ "${deferred:-0}" -ge 1 ]
check "d1 logs no split brain" not grep -q "split brain" "$TMP/d1.log"
check "d1 still holds the VIP" has_addr "$D1" eth0 $VIP
check "d2 does not" not has_addr "$D2" eth0 $VIP

# The master alone stalls: a real failure, taken over on time.
t_stop=$(now_ms)
kill -STOP "$e1"
check "d2 takes over from the stalled master alone" wait_ms 2000 state_is d2 VI_1 MASTER
dt=$(($(now_ms) - t_stop))
echo "    master stopped -> d2 master seen after $dt ms (Master_Down 361 ms, status polled)"
check "... within Master_Down and one interval of slack ($dt <= 700 ms)" [ "$dt" -le 700 ]
silence=$(field d2 VI_1 takeover_silence_ms)
check "d2 says how long the master was silent ($silence ms, at least Master_Down)" in_range "${silence:-0}" 361 700
# d1 resumes as a master whose adverts are long overdue and hears d2's:
# d2 took over and holds the connections made since, which d1's IPVS never
# learnt. d1 follows it first (as a backup its sync daemon learns them)
# and preempts after its Master_Down (342 ms at 150), not at once.
kill -CONT "$e1"
sleep 0.15
check "150 ms after d1 resumes, d2 is still master (d1 follows it first)" state_is d2 VI_1 MASTER
check "d1 counts the stalled yield" wait_ms 1000 eval '[ "$(field d1 VI_1 stalled_yields)" = 1 ]'
check "... and logs it" grep -q "vrrp VI_1: this engine was stalled and 198.18.0.2 (priority 100) took over meanwhile" "$TMP/d1.log"
check "d1 takes over again after its Master_Down" wait_ms 3000 state_is d1 VI_1 MASTER
check "d2 is backup again" wait_ms 2000 state_is d2 VI_1 BACKUP
dfinish
