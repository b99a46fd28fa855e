/* The LVS engine's decisions (lvs_policy.c): rise/fall, one real server's
 * verdict and weight, quorum with hysteresis, the wanted table entry.
 * Configurations are built here as structs, not loaded. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "lvs.h"
#include "test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixtures ---- */

static struct ipaddr v4(const char *s)
{
	struct ipaddr a = { .family = AF_INET, .prefixlen = 32 };

	inet_pton(AF_INET, s, &a.u.v4);
	return a;
}

static void rs_conf(struct real_server_conf *c, const char *addr, unsigned weight)
{
	memset(c, 0, sizeof(*c));
	c->addr = v4(addr);
	c->port = 80;
	c->weight = weight;
	c->fwd = IP_VS_CONN_F_DROUTE;
}

/* TCP 192.0.2.80:80, wlc, dr, quorum 1, start_down, rise 2, fall 3. */
static void vs_init(struct virtual_server_conf *vs, struct real_server_conf *items, size_t n, int check)
{
	memset(vs, 0, sizeof(*vs));
	vs->name = (char *)"web";
	vs->address.addr = v4("192.0.2.80");
	vs->address.port = 80;
	vs->protocol = IPPROTO_TCP;
	vs->scheduler = (char *)"wlc";
	vs->default_fwd = IP_VS_CONN_F_DROUTE;
	vs->real_servers.items = items;
	vs->real_servers.n = n;
	vs->quorum = 1;
	vs->start_down = true;
	vs->check = check;
	vs->check_rise = 2;
	vs->check_fall = 3;
}

static void state_init(struct lvs_rs_state *s, const struct real_server_conf *c)
{
	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->dynamic_weight = -1;
}

enum { H_NONE, H_PASS, H_FAIL };

static void health_set(struct lvs_health *h, int st, const char *reason)
{
	h->rf.known = st != H_NONE;
	h->rf.up = st == H_PASS;
	lvs_health_set_reason(h, reason);
}

static void agent_reply_set(struct lvs_rs_state *s, enum agent_state st, enum agent_admin adm, int pct)
{
	if (!s->agent && !(s->agent = calloc(1, sizeof(*s->agent))))
		abort();
	s->have_agent = true;
	s->agent->state = st;
	s->agent->admin = adm;
	s->agent->weight_pct = pct;
	s->agent->maxconn = -1;
}

/* ---- rise/fall ---- */

/* seq: P pass, F fail; up: 1/0 after each step; chg: 1 where the call
 * returns true. */
struct rf_case {
	const char *name;
	unsigned rise, fall;
	const char *seq, *up, *chg;
};

static const struct rf_case rf_cases[] = {
	{ "first pass decides", 2, 3, "P", "1", "1" },
	{ "first fail decides", 2, 3, "F", "0", "1" },
	{ "fall 3 after up", 2, 3, "PFFFPP", "111001", "100101" },
	{ "rise 2 after down", 2, 3, "FPPF", "0011", "1010" },
	{ "rise interrupted", 3, 3, "FPPFPPP", "0000001", "1000001" },
	{ "fall interrupted", 2, 2, "PFPFPFF", "1111110", "1000001" },
	{ "rise 1 fall 1 flaps", 1, 1, "PFPF", "1010", "1111" },
	{ "rise 0 fall 0 mean 1", 0, 0, "FPFP", "0101", "1111" },
	{ "passes while up change nothing", 2, 3, "PPPP", "1111", "1000" },
};

static void rf_run(const struct rf_case *c)
{
	struct lvs_health h = { 0 };

	for (size_t i = 0; c->seq[i]; i++) {
		bool chg = lvs_health_record(&h, c->seq[i] == 'P', c->rise, c->fall, "x", (int64_t)i + 1);

		if (h.rf.up != (c->up[i] == '1') || chg != (c->chg[i] == '1') || !h.rf.known) {
			fprintf(stderr, "  %s: step %zu: up %d changed %d\n", c->name, i, h.rf.up, chg);
			test_failed_checks++;
		}
	}
	lvs_health_reset(&h);
}

TEST(rise_fall_sequences)
{
	for (size_t i = 0; i < NELEM(rf_cases); i++)
		rf_run(&rf_cases[i]);
}

TEST(health_counters_and_reason)
{
	struct lvs_health h = { 0 };
	char big[300];

	CHECK(!h.rf.known);
	lvs_health_record(&h, true, 2, 3, "ok", 100);
	lvs_health_record(&h, false, 2, 3, "HTTP 503", 200);
	lvs_health_record(&h, false, 2, 3, "timeout", 300);
	CHECK_EQ_INT(h.passes, 1);
	CHECK_EQ_INT(h.fails, 2);
	CHECK(!h.rf.last_pass);
	CHECK_EQ_INT(h.rf.in_row, 2);
	CHECK_EQ_STR(lvs_health_reason(&h), "timeout");
	CHECK_EQ_INT(h.last_ms, 300);
	CHECK(h.rf.up);

	lvs_health_record(&h, true, 2, 3, NULL, 400);
	CHECK_EQ_STR(lvs_health_reason(&h), "");
	CHECK(h.reason == NULL);	/* none kept */
	CHECK(h.rf.last_pass);
	CHECK_EQ_INT(h.rf.in_row, 1);

	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	lvs_health_record(&h, true, 2, 3, big, 500);
	CHECK_EQ_INT(strlen(lvs_health_reason(&h)), LVS_REASON_MAX - 1);
	CHECK_EQ_INT(lvs_health_reason(&h)[0], 'r');
	/* The same reason again is not copied again. */
	{
		const char *kept = h.reason;

		lvs_health_record(&h, true, 2, 3, big, 600);
		CHECK(h.reason == kept);
		lvs_health_record(&h, false, 2, 3, "timeout", 700);
		CHECK_EQ_STR(lvs_health_reason(&h), "timeout");
	}
	lvs_health_reset(&h);
	CHECK(h.reason == NULL && h.passes == 0 && !h.rf.known);
}

