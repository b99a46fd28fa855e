/* directord's health probes (common/probe.c) against real listeners on
 * 127.0.0.1 (and ::1 when there is one) served from the same event loop,
 * and shells run by the test itself. No root. Every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "http.h"
#include "lvs.h"
#include "test.h"

#define MAX_CONNS 512

/* ---- a server on the loop ---- */

enum srv_mode {
	SRV_CLOSE,		/* accept and close (tcp checks) */
	SRV_LINE,		/* accept, send the reply, close (agents) */
	SRV_HTTP,		/* read the request, send the reply, close */
	SRV_SILENT,		/* accept and never answer */
};

struct server {
	struct evloop *loop;
	enum srv_mode mode;
	const char *reply;
	size_t split;		/* SRV_HTTP: send reply[split..] 30 ms after the rest (0: at once) */
	int lfd;
	uint16_t port;
	unsigned accepted;
	char request[2048];
	size_t request_len;
	int conns[MAX_CONNS];	/* open connections, -1: free */
	int late_fd;		/* the connection the rest of a split reply goes to */
	struct ev_timer late;
};

static void conn_keep(struct server *s, int fd)
{
	for (size_t i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i] < 0) {
			s->conns[i] = fd;
			return;
		}
	}
	close(fd);
}

static void conn_close(struct server *s, int fd)
{
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (s->conns[i] == fd)
			s->conns[i] = -1;
	ev_fd_del(s->loop, fd);
	close(fd);
}

static void send_all(int fd, const char *buf, size_t len)
{
	/* Small replies: they fit in a loopback socket's buffer. */
	CHECK_EQ_INT(send(fd, buf, len, MSG_NOSIGNAL), (long long)len);
}

static void late_send(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct server *s = arg;

	(void)loop;
	(void)t;
	send_all(s->late_fd, s->reply + s->split, strlen(s->reply) - s->split);
	conn_close(s, s->late_fd);
	s->late_fd = -1;
}

static void http_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct server *s = arg;
	ssize_t n;

	(void)loop;
	(void)events;
	n = recv(fd, s->request + s->request_len, sizeof(s->request) - 1 - s->request_len, 0);
	if (n <= 0) {
		conn_close(s, fd);
		return;
	}
	s->request_len += (size_t)n;
	s->request[s->request_len] = '\0';
	if (!strstr(s->request, "\r\n\r\n"))
		return;
	if (s->split) {
		send_all(fd, s->reply, s->split);
		ev_fd_del(loop, fd);
		s->late_fd = fd;
		ev_timer_start(loop, &s->late, 30);
		return;
	}
	/* The request is read, so closing sends a FIN, not a reset. */
	send_all(fd, s->reply, strlen(s->reply));
	conn_close(s, fd);
}

static void server_accept(struct evloop *loop, int lfd, uint32_t events, void *arg)
{
	struct server *s = arg;
	int fd;

	(void)events;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		s->accepted++;
		switch (s->mode) {
		case SRV_CLOSE:
			close(fd);
			break;
		case SRV_LINE:
			send_all(fd, s->reply, strlen(s->reply));
			close(fd);
			break;
		case SRV_HTTP:
			s->request_len = 0;
			conn_keep(s, fd);
			ev_fd_add(loop, fd, EPOLLIN, http_readable, s);
			break;
		case SRV_SILENT:
			conn_keep(s, fd);
			break;
		}
	}
}

static int listen_on(int family, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static bool server_start_family(struct server *s, struct evloop *loop, int family, enum srv_mode mode,
				const char *reply)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->mode = mode;
	s->reply = reply;
	s->late_fd = -1;
	ev_timer_init(&s->late, late_send, s);
	for (size_t i = 0; i < MAX_CONNS; i++)
		s->conns[i] = -1;
	s->lfd = listen_on(family, MAX_CONNS, &s->port);
	return s->lfd >= 0 && ev_fd_add(loop, s->lfd, EPOLLIN, server_accept, s) == 0;
}

static bool server_start(struct server *s, struct evloop *loop, enum srv_mode mode, const char *reply)
{
	return server_start_family(s, loop, AF_INET, mode, reply);
}

