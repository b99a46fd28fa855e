/* The real struct doctor_io: packet sockets, rtnetlink route lookups,
 * interface ioctls, a TCP connection to an agent, /proc/sys. Every wait
 * is bounded by poll() against a deadline. No libnl: directorctl links
 * common/ and iniparser only, and two route requests need little. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doctor.h"
#include "sysctl.h"

#define NL_BUF 16384

/* ---- frames ---- */

#define BPF_ACCEPT BPF_STMT(BPF_RET | BPF_K, 0x40000)
#define BPF_DROP BPF_STMT(BPF_RET | BPF_K, 0)
#define PROTO_VRRP 112

/* A classic BPF program that lets through only what answers the frame
 * sent: TCP to its source port, else its IP protocol (nothing sent: VRRP
 * adverts); on a busy director the socket then never fills with the
 * clients' traffic before the reply comes. Its length, 0 for no filter
 * (ARP: few frames). */
static size_t filter_for(const uint8_t *f, size_t len, uint16_t ethertype, struct sock_filter *prog)
{
	bool v6 = ethertype == ETH_P_IPV6;
	size_t hl = len > DOC_ETH_LEN ? (v6 ? 40 : (size_t)(f[DOC_ETH_LEN] & 0x0f) * 4) : 0;
	uint8_t proto = len == 0 ? PROTO_VRRP : len > DOC_ETH_LEN + 20 ? f[v6 ? 20 : 23] : 0;
	uint16_t port = proto == IPPROTO_TCP && len >= DOC_ETH_LEN + hl + 2 ?
			(uint16_t)(f[DOC_ETH_LEN + hl] << 8 | f[DOC_ETH_LEN + hl + 1]) : 0;
	const struct sock_filter v4_tcp[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 6),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14), BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1), BPF_ACCEPT, BPF_DROP,
	};
	const struct sock_filter v6_tcp[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 56), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_ACCEPT, BPF_DROP,
	};
	const struct sock_filter by_proto[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ethertype, 0, 3),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, v6 ? 20 : 23), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, proto, 0, 1),
		BPF_ACCEPT, BPF_DROP,
	};
	const struct sock_filter *src = port ? (v6 ? v6_tcp : v4_tcp) : by_proto;
	size_t n = port ? (v6 ? sizeof(v6_tcp) : sizeof(v4_tcp)) : sizeof(by_proto);

	if ((ethertype != ETH_P_IP && !v6) || !proto)
		return 0;
	memcpy(prog, src, n);
	return n / sizeof(*prog);
}

/* Opened without a protocol, so that nothing arrives before the filter
 * is on; bound to the interface and the ethertype after. */
static int packet_socket(int ifindex, uint16_t ethertype, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ethertype), .sll_ifindex = ifindex };
	struct sock_filter prog[16];
	struct sock_fprog fprog = { .filter = prog };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, err = 0;

	if (fd < 0)
		return -errno;
	fprog.len = (unsigned short)filter_for(frame, len, ethertype, prog);
	if ((fprog.len && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) < 0) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
#ifdef PACKET_IGNORE_OUTGOING
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
#else
	(void)one;
#endif
	return fd;
}

static int send_frame(int fd, int ifindex, uint16_t ethertype, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ethertype), .sll_ifindex = ifindex,
				  .sll_halen = 6 };

	memcpy(to.sll_addr, frame, 6);
	return sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len ? 0 : -errno;
}

/* Frames until cb is done or the deadline passes. */
static void receive_until(int fd, uint64_t deadline, doc_frame_cb cb, void *arg, uint8_t *buf)
{
	for (uint64_t now = now_ms(); now < deadline; now = now_ms()) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;	/* the loop's clock ends it */
		while ((n = recvfrom(fd, buf, DOC_FRAME_MAX, MSG_TRUNC, (struct sockaddr *)&from, &fl)) >= 0) {
			if (from.sll_pkttype != PACKET_OUTGOING && (size_t)n <= DOC_FRAME_MAX &&
			    cb(buf, (size_t)n, arg))
				return;
			fl = sizeof(from);
		}
	}
}

