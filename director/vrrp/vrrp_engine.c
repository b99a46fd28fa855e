/* The VRRP engine: one event loop driving every configured instance.
 * Sockets, the state machine, VIPs, announcements, tracking, sync groups
 * and notifications meet here; nothing in it waits for anything (scripts
 * are child processes watched by the loop). Every kernel call goes
 * through the seam it is given (struct vrrp_kernel_ops, vrrp_net.h), so
 * tests/unit/test_vrrp_engine.c runs this logic without root. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "directord.h"
#include "evloop.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "proctrack.h"
#include "promtext.h"
#include "risefall.h"
#include "rtnl.h"
#include "vrrp.h"
#include "vrrp_net.h"

#define TRACK_FILE_INTERVAL_MS 1000

struct script_track {
	const struct track_script_conf *conf;
	struct vrrp_engine *e;
	struct ev_timer timer;
	pid_t pid;
	struct risefall rf;		/* known, ok (up) after rise/fall */
	uint64_t runs, failures;
	bool taken, planned;		/* during a reload: struct reload_plan */
};

struct vrrp_inst {
	struct vrrp_engine *e;
	const struct vrrp_conf *conf;
	struct vrrp_fsm fsm;
	int family;
	int ifindex;
	struct ipaddr primary;
	struct vrrp_sock *sock;
	int fd;
	bool link_down;			/* own interface */
	bool track_fault;		/* a tracked object says Fault */
	bool group_fault;		/* another member of the sync group is in Fault */
	bool started;
	int open_error;			/* -errno when it could not start */
	bool taken, planned;		/* during a reload: struct reload_plan */
	struct ev_timer fsm_timer;
	struct ev_timer start_timer;
	struct ev_timer garp_timer;
	unsigned garp_rounds;		/* 0: burst pending; 1: repeat pending */
	uint64_t rx, tx, tx_errors;
	uint64_t drops[VRRP_DROP__COUNT];
	int64_t last_change;		/* wall clock */
	struct ratelimit warn_rl;
};

struct group_notified {
	char name[64];
	enum vrrp_state state;
};

struct vrrp_engine {
	struct evloop *loop;
	const struct director_config *cfg;
	const struct vrrp_kernel_ops *kernel;	/* every kernel call goes through it */
	struct rtnl *rtnl;
	struct vrrp_announcer *announcer;
	struct rtnl_watch *watch;
	int watch_fd;
	/* Pointers: timers live inside these structs, and a reload keeps the
	 * unchanged ones where they are. */
	struct vrrp_inst **insts;
	size_t ninsts;
	struct script_track **scripts;
	size_t nscripts;
	struct ev_timer file_timer;
	struct proc_tracker *ptracker;	/* [track_process] */
	int fifo_fd;
	bool propagating;		/* sync-group forcing in progress */
	struct group_notified *groups;	/* last state told, per group name */
	size_t ngroups;
	vrrp_state_cb cb;
	void *cb_arg;
};

static void inst_apply(struct vrrp_inst *in, unsigned actions);
static void inst_read_adverts(struct vrrp_inst *in);

/* ---- helpers ---- */

static int inst_family(const struct vrrp_conf *c)
{
	return c->vips.n ? c->vips.items[0].addr.family : AF_INET;
}

static void arm_fsm_timer(struct vrrp_inst *in)
{
	uint64_t due = vrrp_fsm_next_due(&in->fsm);

	/* Absolute: re-arming from a callback must not add a rounding each
	 * time (the advert period would drift). */
	if (due)
		ev_timer_start_at(in->e->loop, &in->fsm_timer, due);
	else
		ev_timer_stop(in->e->loop, &in->fsm_timer);
}

/* Our address for tie-breaks and as the advert's source: unicast_src_ip,
 * else the first address of the family on the interface that is not a VIP
 * (IPv6: the link-local one, as RFC 5798 requires). */
static bool is_vip(const struct vrrp_conf *c, const struct ipaddr *a)
{
	for (size_t i = 0; i < c->vips.n; i++)
		if (ipaddr_equal(&c->vips.items[i].addr, a))
			return true;
	return false;
}

/* The instance's source address: the first of its family on the
 * interface (for IPv6 its link-local one) that is not a VIP; -EAGAIN when
 * the only one is still in duplicate address detection (the kernel would
 * refuse every advert from it: the instance starts at the address event
 * that ends DAD), -EADDRNOTAVAIL when there is none. */
static int find_primary(struct vrrp_inst *in)
{
	struct rtnl_addrinfo *list;
	size_t n;
	int ret;

	if (in->conf->unicast_src.family) {
		in->primary = in->conf->unicast_src;
		return 0;
	}
	ret = in->e->kernel->addr_list(in->e->rtnl, in->ifindex, &list, &n);
	if (ret < 0)
		return ret;
	ret = -EADDRNOTAVAIL;
	for (size_t i = 0; i < n; i++) {
		const struct ipaddr *a = &list[i].addr;
		bool linklocal = a->family == AF_INET6 && a->u.bytes[0] == 0xfe && (a->u.bytes[1] & 0xc0) == 0x80;

		if (a->family != in->family || is_vip(in->conf, a) || list[i].dadfailed)
			continue;
		if (in->family == AF_INET6 && !linklocal)
			continue;
		if (list[i].tentative) {
			ret = -EAGAIN;
			continue;
		}
		in->primary = *a;
		in->primary.has_prefix = false;
		ret = 0;
		break;
	}
	free(list);
	return ret;
}

/* ---- sending ---- */

static void fill_advert(const struct vrrp_inst *in, struct vrrp_advert *a, uint8_t priority)
{
	const struct vrrp_conf *c = in->conf;

	memset(a, 0, sizeof(*a));
	a->version = (uint8_t)c->version;
	a->vrid = (uint8_t)c->vrid;
	a->priority = priority;
	a->interval_cs = (uint16_t)(c->advert_interval_ms / 10);
	a->family = in->family;
	a->naddrs = (uint8_t)c->vips.n;
	for (size_t i = 0; i < c->vips.n; i++) {
		a->addrs[i] = c->vips.items[i].addr;
		a->addrs[i].has_prefix = false;
	}
	if (c->version == 2 && c->auth_pass) {
		a->auth_type = VRRP_AUTH_SIMPLE;
		memcpy(a->auth, c->auth_pass, strnlen(c->auth_pass, VRRP_V2_AUTH_LEN));
	}
}

struct advert_out {
	const struct vrrp_inst *in;
	const struct vrrp_advert *advert;
};

static int encode_advert_for(const struct ipaddr *dst, uint8_t *buf, size_t size, void *arg)
{
	const struct advert_out *o = arg;

	return vrrp_encode(o->advert, &o->in->primary, dst, o->in->conf->pseudo_header_checksum, buf, size);
}

static void send_advert(struct vrrp_inst *in, uint8_t priority)
{
	static struct vrrp_advert a;	/* 5 KiB: not on the stack */
	struct advert_out out = { in, &a };
	int ret;

	fill_advert(in, &a, priority);
	ret = in->e->kernel->sock_send_each(in->sock, encode_advert_for, &out);
	if (ret < 0) {
		in->tx_errors++;
		if (ratelimit_allow(&in->warn_rl, now_ms()))
			log_warnx("vrrp %s: sending an advert: %s", in->conf->name, strerror(-ret));
	} else {
		in->tx++;
	}
}

/* ---- VIPs and announcements ---- */

static int vip_ifindex(struct vrrp_inst *in, const struct vip_conf *v)
{
	return v->dev[0] ? in->e->kernel->ifindex(in->e->rtnl, v->dev) : in->ifindex;
}

static void vips_add(struct vrrp_inst *in)
{
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < in->conf->vips.n; i++) {
		const struct vip_conf *v = &in->conf->vips.items[i];
		int ifindex = vip_ifindex(in, v), ret;
		struct rtnl_addr_opts opts = {
			.label = v->label[0] ? v->label : NULL,
			.broadcast = v->brd.family ? &v->brd : NULL,
			.scope = v->scope,
			/* deprecated: never the source of our own checks */
			.flags = RTNL_ADDR_NODAD | RTNL_ADDR_DEPRECATED,
		};

		ret = ifindex < 0 ? ifindex : in->e->kernel->addr_add(in->e->rtnl, ifindex, &v->addr, &opts);
		if (ret < 0)
			log_warnx("vrrp %s: adding %s: %s", in->conf->name, ipaddr_ntop(&v->addr, buf, sizeof(buf)),
				  strerror(-ret));
	}
}

