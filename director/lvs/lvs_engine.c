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

#include "directord.h"
#include "evloop.h"
#include "json.h"
#include "log.h"
#include "lvs.h"
#include "vrrp.h"

#define IPVS_RETRY_MS 5000		/* reopening IPVS, retrying failed services */
/* At start, how long the sync daemon waits for the state of what it
 * follows: a restarted engine gets the parent's table at once, and must
 * not turn a running master daemon into a backup meanwhile. */
#define SYNC_SETTLE_MS 2000
#define STATUS_DUMP_MAX 1000		/* above this many services status shows no connection counts */
#define PROBE_ENV_MAX 6
#define NAME_MAX_LEN 64

struct rs_rt;
struct vs_rt;

/* One health probe of one real server, and the strings its spec points
 * to: the engine owns them, so a probe kept across a reload does not
 * point into the old configuration. */
struct probe {
	struct rs_rt *rr;
	bool is_agent;
	struct hc_probe *hp;
	struct hc_spec spec;		/* type LVS_CHECK_NONE: no probe */
	char *path, *host, *body, *command;
	char *env[PROBE_ENV_MAX + 1];
	int err;			/* hc_probe_start failed: -errno */
};

/* A real server's runtime; allocated one by one so that the probes'
 * callback argument stays put when a reload moves the server. */
struct rs_rt {
	struct vs_rt *vs;
	size_t index;			/* in vs->rs */
	struct probe check, agent;
	enum lvs_rs_verdict verdict;	/* as last logged */
	int weight;
};

struct vs_rt {
	struct lvs_engine *e;
	const struct virtual_server_conf *conf;
	struct ipvs_service key;
	bool taken;			/* during a reload: continued by a section of the new file */
	size_t nrs;
	struct lvs_rs_state *rs;	/* [nrs], contiguous as the policy wants it */
	struct rs_rt **rt;		/* [nrs] */
	bool has_quorum;
	bool quorum_quiet;		/* lost before any result (start-up): not logged */
	bool dirty;			/* in e->dirty */
	bool resync;			/* read it from the kernel before the next diff */
	bool failed;			/* a request of the current batch failed */
	bool reading, seen;		/* during a kernel read */
	int err;			/* the last failed request's, 0: none */
	struct lvs_service want;	/* dests: room for nrs + 1 (the sorry server) */
	struct lvs_service have;	/* what the kernel holds, as far as we know */
	size_t have_cap;
	bool present;			/* the service is in the kernel */
};

struct inst_state {
	char name[NAME_MAX_LEN];
	int state;
	int priority;
};

struct lvs_engine {
	struct evloop *loop;
	const struct director_config *cfg;
	char *script_user;
	struct ipvs *ipvs;		/* requests */
	int ipvs_err;			/* why it is not open */
	struct ev_timer open_timer;
	struct ev_timer flush_timer;
	struct ev_timer retry_timer;
	struct ev_timer reconcile_timer;
	struct vs_rt **vs;		/* configuration order */
	struct vs_rt **sorted;		/* by key */
	struct vs_rt **dirty;		/* changed since the last flush */
	struct vs_rt **scratch;
	size_t nvs, ndirty;
	struct inst_state *vrrp;
	size_t nvrrp;
	size_t nprobes;			/* as last counted, for spreading the starts of new ones */
	bool probe_start_failed;	/* a probe could not start: a reload tries all again */
	struct sync_rt {
		struct ev_timer timer;	/* settling at start, then retries */
		bool settled;		/* the state is known, or was waited for */
		bool applied;		/* once: what this engine found is logged */
		int err;		/* the last failure, 0: none */
		char err_what[32];	/* what failed: "starting master", ... */
	} sync;
};

static void sync_apply(struct lvs_engine *e, const struct lvs_config *prev, const char *why);
static void timeouts_apply(struct lvs_engine *e);

static void mark_dirty(struct vs_rt *v);
static const struct inst_state *vrrp_of(const struct lvs_engine *e, const char *name);

/* ---- names ---- */

static const char *verdict_name(enum lvs_rs_verdict v)
{
	switch (v) {
	case LVS_RS_UP: return "up";
	case LVS_RS_DRAIN: return "drain";
	case LVS_RS_DOWN: return "down";
	case LVS_RS_MAINT: return "maint";
	}
	return "?";
}

static const char *check_name(int type)
{
	switch (type) {
	case LVS_CHECK_TCP: return "tcp";
	case LVS_CHECK_HTTP: return "http";
	case LVS_CHECK_SCRIPT: return "script";
	case LVS_CHECK_AGENT: return "agent";
	default: return "none";
	}
}

/* The policy's why points at a health reason when a check decided:
 * say which one. */
static const char *why_prefix(const struct lvs_rs_state *st, const char *why)
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

static const char *rs_name(const struct vs_rt *v, size_t i, char *buf, size_t size)
{
	return real_server_name(v->rs[i].conf, buf, size);
}

/* ---- lookups ---- */

static int key_cmp(const void *a, const void *b)
{
	const struct vs_rt *x = *(const struct vs_rt *const *)a, *y = *(const struct vs_rt *const *)b;

	return lvs_service_cmp(&x->key, &y->key);
}

static struct vs_rt *find_key(struct vs_rt **arr, size_t n, const struct ipvs_service *key)
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

static const struct ipvs_dest *find_dest(const struct lvs_service *s, const struct ipvs_dest *key)
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

static int qsort_dest(const void *a, const void *b)
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

