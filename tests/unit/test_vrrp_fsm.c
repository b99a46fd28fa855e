/* The VRRP state machine over virtual time: RFC 5798 6.4 timing and
 * transitions with concrete instants, keepalived's nopreempt and
 * preempt_delay, sync-group forcing, and two routers on a simulated wire
 * that must elect exactly one master and fail over at the RFC bound. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "parse.h"
#include "test.h"
#include "vrrp.h"

#define T0 1000		/* start-up instant; not 0, so "unarmed" cannot pass as a deadline */

#define ACT_TAKEOVER (VRRP_ACT_BECOME_MASTER | VRRP_ACT_SEND_ADVERT | VRRP_ACT_STATE_CHANGED)
#define ACT_STOP (VRRP_ACT_LEAVE_MASTER | VRRP_ACT_SEND_STOP | VRRP_ACT_STATE_CHANGED)
/* a yielding master sends one last advert, at its priority, once its VIPs are gone */
#define ACT_YIELD (VRRP_ACT_LEAVE_MASTER | VRRP_ACT_SEND_ADVERT | VRRP_ACT_STATE_CHANGED)
/* a member leaving with its group is silent: its advert could preempt the
 * peer's member that the peer's group has just made master */
#define ACT_STEP_DOWN (VRRP_ACT_LEAVE_MASTER | VRRP_ACT_STATE_CHANGED)

static struct ipaddr ip(const char *s)
{
	char err[PARSE_ERR_MAX];
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	if (parse_ipaddr(s, &a, err) != 0) {
		fprintf(stderr, "  bad test address %s: %s\n", s, err);
		test_failed_checks++;
	}
	return a;
}

static struct vrrp_fsm_conf conf_of(int version, uint8_t priority, uint16_t interval_cs, const char *primary)
{
	struct vrrp_fsm_conf c;

	memset(&c, 0, sizeof(c));
	c.version = (uint8_t)version;
	c.vrid = 51;
	c.priority = priority;
	c.interval_cs = interval_cs;
	c.preempt = true;
	c.primary = ip(primary);
	return c;
}

/* The advert is large (255 addresses): one static instance, rebuilt per use. */
static struct vrrp_advert advert_buf;

static const struct vrrp_advert *advert(int version, uint8_t priority, uint16_t interval_cs)
{
	memset(&advert_buf, 0, sizeof(advert_buf));
	advert_buf.version = (uint8_t)version;
	advert_buf.vrid = 51;
	advert_buf.priority = priority;
	advert_buf.interval_cs = interval_cs;
	advert_buf.family = AF_INET;
	advert_buf.naddrs = 1;
	advert_buf.addrs[0] = ip("192.0.2.100");
	return &advert_buf;
}

/* An instance started at T0: v3, 1 s interval, preempt on. */
static void start_v3(struct vrrp_fsm *f, uint8_t priority)
{
	struct vrrp_fsm_conf c = conf_of(3, priority, 100, "192.0.2.10");

	vrrp_fsm_init(f, &c);
	vrrp_fsm_startup(f, T0);
}

/* A backup that took over at its first Master_Down_Interval. */
static uint64_t make_master(struct vrrp_fsm *f, uint8_t priority)
{
	start_v3(f, priority);
	uint64_t t = vrrp_fsm_next_due(f);
	CHECK_EQ_INT(vrrp_fsm_timeout(f, t), ACT_TAKEOVER);
	CHECK_EQ_INT(f->state, VRRP_STATE_MASTER);
	return t;
}

/* ---- timing ---- */

TEST(test_timing_v3)
{
	/* priority 100, 100 cs: skew 156/256 s = 609.375 ms, rounded up */
	CHECK_EQ_INT(vrrp_skew_ms(3, 100, 100), 610);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 100, 100), 3610);
	/* exact values are not rounded further: 128/256 s = 500 ms */
	CHECK_EQ_INT(vrrp_skew_ms(3, 128, 100), 500);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 128, 100), 3500);
	/* v3 skew scales with the interval: 1218.75 ms, 304.6875 ms */
	CHECK_EQ_INT(vrrp_skew_ms(3, 100, 200), 1219);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 100, 200), 7219);
	CHECK_EQ_INT(vrrp_skew_ms(3, 100, 50), 305);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 100, 50), 1805);
	/* owner: 1000/256 = 3.90625 ms; 150: 414.0625 ms */
	CHECK_EQ_INT(vrrp_skew_ms(3, 255, 100), 4);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 150, 100), 3415);
	/* the smallest skew is still a whole ms, never 0 */
	CHECK_EQ_INT(vrrp_skew_ms(3, 255, 1), 1);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 255, 1), 31);
	/* the largest: 255 * 40950 / 256 = 40790.04 ms */
	CHECK_EQ_INT(vrrp_skew_ms(3, 1, VRRP_V3_MAX_INTERVAL_CS), 40791);
	CHECK_EQ_INT(vrrp_master_down_ms(3, 1, VRRP_V3_MAX_INTERVAL_CS), 163641);
}

TEST(test_timing_v2)
{
	/* v2: (256 - p) / 256 s whatever the interval */
	CHECK_EQ_INT(vrrp_skew_ms(2, 100, 100), 610);
	CHECK_EQ_INT(vrrp_master_down_ms(2, 100, 100), 3610);
	CHECK_EQ_INT(vrrp_skew_ms(2, 100, 200), 610);
	CHECK_EQ_INT(vrrp_master_down_ms(2, 100, 200), 6610);
	CHECK_EQ_INT(vrrp_skew_ms(2, 128, 300), 500);
	CHECK_EQ_INT(vrrp_master_down_ms(2, 128, 300), 9500);
	CHECK_EQ_INT(vrrp_skew_ms(2, 255, 100), 4);
}

