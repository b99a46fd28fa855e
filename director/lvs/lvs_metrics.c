/* The LVS engine's metrics in Prometheus' text format (directord(8),
 * METRICS): every virtual server and real server with its state, weights,
 * check results and latency, agent replies, and the kernel's IPVS
 * counters, read when asked as `directorctl status` reads them (not above
 * STATUS_DUMP_MAX services); the sync daemon. The services are walked
 * once, each family's samples gathered apart, since the format wants a
 * family's samples together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvs_engine_int.h"
#include "vrrp.h"

enum family {
	F_VS_QUORUM, F_VS_IN_KERNEL, F_VS_ANNOUNCED, F_VS_ANNOUNCE_STATE, F_RS_STATE, F_RS_WEIGHT_CONF, F_RS_WEIGHT, F_RS_DRAINED, F_CHECK_RESULTS,
	F_CHECK_DURATION, F_AGENT_REPLIES, F_CONNS, F_PACKETS, F_BYTES, F_ACTIVE, F_INACTIVE, F_COUNT
};

static const struct {
	const char *name, *type, *help;
} families[F_COUNT] = {
	[F_VS_QUORUM] = { "dsrkit_lvs_virtual_server_quorum", "gauge", "1 while the virtual server has quorum." },
	[F_VS_IN_KERNEL] = { "dsrkit_lvs_virtual_server_in_kernel", "gauge", "1 when the service is in IPVS." },
	[F_VS_ANNOUNCED] = { "dsrkit_lvs_virtual_server_announced", "gauge",
			     "1 while the announced service's VIP is announced (address and route)." },
	[F_VS_ANNOUNCE_STATE] = { "dsrkit_lvs_virtual_server_announce_state", "gauge",
				  "Why the announced service is or is not announced, one-hot: announced, no_quorum, "
				  "drained, stopping, starting, error." },
	[F_RS_STATE] = { "dsrkit_lvs_real_server_state", "gauge",
			 "The real server's state, one-hot: up, drain (weight 0), down, maint." },
	[F_RS_WEIGHT_CONF] = { "dsrkit_lvs_real_server_weight_configured", "gauge", "The weight in director.ini." },
	[F_RS_WEIGHT] = { "dsrkit_lvs_real_server_weight", "gauge",
			  "The weight in IPVS now (absent: not in the kernel's table)." },
	[F_RS_DRAINED] = { "dsrkit_lvs_real_server_admin_drained", "gauge", "1 when drained by directorctl drain." },
	[F_CHECK_RESULTS] = { "dsrkit_lvs_check_results_total", "counter", "Health check attempts, by result." },
	[F_CHECK_DURATION] = { "dsrkit_lvs_check_duration_seconds", "histogram",
			       "How long health check attempts took (agent queries included)." },
	[F_AGENT_REPLIES] = { "dsrkit_lvs_agent_replies_total", "counter",
			      "Replies of the real server's rs-agent, by answer (none: unreachable or not understood)." },
	[F_CONNS] = { "dsrkit_ipvs_connections_total", "counter", "Connections IPVS scheduled to the real server." },
	[F_PACKETS] = { "dsrkit_ipvs_packets_total", "counter",
			"Packets through IPVS for the real server, by direction (out is 0 with direct routing)." },
	[F_BYTES] = { "dsrkit_ipvs_bytes_total", "counter",
		      "Bytes through IPVS for the real server, by direction (out is 0 with direct routing)." },
	[F_ACTIVE] = { "dsrkit_ipvs_active_connections", "gauge", "The real server's active connections in IPVS." },
	[F_INACTIVE] = { "dsrkit_ipvs_inactive_connections", "gauge",
			 "The real server's inactive connections in IPVS." },
};

static const enum lvs_rs_verdict verdicts[] = { LVS_RS_UP, LVS_RS_DRAIN, LVS_RS_DOWN, LVS_RS_MAINT };

/* Labels of one real server. */
#define RS_LABELS(vs, rs) "virtual_server", (vs), "real_server", (rs)

