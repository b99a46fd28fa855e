/* The VRRP socket (raw IP protocol 112) and the announcements a new master
 * sends: gratuitous ARP for IPv4, unsolicited neighbour advertisement for
 * IPv6. Every kernel call returns 0 or -errno to the caller; nothing logs.
 *
 * Choosing the source address. A raw IPv4 socket bound to an address only
 * receives packets sent to that address (raw_v4_match compares it with the
 * destination), so a bound socket never sees adverts to 224.0.0.18. The
 * source is therefore set per packet with IP_PKTINFO / IPV6_PKTINFO
 * (ipi_spec_dst, ipi6_addr) and the socket is never bound to an address.
 * The kernel still checks on every send that the address is ours, and an
 * address that is missing or still tentative at start-up (IPv6 DAD) only
 * fails the sends made before it is usable, not the open.
 *
 * The IPv6 checksum. RFC 5798 computes it over the pseudo-header, like
 * ICMPv6, and vrrp_encode does so. The kernel fills in a raw IPv6
 * checksum only when IPV6_CHECKSUM asks it to, which we never do: that
 * would also make it drop bad packets on receive before we could count
 * them. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"
#include "vrrp_net.h"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62		/* Linux >= 5.0 */
#endif

/* Receivers drop neighbour discovery with any other hop limit (RFC 4861). */
#define NDISC_HOP_LIMIT 255

/* Largest IPv4 header (options included) in front of the VRRP message,
 * and some slack so that anything longer shows up as MSG_TRUNC. */
#define IPV4_HEADER_MAX 60
#define RX_BUF_SIZE (VRRP_PACKET_MAX + IPV4_HEADER_MAX + 64)

/* Room for IP_PKTINFO, or IPV6_PKTINFO and IPV6_HOPLIMIT, on receive. */
#define RX_CMSG_SIZE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + \
		      CMSG_SPACE(sizeof(struct in_pktinfo)))
#define TX_CMSG_SIZE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)))

struct vrrp_sock {
	int fd;
	int family;
	int ifindex;
	bool has_src;
	struct ipaddr src;
	struct ipaddr *peers;		/* a copy: the configuration may go on reload */
	size_t npeers;			/* 0: multicast */
	uint8_t rxbuf[RX_BUF_SIZE];
};

/* ---- addresses --------------------------------------------------------- */

static void addr_from_v4(struct ipaddr *a, const struct in_addr *v4)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->prefixlen = 32;
	a->u.v4 = *v4;
}

static void addr_from_v6(struct ipaddr *a, const struct in6_addr *v6)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	a->prefixlen = 128;
	a->u.v6 = *v6;
}

/* 224.0.0.18 or ff02::12. */
static void vrrp_group(int family, struct ipaddr *a)
{
	if (family == AF_INET) {
		struct in_addr v4 = { .s_addr = htonl(0xe0000012) };

		addr_from_v4(a, &v4);
	} else {
		struct in6_addr v6 = { .s6_addr = { 0xff, 0x02, [15] = 0x12 } };

		addr_from_v6(a, &v6);
	}
}

static bool addr_is_multicast(const struct ipaddr *a)
{
	if (a->family == AF_INET)
		return IN_MULTICAST(ntohl(a->u.v4.s_addr));
	return IN6_IS_ADDR_MULTICAST(&a->u.v6);
}

static bool addr_is_unspecified(const struct ipaddr *a)
{
	if (a->family == AF_INET)
		return a->u.v4.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a->u.v6);
}

/* A peer or a source: a unicast address of the socket's family. */
static bool usable_unicast(const struct ipaddr *a, int family)
{
	return a->family == family && !addr_is_multicast(a) && !addr_is_unspecified(a);
}

/* ---- socket options ---------------------------------------------------- */

static int set_int(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		return -errno;
	return 0;
}

static int set_opt(int fd, int level, int name, const void *value, socklen_t len)
{
	if (setsockopt(fd, level, name, value, len) < 0)
		return -errno;
	return 0;
}