TEST(test_state_names)
{
	CHECK_EQ_STR(vrrp_state_name(VRRP_STATE_INIT), "INIT");
	CHECK_EQ_STR(vrrp_state_name(VRRP_STATE_BACKUP), "BACKUP");
	CHECK_EQ_STR(vrrp_state_name(VRRP_STATE_MASTER), "MASTER");
	CHECK_EQ_STR(vrrp_state_name(VRRP_STATE_FAULT), "FAULT");
	CHECK_EQ_STR(vrrp_state_name((enum vrrp_state)42), "UNKNOWN");
}

/* ---- start-up and the Backup timer ---- */

TEST(test_init)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, 100, 100, "192.0.2.10");

	vrrp_fsm_init(&f, &c);
	CHECK_EQ_INT(f.state, VRRP_STATE_INIT);
	CHECK_EQ_INT(f.priority, 100);
	CHECK_EQ_INT(f.master_interval_cs, 100);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, 999999), 0);
	CHECK_EQ_INT(f.transitions, 0);
}

TEST(test_startup_owner)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, VRRP_PRIO_OWNER, 100, "192.0.2.10");

	vrrp_fsm_init(&f, &c);
	CHECK_EQ_INT(vrrp_fsm_startup(&f, T0), ACT_TAKEOVER);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.prev_state, VRRP_STATE_INIT);
	CHECK_EQ_INT(f.adver_due_ms, T0 + 1000);
	CHECK_EQ_INT(f.master_down_due_ms, 0);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), T0 + 1000);
	CHECK_EQ_INT(f.became_master, 1);
	CHECK_EQ_INT(f.transitions, 1);
	/* a second start-up is not an event */
	CHECK_EQ_INT(vrrp_fsm_startup(&f, T0 + 1), 0);

	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 999), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 1000), VRRP_ACT_SEND_ADVERT);
	CHECK_EQ_INT(f.adver_due_ms, T0 + 2000);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 2000), VRRP_ACT_SEND_ADVERT);
	CHECK_EQ_INT(f.adver_due_ms, T0 + 3000);
	CHECK_EQ_INT(f.transitions, 1);

	/* tracking never lowers an owner */
	CHECK_EQ_INT(vrrp_fsm_set_priority(&f, 50, T0 + 2500), 0);
	CHECK_EQ_INT(f.priority, VRRP_PRIO_OWNER);
}

TEST(test_backup_takes_over_exactly_at_master_down)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, 100, 100, "192.0.2.10");

	vrrp_fsm_init(&f, &c);
	CHECK_EQ_INT(vrrp_fsm_startup(&f, T0), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, T0 + 3610);
	CHECK_EQ_INT(f.adver_due_ms, 0);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), T0 + 3610);

	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 3609), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.became_master, 0);

	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 3610), ACT_TAKEOVER);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.prev_state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, 0);
	CHECK_EQ_INT(f.adver_due_ms, T0 + 3610 + 1000);
	CHECK_EQ_INT(f.became_master, 1);
	CHECK_EQ_INT(f.transitions, 2);
}

TEST(test_backup_v2_takes_over_at_master_down)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(2, 100, 200, "192.0.2.10");

	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), T0 + 6610);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 6609), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 6610), ACT_TAKEOVER);
	CHECK_EQ_INT(f.adver_due_ms, T0 + 6610 + 2000);
}

TEST(test_late_timeout)
{
	struct vrrp_fsm f;

	/* A backup that wakes well past Master_Down (3,609 ms) could not
	 * watch the wire: the master gets one more interval, from now; on
	 * time then, it takes over. */
	start_v3(&f, 100);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 5000), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, T0 + 6000);
	CHECK_EQ_INT(f.takeovers_deferred, 1);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 6000), ACT_TAKEOVER);
	/* A master that wakes late still acts once, and re-arms from now. */
	CHECK_EQ_INT(f.adver_due_ms, T0 + 7000);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 8500), VRRP_ACT_SEND_ADVERT);
	CHECK_EQ_INT(f.adver_due_ms, T0 + 9500);
}

/* bench/isolation-host.sh saw a backup take over from a live master at a
 * 10 ms interval: the machine stalled both for longer than Master_Down,
 * the backup's timer ran first, the master's advert came just after. A
 * timer a quarter interval late waits for that advert instead. */
TEST(test_stalled_backup_waits_for_the_advert)
{
	struct vrrp_fsm_conf c = conf_of(3, 100, 1, "192.0.2.10");
	struct ipaddr peer = ip("192.0.2.20");
	struct vrrp_fsm f;
	uint64_t t = 2000, md = vrrp_master_down_ms(3, 100, 1);

	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 200, 1), &peer, t), 0);
	CHECK_EQ_INT(f.master_down_due_ms, t + md);
	/* on time, within the 2 ms of slack: the master is down */
	struct vrrp_fsm g = f;

	CHECK_EQ_INT(vrrp_fsm_timeout(&g, t + md + 2), ACT_TAKEOVER);
	CHECK_EQ_INT(g.takeover_silence_ms, md + 2);
	/* 9 ms late: the advert that follows keeps it a backup */
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, t + md + 9), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, t + md + 9 + 10);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 200, 1), &peer, t + md + 10), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.transitions, 1);
	CHECK_EQ_INT(f.takeovers_deferred, 1);
}

/* ---- Backup receiving ---- */

