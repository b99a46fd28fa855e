/* keepalived.conf -> director.ini, following the KEEPALIVED EQUIVALENTS
 * of director.ini(5). Each block kind has a table of keywords that map
 * one to one, handlers for the rest, and a list of keywords known to have
 * no equivalent; anything else is an unknown keyword. Whatever is not
 * converted becomes a warning at its file and line. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kaimport.h"

#define NAME_LEN 64		/* director.ini section names */
#define MAX_SECT_KEYS 64
#define LINE_MAX_INI 1000	/* director.ini(5): bytes per line */

/* One output section: its text and the keys written, so that a keyword
 * given twice (or two that map to one key) is reported, not written twice. */
struct sect {
	struct strbuf sb;
	const char *keys[MAX_SECT_KEYS];
	size_t nkeys;
};

struct vip_owner {
	char addr[64];
	char inst[NAME_LEN + 1];
};

struct conv {
	struct ini_diag *warn;
	struct sect global;
	struct strbuf body;
	/* global_defs settings that keepalived applies to every instance */
	const struct ka_node *vrrp_version, *startup_delay, *garp_delay, *garp_repeat, *garp_refresh;
	struct vip_owner *vips;		/* which instance holds which VIP */
	size_t nvips;
	char **vs_names;
	size_t nvs;
	unsigned nsections;		/* [vrrp] and [virtual_server] written */
	const struct ka_node *root;	/* the top-level statements */
	bool nomem;
};

static void __attribute__((format(printf, 3, 4))) warn(struct conv *c, const struct ka_node *n, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ini_diag_add(c->warn, n->file, n->line, NULL, NULL, "%s", msg);
}

static const char *arg(const struct ka_node *n, size_t i)
{
	return i < n->nwords ? n->words[i] : NULL;
}

static const struct ka_node *child(const struct ka_node *n, const char *kw)
{
	for (const struct ka_node *ch = n ? n->child : NULL; ch; ch = ch->next)
		if (strcmp(ch->words[0], kw) == 0)
			return ch;
	return NULL;
}

/* ---- values ---- */

static bool is_uint(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 10 && s[n] == '\0';
}

static bool is_int(const char *s)
{
	return is_uint(s[0] == '-' ? s + 1 : s);
}

/* keepalived's timers are bare seconds with an optional fraction ("0.2"),
 * in whole milliseconds as director.ini's durations: a finer fraction
 * (0.0005) is refused, not rounded away. */
static bool ka_seconds(const char *s, uint64_t *ms)
{
	size_t n = strspn(s, "0123456789");
	char err[PARSE_ERR_MAX];

	if (n == 0 || n > 9 || s[n + strspn(s + n, ".0123456789")] != '\0')
		return false;	/* no unit: keepalived writes none */
	return parse_duration_ms(s, 0, UINT64_MAX, ms, err) == 0;
}

static void fmt_ms(uint64_t ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRIu64 "ms", ms);
}

/* words[from..] joined by blanks */
static void join_words(const struct ka_node *n, size_t from, struct strbuf *out)
{
	for (size_t i = from; i < n->nwords; i++) {
		if (i > from)
			sb_append(out, " ");
		sb_append(out, n->words[i]);
	}
}

/* A name usable as "[vrrp NAME]": a word of at most 64 characters
 * without ':'; references are fixed the same way, so they still match. */
static void name_fix(const char *in, char out[NAME_LEN + 1])
{
	size_t i;

	for (i = 0; in[i] && i < NAME_LEN; i++)
		out[i] = isalnum((unsigned char)in[i]) || strchr("_-.@+", in[i]) ? in[i] : '_';
	out[i] = '\0';
}

static bool name_ok(struct conv *c, const struct ka_node *n, const char *in, char out[NAME_LEN + 1])
{
	if (!in) {
		warn(c, n, "%s: a name is needed; the block is not converted", n->words[0]);
		return false;
	}
	name_fix(in, out);
	if (strcmp(in, out) != 0)
		warn(c, n, "%s %s: written as %s (section names are words of at most %d characters without ':')",
		     n->words[0], in, out, NAME_LEN);
	return true;
}

static bool is_ipv6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* "IP PORT" as an endpoint: [v6]:port for IPv6. */
static void endpoint(const char *ip, const char *port, char *buf, size_t size)
{
	if (!port)
		snprintf(buf, size, "%s", ip);
	else if (is_ipv6(ip))
		snprintf(buf, size, "[%s]:%s", ip, port);
	else
		snprintf(buf, size, "%s:%s", ip, port);
}

/* ---- output ---- */

static bool sect_has(const struct sect *s, const char *key)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

/* A value with ';' or '#' (comments in director.ini) or blanks at its
 * ends is quoted; one that holds both kinds of quotes cannot be written. */
static bool append_value(struct strbuf *sb, const char *v)
{
	size_t n = strlen(v);
	bool quote = strpbrk(v, ";#") || (n && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
						v[0] == '"' || v[0] == '\'' || v[n - 1] == '\\'));
	char q = strchr(v, '"') ? '\'' : '"';

	if (quote && strchr(v, '"') && strchr(v, '\''))
		return false;
	if (quote)
		sb_appendn(sb, &q, 1);
	sb_append(sb, v);
	if (quote)
		sb_appendn(sb, &q, 1);
	return true;
}

/* key must be a string of static lifetime (tables, literals). */
static void put(struct conv *c, struct sect *s, const struct ka_node *n, const char *key, const char *value)
{
	bool repeatable = strcmp(key, "real_server") == 0;
	size_t start = s->sb.len;

	if (!repeatable && sect_has(s, key)) {
		warn(c, n, "%s: %s is already set above; this one is not converted", n->words[0], key);
		return;
	}
	if (!repeatable && s->nkeys < MAX_SECT_KEYS)
		s->keys[s->nkeys++] = key;
	sb_printf(&s->sb, "%s = ", key);
	if (!append_value(&s->sb, value)) {
		warn(c, n, "%s: the value holds both kinds of quotes and cannot be written in director.ini "
		     "(not converted)", n->words[0]);
		sb_truncate(&s->sb, start);
		return;
	}
	sb_append(&s->sb, "\n");
	if (s->sb.len - start > LINE_MAX_INI)
		warn(c, n, "%s: the %s line is longer than the %d bytes director.ini allows", n->words[0], key,
		     LINE_MAX_INI);
}

static void sect_init(struct sect *s, const char *header)
{
	memset(s, 0, sizeof(*s));
	sb_init(&s->sb);
	if (header)
		sb_printf(&s->sb, "\n[%s]\n", header);
}

static void sect_flush(struct conv *c, struct sect *s)
{
	if (s->sb.failed)
		c->nomem = true;
	sb_append(&c->body, sb_str(&s->sb));
	sb_free(&s->sb);
}

/* ---- table-driven keywords ---- */

enum kind {
	K_WORD,		/* one word, as it is */
	K_TEXT,		/* the words joined by blanks (a command) */
	K_UINT,		/* one whole number */
	K_INT,		/* one whole number, maybe negative */
	K_SECONDS,	/* keepalived seconds -> a duration */
	K_YES,		/* a flag: key = yes */
	K_NO,		/* a flag: key = no */
	K_LOWER,	/* one word, lower case */
	K_SCRIPT,	/* a script, then optional user and group */
};

struct map {
	const char *ka;
	const char *ini;
	enum kind kind;
};

struct nomap {
	const char *ka;
	const char *why;	/* NULL: no equivalent, nothing more to say */
};

typedef void (*handler_fn)(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx);

struct handler {
	const char *ka;
	handler_fn fn;
};

/* A keyword not converted: one known to have no equivalent (in nomaps,
 * maybe with why), or one unknown in the block named where (NULL: at the
 * top level). */
static void warn_unconverted(struct conv *c, const struct ka_node *n, const struct nomap *nomaps, const char *where)
{
	const char *k = ka_word_shown(n->words[0]);
	const struct nomap *x;

	for (x = nomaps; x && x->ka && strcmp(x->ka, k) != 0; x++)
		;
	if (x && x->ka)
		warn(c, n, "%s: no equivalent in director.ini%s%s (not converted)", k, x->why ? ": " : "",
		     x->why ? x->why : "");
	else if (where)
		warn(c, n, "%s: unknown keyword in %s (not converted)", k, where);
	else
		warn(c, n, "%s: unknown keyword (not converted)", k);
}

/* word in lower case into buf (cut to size - 1 bytes) */
static const char *lower_word(const char *word, char *buf, size_t size)
{
	size_t i;

	for (i = 0; word[i] && i < size - 1; i++)
		buf[i] = (char)tolower((unsigned char)word[i]);
	buf[i] = '\0';
	return buf;
}

static bool nargs_ok(struct conv *c, const struct ka_node *n, size_t min, size_t max)
{
	size_t have = n->nwords - 1;

	if (have >= min && have <= max)
		return true;
	if (max == 0)
		warn(c, n, "%s: takes no value (not converted)", n->words[0]);
	else if (min == max)
		warn(c, n, "%s: takes %zu value%s (not converted)", n->words[0], min, min == 1 ? "" : "s");
	else
		warn(c, n, "%s: takes %zu to %zu values (not converted)", n->words[0], min, max);
	return false;
}

static void put_seconds(struct conv *c, struct sect *s, const struct ka_node *n, const char *key, const char *v)
{
	char buf[32];
	uint64_t ms;

	if (!ka_seconds(v, &ms)) {
		warn(c, n, "%s: '%s' is not a number of seconds in whole milliseconds (not converted)", n->words[0], v);
		return;
	}
	fmt_ms(ms, buf, sizeof(buf));
	put(c, s, n, key, buf);
}

