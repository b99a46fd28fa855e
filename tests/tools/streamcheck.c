/* A long-lived TCP stream whose every byte is checked, for failover tests.
 *
 *   streamcheck serve PORT
 *	echo server on every address (a real server holds the VIP on lo):
 *	a process per client, everything sent back as it came.
 *   streamcheck client HOST PORT LOG [SECONDS]
 *	sends a known byte sequence (1 KiB every 10 ms) and checks each byte
 *	of the echo against it. LOG gets a line every second ("progress
 *	T_MS SENT RECEIVED"), one for every pause in the echo longer than
 *	50 ms ("stall START_MS DURATION_MS", wall clock), and at the end
 *	"done sent=S received=R lost=L max_stall_ms=M error=E". The client
 *	stops sending when LOG.stop exists (or after SECONDS, default 900),
 *	waits up to 30 s for the rest of the echo, and exits 0 only when every
 *	byte came back as sent on the one connection.
 *   streamcheck clients HOST PORT LOG N [SECONDS [EVERY_MS]]
 *	N such connections from one process (each from its own source port,
 *	opened 10 ms apart), each sending 1 KiB every EVERY_MS (default
 *	1000) and checking its echo; a broken one is logged and the others go
 *	on. LOG gets "connected N", a line every second ("progress T_MS OPEN
 *	BROKEN"), one per broken connection ("broken PORT WHY"), and at the end
 *	one per connection ("conn PORT sent=S received=R max_wait_ms=W
 *	at_ms=A error=E", W the longest a byte waited for its echo, from A,
 *	wall clock) and "done conns=N broken=B max_wait_ms=W port=P at_ms=A"
 *	(W the longest of all, on port P).
 *	Exits 0 only when every connection came back whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 1024
#define SEND_EVERY_MS 10
#define STALL_MS 50
#define DRAIN_MS 30000

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The byte at offset i of the stream: not periodic within a window a
 * duplicate or a skipped segment could hide in. */
static uint8_t pattern(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> 56 ^ i >> 10);
}

static int usage(void)
{
	fprintf(stderr, "usage: streamcheck serve PORT | client HOST PORT LOG [SECONDS]\n"
		"       | clients HOST PORT LOG N [SECONDS [EVERY_MS]]\n");
	return 2;
}

/* ---- the echo server ---- */

/* One process per connection, as a real server's workers: an echo that
 * blocks (the client's acknowledgements stopped while the VIP moves) must
 * not stop the health checks' connections from being accepted, or the
 * director removes the server, and IPVS drops the stream's packets. */
static void echo(int fd)
{
	char buf[65536];
	ssize_t got;

	while ((got = read(fd, buf, sizeof(buf))) > 0 || (got < 0 && errno == EINTR)) {
		for (ssize_t off = 0; got > 0 && off < got;) {
			ssize_t w = write(fd, buf + off, (size_t)(got - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(0);
			off += w;
		}
	}
	_exit(0);
}

static int serve(const char *port_text)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, zero = 0, lfd;

	signal(SIGCHLD, SIG_IGN);	/* children reaped by the kernel */
	sa.sin6_port = htons((uint16_t)atoi(port_text));
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
		perror("streamcheck serve");
		return 1;
	}
	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("streamcheck accept");
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pid_t pid = fork();

		if (pid == 0) {
			close(lfd);
			echo(c);
		}
		if (pid < 0)
			perror("streamcheck fork");
		close(c);
	}
}

/* ---- the client ---- */

struct client {
	FILE *log;
	uint64_t sent, received;
	uint64_t last_rx_ms, last_rx_wall;
	uint64_t max_stall_ms;
	char error[160];
};

static void fail(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	struct timeval limit = { .tv_sec = 10 };	/* connect's own bound, not the kernel's 2 min */
	int fd, one = 1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fd, F_SETFL, O_NONBLOCK);
	}
	return fd;
}