static void probe_clear(struct probe *pr)
{
	if (pr->hp)
		hc_probe_stop(pr->hp);
	pr->hp = NULL;
	free(pr->path);
	free(pr->host);
	free(pr->body);
	free(pr->command);
	for (size_t i = 0; i < PROBE_ENV_MAX; i++)
		free(pr->env[i]);
	memset(&pr->spec, 0, sizeof(*pr) - offsetof(struct probe, spec));
	pr->spec.type = LVS_CHECK_NONE;
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
static bool probe_env(struct probe *pr, const struct virtual_server_conf *vs, const struct real_server_conf *rs)
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
	pr->spec.env = pr->env;
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

static uint16_t probe_port(const struct virtual_server_conf *vs, const struct real_server_conf *rs, bool agent)
{
	if (agent)
		return rs->check.agent_port ? rs->check.agent_port :
		       vs->agent_port ? vs->agent_port : LVS_DEFAULT_AGENT_PORT;
	return rs->check.port ? rs->check.port : vs->check_port ? vs->check_port :
	       rs->port ? rs->port : vs->address.port;
}

/* The spec of the service's deciding check (is_agent false) or of its
 * agent probe for one real server, overrides applied. -ENOMEM, or 0 (type
 * LVS_CHECK_NONE when that probe does not exist). */
static int probe_build(const struct lvs_engine *e, const struct virtual_server_conf *vs,
		       const struct real_server_conf *rs, bool is_agent, struct probe *pr)
{
	struct hc_spec *s = &pr->spec;
	bool oom = false;

	memset(s, 0, sizeof(*s));
	pr->is_agent = is_agent;
	s->type = is_agent ? (vs->check == LVS_CHECK_AGENT || vs->check_agent ? LVS_CHECK_AGENT : LVS_CHECK_NONE) :
		  vs->check == LVS_CHECK_AGENT ? LVS_CHECK_NONE : vs->check;
	if (s->type == LVS_CHECK_NONE)
		return 0;
	s->addr = *probe_addr(vs, rs);
	s->port = probe_port(vs, rs, is_agent);
	s->interval_ms = is_agent && vs->agent_interval_ms ? vs->agent_interval_ms : vs->check_interval_ms;
	s->timeout_ms = vs->check_timeout_ms;
	if (s->type == LVS_CHECK_HTTP) {
		s->path = pr->path = dup_or_null(rs->check.path ? rs->check.path : vs->check_path ? vs->check_path : "/",
						 &oom);
		s->host = pr->host = dup_or_null(rs->check.host ? rs->check.host : vs->check_host, &oom);
		s->body = pr->body = dup_or_null(vs->check_body, &oom);
		s->status_lo = vs->check_status_lo;
		s->status_hi = vs->check_status_hi;
		s->user_agent = "directord";
	} else if (s->type == LVS_CHECK_SCRIPT) {
		s->command = pr->command = dup_or_null(rs->check.command ? rs->check.command : vs->check_command, &oom);
		s->dynamic_weight = vs->check_dynamic_weight;
		s->script_user = e->script_user;
		if (!probe_env(pr, vs, rs))
			oom = true;
	}
	return oom ? -ENOMEM : 0;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Would the two probes do the same thing? (Their start delay aside.) */
static bool probe_same(const struct probe *a, const struct probe *b)
{
	const struct hc_spec *x = &a->spec, *y = &b->spec;

	if (x->type != y->type)
		return false;
	if (x->type == LVS_CHECK_NONE)
		return true;
	if (!ipaddr_equal(&x->addr, &y->addr) || x->port != y->port || x->interval_ms != y->interval_ms ||
	    x->timeout_ms != y->timeout_ms || x->status_lo != y->status_lo || x->status_hi != y->status_hi ||
	    x->dynamic_weight != y->dynamic_weight || !str_same(x->path, y->path) || !str_same(x->host, y->host) ||
	    !str_same(x->body, y->body) || !str_same(x->command, y->command))
		return false;
	for (size_t i = 0; i < PROBE_ENV_MAX; i++)
		if (!str_same(a->env[i], b->env[i]))
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
	const char *parts[] = { v->conf->name, "/", rs_name(v, i, name, sizeof(name)), is_agent ? "/a" : "" };

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
	struct rs_rt *rr = pr->rr;
	char name[NAME_MAX_LEN];
	int ret;

	if (pr->spec.type == LVS_CHECK_NONE || pr->hp)
		return;
	pr->spec.first_delay_ms = probe_delay(rr->vs, rr->index, pr->is_agent, pr->spec.interval_ms, nprobes);
	ret = hc_probe_start(e->loop, &pr->spec, probe_done, pr, &pr->hp);
	if (ret < 0)
		e->probe_start_failed = true;
	if (ret < 0 && ret != pr->err)
		log_warnx("%s %s: cannot start the %s probe: %s", rr->vs->conf->name,
			  rs_name(rr->vs, rr->index, name, sizeof(name)), check_name(pr->spec.type), strerror(-ret));
	pr->err = ret;
}

static size_t count_probes(const struct lvs_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nvs; i++)
		for (size_t j = 0; j < e->vs[i]->nrs; j++)
			n += (e->vs[i]->rt[j]->check.spec.type != LVS_CHECK_NONE) +
			     (e->vs[i]->rt[j]->agent.spec.type != LVS_CHECK_NONE);
	return n;
}

static void start_all_probes(struct lvs_engine *e)
{
	size_t n = e->nprobes = count_probes(e);

	for (size_t i = 0; i < e->nvs; i++) {
		for (size_t j = 0; j < e->vs[i]->nrs; j++) {
			probe_start(e, &e->vs[i]->rt[j]->check, n);
			probe_start(e, &e->vs[i]->rt[j]->agent, n);
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
static void rs_update(struct vs_rt *v, struct rs_rt *rr, bool log)
{
	const struct lvs_rs_state *st = &v->rs[rr->index];
	char name[NAME_MAX_LEN], w0[16], w1[16];
	const char *why;
	int w;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &w, &why);

	if (vd == rr->verdict && w == rr->weight)
		return;
	if (log)
		log_info("%s %s: %s (%s%s), weight %s -> %s", v->conf->name, rs_name(v, rr->index, name, sizeof(name)),
			 verdict_name(vd), why_prefix(st, why), why, weight_text(rr->weight, w0, sizeof(w0)),
			 weight_text(w, w1, sizeof(w1)));
	rr->verdict = vd;
	rr->weight = w;
	quorum_update(v, log);
	mark_dirty(v);
}

static void eval_service(struct vs_rt *v, bool log)
{
	for (size_t i = 0; i < v->nrs; i++)
		rs_update(v, v->rt[i], log);
	quorum_update(v, log);
}

static void probe_done(struct hc_probe *hp, const struct hc_outcome *o, void *arg)
{
	struct probe *pr = arg;
	struct rs_rt *rr = pr->rr;
	struct vs_rt *v = rr->vs;
	const struct virtual_server_conf *vs = v->conf;
	struct lvs_rs_state *st = &v->rs[rr->index];
	int64_t now = (int64_t)now_ms();

	(void)hp;
	if (pr->is_agent) {
		/* Reachability has rise/fall; the last reply stays in force
		 * until the agent is taken as unreachable. */
		lvs_health_record(&st->agent_health, o->have_agent, vs->check_rise, vs->check_fall, o->reason, now);
		if (o->have_agent) {
			st->agent = o->agent;
			st->have_agent = true;
		} else if (!st->agent_health.rf.up) {
			st->have_agent = false;
		}
	} else {
		lvs_health_record(&st->check, o->result == HC_PASS, vs->check_rise, vs->check_fall, o->reason, now);
		if (o->result == HC_PASS && vs->check_dynamic_weight)
			st->dynamic_weight = o->weight;
	}
	rs_update(v, rr, true);
}

/* ---- runtime objects ---- */

static void rr_free(struct rs_rt *rr)
{
	if (!rr)
		return;
	probe_clear(&rr->check);
	probe_clear(&rr->agent);
	free(rr);
}

static struct rs_rt *rr_new(struct lvs_engine *e, struct vs_rt *v, const struct real_server_conf *rs, size_t i)
{
	struct rs_rt *rr = calloc(1, sizeof(*rr));

	if (!rr)
		return NULL;
	rr->vs = v;
	rr->index = i;
	rr->check.rr = rr->agent.rr = rr;
	rr->verdict = LVS_RS_DOWN;	/* what "not in the table" was before */
	rr->weight = -1;
	if (probe_build(e, v->conf, rs, false, &rr->check) < 0 || probe_build(e, v->conf, rs, true, &rr->agent) < 0) {
		rr_free(rr);
		return NULL;
	}
	return rr;
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
	for (size_t i = 0; i < v->nrs; i++)
		rr_free(v->rt[i]);
	free(v->rt);
	free(v->rs);
	free(v->want.dests);
	free(v->have.dests);
	free(v);
}

/* Arrays for n real servers (and the sorry server in want). */
static int vs_alloc_arrays(size_t n, struct lvs_rs_state **rs, struct rs_rt ***rt, struct ipvs_dest **want)
{
	*rs = calloc(n + 1, sizeof(**rs));
	*rt = calloc(n + 1, sizeof(**rt));
	*want = calloc(n + 1, sizeof(**want));
	if (*rs && *rt && *want)
		return 0;
	free(*rs);
	free(*rt);
	free(*want);
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
	if (vs_alloc_arrays(n, &v->rs, &v->rt, &v->want.dests) < 0) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		rs_state_init(&v->rs[i], &c->real_servers.items[i]);
		if (!(v->rt[i] = rr_new(e, v, &c->real_servers.items[i], i))) {
			vs_free(v);
			return NULL;
		}
		v->nrs = i + 1;
	}
	v->nrs = n;
	return v;
}

static void mark_dirty(struct vs_rt *v)
{
	struct lvs_engine *e = v->e;

	if (v->dirty)
		return;
	v->dirty = true;
	e->dirty[e->ndirty++] = v;
	if (!ev_timer_armed(&e->flush_timer))
		ev_timer_start(e->loop, &e->flush_timer, 0);
}

static void dirty_clear(struct lvs_engine *e)
{
	for (size_t i = 0; i < e->ndirty; i++)
		e->dirty[i]->dirty = false;
	e->ndirty = 0;
}

/* ---- reading the kernel ---- */

static int have_push(struct vs_rt *v, const struct ipvs_dest *d)
{
	if (v->have.ndests == v->have_cap) {
		size_t cap = v->have_cap ? v->have_cap * 2 : 8;
		struct ipvs_dest *p = realloc(v->have.dests, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->have.dests = p;
		v->have_cap = cap;
	}
	v->have.dests[v->have.ndests++] = *d;
	return 0;
}

static int read_service(const struct ipvs_service *s, const struct ipvs_stats *st, void *arg)
{
	struct lvs_engine *e = arg;
	struct vs_rt *v = find_key(e->sorted, e->nvs, s);

	(void)st;
	if (v && v->reading) {
		v->have.svc = *s;
		v->seen = true;
	}
	return 0;
}

static int read_dest(const struct ipvs_dest *d, void *arg)
{
	return have_push(arg, d);
}

/* Replace `have` of the services in set by what the kernel holds. The
 * caller logs a failure. */
static int kernel_read(struct lvs_engine *e, struct vs_rt **set, size_t n)
{
	int ret;

	for (size_t i = 0; i < n; i++) {
		set[i]->reading = true;
		set[i]->seen = false;
	}
	ret = ipvs_services(e->ipvs, read_service, e);
	for (size_t i = 0; i < n; i++) {
		struct vs_rt *v = set[i];

		v->reading = false;
		if (ret < 0)
			continue;
		v->resync = false;
		v->have.ndests = 0;
		v->present = v->seen;
		if (!v->present)
			continue;
		if (ipvs_dests(e->ipvs, &v->have.svc, read_dest, v) < 0) {
			/* Gone between the two reads, or no memory: try again later. */
			v->have.ndests = 0;
			v->present = false;
			v->resync = true;
		}
		if (v->have.ndests > 1)
			qsort(v->have.dests, v->have.ndests, sizeof(*v->have.dests), qsort_dest);
	}
	return ret;
}

/* What the kernel already has of ours stays as it is until a check says
 * otherwise: a restart of directord moves no connection, and a server
 * found at weight 0 (drained, inhibited) gets no new ones meanwhile. */
static void adopt(struct lvs_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nvs; i++) {
		struct vs_rt *v = e->vs[i];

		for (size_t j = 0; v->present && j < v->nrs; j++) {
			const struct ipvs_dest *found;
			struct ipvs_dest d;

			real_server_dest(v->conf, v->rs[j].conf, 1, &d);
			found = find_dest(&v->have, &d);
			if (found && !v->rs[j].check.rf.known && !v->rs[j].agent_health.rf.known) {
				v->rs[j].adopted = true;
				v->rs[j].adopted_at_zero = found->weight == 0;
				n++;
			}
		}
		eval_service(v, false);
	}
	if (n)
		log_info("ipvs: %zu real server(s) found in the kernel stay in until checked", n);
}

/* ---- writing the kernel ---- */

static const enum ipvs_req_type req_of[] = {
	[LVS_OP_SERVICE_ADD] = IPVS_REQ_SERVICE_ADD, [LVS_OP_SERVICE_EDIT] = IPVS_REQ_SERVICE_EDIT,
	[LVS_OP_SERVICE_DEL] = IPVS_REQ_SERVICE_DEL, [LVS_OP_DEST_ADD] = IPVS_REQ_DEST_ADD,
	[LVS_OP_DEST_EDIT] = IPVS_REQ_DEST_EDIT, [LVS_OP_DEST_DEL] = IPVS_REQ_DEST_DEL,
};

static const char *op_words[] = {
	[LVS_OP_SERVICE_ADD] = "adding the service", [LVS_OP_SERVICE_EDIT] = "changing the service",
	[LVS_OP_SERVICE_DEL] = "deleting the service", [LVS_OP_DEST_ADD] = "adding",
	[LVS_OP_DEST_EDIT] = "changing", [LVS_OP_DEST_DEL] = "removing",
};

/* One batch: the wanted entries of a set of services, what we believe
 * the kernel has of them, and services to delete. */
struct plan {
	struct lvs_table want, have, prev;
	struct lvs_ops ops;
	struct ipvs_request *reqs;
	size_t ndests;
};

static void plan_free(struct plan *pl)
{
	free(pl->want.svcs);
	free(pl->have.svcs);
	free(pl->prev.svcs);
	free(pl->reqs);
	lvs_ops_free(&pl->ops);
}

static void want_fill(struct vs_rt *v)
{
	v->want.ndests = lvs_service_want(v->conf, v->rs, v->has_quorum, &v->want.svc, v->want.dests);
}

static int plan_build(struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone, struct plan *pl)
{
	size_t k = 0;
	int ret;

	memset(pl, 0, sizeof(*pl));
	pl->want.svcs = calloc(n + 1, sizeof(*pl->want.svcs));
	pl->have.svcs = calloc(n + ngone + 1, sizeof(*pl->have.svcs));
	pl->prev.svcs = calloc(ngone + 1, sizeof(*pl->prev.svcs));
	if (!pl->want.svcs || !pl->have.svcs || !pl->prev.svcs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		want_fill(set[i]);
		pl->want.svcs[i] = set[i]->want;	/* shallow: the dests stay the service's */
		pl->ndests += set[i]->want.ndests;
		if (set[i]->present)
			pl->have.svcs[k++] = set[i]->have;
	}
	for (size_t i = 0; i < ngone; i++) {
		pl->prev.svcs[i].svc = gone[i]->key;
		if (gone[i]->present)
			pl->have.svcs[k++] = gone[i]->have;
	}
	pl->want.n = n;
	pl->have.n = k;
	pl->prev.n = ngone;
	if ((ret = lvs_table_sort(&pl->want)) < 0 || (ret = lvs_table_sort(&pl->have)) < 0 ||
	    (ret = lvs_table_sort(&pl->prev)) < 0)
		return ret;
	if ((ret = lvs_diff(&pl->want, &pl->have, ngone ? &pl->prev : NULL, &pl->ops)) < 0)
		return ret;
	if (!(pl->reqs = calloc(pl->ops.n + 1, sizeof(*pl->reqs))))
		return -ENOMEM;
	for (size_t i = 0; i < pl->ops.n; i++)
		pl->reqs[i] = (struct ipvs_request){ req_of[pl->ops.items[i].type], pl->ops.items[i].svc,
						     pl->ops.items[i].dest, 0 };
	return 0;
}

/* A failed request, in words. Only the first failure of a service in a
 * batch can be the cause (the rest usually follow from it: no service,
 * no destination), and the same first failure on a retry is no news:
 * those go at debug level. */
static void op_failed(struct vs_rt *v, const struct lvs_op *op, int err, bool gone)
{
	char svc[96], a[INET6_ADDRSTRLEN];
	char what[160];
	bool first = gone || !v->failed;

	if (op->dest)
		snprintf(what, sizeof(what), "%s %s:%u", op_words[op->type], ipaddr_ntop(&op->dest->addr, a, sizeof(a)),
			 op->dest->port);
	else
		snprintf(what, sizeof(what), "%s", op_words[op->type]);
	if (first && (gone || v->err != err))
		log_warnx("ipvs: %s (%s): %s: %s", v->conf->name, ipvs_service_name(op->svc, svc, sizeof(svc)), what,
			  ipvs_strerror(err));
	else
		log_debug("ipvs: %s: %s: %s", v->conf->name, what, ipvs_strerror(err));
	if (first)
		v->err = err;
	if (!gone)
		v->failed = true;
}

static void have_from_want(struct vs_rt *v)
{
	if (v->have_cap < v->want.ndests) {
		struct ipvs_dest *p = realloc(v->have.dests, (v->want.ndests + 1) * sizeof(*p));

		if (!p) {
			v->resync = true;	/* belief unknown: read the kernel next time */
			return;
		}
		v->have.dests = p;
		v->have_cap = v->want.ndests + 1;
	}
	v->have.svc = v->want.svc;
	if (v->want.ndests)
		memcpy(v->have.dests, v->want.dests, v->want.ndests * sizeof(*v->have.dests));
	v->have.ndests = v->want.ndests;
	v->present = true;
}

/* Send the batch; count failures; update the belief of the services
 * whose requests all went through, re-read the others later. */
static unsigned plan_apply(struct lvs_engine *e, struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone,
			   struct plan *pl)
{
	int ret = pl->ops.n ? ipvs_apply(e->ipvs, pl->reqs, pl->ops.n) : 0;
	unsigned failed = 0;

	for (size_t i = 0; i < n; i++)
		set[i]->failed = false;
	if (ret < 0) {
		log_warnx("ipvs: sending %zu operation(s): %s", pl->ops.n, ipvs_strerror(ret));
		for (size_t i = 0; i < n; i++)
			set[i]->failed = true;
		failed = (unsigned)pl->ops.n;
	}
	for (size_t i = 0; ret >= 0 && i < pl->ops.n; i++) {
		const struct lvs_op *op = &pl->ops.items[i];
		bool is_gone = op->type == LVS_OP_SERVICE_DEL;
		struct vs_rt *v = is_gone ? find_key(gone, ngone, op->svc) : find_key(set, n, op->svc);

		if (!pl->reqs[i].result || !v)
			continue;
		failed++;
		op_failed(v, op, pl->reqs[i].result, is_gone);
	}
	for (size_t i = 0; i < n; i++) {
		struct vs_rt *v = set[i];

		if (!v->failed) {
			have_from_want(v);
			v->err = 0;
		} else {
			v->resync = true;
			if (!ev_timer_armed(&e->retry_timer))
				ev_timer_start(e->loop, &e->retry_timer, IPVS_RETRY_MS);
		}
	}
	return failed;
}

/* Make the kernel hold what set wants (and nothing of gone). set and
 * gone are sorted here. summary: log what was done. */
static void reconcile(struct lvs_engine *e, struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone,
		      const char *summary)
{
	struct plan pl;
	size_t nresync = 0;
	unsigned failed;
	int ret;

	/* A summary is logged even for nothing: a reload that changed
	 * nothing says so. */
	if (!e->ipvs || (n + ngone == 0 && !summary))
		return;
	for (size_t i = 0; i < n; i++)
		if (set[i]->resync)
			e->scratch[nresync++] = set[i];
	if (nresync && (ret = kernel_read(e, e->scratch, nresync)) < 0)
		log_warnx("ipvs: reading the services: %s", ipvs_strerror(ret));
	if (n > 1)
		qsort(set, n, sizeof(*set), key_cmp);
	if (ngone > 1)
		qsort(gone, ngone, sizeof(*gone), key_cmp);
	ret = plan_build(set, n, gone, ngone, &pl);
	if (ret < 0) {
		log_warnx("ipvs: cannot plan the changes: %s", ret == -EINVAL ? "two services with one key" :
			  strerror(-ret));
		plan_free(&pl);
		return;
	}
	failed = plan_apply(e, set, n, gone, ngone, &pl);
	/* A periodic pass that only retried what keeps failing repaired nothing. */
	if (summary && (pl.ops.n > failed || strcmp(summary, "repaired drift") != 0))
		log_info("ipvs: %s: %zu service(s), %zu destination(s): %zu operation(s) (%u failed)", summary, n,
			 pl.ndests, pl.ops.n, failed);
	else
		log_debug("ipvs: %zu service(s): %zu operation(s) (%u failed)", n, pl.ops.n, failed);
	plan_free(&pl);
}

/* Every service: at start, after a reload, periodically. */
static void reconcile_all(struct lvs_engine *e, struct vs_rt **gone, size_t ngone, const char *summary)
{
	struct vs_rt **set = calloc(e->nvs + 1, sizeof(*set));

	if (!set) {
		log_warnx("ipvs: out of memory");
		return;
	}
	memcpy(set, e->vs, e->nvs * sizeof(*set));
	dirty_clear(e);
	reconcile(e, set, e->nvs, gone, ngone, summary);
	free(set);
}

static void flush_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;
	size_t n = e->ndirty;
	struct vs_rt **set = calloc(n + 1, sizeof(*set));

	(void)loop;
	(void)t;
	if (!set) {
		ev_timer_start(e->loop, &e->flush_timer, IPVS_RETRY_MS);
		return;
	}
	memcpy(set, e->dirty, n * sizeof(*set));
	dirty_clear(e);
	reconcile(e, set, n, NULL, 0, NULL);
	free(set);
}

static void retry_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;

	(void)loop;
	(void)t;
	for (size_t i = 0; i < e->nvs; i++)
		if (e->vs[i]->resync)
			mark_dirty(e->vs[i]);
}

