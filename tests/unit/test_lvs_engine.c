/* Unit tests of the LVS engine's logic (lvs_engine.c, lvs_kernel.c,
 * lvs_syncd.c) through its kernel seam (struct lvs_kernel_ops): a table
 * in memory stands in for IPVS, so what the engine asks of the kernel on
 * start, reload, drain and VRRP state changes is checked without root.
 * The real kernel is the VM tests' (tests/vm/20-24). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ip_vs.h>

#include "directord.h"
#include "evloop.h"
#include "ipvs.h"
#include "json.h"
#include "lvs.h"
#include "lvs_reconcile.h"
#include "test_stderr.h"
#include "test.h"
#include "test_director_conf.h"
#include "test_tls_server.h"
#include "vrrp.h"

/* ---- the kernel in memory ---- */

#define FK_SVCS 2048
#define FK_DESTS 2048

struct fk_dest {
	struct ipvs_service svc;
	struct ipvs_dest d;
};

static struct fake_kernel {
	struct ipvs_service svcs[FK_SVCS];
	size_t nsvcs;
	struct fk_dest dests[FK_DESTS];
	size_t ndests;
	unsigned ops[IPVS_REQ_DEST_DEL + 1];	/* by request type */
	unsigned batches;
	struct ipvs_daemon daemons[2];
	size_t ndaemons;
	bool del_unanswered;	/* a daemon stop that the kernel does, but never acknowledges */
	int opens;
	int sysctl[LVS_SYSCTL_N];	/* net.ipv4.vs.*, the kernel's defaults after fk_reset */
	unsigned sysctl_writes;
	int sysctl_fail;	/* -errno every write returns, 0: none */
	/* announced VIPs: each an address and a route in table/protocol */
	struct ipaddr routes[16];
	unsigned route_table[16];	/* 0: any (a test's stale route) */
	size_t nroutes;
	struct ipaddr addrs[16];	/* on announce_interface */
	size_t naddrs;
	unsigned announce_adds, announce_dels;
	int announce_fail;	/* -errno every add returns, 0: none */
	int announce_del_fail;	/* -errno every del returns, 0: none */
	unsigned table;		/* of the last request */
} K;

static struct ipvs *fk_handle(void)
{
	static char h;

	return (struct ipvs *)&h;	/* never looked into */
}

static int fk_open(struct ipvs **out)
{
	K.opens++;
	*out = fk_handle();
	return 0;
}

static void fk_close(struct ipvs *v)
{
	(void)v;
}

static long fk_svc(const struct ipvs_service *s)
{
	for (size_t i = 0; i < K.nsvcs; i++)
		if (lvs_service_cmp(&K.svcs[i], s) == 0)
			return (long)i;
	return -1;
}

static long fk_dest(const struct ipvs_service *s, const struct ipvs_dest *d)
{
	for (size_t i = 0; i < K.ndests; i++)
		if (lvs_service_cmp(&K.dests[i].svc, s) == 0 && ipaddr_equal(&K.dests[i].d.addr, &d->addr) &&
		    K.dests[i].d.port == d->port)
			return (long)i;
	return -1;
}

static void fk_svc_del(size_t i)
{
	for (size_t j = 0; j < K.ndests;)
		if (lvs_service_cmp(&K.dests[j].svc, &K.svcs[i]) == 0)
			K.dests[j] = K.dests[--K.ndests];
		else
			j++;
	K.svcs[i] = K.svcs[--K.nsvcs];
}

static int fk_one(const struct ipvs_request *r)
{
	long s = fk_svc(r->svc), d = r->dest ? fk_dest(r->svc, r->dest) : -1;

	switch (r->type) {
	case IPVS_REQ_SERVICE_ADD:
		if (s >= 0)
			return -EEXIST;
		if (K.nsvcs == FK_SVCS)
			return -ENOSPC;
		K.svcs[K.nsvcs++] = *r->svc;
		return 0;
	case IPVS_REQ_SERVICE_EDIT:
		if (s < 0)
			return -ESRCH;
		K.svcs[s] = *r->svc;
		return 0;
	case IPVS_REQ_SERVICE_DEL:
		if (s < 0)
			return -ESRCH;
		fk_svc_del((size_t)s);
		return 0;
	case IPVS_REQ_DEST_ADD:
		if (s < 0)
			return -ESRCH;
		if (d >= 0)
			return -EEXIST;
		if (K.ndests == FK_DESTS)
			return -ENOSPC;
		K.dests[K.ndests].svc = *r->svc;
		K.dests[K.ndests++].d = *r->dest;
		return 0;
	case IPVS_REQ_DEST_EDIT:
		if (d < 0)
			return -ENOENT;
		K.dests[d].d = *r->dest;
		return 0;
	case IPVS_REQ_DEST_DEL:
		if (d < 0)
			return -ENOENT;
		K.dests[d] = K.dests[--K.ndests];
		return 0;
	}
	return -EINVAL;
}

static int fk_apply(struct ipvs *v, struct ipvs_request *reqs, size_t n)
{
	int failed = 0;

	(void)v;
	K.batches++;
	for (size_t i = 0; i < n; i++) {
		K.ops[reqs[i].type]++;
		if ((reqs[i].result = fk_one(&reqs[i])) < 0)
			failed++;
	}
	return failed;
}

static int fk_services(struct ipvs *v, ipvs_service_cb cb, void *arg)
{
	struct ipvs_stats st = { 0 };
	int ret;

	(void)v;
	for (size_t i = 0; i < K.nsvcs; i++)
		if ((ret = cb(&K.svcs[i], &st, arg)) < 0)
			return ret;
	return 0;
}

static int fk_dests(struct ipvs *v, const struct ipvs_service *s, ipvs_dest_cb cb, void *arg)
{
	struct ipvs_dest_counters c = { .active_conns = 7, .inact_conns = 3, .stats = { 11, 12, 13, 14, 15 } };
	int ret;

	(void)v;
	for (size_t i = 0; i < K.ndests; i++)
		if (lvs_service_cmp(&K.dests[i].svc, s) == 0 && (ret = cb(&K.dests[i].d, &c, arg)) < 0)
			return ret;
	return 0;
}

static int fk_daemons(struct ipvs *v, ipvs_daemon_cb cb, void *arg)
{
	int ret;

	(void)v;
	for (size_t i = 0; i < K.ndaemons; i++)
		if ((ret = cb(&K.daemons[i], arg)) < 0)
			return ret;
	return 0;
}

static int fk_daemon_add(struct ipvs *v, const struct ipvs_daemon *d)
{
	(void)v;
	for (size_t i = 0; i < K.ndaemons; i++)
		if (K.daemons[i].state == d->state)
			return -EEXIST;
	if (K.ndaemons == 2)
		return -ENOSPC;
	K.daemons[K.ndaemons] = *d;
	if (!d->group.family) {	/* as the kernel reads it back: its default group */
		K.daemons[K.ndaemons].group.family = AF_INET;
		K.daemons[K.ndaemons].group.prefixlen = 32;
		K.daemons[K.ndaemons].group.u.v4.s_addr = htonl(0xe0000051);	/* 224.0.0.81 */
	}
	K.ndaemons++;
	return 0;
}

