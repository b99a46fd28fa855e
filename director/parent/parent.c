/* directord's parent: owns the control socket, starts the two engines
 * (VRRP, and LVS when there are virtual servers), restarts one that dies
 * or whose loop stops answering its heartbeat, relays the VRRP engine's
 * state changes to the LVS engine, relays reloads, stops. It never touches the network itself, so nothing it does can delay
 * an advert, and a crash of one engine never touches the other. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "ctlsock.h"
#include "daemonize.h"
#include "directord.h"
#include "evloop.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "privdrop.h"
#include "procwhere.h"
#include "sdnotify.h"
#include "vrrp.h"

#define ENGINE_STOP_TIMEOUT_MS 5000
/* Without a sign of life for this long an engine is taken as not
 * answering (a status in pieces restarts the clock at every piece). */
#define ENGINE_REPLY_TIMEOUT_MS 2000
/* The LVS engine may have tens of thousands of kernel objects to change
 * on a reload, or to delete at a stop (ipvs_on_stop = remove). */
#define LVS_SLOW_TIMEOUT_MS 30000
#define RESTART_BACKOFF_MAX_MS 30000
#define STABLE_RUN_MS 30000		/* a run this long resets the backoff */
#define RELAY_RETRY_MS 1000
/* The LVS engine programs the whole IPVS table at its start in one go on
 * its loop (50,000 operations take seconds), and applies a reload of
 * thousands of services on it: its heartbeat may wait this long whatever
 * engine_heartbeat_timeout says. Its stalls delay checks, not adverts. */
#define LVS_HEARTBEAT_MIN_MS LVS_SLOW_TIMEOUT_MS
/* Pings per heartbeat timeout: a loop stuck just after an answer is found
 * within 5/4 of it. */
#define HEARTBEAT_PINGS 4
/* A reload's file is checked in a child process first (cfgcheck.h); the
 * parent waits this long for it at most (10,000 virtual servers take well
 * under a second; directord(8) gives the bound). */
#define RELOAD_CHECK_TIMEOUT_MS 30000

enum { ENG_VRRP, ENG_LVS, ENG_COUNT };

struct parent;

/* One supervised engine process. */
struct engine {
	const char *name;		/* "vrrp", "lvs" */
	const char *sections;		/* "[vrrp]": what makes it run */
	uint64_t reload_ms, stop_ms;	/* how long a reload, a stop may take */
	struct parent *p;
	pid_t pid;			/* 0: not running */
	int ipc_fd;
	uint64_t started_ms;
	unsigned restarts;
	uint64_t backoff_ms;
	bool leaving;			/* asked to stop: not restarted */
	uint64_t ping_ms;		/* when the unanswered heartbeat was sent; 0: none */
	struct ev_timer restart_timer;
	struct ev_timer kill_timer;
	struct ev_timer heartbeat_timer;
};

struct parent {
	struct evloop *loop;
	struct director_config *cfg;
	bool stopping;
	struct engine eng[ENG_COUNT];
	/* The last state of every VRRP instance, for an LVS engine that
	 * (re)starts after the changes were relayed. */
	struct dir_ipc_state states[DIR_MAX_INSTANCES];
	size_t nstates;
	struct ev_timer relay_timer;	/* the LVS engine's queue was full: resend all */
	struct lvs_drained_list drained;	/* by directorctl, for a restarted LVS engine */
	struct ctlserver *ctl;
	int ctl_fd;
	char *ctl_path;			/* the socket bound: a reload does not move it */
	int64_t started;
	uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
};

static int engine_spawn(struct engine *e);

/* An engine runs when its kind of section is in the configuration. */
static bool engine_wanted(const struct parent *p, const struct engine *e)
{
	if (e == &p->eng[ENG_VRRP])
		return p->cfg->ninstances > 0;
	return lvs_config_wanted(&p->cfg->lvs);
}

/* ---- VRRP states, relayed to the LVS engine ---- */

static void relay_state(struct parent *p, const struct dir_ipc_state *st)
{
	struct engine *lvs = &p->eng[ENG_LVS];
	int ret;

	if (lvs->ipc_fd < 0)
		return;		/* it gets the whole table when it starts */
	ret = ipc_send(lvs->ipc_fd, DIR_IPC_VRRP_STATE, st, sizeof(*st));
	if (ret == -EAGAIN)
		ev_timer_start(p->loop, &p->relay_timer, RELAY_RETRY_MS);
	else if (ret < 0)
		log_debug("relaying %s to the lvs engine: %s", st->instance, strerror(-ret));
}

