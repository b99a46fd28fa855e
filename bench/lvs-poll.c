/* lvs-poll: watches the IPVS table of the network namespace it runs in,
 * over generic netlink (raw sockets, libc only), for bench/lvs.sh.
 *
 *   lvs-poll count
 *       prints "services=S dests=D" (every service dumped, then the
 *       destinations of each)
 *   lvs-poll wait [-i MS] [-t S] SERVICES DESTS SENTINEL...
 *       waits until the table holds SERVICES services and DESTS
 *       destinations. A SENTINEL is VIP:PORT=N (a TCP service that must
 *       show N destinations): every MS ms (default 20) only the sentinels
 *       are asked (one small dump each, cheap while the table fills);
 *       once they are all complete the whole table is counted (from
 *       /proc/net/ip_vs, in one read), and again every MS ms until it is
 *       complete. Prints, with CLOCK_REALTIME
 *       epoch seconds:
 *         "done t=T sentinels_t=T0 count_t=T1 services=S dests=D polls=P counts=C"
 *       (T1: when the count that found it whole began: the table became
 *       whole between the count before it and T)
 *       or "timeout ..." after S seconds (default 600) with exit status 1.
 *   lvs-poll weight [-i MS] [-t S] VIP:PORT DEST:PORT W
 *       waits until that destination of that TCP service has weight W;
 *       prints "done t=T polls=P" (or "timeout ..."; exit 1).
 *
 * The counts are what `ipvsadm -L -n` shows, without its cost: under TCG
 * `ipvsadm -L -n` of 50,000 objects takes many seconds, a sentinel poll
 * a fraction of a millisecond.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>

#define BUF_SIZE (1 << 17)
#define NLA_OK_LEN(len) ((len) >= (int)sizeof(struct nlattr))

static int nl_fd = -1;
static uint16_t ipvs_family;
static uint32_t seq_no = 1;
static unsigned char rxbuf[BUF_SIZE];

static double now_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "lvs-poll: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- message building ---- */

struct msg {
	unsigned char buf[512];
	size_t len;
};

