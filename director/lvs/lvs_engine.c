/* The LVS engine: health probes of every real server, the policy that
 * turns their results into weights, and the reconciler that keeps the
 * kernel's IPVS table equal to what the policy wants.
 *
 * The kernel is not asked what it holds on every change: the engine keeps
 * `have`, its belief of what the kernel holds of each service, read from
 * the kernel at start (adopting what a previous run left, so a restart
 * moves no connection) and at each periodic reconcile, and updated from
 * the results of its own requests. A change of one server is then one
 * netlink request; a burst of results is one batch (a zero-delay timer
 * coalesces them). A request that fails makes the engine re-read that
 * service from the kernel and try again later. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "lvs_engine_int.h"
#include "vrrp.h"

/* ---- names ---- */

const char *lve_verdict_name(enum lvs_rs_verdict v)
{
	switch (v) {
	case LVS_RS_UP: return "up";
	case LVS_RS_DRAIN: return "drain";
	case LVS_RS_DOWN: return "down";
	case LVS_RS_MAINT: return "maint";
	}
	return "?";
}

const char *lve_check_name(int type)
{
	switch (type) {
	case LVS_CHECK_TCP: return "tcp";
	case LVS_CHECK_HTTP: return "http";
	case LVS_CHECK_HTTPS: return "https";
	case LVS_CHECK_SCRIPT: return "script";
	case LVS_CHECK_AGENT: return "agent";
	default: return "none";
	}
}

/* The policy's why points at a health reason when a check decided:
 * say which one. */
const char *lve_why_prefix(const struct lvs_rs_state *st, const char *why)
{
	if (why == st->check.reason)
		return "check: ";
	if (why == st->agent_health.reason)
		return "agent: ";
	return "";
}

static const char *weight_text(int w, char *buf, size_t size)
{
	if (w < 0)
		return "removed";
	snprintf(buf, size, "%d", w);
	return buf;
}

const char *lve_rs_name(const struct vs_rt *v, size_t i, char *buf, size_t size)
{
	return real_server_name(v->rs[i].conf, buf, size);
}

/* ---- lookups ---- */

int lve_key_cmp(const void *a, const void *b)
{
	const struct vs_rt *x = *(const struct vs_rt *const *)a, *y = *(const struct vs_rt *const *)b;

	return lvs_service_cmp(&x->key, &y->key);
}

