#!/bin/bash
# Certificates for the https check tests, made with the openssl CLI into
# DIR (which must exist): a CA (ca.pem, ca.key); signed by it, server
# (www.test and 127.0.0.1, 198.18.0.0/15 test addresses too), other
# (other.test), expired (www.test, expired in 2020) and client (a client
# certificate); self (www.test, self-signed: trusted by nobody). EC keys:
# quick to make. Usage: mkcerts.sh DIR [EXTRA_IP...]
set -e
d=$1
shift
extra=""
for ip in "$@"; do extra="$extra,IP:$ip"; done
cd "$d"
q() { "$@" >/dev/null 2>&1 || { echo "mkcerts: failed: $*" >&2; return 1; }; }
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
q openssl req -x509 "${newkey[@]}" -keyout ca.key -out ca.pem -days 3650 -subj "/CN=dsrkit test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
cat >ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
[srv]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
[cli]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CNF
: >index.txt
echo 01 >serial
# name, CN, subjectAltName (or ""), extensions, not before, not after
sign() {
	q openssl req "${newkey[@]}" -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" ${3:+-addext "subjectAltName=$3"}
	q openssl ca -batch -config ca.cnf -extensions "$4" -in "$1.csr" -out "$1.pem" -startdate "$5" -enddate "$6" -notext
}
sign server www.test "DNS:www.test,IP:127.0.0.1$extra" srv 20200101000000Z 20991231000000Z
sign other other.test "DNS:other.test" srv 20200101000000Z 20991231000000Z
sign expired www.test "DNS:www.test,IP:127.0.0.1$extra" srv 20200101000000Z 20200201000000Z
sign client client.test "" cli 20200101000000Z 20991231000000Z
q openssl req -x509 "${newkey[@]}" -keyout self.key -out self.pem -days 3650 -subj "/CN=www.test" \
	-addext "subjectAltName=DNS:www.test,IP:127.0.0.1$extra"
chmod 0644 ./*.pem
chmod 0600 ./*.key