static int fk_daemon_del(struct ipvs *v, uint32_t state)
{
	(void)v;
	for (size_t i = 0; i < K.ndaemons; i++) {
		if (K.daemons[i].state != state)
			continue;
		K.daemons[i] = K.daemons[--K.ndaemons];
		/* Done, but the answer never came (nlsock's bound). */
		return K.del_unanswered ? -ETIMEDOUT : 0;
	}
	return -ESRCH;
}

static int fk_timeouts_get(struct ipvs *v, struct ipvs_timeouts *t)
{
	(void)v;
	memset(t, 0, sizeof(*t));
	return 0;
}

static int fk_timeouts_set(struct ipvs *v, const struct ipvs_timeouts *t)
{
	(void)v;
	(void)t;
	return 0;
}

static int fk_sysctl_index(const char *name)
{
	for (int i = 0; i < LVS_SYSCTL_N; i++)
		if (strcmp(lvs_sysctl_defs[i].name, name) == 0)
			return i;
	return -1;
}

static int fk_sysctl_get(const char *name, int *value)
{
	int i = fk_sysctl_index(name);

	if (i < 0)
		return -ENOENT;
	*value = K.sysctl[i];
	return 0;
}

static int fk_sysctl_set(const char *name, int value)
{
	int i = fk_sysctl_index(name);

	if (i < 0)
		return -ENOENT;
	if (K.sysctl_fail)
		return K.sysctl_fail;
	K.sysctl_writes++;
	K.sysctl[i] = value;
	return 0;
}

/* vip's route in table (0: in any). */
static long fk_route_in(const struct ipaddr *vip, unsigned table)
{
	for (size_t i = 0; i < K.nroutes; i++)
		if (ipaddr_equal(&K.routes[i], vip) && (!table || !K.route_table[i] || K.route_table[i] == table))
			return (long)i;
	return -1;
}

static long fk_route(const struct ipaddr *vip)
{
	return fk_route_in(vip, 0);
}

static long fk_addr(const struct ipaddr *vip)
{
	for (size_t i = 0; i < K.naddrs; i++)
		if (ipaddr_equal(&K.addrs[i], vip))
			return (long)i;
	return -1;
}

static int fk_announce_add(const struct lvs_announce_conf *c, const struct ipaddr *vip)
{
	bool present = fk_addr(vip) >= 0;

	K.table = c->table;
	if (K.announce_fail)
		return K.announce_fail;
	K.announce_adds++;
	if (!present && K.naddrs < ARRAY_SIZE(K.addrs))
		K.addrs[K.naddrs++] = *vip;
	if (fk_route_in(vip, c->table) < 0 && K.nroutes < ARRAY_SIZE(K.routes)) {
		K.route_table[K.nroutes] = c->table;
		K.routes[K.nroutes++] = *vip;
	}
	return present;
}

static int fk_announce_del(const struct lvs_announce_conf *c, const struct ipaddr *vip, bool keep_addr)
{
	long i = fk_route_in(vip, c->table), j = fk_addr(vip);

	K.table = c->table;
	if (K.announce_del_fail)
		return K.announce_del_fail;
	K.announce_dels++;
	if (i >= 0) {
		K.route_table[i] = K.route_table[K.nroutes - 1];
		K.routes[i] = K.routes[--K.nroutes];
	}
	if (j >= 0 && !keep_addr)
		K.addrs[j] = K.addrs[--K.naddrs];
	return 0;
}

static int fk_announce_routes(const struct lvs_announce_conf *c, struct ipaddr **out, size_t *n)
{
	(void)c;
	*out = calloc(K.nroutes + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, K.routes, K.nroutes * sizeof(**out));
	*n = K.nroutes;
	return 0;
}

static const struct lvs_kernel_ops fake = {
	fk_open, fk_close, fk_apply, fk_services, fk_dests, fk_daemons, fk_daemon_add, fk_daemon_del,
	fk_timeouts_get, fk_timeouts_set, fk_sysctl_get, fk_sysctl_set,
	fk_announce_add, fk_announce_del, fk_announce_routes,
};

/* Is vip announced in the fake kernel? */
static bool fk_announced(const char *vip)
{
	struct ipaddr a;
	char err[PARSE_ERR_MAX];

	parse_ipaddr(vip, &a, err);
	return fk_route(&a) >= 0;
}

static void fk_reset(void)
{
	memset(&K, 0, sizeof(K));
	for (int i = 0; i < LVS_SYSCTL_N; i++)
		K.sysctl[i] = lvs_sysctl_defs[i].kernel_default;
}

static void fk_ops_reset(void)
{
	memset(K.ops, 0, sizeof(K.ops));
	K.batches = 0;
}

static unsigned fk_ops_total(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(K.ops); i++)
		n += K.ops[i];
	return n;
}

/* The weight of a destination in the table, -1 when it is not there. */
static int fk_weight(const char *dest)
{
	char err[PARSE_ERR_MAX];
	struct ipendpoint ep;

	if (parse_ipendpoint(dest, false, &ep, err) < 0)
		return -2;
	for (size_t i = 0; i < K.ndests; i++)
		if (ipaddr_equal(&K.dests[i].d.addr, &ep.addr) && K.dests[i].d.port == ep.port)
			return K.dests[i].d.weight;
	return -1;
}

/* ---- the engine on a loop of its own ---- */

#define CONF_HEAD "[global]\nuser = nobody\n"
#define WEB(w) \
	"[virtual_server web]\naddress = 198.18.0.100:80\ncheck = none\n" \
	"real_servers = 198.18.3.1:80 weight=" #w ", 198.18.3.2:80 weight=2\n"
#define DNS \
	"[virtual_server dns]\naddress = 198.18.0.53:53\nprotocol = udp\ncheck = none\n" \
	"real_servers = 198.18.3.1:53, 198.18.3.2:53\n"

struct rig {
	struct evloop *loop;
	struct director_config *cfg;
	struct lvs_engine *e;
};

/* Run the loop until the kernel sees no new request for 100 ms (at most
 * 3 s in all). */
static void settle(struct rig *r)
{
	unsigned last = ~0u;
	uint64_t quiet_since = now_ms(), t0 = now_ms();

	while (now_ms() - t0 < 3000) {
		unsigned n = fk_ops_total() + K.batches;

		if (n != last) {
			last = n;
			quiet_since = now_ms();
		} else if (now_ms() - quiet_since >= 100) {
			return;
		}
		evloop_run_once(r->loop, 10);
	}
}

static bool rig_start(struct rig *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	CHECK_EQ_INT(evloop_new(&r->loop), 0);
	r->cfg = conf(text);
	if (!r->loop || !r->cfg)
		return false;
	CHECK_EQ_INT(lvs_engine_start(r->loop, r->cfg, NULL, &fake, &r->e), 0);
	if (!r->e)
		return false;
	settle(r);
	return true;
}

