/* directord: the director daemon (VRRP failover, IPVS with health checks).
 * Shared declarations of its parts; the load-balancing half is in lvs.h. */
#ifndef DIRECTORD_H
#define DIRECTORD_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ini.h"
#include "lvs.h"
#include "parse.h"
#include "proto.h"
#include "util.h"

#define DIR_MAX_INSTANCES 255
#define DIR_MAX_VIPS_PER_INSTANCE 255	/* VRRP "Count IPvX Addr" is 8 bits */
#define DIR_MAX_ROUTES_PER_INSTANCE 64
/* engine_heartbeat_timeout: shorter would take a busy machine's scheduling
 * for a stuck engine. */
#define HEARTBEAT_TIMEOUT_MIN_MS 500

/* ---- configuration (config.c) ---- */

/* One virtual_ipaddress entry: "ADDR[/LEN] [brd B] [label L] [scope S] [dev IF]". */
struct vip_conf {
	struct ipaddr addr;		/* prefix /32 or /128 when not given */
	struct ipaddr brd;		/* family 0 when not given */
	char label[IF_NAMESIZE];	/* "" when not given */
	int scope;			/* RT_SCOPE_UNIVERSE unless given */
	char dev[IF_NAMESIZE];		/* "" = the instance's interface */
};

struct vip_list {
	struct vip_conf *items;
	size_t n;
};

/* One virtual_routes entry, as `ip route add` reads it:
 * "[blackhole|unreachable|prohibit] [to] DEST[/LEN] [via GW] [dev IF]
 *  [src ADDR] [metric N] [table N] [scope S]". */
struct route_conf {
	int type;			/* RTN_UNICAST, RTN_BLACKHOLE, ... */
	struct ipaddr dst;		/* prefix /32 or /128 when not given */
	struct ipaddr via;		/* family 0 when not given */
	struct ipaddr src;		/* family 0 when not given */
	char dev[IF_NAMESIZE];		/* "" when not given */
	unsigned metric;
	unsigned table;			/* 0: main */
	int scope;			/* -1 when not given */
};

struct route_list {
	struct route_conf *items;
	size_t n;
};

/* A tracked object named by an instance, with an optional weight:
 * "chk_haproxy", "eth1 weight -10". */
struct track_ref {
	char name[64];
	int weight;
	bool has_weight;
};

struct track_list {
	struct track_ref *items;
	size_t n;
};

/* Each named section's struct starts with its name: config.c relies on it. */
struct track_script_conf {
	char *name;
	char *command;
	uint64_t interval_ms;
	uint64_t timeout_ms;
	unsigned rise;
	unsigned fall;
	int weight;			/* 0: failure means Fault */
	struct track_script_conf *next;
};

struct track_file_conf {
	char *name;
	char *path;
	int weight;			/* the number read is multiplied by this */
	struct track_file_conf *next;
};

struct vrrp_conf {
	char *name;
	char *interface;
	unsigned vrid;
	unsigned priority;
	unsigned version;		/* 2 or 3 */
	uint64_t advert_interval_ms;
	struct vip_list vips;
	struct route_list routes;	/* added when master, removed when not */
	bool preempt;
	uint64_t preempt_delay_ms;
	uint64_t startup_delay_ms;
	struct ipaddr unicast_src;	/* family 0 when not given */
	struct ipaddr_list unicast_peers;
	bool unicast_ttl_check;		/* unicast adverts too need TTL / hop limit 255 */
	char *auth_pass;		/* v2 simple password (no security) */
	struct track_list track_scripts;
	struct track_list track_interfaces;
	struct track_list track_files;
	char *notify;			/* called as: notify INSTANCE name STATE priority */
	char *notify_master;
	char *notify_backup;
	char *notify_fault;
	char *notify_stop;
	unsigned garp_count;		/* gratuitous ARPs at once on becoming master */
	uint64_t garp_repeat_delay_ms;	/* then the same again after this (0 = no) */
	uint64_t garp_refresh_ms;	/* and periodically (0 = no) */
	bool pseudo_header_checksum;	/* v3 IPv4 checksum covers the pseudo-header */
	bool accept;			/* accept mode: receive traffic for the VIPs */
	struct sync_group_conf *group;	/* set by validation */
	struct vrrp_conf *next;
};

struct sync_group_conf {
	char *name;
	struct strlist instances;
	char *notify;			/* called as: notify GROUP name STATE 0 */
	char *notify_master;
	char *notify_backup;
	char *notify_fault;
	struct sync_group_conf *next;
};

struct director_config {
	/* [global] */
	char *router_id;
	char *user;
	bool user_named;		/* user is in the file, not the default */
	char user_warning[512];		/* "FILE:LINE: global.user: warning: ..." or "" */
	char *control_socket;
	unsigned control_mode;
	char *control_group;
	char *notify_fifo;
	uint64_t script_timeout_ms;
	int log_level;
	unsigned vrrp_rt_priority;	/* SCHED_FIFO priority of the VRRP engine; 0: normal scheduling */
	uint64_t heartbeat_timeout_ms;	/* an engine silent this long is restarted; 0: never */
	/* sections */
	struct track_script_conf *track_scripts;
	struct track_file_conf *track_files;
	struct sync_group_conf *sync_groups;
	struct vrrp_conf *instances;
	size_t ninstances;
	struct lvs_config lvs;		/* [virtual_server] sections (lvs.h) */
	char *path;
};

