/* The metrics endpoint's HTTP server (common/httpserv.c) and the text
 * format's writer (common/promtext.c): the request parser on good, bad
 * and oversized heads; routing; the allow list; then a real server on
 * 127.0.0.1 driven by its loop: answers, errors, refusals counted, a
 * deferred answer, and clients that are slow to send or to read while
 * another is served. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpserv.h"
#include "promtext.h"
#include "test.h"

static int parse(const char *s, struct http_request_head *h)
{
	return http_request_head_parse(s, strlen(s), h);
}

TEST(request_parse)
{
	struct http_request_head h;
	char big[HTTPSRV_REQUEST_MAX + 64];

	CHECK_EQ_INT(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &h), 34);
	CHECK_EQ_STR(h.method, "GET");
	CHECK_EQ_STR(h.path, "/metrics");
	CHECK_EQ_INT(http_request_route(&h), 200);
	CHECK(parse("GET /metrics?a=b HTTP/1.0\n\n", &h) > 0);
	CHECK_EQ_STR(h.path, "/metrics");
	CHECK_EQ_INT(http_request_route(&h), 200);
	CHECK(parse("GET / HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK_EQ_INT(http_request_route(&h), 404);
	CHECK(parse("POST /metrics HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK_EQ_INT(http_request_route(&h), 405);
	CHECK(parse("get /metrics HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK_EQ_INT(http_request_route(&h), 405);
	/* Incomplete: more is needed. */
	CHECK_EQ_INT(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &h), 0);
	CHECK_EQ_INT(parse("GET /met", &h), 0);
	CHECK_EQ_INT(parse("", &h), 0);
	/* Not HTTP/1.x. */
	CHECK_EQ_INT(parse("GET /metrics HTTP/2.0\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(parse("GET /metrics\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(parse("GET  /metrics HTTP/1.1\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(parse("GET http://x/metrics HTTP/1.1\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(parse("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(parse("GET /metrics HTTP/1.1\r\nX: a\001b\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(parse("G(T /metrics HTTP/1.1\r\n\r\n", &h), -EINVAL);
	CHECK_EQ_INT(http_request_head_parse("GET /\0", 6, &h), -EINVAL);
	CHECK_EQ_INT(http_request_head_parse("\0GET /metrics HTTP/1.1\n\n", 25, &h), -EINVAL);
	/* Too large: a head that never ends, a path too long. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	CHECK_EQ_INT(http_request_head_parse(big, sizeof(big), &h), -E2BIG);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	memcpy(big + 600, " HTTP/1.1\r\n\r\n", 14);
	CHECK_EQ_INT(parse(big, &h), -E2BIG);
}

TEST(allow_list)
{
	struct ipaddr items[2], peer;
	struct ipaddr_list list = { items, 2 };
	char err[PARSE_ERR_MAX];

	parse_ipaddr("192.0.2.0/28", &items[0], err);
	parse_ipaddr("2001:db8::1", &items[1], err);
	parse_ipaddr("192.0.2.14", &peer, err);
	CHECK(ipaddr_list_allows(&list, &peer));
	parse_ipaddr("192.0.2.16", &peer, err);
	CHECK(!ipaddr_list_allows(&list, &peer));
	parse_ipaddr("::ffff:192.0.2.3", &peer, err);
	CHECK(ipaddr_list_allows(&list, &peer));
	parse_ipaddr("2001:db8::1", &peer, err);
	CHECK(ipaddr_list_allows(&list, &peer));
	parse_ipaddr("2001:db8::2", &peer, err);
	CHECK(!ipaddr_list_allows(&list, &peer));
	list.n = 0;
	parse_ipaddr("192.0.2.1", &peer, err);
	CHECK(!ipaddr_list_allows(&list, &peer));
}

/* Prefix edges: /0 is one family's every address, not the other's; the
 * last bit of a prefix that ends inside a byte counts. */
static bool allows(const char *entry, const char *who)
{
	struct ipaddr item, peer;
	struct ipaddr_list list = { &item, 1 };
	char err[PARSE_ERR_MAX];

	CHECK_EQ_INT(parse_ipaddr(entry, &item, err), 0);
	CHECK_EQ_INT(parse_ipaddr(who, &peer, err), 0);
	return ipaddr_list_allows(&list, &peer);
}

TEST(allow_list_prefix_edges)
{
	CHECK(allows("0.0.0.0/0", "198.18.0.1"));
	CHECK(!allows("0.0.0.0/0", "2001:db8::1"));
	CHECK(allows("::/0", "2001:db8::1"));
	CHECK(!allows("::/0", "198.18.0.1"));
	CHECK(allows("192.0.2.0/25", "192.0.2.127"));
	CHECK(!allows("192.0.2.0/25", "192.0.2.128"));
	CHECK(allows("198.18.0.0/15", "198.19.255.255"));
	CHECK(!allows("198.18.0.0/15", "198.20.0.0"));
	CHECK(allows("2001:db8:8000::/33", "2001:db8:ffff::1"));
	CHECK(!allows("2001:db8:8000::/33", "2001:db8:7fff::1"));
	CHECK(allows("192.0.2.1/32", "::ffff:192.0.2.1"));
	CHECK(!allows("192.0.2.1/32", "::ffff:192.0.2.2"));
	CHECK(!allows("192.0.2.1/32", "::192.0.2.1"));	/* IPv4-compatible is not mapped */
	CHECK(!allows("192.0.2.1/32", "64:ff9b::192.0.2.1"));	/* nor NAT64 */
}

TEST(promtext_lines)
{
	struct strbuf out;

	sb_init(&out);
	prom_family(&out, "dsrkit_x_total", "counter", "Things.");
	prom_u64(&out, "dsrkit_x_total", 18446744073709551615ull, "name", "a\"b\\c\nd", "skipped", NULL, NULL);
	prom_int(&out, "dsrkit_y", -3, NULL);
	prom_dbl(&out, "dsrkit_z", 0.25, "k", "v", NULL);
	prom_dbl(&out, "dsrkit_z", 0.1, NULL);
	prom_dbl(&out, "dsrkit_z", 1.0 / 3, NULL);
	CHECK_EQ_STR(sb_str(&out), "# HELP dsrkit_x_total Things.\n# TYPE dsrkit_x_total counter\n"
				   "dsrkit_x_total{name=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\n"
				   "dsrkit_y -3\ndsrkit_z{k=\"v\"} 0.25\ndsrkit_z 0.1\ndsrkit_z 0.3333333333333333\n");
	sb_free(&out);
}

/* What the format's parser refuses never goes out: a HELP with a
 * backslash or a newline, a label value that is not UTF-8 (a name from
 * the configuration in Latin-1, a device's name from the kernel), which
 * would make Prometheus drop the whole scrape. */
TEST(promtext_escapes_help_and_bytes_not_utf8)
{
	struct strbuf out;

	sb_init(&out);
	prom_family(&out, "dsrkit_x", "gauge", "A \\ b\nc \"d\".");
	CHECK_EQ_STR(sb_str(&out), "# HELP dsrkit_x A \\\\ b\\nc \"d\".\n# TYPE dsrkit_x gauge\n");
	sb_reset(&out);
	/* Latin-1, UTF-8, an overlong '/', a surrogate, one cut short. */
	prom_escape(&out, "caf\xe9 caf\xc3\xa9 \xc0\xaf \xed\xa0\x80 \xe2\x82");
	CHECK_EQ_STR(sb_str(&out), "caf\\\\xE9 caf\xc3\xa9 \\\\xC0\\\\xAF \\\\xED\\\\xA0\\\\x80 \\\\xE2\\\\x82");
	sb_reset(&out);
	prom_escape(&out, "\xf0\x9f\x98\x80\xf4\x90\x80\x80");	/* U+1F600, then above U+10FFFF */
	CHECK_EQ_STR(sb_str(&out), "\xf0\x9f\x98\x80\\\\xF4\\\\x90\\\\x80\\\\x80");
	sb_free(&out);
}

/* Integers written without printf (the VRRP engine renders thousands). */
TEST(promtext_integers)
{
	struct strbuf out;

	sb_init(&out);
	prom_int(&out, "a", LLONG_MIN, NULL);
	prom_int(&out, "a", LLONG_MAX, "k", "v", NULL);
	prom_int(&out, "a", 0, NULL);
	prom_u64(&out, "b", 0, NULL);
	prom_u64(&out, "b", 10, "k", "v", "l", "w", NULL);
	CHECK_EQ_STR(sb_str(&out), "a -9223372036854775808\na{k=\"v\"} 9223372036854775807\na 0\nb 0\n"
				   "b{k=\"v\",l=\"w\"} 10\n");
	sb_free(&out);
}

/* ---- a real server on 127.0.0.1 ---- */

struct fixture {
	struct evloop *loop;
	struct httpsrv *srv;
	int port;
	bool defer;			/* keep the ticket instead of answering */
	uint64_t ticket;
	size_t body_len;
	char *body;
	unsigned scrapes;
};

static void handler(struct httpsrv *s, uint64_t ticket, void *arg)
{
	struct fixture *f = arg;

	f->scrapes++;
	if (f->defer) {
		f->ticket = ticket;
		return;
	}
	CHECK_EQ_INT(httpsrv_answer(s, ticket, 200, f->body, f->body_len), 0);
}

static void fixture_start(struct fixture *f, const char *allow, unsigned max_clients)
{
	struct ipendpoint ep;
	struct ipaddr item;
	struct ipaddr_list list = { &item, 1 };
	struct httpsrv_conf conf = { &list, max_clients, 3000, 64 << 20 };
	char err[PARSE_ERR_MAX];
	int fd;

	memset(f, 0, sizeof(*f));
	f->body = strdup("dsrkit_up 1\n");
	f->body_len = strlen(f->body);
	CHECK_EQ_INT(parse_ipendpoint("127.0.0.1", false, &ep, err), 0);
	parse_ipaddr(allow, &item, err);
	CHECK(evloop_new(&f->loop) == 0);
	fd = tcp_listen_open(&ep, 16);
	CHECK(fd >= 0);
	f->port = tcp_bound_port(fd);
	CHECK(f->port > 0);
	CHECK_EQ_INT(httpsrv_start(f->loop, fd, &conf, handler, f, &f->srv), 0);
}

static void fixture_stop(struct fixture *f)
{
	httpsrv_stop(f->srv);
	evloop_free(f->loop);
	free(f->body);
}

static int client(const struct fixture *f, const char *req)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	if (req)
		CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Turn the loop and read fd until it closes (or about 3 s). Returns what
 * was read; *closed says whether it ended. */
static void read_all(struct fixture *f, int fd, struct strbuf *got, bool *closed)
{
	char buf[65536];

	*closed = false;
	for (int i = 0; i < 300 && !*closed; i++) {
		ssize_t n;

		(void)evloop_run_once(f->loop, 10);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			sb_appendn(got, buf, (size_t)n);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			*closed = true;
	}
}

static void turn(struct fixture *f, int times)
{
	for (int i = 0; i < times; i++)
		(void)evloop_run_once(f->loop, 5);
}

static void ask(struct fixture *f, const char *req, const char *want_prefix)
{
	struct strbuf got;
	bool closed;
	int fd = client(f, req);

	sb_init(&got);
	read_all(f, fd, &got, &closed);
	CHECK(closed);
	if (strncmp(sb_str(&got), want_prefix, strlen(want_prefix)) != 0) {
		fprintf(stderr, "  got: %s\n", sb_str(&got));
		CHECK(!"answer as expected");
	}
	sb_free(&got);
	close(fd);
}

TEST(server_answers_and_errors)
{
	struct fixture f;
	struct strbuf got;
	bool closed;
	int fd;

	fixture_start(&f, "127.0.0.0/8", 4);
	fd = client(&f, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	sb_init(&got);
	read_all(&f, fd, &got, &closed);
	close(fd);
	CHECK(closed);
	CHECK_EQ_STR(sb_str(&got), "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
				   "Content-Length: 12\r\nConnection: close\r\n\r\ndsrkit_up 1\n");
	sb_free(&got);
	ask(&f, "GET /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404 ");
	ask(&f, "POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n");
	ask(&f, "GARBAGE\r\n\r\n", "HTTP/1.1 400 ");
	{
		char *huge = malloc(HTTPSRV_REQUEST_MAX + 100);

		memset(huge, 'a', HTTPSRV_REQUEST_MAX + 99);
		memcpy(huge, "GET /metrics HTTP/1.1\r\nX: ", 26);
		huge[HTTPSRV_REQUEST_MAX + 99] = '\0';
		ask(&f, huge, "HTTP/1.1 431 ");
		free(huge);
	}
	CHECK_EQ_INT(f.scrapes, 1);
	CHECK_EQ_INT(httpsrv_counters(f.srv)->bad_requests, 2);
	CHECK_EQ_INT(httpsrv_counters(f.srv)->answered[0], 1);
	CHECK_EQ_INT(httpsrv_counters(f.srv)->answered[1], 4);
	turn(&f, 5);	/* the last client's close is read */
	CHECK_EQ_INT(httpsrv_clients(f.srv), 0);
	fixture_stop(&f);
}

TEST(server_refuses_unlisted_and_busy)
{
	struct fixture f;
	struct strbuf got;
	bool closed;
	int fd, slow[2];

	fixture_start(&f, "192.0.2.1", 4);
	fd = client(&f, "GET /metrics HTTP/1.1\r\n\r\n");
	sb_init(&got);
	read_all(&f, fd, &got, &closed);
	CHECK(closed);
	CHECK_EQ_INT(got.len, 0);	/* not a byte */
	CHECK_EQ_INT(httpsrv_counters(f.srv)->refused_addr, 1);
	CHECK_EQ_INT(f.scrapes, 0);
	close(fd);
	fixture_stop(&f);

	/* Two connections at most: the third is closed unanswered. */
	fixture_start(&f, "127.0.0.1", 2);
	slow[0] = client(&f, NULL);
	slow[1] = client(&f, NULL);
	turn(&f, 5);
	fd = client(&f, "GET /metrics HTTP/1.1\r\n\r\n");
	sb_reset(&got);
	read_all(&f, fd, &got, &closed);
	CHECK(closed);
	CHECK_EQ_INT(got.len, 0);
	CHECK_EQ_INT(httpsrv_counters(f.srv)->refused_busy, 1);
	close(fd);
	close(slow[0]);
	close(slow[1]);
	sb_free(&got);
	fixture_stop(&f);
}

/* A client that sends half a request and one that does not read a large
 * answer hold their connections, not the loop: a third is answered. */
TEST(server_slow_clients_do_not_block)
{
	struct fixture f;
	int silent, stuck;
	uint64_t t0;

	fixture_start(&f, "127.0.0.1", 4);
	free(f.body);
	f.body_len = 32 << 20;
	f.body = malloc(f.body_len);
	memset(f.body, '#', f.body_len);
	silent = client(&f, "GET /metr");
	stuck = client(&f, "GET /metrics HTTP/1.1\r\n\r\n");	/* never reads its 32 MiB */
	turn(&f, 20);
	CHECK_EQ_INT(f.scrapes, 1);
	f.body_len = 12;
	memcpy(f.body, "dsrkit_up 1\n", 12);
	t0 = now_ms();
	ask(&f, "GET /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK");
	CHECK(now_ms() - t0 < 1000);
	turn(&f, 5);
	CHECK_EQ_INT(httpsrv_clients(f.srv), 2);
	/* The deadline ends both (3 s). */
	for (int i = 0; i < 400 && httpsrv_clients(f.srv); i++)
		(void)evloop_run_once(f.loop, 10);
	CHECK_EQ_INT(httpsrv_clients(f.srv), 0);
	CHECK_EQ_INT(httpsrv_counters(f.srv)->timeouts, 2);
	close(silent);
	close(stuck);
	fixture_stop(&f);
}

TEST(server_deferred_answer)
{
	struct fixture f;
	struct strbuf got;
	bool closed;
	int fd;

	fixture_start(&f, "127.0.0.1", 4);
	f.defer = true;
	fd = client(&f, "GET /metrics HTTP/1.1\r\n\r\n");
	turn(&f, 10);
	CHECK_EQ_INT(f.scrapes, 1);
	CHECK(f.ticket != 0);
	CHECK_EQ_INT(httpsrv_answer(f.srv, f.ticket + 1, 200, "x", 1), -ENOENT);
	CHECK_EQ_INT(httpsrv_answer(f.srv, f.ticket, 200, "late 1\n", 7), 0);
	CHECK_EQ_INT(httpsrv_answer(f.srv, f.ticket, 200, "late 1\n", 7), -ENOENT);	/* once */
	sb_init(&got);
	read_all(&f, fd, &got, &closed);
	CHECK(closed);
	CHECK(got.len > 7 && strcmp(sb_str(&got) + got.len - 7, "late 1\n") == 0);
	sb_free(&got);
	close(fd);
	fixture_stop(&f);
}

/* Clients that ask and hang up at once (a reset) cannot set more
 * scrapes in work than max_clients: each keeps its place until the
 * daemon answers it, then the place is free again. */
TEST(server_hangups_do_not_multiply_scrapes)
{
	struct linger reset = { 1, 0 };
	struct fixture f;
	uint64_t first = 0;
	int fd;

	fixture_start(&f, "127.0.0.1", 2);
	f.defer = true;
	for (int i = 0; i < 6; i++) {
		fd = client(&f, "GET /metrics HTTP/1.1\r\n\r\n");
		turn(&f, 5);
		CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) == 0);
		close(fd);
		turn(&f, 5);
		if (i == 0)
			first = f.ticket;
	}
	CHECK_EQ_INT(f.scrapes, 2);
	CHECK_EQ_INT(httpsrv_counters(f.srv)->refused_busy, 4);
	CHECK_EQ_INT(httpsrv_clients(f.srv), 2);
	/* The answers find nobody, and free the places. */
	CHECK_EQ_INT(httpsrv_answer(f.srv, first, 200, "x\n", 2), -ENOENT);
	CHECK_EQ_INT(httpsrv_answer(f.srv, f.ticket, 200, "x\n", 2), -ENOENT);
	CHECK_EQ_INT(httpsrv_clients(f.srv), 0);
	f.defer = false;
	ask(&f, "GET /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK");
	CHECK_EQ_INT(f.scrapes, 3);
	fixture_stop(&f);
}

TEST_MAIN(T(request_parse), T(allow_list), T(allow_list_prefix_edges), T(promtext_lines), T(promtext_escapes_help_and_bytes_not_utf8), T(promtext_integers), T(server_answers_and_errors),
	  T(server_refuses_unlisted_and_busy), T(server_slow_clients_do_not_block), T(server_deferred_answer),
	  T(server_hangups_do_not_multiply_scrapes))
