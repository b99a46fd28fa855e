#!/usr/bin/env bash
# rs-agent -t and directord -t: "configuration OK" for a good file; for bad
# ones every error as FILE:LINE: section.key: message and a non-zero exit
# (1: an error, never a crash).
set -u
RS_AGENT=${BUILD:?}/rs-agent
DIRECTORD=$BUILD/directord
TMP=$(mktemp -d /tmp/dsrkit-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }

# expect_error_with PROGRAM NAME "file text" "expected message (after FILE:)"
expect_error_with() {
	local prog=$1 name=$2 text=$3 want=$4 f=$TMP/$2.ini out rc
	printf '%b' "$text" >"$f"; chmod 644 "$f"
	out=$("$prog" -t -f "$f" 2>&1); rc=$?
	if [ $rc = 1 ] && grep -qF -- "$f:$want" <<<"$out"; then
		pass "$name"
	else
		fail "$name: exit $rc, wanted 1 and '$f:$want', got: $out"
	fi
}
expect_error() { expect_error_with "$RS_AGENT" "$@"; }
expect_error_dir() { expect_error_with "$DIRECTORD" "directord-$1" "${@:2}"; }

good='[global]\nvips = 198.18.0.10, 2001:db8::10\n[agent]\nallow = 198.18.1.1, 198.18.1.0/24\n[check web]\ntype = http\nport = 80\n'
printf '%b' "$good" >"$TMP/good.ini"; chmod 644 "$TMP/good.ini"
out=$("$RS_AGENT" -t -f "$TMP/good.ini" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$out" = "configuration OK" ]; then pass "good file: configuration OK"; else fail "good file: $rc $out"; fi
out=$("$RS_AGENT" -t -v -f "$TMP/good.ini" 2>&1)
if grep -q '^interval = 2s' <<<"$out" && grep -q '^address = 198.18.0.10' <<<"$out" && grep -q '^configuration OK' <<<"$out"; then
	pass "-t -v prints the normalized configuration with defaults"
else
	fail "-t -v: $out"
fi
# The normalized output is itself a valid configuration.
"$RS_AGENT" -t -v -f "$TMP/good.ini" | grep -v '^configuration OK' >"$TMP/norm.ini"; chmod 644 "$TMP/norm.ini"
if "$RS_AGENT" -t -f "$TMP/norm.ini" >/dev/null 2>&1; then pass "normalized output loads again"; else fail "normalized output does not load"; fi

expect_error syntax '[global]\nvips = 198.18.0.10\nthis line is not ini\n' "3: syntax error"
expect_error duplicate-key '[global]\nvips = 198.18.0.10\nuser = nobody\nuser = daemon\n' "4: global.user: duplicate key (first set at line 3)"
expect_error unknown-section '[global]\nvips = 198.18.0.10\n[chek web]\ntype = tcp\n' "3: [chek web]: unknown section type 'chek' (did you mean 'check'?)"
expect_error unknown-key '[global]\nvips = 198.18.0.10\nverify_intreval = 1s\n' "3: global.verify_intreval: unknown key (did you mean 'verify_interval'?)"
expect_error range '[global]\nvips = 198.18.0.10\narp_announce = 5\n' "3: global.arp_announce: "
expect_error duration '[global]\nvips = 198.18.0.10\n[check web]\ntype = tcp\nport = 80\ninterval = 2 parsecs\n' "6: check web.interval: "
expect_error address '[global]\nvips = 198.18.0.300\n' "2: global.vips: "
expect_error vip-prefix '[global]\nvips = 198.18.0.10/24\n' "2: global.vips: 198.18.0.10/24: a VIP on a real server is a host address (/32)"
expect_error missing-required '[global]\nuser = nobody\n' "1: global.vips: missing required key"
expect_error enum '[global]\nvips = 198.18.0.10\n[check web]\ntype = ftp\nport = 21\n' "4: check web.type: "
expect_error cross-key '[global]\nvips = 198.18.0.10\n[check web]\ntype = tcp\n' "3: check web.port: required for a tcp check"
# Values refused as written, and required keys absent, leave fields the
# checks across keys must not read (each of these crashed -t).
expect_error path-unquoted "[global]\nvips = 198.18.0.10\n[agent]\nenabled = no\n[check web]\ntype = http\nport = 80\npath = '/health\n" "8: check web.path: missing closing quote"
expect_error bom '\xef\xbb\xbf[global]\nvips = 198.18.0.10\n[agent]\nenabled = no\n' "1: file starts with a UTF-8 byte-order mark; save it without one"
expect_error_dir vrrp-no-interface '[vrrp a]\nvirtual_router_id=5\npriority=100\nvirtual_ipaddress=192.0.2.5/32\n' "1: vrrp a.interface: missing required key"
expect_error_dir vrrp-no-interface-label '[vrrp a]\nvirtual_router_id=5\nvirtual_ipaddress=192.0.2.5 label eth0:v\n' "1: vrrp a.interface: missing required key"
expect_error_dir vrrp-same-vrid-no-interface '[vrrp a]\ninterface = eth0\nvirtual_router_id=5\nvirtual_ipaddress=192.0.2.5\n[vrrp b]\nvirtual_router_id=5\nvirtual_ipaddress=192.0.2.6\n' "5: vrrp b.interface: missing required key"
expect_error_dir bom '\xef\xbb\xbf[vrrp a]\ninterface = eth0\nvirtual_router_id=5\nvirtual_ipaddress=192.0.2.5\n' "1: file starts with a UTF-8 byte-order mark; save it without one"

# An IPVS trap: a warning on stderr at its line, the file accepted (exit
# 0, "configuration OK" on stdout); the fixed file says nothing more.
trap_ini='[global]\nuser = nobody\n[virtual_server web]\naddress = 198.18.0.100:80\nscheduler = mh\ninhibit_on_failure = yes\nreal_servers = 198.18.3.1:80\n'
printf '%b' "$trap_ini" >"$TMP/trap.ini"; chmod 644 "$TMP/trap.ini"
out=$("$DIRECTORD" -t -f "$TMP/trap.ini" 2>"$TMP/trap.err"); rc=$?
if [ $rc = 0 ] && [ "$out" = "configuration OK" ] &&
	grep -q "^$TMP/trap.ini:5: virtual_server web.scheduler: warning: mh without scheduler_flags = mh-fallback" "$TMP/trap.err"; then
	pass "directord -t: an IPVS trap is a warning at its line, exit 0"
else
	fail "directord -t with an IPVS trap: exit $rc, stdout '$out', stderr: $(cat "$TMP/trap.err")"
fi
printf '%b' "$trap_ini" | sed 's/^scheduler = mh$/&\nscheduler_flags = mh-fallback/' >"$TMP/trap.ini"
if [ "$("$DIRECTORD" -t -f "$TMP/trap.ini" 2>&1 | grep -c ': warning: ')" = 1 ]; then	# the user's alone
	pass "directord -t: the fixed file has no trap warning"
else
	fail "directord -t, fixed file: $("$DIRECTORD" -t -f "$TMP/trap.ini" 2>&1)"
fi

# Every error in one run, not just the first.
printf '[global]\nvips = 198.18.0.300\nbogus = 1\n[agent]\nmax_connections = 0\n' >"$TMP/many.ini"; chmod 644 "$TMP/many.ini"
n=$("$RS_AGENT" -t -f "$TMP/many.ini" 2>&1 | grep -c "^$TMP/many.ini:[0-9]*: ")
if [ "$n" -ge 3 ]; then pass "all errors reported in one run ($n)"; else fail "all errors reported in one run: got $n"; fi

printf '%b' "$good" >"$TMP/open.ini"; chmod 666 "$TMP/open.ini"
out=$("$RS_AGENT" -t -f "$TMP/open.ini" 2>&1); rc=$?
if [ $rc != 0 ] && grep -q 'writ' <<<"$out"; then pass "world-writable file refused"; else fail "world-writable file: $rc $out"; fi

out=$("$RS_AGENT" -t -f "$TMP/absent.ini" 2>&1); rc=$?
if [ $rc != 0 ] && grep -q 'No such file' <<<"$out"; then pass "missing file: clear error"; else fail "missing file: $rc $out"; fi

# https checks: the PEM files are read at -t, their errors at their lines,
# and -t -v shows them.
if mkdir "$TMP/certs" && bash "$(dirname "$0")/../tools/mkcerts.sh" "$TMP/certs"; then
	C=$TMP/certs
	rs_https="[global]\nvips = 198.18.0.10\n[agent]\nenabled = no\n[check web]\ntype = https\nport = 443\nhost = www.test\n"
	expect_error https-ca-missing "${rs_https}tls_ca_file = $C/none.pem\n" "9: check web.tls_ca_file: cannot stat: No such file or directory"
	expect_error https-ca-not-pem "${rs_https}tls_ca_file = $C/ca.key\n" "9: check web.tls_ca_file: no PEM certificate in it"
	expect_error https-key-alone "${rs_https}tls_key_file = $C/client.key\n" "9: check web.tls_key_file: needs tls_cert_file"
	expect_error https-key-mismatch "${rs_https}tls_cert_file = $C/client.pem\ntls_key_file = $C/server.key\n" "10: check web.tls_key_file: the key does not belong to the certificate"
	expect_error https-on-http "[global]\nvips = 198.18.0.10\n[agent]\nenabled = no\n[check web]\ntype = http\nport = 80\ntls_ca_file = $C/ca.pem\n" "8: check web.tls_ca_file: only with type = https"
	expect_error_dir https-key-unreadable "[virtual_server w]\naddress = 192.0.2.80:443\ncheck = https\ncheck_cert_file = $C/client.pem\ncheck_key_file = $C/client.pem\nreal_servers = 198.18.0.11\n" "5: virtual_server w.check_key_file: no usable PEM private key in it"
	printf '%b' "${rs_https}tls_ca_file = $C/ca.pem\ntls_cert_file = $C/client.pem\ntls_key_file = $C/client.key\n" >"$TMP/https.ini"; chmod 644 "$TMP/https.ini"
	out=$("$RS_AGENT" -t -v -f "$TMP/https.ini" 2>&1)
	if grep -qx "tls_ca_file = $C/ca.pem" <<<"$out" && grep -qx "tls_key_file = $C/client.key" <<<"$out" && grep -qx 'type = https' <<<"$out"; then
		pass "rs-agent -t -v shows the https keys"
	else
		fail "rs-agent -t -v https: $out"
	fi
	printf '[virtual_server w]\naddress = 192.0.2.80:443\ncheck = https\ncheck_ca_file = %s\nreal_servers = 198.18.0.11\n' "$C/ca.pem" >"$TMP/dir-https.ini"; chmod 644 "$TMP/dir-https.ini"
	out=$("$DIRECTORD" -t -v -f "$TMP/dir-https.ini" 2>&1)
	if grep -qx "check_ca_file = $C/ca.pem" <<<"$out" && grep -qx 'check = https' <<<"$out"; then
		pass "directord -t -v shows the https keys"
	else
		fail "directord -t -v https: $out"
	fi
else
	echo "SKIP https keys: tests/tools/mkcerts.sh failed (openssl?)"
fi

out=$("$RS_AGENT" frobnicate 2>&1); rc=$?
if [ $rc = 2 ] && grep -q "unknown command 'frobnicate'" <<<"$out"; then pass "unknown command: usage, exit 2"; else fail "unknown command: $rc $out"; fi
exit $FAILED
