/* Announced services, the engine's side: feed the pure core
 * (lvs_announce.c) the services' quorum and first results, the drained
 * and stopping flags, and make the kernel hold exactly the VIPs it wants,
 * through the seam (lvs_kernel_ops.announce_*). A pass runs on the loop
 * soon after anything it depends on changed (a 0 ms timer coalesces a
 * burst of results); each request is one rtnetlink round trip. A refusal
 * is the service's status and is logged once; the pass is retried. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lvs_engine_int.h"

#define ANNOUNCE_RETRY_MS IPVS_RETRY_MS

static bool is_announced(const struct vs_rt *v)
{
	return v->conf->announce && v->conf->address.addr.family;
}

static const char *vip_text(const struct ipaddr *a, char *buf, size_t size)
{
	return ipaddr_ntop(a, buf, size);
}

static int fail_of(const struct lvs_engine *e, const struct ipaddr *vip)
{
	for (size_t i = 0; i < e->announce.nfails; i++)
		if (lvs_announce_vip_cmp(&e->announce.fails[i].vip, vip) == 0)
			return e->announce.fails[i].err;
	return 0;
}

static bool conf_same(const struct lvs_announce_conf *a, const struct lvs_announce_conf *b)
{
	return a->table == b->table && a->protocol == b->protocol &&
	       strcmp(a->interface ? a->interface : "lo", b->interface ? b->interface : "lo") == 0;
}

static int conf_copy(struct lvs_announce_conf *dst, const struct lvs_announce_conf *src)
{
	char *name = strdup(src->interface ? src->interface : "lo");

	if (!name)
		return -ENOMEM;
	free(dst->interface);
	*dst = *src;
	dst->interface = name;
	return 0;
}

/* The services' inputs; *map[i] is the engine's service of svcs[i]. */
static size_t gather(struct lvs_engine *e, struct lvs_announce_svc *svcs, struct vs_rt **map, bool *all_started)
{
	size_t n = 0;

	*all_started = true;
	for (size_t i = 0; i < e->nvs; i++) {
		struct vs_rt *v = e->vs[i];
		bool done;

		if (!is_announced(v))
			continue;
		/* Not before IPVS holds it: a route to nothing is a black hole. */
		done = v->present && lvs_service_first_results(v->conf, v->rs);
		*all_started = *all_started && lvs_service_first_results(v->conf, v->rs);
		svcs[n] = (struct lvs_announce_svc){ .vip = v->conf->address.addr, .has_quorum = v->has_quorum,
						     .checks_done = done };
		map[n++] = v;
	}
	return n;
}

/* Why a VIP that goes is withdrawn, for the log. */
static const char *withdraw_reason(const struct lvs_announce_svc *svcs, size_t n, const struct ipaddr *vip)
{
	for (size_t i = 0; i < n; i++)
		if (lvs_announce_vip_cmp(&svcs[i].vip, vip) == 0)
			return lvs_announce_state_name(svcs[i].state);
	return "no longer announced by the configuration";
}

static void note_fail(struct lvs_engine *e, struct announce_fail *fails, size_t *nfails, const struct ipaddr *vip,
		      int err, const char *what)
{
	char a[INET6_ADDRSTRLEN];

	if (fail_of(e, vip) != err)
		log_warnx("announce: %s %s: %s (retried every %d s)", what, vip_text(vip, a, sizeof(a)), strerror(-err),
			  ANNOUNCE_RETRY_MS / 1000);
	fails[*nfails].vip = *vip;
	fails[(*nfails)++].err = err;
}

/* What the kernel holds of ours at start: the host routes of our table
 * and protocol (a killed directord's). A route to a whole prefix is none
 * of ours: withdrawing it as a VIP would take the prefix's first address
 * off the interface. */
