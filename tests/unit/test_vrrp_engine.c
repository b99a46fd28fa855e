/* Unit tests of the VRRP engine's logic (vrrp_engine.c) through its
 * kernel seam (struct vrrp_kernel_ops, vrrp_net.h): interfaces, an
 * address table, a route table, the VRRP sockets and the link watch live
 * in memory, so elections, VIPs, tracking, reload, stop and retries are
 * checked without root. The engine runs on a real loop with real time, at
 * a 20 ms advert interval, every wait bounded. The real kernel is the
 * netns tests' (tests/netns/1xx-director-*). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "directord.h"
#include "evloop.h"
#include "test.h"
#include "test_director_conf.h"
#include "test_stderr.h"
#include "vrrp.h"
#include "vrrp_net.h"

/* ---- the kernel in memory ---- */

#define FK_IFS 4
#define FK_ADDRS 32
#define FK_ROUTES 16
#define FK_SOCKS 8
#define FK_RXQ 16
#define FK_LOG 512
#define FK_EVENTS 16

struct fk_if {
	int ifindex;
	char name[IF_NAMESIZE];
	bool running;
};

struct fk_addr {
	int ifindex;
	struct ipaddr addr;
	bool tentative;		/* IPv6 in duplicate address detection */
};

struct fk_packet {
	struct ipaddr src, dst;
	uint8_t ttl;
	uint8_t buf[VRRP_PACKET_MAX];
	size_t len;
};

struct fk_sock {
	bool open;
	int efd;		/* readable while packets wait */
	int ifindex;
	int family;
	struct ipaddr peers[4];
	size_t npeers;
	struct fk_packet q[FK_RXQ];
	size_t head, n;
	struct fk_packet cur;	/* what the last vrrp_rx points into */
};

/* One advert sent, as read back from its bytes. */
struct fk_sent {
	int ifindex;
	struct ipaddr dst;
	uint8_t version, vrid, priority, naddrs;
};

struct fk_addr_op {
	bool add;
	int ifindex;
	struct ipaddr addr;
	unsigned flags;		/* RTNL_ADDR_* of an add */
};

struct fk_announce {
	int ifindex;
	struct ipaddr vip;
};

/* One call of the engine's state callback, with what the address and
 * route tables held at that moment. */
struct fk_state {
	char name[64];
	int state, priority;
	size_t naddrs, nroutes;
	uint64_t at_ms;
};

static struct fake_kernel {
	struct fk_if ifs[FK_IFS];
	size_t nifs;
	struct fk_addr addrs[FK_ADDRS];
	size_t naddrs;
	struct rtnl_route_spec routes[FK_ROUTES];
	size_t nroutes;
	struct fk_sock socks[FK_SOCKS];
	int sock_open_error;	/* sock_open fails with it while set */
	unsigned sock_opens, sock_open_calls, sock_closes;
	bool sock_unpollable;	/* sock_open hands out a descriptor epoll refuses */
	struct fk_sent sent[FK_LOG];
	size_t nsent;
	struct fk_addr_op addr_ops[FK_LOG];
	size_t naddr_ops;
	struct fk_announce announced[FK_LOG];
	size_t nannounced;
	struct fk_state states[FK_LOG];
	size_t nstates;
	struct rtnl_event events[FK_EVENTS];
	size_t nevents;
	bool overrun;		/* the next watch read reports lost events */
	int watch_fd;
	unsigned rtnl_opens, rtnl_closes, watch_opens, watch_closes, announcer_news, announcer_frees;
} K;

static char fk_handle_byte;	/* the handles the fake gives: never looked into */

static struct ipaddr ip(const char *s)
{
	char err[PARSE_ERR_MAX];
	struct ipaddr a;

	if (parse_ipaddr(s, &a, err) < 0) {
		fprintf(stderr, "  bad address %s: %s\n", s, err);
		test_failed_checks++;
		memset(&a, 0, sizeof(a));
	}
	return a;
}

static void wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		test_failed_checks++;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* -- rtnetlink -- */

static int fk_rtnl_open(struct rtnl **out)
{
	K.rtnl_opens++;
	*out = (struct rtnl *)&fk_handle_byte;
	return 0;
}

static void fk_rtnl_close(struct rtnl *r)
{
	(void)r;
	K.rtnl_closes++;
}

static struct fk_if *fk_if_by_index(int ifindex)
{
	for (size_t i = 0; i < K.nifs; i++)
		if (K.ifs[i].ifindex == ifindex)
			return &K.ifs[i];
	return NULL;
}

static int fk_ifindex(struct rtnl *r, const char *name)
{
	(void)r;
	for (size_t i = 0; i < K.nifs; i++)
		if (strcmp(K.ifs[i].name, name) == 0)
			return K.ifs[i].ifindex;
	return -ENODEV;
}

static int fk_link_get(struct rtnl *r, int ifindex, struct rtnl_ifinfo *out)
{
	const struct fk_if *f = fk_if_by_index(ifindex);

	(void)r;
	if (!f)
		return -ENODEV;
	memset(out, 0, sizeof(*out));
	out->ifindex = f->ifindex;
	strlcpy_safe(out->name, f->name, sizeof(out->name));
	out->up = out->running = f->running;
	out->arp_ignore = out->arp_announce = -1;
	return 0;
}

static long fk_addr_find(int ifindex, const struct ipaddr *a)
{
	for (size_t i = 0; i < K.naddrs; i++)
		if (K.addrs[i].ifindex == ifindex && ipaddr_equal(&K.addrs[i].addr, a))
			return (long)i;
	return -1;
}

static int fk_addr_list(struct rtnl *r, int ifindex, struct rtnl_addrinfo **out, size_t *n)
{
	(void)r;
	*n = 0;
	*out = calloc(FK_ADDRS, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < K.naddrs; i++)
		if (K.addrs[i].ifindex == ifindex)
			(*out)[(*n)++] = (struct rtnl_addrinfo){ .addr = K.addrs[i].addr, .tentative = K.addrs[i].tentative };
	return 0;
}

static void fk_log_addr_op(bool add, int ifindex, const struct ipaddr *a, unsigned flags)
{
	if (K.naddr_ops < FK_LOG)
		K.addr_ops[K.naddr_ops++] = (struct fk_addr_op){ add, ifindex, *a, flags };
}

