/* Counting the processes each [track_process] matches, by events, in a
 * thread of the VRRP engine (proc_watch.h).
 *
 * Why a thread, and why here: `killall -0 haproxy` in a script cannot work
 * unprivileged (signalling another user's process needs CAP_KILL), while
 * reading /proc and holding a pidfd need nothing. The VRRP engine is the
 * one that needs the answer; the parent must stay small and the LVS engine
 * may be busy for seconds (and would have to relay every change). But the
 * engine's loop runs at real-time priority and must never wait, and
 * scanning /proc costs time proportional to the number of processes: so
 * the work runs in a thread of its own at normal priority, which hands the
 * loop only the counts that changed, over a socketpair the loop watches.
 *
 * New processes come from the kernel's process connector where it works
 * (NETLINK_CONNECTOR / CN_IDX_PROC: CAP_NET_ADMIN, which the engine keeps,
 * and only in the initial network, user and pid namespaces; elsewhere the
 * subscription is refused or silently not made, so its acknowledgement is
 * awaited); otherwise from a scan of /proc every PROC_WATCH_SCAN_MS, made
 * only while a new process could change a verdict (a count below its
 * quorum, or a quorum_max). A matching process is then followed by a
 * pidfd, whose readability is its exit: no polling for exits in either
 * mode. /proc belongs to everyone: every file is opened below a directory
 * fd with O_NOFOLLOW | O_NONBLOCK, read with a bound, and a process that
 * vanishes meanwhile (ENOENT, ESRCH) is simply not there. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc_watch.h"
#include "proctrack.h"
#include "util.h"

#define CN_ACK_WAIT_MS 1000
#define CN_READS_PER_WAKE 64
#define CN_BUF 8192

struct pw_proc {
	pid_t pid;
	int pidfd;
	uint64_t mask;			/* the tracks it matches */
	bool seen;			/* in the scan going on */
};

struct proc_watch {
	int fd;				/* the loop's end of the socketpair */
	pthread_t thread;
	atomic_bool stop;
	/* The loop and the thread each hold one; the last to let go frees
	 * (proc_watch_close may leave a thread stuck in a read behind). */
	atomic_int refs;
	proc_watch_reader read_file;
	/* the thread's own */
	int sock, epfd, procfd, cnfd;
	unsigned flags;
	struct track_process_conf tracks[TRACK_PROCESS_MAX];
	size_t ntracks;
	bool any_cmdline;
	bool no_pidfd;			/* pidfd_open missing: the scan counts all */
	bool missed;			/* an event found a process it could not follow */
	struct pw_proc procs[PROC_WATCH_MAX_PIDFDS];
	size_t nprocs;
	unsigned held[TRACK_PROCESS_MAX];	/* followed by a pidfd */
	unsigned unheld[TRACK_PROCESS_MAX];	/* found by the last scan beyond those */
	unsigned sent[TRACK_PROCESS_MAX];
	bool sent_once[TRACK_PROCESS_MAX];
	enum proc_watch_mode mode;
	uint64_t next_scan_ms;
	uint32_t cn_nonce;		/* the acknowledgement carries it plus one */
};

const char *proc_watch_mode_name(enum proc_watch_mode m)
{
	return m == PROC_WATCH_CONNECTOR ? "process events" : m == PROC_WATCH_SCAN ? "pidfds and a /proc scan"
										    : "starting";
}

/* ---- the thread: telling the loop ---- */

static void pw_send(struct proc_watch *w, const struct proc_watch_event *ev)
{
	/* Blocking is fine here (not the loop); a closed loop end ends us. */
	if (send(w->sock, ev, sizeof(*ev), MSG_NOSIGNAL) < 0 && errno != EINTR)
		atomic_store(&w->stop, true);
}

static void pw_flush(struct proc_watch *w)
{
	for (size_t i = 0; i < w->ntracks; i++) {
		unsigned count = w->held[i] + w->unheld[i];

		if (w->sent_once[i] && w->sent[i] == count)
			continue;
		w->sent[i] = count;
		w->sent_once[i] = true;
		pw_send(w, &(struct proc_watch_event){ PROC_WATCH_COUNT, (unsigned)i, count });
	}
}