static void vips_remove(struct vrrp_inst *in)
{
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < in->conf->vips.n; i++) {
		const struct vip_conf *v = &in->conf->vips.items[i];
		int ifindex = vip_ifindex(in, v), ret;

		ret = ifindex < 0 ? 0 : in->e->kernel->addr_del(in->e->rtnl, ifindex, &v->addr);
		if (ret < 0)
			log_warnx("vrrp %s: removing %s: %s", in->conf->name, ipaddr_ntop(&v->addr, buf, sizeof(buf)),
				  strerror(-ret));
	}
}

static void announce_all(struct vrrp_inst *in)
{
	for (size_t i = 0; i < in->conf->vips.n; i++) {
		const struct vip_conf *v = &in->conf->vips.items[i];
		int ifindex = vip_ifindex(in, v);

		if (ifindex > 0 && in->e->kernel->announce(in->e->announcer, ifindex, &v->addr) < 0)
			in->tx_errors++;
	}
}

/* garp_count announcements at once, the same again after
 * garp_repeat_delay, then one every garp_refresh. */
static void garp_burst(struct vrrp_inst *in)
{
	for (unsigned i = 0; i < in->conf->garp_count; i++)
		announce_all(in);
}

static void garp_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct vrrp_inst *in = arg;

	if (in->fsm.state != VRRP_STATE_MASTER)
		return;
	if (in->garp_rounds == 1) {
		garp_burst(in);
		in->garp_rounds = 2;
	} else {
		announce_all(in);
	}
	if (in->conf->garp_refresh_ms)
		ev_timer_start(loop, t, in->conf->garp_refresh_ms);
}

static void garp_start(struct vrrp_inst *in)
{
	garp_burst(in);
	in->garp_rounds = 1;
	if (in->conf->garp_repeat_delay_ms)
		ev_timer_start(in->e->loop, &in->garp_timer, in->conf->garp_repeat_delay_ms);
	else if (in->conf->garp_refresh_ms)
		ev_timer_start(in->e->loop, &in->garp_timer, in->conf->garp_refresh_ms);
}

/* ---- notifications ---- */

