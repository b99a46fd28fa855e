/* rs-agent run: keep the DR state true, run the local checks, answer the
 * directors on the agent port and the operator on the control socket. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "ctlsock.h"
#include "daemonize.h"
#include "httpserv.h"
#include "json.h"
#include "log.h"
#include "privdrop.h"
#include "rs-agent.h"
#include "rtnl.h"
#include "sdnotify.h"

/* A reload's file is checked in a child process first (cfgcheck.h); the
 * agent waits this long for it at most (rs-agent(8) gives the bound). */
#define RELOAD_CHECK_TIMEOUT_MS 10000
/* The metrics endpoint: scrapes at a time, one scrape's whole time, the
 * largest answer (a few kilobytes are usual, but every network device
 * adds some 300 bytes of ARP settings, and a container host has
 * thousands: 16 MiB is some 50,000 devices, as rs-agent(8) says). */
#define METRICS_MAX_CLIENTS 4
#define METRICS_TIMEOUT_MS 5000
#define METRICS_MAX_ANSWER (16 * 1024 * 1024)

struct daemon {
	struct rs_config *cfg;
	struct evloop *loop;
	struct kernel_ops kernel;
	struct state_dir state;
	struct applied_state applied;
	bool applied_writable;		/* root: until privileges are dropped */
	enum admin_state admin;

	struct rtnl_watch *watch;
	int watch_fd;
	struct health *health;
	struct agent_server *agent;
	struct ctlserver *ctl;
	int ctl_fd;
	struct httpsrv *metrics;	/* NULL: global.metrics_listen not set */
	struct cfgcheck_job *check_job;	/* a reload's file being checked */
	uint64_t reload_ticket;		/* the control client that asked for it; 0: SIGHUP */
	bool reload_again;		/* SIGHUP meanwhile: once more after it */
	struct ev_timer reload_timer;

	struct ev_timer verify_timer;	/* periodic: /proc writes raise no event */
	struct ev_timer repair_timer;	/* zero delay: coalesces netlink events */
	struct ev_timer weight_timer;

	bool verbose;			/* -v: debug logs, kept across reloads */
	bool dr_ok;
	char dr_problem[128];
	int weight_pct;			/* -1: no load weighting */
	int64_t started;
	uint64_t last_rejected_addr;
	struct ratelimit reject_log;

	struct {
		uint64_t passes, repairs, repair_errors, events, overruns, reloads, reload_failures;
		uint64_t vip_repairs;	/* of repairs */
	} count;
};

static void notify_systemd(const char *state)
{
	int ret = sd_notify_state(state);

	if (ret < 0)
		log_debug("sd_notify %s: %s", state, strerror(-ret));
}

/* ---- keeping the DR state true ---- */

/* Only root writes state_dir/applied, since root acts on it. After the
 * drop, what changes (a VIP a reload adds, a new interface's originals) is
 * kept in memory; the next start records it, as root. */
static void save_applied(struct daemon *d)
{
	int ret;

	if (!d->applied_writable)
		return;
	ret = applied_state_save_if_changed(&d->state, &d->applied);
	if (ret < 0)
		log_warnx("saving %s/applied: %s", d->state.path, strerror(-ret));
}

static void log_changes(const struct dr_report *rep, const char *why)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->items[i].changed)
			log_info("%s: %s", why, rep->items[i].text);
}

/* One pass: repair (or, with repair off, only look), then update what the
 * agent reports. */
static void dr_pass(struct daemon *d, const char *why)
{
	struct dr_report rep;

	dr_report_init(&rep);
	d->count.passes++;
	if (d->cfg->repair) {
		dr_apply(d->cfg, &d->kernel, &d->applied, &rep);
		d->count.repairs += rep.changes;
		d->count.vip_repairs += rep.vip_changes;
		save_applied(d);
		d->count.repair_errors += rep.errors;
		log_changes(&rep, why);
	} else {
		dr_verify(d->cfg, &d->kernel, &rep);
	}
	/* A lasting problem is logged when it starts and when it ends, not at
	 * every pass. */
	if (strcmp(d->dr_problem, rep.first_problem) != 0) {
		if (rep.first_problem[0])
			log_warnx("DR state is wrong, reporting down: %s", rep.first_problem);
		else
			log_info("DR state is right again");
	}
	d->dr_ok = rep.worst < DR_CRITICAL;
	strlcpy_safe(d->dr_problem, rep.first_problem, sizeof(d->dr_problem));
	dr_report_free(&rep);
}

