/* One health probe: tcp, http, https, script or agent, attempted every
 * interval on the caller's loop (see probe.h).
 *
 * directord's LVS engine runs thousands of these on one loop next to the IPVS
 * reconciler, so an attempt never blocks: sockets are non-blocking and
 * watched by the loop, scripts are children reaped by the loop with the
 * timeout as their limit. The only allocations per attempt are an http
 * check's response buffer, held from connect to verdict, and an https
 * check's TLS connection, whose handshake, request and response are
 * non-blocking steps on the same socket (tls.h); the attempt's deadline
 * bounds the handshake as it bounds everything else. Like the rest of
 * the library this file does not log: every attempt ends in exactly one
 * call of the probe's callback, whose reason says what happened.
 *
 * The callback may stop its own probe (the engine does on reload): the
 * attempt's resources are released before the callback runs, and the
 * probe is freed only after it returns. Everything that can end an
 * attempt is therefore a tail call; nothing touches the probe after it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "http.h"
#include "probe.h"
#include "proc.h"
#include "tls.h"

#define DEFAULT_STATUS_LO 200
#define DEFAULT_STATUS_HI 399
/* Room for an agent's line, its CR LF, and one byte to tell "too long". */
#define AGENT_BUF (AGENT_LINE_MAX + 3)
/* Of a wanted body substring, this much goes into a failure reason. */
#define REASON_BODY_MAX 60

enum phase {
	PHASE_IDLE,
	PHASE_CONNECT,
	PHASE_HANDSHAKE,	/* https */
	PHASE_SEND,		/* http, https */
	PHASE_RECV,		/* http, https, agent */
	PHASE_SCRIPT,
};

struct hc_probe {
	struct evloop *loop;
	struct hc_spec spec;		/* copied; its strings are the caller's */
	hc_done_cb cb;
	void *arg;
	uint64_t timeout_ms;		/* effective: spec's, else the interval */
	char *target;			/* for status: "http [2001:db8::1]:80/health" */
	struct sockaddr_storage sa;
	socklen_t salen;
	struct ev_timer every;		/* starts attempts */
	struct ev_timer deadline;	/* ends a socket attempt */
	struct tls_client *tls;		/* https: the shared context */

	/* the attempt in flight */
	enum phase phase;
	uint64_t started_ms;
	int fd;
	uint32_t events;		/* what the loop watches fd for */
	struct tls_conn *conn;		/* https */
	pid_t pid;
	bool in_cb;			/* the callback is running: stop defers the free */
	bool stopped;

	/* http: the request is built once, the response buffer per attempt */
	struct strbuf request;
	size_t request_sent;
	char *resp;
	size_t resp_len;
	size_t body_searched;		/* body bytes before this offset hold no match */

	/* agent */
	char line[AGENT_BUF];
	size_t line_len;
};

/* ---- ending an attempt ---- */

/* A check's connection ends with a reset rather than the FIN handshake,
 * as HAProxy's do: no socket in TIME_WAIT on the director for each check
 * (2,000 checks a second would keep 120,000 of them) and fewer packets.
 * The server sees a reset after its answer. */
static void close_reset(int fd)
{
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	close(fd);
}

/* Let go of what the attempt holds, without reporting anything. */
static void attempt_release(struct hc_probe *p)
{
	ev_timer_stop(p->loop, &p->deadline);
	tls_conn_free(p->conn);
	p->conn = NULL;
	if (p->fd >= 0) {
		ev_fd_del(p->loop, p->fd);
		close_reset(p->fd);
		p->fd = -1;
	}
	if (p->pid > 0) {
		/* The loop kills and reaps it; nobody hears of it again. */
		ev_child_cancel(p->loop, p->pid);
		p->pid = 0;
	}
	free(p->resp);
	p->resp = NULL;
	p->resp_len = 0;
	p->body_searched = 0;
	p->request_sent = 0;
	p->line_len = 0;
	p->phase = PHASE_IDLE;
}

static void probe_free(struct hc_probe *p)
{
	sb_free(&p->request);
	tls_client_put(p->tls);
	free(p->target);
	free(p);
}

static void outcome_init(struct hc_outcome *o, enum hc_result res)
{
	memset(o, 0, sizeof(*o));
	o->result = res;
	o->weight = -1;
	o->agent.weight_pct = -1;
	o->agent.maxconn = -1;
}

