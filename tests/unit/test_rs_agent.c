/* rs-agent's report: composing the agent-check line, weight from load, the
 * allow list, and a real agent port on loopback. No root. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "rs-agent.h"
#include "test.h"

/* ---- report_compose ---- */

static const char *compose_line(const struct report_input *in, char *buf, size_t size)
{
	struct agent_reply r;

	report_compose(in, &r);
	if (agent_reply_format(&r, buf, size) < 0)
		return "(format failed)";
	return buf;
}

TEST(report_precedence)
{
	struct report_input in = {
		.admin = ADMIN_READY, .dr_ok = true, .checks_ok = true, .weight_pct = -1,
	};
	struct agent_reply r;
	char line[AGENT_LINE_MAX + 2];

	/* Healthy and ready: "up ready", with the load weight when there is one. */
	report_compose(&in, &r);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_READY);
	CHECK_EQ_INT(r.weight_pct, -1);
	CHECK_EQ_INT(r.maxconn, -1);
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "up ready\n");
	in.weight_pct = 75;
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "up ready 75%\n");
	in.weight_pct = 0;
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "up ready 0%\n");

	/* Drain when healthy: no state word, no weight. */
	in.admin = ADMIN_DRAIN;
	report_compose(&in, &r);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_DRAIN);
	CHECK_EQ_INT(r.weight_pct, -1);
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "drain\n");

	/* Checks failing beat drain. */
	in.checks_ok = false;
	in.check_problem = "check web: HTTP status 503 not in 200-399";
	report_compose(&in, &r);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_NONE);
	CHECK_EQ_STR(r.reason, "check web: HTTP status 503 not in 200-399");
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)),
		     "down #check web: HTTP status 503 not in 200-399\n");

	/* DR state wrong beats failing checks. */
	in.dr_ok = false;
	in.dr_problem = "vip 198.18.0.10 missing";
	report_compose(&in, &r);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);
	CHECK_EQ_STR(r.reason, "vip 198.18.0.10 missing");
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "down #vip 198.18.0.10 missing\n");

	/* Maintenance beats everything. */
	in.admin = ADMIN_MAINT;
	report_compose(&in, &r);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_MAINT);
	CHECK_EQ_STR(r.reason, "");
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "maint\n");
	in.dr_ok = in.checks_ok = true;
	in.weight_pct = 50;
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "maint\n");

	/* Ready with DR broken and no words for it: plain "down". */
	in.admin = ADMIN_READY;
	in.dr_ok = false;
	in.dr_problem = NULL;
	report_compose(&in, &r);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);
	CHECK_EQ_STR(r.reason, "");
	CHECK_EQ_STR(compose_line(&in, line, sizeof(line)), "down\n");
}

/* ---- weight from load ---- */

TEST(weight_from_load)
{
	/* Per-core load l: 100 * (1 - l), never below min_weight. */
	CHECK_EQ_INT(weight_from_loadavg(0.0, 4, 10), 100);
	CHECK_EQ_INT(weight_from_loadavg(1.0, 4, 10), 75);
	CHECK_EQ_INT(weight_from_loadavg(2.0, 4, 10), 50);
	CHECK_EQ_INT(weight_from_loadavg(3.0, 4, 10), 25);
	CHECK_EQ_INT(weight_from_loadavg(3.8, 4, 10), 10);
	CHECK_EQ_INT(weight_from_loadavg(4.0, 4, 10), 10);
	CHECK_EQ_INT(weight_from_loadavg(40.0, 4, 10), 10);
	CHECK_EQ_INT(weight_from_loadavg(1.0, 1, 0), 0);
	CHECK_EQ_INT(weight_from_loadavg(0.5, 1, 0), 50);
	CHECK_EQ_INT(weight_from_loadavg(0.5, 0, 0), 50);	/* 0 cpus read as 1 */
	CHECK_EQ_INT(weight_from_loadavg(0.0, 8, 100), 100);
	CHECK_EQ_INT(weight_from_loadavg(0.0, 8, 150), 100);	/* floor capped at 100 */
	CHECK_EQ_INT(weight_from_loadavg(-1.0, 2, 10), 100);

	/* CPU pressure: 100 - some avg10. */
	CHECK_EQ_INT(weight_from_pressure(0.0, 10), 100);
	CHECK_EQ_INT(weight_from_pressure(25.0, 10), 75);
	CHECK_EQ_INT(weight_from_pressure(25.5, 10), 75);	/* 74.5 rounds to 75 */
	CHECK_EQ_INT(weight_from_pressure(33.3, 10), 67);
	CHECK_EQ_INT(weight_from_pressure(89.0, 10), 11);
	CHECK_EQ_INT(weight_from_pressure(95.0, 10), 10);
	CHECK_EQ_INT(weight_from_pressure(100.0, 0), 0);
	CHECK_EQ_INT(weight_from_pressure(-3.0, 10), 100);
}

