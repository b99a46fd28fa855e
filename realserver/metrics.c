/* rs-agent's metrics in Prometheus' text format (rs-agent(8), METRICS):
 * rendered at each scrape from what the daemon holds, plus one verify
 * pass over the kernel (as `rs-agent status` does) for the DR state
 * items. Pure apart from that pass, which goes through the kernel seam,
 * so tests/unit/test_rs_metrics.c checks the exact lines. */
#include <stdio.h>
#include <string.h>

#include "httpserv.h"
#include "rs-agent.h"

/* The DR items as verify finds them, one family each. */
struct dr_facts {
	struct strbuf vips, value, ok;
	const char *interface;
};

static void fact_seen(const struct dr_fact *f, void *arg)
{
	struct dr_facts *df = arg;

	if (f->kind == DR_ITEM_VIP) {
		prom_u64(&df->vips, "dsrkit_rs_vip_present", (uint64_t)f->value, "vip", f->subject, "interface",
			 df->interface, NULL);
		return;
	}
	prom_int(&df->value, "dsrkit_rs_arp_sysctl", f->value, "interface", f->subject, "sysctl", f->sysctl, NULL);
	prom_u64(&df->ok, "dsrkit_rs_arp_sysctl_as_wanted", f->ok, "interface", f->subject, "sysctl", f->sysctl, NULL);
}

static void render_dr(const struct rs_metrics_input *in, struct strbuf *out)
{
	struct dr_facts df = { .interface = in->cfg->interface };
	struct dr_report rep;

	sb_init(&df.vips);
	sb_init(&df.value);
	sb_init(&df.ok);
	dr_report_init(&rep);
	rep.on_fact = fact_seen;
	rep.fact_arg = &df;
	dr_verify(in->cfg, in->kernel, &rep);
	prom_family(out, "dsrkit_rs_dr_ok", "gauge", "1 when the DR state is right (no critical finding), else 0.");
	prom_u64(out, "dsrkit_rs_dr_ok", rep.worst < DR_CRITICAL, NULL);
	prom_family(out, "dsrkit_rs_vip_present", "gauge", "1 when the VIP is on its interface, else 0.");
	sb_appendn(out, df.vips.buf ? df.vips.buf : "", df.vips.len);
	prom_family(out, "dsrkit_rs_arp_sysctl", "gauge",
		    "An ARP sysctl of conf/all, conf/default or a device (devices: the effective value).");
	sb_appendn(out, df.value.buf ? df.value.buf : "", df.value.len);
	prom_family(out, "dsrkit_rs_arp_sysctl_as_wanted", "gauge", "1 when the ARP sysctl has the configured value.");
	sb_appendn(out, df.ok.buf ? df.ok.buf : "", df.ok.len);
	if (df.vips.failed || df.value.failed || df.ok.failed)
		out->failed = true;
	sb_free(&df.vips);
	sb_free(&df.value);
	sb_free(&df.ok);
	dr_report_free(&rep);
}

static void render_checks(const struct rs_metrics_input *in, struct strbuf *out)
{
	size_t n = in->health ? health_count(in->health) : 0;

	prom_family(out, "dsrkit_rs_check_up", "gauge", "1 when the local check is up, 0 when down or not known yet.");
	for (size_t i = 0; i < n; i++) {
		const struct check_status *st = health_get(in->health, i);

		prom_u64(out, "dsrkit_rs_check_up", st->rf.known && st->rf.up, "check", st->conf->name, NULL);
	}
	prom_family(out, "dsrkit_rs_check_results_total", "counter", "Attempts of the local check, by result.");
	for (size_t i = 0; i < n; i++) {
		const struct check_status *st = health_get(in->health, i);

		prom_u64(out, "dsrkit_rs_check_results_total", st->passes, "check", st->conf->name, "result", "pass",
			 NULL);
		prom_u64(out, "dsrkit_rs_check_results_total", st->failures, "check", st->conf->name, "result", "fail",
			 NULL);
	}
	prom_family(out, "dsrkit_rs_check_duration_seconds", "histogram", "How long the local check's attempts took.");
	for (size_t i = 0; i < n; i++) {
		const struct check_status *st = health_get(in->health, i);

		prom_hist(out, "dsrkit_rs_check_duration_seconds", &st->latency, "check", st->conf->name, NULL);
	}
}

