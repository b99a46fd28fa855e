#!/usr/bin/env bash
# The whole test suite (`make check`): build, unit tests, the same unit tests
# under ASan+UBSan, fuzz smoke runs, then the root tests in network
# namespaces, then the IPVS tests in qemu VMs. Every runner prints
# PASS/FAIL/SKIP lines; this script counts them and ends with
# "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/dsrkit-check.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0

stage() {
	local name=$1; shift
	echo "== $name"
	"$@" 2>&1 | tee -a "$log"
	local rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		echo "FAIL stage $name (exit $rc)" | tee -a "$log"
		status=1
	fi
}

stage build make --no-print-directory all
stage unit tests/run-unit.sh build/tests
stage asan make --no-print-directory asan
stage fuzz make --no-print-directory fuzz
stage netns tests/run-netns.sh build
stage vm tests/run-vm.sh build

passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
skipped=$(grep -c '^SKIP' "$log")
if [ "$failed" != 0 ]; then
	echo
	echo "failures:"
	grep '^FAIL' "$log"
	status=1
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
