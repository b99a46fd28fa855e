/* libFuzzer target: the HTTP response parser (common/http.c) that
 * rs-agent's local checks and directord's http checks share. It reads
 * bytes from whatever answers on the checked port.
 *
 * Besides memory safety it checks the parser's contract: only 0, -EAGAIN
 * or -EINVAL; a parsed status is a real one (100-599); -EAGAIN only while
 * no line end has been seen in fewer than 256 bytes; http_response_parse()
 * agrees with http_parse_status(); a body pointer lies inside the buffer,
 * past the status line; and reading the same bytes a piece at a time
 * never disagrees with reading them at once (the checkers parse after
 * every recv). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	int ret;		/* http_response_parse() */
	unsigned status;
	long body;		/* offset, -1: NULL */
};

static struct result parse_exact(const uint8_t *data, size_t len)
{
	/* An exact-size copy, so reading one byte too far is caught. */
	char *copy = malloc(len ? len : 1);
	struct result r = { .body = -1 };
	const char *body = (const char *)1;	/* must be overwritten */
	unsigned st = 0;
	int ret;

	if (!copy)
		abort();
	memcpy(copy, data, len);
	r.ret = http_response_parse(copy, len, &r.status, &body);
	ret = http_parse_status(copy, len, &st);
	if (ret != r.ret || (ret == 0 && st != r.status))
		abort();
	if (r.ret != 0 && body != NULL)
		abort();
	if (body) {
		if (body < copy + 1 || body > copy + len)
			abort();
		/* the header ends with a line end */
		if (body[-1] != '\n')
			abort();
		r.body = body - copy;
	}
	free(copy);
	return r;
}

static void check_prefix(const uint8_t *data, size_t k, const struct result *whole)
{
	struct result part = parse_exact(data, k);

	/* A prefix may be incomplete, or already wrong; never different. */
	if (part.ret == 0 && (whole->ret != 0 || part.status != whole->status))
		abort();
	if (part.ret == -EINVAL && whole->ret != -EINVAL)
		abort();
	if (whole->ret == -EAGAIN && part.ret != -EAGAIN)
		abort();
	if (part.body >= 0 && part.body != whole->body)
		abort();
	/* Once the empty line is in, it is found. */
	if (whole->body >= 0 && (long)k >= whole->body && part.body != whole->body)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole = parse_exact(data, size);
	size_t max_prefix = size < 300 ? size : 300;

	if (whole.ret != 0 && whole.ret != -EAGAIN && whole.ret != -EINVAL)
		abort();
	if (whole.ret == 0 && (whole.status < 100 || whole.status > 599))
		abort();
	if (whole.ret == -EAGAIN && (size >= HTTP_STATUS_LINE_MAX || memchr(data, '\n', size)))
		abort();

	for (size_t k = 0; k < max_prefix; k++)
		check_prefix(data, k, &whole);
	/* Around the end of the header, wherever it is. */
	if (whole.body >= 0) {
		for (long k = whole.body - 3; k <= whole.body + 3; k++)
			if (k >= 0 && (size_t)k <= size)
				check_prefix(data, (size_t)k, &whole);
	}
	return 0;
}
