/* The value types of director.ini that common/ini.c does not have:
 * VIP entries, routes, track references, signed integers. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* ---- value types ---- */

static const struct ini_enum scopes[] = {
	{ "global", RT_SCOPE_UNIVERSE }, { "site", RT_SCOPE_SITE }, { "link", RT_SCOPE_LINK },
	{ "host", RT_SCOPE_HOST }, { "nowhere", RT_SCOPE_NOWHERE }, { NULL, 0 },
};

static const char *scope_name(int scope)
{
	for (const struct ini_enum *e = scopes; e->name; e++)
		if (e->value == scope)
			return e->name;
	return "global";
}

bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < IF_NAMESIZE && !strchr(s, '/') && !strchr(s, ' ') && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

/* The option after ADDR in a virtual_ipaddress entry. */
static int vip_option(struct vip_conf *v, const char *word, const char *arg, char *err)
{
	if (!arg) {
		snprintf(err, PARSE_ERR_MAX, "'%s' needs a value", word);
		return -EINVAL;
	}
	if (strcmp(word, "brd") == 0)
		return parse_ipaddr(arg, &v->brd, err);
	if (strcmp(word, "label") == 0 || strcmp(word, "dev") == 0) {
		char *dst = word[0] == 'l' ? v->label : v->dev;

		if (!ifname_valid(arg)) {
			snprintf(err, PARSE_ERR_MAX, "%s '%s' is not an interface name", word, arg);
			return -EINVAL;
		}
		strlcpy_safe(dst, arg, IF_NAMESIZE);
		return 0;
	}
	if (strcmp(word, "scope") == 0) {
		for (const struct ini_enum *e = scopes; e->name; e++) {
			if (strcmp(e->name, arg) == 0) {
				v->scope = e->value;
				return 0;
			}
		}
		snprintf(err, PARSE_ERR_MAX, "scope '%s': expected global, site, link, host or nowhere", arg);
		return -EINVAL;
	}
	snprintf(err, PARSE_ERR_MAX, "unknown option '%s' (expected brd, label, scope or dev)", word);
	return -EINVAL;
}

int vip_conf_parse(const char *text, struct vip_conf *out, char *err)
{
	char buf[256], *words[9];
	int n, ret;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, PARSE_ERR_MAX, "entry too long");
		return -EINVAL;
	}
	strlcpy_safe(buf, text, sizeof(buf));
	n = split_list(buf, words, 9);
	if (n <= 0) {
		snprintf(err, PARSE_ERR_MAX, n == 0 ? "empty entry" : "too many words in one entry");
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->scope = RT_SCOPE_UNIVERSE;
	ret = parse_ipaddr(words[0], &out->addr, err);
	if (ret < 0)
		return ret;
	for (int i = 1; i < n; i += 2) {
		ret = vip_option(out, words[i], i + 1 < n ? words[i + 1] : NULL, err);
		if (ret < 0)
			return ret;
	}
	if (out->brd.family && out->addr.family != AF_INET) {
		snprintf(err, PARSE_ERR_MAX, "brd is for IPv4 addresses (IPv6 has no broadcast)");
		return -EINVAL;
	}
	if (out->brd.family && out->brd.family != out->addr.family) {
		snprintf(err, PARSE_ERR_MAX, "brd is not of the address's family");
		return -EINVAL;
	}
	return 0;
}

/* ---- comma-separated lists of items ----
 * virtual_ipaddress, virtual_routes and the track_* keys are one shape:
 * items separated by commas, each parsed by its own function into an
 * array of { items, n } (common/parse.c parse_items). */

static void items_print(const struct item_list_spec *spec, const void *items, size_t n, struct strbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_append(out, ", ");
		spec->print((const unsigned char *)items + i * spec->item_size, out);
	}
}

static int vip_item_parse(const char *text, void *item, char *err)
{
	return vip_conf_parse(text, item, err);
}

