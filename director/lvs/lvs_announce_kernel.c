/* The kernel side of announced VIPs, behind struct lvs_kernel_ops: the
 * address on announce_interface and the host route in announce_table
 * with announce_protocol, over the project's one rtnetlink layer
 * (common/rtnl.c). Only routes of that table and protocol are touched.
 * The socket is opened at first use and kept: the LVS engine is one
 * process with one loop, and each request is answered at once (or within
 * nlsock's bound). */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "lvs_engine_int.h"
#include "rtnl.h"

static struct rtnl *announce_rtnl;

static int get_rtnl(struct rtnl **out)
{
	int ret = 0;

	if (!announce_rtnl)
		ret = rtnl_open(&announce_rtnl);
	*out = announce_rtnl;
	return ret;
}

static int route_of(const struct lvs_announce_conf *c, const struct ipaddr *vip, struct rtnl *r,
		    struct rtnl_route_spec *rt)
{
	int ifindex = rtnl_ifindex(r, c->interface ? c->interface : "lo");

	if (ifindex < 0)
		return ifindex;
	memset(rt, 0, sizeof(*rt));
	rt->dst = *vip;
	rt->dst.prefixlen = vip->family == AF_INET6 ? 128 : 32;
	rt->dst.has_prefix = true;
	rt->oif = ifindex;
	rt->table = c->table;
	rt->protocol = (uint8_t)c->protocol;
	rt->scope = RT_SCOPE_LINK;
	return ifindex;
}

int lve_announce_kernel_add(const struct lvs_announce_conf *c, const struct ipaddr *vip)
{
	struct rtnl_route_spec rt;
	struct rtnl *r;
	int ret, ifindex, present;

	if ((ret = get_rtnl(&r)) < 0)
		return ret;
	if ((ifindex = route_of(c, vip, r, &rt)) < 0)
		return ifindex;
	/* An address already there is someone else's (the administrator's):
	 * used as it is, never changed, and left on withdrawal. */
	if ((present = rtnl_addr_present(r, ifindex, &rt.dst)) < 0)
		return present;
	/* The address first: a packet the route draws in is accepted. */
	if (!present && (ret = rtnl_addr_add(r, ifindex, &rt.dst, NULL, RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED)) < 0)
		return ret;
	if ((ret = rtnl_route_spec_add(r, &rt)) < 0) {
		/* Not left behind, or the retry would take it for another's. */
		if (!present)
			(void)rtnl_addr_del(r, ifindex, &rt.dst);
		return ret;
	}
	return present;
}

int lve_announce_kernel_del(const struct lvs_announce_conf *c, const struct ipaddr *vip, bool keep_addr)
{
	struct rtnl_route_spec rt;
	struct rtnl *r;
	int ret, ifindex;

	if ((ret = get_rtnl(&r)) < 0)
		return ret;
	if ((ifindex = route_of(c, vip, r, &rt)) < 0)
		return ifindex == -ENODEV ? 0 : ifindex;	/* its routes and addresses went with it */
	/* The route first: no new flow is drawn to an address about to go. */
	if ((ret = rtnl_route_spec_del(r, &rt)) < 0 || keep_addr)
		return ret;
	return rtnl_addr_del(r, ifindex, &rt.dst);
}

int lve_announce_kernel_routes(const struct lvs_announce_conf *c, struct ipaddr **out, size_t *n)
{
	struct rtnl *r;
	int ret;

	*out = NULL;
	*n = 0;
	if ((ret = get_rtnl(&r)) < 0)
		return ret;
	return rtnl_route_dump(r, c->table, (uint8_t)c->protocol, out, n);
}

void lve_announce_kernel_close(void)
{
	rtnl_close(announce_rtnl);
	announce_rtnl = NULL;
}
