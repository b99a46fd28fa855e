/* Checking a configuration in a short-lived child process, for reloads.
 *
 * A running daemon must not die of the file it is asked to reload: one bug
 * in a check (a NULL read, an assertion) would otherwise take every VIP
 * with it. So the daemon reads the file once, hands those bytes to a child
 * process that runs the whole loader, and applies them itself only when
 * the child says they are valid. The child's messages come back over a
 * pipe (bounded in size), its verdict in its exit status; it is bounded in
 * time and killed past the bound. A crash, a hang or an odd exit of the
 * child refuses the file; the daemon goes on with what it runs. */
#ifndef DSRKIT_CFGCHECK_H
#define DSRKIT_CFGCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ini.h"

/* What the child may say, in bytes; the rest is cut (truncated set). */
#define CFGCHECK_DIAG_MAX (64 * 1024)

enum cfgcheck_verdict {
	CFGCHECK_OK,		/* the loader accepted the file */
	CFGCHECK_INVALID,	/* the loader refused it: diag says why */
	CFGCHECK_UNREADABLE,	/* cfgcheck_file could not read it: diag says why */
	CFGCHECK_CRASHED,	/* the child was killed by signo */
	CFGCHECK_TIMEOUT,	/* the child did not finish in time and was killed */
	CFGCHECK_FAILED,	/* the child exited with an unexpected status */
};

struct cfgcheck {
	enum cfgcheck_verdict verdict;
	int signo;		/* CFGCHECK_CRASHED */
	int status;		/* CFGCHECK_FAILED: the exit status */
	unsigned timeout_ms;	/* the bound it was given */
	struct ini_diag diag;	/* the child's messages, in order */
	bool truncated;		/* it said more than CFGCHECK_DIAG_MAX */
};

/* The whole loader of a daemon's file, run on its bytes: 0 when it is
 * valid, else -errno with every problem in diag (path is for messages;
 * arg is the caller's, as given to cfgcheck_run). */
typedef int (*cfgcheck_fn)(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag);

/* Run fn(arg, ...) on buf in a child process and wait for it, at most timeout_ms
 * (this call blocks the caller that long at worst). 0 with the verdict in
 * *out (to be freed with cfgcheck_free), or -errno when no child could be
 * run (*out then holds nothing). */
int cfgcheck_run(cfgcheck_fn fn, const void *arg, const char *path, const char *buf, size_t len,
		 unsigned timeout_ms, struct cfgcheck *out);
/* Read path once (ini_read_file: no blocking, regular file, ownership,
 * size) and check those bytes with cfgcheck_run. On 0 with CFGCHECK_OK,
 * *bufp (malloc'd, to be freed) and *lenp are the very bytes checked: the
 * caller loads them, not the path again. Otherwise *bufp is NULL. */
int cfgcheck_file(cfgcheck_fn fn, const void *arg, const char *path, unsigned timeout_ms, struct cfgcheck *out,
		  char **bufp, size_t *lenp);
/* A daemon's loader from bytes (director_config_load_buffer, ...): 0 and
 * *cfg, or -errno with every problem in diag; and what frees *cfg.
 * Optionally, the loaded configuration as bytes and back (image appends to
 * out; from_image reads it from a file and gives 0 and *cfg, or -errno): with both, the file is
 * parsed once, in the check child, which writes the image of what it
 * loaded; the daemon rebuilds the configuration from that and gets the
 * image (a sealed memfd) to hand on. */
struct strbuf;
struct cfgcheck_loader {
	int (*load)(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag);
	void (*free)(void *cfg);
	int (*image)(const void *cfg, struct strbuf *out);
	int (*from_image)(int fd, void **cfg);
};

/* What the daemons do on a reload: read path once (cfgcheck_file), run
 * the loader on those bytes in a child process, and only when it accepts
 * them, load them here (without an image: this way never makes one). 0
 * and *cfg; or -errno (-EINVAL the file has errors, -EIO it cannot be
 * read, -ECHILD the check crashed, hung or failed, another when none could
 * run) and *cfg NULL. Every message for the log and for the one who asked
 * goes to diag, in order: the file's own, then on failure one that says
 * what becomes of the reload ("reload refused: the configuration check
 * crashed (Segmentation fault); the running configuration stays in
 * force"). */
int cfgcheck_reload(const struct cfgcheck_loader *ld, const char *path, unsigned timeout_ms, void **cfg,
		    struct ini_diag *diag);
/* cfgcheck_reload without waiting: the file is read now, the check runs
 * in a child watched by loop (bounded by timeout_ms), and done() runs from
 * the loop with what cfgcheck_reload would return: ret, cfg (the caller's
 * to free), every message in diag (borrowed for the call), and with a
 * loader that makes images, image: the sealed memfd cfg was rebuilt from
 * (the caller's to close; -1 otherwise or on failure). 0 and *job (cancel
 * it to abandon the check: the child is killed, done never runs), or
 * -ENOMEM. */
struct evloop;
struct cfgcheck_job;
typedef void (*cfgcheck_done_fn)(int ret, void *cfg, int image, const struct ini_diag *diag, void *arg);
int cfgcheck_reload_start(struct evloop *loop, const struct cfgcheck_loader *ld, const char *path,
			  unsigned timeout_ms, cfgcheck_done_fn done, void *arg, struct cfgcheck_job **job);
void cfgcheck_job_cancel(struct cfgcheck_job *job);
/* At start, the same as a reload, waited for (at most timeout_ms): the
 * file checked in a child, so that the daemon never holds what parsing
 * took, and the configuration rebuilt here from the child's image. 0,
 * *cfg and *image (with a loader that makes images: the sealed memfd, the
 * caller's to close; else -1); or -errno with the file's own messages, or
 * what became of the check, in diag. */
int cfgcheck_load(const struct cfgcheck_loader *ld, const char *path, unsigned timeout_ms, void **cfg, int *image,
		  struct ini_diag *diag);

void cfgcheck_free(struct cfgcheck *c);
/* Why a verdict is what it is, for a log line: "the configuration check
 * crashed (Segmentation fault)". */
const char *cfgcheck_reason(const struct cfgcheck *c, char *buf, size_t size);

#endif