static void child_done(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	const char *what = arg;

	(void)loop;
	if (timed_out)
		log_warnx("%s (pid %d): killed after script_timeout", what, (int)pid);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("%s (pid %d): exit status %d", what, (int)pid,
			  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* script TYPE NAME STATE PRIORITY, keepalived's calling convention; the
 * arguments go through "$@", never through the shell's parser. */
static void run_notify(struct vrrp_engine *e, const char *script, const char *type, const char *name,
		       const char *state, int priority)
{
	char prio[16], cmd[4200];
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	pid_t pid;

	if (!script)
		return;
	snprintf(prio, sizeof(prio), "%d", priority);
	snprintf(cmd, sizeof(cmd), "%s \"$@\"", script);
	{
		char *argv[] = { "/bin/sh", "-c", cmd, "notify", (char *)type, (char *)name, (char *)state, prio, NULL };

		if (spawn_process(argv, &opts, &pid) < 0) {
			log_warnx("notify %s: could not start", script);
			return;
		}
	}
	if (ev_child_watch(e->loop, pid, e->cfg->script_timeout_ms, child_done, "notify script") < 0)
		log_warnx("notify %s: cannot watch pid %d", script, (int)pid);
}

static void run_plain(struct vrrp_engine *e, const char *script)
{
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	pid_t pid;

	if (!script)
		return;
	if (spawn_shell(script, &opts, &pid) < 0) {
		log_warnx("notify %s: could not start", script);
		return;
	}
	if (ev_child_watch(e->loop, pid, e->cfg->script_timeout_ms, child_done, "notify script") < 0)
		log_warnx("notify %s: cannot watch pid %d", script, (int)pid);
}

static void fifo_line(struct vrrp_engine *e, const char *type, const char *name, const char *state, int prio)
{
	char line[256];
	int n;

	if (e->fifo_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s \"%s\" %s %d\n", type, name, state, prio);
	/* Non-blocking: a reader that stalls loses lines, the engine never waits. */
	if (write(e->fifo_fd, line, (size_t)n) < 0 && errno != EAGAIN)
		log_debug("notify fifo: %s", strerror(errno));
}

static const char *state_script(const struct vrrp_conf *c, enum vrrp_state s)
{
	switch (s) {
	case VRRP_STATE_MASTER: return c->notify_master;
	case VRRP_STATE_BACKUP: return c->notify_backup;
	case VRRP_STATE_FAULT: return c->notify_fault;
	default: return c->notify_stop;
	}
}

static const char *group_state_script(const struct sync_group_conf *g, enum vrrp_state s)
{
	switch (s) {
	case VRRP_STATE_MASTER: return g->notify_master;
	case VRRP_STATE_BACKUP: return g->notify_backup;
	case VRRP_STATE_FAULT: return g->notify_fault;
	default: return NULL;
	}
}

/* keepalived's words: leaving (back to Init) is "STOP". */
static const char *notify_state_name(enum vrrp_state s)
{
	return s == VRRP_STATE_INIT ? "STOP" : vrrp_state_name(s);
}

static void notify_instance(struct vrrp_inst *in)
{
	struct vrrp_engine *e = in->e;
	const char *state = notify_state_name(in->fsm.state);
	const char *name = in->conf->name;
	run_notify(e, in->conf->notify, "INSTANCE", name, state, in->fsm.priority);
	run_plain(e, state_script(in->conf, in->fsm.state));
	fifo_line(e, "INSTANCE", name, state, in->fsm.priority);
}

/* ---- sync groups ---- */

static bool same_group(const struct vrrp_inst *a, const struct vrrp_inst *b)
{
	return a != b && a->conf->group && a->conf->group == b->conf->group;
}

/* A group's scripts run when the group changes state, not for each member
 * that follows. Kept by name, so a reload does not repeat them. */
static bool group_state_changes(struct vrrp_engine *e, const char *name, enum vrrp_state to)
{
	struct group_notified *g;

	for (size_t i = 0; i < e->ngroups; i++) {
		if (strcasecmp(e->groups[i].name, name) != 0)
			continue;
		if (e->groups[i].state == to)
			return false;
		e->groups[i].state = to;
		return true;
	}
	g = realloc(e->groups, (e->ngroups + 1) * sizeof(*g));
	if (!g)
		return true;	/* better a repeated notification than none */
	e->groups = g;
	strlcpy_safe(g[e->ngroups].name, name, sizeof(g->name));
	g[e->ngroups++].state = to;
	return true;
}

static bool group_has_master(const struct vrrp_inst *in)
{
	for (size_t i = 0; i < in->e->ninsts; i++)
		if (same_group(in, in->e->insts[i]) && in->e->insts[i]->fsm.state == VRRP_STATE_MASTER)
			return true;
	return false;
}

/* A member (re)started while its group is master joins it at once, so that
 * a reload that changes one member does not take the group down. */
static bool group_joins_master(const struct vrrp_inst *in)
{
	return in->conf->group && !in->e->propagating && in->fsm.state == VRRP_STATE_BACKUP &&
	       in->fsm.prev_state == VRRP_STATE_INIT && group_has_master(in);
}

/* Members move together: one becoming master pulls the others up, a master
 * stepping down (or a member entering Fault) takes the others down. */
static void group_propagate(struct vrrp_inst *in)
{
	struct vrrp_engine *e = in->e;
	enum vrrp_state to = in->fsm.state, from = in->fsm.prev_state;
	uint64_t now = now_ms();

	if (!in->conf->group || e->propagating)
		return;
	e->propagating = true;
	for (size_t i = 0; i < e->ninsts; i++) {
		struct vrrp_inst *o = e->insts[i];

		if (!same_group(in, o))
			continue;
		if (to == VRRP_STATE_FAULT && !o->group_fault) {
			o->group_fault = true;
			inst_apply(o, vrrp_fsm_set_fault(&o->fsm, true, now));
		} else if (to == VRRP_STATE_MASTER && o->fsm.state == VRRP_STATE_BACKUP) {
			inst_apply(o, vrrp_fsm_force(&o->fsm, VRRP_STATE_MASTER, now));
		} else if (to == VRRP_STATE_BACKUP && from == VRRP_STATE_MASTER && o->fsm.state == VRRP_STATE_MASTER) {
			inst_apply(o, vrrp_fsm_force(&o->fsm, VRRP_STATE_BACKUP, now));
		}
	}
	e->propagating = false;
}

/* Followers and a shutdown (every member stopping on its own) come here
 * too; the group tells each change of its state once. */
static void group_notify(struct vrrp_inst *in)
{
	struct vrrp_engine *e = in->e;
	const struct sync_group_conf *g = in->conf->group;
	enum vrrp_state to = in->fsm.state;

	if (!g || !group_state_changes(e, g->name, to))
		return;
	run_notify(e, g->notify, "GROUP", g->name, notify_state_name(to), 0);
	run_plain(e, group_state_script(g, to));
	fifo_line(e, "GROUP", g->name, notify_state_name(to), 0);
}

/* Another master was seen. In a sync group only the member that yields
 * first tells us (the others follow it silently), yet the hosts reached by
 * the other side's announcements include those of every member. */
static void group_reannounce(struct vrrp_inst *in)
{
	struct vrrp_engine *e = in->e;

	log_info("vrrp %s: another master was seen: announcing the addresses again", in->conf->name);
	garp_start(in);
	if (!in->conf->group)
		return;
	for (size_t i = 0; i < e->ninsts; i++) {
		struct vrrp_inst *o = e->insts[i];

		if (o == in || !same_group(in, o) || o->fsm.state != VRRP_STATE_MASTER)
			continue;
		log_info("vrrp %s: announcing the addresses again with %s", o->conf->name, in->conf->name);
		garp_start(o);
	}
}

/* A member left Fault: the group's Fault ends when no member holds one. */
static void group_fault_clear(struct vrrp_inst *in)
{
	struct vrrp_engine *e = in->e;

	if (!in->conf->group)
		return;
	for (size_t i = 0; i < e->ninsts; i++) {
		struct vrrp_inst *o = e->insts[i];

		if (same_group(in, o) && (o->link_down || o->track_fault))
			return;
	}
	for (size_t i = 0; i < e->ninsts; i++) {
		struct vrrp_inst *o = e->insts[i];

		if (!same_group(in, o) || !o->group_fault)
			continue;
		o->group_fault = false;
		if (o->started && o->fsm.state == VRRP_STATE_FAULT && !o->link_down && !o->track_fault)
			inst_apply(o, vrrp_fsm_set_fault(&o->fsm, false, now_ms()));
	}
}

/* Routes follow the VIPs: a route with "src VIP" needs the VIP first. */
static int route_spec_of(struct vrrp_inst *in, const struct route_conf *r, struct rtnl_route_spec *rt)
{
	*rt = (struct rtnl_route_spec){ .type = r->type, .dst = r->dst, .gateway = r->via, .prefsrc = r->src,
					.table = r->table, .metric = r->metric, .scope = r->scope };
	if (r->dev[0])
		rt->oif = in->e->kernel->ifindex(in->e->rtnl, r->dev);
	else if (r->type == RTN_UNICAST && !r->via.family)
		rt->oif = in->ifindex;	/* a route on the instance's link */
	return rt->oif < 0 ? rt->oif : 0;
}

static void routes_change(struct vrrp_inst *in, bool add)
{
	const struct vrrp_kernel_ops *k = in->e->kernel;

	for (size_t i = 0; i < in->conf->routes.n; i++) {
		const struct route_conf *r = &in->conf->routes.items[i];
		struct rtnl_route_spec rt;
		int ret = route_spec_of(in, r, &rt);

		if (ret == 0)
			ret = add ? k->route_add(in->e->rtnl, &rt) : k->route_del(in->e->rtnl, &rt);
		if (ret < 0 && !(ret == -ENODEV && !add)) {
			struct strbuf sb;

			sb_init(&sb);
			route_conf_print(r, &sb);
			log_warnx("vrrp %s: %s route %s: %s", in->conf->name, add ? "adding" : "removing", sb_str(&sb),
				  strerror(-ret));
			sb_free(&sb);
		}
	}
}

/* ---- applying the state machine's decisions ---- */

static void announce_change(struct vrrp_inst *in)
{
	const struct vrrp_fsm *f = &in->fsm;

	if (f->state == VRRP_STATE_MASTER && f->takeover_silence_ms)
		log_info("vrrp %s: %s -> %s (priority %u; the master's last advert came %llu ms before)", in->conf->name,
			 vrrp_state_name(f->prev_state), vrrp_state_name(f->state), f->priority,
			 (unsigned long long)f->takeover_silence_ms);
	else
		log_info("vrrp %s: %s -> %s (priority %u)", in->conf->name, vrrp_state_name(f->prev_state),
			 vrrp_state_name(f->state), f->priority);
	notify_instance(in);
	if (in->e->cb)
		in->e->cb(in->conf->name, in->fsm.state, in->fsm.priority, in->e->cb_arg);
}

static void inst_apply(struct vrrp_inst *in, unsigned actions)
{
	if (actions & VRRP_ACT_LEAVE_MASTER) {
		ev_timer_stop(in->e->loop, &in->garp_timer);
		routes_change(in, false);
		vips_remove(in);
	}
	if (actions & VRRP_ACT_SEND_STOP)
		send_advert(in, VRRP_PRIO_STOP);
	if (actions & VRRP_ACT_BECOME_MASTER) {
		send_advert(in, in->fsm.priority);	/* the advert first: peers stand down sooner */
		vips_add(in);
		garp_start(in);
		routes_change(in, true);	/* after the announcements: not on the takeover's path */
		actions &= ~(unsigned)VRRP_ACT_SEND_ADVERT;
	}
	if (actions & VRRP_ACT_SEND_ADVERT)
		send_advert(in, in->fsm.priority);
	if ((actions & VRRP_ACT_REANNOUNCE) && in->fsm.state == VRRP_STATE_MASTER)
		group_reannounce(in);
	if (actions & VRRP_ACT_STATE_CHANGED) {
		in->last_change = wall_time();
		if (group_joins_master(in)) {
			announce_change(in);
			inst_apply(in, vrrp_fsm_force(&in->fsm, VRRP_STATE_MASTER, now_ms()));
			return;
		}
		/* The rest of the group moves its addresses before anything is
		 * logged or run: the group is split only for some netlink calls. */
		group_propagate(in);
		announce_change(in);
		group_notify(in);
	}
	arm_fsm_timer(in);
}

/* A backup's timer is Master_Down. When it runs out after a stall of
 * this process (descheduled between the loop's wait and its timers), the
 * master's adverts may be waiting on the sockets, unread: read them, the
 * group's too (it would follow), before the timer may declare the master
 * down. */
static void read_adverts_before_takeover(struct vrrp_inst *in)
{
	struct vrrp_engine *e = in->e;

	if (in->fsm.state != VRRP_STATE_BACKUP)
		return;
	inst_read_adverts(in);
	for (size_t i = 0; i < e->ninsts; i++)
		if (same_group(in, e->insts[i]) && e->insts[i]->fsm.state == VRRP_STATE_BACKUP)
			inst_read_adverts(e->insts[i]);
}

static void fsm_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct vrrp_inst *in = arg;

	(void)loop;
	(void)t;
	read_adverts_before_takeover(in);
	inst_apply(in, vrrp_fsm_timeout(&in->fsm, now_ms()));
}

/* ---- tracking and priority ---- */

/* What one tracked object does to an instance right now. */
struct track_eval {
	const char *type;		/* "script", "interface", "file", "process" */
	const char *name;
	char result[32];		/* "success", "down", "value 3", ... */
	int weight;
	int delta;			/* added to the priority */
	bool fault;			/* puts the instance in Fault */
};

typedef void (*track_visit_fn)(const struct track_eval *t, void *arg);

/* keepalived's rules for a check that is up or down: weight 0 means Fault
 * when down; a positive weight is added when up, a negative one when down. */
static void apply_weight(struct track_eval *t, bool ok)
{
	if (t->weight == 0)
		t->fault = !ok;
	else if ((t->weight > 0) == ok)
		t->delta = t->weight;
}

static bool eval_script(const struct vrrp_engine *e, const struct track_ref *ref, struct track_eval *t)
{
	for (size_t j = 0; j < e->nscripts; j++) {
		const struct script_track *s = e->scripts[j];

		if (strcasecmp(s->conf->name, ref->name) != 0)
			continue;
		t->weight = ref->has_weight ? ref->weight : s->conf->weight;
		/* Until its first result a script changes nothing. */
		strlcpy_safe(t->result, !s->rf.known ? "unknown" : s->rf.up ? "success" : "failure", sizeof(t->result));
		if (s->rf.known)
			apply_weight(t, s->rf.up);
		return true;
	}
	return false;
}

static void eval_interface(const struct vrrp_engine *e, const struct track_ref *ref, struct track_eval *t)
{
	struct rtnl_ifinfo info;
	int ifindex = e->kernel->ifindex(e->rtnl, ref->name);
	bool up = ifindex > 0 && e->kernel->link_get(e->rtnl, ifindex, &info) == 0 && info.running;

	t->weight = ref->has_weight ? ref->weight : 0;
	strlcpy_safe(t->result, ifindex <= 0 ? "missing" : up ? "up" : "down", sizeof(t->result));
	apply_weight(t, up);
}

static void eval_file(const struct vrrp_engine *e, const struct track_ref *ref, struct track_eval *t)
{
	const struct track_file_conf *f = director_config_track_file(e->cfg, ref->name);
	char buf[32], err[PARSE_ERR_MAX];
	long long v;
	size_t len;
	int ret = -ENOENT;

	t->weight = ref->has_weight ? ref->weight : f ? f->weight : 0;
	/* Read on the loop, so never a FIFO or a device: those would block
	 * it (adverts stop, the VIPs stay). */
	if (!f || (ret = read_small_regular(f->path, 0, buf, sizeof(buf), &len)) < 0) {
		strlcpy_safe(t->result, ret == -EINVAL ? "not a regular file" : "unreadable", sizeof(t->result));
		t->fault = true;	/* an unreadable file is a failed check */
		return;
	}
	buf[strcspn(buf, " \t\r\n")] = '\0';
	if (parse_int_range(buf, -254, 254, &v, err) < 0) {
		strlcpy_safe(t->result, "invalid", sizeof(t->result));
		t->fault = true;
		return;
	}
	snprintf(t->result, sizeof(t->result), "value %lld", v);
	/* keepalived's rule: with weight 0, any non-zero value is a failure. */
	t->fault = v != 0 && t->weight == 0;
	t->delta = (int)v * t->weight;
}

static void eval_process(const struct vrrp_engine *e, const struct track_ref *ref, struct track_eval *t)
{
	const struct track_process_conf *p = NULL;
	const struct proc_verdict *v = proc_tracker_find(e->ptracker, ref->name, &p);

	t->weight = ref->has_weight ? ref->weight : p ? p->weight : 0;
	/* Until the first count it changes nothing, as a script. */
	if (!v || !v->known) {
		strlcpy_safe(t->result, "unknown", sizeof(t->result));
		return;
	}
	snprintf(t->result, sizeof(t->result), "%s, %u running", v->up ? "up" : "down", v->count);
	apply_weight(t, v->up);
}

/* The priority tracking gives the instance, and whether it must be in
 * Fault; visit (may be NULL) sees each tracked object's part. */
static int effective_priority(const struct vrrp_inst *in, bool *fault, track_visit_fn visit, void *arg)
{
	const struct vrrp_conf *c = in->conf;
	const struct track_list *lists[] = { &c->track_scripts, &c->track_interfaces, &c->track_files,
					     &c->track_processes };
	int prio = (int)c->priority;

	*fault = false;
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		for (size_t i = 0; i < lists[l]->n; i++) {
			const struct track_ref *ref = &lists[l]->items[i];
			struct track_eval t = { .name = ref->name };

			if (l == 0) {
				t.type = "script";
				if (!eval_script(in->e, ref, &t))
					continue;
			} else if (l == 1) {
				t.type = "interface";
				eval_interface(in->e, ref, &t);
			} else if (l == 2) {
				t.type = "file";
				eval_file(in->e, ref, &t);
			} else {
				t.type = "process";
				eval_process(in->e, ref, &t);
			}
			*fault |= t.fault;
			prio += t.delta;
			if (visit)
				visit(&t, arg);
		}
	}
	if (c->priority == VRRP_PRIO_OWNER)
		return VRRP_PRIO_OWNER;
	return prio < 1 ? 1 : prio > 254 ? 254 : prio;
}

