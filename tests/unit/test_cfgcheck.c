/* The configuration check in a child process: whatever the checker does
 * (crash, hang, flood its pipe), the caller survives, gets a verdict within
 * the bound, and hears the messages. After issue 14 no real loader crash
 * is left, so crashing and hanging checkers stand in for one. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "evloop.h"
#include "test.h"
#include "test_diag.h"

static int fd_kept = -1;

static int says_yes(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	ini_diag_add(diag, path, 1, NULL, NULL, "read %zu bytes: %.*s", len, (int)len, buf);
	return 0;
}

static int says_no(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)buf;
	(void)len;
	ini_diag_add(diag, path, 3, "vrrp a", "interface", "missing required key");
	ini_diag_add(diag, path, 7, "global", "user", "no such user 'x'");
	return -EINVAL;
}

static int aborts(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)path, (void)buf, (void)len, (void)diag;
	abort();
}

static int segfaults(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)path, (void)buf, (void)len, (void)diag;
	raise(SIGSEGV);
	return 0;
}

static int hangs(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)path, (void)buf, (void)len, (void)diag;
	for (int i = 0; i < 600; i++)
		sleep(1);
	return 0;
}

static int exits_oddly(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)path, (void)buf, (void)len, (void)diag;
	_exit(42);
}

/* More than the pipe holds and more than the bound: no deadlock, cut. */
static int floods(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)buf, (void)len;
	for (int i = 0; i < 5000; i++)
		ini_diag_add(diag, path, (unsigned)i + 1, "global", "user", "message number %d of a long run", i);
	return -EINVAL;
}

/* Nothing of the caller's stays open in the child. */
static int fd_is_closed(const void *arg, const char *path, const char *buf, size_t len, struct ini_diag *diag)
{
	(void)arg;
	(void)path, (void)buf, (void)len, (void)diag;
	return fcntl(fd_kept, F_GETFD) < 0 && errno == EBADF ? 0 : -EBADF;
}