/* Load and validate the whole file; 0, or -errno with every problem in diag. */
int director_config_load(const char *path, struct director_config **out, struct ini_diag *diag);
/* Same, from the bytes of the file (ini_read_file); path is for messages
 * and becomes cfg->path. What a reload checks, then applies; the fuzzer. */
int director_config_load_buffer(const char *path, const char *buf, size_t len, struct director_config **out,
				struct ini_diag *diag);
void director_config_free(struct director_config *cfg);

/* Load the file in a thread of its own, so that the loop goes on while it
 * is read (config_async.c); with running (which must stay as it is until
 * cb), its unchanged virtual servers are marked too. With checked, a file
 * whose bytes are not those is refused (-ESTALE) unparsed. cb runs on the loop
 * once it is read; it owns cfg (NULL unless result is 0); diag holds
 * every problem. */
struct config_load;
struct evloop;
struct dir_ipc_reload;
typedef void (*config_load_cb)(struct director_config *cfg, int result, const struct ini_diag *diag,
			       uint64_t read_ms, void *arg);
int config_load_start(struct evloop *loop, const char *path, const struct director_config *running,
		      const struct dir_ipc_reload *checked, config_load_cb cb, void *arg, struct config_load **out);
/* Forget a load in progress; waits for the thread to finish reading. */
void config_load_cancel(struct config_load *l);
/* director_config_free in a thread of its own (nothing may use cfg any
 * more); inline when no thread can be made. */
void config_free_async(struct director_config *cfg);
void director_config_print(const struct director_config *cfg, struct strbuf *out);

struct vrrp_conf *director_config_instance(const struct director_config *cfg, const char *name);
bool vrrp_conf_same(const struct vrrp_conf *a, const struct vrrp_conf *b);
struct track_script_conf *director_config_track_script(const struct director_config *cfg, const char *name);
struct track_file_conf *director_config_track_file(const struct director_config *cfg, const char *name);

/* The value types of its own (config_types.c); the parsers behind them
 * are exposed for tests and the fuzzer. */
extern const struct ini_type vip_list_type, route_list_type, track_list_type, int_type;
int vip_conf_parse(const char *text, struct vip_conf *out, char *err);
int route_conf_parse(const char *text, struct route_conf *out, char *err);
void route_conf_print(const struct route_conf *r, struct strbuf *out);
int track_ref_parse(const char *text, struct track_ref *out, char *err);
bool ifname_valid(const char *s);

/* ---- the VRRP engine (vrrp_engine.c) ---- */

struct evloop;
struct ipc_msg;
struct json;
struct vrrp_engine;

/* Called on every state change of an instance (for the parent). */
typedef void (*vrrp_state_cb)(const char *instance, int state, int priority, void *arg);

/* Open sockets, start tracking and start every instance (after its
 * startup_delay). cfg must outlive the engine (until reload/stop). */
int vrrp_engine_start(struct evloop *loop, const struct director_config *cfg, vrrp_state_cb cb, void *arg,
		      struct vrrp_engine **out);
/* Leave: every master sends priority 0 and removes its VIPs. */
void vrrp_engine_stop(struct vrrp_engine *e);
/* Status of every instance and track, as JSON object members / text. */
void vrrp_engine_status_json(const struct vrrp_engine *e, struct json *j);
void vrrp_engine_status_text(const struct vrrp_engine *e, struct strbuf *out);

/* ---- processes (parent.c, vrrp_proc.c, lvs_proc.c) ---- */

/* The VRRP engine process: runs until DIR_IPC_STOP, SIGTERM or the
 * parent's end of fd closing. Takes ownership of cfg. Returns an exit code. */
int vrrp_proc_main(struct director_config *cfg, int ipc_fd);

/* The heartbeat's rules (parent.c), pure for tests. The bound for an
 * engine: as configured (0: off), at least 30s for the LVS engine. One
 * step at now, with the unanswered ping sent at *ping_ms (0: none): true
 * when the engine is stuck; else *ping_ms is the ping to send (now when
 * there was none) and *next_ms when to look again, from now. */
uint64_t heartbeat_timeout_for(uint64_t configured, bool lvs);
bool heartbeat_step(uint64_t *ping_ms, uint64_t now, uint64_t timeout, uint64_t *next_ms);

/* The parent: control socket, supervision of the engines, reload, stop. */
int parent_main(struct director_config *cfg, bool detach);

/* Reload an engine with a new configuration: instances whose settings did
 * not change keep their state and VIPs. cfg must outlive the engine. */
int vrrp_engine_reload(struct vrrp_engine *e, const struct director_config *cfg);

#endif
