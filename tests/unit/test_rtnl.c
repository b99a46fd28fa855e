/* rtnl.c and sysctl.c against the real kernel. Needs root: every test
 * first moves this process into a network namespace of its own, so the
 * host's interfaces and sysctls are never touched; `ip`, run through
 * system(), inherits the namespace. The namespace goes away when the next
 * test replaces it, or with the process. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "sysctl.h"
#include "util.h"
#include "test.h"

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

/* A command's standard output ("" on failure). */
static const char *capture(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;

	out[0] = '\0';
	if (!f)
		return out;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

static unsigned count_substr(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* A throwaway interface: dummy where the kernel has it, else a veth pair
 * (some minimal kernels, this project's CI VM included, lack dummy). */
static bool add_test_link(const char *name)
{
	return run("ip link add %s type dummy", name) == 0 ||
	       run("ip link add %s type veth peer name %sp", name, name) == 0;
}

static struct ipaddr make_ip(const char *s, int prefixlen)
{
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &a.u.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a.u.v6) == 1)
		a.family = AF_INET6;
	a.prefixlen = (uint8_t)prefixlen;
	a.has_prefix = true;
	return a;
}

TEST(test_addr_v4_label)
{
	struct ipaddr vip = make_ip("198.18.0.10", 32);
	struct rtnl *r = NULL;
	char out[4096];
	int lo;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	lo = rtnl_ifindex(r, "lo");
	CHECK(lo > 0);

	CHECK_EQ_INT(rtnl_addr_present(r, lo, &vip), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "lo:dsr", 0), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &vip), 1);
	capture("ip -4 addr show dev lo label lo:dsr", out, sizeof(out));
	CHECK_CONTAINS(out, "inet 198.18.0.10/32");
	CHECK_CONTAINS(out, "scope global lo:dsr");

	/* Make it so: again is fine, and leaves one copy. */
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "lo:dsr", 0), 0);
	capture("ip -4 addr show dev lo", out, sizeof(out));
	CHECK_EQ_INT(count_substr(out, "198.18.0.10"), 1);

	CHECK_EQ_INT(rtnl_addr_del(r, lo, &vip), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &vip), 0);
	capture("ip -4 addr show dev lo", out, sizeof(out));
	CHECK(strstr(out, "198.18.0.10") == NULL);
	CHECK_EQ_INT(rtnl_addr_del(r, lo, &vip), 0);

	/* Without a label the address carries the device name. */
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, NULL, 0), 0);
	capture("ip -4 addr show dev lo", out, sizeof(out));
	CHECK_CONTAINS(out, "inet 198.18.0.10/32 scope global lo");
	rtnl_close(r);
}

TEST(test_addr_rules)
{
	struct ipaddr vip = make_ip("198.18.0.11", 32);
	struct ipaddr net = make_ip("198.18.1.20", 24);
	struct ipaddr v6 = make_ip("2001:db8::20", 128);
	struct ipaddr bad;
	struct rtnl *r = NULL;
	int lo, dev;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	lo = rtnl_ifindex(r, "lo");
	CHECK(add_test_link("dsrt0"));
	dev = rtnl_ifindex(r, "dsrt0");
	CHECK(dev > 0);

	/* A label is the device name, alone or followed by ':'. */
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "eth0:dsr", 0), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "loop", 0), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "lo:0123456789abc", 0), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "", 0), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &vip), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "lo", 0), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &vip), 1);
	/* IPv6 has no labels; one passed along is ignored. */
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &v6, "lo:dsr", RTNL_ADDR_NODAD), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &v6), 1);

	/* Present looks at the address, whatever its prefix length, and
	 * only on the interface asked about. */
	CHECK_EQ_INT(rtnl_addr_add(r, dev, &net, NULL, 0), 0);
	net.prefixlen = 32;
	CHECK_EQ_INT(rtnl_addr_present(r, dev, &net), 1);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &net), 0);
	/* Delete is exact: the /32 is not there, the /24 stays. */
	CHECK_EQ_INT(rtnl_addr_del(r, dev, &net), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, dev, &net), 1);
	net.prefixlen = 24;
	CHECK_EQ_INT(rtnl_addr_del(r, dev, &net), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, dev, &net), 0);

	/* Gone interfaces and nonsense are errors, not silent successes. */
	CHECK_EQ_INT(rtnl_addr_add(r, 99999, &vip, NULL, 0), -ENODEV);
	CHECK_EQ_INT(rtnl_addr_add(r, 99999, &vip, "lo:x", 0), -ENODEV);
	CHECK_EQ_INT(rtnl_addr_del(r, 99999, &vip), -ENODEV);
	CHECK_EQ_INT(rtnl_addr_present(r, 99999, &vip), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, 0, &vip, NULL, 0), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, NULL, 0x80), -EINVAL);
	bad = vip;
	bad.prefixlen = 33;
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &bad, NULL, 0), -EINVAL);
	bad.family = AF_UNIX;
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &bad, NULL, 0), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &bad), -EINVAL);
	CHECK_EQ_INT(rtnl_addr_del(r, lo, NULL), -EINVAL);
	rtnl_close(r);
}

