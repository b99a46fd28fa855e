/* director.ini's [virtual_server NAME] sections (config_lvs.c): the
 * design's example, defaults, IPv6 and fwmark services, real servers as
 * real_server lines and as a real_servers list, every error with its line
 * and key, normalized printing that loads again, and the structs
 * the LVS engine gets (virtual_server_key, real_server_dest). */
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directord.h"
#include "lvs.h"
#include "test.h"
#include "test_diag.h"
#include "test_tls_server.h"

static char path[64];

static int load_text(const char *text, struct director_config **cfg, struct ini_diag *diag)
{
	FILE *f;
	int fd;

	*cfg = NULL;
	strlcpy_safe(path, "/tmp/dsrkit-lvsconf.XXXXXX", sizeof(path));
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
	ini_diag_init(diag);
	return director_config_load(path, cfg, diag);
}

static void print_diag(const struct ini_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    %s\n", d->msgs[i]);
}

/* The text must load without a message; the caller frees *cfg. */
static struct director_config *load_ok(const char *text)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	int ret = load_text(text, &cfg, &diag);

	if (ret != 0 || diag.n != 0) {
		fprintf(stderr, "  load failed (%d):\n", ret);
		print_diag(&diag);
		test_failed_checks++;
	}
	ini_diag_free(&diag);
	unlink(path);
	return cfg;
}

/* needle follows the path: ":LINE: section.key: message". */
static void expect_error_at(const char *text, const char *needle, int line)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	if (load_text(text, &cfg, &diag) >= 0 || cfg != NULL) {
		fprintf(stderr, "  test line %d: loaded, expected \"%s\"\n", line, needle);
		test_failed_checks++;
	} else if (!diag_has(&diag, needle)) {
		fprintf(stderr, "  test line %d\n", line);
		test_failed_checks++;
	}
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

#define expect_error(text, needle) expect_error_at(text, needle, __LINE__)

static struct ipaddr addr_of(const char *s)
{
	struct ipaddr a;
	char err[PARSE_ERR_MAX];

	memset(&a, 0, sizeof(a));
	parse_ipaddr(s, &a, err);
	return a;
}

/* DESIGN.md's configuration sketch, with the second instance its sync
 * group names. */
static const char design_example[] =
	"[global]\n"
	"router_id = lb1\n"
	"\n"
	"[track_script chk_haproxy]\n"
	"command = killall -0 haproxy\n"
	"interval = 2s\n"
	"weight = 2\n"
	"\n"
	"[sync_group VSG]\n"
	"instances = VI_PUBLIC, VI_PRIVATE\n"
	"\n"
	"[vrrp VI_PUBLIC]\n"
	"interface = eth0\n"
	"virtual_router_id = 51\n"
	"priority = 101\n"
	"virtual_ipaddress = 100.100.100.100/24 brd 100.100.100.255\n"
	"track_script = chk_haproxy\n"
	"\n"
	"[vrrp VI_PRIVATE]\n"
	"interface = eth1\n"
	"virtual_router_id = 52\n"
	"virtual_ipaddress = 192.168.100.20/24\n"
	"\n"
	"[virtual_server web]\n"
	"address = 192.168.100.20:80\n"
	"protocol = tcp\n"
	"scheduler = wlc\n"
	"method = dr\n"
	"check = http\n"
	"check_path = /\n"
	"real_servers = 192.168.100.3:80, 192.168.100.4:80 weight=2\n";

TEST(design_example_loads)
{
	struct director_config *cfg = load_ok(design_example);
	struct virtual_server_conf *vs;
	const struct real_server_conf *rs;
	struct ipaddr a;

	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->lvs.nservices, 1);
	vs = director_config_virtual_server(cfg, "WEB");
	CHECK(vs != NULL && vs == cfg->lvs.services);
	if (!vs)
		goto out;
	CHECK_EQ_STR(vs->name, "web");
	CHECK_EQ_INT(vs->address.addr.family, AF_INET);
	a = addr_of("192.168.100.20");
	CHECK(ipaddr_equal(&vs->address.addr, &a));
	CHECK_EQ_INT(vs->address.port, 80);
	CHECK_EQ_INT(vs->fwmark, 0);
	CHECK_EQ_INT(vs->protocol, IPPROTO_TCP);
	CHECK_EQ_STR(vs->scheduler, "wlc");
	CHECK_EQ_INT(vs->default_fwd, IP_VS_CONN_F_DROUTE);
	CHECK_EQ_INT(vs->check, LVS_CHECK_HTTP);
	CHECK(!vs->check_agent);
	CHECK_EQ_STR(vs->check_path, "/");
	CHECK_EQ_INT(vs->real_servers.n, 2);
	rs = &vs->real_servers.items[0];
	a = addr_of("192.168.100.3");
	CHECK(ipaddr_equal(&rs->addr, &a));
	CHECK_EQ_INT(rs->port, 80);
	CHECK_EQ_INT(rs->weight, 1);
	CHECK_EQ_INT(rs->fwd, IP_VS_CONN_F_DROUTE);
	rs = &vs->real_servers.items[1];
	CHECK_EQ_INT(rs->weight, 2);
	CHECK_EQ_INT(rs->port, 80);
out:
	director_config_free(cfg);
}

TEST(defaults)
{
	struct director_config *cfg = load_ok("[virtual_server w]\naddress = 192.0.2.80:80\n"
					      "real_servers = 198.18.0.11\n");
	struct virtual_server_conf *vs;

	if (!cfg)
		return;
	/* [global] */
	CHECK_EQ_INT(cfg->lvs.on_stop, LVS_STOP_KEEP);
	CHECK_EQ_INT(cfg->lvs.reconcile_interval_ms, 0);
	CHECK_EQ_INT(cfg->ninstances, 0);
	vs = cfg->lvs.services;
	CHECK(vs != NULL);
	if (!vs)
		goto out;
	CHECK_EQ_INT(vs->protocol, IPPROTO_TCP);
	CHECK_EQ_INT(vs->family, 0);
	CHECK_EQ_STR(vs->scheduler, "wlc");
	CHECK_EQ_INT(vs->scheduler_flags, 0);
	CHECK_EQ_INT(vs->default_fwd, IP_VS_CONN_F_DROUTE);
	CHECK_EQ_INT(vs->persistence_timeout_ms, 0);
	CHECK_EQ_INT(vs->persistence_netmask, 0);
	CHECK(!vs->one_packet);
	CHECK_EQ_INT(vs->sorry_server.addr.family, 0);
	CHECK_EQ_INT(vs->quorum, 1);
	CHECK_EQ_INT(vs->quorum_hysteresis, 0);
	CHECK(!vs->inhibit_on_failure);
	CHECK(vs->start_down);
	CHECK(vs->vrrp == NULL);
	CHECK_EQ_INT(vs->check, LVS_CHECK_TCP);
	CHECK(!vs->check_agent);
	CHECK_EQ_INT(vs->check_interval_ms, 2000);
	CHECK_EQ_INT(vs->check_timeout_ms, 1000);
	CHECK_EQ_INT(vs->check_rise, 2);
	CHECK_EQ_INT(vs->check_fall, 3);
	CHECK_EQ_INT(vs->check_address.family, 0);
	CHECK_EQ_INT(vs->check_port, 0);
	CHECK_EQ_STR(vs->check_path, "/");
	CHECK(vs->check_host == NULL);
	CHECK_EQ_INT(vs->check_status_lo, 200);
	CHECK_EQ_INT(vs->check_status_hi, 399);
	CHECK(vs->check_body == NULL && vs->check_command == NULL);
	CHECK(!vs->check_dynamic_weight);
	CHECK_EQ_INT(vs->agent_port, LVS_DEFAULT_AGENT_PORT);
	CHECK_EQ_INT(vs->agent_interval_ms, 2000);
	/* the real server: the service's port and method */
	CHECK_EQ_INT(vs->real_servers.items[0].port, 80);
	CHECK_EQ_INT(vs->real_servers.items[0].fwd, IP_VS_CONN_F_DROUTE);
	CHECK_EQ_INT(vs->real_servers.items[0].weight, 1);
out:
	director_config_free(cfg);
}

/* Defaults that follow other keys. */
TEST(dependent_defaults)
{
	struct director_config *cfg = load_ok("[virtual_server w]\naddress = 192.0.2.80:80\nmethod = nat\n"
					      "check_interval = 500ms\nsorry_server = 198.18.0.99\n"
					      "real_servers = 198.18.0.11:8080, 198.18.0.12 method=dr\n"
					      "[global]\nipvs_on_stop = remove\nipvs_reconcile_interval = 5m\n");
	struct virtual_server_conf *vs;

	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->lvs.on_stop, LVS_STOP_REMOVE);
	CHECK_EQ_INT(cfg->lvs.reconcile_interval_ms, 300000);
	vs = cfg->lvs.services;
	CHECK_EQ_INT(vs->check_timeout_ms, 500);	/* 1s, but not longer than the interval */
	CHECK_EQ_INT(vs->agent_interval_ms, 500);
	CHECK_EQ_INT(vs->real_servers.items[0].fwd, IP_VS_CONN_F_MASQ);
	CHECK_EQ_INT(vs->real_servers.items[0].port, 8080);
	CHECK_EQ_INT(vs->real_servers.items[1].fwd, IP_VS_CONN_F_DROUTE);
	CHECK_EQ_INT(vs->real_servers.items[1].port, 80);
	CHECK_EQ_INT(vs->sorry_server.port, 80);
	CHECK_EQ_INT(vs->sorry_fwd, IP_VS_CONN_F_MASQ);
	director_config_free(cfg);

	/* With the agent, the timeout fits its interval too; without, not. */
	cfg = load_ok("[virtual_server w]\naddress = 192.0.2.80:80\ncheck = tcp, agent\nagent_interval = 300ms\n"
		      "real_servers = 198.18.0.11\n[virtual_server x]\naddress = 192.0.2.80:81\n"
		      "agent_interval = 300ms\nreal_servers = 198.18.0.11\n");
	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->lvs.services->check_timeout_ms, 300);
	CHECK_EQ_INT(cfg->lvs.services->agent_interval_ms, 300);
	CHECK_EQ_INT(cfg->lvs.services->next->check_timeout_ms, 1000);
	director_config_free(cfg);
}

