/* Persistent state in state_dir: the admin state ("admin") survives restarts
 * and reboots; "applied" records what apply changed so remove can undo
 * exactly that. Both are small line-oriented text files written atomically. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rs-agent.h"

#define STATE_FILE_MAX (256 * 1024)

static const char *const admin_names[] = {
	[ADMIN_READY] = "ready", [ADMIN_DRAIN] = "drain", [ADMIN_MAINT] = "maint",
};

const char *admin_state_name(enum admin_state a)
{
	return (unsigned)a < ARRAY_SIZE(admin_names) ? admin_names[a] : "?";
}

int admin_state_parse(const char *s, enum admin_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(admin_names); i++) {
		if (strcmp(s, admin_names[i]) == 0) {
			*out = (enum admin_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int state_path(char *buf, size_t size, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int admin_state_load(const char *state_dir, enum admin_state *out)
{
	char path[PATH_MAX], buf[64];
	size_t len;
	int ret;

	*out = ADMIN_READY;
	ret = state_path(path, sizeof(path), state_dir, "admin");
	if (ret < 0)
		return ret;
	ret = read_small_file(path, buf, sizeof(buf), &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	buf[strcspn(buf, " \t\r\n")] = '\0';
	return admin_state_parse(buf, out);
}

int admin_state_save(const char *state_dir, enum admin_state a)
{
	char path[PATH_MAX], line[16];
	int ret, n;

	ret = state_path(path, sizeof(path), state_dir, "admin");
	if (ret < 0)
		return ret;
	n = snprintf(line, sizeof(line), "%s\n", admin_state_name(a));
	return write_file_atomic(path, line, (size_t)n, 0644);
}

void applied_state_free(struct applied_state *st)
{
	free(st->sysctls);
	free(st->vips);
	memset(st, 0, sizeof(*st));
}

struct sysctl_record *applied_state_sysctl(struct applied_state *st, const char *ifname, bool create)
{
	struct sysctl_record *r;

	for (size_t i = 0; i < st->nsysctls; i++)
		if (strcmp(st->sysctls[i].ifname, ifname) == 0)
			return &st->sysctls[i];
	if (!create || strlen(ifname) >= sizeof(r->ifname))
		return NULL;
	r = realloc(st->sysctls, (st->nsysctls + 1) * sizeof(*r));
	if (!r)
		return NULL;
	st->sysctls = r;
	r = &st->sysctls[st->nsysctls++];
	st->dirty = true;
	memset(r, 0, sizeof(*r));
	strlcpy_safe(r->ifname, ifname, sizeof(r->ifname));
	r->arp_ignore = -1;
	r->arp_announce = -1;
	return r;
}

bool applied_state_has_vip(const struct applied_state *st, const struct ipaddr *a)
{
	for (size_t i = 0; i < st->nvips; i++)
		if (ipaddr_equal(&st->vips[i], a))
			return true;
	return false;
}

int applied_state_add_vip(struct applied_state *st, const struct ipaddr *a)
{
	struct ipaddr *v;

	if (applied_state_has_vip(st, a))
		return 0;
	v = realloc(st->vips, (st->nvips + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	st->vips = v;
	st->vips[st->nvips++] = *a;
	st->dirty = true;
	return 0;
}

void applied_state_del_vip(struct applied_state *st, const struct ipaddr *a)
{
	for (size_t i = 0; i < st->nvips; i++) {
		if (ipaddr_equal(&st->vips[i], a)) {
			st->vips[i] = st->vips[--st->nvips];
			st->dirty = true;
			return;
		}
	}
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof(((struct sysctl_record *)0)->ifname))
		return false;
	return strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int parse_sysctl_value(const char *s, int *out)
{
	long long v;
	char err[PARSE_ERR_MAX];

	if (strcmp(s, "-") == 0) {
		*out = -1;
		return 0;
	}
	if (parse_int_range(s, 0, 255, &v, err) < 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* One line: "vip-interface IF", "vip ADDR" or "sysctl IF IGNORE ANNOUNCE". */
