/* Unix control socket: one request line in, one reply out, then close.
 *
 * The server never blocks the loop: a connection reads its line as it
 * arrives (at most CTL_REQUEST_MAX bytes), the handler runs, the reply is
 * written as the socket accepts it, and a per-connection timer bounds the
 * whole exchange. The listening descriptor stays the caller's: the server
 * neither closes it nor removes the socket file. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlsock.h"
#include "json.h"

#define CTL_MAX_CONNS 16		/* more concurrent clients are closed at once */
#define CTL_LISTEN_BACKLOG 32
#define CTL_ACCEPT_PAUSE_MS 100		/* after running out of descriptors */
#define CTL_REPLY_MAX (16u << 20)	/* client side: refuse anything bigger */
#define CTL_CONNECT_RETRY_MS 10		/* client side: listen backlog full */

/* --- request lines ----------------------------------------------------- */

static bool ctl_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int ctl_request_parse(char *line, struct ctl_request *req)
{
	size_t len;
	char *p;

	memset(req, 0, sizeof(*req));
	if (!line)
		return -EINVAL;
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	for (p = line;;) {
		while (ctl_is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		if (req->argc == CTL_MAX_ARGS) {
			memset(req, 0, sizeof(*req));
			return -EINVAL;
		}
		req->argv[req->argc++] = p;
		while (*p != '\0' && !ctl_is_blank(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	return req->argc > 0 ? 0 : -EINVAL;
}

/* --- listening socket -------------------------------------------------- */

static int ctl_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n;

	if (!path)
		return -EINVAL;
	n = strlen(path);
	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* A socket file left by a daemon that died is removed; one that a live
 * daemon answers on, or anything that is not a socket, is left alone. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, len);
	err = r < 0 ? errno : 0;
	close(fd);
	if (r == 0 || err == EAGAIN || err == EINPROGRESS)
		return -EADDRINUSE;	/* someone listens (maybe busy) */
	if (err == ENOENT)
		return 0;		/* vanished meanwhile */
	if (err != ECONNREFUSED)
		return -err;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int ctlsock_listen(const char *path, uid_t owner, gid_t group, unsigned mode, int *fdp)
{
	struct sockaddr_un sun;
	socklen_t len;
	mode_t old_umask;
	int fd, r;

	r = ctl_sockaddr(path, &sun, &len);
	if (r < 0)
		return r;
	r = remove_stale_socket(path, &sun, len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Born with no permissions, so nobody can connect before the owner
	 * and mode below are in place. */
	old_umask = umask(0777);
	r = bind(fd, (const struct sockaddr *)&sun, len);
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((owner != (uid_t)-1 || group != (gid_t)-1) && lchown(path, owner, group) < 0)
		goto fail;
	if (chmod(path, (mode_t)(mode & 07777)) < 0)
		goto fail;
	if (listen(fd, CTL_LISTEN_BACKLOG) < 0)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	r = -errno;
	unlink(path);
	close(fd);
	return r;
}

/* --- server ------------------------------------------------------------ */

struct ctlconn {
	struct ctlserver *srv;
	unsigned slot;
	int fd;
	bool replying;
	uint64_t ticket;		/* deferred: the answer comes later; 0: not */
	size_t reqlen;
	char req[CTL_REQUEST_MAX + 1];
	struct strbuf reply;
	size_t sent;
	struct ev_timer timer;
};

struct ctlserver {
	struct evloop *loop;
	int listen_fd;
	unsigned timeout_ms;
	ctl_handler handler;
	void *arg;
	struct ev_timer accept_pause;
	struct ctlconn *conns[CTL_MAX_CONNS];
	unsigned nconns;
	struct ctlconn *handling;	/* the connection whose request the handler has */
	uint64_t next_ticket;
};

static void conn_close(struct ctlconn *c)
{
	struct ctlserver *srv = c->srv;

	ev_timer_stop(srv->loop, &c->timer);
	ev_fd_del(srv->loop, c->fd);
	close(c->fd);
	sb_free(&c->reply);
	srv->conns[c->slot] = NULL;
	srv->nconns--;
	free(c);
}

static void conn_write(struct ctlconn *c)
{
	while (c->sent < c->reply.len) {
		ssize_t n = send(c->fd, c->reply.buf + c->sent, c->reply.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;	/* EPOLLOUT brings us back */
			break;		/* client gone: nothing more to do */
		}
		c->sent += (size_t)n;
	}
	conn_close(c);
}

/* From now on the connection only writes, with a fresh time budget. */
static void conn_send_reply(struct ctlconn *c)
{
	struct ctlserver *srv = c->srv;

	c->replying = true;
	c->sent = 0;
	if (ev_fd_mod(srv->loop, c->fd, EPOLLOUT) < 0 ||
	    ev_timer_start(srv->loop, &c->timer, srv->timeout_ms) < 0) {
		conn_close(c);
		return;
	}
	conn_write(c);
}

static void conn_send_error(struct ctlconn *c, const char *message)
{
	struct json j;

	sb_reset(&c->reply);
	json_init(&j, &c->reply);
	json_object_begin(&j, NULL);
	json_string(&j, "error", message);
	json_object_end(&j);
	sb_append(&c->reply, "\n");
	if (c->reply.failed) {
		conn_close(c);
		return;
	}
	conn_send_reply(c);
}

/* The first len bytes of c->req are the request line. */
static void conn_handle_request(struct ctlconn *c, size_t len)
{
	struct ctlserver *srv = c->srv;
	struct ctl_request req;

	c->req[len] = '\0';
	if (memchr(c->req, '\0', len) != NULL || ctl_request_parse(c->req, &req) < 0) {
		conn_send_error(c, "malformed request");
		return;
	}
	srv->handling = c;
	srv->handler(&req, &c->reply, srv->arg);
	srv->handling = NULL;
	if (c->ticket)
		return;		/* ctlserver_answer() replies */
	if (c->reply.failed) {
		conn_send_error(c, "out of memory");
		return;
	}
	if (c->reply.len == 0) {
		conn_close(c);
		return;
	}
	conn_send_reply(c);
}

static void conn_read(struct ctlconn *c)
{
	for (;;) {
		size_t room = CTL_REQUEST_MAX - c->reqlen;
		const char *newline;
		ssize_t n;

		if (room == 0) {
			conn_send_error(c, "request too long");
			return;
		}
		n = read(c->fd, c->req + c->reqlen, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		if (n == 0) {
			/* EOF: a client that shut down its side without a
			 * newline still gets its answer. */
			if (c->reqlen == 0)
				conn_close(c);
			else
				conn_handle_request(c, c->reqlen);
			return;
		}
		newline = memchr(c->req + c->reqlen, '\n', (size_t)n);
		c->reqlen += (size_t)n;
		if (newline) {
			conn_handle_request(c, (size_t)(newline - c->req) + 1);
			return;
		}
	}
}

/* Waiting for a deferred answer, the connection is watched for nothing:
 * epoll still says when the client hangs up altogether (a client that
 * only shut down its sending side still waits for the answer). Bytes
 * after the request are read and dropped, bounded per wake-up. */
static void conn_wait(struct ctlconn *c)
{
	char junk[256];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;
	}
	conn_close(c);
}

static void conn_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ctlconn *c = arg;

	(void)loop;
	(void)fd;
	(void)events;	/* errors and hangups show up in read()/send() */
	if (c->replying)
		conn_write(c);
	else if (c->ticket)
		conn_wait(c);
	else
		conn_read(c);
}

static void conn_timeout(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct ctlconn *c = arg;

	(void)loop;
	(void)t;
	if (c->replying)
		conn_close(c);	/* the client does not read its reply */
	else if (c->ticket)
		conn_send_error(c, "no answer in time");
	else
		conn_send_error(c, "request timed out");
}

uint64_t ctlserver_defer(struct ctlserver *srv, unsigned timeout_ms)
{
	struct ctlconn *c = srv->handling;

	if (!c || c->ticket)
		return 0;
	c->ticket = ++srv->next_ticket;
	if (ev_fd_mod(srv->loop, c->fd, 0) < 0 ||
	    ev_timer_start(srv->loop, &c->timer, timeout_ms ? timeout_ms : srv->timeout_ms) < 0) {
		c->ticket = 0;
		return 0;
	}
	return c->ticket;
}

int ctlserver_answer(struct ctlserver *srv, uint64_t ticket, const char *reply, size_t len)
{
	for (unsigned i = 0; ticket && i < CTL_MAX_CONNS; i++) {
		struct ctlconn *c = srv->conns[i];

		if (!c || c->ticket != ticket || c->replying)
			continue;
		sb_reset(&c->reply);
		sb_appendn(&c->reply, reply, len);
		if (c == srv->handling) {
			/* Answered before the handler returned: sent as an
			 * immediate reply once it does. */
			c->ticket = 0;
			ev_timer_stop(srv->loop, &c->timer);
			return 0;
		}
		if (c->reply.failed) {
			conn_send_error(c, "out of memory");
			return 0;
		}
		conn_send_reply(c);
		return 0;
	}
	return -ENOENT;
}

static int conn_open(struct ctlserver *srv, int fd)
{
	struct ctlconn *c;
	unsigned slot;
	int r;

	if (srv->nconns >= CTL_MAX_CONNS)
		return -EBUSY;
	for (slot = 0; slot < CTL_MAX_CONNS && srv->conns[slot]; slot++)
		;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->slot = slot;
	c->fd = fd;
	sb_init(&c->reply);
	ev_timer_init(&c->timer, conn_timeout, c);
	r = ev_fd_add(srv->loop, fd, EPOLLIN, conn_event, c);
	if (r == 0) {
		r = ev_timer_start(srv->loop, &c->timer, srv->timeout_ms);
		if (r < 0)
			ev_fd_del(srv->loop, fd);
	}
	if (r < 0) {
		free(c);
		return r;
	}
	srv->conns[slot] = c;
	srv->nconns++;
	return 0;
}

static void accept_resume(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct ctlserver *srv = arg;

	(void)t;
	(void)ev_fd_mod(loop, srv->listen_fd, EPOLLIN);
}

/* Out of descriptors: the pending connection would wake us again at once,
 * so stop listening for a moment instead of spinning. */
static void accept_pause(struct ctlserver *srv)
{
	if (ev_fd_mod(srv->loop, srv->listen_fd, 0) == 0)
		(void)ev_timer_start(srv->loop, &srv->accept_pause, CTL_ACCEPT_PAUSE_MS);
}

static void accept_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ctlserver *srv = arg;

	(void)loop;
	(void)events;
	/* A bounded number per wake-up keeps the rest of the loop going. */
	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(srv);
			return;
		}
		if (conn_open(srv, cfd) < 0)
			close(cfd);	/* too many clients: refuse this one */
	}
}

