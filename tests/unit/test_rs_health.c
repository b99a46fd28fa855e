/* rs-agent local health checks: the pure parts, then real TCP, HTTP and
 * script checks against servers and shells run by the test itself. No root. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "rs-agent.h"
#include "test.h"
#include "test_tls_server.h"

/* ---- helpers ---- */

static struct check_conf make_check(int type, unsigned port)
{
	struct check_conf c;

	memset(&c, 0, sizeof(c));
	c.name = "t";
	c.type = type;
	c.address.family = AF_INET;
	c.address.prefixlen = 32;
	c.address.u.v4.s_addr = htonl(INADDR_LOOPBACK);
	c.port = port;
	c.interval_ms = 60000;	/* one attempt per test unless it says otherwise */
	c.timeout_ms = 2000;
	c.rise = 1;
	c.fall = 1;
	c.path = "/";
	c.expect_status.lo = 200;
	c.expect_status.hi = 399;
	return c;
}

struct changes {
	unsigned n;
	bool last_up;
};

static void on_change(const struct check_status *st, void *arg)
{
	struct changes *ch = arg;

	ch->n++;
	ch->last_up = st->rf.up;
}

/* Drive the loop until the first check has `runs` results, bounded in
 * iterations and in time. */
static const struct check_status *run_checks(struct evloop *loop, struct health *h, uint64_t runs,
					     int max_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)max_ms;

	for (int i = 0; i < 10000 && now_ms() < deadline; i++) {
		if (health_get(h, 0)->runs >= runs)
			break;
		evloop_run_once(loop, 20);
	}
	return health_get(h, 0);
}

static void run_for(struct evloop *loop, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;

	for (int i = 0; i < 10000 && now_ms() < deadline; i++)
		evloop_run_once(loop, 10);
}

/* Start one check, wait for its first result; the caller stops h. */
static const struct check_status *one_result(struct evloop *loop, struct check_conf *c,
					     struct changes *ch, struct health **hp, int max_ms)
{
	struct rs_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.checks = c;
	cfg.nchecks = 1;
	*hp = NULL;
	if (health_start(loop, &cfg, NULL, on_change, ch, hp) != 0)
		return NULL;
	return run_checks(loop, *hp, 1, max_ms);
}

static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* ---- pure parts ---- */

static int parse_str(const char *s, unsigned *status)
{
	return http_parse_status(s, strlen(s), status);
}