/* ---- one real server ---- */

struct eval_case {
	const char *name;
	int check;
	bool check_agent, no_start_down, inhibit, dyn_script, announce;
	unsigned weight;
	int chk;			/* H_NONE, H_PASS, H_FAIL */
	const char *chk_reason;
	int agent;			/* the agent's reachability, H_* */
	const char *agent_reason;
	bool have_agent;
	enum agent_state ast;
	enum agent_admin aadm;
	bool has_pct;
	int pct;
	int dyn;			/* 0: none, else dynamic weight + 1 */
	bool drained, adopted, at_zero;
	enum lvs_rs_verdict verdict;
	int w;
	const char *why;		/* NULL: not checked */
};

static const struct eval_case eval_cases[] = {
	/* the deciding check */
	{ .name = "no check is up", .check = LVS_CHECK_NONE, .weight = 3,
	  .verdict = LVS_RS_UP, .w = 3, .why = "no check" },
	{ .name = "tcp passed", .check = LVS_CHECK_TCP, .weight = 3, .chk = H_PASS,
	  .verdict = LVS_RS_UP, .w = 3, .why = "check passed" },
	{ .name = "tcp failed: the probe's reason", .check = LVS_CHECK_TCP, .weight = 3, .chk = H_FAIL,
	  .chk_reason = "connect: Connection refused",
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "connect: Connection refused" },
	{ .name = "failed without a reason", .check = LVS_CHECK_HTTP, .weight = 3, .chk = H_FAIL,
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "check failed" },
	{ .name = "inhibit_on_failure keeps it at 0", .check = LVS_CHECK_HTTP, .inhibit = true, .weight = 3,
	  .chk = H_FAIL, .chk_reason = "HTTP 503", .verdict = LVS_RS_DOWN, .w = 0, .why = "HTTP 503" },
	{ .name = "start_down: out before a result", .check = LVS_CHECK_TCP, .weight = 3,
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "starting: no check result yet" },
	{ .name = "start_down = no: in before a result", .check = LVS_CHECK_TCP, .no_start_down = true,
	  .weight = 3, .verdict = LVS_RS_UP, .w = 3, .why = "starting: no check result yet" },
	{ .name = "adopted: in before a result", .check = LVS_CHECK_TCP, .weight = 3, .adopted = true,
	  .verdict = LVS_RS_UP, .w = 3, .why = "adopted from the kernel" },
	{ .name = "adopted: out once the check fails", .check = LVS_CHECK_TCP, .weight = 3, .adopted = true,
	  .chk = H_FAIL, .verdict = LVS_RS_DOWN, .w = -1 },
	{ .name = "adopted and inhibited before a result", .check = LVS_CHECK_HTTP, .inhibit = true,
	  .weight = 2, .adopted = true, .verdict = LVS_RS_UP, .w = 2 },
	{ .name = "adopted at weight 0: kept at 0 before a result", .check = LVS_CHECK_TCP, .weight = 3,
	  .adopted = true, .at_zero = true, .verdict = LVS_RS_DRAIN, .w = 0,
	  .why = "adopted from the kernel at weight 0" },
	{ .name = "adopted at weight 0: full weight once the check passes", .check = LVS_CHECK_TCP, .weight = 3,
	  .adopted = true, .at_zero = true, .chk = H_PASS, .verdict = LVS_RS_UP, .w = 3, .why = "check passed" },
	{ .name = "adopted at weight 0: out once the check fails", .check = LVS_CHECK_TCP, .weight = 3,
	  .adopted = true, .at_zero = true, .chk = H_FAIL, .verdict = LVS_RS_DOWN, .w = -1 },
	{ .name = "adopted at weight 0, agent only: kept at 0 before a reply", .check = LVS_CHECK_AGENT,
	  .weight = 3, .adopted = true, .at_zero = true, .verdict = LVS_RS_DRAIN, .w = 0 },
	{ .name = "adopted at weight 0 and drained: still 0 after the check passes", .check = LVS_CHECK_TCP,
	  .weight = 3, .adopted = true, .at_zero = true, .drained = true, .chk = H_PASS, .verdict = LVS_RS_DRAIN,
	  .w = 0, .why = "directorctl drain" },

	/* check = agent: the agent alone */
	{ .name = "agent only: up", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_UP, .verdict = LVS_RS_UP, .w = 3, .why = "agent: up" },
	{ .name = "agent only: no state word is up", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_NONE, .aadm = AGENT_ADMIN_READY,
	  .verdict = LVS_RS_UP, .w = 3 },
	{ .name = "agent only: unreachable is down", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_FAIL,
	  .agent_reason = "connect: Connection refused",
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "connect: Connection refused" },
	{ .name = "agent only: unreachable without a reason", .check = LVS_CHECK_AGENT, .weight = 3,
	  .agent = H_FAIL, .verdict = LVS_RS_DOWN, .w = -1, .why = "agent: unreachable" },
	{ .name = "agent only: down", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_DOWN, .verdict = LVS_RS_DOWN, .w = -1, .why = "agent: down" },
	{ .name = "agent only: fail", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_FAIL, .verdict = LVS_RS_DOWN, .w = -1, .why = "agent: fail" },
	{ .name = "agent only: stopped", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_STOPPED, .verdict = LVS_RS_DOWN, .w = -1,
	  .why = "agent: stopped" },
	{ .name = "agent only: start_down before a reply", .check = LVS_CHECK_AGENT, .weight = 3,
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "starting: no check result yet" },
	{ .name = "agent only: adopted before a reply", .check = LVS_CHECK_AGENT, .weight = 3, .adopted = true,
	  .verdict = LVS_RS_UP, .w = 3, .why = "adopted from the kernel" },
	{ .name = "agent only: the check field is not used", .check = LVS_CHECK_AGENT, .weight = 3,
	  .chk = H_FAIL, .agent = H_PASS, .have_agent = true, .ast = AGENT_STATE_UP,
	  .verdict = LVS_RS_UP, .w = 3 },

	/* check = http, agent: the check decides, the agent only takes out */
	{ .name = "combined: agent down takes out", .check = LVS_CHECK_HTTP, .check_agent = true, .weight = 3,
	  .chk = H_PASS, .agent = H_PASS, .have_agent = true, .ast = AGENT_STATE_DOWN,
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "agent: down" },
	{ .name = "combined: agent down, inhibited", .check = LVS_CHECK_HTTP, .check_agent = true,
	  .inhibit = true, .weight = 3, .chk = H_PASS, .agent = H_PASS, .have_agent = true,
	  .ast = AGENT_STATE_DOWN, .verdict = LVS_RS_DOWN, .w = 0 },
	{ .name = "combined: agent unreachable changes nothing", .check = LVS_CHECK_HTTP, .check_agent = true,
	  .weight = 3, .chk = H_PASS, .agent = H_FAIL, .verdict = LVS_RS_UP, .w = 3, .why = "check passed" },
	{ .name = "combined: no agent reply yet changes nothing", .check = LVS_CHECK_TCP, .check_agent = true,
	  .weight = 3, .chk = H_PASS, .verdict = LVS_RS_UP, .w = 3 },
	{ .name = "combined: agent up does not override a failed check", .check = LVS_CHECK_HTTP,
	  .check_agent = true, .weight = 3, .chk = H_FAIL, .chk_reason = "HTTP 500", .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_UP, .verdict = LVS_RS_DOWN, .w = -1, .why = "HTTP 500" },
	{ .name = "combined: agent up does not override start_down", .check = LVS_CHECK_HTTP,
	  .check_agent = true, .weight = 3, .agent = H_PASS, .have_agent = true, .ast = AGENT_STATE_UP,
	  .verdict = LVS_RS_DOWN, .w = -1 },
	{ .name = "no check, agent: agent down takes out", .check = LVS_CHECK_NONE, .check_agent = true,
	  .weight = 3, .agent = H_PASS, .have_agent = true, .ast = AGENT_STATE_DOWN,
	  .verdict = LVS_RS_DOWN, .w = -1, .why = "agent: down" },
	{ .name = "no agent configured: its reply is ignored", .check = LVS_CHECK_TCP, .weight = 3,
	  .chk = H_PASS, .have_agent = true, .ast = AGENT_STATE_DOWN, .aadm = AGENT_ADMIN_MAINT,
	  .has_pct = true, .pct = 10, .verdict = LVS_RS_UP, .w = 3 },

	/* admin states */
	{ .name = "agent maint is out", .check = LVS_CHECK_HTTP, .check_agent = true, .weight = 3,
	  .chk = H_PASS, .agent = H_PASS, .have_agent = true, .aadm = AGENT_ADMIN_MAINT,
	  .verdict = LVS_RS_MAINT, .w = -1, .why = "agent: maint" },
	{ .name = "agent maint beats a failed check", .check = LVS_CHECK_HTTP, .check_agent = true,
	  .inhibit = true, .weight = 3, .chk = H_FAIL, .agent = H_PASS, .have_agent = true,
	  .aadm = AGENT_ADMIN_MAINT, .verdict = LVS_RS_MAINT, .w = -1 },
	{ .name = "agent maint of an announced service: weight 0, mh's table kept", .check = LVS_CHECK_HTTP,
	  .check_agent = true, .announce = true, .inhibit = true, .weight = 3, .chk = H_PASS, .agent = H_PASS,
	  .have_agent = true, .aadm = AGENT_ADMIN_MAINT, .verdict = LVS_RS_MAINT, .w = 0, .why = "agent: maint" },
	{ .name = "agent only: maint", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_UP, .aadm = AGENT_ADMIN_MAINT,
	  .verdict = LVS_RS_MAINT, .w = -1 },
	{ .name = "agent drain: weight 0", .check = LVS_CHECK_HTTP, .check_agent = true, .weight = 3,
	  .chk = H_PASS, .agent = H_PASS, .have_agent = true, .aadm = AGENT_ADMIN_DRAIN,
	  .verdict = LVS_RS_DRAIN, .w = 0, .why = "agent: drain" },
	{ .name = "agent drain of a down server is down", .check = LVS_CHECK_HTTP, .check_agent = true,
	  .weight = 3, .chk = H_FAIL, .agent = H_PASS, .have_agent = true, .aadm = AGENT_ADMIN_DRAIN,
	  .verdict = LVS_RS_DOWN, .w = -1 },
	{ .name = "operator drain: weight 0", .check = LVS_CHECK_TCP, .weight = 3, .chk = H_PASS,
	  .drained = true, .verdict = LVS_RS_DRAIN, .w = 0, .why = "directorctl drain" },
	{ .name = "operator drain survives agent ready", .check = LVS_CHECK_TCP, .check_agent = true,
	  .weight = 3, .chk = H_PASS, .agent = H_PASS, .have_agent = true, .ast = AGENT_STATE_UP,
	  .aadm = AGENT_ADMIN_READY, .has_pct = true, .pct = 100, .drained = true,
	  .verdict = LVS_RS_DRAIN, .w = 0, .why = "directorctl drain" },
	{ .name = "operator drain of a down server is down", .check = LVS_CHECK_TCP, .weight = 3,
	  .chk = H_FAIL, .drained = true, .verdict = LVS_RS_DOWN, .w = -1 },
	{ .name = "operator drain of a down server, inhibited", .check = LVS_CHECK_TCP, .inhibit = true,
	  .weight = 3, .chk = H_FAIL, .drained = true, .verdict = LVS_RS_DOWN, .w = 0 },
	{ .name = "operator drain with no check", .check = LVS_CHECK_NONE, .weight = 3, .drained = true,
	  .verdict = LVS_RS_DRAIN, .w = 0 },

	/* weights */
	{ .name = "50% of 3 is 2 (nearest)", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_UP, .has_pct = true, .pct = 50,
	  .verdict = LVS_RS_UP, .w = 2 },
	{ .name = "49% of 3 is 1", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .has_pct = true, .pct = 49, .verdict = LVS_RS_UP, .w = 1 },
	{ .name = "1% of 1 is 1", .check = LVS_CHECK_AGENT, .weight = 1, .agent = H_PASS,
	  .have_agent = true, .has_pct = true, .pct = 1, .verdict = LVS_RS_UP, .w = 1 },
	{ .name = "0% is 0, still up", .check = LVS_CHECK_HTTP, .check_agent = true, .weight = 3,
	  .chk = H_PASS, .agent = H_PASS, .have_agent = true, .has_pct = true, .pct = 0,
	  .verdict = LVS_RS_UP, .w = 0, .why = "check passed" },
	{ .name = "150% of 2 is 3", .check = LVS_CHECK_AGENT, .weight = 2, .agent = H_PASS,
	  .have_agent = true, .has_pct = true, .pct = 150, .verdict = LVS_RS_UP, .w = 3 },
	{ .name = "1000% of 65535", .check = LVS_CHECK_AGENT, .weight = 65535, .agent = H_PASS,
	  .have_agent = true, .has_pct = true, .pct = 1000, .verdict = LVS_RS_UP, .w = 655350 },
	{ .name = "a percentage of weight 0 is 0", .check = LVS_CHECK_AGENT, .weight = 0, .agent = H_PASS,
	  .have_agent = true, .has_pct = true, .pct = 75, .verdict = LVS_RS_UP, .w = 0 },
	{ .name = "weight 0 configured is up at 0", .check = LVS_CHECK_NONE, .weight = 0,
	  .verdict = LVS_RS_UP, .w = 0 },
	{ .name = "dynamic weight replaces the configured one", .check = LVS_CHECK_SCRIPT, .dyn_script = true,
	  .weight = 1, .chk = H_PASS, .dyn = 7 + 1, .verdict = LVS_RS_UP, .w = 7 },
	{ .name = "dynamic weight 0", .check = LVS_CHECK_SCRIPT, .dyn_script = true, .weight = 5,
	  .chk = H_PASS, .dyn = 0 + 1, .verdict = LVS_RS_UP, .w = 0 },
	{ .name = "no dynamic weight reported: configured", .check = LVS_CHECK_SCRIPT, .dyn_script = true,
	  .weight = 5, .chk = H_PASS, .verdict = LVS_RS_UP, .w = 5 },
	{ .name = "dynamic weight off: configured", .check = LVS_CHECK_SCRIPT, .weight = 5, .chk = H_PASS,
	  .dyn = 7 + 1, .verdict = LVS_RS_UP, .w = 5 },
	{ .name = "dynamic weight scaled by the agent", .check = LVS_CHECK_SCRIPT, .dyn_script = true,
	  .check_agent = true, .weight = 1, .chk = H_PASS, .dyn = 10 + 1, .agent = H_PASS, .have_agent = true,
	  .has_pct = true, .pct = 50, .verdict = LVS_RS_UP, .w = 5 },
	{ .name = "a down server has no weight", .check = LVS_CHECK_AGENT, .weight = 3, .agent = H_PASS,
	  .have_agent = true, .ast = AGENT_STATE_DOWN, .has_pct = true, .pct = 50,
	  .verdict = LVS_RS_DOWN, .w = -1 },
};

