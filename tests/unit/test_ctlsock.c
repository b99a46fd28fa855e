/* Control socket: request parsing, the listening socket's file (stale,
 * live, not a socket, owner and mode), and a server in the event loop
 * answering ctl_call() from forked children, raw clients that misbehave,
 * and more clients than it serves at once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctlsock.h"
#include "json.h"
#include "test.h"
#include "util.h"

#define WAIT_MS 5000

/* --- parsing ----------------------------------------------------------- */

static int parse(const char *text, struct ctl_request *req, char *buf, size_t size)
{
	strlcpy_safe(buf, text, size);
	return ctl_request_parse(buf, req);
}

TEST(parse_words)
{
	struct ctl_request req;
	char buf[CTL_REQUEST_MAX];

	CHECK_EQ_INT(parse("status\n", &req, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(req.argc, 1);
	CHECK_EQ_STR(req.argv[0], "status");

	CHECK_EQ_INT(parse("  drain\t192.0.2.1:80  \t web \r\n", &req, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(req.argc, 3);
	CHECK_EQ_STR(req.argv[0], "drain");
	CHECK_EQ_STR(req.argv[1], "192.0.2.1:80");
	CHECK_EQ_STR(req.argv[2], "web");

	CHECK_EQ_INT(parse("status --json", &req, buf, sizeof(buf)), 0);	/* no newline */
	CHECK_EQ_INT(req.argc, 2);
	CHECK_EQ_STR(req.argv[1], "--json");

	CHECK_EQ_INT(parse("status\r", &req, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(req.argc, 1);

	/* UTF-8 (any byte >= 0x80) is data, not control. */
	CHECK_EQ_INT(parse("enable caf\xc3\xa9\n", &req, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(req.argv[1], "caf\xc3\xa9");

	CHECK_EQ_INT(parse("1 2 3 4 5 6 7 8", &req, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(req.argc, CTL_MAX_ARGS);
	CHECK_EQ_STR(req.argv[7], "8");
}

TEST(parse_rejects)
{
	static const char *const bad[] = {
		"", "\n", "\r\n", "   \t \r\n", "1 2 3 4 5 6 7 8 9", "1 2 3 4 5 6 7 8 9\n",
		"a\001b", "status\x1b[2J", "del\x7f", "status\n\n", "a\rb", "a\nb",
		"status\r\r\n", "\v", "x\f",
	};
	struct ctl_request req;
	char buf[CTL_REQUEST_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = parse(bad[i], &req, buf, sizeof(buf));

		if (r != -EINVAL)
			fprintf(stderr, "  accepted bad request #%zu\n", i);
		CHECK_EQ_INT(r, -EINVAL);
		CHECK_EQ_INT(req.argc, 0);
	}
	CHECK_EQ_INT(ctl_request_parse(NULL, &req), -EINVAL);
}

/* --- the socket file --------------------------------------------------- */

struct tmpdir {
	char dir[64];
	char sock[128];
};

static void tmpdir_make(struct tmpdir *t)
{
	strlcpy_safe(t->dir, "/tmp/dsrkit-ctl-XXXXXX", sizeof(t->dir));
	CHECK(mkdtemp(t->dir) != NULL);
	snprintf(t->sock, sizeof(t->sock), "%s/ctl.sock", t->dir);
}

static void tmpdir_remove(struct tmpdir *t)
{
	unlink(t->sock);
	CHECK_EQ_INT(rmdir(t->dir), 0);
}

TEST(listen_sets_owner_and_mode)
{
	struct tmpdir t;
	struct stat st;
	bool root = geteuid() == 0;
	uid_t owner = root ? 65534 : (uid_t)-1;
	gid_t group = root ? 65534 : (gid_t)-1;
	mode_t old_umask = umask(0);	/* the umask must not matter */
	int fd = -1;

	tmpdir_make(&t);
	CHECK_EQ_INT(ctlsock_listen(t.sock, owner, group, 0660, &fd), 0);
	umask(old_umask);
	CHECK(fd >= 0);
	CHECK_EQ_INT(lstat(t.sock, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0660);
	if (root) {
		CHECK_EQ_INT(st.st_uid, 65534);
		CHECK_EQ_INT(st.st_gid, 65534);
	} else {
		CHECK_EQ_INT(st.st_uid, geteuid());
	}
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	/* Another mode, owner unchanged. */
	CHECK_EQ_INT(ctlsock_listen(t.sock, (uid_t)-1, (gid_t)-1, 0600, &fd), 0);
	CHECK_EQ_INT(lstat(t.sock, &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(st.st_uid, geteuid());
	close(fd);
	tmpdir_remove(&t);
}

TEST(listen_replaces_stale_refuses_live)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct tmpdir t;
	int stale, fd = -1, fd2 = -1;

	tmpdir_make(&t);
	/* A socket file nobody listens on any more. */
	strlcpy_safe(sun.sun_path, t.sock, sizeof(sun.sun_path));
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ_INT(bind(stale, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(stale);
	CHECK_EQ_INT(ctlsock_listen(t.sock, (uid_t)-1, (gid_t)-1, 0600, &fd), 0);

	/* A live one: left alone. */
	CHECK_EQ_INT(ctlsock_listen(t.sock, (uid_t)-1, (gid_t)-1, 0600, &fd2), -EADDRINUSE);
	CHECK_EQ_INT(fd2, -1);
	CHECK_EQ_INT(access(t.sock, F_OK), 0);
	close(fd);
	tmpdir_remove(&t);
}

TEST(listen_refuses_non_socket_and_bad_paths)
{
	struct tmpdir t;
	char longpath[200];
	struct stat st;
	int fd = -1, f;

	tmpdir_make(&t);
	f = open(t.sock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(f >= 0);
	CHECK_EQ_INT(write(f, "keep", 4), 4);
	close(f);
	CHECK_EQ_INT(ctlsock_listen(t.sock, (uid_t)-1, (gid_t)-1, 0600, &fd), -EEXIST);
	CHECK_EQ_INT(stat(t.sock, &st), 0);
	CHECK(S_ISREG(st.st_mode) && st.st_size == 4);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_EQ_INT(ctlsock_listen(longpath, (uid_t)-1, (gid_t)-1, 0600, &fd), -ENAMETOOLONG);
	CHECK_EQ_INT(ctlsock_listen("", (uid_t)-1, (gid_t)-1, 0600, &fd), -EINVAL);
	CHECK_EQ_INT(ctlsock_listen("/nonexistent-dir/x.sock", (uid_t)-1, (gid_t)-1, 0600, &fd), -ENOENT);
	CHECK_EQ_INT(fd, -1);
	tmpdir_remove(&t);
}

/* --- server ------------------------------------------------------------ */

struct server_ctx {
	int requests;
	char last[64];
	struct ctlserver *srv;		/* for deferred answers */
	struct evloop *loop;
	struct ev_timer later;
	uint64_t ticket;
	int answered;			/* ctlserver_answer's result */
};

/* Replies with the words as JSON; "silent" gets no reply, "big" a reply
 * much larger than a socket buffer. */
static void echo_handler(const struct ctl_request *req, struct strbuf *reply, void *arg)
{
	struct server_ctx *ctx = arg;
	struct json j;

	ctx->requests++;
	strlcpy_safe(ctx->last, req->argv[0], sizeof(ctx->last));
	if (strcmp(req->argv[0], "silent") == 0)
		return;
	if (strcmp(req->argv[0], "later") == 0) {	/* answered from a timer (deferred) */
		ctx->ticket = ctlserver_defer(ctx->srv, req->argc > 1 ? (unsigned)atoi(req->argv[1]) : 0);
		ev_timer_start(ctx->loop, &ctx->later, 300);
		return;
	}
	if (strcmp(req->argv[0], "big") == 0) {
		for (int i = 0; i < 100000; i++)
			sb_printf(reply, "%07d\n", i);
		return;
	}
	json_init(&j, reply);
	json_object_begin(&j, NULL);
	json_int(&j, "argc", req->argc);
	json_array_begin(&j, "argv");
	for (int i = 0; i < req->argc; i++)
		json_string(&j, NULL, req->argv[i]);
	json_array_end(&j);
	json_object_end(&j);
	sb_append(reply, "\n");
}

static void later_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct server_ctx *ctx = arg;

	(void)loop;
	(void)t;
	ctx->answered = ctlserver_answer(ctx->srv, ctx->ticket, "later done\n", 11);
}

struct served {
	struct tmpdir t;
	struct server_ctx ctx;
	struct evloop *loop;
	struct ctlserver *srv;
	int fd;
};

static void serve_start(struct served *s, unsigned timeout_ms)
{
	memset(s, 0, sizeof(*s));
	tmpdir_make(&s->t);
	CHECK_EQ_INT(evloop_new(&s->loop), 0);
	CHECK_EQ_INT(ctlsock_listen(s->t.sock, (uid_t)-1, (gid_t)-1, 0600, &s->fd), 0);
	CHECK_EQ_INT(ctlserver_start(s->loop, s->fd, timeout_ms, echo_handler, &s->ctx, &s->srv), 0);
	s->ctx.srv = s->srv;
	s->ctx.loop = s->loop;
	s->ctx.answered = 1;
	ev_timer_init(&s->ctx.later, later_cb, &s->ctx);
}

static void serve_stop(struct served *s)
{
	ctlserver_stop(s->srv);
	close(s->fd);
	evloop_free(s->loop);
	tmpdir_remove(&s->t);
}

struct child_done {
	int status;
	bool timed_out;
	bool done;
};

static void child_exited(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct child_done *cd = arg;

	(void)loop;
	(void)pid;
	cd->status = status;
	cd->timed_out = timed_out;
	cd->done = true;
}

/* Fork a client running fn(path); serve until it exits; its exit code. */
static int serve_client(struct served *s, int (*fn)(const char *path))
{
	struct child_done cd = { .done = false };
	uint64_t deadline = now_ms() + WAIT_MS;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(s->t.sock));
	CHECK(pid > 0);
	CHECK_EQ_INT(ev_child_watch(s->loop, pid, WAIT_MS, child_exited, &cd), 0);
	while (!cd.done && now_ms() < deadline)
		evloop_run_once(s->loop, 50);
	CHECK(cd.done);
	CHECK(!cd.timed_out);
	return WIFEXITED(cd.status) ? WEXITSTATUS(cd.status) : 255;
}

static int client_status_calls(const char *path)
{
	struct strbuf reply;
	int failed = 0;

	sb_init(&reply);
	for (int i = 0; i < 20 && !failed; i++) {
		sb_reset(&reply);
		if (ctl_call(path, "status --json", 2000, &reply) != 0)
			failed = 1;
		else if (strcmp(sb_str(&reply), "{\"argc\":2,\"argv\":[\"status\",\"--json\"]}\n") != 0)
			failed = 2;
	}
	sb_free(&reply);
	return failed;
}

static void run_for(struct evloop *loop, unsigned ms);

/* A deferred answer, given 300 ms later from the loop; two clients at
 * once; then one whose wait (100 ms) ends first gets an error reply. */
static int client_later(const char *path)
{
	struct strbuf reply;
	int failed = 0;

	sb_init(&reply);
	if (ctl_call(path, "later", 2000, &reply) != 0 || strcmp(sb_str(&reply), "later done\n") != 0)
		failed = 1;
	sb_reset(&reply);
	if (!failed && (ctl_call(path, "later 100", 2000, &reply) != 0 || !strstr(sb_str(&reply), "no answer in time")))
		failed = 2;
	sb_free(&reply);
	return failed;
}

TEST(server_deferred_answer)
{
	struct served s;

	serve_start(&s, 1000);
	CHECK_EQ_INT(serve_client(&s, client_later), 0);
	/* The second one's answer came after its client had its error: refused. */
	run_for(s.loop, 400);
	CHECK_EQ_INT(s.ctx.answered, -ENOENT);
	serve_stop(&s);
}

TEST(server_answers_ctl_call)
{
	struct served s;

	serve_start(&s, 2000);
	CHECK_EQ_INT(serve_client(&s, client_status_calls), 0);
	CHECK_EQ_INT(s.ctx.requests, 20);
	CHECK_EQ_STR(s.ctx.last, "status");
	serve_stop(&s);
}

static int client_big_and_silent(const char *path)
{
	struct strbuf reply;
	int r = 0;

	sb_init(&reply);
	if (ctl_call(path, "big", 3000, &reply) != 0)
		r = 1;
	else if (reply.len != 800000 || strncmp(sb_str(&reply) + reply.len - 8, "0099999\n", 8) != 0)
		r = 2;
	sb_reset(&reply);
	if (!r && (ctl_call(path, "silent", 2000, &reply) != 0 || reply.len != 0))
		r = 3;
	sb_free(&reply);
	return r;
}

TEST(server_large_reply_and_empty_reply)
{
	struct served s;

	serve_start(&s, 2000);
	CHECK_EQ_INT(serve_client(&s, client_big_and_silent), 0);
	CHECK_EQ_INT(s.ctx.requests, 2);
	serve_stop(&s);
}

static int client_bad_requests(const char *path)
{
	struct strbuf reply;
	char big[CTL_REQUEST_MAX * 4];
	int r = 0;

	sb_init(&reply);
	if (ctl_call(path, "status\x01", 2000, &reply) != 0 ||
	    strcmp(sb_str(&reply), "{\"error\":\"malformed request\"}\n") != 0)
		r = 1;
	sb_reset(&reply);
	if (!r && (ctl_call(path, "1 2 3 4 5 6 7 8 9", 2000, &reply) != 0 ||
		   strstr(sb_str(&reply), "\"error\"") == NULL))
		r = 2;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sb_reset(&reply);
	if (!r && (ctl_call(path, big, 2000, &reply) != 0 ||
		   strcmp(sb_str(&reply), "{\"error\":\"request too long\"}\n") != 0))
		r = 3;
	/* Exactly at the limit (with its newline) is fine. */
	big[CTL_REQUEST_MAX - 1] = '\0';
	sb_reset(&reply);
	if (!r && (ctl_call(path, big, 2000, &reply) != 0 || strstr(sb_str(&reply), "\"argc\":1") == NULL))
		r = 4;
	big[CTL_REQUEST_MAX] = '\0';
	big[CTL_REQUEST_MAX - 1] = 'a';
	sb_reset(&reply);
	if (!r && (ctl_call(path, big, 2000, &reply) != 0 || strstr(sb_str(&reply), "too long") == NULL))
		r = 5;
	/* The client itself refuses a request that would be two lines. */
	if (!r && ctl_call(path, "status\nreload", 2000, &reply) != -EINVAL)
		r = 6;
	sb_free(&reply);
	return r;
}

TEST(server_rejects_malformed_and_oversize)
{
	struct served s;

	serve_start(&s, 2000);
	CHECK_EQ_INT(serve_client(&s, client_bad_requests), 0);
	CHECK_EQ_INT(s.ctx.requests, 1);	/* only the one at the limit */
	serve_stop(&s);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strlcpy_safe(sun.sun_path, path, sizeof(sun.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void run_for(struct evloop *loop, unsigned ms)
{
	uint64_t deadline = now_ms() + ms;

	while (now_ms() < deadline)
		evloop_run_once(loop, (int)(deadline - now_ms()));
}

/* Whatever the server sent before closing, without waiting. */
static ssize_t read_available(int fd, char *buf, size_t size, bool *eof)
{
	size_t total = 0;

	*eof = false;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 0) <= 0)
			break;
		n = read(fd, buf + total, size - 1 - total);
		if (n <= 0) {
			*eof = true;
			break;
		}
		total += (size_t)n;
	}
	buf[total] = '\0';
	return (ssize_t)total;
}

TEST(server_times_out_slow_client)
{
	struct served s;
	char buf[256];
	bool eof;
	int fd;

	serve_start(&s, 300);
	fd = raw_connect(s.t.sock);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "stat", 4), 4);	/* and never the rest */
	run_for(s.loop, 50);
	read_available(fd, buf, sizeof(buf), &eof);
	CHECK_EQ_STR(buf, "");
	CHECK(!eof);
	run_for(s.loop, 600);
	read_available(fd, buf, sizeof(buf), &eof);
	CHECK_EQ_STR(buf, "{\"error\":\"request timed out\"}\n");
	CHECK(eof);
	CHECK_EQ_INT(s.ctx.requests, 0);
	close(fd);

	/* A client that half-closes without a newline still gets its answer. */
	fd = raw_connect(s.t.sock);
	CHECK_EQ_INT(write(fd, "status", 6), 6);
	shutdown(fd, SHUT_WR);
	run_for(s.loop, 30);
	read_available(fd, buf, sizeof(buf), &eof);
	CHECK_EQ_STR(buf, "{\"argc\":1,\"argv\":[\"status\"]}\n");
	close(fd);
	serve_stop(&s);
}

TEST(server_bounds_concurrent_connections)
{
	enum { CLIENTS = 20, SERVED = 16 };
	struct served s;
	int fds[CLIENTS], refused = 0;
	char buf[256];
	bool eof;

	serve_start(&s, 1000);
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = raw_connect(s.t.sock);
		CHECK(fds[i] >= 0);
	}
	run_for(s.loop, 50);
	for (int i = 0; i < CLIENTS; i++) {
		read_available(fds[i], buf, sizeof(buf), &eof);
		if (eof) {
			CHECK_EQ_STR(buf, "");
			refused++;
		}
	}
	CHECK_EQ_INT(refused, CLIENTS - SERVED);

	/* The ones kept are served normally; stop with some still open. */
	CHECK_EQ_INT(write(fds[0], "ping\n", 5), 5);
	run_for(s.loop, 30);
	read_available(fds[0], buf, sizeof(buf), &eof);
	CHECK_EQ_STR(buf, "{\"argc\":1,\"argv\":[\"ping\"]}\n");
	serve_stop(&s);
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
}

TEST(ctl_call_errors)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct strbuf reply;
	struct tmpdir t;
	uint64_t start;
	int fd;

	sb_init(&reply);
	tmpdir_make(&t);
	CHECK_EQ_INT(ctl_call(t.sock, "status", 500, &reply), -ENOENT);

	/* A socket file with nobody behind it. */
	strlcpy_safe(sun.sun_path, t.sock, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	CHECK_EQ_INT(ctl_call(t.sock, "status", 500, &reply), -ECONNREFUSED);
	unlink(t.sock);

	/* A daemon that accepts nothing and never answers: bounded wait. */
	CHECK_EQ_INT(ctlsock_listen(t.sock, (uid_t)-1, (gid_t)-1, 0600, &fd), 0);
	start = now_ms();
	CHECK_EQ_INT(ctl_call(t.sock, "status", 150, &reply), -ETIMEDOUT);
	CHECK(now_ms() - start >= 150);
	CHECK(now_ms() - start < 2000);
	close(fd);
	CHECK_EQ_INT(reply.len, 0);

	CHECK_EQ_INT(ctl_call(t.sock, "status", 0, &reply), -EINVAL);
	CHECK_EQ_INT(ctl_call(NULL, "status", 100, &reply), -EINVAL);
	sb_free(&reply);
	tmpdir_remove(&t);
}

/* What a client makes of replies: errors are recognised and their text
 * recovered; anything else is not an error. */
TEST(reply_error_text)
{
	struct strbuf reply, msg;

	sb_init(&reply);
	sb_init(&msg);
	ctl_reply_error(&reply, "a.ini:3: vrrp VI_1.prority: unknown key\nb \"quoted\"");
	CHECK_EQ_INT(ctl_reply_error_text(sb_str(&reply), &msg), 1);
	CHECK_EQ_STR(sb_str(&msg), "a.ini:3: vrrp VI_1.prority: unknown key\nb \"quoted\"");
	CHECK_EQ_INT(ctl_reply_error_text("{\"error\":\"x\"}", &msg), 1);
	CHECK_EQ_STR(sb_str(&msg), "x");

	sb_reset(&reply);
	ctl_reply_ok(&reply, "state", "drain");
	CHECK_EQ_INT(ctl_reply_error_text(sb_str(&reply), &msg), 0);
	CHECK_EQ_INT(ctl_reply_error_text("{\"error\":\"x\",\"more\":1}\n", &msg), 0);
	CHECK_EQ_INT(ctl_reply_error_text("{\"error\":\"unterminated}\n", &msg), 0);
	CHECK_EQ_INT(ctl_reply_error_text("{\"errors\":[]}\n", &msg), 0);
	CHECK_EQ_INT(ctl_reply_error_text("directord (pid 1)\n", &msg), 0);
	CHECK_EQ_INT(ctl_reply_error_text(NULL, &msg), 0);
	CHECK_EQ_STR(sb_str(&msg), "");
	sb_free(&reply);
	sb_free(&msg);
}

TEST_MAIN(T(parse_words), T(parse_rejects), T(listen_sets_owner_and_mode), T(server_deferred_answer),
	  T(listen_replaces_stale_refuses_live), T(listen_refuses_non_socket_and_bad_paths),
	  T(server_answers_ctl_call), T(server_large_reply_and_empty_reply),
	  T(server_rejects_malformed_and_oversize), T(server_times_out_slow_client),
	  T(server_bounds_concurrent_connections), T(ctl_call_errors),
	  T(reply_error_text))
