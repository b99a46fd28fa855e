#!/usr/bin/env bash
# Root tests: each script in tests/netns builds its own namespaces and
# removes them on every exit path. Without root they are reported SKIP.
set -u
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/report.sh"
status=0
for t in "$root"/tests/netns/[0-9]*.sh; do
	name=$(basename "$t" .sh)
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP netns/$name: needs root (network namespaces)"
		continue
	fi
	run_reported "netns/$name" env BUILD="$root/$build" timeout 600 bash "$t" || status=1
done
exit $status