static void reconcile_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;
	int ret;

	(void)t;
	if (e->ipvs && (ret = kernel_read(e, e->vs, e->nvs)) < 0)
		log_warnx("ipvs: reading the services: %s", ipvs_strerror(ret));
	else if (e->ipvs)
		reconcile_all(e, NULL, 0, "repaired drift");
	if (e->ipvs && e->sync.settled)
		sync_apply(e, NULL, NULL);
	if (e->cfg->lvs.reconcile_interval_ms)
		ev_timer_start(loop, &e->reconcile_timer, e->cfg->lvs.reconcile_interval_ms);
}

static void open_cb(struct evloop *loop, struct ev_timer *t, void *arg);

/* Open IPVS; when the kernel has none (yet), say so once and retry. */
static void ipvs_try_open(struct lvs_engine *e)
{
	int ret = ipvs_open(&e->ipvs);

	if (ret < 0) {
		if (ret != e->ipvs_err)
			log_warnx("ipvs: %s; trying again every %d s (checks go on)", ipvs_strerror(ret),
				  IPVS_RETRY_MS / 1000);
		e->ipvs_err = ret;
		ev_timer_start(e->loop, &e->open_timer, IPVS_RETRY_MS);
		return;
	}
	if ((ret = kernel_read(e, e->vs, e->nvs)) < 0) {
		/* Without knowing what is there, adding could only fail. */
		if (ret != e->ipvs_err)
			log_warnx("ipvs: reading the services: %s; trying again every %d s", ipvs_strerror(ret),
				  IPVS_RETRY_MS / 1000);
		ipvs_close(e->ipvs);
		e->ipvs = NULL;
		e->ipvs_err = ret;
		ev_timer_start(e->loop, &e->open_timer, IPVS_RETRY_MS);
		return;
	}
	if (e->ipvs_err)
		log_info("ipvs: available now");
	e->ipvs_err = 0;
	adopt(e);
	reconcile_all(e, NULL, 0, "start");
	timeouts_apply(e);
	if (e->sync.settled)
		sync_apply(e, NULL, "start");
	if (e->cfg->lvs.reconcile_interval_ms)
		ev_timer_start(e->loop, &e->reconcile_timer, e->cfg->lvs.reconcile_interval_ms);
}

