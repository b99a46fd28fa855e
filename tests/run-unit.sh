#!/usr/bin/env bash
# Run every unit test binary in DIR and the no-root CLI tests. Optional
# second argument tags the run (e.g. "asan").
set -u
dir=$1
tag=${2:+$2/}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/report.sh"
. "$root/tests/dsrkit-user.sh"
status=0
# Configurations without `user` run as dsrkit: it must exist (created as root).
ensure_dsrkit_user || echo "FAIL ${tag}unit/dsrkit-user: no system user dsrkit (see above); the tests of configurations without user = will fail"
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
