/* rs-agent: keeps a Direct Routing real server correct (VIPs on loopback,
 * ARP sysctls) and reports its health to the directors. */
#ifndef RS_AGENT_H
#define RS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentcheck.h"
#include "confdir.h"
#include "evloop.h"
#include "http.h"		/* http_parse_status, shared with directord */
#include "ini.h"
#include "parse.h"
#include "promtext.h"
#include "risefall.h"
#include "rtnl.h"		/* struct rtnl_addrinfo */
#include "tls.h"		/* https checks */
#include "util.h"

#define RS_AGENT_CONF DSRKIT_CONFDIR "/rs-agent.ini"
#define RS_MAX_VIPS 1024
#define RS_MAX_CHECKS 64

/* ---- configuration (config.c) ---- */

enum check_type { CHECK_TCP, CHECK_HTTP, CHECK_SCRIPT, CHECK_HTTPS };
enum weight_source { WEIGHT_NONE, WEIGHT_LOADAVG, WEIGHT_PRESSURE };

struct status_range {
	unsigned lo, hi;
};

struct check_conf {
	char *name;
	int type;			/* enum check_type */
	struct ipaddr address;		/* default: the first VIP */
	bool address_set;
	unsigned port;
	uint64_t interval_ms;
	uint64_t timeout_ms;
	unsigned rise;
	unsigned fall;
	char *path;			/* http, https */
	char *host;			/* http Host header (https: also SNI, verified name); default the address */
	struct status_range expect_status; /* http, https */
	char *expect_body;		/* http, https, substring; NULL = any */
	/* https: read at load (tls.h); a CA file turns verification on */
	struct tls_pem_file tls_ca_file, tls_cert_file, tls_key_file;
	char *command;			/* script, run by /bin/sh -c */
	struct check_conf *next;
};

struct rs_config {
	/* [global] */
	char *user;
	bool user_named;		/* user is in the file, not the default */
	char user_warning[512];		/* "FILE:LINE: global.user: warning: ..." or "" */
	char *interface;
	char *label;			/* IPv4 label suffix: "<interface>:<label>" */
	struct ipaddr_list vips;
	unsigned arp_ignore;
	unsigned arp_announce;
	bool repair;
	uint64_t verify_interval_ms;
	char *state_dir;
	char *control_socket;
	unsigned control_mode;
	char *control_group;
	char *pid_file;
	int log_level;			/* enum log_level */
	struct ipendpoint metrics_listen;	/* family 0: no metrics endpoint */
	struct ipaddr_list metrics_allow;
	/* [agent] */
	bool agent_enabled;
	struct ipendpoint listen;
	struct ipaddr_list allow;
	unsigned max_connections;
	uint64_t agent_timeout_ms;
	int weight_source;		/* enum weight_source */
	unsigned min_weight;
	uint64_t weight_interval_ms;
	/* [check NAME] */
	struct check_conf *checks;
	size_t nchecks;
	/* the file it came from */
	char *path;
};

/* Load and validate; 0, or -errno with every problem in diag. */
int rs_config_load(const char *path, struct rs_config **out, struct ini_diag *diag);
/* Same, from the bytes of the file (ini_read_file); path is for messages
 * and becomes cfg->path. What a reload checks, then applies; the fuzzer. */
int rs_config_load_buffer(const char *path, const char *buf, size_t len, struct rs_config **out,
			  struct ini_diag *diag);
void rs_config_free(struct rs_config *cfg);
/* Normalized configuration, as a file. */
void rs_config_print(const struct rs_config *cfg, struct strbuf *out);
/* "lo:dsr" for IPv4 addresses; buf IF_NAMESIZE. */
const char *rs_config_vip_label(const struct rs_config *cfg, char *buf, size_t size);

/* ---- persistent state (state.c) ---- */

enum admin_state { ADMIN_READY, ADMIN_DRAIN, ADMIN_MAINT };

const char *admin_state_name(enum admin_state a);
int admin_state_parse(const char *s, enum admin_state *out);

/* What apply found before changing anything, so remove can put it back. */
struct sysctl_record {
	char ifname[16];		/* device, "all" or "default" */
	int arp_ignore;			/* -1 = not recorded */
	int arp_announce;
};

