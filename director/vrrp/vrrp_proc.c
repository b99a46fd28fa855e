/* The VRRP engine process: its own event loop (director/engine_proc.c),
 * nothing slow in it, at real-time priority. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>

#include "directord.h"
#include "engine_proc.h"
#include "json.h"
#include "log.h"
#include "privdrop.h"
#include "proc_watch.h"
#include "vrrp_net.h"

/* State changes go to the parent in order, queued when its queue is full. */
static void tell_state(const char *instance, int state, int priority, void *arg)
{
	struct engine_proc *p = arg;
	struct dir_ipc_state m = { .state = state, .priority = priority };
	int ret;

	strlcpy_safe(m.instance, instance, sizeof(m.instance));
	if ((ret = engine_proc_send(p, DIR_IPC_STATE, &m, sizeof(m))) < 0)
		log_warnx("telling the parent about %s: %s", instance, strerror(-ret));
}

static int vrrp_reload(struct engine_proc *p, const struct director_config *fresh)
{
	int ret = vrrp_engine_reload(p->engine, fresh);

	p->reload_kept_old = ret < 0;	/* its contract: an error leaves it on the old */
	return ret;
}

static int vrrp_start(struct engine_proc *p, const void *arg)
{
	struct vrrp_engine *e;
	int ret;

	(void)arg;
	if ((ret = vrrp_engine_start(p->loop, p->cfg, tell_state, p, &vrrp_kernel_linux, &e)) < 0)
		return ret;
	p->engine = e;
	log_info("vrrp engine running: %zu instance(s)", p->cfg->ninstances);
	return 0;
}

static void vrrp_stop(struct engine_proc *p)
{
	log_info("vrrp engine stopping: masters send priority 0 and remove their VIPs");
	vrrp_engine_stop(p->engine);
}

static void vrrp_status(struct engine_proc *p, struct json *j, struct strbuf *out)
{
	if (j)
		vrrp_engine_status_json(p->engine, j);
	else
		vrrp_engine_status_text(p->engine, out);
}

static void vrrp_metrics(struct engine_proc *p, struct strbuf *out)
{
	vrrp_engine_metrics(p->engine, now_ms(), out);
}

static const struct engine_ops vrrp_ops = {
	.name = "vrrp engine",
	.reload_log_prefix = "",
	.virtual_servers = false,
	.reads_per_wake = 16,
	.start = vrrp_start,
	.stop = vrrp_stop,
	.status = vrrp_status,
	.metrics = vrrp_metrics,
	.reload = vrrp_reload,
	.message = NULL,
};

/* How long the engine, leaving, waits for the threads of its closed
 * process watches (proc_watch_close never does, on the loop). */
#define VRRP_EXIT_JOIN_MS 100

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
	int ret;

	go_realtime(cfg);
	ret = engine_proc_run(&vrrp_ops, cfg, ipc_fd, NULL);
	proc_watch_join_left(VRRP_EXIT_JOIN_MS);
	return ret;
}
