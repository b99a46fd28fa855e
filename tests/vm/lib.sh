# shellcheck shell=bash
# Shared helpers for the VM tests (tests/vm/[0-9]*.sh), which run inside the
# VM started by tests/vm/vm.sh. It builds on tests/netns/lib.sh (namespaces,
# background processes, cleanup on every exit path, PASS/FAIL/SKIP lines) and
# adds what only the VM's kernel has. Inside the VM the host's root is
# read-only: write only to $TMP (under /tmp) or /run.

# shellcheck source=../netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

# need_ipvs: IPVS must be there inside the VM (anything else is a harness
# bug: FAIL); run on a kernel without it, outside the VM, the test is skipped.
need_ipvs() {
	if [ "${DSRKIT_VM:-}" = 1 ] && [ ! -e /proc/net/ip_vs ]; then modprobe -q ip_vs 2>/dev/null; fi
	if [ -e /proc/net/ip_vs ] && command -v ipvsadm >/dev/null 2>&1; then
		return 0
	fi
	if [ "${DSRKIT_VM:-}" = 1 ]; then
		fail "IPVS and ipvsadm are available in the VM"
	else
		skip "needs a kernel with IPVS: run it with tests/vm/vm.sh"
	fi
	exit "$FAILED"
}

# bridge_ns NS BR: a bridge named BR, up, in namespace NS.
bridge_ns() {
	in_ns "$1" ip link add "$2" type bridge
	in_ns "$1" ip link set "$2" up
}

# port_to_bridge NS ADDR/LEN SWNS BR PORT: a veth pair, eth0 in NS with the
# address, PORT in SWNS enslaved to bridge BR; both ends up.
port_to_bridge() {
	local ns=$1 addr=$2 sw=$3 br=$4 port=$5
	ip link add eth0 netns "$ns" type veth peer name "$port" netns "$sw" || return 1
	in_ns "$sw" ip link set "$port" master "$br"
	in_ns "$sw" ip link set "$port" up
	in_ns "$ns" ip addr add "$addr" dev eth0
	in_ns "$ns" ip link set eth0 up
}

# http_get NS URL [TIMEOUT]: print the body of one HTTP GET made from NS.
http_get() {
	in_ns "$1" python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
    sys.stdout.write(r.read().decode())
' "$2" "${3:-5}"
}

# ipvs_stat NS FIELD: a field of the first service line of
# `ipvsadm -L -n --stats --exact` (3 Conns, 4 InPkts, 5 OutPkts, 6 InBytes, 7 OutBytes).
ipvs_stat() {
	in_ns "$1" ipvsadm -L -n --stats --exact | awk -v f="$2" '$1 == "TCP" || $1 == "UDP" { print $f; exit }'
}
