/* The real process watch (director/vrrp/proc_watch.c) against this
 * machine's /proc: children of the test take a unique process name
 * (prctl PR_SET_NAME, which is what comm shows), and the counts it reports
 * must follow them as they start, rename themselves and die. Both ways of
 * finding new processes: the /proc scan (always), and the process
 * connector where it can run (root in the initial namespaces; elsewhere a
 * SKIP says why). Every wait is bounded. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "proc_watch.h"
#include "test.h"
#include "test_director_conf.h"

#define WAIT_MS 5000

struct seen {
	int count[2];
	int mode;
};

static void on_event(const struct proc_watch_event *ev, void *arg)
{
	struct seen *s = arg;

	if (ev->kind == PROC_WATCH_MODE)
		s->mode = (int)ev->count;
	else if (ev->index < 2)
		s->count[ev->index] = (int)ev->count;
}

/* Pump the watch until track's count is want (or mode is set, want < 0). */
static bool wait_for(struct proc_watch *w, int fd, struct seen *s, int track, int want)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < WAIT_MS) {
		if (want >= 0 ? s->count[track] == want : s->mode != PROC_WATCH_STARTING)
			return true;
		poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 50);
		if (proc_watch_read(w, on_event, s) < 0)
			return false;
	}
	return false;
}

/* A child named name; renamed to rename after a pipe byte. */
static pid_t child(const char *name, int *ctl)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		close(p[1]);
		prctl(PR_SET_NAME, name);
		if (read(p[0], &c, 1) == 1)
			prctl(PR_SET_NAME, "dsrk-renamed");
		pause();
		_exit(0);
	}
	close(p[0]);
	*ctl = p[1];
	return pid;
}

static void reap(pid_t pid, int ctl)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (ctl >= 0)
		close(ctl);
}

static void run(unsigned flags, bool want_connector)
{
	char name[16], text[512];
	struct director_config *cfg;
	struct proc_watch *w = NULL;
	struct seen s = { { -1, -1 }, PROC_WATCH_STARTING };
	pid_t a = -1, b = -1;
	int fd, ca = -1, cb = -1;

	snprintf(name, sizeof(name), "dsrkpw%d", (int)getpid() % 100000);
	/* Track 0 has a maximum, so the scan keeps looking for new ones; track
	 * 1 matches nothing that runs. */
	snprintf(text, sizeof(text), "[global]\nuser = nobody\n[track_process t]\nprocess = %s\nquorum_max = 5\n"
		 "[track_process none]\nprocess = dsrk-none-%d\n"
		 "[vrrp v]\ninterface = lo\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.5\n", name,
		 (int)getpid());
	if (!(cfg = conf(text)))
		return;
	a = child(name, &ca);
	CHECK_EQ_INT(proc_watch_open(cfg->track_processes, flags, &w, &fd), 0);
	if (!w)
		goto out;
	CHECK(wait_for(w, fd, &s, 0, 1));
	CHECK(wait_for(w, fd, &s, 1, 0));
	CHECK(wait_for(w, fd, &s, 0, -1));
	if (want_connector && s.mode != PROC_WATCH_CONNECTOR) {
		test_skip_reason = "the process connector needs CAP_NET_ADMIN in the initial network, user and "
				   "pid namespaces";
		goto out;
	}
	CHECK_EQ_INT(s.mode, want_connector ? PROC_WATCH_CONNECTOR : PROC_WATCH_SCAN);
	b = child(name, &cb);			/* a second one starts */
	CHECK(wait_for(w, fd, &s, 0, 2));
	CHECK(write(cb, "x", 1) == 1);		/* ... and takes another name */
	CHECK(wait_for(w, fd, &s, 0, 1));
	reap(a, ca);				/* the first one dies */
	a = -1, ca = -1;
	CHECK(wait_for(w, fd, &s, 0, 0));
out:
	proc_watch_close(w);
	reap(a, ca);
	reap(b, cb);
	director_config_free(cfg);
}

TEST(test_scan_follows_processes)
{
	run(PROC_WATCH_NO_CONNECTOR, false);
}

TEST(test_connector_follows_processes)
{
	run(0, true);
}

/* Closing at once, while the thread is still starting, ends it. */
/* This process's threads now. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether the threads are back to n by the time deadline (now_ms). */
static bool threads_back_to(int n, uint64_t deadline)
{
	while (thread_count() != n && now_ms() < deadline)
		nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
	return thread_count() == n;
}

TEST(test_close_at_once)
{
	struct director_config *cfg = conf("[global]\nuser = nobody\n[track_process t]\nprocess = x\n"
					   "[vrrp v]\ninterface = lo\nvirtual_router_id = 5\n"
					   "virtual_ipaddress = 192.0.2.5\n");
	struct proc_watch *w = NULL;
	int fd, threads;
	uint64_t t0;

	proc_watch_join_left(2000);	/* the earlier tests' threads gone */
	threads = thread_count();
	t0 = now_ms();

	if (!cfg)
		return;
	CHECK_EQ_INT(proc_watch_open(cfg->track_processes, 0, &w, &fd), 0);
	proc_watch_close(w);
	/* Also while the connector's acknowledgement is awaited (a second
	 * where none comes): the close wakes that wait, and the thread,
	 * left to end on its own, ends. */
	CHECK(now_ms() - t0 < 800);
	CHECK(threads_back_to(threads, t0 + 800));
	director_config_free(cfg);
}