static void note_rx(struct client *c)
{
	uint64_t now = mono_ms(), gap = now - c->last_rx_ms;

	if (gap > STALL_MS)
		fprintf(c->log, "stall %llu %llu\n", (unsigned long long)c->last_rx_wall, (unsigned long long)gap);
	if (gap > c->max_stall_ms)
		c->max_stall_ms = gap;
	c->last_rx_ms = now;
	c->last_rx_wall = wall_ms();
}

/* Read and check what is there; false on a broken connection. */
static bool receive(struct client *c, int fd)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));

		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (got <= 0) {
			fail(c, got == 0 ? "the peer closed the connection" : "read: %s", strerror(errno));
			return false;
		}
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] != pattern(c->received + (uint64_t)i)) {
				fail(c, "byte %llu differs", (unsigned long long)(c->received + (uint64_t)i));
				return false;
			}
		}
		if (c->received + (uint64_t)got > c->sent) {
			fail(c, "more came back than was sent");
			return false;
		}
		c->received += (uint64_t)got;
		note_rx(c);
	}
}

static bool send_chunk(struct client *c, int fd)
{
	uint8_t buf[CHUNK];
	ssize_t w;

	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = pattern(c->sent + i);
	w = write(fd, buf, sizeof(buf));
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return true;	/* the send buffer is full (the path is down): later */
	if (w < 0) {
		fail(c, "write: %s", strerror(errno));
		return false;
	}
	c->sent += (uint64_t)w;
	return true;
}

static int client(const char *host, const char *port, const char *log_path, const char *secs_text)
{
	struct client c = { 0 };
	char stop_path[4096];
	uint64_t start = mono_ms(), limit = (secs_text ? strtoull(secs_text, NULL, 10) : 900) * 1000;
	uint64_t next_send = start, next_report = start + 1000, drain_until = 0;
	struct stat st;
	int fd;

	snprintf(stop_path, sizeof(stop_path), "%s.stop", log_path);
	if (!(c.log = fopen(log_path, "a")))
		return 1;
	setvbuf(c.log, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = dial(host, port)) < 0) {
		fprintf(c.log, "done sent=0 received=0 lost=0 max_stall_ms=0 error=connect\n");
		return 1;
	}
	fprintf(c.log, "connected\n");
	c.last_rx_ms = mono_ms();
	c.last_rx_wall = wall_ms();
	while (!c.error[0]) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();

		if (!drain_until && (stat(stop_path, &st) == 0 || now - start >= limit))
			drain_until = now + DRAIN_MS;
		if (drain_until && c.received == c.sent)
			break;
		if (drain_until && now >= drain_until) {
			fail(&c, "the echo of %llu bytes did not come back", (unsigned long long)(c.sent - c.received));
			break;
		}
		if (!drain_until && now >= next_send) {
			if (!send_chunk(&c, fd))
				break;
			next_send += SEND_EVERY_MS;
			if (next_send < now)
				next_send = now;	/* no burst to catch up after a stall */
		}
		if (now >= next_report) {
			fprintf(c.log, "progress %llu %llu %llu\n", (unsigned long long)(now - start),
				(unsigned long long)c.sent, (unsigned long long)c.received);
			next_report += 1000;
		}
		if (poll(&p, 1, SEND_EVERY_MS) > 0 && !receive(&c, fd))
			break;
	}
	/* The time since the last byte counts as a stall too. */
	if (c.received != c.sent && mono_ms() - c.last_rx_ms > c.max_stall_ms)
		c.max_stall_ms = mono_ms() - c.last_rx_ms;
	fprintf(c.log, "done sent=%llu received=%llu lost=%llu max_stall_ms=%llu error=%s\n",
		(unsigned long long)c.sent, (unsigned long long)c.received,
		(unsigned long long)(c.sent - c.received), (unsigned long long)c.max_stall_ms,
		c.error[0] ? c.error : "none");
	close(fd);
	return c.error[0] || c.received != c.sent;
}

/* ---- many clients ---- */

#define WAITS 64	/* chunks whose echo a connection waits for at once */

struct conn {
	int fd;
	unsigned port;
	uint64_t sent, received, next_send, max_wait_ms, max_wait_at;	/* at: wall ms it began */
	uint64_t chunk_end[WAITS], chunk_ms[WAITS];	/* ring of chunks in flight */
	unsigned head, count;
	char error[120];
};

