/* Local health checks: is the service answering on the VIP?
 *
 * Each configured check has its own interval timer. An attempt never blocks
 * the loop: TCP and HTTP checks are non-blocking sockets watched by the
 * loop, script checks are child processes watched with a timeout. Results go
 * through a rise/fall machine so one lost packet does not flap the report. */
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

#include "http.h"
#include "log.h"
#include "proc.h"
#include "rs-agent.h"

/* Checks start this far apart so a restart does not fire them all at once. */
#define CHECK_STAGGER_MS 50

enum attempt_phase {
	PHASE_IDLE,
	PHASE_CONNECT,
	PHASE_SEND,
	PHASE_RECV,
	PHASE_SCRIPT,
};

struct check_run {
	struct health *h;
	const struct check_conf *conf;
	struct check_status st;
	struct ev_timer every;		/* starts the next attempt */
	struct ev_timer deadline;	/* ends a socket attempt that takes too long */
	enum attempt_phase phase;
	uint64_t started_ms;
	int fd;
	pid_t pid;
	char target[INET6_ADDRSTRLEN + 8];	/* "198.18.0.10:80", "[2001:db8::1]:80" */
	/* HTTP only, for the duration of one attempt */
	struct strbuf request;
	size_t request_sent;
	char *response;
	size_t response_len;
};

struct health {
	struct evloop *loop;
	struct check_run *runs;
	size_t nruns;
	char *script_user;
	health_change_cb on_change;
	void *arg;
};

static void check_fd_event(struct evloop *loop, int fd, uint32_t events, void *arg);

/* ---- the rise/fall machine (pure) ---- */

static bool result_passes(enum check_result res)
{
	/* A warning is worth knowing about but the service still answers. */
	return res == CHECK_PASS || res == CHECK_WARN;
}

/* Through common/risefall: the first result decides, and counts as a
 * change because up/down became known. */
bool check_status_record(struct check_status *st, enum check_result res, const char *reason,
			 uint64_t duration_ms, int64_t when)
{
	bool pass = result_passes(res);
	bool changed = risefall_record(&st->rf, pass, st->conf ? st->conf->rise : 1, st->conf ? st->conf->fall : 1);

	st->last = res;
	strlcpy_safe(st->last_reason, reason ? reason : "", sizeof(st->last_reason));
	st->last_time = when;
	st->last_duration_ms = duration_ms;
	st->runs++;
	if (pass)
		st->passes++;
	else
		st->failures++;
	return changed;
}

/* ---- one attempt ---- */