TEST(test_backup_accepts_and_learns_interval_v3)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");

	start_v3(&f, 100);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 200, 50), &peer, 2000), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK(f.master_known);
	CHECK(ipaddr_equal(&f.master_addr, &peer));
	CHECK_EQ_INT(f.master_priority, 200);
	CHECK_EQ_INT(f.last_advert_ms, 2000);
	CHECK_EQ_INT(f.master_interval_cs, 50);
	/* 3 * 500 ms + 156 * 500 / 256 ms (304.6875, rounded up) */
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 1805);

	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 200, 200), &peer, 3000), 0);
	CHECK_EQ_INT(f.master_interval_cs, 200);
	CHECK_EQ_INT(f.master_down_due_ms, 3000 + 7219);
	CHECK_EQ_INT(f.preempted_lower, 0);
	CHECK_EQ_INT(f.transitions, 1);
}

TEST(test_backup_v2_keeps_own_interval)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(2, 100, 100, "192.0.2.10");
	struct ipaddr peer = ip("192.0.2.2");

	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(2, 200, 300), &peer, 2000), 0);
	CHECK_EQ_INT(f.master_interval_cs, 100);
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 3610);
	CHECK(f.master_known);
}

TEST(test_backup_accepts_equal_priority)
{
	struct vrrp_fsm f;
	struct ipaddr lower_addr = ip("192.0.2.1");

	/* ">= local": equal priority is accepted whatever the address */
	start_v3(&f, 100);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &lower_addr, 2000), 0);
	CHECK(f.master_known);
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 3610);
	CHECK_EQ_INT(f.preempted_lower, 0);
}

TEST(test_preempt_discards_lower_and_takes_over_at_timer)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");

	start_v3(&f, 150);
	CHECK_EQ_INT(f.master_down_due_ms, T0 + 3415);
	for (uint64_t t = T0 + 100; t < T0 + 3415; t += 1000) {
		CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, t), 0);
		CHECK_EQ_INT(vrrp_fsm_timeout(&f, t), 0);
	}
	CHECK_EQ_INT(f.preempted_lower, 4);
	CHECK(!f.master_known);
	CHECK_EQ_INT(f.master_down_due_ms, T0 + 3415);	/* never reset */
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 3414), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 3415), ACT_TAKEOVER);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
}

TEST(test_nopreempt_follows_lower_master)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, 150, 100, "192.0.2.10");
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t;

	c.preempt = false;
	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	for (t = T0 + 1000; t <= T0 + 20000; t += 1000) {
		CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, t), 0);
		CHECK_EQ_INT(f.master_down_due_ms, t + 3415);
		CHECK_EQ_INT(vrrp_fsm_timeout(&f, t + 999), 0);
	}
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_priority, 100);
	CHECK_EQ_INT(f.preempted_lower, 0);
	CHECK_EQ_INT(f.became_master, 0);
}

TEST(test_preempt_delay)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, 150, 100, "192.0.2.10");
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t;

	c.preempt_delay_ms = 5000;
	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	CHECK_EQ_INT(f.started_ms, T0);

	/* Within the delay the lower master is followed, up to the last ms. */
	for (t = T0 + 1000; t <= T0 + 4000; t += 1000)
		vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, t);
	vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, T0 + 4999);
	CHECK_EQ_INT(f.preempted_lower, 0);
	CHECK_EQ_INT(f.last_advert_ms, T0 + 4999);
	CHECK_EQ_INT(f.master_down_due_ms, T0 + 4999 + 3415);

	/* From started + delay on, its adverts are discarded. */
	for (t = T0 + 5000; t <= T0 + 8000; t += 1000) {
		CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, t), 0);
		CHECK_EQ_INT(vrrp_fsm_timeout(&f, t), 0);
	}
	CHECK_EQ_INT(f.preempted_lower, 4);
	CHECK_EQ_INT(f.master_down_due_ms, T0 + 4999 + 3415);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 4999 + 3414), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, T0 + 4999 + 3415), ACT_TAKEOVER);
}

TEST(test_backup_prio0_takes_over_after_skew)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");

	start_v3(&f, 100);
	vrrp_fsm_receive(&f, advert(3, 200, 100), &peer, 2000);
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 3610);

	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, VRRP_PRIO_STOP, 100), &peer, 2500), 0);
	CHECK_EQ_INT(f.prio0_received, 1);
	CHECK(!f.master_known);
	CHECK_EQ_INT(f.master_down_due_ms, 2500 + 610);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, 2500 + 609), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, 2500 + 610), ACT_TAKEOVER);

	/* Skew_Time follows the learned Master_Adver_Interval (50 cs). */
	start_v3(&f, 100);
	vrrp_fsm_receive(&f, advert(3, 200, 50), &peer, 2000);
	vrrp_fsm_receive(&f, advert(3, VRRP_PRIO_STOP, 50), &peer, 2200);
	CHECK_EQ_INT(f.master_down_due_ms, 2200 + 305);
}

/* ---- Master receiving ---- */

TEST(test_master_prio0_sends_advert_at_once)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t = make_master(&f, 100);

	CHECK_EQ_INT(f.adver_due_ms, t + 1000);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, VRRP_PRIO_STOP, 100), &peer, t + 400),
		     VRRP_ACT_SEND_ADVERT);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.adver_due_ms, t + 1400);
	CHECK_EQ_INT(f.prio0_received, 1);
	CHECK_EQ_INT(f.split_brain, 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, t + 1000), 0);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, t + 1400), VRRP_ACT_SEND_ADVERT);
}

TEST(test_master_yields_to_higher_priority)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.1");	/* lower address: priority decides */
	uint64_t t = make_master(&f, 100);

	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 101, 50), &peer, t + 300), ACT_YIELD);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.prev_state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.adver_due_ms, 0);
	CHECK_EQ_INT(f.master_interval_cs, 50);
	CHECK_EQ_INT(f.master_down_due_ms, t + 300 + 1805);
	CHECK(f.master_known);
	CHECK(ipaddr_equal(&f.master_addr, &peer));
	CHECK_EQ_INT(f.master_priority, 101);
	CHECK_EQ_INT(f.split_brain, 0);	/* yielding is no split brain */
	CHECK_EQ_INT(f.transitions, 3);
}

