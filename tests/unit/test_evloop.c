/* Event loop: timers (order, never early, re-arm, stop, heap stress),
 * descriptors (pipes, removal within a batch), signals and children
 * (exit status, timeout killing a process group, cancel). Every wait is
 * bounded so a broken loop fails instead of hanging. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "test.h"
#include "util.h"

#define WAIT_MS 3000

/* Run iterations until *done or WAIT_MS passed; true if done. */
static bool run_until(struct evloop *loop, const bool *done)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (!*done && now_ms() < deadline)
		CHECK_EQ_INT(evloop_run_once(loop, 50), 0);
	return *done;
}

/* Run for about ms milliseconds. */
static void run_for(struct evloop *loop, unsigned ms)
{
	uint64_t deadline = now_ms() + ms;

	while (now_ms() < deadline)
		evloop_run_once(loop, (int)(deadline - now_ms()));
}

/* --- timers ------------------------------------------------------------ */

struct order_log {
	int fired[16];
	uint64_t due[16];
	int n;
};

struct tagged_timer {
	struct ev_timer t;
	struct order_log *log;
	int tag;
};

static void record_fire(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct tagged_timer *tt = arg;

	(void)loop;
	CHECK(!ev_timer_armed(t));
	CHECK(now_ms() >= t->due_ms);
	tt->log->due[tt->log->n] = t->due_ms;
	tt->log->fired[tt->log->n++] = tt->tag;
}

TEST(timers_fire_in_order)
{
	static const int delays[] = { 40, 10, 30, 0, 20 };
	struct tagged_timer tt[5];
	struct order_log log = { .n = 0 };
	struct evloop *loop;
	uint64_t deadline, started, spread;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	started = now_ms();
	for (int i = 0; i < 5; i++) {
		tt[i].log = &log;
		tt[i].tag = delays[i];
		ev_timer_init(&tt[i].t, record_fire, &tt[i]);
		CHECK(!ev_timer_armed(&tt[i].t));
		CHECK_EQ_INT(ev_timer_start(loop, &tt[i].t, (uint64_t)delays[i]), 0);
		CHECK(ev_timer_armed(&tt[i].t));
	}
	spread = now_ms() - started;
	deadline = now_ms() + WAIT_MS;
	while (log.n < 5 && now_ms() < deadline)
		evloop_run_once(loop, 50);
	CHECK_EQ_INT(log.n, 5);
	/* Always in due order; in delay order unless this process was
	 * preempted for longer than the gap between delays while starting. */
	for (int i = 1; i < log.n; i++)
		CHECK(log.due[i] >= log.due[i - 1]);
	for (int i = 0; i < log.n && spread < 9; i++)
		CHECK_EQ_INT(log.fired[i], i * 10);
	evloop_free(loop);
}

struct early_check {
	struct ev_timer t;
	uint64_t started_us;
	uint64_t fired_us;
	bool fired;
};

static void note_fire_time(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct early_check *ec = arg;

	(void)loop;
	(void)t;
	ec->fired_us = now_us();
	ec->fired = true;
}

TEST(timer_never_fires_early)
{
	struct evloop *loop;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	for (unsigned delay = 1; delay <= 31; delay += 10) {
		struct early_check ec = { .fired = false };

		ev_timer_init(&ec.t, note_fire_time, &ec);
		ec.started_us = now_us();
		CHECK_EQ_INT(ev_timer_start(loop, &ec.t, delay), 0);
		CHECK(run_until(loop, &ec.fired));
		CHECK(ec.fired_us - ec.started_us >= delay * 1000u);
		CHECK(ec.fired_us - ec.started_us < delay * 1000u + 1000000u);
	}
	evloop_free(loop);
}

struct periodic {
	struct ev_timer t;
	int count;
	bool done;
};

static void periodic_tick(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct periodic *p = arg;

	if (++p->count < 5)
		CHECK_EQ_INT(ev_timer_start(loop, t, 2), 0);
	else
		p->done = true;
}

struct stopper {
	struct ev_timer t;
	struct ev_timer *victim;
	bool fired;
};

static void stop_victim(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct stopper *s = arg;

	(void)t;
	ev_timer_stop(loop, s->victim);
	CHECK(!ev_timer_armed(s->victim));
	s->fired = true;
}

static void must_not_fire(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	CHECK(!"stopped timer fired");
}

