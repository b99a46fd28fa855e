/* libFuzzer: keepalived.conf from a buffer through the parser (kaconf.c)
 * and the converter (kaimport.c), includes refused so that nothing is read
 * from the file system. The output is text in lines that director.ini
 * reads: comments, section headers and key = value lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kaconf.h"
#include "kaimport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(const struct strbuf *out)
{
	const char *p = sb_str(out), *end = p + out->len;

	if (strlen(p) != out->len)
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!nl)
			abort();	/* every line ends */
		if (n > 0 && p[0] != ';' && p[0] != '[' && !memmem(p, n, " = ", 3))
			abort();
		p += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ka_opts opts = { false, 0 };
	struct ka_tree *tree = NULL;
	struct ini_diag diag, warn;
	struct strbuf out;

	ini_diag_init(&diag);
	if (kaconf_parse_buffer("fuzz.conf", (const char *)data, size, &opts, &tree, &diag) == 0) {
		if (diag.n)
			abort();	/* success means no error */
		ini_diag_init(&warn);
		sb_init(&out);
		if (ka_import(tree, &out, &warn) == 0)
			check_output(&out);
		sb_free(&out);
		ini_diag_free(&warn);
		kaconf_free(tree);
	} else if (diag.n == 0 || tree) {
		abort();	/* a failure says why and returns nothing */
	}
	ini_diag_free(&diag);
	return 0;
}
