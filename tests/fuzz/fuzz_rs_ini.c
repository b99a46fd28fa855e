/* libFuzzer: the whole rs-agent.ini loader from a buffer, as a reload and
 * `rs-agent -t` run it, its checks across keys included. A file that
 * loads prints as text that loads and prints the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs-agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void print_reloads(const struct rs_config *cfg)
{
	struct rs_config *again = NULL;
	struct strbuf a, b;
	struct ini_diag diag;

	sb_init(&a);
	sb_init(&b);
	ini_diag_init(&diag);
	rs_config_print(cfg, &a);
	if (a.failed || rs_config_load_buffer("printed.ini", a.buf, a.len, &again, &diag) != 0)
		abort();
	rs_config_print(again, &b);
	if (b.failed || strcmp(sb_str(&a), sb_str(&b)) != 0)
		abort();
	rs_config_free(again);
	ini_diag_free(&diag);
	sb_free(&a);
	sb_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rs_config *cfg = NULL;
	struct ini_diag diag;

	ini_diag_init(&diag);
	if (rs_config_load_buffer("fuzz.ini", (const char *)data, size, &cfg, &diag) == 0) {
		print_reloads(cfg);
		rs_config_free(cfg);
	} else if (diag.n == 0) {
		abort();	/* a refusal always says why */
	}
	ini_diag_free(&diag);
	return 0;
}
