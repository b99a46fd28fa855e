/* director.ini: the schema and the checks that span keys and sections
 * (the value types of its own are in config_types.c). */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "httpserv.h"
#include "log.h"
#include "privdrop.h"
#include "proto.h"

#define G(field) offsetof(struct director_config, field)
#define V(field) offsetof(struct vrrp_conf, field)
#define S(field) offsetof(struct track_script_conf, field)
#define F(field) offsetof(struct track_file_conf, field)
#define Y(field) offsetof(struct sync_group_conf, field)
#define P(field) offsetof(struct track_process_conf, field)

/* ---- the schema ---- */

static const struct ini_enum log_levels[] = {
	{ "warning", LOG_LEVEL_WARN }, { "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG }, { NULL, 0 },
};

static const struct ini_enum ipvs_sync_modes[] = {
	{ "vrrp", LVS_SYNC_VRRP }, { "both", LVS_SYNC_BOTH }, { NULL, 0 },
};

static const struct ini_enum ipvs_on_stop[] = {
	{ "keep", LVS_STOP_KEEP }, { "remove", LVS_STOP_REMOVE }, { NULL, 0 },
};

#define END { NULL, NULL, 0, 0, 0, NULL, false, NULL }

static const struct ini_key global_keys[] = {
	{ "router_id", &ini_type_string, G(router_id), 0, 0, NULL, false, NULL },
	{ "user", &ini_type_string, G(user), 0, 0, DAEMON_USER, false, NULL },
	{ "control_socket", &ini_type_string, G(control_socket), 0, 0, DIRECTORD_SOCKET, false, NULL },
	{ "control_mode", &ini_type_mode, G(control_mode), 0, 0777, "0660", false, NULL },
	{ "control_group", &ini_type_string, G(control_group), 0, 0, NULL, false, NULL },
	{ "notify_fifo", &ini_type_string, G(notify_fifo), 0, 0, NULL, false, NULL },
	{ "state_dir", &ini_type_string, G(state_dir), 0, 0, DIRECTORD_STATE_DIR, false, NULL },
	{ "script_timeout", &ini_type_duration, G(script_timeout_ms), 100, 600000, "10s", false, NULL },
	{ "log_level", &ini_type_enum, G(log_level), 0, 0, "info", false, log_levels },
	{ "vrrp_realtime_priority", &ini_type_uint, G(vrrp_rt_priority), 0, 99, "10", false, NULL },
	{ "engine_heartbeat_timeout", &ini_type_duration, G(heartbeat_timeout_ms), 0, 60000, "3s", false, NULL },
	{ "metrics_listen", &ini_type_endpoint, G(metrics_listen), 0, 0, NULL, false, NULL },
	{ "metrics_allow", &ini_type_ipaddr_list, G(metrics_allow), 0, 0, NULL, false, NULL },
	{ "ipvs_on_stop", &ini_type_enum, G(lvs.on_stop), 0, 0, "keep", false, ipvs_on_stop },
	{ "ipvs_reconcile_interval", &ini_type_duration, G(lvs.reconcile_interval_ms), 0, 86400000, "0s", false,
	  NULL },
	/* The sync daemon; checked across keys in config_lvs.c. */
	{ "ipvs_sync_interface", &ini_type_string, G(lvs.sync.interface), 0, 0, NULL, false, NULL },
	{ "ipvs_sync_follow", &ini_type_string, G(lvs.sync.follow), 0, 0, NULL, false, NULL },
	{ "ipvs_sync_mode", &ini_type_enum, G(lvs.sync.mode), 0, 0, "vrrp", false, ipvs_sync_modes },
	{ "ipvs_sync_id", &opt_uint_type, G(lvs.sync.sync_id), 0, 255, NULL, false, NULL },
	{ "ipvs_sync_group", &ini_type_host_ipaddr, G(lvs.sync.group), 0, 0, NULL, false, NULL },
	{ "ipvs_sync_port", &ini_type_uint, G(lvs.sync.port), 1, 65535, "8848", false, NULL },
	{ "ipvs_sync_ttl", &ini_type_uint, G(lvs.sync.ttl), 1, 255, "1", false, NULL },
	{ "ipvs_sync_maxlen", &opt_uint_type, G(lvs.sync.maxlen), LVS_SYNC_MAXLEN_MIN, LVS_SYNC_MAXLEN_MAX, NULL,
	  false, NULL },
	/* The kernel keeps timeouts in jiffies of an int: at most INT_MAX / HZ
	 * seconds, and HZ may be 1000. */
	{ "ipvs_timeout_tcp", &ini_type_duration, G(lvs.timeouts.tcp_ms), 0, LVS_TIMEOUT_MAX_MS, "0s", false, NULL },
	{ "ipvs_timeout_tcp_fin", &ini_type_duration, G(lvs.timeouts.tcp_fin_ms), 0, LVS_TIMEOUT_MAX_MS, "0s", false,
	  NULL },
	{ "ipvs_timeout_udp", &ini_type_duration, G(lvs.timeouts.udp_ms), 0, LVS_TIMEOUT_MAX_MS, "0s", false, NULL },
	/* net.ipv4.vs.*: not given, the kernel's value stays (lvs_sysctl_defs). */
	{ "ipvs_expire_nodest_conn", &opt_uint_type, G(lvs.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN]), 0, 1, NULL, false,
	  NULL },
	{ "ipvs_expire_quiescent_template", &opt_uint_type, G(lvs.sysctl[LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE]), 0, 1,
	  NULL, false, NULL },
	{ "ipvs_sloppy_tcp", &opt_uint_type, G(lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP]), 0, 1, NULL, false, NULL },
	{ "ipvs_sloppy_sctp", &opt_uint_type, G(lvs.sysctl[LVS_SYSCTL_SLOPPY_SCTP]), 0, 1, NULL, false, NULL },
	{ "ipvs_conn_reuse_mode", &opt_uint_type, G(lvs.sysctl[LVS_SYSCTL_CONN_REUSE_MODE]), 0, 3, NULL, false, NULL },
	/* Announced services (lvs_announce.c); checked in config_lvs.c. */
	{ "announce_interface", &ini_type_string, G(lvs.announce.interface), 0, 0, "lo", false, NULL },
	{ "announce_table", &ini_type_uint, G(lvs.announce.table), 1, ANNOUNCE_TABLE_MAX, "222", false, NULL },
	{ "announce_protocol", &ini_type_uint, G(lvs.announce.protocol), 5, 255, "222", false, NULL },
	END,
};

