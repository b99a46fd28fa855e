/* vrrp_net.c against the real kernel. Needs root: every test first moves
 * this process into a network namespace of its own (the previous one goes
 * away with it) and builds a veth pair there, dsrva <-> dsrvb. `ip`, run
 * through system(), inherits the namespace.
 *
 * Both ends live in the same namespace, so each sees the other's address
 * as local: the kernel drops IPv4 packets (and ARP requests) arriving from
 * a local source as martians unless accept_local is on, which the setup
 * does. IPv6 has no such rule. Link-locals are fixed (fe80::a, fe80::b)
 * and added with nodad, so nothing waits for duplicate address detection. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "vrrp.h"
#include "vrrp_net.h"
#include "test.h"

#define IF_A "dsrva"
#define IF_B "dsrvb"
#define MAC_A { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a }
#define QUIET_MS 200		/* "nothing arrives" means nothing in this long */
#define ARRIVE_MS 2000		/* upper bound for something that must arrive */

static const char *netns_failure;

static bool enter_private_netns(void)
{
	if (geteuid() != 0) {
		netns_failure = "needs root for a private network namespace";
		return false;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		netns_failure = "unshare(CLONE_NEWNET) not permitted here";
		return false;
	}
	if (system("ip link set lo up") != 0) {
		netns_failure = "ip(8) from iproute2 is needed";
		return false;
	}
	return true;
}

#define ENTER_NETNS() do { if (!enter_private_netns()) SKIP(netns_failure); } while (0)

/* Run a shell command quietly; its exit status, or -1. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	st = system(cmd);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool command_says(const char *cmd, const char *needle)
{
	char out[4096];
	size_t n;
	FILE *f = popen(cmd, "r");

	if (!f)
		return false;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return strstr(out, needle) != NULL;
}

static struct ipaddr make_ip(const char *s)
{
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &a.u.v4) == 1) {
		a.family = AF_INET;
		a.prefixlen = 32;
	} else if (inet_pton(AF_INET6, s, &a.u.v6) == 1) {
		a.family = AF_INET6;
		a.prefixlen = 128;
	}
	return a;
}

static bool same_ip(const struct ipaddr *a, const char *s)
{
	struct ipaddr b = make_ip(s);

	return a->family == b.family &&
	       memcmp(a->u.bytes, b.u.bytes, a->family == AF_INET ? 4 : 16) == 0;
}

/* ---- the veth pair ------------------------------------------------------ */

struct pair {
	int a, b;		/* ifindexes */
};

/* The kernel marks a veth end operationally up (and activates the queue
 * of the end brought up first) asynchronously, from linkwatch: frames sent
 * before that may be dropped without an error, so do not send before. */
static bool wait_link_up(const char *ifname)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ip -o link show dev %s", ifname);
	for (int i = 0; i < 150; i++) {
		if (command_says(cmd, "state UP"))
			return true;
		usleep(20 * 1000);
	}
	return false;
}

static bool write_file(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(value, f) >= 0;
	return fclose(f) == 0 && ok;
}

static bool make_pair(struct pair *p)
{
	static const char *const setup[] = {
		"ip link add " IF_A " address 02:00:5e:00:00:0a type veth peer name " IF_B
		" address 02:00:5e:00:00:0b",
		"ip link set " IF_A " addrgenmode none",
		"ip link set " IF_B " addrgenmode none",
		"ip addr add 198.18.0.1/24 dev " IF_A,
		"ip addr add 198.18.0.2/24 dev " IF_B,
		"ip addr add fe80::a/64 dev " IF_A " nodad",
		"ip addr add fe80::b/64 dev " IF_B " nodad",
		"ip link set " IF_A " up",
		"ip link set " IF_B " up",
	};

	if (!write_file("/proc/sys/net/ipv4/conf/all/accept_local", "1")) {
		fprintf(stderr, "  setup failed: accept_local\n");
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(setup); i++)
		if (run("%s", setup[i]) != 0) {
			fprintf(stderr, "  setup failed: %s\n", setup[i]);
			return false;
		}
	p->a = (int)if_nametoindex(IF_A);
	p->b = (int)if_nametoindex(IF_B);
	return p->a > 0 && p->b > 0 && wait_link_up(IF_A) && wait_link_up(IF_B);
}

#define MAKE_PAIR(p) do { ENTER_NETNS(); if (!make_pair(p)) { CHECK(!"veth pair set up"); return; } } while (0)

