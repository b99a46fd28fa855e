/* A scrape endpoint's HTTP server (httpserv.h): what both daemons need to
 * answer Prometheus, and nothing more, so neither carries an HTTP library.
 * A connection lives through: reading its request head (bounded in size
 * and, with the rest, by one deadline), waiting for the daemon's answer
 * (a ticket), writing it (non-blocking, EPOLLOUT), then reading whatever
 * the client still sends until it closes: closing with unread data would
 * send a reset, which can destroy an answer the client has not read yet. */
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

#define ACCEPT_BURST 16
#define DRAIN_READS 4
#define ACCEPT_PAUSE_MS 1000	/* out of descriptors: no spinning on the listener */

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

static bool list_match(const struct ipaddr_list *allow, const struct ipaddr *peer)
{
	for (size_t i = 0; i < allow->n; i++)
		if (allow->items[i].family == peer->family && ipaddr_in_prefix(peer, &allow->items[i]))
			return true;
	return false;
}

bool ipaddr_list_allows(const struct ipaddr_list *allow, const struct ipaddr *peer)
{
	struct ipaddr v4;

	if (!allow || !peer)
		return false;
	if (peer->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&peer->u.v6)) {
		memset(&v4, 0, sizeof(v4));
		v4.family = AF_INET;
		v4.prefixlen = 32;
		memcpy(&v4.u.v4, &peer->u.v6.s6_addr[12], 4);
		if (list_match(allow, &v4))
			return true;
	}
	return list_match(allow, peer);
}

void ipaddr_from_sockaddr(const struct sockaddr_storage *ss, struct ipaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		a->prefixlen = 128;
		a->u.v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
	} else {
		a->prefixlen = 32;
		a->u.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
	}
}

/* ---- the listening socket ---- */

int tcp_listen_open(const struct ipendpoint *ep, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1, err;

	memset(&ss, 0, sizeof(ss));
	if (ep->addr.family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		sin6->sin6_addr = ep->addr.u.v6;
		sslen = sizeof(*sin6);
	} else if (ep->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		sin->sin_addr = ep->addr.u.v4;
		sslen = sizeof(*sin);
	} else {
		return -EAFNOSUPPORT;
	}
	if ((fd = socket(ep->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* "::" means IPv6 only; IPv4 is configured as IPv4, never by accident. */
	if (ep->addr.family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int tcp_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- connections ---- */

enum conn_phase { PH_READ, PH_WAIT, PH_WRITE, PH_DRAIN };

struct conn {
	struct httpsrv *s;
	struct conn *next;
	int fd;
	uint64_t ticket;
	enum conn_phase phase;
	char in[HTTPSRV_REQUEST_MAX];
	size_t inlen;
	struct strbuf out;
	size_t sent;
	struct ev_timer deadline;
};

struct httpsrv {
	struct evloop *loop;
	int fd;
	bool paused;
	struct ev_timer resume;
	struct ipaddr_list allow;
	unsigned max_clients;
	uint64_t timeout_ms;
	size_t max_answer;
	httpsrv_handler handler;
	void *arg;
	struct conn *conns;
	unsigned nconns;
	uint64_t last_ticket;
	struct httpsrv_counters counters;
};

static void conn_close(struct conn *c)
{
	struct httpsrv *s = c->s;
	struct conn **pp;

	for (pp = &s->conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	s->nconns--;
	ev_timer_stop(s->loop, &c->deadline);
	if (c->fd >= 0) {
		ev_fd_del(s->loop, c->fd);
		close(c->fd);
	}
	sb_free(&c->out);
	free(c);
}

/* The client left while the daemon works on its answer: its socket goes,
 * but its place stays taken until the answer comes (or the deadline), so
 * clients that ask and hang up at once cannot set more answers in work
 * than max_clients. */
static void conn_orphan(struct conn *c)
{
	ev_fd_del(c->s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

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

/* Everything sent: FIN, then read until the client closes. */
static void conn_sent(struct conn *c)
{
	c->phase = PH_DRAIN;
	sb_free(&c->out);
	(void)shutdown(c->fd, SHUT_WR);
	(void)ev_fd_mod(c->s->loop, c->fd, EPOLLIN);
}

/* Write what the kernel takes now; the rest on EPOLLOUT. False: closed. */
static bool conn_write(struct conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->sent, c->out.len - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)ev_fd_mod(c->s->loop, c->fd, EPOLLOUT);
			return true;
		}
		if (n < 0) {
			c->s->counters.errors++;
			conn_close(c);
			return false;
		}
		c->sent += (size_t)n;
	}
	conn_sent(c);
	return true;
}

static void conn_respond(struct conn *c, int status, const char *body, size_t len)
{
	struct httpsrv *s = c->s;

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
		conn_close(c);
		return;
	}
	count_answer(s, status);
	c->phase = PH_WRITE;
	(void)conn_write(c);
}

static void conn_respond_text(struct conn *c, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, status_reason(status));

	conn_respond(c, status, body, (size_t)n);
}

/* A complete head: answered now (an error) or by the daemon's handler. */
static void conn_request(struct conn *c, const struct http_request_head *h)
{
	struct httpsrv *s = c->s;
	int status = http_request_route(h);

	if (status != 200) {
		conn_respond_text(c, status);
		return;
	}
	c->phase = PH_WAIT;
	(void)ev_fd_mod(s->loop, c->fd, 0);	/* nothing read until answered */
	s->handler(s, c->ticket, s->arg);	/* may answer, and close c, at once */
}

static void conn_read(struct conn *c)
{
	struct http_request_head h;
	ssize_t n;
	int ret;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);	/* gone before a whole request */
		return;
	}
	c->inlen += (size_t)n;
	if ((ret = http_request_head_parse(c->in, c->inlen, &h)) == 0)
		return;
	if (ret < 0) {
		c->s->counters.bad_requests++;
		conn_respond_text(c, ret == -E2BIG ? 431 : 400);
		return;
	}
	conn_request(c, &h);
}

static void conn_drain(struct conn *c)
{
	char scratch[512];

	for (int i = 0; i < DRAIN_READS; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);	/* EOF or reset: done */
		return;
	}
}

