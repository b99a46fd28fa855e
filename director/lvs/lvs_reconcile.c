/* The IPVS reconciler: a merge of sorted tables. See lvs_reconcile.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "lvs_reconcile.h"

static int cmp_u(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_addr(const struct ipaddr *a, const struct ipaddr *b)
{
	int c = cmp_u((uint64_t)a->family, (uint64_t)b->family);

	return c ? c : memcmp(a->u.bytes, b->u.bytes, a->family == AF_INET ? 4 : 16);
}

int lvs_service_cmp(const struct ipvs_service *a, const struct ipvs_service *b)
{
	int c;

	if ((c = cmp_u((uint64_t)a->af, (uint64_t)b->af)) || (c = cmp_u(a->fwmark, b->fwmark)))
		return c;
	if (a->fwmark)
		return 0;
	if ((c = cmp_u(a->protocol, b->protocol)) || (c = cmp_addr(&a->addr, &b->addr)))
		return c;
	return cmp_u(a->port, b->port);
}

int lvs_dest_cmp(const struct ipvs_dest *a, const struct ipvs_dest *b)
{
	int c = cmp_addr(&a->addr, &b->addr);

	return c ? c : cmp_u(a->port, b->port);
}

static int qsort_service(const void *a, const void *b)
{
	return lvs_service_cmp(&((const struct lvs_service *)a)->svc, &((const struct lvs_service *)b)->svc);
}

static int qsort_dest(const void *a, const void *b)
{
	return lvs_dest_cmp(a, b);
}

int lvs_table_sort(struct lvs_table *t)
{
	if (t->n > 1)
		qsort(t->svcs, t->n, sizeof(*t->svcs), qsort_service);
	for (size_t i = 0; i < t->n; i++) {
		struct lvs_service *s = &t->svcs[i];

		if (i > 0 && lvs_service_cmp(&t->svcs[i - 1].svc, &s->svc) == 0)
			return -EINVAL;
		if (s->ndests > 1)
			qsort(s->dests, s->ndests, sizeof(*s->dests), qsort_dest);
		for (size_t j = 1; j < s->ndests; j++)
			if (lvs_dest_cmp(&s->dests[j - 1], &s->dests[j]) == 0)
				return -EINVAL;
	}
	return 0;
}

/* ---- the diff ---- */

static int push(struct lvs_ops *ops, enum lvs_op_type type, const struct ipvs_service *svc,
		const struct ipvs_dest *dest)
{
	if (ops->n == ops->cap) {
		size_t cap = ops->cap ? ops->cap * 2 : 64;
		struct lvs_op *p = cap < SIZE_MAX / sizeof(*p) ? realloc(ops->items, cap * sizeof(*p)) : NULL;

		if (!p)
			return -ENOMEM;
		ops->items = p;
		ops->cap = cap;
	}
	ops->items[ops->n++] = (struct lvs_op){ type, svc, dest };
	return 0;
}

static uint32_t full_netmask(const struct ipvs_service *s)
{
	return s->netmask ? s->netmask : s->af == AF_INET ? 32 : 128;
}

/* The settings SET_SERVICE changes (the key aside). */
static bool service_same(const struct ipvs_service *a, const struct ipvs_service *b)
{
	uint32_t mask = ~(uint32_t)IP_VS_SVC_F_HASHED;

	return strcmp(a->sched, b->sched) == 0 && (a->flags & mask) == (b->flags & mask) &&
	       a->timeout == b->timeout && full_netmask(a) == full_netmask(b);
}

static bool dest_same(const struct ipvs_dest *a, const struct ipvs_dest *b)
{
	return (a->fwd & IP_VS_CONN_F_FWD_MASK) == (b->fwd & IP_VS_CONN_F_FWD_MASK) && a->weight == b->weight &&
	       a->u_threshold == b->u_threshold && a->l_threshold == b->l_threshold;
}

static int diff_dests(const struct lvs_service *want, const struct lvs_service *have, struct lvs_ops *ops)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (err == 0 && (i < want->ndests || j < have->ndests)) {
		int c = i == want->ndests ? 1 : j == have->ndests ? -1 :
			lvs_dest_cmp(&want->dests[i], &have->dests[j]);

		if (c < 0) {
			err = push(ops, LVS_OP_DEST_ADD, &want->svc, &want->dests[i++]);
		} else if (c > 0) {
			err = push(ops, LVS_OP_DEST_DEL, &want->svc, &have->dests[j++]);
		} else {
			if (!dest_same(&want->dests[i], &have->dests[j]))
				err = push(ops, LVS_OP_DEST_EDIT, &want->svc, &want->dests[i]);
			i++;
			j++;
		}
	}
	return err;
}

static int add_whole(const struct lvs_service *want, struct lvs_ops *ops)
{
	int err = push(ops, LVS_OP_SERVICE_ADD, &want->svc, NULL);

	for (size_t k = 0; err == 0 && k < want->ndests; k++)
		err = push(ops, LVS_OP_DEST_ADD, &want->svc, &want->dests[k]);
	return err;
}

static const struct lvs_service *find(const struct lvs_table *t, const struct ipvs_service *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lvs_service_cmp(&t->svcs[mid].svc, key);

		if (c == 0)
			return &t->svcs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int lvs_diff(const struct lvs_table *want, const struct lvs_table *have, const struct lvs_table *previously,
	     struct lvs_ops *ops)
{
	size_t i = 0, j = 0;
	int err = 0;

	/* Merge want and have; a service only in have is someone else's
	 * unless we wanted it before (then it is deleted, below). */
	while (err == 0 && i < want->n) {
		int c = j == have->n ? -1 : lvs_service_cmp(&want->svcs[i].svc, &have->svcs[j].svc);

		if (c < 0) {
			err = add_whole(&want->svcs[i++], ops);
		} else if (c > 0) {
			j++;
		} else {
			if (!service_same(&want->svcs[i].svc, &have->svcs[j].svc))
				err = push(ops, LVS_OP_SERVICE_EDIT, &want->svcs[i].svc, NULL);
			if (err == 0)
				err = diff_dests(&want->svcs[i], &have->svcs[j], ops);
			i++;
			j++;
		}
	}
	for (size_t k = 0; err == 0 && previously && k < previously->n; k++) {
		const struct lvs_service *gone = &previously->svcs[k];
		const struct lvs_service *h;

		if (find(want, &gone->svc) || !(h = find(have, &gone->svc)))
			continue;
		err = push(ops, LVS_OP_SERVICE_DEL, &h->svc, NULL);	/* its destinations go with it */
	}
	return err;
}

void lvs_ops_free(struct lvs_ops *ops)
{
	free(ops->items);
	ops->items = NULL;
	ops->n = ops->cap = 0;
}