TEST(ipv6_and_fwmark)
{
	struct director_config *cfg = load_ok(
		"[virtual_server v6]\n"
		"address = [2001:db8::80]:443\n"
		"protocol = sctp\n"
		"real_servers = [2001:db8::11]:443 weight=3, 2001:db8::12, [2001:db8::13], 198.18.0.14 method=tun\n"
		"\n"
		"[virtual_server mark]\n"
		"fwmark = 7\n"
		"scheduler = sh\n"
		"scheduler_flags = sh-fallback, sh-port\n"
		"check = none\n"
		"real_servers = 198.18.0.11, 198.18.0.12:8080 weight=4\n"
		"\n"
		"[virtual_server mark6]\n"
		"fwmark = 4294967295\n"
		"family = inet6\n"
		"scheduler = mh\n"
		"scheduler_flags = mh-port flag-3\n"
		"check_port = 80\n"
		"real_servers = 2001:db8::5\n");
	struct virtual_server_conf *v6, *mark, *mark6;
	struct ipaddr a;

	if (!cfg)
		return;
	v6 = director_config_virtual_server(cfg, "v6");
	mark = director_config_virtual_server(cfg, "mark");
	mark6 = director_config_virtual_server(cfg, "mark6");
	CHECK(v6 && mark && mark6);
	if (!v6 || !mark || !mark6)
		goto out;
	CHECK_EQ_INT(v6->address.addr.family, AF_INET6);
	CHECK_EQ_INT(v6->protocol, IPPROTO_SCTP);
	CHECK_EQ_INT(v6->real_servers.n, 4);
	CHECK_EQ_INT(v6->real_servers.items[0].weight, 3);
	CHECK_EQ_INT(v6->real_servers.items[1].port, 443);
	a = addr_of("2001:db8::12");
	CHECK(ipaddr_equal(&v6->real_servers.items[1].addr, &a));
	CHECK_EQ_INT(v6->real_servers.items[2].port, 443);
	CHECK_EQ_INT(v6->real_servers.items[3].addr.family, AF_INET);
	CHECK_EQ_INT(v6->real_servers.items[3].fwd, IP_VS_CONN_F_TUNNEL);

	CHECK_EQ_INT(mark->fwmark, 7);
	CHECK_EQ_INT(mark->family, AF_INET);
	CHECK_EQ_INT(mark->protocol, 0);
	CHECK_EQ_INT(mark->address.addr.family, 0);
	CHECK_EQ_INT(mark->scheduler_flags, IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2);
	CHECK_EQ_INT(mark->real_servers.items[0].port, 0);	/* as the client asked */
	CHECK_EQ_INT(mark->real_servers.items[1].port, 8080);
	CHECK_EQ_INT(mark->check, LVS_CHECK_NONE);

	CHECK_EQ_INT(mark6->fwmark, 4294967295u);
	CHECK_EQ_INT(mark6->family, AF_INET6);
	CHECK_EQ_INT(mark6->scheduler_flags, IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3);
out:
	director_config_free(cfg);
}

TEST(service_key_and_dest)
{
	struct director_config *cfg = load_ok(
		"[virtual_server sticky]\n"
		"address = 198.18.1.3:443\n"
		"scheduler = lc\n"
		"persistence_timeout = 10m\n"
		"persistence_netmask = 24\n"
		"real_servers = 198.18.2.7:443 weight=5 u_threshold=100 l_threshold=10, 198.18.2.8 method=tun\n"
		"\n"
		"[virtual_server dns]\n"
		"address = 198.18.1.2:53\n"
		"protocol = udp\n"
		"one_packet = yes\n"
		"check = none\n"
		"real_servers = 198.18.2.3:5353 method=nat\n"
		"\n"
		"[virtual_server mark]\n"
		"fwmark = 9\n"
		"family = inet6\n"
		"scheduler_flags = flag-1\n"
		"check = none\n"
		"real_servers = 2001:db8::9\n");
	struct virtual_server_conf *vs;
	struct ipvs_service svc;
	struct ipvs_dest d;

	if (!cfg)
		return;
	vs = director_config_virtual_server(cfg, "sticky");
	virtual_server_key(vs, &svc);
	CHECK_EQ_INT(svc.af, AF_INET);
	CHECK_EQ_INT(svc.protocol, IPPROTO_TCP);
	CHECK(ipaddr_equal(&svc.addr, &vs->address.addr));
	CHECK_EQ_INT(svc.port, 443);
	CHECK_EQ_INT(svc.fwmark, 0);
	CHECK_EQ_STR(svc.sched, "lc");
	CHECK_EQ_INT(svc.flags, IP_VS_SVC_F_PERSISTENT);
	CHECK_EQ_INT(svc.timeout, 600);
	CHECK_EQ_INT(svc.netmask, 24);
	real_server_dest(vs, &vs->real_servers.items[0], 7, &d);
	CHECK_EQ_INT(d.weight, 7);	/* the weight given, not the configured one */
	CHECK_EQ_INT(d.port, 443);
	CHECK_EQ_INT(d.fwd, IP_VS_CONN_F_DROUTE);
	CHECK_EQ_INT(d.u_threshold, 100);
	CHECK_EQ_INT(d.l_threshold, 10);
	real_server_dest(vs, &vs->real_servers.items[1], 0, &d);
	CHECK_EQ_INT(d.port, 443);
	CHECK_EQ_INT(d.fwd, IP_VS_CONN_F_TUNNEL);

	vs = director_config_virtual_server(cfg, "dns");
	virtual_server_key(vs, &svc);
	CHECK_EQ_INT(svc.protocol, IPPROTO_UDP);
	CHECK_EQ_INT(svc.flags, IP_VS_SVC_F_ONEPACKET);
	CHECK_EQ_INT(svc.timeout, 0);
	CHECK_EQ_STR(svc.sched, "wlc");
	real_server_dest(vs, &vs->real_servers.items[0], 1, &d);
	CHECK_EQ_INT(d.port, 5353);
	CHECK_EQ_INT(d.fwd, IP_VS_CONN_F_MASQ);

	vs = director_config_virtual_server(cfg, "mark");
	virtual_server_key(vs, &svc);
	CHECK_EQ_INT(svc.af, AF_INET6);
	CHECK_EQ_INT(svc.fwmark, 9);
	CHECK_EQ_INT(svc.protocol, 0);
	CHECK_EQ_INT(svc.addr.family, 0);
	CHECK_EQ_INT(svc.port, 0);
	CHECK_EQ_INT(svc.flags, IP_VS_SVC_F_SCHED1);
	real_server_dest(vs, &vs->real_servers.items[0], 1, &d);
	CHECK_EQ_INT(d.port, 0);
	CHECK_EQ_INT(d.addr.family, AF_INET6);
	director_config_free(cfg);
}

TEST(real_server_names)
{
	struct director_config *cfg = load_ok(
		"[virtual_server w]\naddress = 198.18.1.1:80\nmethod = nat\n"
		"real_servers = 198.18.0.11, 198.18.0.12:80, 198.18.0.12:81, 2001:db8::11 method=tun\n");
	struct virtual_server_conf *vs;
	char buf[64];

	if (!cfg)
		return;
	vs = cfg->lvs.services;
	CHECK_EQ_STR(real_server_name(&vs->real_servers.items[0], buf, sizeof(buf)), "198.18.0.11:80");
	CHECK_EQ_STR(real_server_name(&vs->real_servers.items[3], buf, sizeof(buf)), "[2001:db8::11]:80");
	CHECK(virtual_server_find_rs(vs, "198.18.0.11:80") == &vs->real_servers.items[0]);
	CHECK(virtual_server_find_rs(vs, "198.18.0.11") == &vs->real_servers.items[0]);
	CHECK(virtual_server_find_rs(vs, "198.18.0.12:81") == &vs->real_servers.items[2]);
	CHECK(virtual_server_find_rs(vs, "198.18.0.12") == NULL);	/* two ports: ambiguous */
	CHECK(virtual_server_find_rs(vs, "[2001:db8::11]:80") == &vs->real_servers.items[3]);
	CHECK(virtual_server_find_rs(vs, "2001:db8::11") == &vs->real_servers.items[3]);
	CHECK(virtual_server_find_rs(vs, "[2001:db8::11]") == &vs->real_servers.items[3]);
	CHECK(virtual_server_find_rs(vs, "198.18.0.11:81") == NULL);
	CHECK(virtual_server_find_rs(vs, "198.18.0.99") == NULL);
	CHECK(virtual_server_find_rs(vs, "web1") == NULL);
	director_config_free(cfg);
}

