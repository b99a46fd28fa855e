/* directord's load-balancing half: virtual servers in director.ini, health
 * checks, and the LVS engine that keeps IPVS equal to what the checks say.
 *
 *   config_lvs.c   [virtual_server NAME] sections and their real servers
 *   check.c        one health probe (tcp, http, script, agent) on the loop
 *   lvs_policy.c   pure logic: rise/fall, weights, quorum, the wanted table
 *   lvs_engine.c   the engine: probes -> policy -> reconciler -> ipvs.c
 *   lvs_proc.c     the LVS engine process and its channel to the parent
 */
#ifndef DSRKIT_LVS_H
#define DSRKIT_LVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentcheck.h"
#include "ini.h"
#include "ipvs.h"
#include "lvs_reconcile.h"
#include "parse.h"
#include "probe.h"
#include "risefall.h"
#include "util.h"

#define LVS_MAX_SERVICES 65536
#define LVS_MAX_REAL_SERVERS 4096	/* per virtual server */
#define LVS_DEFAULT_AGENT_PORT 5555
#define LVS_REASON_MAX HC_REASON_MAX
/* ipvs_sync_maxlen: values the kernel takes as they are (it clamps a
 * backup's below 1024, and anything above 65535 less the IPv6 and UDP
 * headers), so that what runs compares equal to what was asked. */
#define LVS_SYNC_MAXLEN_MIN 1024
#define LVS_SYNC_MAXLEN_MAX 65487
#define LVS_TIMEOUT_MAX_MS (2147483ULL * 1000)

/* ---- configuration (config_lvs.c) ---- */

/* The check that decides up/down. The agent (rs-agent or any HAProxy
 * agent-check server) may be added to it, or be the only check. */
enum lvs_check_type {
	LVS_CHECK_NONE = HC_NONE,	/* always up */
	LVS_CHECK_TCP = HC_TCP,		/* connect() succeeds */
	LVS_CHECK_HTTP = HC_HTTP,	/* GET, status in range, optional body substring */
	LVS_CHECK_SCRIPT = HC_SCRIPT,	/* exit 0 up; with dynamic_weight 2..255 set the weight */
	LVS_CHECK_AGENT = HC_AGENT,	/* the agent alone decides */
};

/* What a real server may override of its service's check, in its entry
 * ("check_port=8080"). Zero / family 0 / NULL: the service's value. */
struct lvs_check_override {
	struct ipaddr address;		/* family 0: not overridden */
	uint16_t port;
	uint16_t agent_port;
	char *path;			/* http */
	char *host;			/* http */
	char *command;			/* script */
};

/* One real server: the value of a `real_server` line, or one entry of the
 * comma-separated `real_servers` list:
 * "ADDR[:PORT] [weight=N] [method=dr|nat|tun] [u_threshold=N] [l_threshold=N]
 *  [check_address=A] [check_port=N] [agent_port=N] [check_path=P] [check_host=H]
 *  [check_command=C]" (C without commas or blanks). */
struct real_server_conf {
	struct ipaddr addr;
	uint16_t port;			/* the service's port when not given (0 for fwmark services) */
	unsigned weight;		/* 0..65535, default 1 */
	uint32_t fwd;			/* IP_VS_CONN_F_DROUTE (dr), _MASQ (nat), _TUNNEL (tun) */
	uint32_t u_threshold, l_threshold;
	struct lvs_check_override check;
	/* Where it was written, for messages: 0 in the real_servers list,
	 * N on the Nth real_server line (ini_doc_line_nth(..., N - 1)). */
	size_t line_nth;
};

/* Both keys append here, in file order. */
struct real_server_list {
	struct real_server_conf *items;
	size_t n;
	size_t cap;			/* allocated items */
	size_t lines;			/* loading: real_server lines parsed, failed ones too */
};

