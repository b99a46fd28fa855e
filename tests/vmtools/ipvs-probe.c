/* ipvs-probe: drives director/lvs/ipvs.c and the reconciler against a real
 * kernel, for the tests in tests/vm (the host kernel has no IPVS).
 *
 *   ipvs-probe sync N K [SVC DEST WEIGHT]   make the kernel hold N TCP
 *       services 198.18.S.H:80 (wlc) with K DR destinations 198.19.D.H:80
 *       (weight 1, or WEIGHT for destination DEST of service SVC); reads
 *       the kernel, applies the difference, prints "ops=X failed=Y"
 *   ipvs-probe dump                         every service and destination
 *   ipvs-probe add-service SCHED            one service 192.0.2.90:80 with
 *       scheduler SCHED; prints the result in words
 *   ipvs-probe batch-errors                 one batch whose middle requests
 *       fail: prints each request's result
 *   ipvs-probe daemon-flap N IFACE          N times: start a master sync
 *       daemon on IFACE and stop it at once, as SCHED_FIFO on one CPU so
 *       its thread never runs first (the kernel then answers the stop with
 *       nothing); prints each stop's result, then what still runs
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "ipvs.h"
#include "lvs_reconcile.h"

static void want_table(struct lvs_table *t, size_t n, size_t k, long svc, long dest, int weight)
{
	t->svcs = calloc(n ? n : 1, sizeof(*t->svcs));
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		struct ipvs_service *s = &t->svcs[i].svc;
		char a[32];

		s->af = AF_INET;
		s->protocol = IPPROTO_TCP;
		s->port = 80;
		s->addr.family = AF_INET;
		snprintf(a, sizeof(a), "198.18.%zu.%zu", i / 250, i % 250 + 1);
		inet_pton(AF_INET, a, &s->addr.u.v4);
		strcpy(s->sched, "wlc");
		t->svcs[i].dests = calloc(k ? k : 1, sizeof(struct ipvs_dest));
		t->svcs[i].ndests = k;
		for (size_t j = 0; j < k; j++) {
			struct ipvs_dest *d = &t->svcs[i].dests[j];

			d->addr.family = AF_INET;
			snprintf(a, sizeof(a), "198.19.%zu.%zu", j, i % 250 + 1);
			inet_pton(AF_INET, a, &d->addr.u.v4);
			d->port = 80;
			d->fwd = IP_VS_CONN_F_DROUTE;
			d->weight = (long)i == svc && (long)j == dest ? weight : 1;
		}
	}
}

/* ---- reading the kernel ---- */

struct reader {
	struct lvs_table *t;
	size_t cap;
	struct ipvs *v;
	int err;
};

static int got_dest(const struct ipvs_dest *d, const struct ipvs_dest_counters *c, void *arg)
{
	struct lvs_service *s = arg;
	struct ipvs_dest *p = realloc(s->dests, (s->ndests + 1) * sizeof(*p));

	(void)c;
	if (!p)
		return -ENOMEM;
	s->dests = p;
	s->dests[s->ndests++] = *d;
	return 0;
}

static int got_service(const struct ipvs_service *svc, const struct ipvs_stats *st, void *arg)
{
	struct reader *r = arg;

	(void)st;
	if (r->t->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct lvs_service *p = realloc(r->t->svcs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->t->svcs = p;
		r->cap = cap;
	}
	r->t->svcs[r->t->n++] = (struct lvs_service){ *svc, NULL, 0 };
	return 0;
}

static int read_kernel(struct ipvs *v, struct lvs_table *t)
{
	struct reader r = { t, 0, v, 0 };
	int err;

	t->svcs = NULL;
	t->n = 0;
	if ((err = ipvs_services(v, got_service, &r)) < 0)
		return err;
	for (size_t i = 0; i < t->n; i++)
		if ((err = ipvs_dests(v, &t->svcs[i].svc, got_dest, &t->svcs[i])) < 0)
			return err;
	return 0;
}

static void free_table(struct lvs_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->svcs[i].dests);
	free(t->svcs);
}

