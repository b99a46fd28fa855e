/* The state machine of one VRRP instance: RFC 5798 section 6.4 (RFC 3768
 * section 6 for version 2), plus the nopreempt and preempt_delay extensions
 * as keepalived implements them. Pure logic over the caller's clock: every
 * event takes the current time and returns the actions to perform.
 *
 * Timers are absolute deadlines in ms; 0 means "not armed". Only one is
 * armed at a time: the Adver_Timer in Master, the Master_Down_Timer in
 * Backup, none in Init or Fault. The master_* fields describe a remote
 * master that a Backup follows; they are cleared whenever there is none
 * to follow (we are master, stopped, faulty, or it sent priority 0).
 *
 * Rounding: the RFC timings are fractions of a millisecond (Skew_Time for
 * priority 100 and a 1 s interval is 609.375 ms). They are computed exactly
 * in rational arithmetic and rounded up to the next whole ms, so no timer
 * ever fires before the RFC instant and none fires more than 1 ms after. */
#include <string.h>
#include <sys/socket.h>

#include "vrrp.h"

#define MS_PER_CS	10ULL
#define MS_PER_S	1000ULL
#define SKEW_DIVISOR	256ULL

static const char *const state_names[] = {
	[VRRP_STATE_INIT] = "INIT",
	[VRRP_STATE_BACKUP] = "BACKUP",
	[VRRP_STATE_MASTER] = "MASTER",
	[VRRP_STATE_FAULT] = "FAULT",
};

const char *vrrp_state_name(enum vrrp_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "UNKNOWN";
	return state_names[s];
}

/* ---- timing ---- */

static uint64_t div_round_up(uint64_t n, uint64_t d)
{
	return (n + d - 1) / d;
}

uint64_t vrrp_skew_ms(int version, uint8_t priority, uint16_t interval_cs)
{
	uint64_t weight = SKEW_DIVISOR - priority;

	/* v2 skews by a fraction of one second whatever the interval. */
	if (version == 2)
		return div_round_up(weight * MS_PER_S, SKEW_DIVISOR);
	return div_round_up(weight * interval_cs * MS_PER_CS, SKEW_DIVISOR);
}

uint64_t vrrp_master_down_ms(int version, uint8_t priority, uint16_t interval_cs)
{
	/* 3 * interval is a whole number of ms: rounding the skew alone
	 * rounds the sum. */
	return 3 * interval_cs * MS_PER_CS + vrrp_skew_ms(version, priority, interval_cs);
}

/* An absolute deadline that can never read as "not armed". */
static uint64_t deadline(uint64_t now_ms, uint64_t delay_ms)
{
	uint64_t due = now_ms + delay_ms;

	return due ? due : 1;
}

static bool is_due(uint64_t due_ms, uint64_t now_ms)
{
	return due_ms != 0 && due_ms <= now_ms;
}

static uint64_t adver_interval_ms(const struct vrrp_fsm *f)
{
	return f->conf.interval_cs * MS_PER_CS;
}

static void arm_adver_timer(struct vrrp_fsm *f, uint64_t now_ms)
{
	f->adver_due_ms = deadline(now_ms, adver_interval_ms(f));
}

static void arm_master_down(struct vrrp_fsm *f, uint64_t now_ms)
{
	f->master_down_due_ms = deadline(now_ms,
		vrrp_master_down_ms(f->conf.version, f->priority, f->master_interval_cs));
}

/* ---- transitions ---- */

static bool is_owner(const struct vrrp_fsm *f)
{
	return f->conf.priority == VRRP_PRIO_OWNER;
}

static void forget_master(struct vrrp_fsm *f)
{
	f->master_known = false;
	memset(&f->master_addr, 0, sizeof(f->master_addr));
	f->master_priority = 0;
}

/* Every state change goes through here: counters, and no timer survives
 * into a state that does not own it. */
static unsigned enter_state(struct vrrp_fsm *f, enum vrrp_state to)
{
	f->prev_state = f->state;
	f->state = to;
	f->transitions++;
	if (to == VRRP_STATE_MASTER)
		f->became_master++;
	f->adver_due_ms = 0;
	f->master_down_due_ms = 0;
	return VRRP_ACT_STATE_CHANGED;
}

static unsigned become_master(struct vrrp_fsm *f, uint64_t now_ms)
{
	unsigned act = enter_state(f, VRRP_STATE_MASTER);

	f->takeover_silence_ms = f->master_known ? now_ms - f->last_advert_ms : 0;
	forget_master(f);
	f->master_since_ms = now_ms;
	f->other_master_seen = false;
	f->master_interval_cs = f->conf.interval_cs;	/* the master is us */
	arm_adver_timer(f, now_ms);
	return VRRP_ACT_BECOME_MASTER | VRRP_ACT_SEND_ADVERT | act;
}

