/* director.ini's [virtual_server NAME] sections: the IPVS virtual services
 * and their real servers (lvs.h). The value types of their own, the keys,
 * the checks across keys and sections, and the helpers that turn a
 * virtual server into the structs of ipvs.h.
 *
 * Defaults that depend on other keys (a real server's port and method,
 * check_timeout, agent_interval, protocol and family) are left unset by
 * the keys and filled in by lvs_config_check, so every printed value is
 * explicit and a printed configuration loads to the same one. */
#include <errno.h>
#include <limits.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "lvs_reconcile.h"

#define VS(field) offsetof(struct virtual_server_conf, field)
/* Types that read and write several fields get the whole section struct. */
#define WHOLE 0

#define MS_PER_DAY (24ULL * 3600 * 1000)
#define SORRY_MAX 256		/* sorry_server's value */
#define RS_NAME_MAX 64		/* "[v6]:port" */
#define HTTP_PATH_MAX 512
#define HTTP_HOST_MAX 255	/* a DNS name */

static int fail(char *err, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, PARSE_ERR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

/* Prefix err (already holding the reason) with what it is about. */
static int fail_about(char *err, int ret, const char *about)
{
	char why[PARSE_ERR_MAX];

	strlcpy_safe(why, err, sizeof(why));
	return fail(err, ret, "%.40s: %.110s", about, why);
}

/* ---- words ---- */

static const struct ini_enum methods[] = {
	{ "dr", IP_VS_CONN_F_DROUTE }, { "nat", IP_VS_CONN_F_MASQ }, { "tun", IP_VS_CONN_F_TUNNEL }, { NULL, 0 },
};

static const struct ini_enum protocols[] = {
	{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "sctp", IPPROTO_SCTP }, { NULL, 0 },
};

static const struct ini_enum families[] = { { "inet", AF_INET }, { "inet6", AF_INET6 }, { NULL, 0 } };

static const struct ini_enum checks[] = {
	{ "none", LVS_CHECK_NONE }, { "tcp", LVS_CHECK_TCP }, { "http", LVS_CHECK_HTTP },
	{ "https", LVS_CHECK_HTTPS }, { "script", LVS_CHECK_SCRIPT }, { "agent", LVS_CHECK_AGENT }, { NULL, 0 },
};

/* The scheduler flags, by ipvsadm's names (sh-* and mh-* are aliases). */
static const struct ini_enum sched_flags[] = {
	{ "flag-1", IP_VS_SVC_F_SCHED1 }, { "flag-2", IP_VS_SVC_F_SCHED2 }, { "flag-3", IP_VS_SVC_F_SCHED3 },
	{ "sh-fallback", IP_VS_SVC_F_SCHED1 }, { "sh-port", IP_VS_SVC_F_SCHED2 },
	{ "mh-fallback", IP_VS_SVC_F_SCHED1 }, { "mh-port", IP_VS_SVC_F_SCHED2 }, { NULL, 0 },
};

static bool word_value(const struct ini_enum *e, const char *w, int *out)
{
	for (; e->name; e++) {
		if (strcasecmp(e->name, w) == 0) {
			*out = e->value;
			return true;
		}
	}
	return false;
}

static const char *word_name(const struct ini_enum *e, int v)
{
	for (; e->name; e++)
		if (e->value == v)
			return e->name;
	return "?";
}

static int method_parse(const char *s, uint32_t *fwd, char *err)
{
	int v;

	if (!word_value(methods, s, &v))
		return fail(err, -EINVAL, "method '%.32s': expected dr, nat or tun", s);
	*fwd = (uint32_t)v;
	return 0;
}

/* "198.18.0.11:80", "[2001:db8::11]:80"; the bare address for port 0. */
static const char *endpoint_name(const struct ipaddr *a, uint16_t port, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	ipaddr_ntop(a, addr, sizeof(addr));
	if (port == 0)
		snprintf(buf, size, "%s", addr);
	else if (a->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", addr, port);
	else
		snprintf(buf, size, "%s:%u", addr, port);
	return buf;
}

/* Text that goes into an HTTP request as it is: printable ASCII without
 * blanks, so that nothing can end or split the request line or a header. */
static bool http_token_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int http_path_check(const char *s, char *err)
{
	if (s[0] != '/')
		return fail(err, -EINVAL, "a path starts with '/'");
	if (strlen(s) > HTTP_PATH_MAX)
		return fail(err, -EINVAL, "a path of at most %d bytes", HTTP_PATH_MAX);
	if (!http_token_ok(s))
		return fail(err, -EINVAL, "printable ASCII without blanks (percent-encode the rest)");
	return 0;
}

static int http_host_check(const char *s, char *err)
{
	if (!s[0] || strlen(s) > HTTP_HOST_MAX)
		return fail(err, -EINVAL, "a host name of 1 to %d characters", HTTP_HOST_MAX);
	if (!http_token_ok(s))
		return fail(err, -EINVAL, "printable ASCII without blanks");
	return 0;
}

static int dup_string(char **dst, const char *s, char *err)
{
	char *copy = strdup(s);

	if (!copy)
		return fail(err, -ENOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

/* ---- value types ---- */

/* address: ADDR:PORT, the port required. */
static int service_address_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return parse_ipendpoint(value, true, field, err);
}

static void endpoint_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct ipendpoint *ep = field;
	char buf[RS_NAME_MAX];

	(void)key;
	if (ep->addr.family)
		sb_append(out, endpoint_name(&ep->addr, ep->port, buf, sizeof(buf)));
}

static const struct ini_type service_address_type = {
	.name = "address and port", .parse = service_address_parse, .print = endpoint_print,
	.equal = ini_endpoint_equal,
};

/* A port in a uint16_t; 0 is "not set" and prints nothing. */
static int port_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	long long v;
	int ret;

	(void)key;
	ret = parse_int_range(value, 1, 65535, &v, err);
	if (ret == 0)
		*(uint16_t *)field = (uint16_t)v;
	return ret;
}

static void port_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	(void)key;
	if (*(const uint16_t *)field)
		sb_printf(out, "%u", *(const uint16_t *)field);
}

static const struct ini_type port_type = {
	.name = "port", .parse = port_parse, .print = port_print, .equal = ini_u16_equal,
};

/* scheduler: what the kernel's IP_VS_SCHEDNAME_MAXLEN holds, in the
 * characters its module names use. */
static int scheduler_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	size_t n = strlen(value);

	(void)key;
	if (n == 0 || n >= IPVS_SCHED_MAX || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return fail(err, -EINVAL,
			    "a scheduler name is 1 to %d characters of a-z, 0-9 and _ (such as wlc, rr, mh)",
			    IPVS_SCHED_MAX - 1);
	return dup_string(field, value, err);
}

static void string_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	ini_type_string.print(key, field, out);
}

static void string_free(void *field)
{
	ini_type_string.free(field);
}

static const struct ini_type scheduler_type = {
	.name = "scheduler", .parse = scheduler_parse, .print = string_print, .free = string_free,
	.equal = ini_string_equal,
};

static int sched_flags_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	char buf[128], *words[8];
	unsigned flags = 0;
	int n, v;

	(void)key;
	if (strlen(value) >= sizeof(buf))
		return fail(err, -EINVAL, "too long");
	strlcpy_safe(buf, value, sizeof(buf));
	n = split_list(buf, words, (int)ARRAY_SIZE(words));
	if (n < 0)
		return fail(err, -EINVAL, "at most %zu flags", ARRAY_SIZE(words));
	for (int i = 0; i < n; i++) {
		if (!word_value(sched_flags, words[i], &v))
			return fail(err, -EINVAL, "'%.32s': expected flag-1, flag-2, flag-3, sh-fallback, sh-port, "
				    "mh-fallback or mh-port", words[i]);
		flags |= (unsigned)v;
	}
	*(unsigned *)field = flags;
	return 0;
}

static void sched_flags_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	static const char *const names[] = { "flag-1", "flag-2", "flag-3" };
	static const unsigned bits[] = { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3 };
	unsigned flags = *(const unsigned *)field;
	bool first = true;

	(void)key;
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		if (flags & bits[i]) {
			sb_printf(out, "%s%s", first ? "" : ", ", names[i]);
			first = false;
		}
	}
}

static const struct ini_type sched_flags_type = {
	.name = "scheduler flags", .parse = sched_flags_parse, .print = sched_flags_print,
	.equal = ini_unsigned_equal,
};