TEST(real_server_entry_parser)
{
	struct real_server_conf rs;
	char err[PARSE_ERR_MAX];

	CHECK_EQ_INT(real_server_parse("198.18.0.11:8080 weight=0 method=nat u_threshold=10 l_threshold=5 "
				       "check_address=198.18.9.11 check_port=8081 agent_port=6000 check_path=/health?x=1 "
				       "check_host=www.example.com check_command=/usr/local/bin/chk", &rs, err), 0);
	CHECK_EQ_INT(rs.port, 8080);
	CHECK_EQ_INT(rs.weight, 0);
	CHECK_EQ_INT(rs.fwd, IP_VS_CONN_F_MASQ);
	CHECK_EQ_INT(rs.u_threshold, 10);
	CHECK_EQ_INT(rs.l_threshold, 5);
	CHECK_EQ_INT(rs.check.address.family, AF_INET);
	CHECK_EQ_INT(rs.check.port, 8081);
	CHECK_EQ_INT(rs.check.agent_port, 6000);
	CHECK_EQ_STR(rs.check.path, "/health?x=1");
	CHECK_EQ_STR(rs.check.host, "www.example.com");
	CHECK_EQ_STR(rs.check.command, "/usr/local/bin/chk");
	real_server_conf_release(&rs);
	CHECK(rs.check.path == NULL && rs.check.command == NULL);

	/* What the entry does not say stays unset for the service to fill. */
	CHECK_EQ_INT(real_server_parse("2001:db8::1", &rs, err), 0);
	CHECK_EQ_INT(rs.addr.family, AF_INET6);
	CHECK_EQ_INT(rs.port, 0);
	CHECK_EQ_INT(rs.weight, 1);
	CHECK_EQ_INT(rs.fwd, LVS_FWD_UNSET);
	CHECK_EQ_INT(real_server_parse("[2001:db8::1]:80 weight=65535", &rs, err), 0);
	CHECK_EQ_INT(rs.port, 80);
	CHECK_EQ_INT(rs.weight, 65535);

	CHECK(real_server_parse("", &rs, err) < 0);
	CHECK_CONTAINS(err, "empty");
	CHECK(real_server_parse("web1:80", &rs, err) < 0);
	CHECK(real_server_parse("198.18.0.11:0", &rs, err) < 0);
	CHECK(real_server_parse("198.18.0.11 weight=65536", &rs, err) < 0);
	CHECK_CONTAINS(err, "weight: value 65536 out of range 0-65535");
	CHECK(real_server_parse("198.18.0.11 weight 2", &rs, err) < 0);
	CHECK_CONTAINS(err, "write weight=VALUE");
	CHECK(real_server_parse("198.18.0.11 weight=", &rs, err) < 0);
	CHECK(real_server_parse("198.18.0.11 weight=2 weight=3", &rs, err) < 0);
	CHECK_CONTAINS(err, "weight given twice");
	CHECK(real_server_parse("198.18.0.11 method=route", &rs, err) < 0);
	CHECK_CONTAINS(err, "expected dr, nat or tun");
	CHECK(real_server_parse("198.18.0.11 colour=red", &rs, err) < 0);
	CHECK_CONTAINS(err, "unknown option 'colour'");
	CHECK(real_server_parse("198.18.0.11 l_threshold=5", &rs, err) < 0);
	CHECK_CONTAINS(err, "l_threshold must not be larger than u_threshold");
	CHECK(real_server_parse("198.18.0.11 check_path=health", &rs, err) < 0);
	CHECK_CONTAINS(err, "check_path: a path starts with '/'");
	CHECK(real_server_parse("198.18.0.11 check_host=a\x01", &rs, err) < 0);
	CHECK(real_server_parse("198.18.0.11 check_address=198.18.0.0/24", &rs, err) < 0);
	CHECK_CONTAINS(err, "without a prefix length");
	CHECK(real_server_parse("198.18.0.11 check_port=0", &rs, err) < 0);
	CHECK(real_server_parse("198.18.0.11 agent_port=65536", &rs, err) < 0);
	/* an error after an allocated option frees it (ASan's leak check) */
	CHECK(real_server_parse("198.18.0.11 check_path=/a check_host=b check_command=c weight=x", &rs, err) < 0);
	CHECK(rs.check.path == NULL);
}

/* The list type appends all its entries or none; a failure on an empty
 * list leaves nothing allocated (the caller need not free). */
TEST(real_server_list_appends)
{
	struct real_server_list list;
	char err[PARSE_ERR_MAX];

	memset(&list, 0, sizeof(list));
	CHECK(real_server_list_type.parse(NULL, "198.18.0.11, 198.18.0.12 weight=x", &list, err) < 0);
	CHECK_CONTAINS(err, "'198.18.0.12 weight=x': weight: ");
	CHECK(list.items == NULL && list.n == 0);
	CHECK_EQ_INT(real_server_list_type.parse(NULL, "198.18.0.11 check_path=/a", &list, err), 0);
	CHECK_EQ_INT(real_server_list_type.parse(NULL, "198.18.0.12, 198.18.0.13", &list, err), 0);
	CHECK_EQ_INT(list.n, 3);
	CHECK(real_server_list_type.parse(NULL, "198.18.0.14 check_host=h, nope", &list, err) < 0);
	CHECK_EQ_INT(list.n, 3);	/* as it was */
	if (list.n == 3) {
		CHECK_EQ_STR(list.items[0].check.path, "/a");
		CHECK_EQ_INT(list.items[2].addr.family, AF_INET);
	}
	real_server_list_type.free(&list);
	CHECK(list.items == NULL && list.n == 0);
	real_server_list_type.free(&list);	/* twice is harmless: two keys share the field */
}

/* Every key given, in the syntax that normalizes. */
static const char full_setup[] =
	"[global]\n"
	"ipvs_on_stop = remove\n"
	"ipvs_reconcile_interval = 30s\n"
	"\n"
	"[vrrp VI_1]\n"
	"interface = eth0\n"
	"virtual_router_id = 51\n"
	"virtual_ipaddress = 192.0.2.80\n"
	"\n"
	"[virtual_server web]\n"
	"address = 192.0.2.80:80\n"
	"scheduler = mh\n"
	"scheduler_flags = mh-fallback, MH-PORT\n"
	"method = dr\n"
	"persistence_timeout = 3600s\n"
	"persistence_netmask = 24\n"
	"real_servers = \"198.18.0.11 weight=3 check_port=8080 check_path=/a;b check_host=x, \\\n"
	"    198.18.0.12:80 method=tun u_threshold=9 agent_port=5556 check_address=198.18.9.12\"\n"
	"sorry_server = 198.18.0.99:80 method=dr\n"
	"quorum = 2\n"
	"quorum_hysteresis = 1\n"
	"inhibit_on_failure = yes\n"
	"start_down = no\n"
	"vrrp = vi_1\n"
	"check = agent, http\n"
	"check_interval = 1500ms\n"
	"check_timeout = 1s\n"
	"check_rise = 1\n"
	"check_fall = 5\n"
	"check_address = 198.18.9.1\n"
	"check_port = 8080\n"
	"check_path = \"/health#x\"\n"
	"check_host = www.example.com\n"
	"check_status = 200\n"
	"check_body = 'say \"ok\"'\n"
	"agent_port = 6000\n"
	"agent_interval = 1m\n"
	"\n"
	"[virtual_server script]\n"
	"address = [2001:db8::80]:8443\n"
	"protocol = udp\n"
	"one_packet = yes\n"
	"check = script\n"
	"check_command = \"pgrep -x nginx; true\"\n"
	"check_dynamic_weight = yes\n"
	"real_servers = 2001:db8::11 check_command=exit\n"
	"\n"
	"[virtual_server mark]\n"
	"fwmark = 7\n"
	"family = inet\n"
	"check = tcp\n"
	"real_servers = 198.18.0.11:80, 198.18.0.12:443\n";

static void print_config(const struct director_config *cfg, struct strbuf *out)
{
	sb_reset(out);
	director_config_print(cfg, out);
	CHECK(!out->failed);
}

