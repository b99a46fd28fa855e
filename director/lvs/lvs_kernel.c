/* The LVS engine and the kernel: its IPVS table read (adopting what a
 * previous run left), and the difference between what the engine wants
 * and what the kernel holds written in batches, retried after a failure.
 * See lvs_engine.c for the belief (`have`) this keeps up to date. */
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
	struct vs_rt *v = lve_find_key(e->sorted, e->nvs, s);

	(void)st;
	if (v && v->reading) {
		v->have.svc = *s;
		v->seen = true;
	}
	return 0;
}

static int read_dest(const struct ipvs_dest *d, const struct ipvs_dest_counters *c, void *arg)
{
	(void)c;
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
	ret = e->k->services(e->ipvs, read_service, e);
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
		if (e->k->dests(e->ipvs, &v->have.svc, read_dest, v) < 0) {
			/* Gone between the two reads, or no memory: try again later. */
			v->have.ndests = 0;
			v->present = false;
			v->resync = true;
		}
		if (v->have.ndests > 1)
			qsort(v->have.dests, v->have.ndests, sizeof(*v->have.dests), lve_qsort_dest);
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
			found = lve_find_dest(&v->have, &d);
			if (found && !v->rs[j].check.rf.known && !v->rs[j].agent_health.rf.known) {
				v->rs[j].adopted = true;
				v->rs[j].adopted_at_zero = found->weight == 0;
				n++;
			}
		}
		lve_eval_service(v, false);
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
	struct ipvs_dest *want_dests;	/* the services' want.dests point here */
	struct lvs_ops ops;
	struct ipvs_request *reqs;
	size_t ndests;
};

static void plan_free(struct plan *pl)
{
	free(pl->want_dests);
	free(pl->want.svcs);
	free(pl->have.svcs);
	free(pl->prev.svcs);
	free(pl->reqs);
	lvs_ops_free(&pl->ops);
}

/* What the service wants, into room for its servers and the sorry one. */
static void want_fill(struct vs_rt *v, struct ipvs_dest *room)
{
	v->want.dests = room;
	v->want.ndests = lvs_service_want(v->conf, v->rs, v->has_quorum, &v->want.svc, room);
}

static int plan_build(struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone, struct plan *pl)
{
	size_t k = 0, room = 0;
	int ret;

	memset(pl, 0, sizeof(*pl));
	for (size_t i = 0; i < n; i++)
		room += set[i]->nrs + 1;
	pl->want_dests = calloc(room + 1, sizeof(*pl->want_dests));
	pl->want.svcs = calloc(n + 1, sizeof(*pl->want.svcs));
	pl->have.svcs = calloc(n + ngone + 1, sizeof(*pl->have.svcs));
	pl->prev.svcs = calloc(ngone + 1, sizeof(*pl->prev.svcs));
	if (!pl->want_dests || !pl->want.svcs || !pl->have.svcs || !pl->prev.svcs)
		return -ENOMEM;
	room = 0;
	for (size_t i = 0; i < n; i++) {
		want_fill(set[i], pl->want_dests + room);
		room += set[i]->nrs + 1;
		pl->want.svcs[i] = set[i]->want;	/* shallow: the dests are the plan's want_dests */
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
	int ret = pl->ops.n ? e->k->apply(e->ipvs, pl->reqs, pl->ops.n) : 0;
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
		struct vs_rt *v = is_gone ? lve_find_key(gone, ngone, op->svc) : lve_find_key(set, n, op->svc);

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

/* One plan for set (and gone), sent. ops, ndests and failed add up. */
static int reconcile_part(struct lvs_engine *e, struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone,
			  size_t *ops, size_t *ndests, unsigned *failed)
{
	struct plan pl;
	int ret = plan_build(set, n, gone, ngone, &pl);

	if (ret < 0) {
		log_warnx("ipvs: cannot plan the changes: %s", ret == -EINVAL ? "two services with one key" :
			  strerror(-ret));
	} else {
		*failed += plan_apply(e, set, n, gone, ngone, &pl);
		*ops += pl.ops.n;
		*ndests += pl.ndests;
	}
	for (size_t i = 0; i < n; i++) {
		set[i]->want.dests = NULL;	/* the plan's */
		set[i]->want.ndests = 0;
	}
	plan_free(&pl);
	return ret;
}

/* Make the kernel hold what set wants (and nothing of gone). set and
 * gone are sorted here. summary: log what was done. A plan covers at most
 * RECONCILE_PART services: the whole table at start is planned and sent
 * in parts, so what a plan holds (the wanted entries, the operations,
 * the requests) is a part's, not the table's, at the engine's peak. */
void lve_reconcile(struct lvs_engine *e, struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone,
		      const char *summary)
{
	size_t nresync = 0, ops = 0, ndests = 0;
	unsigned failed = 0;
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
		qsort(set, n, sizeof(*set), lve_key_cmp);
	if (ngone > 1)
		qsort(gone, ngone, sizeof(*gone), lve_key_cmp);
	/* Deletions of whole services go with the last part. */
	for (size_t off = 0; off < n || (off == 0 && ngone); off += RECONCILE_PART) {
		size_t len = n - off < RECONCILE_PART ? n - off : RECONCILE_PART;
		bool last = off + len >= n;

		if (reconcile_part(e, set + off, len, last ? gone : NULL, last ? ngone : 0, &ops, &ndests, &failed) < 0)
			return;
	}
	/* A periodic pass that only retried what keeps failing repaired nothing. */
	if (summary && (ops > failed || strcmp(summary, "repaired drift") != 0))
		log_info("ipvs: %s: %zu service(s), %zu destination(s): %zu operation(s) (%u failed)", summary, n,
			 ndests, ops, failed);
	else
		log_debug("ipvs: %zu service(s): %zu operation(s) (%u failed)", n, ops, failed);
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
	lve_dirty_clear(e);
	lve_reconcile(e, set, e->nvs, gone, ngone, summary);
	free(set);
}

void lve_flush_cb(struct evloop *loop, struct ev_timer *t, void *arg)
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
	lve_dirty_clear(e);
	lve_reconcile(e, set, n, NULL, 0, NULL);
	free(set);
	/* A service just put in the kernel may now be announced. */
	if (e->announce.any)
		lve_announce_kick(e);
}

void lve_retry_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;

	(void)loop;
	(void)t;
	for (size_t i = 0; i < e->nvs; i++)
		if (e->vs[i]->resync)
			lve_mark_dirty(e->vs[i]);
}