static void apply_map(struct conv *c, struct sect *s, const struct map *m, const struct ka_node *n)
{
	struct strbuf text;
	char low[64];

	switch (m->kind) {
	case K_WORD:
		if (nargs_ok(c, n, 1, 1))
			put(c, s, n, m->ini, n->words[1]);
		break;
	case K_TEXT:
		if (!nargs_ok(c, n, 1, SIZE_MAX))
			break;
		sb_init(&text);
		join_words(n, 1, &text);
		put(c, s, n, m->ini, sb_str(&text));
		sb_free(&text);
		break;
	case K_UINT:
	case K_INT:
		if (nargs_ok(c, n, 1, 1) && !(m->kind == K_UINT ? is_uint : is_int)(n->words[1]))
			warn(c, n, "%s: '%s' is not a whole number (not converted)", n->words[0], n->words[1]);
		else if (n->nwords == 2)
			put(c, s, n, m->ini, n->words[1]);
		break;
	case K_SECONDS:
		if (nargs_ok(c, n, 1, 1))
			put_seconds(c, s, n, m->ini, n->words[1]);
		break;
	case K_YES:
	case K_NO:
		if (nargs_ok(c, n, 0, 0))
			put(c, s, n, m->ini, m->kind == K_YES ? "yes" : "no");
		break;
	case K_LOWER:
		if (nargs_ok(c, n, 1, 1))
			put(c, s, n, m->ini, lower_word(n->words[1], low, sizeof(low)));
		break;
	case K_SCRIPT:
		/* keepalived: SCRIPT [USER [GROUP]], the script quoted when it
		 * has arguments. */
		if (!nargs_ok(c, n, 1, 3))
			break;
		put(c, s, n, m->ini, n->words[1]);
		if (n->nwords > 2)
			warn(c, n, "%s: user %s%s%s: scripts run as global.user here (not converted)", n->words[0],
			     n->words[2], n->nwords > 3 ? " group " : "", n->nwords > 3 ? n->words[3] : "");
		break;
	}
}

struct keywords {
	const char *what;		/* the block, for messages */
	const struct map *maps;
	const struct handler *handlers;
	const struct nomap *nomaps;
};

static void convert_block(struct conv *c, struct sect *s, const struct ka_node *block, const struct keywords *kw,
			  void *ctx)
{
	for (const struct ka_node *n = block->child; n; n = n->next) {
		const char *k = n->words[0];
		const struct map *m;
		const struct handler *h;

		for (m = kw->maps; m && m->ka && strcmp(m->ka, k) != 0; m++)
			;
		if (m && m->ka) {
			apply_map(c, s, m, n);
			if (n->has_block)
				warn(c, n, "%s: its { } block is not converted", k);
			continue;
		}
		for (h = kw->handlers; h && h->ka && strcmp(h->ka, k) != 0; h++)
			;
		if (h && h->ka) {
			h->fn(c, s, n, ctx);
			continue;
		}
		warn_unconverted(c, n, kw->nomaps, kw->what);
	}
}

/* ---- global_defs ---- */

static void g_defaults(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)s, (void)ctx;
	if (!nargs_ok(c, n, 1, 1))
		return;
	if (strcmp(n->words[0], "vrrp_version") == 0)
		c->vrrp_version = n;
	else if (strcmp(n->words[0], "vrrp_startup_delay") == 0)
		c->startup_delay = n;
	else if (strcmp(n->words[0], "vrrp_garp_master_delay") == 0)
		c->garp_delay = n;
	else if (strcmp(n->words[0], "vrrp_garp_master_repeat") == 0)
		c->garp_repeat = n;
	else
		c->garp_refresh = n;
}

static void g_script_user(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)ctx;
	if (!nargs_ok(c, n, 1, 2))
		return;
	if (strcmp(n->words[1], "root") == 0)
		warn(c, n, "script_user root: scripts never run as root here, but as global.user "
		     "(default dsrkit) without capabilities (not converted)");
	else
		put(c, s, n, "user", n->words[1]);
	if (n->nwords > 2)
		warn(c, n, "script_user: group %s: scripts run with the primary group of global.user (not converted)",
		     n->words[2]);
}

static void g_notify_fifo(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)ctx;
	if (!nargs_ok(c, n, 1, 3))
		return;
	put(c, s, n, "notify_fifo", n->words[1]);
	if (n->nwords > 2)
		warn(c, n, "%s: its owner and group are not converted (directord does not create the FIFO)",
		     n->words[0]);
}

/* lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP] */
static void g_lvs_sync(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	static const struct map opts[] = {
		{ "id", "ipvs_sync_id", K_UINT }, { "maxlen", "ipvs_sync_maxlen", K_UINT },
		{ "port", "ipvs_sync_port", K_UINT }, { "ttl", "ipvs_sync_ttl", K_UINT },
		{ "group", "ipvs_sync_group", K_WORD }, { NULL, NULL, K_WORD },
	};
	char name[NAME_LEN + 1];

	(void)ctx;
	if (n->nwords < 3) {
		warn(c, n, "lvs_sync_daemon: needs an interface and an instance (not converted)");
		return;
	}
	put(c, s, n, "ipvs_sync_interface", n->words[1]);
	name_fix(n->words[2], name);
	put(c, s, n, "ipvs_sync_follow", name);
	for (size_t i = 3; i < n->nwords; i += 2) {
		const struct map *m;

		for (m = opts; m->ka && strcmp(m->ka, n->words[i]) != 0; m++)
			;
		if (!m->ka || i + 1 >= n->nwords || (m->kind == K_UINT && !is_uint(n->words[i + 1]))) {
			warn(c, n, "lvs_sync_daemon: '%s' is not converted", n->words[i]);
			if (!m->ka)
				i--;	/* an unknown word: go on with the next */
			continue;
		}
		put(c, s, n, m->ini, n->words[i + 1]);
	}
}

/* lvs_timeouts [tcp N] [tcpfin N] [udp N] */
static void g_lvs_timeouts(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	static const struct map opts[] = {
		{ "tcp", "ipvs_timeout_tcp", K_SECONDS }, { "tcpfin", "ipvs_timeout_tcp_fin", K_SECONDS },
		{ "udp", "ipvs_timeout_udp", K_SECONDS }, { NULL, NULL, K_WORD },
	};

	(void)ctx;
	for (size_t i = 1; i < n->nwords; i += 2) {
		const struct map *m;

		for (m = opts; m->ka && strcmp(m->ka, n->words[i]) != 0; m++)
			;
		if (!m->ka || i + 1 >= n->nwords || !is_uint(n->words[i + 1])) {
			warn(c, n, "lvs_timeouts: '%s' is not converted", n->words[i]);
			if (!m->ka)
				i--;
			continue;
		}
		put_seconds(c, s, n, m->ini, n->words[i + 1]);
	}
}

static const struct map global_maps[] = {
	{ "router_id", "router_id", K_WORD },
	{ "vrrp_rt_priority", "vrrp_realtime_priority", K_UINT },
	{ NULL, NULL, K_WORD },
};

static const struct handler global_handlers[] = {
	{ "vrrp_version", g_defaults }, { "vrrp_startup_delay", g_defaults },
	{ "vrrp_garp_master_delay", g_defaults }, { "vrrp_garp_master_repeat", g_defaults },
	{ "vrrp_garp_master_refresh", g_defaults },
	{ "script_user", g_script_user },
	{ "notify_fifo", g_notify_fifo }, { "vrrp_notify_fifo", g_notify_fifo },
	{ "lvs_sync_daemon", g_lvs_sync }, { "lvs_timeouts", g_lvs_timeouts },
	{ NULL, NULL },
};

#define MAIL "no mail alerts; use notify scripts"
#define SNMP "no SNMP; use directorctl status --json"
static const struct nomap global_nomaps[] = {
	{ "notification_email", MAIL }, { "notification_email_from", MAIL }, { "smtp_server", MAIL },
	{ "smtp_connect_timeout", MAIL }, { "smtp_helo_name", MAIL }, { "smtp_alert", MAIL },
	{ "smtp_alert_vrrp", MAIL }, { "smtp_alert_checker", MAIL },
	{ "enable_traps", SNMP }, { "enable_snmp_vrrp", SNMP }, { "enable_snmp_checker", SNMP },
	{ "enable_snmp_rfc", SNMP }, { "enable_snmp_rfcv2", SNMP }, { "enable_snmp_rfcv3", SNMP },
	{ "enable_snmp_keepalived", SNMP }, { "snmp_socket", SNMP },
	{ "lvs_id", "global.router_id names the director" },
	{ "vrrp_mcast_group4", "adverts go to 224.0.0.18 (ff02::12), or to unicast_peer" },
	{ "vrrp_mcast_group6", "adverts go to 224.0.0.18 (ff02::12), or to unicast_peer" },
	{ "vrrp_skip_check_adv_addr", "adverts are accepted whatever addresses they list" },
	{ "vrrp_strict", NULL }, { "vrrp_garp_interval", NULL }, { "vrrp_gna_interval", NULL },
	{ "vrrp_garp_master_refresh_repeat", NULL }, { "vrrp_garp_lower_prio_delay", NULL },
	{ "vrrp_garp_lower_prio_repeat", NULL }, { "vrrp_lower_prio_no_advert", NULL },
	{ "vrrp_higher_prio_send_advert", NULL }, { "vrrp_check_unicast_src", NULL },
	{ "vrrp_iptables", "no firewall rules are made" }, { "vrrp_ipsets", "no firewall rules are made" },
	{ "enable_script_security", "scripts named by their path are always checked: not writable by others" },
	{ "dynamic_interfaces", NULL },
	{ "lvs_flush", "IPVS services that are not in director.ini are never touched" },
	{ "checker_rt_priority", NULL }, { "vrrp_no_swap", NULL }, { "checker_no_swap", NULL },
	{ "max_auto_priority", "see global.vrrp_realtime_priority" }, { "default_interface", NULL },
	{ "vrrp_notify_fifo_script", NULL }, { "notify_fifo_script", NULL }, { "vrrp_priority", NULL },
	{ "checker_priority", NULL }, { "linkbeat_use_polling", NULL },
	{ NULL, NULL },
};

static const struct keywords global_kw = { "global_defs", global_maps, global_handlers, global_nomaps };

/* ---- vrrp_instance ---- */

struct inst {
	const struct ka_node *block;
	char name[NAME_LEN + 1];
	bool ipv6;
	bool auth_ah;
	struct strbuf procs;		/* track_process: its own and converted scripts' */
};

/* keepalived: an instance in state MASTER without a priority has 255
 * (the address owner), any other 100, as directord. */
