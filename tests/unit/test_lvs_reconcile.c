/* The reconciler: idempotent (a second pass sends nothing), minimal (one
 * change, one operation), foreign services left alone, dropped ones
 * deleted, service operations before their destinations'. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "lvs_reconcile.h"
#include "test.h"

static struct ipvs_service tcp_svc(const char *addr, uint16_t port)
{
	struct ipvs_service s = { .af = AF_INET, .protocol = IPPROTO_TCP, .port = port };

	s.addr.family = AF_INET;
	inet_pton(AF_INET, addr, &s.addr.u.v4);
	strcpy(s.sched, "wlc");
	return s;
}

static struct ipvs_dest dr_dest(const char *addr, uint16_t port, int weight)
{
	struct ipvs_dest d = { .port = port, .fwd = IP_VS_CONN_F_DROUTE, .weight = weight };

	d.addr.family = AF_INET;
	inet_pton(AF_INET, addr, &d.addr.u.v4);
	return d;
}

/* n services 192.0.2.x / 198.18.x.y : 80 with k destinations each. */
static void make_table(struct lvs_table *t, size_t n, size_t k)
{
	t->svcs = calloc(n, sizeof(*t->svcs));
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.%zu.%zu", i / 250, i % 250 + 1);
		t->svcs[i].svc = tcp_svc(a, 80);
		t->svcs[i].dests = calloc(k ? k : 1, sizeof(struct ipvs_dest));
		t->svcs[i].ndests = k;
		for (size_t j = 0; j < k; j++) {
			snprintf(a, sizeof(a), "198.19.%zu.%zu", j, i % 250 + 1);
			t->svcs[i].dests[j] = dr_dest(a, 80, 1);
		}
	}
}

static void copy_table(struct lvs_table *dst, const struct lvs_table *src)
{
	dst->n = src->n;
	dst->svcs = calloc(src->n ? src->n : 1, sizeof(*dst->svcs));
	for (size_t i = 0; i < src->n; i++) {
		dst->svcs[i] = src->svcs[i];
		dst->svcs[i].dests = calloc(src->svcs[i].ndests ? src->svcs[i].ndests : 1, sizeof(struct ipvs_dest));
		memcpy(dst->svcs[i].dests, src->svcs[i].dests, src->svcs[i].ndests * sizeof(struct ipvs_dest));
	}
}

static void free_table(struct lvs_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->svcs[i].dests);
	free(t->svcs);
	t->svcs = NULL;
	t->n = 0;
}

TEST(from_cold_everything_in_order)
{
	struct lvs_table want, have = { NULL, 0 };
	struct lvs_ops ops = { 0 };

	make_table(&want, 3, 2);
	CHECK_EQ_INT(lvs_table_sort(&want), 0);
	CHECK_EQ_INT(lvs_diff(&want, &have, NULL, &ops), 0);
	CHECK_EQ_INT(ops.n, 9);
	for (size_t i = 0; i < ops.n; i++) {
		/* Each service, then its two destinations. */
		CHECK_EQ_INT(ops.items[i].type, i % 3 == 0 ? LVS_OP_SERVICE_ADD : LVS_OP_DEST_ADD);
		CHECK(ops.items[i].svc == &want.svcs[i / 3].svc);
	}
	lvs_ops_free(&ops);
	free_table(&want);
}

TEST(idempotent_and_minimal_at_scale)
{
	struct lvs_table want, have;
	struct lvs_ops ops = { 0 };

	make_table(&want, 10000, 4);
	copy_table(&have, &want);
	/* The kernel lists in its own order; sorting makes it comparable. */
	for (size_t i = 0; i + 1 < have.n; i += 2) {
		struct lvs_service t = have.svcs[i];

		have.svcs[i] = have.svcs[i + 1];
		have.svcs[i + 1] = t;
	}
	CHECK_EQ_INT(lvs_table_sort(&want), 0);
	CHECK_EQ_INT(lvs_table_sort(&have), 0);
	CHECK_EQ_INT(lvs_diff(&want, &have, &want, &ops), 0);
	CHECK_EQ_INT(ops.n, 0);

	want.svcs[4321].dests[2].weight = 0;	/* drained */
	CHECK_EQ_INT(lvs_diff(&want, &have, &want, &ops), 0);
	CHECK_EQ_INT(ops.n, 1);
	if (ops.n == 1) {
		CHECK_EQ_INT(ops.items[0].type, LVS_OP_DEST_EDIT);
		CHECK(ops.items[0].dest == &want.svcs[4321].dests[2]);
	}
	lvs_ops_free(&ops);
	free_table(&want);
	free_table(&have);
}

