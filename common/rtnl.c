/* rtnetlink through libnl-route: addresses, links and their IPv4 ARP
 * settings, and change notifications. libnl types stay in this file; the
 * rest of dsrkit sees ifindexes, struct ipaddr and -errno.
 *
 * Requests go through common/nlsock (the kernel's own errno back, every
 * answer awaited for a bounded time). The watch socket is read without
 * libnl: an overrun must be reported as ENOBUFS, not as NOMEM. */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

/* After libnl: rtnl.h renames two names that libnl also declares. */
#include "nlsock.h"
#include "rtnl.h"
#include "util.h"

/* The kernel's "forever" in IFA_CACHEINFO (not in its uapi headers). */
#define INFINITY_LIFE_TIME 0xFFFFFFFFu

/* Same bounds as sysctl.c: what ip-sysctl.rst documents. */
#define ARP_IGNORE_MAX 8
#define ARP_ANNOUNCE_MAX 2

/* Notifications can come in bursts (a bridge with hundreds of ports going
 * down, thousands of VIPs added at once); a large receive buffer makes an
 * overrun rare, and an overrun only costs a full re-check. */
#define WATCH_RCVBUF (4 * 1024 * 1024)
/* Larger than any single notification; a bigger one is reported as lost. */
#define WATCH_MSGBUF (64 * 1024)

struct rtnl {
	struct nlsock ns;
};

struct rtnl_watch {
	struct nl_sock *sk;
	unsigned char *buf;	/* WATCH_MSGBUF bytes, malloc'd so it is aligned */
};

/* ---- sockets --------------------------------------------------------- */