static bool state_master(const struct ka_node *block)
{
	const struct ka_node *st = child(block, "state");

	return st && arg(st, 1) && strcasecmp(arg(st, 1), "MASTER") == 0;
}

static const char *ka_priority(const struct ka_node *block)
{
	const struct ka_node *prio = child(block, "priority");

	if (prio && arg(prio, 1))
		return arg(prio, 1);
	return state_master(block) ? "255" : "100";
}

static void v_state(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct inst *in = ctx;

	(void)s;
	warn(c, n, "state %s: no equivalent: every instance starts as a backup and the highest priority becomes "
	     "master (this one has priority %s%s)", arg(n, 1) ? arg(n, 1) : "", ka_priority(in->block),
	     child(in->block, "priority") || !state_master(in->block) ? "" : ", keepalived's default for state MASTER");
}

/* keepalived clears nopreempt and preempt_delay of an instance in state
 * MASTER, and nopreempt of an address owner (priority 255). */
static void v_preempt(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	static const struct map nopreempt = { "nopreempt", "preempt", K_NO };
	static const struct map delay = { "preempt_delay", "preempt_delay", K_SECONDS };
	struct inst *in = ctx;
	bool is_delay = strcmp(n->words[0], "preempt_delay") == 0;

	if (state_master(in->block))
		warn(c, n, "%s: keepalived ignores it in an instance with state MASTER (not converted)", n->words[0]);
	else if (!is_delay && strcmp(ka_priority(in->block), "255") == 0)
		warn(c, n, "%s: keepalived ignores it with priority 255 (not converted)", n->words[0]);
	else
		apply_map(c, s, is_delay ? &delay : &nopreempt, n);
}

/* keepalived runs IPv6 instances with VRRPv3 whatever vrrp_version says. */
static void v_version(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	static const struct map version = { "version", "version", K_UINT };
	struct inst *in = ctx;

	if (in->ipv6 && n->nwords == 2 && strcmp(n->words[1], "2") == 0) {
		warn(c, n, "version 2: keepalived ignores it for an IPv6 instance, which speaks VRRPv3: written as 3");
		put(c, s, n, "version", "3");
	} else {
		apply_map(c, s, &version, n);
	}
}

static void v_auth(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct inst *in = ctx;
	const struct ka_node *type = child(n, "auth_type");

	if (type && arg(type, 1) && strcasecmp(arg(type, 1), "AH") == 0) {
		warn(c, type, "auth_type AH: no equivalent (IPsec AH is not supported); auth_pass is not converted");
		in->auth_ah = true;
	}
	for (const struct ka_node *a = n->child; a; a = a->next) {
		if (strcmp(a->words[0], "auth_type") == 0) {
			if (arg(a, 1) && strcasecmp(arg(a, 1), "PASS") != 0 && strcasecmp(arg(a, 1), "AH") != 0)
				warn(c, a, "auth_type %s: unknown (not converted)", arg(a, 1));
		} else if (strcmp(a->words[0], "auth_pass") == 0) {
			char pass[9];

			if (in->auth_ah || !nargs_ok(c, a, 1, 1))
				continue;
			/* VRRPv2 carries 8 bytes of password. */
			strlcpy_safe(pass, a->words[1], sizeof(pass));
			if (strlen(a->words[1]) > 8)
				warn(c, a, "auth_pass: longer than 8 characters; only the first 8 go on the wire, "
				     "written as %s", pass);
			put(c, s, a, "auth_pass", pass);
		} else {
			warn(c, a, "%s: unknown keyword in authentication (not converted)", ka_word_shown(a->words[0]));
		}
	}
}

static void vip_owner_add(struct conv *c, const char *addr, const char *inst)
{
	struct vip_owner *v = realloc(c->vips, (c->nvips + 1) * sizeof(*v));

	if (!v) {
		c->nomem = true;
		return;
	}
	c->vips = v;
	v += c->nvips++;
	snprintf(v->addr, sizeof(v->addr), "%.*s", (int)strcspn(addr, "/"), addr);
	snprintf(v->inst, sizeof(v->inst), "%s", inst);
}

/* ADDR[/LEN] [brd B] [dev IF] [scope S] [label L], the options of
 * director.ini; the others are reported. */
static void vip_entry(struct conv *c, const struct ka_node *n, struct strbuf *out)
{
	static const char *const kept[] = { "brd", "dev", "scope", "label", NULL };
	static const char *const skipped_with_value[] = { "peer", "preferred_lft", "valid_lft", "track_group",
							  "metric", NULL };

	sb_append(out, n->words[0]);
	for (size_t i = 1; i < n->nwords; i++) {
		const char *w = n->words[i];
		size_t k;

		for (k = 0; kept[k] && strcmp(kept[k], w) != 0; k++)
			;
		if (kept[k] && i + 1 < n->nwords) {
			sb_printf(out, " %s %s", w, n->words[i + 1]);
			i++;
			continue;
		}
		for (k = 0; skipped_with_value[k] && strcmp(skipped_with_value[k], w) != 0; k++)
			;
		if (skipped_with_value[k] && i + 1 < n->nwords) {
			warn(c, n, "virtual_ipaddress %s: '%s %s' has no equivalent (not converted)", n->words[0], w,
			     n->words[i + 1]);
			i++;
		} else {
			warn(c, n, "virtual_ipaddress %s: '%s' has no equivalent (not converted)", n->words[0], w);
		}
	}
}

static void v_vips(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct strbuf list;

	(void)ctx;	/* the owners of the VIPs are known already (ka_import) */
	sb_init(&list);
	for (const struct ka_node *v = n->child; v; v = v->next) {
		if (list.len)
			sb_append(&list, ", ");
		vip_entry(c, v, &list);
	}
	if (list.len)
		put(c, s, n, "virtual_ipaddress", sb_str(&list));
	else
		warn(c, n, "virtual_ipaddress: empty (directord needs at least one VIP)");
	sb_free(&list);
}

/* Routes as `ip route` reads them: the words director.ini(5) knows. */
static bool route_entry(struct conv *c, const struct ka_node *n, bool ipv6, struct strbuf *out)
{
	static const char *const with_value[] = { "to", "via", "gw", "dev", "src", "metric", "table", "scope", NULL };
	static const char *const types[] = { "blackhole", "unreachable", "prohibit", NULL };
	size_t start = out->len;

	for (size_t i = 0; i < n->nwords; i++) {
		const char *w = n->words[i];
		size_t k;

		for (k = 0; with_value[k] && strcmp(with_value[k], w) != 0; k++)
			;
		if (with_value[k] && i + 1 < n->nwords) {
			sb_printf(out, "%s%s %s", out->len > start ? " " : "", strcmp(w, "gw") == 0 ? "via" : w,
				  n->words[i + 1]);
			i++;
			continue;
		}
		for (k = 0; types[k] && strcmp(types[k], w) != 0; k++)
			;
		if (types[k] || strchr(w, '/') || strspn(w, "0123456789.:abcdefABCDEF") == strlen(w) ||
		    strcmp(w, "default") == 0) {
			sb_printf(out, "%s%s", out->len > start ? " " : "",
				  strcmp(w, "default") == 0 ? (ipv6 ? "::/0" : "0.0.0.0/0") : w);
			continue;
		}
		warn(c, n, "virtual_routes: '%s' has no equivalent; the route is not converted", w);
		sb_truncate(out, start);
		return false;
	}
	return true;
}

static void v_routes(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct inst *in = ctx;
	struct strbuf list;

	sb_init(&list);
	for (const struct ka_node *r = n->child; r; r = r->next) {
		size_t before = list.len;

		if (list.len)
			sb_append(&list, ", ");
		if (!route_entry(c, r, in->ipv6, &list)) {
			list.len = before;
			if (list.buf)
				list.buf[before] = '\0';
		}
	}
	if (list.len)
		put(c, s, n, "virtual_routes", sb_str(&list));
	sb_free(&list);
}

static const char *script_process(const struct conv *c, const char *name, char out[NAME_LEN + 1], bool *pattern);

/* track_script / track_interface / track_file / track_process: NAME
 * [weight N] per line. A vrrp_script that became a [track_process] is
 * listed in track_process, with the instance's own. */
static void v_track(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	static const char *const keys[] = { "track_script", "track_interface", "track_file", "track_process" };
	struct inst *in = ctx;
	struct strbuf list;
	bool names = strcmp(n->words[0], "track_interface") != 0;	/* section names, not interfaces */
	const char *key = keys[0];

	/* put() keeps the key: one of the table's, not the tree's word */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i], n->words[0]) == 0)
			key = keys[i];
	sb_init(&list);
	for (const struct ka_node *t = n->child; t; t = t->next) {
		char name[NAME_LEN + 1], proc[NAME_LEN + 1];
		bool pattern;
		struct strbuf *to = &list;

		if (t->nwords == 4 && strcmp(t->words[3], "reverse") == 0) {
			warn(c, t, "%s %s: 'reverse' has no equivalent; the entry is not converted", key, t->words[0]);
			continue;
		}
		if (t->nwords != 1 && !(t->nwords == 3 && strcmp(t->words[1], "weight") == 0 && is_int(t->words[2]))) {
			warn(c, t, "%s %s: only NAME [weight N] is converted; the entry is not", key, t->words[0]);
			continue;
		}
		if (names)
			name_fix(t->words[0], name);
		else
			snprintf(name, sizeof(name), "%s", t->words[0]);
		if (key == keys[3] || (key == keys[0] && script_process(c, t->words[0], proc, &pattern)))
			to = &in->procs;
		sb_printf(to, "%s%s", to->len ? ", " : "", name);
		if (t->nwords == 3)
			sb_printf(to, " weight %s", t->words[2]);
	}
	if (list.len)
		put(c, s, n, key, sb_str(&list));
	sb_free(&list);
}

static void v_peers(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct strbuf list;

	(void)ctx;
	sb_init(&list);
	for (const struct ka_node *p = n->child; p; p = p->next) {
		sb_printf(&list, "%s%s", list.len ? ", " : "", p->words[0]);
		if (p->nwords > 1)
			warn(c, p, "unicast_peer %s: '%s' has no equivalent (not converted)", p->words[0], p->words[1]);
	}
	if (list.len)
		put(c, s, n, "unicast_peer", sb_str(&list));
	sb_free(&list);
}

