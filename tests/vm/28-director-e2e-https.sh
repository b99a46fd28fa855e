#!/usr/bin/env bash
# https checks deciding the kernel's IPVS table: directord balances
# VIP:443 by DR to rs1 and rs2, each running openssl s_server on its own
# address; check = https with check_host = www.test and check_ca_file, so
# the certificates are verified. rs1's is good: it is in the kernel at
# weight 1. rs2's expired: it stays out, and status says why. A reload
# without check_ca_file (no verification) lets rs2 in; one with it again
# takes it out. A reload naming a client key that only root can read is
# refused at its line (the reload is checked as the daemon's user), and
# the running configuration stays.
. "$(dirname "$0")/director-vm-lib.sh"

need_ipvs
command -v openssl >/dev/null || { skip "28-director-e2e-https: no openssl command"; dfinish; }
VIP=$E2E_VIP SVC="-t $E2E_VIP:443" RS1=198.18.0.11:443 RS2=198.18.0.12:443

lan lb rs1 rs2
unicast_routes "$NS_lb"
C=$TMP/certs
mkdir -p "$C" && chmod 755 "$C"
bash tests/tools/mkcerts.sh "$C" "$ADDR_rs1" "$ADDR_rs2" || { fail "making certificates"; dfinish; }
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhealthy\n' >"$C/health"
chmod 644 "$C/health"

# tls_server NS NAME: s_server -HTTP on 0.0.0.0:443 in NS with NAME.pem.
tls_server() {
	bg_in "$1" "$TMP/tls-$2.log" bash -c 'cd "$1" && exec openssl s_server -quiet -HTTP -accept 443 \
		-cert "$1/$2.pem" -key "$1/$2.key"' _ "$C" "$2"
	disown "$LAST_PID"
}
for rs in rs1 rs2; do
	ns=NS_$rs
	dr_real_server "${!ns}" "$VIP"
done
tls_server "$NS_rs1" server
tls_server "$NS_rs2" expired

# conf [line...]: the director's file, the lines added to the service.
conf() {
	dconf "$TMP/lb.ini" lb "$(vrrp VI_1 eth0 51 150 "$VIP/24")" "
[virtual_server web]
address = $VIP:443
protocol = tcp
scheduler = rr
method = dr
vrrp = VI_1
check = https
check_host = www.test
check_path = /health
check_interval = 2s
check_timeout = 2s
check_rise = 1
check_fall = 1
real_servers = $RS1, $RS2" "$@"
}
conf "check_ca_file = $C/ca.pem"
start_dir "$NS_lb" lb "$TMP/lb.ini" || { fail "directord starts"; dfinish; }
check "lb is master" wait_until 15 vmaster lb VI_1 MASTER

check "rs1 (trusted certificate for www.test) is in the kernel at weight 1" \
	wait_gently 30 weight_is "$NS_lb" "$SVC" "$RS1" 1
check "rs2 (expired certificate) is not" weight_is "$NS_lb" "$SVC" "$RS2" absent
why=$(rs_field lb web "$RS2" reason)
check "status says why rs2 is down ('$why')" grep -q "certificate has expired" <<<"$why"
why=$(rs_field lb web "$RS1" reason)
check "... and rs1's check passed ('$why')" [ "$why" = "HTTP 200" ]

conf
out=$(ctl lb reload 2>&1)
check "reload without check_ca_file: accepted ($out)" [ "$out" = "configuration reloaded" ]
check "... nothing is verified: rs2 comes in at weight 1" wait_gently 20 weight_is "$NS_lb" "$SVC" "$RS2" 1
check "... rs1 stays" weight_is "$NS_lb" "$SVC" "$RS1" 1

conf "check_ca_file = $C/ca.pem"
out=$(ctl lb reload 2>&1)
check "reload with check_ca_file again: accepted ($out)" [ "$out" = "configuration reloaded" ]
check "... rs2 leaves the kernel" wait_gently 20 weight_is "$NS_lb" "$SVC" "$RS2" absent
check "... rs1 stays" weight_is "$NS_lb" "$SVC" "$RS1" 1

chmod 600 "$C/client.key"
conf "check_ca_file = $C/ca.pem" "check_cert_file = $C/client.pem" "check_key_file = $C/client.key"
line=$(grep -n '^check_key_file' "$TMP/lb.ini" | cut -d: -f1)
out=$(ctl lb reload 2>&1); rc=$?
refused() { [ "$rc" != 0 ] && grep -qF "lb.ini:$line: virtual_server web.check_key_file: cannot read: Permission denied" <<<"$out"; }
check "reload naming a key only root can read: refused ($rc) at its line" refused
weights() { [ "$(weight_of "$NS_lb" "$SVC" "$RS1"):$(weight_of "$NS_lb" "$SVC" "$RS2")" = "$1" ]; }
check "... the running configuration stays: rs1 in, rs2 out" weights "1:absent"
ctl lb status | sed 's/^/    /'
dfinish