int rtnl_open(struct rtnl **out)
{
	struct rtnl *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if ((err = nlsock_open(&r->ns, NETLINK_ROUTE, 0)) < 0) {
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void rtnl_close(struct rtnl *r)
{
	if (!r)
		return;
	nlsock_close(&r->ns);
	free(r);
}

/* ---- links ----------------------------------------------------------- */

static bool ifname_fits(const char *ifname)
{
	size_t len;

	if (!ifname)
		return false;
	len = strnlen(ifname, IF_NAMESIZE);
	return len > 0 && len < IF_NAMESIZE;
}

/* One link from the kernel, by index or by name. */
static int get_link(struct rtnl *r, int ifindex, const char *name, struct rtnl_link **out)
{
	int err;

	*out = NULL;
	err = nlsock_result(&r->ns, rtnl_link_get_kernel(r->ns.sk, ifindex, name, out));
	return err == -ENOENT ? -ENODEV : err;
}

int rtnl_ifindex(struct rtnl *r, const char *ifname)
{
	struct rtnl_link *link;
	int err, ifindex;

	if (!ifname_fits(ifname))
		return -EINVAL;
	if ((err = get_link(r, 0, ifname, &link)) < 0)
		return err;
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ifindex > 0 ? ifindex : -ENODEV;
}

/* -1 when the link carries no IPv4 configuration (no in_device). */
static int inet_conf(struct rtnl_link *link, unsigned id)
{
	uint32_t v;

	if (rtnl_link_inet_get_conf(link, id, &v) < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static void fill_ifinfo(struct rtnl_link *link, struct rtnl_ifinfo *out)
{
	const char *name = rtnl_link_get_name(link);
	unsigned flags = rtnl_link_get_flags(link);

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(link);
	strlcpy_safe(out->name, name ? name : "", sizeof(out->name));
	out->up = flags & IFF_UP;
	out->running = (flags & IFF_UP) && (flags & IFF_RUNNING);
	out->loopback = flags & IFF_LOOPBACK;
	out->arp_ignore = inet_conf(link, IPV4_DEVCONF_ARP_IGNORE);
	out->arp_announce = inet_conf(link, IPV4_DEVCONF_ARP_ANNOUNCE);
}

int rtnl_links(struct rtnl *r, struct rtnl_ifinfo **out, size_t *n)
{
	struct rtnl_ifinfo *infos;
	struct nl_cache *cache;
	struct nl_object *obj;
	size_t count, i = 0;
	int err;

	*out = NULL;
	*n = 0;
	err = nlsock_result(&r->ns, rtnl_link_alloc_cache(r->ns.sk, AF_UNSPEC, &cache));
	if (err < 0)
		return err;
	count = (size_t)nl_cache_nitems(cache);
	infos = calloc(count ? count : 1, sizeof(*infos));
	if (!infos) {
		nl_cache_free(cache);
		return -ENOMEM;
	}
	for (obj = nl_cache_get_first(cache); obj && i < count; obj = nl_cache_get_next(obj))
		fill_ifinfo((struct rtnl_link *)obj, &infos[i++]);
	nl_cache_free(cache);
	*out = infos;
	*n = i;
	return 0;
}

int rtnl_link_get(struct rtnl *r, int ifindex, struct rtnl_ifinfo *out)
{
	struct rtnl_link *link;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	if ((err = get_link(r, ifindex, NULL, &link)) < 0)
		return err;
	fill_ifinfo(link, out);
	rtnl_link_put(link);
	return 0;
}

int rtnl_link_set_arp(struct rtnl *r, int ifindex, int arp_ignore, int arp_announce)
{
	struct rtnl_link *orig, *change;
	int err = 0;

	if (ifindex <= 0 || arp_ignore > ARP_IGNORE_MAX || arp_announce > ARP_ANNOUNCE_MAX)
		return -EINVAL;
	if (arp_ignore < 0 && arp_announce < 0)
		return 0;
	if ((err = get_link(r, ifindex, NULL, &orig)) < 0)
		return err;
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(orig);
		return -ENOMEM;
	}
	/* libnl numbers the settings as the kernel does, from 1. */
	if (arp_ignore >= 0)
		err = rtnl_link_inet_set_conf(change, IPV4_DEVCONF_ARP_IGNORE, (uint32_t)arp_ignore);
	if (err >= 0 && arp_announce >= 0)
		err = rtnl_link_inet_set_conf(change, IPV4_DEVCONF_ARP_ANNOUNCE, (uint32_t)arp_announce);
	if (err >= 0)
		err = nlsock_result(&r->ns, rtnl_link_change(r->ns.sk, orig, change, 0));
	else
		err = nlsock_errno(err);
	rtnl_link_put(change);
	rtnl_link_put(orig);
	return err == -ENOENT ? -ENODEV : err;
}

/* ---- addresses ------------------------------------------------------- */

static size_t family_addr_len(int family)
{
	switch (family) {
	case AF_INET:	return 4;
	case AF_INET6:	return 16;
	default:	return 0;
	}
}

static bool ipaddr_is_valid(const struct ipaddr *a)
{
	size_t len = a ? family_addr_len(a->family) : 0;

	return len > 0 && a->prefixlen <= len * 8;
}

/* An address object holding just what identifies it: ifindex, family,
 * local address and prefix length. */
static int build_addr(int ifindex, const struct ipaddr *a, struct rtnl_addr **out)
{
	struct rtnl_addr *ra;
	struct nl_addr *local;
	int err;

	*out = NULL;
	ra = rtnl_addr_alloc();
	if (!ra)
		return -ENOMEM;
	local = nl_addr_build(a->family, a->u.bytes, family_addr_len(a->family));
	if (!local) {
		rtnl_addr_put(ra);
		return -ENOMEM;
	}
	nl_addr_set_prefixlen(local, a->prefixlen);
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, a->family);
	err = rtnl_addr_set_local(ra, local);	/* takes its own reference */
	nl_addr_put(local);
	if (err < 0) {
		rtnl_addr_put(ra);
		return nlsock_errno(err);
	}
	*out = ra;
	return 0;
}

/* Linux shows an IPv4 label as an alias of the device ("lo:dsr" on "lo"),
 * and tools such as ifconfig and `ip addr show label` rely on that shape,
 * so the label must be the device name, alone or followed by ':'. */
static int check_label(struct rtnl *r, int ifindex, const char *label)
{
	struct rtnl_link *link;
	const char *ifname;
	size_t n;
	int err;

	if (!ifname_fits(label))
		return -EINVAL;
	if ((err = get_link(r, ifindex, NULL, &link)) < 0)
		return err;
	ifname = rtnl_link_get_name(link);
	n = ifname ? strlen(ifname) : 0;
	if (n == 0 || strncmp(label, ifname, n) != 0 || (label[n] != '\0' && label[n] != ':'))
		err = -EINVAL;
	rtnl_link_put(link);
	return err;
}

static int set_broadcast(struct rtnl_addr *ra, const struct ipaddr *brd)
{
	struct nl_addr *a = nl_addr_build(AF_INET, brd->u.bytes, 4);
	int err;

	if (!a)
		return -ENOMEM;
	err = rtnl_addr_set_broadcast(ra, a);	/* takes its own reference */
	nl_addr_put(a);
	return err < 0 ? nlsock_errno(err) : 0;
}

int rtnl_addr_add_opts(struct rtnl *r, int ifindex, const struct ipaddr *addr,
		       const struct rtnl_addr_opts *opts)
{
	static const struct rtnl_addr_opts none;
	bool replace = false;
	const char *label;
	struct rtnl_addr *ra;
	struct nl_msg *msg;
	int err, nle;

	if (!opts)
		opts = &none;
	if (ifindex <= 0 || !ipaddr_is_valid(addr) || (opts->flags & ~(RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED)) ||
	    opts->scope < 0 || opts->scope > RT_SCOPE_NOWHERE)
		return -EINVAL;
	if (opts->broadcast && (addr->family != AF_INET || opts->broadcast->family != AF_INET))
		return -EINVAL;
	/* Labels are an IPv4 notion; IPv6 has none and ignores it. */
	label = addr->family == AF_INET ? opts->label : NULL;
	if (label && (err = check_label(r, ifindex, label)) < 0)
		return err;
	if ((err = build_addr(ifindex, addr, &ra)) < 0)
		return err;
	/* Global scope by default, as `ip addr add VIP/32 dev lo` gives: the
	 * VIP must be usable as the source of replies that bypass the director. */
	rtnl_addr_set_scope(ra, opts->scope);
	if (label && (err = rtnl_addr_set_label(ra, label)) < 0)
		err = nlsock_errno(err);
	if (err == 0 && opts->broadcast)
		err = set_broadcast(ra, opts->broadcast);
	if (err < 0) {
		rtnl_addr_put(ra);
		return err;
	}
	if (addr->family == AF_INET6 && (opts->flags & RTNL_ADDR_NODAD))
		rtnl_addr_set_flags(ra, IFA_F_NODAD);
	if (addr->family == AF_INET6 && (opts->flags & RTNL_ADDR_DEPRECATED)) {
		rtnl_addr_set_valid_lifetime(ra, INFINITY_LIFE_TIME);
		rtnl_addr_set_preferred_lifetime(ra, 0);
		/* Replace: one added before (by hand, by an older version)
		 * with a preferred lifetime becomes deprecated too. */
		replace = true;
	}
	/* libnl's own rtnl_addr_add() is hidden by the name in rtnl.h;
	 * build the request and send it, which is all that one does. */
	nle = rtnl_addr_build_add_request(ra, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), &msg);
	rtnl_addr_put(ra);
	if (nle < 0)
		return nlsock_errno(nle);
	err = nlsock_result(&r->ns, nl_send_sync(r->ns.sk, msg));	/* frees msg */
	return err == -EEXIST ? 0 : err;
}

int rtnl_addr_add(struct rtnl *r, int ifindex, const struct ipaddr *addr,
		  const char *label, unsigned flags)
{
	struct rtnl_addr_opts opts = { .label = label, .flags = flags };

	return rtnl_addr_add_opts(r, ifindex, addr, &opts);
}

/* ---- routes ---- */

static struct nl_addr *nl_addr_of(const struct ipaddr *a, bool with_prefix)
{
	struct nl_addr *n = nl_addr_build(a->family, a->u.bytes, family_addr_len(a->family));

	if (n)
		nl_addr_set_prefixlen(n, with_prefix ? a->prefixlen : (a->family == AF_INET ? 32 : 128));
	return n;
}

static bool route_spec_valid(const struct rtnl_route_spec *rt)
{
	int type = rt->type ? rt->type : RTN_UNICAST;

	if (!ipaddr_is_valid(&rt->dst) || rt->oif < 0 || rt->scope > RT_SCOPE_NOWHERE)
		return false;
	if (rt->gateway.family && (rt->gateway.family != rt->dst.family || !ipaddr_is_valid(&rt->gateway)))
		return false;
	if (rt->prefsrc.family && (rt->prefsrc.family != rt->dst.family || !ipaddr_is_valid(&rt->prefsrc)))
		return false;
	/* Only unicast routes lead somewhere. */
	if (type != RTN_UNICAST && (rt->gateway.family || rt->oif))
		return false;
	return type == RTN_UNICAST || type == RTN_BLACKHOLE || type == RTN_UNREACHABLE || type == RTN_PROHIBIT;
}

/* iproute2's choice when none is given: a unicast route without a gateway
 * is on the link; deleting matches any scope. */
static uint8_t route_scope(const struct rtnl_route_spec *rt, bool deleting)
{
	if (rt->scope >= 0)
		return (uint8_t)rt->scope;
	if (deleting)
		return RT_SCOPE_NOWHERE;
	if ((rt->type == 0 || rt->type == RTN_UNICAST) && !rt->gateway.family)
		return RT_SCOPE_LINK;
	return RT_SCOPE_UNIVERSE;
}

static int build_route(const struct rtnl_route_spec *rt, bool deleting, struct rtnl_route **out)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *a = NULL;
	int err = -ENOMEM;

	*out = NULL;
	if (!route)
		return -ENOMEM;
	rtnl_route_set_family(route, (uint8_t)rt->dst.family);
	rtnl_route_set_table(route, rt->table ? rt->table : RT_TABLE_MAIN);
	rtnl_route_set_type(route, (uint8_t)(rt->type ? rt->type : RTN_UNICAST));
	rtnl_route_set_scope(route, route_scope(rt, deleting));
	rtnl_route_set_priority(route, rt->metric);
	if (rt->protocol)
		rtnl_route_set_protocol(route, rt->protocol);
	else if (!deleting)
		rtnl_route_set_protocol(route, RTPROT_STATIC);
	if (!(a = nl_addr_of(&rt->dst, true)) || rtnl_route_set_dst(route, a) < 0)
		goto out;
	nl_addr_put(a);
	a = NULL;
	if (rt->prefsrc.family && (!(a = nl_addr_of(&rt->prefsrc, false)) || rtnl_route_set_pref_src(route, a) < 0))
		goto out;
	nl_addr_put(a);
	a = NULL;
	if (rt->gateway.family || rt->oif) {
		if (!(nh = rtnl_route_nh_alloc()))
			goto out;
		if (rt->oif)
			rtnl_route_nh_set_ifindex(nh, rt->oif);
		if (rt->gateway.family) {
			if (!(a = nl_addr_of(&rt->gateway, false)))
				goto out;
			rtnl_route_nh_set_gateway(nh, a);	/* takes its own reference */
		}
		rtnl_route_add_nexthop(route, nh);	/* the route owns it now */
		nh = NULL;
	}
	*out = route;
	route = NULL;
	err = 0;
out:
	if (a)
		nl_addr_put(a);
	if (nh)
		rtnl_route_nh_free(nh);
	if (route)
		rtnl_route_put(route);
	return err;
}