static const struct ini_key track_script_keys[] = {
	{ "command", &ini_type_string, S(command), 0, 0, NULL, true, NULL },
	{ "interval", &ini_type_duration, S(interval_ms), 100, 3600000, "2s", false, NULL },
	{ "timeout", &ini_type_duration, S(timeout_ms), 10, 3600000, NULL, false, NULL },
	{ "rise", &ini_type_uint, S(rise), 1, 100, "1", false, NULL },
	{ "fall", &ini_type_uint, S(fall), 1, 100, "1", false, NULL },
	{ "weight", &int_type, S(weight), -254, 254, "0", false, NULL },
	END,
};

static const struct ini_key track_file_keys[] = {
	{ "path", &ini_type_string, F(path), 0, 0, NULL, true, NULL },
	{ "weight", &int_type, F(weight), -254, 254, "1", false, NULL },
	END,
};

static const struct ini_enum param_matches[] = {
	{ "exact", PARAM_MATCH_EXACT }, { "partial", PARAM_MATCH_PARTIAL }, { "initial", PARAM_MATCH_INITIAL },
	{ NULL, 0 },
};

static const struct ini_key track_process_keys[] = {
	{ "process", &ini_type_string, P(process), 0, 0, NULL, true, NULL },
	{ "args", &ini_type_string, P(args), 0, 0, NULL, false, NULL },
	{ "param_match", &ini_type_enum, P(param_match), 0, 0, "exact", false, param_matches },
	{ "full_command", &ini_type_bool, P(full_command), 0, 0, "no", false, NULL },
	{ "quorum", &ini_type_uint, P(quorum), 0, 65535, "1", false, NULL },
	{ "quorum_max", &opt_uint_type, P(quorum_max), 0, 65535, NULL, false, NULL },
	{ "delay", &ini_type_duration, P(delay_ms), 0, 3600000, "0s", false, NULL },
	{ "terminate_delay", &ini_type_duration, P(terminate_delay_ms), 0, 3600000, NULL, false, NULL },
	{ "fork_delay", &ini_type_duration, P(fork_delay_ms), 0, 3600000, NULL, false, NULL },
	{ "weight", &int_type, P(weight), -254, 254, "0", false, NULL },
	END,
};

static const struct ini_key sync_group_keys[] = {
	{ "instances", &ini_type_strlist, Y(instances), 0, 0, NULL, true, NULL },
	{ "notify", &ini_type_string, Y(notify), 0, 0, NULL, false, NULL },
	{ "notify_master", &ini_type_string, Y(notify_master), 0, 0, NULL, false, NULL },
	{ "notify_backup", &ini_type_string, Y(notify_backup), 0, 0, NULL, false, NULL },
	{ "notify_fault", &ini_type_string, Y(notify_fault), 0, 0, NULL, false, NULL },
	END,
};

