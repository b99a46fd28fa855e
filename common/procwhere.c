/* See procwhere.h. The formatting is a pure function of the three files'
 * text, so it is tested without a stuck process. */
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "procwhere.h"
#include "util.h"

static const char *state_name(char state)
{
	switch (state) {
	case 'R': return "running";
	case 'S': return "sleeping";
	case 'D': return "uninterruptible sleep";
	case 'T': return "stopped";
	case 't': return "stopped by a tracer";
	case 'Z': return "zombie";
	case 'X': return "dead";
	case 'I': return "idle";
	case 'P': return "parked";
	default: return "unknown";
	}
}

/* The calls a stuck loop is likely to sit in; any other is shown by number. */
static const struct {
	long nr;
	const char *name;
} syscall_names[] = {
	{ SYS_read, "read" }, { SYS_write, "write" }, { SYS_openat, "openat" },
	{ SYS_recvfrom, "recvfrom" }, { SYS_recvmsg, "recvmsg" }, { SYS_sendto, "sendto" },
	{ SYS_sendmsg, "sendmsg" }, { SYS_connect, "connect" }, { SYS_accept4, "accept4" },
	{ SYS_epoll_pwait, "epoll_pwait" }, { SYS_ppoll, "ppoll" }, { SYS_pselect6, "pselect6" },
	{ SYS_wait4, "wait4" }, { SYS_waitid, "waitid" }, { SYS_futex, "futex" },
	{ SYS_nanosleep, "nanosleep" }, { SYS_clock_nanosleep, "clock_nanosleep" },
	{ SYS_flock, "flock" }, { SYS_fcntl, "fcntl" }, { SYS_fsync, "fsync" },
#ifdef SYS_epoll_wait	/* x86_64 has it; newer architectures only epoll_pwait */
	{ SYS_epoll_wait, "epoll_wait" }, { SYS_poll, "poll" }, { SYS_open, "open" },
#endif
};

static const char *syscall_name(long nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_names); i++)
		if (syscall_names[i].nr == nr)
			return syscall_names[i].name;
	return NULL;
}

/* The state letter follows the last ')' (the command name may hold any). */
static char stat_state(const char *stat)
{
	const char *p = stat ? strrchr(stat, ')') : NULL;

	return p && p[1] == ' ' && p[2] && p[2] != '\n' ? p[2] : 0;
}

/* Add one part to buf, after ", " unless it is the first. */
static void __attribute__((format(printf, 3, 4))) add(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len && len + 2 < size) {
		memcpy(buf + len, ", ", 3);
		len += 2;
	}
	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* wchan: one kernel symbol, or "0" when running or unknown. */
static void add_wchan(char *buf, size_t size, const char *wchan)
{
	size_t n = 0;

	if (!wchan)
		return;
	while (n < 64 && (isalnum((unsigned char)wchan[n]) || wchan[n] == '_' || wchan[n] == '.'))
		n++;
	if (n && !(n == 1 && wchan[0] == '0'))
		add(buf, size, "in %.*s", (int)n, wchan);
}

/* syscall: "NR args... sp pc", "-1 sp pc" (blocked outside a call) or "running". */
static void add_syscall(char *buf, size_t size, const char *text)
{
	const char *name;
	char *end;
	long nr;

	if (!text || !*text)
		return;
	if (strncmp(text, "running", 7) == 0) {
		add(buf, size, "running in user space");
		return;
	}
	nr = strtol(text, &end, 10);
	if (end == text)
		return;
	if (nr < 0)
		add(buf, size, "not in a system call");
	else if ((name = syscall_name(nr)))
		add(buf, size, "system call %ld (%s)", nr, name);
	else
		add(buf, size, "system call %ld", nr);
}

char *proc_where_format(const char *stat, const char *wchan, const char *syscall, char *buf, size_t size)
{
	char state = stat_state(stat);

	if (!size)
		return buf;
	buf[0] = '\0';
	if (state)
		add(buf, size, "state %c (%s)", state, state_name(state));
	add_wchan(buf, size, wchan);
	add_syscall(buf, size, syscall);
	if (!buf[0])
		snprintf(buf, size, "where unknown");
	return buf;
}

char *proc_where(pid_t pid, char *buf, size_t size)
{
	static const char *const names[] = { "stat", "wchan", "syscall" };
	char text[3][512];
	bool ok[3];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char path[64];
		size_t len;

		snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, names[i]);
		ok[i] = read_small_regular(path, O_NOFOLLOW, text[i], sizeof(text[i]), &len) == 0;
	}
	return proc_where_format(ok[0] ? text[0] : NULL, ok[1] ? text[1] : NULL, ok[2] ? text[2] : NULL, buf,
				 size);
}
