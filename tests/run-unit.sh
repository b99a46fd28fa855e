#!/usr/bin/env bash
# Run every unit test binary in DIR and the no-root CLI tests. Optional
# second argument tags the run (e.g. "asan").
set -u
dir=$1
tag=${2:+$2/}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/report.sh"
status=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	run_reported "${tag}unit/$(basename "$t")" timeout 300 "$t" || status=1
done
# CLI tests need only the built binaries.
for t in "$root"/tests/unit/*.sh; do
	[ -f "$t" ] || continue
	run_reported "${tag}cli/$(basename "$t" .sh)" env BUILD="$(dirname "$dir")" timeout 300 bash "$t" || status=1
done
exit $status