/* ---- reading /proc ---- */

/* A small file below a /proc/PID directory fd, at most size bytes. */
int proc_watch_read_below(int dirfd, const char *name, char *buf, size_t size, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n = 0;

	*len = 0;
	if (fd < 0)
		return -errno;
	while (*len < size && (n = read(fd, buf + *len, size - *len)) > 0)
		*len += (size_t)n;
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : 0;
}

/* The tracks the process in dirfd matches (0: none, or gone). The
 * command line is read only when comm says it could match: reading it
 * takes the process's memory lock, which a process stuck in D state may
 * hold for as long as it likes (and this thread with it). */
static uint64_t pw_match(struct proc_watch *w, int dirfd)
{
	char comm[PROC_COMM_MAX], cmdline[PROC_CMDLINE_MAX];
	size_t clen, cmdlen = 0;
	bool have_cmdline = false;
	uint64_t mask = 0;

	if (w->read_file(dirfd, "comm", comm, sizeof(comm), &clen) < 0)
		return 0;
	for (size_t i = 0; i < w->ntracks; i++) {
		if (proc_match_needs_cmdline(&w->tracks[i]) && !proc_comm_may_match(&w->tracks[i], comm, clen))
			continue;
		if (proc_match_needs_cmdline(&w->tracks[i]) && !have_cmdline) {
			if (w->read_file(dirfd, "cmdline", cmdline, sizeof(cmdline), &cmdlen) < 0)
				return 0;
			have_cmdline = true;
		}
		if (proc_match(&w->tracks[i], comm, clen, cmdline, cmdlen))
			mask |= 1ULL << i;
	}
	return mask;
}

static void pw_count(unsigned *counts, uint64_t mask, int delta)
{
	for (size_t i = 0; mask; i++, mask >>= 1)
		if (mask & 1)
			counts[i] += (unsigned)delta;
}

static void pw_remove(struct proc_watch *w, size_t i)
{
	pw_count(w->held, w->procs[i].mask, -1);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->procs[i].pidfd, NULL);
	close(w->procs[i].pidfd);
	w->procs[i] = w->procs[--w->nprocs];
}

/* Has the followed process exited? Only its own pidfd says so: a pid, or
 * an fd number from an earlier epoll batch, may belong to another process
 * (or another pidfd) by now. */
static bool pw_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
}

static long pw_find(const struct proc_watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid == pid)
			return (long)i;
	return -1;
}

/* A pidfd for the process dirfd shows, or -1. dirfd was opened first: if
 * it still reads after pidfd_open, its process was alive then, so the pid
 * was not reused and the pidfd is the same process's. A zombie has exited:
 * its pidfd is readable at once. */
static int pw_pidfd(struct proc_watch *w, pid_t pid, int dirfd)
{
	char comm[PROC_COMM_MAX];
	size_t len;
	int pidfd;

	if (w->no_pidfd || w->nprocs == PROC_WATCH_MAX_PIDFDS)
		return -1;
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		if (errno == ESRCH)
			return -2;	/* gone */
		if (errno == ENOSYS || errno == EINVAL)
			w->no_pidfd = true;
		return -1;
	}
	if (w->read_file(dirfd, "comm", comm, sizeof(comm), &len) < 0 ||
	    poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, 0) != 0) {
		close(pidfd);
		return -2;	/* gone */
	}
	return pidfd;
}

static void pw_follow(struct proc_watch *w, pid_t pid, int dirfd, uint64_t mask, bool scanning)
{
	int pidfd = pw_pidfd(w, pid, dirfd);
	struct epoll_event ev = { .events = EPOLLIN };

	if (pidfd == -2)
		return;
	if (pidfd >= 0) {
		ev.data.fd = pidfd;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, pidfd, &ev) == 0) {
			w->procs[w->nprocs++] = (struct pw_proc){ pid, pidfd, mask, true };
			pw_count(w->held, mask, 1);
			return;
		}
		close(pidfd);
	}
	/* No pidfd (too many, or none in this kernel): counted by scans. */
	if (scanning)
		pw_count(w->unheld, mask, 1);
	else
		w->missed = true;	/* found by an event: the next scan counts it */
}