static void startup_have(struct lvs_engine *e, struct ipaddr **have, size_t *nhave)
{
	int ret = e->k->announce_routes(&e->announce.conf, have, nhave);
	size_t k = 0;

	if (ret < 0)
		log_warnx("announce: reading table %u: %s", e->announce.conf.table, strerror(-ret));
	for (size_t i = 0; i < *nhave; i++)
		if (!(*have)[i].has_prefix || (*have)[i].prefixlen == ((*have)[i].family == AF_INET6 ? 128 : 32))
			(*have)[k++] = (*have)[i];
	if (k < *nhave)
		log_info("announce: %zu route(s) of table %u proto %u to more than one address left alone",
			 *nhave - k, e->announce.conf.table, e->announce.conf.protocol);
	*nhave = k;
	if (*nhave)
		log_info("announce: %zu route(s) of table %u proto %u found at start", *nhave,
			 e->announce.conf.table, e->announce.conf.protocol);
	*nhave = lvs_announce_sort_unique(*have, *nhave);
}

static bool in_set(const struct ipaddr *set, size_t n, const struct ipaddr *a)
{
	for (size_t i = 0; i < n; i++)
		if (lvs_announce_vip_cmp(&set[i], a) == 0)
			return true;
	return false;
}

/* A VIP's address found on the interface without our route is not
 * taken away at start: it is the administrator's (a directord killed
 * between adding the address and the route leaves one too, but that
 * window is one request wide, and removing what the administrator put
 * there at every start is worse). */

/* Withdrawing: is the VIP's address someone else's (kept)? */
static bool addr_kept(const struct announce_rt *an, const struct ipaddr *vip)
{
	return in_set(an->kept, an->nkept, vip);
}

static void kept_add(struct announce_rt *an, const struct ipaddr *vip)
{
	struct ipaddr *more;

	if (addr_kept(an, vip))
		return;
	more = realloc(an->kept, (an->nkept + 1) * sizeof(*more));
	if (!more)
		fatalx("lvs engine: out of memory");
	an->kept = more;
	an->kept[an->nkept++] = *vip;
}

static void kept_drop(struct announce_rt *an, const struct ipaddr *vip)
{
	for (size_t i = 0; i < an->nkept; i++)
		if (lvs_announce_vip_cmp(&an->kept[i], vip) == 0) {
			an->kept[i] = an->kept[--an->nkept];
			return;
		}
}

/* A leftover whose address (ours) is on the interface announced now:
 * the address belongs to the new announcement, not to the old route. */
static const struct announce_leftover *leftover_here(const struct announce_rt *an, const struct ipaddr *vip)
{
	for (size_t i = 0; i < an->nleftovers; i++)
		if (lvs_announce_vip_cmp(&an->leftovers[i].vip, vip) == 0 &&
		    strcmp(an->leftovers[i].conf.interface, an->conf.interface) == 0)
			return &an->leftovers[i];
	return NULL;
}

/* Withdrawals from a table, protocol or interface a reload left, again;
 * an address announced now on the same interface stays. */
static void retry_leftovers(struct lvs_engine *e)
{
	struct announce_rt *an = &e->announce;
	size_t k = 0;

	for (size_t i = 0; i < an->nleftovers; i++) {
		struct announce_leftover *l = &an->leftovers[i];
		bool keep = l->keep_addr || (strcmp(l->conf.interface, an->conf.interface) == 0 &&
					     in_set(an->have, an->nhave, &l->vip));
		char a[INET6_ADDRSTRLEN];

		if (e->k->announce_del(&l->conf, &l->vip, keep) < 0) {
			an->leftovers[k++] = *l;
			continue;
		}
		log_info("announce: %s withdrawn from table %u at last", vip_text(&l->vip, a, sizeof(a)), l->conf.table);
		free(l->conf.interface);
	}
	an->nleftovers = k;
}