struct vs_rt *lve_find_key(struct vs_rt **arr, size_t n, const struct ipvs_service *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lvs_service_cmp(&arr[mid]->key, key);

		if (c == 0)
			return arr[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct vs_rt *find_name(struct lvs_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nvs; i++)
		if (strcasecmp(e->vs[i]->conf->name, name) == 0)
			return e->vs[i];
	return NULL;
}

/* A real server as directorctl names it: its service in *v (NULL when
 * there is none), its index in *i; -ENOENT when either is missing. */
static int find_server(struct lvs_engine *e, const char *service, const char *server, struct vs_rt **v, size_t *i)
{
	const struct real_server_conf *rs;

	*v = find_name(e, service);
	if (!*v || !(rs = virtual_server_find_rs((*v)->conf, server)))
		return -ENOENT;
	*i = (size_t)(rs - (*v)->conf->real_servers.items);
	return *i < (*v)->nrs ? 0 : -ENOENT;
}

const struct ipvs_dest *lve_find_dest(const struct lvs_service *s, const struct ipvs_dest *key)
{
	size_t lo = 0, hi = s->ndests;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lvs_dest_cmp(&s->dests[mid], key);

		if (c == 0)
			return &s->dests[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int lve_qsort_dest(const void *a, const void *b)
{
	return lvs_dest_cmp(a, b);
}

/* ---- probes ---- */

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

static void probe_free(struct probe *pr)
{
	struct probe_spec *ps;

	if (!pr)
		return;
	if (pr->hp)
		hc_probe_stop(pr->hp);
	if ((ps = pr->spec)) {
		free(ps->path);
		free(ps->host);
		free(ps->body);
		free(ps->command);
		for (size_t i = 0; i < PROBE_ENV_MAX; i++)
			free(ps->env[i]);
		tls_client_put(ps->tls);
		free(ps);
	}
	free(pr);
}

static char *env_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *env_str(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* What a script check finds in its environment. */
static bool probe_env(struct probe_spec *pr, const struct virtual_server_conf *vs, const struct real_server_conf *rs)
{
	char vaddr[INET6_ADDRSTRLEN] = "", raddr[INET6_ADDRSTRLEN];

	if (vs->address.addr.family)
		ipaddr_ntop(&vs->address.addr, vaddr, sizeof(vaddr));
	ipaddr_ntop(&rs->addr, raddr, sizeof(raddr));
	pr->env[0] = env_str("DSRKIT_VS_NAME=%s", vs->name);
	pr->env[1] = env_str("DSRKIT_VS_ADDR=%s", vaddr);
	pr->env[2] = env_str("DSRKIT_VS_PORT=%u", (unsigned)vs->address.port);
	pr->env[3] = env_str("DSRKIT_RS_ADDR=%s", raddr);
	pr->env[4] = env_str("DSRKIT_RS_PORT=%u", (unsigned)rs->port);
	pr->env[5] = env_str("DSRKIT_RS_WEIGHT=%u", rs->weight);
	pr->hc.env = pr->env;
	for (size_t i = 0; i < PROBE_ENV_MAX; i++)
		if (!pr->env[i])
			return false;
	return true;
}

static const struct ipaddr *probe_addr(const struct virtual_server_conf *vs, const struct real_server_conf *rs)
{
	if (rs->check.address.family)
		return &rs->check.address;
	if (vs->check_address.family)
		return &vs->check_address;
	return &rs->addr;
}

uint16_t lve_probe_port(const struct virtual_server_conf *vs, const struct real_server_conf *rs, bool agent)
{
	if (agent)
		return rs->check.agent_port ? rs->check.agent_port :
		       vs->agent_port ? vs->agent_port : LVS_DEFAULT_AGENT_PORT;
	return rs->check.port ? rs->check.port : vs->check_port ? vs->check_port :
	       rs->port ? rs->port : vs->address.port;
}

/* The service's deciding check (is_agent false) or its agent probe for
 * real server index of v, overrides applied, not started. 0 with *out
 * NULL when the server has no such probe; -ENOMEM. */
static int probe_new(const struct lvs_engine *e, struct vs_rt *v, size_t index, const struct real_server_conf *rs,
		     bool is_agent, struct probe **out)
{
	const struct virtual_server_conf *vs = v->conf;
	int type = is_agent ? (vs->check == LVS_CHECK_AGENT || vs->check_agent ? LVS_CHECK_AGENT : LVS_CHECK_NONE) :
		   vs->check == LVS_CHECK_AGENT ? LVS_CHECK_NONE : vs->check;
	struct probe *pr;
	struct probe_spec *ps;
	struct hc_spec *s;
	bool oom = false;

	*out = NULL;
	if (type == LVS_CHECK_NONE)
		return 0;
	if (!(pr = calloc(1, sizeof(*pr))) || !(ps = pr->spec = calloc(1, sizeof(*ps)))) {
		free(pr);
		return -ENOMEM;
	}
	pr->vs = v;
	pr->index = index;
	pr->is_agent = is_agent;
	*out = pr;
	s = &ps->hc;
	s->type = type;
	s->addr = *probe_addr(vs, rs);
	s->port = lve_probe_port(vs, rs, is_agent);
	s->source = vs->check_source;
	s->interval_ms = is_agent && vs->agent_interval_ms ? vs->agent_interval_ms : vs->check_interval_ms;
	s->timeout_ms = vs->check_timeout_ms;
	if (s->type == LVS_CHECK_HTTP || s->type == LVS_CHECK_HTTPS) {
		s->path = ps->path = dup_or_null(rs->check.path ? rs->check.path : vs->check_path ? vs->check_path : "/",
						 &oom);
		s->host = ps->host = dup_or_null(rs->check.host ? rs->check.host : vs->check_host, &oom);
		s->body = ps->body = dup_or_null(vs->check_body, &oom);
		s->status_lo = vs->check_status_lo;
		s->status_hi = vs->check_status_hi;
		s->user_agent = "directord";
		/* Never an https check without its context: that would be one
		 * that verifies nothing. */
		if (s->type == LVS_CHECK_HTTPS && !(v->tls && (s->tls = ps->tls = tls_client_ref(v->tls))))
			oom = true;
	} else if (s->type == LVS_CHECK_SCRIPT) {
		s->command = ps->command = dup_or_null(rs->check.command ? rs->check.command : vs->check_command, &oom);
		s->dynamic_weight = vs->check_dynamic_weight;
		s->script_user = e->script_user;
		if (!probe_env(ps, vs, rs))
			oom = true;
	}
	if (!oom)
		return 0;
	probe_free(pr);
	*out = NULL;
	return -ENOMEM;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Would the two probes do the same thing? (Their start delay aside.) */
static bool probe_same(const struct probe *a, const struct probe *b)
{
	const struct hc_spec *x, *y;

	if (lve_probe_type(a) != lve_probe_type(b))
		return false;
	if (!a)
		return true;
	x = &a->spec->hc;
	y = &b->spec->hc;
	if (!ipaddr_equal(&x->addr, &y->addr) || x->port != y->port || x->source.family != y->source.family ||
	    (x->source.family && !ipaddr_equal(&x->source, &y->source)) || x->interval_ms != y->interval_ms ||
	    x->timeout_ms != y->timeout_ms || x->status_lo != y->status_lo || x->status_hi != y->status_hi ||
	    x->dynamic_weight != y->dynamic_weight || !str_same(x->path, y->path) || !str_same(x->host, y->host) ||
	    !str_same(x->body, y->body) || !str_same(x->command, y->command) || x->tls != y->tls)
		return false;
	for (size_t i = 0; i < PROBE_ENV_MAX; i++)
		if (!str_same(a->spec->env[i], b->spec->env[i]))
			return false;
	return true;
}

/* A start delay spread over the interval (at most one probe a
 * millisecond is enough), the same for a server on every run. */
static uint64_t probe_delay(const struct vs_rt *v, size_t i, bool is_agent, uint64_t interval, size_t nprobes)
{
	uint64_t window = nprobes > 1000 ? nprobes : 1000;
	char name[NAME_MAX_LEN];
	uint32_t h = 2166136261u;
	const char *parts[] = { v->conf->name, "/", lve_rs_name(v, i, name, sizeof(name)), is_agent ? "/a" : "" };

	if (window > interval)
		window = interval;
	for (size_t k = 0; k < ARRAY_SIZE(parts); k++)
		for (const char *c = parts[k]; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
	return window ? h % window : 0;
}

static void probe_done(struct hc_probe *hp, const struct hc_outcome *o, void *arg);

static void probe_start(struct lvs_engine *e, struct probe *pr, size_t nprobes)
{
	char name[NAME_MAX_LEN];
	int ret;

	if (!pr || pr->hp)
		return;
	pr->spec->hc.first_delay_ms = probe_delay(pr->vs, pr->index, pr->is_agent, pr->spec->hc.interval_ms, nprobes);
	ret = hc_probe_start(e->loop, &pr->spec->hc, probe_done, pr, &pr->hp);
	if (ret < 0)
		e->probe_start_failed = true;
	if (ret < 0 && ret != pr->err)
		log_warnx("%s %s: cannot start the %s probe: %s", pr->vs->conf->name,
			  lve_rs_name(pr->vs, pr->index, name, sizeof(name)), lve_check_name(lve_probe_type(pr)), strerror(-ret));
	pr->err = ret;
}

static size_t count_probes(const struct lvs_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nvs; i++)
		for (size_t j = 0; j < e->vs[i]->nrs; j++)
			n += (e->vs[i]->rt[j].check != NULL) + (e->vs[i]->rt[j].agent != NULL);
	return n;
}

static void start_all_probes(struct lvs_engine *e)
{
	size_t n = e->nprobes = count_probes(e);

	for (size_t i = 0; i < e->nvs; i++) {
		for (size_t j = 0; j < e->vs[i]->nrs; j++) {
			probe_start(e, e->vs[i]->rt[j].check, n);
			probe_start(e, e->vs[i]->rt[j].agent, n);
		}
	}
}

/* ---- verdicts ---- */

static void quorum_update(struct vs_rt *v, bool log)
{
	const struct virtual_server_conf *vs = v->conf;
	unsigned up = lvs_service_up_weight(vs, v->rs);
	char a[INET6_ADDRSTRLEN];

	if (!lvs_quorum_update(vs, up, &v->has_quorum))
		return;
	if (!log) {
		v->quorum_quiet = !v->has_quorum;
		return;
	}
	if (v->has_quorum && v->quorum_quiet)
		log_debug("%s: quorum reached (up weight %u, quorum %u)%s", vs->name, up, vs->quorum,
			  vs->sorry_server.addr.family ? ": the sorry server leaves" : "");
	else if (v->has_quorum)
		log_info("%s: quorum regained (up weight %u, quorum %u)%s", vs->name, up, vs->quorum,
			 vs->sorry_server.addr.family ? ": the sorry server leaves" : "");
	else if (vs->sorry_server.addr.family)
		log_warnx("%s: quorum lost (up weight %u, quorum %u): sorry server %s in use", vs->name, up,
			  vs->quorum, ipaddr_ntop(&vs->sorry_server.addr, a, sizeof(a)));
	else
		log_warnx("%s: quorum lost (up weight %u, quorum %u)", vs->name, up, vs->quorum);
	v->quorum_quiet = false;
}

/* Re-judge one real server after its inputs changed; log a change of
 * what it is or weighs, and queue its service for the kernel. */
static void rs_update(struct vs_rt *v, size_t i, bool log)
{
	struct rs_rt *rr = &v->rt[i];
	const struct lvs_rs_state *st = &v->rs[i];
	char name[NAME_MAX_LEN], w0[16], w1[16];
	const char *why;
	int w;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &w, &why);

	if (vd == rr->verdict && w == rr->weight)
		return;
	if (log)
		log_info("%s %s: %s (%s%s), weight %s -> %s", v->conf->name, lve_rs_name(v, i, name, sizeof(name)),
			 lve_verdict_name(vd), lve_why_prefix(st, why), why, weight_text(rr->weight, w0, sizeof(w0)),
			 weight_text(w, w1, sizeof(w1)));
	rr->verdict = vd;
	rr->weight = w;
	quorum_update(v, log);
	lve_mark_dirty(v);
	if (v->conf->announce)
		lve_announce_kick(v->e);
}

void lve_eval_service(struct vs_rt *v, bool log)
{
	for (size_t i = 0; i < v->nrs; i++)
		rs_update(v, i, log);
	quorum_update(v, log);
}

static void probe_done(struct hc_probe *hp, const struct hc_outcome *o, void *arg)
{
	struct probe *pr = arg;
	struct vs_rt *v = pr->vs;
	const struct virtual_server_conf *vs = v->conf;
	struct lvs_rs_state *st = &v->rs[pr->index];
	int64_t now = (int64_t)now_ms();

	(void)hp;
	prom_hist_observe(&pr->latency, o->duration_ms);
	if (pr->is_agent)
		pr->answers[o->have_agent ? agent_reply_answer(&o->agent) : AGENT_ANSWER_COUNT]++;
	if (pr->is_agent) {
		/* Reachability has rise/fall; the last reply stays in force
		 * until the agent is taken as unreachable. */
		lvs_health_record(&st->agent_health, o->have_agent, vs->check_rise, vs->check_fall, o->reason, now);
		if (o->have_agent && (st->agent || (st->agent = malloc(sizeof(*st->agent))))) {
			*st->agent = o->agent;
			st->have_agent = true;
		} else if (!st->agent_health.rf.up) {
			st->have_agent = false;
		}
	} else {
		lvs_health_record(&st->check, o->result == HC_PASS, vs->check_rise, vs->check_fall, o->reason, now);
		if (o->result == HC_PASS && vs->check_dynamic_weight)
			st->dynamic_weight = o->weight;
	}
	rs_update(v, pr->index, true);
	if (vs->announce)
		lve_announce_first_result(v->e);
}

/* ---- runtime objects ---- */

static void rr_release(struct rs_rt *rr)
{
	probe_free(rr->check);
	probe_free(rr->agent);
	rr->check = rr->agent = NULL;
}

static int rr_init(struct lvs_engine *e, struct vs_rt *v, const struct real_server_conf *rs, size_t i,
		   struct rs_rt *rr)
{
	memset(rr, 0, sizeof(*rr));
	rr->verdict = LVS_RS_DOWN;	/* what "not in the table" was before */
	rr->weight = -1;
	if (probe_new(e, v, i, rs, false, &rr->check) < 0 || probe_new(e, v, i, rs, true, &rr->agent) < 0) {
		rr_release(rr);
		return -ENOMEM;
	}
	return 0;
}

/* The server moved to index i (a reload): its probes follow. */
static void rr_moved(struct rs_rt *rr, size_t i)
{
	if (rr->check)
		rr->check->index = i;
	if (rr->agent)
		rr->agent->index = i;
}

static void rs_state_init(struct lvs_rs_state *st, const struct real_server_conf *rs)
{
	memset(st, 0, sizeof(*st));
	st->conf = rs;
	st->dynamic_weight = -1;
	st->admin = LVS_ADMIN_ENABLED;
}

static void vs_free(struct vs_rt *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nrs; i++) {
		rr_release(&v->rt[i]);
		lvs_rs_state_release(&v->rs[i]);
	}
	free(v->rt);
	free(v->rs);
	free(v->have.dests);
	tls_client_put(v->tls);
	free(v);
}

/* The TLS context of an https service's probes, made once for all its
 * servers (equal files share one: a reload that changes nothing of them
 * gets the very same, so its probes go on). */
static int vs_tls_set(struct vs_rt *v, const struct virtual_server_conf *c)
{
	struct tls_client *fresh = NULL;
	int ret = 0;

	if (c->check == LVS_CHECK_HTTPS)
		ret = tls_client_get(c->check_ca_file.pem, c->check_cert_file.pem, c->check_key_file.pem, &fresh);
	tls_client_put(v->tls);
	v->tls = fresh;
	return ret;
}

/* Arrays for n real servers. */
static int vs_alloc_arrays(size_t n, struct lvs_rs_state **rs, struct rs_rt **rt)
{
	*rs = calloc(n ? n : 1, sizeof(**rs));
	*rt = calloc(n ? n : 1, sizeof(**rt));
	if (*rs && *rt)
		return 0;
	free(*rs);
	free(*rt);
	return -ENOMEM;
}

static struct vs_rt *vs_new(struct lvs_engine *e, const struct virtual_server_conf *c)
{
	struct vs_rt *v = calloc(1, sizeof(*v));
	size_t n = c->real_servers.n;

	if (!v)
		return NULL;
	v->e = e;
	v->conf = c;
	v->has_quorum = true;
	virtual_server_key(c, &v->key);
	if (vs_tls_set(v, c) < 0 || vs_alloc_arrays(n, &v->rs, &v->rt) < 0) {
		tls_client_put(v->tls);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		rs_state_init(&v->rs[i], &c->real_servers.items[i]);
		if (rr_init(e, v, &c->real_servers.items[i], i, &v->rt[i]) < 0) {
			vs_free(v);
			return NULL;
		}
		v->nrs = i + 1;
	}
	return v;
}

void lve_mark_dirty(struct vs_rt *v)
{
	struct lvs_engine *e = v->e;

	if (v->dirty)
		return;
	v->dirty = true;
	e->dirty[e->ndirty++] = v;
	if (!ev_timer_armed(&e->flush_timer))
		ev_timer_start(e->loop, &e->flush_timer, 0);
}

void lve_dirty_clear(struct lvs_engine *e)
{
	for (size_t i = 0; i < e->ndirty; i++)
		e->dirty[i]->dirty = false;
	e->ndirty = 0;
}

/* ---- start and stop ---- */

/* The arrays that have one slot per service. */
static int engine_arrays(struct lvs_engine *e, size_t n)
{
	struct vs_rt **sorted = calloc(n + 1, sizeof(*sorted)), **dirty = calloc(n + 1, sizeof(*dirty));
	struct vs_rt **scratch = calloc(n + 1, sizeof(*scratch));

	if (!sorted || !dirty || !scratch) {
		free(sorted);
		free(dirty);
		free(scratch);
		return -ENOMEM;
	}
	memcpy(sorted, e->vs, n * sizeof(*sorted));
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), lve_key_cmp);
	free(e->sorted);
	free(e->dirty);
	free(e->scratch);
	e->sorted = sorted;
	e->dirty = dirty;
	e->scratch = scratch;
	e->ndirty = 0;
	return 0;
}

/* Before the first reconcile: a drained server never gets its weight back
 * because its engine was restarted. */
static void apply_drained(struct lvs_engine *e, const struct lvs_drained_list *drained)
{
	for (size_t k = 0; drained && k < drained->n; k++) {
		const struct lvs_drained *d = &drained->items[k];
		struct vs_rt *v;
		size_t i;

		if (find_server(e, d->service, d->server, &v, &i) < 0) {
			log_warnx("%s %s: drained by directorctl, but no longer in the configuration", d->service,
				  d->server);
			continue;
		}
		v->rs[i].admin = LVS_ADMIN_DRAINED;
		log_info("%s %s: still drained (directorctl drain, before this engine started)", v->conf->name,
			 d->server);
	}
}

int lvs_engine_start(struct evloop *loop, const struct director_config *cfg, const struct lvs_drained_list *drained,
		     const struct lvs_kernel_ops *kernel, struct lvs_engine **out)
{
	struct lvs_engine *e = calloc(1, sizeof(*e));
	size_t n = 0;

	if (!e)
		return -ENOMEM;
	e->k = kernel;
	e->loop = loop;
	e->cfg = cfg;
	ev_timer_init(&e->open_timer, lve_open_cb, e);
	ev_timer_init(&e->flush_timer, lve_flush_cb, e);
	ev_timer_init(&e->retry_timer, lve_retry_cb, e);
	ev_timer_init(&e->reconcile_timer, lve_reconcile_timer_cb, e);
	ev_timer_init(&e->sync.timer, lve_sync_timer_cb, e);
	/* Nothing to wait for without a sync daemon, or with both daemons. */
	e->sync.settled = !cfg->lvs.sync.interface || cfg->lvs.sync.mode == LVS_SYNC_BOTH;
	if (!e->sync.settled)
		ev_timer_start(loop, &e->sync.timer, SYNC_SETTLE_MS);
	e->script_user = cfg->user ? strdup(cfg->user) : NULL;
	e->vs = calloc(cfg->lvs.nservices + 1, sizeof(*e->vs));
	if (!e->vs || (cfg->user && !e->script_user))
		goto nomem;
	for (const struct virtual_server_conf *c = cfg->lvs.services; c; c = c->next) {
		if (!(e->vs[n] = vs_new(e, c)))
			goto nomem;
		e->nvs = ++n;
	}
	if (engine_arrays(e, n) < 0)
		goto nomem;
	apply_drained(e, drained);
	for (size_t i = 0; i < n; i++)
		lve_eval_service(e->vs[i], false);
	lve_announce_start(e, drained && drained->director_drained);
	lve_ipvs_try_open(e);
	start_all_probes(e);
	*out = e;
	return 0;
nomem:
	lvs_engine_stop(e);
	return -ENOMEM;
}

/* ipvs_on_stop = remove: our services go, in one batch. */
static void remove_services(struct lvs_engine *e)
{
	struct ipvs_request *reqs = calloc(e->nvs + 1, sizeof(*reqs));
	size_t n = 0;
	int failed;

	if (!reqs)
		return;
	for (size_t i = 0; i < e->nvs; i++)
		if (e->vs[i]->present)
			reqs[n++] = (struct ipvs_request){ IPVS_REQ_SERVICE_DEL, &e->vs[i]->have.svc, NULL, 0 };
	failed = n ? e->k->apply(e->ipvs, reqs, n) : 0;
	if (failed < 0)
		log_warnx("ipvs: removing our services: %s", ipvs_strerror(failed));
	else
		log_info("ipvs: ipvs_on_stop = remove: %zu service(s) removed (%d failed)", n - (size_t)failed,
			 failed);
	free(reqs);
}

void lvs_engine_stop(struct lvs_engine *e)
{
	if (!e)
		return;
	ev_timer_stop(e->loop, &e->open_timer);
	ev_timer_stop(e->loop, &e->flush_timer);
	ev_timer_stop(e->loop, &e->retry_timer);
	ev_timer_stop(e->loop, &e->reconcile_timer);
	ev_timer_stop(e->loop, &e->sync.timer);
	lve_announce_stop(e);
	for (size_t i = 0; i < e->nvs; i++) {
		for (size_t j = 0; j < e->vs[i]->nrs; j++)
			rr_release(&e->vs[i]->rt[j]);
	}
	if (e->ipvs && e->cfg->lvs.on_stop == LVS_STOP_REMOVE) {
		remove_services(e);
		lve_sync_stop_all(e);
	} else if (e->ipvs) {
		log_info("ipvs: ipvs_on_stop = keep: our services%s stay in the kernel as they are",
			 e->cfg->lvs.sync.interface ? " and the sync daemon" : "");
	}
	for (size_t i = 0; i < e->nvs; i++)
		vs_free(e->vs[i]);
	e->k->close(e->ipvs);
	free(e->vs);
	free(e->sorted);
	free(e->dirty);
	free(e->scratch);
	free(e->vrrp);
	free(e->script_user);
	free(e);
}

/* ---- reload ---- */

/* A kept real server: probes whose spec changed start afresh and forget
 * what the old one found; the others go on. A server in the table keeps
 * its place until the new probe has a result, as an adopted one does: a
 * reload that only changes a check must not take servers out. */
static int rr_respec(struct lvs_engine *e, struct vs_rt *v, size_t index, struct rs_rt *rr, struct lvs_rs_state *st)
{
	struct probe *fresh;
	struct probe **old[2] = { &rr->check, &rr->agent };
	bool in_table = rr->weight >= 0 && rr->verdict != LVS_RS_DOWN;
	int ret = 0;

	for (int k = 0; k < 2; k++) {
		if ((ret = probe_new(e, v, index, st->conf, k == 1, &fresh)) < 0)
			return ret;
		if (probe_same(*old[k], fresh)) {
			probe_free(fresh);
			continue;
		}
		probe_free(*old[k]);
		*old[k] = fresh;
		st->adopted = in_table;
		st->adopted_at_zero = in_table && rr->weight == 0;
		if (k == 0) {
			lvs_health_reset(&st->check);
			st->dynamic_weight = -1;
		} else {
			lvs_health_reset(&st->agent_health);
			st->have_agent = false;
		}
	}
	return 0;
}

static bool rs_same_key(const struct real_server_conf *a, const struct real_server_conf *b)
{
	return ipaddr_equal(&a->addr, &b->addr) && a->port == b->port;
}

/* A kept service with its new configuration: real servers matched by
 * address and port keep their state. */
static int vs_reconf(struct lvs_engine *e, struct vs_rt *v, const struct virtual_server_conf *c)
{
	size_t n = c->real_servers.n, whole = n;
	struct lvs_rs_state *rs;
	struct rs_rt *rt;
	int ret = 0;

	if (vs_alloc_arrays(n, &rs, &rt) < 0)
		return -ENOMEM;
	v->conf = c;
	/* The old probes hold the old context until they are compared. */
	ret = vs_tls_set(v, c);
	for (size_t j = 0; j < n; j++) {
		const struct real_server_conf *rc = &c->real_servers.items[j];
		bool kept = false;

		/* A server taken over is marked by its old state's conf. */
		for (size_t i = 0; i < v->nrs && !kept; i++) {
			if (v->rs[i].conf && rs_same_key(v->rs[i].conf, rc)) {
				rt[j] = v->rt[i];
				rs[j] = v->rs[i];
				v->rs[i].conf = NULL;
				kept = true;
			}
		}
		if (kept) {
			rr_moved(&rt[j], j);
			rs[j].conf = rc;
			if (ret == 0)
				ret = rr_respec(e, v, j, &rt[j], &rs[j]);
		} else {
			rs_state_init(&rs[j], rc);
			if (rr_init(e, v, rc, j, &rt[j]) < 0) {
				ret = -ENOMEM;
				if (whole == n)
					whole = j;	/* out of memory: keep what is whole */
			}
		}
	}
	for (size_t i = 0; i < v->nrs; i++) {
		char name[NAME_MAX_LEN];

		if (!v->rs[i].conf)
			continue;
		log_info("%s %s: no longer a real server of the service", c->name, lve_rs_name(v, i, name, sizeof(name)));
		rr_release(&v->rt[i]);
		lvs_rs_state_release(&v->rs[i]);
	}
	free(v->rt);
	free(v->rs);
	v->rt = rt;
	v->rs = rs;
	for (size_t j = whole; j < n; j++) {	/* past the hole: let go */
		rr_release(&rt[j]);
		lvs_rs_state_release(&rs[j]);
	}
	v->nrs = whole;
	return ret;
}

/* The running service the new section continues: same name, same key.
 * Sections usually keep their place in the file, so the service at the
 * same place is tried first; otherwise a search of the running ones by
 * key (e->sorted, sorted by key; keys are unique). */
static struct vs_rt *take_old(struct lvs_engine *e, size_t pos, const struct virtual_server_conf *c)
{
	struct ipvs_service key;
	struct vs_rt *v = pos < e->nvs ? e->vs[pos] : NULL;

	virtual_server_key(c, &key);
	if (!v || v->taken || lvs_service_cmp(&v->key, &key) != 0)
		v = lve_find_key(e->sorted, e->nvs, &key);
	if (!v || v->taken || strcasecmp(v->conf->name, c->name) != 0)
		return NULL;
	v->taken = true;
	return v;
}

/* A new service whose key a removed one had (a rename): the kernel's
 * entry is the new one's now, not something to delete and add again. */
static void inherit_have(struct vs_rt *v, struct vs_rt **gone, size_t ngone)
{
	for (size_t i = 0; i < ngone; i++) {
		struct vs_rt *g = gone[i];

		if (g->present && lvs_service_cmp(&g->key, &v->key) == 0) {
			struct lvs_service h = v->have;
			size_t cap = v->have_cap;

			v->have = g->have;
			v->have_cap = g->have_cap;
			v->present = true;
			g->have = h;
			g->have_cap = cap;
			g->present = false;
			return;
		}
	}
}

/* A section the reload left as it was (marked while the file was read):
 * the service goes on untouched; only its pointers move to the new file's
 * copy of the same settings (the probes own their strings). */
static struct vs_rt *take_unchanged(struct lvs_engine *e, size_t pos, const struct virtual_server_conf *c)
{
	struct vs_rt *v = pos < e->nvs ? e->vs[pos] : NULL;

	if (!c->unchanged)
		return NULL;
	if (!v || v->conf != c->unchanged) {
		struct ipvs_service key;

		virtual_server_key(c, &key);
		v = lve_find_key(e->sorted, e->nvs, &key);
	}
	if (!v || v->taken || v->conf != c->unchanged || v->nrs != c->real_servers.n)
		return NULL;
	v->taken = true;
	v->conf = c;
	for (size_t j = 0; j < v->nrs; j++)
		v->rs[j].conf = &c->real_servers.items[j];
	return v;
}

enum reload_fate { VS_UNCHANGED, VS_CHANGED, VS_NEW };

struct reload_count {
	size_t n[3];			/* by enum reload_fate */
	size_t gone;
};

/* Build the new service list; kept ones are marked taken in e->vs, the
 * rest of e->vs is what the new file dropped. */
static int reload_services(struct lvs_engine *e, const struct director_config *cfg, struct vs_rt **fresh,
			   size_t *nfresh, unsigned char *fate)
{
	size_t n = 0;
	int ret = 0;

	for (const struct virtual_server_conf *c = cfg->lvs.services; c; c = c->next) {
		struct vs_rt *v = take_unchanged(e, n, c);

		if (v) {
			fate[n] = VS_UNCHANGED;
		} else if ((v = take_old(e, n, c))) {
			int r = vs_reconf(e, v, c);

			if (r < 0 && ret == 0)
				ret = r;
			fate[n] = VS_CHANGED;
		} else {
			if (!(v = vs_new(e, c))) {
				ret = -ENOMEM;
				continue;
			}
			log_info("%s: new virtual server (%zu real server(s))", c->name, c->real_servers.n);
			fate[n] = VS_NEW;
		}
		fresh[n++] = v;
	}
	*nfresh = n;
	return ret;
}

/* Probes of changed and new services; all of them when one failed to
 * start before (a reload is when that is tried again). */
static void reload_probes(struct lvs_engine *e, const unsigned char *fate)
{
	if (e->probe_start_failed) {
		e->probe_start_failed = false;
		start_all_probes(e);
		return;
	}
	for (size_t i = 0; i < e->nvs; i++) {
		if (fate[i] == VS_UNCHANGED)
			continue;
		for (size_t j = 0; j < e->vs[i]->nrs; j++) {
			probe_start(e, e->vs[i]->rt[j].check, e->nprobes);
			probe_start(e, e->vs[i]->rt[j].agent, e->nprobes);
		}
	}
}

/* A reload costs what it changes: services whose sections are as they
 * were are neither evaluated nor compared with the kernel, so one weight
 * changed among thousands of services is one service's work and one
 * request. */
int lvs_engine_reload(struct lvs_engine *e, const struct director_config *cfg)
{
	const struct director_config *prev;
	size_t nmax = cfg->lvs.nservices, n = 0, nset = 0, nold = e->nvs;
	struct vs_rt **fresh = calloc(nmax + 1, sizeof(*fresh)), **gone = calloc(e->nvs + 1, sizeof(*gone));
	struct vs_rt **set = calloc(nmax + 1, sizeof(*set));
	unsigned char *fate = calloc(nmax + 1, sizeof(*fate));
	struct reload_count count = { { 0 }, 0 };
	int ret;

	/* Returning would leave the engine on the old configuration, which
	 * engine_proc.c frees after a reload: a restart adopts instead. */
	if (!fresh || !gone || !set || !fate)
		fatalx("lvs engine: out of memory");
	ret = reload_services(e, cfg, fresh, &n, fate);
	for (size_t i = 0; i < e->nvs; i++) {
		if (!e->vs[i]->taken) {
			log_info("%s: virtual server removed", e->vs[i]->conf->name);
			gone[count.gone++] = e->vs[i];
		}
		e->vs[i]->taken = false;
	}
	for (size_t i = 0; i < n; i++) {
		count.n[fate[i]]++;
		if (fate[i] == VS_NEW)
			inherit_have(fresh[i], gone, count.gone);
	}
	/* What changed, and what was waiting for a flush anyway; the flags
	 * are cleared while the old dirty list is still there. */
	for (size_t i = 0; i < n; i++)
		if (fate[i] != VS_UNCHANGED || fresh[i]->dirty)
			set[nset++] = fresh[i];
	lve_dirty_clear(e);
	free(e->vs);
	e->vs = fresh;
	e->nvs = n;
	prev = e->cfg;
	e->cfg = cfg;
	/* The same services (kept ones keep their keys): the sorted index
	 * still holds. Half a service table is worse than a restart, which
	 * adopts. */
	if ((count.n[VS_NEW] || count.gone || n != nold) && engine_arrays(e, n) < 0)
		fatalx("lvs engine: out of memory");
	/* New services start quietly, as at start-up. What this marks is
	 * in the set already. */
	for (size_t i = 0; i < n; i++)
		if (fate[i] != VS_UNCHANGED)
			lve_eval_service(e->vs[i], fate[i] == VS_CHANGED);
	lve_dirty_clear(e);
	lve_announce_reload(e);
	log_info("reload: %zu virtual server(s) unchanged, %zu changed, %zu new, %zu removed", count.n[VS_UNCHANGED],
		 count.n[VS_CHANGED], count.n[VS_NEW], count.gone);
	lve_reconcile(e, set, nset, gone, count.gone, "reload");
	for (size_t i = 0; i < count.gone; i++)
		vs_free(gone[i]);
	reload_probes(e, fate);
	ev_timer_stop(e->loop, &e->reconcile_timer);
	if (e->ipvs && cfg->lvs.reconcile_interval_ms)
		ev_timer_start(e->loop, &e->reconcile_timer, cfg->lvs.reconcile_interval_ms);
	lve_timeouts_apply(e);
	lve_sysctls_apply(e);
	/* The old file is still there: keys that went stop its daemon. */
	if (!cfg->lvs.sync.interface || cfg->lvs.sync.mode == LVS_SYNC_BOTH)
		e->sync.settled = true;
	if (e->sync.settled)
		lve_sync_apply(e, &prev->lvs, "reload");
	else if (!ev_timer_armed(&e->sync.timer))
		ev_timer_start(e->loop, &e->sync.timer, SYNC_SETTLE_MS);
	free(set);
	free(gone);
	free(fate);
	return ret;
}

/* ---- from the parent: VRRP states, drain and enable ---- */

void lvs_engine_vrrp_state(struct lvs_engine *e, const char *instance, int state, int priority)
{
	size_t i;

	for (i = 0; i < e->nvrrp; i++)
		if (strcmp(e->vrrp[i].name, instance) == 0)
			break;
	if (i == e->nvrrp) {
		struct inst_state *p = realloc(e->vrrp, (e->nvrrp + 1) * sizeof(*p));

		if (!p)
			return;
		e->vrrp = p;
		strlcpy_safe(e->vrrp[e->nvrrp++].name, instance, sizeof(p->name));
	}
	e->vrrp[i].state = state;
	e->vrrp[i].priority = priority;
	log_debug("vrrp %s is %s (priority %d)", instance, vrrp_state_name(state), priority);
	if (lve_sync_follows(e, instance)) {
		e->sync.settled = true;
		ev_timer_stop(e->loop, &e->sync.timer);
		lve_sync_apply(e, NULL, "vrrp");
	}
}

static const struct inst_state *vrrp_find(const struct lvs_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nvrrp; i++)
		if (strcasecmp(e->vrrp[i].name, name) == 0)
			return &e->vrrp[i];
	return NULL;
}

