/* directord's parent: owns the control socket, starts the two engines
 * (VRRP, and LVS when there are virtual servers), restarts one that dies
 * or whose loop stops answering its heartbeat, relays the VRRP engine's
 * state changes to the LVS engine, relays reloads, stops. It never
 * touches the network itself, so nothing it does can delay an advert, a
 * crash of one engine never touches the other, and it never waits for an
 * engine: questions to the engines are requests answered by id.
 * It also owns the metrics endpoint (global.metrics_listen): a scrape is
 * one more such request, each engine asked for its metrics the way a
 * status is asked, by id, and the parent answers with its own families
 * and theirs when both answered or ran out of time. So a scrape never
 * holds an engine's loop longer than rendering its own text (as
 * `directorctl status` does), an engine never knows the scrape's socket
 * or its client (a slow or hostile client holds only the parent's bounded
 * connection), and nothing is kept in step between processes; pushing
 * counters from the engines instead would cost the VRRP engine work at
 * every change whether or not anyone scrapes. At most METRICS_MAX_CLIENTS
 * scrapes are served at a time.
 * What it does to the outside (forking an engine, kill, the exit watch,
 * privdrop, sd_notify) goes through struct parent_ops (parent.h):
 * parent_system.c in the daemon, a test's fakes in
 * tests/unit/test_parent_engines.c, which plays the engines over
 * socketpairs and steps this loop (parent_start, parent_step, parent_end). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "ctlsock.h"
#include "daemonize.h"
#include "directord.h"
#include "evloop.h"
#include "httpserv.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "parent.h"
#include "director_state.h"
#include "privdrop.h"
#include "procwhere.h"
#include "promtext.h"
#include "vrrp.h"

#define ENGINE_STOP_TIMEOUT_MS 5000
/* Without a sign of life for this long an engine is taken as not
 * answering (a status in pieces restarts the clock at every piece). */
#define ENGINE_REPLY_TIMEOUT_MS 2000
/* The LVS engine may have tens of thousands of kernel objects to change
 * on a reload, or to delete at a stop (ipvs_on_stop = remove). */
#define LVS_SLOW_TIMEOUT_MS 30000
#define RELAY_RETRY_MS 1000
/* The LVS engine programs the whole IPVS table at its start in one go on
 * its loop (50,000 operations take seconds), and applies a reload of
 * thousands of services on it: its heartbeat may wait this long whatever
 * engine_heartbeat_timeout says. Its stalls delay checks, not adverts. */
#define LVS_HEARTBEAT_MIN_MS LVS_SLOW_TIMEOUT_MS
/* Pings per heartbeat timeout: a loop stuck just after an answer is found
 * within 5/4 of it. */
#define HEARTBEAT_PINGS 4
enum { ENG_VRRP, ENG_LVS, ENG_COUNT };
/* The metrics endpoint: scrapes at a time, one scrape's whole time (the
 * engines' bound and some), the largest answer. */
#define METRICS_MAX_CLIENTS 4
#define METRICS_TIMEOUT_MS (ENGINE_REPLY_TIMEOUT_MS + 8000)
#define METRICS_MAX_ANSWER (2 * DIR_STATUS_MAX + 65536)

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
	const struct parent_ops *ops;	/* the outside: processes, signals, systemd */
	struct evloop *loop;
	/* The configuration without its virtual servers, and the image of
	 * the whole (a sealed memfd) that a starting LVS engine reads them
	 * from: the parent, and the VRRP engine it forks, never hold tens of
	 * thousands of services they do not use. */
	struct director_config *cfg;
	int image;
	bool stopping;
	struct engine eng[ENG_COUNT];
	/* The last state of every VRRP instance, for an LVS engine that
	 * (re)starts after the changes were relayed. */
	struct dir_ipc_state states[DIR_MAX_INSTANCES];
	size_t nstates;
	struct ev_timer relay_timer;	/* the LVS engine's queue was full: resend all */
	struct lvs_drained_list drained;	/* by directorctl, for a restarted LVS engine */
	int state_fd;			/* global.state_dir (director_state.c); -1: none */
	bool state_unsaved;		/* the last write of state_dir failed */
	struct ctlserver *ctl;
	int ctl_fd;
	char *ctl_path;			/* the socket bound: a reload does not move it */
	struct httpsrv *metrics;	/* global.metrics_listen; NULL: none */
	uint64_t reloads_ok, reloads_failed;
	int64_t last_reload_ok;		/* wall clock: the start, then each reload applied */
	bool last_reload_failed;
	int64_t started;
	struct request *requests;	/* waiting for the engines' answers */
	uint32_t last_id;
	bool reloading;			/* a reload is checked or applied */
	struct cfgcheck_job *check_job;	/* a reload's file being checked */
	bool reload_again;		/* SIGHUP meanwhile: once more after it */
	struct ev_timer reload_timer;	/* that once more, from the loop */
	uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
};

/* A question to the engines, answered by id whenever they answer; the
 * parent's loop goes on meanwhile (signals, child exits, VRRP states,
 * other control requests). Finished when every engine asked has answered,
 * exited or run out of time; then the control client that asked (ticket)
 * gets the answer. */
enum request_kind { REQ_STATUS, REQ_RELOAD, REQ_ADMIN, REQ_METRICS, REQ_DIRECTOR };

struct request {
	struct parent *p;
	uint32_t id;
	enum request_kind kind;
	bool json;			/* REQ_STATUS */
	bool doctor;			/* REQ_STATUS: the LVS engine's DIR_STATUS_DOCTOR lines only */
	uint64_t ticket;		/* the control client's; 0: none (SIGHUP) */
	uint64_t scrape;		/* REQ_METRICS: the metrics client's ticket */
	bool waiting[ENG_COUNT];
	int result[ENG_COUNT];		/* 0, the engine's -errno, or why it did not answer */
	uint64_t bound_ms[ENG_COUNT];	/* how long an engine may take to answer, from its last piece */
	uint64_t heard_ms[ENG_COUNT];	/* when it was asked or last sent a piece */
	struct strbuf text[ENG_COUNT];	/* the answer's text (status, admin error) */
	struct strbuf why;		/* REQ_RELOAD: what the client is told */
	int check;			/* REQ_RELOAD: the file's check, 0: accepted */
	int start_failed;		/* REQ_RELOAD: an engine it brings did not start */
	struct dir_ipc_admin admin;	/* REQ_ADMIN: what was asked */
	struct dir_ipc_director director;	/* REQ_DIRECTOR: what was asked */
	struct ev_timer timer;
	struct request *next;
};