static void conn_fail(struct conn *c, FILE *log, const char *why)
{
	if (c->error[0])
		return;
	snprintf(c->error, sizeof(c->error), "%s", why);
	fprintf(log, "broken %u %s\n", c->port, why);
	close(c->fd);
	c->fd = -1;
}

/* The echo came up to c->received: the chunks it completes end their wait. */
static void conn_echoed(struct conn *c, uint64_t now)
{
	while (c->count && c->chunk_end[c->head] <= c->received) {
		uint64_t w = now - c->chunk_ms[c->head];

		if (w > c->max_wait_ms) {
			c->max_wait_ms = w;
			c->max_wait_at = wall_ms() - w;
		}
		c->head = (c->head + 1) % WAITS;
		c->count--;
	}
}

static void conn_receive(struct conn *c, FILE *log)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t got = read(c->fd, buf, sizeof(buf));

		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (got <= 0) {
			conn_fail(c, log, got == 0 ? "the peer closed the connection" : strerror(errno));
			return;
		}
		for (ssize_t i = 0; i < got; i++)
			if (buf[i] != pattern(c->received + (uint64_t)i)) {
				conn_fail(c, log, "a byte differs");
				return;
			}
		if (c->received + (uint64_t)got > c->sent) {
			conn_fail(c, log, "more came back than was sent");
			return;
		}
		c->received += (uint64_t)got;
		conn_echoed(c, mono_ms());
	}
}

static void conn_send(struct conn *c, FILE *log, uint64_t now)
{
	uint8_t buf[CHUNK];
	ssize_t w;

	if (c->count == WAITS)
		return;		/* that many echoes missing: the path is down, later */
	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = pattern(c->sent + i);
	w = write(c->fd, buf, sizeof(buf));
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w < 0) {
		conn_fail(c, log, strerror(errno));
		return;
	}
	c->sent += (uint64_t)w;
	c->chunk_end[(c->head + c->count) % WAITS] = c->sent;
	c->chunk_ms[(c->head + c->count) % WAITS] = now;
	c->count++;
}

/* The longest wait so far, counting the echo still missing. */
static uint64_t conn_wait(const struct conn *c, uint64_t now)
{
	uint64_t w = c->max_wait_ms;

	if (c->count && now - c->chunk_ms[c->head] > w)
		w = now - c->chunk_ms[c->head];
	return w;
}

static uint64_t conn_wait_at(const struct conn *c, uint64_t now)
{
	if (c->count && now - c->chunk_ms[c->head] > c->max_wait_ms)
		return wall_ms() - (now - c->chunk_ms[c->head]);
	return c->max_wait_at;
}

static unsigned local_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

/* A connection that cannot be made counts as broken; none made at all is
 * a failure of the whole run. */
static int many_open(struct conn *cs, int n, const char *host, const char *port, FILE *log, uint64_t every)
{
	int made = 0;

	for (int i = 0; i < n; i++) {
		cs[i].fd = dial(host, port);
		if (cs[i].fd < 0) {
			snprintf(cs[i].error, sizeof(cs[i].error), "connect: %s", strerror(errno));
			fprintf(log, "broken 0 %s\n", cs[i].error);
			continue;
		}
		made++;
		cs[i].port = local_port(cs[i].fd);
		cs[i].next_send = mono_ms() + (uint64_t)i * every / (uint64_t)n;	/* spread over the period */
		usleep(10000);
	}
	if (!made) {
		fprintf(log, "done conns=%d broken=%d max_wait_ms=0 port=0 at_ms=0 error=connect\n", n, n);
		return -1;
	}
	fprintf(log, "connected %d\n", made);
	return 0;
}