TEST(normalized_output_loads_again)
{
	struct director_config *cfg, *again = NULL;
	struct strbuf one, two;
	const char *s;

	sb_init(&one);
	sb_init(&two);
	cfg = load_ok(full_setup);
	if (!cfg)
		goto out;
	print_config(cfg, &one);
	s = sb_str(&one);
	/* explicit and normalized */
	CHECK_CONTAINS(s, "ipvs_on_stop = remove\nipvs_reconcile_interval = 30s\n");
	CHECK_CONTAINS(s, "[virtual_server web]\naddress = 192.0.2.80:80\nprotocol = tcp\nscheduler = mh\n"
		       "scheduler_flags = flag-1, flag-2\nmethod = dr\npersistence_timeout = 1h\n"
		       "persistence_netmask = 24\none_packet = no\n");
	/* servers as real_server lines, one each, quoted when needed */
	CHECK_CONTAINS(s, "one_packet = no\n"
		       "real_server = \"198.18.0.11:80 weight=3 method=dr check_port=8080 check_path=/a;b check_host=x\"\n"
		       "real_server = 198.18.0.12:80 weight=1 method=tun u_threshold=9 check_address=198.18.9.12 "
		       "agent_port=5556\nsorry_server = ");
	CHECK(!strstr(s, "real_servers"));
	CHECK_CONTAINS(s, "sorry_server = 198.18.0.99:80 method=dr\n");
	CHECK_CONTAINS(s, "check = http, agent\ncheck_interval = 1500ms\ncheck_timeout = 1s\n");
	CHECK_CONTAINS(s, "check_path = \"/health#x\"\n");
	CHECK_CONTAINS(s, "check_status = 200\ncheck_body = say \"ok\"\n");
	CHECK_CONTAINS(s, "agent_port = 6000\nagent_interval = 1m\n");
	CHECK_CONTAINS(s, "[virtual_server script]\naddress = [2001:db8::80]:8443\nprotocol = udp\n");
	CHECK_CONTAINS(s, "check_command = \"pgrep -x nginx; true\"\ncheck_dynamic_weight = yes\n");
	CHECK_CONTAINS(s, "real_server = [2001:db8::11]:8443 weight=1 method=dr check_command=exit\n");
	CHECK_CONTAINS(s, "[virtual_server mark]\nfwmark = 7\nfamily = inet\nscheduler = wlc\n");
	CHECK_CONTAINS(s, "real_server = 198.18.0.11:80 weight=1 method=dr\nreal_server = 198.18.0.12:443 weight=1 method=dr\n");
	CHECK(!strstr(s, "family = inet\nprotocol"));	/* fwmark services have no protocol */
	again = load_ok(s);
	if (!again)
		goto out;
	print_config(again, &two);
	CHECK_EQ_STR(sb_str(&one), sb_str(&two));
	for (struct virtual_server_conf *a = cfg->lvs.services, *b = again->lvs.services; a && b;
	     a = a->next, b = b->next)
		CHECK(virtual_server_conf_same(a, b));
out:
	director_config_free(cfg);
	director_config_free(again);
	sb_free(&one);
	sb_free(&two);
}

TEST(design_example_round_trip)
{
	struct director_config *cfg, *again = NULL;
	struct strbuf one, two;

	sb_init(&one);
	sb_init(&two);
	cfg = load_ok(design_example);
	if (cfg) {
		print_config(cfg, &one);
		again = load_ok(sb_str(&one));
	}
	if (again) {
		print_config(again, &two);
		CHECK_EQ_STR(sb_str(&one), sb_str(&two));
	}
	director_config_free(cfg);
	director_config_free(again);
	sb_free(&one);
	sb_free(&two);
}

TEST(same_settings)
{
	static const char base[] = "[virtual_server w]\naddress = 192.0.2.80:80\n";
	struct director_config *a, *b, *c;
	char text[512];

	snprintf(text, sizeof(text), "%sreal_servers = 198.18.0.11, 198.18.0.12 weight=2\n", base);
	a = load_ok(text);
	/* the same, written differently */
	snprintf(text, sizeof(text), "%sreal_servers = 198.18.0.11:80 weight=1, 198.18.0.12:80 weight=2 method=dr\n"
		 "check = tcp\ncheck_timeout = 1s\n", base);
	b = load_ok(text);
	snprintf(text, sizeof(text), "%sreal_servers = 198.18.0.11, 198.18.0.12 weight=3\n", base);
	c = load_ok(text);
	if (a && b && c) {
		CHECK(virtual_server_conf_same(a->lvs.services, b->lvs.services));
		CHECK(!virtual_server_conf_same(a->lvs.services, c->lvs.services));
	}
	director_config_free(a);
	director_config_free(b);
	director_config_free(c);
}

/* Every key of [virtual_server] counts in virtual_server_conf_same (a
 * reload keeps a service whose settings it finds the same): one case per
 * key, each a pair of sections differing in that key only, where it
 * could. A key added to the schema without a case here fails. */
struct key_case {
	const char *key;
	const char *a, *b;
};

#define KC_A "address = 192.0.2.80:80\n"
/* Not [vrrp V1]'s VIP: an announced VIP is held by no VRRP instance. */
#define KC_AN "address = 192.0.2.86:80\n"
#define KC_R "real_servers = 198.18.0.11, 198.18.0.12 weight=2\n"

static const struct key_case key_cases[] = {
	{ "address", KC_A KC_R, "address = 192.0.2.81:80\n" KC_R },
	{ "fwmark", "fwmark = 7\ncheck = none\n" KC_R, "fwmark = 8\ncheck = none\n" KC_R },
	{ "family", "fwmark = 7\ncheck = none\nfamily = inet\nreal_servers = 198.18.0.11 method=tun\n",
	  "fwmark = 7\ncheck = none\nfamily = inet6\nreal_servers = 198.18.0.11 method=tun\n" },
	{ "protocol", KC_A KC_R, KC_A "protocol = udp\n" KC_R },
	{ "scheduler", KC_A KC_R, KC_A "scheduler = rr\n" KC_R },
	{ "scheduler_flags", KC_A "scheduler = sh\n" KC_R, KC_A "scheduler = sh\nscheduler_flags = sh-fallback\n" KC_R },
	{ "method", KC_A KC_R, KC_A "method = tun\n" KC_R },
	{ "persistence_timeout", KC_A KC_R, KC_A "persistence_timeout = 300s\n" KC_R },
	{ "persistence_netmask", KC_A "persistence_timeout = 300s\n" KC_R,
	  KC_A "persistence_timeout = 300s\npersistence_netmask = 24\n" KC_R },
	{ "one_packet", KC_A "protocol = udp\n" KC_R, KC_A "protocol = udp\none_packet = yes\n" KC_R },
	{ "real_servers", KC_A KC_R, KC_A "real_servers = 198.18.0.11, 198.18.0.12 weight=3\n" },
	{ "real_server", KC_A "real_server = 198.18.0.11 check_port=81\n", KC_A "real_server = 198.18.0.11 check_port=82\n" },
	{ "sorry_server", KC_A KC_R, KC_A "sorry_server = 198.18.0.99:80\n" KC_R },
	{ "quorum", KC_A KC_R, KC_A "quorum = 2\n" KC_R },
	{ "quorum_hysteresis", KC_A "quorum = 2\n" KC_R, KC_A "quorum = 2\nquorum_hysteresis = 1\n" KC_R },
	{ "inhibit_on_failure", KC_A KC_R, KC_A "inhibit_on_failure = yes\n" KC_R },
	{ "start_down", KC_A KC_R, KC_A "start_down = no\n" KC_R },
	{ "vrrp", KC_A "vrrp = V1\n" KC_R, KC_A "vrrp = V2\n" KC_R },
	{ "announce", KC_AN "scheduler = mh\nscheduler_flags = mh-port, mh-fallback\ninhibit_on_failure = yes\n" KC_R,
	  KC_AN "scheduler = mh\nscheduler_flags = mh-port, mh-fallback\ninhibit_on_failure = yes\nannounce = yes\n" KC_R },
	{ "check", KC_A KC_R, KC_A "check = http\n" KC_R },
	{ "check_interval", KC_A KC_R, KC_A "check_interval = 5s\n" KC_R },
	{ "check_timeout", KC_A KC_R, KC_A "check_timeout = 2s\n" KC_R },
	{ "check_rise", KC_A KC_R, KC_A "check_rise = 5\n" KC_R },
	{ "check_fall", KC_A KC_R, KC_A "check_fall = 5\n" KC_R },
	{ "check_address", KC_A KC_R, KC_A "check_address = 198.18.0.50\n" KC_R },
	{ "check_source", KC_A KC_R, KC_A "check_source = 198.18.0.1\n" KC_R },
	{ "check_port", KC_A KC_R, KC_A "check_port = 8080\n" KC_R },
	{ "check_path", KC_A "check = http\n" KC_R, KC_A "check = http\ncheck_path = /x\n" KC_R },
	{ "check_host", KC_A "check = http\n" KC_R, KC_A "check = http\ncheck_host = example.org\n" KC_R },
	{ "check_status", KC_A "check = http\n" KC_R, KC_A "check = http\ncheck_status = 200\n" KC_R },
	{ "check_body", KC_A "check = http\n" KC_R, KC_A "check = http\ncheck_body = ok\n" KC_R },
	{ "check_command", KC_A "check = script\ncheck_command = /bin/true\n" KC_R,
	  KC_A "check = script\ncheck_command = /bin/false\n" KC_R },
	{ "check_dynamic_weight", KC_A "check = script\ncheck_command = /bin/true\n" KC_R,
	  KC_A "check = script\ncheck_command = /bin/true\ncheck_dynamic_weight = yes\n" KC_R },
	{ "agent_port", KC_A "check = agent\n" KC_R, KC_A "check = agent\nagent_port = 5556\n" KC_R },
	{ "agent_interval", KC_A "check = agent\n" KC_R, KC_A "check = agent\nagent_interval = 3s\n" KC_R },
	/* @DIR@: tls_setup()'s certificates; copy.*: the same bytes elsewhere. */
	{ "check_ca_file", KC_A "check = https\n" KC_R, KC_A "check = https\ncheck_ca_file = @DIR@/ca.pem\n" KC_R },
	{ "check_cert_file", KC_A "check = https\ncheck_cert_file = @DIR@/client.pem\ncheck_key_file = @DIR@/client.key\n" KC_R,
	  KC_A "check = https\ncheck_cert_file = @DIR@/copy.pem\ncheck_key_file = @DIR@/client.key\n" KC_R },
	{ "check_key_file", KC_A "check = https\ncheck_cert_file = @DIR@/client.pem\ncheck_key_file = @DIR@/client.key\n" KC_R,
	  KC_A "check = https\ncheck_cert_file = @DIR@/client.pem\ncheck_key_file = @DIR@/copy.key\n" KC_R },
};