/* check: "http", or "http, agent" (the agent as well). WHOLE. */
static int check_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct virtual_server_conf *vs = field;
	char buf[64], *words[3];
	int n, a = -1, b = -1;

	(void)key;
	strlcpy_safe(buf, value, sizeof(buf));
	n = strlen(value) < sizeof(buf) ? split_list(buf, words, 3) : -1;
	if (n >= 1 && !word_value(checks, words[0], &a))
		a = -1;
	if (n == 2 && !word_value(checks, words[1], &b))
		b = -1;
	if (n == 1 && a >= 0) {
		vs->check = a;
		vs->check_agent = false;
		return 0;
	}
	/* Two words: one of them the agent, the other the deciding check. */
	if (n == 2 && a >= 0 && b >= 0 && (a == LVS_CHECK_AGENT) != (b == LVS_CHECK_AGENT)) {
		vs->check = a == LVS_CHECK_AGENT ? b : a;
		vs->check_agent = true;
		return 0;
	}
	return fail(err, -EINVAL, "expected none, tcp, http, https, script or agent, optionally with ', agent' "
		    "(as in 'http, agent')");
}

static void check_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct virtual_server_conf *vs = field;

	(void)key;
	sb_printf(out, "%s%s", word_name(checks, vs->check), vs->check_agent ? ", agent" : "");
}

static bool check_equal(const void *a, const void *b)
{
	const struct virtual_server_conf *x = a, *y = b;

	return x->check == y->check && x->check_agent == y->check_agent;
}

static const struct ini_type check_type = {
	.name = "check", .parse = check_parse, .print = check_print, .equal = check_equal,
};

/* check_status: "200" or "200-399". WHOLE. */
static int status_code(const char *s, unsigned *out, char *err)
{
	long long v;

	if (parse_int_range(s, 100, 599, &v, err) < 0)
		return fail(err, -EINVAL, "expected an HTTP status code (100 to 599) or a range such as 200-399");
	*out = (unsigned)v;
	return 0;
}

static int status_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct virtual_server_conf *vs = field;
	char buf[32], *dash;
	unsigned lo = 0, hi = 0;

	(void)key;
	if (strlen(value) >= sizeof(buf))
		return fail(err, -EINVAL, "expected an HTTP status code (100 to 599) or a range such as 200-399");
	strlcpy_safe(buf, value, sizeof(buf));
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (status_code(buf, &lo, err) < 0 || status_code(dash ? dash + 1 : buf, &hi, err) < 0)
		return -EINVAL;
	if (lo > hi)
		return fail(err, -EINVAL, "range %u-%u: the first code must not be larger than the second", lo, hi);
	vs->check_status_lo = lo;
	vs->check_status_hi = hi;
	return 0;
}

static void status_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct virtual_server_conf *vs = field;

	(void)key;
	if (vs->check_status_lo == vs->check_status_hi)
		sb_printf(out, "%u", vs->check_status_lo);
	else
		sb_printf(out, "%u-%u", vs->check_status_lo, vs->check_status_hi);
}

static bool status_equal(const void *a, const void *b)
{
	const struct virtual_server_conf *x = a, *y = b;

	return x->check_status_lo == y->check_status_lo && x->check_status_hi == y->check_status_hi;
}

static const struct ini_type status_type = {
	.name = "status range", .parse = status_parse, .print = status_print, .equal = status_equal,
};

static int http_path_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	if (http_path_check(value, err) < 0)
		return -EINVAL;
	return dup_string(field, value, err);
}

static const struct ini_type http_path_type = {
	.name = "path", .parse = http_path_parse, .print = string_print, .free = string_free,
	.equal = ini_string_equal,
};

static int http_host_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	if (http_host_check(value, err) < 0)
		return -EINVAL;
	return dup_string(field, value, err);
}

static const struct ini_type http_host_type = {
	.name = "host", .parse = http_host_parse, .print = string_print, .free = string_free,
	.equal = ini_string_equal,
};

/* sorry_server: "ADDR[:PORT] [method=M]". WHOLE. */
static int sorry_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct virtual_server_conf *vs = field;
	char buf[SORRY_MAX], *words[3];
	uint32_t fwd = LVS_FWD_UNSET;
	struct ipendpoint ep;
	int n;

	(void)key;
	if (strlen(value) >= sizeof(buf))
		return fail(err, -EINVAL, "too long");
	strlcpy_safe(buf, value, sizeof(buf));
	n = split_list(buf, words, 3);
	if (n < 1 || n > 2)
		return fail(err, -EINVAL, "expected ADDRESS[:PORT] [method=dr|nat|tun]");
	if (parse_ipendpoint(words[0], false, &ep, err) < 0)
		return -EINVAL;
	if (n == 2 && strncmp(words[1], "method=", 7) != 0)
		return fail(err, -EINVAL, "unknown option '%.32s' (expected method=dr|nat|tun)", words[1]);
	if (n == 2 && method_parse(words[1] + 7, &fwd, err) < 0)
		return -EINVAL;
	vs->sorry_server = ep;
	vs->sorry_fwd = fwd;
	return 0;
}

static void sorry_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct virtual_server_conf *vs = field;

	endpoint_print(key, &vs->sorry_server, out);
	if (vs->sorry_server.addr.family && vs->sorry_fwd != LVS_FWD_UNSET)
		sb_printf(out, " method=%s", word_name(methods, (int)vs->sorry_fwd));
}

static bool sorry_equal(const void *a, const void *b)
{
	const struct virtual_server_conf *x = a, *y = b;

	return ini_endpoint_equal(&x->sorry_server, &y->sorry_server) && x->sorry_fwd == y->sorry_fwd;
}

static const struct ini_type sorry_type = {
	.name = "sorry server", .parse = sorry_parse, .print = sorry_print, .equal = sorry_equal,
};

/* ---- real servers: real_server lines and the real_servers list ----
 *
 * A virtual server has two keys for its servers, both appending to
 * vs->real_servers in file order: the repeatable `real_server`, one entry
 * a line, and the list `real_servers`, entries separated by commas. The
 * list is read but never written: a line holds at most 1000 bytes (ini.c),
 * a few dozen entries, so the normalized config writes every server as a
 * real_server line, and a config of hundreds of servers per service
 * prints to text that loads again. */

enum rs_opt {
	RS_WEIGHT, RS_METHOD, RS_UTHRESH, RS_LTHRESH, RS_CHECK_ADDRESS, RS_CHECK_PORT, RS_AGENT_PORT,
	RS_CHECK_PATH, RS_CHECK_HOST, RS_CHECK_COMMAND, RS_NOPTS,
};

static const char *const rs_opt_names[RS_NOPTS] = {
	"weight", "method", "u_threshold", "l_threshold", "check_address", "check_port", "agent_port",
	"check_path", "check_host", "check_command",
};

