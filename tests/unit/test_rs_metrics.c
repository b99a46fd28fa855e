/* rs-agent's metrics (metrics.c) for a known state, line by line, over a
 * kernel in memory: the DR items as verify sees them, checks with their
 * latency histogram, the agent's answers and refusals, repairs by kind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "httpserv.h"
#include "rs-agent.h"
#include "test.h"
#include "test_diag.h"

struct fake {
	struct rs_link links[2];
	struct rtnl_addrinfo addrs[2];
	size_t naddrs;
	int conf[2][2];			/* all, default x ignore, announce */
};

static struct fake fk;

static int f_ifindex(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "lo") == 0 ? 1 : -ENODEV;
}

static int f_links(void *ctx, struct rs_link **out, size_t *n)
{
	struct fake *f = ctx;

	*out = malloc(sizeof(f->links));
	memcpy(*out, f->links, sizeof(f->links));
	*n = 2;
	return 0;
}

static int f_addr_list(void *ctx, int ifindex, struct rtnl_addrinfo **out, size_t *n)
{
	struct fake *f = ctx;

	(void)ifindex;
	*out = malloc(sizeof(f->addrs));
	memcpy(*out, f->addrs, sizeof(f->addrs));
	*n = f->naddrs;
	return 0;
}

static int f_conf_get(void *ctx, const char *which, int *ign, int *ann)
{
	struct fake *f = ctx;
	int i = strcmp(which, "all") == 0 ? 0 : 1;

	*ign = f->conf[i][0];
	*ann = f->conf[i][1];
	return 0;
}

/* The lines of out that start with prefix, in order. */
static void lines_with(const char *text, const char *prefix, struct strbuf *got)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0)
			sb_appendn(got, p, n);
		p += n;
	}
}

static void check_lines(const char *text, const char *prefix, const char *want)
{
	struct strbuf got;

	sb_init(&got);
	lines_with(text, prefix, &got);
	CHECK_EQ_STR(sb_str(&got), want);
	sb_free(&got);
}