/* ---- VRRP sockets ------------------------------------------------------- */

struct end {
	struct vrrp_sock *s;
	int fd;
};

static int open_end(struct end *e, int family, int ifindex, const char *src,
		    const struct ipaddr *peers, size_t npeers)
{
	struct vrrp_sock_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.family = family;
	conf.ifindex = ifindex;
	conf.peers = peers;
	conf.npeers = npeers;
	if (src)
		conf.src = make_ip(src);
	e->s = NULL;
	e->fd = -1;
	return vrrp_sock_open(&conf, &e->s, &e->fd);
}

static void close_end(struct end *e)
{
	vrrp_sock_close(e->s);
	e->s = NULL;
	e->fd = -1;
}

/* Wait at most timeout_ms for a packet: vrrp_sock_recv's result, or
 * -EAGAIN when nothing came. */
static int recv_within(struct end *e, int timeout_ms, struct vrrp_rx *rx, enum vrrp_drop *why)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = e->fd, .events = POLLIN };
		uint64_t now;
		int r = vrrp_sock_recv(e->s, rx, why);

		if (r != -EAGAIN)
			return r;
		now = now_ms();
		if (now >= deadline)
			return -EAGAIN;
		poll(&pfd, 1, (int)(deadline - now));
	}
}

static bool stays_quiet(struct end *e)
{
	struct vrrp_rx rx;

	return recv_within(e, QUIET_MS, &rx, NULL) == -EAGAIN;
}

/* A v3 advert for VRID 51 with one address, its checksum computed for the
 * given IP source and destination. */
static int encode_advert(int family, const char *src, const char *dst, uint8_t *buf, size_t size)
{
	static struct vrrp_advert a;
	struct ipaddr s = make_ip(src), d = make_ip(dst);

	memset(&a, 0, sizeof(a));
	a.version = 3;
	a.vrid = 51;
	a.priority = 100;
	a.interval_cs = 100;
	a.family = family;
	a.naddrs = 1;
	a.addrs[0] = make_ip(family == AF_INET ? "198.18.0.100" : "2001:db8::100");
	return vrrp_encode(&a, &s, &d, true, buf, size);
}

static bool decodes(const struct vrrp_rx *rx, int family)
{
	static struct vrrp_advert a;
	enum vrrp_drop why = VRRP_OK;

	return vrrp_decode(rx->payload, rx->len, family, &rx->src, &rx->dst, 3, true, &a, &why) == 0 &&
	       a.vrid == 51 && a.priority == 100;
}

/* A plain raw socket for protocol 112 on the interface, for sending what
 * vrrp_sock never would (another TTL, an oversized packet). */
static int plain_raw_socket(int family, int ifindex, int hops)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, VRRP_PROTO);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof(ifindex)) < 0 ||
	    (family == AF_INET &&
	     setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops)) < 0) ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_plain(int fd, int family, int ifindex, const void *buf, size_t len)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };

	inet_pton(AF_INET, "224.0.0.18", &v4.sin_addr);
	inet_pton(AF_INET6, "ff02::12", &v6.sin6_addr);
	if (family == AF_INET)
		return sendto(fd, buf, len, 0, (struct sockaddr *)&v4, sizeof(v4)) == (ssize_t)len;
	return sendto(fd, buf, len, 0, (struct sockaddr *)&v6, sizeof(v6)) == (ssize_t)len;
}

/* ---- arguments ---------------------------------------------------------- */

