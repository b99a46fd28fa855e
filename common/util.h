/* Small helpers shared by everything: time, strings, buffers. */
#ifndef DSRKIT_UTIL_H
#define DSRKIT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Monotonic clock in milliseconds / microseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);
/* Rounded up: a deadline of now_ms_ceil() + delay never comes before the
 * delay has fully elapsed. */
uint64_t now_ms_ceil(void);
/* Wall clock, seconds since the epoch (for status output only). */
int64_t wall_time(void);

/* Growable string buffer. On allocation failure the buffer goes into an
 * error state (sb->failed), further appends are ignored; callers check once. */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
/* Back to the first len bytes (undoing appends); len <= sb->len. */
void sb_truncate(struct strbuf *sb, size_t len);
void sb_append(struct strbuf *sb, const char *s);
void sb_appendn(struct strbuf *sb, const char *s, size_t n);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* NUL-terminated contents ("" when empty). */
const char *sb_str(const struct strbuf *sb);

/* Copy with truncation; always NUL-terminates when size > 0. */
size_t strlcpy_safe(char *dst, const char *src, size_t size);

/* Levenshtein distance, capped: returns cap+1 when larger than cap. */
unsigned edit_distance(const char *a, const char *b, unsigned cap);

/* In a freshly forked child: move `keep` to descriptor 3 and close every
 * descriptor above it, so nothing the parent had open (connections,
 * listening sockets) lives on in the child. Returns the new descriptor
 * of `keep` or -errno. */
int close_all_fds_but(int keep);
/* A program's usage text: to stdout when asked for (code 0), else to
 * stderr; then exit(code). */
void usage_exit(int code, const char *text) __attribute__((noreturn));
/* A usage error: the reason (fmt, a line of its own, naming the program)
 * on stderr, then the usage text there too; then exit(code). */
void usage_error(int code, const char *text, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
/* The same for n descriptors: keep[i] becomes 3 + i (each updated in
 * place), everything else from 3 up is closed. 0 or -errno. */
int close_fds_except(int *keep, size_t n);

/* The directory path is in, made with mode when missing (one level: a
 * socket's or a pid file's directory under /run). 0 or -errno. */
int make_parent_dir(const char *path, unsigned mode);

/* Write a whole buffer / read a small file. Return 0 or -errno. */
int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode);
int read_small_file(const char *path, char *buf, size_t size, size_t *len);

/* For directories another user can write. Read the regular file `name` in
 * dirfd, never following a symbolic link (-ELOOP), never blocking on a
 * FIFO or device (opened O_NONBLOCK, then -EINVAL: not a regular file),
 * at most size - 1 bytes (-EFBIG when larger); NUL-terminated. st, when
 * not NULL, gets the opened file's fstat, for owner and link-count checks. */
int read_file_at(int dirfd, const char *name, char *buf, size_t size, size_t *len, struct stat *st);
/* Replace `name` in dirfd with data: written to a new file with an
 * unpredictable name (O_EXCL|O_NOFOLLOW), fsync'd, renamed over name, the
 * directory fsync'd. Whatever name was (a symbolic link, a hard link to
 * another file, a FIFO) is replaced, never opened or written through. */
int write_file_at(int dirfd, const char *name, const char *data, size_t len, unsigned mode);
/* Open path for a loop that must never wait on it: O_NONBLOCK (a FIFO
 * without a writer, a device, must not hang the caller), O_CLOEXEC,
 * O_NOCTTY, plus flags (O_RDONLY or O_RDWR, O_NOFOLLOW...); then check
 * that what was opened is of type (S_IFREG, S_IFIFO, ...). Anything else
 * is looked at (stat) but not opened when it can be told before, so a
 * device's open has no side effect. Returns the descriptor or -errno:
 * -EINVAL when the file is of another type, -ELOOP for a symbolic link
 * with O_NOFOLLOW. */
int open_typed(const char *path, int flags, unsigned type);
/* Read fd to its end, up to size - 1 bytes, NUL-terminated (*len: the
 * bytes read); closes fd. 0 or -errno. */
int read_close(int fd, char *buf, size_t size, size_t *len);
/* read_small_file of a regular file only, opened with open_typed (flags:
 * 0 or O_NOFOLLOW): never blocks on a FIFO or a device. */
int read_small_regular(const char *path, int flags, char *buf, size_t size, size_t *len);

#endif