static void rig_stop(struct rig *r)
{
	if (r->e)
		lvs_engine_stop(r->e);
	director_config_free(r->cfg);
	if (r->loop)
		evloop_free(r->loop);
}

/* A reload, as the engine process does it: the unchanged marked, then
 * applied; the running configuration goes after. */
static void rig_reload(struct rig *r, const char *text)
{
	struct director_config *fresh = conf(text);

	if (!fresh)
		return;
	CHECK_EQ_INT(director_config_mark_unchanged(fresh, r->cfg), 0);
	CHECK_EQ_INT(lvs_engine_reload(r->e, fresh), 0);
	director_config_free(r->cfg);
	r->cfg = fresh;
	settle(r);
}

/* From cold: every service and destination, in one batch. */
TEST(programs_the_table_from_cold)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD WEB(3) DNS)) {
		CHECK_EQ_INT(K.opens, 1);
		CHECK_EQ_INT(K.nsvcs, 2);
		CHECK_EQ_INT(K.ndests, 4);
		CHECK_EQ_INT(K.ops[IPVS_REQ_SERVICE_ADD], 2);
		CHECK_EQ_INT(K.ops[IPVS_REQ_DEST_ADD], 4);
		CHECK_EQ_INT(fk_ops_total(), 6);
		CHECK_EQ_INT(K.batches, 1);
		CHECK_EQ_INT(fk_weight("198.18.3.1:80"), 3);
		CHECK_EQ_INT(fk_weight("198.18.3.2:80"), 2);
		CHECK_EQ_INT(fk_weight("198.18.3.1:53"), 1);
	}
	rig_stop(&r);
}

/* A reload that changes one weight sends that one edit, nothing else. */
TEST(reload_sends_only_the_difference)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD WEB(3) DNS)) {
		fk_ops_reset();
		rig_reload(&r, CONF_HEAD WEB(7) DNS);
		CHECK_EQ_INT(K.ops[IPVS_REQ_DEST_EDIT], 1);
		CHECK_EQ_INT(fk_ops_total(), 1);
		CHECK_EQ_INT(fk_weight("198.18.3.1:80"), 7);
		/* The same file again: nothing. */
		fk_ops_reset();
		rig_reload(&r, CONF_HEAD WEB(7) DNS);
		CHECK_EQ_INT(fk_ops_total(), 0);
		/* A service gone: deleted, with its destinations. */
		fk_ops_reset();
		rig_reload(&r, CONF_HEAD WEB(7));
		CHECK_EQ_INT(K.ops[IPVS_REQ_SERVICE_DEL], 1);
		CHECK_EQ_INT(K.nsvcs, 1);
		CHECK_EQ_INT(K.ndests, 2);
	}
	rig_stop(&r);
}

/* What the kernel already holds of a configured service is adopted:
 * right entries stay, wrong weights are edited, strangers removed; a
 * service that is not ours is left alone. */
TEST(adopts_what_the_kernel_has)
{
	struct ipvs_service web = { .af = AF_INET, .protocol = IPPROTO_TCP, .port = 80, .sched = "wlc" };
	struct ipvs_service other = { .af = AF_INET, .protocol = IPPROTO_TCP, .port = 8080, .sched = "rr" };
	struct rig r;
	char err[PARSE_ERR_MAX];

	fk_reset();
	parse_ipaddr("198.18.0.100", &web.addr, err);
	parse_ipaddr("198.18.0.200", &other.addr, err);
	K.svcs[K.nsvcs++] = web;
	K.svcs[K.nsvcs++] = other;
	K.dests[K.ndests].svc = web;
	parse_ipaddr("198.18.3.1", &K.dests[K.ndests].d.addr, err);
	K.dests[K.ndests].d.port = 80;
	K.dests[K.ndests].d.fwd = IP_VS_CONN_F_DROUTE;
	K.dests[K.ndests++].d.weight = 3;
	K.dests[K.ndests].svc = web;
	parse_ipaddr("198.18.3.9", &K.dests[K.ndests].d.addr, err);
	K.dests[K.ndests].d.port = 80;
	K.dests[K.ndests].d.fwd = IP_VS_CONN_F_DROUTE;
	K.dests[K.ndests++].d.weight = 1;
	if (rig_start(&r, CONF_HEAD WEB(3))) {
		CHECK_EQ_INT(K.ops[IPVS_REQ_SERVICE_ADD], 0);
		CHECK_EQ_INT(K.ops[IPVS_REQ_DEST_ADD], 1);	/* .2 */
		CHECK_EQ_INT(K.ops[IPVS_REQ_DEST_DEL], 1);	/* .9, a stranger */
		CHECK_EQ_INT(fk_weight("198.18.3.1:80"), 3);	/* kept as it was */
		CHECK_EQ_INT(fk_weight("198.18.3.9:80"), -1);
		CHECK(fk_svc(&other) >= 0);			/* not ours: untouched */
	}
	rig_stop(&r);
}

/* directorctl drain: weight 0 in the kernel; enable: its weight back. */
TEST(drain_and_enable)
{
	char err[128];
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD WEB(3))) {
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.1:80", LVS_ADMIN_DRAINED, err, sizeof(err)), 0);
		settle(&r);
		CHECK_EQ_INT(fk_weight("198.18.3.1:80"), 0);
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.1:80", LVS_ADMIN_ENABLED, err, sizeof(err)), 0);
		settle(&r);
		CHECK_EQ_INT(fk_weight("198.18.3.1:80"), 3);
		CHECK(lvs_engine_admin(r.e, "web", "198.18.9.9:80", LVS_ADMIN_DRAINED, err, sizeof(err)) < 0);
		CHECK(lvs_engine_admin(r.e, "nosuch", "198.18.3.1:80", LVS_ADMIN_DRAINED, err, sizeof(err)) < 0);
	}
	rig_stop(&r);
}

/* A port on 127.0.0.1 that accepts connections (listening, never
 * accepting: the handshake is the kernel's), or one that refuses them. */
static int local_port(bool listening, uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 || (listening && listen(fd, 64) < 0)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	if (listening)
		return fd;
	close(fd);	/* nothing listens there now: refused */
	return 0;
}

static void run_for(struct rig *r, unsigned ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < ms)
		evloop_run_once(r->loop, 20);
}

/* Run the loop until the three servers have these weights in the kernel
 * (-1: not there), at most 5 s. */
static bool weights_become(struct rig *r, int w1, int w2, int w3)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < 5000) {
		if (fk_weight("198.18.3.1:80") == w1 && fk_weight("198.18.3.2:80") == w2 &&
		    fk_weight("198.18.3.3:80") == w3)
			return true;
		evloop_run_once(r->loop, 20);
	}
	return false;
}

#define CHECKED(first, second) \
	"[virtual_server web]\naddress = 198.18.0.100:80\ncheck = tcp\ncheck_address = 127.0.0.1\n" \
	"check_interval = 100ms\ncheck_timeout = 100ms\ncheck_rise = 1\ncheck_fall = 1\n" \
	"real_servers = " first ", " second "\n"

/* tcp checks decide what is in the table; a reload that moves servers
 * (a new one first) keeps an unchanged server's probe running for it at
 * its new place, and starts a changed one afresh. */