TEST(rs_metrics_exact_lines)
{
	struct kernel_ops k = { &fk, f_ifindex, f_links, NULL, f_addr_list, NULL, NULL, f_conf_get, NULL, NULL };
	struct check_conf cc = { .name = "web", .rise = 1, .fall = 1 };
	struct rs_config cfg = { .interface = "lo", .arp_ignore = 1, .arp_announce = 2 };
	struct agent_counters ac = { .rejected_addr = 3, .rejected_busy = 1 };
	struct httpsrv_counters hc = { .refused_addr = 2 };
	struct check_status st = { .conf = &cc };
	struct agent_reply reply = { .state = AGENT_STATE_DOWN, .weight_pct = -1, .maxconn = -1 };
	struct ipaddr vips[2];
	char err[PARSE_ERR_MAX];
	struct strbuf out;

	memset(&fk, 0, sizeof(fk));
	fk.links[0] = (struct rs_link){ 1, "lo", 1, 2 };
	fk.links[1] = (struct rs_link){ 2, "eth0", 0, 0 };
	fk.conf[0][0] = 1;	/* all: ignore 1, announce 0 */
	fk.conf[1][0] = 1;
	fk.conf[1][1] = 2;
	parse_ipaddr("198.18.0.10", &vips[0], err);
	parse_ipaddr("2001:db8::10", &vips[1], err);
	fk.addrs[0].addr = vips[0];
	fk.naddrs = 1;		/* the IPv6 VIP is missing */
	cfg.vips.items = vips;
	cfg.vips.n = 2;
	ac.answers[AGENT_ANSWER_UP] = 7;
	ac.answers[AGENT_ANSWER_DOWN] = 2;
	(void)check_status_record(&st, CHECK_PASS, "", 3, 0);
	(void)check_status_record(&st, CHECK_FAIL, "refused", 1200, 0);

	struct rs_metrics_input in = {
		.cfg = &cfg, .kernel = &k, .admin = ADMIN_DRAIN, .reply = &reply, .agent = &ac, .http = &hc,
		.repairs_vip = 4, .repairs_sysctl = 5, .weight_pct = -1, .started = 1700000000,
	};
	/* The health list is the daemon's; a test renders the rest without it
	 * and the check families from a one-check list below. */
	sb_init(&out);
	rs_metrics_render(&in, &out);
	CHECK(!out.failed);
	check_lines(sb_str(&out), "dsrkit_rs_dr_ok", "dsrkit_rs_dr_ok 0\n");
	check_lines(sb_str(&out), "dsrkit_rs_vip_present",
		    "dsrkit_rs_vip_present{vip=\"198.18.0.10\",interface=\"lo\"} 1\n"
		    "dsrkit_rs_vip_present{vip=\"2001:db8::10\",interface=\"lo\"} 0\n");
	check_lines(sb_str(&out), "dsrkit_rs_arp_sysctl{",
		    "dsrkit_rs_arp_sysctl{interface=\"all\",sysctl=\"arp_ignore\"} 1\n"
		    "dsrkit_rs_arp_sysctl{interface=\"all\",sysctl=\"arp_announce\"} 0\n"
		    "dsrkit_rs_arp_sysctl{interface=\"default\",sysctl=\"arp_ignore\"} 1\n"
		    "dsrkit_rs_arp_sysctl{interface=\"default\",sysctl=\"arp_announce\"} 2\n"
		    "dsrkit_rs_arp_sysctl{interface=\"lo\",sysctl=\"arp_ignore\"} 1\n"
		    "dsrkit_rs_arp_sysctl{interface=\"lo\",sysctl=\"arp_announce\"} 2\n"
		    "dsrkit_rs_arp_sysctl{interface=\"eth0\",sysctl=\"arp_ignore\"} 1\n"
		    "dsrkit_rs_arp_sysctl{interface=\"eth0\",sysctl=\"arp_announce\"} 0\n");
	check_lines(sb_str(&out), "dsrkit_rs_arp_sysctl_as_wanted{interface=\"eth0\"",
		    "dsrkit_rs_arp_sysctl_as_wanted{interface=\"eth0\",sysctl=\"arp_ignore\"} 1\n"
		    "dsrkit_rs_arp_sysctl_as_wanted{interface=\"eth0\",sysctl=\"arp_announce\"} 0\n");
	check_lines(sb_str(&out), "dsrkit_rs_admin_state",
		    "dsrkit_rs_admin_state{state=\"ready\"} 0\n"
		    "dsrkit_rs_admin_state{state=\"drain\"} 1\n"
		    "dsrkit_rs_admin_state{state=\"maint\"} 0\n");
	check_lines(sb_str(&out), "dsrkit_rs_agent_answer{answer=\"down\"}", "dsrkit_rs_agent_answer{answer=\"down\"} 1\n");
	check_lines(sb_str(&out), "dsrkit_rs_agent_replies_total{answer=\"u",
		    "dsrkit_rs_agent_replies_total{answer=\"up\"} 7\n");
	check_lines(sb_str(&out), "dsrkit_rs_agent_replies_total{answer=\"down\"}",
		    "dsrkit_rs_agent_replies_total{answer=\"down\"} 2\n");
	check_lines(sb_str(&out), "dsrkit_rs_agent_refused",
		    "dsrkit_rs_agent_refused_connections_total{reason=\"not_allowed\"} 3\n"
		    "dsrkit_rs_agent_refused_connections_total{reason=\"busy\"} 1\n");
	check_lines(sb_str(&out), "dsrkit_rs_repairs_total",
		    "dsrkit_rs_repairs_total{kind=\"vip\"} 4\ndsrkit_rs_repairs_total{kind=\"sysctl\"} 5\n");
	check_lines(sb_str(&out), "dsrkit_rs_metrics_refused",
		    "dsrkit_rs_metrics_refused_connections_total{reason=\"not_allowed\"} 2\n"
		    "dsrkit_rs_metrics_refused_connections_total{reason=\"busy\"} 0\n");
	check_lines(sb_str(&out), "dsrkit_rs_load_weight", "");
	check_lines(sb_str(&out), "# TYPE dsrkit_rs_repairs_total", "# TYPE dsrkit_rs_repairs_total counter\n");
	sb_free(&out);

	/* One check: its histogram, cumulative, in seconds. */
	sb_init(&out);
	prom_hist(&out, "dsrkit_rs_check_duration_seconds", &st.latency, "check", "web", NULL);
	CHECK_EQ_STR(sb_str(&out),
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.001\"} 0\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.005\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.01\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.025\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.05\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.1\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.25\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"0.5\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"1\"} 1\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"2.5\"} 2\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"5\"} 2\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"10\"} 2\n"
		     "dsrkit_rs_check_duration_seconds_bucket{check=\"web\",le=\"+Inf\"} 2\n"
		     "dsrkit_rs_check_duration_seconds_sum{check=\"web\"} 1.203\n"
		     "dsrkit_rs_check_duration_seconds_count{check=\"web\"} 2\n");
	sb_free(&out);
}

/* The kernel lets a device be named in any bytes but '/', ':' and blanks;
 * one named in Latin-1 must not make Prometheus refuse every scrape (a
 * label value that is not UTF-8 fails the whole text). */