static void repair_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	dr_pass(arg, "drift corrected");
}

static void log_rejections(struct daemon *d)
{
	const struct agent_counters *c;
	uint64_t fresh;

	if (!d->agent)
		return;
	c = agent_server_counters(d->agent);
	fresh = c->rejected_addr - d->last_rejected_addr;
	if (fresh && ratelimit_allow(&d->reject_log, now_ms())) {
		log_warnx("agent port: refused %llu connection(s) from addresses not on agent.allow",
			  (unsigned long long)fresh);
		d->last_rejected_addr = c->rejected_addr;
	}
}

static void verify_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;

	dr_pass(d, "drift corrected");
	log_rejections(d);
	ev_timer_start(loop, t, d->cfg->verify_interval_ms);
}

static bool event_concerns_us(const struct daemon *d, const struct rtnl_event *ev)
{
	if (ev->type == RTNL_EV_LINK_NEW || ev->type == RTNL_EV_LINK_DEL)
		return true;	/* new device, or a SETLINK that may have flipped ARP */
	for (size_t i = 0; i < d->cfg->vips.n; i++)
		if (ipaddr_equal(&d->cfg->vips.items[i], &ev->addr))
			return true;
	return false;
}

static void on_rtnl_event(const struct rtnl_event *ev, void *arg)
{
	struct daemon *d = arg;

	d->count.events++;
	if (event_concerns_us(d, ev) && !ev_timer_armed(&d->repair_timer))
		ev_timer_start(d->loop, &d->repair_timer, 0);
}

static void watch_readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	int ret;

	(void)fd;
	(void)events;
	ret = rtnl_watch_read(d->watch, on_rtnl_event, d);
	if (ret == -ENOBUFS) {
		/* Events were lost: look at everything. */
		d->count.overruns++;
		ev_timer_start(loop, &d->repair_timer, 0);
	} else if (ret < 0) {
		log_warnx("reading netlink events: %s", strerror(-ret));
	}
}

/* ---- load weighting ---- */

static void weight_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;
	unsigned pct;
	int ret;

	if (d->cfg->weight_source == WEIGHT_NONE) {
		d->weight_pct = -1;
		return;
	}
	ret = load_weight_read(d->cfg->weight_source, d->cfg->min_weight, &pct);
	if (ret < 0) {
		log_warnx("reading load for agent.weight_from: %s", strerror(-ret));
		d->weight_pct = -1;
	} else {
		d->weight_pct = (int)pct;
	}
	ev_timer_start(loop, t, d->cfg->weight_interval_ms);
}

/* ---- what the directors are told ---- */

static void compose(struct daemon *d, struct agent_reply *r)
{
	const struct check_status *failing = NULL;
	char problem[160] = "";
	struct report_input in = {
		.admin = d->admin,
		.dr_ok = d->dr_ok,
		.dr_problem = d->dr_problem,
		.checks_ok = d->health ? health_all_up(d->health, &failing) : true,
		.weight_pct = d->weight_pct,
	};

	if (failing)
		snprintf(problem, sizeof(problem), "check %s: %s", failing->conf->name,
			 failing->rf.known ? failing->last_reason : "no result yet");
	in.check_problem = problem;
	report_compose(&in, r);
}

static void agent_reply(struct agent_reply *r, void *arg)
{
	compose(arg, r);
}

static void on_check_change(const struct check_status *st, void *arg)
{
	(void)arg;
	if (st->rf.up)
		log_info("check %s: up", st->conf->name);
	else
		log_warnx("check %s: down (%s)", st->conf->name, st->last_reason);
}

/* ---- status ---- */

static const char *check_result_name(enum check_result r)
{
	static const char *const names[] = { "none", "pass", "warn", "fail" };

	return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "?";
}

