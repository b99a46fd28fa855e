/* The VRRP engine process: its own event loop, nothing slow in it. It
 * talks to the parent over one SOCK_SEQPACKET socket. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "directord.h"
#include "evloop.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "privdrop.h"

struct vrrp_proc {
	struct evloop *loop;
	struct director_config *cfg;
	struct vrrp_engine *engine;
	struct config_load *load;	/* a reload reading the file */
	int ipc_fd;
	uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
};

static void tell_state(const char *instance, int state, int priority, void *arg)
{
	struct vrrp_proc *p = arg;
	struct dir_ipc_state m = { .state = state, .priority = priority };

	strlcpy_safe(m.instance, instance, sizeof(m.instance));
	if (ipc_send(p->ipc_fd, DIR_IPC_STATE, &m, sizeof(m)) < 0)
		log_debug("telling the parent about %s: queue full", instance);
}

static void send_status(struct vrrp_proc *p, bool json)
{
	struct strbuf sb;
	struct json j;

	sb_init(&sb);
	if (json) {
		json_init(&j, &sb);
		json_object_begin(&j, NULL);
		vrrp_engine_status_json(p->engine, &j);
		json_object_end(&j);
	} else {
		vrrp_engine_status_text(p->engine, &sb);
	}
	if (sb.failed || ipc_send(p->ipc_fd, DIR_IPC_STATUS_REPLY, sb_str(&sb), sb.len) < 0)
		(void)ipc_send(p->ipc_fd, DIR_IPC_STATUS_REPLY, "status too large\n", 17);
	sb_free(&sb);
}

static void reload_reply(struct vrrp_proc *p, int32_t result)
{
	(void)ipc_send(p->ipc_fd, DIR_IPC_RELOAD_REPLY, &result, sizeof(result));
}

static void reload_read(struct director_config *fresh, int result, const struct ini_diag *diag, uint64_t read_ms,
			void *arg)
{
	struct vrrp_proc *p = arg;
	uint64_t t0 = now_ms();

	p->load = NULL;
	for (size_t i = 0; i < diag->n; i++)
		log_warnx("%s", diag->msgs[i]);
	if (result == 0) {
		result = vrrp_engine_reload(p->engine, fresh);
		config_free_async(p->cfg);
		p->cfg = fresh;
		log_info("configuration reloaded (file read in %llu ms, applied in %llu ms)",
			 (unsigned long long)read_ms, (unsigned long long)(now_ms() - t0));
	} else {
		log_warnx("reload failed; the running configuration stays in force");
	}
	reload_reply(p, result);
}

/* The parent validated the file before asking; read it again here (the
 * same bytes, or nothing), in a thread, while adverts go on. */
static void reload(struct vrrp_proc *p, const struct ipc_msg *msg)
{
	struct dir_ipc_reload checked;
	int ret;

	if (ipc_payload_fixed(msg, &checked, sizeof(checked)) < 0) {
		log_warnx("parent channel: bad reload message");
		reload_reply(p, -EBADMSG);
		return;
	}
	if (p->load) {
		reload_reply(p, -EBUSY);
		return;
	}
	if ((ret = config_load_start(p->loop, p->cfg->path, NULL, &checked, reload_read, p, &p->load)) < 0) {
		log_warnx("reload: cannot start reading %s: %s", p->cfg->path, strerror(-ret));
		reload_reply(p, ret);
	}
}

static void ipc_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vrrp_proc *p = arg;
	struct ipc_msg msg;
	uint32_t json;
	int ret;

	(void)events;
	for (int i = 0; i < 16; i++) {
		ret = ipc_recv(fd, p->buf, sizeof(p->buf), &msg);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			/* The parent is gone or talks nonsense: leave cleanly. */
			log_warnx("parent channel: %s; stopping", strerror(-ret));
			evloop_stop(loop);
			return;
		}
		switch (msg.type) {
		case DIR_IPC_STATUS_REQ:
			if (ipc_payload_fixed(&msg, &json, sizeof(json)) == 0)
				send_status(p, json != 0);
			break;
		case DIR_IPC_RELOAD:
			reload(p, &msg);
			break;
		case DIR_IPC_PING:
			dir_ipc_answer_ping(fd, &msg);
			break;
		case DIR_IPC_STOP:
			evloop_stop(loop);
			return;
		default:
			log_warnx("parent channel: unknown message %u", msg.type);
		}
	}
}

static void on_signal(struct evloop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	evloop_stop(loop);
}

/* A runaway real-time engine would starve the machine; the kernel stops
 * one that computes this long without waiting for anything (SIGXCPU, then
 * SIGKILL), and the parent starts it again. The engine waits on its loop
 * every few milliseconds. */
#define VRRP_RTTIME_SOFT_US 1000000
#define VRRP_RTTIME_HARD_US 2000000

/* Adverts every few milliseconds must not wait for the CPU behind checks,
 * compiles or anything else of normal priority: the engine runs SCHED_FIFO
 * with the CAP_SYS_NICE the parent kept for this, then drops it. Its
 * children (scripts) start with normal scheduling. */
static void go_realtime(const struct director_config *cfg)
{
	static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	struct rlimit rt = { VRRP_RTTIME_SOFT_US, VRRP_RTTIME_HARD_US };
	struct sched_param sp = { .sched_priority = (int)cfg->vrrp_rt_priority };
	int ret;

	if (cfg->vrrp_rt_priority == 0)
		return;
	if (setrlimit(RLIMIT_RTTIME, &rt) < 0)
		log_warn("vrrp engine: limiting its real-time CPU time; staying at normal priority");
	else if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
		log_warn("vrrp engine: real-time priority %u (SCHED_FIFO); staying at normal priority, so adverts "
			 "may be late on a busy machine", cfg->vrrp_rt_priority);
	else
		log_debug("vrrp engine: real-time priority %u (SCHED_FIFO)", cfg->vrrp_rt_priority);
	if ((ret = privdrop(cfg->user, keep, ARRAY_SIZE(keep))) < 0)
		fatalx("vrrp engine: dropping CAP_SYS_NICE: %s", strerror(-ret));
}

int vrrp_proc_main(struct director_config *cfg, int ipc_fd)
{
	struct vrrp_proc *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		fatalx("vrrp engine: out of memory");
	p->cfg = cfg;
	p->ipc_fd = ipc_fd;
	go_realtime(cfg);
	if (evloop_new(&p->loop) < 0)
		fatalx("vrrp engine: event loop");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);	/* reloads come from the parent */
	if (ev_signal_add(p->loop, SIGTERM, on_signal, p) < 0 || ev_signal_add(p->loop, SIGINT, on_signal, p) < 0 ||
	    ev_fd_add(p->loop, ipc_fd, EPOLLIN, ipc_readable, p) < 0)
		fatalx("vrrp engine: event loop");
	ret = vrrp_engine_start(p->loop, p->cfg, tell_state, p, &p->engine);
	if (ret < 0)
		fatalx("vrrp engine: %s", strerror(-ret));
	log_info("vrrp engine running: %zu instance(s)", cfg->ninstances);
	ret = evloop_run(p->loop);
	log_info("vrrp engine stopping: masters send priority 0 and remove their VIPs");
	config_load_cancel(p->load);
	vrrp_engine_stop(p->engine);
	evloop_free(p->loop);
	director_config_free(p->cfg);
	free(p);
	return ret < 0 ? 1 : 0;
}