static int parse_line(char *line, struct applied_state *st)
{
	char *words[5];
	char err[PARSE_ERR_MAX];
	int n = split_list(line, words, 5);

	if (n == 0)
		return 0;
	if (n < 0)
		return -EINVAL;
	if (strcmp(words[0], "vip-interface") == 0 && n == 2 && ifname_ok(words[1])) {
		strlcpy_safe(st->vip_ifname, words[1], sizeof(st->vip_ifname));
		return 0;
	}
	if (strcmp(words[0], "vip") == 0 && n == 2) {
		struct ipaddr a;

		if (parse_ipaddr(words[1], &a, err) < 0)
			return -EINVAL;
		return applied_state_add_vip(st, &a);
	}
	if (strcmp(words[0], "sysctl") == 0 && n == 4 && ifname_ok(words[1])) {
		struct sysctl_record *r;
		int ign, ann;

		if (parse_sysctl_value(words[2], &ign) < 0 || parse_sysctl_value(words[3], &ann) < 0)
			return -EINVAL;
		r = applied_state_sysctl(st, words[1], true);
		if (!r)
			return -ENOMEM;
		r->arp_ignore = ign;
		r->arp_announce = ann;
		return 0;
	}
	return -EINVAL;
}

int applied_state_parse(const char *text, size_t len, struct applied_state *out)
{
	char line[256];
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (len > STATE_FILE_MAX)
		return -EFBIG;
	while (pos < len) {
		size_t end = pos;
		int ret;

		while (end < len && text[end] != '\n')
			end++;
		if (end - pos >= sizeof(line) || memchr(text + pos, '\0', end - pos)) {
			applied_state_free(out);
			return -EINVAL;
		}
		memcpy(line, text + pos, end - pos);
		line[end - pos] = '\0';
		pos = end + 1;
		if (line[0] == '#')
			continue;
		ret = parse_line(line, out);
		if (ret < 0) {
			applied_state_free(out);
			return ret;
		}
	}
	out->dirty = false;
	return 0;
}

static void format_sysctl_value(struct strbuf *out, int v)
{
	if (v < 0)
		sb_append(out, " -");
	else
		sb_printf(out, " %d", v);
}

void applied_state_format(const struct applied_state *st, struct strbuf *out)
{
	char buf[INET6_ADDRSTRLEN];

	sb_append(out, "# written by rs-agent apply: what it changed, for rs-agent remove\n");
	if (st->vip_ifname[0])
		sb_printf(out, "vip-interface %s\n", st->vip_ifname);
	for (size_t i = 0; i < st->nvips; i++)
		sb_printf(out, "vip %s\n", ipaddr_ntop(&st->vips[i], buf, sizeof(buf)));
	for (size_t i = 0; i < st->nsysctls; i++) {
		sb_printf(out, "sysctl %s", st->sysctls[i].ifname);
		format_sysctl_value(out, st->sysctls[i].arp_ignore);
		format_sysctl_value(out, st->sysctls[i].arp_announce);
		sb_append(out, "\n");
	}
}

int applied_state_load(const char *state_dir, struct applied_state *out)
{
	char path[PATH_MAX];
	char *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = state_path(path, sizeof(path), state_dir, "applied");
	if (ret < 0)
		return ret;
	buf = malloc(STATE_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	ret = read_small_file(path, buf, STATE_FILE_MAX + 1, &len);
	if (ret == -ENOENT) {
		free(buf);
		return 0;
	}
	if (ret == 0)
		ret = applied_state_parse(buf, len, out);
	free(buf);
	return ret;
}

int applied_state_save(const char *state_dir, const struct applied_state *st)
{
	char path[PATH_MAX];
	struct strbuf sb;
	int ret;

	ret = state_path(path, sizeof(path), state_dir, "applied");
	if (ret < 0)
		return ret;
	sb_init(&sb);
	applied_state_format(st, &sb);
	ret = sb.failed ? -ENOMEM : write_file_atomic(path, sb_str(&sb), sb.len, 0644);
	sb_free(&sb);
	return ret;
}

int applied_state_save_if_changed(const char *state_dir, struct applied_state *st)
{
	int ret;

	if (!st->dirty)
		return 0;
	ret = applied_state_save(state_dir, st);
	if (ret == 0)
		st->dirty = false;
	return ret;
}

int applied_state_remove(const char *state_dir)
{
	char path[PATH_MAX];
	int ret = state_path(path, sizeof(path), state_dir, "applied");

	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
