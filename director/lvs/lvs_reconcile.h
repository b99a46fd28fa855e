/* The IPVS reconciler: what the LVS engine wants against what the kernel
 * has, as the shortest list of operations that makes the kernel match.
 * Pure logic (no kernel, no allocation beyond the result), so it is unit
 * tested without root and fuzzed. */
#ifndef DSRKIT_LVS_RECONCILE_H
#define DSRKIT_LVS_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "ipvs.h"

/* One service with its destinations. */
struct lvs_service {
	struct ipvs_service svc;
	struct ipvs_dest *dests;
	size_t ndests;
};

struct lvs_table {
	struct lvs_service *svcs;
	size_t n;
};

enum lvs_op_type {
	LVS_OP_SERVICE_ADD,
	LVS_OP_SERVICE_EDIT,
	LVS_OP_SERVICE_DEL,
	LVS_OP_DEST_ADD,
	LVS_OP_DEST_EDIT,
	LVS_OP_DEST_DEL,
};

struct lvs_op {
	enum lvs_op_type type;
	const struct ipvs_service *svc;	/* points into want (or have, for deletions) */
	const struct ipvs_dest *dest;	/* NULL for service operations */
};

struct lvs_ops {
	struct lvs_op *items;
	size_t n, cap;
};

/* Services are identified by family and fwmark, or by family, protocol,
 * address and port; destinations by address family, address and port. */
int lvs_service_cmp(const struct ipvs_service *a, const struct ipvs_service *b);
int lvs_dest_cmp(const struct ipvs_dest *a, const struct ipvs_dest *b);

/* Sort a table's services and each service's destinations by key (the
 * diff needs both sides sorted). Returns -EINVAL when a key repeats. */
int lvs_table_sort(struct lvs_table *t);

/* Append to ops what turns `have` into `want` for the services we own:
 * those in `want`, and those in `previously` (what we wanted before a
 * reload) that `want` dropped, which are deleted. Services in `have` that
 * are in neither are someone else's and left alone. All three tables must
 * be sorted. Service operations come before their destinations'; deletions
 * of whole services come last. 0 or -ENOMEM. */
int lvs_diff(const struct lvs_table *want, const struct lvs_table *have, const struct lvs_table *previously,
	     struct lvs_ops *ops);
void lvs_ops_free(struct lvs_ops *ops);

#endif