int rtnl_route_spec_add(struct rtnl *r, const struct rtnl_route_spec *rt)
{
	struct rtnl_route *route;
	struct nl_msg *msg;
	int err, nle;

	if (!r || !rt || !route_spec_valid(rt))
		return -EINVAL;
	if ((err = build_route(rt, false, &route)) < 0)
		return err;
	nle = rtnl_route_build_add_request(route, NLM_F_CREATE | NLM_F_EXCL, &msg);
	rtnl_route_put(route);
	if (nle < 0)
		return nlsock_errno(nle);
	err = nlsock_result(&r->ns, nl_send_sync(r->ns.sk, msg));	/* frees msg */
	return err == -EEXIST ? 0 : err;
}

int rtnl_route_spec_del(struct rtnl *r, const struct rtnl_route_spec *rt)
{
	struct rtnl_route *route;
	struct nl_msg *msg;
	int err, nle;

	if (!r || !rt || !route_spec_valid(rt))
		return -EINVAL;
	if ((err = build_route(rt, true, &route)) < 0)
		return err;
	nle = rtnl_route_build_del_request(route, 0, &msg);
	rtnl_route_put(route);
	if (nle < 0)
		return nlsock_errno(nle);
	err = nlsock_result(&r->ns, nl_send_sync(r->ns.sk, msg));	/* frees msg */
	/* Gone already, or its device (and with it the route) went away. */
	return err == -ESRCH || err == -ENOENT || err == -ENODEV ? 0 : err;
}

