/* The agent-check port: every connection gets one line ("up ready 75%",
 * "down #vip missing", ...) in HAProxy's agent-check protocol.
 *
 * Only addresses on the allow list get an answer. The reply is sent as soon
 * as the connection is accepted; the connection is then kept only to read
 * whatever the client sends until it closes, because closing a socket with
 * unread data makes the kernel send an RST, and an RST can destroy the reply
 * before the director has read it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpserv.h"
#include "log.h"
#include "rs-agent.h"

/* Accepts per wakeup: a connection storm cannot starve the rest of the loop. */
#define AGENT_ACCEPT_BURST 64
/* Reads of client data per wakeup while draining. */
#define AGENT_DRAIN_READS 4
/* Out of descriptors: stop accepting for a while instead of spinning on a
 * listening socket that stays readable. */
#define AGENT_ACCEPT_PAUSE_MS 1000
#define AGENT_LISTEN_BACKLOG 128

struct agent_conn {
	struct agent_server *srv;
	struct agent_conn *prev, *next;
	int fd;
	bool replied;			/* the whole line is with the kernel */
	char line[AGENT_LINE_MAX + 2];
	size_t len, sent;
	struct ev_timer deadline;
};

struct agent_server {
	struct evloop *loop;
	int fd;
	uint16_t port;
	bool paused;
	struct ev_timer resume;
	struct ipaddr_list allow;
	unsigned max_connections;
	uint64_t timeout_ms;
	agent_reply_cb cb;
	void *arg;
	struct agent_counters counters;
	struct agent_conn *conns;
	unsigned nconns;
};

/* ---- the reply (pure) ---- */

static void agent_reply_clear(struct agent_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->state = AGENT_STATE_NONE;
	r->admin = AGENT_ADMIN_NONE;
	r->weight_pct = -1;
	r->maxconn = -1;
}

/* The operator's word comes first (maint, drain), but a broken real server
 * is reported down even when draining: a drained server still carries its
 * existing connections, and the directors must know those are failing. */
void report_compose(const struct report_input *in, struct agent_reply *out)
{
	agent_reply_clear(out);
	if (in->admin == ADMIN_MAINT) {
		out->admin = AGENT_ADMIN_MAINT;
	} else if (!in->dr_ok) {
		out->state = AGENT_STATE_DOWN;
		strlcpy_safe(out->reason, in->dr_problem ? in->dr_problem : "", sizeof(out->reason));
	} else if (!in->checks_ok) {
		out->state = AGENT_STATE_DOWN;
		strlcpy_safe(out->reason, in->check_problem ? in->check_problem : "",
			     sizeof(out->reason));
	} else if (in->admin == ADMIN_DRAIN) {
		out->admin = AGENT_ADMIN_DRAIN;
	} else {
		/* "ready" too, so HAProxy leaves drain once the agent is told ready. */
		out->state = AGENT_STATE_UP;
		out->admin = AGENT_ADMIN_READY;
		if (in->weight_pct >= 0)
			out->weight_pct = in->weight_pct;
	}
}

/* ---- who may ask ---- */

/* An empty list allows nobody: the port answers only whom it was told to. */
bool agent_addr_allowed(const struct ipaddr_list *allow, const struct ipaddr *peer)
{
	return ipaddr_list_allows(allow, peer);
}

static int allow_list_copy(struct ipaddr_list *dst, const struct ipaddr_list *src)
{
	struct ipaddr *items = NULL;

	if (src->n > 0) {
		items = calloc(src->n, sizeof(*items));
		if (!items)
			return -ENOMEM;
		memcpy(items, src->items, src->n * sizeof(*items));
	}
	free(dst->items);
	dst->items = items;
	dst->n = src->n;
	return 0;
}

/* ---- one connection ---- */

static void conn_close(struct agent_conn *c)
{
	struct agent_server *s = c->srv;

	ev_timer_stop(s->loop, &c->deadline);
	ev_fd_del(s->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

/* Returns false when the connection was closed. */
static bool conn_send(struct agent_conn *c)
{
	struct agent_server *s = c->srv;

	while (c->sent < c->len) {
		ssize_t n = send(c->fd, c->line + c->sent, c->len - c->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* Rare with a line this short; finish on EPOLLOUT. */
				ev_fd_mod(s->loop, c->fd, EPOLLIN | EPOLLOUT);
				return true;
			}
			s->counters.errors++;
			conn_close(c);
			return false;
		}
		c->sent += (size_t)n;
	}
	c->replied = true;
	s->counters.served++;
	/* FIN after the line: the client knows the reply is complete. */
	shutdown(c->fd, SHUT_WR);
	ev_fd_mod(s->loop, c->fd, EPOLLIN);
	return true;
}

/* Read and discard what the client sends; close on its EOF. */
static void conn_drain(struct agent_conn *c)
{
	char scratch[512];

	for (int i = 0; i < AGENT_DRAIN_READS; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EOF, or a reset: nothing more to wait for. */
		conn_close(c);
		return;
	}
}

static void conn_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct agent_conn *c = arg;

	(void)loop;
	(void)fd;
	if ((events & EPOLLOUT) && !c->replied && !conn_send(c))
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_drain(c);
}

