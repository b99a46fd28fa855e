/* [track_process] as pure logic (director/vrrp/proctrack.c): matching by
 * comm, argv[0] and arguments, and the verdict on counts with its delays,
 * in virtual time, from sections loaded as the daemon loads them. */
#include <string.h>

#include "proctrack.h"
#include "test.h"
#include "test_director_conf.h"

#define HEAD "[global]\nuser = nobody\n"
#define VRRP "[vrrp v]\ninterface = lo\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.5\n"

static bool m(const struct track_process_conf *t, const char *comm, const char *cmdline, size_t cmdline_len)
{
	return proc_match(t, comm, strlen(comm), cmdline, cmdline_len);
}

#define CMD(s) s, sizeof(s) - 1

TEST(test_comm_matches_exactly)
{
	struct director_config *cfg = conf(HEAD "[track_process h]\nprocess = haproxy\n" VRRP);
	const struct track_process_conf *t = cfg ? cfg->track_processes : NULL;

	if (!t)
		return;
	CHECK(!proc_match_needs_cmdline(t));
	CHECK(m(t, "haproxy\n", CMD("")));
	CHECK(m(t, "haproxy", CMD("/usr/sbin/haproxy\0-f\0x\0")));
	CHECK(!m(t, "haproxy-wrap\n", CMD("")));	/* not a regular expression, not a prefix */
	CHECK(!m(t, "haprox\n", CMD("")));
	CHECK(!m(t, "\n", CMD("")));
	/* comm as the kernel cuts it: a NUL inside ends it. */
	CHECK(proc_match(t, "haproxy\0junk", 12, "", 0));
	director_config_free(cfg);
}

TEST(test_full_command_matches_argv0)
{
	struct director_config *cfg = conf(HEAD "[track_process a]\nprocess = /usr/sbin/haproxy\nfull_command = yes\n"
					   "[track_process b]\nprocess = haproxy-long-name-x\nfull_command = yes\n" VRRP);
	const struct track_process_conf *a = cfg ? cfg->track_processes : NULL, *b = a ? a->next : NULL;

	if (!b)
		return;
	CHECK(proc_match_needs_cmdline(a));
	CHECK(m(a, "whatever", CMD("/usr/sbin/haproxy\0-f\0/etc/haproxy/haproxy.cfg\0")));
	CHECK(m(a, "whatever", CMD("/usr/sbin/haproxy")));	/* cut short: no NUL at all */
	CHECK(!m(a, "haproxy", CMD("haproxy\0")));		/* a path names the path */
	CHECK(!m(a, "haproxy", CMD("")));			/* kernel thread or zombie */
	/* Without a '/', the base name of argv[0]. */
	CHECK(m(b, "haproxy-long-na", CMD("/opt/bin/haproxy-long-name-x\0")));
	CHECK(m(b, "haproxy-long-na", CMD("haproxy-long-name-x\0")));
	CHECK(!m(b, "haproxy-long-na", CMD("/opt/bin/haproxy-long-name-x/\0")));
	director_config_free(cfg);
}

