#!/usr/bin/env bash
# Smoke test of the VM harness: IPVS Direct Routing end to end, with Debian's
# tools only. A client, a director and two real servers share one bridge
# (198.18.0.0/24). The director holds the VIP and an IPVS service VIP:80 rr
# with both real servers as DR (-g) destinations; each real server has the
# VIP on lo with arp_ignore=1/arp_announce=2 and serves a page naming itself.
# The client must get answers from both, and the director's IPVS counters
# must show packets in and none out: replies go straight to the client.
. "$(dirname "$0")/lib.sh"

need_ipvs

VIP=198.18.0.100
REQUESTS=6

ns_new sw
ns_new cl
ns_new lb
ns_new rs1
ns_new rs2
bridge_ns "$NS_sw" br0
port_to_bridge "$NS_cl" 198.18.0.1/24 "$NS_sw" br0 p-cl
port_to_bridge "$NS_lb" 198.18.0.2/24 "$NS_sw" br0 p-lb
port_to_bridge "$NS_rs1" 198.18.0.11/24 "$NS_sw" br0 p-rs1
port_to_bridge "$NS_rs2" 198.18.0.12/24 "$NS_sw" br0 p-rs2

# The director owns the VIP: it answers ARP for it and IPVS takes the packets.
in_ns "$NS_lb" ip addr add "$VIP/32" dev eth0

for rs in rs1 rs2; do
	ns=NS_$rs; ns=${!ns}
	for dev in all eth0; do
		echo 1 | in_ns "$ns" tee "/proc/sys/net/ipv4/conf/$dev/arp_ignore" >/dev/null
		echo 2 | in_ns "$ns" tee "/proc/sys/net/ipv4/conf/$dev/arp_announce" >/dev/null
	done
	in_ns "$ns" ip addr add "$VIP/32" dev lo
	mkdir -p "$TMP/www-$rs"
	echo "served by $rs" >"$TMP/www-$rs/index.html"
	bg_in "$ns" "$TMP/http-$rs.log" python3 -m http.server 80 --bind 0.0.0.0 --directory "$TMP/www-$rs"
done

for rs in rs1 rs2; do
	ip=198.18.0.1${rs#rs}
	if wait_until 30 http_get "$NS_cl" "http://$ip/" 2; then
		pass "$rs serves HTTP on its own address $ip"
	else
		fail "$rs serves HTTP on its own address $ip"
		cat "$TMP/http-$rs.log"
	fi
done
check "rs1 does not answer ARP for the VIP (arp_ignore=1)" \
	[ "$(in_ns "$NS_rs1" cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1 ]

in_ns "$NS_lb" ipvsadm -A -t "$VIP:80" -s rr
in_ns "$NS_lb" ipvsadm -a -t "$VIP:80" -r 198.18.0.11:80 -g -w 1
in_ns "$NS_lb" ipvsadm -a -t "$VIP:80" -r 198.18.0.12:80 -g -w 1
table=$(in_ns "$NS_lb" ipvsadm -L -n)
check "IPVS service $VIP:80 rr is programmed" grep -q "^TCP  *$VIP:80 rr" <<<"$table"
check "both real servers are DR (Route) destinations" [ "$(grep -c ' Route ' <<<"$table")" = 2 ]

answered=0 seen1=0 seen2=0
for ((i = 1; i <= REQUESTS; i++)); do
	body=$(http_get "$NS_cl" "http://$VIP/" 10 2>"$TMP/get.err") || { cat "$TMP/get.err"; continue; }
	answered=$((answered + 1))
	case $body in
	"served by rs1") seen1=$((seen1 + 1)) ;;
	"served by rs2") seen2=$((seen2 + 1)) ;;
	*) echo "unexpected reply: $body" ;;
	esac
done
check "all $REQUESTS requests to the VIP answered ($answered)" [ "$answered" = "$REQUESTS" ]
check "replies came from rs1 ($seen1) and rs2 ($seen2)" [ "$seen1" -ge 1 -a "$seen2" -ge 1 ]

lb_mac=$(in_ns "$NS_lb" cat /sys/class/net/eth0/address)
vip_mac=$(in_ns "$NS_cl" ip neigh show "$VIP" dev eth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
check "the client's ARP entry for the VIP is the director ($vip_mac = $lb_mac)" [ "$vip_mac" = "$lb_mac" ]

# The kernel folds its per-CPU counters into these totals every 2 s.
conns_at_least() { [ "$(ipvs_stat "$NS_lb" 3)" -ge "$1" ]; }
wait_until 10 conns_at_least "$REQUESTS"
in_ns "$NS_lb" ipvsadm -L -n --stats --exact
conns=$(ipvs_stat "$NS_lb" 3)
inpkts=$(ipvs_stat "$NS_lb" 4)
outpkts=$(ipvs_stat "$NS_lb" 5)
check "IPVS counted $REQUESTS connections ($conns)" [ "${conns:-0}" -ge "$REQUESTS" ]
check "IPVS saw incoming packets ($inpkts)" [ "${inpkts:-0}" -gt 0 ]
check "IPVS saw no outgoing packets: replies bypassed the director ($outpkts)" [ "${outpkts:-x}" = 0 ]

finish
