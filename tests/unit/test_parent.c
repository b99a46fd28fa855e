/* The parent's heartbeat rules, in virtual time: one ping at a time, sent
 * again until answered; an engine is stuck once one has waited the whole
 * timeout, never before; the LVS engine gets at least 30s. */
#include "directord.h"
#include "test.h"

TEST(first_ping_then_a_quarter)
{
	uint64_t ping = 0, next = 0;

	CHECK(!heartbeat_step(&ping, 1000, 3000, &next));
	CHECK_EQ_INT(ping, 1000);	/* sent now */
	CHECK_EQ_INT(next, 750);
	/* Unanswered: sent again, stamped as first sent. */
	CHECK(!heartbeat_step(&ping, 1750, 3000, &next));
	CHECK_EQ_INT(ping, 1000);
	CHECK_EQ_INT(next, 750);
}

TEST(stuck_exactly_at_the_timeout)
{
	uint64_t ping = 1000, next = 0;

	/* Looked at just before it is due: the next look is when it is due. */
	CHECK(!heartbeat_step(&ping, 3500, 3000, &next));
	CHECK_EQ_INT(next, 500);
	CHECK(!heartbeat_step(&ping, 3999, 3000, &next));
	CHECK_EQ_INT(next, 1);
	CHECK(heartbeat_step(&ping, 4000, 3000, &next));
	CHECK(heartbeat_step(&ping, 90000, 3000, &next));
}

TEST(answered_starts_a_new_ping)
{
	uint64_t ping = 0, next = 0;	/* the last one was answered */

	CHECK(!heartbeat_step(&ping, 5000, 3000, &next));
	CHECK_EQ_INT(ping, 5000);
	CHECK(!heartbeat_step(&ping, 7999, 3000, &next));
	CHECK(heartbeat_step(&ping, 8000, 3000, &next));
}

/* The parent stalled long after sending: the answer, counted first,
 * leaves no ping outstanding, so its own delay is never the engine's. */
TEST(parent_stall_is_not_the_engines)
{
	uint64_t ping = 0, next = 0;	/* sent at 1000, answered while the parent was busy */

	CHECK(!heartbeat_step(&ping, 31000, 3000, &next));
	CHECK_EQ_INT(ping, 31000);
}

TEST(off)
{
	uint64_t ping = 1000, next = 0;

	CHECK(!heartbeat_step(&ping, 1000000, 0, &next));
	CHECK_EQ_INT(next, 1000);
}

TEST(timeouts)
{
	CHECK_EQ_INT(heartbeat_timeout_for(3000, false), 3000);
	CHECK_EQ_INT(heartbeat_timeout_for(3000, true), 30000);
	CHECK_EQ_INT(heartbeat_timeout_for(45000, true), 45000);
	CHECK_EQ_INT(heartbeat_timeout_for(0, true), 0);
	CHECK_EQ_INT(heartbeat_timeout_for(0, false), 0);
}

TEST_MAIN(T(first_ping_then_a_quarter), T(stuck_exactly_at_the_timeout), T(answered_starts_a_new_ping),
	  T(parent_stall_is_not_the_engines), T(off), T(timeouts))