static const struct ini_key vrrp_keys[] = {
	{ "interface", &ini_type_string, V(interface), 0, 0, NULL, true, NULL },
	{ "virtual_router_id", &ini_type_uint, V(vrid), 1, 255, NULL, true, NULL },
	{ "priority", &ini_type_uint, V(priority), 1, 255, "100", false, NULL },
	{ "version", &ini_type_uint, V(version), 2, 3, "3", false, NULL },
	{ "advert_interval", &ini_type_duration, V(advert_interval_ms), 10, 255000, "1s", false, NULL },
	{ "virtual_ipaddress", &vip_list_type, V(vips), 0, 0, NULL, true, NULL },
	{ "virtual_routes", &route_list_type, V(routes), 0, 0, NULL, false, NULL },
	{ "preempt", &ini_type_bool, V(preempt), 0, 0, "yes", false, NULL },
	{ "preempt_delay", &ini_type_duration, V(preempt_delay_ms), 0, 3600000, "0s", false, NULL },
	{ "startup_delay", &ini_type_duration, V(startup_delay_ms), 0, 3600000, "0s", false, NULL },
	{ "unicast_src_ip", &ini_type_host_ipaddr, V(unicast_src), 0, 0, NULL, false, NULL },
	{ "unicast_peer", &ini_type_host_ipaddr_list, V(unicast_peers), 0, 0, NULL, false, NULL },
	{ "unicast_ttl_check", &ini_type_bool, V(unicast_ttl_check), 0, 0, "no", false, NULL },
	{ "auth_pass", &ini_type_string, V(auth_pass), 0, 0, NULL, false, NULL },
	{ "track_script", &track_list_type, V(track_scripts), 0, 0, NULL, false, NULL },
	{ "track_interface", &track_list_type, V(track_interfaces), 0, 0, NULL, false, NULL },
	{ "track_file", &track_list_type, V(track_files), 0, 0, NULL, false, NULL },
	{ "track_process", &track_list_type, V(track_processes), 0, 0, NULL, false, NULL },
	{ "notify", &ini_type_string, V(notify), 0, 0, NULL, false, NULL },
	{ "notify_master", &ini_type_string, V(notify_master), 0, 0, NULL, false, NULL },
	{ "notify_backup", &ini_type_string, V(notify_backup), 0, 0, NULL, false, NULL },
	{ "notify_fault", &ini_type_string, V(notify_fault), 0, 0, NULL, false, NULL },
	{ "notify_stop", &ini_type_string, V(notify_stop), 0, 0, NULL, false, NULL },
	{ "garp_count", &ini_type_uint, V(garp_count), 1, 100, "5", false, NULL },
	{ "garp_repeat_delay", &ini_type_duration, V(garp_repeat_delay_ms), 0, 3600000, "5s", false, NULL },
	{ "garp_refresh", &ini_type_duration, V(garp_refresh_ms), 0, 86400000, "0s", false, NULL },
	{ "pseudo_header_checksum", &ini_type_bool, V(pseudo_header_checksum), 0, 0, "yes", false, NULL },
	{ "accept", &ini_type_bool, V(accept), 0, 0, "yes", false, NULL },
	END,
};

/* Named sections keep file order in their lists. */
#define APPEND(head, item) do { \
	__typeof__(item) *tail_ = &(head); \
	while (*tail_) \
		tail_ = &(*tail_)->next; \
	*tail_ = (item); \
} while (0)

static void *global_instance(void *cfg, const char *name)
{
	(void)name;
	return cfg;
}

/* Every named section's struct starts with its name (char *name). */
static void *named_new(size_t size, const char *name)
{
	char **p = calloc(1, size);

	if (p && !(*p = strdup(name ? name : ""))) {
		free(p);
		p = NULL;
	}
	return p;
}

static void *track_script_instance(void *cfgp, const char *name)
{
	struct director_config *cfg = cfgp;
	struct track_script_conf *t = named_new(sizeof(*t), name);

	if (t)
		APPEND(cfg->track_scripts, t);
	return t;
}

static void *track_file_instance(void *cfgp, const char *name)
{
	struct director_config *cfg = cfgp;
	struct track_file_conf *t = named_new(sizeof(*t), name);

	if (t)
		APPEND(cfg->track_files, t);
	return t;
}