static void msg_init(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
	struct genlmsghdr *g = (struct genlmsghdr *)(m->buf + NLMSG_HDRLEN);

	memset(m->buf, 0, sizeof(m->buf));
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq_no++;
	g->cmd = cmd;
	g->version = 1;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

static struct nlattr *msg_put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);

	if (m->len + NLA_ALIGN(NLA_HDRLEN + len) > sizeof(m->buf)) {
		fprintf(stderr, "lvs-poll: request too long\n");
		exit(2);
	}
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlattr *nest_begin(struct msg *m, uint16_t type)
{
	return msg_put(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, struct nlattr *a)
{
	a->nla_len = (uint16_t)(m->buf + m->len - (unsigned char *)a);
}

static void msg_send(struct msg *m)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	((struct nlmsghdr *)m->buf)->nlmsg_len = (uint32_t)m->len;
	if (sendto(nl_fd, m->buf, m->len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("sendto");
}

/* Reads the replies to the last request until DONE (dumps) or the ack;
 * calls fn for each data message. Returns 0 or -errno from the kernel. */
typedef void (*reply_fn)(const struct nlmsghdr *h, void *arg);

static int msg_replies(uint32_t seq, reply_fn fn, void *arg)
{
	for (;;) {
		ssize_t n = recv(nl_fd, rxbuf, sizeof(rxbuf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recv");
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)rxbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
			if (fn)
				fn(h, arg);
		}
	}
}

static const struct nlattr *attr_next(const struct nlattr *a, int *rem)
{
	*rem -= NLA_ALIGN(a->nla_len);
	return (const struct nlattr *)((const unsigned char *)a + NLA_ALIGN(a->nla_len));
}

static const struct nlattr *attr_find(const struct nlattr *first, int rem, uint16_t type)
{
	for (const struct nlattr *a = first; NLA_OK_LEN(rem) && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
	     a = attr_next(a, &rem))
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
	return NULL;
}

/* A top-level attribute of a generic netlink message. */
static const struct nlattr *attr_top(const struct nlmsghdr *h, uint16_t type)
{
	return attr_find((const struct nlattr *)((const unsigned char *)h + NLMSG_HDRLEN + GENL_HDRLEN),
			 (int)h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, type);
}

static const struct nlattr *attr_in(const struct nlattr *nest, uint16_t type)
{
	return attr_find((const struct nlattr *)((const unsigned char *)nest + NLA_HDRLEN),
			 nest->nla_len - NLA_HDRLEN, type);
}

static const void *attr_data(const struct nlattr *a)
{
	return (const unsigned char *)a + NLA_HDRLEN;
}

/* ---- IPVS ---- */

static void family_reply(const struct nlmsghdr *h, void *arg)
{
	const struct nlattr *a = attr_top(h, CTRL_ATTR_FAMILY_ID);

	(void)arg;
	if (a)
		memcpy(&ipvs_family, attr_data(a), sizeof(ipvs_family));
}

static void ipvs_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct msg m;
	struct timeval tv = { 30, 0 };	/* no reply in 30 s: give up rather than hang */
	int size = 1 << 20, ret;

	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl_fd < 0)
		die("socket");
	setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(nl_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	/* The reply is one message: the ack after it ends the wait. */
	msg_init(&m, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY);
	msg_put(&m, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, sizeof(IPVS_GENL_NAME));
	msg_send(&m);
	ret = msg_replies(((struct nlmsghdr *)m.buf)->nlmsg_seq, family_reply, NULL);
	if (ret < 0 || !ipvs_family) {
		fprintf(stderr, "lvs-poll: no IPVS generic netlink family (%s)\n", strerror(-ret));
		exit(2);
	}
}

struct endpoint {
	struct in_addr addr;
	uint16_t port;		/* network order */
};

static int parse_endpoint(const char *text, struct endpoint *ep)
{
	char host[64];
	const char *colon = strrchr(text, ':');

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, colon - text);
	host[colon - text] = '\0';
	if (inet_pton(AF_INET, host, &ep->addr) != 1)
		return -1;
	ep->port = htons((uint16_t)atoi(colon + 1));
	return 0;
}

static void put_tcp_service(struct msg *m, const struct endpoint *ep)
{
	struct nlattr *n = nest_begin(m, IPVS_CMD_ATTR_SERVICE);
	uint16_t af = AF_INET, proto = IPPROTO_TCP;
	unsigned char addr[16] = { 0 };

	memcpy(addr, &ep->addr, 4);
	msg_put(m, IPVS_SVC_ATTR_AF, &af, sizeof(af));
	msg_put(m, IPVS_SVC_ATTR_PROTOCOL, &proto, sizeof(proto));
	msg_put(m, IPVS_SVC_ATTR_ADDR, addr, sizeof(addr));
	msg_put(m, IPVS_SVC_ATTR_PORT, &ep->port, sizeof(ep->port));
	nest_end(m, n);
}

struct dest_scan {
	size_t n;
	const struct endpoint *want;	/* weight mode: the destination to read */
	long weight;			/* its weight, -1 while not seen */
};

static void dest_reply(const struct nlmsghdr *h, void *arg)
{
	struct dest_scan *s = arg;
	const struct nlattr *d = attr_top(h, IPVS_CMD_ATTR_DEST), *a, *p, *w;

	if (!d)
		return;
	s->n++;
	if (!s->want)
		return;
	a = attr_in(d, IPVS_DEST_ATTR_ADDR);
	p = attr_in(d, IPVS_DEST_ATTR_PORT);
	w = attr_in(d, IPVS_DEST_ATTR_WEIGHT);
	if (a && p && w && memcmp(attr_data(a), &s->want->addr, 4) == 0 &&
	    memcmp(attr_data(p), &s->want->port, 2) == 0) {
		uint32_t v;

		memcpy(&v, attr_data(w), sizeof(v));
		s->weight = v;
	}
}

/* Destinations of one service given as a nested service attribute (the
 * raw attribute of a service dump, or one built by put_tcp_service). */