static void vip_item_print(const void *item, struct strbuf *out)
{
	const struct vip_conf *v = item;
	char buf[INET6_ADDRSTRLEN];

	sb_printf(out, "%s/%u", ipaddr_ntop(&v->addr, buf, sizeof(buf)), v->addr.prefixlen);
	if (v->brd.family)
		sb_printf(out, " brd %s", ipaddr_ntop(&v->brd, buf, sizeof(buf)));
	if (v->label[0])
		sb_printf(out, " label %s", v->label);
	if (v->scope != RT_SCOPE_UNIVERSE)
		sb_printf(out, " scope %s", scope_name(v->scope));
	if (v->dev[0])
		sb_printf(out, " dev %s", v->dev);
}

static const struct item_list_spec vip_items = {
	sizeof(struct vip_conf), DIR_MAX_VIPS_PER_INSTANCE, true, "addresses", "no address given", true,
	vip_item_parse, vip_item_print,
};

static int vip_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct vip_list *list = field;
	void *items;
	int ret = parse_items(&vip_items, value, &items, &list->n, err);

	(void)key;
	if (ret == 0)
		list->items = items;
	return ret;
}

static void vip_list_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct vip_list *list = field;

	(void)key;
	items_print(&vip_items, list->items, list->n, out);
}

static void vip_list_free(void *field)
{
	struct vip_list *list = field;

	free(list->items);
	list->items = NULL;
	list->n = 0;
}

const struct ini_type vip_list_type = {
	.name = "address list", .parse = vip_list_parse, .print = vip_list_print, .free = vip_list_free,
	.comma_list = true,
};

/* ---- virtual_routes ---- */

static const struct ini_enum route_types[] = {
	{ "blackhole", RTN_BLACKHOLE }, { "unreachable", RTN_UNREACHABLE }, { "prohibit", RTN_PROHIBIT },
	{ NULL, 0 },
};

static const char *route_type_name(int type)
{
	for (const struct ini_enum *e = route_types; e->name; e++)
		if (e->value == type)
			return e->name;
	return NULL;
}

static bool route_type_name_to(const char *w, int *type)
{
	for (const struct ini_enum *e = route_types; e->name; e++) {
		if (strcmp(w, e->name) == 0) {
			*type = e->value;
			return true;
		}
	}
	return false;
}