TEST(load_weight_from_proc)
{
	unsigned pct = 1000;
	int ret;

	CHECK_EQ_INT(load_weight_read(WEIGHT_LOADAVG, 20, &pct), 0);
	CHECK(pct >= 20 && pct <= 100);

	pct = 1000;
	ret = load_weight_read(WEIGHT_PRESSURE, 20, &pct);
	if (access("/proc/pressure/cpu", R_OK) == 0) {
		/* Present but possibly disabled (psi=0 gives EOPNOTSUPP on read). */
		CHECK(ret == 0 || ret == -ENOENT);
	} else {
		CHECK_EQ_INT(ret, -ENOENT);
	}
	if (ret == 0)
		CHECK(pct >= 20 && pct <= 100);

	CHECK_EQ_INT(load_weight_read(WEIGHT_NONE, 20, &pct), -EINVAL);
}

/* ---- the allow list ---- */

static struct ipaddr addr(const char *s)
{
	struct ipaddr a;
	char err[PARSE_ERR_MAX];

	memset(&a, 0, sizeof(a));
	if (parse_ipaddr(s, &a, err) != 0) {
		fprintf(stderr, "  bad test address %s: %s\n", s, err);
		test_failed_checks++;
	}
	return a;
}

static bool allowed(const struct ipaddr_list *l, const char *peer)
{
	struct ipaddr a = addr(peer);

	return agent_addr_allowed(l, &a);
}

