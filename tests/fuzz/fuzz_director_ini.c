/* libFuzzer: the whole director.ini loader from a buffer, as a reload and
 * `directord -t` run it: the file's structure, every value type and every
 * check across keys and sections (fuzz_vrrp_config.c calls the value
 * parsers alone, so a check that reads a required key that is absent, as
 * [vrrp] without interface did, was never reached). A file that loads
 * prints as text that loads and prints the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directord.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void print_reloads(const struct director_config *cfg)
{
	struct director_config *again = NULL;
	struct strbuf a, b;
	struct ini_diag diag;

	sb_init(&a);
	sb_init(&b);
	ini_diag_init(&diag);
	director_config_print(cfg, &a);
	if (a.failed || director_config_load_buffer("printed.ini", a.buf, a.len, &again, &diag) != 0)
		abort();
	director_config_print(again, &b);
	if (b.failed || strcmp(sb_str(&a), sb_str(&b)) != 0)
		abort();
	director_config_free(again);
	ini_diag_free(&diag);
	sb_free(&a);
	sb_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	ini_diag_init(&diag);
	if (director_config_load_buffer("fuzz.ini", (const char *)data, size, &cfg, &diag) == 0) {
		print_reloads(cfg);
		director_config_free(cfg);
	} else if (diag.n == 0) {
		abort();	/* a refusal always says why */
	}
	ini_diag_free(&diag);
	return 0;
}