static void relay_all(struct parent *p)
{
	for (size_t i = 0; i < p->nstates; i++)
		relay_state(p, &p->states[i]);
}

static void relay_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	relay_all(arg);
}

static void remember_state(struct parent *p, const struct dir_ipc_state *st)
{
	size_t i;

	for (i = 0; i < p->nstates; i++)
		if (strcmp(p->states[i].instance, st->instance) == 0)
			break;
	if (i == p->nstates) {
		if (p->nstates == ARRAY_SIZE(p->states))
			return;
		p->nstates++;
	}
	p->states[i] = *st;
	relay_state(p, st);
}

/* After a reload: instances that are gone have no state any more. */
static void forget_states(struct parent *p)
{
	size_t k = 0;

	for (size_t i = 0; i < p->nstates; i++)
		if (director_config_instance(p->cfg, p->states[i].instance))
			p->states[k++] = p->states[i];
	p->nstates = k;
}

/* ---- the engines' messages ---- */

/* A heartbeat's answer: the loop ran after the ping was sent. Late ones
 * (the parent was busy in engine_request) count as well. */
static void heartbeat_answered(struct engine *e, const struct ipc_msg *msg)
{
	uint64_t sent;

	if (ipc_payload_fixed(msg, &sent, sizeof(sent)) == 0 && sent == e->ping_ms)
		e->ping_ms = 0;
}

static void handle_async(struct engine *e, const struct ipc_msg *msg)
{
	struct dir_ipc_state st;

	if (msg->type == DIR_IPC_PONG) {
		heartbeat_answered(e, msg);
		return;
	}
	if (msg->type == DIR_IPC_STATE && e == &e->p->eng[ENG_VRRP] &&
	    ipc_payload_fixed(msg, &st, sizeof(st)) == 0) {
		st.instance[sizeof(st.instance) - 1] = '\0';
		log_debug("vrrp engine: %s is %s (priority %d)", st.instance, vrrp_state_name(st.state),
			  st.priority);
		remember_state(e->p, &st);
	}
	/* Late replies to requests that timed out are dropped. */
}

static void ipc_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct engine *e = arg;
	struct ipc_msg msg;
	int ret;

	(void)events;
	for (int i = 0; i < 64; i++) {
		ret = ipc_recv(fd, e->p->buf, sizeof(e->p->buf), &msg);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			/* Closed or garbage: the child watch handles the exit. */
			ev_fd_del(loop, fd);
			return;
		}
		handle_async(e, &msg);
	}
}

/* What is already waiting is older than the request about to be sent:
 * a late reply to one that timed out must not pass for the new one's. */
static int drain_stale(struct engine *e)
{
	struct ipc_msg msg;
	int ret;

	while ((ret = ipc_recv(e->ipc_fd, e->p->buf, sizeof(e->p->buf), &msg)) == 0)
		handle_async(e, &msg);
	return ret == -EAGAIN ? 0 : ret;
}

/* ---- the heartbeat ---- */

uint64_t heartbeat_timeout_for(uint64_t configured, bool lvs)
{
	return configured && lvs && configured < LVS_HEARTBEAT_MIN_MS ? LVS_HEARTBEAT_MIN_MS : configured;
}

bool heartbeat_step(uint64_t *ping_ms, uint64_t now, uint64_t timeout, uint64_t *next_ms)
{
	if (timeout && *ping_ms && now - *ping_ms >= timeout)
		return true;
	if (!*ping_ms)
		*ping_ms = now;
	*next_ms = timeout ? timeout / HEARTBEAT_PINGS : 1000;
	if (timeout && *ping_ms + timeout - now < *next_ms)
		*next_ms = *ping_ms + timeout - now;	/* judged when it is due */
	return false;
}

/* A loop that blocks (on a file, a peer, a bug) answers nothing, and a
 * VRRP master that stops advertising keeps its VIPs while the peer takes
 * them too: kill it, and the exit path starts a new one, which removes
 * what the old one held. */
