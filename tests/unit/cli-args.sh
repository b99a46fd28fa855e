#!/usr/bin/env bash
# Command lines refused before anything runs: extra arguments, a missing
# one, options that mean nothing together. Each exits with the program's
# usage code (2; 3, UNKNOWN, for rs-agent check, a monitoring plugin) and
# says what is wrong; an extra argument is never "unknown command".
set -u
RS_AGENT=${BUILD:?}/rs-agent
DIRECTORD=$BUILD/directord
DIRECTORCTL=$BUILD/directorctl
TMP=$(mktemp -d /tmp/dsrkit-cli-args.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }

# Valid files, so that a command line that is not refused goes on to work
# (and to exit 0 or 1): only the refusal gives the code expected here.
printf '[global]\nvips = 198.18.0.10\n[agent]\nallow = 198.18.1.1\n' >"$TMP/rs.ini"
printf '[vrrp a]\ninterface = eth0\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.5\n' >"$TMP/d.ini"
chmod 644 "$TMP/rs.ini" "$TMP/d.ini"
# A socket nobody listens on: a request that gets through fails with 1.
SOCK=$TMP/none.sock

# The command line without the build and temporary directories.
name() { local s="$*"; s=${s//$BUILD\//}; echo "${s//$TMP\//}"; }

# expect CODE "message" PROGRAM ARGS...: exits CODE and says the message
# (stdout and stderr together), never "unknown command".
expect() {
	local want_rc=$1 want=$2 out rc label
	shift 2
	label=$(name "$@")
	out=$("$@" 2>&1); rc=$?
	if [ $rc = "$want_rc" ] && grep -qF -- "$want" <<<"$out" && ! grep -q 'unknown command' <<<"$out"; then
		pass "$label: exit $rc, '$want'"
	else
		fail "$label: exit $rc, wanted $want_rc and '$want', got: $(head -3 <<<"$out")"
	fi
}

# directorctl: every command's arguments are counted.
expect 2 "directorctl: reload: unexpected argument 'now'" "$DIRECTORCTL" -s "$SOCK" reload now
expect 2 "directorctl: status: unexpected argument 'garbage'" "$DIRECTORCTL" -s "$SOCK" status --json garbage
expect 2 "directorctl: status: unexpected argument 'garbage'" "$DIRECTORCTL" -s "$SOCK" status garbage
expect 2 "directorctl: status: unexpected argument '-s' (options come before the command)" \
	"$DIRECTORCTL" status -s "$SOCK"
expect 2 "directorctl: drain: missing SERVER" "$DIRECTORCTL" -s "$SOCK" drain web
expect 2 "directorctl: enable: missing SERVICE and SERVER" "$DIRECTORCTL" -s "$SOCK" enable
expect 2 "directorctl: drain: unexpected argument 'now'" "$DIRECTORCTL" -s "$SOCK" drain web 192.0.2.1 now
expect 2 "directorctl: enable: unexpected argument 'now'" "$DIRECTORCTL" -s "$SOCK" enable web 192.0.2.1 now
expect 2 "directorctl: import-keepalived: unexpected argument 'b.conf'" \
	"$DIRECTORCTL" import-keepalived -o "$TMP/out.ini" "$TMP/a.conf" b.conf
expect 2 "directorctl: import-keepalived: missing keepalived.conf" "$DIRECTORCTL" import-keepalived
expect 2 "directorctl: no command" "$DIRECTORCTL" -s "$SOCK"
expect 2 "directorctl: doctor: unknown option '--fast'" "$DIRECTORCTL" -s "$SOCK" doctor --fast
expect 2 "directorctl: doctor: unexpected argument 'api'" "$DIRECTORCTL" -s "$SOCK" doctor --json web api
expect 2 "directorctl: doctor: --timeout takes seconds, 1 to 3600" "$DIRECTORCTL" -s "$SOCK" doctor --timeout 0
out=$("$DIRECTORCTL" -s "$SOCK" frobnicate 2>&1); rc=$?
if [ $rc = 2 ] && grep -q "directorctl: unknown command 'frobnicate'" <<<"$out"; then
	pass "directorctl frobnicate: unknown command, exit 2"
else
	fail "directorctl frobnicate: $rc $out"
fi
# What is right still reaches the socket (exit 1: nobody listens).
out=$("$DIRECTORCTL" -s "$SOCK" status --json 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "$SOCK" <<<"$out"; then pass "directorctl status --json is asked"; else fail "directorctl status --json: $rc $out"; fi

# rs-agent: -d is for run, --json for status, -t takes no command.
expect 2 "rs-agent: -d (detach) is for run only, not for -t" "$RS_AGENT" -t -d -f "$TMP/rs.ini"
expect 2 "rs-agent: -d (detach) is for run only, not for configtest" "$RS_AGENT" -d -f "$TMP/rs.ini" configtest
expect 2 "rs-agent: --json is for status only, not for -t" "$RS_AGENT" -t --json -f "$TMP/rs.ini"
expect 2 "rs-agent: -t is the configtest command: no command may follow it ('run')" \
	"$RS_AGENT" -t -f "$TMP/rs.ini" run
expect 2 "rs-agent: -d (detach) is for run only, not for status" "$RS_AGENT" -d -f "$TMP/rs.ini" status
expect 2 "rs-agent: status: unexpected argument 'now'" "$RS_AGENT" -f "$TMP/rs.ini" status now
expect 2 "rs-agent: no command" "$RS_AGENT" -f "$TMP/rs.ini"
out=$("$RS_AGENT" -t -f "$TMP/rs.ini" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$out" = "configuration OK" ]; then pass "rs-agent -t alone still checks"; else fail "rs-agent -t: $rc $out"; fi

# rs-agent check: usage errors are UNKNOWN (3), never CRITICAL (2), and
# the first line of stdout, what a monitoring system shows, says so.
expect_check() {
	local want=$1 out rc
	shift
	out=$("$RS_AGENT" "$@" 2>/dev/null); rc=$?
	if [ $rc = 3 ] && [ "$(head -1 <<<"$out")" = "UNKNOWN: $want" ]; then
		pass "rs-agent $(name "$@"): exit 3, UNKNOWN: $want"
	else
		fail "rs-agent $(name "$@"): exit $rc, wanted 3 and 'UNKNOWN: $want', got: $(head -1 <<<"$out")"
	fi
}
expect_check "check: unexpected argument 'extra'" -f "$TMP/rs.ini" check extra
expect_check "-d (detach) is for run only, not for check" -d -f "$TMP/rs.ini" check
expect_check "--json is for status only, not for check" -f "$TMP/rs.ini" check --json
expect_check "an option rs-agent does not take, or one without its value" -f "$TMP/rs.ini" check --bogus
expect_check "an option rs-agent does not take, or one without its value" -x -f "$TMP/rs.ini" check
expect_check "an option rs-agent does not take, or one without its value" check -f
out=$("$RS_AGENT" -f "$TMP/rs.ini" check --bogus 2>&1 >/dev/null)
if grep -q "unrecognized option '--bogus'" <<<"$out"; then pass "rs-agent check --bogus: getopt names the option"; else fail "rs-agent check --bogus: stderr $out"; fi

# directord: -t checks and exits; -d (debug) and -n (foreground) are for
# the daemon.
expect 2 "directord: -d is for running the daemon, not with -t" "$DIRECTORD" -t -d -f "$TMP/d.ini"
expect 2 "directord: -n is for running the daemon, not with -t" "$DIRECTORD" -n -t -f "$TMP/d.ini"
expect 2 "directord: unexpected argument 'now'" "$DIRECTORD" -t -f "$TMP/d.ini" now
out=$("$DIRECTORD" -t -f "$TMP/d.ini" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$out" = "configuration OK" ]; then pass "directord -t alone still checks"; else fail "directord -t: $rc $out"; fi
exit $FAILED