TEST(timer_rearm_move_and_stop)
{
	struct periodic p = { .count = 0, .done = false };
	struct stopper s = { .fired = false };
	struct early_check moved = { .fired = false };
	struct ev_timer victim, never;
	struct evloop *loop;
	uint64_t start;

	CHECK_EQ_INT(evloop_new(&loop), 0);

	/* Re-armed from its own callback. */
	ev_timer_init(&p.t, periodic_tick, &p);
	CHECK_EQ_INT(ev_timer_start(loop, &p.t, 0), 0);

	/* Stopped by another timer's callback while due in the same pass. */
	ev_timer_init(&victim, must_not_fire, NULL);
	ev_timer_init(&s.t, stop_victim, &s);
	s.victim = &victim;
	CHECK_EQ_INT(ev_timer_start(loop, &s.t, 5), 0);
	CHECK_EQ_INT(ev_timer_start(loop, &victim, 5), 0);

	/* Stopped before it is due; stopping twice is harmless. */
	ev_timer_init(&never, must_not_fire, NULL);
	CHECK_EQ_INT(ev_timer_start(loop, &never, 1), 0);
	ev_timer_stop(loop, &never);
	ev_timer_stop(loop, &never);
	CHECK(!ev_timer_armed(&never));

	/* Moved later by re-arming while armed. */
	ev_timer_init(&moved.t, note_fire_time, &moved);
	start = now_us();
	CHECK_EQ_INT(ev_timer_start(loop, &moved.t, 1), 0);
	CHECK_EQ_INT(ev_timer_start(loop, &moved.t, 40), 0);

	CHECK(run_until(loop, &p.done));
	CHECK_EQ_INT(p.count, 5);
	CHECK(run_until(loop, &s.fired));
	CHECK(run_until(loop, &moved.fired));
	CHECK(moved.fired_us - start >= 40000);
	evloop_free(loop);
}

/* Many timers with scattered deadlines, some stopped, some moved: they
 * must come out sorted by due time (a heap invariant check). */
struct stress_timer {
	struct ev_timer t;
	uint64_t *last_due;
	int *fired;
	bool stopped;
};

static void stress_fire(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct stress_timer *st = arg;

	(void)loop;
	CHECK(!st->stopped);
	CHECK(t->due_ms >= *st->last_due);
	*st->last_due = t->due_ms;
	(*st->fired)++;
}

TEST(timer_heap_stress)
{
	enum { N = 300 };
	struct stress_timer *st = calloc(N, sizeof(*st));
	uint64_t last_due = 0;
	int fired = 0, expected = 0;
	unsigned seed = 12345;
	struct evloop *loop;
	uint64_t deadline;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		st[i].last_due = &last_due;
		st[i].fired = &fired;
		ev_timer_init(&st[i].t, stress_fire, &st[i]);
		CHECK_EQ_INT(ev_timer_start(loop, &st[i].t, (seed >> 16) % 60), 0);
	}
	for (int i = 0; i < N; i += 3) {
		seed = seed * 1103515245u + 12345u;
		if (seed & 0x10000) {
			ev_timer_stop(loop, &st[i].t);
			st[i].stopped = true;
		} else {
			CHECK_EQ_INT(ev_timer_start(loop, &st[i].t, (seed >> 16) % 80), 0);
		}
	}
	for (int i = 0; i < N; i++)
		expected += !st[i].stopped;
	deadline = now_ms() + WAIT_MS;
	while (fired < expected && now_ms() < deadline)
		evloop_run_once(loop, 50);
	CHECK_EQ_INT(fired, expected);
	evloop_free(loop);
	free(st);
}

struct runner {
	struct ev_timer t;
	int ticks;
};

static void tick_then_stop(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct runner *r = arg;

	if (++r->ticks == 3)
		evloop_stop(loop);
	else
		ev_timer_start(loop, t, 1);
}

TEST(run_until_stopped)
{
	struct runner r = { .ticks = 0 };
	struct evloop *loop;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	ev_timer_init(&r.t, tick_then_stop, &r);
	CHECK_EQ_INT(ev_timer_start(loop, &r.t, 1), 0);
	CHECK(!evloop_stopped(loop));
	CHECK_EQ_INT(evloop_run(loop), 0);
	CHECK_EQ_INT(r.ticks, 3);
	CHECK(!evloop_stopped(loop));	/* evloop_run starts it over */
	/* Turned by evloop_run_once, a stop stays seen. */
	r.ticks = 2;
	CHECK_EQ_INT(ev_timer_start(loop, &r.t, 1), 0);
	for (int i = 0; i < 100 && !evloop_stopped(loop); i++)
		CHECK_EQ_INT(evloop_run_once(loop, 50), 0);
	CHECK(evloop_stopped(loop));
	CHECK_EQ_INT(r.ticks, 3);
	/* Free with a timer still armed: the timer is left unarmed. */
	CHECK_EQ_INT(ev_timer_start(loop, &r.t, 1000), 0);
	evloop_free(loop);
	CHECK(!ev_timer_armed(&r.t));
}