static void open_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	ipvs_try_open(arg);
}

/* ---- the sync daemon and the timeouts ---- */

/* Does a state change of instance concern the sync daemon? */
static bool sync_follows(const struct lvs_engine *e, const char *instance)
{
	const char *follow = e->cfg->lvs.sync.follow;

	if (!e->cfg->lvs.sync.interface || !follow)
		return false;
	if (strcasecmp(follow, instance) == 0)
		return true;
	for (const struct sync_group_conf *g = e->cfg->sync_groups; g; g = g->next) {
		if (strcasecmp(g->name, follow) != 0)
			continue;
		for (size_t i = 0; i < g->instances.n; i++)
			if (strcasecmp(g->instances.items[i], instance) == 0)
				return true;
	}
	return false;
}

struct daemon_list {
	struct ipvs_daemon items[2];	/* the kernel runs one per state */
	size_t n;
};

static int daemon_push(const struct ipvs_daemon *d, void *arg)
{
	struct daemon_list *l = arg;

	if (l->n < ARRAY_SIZE(l->items))
		l->items[l->n++] = *d;
	return 0;
}

/* Stop the daemon of that state; one already gone is stopped. The kernel
 * leaves the stop unanswered when the daemon's thread never ran (its
 * handler returns EINTR, which netlink does not acknowledge): after the
 * request's bound, whether it stopped is read back. */