/* Report o and end the attempt. p may be gone when this returns. */
static void attempt_report(struct hc_probe *p, struct hc_outcome *o)
{
	o->duration_ms = now_ms() - p->started_ms;
	attempt_release(p);
	p->in_cb = true;
	p->cb(p, o, p->arg);
	p->in_cb = false;
	if (p->stopped)
		probe_free(p);
}

static void attempt_end(struct hc_probe *p, enum hc_result res, int weight, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void attempt_end(struct hc_probe *p, enum hc_result res, int weight, const char *fmt, ...)
{
	struct hc_outcome o;
	va_list ap;

	outcome_init(&o, res);
	o.weight = weight;
	va_start(ap, fmt);
	vsnprintf(o.reason, sizeof(o.reason), fmt, ap);
	va_end(ap);
	attempt_report(p, &o);
}

#define attempt_fail(p, ...) attempt_end((p), HC_FAIL, -1, __VA_ARGS__)
#define attempt_pass(p, ...) attempt_end((p), HC_PASS, -1, __VA_ARGS__)

static void attempt_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct hc_probe *p = arg;

	(void)loop;
	(void)t;
	attempt_fail(p, "%stimeout after %llu ms", p->phase == PHASE_HANDSHAKE ? "TLS handshake: " : "",
		     (unsigned long long)p->timeout_ms);
}

/* Watch fd for events (EPOLLIN or EPOLLOUT) from now on; false when the
 * attempt ended. */
static bool watch(struct hc_probe *p, uint32_t events)
{
	int ret;

	if (p->events == events)
		return true;
	ret = ev_fd_mod(p->loop, p->fd, events);
	if (ret < 0) {
		attempt_fail(p, "event loop: %s", strerror(-ret));
		return false;
	}
	p->events = events;
	return true;
}

/* A TLS step that has to wait: for the direction it named. */
static void tls_wait(struct hc_probe *p, enum tls_step step)
{
	watch(p, step == TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN);
}

/* ---- http ---- */

static bool http_want_body(const struct hc_probe *p)
{
	return p->spec.body && p->spec.body[0];
}

/* Has the body received so far the wanted substring? Searches only what
 * earlier calls have not, so a long body read in pieces costs O(n). */
static bool http_body_found(struct hc_probe *p, const char *body)
{
	size_t start = (size_t)(body - p->resp), nlen = strlen(p->spec.body);
	size_t from = p->body_searched > start ? p->body_searched : start;

	if (p->resp_len - start < nlen)
		return false;
	if (memmem(p->resp + from, p->resp_len - from, p->spec.body, nlen))
		return true;
	/* A match may still begin in the last nlen - 1 bytes. */
	p->body_searched = p->resp_len - nlen + 1;
	return false;
}

/* Judge the response read so far; complete: nothing more will come.
 * Returns true when the attempt ended (p may then be gone). */
static bool http_evaluate(struct hc_probe *p, bool complete)
{
	const struct hc_spec *s = &p->spec;
	const char *body;
	unsigned status;
	int ret;

	ret = http_response_parse(p->resp, p->resp_len, &status, &body);
	if (ret == -EAGAIN) {
		if (!complete)
			return false;
		if (p->resp_len == 0)
			attempt_fail(p, "closed without a response");
		else
			attempt_fail(p, "not HTTP (truncated status line)");
		return true;
	}
	if (ret < 0) {
		attempt_fail(p, "not HTTP");
		return true;
	}
	if (status < s->status_lo || status > s->status_hi) {
		if (s->status_lo == s->status_hi)
			attempt_fail(p, "HTTP %u (expected %u)", status, s->status_lo);
		else
			attempt_fail(p, "HTTP %u (expected %u-%u)", status, s->status_lo, s->status_hi);
		return true;
	}
	if (!http_want_body(p) || (body && http_body_found(p, body))) {
		attempt_pass(p, "HTTP %u", status);
		return true;
	}
	if (!complete)
		return false;
	attempt_fail(p, "body lacks '%.*s'", REASON_BODY_MAX, s->body);
	return true;
}

