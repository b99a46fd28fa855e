/* loadgen: agent-check clients as fast as one thread can make them.
 *
 * Keeps -c connections in flight to DST:PORT from SRC (epoll, non-blocking):
 * connect, read the reply to EOF, check that it is exactly the -e line
 * followed by '\n', close, open the next. Runs -w seconds of warm-up
 * (not counted), then -t seconds counted, then stops opening connections
 * and waits at most 2 s for those in flight. Every connection has a 2 s
 * deadline. Prints key=value results; exit 0 when every counted reply was
 * valid and nothing failed, 1 otherwise, 2 on usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_CONC 1024
#define CONN_TIMEOUT_NS (2 * 1000000000LL)
#define LAT_SAMPLES (1 << 22)	/* more than any bounded run produces */

struct conn {
	int fd;
	int64_t started;
	size_t len;
	char buf[256];
};

static struct sockaddr_in src, dst;
static const char *expect;
static size_t expect_len;
static int epfd;
static int64_t *lat;
static size_t nlat;
static struct {
	uint64_t ok, bad, connect_err, reset, timeouts, opened;
} cnt;
static char first_bad[256];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Returns 0, or -1 when no socket could be made at all. */
static int conn_open(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	int one = 1;

	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		cnt.connect_err++;
		close(c->fd);
		c->fd = -1;
		return 0;
	}
	c->started = now_ns();
	cnt.opened++;
	return 0;
}

static void conn_close(struct conn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
}

/* The reply is complete (EOF): judge it. counted: inside the window. */
static void conn_done(struct conn *c, int counted)
{
	if (counted) {
		if (c->len == expect_len + 1 && memcmp(c->buf, expect, expect_len) == 0 &&
		    c->buf[expect_len] == '\n') {
			cnt.ok++;
			if (nlat < LAT_SAMPLES)
				lat[nlat++] = now_ns() - c->started;
		} else {
			if (!cnt.bad)
				snprintf(first_bad, sizeof(first_bad), "%.*s", (int)c->len, c->buf);
			cnt.bad++;
		}
	}
	conn_close(c);
}

static void conn_readable(struct conn *c, int counted)
{
	for (int i = 0; i < 8; i++) {
		ssize_t n;

		if (c->len >= sizeof(c->buf)) {
			if (counted)
				cnt.bad++;	/* longer than any agent line */
			conn_close(c);
			return;
		}
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			conn_done(c, counted);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (counted) {
			if (errno == ECONNREFUSED)
				cnt.connect_err++;
			else
				cnt.reset++;
		}
		conn_close(c);
		return;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);

	if (n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen -s SRC -d DST -p PORT -e LINE [-c CONC] [-t SECONDS] [-w WARMUP_S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONC];
	struct epoll_event evs[64];
	int conc = 16, secs = 5, warm = 1, c, inflight;
	int64_t t_start, t_count, t_end, t_drain;

	src.sin_family = dst.sin_family = AF_INET;
	while ((c = getopt(argc, argv, "s:d:p:e:c:t:w:")) != -1) {
		switch (c) {
		case 's': if (inet_pton(AF_INET, optarg, &src.sin_addr) != 1) usage(); break;
		case 'd': if (inet_pton(AF_INET, optarg, &dst.sin_addr) != 1) usage(); break;
		case 'p': dst.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'e': expect = optarg; break;
		case 'c': conc = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		default: usage();
		}
	}
	if (!expect || !dst.sin_port || !dst.sin_addr.s_addr || conc < 1 || conc > MAX_CONC ||
	    secs < 1 || secs > 600 || warm < 0 || warm > 60)
		usage();
	expect_len = strlen(expect);
	lat = malloc(LAT_SAMPLES * sizeof(*lat));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!lat || epfd < 0) {
		perror("loadgen");
		return 1;
	}
	for (int i = 0; i < conc; i++)
		conns[i].fd = -1;

	t_start = now_ns();
	t_count = t_start + (int64_t)warm * 1000000000;
	t_end = t_count + (int64_t)secs * 1000000000;
	t_drain = t_end + CONN_TIMEOUT_NS;
	for (;;) {
		int64_t now = now_ns();
		int counted = now >= t_count, n;
		if (now >= t_drain)
			break;
		/* Refill (only until the window ends) and enforce deadlines. */
		inflight = 0;
		for (int i = 0; i < conc; i++) {
			if (conns[i].fd >= 0 && now - conns[i].started > CONN_TIMEOUT_NS) {
				if (counted)
					cnt.timeouts++;
				conn_close(&conns[i]);
			}
			if (conns[i].fd < 0 && now < t_end && conn_open(&conns[i]) < 0) {
				perror("loadgen: socket");
				return 1;
			}
			if (conns[i].fd >= 0)
				inflight++;
		}
		if (now >= t_end && inflight == 0)
			break;
		n = epoll_wait(epfd, evs, 64, 10);
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *cn = evs[i].data.ptr;

			if (cn->fd >= 0)
				conn_readable(cn, counted);
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("client_cpu_s=%.2f client_wall_s=%.2f ",
		       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		       (now_ns() - t_start) / 1e9);
	}
	printf("seconds=%d concurrency=%d replies=%llu valid=%llu invalid=%llu connect_errors=%llu "
	       "resets=%llu timeouts=%llu rate=%.0f lat_p50_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f\n",
	       secs, conc, (unsigned long long)(cnt.ok + cnt.bad), (unsigned long long)cnt.ok,
	       (unsigned long long)cnt.bad, (unsigned long long)cnt.connect_err,
	       (unsigned long long)cnt.reset, (unsigned long long)cnt.timeouts, (double)cnt.ok / secs,
	       pct(lat, nlat, 50) / 1e3, pct(lat, nlat, 99) / 1e3, nlat ? lat[nlat - 1] / 1e3 : 0.0);
	if (cnt.bad)
		printf("first_invalid=\"%s\"\n", first_bad);
	return cnt.bad || cnt.connect_err || cnt.reset || cnt.timeouts || !cnt.ok ? 1 : 0;
}