static int sync_stop(struct lvs_engine *e, uint32_t state)
{
	struct daemon_list dl = { .n = 0 };
	int ret = ipvs_daemon_del(e->ipvs, state);

	if (ret == -ESRCH)
		return 0;
	if (ret != -ETIMEDOUT || ipvs_daemons(e->ipvs, daemon_push, &dl) < 0)
		return ret;
	for (size_t i = 0; i < dl.n; i++)
		if (dl.items[i].state == state)
			return ret;
	log_info("ipvs: sync daemon: the kernel did not answer the stop of the %s daemon; read back: stopped",
		 state == IPVS_DAEMON_MASTER ? "master" : "backup");
	return 0;
}

/* Say it once per new error, and try again later. */
static void sync_failed(struct lvs_engine *e, const char *what, int err)
{
	if (err != e->sync.err || strcmp(what, e->sync.err_what) != 0)
		log_warnx("ipvs: sync daemon: %s: %s; trying again every %d s", what, ipvs_daemon_strerror(err),
			  IPVS_RETRY_MS / 1000);
	e->sync.err = err;
	strlcpy_safe(e->sync.err_what, what, sizeof(e->sync.err_what));
	ev_timer_start(e->loop, &e->sync.timer, IPVS_RETRY_MS);
}

/* Why the daemon is in the state it is, for the log. */
static const char *sync_reason(const struct lvs_engine *e, const struct inst_state *is, char *buf, size_t size)
{
	const char *follow = e->cfg->lvs.sync.follow;

	if (!e->cfg->lvs.sync.interface)
		snprintf(buf, size, "ipvs_sync_interface removed");
	else if (is)
		snprintf(buf, size, "%s is %s", follow, vrrp_state_name(is->state));
	else
		snprintf(buf, size, "the state of %s is not known yet", follow);
	return buf;
}

/* Make the kernel run the daemon the configuration and the VRRP state ask
 * for, changing only the difference. prev: the configuration before a
 * reload (its daemon is ours to stop), or NULL. why: "start", "reload",
 * "vrrp", "retry", or NULL for a periodic check (quiet when nothing
 * changes). */
