#!/usr/bin/env bash
# `make demo`: the whole Direct Routing cluster (tests/demo/cluster-lab.sh)
# in network namespaces: directly when this kernel has IPVS, else inside
# the small VM of tests/vm (qemu, installed on first use, as it fetches
# Debian's kernel). Exits 0 only if every step of the lab behaved.
set -u
BUILD=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "the demo needs root (network namespaces, IPVS)"; exit 1; }

have_ipvs() { [ -e /proc/net/ip_vs ] || { modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]; }; }
if have_ipvs; then
	echo "This kernel has IPVS: the lab runs in namespaces here."
	BUILD=$BUILD exec bash "$here/cluster-lab.sh"
fi
echo "This kernel has no IPVS: the lab runs in namespaces inside a small VM (qemu TCG, about a minute to boot and set up)."
"$here/../vm/vm.sh" -b "$BUILD" -t 900 "$here/cluster-lab.sh"
rc=$?
case $rc in
0) printf '\n\033[1mThe demo finished: every step behaved.\033[0m\n' ;;
77) echo "The VM cannot run on this machine (see above); nothing was shown." ;;
*) printf '\n\033[1mThe demo finished with failures (exit %s).\033[0m\n' "$rc" ;;
esac
exit $rc