static void server_stop(struct server *s)
{
	ev_timer_stop(s->loop, &s->late);
	if (s->late_fd >= 0)
		close(s->late_fd);
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (s->conns[i] >= 0 && s->conns[i] != s->late_fd)
			conn_close(s, s->conns[i]);
	if (s->lfd >= 0) {
		ev_fd_del(s->loop, s->lfd);
		close(s->lfd);
	}
}

/* A port with nothing listening: bound once, then closed. */
static uint16_t closed_port(void)
{
	uint16_t port = 0;
	int fd = listen_on(AF_INET, 1, &port);

	if (fd >= 0)
		close(fd);
	return port;
}

/* ---- probes ---- */

struct results {
	unsigned n;
	struct hc_outcome last;
	bool stop_self;		/* hc_probe_stop() from inside the callback */
	unsigned pass, fail;
};

static void on_done(struct hc_probe *p, const struct hc_outcome *o, void *arg)
{
	struct results *r = arg;

	r->n++;
	r->last = *o;
	if (o->result == HC_PASS)
		r->pass++;
	else
		r->fail++;
	/* What a callback may read of its probe while it runs. */
	CHECK(hc_probe_target(p) != NULL);
	if (r->stop_self)
		hc_probe_stop(p);
}

static struct hc_spec spec_for(int type, uint16_t port)
{
	struct hc_spec s;

	memset(&s, 0, sizeof(s));
	s.type = type;
	s.addr.family = AF_INET;
	s.addr.prefixlen = 32;
	s.addr.u.v4.s_addr = htonl(INADDR_LOOPBACK);
	s.port = port;
	s.interval_ms = 60000;	/* one attempt per test unless it says otherwise */
	s.timeout_ms = 2000;
	s.path = "/health";
	s.status_lo = 200;
	s.status_hi = 399;
	s.user_agent = "directord";
	return s;
}

/* Drive the loop until *count reaches want, bounded in time. */
static void run_until(struct evloop *loop, const unsigned *count, unsigned want, int max_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)max_ms;

	while (*count < want && now_ms() < deadline)
		evloop_run_once(loop, 10);
}

static void run_for(struct evloop *loop, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;

	while (now_ms() < deadline)
		evloop_run_once(loop, 5);
}

/* One attempt of s; its outcome (result HC_FAIL, reason "no result" when
 * none came within 5 s). */
static struct hc_outcome probe_once(struct evloop *loop, const struct hc_spec *s)
{
	struct results r = { 0 };
	struct hc_probe *p = NULL;

	strcpy(r.last.reason, "no result");
	r.last.result = HC_FAIL;
	CHECK_EQ_INT(hc_probe_start(loop, s, on_done, &r, &p), 0);
	if (!p)
		return r.last;
	CHECK_EQ_INT(r.n, 0);	/* never from inside hc_probe_start() */
	run_until(loop, &r.n, 1, 5000);
	CHECK_EQ_INT(r.n, 1);
	hc_probe_stop(p);
	return r.last;
}

/* One HTTP attempt against a fresh SRV_HTTP server sending reply. */
static struct hc_outcome http_once(const char *reply, const char *body, unsigned lo, unsigned hi,
				   struct server *srv_out)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_HTTP, reply));
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);

	s.body = body;
	s.status_lo = lo;
	s.status_hi = hi;
	o = probe_once(loop, &s);
	server_stop(&srv);
	if (srv_out)
		*srv_out = srv;
	evloop_free(loop);
	return o;
}

/* One agent attempt against a server that says reply and closes. */
static struct hc_outcome agent_once(const char *reply)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_LINE, reply));
	struct hc_spec s = spec_for(LVS_CHECK_AGENT, srv.port);

	o = probe_once(loop, &s);
	server_stop(&srv);
	evloop_free(loop);
	return o;
}

static struct hc_outcome script_once(const char *command, bool dynamic, uint64_t timeout_ms,
				     char *const *env)
{
	struct evloop *loop;
	struct hc_outcome o;
	struct hc_spec s = spec_for(LVS_CHECK_SCRIPT, 0);

	CHECK_EQ_INT(evloop_new(&loop), 0);
	s.command = command;
	s.dynamic_weight = dynamic;
	s.timeout_ms = timeout_ms;
	s.env = env;
	o = probe_once(loop, &s);
	evloop_free(loop);
	return o;
}

/* ---- tcp ---- */