/* --- descriptors ------------------------------------------------------- */

struct pipe_end {
	int fds[2];
	int calls;
	uint32_t events;
	char got[16];
};

static void pipe_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct pipe_end *p = arg;
	ssize_t n;

	(void)loop;
	p->calls++;
	p->events = events;
	n = read(fd, p->got, sizeof(p->got) - 1);
	p->got[n > 0 ? n : 0] = '\0';
}

static void pipe_writable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct pipe_end *p = arg;

	p->calls++;
	p->events = events;
	ev_fd_del(loop, fd);
}

TEST(fd_callbacks_via_pipe)
{
	struct pipe_end r = { .calls = 0 }, w = { .calls = 0 };
	struct evloop *loop;
	int fds[2];

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
	CHECK_EQ_INT(ev_fd_add(loop, fds[0], EPOLLIN, pipe_readable, &r), 0);
	CHECK_EQ_INT(ev_fd_add(loop, fds[0], EPOLLIN, pipe_readable, &r), -EEXIST);
	CHECK_EQ_INT(ev_fd_add(loop, -1, EPOLLIN, pipe_readable, &r), -EBADF);
	CHECK_EQ_INT(ev_fd_mod(loop, fds[1], EPOLLOUT), -ENOENT);

	/* Nothing to read: nothing called. */
	CHECK_EQ_INT(evloop_run_once(loop, 0), 0);
	CHECK_EQ_INT(r.calls, 0);

	CHECK_EQ_INT(write(fds[1], "ping", 4), 4);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(r.calls, 1);
	CHECK(r.events & EPOLLIN);
	CHECK_EQ_STR(r.got, "ping");

	/* Writable end, switched from "nothing" to EPOLLOUT with ev_fd_mod. */
	CHECK_EQ_INT(ev_fd_add(loop, fds[1], 0, pipe_writable, &w), 0);
	CHECK_EQ_INT(evloop_run_once(loop, 0), 0);
	CHECK_EQ_INT(w.calls, 0);
	CHECK_EQ_INT(ev_fd_mod(loop, fds[1], EPOLLOUT), 0);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(w.calls, 1);
	CHECK(w.events & EPOLLOUT);

	/* Hang-up is reported to a reader. */
	close(fds[1]);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(r.calls, 2);
	CHECK(r.events & EPOLLHUP);
	CHECK_EQ_INT(ev_fd_del(loop, fds[0]), 0);
	CHECK_EQ_INT(ev_fd_del(loop, fds[0]), -ENOENT);
	close(fds[0]);
	evloop_free(loop);
}

/* A stopped process that is continued gets EINTR from epoll_wait even
 * without a signal handler. What became ready while it was stopped must
 * still be read before the timers that ran out meanwhile: a VRRP master
 * resumed so ran its advert timer before the adverts that told it a
 * backup had taken over. */
static char stop_order[3];
static size_t stop_n;

static void stop_fd_cb(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	char c;

	(void)loop;
	(void)events;
	(void)arg;
	if (read(fd, &c, 1) == 1 && stop_n < 2)
		stop_order[stop_n++] = 'f';
}

static void stop_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	if (stop_n < 2)
		stop_order[stop_n++] = 't';
}

static int stopped_child(int rfd)
{
	struct evloop *loop;
	struct ev_timer t;

	if (evloop_new(&loop) < 0 || ev_fd_add(loop, rfd, EPOLLIN, stop_fd_cb, NULL) < 0)
		return 3;
	ev_timer_init(&t, stop_timer_cb, NULL);
	if (ev_timer_start(loop, &t, 300) < 0)
		return 3;
	for (int i = 0; i < 20 && stop_n < 2; i++)
		evloop_run_once(loop, 1000);
	return stop_n < 2 ? 2 : stop_order[0] == 'f' ? 0 : 1;
}