static void *track_process_instance(void *cfgp, const char *name)
{
	struct director_config *cfg = cfgp;
	struct track_process_conf *t = named_new(sizeof(*t), name);

	if (t)
		APPEND(cfg->track_processes, t);
	return t;
}

static void *sync_group_instance(void *cfgp, const char *name)
{
	struct director_config *cfg = cfgp;
	struct sync_group_conf *g = named_new(sizeof(*g), name);

	if (g)
		APPEND(cfg->sync_groups, g);
	return g;
}

static void *vrrp_instance(void *cfgp, const char *name)
{
	struct director_config *cfg = cfgp;
	struct vrrp_conf *v = named_new(sizeof(*v), name);

	if (v) {
		APPEND(cfg->instances, v);
		cfg->ninstances++;
	}
	return v;
}

/* The keys are in config_lvs.c; appended through a tail pointer, since
 * there may be tens of thousands. */
static void *virtual_server_instance(void *cfgp, const char *name)
{
	struct director_config *cfg = cfgp;
	struct virtual_server_conf *vs = named_new(sizeof(*vs), name);

	if (vs) {
		if (cfg->lvs.last)
			cfg->lvs.last->next = vs;
		else
			cfg->lvs.services = vs;
		cfg->lvs.last = vs;
		cfg->lvs.nservices++;
	}
	return vs;
}

enum { SEC_GLOBAL, SEC_TRACK_SCRIPT, SEC_TRACK_FILE, SEC_SYNC_GROUP, SEC_VRRP, SEC_VIRTUAL_SERVER, SEC_TRACK_PROCESS };

static const struct ini_section sections[] = {
	[SEC_GLOBAL] = { "global", false, false, global_keys, global_instance },
	[SEC_TRACK_SCRIPT] = { "track_script", true, false, track_script_keys, track_script_instance },
	[SEC_TRACK_FILE] = { "track_file", true, false, track_file_keys, track_file_instance },
	[SEC_SYNC_GROUP] = { "sync_group", true, false, sync_group_keys, sync_group_instance },
	[SEC_VRRP] = { "vrrp", true, false, vrrp_keys, vrrp_instance },
	[SEC_VIRTUAL_SERVER] = { "virtual_server", true, false, virtual_server_keys, virtual_server_instance },
	[SEC_TRACK_PROCESS] = { "track_process", true, false, track_process_keys, track_process_instance },
};

static const struct ini_schema schema = { sections, ARRAY_SIZE(sections) };

/* ---- checks across keys and sections ---- */

struct check_ctx {
	struct director_config *cfg;
	const struct ini_doc *doc;
	struct ini_diag *diag;
};

#define ERR(c, sec, key, ...) ini_doc_error((c)->diag, (c)->doc, (sec), (key), __VA_ARGS__)

/* Commands run through /bin/sh -c, so "killall -0 haproxy" is fine; a
 * program named by its path must not be writable by others. */
static void check_script_path(struct check_ctx *c, const char *sec, const char *key, const char *command)
{
	char err[256];

	if (command_check_private(command, err, sizeof(err)) < 0)
		ERR(c, sec, key, "%s", err);
}

static void check_global(struct check_ctx *c)
{
	struct director_config *cfg = c->cfg;
	char msg[sizeof(cfg->user_warning) - 64];
	const char *why, *key;
	int r;

	cfg->user_named = ini_doc_line(c->doc, "global", "user") != 0;
	r = daemon_user_check(cfg->user, cfg->user_named, msg, sizeof(msg));
	if (r < 0)
		ERR(c, "global", "user", "%s", msg);
	else if (r > 0)
		snprintf(cfg->user_warning, sizeof(cfg->user_warning), "%s:%u: global.user: %s", ini_doc_path(c->doc),
			 ini_doc_line(c->doc, "global", "user"), msg);
	if (cfg->control_group && !getgrnam(cfg->control_group))
		ERR(c, "global", "control_group", "no such group '%s'", cfg->control_group);
	if (cfg->control_socket[0] != '/' || strlen(cfg->control_socket) >= 108)
		ERR(c, "global", "control_socket", "must be an absolute path of at most 107 bytes");
	if (cfg->notify_fifo && cfg->notify_fifo[0] != '/')
		ERR(c, "global", "notify_fifo", "must be an absolute path");
	if (cfg->state_dir && cfg->state_dir[0] != '/')
		ERR(c, "global", "state_dir", "must be an absolute path");
	if (cfg->heartbeat_timeout_ms && cfg->heartbeat_timeout_ms < HEARTBEAT_TIMEOUT_MIN_MS)
		ERR(c, "global", "engine_heartbeat_timeout", "0 (off) or at least %ums", HEARTBEAT_TIMEOUT_MIN_MS);
	if ((why = metrics_keys_problem(&cfg->metrics_listen, &cfg->metrics_allow, &key)))
		ERR(c, "global", key, "%s", why);
}

