/* libFuzzer: the applied-state file parser, and its format/parse round trip. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs-agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct applied_state st, back;
	struct strbuf sb;
	unsigned line = 0;
	int ret = applied_state_parse((const char *)data, size, &st, &line);

	if (ret == -EINVAL && line == 0)
		abort();	/* a refusal always names its line */
	if (ret < 0)
		return 0;
	sb_init(&sb);
	applied_state_format(&st, &sb);
	if (applied_state_parse(sb_str(&sb), sb.len, &back, NULL) != 0 || back.nvips != st.nvips ||
	    back.nsysctls != st.nsysctls)
		abort();
	for (size_t i = 0; i < st.nvips; i++)
		if (!ipaddr_equal(&back.vips[i].addr, &st.vips[i].addr) ||
		    back.vips[i].addr.prefixlen != st.vips[i].addr.prefixlen ||
		    strcmp(back.vips[i].label, st.vips[i].label) != 0)
			abort();
	applied_state_free(&back);
	applied_state_free(&st);
	sb_free(&sb);
	return 0;
}