/* The old per-instance form of lvs_sync_daemon. */
static void v_sync_if(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct inst *in = ctx;

	(void)s;
	if (!nargs_ok(c, n, 1, 1))
		return;
	put(c, &c->global, n, "ipvs_sync_interface", n->words[1]);
	put(c, &c->global, n, "ipvs_sync_follow", in->name);
}

static const struct map vrrp_maps[] = {
	{ "interface", "interface", K_WORD },
	{ "virtual_router_id", "virtual_router_id", K_UINT },
	{ "priority", "priority", K_UINT },
	{ "advert_int", "advert_interval", K_SECONDS },
	{ "unicast_src_ip", "unicast_src_ip", K_WORD },
	{ "mcast_src_ip", "unicast_src_ip", K_WORD },
	{ "notify", "notify", K_SCRIPT },
	{ "notify_master", "notify_master", K_SCRIPT },
	{ "notify_backup", "notify_backup", K_SCRIPT },
	{ "notify_fault", "notify_fault", K_SCRIPT },
	{ "notify_stop", "notify_stop", K_SCRIPT },
	{ "garp_master_delay", "garp_repeat_delay", K_SECONDS },
	{ "garp_master_repeat", "garp_count", K_UINT },
	{ "garp_master_refresh", "garp_refresh", K_SECONDS },
	{ "accept", "accept", K_YES },
	{ NULL, NULL, K_WORD },
};

static const struct handler vrrp_handlers[] = {
	{ "state", v_state }, { "authentication", v_auth },
	{ "virtual_ipaddress", v_vips }, { "virtual_routes", v_routes },
	{ "track_script", v_track }, { "track_interface", v_track }, { "track_file", v_track },
	{ "track_process", v_track }, { "unicast_peer", v_peers }, { "lvs_sync_daemon_interface", v_sync_if },
	{ "nopreempt", v_preempt }, { "preempt_delay", v_preempt }, { "version", v_version },
	{ NULL, NULL },
};

static const struct nomap vrrp_nomaps[] = {
	{ "virtual_ipaddress_excluded", "list the addresses in virtual_ipaddress, or on the interface" },
	{ "virtual_rules", NULL }, { "use_vmac", NULL }, { "vmac_xmit_base", NULL },
	{ "dont_track_primary", "the interface is always tracked" },
	{ "track_bfd", NULL }, { "mcast_dst_ip", NULL }, { "garp_master_refresh_repeat", NULL },
	{ "garp_lower_prio_delay", NULL }, { "garp_lower_prio_repeat", NULL }, { "lower_prio_no_advert", NULL },
	{ "higher_prio_send_advert", NULL }, { "smtp_alert", MAIL }, { "debug", NULL }, { "strict_mode", NULL },
	{ "skip_check_adv_addr", NULL }, { "kernel_rx_buf_size", NULL }, { "native_ipv6", NULL },
	{ "check_unicast_src", NULL }, { "notify_master_rx_lower_pri", NULL }, { "unicast_ttl", NULL },
	{ "promote_secondaries", NULL }, { "linkbeat_use_polling", NULL }, { "down_timer_adverts", NULL },
	{ "track_src_ip", NULL }, { "old_unicast_checksum", NULL }, { "notify_deleted", NULL },
	{ "no_accept", "the master always accepts traffic for its VIPs (a director must)" },
	{ NULL, NULL },
};

static const struct keywords vrrp_kw = { "vrrp_instance", vrrp_maps, vrrp_handlers, vrrp_nomaps };

static bool first_vip_is_v6(const struct ka_node *block)
{
	const struct ka_node *v = child(block, "virtual_ipaddress");

	return v && v->child && is_ipv6(v->child->words[0]);
}

/* What keepalived applies without being told. */
static void vrrp_defaults(struct conv *c, struct sect *s, const struct ka_node *n, struct inst *in)
{
	if (!sect_has(s, "version")) {
		/* keepalived speaks VRRPv2 unless told otherwise, and always v3
		 * for IPv6 (global_defs vrrp_version does not apply to it);
		 * directord's default is 3. */
		if (in->ipv6)
			put(c, s, n, "version", "3");
		else if (c->vrrp_version)
			put(c, s, c->vrrp_version, "version", c->vrrp_version->words[1]);
		else
			put(c, s, n, "version", "2");
	}
	if (!sect_has(s, "priority") && state_master(n))
		put(c, s, child(n, "state"), "priority", "255");
	if (c->startup_delay && !sect_has(s, "startup_delay"))
		put_seconds(c, s, c->startup_delay, "startup_delay", c->startup_delay->words[1]);
	if (c->garp_delay && !sect_has(s, "garp_repeat_delay"))
		put_seconds(c, s, c->garp_delay, "garp_repeat_delay", c->garp_delay->words[1]);
	if (c->garp_repeat && !sect_has(s, "garp_count"))
		put(c, s, c->garp_repeat, "garp_count", c->garp_repeat->words[1]);
	if (c->garp_refresh && !sect_has(s, "garp_refresh"))
		put_seconds(c, s, c->garp_refresh, "garp_refresh", c->garp_refresh->words[1]);
	if (!sect_has(s, "interface"))
		warn(c, n, "vrrp_instance %s: no interface (directord needs one)", in->name);
	if (!sect_has(s, "virtual_router_id"))
		warn(c, n, "vrrp_instance %s: no virtual_router_id (directord needs one)", in->name);
}

/* The vrrp_sync_group that lists the instance, if any. */
static const struct ka_node *group_of(const struct conv *c, const char *inst)
{
	for (const struct ka_node *g = c->root; g; g = g->next) {
		const struct ka_node *m = strcmp(g->words[0], "vrrp_sync_group") == 0 ? child(g, "group") : NULL;

		for (m = m ? m->child : NULL; m; m = m->next)
			for (size_t i = 0; i < m->nwords; i++)
				if (strcmp(m->words[i], inst) == 0)
					return g;
	}
	return NULL;
}

/* The weight of the block kind (vrrp_script, vrrp_track_process) named
 * name is not 0 (keepalived's defaults: 0 for a script, 1 for a process). */
static bool block_weighted(const struct conv *c, const char *kind, const char *name)
{
	for (const struct ka_node *n = c->root; n; n = n->next)
		if (strcmp(n->words[0], kind) == 0 && arg(n, 1) && strcmp(arg(n, 1), name) == 0) {
			const struct ka_node *w = child(n, "weight");

			if (!w || !arg(w, 1))
				return strcmp(kind, "vrrp_script") != 0;
			return strcmp(arg(w, 1), "0") != 0;
		}
	return false;
}

/* keepalived.conf(5): the tracking weights of sync group members are set to
 * 0 unless sync_group_tracking_weight (or the deprecated global_tracking,
 * the same) is set; directord applies them. */
static void group_weights(struct conv *c, const struct ka_node *n)
{
	static const char *const lists[] = { "track_script", "track_interface", "track_file", "track_process" };
	const struct ka_node *g = group_of(c, n->words[1]);

	if (!g || child(g, "sync_group_tracking_weight") || child(g, "global_tracking"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const struct ka_node *l = child(n, lists[i]);

		for (const struct ka_node *t = l ? l->child : NULL; t; t = t->next)
			if (t->nwords >= 3 || (i == 0 && block_weighted(c, "vrrp_script", t->words[0])) ||
			    (i == 3 && (block_weighted(c, "vrrp_track_process", t->words[0]) ||
					block_weighted(c, "track_process", t->words[0])))) {
				warn(c, t, "%s %s: keepalived sets the tracking weights of a sync group member (%s) to 0 "
				     "without sync_group_tracking_weight or global_tracking; directord applies them",
				     lists[i], t->words[0], g->nwords > 1 ? g->words[1] : "");
				return;
			}
	}
}

static void convert_instance(struct conv *c, const struct ka_node *n)
{
	struct inst in = { .block = n };
	char header[NAME_LEN + 8];
	struct sect s;

	if (!name_ok(c, n, arg(n, 1), in.name))
		return;
	in.ipv6 = first_vip_is_v6(n);
	snprintf(header, sizeof(header), "vrrp %s", in.name);
	sect_init(&s, header);
	sb_init(&in.procs);
	convert_block(c, &s, n, &vrrp_kw, &in);
	if (in.procs.len)
		put(c, &s, child(n, "track_process") ? child(n, "track_process") : child(n, "track_script"),
		    "track_process", sb_str(&in.procs));
	if (in.procs.failed)
		c->nomem = true;
	sb_free(&in.procs);
	vrrp_defaults(c, &s, n, &in);
	group_weights(c, n);
	sect_flush(c, &s);
	c->nsections++;
}

/* ---- vrrp_script, track_file, vrrp_sync_group ---- */

static void script_weight(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)ctx;
	if (n->nwords == 3 && strcmp(n->words[2], "reverse") == 0) {
		warn(c, n, "weight %s reverse: 'reverse' has no equivalent (not converted)", n->words[1]);
		return;
	}
	if (nargs_ok(c, n, 1, 1) && is_int(n->words[1]))
		put(c, s, n, "weight", n->words[1]);
	else if (n->nwords == 2)
		warn(c, n, "weight: '%s' is not a whole number (not converted)", n->words[1]);
}

/* director.ini refuses a timeout longer than the interval. */
static void script_timeout(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	const struct ka_node *iv = child(ctx, "interval");
	uint64_t t, i = 1000;
	char buf[32];

	if (!nargs_ok(c, n, 1, 1))
		return;
	if (!ka_seconds(n->words[1], &t)) {
		warn(c, n, "timeout: '%s' is not a number of seconds in whole milliseconds (not converted)", n->words[1]);
		return;
	}
	if (iv && arg(iv, 1))
		ka_seconds(arg(iv, 1), &i);
	if (t > i) {
		fmt_ms(i, buf, sizeof(buf));
		warn(c, n, "timeout %s: longer than the interval, which director.ini refuses: written as %s",
		     n->words[1], buf);
		t = i;
	}
	fmt_ms(t, buf, sizeof(buf));
	put(c, s, n, "timeout", buf);
}

