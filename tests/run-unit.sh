#!/usr/bin/env bash
# Run every unit test binary in DIR and the no-root CLI tests; prefix
# each PASS/FAIL/SKIP line with the test's name. Optional second argument
# tags the run (e.g. "asan").
set -u
dir=$1
tag=${2:+$2/}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$(timeout 300 "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed -nE "s#^(PASS|FAIL|SKIP) #\1 ${tag}unit/$name: #p"
	if [ $rc != 0 ]; then
		printf '%s\n' "$out" | grep -v '^\(PASS\|SKIP\) ' | sed 's/^/    /'
		grep -q '^FAIL' <<<"$out" || echo "FAIL ${tag}unit/$name: exited with status $rc"
		status=1
	fi
done
# CLI tests need only the built binaries.
bindir=$(dirname "$dir")
for t in "$root"/tests/unit/*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	out=$(BUILD="$bindir" timeout 300 bash "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed -nE "s#^(PASS|FAIL|SKIP) #\1 ${tag}cli/$name: #p"
	if [ $rc != 0 ]; then
		printf '%s\n' "$out" | grep -v '^\(PASS\|SKIP\) ' | sed 's/^/    /'
		grep -q '^FAIL' <<<"$out" || echo "FAIL ${tag}cli/$name: exited with status $rc"
		status=1
	fi
done
exit $status
