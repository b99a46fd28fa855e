#!/usr/bin/env bash
# Active-active directors against a VRRP pair, measured in the same run
# (issue 12): runs tests/vm/31-director-active-active.sh in the VM of
# tests/vm with AA_COMPARE_VRRP=1, RUNS times, and writes
# bench/results-aa.md: per run, the share of new connections per director
# over CONNS connections (target: each within 10 % of an equal share),
# and for a director killed (SIGKILL of directord and its routing daemon)
# and a director's link cut, the connections broken (target 0) and the
# longest wait of a byte for its echo among them, against the same for a
# VRRP pair (d1 master, d2 backup, IPVS sync, VRRP every 1 s) with the same
# client and real servers, and the time the router took to drop the
# director (BGP, BFD 100 ms x 3) against the VRRP takeover time.
#
#   bench/aa.sh [BUILD]        (root)
#
# Settings (environment): RUNS [1]; RESULTS [bench/results-aa.md];
# VM_TIMEOUT [1500] s a run; AA_BY_HAND [0]: 1 runs the lab without
# directord's announcer (IPVS and the routes made by hand, see the test);
# AA_CONNS [300]. It asserts nothing; it exits non-zero only when a run
# could not be made or its test failed (the numbers are still written).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "bench: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (qemu, namespaces in the VM)"; exit 1; }
RUNS=${RUNS:-1}
RESULTS=${RESULTS:-$HERE/results-aa.md}
VMT=${VM_TIMEOUT:-1500}
BY_HAND=${AA_BY_HAND:-0}
CONNS=${AA_CONNS:-300}
out=$(mktemp -d /tmp/dsrkit-bench-aa.XXXXXX)
trap 'rm -rf "$out"' EXIT
status=0

for ((r = 1; r <= RUNS; r++)); do
	echo "== run $r of $RUNS: tests/vm/31-director-active-active.sh in the VM (by hand: $BY_HAND)"
	"$ROOT/tests/vm/vm.sh" -b "$BUILD" -t "$VMT" -e AA_COMPARE_VRRP=1 -e "AA_BY_HAND=$BY_HAND" -e "AA_CONNS=$CONNS" \
		"$ROOT/tests/vm/31-director-active-active.sh" >"$out/run$r.log" 2>&1
	rc=$?
	grep -E '^AA |VM frozen' "$out/run$r.log"
	if ((rc != 0)); then
		echo "bench: run $r: the test failed (exit $rc):"
		grep -E '^FAIL' "$out/run$r.log" | head -20
		status=1
	fi
done

# val RUN KIND KEY: KEY=VALUE of the AA KIND line of run RUN.
val() { awk -v k="$2" -v key="$3" '$1 == "AA" && $2 == k { for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == key) print a[2] } }' "$out/run$1.log"; }

{
	echo "# Active-active directors against a VRRP pair (bench/aa.sh)"
	echo
	echo "- source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'); $RUNS run(s) of tests/vm/31 in the VM (qemu TCG, 1 vCPU)$([ "$BY_HAND" = 1 ] && echo "; announced by hand (ipvsadm and the routes as directord makes them), not by directord")"
	echo "- $CONNS long-lived connections from the client network behind the router, 1 KiB each way every 2 s each, every byte checked"
	echo "- active-active: three directors, BIRD to a BIRD router (ECMP, fib_multipath_hash_policy = 1), BFD 100 ms x 3, BGP hold 9 s; mh with mh-port and mh-fallback, sloppy TCP"
	echo "- VRRP pair: d1 master, d2 backup, VRRPv3 every 1 s, the IPVS sync daemon following VI_1, the same scheduler"
	echo
	echo "| run | new connections d1 / d2 / d3 | worst share vs equal | target: each within 10 % |"
	echo "|---|---|---|---|"
	for ((r = 1; r <= RUNS; r++)); do
		d1=$(val "$r" spread d1) d2=$(val "$r" spread d2) d3=$(val "$r" spread d3)
		awk -v r="$r" -v a="${d1:-0}" -v b="${d2:-0}" -v c="${d3:-0}" 'BEGIN {
			t = a + b + c; if (!t) { printf "| %d | - | - | (no numbers) |\n", r; exit }
			e = t / 3; w = 0
			split(a " " b " " c, v, " ")
			for (i = 1; i <= 3; i++) { d = (v[i] - e) / e; if (d < 0) d = -d; if (d > w) w = d }
			printf "| %d | %d / %d / %d | %.1f %% | %s |\n", r, a, b, c, 100 * w, (w <= 0.10) ? "meets" : "**misses**"
		}'
	done
	echo
	echo "| run | setup | failure | dropped / taken over (ms) | connections broken | longest wait (ms) | target |"
	echo "|---|---|---|---|---|---|---|"
	for ((r = 1; r <= RUNS; r++)); do
		echo "| $r | active-active | directord and BIRD SIGKILLed | $(val "$r" kill dropped_ms) | $(val "$r" kill broken) of $CONNS | $(val "$r" kill max_wait_ms) | 0 broken |"
		echo "| $r | VRRP pair + sync | directord SIGKILLed | $(val "$r" vrrp-kill takeover_ms) | $(val "$r" vrrp-kill broken) of $CONNS | $(val "$r" vrrp-kill max_wait_ms) | (reference) |"
		echo "| $r | active-active | link cut (BFD) | $(val "$r" cut dropped_ms) | $(val "$r" cut broken) of $CONNS | $(val "$r" cut max_wait_ms) | 0 broken; wait below the VRRP takeover |"
		echo "| $r | VRRP pair + sync | link cut | $(val "$r" vrrp-cut takeover_ms) | $(val "$r" vrrp-cut broken) of $CONNS | $(val "$r" vrrp-cut max_wait_ms) | (reference) |"
	done
	echo
	echo "The VM's own stops (a loaded host starves a TCG VM) during each batch, from the test's log:"
	echo
	for ((r = 1; r <= RUNS; r++)); do grep -E 'VM frozen' "$out/run$r.log" | sed "s/^ */- run $r: /"; done
	echo
	echo "A SIGKILLed directord leaves the kernel's IPVS table, VIP and route in place: the director goes on forwarding until the router (BGP) or the backup (VRRP) takes its traffic away, so a kill shows little stall either way; the link cut takes the data plane away too."
} >"$RESULTS"
echo "bench: wrote $RESULTS"
exit $status
