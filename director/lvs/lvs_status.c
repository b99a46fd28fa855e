/* The LVS engine's status, as text and as JSON: every virtual server with
 * its real servers, what their checks say, what the kernel holds, the
 * sync daemon and the timeouts. */
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "lvs_engine_int.h"
#include "vrrp.h"

/* ---- status ---- */

static int kview_push(const struct ipvs_dest *d, const struct ipvs_dest_counters *c, void *arg)
{
	struct kview *k = arg;

	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct kdest *p = realloc(k->dests, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->dests = p;
		k->cap = cap;
	}
	k->dests[k->n++] = (struct kdest){ *d, *c };
	return 0;
}

static int kdest_cmp(const void *a, const void *b)
{
	return lvs_dest_cmp(&((const struct kdest *)a)->d, &((const struct kdest *)b)->d);
}

void lve_kview_read(const struct lvs_engine *e, const struct vs_rt *v, struct kview *k)
{
	int ret;

	k->n = 0;
	k->ok = false;
	if (!e->ipvs || e->nvs > STATUS_DUMP_MAX || !v->present)
		return;
	if ((ret = e->k->dests(e->ipvs, &v->have.svc, kview_push, k)) < 0) {
		log_debug("ipvs: %s: reading the counters: %s", v->conf->name, ipvs_strerror(ret));
		return;
	}
	if (k->n > 1)
		qsort(k->dests, k->n, sizeof(*k->dests), kdest_cmp);
	k->ok = true;
}

/* The kernel's entry for real server i: from the status-time read when
 * there is one (with its counters in *c), else from what we believe (*c
 * NULL). */
const struct ipvs_dest *lve_kernel_dest(const struct vs_rt *v, size_t i, const struct kview *k,
				       const struct ipvs_dest_counters **c)
{
	struct kdest key;
	const struct kdest *found;

	*c = NULL;
	real_server_dest(v->conf, v->rs[i].conf, 0, &key.d);
	if (!k->ok)
		return v->present ? lve_find_dest(&v->have, &key.d) : NULL;
	if (!(found = bsearch(&key, k->dests, k->n, sizeof(*k->dests), kdest_cmp)))
		return NULL;
	*c = &found->c;
	return &found->d;
}

static void ipvs_word(const struct lvs_engine *e, const struct vs_rt *v, char *buf, size_t size)
{
	if (!e->ipvs)
		snprintf(buf, size, "unavailable: %s", ipvs_strerror(e->ipvs_err));
	else if (v && v->err)
		snprintf(buf, size, "error: %s", ipvs_strerror(v->err));
	else
		snprintf(buf, size, "ok");
}

static void health_json(struct json *j, const char *key, const struct probe *pr, const struct lvs_health *h)
{
	json_object_begin(j, key);
	json_string(j, "type", lve_check_name(lve_probe_type(pr)));
	json_string(j, "target", pr->hp ? hc_probe_target(pr->hp) : NULL);
	json_bool(j, "up", h->rf.up);
	json_bool(j, "known", h->rf.known);
	json_uint(j, "passes", h->passes);
	json_uint(j, "fails", h->fails);
	json_string(j, "reason", h->rf.known ? lvs_health_reason(h) : pr->err ? strerror(-pr->err) : NULL);
	if (h->last_ms)
		json_uint(j, "last_ms_ago", now_ms() - (uint64_t)h->last_ms);
	else
		json_null(j, "last_ms_ago");
	json_object_end(j);
}

static void agent_json(struct json *j, const struct lvs_rs_state *st)
{
	char line[AGENT_LINE_MAX + 2];
	int n;

	json_object_begin(j, "agent");
	if (st->have_agent && st->agent && (n = agent_reply_format(st->agent, line, sizeof(line))) > 0) {
		line[n - 1] = '\0';	/* its newline */
		json_string(j, "reply", line);
	} else {
		json_null(j, "reply");
	}
	json_bool(j, "reachable", st->agent_health.rf.known && st->agent_health.rf.up);
	json_object_end(j);
}