static bool route_to_ipaddr(struct rtnl_route *route, struct ipaddr *out)
{
	struct nl_addr *dst = rtnl_route_get_dst(route);
	int family = rtnl_route_get_family(route);
	size_t len = family_addr_len(family);

	if (!dst || len == 0 || nl_addr_get_len(dst) != len)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->u.bytes, nl_addr_get_binary_addr(dst), len);
	out->prefixlen = (uint8_t)nl_addr_get_prefixlen(dst);
	out->has_prefix = true;
	return true;
}

/* Ask the kernel for one table and protocol's routes only (strict
 * checking, Linux 4.20 on), so that a director whose routing daemon holds
 * a full table does not read it all; an older kernel sends everything,
 * and the caller's filter still holds. Strict checking is for this dump
 * alone: libnl's other requests on the socket would not pass it. */
static int route_dump_request(struct rtnl *r, uint32_t table, uint8_t protocol, struct nl_cache *cache)
{
	struct rtmsg rtm = { .rtm_family = AF_UNSPEC, .rtm_protocol = protocol };
	int on = 1, off = 0, err;
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 || nla_put_u32(msg, RTA_TABLE, table) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	(void)setsockopt(nl_socket_get_fd(r->ns.sk), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
	err = nl_send_auto(r->ns.sk, msg);
	nlmsg_free(msg);
	err = nlsock_result(&r->ns, err < 0 ? err : nl_cache_pickup(r->ns.sk, cache));
	(void)setsockopt(nl_socket_get_fd(r->ns.sk), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &off, sizeof(off));
	return err;
}

int rtnl_route_dump(struct rtnl *r, uint32_t table, uint8_t protocol, struct ipaddr **out, size_t *n)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	struct ipaddr *list;
	size_t count = 0;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = nlsock_errno(nl_cache_alloc_name("route/route", &cache))) < 0)
		return err;
	if ((err = route_dump_request(r, table, protocol, cache)) < 0) {
		nl_cache_free(cache);
		return err;
	}
	list = calloc((size_t)nl_cache_nitems(cache) + 1, sizeof(*list));
	if (!list) {
		nl_cache_free(cache);
		return -ENOMEM;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_route *route = (struct rtnl_route *)obj;

		if (rtnl_route_get_table(route) == table && rtnl_route_get_protocol(route) == protocol &&
		    route_to_ipaddr(route, &list[count]))
			count++;
	}
	nl_cache_free(cache);
	*out = list;
	*n = count;
	return 0;
}