int ctlserver_start(struct evloop *loop, int listen_fd, unsigned timeout_ms,
		    ctl_handler handler, void *arg, struct ctlserver **out)
{
	struct ctlserver *srv;
	int r;

	if (!loop || listen_fd < 0 || timeout_ms == 0 || !handler || !out)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->listen_fd = listen_fd;
	srv->timeout_ms = timeout_ms;
	srv->handler = handler;
	srv->arg = arg;
	ev_timer_init(&srv->accept_pause, accept_resume, srv);
	r = ev_fd_add(loop, listen_fd, EPOLLIN, accept_ready, srv);
	if (r < 0) {
		free(srv);
		return r;
	}
	*out = srv;
	return 0;
}

/* Not from inside a handler: the connection being served would vanish. */
void ctlserver_stop(struct ctlserver *srv)
{
	if (!srv)
		return;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		if (srv->conns[i])
			conn_close(srv->conns[i]);
	ev_timer_stop(srv->loop, &srv->accept_pause);
	ev_fd_del(srv->loop, srv->listen_fd);
	free(srv);
}

/* --- client ------------------------------------------------------------ */

/* Wait until fd is ready for events or the deadline (ms, monotonic) passes. */
static int wait_ready(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int client_connect(int fd, const struct sockaddr_un *sun, socklen_t len, uint64_t deadline)
{
	for (;;) {
		int soerr = 0;
		socklen_t soerr_len = sizeof(soerr);
		uint64_t now;
		int r;

		if (connect(fd, (const struct sockaddr *)sun, len) == 0)
			return 0;
		if (errno == EINPROGRESS) {
			r = wait_ready(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) < 0)
				return -errno;
			return -soerr;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		/* AF_UNIX says EAGAIN while the backlog is full and offers
		 * nothing to poll for: retry a little later. */
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		(void)poll(NULL, 0, deadline - now < CTL_CONNECT_RETRY_MS ?
			   (int)(deadline - now) : CTL_CONNECT_RETRY_MS);
	}
}

static int client_send(int fd, const char *buf, size_t len, uint64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		n = wait_ready(fd, POLLOUT, deadline);
		if (n < 0)
			return (int)n;
	}
	return 0;
}