static int engine_spawn(struct engine *e);
static void request_heard(struct engine *e, const struct ipc_msg *msg);
static void requests_engine_gone(struct engine *e);

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
 * (the parent was busy checking a reload's file) count as well. */
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
		return;
	}
	request_heard(e, msg);
}

/* The channel failed. Closed: the engine is ending, and its exit is
 * watched (one that closes it and lives on is caught by its heartbeat).
 * Anything else is an engine that no longer speaks the protocol: it is
 * restarted, not left running half supervised. */
static void channel_failed(struct engine *e, int err)
{
	ev_fd_del(e->p->loop, e->ipc_fd);
	if (err == -ECONNRESET || e->pid <= 0)
		return;
	log_warnx("the %s engine sent what its channel cannot carry (%s): restarting it (pid %ld)", e->name,
		  strerror(-err), (long)e->pid);
	e->p->ops->kill(e->pid, SIGKILL);
}

static void ipc_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct engine *e = arg;
	struct ipc_msg msg;
	int ret;

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		ret = ipc_recv(fd, e->p->buf, sizeof(e->p->buf), &msg);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			channel_failed(e, ret);
			return;
		}
		handle_async(e, &msg);
	}
}

/* What waits in an engine's queue, read before its heartbeat is judged:
 * the parent's own delays never count against an engine. */
static int read_waiting(struct engine *e)
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
	e->p->ops->kill(e->pid, SIGKILL);
}

/* A request is a heartbeat too: with no ping outstanding, one goes with it. */
static void heartbeat_ping(struct engine *e, uint64_t now)
{
	if (e->ping_ms || !heartbeat_timeout_for(e->p->cfg->heartbeat_timeout_ms, e == &e->p->eng[ENG_LVS]))
		return;
	e->ping_ms = now;
	(void)ipc_send(e->ipc_fd, DIR_IPC_PING, &e->ping_ms, sizeof(e->ping_ms));
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
	int ret;

	if (e->pid <= 0 || e->ipc_fd < 0 || e->leaving || e->p->stopping)
		return;		/* started again with the next engine */
	if ((ret = read_waiting(e)) < 0 && ret != -ECONNRESET) {
		channel_failed(e, ret);
		return;		/* killed: its exit starts the next one */
	}
	/* A closed channel answers nothing: an engine that closed it and
	 * does not exit is killed when its time is up. */
	now = now_ms();
	if (heartbeat_step(&e->ping_ms, now, timeout, &next)) {
		heartbeat_missed(e, now - e->ping_ms);
		return;
	}
	/* A full queue is an engine not reading: its clock runs on. */
	(void)ipc_send(e->ipc_fd, DIR_IPC_PING, &e->ping_ms, sizeof(e->ping_ms));
	ev_timer_start(loop, t, next);
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
	requests_engine_gone(e);
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
	e->backoff_ms = ran >= STABLE_RUN_MS || e->backoff_ms == 0 ? RESTART_BACKOFF_MIN_MS :
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

static int engine_spawn(struct engine *e)
{
	struct parent *p = e->p;
	struct parent_spawn what = {
		.lvs = e == &p->eng[ENG_LVS],
		.loop = p->loop,
		.cfg = p->cfg,
		.image = p->image,
		.drained = &p->drained,
	};
	int fd, ret;
	pid_t pid;

	if ((ret = p->ops->spawn(&what, &fd, &pid)) < 0)
		return ret;
	e->ipc_fd = fd;
	e->pid = pid;
	e->leaving = false;
	e->started_ms = now_ms();
	e->ping_ms = 0;
	ev_timer_start(p->loop, &e->heartbeat_timer, 0);
	ret = ev_fd_add(p->loop, e->ipc_fd, EPOLLIN, ipc_readable, e);
	if (ret == 0)
		ret = p->ops->watch(p->loop, pid, engine_exited, e);
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
		e->p->ops->kill(e->pid, SIGTERM);
	ev_timer_start(e->p->loop, &e->kill_timer, e->stop_ms);
}

static void kill_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct engine *e = arg;

	(void)loop;
	(void)t;
	if (e->pid > 0) {
		log_warnx("%s engine did not stop in time; killing it", e->name);
		e->p->ops->kill(e->pid, SIGKILL);
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
 * (added back later, it starts as the file says). The parent keeps no
 * virtual servers: they are looked at once, in the new image. */
static void drained_seen(const struct virtual_server_conf *vs, void *arg)
{
	struct parent *p = arg;

	for (size_t i = 0; i < p->drained.n; i++) {
		struct lvs_drained *d = &p->drained.items[i];

		if (strcasecmp(vs->name, d->service) == 0 && virtual_server_find_rs(vs, d->server))
			d->seen = true;
	}
}

static void drained_prune(struct parent *p, int image)
{
	struct director_config *scan = NULL;
	int ret;

	if (p->drained.n == 0)
		return;
	for (size_t i = 0; i < p->drained.n; i++)
		p->drained.items[i].seen = false;
	if ((ret = director_config_from_image_fd(image, drained_seen, p, &scan)) < 0) {
		log_warnx("reload: cannot look for drained servers in the new configuration: %s", strerror(-ret));
		return;		/* all kept: a restarted engine says which are gone */
	}
	director_config_free(scan);
	for (size_t i = 0; i < p->drained.n;) {
		const struct lvs_drained *d = &p->drained.items[i];

		if (d->seen) {
			i++;
			continue;
		}
		log_info("%s %s: no longer in the configuration; forgetting that it was drained", d->service,
			 d->server);
		p->drained.items[i] = p->drained.items[--p->drained.n];
	}
}

/* ---- requests to the engines ---- */

/* How long a control client may wait for the engines: status and admin
 * answers come in ENGINE_REPLY_TIMEOUT_MS (from the last piece), a reload
 * is checked and then applied by the LVS engine in LVS_SLOW_TIMEOUT_MS. */
#define CTL_WAIT_MS (CONFIG_CHECK_TIMEOUT_MS + LVS_SLOW_TIMEOUT_MS + 5000)

static void request_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg);
static void request_finish(struct request *r);

static struct request *request_new(struct parent *p, enum request_kind kind, uint64_t ticket)
{
	struct request *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->p = p;
	r->kind = kind;
	r->ticket = ticket;
	if (++p->last_id == 0)
		++p->last_id;	/* 0 is no request */
	r->id = p->last_id;
	for (size_t i = 0; i < ENG_COUNT; i++) {
		r->result[i] = -ESRCH;	/* not asked: not running */
		sb_init(&r->text[i]);
	}
	sb_init(&r->why);
	ev_timer_init(&r->timer, request_timer_cb, r);
	r->next = p->requests;
	p->requests = r;
	return r;
}

static void request_free(struct request *r)
{
	struct request **pp;

	for (pp = &r->p->requests; *pp && *pp != r; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = r->next;
	ev_timer_stop(r->p->loop, &r->timer);
	for (size_t i = 0; i < ENG_COUNT; i++)
		sb_free(&r->text[i]);
	sb_free(&r->why);
	free(r);
}

static bool request_waits(const struct request *r)
{
	for (size_t i = 0; i < ENG_COUNT; i++)
		if (r->waiting[i])
			return true;
	return false;
}

/* Wake when the first engine still asked runs out of time. */
static void request_arm(struct request *r)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < ENG_COUNT; i++)
		if (r->waiting[i] && r->heard_ms[i] + r->bound_ms[i] < due)
			due = r->heard_ms[i] + r->bound_ms[i];
	if (due != UINT64_MAX)
		(void)ev_timer_start_at(r->p->loop, &r->timer, due);
}