TEST(checks_decide_and_follow_a_reload)
{
	char text[1024], a[64], b[64], c[64];
	uint16_t up, down;
	int lfd = local_port(true, &up);
	struct rig r;

	fk_reset();
	CHECK(lfd >= 0);
	CHECK_EQ_INT(local_port(false, &down), 0);
	snprintf(a, sizeof(a), "198.18.3.1:80 check_port=%u", up);
	snprintf(b, sizeof(b), "198.18.3.2:80 check_port=%u", down);
	snprintf(text, sizeof(text), CONF_HEAD CHECKED("%s", "%s"), a, b);
	if (lfd >= 0 && rig_start(&r, text)) {
		CHECK(weights_become(&r, 1, -1, -1));
		/* .3 (refused) comes first, .2 now accepted, .1 as it was but
		 * last: its probe goes on, and must report for it there. */
		snprintf(b, sizeof(b), "198.18.3.2:80 check_port=%u", up);
		snprintf(c, sizeof(c), "198.18.3.3:80 check_port=%u", down);
		snprintf(text, sizeof(text), CONF_HEAD CHECKED("%s", "%s, %s"), c, b, a);
		rig_reload(&r, text);
		CHECK(weights_become(&r, 1, 1, -1));
		run_for(&r, 400);	/* a few rounds of every probe */
		CHECK_EQ_INT(fk_weight("198.18.3.1:80"), 1);
		CHECK_EQ_INT(fk_weight("198.18.3.2:80"), 1);
		CHECK_EQ_INT(fk_weight("198.18.3.3:80"), -1);
		/* Status names each server's own probe. */
		{
			struct strbuf sb = { 0 };
			char want[64];

			lvs_engine_status_text(r.e, &sb);
			snprintf(want, sizeof(want), "127.0.0.1:%u", down);
			CHECK(sb.buf && strstr(sb.buf, want));
			/* Metrics count its results, and time them. */
			sb_reset(&sb);
			lvs_engine_metrics(r.e, &sb);
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_lvs_check_results_total{virtual_server=\"web\","
						    "real_server=\"198.18.3.3:80\",check=\"tcp\",result=\"pass\"} 0\n");
			CHECK(!strstr(sb_str(&sb), "real_server=\"198.18.3.3:80\",check=\"tcp\",result=\"fail\"} 0\n"));
			CHECK(!strstr(sb_str(&sb), "real_server=\"198.18.3.2:80\",check=\"tcp\",result=\"pass\"} 0\n"));
			CHECK(!strstr(sb_str(&sb), "dsrkit_lvs_check_duration_seconds_count{virtual_server=\"web\","
						   "real_server=\"198.18.3.2:80\",check=\"tcp\"} 0\n"));
			CHECK_CONTAINS(sb_str(&sb), "# TYPE dsrkit_lvs_check_duration_seconds histogram\n");
			sb_free(&sb);
		}
	}
	rig_stop(&r);
	if (lfd >= 0)
		close(lfd);
}

/* n services of one real server each, from 198.18.100.0 on; the first
 * server's weight is w. */
static char *many(size_t n, int w)
{
	struct strbuf sb = { 0 };

	sb_append(&sb, CONF_HEAD);
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "[virtual_server s%zu]\naddress = 198.18.%zu.%zu:80\ncheck = none\n"
			  "real_servers = 198.19.%zu.%zu:80 weight=%d\n", i, 100 + i / 250, 1 + i % 250, i / 250,
			  1 + i % 250, i ? 1 : w);
	return sb.buf;
}

/* More services than one plan holds (RECONCILE_PART): planned and sent
 * in parts, each part's requests in one batch, and the deletions of a
 * reload with the last part. */
TEST(a_large_table_goes_in_parts)
{
	char *text = many(1100, 1);
	struct rig r;

	fk_reset();
	if (text && rig_start(&r, text)) {
		CHECK_EQ_INT(K.nsvcs, 1100);
		CHECK_EQ_INT(K.ndests, 1100);
		CHECK_EQ_INT(fk_ops_total(), 2200);
		CHECK_EQ_INT(K.batches, 2);
		free(text);
		text = many(1000, 5);
		fk_ops_reset();
		rig_reload(&r, text);
		CHECK_EQ_INT(K.ops[IPVS_REQ_SERVICE_DEL], 100);
		CHECK_EQ_INT(K.ops[IPVS_REQ_DEST_EDIT], 1);
		CHECK_EQ_INT(fk_ops_total(), 101);
		CHECK_EQ_INT(K.nsvcs, 1000);
		CHECK_EQ_INT(fk_weight("198.19.0.1:80"), 5);
	}
	free(text);
	rig_stop(&r);
}

/* Status reads each service's entries back with the kernel's counters
 * (the fake counts 7 active and 3 inactive connections on each), beside
 * the weight the kernel holds. */
TEST(status_shows_the_kernels_counters)
{
	struct strbuf sb = { 0 };
	struct json j;
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD WEB(3))) {
		json_init(&j, &sb);
		json_object_begin(&j, NULL);
		lvs_engine_status_json(r.e, &j);
		json_object_end(&j);
		CHECK(sb.buf && strstr(sb.buf, "\"weight\":3,") != NULL);
		CHECK(sb.buf && strstr(sb.buf, "\"active_conns\":7,\"inactive_conns\":3") != NULL);
		sb_reset(&sb);
		lvs_engine_status_text(r.e, &sb);
		CHECK(sb.buf && strstr(sb.buf, " 3/3 ") && strstr(sb.buf, "7/3"));
		sb_free(&sb);
	}
	rig_stop(&r);
}

/* What directorctl doctor probes (proto.h, DIR_STATUS_DOCTOR): the
 * instances with their VIPs, every service with its servers' ports,
 * methods and agent ports, and the traps of directord -t. */
TEST(doctor_targets_lines)
{
	struct strbuf sb = { 0 };
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD "[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 100\n"
			  "virtual_ipaddress = 198.18.0.100/24, 198.18.0.101/24\n" WEB(3) "vrrp = VI_1\n" DNS
			  "[virtual_server api]\naddress = 198.18.0.101:80\ncheck = tcp, agent\nagent_port = 5556\n"
			  "real_servers = 198.18.3.1:8080 method=nat, 198.18.3.2:80 agent_port=5557\n")) {
		lvs_engine_doctor_targets(r.e, &sb);
		CHECK_EQ_STR(sb_str(&sb),
			     "vrrp VI_1 eth0 51 - 198.18.0.100 198.18.0.101\n"
			     "vs web tcp 198.18.0.100 80\n"
			     "rs 198.18.3.1 80 dr 0\n"
			     "rs 198.18.3.2 80 dr 0\n"
			     "vs dns udp 198.18.0.53 53\n"
			     "rs 198.18.3.1 53 dr 0\n"
			     "rs 198.18.3.2 53 dr 0\n"
			     "vs api tcp 198.18.0.101 80\n"
			     "rs 198.18.3.1 8080 nat 5556\n"
			     "rs 198.18.3.2 80 dr 5557\n"
			     "trap /etc/dsrkit/test.ini:20: virtual_server api.check: warning: the agent's maint removes "
			     "servers, and global.ipvs_expire_nodest_conn is not 1: their connections are black-holed until "
			     "they time out\n");
		sb_free(&sb);
	}
	rig_stop(&r);
}

