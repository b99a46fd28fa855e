/* libFuzzer target: control socket request lines, as a daemon gets them
 * from anyone allowed to connect. Checks the parser's promises too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	char *line;

	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';

	if (ctl_request_parse(line, &req) == 0) {
		if (req.argc < 1 || req.argc > CTL_MAX_ARGS)
			abort();
		for (int i = 0; i < req.argc; i++) {
			const char *w = req.argv[i];

			/* Words lie inside the line, are non-empty, hold no
			 * blank and no control character. */
			if (w < line || w > line + size || *w == '\0')
				abort();
			for (const char *p = w; *p; p++)
				if (is_blank(*p) || (unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
		}
		for (int i = req.argc; i < CTL_MAX_ARGS; i++)
			if (req.argv[i] != NULL)
				abort();
	} else if (req.argc != 0) {
		abort();
	}
	free(line);
	return 0;
}
