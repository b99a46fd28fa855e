#!/usr/bin/env bash
# The configuration files that README.md and dsrkit(7) tell a newcomer to
# write pass directord -t or rs-agent -t, exactly ("configuration OK", no
# warning). `user = dsrkit` is the user make install creates; the runner
# (tests/run-unit.sh) makes sure it exists.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${BUILD:?}" && pwd)
TMP=$(mktemp -d /tmp/dsrkit-docex.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }

# README.md: ```ini blocks. dsrkit.7: literal displays whose first line is
# a section header; one whose first line is "; added to the director.ini above"
# is appended to the last director.ini display, and checked with it.
awk -v dir="$TMP" '
	/^```ini$/ { n++; f = sprintf("%s/README.md-%d.ini", dir, n); on = 1; next }
	on && /^```$/ { on = 0; close(f); next }
	on { print > f }
' "$root/README.md"
awk -v dir="$TMP" '
	/^\.Bd -literal/ { inbd = 1; first = 1; next }
	inbd && /^\.Ed$/ { inbd = 0; if (on) close(f); on = 0; next }
	inbd && first { first = 0; if ($0 ~ /^\[[a-z_]+( [A-Za-z0-9_]+)?\]$/) { n++; f = sprintf("%s/dsrkit.7-%d.ini", dir, n); on = 1; more = 0 } }
	inbd && first == 0 && on == 0 && dirf != "" && $0 ~ /^; added to the director.ini above/ { on = 1; more = 1; f = dirf; next }
	inbd && on && more { print >> f; next }
	inbd && on { print > f; if ($0 ~ /^\[(vrrp|virtual_server) /) dirf = f }
' "$root/man/dsrkit.7"

count=0
for f in "$TMP"/*.ini; do
	[ -f "$f" ] || continue
	count=$((count + 1))
	chmod 644 "$f"
	name=$(basename "$f" .ini)
	if grep -q '^\[\(vrrp\|virtual_server\) ' "$f"; then
		bin=$BUILD/directord
	elif grep -q '^vips = ' "$f"; then
		bin=$BUILD/rs-agent
	else
		fail "$name: neither a director.ini nor an rs-agent.ini: $(head -3 "$f" | tr '\n' ' ')"
		continue
	fi
	out=$("$bin" -t -f "$f" 2>&1); rc=$?
	if [ $rc = 0 ] && [ "$out" = "configuration OK" ]; then
		pass "$name passes $(basename "$bin") -t"
	else
		fail "$name: $(basename "$bin") -t: exit $rc: $out"
	fi
done
# Two in each: the director's and the real server's.
for doc in README.md dsrkit.7; do
	n=$(ls "$TMP" | grep -c "^$doc-")
	if [ "$n" -ge 2 ]; then pass "$doc: $n example files found"; else fail "$doc: $n example files found (want 2 or more)"; fi
done
exit $FAILED