static void rs_health(struct strbuf *fam, const char *vs, const char *rs, const struct probe *pr,
		      const struct lvs_health *h)
{
	const char *check = lve_check_name(lve_probe_type(pr));

	prom_u64(&fam[F_CHECK_RESULTS], families[F_CHECK_RESULTS].name, h->passes, RS_LABELS(vs, rs), "check", check,
		 "result", "pass", NULL);
	prom_u64(&fam[F_CHECK_RESULTS], families[F_CHECK_RESULTS].name, h->fails, RS_LABELS(vs, rs), "check", check,
		 "result", "fail", NULL);
	prom_hist(&fam[F_CHECK_DURATION], families[F_CHECK_DURATION].name, &pr->latency, RS_LABELS(vs, rs), "check",
		  check, NULL);
}

static void rs_agent(struct strbuf *fam, const char *vs, const char *rs, const struct probe *pr)
{
	for (int a = 0; a <= AGENT_ANSWER_COUNT; a++)
		prom_u64(&fam[F_AGENT_REPLIES], families[F_AGENT_REPLIES].name, pr->answers[a], RS_LABELS(vs, rs),
			 "answer", a == AGENT_ANSWER_COUNT ? "none" : agent_answer_name((enum agent_answer)a), NULL);
}

static void rs_kernel(struct strbuf *fam, const char *vs, const char *rs, const struct ipvs_dest_counters *c)
{
	prom_u64(&fam[F_CONNS], families[F_CONNS].name, c->stats.conns, RS_LABELS(vs, rs), NULL);
	prom_u64(&fam[F_PACKETS], families[F_PACKETS].name, c->stats.inpkts, RS_LABELS(vs, rs), "direction", "in", NULL);
	prom_u64(&fam[F_PACKETS], families[F_PACKETS].name, c->stats.outpkts, RS_LABELS(vs, rs), "direction", "out",
		 NULL);
	prom_u64(&fam[F_BYTES], families[F_BYTES].name, c->stats.inbytes, RS_LABELS(vs, rs), "direction", "in", NULL);
	prom_u64(&fam[F_BYTES], families[F_BYTES].name, c->stats.outbytes, RS_LABELS(vs, rs), "direction", "out",
		 NULL);
	prom_u64(&fam[F_ACTIVE], families[F_ACTIVE].name, c->active_conns, RS_LABELS(vs, rs), NULL);
	prom_u64(&fam[F_INACTIVE], families[F_INACTIVE].name, c->inact_conns, RS_LABELS(vs, rs), NULL);
}

static void rs_metrics(struct strbuf *fam, const struct vs_rt *v, size_t i, const struct kview *k)
{
	const struct lvs_rs_state *st = &v->rs[i];
	const struct rs_rt *rr = &v->rt[i];
	const struct ipvs_dest_counters *c;
	const struct ipvs_dest *d = lve_kernel_dest(v, i, k, &c);
	const char *vs = v->conf->name, *why;
	char rs[NAME_MAX_LEN];
	int weight;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &weight, &why);

	lve_rs_name(v, i, rs, sizeof(rs));
	for (size_t s = 0; s < ARRAY_SIZE(verdicts); s++)
		prom_u64(&fam[F_RS_STATE], families[F_RS_STATE].name, vd == verdicts[s], RS_LABELS(vs, rs), "state",
			 lve_verdict_name(verdicts[s]), NULL);
	prom_u64(&fam[F_RS_WEIGHT_CONF], families[F_RS_WEIGHT_CONF].name, st->conf->weight, RS_LABELS(vs, rs), NULL);
	if (d)
		prom_int(&fam[F_RS_WEIGHT], families[F_RS_WEIGHT].name, d->weight, RS_LABELS(vs, rs), NULL);
	prom_u64(&fam[F_RS_DRAINED], families[F_RS_DRAINED].name, st->admin == LVS_ADMIN_DRAINED, RS_LABELS(vs, rs),
		 NULL);
	if (rr->check)
		rs_health(fam, vs, rs, rr->check, &st->check);
	if (rr->agent) {
		rs_health(fam, vs, rs, rr->agent, &st->agent_health);
		rs_agent(fam, vs, rs, rr->agent);
	}
	if (c)
		rs_kernel(fam, vs, rs, c);
}