static const char *check_type_name(int t)
{
	return t == CHECK_HTTP ? "http" : t == CHECK_HTTPS ? "https" : t == CHECK_SCRIPT ? "script" : "tcp";
}

static void check_target(const struct check_conf *c, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (c->type == CHECK_SCRIPT) {
		strlcpy_safe(buf, c->command, size);
		return;
	}
	ipaddr_ntop(&c->address, addr, sizeof(addr));
	snprintf(buf, size, c->address.family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, c->port);
}

static void status_json(struct daemon *d, const struct dr_report *live, const char *line, struct strbuf *out)
{
	const struct agent_counters *ac = d->agent ? agent_server_counters(d->agent) : NULL;
	struct json j;

	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_int(&j, "pid", getpid());
	json_int(&j, "uptime_s", wall_time() - d->started);
	json_string(&j, "config", d->cfg->path);
	json_string(&j, "admin", admin_state_name(d->admin));
	json_string(&j, "report", line);
	json_object_begin(&j, "dr");
	json_bool(&j, "ok", live->worst < DR_CRITICAL);
	json_bool(&j, "repair", d->cfg->repair);
	json_string(&j, "interface", d->cfg->interface);
	json_array_begin(&j, "items");
	for (size_t i = 0; i < live->n; i++) {
		static const char *const sev[] = { "ok", "warning", "critical" };

		json_object_begin(&j, NULL);
		json_string(&j, "severity", sev[live->items[i].severity]);
		json_string(&j, "text", live->items[i].text);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_array_begin(&j, "checks");
	for (size_t i = 0; d->health && i < health_count(d->health); i++) {
		const struct check_status *st = health_get(d->health, i);
		char target[128];

		check_target(st->conf, target, sizeof(target));
		json_object_begin(&j, NULL);
		json_string(&j, "name", st->conf->name);
		json_string(&j, "type", check_type_name(st->conf->type));
		json_string(&j, "target", target);
		json_string(&j, "state", !st->rf.known ? "unknown" : st->rf.up ? "up" : "down");
		json_string(&j, "last_result", check_result_name(st->last));
		json_string(&j, "last_reason", st->last_reason);
		json_int(&j, "last_time", st->last_time);
		json_uint(&j, "last_duration_ms", st->last_duration_ms);
		json_uint(&j, "runs", st->runs);
		json_uint(&j, "passes", st->passes);
		json_uint(&j, "failures", st->failures);
		json_object_end(&j);
	}
	json_array_end(&j);
	if (d->weight_pct >= 0)
		json_int(&j, "weight_pct", d->weight_pct);
	else
		json_null(&j, "weight_pct");
	json_object_begin(&j, "counters");
	json_uint(&j, "verify_passes", d->count.passes);
	json_uint(&j, "repairs", d->count.repairs);
	json_uint(&j, "repair_errors", d->count.repair_errors);
	json_uint(&j, "netlink_events", d->count.events);
	json_uint(&j, "netlink_overruns", d->count.overruns);
	json_uint(&j, "reloads", d->count.reloads);
	json_uint(&j, "reload_failures", d->count.reload_failures);
	json_uint(&j, "agent_served", ac ? ac->served : 0);
	json_uint(&j, "agent_rejected_addr", ac ? ac->rejected_addr : 0);
	json_uint(&j, "agent_rejected_busy", ac ? ac->rejected_busy : 0);
	json_uint(&j, "agent_errors", ac ? ac->errors : 0);
	json_object_end(&j);
	json_object_end(&j);
	sb_append(out, "\n");
}

static void status_text(struct daemon *d, const struct dr_report *live, const char *line, struct strbuf *out)
{
	static const char *const sev[] = { "ok", "WARNING", "CRITICAL" };
	const struct agent_counters *ac = d->agent ? agent_server_counters(d->agent) : NULL;

	sb_printf(out, "rs-agent (pid %d), up %llds, config %s\n", (int)getpid(),
		  (long long)(wall_time() - d->started), d->cfg->path);
	sb_printf(out, "admin state:  %s\n", admin_state_name(d->admin));
	sb_printf(out, "reporting:    %s\n", line);
	sb_printf(out, "DR state:     %s%s\n", live->worst < DR_CRITICAL ? "ok" : "BROKEN",
		  d->cfg->repair ? "" : " (repair off)");
	for (size_t i = 0; i < live->n; i++)
		sb_printf(out, "  %-8s %s\n", sev[live->items[i].severity], live->items[i].text);
	sb_printf(out, "checks:       %zu\n", d->health ? health_count(d->health) : (size_t)0);
	for (size_t i = 0; d->health && i < health_count(d->health); i++) {
		const struct check_status *st = health_get(d->health, i);
		char target[128];

		check_target(st->conf, target, sizeof(target));
		sb_printf(out, "  %-12s %-6s %-7s %s, last %s%s%s, %llu runs, %llu failures\n", st->conf->name,
			  check_type_name(st->conf->type), !st->rf.known ? "unknown" : st->rf.up ? "up" : "DOWN", target,
			  check_result_name(st->last), st->last_reason[0] ? ": " : "", st->last_reason,
			  (unsigned long long)st->runs, (unsigned long long)st->failures);
	}
	if (d->weight_pct >= 0)
		sb_printf(out, "load weight:  %d%%\n", d->weight_pct);
	sb_printf(out, "counters:     %llu verify passes, %llu repairs, %llu netlink events, %llu reloads (%llu failed)\n",
		  (unsigned long long)d->count.passes, (unsigned long long)d->count.repairs,
		  (unsigned long long)d->count.events, (unsigned long long)d->count.reloads,
		  (unsigned long long)d->count.reload_failures);
	if (ac)
		sb_printf(out, "agent port:   %llu served, %llu refused (not allowed), %llu refused (busy)\n",
			  (unsigned long long)ac->served, (unsigned long long)ac->rejected_addr,
			  (unsigned long long)ac->rejected_busy);
}

static void status_reply(struct daemon *d, bool json, struct strbuf *out)
{
	struct agent_reply r;
	struct dr_report live;
	char line[AGENT_LINE_MAX];

	compose(d, &r);
	if (agent_reply_format(&r, line, sizeof(line)) < 0)
		strlcpy_safe(line, "?", sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	dr_report_init(&live);
	dr_verify(d->cfg, &d->kernel, &live);
	if (json)
		status_json(d, &live, line, out);
	else
		status_text(d, &live, line, out);
	dr_report_free(&live);
}

/* ---- metrics ---- */

/* Metrics are small here (a few VIPs and checks): rendered and answered
 * at once, from the loop, like a status. */
static void metrics_scrape(struct httpsrv *s, uint64_t ticket, void *arg)
{
	struct daemon *d = arg;
	struct agent_reply r;
	struct strbuf out;
	struct rs_metrics_input in = {
		.cfg = d->cfg,
		.kernel = &d->kernel,
		.admin = d->admin,
		.reply = &r,
		.health = d->health,
		.agent = d->agent ? agent_server_counters(d->agent) : NULL,
		.http = httpsrv_counters(s),
		.repairs_vip = d->count.vip_repairs,
		.repairs_sysctl = d->count.repairs - d->count.vip_repairs,
		.repair_errors = d->count.repair_errors,
		.reloads = d->count.reloads,
		.reload_failures = d->count.reload_failures,
		.weight_pct = d->weight_pct,
		.started = d->started,
	};

	compose(d, &r);
	sb_init(&out);
	rs_metrics_render(&in, &out);
	if (out.failed)
		(void)httpsrv_answer(s, ticket, 500, "out of memory\n", 14);
	else
		(void)httpsrv_answer(s, ticket, 200, out.buf, out.len);
	sb_free(&out);
}

static struct httpsrv_conf metrics_conf(const struct rs_config *cfg)
{
	return (struct httpsrv_conf){ .allow = &cfg->metrics_allow, .max_clients = METRICS_MAX_CLIENTS,
				      .timeout_ms = METRICS_TIMEOUT_MS, .max_answer = METRICS_MAX_ANSWER };
}

/* Before the privilege drop: a port below 1024 needs root. */
static void open_metrics(struct daemon *d)
{
	struct httpsrv_conf conf = metrics_conf(d->cfg);
	int fd, ret;

	if (!d->cfg->metrics_listen.addr.family)
		return;
	if ((fd = tcp_listen_open(&d->cfg->metrics_listen, 16)) < 0)
		fatalx("global.metrics_listen: %s", strerror(-fd));
	if ((ret = httpsrv_start(d->loop, fd, &conf, metrics_scrape, d, &d->metrics)) < 0)
		fatalx("global.metrics_listen: %s", strerror(-ret));
}

/* ---- reload ---- */

/* Settings bound at start-up keep their running values; say so. */
static void keep_startup_string(char **running, char **fresh, const char *key)
{
	char *tmp;

	if (strcmp(*running, *fresh) == 0)
		return;
	log_warnx("reload: %s changed from '%s' to '%s'; this takes effect at the next restart",
		  key, *running, *fresh);
	tmp = *fresh;
	*fresh = *running;
	*running = tmp;
}

static void keep_startup_settings(struct rs_config *old, struct rs_config *fresh)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	keep_startup_string(&old->user, &fresh->user, "global.user");
	keep_startup_string(&old->control_socket, &fresh->control_socket, "global.control_socket");
	keep_startup_string(&old->state_dir, &fresh->state_dir, "global.state_dir");
	keep_startup_string(&old->pid_file, &fresh->pid_file, "global.pid_file");
	if (old->control_mode != fresh->control_mode ||
	    strcmp(old->control_group ? old->control_group : "", fresh->control_group ? fresh->control_group : "") != 0)
		log_warnx("reload: global.control_mode / control_group changed; this takes effect at the next restart");
	if (!ipaddr_equal(&old->listen.addr, &fresh->listen.addr) || old->listen.port != fresh->listen.port ||
	    old->agent_enabled != fresh->agent_enabled) {
		log_warnx("reload: agent.listen %s:%u / agent.enabled changed to %s:%u; this takes effect at the next restart",
			  ipaddr_ntop(&old->listen.addr, a, sizeof(a)), old->listen.port,
			  ipaddr_ntop(&fresh->listen.addr, b, sizeof(b)), fresh->listen.port);
		fresh->listen = old->listen;
		fresh->agent_enabled = old->agent_enabled;
	}
	if (!ini_endpoint_equal(&old->metrics_listen, &fresh->metrics_listen)) {
		log_warnx("reload: global.metrics_listen changed; this takes effect at the next restart");
		fresh->metrics_listen = old->metrics_listen;
	}
}

static int load_bytes(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	struct rs_config *c = NULL;
	int ret = rs_config_load_buffer(path, buf, len, &c, diag);

	*cfg = c;
	return ret;
}

static void free_config(void *cfg)
{
	rs_config_free(cfg);
}

static void reload_begin(struct daemon *d, uint64_t ticket);

/* The end of a reload: its client answered, a SIGHUP that came meanwhile
 * reloads once more. */
static void reload_end(struct daemon *d, bool ok, const char *why)
{
	struct strbuf out;

	sb_init(&out);
	if (ok)
		ctl_reply_ok(&out, NULL, NULL);
	else
		ctl_reply_error(&out, why);
	if (d->reload_ticket && d->ctl)
		(void)ctlserver_answer(d->ctl, d->reload_ticket, sb_str(&out), out.len);
	sb_free(&out);
	d->reload_ticket = 0;
	notify_systemd("READY=1");
	if (d->reload_again) {
		d->reload_again = false;
		ev_timer_start(d->loop, &d->reload_timer, 0);
	}
}

static void reload_apply(struct daemon *d, struct rs_config *fresh)
{
	struct health *fresh_health = NULL;
	struct dr_report rep;
	int ret;

	keep_startup_settings(d->cfg, fresh);
	dr_report_init(&rep);
	dr_prune_vips(fresh, &d->kernel, &d->applied, &rep);
	log_changes(&rep, "reload");
	dr_report_free(&rep);

	if (d->agent)
		agent_server_update(d->agent, fresh);
	if (d->metrics) {
		struct httpsrv_conf conf = metrics_conf(fresh);

		if (httpsrv_update(d->metrics, &conf) < 0)
			log_warnx("reload: out of memory: global.metrics_allow keeps its old value");
	}
	ret = health_start(d->loop, fresh, NULL, on_check_change, d, &fresh_health);
	if (ret < 0)
		log_warnx("starting checks: %s", strerror(-ret));
	health_adopt(fresh_health, d->health);
	health_stop(d->health);
	d->health = fresh_health;
	rs_config_free(d->cfg);
	d->cfg = fresh;
	log_setlevel(d->verbose ? LOG_LEVEL_DEBUG : (enum log_level)fresh->log_level);
	dr_pass(d, "reload");
	save_applied(d);
	ev_timer_start(d->loop, &d->verify_timer, d->cfg->verify_interval_ms);
	ev_timer_start(d->loop, &d->weight_timer, 0);
	d->count.reloads++;
	log_info("configuration reloaded");
}

/* The file, read once and checked in a child process (a crash or a hang
 * of a check refuses it instead of ending the agent and its VIPs) while
 * the loop goes on, then loaded from the same bytes (cfgcheck.h). Every
 * message is logged and goes to the one who asked. */
static void reload_checked(int ret, void *cfg, int image, const struct ini_diag *diag, void *arg)
{
	struct daemon *d = arg;
	struct strbuf why;

	(void)image;	/* -1: this loader makes no image */
	d->check_job = NULL;
	sb_init(&why);
	for (size_t i = 0; i < diag->n; i++) {
		log_warnx("%s", diag->msgs[i]);
		sb_printf(&why, "%s%s", i ? "; " : "", diag->msgs[i]);
	}
	if (ret < 0)
		d->count.reload_failures++;
	else
		reload_apply(d, cfg);
	reload_end(d, ret == 0, sb_str(&why));
	sb_free(&why);
}

static void reload_begin(struct daemon *d, uint64_t ticket)
{
	static const struct cfgcheck_loader loader = { load_bytes, free_config, NULL, NULL };
	char why[160];
	int ret;

	if (d->check_job) {
		if (!ticket) {
			log_info("SIGHUP during a reload: reloading again after it");
			d->reload_again = true;
		} else if (d->ctl) {
			struct strbuf busy;

			sb_init(&busy);
			ctl_reply_error(&busy, "a reload is in progress: ask again when it is done");
			(void)ctlserver_answer(d->ctl, ticket, sb_str(&busy), busy.len);
			sb_free(&busy);
		}
		return;
	}
	log_info("reloading %s", d->cfg->path);
	notify_systemd("RELOADING=1");
	d->reload_ticket = ticket;
	ret = cfgcheck_reload_start(d->loop, &loader, d->cfg->path, RELOAD_CHECK_TIMEOUT_MS, reload_checked, d,
				    &d->check_job);
	if (ret < 0) {
		snprintf(why, sizeof(why), "reload refused: the configuration check cannot run: %s", strerror(-ret));
		log_warnx("%s", why);
		d->count.reload_failures++;
		reload_end(d, false, why);
	}
}

static void reload_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	reload_begin(arg, 0);
}

