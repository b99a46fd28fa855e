/* The LVS engine's connection-sync daemon, made to follow the VRRP state
 * of ipvs_sync_follow, and the IPVS timeouts. */
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

/* ---- the sync daemon and the timeouts ---- */

/* Does a state change of instance concern the sync daemon? */
bool lve_sync_follows(const struct lvs_engine *e, const char *instance)
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


int lve_daemon_push(const struct ipvs_daemon *d, void *arg)
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
	int ret = e->k->daemon_del(e->ipvs, state);

	if (ret == -ESRCH)
		return 0;
	if (ret != -ETIMEDOUT || e->k->daemons(e->ipvs, lve_daemon_push, &dl) < 0)
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
	else if (e->cfg->lvs.sync.mode == LVS_SYNC_BOTH)
		snprintf(buf, size, "ipvs_sync_mode = both");
	else if (is)
		snprintf(buf, size, "%s is %s", follow, vrrp_state_name(is->state));
	else
		snprintf(buf, size, "the state of %s is not known yet", follow);
	return buf;
}

/* Bring the running daemons (those of one state, or all) to want (NULL:
 * none): stop what differs, start what is missing. 0, or -1 after
 * sync_failed. */
static int sync_plan_apply(struct lvs_engine *e, const struct ipvs_daemon *want, const struct ipvs_daemon *running,
			   size_t n, const char *reason, const char *why)
{
	struct lvs_sync_plan plan;
	char text[160];
	int ret;

	lvs_sync_plan(want, running, n, &plan);
	for (size_t i = 0; i < n; i++) {
		if (!(plan.stop & running[i].state))
			continue;
		ret = sync_stop(e, running[i].state);
		if (ret < 0) {
			sync_failed(e, running[i].state == IPVS_DAEMON_MASTER ? "stopping the master" :
				    "stopping the backup", ret);
			return -1;
		}
		log_info("ipvs: sync daemon: stopped %s (%s)", ipvs_daemon_text(&running[i], text, sizeof(text)),
			 reason);
	}
	if (plan.start) {
		ret = e->k->daemon_add(e->ipvs, want);
		/* One of that state came meanwhile: make it so, it is checked
		 * again on the next change. */
		if (ret < 0 && ret != -EEXIST) {
			sync_failed(e, want->state == IPVS_DAEMON_MASTER ? "starting the master" : "starting the backup",
				    ret);
			return -1;
		}
		log_info("ipvs: sync daemon: %s (%s)", ipvs_daemon_text(want, text, sizeof(text)), reason);
	} else if (want && (!e->sync.applied || (why && strcmp(why, "reload") == 0))) {
		log_info("ipvs: sync daemon: %s already runs as wanted: left as it is (%s)",
			 ipvs_daemon_text(want, text, sizeof(text)), reason);
	} else if (want) {
		log_debug("ipvs: sync daemon: %s, unchanged (%s)", ipvs_daemon_text(want, text, sizeof(text)), reason);
	}
	return 0;
}

/* ipvs_sync_mode = both: a master and a backup, each planned against the
 * running daemon of its own state. */
static int sync_apply_both(struct lvs_engine *e, const struct daemon_list *dl, const char *reason, const char *why)
{
	static const uint32_t states[] = { IPVS_DAEMON_MASTER, IPVS_DAEMON_BACKUP };

	for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
		struct ipvs_daemon want, mine[ARRAY_SIZE(dl->items)];
		size_t n = 0;

		for (size_t i = 0; i < dl->n; i++)
			if (dl->items[i].state == states[s])
				mine[n++] = dl->items[i];
		lvs_sync_daemon_conf(&e->cfg->lvs, states[s], &want);
		if (sync_plan_apply(e, &want, mine, n, reason, why) < 0)
			return -1;
	}
	return 0;
}

/* Make the kernel run the daemon(s) the configuration and the VRRP state
 * ask for, changing only the difference. prev: the configuration before a
 * reload (its daemon is ours to stop), or NULL. why: "start", "reload",
 * "vrrp", "retry", or NULL for a periodic check (quiet when nothing
 * changes). */
void lve_sync_apply(struct lvs_engine *e, const struct lvs_config *prev, const char *why)
{
	const struct lvs_config *lvs = &e->cfg->lvs;
	const struct inst_state *is = lvs->sync.follow ? lve_vrrp_of(e, lvs->sync.follow) : NULL;
	struct daemon_list dl = { .n = 0 };
	struct ipvs_daemon want;
	char reason[96];
	bool has_want;
	int ret;

	/* Without the keys, now and before, the kernel's daemons are not ours. */
	if (!e->ipvs || (!lvs->sync.interface && !(prev && prev->sync.interface)))
		return;
	has_want = lvs_sync_daemon_conf(lvs, lvs_sync_wanted_state(is != NULL, is ? is->state : VRRP_STATE_INIT),
					&want);
	sync_reason(e, is, reason, sizeof(reason));
	if ((ret = e->k->daemons(e->ipvs, lve_daemon_push, &dl)) < 0) {
		sync_failed(e, "reading the running daemons", ret);
		return;
	}
	if (has_want && lvs->sync.mode == LVS_SYNC_BOTH)
		ret = sync_apply_both(e, &dl, reason, why);
	else
		ret = sync_plan_apply(e, has_want ? &want : NULL, dl.items, dl.n, reason, why);
	if (ret < 0)
		return;
	if (e->sync.err)
		log_info("ipvs: sync daemon: in step again");
	e->sync.applied = true;
	e->sync.err = 0;
	e->sync.err_what[0] = '\0';
}

/* ipvs_on_stop = remove: the daemon goes with the services. */
void lve_sync_stop_all(struct lvs_engine *e)
{
	struct daemon_list dl = { .n = 0 };
	char text[160];
	int ret;

	if (!e->cfg->lvs.sync.interface || e->k->daemons(e->ipvs, lve_daemon_push, &dl) < 0)
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

void lve_sync_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct lvs_engine *e = arg;
	bool first = !e->sync.settled;

	(void)loop;
	(void)t;
	e->sync.settled = true;
	lve_sync_apply(e, NULL, first ? "start" : "retry");
}

/* Set the timeouts the configuration gives, when the kernel has others. */
void lve_timeouts_apply(struct lvs_engine *e)
{
	struct ipvs_timeouts want, have;
	int ret;

	if (!e->ipvs || !lvs_timeouts_conf(&e->cfg->lvs, &want))
		return;
	if (e->k->timeouts_get(e->ipvs, &have) == 0 && (!want.tcp || want.tcp == have.tcp) &&
	    (!want.tcp_fin || want.tcp_fin == have.tcp_fin) && (!want.udp || want.udp == have.udp)) {
		log_debug("ipvs: timeouts already as configured");
		return;
	}
	if ((ret = e->k->timeouts_set(e->ipvs, &want)) < 0) {
		log_warnx("ipvs: setting the timeouts: %s", ipvs_strerror(ret));
		return;
	}
	log_info("ipvs: timeouts set: tcp %u s, tcp_fin %u s, udp %u s (0: the kernel's left as it was)", want.tcp,
		 want.tcp_fin, want.udp);
}
