/* The LVS engine process: health checks and IPVS, on an event loop of
 * its own (director/engine_proc.c) so that a burst of check results or a
 * long kernel update never delays a VRRP advert. */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/resource.h>

#include "directord.h"
#include "engine_proc.h"
#include "json.h"
#include "log.h"
#include "privdrop.h"

static int lvs_reload(struct engine_proc *p, const struct director_config *fresh)
{
	return lvs_engine_reload(p->engine, fresh);
}

static void vrrp_state(struct engine_proc *p, const struct ipc_msg *msg)
{
	struct dir_ipc_state st;

	if (ipc_payload_fixed(msg, &st, sizeof(st)) < 0) {
		log_warnx("parent channel: bad VRRP state message");
		return;
	}
	st.instance[sizeof(st.instance) - 1] = '\0';
	lvs_engine_vrrp_state(p->engine, st.instance, st.state, st.priority);
}

static void admin(struct engine_proc *p, const struct ipc_msg *msg)
{
	struct dir_ipc_admin m;
	char err[256] = "";

	if (ipc_payload_fixed(msg, &m, sizeof(m)) < 0) {
		log_warnx("parent channel: bad admin message");
		return;		/* no id to answer: the parent's bound ends its wait */
	}
	m.service[sizeof(m.service) - 1] = '\0';
	m.server[sizeof(m.server) - 1] = '\0';
	if (m.admin != LVS_ADMIN_ENABLED && m.admin != LVS_ADMIN_DRAINED)
		strlcpy_safe(err, "bad request", sizeof(err));
	else if (lvs_engine_admin(p->engine, m.service, m.server, (enum lvs_admin)m.admin, err, sizeof(err)) < 0 &&
		 !err[0])
		strlcpy_safe(err, "failed", sizeof(err));
	(void)engine_proc_answer(p, DIR_IPC_ADMIN_REPLY, m.id, err, strlen(err));
}

/* drain-director / enable-director: what it did, and the packet counter
 * that --wait watches. */
static void director(struct engine_proc *p, const struct ipc_msg *msg)
{
	struct dir_ipc_director m;
	struct strbuf out;
	size_t n;

	if (ipc_payload_fixed(msg, &m, sizeof(m)) < 0) {
		log_warnx("parent channel: bad drain-director message");
		return;		/* the parent's bound ends its wait */
	}
	sb_init(&out);
	n = lvs_engine_drain_director(p->engine, m.drained != 0);
	sb_printf(&out, "director %s: %zu VIP(s) %s now, %zu announced\n", m.drained ? "drained" : "enabled", n,
		  m.drained ? "withdrawn" : "announced", lvs_engine_announced_count(p->engine));
	sb_printf(&out, DIR_DIRECTOR_PACKETS "%llu\n", (unsigned long long)lvs_engine_announced_packets(p->engine));
	(void)engine_proc_answer(p, DIR_IPC_DIRECTOR_REPLY, m.id, out.failed ? "error: out of memory" : sb_str(&out),
				 out.failed ? strlen("error: out of memory") : out.len);
	sb_free(&out);
}

static bool lvs_message(struct engine_proc *p, const struct ipc_msg *msg)
{
	switch (msg->type) {
	case DIR_IPC_VRRP_STATE:
		vrrp_state(p, msg);
		return true;
	case DIR_IPC_ADMIN:
		admin(p, msg);
		return true;
	case DIR_IPC_DIRECTOR:
		director(p, msg);
		return true;
	default:
		return false;
	}
}

static int lvs_start(struct engine_proc *p, const void *drained)
{
	struct lvs_engine *e;
	int ret;

	if ((ret = lvs_engine_start(p->loop, p->cfg, drained, &lvs_kernel_ipvs, &e)) < 0)
		return ret;
	p->engine = e;
	log_info("lvs engine running: %zu virtual server(s)", p->cfg->lvs.nservices);
	return 0;
}

static void lvs_stop(struct engine_proc *p)
{
	lvs_engine_stop(p->engine);
}

static void lvs_status(struct engine_proc *p, struct json *j, struct strbuf *out)
{
	if (j)
		lvs_engine_status_json(p->engine, j);
	else
		lvs_engine_status_text(p->engine, out);
}

static void lvs_metrics(struct engine_proc *p, struct strbuf *out)
{
	lvs_engine_metrics(p->engine, out);
}

static void lvs_doctor(struct engine_proc *p, struct strbuf *out)
{
	lvs_engine_doctor_targets(p->engine, out);
}

static const struct engine_ops lvs_ops = {
	.name = "lvs engine",
	.reload_log_prefix = "lvs engine: ",
	.virtual_servers = true,
	.reads_per_wake = 64,
	.start = lvs_start,
	.stop = lvs_stop,
	.status = lvs_status,
	.metrics = lvs_metrics,
	.doctor = lvs_doctor,
	.reload = lvs_reload,
	.message = lvs_message,
};

/* The parent kept CAP_NET_RAW and CAP_SYS_NICE for the VRRP engine; IPVS
 * needs only CAP_NET_ADMIN (checks use ordinary sockets). */
static void drop_net_raw(const struct director_config *cfg)
{
	static const cap_value_t keep[] = { CAP_NET_ADMIN };
	int ret = privdrop(cfg->user, keep, ARRAY_SIZE(keep));

	if (ret < 0)
		fatalx("lvs engine: keeping only CAP_NET_ADMIN: %s", strerror(-ret));
}

/* Every check in flight holds a socket, and thousands of them need more
 * than the usual soft limit of 1024 descriptors: the hard limit is ours to
 * use (the event loop is epoll, never select). */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("lvs engine: raising the descriptor limit from %llu", (unsigned long long)was);
	else
		log_debug("lvs engine: descriptor limit %llu (was %llu)", (unsigned long long)rl.rlim_cur,
			  (unsigned long long)was);
}

/* Adverts must not wait behind checks: on a busy machine (thousands of
 * checks, a large table to program) the VRRP engine, at the parent's
 * priority, preempts this one. Raising one's own nice value needs no
 * privilege. */
#define LVS_ENGINE_NICE 10

static void lower_priority(void)
{
	errno = 0;
	if (setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + LVS_ENGINE_NICE) < 0)
		log_warn("lvs engine: lowering its priority");
}

/* A reload's configuration is built in a thread (config_async.c) and the
 * one it replaces is freed in another: with an arena per thread, each
 * reload's tens of megabytes would land in an arena the next one does not
 * reuse. One arena: what a reload frees, the next takes. Not for the VRRP
 * engine: its real-time loop must never wait for a lock that its reading
 * thread, at normal priority, holds (and it keeps no virtual servers). */
static void one_arena(void)
{
	(void)mallopt(M_ARENA_MAX, 1);
}

int lvs_proc_main(struct director_config *cfg, int ipc_fd, const struct lvs_drained_list *drained)
{
	one_arena();
	drop_net_raw(cfg);
	raise_nofile();
	lower_priority();
	return engine_proc_run(&lvs_ops, cfg, ipc_fd, drained);
}