/* ---- control socket ---- */

static void set_admin(struct daemon *d, enum admin_state a, struct strbuf *out)
{
	int ret = admin_state_save(&d->state, a);

	if (ret < 0) {
		char msg[sizeof(d->state.path) + 64];

		snprintf(msg, sizeof(msg), "saving the admin state in %s/" STATE_ADMIN_DIR ": %s", d->state.path,
			 strerror(-ret));
		log_warnx("%s", msg);
		ctl_reply_error(out, msg);
		return;
	}
	if (d->admin != a)
		log_info("admin state: %s -> %s", admin_state_name(d->admin), admin_state_name(a));
	d->admin = a;
	ctl_reply_ok(out, "admin", admin_state_name(a));
}

static void control(const struct ctl_request *req, struct strbuf *out, void *arg)
{
	struct daemon *d = arg;
	const char *cmd = req->argv[0];
	enum admin_state a;

	if (strcmp(cmd, "status") == 0 && req->argc <= 2) {
		bool json = req->argc == 2 && strcmp(req->argv[1], "json") == 0;

		if (req->argc == 2 && !json)
			ctl_reply_error(out, "usage: status [json]");
		else
			status_reply(d, json, out);
	} else if (admin_state_parse(cmd, &a) == 0 && req->argc == 1) {
		set_admin(d, a, out);
	} else if (strcmp(cmd, "reload") == 0 && req->argc == 1) {
		/* Answered when the check is done; the loop goes on meanwhile. */
		uint64_t ticket = ctlserver_defer(d->ctl, RELOAD_CHECK_TIMEOUT_MS + 5000);

		if (ticket)
			reload_begin(d, ticket);
		else
			ctl_reply_error(out, "out of memory");
	} else {
		ctl_reply_error(out, "unknown command; expected status [json], drain, ready, maint or reload");
	}
}

