/* Single-threaded event loop: epoll for file descriptors, a min-heap of
 * monotonic timers woken by a timerfd (to the microsecond: an epoll timeout
 * may be late by 0.1 % of its length), signalfd for signals, pidfd for
 * child processes with timeouts. Callbacks run one at a time; none may
 * block. */
#ifndef DSRKIT_EVLOOP_H
#define DSRKIT_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct evloop;
struct ev_timer;

typedef void (*ev_fd_cb)(struct evloop *loop, int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb)(struct evloop *loop, struct ev_timer *t, void *arg);
typedef void (*ev_signal_cb)(struct evloop *loop, int signo, void *arg);
/* status is as from waitpid(); timed_out when the loop killed the child. */
typedef void (*ev_child_cb)(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg);

/* Caller-owned timer; embed it in your own struct. */
struct ev_timer {
	uint64_t due_ms;
	size_t heap_index;	/* SIZE_MAX when not armed */
	ev_timer_cb cb;
	void *arg;
};

int evloop_new(struct evloop **out);
void evloop_free(struct evloop *loop);

/* Run until evloop_stop(); returns 0, or -errno on a fatal epoll error. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);
/* evloop_stop() was called since the loop last ran with evloop_run(): for
 * callers that turn it with evloop_run_once(). */
bool evloop_stopped(const struct evloop *loop);
/* Run one iteration, waiting at most max_wait_ms (-1 = until an event). */
int evloop_run_once(struct evloop *loop, int max_wait_ms);

/* events: EPOLLIN / EPOLLOUT (edge triggering is not used). */
int ev_fd_add(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg);
int ev_fd_mod(struct evloop *loop, int fd, uint32_t events);
int ev_fd_del(struct evloop *loop, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg);
/* One-shot; re-arm from the callback for periodic work. Re-arming an armed
 * timer moves it. */
int ev_timer_start(struct evloop *loop, struct ev_timer *t, uint64_t delay_ms);
/* The same with an absolute deadline on now_ms()'s clock: the timer fires
 * as soon as now_ms() reaches due_ms (at once when it already has). For
 * periodic work whose deadlines must not drift by a rounding each time. */
int ev_timer_start_at(struct evloop *loop, struct ev_timer *t, uint64_t due_ms);
void ev_timer_stop(struct evloop *loop, struct ev_timer *t);
bool ev_timer_armed(const struct ev_timer *t);

/* Block the signal and deliver it through the loop's signalfd. */
int ev_signal_add(struct evloop *loop, int signo, ev_signal_cb cb, void *arg);

/* Watch an existing child: cb runs once when it exits, or after timeout_ms
 * (0 = none) the child's process group is sent SIGKILL, reaped, and cb runs
 * with timed_out set. */
int ev_child_watch(struct evloop *loop, pid_t pid, uint64_t timeout_ms, ev_child_cb cb, void *arg);
/* Forget a watch without calling cb; the child is killed and reaped. */
void ev_child_cancel(struct evloop *loop, pid_t pid);

#endif