/* Status as JSON, to free. */
static char *status_json(struct rig *r)
{
	struct strbuf sb = { 0 };
	struct json j;

	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	lvs_engine_status_json(r->e, &j);
	json_object_end(&j);
	return sb.buf;
}

/* Only the sysctls the file gives are written, at start and at reload;
 * one the kernel already has is not written again; a key that goes
 * leaves the kernel's value as it is. Status shows each. */
TEST(sysctls_are_written_only_when_configured)
{
	struct strbuf sb = { 0 };
	struct rig r;
	char *js;

	fk_reset();
	K.sysctl[LVS_SYSCTL_SLOPPY_TCP] = 1;	/* the host's, not ours */
	if (rig_start(&r, CONF_HEAD WEB(3))) {
		CHECK_EQ_INT(K.sysctl_writes, 0);
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_SLOPPY_TCP], 1);
		rig_reload(&r, CONF_HEAD "ipvs_expire_nodest_conn = 1\nipvs_expire_quiescent_template = 1\n"
			   "ipvs_conn_reuse_mode = 1\n" WEB(3));
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN], 1);
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE], 1);
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_SLOPPY_TCP], 1);
		/* conn_reuse_mode was 1 already. */
		CHECK_EQ_INT(K.sysctl_writes, 2);
		js = status_json(&r);
		CHECK_CONTAINS(js, "\"sysctls\":{\"expire_nodest_conn\":{\"value\":1,\"configured\":1,\"error\":null}");
		CHECK_CONTAINS(js, "\"sloppy_tcp\":{\"value\":1,\"configured\":null,\"error\":null}");
		free(js);
		lvs_engine_status_text(r.e, &sb);
		CHECK_CONTAINS(sb.buf, "sysctls: expire_nodest_conn 1 (configured 1), expire_quiescent_template 1 "
			       "(configured 1), sloppy_tcp 1, sloppy_sctp 0, conn_reuse_mode 1 (configured 1)\n");
		sb_free(&sb);
		/* Gone from the file: the kernel keeps what it has. */
		K.sysctl_writes = 0;
		rig_reload(&r, CONF_HEAD "ipvs_expire_nodest_conn = 0\n" WEB(3));
		CHECK_EQ_INT(K.sysctl_writes, 1);
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN], 0);
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE], 1);
	}
	rig_stop(&r);
}

/* The metrics of a known table, exactly: states, weights, quorum and
 * the kernel's counters (the fake's: 11 connections, 12/13 packets and
 * 14/15 bytes in/out, 7 active and 3 inactive connections). */
TEST(metrics_show_states_weights_and_counters)
{
	struct strbuf sb = { 0 };
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD WEB(3))) {
		lvs_engine_metrics(r.e, &sb);
		CHECK_CONTAINS(sb_str(&sb), "# TYPE dsrkit_ipvs_up gauge\ndsrkit_ipvs_up 1\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_lvs_virtual_server_quorum{virtual_server=\"web\"} 1\n");
		CHECK_CONTAINS(sb_str(&sb),
			       "dsrkit_lvs_real_server_state{virtual_server=\"web\",real_server=\"198.18.3.1:80\",state=\"up\"} 1\n"
			       "dsrkit_lvs_real_server_state{virtual_server=\"web\",real_server=\"198.18.3.1:80\",state=\"drain\"} 0\n"
			       "dsrkit_lvs_real_server_state{virtual_server=\"web\",real_server=\"198.18.3.1:80\",state=\"down\"} 0\n"
			       "dsrkit_lvs_real_server_state{virtual_server=\"web\",real_server=\"198.18.3.1:80\",state=\"maint\"} 0\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_lvs_real_server_weight{virtual_server=\"web\",real_server=\"198.18.3.1:80\"} 3\n"
					    "dsrkit_lvs_real_server_weight{virtual_server=\"web\",real_server=\"198.18.3.2:80\"} 2\n");
		CHECK_CONTAINS(sb_str(&sb),
			       "dsrkit_lvs_real_server_weight_configured{virtual_server=\"web\",real_server=\"198.18.3.1:80\"} 3\n");
		CHECK_CONTAINS(sb_str(&sb), "# TYPE dsrkit_ipvs_connections_total counter\n"
					    "dsrkit_ipvs_connections_total{virtual_server=\"web\",real_server=\"198.18.3.1:80\"} 11\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_packets_total{virtual_server=\"web\",real_server=\"198.18.3.1:80\",direction=\"in\"} 12\n"
					    "dsrkit_ipvs_packets_total{virtual_server=\"web\",real_server=\"198.18.3.1:80\",direction=\"out\"} 13\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_bytes_total{virtual_server=\"web\",real_server=\"198.18.3.2:80\",direction=\"out\"} 15\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_active_connections{virtual_server=\"web\",real_server=\"198.18.3.2:80\"} 7\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_inactive_connections{virtual_server=\"web\",real_server=\"198.18.3.2:80\"} 3\n");
		CHECK(!strstr(sb_str(&sb), "dsrkit_ipvs_sync_daemon"));	/* not configured */
		CHECK(!strstr(sb_str(&sb), "dsrkit_lvs_check_results_total{"));	/* check = none */
		sb_free(&sb);
	}
	rig_stop(&r);
}

/* A write the kernel refuses (/proc/sys read-only under systemd's
 * ProtectKernelTunables) is logged once with the reason, shown in
 * status, tried again at reload, and cleared once it works. */
TEST(a_failed_sysctl_write_is_logged_once_and_shown)
{
	struct strbuf sb = { 0 };
	struct rig r;
	char *js, *logged;
	int saved;

	fk_reset();
	K.sysctl_fail = -EROFS;
	saved = stderr_away();
	if (rig_start(&r, CONF_HEAD "ipvs_expire_nodest_conn = 1\n" WEB(3))) {
		rig_reload(&r, CONF_HEAD "ipvs_expire_nodest_conn = 1\n" WEB(4));
		logged = stderr_back(saved);
		saved = -1;
		CHECK_EQ_INT(occurrences(logged, "setting net.ipv4.vs.expire_nodest_conn = 1"), 1);
		CHECK_CONTAINS(logged, "ipvs_expire_nodest_conn): /proc/sys is read-only here");
		free(logged);
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN], 0);
		js = status_json(&r);
		CHECK_CONTAINS(js, "\"expire_nodest_conn\":{\"value\":0,\"configured\":1,\"error\":\"/proc/sys is "
			       "read-only here");
		free(js);
		lvs_engine_status_text(r.e, &sb);
		CHECK_CONTAINS(sb.buf, "  error setting expire_nodest_conn = 1: /proc/sys is read-only here");
		sb_free(&sb);
		K.sysctl_fail = 0;
		rig_reload(&r, CONF_HEAD "ipvs_expire_nodest_conn = 1\n" WEB(3));
		CHECK_EQ_INT(K.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN], 1);
		js = status_json(&r);
		CHECK_CONTAINS(js, "\"expire_nodest_conn\":{\"value\":1,\"configured\":1,\"error\":null}");
		free(js);
	}
	if (saved >= 0)
		free(stderr_back(saved));
	rig_stop(&r);
}