TEST(allow_list)
{
	struct ipaddr items[3], any4[1];
	struct ipaddr_list l = { items, 3 }, empty = { NULL, 0 }, all4 = { any4, 1 };

	items[0] = addr("198.18.0.0/15");
	items[1] = addr("192.0.2.7");
	items[2] = addr("2001:db8:1::/48");
	any4[0] = addr("0.0.0.0/0");

	CHECK(allowed(&l, "198.18.0.1"));
	CHECK(allowed(&l, "198.19.255.255"));
	CHECK(!allowed(&l, "198.20.0.1"));
	CHECK(!allowed(&l, "198.17.255.255"));
	CHECK(allowed(&l, "192.0.2.7"));	/* a bare address is a /32 */
	CHECK(!allowed(&l, "192.0.2.8"));
	CHECK(allowed(&l, "2001:db8:1::1"));
	CHECK(allowed(&l, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"));
	CHECK(!allowed(&l, "2001:db8:2::1"));
	CHECK(!allowed(&l, "::1"));

	/* IPv4-mapped peers (a dual-stack socket) are compared as IPv4. */
	CHECK(allowed(&l, "::ffff:198.18.0.5"));
	CHECK(allowed(&l, "::ffff:192.0.2.7"));
	CHECK(!allowed(&l, "::ffff:192.0.2.8"));
	CHECK(!allowed(&l, "::ffff:10.0.0.1"));

	/* An empty list allows nobody; 0.0.0.0/0 allows every IPv4 peer only. */
	CHECK(!allowed(&empty, "127.0.0.1"));
	CHECK(!allowed(&empty, "::1"));
	CHECK(allowed(&all4, "203.0.113.9"));
	CHECK(allowed(&all4, "::ffff:203.0.113.9"));
	CHECK(!allowed(&all4, "2001:db8::9"));
	CHECK(!agent_addr_allowed(NULL, &items[0]));
}

/* ---- rs-agent.ini durations (issue 11) ---- */

static struct rs_config *load_rs(const char *text, struct ini_diag *diag)
{
	struct rs_config *cfg = NULL;

	ini_diag_init(diag);
	rs_config_load_buffer("rs-agent.ini", text, strlen(text), &cfg, diag);
	return cfg;
}

TEST(fractional_durations)
{
	struct ini_diag diag;
	struct rs_config *cfg = load_rs("[global]\nvips = 192.0.2.80\nverify_interval = 1.5s\n"
					"[agent]\nallow = 198.18.0.0/15\ntimeout = 0.1s\nweight_interval = 2.5m\n"
					"[check web]\ntype = tcp\nport = 80\ninterval = 1.5s\ntimeout = 0.75\n", &diag);
	struct strbuf out;

	CHECK_EQ_INT(diag.n, 0);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "    %s\n", diag.msgs[i]);
	ini_diag_free(&diag);
	if (!cfg) {
		test_failed_checks++;
		return;
	}
	CHECK_EQ_INT(cfg->verify_interval_ms, 1500);
	CHECK_EQ_INT(cfg->agent_timeout_ms, 100);
	CHECK_EQ_INT(cfg->weight_interval_ms, 150000);
	CHECK_EQ_INT(cfg->checks->interval_ms, 1500);
	CHECK_EQ_INT(cfg->checks->timeout_ms, 750);	/* a bare number is seconds */
	sb_init(&out);
	rs_config_print(cfg, &out);
	CHECK_CONTAINS(sb_str(&out), "verify_interval = 1500ms\n");
	CHECK_CONTAINS(sb_str(&out), "interval = 1500ms\ntimeout = 750ms\n");
	sb_free(&out);
	rs_config_free(cfg);

	cfg = load_rs("[global]\nvips = 192.0.2.80\nverify_interval = 0.0005s\n[agent]\nenabled = no\n", &diag);
	CHECK(cfg == NULL);
	CHECK_EQ_INT(diag.n, 1);
	if (diag.n == 1)
		CHECK_CONTAINS(diag.msgs[0], "global.verify_interval: duration 0.0005s has a fraction of a "
			       "millisecond: durations are in whole milliseconds");
	ini_diag_free(&diag);
	rs_config_free(cfg);
}

/* A Host longer than a TLS name may be is refused at its line (it was
 * cut to 255 bytes for SNI and the certificate match). */
TEST(host_too_long)
{
	struct ini_diag diag;
	char text[1024], host[300];
	struct rs_config *cfg;

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(text, sizeof(text), "[global]\nvips = 192.0.2.80\n[agent]\nenabled = no\n"
		 "[check web]\ntype = https\nport = 443\nhost = %s\n", host);
	cfg = load_rs(text, &diag);
	CHECK(cfg == NULL);
	CHECK_EQ_INT(diag.n, 1);
	if (diag.n == 1)
		CHECK_CONTAINS(diag.msgs[0], "rs-agent.ini:8: check web.host: at most 255 characters");
	ini_diag_free(&diag);
	rs_config_free(cfg);
}

/* ---- a real agent port ---- */

struct fixture {
	struct evloop *loop;
	struct agent_server *srv;
	struct rs_config cfg;
	struct ipaddr allow[1];
	unsigned calls;
	int port;
};

static void reply_cb(struct agent_reply *r, void *arg)
{
	struct fixture *f = arg;
	struct report_input in = {
		.admin = ADMIN_READY, .dr_ok = true, .checks_ok = true, .weight_pct = 75,
	};

	f->calls++;
	report_compose(&in, r);
}

static bool fixture_start(struct fixture *f, const char *listen, const char *allow,
			  unsigned max_connections, uint64_t timeout_ms)
{
	char err[PARSE_ERR_MAX];
	int ret;

	memset(f, 0, sizeof(*f));
	CHECK_EQ_INT(evloop_new(&f->loop), 0);
	/* Without a port: 0, an ephemeral port learnt from agent_server_port(). */
	if (parse_ipendpoint(listen, false, &f->cfg.listen, err) != 0) {
		evloop_free(f->loop);
		f->loop = NULL;
		return false;
	}
	f->allow[0] = addr(allow);
	f->cfg.allow.items = f->allow;
	f->cfg.allow.n = 1;
	f->cfg.max_connections = max_connections;
	f->cfg.agent_timeout_ms = timeout_ms;
	ret = agent_server_start(f->loop, &f->cfg, reply_cb, f, &f->srv);
	if (ret < 0) {
		evloop_free(f->loop);
		f->loop = NULL;
		errno = -ret;
		return false;
	}
	f->port = agent_server_port(f->srv);
	CHECK(f->port > 0);
	return true;
}

static void fixture_stop(struct fixture *f)
{
	agent_server_stop(f->srv);
	evloop_free(f->loop);
}

static int client_connect(int family, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
		len = sizeof(*s4);
	}
	/* Loopback: the kernel completes the handshake from the backlog, so a
	 * blocking connect returns before the server has even accepted. */
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Pump the loop while reading the client until EOF or error (bounded).
 * Returns bytes read; *err gets the errno of a failed read, or 0. */
static ssize_t client_read_all(struct fixture *f, int fd, char *buf, size_t size, int *err)
{
	size_t got = 0;
	uint64_t deadline = now_ms() + 3000;

	*err = 0;
	buf[0] = '\0';
	for (int i = 0; i < 1000 && now_ms() < deadline; i++) {
		ssize_t n;

		evloop_run_once(f->loop, 10);
		n = recv(fd, buf + got, size - 1 - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			continue;
		}
		if (n == 0)
			return (ssize_t)got;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*err = errno;
			return (ssize_t)got;
		}
	}
	*err = ETIMEDOUT;
	return (ssize_t)got;
}

