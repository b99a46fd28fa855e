/* Checking a configuration in a short-lived child process (cfgcheck.h).
 *
 * The child inherits the daemon's memory, so it needs nothing passed but
 * the bytes; it closes every descriptor but its end of the pipe (a control
 * client must not wait on a connection the child holds), drops every
 * capability, takes default signal handling back and dumps no core. It
 * leaves with exit(), not _exit(), as the engines do: the libraries'
 * destructors free what their constructors took (valgrind follows the
 * child), and the caller's stdio buffers were flushed before the fork. The parent
 * reads the messages as they come (the child would block on a full pipe
 * otherwise), then reaps the child, all before one deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "privdrop.h"

/* The child's exit status for "the loader refused the file"; 1 is what
 * sanitizers and libraries exit with, so it would not mean the loader. */
#define EXIT_INVALID 3
#define REAP_POLL_MS 2

/* ---- the child ---- */

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* One message a line, cut at CFGCHECK_DIAG_MAX bytes in all. */
static void send_diag(int fd, const struct ini_diag *diag)
{
	struct strbuf sb;

	sb_init(&sb);
	for (size_t i = 0; i < diag->n && sb.len <= CFGCHECK_DIAG_MAX; i++)
		sb_printf(&sb, "%s\n", diag->msgs[i]);
	write_all(fd, sb.buf ? sb.buf : "", sb.len);
	sb_free(&sb);
}

static void child_reset(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM, SIGCHLD, SIGSEGV, SIGABRT, SIGBUS };
	struct rlimit none = { 0, 0 };
	sigset_t empty;

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
	(void)setrlimit(RLIMIT_CORE, &none);
}

static void __attribute__((noreturn)) child_main(int fd, cfgcheck_fn fn, const void *arg, const char *path,
						 const char *buf, size_t len)
{
	struct ini_diag diag;
	int ret;

	fd = close_all_fds_but(fd);
	/* A check reads; it needs none of the daemon's capabilities. */
	if (fd < 0 || caps_clear() < 0)
		_exit(127);
	child_reset();
	ini_diag_init(&diag);
	ret = fn(arg, path, buf, len, &diag);
	send_diag(fd, &diag);
	ini_diag_free(&diag);
	exit(ret == 0 ? 0 : EXIT_INVALID);
}

/* ---- the parent ---- */

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* Until end of file (the child is done or dead) or the deadline. */
static int collect(int fd, uint64_t deadline, struct strbuf *text, bool *truncated)
{
	char chunk[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms = remaining_ms(deadline), r;
		ssize_t n;

		if (ms == 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (text->len + (size_t)n > CFGCHECK_DIAG_MAX) {
			*truncated = true;
			n = (ssize_t)(CFGCHECK_DIAG_MAX - text->len);
		}
		sb_appendn(text, chunk, (size_t)n);
	}
}

/* The child closed its pipe: it is exiting. Reaped before the deadline,
 * or killed (SIGKILL cannot be held off) and then reaped. */
static int reap(pid_t pid, uint64_t deadline, int *status)
{
	struct timespec pause = { 0, REAP_POLL_MS * 1000000L };

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (remaining_ms(deadline) == 0)
			break;
		nanosleep(&pause, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

/* A line cut by the bound is left out. */
static void split_diag(const struct strbuf *text, bool truncated, struct ini_diag *diag)
{
	const char *p = sb_str(text), *end = p + text->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n > 0 && (nl || !truncated))
			ini_diag_add(diag, NULL, 0, NULL, NULL, "%.*s", (int)n, p);
		p += n + 1;
	}
}

static void judge(struct cfgcheck *out, int status, bool timed_out)
{
	if (timed_out)
		out->verdict = CFGCHECK_TIMEOUT;
	else if (WIFSIGNALED(status))
		out->verdict = CFGCHECK_CRASHED, out->signo = WTERMSIG(status);
	else if (WEXITSTATUS(status) == 0)
		out->verdict = CFGCHECK_OK;
	else if (WEXITSTATUS(status) == EXIT_INVALID)
		out->verdict = CFGCHECK_INVALID;
	else
		out->verdict = CFGCHECK_FAILED, out->status = WEXITSTATUS(status);
}

int cfgcheck_run(cfgcheck_fn fn, const void *arg, const char *path, const char *buf, size_t len,
		 unsigned timeout_ms, struct cfgcheck *out)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct strbuf text;
	int fds[2], status = 0, r1, r2;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	ini_diag_init(&out->diag);
	out->timeout_ms = timeout_ms;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);	/* the child must not write the caller's buffers again */
	pid = fork();
	if (pid < 0) {
		r1 = -errno;
		close(fds[0]);
		close(fds[1]);
		return r1;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1], fn, arg, path, buf, len);
	}
	close(fds[1]);
	sb_init(&text);
	r1 = collect(fds[0], deadline, &text, &out->truncated);
	close(fds[0]);
	r2 = reap(pid, r1 == -ETIMEDOUT ? now_ms() : deadline, &status);
	split_diag(&text, out->truncated, &out->diag);
	sb_free(&text);
	judge(out, status, r1 == -ETIMEDOUT || r2 == -ETIMEDOUT);
	return 0;
}

