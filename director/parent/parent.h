/* The parent's seam: what it does to the outside (starting an engine
 * process, signalling it, learning of its exit, dropping privileges,
 * telling systemd) goes through struct parent_ops, so that its logic
 * (supervision, heartbeat, relaying VRRP states, requests answered by id,
 * stop) runs in a unit test without root and without fork, with the test
 * playing both engines over socketpairs. parent_main (directord.h) is
 * parent_start, evloop_run and parent_end with parent_ops_system. */
#ifndef DIRECTORD_PARENT_H
#define DIRECTORD_PARENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "directord.h"
#include "evloop.h"

/* An engine that exits is restarted after a delay that starts here and
 * doubles with every exit up to the maximum; a run this long starts it
 * over. */
#define RESTART_BACKOFF_MIN_MS 100
#define RESTART_BACKOFF_MAX_MS 30000
#define STABLE_RUN_MS 30000

/* What an engine process starts with. */
struct parent_spawn {
	bool lvs;				/* the LVS engine, else the VRRP engine */
	struct evloop *loop;			/* the parent's: not the engine's */
	struct director_config *cfg;		/* without virtual servers: the VRRP engine's */
	int image;				/* the whole configuration: the LVS engine's */
	const struct lvs_drained_list *drained;	/* by directorctl, for the LVS engine */
};

struct parent_ops {
	/* Start an engine: 0 with the parent's end of its channel
	 * (ipc_pair's) and its pid, or -errno. */
	int (*spawn)(const struct parent_spawn *what, int *ipc_fd, pid_t *pid);
	/* cb runs once when pid has exited, with its waitpid() status. */
	int (*watch)(struct evloop *loop, pid_t pid, ev_child_cb cb, void *arg);
	int (*kill)(pid_t pid, int sig);
	int (*privdrop)(const char *user, const cap_value_t *keep, size_t nkeep);
	int (*notify)(const char *state);	/* sd_notify_state's */
};

/* fork() and the engines' process bodies, kill(2), pidfd, privdrop,
 * sd_notify (parent_system.c). */
extern const struct parent_ops parent_ops_system;

struct parent;

/* Everything before the loop runs: control socket, privileges, the
 * engines. Owns cfg and image; fatal on what directord cannot run
 * without. */
struct parent *parent_start(struct director_config *cfg, int image, bool detach, const struct parent_ops *ops);
/* One turn of the loop, waiting at most max_wait_ms: false once the
 * parent has stopped (every engine gone after a stop). */
bool parent_step(struct parent *p, int max_wait_ms);
/* The loop is done (run's result: 0 or -errno): close, free, unlink the
 * control socket. Returns the exit code. */
int parent_end(struct parent *p, int run);

#endif