/* A VIP that apply added, as remove expects to find it: same address and
 * prefix length, on the recorded interface, with this label. */
struct applied_vip {
	struct ipaddr addr;
	char label[16];			/* IPv4: "lo:dsr"; IPv6: "" */
};

struct applied_state {
	struct sysctl_record *sysctls;
	size_t nsysctls;
	struct applied_vip *vips;	/* VIPs apply added (not ones already there) */
	size_t nvips;
	char vip_ifname[16];
	bool dirty;			/* changed since loaded or saved */
};

/* state_dir and its trust model. state_dir is root's (0755) and holds
 * "applied", which only root writes and root acts on. state_dir/admin.d is
 * the daemon user's and holds only "admin", the one file the unprivileged
 * daemon writes. Everything is opened relative to these two descriptors,
 * without following links and never blocking. */
#define STATE_ADMIN_DIR "admin.d"

struct state_dir {
	int dirfd;			/* state_dir; -1 when closed */
	int admin_fd;			/* state_dir/admin.d; -1 when missing */
	char path[4096];
};

/* Create state_dir (and admin.d, owned by uid:gid when given and running
 * as root); as root, take over a directory another user could write (the
 * layout before admin.d): its "applied" is moved aside as
 * applied.untrusted, its "admin" moved into admin.d. One line per thing it
 * did or refused goes to notes. -errno with a line in notes on failure. */
int state_dir_prepare(const char *path, uid_t uid, gid_t gid, struct state_dir *out, struct strbuf *notes);
/* Read-only (`check`): no creation, no checks beyond the reads'. */
int state_dir_open_ro(const char *path, struct state_dir *out);
void state_dir_close(struct state_dir *sd);

/* Missing = defaults. On failure err gets "FILE: why" (or "FILE:LINE: why"). */
int admin_state_load(const struct state_dir *sd, enum admin_state *out, char *err, size_t errsize);
int admin_state_save(const struct state_dir *sd, enum admin_state a);
/* Refuses (-EPERM) an "applied" that is not a regular file owned by this
 * user, with one link, writable by nobody else. */
int applied_state_load(const struct state_dir *sd, struct applied_state *out, char *err, size_t errsize);
int applied_state_save(const struct state_dir *sd, const struct applied_state *st);
/* Save only when st changed since it was loaded or saved: a repair that
 * puts back a recorded VIP must not cost an fsync in the event loop. */
int applied_state_save_if_changed(const struct state_dir *sd, struct applied_state *st);
int applied_state_remove(const struct state_dir *sd);
/* Parse the "applied" file's text; exposed for tests and the fuzzer. On
 * -EINVAL, *bad_line (may be NULL) is the 1-based line refused. */
int applied_state_parse(const char *text, size_t len, struct applied_state *out, unsigned *bad_line);
void applied_state_format(const struct applied_state *st, struct strbuf *out);
void applied_state_free(struct applied_state *st);
struct sysctl_record *applied_state_sysctl(struct applied_state *st, const char *ifname, bool create);
bool applied_state_has_vip(const struct applied_state *st, const struct ipaddr *a);
/* label: what the address was added with ("" for IPv6). */
int applied_state_add_vip(struct applied_state *st, const struct ipaddr *a, const char *label);
void applied_state_del_vip(struct applied_state *st, const struct ipaddr *a);

/* ---- the kernel, as dr.c sees it (kernel.c for real; fakes in tests) ---- */

struct rs_link {
	int ifindex;
	char name[16];
	int arp_ignore;			/* -1 unknown */
	int arp_announce;
};