TEST(test_master_equal_priority_address_tiebreak_v4)
{
	struct vrrp_fsm f;
	struct ipaddr smaller = ip("192.0.2.9");
	struct ipaddr greater = ip("192.0.2.200");	/* 200 > 10 only as an unsigned byte */
	struct ipaddr greater_but_lower = ip("192.0.2.201");
	uint64_t t = make_master(&f, 100);	/* primary 192.0.2.10 */

	/* The first discard answers at once and announces again; the next,
	 * in the same episode, changes nothing. */
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &smaller, t + 100),
		     VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 99, 100), &greater_but_lower, t + 200), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.adver_due_ms, t + 1100);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &greater, t + 300), ACT_YIELD);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK(ipaddr_equal(&f.master_addr, &greater));
	/* within Master_Down_Interval of our takeover: the election settling */
	CHECK_EQ_INT(f.split_brain, 0);
}

TEST(test_master_equal_priority_address_tiebreak_v6)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, 100, 100, "2001:db8::10");
	struct ipaddr smaller = ip("2001:db8::f");
	struct ipaddr greater = ip("2001:db8::1:0");

	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	vrrp_fsm_timeout(&f, T0 + 3610);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &smaller, T0 + 4000),
		     VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &greater, T0 + 4100), ACT_YIELD);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
}

/* A master that keeps advertising on time until now, then hears a. */
static unsigned receive_advertising(struct vrrp_fsm *f, const struct vrrp_advert *a, const struct ipaddr *src,
				    uint64_t now)
{
	while (f->state == VRRP_STATE_MASTER && f->adver_due_ms && f->adver_due_ms <= now)
		vrrp_fsm_timeout(f, f->adver_due_ms);
	return vrrp_fsm_receive(f, a, src, now);
}

TEST(test_split_brain_counted)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t = make_master(&f, 200) + 3219;	/* master for one Master_Down_Interval */

	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 100 * (uint64_t)i),
			     i == 0 ? VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE : 0);
	receive_advertising(&f, advert(3, VRRP_PRIO_STOP, 100), &peer, t + 500);
	CHECK_EQ_INT(f.split_brain, 3);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.transitions, 2);
}

/* How late a master's adverts went out and how long a backup waited for
 * one: they tell a late engine from a late network. */
TEST(test_advert_timeliness)
{
	struct vrrp_fsm m, b;
	struct ipaddr master = ip("192.0.2.20");
	uint64_t t = make_master(&m, 200), due = m.adver_due_ms;

	CHECK_EQ_INT(vrrp_fsm_timeout(&m, due + 7), VRRP_ACT_SEND_ADVERT);
	CHECK_EQ_INT(m.advert_late_max_ms, 7);
	CHECK_EQ_INT(m.adverts_late, 0);
	due = m.adver_due_ms;
	CHECK_EQ_INT(vrrp_fsm_timeout(&m, due + 501), VRRP_ACT_SEND_ADVERT);	/* over half of 1 s */
	CHECK_EQ_INT(m.advert_late_max_ms, 501);
	CHECK_EQ_INT(m.adverts_late, 1);
	(void)t;

	start_v3(&b, 100);
	vrrp_fsm_receive(&b, advert(3, 200, 100), &master, T0 + 100);
	vrrp_fsm_receive(&b, advert(3, 200, 100), &master, T0 + 1100);
	vrrp_fsm_receive(&b, advert(3, 200, 100), &master, T0 + 2600);
	vrrp_fsm_receive(&b, advert(3, 200, 100), &master, T0 + 3600);
	CHECK_EQ_INT(b.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(b.advert_gap_max_ms, 1500);
}

/* A split brain healed (a cut link back): the other master took the VIPs
 * and announced them; ours must be announced again, once per episode,
 * an episode being adverts with less than Master_Down_Interval between
 * them (priority 200 at 1 s: 3.219 s). */
TEST(test_split_brain_reannounces_once_per_episode)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t = make_master(&f, 200);
	const unsigned again = VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE;

	CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 10), again);
	CHECK_EQ_INT(f.adver_due_ms, t + 1010);	/* the advert went now */
	for (uint64_t i = 1; i <= 5; i++)
		CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 10 + 1000 * i), 0);
	/* quiet for less than Master_Down: the same episode */
	CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 5010 + 3100), 0);
	/* quiet for longer: a new one */
	CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 8110 + 3300), again);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	/* counted from one Master_Down_Interval after our takeover (t + 3219):
	 * those of t + 4010, 5010, 8110 and 11410 */
	CHECK_EQ_INT(f.split_brain, 4);
}

/* Adverts from a master that should yield, just after our takeover, are
 * the election settling (the master we preempted, adverts that crossed):
 * announced again, since the other may have announced after us, but not
 * counted as a split brain. */
TEST(test_other_master_during_election_not_counted)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t = make_master(&f, 200);

	CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 1),
		     VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE);
	CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 3218), 0);
	CHECK_EQ_INT(f.split_brain, 0);
	CHECK_EQ_INT(receive_advertising(&f, advert(3, 100, 100), &peer, t + 3219), 0);
	CHECK_EQ_INT(f.split_brain, 1);
}

/* The master stalled (its adverts two intervals overdue) and hears a lower
 * master: the backup took over meanwhile and holds the connections made
 * since. We follow it quietly, learn them as a backup, and preempt after
 * Master_Down (1 s interval, priority 200: 3.219 s), as on a restart. A
 * master on time, hearing the same, keeps the VIPs (the split-brain rule). */
