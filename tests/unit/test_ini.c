/* Unit tests for common/ini.c: structure checks with line numbers, typed
 * values, defaults, repeatable keys, printing round trips, and file
 * permission checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iniparser.h>

#include "ini.h"
#include "test.h"

/* ---- a schema that uses every type ---- */

enum { LEVEL_WARN, LEVEL_INFO, LEVEL_DEBUG };
enum { CHECK_TCP = 1, CHECK_HTTP };

struct check_conf {
	char *name;
	int type;
	struct ipaddr address;
	unsigned port;
	uint64_t interval_ms;
	char *path;
	struct check_conf *next;
};

/* Ports, filled by the repeatable "ports" and by the list "port_list"
 * (which appends too): two keys that share a field. */
struct port_list {
	unsigned *items;
	size_t n;
};

struct conf {
	/* [global] */
	char *router_id;
	char *user;
	bool repair;
	unsigned port;
	uint64_t interval_ms;
	unsigned min_weight;
	unsigned mode;
	int level;
	struct ipaddr vip;
	struct ipendpoint listen;
	struct ipaddr_list allow;
	struct strlist scripts;
	struct strlist execs;		/* repeatable */
	struct port_list ports;
	/* [agent] */
	bool agent_enabled;
	uint64_t agent_timeout_ms;
	/* [check NAME] */
	struct check_conf *checks;
	size_t nchecks;
	/* instance() bookkeeping */
	int global_calls, agent_calls, agent_null_calls;
};

static const struct ini_enum levels[] = {
	{ "warning", LEVEL_WARN }, { "info", LEVEL_INFO }, { "debug", LEVEL_DEBUG }, { NULL, 0 },
};

static const struct ini_enum check_types[] = {
	{ "tcp", CHECK_TCP }, { "http", CHECK_HTTP }, { NULL, 0 },
};

/* ---- a repeatable type of the test's own, and a list that shares its field ---- */

static int port_push(struct port_list *list, const char *value, char *err)
{
	unsigned *items;
	long long v;

	if (parse_int_range(value, 1, 65535, &v, err) < 0)
		return -EINVAL;
	items = realloc(list->items, (list->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	list->items = items;
	list->items[list->n++] = (unsigned)v;
	return 0;
}

static int ports_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return port_push(field, value, err);
}

static int port_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	char *copy = strdup(value), *save = NULL;
	int ret = copy ? 0 : -ENOMEM;

	(void)key;
	for (char *tok = copy ? strtok_r(copy, ", ", &save) : NULL; tok && ret == 0; tok = strtok_r(NULL, ", ", &save))
		ret = port_push(field, tok, err);
	free(copy);
	return ret;
}

static size_t ports_count(const void *field)
{
	return ((const struct port_list *)field)->n;
}

static void ports_print_item(const struct ini_key *key, const void *field, size_t i, struct strbuf *out)
{
	(void)key;
	sb_printf(out, "%u", ((const struct port_list *)field)->items[i]);
}

/* The "ports" lines print the shared field. */
static void port_list_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	(void)key;
	(void)field;
	(void)out;
}

