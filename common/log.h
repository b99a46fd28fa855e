/* Logging for the daemons and tools: stderr or syslog, levels, rate limiting.
 * Only programs call these; library code in common/ returns errors instead. */
#ifndef DSRKIT_LOG_H
#define DSRKIT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

/* to_stderr: true for foreground/tools, false for syslog (daemon facility). */
void log_init(const char *progname, bool to_stderr, enum log_level level);
/* After a fork that closed every descriptor: reconnect to syslog (call
 * closelog() before closing them, so its descriptor is not reused). */
void log_reopen(void);
void log_setlevel(enum log_level level);
enum log_level log_getlevel(void);

/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Token bucket: at most `burst` messages, refilled at one per `interval_ms`.
 * Messages refused are counted in `suppressed` so the next allowed message
 * can say how many were dropped. */
struct ratelimit {
	uint64_t interval_ms;
	unsigned burst;
	unsigned tokens;
	uint64_t last_refill_ms;
	uint64_t suppressed;
};

#define RATELIMIT_INIT(interval, b) { .interval_ms = (interval), .burst = (b), .tokens = (b) }

/* Returns true if a message may be logged now; now_ms is a monotonic time. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms);

#endif
