/* Logging: the token-bucket rate limiter, message format, level filter,
 * errno preservation and fatal()'s exit status. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

TEST(ratelimit_burst_then_refuse)
{
	struct ratelimit rl = RATELIMIT_INIT(1000, 3);

	CHECK(ratelimit_allow(&rl, 10000));
	CHECK(ratelimit_allow(&rl, 10000));
	CHECK(ratelimit_allow(&rl, 10001));
	CHECK(!ratelimit_allow(&rl, 10002));
	CHECK(!ratelimit_allow(&rl, 10999));
	CHECK_EQ_INT(rl.suppressed, 2);
}

TEST(ratelimit_refills_one_per_interval)
{
	struct ratelimit rl = RATELIMIT_INIT(1000, 3);

	for (int i = 0; i < 3; i++)
		CHECK(ratelimit_allow(&rl, 10000));
	CHECK(!ratelimit_allow(&rl, 10500));
	/* One interval after the bucket was full: one token. */
	CHECK(ratelimit_allow(&rl, 11000));
	CHECK(!ratelimit_allow(&rl, 11000));
	/* 2.5 intervals later: two tokens, and the half interval is kept. */
	CHECK(ratelimit_allow(&rl, 13500));
	CHECK(ratelimit_allow(&rl, 13500));
	CHECK(!ratelimit_allow(&rl, 13500));
	CHECK(ratelimit_allow(&rl, 14000));
	CHECK(!ratelimit_allow(&rl, 14000));
	CHECK_EQ_INT(rl.suppressed, 4);
}

TEST(ratelimit_never_exceeds_burst)
{
	struct ratelimit rl = RATELIMIT_INIT(100, 2);
	int allowed = 0;

	/* A long quiet spell refills only up to the burst. */
	for (int i = 0; i < 10; i++)
		allowed += ratelimit_allow(&rl, 1000000);
	CHECK_EQ_INT(allowed, 2);
	CHECK_EQ_INT(rl.suppressed, 8);

	/* Caller-side reset of the counter after reporting it. */
	rl.suppressed = 0;
	CHECK(ratelimit_allow(&rl, 1000100));
	CHECK_EQ_INT(rl.suppressed, 0);
}

TEST(ratelimit_steady_rate)
{
	struct ratelimit rl = RATELIMIT_INIT(10, 1);
	int allowed = 0;

	/* One attempt per ms for a second: one message per 10 ms. */
	for (uint64_t t = 5000; t < 6000; t++)
		allowed += ratelimit_allow(&rl, t);
	CHECK_EQ_INT(allowed, 100);
	CHECK_EQ_INT(rl.suppressed, 900);
}

TEST(ratelimit_edge_cases)
{
	struct ratelimit unlimited = RATELIMIT_INIT(0, 0);
	struct ratelimit none = RATELIMIT_INIT(1000, 0);
	struct ratelimit back = RATELIMIT_INIT(1000, 1);

	CHECK(ratelimit_allow(&unlimited, 1));
	CHECK(ratelimit_allow(&unlimited, 1));
	CHECK(!ratelimit_allow(&none, 5000));
	CHECK(!ratelimit_allow(&none, 50000));

	/* A clock that goes backwards neither crashes nor floods. */
	CHECK(ratelimit_allow(&back, 50000));
	CHECK(!ratelimit_allow(&back, 40000));
	CHECK(!ratelimit_allow(&back, 40999));
	CHECK(ratelimit_allow(&back, 41000));
}

/* Run fn with stderr going to a memory file; returns what it wrote. */
static void capture_stderr(void (*fn)(void), char *out, size_t size)
{
	int saved, mem;
	ssize_t n;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	mem = memfd_create("stderr", MFD_CLOEXEC);
	CHECK(saved >= 0 && mem >= 0);
	dup2(mem, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(mem, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(mem);
}

static int errno_after_warn;

static void emit_messages(void)
{
	log_init("tprog", true, LOG_LEVEL_INFO);
	errno = ENOENT;
	log_warn("open %s", "/x");
	errno_after_warn = errno;
	log_warnx("plain %d", 42);
	log_info("info shown");
	log_debug("debug hidden");
	log_setlevel(LOG_LEVEL_DEBUG);
	log_debug("debug shown");
	log_setlevel(LOG_LEVEL_WARN);
	log_info("info hidden");
	log_warnx("warn always");
}

TEST(log_format_level_and_errno)
{
	char out[2048];

	capture_stderr(emit_messages, out, sizeof(out));
	CHECK_EQ_STR(out,
		     "tprog: open /x: No such file or directory\n"
		     "tprog: plain 42\n"
		     "tprog: info shown\n"
		     "tprog: debug shown\n"
		     "tprog: warn always\n");
	CHECK_EQ_INT(errno_after_warn, ENOENT);
	CHECK_EQ_INT(log_getlevel(), LOG_LEVEL_WARN);
}

static void emit_long_message(void)
{
	char big[4000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init("tprog", true, LOG_LEVEL_INFO);
	log_warnx("%s", big);
}

TEST(log_truncates_long_message)
{
	char out[8192];

	capture_stderr(emit_long_message, out, sizeof(out));
	CHECK(strncmp(out, "tprog: aaaa", 11) == 0);
	CHECK(strlen(out) < 1100);
	CHECK(out[strlen(out) - 1] == '\n');
}

static int fatal_child(bool with_errno, char *out, size_t size)
{
	int pipefd[2], status = -1;
	ssize_t n, total = 0;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		log_init("tprog", true, LOG_LEVEL_WARN);
		errno = EACCES;
		if (with_errno)
			fatal("cannot %s", "bind");
		fatalx("bad config %d", 7);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + total, size - 1 - (size_t)total)) > 0)
		total += n;
	out[total] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return status;
}

TEST(fatal_exits_1)
{
	char out[512];
	int status;

	status = fatal_child(false, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK_EQ_STR(out, "tprog: bad config 7\n");

	status = fatal_child(true, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK_EQ_STR(out, "tprog: cannot bind: Permission denied\n");
}

TEST_MAIN(T(ratelimit_burst_then_refuse), T(ratelimit_refills_one_per_interval),
	  T(ratelimit_never_exceeds_burst), T(ratelimit_steady_rate), T(ratelimit_edge_cases),
	  T(log_format_level_and_errno), T(log_truncates_long_message), T(fatal_exits_1))