static void leftover_add(struct announce_rt *an, const struct ipaddr *vip)
{
	struct announce_leftover *more = realloc(an->leftovers, (an->nleftovers + 1) * sizeof(*more));
	struct announce_leftover *l;

	if (!more)
		fatalx("lvs engine: out of memory");
	an->leftovers = more;
	l = &an->leftovers[an->nleftovers];
	memset(l, 0, sizeof(*l));
	if (conf_copy(&l->conf, &an->conf) < 0)
		fatalx("lvs engine: out of memory");
	l->vip = *vip;
	l->keep_addr = addr_kept(an, vip);
	an->nleftovers++;
}

struct pass {
	struct lvs_announce_svc *svcs;
	struct vs_rt **map;
	struct ipaddr *want, *add, *del, *next;
	struct announce_fail *fails;
	size_t n, nwant, nadd, ndel, nnext, nfails;
};

static void pass_free(struct pass *p)
{
	free(p->svcs);
	free(p->map);
	free(p->want);
	free(p->add);
	free(p->del);
	free(p->next);
	free(p->fails);
}

/* Sized by the announced services, not all of them: a pass runs at every
 * reload, and 10,000 services that are not announced need no room. */
static int pass_alloc(struct lvs_engine *e, struct pass *p, size_t nhave)
{
	size_t nann = 0, room;

	for (size_t i = 0; i < e->nvs; i++)
		nann += is_announced(e->vs[i]);
	room = nann + nhave + 1;
	memset(p, 0, sizeof(*p));
	p->svcs = calloc(nann + 1, sizeof(*p->svcs));
	p->map = calloc(nann + 1, sizeof(*p->map));
	p->want = calloc(nann + 1, sizeof(*p->want));
	p->add = calloc(nann + 1, sizeof(*p->add));
	p->del = calloc(nhave + 1, sizeof(*p->del));
	p->next = calloc(room, sizeof(*p->next));
	p->fails = calloc(room, sizeof(*p->fails));
	if (!p->svcs || !p->map || !p->want || !p->add || !p->del || !p->next || !p->fails) {
		pass_free(p);
		return -ENOMEM;
	}
	return 0;
}

/* Withdraw first (a route goes before its address), then announce. */
static void apply(struct lvs_engine *e, struct pass *p, const struct ipaddr *have, size_t nhave)
{
	const struct announce_leftover *l;
	char a[INET6_ADDRSTRLEN];
	size_t k = 0;

	for (size_t i = 0; i < p->ndel; i++) {
		int ret = e->k->announce_del(&e->announce.conf, &p->del[i], addr_kept(&e->announce, &p->del[i]));

		if (ret < 0) {
			note_fail(e, p->fails, &p->nfails, &p->del[i], ret, "withdrawing");
			p->next[p->nnext++] = p->del[i];
			continue;
		}
		kept_drop(&e->announce, &p->del[i]);
		e->announce.withdrawals++;
		log_info("announce: %s withdrawn (%s)", vip_text(&p->del[i], a, sizeof(a)),
				 withdraw_reason(p->svcs, p->n, &p->del[i]));
	}
	/* What stays: have less what was deleted. */
	for (size_t i = 0; i < nhave; i++) {
		while (k < p->ndel && lvs_announce_vip_cmp(&p->del[k], &have[i]) < 0)
			k++;
		if (k == p->ndel || lvs_announce_vip_cmp(&p->del[k], &have[i]) != 0)
			p->next[p->nnext++] = have[i];
	}
	for (size_t i = 0; i < p->nadd; i++) {
		int ret = e->k->announce_add(&e->announce.conf, &p->add[i]);

		if (ret < 0) {
			note_fail(e, p->fails, &p->nfails, &p->add[i], ret, "announcing");
			continue;
		}
		p->next[p->nnext++] = p->add[i];
		/* Found there: the administrator's, unless it is ours still
		 * held by a route a reload left in the old table. */
		l = leftover_here(&e->announce, &p->add[i]);
		if (ret > 0 && (!l || l->keep_addr))
			kept_add(&e->announce, &p->add[i]);
		log_info("announce: %s announced (table %u proto %u dev %s%s)", vip_text(&p->add[i], a, sizeof(a)),
			 e->announce.conf.table, e->announce.conf.protocol, e->announce.conf.interface,
			 ret > 0 ? ", its address already there: left on withdrawal" : "");
	}
}