static int fk_addr_add(struct rtnl *r, int ifindex, const struct ipaddr *a, const struct rtnl_addr_opts *opts)
{
	(void)r;
	if (!fk_if_by_index(ifindex))
		return -ENODEV;
	fk_log_addr_op(true, ifindex, a, opts ? opts->flags : 0);
	if (fk_addr_find(ifindex, a) >= 0)
		return 0;	/* make it so */
	if (K.naddrs == FK_ADDRS)
		return -ENOSPC;
	K.addrs[K.naddrs++] = (struct fk_addr){ ifindex, *a, false };
	return 0;
}

static int fk_addr_del(struct rtnl *r, int ifindex, const struct ipaddr *a)
{
	long i = fk_addr_find(ifindex, a);

	(void)r;
	fk_log_addr_op(false, ifindex, a, 0);
	if (i >= 0)
		K.addrs[i] = K.addrs[--K.naddrs];
	return 0;
}

static bool same_route(const struct rtnl_route_spec *a, const struct rtnl_route_spec *b)
{
	return ipaddr_equal(&a->dst, &b->dst) && a->dst.prefixlen == b->dst.prefixlen && a->table == b->table &&
	       a->metric == b->metric;
}

static long fk_route_find(const struct rtnl_route_spec *rt)
{
	for (size_t i = 0; i < K.nroutes; i++)
		if (same_route(&K.routes[i], rt))
			return (long)i;
	return -1;
}

static int fk_route_add(struct rtnl *r, const struct rtnl_route_spec *rt)
{
	(void)r;
	if (fk_route_find(rt) >= 0)
		return 0;
	if (K.nroutes == FK_ROUTES)
		return -ENOSPC;
	K.routes[K.nroutes++] = *rt;
	return 0;
}

static int fk_route_del(struct rtnl *r, const struct rtnl_route_spec *rt)
{
	long i = fk_route_find(rt);

	(void)r;
	if (i >= 0)
		K.routes[i] = K.routes[--K.nroutes];
	return 0;
}

/* -- the link watch -- */

static int fk_watch_open(struct rtnl_watch **out, int *fd)
{
	K.watch_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (K.watch_fd < 0)
		return -errno;
	K.watch_opens++;
	*out = (struct rtnl_watch *)&fk_handle_byte;
	*fd = K.watch_fd;
	return 0;
}

static int fk_watch_read(struct rtnl_watch *w, rtnl_event_cb cb, void *arg)
{
	size_t n = K.nevents;
	bool lost = K.overrun;

	(void)w;
	drain(K.watch_fd);
	K.nevents = 0;
	K.overrun = false;
	for (size_t i = 0; i < n; i++)
		cb(&K.events[i], arg);
	return lost ? -ENOBUFS : 0;
}

static void fk_watch_close(struct rtnl_watch *w)
{
	(void)w;
	close(K.watch_fd);
	K.watch_fd = -1;
	K.watch_closes++;
}

/* -- VRRP sockets -- */

static int fk_sock_open(const struct vrrp_sock_conf *conf, struct vrrp_sock **out, int *fd)
{
	K.sock_open_calls++;
	if (K.sock_open_error)
		return K.sock_open_error;
	for (size_t i = 0; i < FK_SOCKS; i++) {
		struct fk_sock *s = &K.socks[i];

		if (s->open)
			continue;
		memset(s, 0, sizeof(*s));
		s->efd = K.sock_unpollable ? memfd_create("fk-sock", MFD_CLOEXEC) : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->efd < 0)
			return -errno;
		s->open = true;
		s->ifindex = conf->ifindex;
		s->family = conf->family;
		for (size_t p = 0; p < conf->npeers && p < ARRAY_SIZE(s->peers); p++)
			s->peers[s->npeers++] = conf->peers[p];
		K.sock_opens++;
		*out = (struct vrrp_sock *)s;
		*fd = s->efd;
		return 0;
	}
	return -EMFILE;
}

static void fk_sock_close(struct vrrp_sock *vs)
{
	struct fk_sock *s = (struct fk_sock *)vs;

	close(s->efd);
	s->open = false;
	K.sock_closes++;
}

/* The advert's header read back from the bytes the engine encoded. */
static void fk_log_sent(const struct fk_sock *s, const struct ipaddr *dst, const uint8_t *msg, int len)
{
	if (len < 8 || K.nsent == FK_LOG)
		return;
	K.sent[K.nsent++] = (struct fk_sent){ .ifindex = s->ifindex, .dst = *dst, .version = msg[0] >> 4,
					      .vrid = msg[1], .priority = msg[2], .naddrs = msg[3] };
}

static int fk_sock_send_each(struct vrrp_sock *vs, vrrp_encode_fn encode, void *arg)
{
	struct fk_sock *s = (struct fk_sock *)vs;
	struct ipaddr group = ip(s->family == AF_INET ? "224.0.0.18" : "ff02::12");
	uint8_t buf[VRRP_PACKET_MAX];
	int len;

	if (!s->npeers) {
		if ((len = encode(&group, buf, sizeof(buf), arg)) < 0)
			return len;
		fk_log_sent(s, &group, buf, len);
	}
	for (size_t i = 0; i < s->npeers; i++) {
		if ((len = encode(&s->peers[i], buf, sizeof(buf), arg)) < 0)
			return len;
		fk_log_sent(s, &s->peers[i], buf, len);
	}
	return 0;
}

static int fk_sock_recv(struct vrrp_sock *vs, struct vrrp_rx *rx, enum vrrp_drop *why)
{
	struct fk_sock *s = (struct fk_sock *)vs;

	*why = VRRP_OK;
	if (!s->n) {
		drain(s->efd);
		return -EAGAIN;
	}
	s->cur = s->q[s->head];
	s->head = (s->head + 1) % FK_RXQ;
	s->n--;
	*rx = (struct vrrp_rx){ .src = s->cur.src, .dst = s->cur.dst, .ttl = s->cur.ttl, .ifindex = s->ifindex,
				.payload = s->cur.buf, .len = s->cur.len };
	return 0;
}

/* -- announcements -- */

static int fk_announcer_new(struct vrrp_announcer **out)
{
	K.announcer_news++;
	*out = (struct vrrp_announcer *)&fk_handle_byte;
	return 0;
}

static void fk_announcer_free(struct vrrp_announcer *a)
{
	if (a)
		K.announcer_frees++;
}