TEST(tcp_connects)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_CLOSE, NULL));
	struct hc_spec s = spec_for(LVS_CHECK_TCP, srv.port);

	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_CONTAINS(o.reason, "connected in ");
	CHECK_CONTAINS(o.reason, " ms");
	CHECK_EQ_INT(o.weight, -1);
	CHECK(!o.have_agent);
	CHECK(o.duration_ms < 1000);
	run_until(loop, &srv.accepted, 1, 1000);
	CHECK_EQ_INT(srv.accepted, 1);
	server_stop(&srv);
	evloop_free(loop);
}

TEST(tcp_refused)
{
	struct evloop *loop;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	struct hc_spec s = spec_for(LVS_CHECK_TCP, closed_port());
	char want[64];

	snprintf(want, sizeof(want), "connect 127.0.0.1:%u: Connection refused", s.port);
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, want);
	evloop_free(loop);
}

/* A check leaves from spec.source when one is given (a director's own
 * address: never a VIP that the real server holds too), and says so when
 * the address is not this host's. */
TEST(tcp_from_source)
{
	struct evloop *loop;
	struct hc_outcome o;
	uint16_t port = 0;
	int lfd = listen_on(AF_INET, 8, &port), fd;
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	CHECK(lfd >= 0);
	CHECK_EQ_INT(evloop_new(&loop), 0);
	struct hc_spec s = spec_for(LVS_CHECK_TCP, port);

	s.source = s.addr;
	s.source.u.v4.s_addr = htonl(0x7f000007);	/* 127.0.0.7 */
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_PASS);
	fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(ntohl(peer.sin_addr.s_addr), 0x7f000007);
	if (fd >= 0)
		close(fd);
	s.source.u.v4.s_addr = htonl(0xc0000201);	/* 192.0.2.1: not ours */
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "bind 192.0.2.1: Cannot assign requested address");
	close(lfd);
	evloop_free(loop);
}

/* A listener whose accept queue is full drops SYNs: the connect hangs. */
TEST(tcp_times_out)
{
	struct evloop *loop;
	struct hc_outcome o;
	uint16_t port = 0;
	int lfd = listen_on(AF_INET, 0, &port), fill[3];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	CHECK(lfd >= 0);
	sin.sin_port = htons(port);
	for (size_t i = 0; i < ARRAY_SIZE(fill); i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	CHECK_EQ_INT(evloop_new(&loop), 0);
	run_for(loop, 20);
	struct hc_spec s = spec_for(LVS_CHECK_TCP, port);

	s.timeout_ms = 200;
	o = probe_once(loop, &s);
	for (size_t i = 0; i < ARRAY_SIZE(fill); i++)
		close(fill[i]);
	close(lfd);
	evloop_free(loop);
	if (o.result == HC_PASS)
		SKIP("this kernel completes connects to a full accept queue");
	CHECK_EQ_STR(o.reason, "timeout after 200 ms");
	CHECK(o.duration_ms >= 190);
	CHECK(o.duration_ms < 1000);
}

/* ---- http ---- */

static const char ok_reply[] =
	"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Note: READY-in-header\r\n\r\nall OK here\n";

TEST(http_pass_and_request_shape)
{
	struct server srv;
	struct hc_outcome o = http_once(ok_reply, NULL, 200, 399, &srv);

	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_STR(o.reason, "HTTP 200");
	CHECK_EQ_INT(srv.accepted, 1);
	CHECK_EQ_STR(srv.request, "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: directord\r\n"
				  "Connection: close\r\n\r\n");
}

TEST(http_host_header)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_HTTP, ok_reply));
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);

	s.host = "www.example.org";
	s.path = NULL;	/* "/" */
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_STR(srv.request, "GET / HTTP/1.0\r\nHost: www.example.org\r\nUser-Agent: directord\r\n"
				  "Connection: close\r\n\r\n");
	server_stop(&srv);
	evloop_free(loop);
}

TEST(http_status_out_of_range)
{
	struct hc_outcome o = http_once("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", NULL,
					200, 399, NULL);

	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "HTTP 503 (expected 200-399)");

	o = http_once("HTTP/1.1 302 Found\r\n\r\n", NULL, 200, 200, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "HTTP 302 (expected 200)");

	/* status_lo = status_hi = 0: the default range 200-399 */
	o = http_once("HTTP/1.1 302 Found\r\n\r\n", NULL, 0, 0, NULL);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_STR(o.reason, "HTTP 302");
}

