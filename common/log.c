/* Logging in the style of OpenBSD daemons: warn/warnx/info/debug/fatal,
 * to stderr ("progname: message") or to syslog's daemon facility. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

/* Long enough for any sane message; longer ones are truncated, not lost. */
#define LOG_LINE_MAX 1024

static const char *log_progname = "dsrkit";
static bool log_to_stderr = true;
static enum log_level log_level = LOG_LEVEL_INFO;

void log_init(const char *progname, bool to_stderr, enum log_level level)
{
	if (progname && *progname)
		log_progname = progname;
	log_to_stderr = to_stderr;
	log_level = level;
	if (!to_stderr) {
		/* Load the time zone now: it cannot be read after a chroot. */
		tzset();
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void log_reopen(void)
{
	if (!log_to_stderr)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setlevel(enum log_level level)
{
	log_level = level;
}

enum log_level log_getlevel(void)
{
	return log_level;
}

static bool log_wanted(int priority)
{
	switch (priority) {
	case LOG_INFO:
		return log_level >= LOG_LEVEL_INFO;
	case LOG_DEBUG:
		return log_level >= LOG_LEVEL_DEBUG;
	default:
		return true;	/* warnings and worse are never filtered */
	}
}

static void log_emit(int priority, const char *msg)
{
	if (log_to_stderr) {
		fprintf(stderr, "%s: %s\n", log_progname, msg);
		fflush(stderr);
	} else {
		syslog(priority, "%s", msg);
	}
}

/* Format the message; with_errno appends ": strerror(saved_errno)". */
__attribute__((format(printf, 4, 0)))
static void log_vformat(int priority, int saved_errno, bool with_errno,
			const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];

	if (!log_wanted(priority))
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "(unformattable log message)");
	if (with_errno) {
		size_t len = strlen(msg);

		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved_errno));
	}
	log_emit(priority, msg);
}

void log_warn(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_WARNING, saved_errno, true, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_warnx(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_WARNING, saved_errno, false, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_info(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_INFO, saved_errno, false, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_debug(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_DEBUG, saved_errno, false, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void fatal(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_CRIT, saved_errno, true, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_CRIT, saved_errno, false, fmt, ap);
	va_end(ap);
	exit(1);
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now)
{
	uint64_t refill;

	if (rl->interval_ms == 0)
		return true;	/* no interval: nothing to limit */
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;	/* burst lowered by the caller */
	if (now < rl->last_refill_ms) {
		/* Clock went backwards (or a caller mixed clocks): restart the
		 * refill period rather than waiting for it to catch up. */
		rl->last_refill_ms = now;
	}
	refill = (now - rl->last_refill_ms) / rl->interval_ms;
	if (refill >= (uint64_t)(rl->burst - rl->tokens)) {
		/* A full bucket does not bank time: the next token is a whole
		 * interval after the first one taken from it. */
		rl->tokens = rl->burst;
		rl->last_refill_ms = now;
	} else if (refill > 0) {
		rl->tokens += (unsigned)refill;
		/* Keep the fraction of an interval already elapsed. */
		rl->last_refill_ms += refill * rl->interval_ms;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
}
