/* libFuzzer target: rs-agent's HTTP status line parser, which reads bytes
 * from whatever answers on the checked port.
 *
 * Besides memory safety it checks the parser's contract: only 0, -EAGAIN or
 * -EINVAL; a parsed status is a real one (100-599); -EAGAIN only while no
 * line end has been seen in fewer than 256 bytes; and reading the same bytes
 * a piece at a time never disagrees with reading them at once (the checker
 * parses after every recv). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs-agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse_exact(const uint8_t *data, size_t len, unsigned *status)
{
	/* An exact-size copy, so reading one byte too far is caught. */
	char *copy = malloc(len ? len : 1);
	int ret;

	if (!copy)
		abort();
	memcpy(copy, data, len);
	ret = http_parse_status(copy, len, status);
	free(copy);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned status = 0, part_status;
	int ret, part;
	size_t max_prefix = size < 300 ? size : 300;

	ret = parse_exact(data, size, &status);
	if (ret != 0 && ret != -EAGAIN && ret != -EINVAL)
		abort();
	if (ret == 0 && (status < 100 || status > 599))
		abort();
	if (ret == -EAGAIN && (size >= 256 || memchr(data, '\n', size)))
		abort();

	for (size_t k = 0; k < max_prefix; k++) {
		part_status = 0;
		part = parse_exact(data, k, &part_status);
		/* A prefix may be incomplete, or already wrong; never different. */
		if (part == 0 && (ret != 0 || part_status != status))
			abort();
		if (part == -EINVAL && ret != -EINVAL)
			abort();
		if (ret == -EAGAIN && part != -EAGAIN)
			abort();
	}
	return 0;
}