/* Compare what tracking wants with the state machine's own state, so the
 * order in which causes were recorded does not matter. */
static void inst_reevaluate(struct vrrp_inst *in)
{
	bool fault, want_fault;
	int prio = effective_priority(in, &fault, NULL, NULL);
	uint64_t now = now_ms();

	in->track_fault = fault;
	if (!in->started)
		return;
	if (prio != in->fsm.priority)
		inst_apply(in, vrrp_fsm_set_priority(&in->fsm, (uint8_t)prio, now));
	want_fault = in->link_down || in->track_fault || in->group_fault;
	if (want_fault && in->fsm.state != VRRP_STATE_FAULT)
		inst_apply(in, vrrp_fsm_set_fault(&in->fsm, true, now));
	else if (!want_fault && in->fsm.state == VRRP_STATE_FAULT)
		inst_apply(in, vrrp_fsm_set_fault(&in->fsm, false, now));
	if (!in->link_down && !in->track_fault)
		group_fault_clear(in);
}

static void reevaluate_all(struct vrrp_engine *e)
{
	for (size_t i = 0; i < e->ninsts; i++)
		inst_reevaluate(e->insts[i]);
}

static void script_done(struct evloop *loop, pid_t pid, int status, bool timed_out, void *arg)
{
	struct script_track *s = arg;
	bool ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;

	(void)loop;
	(void)pid;
	s->pid = 0;
	s->runs++;
	if (!ok)
		s->failures++;
	if (risefall_record(&s->rf, ok, s->conf->rise, s->conf->fall)) {
		log_info("track_script %s: %s", s->conf->name, s->rf.up ? "success" : "failure");
		reevaluate_all(s->e);
	}
}

static void script_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct script_track *s = arg;
	struct spawn_opts opts = { .user = NULL, .output_fd = -1 };
	pid_t pid;

	ev_timer_start(loop, t, s->conf->interval_ms);
	if (s->pid)
		return;		/* still running: skip this round */
	if (spawn_shell(s->conf->command, &opts, &pid) < 0) {
		script_done(loop, 0, 127 << 8, false, s);
		return;
	}
	s->pid = pid;
	if (ev_child_watch(loop, pid, s->conf->timeout_ms, script_done, s) < 0)
		s->pid = 0;
}

static void process_changed(void *arg)
{
	reevaluate_all(arg);
}

static void file_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	reevaluate_all(arg);
	ev_timer_start(loop, t, TRACK_FILE_INTERVAL_MS);
}

/* ---- receiving ---- */

static bool from_peer(const struct vrrp_inst *in, const struct ipaddr *src)
{
	for (size_t i = 0; i < in->conf->unicast_peers.n; i++)
		if (ipaddr_equal(&in->conf->unicast_peers.items[i], src))
			return true;
	return false;
}

static enum vrrp_drop check_advert(struct vrrp_inst *in, const struct vrrp_advert *a, const struct ipaddr *src)
{
	const struct vrrp_conf *c = in->conf;

	if (a->vrid != c->vrid)
		return VRRP_DROP_VRID;
	if (ipaddr_equal(src, &in->primary))
		return VRRP_DROP_OWN;
	if (c->unicast_peers.n && !from_peer(in, src))
		return VRRP_DROP_PEER;
	if (c->version == 2) {
		uint8_t want = c->auth_pass ? VRRP_AUTH_SIMPLE : VRRP_AUTH_NONE;
		char pass[VRRP_V2_AUTH_LEN] = { 0 };

		if (c->auth_pass)
			memcpy(pass, c->auth_pass, strnlen(c->auth_pass, VRRP_V2_AUTH_LEN));
		if (a->auth_type != want || (want && memcmp(pass, a->auth, VRRP_V2_AUTH_LEN) != 0))
			return VRRP_DROP_AUTH;
		if (a->interval_cs != c->advert_interval_ms / 10)
			return VRRP_DROP_INTERVAL;
	}
	return VRRP_OK;
}