TEST(test_bad_arguments)
{
	struct ipaddr v4 = make_ip("198.18.0.1"), v6 = make_ip("fe80::1");
	struct ipaddr group = make_ip("224.0.0.18"), any = make_ip("0.0.0.0");
	struct vrrp_sock_conf conf = { .family = AF_INET, .ifindex = 1 };
	struct vrrp_sock *s = (struct vrrp_sock *)&conf;
	struct vrrp_rx rx;
	enum vrrp_drop why = VRRP_DROP_OWN;
	uint8_t msg[8] = { 0 };
	int fd = 7;

	CHECK_EQ_INT(vrrp_sock_open(NULL, &s, &fd), -EINVAL);
	CHECK(s == NULL);
	CHECK_EQ_INT(fd, -1);
	CHECK_EQ_INT(vrrp_sock_open(&conf, NULL, &fd), -EINVAL);
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, NULL), -EINVAL);

	conf.family = AF_UNIX;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.family = AF_INET;
	conf.ifindex = 0;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.ifindex = 1;

	/* Peers: present when counted, unicast, of the socket's family. */
	conf.npeers = 1;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.peers = &v6;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.peers = &group;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.peers = &any;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.peers = &v4;

	/* The source likewise, when given. */
	conf.src = v6;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	conf.src = group;
	CHECK_EQ_INT(vrrp_sock_open(&conf, &s, &fd), -EINVAL);
	CHECK(s == NULL);
	CHECK_EQ_INT(fd, -1);

	CHECK_EQ_INT(vrrp_sock_send(NULL, msg, sizeof(msg)), -EINVAL);
	CHECK_EQ_INT(vrrp_sock_recv(NULL, &rx, &why), -EINVAL);
	CHECK_EQ_INT(why, VRRP_OK);
	vrrp_sock_close(NULL);

	{
		struct vrrp_announcer *an = NULL;

		CHECK_EQ_INT(vrrp_announcer_new(&an), 0);
		CHECK_EQ_INT(vrrp_announce(NULL, 1, &v4), -EINVAL);
		CHECK_EQ_INT(vrrp_announce(an, 0, &v4), -EINVAL);
		CHECK_EQ_INT(vrrp_announce(an, 1, NULL), -EINVAL);
		v4.family = AF_UNIX;
		CHECK_EQ_INT(vrrp_announce(an, 1, &v4), -EINVAL);
		vrrp_announcer_free(an);
		vrrp_announcer_free(NULL);
	}
}

/* What only the kernel can say no to. */
TEST(test_kernel_refusals)
{
	struct ipaddr vip = make_ip("198.18.0.100"), vip6 = make_ip("2001:db8::100");
	uint8_t big[VRRP_PACKET_MAX + 1] = { 0 };
	struct vrrp_announcer *an = NULL;
	struct end e;
	int lo;

	ENTER_NETNS();
	CHECK_EQ_INT(vrrp_announcer_new(&an), 0);
	lo = (int)if_nametoindex("lo");
	CHECK_EQ_INT(open_end(&e, AF_INET, 9999, NULL, NULL, 0), -ENODEV);
	CHECK(e.s == NULL && e.fd == -1);
	CHECK_EQ_INT(open_end(&e, AF_INET6, 9999, NULL, NULL, 0), -ENODEV);
	CHECK_EQ_INT(vrrp_announce(an, 9999, &vip), -ENODEV);
	CHECK_EQ_INT(vrrp_announce(an, 9999, &vip6), -ENODEV);
	/* No Ethernet address on loopback: nothing to announce with. */
	CHECK_EQ_INT(vrrp_announce(an, lo, &vip), -EOPNOTSUPP);
	CHECK_EQ_INT(vrrp_announce(an, lo, &vip6), -EOPNOTSUPP);
	vrrp_announcer_free(an);

	CHECK_EQ_INT(open_end(&e, AF_INET, lo, NULL, NULL, 0), 0);
	CHECK_EQ_INT(vrrp_sock_send(e.s, big, 0), -EINVAL);
	CHECK_EQ_INT(vrrp_sock_send(e.s, big, sizeof(big)), -EINVAL);
	close_end(&e);
}

/* ---- IPv4 --------------------------------------------------------------- */