TEST(test_stalled_master_follows_the_takeover)
{
	struct vrrp_fsm f, g;
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t = make_master(&f, 200), due = f.adver_due_ms, now = due + 2500;

	/* on time (advertising until now), the split-brain rule holds */
	g = f;
	CHECK_EQ_INT(receive_advertising(&g, advert(3, 100, 100), &peer, now), VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE);
	CHECK_EQ_INT(g.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, now), ACT_STEP_DOWN);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.stalled_yields, 1);
	CHECK(f.master_known);
	CHECK_EQ_INT(f.master_down_due_ms, now + 3219);
	/* its lower adverts go on: discarded, the timer runs on */
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, now + 1000), 0);
	CHECK_EQ_INT(f.master_down_due_ms, now + 3219);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, now + 3219), ACT_TAKEOVER);
	(void)t;
}

/* ---- fault, shutdown, tracking, sync groups ---- */

TEST(test_fault_from_master_and_recovery)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");
	uint64_t t = make_master(&f, 100);

	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, true, t + 100), ACT_STOP);
	CHECK_EQ_INT(f.state, VRRP_STATE_FAULT);
	CHECK_EQ_INT(f.prev_state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 0);
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, true, t + 200), 0);

	/* Fault neither listens nor times out. */
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 200, 100), &peer, t + 300), 0);
	CHECK(!f.master_known);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, t + 100000), 0);
	CHECK_EQ_INT(vrrp_fsm_startup(&f, t + 400), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_FAULT);

	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, false, 20000), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, 20000 + 3610);
	CHECK_EQ_INT(f.started_ms, 20000);
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, false, 20001), 0);

	/* From Backup: no VIPs to remove, no stop to send. */
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, true, 21000), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_FAULT);
	CHECK_EQ_INT(f.master_down_due_ms, 0);
}

TEST(test_fault_recovery_owner_and_preempt_delay)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, VRRP_PRIO_OWNER, 100, "192.0.2.10");
	struct ipaddr peer = ip("192.0.2.2");

	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, true, 2000), ACT_STOP);
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, false, 3000), ACT_TAKEOVER);
	CHECK_EQ_INT(f.adver_due_ms, 4000);
	CHECK_EQ_INT(f.became_master, 2);

	/* Recovery restarts the preempt delay. */
	c = conf_of(3, 150, 100, "192.0.2.10");
	c.preempt_delay_ms = 5000;
	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, T0);
	vrrp_fsm_set_fault(&f, true, 30000);
	vrrp_fsm_set_fault(&f, false, 40000);
	vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, 44999);
	CHECK_EQ_INT(f.preempted_lower, 0);
	CHECK(f.master_known);
	vrrp_fsm_receive(&f, advert(3, 100, 100), &peer, 45000);
	CHECK_EQ_INT(f.preempted_lower, 1);
}

TEST(test_fault_before_startup)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, 100, 100, "192.0.2.10");

	/* A link found down before start-up must keep us out of Master. */
	vrrp_fsm_init(&f, &c);
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, true, T0), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(vrrp_fsm_startup(&f, T0), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_FAULT);
	CHECK_EQ_INT(vrrp_fsm_set_fault(&f, false, 5000), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, 5000 + 3610);
}

TEST(test_shutdown)
{
	struct vrrp_fsm f;
	uint64_t t = make_master(&f, 100);

	CHECK_EQ_INT(vrrp_fsm_shutdown(&f, t + 10), ACT_STOP);
	CHECK_EQ_INT(f.state, VRRP_STATE_INIT);
	CHECK_EQ_INT(f.prev_state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 0);
	CHECK_EQ_INT(f.transitions, 3);
	CHECK_EQ_INT(vrrp_fsm_shutdown(&f, t + 20), 0);

	/* Init ignores adverts; a restart is a fresh start-up. */
	struct ipaddr peer = ip("192.0.2.2");
	CHECK_EQ_INT(vrrp_fsm_receive(&f, advert(3, 200, 100), &peer, t + 30), 0);
	CHECK(!f.master_known);
	CHECK_EQ_INT(vrrp_fsm_startup(&f, 50000), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.master_down_due_ms, 50000 + 3610);

	CHECK_EQ_INT(vrrp_fsm_shutdown(&f, 50100), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_INIT);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 0);

	vrrp_fsm_set_fault(&f, true, 50200);
	CHECK_EQ_INT(vrrp_fsm_shutdown(&f, 50300), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_INIT);
}

TEST(test_set_priority)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");

	start_v3(&f, 100);
	vrrp_fsm_receive(&f, advert(3, 150, 100), &peer, 2000);
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 3610);

	/* Backup: the deadline stays; the next lower advert is preempted. */
	CHECK_EQ_INT(vrrp_fsm_set_priority(&f, 200, 2100), 0);
	CHECK_EQ_INT(f.priority, 200);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 3610);
	vrrp_fsm_receive(&f, advert(3, 150, 100), &peer, 3000);
	CHECK_EQ_INT(f.preempted_lower, 1);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, 2000 + 3610), ACT_TAKEOVER);

	/* Master: nothing but the priority of the next advert. */
	CHECK_EQ_INT(vrrp_fsm_set_priority(&f, 90, 6000), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.adver_due_ms, 2000 + 3610 + 1000);

	/* The skew uses the effective priority: 56 * 1000 / 256 = 218.75 ms. */
	start_v3(&f, 100);
	vrrp_fsm_set_priority(&f, 200, 1500);
	vrrp_fsm_receive(&f, advert(3, 250, 100), &peer, 2000);
	CHECK_EQ_INT(f.master_down_due_ms, 2000 + 3219);

	/* 0 would be a stop, 255 ownership */
	vrrp_fsm_set_priority(&f, 0, 2100);
	CHECK_EQ_INT(f.priority, 1);
	vrrp_fsm_set_priority(&f, 255, 2200);
	CHECK_EQ_INT(f.priority, 254);
	CHECK_EQ_INT(f.transitions, 1);
}

