/* common/risefall: the one rise/fall machine of every check. */
#include <limits.h>

#include "risefall.h"
#include "test.h"

/* Feed results ('1' pass, '0' fail); expect up and changed after each. */
static void run(const char *name, unsigned rise, unsigned fall, const char *in, const char *up, const char *chg)
{
	struct risefall rf = { false, false, false, 0 };

	for (size_t i = 0; in[i]; i++) {
		bool changed = risefall_record(&rf, in[i] == '1', rise, fall);

		if (rf.up != (up[i] == '1') || changed != (chg[i] == '1') || !rf.known) {
			fprintf(stderr, "  %s: step %zu: up %d changed %d\n", name, i, rf.up, changed);
			test_failed_checks++;
		}
	}
}

TEST(first_result_decides)
{
	run("first pass", 3, 3, "1", "1", "1");
	run("first fail", 3, 3, "0", "0", "1");
}

TEST(rise_and_fall_need_runs)
{
	run("rise 2 fall 3", 2, 3, "0110001000", "0011100000", "1010010000");
	run("broken runs never move it", 3, 3, "10101010", "11111111", "10000000");
}

TEST(zero_counts_as_one)
{
	run("rise 0 fall 0", 0, 0, "10101", "10101", "11111");
}

TEST(run_length_saturates)
{
	struct risefall rf = { true, true, true, UINT_MAX - 1 };

	risefall_record(&rf, true, 1, 1);
	risefall_record(&rf, true, 1, 1);
	CHECK_EQ_INT(rf.in_row, UINT_MAX);
	CHECK(!risefall_record(&rf, false, 1, 2));
	CHECK_EQ_INT(rf.in_row, 1);
	CHECK(risefall_record(&rf, false, 1, 2));
	CHECK(!rf.up);
}

TEST_MAIN(T(first_result_decides), T(rise_and_fall_need_runs), T(zero_counts_as_one), T(run_length_saturates))