/* Enter Backup and wait a full Master_Down_Interval at the interval in
 * master_interval_cs (set by the caller: ours, or the new master's). */
static unsigned become_backup(struct vrrp_fsm *f, uint64_t now_ms)
{
	unsigned act = 0;

	if (f->state == VRRP_STATE_MASTER)
		act |= VRRP_ACT_LEAVE_MASTER;
	act |= enter_state(f, VRRP_STATE_BACKUP);
	arm_master_down(f, now_ms);
	return act;
}

/* Leaving a master role for Init or Fault: tell the backups with priority
 * 0 so they take over after Skew_Time instead of Master_Down_Interval. */
static unsigned stop(struct vrrp_fsm *f, enum vrrp_state to)
{
	unsigned act = 0;

	if (f->state == VRRP_STATE_MASTER)
		act |= VRRP_ACT_LEAVE_MASTER | VRRP_ACT_SEND_STOP;
	forget_master(f);
	return act | enter_state(f, to);
}

/* Startup proper, also used when a fault clears: the owner takes over at
 * once, anyone else listens for a master first. Restarting the preempt
 * delay on fault recovery gives a router that just got its link back the
 * same settling time as one that just booted. */
static unsigned start(struct vrrp_fsm *f, uint64_t now_ms)
{
	f->started_ms = now_ms;
	f->master_interval_cs = f->conf.interval_cs;
	if (is_owner(f))
		return become_master(f, now_ms);
	return become_backup(f, now_ms);
}

/* ---- receiving ---- */

/* Unsigned byte order of network-order addresses, as the RFC wants. */
static bool addr_greater(const struct ipaddr *a, const struct ipaddr *b)
{
	size_t len;

	if (a->family != b->family)
		return false;
	len = a->family == AF_INET6 ? sizeof(a->u.v6) : sizeof(a->u.v4);
	return memcmp(a->u.bytes, b->u.bytes, len) > 0;
}

/* Within preempt_delay_ms of start-up we behave as nopreempt. */
static bool may_preempt(const struct vrrp_fsm *f, uint64_t now_ms)
{
	if (!f->conf.preempt)
		return false;
	return now_ms >= f->started_ms && now_ms - f->started_ms >= f->conf.preempt_delay_ms;
}

static void follow_master(struct vrrp_fsm *f, const struct vrrp_advert *a,
			  const struct ipaddr *src, uint64_t now_ms)
{
	/* v2 intervals must match ours (the caller drops the others);
	 * v3 backups adopt the master's. An interval of 0 cannot time
	 * anything, so it teaches nothing. */
	if (f->conf.version == 3 && a->interval_cs != 0)
		f->master_interval_cs = a->interval_cs;
	if (f->master_known && ipaddr_equal(&f->master_addr, src) && now_ms - f->last_advert_ms > f->advert_gap_max_ms)
		f->advert_gap_max_ms = now_ms - f->last_advert_ms;
	f->master_known = true;
	f->master_addr = *src;
	f->master_priority = a->priority;
	f->last_advert_ms = now_ms;
}

static unsigned backup_receive(struct vrrp_fsm *f, const struct vrrp_advert *a,
			       const struct ipaddr *src, uint64_t now_ms)
{
	if (a->priority == VRRP_PRIO_STOP) {
		f->prio0_received++;
		forget_master(f);
		f->master_down_due_ms = deadline(now_ms,
			vrrp_skew_ms(f->conf.version, f->priority, f->master_interval_cs));
		return 0;
	}
	if (a->priority < f->priority && may_preempt(f, now_ms)) {
		/* Let the Master_Down_Timer run out, then take over. */
		f->preempted_lower++;
		return 0;
	}
	follow_master(f, a, src, now_ms);
	arm_master_down(f, now_ms);
	return 0;
}

/* Leaving Master for a better master. Our last advert, at our own
 * priority, goes out after the VIPs are removed: a winner that was cut
 * off from us (a healed split brain) learns that we held the VIPs and
 * announces them again, which it could not know otherwise if its adverts
 * reached us first. A winner that has just preempted us gets a harmless
 * second announcement. RFC 5798 sends nothing here; keepalived answers
 * such an advert the same way. */
static unsigned yield_master(struct vrrp_fsm *f)
{
	return VRRP_ACT_LEAVE_MASTER | VRRP_ACT_SEND_ADVERT | enter_state(f, VRRP_STATE_BACKUP);
}

