/* The LVS engine's insides, shared by its files and by nothing else:
 *   lvs_engine.c   start, stop, probes and their verdicts, reload, the parent's requests
 *   lvs_kernel.c   reading the kernel's IPVS table and writing the difference
 *   lvs_syncd.c    the connection-sync daemon and the IPVS timeouts
 *   lvs_sysctl.c   the IPVS sysctls (net.ipv4.vs.*)
 *   lvs_status.c   status as text and JSON
 * The engine's interface to the rest of directord is lvs.h. */
#ifndef DSRKIT_LVS_ENGINE_INT_H
#define DSRKIT_LVS_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "directord.h"
#include "evloop.h"
#include "json.h"
#include "lvs.h"
#include "promtext.h"

#define IPVS_RETRY_MS 5000		/* reopening IPVS, retrying failed services */
#define RECONCILE_PART 1024		/* services per plan (lve_reconcile) */
/* At start, how long the sync daemon waits for the state of what it
 * follows: a restarted engine gets the parent's table at once, and must
 * not turn a running master daemon into a backup meanwhile. */
#define SYNC_SETTLE_MS 2000
#define STATUS_DUMP_MAX 1000		/* above this many services status shows no connection counts */
#define PROBE_ENV_MAX 6
#define NAME_MAX_LEN 64

struct rs_rt;
struct vs_rt;

/* What a probe does, and the strings its spec points to: the engine owns
 * them, so a probe kept across a reload does not point into the old
 * configuration. Allocated only for a probe that runs: tens of thousands
 * of servers without a check (or without an agent) carry none. */
struct probe_spec {
	struct hc_spec hc;
	char *path, *host, *body, *command;
	char *env[PROBE_ENV_MAX + 1];
	struct tls_client *tls;		/* https: a reference of its own */
};

/* One health probe of one real server, allocated only for a server that
 * has it; the probe's callback argument, so it stays put when a reload
 * moves its server (index follows). */
struct probe {
	struct vs_rt *vs;
	size_t index;			/* its server's, in vs->rs and vs->rt */
	bool is_agent;
	struct hc_probe *hp;
	struct probe_spec *spec;	/* never NULL */
	int err;			/* hc_probe_start failed: -errno */
	/* For metrics: every attempt's latency; an agent's replies by answer
	 * (the last: none, unreachable or not understood). */
	struct prom_hist latency;
	uint32_t answers[AGENT_ANSWER_COUNT + 1];
};

/* NULL (no probe) is LVS_CHECK_NONE. */
static inline int lve_probe_type(const struct probe *pr)
{
	return pr ? pr->spec->hc.type : LVS_CHECK_NONE;
}

/* A real server's runtime beside its state (vs->rs): 24 bytes for a
 * server without probes, of which there may be tens of thousands. */
struct rs_rt {
	struct probe *check, *agent;	/* NULL: none */
	enum lvs_rs_verdict verdict;	/* as last logged */
	int weight;
};

struct vs_rt {
	struct lvs_engine *e;
	const struct virtual_server_conf *conf;
	struct ipvs_service key;
	struct tls_client *tls;		/* check = https: its context, shared by its probes */
	bool taken;			/* during a reload: continued by a section of the new file */
	size_t nrs;
	struct lvs_rs_state *rs;	/* [nrs], contiguous as the policy wants it */
	struct rs_rt *rt;		/* [nrs] */
	bool has_quorum;
	bool quorum_quiet;		/* lost before any result (start-up): not logged */
	bool dirty;			/* in e->dirty */
	bool resync;			/* read it from the kernel before the next diff */
	bool failed;			/* a request of the current batch failed */
	bool reading, seen;		/* during a kernel read */
	int err;			/* the last failed request's, 0: none */
	/* What the policy wants, while a plan is made and applied (its dests
	 * are the plan's): the service holds only what the kernel has. */
	struct lvs_service want;
	struct lvs_service have;	/* what the kernel holds, as far as we know */
	size_t have_cap;
	bool present;			/* the service is in the kernel */
	/* announce = yes (lvs_announcer.c): why it is or is not announced,
	 * and the kernel's refusal when that is the reason */
	enum lvs_announce_state ann_state;
	int ann_err;
};

struct inst_state {
	char name[NAME_MAX_LEN];
	int state;
	int priority;
};

struct lvs_engine {
	struct evloop *loop;
	const struct director_config *cfg;
	char *script_user;
	const struct lvs_kernel_ops *k;	/* the kernel, or a test's */
	struct ipvs *ipvs;		/* requests */
	int ipvs_err;			/* why it is not open */
	struct ev_timer open_timer;
	struct ev_timer flush_timer;
	struct ev_timer retry_timer;
	struct ev_timer reconcile_timer;
	struct vs_rt **vs;		/* configuration order */
	struct vs_rt **sorted;		/* by key */
	struct vs_rt **dirty;		/* changed since the last flush */
	struct vs_rt **scratch;
	size_t nvs, ndirty;
	struct inst_state *vrrp;
	size_t nvrrp;
	size_t nprobes;			/* as last counted, for spreading the starts of new ones */
	bool probe_start_failed;	/* a probe could not start: a reload tries all again */
	struct sync_rt {
		struct ev_timer timer;	/* settling at start, then retries */
		bool settled;		/* the state is known, or was waited for */
		bool applied;		/* once: what this engine found is logged */
		int err;		/* the last failure, 0: none */
		char err_what[32];	/* what failed: "starting master", ... */
	} sync;
	int sysctl_err[LVS_SYSCTL_N];	/* the last failed write of a configured sysctl, 0: none */
	struct announce_rt {
		struct ev_timer timer;	/* a pass soon after a change, or a retry */
		bool drained;		/* directorctl drain-director */
		bool stopping;
		bool cleaned;		/* the start-up pass removed what was stale */
		bool all_started;	/* every announced service has its first results */
		bool any;		/* the configuration announces something */
		struct lvs_announce_conf conf;	/* what `have` is in (its own interface string) */
		struct ipaddr *have;	/* announced now, sorted */
		size_t nhave;
		/* Announced VIPs whose address was on the interface before
		 * (the administrator's): withdrawing takes only the route. */
		struct ipaddr *kept;
		size_t nkept;
		/* A reload's new table, protocol or interface: what the old
		 * ones refused to give up, tried again on every pass. */
		struct announce_leftover {
			struct lvs_announce_conf conf;	/* its own interface string */
			struct ipaddr vip;
			bool keep_addr;
		} *leftovers;
		size_t nleftovers;
		struct announce_fail {
			struct ipaddr vip;
			int err;
		} *fails;		/* the last pass's refusals */
		size_t nfails;
		uint64_t withdrawals;	/* for drain-director's answer */
	} announce;
};