static int fk_announce(struct vrrp_announcer *a, int ifindex, const struct ipaddr *vip)
{
	(void)a;
	if (K.nannounced < FK_LOG)
		K.announced[K.nannounced++] = (struct fk_announce){ ifindex, *vip };
	return 0;
}

/* The process watch: the test queues counts, the engine reads them. */
static struct {
	int efd;
	unsigned opens, closes;
	struct proc_watch_event q[16];
	size_t n;
	int read_ret;		/* what the next read returns after delivering */
} PW = { .efd = -1 };

static char fk_pw_handle;

static int fk_proc_watch_open(const struct track_process_conf *tracks, unsigned flags, struct proc_watch **out,
			      int *fd)
{
	(void)tracks;
	(void)flags;
	if ((PW.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	PW.opens++;
	*out = (struct proc_watch *)&fk_pw_handle;
	*fd = PW.efd;
	return 0;
}

static int fk_proc_watch_read(struct proc_watch *w, proc_watch_cb cb, void *arg)
{
	(void)w;
	drain(PW.efd);
	for (size_t i = 0; i < PW.n; i++)
		cb(&PW.q[i], arg);
	PW.n = 0;
	return PW.read_ret;
}

static void fk_proc_watch_close(struct proc_watch *w)
{
	(void)w;
	close(PW.efd);
	PW.efd = -1;
	PW.closes++;
}

static void fk_process_count(unsigned index, unsigned count)
{
	if (PW.n < 16)
		PW.q[PW.n++] = (struct proc_watch_event){ PROC_WATCH_COUNT, index, count };
	wake(PW.efd);
}

/* The engine's allocations: the fail_at-th from now fails (0: none). */
static struct {
	long calls, fail_at;
	bool failed;
} FC;

static void *fk_calloc(size_t n, size_t size)
{
	if (FC.fail_at && ++FC.calls == FC.fail_at) {
		FC.failed = true;
		return NULL;
	}
	return calloc(n, size);
}

static const struct vrrp_kernel_ops fake = {
	.sock_open = fk_sock_open,
	.sock_send_each = fk_sock_send_each,
	.sock_recv = fk_sock_recv,
	.sock_close = fk_sock_close,
	.announcer_new = fk_announcer_new,
	.announce = fk_announce,
	.announcer_free = fk_announcer_free,
	.rtnl_open = fk_rtnl_open,
	.rtnl_close = fk_rtnl_close,
	.ifindex = fk_ifindex,
	.link_get = fk_link_get,
	.addr_list = fk_addr_list,
	.addr_add = fk_addr_add,
	.addr_del = fk_addr_del,
	.route_add = fk_route_add,
	.route_del = fk_route_del,
	.watch_open = fk_watch_open,
	.watch_read = fk_watch_read,
	.watch_close = fk_watch_close,
	.proc_watch_open = fk_proc_watch_open,
	.proc_watch_read = fk_proc_watch_read,
	.proc_watch_close = fk_proc_watch_close,
	.calloc = fk_calloc,
};

/* -- the test's hands on the fake -- */

static void fk_add_if(int ifindex, const char *name, bool running)
{
	K.ifs[K.nifs].ifindex = ifindex;
	strlcpy_safe(K.ifs[K.nifs].name, name, sizeof(K.ifs[K.nifs].name));
	K.ifs[K.nifs++].running = running;
}

static void fk_put_addr(int ifindex, const char *a)
{
	if (K.naddrs == FK_ADDRS)
		return;
	K.addrs[K.naddrs++] = (struct fk_addr){ ifindex, ip(a), false };
}

/* eth0 (2) with 192.0.2.1/24, eth1 (3) with 198.18.1.1/24, both running. */
static void fk_reset(void)
{
	memset(&K, 0, sizeof(K));
	K.watch_fd = -1;
	fk_add_if(1, "lo", true);
	fk_add_if(2, "eth0", true);
	fk_add_if(3, "eth1", true);
	fk_put_addr(2, "192.0.2.1/24");
	fk_put_addr(2, "fe80::1/64");
	fk_put_addr(3, "198.18.1.1/24");
}

static void fk_clear_logs(void)
{
	K.nsent = K.naddr_ops = K.nannounced = K.nstates = 0;
}

static void fk_event(enum rtnl_event_type type, int ifindex)
{
	const struct fk_if *f = fk_if_by_index(ifindex);

	if (K.nevents == FK_EVENTS) {
		test_failed_checks++;
		return;
	}
	K.events[K.nevents] = (struct rtnl_event){ .type = type, .ifindex = ifindex };
	if (f)
		strlcpy_safe(K.events[K.nevents].ifname, f->name, sizeof(K.events[K.nevents].ifname));
	K.nevents++;
	wake(K.watch_fd);
}

/* A link changes and the watch tells (RTM_NEWLINK either way). */
static void fk_set_link(int ifindex, bool running)
{
	fk_if_by_index(ifindex)->running = running;
	fk_event(RTNL_EV_LINK_NEW, ifindex);
}

/* A peer's VRRPv3 advert for vrid on ifindex (every socket on the link
 * gets it, as raw sockets do), listing one VIP. */
static void fk_receive_advert(int ifindex, const char *src, uint8_t vrid, uint8_t priority, const char *vip)
{
	static struct vrrp_advert a;
	struct ipaddr from = ip(src), group = ip("224.0.0.18");
	struct fk_packet p = { .src = from, .dst = group, .ttl = VRRP_TTL };
	int len;

	a = (struct vrrp_advert){ .version = 3, .vrid = vrid, .priority = priority, .interval_cs = 2,
				  .family = AF_INET, .naddrs = 1 };
	a.addrs[0] = ip(vip);
	a.addrs[0].has_prefix = false;
	len = vrrp_encode(&a, &from, &group, true, p.buf, sizeof(p.buf));
	CHECK(len > 0);
	p.len = len > 0 ? (size_t)len : 0;
	for (size_t i = 0; i < FK_SOCKS; i++) {
		struct fk_sock *s = &K.socks[i];

		if (!s->open || s->ifindex != ifindex || s->n == FK_RXQ)
			continue;
		s->q[(s->head + s->n++) % FK_RXQ] = p;
		wake(s->efd);
	}
}

static bool fk_has_addr(int ifindex, const char *a)
{
	struct ipaddr x = ip(a);

	return fk_addr_find(ifindex, &x) >= 0;
}

static unsigned fk_addr_ops_on(const char *a, bool add)
{
	struct ipaddr x = ip(a);
	unsigned n = 0;

	for (size_t i = 0; i < K.naddr_ops; i++)
		if (K.addr_ops[i].add == add && ipaddr_equal(&K.addr_ops[i].addr, &x))
			n++;
	return n;
}

/* The flags of the last add of address a; ~0u: never added. */
static unsigned fk_add_flags(const char *a)
{
	struct ipaddr x = ip(a);
	unsigned flags = ~0u;

	for (size_t i = 0; i < K.naddr_ops; i++)
		if (K.addr_ops[i].add && ipaddr_equal(&K.addr_ops[i].addr, &x))
			flags = K.addr_ops[i].flags;
	return flags;
}

static bool fk_has_route(const char *dst)
{
	struct rtnl_route_spec rt = { .dst = ip(dst) };

	return fk_route_find(&rt) >= 0;
}

static unsigned fk_sent_count(uint8_t vrid)
{
	unsigned n = 0;

	for (size_t i = 0; i < K.nsent; i++)
		n += K.sent[i].vrid == vrid;
	return n;
}

/* The priority of the last advert for vrid; -1 when none was sent. */
static int fk_last_priority(uint8_t vrid)
{
	for (size_t i = K.nsent; i-- > 0;)
		if (K.sent[i].vrid == vrid)
			return K.sent[i].priority;
	return -1;
}

static unsigned fk_announced(int ifindex, const char *vip)
{
	struct ipaddr x = ip(vip);
	unsigned n = 0;

	for (size_t i = 0; i < K.nannounced; i++)
		n += K.announced[i].ifindex == ifindex && ipaddr_equal(&K.announced[i].vip, &x);
	return n;
}

static unsigned fk_open_socks(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < FK_SOCKS; i++)
		n += K.socks[i].open;
	return n;
}

/* ---- the engine on a loop of its own ---- */

#define HEAD "[global]\nuser = nobody\n"
/* 20 ms adverts: Master_Down at priority 100 is 72 ms. Two announcements
 * at once and no repeat, so their number is exact. */
#define TIMING "advert_interval = 20ms\ngarp_count = 2\ngarp_repeat_delay = 0s\n"
#define VI_1(prio, extra) \
	"[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = " #prio "\n" TIMING \
	"virtual_ipaddress = 192.0.2.100/24\n" extra
#define WAIT_MS 2000

struct rig {
	struct evloop *loop;
	struct director_config *cfg;
	struct vrrp_engine *e;
	uint64_t started_ms;
};

static void record_state(const char *instance, int state, int priority, void *arg)
{
	struct fk_state *s;

	(void)arg;
	if (K.nstates == FK_LOG)
		return;
	s = &K.states[K.nstates];
	strlcpy_safe(s->name, instance, sizeof(s->name));
	s->state = state;
	s->priority = priority;
	s->naddrs = K.naddrs;
	s->nroutes = K.nroutes;
	s->at_ms = now_ms();
	K.nstates++;
}

/* The last state the engine told for instance (NULL: none yet). */
static const struct fk_state *last_state(const char *instance)
{
	for (size_t i = K.nstates; i-- > 0;)
		if (strcasecmp(K.states[i].name, instance) == 0)
			return &K.states[i];
	return NULL;
}

/* -1: none told yet. */
static int state_of(const char *instance)
{
	const struct fk_state *s = last_state(instance);

	return s ? s->state : -1;
}

static unsigned states_told(const char *instance)
{
	unsigned n = 0;

	for (size_t i = 0; i < K.nstates; i++)
		n += strcasecmp(K.states[i].name, instance) == 0;
	return n;
}

/* Run the loop for ms (bounded in iterations too). */
static void run_for(struct rig *r, unsigned ms)
{
	uint64_t t0 = now_ms();

	for (int i = 0; i < 10000 && now_ms() - t0 < ms; i++)
		evloop_run_once(r->loop, 5);
}

/* Run the loop until instance is in state, at most ms. */
static bool wait_state_within(struct rig *r, const char *instance, int state, unsigned ms)
{
	uint64_t t0 = now_ms();

	for (int i = 0; i < 10000 && now_ms() - t0 < ms; i++) {
		if (state_of(instance) == state)
			return true;
		evloop_run_once(r->loop, 5);
	}
	return state_of(instance) == state;
}

static bool wait_state(struct rig *r, const char *instance, int state)
{
	return wait_state_within(r, instance, state, WAIT_MS);
}

/* Run the loop until vrid's last advert has priority, at most WAIT_MS. */
static bool wait_priority(struct rig *r, uint8_t vrid, int priority)
{
	uint64_t t0 = now_ms();

	for (int i = 0; i < 10000 && now_ms() - t0 < WAIT_MS; i++) {
		if (fk_last_priority(vrid) == priority)
			return true;
		evloop_run_once(r->loop, 5);
	}
	return fk_last_priority(vrid) == priority;
}

struct peer {
	int ifindex;
	const char *src;
	uint8_t vrid, priority;
	const char *vip;
};

#define PEER_1(prio) (struct peer){ 2, "192.0.2.2", 51, prio, "192.0.2.100" }
#define PEER_B(prio) (struct peer){ 3, "198.18.1.2", 52, prio, "198.18.1.100" }

/* A peer advertising for ms while the loop runs: every 10 ms, twice its
 * interval's rate, so a busy test machine cannot make it look silent. */
static void run_with_peer(struct rig *r, unsigned ms, struct peer p)
{
	uint64_t t0 = now_ms();

	for (int i = 0; i < 1000 && now_ms() - t0 < ms; i++) {
		fk_receive_advert(p.ifindex, p.src, p.vrid, p.priority, p.vip);
		run_for(r, 10);
	}
}

static bool rig_start(struct rig *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	CHECK_EQ_INT(evloop_new(&r->loop), 0);
	r->cfg = conf(text);
	if (!r->loop || !r->cfg)
		return false;
	r->started_ms = now_ms();
	CHECK_EQ_INT(vrrp_engine_start(r->loop, r->cfg, record_state, NULL, &fake, &r->e), 0);
	return r->e != NULL;
}

static void rig_stop(struct rig *r)
{
	if (r->e)
		vrrp_engine_stop(r->e);
	r->e = NULL;
	director_config_free(r->cfg);
	if (r->loop)
		evloop_free(r->loop);
	CHECK_EQ_INT(fk_open_socks(), 0);
	CHECK_EQ_INT(K.rtnl_closes, K.rtnl_opens);
	CHECK_EQ_INT(K.watch_closes, K.watch_opens);
	CHECK_EQ_INT(K.announcer_frees, K.announcer_news);
}

/* A reload as the engine process does it: the old file goes after. */
static void rig_reload(struct rig *r, const char *text)
{
	struct director_config *fresh = conf(text);

	if (!fresh)
		return;
	CHECK_EQ_INT(vrrp_engine_reload(r->e, fresh), 0);
	director_config_free(r->cfg);
	r->cfg = fresh;
}

static char *status_text(struct rig *r)
{
	struct strbuf sb;
	char *s;

	sb_init(&sb);
	vrrp_engine_status_text(r->e, &sb);
	s = strdup(sb_str(&sb));
	sb_free(&sb);
	return s;
}

/* The lines of text that start with prefix. */
static void lines_with(const char *text, const char *prefix, struct strbuf *got)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0)
			sb_appendn(got, p, n);
		p += n;
	}
}

