/* A scrape endpoint's HTTP server (httpserv.h): what both daemons need to
 * answer Prometheus, and nothing more, so neither carries an HTTP library.
 * A connection lives through: reading its request head (bounded in size
 * and, with the rest, by one deadline), waiting for the daemon's answer
 * (a ticket), then writing it and reading whatever the client still sends
 * until it closes. The TCP part (listening, the allow list, connections,
 * deadlines, writing and draining) is tcpserv.c's, shared with rs-agent's
 * agent-check port; this is HTTP on it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpserv.h"
#include "util.h"

/* ---- the request (pure) ---- */

static bool is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (at its '\n'), or NULL when not here. */
static const char *line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* "GET /metrics?x HTTP/1.1" (without its line end). */
static int request_line_parse(const char *p, size_t len, struct http_request_head *out)
{
	const char *end = p + len, *sp1, *sp2, *q;
	size_t n;

	if (len && p[len - 1] == '\r')
		end--;
	if (!(sp1 = memchr(p, ' ', (size_t)(end - p))) || sp1 == p)
		return -EINVAL;
	for (q = p; q < sp1; q++)
		if (!is_tchar(*q))
			return -EINVAL;
	if ((size_t)(sp1 - p) >= sizeof(out->method))
		return -E2BIG;
	if (!(sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))))
		return -EINVAL;
	if ((size_t)(end - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
		return -EINVAL;
	if (sp1[1] != '/')
		return -EINVAL;	/* origin form only: no proxy requests, no '*' */
	for (q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return -EINVAL;
	for (q = sp1 + 1; q < sp2 && *q != '?'; q++)
		;
	if ((n = (size_t)(q - sp1 - 1)) >= sizeof(out->path))
		return -E2BIG;
	memcpy(out->method, p, (size_t)(sp1 - p));
	out->method[sp1 - p] = '\0';
	memcpy(out->path, sp1 + 1, n);
	out->path[n] = '\0';
	return 0;
}

/* "Name: value": a token, a colon, then no control byte but tab. */
static bool header_line_ok(const char *p, size_t len)
{
	const char *colon;

	if (len && p[len - 1] == '\r')
		len--;
	if (!(colon = memchr(p, ':', len)) || colon == p)
		return false;
	for (const char *q = p; q < colon; q++)
		if (!is_tchar(*q))
			return false;
	for (const char *q = colon + 1; q < p + len; q++)
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
			return false;
	return true;
}

int http_request_head_parse(const char *buf, size_t len, struct http_request_head *out)
{
	const char *p = buf, *end = buf + len, *nl;
	bool first = true;
	int ret;

	memset(out, 0, sizeof(*out));
	while ((nl = line_end(p, end))) {
		size_t n = (size_t)(nl - p);

		if (first) {
			if ((ret = request_line_parse(p, n, out)) < 0)
				return ret;
			first = false;
		} else if (n == 0 || (n == 1 && p[0] == '\r')) {
			return nl + 1 - buf > HTTPSRV_REQUEST_MAX ? -E2BIG : (int)(nl + 1 - buf);
		} else if (!header_line_ok(p, n)) {
			return -EINVAL;
		}
		p = nl + 1;
	}
	/* Incomplete: bytes that cannot start a valid line end it now. */
	for (const char *q = p; q < end; q++)
		if (*q == '\0')
			return -EINVAL;
	return len >= HTTPSRV_REQUEST_MAX ? -E2BIG : 0;
}

int http_request_route(const struct http_request_head *h)
{
	if (strcmp(h->method, "GET") != 0)
		return 405;
	return strcmp(h->path, HTTPSRV_PATH) == 0 ? 200 : 404;
}

/* ---- who may ask ---- */

const char *metrics_keys_problem(const struct ipendpoint *listen, const struct ipaddr_list *allow, const char **key)
{
	*key = "metrics_allow";
	if (!listen->addr.family)
		return allow->n ? "without metrics_listen" : NULL;
	if (!allow->n)
		return "the addresses of the Prometheus servers are required with metrics_listen";
	*key = "metrics_listen";
	return listen->port ? NULL : "a port is required, such as 192.0.2.1:9101";
}

/* ---- connections ---- */

struct conn {
	struct tcpsrv_conn tcp;		/* first: the server's part */
	uint64_t ticket;
	bool asked;			/* a GET /metrics waits for the daemon's answer */
	char in[HTTPSRV_REQUEST_MAX];
	size_t inlen;
	struct strbuf out;
};

struct httpsrv {
	struct evloop *loop;
	struct tcpsrv *tcp;
	size_t max_answer;
	httpsrv_handler handler;
	void *arg;
	uint64_t last_ticket;
	struct httpsrv_counters counters;
};

static const char *status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void count_answer(struct httpsrv *s, int status)
{
	s->counters.answered[status / 100 == 2 ? 0 : status / 100 == 4 ? 1 : status / 100 == 5 ? 2 : 3]++;
}

static void conn_respond(struct httpsrv *s, struct conn *c, int status, const char *body, size_t len)
{
	if (status == 200 && len > s->max_answer) {
		status = 500;
		body = "answer too large\n";
		len = strlen(body);
	}
	sb_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		  status, status_reason(status), status == 200 ? HTTPSRV_CONTENT_TYPE : "text/plain; charset=utf-8",
		  len, status == 405 ? "Allow: GET\r\n" : "");
	sb_appendn(&c->out, body, len);
	if (c->out.failed) {
		s->counters.errors++;
		tcpsrv_close(&c->tcp);
		return;
	}
	count_answer(s, status);
	(void)tcpsrv_send(&c->tcp, c->out.buf, c->out.len);
}

static void conn_respond_text(struct httpsrv *s, struct conn *c, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, status_reason(status));

	conn_respond(s, c, status, body, (size_t)n);
}