/* ---- reads of /proc that block, as behind a process in D state ---- */

static atomic_int cmdline_reads, blocked_entered, blocked_returned;
static int block_pipe[2] = { -1, -1 };

static int counting_reader(int dirfd, const char *name, char *buf, size_t size, size_t *len)
{
	if (strcmp(name, "cmdline") == 0)
		atomic_fetch_add(&cmdline_reads, 1);
	return proc_watch_read_below(dirfd, name, buf, size, len);
}

static int blocking_reader(int dirfd, const char *name, char *buf, size_t size, size_t *len)
{
	char c;

	if (strcmp(name, "cmdline") == 0) {
		atomic_store(&blocked_entered, 1);
		if (read(block_pipe[0], &c, 1) != 1)
			c = 0;
		atomic_store(&blocked_returned, 1);
	}
	return proc_watch_read_below(dirfd, name, buf, size, len);
}

static void *unblock_later(void *arg)
{
	(void)arg;
	nanosleep(&(struct timespec){ 2, 0 }, NULL);	/* the old close waited this out */
	if (write(block_pipe[1], "x", 1) != 1)
		return NULL;
	return NULL;
}

static bool wait_flag(atomic_int *flag)
{
	for (int i = 0; i < WAIT_MS / 10 && !atomic_load(flag); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000000 }, NULL);
	return atomic_load(flag);
}

static struct director_config *conf_full_command(const char *process)
{
	char text[512];

	snprintf(text, sizeof(text), "[global]\nuser = nobody\n[track_process t]\nprocess = %s\nfull_command = yes\n"
		 "[vrrp v]\ninterface = lo\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.5\n", process);
	return conf(text);
}

/* A command line is read only of a process whose comm could match: none
 * here, so none is read (the old code read every process's). */
TEST(test_cmdline_read_only_when_comm_may_match)
{
	char name[40];
	struct director_config *cfg;
	struct proc_watch *w = NULL;
	struct seen s = { { -1, -1 }, PROC_WATCH_STARTING };
	int fd;

	snprintf(name, sizeof(name), "dsrk-nothing-%d", (int)getpid());
	if (!(cfg = conf_full_command(name)))
		return;
	atomic_store(&cmdline_reads, 0);
	CHECK_EQ_INT(proc_watch_open_with(cfg->track_processes, PROC_WATCH_NO_CONNECTOR, counting_reader, &w, &fd), 0);
	if (w) {
		CHECK(wait_for(w, fd, &s, 0, -1));	/* the first scan is over */
		CHECK_EQ_INT(s.count[0], 0);
		CHECK_EQ_INT(atomic_load(&cmdline_reads), 0);
	}
	proc_watch_close(w);
	director_config_free(cfg);
}

/* The thread stuck reading a command line: close returns in its bound,
 * a watch opened right after works, and the stuck thread, once its read
 * returns, frees the old watch without touching freed memory (ASan). */
TEST(test_close_does_not_wait_for_a_stuck_read)
{
	char name[16];
	struct director_config *cfg;
	struct proc_watch *w = NULL, *w2 = NULL;
	struct seen s = { { -1, -1 }, PROC_WATCH_STARTING };
	pthread_t unblocker;
	bool unblocking = false;
	pid_t a = -1;
	int fd, ca = -1;
	uint64_t t0;

	snprintf(name, sizeof(name), "dsrkst%d", (int)getpid() % 100000);
	if (!(cfg = conf_full_command(name)) || pipe(block_pipe) < 0)
		goto out;
	a = child(name, &ca);
	atomic_store(&blocked_entered, 0);
	atomic_store(&blocked_returned, 0);
	CHECK_EQ_INT(proc_watch_open_with(cfg->track_processes, PROC_WATCH_NO_CONNECTOR, blocking_reader, &w, &fd), 0);
	if (!w)
		goto out;
	CHECK(wait_flag(&blocked_entered));
	unblocking = pthread_create(&unblocker, NULL, unblock_later, NULL) == 0;
	CHECK(unblocking);
	t0 = now_ms();
	proc_watch_close(w);
	CHECK(now_ms() - t0 < 100);	/* it never waits */
	CHECK(!atomic_load(&blocked_returned));
	/* A reload right after: a fresh watch, counting the child by comm
	 * and command line (argv[0] is this test's, so it does not match). */
	CHECK_EQ_INT(proc_watch_open(cfg->track_processes, PROC_WATCH_NO_CONNECTOR, &w2, &fd), 0);
	if (w2) {
		CHECK(wait_for(w2, fd, &s, 0, -1));
		CHECK_EQ_INT(s.count[0], 0);
	}
	proc_watch_close(w2);
out:
	if (unblocking) {
		pthread_join(unblocker, NULL);
		CHECK(wait_flag(&blocked_returned));
		/* Let the left thread finish and free (ASan watches). */
		proc_watch_join_left(2000);
	}
	reap(a, ca);
	for (int i = 0; i < 2; i++)
		if (block_pipe[i] >= 0)
			close(block_pipe[i]);
	director_config_free(cfg);
}

TEST_MAIN(T(test_scan_follows_processes), T(test_connector_follows_processes), T(test_close_at_once),
	  T(test_cmdline_read_only_when_comm_may_match), T(test_close_does_not_wait_for_a_stuck_read))
