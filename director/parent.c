/* directord's parent: owns the control socket, starts the VRRP engine,
 * restarts it when it dies, relays reloads and stops. It never touches the
 * network itself, so nothing it does can delay an advert. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "ctlsock.h"
#include "directord.h"
#include "evloop.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "privdrop.h"
#include "sdnotify.h"
#include "vrrp.h"

#define ENGINE_STOP_TIMEOUT_MS 5000
#define ENGINE_REPLY_TIMEOUT_MS 2000
#define RESTART_BACKOFF_MAX_MS 30000
#define STABLE_RUN_MS 30000		/* a run this long resets the backoff */

struct parent {
	struct evloop *loop;
	struct director_config *cfg;
	bool stopping;
	pid_t engine_pid;
	int ipc_fd;
	uint64_t engine_started_ms;
	unsigned restarts;
	uint64_t backoff_ms;
	struct ev_timer restart_timer;
	struct ev_timer kill_timer;
	struct ctlserver *ctl;
	int ctl_fd;
	int64_t started;
	uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
};

static int spawn_engine(struct parent *p);

/* ---- the engine's messages ---- */

static void handle_async(const struct ipc_msg *msg)
{
	struct dir_ipc_state st;

	if (msg->type == DIR_IPC_STATE && ipc_payload_fixed(msg, &st, sizeof(st)) == 0) {
		st.instance[sizeof(st.instance) - 1] = '\0';
		log_debug("engine: %s is %s (priority %d)", st.instance, vrrp_state_name(st.state), st.priority);
	}
	/* Late replies to requests that timed out are dropped. */
}

static void ipc_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct parent *p = arg;
	struct ipc_msg msg;
	int ret;

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		ret = ipc_recv(fd, p->buf, sizeof(p->buf), &msg);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			/* Closed or garbage: the child watch handles the exit. */
			ev_fd_del(p->loop, fd);
			return;
		}
		handle_async(&msg);
	}
}

/* Ask the engine and wait (bounded) for its answer. The parent may block:
 * the engine's timing does not depend on it. */
static int engine_request(struct parent *p, uint16_t type, const void *payload, size_t len, uint16_t reply_type,
			  struct ipc_msg *reply)
{
	uint64_t deadline = now_ms() + ENGINE_REPLY_TIMEOUT_MS;
	int ret;

	if (p->ipc_fd < 0)
		return -ESRCH;
	ret = ipc_send(p->ipc_fd, type, payload, len);
	if (ret < 0)
		return ret;
	for (;;) {
		struct pollfd pfd = { .fd = p->ipc_fd, .events = POLLIN };
		uint64_t now = now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		ret = ipc_recv(p->ipc_fd, p->buf, sizeof(p->buf), reply);
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			return ret;
		if (reply->type == reply_type)
			return 0;
		handle_async(reply);
	}
}

/* ---- the engine process ---- */

static void engine_exited(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct parent *p = arg;
	uint64_t ran = now_ms() - p->engine_started_ms;

	(void)timed_out;
	if (p->ipc_fd >= 0) {
		ev_fd_del(loop, p->ipc_fd);
		close(p->ipc_fd);
		p->ipc_fd = -1;
	}
	p->engine_pid = 0;
	ev_timer_stop(loop, &p->kill_timer);
	if (p->stopping) {
		log_info("vrrp engine (pid %d) stopped", (int)pid);
		evloop_stop(loop);
		return;
	}
	if (WIFSIGNALED(status))
		log_warnx("vrrp engine (pid %d) killed by signal %d", (int)pid, WTERMSIG(status));
	else
		log_warnx("vrrp engine (pid %d) exited with status %d", (int)pid, WEXITSTATUS(status));
	p->backoff_ms = ran >= STABLE_RUN_MS || p->backoff_ms == 0 ? 100 :
			p->backoff_ms * 2 > RESTART_BACKOFF_MAX_MS ? RESTART_BACKOFF_MAX_MS : p->backoff_ms * 2;
	log_warnx("restarting the vrrp engine in %llu ms", (unsigned long long)p->backoff_ms);
	ev_timer_start(loop, &p->restart_timer, p->backoff_ms);
}

static void restart_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct parent *p = arg;

	(void)t;
	p->restarts++;
	if (spawn_engine(p) < 0)
		ev_timer_start(loop, &p->restart_timer, RESTART_BACKOFF_MAX_MS);
}