int rtnl_addr_del(struct rtnl *r, int ifindex, const struct ipaddr *addr)
{
	struct rtnl_addr *ra;
	int err;

	if (ifindex <= 0 || !ipaddr_is_valid(addr))
		return -EINVAL;
	if ((err = build_addr(ifindex, addr, &ra)) < 0)
		return err;
	err = nlsock_result(&r->ns, rtnl_addr_delete(r->ns.sk, ra, 0));
	rtnl_addr_put(ra);
	/* IPv4 and IPv6 answer EADDRNOTAVAIL for a missing address; older
	 * kernels used ENOENT or ESRCH. Either way it is gone. */
	if (err == -EADDRNOTAVAIL || err == -ENOENT || err == -ESRCH)
		return 0;
	return err;
}

static bool addr_matches(struct rtnl_addr *ra, int ifindex, const struct ipaddr *a)
{
	struct nl_addr *local;
	size_t len = family_addr_len(a->family);

	if (rtnl_addr_get_ifindex(ra) != ifindex || rtnl_addr_get_family(ra) != a->family)
		return false;
	local = rtnl_addr_get_local(ra);
	return local && nl_addr_get_len(local) == len &&
	       memcmp(nl_addr_get_binary_addr(local), a->u.bytes, len) == 0;
}