TEST(http_status_parsing)
{
	unsigned st = 0;
	char longline[400];

	CHECK_EQ_INT(parse_str("HTTP/1.0 200 OK\r\n", &st), 0);
	CHECK_EQ_INT(st, 200);
	CHECK_EQ_INT(parse_str("HTTP/1.1 404\r\n", &st), 0);
	CHECK_EQ_INT(st, 404);
	CHECK_EQ_INT(parse_str("HTTP/1.1 503 Service Unavailable\nRetry-After: 5\n\n", &st), 0);
	CHECK_EQ_INT(st, 503);
	CHECK_EQ_INT(parse_str("HTTP/1.1 204 \r\n", &st), 0);
	CHECK_EQ_INT(st, 204);
	CHECK_EQ_INT(parse_str("HTTP/2 301 Moved\r\n", &st), 0);
	CHECK_EQ_INT(st, 301);

	/* Incomplete: wait for more. */
	CHECK_EQ_INT(parse_str("", &st), -EAGAIN);
	CHECK_EQ_INT(parse_str("HTT", &st), -EAGAIN);
	CHECK_EQ_INT(parse_str("HTTP/1.1 200 OK", &st), -EAGAIN);
	CHECK_EQ_INT(parse_str("HTTP/1.1 200 OK\r", &st), -EAGAIN);

	/* Not HTTP, or not a status line. */
	CHECK_EQ_INT(parse_str("garbage\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("SSH-2.0-OpenSSH", &st), -EINVAL);	/* no line end needed */
	CHECK_EQ_INT(parse_str("http/1.1 200 OK\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/ 200 OK\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1. 200 OK\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1200 OK\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1 20 OK\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1 2000\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1 099 Low\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1 600 High\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1 2x0\r\n", &st), -EINVAL);
	CHECK_EQ_INT(parse_str("HTTP/1.1\r\n", &st), -EINVAL);
	CHECK_EQ_INT(http_parse_status("HTTP/1.1 2\0000\r\n", 15, &st), -EINVAL);

	/* No line end within 256 bytes: give up rather than wait forever. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "HTTP/1.1 200 ", 13);
	CHECK_EQ_INT(http_parse_status(longline, 255, &st), -EAGAIN);
	CHECK_EQ_INT(http_parse_status(longline, 256, &st), -EINVAL);
	CHECK_EQ_INT(http_parse_status(longline, sizeof(longline), &st), -EINVAL);
	/* Only len bytes are read: a line end after them does not count. */
	CHECK_EQ_INT(http_parse_status("HTTP/1.1 200 OK\r\n", 12, &st), -EAGAIN);
}

TEST(rise_fall_machine)
{
	struct check_conf c = make_check(CHECK_TCP, 80);
	struct check_status st;

	c.rise = 2;
	c.fall = 3;
	memset(&st, 0, sizeof(st));
	st.conf = &c;

	/* The first result decides at once, whichever it is. */
	CHECK(check_status_record(&st, CHECK_FAIL, "connect refused", 3, 1000));
	CHECK(st.rf.known);
	CHECK(!st.rf.up);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_EQ_STR(st.last_reason, "connect refused");
	CHECK_EQ_INT(st.last_duration_ms, 3);
	CHECK_EQ_INT(st.last_time, 1000);

	/* rise = 2 passes in a row to come up; WARN counts as a pass. */
	CHECK(!check_status_record(&st, CHECK_PASS, "", 1, 1001));
	CHECK(!st.rf.up);
	CHECK_EQ_INT(st.rf.in_row, 1);
	CHECK(!check_status_record(&st, CHECK_FAIL, "x", 1, 1002));	/* streak broken */
	CHECK(!check_status_record(&st, CHECK_WARN, "exit status 1", 1, 1003));
	CHECK(check_status_record(&st, CHECK_PASS, "", 1, 1004));
	CHECK(st.rf.up);
	CHECK_EQ_INT(st.rf.in_row, 2);
	CHECK(!check_status_record(&st, CHECK_PASS, "", 1, 1005));
	CHECK_EQ_INT(st.rf.in_row, 3);

	/* fall = 3 failures in a row to go down; a pass or warning resets. */
	CHECK(!check_status_record(&st, CHECK_FAIL, "a", 1, 1006));
	CHECK(!check_status_record(&st, CHECK_FAIL, "b", 1, 1007));
	CHECK(st.rf.up);
	CHECK(!check_status_record(&st, CHECK_WARN, "w", 1, 1008));
	CHECK_EQ_INT(st.rf.in_row, 1);
	CHECK(!check_status_record(&st, CHECK_FAIL, "a", 1, 1009));
	CHECK(!check_status_record(&st, CHECK_FAIL, "b", 1, 1010));
	CHECK(st.rf.up);
	CHECK(check_status_record(&st, CHECK_FAIL, "c", 1, 1011));
	CHECK(!st.rf.up);
	CHECK_EQ_STR(st.last_reason, "c");
	CHECK(!check_status_record(&st, CHECK_FAIL, "d", 1, 1012));

	CHECK_EQ_INT(st.runs, 13);
	CHECK_EQ_INT(st.passes, 5);
	CHECK_EQ_INT(st.failures, 8);

	/* A first pass comes up at once even with rise = 2; NULL reason is "". */
	memset(&st, 0, sizeof(st));
	st.conf = &c;
	CHECK(check_status_record(&st, CHECK_WARN, NULL, 0, 0));
	CHECK(st.rf.up);
	CHECK_EQ_STR(st.last_reason, "");
}

TEST(all_up_and_accessors)
{
	struct evloop *loop;
	struct rs_config cfg;
	struct health *h = NULL;
	const struct check_status *failing = NULL;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	memset(&cfg, 0, sizeof(cfg));
	/* No checks: nothing can be failing. */
	CHECK_EQ_INT(health_start(loop, &cfg, NULL, NULL, NULL, &h), 0);
	CHECK_EQ_INT(health_count(h), 0);
	CHECK(health_get(h, 0) == NULL);
	CHECK(health_all_up(h, &failing));
	CHECK(failing == NULL);
	health_stop(h);

	/* Before its first result a check is not up: say nothing good yet. */
	struct check_conf a = make_check(CHECK_SCRIPT, 0), b = make_check(CHECK_SCRIPT, 0);

	a.name = "a";
	b.name = "b";
	a.command = "exit 0";
	b.command = "exit 2";
	a.next = &b;
	cfg.checks = &a;
	cfg.nchecks = 2;
	CHECK_EQ_INT(health_start(loop, &cfg, NULL, NULL, NULL, &h), 0);
	CHECK_EQ_INT(health_count(h), 2);
	CHECK(!health_all_up(h, &failing));
	CHECK(failing == health_get(h, 0));
	CHECK_EQ_STR(failing->last_reason, "not checked yet");
	CHECK(health_get(h, 1)->conf == &b);

	uint64_t deadline = now_ms() + 5000;

	while (now_ms() < deadline && (health_get(h, 0)->runs == 0 || health_get(h, 1)->runs == 0))
		evloop_run_once(loop, 20);
	CHECK(health_get(h, 0)->rf.up);
	CHECK(!health_get(h, 1)->rf.up);
	CHECK(!health_all_up(h, &failing));
	CHECK(failing == health_get(h, 1));
	health_stop(h);
	evloop_free(loop);
}

/* ---- TCP ---- */

TEST(tcp_check_passes_on_listening_port)
{
	struct evloop *loop;
	struct health *h;
	struct changes ch = { 0 };
	uint16_t port;
	int lfd = listen_loopback(&port);

	CHECK(lfd >= 0);
	CHECK_EQ_INT(evloop_new(&loop), 0);

	struct check_conf c = make_check(CHECK_TCP, port);
	const struct check_status *st = one_result(loop, &c, &ch, &h, 3000);

	CHECK(st != NULL);
	if (st) {
		CHECK_EQ_INT(st->runs, 1);
		CHECK_EQ_INT(st->last, CHECK_PASS);
		CHECK(st->rf.up);
		CHECK_CONTAINS(st->last_reason, "connected in ");
		CHECK_EQ_INT(ch.n, 1);
		CHECK(ch.last_up);
	}
	health_stop(h);
	evloop_free(loop);
	close(lfd);
}

TEST(tcp_check_fails_on_closed_port)
{
	struct evloop *loop;
	struct health *h;
	struct changes ch = { 0 };
	uint16_t port;
	int lfd = listen_loopback(&port);
	char want[64];

	/* Learn a free port, then close it: nothing listens there now. */
	CHECK(lfd >= 0);
	close(lfd);
	CHECK_EQ_INT(evloop_new(&loop), 0);

	struct check_conf c = make_check(CHECK_TCP, port);
	const struct check_status *st = one_result(loop, &c, &ch, &h, 3000);

	snprintf(want, sizeof(want), "connect 127.0.0.1:%u: ", port);
	CHECK(st != NULL);
	if (st) {
		CHECK_EQ_INT(st->last, CHECK_FAIL);
		CHECK(!st->rf.up);
		CHECK(st->rf.known);
		CHECK_CONTAINS(st->last_reason, want);
		CHECK_CONTAINS(st->last_reason, "Connection refused");
		CHECK_EQ_INT(ch.n, 1);	/* the first result is reported */
		CHECK(!ch.last_up);
	}
	health_stop(h);
	evloop_free(loop);
}

TEST(tcp_check_ipv6)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sin6);
	struct evloop *loop;
	struct health *h;
	struct changes ch = { 0 };
	int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		if (lfd >= 0)
			close(lfd);
		SKIP("no IPv6 loopback");
	}
	CHECK_EQ_INT(listen(lfd, 4), 0);
	CHECK_EQ_INT(getsockname(lfd, (struct sockaddr *)&sin6, &len), 0);
	CHECK_EQ_INT(evloop_new(&loop), 0);

	struct check_conf c = make_check(CHECK_TCP, ntohs(sin6.sin6_port));

	c.address.family = AF_INET6;
	c.address.prefixlen = 128;
	c.address.u.v6 = in6addr_loopback;

	const struct check_status *st = one_result(loop, &c, &ch, &h, 3000);

	CHECK(st && st->last == CHECK_PASS);
	if (st)
		CHECK_CONTAINS(st->last_reason, "connected in ");
	health_stop(h);
	close(lfd);
	evloop_free(loop);
}