/* ---- signals ---- */

static void on_signal(struct evloop *loop, int signo, void *arg)
{
	if (signo == SIGHUP) {
		reload_begin(arg, 0);
		return;
	}
	log_info("%s: shutting down; VIPs and ARP settings stay in place (rs-agent remove undoes them)",
		 strsignal(signo));
	evloop_stop(loop);
}

/* ---- start-up ---- */

static void log_lines(const char *text)
{
	const char *end;

	for (; *text; text = end + (*end == '\n')) {
		end = strchrnul(text, '\n');
		log_warnx("%.*s", (int)(end - text), text);
	}
}

/* state_dir and admin.d; the unprivileged daemon keeps only admin.d's
 * descriptor, to save the admin state in. */
static void prepare_state(struct daemon *d, uid_t uid, gid_t gid)
{
	struct strbuf notes;
	char err[512];
	int ret;

	sb_init(&notes);
	ret = state_dir_prepare(d->cfg->state_dir, uid, gid, &d->state, &notes);
	log_lines(sb_str(&notes));
	sb_free(&notes);
	if (ret < 0)
		fatalx("cannot use the state directory %s", d->cfg->state_dir);
	d->applied_writable = true;
	if (admin_state_load(&d->state, &d->admin, err, sizeof(err)) < 0)
		log_warnx("%s; starting as ready", err);
	if (applied_state_load(&d->state, &d->applied, err, sizeof(err)) < 0)
		fatalx("%s (move it away to start afresh)", err);
	dr_default_labels(d->cfg, &d->applied);
}