struct int_opt {
	int level;
	int name;
	int value;
};

static int set_int_opts(int fd, const struct int_opt *opts, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		if ((err = set_int(fd, opts[i].level, opts[i].name, opts[i].value)) < 0)
			return err;
	return 0;
}

/* By index, not by name: no race with a rename. SO_BINDTOIFINDEX takes
 * any index, even one no interface has, so ask for the name first: that
 * turns a wrong index into ENODEV here rather than a socket that never
 * receives anything. */
static int bind_to_ifindex(int fd, int ifindex)
{
	struct ifreq ifr = { .ifr_ifindex = ifindex };

	if (ioctl(fd, SIOCGIFNAME, &ifr) < 0)
		return -errno;
	return set_int(fd, SOL_SOCKET, SO_BINDTOIFINDEX, ifindex);
}

/* ---- the VRRP socket --------------------------------------------------- */

/* IP_MULTICAST_ALL off: a socket sees only the groups it joined itself, so
 * a unicast instance does not get the multicast adverts another instance
 * on the same interface asked for. IPv6 has no equivalent for a socket
 * not bound to an address (raw_v6_match applies IPV6_MULTICAST_ALL only
 * to bound ones): there a unicast instance can see ff02::12 adverts, and
 * rx->dst tells. */
static const struct int_opt v4_opts[] = {
	{ IPPROTO_IP, IP_TTL, VRRP_TTL },
	{ IPPROTO_IP, IP_TOS, 0xc0 },		/* CS6, network control, as keepalived marks it */
	{ IPPROTO_IP, IP_MULTICAST_TTL, VRRP_TTL },
	{ IPPROTO_IP, IP_MULTICAST_LOOP, 0 },
	{ IPPROTO_IP, IP_MULTICAST_ALL, 0 },
	{ IPPROTO_IP, IP_PKTINFO, 1 },
};

static const struct int_opt v6_opts[] = {
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL },
	{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL },
	{ IPPROTO_IPV6, IPV6_TCLASS, 0xc0 },
	{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0 },
	{ IPPROTO_IPV6, IPV6_RECVPKTINFO, 1 },
	{ IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1 },
};

static int setup_v4(const struct vrrp_sock *s)
{
	struct ip_mreqn mreq = { .imr_ifindex = s->ifindex };
	struct ipaddr group;
	int err;

	if ((err = set_int_opts(s->fd, v4_opts, ARRAY_SIZE(v4_opts))) < 0)
		return err;
	if ((err = set_opt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq))) < 0)
		return err;
	if (s->npeers > 0)
		return 0;
	vrrp_group(AF_INET, &group);
	mreq.imr_multiaddr = group.u.v4;
	return set_opt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
}

static int setup_v6(const struct vrrp_sock *s)
{
	struct ipv6_mreq mreq = { .ipv6mr_interface = (unsigned)s->ifindex };
	struct ipaddr group;
	int err;

	if ((err = set_int_opts(s->fd, v6_opts, ARRAY_SIZE(v6_opts))) < 0)
		return err;
	if ((err = set_int(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, s->ifindex)) < 0)
		return err;
	if (s->npeers > 0)
		return 0;
	vrrp_group(AF_INET6, &group);
	mreq.ipv6mr_multiaddr = group.u.v6;
	return set_opt(s->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq));
}

static int check_conf(const struct vrrp_sock_conf *conf)
{
	if (!conf || conf->ifindex <= 0)
		return -EINVAL;
	if (conf->family != AF_INET && conf->family != AF_INET6)
		return -EINVAL;
	if (conf->npeers > 0 && !conf->peers)
		return -EINVAL;
	for (size_t i = 0; i < conf->npeers; i++)
		if (!usable_unicast(&conf->peers[i], conf->family))
			return -EINVAL;
	/* family 0: not given, the kernel picks the source. */
	if (conf->src.family != 0 && !usable_unicast(&conf->src, conf->family))
		return -EINVAL;
	return 0;
}