/* ---- HTTP, against a responder served from the same loop ---- */

struct http_responder {
	struct evloop *loop;
	int lfd;
	uint16_t port;
	const char *response;	/* NULL: read the request and never answer */
	char request[2048];
	size_t request_len;
	unsigned accepted;
	int cfd;
};

static void responder_client(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct http_responder *r = arg;
	ssize_t n;

	(void)events;
	n = recv(fd, r->request + r->request_len, sizeof(r->request) - 1 - r->request_len, 0);
	if (n <= 0) {
		ev_fd_del(loop, fd);
		close(fd);
		r->cfd = -1;
		return;
	}
	r->request_len += (size_t)n;
	r->request[r->request_len] = '\0';
	if (!strstr(r->request, "\r\n\r\n") || !r->response)
		return;
	/* The whole answer fits in the socket buffer of a loopback connection. */
	CHECK_EQ_INT(send(fd, r->response, strlen(r->response), MSG_NOSIGNAL), strlen(r->response));
	ev_fd_del(loop, fd);
	close(fd);
	r->cfd = -1;
}

static void responder_accept(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct http_responder *r = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (cfd < 0)
		return;
	r->accepted++;
	if (r->cfd >= 0) {	/* keep only the latest */
		ev_fd_del(loop, r->cfd);
		close(r->cfd);
	}
	r->cfd = cfd;
	r->request_len = 0;
	ev_fd_add(loop, cfd, EPOLLIN, responder_client, r);
}

