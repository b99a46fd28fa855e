/* The LVS engine: health checks of every real server (common/probe.c),
 * and the engine that keeps IPVS equal to what the checks say. Its
 * configuration ([virtual_server NAME]) is in config/config.h.
 *
 *   lvs_policy.c   pure logic: results, weights, quorum, the wanted table
 *   lvs_engine.c   the engine: probes -> policy -> reconciler -> ipvs.c
 *   lvs_proc.c     the LVS engine process (engine_proc.c)
 */
#ifndef DSRKIT_LVS_H
#define DSRKIT_LVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentcheck.h"
#include "config.h"
#include "ipvs.h"
#include "lvs_reconcile.h"
#include "probe.h"
#include "risefall.h"
#include "util.h"

/* ---- policy (lvs_policy.c): pure, unit-tested without a kernel ---- */

/* One check's results over its attempts (rise/fall: common/risefall.h). */
struct lvs_health {
	struct risefall rf;		/* known, up, the run of results */
	uint64_t passes, fails;
	char *reason;			/* of the last result (its own copy; NULL: none) */
	int64_t last_ms;		/* monotonic time of the last result, 0: none */
};

/* Record one result; true when `up` changed (or became known). The
 * reason is copied (at most LVS_REASON_MAX - 1 bytes) when it changed:
 * the servers that share a reason hold it once each, those without a
 * check none (it was an array of each server's, a third of the LVS
 * engine's memory at 40,000 servers). */
bool lvs_health_record(struct lvs_health *h, bool pass, unsigned rise, unsigned fall, const char *reason,
		       int64_t when_ms);
void lvs_health_set_reason(struct lvs_health *h, const char *reason);
/* The reason, "" when none. */
const char *lvs_health_reason(const struct lvs_health *h);
/* Forget everything (the reason freed): as new. */
void lvs_health_reset(struct lvs_health *h);

/* An operator's word from `directorctl drain|enable`. */
enum lvs_admin { LVS_ADMIN_ENABLED, LVS_ADMIN_DRAINED };

/* Everything that decides one real server's place in the kernel table. */
struct lvs_rs_state {
	const struct real_server_conf *conf;
	struct lvs_health check;	/* the deciding check (unused with LVS_CHECK_NONE) */
	struct lvs_health agent_health;	/* the agent's reachability */
	bool have_agent;		/* an agent reply is current */
	struct agent_reply *agent;	/* the last one (allocated at the first: most servers have no agent) */
	int dynamic_weight;		/* from a dynamic script, -1: none */
	enum lvs_admin admin;
	bool adopted;			/* found in the kernel at start: up until a check says otherwise */
	bool adopted_at_zero;		/* ... at weight 0 (drained, inhibited): kept at 0 until then */
};

/* What a state holds of its own (the reasons), freed. */
void lvs_rs_state_release(struct lvs_rs_state *st);

enum lvs_rs_verdict {
	LVS_RS_UP,			/* in the table at its weight */
	LVS_RS_DRAIN,			/* in the table at weight 0 (agent drain, directorctl drain) */
	LVS_RS_DOWN,			/* out (or weight 0 with inhibit_on_failure) */
	LVS_RS_MAINT,			/* out: agent says maint */
};

/* What the server should be, and its weight when in the table (-1: not in
 * the table). why says which input decided, for status and logs. */
enum lvs_rs_verdict lvs_rs_evaluate(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs,
				    int *weight, const char **why);

/* Quorum with hysteresis: lost below quorum - hysteresis, regained at
 * quorum + hysteresis; *has_quorum carries the state between calls. */
bool lvs_quorum_update(const struct virtual_server_conf *vs, unsigned up_weight, bool *has_quorum);

/* The service's wanted entry: the key, and the destinations that should
 * be in the kernel (the sorry server alone while quorum is lost). dests
 * must have room for vs->real_servers.n + 1. Returns the number of
 * destinations. */
size_t lvs_service_want(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs, bool has_quorum,
			struct ipvs_service *svc, struct ipvs_dest *dests);
/* The sum of the weights of the servers whose verdict is LVS_RS_UP (what
 * lvs_quorum_update weighs; drained servers count 0). */
unsigned lvs_service_up_weight(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs);