struct kernel_ops {
	void *ctx;
	int (*ifindex)(void *ctx, const char *ifname);
	int (*links)(void *ctx, struct rs_link **out, size_t *n);	/* malloc'd */
	int (*link_set_arp)(void *ctx, int ifindex, int arp_ignore, int arp_announce);
	/* Every address on ifindex with its label, from one dump (malloc'd). */
	int (*addr_list)(void *ctx, int ifindex, struct rtnl_addrinfo **out, size_t *n);
	int (*addr_add)(void *ctx, int ifindex, const struct ipaddr *a, const char *label);
	int (*addr_del)(void *ctx, int ifindex, const struct ipaddr *a);
	/* conf/all and conf/default */
	int (*conf_get)(void *ctx, const char *which, int *arp_ignore, int *arp_announce);
	int (*conf_set)(void *ctx, const char *which, int arp_ignore, int arp_announce);
	/* IPv6 proxy-NDP entries (malloc'd); NULL: none to read. */
	int (*proxy_list)(void *ctx, struct rtnl_proxy **out, size_t *n);
};

/* The real kernel (rtnetlink + /proc/sys). */
int kernel_open(struct kernel_ops *ops);
void kernel_close(struct kernel_ops *ops);

/* ---- DR state: apply, verify, remove (dr.c) ---- */

enum dr_item_kind { DR_ITEM_VIP, DR_ITEM_SYSCTL };
enum dr_severity { DR_OK = 0, DR_WARNING = 1, DR_CRITICAL = 2 };

/* One finding or one change, in words for logs and `check`. */
struct dr_item {
	enum dr_severity severity;
	bool changed;			/* apply/repair changed it */
	char text[200];
};

/* One thing verify looked at, for metrics: a VIP on its interface
 * (value 1 present, 0 missing), or one ARP sysctl of conf/all,
 * conf/default or a device (value the effective one, ok when as wanted). */
struct dr_fact {
	enum dr_item_kind kind;
	const char *subject;		/* the VIP's address, "all", "default" or a device */
	const char *sysctl;		/* "arp_ignore", "arp_announce"; NULL for a VIP */
	int value;
	bool ok;
};
typedef void (*dr_fact_cb)(const struct dr_fact *f, void *arg);

struct dr_report {
	struct dr_item *items;
	size_t n, cap;
	unsigned changes;
	unsigned vip_changes;		/* of changes: VIPs added (the rest: sysctls) */
	dr_fact_cb on_fact;		/* set after dr_report_init: verify's facts */
	void *fact_arg;
	unsigned errors;		/* kernel operations that failed */
	enum dr_severity worst;
	char first_problem[128];	/* short reason for "down #..." */
};

