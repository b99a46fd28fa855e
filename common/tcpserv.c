/* The TCP server of the daemons' small ports (tcpserv.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcpserv.h"
#include "util.h"

#define DRAIN_READS 4
#define ACCEPT_PAUSE_MS 1000	/* out of descriptors: no spinning on the listener */

/* ---- who may ask ---- */

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

struct tcpsrv {
	struct evloop *loop;
	int fd;
	bool paused;
	struct ev_timer resume;
	struct ipaddr_list allow;
	unsigned max_conns;
	uint64_t timeout_ms;
	const struct tcpsrv_proto *proto;
	void *arg;
	struct tcpsrv_conn *conns;
	unsigned nconns;
};

static void note(struct tcpsrv *s, enum tcpsrv_event ev, const struct ipaddr *peer)
{
	s->proto->note(ev, peer, s->arg);
}

void tcpsrv_close(struct tcpsrv_conn *c)
{
	struct tcpsrv *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	ev_timer_stop(s->loop, &c->deadline);
	tcpsrv_orphan(c);
	if (s->proto->on_close)
		s->proto->on_close(c, s->arg);
	free(c);
}

void tcpsrv_orphan(struct tcpsrv_conn *c)
{
	if (c->fd < 0)
		return;
	ev_fd_del(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

/* Everything sent: FIN, then read until the client closes. */
static void conn_sent(struct tcpsrv_conn *c)
{
	struct tcpsrv *s = c->srv;

	c->state = TCPSRV_DRAINING;
	c->out = NULL;
	if (s->proto->on_sent)
		s->proto->on_sent(c, s->arg);
	(void)shutdown(c->fd, SHUT_WR);
	(void)ev_fd_mod(s->loop, c->fd, EPOLLIN);
}

/* Write what the kernel takes now; the rest on EPOLLOUT. False: closed. */
static bool conn_write(struct tcpsrv_conn *c)
{
	while (c->sent < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)ev_fd_mod(c->srv->loop, c->fd, EPOLLOUT);
			return true;
		}
		if (n < 0) {
			note(c->srv, TCPSRV_ERROR, NULL);
			tcpsrv_close(c);
			return false;
		}
		c->sent += (size_t)n;
	}
	conn_sent(c);
	return true;
}

bool tcpsrv_send(struct tcpsrv_conn *c, const char *out, size_t len)
{
	c->state = TCPSRV_SENDING;
	c->out = out;
	c->outlen = len;
	c->sent = 0;
	return conn_write(c);
}

static void conn_drain(struct tcpsrv_conn *c)
{
	char scratch[512];

	for (int i = 0; i < DRAIN_READS; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		tcpsrv_close(c);	/* EOF or reset: done */
		return;
	}
}

static void conn_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct tcpsrv_conn *c = arg;

	(void)loop;
	(void)fd;
	switch (c->state) {
	case TCPSRV_OPEN:
		if (c->srv->proto->on_event)
			c->srv->proto->on_event(c, events, c->srv->arg);
		break;
	case TCPSRV_SENDING:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			(void)conn_write(c);
		break;
	case TCPSRV_DRAINING:
		conn_drain(c);
		break;
	}
}

static void conn_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct tcpsrv_conn *c = arg;

	(void)loop;
	(void)t;
	if (c->state != TCPSRV_DRAINING)
		note(c->srv, TCPSRV_TIMEOUT, NULL);
	tcpsrv_close(c);
}

static void conn_accept(struct tcpsrv *s, int fd, const struct sockaddr_storage *ss)
{
	struct tcpsrv_conn *c;
	struct ipaddr peer;

	ipaddr_from_sockaddr(ss, &peer);
	if (!ipaddr_list_allows(&s->allow, &peer)) {
		note(s, TCPSRV_REFUSED_ADDR, &peer);
		close(fd);	/* not a byte: a refused peer learns nothing */
		return;
	}
	if (s->nconns >= s->max_conns) {
		note(s, TCPSRV_REFUSED_BUSY, &peer);
		close(fd);
		return;
	}
	if (!(c = calloc(1, s->proto->conn_size)) || ev_fd_add(s->loop, fd, EPOLLIN, conn_event, c) < 0) {
		note(s, TCPSRV_ERROR, NULL);
		free(c);
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	ev_timer_init(&c->deadline, conn_deadline, c);
	(void)ev_timer_start(s->loop, &c->deadline, s->timeout_ms);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	note(s, TCPSRV_ACCEPTED, &peer);
	if (s->proto->on_open(c, s->arg) < 0) {
		note(s, TCPSRV_ERROR, NULL);
		tcpsrv_close(c);
	}
}

/* ---- the listening socket ---- */

static void listener_event(struct evloop *loop, int fd, uint32_t events, void *arg);

static void accept_resume(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct tcpsrv *s = arg;

	if (ev_fd_add(loop, s->fd, EPOLLIN, listener_event, s) < 0) {
		note(s, TCPSRV_ERROR, NULL);
		(void)ev_timer_start(loop, t, ACCEPT_PAUSE_MS);
		return;
	}
	s->paused = false;
}

static void listener_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct tcpsrv *s = arg;

	(void)events;
	for (unsigned i = 0; i < s->proto->accept_burst; i++) {
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
		note(s, TCPSRV_ERROR, NULL);
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			ev_fd_del(loop, s->fd);
			s->paused = true;
			(void)ev_timer_start(loop, &s->resume, ACCEPT_PAUSE_MS);
		}
		return;
	}
}

/* ---- the server ---- */

int tcpsrv_update(struct tcpsrv *s, const struct tcpsrv_conf *conf)
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
	s->max_conns = conf->max_conns;
	s->timeout_ms = conf->timeout_ms;
	return 0;
}

int tcpsrv_start(struct evloop *loop, int fd, const struct tcpsrv_conf *conf, const struct tcpsrv_proto *proto,
		 void *arg, struct tcpsrv **out)
{
	struct tcpsrv *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->loop = loop;
	s->fd = fd;
	s->proto = proto;
	s->arg = arg;
	ev_timer_init(&s->resume, accept_resume, s);
	if ((ret = tcpsrv_update(s, conf)) < 0 || (ret = ev_fd_add(loop, fd, EPOLLIN, listener_event, s)) < 0) {
		free(s->allow.items);
		free(s);
		close(fd);
		return ret;
	}
	*out = s;
	return 0;
}

void tcpsrv_stop(struct tcpsrv *s)
{
	if (!s)
		return;
	while (s->conns)
		tcpsrv_close(s->conns);
	ev_timer_stop(s->loop, &s->resume);
	if (!s->paused)
		ev_fd_del(s->loop, s->fd);
	close(s->fd);
	free(s->allow.items);
	free(s);
}

struct tcpsrv_conn *tcpsrv_conns(const struct tcpsrv *s)
{
	return s->conns;
}

unsigned tcpsrv_nconns(const struct tcpsrv *s)
{
	return s->nconns;
}
