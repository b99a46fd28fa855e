/* Single-threaded event loop: epoll for descriptors, a binary min-heap of
 * caller-owned timers, one signalfd for all signals, one pidfd per watched
 * child.
 *
 * Callbacks may add and remove anything, including the registration being
 * dispatched and descriptors further down the same epoll batch: every
 * registration carries a generation number in its epoll data, so an event
 * for a descriptor removed (and perhaps re-added) meanwhile is dropped.
 *
 * After fork() the child shares the parent's epoll instance; it must not
 * call ev_fd_*() on an inherited loop, only evloop_free() it (which never
 * touches the epoll set) and make its own. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

#define EV_BATCH 64		/* epoll events taken per epoll_wait */
#define EV_DRAIN_ROUNDS 63	/* more epoll_waits before the timers: 4,096 events */
#define EV_SIGINFO_BATCH 8	/* signals read from the signalfd at once */
#define TIMERFD_MARK UINT64_MAX	/* epoll data of the timerfd: no fd registration has it */

struct ev_fdreg {
	ev_fd_cb cb;
	void *arg;
	uint32_t events;
	uint32_t gen;
	bool used;
};

struct ev_sigreg {
	ev_signal_cb cb;
	void *arg;
};

struct ev_child {
	struct ev_child *next;
	pid_t pid;
	int pidfd;
	ev_child_cb cb;		/* NULL once cancelled: reap without telling */
	void *arg;
	bool timed_out;
	struct ev_timer timeout;
};

struct evloop {
	int epfd;
	bool stop;

	struct ev_fdreg *fds;	/* indexed by descriptor */
	size_t nfds;
	uint32_t next_gen;

	struct ev_timer **heap;
	size_t nheap;
	size_t heap_cap;
	int tfd;			/* timerfd for the first timer; -1: epoll timeouts */
	uint64_t tfd_due_ms;		/* what tfd is armed for; 0: not armed */

	int sigfd;
	sigset_t sigmask;
	struct ev_sigreg sigs[NSIG];

	struct ev_child *children;
	/* Without pidfd_open (kernels before 5.3, valgrind): SIGCHLD through
	 * the signalfd, plus one poll right after a watch starts, since the
	 * child may already have exited. */
	bool sigchld_fallback;
	struct ev_timer child_poll;
};

int evloop_new(struct evloop **out)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;

		free(loop);
		return err;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->tfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMERFD_MARK };

		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->tfd, &ev) < 0) {
			close(loop->tfd);
			loop->tfd = -1;	/* epoll timeouts still work, less precisely */
		}
	}
	*out = loop;
	return 0;
}

/* --- descriptors ------------------------------------------------------- */

static uint64_t fd_epoll_data(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

static struct ev_fdreg *fd_lookup(struct evloop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].used)
		return NULL;
	return &loop->fds[fd];
}

static int fd_table_reserve(struct evloop *loop, int fd)
{
	size_t need = (size_t)fd + 1, cap;
	struct ev_fdreg *p;

	if (need <= loop->nfds)
		return 0;
	cap = loop->nfds ? loop->nfds : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(loop->fds, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + loop->nfds, 0, (cap - loop->nfds) * sizeof(*p));
	loop->fds = p;
	loop->nfds = cap;
	return 0;
}

int ev_fd_add(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct ev_fdreg *reg;
	uint32_t gen;
	int r;

	if (fd < 0)
		return -EBADF;
	if (!cb)
		return -EINVAL;
	r = fd_table_reserve(loop, fd);
	if (r < 0)
		return r;
	reg = &loop->fds[fd];
	if (reg->used)
		return -EEXIST;
	gen = ++loop->next_gen;
	ev.data.u64 = fd_epoll_data(fd, gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	*reg = (struct ev_fdreg){ .cb = cb, .arg = arg, .events = events, .gen = gen, .used = true };
	return 0;
}

int ev_fd_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct ev_fdreg *reg = fd_lookup(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!reg)
		return -ENOENT;
	ev.data.u64 = fd_epoll_data(fd, reg->gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	reg->events = events;
	return 0;
}

int ev_fd_del(struct evloop *loop, int fd)
{
	struct ev_fdreg *reg = fd_lookup(loop, fd);

	if (!reg)
		return -ENOENT;
	/* Fails only if the caller closed fd first, in which case the kernel
	 * has already dropped it from the set: forget it either way. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(reg, 0, sizeof(*reg));
	return 0;
}

static void fd_dispatch(struct evloop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct ev_fdreg *reg = fd_lookup(loop, fd);

	/* Removed, or removed and re-added, by an earlier callback of this batch. */
	if (!reg || reg->gen != gen)
		return;
	reg->cb(loop, fd, ev->events, reg->arg);
}

/* --- timers ------------------------------------------------------------ */

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg)
{
	t->due_ms = 0;
	t->heap_index = SIZE_MAX;
	t->cb = cb;
	t->arg = arg;
}