int vrrp_sock_open(const struct vrrp_sock_conf *conf, struct vrrp_sock **out, int *fd)
{
	struct vrrp_sock *s;
	int err;

	if (!out || !fd)
		return -EINVAL;
	*out = NULL;
	*fd = -1;
	if ((err = check_conf(conf)) < 0)
		return err;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->fd = -1;
	s->family = conf->family;
	s->ifindex = conf->ifindex;
	s->has_src = conf->src.family != 0;
	s->src = conf->src;
	if (conf->npeers > 0) {
		if (!(s->peers = calloc(conf->npeers, sizeof(*s->peers)))) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(s->peers, conf->peers, conf->npeers * sizeof(*s->peers));
		s->npeers = conf->npeers;
	}

	s->fd = socket(s->family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTO);
	if (s->fd < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = bind_to_ifindex(s->fd, s->ifindex)) < 0)
		goto fail;
	err = s->family == AF_INET ? setup_v4(s) : setup_v6(s);
	if (err < 0)
		goto fail;
	*out = s;
	*fd = s->fd;
	return 0;

fail:
	vrrp_sock_close(s);
	return err;
}

void vrrp_sock_close(struct vrrp_sock *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->peers);
	free(s);
}

/* ---- sending ----------------------------------------------------------- */

/* The source address, when configured, as ancillary data; the interface
 * goes with it so that a link-local source is unambiguous. */
static void add_src_cmsg(const struct vrrp_sock *s, struct msghdr *msg)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);

	if (s->family == AF_INET) {
		struct in_pktinfo pi = { .ipi_ifindex = s->ifindex, .ipi_spec_dst = s->src.u.v4 };

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)s->ifindex, .ipi6_addr = s->src.u.v6 };

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}

static int send_one(const struct vrrp_sock *s, const struct ipaddr *dst, const uint8_t *buf, size_t len)
{
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} to;
	union {
		struct cmsghdr hdr;
		uint8_t buf[TX_CMSG_SIZE];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_name = &to, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	memset(&to, 0, sizeof(to));
	memset(&ctl, 0, sizeof(ctl));
	if (s->family == AF_INET) {
		to.v4.sin_family = AF_INET;
		to.v4.sin_addr = dst->u.v4;
		msg.msg_namelen = sizeof(to.v4);
	} else {
		/* The kernel uses the scope only where the address needs one
		 * (ff02::12, link-local peers) and ignores it elsewhere. */
		to.v6.sin6_family = AF_INET6;
		to.v6.sin6_addr = dst->u.v6;
		to.v6.sin6_scope_id = (uint32_t)s->ifindex;
		msg.msg_namelen = sizeof(to.v6);
	}
	if (s->has_src) {
		msg.msg_control = &ctl;
		msg.msg_controllen = sizeof(ctl);
		add_src_cmsg(s, &msg);
	}
	do
		n = sendmsg(s->fd, &msg, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vrrp_sock_send_each(struct vrrp_sock *s, vrrp_encode_fn encode, void *arg)
{
	uint8_t buf[VRRP_PACKET_MAX];
	struct ipaddr group;
	const struct ipaddr *dsts = &group;
	size_t ndst = 1;
	int err, first = 0;

	if (!s || !encode)
		return -EINVAL;
	if (s->npeers > 0) {
		dsts = s->peers;
		ndst = s->npeers;
	} else {
		vrrp_group(s->family, &group);
	}
	/* One peer that cannot be reached must not silence the others. */
	for (size_t i = 0; i < ndst; i++) {
		int len = encode(&dsts[i], buf, sizeof(buf), arg);

		if (len <= 0 || (size_t)len > sizeof(buf))
			err = len < 0 ? len : -EINVAL;
		else
			err = send_one(s, &dsts[i], buf, (size_t)len);
		if (err < 0 && first == 0)
			first = err;
	}
	return first;
}

struct fixed_msg {
	const uint8_t *msg;
	size_t len;
};

static int copy_fixed(const struct ipaddr *dst, uint8_t *buf, size_t size, void *arg)
{
	const struct fixed_msg *m = arg;

	(void)dst;
	if (m->len > size)
		return -EMSGSIZE;
	memcpy(buf, m->msg, m->len);
	return (int)m->len;
}

int vrrp_sock_send(struct vrrp_sock *s, const uint8_t *msg, size_t len)
{
	struct fixed_msg m = { msg, len };

	if (!s || !msg || len == 0 || len > VRRP_PACKET_MAX)
		return -EINVAL;
	return vrrp_sock_send_each(s, copy_fixed, &m);
}

/* ---- receiving --------------------------------------------------------- */

static void set_why(enum vrrp_drop *why, enum vrrp_drop d)
{
	if (why)
		*why = d;
}

static void read_v4_cmsgs(struct msghdr *msg, struct vrrp_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		struct in_pktinfo pi;

		if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_PKTINFO ||
		    c->cmsg_len < CMSG_LEN(sizeof(pi)))
			continue;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		rx->ifindex = pi.ipi_ifindex;
	}
}

