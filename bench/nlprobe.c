/* nlprobe: how long does an IPv4 VIP stay deleted?
 *
 * Subscribes to RTNLGRP_IPV4_IFADDR on a raw NETLINK_ROUTE socket (no
 * library), then, per trial: takes CLOCK_MONOTONIC, deletes the VIP with
 * RTM_DELADDR, and waits for the RTM_NEWADDR notification that puts it back.
 *
 *   -m agent  somebody else (rs-agent, a watchdog) re-adds it: measure them
 *   -m self   the probe re-adds it itself (RTM_NEWADDR) as soon as the kernel
 *             acknowledges the delete: the floor, a kernel round trip
 *
 * Per trial it records three times, all from the instant before the delete
 * is sent: the delete's ack, the RTM_DELADDR notification, and the
 * RTM_NEWADDR notification (the "restored" time, the number reported).
 * Prints one line per trial ("trial N restored_us ... ") and a summary.
 * Bounded: -n trials, each waits at most -t ms; gives up after 3 timeouts
 * in a row. Exit 0 when every trial completed, 1 otherwise, 2 on usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define MAX_TRIALS 10000

static int nl_fd = -1;
static uint32_t nl_seq = 1000;
static struct in_addr vip;
static int ifindex;
static const char *label;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void add_attr(struct nlmsghdr *nh, size_t cap, int type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > cap) {
		fprintf(stderr, "nlprobe: message too long\n");
		exit(2);
	}
	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
}

/* RTM_DELADDR or RTM_NEWADDR for VIP/32 on ifindex, with an ack. */
static uint32_t send_addr(int type)
{
	union {
		struct nlmsghdr nh;
		char buf[256];
	} m;
	struct ifaddrmsg *ifa;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(&m, 0, sizeof(m));
	m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*ifa));
	m.nh.nlmsg_type = (unsigned short)type;
	m.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWADDR)
		m.nh.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	m.nh.nlmsg_seq = ++nl_seq;
	ifa = NLMSG_DATA(&m.nh);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	add_attr(&m.nh, sizeof(m), IFA_LOCAL, &vip, sizeof(vip));
	add_attr(&m.nh, sizeof(m), IFA_ADDRESS, &vip, sizeof(vip));
	if (type == RTM_NEWADDR && label)
		add_attr(&m.nh, sizeof(m), IFA_LABEL, label, strlen(label) + 1);
	if (sendto(nl_fd, &m, m.nh.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("nlprobe: sendto");
		exit(1);
	}
	return m.nh.nlmsg_seq;
}

/* Is this RTM_NEWADDR/RTM_DELADDR about our VIP on our interface? */
static int is_vip(const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	const struct rtattr *rta;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) || ifa->ifa_family != AF_INET ||
	    (int)ifa->ifa_index != ifindex)
		return 0;
	len = (int)IFA_PAYLOAD(nh);
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == IFA_LOCAL && RTA_PAYLOAD(rta) == 4)
			return memcmp(RTA_DATA(rta), &vip, 4) == 0;
	return 0;
}

struct trial {
	int64_t t0, ack, del, added;	/* ns; 0 = not seen */
	int ack_err;
};

/* Read what is queued (waiting up to wait_ms for the first datagram) and
 * note the events of this trial. */