static const struct map script_maps[] = {
	{ "script", "command", K_TEXT }, { "interval", "interval", K_SECONDS },
	{ "rise", "rise", K_UINT }, { "fall", "fall", K_UINT }, { NULL, NULL, K_WORD },
};

static const struct handler script_handlers[] = {
	{ "weight", script_weight }, { "timeout", script_timeout }, { NULL, NULL },
};

static const struct nomap script_nomaps[] = {
	{ "user", "scripts run as global.user" }, { "init_fail", "the first result decides at once" },
	{ NULL, NULL },
};

static const struct keywords script_kw = { "vrrp_script", script_maps, script_handlers, script_nomaps };

static void convert_named(struct conv *c, const struct ka_node *n, const char *type, const struct keywords *kw)
{
	char name[NAME_LEN + 1], header[NAME_LEN + 20];
	struct sect s;

	if (!name_ok(c, n, arg(n, 1), name))
		return;
	snprintf(header, sizeof(header), "%s %s", type, name);
	sect_init(&s, header);
	convert_block(c, &s, n, kw, (void *)n);
	if (strcmp(type, "track_script") == 0 && !sect_has(&s, "interval"))
		put(c, &s, n, "interval", "1s");	/* keepalived's default; directord's is 2s */
	sect_flush(c, &s);
}

static const struct map track_file_maps[] = {
	{ "file", "path", K_WORD }, { "weight", "weight", K_INT }, { NULL, NULL, K_WORD },
};

static const struct nomap track_file_nomaps[] = {
	{ "init_file", "directord does not create the file; a missing file means Fault" }, { NULL, NULL },
};

static const struct keywords track_file_kw = { "track_file", track_file_maps, NULL, track_file_nomaps };

static void group_members(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct strbuf list;

	(void)ctx;
	sb_init(&list);
	for (const struct ka_node *m = n->child; m; m = m->next)
		for (size_t i = 0; i < m->nwords; i++) {
			char name[NAME_LEN + 1];

			name_fix(m->words[i], name);
			sb_printf(&list, "%s%s", list.len ? ", " : "", name);
		}
	if (list.len)
		put(c, s, n, "instances", sb_str(&list));
	sb_free(&list);
}

#define GROUP_TRACK "sync groups track nothing themselves here: list the trackers on each member instance"
static const struct map group_maps[] = {
	{ "notify", "notify", K_SCRIPT }, { "notify_master", "notify_master", K_SCRIPT },
	{ "notify_backup", "notify_backup", K_SCRIPT }, { "notify_fault", "notify_fault", K_SCRIPT },
	{ NULL, NULL, K_WORD },
};

static const struct handler group_handlers[] = { { "group", group_members }, { NULL, NULL } };

static const struct nomap group_nomaps[] = {
	{ "notify_stop", "only instances have notify_stop" },
	{ "track_script", GROUP_TRACK }, { "track_interface", GROUP_TRACK }, { "track_file", GROUP_TRACK },
	{ "track_process", GROUP_TRACK }, { "track_bfd", GROUP_TRACK },
	{ "global_tracking", "deprecated in keepalived, where it is sync_group_tracking_weight; directord applies "
	  "the members' weighted trackers" },
	{ "sync_group_tracking_weight", "directord applies the members' weighted trackers" },
	{ "smtp_alert", MAIL }, { "notify_priority_changes", NULL },
	{ NULL, NULL },
};

static const struct keywords group_kw = { "vrrp_sync_group", group_maps, group_handlers, group_nomaps };

/* ---- virtual_server ---- */

enum check_kind { CK_NONE, CK_TCP, CK_HTTP, CK_SCRIPT, CK_HTTPS };
static const char *const check_names[] = { "none", "tcp", "http", "script", "https" };

/* HTTP_GET and SSL_GET: a url, a status, a Host. */
static bool ck_http(enum check_kind k)
{
	return k == CK_HTTP || k == CK_HTTPS;
}

/* A real server as read; the check settings point at their statements. */
struct rs {
	const struct ka_node *node, *check;
	struct strbuf entry;
	enum check_kind kind;
	const struct ka_node *ip, *port, *timeout, *retry, *path, *status, *command, *host;
	/* retry and connect_timeout of the real_server block: keepalived's
	 * defaults for its checks */
	const struct ka_node *rs_retry, *rs_timeout;
	bool dynamic, inhibit;
};

struct vs {
	const struct ka_node *block;
	bool fwmark;
	/* retry and connect_timeout of the virtual_server block: the defaults
	 * of its real servers */
	const struct ka_node *retry, *timeout;
	struct rs *rs;
	size_t nrs;
};

/* Check keywords kept for later, by the offset of their field in struct rs. */
struct check_key {
	const char *ka;
	size_t off;
};

static const struct check_key check_keys[] = {
	{ "connect_ip", offsetof(struct rs, ip) }, { "connect_port", offsetof(struct rs, port) },
	{ "connect_timeout", offsetof(struct rs, timeout) }, { "retry", offsetof(struct rs, retry) },
	{ "nb_get_retry", offsetof(struct rs, retry) }, { "misc_path", offsetof(struct rs, command) },
	{ "misc_timeout", offsetof(struct rs, timeout) }, { "virtualhost", offsetof(struct rs, host) },
	{ NULL, 0 },
};

/* keepalived checks again after delay_before_retry (3s for HTTP_GET and
 * SSL_GET, 1s for the others) once a check of a live server failed. */
#define RETRY_DELAY "keepalived checks a failed server again after it; here every check waits check_interval"
static const struct nomap check_nomaps[] = {
	{ "delay_before_retry", RETRY_DELAY },
	{ "bindto", NULL }, { "bind_port", NULL }, { "bind_if", NULL }, { "fwmark", NULL },
	{ "warmup", NULL }, { "user", "check scripts run as global.user" }, { "http_protocol", NULL },
	{ "enable_sni", "an https check sends check_host as the TLS server name" }, { "tls_compliant", NULL }, { "protocol", NULL },
	{ NULL, NULL },
};

static void check_url(struct conv *c, struct rs *r, const struct ka_node *u)
{
	for (const struct ka_node *k = u->child; k; k = k->next) {
		if (strcmp(k->words[0], "path") == 0 && k->nwords == 2)
			r->path = k;
		else if (strcmp(k->words[0], "status_code") == 0 && k->nwords >= 2)
			r->status = k;
		else if (strcmp(k->words[0], "virtualhost") == 0 && k->nwords == 2)
			r->host = k;
		else if (strcmp(k->words[0], "digest") == 0)
			warn(c, k, "digest: no equivalent: the status code decides, see check_body (not converted)");
		else
			warn(c, k, "url: %s is not converted", k->words[0]);
	}
}

static void read_check(struct conv *c, struct rs *r, const struct ka_node *ck)
{
	bool urls = false;

	for (const struct ka_node *k = ck->child; k; k = k->next) {
		const struct check_key *ckk;

		if (strcmp(k->words[0], "url") == 0 && r->kind == CK_TCP) {
			warn(c, k, "url: %s is converted as a tcp check, which has no url (not converted)",
			     ck->words[0]);
			continue;
		}
		if (strcmp(k->words[0], "url") == 0 && ck_http(r->kind)) {
			if (urls)
				warn(c, k, "url: only the first url of a check is converted");
			else
				check_url(c, r, k);
			urls = true;
			continue;
		}
		if (strcmp(k->words[0], "misc_dynamic") == 0 && r->kind == CK_SCRIPT) {
			r->dynamic = true;
			continue;
		}
		for (ckk = check_keys; ckk->ka && strcmp(ckk->ka, k->words[0]) != 0; ckk++)
			;
		if (ckk->ka) {
			/* misc_path may be an unquoted command with arguments */
			if (strcmp(ckk->ka, "misc_path") == 0 ? nargs_ok(c, k, 1, SIZE_MAX) : nargs_ok(c, k, 1, 1))
				*(const struct ka_node **)((char *)r + ckk->off) = k;
			continue;
		}
		warn_unconverted(c, k, check_nomaps, ck->words[0]);
	}
}

static const struct {
	const char *ka;
	enum check_kind kind;
} check_types[] = {
	{ "TCP_CHECK", CK_TCP }, { "HTTP_GET", CK_HTTP }, { "SSL_GET", CK_HTTPS }, { "MISC_CHECK", CK_SCRIPT },
};

static bool rs_check(struct conv *c, struct rs *r, const struct ka_node *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(check_types); i++) {
		if (strcmp(k->words[0], check_types[i].ka) != 0)
			continue;
		if (r->check) {
			warn(c, k, "%s: only the first check of a real server is converted", k->words[0]);
			return true;
		}
		/* keepalived's SSL_GET verifies no certificate, nor does an
		 * https check without check_ca_file: the same check. */
		r->check = k;
		r->kind = check_types[i].kind;
		read_check(c, r, k);
		return true;
	}
	return false;
}

static const struct nomap rs_nomaps[] = {
	{ "notify_up", "use directorctl status" }, { "notify_down", "use directorctl status" },
	{ "SMTP_CHECK", NULL }, { "DNS_CHECK", NULL }, { "BFD_CHECK", NULL }, { "PING_CHECK", NULL },
	{ "UDP_CHECK", NULL }, { "FILE_CHECK", NULL }, { "delay_loop", "one check_interval per virtual server" },
	{ "alpha", "start_down is set per virtual server" }, { "smtp_alert", MAIL },
	{ "delay_before_retry", RETRY_DELAY }, { "virtualhost", NULL }, { "warmup", NULL },
	{ NULL, NULL },
};

/* Options of a real server entry, ADDRESS[:PORT] [weight=N] ... */
static const struct {
	const char *ka;
	const char *opt;
} rs_opts[] = {
	{ "weight", "weight" }, { "uthreshold", "u_threshold" }, { "lthreshold", "l_threshold" },
	{ "lvs_method", "method" }, { "lb_kind", "method" },
};