enum resp_read { READ_DATA, READ_END, READ_WAIT, READ_ERROR };

/* One read of the response into its buffer, from the socket or through
 * TLS; READ_ERROR with why. */
static enum resp_read resp_read(struct hc_probe *p, size_t room, size_t *n, char *why, size_t size)
{
	ssize_t got;

	if (p->conn) {
		enum tls_step step = tls_conn_read(p->conn, p->resp + p->resp_len, room, n, why, size);

		if (step == TLS_WANT_READ || step == TLS_WANT_WRITE) {
			tls_wait(p, step);
			return READ_WAIT;
		}
		return step == TLS_DONE ? READ_DATA : step == TLS_CLOSED ? READ_END : READ_ERROR;
	}
	do
		got = recv(p->fd, p->resp + p->resp_len, room, MSG_DONTWAIT);
	while (got < 0 && errno == EINTR);
	*n = got > 0 ? (size_t)got : 0;
	if (got > 0)
		return READ_DATA;
	if (got == 0)
		return READ_END;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return READ_WAIT;
	snprintf(why, size, "recv: %s", strerror(errno));
	return READ_ERROR;
}

/* The same parser and verdicts for http and https: the bytes are the
 * same once TLS has decrypted them. */
static void http_recv(struct hc_probe *p)
{
	char why[HC_REASON_MAX];

	for (;;) {
		size_t room = HTTP_RESPONSE_MAX - p->resp_len, n;

		if (room == 0) {
			/* The cap: judge what it allows. */
			http_evaluate(p, true);
			return;
		}
		switch (resp_read(p, room, &n, why, sizeof(why))) {
		case READ_DATA:
			p->resp_len += n;
			if (http_evaluate(p, false))
				return;
			continue;
		case READ_END:
			http_evaluate(p, true);
			return;
		case READ_WAIT:
			return;
		case READ_ERROR:
			/* A reset after an answer still leaves the answer to judge. */
			if (p->resp_len > 0)
				http_evaluate(p, true);
			else
				attempt_fail(p, "%s", why);
			return;
		}
	}
}

/* One write of the rest of the request: bytes written, 0 when it has to
 * wait (the loop watches for it), -1 when the attempt ended. */