static void heartbeat_missed(struct engine *e, uint64_t silent_ms)
{
	char where[192];

	log_warnx("the %s engine did not answer a heartbeat for %llu ms: restarting it (pid %ld was waiting: %s)",
		  e->name, (unsigned long long)silent_ms, (long)e->pid, proc_where(e->pid, where, sizeof(where)));
	kill(e->pid, SIGKILL);
}

/* A request is a heartbeat too: with no ping outstanding, one goes with it,
 * so the heartbeat's clock runs while the parent waits for the answer. */
static void heartbeat_ping(struct engine *e, uint64_t now)
{
	if (e->ping_ms || !heartbeat_timeout_for(e->p->cfg->heartbeat_timeout_ms, e == &e->p->eng[ENG_LVS]))
		return;
	e->ping_ms = now;
	(void)ipc_send(e->ipc_fd, DIR_IPC_PING, &e->ping_ms, sizeof(e->ping_ms));
}

/* While the parent waits on an engine's answer, that engine's heartbeat
 * still counts: the wait ends at its deadline (*until), and an engine past
 * it is replaced then, not after the request's own timeout. */
static bool heartbeat_expired(struct engine *e, uint64_t now, uint64_t *until)
{
	uint64_t timeout = heartbeat_timeout_for(e->p->cfg->heartbeat_timeout_ms, e == &e->p->eng[ENG_LVS]);

	if (!timeout || !e->ping_ms || e->pid <= 0)
		return false;
	if (now - e->ping_ms >= timeout) {
		heartbeat_missed(e, now - e->ping_ms);
		return true;
	}
	if (e->ping_ms + timeout < *until)
		*until = e->ping_ms + timeout;
	return false;
}

/* Every timeout / HEARTBEAT_PINGS: one ping at a time, stamped with the
 * time it was first sent, sent again until answered (an answer lost to a
 * full queue is asked for again). Answers are taken from the queue first,
 * where they waited while the parent was busy (a status, a reload): the
 * parent's own stalls never count against an engine. */
static void heartbeat_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct engine *e = arg;
	uint64_t timeout = heartbeat_timeout_for(e->p->cfg->heartbeat_timeout_ms, e == &e->p->eng[ENG_LVS]), now, next;

	if (e->pid <= 0 || e->ipc_fd < 0 || e->leaving || e->p->stopping)
		return;		/* started again with the next engine */
	if (drain_stale(e) < 0)
		return;		/* gone: the child watch handles the exit */
	now = now_ms();
	if (heartbeat_step(&e->ping_ms, now, timeout, &next)) {
		heartbeat_missed(e, now - e->ping_ms);
		return;
	}
	/* A full queue is an engine not reading: its clock runs on. */
	(void)ipc_send(e->ipc_fd, DIR_IPC_PING, &e->ping_ms, sizeof(e->ping_ms));
	ev_timer_start(loop, t, next);
}

/* Ask an engine and wait (bounded) for its answer, whose payload goes to
 * out (a status may come in pieces). The parent may block: the engines'
 * timing does not depend on it. */
static int engine_request(struct engine *e, uint16_t type, const void *payload, size_t len, uint16_t reply_type,
			  uint64_t timeout_ms, struct strbuf *out)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct ipc_msg reply;
	int ret;

	if (e->ipc_fd < 0)
		return -ESRCH;
	if ((ret = drain_stale(e)) < 0)
		return ret;
	heartbeat_ping(e, now_ms());
	if ((ret = ipc_send(e->ipc_fd, type, payload, len)) < 0)
		return ret;
	for (;;) {
		struct pollfd pfd = { .fd = e->ipc_fd, .events = POLLIN };
		uint64_t now = now_ms(), until = deadline;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (heartbeat_expired(e, now, &until))
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(until - now)) <= 0)
			continue;
		ret = ipc_recv(e->ipc_fd, e->p->buf, sizeof(e->p->buf), &reply);
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			return ret;
		if (reply.type == reply_type || (reply.type == DIR_IPC_STATUS_PART && reply_type == DIR_IPC_STATUS_REPLY)) {
			if (out->len + reply.len > DIR_STATUS_MAX)
				return -EMSGSIZE;
			sb_appendn(out, (const char *)reply.payload, reply.len);
			if (out->failed)
				return -ENOMEM;
			if (reply.type == reply_type)
				return 0;
			deadline = now_ms() + timeout_ms;
			continue;
		}
		handle_async(e, &reply);
	}
}