static size_t dests_of_raw(const struct nlattr *svc, const struct endpoint *want, long *weight)
{
	struct msg m;
	struct dest_scan s = { 0, want, -1 };
	int ret;

	struct nlattr *n;
	static const uint16_t keys[] = { IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_ADDR,
					 IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_FWMARK };

	/* Only the key of the service goes back (not its stats, flags...). */
	msg_init(&m, ipvs_family, NLM_F_DUMP, IPVS_CMD_GET_DEST);
	n = nest_begin(&m, IPVS_CMD_ATTR_SERVICE);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const struct nlattr *a = attr_in(svc, keys[k]);

		if (a)
			msg_put(&m, keys[k], attr_data(a), a->nla_len - NLA_HDRLEN);
	}
	nest_end(&m, n);
	msg_send(&m);
	ret = msg_replies(((struct nlmsghdr *)m.buf)->nlmsg_seq, dest_reply, &s);
	if (ret < 0)
		return 0;	/* no such service (yet) */
	if (weight)
		*weight = s.weight;
	return s.n;
}

static size_t dests_of_tcp(const struct endpoint *svc, const struct endpoint *want, long *weight)
{
	struct msg m;

	msg_init(&m, 0, 0, 0);
	put_tcp_service(&m, svc);
	return dests_of_raw((const struct nlattr *)(m.buf + NLMSG_HDRLEN + GENL_HDRLEN), want, weight);
}

/* The service dump, kept as raw nested attributes. */
struct svc_list {
	unsigned char *data;
	size_t len, cap, n;
};

static void svc_reply(const struct nlmsghdr *h, void *arg)
{
	struct svc_list *l = arg;
	const struct nlattr *a = attr_top(h, IPVS_CMD_ATTR_SERVICE);
	size_t need;

	if (!a)
		return;
	need = NLA_ALIGN(a->nla_len);
	if (l->len + need > l->cap) {
		l->cap = (l->cap + need) * 2;
		l->data = realloc(l->data, l->cap);
		if (!l->data)
			die("realloc");
	}
	memcpy(l->data + l->len, a, a->nla_len);
	l->len += need;
	l->n++;
}

static void count_all(size_t *nsvc, size_t *ndest)
{
	struct svc_list l = { 0 };
	struct msg m;
	size_t off = 0;

	msg_init(&m, ipvs_family, NLM_F_DUMP, IPVS_CMD_GET_SERVICE);
	msg_send(&m);
	if (msg_replies(((struct nlmsghdr *)m.buf)->nlmsg_seq, svc_reply, &l) < 0) {
		*nsvc = *ndest = 0;
		free(l.data);
		return;
	}
	*nsvc = l.n;
	*ndest = 0;
	while (off < l.len) {
		const struct nlattr *a = (const struct nlattr *)(l.data + off);

		*ndest += dests_of_raw(a, NULL, NULL);
		off += NLA_ALIGN(a->nla_len);
	}
	free(l.data);
}

/* The same count from /proc/net/ip_vs, read in one pass: the kernel
 * formats the whole table at once (one read into a buffer that holds it
 * all), where the netlink count asks for each service's destinations in
 * a dump of its own, which takes seconds under TCG at 10,000 services.
 * The wait's timed counts use this one, so the moment the table is seen
 * whole is not seconds late; "count" (the verification) stays netlink. */