static ssize_t request_write(struct hc_probe *p, const char *buf, size_t len)
{
	char why[HC_REASON_MAX];
	enum tls_step step;
	ssize_t n;
	size_t done;

	if (p->conn) {
		step = tls_conn_write(p->conn, buf, len, &done, why, sizeof(why));
		if (step == TLS_DONE)
			return (ssize_t)done;
		if (step == TLS_WANT_READ || step == TLS_WANT_WRITE) {
			tls_wait(p, step);
			return 0;
		}
		attempt_fail(p, "%s", why);
		return -1;
	}
	do
		n = send(p->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;	/* the rest on the next EPOLLOUT */
	attempt_fail(p, "send: %s", strerror(errno));
	return -1;
}

static void http_send(struct hc_probe *p)
{
	const char *req = sb_str(&p->request);
	size_t len = p->request.len;

	while (p->request_sent < len) {
		ssize_t n = request_write(p, req + p->request_sent, len - p->request_sent);

		if (n <= 0)
			return;
		p->request_sent += (size_t)n;
	}
	p->phase = PHASE_RECV;
	if (!watch(p, EPOLLIN))
		return;
	/* TLS may hold the answer already read from the socket. */
	if (p->conn)
		http_recv(p);
}

/* ---- https ---- */

static void tls_handshake(struct hc_probe *p)
{
	char why[HC_REASON_MAX];
	enum tls_step step = tls_conn_handshake(p->conn, why, sizeof(why));

	switch (step) {
	case TLS_DONE:
		p->phase = PHASE_SEND;
		http_send(p);
		return;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		tls_wait(p, step);
		return;
	default:
		attempt_fail(p, "%s", why);
		return;
	}
}

static void tls_start(struct hc_probe *p)
{
	int ret = tls_conn_new(p->tls, p->fd, p->spec.host, &p->spec.addr, &p->conn);

	if (ret < 0) {
		attempt_fail(p, "TLS: %s", ret == -ENAMETOOLONG ? "the Host name is too long" : strerror(-ret));
		return;
	}
	p->phase = PHASE_HANDSHAKE;
	tls_handshake(p);
}

/* ---- agent ---- */

/* Parse the line (len bytes, its LF excluded) and end the attempt. */
static void agent_judge(struct hc_probe *p, size_t len)
{
	struct hc_outcome o;

	outcome_init(&o, HC_PASS);
	if (agent_reply_parse(p->line, len, &o.agent) < 0) {
		attempt_fail(p, "not an agent reply");
		return;
	}
	/* Reachable and understood: what the words mean is the policy's. */
	o.have_agent = true;
	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	agent_text_copy(p->line, len, o.reason, sizeof(o.reason));
	attempt_report(p, &o);
}

static void agent_recv(struct hc_probe *p)
{
	for (;;) {
		size_t room = sizeof(p->line) - p->line_len;
		const char *lf;
		ssize_t n;

		n = recv(p->fd, p->line + p->line_len, room, MSG_DONTWAIT);
		if (n > 0) {
			lf = memchr(p->line + p->line_len, '\n', (size_t)n);
			p->line_len += (size_t)n;
			if (lf) {
				agent_judge(p, (size_t)(lf - p->line));
				return;
			}
			if (p->line_len == sizeof(p->line)) {
				attempt_fail(p, "agent line too long");
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EOF, or a reset: a line without LF is still a line. */
		if (p->line_len > 0) {
			agent_judge(p, p->line_len);
			return;
		}
		if (n == 0)
			attempt_fail(p, "closed without a reply");
		else
			attempt_fail(p, "recv: %s", strerror(errno));
		return;
	}
}

/* ---- sockets: tcp, http, agent ---- */

/* "connect 198.18.0.11:80: Connection refused": the address, for an
 * agent's reply or a log line that shows only the reason. */
static void connect_failed(struct hc_probe *p, int err)
{
	char addr[INET6_ADDRSTRLEN];

	ipaddr_ntop(&p->spec.addr, addr, sizeof(addr));
	attempt_fail(p, p->spec.addr.family == AF_INET6 ? "connect [%s]:%u: %s" : "connect %s:%u: %s", addr,
		     p->spec.port, strerror(err));
}

static void socket_connected(struct hc_probe *p, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	/* Writable without an error or hang-up: connected. Only a failure
	 * needs the system call that says why. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (!err)
			err = ECONNRESET;	/* hung up before we looked */
	}
	if (err) {
		connect_failed(p, err);
		return;
	}
	switch (p->spec.type) {
	case HC_TCP:
		/* A plain close: a FIN, not a reset, for the server's log. */
		attempt_pass(p, "connected in %llu ms", (unsigned long long)(now_ms() - p->started_ms));
		return;
	case HC_HTTP:
	case HC_HTTPS:
		/* Allocated only once there is someone to answer. */
		p->resp = malloc(HTTP_RESPONSE_MAX);
		if (!p->resp) {
			attempt_fail(p, "out of memory");
			return;
		}
		if (p->spec.type == HC_HTTPS) {
			tls_start(p);
			return;
		}
		p->phase = PHASE_SEND;
		http_send(p);
		return;
	default:
		/* The agent speaks first. */
		p->phase = PHASE_RECV;
		watch(p, EPOLLIN);
		return;
	}
}

static void socket_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct hc_probe *p = arg;

	(void)loop;
	(void)fd;
	switch (p->phase) {
	case PHASE_CONNECT:
		socket_connected(p, events);
		break;
	case PHASE_HANDSHAKE:
		tls_handshake(p);
		break;
	case PHASE_SEND:
		http_send(p);
		break;
	case PHASE_RECV:
		/* TLS may wait for EPOLLOUT while reading (a key update). */
		if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !p->conn)
			break;
		if (p->spec.type == HC_HTTP || p->spec.type == HC_HTTPS)
			http_recv(p);
		else
			agent_recv(p);
		break;
	default:
		break;
	}
}

static socklen_t sockaddr_from(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *ss);

/* Bind to spec.source; the port is chosen at connect time, so thousands
 * of checks from one address share the ports by destination. */