static void check_metric_lines(const char *text, const char *prefix, const char *want)
{
	struct strbuf got;

	sb_init(&got);
	lines_with(text, prefix, &got);
	CHECK_EQ_STR(sb_str(&got), want);
	sb_free(&got);
}

/* ---- the tests ---- */

/* Alone on the link: BACKUP first, MASTER once Master_Down has run out
 * (never sooner), the advert going out, the VIP on eth0 and announced. */
TEST(lone_instance_becomes_master_after_master_down)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, ""))) {
		CHECK(!fk_has_addr(2, "192.0.2.100"));	/* not before the election */
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK_EQ_INT(K.nstates, 2);
		CHECK_EQ_INT(K.states[0].state, VRRP_STATE_BACKUP);
		CHECK_EQ_INT(K.states[1].state, VRRP_STATE_MASTER);
		CHECK_EQ_INT(K.states[1].priority, 100);
		CHECK(K.states[1].at_ms - r.started_ms >= vrrp_master_down_ms(3, 100, 2));
		CHECK(fk_has_addr(2, "192.0.2.100"));
		/* Without DAD (a takeover cannot wait for it) and deprecated
		 * (an IPv6 VIP must never become the source of the director's
		 * own checks; rtnl ignores both for IPv4). */
		CHECK_EQ_INT(fk_add_flags("192.0.2.100"), RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED);
		CHECK_EQ_INT(fk_announced(2, "192.0.2.100"), 2);
		run_for(&r, 100);
		CHECK(fk_sent_count(51) >= 3);	/* the takeover's and every 20 ms since */
		CHECK_EQ_INT(fk_last_priority(51), 100);
		CHECK(K.nsent && K.sent[0].version == 3 && K.sent[0].naddrs == 1 && K.sent[0].ifindex == 2);
		CHECK(K.nsent && ipaddr_equal(&K.sent[0].dst, &(struct ipaddr){ .family = AF_INET, .u.bytes = { 224, 0, 0, 18 } }));
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_MASTER);
	}
	rig_stop(&r);
}