static void rs_json(struct json *j, const struct vs_rt *v, size_t i, const struct kview *k)
{
	const struct lvs_rs_state *st = &v->rs[i];
	const struct rs_rt *rr = &v->rt[i];
	const struct ipvs_dest_counters *c;
	const struct ipvs_dest *d = lve_kernel_dest(v, i, k, &c);
	char name[NAME_MAX_LEN], why[LVS_REASON_MAX + 16];
	const char *w;
	int weight;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &weight, &w);

	snprintf(why, sizeof(why), "%s%s", lve_why_prefix(st, w), w);
	json_object_begin(j, NULL);
	json_string(j, "server", lve_rs_name(v, i, name, sizeof(name)));
	json_uint(j, "weight_configured", st->conf->weight);
	json_int(j, "weight", d ? d->weight : -1);
	json_string(j, "state", lve_verdict_name(vd));
	json_string(j, "why", why);
	if (rr->check)
		health_json(j, "check", rr->check, &st->check);
	else if (rr->agent && v->conf->check == LVS_CHECK_AGENT)
		health_json(j, "check", rr->agent, &st->agent_health);
	else
		json_null(j, "check");
	if (rr->agent)
		agent_json(j, st);
	else
		json_null(j, "agent");
	json_string(j, "admin", st->admin == LVS_ADMIN_DRAINED ? "drained" : "enabled");
	if (c) {
		json_uint(j, "active_conns", c->active_conns);
		json_uint(j, "inactive_conns", c->inact_conns);
	} else {
		json_null(j, "active_conns");
		json_null(j, "inactive_conns");
	}
	json_object_end(j);
}

static void vs_json(struct json *j, const struct lvs_engine *e, const struct vs_rt *v, struct kview *k)
{
	const struct inst_state *is = v->conf->vrrp ? lve_vrrp_of(e, v->conf->vrrp) : NULL;
	char buf[160];

	lve_kview_read(e, v, k);
	json_object_begin(j, NULL);
	json_string(j, "name", v->conf->name);
	json_string(j, "service", ipvs_service_name(&v->key, buf, sizeof(buf)));
	json_string(j, "scheduler", v->conf->scheduler);
	if (v->conf->vrrp) {
		json_object_begin(j, "vrrp");
		json_string(j, "instance", v->conf->vrrp);
		json_string(j, "state", is ? vrrp_state_name(is->state) : NULL);
		json_object_end(j);
	} else {
		json_null(j, "vrrp");
	}
	json_bool(j, "quorum", v->has_quorum);
	json_bool(j, "sorry_active", !v->has_quorum && v->conf->sorry_server.addr.family);
	ipvs_word(e, v, buf, sizeof(buf));
	json_string(j, "ipvs", buf);
	json_bool(j, "in_kernel", v->present);
	json_bool(j, "announce", v->conf->announce);
	if (v->conf->announce) {
		json_bool(j, "announced", v->ann_state == LVS_ANN_ANNOUNCED);
		if (v->ann_state == LVS_ANN_ANNOUNCED)
			json_null(j, "announce_reason");
		else
			json_string(j, "announce_reason", lve_announce_reason(v, buf, sizeof(buf)));
	}
	json_array_begin(j, "real_servers");
	for (size_t i = 0; i < v->nrs; i++)
		rs_json(j, v, i, k);
	json_array_end(j);
	json_object_end(j);
}

static void daemon_json(struct json *j, const struct ipvs_daemon *d)
{
	char g[INET6_ADDRSTRLEN];

	json_object_begin(j, NULL);
	json_string(j, "state", d->state == IPVS_DAEMON_MASTER ? "master" : "backup");
	json_string(j, "interface", d->ifname);
	json_uint(j, "sync_id", d->sync_id);
	json_string(j, "group", d->group.family ? ipaddr_ntop(&d->group, g, sizeof(g)) : "224.0.0.81");
	json_uint(j, "port", d->port ? d->port : IPVS_SYNC_PORT_DEFAULT);
	json_uint(j, "ttl", d->ttl ? d->ttl : 1);
	if (d->maxlen)
		json_uint(j, "maxlen", d->maxlen);
	else
		json_null(j, "maxlen");
	json_object_end(j);
}

