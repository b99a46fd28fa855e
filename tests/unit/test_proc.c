/* spawn_process/spawn_shell: output capture, exit codes, exec failure,
 * and the clean state of the child (no capabilities, stdin /dev/null, no
 * inherited descriptors, default signals, own process group, user). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"
#include "util.h"

/* Run a shell command, collect its output (stdout+stderr) and status. */
static int run_shell(const char *cmd, const char *user, char *out, size_t size, int *status)
{
	struct spawn_opts opts = { .user = user, .output_fd = -1 };
	int pipefd[2], r;
	size_t total = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	opts.output_fd = pipefd[1];
	r = spawn_shell(cmd, &opts, &pid);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return r;
	}
	while (total < size - 1 && (n = read(pipefd[0], out + total, size - 1 - total)) > 0)
		total += (size_t)n;
	out[total] = '\0';
	close(pipefd[0]);
	waitpid(pid, status, 0);
	return 0;
}

/* The value of a "Name:\tvalue" line of a /proc status dump. */
static const char *status_field(const char *dump, const char *name, char *val, size_t size)
{
	const char *p = strstr(dump, name);
	size_t n = 0;

	val[0] = '\0';
	if (!p)
		return val;
	p += strlen(name);
	while (*p == ':' || *p == '\t' || *p == ' ')
		p++;
	while (p[n] && p[n] != '\n' && n < size - 1)
		n++;
	while (n > 0 && p[n - 1] == ' ')
		n--;
	memcpy(val, p, n);
	val[n] = '\0';
	return val;
}