TEST(test_v4_multicast)
{
	uint8_t msg[VRRP_PACKET_MAX];
	struct end a = { NULL, -1 }, b = { NULL, -1 };
	enum vrrp_drop why = VRRP_DROP_OWN;
	struct vrrp_rx rx;
	struct pair p;
	int len, bound = 0;
	socklen_t optlen = sizeof(bound);

	MAKE_PAIR(&p);
	CHECK_EQ_INT(open_end(&a, AF_INET, p.a, "198.18.0.1", NULL, 0), 0);
	CHECK_EQ_INT(open_end(&b, AF_INET, p.b, "198.18.0.2", NULL, 0), 0);
	if (!a.s || !b.s)
		goto out;
	CHECK(fcntl(a.fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ_INT(getsockopt(a.fd, SOL_SOCKET, SO_BINDTOIFINDEX, &bound, &optlen), 0);
	CHECK_EQ_INT(bound, p.a);

	/* Nothing waiting: no blocking, and why says nothing went wrong. */
	CHECK_EQ_INT(vrrp_sock_recv(b.s, &rx, &why), -EAGAIN);
	CHECK_EQ_INT(why, VRRP_OK);

	len = encode_advert(AF_INET, "198.18.0.1", "224.0.0.18", msg, sizeof(msg));
	CHECK(len > 0);
	if (len <= 0)
		goto out;
	CHECK_EQ_INT(vrrp_sock_send(a.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, &why), 0);
	CHECK_EQ_INT(why, VRRP_OK);
	CHECK(same_ip(&rx.src, "198.18.0.1"));
	CHECK(same_ip(&rx.dst, "224.0.0.18"));
	CHECK_EQ_INT(rx.ttl, 255);
	CHECK_EQ_INT(rx.ifindex, p.b);
	CHECK_EQ_INT(rx.len, len);
	CHECK(rx.payload && memcmp(rx.payload, msg, (size_t)len) == 0);
	CHECK(decodes(&rx, AF_INET));

	/* Multicast loop is off: the sender never hears itself. */
	CHECK(stays_quiet(&a));
	CHECK(stays_quiet(&b));
out:
	close_end(&a);
	close_end(&b);
}

/* The source is the one configured even when it is not the interface's
 * primary address; without one the kernel picks the primary. */
TEST(test_v4_source_address)
{
	uint8_t msg[VRRP_PACKET_MAX];
	struct end a = { NULL, -1 }, a2 = { NULL, -1 }, bad = { NULL, -1 }, b = { NULL, -1 };
	struct vrrp_rx rx;
	struct pair p;
	int len;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(run("ip addr add 198.18.0.3/24 dev " IF_A), 0);
	CHECK_EQ_INT(open_end(&a, AF_INET, p.a, NULL, NULL, 0), 0);
	CHECK_EQ_INT(open_end(&a2, AF_INET, p.a, "198.18.0.3", NULL, 0), 0);
	CHECK_EQ_INT(open_end(&bad, AF_INET, p.a, "198.18.1.77", NULL, 0), 0);
	CHECK_EQ_INT(open_end(&b, AF_INET, p.b, NULL, NULL, 0), 0);
	len = encode_advert(AF_INET, "198.18.0.3", "224.0.0.18", msg, sizeof(msg));
	CHECK(len > 0);
	if (!a.s || !a2.s || !bad.s || !b.s || len <= 0)
		goto out;

	CHECK_EQ_INT(vrrp_sock_send(a.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.src, "198.18.0.1"));

	CHECK_EQ_INT(vrrp_sock_send(a2.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.src, "198.18.0.3"));
	CHECK(decodes(&rx, AF_INET));

	/* An address that is not ours is refused at send time (ENETUNREACH
	 * from the route lookup, here). */
	CHECK(vrrp_sock_send(bad.s, msg, (size_t)len) < 0);
	CHECK(stays_quiet(&b));
out:
	close_end(&a);
	close_end(&a2);
	close_end(&bad);
	close_end(&b);
}

TEST(test_v4_unicast)
{
	struct ipaddr to_b[] = { make_ip("198.18.0.9"), make_ip("198.18.0.2") };
	struct ipaddr to_a = make_ip("198.18.0.1");
	uint8_t msg[VRRP_PACKET_MAX];
	struct end a = { NULL, -1 }, b = { NULL, -1 }, a_mc = { NULL, -1 }, b_mc = { NULL, -1 };
	struct vrrp_rx rx;
	struct pair p;
	int len;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(open_end(&a, AF_INET, p.a, "198.18.0.1", &to_b[1], 1), 0);
	CHECK_EQ_INT(open_end(&b, AF_INET, p.b, "198.18.0.2", &to_a, 1), 0);
	len = encode_advert(AF_INET, "198.18.0.1", "198.18.0.2", msg, sizeof(msg));
	CHECK(len > 0);
	if (!a.s || !b.s || len <= 0)
		goto out;

	CHECK_EQ_INT(vrrp_sock_send(a.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.src, "198.18.0.1"));
	CHECK(same_ip(&rx.dst, "198.18.0.2"));
	CHECK_EQ_INT(rx.ttl, 255);
	CHECK_EQ_INT(rx.ifindex, p.b);
	CHECK_EQ_INT(rx.len, len);
	CHECK(rx.payload && memcmp(rx.payload, msg, (size_t)len) == 0);
	CHECK(decodes(&rx, AF_INET));
	CHECK(stays_quiet(&a));

	/* A peer that never answers ARP does not hold up the next one. */
	close_end(&a);
	CHECK_EQ_INT(open_end(&a, AF_INET, p.a, "198.18.0.1", to_b, 2), 0);
	if (!a.s)
		goto out;
	CHECK_EQ_INT(vrrp_sock_send(a.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.dst, "198.18.0.2"));

	/* Multicast from another instance reaches the socket that joined
	 * the group, never the unicast one next to it. */
	CHECK_EQ_INT(open_end(&a_mc, AF_INET, p.a, "198.18.0.1", NULL, 0), 0);
	CHECK_EQ_INT(open_end(&b_mc, AF_INET, p.b, "198.18.0.2", NULL, 0), 0);
	len = encode_advert(AF_INET, "198.18.0.1", "224.0.0.18", msg, sizeof(msg));
	if (!a_mc.s || !b_mc.s || len <= 0)
		goto out;
	CHECK_EQ_INT(vrrp_sock_send(a_mc.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b_mc, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.dst, "224.0.0.18"));
	CHECK(stays_quiet(&b));
out:
	close_end(&a);
	close_end(&b);
	close_end(&a_mc);
	close_end(&b_mc);
}

/* v3 IPv4 checksums cover the destination: with two peers each gets a
 * message encoded for it, which it accepts; an encoder error is reported
 * and does not stop the next peer. */
struct per_peer {
	unsigned calls;
	const char *fail_for;
};

static int encode_per_peer(const struct ipaddr *dst, uint8_t *buf, size_t size, void *arg)
{
	struct per_peer *pp = arg;

	pp->calls++;
	if (pp->fail_for && same_ip(dst, pp->fail_for))
		return -E2BIG;
	return encode_advert(AF_INET, "198.18.0.1", same_ip(dst, "198.18.0.2") ? "198.18.0.2" : "198.18.0.4",
			     buf, size);
}

TEST(test_v4_unicast_per_peer)
{
	struct ipaddr peers[] = { make_ip("198.18.0.2"), make_ip("198.18.0.4") };
	struct end a = { NULL, -1 }, b = { NULL, -1 };
	struct per_peer pp = { 0, NULL };
	bool got2 = false, got4 = false;
	struct vrrp_rx rx;
	struct pair p;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(run("ip addr add 198.18.0.4/24 dev " IF_B), 0);
	CHECK_EQ_INT(open_end(&a, AF_INET, p.a, "198.18.0.1", peers, 2), 0);
	CHECK_EQ_INT(open_end(&b, AF_INET, p.b, NULL, NULL, 0), 0);
	if (!a.s || !b.s)
		goto out;
	/* b's raw socket sees unicast to both of its addresses. */
	CHECK_EQ_INT(vrrp_sock_send_each(a.s, encode_per_peer, &pp), 0);
	CHECK_EQ_INT(pp.calls, 2);
	for (int i = 0; i < 2; i++) {
		if (recv_within(&b, ARRIVE_MS, &rx, NULL) != 0)
			break;
		CHECK(decodes(&rx, AF_INET));
		got2 |= same_ip(&rx.dst, "198.18.0.2");
		got4 |= same_ip(&rx.dst, "198.18.0.4");
	}
	CHECK(got2 && got4);

	pp = (struct per_peer){ 0, "198.18.0.2" };
	CHECK_EQ_INT(vrrp_sock_send_each(a.s, encode_per_peer, &pp), -E2BIG);
	CHECK_EQ_INT(pp.calls, 2);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.dst, "198.18.0.4"));
	CHECK(decodes(&rx, AF_INET));
	CHECK(stays_quiet(&b));
	CHECK_EQ_INT(vrrp_sock_send_each(a.s, NULL, NULL), -EINVAL);
out:
	close_end(&a);
	close_end(&b);
}