/* A peer with a higher priority: the master steps down, its VIP and its
 * route go before the change is told, and it stays BACKUP while the peer
 * advertises; when the peer falls silent it takes over again. */
TEST(higher_priority_peer_makes_master_backup)
{
	struct rig r;
	const struct fk_state *s;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, "virtual_routes = 198.18.5.0/24 via 192.0.2.254\n"))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK(fk_has_route("198.18.5.0/24"));
		fk_receive_advert(2, "192.0.2.2", 51, 200, "192.0.2.100");
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_BACKUP));
		s = last_state("VI_1");
		CHECK(s && s->naddrs == 3 && s->nroutes == 0);	/* eth0's two, eth1's one: the VIP gone */
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		CHECK(!fk_has_route("198.18.5.0/24"));
		run_with_peer(&r, 300, PEER_1(200));
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_BACKUP);
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		/* Another VRID's adverts are not ours. */
		fk_receive_advert(2, "192.0.2.3", 99, 250, "192.0.2.100");
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK(fk_has_addr(2, "192.0.2.100"));
		CHECK(fk_has_route("198.18.5.0/24"));
	}
	rig_stop(&r);
}

/* A tracked interface with a weight moves the priority the adverts carry,
 * down and back. */
TEST(tracked_interface_weight_moves_priority)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, "track_interface = eth1 weight -50\n"))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK_EQ_INT(fk_last_priority(51), 100);
		fk_set_link(3, false);
		CHECK(wait_priority(&r, 51, 50));
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_MASTER);
		fk_set_link(3, true);
		CHECK(wait_priority(&r, 51, 100));
		CHECK_EQ_INT(states_told("VI_1"), 2);	/* BACKUP, MASTER: no other change */
	}
	rig_stop(&r);
}

/* Without a weight a tracked interface that goes down is a Fault: the VIP
 * goes; back up, the instance elects itself again. */
TEST(tracked_interface_down_is_fault_and_recovers)
{
	struct rig r;
	const struct fk_state *s;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, "track_interface = eth1\n"))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		fk_set_link(3, false);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_FAULT));
		s = last_state("VI_1");
		CHECK(s && s->naddrs == 3);
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		fk_clear_logs();
		run_for(&r, 100);
		CHECK_EQ_INT(fk_sent_count(51), 0);	/* Fault is silent */
		fk_set_link(3, true);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK_EQ_INT(K.nstates, 2);
		CHECK_EQ_INT(K.states[0].state, VRRP_STATE_BACKUP);
		CHECK(fk_has_addr(2, "192.0.2.100"));
	}
	rig_stop(&r);
}

/* A tracked process (weight 0) whose count drops below its quorum puts
 * the instance in Fault after terminate_delay, not before; back, it
 * recovers after fork_delay. A reload with the same section keeps the
 * verdict and the watch; a changed one restarts the watch. */
