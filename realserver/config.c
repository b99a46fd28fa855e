/* rs-agent.ini: the schema, loading and the checks that span keys. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>

#include "httpserv.h"
#include "log.h"
#include "privdrop.h"
#include "rs-agent.h"

#define G(field) offsetof(struct rs_config, field)
#define C(field) offsetof(struct check_conf, field)

static const struct ini_enum log_levels[] = {
	{ "warning", LOG_LEVEL_WARN }, { "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG }, { NULL, 0 },
};

static const struct ini_enum weight_sources[] = {
	{ "none", WEIGHT_NONE }, { "loadavg", WEIGHT_LOADAVG }, { "pressure", WEIGHT_PRESSURE }, { NULL, 0 },
};

static const struct ini_enum check_types[] = {
	{ "tcp", CHECK_TCP }, { "http", CHECK_HTTP }, { "https", CHECK_HTTPS }, { "script", CHECK_SCRIPT },
	{ NULL, 0 },
};

/* expect_status = 200 | 200-399 */
static int status_range_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct status_range *r = field;
	char lo[16], *dash;
	long long a, b;
	int ret;

	(void)key;
	if (strlen(value) >= sizeof(lo)) {
		snprintf(err, PARSE_ERR_MAX, "expected an HTTP status or range such as 200-399");
		return -EINVAL;
	}
	strlcpy_safe(lo, value, sizeof(lo));
	dash = strchr(lo, '-');
	if (dash)
		*dash = '\0';
	ret = parse_int_range(lo, 100, 599, &a, err);
	if (ret < 0)
		return ret;
	b = a;
	if (dash) {
		ret = parse_int_range(dash + 1, 100, 599, &b, err);
		if (ret < 0)
			return ret;
		if (b < a) {
			snprintf(err, PARSE_ERR_MAX, "range %lld-%lld is empty", a, b);
			return -EINVAL;
		}
	}
	r->lo = (unsigned)a;
	r->hi = (unsigned)b;
	return 0;
}

static void status_range_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct status_range *r = field;

	(void)key;
	if (r->lo == r->hi)
		sb_printf(out, "%u", r->lo);
	else
		sb_printf(out, "%u-%u", r->lo, r->hi);
}

static const struct ini_type status_range_type = {
	.name = "status range", .parse = status_range_parse, .print = status_range_print,
};

