/* libFuzzer: the applied-state file parser, and its format/parse round trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rs-agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct applied_state st, back;
	struct strbuf sb;

	if (applied_state_parse((const char *)data, size, &st) < 0)
		return 0;
	sb_init(&sb);
	applied_state_format(&st, &sb);
	if (applied_state_parse(sb_str(&sb), sb.len, &back) != 0 || back.nvips != st.nvips ||
	    back.nsysctls != st.nsysctls)
		abort();
	applied_state_free(&back);
	applied_state_free(&st);
	sb_free(&sb);
	return 0;
}
