#!/usr/bin/env bash
# Smoke-run every libFuzzer target for a few seconds (FUZZ_SECONDS) from its
# seed corpus in tests/fuzz/corpus/NAME when there is one.
set -u
dir=$(cd "$1" && pwd)
secs=${FUZZ_SECONDS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d /tmp/dsrkit-fuzz.XXXXXX)
	seeds=()
	[ -d "$root/tests/fuzz/corpus/$name" ] && seeds=("$root/tests/fuzz/corpus/$name")
	if (cd "$work" && timeout $((secs + 60)) "$f" -max_total_time="$secs" -rss_limit_mb=2048 "$work" "${seeds[@]}" >"$work/log" 2>&1); then
		runs=$(grep -o 'Done [0-9]* runs' "$work/log" | tail -1)
		echo "PASS fuzz/$name: ${runs:-ran} in ${secs}s"
	else
		echo "FAIL fuzz/$name"
		tail -40 "$work/log" | sed 's/^/    /'
		status=1
	fi
	rm -rf "$work"
done
exit $status
