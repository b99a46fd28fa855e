/* Checking a configuration in a short-lived child process (cfgcheck.h).
 *
 * The child inherits the daemon's memory, so it needs nothing passed but
 * the bytes; it closes every descriptor but its end of the pipe (a control
 * client must not wait on a connection the child holds), drops every
 * capability, takes default signal handling back and dumps no core. It
 * leaves with exit(), not _exit(), as the engines do: the libraries'
 * destructors free what their constructors took (valgrind follows the
 * child), and the caller's stdio buffers were flushed before the fork.
 * A loader that can write an image of what it loaded (cfgcheck_loader)
 * has the child write it into a memfd the parent made before the fork:
 * the parent then rebuilds the configuration from it, and the file is
 * parsed once.
 * The parent side is one implementation, watched by an event loop: the
 * messages read as they come (the child would block on a full pipe
 * otherwise), the child reaped or killed at the bound. cfgcheck_run runs
 * it on a loop of its own; cfgcheck_reload_start on the caller's. */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "evloop.h"
#include "privdrop.h"

/* The child's exit status for "the loader refused the file"; 1 is what
 * sanitizers and libraries exit with, so it would not mean the loader. */
#define EXIT_INVALID 3

/* What check_with runs in the child: the loader, and where its image goes
 * (-1: nowhere). */
struct image_check {
	const struct cfgcheck_loader *ld;
	int fd;
};

struct cfgcheck_job {
	struct evloop *loop;
	cfgcheck_fn fn;			/* what the child runs, on buf */
	const void *fn_arg;
	struct image_check ic;		/* cfgcheck_reload_start's: fn_arg */
	char *path;
	char *buf;
	size_t len;
	bool owns_buf;
	int fd;				/* the child's messages; -1 once read to the end */
	pid_t pid;			/* 0 once the child is reaped */
	bool exited;
	int status;
	bool timed_out;
	int early;			/* no child could be run: -errno */
	struct cfgcheck check;		/* the verdict, once complete */
	struct strbuf text;
	struct ev_timer later;		/* an early verdict, from the loop */
	void (*complete)(struct cfgcheck_job *j);	/* the check is over (or never ran) */
	/* cfgcheck_reload_start's (its loader is ic.ld) */
	cfgcheck_done_fn done;
	void *arg;
	bool starting;			/* cfgcheck_load's: messages for a start, not a reload */
	bool over;			/* cfgcheck_run's: complete ran */
};

/* ---- the child ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One message a line, cut at CFGCHECK_DIAG_MAX bytes in all. */
static void send_diag(int fd, const struct ini_diag *diag)
{
	struct strbuf sb;

	sb_init(&sb);
	for (size_t i = 0; i < diag->n && sb.len <= CFGCHECK_DIAG_MAX; i++)
		sb_printf(&sb, "%s\n", diag->msgs[i]);
	(void)write_all(fd, sb.buf ? sb.buf : "", sb.len);
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

static void __attribute__((noreturn)) child_main(int fd, struct cfgcheck_job *j)
{
	int keep[2] = { fd, j->ic.fd };
	struct ini_diag diag;
	int ret;

	/* A check reads; it needs none of the daemon's capabilities. */
	if (close_fds_except(keep, j->ic.fd >= 0 ? 2 : 1) < 0 || caps_clear() < 0)
		_exit(127);
	j->ic.fd = j->ic.fd >= 0 ? keep[1] : -1;
	child_reset();
	ini_diag_init(&diag);
	ret = j->fn(j->fn_arg, j->path, j->buf, j->len, &diag);
	send_diag(keep[0], &diag);
	ini_diag_free(&diag);
	exit(ret == 0 ? 0 : EXIT_INVALID);
}

/* ---- the parent: one check, watched by an event loop ---- */

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

static void job_later(struct evloop *loop, struct ev_timer *t, void *arg);

static void job_free(struct cfgcheck_job *j)
{
	if (j->fd >= 0) {
		ev_fd_del(j->loop, j->fd);
		close(j->fd);
	}
	if (j->pid > 0)
		ev_child_cancel(j->loop, j->pid);	/* killed and reaped */
	ev_timer_stop(j->loop, &j->later);
	sb_free(&j->text);
	cfgcheck_free(&j->check);
	if (j->ic.fd >= 0)
		close(j->ic.fd);
	if (j->owns_buf)
		free(j->buf);
	free(j->path);
	free(j);
}

static struct cfgcheck_job *job_new(struct evloop *loop, const char *path, unsigned timeout_ms)
{
	struct cfgcheck_job *j = calloc(1, sizeof(*j));

	if (!j || !(j->path = strdup(path))) {
		free(j);
		return NULL;
	}
	j->loop = loop;
	j->fd = -1;
	j->ic.fd = -1;
	j->check.timeout_ms = timeout_ms;
	ini_diag_init(&j->check.diag);
	sb_init(&j->text);
	ev_timer_init(&j->later, job_later, j);
	return j;
}

/* Both ends seen (its pipe read to the end, the child reaped): judged. */
static void job_over(struct cfgcheck_job *j)
{
	if (j->early == 0) {
		split_diag(&j->text, j->check.truncated, &j->check.diag);
		judge(&j->check, j->status, j->timed_out);
	}
	j->complete(j);
}

static void job_read(struct cfgcheck_job *j)
{
	char chunk[4096];

	while (j->fd >= 0) {
		ssize_t n = read(j->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			ev_fd_del(j->loop, j->fd);
			close(j->fd);
			j->fd = -1;
			break;
		}
		if (j->text.len + (size_t)n > CFGCHECK_DIAG_MAX) {
			j->check.truncated = true;
			n = (ssize_t)(CFGCHECK_DIAG_MAX - j->text.len);
		}
		sb_appendn(&j->text, chunk, (size_t)n);
	}
	if (j->exited)
		job_over(j);
}

static void job_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	job_read(arg);
}