static int route_number(const char *word, const char *arg, long long max, unsigned *out, char *err)
{
	long long v;

	if (parse_int_range(arg, word[0] == 't' ? 1 : 0, max, &v, err) < 0) {
		char why[PARSE_ERR_MAX];

		strlcpy_safe(why, err, sizeof(why));
		snprintf(err, PARSE_ERR_MAX, "%s: %.120s", word, why);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* The option after DEST in a virtual_routes entry. */
static int route_option(struct route_conf *r, const char *word, const char *arg, char *err)
{
	if (!arg) {
		snprintf(err, PARSE_ERR_MAX, "'%s' needs a value", word);
		return -EINVAL;
	}
	if (strcmp(word, "via") == 0 || strcmp(word, "src") == 0) {
		struct ipaddr *a = word[0] == 'v' ? &r->via : &r->src;

		if (parse_ipaddr(arg, a, err) < 0)
			return -EINVAL;
		if (a->has_prefix) {
			snprintf(err, PARSE_ERR_MAX, "%s takes an address without a prefix length", word);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(word, "dev") == 0) {
		if (!ifname_valid(arg)) {
			snprintf(err, PARSE_ERR_MAX, "dev '%s' is not an interface name", arg);
			return -EINVAL;
		}
		strlcpy_safe(r->dev, arg, sizeof(r->dev));
		return 0;
	}
	if (strcmp(word, "metric") == 0)
		return route_number(word, arg, UINT32_MAX, &r->metric, err);
	if (strcmp(word, "table") == 0) {
		if (strcmp(arg, "main") == 0) {
			r->table = 0;
			return 0;
		}
		return route_number(word, arg, UINT32_MAX, &r->table, err);
	}
	if (strcmp(word, "scope") == 0) {
		for (const struct ini_enum *e = scopes; e->name; e++) {
			if (strcmp(e->name, arg) == 0) {
				r->scope = e->value;
				return 0;
			}
		}
		snprintf(err, PARSE_ERR_MAX, "scope '%s': expected global, site, link, host or nowhere", arg);
		return -EINVAL;
	}
	snprintf(err, PARSE_ERR_MAX, "unknown option '%s'", word);
	return -EINVAL;
}

/* The destination must be a network: the kernel refuses host bits. */
static bool host_bits_clear(const struct ipaddr *a)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	for (size_t bit = a->prefixlen; bit < len * 8; bit++)
		if (a->u.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static int route_check(const struct route_conf *r, char *err)
{
	if ((r->via.family && r->via.family != r->dst.family) || (r->src.family && r->src.family != r->dst.family)) {
		snprintf(err, PARSE_ERR_MAX, "via and src must be of the destination's family");
		return -EINVAL;
	}
	if (!host_bits_clear(&r->dst)) {
		snprintf(err, PARSE_ERR_MAX, "the destination has host bits set for its prefix length");
		return -EINVAL;
	}
	if (r->type != RTN_UNICAST && (r->via.family || r->dev[0])) {
		snprintf(err, PARSE_ERR_MAX, "a %s route takes neither via nor dev", route_type_name(r->type));
		return -EINVAL;
	}
	return 0;
}

static bool is_route_option(const char *w)
{
	static const char *const opts[] = { "via", "dev", "src", "metric", "table", "scope" };

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (strcmp(w, opts[i]) == 0)
			return true;
	return false;
}

/* Options come in any order around the destination, so keepalived's
 * "src ADDR to DEST via GW" reads too. */
int route_conf_parse(const char *text, struct route_conf *out, char *err)
{
	char buf[256], *words[20];
	bool have_dst = false;
	int n, ret;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, PARSE_ERR_MAX, "entry too long");
		return -EINVAL;
	}
	strlcpy_safe(buf, text, sizeof(buf));
	n = split_list(buf, words, 20);
	if (n <= 0) {
		snprintf(err, PARSE_ERR_MAX, n == 0 ? "empty entry" : "too many words in one entry");
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->type = RTN_UNICAST;
	out->scope = -1;
	for (int i = 0; i < n; i++) {
		const char *w = words[i];

		if (i == 0 && route_type_name_to(w, &out->type))
			continue;
		if (is_route_option(w)) {
			if ((ret = route_option(out, w, i + 1 < n ? words[i + 1] : NULL, err)) < 0)
				return ret;
			i++;
			continue;
		}
		if (have_dst) {
			snprintf(err, PARSE_ERR_MAX, "unknown option '%s' (expected via, dev, src, metric, table or scope)", w);
			return -EINVAL;
		}
		if (strcmp(w, "to") == 0 && ++i >= n)
			break;
		if ((ret = parse_ipaddr(words[i], &out->dst, err)) < 0)
			return ret;
		have_dst = true;
	}
	if (!have_dst) {
		snprintf(err, PARSE_ERR_MAX, "no destination");
		return -EINVAL;
	}
	return route_check(out, err);
}

void route_conf_print(const struct route_conf *r, struct strbuf *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (r->type != RTN_UNICAST)
		sb_printf(out, "%s ", route_type_name(r->type));
	sb_printf(out, "%s/%u", ipaddr_ntop(&r->dst, buf, sizeof(buf)), r->dst.prefixlen);
	if (r->via.family)
		sb_printf(out, " via %s", ipaddr_ntop(&r->via, buf, sizeof(buf)));
	if (r->dev[0])
		sb_printf(out, " dev %s", r->dev);
	if (r->src.family)
		sb_printf(out, " src %s", ipaddr_ntop(&r->src, buf, sizeof(buf)));
	if (r->metric)
		sb_printf(out, " metric %u", r->metric);
	if (r->table)
		sb_printf(out, " table %u", r->table);
	if (r->scope >= 0)
		sb_printf(out, " scope %s", scope_name(r->scope));
}

static int route_item_parse(const char *text, void *item, char *err)
{
	return route_conf_parse(text, item, err);
}

static void route_item_print(const void *item, struct strbuf *out)
{
	route_conf_print(item, out);
}

static const struct item_list_spec route_items = {
	sizeof(struct route_conf), DIR_MAX_ROUTES_PER_INSTANCE, true, "routes", NULL, true,
	route_item_parse, route_item_print,
};

static int route_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct route_list *list = field;
	void *items;
	int ret = parse_items(&route_items, value, &items, &list->n, err);

	(void)key;
	if (ret == 0)
		list->items = items;
	return ret;
}

static void route_list_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct route_list *list = field;

	(void)key;
	items_print(&route_items, list->items, list->n, out);
}

static void route_list_free(void *field)
{
	struct route_list *list = field;

	free(list->items);
	list->items = NULL;
	list->n = 0;
}

const struct ini_type route_list_type = {
	.name = "route list", .parse = route_list_parse, .print = route_list_print, .free = route_list_free,
	.comma_list = true,
};

/* ---- track references ---- */

int track_ref_parse(const char *text, struct track_ref *out, char *err)
{
	char buf[128], *words[4];
	long long w;
	int n;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, PARSE_ERR_MAX, "entry too long");
		return -EINVAL;
	}
	strlcpy_safe(buf, text, sizeof(buf));
	n = split_list(buf, words, 4);
	memset(out, 0, sizeof(*out));
	if (n != 1 && n != 3) {
		snprintf(err, PARSE_ERR_MAX, "expected NAME or NAME weight N");
		return -EINVAL;
	}
	if (strlen(words[0]) >= sizeof(out->name)) {
		snprintf(err, PARSE_ERR_MAX, "name too long");
		return -EINVAL;
	}
	strlcpy_safe(out->name, words[0], sizeof(out->name));
	if (n == 1)
		return 0;
	if (strcmp(words[1], "weight") != 0) {
		snprintf(err, PARSE_ERR_MAX, "expected 'weight' after the name, not '%s'", words[1]);
		return -EINVAL;
	}
	if (parse_int_range(words[2], -254, 254, &w, err) < 0)
		return -EINVAL;
	out->weight = (int)w;
	out->has_weight = true;
	return 0;
}

