/* The LVS engine process: health checks and IPVS, on an event loop of
 * its own so that a burst of check results or a long kernel update never
 * delays a VRRP advert. It talks to the parent over one SOCK_SEQPACKET
 * socket, as the VRRP engine does. */
#include <errno.h>
#include <poll.h>
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

#define STATUS_SEND_TIMEOUT_MS 2000

struct lvs_proc {
	struct evloop *loop;
	struct director_config *cfg;
	struct lvs_engine *engine;
	struct config_load *load;	/* a reload reading the file */
	int ipc_fd;
	uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
};

/* One message, waiting while the parent's queue is full: a big status
 * is sent piece by piece as the parent reads. */
static int send_waiting(int fd, uint16_t type, const char *data, size_t len, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		uint64_t now;
		int ret = ipc_send(fd, type, data, len);

		if (ret != -EAGAIN)
			return ret;
		if ((now = now_ms()) >= deadline)
			return -ETIMEDOUT;
		(void)poll(&pfd, 1, (int)(deadline - now));
	}
}

int dir_ipc_send_status(int fd, const char *text, size_t len, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int ret;

	if (len > DIR_STATUS_MAX)
		return -EMSGSIZE;
	while (len > IPC_MAX_PAYLOAD) {
		if ((ret = send_waiting(fd, DIR_IPC_STATUS_PART, text, IPC_MAX_PAYLOAD, deadline)) < 0)
			return ret;
		text += IPC_MAX_PAYLOAD;
		len -= IPC_MAX_PAYLOAD;
	}
	return send_waiting(fd, DIR_IPC_STATUS_REPLY, text, len, deadline);
}

void dir_ipc_answer_ping(int fd, const struct ipc_msg *msg)
{
	uint64_t sent;

	/* A full queue loses this one: the parent's next ping asks again. */
	if (ipc_payload_fixed(msg, &sent, sizeof(sent)) == 0)
		(void)ipc_send(fd, DIR_IPC_PONG, &sent, sizeof(sent));
}

static void send_status(struct lvs_proc *p, bool json)
{
	struct strbuf sb;
	struct json j;
	int ret;

	sb_init(&sb);
	if (json) {
		json_init(&j, &sb);
		json_object_begin(&j, NULL);
		lvs_engine_status_json(p->engine, &j);
		json_object_end(&j);
	} else {
		lvs_engine_status_text(p->engine, &sb);
	}
	ret = sb.failed ? -ENOMEM : dir_ipc_send_status(p->ipc_fd, sb_str(&sb), sb.len, STATUS_SEND_TIMEOUT_MS);
	if (ret == -ENOMEM || ret == -EMSGSIZE)
		(void)ipc_send(p->ipc_fd, DIR_IPC_STATUS_REPLY, json ? "null" : "status too large\n",
			       json ? 4 : 17);
	else if (ret < 0)
		log_warnx("sending the status to the parent: %s", strerror(-ret));
	sb_free(&sb);
}

static void reload_reply(struct lvs_proc *p, int32_t result)
{
	(void)ipc_send(p->ipc_fd, DIR_IPC_RELOAD_REPLY, &result, sizeof(result));
}

static void reload_read(struct director_config *fresh, int result, const struct ini_diag *diag, uint64_t read_ms,
			void *arg)
{
	struct lvs_proc *p = arg;
	uint64_t t0 = now_ms();

	p->load = NULL;
	for (size_t i = 0; i < diag->n; i++)
		log_warnx("%s", diag->msgs[i]);
	if (result == 0) {
		/* The engine lets go of the old file's strings during the reload. */
		result = lvs_engine_reload(p->engine, fresh);
		config_free_async(p->cfg);
		p->cfg = fresh;
		/* Where a slow reload's time went: reading the file (beside
		 * the loop), or the comparison and the kernel (on it). */
		log_info("lvs engine: configuration reloaded (file read in %llu ms, applied in %llu ms)",
			 (unsigned long long)read_ms, (unsigned long long)(now_ms() - t0));
	} else {
		log_warnx("reload failed; the running configuration stays in force");
	}
	reload_reply(p, result);
}

/* The parent validated the file before asking; read it again here (the
 * same bytes, or nothing), in a thread, while checks go on. */
static void reload(struct lvs_proc *p, const struct ipc_msg *msg)
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
	if ((ret = config_load_start(p->loop, p->cfg->path, p->cfg, &checked, reload_read, p, &p->load)) < 0) {
		log_warnx("reload: cannot start reading %s: %s", p->cfg->path, strerror(-ret));
		reload_reply(p, ret);
	}
}