/* After the drop: root's directory is no longer written, nor held open. */
static void state_after_drop(struct daemon *d, bool was_root)
{
	if (!was_root)
		return;
	d->applied_writable = false;
	close(d->state.dirfd);
	d->state.dirfd = -1;
}

static void open_control(struct daemon *d)
{
	char err[256];
	int ret = ctlsock_serve(d->loop, d->cfg->control_socket, d->cfg->control_group, d->cfg->control_mode, 2000,
				control, d, &d->ctl_fd, &d->ctl, err, sizeof(err));

	if (ret == -EADDRINUSE)
		fatalx("%s: another rs-agent is running", d->cfg->control_socket);
	if (ret < 0)
		fatalx("%s", err);
}

static void open_watch(struct daemon *d)
{
	int ret = rtnl_watch_open(&d->watch, &d->watch_fd);

	if (ret < 0)
		fatalx("netlink notifications: %s", strerror(-ret));
	ret = ev_fd_add(d->loop, d->watch_fd, EPOLLIN, watch_readable, d);
	if (ret < 0)
		fatalx("event loop: %s", strerror(-ret));
}

static void write_pid_file(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid()), ret;

	ret = make_parent_dir(path, 0755);
	if (ret == 0)
		ret = write_file_atomic(path, buf, (size_t)n, 0644);
	if (ret < 0)
		log_warnx("pid file %s: %s", path, strerror(-ret));
}