static void pump(struct fixture *f, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;

	for (int i = 0; i < 1000 && now_ms() < deadline; i++)
		evloop_run_once(f->loop, 10);
}

static void pump_until_counter(struct fixture *f, const uint64_t *counter, uint64_t want)
{
	uint64_t deadline = now_ms() + 3000;

	for (int i = 0; i < 1000 && now_ms() < deadline && *counter < want; i++)
		evloop_run_once(f->loop, 10);
}

TEST(agent_serves_allowed_client)
{
	struct fixture f;
	char buf[512];
	int fd, err;

	CHECK(fixture_start(&f, "127.0.0.1", "127.0.0.0/8", 8, 2000));
	if (!f.srv)
		return;
	fd = client_connect(AF_INET, "127.0.0.1", f.port);
	CHECK(fd >= 0);
	/* Sending something first is allowed (HAProxy may send agent-send). */
	CHECK_EQ_INT(send(fd, "hello\n", 6, MSG_NOSIGNAL), 6);
	CHECK_EQ_INT(client_read_all(&f, fd, buf, sizeof(buf), &err), 13);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(buf, "up ready 75%\n");
	CHECK_EQ_INT(f.calls, 1);
	CHECK_EQ_INT(agent_server_counters(f.srv)->served, 1);
	CHECK_EQ_INT(agent_server_counters(f.srv)->rejected_addr, 0);
	CHECK_EQ_INT(agent_server_counters(f.srv)->errors, 0);
	close(fd);
	pump(&f, 50);

	/* And again: every connection gets a fresh line. */
	fd = client_connect(AF_INET, "127.0.0.1", f.port);
	CHECK_EQ_INT(client_read_all(&f, fd, buf, sizeof(buf), &err), 13);
	CHECK_EQ_STR(buf, "up ready 75%\n");
	CHECK_EQ_INT(f.calls, 2);
	close(fd);
	fixture_stop(&f);
}

