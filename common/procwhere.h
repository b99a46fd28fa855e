/* Where a process is waiting, in words, for the log line of an engine that
 * missed its heartbeat: its scheduler state, the kernel function it sleeps
 * in and the system call it is in, as /proc shows them. A stuck engine is
 * killed at once; this line is all that is left to find the cause by. */
#ifndef DSRKIT_PROCWHERE_H
#define DSRKIT_PROCWHERE_H

#include <stddef.h>
#include <sys/types.h>

/* Read /proc/PID/{stat,wchan,syscall} (never blocking) and write, e.g.,
 * "state S (sleeping), in netlink_recvmsg, system call 47 (recvmsg)".
 * What cannot be read is left out; returns buf. */
char *proc_where(pid_t pid, char *buf, size_t size);

/* The same from the three files' contents, any of which may be NULL. */
char *proc_where_format(const char *stat, const char *wchan, const char *syscall, char *buf, size_t size);

#endif