static bool responder_start(struct http_responder *r, struct evloop *loop, const char *response)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->response = response;
	r->cfd = -1;
	r->lfd = listen_loopback(&r->port);
	return r->lfd >= 0 && ev_fd_add(loop, r->lfd, EPOLLIN, responder_accept, r) == 0;
}

static void responder_stop(struct http_responder *r)
{
	if (r->cfd >= 0) {
		ev_fd_del(r->loop, r->cfd);
		close(r->cfd);
	}
	if (r->lfd >= 0) {
		ev_fd_del(r->loop, r->lfd);
		close(r->lfd);
	}
}

/* One HTTP check against a responder; result copied out. */
static struct check_status http_once(const char *response, const char *expect_body,
				     unsigned lo, unsigned hi, uint64_t timeout_ms,
				     struct http_responder *r_out)
{
	struct evloop *loop;
	struct health *h;
	struct changes ch = { 0 };
	struct http_responder r;
	struct check_status result;

	memset(&result, 0, sizeof(result));
	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(responder_start(&r, loop, response));

	struct check_conf c = make_check(CHECK_HTTP, r.port);

	c.path = "/health";
	c.expect_body = (char *)expect_body;
	c.expect_status.lo = lo;
	c.expect_status.hi = hi;
	c.timeout_ms = timeout_ms;

	const struct check_status *st = one_result(loop, &c, &ch, &h, 5000);

	CHECK(st != NULL);
	if (st) {
		result = *st;
		result.conf = NULL;
		CHECK_EQ_INT(st->runs, 1);
	}
	health_stop(h);
	responder_stop(&r);
	if (r_out)
		*r_out = r;
	evloop_free(loop);
	return result;
}

static const char ok_response[] =
	"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Note: READY-in-header\r\n\r\nall OK here\n";

TEST(http_check_status_in_range_and_request_shape)
{
	struct http_responder r;
	struct check_status st = http_once(ok_response, NULL, 200, 399, 2000, &r);

	CHECK_EQ_INT(st.last, CHECK_PASS);
	CHECK(st.rf.up);
	CHECK_CONTAINS(st.last_reason, "200");
	CHECK_EQ_INT(r.accepted, 1);
	CHECK(strncmp(r.request, "GET /health HTTP/1.0\r\n", 22) == 0);
	CHECK_CONTAINS(r.request, "\r\nHost: 127.0.0.1\r\n");
	CHECK_CONTAINS(r.request, "\r\nUser-Agent: dsrkit-rs-agent\r\n");
	CHECK_CONTAINS(r.request, "\r\nConnection: close\r\n\r\n");
}