#define TP "[track_process hp]\nprocess = haproxy\nterminate_delay = 300ms\nfork_delay = 100ms\n"
TEST(tracked_process_gone_is_fault_after_its_delay)
{
	struct rig r;
	uint64_t t0;

	fk_reset();
	if (rig_start(&r, HEAD TP VI_1(100, "track_process = hp\n"))) {
		fk_process_count(0, 1);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		t0 = now_ms();
		fk_process_count(0, 0);
		run_for(&r, 200);
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_MASTER);	/* within terminate_delay */
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_FAULT));
		CHECK(now_ms() - t0 >= 300);
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		t0 = now_ms();
		fk_process_count(0, 1);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK(now_ms() - t0 >= 100);
		rig_reload(&r, HEAD TP VI_1(100, "track_process = hp\n"));
		run_for(&r, 100);
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_MASTER);
		CHECK_EQ_INT(PW.opens, 1);			/* same section: same watch */
		rig_reload(&r, HEAD TP "quorum = 2\n" VI_1(100, "track_process = hp\n"));
		CHECK_EQ_INT(PW.opens, 2);			/* changed: a new watch */
		CHECK_EQ_INT(PW.closes, 1);
		fk_process_count(0, 1);				/* 1 < quorum 2 */
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_FAULT));
		/* The watch ends: the verdict stays; a reload starts a new one. */
		PW.read_ret = -EPIPE;
		fk_process_count(0, 2);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));	/* the count it gave before ending */
		PW.read_ret = 0;
		CHECK_EQ_INT(PW.closes, 2);
		rig_reload(&r, HEAD TP "quorum = 2\n" VI_1(100, "track_process = hp\n"));
		CHECK_EQ_INT(PW.opens, 3);
		fk_process_count(0, 0);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_FAULT));
	}
	rig_stop(&r);
	CHECK_EQ_INT(PW.closes, PW.opens);
	PW.read_ret = 0;
}

/* With a weight the count moves the priority; status shows it. */
TEST(tracked_process_weight_moves_priority)
{
	struct rig r;
	char *st;

	fk_reset();
	if (rig_start(&r, HEAD "[track_process hp]\nprocess = haproxy\nweight = 20\n" VI_1(100, "track_process = hp\n"))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK_EQ_INT(fk_last_priority(51), 100);	/* unknown: no change */
		fk_process_count(0, 3);
		CHECK(wait_priority(&r, 51, 120));
		st = status_text(&r);
		CHECK_CONTAINS(st, "track process hp: up, 3 running -> priority +20");
		CHECK_CONTAINS(st, "track_process hp");
		free(st);
		fk_process_count(0, 0);
		CHECK(wait_priority(&r, 51, 100));
	}
	rig_stop(&r);
}

/* The instance's own link: down is a Fault too, up recovers. */
TEST(own_link_down_is_fault_and_recovers)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, ""))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		fk_set_link(2, false);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_FAULT));
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		fk_set_link(2, true);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK(fk_has_addr(2, "192.0.2.100"));
	}
	rig_stop(&r);
}

/* Events lost (the watch overran): tracked interfaces are read again at
 * once, not at the next file-tracking round (every second). */
TEST(lost_link_events_recheck_tracked_interfaces)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, "track_interface = eth1\n"))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		fk_if_by_index(3)->running = false;	/* no event for it */
		K.overrun = true;
		wake(K.watch_fd);
		CHECK(wait_state_within(&r, "VI_1", VRRP_STATE_FAULT, 300));
	}
	rig_stop(&r);
}

/* The same for the instance's own interface: its link is read again
 * when events were lost (it stayed MASTER on a dead link until the next
 * event for that link, before). */
TEST(lost_link_events_recheck_own_interface)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, ""))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		fk_if_by_index(2)->running = false;	/* no event for it */
		K.overrun = true;
		wake(K.watch_fd);
		CHECK(wait_state_within(&r, "VI_1", VRRP_STATE_FAULT, 300));
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		fk_if_by_index(2)->running = true;	/* nor for this */
		K.overrun = true;
		wake(K.watch_fd);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
	}
	rig_stop(&r);
}

#define VI_B(prio, vips) \
	"[vrrp VI_B]\ninterface = eth1\nvirtual_router_id = 52\npriority = " #prio "\n" TIMING \
	"virtual_ipaddress = " vips "\n"

/* A reload: the same file changes nothing in the kernel; an unchanged
 * instance keeps its state and VIPs untouched. A changed one (priority
 * and VIP list) starts afresh, as vrrp_engine_reload does it: it leaves
 * (its VIPs go, even those the new list keeps), elects itself again and
 * ends with the new list only. */
TEST(reload_keeps_unchanged_and_applies_changed)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, "") VI_B(100, "198.18.1.100/24, 198.18.1.101/24"))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK(wait_state(&r, "VI_B", VRRP_STATE_MASTER));
		fk_clear_logs();
		rig_reload(&r, HEAD VI_1(100, "") VI_B(100, "198.18.1.100/24, 198.18.1.101/24"));
		run_for(&r, 150);
		CHECK_EQ_INT(K.naddr_ops, 0);
		CHECK_EQ_INT(K.nstates, 0);
		CHECK_EQ_INT(K.nannounced, 0);
		rig_reload(&r, HEAD VI_1(100, "") VI_B(150, "198.18.1.101/24, 198.18.1.102/24"));
		CHECK(wait_state(&r, "VI_B", VRRP_STATE_MASTER));
		CHECK_EQ_INT(last_state("VI_B") ? last_state("VI_B")->priority : 0, 150);
		CHECK(!fk_has_addr(3, "198.18.1.100"));
		CHECK(fk_has_addr(3, "198.18.1.101"));
		CHECK(fk_has_addr(3, "198.18.1.102"));
		CHECK_EQ_INT(fk_last_priority(52), 150);
		/* VI_1 was not touched. */
		CHECK_EQ_INT(states_told("VI_1"), 0);
		CHECK_EQ_INT(fk_addr_ops_on("192.0.2.100", true) + fk_addr_ops_on("192.0.2.100", false), 0);
		CHECK(fk_has_addr(2, "192.0.2.100"));
		CHECK_EQ_INT(fk_announced(2, "192.0.2.100"), 0);
		CHECK(fk_sent_count(51) > 0);
		CHECK_EQ_INT(K.sock_closes, 1);	/* VI_B's old socket only */
	}
	rig_stop(&r);
}

/* Out of memory at each allocation of a reload in turn: the engine is
 * then wholly on the old configuration (the caller frees the new one) or
 * wholly on the new one (the caller frees the old one), never half, and
 * nothing points into the freed one (ASan, as it runs on). */
#define OOM_OLD "[track_script chk]\ncommand = /bin/true\ninterval = 1s\n" TP
#define OOM_NEW "[track_script chk]\ncommand = /bin/true\ninterval = 2s\n[track_script chk2]\ncommand = /bin/true\n" \
		TP "quorum = 2\n"
