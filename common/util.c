/* Small helpers shared by everything: time, strings, buffers, files. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint64_t now_ms(void)
{
	return now_us() / 1000;
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_ms_ceil(void)
{
	return (now_us() + 999) / 1000;
}

int64_t wall_time(void)
{
	return (int64_t)time(NULL);
}

void sb_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb_init(sb);
}

void sb_reset(struct strbuf *sb)
{
	sb_truncate(sb, 0);
	sb->failed = false;
}

void sb_truncate(struct strbuf *sb, size_t len)
{
	if (len > sb->len)
		return;
	sb->len = len;
	if (sb->buf)
		sb->buf[len] = '\0';
}

static bool sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->failed)
		return false;
	if (extra > SIZE_MAX / 2 - sb->len) {
		sb->failed = true;
		return false;
	}
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->buf = p;
	sb->cap = cap;
	return true;
}

void sb_appendn(struct strbuf *sb, const char *s, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_append(struct strbuf *sb, const char *s)
{
	sb_appendn(sb, s, strlen(s));
}

void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0) {
		sb->failed = true;
		return;
	}
	if (!sb_reserve(sb, (size_t)n))
		return;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

size_t strlcpy_safe(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

unsigned edit_distance(const char *a, const char *b, unsigned cap)
{
	/* Two-row Levenshtein; names are short (config keys), so cap length. */
	enum { MAXLEN = 64 };
	unsigned prev[MAXLEN + 1], cur[MAXLEN + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > MAXLEN || lb > MAXLEN)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned rowmin;

		cur[0] = (unsigned)i;
		rowmin = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;
			unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			unsigned m = del < ins ? del : ins;

			cur[j] = m < sub ? m : sub;
			if (cur[j] < rowmin)
				rowmin = cur[j];
		}
		if (rowmin > cap)
			return cap + 1;
		memcpy(prev, cur, sizeof(unsigned) * (lb + 1));
	}
	return prev[lb] > cap ? cap + 1 : prev[lb];
}

static int write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Write, fsync and close fd; the first error wins. */
static int write_sync_close(int fd, const char *data, size_t len)
{
	int err = write_all(fd, data, len);

	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode)
{
	char tmp[4096];
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	err = write_sync_close(fd, data, len);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* ".NAME.<16 random hex digits>": nobody can guess it to plant a link. */
static int temp_name(char *buf, size_t size, const char *name)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EAGAIN;
	if ((size_t)snprintf(buf, size, ".%s.%016llx", name, (unsigned long long)r) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int write_file_at(int dirfd, const char *name, const char *data, size_t len, unsigned mode)
{
	char tmp[288];
	int fd, err;

	err = temp_name(tmp, sizeof(tmp), name);
	if (err < 0)
		return err;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	err = write_sync_close(fd, data, len);
	if (!err && renameat(dirfd, tmp, dirfd, name) < 0)
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	else if (fsync(dirfd) < 0)
		err = -errno;
	return err;
}

int read_close(int fd, char *buf, size_t size, size_t *len)
{
	size_t off = 0;
	int err = 0;

	while (off < size - 1) {
		ssize_t n = read(fd, buf + off, size - 1 - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (len)
		*len = off;
	return err;
}

int read_small_file(const char *path, char *buf, size_t size, size_t *len)
{
	int fd;

	if (size == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_close(fd, buf, size, len);
}

int read_file_at(int dirfd, const char *name, char *buf, size_t size, size_t *len, struct stat *st)
{
	struct stat sb;
	int fd, err = 0;

	if (size == 0)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		err = -errno;
	else if (!S_ISREG(sb.st_mode))
		err = -EINVAL;
	else if (sb.st_size < 0 || (uint64_t)sb.st_size > size - 1)
		err = -EFBIG;
	if (err) {
		close(fd);
		return err;
	}
	if (st)
		*st = sb;
	return read_close(fd, buf, size, len);
}

int open_typed(const char *path, int flags, unsigned type)
{
	struct stat st;
	int fd, err;

	/* Not even opened when it is plainly of another type (the check
	 * after the open is the one that counts: the path may change). */
	if (fstatat(AT_FDCWD, path, &st, flags & O_NOFOLLOW ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
	    (st.st_mode & S_IFMT) != type)
		return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if ((st.st_mode & S_IFMT) != type)
		err = -EINVAL;
	else
		return fd;
	close(fd);
	return err;
}

int read_small_regular(const char *path, int flags, char *buf, size_t size, size_t *len)
{
	int fd;

	if (size == 0 || (flags & ~O_NOFOLLOW))
		return -EINVAL;
	fd = open_typed(path, O_RDONLY | flags, S_IFREG);
	if (fd < 0)
		return fd;
	return read_close(fd, buf, size, len);
}

int close_fds_except(int *keep, size_t n)
{
	/* Out of the way first (above any of 3 .. 3 + n), so that moving one
	 * never lands on another still to move. */
	int moved[8];

	if (n > ARRAY_SIZE(moved))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (keep[i] < 0 || (moved[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 64)) < 0)
			return keep[i] < 0 ? -EBADF : -errno;
	for (size_t i = 0; i < n; i++) {
		if (dup3(moved[i], 3 + (int)i, O_CLOEXEC) < 0)
			return -errno;
		keep[i] = 3 + (int)i;
	}
	if (close_range(3 + (unsigned)n, ~0U, 0) < 0)
		return -errno;
	return 0;
}

void usage_exit(int code, const char *text)
{
	fputs(text, code ? stderr : stdout);
	exit(code);
}

void usage_error(int code, const char *text, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_exit(code, text);
}

int close_all_fds_but(int keep)
{
	int ret = close_fds_except(&keep, 1);

	return ret < 0 ? ret : keep;
}

int make_parent_dir(const char *path, unsigned mode)
{
	char dir[4096], *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strlcpy_safe(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
