/* HAProxy agent-check replies: parsing what agents say (HAProxy's grammar,
 * hostile bytes included) and formatting what rs-agent says. */
#include <errno.h>
#include <string.h>

#include "agentcheck.h"
#include "test.h"

static int parse_str(const char *s, struct agent_reply *r)
{
	return agent_reply_parse(s, strlen(s), r);
}

TEST(test_up)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("up", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_NONE);
	CHECK_EQ_INT(r.weight_pct, -1);
	CHECK_EQ_INT(r.maxconn, -1);
	CHECK_EQ_STR(r.reason, "");
	CHECK_EQ_INT(r.unknown_words, 0);
}

TEST(test_up_weight)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("up 75%", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.weight_pct, 75);

	CHECK_EQ_INT(parse_str("0%", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);
	CHECK_EQ_INT(r.weight_pct, 0);

	CHECK_EQ_INT(parse_str("1000%", &r), 0);
	CHECK_EQ_INT(r.weight_pct, 1000);

	CHECK_EQ_INT(parse_str("007%", &r), 0);
	CHECK_EQ_INT(r.weight_pct, 7);
}

TEST(test_ready_up_weight_word)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("ready up weight:50%", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_READY);
	CHECK_EQ_INT(r.weight_pct, 50);
	CHECK_EQ_INT(r.unknown_words, 0);
}

TEST(test_admin_words)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("drain", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_DRAIN);

	CHECK_EQ_INT(parse_str("maint", &r), 0);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_MAINT);

	CHECK_EQ_INT(parse_str("ready", &r), 0);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_READY);
}

TEST(test_down_with_reason)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("down #vip 198.18.0.10 missing", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);
	CHECK_EQ_STR(r.reason, "vip 198.18.0.10 missing");

	/* Trimmed at both ends; '#' needs no blank before it; a second '#'
	 * is part of the text; words after '#' are not parsed. */
	CHECK_EQ_INT(parse_str("down#  no backend # up  \t", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);
	CHECK_EQ_STR(r.reason, "no backend # up");

	/* Non-ASCII becomes '?', a tab a space. */
	CHECK_EQ_INT(parse_str("fail #caf\xc3\xa9\tclosed", &r), 0);
	CHECK_EQ_STR(r.reason, "caf?? closed");
}

TEST(test_reason_truncated)
{
	char line[AGENT_LINE_MAX + 1];
	struct agent_reply r;

	memset(line, 0, sizeof(line));
	strcpy(line, "down #");
	memset(line + 6, 'x', 200);
	CHECK_EQ_INT(parse_str(line, &r), 0);
	CHECK_EQ_INT(strlen(r.reason), AGENT_REASON_MAX - 1);
}

TEST(test_state_words)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("fail", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_FAIL);
	CHECK_EQ_INT(parse_str("stopped", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_STOPPED);
	CHECK_EQ_INT(parse_str("down", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);
}

TEST(test_separators)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("up,drain,,40%", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_DRAIN);
	CHECK_EQ_INT(r.weight_pct, 40);

	CHECK_EQ_INT(parse_str("\t up\t\tmaint , 10%\t", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_MAINT);
	CHECK_EQ_INT(r.weight_pct, 10);
	CHECK_EQ_INT(r.unknown_words, 0);
}

TEST(test_line_endings)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("up 75%\r\n", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.weight_pct, 75);
	CHECK_EQ_INT(r.unknown_words, 0);

	CHECK_EQ_INT(parse_str("drain\n", &r), 0);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_DRAIN);

	/* The line ends at the first LF; the rest is not looked at, even
	 * bytes that would be invalid inside the line. */
	CHECK_EQ_INT(agent_reply_parse("down\nup\0junk", 12, &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_DOWN);

	/* A CR before the LF goes; one anywhere else is a control byte. */
	CHECK_EQ_INT(parse_str("up\r", &r), 0);
	CHECK_EQ_INT(parse_str("up\rdown\n", &r), -EINVAL);
}

TEST(test_case_insensitive)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("UP Ready WEIGHT:20% MaxConn:5", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_READY);
	CHECK_EQ_INT(r.weight_pct, 20);
	CHECK_EQ_INT(r.maxconn, 5);

	CHECK_EQ_INT(parse_str("DRAIN", &r), 0);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_DRAIN);
	CHECK_EQ_INT(parse_str("Stopped", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_STOPPED);
}

