/* The VRRP engine's side of [track_process] (proctrack.h): the process
 * watch's counts (through the kernel seam, so a unit test feeds its own),
 * turned into verdicts by the pure core with the delays as one timer on
 * the loop. Nothing here waits: the watch works in its own thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "evloop.h"
#include "json.h"
#include "log.h"
#include "proctrack.h"
#include "vrrp_net.h"

struct proc_track {
	const struct track_process_conf *conf;
	struct proc_verdict v;
};

struct proc_tracker {
	struct evloop *loop;
	const struct vrrp_kernel_ops *kernel;
	struct proc_watch *watch;
	int fd;
	struct proc_track *tracks;
	size_t n;
	enum proc_watch_mode mode;
	struct ev_timer timer;		/* the earliest delay running out */
	proc_tracker_changed changed;
	void *arg;
};

static void arm(struct proc_tracker *pt)
{
	uint64_t due = 0;

	for (size_t i = 0; i < pt->n; i++)
		if (pt->tracks[i].v.due_ms && (!due || pt->tracks[i].v.due_ms < due))
			due = pt->tracks[i].v.due_ms;
	if (due)
		ev_timer_start_at(pt->loop, &pt->timer, due);
	else
		ev_timer_stop(pt->loop, &pt->timer);
}

static void log_verdict(const struct proc_track *t)
{
	log_info("track_process %s: %s (%u running)", t->conf->name, t->v.up ? "up" : "down", t->v.count);
}

static void on_event(const struct proc_watch_event *ev, void *arg)
{
	struct proc_tracker *pt = arg;
	struct proc_track *t;

	if (ev->kind == PROC_WATCH_MODE) {
		pt->mode = (enum proc_watch_mode)ev->count;
		log_info("track_process: new processes found by %s", proc_watch_mode_name(pt->mode));
		return;
	}
	if (ev->index >= pt->n)
		return;
	t = &pt->tracks[ev->index];
	if (proc_verdict_count(&t->v, t->conf, ev->count, now_ms())) {
		log_verdict(t);
		pt->changed(pt->arg);
	}
}

static void watch_stop(struct proc_tracker *pt);

static void readable(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct proc_tracker *pt = arg;
	int ret = pt->kernel->proc_watch_read(pt->watch, on_event, pt);

	(void)events;
	(void)loop;
	(void)fd;
	if (ret < 0) {
		/* The verdicts stay as they were: better than none; a reload
		 * starts a new watch. */
		log_warnx("track_process: the process watch ended (%s); verdicts change no more until a reload",
			  strerror(-ret));
		watch_stop(pt);
	}
	arm(pt);
}

static void timer_cb(struct evloop *loop, struct ev_timer *timer, void *arg)
{
	struct proc_tracker *pt = arg;
	bool changed = false;
	uint64_t now = now_ms();

	(void)loop;
	(void)timer;
	for (size_t i = 0; i < pt->n; i++)
		if (proc_verdict_timeout(&pt->tracks[i].v, now)) {
			log_verdict(&pt->tracks[i]);
			changed = true;
		}
	arm(pt);
	if (changed)
		pt->changed(pt->arg);
}

static void watch_stop(struct proc_tracker *pt)
{
	if (!pt->watch)
		return;
	ev_fd_del(pt->loop, pt->fd);
	pt->kernel->proc_watch_close(pt->watch);
	pt->watch = NULL;
}

static int watch_start(struct proc_tracker *pt, const struct track_process_conf *tracks)
{
	int ret;

	pt->mode = PROC_WATCH_STARTING;
	if (!tracks)
		return 0;
	if (!pt->kernel->proc_watch_open)
		return -ENOSYS;
	if ((ret = pt->kernel->proc_watch_open(tracks, 0, &pt->watch, &pt->fd)) < 0)
		return ret;
	if ((ret = ev_fd_add(pt->loop, pt->fd, EPOLLIN, readable, pt)) < 0)
		watch_stop(pt);
	return ret;
}

static bool same_track(const struct track_process_conf *a, const struct track_process_conf *b)
{
	return strcasecmp(a->name, b->name) == 0 && strcmp(a->process, b->process) == 0 &&
	       (a->args ? b->args && strcmp(a->args, b->args) == 0 : !b->args) && a->param_match == b->param_match &&
	       a->full_command == b->full_command && a->quorum == b->quorum &&
	       a->quorum_max.set == b->quorum_max.set && a->quorum_max.value == b->quorum_max.value &&
	       a->terminate_delay_ms == b->terminate_delay_ms && a->fork_delay_ms == b->fork_delay_ms &&
	       a->weight == b->weight;
}

