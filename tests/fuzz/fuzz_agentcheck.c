/* libFuzzer target: agent-check replies are bytes from the network.
 * Whatever parses must satisfy the reply's invariants and must survive a
 * trip through the formatter: the formatted line parses back to the same
 * state, admin state, weight, maxconn and (after down/fail/stopped) reason. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void check_invariants(const struct agent_reply *r)
{
	size_t len = strnlen(r->reason, sizeof(r->reason));

	REQUIRE((unsigned)r->state <= AGENT_STATE_STOPPED);
	REQUIRE((unsigned)r->admin <= AGENT_ADMIN_MAINT);
	REQUIRE(r->weight_pct >= -1 && r->weight_pct <= 1000);
	REQUIRE(r->maxconn >= -1);
	REQUIRE(len < sizeof(r->reason));
	for (size_t i = 0; i < len; i++)
		REQUIRE(r->reason[i] >= 0x20 && r->reason[i] <= 0x7e);
	REQUIRE(len == 0 || (r->reason[0] != ' ' && r->reason[len - 1] != ' '));
}

static bool has_reason(enum agent_state s)
{
	return s == AGENT_STATE_DOWN || s == AGENT_STATE_FAIL || s == AGENT_STATE_STOPPED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_reply a, b;
	char line[AGENT_LINE_MAX];
	int n;

	if (agent_reply_parse((const char *)data, size, &a) < 0)
		return 0;
	check_invariants(&a);

	n = agent_reply_format(&a, line, sizeof(line));
	if (a.state == AGENT_STATE_NONE && a.admin == AGENT_ADMIN_NONE &&
	    a.weight_pct < 0 && a.maxconn < 0) {
		/* Only unknown words: nothing to say. */
		REQUIRE(n == -EINVAL);
		return 0;
	}
	REQUIRE(n > 0 && (size_t)n < sizeof(line));
	REQUIRE((size_t)n == strlen(line) && line[n - 1] == '\n');

	REQUIRE(agent_reply_parse(line, (size_t)n, &b) == 0);
	check_invariants(&b);
	REQUIRE(b.state == a.state);
	REQUIRE(b.admin == a.admin);
	REQUIRE(b.weight_pct == a.weight_pct);
	REQUIRE(b.maxconn == a.maxconn);
	REQUIRE(b.unknown_words == 0);
	if (has_reason(a.state))
		REQUIRE(strcmp(b.reason, a.reason) == 0);
	else
		REQUIRE(b.reason[0] == '\0');
	return 0;
}
