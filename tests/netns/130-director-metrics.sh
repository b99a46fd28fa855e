#!/usr/bin/env bash
# Prometheus metrics, scraped by a real Prometheus from Debian: two
# directord (two VRRP instances, an LVS engine on d1) and an rs-agent
# serve GET /metrics on global.metrics_listen; `promtool check metrics`
# accepts each output; an address off metrics_allow gets no answer and is
# counted; scraped thousands of times, d1 keeps its advert interval on
# the wire; Prometheus (scrape_interval 1s, in a namespace of its own)
# reports through its HTTP API the VRRP state of each instance, and the
# new state after a failover (d1 stopped). The example alert rules pass
# `promtool check rules` and evaluate in that server, raising quorum lost
# and real server down for a dead real server, two masters for a split
# brain (made by a VRRP version mismatch) and no master for an instance
# that cannot start; the example Grafana dashboard
# is valid JSON; every metric they use is in the man pages.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/director-lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RULES=$ROOT/contrib/prometheus/dsrkit-alerts.yml
DASHBOARD=$ROOT/contrib/prometheus/dsrkit-dashboard.json
for tool in prometheus promtool; do
	command -v "$tool" >/dev/null || { skip "130-director-metrics: no $tool (Debian package prometheus)"; exit 0; }
done

VIP=198.18.0.100 VIP2=198.18.0.101
two_directors
ns_new rs
ns_new prom
RS=$NS_rs P=$NS_prom
join "$RS" eth0 br0 02:00:00:00:03:01 198.18.0.11/24
join "$P" eth0 br0 02:00:00:00:04:01 198.18.0.50/24 198.18.0.51/24
ip -n "$P" link set lo up
ALLOW="metrics_allow = 198.18.0.50/32"
dconf "$TMP/d1.ini" d1 "metrics_listen = 198.18.0.1:9101" "$ALLOW" \
	"$(vrrp VI_1 eth0 51 150 $VIP/24)" "$(vrrp VI_2 eth0 52 150 $VIP2/24)" \
	"[virtual_server web]" "address = $VIP:80" "vrrp = VI_1" "check = tcp, agent" "check_interval = 300ms" \
	"agent_port = 5555" "real_server = 198.18.0.11:80"
# A track script and a local check (both always pass), so that every
# family the man pages list has samples here (see doc_vs_scraped).
dconf "$TMP/d2.ini" d2 "metrics_listen = 198.18.0.2:9101" "$ALLOW" \
	"$(vrrp VI_1 eth0 51 100 $VIP/24)" "$(vrrp VI_2 eth0 52 100 $VIP2/24)" \
	"[track_script always]" "command = true" "interval = 200ms" "timeout = 100ms"
# Port 910: below 1024, bound before rs-agent drops root.
write_rs_config "$TMP/rs.ini" rs "$VIP" "metrics_listen = 198.18.0.11:910" "$ALLOW" \
	"[agent]" "listen = 0.0.0.0:5555" "allow = 198.18.0.1, 198.18.0.2" \
	"[check always]" "type = script" "command = true" "interval = 200ms" "timeout = 100ms" "rise = 1"

start_pair VI_1 || { fail "d1 master, d2 backup"; dfinish; }
check "d2 is backup of VI_2" wait_ms 3000 state_is d2 VI_2 BACKUP
start_agent "$RS" "$TMP/rs.ini" "$TMP/rs.log" || { fail "rs-agent starts"; dfinish; }

# fetch FROM URL OUT: GET from address FROM in the Prometheus namespace;
# the body in OUT, the status code printed ("none": no answer at all).
fetch() {
	in_ns "$P" timeout 10 "$PY" - "$1" "$2" "$3" <<'EOF'
import http.client, socket, sys
src, url, out = sys.argv[1], sys.argv[2], sys.argv[3]
host, rest = url.split("//", 1)[1].split("/", 1)
addr, port = host.rsplit(":", 1)
try:
    c = http.client.HTTPConnection(addr, int(port), timeout=5, source_address=(src, 0))
    c.request("GET", "/" + rest)
    r = c.getresponse()
    open(out, "wb").write(r.read())
    print(r.status)
except (http.client.HTTPException, OSError):
    print("none")
EOF
}