TEST(http_body_substring)
{
	struct hc_outcome o = http_once(ok_reply, "all OK", 200, 399, NULL);

	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_STR(o.reason, "HTTP 200");

	o = http_once(ok_reply, "OK here\n", 200, 399, NULL);
	CHECK_EQ_INT(o.result, HC_PASS);

	/* Only the body counts, not the headers. */
	o = http_once(ok_reply, "READY", 200, 399, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "body lacks 'READY'");

	/* A wrong status says so even with a body wanted. */
	o = http_once("HTTP/1.0 500 Oops\r\n\r\nall OK here\n", "all OK", 200, 399, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "HTTP 500 (expected 200-399)");
}

/* The wanted text arrives in two reads, split inside it, after 4 KiB of
 * page: the search must look across the boundary. */
TEST(http_body_across_reads)
{
	static char reply[8192];
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;
	size_t len;

	len = (size_t)snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\n\r\n");
	memset(reply + len, 'x', 4096);
	len += 4096;
	strcpy(reply + len, "status=healthy\n");

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_HTTP, reply));
	srv.split = len + 6;	/* "status" | "=healthy" */
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);

	s.body = "status=healthy";
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK(o.duration_ms >= 25);	/* it did wait for the second piece */
	server_stop(&srv);
	evloop_free(loop);
}

TEST(http_not_http)
{
	struct hc_outcome o = http_once("SSH-2.0-OpenSSH_9.2\r\n", NULL, 200, 399, NULL);

	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "not HTTP");

	o = http_once("HTTP/1.1 2000 OK\r\n\r\n", NULL, 200, 399, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "not HTTP");

	o = http_once("HTTP/1.1 200", NULL, 200, 399, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_CONTAINS(o.reason, "not HTTP");

	o = http_once("", NULL, 200, 399, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "closed without a response");
}

TEST(http_times_out)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_SILENT, NULL));
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);

	s.timeout_ms = 200;
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "timeout after 200 ms");
	CHECK(o.duration_ms >= 190);
	CHECK(o.duration_ms < 1000);
	CHECK_EQ_INT(srv.accepted, 1);
	server_stop(&srv);
	evloop_free(loop);
}

TEST(http_ipv6)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;
	char want[64];

	CHECK_EQ_INT(evloop_new(&loop), 0);
	if (!server_start_family(&srv, loop, AF_INET6, SRV_HTTP, ok_reply)) {
		server_stop(&srv);
		evloop_free(loop);
		SKIP("no ::1 here");
	}
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);
	struct results r = { 0 };
	struct hc_probe *p = NULL;

	s.addr.family = AF_INET6;
	s.addr.prefixlen = 128;
	s.addr.u.v6 = in6addr_loopback;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), 0);
	snprintf(want, sizeof(want), "http [::1]:%u/health", srv.port);
	if (p)
		CHECK_EQ_STR(hc_probe_target(p), want);
	run_until(loop, &r.n, 1, 5000);
	o = r.last;
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_CONTAINS(srv.request, "\r\nHost: [::1]\r\n");
	hc_probe_stop(p);
	server_stop(&srv);
	evloop_free(loop);
}

/* ---- script ---- */

TEST(script_exit_status)
{
	struct hc_outcome o = script_once("exit 0", false, 2000, NULL);

	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_STR(o.reason, "exit 0");
	CHECK_EQ_INT(o.weight, -1);

	o = script_once("exit 1", false, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "exit 1");

	/* Without dynamic_weight every non-zero exit is a failure. */
	o = script_once("exit 7", false, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "exit 7");
	CHECK_EQ_INT(o.weight, -1);

	o = script_once("kill -TERM $$", false, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "killed by signal 15");
}