TEST(output_goes_to_pipe)
{
	char out[256];
	int status = -1;

	CHECK_EQ_INT(run_shell("echo hello; echo oops >&2", NULL, out, sizeof(out), &status), 0);
	CHECK_EQ_STR(out, "hello\noops\n");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(exit_codes)
{
	char out[64];
	int status = -1;

	CHECK_EQ_INT(run_shell("exit 3", NULL, out, sizeof(out), &status), 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK_EQ_INT(run_shell("kill -TERM $$", NULL, out, sizeof(out), &status), 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

TEST(exec_failure_is_127)
{
	char *argv[] = { "/nonexistent/dsrkit-no-such-program", NULL };
	char *notexec[] = { "/etc/hostname", NULL };
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	int status = -1;
	pid_t pid = 0;

	CHECK_EQ_INT(spawn_process(argv, &opts, &pid), 0);
	CHECK(pid > 0);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 127);

	CHECK_EQ_INT(spawn_process(notexec, NULL, &pid), 0);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 127);

	CHECK_EQ_INT(spawn_process(NULL, &opts, &pid), -EINVAL);
	CHECK_EQ_INT(spawn_shell(NULL, &opts, &pid), -EINVAL);
}

TEST(process_runs_argv_without_shell)
{
	char *argv[] = { "/bin/echo", "a b", "$HOME", NULL };
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	char out[64];
	int pipefd[2], status = -1;
	ssize_t n;
	pid_t pid;

	CHECK_EQ_INT(pipe2(pipefd, O_CLOEXEC), 0);
	opts.output_fd = pipefd[1];
	CHECK_EQ_INT(spawn_process(argv, &opts, &pid), 0);
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	CHECK_EQ_STR(out, "a b $HOME\n");
}

TEST(stdin_is_dev_null)
{
	char out[256];
	int status = -1;

	CHECK_EQ_INT(run_shell("readlink /proc/self/fd/0; cat; echo end", NULL, out, sizeof(out), &status), 0);
	CHECK_EQ_STR(out, "/dev/null\nend\n");
}

TEST(output_defaults_to_dev_null)
{
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	/* $$: the command substitution itself runs with a pipe as stdout. */
	const char *cmd = "test \"$(readlink /proc/$$/fd/1)\" = /dev/null && "
			  "test \"$(readlink /proc/$$/fd/2)\" = /dev/null";
	int status = -1;
	pid_t pid;

	/* With no output_fd, both 1 and 2 are /dev/null (checked by exit code). */
	CHECK_EQ_INT(spawn_shell(cmd, &opts, &pid), 0);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The descriptor numbers pid holds, as "0 1 2 ". */
static void list_fds(pid_t pid, char *out, size_t size)
{
	struct dirent *de;
	char path[64];
	DIR *dir;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (strlen(out) + strlen(de->d_name) + 2 < size) {
			strcat(out, de->d_name);
			strcat(out, " ");
		}
	}
	closedir(dir);
}

TEST(other_fds_closed)
{
	char *argv[] = { "/bin/sleep", "10", NULL };
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	uint64_t deadline;
	char fds[64] = "";
	int leak, leak_high;
	pid_t pid;

	/* Descriptors without close-on-exec, which a careless daemon has. */
	leak = open("/dev/null", O_RDONLY);
	leak_high = fcntl(leak, F_DUPFD, 200);
	CHECK(leak >= 3 && leak_high >= 200);
	CHECK_EQ_INT(spawn_process(argv, &opts, &pid), 0);
	/* sleep may briefly hold a file of its own while it starts (locale);
	 * an inherited descriptor would stay for good. */
	deadline = now_ms() + 2000;
	do {
		list_fds(pid, fds, sizeof(fds));
		if (strcmp(fds, "0 1 2 ") == 0)
			break;
		usleep(10000);
	} while (now_ms() < deadline);
	CHECK_EQ_STR(fds, "0 1 2 ");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(leak);
	close(leak_high);
}

TEST(signals_reset_in_child)
{
	sigset_t block, old;
	char out[1024], val[64];
	int status = -1;

	/* The daemon blocks signals (signalfd) and ignores SIGPIPE. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	CHECK_EQ_INT(run_shell("cat /proc/self/status", NULL, out, sizeof(out), &status), 0);
	CHECK_EQ_STR(status_field(out, "SigBlk", val, sizeof(val)), "0000000000000000");
	CHECK_EQ_STR(status_field(out, "SigIgn", val, sizeof(val)), "0000000000000000");
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

TEST(new_process_group)
{
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	pid_t pid;

	CHECK_EQ_INT(spawn_shell("exit 0", &opts, &pid), 0);
	/* Still unreaped, so its group can be read. */
	CHECK_EQ_INT(getpgid(pid), pid);
	CHECK(getpgid(pid) != getpgrp());
	waitpid(pid, NULL, 0);
}

TEST(capabilities_cleared_as_root)
{
	char out[2048], val[64];
	int status = -1;

	if (geteuid() != 0)
		SKIP("needs root (capabilities to drop)");
	CHECK_EQ_INT(run_shell("cat /proc/self/status", NULL, out, sizeof(out), &status), 0);
	CHECK_EQ_STR(status_field(out, "CapEff", val, sizeof(val)), "0000000000000000");
	CHECK_EQ_STR(status_field(out, "CapPrm", val, sizeof(val)), "0000000000000000");
	CHECK_EQ_STR(status_field(out, "CapInh", val, sizeof(val)), "0000000000000000");
	CHECK_EQ_STR(status_field(out, "CapAmb", val, sizeof(val)), "0000000000000000");
	/* Nothing to regain through a set-uid or file-capability program. */
	CHECK_EQ_STR(status_field(out, "CapBnd", val, sizeof(val)), "0000000000000000");
	/* No user asked for: still uid 0, just powerless. */
	CHECK_EQ_STR(status_field(out, "Uid", val, sizeof(val)), "0\t0\t0\t0");
}

TEST(runs_as_user_when_root)
{
	char out[2048], val[64];
	int status = -1;

	if (geteuid() != 0)
		SKIP("needs root (to switch user)");
	CHECK_EQ_INT(run_shell("cat /proc/self/status", "nobody", out, sizeof(out), &status), 0);
	CHECK_EQ_STR(status_field(out, "Uid", val, sizeof(val)), "65534\t65534\t65534\t65534");
	CHECK_EQ_STR(status_field(out, "Gid", val, sizeof(val)), "65534\t65534\t65534\t65534");
	CHECK_EQ_STR(status_field(out, "Groups", val, sizeof(val)), "65534");
	CHECK_EQ_STR(status_field(out, "CapEff", val, sizeof(val)), "0000000000000000");
	CHECK_EQ_STR(status_field(out, "CapPrm", val, sizeof(val)), "0000000000000000");
}

TEST(unknown_user_is_an_error)
{
	struct spawn_opts opts = { .user = "dsrkit-no-such-user", .output_fd = -1 };
	pid_t pid = 0;

	if (geteuid() != 0)
		SKIP("needs root (the user is ignored otherwise)");
	CHECK_EQ_INT(spawn_shell("exit 0", &opts, &pid), -ENOENT);
	CHECK_EQ_INT(pid, 0);
	/* No child left behind. */
	CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
	CHECK_EQ_INT(errno, ECHILD);
}

/* Unprivileged, opts.user is ignored (the child keeps the caller's uid).
 * As root the test first becomes nobody in a child of its own. */
static int user_ignored_check(void)
{
	char out[256];
	int status = -1;

	if (run_shell("id -u", "dsrkit-no-such-user", out, sizeof(out), &status) != 0)
		return 1;
	return atoi(out) == (int)geteuid() ? 0 : 2;
}

TEST(user_ignored_when_not_root)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
				       setresuid(65534, 65534, 65534) < 0))
			_exit(3);
		_exit(user_ignored_check());
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

TEST_MAIN(T(output_goes_to_pipe), T(exit_codes), T(exec_failure_is_127),
	  T(process_runs_argv_without_shell), T(stdin_is_dev_null), T(output_defaults_to_dev_null),
	  T(other_fds_closed), T(signals_reset_in_child), T(new_process_group),
	  T(capabilities_cleared_as_root), T(runs_as_user_when_root), T(unknown_user_is_an_error),
	  T(user_ignored_when_not_root))