#define OOM_INSTS(prio) VI_1(100, "track_script = chk\ntrack_process = hp\n") VI_B(prio, "198.18.1.100/24")
TEST(reload_out_of_memory_is_all_or_nothing)
{
	int failed = 0;

	for (long k = 1; k <= 32; k++) {
		struct director_config *fresh = NULL;
		struct rig r;
		char *st = NULL;
		int ret;

		fk_reset();
		if (rig_start(&r, HEAD OOM_OLD OOM_INSTS(100)) && (fresh = conf(HEAD OOM_NEW OOM_INSTS(150)))) {
			FC = (typeof(FC)){ 0, k, false };
			ret = vrrp_engine_reload(r.e, fresh);
			if (ret < 0) {
				CHECK(FC.failed);
				CHECK_EQ_INT(ret, -ENOMEM);
				director_config_free(fresh);
			} else {
				director_config_free(r.cfg);
				r.cfg = fresh;
			}
			run_for(&r, 50);
			st = status_text(&r);
			if (st && ret < 0) {
				CHECK_CONTAINS(st, "priority 100 (base 100)");
				CHECK(!strstr(st, "chk2"));
				CHECK(!strstr(st, "(base 150)"));
			} else if (st) {
				CHECK_CONTAINS(st, "(base 150)");
				CHECK_CONTAINS(st, "track_script chk2");
				CHECK_CONTAINS(st, "track_script chk ");
			}
			if (st)
				CHECK_CONTAINS(st, "track_process hp");
			failed += FC.failed;
		}
		free(st);
		FC = (typeof(FC)){ 0, 0, false };
		rig_stop(&r);
		if (!failed || k > failed)
			break;		/* every allocation of the reload was failed once */
	}
	/* scripts array, chk, chk2, instances array, VI_B, the tracks */
	CHECK(failed >= 6);
	PW.opens = PW.closes = 0;	/* other tests count from here */
}

/* Stop: the master sends priority 0, its VIP and route go, the change is
 * told (Init, "STOP"); a backup sends nothing. There is no setting that
 * keeps the VIPs: vrrp_engine_stop always leaves. */
TEST(stop_hands_over)
{
	struct rig r;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, "virtual_routes = 198.18.5.0/24 via 192.0.2.254\n")
			  VI_B(100, "198.18.1.100/24"))) {
		/* VI_B is kept BACKUP by a peer on eth1 meanwhile. */
		run_with_peer(&r, 200, PEER_B(200));
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_MASTER);
		CHECK_EQ_INT(state_of("VI_B"), VRRP_STATE_BACKUP);
		CHECK_EQ_INT(states_told("VI_B"), 1);
		fk_clear_logs();
		vrrp_engine_stop(r.e);
		r.e = NULL;
		CHECK_EQ_INT(fk_sent_count(51), 1);
		CHECK_EQ_INT(fk_last_priority(51), VRRP_PRIO_STOP);
		CHECK_EQ_INT(fk_sent_count(52), 0);
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		CHECK(!fk_has_route("198.18.5.0/24"));
		CHECK_EQ_INT(state_of("VI_1"), VRRP_STATE_INIT);
		CHECK_EQ_INT(fk_open_socks(), 0);
	}
	rig_stop(&r);
}

/* A socket that cannot be opened: the engine runs, the instance shows
 * ERROR and does nothing; address events with the cause still there try
 * again and fail again (said once per reason); a link event once the
 * cause is gone starts it. */
TEST(socket_open_failure_is_retried_on_link_event)
{
	struct rig r;
	char *st;

	fk_reset();
	K.sock_open_error = -ENODEV;
	if (rig_start(&r, HEAD VI_1(100, ""))) {
		run_for(&r, 150);
		CHECK_EQ_INT(K.sock_open_calls, 1);
		CHECK_EQ_INT(K.nstates, 0);
		CHECK_EQ_INT(K.nsent, 0);
		CHECK(!fk_has_addr(2, "192.0.2.100"));
		st = status_text(&r);
		CHECK_CONTAINS(st, "ERROR");
		free(st);
		/* Tried again at each event, said again only when the reason
		 * changes: an address event storm is not a log storm. */
		{
			int saved = stderr_away();
			char *log;

			for (int i = 0; i < 5; i++) {
				fk_event(RTNL_EV_ADDR_NEW, 2);
				run_for(&r, 20);
			}
			K.sock_open_error = -EPERM;
			fk_event(RTNL_EV_ADDR_NEW, 2);
			run_for(&r, 20);
			log = stderr_back(saved);
			CHECK_EQ_INT(occurrences(log, "VRRP socket on eth0: No such device"), 0);
			CHECK_EQ_INT(occurrences(log, "VRRP socket on eth0: Operation not permitted"), 1);
			free(log);
		}
		CHECK_EQ_INT(K.sock_open_calls, 7);
		CHECK_EQ_INT(K.nstates, 0);
		K.sock_open_error = 0;
		fk_event(RTNL_EV_LINK_NEW, 2);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK_EQ_INT(K.sock_open_calls, 8);
		CHECK(fk_has_addr(2, "192.0.2.100"));
		st = status_text(&r);
		CHECK(st && !strstr(st, "ERROR"));
		free(st);
	}
	rig_stop(&r);
}

/* An IPv6 instance whose interface's link-local address is still in
 * duplicate address detection (every link that comes up): the kernel
 * would refuse each advert from it (EINVAL, logged as an error), so the
 * instance waits, says so once as information, and starts at the address
 * event that ends DAD, its first advert from that address. */
