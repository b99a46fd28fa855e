#!/usr/bin/env bash
# The parent never waits on an engine: with the LVS engine stuck
# (SIGSTOP) in the middle of a reload, the parent still answers status
# (the VRRP engine's part at once, the stuck one's as not answering after
# its 2 s bound), refuses a second reload as in progress, and the reload
# completes once the engine goes on. Before, the parent sat in the
# reload's wait (up to 30 s for the LVS engine): status, the second
# reload and everything else waited behind it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
two_directors
pair_with_lvs_conf
start_pair VI_1 || { fail "d1 (150) master, d2 (100) backup"; dfinish; }
pass "d1 (150) master, d2 (100) backup"
lvs=$(js d1 "j['lvs_engine']['pid']")
check "d1 runs an LVS engine ($lvs)" [ -n "$lvs" ] && [ "$lvs" != 0 ]

kill -STOP "$lvs"
t0=$(now_ms)
( ctl d1 reload >"$TMP/reload.out" 2>&1; echo "rc=$? at $(($(now_ms) - t0))" >>"$TMP/reload.out" ) &
reloader=$!
sleep 0.5
t1=$(now_ms)
out=$(timeout 8 "$DIRECTORCTL" -s "$(sock_of d1)" status 2>&1); rc=$?
took=$(($(now_ms) - t1))
check "during the stuck reload, status answers (rc $rc) within 4 s (${took} ms)" \
	bash -c "[ $rc = 0 ] && [ $took -lt 4000 ]"
check "... with the VRRP engine's part" grep -q "vrrp VI_1 *MASTER" <<<"$out"
check "... and the stuck LVS engine as not answering" grep -q "lvs engine not answering" <<<"$out"
out=$(timeout 8 "$DIRECTORCTL" -s "$(sock_of d1)" reload 2>&1); rc=$?
check "a second reload meanwhile is refused as in progress (rc $rc)" \
	bash -c "[ $rc != 0 ] && grep -q 'a reload is in progress' <<<'$out'"
check "d2 stays backup: d1's VRRP engine advertises on" state_is d2 VI_1 BACKUP
check "the reload still waits for the stuck engine" kill -0 "$reloader"
kill -CONT "$lvs"
check "the engine goes on: the reload completes" wait_ms 10000 not kill -0 "$reloader"
echo "    reload: $(tr '\n' ' ' <"$TMP/reload.out")"
check "... successfully" grep -q "^rc=0" "$TMP/reload.out"
check "no engine was restarted" js_is d1 "j['lvs_engine']['restarts'], j['vrrp_engine']['restarts']" "(0, 0)"
dfinish