/* ---- the engine processes ---- */

static void engine_closed(struct engine *e)
{
	if (e->ipc_fd >= 0) {
		ev_fd_del(e->p->loop, e->ipc_fd);
		close(e->ipc_fd);
		e->ipc_fd = -1;
	}
	e->pid = 0;
	ev_timer_stop(e->p->loop, &e->kill_timer);
	ev_timer_stop(e->p->loop, &e->heartbeat_timer);
}

static bool all_stopped(const struct parent *p)
{
	for (size_t i = 0; i < ENG_COUNT; i++)
		if (p->eng[i].pid > 0)
			return false;
	return true;
}

static void engine_exited(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct engine *e = arg;
	struct parent *p = e->p;
	uint64_t ran = now_ms() - e->started_ms;

	(void)timed_out;
	engine_closed(e);
	if (p->stopping || e->leaving) {
		log_info("%s engine (pid %d) stopped", e->name, (int)pid);
		e->leaving = false;
		if (p->stopping) {
			if (all_stopped(p))
				evloop_stop(loop);
		} else if (engine_wanted(p, e)) {
			/* A reload took its sections away, the next brought them back. */
			e->backoff_ms = 0;
			ev_timer_start(loop, &e->restart_timer, 0);
		}
		return;
	}
	if (WIFSIGNALED(status))
		log_warnx("%s engine (pid %d) killed by signal %d", e->name, (int)pid, WTERMSIG(status));
	else
		log_warnx("%s engine (pid %d) exited with status %d", e->name, (int)pid, WEXITSTATUS(status));
	e->backoff_ms = ran >= STABLE_RUN_MS || e->backoff_ms == 0 ? 100 :
			e->backoff_ms * 2 > RESTART_BACKOFF_MAX_MS ? RESTART_BACKOFF_MAX_MS : e->backoff_ms * 2;
	log_warnx("restarting the %s engine in %llu ms", e->name, (unsigned long long)e->backoff_ms);
	ev_timer_start(loop, &e->restart_timer, e->backoff_ms);
}

static void restart_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct engine *e = arg;

	(void)t;
	if (!engine_wanted(e->p, e))
		return;		/* a reload took its sections away meanwhile */
	e->restarts++;
	if (engine_spawn(e) < 0)
		ev_timer_start(loop, &e->restart_timer, RESTART_BACKOFF_MAX_MS);
}

static void __attribute__((noreturn)) engine_child(struct engine *e, int fd)
{
	struct director_config *cfg = e->p->cfg;
	sigset_t none;

	/* The parent's loop, control socket, accepted control connections,
	 * the other engine's channel and signal handling are not ours: a
	 * client would otherwise wait for an end of file that this process
	 * holds back. */
	evloop_free(e->p->loop);
	closelog();
	fd = close_all_fds_but(fd);
	log_reopen();
	if (fd < 0)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* exit(), not _exit(): libraries' destructors free what their
	 * constructors took (the parent flushed stdio before the fork). */
	if (e == &e->p->eng[ENG_LVS])
		exit(lvs_proc_main(cfg, fd, &e->p->drained));
	exit(vrrp_proc_main(cfg, fd));
}

static int engine_spawn(struct engine *e)
{
	struct parent *p = e->p;
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
		engine_child(e, fds[1]);
	}
	close(fds[1]);
	e->ipc_fd = fds[0];
	e->pid = pid;
	e->leaving = false;
	e->started_ms = now_ms();
	e->ping_ms = 0;
	ev_timer_start(p->loop, &e->heartbeat_timer, 0);
	ret = ev_fd_add(p->loop, e->ipc_fd, EPOLLIN, ipc_readable, e);
	if (ret == 0)
		ret = ev_child_watch(p->loop, pid, 0, engine_exited, e);
	if (ret < 0)
		log_warnx("watching the %s engine: %s", e->name, strerror(-ret));
	log_info("%s engine started (pid %d)", e->name, (int)pid);
	if (e == &p->eng[ENG_LVS])
		relay_all(p);	/* what the VRRP engine said before it was there */
	return 0;
}

