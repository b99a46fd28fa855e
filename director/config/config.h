/* director.ini, loaded and checked: the structures every part of
 * directord reads its configuration from, and the functions of config/
 * (config.c: the schema and the checks across keys; config_lvs.c: the
 * [virtual_server NAME] sections; config_types.c: value types;
 * config_image.c: the checked configuration as bytes, for the engines;
 * config_async.c: reading a reload beside an engine's loop). */
#ifndef DSRKIT_DIRECTOR_CONFIG_H
#define DSRKIT_DIRECTOR_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentcheck.h"
#include "ini.h"
#include "ipvs.h"
#include "parse.h"
#include "probe.h"
#include "tls.h"
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
	LVS_CHECK_HTTPS = HC_HTTPS,	/* http over TLS */
};

/* What a real server may override of its service's check, in its entry
 * ("check_port=8080"). Zero / family 0 / NULL: the service's value. */
struct lvs_check_override {
	struct ipaddr address;		/* family 0: not overridden */
	uint16_t port;
	uint16_t agent_port;
	char *path;			/* http, https */
	char *host;			/* http, https */
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
	bool announce;			/* announced by a route while it has quorum (lvs_announce.c), not VRRP */
	/* the check (per-server overrides in the real_servers entries) */
	int check;			/* enum lvs_check_type */
	bool check_agent;		/* "check = http, agent": the agent too */
	uint64_t check_interval_ms;
	uint64_t check_timeout_ms;
	unsigned check_rise;
	unsigned check_fall;
	struct ipaddr check_address;	/* family 0: the real server's */
	struct ipaddr check_source;	/* checks and agent probes leave from it; family 0: the kernel's choice */
	uint16_t check_port;		/* 0: the real server's */
	char *check_path;		/* http, default "/" */
	char *check_host;		/* http Host header (https: also SNI, verified name), default the target address */
	unsigned check_status_lo, check_status_hi; /* "200-399" (default) */
	char *check_body;		/* substring the body must contain; NULL: any */
	/* https: the files' paths and contents, read at load (tls.h): a CA
	 * file turns verification on; a client certificate and its key. */
	struct tls_pem_file check_ca_file, check_cert_file, check_key_file;
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
 * the followed instance (or sync group) is MASTER, else in backup state;
 * or (ipvs_sync_mode = both, for announced services, whose directors are
 * all active) a master and a backup at once, which IPVS allows. */
enum lvs_sync_mode { LVS_SYNC_VRRP, LVS_SYNC_BOTH };

struct lvs_sync_conf {
	char *interface;		/* NULL: no sync daemon */
	char *follow;			/* a [vrrp NAME] or [sync_group NAME] */
	int mode;			/* enum lvs_sync_mode */
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

/* [global] ipvs_expire_nodest_conn, ...: the IPVS sysctls of
 * net.ipv4.vs that decide what happens to connections when servers come
 * and go. Not given: the kernel's value is left as it is. */
enum lvs_sysctl {
	LVS_SYSCTL_EXPIRE_NODEST_CONN,
	LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE,
	LVS_SYSCTL_SLOPPY_TCP,
	LVS_SYSCTL_SLOPPY_SCTP,
	LVS_SYSCTL_CONN_REUSE_MODE,
	LVS_SYSCTL_N
};

struct lvs_sysctl_def {
	const char *name;		/* under /proc/sys/net/ipv4/vs/ */
	const char *key;		/* in [global] */
	int kernel_default;
};

extern const struct lvs_sysctl_def lvs_sysctl_defs[LVS_SYSCTL_N];

/* [global] announce_*: where the announced services' VIPs and their host
 * routes go (lvs_announce.c). Only routes of this table and protocol are
 * ever touched. */
#define ANNOUNCE_TABLE_MAX 4294967294U	/* RT_TABLE_MAX less one */
struct lvs_announce_conf {
	char *interface;		/* default "lo" */
	unsigned table;			/* default 222; not 253..255 */
	unsigned protocol;		/* default 222; 5..255 */
};

struct lvs_config {
	struct virtual_server_conf *services;
	struct virtual_server_conf *last;	/* loading: the last section, so appending is O(1) */
	size_t nservices;
	int on_stop;			/* [global] ipvs_on_stop: keep (default) or remove */
	uint64_t reconcile_interval_ms;	/* [global] ipvs_reconcile_interval: full compare with the kernel; 0 = only at start */
	struct lvs_sync_conf sync;
	struct lvs_timeouts_conf timeouts;
	struct opt_uint sysctl[LVS_SYSCTL_N];	/* not set: the kernel's left alone */
	struct lvs_announce_conf announce;
	size_t nannounced;		/* services with announce = yes (the parent's view keeps the count) */
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

/* [track_process NAME]: processes counted by name (and arguments), by
 * events (director/vrrp/proc_watch.c); the verdict in proctrack.c. */
enum param_match { PARAM_MATCH_EXACT, PARAM_MATCH_PARTIAL, PARAM_MATCH_INITIAL };

#define TRACK_PROCESS_MAX 64		/* [track_process] sections */
#define TRACK_PROCESS_COMM_MAX 15	/* the kernel's comm (TASK_COMM_LEN - 1) */

struct track_process_conf {
	char *name;
	char *process;			/* comm, or argv[0] (its base name when no '/') */
	char *args;			/* NULL: any; else blank-separated, per param_match */
	int param_match;		/* enum param_match */
	bool full_command;		/* match argv[0], not comm, even without args */
	unsigned quorum;		/* at least this many (0..65535, default 1) */
	struct opt_uint quorum_max;	/* at most this many; not set: no maximum */
	uint64_t delay_ms;		/* the default of the two below */
	uint64_t terminate_delay_ms;	/* quorum lost this long before it counts */
	uint64_t fork_delay_ms;		/* quorum back this long before it counts */
	int weight;			/* 0: failure means Fault */
	struct track_process_conf *next;
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
	struct track_list track_processes;
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
	char *warnings;			/* the traps (config_lvs.c): "FILE:LINE: sec.key: warning: ...\n"..., or NULL */
	char *control_socket;
	unsigned control_mode;
	char *control_group;
	char *notify_fifo;
	char *state_dir;		/* what survives a restart: drain-director (director_state.c) */
	uint64_t script_timeout_ms;
	int log_level;
	unsigned vrrp_rt_priority;	/* SCHED_FIFO priority of the VRRP engine; 0: normal scheduling */
	uint64_t heartbeat_timeout_ms;	/* an engine silent this long is restarted; 0: never */
	struct ipendpoint metrics_listen;	/* the parent's scrape endpoint; family 0: none */
	struct ipaddr_list metrics_allow;
	/* sections */
	struct track_script_conf *track_scripts;
	struct track_file_conf *track_files;
	struct track_process_conf *track_processes;
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
void virtual_server_conf_free(struct virtual_server_conf *vs);	/* one, not those after it */

/* A validated configuration as bytes, and back (config_image.c): what the
 * reload's check child hands to the parent and the parent to the engines,
 * so that the file is parsed and checked once. director_config_image
 * appends to out (0 or -ENOMEM); director_config_from_image gives 0 and
 * *out, -EBADMSG for bytes that are not an image of this build, -ENOMEM. */
int director_config_image(const struct director_config *cfg, struct strbuf *out);
int director_config_from_image(const void *buf, size_t len, struct director_config **out);
/* The same from a file (the memfd), read a piece at a time. With visit,
 * the virtual servers are not kept: each is shown to visit and freed
 * (lvs.nservices still counts them), for the processes that need only the
 * rest (the parent, the VRRP engine). */
typedef void (*image_vs_visit)(const struct virtual_server_conf *vs, void *arg);
int director_config_from_image_fd(int fd, image_vs_visit visit, void *arg, struct director_config **out);
/* Pass as visit to keep no virtual servers and look at none. */
void image_vs_skip(const struct virtual_server_conf *vs, void *arg);
/* The parent's view of an image: everything but the virtual servers
 * (counted), which only the LVS engine keeps. */
int director_config_parent_view(int fd, struct director_config **out);
/* director.ini as cfgcheck loads it (start and reload): parsed and checked
 * in the check child, handed over as an image. */
struct cfgcheck_loader;
extern const struct cfgcheck_loader director_config_loader;
/* The same for a reload: done gets the sealed image and no configuration
 * (the caller reads its view with director_config_parent_view). */
extern const struct cfgcheck_loader director_config_reload_loader;

/* Rebuild a configuration from its image (a memfd the parent sent; ours
 * to close, also on failure) in a thread of its own, so that the loop goes
 * on meanwhile (config_async.c): with its virtual servers, or (false)
 * without them (lvs.nservices counts them); with virtual servers and
 * running (which must stay as it is until cb), the unchanged are marked. cb runs on the
 * loop once it is done; it owns cfg (NULL unless result is 0); diag says
 * what went wrong. */
struct config_load;
struct evloop;
typedef void (*config_load_cb)(struct director_config *cfg, int result, const struct ini_diag *diag,
			       uint64_t read_ms, void *arg);
int config_load_start(struct evloop *loop, int image, const struct director_config *running, bool virtual_servers,
		      config_load_cb cb, void *arg, struct config_load **out);
/* Forget a load in progress; waits for the thread to finish reading. */
void config_load_cancel(struct config_load *l);
/* director_config_free in a thread of its own (nothing may use cfg any
 * more); inline when no thread can be made. */
void config_free_async(struct director_config *cfg);
void director_config_print(const struct director_config *cfg, struct strbuf *out);
/* cfg->warnings (the IPVS traps), a log line each: at start and reload. */
void director_config_log_warnings(const struct director_config *cfg);

struct vrrp_conf *director_config_instance(const struct director_config *cfg, const char *name);
bool vrrp_conf_same(const struct vrrp_conf *a, const struct vrrp_conf *b);
struct track_script_conf *director_config_track_script(const struct director_config *cfg, const char *name);
struct track_file_conf *director_config_track_file(const struct director_config *cfg, const char *name);
struct track_process_conf *director_config_track_process(const struct director_config *cfg, const char *name);

/* The value types of its own (config_types.c); the parsers behind them
 * are exposed for tests and the fuzzer. */
extern const struct ini_type vip_list_type, route_list_type, track_list_type, int_type;
int vip_conf_parse(const char *text, struct vip_conf *out, char *err);
int route_conf_parse(const char *text, struct route_conf *out, char *err);
void route_conf_print(const struct route_conf *r, struct strbuf *out);
int track_ref_parse(const char *text, struct track_ref *out, char *err);
bool ifname_valid(const char *s);

#endif