bool ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_index != SIZE_MAX;
}

/* Stricter than ev_timer_armed(): also true to this loop's heap, so a
 * zeroed (never initialised) timer cannot corrupt it. */
static bool timer_in_heap(const struct evloop *loop, const struct ev_timer *t)
{
	return t->heap_index < loop->nheap && loop->heap[t->heap_index] == t;
}

static void heap_place(struct evloop *loop, struct ev_timer *t, size_t i)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_sift_up(struct evloop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->due_ms <= t->due_ms)
			break;
		heap_place(loop, loop->heap[parent], i);
		i = parent;
	}
	heap_place(loop, t, i);
}

static void heap_sift_down(struct evloop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap &&
		    loop->heap[child + 1]->due_ms < loop->heap[child]->due_ms)
			child++;
		if (t->due_ms <= loop->heap[child]->due_ms)
			break;
		heap_place(loop, loop->heap[child], i);
		i = child;
	}
	heap_place(loop, t, i);
}

static void heap_fix(struct evloop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	heap_sift_up(loop, i);
	heap_sift_down(loop, t->heap_index);
}

static void heap_remove(struct evloop *loop, struct ev_timer *t)
{
	size_t i = t->heap_index;
	struct ev_timer *last = loop->heap[--loop->nheap];

	loop->heap[loop->nheap] = NULL;
	t->heap_index = SIZE_MAX;
	if (last != t) {
		heap_place(loop, last, i);
		heap_sift_up(loop, i);
		heap_sift_down(loop, last->heap_index);
	}
}

static int heap_reserve(struct evloop *loop)
{
	size_t cap;
	struct ev_timer **p;

	if (loop->nheap < loop->heap_cap)
		return 0;
	cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
	p = realloc(loop->heap, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	loop->heap = p;
	loop->heap_cap = cap;
	return 0;
}

int ev_timer_start(struct evloop *loop, struct ev_timer *t, uint64_t delay_ms)
{
	/* A zero delay means "next iteration": rounding it up would make the
	 * loop sleep a millisecond for nothing. */
	uint64_t now = delay_ms == 0 ? now_ms() : now_ms_ceil();

	return ev_timer_start_at(loop, t, delay_ms > UINT64_MAX / 2 - now ? UINT64_MAX / 2 : now + delay_ms);
}

int ev_timer_start_at(struct evloop *loop, struct ev_timer *t, uint64_t due)
{
	int r;

	if (due > UINT64_MAX / 2)
		due = UINT64_MAX / 2;
	if (!t->cb)
		return -EINVAL;
	if (timer_in_heap(loop, t)) {
		t->due_ms = due;
		heap_fix(loop, t->heap_index);
		return 0;
	}
	r = heap_reserve(loop);
	if (r < 0)
		return r;
	t->due_ms = due;
	heap_place(loop, t, loop->nheap++);
	heap_sift_up(loop, t->heap_index);
	return 0;
}

void ev_timer_stop(struct evloop *loop, struct ev_timer *t)
{
	if (timer_in_heap(loop, t))
		heap_remove(loop, t);
	else
		t->heap_index = SIZE_MAX;
}

/* Arm the timerfd for the first timer, to the nanosecond, when that
 * changed. Returns false when there is no timerfd or arming failed. */
static bool arm_timerfd(struct evloop *loop, uint64_t due_ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(due_ms / 1000),
						.tv_nsec = (long)(due_ms % 1000) * 1000000 } };

	if (loop->tfd < 0)
		return false;
	if (loop->tfd_due_ms == due_ms)
		return true;
	if (timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return false;
	loop->tfd_due_ms = due_ms;
	return true;
}

/* Milliseconds epoll may sleep: until the first timer, capped by max_wait
 * (-1 = no cap); with the timerfd armed for it, as long as max_wait says.
 * Rounded up: waking early would only mean a spurious pass. */