static void sync_apply(struct lvs_engine *e, const struct lvs_config *prev, const char *why)
{
	const struct lvs_config *lvs = &e->cfg->lvs;
	const struct inst_state *is = lvs->sync.follow ? vrrp_of(e, lvs->sync.follow) : NULL;
	struct daemon_list dl = { .n = 0 };
	struct lvs_sync_plan plan;
	struct ipvs_daemon want;
	char text[160], reason[96];
	bool has_want;
	int ret;

	/* Without the keys, now and before, the kernel's daemons are not ours. */
	if (!e->ipvs || (!lvs->sync.interface && !(prev && prev->sync.interface)))
		return;
	has_want = lvs_sync_daemon_conf(lvs, lvs_sync_wanted_state(is != NULL, is ? is->state : VRRP_STATE_INIT),
					&want);
	sync_reason(e, is, reason, sizeof(reason));
	if ((ret = ipvs_daemons(e->ipvs, daemon_push, &dl)) < 0) {
		sync_failed(e, "reading the running daemons", ret);
		return;
	}
	lvs_sync_plan(has_want ? &want : NULL, dl.items, dl.n, &plan);
	for (size_t i = 0; i < dl.n; i++) {
		if (!(plan.stop & dl.items[i].state))
			continue;
		ret = sync_stop(e, dl.items[i].state);
		if (ret < 0) {
			sync_failed(e, dl.items[i].state == IPVS_DAEMON_MASTER ? "stopping the master" :
				    "stopping the backup", ret);
			return;
		}
		log_info("ipvs: sync daemon: stopped %s (%s)", ipvs_daemon_text(&dl.items[i], text, sizeof(text)),
			 reason);
	}
	if (plan.start) {
		ret = ipvs_daemon_add(e->ipvs, &want);
		/* One of that state came meanwhile: make it so, it is checked
		 * again on the next change. */
		if (ret < 0 && ret != -EEXIST) {
			sync_failed(e, want.state == IPVS_DAEMON_MASTER ? "starting the master" : "starting the backup",
				    ret);
			return;
		}
		log_info("ipvs: sync daemon: %s (%s)", ipvs_daemon_text(&want, text, sizeof(text)), reason);
	} else if (has_want && (!e->sync.applied || (why && strcmp(why, "reload") == 0))) {
		log_info("ipvs: sync daemon: %s already runs as wanted: left as it is (%s)",
			 ipvs_daemon_text(&want, text, sizeof(text)), reason);
	} else if (has_want) {
		log_debug("ipvs: sync daemon: %s, unchanged (%s)", ipvs_daemon_text(&want, text, sizeof(text)), reason);
	}
	if (e->sync.err)
		log_info("ipvs: sync daemon: in step again");
	e->sync.applied = true;
	e->sync.err = 0;
	e->sync.err_what[0] = '\0';
}

/* ipvs_on_stop = remove: the daemon goes with the services. */
static void sync_stop_all(struct lvs_engine *e)
{
	struct daemon_list dl = { .n = 0 };
	char text[160];
	int ret;

	if (!e->cfg->lvs.sync.interface || ipvs_daemons(e->ipvs, daemon_push, &dl) < 0)
		return;
	for (size_t i = 0; i < dl.n; i++) {
		if ((ret = sync_stop(e, dl.items[i].state)) < 0)
			log_warnx("ipvs: sync daemon: stopping %s: %s", ipvs_daemon_text(&dl.items[i], text, sizeof(text)),
				  ipvs_daemon_strerror(ret));
		else
			log_info("ipvs: ipvs_on_stop = remove: sync daemon stopped (%s)",
				 ipvs_daemon_text(&dl.items[i], text, sizeof(text)));
	}
}

static void sync_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;
	bool first = !e->sync.settled;

	(void)loop;
	(void)t;
	e->sync.settled = true;
	sync_apply(e, NULL, first ? "start" : "retry");
}

/* Set the timeouts the configuration gives, when the kernel has others. */
static void timeouts_apply(struct lvs_engine *e)
{
	struct ipvs_timeouts want, have;
	int ret;

	if (!e->ipvs || !lvs_timeouts_conf(&e->cfg->lvs, &want))
		return;
	if (ipvs_timeouts_get(e->ipvs, &have) == 0 && (!want.tcp || want.tcp == have.tcp) &&
	    (!want.tcp_fin || want.tcp_fin == have.tcp_fin) && (!want.udp || want.udp == have.udp)) {
		log_debug("ipvs: timeouts already as configured");
		return;
	}
	if ((ret = ipvs_timeouts_set(e->ipvs, &want)) < 0) {
		log_warnx("ipvs: setting the timeouts: %s", ipvs_strerror(ret));
		return;
	}
	log_info("ipvs: timeouts set: tcp %u s, tcp_fin %u s, udp %u s (0: the kernel's left as it was)", want.tcp,
		 want.tcp_fin, want.udp);
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
		qsort(sorted, n, sizeof(*sorted), key_cmp);
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
		     struct lvs_engine **out)
{
	struct lvs_engine *e = calloc(1, sizeof(*e));
	size_t n = 0;