static void render_agent(const struct rs_metrics_input *in, struct strbuf *out)
{
	const struct agent_counters *c = in->agent;

	prom_family(out, "dsrkit_rs_admin_state", "gauge", "The operator's admin state (ready, drain, maint), one-hot.");
	for (int a = ADMIN_READY; a <= ADMIN_MAINT; a++)
		prom_u64(out, "dsrkit_rs_admin_state", in->admin == (enum admin_state)a, "state",
			 admin_state_name((enum admin_state)a), NULL);
	prom_family(out, "dsrkit_rs_agent_answer", "gauge", "What the agent answers now, one-hot by answer.");
	for (int a = 0; a < AGENT_ANSWER_COUNT; a++)
		prom_u64(out, "dsrkit_rs_agent_answer", agent_reply_answer(in->reply) == (enum agent_answer)a, "answer",
			 agent_answer_name((enum agent_answer)a), NULL);
	if (!c)
		return;		/* the agent port is off */
	prom_family(out, "dsrkit_rs_agent_replies_total", "counter", "Replies sent on the agent port, by answer.");
	for (int a = 0; a < AGENT_ANSWER_COUNT; a++)
		prom_u64(out, "dsrkit_rs_agent_replies_total", c->answers[a], "answer",
			 agent_answer_name((enum agent_answer)a), NULL);
	prom_family(out, "dsrkit_rs_agent_refused_connections_total", "counter",
		    "Connections to the agent port closed unanswered, by reason.");
	prom_u64(out, "dsrkit_rs_agent_refused_connections_total", c->rejected_addr, "reason", "not_allowed", NULL);
	prom_u64(out, "dsrkit_rs_agent_refused_connections_total", c->rejected_busy, "reason", "busy", NULL);
	prom_family(out, "dsrkit_rs_agent_errors_total", "counter", "Agent port connections that failed (send, memory).");
	prom_u64(out, "dsrkit_rs_agent_errors_total", c->errors, NULL);
}

static void render_daemon(const struct rs_metrics_input *in, struct strbuf *out)
{
	const struct httpsrv_counters *h = in->http;

	prom_family(out, "dsrkit_rs_repairs_total", "counter", "Changes made to put the DR state right, by kind.");
	prom_u64(out, "dsrkit_rs_repairs_total", in->repairs_vip, "kind", "vip", NULL);
	prom_u64(out, "dsrkit_rs_repairs_total", in->repairs_sysctl, "kind", "sysctl", NULL);
	prom_family(out, "dsrkit_rs_repair_errors_total", "counter", "Kernel operations of repairs that failed.");
	prom_u64(out, "dsrkit_rs_repair_errors_total", in->repair_errors, NULL);
	if (in->weight_pct >= 0) {
		prom_family(out, "dsrkit_rs_load_weight_percent", "gauge",
			    "The weight from load reported (agent.weight_from).");
		prom_int(out, "dsrkit_rs_load_weight_percent", in->weight_pct, NULL);
	}
	prom_family(out, "dsrkit_rs_reloads_total", "counter", "Reloads of the configuration, by result.");
	prom_u64(out, "dsrkit_rs_reloads_total", in->reloads, "result", "success", NULL);
	prom_u64(out, "dsrkit_rs_reloads_total", in->reload_failures, "result", "failure", NULL);
	prom_family(out, "dsrkit_rs_start_time_seconds", "gauge", "When rs-agent started, seconds since the epoch.");
	prom_int(out, "dsrkit_rs_start_time_seconds", in->started, NULL);
	if (!h)
		return;
	prom_family(out, "dsrkit_rs_metrics_refused_connections_total", "counter",
		    "Connections to metrics_listen closed unanswered, by reason.");
	prom_u64(out, "dsrkit_rs_metrics_refused_connections_total", h->refused_addr, "reason", "not_allowed", NULL);
	prom_u64(out, "dsrkit_rs_metrics_refused_connections_total", h->refused_busy, "reason", "busy", NULL);
}

void rs_metrics_render(const struct rs_metrics_input *in, struct strbuf *out)
{
	render_dr(in, out);
	render_checks(in, out);
	render_agent(in, out);
	render_daemon(in, out);
}