static void eval_setup(const struct eval_case *c, struct virtual_server_conf *vs, struct real_server_conf *rc,
		       struct lvs_rs_state *s)
{
	rs_conf(rc, "198.18.0.11", c->weight);
	vs_init(vs, rc, 1, c->check);
	vs->check_agent = c->check_agent;
	vs->start_down = !c->no_start_down;
	vs->inhibit_on_failure = c->inhibit;
	vs->announce = c->announce;
	vs->check_dynamic_weight = c->dyn_script;
	state_init(s, rc);
	health_set(&s->check, c->chk, c->chk_reason);
	health_set(&s->agent_health, c->agent, c->agent_reason);
	if (c->have_agent)
		agent_reply_set(s, c->ast, c->aadm, c->has_pct ? c->pct : -1);
	s->dynamic_weight = c->dyn - 1;
	s->admin = c->drained ? LVS_ADMIN_DRAINED : LVS_ADMIN_ENABLED;
	s->adopted = c->adopted;
	s->adopted_at_zero = c->at_zero;
}

static void eval_run(const struct eval_case *c)
{
	struct virtual_server_conf vs;
	struct real_server_conf rc;
	struct lvs_rs_state s;
	const char *why = NULL;
	int w = 12345;
	enum lvs_rs_verdict v;

	eval_setup(c, &vs, &rc, &s);
	v = lvs_rs_evaluate(&vs, &s, &w, &why);
	if (v != c->verdict || w != c->w || !why || (c->why && strcmp(why, c->why) != 0)) {
		fprintf(stderr, "  %s: verdict %d weight %d why \"%s\"; want %d %d \"%s\"\n", c->name, v, w,
			why ? why : "(null)", c->verdict, c->w, c->why ? c->why : "*");
		test_failed_checks++;
	}
	lvs_rs_state_release(&s);
}