TEST(test_maxconn)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("maxconn:30", &r), 0);
	CHECK_EQ_INT(r.maxconn, 30);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);

	CHECK_EQ_INT(parse_str("up maxconn:0", &r), 0);
	CHECK_EQ_INT(r.maxconn, 0);

	CHECK_EQ_INT(parse_str("maxconn:2147483647", &r), 0);
	CHECK_EQ_INT(r.maxconn, 2147483647);

	CHECK_EQ_INT(parse_str("maxconn:", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("maxconn:-1", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("maxconn:2147483648", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("maxconn:12x", &r), -EINVAL);
}

TEST(test_later_words_override)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("down up drain ready 10% 20% maxconn:1 maxconn:2", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.admin, AGENT_ADMIN_READY);
	CHECK_EQ_INT(r.weight_pct, 20);
	CHECK_EQ_INT(r.maxconn, 2);
}

TEST(test_unknown_words)
{
	struct agent_reply r;

	CHECK_EQ_INT(parse_str("up hello 50% upp 5%0 world", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.weight_pct, 50);
	CHECK_EQ_INT(r.unknown_words, 4);

	/* Nothing understood is still a reply, as HAProxy treats it. */
	CHECK_EQ_INT(parse_str("hello", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);
	CHECK_EQ_INT(r.unknown_words, 1);

	CHECK_EQ_INT(parse_str("caf\xc3\xa9 up", &r), 0);
	CHECK_EQ_INT(r.state, AGENT_STATE_UP);
	CHECK_EQ_INT(r.unknown_words, 1);
}

TEST(test_invalid_lines)
{
	char big[AGENT_LINE_MAX + 2];
	struct agent_reply r;

	CHECK_EQ_INT(agent_reply_parse("", 0, &r), -EINVAL);
	CHECK_EQ_INT(agent_reply_parse(NULL, 0, &r), -EINVAL);
	CHECK_EQ_INT(parse_str("\n", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("\r\n", &r), -EINVAL);
	CHECK_EQ_INT(parse_str(" , \t", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("#only a comment", &r), -EINVAL);
	CHECK_EQ_INT(agent_reply_parse("up\0", 3, &r), -EINVAL);
	CHECK_EQ_INT(agent_reply_parse("\0up", 3, &r), -EINVAL);
	CHECK_EQ_INT(parse_str("up\x01", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("up\x7f", &r), -EINVAL);
	CHECK_EQ_INT(parse_str("down #bell\a", &r), -EINVAL);

	/* A failed parse leaves an empty reply, never a half-filled one. */
	CHECK_EQ_INT(parse_str("up abc%", &r), -EINVAL);
	CHECK_EQ_INT(r.state, AGENT_STATE_NONE);
	CHECK_EQ_INT(r.weight_pct, -1);

	/* Exactly AGENT_LINE_MAX bytes (plus CRLF) is fine, one more is not. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "up", 2);
	CHECK_EQ_INT(agent_reply_parse(big, AGENT_LINE_MAX, &r), 0);
	big[AGENT_LINE_MAX] = '\r';
	big[AGENT_LINE_MAX + 1] = '\n';
	CHECK_EQ_INT(agent_reply_parse(big, AGENT_LINE_MAX + 2, &r), 0);
	big[AGENT_LINE_MAX] = ' ';
	CHECK_EQ_INT(agent_reply_parse(big, AGENT_LINE_MAX + 1, &r), -EINVAL);
}

TEST(test_bad_percentages)
{
	static const char *const bad[] = {
		"abc%", "-5%", "+5%", "%", "5%%", "1001%", "99999999999999999999999%",
		"weight:", "weight:%", "weight:50", "weight:x%", "Weight:-1%", "5 %x%", "1.5%",
	};
	struct agent_reply r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse_str(bad[i], &r);

		if (err != -EINVAL)
			fprintf(stderr, "  accepted bad percentage \"%s\"\n", bad[i]);
		CHECK_EQ_INT(err, -EINVAL);
	}
}

TEST(test_format)
{
	struct agent_reply r;
	char buf[AGENT_LINE_MAX];

	CHECK_EQ_INT(parse_str("up", &r), 0);
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), 3);
	CHECK_EQ_STR(buf, "up\n");

	CHECK_EQ_INT(parse_str("75% ready up", &r), 0);
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), (int)strlen("up ready 75%\n"));
	CHECK_EQ_STR(buf, "up ready 75%\n");

	CHECK_EQ_INT(parse_str("drain", &r), 0);
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), 6);
	CHECK_EQ_STR(buf, "drain\n");

	CHECK_EQ_INT(parse_str("down  # vip missing ", &r), 0);
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), (int)strlen("down #vip missing\n"));
	CHECK_EQ_STR(buf, "down #vip missing\n");

	CHECK_EQ_INT(parse_str("maxconn:30 up", &r), 0);
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), (int)strlen("up maxconn:30\n"));
	CHECK_EQ_STR(buf, "up maxconn:30\n");

	/* Reasons only follow down, fail and stopped. */
	CHECK_EQ_INT(parse_str("up #all good", &r), 0);
	CHECK_EQ_STR(r.reason, "all good");
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), 3);
	CHECK_EQ_STR(buf, "up\n");
}

TEST(test_format_sanitizes_caller_reason)
{
	struct agent_reply r = {
		.state = AGENT_STATE_STOPPED, .admin = AGENT_ADMIN_MAINT,
		.weight_pct = -1, .maxconn = -1,
	};
	char buf[AGENT_LINE_MAX];

	strcpy(r.reason, "  bad\nline\there\x80 ");
	CHECK(agent_reply_format(&r, buf, sizeof(buf)) > 0);
	CHECK_EQ_STR(buf, "stopped maint #bad?line here?\n");
}

TEST(test_format_limits)
{
	struct agent_reply r = { .state = AGENT_STATE_UP, .weight_pct = 100, .maxconn = -1 };
	char buf[AGENT_LINE_MAX];

	/* "up 100%\n" needs 9 bytes with the NUL. */
	CHECK_EQ_INT(agent_reply_format(&r, buf, 9), 8);
	CHECK_EQ_INT(agent_reply_format(&r, buf, 8), -ENOSPC);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(agent_reply_format(&r, buf, 3), -ENOSPC);
	CHECK_EQ_INT(agent_reply_format(&r, buf, 0), -ENOSPC);

	r.weight_pct = 1001;
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), -EINVAL);
	r.weight_pct = -1;
	r.state = (enum agent_state)42;
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), -EINVAL);

	/* Nothing to say would not parse back. */
	r.state = AGENT_STATE_NONE;
	CHECK_EQ_INT(agent_reply_format(&r, buf, sizeof(buf)), -EINVAL);
}

