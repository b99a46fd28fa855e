/* The LVS engine's decisions, without a kernel, a clock or a socket: what
 * a run of check results means (rise/fall), what one real server should
 * be in the kernel table and at which weight, quorum with hysteresis, and
 * the wanted table entry of a virtual server. See lvs.h.
 *
 * The rules, as director.ini(5) tells them:
 *
 * - rise/fall: the first result decides at once; after that a down server
 *   needs `rise` passes in a row to come up, an up one `fall` failures in
 *   a row to go down.
 * - Before its first result a server is out (start_down = yes, the
 *   default) or in (start_down = no); a server found in the kernel at
 *   start ("adopted") is in until a check says otherwise, at weight 0 when
 *   it was found at 0 (drained, or inhibited after a failure): a restart
 *   neither cuts its connections nor sends it new ones.
 * - check = agent: the agent alone decides: up while it answers and its
 *   reply is not down, fail or stopped.
 * - check = tcp|http|script, agent: the check decides; the agent can only
 *   take the server further out (down/fail/stopped, drain, maint, a
 *   percentage). An agent that does not answer changes nothing, as in
 *   HAProxy when a health check exists.
 * - maint from the agent takes the server out whatever the checks say
 *   (an announced service's to weight 0: no new flow, mh's table kept).
 * - drain (the agent's or `directorctl drain`) keeps an up server in the
 *   table at weight 0: no new connections, existing ones go on. A drained
 *   server that fails is down. The agent's ready does not undo an
 *   operator's drain.
 * - N% from the agent scales the weight (a script check with
 *   dynamic_weight sets it first), rounded to the nearest, at least 1
 *   unless N or the weight is 0. 0% leaves the server up at weight 0.
 * - A down server leaves the table, or stays at weight 0 with
 *   inhibit_on_failure.
 * - Quorum (keepalived's): the sum of the weights of the up servers.
 *   Lost when it falls below quorum - hysteresis (or to 0), regained at
 *   quorum + hysteresis. quorum = 0 is never lost.
 * - Without quorum the sorry server, when there is one, takes the
 *   service alone (with inhibit_on_failure the real servers stay at
 *   weight 0 beside it); without a sorry server nothing changes.
 *
 * why (lvs_rs_evaluate) is a static string or one of the server's own
 * reasons: rs->check.reason (the probe's: "HTTP 503", "connect: ...") or
 * rs->agent_health.reason (the agent's line, "down #vip missing", or why
 * it could not be read); callers print those behind "check: " and
 * "agent: ".
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lvs.h"
#include "vrrp.h"

/* ---- results (rise/fall is common/risefall) ---- */

const char *lvs_health_reason(const struct lvs_health *h)
{
	return h->reason ? h->reason : "";
}

/* Copied only when it changed: most results repeat the last. Out of
 * memory, none is kept (the result still counts). */
void lvs_health_set_reason(struct lvs_health *h, const char *reason)
{
	size_t n = reason ? strnlen(reason, LVS_REASON_MAX - 1) : 0;

	if (h->reason && strncmp(h->reason, reason ? reason : "", n) == 0 && h->reason[n] == '\0')
		return;
	free(h->reason);
	h->reason = n ? strndup(reason, n) : NULL;
}

void lvs_health_reset(struct lvs_health *h)
{
	free(h->reason);
	memset(h, 0, sizeof(*h));
}

void lvs_rs_state_release(struct lvs_rs_state *st)
{
	lvs_health_reset(&st->check);
	lvs_health_reset(&st->agent_health);
	free(st->agent);
	st->agent = NULL;
	st->have_agent = false;
}

bool lvs_health_record(struct lvs_health *h, bool pass, unsigned rise, unsigned fall, const char *reason,
		       int64_t when_ms)
{
	if (pass)
		h->passes++;
	else
		h->fails++;
	lvs_health_set_reason(h, reason);
	h->last_ms = when_ms;
	return risefall_record(&h->rf, pass, rise, fall);
}

/* ---- one real server ---- */

static bool vs_uses_agent(const struct virtual_server_conf *vs)
{
	return vs->check == LVS_CHECK_AGENT || vs->check_agent;
}

/* The agent's reply, when the service listens to one and it is current. */
static const struct agent_reply *rs_agent(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs)
{
	return vs_uses_agent(vs) && rs->have_agent ? rs->agent : NULL;
}

/* Why, when the agent's words decided: the line itself ("down #vip
 * missing", kept in agent_health.reason) while the last attempt was a
 * reply, else the fallback. */
