/* rtnetlink through libnl-route, behind a narrow interface: addresses,
 * links with their per-interface ARP settings, and change notifications.
 * "Make it so": adding what exists or deleting what is gone succeeds.
 * Every function returns 0 (or a count / boolean as stated) or -errno. */
#ifndef DSRKIT_RTNL_H
#define DSRKIT_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* libnl-route exports rtnl_addr_add() and rtnl_link_get() with other
 * signatures. Ours are renamed at the symbol level so that neither the
 * compiler nor the dynamic linker (which would let ours interpose libnl's
 * internal calls) can mix them up; callers still write the short names.
 * A file that also includes libnl route headers must include them first. */
#define rtnl_addr_add dsrkit_rtnl_addr_add
#define rtnl_link_get dsrkit_rtnl_link_get

struct rtnl;

int rtnl_open(struct rtnl **out);
void rtnl_close(struct rtnl *r);

/* >0 ifindex, or -ENODEV. */
int rtnl_ifindex(struct rtnl *r, const char *ifname);

struct rtnl_ifinfo {
	int ifindex;
	char name[IF_NAMESIZE];
	bool up;			/* administratively up (IFF_UP) */
	bool running;			/* up with carrier (IFF_RUNNING) */
	bool loopback;
	int arp_ignore;		/* -1 when the kernel did not report it */
	int arp_announce;
};

/* Dump all links; *out is malloc'd (free() it). */
int rtnl_links(struct rtnl *r, struct rtnl_ifinfo **out, size_t *n);
/* One link by index; -ENODEV when gone. */
int rtnl_link_get(struct rtnl *r, int ifindex, struct rtnl_ifinfo *out);
/* Set per-interface arp_ignore / arp_announce over RTM_SETLINK
 * (IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF). A value < 0 leaves it alone. */
int rtnl_link_set_arp(struct rtnl *r, int ifindex, int arp_ignore, int arp_announce);

#define RTNL_ADDR_NODAD 0x1	/* IPv6: IFA_F_NODAD */
/* IPv6: preferred lifetime 0 (valid forever), so source address selection
 * (RFC 6724 rule 3) never picks it for the host's own traffic while it
 * still receives. An existing address is updated to it. */
#define RTNL_ADDR_DEPRECATED 0x2

/* Add addr/prefixlen on ifindex. label (IPv4 only, may be NULL) must start
 * with the interface name, e.g. "lo:dsr". Existing address: success. */
int rtnl_addr_add(struct rtnl *r, int ifindex, const struct ipaddr *addr,
		  const char *label, unsigned flags);
/* The same with the rest of what `ip addr add` takes. */
struct rtnl_addr_opts {
	const char *label;		/* IPv4 only; NULL: none */
	const struct ipaddr *broadcast;	/* IPv4 only; NULL: none */
	int scope;			/* RT_SCOPE_*; 0 is global */
	unsigned flags;			/* RTNL_ADDR_* */
};
int rtnl_addr_add_opts(struct rtnl *r, int ifindex, const struct ipaddr *addr,
		       const struct rtnl_addr_opts *opts);
/* Missing address: success. */
int rtnl_addr_del(struct rtnl *r, int ifindex, const struct ipaddr *addr);
/* 1 when present (any prefix length), 0 when not. */
int rtnl_addr_present(struct rtnl *r, int ifindex, const struct ipaddr *addr);
/* Every address on ifindex (both families) from one dump, with its label
 * (IPv4; "" for IPv6), so a caller can tell the addresses it labelled from
 * everyone else's, and whether it can be a source yet; *out is malloc'd
 * (free() it). Callers checking many addresses use this instead of
 * rtnl_addr_present, which dumps each time. */
struct rtnl_addrinfo {
	struct ipaddr addr;		/* first: addr_dump relies on it */
	char label[IF_NAMESIZE];
	/* IPv6 in duplicate address detection: the kernel refuses it as a
	 * source (IPV6_PKTINFO: EINVAL) until DAD is done; failed it: for good. */
	bool tentative;
	bool dadfailed;
};
int rtnl_addr_dump(struct rtnl *r, int ifindex, struct rtnl_addrinfo **out, size_t *n);

/* IPv6 proxy neighbour entries (`ip -6 neigh add proxy ADDR dev IF`):
 * with proxy_ndp and forwarding on IF, the kernel answers neighbour
 * solicitations for ADDR there as if it were IF's own. *out is malloc'd
 * (free() it). */
struct rtnl_proxy {
	int ifindex;
	struct ipaddr addr;
};
int rtnl_proxy_list(struct rtnl *r, struct rtnl_proxy **out, size_t *n);
/* One message of that dump (len bytes from the netlink header): 1 and
 * *out for an IPv6 proxy entry, 0 for anything else, -EINVAL when
 * malformed. */
int rtnl_proxy_decode(const void *msg, size_t len, struct rtnl_proxy *out);

/* A route as `ip route add` takes it. "Make it so": adding a route that
 * exists and deleting one that is gone succeed. */
struct rtnl_route_spec {
	int type;			/* RTN_UNICAST (0 means it too), RTN_BLACKHOLE, ... */
	struct ipaddr dst;		/* with its prefix length */
	struct ipaddr gateway;		/* family 0: none */
	struct ipaddr prefsrc;		/* family 0: none */
	int oif;			/* 0: none */
	uint32_t table;			/* 0: main */
	uint32_t metric;
	int scope;			/* < 0: as ip route picks it */
	uint8_t protocol;		/* RTPROT_*; 0: static when adding, any when deleting */
};
int rtnl_route_spec_add(struct rtnl *r, const struct rtnl_route_spec *rt);
int rtnl_route_spec_del(struct rtnl *r, const struct rtnl_route_spec *rt);
/* The destinations (with their prefix lengths) of the routes of one table
 * and protocol, both families; *out is malloc'd (free() it). */
int rtnl_route_dump(struct rtnl *r, uint32_t table, uint8_t protocol, struct ipaddr **out, size_t *n);

/* Change notifications. */
enum rtnl_event_type { RTNL_EV_LINK_NEW, RTNL_EV_LINK_DEL, RTNL_EV_ADDR_NEW, RTNL_EV_ADDR_DEL };

struct rtnl_event {
	enum rtnl_event_type type;
	int ifindex;
	char ifname[IF_NAMESIZE];	/* links only */
	struct ipaddr addr;		/* addresses only */
};

typedef void (*rtnl_event_cb)(const struct rtnl_event *ev, void *arg);

struct rtnl_watch;

/* Subscribe to links, IPv4 and IPv6 addresses. The fd is non-blocking;
 * call rtnl_watch_read when it is readable. */
int rtnl_watch_open(struct rtnl_watch **out, int *fd);
/* Deliver every pending event. -ENOBUFS means events were lost (the socket
 * overran): the caller must re-check everything. */
int rtnl_watch_read(struct rtnl_watch *w, rtnl_event_cb cb, void *arg);
void rtnl_watch_close(struct rtnl_watch *w);

#endif
