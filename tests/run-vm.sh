#!/usr/bin/env bash
# VM tests: each script in tests/vm runs in its own qemu VM (tests/vm/vm.sh),
# whose kernel has IPVS. Their PASS/FAIL/SKIP lines are reported as the netns
# tests' are. When no VM can run here (qemu missing and not installable, no
# kernel to fetch), every test is reported SKIP with the reason.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/report.sh"
vm=$root/tests/vm/vm.sh
timeout_s=${VM_TIMEOUT:-900}
status=0

tests=()
for t in "$root"/tests/vm/[0-9]*.sh; do
	[ -f "$t" ] && tests+=("$t")
done
[ ${#tests[@]} = 0 ] && exit 0

# Install what is missing and build the kernel/initramfs cache once, up front.
out=$("$vm" -b "$build" --prepare 2>&1)
rc=$?
if [ $rc = 77 ]; then
	reason=$(printf '%s\n' "$out" | tail -1 | sed 's/^vm\.sh: //')
	for t in "${tests[@]}"; do
		echo "SKIP vm/$(basename "$t" .sh): $reason"
	done
	exit 0
elif [ $rc != 0 ]; then
	printf '%s\n' "$out" | sed 's/^/    /'
	echo "FAIL vm/prepare: could not build the VM (exit $rc)"
	exit 1
fi

for t in "${tests[@]}"; do
	run_reported "vm/$(basename "$t" .sh)" "$vm" -b "$build" -t "$timeout_s" "$t" || status=1
done
exit $status