for t in d1:198.18.0.1:9101 d2:198.18.0.2:9101 rs:198.18.0.11:910; do
	tag=${t%%:*} ep=${t#*:}
	code=$(fetch 198.18.0.50 "http://$ep/metrics" "$TMP/$tag.prom")
	check "$tag: GET /metrics answers 200" [ "$code" = 200 ]
	check "$tag: promtool check metrics accepts the output" \
		bash -c "promtool check metrics <'$TMP/$tag.prom' >'$TMP/$tag.promtool' 2>&1 || { cat '$TMP/$tag.promtool'; exit 1; }"
done
has() { grep -qxF "$2" "$TMP/$1.prom" || { echo "    $1: no line '$2'"; return 1; }; }

# doc_vs_scraped MAN "NAME..." SCRAPE...: the families the scrapes
# announce (# TYPE) are exactly those MAN's METRICS section lists, and
# each has samples, but the NAMEs (which this lab cannot show; the
# caller says why).
doc_vs_scraped() {
	"$PY" - "$@" <<'EOF'
import re, sys
man, skip, scrapes = sys.argv[1], set(sys.argv[2].split()), sys.argv[3:]
section = open(man).read().split("\n.Sh METRICS\n", 1)[1].split("\n.Sh ", 1)[0]
documented = set(re.findall(r"^\.It Va (dsrkit_[a-z0-9_]+)$", section, re.M))
typed, sampled = set(), set()
for f in scrapes:
    for line in open(f, encoding="utf-8"):
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            typed.add(m.group(1))
        elif line.startswith("dsrkit_"):
            sampled.add(re.sub(r"_(bucket|sum|count)$", "", re.split(r"[{ ]", line, 1)[0]))
problems = [f"emitted, not in the man page: {n}" for n in sorted(typed - documented)]
problems += [f"in the man page, not emitted: {n}" for n in sorted(documented - typed - skip)]
problems += [f"announced without a sample: {n}" for n in sorted(typed - sampled - skip)]
problems += [f"sampled, not announced: {n}" for n in sorted(sampled - typed)]
problems += [f"listed as not shown here, yet emitted: {n}" for n in sorted(skip & sampled)]
print("\n".join("    " + p for p in problems))
sys.exit(1 if problems or not documented else 0)
EOF
}
# Not shown in this lab: the sync daemon (ipvs_sync_interface, with IPVS:
# tests/vm/30), the kernel's counters and weights (no IPVS here), the
# load weight (agent.weight_from), announced services (tests/vm/32).
check "directord(8) METRICS lists exactly the families d1 and d2 emit" doc_vs_scraped "$ROOT/man/directord.8" \
	"dsrkit_ipvs_sync_daemon_wanted dsrkit_ipvs_sync_daemon_running dsrkit_ipvs_sync_daemon_in_step
	 dsrkit_ipvs_connections_total dsrkit_ipvs_packets_total dsrkit_ipvs_bytes_total dsrkit_ipvs_active_connections
	 dsrkit_ipvs_inactive_connections dsrkit_lvs_real_server_weight
	 dsrkit_lvs_virtual_server_announced dsrkit_lvs_virtual_server_announce_state" "$TMP/d1.prom" "$TMP/d2.prom"
check "rs-agent(8) METRICS lists exactly the families rs-agent emits" doc_vs_scraped "$ROOT/man/rs-agent.8" \
	"dsrkit_rs_load_weight_percent" "$TMP/rs.prom"
# drop_reasons: the reasons directord(8) lists for dsrkit_vrrp_drops_total
# are those d2 counts (in the same order).
drop_reasons() {
	"$PY" - "$ROOT/man/directord.8" "$TMP/d2.prom" <<'EOF'
import re, sys
man = open(sys.argv[1]).read()
listed = re.search(r"^\.It Va dsrkit_vrrp_drops_total\n.*\n.*by reason: ([a-z_, ]+) \(", man, re.M).group(1).split(", ")
scraped = re.findall(r'^dsrkit_vrrp_drops_total\{vrrp_instance="VI_1",reason="([a-z_]+)"\}', open(sys.argv[2]).read(), re.M)
print(f"    man: {listed}\n    scraped: {scraped}" if listed != scraped else "", end="")
sys.exit(listed != scraped)
EOF
}
check "directord(8) names the drop reasons dsrkit_vrrp_drops_total has" drop_reasons
check "d1: VI_1 and VI_2 are master" \
	bash -c "grep -qxF 'dsrkit_vrrp_state{vrrp_instance=\"VI_1\",state=\"master\"} 1' '$TMP/d1.prom' &&
		 grep -qxF 'dsrkit_vrrp_state{vrrp_instance=\"VI_2\",state=\"master\"} 1' '$TMP/d1.prom'"
check "d2: VI_1 is backup" has d2 'dsrkit_vrrp_state{vrrp_instance="VI_1",state="backup"} 1'
check "d2: base priority 100" has d2 'dsrkit_vrrp_priority{vrrp_instance="VI_1"} 100'
check "d2: the master's advert age is shown" grep -q '^dsrkit_vrrp_master_advert_age_seconds{vrrp_instance="VI_1"} 0\.' "$TMP/d2.prom"
check "d1: both engines up" \
	bash -c "grep -qxF 'dsrkit_engine_up{engine=\"vrrp\"} 1' '$TMP/d1.prom' && grep -qxF 'dsrkit_engine_up{engine=\"lvs\"} 1' '$TMP/d1.prom'"
check "d1: the real server's configured weight" \
	has d1 'dsrkit_lvs_real_server_weight_configured{virtual_server="web",real_server="198.18.0.11:80"} 1'
# scraped_has EP REGEX: a fresh scrape of EP has a line matching REGEX.
scraped_has() { [ "$(fetch 198.18.0.50 "http://$1/metrics" "$TMP/fresh.prom")" = 200 ] && grep -qE "$2" "$TMP/fresh.prom"; }
check "d1: the real server's agent replies are counted (up)" wait_ms 5000 scraped_has 198.18.0.1:9101 \
	'^dsrkit_lvs_agent_replies_total\{virtual_server="web",real_server="198.18.0.11:80",answer="up"\} [1-9]'
check "d1: tcp check results are counted (fail: nothing listens on port 80)" wait_ms 5000 scraped_has 198.18.0.1:9101 \
	'^dsrkit_lvs_check_results_total\{virtual_server="web",real_server="198.18.0.11:80",check="tcp",result="fail"\} [1-9]'
check "d1: the real server is down (one-hot)" scraped_has 198.18.0.1:9101 \
	'^dsrkit_lvs_real_server_state\{virtual_server="web",real_server="198.18.0.11:80",state="down"\} 1$'
check "rs: the VIP is on lo" has rs "dsrkit_rs_vip_present{vip=\"$VIP\",interface=\"lo\"} 1"
check "rs: agent replies counted by answer" wait_ms 5000 scraped_has 198.18.0.11:910 \
	'^dsrkit_rs_agent_replies_total\{answer="up"\} [1-9]'
check "404 for another path" [ "$(fetch 198.18.0.50 http://198.18.0.1:9101/ "$TMP/x")" = 404 ]

# Off the allow list: closed without a byte, and counted.
check "d1: an address not on metrics_allow gets no answer" \
	[ "$(fetch 198.18.0.51 http://198.18.0.1:9101/metrics "$TMP/x")" = none ]
check "rs: an address not on metrics_allow gets no answer" \
	[ "$(fetch 198.18.0.51 http://198.18.0.11:910/metrics "$TMP/x")" = none ]
fetch 198.18.0.50 http://198.18.0.1:9101/metrics "$TMP/d1b.prom" >/dev/null
check "d1: the refusal is counted" \
	grep -qxF 'dsrkit_metrics_refused_connections_total{reason="not_allowed"} 1' "$TMP/d1b.prom"
fetch 198.18.0.50 http://198.18.0.11:910/metrics "$TMP/rsb.prom" >/dev/null
check "rs: the refusal is counted" \
	grep -qxF 'dsrkit_rs_metrics_refused_connections_total{reason="not_allowed"} 1' "$TMP/rsb.prom"

# A reload takes a new metrics_allow at once.
sed -i 's|^metrics_allow = .*|metrics_allow = 198.18.0.50, 198.18.0.51|' "$TMP/d2.ini" "$TMP/rs.ini"
check "d2 reloads" ctl d2 reload
kill -HUP "$AGENT_PID"
answered() { [ "$(fetch "$1" "$2" "$TMP/x")" = 200 ]; }	# answered FROM URL
check "d2: after the reload the new address is answered" wait_ms 3000 answered 198.18.0.51 http://198.18.0.2:9101/metrics
check "rs: after the reload the new address is answered" wait_ms 3000 answered 198.18.0.51 http://198.18.0.11:910/metrics
fetch 198.18.0.50 http://198.18.0.2:9101/metrics "$TMP/d2b.prom" >/dev/null
check "d2: the reload is counted, with its time" \
	bash -c "grep -qxF 'dsrkit_reloads_total{result=\"success\"} 1' '$TMP/d2b.prom' &&
		 [ \"\$(sed -n 's/^dsrkit_config_last_reload_success_timestamp_seconds //p' '$TMP/d2b.prom')\" -ge $(( $(date +%s) - 30 )) ]"

# Scraped as fast as 4 clients can for 3 s, d1 keeps its advert interval
# (100 ms): the VRRP engine's timing does not depend on scrapes.
capture "$TMP/wire" vrrp || fail "tcpdump listens on the bridge"
t_load=$(now_ms)
scrapes=$(in_ns "$P" timeout 20 "$PY" - <<'EOF'
import threading, time, urllib.request
n = [0]
def run():
    end = time.time() + 3
    while time.time() < end:
        urllib.request.urlopen("http://198.18.0.1:9101/metrics", timeout=5).read()
        n[0] += 1
ts = [threading.Thread(target=run) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print(n[0])
EOF
)
sleep 0.2
stop_capture
gap=$(RE=$(re_advert 198.18.0.1 51) awk -v t="$t_load" '$1 ~ /^[0-9]+\.[0-9]+$/ && $1 * 1000 >= t && $0 ~ ENVIRON["RE"] {
	x = $1 * 1000; if (p && x - p > m) m = x - p; p = x } END { printf "%.1f\n", m }' "$TMP/wire")
check "d1 scraped ${scrapes:-0} times in 3 s (at least 100)" [ "${scrapes:-0}" -ge 100 ]
check "... its adverts stay on time meanwhile (longest gap ${gap} ms, interval 100 ms)" in_range "$gap" 90 130

# The contrib files: rules accepted, dashboard valid, names documented.
check "promtool check rules accepts contrib/prometheus/dsrkit-alerts.yml" promtool check rules "$RULES"
check "the Grafana dashboard is valid JSON with panels" \
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["panels"] and all(p["targets"] for p in d["panels"])' "$DASHBOARD"
undocumented=$(grep -ohE 'dsrkit_[a-z_]+' "$RULES" "$DASHBOARD" | sed -E 's/_(bucket|sum|count)$//' | sort -u |
	while read -r m; do grep -qF "$m" "$ROOT/man/directord.8" "$ROOT/man/rs-agent.8" || echo "$m"; done)
check "every metric the rules and the dashboard use is in the man pages${undocumented:+ (not: $undocumented)}" \
	[ -z "$undocumented" ]

# A real Prometheus scrapes all three.
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['$RULES']
scrape_configs:
  - job_name: directord
    static_configs: [{ targets: ['198.18.0.1:9101', '198.18.0.2:9101'] }]
  - job_name: rs-agent
    static_configs: [{ targets: ['198.18.0.11:910'] }]
EOF
bg_in "$P" "$TMP/prometheus.log" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/prom-data" --web.listen-address=127.0.0.1:9090
# query EXPR: the API's result as "instance vrrp_instance value" lines, sorted.
query() {
	in_ns "$P" timeout 5 "$PY" - "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[1]})
try:
    r = json.load(urllib.request.urlopen(url, timeout=3))
except OSError:
    sys.exit(1)
for s in sorted(r["data"]["result"], key=lambda s: sorted(s["metric"].items())):
    m = s["metric"]
    print(m.get("instance", "-"), m.get("vrrp_instance", "-"), s["value"][1])
EOF
}
query_is() { local got; got=$(query "$1") && [ "$got" = "$2" ]; }
masters='dsrkit_vrrp_state{state="master"}'
before=$'198.18.0.1:9101 VI_1 1\n198.18.0.1:9101 VI_2 1\n198.18.0.2:9101 VI_1 0\n198.18.0.2:9101 VI_2 0'
check "Prometheus: d1 is master of VI_1 and VI_2, d2 of neither" wait_ms 30000 query_is "$masters" "$before"
check "Prometheus: all three targets up" wait_ms 10000 query_is 'sum(up)' "- - 3"
check "Prometheus: rs-agent's VIP present" query_is 'dsrkit_rs_vip_present' "198.18.0.11:910 - 1"
# The example rules match what the daemons export: d1's real server is
# down (nothing listens on its port 80), so its virtual server has no
# quorum; both alerts are pending (or firing) for it.
alerts_for_web() {
	in_ns "$P" timeout 5 "$PY" -c '
import json, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/alerts", timeout=3))
print(" ".join(sorted(a["labels"]["alertname"] for a in r["data"]["alerts"]
                      if a["labels"].get("virtual_server") == "web" and a["state"] in ("pending", "firing"))))'
}
alerts_are() { [ "$(alerts_for_web)" = "$1" ]; }
check "Prometheus: DsrkitQuorumLost and DsrkitRealServerDown are raised for web" \
	wait_ms 10000 alerts_are "DsrkitQuorumLost DsrkitRealServerDown"
# A split brain: d2's VI_1 speaks VRRPv2, so each drops the other's
# adverts and both are master; DsrkitVrrpTwoMasters is raised for VI_1.
# Back to v3, d2 hears d1's higher priority and is backup again.
d2conf() {	# d2conf [VI_1 line...]
	dconf "$TMP/d2.ini" d2 "metrics_listen = 198.18.0.2:9101" "metrics_allow = 198.18.0.50, 198.18.0.51" \
		"$(vrrp VI_1 eth0 51 100 $VIP/24 "$@" | sed "${1:+s/^advert_interval = .*/advert_interval = 1s/}")" \
		"$(vrrp VI_2 eth0 52 100 $VIP2/24)"
}
two_masters() {
	in_ns "$P" timeout 5 "$PY" -c '
import json, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/alerts", timeout=3))
print(" ".join(sorted(a["labels"]["vrrp_instance"] for a in r["data"]["alerts"]
                      if a["labels"]["alertname"] == "DsrkitVrrpTwoMasters")))'
}
two_masters_are() { [ "$(two_masters)" = "$1" ]; }
d2conf "version = 2"
check "d2 reloads with VI_1 as VRRPv2" ctl d2 reload
check "split brain: d2 becomes master of VI_1 too" wait_ms 10000 state_is d2 VI_1 MASTER
check "Prometheus: DsrkitVrrpTwoMasters is raised for VI_1 (only)" wait_ms 15000 two_masters_are VI_1
d2conf
check "d2 reloads with VI_1 as VRRPv3 again" ctl d2 reload
check "d2 is backup of VI_1 again" wait_ms 5000 state_is d2 VI_1 BACKUP
check "Prometheus: DsrkitVrrpTwoMasters is gone" wait_ms 15000 two_masters_are ""

# Failover: d1 stops (priority 0), d2 takes both instances.
check "d1 stops" stop_director d1
check "d2 becomes master of VI_1" wait_ms 3000 state_is d2 VI_1 MASTER
after=$'198.18.0.2:9101 VI_1 1\n198.18.0.2:9101 VI_2 1'
check "Prometheus: after the failover d2 is master of VI_1 and VI_2" \
	wait_ms 15000 query_is "$masters unless on(instance) up{job=\"directord\"} == 0" "$after"
check "Prometheus: d1's target is down" wait_ms 10000 query_is 'up{instance="198.18.0.1:9101"}' "198.18.0.1:9101 - 0"
# No master: d2 reloads with VI_2 on a missing interface (ERROR), and
# d1 is gone: DsrkitVrrpNoMaster is raised for VI_2.
no_master() {
	in_ns "$P" timeout 5 "$PY" -c '
import json, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/alerts", timeout=3))
print(" ".join(sorted(a["labels"]["vrrp_instance"] for a in r["data"]["alerts"]
                      if a["labels"]["alertname"] == "DsrkitVrrpNoMaster")))'
}
no_master_is() { [ "$(no_master)" = "$1" ]; }
dconf "$TMP/d2.ini" d2 "metrics_listen = 198.18.0.2:9101" "metrics_allow = 198.18.0.50" \
	"$(vrrp VI_1 eth0 51 100 $VIP/24)" "$(vrrp VI_2 eth9 52 100 $VIP2/24)"
check "d2 reloads with VI_2 on a missing interface" ctl d2 reload
check "Prometheus: d2's VI_2 is in error" wait_ms 10000 query_is 'dsrkit_vrrp_state{state="error"} == 1' "198.18.0.2:9101 VI_2 1"
check "Prometheus: DsrkitVrrpNoMaster is raised for VI_2 (only)" wait_ms 15000 no_master_is VI_2
rules_ok() {
	in_ns "$P" timeout 5 "$PY" -c '
import json, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/rules", timeout=3))
rules = [x for g in r["data"]["groups"] for x in g["rules"]]
assert len(rules) == 6 and all(x["health"] == "ok" for x in rules), rules
'
}
check "Prometheus evaluates the example alert rules without error" wait_ms 10000 rules_ok
dfinish