static void read_v6_cmsgs(struct msghdr *msg, struct vrrp_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		struct in6_pktinfo pi;
		int hops;

		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			addr_from_v6(&rx->dst, &pi.ipi6_addr);
			rx->ifindex = (int)pi.ipi6_ifindex;
		} else if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(hops))) {
			memcpy(&hops, CMSG_DATA(c), sizeof(hops));
			rx->ttl = hops >= 0 && hops <= 255 ? (uint8_t)hops : 0;
		}
	}
}

/* Raw IPv4 sockets deliver the IP header: addresses and TTL come from it. */
static int split_v4(const struct vrrp_sock *s, size_t n, struct vrrp_rx *rx, enum vrrp_drop *why)
{
	enum vrrp_drop d = VRRP_OK;
	int err;

	err = vrrp_parse_ipv4(s->rxbuf, n, &rx->src, &rx->dst, &rx->ttl, &rx->payload, &rx->len, &d);
	set_why(why, d);
	return err;
}

/* Raw IPv6 sockets deliver the payload only: the source is the sender's
 * address, destination and hop limit come as ancillary data. */
static void split_v6(const struct vrrp_sock *s, const struct sockaddr_in6 *from, size_t n, struct vrrp_rx *rx)
{
	addr_from_v6(&rx->src, &from->sin6_addr);
	rx->payload = s->rxbuf;
	rx->len = n;
}

int vrrp_sock_recv(struct vrrp_sock *s, struct vrrp_rx *rx, enum vrrp_drop *why)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[RX_CMSG_SIZE];
	} ctl;
	struct sockaddr_in6 from;
	struct iovec iov;
	struct msghdr msg;
	ssize_t n;
	int err;

	set_why(why, VRRP_OK);
	if (!s || !rx)
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	iov.iov_base = s->rxbuf;
	iov.iov_len = sizeof(s->rxbuf);
	memset(&msg, 0, sizeof(msg));
	memset(&from, 0, sizeof(from));
	msg.msg_name = &from;
	msg.msg_namelen = sizeof(from);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &ctl;
	msg.msg_controllen = sizeof(ctl);
	do
		n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;		/* -EAGAIN: nothing waiting */

	rx->ifindex = s->ifindex;
	/* Longer than any VRRP message can be: cut short by our buffer. */
	if (msg.msg_flags & MSG_TRUNC) {
		set_why(why, VRRP_DROP_TRUNCATED);
		return -EINVAL;
	}
	if (s->family == AF_INET) {
		read_v4_cmsgs(&msg, rx);
		if ((err = split_v4(s, (size_t)n, rx, why)) < 0)
			return err;
	} else {
		read_v6_cmsgs(&msg, rx);
		split_v6(s, &from, (size_t)n, rx);
	}
	return 0;
}