TEST(agent_refuses_address_not_allowed)
{
	struct fixture f;
	char buf[512];
	ssize_t n;
	int fd, err;

	CHECK(fixture_start(&f, "127.0.0.1", "127.0.0.2/32", 8, 2000));
	if (!f.srv)
		return;
	fd = client_connect(AF_INET, "127.0.0.1", f.port);
	CHECK(fd >= 0);
	pump_until_counter(&f, &agent_server_counters(f.srv)->rejected_addr, 1);
	CHECK_EQ_INT(agent_server_counters(f.srv)->rejected_addr, 1);
	n = client_read_all(&f, fd, buf, sizeof(buf), &err);
	CHECK_EQ_INT(n, 0);	/* not a byte */
	CHECK(err == 0 || err == ECONNRESET);
	CHECK_EQ_INT(f.calls, 0);
	CHECK_EQ_INT(agent_server_counters(f.srv)->served, 0);
	close(fd);

	/* A reload that allows the client lets it in. */
	f.allow[0] = addr("127.0.0.1");
	agent_server_update(f.srv, &f.cfg);
	f.allow[0] = addr("10.0.0.0/8");	/* the server keeps its own copy */
	fd = client_connect(AF_INET, "127.0.0.1", f.port);
	CHECK_EQ_INT(client_read_all(&f, fd, buf, sizeof(buf), &err), 13);
	CHECK_EQ_STR(buf, "up ready 75%\n");
	CHECK_EQ_INT(agent_server_counters(f.srv)->served, 1);
	close(fd);
	fixture_stop(&f);
}

TEST(agent_enforces_max_connections)
{
	struct fixture f;
	char buf[512];
	ssize_t n;
	int a, b, c, err;

	/* One slot; a client that never closes holds it until the timeout. */
	CHECK(fixture_start(&f, "127.0.0.1", "127.0.0.1", 1, 500));
	if (!f.srv)
		return;
	a = client_connect(AF_INET, "127.0.0.1", f.port);
	pump_until_counter(&f, &agent_server_counters(f.srv)->served, 1);
	n = recv(a, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK_EQ_INT(n, 13);

	b = client_connect(AF_INET, "127.0.0.1", f.port);
	pump_until_counter(&f, &agent_server_counters(f.srv)->rejected_busy, 1);
	CHECK_EQ_INT(agent_server_counters(f.srv)->rejected_busy, 1);
	n = client_read_all(&f, b, buf, sizeof(buf), &err);
	CHECK_EQ_INT(n, 0);
	CHECK(err == 0 || err == ECONNRESET);
	close(b);

	/* Once the first client closes, its slot is free again. */
	close(a);
	pump(&f, 50);
	c = client_connect(AF_INET, "127.0.0.1", f.port);
	CHECK_EQ_INT(client_read_all(&f, c, buf, sizeof(buf), &err), 13);
	CHECK_EQ_STR(buf, "up ready 75%\n");
	CHECK_EQ_INT(agent_server_counters(f.srv)->served, 2);

	/* c never closes: after the 500 ms timeout the slot is freed anyway. */
	pump(&f, 700);
	a = client_connect(AF_INET, "127.0.0.1", f.port);
	CHECK_EQ_INT(client_read_all(&f, a, buf, sizeof(buf), &err), 13);
	CHECK_EQ_INT(agent_server_counters(f.srv)->served, 3);
	CHECK_EQ_INT(agent_server_counters(f.srv)->rejected_busy, 1);
	close(a);
	close(c);
	fixture_stop(&f);
}

TEST(agent_ipv6)
{
	struct fixture f;
	char buf[512];
	int fd, err;

	if (!fixture_start(&f, "::1", "::1/128", 4, 2000))
		SKIP("no IPv6 loopback");
	fd = client_connect(AF_INET6, "::1", f.port);
	CHECK(fd >= 0);
	CHECK_EQ_INT(client_read_all(&f, fd, buf, sizeof(buf), &err), 13);
	CHECK_EQ_STR(buf, "up ready 75%\n");
	close(fd);
	fixture_stop(&f);
}

TEST(agent_port_in_use)
{
	struct fixture f, g;
	char listen[64];

	CHECK(fixture_start(&f, "127.0.0.1", "127.0.0.1", 4, 2000));
	if (!f.srv)
		return;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f.port);
	CHECK(!fixture_start(&g, listen, "127.0.0.1", 4, 2000));
	CHECK_EQ_INT(errno, EADDRINUSE);
	CHECK(g.srv == NULL);
	fixture_stop(&f);
}

TEST_MAIN(T(report_precedence), T(weight_from_load), T(load_weight_from_proc), T(allow_list), T(fractional_durations), T(host_too_long),
	  T(agent_serves_allowed_client), T(agent_refuses_address_not_allowed),
	  T(agent_enforces_max_connections), T(agent_ipv6), T(agent_port_in_use))