static void check_addresses(struct vrrp_inst *in, const struct vrrp_advert *a, const struct ipaddr *src)
{
	bool same = a->naddrs == in->conf->vips.n;
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; same && i < a->naddrs; i++)
		same = is_vip(in->conf, &a->addrs[i]);
	if (!same && ratelimit_allow(&in->warn_rl, now_ms()))
		log_warnx("vrrp %s: advert from %s lists other addresses than ours (accepted, as RFC 5798 says)",
			  in->conf->name, ipaddr_ntop(src, buf, sizeof(buf)));
}

static void inst_receive(struct vrrp_inst *in, const struct vrrp_rx *rx)
{
	static struct vrrp_advert a;
	enum vrrp_drop why = VRRP_OK;
	char buf[INET6_ADDRSTRLEN];

	in->rx++;
	if (!vrrp_ttl_accepted(rx->ttl, in->conf->unicast_peers.n > 0, in->conf->unicast_ttl_check)) {
		in->drops[VRRP_DROP_TTL]++;
		if (in->conf->unicast_peers.n && ratelimit_allow(&in->warn_rl, now_ms()))
			log_warnx("vrrp %s: advert from %s with TTL %u dropped (unicast_ttl_check: a peer on the link "
				  "sends 255; this one crossed a router or is spoofed)",
				  in->conf->name, ipaddr_ntop(&rx->src, buf, sizeof(buf)), rx->ttl);
		return;
	}
	if (vrrp_decode(rx->payload, rx->len, in->family, &rx->src, &rx->dst, (int)in->conf->version,
			in->conf->pseudo_header_checksum, &a, &why) < 0 ||
	    (why = check_advert(in, &a, &rx->src)) != VRRP_OK) {
		in->drops[why]++;
		return;
	}
	check_addresses(in, &a, &rx->src);
	if (in->started) {
		uint64_t split = in->fsm.split_brain, yields = in->fsm.stalled_yields;

		/* The state machine counts whole milliseconds, and masters send
		 * just after one begins (their timers fire on the millisecond):
		 * rounded to the nearest, the Master_Down and Skew timers this
		 * may start run out within half a millisecond of the RFC's
		 * bound instead of most of one after it. */
		inst_apply(in, vrrp_fsm_receive(&in->fsm, &a, &rx->src, (now_us() + 500) / 1000));
		if (in->fsm.split_brain != split && ratelimit_allow(&in->warn_rl, now_ms()))
			log_warnx("vrrp %s: split brain: %s (priority %u) advertises as master too; it should yield to us (priority %u)",
				  in->conf->name, ipaddr_ntop(&rx->src, buf, sizeof(buf)), a.priority, in->fsm.priority);
		if (in->fsm.stalled_yields != yields)
			log_warnx("vrrp %s: this engine was stalled and %s (priority %u) took over meanwhile: following it, "
				  "to preempt after Master_Down with its connections synced", in->conf->name,
				  ipaddr_ntop(&rx->src, buf, sizeof(buf)), a.priority);
	}
}

/* Every advert waiting on the socket, bounded: a flood must not starve
 * the timers. */
static void inst_read_adverts(struct vrrp_inst *in)
{
	struct vrrp_rx rx;
	enum vrrp_drop why;

	if (!in->sock)
		return;
	for (int i = 0; i < 64; i++) {
		int ret = in->e->kernel->sock_recv(in->sock, &rx, &why);

		if (ret == -EAGAIN)
			break;
		if (ret < 0) {
			in->drops[why ? why : VRRP_DROP_TRUNCATED]++;
			continue;
		}
		inst_receive(in, &rx);
	}
}

static void sock_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	inst_read_adverts(arg);
}

/* ---- links ---- */

static int inst_open(struct vrrp_engine *e, struct vrrp_inst *in, const struct vrrp_conf *c);

/* An instance that could not start tries again when its interface or an
 * address appears. */
static void retry_broken(struct vrrp_engine *e)
{
	for (size_t i = 0; i < e->ninsts; i++) {
		struct vrrp_inst *in = e->insts[i];

		if (!in->open_error)
			continue;
		in->open_error = inst_open(e, in, in->conf);
		if (!in->open_error)
			log_info("vrrp %s: started after all", in->conf->name);
	}
}

/* The instance's own interface, as the kernel has it now. */
static void link_refresh(struct vrrp_inst *in, bool deleted)
{
	struct rtnl_ifinfo info;
	bool down = deleted || in->e->kernel->link_get(in->e->rtnl, in->ifindex, &info) < 0 || !info.running;

	if (down != in->link_down)
		log_info("vrrp %s: %s is %s", in->conf->name, in->conf->interface, down ? "down" : "up");
	in->link_down = down;
}

static void on_link(const struct rtnl_event *ev, void *arg)
{
	struct vrrp_engine *e = arg;

	if (ev->type == RTNL_EV_LINK_NEW || ev->type == RTNL_EV_ADDR_NEW)
		retry_broken(e);
	if (ev->type != RTNL_EV_LINK_NEW && ev->type != RTNL_EV_LINK_DEL)
		return;
	for (size_t i = 0; i < e->ninsts; i++)
		if (!e->insts[i]->open_error && ev->ifindex == e->insts[i]->ifindex)
			link_refresh(e->insts[i], ev->type == RTNL_EV_LINK_DEL);
	reevaluate_all(e);
}

/* The watch overran: any event may be among those lost, so everything
 * they would have told is read again (own links, the broken instances'
 * chance to start, tracked interfaces). */
static void events_lost(struct vrrp_engine *e)
{
	retry_broken(e);
	for (size_t i = 0; i < e->ninsts; i++)
		if (!e->insts[i]->open_error)
			link_refresh(e->insts[i], false);
	reevaluate_all(e);
}

static void watch_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vrrp_engine *e = arg;

	(void)loop;
	(void)fd;
	(void)events;
	if (e->kernel->watch_read(e->watch, on_link, e) == -ENOBUFS)
		events_lost(e);
}

/* ---- start and stop ---- */

static void start_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct vrrp_inst *in = arg;
	uint64_t now = now_ms();

	(void)loop;
	(void)t;
	in->started = true;
	in->fsm.priority = (uint8_t)effective_priority(in, &in->track_fault, NULL, NULL);
	if (in->link_down || in->track_fault || in->group_fault)
		inst_apply(in, vrrp_fsm_set_fault(&in->fsm, true, now));
	else
		inst_apply(in, vrrp_fsm_startup(&in->fsm, now));
}

/* Why an instance cannot start, said once per reason: it is tried again
 * at every link or address event of the host, which may be many. */