static const struct ini_key global_keys[] = {
	{ "user", &ini_type_string, G(user), 0, 0, DAEMON_USER, false, NULL },
	{ "interface", &ini_type_string, G(interface), 0, 0, "lo", false, NULL },
	{ "label", &ini_type_string, G(label), 0, 0, "dsr", false, NULL },
	{ "vips", &ini_type_ipaddr_list, G(vips), 0, 0, NULL, true, NULL },
	{ "arp_ignore", &ini_type_uint, G(arp_ignore), 0, 8, "1", false, NULL },
	{ "arp_announce", &ini_type_uint, G(arp_announce), 0, 2, "2", false, NULL },
	{ "repair", &ini_type_bool, G(repair), 0, 0, "yes", false, NULL },
	{ "verify_interval", &ini_type_duration, G(verify_interval_ms), 100, 3600000, "1s", false, NULL },
	{ "state_dir", &ini_type_string, G(state_dir), 0, 0, "/var/lib/dsrkit", false, NULL },
	{ "control_socket", &ini_type_string, G(control_socket), 0, 0, "/run/dsrkit/rs-agent.sock", false, NULL },
	{ "control_mode", &ini_type_mode, G(control_mode), 0, 0777, "0660", false, NULL },
	{ "control_group", &ini_type_string, G(control_group), 0, 0, NULL, false, NULL },
	{ "pid_file", &ini_type_string, G(pid_file), 0, 0, "/run/dsrkit/rs-agent.pid", false, NULL },
	{ "log_level", &ini_type_enum, G(log_level), 0, 0, "info", false, log_levels },
	{ "metrics_listen", &ini_type_endpoint, G(metrics_listen), 0, 0, NULL, false, NULL },
	{ "metrics_allow", &ini_type_ipaddr_list, G(metrics_allow), 0, 0, NULL, false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_key agent_keys[] = {
	{ "enabled", &ini_type_bool, G(agent_enabled), 0, 0, "yes", false, NULL },
	{ "listen", &ini_type_endpoint, G(listen), 0, 0, "0.0.0.0:5555", false, NULL },
	{ "allow", &ini_type_ipaddr_list, G(allow), 0, 0, NULL, false, NULL },
	{ "max_connections", &ini_type_uint, G(max_connections), 1, 10000, "64", false, NULL },
	{ "timeout", &ini_type_duration, G(agent_timeout_ms), 10, 60000, "2s", false, NULL },
	{ "weight_from", &ini_type_enum, G(weight_source), 0, 0, "none", false, weight_sources },
	{ "min_weight", &ini_type_percent, G(min_weight), 0, 100, "10%", false, NULL },
	{ "weight_interval", &ini_type_duration, G(weight_interval_ms), 100, 3600000, "5s", false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_key check_keys[] = {
	{ "type", &ini_type_enum, C(type), 0, 0, NULL, true, check_types },
	{ "address", &ini_type_ipaddr, C(address), 0, 0, NULL, false, NULL },
	{ "port", &ini_type_uint, C(port), 1, 65535, NULL, false, NULL },
	{ "interval", &ini_type_duration, C(interval_ms), 100, 3600000, "2s", false, NULL },
	{ "timeout", &ini_type_duration, C(timeout_ms), 10, 3600000, "1s", false, NULL },
	{ "rise", &ini_type_uint, C(rise), 1, 100, "2", false, NULL },
	{ "fall", &ini_type_uint, C(fall), 1, 100, "3", false, NULL },
	{ "path", &ini_type_string, C(path), 0, 0, "/", false, NULL },
	{ "host", &ini_type_string, C(host), 0, 0, NULL, false, NULL },
	{ "expect_status", &status_range_type, C(expect_status), 0, 0, "200-399", false, NULL },
	{ "expect_body", &ini_type_string, C(expect_body), 0, 0, NULL, false, NULL },
	{ "command", &ini_type_string, C(command), 0, 0, NULL, false, NULL },
	{ "tls_ca_file", &tls_ca_file_type, C(tls_ca_file), 0, 0, NULL, false, NULL },
	{ "tls_cert_file", &tls_cert_file_type, C(tls_cert_file), 0, 0, NULL, false, NULL },
	{ "tls_key_file", &tls_key_file_type, C(tls_key_file), 0, 0, NULL, false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static void *global_instance(void *cfg, const char *name)
{
	(void)name;
	return cfg;
}

static void *check_instance(void *cfgp, const char *name)
{
	struct rs_config *cfg = cfgp;
	struct check_conf *c, **tail;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = strdup(name ? name : "");
	if (!c->name) {
		free(c);
		return NULL;
	}
	/* Keep file order: status and logs list checks as written. */
	for (tail = &cfg->checks; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	cfg->nchecks++;
	return c;
}

enum { SEC_GLOBAL, SEC_AGENT, SEC_CHECK };

static const struct ini_section sections[] = {
	[SEC_GLOBAL] = { "global", false, true, global_keys, global_instance },
	[SEC_AGENT] = { "agent", false, false, agent_keys, global_instance },
	[SEC_CHECK] = { "check", true, false, check_keys, check_instance },
};

static const struct ini_schema schema = { sections, ARRAY_SIZE(sections) };

static void validate_vips(struct rs_config *cfg, const struct ini_doc *doc, struct ini_diag *d)
{
	char buf[INET6_ADDRSTRLEN];

	if (cfg->vips.n == 0)
		ini_doc_error(d, doc, "global", "vips", "at least one VIP is required");
	if (cfg->vips.n > RS_MAX_VIPS)
		ini_doc_error(d, doc, "global", "vips", "%zu addresses, at most %d", cfg->vips.n, RS_MAX_VIPS);
	for (size_t i = 0; i < cfg->vips.n; i++) {
		const struct ipaddr *a = &cfg->vips.items[i];
		unsigned full = a->family == AF_INET ? 32 : 128;

		if (a->has_prefix && a->prefixlen != full)
			ini_doc_error(d, doc, "global", "vips",
				      "%s/%u: a VIP on a real server is a host address (/%u)",
				      ipaddr_ntop(a, buf, sizeof(buf)), a->prefixlen, full);
		for (size_t j = 0; j < i; j++)
			if (ipaddr_equal(a, &cfg->vips.items[j]))
				ini_doc_error(d, doc, "global", "vips", "%s is listed twice",
					      ipaddr_ntop(a, buf, sizeof(buf)));
	}
}

static bool name_is_simple(const char *s)
{
	for (; *s; s++)
		if (!(*s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* Off unless metrics_listen is set; then a port and an allow list. */
static void validate_metrics(const struct rs_config *cfg, const struct ini_doc *doc, struct ini_diag *d)
{
	const char *key, *why = metrics_keys_problem(&cfg->metrics_listen, &cfg->metrics_allow, &key);

	if (why)
		ini_doc_error(d, doc, "global", key, "%s", why);
}

static void validate_global(struct rs_config *cfg, const struct ini_doc *doc, struct ini_diag *d)
{
	char msg[sizeof(cfg->user_warning) - 64];
	int r;

	if (!cfg->interface[0] || strlen(cfg->interface) >= IF_NAMESIZE || !name_is_simple(cfg->interface))
		ini_doc_error(d, doc, "global", "interface", "'%s' is not an interface name", cfg->interface);
	else if (strlen(cfg->interface) + 1 + strlen(cfg->label) >= IF_NAMESIZE || !cfg->label[0] ||
		 !name_is_simple(cfg->label))
		ini_doc_error(d, doc, "global", "label",
			      "'%s:%s' must be a simple name of at most %d characters",
			      cfg->interface, cfg->label, IF_NAMESIZE - 1);
	if (cfg->arp_ignore >= 4 && cfg->arp_ignore <= 7)
		ini_doc_error(d, doc, "global", "arp_ignore", "values 4-7 are reserved by the kernel; use 0-3 or 8");
	cfg->user_named = ini_doc_line(doc, "global", "user") != 0;
	r = daemon_user_check(cfg->user, cfg->user_named, msg, sizeof(msg));
	if (r < 0)
		ini_doc_error(d, doc, "global", "user", "%s", msg);
	else if (r > 0)
		snprintf(cfg->user_warning, sizeof(cfg->user_warning), "%s:%u: global.user: %s", ini_doc_path(doc),
			 ini_doc_line(doc, "global", "user"), msg);
	if (cfg->control_group && !getgrnam(cfg->control_group))
		ini_doc_error(d, doc, "global", "control_group", "no such group '%s'", cfg->control_group);
	if (cfg->state_dir[0] != '/')
		ini_doc_error(d, doc, "global", "state_dir", "must be an absolute path");
	if (cfg->control_socket[0] != '/')
		ini_doc_error(d, doc, "global", "control_socket", "must be an absolute path");
	else if (strlen(cfg->control_socket) >= 108)
		ini_doc_error(d, doc, "global", "control_socket", "path longer than 107 bytes");
	if (cfg->pid_file[0] != '/')
		ini_doc_error(d, doc, "global", "pid_file", "must be an absolute path");
	validate_vips(cfg, doc, d);
	validate_metrics(cfg, doc, d);
}

static void validate_agent(struct rs_config *cfg, const struct ini_doc *doc, struct ini_diag *d)
{
	if (!cfg->agent_enabled)
		return;
	if (cfg->allow.n == 0)
		ini_doc_error(d, doc, "agent", "allow",
			      "the directors' addresses are required while the agent port is enabled");
	if (cfg->listen.port == 0)
		ini_doc_error(d, doc, "agent", "listen", "a port is required, such as 0.0.0.0:5555");
}

/* Goes into the request line or a header as is. */
static bool is_http_token(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* The files were read and checked one by one as their keys were parsed. */
static void validate_tls(const struct check_conf *c, const char *sec, const struct ini_doc *doc, struct ini_diag *d)
{
	static const char *const keys[] = { "tls_ca_file", "tls_cert_file", "tls_key_file" };
	const struct tls_pem_file *files[] = { &c->tls_ca_file, &c->tls_cert_file, &c->tls_key_file };
	char err[PARSE_ERR_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (files[i]->path && c->type != CHECK_HTTPS)
			ini_doc_error(d, doc, sec, keys[i], "only with type = https");
	if (c->tls_cert_file.path && !c->tls_key_file.path)
		ini_doc_error(d, doc, sec, "tls_cert_file", "needs tls_key_file (the certificate's private key)");
	if (c->tls_key_file.path && !c->tls_cert_file.path)
		ini_doc_error(d, doc, sec, "tls_key_file", "needs tls_cert_file (the key's certificate)");
	if (c->tls_cert_file.pem && c->tls_key_file.pem &&
	    tls_pem_pair_check(c->tls_cert_file.pem, c->tls_key_file.pem, err) < 0)
		ini_doc_error(d, doc, sec, "tls_key_file", "%s (%s)", err, c->tls_cert_file.path);
}

static void validate_check(struct rs_config *cfg, struct check_conf *c, const struct ini_doc *doc,
			   struct ini_diag *d)
{
	static const char *const type_names[] = { [CHECK_TCP] = "tcp", [CHECK_HTTP] = "http",
						   [CHECK_SCRIPT] = "script", [CHECK_HTTPS] = "https" };
	bool http = c->type == CHECK_HTTP || c->type == CHECK_HTTPS;
	char sec[128], err[256];

	snprintf(sec, sizeof(sec), "check %s", c->name);
	validate_tls(c, sec, doc, d);
	if (c->timeout_ms > c->interval_ms)
		ini_doc_error(d, doc, sec, "timeout", "must not be longer than interval");
	if (c->type == CHECK_SCRIPT) {
		if (!c->command || !c->command[0]) {
			ini_doc_error(d, doc, sec, "command", "required for a script check");
		} else if (command_check_private(c->command, err, sizeof(err)) < 0) {
			ini_doc_error(d, doc, sec, "command", "%s", err);
		}
		return;
	}
	if (c->port == 0)
		ini_doc_error(d, doc, sec, "port", "required for a %s check", type_names[c->type]);
	if (c->address.family == 0 && cfg->vips.n > 0)
		c->address = cfg->vips.items[0];	/* DR: check the service on the VIP */
	c->address.has_prefix = false;
	/* A path refused as written (a missing quote) has no value, not even
	 * its default: it was reported. */
	if (http && c->path && c->path[0] != '/')
		ini_doc_error(d, doc, sec, "path", "must start with '/'");
	if (http && c->path && !is_http_token(c->path))
		ini_doc_error(d, doc, sec, "path", "must not contain blanks or control characters");
	if (http && c->host && !is_http_token(c->host))
		ini_doc_error(d, doc, sec, "host", "must not contain blanks or control characters");
	/* As directord's check_host: a longer name could not be sent whole
	 * as https's SNI nor matched to a certificate (tls.c refuses it). */
	if (http && c->host && strlen(c->host) > TLS_NAME_MAX)
		ini_doc_error(d, doc, sec, "host", "at most %d characters", TLS_NAME_MAX);
}

static void validate(struct rs_config *cfg, const struct ini_doc *doc, struct ini_diag *d)
{
	validate_global(cfg, doc, d);
	validate_agent(cfg, doc, d);
	if (cfg->nchecks > RS_MAX_CHECKS)
		ini_doc_error(d, doc, NULL, NULL, "%zu checks, at most %d", cfg->nchecks, RS_MAX_CHECKS);
	for (struct check_conf *c = cfg->checks; c; c = c->next)
		validate_check(cfg, c, doc, d);
}

/* The checks across keys read these: skipped when a key error left one unset. */
static void check_loaded(void *p, const struct ini_doc *doc, struct ini_diag *diag)
{
	struct rs_config *cfg = p;

	if (cfg->interface && cfg->label && cfg->user && cfg->state_dir && cfg->control_socket && cfg->pid_file &&
	    cfg->path)
		validate(cfg, doc, diag);
}

static void free_loaded(void *cfg)
{
	rs_config_free(cfg);
}

static const struct ini_program program = {
	&schema, sizeof(struct rs_config), offsetof(struct rs_config, path), check_loaded, free_loaded,
};

/* buf NULL: read path. */
static int load(const char *path, const char *buf, size_t len, struct rs_config **out, struct ini_diag *diag)
{
	void *cfg;
	int ret = ini_program_load(&program, path, buf, len, &cfg, diag);

	*out = ret == 0 ? cfg : NULL;
	return ret;
}

int rs_config_load(const char *path, struct rs_config **out, struct ini_diag *diag)
{
	return load(path, NULL, 0, out, diag);
}

int rs_config_load_buffer(const char *path, const char *buf, size_t len, struct rs_config **out,
			  struct ini_diag *diag)
{
	return load(path, buf ? buf : "", len, out, diag);
}

void rs_config_free(struct rs_config *cfg)
{
	struct check_conf *c, *next;

	if (!cfg)
		return;
	for (c = cfg->checks; c; c = next) {
		next = c->next;
		ini_free_section(&sections[SEC_CHECK], c);
		free(c->name);
		free(c);
	}
	ini_free_section(&sections[SEC_GLOBAL], cfg);
	ini_free_section(&sections[SEC_AGENT], cfg);
	free(cfg->path);
	free(cfg);
}

void rs_config_print(const struct rs_config *cfg, struct strbuf *out)
{
	ini_print_section(&sections[SEC_GLOBAL], NULL, cfg, out);
	sb_append(out, "\n");
	ini_print_section(&sections[SEC_AGENT], NULL, cfg, out);
	for (const struct check_conf *c = cfg->checks; c; c = c->next) {
		sb_append(out, "\n");
		ini_print_section(&sections[SEC_CHECK], c->name, c, out);
	}
}

const char *rs_config_vip_label(const struct rs_config *cfg, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%s", cfg->interface, cfg->label);
	return buf;
}