TEST(ipv6_instance_waits_for_dad_of_its_link_local)
{
	struct rig r;
	int saved;
	char *log;

	fk_reset();
	for (size_t i = 0; i < K.naddrs; i++)
		K.addrs[i].tentative = K.addrs[i].addr.family == AF_INET6;
	saved = stderr_away();
	if (rig_start(&r, HEAD "[vrrp VI_6]\ninterface = eth0\nvirtual_router_id = 61\npriority = 100\n" TIMING
			  "virtual_ipaddress = 2001:db8::100/64\n")) {
		run_for(&r, 150);
		fk_event(RTNL_EV_ADDR_NEW, 2);	/* another address: still in DAD */
		run_for(&r, 50);
		CHECK_EQ_INT(K.sock_open_calls, 0);
		CHECK_EQ_INT(K.nsent, 0);
		CHECK_EQ_INT(K.nstates, 0);
		for (size_t i = 0; i < K.naddrs; i++)
			K.addrs[i].tentative = false;
		fk_event(RTNL_EV_ADDR_NEW, 2);
		CHECK(wait_state(&r, "VI_6", VRRP_STATE_MASTER));
		CHECK(fk_sent_count(61) > 0);
		CHECK(fk_has_addr(2, "2001:db8::100"));
	}
	rig_stop(&r);
	log = stderr_back(saved);
	CHECK_EQ_INT(occurrences(log, "VI_6: waiting for the duplicate address detection of eth0's link-local address"), 1);
	CHECK_EQ_INT(occurrences(log, "no usable"), 0);
	CHECK_EQ_INT(occurrences(log, "started after all"), 1);
	free(log);
}

/* A socket opened but refused by the loop: closed at once (it leaked,
 * and the retry overwrote it), retried on the next link event. */
TEST(socket_the_loop_refuses_is_closed_and_retried)
{
	struct rig r;

	fk_reset();
	K.sock_unpollable = true;
	if (rig_start(&r, HEAD VI_1(100, ""))) {
		run_for(&r, 100);
		CHECK_EQ_INT(K.sock_opens, 1);
		CHECK_EQ_INT(K.sock_closes, 1);
		CHECK_EQ_INT(K.nstates, 0);
		K.sock_unpollable = false;
		fk_event(RTNL_EV_LINK_NEW, 2);
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		CHECK_EQ_INT(K.sock_opens, 2);
		CHECK_EQ_INT(K.sock_closes, 1);
	}
	rig_stop(&r);
}

/* The interface missing at start: ERROR, until it appears. */
TEST(missing_interface_starts_when_it_appears)
{
	struct rig r;
	char *st;

	fk_reset();
	if (rig_start(&r, HEAD "[vrrp VI_2]\ninterface = eth2\nvirtual_router_id = 53\n" TIMING
			  "virtual_ipaddress = 198.18.2.100/24\n")) {
		run_for(&r, 100);
		CHECK_EQ_INT(K.sock_open_calls, 0);
		CHECK_EQ_INT(K.nstates, 0);
		st = status_text(&r);
		CHECK_CONTAINS(st, "ERROR");
		free(st);
		fk_add_if(4, "eth2", true);
		fk_put_addr(4, "198.18.2.1/24");
		fk_event(RTNL_EV_LINK_NEW, 4);
		CHECK(wait_state(&r, "VI_2", VRRP_STATE_MASTER));
		CHECK(fk_has_addr(4, "198.18.2.100"));
		CHECK_EQ_INT(fk_announced(4, "198.18.2.100"), 2);
	}
	rig_stop(&r);
}

/* The metrics of a known state, exactly: a master that stepped down for
 * a peer at 200, one advert dropped for its TTL. */
TEST(metrics_of_a_backup)
{
	struct rig r;
	struct strbuf m;
	uint64_t heard;

	fk_reset();
	if (rig_start(&r, HEAD VI_1(100, ""))) {
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_MASTER));
		fk_receive_advert(2, "192.0.2.2", 51, 200, "192.0.2.100");
		CHECK(wait_state(&r, "VI_1", VRRP_STATE_BACKUP));
		heard = now_ms();
		sb_init(&m);
		vrrp_engine_metrics(r.e, heard + 1500, &m);
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_state{",
				   "dsrkit_vrrp_state{vrrp_instance=\"VI_1\",state=\"init\"} 0\n"
				   "dsrkit_vrrp_state{vrrp_instance=\"VI_1\",state=\"backup\"} 1\n"
				   "dsrkit_vrrp_state{vrrp_instance=\"VI_1\",state=\"master\"} 0\n"
				   "dsrkit_vrrp_state{vrrp_instance=\"VI_1\",state=\"fault\"} 0\n"
				   "dsrkit_vrrp_state{vrrp_instance=\"VI_1\",state=\"error\"} 0\n");
		check_metric_lines(sb_str(&m), "# TYPE dsrkit_vrrp_state ", "# TYPE dsrkit_vrrp_state gauge\n");
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_priority{", "dsrkit_vrrp_priority{vrrp_instance=\"VI_1\"} 100\n");
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_transitions_total{",
				   "dsrkit_vrrp_transitions_total{vrrp_instance=\"VI_1\"} 3\n");
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_became_master_total{",
				   "dsrkit_vrrp_became_master_total{vrrp_instance=\"VI_1\"} 1\n");
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_adverts_received_total{",
				   "dsrkit_vrrp_adverts_received_total{vrrp_instance=\"VI_1\"} 1\n");
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_drops_total{vrrp_instance=\"VI_1\",reason=\"ttl\"}",
				   "dsrkit_vrrp_drops_total{vrrp_instance=\"VI_1\",reason=\"ttl\"} 0\n");
		check_metric_lines(sb_str(&m), "dsrkit_vrrp_instance_info{",
				   "dsrkit_vrrp_instance_info{vrrp_instance=\"VI_1\",interface=\"eth0\",vrid=\"51\","
				   "version=\"3\",sync_group=\"\"} 1\n");
		/* Heard within the last few milliseconds, looked at 1.5 s later. */
		CHECK_CONTAINS(sb_str(&m), "dsrkit_vrrp_master_advert_age_seconds{vrrp_instance=\"VI_1\"} 1.5");
		sb_free(&m);
	}
	rig_stop(&r);
}

TEST_MAIN(T(reload_out_of_memory_is_all_or_nothing), T(metrics_of_a_backup), T(tracked_process_gone_is_fault_after_its_delay), T(tracked_process_weight_moves_priority),
	  T(lone_instance_becomes_master_after_master_down), T(higher_priority_peer_makes_master_backup),
	  T(tracked_interface_weight_moves_priority), T(tracked_interface_down_is_fault_and_recovers),
	  T(own_link_down_is_fault_and_recovers), T(lost_link_events_recheck_tracked_interfaces), T(lost_link_events_recheck_own_interface),
	  T(reload_keeps_unchanged_and_applies_changed), T(stop_hands_over),
	  T(socket_open_failure_is_retried_on_link_event), T(socket_the_loop_refuses_is_closed_and_retried), T(ipv6_instance_waits_for_dad_of_its_link_local),
	  T(missing_interface_starts_when_it_appears))