static int sys_exchange(struct doctor_io *io, int ifindex, uint16_t ethertype, const uint8_t *frame, size_t len,
			unsigned wait_ms, doc_frame_cb cb, void *arg)
{
	uint64_t deadline = now_ms() + wait_ms;
	int fd = packet_socket(ifindex, ethertype, frame, len), ret = 0;
	uint8_t *buf = NULL;

	(void)io;
	if (fd < 0)
		return fd;
	if (len)
		ret = send_frame(fd, ifindex, ethertype, frame, len);
	if (ret == 0 && cb && wait_ms) {
		if ((buf = malloc(DOC_FRAME_MAX)))
			receive_until(fd, deadline, cb, arg, buf);
		else
			ret = -ENOMEM;
	}
	free(buf);
	close(fd);
	return ret;
}

/* ---- routes ---- */

struct nlreq {
	struct nlmsghdr h;
	struct rtmsg r;
	char attrs[64];
};

/* Send req, read the answer into buf; the first message's length, or -errno. */
static int nl_ask(struct nlreq *req, char *buf, size_t size, int *fdp)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { 2, 0 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t n;

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, req, req->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ||
	    (n = recv(fd, buf, size, 0)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*fdp = fd;
	return (int)n;
}

/* The route's attributes we use. */
static void route_attrs(struct rtmsg *rtm, size_t len, struct doc_route *out)
{
	int family = rtm->rtm_family;
	size_t alen = family == AF_INET ? 4 : 16;

	for (struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		struct ipaddr *dst = a->rta_type == RTA_GATEWAY ? &out->gateway :
				     a->rta_type == RTA_PREFSRC ? &out->src : NULL;

		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int))
			memcpy(&out->ifindex, RTA_DATA(a), sizeof(int));
		else if (dst && RTA_PAYLOAD(a) >= alen) {
			dst->family = family;
			dst->prefixlen = (uint8_t)(alen * 8);
			memcpy(dst->u.bytes, RTA_DATA(a), alen);
		}
	}
}

static int sys_route(struct doctor_io *io, const struct ipaddr *dst, struct doc_route *out)
{
	struct nlreq req = { .h = { .nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST },
			     .r = { .rtm_family = (unsigned char)dst->family } };
	size_t alen = dst->family == AF_INET ? 4 : 16;
	struct rtattr *a = (struct rtattr *)req.attrs;
	char *buf = malloc(NL_BUF);
	struct nlmsghdr *h;
	int n, fd = -1;

	(void)io;
	memset(out, 0, sizeof(*out));
	if (!buf)
		return -ENOMEM;
	a->rta_type = RTA_DST;
	a->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(a), dst->u.bytes, alen);
	req.r.rtm_dst_len = (unsigned char)(alen * 8);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)) + RTA_ALIGN(a->rta_len);
	if ((n = nl_ask(&req, buf, NL_BUF, &fd)) < 0) {
		free(buf);
		return n;
	}
	close(fd);
	h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (unsigned)n) || h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);

		n = NLMSG_OK(h, (unsigned)n) && h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EIO;
		free(buf);
		return n;
	}
	if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
		struct rtmsg *rtm = NLMSG_DATA(h);

		out->unicast = rtm->rtm_type == RTN_UNICAST;
		route_attrs(rtm, h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)), out);
	}
	free(buf);
	if (!out->ifindex || !if_indextoname((unsigned)out->ifindex, out->ifname))
		out->unicast = false;
	return 0;
}

/* One message of a route dump: a default route of the main table? */
static bool default_of(struct nlmsghdr *h, int *ifindex)
{
	struct rtmsg *rtm = NLMSG_DATA(h);
	struct doc_route r = { .ifindex = 0 };

	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)) || rtm->rtm_dst_len ||
	    rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
		return false;
	route_attrs(rtm, h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)), &r);
	*ifindex = r.ifindex;
	return r.ifindex > 0;
}