static void vrrp_state(struct lvs_proc *p, const struct ipc_msg *msg)
{
	struct dir_ipc_state st;

	if (ipc_payload_fixed(msg, &st, sizeof(st)) < 0) {
		log_warnx("parent channel: bad VRRP state message");
		return;
	}
	st.instance[sizeof(st.instance) - 1] = '\0';
	lvs_engine_vrrp_state(p->engine, st.instance, st.state, st.priority);
}

static void admin(struct lvs_proc *p, const struct ipc_msg *msg)
{
	struct dir_ipc_admin m;
	char err[256] = "";

	if (ipc_payload_fixed(msg, &m, sizeof(m)) < 0) {
		(void)ipc_send(p->ipc_fd, DIR_IPC_ADMIN_REPLY, "bad request", 11);
		return;
	}
	m.service[sizeof(m.service) - 1] = '\0';
	m.server[sizeof(m.server) - 1] = '\0';
	if (m.admin != LVS_ADMIN_ENABLED && m.admin != LVS_ADMIN_DRAINED)
		strlcpy_safe(err, "bad request", sizeof(err));
	else if (lvs_engine_admin(p->engine, m.service, m.server, (enum lvs_admin)m.admin, err, sizeof(err)) < 0 &&
		 !err[0])
		strlcpy_safe(err, "failed", sizeof(err));
	(void)ipc_send(p->ipc_fd, DIR_IPC_ADMIN_REPLY, err, strlen(err));
}

/* One message from the parent; false when the loop must stop. */
static bool handle(struct lvs_proc *p, const struct ipc_msg *msg)
{
	uint32_t json;

	switch (msg->type) {
	case DIR_IPC_STATUS_REQ:
		if (ipc_payload_fixed(msg, &json, sizeof(json)) == 0)
			send_status(p, json != 0);
		break;
	case DIR_IPC_RELOAD:
		reload(p, msg);
		break;
	case DIR_IPC_VRRP_STATE:
		vrrp_state(p, msg);
		break;
	case DIR_IPC_ADMIN:
		admin(p, msg);
		break;
	case DIR_IPC_PING:
		dir_ipc_answer_ping(p->ipc_fd, msg);
		break;
	case DIR_IPC_STOP:
		return false;
	default:
		log_warnx("parent channel: unknown message %u", msg->type);
	}
	return true;
}

static void ipc_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct lvs_proc *p = arg;
	struct ipc_msg msg;
	int ret;

	(void)events;
	for (int i = 0; i < 64; i++) {
		ret = ipc_recv(fd, p->buf, sizeof(p->buf), &msg);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			/* The parent is gone or talks nonsense: leave cleanly. */
			log_warnx("parent channel: %s; stopping", strerror(-ret));
			evloop_stop(loop);
			return;
		}
		if (!handle(p, &msg)) {
			evloop_stop(loop);
			return;
		}
	}
}

static void on_signal(struct evloop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	evloop_stop(loop);
}

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

int lvs_proc_main(struct director_config *cfg, int ipc_fd, const struct lvs_drained_list *drained)
{
	struct lvs_proc *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		fatalx("lvs engine: out of memory");
	p->cfg = cfg;
	p->ipc_fd = ipc_fd;
	drop_net_raw(cfg);
	raise_nofile();
	lower_priority();
	if (evloop_new(&p->loop) < 0)
		fatalx("lvs engine: event loop");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);	/* reloads come from the parent */
	if (ev_signal_add(p->loop, SIGTERM, on_signal, p) < 0 || ev_signal_add(p->loop, SIGINT, on_signal, p) < 0 ||
	    ev_fd_add(p->loop, ipc_fd, EPOLLIN, ipc_readable, p) < 0)
		fatalx("lvs engine: event loop");
	ret = lvs_engine_start(p->loop, p->cfg, drained, &p->engine);
	if (ret < 0)
		fatalx("lvs engine: %s", strerror(-ret));
	log_info("lvs engine running: %zu virtual server(s)", cfg->lvs.nservices);
	ret = evloop_run(p->loop);
	config_load_cancel(p->load);
	lvs_engine_stop(p->engine);
	evloop_free(p->loop);
	director_config_free(p->cfg);
	free(p);
	return ret < 0 ? 1 : 0;
}
