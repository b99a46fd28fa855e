#!/usr/bin/env bash
# directorctl doctor beside IPVS programmed by directord: the lab of
# tests/netns/135 (tests/netns/doctor-lab.sh: one director d1, master of
# the VIPs, and eight real servers, each with one DR mistake made on
# purpose but rs1), on the VM's kernel, where directord's LVS engine puts
# every service in IPVS. A client reaches the healthy service through
# IPVS (DR to rs1); that service gets no finding (exit 0); the whole
# setup gets exactly one finding per broken server, naming it and the
# mistake (answers ARP and neighbour solicitations for the VIP, not on
# the directors' segment, the service on the real address only, rp_filter
# dropping the director's packets, MTU mismatch, no VIP on lo, the agent
# port blocked), the traps, nothing else (exit 1); then an agent that
# reports down.
. "$(dirname "$0")/director-vm-lib.sh"
# shellcheck source=../netns/doctor-lab.sh
. "$(dirname "$0")/../netns/doctor-lab.sh"

need_ipvs
command -v nft >/dev/null || { fail "nft (Debian package nftables, in DEB_TEST_DEPS)"; dfinish; }
doctor_lab start_dir || dfinish
ns_new cl
join "$NS_cl" eth0 br0 02:00:00:00:50:01 198.18.0.50/24

check "IPVS holds the healthy service, DR to rs1" wait_until 20 dests_are "$D1" "-t $VIP3:80" "198.18.0.11:80:1"
check "... and the others (directord programmed them)" test -n "$(dests_of "$D1" "-t $VIP:80")" \
	-a -n "$(dests_of "$D1" "-t $VIP2:80")" -a -n "$(dests_of "$D1" "-t [$VIP6]:80")"
check "a client reaches the healthy service through IPVS" wait_gently 20 answers "$NS_cl" "$VIP3" hello
# good_counted: IPVS counted a connection to the healthy service (its
# totals are folded in every 2 s: polled).
good_counted() {
	[ "$(in_ns "$D1" ipvsadm -L -n -t "$VIP3:80" --stats --exact | awk '$1 == "TCP" { print $3 }')" -ge 1 ]
}
check "... and IPVS counted it" wait_until 10 good_counted

out=$(doctor good); rc=$?
echo "$out" | sed 's/^/    good: /'
check "the healthy service with IPVS holding it: no finding, exit 0" test "$rc:$out" = "0:no finding"

t0=$(now_ms)
out=$(doctor); rc=$?
echo "$out" | sed 's/^/    /'
echo "    ($(elapsed_ms "$t0") ms)"
check "findings: exit 1" test "$rc" = 1
doctor_lab_findings "$out"

# One more: rs1's web server stops, so its agent's check fails and it
# reports down: named for api, with nothing listening on port 80.
for pid in $(ip netns pids "$RS1"); do
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = python3 ] && kill "$pid"
done
api_out=
agent_down_named() { api_out=$(doctor api); grep -q "^api 198.18.0.11:80: \[agent\] its agent reports 'down" <<<"$api_out"; }
check "rs1's agent reporting down is named" wait_gently 40 agent_down_named
echo "$api_out" | sed 's/^/    api: /'
check "... and nothing listening on its port 80" grep -q "^api 198.18.0.11:80: \[service\] nothing listens on port 80" <<<"$api_out"
dfinish