/* The array for tracks, verdicts carried from old where unchanged; *same:
 * every section as before, in the same order (the watch may stay). */
static struct proc_track *build(const struct vrrp_kernel_ops *kernel, const struct track_process_conf *tracks,
				const struct proc_track *old, size_t nold, size_t *n, bool *same)
{
	struct proc_track *a;
	size_t count = 0;

	for (const struct track_process_conf *t = tracks; t; t = t->next)
		count++;
	if (!(a = kernel->calloc ? kernel->calloc(count + 1, sizeof(*a)) : calloc(count + 1, sizeof(*a))))
		return NULL;
	*same = count == nold;
	*n = 0;
	for (const struct track_process_conf *t = tracks; t; t = t->next, (*n)++) {
		a[*n].conf = t;
		for (size_t i = 0; i < nold; i++)
			if (same_track(old[i].conf, t))
				a[*n].v = old[i].v;
		*same = *same && same_track(old[*n].conf, t);
	}
	return a;
}

int proc_tracker_start(struct evloop *loop, const struct vrrp_kernel_ops *kernel,
		       const struct track_process_conf *tracks, proc_tracker_changed changed, void *arg,
		       struct proc_tracker **out)
{
	struct proc_tracker *pt = calloc(1, sizeof(*pt));
	bool same;
	int ret;

	if (!pt)
		return -ENOMEM;
	pt->loop = loop;
	pt->kernel = kernel;
	pt->fd = -1;
	pt->changed = changed;
	pt->arg = arg;
	ev_timer_init(&pt->timer, timer_cb, pt);
	if (!(pt->tracks = build(kernel, tracks, NULL, 0, &pt->n, &same)) || (ret = watch_start(pt, tracks)) < 0) {
		ret = pt->tracks ? ret : -ENOMEM;
		proc_tracker_stop(pt);
		return ret;
	}
	*out = pt;
	return 0;
}

int proc_tracker_reload(struct proc_tracker *pt, const struct track_process_conf *tracks)
{
	bool same;
	size_t n;
	int ret;
	struct proc_track *fresh = build(pt->kernel, tracks, pt->tracks, pt->n, &n, &same);

	/* Nothing changed: the caller keeps the old configuration. */
	if (!fresh)
		return -ENOMEM;
	free(pt->tracks);
	pt->tracks = fresh;
	pt->n = n;
	arm(pt);
	if (same && pt->watch)
		return 0;
	/* The new watch's first counts meet the carried verdicts, delays
	 * and all: a process that did not stop moves nothing. One that cannot
	 * start leaves the verdicts as they are rather than failing the
	 * reload, which would take the instances down. */
	watch_stop(pt);
	if ((ret = watch_start(pt, tracks)) < 0)
		log_warnx("track_process: the process watch did not start again (%s); verdicts no longer change",
			  strerror(-ret));
	return 0;
}

void proc_tracker_stop(struct proc_tracker *pt)
{
	if (!pt)
		return;
	watch_stop(pt);
	ev_timer_stop(pt->loop, &pt->timer);
	free(pt->tracks);
	free(pt);
}

const struct proc_verdict *proc_tracker_find(const struct proc_tracker *pt, const char *name,
					     const struct track_process_conf **conf)
{
	for (size_t i = 0; pt && i < pt->n; i++)
		if (strcasecmp(pt->tracks[i].conf->name, name) == 0) {
			*conf = pt->tracks[i].conf;
			return &pt->tracks[i].v;
		}
	return NULL;
}

static const char *verdict_name(const struct proc_verdict *v)
{
	return !v->known ? "unknown" : v->up ? "up" : "down";
}

void proc_tracker_status_json(const struct proc_tracker *pt, struct json *j)
{
	json_array_begin(j, "track_processes");
	for (size_t i = 0; pt && i < pt->n; i++) {
		const struct proc_track *t = &pt->tracks[i];

		json_object_begin(j, NULL);
		json_string(j, "name", t->conf->name);
		json_string(j, "result", verdict_name(&t->v));
		json_uint(j, "running", t->v.count);
		json_bool(j, "changing", t->v.due_ms != 0);
		json_string(j, "found_by", proc_watch_mode_name(pt->mode));
		json_object_end(j);
	}
	json_array_end(j);
}

void proc_tracker_status_text(const struct proc_tracker *pt, struct strbuf *out)
{
	for (size_t i = 0; pt && i < pt->n; i++) {
		const struct proc_track *t = &pt->tracks[i];

		sb_printf(out, "track_process %-11s %s (%u running%s; by %s)\n", t->conf->name, verdict_name(&t->v),
			  t->v.count, t->v.due_ms ? ", changing after its delay" : "", proc_watch_mode_name(pt->mode));
	}
}