void lve_reconcile_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;
	int ret;

	(void)t;
	if (e->ipvs && (ret = kernel_read(e, e->vs, e->nvs)) < 0)
		log_warnx("ipvs: reading the services: %s", ipvs_strerror(ret));
	else if (e->ipvs)
		reconcile_all(e, NULL, 0, "repaired drift");
	if (e->ipvs && e->sync.settled)
		lve_sync_apply(e, NULL, NULL);
	if (e->cfg->lvs.reconcile_interval_ms)
		ev_timer_start(loop, &e->reconcile_timer, e->cfg->lvs.reconcile_interval_ms);
}

void lve_open_cb(struct evloop *loop, struct ev_timer *t, void *arg);

/* Open IPVS; when the kernel has none (yet), say so once and retry. */
void lve_ipvs_try_open(struct lvs_engine *e)
{
	int ret = e->k->open(&e->ipvs);

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
		e->k->close(e->ipvs);
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
	lve_timeouts_apply(e);
	lve_sysctls_apply(e);
	if (e->sync.settled)
		lve_sync_apply(e, NULL, "start");
	if (e->cfg->lvs.reconcile_interval_ms)
		ev_timer_start(e->loop, &e->reconcile_timer, e->cfg->lvs.reconcile_interval_ms);
}

void lve_open_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	lve_ipvs_try_open(arg);
}

/* The announcer's rtnetlink socket goes with IPVS's (it reopens at its
 * next use), so that a stopping engine leaves nothing open. */
static void kernel_close(struct ipvs *v)
{
	ipvs_close(v);
	lve_announce_kernel_close();
}

const struct lvs_kernel_ops lvs_kernel_ipvs = {
	.open = ipvs_open,
	.close = kernel_close,
	.apply = ipvs_apply,
	.services = ipvs_services,
	.dests = ipvs_dests,
	.daemons = ipvs_daemons,
	.daemon_add = ipvs_daemon_add,
	.daemon_del = ipvs_daemon_del,
	.timeouts_get = ipvs_timeouts_get,
	.timeouts_set = ipvs_timeouts_set,
	.sysctl_get = lve_sysctl_get,
	.sysctl_set = lve_sysctl_set,
	.announce_add = lve_announce_kernel_add,
	.announce_del = lve_announce_kernel_del,
	.announce_routes = lve_announce_kernel_routes,
};