static int wait_timeout(struct evloop *loop, int max_wait)
{
	uint64_t now, due_us, ms;
	int wait;

	if (loop->nheap == 0)
		return max_wait;
	if (loop->heap[0]->due_ms < UINT64_MAX / 2 && arm_timerfd(loop, loop->heap[0]->due_ms))
		return now_us() >= loop->heap[0]->due_ms * 1000 ? 0 : max_wait;
	now = now_us();
	if (loop->heap[0]->due_ms > UINT64_MAX / 1000) {
		wait = INT_MAX;
	} else {
		due_us = loop->heap[0]->due_ms * 1000;
		if (due_us <= now)
			return 0;
		ms = (due_us - now + 999) / 1000;
		wait = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	if (max_wait >= 0 && max_wait < wait)
		wait = max_wait;
	return wait;
}

static void run_due_timers(struct evloop *loop)
{
	uint64_t now = now_ms();
	/* A callback re-arming with delay 0 could otherwise keep this loop
	 * busy: let each iteration fire at most as many as were pending. */
	size_t budget = loop->nheap;

	while (budget-- > 0 && loop->nheap > 0) {
		struct ev_timer *t = loop->heap[0];

		if (t->due_ms > now)
			break;
		heap_remove(loop, t);
		t->cb(loop, t, t->arg);
	}
}

/* --- signals ----------------------------------------------------------- */

static void signalfd_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si[EV_SIGINFO_BATCH];
	ssize_t n;

	(void)events;
	(void)arg;
	for (;;) {
		n = read(fd, si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* EAGAIN: drained */
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			uint32_t signo = si[i].ssi_signo;

			if (signo < NSIG && loop->sigs[signo].cb)
				loop->sigs[signo].cb(loop, (int)signo, loop->sigs[signo].arg);
		}
		if ((size_t)n < sizeof(si))
			return;
	}
}

int ev_signal_add(struct evloop *loop, int signo, ev_signal_cb cb, void *arg)
{
	sigset_t one, mask, old;
	int fd, err;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP || !cb)
		return -EINVAL;
	sigemptyset(&one);
	if (sigaddset(&one, signo) < 0)
		return -EINVAL;	/* reserved by the C library */
	mask = loop->sigmask;
	sigaddset(&mask, signo);

	/* Block first so that a signal arriving meanwhile stays pending for
	 * the signalfd instead of taking its default action. */
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		return -errno;
	fd = signalfd(loop->sigfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	if (loop->sigfd < 0) {
		err = ev_fd_add(loop, fd, EPOLLIN, signalfd_readable, NULL);
		if (err < 0) {
			close(fd);
			goto fail;
		}
		loop->sigfd = fd;
	}
	loop->sigmask = mask;
	loop->sigs[signo] = (struct ev_sigreg){ .cb = cb, .arg = arg };
	return 0;
fail:
	if (!sigismember(&old, signo))
		sigprocmask(SIG_UNBLOCK, &one, NULL);
	return err;
}