static void vs_metrics(struct strbuf *fam, const struct lvs_engine *e, const struct vs_rt *v, struct kview *k)
{
	lve_kview_read(e, v, k);
	prom_u64(&fam[F_VS_QUORUM], families[F_VS_QUORUM].name, v->has_quorum, "virtual_server", v->conf->name, NULL);
	prom_u64(&fam[F_VS_IN_KERNEL], families[F_VS_IN_KERNEL].name, v->present, "virtual_server", v->conf->name,
		 NULL);
	if (v->conf->announce) {
		prom_u64(&fam[F_VS_ANNOUNCED], families[F_VS_ANNOUNCED].name, v->ann_state == LVS_ANN_ANNOUNCED,
			 "virtual_server", v->conf->name, NULL);
		for (int s = 0; s < LVS_ANN_N; s++)
			prom_u64(&fam[F_VS_ANNOUNCE_STATE], families[F_VS_ANNOUNCE_STATE].name, (int)v->ann_state == s,
				 "virtual_server", v->conf->name, "state", lvs_announce_metric_state(s), NULL);
	}
	for (size_t i = 0; i < v->nrs; i++)
		rs_metrics(fam, v, i, k);
}

/* The sync daemon, when configured: the state wanted (one-hot), which
 * run, and whether they agree. */
static void sync_metrics(const struct lvs_engine *e, struct strbuf *out)
{
	static const char *const states[] = { "master", "backup" };
	struct sync_view sv;

	lve_sync_view(e, &sv);
	if (!sv.configured)
		return;
	prom_family(out, "dsrkit_ipvs_sync_daemon_wanted", "gauge",
		    "The sync daemon's state that the VRRP state asks for, one-hot (both with ipvs_sync_mode = both).");
	for (size_t s = 0; s < ARRAY_SIZE(states); s++)
		prom_u64(out, "dsrkit_ipvs_sync_daemon_wanted",
			 sv.both || (sv.want.state == IPVS_DAEMON_MASTER) == (s == 0), "state", states[s], NULL);
	if (sv.read_ok) {
		prom_family(out, "dsrkit_ipvs_sync_daemon_running", "gauge",
			    "1 when the kernel runs the sync daemon in this state.");
		for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
			bool running = false;

			for (size_t r = 0; r < sv.running.n; r++)
				running |= (sv.running.items[r].state == IPVS_DAEMON_MASTER) == (s == 0);
			prom_u64(out, "dsrkit_ipvs_sync_daemon_running", running, "state", states[s], NULL);
		}
	}
	prom_family(out, "dsrkit_ipvs_sync_daemon_in_step", "gauge", "1 when what runs is what is wanted.");
	prom_u64(out, "dsrkit_ipvs_sync_daemon_in_step", sv.in_step, NULL);
}

void lvs_engine_metrics(struct lvs_engine *e, struct strbuf *out)
{
	struct strbuf fam[F_COUNT];
	struct kview k = { 0 };

	prom_family(out, "dsrkit_ipvs_up", "gauge", "1 when the kernel's IPVS answers the LVS engine.");
	prom_u64(out, "dsrkit_ipvs_up", e->ipvs != NULL, NULL);
	prom_family(out, "dsrkit_director_drained", "gauge",
		    "1 while the director is drained by directorctl drain-director (nothing announced).");
	prom_u64(out, "dsrkit_director_drained", lvs_engine_director_drained(e), NULL);
	sync_metrics(e, out);
	for (size_t f = 0; f < F_COUNT; f++)
		sb_init(&fam[f]);
	for (size_t i = 0; i < e->nvs; i++)
		vs_metrics(fam, e, e->vs[i], &k);
	for (size_t f = 0; f < F_COUNT; f++) {
		prom_family(out, families[f].name, families[f].type, families[f].help);
		sb_appendn(out, fam[f].buf ? fam[f].buf : "", fam[f].len);
		if (fam[f].failed)
			out->failed = true;
		sb_free(&fam[f]);
	}
	free(k.dests);
}