static void check_track_scripts(struct check_ctx *c)
{
	char sec[128];

	for (struct track_script_conf *t = c->cfg->track_scripts; t; t = t->next) {
		snprintf(sec, sizeof(sec), "track_script %s", t->name);
		if (t->timeout_ms == 0)
			t->timeout_ms = t->interval_ms;	/* default: the interval */
		else if (t->timeout_ms > t->interval_ms)
			ERR(c, sec, "timeout", "must not be longer than interval");
		check_script_path(c, sec, "command", t->command);
	}
}

/* The delays not given take `delay`; a name the kernel's comm cannot hold
 * would never match, so it needs full_command or args (argv[0]). */
static void check_track_processes(struct check_ctx *c)
{
	char sec[128];
	size_t n = 0;

	for (struct track_process_conf *t = c->cfg->track_processes; t; t = t->next, n++) {
		snprintf(sec, sizeof(sec), "track_process %s", t->name);
		if (!ini_doc_line(c->doc, sec, "terminate_delay"))
			t->terminate_delay_ms = t->delay_ms;
		if (!ini_doc_line(c->doc, sec, "fork_delay"))
			t->fork_delay_ms = t->delay_ms;
		if (t->process && (!t->process[0] || strpbrk(t->process, " \t")))
			ERR(c, sec, "process", "a process name: not empty, no blanks (arguments go in args)");
		else if (t->process && !t->full_command && !t->args && strlen(t->process) > TRACK_PROCESS_COMM_MAX)
			ERR(c, sec, "process", "longer than the %d bytes the kernel keeps as a process name: "
			    "add full_command = yes to match the command line's first word", TRACK_PROCESS_COMM_MAX);
		if (t->quorum_max.set && t->quorum_max.value < t->quorum)
			ERR(c, sec, "quorum_max", "%u is less than quorum (%u)", t->quorum_max.value, t->quorum);
	}
	if (n > TRACK_PROCESS_MAX)
		ERR(c, NULL, NULL, "%zu [track_process] sections, at most %d", n, TRACK_PROCESS_MAX);
}

/* The kernel takes "IF" or "IF:anything" as an IPv4 label. */
static bool label_fits(const char *label, const char *ifname)
{
	size_t n = strlen(ifname);

	return strncmp(label, ifname, n) == 0 && (label[n] == '\0' || label[n] == ':');
}

static void check_vips(struct check_ctx *c, struct vrrp_conf *v, const char *sec)
{
	char buf[INET6_ADDRSTRLEN];
	int family = v->vips.n ? v->vips.items[0].addr.family : 0;

	for (size_t i = 0; i < v->vips.n; i++) {
		struct vip_conf *vip = &v->vips.items[i];
		const char *dev = vip->dev[0] ? vip->dev : v->interface;

		/* One advert carries one family: a v4 and a v6 VIP need two instances. */
		if (vip->addr.family != family)
			ERR(c, sec, "virtual_ipaddress", "%s: all addresses of one instance must be of one family",
			    ipaddr_ntop(&vip->addr, buf, sizeof(buf)));
		if (vip->label[0] && dev && !label_fits(vip->label, dev))
			ERR(c, sec, "virtual_ipaddress", "label %s must be the interface name or start with it and ':'",
			    vip->label);
		for (size_t j = 0; j < i; j++)
			if (ipaddr_equal(&vip->addr, &v->vips.items[j].addr))
				ERR(c, sec, "virtual_ipaddress", "%s is listed twice",
				    ipaddr_ntop(&vip->addr, buf, sizeof(buf)));
	}
	if (family == AF_INET6 && v->version == 2)
		ERR(c, sec, "version", "VRRPv2 carries IPv4 only; use version = 3 for IPv6");
}

static void check_timing(struct check_ctx *c, struct vrrp_conf *v, const char *sec)
{
	if (v->version == 2 && v->advert_interval_ms % 1000 != 0)
		ERR(c, sec, "advert_interval", "VRRPv2 counts whole seconds (1s to 255s)");
	if (v->version == 3 && (v->advert_interval_ms % 10 != 0 || v->advert_interval_ms > 40950))
		ERR(c, sec, "advert_interval", "VRRPv3 counts centiseconds: 10ms to 40950ms in steps of 10ms");
	if (v->auth_pass && v->version != 2)
		ERR(c, sec, "auth_pass", "only VRRPv2 has authentication");
	if (v->auth_pass && (strlen(v->auth_pass) == 0 || strlen(v->auth_pass) > 8))
		ERR(c, sec, "auth_pass", "1 to 8 characters");
}