TEST(fd_before_timer_after_stop)
{
	int fds[2], status = -1;
	siginfo_t si;
	pid_t pid;

	CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		_exit(stopped_child(fds[0]));
	}
	close(fds[0]);
	usleep(100 * 1000);	/* the child waits in epoll_wait, its timer at 300 ms */
	CHECK_EQ_INT(kill(pid, SIGSTOP), 0);
	memset(&si, 0, sizeof(si));
	CHECK_EQ_INT(waitid(P_PID, (id_t)pid, &si, WSTOPPED), 0);
	usleep(400 * 1000);	/* the timer runs out while it is stopped */
	CHECK_EQ_INT(write(fds[1], "x", 1), 1);
	CHECK_EQ_INT(kill(pid, SIGCONT), 0);
	for (int i = 0; i < 300 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);	/* 1: the timer ran first */
	close(fds[1]);
}

/* Two readable pipes; whichever callback runs first removes the other and
 * puts a fresh pipe, likely on the very same descriptor number, in its
 * place. The stale event of the batch must reach nobody. */
struct batch_test {
	int a[2], b[2], fresh[2];
	int calls_a, calls_b, calls_fresh;
};

static void fresh_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct batch_test *bt = arg;

	(void)loop;
	(void)fd;
	(void)events;
	bt->calls_fresh++;
}

static void replace_other(struct evloop *loop, struct batch_test *bt, int fd, int *other)
{
	char c;

	CHECK_EQ_INT(read(fd, &c, 1), 1);
	if (other[0] < 0)
		return;
	CHECK_EQ_INT(ev_fd_del(loop, other[0]), 0);
	close(other[0]);
	CHECK_EQ_INT(pipe2(bt->fresh, O_CLOEXEC), 0);
	/* Lowest free number: the one just closed, still in the batch. */
	CHECK_EQ_INT(bt->fresh[0], other[0]);
	CHECK_EQ_INT(ev_fd_add(loop, bt->fresh[0], EPOLLIN, fresh_readable, bt), 0);
	other[0] = -1;
}

static void a_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct batch_test *bt = arg;

	(void)events;
	bt->calls_a++;
	replace_other(loop, bt, fd, bt->b);
}

static void b_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct batch_test *bt = arg;

	(void)events;
	bt->calls_b++;
	replace_other(loop, bt, fd, bt->a);
}

TEST(fd_removed_later_in_batch_not_dispatched)
{
	struct batch_test bt = { .calls_a = 0 };
	struct evloop *loop;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(pipe2(bt.a, O_CLOEXEC), 0);
	CHECK_EQ_INT(pipe2(bt.b, O_CLOEXEC), 0);
	CHECK_EQ_INT(ev_fd_add(loop, bt.a[0], EPOLLIN, a_readable, &bt), 0);
	CHECK_EQ_INT(ev_fd_add(loop, bt.b[0], EPOLLIN, b_readable, &bt), 0);
	CHECK_EQ_INT(write(bt.a[1], "x", 1), 1);
	CHECK_EQ_INT(write(bt.b[1], "x", 1), 1);
	usleep(1000);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(bt.calls_a + bt.calls_b, 1);
	CHECK_EQ_INT(bt.calls_fresh, 0);

	/* The survivor is still served by its callback. */
	CHECK_EQ_INT(write(bt.a[0] >= 0 ? bt.a[1] : bt.b[1], "y", 1), 1);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(bt.calls_a + bt.calls_b, 2);
	CHECK_EQ_INT(bt.calls_fresh, 0);
	/* And the newcomer by its own. */
	CHECK_EQ_INT(write(bt.fresh[1], "z", 1), 1);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(bt.calls_fresh, 1);
	for (int *p[] = { &bt.a[0], &bt.b[0], &bt.fresh[0] }, i = 0; i < 3; i++) {
		if (*p[i] >= 0) {
			ev_fd_del(loop, *p[i]);
			close(*p[i]);
		}
	}
	close(bt.a[1]);
	close(bt.b[1]);
	close(bt.fresh[1]);
	evloop_free(loop);
}

static void self_removing(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	int *calls = arg;

	(void)events;
	(*calls)++;
	CHECK_EQ_INT(ev_fd_del(loop, fd), 0);
}

TEST(fd_callback_removes_itself)
{
	struct evloop *loop;
	int fds[2], calls = 0;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
	CHECK_EQ_INT(write(fds[1], "x", 1), 1);
	CHECK_EQ_INT(ev_fd_add(loop, fds[0], EPOLLIN, self_removing, &calls), 0);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(evloop_run_once(loop, 0), 0);
	CHECK_EQ_INT(calls, 1);
	/* The same descriptor can be registered again. */
	CHECK_EQ_INT(ev_fd_add(loop, fds[0], EPOLLIN, self_removing, &calls), 0);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(calls, 2);
	close(fds[0]);
	close(fds[1]);
	evloop_free(loop);
}