/* Look at one process: follow it, update what it matches, or let it go. */
static void pw_consider(struct proc_watch *w, pid_t pid, bool scanning)
{
	char name[16];
	long i = pw_find(w, pid);
	int dirfd;
	uint64_t mask = 0;

	snprintf(name, sizeof(name), "%d", (int)pid);
	dirfd = openat(w->procfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd >= 0)
		mask = pw_match(w, dirfd);
	/* The pid of a process that exited (its pidfd not yet read) now
	 * names a new process: the old one goes, the new one is new. */
	if (i >= 0 && pw_exited(w->procs[i].pidfd)) {
		pw_remove(w, (size_t)i);
		i = -1;
	}
	if (i >= 0) {
		w->procs[i].seen = true;
		if (!mask) {
			pw_remove(w, (size_t)i);
		} else if (mask != w->procs[i].mask) {	/* exec'd or renamed */
			pw_count(w->held, w->procs[i].mask, -1);
			pw_count(w->held, mask, 1);
			w->procs[i].mask = mask;
		}
	} else if (mask) {
		pw_follow(w, pid, dirfd, mask, scanning);
	}
	if (dirfd >= 0)
		close(dirfd);
}

static pid_t pid_of(const char *name)
{
	long v = 0;

	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || v > 1L << 30)
			return 0;
		v = v * 10 + (*p - '0');
	}
	return (pid_t)v;
}

/* Every process once; stops within one entry when asked to. */
static void pw_scan(struct proc_watch *w)
{
	int fd = openat(w->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	w->next_scan_ms = now_ms() + PROC_WATCH_SCAN_MS;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	memset(w->unheld, 0, sizeof(w->unheld));
	w->missed = false;
	for (size_t i = 0; i < w->nprocs; i++)
		w->procs[i].seen = false;
	while (!atomic_load(&w->stop) && (de = readdir(d))) {
		pid_t pid = pid_of(de->d_name);

		if (pid > 0)
			pw_consider(w, pid, true);
	}
	closedir(d);
	/* Followed, but no longer in /proc: reaped before its pidfd was read. */
	for (size_t i = w->nprocs; i-- > 0;)
		if (!w->procs[i].seen && !atomic_load(&w->stop))
			pw_remove(w, i);
}

/* Could a process that starts now change a count's verdict, unseen? */
static bool pw_scan_needed(const struct proc_watch *w)
{
	if (w->missed)
		return true;
	for (size_t i = 0; i < w->ntracks; i++) {
		const struct track_process_conf *t = &w->tracks[i];

		if (w->unheld[i] || w->no_pidfd)
			return true;
		if (w->mode != PROC_WATCH_CONNECTOR &&
		    (t->quorum_max.set || w->held[i] + w->unheld[i] < t->quorum))
			return true;
	}
	return false;
}

/* ---- the process connector ---- */

#define EVENT_MIN_LEN (offsetof(struct proc_event, event_data) + sizeof(((struct proc_event *)0)->event_data.fork))

/* The process (not a thread) that a new process, a new program or a new
 * name is about; 0 for other events. */
static pid_t event_process(const struct proc_event *ev)
{
	const __typeof__(ev->event_data) *d = &ev->event_data;

	if (ev->what == PROC_EVENT_FORK && d->fork.child_pid == d->fork.child_tgid)
		return d->fork.child_tgid;
	if (ev->what == PROC_EVENT_EXEC && d->exec.process_pid == d->exec.process_tgid)
		return d->exec.process_tgid;
	if (ev->what == PROC_EVENT_COMM && d->comm.process_pid == d->comm.process_tgid)
		return d->comm.process_tgid;
	return 0;
}

/* The acknowledgement's error as -errno: 0, or negative always (an
 * out-of-range value is no errno, and -(int) of it could overflow). */
static int ack_errno(uint32_t err)
{
	return err == 0 ? 0 : err < 4096 ? -(int)err : -EPROTO;
}

void proc_cn_parse(const void *buf, size_t len, uint32_t nonce, int *acked, proc_cn_fn each, void *arg)
{
	/* Signed, as the macros expect: NLMSG_NEXT past a last message whose
	 * length is not aligned takes more than is left, which must end the
	 * walk, not wrap an unsigned count round to "plenty". */
	int left = len > INT_MAX ? INT_MAX : (int)len;

	for (const struct nlmsghdr *nh = buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
		const struct cn_msg *cn = NLMSG_DATA(nh);
		struct proc_event ev;	/* copied: the event sits unaligned after cn_msg */
		pid_t pid = 0;

		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*cn)) || cn->len < EVENT_MIN_LEN ||
		    nh->nlmsg_len - NLMSG_LENGTH(sizeof(*cn)) < cn->len || cn->id.idx != CN_IDX_PROC)
			continue;
		memset(&ev, 0, sizeof(ev));
		memcpy(&ev, cn->data, cn->len < sizeof(ev) ? cn->len : sizeof(ev));
		if (ev.what == PROC_EVENT_NONE && cn->ack == nonce + 1 && acked)
			*acked = ack_errno(ev.event_data.ack.err);
		else
			pid = event_process(&ev);
		if (pid > 0 && !acked)
			each(pid, arg);
	}
}