static void rs_item(struct conv *c, struct rs *r, const struct ka_node *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(rs_opts); i++) {
		if (strcmp(k->words[0], rs_opts[i].ka) != 0)
			continue;
		if (!nargs_ok(c, k, 1, 1))
			return;
		if (strcmp(rs_opts[i].opt, "method") == 0) {
			char low[8];

			sb_printf(&r->entry, " method=%s", lower_word(k->words[1], low, sizeof(low)));
		} else if (is_uint(k->words[1])) {
			sb_printf(&r->entry, " %s=%s", rs_opts[i].opt, k->words[1]);
		} else {
			warn(c, k, "%s: '%s' is not a whole number (not converted)", k->words[0], k->words[1]);
		}
		return;
	}
	if (strcmp(k->words[0], "inhibit_on_failure") == 0) {
		r->inhibit = true;
		return;
	}
	if (strcmp(k->words[0], "retry") == 0 || strcmp(k->words[0], "connect_timeout") == 0) {
		if (nargs_ok(c, k, 1, 1))
			*(k->words[0][0] == 'r' ? &r->rs_retry : &r->rs_timeout) = k;
		return;
	}
	if (!rs_check(c, r, k))
		warn_unconverted(c, k, rs_nomaps, "real_server");
}

static void vs_real_server(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct vs *vs = ctx;
	struct rs *r;
	char ep[128];

	(void)s;
	if (!nargs_ok(c, n, 2, 2))
		return;
	r = realloc(vs->rs, (vs->nrs + 1) * sizeof(*r));
	if (!r) {
		c->nomem = true;
		return;
	}
	vs->rs = r;
	r += vs->nrs++;
	memset(r, 0, sizeof(*r));
	r->node = n;
	sb_init(&r->entry);
	/* A firewall mark service with dr takes the port the client sent to;
	 * keepalived's port is then the port of the checks. */
	endpoint(n->words[1], vs->fwmark ? NULL : n->words[2], ep, sizeof(ep));
	sb_append(&r->entry, ep);
	for (const struct ka_node *k = n->child; k; k = k->next)
		rs_item(c, r, k);
}

static void vs_sorry(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct vs *vs = ctx;
	char ep[128];

	if (!nargs_ok(c, n, 2, 2))
		return;
	endpoint(n->words[1], vs->fwmark ? NULL : n->words[2], ep, sizeof(ep));
	put(c, s, n, "sorry_server", ep);
}

/* A netmask (255.255.255.0) or a prefix length, as a prefix length. */
static void vs_granularity(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	unsigned a, b, d, e, len = 0;
	uint32_t mask;
	char buf[8];

	(void)ctx;
	if (!nargs_ok(c, n, 1, 1))
		return;
	if (is_uint(n->words[1])) {
		put(c, s, n, "persistence_netmask", n->words[1]);
		return;
	}
	if (sscanf(n->words[1], "%u.%u.%u.%u", &a, &b, &d, &e) != 4 || a > 255 || b > 255 || d > 255 || e > 255) {
		warn(c, n, "persistence_granularity: '%s' is not a netmask (not converted)", n->words[1]);
		return;
	}
	mask = (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)d << 8 | (uint32_t)e;
	while (len < 32 && (mask & (1u << (31 - len))))
		len++;
	if (len == 0 || (len < 32 && (mask << len) != 0)) {
		warn(c, n, "persistence_granularity: '%s' is not a contiguous netmask (not converted)", n->words[1]);
		return;
	}
	snprintf(buf, sizeof(buf), "%u", len);
	put(c, s, n, "persistence_netmask", buf);
}

static void vs_inhibit(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)ctx;
	if (nargs_ok(c, n, 0, 0))
		put(c, s, n, "inhibit_on_failure", "yes");
}

static void vs_family(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct vs *vs = ctx;

	if (!nargs_ok(c, n, 1, 1))
		return;
	if (!vs->fwmark)
		warn(c, n, "ip_family: an address service has the family of its address (not converted)");
	else if (strcmp(n->words[1], "inet") == 0 || strcmp(n->words[1], "inet6") == 0)
		put(c, s, n, "family", n->words[1]);
	else
		warn(c, n, "ip_family: '%s' is not inet or inet6 (not converted)", n->words[1]);
}

static void vs_protocol(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	static const struct map m = { "protocol", "protocol", K_LOWER };
	struct vs *vs = ctx;

	if (vs->fwmark)
		warn(c, n, "protocol: a firewall mark service takes every protocol (not converted)");
	else
		apply_map(c, s, &m, n);
}

/* retry and connect_timeout given for the whole virtual server */
static void vs_check_default(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct vs *vs = ctx;

	(void)s;
	if (nargs_ok(c, n, 1, 1))
		*(n->words[0][0] == 'r' ? &vs->retry : &vs->timeout) = n;
}

/* keepalived: persistence_timeout [SECONDS], 6 minutes without a value */
static void vs_persistence(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)ctx;
	if (n->nwords == 1)
		put(c, s, n, "persistence_timeout", "360s");
	else if (nargs_ok(c, n, 0, 1))
		put_seconds(c, s, n, "persistence_timeout", n->words[1]);
}

static const struct map vs_maps[] = {
	{ "lb_algo", "scheduler", K_LOWER }, { "lvs_sched", "scheduler", K_LOWER },
	{ "lb_kind", "method", K_LOWER }, { "lvs_method", "method", K_LOWER },
	{ "quorum", "quorum", K_UINT }, { "hysteresis", "quorum_hysteresis", K_UINT },
	{ "delay_loop", "check_interval", K_SECONDS }, { "ops", "one_packet", K_YES },
	{ "virtualhost", "check_host", K_WORD }, { "alpha", "start_down", K_YES },
	{ NULL, NULL, K_WORD },
};

static const struct handler vs_handlers[] = {
	{ "real_server", vs_real_server }, { "sorry_server", vs_sorry },
	{ "persistence_granularity", vs_granularity }, { "inhibit_on_failure", vs_inhibit },
	{ "ip_family", vs_family }, { "protocol", vs_protocol },
	{ "retry", vs_check_default }, { "connect_timeout", vs_check_default },
	{ "persistence_timeout", vs_persistence },
	{ NULL, NULL },
};

static const struct nomap vs_nomaps[] = {
	{ "omega", NULL }, { "quorum_up", "no quorum scripts" }, { "quorum_down", "no quorum scripts" },
	{ "ha_suspend", "services are kept on the backup too, ready for a takeover" },
	{ "sorry_server_inhibit", NULL }, { "sorry_server_lvs_method", NULL }, { "smtp_alert", MAIL },
	{ "nat_mask", NULL }, { "delay_before_retry", RETRY_DELAY }, { "warmup", NULL },
	{ NULL, NULL },
};

static const struct keywords vs_kw = { "virtual_server", vs_maps, vs_handlers, vs_nomaps };

static const char *node_arg(const struct ka_node *n)
{
	return n ? n->words[1] : NULL;
}