void dr_report_init(struct dr_report *r);
void dr_report_free(struct dr_report *r);
/* Add a finding from outside dr.c (e.g. the admin state, for `check`). */
void dr_report_add(struct dr_report *r, enum dr_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the current ARP settings of conf/all, conf/default and every
 * device in st (where not recorded yet) without changing anything; callers
 * save st before dr_apply so a crash cannot lose the originals. */
int dr_record(struct kernel_ops *k, struct applied_state *st);
/* Make the kernel match the config. Records originals in st before changing.
 * only_ifindex > 0 limits the link part to one interface (event driven). */
int dr_apply(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
	     struct dr_report *rep);
int dr_apply_link(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
		  int ifindex, struct dr_report *rep);
/* Compare only; severities per the check command's rules. */
int dr_verify(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep);
/* Undo what st records; VIPs no longer configured are removed too when
 * recorded. A recorded VIP is removed only while the kernel has it on the
 * recorded interface with the recorded prefix length and label (else it
 * is left alone, reported as a warning); ARP settings go back only on the
 * recorded interfaces, to the recorded values. st is emptied of what was
 * undone. */
int dr_remove(struct kernel_ops *k, struct applied_state *st, struct dr_report *rep);
/* Records from before labels were recorded ("vip ADDR"): the label the
 * configuration gives, when it names the recorded interface. */
void dr_default_labels(const struct rs_config *cfg, struct applied_state *st);
/* Remove recorded VIPs that cfg no longer lists (reload). */
int dr_prune_vips(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
		  struct dr_report *rep);

/* ---- local health checks (health.c) ---- */

enum check_result { CHECK_UNKNOWN, CHECK_PASS, CHECK_WARN, CHECK_FAIL };

struct check_status {
	const struct check_conf *conf;
	struct risefall rf;		/* known, up (a warning passes), the run */
	enum check_result last;
	char last_reason[128];
	int64_t last_time;		/* wall clock of last result */
	uint64_t last_duration_ms;
	uint64_t runs, passes, failures;
	struct prom_hist latency;	/* of every attempt */
};

struct health;

/* on_change is called whenever a check's up/down changes. */
typedef void (*health_change_cb)(const struct check_status *st, void *arg);

int health_start(struct evloop *loop, const struct rs_config *cfg, const char *script_user,
		 health_change_cb on_change, void *arg, struct health **out);
void health_stop(struct health *h);
/* After a reload: checks that kept their name and target keep their state,
 * so reloading never reports a healthy server down while checks re-run. */
void health_adopt(struct health *h, const struct health *old);
size_t health_count(const struct health *h);
const struct check_status *health_get(const struct health *h, size_t i);
/* All checks up (no checks = true); else *failing is the first one down. */
bool health_all_up(const struct health *h, const struct check_status **failing);

/* Pure parts, for tests and the fuzzer. */
/* Advance the rise/fall machine with one result; returns true when up changed. */
bool check_status_record(struct check_status *st, enum check_result res, const char *reason,
			 uint64_t duration_ms, int64_t when);

/* ---- weight from load (load.c) ---- */

/* Percent in [min_weight, 100] from the 1-minute load average per core. */
unsigned weight_from_loadavg(double load1, unsigned ncpu, unsigned min_weight);
/* Percent in [min_weight, 100] from CPU pressure "some avg10" (0-100). */
unsigned weight_from_pressure(double some_avg10, unsigned min_weight);
/* Read the current value for the configured source; -errno on failure. */
int load_weight_read(int source, unsigned min_weight, unsigned *pct);

/* ---- the agent-check port (agent.c) ---- */

struct agent_counters {
	uint64_t served, rejected_addr, rejected_busy, errors;
	uint64_t answers[AGENT_ANSWER_COUNT];	/* replies sent, by enum agent_answer */
};

struct agent_server;

/* Called per connection to get the line to send. */
typedef void (*agent_reply_cb)(struct agent_reply *r, void *arg);

int agent_server_start(struct evloop *loop, const struct rs_config *cfg, agent_reply_cb cb,
		       void *arg, struct agent_server **out);
void agent_server_stop(struct agent_server *s);
/* Take over a new config's allow list and limits (the address is fixed). */
void agent_server_update(struct agent_server *s, const struct rs_config *cfg);
const struct agent_counters *agent_server_counters(const struct agent_server *s);
/* The bound port (useful when listen asked for port 0). */
int agent_server_port(const struct agent_server *s);
bool agent_addr_allowed(const struct ipaddr_list *allow, const struct ipaddr *peer);

/* The reply from the agent's view of things (pure). */
struct report_input {
	enum admin_state admin;
	bool dr_ok;
	const char *dr_problem;
	bool checks_ok;
	const char *check_problem;
	int weight_pct;			/* -1 = no load weighting */
};
void report_compose(const struct report_input *in, struct agent_reply *out);

/* ---- metrics (metrics.c) ---- */

struct httpsrv_counters;

/* What a scrape shows: the daemon's state and counters; the DR items are
 * read through kernel (one verify pass). */
struct rs_metrics_input {
	const struct rs_config *cfg;
	struct kernel_ops *kernel;
	enum admin_state admin;
	const struct agent_reply *reply;	/* what the agent answers now */
	const struct health *health;		/* NULL: no checks */
	const struct agent_counters *agent;	/* NULL: the agent port is off */
	const struct httpsrv_counters *http;	/* NULL: no metrics endpoint */
	uint64_t repairs_vip, repairs_sysctl, repair_errors, reloads, reload_failures;
	int weight_pct;				/* -1: no load weighting */
	int64_t started;			/* wall clock */
};

void rs_metrics_render(const struct rs_metrics_input *in, struct strbuf *out);

/* ---- the daemon (daemon.c) ---- */

/* rs-agent run: until SIGTERM/SIGINT; takes ownership of cfg. Returns the
 * process exit code. */
int daemon_run(struct rs_config *cfg, bool detached, bool verbose);

#endif