TEST(test_round_trip)
{
	static const char *const lines[] = {
		"up", "up 75%", "ready up weight:50%", "drain", "maint", "fail #x",
		"down #vip 198.18.0.10 missing", "stopped drain 0% maxconn:7 #going away",
		"1000%", "maxconn:30", "ready", "UP,MAINT\t5%\r\n",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct agent_reply a, b;
		char buf[AGENT_LINE_MAX];
		int n;

		CHECK_EQ_INT(parse_str(lines[i], &a), 0);
		n = agent_reply_format(&a, buf, sizeof(buf));
		CHECK(n > 0);
		if (n <= 0)
			continue;
		CHECK_EQ_INT(buf[n - 1], '\n');
		CHECK_EQ_INT(agent_reply_parse(buf, (size_t)n, &b), 0);
		CHECK_EQ_INT(b.state, a.state);
		CHECK_EQ_INT(b.admin, a.admin);
		CHECK_EQ_INT(b.weight_pct, a.weight_pct);
		CHECK_EQ_INT(b.maxconn, a.maxconn);
		CHECK_EQ_STR(b.reason, a.reason);
		CHECK_EQ_INT(b.unknown_words, 0);
	}
}

TEST(test_names)
{
	CHECK_EQ_STR(agent_state_name(AGENT_STATE_UP), "up");
	CHECK_EQ_STR(agent_state_name(AGENT_STATE_STOPPED), "stopped");
	CHECK_EQ_STR(agent_state_name(AGENT_STATE_NONE), "none");
	CHECK_EQ_STR(agent_state_name((enum agent_state)99), "unknown");
	CHECK_EQ_STR(agent_admin_name(AGENT_ADMIN_DRAIN), "drain");
	CHECK_EQ_STR(agent_admin_name((enum agent_admin)-1), "unknown");
}

TEST_MAIN(
	T(test_up),
	T(test_up_weight),
	T(test_ready_up_weight_word),
	T(test_admin_words),
	T(test_down_with_reason),
	T(test_reason_truncated),
	T(test_state_words),
	T(test_separators),
	T(test_line_endings),
	T(test_case_insensitive),
	T(test_maxconn),
	T(test_later_words_override),
	T(test_unknown_words),
	T(test_invalid_lines),
	T(test_bad_percentages),
	T(test_format),
	T(test_format_sanitizes_caller_reason),
	T(test_format_limits),
	T(test_round_trip),
	T(test_names),
)