/* ---- announcements ----------------------------------------------------- */

/* Announcements go out through sockets kept open for the engine's life:
 * closing a packet socket waits for an RCU grace period (milliseconds, tens
 * of them on a loaded machine), which once per announcement would stall
 * the takeover that sends them. One packet socket per interface, bound to
 * it so that getsockname reports the interface's MAC (one call, no name
 * lookup that a rename could race); protocol 0: it never receives. IPv6
 * shares one ICMPv6 socket, steered by the scope id. */
struct announce_link {
	int ifindex;
	int fd;
};

struct vrrp_announcer {
	struct announce_link *links;
	size_t nlinks;
	int icmp6_fd;
};

int vrrp_announcer_new(struct vrrp_announcer **out)
{
	struct vrrp_announcer *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->icmp6_fd = -1;
	*out = a;
	return 0;
}

void vrrp_announcer_free(struct vrrp_announcer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nlinks; i++)
		close(a->links[i].fd);
	if (a->icmp6_fd >= 0)
		close(a->icmp6_fd);
	free(a->links);
	free(a);
}

static int open_link(int ifindex)
{
	struct sockaddr_ll bind_to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&bind_to, sizeof(bind_to)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* 1: the socket is still bound to ifindex and *ll says what the link is;
 * 0: the interface it was bound to is gone (the kernel unbinds it); <0. */
static int link_name(int fd, int ifindex, struct sockaddr_ll *ll)
{
	union {
		struct sockaddr_ll ll;
		struct sockaddr_storage ss;	/* some links have longer addresses */
	} name;
	socklen_t len = sizeof(name);

	memset(&name, 0, sizeof(name));
	if (getsockname(fd, (struct sockaddr *)&name, &len) < 0)
		return -errno;
	*ll = name.ll;
	return name.ll.sll_ifindex == ifindex;
}

static void drop_link(struct vrrp_announcer *a, size_t i)
{
	close(a->links[i].fd);
	a->links[i] = a->links[--a->nlinks];
}

/* The interface's socket and its MAC; only Ethernet-like links can be
 * announced on. A socket left over from a deleted interface (or from an
 * earlier one with the same index) is replaced. */
static int link_for(struct vrrp_announcer *a, int ifindex, uint8_t mac[ETH_ALEN], int *fd)
{
	struct sockaddr_ll ll;
	size_t i;
	int ret;

	for (i = 0; i < a->nlinks && a->links[i].ifindex != ifindex; i++)
		;
	if (i < a->nlinks && (ret = link_name(a->links[i].fd, ifindex, &ll)) != 1) {
		drop_link(a, i);
		i = a->nlinks;
	}
	if (i == a->nlinks) {
		struct announce_link *grown = realloc(a->links, (a->nlinks + 1) * sizeof(*grown));
		int nfd;

		if (!grown)
			return -ENOMEM;
		a->links = grown;
		if ((nfd = open_link(ifindex)) < 0)
			return nfd;
		if ((ret = link_name(nfd, ifindex, &ll)) != 1) {
			close(nfd);
			return ret < 0 ? ret : -ENODEV;
		}
		a->links[a->nlinks++] = (struct announce_link){ .ifindex = ifindex, .fd = nfd };
	}
	if (ll.sll_hatype != ARPHRD_ETHER || ll.sll_halen != ETH_ALEN)
		return -EOPNOTSUPP;	/* kept: the answer will not change */
	memcpy(mac, ll.sll_addr, ETH_ALEN);
	*fd = a->links[i].fd;
	return 0;
}

static int send_all(int fd, const void *buf, size_t len, const void *to, socklen_t tolen)
{
	ssize_t n;

	do
		n = sendto(fd, buf, len, 0, to, tolen);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

struct garp_frame {
	struct ether_header eth;
	struct ether_arp arp;
} __attribute__((packed));

_Static_assert(sizeof(struct garp_frame) == 42, "Ethernet + ARP is 42 bytes");

static void build_garp(struct garp_frame *f, const uint8_t mac[ETH_ALEN], const struct in_addr *vip)
{
	memset(f, 0, sizeof(*f));
	memset(f->eth.ether_dhost, 0xff, ETH_ALEN);
	memcpy(f->eth.ether_shost, mac, ETH_ALEN);
	f->eth.ether_type = htons(ETHERTYPE_ARP);
	f->arp.arp_hrd = htons(ARPHRD_ETHER);
	f->arp.arp_pro = htons(ETHERTYPE_IP);
	f->arp.arp_hln = ETH_ALEN;
	f->arp.arp_pln = sizeof(*vip);
	/* A request, not a reply: what RFC 5227 (section 3) recommends for
	 * announcements, and what keepalived and arping -U send. */
	f->arp.arp_op = htons(ARPOP_REQUEST);
	memcpy(f->arp.arp_sha, mac, ETH_ALEN);
	memcpy(f->arp.arp_spa, vip, sizeof(*vip));
	memcpy(f->arp.arp_tpa, vip, sizeof(*vip));	/* target MAC stays zero */
}

static int announce_arp(struct vrrp_announcer *a, int ifindex, const struct in_addr *vip)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
	};
	struct garp_frame f;
	uint8_t mac[ETH_ALEN];
	int fd, err;

	if ((err = link_for(a, ifindex, mac, &fd)) < 0)
		return err;
	memset(to.sll_addr, 0xff, ETH_ALEN);
	build_garp(&f, mac, vip);
	return send_all(fd, &f, sizeof(f), &to, sizeof(to));
}