/* The sync daemon follows the VRRP state; a stop the kernel never
 * acknowledges (it did stop: tests/vm/10) is read back, so the backup
 * daemon still starts (issue 14's engine death). */
TEST(sync_daemon_follows_vrrp_and_survives_unanswered_stop)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD "ipvs_sync_interface = eth1\nipvs_sync_follow = VI_1\n"
			  "[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 100\n"
			  "virtual_ipaddress = 198.18.0.100/24\n" WEB(3))) {
		lvs_engine_vrrp_state(r.e, "VI_1", VRRP_STATE_MASTER, 100);
		settle(&r);
		CHECK_EQ_INT(K.ndaemons, 1);
		CHECK(K.ndaemons == 1 && K.daemons[0].state == IPVS_DAEMON_MASTER);
		CHECK(K.ndaemons == 1 && strcmp(K.daemons[0].ifname, "eth1") == 0 && K.daemons[0].sync_id == 51);
		/* Its metrics: wanted and running master, in step. */
		{
			struct strbuf sb = { 0 };

			lvs_engine_metrics(r.e, &sb);
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_sync_daemon_wanted{state=\"master\"} 1\n"
						    "dsrkit_ipvs_sync_daemon_wanted{state=\"backup\"} 0\n");
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_sync_daemon_running{state=\"master\"} 1\n"
						    "dsrkit_ipvs_sync_daemon_running{state=\"backup\"} 0\n");
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_sync_daemon_in_step 1\n");
			sb_free(&sb);
		}
		K.del_unanswered = true;
		lvs_engine_vrrp_state(r.e, "VI_1", VRRP_STATE_BACKUP, 100);
		settle(&r);
		CHECK_EQ_INT(K.ndaemons, 1);
		CHECK(K.ndaemons == 1 && K.daemons[0].state == IPVS_DAEMON_BACKUP);
	}
	rig_stop(&r);
}

/* ipvs_sync_mode = both (announced directors, all active): a master and a
 * backup at once, in step; back to following VRRP, the master goes. */
TEST(sync_mode_both_runs_master_and_backup)
{
	struct strbuf sb = { 0 };
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD "ipvs_sync_interface = eth1\nipvs_sync_mode = both\nipvs_sync_id = 7\n" WEB(3))) {
		CHECK_EQ_INT(K.ndaemons, 2);
		CHECK(K.ndaemons == 2 && K.daemons[0].state != K.daemons[1].state);
		CHECK(K.ndaemons == 2 && K.daemons[0].sync_id == 7 && K.daemons[1].sync_id == 7);
		lvs_engine_metrics(r.e, &sb);
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_sync_daemon_wanted{state=\"master\"} 1\n"
					    "dsrkit_ipvs_sync_daemon_wanted{state=\"backup\"} 1\n");
		CHECK_CONTAINS(sb_str(&sb), "dsrkit_ipvs_sync_daemon_in_step 1\n");
		sb_free(&sb);
		lvs_engine_status_text(r.e, &sb);
		CHECK_CONTAINS(sb_str(&sb), "sync daemon: wanted master and backup (ipvs_sync_mode = both)\n");
		sb_free(&sb);
		rig_reload(&r, CONF_HEAD "ipvs_sync_interface = eth1\nipvs_sync_follow = VI_1\nipvs_sync_id = 7\n"
			   "[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 100\n"
			   "virtual_ipaddress = 198.18.0.100/24\n" WEB(3));
		CHECK_EQ_INT(K.ndaemons, 1);
		CHECK(K.ndaemons == 1 && K.daemons[0].state == IPVS_DAEMON_BACKUP);
	}
	rig_stop(&r);
}

/* The configuration as an engine gets it: through the image, which
 * carries the PEM files' contents (the engine reads no file). */
static struct director_config *conf_via_image(const char *text)
{
	struct director_config *loaded = conf(text), *out = NULL;
	struct strbuf sb;

	sb_init(&sb);
	if (loaded) {
		CHECK_EQ_INT(director_config_image(loaded, &sb), 0);
		CHECK_EQ_INT(director_config_from_image(sb.buf, sb.len, &out), 0);
	}
	director_config_free(loaded);
	sb_free(&sb);
	return out;
}

/* The passes of the probe of 127.0.0.1:port so far, from status; -1
 * when status has none. */
static long long https_passes(struct rig *r, uint16_t port)
{
	struct strbuf sb = { 0 };
	char want[64];
	const char *at;
	long long n = -1;

	lvs_engine_status_text(r->e, &sb);
	snprintf(want, sizeof(want), "https 127.0.0.1:%u/health: ", port);
	if (sb.buf && (at = strstr(sb.buf, want)))
		n = strtoll(at + strlen(want), NULL, 10);
	sb_free(&sb);
	return n;
}

#define HTTPS_WEB(ca) \
	"[virtual_server web]\naddress = 198.18.0.100:80\ncheck = https\ncheck_address = 127.0.0.1\n" \
	"check_host = www.test\ncheck_path = /health\n" ca \
	"check_interval = 200ms\ncheck_timeout = 200ms\ncheck_rise = 1\ncheck_fall = 1\n" \
	"real_servers = 198.18.3.1:80 check_port=%u, 198.18.3.2:80 weight=2 check_port=%u\n%s"

/* https checks against openssl s_server decide the weights: with the CA
 * file the server whose certificate expired is out; a reload without it
 * (no verification) lets it in, one with it again takes it out. A reload
 * that changes the service but not its files keeps the probes running. */
TEST(https_checks_decide_weights)
{
	struct tls_server good = { 0 }, expired = { 0 };
	const char *skip = tls_setup();
	char text[8192], ca[PATH_MAX + 32];
	struct rig r = { 0 };

	if (skip)
		SKIP(skip);
	fk_reset();
	CHECK(tls_server_start(&good, "server", NULL));
	CHECK(tls_server_start(&expired, "expired", NULL));
	snprintf(ca, sizeof(ca), "check_ca_file = %s\n", path_of("ca.pem"));
	snprintf(text, sizeof(text), CONF_HEAD HTTPS_WEB("%s"), ca, good.port, expired.port, "");
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(evloop_new(&r.loop), 0);
	r.cfg = conf_via_image(text);
	if (r.loop && r.cfg && lvs_engine_start(r.loop, r.cfg, NULL, &fake, &r.e) == 0) {
		long long before;

		CHECK(weights_become(&r, 1, -1, -1));
		/* The same files, another quorum: the same context, the
		 * probes go on counting. */
		run_for(&r, 500);
		before = https_passes(&r, good.port);
		CHECK(before >= 2);
		snprintf(text, sizeof(text), CONF_HEAD HTTPS_WEB("%s"), ca, good.port, expired.port, "quorum = 1\n"
			 "quorum_hysteresis = 0\ninhibit_on_failure = no\nscheduler = rr\n");
		rig_reload(&r, text);
		CHECK(https_passes(&r, good.port) >= before);
		CHECK(weights_become(&r, 1, -1, -1));
		snprintf(text, sizeof(text), CONF_HEAD HTTPS_WEB("%s"), "", good.port, expired.port, "");
		rig_reload(&r, text);
		CHECK(weights_become(&r, 1, 2, -1));
		snprintf(text, sizeof(text), CONF_HEAD HTTPS_WEB("%s"), ca, good.port, expired.port, "");
		rig_reload(&r, text);
		CHECK(weights_become(&r, 1, -1, -1));
		/* Status says why. */
		{
			struct strbuf sb = { 0 };

			lvs_engine_status_text(r.e, &sb);
			CHECK(sb.buf && strstr(sb.buf, "certificate has expired"));
			sb_free(&sb);
		}
	}
	rig_stop(&r);
	tls_server_stop(&good);
	tls_server_stop(&expired);
	tls_teardown();
}