TEST(script_dynamic_weight)
{
	struct hc_outcome o = script_once("exit 7", true, 2000, NULL);

	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_INT(o.weight, 5);
	CHECK_EQ_STR(o.reason, "exit 7 (weight 5)");

	o = script_once("exit 2", true, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_INT(o.weight, 0);

	o = script_once("exit 255", true, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_INT(o.weight, 253);

	o = script_once("exit 0", true, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_INT(o.weight, -1);

	o = script_once("exit 1", true, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_INT(o.weight, -1);
}

TEST(script_times_out)
{
	uint64_t t0 = now_ms();
	struct hc_outcome o = script_once("sleep 10", false, 200, NULL);
	uint64_t took = now_ms() - t0;

	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_CONTAINS(o.reason, "timeout");
	CHECK(o.duration_ms >= 190);
	CHECK(took < 2000);
}

TEST(script_environment)
{
	char *env[] = { "DSRKIT_RS_ADDR=198.18.0.11", "DSRKIT_CHECK_TEST=new", NULL };
	struct hc_outcome o;

	/* Added to the caller's environment, replacing a name it has. */
	setenv("DSRKIT_CHECK_TEST", "old", 1);
	o = script_once("test \"$DSRKIT_RS_ADDR\" = 198.18.0.11 && test \"$DSRKIT_CHECK_TEST\" = new && "
			"test -n \"$PATH\" && test \"$(env | grep -c '^DSRKIT_CHECK_TEST=')\" = 1",
			false, 2000, env);
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_STR(o.reason, "exit 0");

	/* No extra environment: the caller's, as it is. */
	o = script_once("test \"$DSRKIT_CHECK_TEST\" = old && test -z \"$DSRKIT_RS_ADDR\"", false, 2000, NULL);
	CHECK_EQ_INT(o.result, HC_PASS);
	unsetenv("DSRKIT_CHECK_TEST");
}

/* ---- agent ---- */

TEST(agent_replies)
{
	struct hc_outcome o = agent_once("up ready 75%\n");

	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK(o.have_agent);
	CHECK_EQ_INT(o.agent.state, AGENT_STATE_UP);
	CHECK_EQ_INT(o.agent.admin, AGENT_ADMIN_READY);
	CHECK_EQ_INT(o.agent.weight_pct, 75);
	CHECK_EQ_STR(o.reason, "up ready 75%");

	o = agent_once("drain\r\n");
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK(o.have_agent);
	CHECK_EQ_INT(o.agent.admin, AGENT_ADMIN_DRAIN);
	CHECK_EQ_STR(o.reason, "drain");

	/* Reachable and understood: a pass; "down" is the policy's to judge. */
	o = agent_once("down #vip missing\n");
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK(o.have_agent);
	CHECK_EQ_INT(o.agent.state, AGENT_STATE_DOWN);
	CHECK_EQ_STR(o.agent.reason, "vip missing");

	/* A line ended by the close rather than LF. */
	o = agent_once("up 50%");
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_INT(o.agent.weight_pct, 50);

	/* Only the first line counts. */
	o = agent_once("maint\nup\n");
	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK_EQ_INT(o.agent.admin, AGENT_ADMIN_MAINT);
}

/* A C1 CSI (U+009B, bytes c2 9b) and other bytes past ASCII reach no
 * status, log or terminal: the reason keeps printable ASCII only. */
TEST(agent_reason_printable)
{
	struct hc_outcome o = agent_once("up\t\xc2\x9b" "31m #\xc2\x9b" "2J gone\xff\n");

	CHECK_EQ_INT(o.result, HC_PASS);
	CHECK(o.have_agent);
	CHECK_EQ_STR(o.reason, "up ??31m #??2J gone?");
	CHECK_EQ_STR(o.agent.reason, "??2J gone?");
	for (const char *c = o.reason; *c; c++)
		CHECK(*c >= 0x20 && *c < 0x7f);
}

TEST(agent_failures)
{
	static char longline[400];
	struct hc_outcome o = agent_once("\x01\x02garbage\n");
	struct evloop *loop;

	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK(!o.have_agent);
	CHECK_EQ_STR(o.reason, "not an agent reply");

	o = agent_once("up 5000%\n");
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK(!o.have_agent);

	o = agent_once("");
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "closed without a reply");

	memset(longline, 'u', sizeof(longline) - 1);
	o = agent_once(longline);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK_EQ_STR(o.reason, "agent line too long");

	CHECK_EQ_INT(evloop_new(&loop), 0);
	struct hc_spec s = spec_for(LVS_CHECK_AGENT, closed_port());
	char want[64];

	snprintf(want, sizeof(want), "connect 127.0.0.1:%u: Connection refused", s.port);
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK(!o.have_agent);
	CHECK_EQ_STR(o.reason, want);
	evloop_free(loop);
}

TEST(agent_times_out)
{
	struct evloop *loop;
	struct server srv;
	struct hc_outcome o;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_SILENT, NULL));
	struct hc_spec s = spec_for(LVS_CHECK_AGENT, srv.port);

	s.timeout_ms = 150;
	o = probe_once(loop, &s);
	CHECK_EQ_INT(o.result, HC_FAIL);
	CHECK(!o.have_agent);
	CHECK_EQ_STR(o.reason, "timeout after 150 ms");
	server_stop(&srv);
	evloop_free(loop);
}

/* ---- the interval, stopping ---- */

TEST(interval_and_first_delay)
{
	struct evloop *loop;
	struct server srv;
	struct results r = { 0 };
	struct hc_probe *p = NULL;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_CLOSE, NULL));
	struct hc_spec s = spec_for(LVS_CHECK_TCP, srv.port);

	s.interval_ms = 50;
	s.first_delay_ms = 150;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), 0);
	run_for(loop, 100);
	CHECK_EQ_INT(r.n, 0);	/* not before first_delay */
	run_until(loop, &r.n, 1, 1000);
	CHECK_EQ_INT(r.n, 1);
	/* then every 50 ms: about 6 more in 300 ms */
	run_for(loop, 300);
	CHECK(r.n >= 5 && r.n <= 9);
	CHECK_EQ_INT(r.fail, 0);
	hc_probe_stop(p);
	server_stop(&srv);
	evloop_free(loop);
}