/* One round: send what is due (unless draining), read what came. */
static void many_round(struct conn *cs, int n, struct pollfd *p, FILE *log, uint64_t every, bool draining)
{
	uint64_t now = mono_ms();

	for (int i = 0; i < n; i++) {
		p[i].fd = cs[i].fd;
		p[i].events = POLLIN;
		if (cs[i].fd < 0 || draining || now < cs[i].next_send)
			continue;
		conn_send(&cs[i], log, now);
		cs[i].next_send += every;
		if (cs[i].next_send < now)
			cs[i].next_send = now + every;
	}
	if (poll(p, (nfds_t)n, 10) <= 0)
		return;
	for (int i = 0; i < n; i++)
		if (cs[i].fd >= 0 && (p[i].revents & (POLLIN | POLLERR | POLLHUP)))
			conn_receive(&cs[i], log);
}

static int many_broken(const struct conn *cs, int n, bool *all_echoed)
{
	int broken = 0;

	*all_echoed = true;
	for (int i = 0; i < n; i++) {
		broken += cs[i].fd < 0;
		if (cs[i].fd >= 0 && cs[i].received != cs[i].sent)
			*all_echoed = false;
	}
	return broken;
}

static int many_report(struct conn *cs, int n, FILE *log)
{
	uint64_t now = mono_ms(), worst = 0, worst_at = 0;
	unsigned worst_port = 0;
	int broken = 0;

	for (int i = 0; i < n; i++) {
		uint64_t w = conn_wait(&cs[i], now);

		if (cs[i].fd >= 0 && cs[i].received != cs[i].sent)
			conn_fail(&cs[i], log, "the echo did not come back");
		broken += cs[i].fd < 0;
		if (w > worst) {
			worst = w;
			worst_port = cs[i].port;
			worst_at = conn_wait_at(&cs[i], now);
		}
		fprintf(log, "conn %u sent=%llu received=%llu max_wait_ms=%llu at_ms=%llu error=%s\n", cs[i].port,
			(unsigned long long)cs[i].sent, (unsigned long long)cs[i].received, (unsigned long long)w,
			(unsigned long long)conn_wait_at(&cs[i], now), cs[i].error[0] ? cs[i].error : "none");
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	}
	fprintf(log, "done conns=%d broken=%d max_wait_ms=%llu port=%u at_ms=%llu\n", n, broken,
		(unsigned long long)worst, worst_port, (unsigned long long)worst_at);
	return broken != 0;
}

static int clients(const char *host, const char *port, const char *log_path, int n,
		   const char *secs_text, const char *every_text)
{
	uint64_t limit = (secs_text ? strtoull(secs_text, NULL, 10) : 900) * 1000;
	uint64_t every = every_text ? strtoull(every_text, NULL, 10) : 1000;
	char stop_path[4096];
	struct conn *cs;
	struct pollfd *p;
	struct stat st;
	FILE *log;

	if (n < 1 || n > 10000 || every < 1)
		return usage();
	snprintf(stop_path, sizeof(stop_path), "%s.stop", log_path);
	cs = calloc((size_t)n, sizeof(*cs));
	p = calloc((size_t)n, sizeof(*p));
	if (!cs || !p || !(log = fopen(log_path, "a")))
		return 1;
	setvbuf(log, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (many_open(cs, n, host, port, log, every) < 0)
		return 1;
	uint64_t start = mono_ms(), next_report = start + 1000, drain_until = 0;

	for (;;) {
		uint64_t now = mono_ms();
		bool all_echoed;
		int broken = many_broken(cs, n, &all_echoed);

		if (!drain_until && (stat(stop_path, &st) == 0 || now - start >= limit))
			drain_until = now + DRAIN_MS;
		if (drain_until && (all_echoed || now >= drain_until))
			break;
		if (now >= next_report) {
			fprintf(log, "progress %llu %d %d\n", (unsigned long long)(now - start), n - broken, broken);
			next_report += 1000;
		}
		many_round(cs, n, p, log, every, drain_until != 0);
	}
	free(p);
	int rc = many_report(cs, n, log);

	free(cs);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && argc <= 8 && strcmp(argv[1], "clients") == 0)
		return clients(argv[2], argv[3], argv[4], atoi(argv[5]), argc > 6 ? argv[6] : NULL,
			       argc > 7 ? argv[7] : NULL);
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "client") == 0)
		return client(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	return usage();
}