/* Broadcast and scope as `ip addr add ... brd B scope S` sets them. */
TEST(test_addr_brd_scope)
{
	struct ipaddr net = make_ip("198.18.2.20", 24), brd = make_ip("198.18.2.255", 32);
	struct ipaddr host = make_ip("198.18.3.1", 32), v6 = make_ip("2001:db8::21", 128);
	struct rtnl_addr_opts opts = { .label = "dsrt0:pub", .broadcast = &brd };
	struct rtnl *r = NULL;
	char out[4096];
	int dev;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	CHECK(add_test_link("dsrt0"));
	dev = rtnl_ifindex(r, "dsrt0");
	CHECK(dev > 0);

	CHECK_EQ_INT(rtnl_addr_add_opts(r, dev, &net, &opts), 0);
	capture("ip -4 addr show dev dsrt0", out, sizeof(out));
	CHECK_CONTAINS(out, "inet 198.18.2.20/24 brd 198.18.2.255 scope global dsrt0:pub");

	opts = (struct rtnl_addr_opts){ .scope = RT_SCOPE_LINK };
	CHECK_EQ_INT(rtnl_addr_add_opts(r, dev, &host, &opts), 0);
	capture("ip -4 addr show dev dsrt0", out, sizeof(out));
	CHECK_CONTAINS(out, "inet 198.18.3.1/32 scope link dsrt0");
	opts.scope = RT_SCOPE_HOST;
	CHECK_EQ_INT(rtnl_addr_del(r, dev, &host), 0);
	CHECK_EQ_INT(rtnl_addr_add_opts(r, dev, &host, &opts), 0);
	capture("ip -4 addr show dev dsrt0", out, sizeof(out));
	CHECK_CONTAINS(out, "inet 198.18.3.1/32 scope host dsrt0");

	/* No broadcast in IPv6, and no scope beyond "nowhere". */
	opts = (struct rtnl_addr_opts){ .broadcast = &brd };
	CHECK_EQ_INT(rtnl_addr_add_opts(r, dev, &v6, &opts), -EINVAL);
	opts = (struct rtnl_addr_opts){ .scope = 256 };
	CHECK_EQ_INT(rtnl_addr_add_opts(r, dev, &host, &opts), -EINVAL);
	/* No options at all: the plain global address. */
	CHECK_EQ_INT(rtnl_addr_add_opts(r, dev, &v6, NULL), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, dev, &v6), 1);
	rtnl_close(r);
}

/* Routes as `ip route add` makes them, added and deleted idempotently. */
TEST(test_routes)
{
	struct rtnl_route_spec via = { .dst = make_ip("198.18.50.0", 24), .gateway = make_ip("198.18.4.254", 32),
				       .metric = 7, .scope = -1 };
	struct rtnl_route_spec ondev = { .dst = make_ip("198.18.51.0", 24), .scope = -1,
					 .prefsrc = make_ip("198.18.4.1", 32), .table = 100 };
	struct rtnl_route_spec hole = { .type = RTN_BLACKHOLE, .dst = make_ip("198.18.52.0", 24), .scope = -1 };
	struct rtnl_route_spec v6 = { .dst = make_ip("2001:db8:5::", 48), .gateway = make_ip("2001:db8:4::fe", 128),
				      .scope = -1 };
	struct ipaddr a4 = make_ip("198.18.4.1", 24), a6 = make_ip("2001:db8:4::1", 64);
	struct rtnl *r = NULL;
	char out[8192];
	int dev;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	CHECK(add_test_link("dsrt0"));
	run("ip link set dsrt0 up");
	run("ip link set dsrt0p up");
	dev = rtnl_ifindex(r, "dsrt0");
	CHECK(dev > 0);
	CHECK_EQ_INT(rtnl_addr_add(r, dev, &a4, NULL, 0), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, dev, &a6, NULL, RTNL_ADDR_NODAD), 0);
	ondev.oif = dev;

	for (int round = 0; round < 2; round++) {	/* the second changes nothing */
		CHECK_EQ_INT(rtnl_route_spec_add(r, &via), 0);
		CHECK_EQ_INT(rtnl_route_spec_add(r, &ondev), 0);
		CHECK_EQ_INT(rtnl_route_spec_add(r, &hole), 0);
		CHECK_EQ_INT(rtnl_route_spec_add(r, &v6), 0);
	}
	capture("ip route show table all", out, sizeof(out));
	CHECK_CONTAINS(out, "198.18.50.0/24 via 198.18.4.254 dev dsrt0 proto static metric 7");
	CHECK_CONTAINS(out, "198.18.51.0/24 dev dsrt0 table 100 proto static scope link src 198.18.4.1");
	CHECK_CONTAINS(out, "blackhole 198.18.52.0/24 proto static");
	CHECK_EQ_INT(count_substr(out, "198.18.50.0/24"), 1);
	capture("ip -6 route show", out, sizeof(out));
	CHECK_CONTAINS(out, "2001:db8:5::/48 via 2001:db8:4::fe dev dsrt0 proto static");

	for (int round = 0; round < 2; round++) {	/* gone is fine */
		CHECK_EQ_INT(rtnl_route_spec_del(r, &via), 0);
		CHECK_EQ_INT(rtnl_route_spec_del(r, &ondev), 0);
		CHECK_EQ_INT(rtnl_route_spec_del(r, &hole), 0);
		CHECK_EQ_INT(rtnl_route_spec_del(r, &v6), 0);
	}
	capture("ip route show table all", out, sizeof(out));
	CHECK(strstr(out, "198.18.50.0") == NULL && strstr(out, "198.18.51.0") == NULL &&
	      strstr(out, "198.18.52.0") == NULL && strstr(out, "2001:db8:5::") == NULL);

	/* The kernel's refusals come back as they are; nonsense is refused here. */
	via.gateway = make_ip("198.18.99.1", 32);	/* not on any link */
	CHECK_EQ_INT(rtnl_route_spec_add(r, &via), -ENETUNREACH);
	hole.oif = dev;
	CHECK_EQ_INT(rtnl_route_spec_add(r, &hole), -EINVAL);
	v6.gateway = make_ip("198.18.4.254", 32);
	CHECK_EQ_INT(rtnl_route_spec_add(r, &v6), -EINVAL);
	CHECK_EQ_INT(rtnl_route_spec_add(r, NULL), -EINVAL);
	rtnl_close(r);
}