/* An attempt still in flight when the interval comes round is not doubled. */
TEST(skips_round_while_in_flight)
{
	struct evloop *loop;
	struct server srv;
	struct results r = { 0 };
	struct hc_probe *p = NULL;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_SILENT, NULL));
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);

	s.interval_ms = 40;
	s.timeout_ms = 250;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), 0);
	run_for(loop, 200);
	CHECK_EQ_INT(r.n, 0);
	CHECK_EQ_INT(srv.accepted, 1);
	/* the timeout ends it; a later round starts the next */
	run_until(loop, &r.n, 1, 1000);
	CHECK_EQ_INT(r.n, 1);
	CHECK_EQ_STR(r.last.reason, "timeout after 250 ms");
	run_until(loop, &srv.accepted, 2, 1000);
	CHECK_EQ_INT(srv.accepted, 2);
	hc_probe_stop(p);
	server_stop(&srv);
	evloop_free(loop);
}

static void stop_in_cb_once(struct evloop *loop, struct hc_spec *s)
{
	struct results r = { .stop_self = true };
	struct hc_probe *p = NULL;

	s->interval_ms = 20;
	CHECK_EQ_INT(hc_probe_start(loop, s, on_done, &r, &p), 0);
	run_until(loop, &r.n, 1, 3000);
	CHECK_EQ_INT(r.n, 1);
	run_for(loop, 100);
	CHECK_EQ_INT(r.n, 1);	/* stopped: no more rounds */
}

TEST(stop_from_callback)
{
	struct evloop *loop;
	struct server tcp, http, agent;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&tcp, loop, SRV_CLOSE, NULL));
	CHECK(server_start(&http, loop, SRV_HTTP, ok_reply));
	CHECK(server_start(&agent, loop, SRV_LINE, "up\n"));

	struct hc_spec s = spec_for(LVS_CHECK_TCP, tcp.port);

	stop_in_cb_once(loop, &s);
	s = spec_for(LVS_CHECK_HTTP, http.port);
	stop_in_cb_once(loop, &s);
	s = spec_for(LVS_CHECK_AGENT, agent.port);
	stop_in_cb_once(loop, &s);
	s = spec_for(LVS_CHECK_SCRIPT, 0);
	s.command = "exit 3";
	stop_in_cb_once(loop, &s);
	s = spec_for(LVS_CHECK_TCP, closed_port());
	stop_in_cb_once(loop, &s);

	server_stop(&tcp);
	server_stop(&http);
	server_stop(&agent);
	evloop_free(loop);
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* Stopped mid-attempt: nothing reported, the connection closed, the
 * script killed and reaped. */
