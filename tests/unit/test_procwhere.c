/* proc_where: the words for where a stuck engine waits, from /proc's text,
 * and from a real stopped child. */
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procwhere.h"
#include "test.h"

TEST(sleeping_in_recvmsg)
{
	char buf[160], sc[64], want[96];

	snprintf(sc, sizeof(sc), "%ld 0x3 0x7ffd 0x0 0x0 0x0 0x0 0x7ffc 0x7f00\n", (long)SYS_recvmsg);
	snprintf(want, sizeof(want), "state S (sleeping), in netlink_recvmsg, system call %ld (recvmsg)",
		 (long)SYS_recvmsg);
	proc_where_format("4242 (directord) S 1 4242 4242 0 -1 4194560 ...\n", "netlink_recvmsg", sc, buf,
			  sizeof(buf));
	CHECK_EQ_STR(buf, want);
}

TEST(command_name_with_parens_and_spaces)
{
	char buf[160];

	proc_where_format("77 (a) b (c) T 1 77 77 0\n", "do_signal_stop", NULL, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "state T (stopped), in do_signal_stop");
}

TEST(running_and_outside_calls)
{
	char buf[160];

	proc_where_format("1 (x) R 0\n", "0", "running\n", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "state R (running), running in user space");
	proc_where_format("1 (x) D 0\n", "folio_wait_bit", "-1 0x7ffd 0x4011\n", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "state D (uninterruptible sleep), in folio_wait_bit, not in a system call");
	proc_where_format("1 (x) S 0\n", NULL, "9999 0x0\n", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "state S (sleeping), system call 9999");
}

TEST(nothing_readable_and_bounds)
{
	char buf[160], tiny[12];

	proc_where_format(NULL, NULL, NULL, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "where unknown");
	proc_where_format("1 (x", "\n", "garbage", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "where unknown");
	proc_where_format("1 (x) S 0\n", "a_very_long_kernel_function_name", "47 0\n", tiny, sizeof(tiny));
	CHECK(strlen(tiny) < sizeof(tiny));
	CHECK(strncmp(tiny, "state S (s", 10) == 0);
}

/* A real process stopped by SIGSTOP reads as state T. */
TEST(stopped_child)
{
	char buf[160];
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	kill(pid, SIGSTOP);
	for (int i = 0; i < 200; i++) {	/* at most 2 s */
		proc_where(pid, buf, sizeof(buf));
		if (strncmp(buf, "state T", 7) == 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	CHECK_CONTAINS(buf, "state T (stopped)");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	proc_where(999999999, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "where unknown");
}

TEST_MAIN(T(sleeping_in_recvmsg), T(command_name_with_parens_and_spaces),
	  T(running_and_outside_calls), T(nothing_readable_and_bounds), T(stopped_child))