/* Ask one engine to leave; it is killed when it does not in time. */
static void engine_stop(struct engine *e)
{
	ev_timer_stop(e->p->loop, &e->restart_timer);
	if (e->pid <= 0)
		return;
	e->leaving = true;
	if (e->ipc_fd < 0 || ipc_send(e->ipc_fd, DIR_IPC_STOP, NULL, 0) < 0)
		kill(e->pid, SIGTERM);
	ev_timer_start(e->p->loop, &e->kill_timer, e->stop_ms);
}

static void kill_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct engine *e = arg;

	(void)loop;
	(void)t;
	if (e->pid > 0) {
		log_warnx("%s engine did not stop in time; killing it", e->name);
		kill(e->pid, SIGKILL);
	}
}

static void engine_init(struct parent *p, struct engine *e, const char *name, const char *sections,
			uint64_t reload_ms, uint64_t stop_ms)
{
	e->name = name;
	e->sections = sections;
	e->reload_ms = reload_ms;
	e->stop_ms = stop_ms;
	e->p = p;
	e->ipc_fd = -1;
	ev_timer_init(&e->restart_timer, restart_timer_cb, e);
	ev_timer_init(&e->kill_timer, kill_timer_cb, e);
	ev_timer_init(&e->heartbeat_timer, heartbeat_cb, e);
}

/* ---- servers drained by directorctl ---- */

static size_t drained_find(const struct parent *p, const char *service, const char *server)
{
	size_t i;

	for (i = 0; i < p->drained.n; i++)
		if (strcasecmp(p->drained.items[i].service, service) == 0 &&
		    strcmp(p->drained.items[i].server, server) == 0)
			break;
	return i;
}

/* The engine accepted the command: remember it for the next engine. */
static void drained_note(struct parent *p, const struct dir_ipc_admin *m)
{
	size_t i = drained_find(p, m->service, m->server);
	struct lvs_drained *grown;

	if (m->admin == LVS_ADMIN_ENABLED) {
		if (i < p->drained.n)
			p->drained.items[i] = p->drained.items[--p->drained.n];
		return;
	}
	if (i < p->drained.n)
		return;
	grown = realloc(p->drained.items, (p->drained.n + 1) * sizeof(*grown));
	if (!grown) {
		log_warnx("%s %s: out of memory: a restarted lvs engine would not keep it drained", m->service,
			  m->server);
		return;
	}
	p->drained.items = grown;
	strlcpy_safe(grown[p->drained.n].service, m->service, sizeof(grown->service));
	strlcpy_safe(grown[p->drained.n].server, m->server, sizeof(grown->server));
	p->drained.n++;
}

/* After a reload: a server that left the configuration is drained no more
 * (added back later, it starts as the file says). */
static void drained_prune(struct parent *p)
{
	for (size_t i = 0; i < p->drained.n;) {
		const struct lvs_drained *d = &p->drained.items[i];
		const struct virtual_server_conf *vs;

		for (vs = p->cfg->lvs.services; vs && strcasecmp(vs->name, d->service) != 0; vs = vs->next)
			;
		if (vs && virtual_server_find_rs(vs, d->server)) {
			i++;
			continue;
		}
		log_info("%s %s: no longer in the configuration; forgetting that it was drained", d->service,
			 d->server);
		p->drained.items[i] = p->drained.items[--p->drained.n];
	}
}

/* ---- reload and stop ---- */

/* One engine after the parent has the new file: running ones re-read it
 * (so an LVS engine whose virtual servers all went deletes them first),
 * then leave when their sections are gone; new ones start. */
