# Sourced by the test runners. run_reported LABEL cmd...: run a test
# program, prefix its PASS/FAIL/SKIP lines with LABEL, show the rest of its
# output when it fails, and return non-zero then.
run_reported() {
	local label=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed -nE "s#^(PASS|FAIL|SKIP) #\1 $label: #p"
	if [ $rc != 0 ]; then
		printf '%s\n' "$out" | grep -v '^\(PASS\|SKIP\) ' | tail -80 | sed 's/^/    /'
		grep -q '^FAIL' <<<"$out" || echo "FAIL $label: exited with status $rc"
		return 1
	fi
}