/* ---- announced services (issue 12) ---- */

#define ANNOUNCED(extra) \
	"[virtual_server web]\naddress = 198.18.0.100:80\ncheck = none\nannounce = yes\n" extra \
	"real_servers = 198.18.3.1:80, 198.18.3.2:80\n" \
	"[virtual_server web6]\naddress = [2001:db8::100]:80\ncheck = none\nannounce = yes\n" \
	"real_servers = [2001:db8::3]:80\n"

/* At start: a killed directord's stale route goes, the VIPs whose
 * services are in IPVS with quorum come; a VRRP-followed service is never
 * announced. */
TEST(announces_at_start_and_removes_stale)
{
	char err[PARSE_ERR_MAX];
	struct rig r;

	fk_reset();
	parse_ipaddr("198.18.9.9", &K.routes[K.nroutes++], err);
	/* A route to a prefix is not a VIP: left, and its first address too. */
	parse_ipaddr("198.18.7.0/24", &K.routes[K.nroutes++], err);
	parse_ipaddr("198.18.7.0", &K.addrs[K.naddrs++], err);
	if (rig_start(&r, CONF_HEAD ANNOUNCED("") DNS)) {
		CHECK(!fk_announced("198.18.9.9"));
		CHECK(fk_announced("198.18.7.0"));
		CHECK_EQ_INT(K.naddrs, 3);
		CHECK(fk_announced("198.18.0.100"));
		CHECK(fk_announced("2001:db8::100"));
		CHECK(!fk_announced("198.18.0.53"));
		CHECK_EQ_INT(K.nroutes, 3);
		CHECK_EQ_INT(K.table, 222);
	}
	rig_stop(&r);
	/* Stopping withdraws them all (ours). */
	CHECK_EQ_INT(K.nroutes, 1);
}

/* An address the administrator put on announce_interface before
 * directord is used and never taken away: not at a start that does not
 * announce it yet (drained), not on withdrawal, not at stop. Ours goes. */
TEST(an_address_already_there_is_left)
{
	struct lvs_drained_list drained = { .director_drained = true };
	char err[PARSE_ERR_MAX];
	struct rig r;

	fk_reset();
	parse_ipaddr("198.18.0.100", &K.addrs[K.naddrs++], err);
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(evloop_new(&r.loop), 0);
	r.cfg = conf(CONF_HEAD ANNOUNCED(""));
	if (r.loop && r.cfg && lvs_engine_start(r.loop, r.cfg, &drained, &fake, &r.e) == 0) {
		settle(&r);
		CHECK_EQ_INT(K.nroutes, 0);
		CHECK_EQ_INT(K.naddrs, 1);	/* not swept at start */
		CHECK_EQ_INT((int)lvs_engine_drain_director(r.e, false), 2);
		CHECK_EQ_INT(K.nroutes, 2);
		CHECK_EQ_INT(K.naddrs, 2);	/* the v6 one added */
		CHECK_EQ_INT((int)lvs_engine_drain_director(r.e, true), 2);
		CHECK_EQ_INT(K.nroutes, 0);
		CHECK_EQ_INT(K.naddrs, 1);	/* the administrator's stays, ours went */
		CHECK_EQ_INT((int)lvs_engine_drain_director(r.e, false), 2);
	}
	rig_stop(&r);
	CHECK_EQ_INT(K.nroutes, 0);
	CHECK_EQ_INT(K.naddrs, 1);
	if (K.naddrs == 1) {
		char a[INET6_ADDRSTRLEN];

		CHECK_EQ_STR(ipaddr_ntop(&K.addrs[0], a, sizeof(a)), "198.18.0.100");
	}
}

/* Stopped before the loop ever ran the start-up pass: a killed
 * directord's routes still go (no one else would withdraw them). */
TEST(stop_before_the_first_pass_withdraws_stale)
{
	char err[PARSE_ERR_MAX];
	struct rig r;

	fk_reset();
	parse_ipaddr("198.18.0.100", &K.routes[K.nroutes++], err);
	parse_ipaddr("198.18.9.9", &K.routes[K.nroutes++], err);
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(evloop_new(&r.loop), 0);
	r.cfg = conf(CONF_HEAD ANNOUNCED(""));
	if (r.loop && r.cfg)
		CHECK_EQ_INT(lvs_engine_start(r.loop, r.cfg, NULL, &fake, &r.e), 0);
	rig_stop(&r);
	CHECK_EQ_INT(K.nroutes, 0);
	CHECK_EQ_INT(K.announce_adds, 0);
}

/* Quorum lost (both servers drained by directorctl): withdrawn; one back:
 * announced again. The other service's VIP stays throughout. */
TEST(quorum_loss_withdraws)
{
	char err[128];
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD ANNOUNCED(""))) {
		CHECK(fk_announced("198.18.0.100"));
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.1:80", LVS_ADMIN_DRAINED, err, sizeof(err)), 0);
		settle(&r);
		CHECK(fk_announced("198.18.0.100"));
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.2:80", LVS_ADMIN_DRAINED, err, sizeof(err)), 0);
		settle(&r);
		CHECK(!fk_announced("198.18.0.100"));
		CHECK(fk_announced("2001:db8::100"));
		{
			struct strbuf sb = { 0 };

			lvs_engine_status_text(r.e, &sb);
			CHECK_CONTAINS(sb_str(&sb), "announced: no (no-quorum)");
			sb_reset(&sb);
			lvs_engine_metrics(r.e, &sb);
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_lvs_virtual_server_announced{virtual_server=\"web\"} 0\n");
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_lvs_virtual_server_announce_state{virtual_server=\"web\","
						    "state=\"no_quorum\"} 1\n");
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_lvs_virtual_server_announced{virtual_server=\"web6\"} 1\n");
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_director_drained 0\n");
			sb_free(&sb);
		}
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.2:80", LVS_ADMIN_ENABLED, err, sizeof(err)), 0);
		settle(&r);
		CHECK(fk_announced("198.18.0.100"));
	}
	rig_stop(&r);
}