static int engine_reload(struct engine *e, const struct dir_ipc_reload *checked, struct strbuf *why)
{
	bool wanted = engine_wanted(e->p, e);
	struct strbuf reply;
	int32_t result = 0;
	int ret = 0;

	if (e->pid > 0 && !e->leaving) {
		sb_init(&reply);
		ret = engine_request(e, DIR_IPC_RELOAD, checked, sizeof(*checked), DIR_IPC_RELOAD_REPLY, e->reload_ms,
				     &reply);
		if (ret == 0 && reply.len == sizeof(result)) {
			memcpy(&result, reply.buf, sizeof(result));
			ret = result;
		} else if (ret == 0) {
			ret = -EBADMSG;
		}
		sb_free(&reply);
		if (ret == -ESTALE && why)
			sb_printf(why, "%sthe %s engine did not reload: the file changed after it was checked; "
				  "reload again", why->len ? "\n" : "", e->name);
		else if (ret < 0 && why)
			sb_printf(why, "%sthe %s engine could not reload: %s", why->len ? "\n" : "", e->name,
				  strerror(-ret));
		if (!wanted) {
			log_info("no %s sections any more: stopping the %s engine", e->sections, e->name);
			engine_stop(e);
		}
	} else if (wanted && e->pid <= 0 && !ev_timer_armed(&e->restart_timer)) {
		e->backoff_ms = 0;
		if ((ret = engine_spawn(e)) < 0 && why)
			sb_printf(why, "%sstarting the %s engine: %s", why->len ? "\n" : "", e->name, strerror(-ret));
	} else if (!wanted) {
		ev_timer_stop(e->p->loop, &e->restart_timer);
	}
	return ret;
}

static int load_bytes(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	struct director_config *c = NULL;
	int ret = director_config_load_buffer(path, buf, len, &c, diag);

	*cfg = c;
	return ret;
}

static void free_config(void *cfg)
{
	director_config_free(cfg);
}

/* The file, read once and checked in a child process (a crash or a hang
 * of a check refuses it instead of ending the daemon), then loaded here
 * from the same bytes (cfgcheck.h). Every message is logged and goes to
 * the one who asked. */
static int reload_read(struct parent *p, struct director_config **fresh, struct dir_ipc_reload *checked,
		       struct strbuf *why)
{
	static const struct cfgcheck_loader loader = { load_bytes, free_config };
	struct ini_diag diag;
	size_t len = 0;
	void *cfg;
	int ret;

	ini_diag_init(&diag);
	ret = cfgcheck_reload(&loader, p->cfg->path, RELOAD_CHECK_TIMEOUT_MS, &cfg, &checked->fingerprint, &len,
			      &diag);
	for (size_t i = 0; i < diag.n; i++) {
		log_warnx("%s", diag.msgs[i]);
		if (why)
			sb_printf(why, "%s%s", i ? "\n" : "", diag.msgs[i]);
	}
	ini_diag_free(&diag);
	checked->len = len;
	*fresh = cfg;
	return ret;
}

static int reload(struct parent *p, struct strbuf *why)
{
	struct director_config *fresh = NULL, *old;
	struct dir_ipc_reload checked;
	int ret;

	log_info("reloading %s", p->cfg->path);
	sd_notify_state("RELOADING=1");
	ret = reload_read(p, &fresh, &checked, why);
	if (ret < 0) {
		sd_notify_state("READY=1");
		return ret;
	}
	if (strcmp(p->cfg->control_socket, fresh->control_socket) != 0 || strcmp(p->cfg->user, fresh->user) != 0)
		log_warnx("reload: global.control_socket / global.user take effect at the next restart");
	if (p->cfg->vrrp_rt_priority != fresh->vrrp_rt_priority)
		log_warnx("reload: global.vrrp_realtime_priority takes effect at the next restart");
	/* The parent keeps the file for engines it starts or restarts. */
	old = p->cfg;
	p->cfg = fresh;
	forget_states(p);
	drained_prune(p);
	ret = 0;
	for (size_t i = 0; i < ENG_COUNT; i++) {
		int r = engine_reload(&p->eng[i], &checked, why);

		if (r < 0 && ret == 0)
			ret = r;
	}
	director_config_free(old);
	sd_notify_state("READY=1");
	return ret;
}