TEST(test_force)
{
	struct vrrp_fsm f;

	start_v3(&f, 100);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_BACKUP, 1500), 0);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_MASTER, 2000), ACT_TAKEOVER);
	CHECK_EQ_INT(f.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(f.adver_due_ms, 3000);
	CHECK_EQ_INT(f.master_down_due_ms, 0);
	CHECK_EQ_INT(f.became_master, 1);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_MASTER, 2100), 0);

	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_BACKUP, 2500), ACT_STEP_DOWN);
	CHECK_EQ_INT(f.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(f.adver_due_ms, 0);
	CHECK_EQ_INT(f.master_down_due_ms, 2500 + 3610);

	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_FAULT, 2600), VRRP_ACT_STATE_CHANGED);
	CHECK_EQ_INT(f.state, VRRP_STATE_FAULT);
	/* the group cannot pull a faulty member into Backup or Master */
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_MASTER, 2700), 0);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_BACKUP, 2700), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_FAULT);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_FAULT, 2800), 0);

	make_master(&f, 100);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_FAULT, 9000), ACT_STOP);
	CHECK_EQ_INT(f.transitions, 3);

	/* not started: nothing to force */
	struct vrrp_fsm_conf c = conf_of(3, 100, 100, "192.0.2.10");
	vrrp_fsm_init(&f, &c);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_MASTER, 100), 0);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_BACKUP, 100), 0);
	CHECK_EQ_INT(f.state, VRRP_STATE_INIT);
}

TEST(test_startup_at_time_zero)
{
	struct vrrp_fsm f;
	struct vrrp_fsm_conf c = conf_of(3, VRRP_PRIO_OWNER, 100, "192.0.2.10");

	/* Deadlines computed from time 0 are armed like any other. */
	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, 0);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 1000);
	c.priority = 100;
	vrrp_fsm_init(&f, &c);
	vrrp_fsm_startup(&f, 0);
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 3610);
}

TEST(test_learned_interval_is_forgotten)
{
	struct vrrp_fsm f;
	struct ipaddr peer = ip("192.0.2.2");

	/* Start-up, fault recovery and mastership reset Master_Adver_Interval
	 * to our own Advertisement_Interval (100 cs here). */
	start_v3(&f, 100);
	vrrp_fsm_receive(&f, advert(3, 200, 50), &peer, 2000);
	CHECK_EQ_INT(f.master_interval_cs, 50);
	vrrp_fsm_set_fault(&f, true, 2100);
	vrrp_fsm_set_fault(&f, false, 3000);
	CHECK_EQ_INT(f.master_interval_cs, 100);
	CHECK_EQ_INT(f.master_down_due_ms, 3000 + 3610);

	vrrp_fsm_receive(&f, advert(3, 200, 50), &peer, 4000);
	vrrp_fsm_receive(&f, advert(3, VRRP_PRIO_STOP, 50), &peer, 4100);
	CHECK_EQ_INT(vrrp_fsm_timeout(&f, 4100 + 305), ACT_TAKEOVER);
	CHECK_EQ_INT(f.master_interval_cs, 100);
	CHECK_EQ_INT(vrrp_fsm_force(&f, VRRP_STATE_BACKUP, 5000), ACT_STEP_DOWN);
	CHECK_EQ_INT(f.master_down_due_ms, 5000 + 3610);
}

TEST(test_next_due_is_earliest)
{
	struct vrrp_fsm f;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 0);
	f.adver_due_ms = 5000;
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 5000);
	f.master_down_due_ms = 3000;
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 3000);
	f.adver_due_ms = 0;
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 3000);
	f.adver_due_ms = 2000;
	CHECK_EQ_INT(vrrp_fsm_next_due(&f), 2000);
}

/* ---- two routers on a simulated wire ---- */

#define SIM_ROUTERS 2
#define SIM_WIRE_MAX 32
#define SIM_LATENCY_MS 1	/* lets both routers time out in the same ms */

struct sim_router {
	struct vrrp_fsm fsm;
	bool alive;		/* false: crashed, neither sends nor hears */
	uint64_t master_since;	/* the instant of its last BECOME_MASTER */
	int reannounced;	/* REANNOUNCE performed as master */
};

struct sim_packet {
	uint64_t arrival_ms;
	int from;
	uint8_t priority;
};

struct sim {
	struct sim_router r[SIM_ROUTERS];
	struct sim_packet wire[SIM_WIRE_MAX];
	int nwire;
	bool cut;		/* the link between the routers: adverts are lost */
	uint64_t now_ms;
};

static void sim_send(struct sim *s, int from, uint8_t priority)
{
	if (s->cut)
		return;
	if (s->nwire == SIM_WIRE_MAX) {
		CHECK(!"wire overflow");
		return;
	}
	s->wire[s->nwire++] = (struct sim_packet){ s->now_ms + SIM_LATENCY_MS, from, priority };
}

static void sim_perform(struct sim *s, int i, unsigned act)
{
	struct sim_router *r = &s->r[i];

	if (act & VRRP_ACT_SEND_STOP)
		sim_send(s, i, VRRP_PRIO_STOP);
	if (act & VRRP_ACT_BECOME_MASTER)
		r->master_since = s->now_ms;
	if (act & VRRP_ACT_SEND_ADVERT)
		sim_send(s, i, r->fsm.priority);
	if ((act & VRRP_ACT_REANNOUNCE) && r->fsm.state == VRRP_STATE_MASTER)
		r->reannounced++;
}