	if (!e)
		return -ENOMEM;
	e->loop = loop;
	e->cfg = cfg;
	ev_timer_init(&e->open_timer, open_cb, e);
	ev_timer_init(&e->flush_timer, flush_cb, e);
	ev_timer_init(&e->retry_timer, retry_cb, e);
	ev_timer_init(&e->reconcile_timer, reconcile_timer_cb, e);
	ev_timer_init(&e->sync.timer, sync_timer_cb, e);
	/* Nothing to wait for without a sync daemon. */
	e->sync.settled = !cfg->lvs.sync.interface;
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
		eval_service(e->vs[i], false);
	ipvs_try_open(e);
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
	failed = n ? ipvs_apply(e->ipvs, reqs, n) : 0;
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
	for (size_t i = 0; i < e->nvs; i++) {
		for (size_t j = 0; j < e->vs[i]->nrs; j++) {
			probe_clear(&e->vs[i]->rt[j]->check);
			probe_clear(&e->vs[i]->rt[j]->agent);
		}
	}
	if (e->ipvs && e->cfg->lvs.on_stop == LVS_STOP_REMOVE) {
		remove_services(e);
		sync_stop_all(e);
	} else if (e->ipvs) {
		log_info("ipvs: ipvs_on_stop = keep: our services%s stay in the kernel as they are",
			 e->cfg->lvs.sync.interface ? " and the sync daemon" : "");
	}
	for (size_t i = 0; i < e->nvs; i++)
		vs_free(e->vs[i]);
	ipvs_close(e->ipvs);
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
static int rr_respec(struct lvs_engine *e, struct vs_rt *v, struct rs_rt *rr, struct lvs_rs_state *st)
{
	struct probe fresh[2];
	struct probe *old[2] = { &rr->check, &rr->agent };
	bool in_table = rr->weight >= 0 && rr->verdict != LVS_RS_DOWN;
	int ret = 0;

	for (int k = 0; k < 2; k++) {
		memset(&fresh[k], 0, sizeof(fresh[k]));
		fresh[k].rr = rr;
		if ((ret = probe_build(e, v->conf, st->conf, k == 1, &fresh[k])) < 0) {
			probe_clear(&fresh[k]);
			return ret;
		}
		if (probe_same(old[k], &fresh[k])) {
			probe_clear(&fresh[k]);
			continue;
		}
		probe_clear(old[k]);
		*old[k] = fresh[k];
		if (old[k]->spec.env)
			old[k]->spec.env = old[k]->env;	/* not the copy's on the stack */
		st->adopted = in_table;
		st->adopted_at_zero = in_table && rr->weight == 0;
		if (k == 0) {
			memset(&st->check, 0, sizeof(st->check));
			st->dynamic_weight = -1;
		} else {
			memset(&st->agent_health, 0, sizeof(st->agent_health));
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
	size_t n = c->real_servers.n;
	struct lvs_rs_state *rs;
	struct ipvs_dest *want;
	struct rs_rt **rt;
	int ret = 0;

	if (vs_alloc_arrays(n, &rs, &rt, &want) < 0)
		return -ENOMEM;
	v->conf = c;
	for (size_t j = 0; j < n; j++) {
		const struct real_server_conf *rc = &c->real_servers.items[j];

		for (size_t i = 0; i < v->nrs && !rt[j]; i++) {
			if (v->rt[i] && rs_same_key(v->rs[i].conf, rc)) {
				rt[j] = v->rt[i];
				rs[j] = v->rs[i];
				v->rt[i] = NULL;
			}
		}
		if (rt[j]) {
			rt[j]->index = j;
			rs[j].conf = rc;
			if (ret == 0)
				ret = rr_respec(e, v, rt[j], &rs[j]);
		} else {
			rs_state_init(&rs[j], rc);
			if (!(rt[j] = rr_new(e, v, rc, j)))
				ret = -ENOMEM;
		}
	}
	for (size_t i = 0; i < v->nrs; i++) {
		char name[NAME_MAX_LEN];

		if (!v->rt[i])
			continue;
		log_info("%s %s: no longer a real server of the service", c->name, rs_name(v, i, name, sizeof(name)));
		rr_free(v->rt[i]);
	}
	free(v->rt);
	free(v->rs);
	free(v->want.dests);
	v->rt = rt;
	v->rs = rs;
	v->want.dests = want;
	v->nrs = n;
	for (size_t j = 0; j < n; j++)
		if (!rt[j])
			v->nrs = j;	/* out of memory: keep what is whole */
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
		v = find_key(e->sorted, e->nvs, &key);
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
		v = find_key(e->sorted, e->nvs, &key);
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
			probe_start(e, &e->vs[i]->rt[j]->check, e->nprobes);
			probe_start(e, &e->vs[i]->rt[j]->agent, e->nprobes);
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

	if (!fresh || !gone || !set || !fate) {
		free(fresh);
		free(gone);
		free(set);
		free(fate);
		return -ENOMEM;
	}
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
	dirty_clear(e);
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
			eval_service(e->vs[i], fate[i] == VS_CHANGED);
	dirty_clear(e);
	log_info("reload: %zu virtual server(s) unchanged, %zu changed, %zu new, %zu removed", count.n[VS_UNCHANGED],
		 count.n[VS_CHANGED], count.n[VS_NEW], count.gone);
	reconcile(e, set, nset, gone, count.gone, "reload");
	for (size_t i = 0; i < count.gone; i++)
		vs_free(gone[i]);
	reload_probes(e, fate);
	ev_timer_stop(e->loop, &e->reconcile_timer);
	if (e->ipvs && cfg->lvs.reconcile_interval_ms)
		ev_timer_start(e->loop, &e->reconcile_timer, cfg->lvs.reconcile_interval_ms);
	timeouts_apply(e);
	/* The old file is still there: keys that went stop its daemon. */
	if (!cfg->lvs.sync.interface)
		e->sync.settled = true;
	if (e->sync.settled)
		sync_apply(e, &prev->lvs, "reload");
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
	if (sync_follows(e, instance)) {
		e->sync.settled = true;
		ev_timer_stop(e->loop, &e->sync.timer);
		sync_apply(e, NULL, "vrrp");
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
static const struct inst_state *vrrp_of(const struct lvs_engine *e, const char *name)
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
		log_info("%s %s: %s by directorctl", v->conf->name, rs_name(v, i, name, sizeof(name)),
			 admin == LVS_ADMIN_DRAINED ? "drained" : "enabled");
	v->rs[i].admin = admin;
	rs_update(v, v->rt[i], true);
	return 0;
}

/* ---- status ---- */

/* The kernel's view of one service at status time, for the counters. */
struct kview {
	struct lvs_service s;
	size_t cap;
	bool ok;
};

static int kview_push(const struct ipvs_dest *d, void *arg)
{
	struct kview *k = arg;

	if (k->s.ndests == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct ipvs_dest *p = realloc(k->s.dests, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->s.dests = p;
		k->cap = cap;
	}
	k->s.dests[k->s.ndests++] = *d;
	return 0;
}

static void kview_read(const struct lvs_engine *e, const struct vs_rt *v, struct kview *k)
{
	int ret;

	k->s.ndests = 0;
	k->ok = false;
	if (!e->ipvs || e->nvs > STATUS_DUMP_MAX || !v->present)
		return;
	if ((ret = ipvs_dests(e->ipvs, &v->have.svc, kview_push, k)) < 0) {
		log_debug("ipvs: %s: reading the counters: %s", v->conf->name, ipvs_strerror(ret));
		return;
	}
	if (k->s.ndests > 1)
		qsort(k->s.dests, k->s.ndests, sizeof(*k->s.dests), qsort_dest);
	k->ok = true;
}

/* The kernel's entry for real server i: from the status-time read when
 * there is one, else from what we believe. */
static const struct ipvs_dest *kernel_dest(const struct vs_rt *v, size_t i, const struct kview *k)
{
	struct ipvs_dest key;

	real_server_dest(v->conf, v->rs[i].conf, 0, &key);
	if (k->ok)
		return find_dest(&k->s, &key);
	return v->present ? find_dest(&v->have, &key) : NULL;
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
	json_string(j, "type", check_name(pr->spec.type));
	json_string(j, "target", pr->hp ? hc_probe_target(pr->hp) : NULL);
	json_bool(j, "up", h->rf.up);
	json_bool(j, "known", h->rf.known);
	json_uint(j, "passes", h->passes);
	json_uint(j, "fails", h->fails);
	json_string(j, "reason", h->rf.known ? h->reason : pr->err ? strerror(-pr->err) : NULL);
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
	if (st->have_agent && (n = agent_reply_format(&st->agent, line, sizeof(line))) > 0) {
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
	const struct rs_rt *rr = v->rt[i];
	const struct ipvs_dest *d = kernel_dest(v, i, k);
	char name[NAME_MAX_LEN], why[LVS_REASON_MAX + 16];
	const char *w;
	int weight;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &weight, &w);

	snprintf(why, sizeof(why), "%s%s", why_prefix(st, w), w);
	json_object_begin(j, NULL);
	json_string(j, "server", rs_name(v, i, name, sizeof(name)));
	json_uint(j, "weight_configured", st->conf->weight);
	json_int(j, "weight", d ? d->weight : -1);
	json_string(j, "state", verdict_name(vd));
	json_string(j, "why", why);
	if (rr->check.spec.type != LVS_CHECK_NONE)
		health_json(j, "check", &rr->check, &st->check);
	else if (rr->agent.spec.type != LVS_CHECK_NONE && v->conf->check == LVS_CHECK_AGENT)
		health_json(j, "check", &rr->agent, &st->agent_health);
	else
		json_null(j, "check");
	if (rr->agent.spec.type != LVS_CHECK_NONE)
		agent_json(j, st);
	else
		json_null(j, "agent");
	json_string(j, "admin", st->admin == LVS_ADMIN_DRAINED ? "drained" : "enabled");
	if (k->ok && d) {
		json_uint(j, "active_conns", d->active_conns);
		json_uint(j, "inactive_conns", d->inact_conns);
	} else {
		json_null(j, "active_conns");
		json_null(j, "inactive_conns");
	}
	json_object_end(j);
}

static void vs_json(struct json *j, const struct lvs_engine *e, const struct vs_rt *v, struct kview *k)
{
	const struct inst_state *is = v->conf->vrrp ? vrrp_of(e, v->conf->vrrp) : NULL;
	char buf[160];

	kview_read(e, v, k);
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

/* What is wanted and what runs (read now), for both status forms. */
struct sync_view {
	bool configured, has_want, read_ok;
	const struct inst_state *is;
	struct ipvs_daemon want;
	struct daemon_list running;
	bool in_step;
};

static void sync_view(const struct lvs_engine *e, struct sync_view *sv)
{
	const struct lvs_config *lvs = &e->cfg->lvs;
	struct lvs_sync_plan plan;

	memset(sv, 0, sizeof(*sv));
	sv->configured = lvs->sync.interface != NULL;
	if (!sv->configured)
		return;
	sv->is = lvs->sync.follow ? vrrp_of(e, lvs->sync.follow) : NULL;
	sv->has_want = lvs_sync_daemon_conf(lvs, lvs_sync_wanted_state(sv->is != NULL,
					    sv->is ? sv->is->state : VRRP_STATE_INIT), &sv->want);
	sv->read_ok = e->ipvs && ipvs_daemons(e->ipvs, daemon_push, &sv->running) == 0;
	lvs_sync_plan(&sv->want, sv->running.items, sv->running.n, &plan);
	sv->in_step = sv->read_ok && !plan.stop && !plan.start;
}

static void sync_status_json(const struct lvs_engine *e, struct json *j)
{
	struct sync_view sv;

	sync_view(e, &sv);
	if (!sv.configured) {
		json_null(j, "sync_daemon");
		return;
	}
	json_object_begin(j, "sync_daemon");
	json_string(j, "follow", e->cfg->lvs.sync.follow);
	json_string(j, "vrrp_state", sv.is ? vrrp_state_name(sv.is->state) : NULL);
	json_string(j, "wanted", sv.want.state == IPVS_DAEMON_MASTER ? "master" : "backup");
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

	sync_view(e, &sv);
	if (!sv.configured)
		return;
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

	if (!e->ipvs || ipvs_timeouts_get(e->ipvs, &t) < 0) {
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
	sync_status_json(e, j);
	timeouts_status(e, j, NULL);
	json_array_begin(j, "virtual_servers");
	for (size_t i = 0; i < e->nvs; i++)
		vs_json(j, e, e->vs[i], &k);
	json_array_end(j);
	free(k.s.dests);
}

static void rs_text(struct strbuf *out, const struct vs_rt *v, size_t i, const struct kview *k)
{
	const struct lvs_rs_state *st = &v->rs[i];
	const struct rs_rt *rr = v->rt[i];
	const struct ipvs_dest *d = kernel_dest(v, i, k);
	const struct probe *pr = rr->check.spec.type != LVS_CHECK_NONE ? &rr->check : &rr->agent;
	const struct lvs_health *h = pr == &rr->check ? &st->check : &st->agent_health;
	char name[NAME_MAX_LEN], kw[16], conns[32] = "-";
	const char *why;
	int w;
	enum lvs_rs_verdict vd = lvs_rs_evaluate(v->conf, st, &w, &why);

	if (k->ok && d)
		snprintf(conns, sizeof(conns), "%u/%u", d->active_conns, d->inact_conns);
	snprintf(kw, sizeof(kw), "%d/%u", d ? d->weight : -1, st->conf->weight);
	sb_printf(out, "  %-24s %-5s %-9s %-11s %s%s%s", rs_name(v, i, name, sizeof(name)), verdict_name(vd), kw,
		  conns, why_prefix(st, why), why, st->admin == LVS_ADMIN_DRAINED ? " [drained]" : "");
	if (pr->spec.type != LVS_CHECK_NONE)
		sb_printf(out, "\n  %-24s %s: %llu passes, %llu fails", "", pr->hp ? hc_probe_target(pr->hp) :
			  check_name(pr->spec.type), (unsigned long long)h->passes, (unsigned long long)h->fails);
	if (rr->agent.spec.type != LVS_CHECK_NONE && pr != &rr->agent)
		sb_printf(out, "; agent %s", st->have_agent ? st->agent_health.reason :
			  st->agent_health.rf.known ? "unreachable" : "not heard yet");
	sb_append(out, "\n");
}

void lvs_engine_status_text(struct lvs_engine *e, struct strbuf *out)
{
	struct kview k = { 0 };
	char buf[160], svc[96];

	ipvs_word(e, NULL, buf, sizeof(buf));
	sb_printf(out, "ipvs: %s\n", buf);
	sync_status_text(e, out);
	timeouts_status(e, NULL, out);
	for (size_t i = 0; i < e->nvs; i++) {
		const struct vs_rt *v = e->vs[i];
		const struct inst_state *is = v->conf->vrrp ? vrrp_of(e, v->conf->vrrp) : NULL;

		kview_read(e, v, &k);
		ipvs_word(e, v, buf, sizeof(buf));
		sb_printf(out, "virtual_server %s: %s %s", v->conf->name, ipvs_service_name(&v->key, svc, sizeof(svc)),
			  v->conf->scheduler);
		if (v->conf->vrrp)
			sb_printf(out, ", vrrp %s %s", v->conf->vrrp, is ? vrrp_state_name(is->state) : "unknown");
		sb_printf(out, ", quorum %s%s, ipvs %s\n", v->has_quorum ? "yes" : "no",
			  !v->has_quorum && v->conf->sorry_server.addr.family ? " (sorry server in use)" : "", buf);
		sb_printf(out, "  %-24s %-5s %-9s %-11s %s\n", "server", "state", "weight", "conns", "why");
		for (size_t r = 0; r < v->nrs; r++)
			rs_text(out, v, r, &k);
	}
	free(k.s.dests);
}