struct daemon_list {
	struct ipvs_daemon items[2];	/* the kernel runs one per state */
	size_t n;
};

/* One service's entries as the kernel has them now, with their counters,
 * sorted by key (status and metrics read them when asked). */
struct kdest {
	struct ipvs_dest d;
	struct ipvs_dest_counters c;
};

struct kview {
	struct kdest *dests;
	size_t n, cap;
	bool ok;
};

/* The sync daemon: what is wanted and what runs (read now). */
struct sync_view {
	bool configured, has_want, read_ok;
	bool both;		/* ipvs_sync_mode = both: a master and a backup */
	const struct inst_state *is;
	struct ipvs_daemon want;
	struct daemon_list running;
	bool in_step;
};

/* lvs_engine.c */
const char *lve_check_name(int type);
void lve_dirty_clear(struct lvs_engine *e);
void lve_eval_service(struct vs_rt *v, bool log);
const struct ipvs_dest *lve_find_dest(const struct lvs_service *s, const struct ipvs_dest *key);
struct vs_rt *lve_find_key(struct vs_rt **arr, size_t n, const struct ipvs_service *key);
int lve_key_cmp(const void *a, const void *b);
void lve_mark_dirty(struct vs_rt *v);
int lve_qsort_dest(const void *a, const void *b);
const char *lve_rs_name(const struct vs_rt *v, size_t i, char *buf, size_t size);
const char *lve_verdict_name(enum lvs_rs_verdict v);
const struct inst_state *lve_vrrp_of(const struct lvs_engine *e, const char *name);
/* The port a server's check (agent false) or agent probe connects to, overrides applied. */
uint16_t lve_probe_port(const struct virtual_server_conf *vs, const struct real_server_conf *rs, bool agent);
const char *lve_why_prefix(const struct lvs_rs_state *st, const char *why);

/* lvs_announcer.c: announced services, the engine's side */
void lve_announce_start(struct lvs_engine *e, bool drained);
void lve_announce_kick(struct lvs_engine *e);
void lve_announce_first_result(struct lvs_engine *e);
void lve_announce_reload(struct lvs_engine *e);
void lve_announce_stop(struct lvs_engine *e);
const char *lve_announce_reason(const struct vs_rt *v, char *buf, size_t size);

/* lvs_announce_kernel.c: the real seam's calls */
int lve_announce_kernel_add(const struct lvs_announce_conf *c, const struct ipaddr *vip);
int lve_announce_kernel_del(const struct lvs_announce_conf *c, const struct ipaddr *vip, bool keep_addr);
int lve_announce_kernel_routes(const struct lvs_announce_conf *c, struct ipaddr **out, size_t *n);
void lve_announce_kernel_close(void);

/* lvs_kernel.c */
void lve_flush_cb(struct evloop *loop, struct ev_timer *t, void *arg);
void lve_ipvs_try_open(struct lvs_engine *e);
void lve_open_cb(struct evloop *loop, struct ev_timer *t, void *arg);
void lve_reconcile(struct lvs_engine *e, struct vs_rt **set, size_t n, struct vs_rt **gone, size_t ngone,
		      const char *summary);
void lve_reconcile_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg);
void lve_retry_cb(struct evloop *loop, struct ev_timer *t, void *arg);

/* lvs_status.c */
/* The kernel's entries of v into k (ok false: not read: no IPVS, more
 * than STATUS_DUMP_MAX services, not in the kernel). */
void lve_kview_read(const struct lvs_engine *e, const struct vs_rt *v, struct kview *k);
/* Real server i's entry: from k when read (with its counters in *c),
 * else from what the engine believes (*c NULL). */
const struct ipvs_dest *lve_kernel_dest(const struct vs_rt *v, size_t i, const struct kview *k,
				       const struct ipvs_dest_counters **c);
void lve_sync_view(const struct lvs_engine *e, struct sync_view *sv);

/* lvs_syncd.c */
int lve_daemon_push(const struct ipvs_daemon *d, void *arg);
void lve_sync_apply(struct lvs_engine *e, const struct lvs_config *prev, const char *why);
bool lve_sync_follows(const struct lvs_engine *e, const char *instance);
void lve_sync_stop_all(struct lvs_engine *e);
void lve_sync_timer_cb(struct evloop *loop, struct ev_timer *t, void *arg);
void lve_timeouts_apply(struct lvs_engine *e);

/* lvs_sysctl.c */
void lve_sysctls_apply(struct lvs_engine *e);
void lve_sysctls_status(const struct lvs_engine *e, struct json *j, struct strbuf *out);
int lve_sysctl_get(const char *name, int *value);
int lve_sysctl_set(const char *name, int value);

#endif