struct virtual_server_conf {
	char *name;			/* first member: config.c relies on it */
	/* the service */
	struct ipendpoint address;	/* family 0 with fwmark */
	unsigned fwmark;		/* 0: an address service */
	int family;			/* fwmark services: AF_INET or AF_INET6 ("family = inet6") */
	int protocol;			/* IPPROTO_TCP, _UDP, _SCTP */
	char *scheduler;		/* "wlc", any kernel scheduler by name */
	unsigned scheduler_flags;	/* IP_VS_SVC_F_SCHED1..3 ("flag-1", "sh-fallback", ...) */
	uint32_t default_fwd;		/* "method", for entries without method= */
	uint64_t persistence_timeout_ms; /* 0: no persistence */
	unsigned persistence_netmask;	/* prefix length; 0: the whole address */
	bool one_packet;		/* UDP: schedule every datagram */
	struct real_server_list real_servers;
	struct ipendpoint sorry_server;	/* family 0: none */
	uint32_t sorry_fwd;
	unsigned quorum;		/* sum of the weights of up servers needed (default 1) */
	unsigned quorum_hysteresis;
	bool inhibit_on_failure;	/* failed: weight 0 instead of removed */
	bool start_down;		/* a server is out until its first check passes (default yes) */
	char *vrrp;			/* the [vrrp] instance or [sync_group] it follows (status, sync daemon) */
	/* the check (per-server overrides in the real_servers entries) */
	int check;			/* enum lvs_check_type */
	bool check_agent;		/* "check = http, agent": the agent too */
	uint64_t check_interval_ms;
	uint64_t check_timeout_ms;
	unsigned check_rise;
	unsigned check_fall;
	struct ipaddr check_address;	/* family 0: the real server's */
	uint16_t check_port;		/* 0: the real server's */
	char *check_path;		/* http, default "/" */
	char *check_host;		/* http Host header, default the target address */
	unsigned check_status_lo, check_status_hi; /* "200-399" (default) */
	char *check_body;		/* substring the body must contain; NULL: any */
	char *check_command;		/* script, /bin/sh -c; environment in director.ini(5) */
	bool check_dynamic_weight;	/* script exit 2..255 sets weight exit-2 (keepalived's misc_dynamic) */
	uint16_t agent_port;
	uint64_t agent_interval_ms;	/* default: check_interval */
	/* A reload's file only (director_config_mark_unchanged): the running
	 * file's section of this name with these very settings, or NULL. Valid
	 * while the running file is. */
	const struct virtual_server_conf *unchanged;
	struct virtual_server_conf *next;
};

/* The parts of director_config that belong to load balancing (in
 * struct director_config as `lvs`). */
enum lvs_on_stop { LVS_STOP_KEEP, LVS_STOP_REMOVE };

/* A number that may be left out ("not given" is not 0): ipvs_sync_id,
 * whose default depends on other sections, and ipvs_sync_maxlen. */
struct opt_uint {
	bool set;
	unsigned value;
};

extern const struct ini_type opt_uint_type;

/* [global] ipvs_sync_*: the connection-sync daemon, in master state while
 * the followed instance (or sync group) is MASTER, else in backup state. */
struct lvs_sync_conf {
	char *interface;		/* NULL: no sync daemon */
	char *follow;			/* a [vrrp NAME] or [sync_group NAME] */
	struct opt_uint sync_id;	/* default: the followed instance's virtual_router_id */
	struct ipaddr group;		/* family 0: the kernel's 224.0.0.81 */
	unsigned port;			/* default 8848 */
	unsigned ttl;			/* default 1 */
	struct opt_uint maxlen;		/* not set: the kernel's, from the MTU */
};

/* [global] ipvs_timeout_*: 0 leaves the kernel's value. */
struct lvs_timeouts_conf {
	uint64_t tcp_ms, tcp_fin_ms, udp_ms;
};

struct lvs_config {
	struct virtual_server_conf *services;
	struct virtual_server_conf *last;	/* loading: the last section, so appending is O(1) */
	size_t nservices;
	int on_stop;			/* [global] ipvs_on_stop: keep (default) or remove */
	uint64_t reconcile_interval_ms;	/* [global] ipvs_reconcile_interval: full compare with the kernel; 0 = only at start */
	struct lvs_sync_conf sync;
	struct lvs_timeouts_conf timeouts;
};

/* The sync daemon the configuration asks for, in a state (IPVS_DAEMON_*);
 * false when it asks for none. Call after validation. */
bool lvs_sync_daemon_conf(const struct lvs_config *lvs, uint32_t state, struct ipvs_daemon *out);
/* The timeouts to set (0: leave); false when none is set. */
bool lvs_timeouts_conf(const struct lvs_config *lvs, struct ipvs_timeouts *out);
/* Does the configuration need the LVS engine (services, a sync daemon or
 * timeouts)? */
bool lvs_config_wanted(const struct lvs_config *lvs);

/* The ipvs_service a virtual server stands for, and a real server's
 * ipvs_dest at a weight. */
void virtual_server_key(const struct virtual_server_conf *vs, struct ipvs_service *out);
void real_server_dest(const struct virtual_server_conf *vs, const struct real_server_conf *rs, int weight,
		      struct ipvs_dest *out);
/* "198.18.0.11:80", "[2001:db8::11]:80": how a real server is named in
 * status and in `directorctl drain SERVICE SERVER`. */
const char *real_server_name(const struct real_server_conf *rs, char *buf, size_t size);
/* Find a real server by that name (or by address alone when the address
 * appears once); NULL when none. */
const struct real_server_conf *virtual_server_find_rs(const struct virtual_server_conf *vs, const char *name);

/* The value type of real_servers, the comma-separated list (exposed for
 * tests and the fuzzer; it prints the list, while the normalized config
 * writes real_server lines, see config_lvs.c). Its parse appends to the
 * list. real_server_parse reads one entry: it leaves port 0 and fwd
 * LVS_FWD_UNSET where the entry says nothing (loading fills in the
 * service's); the strings of its check overrides are allocated, and
 * real_server_conf_release frees them. */