static void ports_free(void *field)
{
	struct port_list *list = field;

	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static const struct ini_type ports_type = {
	.name = "ports", .parse = ports_parse, .free = ports_free, .count = ports_count,
	.print_item = ports_print_item,
};

static const struct ini_type port_list_type = {
	.name = "port list", .parse = port_list_parse, .print = port_list_print, .free = ports_free,
};

#define G(f) offsetof(struct conf, f)
#define C(f) offsetof(struct check_conf, f)

static const struct ini_key global_keys[] = {
	{ "router_id", &ini_type_string, G(router_id), 0, 0, NULL, true, NULL },
	{ "user", &ini_type_string, G(user), 0, 0, "nobody", false, NULL },
	{ "repair", &ini_type_bool, G(repair), 0, 0, "yes", false, NULL },
	{ "port", &ini_type_uint, G(port), 1, 65535, "5555", false, NULL },
	{ "interval", &ini_type_duration, G(interval_ms), 100, 3600000, "2s", false, NULL },
	{ "min_weight", &ini_type_percent, G(min_weight), 0, 100, "10%", false, NULL },
	{ "control_mode", &ini_type_mode, G(mode), 0, 0777, "0660", false, NULL },
	{ "log_level", &ini_type_enum, G(level), 0, 0, "info", false, levels },
	{ "vip", &ini_type_ipaddr, G(vip), 0, 0, NULL, false, NULL },
	{ "listen", &ini_type_endpoint, G(listen), 0, 0, "0.0.0.0:5555", false, NULL },
	{ "allow", &ini_type_ipaddr_list, G(allow), 0, 0, NULL, false, NULL },
	{ "scripts", &ini_type_strlist, G(scripts), 0, 0, NULL, false, NULL },
	{ "exec", &ini_type_repeated_string, G(execs), 0, 0, NULL, false, NULL },
	{ "port_list", &port_list_type, G(ports), 0, 0, NULL, false, NULL },
	{ "ports", &ports_type, G(ports), 0, 0, NULL, false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_key agent_keys[] = {
	{ "enabled", &ini_type_bool, G(agent_enabled), 0, 0, "yes", false, NULL },
	{ "timeout", &ini_type_duration, G(agent_timeout_ms), 10, 60000, "2s", false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_key check_keys[] = {
	{ "type", &ini_type_enum, C(type), 0, 0, NULL, true, check_types },
	{ "address", &ini_type_ipaddr, C(address), 0, 0, NULL, false, NULL },
	{ "port", &ini_type_uint, C(port), 1, 65535, NULL, false, NULL },
	{ "interval", &ini_type_duration, C(interval_ms), 100, 3600000, "2s", false, NULL },
	{ "path", &ini_type_string, C(path), 0, 0, "/", false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static void *global_instance(void *cfgp, const char *name)
{
	struct conf *cfg = cfgp;

	CHECK(name == NULL);
	cfg->global_calls++;
	return cfg;
}

static void *agent_instance(void *cfgp, const char *name)
{
	struct conf *cfg = cfgp;

	CHECK(name == NULL);
	cfg->agent_calls++;
	return cfg;
}

static void *check_instance(void *cfgp, const char *name)
{
	struct conf *cfg = cfgp;
	struct check_conf *c = calloc(1, sizeof(*c)), **tail;

	CHECK(name != NULL);
	if (!c)
		return NULL;
	c->name = strdup(name ? name : "");
	for (tail = &cfg->checks; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	cfg->nchecks++;
	return c;
}

enum { SEC_GLOBAL, SEC_AGENT, SEC_CHECK };

static const struct ini_section sections[] = {
	[SEC_GLOBAL] = { "global", false, true, global_keys, global_instance },
	[SEC_AGENT] = { "agent", false, false, agent_keys, agent_instance },
	[SEC_CHECK] = { "check", true, false, check_keys, check_instance },
};

static const struct ini_schema schema = { sections, 3 };

static void conf_free(struct conf *cfg)
{
	struct check_conf *c, *next;

	for (c = cfg->checks; c; c = next) {
		next = c->next;
		ini_free_section(&sections[SEC_CHECK], c);
		free(c->name);
		free(c);
	}
	ini_free_section(&sections[SEC_GLOBAL], cfg);
	ini_free_section(&sections[SEC_AGENT], cfg);
	memset(cfg, 0, sizeof(*cfg));
}

static void conf_print(const struct conf *cfg, struct strbuf *out)
{
	ini_print_section(&sections[SEC_GLOBAL], NULL, cfg, out);
	ini_print_section(&sections[SEC_AGENT], NULL, cfg, out);
	for (const struct check_conf *c = cfg->checks; c; c = c->next)
		ini_print_section(&sections[SEC_CHECK], c->name, c, out);
}

static struct check_conf *find_check(const struct conf *cfg, const char *name)
{
	for (struct check_conf *c = cfg->checks; c; c = c->next)
		if (strcasecmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Load text as "x.ini" into a fresh cfg; the diag is fresh too. */
static int load(const char *text, struct conf *cfg, struct ini_diag *d)
{
	memset(cfg, 0, sizeof(*cfg));
	ini_diag_init(d);
	return ini_load_buffer("x.ini", text, strlen(text), &schema, cfg, d, NULL);
}

static bool diag_has(const struct ini_diag *d, const char *msg)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->msgs[i], msg) == 0)
			return true;
	return false;
}

/* CHECK that msg is in the diag, and show the diag when it is not. */
#define CHECK_DIAG(d, msg) do { \
	if (!diag_has((d), (msg))) { \
		fprintf(stderr, "  %s:%d: missing diagnostic \"%s\"; have:\n", __FILE__, __LINE__, (msg)); \
		for (size_t i_ = 0; i_ < (d)->n; i_++) \
			fprintf(stderr, "    %s\n", (d)->msgs[i_]); \
		test_failed_checks++; \
	} \
} while (0)

static const char *ntop(const struct ipaddr *a, char *buf)
{
	return ipaddr_ntop(a, buf, INET6_ADDRSTRLEN);
}

/* ---- tests ---- */

TEST(test_full_config_values)
{
	static const char text[] =
		"; dsrkit test configuration\n"
		"[global]\n"
		"router_id = lb1\n"
		"user = dsrkit   ; trailing comment\n"
		"repair = off\n"
		"port = 8080\n"
		"interval = 250ms\n"
		"min_weight = 25%\n"
		"control_mode = 0640\n"
		"log_level = DEBUG\n"
		"vip = 192.0.2.10/32\n"
		"listen = [2001:db8::5]:5556\n"
		"allow = 198.18.0.0/15, 2001:db8::/32 192.0.2.1\n"
		"scripts = killall -0 haproxy , /usr/bin/true,, x\n"
		"\n"
		"# a check\n"
		"[check web]\n"
		"type = http\n"
		"address = 192.0.2.10\n"
		"port = 80\n"
		"interval = 1m\n"
		"path = \"/health; x\"\n"
		"[Check DB]\n"
		"Type = tcp\n"
		"port = 5432\n";
	struct conf cfg;
	struct ini_diag d;
	char buf[INET6_ADDRSTRLEN];

	CHECK_EQ_INT(load(text, &cfg, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_STR(cfg.router_id, "lb1");
	CHECK_EQ_STR(cfg.user, "dsrkit");
	CHECK(!cfg.repair);
	CHECK_EQ_INT(cfg.port, 8080);
	CHECK_EQ_INT(cfg.interval_ms, 250);
	CHECK_EQ_INT(cfg.min_weight, 25);
	CHECK_EQ_INT(cfg.mode, 0640);
	CHECK_EQ_INT(cfg.level, LEVEL_DEBUG);
	CHECK_EQ_INT(cfg.vip.family, AF_INET);
	CHECK(cfg.vip.has_prefix);
	CHECK_EQ_INT(cfg.vip.prefixlen, 32);
	CHECK_EQ_STR(ntop(&cfg.vip, buf), "192.0.2.10");
	CHECK_EQ_INT(cfg.listen.addr.family, AF_INET6);
	CHECK_EQ_INT(cfg.listen.port, 5556);
	CHECK_EQ_INT(cfg.allow.n, 3);
	if (cfg.allow.n == 3) {
		CHECK_EQ_STR(ntop(&cfg.allow.items[0], buf), "198.18.0.0");
		CHECK_EQ_INT(cfg.allow.items[0].prefixlen, 15);
		CHECK_EQ_INT(cfg.allow.items[1].family, AF_INET6);
		CHECK_EQ_INT(cfg.allow.items[1].prefixlen, 32);
		CHECK(!cfg.allow.items[2].has_prefix);
	}
	CHECK_EQ_INT(cfg.scripts.n, 3);
	if (cfg.scripts.n == 3) {
		CHECK_EQ_STR(cfg.scripts.items[0], "killall -0 haproxy");
		CHECK_EQ_STR(cfg.scripts.items[1], "/usr/bin/true");
		CHECK_EQ_STR(cfg.scripts.items[2], "x");
	}
	CHECK_EQ_INT(cfg.nchecks, 2);
	struct check_conf *web = find_check(&cfg, "web"), *db = find_check(&cfg, "db");
	CHECK(web != NULL);
	CHECK(db != NULL);
	if (web) {
		CHECK_EQ_INT(web->type, CHECK_HTTP);
		CHECK_EQ_STR(ntop(&web->address, buf), "192.0.2.10");
		CHECK_EQ_INT(web->port, 80);
		CHECK_EQ_INT(web->interval_ms, 60000);
		CHECK_EQ_STR(web->path, "/health; x");	/* quotes keep ';' */
	}
	if (db) {
		CHECK_EQ_INT(db->type, CHECK_TCP);
		CHECK_EQ_INT(db->interval_ms, 2000);	/* default */
		CHECK_EQ_STR(db->path, "/");		/* default */
		CHECK_EQ_INT(db->address.family, 0);	/* no default: untouched */
	}
	/* File order is kept. */
	CHECK(cfg.checks == web);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_defaults_and_absent_sections)
{
	struct conf cfg;
	struct ini_diag d;
	char buf[INET6_ADDRSTRLEN];

	CHECK_EQ_INT(load("[global]\nrouter_id = a\n", &cfg, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_INT(cfg.global_calls, 1);
	/* [agent] is absent: instance(NULL) still called once, defaults set. */
	CHECK_EQ_INT(cfg.agent_calls, 1);
	CHECK(cfg.agent_enabled);
	CHECK_EQ_INT(cfg.agent_timeout_ms, 2000);
	CHECK_EQ_STR(cfg.user, "nobody");
	CHECK(cfg.repair);
	CHECK_EQ_INT(cfg.port, 5555);
	CHECK_EQ_INT(cfg.interval_ms, 2000);
	CHECK_EQ_INT(cfg.min_weight, 10);
	CHECK_EQ_INT(cfg.mode, 0660);
	CHECK_EQ_INT(cfg.level, LEVEL_INFO);
	CHECK_EQ_INT(cfg.vip.family, 0);
	CHECK_EQ_INT(cfg.listen.port, 5555);
	CHECK_EQ_STR(ntop(&cfg.listen.addr, buf), "0.0.0.0");
	CHECK_EQ_INT(cfg.allow.n, 0);
	CHECK_EQ_INT(cfg.nchecks, 0);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_required_section_and_keys)
{
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load("[agent]\nenabled = no\n", &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini: [global]: missing required section");
	CHECK_EQ_INT(d.n, 1);
	CHECK_EQ_INT(cfg.global_calls, 1);	/* defaults still applied */
	CHECK_EQ_STR(cfg.user, "nobody");
	conf_free(&cfg);
	ini_diag_free(&d);

	CHECK_EQ_INT(load("\n[global]\nuser = x\n\n[check web]\nport = 80\n", &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:2: global.router_id: missing required key");
	CHECK_DIAG(&d, "x.ini:5: check web.type: missing required key");
	CHECK_EQ_INT(d.n, 2);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_unknown_key_suggestion)
{
	static const char text[] =
		"[global]\n"
		"router_id = a\n"
		"intreval = 2s\n"
		"colour = blue\n"
		"[check web]\n"
		"type = tcp\n"
		"prot = 80\n";
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: global.intreval: unknown key (did you mean 'interval'?)");
	CHECK_DIAG(&d, "x.ini:4: global.colour: unknown key");
	CHECK_DIAG(&d, "x.ini:7: check web.prot: unknown key (did you mean 'port'?)");
	CHECK_EQ_INT(d.n, 3);
	CHECK_EQ_INT(cfg.interval_ms, 2000);	/* the misspelt key did not count */
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_unknown_section_suggestion)
{
	static const char text[] =
		"[global]\n"
		"router_id = a\n"
		"\n"
		"[vrrp VI_1]\n"
		"priority = 100\n"
		"\n"
		"[chek web]\n"
		"type = tcp\n"
		"bogus = 1\n"
		"[global]\n";
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:4: [vrrp VI_1]: unknown section type 'vrrp'");
	CHECK_DIAG(&d, "x.ini:7: [chek web]: unknown section type 'chek' (did you mean 'check'?)");
	CHECK_DIAG(&d, "x.ini:10: [global]: duplicate section (first at line 1)");
	/* Keys of an unknown section are not reported one by one. */
	CHECK_EQ_INT(d.n, 3);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_duplicates)
{
	static const char text[] =
		"[global]\n"		/* 1 */
		"router_id = a\n"	/* 2 */
		"\n"			/* 3 */
		"user = first\n"	/* 4 */
		"[check web]\n"		/* 5 */
		"type = tcp\n"		/* 6 */
		"[global]\n"		/* 7 */
		"; merged, as iniparser does\n"	/* 8 */
		"USER = second\n"	/* 9 */
		"port = 81\n"		/* 10 */
		"[check web]\n"		/* 11 */
		"type = http\n"		/* 12 */
		"port = 90\n";		/* 13 */
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:7: [global]: duplicate section (first at line 1)");
	CHECK_DIAG(&d, "x.ini:9: global.user: duplicate key (first set at line 4)");
	CHECK_DIAG(&d, "x.ini:11: [check web]: duplicate section (first at line 5)");
	CHECK_DIAG(&d, "x.ini:12: check web.type: duplicate key (first set at line 6)");
	CHECK_EQ_INT(d.n, 4);
	/* The first value is the one kept, and its line is the one reported. */
	CHECK_EQ_STR(cfg.user, "first");
	CHECK_EQ_INT(cfg.port, 81);
	CHECK_EQ_INT(cfg.nchecks, 1);
	if (cfg.checks) {
		CHECK_EQ_INT(cfg.checks->type, CHECK_TCP);
		CHECK_EQ_INT(cfg.checks->port, 90);
	}
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_section_names)
{
	static const char text[] =
		"[global]\n"		/* 1 */
		"router_id = a\n"	/* 2 */
		"[check]\n"		/* 3 */
		"type = tcp\n"		/* 4 */
		"[agent main]\n"	/* 5 */
		"enabled = no\n"	/* 6 */
		"[check a:b]\n"		/* 7 */
		"[check two words]\n"	/* 8 */
		"[]\n"			/* 9 */
		"[check web] ; no\n"	/* 10 */
		"[check [x]]\n"		/* 11 */
		"[check  ok ]\n"	/* 12 */
		"type = tcp\n"		/* 13 */
		"a:b = 1\n";		/* 14 */
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: [check]: section needs a name, as in [check NAME]");
	CHECK_DIAG(&d, "x.ini:5: [agent main]: section [agent] takes no name");
	CHECK_DIAG(&d, "x.ini:7: [check a:b]: ':' is not allowed in section names "
		       "(iniparser uses it as a separator)");
	CHECK_DIAG(&d, "x.ini:8: [check two words]: a section name is a single word");
	CHECK_DIAG(&d, "x.ini:9: malformed section header");
	CHECK_DIAG(&d, "x.ini:10: section header must end with ']' (comments go on a line of their own)");
	CHECK_DIAG(&d, "x.ini:11: malformed section header");
	CHECK_DIAG(&d, "x.ini:14: check ok.a:b: ':' is not allowed in key names "
		       "(iniparser uses it as a separator)");
	CHECK_EQ_INT(d.n, 8);
	/* "enabled = no" after the rejected [agent main] must not apply anywhere. */
	CHECK(cfg.agent_enabled);
	CHECK_EQ_INT(cfg.nchecks, 1);
	if (cfg.checks)
		CHECK_EQ_STR(cfg.checks->name, "ok");
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_syntax_errors)
{
	static const char text[] =
		"router_id = early\n"	/* 1: before any section */
		"[global]\n"		/* 2 */
		"router_id = a\n"	/* 3 */
		"just words\n"		/* 4 */
		"= value\n"		/* 5 */
		"user = \"unterminated\n"	/* 6 */
		"port = \"80\" 81\n"	/* 7 */
		"  # indented comment\n"	/* 8 */
		"  ; another\n";	/* 9 */
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:1: router_id: key before the first [section]");
	CHECK_DIAG(&d, "x.ini:4: syntax error: expected [section], key = value or a comment");
	CHECK_DIAG(&d, "x.ini:5: syntax error: expected [section], key = value or a comment");
	CHECK_DIAG(&d, "x.ini:6: global.user: missing closing quote");
	CHECK_DIAG(&d, "x.ini:7: global.port: unexpected text after the closing quote");
	CHECK_EQ_INT(d.n, 5);
	/* Messages come sorted by line. */
	if (d.n == 5) {
		CHECK_CONTAINS(d.msgs[0], "x.ini:1:");
		CHECK_CONTAINS(d.msgs[4], "x.ini:7:");
	}
	/* A rejected key is neither defaulted nor reported missing. */
	CHECK(cfg.user == NULL);
	CHECK_EQ_INT(cfg.port, 0);
	CHECK_EQ_STR(cfg.router_id, "a");
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_value_errors)
{
	static const char text[] =
		"[global]\n"			/* 1 */
		"router_id = a\n"		/* 2 */
		"port = 70000\n"		/* 3 */
		"interval = 2 seconds\n"	/* 4 */
		"min_weight = 150%\n"		/* 5 */
		"control_mode = 01777\n"	/* 6 */
		"log_level = verbose\n"		/* 7 */
		"vip = 192.0.2.300\n"		/* 8 */
		"listen = 192.0.2.1:0\n"	/* 9 */
		"allow = 192.0.2.1, nope\n"	/* 10 */
		"repair = maybe\n"		/* 11 */
		"[check web]\n"			/* 12 */
		"type = udp\n"			/* 13 */
		"interval = 50ms\n"		/* 14 */
		"port =\n";			/* 15 */
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: global.port: value 70000 out of range 1-65535");
	CHECK_DIAG(&d, "x.ini:4: global.interval: expected a duration such as 100ms, 2s or 1m");
	CHECK_DIAG(&d, "x.ini:5: global.min_weight: value 150% out of range 0%-100%");
	CHECK_DIAG(&d, "x.ini:6: global.control_mode: mode 01777 out of range (at most 0777)");
	CHECK_DIAG(&d, "x.ini:7: global.log_level: 'verbose' is not one of: warning, info, debug");
	CHECK_DIAG(&d, "x.ini:8: global.vip: expected an IP address such as 192.0.2.1 or 2001:db8::1/64");
	CHECK_DIAG(&d, "x.ini:9: global.listen: port 0 out of range 1-65535");
	CHECK_DIAG(&d, "x.ini:10: global.allow: 'nope': expected an IP address such as 192.0.2.1 "
		       "or 2001:db8::1/64");
	CHECK_DIAG(&d, "x.ini:11: global.repair: expected yes or no (also true/false, on/off, 1/0)");
	CHECK_DIAG(&d, "x.ini:13: check web.type: 'udp' is not one of: tcp, http");
	CHECK_DIAG(&d, "x.ini:14: check web.interval: value 50ms out of range 100ms-1h");
	CHECK_DIAG(&d, "x.ini:15: check web.port: expected a whole number");
	CHECK_EQ_INT(d.n, 12);
	/* A failed list leaves nothing allocated behind. */
	CHECK_EQ_INT(cfg.allow.n, 0);
	CHECK(cfg.allow.items == NULL);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_continuation_lines)
{
	static const char text[] =
		"[global]\n"				/* 1 */
		"router_id = a\n"			/* 2 */
		"scripts = one, \\\n"			/* 3 */
		"          two,\\\n"			/* 4 */
		"three\n"				/* 5 */
		"allow = 192.0.2.1 \\   \n"		/* 6: blanks after '\' */
		"\t198.18.0.1\n"			/* 7 */
		"; a comment \\\n"			/* 8 */
		"port = 99999999\n"			/* 9: part of the comment */
		"interval = \\\n"			/* 10 */
		"  5x\n"				/* 11 */
		"user = bad\n"				/* 12 */
		"user = again\n";			/* 13 */
	struct conf cfg;
	struct ini_diag d;
	char buf[INET6_ADDRSTRLEN];

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:10: global.interval: expected a duration such as 100ms, 2s or 1m");
	CHECK_DIAG(&d, "x.ini:13: global.user: duplicate key (first set at line 12)");
	CHECK_EQ_INT(d.n, 2);
	CHECK_EQ_INT(cfg.scripts.n, 3);
	if (cfg.scripts.n == 3) {
		CHECK_EQ_STR(cfg.scripts.items[0], "one");
		CHECK_EQ_STR(cfg.scripts.items[1], "two");
		CHECK_EQ_STR(cfg.scripts.items[2], "three");
	}
	CHECK_EQ_INT(cfg.allow.n, 2);
	if (cfg.allow.n == 2)
		CHECK_EQ_STR(ntop(&cfg.allow.items[1], buf), "198.18.0.1");
	CHECK_EQ_INT(cfg.port, 5555);	/* swallowed by the comment: default */
	conf_free(&cfg);
	ini_diag_free(&d);

	/* A backslash on the last line of the file: iniparser would drop the
	 * line, so it is an error (this once made the two readers disagree). */
	CHECK_EQ_INT(load("[global]\nuser = x\nrouter_id = a\\\n  b\\ \\ ", &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: the file ends inside a continued line (last line ends with '\\')");
	CHECK_DIAG(&d, "x.ini:1: global.router_id: missing required key");
	CHECK_EQ_INT(d.n, 2);
	CHECK_EQ_STR(cfg.user, "x");
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_quotes_comments_case)
{
	static const char text[] =
		"[GLOBAL]\r\n"
		"Router_ID = 'lb 1'\r\n"
		"user = \"  padded  \"  # comment\r\n"
		"scripts = a#b\r\n"
		"log_level = Warning ; shouting is fine\r\n"
		"[check Web]\r\n"
		"type = tcp\r\n"
		"path = ''\r\n";
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_STR(cfg.router_id, "lb 1");
	CHECK_EQ_STR(cfg.user, "  padded  ");
	CHECK_EQ_INT(cfg.scripts.n, 1);
	if (cfg.scripts.n == 1)
		CHECK_EQ_STR(cfg.scripts.items[0], "a");
	CHECK_EQ_INT(cfg.level, LEVEL_WARN);
	CHECK(cfg.checks != NULL);
	if (cfg.checks) {
		CHECK_EQ_STR(cfg.checks->name, "Web");	/* names keep their case */
		CHECK_EQ_STR(cfg.checks->path, "");
	}
	conf_free(&cfg);
	ini_diag_free(&d);
}

/* Names compare without regard to case, as iniparser folds them: two
 * sections differing only in case are one section twice. */
TEST(test_section_name_case)
{
	static const char text[] =
		"[global]\n"
		"router_id = a\n"
		"[check Web]\n"
		"type = tcp\n"
		"[check WEB]\n"
		"port = 80\n";
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:5: [check WEB]: duplicate section (first at line 3)");
	CHECK_EQ_INT(d.n, 1);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_long_lines_and_nul)
{
	struct strbuf sb;
	struct conf cfg;
	struct ini_diag d;

	sb_init(&sb);
	sb_append(&sb, "[global]\nrouter_id = a\n; ");
	for (int i = 0; i < 1200; i++)
		sb_append(&sb, "x");
	sb_append(&sb, "\nuser = ");
	for (int i = 0; i < 990; i++)	/* a long line that still fits */
		sb_append(&sb, "u");
	sb_append(&sb, "\n[check ");
	for (int i = 0; i < 1100; i++)
		sb_append(&sb, "n");
	sb_append(&sb, "]\nport = 1\n");
	CHECK(!sb.failed);
	CHECK_EQ_INT(load(sb_str(&sb), &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: line too long (more than 1000 bytes)");
	CHECK_DIAG(&d, "x.ini:5: line too long (more than 1000 bytes)");
	CHECK_EQ_INT(d.n, 2);	/* port = 1 is not blamed on [global] */
	CHECK(cfg.user && strlen(cfg.user) == 990);
	CHECK_EQ_INT(cfg.port, 5555);
	conf_free(&cfg);
	ini_diag_free(&d);
	sb_free(&sb);

	/* Many short continuation lines add up to a long logical line. */
	sb_init(&sb);
	sb_append(&sb, "[global]\nrouter_id = a\nscripts = x\\\n");
	for (int i = 0; i < 300; i++)
		sb_append(&sb, ", abc\\\n");
	sb_append(&sb, "\nuser = y\n");
	CHECK_EQ_INT(load(sb_str(&sb), &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: line too long (more than 1000 bytes)");
	CHECK_EQ_INT(d.n, 1);
	CHECK_EQ_STR(cfg.user, "y");	/* the line after the long one still counts */
	conf_free(&cfg);
	ini_diag_free(&d);
	sb_free(&sb);

	static const char nul[] = "[global]\nrouter_id = a\nuser = x\0y\nport = 1\n";
	memset(&cfg, 0, sizeof(cfg));
	ini_diag_init(&d);
	CHECK_EQ_INT(ini_load_buffer("x.ini", nul, sizeof(nul) - 1, &schema, &cfg, &d, NULL), -EINVAL);
	CHECK_DIAG(&d, "x.ini:3: line contains a NUL byte");
	CHECK_EQ_INT(d.n, 1);
	CHECK_EQ_INT(cfg.port, 1);
	conf_free(&cfg);
	ini_diag_free(&d);
}

TEST(test_too_large_and_too_many_errors)
{
	size_t big = 32 * 1024 * 1024 + 1;
	char *data = malloc(big);
	struct conf cfg;
	struct ini_diag d;
	struct ini_doc *doc = (struct ini_doc *)&cfg;	/* must be reset to NULL */
	struct strbuf sb;

	CHECK(data != NULL);
	if (!data)
		return;
	memset(data, '\n', big);
	memset(&cfg, 0, sizeof(cfg));
	ini_diag_init(&d);
	CHECK_EQ_INT(ini_load_buffer("x.ini", data, big, &schema, &cfg, &d, &doc), -EFBIG);
	CHECK(doc == NULL);
	CHECK_DIAG(&d, "x.ini: file too large (more than 32768 KiB)");
	CHECK_EQ_INT(cfg.global_calls, 0);
	ini_diag_free(&d);
	free(data);

	sb_init(&sb);
	sb_append(&sb, "[global]\nrouter_id = a\n");
	for (int i = 0; i < 500; i++)
		sb_append(&sb, "garbage\n");
	CHECK_EQ_INT(load(sb_str(&sb), &cfg, &d), -EINVAL);
	CHECK_EQ_INT(d.n, 101);
	if (d.n == 101) {
		CHECK_EQ_STR(d.msgs[0], "x.ini:3: syntax error: expected [section], key = value or a comment");
		CHECK_EQ_STR(d.msgs[100], "too many errors, the rest are not shown");
	}
	conf_free(&cfg);
	ini_diag_free(&d);
	sb_free(&sb);
}

/* More sections than one iniparser batch holds: each value still lands in
 * its own section. */
TEST(test_many_sections)
{
	struct strbuf sb;
	struct conf cfg;
	struct ini_diag d;
	size_t seen = 0;
	bool ok = true;

	sb_init(&sb);
	sb_append(&sb, "[global]\nrouter_id = a\n");
	for (int i = 0; i < 3000; i++)
		sb_printf(&sb, "[check c%d]\ntype = tcp\nport = %d\ninterval = %dms\n", i, i + 1, 100 + i);
	CHECK_EQ_INT(load(sb_str(&sb), &cfg, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_INT(cfg.nchecks, 3000);
	for (struct check_conf *c = cfg.checks; c; c = c->next, seen++) {
		char name[32];

		snprintf(name, sizeof(name), "c%zu", seen);
		if (strcmp(c->name, name) != 0 || c->port != seen + 1 || c->interval_ms != 100 + seen ||
		    c->type != CHECK_TCP)
			ok = false;
	}
	CHECK(ok);
	conf_free(&cfg);
	ini_diag_free(&d);
	sb_free(&sb);
}

TEST(test_doc_lines_and_errors)
{
	static const char text[] =
		"[global]\n"		/* 1 */
		"router_id = a\n"	/* 2 */
		"\n"			/* 3 */
		"[check web]\n"		/* 4 */
		"type = tcp\n"		/* 5 */
		"port = 80\n";		/* 6 */
	struct conf cfg;
	struct ini_diag d;
	struct ini_doc *doc = NULL;

	memset(&cfg, 0, sizeof(cfg));
	ini_diag_init(&d);
	CHECK_EQ_INT(ini_load_buffer("mem.ini", text, strlen(text), &schema, &cfg, &d, &doc), 0);
	CHECK(doc != NULL);
	CHECK_EQ_STR(ini_doc_path(doc), "mem.ini");
	CHECK_EQ_INT(ini_doc_line(doc, "global", NULL), 1);
	CHECK_EQ_INT(ini_doc_line(doc, "global", "router_id"), 2);
	CHECK_EQ_INT(ini_doc_line(doc, "global", "user"), 0);
	CHECK_EQ_INT(ini_doc_line(doc, "check web", NULL), 4);
	CHECK_EQ_INT(ini_doc_line(doc, "check web", "port"), 6);
	CHECK_EQ_INT(ini_doc_line(doc, "CHECK Web", "port"), 6);	/* case does not matter */
	CHECK_EQ_INT(ini_doc_line(doc, "check nope", NULL), 0);
	CHECK_EQ_INT(ini_doc_line(doc, "agent", NULL), 0);
	CHECK_EQ_INT(ini_doc_line(doc, NULL, NULL), 0);

	ini_doc_error(&d, doc, "check web", "port", "port %u is taken", 80u);
	ini_doc_error(&d, doc, "check web", "address", "required for this check");	/* section line */
	ini_doc_error(&d, doc, "global", NULL, "whole section");
	ini_doc_error(&d, doc, NULL, NULL, "%d checks, at most %d", 5, 4);
	ini_doc_error(&d, NULL, NULL, "k", "no doc");
	CHECK_EQ_INT(d.n, 5);
	if (d.n == 5) {
		CHECK_EQ_STR(d.msgs[0], "mem.ini:6: check web.port: port 80 is taken");
		CHECK_EQ_STR(d.msgs[1], "mem.ini:4: check web.address: required for this check");
		CHECK_EQ_STR(d.msgs[2], "mem.ini:1: [global]: whole section");
		CHECK_EQ_STR(d.msgs[3], "mem.ini: 5 checks, at most 4");
		CHECK_EQ_STR(d.msgs[4], "k: no doc");
	}
	ini_diag_add(&d, NULL, 7, NULL, NULL, "bare");
	CHECK_EQ_STR(d.msgs[d.n - 1], "line 7: bare");
	ini_doc_free(doc);
	conf_free(&cfg);
	ini_diag_free(&d);
	CHECK_EQ_INT(d.n, 0);
	CHECK(d.msgs == NULL);

	/* On validation errors the doc is still handed back. */
	doc = NULL;
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ_INT(ini_load_buffer("mem.ini", "[global]\nport = 0\n", 18, &schema, &cfg, &d, &doc),
		     -EINVAL);
	CHECK(doc != NULL);
	CHECK_EQ_INT(ini_doc_line(doc, "global", "port"), 2);
	ini_doc_free(doc);
	conf_free(&cfg);
	ini_diag_free(&d);
}

/* print, then load what was printed: the same values, the same text. */
TEST(test_print_round_trip)
{
	static const char text[] =
		"[global]\n"
		"router_id = \"lb;1\"\n"
		"user = '  x \"y\" '\n"
		"repair = 0\n"
		"port = 1\n"
		"interval = 3600s\n"
		"min_weight = 0\n"
		"control_mode = 7\n"
		"log_level = debug\n"
		"vip = 2001:DB8:0::1/64\n"
		"listen = 192.0.2.1\n"
		"allow = \n"
		"scripts = , \"a, b'\\ ; trailing backslash\n"
		"[agent]\n"
		"timeout = 1500ms\n"
		"[check web]\n"
		"type = http\n"
		"address = 192.0.2.10\n"
		"interval = 120\n"
		"path = tail\\ ;\n"
		"[check v6]\n"
		"type = tcp\n"
		"path = a\"b'c\\ ;\n";
	struct conf a, b;
	struct ini_diag d;
	struct strbuf p1, p2;

	CHECK_EQ_INT(load(text, &a, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	ini_diag_free(&d);
	sb_init(&p1);
	conf_print(&a, &p1);
	CHECK(!p1.failed);
	/* Normalized forms. */
	CHECK_CONTAINS(sb_str(&p1), "[global]\nrouter_id = \"lb;1\"\n");
	CHECK_CONTAINS(sb_str(&p1), "user = '  x \"y\" '\n");
	CHECK_CONTAINS(sb_str(&p1), "repair = no\n");
	CHECK_CONTAINS(sb_str(&p1), "interval = 1h\n");
	CHECK_CONTAINS(sb_str(&p1), "min_weight = 0%\n");
	CHECK_CONTAINS(sb_str(&p1), "control_mode = 0007\n");
	CHECK_CONTAINS(sb_str(&p1), "log_level = debug\n");
	CHECK_CONTAINS(sb_str(&p1), "vip = 2001:db8::1/64\n");
	CHECK_CONTAINS(sb_str(&p1), "listen = 192.0.2.1\n");
	CHECK_CONTAINS(sb_str(&p1), "allow = \"\"\n");
	CHECK_CONTAINS(sb_str(&p1), "[agent]\nenabled = yes\ntimeout = 1500ms\n");
	CHECK_CONTAINS(sb_str(&p1), "[check web]\ntype = http\naddress = 192.0.2.10\ninterval = 2m\n"
				    "path = \"tail\\\"\n");
	CHECK_CONTAINS(sb_str(&p1), "[check v6]\ntype = tcp\ninterval = 2s\npath = a\"b'c\\ ;\n");

	CHECK_EQ_INT(load(sb_str(&p1), &b, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "    %s\n", d.msgs[i]);
	sb_init(&p2);
	conf_print(&b, &p2);
	CHECK_EQ_STR(sb_str(&p2), sb_str(&p1));
	CHECK_EQ_STR(b.router_id, "lb;1");
	CHECK_EQ_STR(b.user, "  x \"y\" ");
	CHECK_EQ_INT(b.interval_ms, 3600000);
	CHECK_EQ_INT(b.agent_timeout_ms, 1500);
	CHECK_EQ_INT(b.scripts.n, 2);
	if (b.scripts.n == 2) {
		CHECK_EQ_STR(b.scripts.items[0], "\"a");
		CHECK_EQ_STR(b.scripts.items[1], "b'\\");
	}
	CHECK(b.checks && b.checks->next);
	if (b.checks && b.checks->next) {
		CHECK_EQ_STR(b.checks->path, "tail\\");
		CHECK_EQ_STR(b.checks->next->path, "a\"b'c\\");
	}
	conf_free(&a);
	conf_free(&b);
	ini_diag_free(&d);
	sb_free(&p1);
	sb_free(&p2);
}

/* The list that starts with a quote and holds both kinds of quotes. */
TEST(test_print_awkward_list)
{
	struct conf a, b;
	struct ini_diag d;
	struct strbuf p1, p2;

	CHECK_EQ_INT(load("[global]\nrouter_id = r\nscripts = ,\"x', y\n", &a, &d), 0);
	CHECK_EQ_INT(a.scripts.n, 2);
	ini_diag_free(&d);
	sb_init(&p1);
	conf_print(&a, &p1);
	CHECK_CONTAINS(sb_str(&p1), "scripts = , \"x', y\n");
	CHECK_EQ_INT(load(sb_str(&p1), &b, &d), 0);
	sb_init(&p2);
	conf_print(&b, &p2);
	CHECK_EQ_STR(sb_str(&p2), sb_str(&p1));
	conf_free(&a);
	conf_free(&b);
	ini_diag_free(&d);
	sb_free(&p1);
	sb_free(&p2);
}

/* ---- repeatable keys ---- */

static struct ini_doc *load_doc(const char *text, struct conf *cfg, struct ini_diag *d, int *ret)
{
	struct ini_doc *doc = NULL;

	memset(cfg, 0, sizeof(*cfg));
	ini_diag_init(d);
	*ret = ini_load_buffer("x.ini", text, strlen(text), &schema, cfg, d, &doc);
	return doc;
}

/* Every line is one item, in file order, read by iniparser (quotes,
 * comments, case of the key, continuations), with its own line. */
TEST(test_repeatable_lines)
{
	static const char text[] =
		"[global]\n"				/* 1 */
		"router_id = a\n"			/* 2 */
		"exec = first\n"			/* 3 */
		"user = u\n"				/* 4 */
		"EXEC = \"second; quoted\"  ; c\n"	/* 5 */
		"exec = third # comment\n"		/* 6 */
		"ports = 80\n"				/* 7 */
		"exec = four, \\\n"			/* 8 */
		"  continued\n"				/* 9 */
		"exec =\n"				/* 10 */
		"ports = 443\n";			/* 11 */
	struct conf cfg;
	struct ini_diag d;
	struct ini_doc *doc;
	int ret;

	doc = load_doc(text, &cfg, &d, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_INT(cfg.execs.n, 5);
	if (cfg.execs.n == 5) {
		CHECK_EQ_STR(cfg.execs.items[0], "first");
		CHECK_EQ_STR(cfg.execs.items[1], "second; quoted");
		CHECK_EQ_STR(cfg.execs.items[2], "third");
		CHECK_EQ_STR(cfg.execs.items[3], "four,   continued");
		CHECK_EQ_STR(cfg.execs.items[4], "");
	}
	CHECK_EQ_INT(cfg.ports.n, 2);
	if (cfg.ports.n == 2) {
		CHECK_EQ_INT(cfg.ports.items[0], 80);
		CHECK_EQ_INT(cfg.ports.items[1], 443);
	}
	CHECK_EQ_STR(cfg.user, "u");
	CHECK_EQ_INT(ini_doc_line(doc, "global", "exec"), 3);	/* the first */
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", 0), 3);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "GLOBAL", "exec", 1), 5);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", 2), 6);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", 3), 8);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", 4), 10);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", 5), 0);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "ports", 1), 11);
	/* Other keys have one value, nth 0. */
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "user", 0), 4);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "user", 1), 0);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "vip", 0), 0);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "nope", 0), 0);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "agent", "exec", 0), 0);
	ini_doc_error_nth(&d, doc, "global", "exec", 3, "bad %s", "four");
	ini_doc_error_nth(&d, doc, "global", "exec", 9, "no such line");	/* the section's line */
	CHECK_EQ_INT(d.n, 2);
	if (d.n == 2) {
		CHECK_EQ_STR(d.msgs[0], "x.ini:8: global.exec: bad four");
		CHECK_EQ_STR(d.msgs[1], "x.ini:1: global.exec: no such line");
	}
	ini_doc_free(doc);
	conf_free(&cfg);
	ini_diag_free(&d);
}

/* A bad line is reported at its own line and adds nothing; the others
 * still count, and other keys still may not be repeated. */
TEST(test_repeatable_errors)
{
	static const char text[] =
		"[global]\n"		/* 1 */
		"router_id = a\n"	/* 2 */
		"ports = 80\n"		/* 3 */
		"ports = 70000\n"	/* 4 */
		"ports = \"8080\n"	/* 5 */
		"ports = 8081\n"	/* 6 */
		"user = a\n"		/* 7 */
		"user = b\n";		/* 8 */
	struct conf cfg;
	struct ini_diag d;
	struct ini_doc *doc;
	int ret;

	doc = load_doc(text, &cfg, &d, &ret);
	CHECK_EQ_INT(ret, -EINVAL);
	CHECK_DIAG(&d, "x.ini:4: global.ports: value 70000 out of range 1-65535");
	CHECK_DIAG(&d, "x.ini:5: global.ports: missing closing quote");
	CHECK_DIAG(&d, "x.ini:8: global.user: duplicate key (first set at line 7)");
	CHECK_EQ_INT(d.n, 3);
	CHECK_EQ_INT(cfg.ports.n, 2);
	if (cfg.ports.n == 2) {
		CHECK_EQ_INT(cfg.ports.items[0], 80);
		CHECK_EQ_INT(cfg.ports.items[1], 8081);
	}
	/* nth counts the values parse was given: the refused line has none. */
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "ports", 0), 3);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "ports", 1), 4);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "ports", 2), 6);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "ports", 3), 0);
	ini_doc_free(doc);
	conf_free(&cfg);
	ini_diag_free(&d);
}

/* Two keys on one field append in the order they are written, whatever
 * the order of the schema. */
TEST(test_repeatable_shared_field_file_order)
{
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load("[global]\nrouter_id = a\nports = 1\nport_list = 2, 3\nports = 4\n", &cfg, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_INT(cfg.ports.n, 4);
	for (size_t i = 0; i < cfg.ports.n && i < 4; i++)
		CHECK_EQ_INT(cfg.ports.items[i], i + 1);
	conf_free(&cfg);
	ini_diag_free(&d);

	/* The list stays a single key. */
	CHECK_EQ_INT(load("[global]\nrouter_id = a\nport_list = 1\nport_list = 2\n", &cfg, &d), -EINVAL);
	CHECK_DIAG(&d, "x.ini:4: global.port_list: duplicate key (first set at line 3)");
	conf_free(&cfg);
	ini_diag_free(&d);
}

/* Printed once per item; the print loads to the same print. */
TEST(test_repeatable_print_round_trip)
{
	static const char text[] =
		"[global]\n"
		"router_id = a\n"
		"exec = \"a;b\"\n"
		"exec = ''\n"
		"exec = '  x \"y\" '\n"
		"exec = tail\\ ;\n"
		"exec = a\"b'c\\ ;\n"
		"port_list = 7, 8\n"
		"ports = 9\n";
	struct conf a, b;
	struct ini_diag d;
	struct strbuf p1, p2;

	CHECK_EQ_INT(load(text, &a, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	ini_diag_free(&d);
	sb_init(&p1);
	sb_init(&p2);
	conf_print(&a, &p1);
	CHECK(!p1.failed);
	CHECK_CONTAINS(sb_str(&p1), "scripts = \"\"\nexec = \"a;b\"\nexec = \"\"\nexec = '  x \"y\" '\n"
				    "exec = \"tail\\\"\nexec = a\"b'c\\ ;\nports = 7\nports = 8\nports = 9\n[agent]\n");
	CHECK(!strstr(sb_str(&p1), "port_list"));
	CHECK_EQ_INT(load(sb_str(&p1), &b, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	conf_print(&b, &p2);
	CHECK_EQ_STR(sb_str(&p2), sb_str(&p1));
	CHECK_EQ_INT(b.execs.n, 5);
	if (b.execs.n == 5) {
		CHECK_EQ_STR(b.execs.items[2], "  x \"y\" ");
		CHECK_EQ_STR(b.execs.items[3], "tail\\");
		CHECK_EQ_STR(b.execs.items[4], "a\"b'c\\");
	}
	conf_free(&a);
	conf_free(&b);
	ini_diag_free(&d);
	sb_free(&p1);
	sb_free(&p2);
}

/* Far more lines than one iniparser batch holds, in one section and then
 * in many: every value lands, in order, with its line. */
TEST(test_repeatable_many_lines)
{
	enum { NEXEC = 5000, NCHECK = 1500 };
	struct conf cfg, again;
	struct ini_diag d;
	struct ini_doc *doc;
	struct strbuf sb, p1, p2;
	bool ok = true;
	size_t seen = 0;
	int ret;

	sb_init(&sb);
	sb_append(&sb, "[global]\nrouter_id = a\n");
	for (int i = 0; i < NEXEC; i++)
		sb_printf(&sb, "exec = v%d\n", i);
	sb_append(&sb, "ports = 1\n");
	for (int i = 0; i < NCHECK; i++)
		sb_printf(&sb, "[check c%d]\ntype = tcp\nport = %d\n", i, i + 1);
	sb_append(&sb, "[agent]\nenabled = no\n");
	CHECK(!sb.failed);
	doc = load_doc(sb_str(&sb), &cfg, &d, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_INT(cfg.execs.n, NEXEC);
	for (size_t i = 0; i < cfg.execs.n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "v%zu", i);
		if (strcmp(cfg.execs.items[i], want) != 0)
			ok = false;
	}
	CHECK(ok);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", 0), 3);
	CHECK_EQ_INT(ini_doc_line_nth(doc, "global", "exec", NEXEC - 1), NEXEC + 2);
	CHECK_EQ_INT(ini_doc_line(doc, "global", "ports"), NEXEC + 3);
	CHECK_EQ_INT(cfg.ports.n, 1);
	CHECK_EQ_INT(cfg.nchecks, NCHECK);
	for (struct check_conf *c = cfg.checks; c; c = c->next, seen++)
		if (c->port != seen + 1 || c->type != CHECK_TCP)
			ok = false;
	CHECK(ok);
	CHECK(!cfg.agent_enabled);
	/* ...and the print of it loads again to the same print. */
	sb_init(&p1);
	sb_init(&p2);
	conf_print(&cfg, &p1);
	CHECK_EQ_INT(load(sb_str(&p1), &again, &d), 0);
	conf_print(&again, &p2);
	CHECK(strcmp(sb_str(&p1), sb_str(&p2)) == 0);
	ini_doc_free(doc);
	conf_free(&cfg);
	conf_free(&again);
	ini_diag_free(&d);
	sb_free(&sb);
	sb_free(&p1);
	sb_free(&p2);
}

/* required: at least one line; a default: one item when there is none. */
struct mini {
	struct strlist need, have;
};

static void *mini_instance(void *cfg, const char *name)
{
	(void)name;
	return cfg;
}

static const struct ini_key mini_keys[] = {
	{ "need", &ini_type_repeated_string, offsetof(struct mini, need), 0, 0, NULL, true, NULL },
	{ "have", &ini_type_repeated_string, offsetof(struct mini, have), 0, 0, "dflt", false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_section mini_sections[] = { { "s", false, true, mini_keys, mini_instance } };
static const struct ini_schema mini_schema = { mini_sections, 1 };

static int mini_load(const char *text, struct mini *m, struct ini_diag *d)
{
	memset(m, 0, sizeof(*m));
	ini_diag_init(d);
	return ini_load_buffer("m.ini", text, strlen(text), &mini_schema, m, d, NULL);
}

static void mini_done(struct mini *m, struct ini_diag *d)
{
	ini_free_section(&mini_sections[0], m);
	ini_diag_free(d);
}

TEST(test_repeatable_required_and_default)
{
	struct mini m;
	struct ini_diag d;

	CHECK_EQ_INT(mini_load("[s]\n", &m, &d), -EINVAL);
	CHECK_DIAG(&d, "m.ini:1: s.need: missing required key");
	CHECK_EQ_INT(d.n, 1);
	CHECK_EQ_INT(m.have.n, 1);
	if (m.have.n == 1)
		CHECK_EQ_STR(m.have.items[0], "dflt");
	mini_done(&m, &d);

	CHECK_EQ_INT(mini_load("[s]\nneed = 1\nhave = h\nneed = 2\n", &m, &d), 0);
	CHECK_EQ_INT(m.need.n, 2);
	CHECK_EQ_INT(m.have.n, 1);	/* no default next to a value */
	if (m.have.n == 1)
		CHECK_EQ_STR(m.have.items[0], "h");
	mini_done(&m, &d);

	/* Present but refused: reported once, not as missing too. */
	CHECK_EQ_INT(mini_load("[s]\nneed = \"x\n", &m, &d), -EINVAL);
	CHECK_DIAG(&d, "m.ini:2: s.need: missing closing quote");
	CHECK_EQ_INT(d.n, 1);
	mini_done(&m, &d);
}

/* ---- files ---- */

static int write_temp(char *path, const char *text, mode_t mode)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

TEST(test_file_check_private)
{
	char path[] = "/tmp/dsrkit-test-ini.XXXXXX", err[256];

	CHECK_EQ_INT(write_temp(path, "[global]\nrouter_id = f\n", 0600), 0);
	CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), 0);

	CHECK_EQ_INT(chmod(path, 0666), 0);
	CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), -EPERM);
	CHECK_EQ_STR(err, "refusing a file others can write: mode 0666 lets anyone write it");
	CHECK_EQ_INT(chmod(path, 0602), 0);
	CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), -EPERM);

	/* Group-writable is fine for group root, not for another group. */
	CHECK_EQ_INT(chmod(path, 0660), 0);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	if (st.st_gid == 0) {
		CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), 0);
		if (geteuid() == 0 && chown(path, (uid_t)-1, 4242) == 0) {
			CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), -EPERM);
			CHECK_EQ_STR(err, "refusing a file others can write: mode 0660 lets group 4242 write it");
		}
	} else {
		CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), -EPERM);
		CHECK_CONTAINS(err, "lets group");
	}

	/* Owned by someone else (root can arrange that). */
	if (geteuid() == 0) {
		CHECK_EQ_INT(chmod(path, 0644), 0);
		CHECK_EQ_INT(chown(path, 4242, 0), 0);
		CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), -EPERM);
		CHECK_EQ_STR(err, "refusing a file others can write: it belongs to uid 4242, not root");
	}
	unlink(path);

	CHECK_EQ_INT(file_check_private(path, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "cannot stat");
	CHECK_EQ_INT(file_check_private(path, NULL, 0), -ENOENT);	/* err is optional */
}