static int open_failed(const struct vrrp_inst *in, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int open_failed(const struct vrrp_inst *in, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (err == in->open_error)	/* the last attempt's, already said */
		return err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("vrrp %s: %s", in->conf->name, msg);
	return err;
}

static int inst_open(struct vrrp_engine *e, struct vrrp_inst *in, const struct vrrp_conf *c)
{
	struct vrrp_fsm_conf fc;
	struct vrrp_sock_conf sc;
	struct rtnl_ifinfo info;
	int ret;

	in->e = e;
	in->conf = c;
	in->family = inst_family(c);
	ev_timer_init(&in->fsm_timer, fsm_timer_cb, in);
	ev_timer_init(&in->garp_timer, garp_timer_cb, in);
	ev_timer_init(&in->start_timer, start_timer_cb, in);
	in->warn_rl = (struct ratelimit)RATELIMIT_INIT(10000, 3);
	in->ifindex = e->kernel->ifindex(e->rtnl, c->interface);
	if (in->ifindex < 0)
		return open_failed(in, in->ifindex, "interface %s: %s", c->interface, strerror(-in->ifindex));
	ret = find_primary(in);
	if (ret == -EAGAIN) {
		/* Not a fault: every link that comes up runs DAD first. */
		if (in->open_error != ret)
			log_info("vrrp %s: waiting for the duplicate address detection of %s's link-local address",
				 in->conf->name, c->interface);
		return ret;
	}
	if (ret < 0)
		return open_failed(in, ret, "no usable %s address on %s", in->family == AF_INET ? "IPv4" : "IPv6 link-local",
				   c->interface);
	in->link_down = e->kernel->link_get(e->rtnl, in->ifindex, &info) < 0 || !info.running;
	sc = (struct vrrp_sock_conf){ .family = in->family, .ifindex = in->ifindex, .peers = c->unicast_peers.items,
				      .npeers = c->unicast_peers.n, .src = in->primary };
	ret = e->kernel->sock_open(&sc, &in->sock, &in->fd);
	if (ret < 0)
		return open_failed(in, ret, "VRRP socket on %s: %s", c->interface, strerror(-ret));
	ret = ev_fd_add(e->loop, in->fd, EPOLLIN, sock_readable, in);
	if (ret < 0) {
		/* Not kept half open: a retry opens it again. */
		e->kernel->sock_close(in->sock);
		in->sock = NULL;
		in->fd = -1;
		return open_failed(in, ret, "watching the VRRP socket on %s: %s", c->interface, strerror(-ret));
	}
	fc = (struct vrrp_fsm_conf){ .version = (uint8_t)c->version, .vrid = (uint8_t)c->vrid,
				     .priority = (uint8_t)c->priority, .interval_cs = (uint16_t)(c->advert_interval_ms / 10),
				     .preempt = c->preempt, .preempt_delay_ms = c->preempt_delay_ms, .primary = in->primary };
	vrrp_fsm_init(&in->fsm, &fc);
	/* What a crashed run left must go unless we become master. */
	routes_change(in, false);
	vips_remove(in);
	return ev_timer_start(e->loop, &in->start_timer, c->startup_delay_ms);
}

static int open_fifo(struct vrrp_engine *e)
{
	int fd;

	e->fifo_fd = -1;
	if (!e->cfg->notify_fifo)
		return 0;
	/* O_RDWR keeps the FIFO open without a reader, so writes never fail
	 * with EPIPE nor block. Only a FIFO, never through a symbolic link:
	 * a regular file would fill up, a device would be written to. */
	fd = open_typed(e->cfg->notify_fifo, O_RDWR | O_NOFOLLOW, S_IFIFO);
	if (fd == -EINVAL || fd == -ELOOP)
		log_warnx("notify_fifo %s: %s; no notifications are written to it", e->cfg->notify_fifo,
			  fd == -ELOOP ? "a symbolic link, not a FIFO" : "not a FIFO");
	else if (fd < 0)
		log_warnx("notify_fifo %s: %s", e->cfg->notify_fifo, strerror(-fd));
	else
		e->fifo_fd = fd;
	return 0;
}

/* Through the seam, where a test can make one fail. */
static void *engine_calloc(const struct vrrp_engine *e, size_t n, size_t size)
{
	return e->kernel->calloc ? e->kernel->calloc(n, size) : calloc(n, size);
}

static struct script_track *script_new(struct vrrp_engine *e, const struct track_script_conf *t)
{
	struct script_track *s = engine_calloc(e, 1, sizeof(*s));

	if (!s)
		return NULL;
	s->conf = t;
	s->e = e;
	ev_timer_init(&s->timer, script_timer_cb, s);
	ev_timer_start(e->loop, &s->timer, 0);
	return s;
}

static void script_free(struct vrrp_engine *e, struct script_track *s)
{
	ev_timer_stop(e->loop, &s->timer);
	if (s->pid)
		ev_child_cancel(e->loop, s->pid);
	free(s);
}

static size_t count_scripts(const struct director_config *cfg)
{
	size_t n = 0;

	for (const struct track_script_conf *t = cfg->track_scripts; t; t = t->next)
		n++;
	return n;
}

static int start_scripts(struct vrrp_engine *e)
{
	size_t i = 0;

	e->scripts = calloc(count_scripts(e->cfg) + 1, sizeof(*e->scripts));
	if (!e->scripts)
		return -ENOMEM;
	for (const struct track_script_conf *t = e->cfg->track_scripts; t; t = t->next) {
		if (!(e->scripts[i] = script_new(e, t)))
			return -ENOMEM;
		e->nscripts = ++i;
	}
	ev_timer_init(&e->file_timer, file_timer_cb, e);
	return ev_timer_start(e->loop, &e->file_timer, TRACK_FILE_INTERVAL_MS);
}

/* leave: a running instance hands over (priority 0, VIPs removed). */
static void inst_close(struct vrrp_engine *e, struct vrrp_inst *in, bool leave)
{
	if (leave && in->started) {
		bool was = e->propagating;

		e->propagating = true;	/* every member stops on its own */
		inst_apply(in, vrrp_fsm_shutdown(&in->fsm, now_ms()));
		e->propagating = was;
	}
	ev_timer_stop(e->loop, &in->fsm_timer);
	ev_timer_stop(e->loop, &in->garp_timer);
	ev_timer_stop(e->loop, &in->start_timer);
	if (in->sock) {
		ev_fd_del(e->loop, in->fd);
		e->kernel->sock_close(in->sock);
	}
	free(in);
}

static int start_instances(struct vrrp_engine *e)
{
	size_t i = 0;
	int ret;

	e->insts = calloc(e->cfg->ninstances + 1, sizeof(*e->insts));
	if (!e->insts)
		return -ENOMEM;
	for (const struct vrrp_conf *c = e->cfg->instances; c; c = c->next) {
		if (!(e->insts[i] = calloc(1, sizeof(**e->insts))))
			return -ENOMEM;
		e->ninsts = ++i;
		ret = inst_open(e, e->insts[i - 1], c);
		if (ret == -ENOMEM)
			return ret;
		/* One instance that cannot start (interface missing, no
		 * address yet) must not stop the others; it stays listed. */
		e->insts[i - 1]->open_error = ret;
	}
	return 0;
}

int vrrp_engine_start(struct evloop *loop, const struct director_config *cfg, vrrp_state_cb cb, void *arg,
		      const struct vrrp_kernel_ops *kernel, struct vrrp_engine **out)
{
	struct vrrp_engine *e = calloc(1, sizeof(*e));
	int ret;

	if (!e)
		return -ENOMEM;
	e->loop = loop;
	e->cfg = cfg;
	e->kernel = kernel;
	e->cb = cb;
	e->cb_arg = arg;
	e->watch_fd = -1;
	e->fifo_fd = -1;
	ret = kernel->rtnl_open(&e->rtnl);
	if (ret == 0)
		ret = kernel->announcer_new(&e->announcer);
	if (ret == 0)
		ret = kernel->watch_open(&e->watch, &e->watch_fd);
	if (ret == 0)
		ret = ev_fd_add(loop, e->watch_fd, EPOLLIN, watch_readable, e);
	if (ret == 0)
		ret = open_fifo(e);
	if (ret == 0)
		ret = start_scripts(e);
	if (ret == 0)
		ret = proc_tracker_start(loop, kernel, cfg->track_processes, process_changed, e, &e->ptracker);
	if (ret == 0)
		ret = start_instances(e);
	if (ret < 0) {
		vrrp_engine_stop(e);
		return ret;
	}
	*out = e;
	return 0;
}

void vrrp_engine_stop(struct vrrp_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ninsts; i++)
		inst_close(e, e->insts[i], true);
	for (size_t i = 0; i < e->nscripts; i++)
		script_free(e, e->scripts[i]);
	ev_timer_stop(e->loop, &e->file_timer);
	proc_tracker_stop(e->ptracker);
	if (e->watch) {
		ev_fd_del(e->loop, e->watch_fd);
		e->kernel->watch_close(e->watch);
	}
	if (e->rtnl)
		e->kernel->rtnl_close(e->rtnl);
	e->kernel->announcer_free(e->announcer);
	if (e->fifo_fd >= 0)
		close(e->fifo_fd);
	free(e->insts);
	free(e->scripts);
	free(e->groups);
	free(e);
}

/* ---- reload ---- */

static bool same_script(const struct track_script_conf *a, const struct track_script_conf *b)
{
	return strcasecmp(a->name, b->name) == 0 && strcmp(a->command, b->command) == 0 &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms && a->rise == b->rise &&
	       a->fall == b->fall && a->weight == b->weight;
}

/* What a reload builds before it changes anything, so that running out
 * of memory leaves the engine wholly on the old configuration (which the
 * caller then keeps): the i-th script and instance of the new one, each
 * an old one kept (marked taken: the same settings keep their results and
 * state, so a reload moves no priority) or a new one (planned). */
struct reload_plan {
	struct script_track **scripts;
	size_t nscripts;
	struct vrrp_inst **insts;
	size_t ninsts;
};