#define LVS_FWD_UNSET UINT32_MAX
extern const struct ini_type real_server_list_type;
int real_server_parse(const char *text, struct real_server_conf *out, char *err);
void real_server_conf_release(struct real_server_conf *rs);

struct director_config;

/* Same name and settings (key by key): a reload keeps its state. */
bool virtual_server_conf_same(const struct virtual_server_conf *a, const struct virtual_server_conf *b);
/* After a reload's file is read, beside the loop (config_async.c): set
 * `unchanged` of each of fresh's virtual servers whose section is the same
 * as running's, so that the engine, on its loop, compares nothing. 0 or
 * -ENOMEM (then nothing is marked, which is always right). */
int director_config_mark_unchanged(struct director_config *fresh, const struct director_config *running);
struct virtual_server_conf *director_config_virtual_server(const struct director_config *cfg, const char *name);

/* For config.c: the keys of [virtual_server NAME], and the checks across
 * its keys and sections (they also fill in the defaults that depend on
 * other keys). */
extern const struct ini_key virtual_server_keys[];
void lvs_config_check(struct director_config *cfg, const struct ini_doc *doc, struct ini_diag *diag);

/* ---- one health probe: common/probe.h ---- */

/* HTTP responses are judged by http_response_parse() (common/http.h),
 * the parser rs-agent uses too. */

/* ---- policy (lvs_policy.c): pure, unit-tested without a kernel ---- */

/* rise/fall over attempts. The first result decides at once unless
 * start_down forbids coming up before a pass (a pass still decides at
 * once). */
struct lvs_health {
	struct risefall rf;		/* known, up, the run of results */
	uint64_t passes, fails;
	char reason[LVS_REASON_MAX];	/* of the last result */
	int64_t last_ms;		/* monotonic time of the last result, 0: none */
};

/* Record one result; true when `up` changed (or became known). */
bool lvs_health_record(struct lvs_health *h, bool pass, unsigned rise, unsigned fall, const char *reason,
		       int64_t when_ms);

/* An operator's word from `directorctl drain|enable`. */
enum lvs_admin { LVS_ADMIN_ENABLED, LVS_ADMIN_DRAINED };

/* Everything that decides one real server's place in the kernel table. */
struct lvs_rs_state {
	const struct real_server_conf *conf;
	struct lvs_health check;	/* the deciding check (unused with LVS_CHECK_NONE) */
	struct lvs_health agent_health;	/* the agent's reachability */
	bool have_agent;		/* an agent reply is current */
	struct agent_reply agent;	/* the last one */
	int dynamic_weight;		/* from a dynamic script, -1: none */
	enum lvs_admin admin;
	bool adopted;			/* found in the kernel at start: up until a check says otherwise */
	bool adopted_at_zero;		/* ... at weight 0 (drained, inhibited): kept at 0 until then */
};

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

/* ---- the LVS engine (lvs_engine.c) and its process (lvs_proc.c) ---- */

struct director_config;
struct json;
struct lvs_engine;

/* Servers drained by directorctl. The parent keeps the list, so that an
 * engine it (re)starts has them drained from its first reconcile on. */
struct lvs_drained {
	char service[64];
	char server[64];		/* as given: "ADDR:PORT" or "ADDR" */
};

struct lvs_drained_list {
	struct lvs_drained *items;
	size_t n;
};

/* Open IPVS (retried while the kernel has none), adopt what the kernel
 * already has of ours, start the probes. cfg must outlive the engine;
 * drained (may be NULL) is read here only. */
int lvs_engine_start(struct evloop *loop, const struct director_config *cfg, const struct lvs_drained_list *drained,
		     struct lvs_engine **out);
/* Apply a new configuration: unchanged servers keep their health state,
 * only the difference goes to the kernel. cfg must outlive the engine. */
int lvs_engine_reload(struct lvs_engine *e, const struct director_config *cfg);
/* A VRRP instance's new state (from the parent). */
void lvs_engine_vrrp_state(struct lvs_engine *e, const char *instance, int state, int priority);
/* directorctl drain/enable: 0, or -ENOENT (no such service or server)
 * with a message in err. */
int lvs_engine_admin(struct lvs_engine *e, const char *service, const char *server, enum lvs_admin admin,
		     char *err, size_t errlen);
void lvs_engine_status_json(struct lvs_engine *e, struct json *j);
void lvs_engine_status_text(struct lvs_engine *e, struct strbuf *out);
/* Stop probes; remove our services when cfg says ipvs_on_stop = remove. */
void lvs_engine_stop(struct lvs_engine *e);

/* The LVS engine process: runs until DIR_IPC_STOP, SIGTERM or the
 * parent's end closing. Takes ownership of cfg. Returns an exit code. */
int lvs_proc_main(struct director_config *cfg, int ipc_fd, const struct lvs_drained_list *drained);

#endif