/* The TTL is reported as received, not assumed; a packet too long to be
 * VRRP is dropped as truncated and the next one still comes through. */
TEST(test_v4_ttl_and_oversize)
{
	static uint8_t huge[VRRP_PACKET_MAX + 200];
	uint8_t msg[VRRP_PACKET_MAX];
	struct end b = { NULL, -1 };
	enum vrrp_drop why = VRRP_OK;
	struct vrrp_rx rx;
	struct pair p;
	int fd, len;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(open_end(&b, AF_INET, p.b, NULL, NULL, 0), 0);
	fd = plain_raw_socket(AF_INET, p.a, 64);
	CHECK(fd >= 0);
	len = encode_advert(AF_INET, "198.18.0.1", "224.0.0.18", msg, sizeof(msg));
	if (!b.s || fd < 0 || len <= 0)
		goto out;

	CHECK(send_plain(fd, AF_INET, p.a, msg, (size_t)len));
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, &why), 0);
	CHECK_EQ_INT(rx.ttl, 64);

	CHECK(send_plain(fd, AF_INET, p.a, huge, sizeof(huge)));
	CHECK(send_plain(fd, AF_INET, p.a, msg, (size_t)len));
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, &why), -EINVAL);
	CHECK_EQ_INT(why, VRRP_DROP_TRUNCATED);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, &why), 0);
	CHECK_EQ_INT(why, VRRP_OK);
	CHECK_EQ_INT(rx.len, len);