static void check_unicast(struct check_ctx *c, struct vrrp_conf *v, const char *sec, int family)
{
	if (v->unicast_src.family && v->unicast_src.family != family)
		ERR(c, sec, "unicast_src_ip", "not of the VIPs' family");
	for (size_t i = 0; i < v->unicast_peers.n; i++)
		if (v->unicast_peers.items[i].family != family)
			ERR(c, sec, "unicast_peer", "every peer must be of the VIPs' family");
	/* Multicast adverts always need TTL 255. */
	if (v->unicast_ttl_check && !v->unicast_peers.n)
		ERR(c, sec, "unicast_ttl_check", "only for unicast (with unicast_peer)");
}

static void check_tracks(struct check_ctx *c, struct vrrp_conf *v, const char *sec)
{
	for (size_t i = 0; i < v->track_scripts.n; i++)
		if (!director_config_track_script(c->cfg, v->track_scripts.items[i].name))
			ERR(c, sec, "track_script", "no [track_script %s] section", v->track_scripts.items[i].name);
	for (size_t i = 0; i < v->track_files.n; i++)
		if (!director_config_track_file(c->cfg, v->track_files.items[i].name))
			ERR(c, sec, "track_file", "no [track_file %s] section", v->track_files.items[i].name);
	for (size_t i = 0; i < v->track_processes.n; i++)
		if (!director_config_track_process(c->cfg, v->track_processes.items[i].name))
			ERR(c, sec, "track_process", "no [track_process %s] section", v->track_processes.items[i].name);
	for (size_t i = 0; i < v->track_interfaces.n; i++)
		if (!ifname_valid(v->track_interfaces.items[i].name))
			ERR(c, sec, "track_interface", "'%s' is not an interface name",
			    v->track_interfaces.items[i].name);
}

static void check_notify(struct check_ctx *c, struct vrrp_conf *v, const char *sec)
{
	check_script_path(c, sec, "notify", v->notify);
	check_script_path(c, sec, "notify_master", v->notify_master);
	check_script_path(c, sec, "notify_backup", v->notify_backup);
	check_script_path(c, sec, "notify_fault", v->notify_fault);
	check_script_path(c, sec, "notify_stop", v->notify_stop);
}

static void check_instance(struct check_ctx *c, struct vrrp_conf *v)
{
	char sec[128];
	int family = v->vips.n ? v->vips.items[0].addr.family : AF_INET;

	snprintf(sec, sizeof(sec), "vrrp %s", v->name);
	/* A required key that is absent was reported by ini.c and is NULL
	 * here: the checks that need it are left out. */
	if (v->interface && !ifname_valid(v->interface))
		ERR(c, sec, "interface", "'%s' is not an interface name", v->interface);
	check_vips(c, v, sec);
	check_timing(c, v, sec);
	check_unicast(c, v, sec, family);
	check_tracks(c, v, sec);
	check_notify(c, v, sec);
	/* A director must receive the traffic for its VIPs; the RFC's
	 * non-accept mode would need packet filtering, which is not ours. */
	if (!v->accept)
		ERR(c, sec, "accept", "'no' is not supported: the master always accepts traffic for its VIPs "
		    "(a director must); remove the key");
	/* Two instances with one VRID on one link would answer each other. */
	for (struct vrrp_conf *o = c->cfg->instances; o && o != v; o = o->next) {
		int ofamily = o->vips.n ? o->vips.items[0].addr.family : AF_INET;

		if (o->vrid == v->vrid && ofamily == family && o->interface && v->interface &&
		    strcmp(o->interface, v->interface) == 0)
			ERR(c, sec, "virtual_router_id", "%u is already used on %s by [vrrp %s]", v->vrid,
			    v->interface, o->name);
	}
}

static void check_sync_groups(struct check_ctx *c)
{
	char sec[128];

	for (struct sync_group_conf *g = c->cfg->sync_groups; g; g = g->next) {
		snprintf(sec, sizeof(sec), "sync_group %s", g->name);
		if (g->instances.n < 2)
			ERR(c, sec, "instances", "a sync group needs at least two instances");
		for (size_t i = 0; i < g->instances.n; i++) {
			struct vrrp_conf *v = director_config_instance(c->cfg, g->instances.items[i]);

			if (!v)
				ERR(c, sec, "instances", "no [vrrp %s] section", g->instances.items[i]);
			else if (v->group && v->group != g)
				ERR(c, sec, "instances", "%s is already in [sync_group %s]", v->name, v->group->name);
			else
				v->group = g;
		}
		check_script_path(c, sec, "notify", g->notify);
		check_script_path(c, sec, "notify_master", g->notify_master);
		check_script_path(c, sec, "notify_backup", g->notify_backup);
		check_script_path(c, sec, "notify_fault", g->notify_fault);
	}
}