TEST(evaluate_table)
{
	for (size_t i = 0; i < NELEM(eval_cases); i++)
		eval_run(&eval_cases[i]);
}

/* The agent's reply is only read while it is current. */
TEST(evaluate_stale_agent_reply_ignored)
{
	struct virtual_server_conf vs;
	struct real_server_conf rc;
	struct lvs_rs_state s;
	const char *why;
	int w;

	rs_conf(&rc, "198.18.0.11", 4);
	vs_init(&vs, &rc, 1, LVS_CHECK_HTTP);
	vs.check_agent = true;
	state_init(&s, &rc);
	health_set(&s.check, H_PASS, NULL);
	health_set(&s.agent_health, H_FAIL, "timeout");
	agent_reply_set(&s, AGENT_STATE_DOWN, AGENT_ADMIN_MAINT, 25);
	s.have_agent = false;	/* a reply, no longer current */
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_UP);
	CHECK_EQ_INT(w, 4);
	lvs_rs_state_release(&s);
}

/* The check's reason is the server's own string, not a copy. */
TEST(evaluate_why_points_into_state)
{
	struct virtual_server_conf vs;
	struct real_server_conf rc;
	struct lvs_rs_state s;
	const char *why;
	int w;

	rs_conf(&rc, "198.18.0.11", 1);
	vs_init(&vs, &rc, 1, LVS_CHECK_HTTP);
	state_init(&s, &rc);
	health_set(&s.check, H_FAIL, "HTTP 503");
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_DOWN);
	CHECK(why == s.check.reason);
	lvs_rs_state_release(&s);
}