/* An advert from another master that should yield to us: it took the VIPs
 * and told the LAN so (a link or the multicast between us was cut), or it
 * is yielding now and says so (yield_master). It stands down on our advert,
 * sent now rather than at the next interval; and the hosts its
 * announcements reached must hear ours again, or they go on sending to it
 * until their ARP or neighbour entries expire. Once an episode: the first
 * such advert after a quiet Master_Down_Interval. Within one
 * Master_Down_Interval of our own takeover it is the election settling
 * (the master we preempted, or adverts that crossed), not a split brain:
 * announced again all the same, since the other may have announced after
 * us, but not counted. */
static unsigned other_master_seen(struct vrrp_fsm *f, uint64_t now_ms)
{
	uint64_t master_down = vrrp_master_down_ms(f->conf.version, f->priority, f->conf.interval_cs);
	bool new_episode = !f->other_master_seen || now_ms - f->other_master_last_ms >= master_down;

	if (now_ms - f->master_since_ms >= master_down)
		f->split_brain++;
	f->other_master_seen = true;
	f->other_master_last_ms = now_ms;
	if (!new_episode)
		return 0;
	arm_adver_timer(f, now_ms);
	return VRRP_ACT_SEND_ADVERT | VRRP_ACT_REANNOUNCE;
}

/* Our advert is overdue by two intervals or more: this process (or the
 * machine) was stalled long enough for a backup's Master_Down to run out,
 * and an advert of a lower master now means it took over meanwhile. */
static bool stalled_past_takeover(const struct vrrp_fsm *f, uint64_t now_ms)
{
	return f->adver_due_ms && now_ms > f->adver_due_ms &&
	       now_ms - f->adver_due_ms >= 2 * adver_interval_ms(f);
}

/* The backup that took over holds the connections made meanwhile, which
 * our IPVS never learnt (our sync daemon stayed master). Taking the VIP
 * straight back would reset them. So we leave Master without a word (an
 * advert of ours would make it yield at once) and follow it; as a backup
 * we learn its connections, and preempt it, as on a restart, when our
 * Master_Down_Interval runs out (backup_receive discards its lower
 * adverts). Without preempt it stays master. */
static unsigned yield_to_takeover(struct vrrp_fsm *f, const struct vrrp_advert *a, const struct ipaddr *src,
				  uint64_t now_ms)
{
	unsigned act = VRRP_ACT_LEAVE_MASTER | enter_state(f, VRRP_STATE_BACKUP);

	f->stalled_yields++;
	follow_master(f, a, src, now_ms);
	arm_master_down(f, now_ms);
	return act;
}

static unsigned master_receive(struct vrrp_fsm *f, const struct vrrp_advert *a,
			       const struct ipaddr *src, uint64_t now_ms)
{
	unsigned act;

	if (a->priority == VRRP_PRIO_STOP) {
		/* Another master is leaving: reassure the backups now,
		 * before their Skew_Time runs out. */
		f->prio0_received++;
		arm_adver_timer(f, now_ms);
		return VRRP_ACT_SEND_ADVERT;
	}
	/* Only masters advertise: two of us exist. The rules below decide
	 * which one stays. Yielding to a better master is an ordinary
	 * preemption; an advert from a master that should yield to us is
	 * the other side of it, or of a split brain. */
	if (a->priority > f->priority ||
	    (a->priority == f->priority && addr_greater(src, &f->conf.primary))) {
		act = yield_master(f);
		follow_master(f, a, src, now_ms);
		arm_master_down(f, now_ms);
		return act;
	}
	if (stalled_past_takeover(f, now_ms))
		return yield_to_takeover(f, a, src, now_ms);
	return other_master_seen(f, now_ms);
}

/* ---- events ---- */

void vrrp_fsm_init(struct vrrp_fsm *f, const struct vrrp_fsm_conf *conf)
{
	memset(f, 0, sizeof(*f));
	f->conf = *conf;
	/* Config validation keeps these in range; never let a bad value
	 * announce a stop (priority 0) or spin the timers (interval 0). */
	if (f->conf.priority == VRRP_PRIO_STOP)
		f->conf.priority = 1;
	if (f->conf.interval_cs == 0)
		f->conf.interval_cs = 1;
	f->state = VRRP_STATE_INIT;
	f->prev_state = VRRP_STATE_INIT;
	f->priority = f->conf.priority;
	f->master_interval_cs = f->conf.interval_cs;
}

/* Only from Init: an instance in Fault waits for vrrp_fsm_set_fault(false). */
unsigned vrrp_fsm_startup(struct vrrp_fsm *f, uint64_t now_ms)
{
	if (f->state != VRRP_STATE_INIT)
		return 0;
	return start(f, now_ms);
}

unsigned vrrp_fsm_shutdown(struct vrrp_fsm *f, uint64_t now_ms)
{
	(void)now_ms;
	if (f->state == VRRP_STATE_INIT)
		return 0;
	return stop(f, VRRP_STATE_INIT);
}