/* body with @DIR@ replaced by the certificates' directory, into out. */
static void expand_dir(const char *body, char *out, size_t size)
{
	const char *at;
	size_t n = 0;

	while ((at = strstr(body, "@DIR@")) && n < size) {
		n += (size_t)snprintf(out + n, size - n, "%.*s%s", (int)(at - body), body, tls_dir);
		body = at + 5;
	}
	if (n < size)
		snprintf(out + n, size - n, "%s", body);
}

static struct director_config *load_case(const char *body)
{
	char text[2048], expanded[1536];

	expand_dir(body, expanded, sizeof(expanded));
	snprintf(text, sizeof(text),
		 "[vrrp V1]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.80\n"
		 "[vrrp V2]\ninterface = eth0\nvirtual_router_id = 2\nvirtual_ipaddress = 192.0.2.81\n"
		 "[virtual_server w]\n%s", expanded);
	return load_ok(text);
}

static bool copy_file(const char *from, const char *to)
{
	char cmd[PATH_MAX * 2 + 16];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path_of(from), path_of(to));
	return system(cmd) == 0;
}

TEST(every_key_counts_in_same)
{
	const char *no_tls = tls_setup();

	if (no_tls)
		fprintf(stderr, "  the TLS keys are not tried: %s\n", no_tls);
	else
		CHECK(copy_file("client.pem", "copy.pem") && copy_file("client.key", "copy.key"));
	for (size_t k = 0; virtual_server_keys[k].name; k++) {
		const struct key_case *c = NULL;
		struct director_config *a, *a2, *b;

		for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
			if (strcmp(key_cases[i].key, virtual_server_keys[k].name) == 0)
				c = &key_cases[i];
		if (!c) {
			fprintf(stderr, "  no case for virtual_server.%s\n", virtual_server_keys[k].name);
			test_failed_checks++;
			continue;
		}
		if (no_tls && strstr(c->b, "@DIR@"))
			continue;
		a = load_case(c->a);
		a2 = load_case(c->a);
		b = load_case(c->b);
		if (a && a2 && b) {
			if (!virtual_server_conf_same(a->lvs.services, a2->lvs.services) ||
			    virtual_server_conf_same(a->lvs.services, b->lvs.services)) {
				fprintf(stderr, "  virtual_server.%s\n", c->key);
				test_failed_checks++;
			}
		}
		director_config_free(a);
		director_config_free(a2);
		director_config_free(b);
	}
	tls_teardown();
}

TEST(references)
{
	struct director_config *cfg = load_ok(
		"[vrrp A]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1\n"
		"[vrrp B]\ninterface = eth0\nvirtual_router_id = 2\nvirtual_ipaddress = 192.0.2.2\n"
		"[sync_group G]\ninstances = a, b\n"
		"[virtual_server x]\naddress = 192.0.2.1:80\nvrrp = A\nreal_servers = 198.18.0.11\n"
		"[virtual_server y]\naddress = 192.0.2.2:80\nvrrp = g\nreal_servers = 198.18.0.11\n"
		/* the same address and port in another protocol is another service */
		"[virtual_server z]\naddress = 192.0.2.2:80\nprotocol = udp\ncheck = none\n"
		"real_servers = 198.18.0.11\n");

	if (cfg) {
		CHECK_EQ_STR(director_config_virtual_server(cfg, "y")->vrrp, "g");
		CHECK_EQ_INT(cfg->lvs.nservices, 3);
	}
	director_config_free(cfg);
}

#define VS(extra) "[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11\n" extra
#define VS_HTTPS(extra) VS("check = https\n" extra)
#define FWM(extra) "[virtual_server m]\nfwmark = 5\nreal_servers = 198.18.0.11:80\n" extra

/* Issue 14's sweep: a required key absent or a value refused as written
 * (a missing quote) leaves its field unset, not even its default; the
 * checks across keys run after such errors and must not read it. */
TEST(absent_and_refused_values)
{
	expect_error("[virtual_server w]\n", ":1: virtual_server w.address: missing: give address");
	expect_error("[virtual_server w]\naddress = 198.18.0.1:80\ncheck_address = 198.18.0.5/24\nreal_servers = 198.18.1.1\n",
		     ":3: virtual_server w.check_address: an address without a prefix length");
	expect_error("[virtual_server w]\n", ":1: virtual_server w.real_servers: missing required key");
	expect_error(VS("scheduler = 'wlc\n"), ":4: virtual_server w.scheduler: missing closing quote");
	expect_error(VS("scheduler = 'wlc\n[virtual_server v]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.12\n"),
		     ":6: virtual_server v.address: the same service as [virtual_server w]");
	expect_error(VS("check = http\ncheck_path = '/x\n"), ":5: virtual_server w.check_path: missing closing quote");
	expect_error(VS("check = 'http\n"), ":4: virtual_server w.check: missing closing quote");
	expect_error(VS("check = script\ncheck_command = '/bin/true\n"), ":5: virtual_server w.check_command");
	expect_error(VS("vrrp = 'a\n"), ":4: virtual_server w.vrrp: missing closing quote");
	expect_error(VS("method = 'nat\n"), ":4: virtual_server w.method: missing closing quote");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = '198.18.0.11\n",
		     ":3: virtual_server w.real_servers: missing closing quote");
	expect_error("[global]\nipvs_sync_interface = 'eth0\nipvs_sync_follow = a\n" VS(""),
		     ":2: global.ipvs_sync_interface: missing closing quote");
	expect_error("[global]\nipvs_sync_interface = eth0\nipvs_sync_follow = 'g\n" VS(""),
		     ":3: global.ipvs_sync_follow: missing closing quote");
	expect_error("[global]\nipvs_sync_interface = eth0\nipvs_sync_follow = g\n[sync_group g]\ninstances = 'a\n" VS(""),
		     ":5: sync_group g.instances: missing closing quote");
	expect_error("[global]\nipvs_sync_interface = eth0\n" VS(""), ":2: global.ipvs_sync_interface: needs ipvs_sync_follow");
	expect_error("[global]\nuser = 'nobody\n" VS(""), ":2: global.user: missing closing quote");
	expect_error("[global]\ncontrol_socket = 'x\n" VS(""), ":2: global.control_socket: missing closing quote");
}

/* Issue 12: announced services and where their routes go. */
TEST(announce_errors)
{
	expect_error("[vrrp v]\ninterface = eth0\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.80\n"
		     VS("announce = yes\nvrrp = v\n"), ":8: virtual_server w.announce: not with vrrp = v");
	expect_error(FWM("announce = yes\n"), ":4: virtual_server m.announce: only an address service can be announced");
	/* A VIP announced and held by VRRP, or announced for one service
	 * and not for another: directord would withdraw it under the other. */
	expect_error("[vrrp v]\ninterface = eth0\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.80/24\n"
		     VS("announce = yes\n"), ":8: virtual_server w.announce: 192.0.2.80 is also in [vrrp v] virtual_ipaddress");
	expect_error(VS("announce = yes\n") "[virtual_server x]\naddress = 192.0.2.80:443\nreal_servers = 198.18.0.11\n",
		     ":4: virtual_server w.announce: 192.0.2.80 is also the address of [virtual_server x], which is not announced");
	director_config_free(load_ok(VS("announce = yes\n") "[virtual_server x]\naddress = 192.0.2.80:443\n"
				     "real_servers = 198.18.0.11\nannounce = yes\n"));
	expect_error(VS("announce = maybe\n"), ":4: virtual_server w.announce: ");
	expect_error("[global]\nannounce_table = 254\n" VS(""), ":2: global.announce_table: 254 is the kernel's main table");
	expect_error("[global]\nannounce_table = 255\n" VS(""), ":2: global.announce_table: 255 is the kernel's local");
	expect_error("[global]\nannounce_table = 0\n" VS(""), ":2: global.announce_table: value 0 out of range");
	expect_error("[global]\nannounce_table = 4294967295\n" VS(""), ":2: global.announce_table: value 4294967295 out");
	expect_error("[global]\nannounce_protocol = 4\n" VS(""), ":2: global.announce_protocol: value 4 out of range 5-255");
	expect_error("[global]\nannounce_protocol = 256\n" VS(""), ":2: global.announce_protocol: value 256 out of range");
	expect_error("[global]\nannounce_interface = a/b\n" VS(""), ":2: global.announce_interface: 'a/b' is not an interface");
	expect_error("[global]\nannounce_interface = abcdefghijklmnopq\n" VS(""), ":2: global.announce_interface: ");
}