/* ipvs_sync_mode = both: a master and a backup run, each as configured. */
static bool sync_both_in_step(const struct lvs_config *lvs, const struct daemon_list *running)
{
	struct ipvs_daemon want;
	unsigned found = 0;

	for (size_t i = 0; i < running->n; i++) {
		lvs_sync_daemon_conf(lvs, running->items[i].state, &want);
		if (ipvs_daemon_same(&want, &running->items[i]))
			found |= running->items[i].state;
	}
	return found == (IPVS_DAEMON_MASTER | IPVS_DAEMON_BACKUP);
}

void lve_sync_view(const struct lvs_engine *e, struct sync_view *sv)
{
	const struct lvs_config *lvs = &e->cfg->lvs;
	struct lvs_sync_plan plan;

	memset(sv, 0, sizeof(*sv));
	sv->configured = lvs->sync.interface != NULL;
	if (!sv->configured)
		return;
	sv->is = lvs->sync.follow ? lve_vrrp_of(e, lvs->sync.follow) : NULL;
	sv->has_want = lvs_sync_daemon_conf(lvs, lvs_sync_wanted_state(sv->is != NULL,
					    sv->is ? sv->is->state : VRRP_STATE_INIT), &sv->want);
	sv->read_ok = e->ipvs && e->k->daemons(e->ipvs, lve_daemon_push, &sv->running) == 0;
	sv->both = lvs->sync.mode == LVS_SYNC_BOTH;
	if (sv->both) {
		sv->in_step = sv->read_ok && sync_both_in_step(lvs, &sv->running);
		return;
	}
	lvs_sync_plan(&sv->want, sv->running.items, sv->running.n, &plan);
	sv->in_step = sv->read_ok && !plan.stop && !plan.start;
}

static void sync_status_json(const struct lvs_engine *e, struct json *j)
{
	struct sync_view sv;

	lve_sync_view(e, &sv);
	if (!sv.configured) {
		json_null(j, "sync_daemon");
		return;
	}
	json_object_begin(j, "sync_daemon");
	json_string(j, "follow", e->cfg->lvs.sync.follow);
	json_string(j, "vrrp_state", sv.is ? vrrp_state_name(sv.is->state) : NULL);
	json_string(j, "wanted", sv.both ? "both" : sv.want.state == IPVS_DAEMON_MASTER ? "master" : "backup");
	if (sv.read_ok) {
		json_array_begin(j, "running");
		for (size_t i = 0; i < sv.running.n; i++)
			daemon_json(j, &sv.running.items[i]);
		json_array_end(j);
	} else {
		json_null(j, "running");
	}
	json_bool(j, "in_step", sv.in_step);
	json_string(j, "error", e->sync.err ? ipvs_daemon_strerror(e->sync.err) : NULL);
	json_object_end(j);
}

static void sync_status_text(const struct lvs_engine *e, struct strbuf *out)
{
	struct sync_view sv;
	char text[160];

	lve_sync_view(e, &sv);
	if (!sv.configured)
		return;
	if (sv.both)
		sb_printf(out, "sync daemon: wanted master and backup (ipvs_sync_mode = both)");
	else
		sb_printf(out, "sync daemon: wanted %s (%s %s)", ipvs_daemon_text(&sv.want, text, sizeof(text)),
			  e->cfg->lvs.sync.follow, sv.is ? vrrp_state_name(sv.is->state) : "state not known yet");
	if (e->sync.err)
		sb_printf(out, "; error %s: %s", e->sync.err_what, ipvs_daemon_strerror(e->sync.err));
	sb_append(out, "\n");
	if (!sv.read_ok)
		sb_append(out, "  running: unknown (IPVS not readable)\n");
	else if (!sv.running.n)
		sb_append(out, "  running: none\n");
	for (size_t i = 0; sv.read_ok && i < sv.running.n; i++)
		sb_printf(out, "  running: %s\n", ipvs_daemon_text(&sv.running.items[i], text, sizeof(text)));
}