static void run_pass(struct lvs_engine *e)
{
	struct announce_rt *an = &e->announce;
	struct ipaddr *have = an->have;
	size_t nhave = an->nhave;
	bool startup = !an->cleaned, all_started;
	struct pass p;

	ev_timer_stop(e->loop, &an->timer);
	retry_leftovers(e);
	if (startup)
		startup_have(e, &have, &nhave);
	if (pass_alloc(e, &p, nhave) < 0) {
		if (startup)
			free(have);
		ev_timer_start(e->loop, &an->timer, ANNOUNCE_RETRY_MS);
		return;
	}
	p.n = gather(e, p.svcs, p.map, &all_started);
	an->all_started = all_started;
	if (lvs_announce_want(p.svcs, p.n, an->drained, an->stopping, p.want, &p.nwant) == 0) {
		lvs_announce_diff(p.want, p.nwant, have, nhave, p.add, &p.nadd, p.del, &p.ndel);
		apply(e, &p, have, nhave);
		free(an->have);
		if (startup && have != an->have)
			free(have);
		an->have = p.next;
		an->nhave = lvs_announce_sort_unique(p.next, p.nnext);
		p.next = NULL;
		free(an->fails);
		an->fails = p.fails;
		an->nfails = p.nfails;
		p.fails = NULL;
		an->cleaned = true;
		for (size_t i = 0; i < p.n; i++) {
			p.map[i]->ann_err = fail_of(e, &p.svcs[i].vip);
			p.map[i]->ann_state = p.map[i]->ann_err ? LVS_ANN_ERROR : p.svcs[i].state;
		}
	} else if (startup) {
		free(have);
	}
	if (an->nfails || an->nleftovers || !an->cleaned)
		ev_timer_start(e->loop, &an->timer, ANNOUNCE_RETRY_MS);
	pass_free(&p);
}

static void announce_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	run_pass(arg);
}

static bool config_announces(const struct lvs_engine *e)
{
	for (size_t i = 0; i < e->nvs; i++)
		if (is_announced(e->vs[i]))
			return true;
	return false;
}

void lve_announce_start(struct lvs_engine *e, bool drained)
{
	struct announce_rt *an = &e->announce;

	ev_timer_init(&an->timer, announce_timer_cb, e);
	an->drained = drained;
	an->any = config_announces(e);
	for (size_t i = 0; i < e->nvs; i++)
		e->vs[i]->ann_state = LVS_ANN_STARTING;
	/* Without the calls (a benchmark's kernel), or out of memory: no
	 * conf, and every pass is skipped, so nothing is ever announced. */
	if (!e->k->announce_add || conf_copy(&an->conf, &e->cfg->lvs.announce) < 0)
		return;
	if (drained)
		log_info("announce: the director is drained (directorctl drain-director, before this start)");
	ev_timer_start(e->loop, &an->timer, 0);
}

void lve_announce_kick(struct lvs_engine *e)
{
	if (e->announce.conf.interface && !ev_timer_armed(&e->announce.timer))
		ev_timer_start(e->loop, &e->announce.timer, 0);
}

/* A probe's result: it matters while some service waits for its first. */
void lve_announce_first_result(struct lvs_engine *e)
{
	if (e->announce.any && !e->announce.all_started)
		lve_announce_kick(e);
}

/* Before the reload's IPVS changes: a service that goes is withdrawn
 * before its IPVS service is removed. A new table, protocol or interface
 * takes everything out of the old ones first. */