TEST(http_check_status_out_of_range)
{
	struct check_status st = http_once("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
					   NULL, 200, 399, 2000, NULL);

	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK(!st.rf.up);
	CHECK_EQ_STR(st.last_reason, "HTTP 503 (expected 200-399)");

	st = http_once("HTTP/1.1 302 Found\r\n\r\n", NULL, 200, 200, 2000, NULL);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_CONTAINS(st.last_reason, "302");
}

TEST(http_check_expected_body)
{
	struct check_status st = http_once(ok_response, "all OK", 200, 399, 2000, NULL);

	CHECK_EQ_INT(st.last, CHECK_PASS);
	CHECK(st.rf.up);

	st = http_once(ok_response, "OK here", 200, 399, 2000, NULL);
	CHECK_EQ_INT(st.last, CHECK_PASS);

	/* Only the body counts, not the headers. */
	st = http_once(ok_response, "READY", 200, 399, 2000, NULL);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_EQ_STR(st.last_reason, "body lacks 'READY'");
}

TEST(http_check_garbage_and_silence)
{
	struct check_status st = http_once("SSH-2.0-OpenSSH_9.2\r\n", NULL, 200, 399, 2000, NULL);

	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_EQ_STR(st.last_reason, "not HTTP");

	/* Closed without a word. */
	st = http_once("", NULL, 200, 399, 2000, NULL);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_CONTAINS(st.last_reason, "without a response");
}

TEST(http_check_times_out)
{
	struct http_responder r;
	uint64_t t0 = now_ms();
	struct check_status st = http_once(NULL, NULL, 200, 399, 200, &r);
	uint64_t took = now_ms() - t0;

	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK(!st.rf.up);
	CHECK_CONTAINS(st.last_reason, "timeout after 200 ms");
	CHECK(st.last_duration_ms >= 190);
	CHECK(took < 2000);
	CHECK_EQ_INT(r.accepted, 1);
	CHECK_CONTAINS(r.request, "GET /health HTTP/1.0\r\n");	/* it did ask */
}

TEST(http_check_skips_round_while_busy)
{
	struct evloop *loop;
	struct health *h;
	struct http_responder r;
	struct rs_config cfg;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK(responder_start(&r, loop, NULL));

	struct check_conf c = make_check(CHECK_HTTP, r.port);

	/* Every 100 ms, but each attempt hangs for 350 ms: attempts at 0 and
	 * 400 ms, rounds at 100-300 ms skipped; at 600 ms the second hangs. */
	c.interval_ms = 100;
	c.timeout_ms = 350;
	memset(&cfg, 0, sizeof(cfg));
	cfg.checks = &c;
	CHECK_EQ_INT(health_start(loop, &cfg, NULL, NULL, NULL, &h), 0);
	run_for(loop, 600);
	CHECK_EQ_INT(r.accepted, 2);
	CHECK_EQ_INT(health_get(h, 0)->runs, 1);
	/* Stopping mid-attempt closes the socket (the responder sees EOF). */
	CHECK(r.cfd >= 0);
	health_stop(h);
	run_for(loop, 100);
	CHECK_EQ_INT(r.cfd, -1);
	responder_stop(&r);
	evloop_free(loop);
}

/* ---- scripts ---- */

static struct check_status script_once(const char *command, uint64_t timeout_ms)
{
	struct evloop *loop;
	struct health *h;
	struct changes ch = { 0 };
	struct check_status result;

	memset(&result, 0, sizeof(result));
	CHECK_EQ_INT(evloop_new(&loop), 0);

	struct check_conf c = make_check(CHECK_SCRIPT, 0);

	c.command = (char *)command;
	c.timeout_ms = timeout_ms;

	const struct check_status *st = one_result(loop, &c, &ch, &h, 5000);

	CHECK(st != NULL);
	if (st) {
		result = *st;
		result.conf = NULL;
		CHECK_EQ_INT(ch.n, 1);
	}
	health_stop(h);
	evloop_free(loop);
	return result;
}