static int rs_number(const char *arg, long long max, uint32_t *out, char *err)
{
	long long v;

	if (parse_int_range(arg, 0, max, &v, err) < 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int rs_port(const char *arg, uint16_t *out, char *err)
{
	long long v;

	if (parse_int_range(arg, 1, 65535, &v, err) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int rs_option_set(struct real_server_conf *rs, enum rs_opt opt, const char *arg, char *err)
{
	struct lvs_check_override *o = &rs->check;
	uint32_t w;

	switch (opt) {
	case RS_WEIGHT:
		if (rs_number(arg, 65535, &w, err) < 0)
			return -EINVAL;
		rs->weight = w;
		return 0;
	case RS_METHOD:
		return method_parse(arg, &rs->fwd, err);
	case RS_UTHRESH:
		return rs_number(arg, UINT32_MAX, &rs->u_threshold, err);
	case RS_LTHRESH:
		return rs_number(arg, UINT32_MAX, &rs->l_threshold, err);
	case RS_CHECK_ADDRESS:
		if (parse_ipaddr(arg, &o->address, err) < 0)
			return -EINVAL;
		if (o->address.has_prefix)
			return fail(err, -EINVAL, "an address without a prefix length");
		return 0;
	case RS_CHECK_PORT:
		return rs_port(arg, &o->port, err);
	case RS_AGENT_PORT:
		return rs_port(arg, &o->agent_port, err);
	case RS_CHECK_PATH:
		return http_path_check(arg, err) < 0 ? -EINVAL : dup_string(&o->path, arg, err);
	case RS_CHECK_HOST:
		return http_host_check(arg, err) < 0 ? -EINVAL : dup_string(&o->host, arg, err);
	case RS_CHECK_COMMAND:
		return dup_string(&o->command, arg, err);
	case RS_NOPTS:
		break;
	}
	return fail(err, -EINVAL, "internal error");
}

static int rs_option(struct real_server_conf *rs, char *word, unsigned *seen, char *err)
{
	char *eq = strchr(word, '=');
	size_t opt;

	if (eq)
		*eq = '\0';
	for (opt = 0; opt < RS_NOPTS; opt++)
		if (strcmp(word, rs_opt_names[opt]) == 0)
			break;
	if (opt == RS_NOPTS)
		return fail(err, -EINVAL, "unknown option '%.32s' (expected weight, method, u_threshold, l_threshold, "
			    "check_address, check_port, agent_port, check_path, check_host or check_command)", word);
	/* keepalived's "weight 2" would come here as two words. */
	if (!eq || !eq[1])
		return fail(err, -EINVAL, "write %s=VALUE, without blanks around '='", word);
	if (*seen & (1u << opt))
		return fail(err, -EINVAL, "%s given twice", word);
	*seen |= 1u << opt;
	if (rs_option_set(rs, (enum rs_opt)opt, eq + 1, err) < 0)
		return fail_about(err, -EINVAL, word);
	return 0;
}

void real_server_conf_release(struct real_server_conf *rs)
{
	free(rs->check.path);
	free(rs->check.host);
	free(rs->check.command);
	rs->check.path = rs->check.host = rs->check.command = NULL;
}

/* No length limit of its own: the printed entry, which may be longer than
 * the one read, must parse again. */
int real_server_parse(const char *text, struct real_server_conf *out, char *err)
{
	char small[128], *buf, *words[RS_NOPTS + 2];
	size_t len = strlen(text);
	struct ipendpoint ep;
	unsigned seen = 0;
	int n, ret = 0;

	memset(out, 0, sizeof(*out));
	out->weight = 1;
	out->fwd = LVS_FWD_UNSET;
	/* Split in a copy: on the stack for the usual entry (tens of
	 * thousands of them in a large file). */
	buf = len < sizeof(small) ? memcpy(small, text, len + 1) : strdup(text);
	if (!buf)
		return fail(err, -ENOMEM, "out of memory");
	n = split_list(buf, words, (int)ARRAY_SIZE(words));
	if (n <= 0)
		ret = fail(err, -EINVAL, n == 0 ? "empty entry" : "too many words in one entry");
	else if (parse_ipendpoint(words[0], false, &ep, err) < 0)
		ret = -EINVAL;
	else {
		out->addr = ep.addr;
		out->port = ep.port;
	}
	for (int i = 1; i < n && ret == 0; i++)
		ret = rs_option(out, words[i], &seen, err);
	if (ret == 0 && out->l_threshold > out->u_threshold)
		ret = fail(err, -EINVAL, "l_threshold must not be larger than u_threshold (the kernel refuses it)");
	if (ret < 0)
		real_server_conf_release(out);
	if (buf != small)
		free(buf);
	return ret;
}

/* The normalized entry: address, weight and method always, the rest when set. */
static void real_server_print(const struct real_server_conf *rs, struct strbuf *out)
{
	const struct lvs_check_override *o = &rs->check;
	char buf[RS_NAME_MAX];

	sb_append(out, real_server_name(rs, buf, sizeof(buf)));
	sb_printf(out, " weight=%u", rs->weight);
	if (rs->fwd != LVS_FWD_UNSET)
		sb_printf(out, " method=%s", word_name(methods, (int)rs->fwd));
	if (rs->u_threshold)
		sb_printf(out, " u_threshold=%u", (unsigned)rs->u_threshold);
	if (rs->l_threshold)
		sb_printf(out, " l_threshold=%u", (unsigned)rs->l_threshold);
	if (o->address.family)
		sb_printf(out, " check_address=%s", ipaddr_ntop(&o->address, buf, sizeof(buf)));
	if (o->port)
		sb_printf(out, " check_port=%u", o->port);
	if (o->agent_port)
		sb_printf(out, " agent_port=%u", o->agent_port);
	if (o->path)
		sb_printf(out, " check_path=%s", o->path);
	if (o->host)
		sb_printf(out, " check_host=%s", o->host);
	if (o->command)
		sb_printf(out, " check_command=%s", o->command);
}

/* Drop the servers from index n on. */
static void rs_list_truncate(struct real_server_list *list, size_t n)
{
	while (list->n > n)
		real_server_conf_release(&list->items[--list->n]);
}

/* A failed parse leaves the list as it was: back to n servers, and
 * nothing allocated when it was empty (callers need not free after an
 * error). */
static void rs_list_undo(struct real_server_list *list, size_t n)
{
	rs_list_truncate(list, n);
	if (n == 0) {
		free(list->items);
		list->items = NULL;
		list->cap = 0;
	}
}

/* Leaves the list empty: both keys free the list they share. */
static void rs_list_release(struct real_server_list *list)
{
	rs_list_truncate(list, 0);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

/* Room for extra more servers, the limit counting both keys. Doubling, as
 * real_server lines come one at a time. */
static int rs_list_reserve(struct real_server_list *list, size_t extra, char *err)
{
	struct real_server_conf *items;
	size_t cap;

	if (list->n > LVS_MAX_REAL_SERVERS || extra > LVS_MAX_REAL_SERVERS - list->n)
		return fail(err, -EINVAL, "more than %d real servers", LVS_MAX_REAL_SERVERS);
	if (list->n + extra <= list->cap)
		return 0;
	cap = list->cap ? list->cap : 8;
	while (cap < list->n + extra)
		cap *= 2;
	items = realloc(list->items, cap * sizeof(*items));
	if (!items)
		return fail(err, -ENOMEM, "out of memory");
	list->items = items;
	list->cap = cap;
	return 0;
}

/* One entry of the list, named in its error. */
static int rs_list_entry(const char *text, struct real_server_conf *out, char *err)
{
	char why[PARSE_ERR_MAX];
	int ret = real_server_parse(text, out, err);

	if (ret < 0) {
		strlcpy_safe(why, err, sizeof(why));
		fail(err, ret, "'%.40s': %.110s", text, why);
	}
	return ret;
}

/* real_servers: appends all its entries, or none. */
static int rs_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct real_server_list *list = field;
	size_t first = list->n, cap = 1;
	char *copy = strdup(value), **items;
	int n, ret = 0;

	(void)key;
	/* Room for as many entries as the value has commas and one, not for
	 * the most a service may have: ten thousand lists are read at once. */
	for (const char *c = value; (c = strchr(c, ',')) && cap < LVS_MAX_REAL_SERVERS; c++)
		cap++;
	items = malloc(cap * sizeof(*items));
	if (!copy || !items) {
		ret = fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	n = split_commas(copy, items, cap);
	if (n <= 0) {
		ret = fail(err, -EINVAL, n == 0 ? "no real server given" : "more than %d real servers",
			   LVS_MAX_REAL_SERVERS);
		goto out;
	}
	ret = rs_list_reserve(list, (size_t)n, err);
	for (int i = 0; i < n && ret == 0; i++) {
		ret = rs_list_entry(items[i], &list->items[list->n], err);
		if (ret == 0)
			list->n++;
	}
	if (ret < 0)
		rs_list_undo(list, first);
out:
	free(items);
	free(copy);
	return ret;
}

/* The list in one value (for real_server_list_type). */
static void rs_list_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct real_server_list *list = field;
	struct strbuf text;
	const char *s;

	sb_init(&text);
	for (size_t i = 0; i < list->n; i++) {
		if (i)
			sb_append(&text, ", ");
		real_server_print(&list->items[i], &text);
	}
	/* As a string, so that it is quoted when it has to be. */
	s = sb_str(&text);
	if (text.failed)
		out->failed = true;
	else if (list->n)
		ini_type_string.print(key, &s, out);
	sb_free(&text);
}

/* The real_servers key of the schema prints nothing: real_server does. */
static void rs_list_print_none(const struct ini_key *key, const void *field, struct strbuf *out)
{
	(void)key;
	(void)field;
	(void)out;
}

static void rs_list_free(void *field)
{
	rs_list_release(field);
}

static bool real_server_equal(const struct real_server_conf *a, const struct real_server_conf *b)
{
	const struct lvs_check_override *x = &a->check, *y = &b->check;

	return ini_ipaddr_equal(&a->addr, &b->addr) && a->port == b->port && a->weight == b->weight &&
	       a->fwd == b->fwd && a->u_threshold == b->u_threshold && a->l_threshold == b->l_threshold &&
	       ini_ipaddr_equal(&x->address, &y->address) && x->port == y->port && x->agent_port == y->agent_port &&
	       ini_string_equal(&x->path, &y->path) && ini_string_equal(&x->host, &y->host) &&
	       ini_string_equal(&x->command, &y->command);
}

/* The same servers in the same order (the line each was written on is
 * not part of it). */
static bool rs_list_equal(const void *a, const void *b)
{
	const struct real_server_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (!real_server_equal(&x->items[i], &y->items[i]))
			return false;
	return true;
}

const struct ini_type real_server_list_type = {
	.name = "real server list", .parse = rs_list_parse, .print = rs_list_print, .free = rs_list_free,
	.equal = rs_list_equal,
};

/* real_server shares its field with real_servers, which compares it: a
 * reload compares thousands of lists, once each is enough. */
static bool rs_list_shared(const void *a, const void *b)
{
	(void)a;
	(void)b;
	return true;
}

static const struct ini_type real_servers_key_type = {
	.name = "real server list", .parse = rs_list_parse, .print = rs_list_print_none, .free = rs_list_free,
	.equal = rs_list_equal,
};

/* real_server: one entry; the ini layer calls this once per line, in
 * file order. Each line gets its number even when it fails, so the
 * messages of lvs_config_check find the lines of the others. */
static int rs_line_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct real_server_list *list = field;
	size_t nth = ++list->lines;
	int ret;

	(void)key;
	/* A list here would fail on its second address, less clearly. */
	if (strchr(value, ','))
		return fail(err, -EINVAL, "one server per real_server line (a comma-separated list is real_servers)");
	ret = rs_list_reserve(list, 1, err);
	if (ret == 0)
		ret = real_server_parse(value, &list->items[list->n], err);
	if (ret < 0) {
		rs_list_undo(list, list->n);
		return ret;
	}
	list->items[list->n++].line_nth = nth;
	return 0;
}

static size_t rs_list_count(const void *field)
{
	return ((const struct real_server_list *)field)->n;
}

static void rs_line_print(const struct ini_key *key, const void *field, size_t i, struct strbuf *out)
{
	const struct real_server_list *list = field;
	struct strbuf text;
	const char *s;

	sb_init(&text);
	real_server_print(&list->items[i], &text);
	s = sb_str(&text);
	if (text.failed)
		out->failed = true;
	else
		ini_type_string.print(key, &s, out);
	sb_free(&text);
}

static const struct ini_type real_server_line_type = {
	.name = "real server", .parse = rs_line_parse, .free = rs_list_free, .count = rs_list_count,
	.print_item = rs_line_print, .equal = rs_list_shared,
};

/* A number that may be absent: printed only when given (or filled in). */
static int opt_uint_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct opt_uint *o = field;
	long long v;
	int ret = parse_int_range(value, key->min, key->max, &v, err);

	if (ret == 0) {
		o->set = true;
		o->value = (unsigned)v;
	}
	return ret;
}

static void opt_uint_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct opt_uint *o = field;

	(void)key;
	if (o->set)
		sb_printf(out, "%u", o->value);
}

const struct ini_type opt_uint_type = { .name = "number", .parse = opt_uint_parse, .print = opt_uint_print };

/* ---- the keys ---- */

#define END { NULL, NULL, 0, 0, 0, NULL, false, NULL }

const struct ini_key virtual_server_keys[] = {
	/* the service */
	{ "address", &service_address_type, VS(address), 0, 0, NULL, false, NULL },
	{ "fwmark", &ini_type_uint, VS(fwmark), 1, UINT32_MAX, NULL, false, NULL },
	{ "family", &ini_type_enum, VS(family), 0, 0, NULL, false, families },
	{ "protocol", &ini_type_enum, VS(protocol), 0, 0, NULL, false, protocols },
	{ "scheduler", &scheduler_type, VS(scheduler), 0, 0, "wlc", false, NULL },
	{ "scheduler_flags", &sched_flags_type, VS(scheduler_flags), 0, 0, NULL, false, NULL },
	{ "method", &ini_type_enum, VS(default_fwd), 0, 0, "dr", false, methods },
	{ "persistence_timeout", &ini_type_duration, VS(persistence_timeout_ms), 0, 31 * MS_PER_DAY, "0s", false,
	  NULL },
	{ "persistence_netmask", &ini_type_uint, VS(persistence_netmask), 1, 128, NULL, false, NULL },
	{ "one_packet", &ini_type_bool, VS(one_packet), 0, 0, "no", false, NULL },
	/* Both fill real_servers; at least one server is checked for in check_service. */
	{ "real_servers", &real_servers_key_type, VS(real_servers), 0, 0, NULL, false, NULL },
	{ "real_server", &real_server_line_type, VS(real_servers), 0, 0, NULL, false, NULL },
	{ "sorry_server", &sorry_type, WHOLE, 0, 0, NULL, false, NULL },
	{ "quorum", &ini_type_uint, VS(quorum), 0, 1LL << 31, "1", false, NULL },
	{ "quorum_hysteresis", &ini_type_uint, VS(quorum_hysteresis), 0, 1LL << 31, "0", false, NULL },
	{ "inhibit_on_failure", &ini_type_bool, VS(inhibit_on_failure), 0, 0, "no", false, NULL },
	{ "start_down", &ini_type_bool, VS(start_down), 0, 0, "yes", false, NULL },
	{ "vrrp", &ini_type_string, VS(vrrp), 0, 0, NULL, false, NULL },
	{ "announce", &ini_type_bool, VS(announce), 0, 0, "no", false, NULL },
	/* the check */
	{ "check", &check_type, WHOLE, 0, 0, "tcp", false, NULL },
	{ "check_interval", &ini_type_duration, VS(check_interval_ms), 100, 3600000, "2s", false, NULL },
	{ "check_timeout", &ini_type_duration, VS(check_timeout_ms), 10, 3600000, NULL, false, NULL },
	{ "check_rise", &ini_type_uint, VS(check_rise), 1, 100, "2", false, NULL },
	{ "check_fall", &ini_type_uint, VS(check_fall), 1, 100, "3", false, NULL },
	{ "check_address", &ini_type_host_ipaddr, VS(check_address), 0, 0, NULL, false, NULL },
	{ "check_source", &ini_type_host_ipaddr, VS(check_source), 0, 0, NULL, false, NULL },
	{ "check_port", &port_type, VS(check_port), 0, 0, NULL, false, NULL },
	{ "check_path", &http_path_type, VS(check_path), 0, 0, "/", false, NULL },
	{ "check_host", &http_host_type, VS(check_host), 0, 0, NULL, false, NULL },
	{ "check_status", &status_type, WHOLE, 0, 0, "200-399", false, NULL },
	{ "check_body", &ini_type_string, VS(check_body), 0, 0, NULL, false, NULL },
	{ "check_ca_file", &tls_ca_file_type, VS(check_ca_file), 0, 0, NULL, false, NULL },
	{ "check_cert_file", &tls_cert_file_type, VS(check_cert_file), 0, 0, NULL, false, NULL },
	{ "check_key_file", &tls_key_file_type, VS(check_key_file), 0, 0, NULL, false, NULL },
	{ "check_command", &ini_type_string, VS(check_command), 0, 0, NULL, false, NULL },
	{ "check_dynamic_weight", &ini_type_bool, VS(check_dynamic_weight), 0, 0, "no", false, NULL },
	{ "agent_port", &port_type, VS(agent_port), 0, 0, "5555", false, NULL },
	{ "agent_interval", &ini_type_duration, VS(agent_interval_ms), 100, 3600000, NULL, false, NULL },
	END,
};

/* ---- checks across keys and sections ---- */

struct vs_ctx {
	struct director_config *cfg;
	const struct ini_doc *doc;
	struct ini_diag *diag;
	char sec[128];			/* "virtual_server NAME" */
};

#define ERR(c, key, ...) ini_doc_error((c)->diag, (c)->doc, (c)->sec, (key), __VA_ARGS__)
/* At the nth value of key: a real server's own real_server line. */
#define ERR_AT(c, key, nth, ...) ini_doc_error_nth((c)->diag, (c)->doc, (c)->sec, (key), (nth), __VA_ARGS__)

/* Where a real server was written: its real_server line, or the list. */
static const char *rs_key(const struct real_server_conf *rs)
{
	return rs->line_nth ? "real_server" : "real_servers";
}

static size_t rs_nth(const struct real_server_conf *rs)
{
	return rs->line_nth ? rs->line_nth - 1 : 0;
}

static unsigned rs_line(const struct vs_ctx *c, const struct real_server_conf *rs)
{
	return ini_doc_line_nth(c->doc, c->sec, rs_key(rs), rs_nth(rs));
}

static int service_family(const struct virtual_server_conf *vs)
{
	if (vs->address.addr.family)
		return vs->address.addr.family;
	return vs->family ? vs->family : AF_INET;
}

static const char *family_name(int af)
{
	return af == AF_INET6 ? "IPv6" : "IPv4";
}

/* A program named by its path must not be writable by others. */
static void check_command_path(struct vs_ctx *c, const char *key, size_t nth, const char *about,
			       const char *command)
{
	char err[256];

	if (command_check_private(command, err, sizeof(err)) < 0)
		ERR_AT(c, key, nth, "%s%s%s", about ? about : "", about ? ": " : "", err);
}

static void check_identity(struct vs_ctx *c, struct virtual_server_conf *vs)
{
	bool has_addr = vs->address.addr.family != 0;

	if (!has_addr && !vs->fwmark)
		ERR(c, "address", "missing: give address (ADDRESS:PORT) or fwmark");
	if (has_addr && vs->fwmark)
		ERR(c, "fwmark", "give either address or fwmark, not both");
	if (vs->family && !vs->fwmark)
		ERR(c, "family", "only with fwmark (an address service has its address's family)");
	if (vs->protocol && vs->fwmark)
		ERR(c, "protocol", "not with fwmark: the mark selects the packets, whatever their protocol");
	/* Filled in here, so that what is printed is explicit. */
	if (vs->fwmark && !has_addr && !vs->family)
		vs->family = AF_INET;
	if (!vs->fwmark && !vs->protocol)
		vs->protocol = IPPROTO_TCP;
}

static void check_persistence(struct vs_ctx *c, struct virtual_server_conf *vs)
{
	if (vs->persistence_timeout_ms % 1000 != 0)
		ERR(c, "persistence_timeout", "IPVS counts whole seconds");
	if (vs->persistence_netmask && !vs->persistence_timeout_ms)
		ERR(c, "persistence_netmask", "only with persistence_timeout");
	if (vs->persistence_netmask > 32 && service_family(vs) == AF_INET)
		ERR(c, "persistence_netmask", "an IPv4 prefix length is 1 to 32");
	/* IPVS schedules every UDP datagram alone; other protocols have
	 * connections. A fwmark service applies it to its UDP packets. */
	if (vs->one_packet && vs->protocol != IPPROTO_UDP && !vs->fwmark)
		ERR(c, "one_packet", "only for protocol = udp (or a fwmark service)");
}

/* Forwarding rules of one destination (a real server or the sorry server). */
/* A destination's name, for messages only: formatting every server's
 * name cost a quarter of the time a 10,000-service file took to check. */
static const char *dest_name(const struct ipaddr *a, uint16_t port, char *buf)
{
	return endpoint_name(a, port, buf, RS_NAME_MAX);
}

static void check_dest(struct vs_ctx *c, const struct virtual_server_conf *vs, const char *key, size_t nth,
		       const struct ipaddr *addr, uint16_t port, uint32_t fwd)
{
	int af = service_family(vs);
	char name[RS_NAME_MAX];

	/* IPVS forwards to the other family only inside a tunnel. */
	if (addr->family != af && fwd != IP_VS_CONN_F_TUNNEL)
		ERR_AT(c, key, nth, "%s: an %s server for an %s service needs method=tun", dest_name(addr, port, name),
		       family_name(addr->family), family_name(af));
	/* DR and tunnels do not rewrite the packet: its port stays the VIP's. */
	if (!vs->fwmark && fwd != IP_VS_CONN_F_MASQ && port != vs->address.port)
		ERR_AT(c, key, nth, "%s: with method %s the port must be the service's (%u); only nat changes it",
		       dest_name(addr, port, name), word_name(methods, (int)fwd), vs->address.port);
}

static bool check_is_http(const struct virtual_server_conf *vs)
{
	return vs->check == LVS_CHECK_HTTP || vs->check == LVS_CHECK_HTTPS;
}

static bool check_needs_port(const struct virtual_server_conf *vs)
{
	return vs->check == LVS_CHECK_TCP || check_is_http(vs);
}

/* The servers are in file order (both keys append as they are read), so
 * the second of two equal ones is reported, at its line. */
static void check_rs_unique(struct vs_ctx *c, const struct virtual_server_conf *vs, size_t i)
{
	const struct real_server_conf *rs = &vs->real_servers.items[i];
	char name[RS_NAME_MAX];

	for (size_t j = 0; j < i; j++) {
		const struct real_server_conf *o = &vs->real_servers.items[j];

		if (ipaddr_equal(&o->addr, &rs->addr) && o->port == rs->port) {
			ERR_AT(c, rs_key(rs), rs_nth(rs), "%s is listed twice (first at line %u)",
			       real_server_name(rs, name, sizeof(name)), rs_line(c, o));
			return;
		}
	}
}

static void check_real_server(struct vs_ctx *c, struct virtual_server_conf *vs, size_t i)
{
	struct real_server_conf *rs = &vs->real_servers.items[i];
	const char *key = rs_key(rs);
	size_t nth = rs_nth(rs);
	char name[RS_NAME_MAX];

	if (!rs->port && !vs->fwmark)
		rs->port = vs->address.port;
	if (rs->fwd == LVS_FWD_UNSET)
		rs->fwd = vs->default_fwd;
	check_dest(c, vs, key, nth, &rs->addr, rs->port, rs->fwd);
	check_rs_unique(c, vs, i);
	if (check_needs_port(vs) && !rs->port && !rs->check.port && !vs->check_port)
		ERR_AT(c, key, nth, "%s: no port to check: give the server a port or set check_port",
		       real_server_name(rs, name, sizeof(name)));
	if (rs->check.command && vs->check != LVS_CHECK_SCRIPT)
		ERR_AT(c, key, nth, "%s: check_command is for check = script", real_server_name(rs, name, sizeof(name)));
	if ((rs->check.path || rs->check.host) && !check_is_http(vs))
		ERR_AT(c, key, nth, "%s: check_path and check_host are for check = http or https",
		       real_server_name(rs, name, sizeof(name)));
	if (rs->check.command)
		check_command_path(c, key, nth, real_server_name(rs, name, sizeof(name)), rs->check.command);
}

/* One of the two keys is needed; a key given but refused was reported. */
static void check_has_servers(struct vs_ctx *c, const struct virtual_server_conf *vs)
{
	if (vs->real_servers.n || ini_doc_line(c->doc, c->sec, "real_servers") ||
	    ini_doc_line(c->doc, c->sec, "real_server"))
		return;
	ERR(c, "real_servers", "missing required key: give real_server lines (one server each) or a "
	    "real_servers list");
}

static void check_sorry(struct vs_ctx *c, struct virtual_server_conf *vs)
{
	if (!vs->sorry_server.addr.family)
		return;
	if (!vs->sorry_server.port && !vs->fwmark)
		vs->sorry_server.port = vs->address.port;
	if (vs->sorry_fwd == LVS_FWD_UNSET)
		vs->sorry_fwd = vs->default_fwd;
	check_dest(c, vs, "sorry_server", 0, &vs->sorry_server.addr, vs->sorry_server.port, vs->sorry_fwd);
}

static bool sync_group_exists(const struct director_config *cfg, const char *name)
{
	for (const struct sync_group_conf *g = cfg->sync_groups; g; g = g->next)
		if (strcasecmp(g->name, name) == 0)
			return true;
	return false;
}

static uint64_t min_ms(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The files were read and checked one by one as their keys were parsed. */
static void check_tls(struct vs_ctx *c, const struct virtual_server_conf *vs)
{
	static const char *const keys[] = { "check_ca_file", "check_cert_file", "check_key_file" };
	const struct tls_pem_file *files[] = { &vs->check_ca_file, &vs->check_cert_file, &vs->check_key_file };
	char err[PARSE_ERR_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (files[i]->path && vs->check != LVS_CHECK_HTTPS)
			ERR(c, keys[i], "only with check = https");
	if (vs->check_cert_file.path && !vs->check_key_file.path)
		ERR(c, "check_cert_file", "needs check_key_file (the certificate's private key)");
	if (vs->check_key_file.path && !vs->check_cert_file.path)
		ERR(c, "check_key_file", "needs check_cert_file (the key's certificate)");
	if (vs->check_cert_file.pem && vs->check_key_file.pem &&
	    tls_pem_pair_check(vs->check_cert_file.pem, vs->check_key_file.pem, err) < 0)
		ERR(c, "check_key_file", "%s (%s)", err, vs->check_cert_file.path);
}

/* The address a check leaves from: one of the director's own, of the
 * family every probe goes to, and never a VIP (a real server holding the
 * VIP on lo would answer its own loopback: every check would time out). */
/* The [vrrp] instance whose virtual_ipaddress holds addr, or NULL. */
static const struct vrrp_conf *vrrp_holding(const struct director_config *cfg, const struct ipaddr *addr)
{
	for (const struct vrrp_conf *v = cfg->instances; v; v = v->next)
		for (size_t j = 0; j < v->vips.n; j++)
			if (ipaddr_equal(&v->vips.items[j].addr, addr))
				return v;
	return NULL;
}

static void check_source(struct vs_ctx *c, const struct virtual_server_conf *vs)
{
	const struct ipaddr *src = &vs->check_source;
	const struct vrrp_conf *v;
	char buf[INET6_ADDRSTRLEN];

	if (!src->family)
		return;
	if ((v = vrrp_holding(c->cfg, src))) {
		ERR(c, "check_source", "%s is a VIP of [vrrp %s]: checks must leave from the director's own address",
		    ipaddr_ntop(src, buf, sizeof(buf)), v->name);
		return;
	}
	for (size_t i = 0; i < vs->real_servers.n; i++) {
		const struct real_server_conf *rs = &vs->real_servers.items[i];
		const struct ipaddr *to = rs->check.address.family ? &rs->check.address :
					  vs->check_address.family ? &vs->check_address : &rs->addr;

		if (vs->check != LVS_CHECK_SCRIPT || vs->check_agent)
			if (to->family != src->family) {
				ERR(c, "check_source", "%s, but real server %s is checked over %s",
				    family_name(src->family), ipaddr_ntop(&rs->addr, buf, sizeof(buf)),
				    family_name(to->family));
				return;
			}
	}
}

static void check_health(struct vs_ctx *c, struct virtual_server_conf *vs)
{
	bool agent = vs->check == LVS_CHECK_AGENT || vs->check_agent;

	if (vs->agent_interval_ms == 0)
		vs->agent_interval_ms = vs->check_interval_ms;
	/* The agent's probes have the same timeout: it must fit both. */
	if (vs->check_timeout_ms == 0) {
		vs->check_timeout_ms = min_ms(1000, vs->check_interval_ms);
		if (agent)
			vs->check_timeout_ms = min_ms(vs->check_timeout_ms, vs->agent_interval_ms);
	} else if (vs->check_timeout_ms > vs->check_interval_ms) {
		ERR(c, "check_timeout", "must not be longer than check_interval");
	} else if (agent && vs->check_timeout_ms > vs->agent_interval_ms) {
		ERR(c, "check_timeout", "must not be longer than agent_interval (the agent's probes use it too)");
	}
	if (vs->check == LVS_CHECK_SCRIPT && !vs->check_command)
		ERR(c, "check_command", "required with check = script");
	if (vs->check != LVS_CHECK_SCRIPT && vs->check_command)
		ERR(c, "check_command", "only with check = script");
	if (vs->check_dynamic_weight && vs->check != LVS_CHECK_SCRIPT)
		ERR(c, "check_dynamic_weight", "only with check = script");
	check_command_path(c, "check_command", 0, NULL, vs->check_command);
	check_tls(c, vs);
	check_source(c, vs);
}

/* An announced VIP is added to announce_interface and taken away by
 * directord as its services decide: a VRRP instance holding it too, or a
 * service on it that is not announced, would have it withdrawn (or held)
 * under the other's feet, and a VIP cannot be both on every director and
 * on the VRRP master alone. */
static void check_announced_vip_alone(struct vs_ctx *c, const struct virtual_server_conf *vs)
{
	const struct ipaddr *vip = &vs->address.addr;
	const struct vrrp_conf *v;
	char buf[INET6_ADDRSTRLEN];

	if (vs->fwmark || !vip->family)
		return;
	if ((v = vrrp_holding(c->cfg, vip))) {
		ERR(c, "announce", "%s is also in [vrrp %s] virtual_ipaddress: a VIP is either announced or "
		    "held by a VRRP master", ipaddr_ntop(vip, buf, sizeof(buf)), v->name);
		return;
	}
	for (const struct virtual_server_conf *o = c->cfg->lvs.services; o; o = o->next)
		if (!o->announce && !o->fwmark && ipaddr_equal(&o->address.addr, vip)) {
			ERR(c, "announce", "%s is also the address of [virtual_server %s], which is not announced: "
			    "every service on an announced VIP must be announced", ipaddr_ntop(vip, buf, sizeof(buf)),
			    o->name);
			return;
		}
}

/* An announced service is routed to this director while it has quorum;
 * following a VRRP instance too would make two masters of its VIP. */
static void check_announce(struct vs_ctx *c, const struct virtual_server_conf *vs)
{
	if (!vs->announce)
		return;
	if (vs->vrrp)
		ERR(c, "announce", "not with vrrp = %s: an announced service is routed to every director "
		    "that has quorum, not held by a VRRP master", vs->vrrp);
	if (vs->fwmark)
		ERR(c, "announce", "only an address service can be announced: a fwmark service has no "
		    "address to route");
	check_announced_vip_alone(c, vs);
}

/* An announced service is reached through any of several directors:
 * what is not given defaults to what sends a flow to the same real
 * server on each of them (director.ini(5), ANNOUNCED SERVICES): mh
 * hashing the client's address and port, falling back past a server at
 * weight 0; a failed server at weight 0, which leaves mh's table as it
 * is, rather than removed, which rebuilds it. */
static void announced_defaults(struct vs_ctx *c, struct virtual_server_conf *vs)
{
	char err[PARSE_ERR_MAX];

	if (!vs->announce)
		return;
	/* A scheduler given is kept: check_traps says what it costs. */
	if (!ini_doc_line(c->doc, c->sec, "scheduler")) {
		if (dup_string(&vs->scheduler, "mh", err) < 0)
			ERR(c, "scheduler", "%s", err);
		if (!ini_doc_line(c->doc, c->sec, "scheduler_flags"))
			vs->scheduler_flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2;
	}
	if (!ini_doc_line(c->doc, c->sec, "inhibit_on_failure"))
		vs->inhibit_on_failure = true;
}

static void check_service(struct vs_ctx *c, struct virtual_server_conf *vs)
{
	snprintf(c->sec, sizeof(c->sec), "virtual_server %s", vs->name);
	check_identity(c, vs);
	announced_defaults(c, vs);
	check_persistence(c, vs);
	/* Before the servers: their port checks need check and check_port. */
	check_health(c, vs);
	check_has_servers(c, vs);
	for (size_t i = 0; i < vs->real_servers.n; i++)
		check_real_server(c, vs, i);
	check_sorry(c, vs);
	if (vs->quorum_hysteresis > vs->quorum)
		ERR(c, "quorum_hysteresis", "must not be larger than quorum (%u)", vs->quorum);
	if (vs->vrrp && !director_config_instance(c->cfg, vs->vrrp) && !sync_group_exists(c->cfg, vs->vrrp))
		ERR(c, "vrrp", "no [vrrp %s] or [sync_group %s] section", vs->vrrp, vs->vrrp);
	check_announce(c, vs);
}

struct svc_slot {
	struct ipvs_service key;
	const struct virtual_server_conf *vs;
	size_t index;
};

/* By service key, then file order, so the first of equals comes first. */
static int slot_cmp(const void *a, const void *b)
{
	const struct svc_slot *x = a, *y = b;
	int d = lvs_service_cmp(&x->key, &y->key);

	return d ? d : (x->index > y->index) - (x->index < y->index);
}

/* Two sections for one kernel service would fight over it. Sorted, since
 * there may be tens of thousands. */
static void check_unique_services(struct vs_ctx *c)
{
	const struct lvs_config *lvs = &c->cfg->lvs;
	struct svc_slot *slots = calloc(lvs->nservices ? lvs->nservices : 1, sizeof(*slots));
	size_t n = 0;

	if (!slots) {
		ini_doc_error(c->diag, c->doc, NULL, NULL, "out of memory");
		return;
	}
	for (const struct virtual_server_conf *vs = lvs->services; vs; vs = vs->next) {
		if (!vs->address.addr.family && !vs->fwmark)
			continue;	/* already reported */
		virtual_server_key(vs, &slots[n].key);
		slots[n].vs = vs;
		slots[n].index = n;
		n++;
	}
	qsort(slots, n, sizeof(*slots), slot_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (lvs_service_cmp(&slots[first].key, &slots[i].key) != 0) {
			first = i;
			continue;
		}
		snprintf(c->sec, sizeof(c->sec), "virtual_server %s", slots[i].vs->name);
		ERR(c, slots[i].vs->fwmark ? "fwmark" : "address", "the same service as [virtual_server %s]",
		    slots[first].vs->name);
	}
	free(slots);
}

/* ---- [global] ipvs_sync_* and ipvs_timeout_* ---- */

#define GERR(c, key, ...) ini_doc_error((c)->diag, (c)->doc, "global", (key), __VA_ARGS__)

/* The keys that mean nothing without an interface, when given. */
static void check_sync_unused(struct vs_ctx *c)
{
	static const char *const keys[] = { "ipvs_sync_follow", "ipvs_sync_id", "ipvs_sync_group", "ipvs_sync_maxlen" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (ini_doc_line(c->doc, "global", keys[i]))
			GERR(c, keys[i], "only with ipvs_sync_interface (no sync daemon runs without one)");
}

/* The followed instance's virtual_router_id (a sync group's first
 * instance's), as keepalived takes its sync id; 0 when there is none. */
static unsigned followed_vrid(const struct director_config *cfg, const char *follow)
{
	const struct vrrp_conf *v = director_config_instance(cfg, follow);

	for (const struct sync_group_conf *g = cfg->sync_groups; !v && g; g = g->next)
		if (strcasecmp(g->name, follow) == 0 && g->instances.n)
			v = director_config_instance(cfg, g->instances.items[0]);
	return v ? v->vrid : 0;
}

static void check_sync(struct vs_ctx *c)
{
	struct lvs_sync_conf *sc = &c->cfg->lvs.sync;
	char a[INET6_ADDRSTRLEN];

	if (!sc->interface) {
		check_sync_unused(c);
		return;
	}
	if (!ifname_valid(sc->interface) || strlen(sc->interface) >= IPVS_IFNAME_MAX)
		GERR(c, "ipvs_sync_interface", "'%s' is not an interface name", sc->interface);
	if (sc->mode == LVS_SYNC_BOTH) {
		if (sc->follow)
			GERR(c, "ipvs_sync_follow", "not with ipvs_sync_mode = both: the master and the backup "
			     "daemons both run, whatever the VRRP states");
	} else if (!sc->follow)
		GERR(c, "ipvs_sync_interface", "needs ipvs_sync_follow: the [vrrp NAME] or [sync_group NAME] whose "
		     "MASTER state makes this director the sync master");
	else if (!director_config_instance(c->cfg, sc->follow) && !sync_group_exists(c->cfg, sc->follow))
		GERR(c, "ipvs_sync_follow", "no [vrrp %s] or [sync_group %s] section", sc->follow, sc->follow);
	else if (!sc->sync_id.set && followed_vrid(c->cfg, sc->follow)) {
		/* Filled in here, so that what is printed is explicit. */
		sc->sync_id.set = true;
		sc->sync_id.value = followed_vrid(c->cfg, sc->follow);
	}
	if (sc->group.family && (sc->group.has_prefix || !ipvs_group_is_multicast(&sc->group)))
		GERR(c, "ipvs_sync_group", "%s is not a multicast address (224.0.0.0/4 or ff00::/8)",
		     ipaddr_ntop(&sc->group, a, sizeof(a)));
}

/* [global] announce_*: the kernel's own tables are not ours to fill. */
static void check_announce_global(struct vs_ctx *c)
{
	const struct lvs_announce_conf *a = &c->cfg->lvs.announce;

	if (a->interface && (!ifname_valid(a->interface) || strlen(a->interface) >= IF_NAMESIZE))
		GERR(c, "announce_interface", "'%s' is not an interface name", a->interface);
	if (a->table >= 253 && a->table <= 255)
		GERR(c, "announce_table", "%u is the kernel's %s table: give a table of its own (default 222)",
		     a->table, a->table == 253 ? "default" : a->table == 254 ? "main" : "local");
}

static void check_timeouts(struct vs_ctx *c)
{
	const struct lvs_timeouts_conf *t = &c->cfg->lvs.timeouts;

	if (t->tcp_ms % 1000)
		GERR(c, "ipvs_timeout_tcp", "IPVS counts whole seconds");
	if (t->tcp_fin_ms % 1000)
		GERR(c, "ipvs_timeout_tcp_fin", "IPVS counts whole seconds");
	if (t->udp_ms % 1000)
		GERR(c, "ipvs_timeout_udp", "IPVS counts whole seconds");
}

bool lvs_sync_daemon_conf(const struct lvs_config *lvs, uint32_t state, struct ipvs_daemon *out)
{
	const struct lvs_sync_conf *sc = &lvs->sync;

	memset(out, 0, sizeof(*out));
	if (!sc->interface)
		return false;
	out->state = state;
	strlcpy_safe(out->ifname, sc->interface, sizeof(out->ifname));
	out->sync_id = sc->sync_id.value;
	out->group = sc->group;
	out->group.has_prefix = false;
	out->port = (uint16_t)sc->port;
	out->ttl = (uint8_t)sc->ttl;
	out->maxlen = sc->maxlen.set ? (uint16_t)sc->maxlen.value : 0;
	return true;
}

bool lvs_timeouts_conf(const struct lvs_config *lvs, struct ipvs_timeouts *out)
{
	out->tcp = (uint32_t)(lvs->timeouts.tcp_ms / 1000);
	out->tcp_fin = (uint32_t)(lvs->timeouts.tcp_fin_ms / 1000);
	out->udp = (uint32_t)(lvs->timeouts.udp_ms / 1000);
	return out->tcp || out->tcp_fin || out->udp;
}

/* The kernel's defaults, as ipvs-sysctl.rst gives them. */
const struct lvs_sysctl_def lvs_sysctl_defs[LVS_SYSCTL_N] = {
	[LVS_SYSCTL_EXPIRE_NODEST_CONN] = { "expire_nodest_conn", "ipvs_expire_nodest_conn", 0 },
	[LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE] = { "expire_quiescent_template", "ipvs_expire_quiescent_template", 0 },
	[LVS_SYSCTL_SLOPPY_TCP] = { "sloppy_tcp", "ipvs_sloppy_tcp", 0 },
	[LVS_SYSCTL_SLOPPY_SCTP] = { "sloppy_sctp", "ipvs_sloppy_sctp", 0 },
	[LVS_SYSCTL_CONN_REUSE_MODE] = { "conn_reuse_mode", "ipvs_conn_reuse_mode", 1 },
};

bool lvs_config_wanted(const struct lvs_config *lvs)
{
	struct ipvs_timeouts t;

	/* The sysctls alone do not: they matter to services. */
	return lvs->nservices > 0 || lvs->sync.interface || lvs_timeouts_conf(lvs, &t);
}

/* ---- the traps: settings that IPVS takes, and that lose connections
 * when servers come and go. Warnings, not errors: each is a choice an
 * operator may make on purpose (director.ini(5), THE IPVS TRAPS). ---- */

enum trap {
	TRAP_HASH_NO_FALLBACK, TRAP_PERSIST_QUIESCENT, TRAP_NODEST,
	/* announced services: what sends a flow to another real server when
	 * it reaches another director */
	TRAP_ANNOUNCE_SCHEDULER, TRAP_ANNOUNCE_PERSISTENCE, TRAP_ANNOUNCE_REMOVAL, TRAP_ANNOUNCE_NO_PORT,
	TRAP_ANNOUNCE_SLOPPY, TRAP_N
};

/* Past this many services with one trap, the rest are counted. */
#define TRAP_SHOWN_MAX 5

struct trap_ctx {
	struct vs_ctx *c;
	struct ini_diag warn;
	unsigned count[TRAP_N];
};

/* What can put one of its servers at weight 0 by itself (directorctl
 * drain can, always: the manual says so). */
static const char *zero_weight_cause(const struct virtual_server_conf *vs)
{
	if (vs->inhibit_on_failure)
		return "inhibit_on_failure";
	if (vs->check == LVS_CHECK_AGENT || vs->check_agent)
		return "the agent's drain or 0%";
	if (vs->check == LVS_CHECK_SCRIPT && vs->check_dynamic_weight)
		return "check_dynamic_weight";
	for (size_t i = 0; i < vs->real_servers.n; i++)
		if (vs->real_servers.items[i].weight == 0)
			return "a server at weight=0";
	return NULL;
}

/* What takes one of its servers out of the table by itself (a reload that
 * drops one does too, whatever the service). */
static const char *removal_cause(const struct virtual_server_conf *vs)
{
	if (vs->check == LVS_CHECK_AGENT || vs->check_agent)
		return "the agent's maint";	/* out even with inhibit_on_failure */
	if (vs->check != LVS_CHECK_NONE && !vs->inhibit_on_failure)
		return "a failed check without inhibit_on_failure";
	return NULL;
}

static bool sysctl_is(const struct director_config *cfg, enum lvs_sysctl s, unsigned v)
{
	return cfg->lvs.sysctl[s].set && cfg->lvs.sysctl[s].value == v;
}

static void trap_in(struct trap_ctx *t, enum trap which, const char *sec, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* At sec.key's line (the section's when the key is not given). */
static void trap_in(struct trap_ctx *t, enum trap which, const char *sec, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (t->count[which]++ >= TRAP_SHOWN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ini_doc_error(&t->warn, t->c->doc, sec, key, "warning: %s", msg);
}

#define trap(t, which, key, ...) trap_in((t), (which), (t)->c->sec, (key), __VA_ARGS__)

static bool is_hash_scheduler(const char *sched)
{
	return sched && (strcmp(sched, "mh") == 0 || strcmp(sched, "sh") == 0);
}

static void check_traps_of(struct trap_ctx *t, const struct virtual_server_conf *vs)
{
	const struct director_config *cfg = t->c->cfg;
	const char *zero = zero_weight_cause(vs), *gone = removal_cause(vs);

	if (zero && is_hash_scheduler(vs->scheduler) && !(vs->scheduler_flags & IP_VS_SVC_F_SCHED1))
		trap(t, TRAP_HASH_NO_FALLBACK, "scheduler", "%s without scheduler_flags = %s-fallback, and %s can set a "
		     "server's weight to 0: new connections that hash to it fail", vs->scheduler, vs->scheduler, zero);
	if (zero && vs->persistence_timeout_ms && !sysctl_is(cfg, LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE, 1))
		trap(t, TRAP_PERSIST_QUIESCENT, "persistence_timeout", "%s can set a server's weight to 0, and "
		     "global.ipvs_expire_quiescent_template is not 1: persistent clients keep going to that server",
		     zero);
	if (gone && !sysctl_is(cfg, LVS_SYSCTL_EXPIRE_NODEST_CONN, 1))
		trap(t, TRAP_NODEST, "check", "%s removes servers, and global.ipvs_expire_nodest_conn is not 1: "
		     "their connections are black-holed until they time out", gone);
}

/* An announced service whose settings let directors disagree on a
 * flow's real server (director.ini(5), ANNOUNCED SERVICES). */
static void check_announced_traps_of(struct trap_ctx *t, const struct virtual_server_conf *vs)
{
	bool mh = vs->scheduler && strcmp(vs->scheduler, "mh") == 0;

	if (!vs->announce)
		return;
	if (!mh)
		trap(t, TRAP_ANNOUNCE_SCHEDULER, "scheduler", "announced, and %s is not mh: a flow that reaches "
		     "another director may go to another real server", vs->scheduler ? vs->scheduler : "wlc");
	if (mh && !(vs->scheduler_flags & IP_VS_SVC_F_SCHED2))
		trap(t, TRAP_ANNOUNCE_NO_PORT, "scheduler_flags", "announced, mh without mh-port: mh hashes the "
		     "client's address alone, so all connections of a client (or of a NAT) go to one real server");
	if (vs->persistence_timeout_ms)
		trap(t, TRAP_ANNOUNCE_PERSISTENCE, "persistence_timeout", "announced, with persistence: each "
		     "director keeps its own persistence templates, so a client's connections that reach "
		     "different directors may go to different real servers");
	if (!vs->inhibit_on_failure && vs->check != LVS_CHECK_NONE)
		trap(t, TRAP_ANNOUNCE_REMOVAL, "inhibit_on_failure", "announced, and inhibit_on_failure = no: a "
		     "failed server is removed, which rebuilds the scheduler's table (flows of other servers may "
		     "move), and a director that re-adds it lists it in another order than one that never removed it");
}

/* Once for the file: the sysctl is the namespace's, not a service's. */
static void check_announced_sloppy(struct trap_ctx *t)
{
	const struct director_config *cfg = t->c->cfg;

	if (!sysctl_is(cfg, LVS_SYSCTL_SLOPPY_TCP, 0))
		return;
	for (const struct virtual_server_conf *vs = cfg->lvs.services; vs; vs = vs->next) {
		if (vs->announce && vs->protocol == IPPROTO_TCP) {
			trap_in(t, TRAP_ANNOUNCE_SLOPPY, "global", "ipvs_sloppy_tcp", "announced TCP services "
				"([virtual_server %s]), and ipvs_sloppy_tcp = 0: a director that gets a connection "
				"after its start (another director failed, the router's paths changed) resets it",
				vs->name);
			return;
		}
	}
}

/* The warnings, one a line, into cfg->warnings. */
static void check_traps(struct vs_ctx *c)
{
	static const char *const what[TRAP_N] = {
		"mh or sh without fallback", "persistence with weight-0 servers", "servers removed",
		"announced without mh", "announced with persistence", "announced, servers removed",
		"announced, mh without mh-port", "announced, ipvs_sloppy_tcp = 0",
	};
	struct trap_ctx t = { .c = c };
	struct strbuf sb;

	ini_diag_init(&t.warn);
	for (struct virtual_server_conf *vs = c->cfg->lvs.services; vs; vs = vs->next) {
		snprintf(c->sec, sizeof(c->sec), "virtual_server %s", vs->name);
		check_traps_of(&t, vs);
		check_announced_traps_of(&t, vs);
	}
	check_announced_sloppy(&t);
	sb_init(&sb);
	for (size_t i = 0; i < t.warn.n; i++)
		sb_printf(&sb, "%s\n", t.warn.msgs[i]);
	for (size_t i = 0; i < TRAP_N; i++)
		if (t.count[i] > TRAP_SHOWN_MAX)
			sb_printf(&sb, "%s: warning: %u more virtual servers (%s)\n", ini_doc_path(c->doc),
				  t.count[i] - TRAP_SHOWN_MAX, what[i]);
	ini_diag_free(&t.warn);
	free(c->cfg->warnings);
	c->cfg->warnings = NULL;
	if (!sb.failed && sb_str(&sb)[0])
		c->cfg->warnings = strdup(sb_str(&sb));
	sb_free(&sb);
}

/* A connection's packets may reach a director that did not see its
 * start (another director failed, the router's paths changed): with
 * sloppy_tcp IPVS schedules it from any packet, instead of leaving it to
 * the director's own stack, which resets it.
 * Filled in when not given, so that -t -v prints it. */
static void announced_sloppy_tcp(struct director_config *cfg)
{
	struct opt_uint *sloppy = &cfg->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP];

	for (const struct virtual_server_conf *vs = cfg->lvs.services; vs && !sloppy->set; vs = vs->next) {
		if (vs->announce) {
			sloppy->set = true;
			sloppy->value = 1;
		}
	}
}

void lvs_config_check(struct director_config *cfg, const struct ini_doc *doc, struct ini_diag *diag)
{
	struct vs_ctx c = { .cfg = cfg, .doc = doc, .diag = diag };

	check_sync(&c);
	check_announce_global(&c);
	check_timeouts(&c);

	if (cfg->lvs.nservices > LVS_MAX_SERVICES)
		ini_doc_error(diag, doc, NULL, NULL, "%zu virtual servers, at most %d", cfg->lvs.nservices,
			      LVS_MAX_SERVICES);
	cfg->lvs.nannounced = 0;
	for (struct virtual_server_conf *vs = cfg->lvs.services; vs; vs = vs->next) {
		check_service(&c, vs);
		cfg->lvs.nannounced += vs->announce;
	}
	announced_sloppy_tcp(cfg);
	check_unique_services(&c);
	check_traps(&c);
}

/* ---- what the engine takes from a virtual server ---- */

void virtual_server_key(const struct virtual_server_conf *vs, struct ipvs_service *out)
{
	memset(out, 0, sizeof(*out));
	out->af = service_family(vs);
	out->fwmark = vs->fwmark;
	if (!vs->fwmark) {
		out->protocol = (uint16_t)vs->protocol;
		out->addr = vs->address.addr;
		out->port = vs->address.port;
	}
	strlcpy_safe(out->sched, vs->scheduler ? vs->scheduler : "wlc", sizeof(out->sched));
	out->flags = vs->scheduler_flags & (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3);
	if (vs->one_packet)
		out->flags |= IP_VS_SVC_F_ONEPACKET;
	if (vs->persistence_timeout_ms) {
		out->flags |= IP_VS_SVC_F_PERSISTENT;
		out->timeout = (uint32_t)(vs->persistence_timeout_ms / 1000);
		out->netmask = vs->persistence_netmask;
	}
}

void real_server_dest(const struct virtual_server_conf *vs, const struct real_server_conf *rs, int weight,
		      struct ipvs_dest *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = rs->addr;
	/* Loading fills both in; structs built by hand may leave them. */
	out->port = (rs->port || vs->fwmark) ? rs->port : vs->address.port;
	out->fwd = rs->fwd == LVS_FWD_UNSET ? vs->default_fwd : rs->fwd;
	out->weight = weight;
	out->u_threshold = rs->u_threshold;
	out->l_threshold = rs->l_threshold;
}

const char *real_server_name(const struct real_server_conf *rs, char *buf, size_t size)
{
	return endpoint_name(&rs->addr, rs->port, buf, size);
}

const struct real_server_conf *virtual_server_find_rs(const struct virtual_server_conf *vs, const char *name)
{
	const struct real_server_conf *found = NULL;
	char err[PARSE_ERR_MAX];
	struct ipendpoint ep;

	if (!name || parse_ipendpoint(name, false, &ep, err) < 0)
		return NULL;
	for (size_t i = 0; i < vs->real_servers.n; i++) {
		const struct real_server_conf *rs = &vs->real_servers.items[i];

		if (!ipaddr_equal(&rs->addr, &ep.addr))
			continue;
		if (ep.port && rs->port == ep.port)
			return rs;
		if (!ep.port) {
			if (found)	/* the address alone is ambiguous */
				return NULL;
			found = rs;
		}
	}
	return found;
}