static int track_item_parse(const char *text, void *item, char *err)
{
	return track_ref_parse(text, item, err);
}

static void track_item_print(const void *item, struct strbuf *out)
{
	const struct track_ref *t = item;

	sb_append(out, t->name);
	if (t->has_weight)
		sb_printf(out, " weight %d", t->weight);
}

static const struct item_list_spec track_items = {
	sizeof(struct track_ref), 64, true, "entries", NULL, false, track_item_parse, track_item_print,
};

static int track_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct track_list *list = field;
	void *items;
	int ret = parse_items(&track_items, value, &items, &list->n, err);

	(void)key;
	if (ret == 0)
		list->items = items;
	return ret;
}

static void track_list_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct track_list *list = field;

	(void)key;
	items_print(&track_items, list->items, list->n, out);
}

static void track_list_free(void *field)
{
	struct track_list *list = field;

	free(list->items);
	list->items = NULL;
	list->n = 0;
}

const struct ini_type track_list_type = {
	.name = "track list", .parse = track_list_parse, .print = track_list_print, .free = track_list_free,
	.comma_list = true,
};

/* Signed integer: ini_type_uint is unsigned only. */
static int int_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	long long v;
	int ret = parse_int_range(value, key->min, key->max, &v, err);

	if (ret == 0)
		*(int *)field = (int)v;
	return ret;
}

static void int_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	(void)key;
	sb_printf(out, "%d", *(const int *)field);
}

const struct ini_type int_type = { .name = "integer", .parse = int_parse, .print = int_print };