static const enum ipvs_req_type req_of[] = {
	[LVS_OP_SERVICE_ADD] = IPVS_REQ_SERVICE_ADD, [LVS_OP_SERVICE_EDIT] = IPVS_REQ_SERVICE_EDIT,
	[LVS_OP_SERVICE_DEL] = IPVS_REQ_SERVICE_DEL, [LVS_OP_DEST_ADD] = IPVS_REQ_DEST_ADD,
	[LVS_OP_DEST_EDIT] = IPVS_REQ_DEST_EDIT, [LVS_OP_DEST_DEL] = IPVS_REQ_DEST_DEL,
};

static int cmd_sync(struct ipvs *v, int argc, char **argv)
{
	struct lvs_table want, have;
	struct lvs_ops ops = { 0 };
	struct ipvs_request *reqs;
	long svc = argc >= 6 ? atol(argv[3]) : -1, dest = argc >= 6 ? atol(argv[4]) : -1;
	int weight = argc >= 6 ? atoi(argv[5]) : 1, failed, err;

	want_table(&want, (size_t)atol(argv[1]), (size_t)atol(argv[2]), svc, dest, weight);
	if ((err = read_kernel(v, &have)) < 0 || (err = lvs_table_sort(&want)) < 0 || (err = lvs_table_sort(&have)) < 0 ||
	    (err = lvs_diff(&want, &have, NULL, &ops)) < 0) {
		fprintf(stderr, "ipvs-probe: %s\n", ipvs_strerror(err));
		return 1;
	}
	reqs = calloc(ops.n ? ops.n : 1, sizeof(*reqs));
	for (size_t i = 0; i < ops.n; i++)
		reqs[i] = (struct ipvs_request){ req_of[ops.items[i].type], ops.items[i].svc, ops.items[i].dest, 0 };
	failed = ipvs_apply(v, reqs, ops.n);
	if (failed < 0) {
		fprintf(stderr, "ipvs-probe: apply: %s\n", ipvs_strerror(failed));
		return 1;
	}
	for (size_t i = 0; i < ops.n; i++)
		if (reqs[i].result)
			fprintf(stderr, "ipvs-probe: request %zu: %s\n", i, ipvs_strerror(reqs[i].result));
	printf("ops=%zu failed=%d\n", ops.n, failed);
	free(reqs);
	lvs_ops_free(&ops);
	free_table(&want);
	free_table(&have);
	return failed ? 1 : 0;
}

static int cmd_dump(struct ipvs *v)
{
	struct lvs_table have;
	char buf[96], a[INET6_ADDRSTRLEN];
	int err = read_kernel(v, &have);

	if (err < 0 || (err = lvs_table_sort(&have)) < 0) {
		fprintf(stderr, "ipvs-probe: %s\n", ipvs_strerror(err));
		return 1;
	}
	for (size_t i = 0; i < have.n; i++) {
		const struct lvs_service *s = &have.svcs[i];

		printf("%s %s flags %u timeout %u netmask %u\n", ipvs_service_name(&s->svc, buf, sizeof(buf)),
		       s->svc.sched, s->svc.flags, s->svc.timeout, s->svc.netmask);
		for (size_t j = 0; j < s->ndests; j++)
			printf("  -> %s:%u fwd %u weight %d\n", ipaddr_ntop(&s->dests[j].addr, a, sizeof(a)),
			       s->dests[j].port, s->dests[j].fwd, s->dests[j].weight);
	}
	free_table(&have);
	return 0;
}

static int cmd_add_service(struct ipvs *v, const char *sched)
{
	struct ipvs_service s = { .af = AF_INET, .protocol = IPPROTO_TCP, .port = 80 };
	int err;

	s.addr.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.90", &s.addr.u.v4);
	snprintf(s.sched, sizeof(s.sched), "%s", sched);
	err = ipvs_service_add(v, &s);
	printf("%s\n", err ? ipvs_strerror(err) : "added");
	return err ? 1 : 0;
}

static int count_service(const struct ipvs_service *s, const struct ipvs_stats *st, void *arg)
{
	(void)s;
	(void)st;
	++*(int *)arg;
	return 0;
}