static void format_target(const struct check_conf *c, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	ipaddr_ntop(&c->address, addr, sizeof(addr));
	if (c->address.family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", addr, c->port);
	else
		snprintf(buf, size, "%s:%u", addr, c->port);
}

static socklen_t sockaddr_from(const struct ipaddr *a, unsigned port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = a->u.v6;
		return sizeof(*sin6);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr = a->u.v4;
	return sizeof(*sin);
}

/* Release whatever the current attempt holds, without recording anything. */
static void attempt_release(struct check_run *run)
{
	struct evloop *loop = run->h->loop;

	ev_timer_stop(loop, &run->deadline);
	if (run->fd >= 0) {
		ev_fd_del(loop, run->fd);
		close(run->fd);
		run->fd = -1;
	}
	if (run->pid > 0) {
		ev_child_cancel(loop, run->pid);
		run->pid = 0;
	}
	sb_free(&run->request);
	run->request_sent = 0;
	free(run->response);
	run->response = NULL;
	run->response_len = 0;
	run->phase = PHASE_IDLE;
}

static void attempt_finish(struct check_run *run, enum check_result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the result and tell the daemon when up/down changed. on_change
 * runs inside this check's callback: it may read anything but must not
 * call health_stop(). */
static void attempt_finish(struct check_run *run, enum check_result res, const char *fmt, ...)
{
	struct health *h = run->h;
	char reason[sizeof(run->st.last_reason)];
	uint64_t elapsed = now_ms() - run->started_ms;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	attempt_release(run);
	log_debug("check %s: %s%s%s", run->conf->name,
		  res == CHECK_PASS ? "pass" : res == CHECK_WARN ? "warning" : "fail",
		  reason[0] ? ": " : "", reason);
	if (check_status_record(&run->st, res, reason, elapsed, wall_time()) && h->on_change)
		h->on_change(&run->st, h->arg);
}

static void attempt_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct check_run *run = arg;
	unsigned long long ms = (unsigned long long)run->conf->timeout_ms;

	(void)loop;
	(void)t;
	if (run->phase == PHASE_CONNECT)
		attempt_finish(run, CHECK_FAIL, "timed out after %llu ms connecting to %s", ms,
			       run->target);
	else
		attempt_finish(run, CHECK_FAIL, "timed out after %llu ms waiting for %s", ms,
			       run->target);
}

static int http_request_build(struct check_run *run)
{
	const struct check_conf *c = run->conf;
	int ret = http_request_format(&run->request, c->path, c->host, &c->address, "dsrkit-rs-agent");

	if (ret < 0)
		return ret;
	run->response = malloc(HTTP_RESPONSE_MAX);
	if (!run->response)
		return -ENOMEM;
	run->response_len = 0;
	run->request_sent = 0;
	return 0;
}

static void socket_attempt_start(struct check_run *run)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sockaddr_from(&run->conf->address, run->conf->port, &ss);
	int fd, ret;

	if (run->conf->type == CHECK_HTTP) {
		ret = http_request_build(run);
		if (ret < 0) {
			attempt_finish(run, CHECK_FAIL, "%s",
				       ret == -EINVAL ? "invalid characters in path or host"
						      : "out of memory");
			return;
		}
	}
	fd = socket(run->conf->address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		attempt_finish(run, CHECK_FAIL, "socket: %s", strerror(errno));
		return;
	}
	run->fd = fd;
	run->phase = PHASE_CONNECT;
	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		attempt_finish(run, CHECK_FAIL, "connect %s: %s", run->target, strerror(errno));
		return;
	}
	/* Even an immediate connect is finished from the loop: one code path. */
	ret = ev_fd_add(run->h->loop, fd, EPOLLOUT, check_fd_event, run);
	if (ret < 0) {
		close(fd);
		run->fd = -1;
		attempt_finish(run, CHECK_FAIL, "event loop: %s", strerror(-ret));
		return;
	}
	ev_timer_start(run->h->loop, &run->deadline, run->conf->timeout_ms);
}

static void http_evaluate(struct check_run *run, bool complete)
{
	const struct check_conf *c = run->conf;
	const char *body;
	unsigned status;
	int ret;

	ret = http_response_parse(run->response, run->response_len, &status, &body);
	if (ret == -EAGAIN) {
		if (!complete)
			return;
		if (run->response_len == 0)
			attempt_finish(run, CHECK_FAIL, "%s closed the connection without a response",
				       run->target);
		else
			attempt_finish(run, CHECK_FAIL, "truncated HTTP status line from %s",
				       run->target);
		return;
	}
	if (ret < 0) {
		attempt_finish(run, CHECK_FAIL, "malformed HTTP status line from %s", run->target);
		return;
	}
	if (status < c->expect_status.lo || status > c->expect_status.hi) {
		if (c->expect_status.lo == c->expect_status.hi)
			attempt_finish(run, CHECK_FAIL, "HTTP status %u, expected %u", status,
				       c->expect_status.lo);
		else
			attempt_finish(run, CHECK_FAIL, "HTTP status %u not in %u-%u", status,
				       c->expect_status.lo, c->expect_status.hi);
		return;
	}
	if (!c->expect_body || !c->expect_body[0]) {
		attempt_finish(run, CHECK_PASS, "HTTP status %u", status);
		return;
	}
	if (body && memmem(body, run->response_len - (size_t)(body - run->response),
			   c->expect_body, strlen(c->expect_body))) {
		attempt_finish(run, CHECK_PASS, "HTTP status %u, body matched", status);
		return;
	}
	if (complete)
		attempt_finish(run, CHECK_FAIL, "body does not contain '%.60s'", c->expect_body);
}