/* Ask e; what it answers, or why it does not, is r->result. */
/* Ask engine e (with a descriptor, or -1), answered within bound_ms. */
static void request_ask_fd(struct request *r, struct engine *e, uint16_t type, const void *payload, size_t len,
			   int fd, uint64_t bound_ms)
{
	size_t i = (size_t)(e - r->p->eng);
	int ret;

	if (e->pid <= 0 || e->ipc_fd < 0)
		return;		/* -ESRCH */
	heartbeat_ping(e, now_ms());
	if ((ret = ipc_send_fd(e->ipc_fd, type, payload, len, fd)) < 0) {
		r->result[i] = ret;	/* a full queue is an engine not reading */
		return;
	}
	r->result[i] = 0;
	r->waiting[i] = true;
	r->bound_ms[i] = bound_ms;
	r->heard_ms[i] = now_ms();
	request_arm(r);
}

static void request_ask(struct request *r, struct engine *e, uint16_t type, const void *payload, size_t len,
			uint64_t bound_ms)
{
	request_ask_fd(r, e, type, payload, len, -1, bound_ms);
}

/* Engine i is done with r; r ends with the last one. */
static void request_engine_done(struct request *r, size_t i, int result)
{
	r->waiting[i] = false;
	r->result[i] = result;
	if (request_waits(r))
		request_arm(r);
	else
		request_finish(r);
}

static void request_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct request *r = arg;
	uint64_t now = now_ms();

	(void)loop;
	(void)t;
	for (size_t i = 0; i < ENG_COUNT; i++)
		if (r->waiting[i] && now >= r->heard_ms[i] + r->bound_ms[i]) {
			r->waiting[i] = false;
			r->result[i] = -ETIMEDOUT;
		}
	if (request_waits(r))
		request_arm(r);
	else
		request_finish(r);
}

static bool answer_fits(const struct request *r, uint16_t type)
{
	switch (type) {
	case DIR_IPC_STATUS_PART:
	case DIR_IPC_STATUS_REPLY:
		return r->kind == REQ_STATUS || r->kind == REQ_METRICS;
	case DIR_IPC_ADMIN_REPLY:
		return r->kind == REQ_ADMIN;
	case DIR_IPC_DIRECTOR_REPLY:
		return r->kind == REQ_DIRECTOR;
	case DIR_IPC_RELOAD_REPLY:
		return r->kind == REQ_RELOAD;
	default:
		return false;
	}
}

/* An engine's answer, to the request its id names. One to a request that
 * already ended (it ran out of time) is dropped. */
static void request_heard(struct engine *e, const struct ipc_msg *msg)
{
	size_t i = (size_t)(e - e->p->eng), len;
	struct dir_ipc_result res;
	struct request *r;
	uint32_t id;

	if (msg->len < sizeof(id))
		return;
	memcpy(&id, msg->payload, sizeof(id));
	for (r = e->p->requests; r && r->id != id; r = r->next)
		;
	if (!r || !r->waiting[i] || !answer_fits(r, msg->type))
		return;
	if (msg->type == DIR_IPC_RELOAD_REPLY) {
		request_engine_done(r, i, ipc_payload_fixed(msg, &res, sizeof(res)) < 0 ? -EBADMSG : res.result);
		return;
	}
	len = msg->len - sizeof(id);
	if (r->text[i].len + len > DIR_STATUS_MAX) {
		request_engine_done(r, i, -EMSGSIZE);
		return;
	}
	sb_appendn(&r->text[i], (const char *)msg->payload + sizeof(id), len);
	if (r->text[i].failed) {
		request_engine_done(r, i, -ENOMEM);
	} else if (msg->type == DIR_IPC_STATUS_PART) {
		r->heard_ms[i] = now_ms();	/* a sign of life: its bound starts again */
		request_arm(r);
	} else {
		request_engine_done(r, i, 0);
	}
}

/* An engine that exited answers nothing more. */
static void requests_engine_gone(struct engine *e)
{
	size_t i = (size_t)(e - e->p->eng);
	struct request *r, *next;

	for (r = e->p->requests; r; r = next) {
		next = r->next;
		if (r->waiting[i])
			request_engine_done(r, i, -ECONNRESET);
	}
}

