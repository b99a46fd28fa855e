/* The VRRP socket and announcements: the one file that talks raw IP to the
 * kernel for VRRP (protocol 112) and gratuitous ARP / unsolicited neighbour
 * advertisements. Returns 0 or -errno; never logs. */
#ifndef DSRKIT_VRRP_NET_H
#define DSRKIT_VRRP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "proc_watch.h"
#include "rtnl.h"
#include "vrrp.h"

struct vrrp_sock;

struct vrrp_sock_conf {
	int family;			/* AF_INET or AF_INET6 */
	int ifindex;			/* bound to this interface */
	/* Multicast (224.0.0.18 / ff02::12) unless unicast peers are given;
	 * then adverts go to each peer and the group is not joined. */
	const struct ipaddr *peers;
	size_t npeers;
	struct ipaddr src;		/* our source address (IPv6: link-local) */
};

/* Open a raw socket for protocol 112 bound to the interface, TTL/hop limit
 * 255, multicast loop off, group joined (multicast mode), receive of the
 * IPv6 hop limit and destination enabled. *fd is for the event loop. */
int vrrp_sock_open(const struct vrrp_sock_conf *conf, struct vrrp_sock **out, int *fd);
void vrrp_sock_close(struct vrrp_sock *s);

/* Send one encoded advert (the VRRP message; the kernel adds the IP
 * header) to the group, or the same bytes to every peer in unicast mode. */
int vrrp_sock_send(struct vrrp_sock *s, const uint8_t *msg, size_t len);

/* Fills buf with the message for one destination: its length, or -errno.
 * The checksum covers the destination address (v3 with the IPv4
 * pseudo-header, and always in IPv6), so each peer needs its own bytes. */
typedef int (*vrrp_encode_fn)(const struct ipaddr *dst, uint8_t *buf, size_t size, void *arg);

/* Send to the group, or to each peer a message encoded for it. One peer
 * that fails does not stop the others; the first error is returned. */
int vrrp_sock_send_each(struct vrrp_sock *s, vrrp_encode_fn encode, void *arg);

/* One received packet, already split from its IP header. */
struct vrrp_rx {
	struct ipaddr src;
	struct ipaddr dst;
	uint8_t ttl;			/* TTL or hop limit as received */
	int ifindex;
	const uint8_t *payload;		/* points into the socket's buffer */
	size_t len;
};

/* Receive one packet without blocking: 0 and *rx filled, -EAGAIN when none
 * is waiting, -EINVAL with *why for an unusable IPv4 header. */
int vrrp_sock_recv(struct vrrp_sock *s, struct vrrp_rx *rx, enum vrrp_drop *why);

/* What announcements are sent through: sockets kept open, per interface,
 * because closing a packet socket waits for an RCU grace period. */
struct vrrp_announcer;

int vrrp_announcer_new(struct vrrp_announcer **out);
void vrrp_announcer_free(struct vrrp_announcer *a);

/* Gratuitous ARP (IPv4: broadcast request, sender IP = target IP = vip,
 * from the interface's MAC) or unsolicited neighbour advertisement (IPv6:
 * to ff02::1, hop limit 255, override flag, target link-layer option). */
int vrrp_announce(struct vrrp_announcer *a, int ifindex, const struct ipaddr *vip);

/* ---- the VRRP engine's kernel seam ----
 * Every kernel call the engine (vrrp_engine.c) makes, under the names of
 * the functions it calls: the socket and announcements above, rtnetlink
 * (common/rtnl.h) for interfaces, addresses, routes and the link watch.
 * vrrp_kernel_linux (vrrp_kernel.c) is the real one; a unit test gives
 * interfaces and tables in memory, so the engine's logic is tested
 * without root. The fds given by sock_open and watch_open are the ones the
 * engine watches on its loop. */
struct vrrp_kernel_ops {
	int (*sock_open)(const struct vrrp_sock_conf *conf, struct vrrp_sock **out, int *fd);
	int (*sock_send_each)(struct vrrp_sock *s, vrrp_encode_fn encode, void *arg);
	int (*sock_recv)(struct vrrp_sock *s, struct vrrp_rx *rx, enum vrrp_drop *why);
	void (*sock_close)(struct vrrp_sock *s);
	int (*announcer_new)(struct vrrp_announcer **out);
	int (*announce)(struct vrrp_announcer *a, int ifindex, const struct ipaddr *vip);
	void (*announcer_free)(struct vrrp_announcer *a);	/* NULL: nothing */
	int (*rtnl_open)(struct rtnl **out);
	void (*rtnl_close)(struct rtnl *r);
	int (*ifindex)(struct rtnl *r, const char *ifname);
	int (*link_get)(struct rtnl *r, int ifindex, struct rtnl_ifinfo *out);
	int (*addr_list)(struct rtnl *r, int ifindex, struct rtnl_addrinfo **out, size_t *n);
	int (*addr_add)(struct rtnl *r, int ifindex, const struct ipaddr *addr, const struct rtnl_addr_opts *opts);
	int (*addr_del)(struct rtnl *r, int ifindex, const struct ipaddr *addr);
	int (*route_add)(struct rtnl *r, const struct rtnl_route_spec *rt);
	int (*route_del)(struct rtnl *r, const struct rtnl_route_spec *rt);
	int (*watch_open)(struct rtnl_watch **out, int *fd);
	int (*watch_read)(struct rtnl_watch *w, rtnl_event_cb cb, void *arg);
	void (*watch_close)(struct rtnl_watch *w);
	/* [track_process]: proc_watch.h; NULL with no such section to serve */
	int (*proc_watch_open)(const struct track_process_conf *tracks, unsigned flags, struct proc_watch **out,
			       int *fd);
	int (*proc_watch_read)(struct proc_watch *w, proc_watch_cb cb, void *arg);
	void (*proc_watch_close)(struct proc_watch *w);
	/* The engine's allocations for scripts, instances and tracks; NULL:
	 * calloc. A test fails chosen ones (a reload's out-of-memory paths). */
	void *(*calloc)(size_t n, size_t size);
};

extern const struct vrrp_kernel_ops vrrp_kernel_linux;

#endif