static void __attribute__((noreturn)) engine_child(struct parent *p, int fd)
{
	sigset_t none;

	/* The parent's loop, control socket, accepted control connections and
	 * signal handling are not ours: a client would otherwise wait for an
	 * end of file that this process holds back. */
	evloop_free(p->loop);
	closelog();
	fd = close_all_fds_but(fd);
	log_reopen();
	if (fd < 0)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* exit(), not _exit(): libraries' destructors free what their
	 * constructors took (the parent flushed stdio before the fork). */
	exit(vrrp_proc_main(p->cfg, fd));
}

static int spawn_engine(struct parent *p)
{
	int fds[2], ret;
	pid_t pid;

	ret = ipc_pair(fds);
	if (ret < 0)
		return ret;
	fflush(NULL);	/* the child must not write the parent's buffers again */
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (pid == 0) {
		close(fds[0]);
		engine_child(p, fds[1]);
	}
	close(fds[1]);
	p->ipc_fd = fds[0];
	p->engine_pid = pid;
	p->engine_started_ms = now_ms();
	ret = ev_fd_add(p->loop, p->ipc_fd, EPOLLIN, ipc_readable, p);
	if (ret == 0)
		ret = ev_child_watch(p->loop, pid, 0, engine_exited, p);
	if (ret < 0)
		log_warnx("watching the vrrp engine: %s", strerror(-ret));
	log_info("vrrp engine started (pid %d)", (int)pid);
	return 0;
}

/* ---- reload and stop ---- */

static int reload(struct parent *p, struct strbuf *why)
{
	struct director_config *fresh;
	struct ini_diag diag;
	struct ipc_msg reply;
	int32_t result = 0;
	int ret;

	log_info("reloading %s", p->cfg->path);
	sd_notify_state("RELOADING=1");
	ini_diag_init(&diag);
	ret = director_config_load(p->cfg->path, &fresh, &diag);
	for (size_t i = 0; i < diag.n; i++) {
		log_warnx("%s", diag.msgs[i]);
		if (why)
			sb_printf(why, "%s%s", i ? "\n" : "", diag.msgs[i]);
	}
	ini_diag_free(&diag);
	if (ret < 0) {
		log_warnx("reload failed; the running configuration stays in force");
		sd_notify_state("READY=1");
		return ret;
	}
	ret = engine_request(p, DIR_IPC_RELOAD, NULL, 0, DIR_IPC_RELOAD_REPLY, &reply);
	if (ret == 0 && ipc_payload_fixed(&reply, &result, sizeof(result)) == 0)
		ret = result;
	if (ret < 0 && why)
		sb_printf(why, "the vrrp engine could not reload: %s", strerror(-ret));
	if (strcmp(p->cfg->control_socket, fresh->control_socket) != 0 || strcmp(p->cfg->user, fresh->user) != 0)
		log_warnx("reload: global.control_socket / global.user take effect at the next restart");
	/* The parent keeps the file for the next restart of the engine. */
	director_config_free(p->cfg);
	p->cfg = fresh;
	sd_notify_state("READY=1");
	return ret;
}

static void kill_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct parent *p = arg;

	(void)loop;
	(void)t;
	if (p->engine_pid > 0) {
		log_warnx("vrrp engine did not stop in time; killing it");
		kill(p->engine_pid, SIGKILL);
	}
}

static void begin_stop(struct parent *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	sd_notify_state("STOPPING=1");
	ev_timer_stop(p->loop, &p->restart_timer);
	if (p->engine_pid <= 0) {
		evloop_stop(p->loop);
		return;
	}
	if (p->ipc_fd < 0 || ipc_send(p->ipc_fd, DIR_IPC_STOP, NULL, 0) < 0)
		kill(p->engine_pid, SIGTERM);
	ev_timer_start(p->loop, &p->kill_timer, ENGINE_STOP_TIMEOUT_MS);
}

static void on_signal(struct evloop *loop, int signo, void *arg)
{
	struct parent *p = arg;

	(void)loop;
	if (signo == SIGHUP) {
		reload(p, NULL);
		return;
	}
	log_info("%s: stopping", strsignal(signo));
	begin_stop(p);
}

/* ---- control socket ---- */