TEST(test_ini_load_file)
{
	char path[] = "/tmp/dsrkit-test-ini.XXXXXX", msg[512];
	struct conf cfg;
	struct ini_diag d;
	struct ini_doc *doc = NULL;

	CHECK_EQ_INT(write_temp(path, "[global]\nrouter_id = f\n\n[check a]\ntype = tcp\nport = 0\n",
				0644), 0);
	memset(&cfg, 0, sizeof(cfg));
	ini_diag_init(&d);
	CHECK_EQ_INT(ini_load(path, &schema, &cfg, &d, &doc), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:6: check a.port: value 0 out of range 1-65535", path);
	CHECK_DIAG(&d, msg);
	CHECK_EQ_INT(d.n, 1);
	CHECK(doc != NULL);
	CHECK_EQ_STR(ini_doc_path(doc), path);
	CHECK_EQ_STR(cfg.router_id, "f");
	ini_doc_free(doc);
	conf_free(&cfg);
	ini_diag_free(&d);

	/* World-writable: refused before anything is read. */
	CHECK_EQ_INT(chmod(path, 0646), 0);
	doc = (struct ini_doc *)&cfg;
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ_INT(ini_load(path, &schema, &cfg, &d, &doc), -EPERM);
	CHECK(doc == NULL);
	snprintf(msg, sizeof(msg), "%s: refusing a file others can write: mode 0646 lets anyone write it",
		 path);
	CHECK_DIAG(&d, msg);
	CHECK_EQ_INT(d.n, 1);
	CHECK_EQ_INT(cfg.global_calls, 0);
	ini_diag_free(&d);
	unlink(path);

	CHECK_EQ_INT(ini_load(path, &schema, &cfg, &d, NULL), -ENOENT);
	snprintf(msg, sizeof(msg), "%s: cannot open: %s", path, strerror(ENOENT));
	CHECK_DIAG(&d, msg);
	ini_diag_free(&d);

	CHECK_EQ_INT(ini_load("/tmp", &schema, &cfg, &d, NULL), -EINVAL);
	CHECK_DIAG(&d, "/tmp: not a regular file");
	ini_diag_free(&d);
}

/* Library code never prints: not us, and not iniparser's own complaints. */
TEST(test_silent)
{
	char path[] = "/tmp/dsrkit-test-stderr.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct conf cfg;
	struct ini_diag d;
	struct stat st;

	CHECK(fd >= 0 && saved >= 0);
	if (fd < 0 || saved < 0)
		return;
	fflush(stderr);
	dup2(fd, 2);
	load("garbage\n[global\n[global]\nx = \"y\n= =\n", &cfg, &d);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK(d.n > 0);
	CHECK_EQ_INT(fstat(fd, &st), 0);
	CHECK_EQ_INT(st.st_size, 0);
	close(fd);
	unlink(path);
	conf_free(&cfg);
	ini_diag_free(&d);
}

static int quiet_iniparser(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/* iniparser's own reading of "k = TEXT", or NULL. */
static char *iniparser_reading(const char *text)
{
	char path[] = "/tmp/dsrkit-test-ini.XXXXXX";
	int fd = mkstemp(path);
	char *got = NULL;
	dictionary *d;

	if (fd < 0)
		return NULL;
	if (dprintf(fd, "[s]\nk = %s\n", text) > 0) {
		iniparser_set_error_callback(quiet_iniparser);
		d = iniparser_load(path);
		if (d && iniparser_getstring(d, "s:k", NULL))
			got = strdup(iniparser_getstring(d, "s:k", NULL));
		if (d)
			iniparser_freedict(d);
	}
	close(fd);
	unlink(path);
	return got;
}

/* Values the loader takes as they stand are exactly iniparser's reading;
 * the others (quotes, comments, control characters, empty) go through it. */
TEST(test_plain_values_match_iniparser)
{
	static const char *const plain[] = {
		"a", "  a  ", "wlc", "198.19.0.1:80 weight=2, 198.19.0.2:80", "a = b", "[x]", "ünïcode é",
		"/usr/bin/check --arg=1", "1s", "  spaced   inside  ", "x=", "=y", "!$%&()*+-./<>?@^_`{|}~",
	};
	static const char *const other[] = {
		"", "   ", "\"quoted\"", "'single'", "a;comment", "a # comment", "tab\there", "back\\slash",
		"it's", "cr\r", "del\x7f",
	};
	size_t off, len;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *want = iniparser_reading(plain[i]);

		CHECK(ini_plain_value(plain[i], &off, &len));
		CHECK(want != NULL);
		if (want && ini_plain_value(plain[i], &off, &len)) {
			CHECK_EQ_INT(len, strlen(want));
			CHECK(strncmp(plain[i] + off, want, len) == 0);
		}
		free(want);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CHECK(!ini_plain_value(other[i], &off, &len));
}

/* A file mixing both kinds loads each value as iniparser reads it. */
TEST(test_plain_and_quoted_values_in_one_section)
{
	static const char text[] =
		"[global]\n"
		"router_id = lb1\n"
		"user = \"  padded  \"  # comment\n"
		"scripts = a;b\n"
		"log_level = debug\n";
	struct conf cfg;
	struct ini_diag d;

	CHECK_EQ_INT(load(text, &cfg, &d), 0);
	CHECK_EQ_INT(d.n, 0);
	CHECK_EQ_STR(cfg.router_id, "lb1");
	CHECK_EQ_STR(cfg.user, "  padded  ");
	CHECK_EQ_INT(cfg.scripts.n, 1);
	if (cfg.scripts.n == 1)
		CHECK_EQ_STR(cfg.scripts.items[0], "a");
	CHECK_EQ_INT(cfg.level, LEVEL_DEBUG);
	conf_free(&cfg);
	ini_diag_free(&d);
}

/* A list written without blanks ("a,b,c") near the longest line prints
 * with "," alone, so that the printed file loads again (fuzz_ini found
 * one that printed a line over INI_MAX_LINE). */
TEST(long_list_prints_a_line_that_loads)
{
	struct strbuf text, printed;
	struct conf cfg, again;
	struct ini_diag d;

	sb_init(&text);
	sb_append(&text, "[global]\nrouter_id = x\nscripts = a");
	while (text.len < 990)
		sb_append(&text, ",b");
	sb_append(&text, "\n");
	CHECK_EQ_INT(load(sb_str(&text), &cfg, &d), 0);
	ini_diag_free(&d);
	sb_init(&printed);
	conf_print(&cfg, &printed);
	CHECK(!strstr(sb_str(&printed), ", b"));
	CHECK_EQ_INT(load(sb_str(&printed), &again, &d), 0);
	CHECK_EQ_INT(again.scripts.n, cfg.scripts.n);
	ini_diag_free(&d);
	conf_free(&again);
	conf_free(&cfg);
	sb_free(&printed);
	sb_free(&text);
}

TEST_MAIN(T(test_full_config_values), T(test_defaults_and_absent_sections),
	  T(test_required_section_and_keys), T(test_unknown_key_suggestion),
	  T(test_unknown_section_suggestion), T(test_duplicates), T(test_section_names),
	  T(test_syntax_errors), T(test_value_errors), T(test_continuation_lines),
	  T(test_quotes_comments_case), T(test_section_name_case), T(test_long_lines_and_nul),
	  T(test_too_large_and_too_many_errors), T(test_many_sections), T(test_doc_lines_and_errors),
	  T(test_print_round_trip), T(test_print_awkward_list), T(test_repeatable_lines),
	  T(test_repeatable_errors), T(test_repeatable_shared_field_file_order),
	  T(test_repeatable_print_round_trip), T(test_repeatable_many_lines),
	  T(test_repeatable_required_and_default), T(test_file_check_private),
	  T(test_ini_load_file), T(test_silent), T(test_plain_values_match_iniparser),
	  T(test_plain_and_quoted_values_in_one_section),
	  T(long_list_prints_a_line_that_loads))