static void job_exited(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct cfgcheck_job *j = arg;

	(void)loop;
	(void)pid;
	j->pid = 0;
	j->exited = true;
	j->status = status;
	j->timed_out = timed_out;
	if (timed_out && j->fd >= 0) {
		/* What a hung child said is not waited for. */
		ev_fd_del(j->loop, j->fd);
		close(j->fd);
		j->fd = -1;
	}
	job_read(j);	/* the rest of what it said; then over */
}

static void job_later(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	job_over(arg);
}

/* The child just forked could not be watched: it goes at once. */
static void job_abandon_child(struct cfgcheck_job *j)
{
	close(j->fd);
	j->fd = -1;
	kill(j->pid, SIGKILL);
	while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
		;
	j->pid = 0;
}

static int job_spawn(struct cfgcheck_job *j)
{
	int fds[2], ret = 0, flags;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);	/* the child must not write the caller's buffers again */
	if ((j->pid = fork()) < 0) {
		ret = -errno;
		j->pid = 0;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (j->pid == 0) {
		close(fds[0]);
		child_main(fds[1], j);
	}
	close(fds[1]);
	j->fd = fds[0];
	flags = fcntl(j->fd, F_GETFL);
	if (flags < 0 || fcntl(j->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		ret = -errno;
	else if ((ret = ev_fd_add(j->loop, j->fd, EPOLLIN, job_readable, j)) == 0 &&
		 (ret = ev_child_watch(j->loop, j->pid, j->check.timeout_ms, job_exited, j)) < 0)
		ev_fd_del(j->loop, j->fd);
	if (ret < 0)
		job_abandon_child(j);
	return ret;
}

/* ---- waiting for it: a loop of its own ---- */

static void run_complete(struct cfgcheck_job *j)
{
	j->over = true;
}

int cfgcheck_run(cfgcheck_fn fn, const void *arg, const char *path, const char *buf, size_t len,
		 unsigned timeout_ms, struct cfgcheck *out)
{
	struct cfgcheck_job *j;
	struct evloop *loop;
	int ret;

	memset(out, 0, sizeof(*out));
	ini_diag_init(&out->diag);
	out->timeout_ms = timeout_ms;
	if ((ret = evloop_new(&loop)) < 0)
		return ret;
	if (!(j = job_new(loop, path, timeout_ms))) {
		evloop_free(loop);
		return -ENOMEM;
	}
	j->fn = fn;
	j->fn_arg = arg;
	j->buf = (char *)buf;	/* not ours: never freed here */
	j->len = len;
	j->complete = run_complete;
	if ((ret = job_spawn(j)) == 0) {
		/* Bounded: the child is killed at timeout_ms and then reaped. */
		while (!j->over)
			if (evloop_run_once(loop, -1) < 0)
				break;
		if (j->over) {
			*out = j->check;
			memset(&j->check, 0, sizeof(j->check));
			ini_diag_init(&j->check.diag);
		} else {
			ret = -EIO;
		}
	}
	job_free(j);
	evloop_free(loop);
	return ret;
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

static void *volatile child_keeps;	/* volatile: a store never read is otherwise dropped */

/* In the child: the whole loader, and the image of what it loaded when
 * the loader makes one (a failure to write it fails the check). */
static int check_with(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	const struct image_check *ic = arg;
	const struct cfgcheck_loader *ld = ic->ld;
	void *cfg = NULL;
	int ret = ld->load(path, buf, len, &cfg, diag);
	struct strbuf image;

	if (ret < 0)
		return ret;
	if (ic->fd < 0) {
		ld->free(cfg);
		return 0;
	}
	sb_init(&image);
	ret = ld->image(cfg, &image);
	if (ret == 0 && write_all(ic->fd, image.buf, image.len) < 0)
		ret = -EIO;
	if (ret < 0)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "cannot hand the checked configuration over: %s", strerror(-ret));
	sb_free(&image);
	/* Not freed: the child exits now, and the reload waits for it. Kept
	 * reachable for valgrind, which follows the child. */
	child_keeps = cfg;
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

/* The configuration the child wrote as an image: rebuilt here, and the
 * memfd sealed so that what goes on to other processes cannot change. */
static int from_image(const struct cfgcheck_loader *ld, int fd, void **cfg)
{
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return -errno;
	return ld->from_image(fd, cfg);
}

/* After the check: its messages and verdict into diag, and when it
 * accepted buf, the configuration here: rebuilt from the child's image
 * (*image, then the caller's), or buf loaded again (buf is freed). */
static int reload_conclude(const struct cfgcheck_loader *ld, const char *path, struct cfgcheck *check, char *buf,
			   size_t n, int *image, void **cfg, bool starting, struct ini_diag *diag)
{
	char reason[160];
	int ret;

	*cfg = NULL;
	copy_diag(&check->diag, diag);
	if (check->truncated)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "(more messages of the check not shown: over %d KiB)",
			     CFGCHECK_DIAG_MAX / 1024);
	ret = verdict_errno(check->verdict);
	/* At start the file's own messages say it all; a check that crashed
	 * or hung is said in so many words. */
	if (ret < 0 && !starting)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "reload refused: %s; the running configuration stays in force",
			     cfgcheck_reason(check, reason, sizeof(reason)));
	else if (ret == -ECHILD)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "%s", cfgcheck_reason(check, reason, sizeof(reason)));
	cfgcheck_free(check);
	if (ret == 0 && !buf) {
		ret = -EIO;
	} else if (ret == 0) {
		ret = *image >= 0 ? from_image(ld, *image, cfg) : ld->load(path, buf, n, cfg, diag);
		if (ret < 0) {
			*cfg = NULL;
			ini_diag_add(diag, NULL, 0, NULL, NULL, starting ? "the checked configuration cannot be read back: %s" :
				     "reload failed (%s); the running configuration stays in force", strerror(-ret));
		}
	}
	free(buf);
	if (ret < 0 && *image >= 0) {
		close(*image);
		*image = -1;
	}
	return ret;
}