static void http_send(struct check_run *run)
{
	const char *req = sb_str(&run->request);
	size_t len = run->request.len;

	while (run->request_sent < len) {
		ssize_t n = send(run->fd, req + run->request_sent, len - run->request_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;	/* the rest on the next EPOLLOUT */
			attempt_finish(run, CHECK_FAIL, "send to %s: %s", run->target, strerror(errno));
			return;
		}
		run->request_sent += (size_t)n;
	}
	run->phase = PHASE_RECV;
	ev_fd_mod(run->h->loop, run->fd, EPOLLIN);
}

static void http_recv(struct check_run *run)
{
	for (;;) {
		size_t room = HTTP_RESPONSE_MAX - run->response_len;
		ssize_t n;

		if (room == 0) {
			/* Enough read: judge what the cap allows. */
			http_evaluate(run, true);
			return;
		}
		n = recv(run->fd, run->response + run->response_len, room, MSG_DONTWAIT);
		if (n > 0) {
			run->response_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			http_evaluate(run, true);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			http_evaluate(run, false);
			return;
		}
		/* A reset after a complete answer still leaves the answer. */
		if (run->response_len > 0) {
			http_evaluate(run, true);
			return;
		}
		attempt_finish(run, CHECK_FAIL, "recv from %s: %s", run->target, strerror(errno));
		return;
	}
}

static void socket_connected(struct check_run *run)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(run->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		attempt_finish(run, CHECK_FAIL, "connect %s: %s", run->target, strerror(err));
		return;
	}
	if (run->conf->type == CHECK_TCP) {
		attempt_finish(run, CHECK_PASS, "connected to %s", run->target);
		return;
	}
	run->phase = PHASE_SEND;
	http_send(run);
}

static void check_fd_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct check_run *run = arg;

	(void)loop;
	(void)fd;
	switch (run->phase) {
	case PHASE_CONNECT:
		socket_connected(run);
		break;
	case PHASE_SEND:
		http_send(run);
		break;
	case PHASE_RECV:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			http_recv(run);
		break;
	default:
		break;
	}
}

static void script_exited(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct check_run *run = arg;

	(void)loop;
	(void)pid;
	run->pid = 0;	/* reaped by the loop */
	if (timed_out) {
		attempt_finish(run, CHECK_FAIL, "timed out after %llu ms",
			       (unsigned long long)run->conf->timeout_ms);
	} else if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		if (code == 0)
			attempt_finish(run, CHECK_PASS, "exit status 0");
		else if (code == 127)
			attempt_finish(run, CHECK_FAIL, "exit status 127 (command not found)");
		else
			attempt_finish(run, CHECK_FAIL, "exit status %d", code);
	} else if (WIFSIGNALED(status)) {
		attempt_finish(run, CHECK_FAIL, "killed by signal %d", WTERMSIG(status));
	} else {
		attempt_finish(run, CHECK_FAIL, "wait status %#x", (unsigned)status);
	}
}

static void script_attempt_start(struct check_run *run)
{
	struct spawn_opts opts = { .user = run->h->script_user, .output_fd = -1 };
	pid_t pid;
	int ret;

	if (!run->conf->command || !run->conf->command[0]) {
		attempt_finish(run, CHECK_FAIL, "no command configured");
		return;
	}
	ret = spawn_shell(run->conf->command, &opts, &pid);
	if (ret < 0) {
		attempt_finish(run, CHECK_FAIL, "spawn: %s", strerror(-ret));
		return;
	}
	run->pid = pid;
	run->phase = PHASE_SCRIPT;
	ret = ev_child_watch(run->h->loop, pid, run->conf->timeout_ms, script_exited, run);
	if (ret < 0) {
		/* Nobody would reap it: end it here (it has only just started). */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		run->pid = 0;
		attempt_finish(run, CHECK_FAIL, "event loop: %s", strerror(-ret));
	}
}