/* The state of the instance a service follows; for a sync group, of its
 * first instance with a known state (the group moves as one). */
const struct inst_state *lve_vrrp_of(const struct lvs_engine *e, const char *name)
{
	const struct inst_state *s = vrrp_find(e, name);

	if (s)
		return s;
	for (const struct sync_group_conf *g = e->cfg->sync_groups; g; g = g->next) {
		if (strcasecmp(g->name, name) != 0)
			continue;
		for (size_t i = 0; i < g->instances.n; i++)
			if ((s = vrrp_find(e, g->instances.items[i])))
				return s;
	}
	return NULL;
}

int lvs_engine_admin(struct lvs_engine *e, const char *service, const char *server, enum lvs_admin admin,
		     char *err, size_t errlen)
{
	struct vs_rt *v;
	char name[NAME_MAX_LEN];
	size_t i;
	int ret = find_server(e, service, server, &v, &i);

	if (ret < 0) {
		if (v)
			snprintf(err, errlen, "%s has no real server %s", v->conf->name, server);
		else
			snprintf(err, errlen, "no virtual server '%s'", service);
		return ret;
	}
	if (v->rs[i].admin != admin)
		log_info("%s %s: %s by directorctl", v->conf->name, lve_rs_name(v, i, name, sizeof(name)),
			 admin == LVS_ADMIN_DRAINED ? "drained" : "enabled");
	v->rs[i].admin = admin;
	rs_update(v, i, true);
	return 0;
}