static bool bind_source(struct hc_probe *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from(&p->spec.source, 0, &ss);
	char addr[INET6_ADDRSTRLEN];
	int one = 1;

	(void)setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(p->fd, (struct sockaddr *)&ss, len) == 0)
		return true;
	attempt_fail(p, "bind %s: %s", ipaddr_ntop(&p->spec.source, addr, sizeof(addr)), strerror(errno));
	return false;
}

static void socket_attempt_start(struct hc_probe *p)
{
	int fd, ret;

	fd = socket(p->spec.addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		attempt_fail(p, "socket: %s", strerror(errno));
		return;
	}
	p->fd = fd;
	p->phase = PHASE_CONNECT;
	if (p->spec.source.family && !bind_source(p))
		return;
	if (connect(fd, (struct sockaddr *)&p->sa, p->salen) < 0 && errno != EINPROGRESS) {
		connect_failed(p, errno);
		return;
	}
	/* Even an immediate connect is finished from the loop: one path. */
	ret = ev_fd_add(p->loop, fd, EPOLLOUT, socket_event, p);
	p->events = EPOLLOUT;
	if (ret < 0) {
		close(fd);
		p->fd = -1;
		attempt_fail(p, "event loop: %s", strerror(-ret));
		return;
	}
	ret = ev_timer_start(p->loop, &p->deadline, p->timeout_ms);
	if (ret < 0)
		attempt_fail(p, "event loop: %s", strerror(-ret));
}

/* ---- script ---- */

/* keepalived's misc_dynamic: 0 up at the configured weight, 1 down,
 * 2..255 up at weight exit-2. */
static void script_dynamic(struct hc_probe *p, int code)
{
	if (code == 0)
		attempt_pass(p, "exit 0");
	else if (code == 1)
		attempt_fail(p, "exit 1");
	else
		attempt_end(p, HC_PASS, code - 2, "exit %d (weight %d)", code, code - 2);
}

static void script_exited(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct hc_probe *p = arg;

	(void)loop;
	(void)pid;
	p->pid = 0;	/* reaped by the loop */
	if (timed_out) {
		attempt_fail(p, "timeout after %llu ms", (unsigned long long)p->timeout_ms);
	} else if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		if (p->spec.dynamic_weight)
			script_dynamic(p, code);
		else if (code == 0)
			attempt_pass(p, "exit 0");
		else if (code == 127)
			attempt_fail(p, "exit 127 (command not found)");
		else
			attempt_fail(p, "exit %d", code);
	} else if (WIFSIGNALED(status)) {
		attempt_fail(p, "killed by signal %d", WTERMSIG(status));
	} else {
		attempt_fail(p, "wait status %#x", (unsigned)status);
	}
}