int cfgcheck_file(cfgcheck_fn fn, const void *arg, const char *path, unsigned timeout_ms, struct cfgcheck *out,
		  char **bufp, size_t *lenp)
{
	struct ini_diag diag;
	int ret;

	ini_diag_init(&diag);
	ret = ini_read_file(path, bufp, lenp, &diag);
	if (ret < 0) {
		memset(out, 0, sizeof(*out));
		out->verdict = CFGCHECK_UNREADABLE;
		out->timeout_ms = timeout_ms;
		out->diag = diag;
		return 0;
	}
	ini_diag_free(&diag);
	ret = cfgcheck_run(fn, arg, path, *bufp, *lenp, timeout_ms, out);
	if (ret < 0 || out->verdict != CFGCHECK_OK) {
		free(*bufp);
		*bufp = NULL;
		*lenp = 0;
	}
	return ret;
}

/* In the child: the whole loader, its result dropped. */
static int check_with(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	const struct cfgcheck_loader *ld = arg;
	void *cfg = NULL;
	int ret = ld->load(path, buf, len, &cfg, diag);

	if (ret == 0)
		ld->free(cfg);
	return ret;
}

static int verdict_errno(enum cfgcheck_verdict v)
{
	return v == CFGCHECK_OK ? 0 : v == CFGCHECK_INVALID ? -EINVAL : v == CFGCHECK_UNREADABLE ? -EIO : -ECHILD;
}

static void copy_diag(const struct ini_diag *from, struct ini_diag *to)
{
	for (size_t i = 0; i < from->n; i++)
		ini_diag_add(to, NULL, 0, NULL, NULL, "%s", from->msgs[i]);
}

int cfgcheck_reload(const struct cfgcheck_loader *ld, const char *path, unsigned timeout_ms, void **cfg,
		    uint64_t *fingerprint, size_t *len, struct ini_diag *diag)
{
	struct cfgcheck check;
	char reason[160], *buf;
	size_t n;
	int ret;

	*cfg = NULL;
	ret = cfgcheck_file(check_with, ld, path, timeout_ms, &check, &buf, &n);
	if (ret < 0) {
		ini_diag_add(diag, NULL, 0, NULL, NULL, "reload refused: the configuration check cannot run: %s; "
			     "the running configuration stays in force", strerror(-ret));
		return ret;
	}
	copy_diag(&check.diag, diag);
	if (check.truncated)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "(more messages of the check not shown: over %d KiB)",
			     CFGCHECK_DIAG_MAX / 1024);
	ret = verdict_errno(check.verdict);
	if (ret < 0)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "reload refused: %s; the running configuration stays in force",
			     cfgcheck_reason(&check, reason, sizeof(reason)));
	cfgcheck_free(&check);
	if (ret < 0)
		return ret;
	if (fingerprint)
		*fingerprint = cfgcheck_fingerprint(buf, n);
	if (len)
		*len = n;
	ret = ld->load(path, buf, n, cfg, diag);
	free(buf);
	if (ret < 0) {
		*cfg = NULL;
		ini_diag_add(diag, NULL, 0, NULL, NULL, "reload failed; the running configuration stays in force");
	}
	return ret;
}

void cfgcheck_free(struct cfgcheck *c)
{
	ini_diag_free(&c->diag);
}

const char *cfgcheck_reason(const struct cfgcheck *c, char *buf, size_t size)
{
	switch (c->verdict) {
	case CFGCHECK_OK:
		snprintf(buf, size, "the configuration is valid");
		break;
	case CFGCHECK_INVALID:
		snprintf(buf, size, "the configuration has errors");
		break;
	case CFGCHECK_UNREADABLE:
		snprintf(buf, size, "the configuration file cannot be read");
		break;
	case CFGCHECK_CRASHED:
		snprintf(buf, size, "the configuration check crashed (%s)", strsignal(c->signo));
		break;
	case CFGCHECK_TIMEOUT:
		snprintf(buf, size, "the configuration check did not finish within %u ms and was killed",
			 c->timeout_ms);
		break;
	case CFGCHECK_FAILED:
		snprintf(buf, size, "the configuration check ended with exit status %d", c->status);
		break;
	}
	return buf;
}

uint64_t cfgcheck_fingerprint(const char *buf, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	return h;
}