TEST(stop_in_flight)
{
	struct evloop *loop;
	struct server srv;
	struct results r = { 0 };
	struct hc_probe *p = NULL;
	char pidfile[] = "/tmp/dsrkit-test-check.XXXXXX", cmd[128];
	int tfd = mkstemp(pidfile);
	pid_t pid = 0;

	CHECK(tfd >= 0);
	close(tfd);
	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_SILENT, NULL));
	struct hc_spec s = spec_for(LVS_CHECK_HTTP, srv.port);

	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), 0);
	run_until(loop, &srv.accepted, 1, 2000);
	CHECK_EQ_INT(srv.accepted, 1);
	run_for(loop, 20);
	hc_probe_stop(p);
	run_for(loop, 50);
	CHECK_EQ_INT(r.n, 0);

	snprintf(cmd, sizeof(cmd), "echo $$ > %s; exec sleep 10", pidfile);
	s = spec_for(LVS_CHECK_SCRIPT, 0);
	s.command = cmd;
	s.timeout_ms = 5000;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), 0);
	for (int i = 0; i < 200 && pid <= 0; i++) {
		run_for(loop, 10);
		pid = read_pid(pidfile);
	}
	CHECK(pid > 0);
	hc_probe_stop(p);
	/* the loop reaps it once SIGKILL has landed */
	for (int i = 0; i < 100 && pid > 0 && kill(pid, 0) == 0; i++)
		run_for(loop, 10);
	CHECK(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH);
	CHECK_EQ_INT(r.n, 0);
	unlink(pidfile);
	server_stop(&srv);
	evloop_free(loop);
}

/* Many probes on one loop, all reporting: what a director with a few
 * hundred real servers starts at once. */
TEST(many_probes)
{
	enum { N = 200 };
	struct evloop *loop;
	struct server srv;
	struct results r = { 0 };
	static struct hc_probe *probes[N];

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(server_start(&srv, loop, SRV_CLOSE, NULL));
	for (size_t i = 0; i < N; i++) {
		struct hc_spec s = spec_for(LVS_CHECK_TCP, srv.port);

		s.first_delay_ms = i % 20;	/* spread a little, as the engine does */
		s.timeout_ms = 3000;
		probes[i] = NULL;
		CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &probes[i]), 0);
	}
	run_until(loop, &r.n, N, 5000);
	CHECK_EQ_INT(r.n, N);
	CHECK_EQ_INT(r.pass, N);
	for (size_t i = 0; i < N; i++)
		hc_probe_stop(probes[i]);
	server_stop(&srv);
	evloop_free(loop);
}

/* ---- what is shown, what is refused ---- */

static void check_target(const struct hc_spec *s, const char *want)
{
	struct evloop *loop;
	struct results r = { 0 };
	struct hc_probe *p = NULL;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(hc_probe_start(loop, s, on_done, &r, &p), 0);
	if (p)
		CHECK_EQ_STR(hc_probe_target(p), want);
	hc_probe_stop(p);
	evloop_free(loop);
}

TEST(targets)
{
	struct hc_spec s = spec_for(LVS_CHECK_TCP, 80);
	char err[PARSE_ERR_MAX];

	s.first_delay_ms = 60000;	/* nothing runs */
	CHECK_EQ_INT(parse_ipaddr("198.18.0.11", &s.addr, err), 0);
	check_target(&s, "tcp 198.18.0.11:80");
	s.type = LVS_CHECK_AGENT;
	s.port = 5555;
	check_target(&s, "agent 198.18.0.11:5555");
	s.type = LVS_CHECK_HTTP;
	s.port = 80;
	s.path = NULL;
	check_target(&s, "http 198.18.0.11:80/");
	CHECK_EQ_INT(parse_ipaddr("2001:db8::1", &s.addr, err), 0);
	s.path = "/health";
	check_target(&s, "http [2001:db8::1]:80/health");
	s.type = LVS_CHECK_SCRIPT;
	s.command = "true";
	check_target(&s, "script");
}

TEST(bad_specs)
{
	struct evloop *loop;
	struct results r = { 0 };
	struct hc_probe *p = (struct hc_probe *)&r;	/* must be cleared */
	struct hc_spec s;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	s = spec_for(LVS_CHECK_NONE, 80);
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	CHECK(p == NULL);
	s = spec_for(LVS_CHECK_TCP, 80);
	s.interval_ms = 0;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s = spec_for(LVS_CHECK_TCP, 0);
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s = spec_for(LVS_CHECK_TCP, 80);
	s.addr.family = 0;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s = spec_for(LVS_CHECK_HTTP, 80);
	s.path = "/a b";
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s = spec_for(LVS_CHECK_HTTP, 80);
	s.host = "evil\r\nX-Injected: 1";
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s = spec_for(LVS_CHECK_HTTP, 80);
	s.status_lo = 400;
	s.status_hi = 200;
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s = spec_for(LVS_CHECK_SCRIPT, 0);
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	s.command = "";
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), -EINVAL);
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, NULL), -EINVAL);
	hc_probe_stop(NULL);	/* a no-op, like free(NULL) */
	run_for(loop, 20);
	CHECK_EQ_INT(r.n, 0);
	evloop_free(loop);
}