/* ---- status ---- */

static void status_json_engine(const struct request *r, size_t i, struct strbuf *out)
{
	const struct engine *e = &r->p->eng[i];

	sb_printf(out, ",\"%s_engine\":{\"pid\":%d,\"restarts\":%u},\"%s\":", e->name, (int)e->pid, e->restarts,
		  e->name);
	if (r->result[i] == 0 && r->text[i].len > 0)
		sb_appendn(out, r->text[i].buf, r->text[i].len);
	else
		sb_append(out, "null");
}

static void status_text_engine(const struct request *r, size_t i, struct strbuf *out)
{
	const struct engine *e = &r->p->eng[i];

	if (!engine_wanted(r->p, e) && e->pid <= 0) {
		sb_printf(out, "%s engine: not configured (no %s sections)\n", e->name, e->sections);
		return;
	}
	sb_printf(out, "%s engine: pid %d, %u restart(s)\n", e->name, (int)e->pid, e->restarts);
	if (r->result[i] == 0)
		sb_appendn(out, r->text[i].buf, r->text[i].len);
	else
		sb_printf(out, "%s engine not answering: %s\n", e->name, strerror(-r->result[i]));
}

static void status_finish(const struct request *r, struct strbuf *out)
{
	const struct parent *p = r->p;

	if (r->doctor) {
		if (r->result[ENG_LVS] == 0)
			sb_appendn(out, r->text[ENG_LVS].buf ? r->text[ENG_LVS].buf : "", r->text[ENG_LVS].len);
		else
			ctl_reply_error(out, p->cfg->lvs.nservices ? "the lvs engine is not answering (restarting?)" :
								      "no [virtual_server] sections in the configuration");
		return;
	}
	if (r->json) {
		struct json j;

		sb_printf(out, "{\"pid\":%d,\"uptime_s\":%lld,\"config\":", (int)getpid(),
			  (long long)(wall_time() - p->started));
		json_init(&j, out);
		json_string(&j, NULL, p->cfg->path);
		status_json_engine(r, ENG_VRRP, out);
		status_json_engine(r, ENG_LVS, out);
		sb_append(out, "}\n");
		return;
	}
	sb_printf(out, "directord (pid %d), up %llds, config %s\n", (int)getpid(),
		  (long long)(wall_time() - p->started), p->cfg->path);
	status_text_engine(r, ENG_VRRP, out);
	status_text_engine(r, ENG_LVS, out);
}

static void status_begin(struct request *r, bool json)
{
	struct dir_ipc_status_req q = { .id = r->id, .json = json };

	r->json = json;
	for (size_t i = 0; i < ENG_COUNT; i++)
		request_ask(r, &r->p->eng[i], DIR_IPC_STATUS_REQ, &q, sizeof(q), ENGINE_REPLY_TIMEOUT_MS);
}

/* `directorctl doctor`: what to probe, from the LVS engine alone. */
static void doctor_begin(struct request *r)
{
	struct dir_ipc_status_req q = { .id = r->id, .json = DIR_STATUS_DOCTOR };

	r->doctor = true;
	request_ask(r, &r->p->eng[ENG_LVS], DIR_IPC_STATUS_REQ, &q, sizeof(q), ENGINE_REPLY_TIMEOUT_MS);
}

/* ---- metrics ---- */

/* The parent's own families: the engines, reloads, the endpoint. */
static void metrics_parent(const struct request *r, struct strbuf *out)
{
	const struct parent *p = r->p;
	const struct httpsrv_counters *h = httpsrv_counters(p->metrics);

	prom_family(out, "dsrkit_engine_up", "gauge", "1 when the engine runs and gave its metrics to this scrape.");
	for (size_t i = 0; i < ENG_COUNT; i++)
		if (engine_wanted(p, &p->eng[i]) || p->eng[i].pid > 0)
			prom_u64(out, "dsrkit_engine_up", p->eng[i].pid > 0 && r->result[i] == 0 && r->text[i].len > 0,
				 "engine", p->eng[i].name, NULL);
	prom_family(out, "dsrkit_engine_restarts_total", "counter",
		    "Engines restarted by the parent (crashed, or stuck past engine_heartbeat_timeout).");
	for (size_t i = 0; i < ENG_COUNT; i++)
		prom_u64(out, "dsrkit_engine_restarts_total", p->eng[i].restarts, "engine", p->eng[i].name, NULL);
	prom_family(out, "dsrkit_reloads_total", "counter", "Reloads, by result (failure: refused or not applied).");
	prom_u64(out, "dsrkit_reloads_total", p->reloads_ok, "result", "success", NULL);
	prom_u64(out, "dsrkit_reloads_total", p->reloads_failed, "result", "failure", NULL);
	prom_family(out, "dsrkit_config_last_reload_successful", "gauge", "1 unless the last reload failed.");
	prom_u64(out, "dsrkit_config_last_reload_successful", !p->last_reload_failed, NULL);
	prom_family(out, "dsrkit_config_last_reload_success_timestamp_seconds", "gauge",
		    "When the configuration running was loaded (start or reload), seconds since the epoch.");
	prom_int(out, "dsrkit_config_last_reload_success_timestamp_seconds", p->last_reload_ok, NULL);
	prom_family(out, "dsrkit_start_time_seconds", "gauge", "When directord started, seconds since the epoch.");
	prom_int(out, "dsrkit_start_time_seconds", p->started, NULL);
	prom_family(out, "dsrkit_metrics_refused_connections_total", "counter",
		    "Connections to metrics_listen closed unanswered, by reason.");
	prom_u64(out, "dsrkit_metrics_refused_connections_total", h->refused_addr, "reason", "not_allowed", NULL);
	prom_u64(out, "dsrkit_metrics_refused_connections_total", h->refused_busy, "reason", "busy", NULL);
}