static void begin_stop(struct parent *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	sd_notify_state("STOPPING=1");
	ev_timer_stop(p->loop, &p->relay_timer);
	for (size_t i = 0; i < ENG_COUNT; i++)
		engine_stop(&p->eng[i]);
	if (all_stopped(p))
		evloop_stop(p->loop);
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

/* One engine's status, or why there is none (ret < 0). */
static int engine_status(struct engine *e, bool json, struct strbuf *text)
{
	uint32_t want = json;

	return engine_request(e, DIR_IPC_STATUS_REQ, &want, sizeof(want), DIR_IPC_STATUS_REPLY,
			      ENGINE_REPLY_TIMEOUT_MS, text);
}

static void status_json_engine(struct engine *e, const char *key, struct strbuf *out)
{
	struct strbuf text;

	sb_init(&text);
	sb_printf(out, ",\"%s_engine\":{\"pid\":%d,\"restarts\":%u},\"%s\":", e->name, (int)e->pid, e->restarts,
		  key);
	if (engine_status(e, true, &text) == 0 && text.len > 0)
		sb_appendn(out, text.buf, text.len);
	else
		sb_append(out, "null");
	sb_free(&text);
}

static void status_text_engine(struct engine *e, struct strbuf *out)
{
	struct strbuf text;
	int ret;

	if (!engine_wanted(e->p, e) && e->pid <= 0) {
		sb_printf(out, "%s engine: not configured (no %s sections)\n", e->name, e->sections);
		return;
	}
	sb_init(&text);
	sb_printf(out, "%s engine: pid %d, %u restart(s)\n", e->name, (int)e->pid, e->restarts);
	ret = engine_status(e, false, &text);
	if (ret == 0)
		sb_appendn(out, text.buf, text.len);
	else
		sb_printf(out, "%s engine not answering: %s\n", e->name, strerror(-ret));
	sb_free(&text);
}

static void status(struct parent *p, bool json, struct strbuf *out)
{
	if (json) {
		struct json j;

		sb_printf(out, "{\"pid\":%d,\"uptime_s\":%lld,\"config\":", (int)getpid(),
			  (long long)(wall_time() - p->started));
		json_init(&j, out);
		json_string(&j, NULL, p->cfg->path);
		status_json_engine(&p->eng[ENG_VRRP], "vrrp", out);
		status_json_engine(&p->eng[ENG_LVS], "lvs", out);
		sb_append(out, "}\n");
		return;
	}
	sb_printf(out, "directord (pid %d), up %llds, config %s\n", (int)getpid(),
		  (long long)(wall_time() - p->started), p->cfg->path);
	status_text_engine(&p->eng[ENG_VRRP], out);
	status_text_engine(&p->eng[ENG_LVS], out);
}

/* drain|enable SERVICE SERVER, for the LVS engine. */
static void admin(struct parent *p, const struct ctl_request *req, enum lvs_admin what, struct strbuf *out)
{
	struct dir_ipc_admin m = { .admin = what };
	struct strbuf reply;
	int ret;

	if (strlen(req->argv[1]) >= sizeof(m.service) || strlen(req->argv[2]) >= sizeof(m.server)) {
		ctl_reply_error(out, "service or server name too long");
		return;
	}
	strlcpy_safe(m.service, req->argv[1], sizeof(m.service));
	strlcpy_safe(m.server, req->argv[2], sizeof(m.server));
	if (p->eng[ENG_LVS].pid <= 0) {
		ctl_reply_error(out, p->cfg->lvs.nservices ? "the lvs engine is not running (restarting?)" :
							      "no [virtual_server] sections in the configuration");
		return;
	}
	sb_init(&reply);
	ret = engine_request(&p->eng[ENG_LVS], DIR_IPC_ADMIN, &m, sizeof(m), DIR_IPC_ADMIN_REPLY,
			     ENGINE_REPLY_TIMEOUT_MS, &reply);
	if (ret < 0) {
		sb_reset(&reply);
		sb_printf(&reply, "the lvs engine is not answering: %s", strerror(-ret));
		ctl_reply_error(out, sb_str(&reply));
	} else if (reply.len > 0) {
		ctl_reply_error(out, sb_str(&reply));
	} else {
		drained_note(p, &m);
		ctl_reply_ok(out, NULL, NULL);
	}
	sb_free(&reply);
}

static void control(const struct ctl_request *req, struct strbuf *out, void *arg)
{
	struct parent *p = arg;
	const char *cmd = req->argv[0];

	if (strcmp(cmd, CTL_WORD_STATUS) == 0 && req->argc == 1) {
		status(p, false, out);
	} else if (strcmp(cmd, CTL_WORD_STATUS) == 0 && req->argc == 2 && strcmp(req->argv[1], CTL_WORD_JSON) == 0) {
		status(p, true, out);
	} else if (strcmp(cmd, CTL_WORD_RELOAD) == 0 && req->argc == 1) {
		struct strbuf why;

		sb_init(&why);
		if (reload(p, &why) == 0)
			ctl_reply_ok(out, NULL, NULL);
		else
			ctl_reply_error(out, sb_str(&why));
		sb_free(&why);
	} else if (strcmp(cmd, CTL_WORD_DRAIN) == 0 && req->argc == 3) {
		admin(p, req, LVS_ADMIN_DRAINED, out);
	} else if (strcmp(cmd, CTL_WORD_ENABLE) == 0 && req->argc == 3) {
		admin(p, req, LVS_ADMIN_ENABLED, out);
	} else {
		ctl_reply_error(out, "unknown command; expected status [json], reload, drain SERVICE SERVER "
				     "or enable SERVICE SERVER");
	}
}

static void open_control(struct parent *p)
{
	char err[256];
	int ret = ctlsock_serve(p->loop, p->cfg->control_socket, p->cfg->control_group, p->cfg->control_mode, 5000,
				control, p, &p->ctl_fd, &p->ctl, err, sizeof(err));

	if (ret == -EADDRINUSE)
		fatalx("%s: another directord is running", p->cfg->control_socket);
	if (ret < 0)
		fatalx("%s", err);
	if (!(p->ctl_path = strdup(p->cfg->control_socket)))
		fatalx("out of memory");
}

static void start_engines(struct parent *p)
{
	for (size_t i = 0; i < ENG_COUNT; i++) {
		struct engine *e = &p->eng[i];
		int ret;

		if (!engine_wanted(p, e))
			continue;
		if ((ret = engine_spawn(e)) < 0)
			fatalx("starting the %s engine: %s", e->name, strerror(-ret));
	}
}

int parent_main(struct director_config *cfg, bool do_detach)
{
	/* CAP_SYS_NICE only for the VRRP engine to make itself real-time
	 * (vrrp_proc.c); both engines drop it. */
	static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_NICE };
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct parent *p = calloc(1, sizeof(*p));
	int ret, ready_fd = -1;

	if (!p)
		fatalx("out of memory");
	p->cfg = cfg;
	p->ctl_fd = -1;
	p->started = wall_time();
	/* The VRRP engine keeps the timings it always had. */
	engine_init(p, &p->eng[ENG_VRRP], "vrrp", "[vrrp]", ENGINE_REPLY_TIMEOUT_MS, ENGINE_STOP_TIMEOUT_MS);
	engine_init(p, &p->eng[ENG_LVS], "lvs", "[virtual_server]", LVS_SLOW_TIMEOUT_MS, LVS_SLOW_TIMEOUT_MS);
	/* Detached, start-up errors still reach the terminal until it is done. */
	if (do_detach)
		ready_fd = daemon_detach("directord");
	if (evloop_new(&p->loop) < 0)
		fatalx("event loop");
	ev_timer_init(&p->relay_timer, relay_timer_cb, p);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (ev_signal_add(p->loop, sigs[i], on_signal, p) < 0)
			fatalx("signal handling");
	open_control(p);
	/* Without CAP_SYS_NICE to keep (a container, a unit that does not
	 * grant it) the VRRP engine says so and runs at normal priority. */
	ret = privdrop(cfg->user, keep,
		       ARRAY_SIZE(keep) - (cfg->vrrp_rt_priority == 0 || !cap_is_effective(CAP_SYS_NICE)));
	if (ret < 0)
		fatalx("dropping privileges to %s: %s", cfg->user, strerror(-ret));
	if (ready_fd >= 0)
		daemon_ready(ready_fd, "directord");
	start_engines(p);
	sd_notify_state("READY=1");
	log_info("running as %s: %zu VRRP instance(s), %zu virtual server(s)", cfg->user, cfg->ninstances,
		 cfg->lvs.nservices);
	ret = evloop_run(p->loop);
	if (p->ctl)
		ctlserver_stop(p->ctl);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	/* The one bound, not a path a reload brought (that takes effect at
	 * the next start, and may be another daemon's). */
	(void)unlink(p->ctl_path);
	free(p->ctl_path);
	evloop_free(p->loop);
	free(p->drained.items);
	director_config_free(p->cfg);
	free(p);
	return ret < 0 ? 1 : 0;
}