/* Announced VIPs (issue 12): host routes in a table of their own with a
 * protocol of their own, found again by a dump of exactly those; a route
 * of another protocol in that table is neither listed nor removed; an
 * IPv6 VIP is never preferred as a source. */
TEST(test_announce_routes)
{
	struct rtnl_route_spec mine = { .dst = make_ip("198.18.60.1", 32), .scope = RT_SCOPE_LINK, .table = 222,
					.protocol = 222 };
	struct rtnl_route_spec mine6 = { .dst = make_ip("2001:db8:60::1", 128), .scope = RT_SCOPE_LINK,
					 .table = 222, .protocol = 222 };
	struct rtnl_route_spec other = { .dst = make_ip("198.18.60.2", 32), .scope = RT_SCOPE_LINK, .table = 222 };
	struct ipaddr v6 = make_ip("2001:db8:60::1", 128), *list = NULL;
	struct rtnl *r = NULL;
	char out[8192];
	size_t n = 0;
	int lo;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	lo = rtnl_ifindex(r, "lo");
	mine.oif = mine6.oif = other.oif = lo;
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &v6, NULL, RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED), 0);
	CHECK_EQ_INT(rtnl_route_spec_add(r, &mine), 0);
	CHECK_EQ_INT(rtnl_route_spec_add(r, &mine6), 0);
	CHECK_EQ_INT(rtnl_route_spec_add(r, &other), 0);
	capture("ip route show table 222 proto 222", out, sizeof(out));
	CHECK_CONTAINS(out, "198.18.60.1 dev lo scope link");
	CHECK(strstr(out, "198.18.60.2") == NULL);
	capture("ip -6 addr show dev lo", out, sizeof(out));
	CHECK_CONTAINS(out, "2001:db8:60::1/128 scope global nodad deprecated");
	CHECK_CONTAINS(out, "preferred_lft 0sec");
	CHECK_EQ_INT(rtnl_route_dump(r, 222, 222, &list, &n), 0);
	CHECK_EQ_INT((int)n, 2);
	for (size_t i = 0; i < n; i++)
		CHECK(list[i].prefixlen == (list[i].family == AF_INET ? 32 : 128));
	free(list);
	/* Deleting with our protocol leaves another's route alone. */
	other.protocol = 222;
	CHECK_EQ_INT(rtnl_route_spec_del(r, &other), 0);
	CHECK_EQ_INT(rtnl_route_spec_del(r, &mine), 0);
	CHECK_EQ_INT(rtnl_route_spec_del(r, &mine6), 0);
	capture("ip route show table 222", out, sizeof(out));
	CHECK_CONTAINS(out, "198.18.60.2 dev lo proto static scope link");
	CHECK(strstr(out, "198.18.60.1") == NULL);
	CHECK_EQ_INT(rtnl_route_dump(r, 222, 222, &list, &n), 0);
	CHECK_EQ_INT((int)n, 0);
	free(list);
	rtnl_close(r);
}