/* The sync daemon's state from the VRRP state of what it follows: master
 * while that is MASTER; backup otherwise (BACKUP, FAULT, INIT, or not yet
 * known), so that a backup director learns the master's connections. */
uint32_t lvs_sync_wanted_state(bool known, int vrrp_state);

/* What to change so that the kernel runs want (NULL: no daemon at all)
 * and nothing else: the daemons of running[0..n) to stop (a bit per
 * IPVS_DAEMON_* state) and whether to start want. A daemon that runs as
 * wanted is left alone. */
struct lvs_sync_plan {
	uint32_t stop;			/* IPVS_DAEMON_MASTER | IPVS_DAEMON_BACKUP */
	bool start;
};

void lvs_sync_plan(const struct ipvs_daemon *want, const struct ipvs_daemon *running, size_t n,
		   struct lvs_sync_plan *out);

/* ---- announced services (lvs_announce.c): pure ---- */

/* Why an announced service's VIP is or is not announced (status, metrics). */
enum lvs_announce_state {
	LVS_ANN_ANNOUNCED,
	LVS_ANN_NO_QUORUM,		/* it (or another service on its VIP) has no quorum */
	LVS_ANN_DRAINED,		/* directorctl drain-director */
	LVS_ANN_STOPPING,		/* directord is stopping */
	LVS_ANN_STARTING,		/* a real server has no first check result yet */
	LVS_ANN_ERROR,			/* the kernel refused (the engine's, not the core's) */
	LVS_ANN_N
};

/* "no-quorum" for status; "no_quorum" for the metric's state label. */
const char *lvs_announce_state_name(enum lvs_announce_state s);
const char *lvs_announce_metric_state(enum lvs_announce_state s);

/* One announced service: its VIP, its quorum and whether every real
 * server has had its first check result (in), its state (out). */
struct lvs_announce_svc {
	struct ipaddr vip;
	bool has_quorum;
	bool checks_done;
	enum lvs_announce_state state;
};

/* Every check deciding this server has given a result. */
bool lvs_rs_first_result(const struct virtual_server_conf *vs, const struct lvs_rs_state *st);
bool lvs_service_first_results(const struct virtual_server_conf *vs, const struct lvs_rs_state *rs);
/* By family, then address. */
int lvs_announce_vip_cmp(const struct ipaddr *a, const struct ipaddr *b);
/* The VIPs to announce into out (room for n; host addresses, sorted,
 * each once), and each service's state. 0, or -1 out of memory. */
int lvs_announce_want(struct lvs_announce_svc *svcs, size_t n, bool drained, bool stopping, struct ipaddr *out,
		      size_t *nout);
/* Two sorted sets: what to add (room nwant) and to remove (room nhave). */
void lvs_announce_diff(const struct ipaddr *want, size_t nwant, const struct ipaddr *have, size_t nhave,
		       struct ipaddr *add, size_t *nadd, struct ipaddr *del, size_t *ndel);
/* Host addresses, sorted, each once; the new count. */
size_t lvs_announce_sort_unique(struct ipaddr *vips, size_t n);

/* ---- the LVS engine (lvs_engine.c) and its process (lvs_proc.c) ---- */

struct director_config;
struct json;
struct lvs_engine;

/* Servers drained by directorctl. The parent keeps the list, so that an
 * engine it (re)starts has them drained from its first reconcile on. */
struct lvs_drained {
	char service[64];
	char server[64];		/* as given: "ADDR:PORT" or "ADDR" */
	bool seen;			/* the parent's: in a reload's new configuration */
};

struct lvs_drained_list {
	struct lvs_drained *items;
	size_t n;
	bool director_drained;		/* directorctl drain-director: no announcement */
};

/* What the engine asks of the kernel (ipvs.c's calls of the same names):
 * lvs_kernel_ipvs is the real one; a unit test gives a table in memory,
 * so the engine's logic is tested without root or IPVS. */