TEST(service_and_dest_changes)
{
	struct lvs_table want, have;
	struct lvs_ops ops = { 0 };
	struct ipvs_dest *extra;

	make_table(&want, 2, 2);
	copy_table(&have, &want);
	strcpy(want.svcs[0].svc.sched, "rr");		/* edit the service */
	want.svcs[1].dests[0].u_threshold = 100;	/* edit a destination */
	extra = realloc(have.svcs[1].dests, 3 * sizeof(*extra));	/* one too many in the kernel */
	extra[2] = dr_dest("198.19.9.9", 80, 1);
	have.svcs[1].dests = extra;
	have.svcs[1].ndests = 3;
	want.svcs[0].dests[1] = dr_dest("198.19.8.8", 8080, 5);	/* one replaced */
	CHECK_EQ_INT(lvs_table_sort(&want), 0);
	CHECK_EQ_INT(lvs_table_sort(&have), 0);
	CHECK_EQ_INT(lvs_diff(&want, &have, NULL, &ops), 0);
	{
		int counts[6] = { 0 };

		for (size_t i = 0; i < ops.n; i++)
			counts[ops.items[i].type]++;
		CHECK_EQ_INT(counts[LVS_OP_SERVICE_EDIT], 1);
		CHECK_EQ_INT(counts[LVS_OP_DEST_EDIT], 1);
		CHECK_EQ_INT(counts[LVS_OP_DEST_ADD], 1);
		CHECK_EQ_INT(counts[LVS_OP_DEST_DEL], 2);	/* the replaced one and the extra */
		CHECK_EQ_INT(ops.n, 5);
		CHECK_EQ_INT(ops.items[0].type, LVS_OP_SERVICE_EDIT);	/* before its destinations */
	}
	lvs_ops_free(&ops);
	free_table(&want);
	free_table(&have);
}

TEST(ownership)
{
	struct lvs_table want, have, before;
	struct lvs_ops ops = { 0 };

	make_table(&before, 3, 1);		/* we had three services */
	copy_table(&have, &before);
	copy_table(&want, &before);
	want.n = 2;				/* the reload dropped the last one */
	free(want.svcs[2].dests);
	have.svcs = realloc(have.svcs, 4 * sizeof(*have.svcs));	/* and someone else has one */
	have.svcs[3] = (struct lvs_service){ tcp_svc("192.0.2.200", 443), NULL, 0 };
	have.n = 4;
	CHECK_EQ_INT(lvs_table_sort(&before), 0);
	CHECK_EQ_INT(lvs_table_sort(&have), 0);
	CHECK_EQ_INT(lvs_table_sort(&want), 0);
	CHECK_EQ_INT(lvs_diff(&want, &have, &before, &ops), 0);
	CHECK_EQ_INT(ops.n, 1);
	if (ops.n == 1) {
		CHECK_EQ_INT(ops.items[0].type, LVS_OP_SERVICE_DEL);
		CHECK_EQ_INT(lvs_service_cmp(ops.items[0].svc, &before.svcs[2].svc), 0);
	}
	/* At start-up nothing was ours before: the foreign service stays and
	 * matching services are adopted as they are. */
	lvs_ops_free(&ops);
	CHECK_EQ_INT(lvs_diff(&want, &have, NULL, &ops), 0);
	CHECK_EQ_INT(ops.n, 0);
	lvs_ops_free(&ops);
	free_table(&want);
	free_table(&have);
	free_table(&before);
}

TEST(keys_and_defaults)
{
	struct ipvs_service a = tcp_svc("192.0.2.80", 80), b = a;
	struct lvs_table want = { NULL, 0 }, have = { NULL, 0 };
	struct lvs_service ws = { a, NULL, 0 }, hs = { b, NULL, 0 }, dup[2];
	struct lvs_ops ops = { 0 };

	b.port = 443;
	CHECK(lvs_service_cmp(&a, &b) < 0);
	b = a;
	b.protocol = IPPROTO_UDP;
	CHECK(lvs_service_cmp(&a, &b) != 0);
	b = a;
	b.fwmark = 7;				/* a fwmark service is another key */
	CHECK(lvs_service_cmp(&a, &b) != 0);
	/* Netmask 0 means the whole address: no edit against the kernel's /32;
	 * the kernel's "hashed" flag is not a difference either. */
	hs.svc.netmask = 32;
	hs.svc.flags |= IP_VS_SVC_F_HASHED;
	want.svcs = &ws;
	want.n = 1;
	have.svcs = &hs;
	have.n = 1;
	CHECK_EQ_INT(lvs_diff(&want, &have, NULL, &ops), 0);
	CHECK_EQ_INT(ops.n, 0);
	lvs_ops_free(&ops);
	/* A key given twice is refused. */
	dup[0] = ws;
	dup[1] = ws;
	want.svcs = dup;
	want.n = 2;
	CHECK_EQ_INT(lvs_table_sort(&want), -EINVAL);
}

TEST_MAIN(T(from_cold_everything_in_order), T(idempotent_and_minimal_at_scale), T(service_and_dest_changes),
	  T(ownership), T(keys_and_defaults))