TEST(test_addr_v6_nodad)
{
	struct ipaddr v6lo = make_ip("2001:db8::10", 128);
	struct ipaddr v6dev = make_ip("2001:db8::11", 128);
	struct rtnl *r = NULL;
	char out[4096];
	int lo, dev;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	CHECK(add_test_link("dsrt0"));
	CHECK_EQ_INT(run("ip link set dsrt0 up"), 0);
	lo = rtnl_ifindex(r, "lo");
	dev = rtnl_ifindex(r, "dsrt0");
	CHECK(lo > 0 && dev > 0);

	CHECK_EQ_INT(rtnl_addr_add(r, lo, &v6lo, NULL, RTNL_ADDR_NODAD), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, dev, &v6dev, NULL, RTNL_ADDR_NODAD), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &v6lo, NULL, RTNL_ADDR_NODAD), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &v6lo), 1);
	CHECK_EQ_INT(rtnl_addr_present(r, dev, &v6dev), 1);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &v6dev), 0);

	capture("ip -6 addr show dev lo", out, sizeof(out));
	CHECK_CONTAINS(out, "inet6 2001:db8::10/128 scope global nodad");
	CHECK(strstr(out, "tentative") == NULL);
	capture("ip -6 addr show dev dsrt0", out, sizeof(out));
	CHECK_CONTAINS(out, "inet6 2001:db8::11/128 scope global nodad");
	CHECK(strstr(out, "2001:db8::11/128 scope global tentative") == NULL);

	CHECK_EQ_INT(rtnl_addr_del(r, lo, &v6lo), 0);
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &v6lo), 0);
	CHECK_EQ_INT(rtnl_addr_del(r, lo, &v6lo), 0);
	CHECK_EQ_INT(rtnl_addr_del(r, dev, &v6dev), 0);
	CHECK_EQ_INT(rtnl_addr_del(r, dev, &v6dev), 0);
	capture("ip -6 addr show", out, sizeof(out));
	CHECK(strstr(out, "2001:db8::") == NULL);
	rtnl_close(r);
}

/* RTNL_ADDR_DEPRECATED: preferred lifetime 0, valid forever, so source
 * address selection passes the address over; one already there (added
 * by hand) becomes deprecated too; IPv4 has no lifetimes here and is
 * added as usual. */
TEST(test_addr_v6_deprecated)
{
	struct ipaddr vip = make_ip("2001:db8::100", 128), old = make_ip("2001:db8::101", 128);
	struct ipaddr v4 = make_ip("198.18.7.7", 32);
	const unsigned flags = RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED;
	struct rtnl *r = NULL;
	char out[4096];
	int lo;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	lo = rtnl_ifindex(r, "lo");
	CHECK(lo > 0);
	CHECK_EQ_INT(run("ip -6 addr add 2001:db8::101/128 dev lo nodad"), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, NULL, flags), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, NULL, flags), 0);	/* again: make it so */
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &old, NULL, flags), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &v4, "lo:dsr", flags), 0);
	capture("ip -6 addr show dev lo", out, sizeof(out));
	CHECK_CONTAINS(out, "inet6 2001:db8::100/128 scope global nodad deprecated");
	CHECK_CONTAINS(out, "inet6 2001:db8::101/128 scope global nodad deprecated");
	CHECK_CONTAINS(out, "valid_lft forever preferred_lft 0sec");
	CHECK_EQ_INT(rtnl_addr_present(r, lo, &v4), 1);
	rtnl_close(r);
}

/* The state of an address in rtnl_addr_dump(): tentative (1), usable
 * (0), gone or failed (-1). */