static void cn_consider(pid_t pid, void *arg)
{
	pw_consider(arg, pid, false);
}

/* One message from the kernel (port 0); others' are dropped (sending
 * here takes CAP_NET_ADMIN, and an event only makes us look at /proc). */
static ssize_t cn_recv(int fd, char *buf, size_t size)
{
	struct sockaddr_nl from;
	socklen_t len;
	ssize_t n;

	for (int i = 0; i < CN_READS_PER_WAKE; i++) {
		len = sizeof(from);
		n = recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
		if (n < 0 || (len >= sizeof(from) && from.nl_pid == 0))
			return n;
	}
	errno = EAGAIN;
	return -1;
}

/* What waits on the connector; lost events (ENOBUFS) mean a scan. */
static void cn_read(struct proc_watch *w)
{
	char buf[CN_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (int i = 0; i < CN_READS_PER_WAKE; i++) {
		ssize_t n = cn_recv(w->cnfd, buf, sizeof(buf));

		if (n < 0 && errno == ENOBUFS) {
			pw_scan(w);
			continue;
		}
		if (n <= 0)
			return;
		proc_cn_parse(buf, (size_t)n, w->cn_nonce, NULL, cn_consider, w);
	}
}

static int cn_subscribe(struct proc_watch *w)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	char req[NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(uint32_t))] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nl = (struct nlmsghdr *)req;
	struct cn_msg *cn = NLMSG_DATA(nl);
	uint32_t op = PROC_CN_MCAST_LISTEN;
	uint64_t deadline = now_ms() + CN_ACK_WAIT_MS, now;
	int acked = 1;
	char buf[CN_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	memset(req, 0, sizeof(req));
	nl->nlmsg_len = sizeof(req);
	nl->nlmsg_type = NLMSG_DONE;
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->ack = w->cn_nonce = ((uint32_t)getpid() << 12) ^ (uint32_t)now_ms();
	cn->len = sizeof(op);
	memcpy(cn->data, &op, sizeof(op));
	if (bind(w->cnfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(w->cnfd, req, sizeof(req), 0) < 0)
		return -errno;
	/* No acknowledgement: not in the initial user or pid namespace. */
	while (acked > 0 && (now = now_ms()) < deadline && !atomic_load(&w->stop)) {
		struct pollfd pfd[2] = { { .fd = w->cnfd, .events = POLLIN }, { .fd = w->sock, .events = POLLIN } };
		ssize_t n;

		/* The loop's end closing (proc_watch_close) ends the wait too:
		 * the engine's loop joins this thread and must not wait out
		 * the second. */
		if (poll(pfd, 2, (int)(deadline - now)) <= 0)
			continue;
		if (pfd[1].revents)
			break;
		if ((n = cn_recv(w->cnfd, buf, sizeof(buf))) > 0)
			proc_cn_parse(buf, (size_t)n, w->cn_nonce, &acked, cn_consider, w);
	}
	return acked > 0 ? -ETIMEDOUT : acked;
}

static bool cn_open(struct proc_watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (w->flags & PROC_WATCH_NO_CONNECTOR)
		return false;
	w->cnfd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (w->cnfd >= 0 && cn_subscribe(w) == 0) {
		ev.data.fd = w->cnfd;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->cnfd, &ev) == 0)
			return true;
	}
	if (w->cnfd >= 0)
		close(w->cnfd);
	w->cnfd = -1;
	return false;
}