/* The agent's words decided: why is its line, while the last attempt
 * read one; after a failed attempt the reply in force is named. */
TEST(evaluate_why_is_the_agent_line)
{
	struct virtual_server_conf vs;
	struct real_server_conf rc;
	struct lvs_rs_state s;
	const char *why;
	int w;

	rs_conf(&rc, "198.18.0.11", 1);
	vs_init(&vs, &rc, 1, LVS_CHECK_HTTP);
	vs.check_agent = true;
	state_init(&s, &rc);
	health_set(&s.check, H_PASS, NULL);
	lvs_health_record(&s.agent_health, true, 2, 3, "down #vip missing", 1);
	agent_reply_set(&s, AGENT_STATE_DOWN, AGENT_ADMIN_NONE, -1);
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_DOWN);
	CHECK(why == s.agent_health.reason);

	lvs_health_record(&s.agent_health, false, 2, 3, "timeout", 2);
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_DOWN);
	CHECK_EQ_STR(why, "agent: down");

	lvs_health_record(&s.agent_health, true, 2, 3, "drain", 3);
	agent_reply_set(&s, AGENT_STATE_NONE, AGENT_ADMIN_DRAIN, -1);
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_DRAIN);
	CHECK_EQ_STR(why, "drain");

	lvs_health_record(&s.agent_health, true, 2, 3, "maint", 4);
	agent_reply_set(&s, AGENT_STATE_NONE, AGENT_ADMIN_MAINT, -1);
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_MAINT);
	CHECK_EQ_STR(why, "maint");

	vs.check = LVS_CHECK_AGENT;
	lvs_health_record(&s.agent_health, true, 2, 3, "up 50%", 5);
	agent_reply_set(&s, AGENT_STATE_UP, AGENT_ADMIN_NONE, 50);
	CHECK_EQ_INT(lvs_rs_evaluate(&vs, &s, &w, &why), LVS_RS_UP);
	CHECK_EQ_STR(why, "up 50%");
	CHECK_EQ_INT(w, 1);
	lvs_rs_state_release(&s);
}