static int tentative_of(struct rtnl *r, int ifindex, const struct ipaddr *a)
{
	struct rtnl_addrinfo *list;
	size_t n;
	int state = -1;

	if (rtnl_addr_dump(r, ifindex, &list, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ipaddr_equal(&list[i].addr, a) && !list[i].dadfailed)
			state = list[i].tentative;
	free(list);
	return state;
}

/* An IPv6 address in duplicate address detection is dumped as tentative
 * (the kernel refuses it as a source until DAD ends: VRRP waits for its
 * link-local address), then, DAD done, as usable; a nodad one never is. */
TEST(test_addr_dump_tentative)
{
	struct ipaddr dad = make_ip("2001:db8::20", 64), nodad = make_ip("2001:db8::21", 64);
	struct rtnl *r = NULL;
	int dev, state = 1;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	/* veth: a dummy (NOARP) runs no DAD at all. */
	CHECK_EQ_INT(run("ip link add dsrt2 type veth peer name dsrt2p"), 0);
	CHECK_EQ_INT(run("ip link set dsrt2p up && ip link set dsrt2 up"), 0);
	dev = rtnl_ifindex(r, "dsrt2");
	CHECK(dev > 0);
	CHECK_EQ_INT(run("ip -6 addr add 2001:db8::20/64 dev dsrt2"), 0);
	CHECK_EQ_INT(rtnl_addr_add(r, dev, &nodad, NULL, RTNL_ADDR_NODAD), 0);
	CHECK_EQ_INT(tentative_of(r, dev, &dad), 1);
	CHECK_EQ_INT(tentative_of(r, dev, &nodad), 0);
	for (int i = 0; i < 100 && state == 1; i++) {	/* DAD: about a second; 10 s at most */
		usleep(100 * 1000);
		state = tentative_of(r, dev, &dad);
	}
	CHECK_EQ_INT(state, 0);
	rtnl_close(r);
}

/* The proxy-NDP table, which answers neighbour solicitations for its
 * addresses: what rs-agent looks for among its IPv6 VIPs. */
TEST(test_proxy_list)
{
	struct ipaddr vip = make_ip("2001:db8::100", 128);
	struct rtnl_proxy *p = NULL;
	struct rtnl *r = NULL;
	size_t n = 1;
	int dev;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	CHECK(add_test_link("dsrt0"));
	dev = rtnl_ifindex(r, "dsrt0");
	CHECK_EQ_INT(rtnl_proxy_list(r, &p, &n), 0);
	CHECK_EQ_INT(n, 0);
	free(p);
	CHECK_EQ_INT(run("ip -6 neigh add proxy 2001:db8::100 dev dsrt0"), 0);
	CHECK_EQ_INT(run("ip neigh add 198.18.0.9 lladdr 02:00:00:00:00:09 dev dsrt0"), 0);	/* not a proxy */
	CHECK_EQ_INT(rtnl_proxy_list(r, &p, &n), 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(p[0].ifindex, dev);
		CHECK(ipaddr_equal(&p[0].addr, &vip));
	}
	free(p);
	rtnl_close(r);
}

TEST(test_link_set_arp)
{
	struct rtnl_ifinfo info;
	struct rtnl *r = NULL;
	int dev, lo, v = -1;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	CHECK(add_test_link("dsrt0"));
	dev = rtnl_ifindex(r, "dsrt0");
	lo = rtnl_ifindex(r, "lo");
	CHECK(dev > 0 && lo > 0);

	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, 1, 2), 0);
	CHECK_EQ_INT(sysctl_get_arp_ignore("dsrt0", &v), 0);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(sysctl_get_arp_announce("dsrt0", &v), 0);
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(rtnl_link_get(r, dev, &info), 0);
	CHECK_EQ_INT(info.ifindex, dev);
	CHECK_EQ_STR(info.name, "dsrt0");
	CHECK_EQ_INT(info.arp_ignore, 1);
	CHECK_EQ_INT(info.arp_announce, 2);

	/* A negative value leaves that setting alone. */
	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, -1, 0), 0);
	CHECK_EQ_INT(rtnl_link_get(r, dev, &info), 0);
	CHECK_EQ_INT(info.arp_ignore, 1);
	CHECK_EQ_INT(info.arp_announce, 0);
	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, 0, -1), 0);
	CHECK_EQ_INT(sysctl_get_arp_ignore("dsrt0", &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, -1, -1), 0);

	/* The loopback, where the VIPs live. */
	CHECK_EQ_INT(rtnl_link_set_arp(r, lo, 1, 2), 0);
	CHECK_EQ_INT(sysctl_get_arp_ignore("lo", &v), 0);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(sysctl_get_arp_announce("lo", &v), 0);
	CHECK_EQ_INT(v, 2);

	/* And the other way round: sysctl writes show up over rtnetlink. */
	CHECK_EQ_INT(sysctl_set_arp_ignore("dsrt0", 8), 0);
	CHECK_EQ_INT(rtnl_link_get(r, dev, &info), 0);
	CHECK_EQ_INT(info.arp_ignore, 8);

	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, 9, 0), -EINVAL);
	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, 0, 3), -EINVAL);
	CHECK_EQ_INT(rtnl_link_set_arp(r, 99999, 1, 2), -ENODEV);
	CHECK_EQ_INT(rtnl_link_set_arp(r, 0, 1, 2), -EINVAL);
	CHECK_EQ_INT(rtnl_link_get(r, 99999, &info), -ENODEV);
	rtnl_close(r);
}

