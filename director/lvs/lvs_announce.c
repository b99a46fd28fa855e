/* Announced services (issue 12), the pure part: which VIPs this director
 * should announce now, and why each announced service is or is not.
 *
 * A VIP is announced (its address on announce_interface and a host route
 * in announce_table, which a routing daemon exports) while every announced
 * service on it has quorum and has had the first check result of every
 * real server, the director is not drained and directord is not stopping.
 * Kept apart from the engine, which feeds it and applies the difference
 * through its kernel seam, so that every rule is tested without root. */
#include <stdlib.h>
#include <string.h>

#include "lvs.h"

static const char *const state_names[LVS_ANN_N] = {
	[LVS_ANN_ANNOUNCED] = "announced", [LVS_ANN_NO_QUORUM] = "no-quorum", [LVS_ANN_DRAINED] = "drained",
	[LVS_ANN_STOPPING] = "stopping", [LVS_ANN_STARTING] = "starting", [LVS_ANN_ERROR] = "error",
};

static const char *const metric_names[LVS_ANN_N] = {
	[LVS_ANN_ANNOUNCED] = "announced", [LVS_ANN_NO_QUORUM] = "no_quorum", [LVS_ANN_DRAINED] = "drained",
	[LVS_ANN_STOPPING] = "stopping", [LVS_ANN_STARTING] = "starting", [LVS_ANN_ERROR] = "error",
};

const char *lvs_announce_state_name(enum lvs_announce_state s)
{
	return (unsigned)s < LVS_ANN_N ? state_names[s] : "?";
}

const char *lvs_announce_metric_state(enum lvs_announce_state s)
{
	return (unsigned)s < LVS_ANN_N ? metric_names[s] : "?";
}

/* Has every check that decides this server given a result? A server
 * without checks has nothing to wait for. */
bool lvs_rs_first_result(const struct virtual_server_conf *vs, const struct lvs_rs_state *st)
{
	bool agent = vs->check == LVS_CHECK_AGENT || vs->check_agent;

	if (vs->check != LVS_CHECK_NONE && vs->check != LVS_CHECK_AGENT && !st->check.rf.known)
		return false;
	return !agent || st->agent_health.rf.known;
}

bool lvs_service_first_results(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs)
{
	for (size_t i = 0; i < vs->real_servers.n; i++)
		if (!lvs_rs_first_result(vs, &rs[i]))
			return false;
	return true;
}

int lvs_announce_vip_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	size_t len = a->family == AF_INET6 ? 16 : 4;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->u.bytes, b->u.bytes, len);
}

/* The VIP alone: a host address, whatever prefix it was written with. */
static struct ipaddr host_of(const struct ipaddr *a)
{
	struct ipaddr h;

	memset(&h, 0, sizeof(h));
	h.family = a->family;
	h.prefixlen = a->family == AF_INET6 ? 128 : 32;
	h.has_prefix = true;
	memcpy(h.u.bytes, a->u.bytes, a->family == AF_INET6 ? 16 : 4);
	return h;
}

/* What one service says on its own, most telling reason first. */
static enum lvs_announce_state own_state(const struct lvs_announce_svc *s, bool drained, bool stopping)
{
	if (stopping)
		return LVS_ANN_STOPPING;
	if (drained)
		return LVS_ANN_DRAINED;
	if (!s->checks_done)
		return LVS_ANN_STARTING;
	if (!s->has_quorum)
		return LVS_ANN_NO_QUORUM;
	return LVS_ANN_ANNOUNCED;
}

static int svc_ptr_cmp(const void *a, const void *b)
{
	const struct lvs_announce_svc *x = *(const struct lvs_announce_svc *const *)a;
	const struct lvs_announce_svc *y = *(const struct lvs_announce_svc *const *)b;

	return lvs_announce_vip_cmp(&x->vip, &y->vip);
}

int lvs_announce_want(struct lvs_announce_svc *svcs, size_t n, bool drained, bool stopping, struct ipaddr *out,
		      size_t *nout)
{
	struct lvs_announce_svc **by_vip = calloc(n + 1, sizeof(*by_vip));
	size_t k = 0;

	*nout = 0;
	if (!by_vip)
		return -1;
	for (size_t i = 0; i < n; i++) {
		svcs[i].state = own_state(&svcs[i], drained, stopping);
		by_vip[i] = &svcs[i];
	}
	qsort(by_vip, n, sizeof(*by_vip), svc_ptr_cmp);
	/* A VIP goes only when all of its services agree; the others on it
	 * take the reason of the first that does not. */
	for (size_t i = 0; i < n; i = k) {
		enum lvs_announce_state vip_state = LVS_ANN_ANNOUNCED;

		for (k = i; k < n && lvs_announce_vip_cmp(&by_vip[k]->vip, &by_vip[i]->vip) == 0; k++)
			if (vip_state == LVS_ANN_ANNOUNCED)
				vip_state = by_vip[k]->state;
		for (size_t j = i; j < k; j++)
			by_vip[j]->state = vip_state;
		if (vip_state == LVS_ANN_ANNOUNCED)
			out[(*nout)++] = host_of(&by_vip[i]->vip);
	}
	free(by_vip);
	return 0;
}

void lvs_announce_diff(const struct ipaddr *want, size_t nwant, const struct ipaddr *have, size_t nhave,
		       struct ipaddr *add, size_t *nadd, struct ipaddr *del, size_t *ndel)
{
	size_t i = 0, j = 0;

	*nadd = *ndel = 0;
	while (i < nwant || j < nhave) {
		int d = i == nwant ? 1 : j == nhave ? -1 : lvs_announce_vip_cmp(&want[i], &have[j]);

		if (d < 0)
			add[(*nadd)++] = want[i++];
		else if (d > 0)
			del[(*ndel)++] = have[j++];
		else
			i++, j++;
	}
}

static int vip_cmp(const void *a, const void *b)
{
	return lvs_announce_vip_cmp(a, b);
}

size_t lvs_announce_sort_unique(struct ipaddr *vips, size_t n)
{
	size_t k = 0;

	if (n > 1)
		qsort(vips, n, sizeof(*vips), vip_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || lvs_announce_vip_cmp(&vips[k - 1], &vips[i]) != 0)
			vips[k++] = host_of(&vips[i]);
	return k;
}