static int pump(struct trial *t, uint32_t seq, int wait_ms)
{
	char buf[65536];
	struct pollfd p = { .fd = nl_fd, .events = POLLIN };
	int r = poll(&p, 1, wait_ms);

	if (r <= 0)
		return r;
	for (;;) {
		ssize_t n = recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		int64_t at = now_ns();
		struct nlmsghdr *nh;
		int len;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				fprintf(stderr, "nlprobe: notifications lost (ENOBUFS)\n");
				continue;
			}
			perror("nlprobe: recv");
			exit(1);
		}
		len = (int)n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_ERROR && nh->nlmsg_seq == seq && !t->ack) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				t->ack = at;
				t->ack_err = -e->error;
			} else if (nh->nlmsg_type == RTM_DELADDR && is_vip(nh) && !t->del) {
				t->del = at;
			} else if (nh->nlmsg_type == RTM_NEWADDR && is_vip(nh) && t->del && !t->added) {
				t->added = at;
			}
		}
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p% of the samples <= it. */
static int64_t pct(const int64_t *sorted, int n, double p)
{
	int rank = (int)((p / 100.0) * n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void usage(void)
{
	fprintf(stderr, "usage: nlprobe -m agent|self -a VIP [-i IFNAME] [-l LABEL] [-n TRIALS] [-g GAP_MS] [-t TIMEOUT_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode = "agent", *ifname = "lo";
	int trials = 100, gap_ms = 50, timeout_ms = 2000, c, done = 0, timeouts = 0, in_a_row = 0;
	static int64_t restored[MAX_TRIALS], since_del[MAX_TRIALS];
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int rcvbuf = 1 << 20, self;

	while ((c = getopt(argc, argv, "m:a:i:l:n:g:t:")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'a': if (inet_pton(AF_INET, optarg, &vip) != 1) usage(); break;
		case 'i': ifname = optarg; break;
		case 'l': label = optarg; break;
		case 'n': trials = atoi(optarg); break;
		case 'g': gap_ms = atoi(optarg); break;
		case 't': timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	self = strcmp(mode, "self") == 0;
	if ((!self && strcmp(mode, "agent") != 0) || !vip.s_addr || trials < 1 || trials > MAX_TRIALS ||
	    gap_ms < 0 || gap_ms > 10000 || timeout_ms < 1 || timeout_ms > 60000)
		usage();
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "nlprobe: no interface %s\n", ifname);
		return 2;
	}
	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl_fd < 0) {
		perror("nlprobe: socket");
		return 1;
	}
	local.nl_groups = RTMGRP_IPV4_IFADDR;
	(void)setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(nl_fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		perror("nlprobe: bind");
		return 1;
	}

	for (int i = 0; i < trials && in_a_row < 3; i++) {
		struct trial t = { 0 };
		uint32_t seq, add_seq = 0;
		int64_t deadline, gap_end;

		/* Quiet period: let whoever restores finish its follow-up work,
		 * and drop what it produced. */
		gap_end = now_ns() + (int64_t)gap_ms * 1000000;
		for (int64_t left; (left = gap_end - now_ns()) > 0;) {
			struct trial junk = { 0 };

			pump(&junk, 0, (int)(left / 1000000) + 1);
		}
		t.t0 = now_ns();
		seq = send_addr(RTM_DELADDR);
		deadline = t.t0 + (int64_t)timeout_ms * 1000000;
		while (!t.added && now_ns() < deadline) {
			int left = (int)((deadline - now_ns()) / 1000000) + 1;

			pump(&t, add_seq ? add_seq : seq, left);
			if (t.ack && t.ack_err && !add_seq) {
				fprintf(stderr, "nlprobe: trial %d: delete failed: %s\n", i + 1, strerror(t.ack_err));
				return 1;
			}
			if (self && t.ack && t.del && !add_seq)
				add_seq = send_addr(RTM_NEWADDR);
		}
		if (!t.added) {
			printf("trial %d timeout (no RTM_NEWADDR within %d ms)\n", i + 1, timeout_ms);
			timeouts++;
			in_a_row++;
			continue;
		}
		in_a_row = 0;
		restored[done] = t.added - t.t0;
		since_del[done] = t.added - t.del;
		printf("trial %d restored_us %.1f ack_us %.1f delnotify_us %.1f since_delnotify_us %.1f\n", i + 1,
		       restored[done] / 1e3, t.ack ? (t.ack - t.t0) / 1e3 : -1.0, (t.del - t.t0) / 1e3,
		       since_del[done] / 1e3);
		done++;
	}
	if (done == 0) {
		printf("summary mode=%s trials=%d completed=0 timeouts=%d\n", mode, trials, timeouts);
		return 1;
	}
	qsort(restored, (size_t)done, sizeof(restored[0]), cmp_i64);
	qsort(since_del, (size_t)done, sizeof(since_del[0]), cmp_i64);
	{
		struct rusage ru;
		double sum = 0;

		getrusage(RUSAGE_SELF, &ru);

		for (int i = 0; i < done; i++)
			sum += (double)restored[i];
		printf("summary mode=%s trials=%d completed=%d timeouts=%d min_us=%.1f median_us=%.1f "
		       "p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f since_delnotify_median_us=%.1f cpu_s=%.3f\n",
		       mode, trials, done, timeouts, restored[0] / 1e3, pct(restored, done, 50) / 1e3,
		       pct(restored, done, 90) / 1e3, pct(restored, done, 99) / 1e3, restored[done - 1] / 1e3,
		       sum / done / 1e3, pct(since_del, done, 50) / 1e3,
		       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	return done == trials ? 0 : 1;
}