out:
	if (fd >= 0)
		close(fd);
	close_end(&b);
}

/* ---- IPv6 --------------------------------------------------------------- */

TEST(test_v6_multicast)
{
	static uint8_t huge[VRRP_PACKET_MAX + 200];
	uint8_t msg[VRRP_PACKET_MAX];
	struct end a = { NULL, -1 }, b = { NULL, -1 };
	enum vrrp_drop why = VRRP_OK;
	struct vrrp_rx rx;
	struct pair p;
	int len, fd = -1;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(open_end(&a, AF_INET6, p.a, "fe80::a", NULL, 0), 0);
	CHECK_EQ_INT(open_end(&b, AF_INET6, p.b, "fe80::b", NULL, 0), 0);
	len = encode_advert(AF_INET6, "fe80::a", "ff02::12", msg, sizeof(msg));
	CHECK(len > 0);
	if (!a.s || !b.s || len <= 0)
		goto out;

	CHECK_EQ_INT(vrrp_sock_send(a.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.src, "fe80::a"));
	CHECK(same_ip(&rx.dst, "ff02::12"));
	CHECK_EQ_INT(rx.ttl, 255);
	CHECK_EQ_INT(rx.ifindex, p.b);
	CHECK_EQ_INT(rx.len, len);
	CHECK(rx.payload && memcmp(rx.payload, msg, (size_t)len) == 0);
	/* The checksum we computed arrives untouched and still matches. */
	CHECK(decodes(&rx, AF_INET6));
	CHECK(stays_quiet(&a));

	/* The hop limit comes from the packet, not from our expectations. */
	fd = plain_raw_socket(AF_INET6, p.a, 64);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	CHECK(send_plain(fd, AF_INET6, p.a, msg, (size_t)len));
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK_EQ_INT(rx.ttl, 64);
	CHECK(same_ip(&rx.src, "fe80::a"));

	/* Too long to be VRRP: dropped as truncated, the next one is fine. */
	CHECK(send_plain(fd, AF_INET6, p.a, huge, sizeof(huge)));
	CHECK(send_plain(fd, AF_INET6, p.a, msg, (size_t)len));
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, &why), -EINVAL);
	CHECK_EQ_INT(why, VRRP_DROP_TRUNCATED);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, &why), 0);
	CHECK_EQ_INT(why, VRRP_OK);
	CHECK_EQ_INT(rx.len, len);
out:
	if (fd >= 0)
		close(fd);
	close_end(&a);
	close_end(&b);
}