int rtnl_addr_present(struct rtnl *r, int ifindex, const struct ipaddr *addr)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int err, found = 0;

	if (ifindex <= 0 || !ipaddr_is_valid(addr))
		return -EINVAL;
	err = nlsock_result(&r->ns, rtnl_addr_alloc_cache(r->ns.sk, &cache));
	if (err < 0)
		return err;
	for (obj = nl_cache_get_first(cache); obj && !found; obj = nl_cache_get_next(obj))
		found = addr_matches((struct rtnl_addr *)obj, ifindex, addr);
	nl_cache_free(cache);
	return found;
}

/* Fill out from a dumped address; false for what an ipaddr cannot hold. */
static bool addr_to_ipaddr(struct rtnl_addr *ra, struct ipaddr *out)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	int family = rtnl_addr_get_family(ra);
	size_t len = family_addr_len(family);

	if (!local || len == 0 || nl_addr_get_len(local) != len)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->u.bytes, nl_addr_get_binary_addr(local), len);
	out->prefixlen = (uint8_t)rtnl_addr_get_prefixlen(ra);
	out->has_prefix = true;
	return true;
}

/* The addresses on ifindex from one dump, each as `size` bytes starting
 * with a struct ipaddr; fill adds the rest. */
static int addr_dump(struct rtnl *r, int ifindex, size_t size,
		     void (*fill)(struct rtnl_addr *ra, void *item), void **out, size_t *n)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	char *list;
	size_t count = 0;
	int err;

	*out = NULL;
	*n = 0;
	if (ifindex <= 0)
		return -EINVAL;
	err = nlsock_result(&r->ns, rtnl_addr_alloc_cache(r->ns.sk, &cache));
	if (err < 0)
		return err;
	list = calloc((size_t)nl_cache_nitems(cache) + 1, size);
	if (!list) {
		nl_cache_free(cache);
		return -ENOMEM;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)obj;
		void *item = list + count * size;

		if (rtnl_addr_get_ifindex(ra) != ifindex || !addr_to_ipaddr(ra, item))
			continue;
		if (fill)
			fill(ra, item);
		count++;
	}
	nl_cache_free(cache);
	*out = list;
	*n = count;
	return 0;
}

static void fill_info(struct rtnl_addr *ra, void *item)
{
	struct rtnl_addrinfo *info = item;
	const char *label = rtnl_addr_get_label(ra);

	strlcpy_safe(info->label, label ? label : "", sizeof(info->label));
	info->dadfailed = (rtnl_addr_get_flags(ra) & IFA_F_DADFAILED) != 0;
	info->tentative = (rtnl_addr_get_flags(ra) & IFA_F_TENTATIVE) != 0 && !info->dadfailed;
}

int rtnl_addr_dump(struct rtnl *r, int ifindex, struct rtnl_addrinfo **out, size_t *n)
{
	return addr_dump(r, ifindex, sizeof(**out), fill_info, (void **)out, n);
}

/* ---- proxy neighbours ------------------------------------------------- */

struct proxy_dump {
	struct rtnl_proxy *items;
	size_t n, cap;
	int err;
};

