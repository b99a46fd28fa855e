#!/usr/bin/env bash
# Failover that keeps connections, measured: runs tests/vm/25 (two
# directors with the IPVS sync daemon, two real servers set up by rs-agent,
# a client streaming 1 KiB each way every 10 ms with every byte checked)
# in the VM of tests/vm, RUNS times, and writes bench/results-failover.md:
# for each failover, the takeover time (the event to the VIP on the new
# holder, from `ip -ts monitor`) and the stream's longest pause around it,
# against the target (no byte lost, pause under twice the takeover time).
#
#   bench/failover.sh [BUILD]        (make bench-failover; root)
#
# Settings (environment): RUNS [1]; RESULTS [bench/results-failover.md];
# VM_TIMEOUT [1500] s a run. It asserts nothing; it exits non-zero only
# when a run could not be made or a run's test failed (then the numbers
# are still written, marked).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "bench: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (qemu, namespaces in the VM)"; exit 1; }
RUNS=${RUNS:-1}
RESULTS=${RESULTS:-$HERE/results-failover.md}
VMT=${VM_TIMEOUT:-1500}
out=$(mktemp -d /tmp/dsrkit-bench-failover.XXXXXX)
trap 'rm -rf "$out"' EXIT
status=0

for ((r = 1; r <= RUNS; r++)); do
	echo "== run $r of $RUNS: tests/vm/25-director-failover-stream.sh in the VM"
	"$ROOT/tests/vm/vm.sh" -b "$BUILD" -t "$VMT" "$ROOT/tests/vm/25-director-failover-stream.sh" >"$out/run$r.log" 2>&1
	rc=$?
	grep -E '^FAILOVER |^    [a-z]+: done ' "$out/run$r.log"
	if ((rc != 0)); then
		echo "bench: run $r: the test failed (exit $rc):"
		grep -E '^FAIL' "$out/run$r.log" | head -20
		status=1
	fi
	echo "rc $rc" >>"$out/run$r.log"
done

{
	echo "# Failover with a live TCP stream (bench/failover.sh)"
	echo
	echo "- source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'); $RUNS run(s) of tests/vm/25 in the VM (qemu TCG)"
	echo "- VRRPv3 every 1 s (Master_Down_Interval of the backup at priority 100: 3.61 s), ipvs_sync_* following VI_1; the stream: 1 KiB each way every 10 ms, every byte checked"
	echo "- takeover: the event to the VIP on the new holder; stall: the stream's longest pause from 1 s before the event to 30 s after the takeover; heal has no takeover (the higher master kept the VIP while cut off)"
	echo
	echo "| run | variant | event | takeover (ms) | longest stall (ms) | stall / takeover | target: stall < 2x takeover |"
	echo "|---|---|---|---|---|---|---|"
	for ((r = 1; r <= RUNS; r++)); do
		awk -v run="$r" '$1 == "FAILOVER" {
			split($4, a, "="); split($5, b, "=");
			t = a[2]; s = b[2];
			if (t == "-") { ratio = "-"; verdict = "(no takeover)" }
			else { ratio = sprintf("%.2f", s / t); verdict = (s < 2 * t) ? "meets" : "**misses**" }
			printf "| %d | %s | %s | %s | %s | %s | %s |\n", run, $2, $3, t, s, ratio, verdict
		}' "$out/run$r.log"
	done
	echo
	echo "| run | variant | bytes sent | bytes echoed | lost | connection | target: zero lost |"
	echo "|---|---|---|---|---|---|---|"
	for ((r = 1; r <= RUNS; r++)); do
		sed -nE 's/^    ([a-z]+): done sent=([0-9]+) received=([0-9]+) lost=([0-9]+) max_stall_ms=[0-9]+ error=(.*)$/\1 \2 \3 \4 \5/p' "$out/run$r.log" |
			while read -r v s rcv l e; do
				echo "| $r | $v | $s | $rcv | $l | ${e/none/kept throughout} | $([ "$l" = 0 ] && [ "$e" = none ] && echo meets || echo '**misses**') |"
			done
		grep -q '^rc 0$' "$out/run$r.log" || echo "| $r | (the test failed: see its output) | | | | | |"
	done
} >"$RESULTS"
echo "== results in $RESULTS"
exit $status