static bool same_arg(const struct ka_node *a, const struct ka_node *b)
{
	const char *x = node_arg(a), *y = node_arg(b);

	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static void command_text(const struct ka_node *n, struct strbuf *out)
{
	sb_reset(out);
	if (n)
		join_words(n, 1, out);
}

/* What keepalived applies to a server's check: the checker's own setting,
 * else the real_server's, else the virtual_server's (keepalived.conf(5),
 * "the virtual server setting is the default for real servers, and the real
 * server setting is the default for checkers"). */
static const struct ka_node *eff_retry(const struct vs *vs, const struct rs *r)
{
	return r->retry ? r->retry : r->rs_retry ? r->rs_retry : vs->retry;
}

static const struct ka_node *eff_timeout(const struct vs *vs, const struct rs *r)
{
	return r->timeout ? r->timeout : r->rs_timeout ? r->rs_timeout : vs->timeout;
}

/* keepalived's defaults (keepalived.conf(5)): delay_loop 60 s,
 * connect_timeout 5 s, retry 1 (MISC_CHECK 0), status_code 200-299. */
#define KA_DELAY_LOOP_MS 60000
#define KA_CONNECT_TIMEOUT_MS 5000
#define KA_RETRY 1
#define KA_MISC_RETRY 0
#define KA_STATUS "200-299"

/* The first checked server sets the service's check; the others may
 * replace only what an entry can (port, address, path, host, command). */
static void vs_check(struct conv *c, struct sect *s, struct vs *vs)
{
	const struct rs *first = NULL;
	uint64_t interval = KA_DELAY_LOOP_MS, t = KA_CONNECT_TIMEOUT_MS;
	const struct ka_node *loop = child(vs->block, "delay_loop"), *retry, *timeout;
	unsigned long fall;
	struct strbuf cmd;
	char buf[32];

	for (size_t i = 0; i < vs->nrs && !first; i++)
		if (vs->rs[i].kind != CK_NONE)
			first = &vs->rs[i];
	if (!first) {
		put(c, s, vs->block, "check", "none");
		return;
	}
	put(c, s, first->check, "check", check_names[first->kind]);
	/* without delay_loop keepalived checks every 60 s; directord's default is 2s */
	if (loop && arg(loop, 1))
		ka_seconds(arg(loop, 1), &interval);
	if (!sect_has(s, "check_interval"))
		put(c, s, vs->block, "check_interval", "60s");
	/* keepalived takes a server back at its first good check. */
	put(c, s, first->check, "check_rise", "1");
	/* retry N: N more checks after a failure, so down at the N+1th failure
	 * in a row */
	retry = eff_retry(vs, first);
	if (retry && !is_uint(retry->words[1])) {
		warn(c, retry, "%s: '%s' is not a whole number (not converted)", retry->words[0], retry->words[1]);
		retry = NULL;
	}
	fall = retry ? strtoul(retry->words[1], NULL, 10) : first->kind == CK_SCRIPT ? KA_MISC_RETRY : KA_RETRY;
	fall = fall > 99 ? 100 : fall + 1;
	snprintf(buf, sizeof(buf), "%lu", fall);
	put(c, s, retry ? retry : first->check, "check_fall", buf);
	timeout = eff_timeout(vs, first);
	if (timeout && !ka_seconds(timeout->words[1], &t)) {
		warn(c, timeout, "%s: '%s' is not a number of seconds in whole milliseconds (not converted)", timeout->words[0],
		     timeout->words[1]);
	} else {
		if (t > interval) {
			fmt_ms(interval, buf, sizeof(buf));
			if (timeout)
				warn(c, timeout, "%s %s: longer than delay_loop, which director.ini refuses: written as %s",
				     timeout->words[0], timeout->words[1], buf);
			else
				warn(c, first->check, "%s: keepalived's default connect_timeout of 5s is longer than "
				     "delay_loop, which director.ini refuses: written as %s", first->check->words[0], buf);
			t = interval;
		}
		fmt_ms(t, buf, sizeof(buf));
		put(c, s, timeout ? timeout : first->check, "check_timeout", buf);
	}
	if (ck_http(first->kind) && first->path)
		put(c, s, first->path, "check_path", first->path->words[1]);
	if (ck_http(first->kind) && first->status) {
		put(c, s, first->status, "check_status", first->status->words[1]);
		if (first->status->nwords > 2)
			warn(c, first->status, "status_code: only one code or range is converted: %s",
			     first->status->words[1]);
	} else if (ck_http(first->kind)) {
		/* keepalived's default; directord's is 200-399 */
		put(c, s, first->check, "check_status", KA_STATUS);
	}
	sb_init(&cmd);
	if (first->kind == CK_SCRIPT) {
		command_text(first->command, &cmd);
		if (cmd.len)
			put(c, s, first->command, "check_command", sb_str(&cmd));
		else
			warn(c, first->check, "MISC_CHECK: no misc_path (directord needs a check_command)");
		if (first->dynamic)
			put(c, s, first->check, "check_dynamic_weight", "yes");
	}
	sb_free(&cmd);
}

/* What a server's entry replaces of the service's check, and what it cannot. */
static void rs_overrides(struct conv *c, const struct vs *vs, const struct rs *first, struct rs *r)
{
	bool fwmark = vs->fwmark;
	const char *port = r->node->words[2];

	if (r->port && (fwmark || strcmp(r->port->words[1], port) != 0))
		sb_printf(&r->entry, " check_port=%s", r->port->words[1]);
	else if (fwmark && first && (first->kind == CK_TCP || ck_http(first->kind)))
		sb_printf(&r->entry, " check_port=%s", port);	/* the entry has no port */
	if (r->ip)
		sb_printf(&r->entry, " check_address=%s", r->ip->words[1]);
	if (!first || r == first)
		return;
	if (r->kind != first->kind) {
		warn(c, r->check ? r->check : r->node, "real_server %s: checked by %s like the first server of the "
		     "service (one check per virtual server)", r->node->words[1], check_names[first->kind]);
		return;
	}
	if (!same_arg(eff_timeout(vs, r), eff_timeout(vs, first)) ||
	    !same_arg(eff_retry(vs, r), eff_retry(vs, first)) || !same_arg(r->status, first->status) ||
	    r->dynamic != first->dynamic)
		warn(c, r->check, "%s: timeout, retry, status_code and misc_dynamic are per virtual server here: "
		     "those of the first server are used", r->check->words[0]);
	if (ck_http(r->kind) && r->path && !same_arg(r->path, first->path))
		sb_printf(&r->entry, " check_path=%s", r->path->words[1]);
	if (ck_http(r->kind) && r->host)
		sb_printf(&r->entry, " check_host=%s", r->host->words[1]);
	if (r->kind == CK_SCRIPT && r->command) {
		struct strbuf a, b;

		sb_init(&a);
		sb_init(&b);
		command_text(r->command, &a);
		command_text(first->command, &b);
		if (strcmp(sb_str(&a), sb_str(&b)) == 0)
			;
		else if (strpbrk(sb_str(&a), " \t"))
			warn(c, r->command, "misc_path: a server's own command is a single word here: this server "
			     "runs the first server's, which finds the server in DSRKIT_RS_ADDR and DSRKIT_RS_PORT");
		else
			sb_printf(&r->entry, " check_command=%s", sb_str(&a));
		sb_free(&a);
		sb_free(&b);
	}
}

static void vs_servers(struct conv *c, struct sect *s, struct vs *vs)
{
	const struct rs *first = NULL;
	size_t ninhibit = 0;

	for (size_t i = 0; i < vs->nrs && !first; i++)
		if (vs->rs[i].kind != CK_NONE)
			first = &vs->rs[i];
	if (first && ck_http(first->kind) && first->host)
		sb_printf(&vs->rs[first - vs->rs].entry, " check_host=%s", first->host->words[1]);
	for (size_t i = 0; i < vs->nrs; i++) {
		ninhibit += vs->rs[i].inhibit;
		rs_overrides(c, vs, first, &vs->rs[i]);
	}
	if (ninhibit && !sect_has(s, "inhibit_on_failure")) {
		put(c, s, vs->rs[0].node, "inhibit_on_failure", "yes");
		if (ninhibit < vs->nrs)
			warn(c, vs->block, "inhibit_on_failure: set on %zu of %zu real servers; here it applies to "
			     "the whole service", ninhibit, vs->nrs);
	}
	for (size_t i = 0; i < vs->nrs; i++)
		put(c, s, vs->rs[i].node, "real_server", sb_str(&vs->rs[i].entry));
	if (!vs->nrs)
		warn(c, vs->block, "virtual_server: no real_server (directord needs at least one)");
}

/* The section's name: vs_192_0_2_100_80 (and _udp), fwmark_7; unique. */
static void vs_name(struct conv *c, const struct ka_node *n, bool fwmark, char *out)
{
	const struct ka_node *proto = child(n, "protocol");
	const char *p = proto && arg(proto, 1) ? arg(proto, 1) : "tcp";
	char base[NAME_LEN + 1];
	char **names;

	if (fwmark)
		snprintf(base, sizeof(base), "fwmark_%.20s", n->words[2]);
	else
		snprintf(base, sizeof(base), "vs_%.40s_%.5s%s%.4s", n->words[1], n->words[2],
			 strcasecmp(p, "tcp") ? "_" : "", strcasecmp(p, "tcp") ? p : "");
	name_fix(base, out);
	for (char *q = out; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	for (unsigned k = 2;; k++) {
		size_t i;

		for (i = 0; i < c->nvs && strcasecmp(c->vs_names[i], out) != 0; i++)
			;
		if (i == c->nvs)
			break;
		snprintf(base, sizeof(base), "%.55s_%u", out, k);
		snprintf(out, NAME_LEN + 1, "%s", base);
		name_fix(base, out);
	}
	names = realloc(c->vs_names, (c->nvs + 1) * sizeof(*names));
	if (!names || !(names[c->nvs] = strdup(out))) {
		if (names)
			c->vs_names = names;
		c->nomem = true;
		return;
	}
	c->vs_names = names;
	c->nvs++;
}

static void vs_header(struct conv *c, struct sect *s, struct vs *vs)
{
	const struct ka_node *n = vs->block;
	char ep[128];

	if (vs->fwmark) {
		put(c, s, n, "fwmark", n->words[2]);
		return;
	}
	endpoint(n->words[1], n->words[2], ep, sizeof(ep));
	put(c, s, n, "address", ep);
	for (size_t i = 0; i < c->nvips; i++)
		if (strcmp(c->vips[i].addr, n->words[1]) == 0) {
			put(c, s, n, "vrrp", c->vips[i].inst);
			break;
		}
}

static void convert_vs(struct conv *c, const struct ka_node *n)
{
	struct vs vs = { .block = n };
	char name[NAME_LEN + 1], header[NAME_LEN + 20];
	struct sect s;

	if (n->nwords == 3 && strcmp(n->words[1], "group") == 0) {
		warn(c, n, "virtual_server group %s: virtual_server_group has no equivalent: write one virtual_server "
		     "per address (not converted)", n->words[2]);
		return;
	}
	if (n->nwords != 3 || (strcmp(n->words[1], "fwmark") == 0 && !is_uint(n->words[2]))) {
		warn(c, n, "virtual_server: only 'IP PORT' and 'fwmark N' are converted; this one is not");
		return;
	}
	vs.fwmark = strcmp(n->words[1], "fwmark") == 0;
	vs_name(c, n, vs.fwmark, name);
	snprintf(header, sizeof(header), "virtual_server %s", name);
	sect_init(&s, header);
	vs_header(c, &s, &vs);
	convert_block(c, &s, n, &vs_kw, &vs);
	/* keepalived's default method is NAT; directord's is dr */
	if (!sect_has(&s, "method"))
		put(c, &s, n, "method", "nat");
	/* keepalived puts real servers in at once unless alpha is set. */
	if (!sect_has(&s, "start_down"))
		put(c, &s, n, "start_down", "no");
	vs_check(c, &s, &vs);
	vs_servers(c, &s, &vs);
	for (size_t i = 0; i < vs.nrs; i++)
		sb_free(&vs.rs[i].entry);
	free(vs.rs);
	sect_flush(c, &s);
	c->nsections++;
}

/* ---- vrrp_track_process, and a vrrp_script that only looks for a process ---- */

/* The command of a vrrp_script, as one line. */
static void script_text(const struct ka_node *script, struct strbuf *out)
{
	const struct ka_node *cmd = child(script, "script");

	if (cmd)
		join_words(cmd, 1, out);
}

static bool plain_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_LEN)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.@+:", *s))
			return false;
	return true;
}

/* The vrrp_script name, if its command only asks whether a process runs:
 * `killall -0 NAME`, `pidof NAME` or `pgrep [-x] NAME` (by any path):
 * that process's name, *pattern set for pgrep without -x (a pattern
 * anywhere in the name, where track_process matches it whole). */
