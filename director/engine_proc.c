/* See engine_proc.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "engine_proc.h"
#include "json.h"
#include "log.h"

/* ---- the channel to the parent ---- */

static void watch_out(struct engine_proc *p, bool on)
{
	if (p->watching_out == on)
		return;
	if (ev_fd_mod(p->loop, p->ipc_fd, EPOLLIN | (on ? EPOLLOUT : 0)) == 0)
		p->watching_out = on;
}

int engine_proc_send(struct engine_proc *p, uint16_t type, const void *data, size_t len)
{
	int ret = ipc_outq_send(&p->out, p->ipc_fd, type, data, len);

	if (ret == 1)
		watch_out(p, true);
	return ret < 0 ? ret : 0;
}

int engine_proc_answer(struct engine_proc *p, uint16_t type, uint32_t id, const void *data, size_t len)
{
	uint8_t msg[IPC_MAX_PAYLOAD];

	if (len > sizeof(msg) - sizeof(id))
		return -EMSGSIZE;
	memcpy(msg, &id, sizeof(id));
	if (len)
		memcpy(msg + sizeof(id), data, len);
	return engine_proc_send(p, type, msg, sizeof(id) + len);
}

/* A reply of any size up to DIR_STATUS_MAX: DIR_IPC_STATUS_PART pieces,
 * then DIR_IPC_STATUS_REPLY, each led by the request's id. */
#define STATUS_PIECE (IPC_MAX_PAYLOAD - sizeof(uint32_t))

/* *begun: some pieces went out, so nothing else may follow as the answer
 * (it would end a truncated text). */
static int send_status_text(struct engine_proc *p, uint32_t id, const char *text, size_t len, bool *begun)
{
	int ret;

	*begun = false;
	if (len > DIR_STATUS_MAX)
		return -EMSGSIZE;
	for (; len > STATUS_PIECE; text += STATUS_PIECE, len -= STATUS_PIECE) {
		if ((ret = engine_proc_answer(p, DIR_IPC_STATUS_PART, id, text, STATUS_PIECE)) < 0)
			return ret;
		*begun = true;
	}
	return engine_proc_answer(p, DIR_IPC_STATUS_REPLY, id, text, len);
}

/* A status (format 0: text, 1: JSON members) or the metrics. One too
 * large to send is answered "status too large", "null", or, for metrics,
 * empty (the parent counts the engine down for that scrape); one that
 * failed half sent is not answered at all, and the parent's bound on
 * its wait ends it. */
static void send_status(struct engine_proc *p, uint32_t id, uint32_t format)
{
	static const char *const too_large[] = { "status too large\n", "null", "", "" };
	struct strbuf sb;
	bool begun = false;
	int ret;

	sb_init(&sb);
	if (format == DIR_STATUS_METRICS) {
		if (p->ops->metrics)
			p->ops->metrics(p, &sb);
	} else if (format == DIR_STATUS_DOCTOR) {
		if (p->ops->doctor)
			p->ops->doctor(p, &sb);
	} else if (format) {
		struct json j;

		json_init(&j, &sb);
		json_object_begin(&j, NULL);
		p->ops->status(p, &j, &sb);
		json_object_end(&j);
	} else {
		p->ops->status(p, NULL, &sb);
	}
	ret = sb.failed ? -ENOMEM : send_status_text(p, id, sb_str(&sb), sb.len, &begun);
	if ((ret == -ENOMEM || ret == -EMSGSIZE) && !begun) {
		const char *why = too_large[format <= DIR_STATUS_DOCTOR ? format : 1];

		(void)engine_proc_answer(p, DIR_IPC_STATUS_REPLY, id, why, strlen(why));
	} else if (ret < 0) {
		log_warnx("%s: sending the status to the parent: %s", p->ops->name, strerror(-ret));
	}
	sb_free(&sb);
}

/* The heartbeat: the parent's time back, from this loop. */
static void answer_ping(struct engine_proc *p, const struct ipc_msg *msg)
{
	uint64_t sent;

	if (ipc_payload_fixed(msg, &sent, sizeof(sent)) == 0)
		(void)engine_proc_send(p, DIR_IPC_PONG, &sent, sizeof(sent));
}

/* ---- reload ---- */

static void reload_reply(struct engine_proc *p, uint32_t id, int32_t result)
{
	struct dir_ipc_result r = { .id = id, .result = result };

	(void)engine_proc_send(p, DIR_IPC_RELOAD_REPLY, &r, sizeof(r));
}