/* ---- the thread ---- */

static void pw_unref(struct proc_watch *w);

static void pw_wait(struct proc_watch *w)
{
	struct epoll_event evs[16];
	int timeout = -1, n;

	if (pw_scan_needed(w)) {
		uint64_t now = now_ms();

		timeout = w->next_scan_ms > now ? (int)(w->next_scan_ms - now) : 0;
	}
	n = epoll_wait(w->epfd, evs, (int)ARRAY_SIZE(evs), timeout);
	if (n < 0 && errno != EINTR) {
		atomic_store(&w->stop, true);
		return;
	}
	for (int i = 0; i < n && !atomic_load(&w->stop); i++) {
		long p;

		if (evs[i].data.fd == w->sock)
			atomic_store(&w->stop, true);	/* the loop closed its end */
		else if (evs[i].data.fd == w->cnfd)
			cn_read(w);
		else
			for (p = 0; p < (long)w->nprocs; p++)
				if (w->procs[p].pidfd == evs[i].data.fd) {
					/* The fd may be a new pidfd by now (an
					 * earlier event of this batch closed the
					 * old one): only an exit removes. */
					if (pw_exited(w->procs[p].pidfd))
						pw_remove(w, (size_t)p);
					break;
				}
	}
	if (n == 0 && timeout >= 0)
		pw_scan(w);
}

static void *pw_thread(void *arg)
{
	struct proc_watch *w = arg;

	pw_scan(w);
	pw_flush(w);
	w->mode = cn_open(w) ? PROC_WATCH_CONNECTOR : PROC_WATCH_SCAN;
	if (w->mode == PROC_WATCH_CONNECTOR)
		pw_scan(w);	/* what started before the subscription */
	pw_flush(w);
	pw_send(w, &(struct proc_watch_event){ PROC_WATCH_MODE, 0, w->mode });
	while (!atomic_load(&w->stop)) {
		pw_wait(w);
		pw_flush(w);
	}
	shutdown(w->sock, SHUT_RDWR);	/* the loop sees the end */
	pw_unref(w);
	return NULL;
}

/* ---- the loop's side ---- */

static void pw_free(struct proc_watch *w)
{
	while (w->nprocs)
		pw_remove(w, w->nprocs - 1);
	for (size_t i = 0; i < w->ntracks; i++) {
		free(w->tracks[i].name);
		free(w->tracks[i].process);
		free(w->tracks[i].args);
	}
	const int fds[] = { w->fd, w->sock, w->epfd, w->procfd, w->cnfd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(w);
}

static int pw_copy_tracks(struct proc_watch *w, const struct track_process_conf *tracks)
{
	for (const struct track_process_conf *t = tracks; t; t = t->next) {
		struct track_process_conf *c = &w->tracks[w->ntracks];

		if (w->ntracks == TRACK_PROCESS_MAX)
			return -E2BIG;
		*c = *t;
		c->next = NULL;
		c->name = strdup(t->name);
		c->process = strdup(t->process);
		c->args = t->args ? strdup(t->args) : NULL;
		w->ntracks++;
		if (!c->name || !c->process || (t->args && !c->args))
			return -ENOMEM;
		w->any_cmdline |= proc_match_needs_cmdline(c);
	}
	return 0;
}

static int pw_start_thread(struct proc_watch *w)
{
	struct sched_param normal = { .sched_priority = 0 };
	sigset_t all, old;
	pthread_attr_t attr;
	int ret;

	/* Not real-time like the engine's loop, and no signals: they are the
	 * loop's (signalfd). */
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &normal);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&w->thread, &attr, pw_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

static void pw_unref(struct proc_watch *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1)
		pw_free(w);
}