struct unsol_na {
	struct nd_neighbor_advert na;
	struct nd_opt_hdr opt;
	uint8_t mac[ETH_ALEN];
};

_Static_assert(sizeof(struct unsol_na) == 32, "NA with one link-layer option is 32 bytes");

static void build_na(struct unsol_na *m, const uint8_t mac[ETH_ALEN], const struct in6_addr *vip)
{
	memset(m, 0, sizeof(*m));
	m->na.nd_na_type = ND_NEIGHBOR_ADVERT;
	/* Override so neighbours replace the old master's MAC; not
	 * solicited, nobody asked (RFC 4861, section 7.2.6). */
	m->na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	m->na.nd_na_target = *vip;
	m->opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	m->opt.nd_opt_len = (sizeof(m->opt) + ETH_ALEN) / 8;
	memcpy(m->mac, mac, ETH_ALEN);
}

/* The kernel computes the ICMPv6 checksum of raw ICMPv6 sockets itself,
 * sends a link-local destination out of the interface its scope id names,
 * and picks that interface's link-local address as the source. */
static int announce_na(struct vrrp_announcer *a, int ifindex, const struct in6_addr *vip)
{
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_addr = { .s6_addr = { 0xff, 0x02, [15] = 0x01 } },
		.sin6_scope_id = (uint32_t)ifindex,
	};
	struct unsol_na m;
	uint8_t mac[ETH_ALEN];
	int fd, err;

	if ((err = link_for(a, ifindex, mac, &fd)) < 0)
		return err;
	build_na(&m, mac, vip);
	if (a->icmp6_fd < 0) {
		fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
		if (fd < 0)
			return -errno;
		if ((err = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, NDISC_HOP_LIMIT)) < 0) {
			close(fd);
			return err;
		}
		a->icmp6_fd = fd;
	}
	return send_all(a->icmp6_fd, &m, sizeof(m), &to, sizeof(to));
}

int vrrp_announce(struct vrrp_announcer *a, int ifindex, const struct ipaddr *vip)
{
	if (!a || ifindex <= 0 || !vip)
		return -EINVAL;
	if (vip->family == AF_INET)
		return announce_arp(a, ifindex, &vip->u.v4);
	if (vip->family == AF_INET6)
		return announce_na(a, ifindex, &vip->u.v6);
	return -EINVAL;
}