/* ---- quorum ---- */

/* weights: the up weight at each step; q: 1/0 after it; chg: 1 where
 * lvs_quorum_update returns true. */
struct q_case {
	const char *name;
	unsigned quorum, hysteresis;
	bool start;
	unsigned weights[8];
	size_t n;
	const char *q, *chg;
};

static const struct q_case q_cases[] = {
	{ "hysteresis 1 down then up", 4, 1, true, { 4, 3, 2, 3, 4, 5, 4, 3 }, 8, "11000111", "00100100" },
	{ "starting without quorum", 4, 1, false, { 0, 4, 5 }, 3, "001", "001" },
	{ "starting with quorum", 4, 1, true, { 9, 3, 2 }, 3, "110", "001" },
	{ "no hysteresis", 2, 0, true, { 2, 1, 1, 2, 3 }, 5, "10011", "01010" },
	{ "hysteresis above quorum: only 0 loses", 1, 2, true, { 1, 0, 1, 2, 3 }, 5, "10001", "01001" },
	{ "quorum 0 is never lost", 0, 0, false, { 0, 0, 5 }, 3, "111", "100" },
	{ "huge hysteresis saturates", 10, 4294967290u, true, { 5, 0, 4000000000u, 4294967295u }, 4, "1001",
	  "0101" },
};

static void q_run(const struct q_case *c)
{
	struct virtual_server_conf vs;
	bool q = c->start;

	vs_init(&vs, NULL, 0, LVS_CHECK_NONE);
	vs.quorum = c->quorum;
	vs.quorum_hysteresis = c->hysteresis;
	for (size_t i = 0; i < c->n; i++) {
		bool chg = lvs_quorum_update(&vs, c->weights[i], &q);

		if (q != (c->q[i] == '1') || chg != (c->chg[i] == '1')) {
			fprintf(stderr, "  %s: step %zu (weight %u): quorum %d changed %d\n", c->name, i,
				c->weights[i], q, chg);
			test_failed_checks++;
		}
	}
}

TEST(quorum_table)
{
	for (size_t i = 0; i < NELEM(q_cases); i++)
		q_run(&q_cases[i]);
}

/* ---- the wanted table entry ---- */

/* Four servers: .11 up at 3, .12 drained (weight 2), .13 down (weight 1),
 * .14 agent maint (weight 5); an http check with the agent. */
struct svc_fixture {
	struct virtual_server_conf vs;
	struct real_server_conf rc[4];
	struct lvs_rs_state s[4];
	struct ipvs_service svc;
	struct ipvs_dest d[5];
};

static void fixture_init(struct svc_fixture *f)
{
	static const char *const addr[] = { "198.18.0.11", "198.18.0.12", "198.18.0.13", "198.18.0.14" };
	static const unsigned weight[] = { 3, 2, 1, 5 };

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < 4; i++) {
		rs_conf(&f->rc[i], addr[i], weight[i]);
		state_init(&f->s[i], &f->rc[i]);
		health_set(&f->s[i].check, H_PASS, NULL);
	}
	vs_init(&f->vs, f->rc, 4, LVS_CHECK_HTTP);
	f->vs.check_agent = true;
	f->s[1].admin = LVS_ADMIN_DRAINED;
	health_set(&f->s[2].check, H_FAIL, "HTTP 503");
	agent_reply_set(&f->s[3], AGENT_STATE_UP, AGENT_ADMIN_MAINT, -1);
	f->vs.sorry_server.addr = v4("192.0.2.99");
	f->vs.sorry_server.port = 8080;
	f->vs.sorry_fwd = IP_VS_CONN_F_MASQ;
}

static void fixture_release(struct svc_fixture *f)
{
	for (size_t i = 0; i < 4; i++)
		lvs_rs_state_release(&f->s[i]);
}

/* Is (addr, port, weight) among dests[0..n)? Order does not matter. */
static const struct ipvs_dest *find_dest(const struct ipvs_dest *d, size_t n, const char *addr, uint16_t port)
{
	struct ipvs_dest key = { .addr = v4(addr), .port = port };

	for (size_t i = 0; i < n; i++)
		if (lvs_dest_cmp(&d[i], &key) == 0)
			return &d[i];
	return NULL;
}

static void check_dest(const struct ipvs_dest *d, size_t n, const char *addr, uint16_t port, int weight,
		       int line)
{
	const struct ipvs_dest *x = find_dest(d, n, addr, port);

	if (!x || x->weight != weight) {
		fprintf(stderr, "  line %d: %s:%u %s (weight %d, want %d)\n", line, addr, port,
			x ? "has the wrong weight" : "missing", x ? x->weight : -1, weight);
		test_failed_checks++;
	}
}