void lve_announce_reload(struct lvs_engine *e)
{
	struct announce_rt *an = &e->announce;
	const struct lvs_announce_conf *fresh = &e->cfg->lvs.announce;

	an->any = config_announces(e);
	if (!an->conf.interface)
		return;
	if (!conf_same(&an->conf, fresh)) {
		for (size_t i = 0; i < an->nhave; i++) {
			int ret = e->k->announce_del(&an->conf, &an->have[i], addr_kept(an, &an->have[i]));
			char a[INET6_ADDRSTRLEN];

			if (ret < 0) {
				log_warnx("announce: withdrawing %s from table %u: %s (retried every %d s)",
					  vip_text(&an->have[i], a, sizeof(a)), an->conf.table, strerror(-ret),
					  ANNOUNCE_RETRY_MS / 1000);
				leftover_add(an, &an->have[i]);
			}
		}
		an->nhave = 0;
		an->nkept = 0;
		if (conf_copy(&an->conf, fresh) < 0)
			fatalx("lvs engine: out of memory");
		log_info("announce: now table %u proto %u dev %s", an->conf.table, an->conf.protocol,
			 an->conf.interface);
	}
	for (size_t i = 0; i < e->nvs; i++)
		if (is_announced(e->vs[i]) && !e->vs[i]->present)
			e->vs[i]->ann_state = LVS_ANN_STARTING;
	run_pass(e);
}

size_t lvs_engine_drain_director(struct lvs_engine *e, bool drained)
{
	struct announce_rt *an = &e->announce;
	size_t before = an->nhave;

	if (an->drained != drained)
		log_info("announce: director %s (directorctl %s-director)", drained ? "drained" : "enabled",
			 drained ? "drain" : "enable");
	an->drained = drained;
	if (an->conf.interface)
		run_pass(e);
	/* A pass may both withdraw and announce (an earlier withdrawal that
	 * failed, a quorum lost meanwhile): the change in the wanted direction. */
	if (drained)
		return before > an->nhave ? before - an->nhave : 0;
	return an->nhave > before ? an->nhave - before : 0;
}

/* SIGTERM: every route goes before the process does, also when the
 * start-up pass has not run yet (a killed directord's routes, which no
 * one would withdraw after us). */
void lve_announce_stop(struct lvs_engine *e)
{
	struct announce_rt *an = &e->announce;

	if (an->conf.interface && (!an->cleaned || an->nhave || an->nleftovers)) {
		an->stopping = true;
		if (an->nhave)
			log_info("announce: stopping: withdrawing %zu VIP(s)", an->nhave);
		run_pass(e);
	}
	ev_timer_stop(e->loop, &an->timer);
	free(an->have);
	free(an->kept);
	for (size_t i = 0; i < an->nleftovers; i++)
		free(an->leftovers[i].conf.interface);
	free(an->leftovers);
	free(an->fails);
	free(an->conf.interface);
	memset(an, 0, sizeof(*an));
}

const char *lve_announce_reason(const struct vs_rt *v, char *buf, size_t size)
{
	if (v->ann_state == LVS_ANN_ERROR)
		snprintf(buf, size, "error: %s", strerror(-v->ann_err));
	else
		snprintf(buf, size, "%s", lvs_announce_state_name(v->ann_state));
	return buf;
}

bool lvs_engine_director_drained(const struct lvs_engine *e)
{
	return e->announce.drained;
}

size_t lvs_engine_announced_count(const struct lvs_engine *e)
{
	return e->announce.nhave;
}

static int count_packets(const struct ipvs_dest *d, const struct ipvs_dest_counters *c, void *arg)
{
	(void)d;
	*(uint64_t *)arg += c->stats.inpkts;
	return 0;
}

uint64_t lvs_engine_announced_packets(struct lvs_engine *e)
{
	uint64_t sum = 0;

	for (size_t i = 0; e->ipvs && i < e->nvs; i++)
		if (is_announced(e->vs[i]) && e->vs[i]->present)
			(void)e->k->dests(e->ipvs, &e->vs[i]->have.svc, count_packets, &sum);
	return sum;
}