unsigned vrrp_fsm_receive(struct vrrp_fsm *f, const struct vrrp_advert *a, const struct ipaddr *src,
			  uint64_t now_ms)
{
	switch (f->state) {
	case VRRP_STATE_BACKUP:
		return backup_receive(f, a, src, now_ms);
	case VRRP_STATE_MASTER:
		return master_receive(f, a, src, now_ms);
	default:
		return 0;	/* Init and Fault do not listen */
	}
}

static uint64_t master_interval_ms(const struct vrrp_fsm *f)
{
	return f->master_interval_cs * MS_PER_CS;
}

/* A Master_Down timer that runs out well after its deadline ran while
 * this process, or the whole machine, was stalled: adverts that came
 * meanwhile may be unread, or the master, stalled with us, is about to
 * send its next one. Silence we could not watch proves nothing, so the
 * master gets one more of its intervals. A timer on time (within a
 * quarter of the interval, at least 2 ms) takes over as the RFC says. */
static bool stalled_past_master_down(const struct vrrp_fsm *f, uint64_t now_ms)
{
	uint64_t slack = master_interval_ms(f) / 4;

	return now_ms - f->master_down_due_ms > (slack > 2 ? slack : 2);
}

unsigned vrrp_fsm_timeout(struct vrrp_fsm *f, uint64_t now_ms)
{
	unsigned act = 0;

	if (f->state == VRRP_STATE_BACKUP && is_due(f->master_down_due_ms, now_ms)) {
		if (stalled_past_master_down(f, now_ms)) {
			f->master_down_due_ms = deadline(now_ms, master_interval_ms(f));
			f->takeovers_deferred++;
		} else {
			act |= become_master(f, now_ms);
		}
	}
	if (f->state == VRRP_STATE_MASTER && is_due(f->adver_due_ms, now_ms)) {
		uint64_t late = now_ms - f->adver_due_ms;

		if (late > f->advert_late_max_ms)
			f->advert_late_max_ms = late;
		if (late * 2 > (uint64_t)f->conf.interval_cs * 10)
			f->adverts_late++;
		act |= VRRP_ACT_SEND_ADVERT;
		arm_adver_timer(f, now_ms);
	}
	return act;
}

/* Fault is also reachable from Init, so that a link found down before
 * start-up keeps the instance from ever becoming master. */
unsigned vrrp_fsm_set_fault(struct vrrp_fsm *f, bool fault, uint64_t now_ms)
{
	if (fault)
		return f->state == VRRP_STATE_FAULT ? 0 : stop(f, VRRP_STATE_FAULT);
	return f->state == VRRP_STATE_FAULT ? start(f, now_ms) : 0;
}

/* Clamped to 1-254: 0 would read as a stop and 255 as ownership. The
 * timers keep their deadlines; the next advert carries (Master) or the
 * next accepted advert applies (Backup) the new value. */
unsigned vrrp_fsm_set_priority(struct vrrp_fsm *f, uint8_t priority, uint64_t now_ms)
{
	(void)now_ms;
	if (is_owner(f))
		return 0;
	if (priority == VRRP_PRIO_STOP)
		priority = 1;
	else if (priority == VRRP_PRIO_OWNER)
		priority = VRRP_PRIO_OWNER - 1;
	f->priority = priority;
	return 0;
}

/* Sync groups move members between Backup and Master, or all to Fault.
 * Init and Fault members are not pulled out by their group: leaving them
 * is vrrp_fsm_startup's and vrrp_fsm_set_fault's business. */
unsigned vrrp_fsm_force(struct vrrp_fsm *f, enum vrrp_state to, uint64_t now_ms)
{
	if (f->state == to)
		return 0;
	switch (to) {
	case VRRP_STATE_MASTER:
		return f->state == VRRP_STATE_BACKUP ? become_master(f, now_ms) : 0;
	case VRRP_STATE_BACKUP:
		/* Our own interval: a master has learned no other. Silent:
		 * an advert at our priority could preempt the peer's member
		 * that its group has just made master. */
		return f->state == VRRP_STATE_MASTER ? become_backup(f, now_ms) : 0;
	case VRRP_STATE_FAULT:
		return vrrp_fsm_set_fault(f, true, now_ms);
	case VRRP_STATE_INIT:
		return vrrp_fsm_shutdown(f, now_ms);
	}
	return 0;
}

uint64_t vrrp_fsm_next_due(const struct vrrp_fsm *f)
{
	uint64_t adver = f->adver_due_ms, down = f->master_down_due_ms;

	if (adver == 0)
		return down;
	if (down == 0)
		return adver;
	return adver < down ? adver : down;
}