static void check_attempt_start(struct check_run *run)
{
	run->started_ms = now_ms();
	if (run->conf->type == CHECK_SCRIPT)
		script_attempt_start(run);
	else
		socket_attempt_start(run);
}

static void check_interval(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct check_run *run = arg;

	/* Start to start, so a slow attempt does not stretch the interval. */
	ev_timer_start(loop, t, run->conf->interval_ms ? run->conf->interval_ms : 1000);
	if (run->phase != PHASE_IDLE) {
		log_debug("check %s: previous attempt still running, skipping this round",
			  run->conf->name);
		return;
	}
	check_attempt_start(run);
}

/* ---- the set of checks ---- */

int health_start(struct evloop *loop, const struct rs_config *cfg, const char *script_user,
		 health_change_cb on_change, void *arg, struct health **out)
{
	const struct check_conf *c;
	struct health *h;
	size_t n = 0, i = 0;

	*out = NULL;
	for (c = cfg->checks; c; c = c->next)
		n++;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->on_change = on_change;
	h->arg = arg;
	if (script_user) {
		h->script_user = strdup(script_user);
		if (!h->script_user) {
			free(h);
			return -ENOMEM;
		}
	}
	if (n > 0) {
		h->runs = calloc(n, sizeof(*h->runs));
		if (!h->runs) {
			free(h->script_user);
			free(h);
			return -ENOMEM;
		}
	}
	h->nruns = n;
	for (c = cfg->checks; c; c = c->next, i++) {
		struct check_run *run = &h->runs[i];

		run->h = h;
		run->conf = c;
		run->fd = -1;
		run->st.conf = c;
		run->st.last = CHECK_UNKNOWN;
		strlcpy_safe(run->st.last_reason, "not checked yet", sizeof(run->st.last_reason));
		sb_init(&run->request);
		format_target(c, run->target, sizeof(run->target));
		ev_timer_init(&run->every, check_interval, run);
		ev_timer_init(&run->deadline, attempt_deadline, run);
	}
	for (i = 0; i < n; i++) {
		int ret = ev_timer_start(loop, &h->runs[i].every, (uint64_t)i * CHECK_STAGGER_MS);

		if (ret < 0) {
			health_stop(h);
			return ret;
		}
	}
	*out = h;
	return 0;
}

void health_stop(struct health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nruns; i++) {
		ev_timer_stop(h->loop, &h->runs[i].every);
		attempt_release(&h->runs[i]);
	}
	free(h->runs);
	free(h->script_user);
	free(h);
}

static bool same_check(const struct check_conf *a, const struct check_conf *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type && a->port == b->port &&
	       ipaddr_equal(&a->address, &b->address) &&
	       strcmp(a->command ? a->command : "", b->command ? b->command : "") == 0 &&
	       strcmp(a->path ? a->path : "", b->path ? b->path : "") == 0;
}

void health_adopt(struct health *h, const struct health *old)
{
	for (size_t i = 0; h && old && i < h->nruns; i++) {
		for (size_t j = 0; j < old->nruns; j++) {
			if (same_check(h->runs[i].conf, old->runs[j].conf)) {
				h->runs[i].st = old->runs[j].st;
				h->runs[i].st.conf = h->runs[i].conf;
				break;
			}
		}
	}
}

size_t health_count(const struct health *h)
{
	return h ? h->nruns : 0;
}

const struct check_status *health_get(const struct health *h, size_t i)
{
	if (!h || i >= h->nruns)
		return NULL;
	return &h->runs[i].st;
}

/* A check with no result yet is not up: say nothing good before knowing. */
bool health_all_up(const struct health *h, const struct check_status **failing)
{
	if (failing)
		*failing = NULL;
	for (size_t i = 0; h && i < h->nruns; i++) {
		if (!h->runs[i].st.rf.up) {
			if (failing)
				*failing = &h->runs[i].st;
			return false;
		}
	}
	return true;
}
