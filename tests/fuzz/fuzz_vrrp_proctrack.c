/* libFuzzer target: /proc/PID/comm and /proc/PID/cmdline are written by
 * whoever runs the process (any user may set its own name and rewrite its
 * arguments), and proc_match (director/vrrp/proctrack.c) parses them.
 *
 * Input: one mode byte (bit 0-1 param_match, bit 2 full_command, bit 3
 * args given), then four parts separated by the byte 0xff: the section's
 * process name, its args, the comm bytes, the cmdline bytes (NULs and all,
 * up to the sizes proc_watch.c reads). The matcher must not read past
 * what it was given (ASan), and its answer must not depend on bytes after
 * the lengths it was given: the same call on a copy with garbage after the
 * end must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proctrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

/* The next part up to 0xff (or the end), as a fresh allocation of exactly
 * its length (plus a NUL when text). */
static char *part(const uint8_t **p, const uint8_t *end, size_t max, size_t *len, bool text)
{
	const uint8_t *sep = memchr(*p, 0xff, (size_t)(end - *p));
	size_t n = (size_t)((sep ? sep : end) - *p);
	char *s;

	if (n > max)
		n = max;
	if (!(s = malloc(n + (text ? 1 : 0) + 1)))
		abort();
	memcpy(s, *p, n);
	if (text) {
		s[n] = '\0';
		n = strlen(s);	/* config strings stop at their NUL */
	}
	*p = sep ? sep + 1 : end;
	*len = n;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	struct track_process_conf t = { 0 };
	size_t nlen, alen, clen, cmdlen;
	char *name, *args, *comm, *cmdline, *copy;
	bool a, b;

	if (size < 1)
		return 0;
	t.param_match = data[0] & 3;
	if (t.param_match > PARAM_MATCH_INITIAL)
		t.param_match = PARAM_MATCH_EXACT;
	t.full_command = data[0] & 4;
	name = part(&p, end, 256, &nlen, true);
	args = part(&p, end, 1024, &alen, true);
	comm = part(&p, end, PROC_COMM_MAX, &clen, false);
	cmdline = part(&p, end, PROC_CMDLINE_MAX, &cmdlen, false);
	t.process = name;
	t.args = data[0] & 8 ? args : NULL;
	a = proc_match(&t, comm, clen, cmdline, cmdlen);
	/* Garbage after the given lengths changes nothing. */
	if (!(copy = malloc(cmdlen + 16)))
		abort();
	memcpy(copy, cmdline, cmdlen);
	memset(copy + cmdlen, 'x', 16);
	b = proc_match(&t, comm, clen, copy, cmdlen);
	REQUIRE(a == b);
	/* The filter before a command line is read passes every comm match. */
	if (a && !proc_match_needs_cmdline(&t))
		REQUIRE(proc_comm_may_match(&t, comm, clen));
	/* An exact name match by comm is never true for a longer comm. */
	if (a && !proc_match_needs_cmdline(&t))
		REQUIRE(clen >= nlen);
	free(copy);
	free(name);
	free(args);
	free(comm);
	free(cmdline);
	return 0;
}
