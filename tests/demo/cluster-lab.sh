#!/usr/bin/env bash
# The whole Direct Routing cluster, narrated: two directors (directord),
# two real servers (rs-agent and a small web server each) and a client,
# each in a network namespace on one virtual switch. Run by
# tests/demo/cluster-demo.sh (`make demo`), inside the VM of tests/vm when
# this kernel has no IPVS. Every step is checked; the exit status is 0
# only if every one behaved. Namespaces and processes go on every exit.
. "$(dirname "$0")/../vm/director-vm-lib.sh"

need_ipvs
VIP=198.18.0.100
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { sed 's/^/   | /'; }

say "The lab: a client ($ADDR_cl), directors lb ($ADDR_lb) and lb2 ($ADDR_lb2), real servers rs1 ($ADDR_rs1) and rs2 ($ADDR_rs2); the service is http://$VIP/"
lan cl lb lb2 rs1 rs2
for rs in rs1 rs2; do
	write_rs_config "$TMP/$rs.ini" "$rs" "$VIP" \
		"[agent]" "listen = 0.0.0.0:5555" "allow = $ADDR_lb, $ADDR_lb2" \
		"[check web]" "type = http" "port = 80" "interval = 500ms" "timeout = 500ms" "rise = 1" "fall = 2"
	ns=NS_$rs
	start_agent "${!ns}" "$TMP/$rs.ini" "$TMP/agent-$rs.log" || { fail "rs-agent starts on $rs"; dfinish; }
	www "$rs" "${!ns}" 4096
done
echo "rs-agent puts the VIP on each real server's loopback and stops it from answering ARP for it:"
in_ns "$NS_rs1" ip -4 -br addr show dev lo | show
echo "   rs1: arp_ignore=$(in_ns "$NS_rs1" cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" \
	"arp_announce=$(in_ns "$NS_rs1" cat /proc/sys/net/ipv4/conf/eth0/arp_announce) on eth0"
for rs in rs1 rs2; do
	a=ADDR_$rs
	check "$rs's web server answers" wait_gently 30 answers "$NS_cl" "${!a}" "served by $rs"
done

director_conf() {	# director_conf TAG PRIORITY
	dconf "$TMP/$1.ini" "$1" "ipvs_sync_interface = eth0" "ipvs_sync_follow = VI_1" \
		"[vrrp VI_1]" "interface = eth0" "virtual_router_id = 51" "priority = $2" \
		"advert_interval = 1s" "virtual_ipaddress = $VIP/24" "
[virtual_server web]
address = $VIP:80
scheduler = rr
method = dr
vrrp = VI_1
check = http, agent
check_interval = 500ms
check_timeout = 500ms
check_rise = 1
check_fall = 2
agent_port = 5555
agent_interval = 500ms
real_servers = $ADDR_rs1:80, $ADDR_rs2:80"
}
director_conf lb 150
director_conf lb2 100
say "The directors: the same director.ini on both, lb with priority 150, lb2 with 100"
sed -n '/^\[vrrp/,$p' "$TMP/lb.ini" | show
start_dir "$NS_lb" lb "$TMP/lb.ini" || { fail "directord starts on lb"; dfinish; }
start_dir "$NS_lb2" lb2 "$TMP/lb2.ini" || { fail "directord starts on lb2"; dfinish; }
check "lb is the master (it holds the VIP)" wait_gently 30 vmaster lb VI_1 MASTER
check "lb2 is the backup" wait_gently 30 vmaster lb2 VI_1 BACKUP
both_up() { dests_are "$NS_lb" "-t $VIP:80" "$ADDR_rs1:80:1 $ADDR_rs2:80:1"; }
check "lb's IPVS sends to both real servers, each at weight 1" wait_gently 30 both_up
echo "lb's IPVS table (ipvsadm -L -n):"
in_ns "$NS_lb" ipvsadm -L -n | show

say "Six requests from the client to the VIP: the scheduler (rr) alternates"
replies=$(ask_n "$NS_cl" "$VIP" 6)
show <<<"$replies"
alternates() { [ "$(sort -u <<<"$replies" | wc -l)" = 2 ] && ! grep -q ERROR <<<"$replies" && [ "$(uniq <<<"$replies" | wc -l)" = 6 ]; }
check "the replies alternate between rs1 and rs2" alternates
outpkts=$(ipvs_stat "$NS_lb" 5)
echo "   lb's IPVS counters: $(ipvs_stat "$NS_lb" 3) connections, $(ipvs_stat "$NS_lb" 4) packets in, $outpkts packets out"
check "the replies went straight from the real servers to the client: lb carried none of them" [ "${outpkts:-x}" = 0 ]

say "rs1 goes into maintenance: 'rs-agent drain' on rs1"
in_ns "$NS_rs1" "$RS_AGENT" -f "$TMP/rs1.ini" drain | show
check "lb gives rs1 weight 0 (its open connections would finish)" wait_gently 30 weight_is "$NS_lb" "-t $VIP:80" "$ADDR_rs1:80" 0
replies=$(ask_n "$NS_cl" "$VIP" 4)
show <<<"$replies"
check "new requests all go to rs2" [ "$(sort -u <<<"$replies")" = "served by rs2" ]
in_ns "$NS_rs1" "$RS_AGENT" -f "$TMP/rs1.ini" ready | show
check "'rs-agent ready': rs1 is back at weight 1" wait_gently 30 weight_is "$NS_lb" "-t $VIP:80" "$ADDR_rs1:80" 1
replies=$(ask_n "$NS_cl" "$VIP" 4)
check "and answers again ($(sort -u <<<"$replies" | paste -sd, -))" [ "$(sort -u <<<"$replies" | wc -l)" = 2 ]

say "A 4 MiB download at 256 KiB/s; during it, lb is killed (SIGKILL, no goodbye)"
bg_in "$NS_cl" "$TMP/download.log" curl -sS --limit-rate 256k -o "$TMP/download.bin" -w '%{http_code} %{size_download}\n' "http://$VIP/big.bin"
dl=$LAST_PID
check "the download is under way" wait_gently 20 bash -c "[ -s '$TMP/download.bin' ]"
check "lb2 has learnt the connection from lb's sync daemon" \
	wait_gently 30 bash -c "ip netns exec $NS_lb2 ipvsadm -L -n -c | grep -q ' $VIP:80 '"
kill -KILL -- "-$PID_lb"
echo "   lb killed at $(date +%T); lb2 waits Master_Down_Interval (about 3.6 s) without adverts, then takes over"
check "lb2 is master now" wait_gently 30 vmaster lb2 VI_1 MASTER
echo "   lb2 took over; the download goes on through it"
check "the download completes" wait_until 60 not kill -0 "$dl"
got=$(cat "$TMP/download.log")
want_size=$(stat -c %s "$TMP/www-rs1/big.bin")
echo "   curl: HTTP status and bytes: $got (the file has $want_size)"
same_file() { cmp -s "$TMP/download.bin" "$TMP/www-rs1/big.bin" || cmp -s "$TMP/download.bin" "$TMP/www-rs2/big.bin"; }
check "all of it arrived, byte for byte" same_file
replies=$(ask_n "$NS_cl" "$VIP" 4)
check "new requests are served through lb2 ($(sort -u <<<"$replies" | paste -sd, -))" [ "$(sort -u <<<"$replies" | wc -l)" = 2 ]

say "directorctl status on lb2"
ctl lb2 status | show
say "rs-agent status on rs1"
in_ns "$NS_rs1" "$RS_AGENT" -f "$TMP/rs1.ini" status | show

say "Done: cleaning up the namespaces"
dfinish