static void cannot_run(struct ini_diag *diag, int err, bool starting)
{
	if (starting)
		ini_diag_add(diag, NULL, 0, NULL, NULL, "the configuration check cannot run: %s", strerror(-err));
	else
		ini_diag_add(diag, NULL, 0, NULL, NULL, "reload refused: the configuration check cannot run: %s; "
			     "the running configuration stays in force", strerror(-err));
}

int cfgcheck_reload(const struct cfgcheck_loader *ld, const char *path, unsigned timeout_ms, void **cfg,
		    struct ini_diag *diag)
{
	struct image_check ic = { ld, -1 };
	struct cfgcheck check;
	char *buf;
	size_t n;
	int ret;

	*cfg = NULL;
	ret = cfgcheck_file(check_with, &ic, path, timeout_ms, &check, &buf, &n);
	if (ret < 0) {
		cannot_run(diag, ret, false);
		return ret;
	}
	return reload_conclude(ld, path, &check, buf, n, &ic.fd, cfg, false, diag);
}

/* ---- not waiting: the caller's loop ---- */

static void reload_complete(struct cfgcheck_job *j)
{
	struct ini_diag diag;
	void *cfg = NULL;
	int ret, image = -1;

	ini_diag_init(&diag);
	if (j->early < 0 && j->check.verdict != CFGCHECK_UNREADABLE) {
		cannot_run(&diag, ret = j->early, j->starting);
	} else {
		ret = reload_conclude(j->ic.ld, j->path, &j->check, j->early < 0 ? NULL : j->buf, j->len, &j->ic.fd, &cfg,
				      j->starting, &diag);
		j->buf = NULL;	/* freed by reload_conclude */
		image = j->ic.fd;
		j->ic.fd = -1;	/* the caller's now */
	}
	j->done(ret, cfg, image, &diag, j->arg);
	ini_diag_free(&diag);
	job_free(j);
}