TEST(test_sysctl_all_default)
{
	static const char *const bad_names[] = {
		"", ".", "..", "../all", "all/../../..", "lo:dsr", "a b", "0123456789abcdef",
	};
	static const char *const bad_paths[] = {
		"", "/etc/passwd", "net/../../etc/passwd", "net/ipv4/./conf", "net//ipv4", "..",
	};
	struct rtnl_ifinfo info;
	struct rtnl *r = NULL;
	int v = -1, dev;

	ENTER_NETNS();
	CHECK(add_test_link("dsrt0"));
	/* Write "all" only once it is certain that /proc/sys/net is this
	 * namespace's: the interface just made must be visible there. */
	CHECK_EQ_INT(sysctl_get_arp_ignore("dsrt0", &v), 0);
	if (test_failed_checks)
		return;

	CHECK_EQ_INT(sysctl_set_arp_ignore("all", 1), 0);
	CHECK_EQ_INT(sysctl_set_arp_announce("all", 2), 0);
	CHECK_EQ_INT(sysctl_get_arp_ignore("all", &v), 0);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(sysctl_get_arp_announce("all", &v), 0);
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(sysctl_read_int("net/ipv4/conf/all/arp_ignore", &v), 0);
	CHECK_EQ_INT(v, 1);

	/* "default" is what new interfaces start with. */
	CHECK_EQ_INT(sysctl_set_arp_ignore("default", 1), 0);
	CHECK_EQ_INT(sysctl_set_arp_announce("default", 2), 0);
	CHECK_EQ_INT(sysctl_get_arp_announce("default", &v), 0);
	CHECK_EQ_INT(v, 2);
	CHECK(add_test_link("dsrt1"));
	CHECK_EQ_INT(sysctl_get_arp_ignore("dsrt1", &v), 0);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (r) {
		dev = rtnl_ifindex(r, "dsrt1");
		CHECK_EQ_INT(rtnl_link_get(r, dev, &info), 0);
		CHECK_EQ_INT(info.arp_ignore, 1);
		CHECK_EQ_INT(info.arp_announce, 2);
		rtnl_close(r);
	}

	CHECK_EQ_INT(sysctl_write_int("net/ipv4/conf/default/arp_ignore", 0), 0);
	CHECK_EQ_INT(sysctl_read_int("net/ipv4/conf/default/arp_ignore", &v), 0);
	CHECK_EQ_INT(v, 0);

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		CHECK_EQ_INT(sysctl_get_arp_ignore(bad_names[i], &v), -EINVAL);
		CHECK_EQ_INT(sysctl_set_arp_announce(bad_names[i], 0), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		CHECK_EQ_INT(sysctl_read_int(bad_paths[i], &v), -EINVAL);
		CHECK_EQ_INT(sysctl_write_int(bad_paths[i], 0), -EINVAL);
	}
	CHECK_EQ_INT(sysctl_get_arp_ignore(NULL, &v), -EINVAL);
	CHECK_EQ_INT(sysctl_get_arp_ignore("nosuchdev0", &v), -ENODEV);
	CHECK_EQ_INT(sysctl_set_arp_ignore("nosuchdev0", 1), -ENODEV);
	CHECK_EQ_INT(sysctl_read_int("net/ipv4/conf/all/no_such_key", &v), -ENOENT);
	CHECK_EQ_INT(sysctl_set_arp_ignore("all", 9), -EINVAL);
	CHECK_EQ_INT(sysctl_set_arp_ignore("all", -1), -EINVAL);
	CHECK_EQ_INT(sysctl_set_arp_announce("all", 3), -EINVAL);
	/* A file that holds no single integer. */
	CHECK_EQ_INT(sysctl_read_int("net/ipv4/ip_local_port_range", &v), -EINVAL);
}

static const struct rtnl_ifinfo *find_link(const struct rtnl_ifinfo *links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(links[i].name, name) == 0)
			return &links[i];
	return NULL;
}

TEST(test_links)
{
	const struct rtnl_ifinfo *lo, *dev;
	struct rtnl_ifinfo *links = NULL;
	struct rtnl *r = NULL;
	bool veth;
	size_t n = 0;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	if (!r)
		return;
	CHECK(add_test_link("dsrt0"));
	veth = rtnl_ifindex(r, "dsrt0p") > 0;

	CHECK_EQ_INT(rtnl_links(r, &links, &n), 0);
	/* A private namespace: lo and what this test made, nothing else. */
	CHECK_EQ_INT(n, veth ? 3 : 2);
	lo = find_link(links, n, "lo");
	dev = find_link(links, n, "dsrt0");
	CHECK(lo && dev);
	if (lo && dev) {
		CHECK_EQ_INT(lo->ifindex, rtnl_ifindex(r, "lo"));
		CHECK(lo->loopback);
		CHECK(lo->up);
		CHECK(lo->arp_ignore >= 0 && lo->arp_announce >= 0);
		CHECK_EQ_INT(dev->ifindex, rtnl_ifindex(r, "dsrt0"));
		CHECK(!dev->loopback);
		CHECK(!dev->up);
		CHECK(dev->arp_ignore >= 0 && dev->arp_announce >= 0);
	}
	free(links);

	CHECK_EQ_INT(run("ip link set dsrt0 up"), 0);
	CHECK_EQ_INT(rtnl_links(r, &links, &n), 0);
	dev = find_link(links, n, "dsrt0");
	CHECK(dev && dev->up);
	free(links);

	CHECK_EQ_INT(rtnl_ifindex(r, "nosuchdev0"), -ENODEV);
	CHECK_EQ_INT(rtnl_ifindex(r, ""), -EINVAL);
	CHECK_EQ_INT(rtnl_ifindex(r, "0123456789abcdef"), -EINVAL);
	rtnl_close(r);
}

/* ---- notifications --------------------------------------------------- */

#define MAX_EVENTS 512

struct recorder {
	struct rtnl_event ev[MAX_EVENTS];
	size_t n;
	size_t dropped;
};