TEST(valid_and_invalid)
{
	struct cfgcheck c;
	char why[256];

	CHECK_EQ_INT(cfgcheck_run(says_yes, NULL, "f.ini", "abc", 3, 5000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_OK);
	CHECK(diag_has(&c.diag, "f.ini:1: read 3 bytes: abc"));
	cfgcheck_free(&c);
	CHECK_EQ_INT(cfgcheck_run(says_no, NULL, "f.ini", "", 0, 5000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_INVALID);
	CHECK_EQ_INT(c.diag.n, 2);
	CHECK(diag_has(&c.diag, "f.ini:3: vrrp a.interface: missing required key"));
	CHECK(diag_has(&c.diag, "f.ini:7: global.user: no such user 'x'"));
	CHECK_CONTAINS(cfgcheck_reason(&c, why, sizeof(why)), "has errors");
	cfgcheck_free(&c);
}

TEST(crash_is_a_verdict)
{
	struct cfgcheck c;
	char why[256];

	CHECK_EQ_INT(cfgcheck_run(segfaults, NULL, "f.ini", "", 0, 5000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_CRASHED);
	CHECK_EQ_INT(c.signo, SIGSEGV);
	CHECK_EQ_STR(cfgcheck_reason(&c, why, sizeof(why)), "the configuration check crashed (Segmentation fault)");
	cfgcheck_free(&c);
	CHECK_EQ_INT(cfgcheck_run(aborts, NULL, "f.ini", "", 0, 5000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_CRASHED);
	CHECK_EQ_INT(c.signo, SIGABRT);
	CHECK_CONTAINS(cfgcheck_reason(&c, why, sizeof(why)), "crashed (Aborted)");
	cfgcheck_free(&c);
	CHECK_EQ_INT(cfgcheck_run(exits_oddly, NULL, "f.ini", "", 0, 5000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_FAILED);
	CHECK_EQ_INT(c.status, 42);
	CHECK_CONTAINS(cfgcheck_reason(&c, why, sizeof(why)), "exit status 42");
	cfgcheck_free(&c);
}

TEST(hang_is_bounded)
{
	uint64_t start = now_ms(), took;
	struct cfgcheck c;
	char why[256];

	CHECK_EQ_INT(cfgcheck_run(hangs, NULL, "f.ini", "", 0, 300, &c), 0);
	took = now_ms() - start;
	CHECK_EQ_INT(c.verdict, CFGCHECK_TIMEOUT);
	CHECK(took >= 300 && took < 3000);
	CHECK_CONTAINS(cfgcheck_reason(&c, why, sizeof(why)), "did not finish within 300 ms");
	cfgcheck_free(&c);
}

TEST(flood_is_cut)
{
	uint64_t start = now_ms();
	struct cfgcheck c;
	size_t bytes = 0;

	CHECK_EQ_INT(cfgcheck_run(floods, NULL, "f.ini", "", 0, 10000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_INVALID);
	CHECK(c.truncated);
	CHECK(c.diag.n > 100);
	for (size_t i = 0; i < c.diag.n; i++)
		bytes += strlen(c.diag.msgs[i]) + 1;
	CHECK(bytes <= CFGCHECK_DIAG_MAX);
	CHECK(diag_has(&c.diag, "f.ini:1: global.user: message number 0 of a long run"));
	CHECK(now_ms() - start < 5000);
	cfgcheck_free(&c);
}

TEST(child_holds_no_descriptors)
{
	int below = open("/dev/null", O_RDONLY);	/* the child's pipe goes to 3 */
	struct cfgcheck c;

	fd_kept = open("/dev/null", O_RDONLY);
	CHECK(fd_kept > 3);
	CHECK_EQ_INT(cfgcheck_run(fd_is_closed, NULL, "f.ini", "", 0, 5000, &c), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_OK);
	cfgcheck_free(&c);
	close(fd_kept);
	close(below);
}

/* The bytes checked are the bytes handed back; a FIFO does not block. */
TEST(file_read_once)
{
	char dir[] = "/tmp/dsrkit-cfgcheck.XXXXXX", path[128], *buf = NULL;
	struct cfgcheck c;
	size_t len = 0;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/a.ini", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("xyz", f);
	fclose(f);
	chmod(path, 0644);
	CHECK_EQ_INT(cfgcheck_file(says_yes, NULL, path, 5000, &c, &buf, &len), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_OK);
	CHECK(buf && len == 3 && memcmp(buf, "xyz", 3) == 0);
	CHECK(diag_has(&c.diag, "read 3 bytes: xyz"));
	free(buf);
	cfgcheck_free(&c);
	CHECK_EQ_INT(cfgcheck_file(says_no, NULL, path, 5000, &c, &buf, &len), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_INVALID);
	CHECK(buf == NULL);
	cfgcheck_free(&c);
	unlink(path);
	CHECK_EQ_INT(mkfifo(path, 0600), 0);
	CHECK_EQ_INT(cfgcheck_file(says_yes, NULL, path, 5000, &c, &buf, &len), 0);
	CHECK_EQ_INT(c.verdict, CFGCHECK_UNREADABLE);
	CHECK(diag_has(&c.diag, "not a regular file"));
	CHECK(buf == NULL);
	cfgcheck_free(&c);
	unlink(path);
	rmdir(dir);
}

/* ---- cfgcheck_reload, as the daemons call it ---- */

static int loads_copy(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	(void)path, (void)diag;
	*cfg = strndup(buf, len);
	return *cfg ? 0 : -ENOMEM;
}

static int loads_never(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	(void)buf, (void)len, (void)cfg;
	ini_diag_add(diag, path, 2, "vrrp a", "interface", "missing required key");
	return -EINVAL;
}

/* Crashes wherever it runs: the test process would die if it ran here. */
static int loads_crash(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	(void)path, (void)buf, (void)len, (void)cfg, (void)diag;
	raise(SIGSEGV);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, 0644);
}

TEST(reload_as_the_daemons_do)
{
	static const struct cfgcheck_loader good = { loads_copy, free, NULL, NULL }, bad = { loads_never, free, NULL, NULL },
					    crash = { loads_crash, free, NULL, NULL };
	char path[] = "/tmp/dsrkit-cfgcheck.XXXXXX";
	struct ini_diag diag;
	void *cfg;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	write_file(path, "[global]\n");
	ini_diag_init(&diag);
	CHECK_EQ_INT(cfgcheck_reload(&good, path, 5000, &cfg, &diag), 0);
	CHECK(cfg && strcmp(cfg, "[global]\n") == 0);
	CHECK_EQ_INT(diag.n, 0);
	free(cfg);
	CHECK_EQ_INT(cfgcheck_reload(&bad, path, 5000, &cfg, &diag), -EINVAL);
	CHECK(cfg == NULL);
	CHECK_EQ_INT(diag.n, 2);
	CHECK(diag.n == 2 && strstr(diag.msgs[0], ":2: vrrp a.interface: missing required key"));
	CHECK(diag.n == 2 && strcmp(diag.msgs[1], "reload refused: the configuration has errors; "
				    "the running configuration stays in force") == 0);
	ini_diag_free(&diag);
	ini_diag_init(&diag);
	CHECK_EQ_INT(cfgcheck_reload(&crash, path, 5000, &cfg, &diag), -ECHILD);
	CHECK(cfg == NULL);
	CHECK(diag_has(&diag, "reload refused: the configuration check crashed (Segmentation fault); "
			      "the running configuration stays in force"));
	ini_diag_free(&diag);
	ini_diag_init(&diag);
	unlink(path);
	CHECK_EQ_INT(cfgcheck_reload(&good, path, 5000, &cfg, &diag), -EIO);
	CHECK(diag_has(&diag, "cannot open: No such file or directory"));
	CHECK(diag_has(&diag, "reload refused: the configuration file cannot be read"));
	ini_diag_free(&diag);
}

/* ---- cfgcheck_reload_start: the same, from an event loop ---- */

static int loads_hang(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	(void)path, (void)buf, (void)len, (void)cfg, (void)diag;
	for (;;)
		pause();
	return 0;
}

struct async_result {
	bool done;
	int ret;
	char *cfg;
	int image;
	struct ini_diag diag;
};

static void async_done(int ret, void *cfg, int image, const struct ini_diag *diag, void *arg)
{
	struct async_result *r = arg;

	r->done = true;
	r->ret = ret;
	r->cfg = cfg;
	r->image = image;
	for (size_t i = 0; i < diag->n; i++)
		ini_diag_add(&r->diag, NULL, 0, NULL, NULL, "%s", diag->msgs[i]);
}

/* Run the loop until done (at most 10 s); how long it took. The loop must
 * go on meanwhile: a timer of 10 ms counts its rounds. */
static void tick(struct evloop *loop, struct ev_timer *t, void *arg)
{
	++*(int *)arg;
	ev_timer_start(loop, t, 10);
}

static uint64_t async_run(const struct cfgcheck_loader *ld, const char *path, unsigned timeout_ms,
			  struct async_result *r, int *ticks)
{
	struct evloop *loop;
	struct cfgcheck_job *job;
	struct ev_timer t;
	uint64_t t0 = now_ms();

	memset(r, 0, sizeof(*r));
	ini_diag_init(&r->diag);
	*ticks = 0;
	CHECK_EQ_INT(evloop_new(&loop), 0);
	ev_timer_init(&t, tick, ticks);
	ev_timer_start(loop, &t, 10);
	CHECK_EQ_INT(cfgcheck_reload_start(loop, ld, path, timeout_ms, async_done, r, &job), 0);
	CHECK(!r->done);	/* never from within the call */
	while (!r->done && now_ms() - t0 < 10000)
		evloop_run_once(loop, 50);
	ev_timer_stop(loop, &t);
	evloop_free(loop);
	return now_ms() - t0;
}

TEST(reload_from_a_loop)
{
	static const struct cfgcheck_loader good = { loads_copy, free, NULL, NULL },
					    bad = { loads_never, free, NULL, NULL },
					    crash = { loads_crash, free, NULL, NULL },
					    hang = { loads_hang, free, NULL, NULL };
	char path[] = "/tmp/dsrkit-cfgcheck.XXXXXX";
	struct async_result r;
	int fd = mkstemp(path), ticks;
	uint64_t took;

	CHECK(fd >= 0);
	close(fd);
	write_file(path, "[global]\n");
	async_run(&good, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == 0 && r.cfg && strcmp(r.cfg, "[global]\n") == 0);
	CHECK_EQ_INT(r.image, -1);	/* this loader makes none */
	CHECK_EQ_INT(r.diag.n, 0);
	free(r.cfg);
	ini_diag_free(&r.diag);

	async_run(&bad, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == -EINVAL && r.cfg == NULL);
	CHECK(diag_has(&r.diag, ":2: vrrp a.interface: missing required key"));
	CHECK(diag_has(&r.diag, "reload refused: the configuration has errors"));
	ini_diag_free(&r.diag);

	async_run(&crash, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == -ECHILD);
	CHECK(diag_has(&r.diag, "reload refused: the configuration check crashed (Segmentation fault)"));
	ini_diag_free(&r.diag);

	/* A hang: killed at its bound, and the loop ran all along. */
	took = async_run(&hang, path, 300, &r, &ticks);
	CHECK(r.done && r.ret == -ECHILD);
	CHECK(diag_has(&r.diag, "did not finish within 300 ms and was killed"));
	CHECK(took >= 300 && took < 3000);
	CHECK(ticks >= 10);
	ini_diag_free(&r.diag);

	unlink(path);
	async_run(&good, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == -EIO);
	CHECK(diag_has(&r.diag, "reload refused: the configuration file cannot be read"));
	ini_diag_free(&r.diag);
}

/* Cancelled: the child is killed and done never runs. */
TEST(reload_cancelled)
{
	static const struct cfgcheck_loader hang = { loads_hang, free, NULL, NULL };
	char path[] = "/tmp/dsrkit-cfgcheck.XXXXXX";
	struct async_result r;
	struct cfgcheck_job *job;
	struct evloop *loop;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	write_file(path, "[global]\n");
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(cfgcheck_reload_start(loop, &hang, path, 5000, async_done, &r, &job), 0);
	evloop_run_once(loop, 100);
	cfgcheck_job_cancel(job);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 20);
	CHECK(!r.done);
	evloop_free(loop);
	unlink(path);
}

/* ---- a loader that makes images: the file parsed once, in the child ---- */

static int parent_loads;	/* loads in this process (the child's are its own) */

static int loads_counted(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	parent_loads++;
	return loads_copy(path, buf, len, cfg, diag);
}

/* The image is the text with a mark, so that what the parent rebuilt
 * shows it came from the image. */
static int image_marked(const void *cfg, struct strbuf *out)
{
	sb_append(out, "image:");
	sb_append(out, cfg);
	return out->failed ? -ENOMEM : 0;
}

static int image_refused(const void *cfg, struct strbuf *out)
{
	(void)cfg, (void)out;
	return -ENOMEM;
}

static int from_image_copy(int fd, void **cfg)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	*cfg = n >= 0 ? strndup(buf, (size_t)n) : NULL;
	return *cfg ? 0 : -EIO;
}

static int from_image_bad(int fd, void **cfg)
{
	(void)fd;
	*cfg = NULL;
	return -EBADMSG;
}

TEST(reload_through_an_image)
{
	static const struct cfgcheck_loader imaged = { loads_counted, free, image_marked, from_image_copy },
					    no_image = { loads_counted, free, image_refused, from_image_copy },
					    bad_image = { loads_counted, free, image_marked, from_image_bad };
	char path[] = "/tmp/dsrkit-cfgcheck.XXXXXX", back[64] = "";
	struct async_result r;
	int fd = mkstemp(path), ticks, seals;

	CHECK(fd >= 0);
	close(fd);
	write_file(path, "[global]\n");
	parent_loads = 0;
	async_run(&imaged, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == 0);
	CHECK(r.cfg && strcmp(r.cfg, "image:[global]\n") == 0);
	CHECK_EQ_INT(parent_loads, 0);	/* parsed in the child only */
	CHECK(r.image >= 0);
	if (r.image >= 0) {
		/* Sealed: nobody changes what goes on to the engines. */
		seals = fcntl(r.image, F_GET_SEALS);
		CHECK(seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW));
		CHECK(write(r.image, "x", 1) < 0);
		CHECK_EQ_INT(pread(r.image, back, sizeof(back) - 1, 0), 15);
		CHECK_EQ_STR(back, "image:[global]\n");
		close(r.image);
	}
	free(r.cfg);
	ini_diag_free(&r.diag);

	/* The child cannot make the image: refused, with why. */
	async_run(&no_image, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == -EINVAL && r.cfg == NULL && r.image == -1);
	CHECK(diag_has(&r.diag, "cannot hand the checked configuration over: Cannot allocate memory"));
	ini_diag_free(&r.diag);

	/* The image cannot be read back here: refused, nothing applied. */
	async_run(&bad_image, path, 5000, &r, &ticks);
	CHECK(r.done && r.ret == -EBADMSG && r.cfg == NULL && r.image == -1);
	CHECK(diag_has(&r.diag, "reload failed (Bad message); the running configuration stays in force"));
	ini_diag_free(&r.diag);
	unlink(path);
}

/* At start: the same check, waited for; the file's own messages, without
 * a reload's words. */
TEST(load_at_start)
{
	static const struct cfgcheck_loader imaged = { loads_counted, free, image_marked, from_image_copy },
					    bad = { loads_never, free, image_marked, from_image_copy },
					    crash = { loads_crash, free, image_marked, from_image_copy };
	char path[] = "/tmp/dsrkit-cfgcheck.XXXXXX";
	struct ini_diag diag;
	void *cfg = NULL;
	int fd = mkstemp(path), image = -1;

	CHECK(fd >= 0);
	close(fd);
	write_file(path, "[global]\n");
	parent_loads = 0;
	ini_diag_init(&diag);
	CHECK_EQ_INT(cfgcheck_load(&imaged, path, 5000, &cfg, &image, &diag), 0);
	CHECK(cfg && strcmp(cfg, "image:[global]\n") == 0);
	CHECK_EQ_INT(parent_loads, 0);
	CHECK(image >= 0);
	CHECK_EQ_INT(diag.n, 0);
	if (image >= 0)
		close(image);
	free(cfg);

	CHECK_EQ_INT(cfgcheck_load(&bad, path, 5000, &cfg, &image, &diag), -EINVAL);
	CHECK(cfg == NULL && image == -1);
	CHECK_EQ_INT(diag.n, 1);
	CHECK(diag_has(&diag, ":2: vrrp a.interface: missing required key"));
	ini_diag_free(&diag);
	ini_diag_init(&diag);

	CHECK_EQ_INT(cfgcheck_load(&crash, path, 5000, &cfg, &image, &diag), -ECHILD);
	CHECK(cfg == NULL && image == -1);
	CHECK(diag_has(&diag, "the configuration check crashed (Segmentation fault)"));
	CHECK_EQ_INT(diag.n, 1);	/* no reload words */
	ini_diag_free(&diag);
	ini_diag_init(&diag);

	unlink(path);
	CHECK_EQ_INT(cfgcheck_load(&imaged, path, 5000, &cfg, &image, &diag), -EIO);
	CHECK(diag_has(&diag, "cannot open: No such file or directory"));
	ini_diag_free(&diag);
}

TEST_MAIN(T(valid_and_invalid), T(reload_from_a_loop), T(reload_cancelled), T(crash_is_a_verdict), T(hang_is_bounded), T(flood_is_cut),
	  T(child_holds_no_descriptors), T(file_read_once), T(reload_as_the_daemons_do), T(reload_through_an_image), T(load_at_start))