static void metrics_finish(struct request *r)
{
	struct strbuf out;

	if (!r->p->metrics)
		return;
	sb_init(&out);
	metrics_parent(r, &out);
	for (size_t i = 0; i < ENG_COUNT; i++)
		if (r->result[i] == 0)
			sb_appendn(&out, r->text[i].buf ? r->text[i].buf : "", r->text[i].len);
	if (out.failed)
		(void)httpsrv_answer(r->p->metrics, r->scrape, 500, "out of memory\n", 14);
	else
		(void)httpsrv_answer(r->p->metrics, r->scrape, 200, out.buf, out.len);
	sb_free(&out);
}

static void metrics_scrape(struct httpsrv *s, uint64_t ticket, void *arg)
{
	struct dir_ipc_status_req q = { .json = DIR_STATUS_METRICS };
	struct parent *p = arg;
	struct request *r = request_new(p, REQ_METRICS, 0);

	if (!r) {
		(void)httpsrv_answer(s, ticket, 500, "out of memory\n", 14);
		return;
	}
	r->scrape = ticket;
	q.id = r->id;
	for (size_t i = 0; i < ENG_COUNT; i++)
		request_ask(r, &p->eng[i], DIR_IPC_STATUS_REQ, &q, sizeof(q), ENGINE_REPLY_TIMEOUT_MS);
	if (!request_waits(r))
		request_finish(r);	/* no engine to ask */
}

static struct httpsrv_conf metrics_conf(const struct director_config *cfg)
{
	return (struct httpsrv_conf){ .allow = &cfg->metrics_allow, .max_clients = METRICS_MAX_CLIENTS,
				      .timeout_ms = METRICS_TIMEOUT_MS, .max_answer = METRICS_MAX_ANSWER };
}

/* Before the privilege drop: a port below 1024 needs root. */
static void open_metrics(struct parent *p)
{
	struct httpsrv_conf conf = metrics_conf(p->cfg);
	char addr[INET6_ADDRSTRLEN];
	int fd, ret;

	if (!p->cfg->metrics_listen.addr.family)
		return;
	ipaddr_ntop(&p->cfg->metrics_listen.addr, addr, sizeof(addr));
	if ((fd = tcp_listen_open(&p->cfg->metrics_listen, 16)) < 0)
		fatalx("global.metrics_listen %s port %u: %s", addr, p->cfg->metrics_listen.port, strerror(-fd));
	if ((ret = httpsrv_start(p->loop, fd, &conf, metrics_scrape, p, &p->metrics)) < 0)
		fatalx("global.metrics_listen: %s", strerror(-ret));
}

/* A reload: the new allow list; the address stays until a restart. */
static void metrics_reload(struct parent *p, const struct director_config *fresh)
{
	struct httpsrv_conf conf = metrics_conf(fresh);

	if (!ini_endpoint_equal(&p->cfg->metrics_listen, &fresh->metrics_listen))
		log_warnx("reload: global.metrics_listen takes effect at the next restart");
	if (p->metrics && httpsrv_update(p->metrics, &conf) < 0)
		log_warnx("reload: out of memory: global.metrics_allow keeps its old value");
}

/* ---- drain|enable SERVICE SERVER, for the LVS engine ---- */

/* Whether the LVS engine left a request unanswered; if so, the error
 * answer is written into out. */
static bool lvs_unanswered(const struct request *r, struct strbuf *out)
{
	struct strbuf why;

	if (r->result[ENG_LVS] >= 0)
		return false;
	sb_init(&why);
	sb_printf(&why, "the lvs engine is not answering: %s", strerror(-r->result[ENG_LVS]));
	ctl_reply_error(out, sb_str(&why));
	sb_free(&why);
	return true;
}

static void admin_finish(struct request *r, struct strbuf *out)
{
	if (lvs_unanswered(r, out))
		return;
	if (r->text[ENG_LVS].len > 0) {
		ctl_reply_error(out, sb_str(&r->text[ENG_LVS]));
		return;
	}
	drained_note(r->p, &r->admin);
	ctl_reply_ok(out, NULL, NULL);
}

/* Whether a drain or enable can be asked of the LVS engine; if not, the
 * error answer is written into out. */
static bool admin_valid(struct parent *p, const struct ctl_request *req, struct strbuf *out)
{
	struct dir_ipc_admin m;

	if (strlen(req->argv[1]) >= sizeof(m.service) || strlen(req->argv[2]) >= sizeof(m.server)) {
		ctl_reply_error(out, "service or server name too long");
		return false;
	}
	if (p->eng[ENG_LVS].pid <= 0) {
		ctl_reply_error(out, p->cfg->lvs.nservices ? "the lvs engine is not running (restarting?)" :
							      "no [virtual_server] sections in the configuration");
		return false;
	}
	return true;
}

static void admin_begin(struct request *r, const struct ctl_request *req, enum lvs_admin what)
{
	r->admin.id = r->id;
	r->admin.admin = what;
	strlcpy_safe(r->admin.service, req->argv[1], sizeof(r->admin.service));
	strlcpy_safe(r->admin.server, req->argv[2], sizeof(r->admin.server));
	request_ask(r, &r->p->eng[ENG_LVS], DIR_IPC_ADMIN, &r->admin, sizeof(r->admin), ENGINE_REPLY_TIMEOUT_MS);
}

/* ---- drain-director | enable-director, for the LVS engine ---- */

/* The engine's text goes to directorctl as it is; the state is kept for
 * a restarted engine and, in state_dir, for a restarted directord. */
static void director_finish(struct request *r, struct strbuf *out)
{
	const struct strbuf *text = &r->text[ENG_LVS];
	struct parent *p = r->p;
	bool drained = r->director.drained != 0;
	int ret;

	if (lvs_unanswered(r, out))
		return;
	if (text->len == 0 || strncmp(sb_str(text), "error: ", 7) == 0) {
		ctl_reply_error(out, text->len ? sb_str(text) + 7 : "no answer");
		return;
	}
	sb_appendn(out, text->buf, text->len);
	/* drain-director --wait asks again every 250 ms: the file is written
	 * when the state changes (or its last write failed), not each time. */
	if (p->drained.director_drained == drained && !p->state_unsaved)
		return;
	p->drained.director_drained = drained;
	ret = p->state_fd >= 0 ? director_state_drained_save(p->state_fd, drained) : -EBADF;
	p->state_unsaved = ret < 0;
	if (ret < 0) {
		log_warnx("directorctl %s-director: not kept across a restart of directord: %s", drained ? "drain" :
			  "enable", ret == -EBADF ? "no state_dir" : strerror(-ret));
		sb_printf(out, "warning: not kept across a restart of directord (%s)\n",
			  ret == -EBADF ? "no usable state_dir, see the log" : strerror(-ret));
	}
}

