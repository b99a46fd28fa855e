/* Starting helper programs (check and notify scripts) with nothing of the
 * daemon left in them: no capabilities, no descriptors, no signal state.
 *
 * Everything that can allocate or read files (user and group lookup, the
 * empty capability set) is prepared before fork(), so the child does only
 * system calls. A setup failure in the child travels back as an errno on
 * a close-on-exec pipe: reading EOF there means execv() succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privdrop.h"
#include "proc.h"

#define CAP_PROBE_MAX 64
#define GROUPS_MAX 1024

/* What the child needs, computed by the parent. */
struct spawn_plan {
	char *const *argv;
	char **envp;		/* NULL: the caller's environ as it is */
	int output_fd;
	bool switch_user;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[GROUPS_MAX];
	cap_t no_caps;
};

static int plan_user(struct spawn_plan *plan, const char *user)
{
	int r = user_lookup(user, &plan->uid, &plan->gid);

	if (r < 0)
		return r;
	/* Fails only when the user is in more than GROUPS_MAX groups. */
	plan->ngroups = GROUPS_MAX;
	if (getgrouplist(user, plan->gid, plan->groups, &plan->ngroups) < 0)
		return -E2BIG;
	plan->switch_user = true;
	return 0;
}

/* Is env entry e (NAME=value) named in extra? */
static bool env_replaced(const char *e, char *const *extra)
{
	size_t n = strcspn(e, "=");

	for (; *extra; extra++)
		if (strncmp(*extra, e, n) == 0 && (*extra)[n] == '=')
			return true;
	return false;
}

/* The child's environment: the caller's without the names extra sets,
 * then extra. Only the array is new; the strings are borrowed. */
static int plan_env(struct spawn_plan *plan, char *const *extra)
{
	size_t n = 0, m = 0, k = 0;

	for (char **e = environ; e && *e; e++)
		n++;
	while (extra[m])
		m++;
	plan->envp = calloc(n + m + 1, sizeof(*plan->envp));
	if (!plan->envp)
		return -ENOMEM;
	for (char **e = environ; e && *e; e++)
		if (!env_replaced(*e, extra))
			plan->envp[k++] = *e;
	for (size_t i = 0; i < m; i++)
		plan->envp[k++] = extra[i];
	plan->envp[k] = NULL;
	return 0;
}

static void child_fail(int errfd, int err)
{
	ssize_t n;

	do
		n = write(errfd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	_exit(126);
}

/* The kernel's struct for rt_sigaction(2), which glibc's sigaction()
 * refuses for its two internal signals (32, 33). */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

static void child_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	/* Handlers before the mask: a pending signal must not run the
	 * daemon's handler in here. SIGKILL/SIGSTOP refuse with EINVAL. */
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, &sa, NULL) < 0 && errno == EINVAL && sig >= 32 && sig < SIGRTMIN) {
			/* An ignored disposition inherited by the daemon would
			 * otherwise survive exec into the script. */
			struct kernel_sigaction ksa = { .handler = SIG_DFL };

			(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
		}
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* stdin from /dev/null, stdout and stderr to output_fd (or /dev/null).
 * Every source is first moved above 2 so no dup2() clobbers another. */
static int child_setup_stdio(int output_fd)
{
	int devnull, in, out;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	in = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
	out = fcntl(output_fd >= 0 ? output_fd : devnull, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0)
		return -errno;
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		return -errno;
	return 0;
}

static void close_fds_from(unsigned first)
{
	struct rlimit rl;

	if (close_range(first, ~0U, 0) == 0)
		return;
	/* Kernels before 5.9: close what the descriptor limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > INT_MAX)
		rl.rlim_cur = 65536;
	for (unsigned fd = first; fd < rl.rlim_cur; fd++)
		(void)close((int)fd);
}

/* Trim the bounding set so that not even a set-uid or file-capability
 * program can bring a capability back. Without CAP_SETPCAP (caller not
 * root) this is refused, and there is nothing to trim it for anyway. */
static int child_drop_bounding(void)
{
	for (int cap = 0; cap < CAP_PROBE_MAX; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			if (errno == EPERM && geteuid() != 0)
				break;
			return -errno;
		}
	}
	return 0;
}

static int child_switch_user(const struct spawn_plan *plan)
{
	if (setgroups((size_t)plan->ngroups, plan->groups) < 0 ||
	    setresgid(plan->gid, plan->gid, plan->gid) < 0 ||
	    setresuid(plan->uid, plan->uid, plan->uid) < 0)
		return -errno;
	return 0;
}

static int child_clear_caps(const struct spawn_plan *plan)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (cap_set_proc(plan->no_caps) < 0)
		return -errno;
	return 0;
}