/* With a loader that makes images, the memfd the child writes into. */
static int image_open(struct cfgcheck_job *j)
{
	if (!j->ic.ld->image || !j->ic.ld->from_image)
		return 0;
	j->ic.fd = memfd_create("dsrkit-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return j->ic.fd < 0 ? -errno : 0;
}

static int reload_job_start(struct evloop *loop, const struct cfgcheck_loader *ld, const char *path,
			    unsigned timeout_ms, bool starting, cfgcheck_done_fn done, void *arg,
			    struct cfgcheck_job **out)
{
	struct cfgcheck_job *j = job_new(loop, path, timeout_ms);

	*out = NULL;
	if (!j)
		return -ENOMEM;
	j->ic.ld = ld;
	j->fn = check_with;
	j->fn_arg = &j->ic;
	j->owns_buf = true;
	j->done = done;
	j->arg = arg;
	j->starting = starting;
	j->complete = reload_complete;
	if (ini_read_file(path, &j->buf, &j->len, &j->check.diag) < 0) {
		j->check.verdict = CFGCHECK_UNREADABLE;
		j->early = -EIO;
	} else if ((j->early = image_open(j)) == 0) {
		j->early = job_spawn(j);
	}
	/* Even a verdict known now comes from the loop: done never runs in here. */
	if (j->early < 0 && ev_timer_start(loop, &j->later, 0) < 0) {
		job_free(j);
		return -ENOMEM;
	}
	*out = j;
	return 0;
}

int cfgcheck_reload_start(struct evloop *loop, const struct cfgcheck_loader *ld, const char *path,
			  unsigned timeout_ms, cfgcheck_done_fn done, void *arg, struct cfgcheck_job **out)
{
	return reload_job_start(loop, ld, path, timeout_ms, false, done, arg, out);
}

/* ---- at start: the same check, waited for ---- */

struct load_result {
	bool done;
	int ret;
	void *cfg;
	int image;
	struct ini_diag *diag;
};

static void load_done(int ret, void *cfg, int image, const struct ini_diag *diag, void *arg)
{
	struct load_result *res = arg;

	res->done = true;
	res->ret = ret;
	res->cfg = cfg;
	res->image = image;
	copy_diag(diag, res->diag);
}

int cfgcheck_load(const struct cfgcheck_loader *ld, const char *path, unsigned timeout_ms, void **cfg, int *image,
		  struct ini_diag *diag)
{
	struct load_result res = { .image = -1, .diag = diag };
	struct cfgcheck_job *job;
	struct evloop *loop;
	int ret;

	*cfg = NULL;
	*image = -1;
	if ((ret = evloop_new(&loop)) < 0)
		return ret;
	ret = reload_job_start(loop, ld, path, timeout_ms, true, load_done, &res, &job);
	/* Bounded: the child is killed at timeout_ms and then reaped. */
	while (ret == 0 && !res.done)
		if (evloop_run_once(loop, -1) < 0)
			break;
	if (ret == 0 && !res.done) {
		cfgcheck_job_cancel(job);
		ret = -EIO;
	}
	evloop_free(loop);
	if (ret < 0) {
		cannot_run(diag, ret, true);
		return ret;
	}
	*cfg = res.cfg;
	*image = res.image;
	return res.ret;
}

void cfgcheck_job_cancel(struct cfgcheck_job *j)
{
	if (j)
		job_free(j);
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