static bool director_valid(struct parent *p, struct strbuf *out)
{
	if (p->eng[ENG_LVS].pid <= 0) {
		ctl_reply_error(out, p->cfg->lvs.nservices ? "the lvs engine is not running (restarting?)" :
							      "no [virtual_server] sections in the configuration");
		return false;
	}
	return true;
}

static void director_begin(struct request *r, bool drained)
{
	r->director.id = r->id;
	r->director.drained = drained;
	request_ask(r, &r->p->eng[ENG_LVS], DIR_IPC_DIRECTOR, &r->director, sizeof(r->director),
		    ENGINE_REPLY_TIMEOUT_MS);
}

/* At start, as root: the state directory made and given to the daemon's
 * user, and what it says. Only when something is announced: the state
 * is about announcements alone. Failing is not fatal: drain-director then
 * says that it is not kept. */
static void open_state_dir(struct parent *p)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	int ret;

	p->state_fd = -1;
	if (!p->cfg->lvs.nannounced || !p->cfg->state_dir)
		return;
	if (geteuid() == 0 && (ret = user_lookup(p->cfg->user, &uid, &gid)) < 0) {
		log_warnx("state_dir %s: user %s: %s", p->cfg->state_dir, p->cfg->user, strerror(-ret));
		return;
	}
	ret = director_state_open(p->cfg->state_dir, geteuid() == 0, uid, gid);
	if (ret < 0) {
		log_warnx("state_dir %s: %s: drain-director will not survive a restart", p->cfg->state_dir,
			  strerror(-ret));
		return;
	}
	p->state_fd = ret;
	if ((ret = director_state_drained_load(p->state_fd, &p->drained.director_drained)) < 0) {
		p->state_unsaved = true;	/* written again at the next request */
		log_warnx("state_dir %s: director-drained: %s: taken as not drained", p->cfg->state_dir,
			  strerror(-ret));
	} else if (p->drained.director_drained) {
		log_info("the director is drained (directorctl drain-director): nothing is announced until "
			 "directorctl enable-director");
	}
}

/* A reload that announces a service for the first time: the directory,
 * if root made it before (the parent is no longer root and cannot). */
static void state_dir_reload(struct parent *p, const struct director_config *fresh)
{
	const char *path = p->cfg->state_dir;
	int ret;

	if (path && fresh->state_dir && strcmp(path, fresh->state_dir) != 0)
		log_warnx("reload: global.state_dir takes effect at the next restart");
	if (p->state_fd >= 0 || !fresh->lvs.nannounced || !path)
		return;
	if ((ret = director_state_open(path, false, getuid(), getgid())) < 0) {
		log_warnx("state_dir %s: %s: drain-director will not survive a restart (it is made at start)", path,
			  strerror(-ret));
		return;
	}
	p->state_fd = ret;
	p->state_unsaved = true;	/* it has not heard of a drain before now */
}

/* ---- reload and stop ---- */

static void reload_apply(struct request *r, int image);

/* The file, read once, parsed and checked once, in a child process (a
 * crash or a hang of a check refuses it instead of ending the daemon)
 * while the loop goes on; what the child loaded comes back as an image
 * (cfgcheck.h, config_image.c), rebuilt here and handed on to the engines
 * as it is. Every message is logged and goes to the one who asked. */
static void reload_checked(int ret, void *cfg, int image, const struct ini_diag *diag, void *arg)
{
	struct request *r = arg;

	r->p->check_job = NULL;
	director_config_free(cfg);	/* none: director_config_reload_loader's */
	if (r->p->stopping && ret == 0) {
		ret = -ECANCELED;	/* stopping: nothing more is started */
		sb_printf(&r->why, "reload abandoned: directord is stopping");
	}
	for (size_t i = 0; i < diag->n; i++) {
		log_warnx("%s", diag->msgs[i]);
		sb_printf(&r->why, "%s%s", i ? "\n" : "", diag->msgs[i]);
	}
	if ((r->check = ret) < 0) {
		if (image >= 0)
			close(image);
		request_finish(r);	/* why says it; nothing was applied */
		return;
	}
	reload_apply(r, image);	/* keeps the image */
}

static void reload_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg);

/* After the engines answered (or not): what each said, engines whose
 * sections went are stopped, and a SIGHUP that came meanwhile reloads
 * once more. */
static void reload_finish(struct request *r, struct strbuf *out)
{
	struct parent *p = r->p;
	int ret = r->check;

	for (size_t i = 0; r->check == 0 && i < ENG_COUNT; i++) {
		struct engine *e = &p->eng[i];
		int res = r->result[i];

		if (res < 0 && res != -ESRCH)
			sb_printf(&r->why, "%sthe %s engine could not reload: %s", r->why.len ? "\n" : "", e->name,
				  strerror(-res));
		if (res < 0 && res != -ESRCH && ret == 0)
			ret = res;
		if (!engine_wanted(p, e) && e->pid > 0 && !e->leaving) {
			log_info("no %s sections any more: stopping the %s engine", e->sections, e->name);
			engine_stop(e);
		}
	}
	if (ret == 0)
		ret = r->start_failed;
	p->last_reload_failed = ret != 0;
	if (ret == 0) {
		p->reloads_ok++;
		p->last_reload_ok = wall_time();
	} else {
		p->reloads_failed++;
	}
	if (ret == 0)
		ctl_reply_ok(out, NULL, NULL);
	else
		ctl_reply_error(out, sb_str(&r->why));
	p->reloading = false;
	p->ops->notify("READY=1");
	if (p->reload_again) {
		p->reload_again = false;
		(void)ev_timer_start(p->loop, &p->reload_timer, 0);
	}
}