TEST(test_v6_unicast)
{
	struct ipaddr to_b = make_ip("fe80::b"), to_a = make_ip("fe80::a");
	uint8_t msg[VRRP_PACKET_MAX];
	struct end a = { NULL, -1 }, b = { NULL, -1 }, a_mc = { NULL, -1 }, b_mc = { NULL, -1 };
	struct vrrp_rx rx;
	struct pair p;
	int len;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(open_end(&a, AF_INET6, p.a, "fe80::a", &to_b, 1), 0);
	CHECK_EQ_INT(open_end(&b, AF_INET6, p.b, "fe80::b", &to_a, 1), 0);
	len = encode_advert(AF_INET6, "fe80::a", "fe80::b", msg, sizeof(msg));
	CHECK(len > 0);
	if (!a.s || !b.s || len <= 0)
		goto out;

	CHECK_EQ_INT(vrrp_sock_send(a.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b, ARRIVE_MS, &rx, NULL), 0);
	CHECK(same_ip(&rx.src, "fe80::a"));
	CHECK(same_ip(&rx.dst, "fe80::b"));
	CHECK_EQ_INT(rx.ttl, 255);
	CHECK_EQ_INT(rx.ifindex, p.b);
	CHECK(decodes(&rx, AF_INET6));

	/* The group is not joined in unicast mode: alone on the interface,
	 * the unicast socket does not get multicast adverts. */
	CHECK_EQ_INT(open_end(&a_mc, AF_INET6, p.a, "fe80::a", NULL, 0), 0);
	len = encode_advert(AF_INET6, "fe80::a", "ff02::12", msg, sizeof(msg));
	if (!a_mc.s || len <= 0)
		goto out;
	CHECK_EQ_INT(vrrp_sock_send(a_mc.s, msg, (size_t)len), 0);
	CHECK(stays_quiet(&b));

	/* Once another socket joins the group there, the interface takes
	 * ff02::12 in, and the unicast socket gets it too: an IPv6 raw
	 * socket not bound to an address takes every packet of its protocol
	 * the interface accepts (raw_v6_match applies the group filter only
	 * to bound sockets, IPV6_MULTICAST_ALL or not). The destination
	 * tells the caller. */
	CHECK_EQ_INT(open_end(&b_mc, AF_INET6, p.b, "fe80::b", NULL, 0), 0);
	if (!b_mc.s)
		goto out;
	CHECK_EQ_INT(vrrp_sock_send(a_mc.s, msg, (size_t)len), 0);
	CHECK_EQ_INT(recv_within(&b_mc, ARRIVE_MS, &rx, NULL), 0);
	if (recv_within(&b, QUIET_MS, &rx, NULL) == 0)
		CHECK(same_ip(&rx.dst, "ff02::12"));
out:
	close_end(&a);
	close_end(&b);
	close_end(&a_mc);
	close_end(&b_mc);
}

/* ---- announcements ------------------------------------------------------ */

/* Every frame arriving on ifindex, non-blocking. */
static int open_capture(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

typedef bool frame_match(const uint8_t *frame, size_t len);

/* The first incoming frame that matches, within ARRIVE_MS; its length or 0. */
static size_t capture(int fd, frame_match *match, uint8_t *buf, size_t size)
{
	uint64_t deadline = now_ms() + ARRIVE_MS;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from, &fromlen);
		uint64_t now;

		if (n > 0 && from.sll_pkttype != PACKET_OUTGOING && match(buf, (size_t)n))
			return (size_t)n;
		if (n > 0)
			continue;
		now = now_ms();
		if (now >= deadline)
			return 0;
		poll(&pfd, 1, (int)(deadline - now));
	}
}

static bool is_arp(const uint8_t *f, size_t len)
{
	return len >= 14 && f[12] == 0x08 && f[13] == 0x06;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

TEST(test_announce_v4)
{
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* broadcast */
		0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a,	/* from a */
		0x08, 0x06,				/* ARP */
		0x00, 0x01, 0x08, 0x00, 6, 4,		/* Ethernet, IPv4 */
		0x00, 0x01,				/* request */
		0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a,	/* sender MAC: a */
		198, 18, 0, 100,			/* sender IP: VIP */
		0, 0, 0, 0, 0, 0,			/* target MAC: unknown */
		198, 18, 0, 100,			/* target IP: VIP */
	};
	struct ipaddr vip = make_ip("198.18.0.100");
	uint8_t frame[2048];
	struct vrrp_announcer *an = NULL;
	struct pair p;
	size_t n;
	int fd, fds;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(vrrp_announcer_new(&an), 0);
	fd = open_capture(p.b);
	CHECK(fd >= 0);
	if (fd < 0 || !an)
		goto out;
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), 0);
	n = capture(fd, is_arp, frame, sizeof(frame));
	CHECK_EQ_INT(n, sizeof(want));
	for (size_t i = 0; i < sizeof(want) && i < n; i++)
		if (frame[i] != want[i]) {
			fprintf(stderr, "  ARP byte %zu: %#x, expected %#x\n", i, frame[i], want[i]);
			CHECK(frame[i] == want[i]);
		}

	/* The socket is kept: announcing again opens nothing more. */
	fds = open_fds();
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), 0);
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), 0);
	CHECK_EQ_INT(open_fds(), fds);
	CHECK_EQ_INT(capture(fd, is_arp, frame, sizeof(frame)), sizeof(want));

	/* The interface going down is an error, not a silent no-op. */
	CHECK_EQ_INT(run("ip link set " IF_A " down"), 0);
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), -ENETDOWN);
	close(fd);

	/* The interface deleted and another made with the same index and a
	 * new MAC: the kept socket is replaced, the frame has the new MAC. */
	CHECK_EQ_INT(run("ip link del " IF_A), 0);
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), -ENODEV);
	CHECK_EQ_INT(run("ip link add " IF_A " index %d address 02:00:5e:00:00:0c type veth peer name " IF_B
			 " address 02:00:5e:00:00:0b", p.a), 0);
	CHECK_EQ_INT(run("ip link set " IF_A " up"), 0);
	CHECK_EQ_INT(run("ip link set " IF_B " up"), 0);
	CHECK(wait_link_up(IF_A) && wait_link_up(IF_B));
	CHECK_EQ_INT((int)if_nametoindex(IF_A), p.a);
	fd = open_capture((int)if_nametoindex(IF_B));
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), 0);
	n = capture(fd, is_arp, frame, sizeof(frame));
	CHECK_EQ_INT(n, sizeof(want));
	CHECK(n == sizeof(want) && frame[11] == 0x0c && frame[27] == 0x0c);	/* source MAC, sender MAC */
	close(fd);