/* ---- the shared parser (fuzzed in tests/fuzz/fuzz_http_response.c) ---- */

static int parse(const char *s, unsigned *status, const char **body)
{
	return http_response_parse(s, strlen(s), status, body);
}

TEST(http_response_parsing)
{
	const char *r, *body = NULL;
	unsigned st = 0;

	r = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nhello";
	CHECK_EQ_INT(parse(r, &st, &body), 0);
	CHECK_EQ_INT(st, 200);
	CHECK(body == r + strlen(r) - 5);

	/* the status is known before the header is complete */
	r = "HTTP/1.0 503 Busy\r\nA: b\r\n";
	CHECK_EQ_INT(parse(r, &st, &body), 0);
	CHECK_EQ_INT(st, 503);
	CHECK(body == NULL);
	CHECK_EQ_INT(parse("HTTP/1.0 200 OK\r\n\r", &st, &body), 0);
	CHECK(body == NULL);

	/* LF-only and mixed line ends; an empty body */
	r = "HTTP/1.0 200 OK\nA: b\n\nx";
	CHECK_EQ_INT(parse(r, &st, &body), 0);
	CHECK(body && strcmp(body, "x") == 0);
	r = "HTTP/1.0 200 OK\nA: b\r\n\nx";
	CHECK_EQ_INT(parse(r, &st, &body), 0);
	CHECK(body && strcmp(body, "x") == 0);
	r = "HTTP/1.0 204 No Content\r\n\r\n";
	CHECK_EQ_INT(parse(r, &st, &body), 0);
	CHECK(body == r + strlen(r));
	/* a CR inside a header line is not a line end */
	r = "HTTP/1.0 200 OK\r\n\rA: b\r\n\r\ny";
	CHECK_EQ_INT(parse(r, &st, &body), 0);
	CHECK(body && strcmp(body, "y") == 0);

	CHECK_EQ_INT(parse("", &st, &body), -EAGAIN);
	CHECK(body == NULL);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK", &st, &body), -EAGAIN);
	CHECK_EQ_INT(parse("SSH-2.0-x\r\n", &st, &body), -EINVAL);
	CHECK(body == NULL);
	CHECK_EQ_INT(parse("HTTP/1.1 99 x\r\n\r\n", &st, &body), -EINVAL);
}

TEST(http_request_formatting)
{
	struct strbuf sb;
	struct ipaddr a;
	char err[PARSE_ERR_MAX];

	sb_init(&sb);
	CHECK_EQ_INT(parse_ipaddr("2001:db8::11", &a, err), 0);
	CHECK_EQ_INT(http_request_format(&sb, NULL, NULL, &a, "directord"), 0);
	CHECK_EQ_STR(sb_str(&sb), "GET / HTTP/1.0\r\nHost: [2001:db8::11]\r\nUser-Agent: directord\r\n"
				  "Connection: close\r\n\r\n");
	CHECK_EQ_INT(http_request_format(&sb, "/x\ty", NULL, &a, "directord"), -EINVAL);
	CHECK_EQ_INT(http_request_format(&sb, "/", "h\x7f", &a, "directord"), -EINVAL);
	sb_free(&sb);
}

TEST_MAIN(T(tcp_connects), T(tcp_refused), T(tcp_from_source), T(tcp_times_out), T(http_pass_and_request_shape),
	  T(http_host_header), T(http_status_out_of_range), T(http_body_substring), T(http_body_across_reads),
	  T(http_not_http), T(http_times_out), T(http_ipv6), T(script_exit_status), T(script_dynamic_weight),
	  T(script_times_out), T(script_environment), T(agent_replies), T(agent_failures), T(agent_reason_printable), T(agent_times_out),
	  T(interval_and_first_delay), T(skips_round_while_in_flight), T(stop_from_callback),
	  T(stop_in_flight), T(many_probes), T(targets), T(bad_specs), T(http_response_parsing),
	  T(http_request_formatting))