static void count_proc(size_t *nsvc, size_t *ndest)
{
	static char *buf;
	static size_t cap = 1 << 22;
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/net/ip_vs", O_RDONLY | O_CLOEXEC);

	*nsvc = *ndest = 0;
	if (fd < 0)
		die("/proc/net/ip_vs");
	for (;;) {
		if (!buf || len + 1 >= cap) {
			cap = buf ? cap * 2 : cap;
			if (!(buf = realloc(buf, cap)))
				die("realloc");
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("reading /proc/net/ip_vs");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	/* After three header lines: a service per line, its destinations
	 * each on a line of "  -> ". */
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		if (strncmp(line, "  -> ", 5) == 0)
			*ndest += strncmp(line + 5, "RemoteAddress", 13) != 0;	/* not the header */
		else if (!strncmp(line, "TCP ", 4) || !strncmp(line, "UDP ", 4) || !strncmp(line, "SCTP ", 5) ||
			 !strncmp(line, "FWM ", 4))
			(*nsvc)++;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int usage(void)
{
	fprintf(stderr, "usage: lvs-poll count\n"
			"       lvs-poll wait [-i MS] [-t S] SERVICES DESTS VIP:PORT=N...\n"
			"       lvs-poll weight [-i MS] [-t S] VIP:PORT DEST:PORT W\n");
	return 2;
}

int main(int argc, char **argv)
{
	long interval_ms = 20, timeout_s = 600;
	const char *mode;
	int i = 2;
	double t_start, t_deadline;

	if (argc < 2)
		return usage();
	mode = argv[1];
	while (i + 1 < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-i") == 0)
			interval_ms = atol(argv[i + 1]);
		else if (strcmp(argv[i], "-t") == 0)
			timeout_s = atol(argv[i + 1]);
		else
			return usage();
		i += 2;
	}
	if (interval_ms < 1)
		interval_ms = 1;
	ipvs_open();
	t_start = now_epoch();
	t_deadline = t_start + timeout_s;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (strcmp(mode, "count") == 0) {
		size_t s, d;

		count_all(&s, &d);
		printf("services=%zu dests=%zu\n", s, d);
		return 0;
	}
	if (strcmp(mode, "wait") == 0) {
		size_t want_s, want_d, nsent, polls = 0, counts = 0, s = 0, d = 0;
		struct endpoint *sent;
		size_t *sent_n;
		double t_sent = 0;

		if (argc - i < 3)
			return usage();
		want_s = strtoul(argv[i], NULL, 10);
		want_d = strtoul(argv[i + 1], NULL, 10);
		nsent = (size_t)(argc - i - 2);
		sent = calloc(nsent, sizeof(*sent));
		sent_n = calloc(nsent, sizeof(*sent_n));
		for (size_t k = 0; k < nsent; k++) {
			char *arg = argv[i + 2 + k], *eq = strchr(arg, '=');

			if (!eq)
				return usage();
			*eq = '\0';
			if (parse_endpoint(arg, &sent[k]) < 0)
				return usage();
			sent_n[k] = strtoul(eq + 1, NULL, 10);
		}
		while (now_epoch() < t_deadline) {
			bool all = true;

			polls++;
			if (!t_sent) {
				for (size_t k = 0; k < nsent && all; k++)
					all = dests_of_tcp(&sent[k], NULL, NULL) >= sent_n[k];
				if (all)
					t_sent = now_epoch();
			}
			if (all) {
				double t_count = now_epoch();

				counts++;
				count_proc(&s, &d);
				if (s == want_s && d == want_d) {
					printf("done t=%.6f sentinels_t=%.6f count_t=%.6f services=%zu dests=%zu polls=%zu "
					       "counts=%zu\n", now_epoch(), t_sent, t_count, s, d, polls, counts);
					return 0;
				}
			}
			sleep_ms(interval_ms);
		}
		count_all(&s, &d);
		printf("timeout t=%.6f sentinels_t=%.6f services=%zu dests=%zu polls=%zu counts=%zu\n", now_epoch(),
		       t_sent, s, d, polls, counts);
		return 1;
	}
	if (strcmp(mode, "weight") == 0) {
		struct endpoint svc, dest;
		long want_w, w = -1;
		size_t polls = 0;

		if (argc - i != 3 || parse_endpoint(argv[i], &svc) < 0 || parse_endpoint(argv[i + 1], &dest) < 0)
			return usage();
		want_w = atol(argv[i + 2]);
		while (now_epoch() < t_deadline) {
			polls++;
			dests_of_tcp(&svc, &dest, &w);
			if (w == want_w) {
				printf("done t=%.6f polls=%zu\n", now_epoch(), polls);
				return 0;
			}
			sleep_ms(interval_ms);
		}
		printf("timeout t=%.6f polls=%zu weight=%ld\n", now_epoch(), polls, w);
		return 1;
	}
	return usage();
}