static void script_attempt_start(struct hc_probe *p)
{
	struct spawn_opts opts = { .user = p->spec.script_user, .output_fd = -1, .env = p->spec.env };
	pid_t pid;
	int ret;

	ret = spawn_shell(p->spec.command, &opts, &pid);
	if (ret < 0) {
		attempt_fail(p, "spawn: %s", strerror(-ret));
		return;
	}
	p->pid = pid;
	p->phase = PHASE_SCRIPT;
	ret = ev_child_watch(p->loop, pid, p->timeout_ms, script_exited, p);
	if (ret < 0) {
		/* Nobody else would reap it; it has only just started, so
		 * after SIGKILL the wait is short. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
		attempt_fail(p, "event loop: %s", strerror(-ret));
	}
}

/* ---- the interval ---- */

static void probe_tick(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct hc_probe *p = arg;
	uint64_t now = now_ms(), due = t->due_ms + p->spec.interval_ms;

	/* Start to start, without drift; after a stall (a stopped process)
	 * one interval from now rather than a burst of catching up. Armed
	 * before the attempt, which may end at once and stop the probe. */
	if (due <= now)
		due = now + p->spec.interval_ms;
	ev_timer_start_at(loop, t, due);
	if (p->phase != PHASE_IDLE)
		return;	/* still in flight: skip this round */
	p->started_ms = now;
	if (p->spec.type == HC_SCRIPT)
		script_attempt_start(p);
	else
		socket_attempt_start(p);
}

/* ---- start, stop ---- */

static socklen_t sockaddr_from(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->u.v6;
		return sizeof(*sin6);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr = a->u.v4;
	return sizeof(*sin);
}

static const char *type_name(int type)
{
	switch (type) {
	case HC_TCP:
		return "tcp";
	case HC_HTTP:
		return "http";
	case HC_HTTPS:
		return "https";
	case HC_SCRIPT:
		return "script";
	case HC_AGENT:
		return "agent";
	default:
		return "none";
	}
}

/* "tcp 198.18.0.11:80", "http [2001:db8::1]:80/health", "script". */
static int target_build(struct hc_probe *p)
{
	const struct hc_spec *s = &p->spec;
	char addr[INET6_ADDRSTRLEN];
	struct strbuf sb;

	sb_init(&sb);
	sb_append(&sb, type_name(s->type));
	if (s->type != HC_SCRIPT) {
		ipaddr_ntop(&s->addr, addr, sizeof(addr));
		sb_printf(&sb, s->addr.family == AF_INET6 ? " [%s]:%u" : " %s:%u", addr, s->port);
	}
	if (s->type == HC_HTTP || s->type == HC_HTTPS)
		sb_append(&sb, s->path && s->path[0] ? s->path : "/");
	if (sb.failed) {
		sb_free(&sb);
		return -ENOMEM;
	}
	p->target = strdup(sb_str(&sb));
	sb_free(&sb);
	return p->target ? 0 : -ENOMEM;
}

static int spec_check(const struct hc_spec *s)
{
	if (s->interval_ms == 0)
		return -EINVAL;
	switch (s->type) {
	case HC_SCRIPT:
		return s->command && s->command[0] ? 0 : -EINVAL;
	case HC_TCP:
	case HC_HTTP:
	case HC_HTTPS:
	case HC_AGENT:
		if (s->addr.family != AF_INET && s->addr.family != AF_INET6)
			return -EINVAL;
		return s->port ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* What the spec leaves to defaults, and the once-per-probe parts of an
 * attempt. */
static int probe_prepare(struct hc_probe *p)
{
	struct hc_spec *s = &p->spec;
	int ret;

	p->timeout_ms = s->timeout_ms ? s->timeout_ms : s->interval_ms;
	if (s->type == HC_HTTPS) {
		if (s->tls) {
			p->tls = tls_client_ref(s->tls);
		} else {
			ret = tls_client_get(NULL, NULL, NULL, &p->tls);
			if (ret < 0)
				return ret;
		}
		s->tls = p->tls;
	}
	if (s->type == HC_HTTP || s->type == HC_HTTPS) {
		if (s->status_lo == 0 && s->status_hi == 0) {
			s->status_lo = DEFAULT_STATUS_LO;
			s->status_hi = DEFAULT_STATUS_HI;
		}
		if (s->status_lo > s->status_hi)
			return -EINVAL;
		ret = http_request_format(&p->request, s->path, s->host, &s->addr,
					  s->user_agent ? s->user_agent : "dsrkit");
		if (ret < 0)
			return ret;
	}
	if (s->type != HC_SCRIPT)
		p->salen = sockaddr_from(&s->addr, s->port, &p->sa);
	return target_build(p);
}

int hc_probe_start(struct evloop *loop, const struct hc_spec *spec, hc_done_cb cb, void *arg,
		   struct hc_probe **out)
{
	struct hc_probe *p;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!loop || !spec || !cb)
		return -EINVAL;
	ret = spec_check(spec);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->loop = loop;
	p->spec = *spec;
	p->cb = cb;
	p->arg = arg;
	p->fd = -1;
	sb_init(&p->request);
	ev_timer_init(&p->every, probe_tick, p);
	ev_timer_init(&p->deadline, attempt_deadline, p);
	ret = probe_prepare(p);
	/* Even a zero delay starts from the loop: cb never runs in here. */
	if (ret == 0)
		ret = ev_timer_start(loop, &p->every, spec->first_delay_ms);
	if (ret < 0) {
		probe_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void hc_probe_stop(struct hc_probe *p)
{
	if (!p || p->stopped)
		return;
	ev_timer_stop(p->loop, &p->every);
	attempt_release(p);
	if (p->in_cb) {
		/* attempt_report() frees it once the callback returns. */
		p->stopped = true;
		return;
	}
	probe_free(p);
}

const char *hc_probe_target(const struct hc_probe *p)
{
	return p->target;
}