static void apply_at_start(struct daemon *d)
{
	int ret = dr_record(&d->kernel, &d->applied);

	if (ret < 0)
		fatalx("reading the current ARP settings: %s", strerror(-ret));
	save_applied(d);
	dr_pass(d, "apply");
}

static void start_timers(struct daemon *d)
{
	ev_timer_init(&d->verify_timer, verify_timer_cb, d);
	ev_timer_init(&d->repair_timer, repair_timer_cb, d);
	ev_timer_init(&d->weight_timer, weight_timer_cb, d);
	ev_timer_init(&d->reload_timer, reload_timer_cb, d);
	ev_timer_start(d->loop, &d->verify_timer, d->cfg->verify_interval_ms);
	ev_timer_start(d->loop, &d->weight_timer, 0);
}

static void add_signals(struct daemon *d)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (ev_signal_add(d->loop, sigs[i], on_signal, d) < 0)
			fatalx("signal handling");
}

static void shutdown_daemon(struct daemon *d)
{
	notify_systemd("STOPPING=1");
	cfgcheck_job_cancel(d->check_job);
	if (d->health)
		health_stop(d->health);
	if (d->agent)
		agent_server_stop(d->agent);
	httpsrv_stop(d->metrics);
	if (d->ctl)
		ctlserver_stop(d->ctl);
	if (d->ctl_fd >= 0)
		close(d->ctl_fd);
	if (d->watch)
		rtnl_watch_close(d->watch);
	/* Best effort: the directory may belong to root. */
	(void)unlink(d->cfg->control_socket);
	kernel_close(&d->kernel);
	state_dir_close(&d->state);
	applied_state_free(&d->applied);
	evloop_free(d->loop);
	rs_config_free(d->cfg);
}