static int client_receive(int fd, struct strbuf *reply, uint64_t deadline)
{
	size_t received = 0;
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		int r;

		if (n > 0) {
			received += (size_t)n;
			if (received > CTL_REPLY_MAX)
				return -EMSGSIZE;
			sb_appendn(reply, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		/* The server closes right after its reply; if it left part of
		 * our request unread (it refused it), that reads as a reset
		 * once the reply has been consumed. */
		if (errno == ECONNRESET && received > 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_ready(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
}

int ctl_call(const char *path, const char *request, unsigned timeout_ms, struct strbuf *reply)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct sockaddr_un sun;
	struct strbuf line;
	size_t before;
	socklen_t len;
	int fd, r, sent;

	if (!request || !reply || timeout_ms == 0 || strchr(request, '\n'))
		return -EINVAL;
	r = ctl_sockaddr(path, &sun, &len);
	if (r < 0)
		return r;
	sb_init(&line);
	sb_printf(&line, "%s\n", request);
	if (line.failed) {
		sb_free(&line);
		return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		sb_free(&line);
		return r;
	}
	before = reply->len;
	r = client_connect(fd, &sun, len, deadline);
	if (r == 0) {
		sent = client_send(fd, line.buf, line.len, deadline);
		/* A server that refused the request early may have closed
		 * while we were still writing: its reply is still readable. */
		r = client_receive(fd, reply, deadline);
		if (r == 0 && sent < 0 && reply->len == before)
			r = sent;
		if (r == 0 && reply->failed)
			r = -ENOMEM;
	}
	close(fd);
	sb_free(&line);
	return r;
}

void ctl_reply_ok(struct strbuf *out, const char *key, const char *value)
{
	struct json j;

	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_bool(&j, "ok", true);
	if (key)
		json_string(&j, key, value);
	json_object_end(&j);
	sb_append(out, "\n");
}

int ctl_reply_error_text(const char *reply, struct strbuf *msg)
{
	static const char prefix[] = "{\"error\":";
	size_t len;
	long n;

	if (!reply || strncmp(reply, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	reply += sizeof(prefix) - 1;
	len = strlen(reply);
	sb_reset(msg);
	n = json_string_decode(reply, len, msg);
	if (n < 0 || (strcmp(reply + n, "}\n") != 0 && strcmp(reply + n, "}") != 0)) {
		sb_reset(msg);
		return 0;
	}
	return 1;
}

void ctl_reply_error(struct strbuf *out, const char *msg)
{
	struct json j;

	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_string(&j, "error", msg);
	json_object_end(&j);
	sb_append(out, "\n");
}

int ctlsock_serve(struct evloop *loop, const char *path, const char *group, unsigned mode, unsigned timeout_ms,
		  ctl_handler handler, void *arg, int *fd, struct ctlserver **out, char *err, size_t errlen)
{
	gid_t gid = (gid_t)-1;
	int ret;

	*fd = -1;
	*out = NULL;
	if (group) {
		struct group *gr = getgrnam(group);

		if (!gr) {
			snprintf(err, errlen, "control_group %s: no such group", group);
			return -ENOENT;
		}
		gid = gr->gr_gid;
	}
	if ((ret = make_parent_dir(path, 0755)) < 0) {
		snprintf(err, errlen, "directory of %s: %s", path, strerror(-ret));
		return ret;
	}
	if ((ret = ctlsock_listen(path, geteuid(), gid, mode, fd)) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-ret));
		return ret;
	}
	if ((ret = ctlserver_start(loop, *fd, timeout_ms, handler, arg, out)) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-ret));
		close(*fd);
		*fd = -1;
	}
	return ret;
}