TEST(fd_table_grows)
{
	struct evloop *loop;
	int fds[2], high;
	struct pipe_end r = { .calls = 0 };

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
	high = fcntl(fds[0], F_DUPFD_CLOEXEC, 700);
	CHECK(high >= 700);
	CHECK_EQ_INT(ev_fd_add(loop, high, EPOLLIN, pipe_readable, &r), 0);
	CHECK_EQ_INT(write(fds[1], "hi", 2), 2);
	CHECK_EQ_INT(evloop_run_once(loop, 1000), 0);
	CHECK_EQ_INT(r.calls, 1);
	CHECK_EQ_STR(r.got, "hi");
	close(high);
	close(fds[0]);
	close(fds[1]);
	evloop_free(loop);	/* high left registered: freed anyway */
}

/* --- signals ----------------------------------------------------------- */

struct sig_seen {
	int usr1, usr2;
	bool done;
};

static void on_signal(struct evloop *loop, int signo, void *arg)
{
	struct sig_seen *s = arg;

	(void)loop;
	if (signo == SIGUSR1)
		s->usr1++;
	if (signo == SIGUSR2)
		s->usr2++;
	s->done = s->usr1 > 0 && s->usr2 > 0;
}

TEST(signals_through_signalfd)
{
	struct sig_seen s = { .usr1 = 0 };
	struct evloop *loop;
	uint64_t deadline;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(ev_signal_add(loop, SIGKILL, on_signal, &s), -EINVAL);
	CHECK_EQ_INT(ev_signal_add(loop, 0, on_signal, &s), -EINVAL);
	CHECK_EQ_INT(ev_signal_add(loop, SIGUSR1, on_signal, &s), 0);
	CHECK_EQ_INT(raise(SIGUSR1), 0);	/* blocked: stays pending */
	deadline = now_ms() + WAIT_MS;
	while (s.usr1 == 0 && now_ms() < deadline)
		evloop_run_once(loop, 50);
	CHECK_EQ_INT(s.usr1, 1);

	/* A second signal updates the same signalfd's mask. */
	CHECK_EQ_INT(ev_signal_add(loop, SIGUSR2, on_signal, &s), 0);
	CHECK_EQ_INT(raise(SIGUSR2), 0);
	CHECK_EQ_INT(raise(SIGUSR1), 0);
	CHECK(run_until(loop, &s.done));
	deadline = now_ms() + WAIT_MS;
	while (s.usr1 < 2 && now_ms() < deadline)
		evloop_run_once(loop, 50);
	CHECK_EQ_INT(s.usr1, 2);
	CHECK_EQ_INT(s.usr2, 1);
	evloop_free(loop);
}

/* --- children ---------------------------------------------------------- */

struct child_result {
	pid_t pid;
	int status;
	bool timed_out;
	bool done;
	int calls;
};

static void on_child(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct child_result *cr = arg;

	(void)loop;
	cr->pid = pid;
	cr->status = status;
	cr->timed_out = timed_out;
	cr->done = true;
	cr->calls++;
}

TEST(child_exit_status)
{
	struct child_result cr = { .done = false };
	struct evloop *loop;
	pid_t pid;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	pid = fork();
	if (pid == 0) {
		usleep(20000);
		_exit(7);
	}
	CHECK(pid > 0);
	CHECK_EQ_INT(ev_child_watch(loop, pid, 0, on_child, &cr), 0);
	CHECK_EQ_INT(ev_child_watch(loop, pid, 0, on_child, &cr), -EEXIST);
	CHECK(run_until(loop, &cr.done));
	CHECK_EQ_INT(cr.pid, pid);
	CHECK(WIFEXITED(cr.status));
	CHECK_EQ_INT(WEXITSTATUS(cr.status), 7);
	CHECK(!cr.timed_out);
	CHECK_EQ_INT(cr.calls, 1);
	/* Reaped by the loop. */
	CHECK_EQ_INT(waitpid(pid, NULL, WNOHANG), -1);

	/* A child that is already a zombie when watched. */
	cr.done = false;
	pid = fork();
	if (pid == 0)
		_exit(0);
	usleep(50000);
	CHECK_EQ_INT(ev_child_watch(loop, pid, 1000, on_child, &cr), 0);
	CHECK(run_until(loop, &cr.done));
	CHECK(WIFEXITED(cr.status) && WEXITSTATUS(cr.status) == 0);
	CHECK(!cr.timed_out);

	/* Not our child. */
	CHECK_EQ_INT(ev_child_watch(loop, 1, 0, on_child, &cr), -ECHILD);
	evloop_free(loop);
}

