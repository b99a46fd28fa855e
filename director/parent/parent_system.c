/* The parent's outside as the daemon has it (struct parent_ops, parent.h):
 * engines are forked processes that run their bodies, exits are watched
 * through the loop's pidfds. Kept apart from parent.c so that the parent's
 * logic is tested with another outside (tests/unit/test_parent_engines.c);
 * this file is the VM and netns tests'. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "evloop.h"
#include "ipc.h"
#include "log.h"
#include "parent.h"
#include "privdrop.h"
#include "sdnotify.h"

/* What a starting LVS engine runs: the whole configuration, from the
 * image (before its loop runs: nothing waits on it yet). */
static struct director_config *lvs_engine_config(const struct parent_spawn *what)
{
	struct director_config *cfg = NULL;
	int ret = what->image >= 0 ? director_config_from_image_fd(what->image, NULL, NULL, &cfg) : -ENOENT;

	if (ret < 0)
		fatalx("lvs engine: cannot read the configuration: %s", strerror(-ret));
	return cfg;
}

static void __attribute__((noreturn)) engine_child(const struct parent_spawn *what, int fd)
{
	struct director_config *cfg = what->lvs ? lvs_engine_config(what) : what->cfg;
	sigset_t none;

	/* The parent's loop, control socket, accepted control connections,
	 * the other engine's channel and signal handling are not ours: a
	 * client would otherwise wait for an end of file that this process
	 * holds back. */
	evloop_free(what->loop);
	closelog();
	fd = close_all_fds_but(fd);
	log_reopen();
	if (fd < 0)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* exit(), not _exit(): libraries' destructors free what their
	 * constructors took (the parent flushed stdio before the fork). */
	if (what->lvs)
		exit(lvs_proc_main(cfg, fd, what->drained));
	exit(vrrp_proc_main(cfg, fd));
}

static int system_spawn(const struct parent_spawn *what, int *ipc_fd, pid_t *pid_out)
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
		engine_child(what, fds[1]);
	}
	close(fds[1]);
	*ipc_fd = fds[0];
	*pid_out = pid;
	return 0;
}

/* Without a timeout: the parent's own timers decide when to kill. */
static int system_watch(struct evloop *loop, pid_t pid, ev_child_cb cb, void *arg)
{
	return ev_child_watch(loop, pid, 0, cb, arg);
}

const struct parent_ops parent_ops_system = {
	.spawn = system_spawn,
	.watch = system_watch,
	.kill = kill,
	.privdrop = privdrop,
	.notify = sd_notify_state,
};