static void conn_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct agent_conn *c = arg;

	(void)loop;
	(void)t;
	if (!c->replied)
		c->srv->counters.errors++;
	conn_close(c);
}

/* Closed before a byte is sent: a refused peer learns nothing. Logging it
 * is the daemon's business (from the counters), so only debug here. */
static void conn_reject(int fd, uint64_t *counter, const char *why, const struct ipaddr *peer)
{
	char addr[INET6_ADDRSTRLEN];

	(*counter)++;
	log_debug("agent: %s %s", why, ipaddr_ntop(peer, addr, sizeof(addr)));
	close(fd);
}

static void conn_accept(struct agent_server *s, int fd, const struct sockaddr_storage *ss)
{
	struct agent_reply reply;
	struct agent_conn *c;
	struct ipaddr peer;
	int len;

	ipaddr_from_sockaddr(ss, &peer);
	if (!agent_addr_allowed(&s->allow, &peer)) {
		conn_reject(fd, &s->counters.rejected_addr, "refused, not allowed:", &peer);
		return;
	}
	if (s->nconns >= s->max_connections) {
		conn_reject(fd, &s->counters.rejected_busy, "refused, too many connections:", &peer);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		s->counters.errors++;
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	agent_reply_clear(&reply);
	s->cb(&reply, s->arg);
	len = agent_reply_format(&reply, c->line, sizeof(c->line));
	if (len < 0 || ev_fd_add(s->loop, fd, EPOLLIN, conn_event, c) < 0) {
		s->counters.errors++;
		close(fd);
		free(c);
		return;
	}
	c->len = (size_t)len;
	s->counters.answers[agent_reply_answer(&reply)]++;
	ev_timer_init(&c->deadline, conn_deadline, c);
	ev_timer_start(s->loop, &c->deadline, s->timeout_ms);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	conn_send(c);
}

/* ---- the listening socket ---- */

static void listener_event(struct evloop *loop, int fd, uint32_t events, void *arg);

static void accept_resume(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct agent_server *s = arg;

	if (ev_fd_add(loop, s->fd, EPOLLIN, listener_event, s) < 0) {
		s->counters.errors++;
		ev_timer_start(loop, t, AGENT_ACCEPT_PAUSE_MS);
		return;
	}
	s->paused = false;
}

static void accept_pause(struct agent_server *s)
{
	if (s->paused)
		return;
	ev_fd_del(s->loop, s->fd);
	s->paused = true;
	ev_timer_start(s->loop, &s->resume, AGENT_ACCEPT_PAUSE_MS);
}

static void listener_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct agent_server *s = arg;

	(void)loop;
	(void)events;
	for (int i = 0; i < AGENT_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			s->counters.errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(s);
			return;
		}
		conn_accept(s, cfd, &ss);
	}
}

static int listen_socket_open(const struct ipendpoint *ep, uint16_t *bound_port)
{
	int fd = tcp_listen_open(ep, AGENT_LISTEN_BACKLOG), port;

	if (fd < 0)
		return fd;
	if ((port = tcp_bound_port(fd)) < 0) {
		close(fd);
		return port;
	}
	*bound_port = (uint16_t)port;
	return fd;
}

int agent_server_start(struct evloop *loop, const struct rs_config *cfg, agent_reply_cb cb,
		       void *arg, struct agent_server **out)
{
	struct agent_server *s;
	int ret;

	*out = NULL;
	if (!cb)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cb = cb;
	s->arg = arg;
	s->max_connections = cfg->max_connections;
	s->timeout_ms = cfg->agent_timeout_ms;
	ev_timer_init(&s->resume, accept_resume, s);
	ret = allow_list_copy(&s->allow, &cfg->allow);
	if (ret < 0)
		goto fail;
	ret = listen_socket_open(&cfg->listen, &s->port);
	if (ret < 0)
		goto fail;
	s->fd = ret;
	ret = ev_fd_add(loop, s->fd, EPOLLIN, listener_event, s);
	if (ret < 0) {
		close(s->fd);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	free(s->allow.items);
	free(s);
	return ret;
}

void agent_server_stop(struct agent_server *s)
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

/* Connections already open keep their deadline; new ones get the new rules. */
void agent_server_update(struct agent_server *s, const struct rs_config *cfg)
{
	if (allow_list_copy(&s->allow, &cfg->allow) < 0)
		s->counters.errors++;	/* keep the old list rather than none */
	s->max_connections = cfg->max_connections;
	s->timeout_ms = cfg->agent_timeout_ms;
}

const struct agent_counters *agent_server_counters(const struct agent_server *s)
{
	return &s->counters;
}

int agent_server_port(const struct agent_server *s)
{
	return s->port;
}