static void sim_deliver(struct sim *s, const struct sim_packet *p)
{
	const struct vrrp_fsm *sender = &s->r[p->from].fsm;

	for (int i = 0; i < SIM_ROUTERS; i++) {
		if (i == p->from || !s->r[i].alive)
			continue;
		const struct vrrp_advert *a = advert(3, p->priority, sender->conf.interval_cs);
		sim_perform(s, i, vrrp_fsm_receive(&s->r[i].fsm, a, &sender->conf.primary, s->now_ms));
	}
}

static void sim_deliver_arrived(struct sim *s)
{
	int k = 0;

	while (k < s->nwire) {
		if (s->wire[k].arrival_ms > s->now_ms) {
			k++;
			continue;
		}
		struct sim_packet p = s->wire[k];
		memmove(&s->wire[k], &s->wire[k + 1], (size_t)(s->nwire - k - 1) * sizeof(p));
		s->nwire--;
		sim_deliver(s, &p);
	}
}

static uint64_t sim_next_event(const struct sim *s)
{
	uint64_t next = UINT64_MAX;

	for (int k = 0; k < s->nwire; k++)
		if (s->wire[k].arrival_ms < next)
			next = s->wire[k].arrival_ms;
	for (int i = 0; i < SIM_ROUTERS; i++) {
		uint64_t due = vrrp_fsm_next_due(&s->r[i].fsm);

		if (s->r[i].alive && due != 0 && due < next)
			next = due;
	}
	return next;
}

/* Packets first, then timers, at each instant something happens. */
static void sim_run_until(struct sim *s, uint64_t end_ms)
{
	for (int steps = 0; steps < 100000; steps++) {
		uint64_t t = sim_next_event(s);

		if (t > end_ms)
			break;
		s->now_ms = t;
		sim_deliver_arrived(s);
		for (int i = 0; i < SIM_ROUTERS; i++) {
			uint64_t due = vrrp_fsm_next_due(&s->r[i].fsm);

			if (s->r[i].alive && due != 0 && due <= t)
				sim_perform(s, i, vrrp_fsm_timeout(&s->r[i].fsm, t));
		}
	}
	s->now_ms = end_ms;
}

static void sim_start(struct sim *s, uint8_t prio_a, const char *addr_a, uint8_t prio_b, const char *addr_b)
{
	struct vrrp_fsm_conf a = conf_of(3, prio_a, 100, addr_a);
	struct vrrp_fsm_conf b = conf_of(3, prio_b, 100, addr_b);

	memset(s, 0, sizeof(*s));
	vrrp_fsm_init(&s->r[0].fsm, &a);
	vrrp_fsm_init(&s->r[1].fsm, &b);
	for (int i = 0; i < SIM_ROUTERS; i++) {
		s->r[i].alive = true;
		sim_perform(s, i, vrrp_fsm_startup(&s->r[i].fsm, s->now_ms));
	}
}

static int sim_masters(const struct sim *s)
{
	int n = 0;

	for (int i = 0; i < SIM_ROUTERS; i++)
		if (s->r[i].alive && s->r[i].fsm.state == VRRP_STATE_MASTER)
			n++;
	return n;
}