/* An error answer to a deferred control request (none for ticket 0). */
static void answer_error(struct parent *p, uint64_t ticket, const char *msg)
{
	struct strbuf out;

	if (!ticket || !p->ctl)
		return;
	sb_init(&out);
	ctl_reply_error(&out, msg);
	(void)ctlserver_answer(p->ctl, ticket, sb_str(&out), out.len);
	sb_free(&out);
}

/* Start a reload: the file is checked in a child (bounded), and
 * reload_checked() goes on when it is done; the loop meanwhile answers
 * everything else. ticket 0: a SIGHUP, nobody to answer. */
static void reload_begin(struct parent *p, uint64_t ticket)
{
	struct request *r;
	int ret;

	if (p->reloading && !ticket) {
		log_info("SIGHUP during a reload: reloading again after it");
		p->reload_again = true;
		return;
	}
	if (p->reloading) {
		answer_error(p, ticket, "a reload is in progress: ask again when it is done");
		return;
	}
	if (!(r = request_new(p, REQ_RELOAD, ticket))) {
		log_warnx("reload: out of memory");
		answer_error(p, ticket, "out of memory");
		return;
	}
	log_info("reloading %s", p->cfg->path);
	p->ops->notify("RELOADING=1");
	p->reloading = true;
	if ((ret = cfgcheck_reload_start(p->loop, &director_config_reload_loader, p->cfg->path, CONFIG_CHECK_TIMEOUT_MS, reload_checked, r,
					 &p->check_job)) < 0) {
		sb_printf(&r->why, "reload refused: the configuration check cannot run: %s", strerror(-ret));
		r->check = ret;
		request_finish(r);
	}
}

/* The file was accepted and loaded: the parent keeps it for the engines it
 * starts, asks each running engine to apply it and starts the ones it
 * brings; the answer comes when the engines have answered. */
static void reload_apply(struct request *r, int image)
{
	struct dir_ipc_reload req = { .id = r->id };
	struct parent *p = r->p;
	struct director_config *old, *fresh = NULL;
	int ret;

	/* The running engines first: they rebuild it beside their loops
	 * while the parent reads its own view (an LVS engine whose virtual
	 * servers all went deletes them, then leaves if its sections are
	 * gone). */
	for (size_t i = 0; i < ENG_COUNT; i++) {
		struct engine *e = &p->eng[i];

		if (e->pid > 0 && !e->leaving)
			request_ask_fd(r, e, DIR_IPC_RELOAD, &req, sizeof(req), image, e->reload_ms);
	}
	if ((ret = director_config_parent_view(image, &fresh)) < 0) {
		/* Out of memory: the engines run the new configuration, which
		 * one restarted gets too; the parent's own settings stay. */
		log_warnx("reload: the parent cannot read the new configuration itself (%s); "
			  "it keeps its own settings until the next reload", strerror(-ret));
		sb_printf(&r->why, "%sthe parent could not read the new configuration: %s", r->why.len ? "\n" : "",
			  strerror(-ret));
		r->start_failed = ret;
		if (p->image >= 0)
			close(p->image);
		p->image = image;
		if (!request_waits(r))
			request_finish(r);
		return;
	}
	if (strcmp(p->cfg->control_socket, fresh->control_socket) != 0 || strcmp(p->cfg->user, fresh->user) != 0)
		log_warnx("reload: global.control_socket / global.user take effect at the next restart");
	if (p->cfg->vrrp_rt_priority != fresh->vrrp_rt_priority)
		log_warnx("reload: global.vrrp_realtime_priority takes effect at the next restart");
	state_dir_reload(p, fresh);
	director_config_log_warnings(fresh);
	metrics_reload(p, fresh);
	/* The parent keeps the configuration for engines it starts or
	 * restarts; the old one is freed once the engines were asked (tens
	 * of thousands of allocations: not before them). */
	old = p->cfg;
	p->cfg = fresh;
	if (p->image >= 0)
		close(p->image);
	p->image = image;
	forget_states(p);
	drained_prune(p, image);
	for (size_t i = 0; i < ENG_COUNT; i++) {
		struct engine *e = &p->eng[i];
		bool wanted = engine_wanted(p, e);

		if (e->pid > 0 && !e->leaving)
			continue;	/* asked above */
		if (wanted && e->pid <= 0 && !ev_timer_armed(&e->restart_timer)) {
			e->backoff_ms = 0;
			if ((ret = engine_spawn(e)) < 0) {
				sb_printf(&r->why, "%sstarting the %s engine: %s", r->why.len ? "\n" : "", e->name,
					  strerror(-ret));
				r->start_failed = ret;
			}
		} else if (!wanted) {
			ev_timer_stop(p->loop, &e->restart_timer);
		}
	}
	director_config_free(old);
	if (!request_waits(r))
		request_finish(r);
}

static void reload_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	reload_begin(arg, 0);
}

static void request_finish(struct request *r)
{
	struct strbuf out;

	sb_init(&out);
	switch (r->kind) {
	case REQ_STATUS:
		status_finish(r, &out);
		break;
	case REQ_ADMIN:
		admin_finish(r, &out);
		break;
	case REQ_DIRECTOR:
		director_finish(r, &out);
		break;
	case REQ_RELOAD:
		reload_finish(r, &out);
		break;
	case REQ_METRICS:
		metrics_finish(r);
		break;
	}
	if (out.failed) {
		sb_free(&out);
		sb_init(&out);
		ctl_reply_error(&out, "out of memory");
	}
	if (r->ticket && r->p->ctl)
		(void)ctlserver_answer(r->p->ctl, r->ticket, sb_str(&out), out.len);
	sb_free(&out);
	request_free(r);
}

static void begin_stop(struct parent *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	p->ops->notify("STOPPING=1");
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
		reload_begin(p, 0);
		return;
	}
	log_info("%s: stopping", strsignal(signo));
	begin_stop(p);
}

/* ---- control socket ---- */

/* The request's answer comes later, from request_finish(). */
static struct request *deferred(struct parent *p, enum request_kind kind, struct strbuf *out)
{
	struct request *r = request_new(p, kind, 0);