static void check_all(struct check_ctx *c)
{
	check_global(c);
	check_track_scripts(c);
	check_track_processes(c);
	if (c->cfg->ninstances == 0 && !lvs_config_wanted(&c->cfg->lvs))
		ERR(c, NULL, NULL, "no [vrrp NAME] or [virtual_server NAME] section: nothing to do");
	if (c->cfg->ninstances > DIR_MAX_INSTANCES)
		ERR(c, NULL, NULL, "%zu VRRP instances, at most %d", c->cfg->ninstances, DIR_MAX_INSTANCES);
	for (struct vrrp_conf *v = c->cfg->instances; v; v = v->next)
		check_instance(c, v);
	check_sync_groups(c);
	/* After the sync groups: a virtual server may follow one. */
	lvs_config_check(c->cfg, c->doc, c->diag);
}

/* ---- loading ---- */

/* The checks across keys read global.user and control_socket: skipped
 * when a key error left them unset. */
static void check_loaded(void *cfg, const struct ini_doc *doc, struct ini_diag *diag)
{
	struct check_ctx c = { cfg, doc, diag };

	if (c.cfg->user && c.cfg->control_socket)
		check_all(&c);
}

static void free_loaded(void *cfg)
{
	director_config_free(cfg);
}

static const struct ini_program program = {
	&schema, sizeof(struct director_config), offsetof(struct director_config, path), check_loaded, free_loaded,
};

/* buf NULL: read path. */
static int load(const char *path, const char *buf, size_t len, struct director_config **out, struct ini_diag *diag)
{
	void *cfg;
	int ret = ini_program_load(&program, path, buf, len, &cfg, diag);

	*out = ret == 0 ? cfg : NULL;
	return ret;
}

int director_config_load(const char *path, struct director_config **out, struct ini_diag *diag)
{
	return load(path, NULL, 0, out, diag);
}

int director_config_load_buffer(const char *path, const char *buf, size_t len, struct director_config **out,
				struct ini_diag *diag)
{
	return load(path, buf ? buf : "", len, out, diag);
}

#define FREE_LIST(type, head, sec) do { \
	type *n_, *next_; \
	for (n_ = (head); n_; n_ = next_) { \
		next_ = n_->next; \
		ini_free_section(&sections[sec], n_); \
		free(n_->name); \
		free(n_); \
	} \
} while (0)

void virtual_server_conf_free(struct virtual_server_conf *vs)
{
	if (!vs)
		return;
	vs->next = NULL;
	FREE_LIST(struct virtual_server_conf, vs, SEC_VIRTUAL_SERVER);
}

void director_config_free(struct director_config *cfg)
{
	if (!cfg)
		return;
	FREE_LIST(struct track_script_conf, cfg->track_scripts, SEC_TRACK_SCRIPT);
	FREE_LIST(struct track_file_conf, cfg->track_files, SEC_TRACK_FILE);
	FREE_LIST(struct track_process_conf, cfg->track_processes, SEC_TRACK_PROCESS);
	FREE_LIST(struct sync_group_conf, cfg->sync_groups, SEC_SYNC_GROUP);
	FREE_LIST(struct vrrp_conf, cfg->instances, SEC_VRRP);
	FREE_LIST(struct virtual_server_conf, cfg->lvs.services, SEC_VIRTUAL_SERVER);
	ini_free_section(&sections[SEC_GLOBAL], cfg);
	free(cfg->warnings);
	free(cfg->path);
	free(cfg);
}

void director_config_log_warnings(const struct director_config *cfg)
{
	const char *text = cfg->warnings;

	while (text && *text) {
		size_t n = strcspn(text, "\n");

		log_warnx("%.*s", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

void director_config_print(const struct director_config *cfg, struct strbuf *out)
{
	ini_print_section(&sections[SEC_GLOBAL], NULL, cfg, out);
	for (const struct track_script_conf *t = cfg->track_scripts; t; t = t->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_TRACK_SCRIPT], t->name, t, out);
	}
	for (const struct track_file_conf *t = cfg->track_files; t; t = t->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_TRACK_FILE], t->name, t, out);
	}
	for (const struct track_process_conf *t = cfg->track_processes; t; t = t->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_TRACK_PROCESS], t->name, t, out);
	}
	for (const struct sync_group_conf *g = cfg->sync_groups; g; g = g->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_SYNC_GROUP], g->name, g, out);
	}
	for (const struct vrrp_conf *v = cfg->instances; v; v = v->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_VRRP], v->name, v, out);
	}
	for (const struct virtual_server_conf *vs = cfg->lvs.services; vs; vs = vs->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_VIRTUAL_SERVER], vs->name, vs, out);
	}
}

