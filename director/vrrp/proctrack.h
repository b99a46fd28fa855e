/* [track_process] as pure logic: which process matches a section (from
 * the bytes of its /proc/PID/comm and cmdline), and what a count of
 * matching processes means once the delays are applied, with the time
 * passed in. The processes themselves are found by proc_watch.c; the
 * engine (vrrp_engine.c) feeds its counts here. Unit tests:
 * tests/unit/test_vrrp_proctrack.c; fuzz: tests/fuzz/fuzz_vrrp_proctrack.c. */
#ifndef DSRKIT_PROCTRACK_H
#define DSRKIT_PROCTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Bytes read of /proc/PID/cmdline: enough for a name and the arguments
 * anyone matches on; a longer command line is compared on its start. */
#define PROC_CMDLINE_MAX 4096
#define PROC_COMM_MAX 64

/* Does the command line (argv[0]) decide, rather than comm? */
bool proc_match_needs_cmdline(const struct track_process_conf *t);

/* Whether a process matches t. comm: /proc/PID/comm as read (its newline
 * optional); cmdline: /proc/PID/cmdline as read (NUL-separated words, the
 * last NUL optional, maybe cut short). Neither needs a terminating NUL. */
bool proc_match(const struct track_process_conf *t, const char *comm, size_t comm_len, const char *cmdline,
		size_t cmdline_len);

/* The bytes of a program's file name that exec leaves in comm. */
#define PROC_COMM_CUT 15
/* Whether a process whose /proc/PID/comm is comm may match t, before its
 * command line is read (that read takes the process's memory lock, which
 * a process stuck in D state holds): always when t matches on comm; else
 * when comm is what exec makes of t's process, or of one of its args (a
 * script run by its interpreter is named after the script). A process
 * that renamed itself (prctl PR_SET_NAME) or was exec'd with another
 * argv[0] than its file's name is not matched on its command line. */
bool proc_comm_may_match(const struct track_process_conf *t, const char *comm, size_t comm_len);

/* quorum <= count <= quorum_max (when set). */
bool proc_count_ok(const struct track_process_conf *t, unsigned count);

/* The verdict on one [track_process]: the first count decides at once;
 * after that a count out of range must last terminate_delay before the
 * verdict is down, and one back in range fork_delay before it is up. */
struct proc_verdict {
	bool known;		/* a count has been seen */
	bool up;		/* the verdict */
	bool count_ok;		/* the last count */
	unsigned count;
	uint64_t due_ms;	/* 0: none; else when count_ok becomes the verdict */
};

/* A count at now; true when the verdict changed (then or at once). */
bool proc_verdict_count(struct proc_verdict *v, const struct track_process_conf *t, unsigned count, uint64_t now_ms);
/* Call at due_ms; true when the verdict changed. */
bool proc_verdict_timeout(struct proc_verdict *v, uint64_t now_ms);

/* ---- in the VRRP engine (vrrp_proctrack.c) ----
 * The verdicts of every [track_process], fed by the process watch through
 * the engine's kernel seam; changed is called (on the loop) whenever a
 * verdict changes, so the engine re-evaluates its instances' priorities. */
struct evloop;
struct json;
struct strbuf;
struct vrrp_kernel_ops;
struct proc_tracker;
typedef void (*proc_tracker_changed)(void *arg);

int proc_tracker_start(struct evloop *loop, const struct vrrp_kernel_ops *kernel,
		       const struct track_process_conf *tracks, proc_tracker_changed changed, void *arg,
		       struct proc_tracker **out);
/* New sections: those of the same name and settings keep their verdicts
 * (a reload moves no priority); the watch is restarted only when the
 * sections changed. tracks must outlive the tracker or the next reload.
 * -ENOMEM: nothing changed, the old sections are still in use. */
int proc_tracker_reload(struct proc_tracker *pt, const struct track_process_conf *tracks);
void proc_tracker_stop(struct proc_tracker *pt);
/* The section and verdict of name (NULL: no such section). */
const struct proc_verdict *proc_tracker_find(const struct proc_tracker *pt, const char *name,
					     const struct track_process_conf **conf);
void proc_tracker_status_json(const struct proc_tracker *pt, struct json *j);
void proc_tracker_status_text(const struct proc_tracker *pt, struct strbuf *out);

#endif
