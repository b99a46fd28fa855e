/* Local health checks: is the service answering on the VIP?
 *
 * Each configured check is one probe of common/probe.c, the same code that
 * directord checks its real servers with: attempts every interval on the
 * daemon's loop that never block it (non-blocking sockets, script
 * children with a timeout). Results go through the rise/fall machine so
 * one lost packet does not flap the report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "probe.h"
#include "rs-agent.h"

/* Checks start this far apart so a restart does not fire them all at once. */
#define CHECK_STAGGER_MS 50

struct check_run {
	struct health *h;
	const struct check_conf *conf;
	struct check_status st;
	struct hc_probe *probe;		/* NULL when the check could not start */
};

struct health {
	struct evloop *loop;
	struct check_run *runs;
	size_t nruns;
	char *script_user;
	health_change_cb on_change;
	void *arg;
};

/* ---- the rise/fall machine (pure) ---- */

static bool result_passes(enum check_result res)
{
	/* A warning is worth knowing about but the service still answers. */
	return res == CHECK_PASS || res == CHECK_WARN;
}

/* Through common/risefall: the first result decides, and counts as a
 * change because up/down became known. */
bool check_status_record(struct check_status *st, enum check_result res, const char *reason,
			 uint64_t duration_ms, int64_t when)
{
	bool pass = result_passes(res);
	bool changed = risefall_record(&st->rf, pass, st->conf ? st->conf->rise : 1, st->conf ? st->conf->fall : 1);

	st->last = res;
	strlcpy_safe(st->last_reason, reason ? reason : "", sizeof(st->last_reason));
	st->last_time = when;
	st->last_duration_ms = duration_ms;
	prom_hist_observe(&st->latency, duration_ms);
	st->runs++;
	if (pass)
		st->passes++;
	else
		st->failures++;
	return changed;
}

/* ---- one attempt ---- */

/* ---- one check ---- */

/* Record an attempt and tell the daemon when up/down changed. on_change
 * runs inside the probe's callback: it may read anything but must not
 * call health_stop(). */
static void check_done(struct hc_probe *probe, const struct hc_outcome *o, void *arg)
{
	struct check_run *run = arg;
	struct health *h = run->h;
	enum check_result res = o->result == HC_PASS ? CHECK_PASS : CHECK_FAIL;

	(void)probe;
	log_debug("check %s: %s%s%s", run->conf->name, res == CHECK_PASS ? "pass" : "fail", o->reason[0] ? ": " : "",
		  o->reason);
	if (check_status_record(&run->st, res, o->reason, o->duration_ms, wall_time()) && h->on_change)
		h->on_change(&run->st, h->arg);
}

static const int probe_type[] = {
	[CHECK_TCP] = HC_TCP, [CHECK_HTTP] = HC_HTTP, [CHECK_SCRIPT] = HC_SCRIPT, [CHECK_HTTPS] = HC_HTTPS,
};

static void check_spec(const struct health *h, const struct check_conf *c, size_t i, struct hc_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->type = c->type >= 0 && (size_t)c->type < sizeof(probe_type) / sizeof(probe_type[0]) ? probe_type[c->type] :
		  HC_NONE;
	s->addr = c->address;
	s->port = (uint16_t)c->port;
	s->interval_ms = c->interval_ms ? c->interval_ms : 1000;
	s->timeout_ms = c->timeout_ms;
	s->first_delay_ms = (uint64_t)i * CHECK_STAGGER_MS;
	s->path = c->path;
	s->host = c->host;
	s->user_agent = "dsrkit-rs-agent";
	s->status_lo = c->expect_status.lo;
	s->status_hi = c->expect_status.hi;
	s->body = c->expect_body;
	s->command = c->command;
	s->script_user = h->script_user;
}

static void check_start(struct health *h, struct check_run *run, size_t i)
{
	struct hc_spec spec;
	int ret;

	check_spec(h, run->conf, i, &spec);
	ret = 0;
	if (spec.type == HC_HTTPS) {
		/* The probe takes a reference of its own. */
		const struct check_conf *c = run->conf;

		ret = tls_client_get(c->tls_ca_file.pem, c->tls_cert_file.pem, c->tls_key_file.pem, &spec.tls);
	}
	if (ret == 0)
		ret = hc_probe_start(h->loop, &spec, check_done, run, &run->probe);
	tls_client_put(spec.tls);
	if (ret < 0) {
		/* Not up until it can run: the agent reports it down. */
		snprintf(run->st.last_reason, sizeof(run->st.last_reason), "cannot be run: %s", strerror(-ret));
		log_warnx("check %s: %s", run->conf->name, run->st.last_reason);
	}
}

/* ---- the set of checks ---- */

int health_start(struct evloop *loop, const struct rs_config *cfg, const char *script_user,
		 health_change_cb on_change, void *arg, struct health **out)
{
	const struct check_conf *c;
	struct health *h;
	size_t n = 0, i = 0;

	*out = NULL;
	for (c = cfg->checks; c; c = c->next)
		n++;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->on_change = on_change;
	h->arg = arg;
	if ((script_user && !(h->script_user = strdup(script_user))) ||
	    (n > 0 && !(h->runs = calloc(n, sizeof(*h->runs))))) {
		free(h->script_user);
		free(h);
		return -ENOMEM;
	}
	h->nruns = n;
	for (c = cfg->checks; c; c = c->next, i++) {
		struct check_run *run = &h->runs[i];

		run->h = h;
		run->conf = c;
		run->st.conf = c;
		run->st.last = CHECK_UNKNOWN;
		strlcpy_safe(run->st.last_reason, "not checked yet", sizeof(run->st.last_reason));
		check_start(h, run, i);
	}
	*out = h;
	return 0;
}

void health_stop(struct health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nruns; i++)
		hc_probe_stop(h->runs[i].probe);
	free(h->runs);
	free(h->script_user);
	free(h);
}

static bool same_check(const struct check_conf *a, const struct check_conf *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type && a->port == b->port &&
	       ipaddr_equal(&a->address, &b->address) &&
	       strcmp(a->command ? a->command : "", b->command ? b->command : "") == 0 &&
	       strcmp(a->path ? a->path : "", b->path ? b->path : "") == 0;
}

void health_adopt(struct health *h, const struct health *old)
{
	for (size_t i = 0; h && old && i < h->nruns; i++) {
		for (size_t j = 0; j < old->nruns; j++) {
			if (same_check(h->runs[i].conf, old->runs[j].conf)) {
				h->runs[i].st = old->runs[j].st;
				h->runs[i].st.conf = h->runs[i].conf;
				break;
			}
		}
	}
}

size_t health_count(const struct health *h)
{
	return h ? h->nruns : 0;
}

const struct check_status *health_get(const struct health *h, size_t i)
{
	if (!h || i >= h->nruns)
		return NULL;
	return &h->runs[i].st;
}

/* A check with no result yet is not up: say nothing good before knowing. */
bool health_all_up(const struct health *h, const struct check_status **failing)
{
	if (failing)
		*failing = NULL;
	for (size_t i = 0; h && i < h->nruns; i++) {
		if (!h->runs[i].st.rf.up) {
			if (failing)
				*failing = &h->runs[i].st;
			return false;
		}
	}
	return true;
}