/* iniparser lowercases section names; references in values keep the
 * operator's case, so names compare without case. */
/* Same settings, same group: a reload keeps such an instance running. */
bool vrrp_conf_same(const struct vrrp_conf *a, const struct vrrp_conf *b)
{
	struct strbuf sa, sb;
	bool same;

	sb_init(&sa);
	sb_init(&sb);
	ini_print_section(&sections[SEC_VRRP], a->name, a, &sa);
	ini_print_section(&sections[SEC_VRRP], b->name, b, &sb);
	same = !sa.failed && !sb.failed && strcmp(sb_str(&sa), sb_str(&sb)) == 0 &&
	       strcmp(a->group ? a->group->name : "", b->group ? b->group->name : "") == 0;
	sb_free(&sa);
	sb_free(&sb);
	return same;
}

/* Same settings: a reload keeps the service's probes and health state.
 * Key by key rather than as printed: a reload of thousands of services
 * compares them all. */
bool virtual_server_conf_same(const struct virtual_server_conf *a, const struct virtual_server_conf *b)
{
	return strcmp(a->name, b->name) == 0 && ini_section_equal(&sections[SEC_VIRTUAL_SERVER], a, b);
}

static int vs_name_cmp(const void *a, const void *b)
{
	const struct virtual_server_conf *x = *(const struct virtual_server_conf *const *)a;
	const struct virtual_server_conf *y = *(const struct virtual_server_conf *const *)b;

	return strcasecmp(x->name, y->name);
}

/* Sections usually keep their place: the running one at the same place
 * is tried first, then a search by name. */
int director_config_mark_unchanged(struct director_config *fresh, const struct director_config *running)
{
	size_t n = running->lvs.nservices, pos = 0;
	const struct virtual_server_conf **by_place = calloc(n + 1, sizeof(*by_place));
	const struct virtual_server_conf **by_name = calloc(n + 1, sizeof(*by_name));

	if (!by_place || !by_name) {
		free(by_place);
		free(by_name);
		return -ENOMEM;
	}
	n = 0;
	for (const struct virtual_server_conf *v = running->lvs.services; v; v = v->next)
		by_place[n] = by_name[n] = v, n++;
	qsort(by_name, n, sizeof(*by_name), vs_name_cmp);
	for (struct virtual_server_conf *c = fresh->lvs.services; c; c = c->next, pos++) {
		const struct virtual_server_conf *old = pos < n ? by_place[pos] : NULL, **found;

		if (!old || strcasecmp(old->name, c->name) != 0) {
			const struct virtual_server_conf key = { .name = c->name }, *k = &key;

			found = bsearch(&k, by_name, n, sizeof(*by_name), vs_name_cmp);
			old = found ? *found : NULL;
		}
		c->unchanged = old && virtual_server_conf_same(old, c) ? old : NULL;
	}
	free(by_place);
	free(by_name);
	return 0;
}

struct virtual_server_conf *director_config_virtual_server(const struct director_config *cfg, const char *name)
{
	for (struct virtual_server_conf *vs = cfg->lvs.services; vs; vs = vs->next)
		if (strcasecmp(vs->name, name) == 0)
			return vs;
	return NULL;
}

struct vrrp_conf *director_config_instance(const struct director_config *cfg, const char *name)
{
	for (struct vrrp_conf *v = cfg->instances; v; v = v->next)
		if (strcasecmp(v->name, name) == 0)
			return v;
	return NULL;
}

struct track_script_conf *director_config_track_script(const struct director_config *cfg, const char *name)
{
	for (struct track_script_conf *t = cfg->track_scripts; t; t = t->next)
		if (strcasecmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct track_file_conf *director_config_track_file(const struct director_config *cfg, const char *name)
{
	for (struct track_file_conf *t = cfg->track_files; t; t = t->next)
		if (strcasecmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct track_process_conf *director_config_track_process(const struct director_config *cfg, const char *name)
{
	for (struct track_process_conf *t = cfg->track_processes; t; t = t->next)
		if (strcasecmp(t->name, name) == 0)
			return t;
	return NULL;
}
