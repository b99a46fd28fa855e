/* The real kernel behind struct kernel_ops: rtnetlink for devices and
 * addresses, /proc/sys for conf/all and conf/default. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs-agent.h"
#include "rtnl.h"
#include "sysctl.h"

static int k_ifindex(void *ctx, const char *ifname)
{
	return rtnl_ifindex(ctx, ifname);
}

static int k_links(void *ctx, struct rs_link **out, size_t *n)
{
	struct rtnl_ifinfo *info;
	struct rs_link *links;
	size_t count;
	int ret;

	ret = rtnl_links(ctx, &info, &count);
	if (ret < 0)
		return ret;
	links = calloc(count ? count : 1, sizeof(*links));
	if (!links) {
		free(info);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		links[i].ifindex = info[i].ifindex;
		strlcpy_safe(links[i].name, info[i].name, sizeof(links[i].name));
		links[i].arp_ignore = info[i].arp_ignore;
		links[i].arp_announce = info[i].arp_announce;
	}
	free(info);
	*out = links;
	*n = count;
	return 0;
}

static int k_link_set_arp(void *ctx, int ifindex, int arp_ignore, int arp_announce)
{
	return rtnl_link_set_arp(ctx, ifindex, arp_ignore, arp_announce);
}

static int k_addr_list(void *ctx, int ifindex, struct rtnl_addrinfo **out, size_t *n)
{
	return rtnl_addr_dump(ctx, ifindex, out, n);
}

static int k_addr_add(void *ctx, int ifindex, const struct ipaddr *a, const char *label)
{
	/* No DAD: the VIP is shared by design; DAD would find the director.
	 * Deprecated (IPv6): never the source of this host's own traffic,
	 * still the destination and the source of replies on the VIP. */
	return rtnl_addr_add(ctx, ifindex, a, a->family == AF_INET ? label : NULL,
			     RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED);
}

static int k_addr_del(void *ctx, int ifindex, const struct ipaddr *a)
{
	return rtnl_addr_del(ctx, ifindex, a);
}

static int k_conf_get(void *ctx, const char *which, int *arp_ignore, int *arp_announce)
{
	int ret;

	(void)ctx;
	ret = sysctl_get_arp_ignore(which, arp_ignore);
	if (ret == 0)
		ret = sysctl_get_arp_announce(which, arp_announce);
	return ret;
}

static int k_conf_set(void *ctx, const char *which, int arp_ignore, int arp_announce)
{
	int ret = 0;

	(void)ctx;
	if (arp_ignore >= 0)
		ret = sysctl_set_arp_ignore(which, arp_ignore);
	if (ret == 0 && arp_announce >= 0)
		ret = sysctl_set_arp_announce(which, arp_announce);
	return ret;
}

static int k_proxy_list(void *ctx, struct rtnl_proxy **out, size_t *n)
{
	return rtnl_proxy_list(ctx, out, n);
}

int kernel_open(struct kernel_ops *ops)
{
	struct rtnl *r;
	int ret = rtnl_open(&r);

	if (ret < 0)
		return ret;
	*ops = (struct kernel_ops){
		.ctx = r,
		.ifindex = k_ifindex,
		.links = k_links,
		.link_set_arp = k_link_set_arp,
		.addr_list = k_addr_list,
		.addr_add = k_addr_add,
		.addr_del = k_addr_del,
		.conf_get = k_conf_get,
		.conf_set = k_conf_set,
		.proxy_list = k_proxy_list,
	};
	return 0;
}

void kernel_close(struct kernel_ops *ops)
{
	if (ops->ctx)
		rtnl_close(ops->ctx);
	ops->ctx = NULL;
}
