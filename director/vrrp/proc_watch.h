/* Counting the processes each [track_process] matches, by events, off the
 * VRRP engine's loop (proc_watch.c). Returns 0 or -errno; never logs. */
#ifndef DSRKIT_PROC_WATCH_H
#define DSRKIT_PROC_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* How new processes are found: the kernel's process events (the netlink
 * process connector: CAP_NET_ADMIN, the initial network, user and pid
 * namespaces), else a scan of /proc every PROC_WATCH_SCAN_MS while a
 * count could still change by a new process. Exits are pidfd events in
 * both (or the scan, where pidfd_open is missing, as under valgrind). */
enum proc_watch_mode { PROC_WATCH_STARTING, PROC_WATCH_CONNECTOR, PROC_WATCH_SCAN };

#define PROC_WATCH_SCAN_MS 1000
/* Processes followed by a pidfd; more are counted by the scan. */
#define PROC_WATCH_MAX_PIDFDS 256
/* proc_watch_open flags */
#define PROC_WATCH_NO_CONNECTOR 1u	/* scan even where the connector works (tests) */

struct proc_watch;

/* What the watch reports, in order: a track's count (index in the list
 * given to proc_watch_open), or the mode it settled in. */
struct proc_watch_event {
	enum { PROC_WATCH_COUNT, PROC_WATCH_MODE } kind;
	unsigned index;
	unsigned count;			/* COUNT: processes; MODE: enum proc_watch_mode */
};

typedef void (*proc_watch_cb)(const struct proc_watch_event *ev, void *arg);

/* Start watching for the tracks (a list, at most TRACK_PROCESS_MAX; copied,
 * so the list need not outlive the call). *fd becomes readable when events
 * wait: then call proc_watch_read. */
int proc_watch_open(const struct track_process_conf *tracks, unsigned flags, struct proc_watch **out, int *fd);
/* How the watch reads a file below a /proc/PID directory fd: at most size
 * bytes into buf, *len set; 0 or -errno. proc_watch_open's reads with
 * O_NOFOLLOW | O_NONBLOCK; tests give a slow one. */
typedef int (*proc_watch_reader)(int dirfd, const char *name, char *buf, size_t size, size_t *len);
int proc_watch_read_below(int dirfd, const char *name, char *buf, size_t size, size_t *len);
int proc_watch_open_with(const struct track_process_conf *tracks, unsigned flags, proc_watch_reader reader,
			 struct proc_watch **out, int *fd);
/* Deliver what waits, without blocking; -EPIPE when the watch has ended. */
int proc_watch_read(struct proc_watch *w, proc_watch_cb cb, void *arg);
/* Stop, without waiting: the watch's thread ends within one /proc entry,
 * or, stuck in a read (a process in D state), when that read returns; the
 * last of the two to let go frees the watch. */
void proc_watch_close(struct proc_watch *w);
/* At the process's end: the threads of closed watches ended, waiting at
 * most wait_ms for them (one stuck in a read is left to the exit). */
void proc_watch_join_left(uint64_t wait_ms);

const char *proc_watch_mode_name(enum proc_watch_mode m);

/* The process connector's messages in buf (len bytes as received; 4-byte
 * aligned): each process (not thread) that a new process, a new program
 * or a new name is about goes to each(pid, arg), unless acked is given:
 * then only the acknowledgement carrying nonce + 1 is looked for, and
 * sets *acked (0 or the kernel's -errno). Every length is checked against
 * len (tests/fuzz/fuzz_vrrp_proccn.c). */
typedef void (*proc_cn_fn)(pid_t pid, void *arg);
void proc_cn_parse(const void *buf, size_t len, uint32_t nonce, int *acked, proc_cn_fn each, void *arg);

#endif