/* --- children ---------------------------------------------------------- */

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static struct ev_child *child_find(struct evloop *loop, pid_t pid)
{
	for (struct ev_child *c = loop->children; c; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void child_unlink(struct evloop *loop, struct ev_child *c)
{
	for (struct ev_child **pp = &loop->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

/* The whole process group first (a shell's children), then the pid itself
 * in case it never became a group leader. */
static void child_kill(const struct ev_child *c)
{
	(void)kill(-c->pid, SIGKILL);
	(void)kill(c->pid, SIGKILL);
}

static void child_finish(struct evloop *loop, struct ev_child *c, int status)
{
	ev_child_cb cb = c->cb;
	void *arg = c->arg;
	pid_t pid = c->pid;
	bool timed_out = c->timed_out;

	/* Forget everything before calling back, so the callback may start
	 * and watch a new child right away. */
	child_unlink(loop, c);
	if (c->pidfd >= 0) {
		ev_fd_del(loop, c->pidfd);
		close(c->pidfd);
	}
	ev_timer_stop(loop, &c->timeout);
	free(c);
	if (cb)
		cb(loop, pid, status, timed_out, arg);
}

static void child_pidfd_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ev_child *c = arg;
	int status = 0;
	pid_t r;

	(void)fd;
	(void)events;
	do
		r = waitpid(c->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;	/* not exited yet */
	if (r < 0) {
		/* Reaped by someone else (a stray waitpid(-1)): the status is
		 * lost; report a failure rather than success. */
		status = W_EXITCODE(255, 0);
	}
	child_finish(loop, c, status);
}

/* The fallback's reaper: every child without a pidfd that has exited. */
static void children_poll(struct evloop *loop)
{
	struct ev_child *c = loop->children, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->pidfd < 0)
			child_pidfd_readable(loop, -1, 0, c);
	}
}

static void children_poll_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	children_poll(loop);
}

static void sigchld_received(struct evloop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	children_poll(loop);
}

static int child_fallback_start(struct evloop *loop)
{
	int r;

	if (!loop->sigchld_fallback) {
		r = ev_signal_add(loop, SIGCHLD, sigchld_received, NULL);
		if (r < 0)
			return r;
		ev_timer_init(&loop->child_poll, children_poll_timer, NULL);
		loop->sigchld_fallback = true;
	}
	return ev_timer_start(loop, &loop->child_poll, 0);
}

static void child_timed_out(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct ev_child *c = arg;

	(void)loop;
	(void)t;
	/* Reaped, and reported, when its pidfd turns readable: SIGKILL is not
	 * instantaneous and the loop must not wait for it. */
	c->timed_out = true;
	child_kill(c);
}

int ev_child_watch(struct evloop *loop, pid_t pid, uint64_t timeout_ms, ev_child_cb cb, void *arg)
{
	struct ev_child *c;
	siginfo_t si;
	int r;

	if (pid <= 0 || !cb)
		return -EINVAL;
	if (child_find(loop, pid))
		return -EEXIST;
	/* Only our own children can be reaped; find out now, not at exit. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->pid = pid;
	c->cb = cb;
	c->arg = arg;
	ev_timer_init(&c->timeout, child_timed_out, c);
	c->pidfd = pidfd_open_compat(pid);
	if (c->pidfd < 0 && errno != ENOSYS) {
		r = -errno;
		free(c);
		return r;
	}
	if (c->pidfd >= 0)
		r = ev_fd_add(loop, c->pidfd, EPOLLIN, child_pidfd_readable, c);
	else
		r = child_fallback_start(loop);
	if (r < 0)
		goto fail;
	if (timeout_ms > 0) {
		r = ev_timer_start(loop, &c->timeout, timeout_ms);
		if (r < 0) {
			if (c->pidfd >= 0)
				ev_fd_del(loop, c->pidfd);
			goto fail;
		}
	}
	c->next = loop->children;
	loop->children = c;
	return 0;
fail:
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c);
	return r;
}

void ev_child_cancel(struct evloop *loop, pid_t pid)
{
	struct ev_child *c = child_find(loop, pid);

	if (!c || !c->cb)
		return;
	/* Keep the pidfd registered so the loop reaps it without blocking. */
	c->cb = NULL;
	c->arg = NULL;
	ev_timer_stop(loop, &c->timeout);
	child_kill(c);
}

/* --- running ----------------------------------------------------------- */

int evloop_run_once(struct evloop *loop, int max_wait_ms)
{
	struct epoll_event events[EV_BATCH];
	int n;

	n = epoll_wait(loop->epfd, events, EV_BATCH, wait_timeout(loop, max_wait_ms));
	/* Interrupted (a stopped process that is continued gets EINTR even
	 * without a handler): what became ready meanwhile is read before
	 * the timers, as after any wait. */
	if (n < 0 && errno == EINTR)
		n = epoll_wait(loop->epfd, events, EV_BATCH, 0);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	for (int round = 0;; round++) {
		for (int i = 0; i < n; i++) {
			if (events[i].data.u64 == TIMERFD_MARK) {
				uint64_t expirations;

				/* Drained; the timers themselves run below. */
				if (read(loop->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
					return -errno;
				loop->tfd_due_ms = 0;
				continue;
			}
			fd_dispatch(loop, &events[i]);
		}
		/* A full batch may have left ready descriptors in the kernel:
		 * take them (a bounded number of rounds) before the timers, so
		 * that a deadline never beats an answer that came in time but
		 * waited behind others for its turn. */
		if (n < EV_BATCH || round == EV_DRAIN_ROUNDS || loop->stop)
			break;
		n = epoll_wait(loop->epfd, events, EV_BATCH, 0);
		if (n < 0) {
			if (errno != EINTR)
				return -errno;
			break;
		}
	}
	run_due_timers(loop);
	return 0;
}

int evloop_run(struct evloop *loop)
{
	int r = 0;

	while (!loop->stop) {
		r = evloop_run_once(loop, -1);
		if (r < 0)
			break;
	}
	loop->stop = false;	/* the loop can be run again */
	return r;
}

void evloop_stop(struct evloop *loop)
{
	loop->stop = true;
}

bool evloop_stopped(const struct evloop *loop)
{
	return loop->stop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	/* Timers are the caller's: only mark them unarmed (before freeing
	 * the children, whose timeout timers are in the heap too). */
	for (size_t i = 0; i < loop->nheap; i++)
		loop->heap[i]->heap_index = SIZE_MAX;
	free(loop->heap);
	/* Watched children stay the caller's; cancelled ones were sent
	 * SIGKILL and are reaped here. No epoll_ctl(): after a fork the set
	 * is shared with the parent. */
	while (loop->children) {
		struct ev_child *c = loop->children;

		loop->children = c->next;
		if (!c->cb) {
			while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		if (c->pidfd >= 0)
			close(c->pidfd);
		free(c);
	}
	free(loop->fds);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	if (loop->tfd >= 0)
		close(loop->tfd);
	close(loop->epfd);
	free(loop);
}