static void timeouts_status(const struct lvs_engine *e, struct json *j, struct strbuf *out)
{
	struct ipvs_timeouts t;

	if (!e->ipvs || e->k->timeouts_get(e->ipvs, &t) < 0) {
		if (j)
			json_null(j, "timeouts");
		return;
	}
	if (j) {
		json_object_begin(j, "timeouts");
		json_uint(j, "tcp", t.tcp);
		json_uint(j, "tcp_fin", t.tcp_fin);
		json_uint(j, "udp", t.udp);
		json_object_end(j);
	} else {
		sb_printf(out, "timeouts: tcp %u s, tcp_fin %u s, udp %u s\n", t.tcp, t.tcp_fin, t.udp);
	}
}

void lvs_engine_status_json(struct lvs_engine *e, struct json *j)
{
	struct kview k = { 0 };
	char buf[160];

	ipvs_word(e, NULL, buf, sizeof(buf));
	json_string(j, "ipvs", buf);
	json_bool(j, "connection_counts", e->ipvs && e->nvs <= STATUS_DUMP_MAX);
	json_bool(j, "drained", lvs_engine_director_drained(e));
	sync_status_json(e, j);
	timeouts_status(e, j, NULL);
	lve_sysctls_status(e, j, NULL);
	json_array_begin(j, "virtual_servers");
	for (size_t i = 0; i < e->nvs; i++)
		vs_json(j, e, e->vs[i], &k);
	json_array_end(j);
	free(k.dests);
}

static void rs_text(struct strbuf *out, const struct vs_rt *v, size_t i, const struct kview *k)
{
	const struct lvs_rs_state *st = &v->rs[i];
	const struct rs_rt *rr = &v->rt[i];
	const struct ipvs_dest_counters *c;
	const struct ipvs_dest *d = lve_kernel_dest(v, i, k, &c);
	const struct probe *pr = rr->check ? rr->check : rr->agent;	/* NULL: none */
	const struct lvs_health *h = pr == rr->check ? &st->check : &st->agent_health;
	char name[NAME_MAX_LEN], kw[16], conns[32] = "-";
	const char *why;
	int w;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &w, &why);

	if (c)
		snprintf(conns, sizeof(conns), "%u/%u", c->active_conns, c->inact_conns);
	snprintf(kw, sizeof(kw), "%d/%u", d ? d->weight : -1, st->conf->weight);
	sb_printf(out, "  %-24s %-5s %-9s %-11s %s%s%s", lve_rs_name(v, i, name, sizeof(name)), lve_verdict_name(vd), kw,
		  conns, lve_why_prefix(st, why), why, st->admin == LVS_ADMIN_DRAINED ? " [drained]" : "");
	if (pr)
		sb_printf(out, "\n  %-24s %s: %llu passes, %llu fails", "", pr->hp ? hc_probe_target(pr->hp) :
			  lve_check_name(lve_probe_type(pr)), (unsigned long long)h->passes, (unsigned long long)h->fails);
	if (rr->agent && pr != rr->agent)
		sb_printf(out, "; agent %s", st->have_agent ? lvs_health_reason(&st->agent_health) :
			  st->agent_health.rf.known ? "unreachable" : "not heard yet");
	sb_append(out, "\n");
}