TEST(rs_metrics_device_name_not_utf8)
{
	struct kernel_ops k = { &fk, f_ifindex, f_links, NULL, f_addr_list, NULL, NULL, f_conf_get, NULL, NULL };
	struct rs_config cfg = { .interface = "lo", .arp_ignore = 1, .arp_announce = 2 };
	struct agent_reply reply = { .state = AGENT_STATE_UP, .weight_pct = -1, .maxconn = -1 };
	struct rs_metrics_input in = { .cfg = &cfg, .kernel = &k, .reply = &reply, .weight_pct = -1 };
	struct strbuf out;

	memset(&fk, 0, sizeof(fk));
	fk.links[0] = (struct rs_link){ 1, "lo", 1, 2 };
	fk.links[1] = (struct rs_link){ 2, "caf\xe9", 1, 2 };
	sb_init(&out);
	rs_metrics_render(&in, &out);
	CHECK(!out.failed);
	check_lines(sb_str(&out), "dsrkit_rs_arp_sysctl{interface=\"caf",
		    "dsrkit_rs_arp_sysctl{interface=\"caf\\\\xE9\",sysctl=\"arp_ignore\"} 1\n"
		    "dsrkit_rs_arp_sysctl{interface=\"caf\\\\xE9\",sysctl=\"arp_announce\"} 2\n");
	sb_free(&out);
}

TEST(agent_answer_words)
{
	struct agent_reply r = { .state = AGENT_STATE_UP, .admin = AGENT_ADMIN_READY, .weight_pct = 50 };

	CHECK_EQ_STR(agent_answer_name(agent_reply_answer(&r)), "up");
	r.admin = AGENT_ADMIN_DRAIN;
	CHECK_EQ_STR(agent_answer_name(agent_reply_answer(&r)), "drain");
	r.state = AGENT_STATE_STOPPED;
	CHECK_EQ_STR(agent_answer_name(agent_reply_answer(&r)), "stopped");
	r.admin = AGENT_ADMIN_MAINT;
	CHECK_EQ_STR(agent_answer_name(agent_reply_answer(&r)), "maint");
	r = (struct agent_reply){ .state = AGENT_STATE_NONE, .admin = AGENT_ADMIN_READY };
	CHECK_EQ_STR(agent_answer_name(agent_reply_answer(&r)), "ready");
	r.admin = AGENT_ADMIN_NONE;
	CHECK_EQ_STR(agent_answer_name(agent_reply_answer(&r)), "other");
}

static struct rs_config *load(const char *text, struct ini_diag *diag)
{
	struct rs_config *cfg = NULL;

	ini_diag_init(diag);
	(void)rs_config_load_buffer("rs-agent.ini", text, strlen(text), &cfg, diag);
	return cfg;
}

TEST(metrics_keys)
{
	struct ini_diag diag;
	struct rs_config *cfg;

	cfg = load("[global]\nvips = 192.0.2.80\nmetrics_listen = [2001:db8::11]:9102\n"
		   "metrics_allow = 192.0.2.0/28, 2001:db8::1\n[agent]\nenabled = no\n", &diag);
	CHECK(cfg != NULL);
	CHECK_EQ_INT(diag.n, 0);
	if (cfg) {
		CHECK_EQ_INT(cfg->metrics_listen.port, 9102);
		CHECK_EQ_INT(cfg->metrics_allow.n, 2);
		rs_config_free(cfg);
	}
	ini_diag_free(&diag);
	CHECK(!load("[global]\nvips = 192.0.2.80\nmetrics_listen = 192.0.2.11\nmetrics_allow = 192.0.2.1\n"
		    "[agent]\nenabled = no\n", &diag));
	CHECK(diag_has(&diag, "rs-agent.ini:3: global.metrics_listen: a port is required"));
	ini_diag_free(&diag);
	CHECK(!load("[global]\nvips = 192.0.2.80\nmetrics_listen = 192.0.2.11:9102\n[agent]\nenabled = no\n", &diag));
	CHECK(diag_has(&diag, "global.metrics_allow: the addresses of the Prometheus servers are required"));
	ini_diag_free(&diag);
	CHECK(!load("[global]\nvips = 192.0.2.80\nmetrics_allow = 192.0.2.1\n[agent]\nenabled = no\n", &diag));
	CHECK(diag_has(&diag, "rs-agent.ini:3: global.metrics_allow: without metrics_listen"));
	ini_diag_free(&diag);
	CHECK(!load("[global]\nvips = 192.0.2.80\nmetrics_listen = 192.0.2.11:99999\nmetrics_allow = 192.0.2.1\n"
		    "[agent]\nenabled = no\n", &diag));
	CHECK(diag_has(&diag, "rs-agent.ini:3: global.metrics_listen"));
	ini_diag_free(&diag);
}

TEST_MAIN(T(rs_metrics_exact_lines), T(rs_metrics_device_name_not_utf8), T(agent_answer_words), T(metrics_keys))