static const char *script_process(const struct conv *c, const char *name, char out[NAME_LEN + 1], bool *pattern)
{
	const struct ka_node *n;
	struct strbuf text;
	char *w[5] = { 0 }, *save = NULL, *base;
	size_t nw = 0;
	const char *found = NULL;

	for (n = c->root; n; n = n->next)
		if (strcmp(n->words[0], "vrrp_script") == 0 && arg(n, 1) && strcmp(arg(n, 1), name) == 0)
			break;
	if (!n)
		return NULL;
	sb_init(&text);
	script_text(n, &text);
	for (char *t = strtok_r(text.buf ? text.buf : (char[]){ "" }, " \t", &save); t && nw < 5;
	     t = strtok_r(NULL, " \t", &save))
		w[nw++] = t;
	base = w[0] ? strrchr(w[0], '/') : NULL;
	base = base ? base + 1 : w[0];
	*pattern = false;
	if (base && nw == 3 && strcmp(base, "killall") == 0 && strcmp(w[1], "-0") == 0)
		found = w[2];
	else if (base && nw == 2 && strcmp(base, "pidof") == 0)
		found = w[1];
	else if (base && nw == 3 && strcmp(base, "pgrep") == 0 && strcmp(w[1], "-x") == 0)
		found = w[2];
	else if (base && nw == 2 && strcmp(base, "pgrep") == 0)
		found = w[1], *pattern = true;
	if (found && plain_name(found))
		snprintf(out, NAME_LEN + 1, "%s", found);
	else
		found = NULL;
	sb_free(&text);
	return found ? out : NULL;
}

/* The kernel keeps 15 bytes of a process name: a longer one is matched
 * on the command line's first word. */
static void put_process(struct conv *c, struct sect *s, const struct ka_node *n, const char *name, bool args)
{
	put(c, s, n, "process", name);
	if (strlen(name) > 15 && !args && !sect_has(s, "full_command"))
		put(c, s, n, "full_command", "yes");
}

static void script_ignored(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	(void)c, (void)s, (void)n, (void)ctx;	/* said in the section's note */
}

static const struct handler script_process_handlers[] = {
	{ "weight", script_weight }, { "script", script_ignored }, { "interval", script_ignored },
	{ "timeout", script_ignored }, { "rise", script_ignored }, { "fall", script_ignored },
	{ "user", script_ignored }, { "init_fail", script_ignored }, { NULL, NULL },
};

static const struct keywords script_process_kw = { "vrrp_script", NULL, script_process_handlers, NULL };

/* A vrrp_script that only asks whether a process runs becomes a
 * [track_process]: no script, no CAP_KILL (killall -0 fails on another
 * user's process when directord runs unprivileged), no polling. */
static void convert_script_process(struct conv *c, const struct ka_node *n, const char *proc, bool pattern)
{
	char name[NAME_LEN + 1], header[NAME_LEN + 20];
	struct strbuf text;
	struct sect s;

	if (!name_ok(c, n, arg(n, 1), name))
		return;
	snprintf(header, sizeof(header), "track_process %s", name);
	sect_init(&s, header);
	sb_init(&text);
	script_text(n, &text);
	sb_printf(&s.sb, "; from vrrp_script %s (%s): directord follows the process itself, by events and as any user,\n"
		  "; instead of running the script; its interval, rise, fall, timeout and user have no use (terminate_delay\n"
		  "; and fork_delay delay a change instead)%s\n", name, sb_str(&text),
		  pattern ? "; pgrep without -x found the name anywhere in a process name, this matches it whole" : "");
	sb_free(&text);
	put_process(c, &s, n, proc, false);
	convert_block(c, &s, n, &script_process_kw, (void *)n);
	sect_flush(c, &s);
}

/* process NAME [PARAMETER...]: keepalived matches the name on the command
 * line's first word when parameters are given, as directord does. */
static void tp_process(struct conv *c, struct sect *s, const struct ka_node *n, void *ctx)
{
	struct strbuf args;

	(void)ctx;
	if (!nargs_ok(c, n, 1, SIZE_MAX))
		return;
	for (size_t i = 1; i < n->nwords; i++)
		if (!n->words[i][0] || strpbrk(n->words[i], " \t")) {
			warn(c, n, "process: '%s' is empty or holds blanks, which director.ini cannot say (not converted)",
			     n->words[i]);
			return;
		}
	put_process(c, s, n, n->words[1], n->nwords > 2);
	if (n->nwords > 2) {
		sb_init(&args);
		join_words(n, 2, &args);
		put(c, s, n, "args", sb_str(&args));
		sb_free(&args);
	}
}

static const struct map track_process_maps[] = {
	{ "param_match", "param_match", K_LOWER }, { "quorum", "quorum", K_UINT },
	{ "quorum_max", "quorum_max", K_UINT }, { "delay", "delay", K_SECONDS },
	{ "terminate_delay", "terminate_delay", K_SECONDS }, { "fork_delay", "fork_delay", K_SECONDS },
	{ "full_command", "full_command", K_YES }, { NULL, NULL, K_WORD },
};

static const struct handler track_process_handlers[] = {
	{ "process", tp_process }, { "weight", script_weight }, { NULL, NULL },
};

static const struct keywords track_process_kw = { "vrrp_track_process", track_process_maps,
						  track_process_handlers, NULL };

static void convert_track_process(struct conv *c, const struct ka_node *n)
{
	char name[NAME_LEN + 1], header[NAME_LEN + 20];
	struct sect s;

	if (!name_ok(c, n, arg(n, 1), name))
		return;
	snprintf(header, sizeof(header), "track_process %s", name);
	sect_init(&s, header);
	convert_block(c, &s, n, &track_process_kw, (void *)n);
	if (!sect_has(&s, "process"))
		warn(c, n, "%s %s: no process (directord needs one)", n->words[0], name);
	/* keepalived: param_match without parameters means none at all. */
	if (sect_has(&s, "param_match") && !sect_has(&s, "args"))
		put(c, &s, child(n, "param_match"), "args", "");
	if (!child(n, "weight"))
		put(c, &s, n, "weight", "1");	/* keepalived's default; directord's is 0 (Fault) */
	sect_flush(c, &s);
}

/* ---- the top level ---- */

static const struct nomap top_nomaps[] = {
	{ "static_ipaddress", "add the addresses with the system's network configuration" },
	{ "static_routes", "add the routes with the system's network configuration" },
	{ "static_rules", NULL }, { "virtual_server_group", "write one virtual_server per address" },
	{ "bfd_instance", NULL },
	{ "garp_group", NULL }, { "linkbeat_interfaces", NULL }, { "net_namespace", NULL },
	{ "instance", NULL }, { "use_pid_dir", NULL }, { "vrrp_garp_interval", NULL },
	{ NULL, NULL },
};

static void convert_top(struct conv *c, const struct ka_node *n)
{
	const char *k = n->words[0];

	if (strcmp(k, "global_defs") == 0)
		return;		/* read first */
	if (strcmp(k, "vrrp_instance") == 0) {
		convert_instance(c, n);
	} else if (strcmp(k, "vrrp_script") == 0) {
		char proc[NAME_LEN + 1];
		bool pattern;

		if (arg(n, 1) && script_process(c, arg(n, 1), proc, &pattern))
			convert_script_process(c, n, proc, pattern);
		else
			convert_named(c, n, "track_script", &script_kw);
	} else if (strcmp(k, "vrrp_track_process") == 0 || strcmp(k, "track_process") == 0) {
		convert_track_process(c, n);
	} else if (strcmp(k, "track_file") == 0 || strcmp(k, "vrrp_track_file") == 0) {
		convert_named(c, n, "track_file", &track_file_kw);
	} else if (strcmp(k, "vrrp_sync_group") == 0) {
		convert_named(c, n, "sync_group", &group_kw);
	} else if (strcmp(k, "virtual_server") == 0) {
		convert_vs(c, n);
	} else if (k[0] == '$' || k[0] == '@') {
		warn(c, n, "%s: keepalived's parameters and conditional lines are not expanded (not converted)",
		     ka_word_shown(k));
	} else {
		warn_unconverted(c, n, top_nomaps, NULL);
	}
}

static void write_output(struct conv *c, const struct ka_tree *tree, size_t first_warning, struct strbuf *out)
{
	size_t n = c->warn->n - first_warning;

	sb_printf(out, "; director.ini for directord(8), converted from %s by directorctl import-keepalived.\n",
		  tree->nfiles ? tree->files[0] : "keepalived.conf");
	sb_append(out, "; Check it with: directord -t -f FILE\n");
	if (n == 0)
		sb_append(out, "; Every keepalived setting was converted.\n");
	else
		sb_printf(out, "; %zu keepalived setting%s not converted:\n", n, n == 1 ? " is" : "s are");
	for (size_t i = first_warning; i < c->warn->n; i++)
		sb_printf(out, ";   %s\n", c->warn->msgs[i]);
	if (c->global.nkeys)
		sb_printf(out, "\n[global]\n%s", sb_str(&c->global.sb));
	sb_append(out, sb_str(&c->body));
}

int ka_import(const struct ka_tree *tree, struct strbuf *out, struct ini_diag *warnings)
{
	struct conv c = { .warn = warnings, .root = tree->root };
	size_t first = warnings->n;
	int ret = 0;

	sect_init(&c.global, NULL);
	sb_init(&c.body);
	/* global_defs first: keepalived applies some of it to every instance.
	 * The VIPs first too: a virtual server names the instance of its VIP. */
	for (const struct ka_node *n = tree->root; n; n = n->next) {
		if (strcmp(n->words[0], "global_defs") == 0)
			convert_block(&c, &c.global, n, &global_kw, NULL);
		else if (strcmp(n->words[0], "vrrp_instance") == 0 && arg(n, 1)) {
			const struct ka_node *v = child(n, "virtual_ipaddress");
			char name[NAME_LEN + 1];

			name_fix(arg(n, 1), name);
			for (v = v ? v->child : NULL; v; v = v->next)
				vip_owner_add(&c, v->words[0], name);
		}
	}
	for (const struct ka_node *n = tree->root; n; n = n->next)
		convert_top(&c, n);
	if (c.nsections == 0 && tree->root)
		warn(&c, tree->root, "no vrrp_instance and no virtual_server: directord needs at least one");
	write_output(&c, tree, first, out);
	if (c.nomem || c.global.sb.failed || c.body.failed || out->failed)
		ret = -ENOMEM;
	sb_free(&c.global.sb);
	sb_free(&c.body);
	for (size_t i = 0; i < c.nvs; i++)
		free(c.vs_names[i]);
	free(c.vs_names);
	free(c.vips);
	return ret;
}