void lvs_engine_status_text(struct lvs_engine *e, struct strbuf *out)
{
	struct kview k = { 0 };
	char buf[160], svc[96];

	ipvs_word(e, NULL, buf, sizeof(buf));
	sb_printf(out, "ipvs: %s\n", buf);
	sb_printf(out, "director drained: %s\n", lvs_engine_director_drained(e) ? "yes (directorctl drain-director)" : "no");
	sync_status_text(e, out);
	timeouts_status(e, NULL, out);
	lve_sysctls_status(e, NULL, out);
	for (size_t i = 0; i < e->nvs; i++) {
		const struct vs_rt *v = e->vs[i];
		const struct inst_state *is = v->conf->vrrp ? lve_vrrp_of(e, v->conf->vrrp) : NULL;

		lve_kview_read(e, v, &k);
		ipvs_word(e, v, buf, sizeof(buf));
		sb_printf(out, "virtual_server %s: %s %s", v->conf->name, ipvs_service_name(&v->key, svc, sizeof(svc)),
			  v->conf->scheduler);
		if (v->conf->vrrp)
			sb_printf(out, ", vrrp %s %s", v->conf->vrrp, is ? vrrp_state_name(is->state) : "unknown");
		sb_printf(out, ", quorum %s%s, ipvs %s\n", v->has_quorum ? "yes" : "no",
			  !v->has_quorum && v->conf->sorry_server.addr.family ? " (sorry server in use)" : "", buf);
		if (v->conf->announce && v->ann_state == LVS_ANN_ANNOUNCED)
			sb_printf(out, "  announced: yes\n");
		else if (v->conf->announce)
			sb_printf(out, "  announced: no (%s)\n", lve_announce_reason(v, buf, sizeof(buf)));
		sb_printf(out, "  %-24s %-5s %-9s %-11s %s\n", "server", "state", "weight", "conns", "why");
		for (size_t r = 0; r < v->nrs; r++)
			rs_text(out, v, r, &k);
	}
	free(k.dests);
}

/* ---- what `directorctl doctor` probes (proto.h, DIR_STATUS_DOCTOR) ---- */

static const char *fwd_word(uint32_t fwd)
{
	switch (fwd & IP_VS_CONN_F_FWD_MASK) {
	case IP_VS_CONN_F_MASQ: return "nat";
	case IP_VS_CONN_F_TUNNEL: return "tun";
	default: return "dr";
	}
}

static const char *proto_word(int protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : protocol == IPPROTO_SCTP ? "sctp" : "tcp";
}

static void doctor_vrrp(const struct lvs_engine *e, struct strbuf *out)
{
	char a[INET6_ADDRSTRLEN];

	for (const struct vrrp_conf *in = e->cfg->instances; in; in = in->next) {
		const struct inst_state *is = lve_vrrp_of(e, in->name);

		sb_printf(out, "vrrp %s %s %u %s", in->name, in->interface, in->vrid,
			  is ? vrrp_state_name(is->state) : "-");
		for (size_t i = 0; i < in->vips.n; i++)
			sb_printf(out, " %s", ipaddr_ntop(&in->vips.items[i].addr, a, sizeof(a)));
		sb_append(out, "\n");
	}
}

static void doctor_vs(const struct virtual_server_conf *vs, struct strbuf *out)
{
	bool agent = vs->check == LVS_CHECK_AGENT || vs->check_agent;
	char a[INET6_ADDRSTRLEN];

	sb_printf(out, "vs %s %s %s %u\n", vs->name, proto_word(vs->protocol),
		  vs->fwmark ? "-" : ipaddr_ntop(&vs->address.addr, a, sizeof(a)), vs->fwmark ? 0 : vs->address.port);
	for (size_t i = 0; i < vs->real_servers.n; i++) {
		const struct real_server_conf *rs = &vs->real_servers.items[i];
		struct ipvs_dest d;

		real_server_dest(vs, rs, 0, &d);
		sb_printf(out, "rs %s %u %s %u\n", ipaddr_ntop(&rs->addr, a, sizeof(a)), d.port, fwd_word(d.fwd),
			  agent ? lve_probe_port(vs, rs, true) : 0);
	}
}

void lvs_engine_doctor_targets(const struct lvs_engine *e, struct strbuf *out)
{
	const char *w = e->cfg->warnings;

	doctor_vrrp(e, out);
	for (size_t i = 0; i < e->nvs; i++)
		doctor_vs(e->vs[i]->conf, out);
	while (w && *w) {
		size_t n = strcspn(w, "\n");

		if (n)
			sb_printf(out, "trap %.*s\n", (int)n, w);
		w += n + (w[n] == '\n');
	}
}