static void record_event(const struct rtnl_event *ev, void *arg)
{
	struct recorder *rec = arg;

	if (rec->n < MAX_EVENTS)
		rec->ev[rec->n++] = *ev;
	else
		rec->dropped++;
}

struct expect {
	enum rtnl_event_type type;
	int ifindex;			/* 0: any */
	const char *ifname;		/* links, NULL: any */
	const struct ipaddr *addr;	/* addresses, NULL: any */
};

static bool event_matches(const struct rtnl_event *ev, const struct expect *x)
{
	if (ev->type != x->type || (x->ifindex && ev->ifindex != x->ifindex))
		return false;
	if (x->ifname && strcmp(ev->ifname, x->ifname) != 0)
		return false;
	if (x->addr && (ev->addr.family != x->addr->family ||
			memcmp(ev->addr.u.bytes, x->addr->u.bytes,
			       x->addr->family == AF_INET ? 4 : 16) != 0 ||
			ev->addr.prefixlen != x->addr->prefixlen))
		return false;
	return true;
}

/* Wait at most timeout_ms for a matching event; *err gets the first
 * error rtnl_watch_read returned (0 when none). */
static bool wait_event(struct rtnl_watch *w, int fd, struct recorder *rec,
		       const struct expect *x, int timeout_ms, int *err)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now;
		int e;

		for (size_t i = 0; i < rec->n; i++)
			if (event_matches(&rec->ev[i], x))
				return true;
		now = now_ms();
		if (now >= deadline)
			return false;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		e = rtnl_watch_read(w, record_event, rec);
		if (e < 0 && err && *err == 0)
			*err = e;
	}
}

TEST(test_watch)
{
	struct ipaddr vip = make_ip("198.18.0.10", 32);
	struct ipaddr vip6 = make_ip("2001:db8::10", 128);
	static struct recorder rec;
	struct rtnl_watch *w = NULL;
	struct rtnl *r = NULL;
	int fd = -1, lo, dev, err = 0;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	CHECK_EQ_INT(rtnl_watch_open(&w, &fd), 0);
	if (!r || !w) {
		rtnl_close(r);
		rtnl_watch_close(w);
		return;
	}
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	lo = rtnl_ifindex(r, "lo");

	/* Nothing happened yet: nothing to read, and no blocking. */
	rec.n = 0;
	CHECK_EQ_INT(rtnl_watch_read(w, record_event, &rec), 0);

	rec.n = 0;
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip, "lo:dsr", 0), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_ADDR_NEW, lo, NULL, &vip }, 500, &err));

	rec.n = 0;
	CHECK_EQ_INT(run("ip addr del 198.18.0.10/32 dev lo"), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_ADDR_DEL, lo, NULL, &vip }, 500, &err));

	rec.n = 0;
	CHECK_EQ_INT(rtnl_addr_add(r, lo, &vip6, NULL, RTNL_ADDR_NODAD), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_ADDR_NEW, lo, NULL, &vip6 }, 500, &err));

	rec.n = 0;
	CHECK(add_test_link("dsrt1"));
	dev = rtnl_ifindex(r, "dsrt1");
	CHECK(dev > 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_NEW, dev, "dsrt1", NULL }, 500, &err));

	/* Does changing arp_ignore announce itself? Over RTM_SETLINK the
	 * kernel sends RTM_NEWLINK through netdev_state_change(), which does
	 * nothing for a device that is down; a write to /proc/sys sends
	 * nothing at all. So ARP settings must be polled, not watched. */
	CHECK_EQ_INT(rtnl_watch_read(w, record_event, &rec), 0);
	rec.n = 0;
	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, 1, 2), 0);
	if (wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_NEW, dev, NULL, NULL }, 200, &err))
		fprintf(stderr, "  note: RTM_SETLINK of arp_ignore on a down device sent RTM_NEWLINK\n");
	CHECK_EQ_INT(run("ip link set dsrt1 up"), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_NEW, dev, "dsrt1", NULL }, 500, &err));
	rec.n = 0;
	CHECK_EQ_INT(rtnl_link_set_arp(r, dev, 0, 0), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_NEW, dev, "dsrt1", NULL }, 500, &err));
	rec.n = 0;
	CHECK_EQ_INT(sysctl_set_arp_ignore("dsrt1", 1), 0);
	if (wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_NEW, dev, NULL, NULL }, 200, &err))
		fprintf(stderr, "  note: a sysctl write of arp_ignore sent RTM_NEWLINK\n");

	rec.n = 0;
	CHECK_EQ_INT(run("ip link del dsrt1"), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_DEL, dev, "dsrt1", NULL }, 500, &err));

	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(rec.dropped, 0);
	rtnl_watch_close(w);
	rtnl_close(r);
}

static bool saw_event(const struct recorder *rec, enum rtnl_event_type type, int ifindex)
{
	for (size_t i = 0; i < rec->n; i++)
		if (rec->ev[i].type == type && rec->ev[i].ifindex == ifindex)
			return true;
	return false;
}

