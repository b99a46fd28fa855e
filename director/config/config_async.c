/* Taking a reload's configuration off an engine's event loop.
 *
 * The engines never read director.ini: the parent hands them the image of
 * the configuration its check child validated (config_image.c), in a
 * sealed memfd. Rebuilding tens of thousands of virtual servers from it
 * still takes a noticeable time (seconds under emulation), and neither
 * engine may stop for it: the VRRP engine's adverts are due every few
 * milliseconds, the LVS engine's checks time out. So it is done in a
 * thread of its own, at normal scheduling priority, while the loop goes
 * on; the loop takes the result when the thread says it is done (one byte
 * on a pipe) and applies it there, so nothing else of the engine ever
 * runs outside its loop. The configuration code shares no state between
 * loads, which is what makes this safe. The thread also finds which
 * virtual servers are as they were (reading the running configuration,
 * which nothing writes), so the loop compares nothing. The configuration
 * it replaces is freed in a thread too: tens of thousands of allocations.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "config.h"
#include "evloop.h"

struct config_load {
	struct evloop *loop;
	int image;				/* the memfd, ours */
	const struct director_config *running;	/* read only, by both threads */
	bool virtual_servers;			/* keep them, and mark the unchanged */
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

static int load_image(struct config_load *l)
{
	int ret = director_config_from_image_fd(l->image, l->virtual_servers ? NULL : image_vs_skip, NULL, &l->cfg);

	if (ret < 0)
		ini_diag_add(&l->diag, NULL, 0, NULL, NULL, "the configuration from the parent cannot be read: %s",
			     strerror(-ret));
	return ret;
}

static void *load_thread(void *arg)
{
	struct config_load *l = arg;
	char done = 1;

	l->result = load_image(l);
	/* Without the marks every section counts as changed: slower, right. */
	if (l->result == 0 && l->virtual_servers && l->running)
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
	if (l->image >= 0)
		close(l->image);
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

int config_load_start(struct evloop *loop, int image, const struct director_config *running, bool virtual_servers,
		      config_load_cb cb, void *arg, struct config_load **out)
{
	struct config_load *l = calloc(1, sizeof(*l));
	struct sched_param normal = { .sched_priority = 0 };
	pthread_attr_t attr;
	int ret;

	if (!l) {
		close(image);
		return -ENOMEM;
	}
	l->image = image;
	l->pipe[0] = l->pipe[1] = -1;
	ini_diag_init(&l->diag);
	l->loop = loop;
	l->running = running;
	l->virtual_servers = virtual_servers;
	l->cb = cb;
	l->arg = arg;
	l->started_ms = now_ms();
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