TEST(child_timeout_kills_process_group)
{
	struct child_result cr = { .done = false };
	struct evloop *loop;
	int out[2], status = 0;
	char buf[32] = "";
	pid_t pid, sleeper = 0;
	uint64_t start, deadline;
	ssize_t n;

	/* Orphaned grandchildren come to us, so we can see how they died. */
	CHECK_EQ_INT(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		dup2(out[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", "sleep 10 & echo $!; wait", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	CHECK(pid > 0);
	setpgid(pid, pid);	/* no race with the child's own call */
	n = read(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	if (n > 0) {
		buf[n] = '\0';
		sleeper = (pid_t)atoi(buf);
	}
	CHECK(sleeper > 0);

	start = now_ms();
	CHECK_EQ_INT(ev_child_watch(loop, pid, 150, on_child, &cr), 0);
	CHECK(run_until(loop, &cr.done));
	CHECK(now_ms() - start >= 150);
	CHECK(now_ms() - start < 5000);
	CHECK(cr.timed_out);
	CHECK(WIFSIGNALED(cr.status) && WTERMSIG(cr.status) == SIGKILL);

	/* The sleep in the same group died of SIGKILL too, not of old age. */
	deadline = now_ms() + WAIT_MS;
	while (sleeper > 0 && waitpid(sleeper, &status, WNOHANG) == 0 && now_ms() < deadline)
		usleep(5000);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_EQ_INT(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
	evloop_free(loop);
}

TEST(child_cancel_kills_without_callback)
{
	struct child_result cr = { .done = false };
	struct evloop *loop;
	pid_t pid;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	CHECK_EQ_INT(ev_child_watch(loop, pid, 100, on_child, &cr), 0);
	ev_child_cancel(loop, pid);
	ev_child_cancel(loop, pid);	/* twice: harmless */
	run_for(loop, 200);
	CHECK_EQ_INT(cr.calls, 0);
	CHECK_EQ_INT(waitpid(pid, NULL, WNOHANG), -1);	/* reaped by the loop */

	/* Cancelled and freed before the loop saw the exit: freed reaps. */
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	CHECK_EQ_INT(ev_child_watch(loop, pid, 0, on_child, &cr), 0);
	ev_child_cancel(loop, pid);
	evloop_free(loop);
	CHECK_EQ_INT(waitpid(pid, NULL, WNOHANG), -1);
	CHECK_EQ_INT(cr.calls, 0);
}

struct chain {
	struct child_result first;
	struct child_result second;
};

static void spawn_next(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct chain *ch = arg;
	pid_t next;

	on_child(loop, pid, status, timed_out, &ch->first);
	/* Watching a new child from the callback of the previous one. */
	next = fork();
	if (next == 0)
		_exit(3);
	CHECK_EQ_INT(ev_child_watch(loop, next, 0, on_child, &ch->second), 0);
}

TEST(child_watch_from_callback)
{
	struct chain ch = { .first = { .done = false }, .second = { .done = false } };
	struct evloop *loop;
	pid_t pid;

	CHECK_EQ_INT(evloop_new(&loop), 0);
	pid = fork();
	if (pid == 0)
		_exit(2);
	CHECK_EQ_INT(ev_child_watch(loop, pid, 0, spawn_next, &ch), 0);
	CHECK(run_until(loop, &ch.second.done));
	CHECK_EQ_INT(WEXITSTATUS(ch.first.status), 2);
	CHECK_EQ_INT(WEXITSTATUS(ch.second.status), 3);
	evloop_free(loop);
}

TEST_MAIN(T(timers_fire_in_order), T(fd_before_timer_after_stop), T(timer_never_fires_early), T(timer_rearm_move_and_stop),
	  T(timer_heap_stress), T(run_until_stopped), T(fd_callbacks_via_pipe),
	  T(fd_removed_later_in_batch_not_dispatched), T(fd_callback_removes_itself),
	  T(fd_table_grows), T(signals_through_signalfd), T(child_exit_status),
	  T(child_timeout_kills_process_group), T(child_cancel_kills_without_callback),
	  T(child_watch_from_callback))