int daemon_run(struct rs_config *cfg, bool detached, bool verbose)
{
	static const cap_value_t keep[] = { CAP_NET_ADMIN };
	struct daemon d = { .cfg = cfg, .weight_pct = -1, .ctl_fd = -1, .watch_fd = -1,
			    .state = { .dirfd = -1, .admin_fd = -1 } };
	bool root = geteuid() == 0;
	int ready_fd = -1, ret;
	uid_t uid;
	gid_t gid;

	d.verbose = verbose;
	d.reject_log = (struct ratelimit)RATELIMIT_INIT(10000, 5);
	d.started = wall_time();
	if (user_lookup(cfg->user, &uid, &gid) < 0)
		fatalx("global.user %s: no such user; %s", cfg->user,
		       cfg->user_named ? "create it or name another" : DAEMON_USER_HOW);
	if (cfg->user_warning[0])
		log_warnx("%s", cfg->user_warning);
	if (detached)
		ready_fd = daemon_detach("rs-agent");
	if (evloop_new(&d.loop) < 0)
		fatalx("event loop: out of memory");
	ret = kernel_open(&d.kernel);
	if (ret < 0)
		fatalx("rtnetlink: %s", strerror(-ret));
	prepare_state(&d, root ? uid : (uid_t)-1, gid);
	open_watch(&d);		/* before apply: no change may slip between */
	apply_at_start(&d);
	open_control(&d);
	if (cfg->agent_enabled) {
		ret = agent_server_start(d.loop, cfg, agent_reply, &d, &d.agent);
		if (ret < 0)
			fatalx("agent port: %s", strerror(-ret));
	}
	open_metrics(&d);
	if (detached)
		write_pid_file(cfg->pid_file);
	ret = privdrop(cfg->user, keep, ARRAY_SIZE(keep));
	if (ret < 0)
		fatalx("dropping privileges to %s: %s", cfg->user, strerror(-ret));
	state_after_drop(&d, root);
	ret = health_start(d.loop, d.cfg, NULL, on_check_change, &d, &d.health);
	if (ret < 0)
		fatalx("starting checks: %s", strerror(-ret));
	add_signals(&d);
	start_timers(&d);
	log_info("running as %s: %zu VIP(s) on %s, %zu check(s), agent port %s", cfg->user, cfg->vips.n,
		 cfg->interface, cfg->nchecks, cfg->agent_enabled ? "on" : "off");
	notify_systemd("READY=1");
	if (detached)
		daemon_ready(ready_fd, "rs-agent");
	ret = evloop_run(d.loop);
	shutdown_daemon(&d);
	return ret < 0 ? 1 : 0;
}