TEST(service_errors)
{
	expect_error("[global]\n", ": no [vrrp NAME] or [virtual_server NAME] section: nothing to do");
	expect_error("[virtual_server w]\nreal_servers = 198.18.0.11:80\n",
		     ":1: virtual_server w.address: missing: give address (ADDRESS:PORT) or fwmark");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\n",
		     ":1: virtual_server w.real_servers: missing required key: give real_server lines (one server each) "
		     "or a real_servers list");
	expect_error(VS("fwmark = 5\n"), ":4: virtual_server w.fwmark: give either address or fwmark, not both");
	expect_error(VS("family = inet6\n"), ":4: virtual_server w.family: only with fwmark");
	expect_error(FWM("protocol = tcp\n"), ":4: virtual_server m.protocol: not with fwmark");
	expect_error(FWM("family = ipx\n"), ":4: virtual_server m.family: 'ipx' is not one of: inet, inet6");
	expect_error(VS("protocol = icmp\n"), ":4: virtual_server w.protocol: 'icmp' is not one of: tcp, udp, sctp");
	expect_error("[virtual_server m]\nfwmark = 0\nreal_servers = 198.18.0.11\n", ":2: virtual_server m.fwmark: value 0 out of range");
	expect_error("[virtual_server m]\nfwmark = 4294967296\nreal_servers = 198.18.0.11\n", ":2: virtual_server m.fwmark: ");
	expect_error("[virtual_server w]\naddress = 192.0.2.80\nreal_servers = 198.18.0.11:80\n",
		     ":2: virtual_server w.address: missing port");
	expect_error("[virtual_server w]\naddress = 2001:db8::1:80\nreal_servers = 198.18.0.11:80\n",
		     ":2: virtual_server w.address: write IPv6 endpoints in brackets");
	expect_error(VS("scheduler = WLC\n"), ":4: virtual_server w.scheduler: a scheduler name is 1 to 15 characters");
	expect_error(VS("scheduler = abcdefghijklmnop\n"), ":4: virtual_server w.scheduler: a scheduler name");
	expect_error(VS("scheduler_flags = flag-4\n"), ":4: virtual_server w.scheduler_flags: 'flag-4': expected flag-1");
	expect_error(VS("method = route\n"), ":4: virtual_server w.method: 'route' is not one of: dr, nat, tun");
	expect_error(VS("persistence_timeout = 1500ms\n"), ":4: virtual_server w.persistence_timeout: IPVS counts whole seconds");
	expect_error(VS("persistence_timeout = 745h\n"), ":4: virtual_server w.persistence_timeout: value 745h out of range");
	expect_error(VS("persistence_netmask = 24\n"), ":4: virtual_server w.persistence_netmask: only with persistence_timeout");
	expect_error(VS("persistence_timeout = 60s\npersistence_netmask = 33\n"),
		     ":5: virtual_server w.persistence_netmask: an IPv4 prefix length is 1 to 32");
	expect_error(VS("persistence_timeout = 60s\npersistence_netmask = 129\n"), ":5: virtual_server w.persistence_netmask: value 129");
	expect_error(VS("one_packet = yes\n"), ":4: virtual_server w.one_packet: only for protocol = udp");
	expect_error(VS("quorum = 2\nquorum_hysteresis = 3\n"),
		     ":5: virtual_server w.quorum_hysteresis: must not be larger than quorum (2)");
	expect_error(VS("quorum = 2147483649\n"), ":4: virtual_server w.quorum: value 2147483649 out of range");
	expect_error(VS("vrrp = nope\n"), ":4: virtual_server w.vrrp: no [vrrp nope] or [sync_group nope] section");
	expect_error(VS("start_down = maybe\n"), ":4: virtual_server w.start_down: ");
	expect_error(VS("schedular = rr\n"), ":4: virtual_server w.schedular: unknown key (did you mean 'scheduler'?)");
	expect_error(VS("[virtual_server b]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.12\n"),
		     ":5: virtual_server b.address: the same service as [virtual_server w]");
	expect_error(FWM("[virtual_server n]\nfwmark = 5\nfamily = inet\nreal_servers = 198.18.0.12:80\n"),
		     ":5: virtual_server n.fwmark: the same service as [virtual_server m]");
	expect_error("[global]\nipvs_on_stop = drop\n" VS(""), ":2: global.ipvs_on_stop: 'drop' is not one of: keep, remove");
	expect_error("[global]\nipvs_reconcile_interval = 25h\n" VS(""), ":2: global.ipvs_reconcile_interval: value 25h out of range");
}

/* The list's room comes from its commas: empty entries take none of it. */
TEST(real_servers_empty_entries)
{
	struct director_config *cfg =
		load_ok("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = , 198.18.0.11,, 198.18.0.12 , ,\n");

	CHECK(cfg != NULL);
	if (cfg) {
		CHECK_EQ_INT(cfg->lvs.services->real_servers.n, 2);
		director_config_free(cfg);
	}
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = , ,,\n",
		     ":3: virtual_server w.real_servers: no real server given");
}

TEST(real_server_errors)
{
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = \n",
		     ":3: virtual_server w.real_servers: no real server given");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11 weight=70000\n",
		     ":3: virtual_server w.real_servers: '198.18.0.11 weight=70000': weight: value 70000 out of range 0-65535");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11, 198.18.0.11:80\n",
		     ":3: virtual_server w.real_servers: 198.18.0.11:80 is listed twice (first at line 3)");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 2001:db8::11\n",
		     ":3: virtual_server w.real_servers: [2001:db8::11]:80: an IPv6 server for an IPv4 service needs method=tun");
	expect_error("[virtual_server w]\naddress = [2001:db8::80]:80\nmethod = nat\nreal_servers = 198.18.0.11\n",
		     ":4: virtual_server w.real_servers: 198.18.0.11:80: an IPv4 server for an IPv6 service needs method=tun");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11:8080\n",
		     ":3: virtual_server w.real_servers: 198.18.0.11:8080: with method dr the port must be the service's (80)");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11:8080 method=tun\n",
		     "with method tun the port must be the service's (80)");
	expect_error(FWM("[virtual_server n]\nfwmark = 6\nreal_servers = 198.18.0.11\n"),
		     ":6: virtual_server n.real_servers: 198.18.0.11: no port to check: give the server a port or set check_port");
	expect_error(VS("sorry_server = 198.18.0.99:8080\n"),
		     ":4: virtual_server w.sorry_server: 198.18.0.99:8080: with method dr the port must be the service's (80)");
	expect_error(VS("sorry_server = 198.18.0.99 method=pipe\n"), ":4: virtual_server w.sorry_server: method 'pipe'");
	expect_error(VS("sorry_server = 198.18.0.99 weight=2\n"), ":4: virtual_server w.sorry_server: unknown option 'weight=2'");
	expect_error(VS("sorry_server = 2001:db8::99\n"), ":4: virtual_server w.sorry_server: [2001:db8::99]:80: an IPv6 server");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11 check_command=x\n",
		     ":3: virtual_server w.real_servers: 198.18.0.11:80: check_command is for check = script");
	expect_error("[virtual_server w]\naddress = 192.0.2.80:80\nreal_servers = 198.18.0.11 check_path=/x\n",
		     ":3: virtual_server w.real_servers: 198.18.0.11:80: check_path and check_host are for check = http");
}

/* The files of an https check: read at load, errors at their lines; a
 * file renewed in place (same path, new content) is a changed setting,
 * so a reload restarts the checks with it. */
TEST(tls_files)
{
	const char *skip = tls_setup();
	struct director_config *a = NULL, *b = NULL;
	char text[2048], vs[1024];

	if (skip)
		SKIP(skip);
	expand_dir(VS_HTTPS("check_ca_file = relative.pem\n"), text, sizeof(text));
	expect_error(text, ":5: virtual_server w.check_ca_file: an absolute path");
	expand_dir(VS_HTTPS("check_ca_file = @DIR@/missing.pem\n"), text, sizeof(text));
	expect_error(text, ":5: virtual_server w.check_ca_file: cannot stat: No such file or directory");
	expand_dir(VS_HTTPS("check_ca_file = @DIR@/ca.key\n"), text, sizeof(text));
	expect_error(text, ":5: virtual_server w.check_ca_file: no PEM certificate in it");
	expand_dir(VS_HTTPS("check_cert_file = @DIR@/client.pem\n"), text, sizeof(text));
	expect_error(text, ":5: virtual_server w.check_cert_file: needs check_key_file");
	expand_dir(VS_HTTPS("check_cert_file = @DIR@/client.pem\ncheck_key_file = @DIR@/client.pem\n"), text,
		   sizeof(text));
	expect_error(text, ":6: virtual_server w.check_key_file: no usable PEM private key in it");
	expand_dir(VS_HTTPS("check_cert_file = @DIR@/client.pem\ncheck_key_file = @DIR@/server.key\n"), text,
		   sizeof(text));
	expect_error(text, ":6: virtual_server w.check_key_file: the key does not belong to the certificate");
	expand_dir(VS("check = http\ncheck_ca_file = @DIR@/ca.pem\n"), text, sizeof(text));
	expect_error(text, ":5: virtual_server w.check_ca_file: only with check = https");
	CHECK(chmod(path_of("ca.pem"), 0666) == 0);
	expand_dir(VS_HTTPS("check_ca_file = @DIR@/ca.pem\n"), text, sizeof(text));
	expect_error(text, ":5: virtual_server w.check_ca_file: refusing a file others can write");
	CHECK(chmod(path_of("ca.pem"), 0644) == 0);
	/* Renewed in place. */
	expand_dir("address = 192.0.2.80:443\ncheck = https\ncheck_ca_file = @DIR@/ca.pem\n"
		   "real_servers = 198.18.0.11\n", vs, sizeof(vs));
	a = load_case(vs);
	CHECK(copy_file("other.pem", "ca.pem"));
	b = load_case(vs);
	CHECK(a && b && !virtual_server_conf_same(a->lvs.services, b->lvs.services));
	director_config_free(a);
	director_config_free(b);
	tls_teardown();
}