/* drain-director withdraws everything; enable-director brings it back. */
TEST(drain_director_withdraws_all)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD ANNOUNCED(""))) {
		CHECK_EQ_INT(K.nroutes, 2);
		CHECK_EQ_INT((int)lvs_engine_drain_director(r.e, true), 2);
		CHECK_EQ_INT(K.nroutes, 0);
		CHECK(lvs_engine_director_drained(r.e));
		settle(&r);
		CHECK_EQ_INT(K.nroutes, 0);
		{
			struct strbuf sb = { 0 };

			lvs_engine_status_text(r.e, &sb);
			CHECK_CONTAINS(sb_str(&sb), "announced: no (drained)");
			sb_reset(&sb);
			lvs_engine_metrics(r.e, &sb);
			CHECK_CONTAINS(sb_str(&sb), "dsrkit_director_drained 1\n");
			sb_free(&sb);
		}
		CHECK_EQ_INT((int)lvs_engine_drain_director(r.e, false), 2);
		CHECK_EQ_INT(K.nroutes, 2);
	}
	rig_stop(&r);
}

/* drain-director's count when withdrawals failed before: what it changed,
 * never a wrapped-around size (it went once as 18446744073709551615). */
TEST(drain_director_counts_what_changed)
{
	char err[128];
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD ANNOUNCED(""))) {
		K.announce_del_fail = -EBUSY;
		CHECK_EQ_INT((int)lvs_engine_drain_director(r.e, true), 0);
		CHECK_EQ_INT(K.nroutes, 2);
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.1:80", LVS_ADMIN_DRAINED, err, sizeof(err)), 0);
		CHECK_EQ_INT(lvs_engine_admin(r.e, "web", "198.18.3.2:80", LVS_ADMIN_DRAINED, err, sizeof(err)), 0);
		settle(&r);
		K.announce_del_fail = 0;
		/* web has no quorum: it goes now; web6 stays. */
		CHECK_EQ_INT((long long)lvs_engine_drain_director(r.e, false), 0);
		CHECK_EQ_INT(K.nroutes, 1);
		CHECK(fk_announced("2001:db8::100"));
	}
	rig_stop(&r);
}

/* A reload to another table whose old routes the kernel will not give up
 * yet: they are withdrawn later (retried), not left for the routing
 * daemon to export for ever, and the address the new routes use stays
 * (ours still: it goes on withdrawal). */
TEST(reload_to_another_table_retries_the_old_routes)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, CONF_HEAD ANNOUNCED(""))) {
		CHECK_EQ_INT(K.nroutes, 2);
		K.announce_del_fail = -EBUSY;
		rig_reload(&r, "[global]\nuser = nobody\nannounce_table = 300\n" ANNOUNCED(""));
		CHECK_EQ_INT(K.nroutes, 4);	/* both tables */
		K.announce_del_fail = 0;
		lvs_engine_drain_director(r.e, false);	/* any pass, as the retry timer's */
		CHECK_EQ_INT(K.nroutes, 2);
		CHECK_EQ_INT(K.naddrs, 2);
		for (size_t i = 0; i < K.nroutes; i++)
			CHECK_EQ_INT(K.route_table[i], 300);
		lvs_engine_drain_director(r.e, true);
		CHECK_EQ_INT(K.nroutes, 0);
		CHECK_EQ_INT(K.naddrs, 0);
	}
	rig_stop(&r);
}

/* The kernel refuses: the service says why, nothing crashes, and a
 * later pass (the retry, or any change) succeeds. A reload to another
 * table moves the routes. A reload that removes the service withdraws it. */
TEST(refusal_is_status_and_retried)
{
	struct rig r;

	fk_reset();
	K.announce_fail = -ENODEV;
	if (rig_start(&r, CONF_HEAD ANNOUNCED(""))) {
		struct strbuf sb = { 0 };

		CHECK_EQ_INT(K.nroutes, 0);
		lvs_engine_status_text(r.e, &sb);
		CHECK_CONTAINS(sb_str(&sb), "announced: no (error: No such device)");
		sb_free(&sb);
		K.announce_fail = 0;
		lvs_engine_drain_director(r.e, false);	/* any pass */
		CHECK_EQ_INT(K.nroutes, 2);
		rig_reload(&r, "[global]\nuser = nobody\nannounce_table = 300\n" ANNOUNCED(""));
		CHECK_EQ_INT(K.table, 300);
		CHECK_EQ_INT(K.nroutes, 2);
		rig_reload(&r, CONF_HEAD "announce_table = 300\n" WEB(3));
		CHECK_EQ_INT(K.nroutes, 0);
	}
	rig_stop(&r);
}

/* The order the kernel is asked to add a service's destinations in, as
 * "last octets" ("1 2 3"). */
static void fk_dest_order(char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < K.ndests && len + 5 < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%u", i ? " " : "",
					(unsigned)((const unsigned char *)&K.dests[i].d.addr.u.v4)[3]);
}

/* mh builds its table by walking the service's destinations in the
 * order they were added: every director adds them in one order, sorted
 * by family, address and port, whatever the order of the file. */
TEST(destinations_are_added_in_one_canonical_order)
{
	static const char *const lists[] = {
		"198.18.3.3:80, 198.18.3.1:80, 198.18.3.2:80",
		"198.18.3.2:80, 198.18.3.3:80, 198.18.3.1:80",
		"198.18.3.1:80, 198.18.3.2:80, 198.18.3.3:80",
	};
	char text[512], order[64];
	struct rig r;

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		fk_reset();
		snprintf(text, sizeof(text), CONF_HEAD "[virtual_server web]\naddress = 198.18.0.100:80\n"
			 "announce = yes\ncheck = none\nreal_servers = %s\n", lists[i]);
		if (rig_start(&r, text)) {
			fk_dest_order(order, sizeof(order));
			CHECK_EQ_STR(order, "1 2 3");
			CHECK_EQ_INT(K.batches, 1);
		}
		rig_stop(&r);
	}
}

TEST_MAIN(T(destinations_are_added_in_one_canonical_order), T(sync_mode_both_runs_master_and_backup), T(announces_at_start_and_removes_stale), T(an_address_already_there_is_left), T(stop_before_the_first_pass_withdraws_stale), T(quorum_loss_withdraws), T(drain_director_withdraws_all), T(drain_director_counts_what_changed), T(reload_to_another_table_retries_the_old_routes), T(refusal_is_status_and_retried), T(metrics_show_states_weights_and_counters), T(programs_the_table_from_cold), T(reload_sends_only_the_difference), T(adopts_what_the_kernel_has), T(status_shows_the_kernels_counters), T(checks_decide_and_follow_a_reload), T(a_large_table_goes_in_parts),
	  T(drain_and_enable), T(sync_daemon_follows_vrrp_and_survives_unanswered_stop),
	  T(https_checks_decide_weights), T(sysctls_are_written_only_when_configured),
	  T(a_failed_sysctl_write_is_logged_once_and_shown), T(doctor_targets_lines))
