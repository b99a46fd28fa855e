#!/usr/bin/env bash
# Root tests: each script in tests/netns builds its own namespaces and
# removes them on every exit path. Without root they are reported SKIP.
set -u
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "$root"/tests/netns/[0-9]*.sh; do
	name=$(basename "$t" .sh)
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP netns/$name: needs root (network namespaces)"
		continue
	fi
	out=$(BUILD="$root/$build" timeout 600 bash "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed -nE "s#^(PASS|FAIL|SKIP) #\1 netns/$name: #p"
	if [ $rc != 0 ]; then
		printf '%s\n' "$out" | grep -v '^\(PASS\|SKIP\) ' | tail -60 | sed 's/^/    /'
		grep -q '^FAIL' <<<"$out" || echo "FAIL netns/$name: exited with status $rc"
		status=1
	fi
done
exit $status