static int plan_scripts(struct vrrp_engine *e, const struct director_config *cfg, struct reload_plan *p)
{
	if (!(p->scripts = engine_calloc(e, count_scripts(cfg) + 1, sizeof(*p->scripts))))
		return -ENOMEM;
	for (const struct track_script_conf *t = cfg->track_scripts; t; t = t->next) {
		struct script_track *s = NULL;

		for (size_t i = 0; i < e->nscripts && !s; i++)
			if (e->scripts[i] && !e->scripts[i]->taken && same_script(e->scripts[i]->conf, t))
				(s = e->scripts[i])->taken = true;
		if (!s && !(s = script_new(e, t)))
			return -ENOMEM;
		s->planned = !s->taken;
		p->scripts[p->nscripts++] = s;
	}
	return 0;
}

static int plan_insts(struct vrrp_engine *e, const struct director_config *cfg, struct reload_plan *p)
{
	if (!(p->insts = engine_calloc(e, cfg->ninstances + 1, sizeof(*p->insts))))
		return -ENOMEM;
	for (const struct vrrp_conf *c = cfg->instances; c; c = c->next) {
		struct vrrp_inst *in = NULL;

		for (size_t i = 0; i < e->ninsts && !in; i++)
			if (e->insts[i] && !e->insts[i]->open_error && !e->insts[i]->taken &&
			    vrrp_conf_same(e->insts[i]->conf, c))
				(in = e->insts[i])->taken = true;
		if (!in && !(in = engine_calloc(e, 1, sizeof(*in))))
			return -ENOMEM;
		in->planned = !in->taken;
		p->insts[p->ninsts++] = in;
	}
	return 0;
}

/* Back to the old configuration as it was: nothing new was started. */
static void plan_drop(struct vrrp_engine *e, struct reload_plan *p)
{
	for (size_t i = 0; i < p->nscripts; i++)
		if (p->scripts[i]->planned)
			script_free(e, p->scripts[i]);
		else
			p->scripts[i]->taken = false;
	for (size_t i = 0; i < p->ninsts; i++)
		if (p->insts[i]->planned)
			free(p->insts[i]);
		else
			p->insts[i]->taken = false;
	free(p->scripts);
	free(p->insts);
}

static void commit_scripts(struct vrrp_engine *e, const struct director_config *cfg, struct reload_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nscripts; i++)
		if (e->scripts[i] && !e->scripts[i]->taken)
			script_free(e, e->scripts[i]);
	for (const struct track_script_conf *t = cfg->track_scripts; t; t = t->next, n++) {
		p->scripts[n]->conf = t;
		p->scripts[n]->taken = p->scripts[n]->planned = false;
	}
	free(e->scripts);
	e->scripts = p->scripts;
	e->nscripts = p->nscripts;
}

/* New instances start before the ones removed or changed leave, as they
 * always did. Allocations that fail here (in the kernel's sockets) leave
 * that instance not started, on the new configuration, as any open error. */
static void commit_insts(struct vrrp_engine *e, const struct director_config *cfg, struct reload_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < e->ninsts; i++)
		if (e->insts[i] && e->insts[i]->taken)
			e->insts[i] = NULL;	/* in the plan */
	e->cfg = cfg;
	for (const struct vrrp_conf *c = cfg->instances; c; c = c->next, n++) {
		struct vrrp_inst *in = p->insts[n];

		in->taken = false;
		if (!in->planned) {
			in->conf = c;
			continue;
		}
		in->planned = false;
		log_info("vrrp %s: new or changed: starting it afresh", c->name);
		in->open_error = inst_open(e, in, c);
	}
	for (size_t i = 0; i < e->ninsts; i++) {
		if (e->insts[i]) {
			log_info("vrrp %s: removed or changed: leaving", e->insts[i]->conf->name);
			inst_close(e, e->insts[i], true);
		}
	}
	free(e->insts);
	e->insts = p->insts;
	e->ninsts = p->ninsts;
}

/* 0: the engine runs on cfg, which must outlive it (or the next reload).
 * -errno (out of memory): it still runs, unchanged, on the configuration
 * it had, which the caller must keep; cfg is not referenced. */
int vrrp_engine_reload(struct vrrp_engine *e, const struct director_config *cfg)
{
	struct reload_plan plan = { 0 };
	int ret;

	/* The tracker is the last that can fail, and fails as a whole. */
	if ((ret = plan_scripts(e, cfg, &plan)) < 0 || (ret = plan_insts(e, cfg, &plan)) < 0 ||
	    (ret = proc_tracker_reload(e->ptracker, cfg->track_processes)) < 0) {
		plan_drop(e, &plan);
		return ret;
	}
	commit_scripts(e, cfg, &plan);
	commit_insts(e, cfg, &plan);
	reevaluate_all(e);
	return 0;
}

/* ---- status ---- */

static void track_json(const struct track_eval *t, void *arg)
{
	struct json *j = arg;

	json_object_begin(j, NULL);
	json_string(j, "type", t->type);
	json_string(j, "name", t->name);
	json_string(j, "result", t->result);
	json_int(j, "weight", t->weight);
	json_int(j, "priority_change", t->delta);
	json_bool(j, "fault", t->fault);
	json_object_end(j);
}

static void track_text(const struct track_eval *t, void *arg)
{
	struct strbuf *out = arg;

	sb_printf(out, "    track %s %s: %s", t->type, t->name, t->result);
	if (t->fault)
		sb_append(out, " -> FAULT");
	else if (t->delta)
		sb_printf(out, " -> priority %+d", t->delta);
	sb_append(out, "\n");
}

/* Why an instance is not running, for status: NULL when it is. */
static const char *open_error_text(const struct vrrp_inst *in)
{
	if (in->open_error == -EAGAIN)	/* find_primary: not a fault */
		return "waiting for duplicate address detection of the interface's link-local address";
	return in->open_error ? strerror(-in->open_error) : NULL;
}