#define CHECK_DEST(d, n, addr, port, weight) check_dest(d, n, addr, port, weight, __LINE__)

static void check_key(const struct svc_fixture *f)
{
	struct ipvs_service key;

	virtual_server_key(&f->vs, &key);
	CHECK_EQ_INT(lvs_service_cmp(&f->svc, &key), 0);
	CHECK_EQ_STR(f->svc.sched, key.sched);
	CHECK_EQ_INT(f->svc.flags, key.flags);
}

TEST(want_with_quorum)
{
	struct svc_fixture f;
	size_t n;

	fixture_init(&f);
	n = lvs_service_want(&f.vs, f.s, true, &f.svc, f.d);
	check_key(&f);
	CHECK_EQ_INT(n, 2);
	CHECK_DEST(f.d, n, "198.18.0.11", 80, 3);
	CHECK_DEST(f.d, n, "198.18.0.12", 80, 0);
	CHECK(!find_dest(f.d, n, "198.18.0.13", 80));
	CHECK(!find_dest(f.d, n, "198.18.0.14", 80));
	CHECK(!find_dest(f.d, n, "192.0.2.99", 8080));
	CHECK_EQ_INT(f.d[0].fwd, IP_VS_CONN_F_DROUTE);
	fixture_release(&f);
}

TEST(want_with_quorum_inhibited)
{
	struct svc_fixture f;
	size_t n;

	fixture_init(&f);
	f.vs.inhibit_on_failure = true;
	n = lvs_service_want(&f.vs, f.s, true, &f.svc, f.d);
	CHECK_EQ_INT(n, 3);
	CHECK_DEST(f.d, n, "198.18.0.11", 80, 3);
	CHECK_DEST(f.d, n, "198.18.0.12", 80, 0);
	CHECK_DEST(f.d, n, "198.18.0.13", 80, 0);
	CHECK(!find_dest(f.d, n, "198.18.0.14", 80));
	fixture_release(&f);
}

TEST(want_sorry_server_only_without_quorum)
{
	struct svc_fixture f;
	size_t n;

	fixture_init(&f);
	n = lvs_service_want(&f.vs, f.s, false, &f.svc, f.d);
	check_key(&f);
	CHECK_EQ_INT(n, 1);
	CHECK_DEST(f.d, n, "192.0.2.99", 8080, 1);
	CHECK_EQ_INT(f.d[0].fwd, IP_VS_CONN_F_MASQ);

	/* no port of its own: the service's */
	f.vs.sorry_server.port = 0;
	f.vs.sorry_fwd = IP_VS_CONN_F_DROUTE;
	n = lvs_service_want(&f.vs, f.s, false, &f.svc, f.d);
	CHECK_EQ_INT(n, 1);
	CHECK_DEST(f.d, n, "192.0.2.99", 80, 1);
	CHECK_EQ_INT(f.d[0].fwd, IP_VS_CONN_F_DROUTE);
	fixture_release(&f);
}

/* inhibit_on_failure: servers never leave the table for a failure, so
 * while the sorry server serves they stay at weight 0. */
TEST(want_sorry_server_inhibited)
{
	struct svc_fixture f;
	size_t n;

	fixture_init(&f);
	f.vs.inhibit_on_failure = true;
	n = lvs_service_want(&f.vs, f.s, false, &f.svc, f.d);
	CHECK_EQ_INT(n, 4);
	CHECK_DEST(f.d, n, "192.0.2.99", 8080, 1);
	CHECK_DEST(f.d, n, "198.18.0.11", 80, 0);
	CHECK_DEST(f.d, n, "198.18.0.12", 80, 0);
	CHECK_DEST(f.d, n, "198.18.0.13", 80, 0);
	CHECK(!find_dest(f.d, n, "198.18.0.14", 80));

	/* a sorry server that is also a real server appears once */
	f.vs.sorry_server.addr = v4("198.18.0.13");
	f.vs.sorry_server.port = 80;
	n = lvs_service_want(&f.vs, f.s, false, &f.svc, f.d);
	CHECK_EQ_INT(n, 3);
	CHECK_DEST(f.d, n, "198.18.0.13", 80, 1);
	fixture_release(&f);
}

TEST(want_without_quorum_nor_sorry_server)
{
	struct svc_fixture f;
	size_t n;

	fixture_init(&f);
	memset(&f.vs.sorry_server, 0, sizeof(f.vs.sorry_server));
	n = lvs_service_want(&f.vs, f.s, false, &f.svc, f.d);
	CHECK_EQ_INT(n, 2);
	CHECK_DEST(f.d, n, "198.18.0.11", 80, 3);
	CHECK_DEST(f.d, n, "198.18.0.12", 80, 0);
	fixture_release(&f);
}

TEST(want_scaled_weights)
{
	struct svc_fixture f;
	size_t n;

	fixture_init(&f);
	agent_reply_set(&f.s[0], AGENT_STATE_UP, AGENT_ADMIN_READY, 50);
	n = lvs_service_want(&f.vs, f.s, true, &f.svc, f.d);
	CHECK_EQ_INT(n, 2);
	CHECK_DEST(f.d, n, "198.18.0.11", 80, 2);
	fixture_release(&f);
}