int rtnl_proxy_decode(const void *msg, size_t len, struct rtnl_proxy *out)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *ndm;

	if (len < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)) || h->nlmsg_len > len)
		return -EINVAL;
	if (h->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	if (nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0)
		return -EINVAL;
	ndm = nlmsg_data(h);
	if (!(ndm->ndm_flags & NTF_PROXY) || ndm->ndm_family != AF_INET6 || !tb[NDA_DST])
		return 0;
	if (nla_len(tb[NDA_DST]) != sizeof(struct in6_addr))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->ifindex = ndm->ndm_ifindex;
	out->addr.family = AF_INET6;
	out->addr.prefixlen = 128;
	memcpy(&out->addr.u.v6, nla_data(tb[NDA_DST]), sizeof(out->addr.u.v6));
	return 1;
}

static int proxy_parse(struct nl_msg *msg, void *arg)
{
	struct proxy_dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct rtnl_proxy p;

	if (rtnl_proxy_decode(h, h->nlmsg_len, &p) <= 0)
		return NL_SKIP;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		struct rtnl_proxy *grown = realloc(d->items, cap * sizeof(*grown));

		if (!grown) {
			d->err = -ENOMEM;
			return NL_STOP;
		}
		d->items = grown;
		d->cap = cap;
	}
	d->items[d->n++] = p;
	return NL_OK;
}

/* A dump with ndm_flags exactly NTF_PROXY lists the proxy table
 * (neigh_dump_info); libnl's neighbour cache never asks for it. */
int rtnl_proxy_list(struct rtnl *r, struct rtnl_proxy **out, size_t *n)
{
	struct ndmsg ndm = { .ndm_family = AF_INET6, .ndm_flags = NTF_PROXY };
	struct proxy_dump d = { 0 };
	struct nl_cb *base = nl_socket_get_cb(r->ns.sk), *cb = base ? nl_cb_clone(base) : NULL;
	int err;

	*out = NULL;
	*n = 0;
	if (base)
		nl_cb_put(base);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, proxy_parse, &d);
	err = nl_send_simple(r->ns.sk, RTM_GETNEIGH, NLM_F_DUMP, &ndm, sizeof(ndm));
	if (err >= 0)
		err = nl_recvmsgs(r->ns.sk, cb);
	nl_cb_put(cb);
	err = d.err ? d.err : nlsock_result(&r->ns, err);
	if (err < 0) {
		free(d.items);
		return err;
	}
	*out = d.items;
	*n = d.n;
	return 0;
}

/* ---- notifications --------------------------------------------------- */

/* SO_RCVBUFFORCE goes past net.core.rmem_max but needs CAP_NET_ADMIN,
 * which the daemons keep; without it, take what rmem_max allows. */
static void grow_rcvbuf(int fd)
{
	int size = WATCH_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int rtnl_watch_open(struct rtnl_watch **out, int *fd)
{
	struct rtnl_watch *w;
	int err;

	*out = NULL;
	*fd = -1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->buf = malloc(WATCH_MSGBUF);
	if (!w->buf) {
		free(w);
		return -ENOMEM;
	}
	if ((err = nlsock_connect(&w->sk, NETLINK_ROUTE)) < 0)
		goto fail;
	/* libnl only sets the socket up; rtnl_watch_read reads it itself. */
	err = nl_socket_add_memberships(w->sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
					RTNLGRP_IPV6_IFADDR, 0);
	if (err >= 0)
		err = nl_socket_set_nonblocking(w->sk);
	if (err < 0) {
		err = nlsock_errno(err);
		goto fail;
	}
	grow_rcvbuf(nl_socket_get_fd(w->sk));
	*out = w;
	*fd = nl_socket_get_fd(w->sk);
	return 0;

fail:
	rtnl_watch_close(w);
	return err;
}

void rtnl_watch_close(struct rtnl_watch *w)
{
	if (!w)
		return;
	if (w->sk)
		nl_socket_free(w->sk);
	free(w->buf);
	free(w);
}

static void copy_ifname(const void *data, size_t len, char *dst)
{
	size_t n = strnlen(data, len < IF_NAMESIZE - 1 ? len : IF_NAMESIZE - 1);

	memcpy(dst, data, n);
	dst[n] = '\0';
}

static bool parse_link_event(const struct nlmsghdr *nh, struct rtnl_event *ev)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *rta;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return false;
	/* Bridge port notifications (AF_BRIDGE) use RTM_DELLINK when a port
	 * leaves its bridge although the device lives on: not our event. */
	if (ifi->ifi_family != AF_UNSPEC)
		return false;
	ev->type = nh->nlmsg_type == RTM_NEWLINK ? RTNL_EV_LINK_NEW : RTNL_EV_LINK_DEL;
	ev->ifindex = ifi->ifi_index;
	len = (int)IFLA_PAYLOAD(nh);
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == IFLA_IFNAME)
			copy_ifname(RTA_DATA(rta), RTA_PAYLOAD(rta), ev->ifname);
	return true;
}

