#!/usr/bin/env bash
# directord's IPVS layer (director/lvs/ipvs.c and the reconciler) against the
# VM's real kernel, through tests/vmtools/ipvs-probe: a cold sync creates
# what is asked and reads back exactly (checked with ipvsadm); a second
# sync sends nothing; one changed weight is one operation; a service of
# someone else's is left alone; failures inside a batch are reported per
# request; the kernel's refusal of an unknown scheduler comes back in words;
# a request the kernel never answers (stopping a sync daemon whose thread
# has not run yet: the handler returns EINTR and netlink acknowledges no
# EINTR) fails after its bound instead of hanging the caller, and the
# socket goes on serving requests.
. "$(dirname "$0")/lib.sh"

need_ipvs
PROBE=$BUILD/tools/ipvs-probe
ns_new lb
NS=$NS_lb
probe() { in_ns "$NS" "$PROBE" "$@"; }

in_ns "$NS" ipvsadm -A -t 192.0.2.200:443 -s rr
in_ns "$NS" ipvsadm -a -t 192.0.2.200:443 -r 192.0.2.201:443 -g -w 7

out=$(probe sync 100 4); rc=$?
check "cold sync of 100 services x 4 destinations: 500 operations, none failed ($out)" \
	[ "$rc:$out" = "0:ops=500 failed=0" ]
check "ipvsadm sees 101 services (ours and the foreign one)" \
	[ "$(in_ns "$NS" ipvsadm -L -n | grep -c '^TCP')" = 101 ]
check "... and 401 destinations, ours all DR with weight 1" \
	bash -c "[ \"\$(ip netns exec $NS ipvsadm -L -n | grep -c -- '->.*Route *1 ')\" = 400 ] && [ \"\$(ip netns exec $NS ipvsadm -L -n | grep -c -- '-> [0-9]')\" = 401 ]"
check "a service reads back as configured (wlc, 198.19.3.5:80 among its destinations)" \
	bash -c "ip netns exec $NS ipvsadm -L -n -t 198.18.0.5:80 | grep -q 'wlc' && ip netns exec $NS ipvsadm -L -n -t 198.18.0.5:80 | grep -q '198.19.3.5:80 *Route *1'"
check "ipvs-probe's own dump agrees with ipvsadm (101 services, 401 destinations)" \
	bash -c "[ \"\$(ip netns exec $NS $PROBE dump | grep -c '^TCP')\" = 101 ] && [ \"\$(ip netns exec $NS $PROBE dump | grep -c -- '->')\" = 401 ]"

out=$(probe sync 100 4); rc=$?
check "second sync: nothing to send ($out)" [ "$rc:$out" = "0:ops=0 failed=0" ]
out=$(probe sync 100 4 37 2 0); rc=$?
check "one destination drained (weight 0): one operation ($out)" [ "$rc:$out" = "0:ops=1 failed=0" ]
check "... the kernel has weight 0 for it" \
	bash -c "ip netns exec $NS ipvsadm -L -n -t 198.18.0.38:80 | grep -q '198.19.2.38:80 *Route *0 '"
check "the foreign service is untouched (weight 7 still)" \
	bash -c "ip netns exec $NS ipvsadm -L -n -t 192.0.2.200:443 | grep -q '192.0.2.201:443 *Route *7 '"

out=$(probe batch-errors)
check "a batch reports each request's own result and goes on after failures; the socket then still serves a request and a dump ($out)" \
	[ "$out" = "failed=2 0:ok 1:EEXIST 2:ESRCH 3:ok 4:ok then add=ok dump=ok" ]
check "... the requests after the failures were carried out" \
	bash -c "ip netns exec $NS ipvsadm -L -n -t 192.0.2.91:82 | grep -q '192.0.2.191:81 *Route *1 '"
out=$(probe add-service nosuch 2>&1)
check "an unknown scheduler is refused, in words ($out)" grep -q 'no such scheduler' <<<"$out"
out=$(probe add-service mh 2>&1)
check "a scheduler by name (mh) is accepted ($out)" [ "$out" = added ]
out=$(probe add-service mh 2>&1)
check "adding it again reports it exists ($out)" [ "$out" = "already exists" ]

# The LVS engine was seen waiting forever on such a stop (a VRRP flip
# BACKUP -> MASTER -> BACKUP within a second). The probe runs SCHED_FIFO on
# this one-CPU VM, so each stop reaches the kernel before the daemon's
# thread first runs. Before the bound existed, the first stop never returned.
in_ns "$NS" ip link add sy0 type veth peer name sy1
in_ns "$NS" ip addr add 192.0.2.250/24 dev sy0
in_ns "$NS" ip link set sy0 up
in_ns "$NS" ip link set sy1 up
start=$(date +%s)
out=$(timeout 120 ip netns exec "$NS" "$PROBE" daemon-flap 6 sy0 2>&1); rc=$?
took=$(( $(date +%s) - start ))
check "six sync daemons started and stopped at once: the probe returns (rc $rc, ${took}s: $out)" [ "$rc" = 0 ]
check "... every start succeeded and every stop either succeeded or ran out of time, never hung" \
	bash -c "[ \"\$(grep -o 'start=ok stop=\(ok\|ETIMEDOUT\)' <<<'$out' | wc -l)\" = 6 ]"
check "... the kernel left at least one stop unanswered, so the bound was what ended it" \
	grep -q 'stop=ETIMEDOUT' <<<"$out"
check "... then the same handle serves a dump on its new socket, and no daemon runs" \
	grep -q 'then running=0 dump=ok$' <<<"$out"
check "... ipvsadm agrees: no sync daemon" bash -c "[ -z \"\$(ip netns exec $NS ipvsadm -L --daemon)\" ]"
finish