TEST(want_empty_service)
{
	struct virtual_server_conf vs;
	struct ipvs_service svc;
	struct ipvs_dest d[1];

	vs_init(&vs, NULL, 0, LVS_CHECK_TCP);
	CHECK_EQ_INT(lvs_service_want(&vs, NULL, true, &svc, d), 0);
	CHECK_EQ_INT(lvs_service_up_weight(&vs, NULL), 0);
	vs.sorry_server.addr = v4("192.0.2.99");
	CHECK_EQ_INT(lvs_service_want(&vs, NULL, false, &svc, d), 1);
	CHECK_DEST(d, 1, "192.0.2.99", 80, 1);
}

TEST(up_weight_counts_up_servers_only)
{
	struct svc_fixture f;

	fixture_init(&f);
	/* .11 up 3; .12 drained, .13 down, .14 maint count 0 */
	CHECK_EQ_INT(lvs_service_up_weight(&f.vs, f.s), 3);
	f.s[1].admin = LVS_ADMIN_ENABLED;
	CHECK_EQ_INT(lvs_service_up_weight(&f.vs, f.s), 5);
	agent_reply_set(&f.s[0], AGENT_STATE_UP, AGENT_ADMIN_NONE, 50);
	CHECK_EQ_INT(lvs_service_up_weight(&f.vs, f.s), 4);
	f.vs.inhibit_on_failure = true;	/* a down server at weight 0 is still not up */
	CHECK_EQ_INT(lvs_service_up_weight(&f.vs, f.s), 4);
	fixture_release(&f);
}

/* The engine's loop in miniature: results -> verdicts -> quorum -> table. */
TEST(scenario_lose_and_regain_quorum)
{
	struct svc_fixture f;
	bool q = true;
	size_t n;

	fixture_init(&f);
	f.vs.check_agent = false;
	f.vs.quorum = 3;
	f.vs.quorum_hysteresis = 1;
	f.vs.real_servers.n = 2;	/* .11 weight 3, .12 weight 2 */
	for (size_t i = 0; i < 2; i++) {
		state_init(&f.s[i], &f.rc[i]);
		lvs_health_record(&f.s[i].check, true, 2, 2, NULL, 1);
	}
	CHECK(!lvs_quorum_update(&f.vs, lvs_service_up_weight(&f.vs, f.s), &q));
	CHECK(q);

	/* .11 fails twice: out; 2 < 3 - 1 is false, quorum holds */
	lvs_health_record(&f.s[0].check, false, 2, 2, "timeout", 2);
	CHECK(!lvs_quorum_update(&f.vs, lvs_service_up_weight(&f.vs, f.s), &q));
	CHECK(lvs_health_record(&f.s[0].check, false, 2, 2, "timeout", 3));
	CHECK(!lvs_quorum_update(&f.vs, lvs_service_up_weight(&f.vs, f.s), &q));
	n = lvs_service_want(&f.vs, f.s, q, &f.svc, f.d);
	CHECK_EQ_INT(n, 1);
	CHECK_DEST(f.d, n, "198.18.0.12", 80, 2);

	/* .12 drained: 0 left, quorum lost, the sorry server alone */
	f.s[1].admin = LVS_ADMIN_DRAINED;
	CHECK(lvs_quorum_update(&f.vs, lvs_service_up_weight(&f.vs, f.s), &q));
	CHECK(!q);
	n = lvs_service_want(&f.vs, f.s, q, &f.svc, f.d);
	CHECK_EQ_INT(n, 1);
	CHECK_DEST(f.d, n, "192.0.2.99", 8080, 1);

	/* .12 enabled: 2 < 3 + 1, still the sorry server */
	f.s[1].admin = LVS_ADMIN_ENABLED;
	CHECK(!lvs_quorum_update(&f.vs, lvs_service_up_weight(&f.vs, f.s), &q));
	CHECK(!q);

	/* .11 passes twice: 5 >= 4, back */
	CHECK(!lvs_health_record(&f.s[0].check, true, 2, 2, NULL, 4));
	CHECK(lvs_health_record(&f.s[0].check, true, 2, 2, NULL, 5));
	CHECK(lvs_quorum_update(&f.vs, lvs_service_up_weight(&f.vs, f.s), &q));
	CHECK(q);
	n = lvs_service_want(&f.vs, f.s, q, &f.svc, f.d);
	CHECK_EQ_INT(n, 2);
	CHECK_DEST(f.d, n, "198.18.0.11", 80, 3);
	CHECK_DEST(f.d, n, "198.18.0.12", 80, 2);
	fixture_release(&f);
}

TEST_MAIN(
	T(rise_fall_sequences),
	T(health_counters_and_reason),
	T(evaluate_table),
	T(evaluate_stale_agent_reply_ignored),
	T(evaluate_why_points_into_state),
	T(evaluate_why_is_the_agent_line),
	T(quorum_table),
	T(want_with_quorum),
	T(want_with_quorum_inhibited),
	T(want_sorry_server_only_without_quorum),
	T(want_sorry_server_inhibited),
	T(want_without_quorum_nor_sorry_server),
	T(want_scaled_weights),
	T(want_empty_service),
	T(up_weight_counts_up_servers_only),
	T(scenario_lose_and_regain_quorum)
)