/* Events that are easy to get wrong: a point-to-point address is its
 * local side, not the peer; a port leaving a bridge gets an AF_BRIDGE
 * RTM_DELLINK although the device itself stays. */
TEST(test_watch_peer_and_bridge)
{
	struct ipaddr local = make_ip("198.18.3.1", 32);
	static struct recorder rec;
	struct rtnl_watch *w = NULL;
	struct rtnl *r = NULL;
	int fd = -1, dev, err = 0;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	CHECK_EQ_INT(rtnl_watch_open(&w, &fd), 0);
	CHECK(add_test_link("dsrt0"));
	dev = r ? rtnl_ifindex(r, "dsrt0") : -1;
	if (!r || !w || dev <= 0) {
		rtnl_close(r);
		rtnl_watch_close(w);
		return;
	}

	rec.n = 0;
	CHECK_EQ_INT(run("ip addr add 198.18.3.1 peer 198.18.3.2/32 dev dsrt0"), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_ADDR_NEW, dev, NULL, &local }, 500, &err));
	CHECK_EQ_INT(rtnl_addr_present(r, dev, &local), 1);

	if (run("ip link add dsrbr0 type bridge") != 0) {
		fprintf(stderr, "  note: no bridge support, port events not tested\n");
		goto out;
	}
	CHECK_EQ_INT(run("ip link set dsrt0 master dsrbr0"), 0);
	CHECK_EQ_INT(rtnl_watch_read(w, record_event, &rec), 0);
	rec.n = 0;
	CHECK_EQ_INT(run("ip link set dsrt0 nomaster"), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_LINK_NEW, dev, "dsrt0", NULL }, 500, &err));
	/* Everything the command caused is queued by now. */
	CHECK_EQ_INT(rtnl_watch_read(w, record_event, &rec), 0);
	CHECK(!saw_event(&rec, RTNL_EV_LINK_DEL, dev));
	CHECK(rtnl_ifindex(r, "dsrt0") == dev);
out:
	CHECK_EQ_INT(err, 0);
	rtnl_watch_close(w);
	rtnl_close(r);
}

/* Overrun: shrink the receive buffer the watch asked for, queue more
 * notifications than fit, and check that rtnl_watch_read says ENOBUFS,
 * still delivers what was queued, and works afterwards. */
TEST(test_watch_overrun)
{
	struct ipaddr last = make_ip("198.18.2.200", 32);
	static struct recorder rec;
	struct rtnl_watch *w = NULL;
	struct rtnl *r = NULL;
	char batch[] = "/tmp/dsrkit-test-rtnl-XXXXXX";
	int fd = -1, dev, bfd, small = 4096, err = 0;
	FILE *f;

	ENTER_NETNS();
	CHECK_EQ_INT(rtnl_open(&r), 0);
	CHECK(add_test_link("dsrt0"));
	dev = r ? rtnl_ifindex(r, "dsrt0") : -1;
	CHECK_EQ_INT(rtnl_watch_open(&w, &fd), 0);
	if (!r || !w || dev <= 0) {
		rtnl_close(r);
		rtnl_watch_close(w);
		return;
	}
	CHECK_EQ_INT(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);

	bfd = mkstemp(batch);
	CHECK(bfd >= 0);
	f = bfd >= 0 ? fdopen(bfd, "w") : NULL;
	if (!f)
		goto out;
	for (int i = 1; i <= 200; i++)
		fprintf(f, "address add 198.18.2.%d/32 dev dsrt0\n", i);
	fclose(f);
	CHECK_EQ_INT(run("ip -batch %s", batch), 0);
	unlink(batch);

	rec.n = 0;
	rec.dropped = 0;
	CHECK_EQ_INT(rtnl_watch_read(w, record_event, &rec), -ENOBUFS);
	CHECK(rec.n > 0 && rec.n < 200);

	/* The socket lives on. */
	rec.n = 0;
	CHECK_EQ_INT(rtnl_watch_read(w, record_event, &rec), 0);
	CHECK_EQ_INT(run("ip addr del 198.18.2.200/32 dev dsrt0"), 0);
	CHECK(wait_event(w, fd, &rec, &(struct expect){ RTNL_EV_ADDR_DEL, dev, NULL, &last }, 500, &err));
	CHECK_EQ_INT(err, 0);
out:
	rtnl_watch_close(w);
	rtnl_close(r);
}

TEST_MAIN(
	T(test_proxy_list),
	T(test_addr_v6_deprecated), T(test_addr_dump_tentative),
	T(test_addr_v4_label),
	T(test_addr_rules),
	T(test_addr_brd_scope),
	T(test_routes),
	T(test_announce_routes), T(test_addr_v6_nodad),
	T(test_link_set_arp),
	T(test_sysctl_all_default),
	T(test_links),
	T(test_watch),
	T(test_watch_peer_and_bridge),
	T(test_watch_overrun),
)