int proc_watch_open_with(const struct track_process_conf *tracks, unsigned flags, proc_watch_reader reader,
			 struct proc_watch **out, int *fd)
{
	struct proc_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };
	int sv[2], ret;

	if (!w)
		return -ENOMEM;
	w->fd = w->sock = w->epfd = w->procfd = w->cnfd = -1;
	w->flags = flags;
	w->read_file = reader;
	atomic_init(&w->refs, 2);	/* the thread's is dropped here if it never starts */
	if ((ret = pw_copy_tracks(w, tracks)) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail_errno;
	w->fd = sv[0];
	w->sock = sv[1];
	if (fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0 || (w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (w->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail_errno;
	ev.data.fd = w->sock;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->sock, &ev) < 0)
		goto fail_errno;
	if ((ret = pw_start_thread(w)) < 0)
		goto fail;
	*out = w;
	*fd = w->fd;
	return 0;
fail_errno:
	ret = -errno;
fail:
	pw_free(w);
	return ret;
}

int proc_watch_open(const struct track_process_conf *tracks, unsigned flags, struct proc_watch **out, int *fd)
{
	return proc_watch_open_with(tracks, flags, proc_watch_read_below, out, fd);
}

int proc_watch_read(struct proc_watch *w, proc_watch_cb cb, void *arg)
{
	struct proc_watch_event ev;

	for (int i = 0; i < 4 * TRACK_PROCESS_MAX; i++) {
		ssize_t n = recv(w->fd, &ev, sizeof(ev), MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -EPIPE;
		if (n == (ssize_t)sizeof(ev))
			cb(&ev, arg);
	}
	return 0;
}

/* Threads proc_watch_close left running, joined by proc_watch_join_left
 * (those that ended meanwhile at the next close): a thread still alive
 * when the process exits is memory valgrind reports lost. */
#define LEFT_MAX 8

static pthread_mutex_t left_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t left[LEFT_MAX];
static size_t nleft;

static void leave_thread(pthread_t t)
{
	pthread_mutex_lock(&left_lock);
	for (size_t i = 0; i < nleft;)
		if (pthread_tryjoin_np(left[i], NULL) == 0)
			left[i] = left[--nleft];
		else
			i++;
	if (nleft < LEFT_MAX)
		left[nleft++] = t;
	else
		pthread_detach(t);	/* its end is its own */
	pthread_mutex_unlock(&left_lock);
}

void proc_watch_join_left(uint64_t wait_ms)
{
	struct timespec until;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ns = (uint64_t)until.tv_nsec + wait_ms * 1000000ULL;
	until.tv_sec += (time_t)(ns / 1000000000ULL);
	until.tv_nsec = (long)(ns % 1000000000ULL);
	pthread_mutex_lock(&left_lock);
	for (size_t i = 0; i < nleft; i++)
		if (pthread_clockjoin_np(left[i], NULL, CLOCK_MONOTONIC, &until) != 0)
			pthread_detach(left[i]);
	nleft = 0;
	pthread_mutex_unlock(&left_lock);
}

/* Never waits: the thread ends within one /proc entry, or, stuck in a
 * read of /proc (a process in D state holding its memory lock), when the
 * read returns; whichever of the thread and the loop lets go last frees
 * the watch (refs). Nothing else points into the watch: the tracks are
 * its own copies, and the loop forgets the watch and its fd here. */
void proc_watch_close(struct proc_watch *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	shutdown(w->fd, SHUT_RDWR);	/* wakes the thread, also from a blocked send */
	close(w->fd);
	w->fd = -1;
	leave_thread(w->thread);
	pw_unref(w);
}