out:
	vrrp_announcer_free(an);
}



static bool is_na(const uint8_t *f, size_t len)
{
	return len >= 14 + 40 + 1 && f[12] == 0x86 && f[13] == 0xdd && f[14 + 6] == IPPROTO_ICMPV6 &&
	       f[14 + 40] == 136;
}

/* RFC 1071 over the IPv6 pseudo-header and the ICMPv6 message: 0 when
 * the checksum field is right. */
static uint16_t icmp6_residue(const uint8_t *ip6, const uint8_t *icmp, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 8; i < 40; i += 2)	/* source and destination */
		sum += (uint32_t)(ip6[i] << 8 | ip6[i + 1]);
	sum += (uint32_t)len + IPPROTO_ICMPV6;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(icmp[i] << 8 | icmp[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

TEST(test_announce_v6)
{
	static const uint8_t mac_a[6] = MAC_A;
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct ipaddr vip = make_ip("2001:db8::100");
	struct ipaddr lla = make_ip("fe80::a"), all_nodes = make_ip("ff02::1");
	uint8_t frame[2048];
	const uint8_t *ip6 = frame + 14, *na = frame + 14 + 40;
	struct vrrp_announcer *an = NULL;
	struct pair p;
	size_t n;
	int fd;

	MAKE_PAIR(&p);
	CHECK_EQ_INT(vrrp_announcer_new(&an), 0);
	fd = open_capture(p.b);
	CHECK(fd >= 0);
	if (fd < 0 || !an) {
		vrrp_announcer_free(an);
		return;
	}
	CHECK_EQ_INT(vrrp_announce(an, p.a, &vip), 0);
	n = capture(fd, is_na, frame, sizeof(frame));
	CHECK_EQ_INT(n, 14 + 40 + 32);
	if (n != 14 + 40 + 32)
		goto out;

	CHECK(memcmp(frame, all_nodes_mac, 6) == 0);
	CHECK(memcmp(frame + 6, mac_a, 6) == 0);
	CHECK_EQ_INT(ip6[0] >> 4, 6);
	CHECK_EQ_INT(ip6[4] << 8 | ip6[5], 32);		/* payload length */
	CHECK_EQ_INT(ip6[7], 255);				/* hop limit */
	CHECK(memcmp(ip6 + 8, lla.u.bytes, 16) == 0);		/* from a's link-local */
	CHECK(memcmp(ip6 + 24, all_nodes.u.bytes, 16) == 0);

	CHECK_EQ_INT(na[0], 136);
	CHECK_EQ_INT(na[1], 0);
	CHECK_EQ_INT(icmp6_residue(ip6, na, 32), 0);
	CHECK_EQ_INT(na[4], 0x20);				/* Override; not Router, not Solicited */
	CHECK(na[5] == 0 && na[6] == 0 && na[7] == 0);
	CHECK(memcmp(na + 8, vip.u.bytes, 16) == 0);
	CHECK_EQ_INT(na[24], 2);				/* target link-layer address */
	CHECK_EQ_INT(na[25], 1);				/* 8 bytes */
	CHECK(memcmp(na + 26, mac_a, 6) == 0);
out:
	close(fd);
	vrrp_announcer_free(an);
}

TEST_MAIN(
	T(test_bad_arguments),
	T(test_kernel_refusals),
	T(test_v4_multicast),
	T(test_v4_source_address),
	T(test_v4_unicast),
	T(test_v4_unicast_per_peer),
	T(test_v4_ttl_and_oversize),
	T(test_v6_multicast),
	T(test_v6_unicast),
	T(test_announce_v4),
	T(test_announce_v6),
)