static void status(struct parent *p, bool json, struct strbuf *out)
{
	uint32_t want = json;
	struct ipc_msg reply;
	int ret = engine_request(p, DIR_IPC_STATUS_REQ, &want, sizeof(want), DIR_IPC_STATUS_REPLY, &reply);

	if (json) {
		sb_printf(out, "{\"pid\":%d,\"uptime_s\":%lld,\"config\":", (int)getpid(),
			  (long long)(wall_time() - p->started));
		{
			struct json j;

			json_init(&j, out);
			json_string(&j, NULL, p->cfg->path);
		}
		sb_printf(out, ",\"vrrp_engine\":{\"pid\":%d,\"restarts\":%u},\"vrrp\":", (int)p->engine_pid,
			  p->restarts);
		if (ret == 0)
			sb_appendn(out, (const char *)reply.payload, reply.len);
		else
			sb_append(out, "null");
		sb_append(out, "}\n");
		return;
	}
	sb_printf(out, "directord (pid %d), up %llds, config %s\n", (int)getpid(),
		  (long long)(wall_time() - p->started), p->cfg->path);
	sb_printf(out, "vrrp engine: pid %d, %u restart(s)\n", (int)p->engine_pid, p->restarts);
	if (ret == 0)
		sb_appendn(out, (const char *)reply.payload, reply.len);
	else
		sb_printf(out, "vrrp engine not answering: %s\n", strerror(-ret));
}

static void control(const struct ctl_request *req, struct strbuf *out, void *arg)
{
	struct parent *p = arg;
	const char *cmd = req->argv[0];

	if (strcmp(cmd, "status") == 0 && req->argc == 1) {
		status(p, false, out);
	} else if (strcmp(cmd, "status") == 0 && req->argc == 2 && strcmp(req->argv[1], "json") == 0) {
		status(p, true, out);
	} else if (strcmp(cmd, "reload") == 0 && req->argc == 1) {
		struct strbuf why;

		sb_init(&why);
		if (reload(p, &why) == 0)
			ctl_reply_ok(out, NULL, NULL);
		else
			ctl_reply_error(out, sb_str(&why));
		sb_free(&why);
	} else {
		ctl_reply_error(out, "unknown command; expected status [json] or reload");
	}
}

static void open_control(struct parent *p)
{
	gid_t group = (gid_t)-1;
	char dir[4096], *slash;
	int ret;

	if (p->cfg->control_group) {
		struct group *gr = getgrnam(p->cfg->control_group);

		if (!gr)
			fatalx("control_group %s: no such group", p->cfg->control_group);
		group = gr->gr_gid;
	}
	strlcpy_safe(dir, p->cfg->control_socket, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			fatal("%s", dir);
	}
	ret = ctlsock_listen(p->cfg->control_socket, geteuid(), group, p->cfg->control_mode, &p->ctl_fd);
	if (ret == -EADDRINUSE)
		fatalx("%s: another directord is running", p->cfg->control_socket);
	if (ret < 0)
		fatalx("control socket %s: %s", p->cfg->control_socket, strerror(-ret));
	ret = ctlserver_start(p->loop, p->ctl_fd, 5000, control, p, &p->ctl);
	if (ret < 0)
		fatalx("control socket: %s", strerror(-ret));
}

static void detach(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal("setsid");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

int parent_main(struct director_config *cfg, bool do_detach)
{
	static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct parent *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		fatalx("out of memory");
	p->cfg = cfg;
	p->ipc_fd = -1;
	p->ctl_fd = -1;
	p->started = wall_time();
	if (do_detach) {
		detach();
		log_init("directord", false, log_getlevel());
	}
	if (evloop_new(&p->loop) < 0)
		fatalx("event loop");
	ev_timer_init(&p->restart_timer, restart_timer_cb, p);
	ev_timer_init(&p->kill_timer, kill_timer_cb, p);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (ev_signal_add(p->loop, sigs[i], on_signal, p) < 0)
			fatalx("signal handling");
	open_control(p);
	ret = privdrop(cfg->user, keep, ARRAY_SIZE(keep));
	if (ret < 0)
		fatalx("dropping privileges to %s: %s", cfg->user, strerror(-ret));
	if (spawn_engine(p) < 0)
		fatalx("starting the vrrp engine");
	sd_notify_state("READY=1");
	log_info("running as %s: %zu VRRP instance(s)", cfg->user, cfg->ninstances);
	ret = evloop_run(p->loop);
	if (p->ctl)
		ctlserver_stop(p->ctl);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	(void)unlink(p->cfg->control_socket);
	evloop_free(p->loop);
	director_config_free(p->cfg);
	free(p);
	return ret < 0 ? 1 : 0;
}