static void conn_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	(void)fd;
	switch (c->phase) {
	case PH_READ:
		conn_read(c);
		break;
	case PH_WRITE:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			(void)conn_write(c);
		break;
	case PH_DRAIN:
		conn_drain(c);
		break;
	case PH_WAIT:
		if (events & (EPOLLERR | EPOLLHUP))
			conn_orphan(c);	/* the answer will have nobody to go to */
		break;
	}
}

static void conn_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	(void)t;
	if (c->phase != PH_DRAIN)
		c->s->counters.timeouts++;
	conn_close(c);
}

static void conn_accept(struct httpsrv *s, int fd, const struct sockaddr_storage *ss)
{
	struct ipaddr peer;
	struct conn *c;

	ipaddr_from_sockaddr(ss, &peer);
	if (!ipaddr_list_allows(&s->allow, &peer)) {
		s->counters.refused_addr++;
		close(fd);	/* not a byte: a refused peer learns nothing */
		return;
	}
	if (s->nconns >= s->max_clients) {
		s->counters.refused_busy++;
		close(fd);
		return;
	}
	if (!(c = calloc(1, sizeof(*c))) || ev_fd_add(s->loop, fd, EPOLLIN, conn_event, c) < 0) {
		s->counters.errors++;
		free(c);
		close(fd);
		return;
	}
	s->counters.accepted++;
	c->s = s;
	c->fd = fd;
	c->ticket = ++s->last_ticket;
	sb_init(&c->out);
	ev_timer_init(&c->deadline, conn_deadline, c);
	(void)ev_timer_start(s->loop, &c->deadline, s->timeout_ms);
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
}

static void listener_event(struct evloop *loop, int fd, uint32_t events, void *arg);

static void accept_resume(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct httpsrv *s = arg;

	if (ev_fd_add(loop, s->fd, EPOLLIN, listener_event, s) < 0) {
		(void)ev_timer_start(loop, t, ACCEPT_PAUSE_MS);
		return;
	}
	s->paused = false;
}

static void listener_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct httpsrv *s = arg;

	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd >= 0) {
			conn_accept(s, cfd, &ss);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		s->counters.errors++;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			ev_fd_del(loop, s->fd);
			s->paused = true;
			(void)ev_timer_start(loop, &s->resume, ACCEPT_PAUSE_MS);
		}
		return;
	}
}

/* ---- the server ---- */

int httpsrv_update(struct httpsrv *s, const struct httpsrv_conf *conf)
{
	struct ipaddr *items = NULL;
	size_t n = conf->allow ? conf->allow->n : 0;

	if (n && !(items = calloc(n, sizeof(*items))))
		return -ENOMEM;
	if (n)
		memcpy(items, conf->allow->items, n * sizeof(*items));
	free(s->allow.items);
	s->allow.items = items;
	s->allow.n = n;
	s->max_clients = conf->max_clients;
	s->timeout_ms = conf->timeout_ms;
	s->max_answer = conf->max_answer;
	return 0;
}

int httpsrv_start(struct evloop *loop, int fd, const struct httpsrv_conf *conf, httpsrv_handler handler, void *arg,
		  struct httpsrv **out)
{
	struct httpsrv *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->loop = loop;
	s->fd = fd;
	s->handler = handler;
	s->arg = arg;
	ev_timer_init(&s->resume, accept_resume, s);
	if ((ret = httpsrv_update(s, conf)) < 0 || (ret = ev_fd_add(loop, fd, EPOLLIN, listener_event, s)) < 0) {
		free(s->allow.items);
		free(s);
		close(fd);
		return ret;
	}
	*out = s;
	return 0;
}

void httpsrv_stop(struct httpsrv *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	ev_timer_stop(s->loop, &s->resume);
	if (!s->paused)
		ev_fd_del(s->loop, s->fd);
	close(s->fd);
	free(s->allow.items);
	free(s);
}

int httpsrv_answer(struct httpsrv *s, uint64_t ticket, int status, const char *body, size_t len)
{
	struct conn *c;

	for (c = s->conns; c && c->ticket != ticket; c = c->next)
		;
	if (!c || c->phase != PH_WAIT)
		return -ENOENT;
	if (c->fd < 0) {
		conn_close(c);	/* its client left: the place is free again */
		return -ENOENT;
	}
	conn_respond(c, status, body, len);
	return 0;
}

const struct httpsrv_counters *httpsrv_counters(const struct httpsrv *s)
{
	return &s->counters;
}

unsigned httpsrv_clients(const struct httpsrv *s)
{
	return s->nconns;
}
