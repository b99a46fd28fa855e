#!/usr/bin/env bash
# make soak: tests/soak/soak.sh in the VM of tests/vm for SOAK_SECONDS
# (default 1800), then bench/results-soak.md (the run: seed, schedule,
# every fault's verdict, the table by kind, violations and their
# timeline) and its summary section in bench/BENCHMARKS.md.
#
#   tests/soak/run.sh [BUILD]        (make soak; root)
#
# Settings (environment): SOAK_SECONDS [1800], SOAK_SEED [drawn here, so
# that it is known even when the VM dies], SOAK_FAULTS, SOAK_CONVERGE,
# SOAK_HEARTBEAT, SOAK_HB_SLACK, SOAK_RESTART_SLACK, SOAK_INVALID,
# SOAK_SABOTAGE, SOAK_SYNC_GRACE (see tests/soak/soak.sh); RESULTS [bench/results-soak.md];
# BENCHMARKS [bench/BENCHMARKS.md]. Exits with the soak's status (0: no
# violation).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "soak: no build directory ${1:-$ROOT/build} (run make)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "soak: needs root (qemu, namespaces in the VM)"; exit 1; }
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_SEED=${SOAK_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
RESULTS=${RESULTS:-$ROOT/bench/results-soak.md}
BENCHMARKS=${BENCHMARKS:-$ROOT/bench/BENCHMARKS.md}
log=$(mktemp /tmp/dsrkit-soak.XXXXXX)
trap 'rm -f "$log"' EXIT

envs=(-e "SOAK_SECONDS=$SOAK_SECONDS" -e "SOAK_SEED=$SOAK_SEED")
for v in SOAK_FAULTS SOAK_CONVERGE SOAK_HEARTBEAT SOAK_HB_SLACK SOAK_RESTART_SLACK SOAK_INVALID SOAK_SABOTAGE SOAK_SYNC_GRACE SOAK_LVS_HEARTBEAT; do
	[ -n "${!v:-}" ] && envs+=(-e "$v=${!v}")
done
echo "== soak: ${SOAK_SECONDS} s of faults, seed $SOAK_SEED, in the VM (output also in $RESULTS)"
start=$(date +%s)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)	# what the run is of
# the lab takes a minute to build, the end two (streams drained): 15 min of slack
"$ROOT/tests/vm/vm.sh" -b "$BUILD" -t $((SOAK_SECONDS + 900)) "${envs[@]}" "$ROOT/tests/soak/soak.sh" | tee "$log"
rc=${PIPESTATUS[0]}
wall=$(($(date +%s) - start))

summary=$(grep -m1 '^SOAK summary ' "$log" | sed 's/^SOAK summary //')
verdict="no violation"
((rc != 0)) && verdict="**FAILED** (exit $rc): $(grep -c '^FAIL ' "$log") FAIL line(s)"
table() {
	echo "| kind | injected | survived |"
	echo "|---|---|---|"
	sed -n 's/^SOAK table | \([a-z_]*\) |/| \1 |/p' "$log" | grep -v '^| kind |'
}
{
	echo "# Soak: the fault matrix (tests/soak/run.sh, make soak)"
	echo
	echo "- source $rev, $(date -u '+%Y-%m-%d %H:%M UTC'); ${SOAK_SECONDS} s of faults, seed $SOAK_SEED, whole run ${wall} s in the VM (qemu TCG)"
	echo "- replay: \`SOAK_SEED=$SOAK_SEED SOAK_SECONDS=$SOAK_SECONDS${SOAK_FAULTS:+ SOAK_FAULTS='$SOAK_FAULTS'} make soak\` (same faults, targets, durations and variants; not the same timings)"
	echo "- verdict: $verdict"
	echo "- ${summary:-no summary: the soak did not reach its end}"
	echo
	echo "## Faults by kind"
	echo
	table
	echo
	echo "## Verdicts"
	echo
	echo '```'
	grep -E '^(PASS|FAIL|SKIP) ' "$log"
	echo '```'
	echo
	echo "## Every fault (#, s since the start, kind, target, duration s, variant, verdict, ms from injection to converged, note)"
	echo
	echo '```'
	sed -n 's/^SOAK fault //p' "$log"
	echo '```'
	if grep -q '^    violation at ' "$log"; then
		echo
		echo "## Violations and the timeline around them"
		echo
		echo '```'
		grep -E '^    violation at |^soak: FAILED|^    [0-9.]+ #|^  around |^    [0-9.]+ [LW] ' "$log" | head -300
		echo '```'
	fi
} >"$RESULTS"

# The summary section of BENCHMARKS.md, replaced between its markers.
section=$(mktemp /tmp/dsrkit-soak-section.XXXXXX)
{
	echo "<!-- soak: begin (written by tests/soak/run.sh) -->"
	echo "## Latest soak (bench/results-soak.md)"
	echo
	echo "${SOAK_SECONDS} s of faults, seed $SOAK_SEED, source $rev, $(date -u '+%Y-%m-%d'): $verdict; ${summary:-no summary}."
	echo
	table
	echo "<!-- soak: end -->"
} >"$section"
if grep -q '^<!-- soak: begin' "$BENCHMARKS"; then
	awk -v f="$section" '/^<!-- soak: begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- soak: end/ { skip = 0; next } !skip' "$BENCHMARKS" >"$BENCHMARKS.new" && mv "$BENCHMARKS.new" "$BENCHMARKS"
else
	{ echo; cat "$section"; } >>"$BENCHMARKS"
fi
rm -f "$section"
echo "== soak: $verdict; results in $RESULTS, summary in $BENCHMARKS"
exit "$rc"