static const char *agent_why(const struct lvs_rs_state *rs, const char *fallback)
{
	const struct lvs_health *h = &rs->agent_health;

	return h->rf.known && h->rf.last_pass && h->reason ? h->reason : fallback;
}

/* The agent says the server is unhealthy: down, fail, stopped. */
static const char *agent_down_why(const struct lvs_rs_state *rs, const struct agent_reply *a)
{
	switch (a->state) {
	case AGENT_STATE_DOWN:
		return agent_why(rs, "agent: down");
	case AGENT_STATE_FAIL:
		return agent_why(rs, "agent: fail");
	case AGENT_STATE_STOPPED:
		return agent_why(rs, "agent: stopped");
	default:
		return NULL;
	}
}

/* No result yet: out with start_down, unless found in the kernel. */
static bool rs_unknown_up(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs, const char **why)
{
	if (rs->adopted) {
		*why = "adopted from the kernel";
		return true;
	}
	*why = "starting: no check result yet";
	return !vs->start_down;
}

/* check = agent: reachable, and not down by its own word. */
static bool rs_agent_only_up(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs,
			     const char **why)
{
	const struct agent_reply *a = rs_agent(vs, rs);
	const char *down;

	if (!rs->agent_health.rf.known)
		return rs_unknown_up(vs, rs, why);
	if (!rs->agent_health.rf.up) {
		*why = rs->agent_health.reason ? rs->agent_health.reason : "agent: unreachable";
		return false;
	}
	if (a && (down = agent_down_why(rs, a))) {
		*why = down;
		return false;
	}
	*why = agent_why(rs, "agent: up");
	return true;
}

/* check = tcp, http or script. */
static bool rs_check_up(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs, const char **why)
{
	if (!rs->check.rf.known)
		return rs_unknown_up(vs, rs, why);
	if (!rs->check.rf.up) {
		*why = rs->check.reason ? rs->check.reason : "check failed";
		return false;
	}
	*why = "check passed";
	return true;
}

/* Up or down, before admin states and weights. */
static bool rs_up(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs, const char **why)
{
	const struct agent_reply *a;
	const char *down;

	switch (vs->check) {
	case LVS_CHECK_NONE:
		*why = "no check";
		break;
	case LVS_CHECK_AGENT:
		return rs_agent_only_up(vs, rs, why);
	default:
		if (!rs_check_up(vs, rs, why))
			return false;
		break;
	}
	/* Combined: the agent may only take the server out. */
	if ((a = rs_agent(vs, rs)) && (down = agent_down_why(rs, a))) {
		*why = down;
		return false;
	}
	return true;
}

/* The deciding check has no result yet. */
static bool rs_pending(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs)
{
	switch (vs->check) {
	case LVS_CHECK_NONE:
		return false;
	case LVS_CHECK_AGENT:
		return !rs->agent_health.rf.known;
	default:
		return !rs->check.rf.known;
	}
}

static int rs_base_weight(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs)
{
	if (vs->check == LVS_CHECK_SCRIPT && vs->check_dynamic_weight && rs->dynamic_weight >= 0)
		return rs->dynamic_weight;
	return rs->conf->weight > INT_MAX ? INT_MAX : (int)rs->conf->weight;
}

/* weight * pct / 100 to the nearest, at least 1 unless either is 0. */
static int scale_weight(int weight, int pct)
{
	uint64_t w;

	if (pct < 0)
		return weight;
	if (weight <= 0 || pct == 0)
		return 0;
	w = ((uint64_t)weight * (uint64_t)pct + 50) / 100;
	if (w == 0)
		w = 1;
	return w > INT32_MAX ? INT32_MAX : (int)w;
}