TEST(check_errors)
{
	expect_error(VS("check = ftp\n"), ":4: virtual_server w.check: expected none, tcp, http, https, script or agent");
	expect_error(VS("check = agent, agent\n"), ":4: virtual_server w.check: expected none");
	expect_error(VS("check = http, tcp\n"), ":4: virtual_server w.check: expected none");
	expect_error(VS("check = http, agent, tcp\n"), ":4: virtual_server w.check: expected none");
	expect_error(VS("check_interval = 50ms\n"), ":4: virtual_server w.check_interval: value 50ms out of range 100ms-1h");
	expect_error(VS("check_interval = 1s\ncheck_timeout = 2s\n"),
		     ":5: virtual_server w.check_timeout: must not be longer than check_interval");
	expect_error(VS("check = agent\nagent_interval = 500ms\ncheck_timeout = 800ms\n"),
		     ":6: virtual_server w.check_timeout: must not be longer than agent_interval");
	expect_error(VS("check_rise = 0\n"), ":4: virtual_server w.check_rise: value 0 out of range 1-100");
	expect_error(VS("check_fall = 101\n"), ":4: virtual_server w.check_fall: value 101 out of range 1-100");
	expect_error(VS("check_port = 65536\n"), ":4: virtual_server w.check_port: value 65536 out of range 1-65535");
	expect_error(VS("agent_port = 0\n"), ":4: virtual_server w.agent_port: value 0 out of range 1-65535");
	expect_error(VS("agent_interval = 10ms\n"), ":4: virtual_server w.agent_interval: value 10ms out of range");
	expect_error(VS("check_address = 198.18.0.300\n"), ":4: virtual_server w.check_address: ");
	/* The director's own address to check from: a host address of the
	 * family the checks go to, never a VIP (which the real servers hold
	 * on lo: they would answer their own loopback). */
	expect_error(VS("check_source = 198.18.0.0/24\n"), ":4: virtual_server w.check_source: an address without a prefix length");
	expect_error(VS("check_source = 2001:db8::1\n"),
		     ":4: virtual_server w.check_source: IPv6, but real server 198.18.0.11 is checked over IPv4");
	expect_error(VS("check_address = 2001:db8::11\ncheck_source = 198.18.0.1\n"),
		     ":5: virtual_server w.check_source: IPv4, but real server 198.18.0.11 is checked over IPv6");
	expect_error("[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 100\n"
		     "virtual_ipaddress = 192.0.2.80/24\n" VS("vrrp = VI_1\ncheck_source = 192.0.2.80\n"),
		     ":10: virtual_server w.check_source: 192.0.2.80 is a VIP of [vrrp VI_1]");
	/* A script connects nowhere: any family will do. */
	for (size_t i = 0; i < 2; i++) {
		struct director_config *cfg = load_ok(i ? "[global]\nipvs_expire_nodest_conn = 1\n"
							  VS("check = script\ncheck_command = /bin/true\ncheck_source = 2001:db8::1\n")
							: "[global]\nipvs_expire_nodest_conn = 1\n" VS("check_source = 198.18.0.1\n"));

		CHECK(cfg && cfg->lvs.services->check_source.family == (i ? AF_INET6 : AF_INET));
		director_config_free(cfg);
	}
	expect_error(VS("check = script\n"), ":1: virtual_server w.check_command: required with check = script");
	expect_error(VS("check_command = true\n"), ":4: virtual_server w.check_command: only with check = script");
	expect_error(VS("check_dynamic_weight = yes\n"), ":4: virtual_server w.check_dynamic_weight: only with check = script");
	expect_error(VS("check_status = 600\n"), ":4: virtual_server w.check_status: expected an HTTP status code");
	expect_error(VS("check_status = 399-200\n"),
		     ":4: virtual_server w.check_status: range 399-200: the first code must not be larger than the second");
	expect_error(VS("check_status = 2xx\n"), ":4: virtual_server w.check_status: expected an HTTP status code");
	expect_error(VS("check_status = 200-\n"), ":4: virtual_server w.check_status: expected an HTTP status code");
	expect_error(VS("check_path = health\n"), ":4: virtual_server w.check_path: a path starts with '/'");
	expect_error(VS("check_path = /a b\n"), ":4: virtual_server w.check_path: printable ASCII without blanks");
	expect_error(VS("check_host = \"a b\"\n"), ":4: virtual_server w.check_host: printable ASCII without blanks");
}

/* A command named by its path must not be writable by others. */
/* Issue 11: fractions of a unit, in whole milliseconds, load and print
 * as milliseconds; a part of a millisecond is refused with its line. */
TEST(fractional_durations)
{
	struct director_config *cfg = load_ok(VS("check_interval = 1.5s\ncheck_timeout = 0.25s\n"
						 "[global]\nipvs_reconcile_interval = 2.5m\n"));
	struct strbuf out;

	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->lvs.services->check_interval_ms, 1500);
	CHECK_EQ_INT(cfg->lvs.services->check_timeout_ms, 250);
	CHECK_EQ_INT(cfg->lvs.reconcile_interval_ms, 150000);
	sb_init(&out);
	print_config(cfg, &out);
	CHECK_CONTAINS(sb_str(&out), "check_interval = 1500ms\ncheck_timeout = 250ms\n");
	CHECK_CONTAINS(sb_str(&out), "ipvs_reconcile_interval = 150s\n");
	sb_free(&out);
	director_config_free(cfg);

	expect_error(VS("check_interval = 1.0005s\n"), ":4: virtual_server w.check_interval: duration 1.0005s "
		     "has a fraction of a millisecond: durations are in whole milliseconds");
	expect_error(VS("check_interval = .5s\n"), ":4: virtual_server w.check_interval: expected a duration");
	expect_error(VS("check_interval = 0.05s\n"),
		     ":4: virtual_server w.check_interval: value 50ms out of range 100ms-1h");
}

TEST(check_command_must_be_private)
{
	char prog[64], text[512];
	int fd;

	strlcpy_safe(prog, "/tmp/dsrkit-lvschk.XXXXXX", sizeof(prog));
	fd = mkstemp(prog);
	if (fd < 0)
		SKIP("mkstemp failed");
	close(fd);
	chmod(prog, 0777);
	snprintf(text, sizeof(text), VS("check = script\ncheck_command = %s --quiet\n"), prog);
	expect_error(text, ":5: virtual_server w.check_command: refusing a file others can write");
	snprintf(text, sizeof(text),
		 "[virtual_server w]\naddress = 192.0.2.80:80\ncheck = script\ncheck_command = true\n"
		 "real_servers = 198.18.0.11 check_command=%s\n", prog);
	expect_error(text, ":5: virtual_server w.real_servers: 198.18.0.11:80: refusing a file others can write");
	chmod(prog, 0755);
	snprintf(text, sizeof(text), VS("check = script\ncheck_command = %s --quiet\n"), prog);
	director_config_free(load_ok(text));
	unlink(prog);
}

/* Everything wrong in one file is reported in one run. */
TEST(all_errors_at_once)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	CHECK(load_text(VS("check_rise = 0\nmethod = x\nvrrp = nope\nquorum_hysteresis = 5\n"), &cfg, &diag) < 0);
	CHECK(diag.n >= 4);
	CHECK(diag_has(&diag, ":4: virtual_server w.check_rise"));
	CHECK(diag_has(&diag, ":5: virtual_server w.method"));
	CHECK(diag_has(&diag, ":6: virtual_server w.vrrp"));
	CHECK(diag_has(&diag, ":7: virtual_server w.quorum_hysteresis"));
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

/* ---- real_server lines ---- */

/* One server a line, in file order, mixed with the list form. */
TEST(real_server_lines)
{
	struct director_config *cfg = load_ok(
		"[virtual_server web]\n"
		"address = 192.0.2.80:80\n"
		"real_server = 198.18.0.11:80 weight=2\n"
		"REAL_SERVER = 198.18.0.12 weight=1 check_port=8080\n"
		"real_servers = 198.18.0.13, 198.18.0.14 weight=4\n"
		"check = tcp\n"
		"real_server = \"198.18.0.15 check_port=81\"  ; quoted, with a comment\n"
		"real_server = [2001:db8::16]:80 method=tun\n");
	struct virtual_server_conf *vs;
	struct ipaddr a;

	if (!cfg)
		return;
	vs = cfg->lvs.services;
	CHECK_EQ_INT(vs->real_servers.n, 6);
	if (vs->real_servers.n != 6)
		goto out;
	for (size_t i = 0; i < 5; i++) {
		char want[32];

		snprintf(want, sizeof(want), "198.18.0.%zu", 11 + i);
		a = addr_of(want);
		CHECK(ipaddr_equal(&vs->real_servers.items[i].addr, &a));
		CHECK_EQ_INT(vs->real_servers.items[i].port, 80);
	}
	CHECK_EQ_INT(vs->real_servers.items[0].weight, 2);
	CHECK_EQ_INT(vs->real_servers.items[1].check.port, 8080);
	CHECK_EQ_INT(vs->real_servers.items[3].weight, 4);
	CHECK_EQ_INT(vs->real_servers.items[4].check.port, 81);
	CHECK_EQ_INT(vs->real_servers.items[5].addr.family, AF_INET6);
	CHECK_EQ_INT(vs->real_servers.items[5].fwd, IP_VS_CONN_F_TUNNEL);
	/* the names status and directorctl use */
	CHECK(virtual_server_find_rs(vs, "198.18.0.15:80") == &vs->real_servers.items[4]);
out:
	director_config_free(cfg);
}

