/* The file helpers in common/util.c that the engines' loops use: a FIFO,
 * a directory or a device where a regular file is expected is refused at
 * once (never read, never waited on), and a FIFO is opened only when a
 * FIFO is asked for. Every test runs under an alarm: a reader that blocks
 * fails the test instead of hanging it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "test.h"
#include "util.h"

static char dir[64];

static void on_alarm(int signo)
{
	(void)signo;
	static const char msg[] = "  a file helper blocked: FAIL\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static const char *in_dir(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void cleanup(void);

/* Before main(): the files every test uses, removed at exit. */
__attribute__((constructor)) static void setup(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_util.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	f = fopen(in_dir("regular"), "w");
	if (!f || fputs("42\n", f) < 0 || fclose(f) != 0) {
		perror("regular");
		exit(1);
	}
	if (mkfifo(in_dir("fifo"), 0600) < 0 || mkdir(in_dir("dir"), 0700) < 0 ||
	    symlink("regular", in_dir("link")) < 0 || symlink("fifo", in_dir("fifolink")) < 0) {
		perror("setup");
		exit(1);
	}
	signal(SIGALRM, on_alarm);
	atexit(cleanup);
}

static void cleanup(void)
{
	static const char *names[] = { "regular", "fifo", "link", "fifolink", "chardev" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		unlink(in_dir(names[i]));
	rmdir(in_dir("dir"));
	rmdir(dir);
}

/* A character device: one made here (root), else /dev/zero, which reads
 * forever. */
static const char *char_device(void)
{
	if (mknod(in_dir("chardev"), S_IFCHR | 0600, makedev(1, 5)) == 0)
		return in_dir("chardev");
	return "/dev/zero";
}

TEST(regular_file_is_read)
{
	char buf[32];
	size_t len = 0;

	alarm(5);
	CHECK_EQ_INT(read_small_regular(in_dir("regular"), 0, buf, sizeof(buf), &len), 0);
	CHECK_EQ_STR(buf, "42\n");
	CHECK_EQ_INT(len, 3);
	/* Bounded by the buffer: the rest is not read. */
	CHECK_EQ_INT(read_small_regular(in_dir("regular"), 0, buf, 2, &len), 0);
	CHECK_EQ_STR(buf, "4");
	CHECK_EQ_INT(read_small_regular(in_dir("regular"), 0, buf, 0, &len), -EINVAL);
	alarm(0);
}

TEST(fifo_is_refused_without_blocking)
{
	char buf[32] = "untouched";

	alarm(5);
	CHECK_EQ_INT(read_small_regular(in_dir("fifo"), 0, buf, sizeof(buf), NULL), -EINVAL);
	CHECK_EQ_INT(read_small_regular(in_dir("fifolink"), 0, buf, sizeof(buf), NULL), -EINVAL);
	CHECK_EQ_STR(buf, "untouched");
	alarm(0);
}

TEST(directory_is_refused)
{
	char buf[32];

	alarm(5);
	CHECK_EQ_INT(read_small_regular(in_dir("dir"), 0, buf, sizeof(buf), NULL), -EINVAL);
	alarm(0);
}

TEST(device_is_refused)
{
	char buf[32] = "untouched";

	alarm(5);
	CHECK_EQ_INT(read_small_regular(char_device(), 0, buf, sizeof(buf), NULL), -EINVAL);
	CHECK_EQ_STR(buf, "untouched");
	alarm(0);
}

TEST(missing_file_is_enoent)
{
	char buf[32];

	CHECK_EQ_INT(read_small_regular(in_dir("nothing"), 0, buf, sizeof(buf), NULL), -ENOENT);
}

TEST(symlink_followed_unless_nofollow)
{
	char buf[32];

	CHECK_EQ_INT(read_small_regular(in_dir("link"), 0, buf, sizeof(buf), NULL), 0);
	CHECK_EQ_STR(buf, "42\n");
	CHECK_EQ_INT(read_small_regular(in_dir("link"), O_NOFOLLOW, buf, sizeof(buf), NULL), -ELOOP);
	/* Only O_NOFOLLOW may be added: the file is read, never written. */
	CHECK_EQ_INT(read_small_regular(in_dir("regular"), O_RDWR, buf, sizeof(buf), NULL), -EINVAL);
}

TEST(open_typed_fifo)
{
	int fd;

	alarm(5);
	/* O_RDWR: a FIFO without a reader opens at once. */
	fd = open_typed(in_dir("fifo"), O_RDWR | O_NOFOLLOW, S_IFIFO);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		/* Nobody reads: a write is taken or refused, never waited on. */
		CHECK(write(fd, "x\n", 2) == 2);
		close(fd);
	}
	CHECK_EQ_INT(open_typed(in_dir("fifolink"), O_RDWR | O_NOFOLLOW, S_IFIFO), -ELOOP);
	CHECK_EQ_INT(open_typed(in_dir("regular"), O_RDWR | O_NOFOLLOW, S_IFIFO), -EINVAL);
	CHECK_EQ_INT(open_typed(in_dir("dir"), O_RDONLY | O_NOFOLLOW, S_IFIFO), -EINVAL);
	CHECK_EQ_INT(open_typed(char_device(), O_RDWR | O_NOFOLLOW, S_IFIFO), -EINVAL);
	alarm(0);
}

TEST_MAIN(T(regular_file_is_read), T(fifo_is_refused_without_blocking), T(directory_is_refused),
	  T(device_is_refused), T(missing_file_is_enoent), T(symlink_followed_unless_nofollow), T(open_typed_fifo))