static int cmd_batch_errors(struct ipvs *v)
{
	struct ipvs_service a = { .af = AF_INET, .protocol = IPPROTO_TCP, .port = 81 }, b, missing;
	struct ipvs_dest d = { .port = 81, .fwd = IP_VS_CONN_F_DROUTE, .weight = 1 };
	struct ipvs_request reqs[5];
	int failed;

	a.addr.family = d.addr.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.91", &a.addr.u.v4);
	inet_pton(AF_INET, "192.0.2.191", &d.addr.u.v4);
	strcpy(a.sched, "rr");
	b = missing = a;
	b.port = 82;
	missing.port = 83;
	reqs[0] = (struct ipvs_request){ IPVS_REQ_SERVICE_ADD, &a, NULL, 0 };
	reqs[1] = (struct ipvs_request){ IPVS_REQ_SERVICE_ADD, &a, NULL, 0 };		/* exists by now */
	reqs[2] = (struct ipvs_request){ IPVS_REQ_DEST_ADD, &missing, &d, 0 };		/* no such service */
	reqs[3] = (struct ipvs_request){ IPVS_REQ_SERVICE_ADD, &b, NULL, 0 };
	reqs[4] = (struct ipvs_request){ IPVS_REQ_DEST_ADD, &b, &d, 0 };
	failed = ipvs_apply(v, reqs, 5);
	printf("failed=%d", failed);
	for (int i = 0; i < 5; i++)
		printf(" %d:%s", i, reqs[i].result ? strerrorname_np(-reqs[i].result) : "ok");
	/* The same socket must go on working for single requests and dumps
	 * after a batch (libnl's sequence numbers kept in step). */
	{
		struct ipvs_service c = a;
		int nsvc = 0, add, dumped;

		c.port = 84;
		add = ipvs_service_add(v, &c);
		dumped = ipvs_services(v, count_service, &nsvc);
		printf(" then add=%s dump=%s", add ? strerrorname_np(-add) : "ok",
		       dumped ? strerrorname_np(-dumped) : nsvc > 0 ? "ok" : "empty");
	}
	printf("\n");
	return 0;
}

static int count_daemon(const struct ipvs_daemon *d, void *arg)
{
	(void)d;
	++*(int *)arg;
	return 0;
}

static int cmd_daemon_flap(struct ipvs *v, int times, const char *ifname)
{
	struct sched_param sp = { .sched_priority = 50 };
	struct ipvs_daemon d = { .state = IPVS_DAEMON_MASTER, .sync_id = 7 };
	cpu_set_t one;
	int running = 0, dumped;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0 || sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		perror("ipvs-probe: SCHED_FIFO on CPU 0");
		return 1;
	}
	strncpy(d.ifname, ifname, sizeof(d.ifname) - 1);
	for (int i = 0; i < times; i++) {
		int add = ipvs_daemon_add(v, &d), del = ipvs_daemon_del(v, IPVS_DAEMON_MASTER);

		printf("%sstart=%s stop=%s", i ? " " : "", add ? strerrorname_np(-add) : "ok",
		       del ? strerrorname_np(-del) : "ok");
		fflush(stdout);
	}
	dumped = ipvs_daemons(v, count_daemon, &running);
	printf(" then running=%d dump=%s\n", running, dumped ? strerrorname_np(-dumped) : "ok");
	return 0;
}

int main(int argc, char **argv)
{
	struct ipvs *v;
	int err, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: ipvs-probe sync N K [SVC DEST WEIGHT] | dump | add-service SCHED | batch-errors | daemon-flap N IFACE\n");
		return 2;
	}
	if ((err = ipvs_open(&v)) < 0) {
		fprintf(stderr, "ipvs-probe: %s\n", ipvs_strerror(err));
		return 1;
	}
	if (strcmp(argv[1], "sync") == 0 && argc >= 4)
		rc = cmd_sync(v, argc - 1, argv + 1);
	else if (strcmp(argv[1], "dump") == 0)
		rc = cmd_dump(v);
	else if (strcmp(argv[1], "batch-errors") == 0)
		rc = cmd_batch_errors(v);
	else if (strcmp(argv[1], "add-service") == 0 && argc == 3)
		rc = cmd_add_service(v, argv[2]);
	else if (strcmp(argv[1], "daemon-flap") == 0 && argc == 4)
		rc = cmd_daemon_flap(v, atoi(argv[2]), argv[3]);
	else
		rc = 2;
	ipvs_close(v);
	return rc;
}