/* A script runs at normal priority whatever its daemon does (a real-time
 * daemon asks for SCHED_RESET_ON_FORK too; this holds without it). */
static void child_normal_scheduling(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	(void)sched_setscheduler(0, SCHED_OTHER, &sp);
}

static void __attribute__((noreturn)) child_exec(const struct spawn_plan *plan, int errfd)
{
	int r;

	child_reset_signals();
	child_normal_scheduling();
	if (setpgid(0, 0) < 0)
		child_fail(errfd, -errno);
	/* The error pipe ends up as descriptor 3, everything above it is
	 * closed; it closes itself on a successful exec. Out of 0..2 first,
	 * where the stdio set-up would overwrite it. */
	if (errfd < 3) {
		int fd = fcntl(errfd, F_DUPFD_CLOEXEC, 3);

		if (fd < 0)
			child_fail(errfd, -errno);
		errfd = fd;
	}
	r = child_setup_stdio(plan->output_fd);
	if (r < 0)
		child_fail(errfd, r);
	if (errfd != 3) {
		if (dup3(errfd, 3, O_CLOEXEC) < 0)
			child_fail(errfd, -errno);
		errfd = 3;
	}
	close_fds_from(4);

	r = child_drop_bounding();
	if (r == 0 && plan->switch_user)
		r = child_switch_user(plan);
	if (r == 0)
		r = child_clear_caps(plan);
	if (r < 0)
		child_fail(errfd, r);

	if (plan->envp)
		execve(plan->argv[0], plan->argv, plan->envp);
	else
		execv(plan->argv[0], plan->argv);
	/* Exec failures are the script's problem, reported as status 127. */
	_exit(127);
}

/* Parent: 0 once the child has exec'd, or the child's setup error (the
 * child has then exited and is reaped here). */
static int wait_for_exec(pid_t pid, int errfd)
{
	int err = 0;
	ssize_t n;

	do
		n = read(errfd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(err) || err >= 0)
		err = -EIO;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return err;
}

int spawn_process(char *const argv[], const struct spawn_opts *opts, pid_t *pidp)
{
	struct spawn_plan *plan;
	sigset_t all, saved;
	int pipefd[2], r;
	pid_t pid;

	if (!argv || !argv[0] || !pidp)
		return -EINVAL;
	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	plan->argv = argv;
	plan->output_fd = opts ? opts->output_fd : -1;
	if (opts && opts->user && geteuid() == 0) {
		r = plan_user(plan, opts->user);
		if (r < 0)
			goto out;
	}
	if (opts && opts->env && opts->env[0]) {
		r = plan_env(plan, opts->env);
		if (r < 0)
			goto out;
	}
	plan->no_caps = cap_init();
	if (!plan->no_caps) {
		r = -errno;
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child_exec(plan, pipefd[1]);
	}
	r = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(pipefd[1]);
	if (r == 0)
		r = wait_for_exec(pid, pipefd[0]);
	close(pipefd[0]);
	if (r == 0)
		*pidp = pid;
out:
	if (plan->no_caps)
		cap_free(plan->no_caps);
	free(plan->envp);
	free(plan);
	return r;
}

int spawn_shell(const char *command, const struct spawn_opts *opts, pid_t *pid)
{
	char *argv[] = { "/bin/sh", "-c", (char *)command, NULL };

	if (!command)
		return -EINVAL;
	return spawn_process(argv, opts, pid);
}