static int sys_default_ifname(struct doctor_io *io, int family, char name[IF_NAMESIZE])
{
	struct nlreq req = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE,
				    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
			     .r = { .rtm_family = (unsigned char)family } };
	char *buf = malloc(NL_BUF);
	int n, fd = -1, ifindex = 0, rounds = 0;

	(void)io;
	if (!buf)
		return -ENOMEM;
	n = nl_ask(&req, buf, NL_BUF, &fd);
	/* A dump comes in parts; the routing table is bounded, and so is this. */
	while (n > 0 && !ifindex && rounds++ < 10000) {
		bool done = false;

		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n) && !ifindex;
		     h = NLMSG_NEXT(h, n)) {
			done = done || h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR;
			(void)default_of(h, &ifindex);
		}
		if (done || ifindex)
			break;
		n = (int)recv(fd, buf, NL_BUF, 0);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	if (n < 0)
		return n;
	return ifindex && if_indextoname((unsigned)ifindex, name) ? 0 : -ENOENT;
}

/* ---- links ---- */

static int sys_link(struct doctor_io *io, int ifindex, struct doc_link *out)
{
	struct ifreq ifr = { .ifr_ifindex = ifindex };
	struct ifaddrs *ifa = NULL;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	(void)io;
	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFNAME, &ifr) < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		ret = -errno;
	else
		memcpy(out->mac.b, ifr.ifr_hwaddr.sa_data, 6);
	if (ret == 0 && ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		ret = -errno;
	else if (ret == 0)
		out->mtu = (unsigned)ifr.ifr_mtu;
	close(fd);
	if (ret == 0 && getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)i->ifa_addr;

			if (s6 && s6->sin6_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
			    strcmp(i->ifa_name, ifr.ifr_name) == 0)
				out->ll6 = s6->sin6_addr;
		}
		freeifaddrs(ifa);
	}
	return ret;
}

/* ---- the agent ---- */

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now = now_ms();
	int n;

	if (now >= deadline)
		return -ETIMEDOUT;
	n = poll(&pfd, 1, (int)(deadline - now));
	return n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
}

static int agent_connect(const struct ipaddr *addr, uint16_t port, uint64_t deadline)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd = socket(addr->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -errno;
	if (addr->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		s->sin_addr = addr->u.v4;
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		s->sin6_addr = addr->u.v6;
		sl = sizeof(*s);
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		err = errno;
	else if ((err = -wait_fd(fd, POLLOUT, deadline)) == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

static int sys_agent(struct doctor_io *io, const struct ipaddr *addr, uint16_t port, unsigned wait_ms, char *line,
		     size_t size)
{
	uint64_t deadline = now_ms() + wait_ms;
	int fd = agent_connect(addr, port, deadline), ret = 0;
	size_t got = 0;

	(void)io;
	if (fd < 0)
		return fd;
	while (got + 1 < size && !memchr(line, '\n', got)) {
		ssize_t n;

		if ((ret = wait_fd(fd, POLLIN, deadline)) < 0) {
			ret = ret == -ETIMEDOUT ? -ETIME : ret;	/* connected, but no line in time */
			break;
		}
		if ((n = read(fd, line + got, size - 1 - got)) == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			break;
		}
		got += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	line[got] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if ((ret == 0 || ret == -ECONNRESET) && got == 0)
		ret = -ENODATA;	/* closed without a word */
	return got && ret != -ETIME ? 0 : ret;
}

static int sys_sysctl(struct doctor_io *io, const char *path, int *value)
{
	(void)io;
	return sysctl_read_int(path, value);
}

static uint32_t sys_random(struct doctor_io *io)
{
	uint32_t v = 0;

	(void)io;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)now_us();
	return v;
}

static uint64_t sys_now_ms(struct doctor_io *io)
{
	(void)io;
	return now_ms();
}

static struct doctor_io sys_io = {
	.route = sys_route,
	.link = sys_link,
	.default_ifname = sys_default_ifname,
	.exchange = sys_exchange,
	.agent = sys_agent,
	.sysctl = sys_sysctl,
	.random = sys_random,
	.now_ms = sys_now_ms,
};

int doctor_sys_open(struct doctor_io **out, char *err, size_t errsize)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));

	if (fd < 0) {
		int e = errno;

		snprintf(err, errsize, "opening a packet socket: %s%s", strerror(e),
			 e == EPERM || e == EACCES ? ": the probes need CAP_NET_RAW (run directorctl doctor as root, "
						     "in directord's network namespace)" : "");
		return -e;
	}
	close(fd);
	*out = &sys_io;
	return 0;
}

void doctor_sys_close(struct doctor_io *io)
{
	(void)io;
}