/* A complete head: answered now (an error) or by the daemon's handler. */
static void conn_request(struct httpsrv *s, struct conn *c, const struct http_request_head *h)
{
	int status = http_request_route(h);

	if (status != 200) {
		conn_respond_text(s, c, status);
		return;
	}
	c->asked = true;
	(void)ev_fd_mod(s->loop, c->tcp.fd, 0);	/* nothing read until answered */
	s->handler(s, c->ticket, s->arg);	/* may answer, and close c, at once */
}

static void conn_read(struct httpsrv *s, struct conn *c)
{
	struct http_request_head h;
	ssize_t n;
	int ret;

	n = recv(c->tcp.fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		tcpsrv_close(&c->tcp);	/* gone before a whole request */
		return;
	}
	c->inlen += (size_t)n;
	if ((ret = http_request_head_parse(c->in, c->inlen, &h)) == 0)
		return;
	if (ret < 0) {
		s->counters.bad_requests++;
		conn_respond_text(s, c, ret == -E2BIG ? 431 : 400);
		return;
	}
	conn_request(s, c, &h);
}

/* ---- the protocol on the TCP server ---- */

static int http_open(struct tcpsrv_conn *tc, void *arg)
{
	struct httpsrv *s = arg;
	struct conn *c = (struct conn *)tc;

	c->ticket = ++s->last_ticket;
	sb_init(&c->out);
	return 0;
}

static void http_event(struct tcpsrv_conn *tc, uint32_t events, void *arg)
{
	struct conn *c = (struct conn *)tc;

	if (!c->asked)
		conn_read(arg, c);
	else if (events & (EPOLLERR | EPOLLHUP))
		/* The client left while the daemon works on its answer: its
		 * place stays taken until the answer comes (or the deadline),
		 * so clients that ask and hang up at once cannot set more
		 * answers in work than max_clients. */
		tcpsrv_orphan(tc);
}

static void http_release(struct tcpsrv_conn *tc, void *arg)
{
	(void)arg;
	sb_free(&((struct conn *)tc)->out);
}

static void http_note(enum tcpsrv_event ev, const struct ipaddr *peer, void *arg)
{
	struct httpsrv_counters *n = &((struct httpsrv *)arg)->counters;

	(void)peer;
	switch (ev) {
	case TCPSRV_ACCEPTED: n->accepted++; break;
	case TCPSRV_REFUSED_ADDR: n->refused_addr++; break;
	case TCPSRV_REFUSED_BUSY: n->refused_busy++; break;
	case TCPSRV_TIMEOUT: n->timeouts++; break;
	case TCPSRV_ERROR: n->errors++; break;
	}
}

static const struct tcpsrv_proto http_proto = {
	.conn_size = sizeof(struct conn),
	.accept_burst = 16,
	.on_open = http_open,
	.on_event = http_event,
	.on_sent = http_release,
	.on_close = http_release,
	.note = http_note,
};

/* ---- the server ---- */

static struct tcpsrv_conf tcp_conf(const struct httpsrv_conf *conf)
{
	return (struct tcpsrv_conf){ .allow = conf->allow, .max_conns = conf->max_clients, .timeout_ms = conf->timeout_ms };
}

int httpsrv_update(struct httpsrv *s, const struct httpsrv_conf *conf)
{
	struct tcpsrv_conf tc = tcp_conf(conf);
	int ret = tcpsrv_update(s->tcp, &tc);

	if (ret == 0)
		s->max_answer = conf->max_answer;
	return ret;
}

int httpsrv_start(struct evloop *loop, int fd, const struct httpsrv_conf *conf, httpsrv_handler handler, void *arg,
		  struct httpsrv **out)
{
	struct httpsrv *s = calloc(1, sizeof(*s));
	struct tcpsrv_conf tc = tcp_conf(conf);
	int ret;

	*out = NULL;
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->loop = loop;
	s->handler = handler;
	s->arg = arg;
	s->max_answer = conf->max_answer;
	if ((ret = tcpsrv_start(loop, fd, &tc, &http_proto, s, &s->tcp)) < 0) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void httpsrv_stop(struct httpsrv *s)
{
	if (!s)
		return;
	tcpsrv_stop(s->tcp);
	free(s);
}

int httpsrv_answer(struct httpsrv *s, uint64_t ticket, int status, const char *body, size_t len)
{
	struct tcpsrv_conn *tc;
	struct conn *c;

	for (tc = tcpsrv_conns(s->tcp); tc && ((struct conn *)tc)->ticket != ticket; tc = tc->next)
		;
	c = (struct conn *)tc;
	if (!c || !c->asked || c->tcp.state != TCPSRV_OPEN)
		return -ENOENT;
	if (c->tcp.fd < 0) {
		tcpsrv_close(tc);	/* its client left: the place is free again */
		return -ENOENT;
	}
	conn_respond(s, c, status, body, len);
	return 0;
}

const struct httpsrv_counters *httpsrv_counters(const struct httpsrv *s)
{
	return &s->counters;
}

unsigned httpsrv_clients(const struct httpsrv *s)
{
	return tcpsrv_nconns(s->tcp);
}
