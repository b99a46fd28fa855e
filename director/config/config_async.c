/* Reading director.ini off an engine's event loop.
 *
 * A file of thousands of virtual servers takes a noticeable time to read
 * (over 100 ms here for 10,000; seconds under emulation), and neither
 * engine may stop for it: the VRRP engine's adverts are due every few
 * milliseconds, the LVS engine's checks time out. So a reload reads the
 * file in a thread of its own, at normal scheduling priority, while the
 * loop goes on; the loop takes the result when the thread says it is done
 * (one byte on a pipe) and applies it there, so nothing else of the
 * engine ever runs outside its loop. The configuration code shares no
 * state between loads, which is what makes this safe. The thread also
 * finds which virtual servers are as they were (reading the running file,
 * which nothing writes), so the loop compares nothing. The file it
 * replaces is freed in a thread too: tens of thousands of allocations.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "cfgcheck.h"
#include "config.h"
#include "evloop.h"
#include "proto.h"

struct config_load {
	struct evloop *loop;
	char *path;
	const struct director_config *running;	/* read only, by both threads */
	struct dir_ipc_reload checked;
	bool check;
	config_load_cb cb;
	void *arg;
	pthread_t thread;
	int pipe[2];
	/* written by the thread before it signals, read by the loop after */
	struct director_config *cfg;
	struct ini_diag diag;
	int result;
	uint64_t started_ms, read_ms;
};

/* The file as the parent checked it, or nothing. */
static int load_checked(struct config_load *l)
{
	char *buf;
	size_t len;
	int ret = ini_read_file(l->path, &buf, &len, &l->diag);

	if (ret < 0)
		return ret;
	if (l->check && (len != l->checked.len || cfgcheck_fingerprint(buf, len) != l->checked.fingerprint)) {
		ini_diag_add(&l->diag, l->path, 0, NULL, NULL,
			     "changed after the parent checked it: not applied (reload again)");
		ret = -ESTALE;
	} else {
		ret = director_config_load_buffer(l->path, buf, len, &l->cfg, &l->diag);
	}
	free(buf);
	return ret;
}

static void *load_thread(void *arg)
{
	struct config_load *l = arg;
	char done = 1;

	l->result = load_checked(l);
	/* Without the marks every section counts as changed: slower, right. */
	if (l->result == 0 && l->running)
		(void)director_config_mark_unchanged(l->cfg, l->running);
	l->read_ms = now_ms() - l->started_ms;
	/* The pipe has room: one byte, written once. */
	(void)!write(l->pipe[1], &done, 1);
	return NULL;
}

static void load_free(struct config_load *l)
{
	director_config_free(l->cfg);
	ini_diag_free(&l->diag);
	close(l->pipe[0]);
	close(l->pipe[1]);
	free(l->path);
	free(l);
}

static void load_done(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct config_load *l = arg;
	struct director_config *cfg;

	(void)events;
	ev_fd_del(loop, fd);
	pthread_join(l->thread, NULL);
	cfg = l->cfg;
	l->cfg = NULL;
	l->cb(cfg, l->result, &l->diag, l->read_ms, l->arg);
	load_free(l);
}

int config_load_start(struct evloop *loop, const char *path, const struct director_config *running,
		      const struct dir_ipc_reload *checked, config_load_cb cb, void *arg, struct config_load **out)
{
	struct config_load *l = calloc(1, sizeof(*l));
	struct sched_param normal = { .sched_priority = 0 };
	pthread_attr_t attr;
	int ret;

	if (!l)
		return -ENOMEM;
	l->pipe[0] = l->pipe[1] = -1;
	ini_diag_init(&l->diag);
	l->loop = loop;
	l->running = running;
	if (checked) {
		l->checked = *checked;
		l->check = true;
	}
	l->cb = cb;
	l->arg = arg;
	l->started_ms = now_ms();
	if (!(l->path = strdup(path))) {
		load_free(l);
		return -ENOMEM;
	}
	if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		load_free(l);
		return ret;
	}
	if ((ret = ev_fd_add(loop, l->pipe[0], EPOLLIN, load_done, l)) < 0) {
		load_free(l);
		return ret;
	}
	/* A real-time engine's reading thread must not be real-time: it is
	 * the work the loop is to go on beside. */
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &normal);
	ret = -pthread_create(&l->thread, &attr, load_thread, l);
	pthread_attr_destroy(&attr);
	if (ret < 0) {
		ev_fd_del(loop, l->pipe[0]);
		load_free(l);
		return ret;
	}
	*out = l;
	return 0;
}

static void *free_thread(void *arg)
{
	director_config_free(arg);
	return NULL;
}

void config_free_async(struct director_config *cfg)
{
	struct sched_param normal = { .sched_priority = 0 };
	pthread_attr_t attr;
	pthread_t thread;

	if (!cfg)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &normal);
	if (pthread_create(&thread, &attr, free_thread, cfg) != 0)
		director_config_free(cfg);
	pthread_attr_destroy(&attr);
}

void config_load_cancel(struct config_load *l)
{
	if (!l)
		return;
	ev_fd_del(l->loop, l->pipe[0]);
	/* A parse cannot be interrupted halfway; it ends by itself. */
	pthread_join(l->thread, NULL);
	load_free(l);
}