	if (!r || !(r->ticket = ctlserver_defer(p->ctl, CTL_WAIT_MS))) {
		if (r)
			request_free(r);
		ctl_reply_error(out, "out of memory");
		return NULL;
	}
	return r;
}

static void control(const struct ctl_request *req, struct strbuf *out, void *arg)
{
	struct parent *p = arg;
	const char *cmd = req->argv[0];
	struct request *r;

	if (strcmp(cmd, CTL_WORD_STATUS) == 0 && (req->argc == 1 ||
	    (req->argc == 2 && strcmp(req->argv[1], CTL_WORD_JSON) == 0))) {
		if ((r = deferred(p, REQ_STATUS, out)))
			status_begin(r, req->argc == 2);
	} else if (strcmp(cmd, CTL_WORD_DOCTOR) == 0 && req->argc == 1) {
		if ((r = deferred(p, REQ_STATUS, out)))
			doctor_begin(r);
	} else if (strcmp(cmd, CTL_WORD_RELOAD) == 0 && req->argc == 1) {
		uint64_t ticket = ctlserver_defer(p->ctl, CTL_WAIT_MS);

		if (ticket)
			reload_begin(p, ticket);
		else
			ctl_reply_error(out, "out of memory");
		return;
	} else if ((strcmp(cmd, CTL_WORD_DRAIN) == 0 || strcmp(cmd, CTL_WORD_ENABLE) == 0) && req->argc == 3) {
		if (!admin_valid(p, req, out) || !(r = deferred(p, REQ_ADMIN, out)))
			return;
		admin_begin(r, req, strcmp(cmd, CTL_WORD_DRAIN) == 0 ? LVS_ADMIN_DRAINED : LVS_ADMIN_ENABLED);
	} else if ((strcmp(cmd, CTL_WORD_DRAIN_DIRECTOR) == 0 || strcmp(cmd, CTL_WORD_ENABLE_DIRECTOR) == 0) &&
		   req->argc == 1) {
		if (!director_valid(p, out) || !(r = deferred(p, REQ_DIRECTOR, out)))
			return;
		director_begin(r, strcmp(cmd, CTL_WORD_DRAIN_DIRECTOR) == 0);
	} else {
		ctl_reply_error(out, "unknown command; expected status [json], reload, drain SERVICE SERVER, "
				     "enable SERVICE SERVER, drain-director, enable-director or doctor");
		return;
	}
	if (r && !request_waits(r))
		request_finish(r);	/* nobody to ask: answered at once */
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

/* Until the loop runs. detach: the foreground process waits until the
 * engines are started. */
struct parent *parent_start(struct director_config *cfg, int image, bool do_detach, const struct parent_ops *ops)
{
	/* CAP_SYS_NICE only for the VRRP engine to make itself real-time
	 * (vrrp_proc.c); both engines drop it. */
	static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_NICE };
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct parent *p = calloc(1, sizeof(*p));
	int ret, ready_fd = -1;

	if (!p)
		fatalx("out of memory");
	p->ops = ops;
	p->cfg = cfg;
	p->image = image;
	p->ctl_fd = -1;
	p->started = p->last_reload_ok = wall_time();
	/* The VRRP engine keeps the timings it always had. */
	engine_init(p, &p->eng[ENG_VRRP], "vrrp", "[vrrp]", ENGINE_REPLY_TIMEOUT_MS, ENGINE_STOP_TIMEOUT_MS);
	engine_init(p, &p->eng[ENG_LVS], "lvs", "[virtual_server]", LVS_SLOW_TIMEOUT_MS, LVS_SLOW_TIMEOUT_MS);
	/* Detached, start-up errors still reach the terminal until it is done. */
	if (do_detach)
		ready_fd = daemon_detach("directord");
	if (evloop_new(&p->loop) < 0)
		fatalx("event loop");
	ev_timer_init(&p->relay_timer, relay_timer_cb, p);
	ev_timer_init(&p->reload_timer, reload_timer_cb, p);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (ev_signal_add(p->loop, sigs[i], on_signal, p) < 0)
			fatalx("signal handling");
	open_control(p);
	open_metrics(p);
	open_state_dir(p);
	/* Without CAP_SYS_NICE to keep (a container, a unit that does not
	 * grant it) the VRRP engine says so and runs at normal priority. */
	ret = ops->privdrop(cfg->user, keep,
			    ARRAY_SIZE(keep) - (cfg->vrrp_rt_priority == 0 || !cap_is_effective(CAP_SYS_NICE)));
	if (ret < 0)
		fatalx("dropping privileges to %s: %s", cfg->user, strerror(-ret));
	if (ready_fd >= 0)
		daemon_ready(ready_fd, "directord");
	start_engines(p);
	ops->notify("READY=1");
	log_info("running as %s: %zu VRRP instance(s), %zu virtual server(s)", cfg->user, cfg->ninstances,
		 cfg->lvs.nservices);
	return p;
}

/* One turn; false once the loop was stopped, which is what ends
 * parent_main's evloop_run (begin_stop, engine_exited). */
bool parent_step(struct parent *p, int max_wait_ms)
{
	return evloop_run_once(p->loop, max_wait_ms) >= 0 && !evloop_stopped(p->loop);
}

int parent_end(struct parent *p, int run)
{
	cfgcheck_job_cancel(p->check_job);
	while (p->requests)
		request_free(p->requests);
	if (p->ctl)
		ctlserver_stop(p->ctl);
	httpsrv_stop(p->metrics);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	/* The one bound, not a path a reload brought (that takes effect at
	 * the next start, and may be another daemon's). */
	(void)unlink(p->ctl_path);
	free(p->ctl_path);
	evloop_free(p->loop);
	free(p->drained.items);
	if (p->state_fd >= 0)
		close(p->state_fd);
	director_config_free(p->cfg);
	if (p->image >= 0)
		close(p->image);
	free(p);
	return run < 0 ? 1 : 0;
}

int parent_main(struct director_config *cfg, int image, bool do_detach)
{
	struct parent *p = parent_start(cfg, image, do_detach, &parent_ops_system);

	return parent_end(p, evloop_run(p->loop));
}