static void reload_read(struct director_config *fresh, int result, const struct ini_diag *diag, uint64_t read_ms,
			void *arg)
{
	struct engine_proc *p = arg;
	uint64_t t0 = now_ms();

	p->load = NULL;
	for (size_t i = 0; i < diag->n; i++)
		log_warnx("%s", diag->msgs[i]);
	if (result == 0) {
		/* The engine lets go of the old file's strings during the
		 * reload, unless it could not take the new one at all. */
		p->reload_kept_old = false;
		result = p->ops->reload(p, fresh);
		if (p->reload_kept_old) {
			config_free_async(fresh);
			log_warnx("%sreload failed (%s); the running configuration stays in force",
				  p->ops->reload_log_prefix, strerror(-result));
			reload_reply(p, p->reload_id, result);
			return;
		}
		config_free_async(p->cfg);
		p->cfg = fresh;
		/* Where a slow reload's time went: rebuilding the configuration
		 * from the parent's image (beside the loop), or the comparison
		 * and the kernel (on it). */
		log_info("%sconfiguration reloaded (taken in %llu ms, applied in %llu ms)",
			 p->ops->reload_log_prefix, (unsigned long long)read_ms, (unsigned long long)(now_ms() - t0));
	} else {
		log_warnx("reload failed; the running configuration stays in force");
	}
	reload_reply(p, p->reload_id, result);
}

/* The parent validated the file before asking, and sends what it
 * loaded as an image (config_image.c) with the message: the engine never
 * reads the file. Rebuilt in a thread while the loop goes on. */
static void reload(struct engine_proc *p, struct ipc_msg *msg)
{
	struct dir_ipc_reload req;
	int ret;

	if (ipc_payload_fixed(msg, &req, sizeof(req)) < 0) {
		log_warnx("parent channel: bad reload message");
		return;		/* no id to answer: the parent's bound ends its wait */
	}
	if (msg->fd < 0) {
		log_warnx("reload: the parent sent no configuration");
		reload_reply(p, req.id, -EBADMSG);
		return;
	}
	if (p->load) {
		reload_reply(p, req.id, -EBUSY);
		return;
	}
	p->reload_id = req.id;
	ret = config_load_start(p->loop, msg->fd, p->cfg, p->ops->virtual_servers, reload_read, p, &p->load);
	msg->fd = -1;	/* config_load_start's now */
	if (ret < 0) {
		log_warnx("reload: cannot start reading the configuration: %s", strerror(-ret));
		reload_reply(p, req.id, ret);
	}
}

/* ---- the loop ---- */

/* One message from the parent; false when the loop must stop. */
static bool handle(struct engine_proc *p, struct ipc_msg *msg)
{
	struct dir_ipc_status_req sr;

	switch (msg->type) {
	case DIR_IPC_STATUS_REQ:
		if (ipc_payload_fixed(msg, &sr, sizeof(sr)) == 0)
			send_status(p, sr.id, sr.json);
		break;
	case DIR_IPC_RELOAD:
		reload(p, msg);
		break;
	case DIR_IPC_PING:
		answer_ping(p, msg);
		break;
	case DIR_IPC_STOP:
		return false;
	default:
		if (!p->ops->message || !p->ops->message(p, msg))
			log_warnx("parent channel: unknown message %u", msg->type);
	}
	return true;
}

static void parent_gone(struct engine_proc *p, int err)
{
	/* The parent is gone or talks nonsense: leave cleanly. */
	log_warnx("parent channel: %s; stopping", strerror(-err));
	evloop_stop(p->loop);
}

static void ipc_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct engine_proc *p = arg;
	struct ipc_msg msg;
	int ret;

	(void)loop;
	if (events & EPOLLOUT) {
		if ((ret = ipc_outq_flush(&p->out, fd)) < 0) {
			parent_gone(p, ret);
			return;
		}
		watch_out(p, ret == 1);
	}
	for (unsigned i = 0; i < p->ops->reads_per_wake; i++) {
		bool go_on;

		ret = ipc_recv_fd(fd, p->buf, sizeof(p->buf), &msg);
		if (ret < 0 && msg.fd >= 0)
			close(msg.fd);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			parent_gone(p, ret);
			return;
		}
		go_on = handle(p, &msg);
		if (msg.fd >= 0)	/* not one that comes with a descriptor */
			close(msg.fd);
		if (!go_on) {
			evloop_stop(p->loop);
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

int engine_proc_run(const struct engine_ops *ops, struct director_config *cfg, int ipc_fd, const void *start_arg)
{
	struct engine_proc *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		fatalx("%s: out of memory", ops->name);
	p->ops = ops;
	p->cfg = cfg;
	p->ipc_fd = ipc_fd;
	if (evloop_new(&p->loop) < 0)
		fatalx("%s: event loop", ops->name);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);	/* reloads come from the parent */
	if (ev_signal_add(p->loop, SIGTERM, on_signal, p) < 0 || ev_signal_add(p->loop, SIGINT, on_signal, p) < 0 ||
	    ev_fd_add(p->loop, ipc_fd, EPOLLIN, ipc_event, p) < 0)
		fatalx("%s: event loop", ops->name);
	if ((ret = ops->start(p, start_arg)) < 0)
		fatalx("%s: %s", ops->name, strerror(-ret));
	ret = evloop_run(p->loop);
	config_load_cancel(p->load);
	ops->stop(p);
	(void)ipc_outq_flush(&p->out, ipc_fd);	/* what the parent can still take */
	ipc_outq_free(&p->out);
	evloop_free(p->loop);
	director_config_free(p->cfg);
	free(p);
	return ret < 0 ? 1 : 0;
}