TEST(script_exit_codes)
{
	struct check_status st = script_once("exit 0", 2000);

	CHECK_EQ_INT(st.last, CHECK_PASS);
	CHECK(st.rf.up);

	/* Any non-zero status fails: `killall -0 haproxy` and `grep -q` say
	 * "no" with 1, so 1 must not count as a pass. */
	st = script_once("exit 1", 2000);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK(!st.rf.up);
	CHECK_EQ_STR(st.last_reason, "exit 1");

	st = script_once("exit 2", 2000);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK(!st.rf.up);
	CHECK_EQ_STR(st.last_reason, "exit 2");

	st = script_once("kill -9 $$", 2000);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_EQ_STR(st.last_reason, "killed by signal 9");

	/* Output goes nowhere; it must not disturb the test's stdout. */
	st = script_once("echo noise; echo more noise >&2; exit 0", 2000);
	CHECK_EQ_INT(st.last, CHECK_PASS);
}

TEST(script_timeout_kills)
{
	char pidfile[] = "/tmp/test_rs_health.XXXXXX";
	char cmd[128], buf[32];
	int fd = mkstemp(pidfile);
	uint64_t t0 = now_ms();
	struct check_status st;
	pid_t pid = 0;
	ssize_t n;

	CHECK(fd >= 0);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 10", pidfile);
	st = script_once(cmd, 200);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK(!st.rf.up);
	CHECK_EQ_STR(st.last_reason, "timeout after 200 ms");
	CHECK(now_ms() - t0 < 3000);

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	CHECK(n > 0);
	if (n > 0) {
		buf[n] = '\0';
		pid = (pid_t)atoi(buf);
	}
	CHECK(pid > 1);
	/* Killed and reaped: no such process, and no child of ours left. */
	if (pid > 1) {
		errno = 0;
		CHECK(kill(pid, 0) < 0 && errno == ESRCH);
	}
	errno = 0;
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	close(fd);
	unlink(pidfile);
}

/* One https check of c on a loop of its own: its result. */
static struct check_status https_once(struct check_conf *c)
{
	struct check_status result;
	struct changes ch = { 0 };
	struct evloop *loop = NULL;
	struct health *h = NULL;
	const struct check_status *st;

	memset(&result, 0, sizeof(result));
	CHECK_EQ_INT(evloop_new(&loop), 0);
	st = loop ? one_result(loop, c, &ch, &h, 5000) : NULL;
	CHECK(st != NULL);
	if (st)
		result = *st;
	result.conf = NULL;
	health_stop(h);
	evloop_free(loop);
	return result;
}

/* rs-agent's https check against openssl s_server, verifying with the
 * CA file's content as the configuration loads it. */
TEST(https_check_verifies)
{
	struct tls_server good = { 0 }, expired = { 0 };
	const char *skip = tls_setup();
	struct check_conf c;
	struct check_status st;

	if (skip)
		SKIP(skip);
	CHECK(tls_server_start(&good, "server", NULL));
	CHECK(tls_server_start(&expired, "expired", NULL));
	c = make_check(CHECK_HTTPS, good.port);
	c.path = "/health";
	c.host = "www.test";
	c.tls_ca_file.pem = pem_of("ca.pem");
	st = https_once(&c);
	CHECK_EQ_INT(st.last, CHECK_PASS);
	CHECK_CONTAINS(st.last_reason, "HTTP 200");
	c.port = expired.port;
	st = https_once(&c);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_CONTAINS(st.last_reason, "certificate has expired");
	c.path = "/down";
	c.port = good.port;
	st = https_once(&c);
	CHECK_EQ_INT(st.last, CHECK_FAIL);
	CHECK_CONTAINS(st.last_reason, "HTTP 503");
	free(c.tls_ca_file.pem);
	tls_server_stop(&good);
	tls_server_stop(&expired);
	tls_teardown();
}

TEST_MAIN(T(http_status_parsing), T(rise_fall_machine), T(all_up_and_accessors),
	  T(tcp_check_passes_on_listening_port), T(tcp_check_fails_on_closed_port), T(tcp_check_ipv6),
	  T(http_check_status_in_range_and_request_shape), T(http_check_status_out_of_range),
	  T(http_check_expected_body), T(http_check_garbage_and_silence), T(http_check_times_out),
	  T(http_check_skips_round_while_busy), T(script_exit_codes), T(script_timeout_kills),
	  T(https_check_verifies))