TEST(test_args_exact_partial_initial)
{
	struct director_config *cfg = conf(HEAD
		"[track_process e]\nprocess = haproxy\nargs = -f /etc/h.cfg\n"
		"[track_process p]\nprocess = haproxy\nargs = -f  /etc/h.cfg\nparam_match = partial\n"
		"[track_process i]\nprocess = haproxy\nargs = -f /etc/h\nparam_match = initial\n"
		"[track_process none]\nprocess = haproxy\nargs =\n" VRRP);
	const struct track_process_conf *e = cfg ? cfg->track_processes : NULL;
	const struct track_process_conf *p = e ? e->next : NULL, *i = p ? p->next : NULL, *n = i ? i->next : NULL;

	if (!n)
		return;
	CHECK(m(e, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfg\0")));
	CHECK(!m(e, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfg\0-D\0")));	/* one more */
	CHECK(!m(e, "haproxy", CMD("/usr/sbin/haproxy\0-f\0")));			/* one less */
	CHECK(!m(e, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfgX\0")));
	CHECK(m(p, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfg\0-D\0-p\0x\0")));
	CHECK(m(p, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfg")));
	CHECK(!m(p, "haproxy", CMD("/usr/sbin/haproxy\0-D\0-f\0/etc/h.cfg\0")));
	CHECK(m(i, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfg\0")));
	CHECK(m(i, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h\0")));
	CHECK(!m(i, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/h.cfg\0-D\0")));
	CHECK(!m(i, "haproxy", CMD("/usr/sbin/haproxy\0-f\0/etc/\0")));
	CHECK(!m(i, "haproxy", CMD("/usr/sbin/haproxy\0-x\0/etc/h.cfg\0")));
	/* args = (empty): no arguments at all. */
	CHECK(m(n, "haproxy", CMD("/usr/sbin/haproxy\0")));
	CHECK(!m(n, "haproxy", CMD("/usr/sbin/haproxy\0-f\0")));
	director_config_free(cfg);
}

/* quorum 2, quorum_max 3: two or three processes are up, one or four are
 * not; the first count decides at once. */
TEST(test_count_range)
{
	struct director_config *cfg = conf(HEAD "[track_process w]\nprocess = worker\nquorum = 2\nquorum_max = 3\n" VRRP);
	const struct track_process_conf *t = cfg ? cfg->track_processes : NULL;
	struct proc_verdict v = { 0 };

	if (!t)
		return;
	CHECK(!proc_count_ok(t, 0) && !proc_count_ok(t, 1));
	CHECK(proc_count_ok(t, 2) && proc_count_ok(t, 3));
	CHECK(!proc_count_ok(t, 4));
	CHECK(proc_verdict_count(&v, t, 1, 1000));
	CHECK(v.known && !v.up);
	CHECK(proc_verdict_count(&v, t, 2, 1001) && v.up);	/* no delay: at once */
	CHECK(!proc_verdict_count(&v, t, 3, 1002) && v.up);
	CHECK(proc_verdict_count(&v, t, 4, 1003) && !v.up);	/* too many */
	CHECK(proc_verdict_count(&v, t, 3, 1004) && v.up);
	CHECK_EQ_INT(v.count, 3);
	director_config_free(cfg);
}

/* terminate_delay 2s, fork_delay (from delay) 500ms: a process gone for
 * less than 2s changes nothing; gone longer, the verdict is down at 2s
 * exactly; back, it is up 500ms later. */
TEST(test_delays)
{
	struct director_config *cfg = conf(HEAD "[track_process h]\nprocess = haproxy\ndelay = 500ms\n"
					   "terminate_delay = 2s\n" VRRP);
	const struct track_process_conf *t = cfg ? cfg->track_processes : NULL;
	struct proc_verdict v = { 0 };

	if (!t)
		return;
	CHECK_EQ_INT(t->terminate_delay_ms, 2000);
	CHECK_EQ_INT(t->fork_delay_ms, 500);
	CHECK(proc_verdict_count(&v, t, 1, 10000) && v.up);
	/* A restart inside the delay: nothing. */
	CHECK(!proc_verdict_count(&v, t, 0, 11000));
	CHECK_EQ_INT(v.due_ms, 13000);
	CHECK(!proc_verdict_count(&v, t, 1, 12000));
	CHECK_EQ_INT(v.due_ms, 0);
	CHECK(!proc_verdict_timeout(&v, 13000) && v.up);
	/* Gone for good. */
	CHECK(!proc_verdict_count(&v, t, 0, 20000));
	CHECK(!proc_verdict_count(&v, t, 0, 21000));	/* a second zero does not restart the delay */
	CHECK_EQ_INT(v.due_ms, 22000);
	CHECK(!proc_verdict_timeout(&v, 21999) && v.up);
	CHECK(proc_verdict_timeout(&v, 22000) && !v.up);
	/* Back: up after fork_delay. */
	CHECK(!proc_verdict_count(&v, t, 1, 30000) && !v.up);
	CHECK_EQ_INT(v.due_ms, 30500);
	CHECK(proc_verdict_timeout(&v, 30500) && v.up);
	director_config_free(cfg);
}

/* quorum_max = 0 with quorum = 0: the process must not run. */
TEST(test_must_not_run)
{
	struct director_config *cfg = conf(HEAD "[track_process x]\nprocess = maint-mode\nquorum = 0\nquorum_max = 0\n" VRRP);
	const struct track_process_conf *t = cfg ? cfg->track_processes : NULL;

	if (!t)
		return;
	CHECK(proc_count_ok(t, 0));
	CHECK(!proc_count_ok(t, 1));
	director_config_free(cfg);
}

/* Whose command line is worth reading (it may block): comm as exec sets
 * it from the program's or (a script's) an argument's file name, cut to
 * 15 bytes; any comm for a section that matches on comm alone. */
TEST(test_comm_may_match)
{
	struct director_config *cfg = conf(HEAD "[track_process a]\nprocess = /usr/sbin/haproxy\nfull_command = yes\n"
					   "[track_process s]\nprocess = python3\nargs = -u /opt/bin/a-long-daemon-name\n"
					   "[track_process c]\nprocess = haproxy\n" VRRP);
	const struct track_process_conf *a = cfg ? cfg->track_processes : NULL, *sc = a ? a->next : NULL;
	const struct track_process_conf *c = sc ? sc->next : NULL;

	if (!c)
		return;
	CHECK(proc_comm_may_match(a, "haproxy\n", 8));
	CHECK(proc_comm_may_match(a, "haproxy", 7));
	CHECK(!proc_comm_may_match(a, "haproxy-wrap\n", 13));
	CHECK(!proc_comm_may_match(a, "bash\n", 5));
	CHECK(proc_comm_may_match(sc, "python3\n", 8));
	CHECK(proc_comm_may_match(sc, "a-long-daemon-n\n", 16));	/* the script, cut */
	CHECK(!proc_comm_may_match(sc, "a-long-daemon-name\n", 19));	/* never longer than 15 */
	CHECK(!proc_comm_may_match(sc, "sh\n", 3));
	CHECK(proc_comm_may_match(c, "anything\n", 9));
	director_config_free(cfg);
}

TEST_MAIN(T(test_comm_may_match), T(test_comm_matches_exactly), T(test_full_command_matches_argv0), T(test_args_exact_partial_initial),
	  T(test_count_range), T(test_delays), T(test_must_not_run))