TEST(test_sim_converges_and_fails_over_on_shutdown)
{
	static struct sim s;
	struct vrrp_fsm *a = &s.r[0].fsm, *b = &s.r[1].fsm;

	sim_start(&s, 150, "192.0.2.1", 100, "192.0.2.2");
	sim_run_until(&s, 10000);
	CHECK_EQ_INT(sim_masters(&s), 1);
	CHECK_EQ_INT(a->state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(b->state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(s.r[0].master_since, 3415);	/* A's Master_Down_Interval */
	CHECK_EQ_INT(b->became_master, 0);
	CHECK_EQ_INT(b->master_priority, 150);
	CHECK(ipaddr_equal(&b->master_addr, &a->conf.primary));
	CHECK_EQ_INT(a->split_brain + b->split_brain, 0);

	/* A leaves cleanly: B takes over one Skew_Time after the stop lands. */
	s.now_ms = 10000;
	unsigned act = vrrp_fsm_shutdown(a, s.now_ms);
	CHECK_EQ_INT(act, ACT_STOP);
	sim_perform(&s, 0, act);
	sim_run_until(&s, 20000);
	CHECK_EQ_INT(sim_masters(&s), 1);
	CHECK_EQ_INT(b->state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(s.r[1].master_since, 10000 + SIM_LATENCY_MS + vrrp_skew_ms(3, 100, 100));
	CHECK_EQ_INT(s.r[1].master_since, 10611);
	CHECK_EQ_INT(b->prio0_received, 1);

	/* A comes back with preempt: it discards B's adverts and takes over
	 * at its own Master_Down_Interval; B yields to the higher priority. */
	s.now_ms = 20000;
	sim_perform(&s, 0, vrrp_fsm_startup(a, s.now_ms));
	sim_run_until(&s, 30000);
	CHECK_EQ_INT(sim_masters(&s), 1);
	CHECK_EQ_INT(a->state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(s.r[0].master_since, 20000 + 3415);
	CHECK_EQ_INT(a->preempted_lower, 3);	/* B's adverts of 20611, 21611, 22611 */
	CHECK_EQ_INT(b->state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(b->split_brain, 0);	/* B yielded: an ordinary preemption */
	CHECK_EQ_INT(a->split_brain, 0);	/* B's last advert came during the election */
	/* B's last advert (23416) reached A at 23417, which answered at once:
	 * A's adverts run from there. */
	CHECK_EQ_INT(b->last_advert_ms, 29418);
}

TEST(test_sim_hard_failure)
{
	static struct sim s;
	struct vrrp_fsm *b = &s.r[1].fsm;

	sim_start(&s, 150, "192.0.2.1", 100, "192.0.2.2");
	sim_run_until(&s, 10000);
	CHECK_EQ_INT(b->last_advert_ms, 9416);	/* A sent at 9415 */

	/* A dies silently: B waits one full Master_Down_Interval. */
	s.r[0].alive = false;
	sim_run_until(&s, 20000);
	CHECK_EQ_INT(b->state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(s.r[1].master_since, 9416 + vrrp_master_down_ms(3, 100, 100));
	CHECK_EQ_INT(s.r[1].master_since, 13026);
	CHECK_EQ_INT(b->became_master, 1);
	CHECK_EQ_INT(b->transitions, 2);
}

TEST(test_sim_equal_priority_higher_address_wins)
{
	static struct sim s;
	struct vrrp_fsm *a = &s.r[0].fsm, *b = &s.r[1].fsm;

	/* Both time out at 3610 and both become master; the adverts cross on
	 * the wire and the lower address yields. */
	sim_start(&s, 100, "192.0.2.1", 100, "192.0.2.2");
	sim_run_until(&s, 3610);
	CHECK_EQ_INT(sim_masters(&s), 2);
	sim_run_until(&s, 3611);
	CHECK_EQ_INT(sim_masters(&s), 1);
	CHECK_EQ_INT(a->state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(b->state, VRRP_STATE_MASTER);
	/* the adverts crossing are the election, no split brain */
	CHECK_EQ_INT(a->split_brain + b->split_brain, 0);

	sim_run_until(&s, 60000);
	CHECK_EQ_INT(sim_masters(&s), 1);
	CHECK_EQ_INT(b->state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(a->transitions, 3);
	CHECK_EQ_INT(b->transitions, 2);
	CHECK_EQ_INT(a->split_brain + b->split_brain, 0);
	CHECK(ipaddr_equal(&a->master_addr, &b->conf.primary));
}

/* A cut link heals. Whichever master hears the other first, the winner
 * announces the VIPs again, or the hosts that the loser's announcements
 * reached go on sending to the loser. Healed at 20100, the loser hears the
 * winner first (A's advert of 20415, B's next due at 21026): only the
 * loser's last advert can tell the winner. */
static void sim_heal(uint64_t heal_ms, int a_split_brain)
{
	static struct sim s;
	struct vrrp_fsm *a = &s.r[0].fsm, *b = &s.r[1].fsm;

	sim_start(&s, 150, "192.0.2.1", 100, "192.0.2.2");
	sim_run_until(&s, 10000);
	s.cut = true;
	sim_run_until(&s, heal_ms);
	CHECK_EQ_INT(sim_masters(&s), 2);
	CHECK_EQ_INT(s.r[0].reannounced, 0);
	s.cut = false;
	sim_run_until(&s, heal_ms + 5000);
	CHECK_EQ_INT(sim_masters(&s), 1);
	CHECK_EQ_INT(a->state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(s.r[0].reannounced, 1);
	CHECK_EQ_INT(s.r[1].reannounced, 0);
	CHECK_EQ_INT(a->split_brain, a_split_brain);
	CHECK_EQ_INT(b->split_brain, 0);
	CHECK_EQ_INT(b->state, VRRP_STATE_BACKUP);
}

TEST(test_sim_heal_loser_hears_first)
{
	sim_heal(20100, 1);	/* B's last advert, 20416: one, counted */
}

TEST(test_sim_heal_winner_hears_first)
{
	/* B's advert of 20026, then B's last one (20028), the same episode:
	 * two counted, one announcement */
	sim_heal(20000, 2);
}

TEST_MAIN(
	T(test_timing_v3),
	T(test_timing_v2),
	T(test_state_names),
	T(test_init),
	T(test_startup_owner),
	T(test_backup_takes_over_exactly_at_master_down),
	T(test_backup_v2_takes_over_at_master_down),
	T(test_late_timeout), T(test_stalled_backup_waits_for_the_advert),
	T(test_backup_accepts_and_learns_interval_v3),
	T(test_backup_v2_keeps_own_interval),
	T(test_backup_accepts_equal_priority),
	T(test_preempt_discards_lower_and_takes_over_at_timer),
	T(test_nopreempt_follows_lower_master),
	T(test_preempt_delay),
	T(test_backup_prio0_takes_over_after_skew),
	T(test_master_prio0_sends_advert_at_once),
	T(test_master_yields_to_higher_priority),
	T(test_master_equal_priority_address_tiebreak_v4),
	T(test_master_equal_priority_address_tiebreak_v6),
	T(test_split_brain_counted), T(test_stalled_master_follows_the_takeover), T(test_split_brain_reannounces_once_per_episode),
	T(test_other_master_during_election_not_counted), T(test_advert_timeliness),
	T(test_fault_from_master_and_recovery),
	T(test_fault_recovery_owner_and_preempt_delay),
	T(test_fault_before_startup),
	T(test_shutdown),
	T(test_set_priority),
	T(test_force),
	T(test_startup_at_time_zero),
	T(test_learned_interval_is_forgotten),
	T(test_next_due_is_earliest),
	T(test_sim_converges_and_fails_over_on_shutdown),
	T(test_sim_hard_failure),
	T(test_sim_equal_priority_higher_address_wins),
	T(test_sim_heal_loser_hears_first),
	T(test_sim_heal_winner_hears_first),
)
