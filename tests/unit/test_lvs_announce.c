/* Announced services, the pure core (lvs_announce.c): which VIPs are
 * wanted, each service's reason, the difference to apply. */
#include <arpa/inet.h>
#include <string.h>

#include "lvs.h"
#include "test.h"

static struct ipaddr ip(const char *s)
{
	struct ipaddr a = { .family = strchr(s, ':') ? AF_INET6 : AF_INET };

	a.prefixlen = a.family == AF_INET6 ? 128 : 32;
	a.has_prefix = true;
	inet_pton(a.family, s, a.u.bytes);
	return a;
}

static struct lvs_announce_svc svc(const char *vip, bool quorum, bool done)
{
	return (struct lvs_announce_svc){ .vip = ip(vip), .has_quorum = quorum, .checks_done = done };
}

static bool same(const struct ipaddr *a, const char *s)
{
	struct ipaddr b = ip(s);

	return lvs_announce_vip_cmp(a, &b) == 0 && a->prefixlen == b.prefixlen;
}

TEST(quorum_decides)
{
	struct lvs_announce_svc s[3] = {
		svc("198.18.0.10", true, true), svc("198.18.0.11", false, true), svc("2001:db8::10", true, true),
	};
	struct ipaddr out[3];
	size_t n;

	CHECK_EQ_INT(lvs_announce_want(s, 3, false, false, out, &n), 0);
	CHECK_EQ_INT((int)n, 2);
	CHECK(same(&out[0], "198.18.0.10"));
	CHECK(same(&out[1], "2001:db8::10"));
	CHECK_EQ_INT(s[0].state, LVS_ANN_ANNOUNCED);
	CHECK_EQ_INT(s[1].state, LVS_ANN_NO_QUORUM);
	CHECK_EQ_STR(lvs_announce_state_name(s[1].state), "no-quorum");
	CHECK_EQ_STR(lvs_announce_metric_state(s[1].state), "no_quorum");
}

/* No black hole while starting: quorum from adopted servers is not enough. */
TEST(starting_waits_for_first_results)
{
	struct lvs_announce_svc s[1] = { svc("198.18.0.10", true, false) };
	struct ipaddr out[1];
	size_t n;

	lvs_announce_want(s, 1, false, false, out, &n);
	CHECK_EQ_INT((int)n, 0);
	CHECK_EQ_INT(s[0].state, LVS_ANN_STARTING);
}

TEST(drained_and_stopping_withdraw_all)
{
	struct lvs_announce_svc s[2] = { svc("198.18.0.10", true, true), svc("198.18.0.11", false, false) };
	struct ipaddr out[2];
	size_t n;

	lvs_announce_want(s, 2, true, false, out, &n);
	CHECK_EQ_INT((int)n, 0);
	CHECK_EQ_INT(s[0].state, LVS_ANN_DRAINED);
	CHECK_EQ_INT(s[1].state, LVS_ANN_DRAINED);
	lvs_announce_want(s, 2, true, true, out, &n);
	CHECK_EQ_INT((int)n, 0);
	CHECK_EQ_INT(s[0].state, LVS_ANN_STOPPING);
	CHECK_EQ_STR(lvs_announce_state_name(LVS_ANN_STOPPING), "stopping");
}

/* Two services on one VIP (tcp and udp, two ports): announced only when
 * both may be, once. */
TEST(shared_vip_needs_every_service)
{
	struct lvs_announce_svc s[3] = {
		svc("198.18.0.10", true, true), svc("198.18.0.20", true, true), svc("198.18.0.10", false, true),
	};
	struct ipaddr out[3];
	size_t n;

	lvs_announce_want(s, 3, false, false, out, &n);
	CHECK_EQ_INT((int)n, 1);
	CHECK(same(&out[0], "198.18.0.20"));
	CHECK_EQ_INT(s[0].state, LVS_ANN_NO_QUORUM);
	CHECK_EQ_INT(s[2].state, LVS_ANN_NO_QUORUM);
	s[2].has_quorum = true;
	lvs_announce_want(s, 3, false, false, out, &n);
	CHECK_EQ_INT((int)n, 2);
	CHECK(same(&out[0], "198.18.0.10"));
	CHECK_EQ_INT(s[0].state, LVS_ANN_ANNOUNCED);
}

TEST(diff_adds_and_removes)
{
	struct ipaddr want[2] = { ip("198.18.0.10"), ip("2001:db8::1") };
	struct ipaddr have[2] = { ip("198.18.0.9"), ip("198.18.0.10") };
	struct ipaddr add[2], del[2];
	size_t na, nd;

	lvs_announce_diff(want, 2, have, 2, add, &na, del, &nd);
	CHECK_EQ_INT((int)na, 1);
	CHECK_EQ_INT((int)nd, 1);
	CHECK(same(&add[0], "2001:db8::1"));
	CHECK(same(&del[0], "198.18.0.9"));
	lvs_announce_diff(want, 2, want, 2, add, &na, del, &nd);
	CHECK_EQ_INT((int)(na + nd), 0);
}

TEST(sort_unique_makes_hosts)
{
	struct ipaddr v[4] = { ip("198.18.0.10"), ip("2001:db8::1"), ip("198.18.0.10"), ip("198.18.0.2") };

	v[2].prefixlen = 24;
	CHECK_EQ_INT((int)lvs_announce_sort_unique(v, 4), 3);
	CHECK(same(&v[0], "198.18.0.2"));
	CHECK(same(&v[1], "198.18.0.10"));
	CHECK(same(&v[2], "2001:db8::1"));
}

TEST(first_results_by_check)
{
	struct virtual_server_conf vs;
	struct lvs_rs_state st;

	memset(&vs, 0, sizeof(vs));
	memset(&st, 0, sizeof(st));
	vs.check = LVS_CHECK_NONE;
	CHECK(lvs_rs_first_result(&vs, &st));
	vs.check = LVS_CHECK_TCP;
	CHECK(!lvs_rs_first_result(&vs, &st));
	st.check.rf.known = true;
	CHECK(lvs_rs_first_result(&vs, &st));
	vs.check_agent = true;
	CHECK(!lvs_rs_first_result(&vs, &st));
	st.agent_health.rf.known = true;
	CHECK(lvs_rs_first_result(&vs, &st));
	vs.check = LVS_CHECK_AGENT;
	vs.check_agent = false;
	st.check.rf.known = false;
	CHECK(lvs_rs_first_result(&vs, &st));
}

TEST_MAIN(T(quorum_decides), T(starting_waits_for_first_results), T(drained_and_stopping_withdraw_all),
	  T(shared_vip_needs_every_service), T(diff_adds_and_removes), T(sort_unique_makes_hosts),
	  T(first_results_by_check))
