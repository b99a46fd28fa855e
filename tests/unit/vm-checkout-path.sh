#!/usr/bin/env bash
# A static guard, cheap enough for every run, of what the VM tests need to
# work from any checkout path: a clone under /tmp or /var/tmp (which are
# the VM's own tmpfs) or under a 0700 /root. tests/vm/vm.sh must share the
# repository (and an outside build directory) over 9p and tell the VM its
# path; tests/vm/init must mount it at that path after the tmpfs on /tmp,
# /run and /var/tmp, before job.sh runs. The VM tests themselves show it
# working; this catches an edit that drops or reorders it.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
vm=$root/tests/vm/vm.sh init=$root/tests/vm/init
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
line() { grep -n -m1 -F -- "$2" "$1" | cut -d: -f1; }	# line FILE TEXT: first line with TEXT, or empty

if grep -q 'mount_tag=repo,security_model=none,readonly=on' "$vm" && grep -q 'mount_tag=build,' "$vm"; then
	pass "vm.sh shares the repository (tag repo) and an outside build directory (tag build) read-only"
else
	fail "vm.sh: no read-only -virtfs with mount_tag=repo and mount_tag=build"
fi
if grep -q "REPO='%s'.*BUILDDIR='%s'.*\"\$repo\" \"\$build_share\"" "$vm"; then
	pass "vm.sh writes REPO and BUILDDIR into the job's env"
else
	fail "vm.sh does not write REPO and BUILDDIR into the job's env"
fi
tmp=$(line "$init" 'tmpfs $R/tmp') run=$(line "$init" 'tmpfs $R/run') vtmp=$(line "$init" 'tmpfs $R/var/tmp')
env=$(line "$init" '. $J/env') repo=$(line "$init" 'share repo "$REPO"') bld=$(line "$init" 'share build "$BUILDDIR"')
job=$(line "$init" '/run/dsrkit-vm/job/job.sh')
if [ -n "$tmp" ] && [ -n "$run" ] && [ -n "$vtmp" ] && [ -n "$env" ] && [ -n "$repo" ] && [ -n "$bld" ] && [ -n "$job" ] &&
	[ "$repo" -gt "$tmp" ] && [ "$repo" -gt "$run" ] && [ "$repo" -gt "$vtmp" ] && [ "$repo" -gt "$env" ] &&
	[ "$bld" -gt "$repo" ] && [ "$job" -gt "$bld" ]; then
	pass "init mounts the repository ($repo) and build directory ($bld) after the tmpfs on /tmp ($tmp), /run ($run), /var/tmp ($vtmp) and before job.sh ($job)"
else
	fail "init: mount order wrong or missing: tmpfs /tmp $tmp, /run $run, /var/tmp $vtmp, env $env, repo $repo, build $bld, job.sh $job"
fi
# The share goes to the same absolute path inside the chroot.
if grep -q 'mount -t 9p -o "$opts,ro,cache=loose" "$1" "$R$2"' "$init"; then
	pass "init mounts each share at \$R plus its host path"
else
	fail "init does not mount the shares at \$R plus their host paths"
fi
exit $FAILED