#define RS_VS "[virtual_server w]\naddress = 192.0.2.80:80\n"

/* Each server's message is at its own line, whichever key it came from. */
TEST(real_server_line_errors)
{
	expect_error(RS_VS "real_server = 198.18.0.11\nreal_server = 198.18.0.12 weight=70000\n",
		     ":4: virtual_server w.real_server: weight: value 70000 out of range 0-65535");
	expect_error(RS_VS "real_server = 198.18.0.11, 198.18.0.12\n",
		     ":3: virtual_server w.real_server: one server per real_server line (a comma-separated list is "
		     "real_servers)");
	expect_error(RS_VS "real_server =\n", ":3: virtual_server w.real_server: empty entry");
	expect_error(RS_VS "real_server = 198.18.0.11\nreal_server = 198.18.0.12\nreal_server = 198.18.0.11:80\n",
		     ":5: virtual_server w.real_server: 198.18.0.11:80 is listed twice (first at line 3)");
	/* across the two keys, both ways round */
	expect_error(RS_VS "real_servers = 198.18.0.11, 198.18.0.12\ncheck = tcp\nreal_server = 198.18.0.12\n",
		     ":5: virtual_server w.real_server: 198.18.0.12:80 is listed twice (first at line 3)");
	expect_error(RS_VS "real_server = 198.18.0.12\ncheck = tcp\nreal_servers = 198.18.0.11, 198.18.0.12\n",
		     ":5: virtual_server w.real_servers: 198.18.0.12:80 is listed twice (first at line 3)");
	expect_error(RS_VS "real_server = 198.18.0.11\nreal_server = 198.18.0.12:8080\nreal_server = 198.18.0.13\n",
		     ":4: virtual_server w.real_server: 198.18.0.12:8080: with method dr the port must be the service's (80)");
	expect_error(RS_VS "real_server = 198.18.0.11\nreal_server = 2001:db8::12\n",
		     ":4: virtual_server w.real_server: [2001:db8::12]:80: an IPv6 server for an IPv4 service needs method=tun");
	expect_error(RS_VS "real_server = 198.18.0.11\nreal_server = 198.18.0.12 check_path=/x\n",
		     ":4: virtual_server w.real_server: 198.18.0.12:80: check_path and check_host are for check = http");
	/* a line that failed still counts: the next one's message is at its own line */
	expect_error(RS_VS "real_server = 198.18.0.11 weight=x\nreal_server = 198.18.0.12 check_command=x\n",
		     ":4: virtual_server w.real_server: 198.18.0.12:80: check_command is for check = script");
	expect_error(RS_VS "real_server = \"198.18.0.11\nreal_server = 198.18.0.12 check_command=x\n",
		     ":4: virtual_server w.real_server: 198.18.0.12:80: check_command is for check = script");
	/* given but refused: reported once, not as missing too */
	expect_error(RS_VS "real_server = 198.18.0.300\n", ":3: virtual_server w.real_server: ");
	{
		struct director_config *cfg = NULL;
		struct ini_diag diag;

		CHECK(load_text(RS_VS "real_server = 198.18.0.300\nreal_servers = \"x\n", &cfg, &diag) < 0);
		CHECK_EQ_INT(diag.n, 2);
		CHECK(diag_has(&diag, ":4: virtual_server w.real_servers: missing closing quote"));
		director_config_free(cfg);
		ini_diag_free(&diag);
		unlink(path);
	}
	expect_error(RS_VS "real_servers = 198.18.0.11\nreal_servers = 198.18.0.12\n",
		     ":4: virtual_server w.real_servers: duplicate key (first set at line 3)");
}

TEST(real_server_limit)
{
	struct strbuf text;

	sb_init(&text);
	sb_append(&text, RS_VS "check = none\nreal_servers = 198.18.255.1, 198.18.255.2\n");
	for (int i = 0; i < LVS_MAX_REAL_SERVERS - 1; i++)
		sb_printf(&text, "real_server = 198.18.%d.%d\n", i / 250, i % 250 + 1);
	CHECK(!text.failed);
	/* lines 5 to 4099: the 4095th line is the 4097th server */
	expect_error(sb_str(&text), ":4099: virtual_server w.real_server: more than 4096 real servers");
	sb_free(&text);
}

/* The same servers, in either form, are the same settings. */
TEST(real_server_forms_same)
{
	struct director_config *a = load_ok(RS_VS "real_servers = 198.18.0.11, 198.18.0.12 weight=2\n");
	struct director_config *b = load_ok(RS_VS "real_server = 198.18.0.11\nreal_server = 198.18.0.12:80 weight=2\n");
	struct director_config *c = load_ok(RS_VS "real_server = 198.18.0.12 weight=2\nreal_server = 198.18.0.11\n");

	if (a && b && c) {
		CHECK(virtual_server_conf_same(a->lvs.services, b->lvs.services));
		/* the order is kept, and is part of the settings */
		CHECK(!virtual_server_conf_same(a->lvs.services, c->lvs.services));
	}
	director_config_free(a);
	director_config_free(b);
	director_config_free(c);
}

/* Hundreds of servers: far more than a real_servers line holds. They print
 * as real_server lines, and the print loads to the same print. */
TEST(many_real_servers_round_trip)
{
	enum { NLINES = 500, NLIST = 20 };
	struct director_config *cfg, *again = NULL;
	struct strbuf text, one, two;
	const char *p;
	size_t lines = 0;

	sb_init(&text);
	sb_init(&one);
	sb_init(&two);
	sb_append(&text, "[virtual_server big]\naddress = 192.0.2.80:80\ncheck = http\ncheck_path = /health\n"
		  "real_servers = ");
	for (int i = 0; i < NLIST; i++)
		sb_printf(&text, "%s198.19.0.%d", i ? ", " : "", i + 1);
	sb_append(&text, "\n");
	for (int i = 0; i < NLINES; i++)
		sb_printf(&text, "real_server = \"198.18.%d.%d:80 weight=%d%s\"\n", i / 200, i % 200 + 1, i % 7,
			  i % 5 == 0 ? " check_port=8080 check_path=/a;b" : "");
	sb_append(&text, "[virtual_server small]\naddress = 192.0.2.81:80\nreal_server = 198.18.0.1\n");
	CHECK(!text.failed);
	cfg = load_ok(sb_str(&text));
	if (!cfg)
		goto out;
	CHECK_EQ_INT(cfg->lvs.services->real_servers.n, NLINES + NLIST);
	CHECK_EQ_INT(cfg->lvs.services->real_servers.items[NLIST + 5].check.port, 8080);
	print_config(cfg, &one);
	for (p = sb_str(&one); (p = strstr(p, "\nreal_server = ")); p++)
		lines++;
	CHECK_EQ_INT(lines, NLINES + NLIST + 1);
	CHECK(!strstr(sb_str(&one), "real_servers"));
	CHECK_CONTAINS(sb_str(&one), "real_server = 198.19.0.20:80 weight=1 method=dr\n"
		       "real_server = \"198.18.0.1:80 weight=0 method=dr check_port=8080 check_path=/a;b\"\n"
		       "real_server = 198.18.0.2:80 weight=1 method=dr\n");
	again = load_ok(sb_str(&one));
	if (!again)
		goto out;
	print_config(again, &two);
	CHECK(strcmp(sb_str(&one), sb_str(&two)) == 0);
	CHECK_EQ_INT(again->lvs.services->real_servers.n, NLINES + NLIST);
	for (struct virtual_server_conf *a = cfg->lvs.services, *b = again->lvs.services; a && b;
	     a = a->next, b = b->next)
		CHECK(virtual_server_conf_same(a, b));
out:
	director_config_free(cfg);
	director_config_free(again);
	sb_free(&text);
	sb_free(&one);
	sb_free(&two);
}

TEST_MAIN(T(design_example_loads), T(defaults), T(dependent_defaults), T(ipv6_and_fwmark), T(service_key_and_dest),
	  T(real_server_names), T(real_server_entry_parser), T(real_server_list_appends),
	  T(normalized_output_loads_again),
	  T(design_example_round_trip), T(same_settings), T(every_key_counts_in_same), T(tls_files), T(references), T(absent_and_refused_values), T(service_errors), T(announce_errors), T(real_servers_empty_entries), T(real_server_errors),
	  T(check_errors), T(fractional_durations), T(check_command_must_be_private), T(all_errors_at_once), T(real_server_lines),
	  T(real_server_line_errors), T(real_server_limit), T(real_server_forms_same),
	  T(many_real_servers_round_trip))
