#!/usr/bin/env bash
# A tracked script's weight moves mastership: d2 (100) tracks a script of
# weight 60; while it succeeds d2 runs at 160 and takes over from d1
# (150); when it fails again d2 drops to 100 and d1 takes the VIP back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

VIP=198.18.0.100
FLAG=$TMP/flag
two_directors
dconf "$TMP/d1.ini" d1 "$(vrrp VI_1 eth0 51 150 $VIP/24)"
dconf "$TMP/d2.ini" d2 "[track_script chk]" "command = test -e $FLAG" "interval = 100ms" "weight = 60" \
	"$(vrrp VI_1 eth0 51 100 $VIP/24 "track_script = chk")"
start_pair VI_1 || { fail "d1 (150) becomes master, d2 (100, script failing) backup"; dfinish; }
pass "d1 (150) becomes master, d2 (100, script failing) backup"
check "d2's script reports failure" wait_ms 2000 js_is d2 "T['chk']['result']" failure
check "d2's effective priority is its base, 100" js_is d2 "I['vi_1']['effective_priority'], I['vi_1']['base_priority']" "(100, 100)"
sampler "$TMP/samples" $VIP "$D1" "$D2"

touch "$FLAG"
check "flag created: the script succeeds" wait_ms 2000 js_is d2 "T['chk']['result']" success
check "d2's effective priority becomes 160" wait_ms 1000 js_is d2 "I['vi_1']['effective_priority']" 160
check "d2 (160) takes over from d1 (150)" wait_ms 2000 state_is d2 VI_1 MASTER
check "d1 becomes backup" wait_ms 2000 state_is d1 VI_1 BACKUP
t_conv1=$(now_ms)
check "d1 follows d2 at 160" js_is d1 "I['vi_1']['master'], I['vi_1']['master_priority']" "('198.18.0.2', 160)"
sleep 0.5

t_rm=$(now_ms)
rm -f "$FLAG"
check "flag removed: the script fails" wait_ms 2000 js_is d2 "T['chk']['result']" failure
check "d2's effective priority is 100 again" wait_ms 1000 js_is d2 "I['vi_1']['effective_priority']" 100
check "d1 (150) takes mastership back" wait_ms 2000 state_is d1 VI_1 MASTER
check "d2 becomes backup" wait_ms 2000 state_is d2 VI_1 BACKUP
t_conv2=$(now_ms)
sleep 0.5
stop_sampler "$SAMPLER_PID"
check "while d2 ran at 160 only d2 held the VIP" always "$TMP/samples" "$t_conv1" "$t_rm" "0 1"
check "after the script failed only d1 holds it" always "$TMP/samples" "$t_conv2" end "1 0"
ov=$(overlap_ms "$TMP/samples")
check "never two holders in consecutive samples (longest overlap seen: $ov ms)" [ "$ov" -le 0 ]
check "the script ran as often as its interval says (>= 10 runs)" [ "$(js d2 "T['chk']['runs']")" -ge 10 ]
dfinish