void vrrp_engine_status_json(const struct vrrp_engine *e, struct json *j)
{
	char buf[INET6_ADDRSTRLEN];
	bool fault;

	json_array_begin(j, "instances");
	for (size_t i = 0; i < e->ninsts; i++) {
		const struct vrrp_inst *in = e->insts[i];

		json_object_begin(j, NULL);
		json_string(j, "name", in->conf->name);
		json_string(j, "interface", in->conf->interface);
		json_uint(j, "vrid", in->conf->vrid);
		json_uint(j, "version", in->conf->version);
		json_string(j, "state", in->open_error ? "ERROR" : vrrp_state_name(in->fsm.state));
		json_string(j, "error", open_error_text(in));
		json_uint(j, "base_priority", in->conf->priority);
		json_uint(j, "effective_priority", in->fsm.priority);
		json_string(j, "sync_group", in->conf->group ? in->conf->group->name : NULL);
		json_string(j, "master", in->fsm.state == VRRP_STATE_MASTER ? "self" :
			    in->fsm.master_known ? ipaddr_ntop(&in->fsm.master_addr, buf, sizeof(buf)) : NULL);
		json_uint(j, "master_priority", in->fsm.master_known ? in->fsm.master_priority : 0);
		json_uint(j, "last_advert_ms_ago", in->fsm.last_advert_ms ? now_ms() - in->fsm.last_advert_ms : 0);
		json_uint(j, "transitions", in->fsm.transitions);
		json_int(j, "last_transition", in->last_change);
		json_uint(j, "split_brain", in->fsm.split_brain);
		json_uint(j, "advert_late_max_ms", in->fsm.advert_late_max_ms);
		json_uint(j, "adverts_late", in->fsm.adverts_late);
		json_uint(j, "advert_gap_max_ms", in->fsm.advert_gap_max_ms);
		json_uint(j, "takeovers_deferred", in->fsm.takeovers_deferred);
		json_uint(j, "takeover_silence_ms", in->fsm.takeover_silence_ms);
		json_uint(j, "stalled_yields", in->fsm.stalled_yields);
		json_uint(j, "rx", in->rx);
		json_uint(j, "tx", in->tx);
		json_uint(j, "tx_errors", in->tx_errors);
		json_object_begin(j, "drops");
		for (int d = 1; d < VRRP_DROP__COUNT; d++)
			json_uint(j, vrrp_drop_name((enum vrrp_drop)d), in->drops[d]);
		json_object_end(j);
		json_array_begin(j, "tracks");
		(void)effective_priority(in, &fault, track_json, j);
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_array_begin(j, "track_scripts");
	for (size_t i = 0; i < e->nscripts; i++) {
		const struct script_track *s = e->scripts[i];

		json_object_begin(j, NULL);
		json_string(j, "name", s->conf->name);
		json_string(j, "result", !s->rf.known ? "unknown" : s->rf.up ? "success" : "failure");
		json_uint(j, "runs", s->runs);
		json_uint(j, "failures", s->failures);
		json_object_end(j);
	}
	json_array_end(j);
	proc_tracker_status_json(e->ptracker, j);
}

void vrrp_engine_status_text(const struct vrrp_engine *e, struct strbuf *out)
{
	char buf[INET6_ADDRSTRLEN];
	bool fault;

	for (size_t i = 0; i < e->ninsts; i++) {
		const struct vrrp_inst *in = e->insts[i];
		uint64_t drops = 0;

		for (int d = 1; d < VRRP_DROP__COUNT; d++)
			drops += in->drops[d];
		sb_printf(out, "vrrp %-12s %-7s priority %u (base %u)  %s vrid %u v%u", in->conf->name,
			  in->open_error ? "ERROR" : vrrp_state_name(in->fsm.state), in->fsm.priority, in->conf->priority, in->conf->interface,
			  in->conf->vrid, in->conf->version);
		if (in->fsm.state == VRRP_STATE_BACKUP && in->fsm.master_known)
			sb_printf(out, "  master %s (priority %u, %llums ago)",
				  ipaddr_ntop(&in->fsm.master_addr, buf, sizeof(buf)), in->fsm.master_priority,
				  (unsigned long long)(now_ms() - in->fsm.last_advert_ms));
		sb_printf(out, "\n    %llu transitions, %llu received, %llu sent, %llu dropped",
			  (unsigned long long)in->fsm.transitions, (unsigned long long)in->rx,
			  (unsigned long long)in->tx, (unsigned long long)drops);
		for (int d = 1; d < VRRP_DROP__COUNT; d++)
			if (in->drops[d])
				sb_printf(out, " %s=%llu", vrrp_drop_name((enum vrrp_drop)d),
					  (unsigned long long)in->drops[d]);
		sb_append(out, "\n");
		(void)effective_priority(in, &fault, track_text, out);
	}
	for (size_t i = 0; i < e->nscripts; i++)
		sb_printf(out, "track_script %-12s %s (%llu runs, %llu failures)\n", e->scripts[i]->conf->name,
			  !e->scripts[i]->rf.known ? "unknown" : e->scripts[i]->rf.up ? "success" : "failure",
			  (unsigned long long)e->scripts[i]->runs, (unsigned long long)e->scripts[i]->failures);
	proc_tracker_status_text(e->ptracker, out);
}

/* ---- metrics (directord(8), METRICS) ---- */

/* The label is vrrp_instance: "instance" is the label Prometheus gives
 * every target (a scraped one would be renamed exported_instance). */

/* "master", "backup", ...: the state label's values; "error" for an
 * instance that could not start. */
static const char *const metric_states[] = { "init", "backup", "master", "fault", "error" };

static const char *inst_metric_state(const struct vrrp_inst *in)
{
	return in->open_error ? "error" : metric_states[in->fsm.state <= VRRP_STATE_FAULT ? in->fsm.state : 0];
}

static void metrics_states(const struct vrrp_engine *e, struct strbuf *out)
{
	char vrid[8], version[4];

	prom_family(out, "dsrkit_vrrp_instance_info", "gauge", "A VRRP instance's settings, as labels; always 1.");
	for (size_t i = 0; i < e->ninsts; i++) {
		const struct vrrp_conf *c = e->insts[i]->conf;

		snprintf(vrid, sizeof(vrid), "%u", c->vrid);
		snprintf(version, sizeof(version), "%u", c->version);
		prom_u64(out, "dsrkit_vrrp_instance_info", 1, "vrrp_instance", c->name, "interface", c->interface, "vrid",
			 vrid, "version", version, "sync_group", c->group ? c->group->name : "", NULL);
	}
	prom_family(out, "dsrkit_vrrp_state", "gauge",
		    "The instance's state, one-hot: init, backup, master, fault, error (could not start).");
	for (size_t i = 0; i < e->ninsts; i++)
		for (size_t s = 0; s < ARRAY_SIZE(metric_states); s++)
			prom_u64(out, "dsrkit_vrrp_state", strcmp(inst_metric_state(e->insts[i]), metric_states[s]) == 0,
				 "vrrp_instance", e->insts[i]->conf->name, "state", metric_states[s], NULL);
}

/* One gauge or counter per instance, from one of its fields. */
#define INST_METRIC(out, e, metric, type, help, expr) do { \
		prom_family(out, metric, type, help); \
		for (size_t i_ = 0; i_ < (e)->ninsts; i_++) { \
			const struct vrrp_inst *in = (e)->insts[i_]; \
			prom_u64(out, metric, (uint64_t)(expr), "vrrp_instance", in->conf->name, NULL); \
		} \
	} while (0)

static void metrics_counters(const struct vrrp_engine *e, struct strbuf *out)
{
	INST_METRIC(out, e, "dsrkit_vrrp_priority", "gauge", "The configured (base) priority.", in->conf->priority);
	INST_METRIC(out, e, "dsrkit_vrrp_effective_priority", "gauge", "The priority advertised, tracking applied.",
		    in->fsm.priority);
	INST_METRIC(out, e, "dsrkit_vrrp_transitions_total", "counter", "State changes.", in->fsm.transitions);
	INST_METRIC(out, e, "dsrkit_vrrp_became_master_total", "counter", "Transitions to master.",
		    in->fsm.became_master);
	INST_METRIC(out, e, "dsrkit_vrrp_adverts_sent_total", "counter", "Advertisements sent.", in->tx);
	INST_METRIC(out, e, "dsrkit_vrrp_advert_send_errors_total", "counter", "Advertisements the kernel refused.",
		    in->tx_errors);
	INST_METRIC(out, e, "dsrkit_vrrp_adverts_received_total", "counter",
		    "VRRP packets received for the instance (the dropped ones included).", in->rx);
	INST_METRIC(out, e, "dsrkit_vrrp_split_brain_total", "counter",
		    "Adverts of another master while this one is master, once the election has settled.",
		    in->fsm.split_brain);
	INST_METRIC(out, e, "dsrkit_vrrp_adverts_late_total", "counter",
		    "Adverts sent more than half an interval late (a stalled engine).", in->fsm.adverts_late);
	prom_family(out, "dsrkit_vrrp_drops_total", "counter", "Received packets dropped, by reason.");
	for (size_t i = 0; i < e->ninsts; i++)
		for (int d = 1; d < VRRP_DROP__COUNT; d++)
			prom_u64(out, "dsrkit_vrrp_drops_total", e->insts[i]->drops[d], "vrrp_instance",
				 e->insts[i]->conf->name, "reason", vrrp_drop_name((enum vrrp_drop)d), NULL);
}

/* How long ago the master (another router) was last heard; only for an
 * instance that has heard one and is not master itself. */
static void metrics_master_age(const struct vrrp_engine *e, uint64_t now, struct strbuf *out)
{
	prom_family(out, "dsrkit_vrrp_master_advert_age_seconds", "gauge",
		    "Seconds since the last advert of the master (instances not master that heard one).");
	for (size_t i = 0; i < e->ninsts; i++) {
		const struct vrrp_inst *in = e->insts[i];

		if (in->fsm.state != VRRP_STATE_MASTER && in->fsm.last_advert_ms && now >= in->fsm.last_advert_ms)
			prom_dbl(out, "dsrkit_vrrp_master_advert_age_seconds",
				 (double)(now - in->fsm.last_advert_ms) / 1000.0, "vrrp_instance", in->conf->name, NULL);
	}
	prom_family(out, "dsrkit_vrrp_track_script_up", "gauge", "1 when the track script succeeds, 0 when it fails "
		    "or is not known yet.");
	for (size_t i = 0; i < e->nscripts; i++)
		prom_u64(out, "dsrkit_vrrp_track_script_up", e->scripts[i]->rf.known && e->scripts[i]->rf.up, "script",
			 e->scripts[i]->conf->name, NULL);
}

void vrrp_engine_metrics(const struct vrrp_engine *e, uint64_t now, struct strbuf *out)
{
	metrics_states(e, out);
	metrics_counters(e, out);
	metrics_master_age(e, now, out);
}