struct ipvs;
struct lvs_kernel_ops {
	int (*open)(struct ipvs **out);
	void (*close)(struct ipvs *v);
	int (*apply)(struct ipvs *v, struct ipvs_request *reqs, size_t n);
	int (*services)(struct ipvs *v, ipvs_service_cb cb, void *arg);
	int (*dests)(struct ipvs *v, const struct ipvs_service *s, ipvs_dest_cb cb, void *arg);
	int (*daemons)(struct ipvs *v, ipvs_daemon_cb cb, void *arg);
	int (*daemon_add)(struct ipvs *v, const struct ipvs_daemon *d);
	int (*daemon_del)(struct ipvs *v, uint32_t state);
	int (*timeouts_get)(struct ipvs *v, struct ipvs_timeouts *t);
	int (*timeouts_set)(struct ipvs *v, const struct ipvs_timeouts *t);
	/* /proc/sys/net/ipv4/vs/NAME of the engine's network namespace
	 * (lvs_sysctl.c): 0 or -errno. */
	int (*sysctl_get)(const char *name, int *value);
	int (*sysctl_set)(const char *name, int value);
	/* Announced VIPs (lvs_announce_kernel.c), "make it so": add puts the
	 * address on c->interface, then the host route in c's table with c's
	 * protocol, and answers 1 when the address was there already (left
	 * as it is; a failed route takes back an address it added); del
	 * removes the route, then the address unless keep_addr. routes lists
	 * the destinations of the routes of c's table and protocol
	 * (malloc'd). 0 or -errno. */
	int (*announce_add)(const struct lvs_announce_conf *c, const struct ipaddr *vip);
	int (*announce_del)(const struct lvs_announce_conf *c, const struct ipaddr *vip, bool keep_addr);
	int (*announce_routes)(const struct lvs_announce_conf *c, struct ipaddr **out, size_t *n);
};

extern const struct lvs_kernel_ops lvs_kernel_ipvs;

/* Open IPVS through kernel (retried while the kernel has none), adopt
 * what the kernel already has of ours, start the probes. cfg must outlive
 * the engine; drained (may be NULL) is read here only. */
int lvs_engine_start(struct evloop *loop, const struct director_config *cfg, const struct lvs_drained_list *drained,
		     const struct lvs_kernel_ops *kernel, struct lvs_engine **out);
/* Apply a new configuration: unchanged servers keep their health state,
 * only the difference goes to the kernel. cfg must outlive the engine:
 * the engine is on it whatever this returns (out of memory before that,
 * the process exits and its restart adopts the kernel's table). */
int lvs_engine_reload(struct lvs_engine *e, const struct director_config *cfg);
/* A VRRP instance's new state (from the parent). */
void lvs_engine_vrrp_state(struct lvs_engine *e, const char *instance, int state, int priority);
/* directorctl drain/enable: 0, or -ENOENT (no such service or server)
 * with a message in err. */
int lvs_engine_admin(struct lvs_engine *e, const char *service, const char *server, enum lvs_admin admin,
		     char *err, size_t errlen);
/* directorctl drain-director (true) / enable-director: every announced
 * VIP withdrawn, or announced again where its services allow. The number
 * of VIPs it withdrew or announced. */
size_t lvs_engine_drain_director(struct lvs_engine *e, bool drained);
bool lvs_engine_director_drained(const struct lvs_engine *e);
/* VIPs announced now; the packets IPVS counted for the announced
 * services' real servers (drain-director --wait watches it stop moving). */
size_t lvs_engine_announced_count(const struct lvs_engine *e);
uint64_t lvs_engine_announced_packets(struct lvs_engine *e);
void lvs_engine_status_json(struct lvs_engine *e, struct json *j);
void lvs_engine_status_text(struct lvs_engine *e, struct strbuf *out);
/* Its metrics in Prometheus' text format (lvs_metrics.c). */
void lvs_engine_metrics(struct lvs_engine *e, struct strbuf *out);
/* What `directorctl doctor` probes, in proto.h's DIR_STATUS_DOCTOR lines. */
void lvs_engine_doctor_targets(const struct lvs_engine *e, struct strbuf *out);
/* Stop probes; remove our services when cfg says ipvs_on_stop = remove. */
void lvs_engine_stop(struct lvs_engine *e);

/* The LVS engine process: runs until DIR_IPC_STOP, SIGTERM or the
 * parent's end closing. Takes ownership of cfg. Returns an exit code. */
int lvs_proc_main(struct director_config *cfg, int ipc_fd, const struct lvs_drained_list *drained);

#endif