enum lvs_rs_verdict lvs_rs_evaluate(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs,
				    int *weight, const char **why)
{
	const struct agent_reply *a = rs_agent(vs, rs);
	const char *w;
	bool up = rs_up(vs, rs, &w);

	if (a && a->admin == AGENT_ADMIN_MAINT) {
		/* Announced: weight 0, as a failed server, so mh's table and
		 * the destinations' order stay those of the other directors. */
		*weight = vs->announce ? 0 : -1;
		*why = agent_why(rs, "agent: maint");
		return LVS_RS_MAINT;
	}
	if (!up) {
		*weight = vs->inhibit_on_failure ? 0 : -1;
		*why = w;
		return LVS_RS_DOWN;
	}
	if (rs->adopted && rs->adopted_at_zero && rs_pending(vs, rs)) {
		*weight = 0;
		*why = "adopted from the kernel at weight 0";
		return LVS_RS_DRAIN;
	}
	if (rs->admin == LVS_ADMIN_DRAINED || (a && a->admin == AGENT_ADMIN_DRAIN)) {
		*weight = 0;
		*why = rs->admin == LVS_ADMIN_DRAINED ? "directorctl drain" : agent_why(rs, "agent: drain");
		return LVS_RS_DRAIN;
	}
	*weight = scale_weight(rs_base_weight(vs, rs), a ? a->weight_pct : -1);
	*why = w;
	return LVS_RS_UP;
}

/* ---- quorum ---- */

bool lvs_quorum_update(const struct virtual_server_conf *vs, unsigned up_weight, bool *has_quorum)
{
	unsigned q = vs->quorum, h = vs->quorum_hysteresis;
	unsigned low = q > h ? q - h : 0;
	unsigned high = q > UINT_MAX - h ? UINT_MAX : q + h;
	bool was = *has_quorum;

	if (q == 0)
		*has_quorum = true;
	else if (*has_quorum && (up_weight == 0 || up_weight < low))
		*has_quorum = false;
	else if (!*has_quorum && up_weight >= high)
		*has_quorum = true;
	return *has_quorum != was;
}

unsigned lvs_service_up_weight(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs)
{
	unsigned sum = 0;

	for (size_t i = 0; i < vs->real_servers.n; i++) {
		const char *why;
		int w;

		if (lvs_rs_evaluate(vs, &rs[i], &w, &why) != LVS_RS_UP || w <= 0)
			continue;
		sum = (unsigned)w > UINT_MAX - sum ? UINT_MAX : sum + (unsigned)w;
	}
	return sum;
}

/* ---- the wanted table entry ---- */

static bool vs_has_sorry(const struct virtual_server_conf *vs)
{
	return vs->sorry_server.addr.family != 0;
}

static void sorry_dest(const struct virtual_server_conf *vs, struct ipvs_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->addr = vs->sorry_server.addr;
	d->port = vs->sorry_server.port ? vs->sorry_server.port : vs->address.port;
	d->fwd = vs->sorry_fwd;
	d->weight = 1;
}

/* The real servers that belong in the table; with only_zero (quorum lost
 * beside a sorry server, inhibit_on_failure) at weight 0, and none that
 * would take the sorry server's place. */
static size_t want_real_servers(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs,
				bool only_zero, const struct ipvs_dest *sorry, struct ipvs_dest *dests)
{
	size_t k = 0;

	for (size_t i = 0; i < vs->real_servers.n; i++) {
		const char *why;
		int w;

		lvs_rs_evaluate(vs, &rs[i], &w, &why);
		if (w < 0)
			continue;
		real_server_dest(vs, rs[i].conf, only_zero ? 0 : w, &dests[k]);
		if (sorry && lvs_dest_cmp(&dests[k], sorry) == 0)
			continue;
		k++;
	}
	return k;
}

size_t lvs_service_want(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs, bool has_quorum,
			struct ipvs_service *svc, struct ipvs_dest *dests)
{
	struct ipvs_dest sorry;
	size_t k = 0;

	virtual_server_key(vs, svc);
	if (has_quorum || !vs_has_sorry(vs))
		return want_real_servers(vs, rs, false, NULL, dests);
	sorry_dest(vs, &sorry);
	if (vs->inhibit_on_failure)
		k = want_real_servers(vs, rs, true, &sorry, dests);
	dests[k++] = sorry;
	return k;
}

/* ---- the sync daemon ---- */

uint32_t lvs_sync_wanted_state(bool known, int vrrp_state)
{
	return known && vrrp_state == VRRP_STATE_MASTER ? IPVS_DAEMON_MASTER : IPVS_DAEMON_BACKUP;
}

void lvs_sync_plan(const struct ipvs_daemon *want, const struct ipvs_daemon *running, size_t n,
		   struct lvs_sync_plan *out)
{
	bool kept = false;

	out->stop = 0;
	for (size_t i = 0; i < n; i++) {
		if (want && !kept && ipvs_daemon_same(want, &running[i]))
			kept = true;
		else
			out->stop |= running[i].state;
	}
	/* A daemon to replace is stopped first: the kernel runs one per state. */
	out->start = want && !kept;
}
