/* Starting helper programs (check scripts, notify scripts) safely. */
#ifndef DSRKIT_PROC_H
#define DSRKIT_PROC_H

#include <sys/types.h>

struct spawn_opts {
	/* Run as this user when the caller is root; ignored otherwise (the
	 * child then keeps the caller's unprivileged uid). NULL = caller's. */
	const char *user;
	/* Where the child's stdout+stderr go; -1 = /dev/null. */
	int output_fd;
	/* Extra "NAME=value" strings for the child's environment, on top of
	 * the caller's (replacing a variable of the same name); NULL-terminated,
	 * NULL = none. Borrowed: only read before spawn_*() returns. */
	char *const *env;
};

/* fork + exec argv[0] (a path, no PATH search) with an empty signal mask,
 * default signal handlers, a new process group, every capability dropped,
 * stdin from /dev/null and every other descriptor closed, and the
 * caller's environment plus opts->env.
 * Returns 0 and the pid, or -errno (exec failure shows as exit status 127). */
int spawn_process(char *const argv[], const struct spawn_opts *opts, pid_t *pid);

/* Same, running "/bin/sh -c command". */
int spawn_shell(const char *command, const struct spawn_opts *opts, pid_t *pid);

#endif