static bool parse_addr_event(const struct nlmsghdr *nh, struct rtnl_event *ev)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	const struct rtattr *rta, *local = NULL, *address = NULL;
	const struct rtattr *chosen;
	size_t alen;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return false;
	alen = family_addr_len(ifa->ifa_family);
	if (alen == 0 || ifa->ifa_prefixlen > alen * 8)
		return false;
	len = (int)IFA_PAYLOAD(nh);
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFA_LOCAL)
			local = rta;
		else if (rta->rta_type == IFA_ADDRESS)
			address = rta;
	}
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on a
	 * point-to-point link, and the only one IPv6 sends otherwise. */
	chosen = local ? local : address;
	if (!chosen || RTA_PAYLOAD(chosen) != alen)
		return false;
	ev->type = nh->nlmsg_type == RTM_NEWADDR ? RTNL_EV_ADDR_NEW : RTNL_EV_ADDR_DEL;
	ev->ifindex = (int)ifa->ifa_index;
	ev->addr.family = ifa->ifa_family;
	ev->addr.prefixlen = ifa->ifa_prefixlen;
	ev->addr.has_prefix = true;
	memcpy(ev->addr.u.bytes, RTA_DATA(chosen), alen);
	return true;
}

/* Is a whole message at nh, within the left bytes? (NLMSG_OK, without
 * its signed/unsigned comparison.) */
static bool nlmsg_fits(const struct nlmsghdr *nh, size_t left)
{
	return left >= sizeof(*nh) && nh->nlmsg_len >= sizeof(*nh) && nh->nlmsg_len <= left;
}

/* Every event in one datagram. Returns true when the kernel said that
 * messages were dropped. */
static bool deliver_datagram(const unsigned char *buf, size_t len, rtnl_event_cb cb, void *arg)
{
	const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
	bool lost = false;

	while (nlmsg_fits(nh, len)) {
		struct rtnl_event ev;
		size_t step = NLMSG_ALIGN(nh->nlmsg_len);
		bool ok = false;

		memset(&ev, 0, sizeof(ev));
		switch (nh->nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			ok = parse_link_event(nh, &ev);
			break;
		case RTM_NEWADDR:
		case RTM_DELADDR:
			ok = parse_addr_event(nh, &ev);
			break;
		case NLMSG_OVERRUN:
			lost = true;
			break;
		default:
			break;
		}
		if (ok)
			cb(&ev, arg);
		if (step >= len)
			break;
		len -= step;
		nh = (const struct nlmsghdr *)((const unsigned char *)nh + step);
	}
	return lost;
}

int rtnl_watch_read(struct rtnl_watch *w, rtnl_event_cb cb, void *arg)
{
	int fd = nl_socket_get_fd(w->sk);
	bool lost = false;

	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, w->buf, WATCH_MSGBUF, MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* The kernel dropped notifications; keep reading what
			 * is still queued, then tell the caller. */
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			return -errno;
		}
		/* With MSG_TRUNC, n is the full length: a datagram larger
		 * than the buffer was cut, so its events are lost. */
		if (n > WATCH_MSGBUF) {
			lost = true;
			continue;
		}
		/* Only the kernel may tell us about links and addresses. */
		if (fromlen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;
		if (deliver_datagram(w->buf, (size_t)n, cb, arg))
			lost = true;
	}
	return lost ? -ENOBUFS : 0;
}
