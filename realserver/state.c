/* Persistent state in state_dir: "applied" records what apply changed so
 * remove can undo exactly that; admin.d/admin keeps the admin state across
 * restarts and reboots. Both are small line-oriented text files, written
 * atomically.
 *
 * Who may write what decides what root may believe. rs-agent starts as
 * root and then runs as an unprivileged user; root acts on "applied"
 * (remove deletes addresses and resets sysctls it lists), so "applied"
 * lives in a directory only root can write, and root refuses it unless it
 * is a regular file root owns, with one link, writable by nobody else. The
 * unprivileged daemon writes only the admin state, in admin.d, a directory
 * of its own; root reads that one word without following links, without
 * blocking on a FIFO and with a size bound, and never changes the
 * ownership of anything in it but the directory, through a descriptor.
 * The layout before admin.d gave the whole of state_dir to the daemon
 * user: taking it over, root believes nothing that user could have
 * written (state_dir_prepare). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rs-agent.h"

#define STATE_FILE_MAX (256 * 1024)
#define ADMIN_FILE_MAX 64

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
		if (ipaddr_equal(&st->vips[i].addr, a))
			return true;
	return false;
}

int applied_state_add_vip(struct applied_state *st, const struct ipaddr *a, const char *label)
{
	struct applied_vip *v;

	if (applied_state_has_vip(st, a))
		return 0;
	if (strlen(label) >= sizeof(v->label))
		return -ENAMETOOLONG;
	v = realloc(st->vips, (st->nvips + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	st->vips = v;
	v = &st->vips[st->nvips++];
	v->addr = *a;
	strlcpy_safe(v->label, label, sizeof(v->label));
	st->dirty = true;
	return 0;
}

void applied_state_del_vip(struct applied_state *st, const struct ipaddr *a)
{
	for (size_t i = 0; i < st->nvips; i++) {
		if (ipaddr_equal(&st->vips[i].addr, a)) {
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

/* One line: "vip-interface IF", "vip ADDR[/LEN] [LABEL]" or
 * "sysctl IF IGNORE ANNOUNCE". Older versions wrote "vip ADDR". */
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
	if (strcmp(words[0], "vip") == 0 && (n == 2 || (n == 3 && ifname_ok(words[2])))) {
		struct ipaddr a;

		if (parse_ipaddr(words[1], &a, err) < 0)
			return -EINVAL;
		return applied_state_add_vip(st, &a, n == 3 ? words[2] : "");
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

int applied_state_parse(const char *text, size_t len, struct applied_state *out, unsigned *bad_line)
{
	char line[256];
	size_t pos = 0;
	unsigned lineno = 0;

	memset(out, 0, sizeof(*out));
	if (bad_line)
		*bad_line = 0;
	if (len > STATE_FILE_MAX)
		return -EFBIG;
	while (pos < len) {
		size_t end = pos;
		int ret;

		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		if (bad_line)
			*bad_line = lineno;
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
	if (bad_line)
		*bad_line = 0;
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
	for (size_t i = 0; i < st->nvips; i++) {
		const struct applied_vip *v = &st->vips[i];

		sb_printf(out, "vip %s/%u%s%s\n", ipaddr_ntop(&v->addr, buf, sizeof(buf)), v->addr.prefixlen,
			  v->label[0] ? " " : "", v->label);
	}
	for (size_t i = 0; i < st->nsysctls; i++) {
		sb_printf(out, "sysctl %s", st->sysctls[i].ifname);
		format_sysctl_value(out, st->sysctls[i].arp_ignore);
		format_sysctl_value(out, st->sysctls[i].arp_announce);
		sb_append(out, "\n");
	}
}

/* ---- the files, relative to the two directory descriptors ---- */

static void __attribute__((format(printf, 3, 4)))
say(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

/* Why a file was not read, in words; read_file_at's and ours. */
static const char *refusal(int err)
{
	switch (-err) {
	case ELOOP: return "a symbolic link: refused";
	case EINVAL: return "not a regular file (a FIFO, device or directory): refused";
	case EFBIG: return "larger than any file rs-agent writes: refused";
	case EMLINK: return "has other hard links (not a file rs-agent wrote): refused";
	default: return strerror(-err);
	}
}

/* The admin word in dirfd/name; shown is its path, for messages. */
static int read_admin_at(int dirfd, const char *name, const char *shown, enum admin_state *out,
			 char *err, size_t errsize)
{
	char buf[ADMIN_FILE_MAX];
	struct stat st;
	int ret;

	*out = ADMIN_READY;
	ret = read_file_at(dirfd, name, buf, sizeof(buf), NULL, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret == 0 && st.st_nlink != 1)
		ret = -EMLINK;
	if (ret < 0) {
		say(err, errsize, "%s: %s", shown, refusal(ret));
		return ret;
	}
	buf[strcspn(buf, " \t\r\n")] = '\0';
	ret = admin_state_parse(buf, out);
	if (ret < 0)
		say(err, errsize, "%s: not ready, drain or maint: refused", shown);
	return ret;
}

int admin_state_load(const struct state_dir *sd, enum admin_state *out, char *err, size_t errsize)
{
	char shown[sizeof(sd->path) + 16];

	*out = ADMIN_READY;
	if (sd->admin_fd < 0)
		return 0;
	snprintf(shown, sizeof(shown), "%s/" STATE_ADMIN_DIR "/admin", sd->path);
	return read_admin_at(sd->admin_fd, "admin", shown, out, err, errsize);
}

int admin_state_save(const struct state_dir *sd, enum admin_state a)
{
	char line[16];
	int n = snprintf(line, sizeof(line), "%s\n", admin_state_name(a));

	if (sd->admin_fd < 0)
		return -ENOENT;
	return write_file_at(sd->admin_fd, "admin", line, (size_t)n, 0644);
}

/* Only what this user (root, for the daemon and the one-shot commands)
 * wrote, and nobody else could have. */
static int check_own_file(const struct stat *st, char *err, size_t errsize, const char *path)
{
	if (st->st_uid != geteuid()) {
		say(err, errsize, "%s/applied: owned by uid %u, not %u: refused", path, (unsigned)st->st_uid,
		    (unsigned)geteuid());
		return -EPERM;
	}
	if (st->st_mode & 022) {
		say(err, errsize, "%s/applied: mode %04o lets others write it: refused", path,
		    (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	if (st->st_nlink != 1) {
		say(err, errsize, "%s/applied: %s", path, refusal(-EMLINK));
		return -EMLINK;
	}
	return 0;
}

static int parse_applied(const struct state_dir *sd, const char *buf, size_t len, struct applied_state *out,
			 char *err, size_t errsize)
{
	unsigned line = 0;
	int ret = applied_state_parse(buf, len, out, &line);

	if (ret == -EINVAL)
		say(err, errsize, "%s/applied:%u: not a line rs-agent writes ('vip-interface IF', "
		    "'vip ADDR/LEN LABEL' or 'sysctl IF IGNORE ANNOUNCE'): refusing the whole file", sd->path, line);
	else if (ret < 0)
		say(err, errsize, "%s/applied: %s", sd->path, strerror(-ret));
	return ret;
}

int applied_state_load(const struct state_dir *sd, struct applied_state *out, char *err, size_t errsize)
{
	struct stat st;
	char *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	buf = malloc(STATE_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	ret = read_file_at(sd->dirfd, "applied", buf, STATE_FILE_MAX + 1, &len, &st);
	if (ret == -ENOENT)
		ret = 0, len = 0;
	else if (ret < 0)
		say(err, errsize, "%s/applied: %s", sd->path, refusal(ret));
	else
		ret = check_own_file(&st, err, errsize, sd->path);
	if (ret == 0 && len > 0)
		ret = parse_applied(sd, buf, len, out, err, errsize);
	free(buf);
	return ret;
}

int applied_state_save(const struct state_dir *sd, const struct applied_state *st)
{
	struct strbuf sb;
	int ret;

	sb_init(&sb);
	applied_state_format(st, &sb);
	ret = sb.failed ? -ENOMEM : write_file_at(sd->dirfd, "applied", sb_str(&sb), sb.len, 0644);
	sb_free(&sb);
	return ret;
}

int applied_state_save_if_changed(const struct state_dir *sd, struct applied_state *st)
{
	int ret;

	if (!st->dirty)
		return 0;
	ret = applied_state_save(sd, st);
	if (ret == 0)
		st->dirty = false;
	return ret;
}

int applied_state_remove(const struct state_dir *sd)
{
	if (unlinkat(sd->dirfd, "applied", 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- the directories ---- */

static int open_dir_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int init_dir(const char *path, struct state_dir *out)
{
	out->dirfd = out->admin_fd = -1;
	if (strlcpy_safe(out->path, path, sizeof(out->path)) >= sizeof(out->path))
		return -ENAMETOOLONG;
	return 0;
}

void state_dir_close(struct state_dir *sd)
{
	if (sd->dirfd >= 0)
		close(sd->dirfd);
	if (sd->admin_fd >= 0)
		close(sd->admin_fd);
	sd->dirfd = sd->admin_fd = -1;
}

int state_dir_open_ro(const char *path, struct state_dir *out)
{
	int ret = init_dir(path, out);

	if (ret < 0)
		return ret;
	ret = open_dir_at(AT_FDCWD, path);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	out->dirfd = ret;
	ret = open_dir_at(out->dirfd, STATE_ADMIN_DIR);
	if (ret >= 0)
		out->admin_fd = ret;
	return ret >= 0 || ret == -ENOENT ? 0 : ret;
}

/* state_dir must be ours alone. A directory someone else could write
 * (the daemon user's, in the old layout) is taken over, and *untrusted
 * tells the caller to believe nothing found in it. */
static int take_over(struct state_dir *sd, bool *untrusted, struct strbuf *notes)
{
	struct stat st;

	if (fstat(sd->dirfd, &st) < 0)
		return -errno;
	*untrusted = st.st_uid != geteuid() || (st.st_mode & 022);
	if (!*untrusted)
		return 0;
	if (geteuid() != 0) {
		sb_printf(notes, "%s: owned by uid %u, mode %04o: not this user's alone; refused\n", sd->path,
			  (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (fchown(sd->dirfd, 0, 0) < 0 || fchmod(sd->dirfd, 0755) < 0)
		return -errno;
	sb_printf(notes, "%s: was owned by uid %u with mode %04o, so another user could write it "
		  "(the layout before " STATE_ADMIN_DIR "/): now root's, 0755; nothing found in it is trusted\n",
		  sd->path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

static bool entry_exists(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int move_aside_applied(struct state_dir *sd, struct strbuf *notes)
{
	if (!entry_exists(sd->dirfd, "applied"))
		return 0;
	if (renameat(sd->dirfd, "applied", sd->dirfd, "applied.untrusted") < 0 &&
	    unlinkat(sd->dirfd, "applied", 0) < 0)
		return -errno;
	sb_printf(notes, "%s/applied: another user could have written it: not trusted, moved to "
		  "%s/applied.untrusted; remove will not undo what it lists (VIPs carrying rs-agent's "
		  "label are recognised again by the next apply)\n", sd->path, sd->path);
	return 0;
}

/* admin.d: a directory (anything else in its place is removed), owned by
 * the daemon user, 0755 so that `check` can read it. */
static int open_admin_dir(struct state_dir *sd, uid_t uid, gid_t gid, struct strbuf *notes)
{
	bool root = geteuid() == 0;
	struct stat st;
	int fd;

	if (fstatat(sd->dirfd, STATE_ADMIN_DIR, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
		if (unlinkat(sd->dirfd, STATE_ADMIN_DIR, 0) < 0)
			return -errno;
		sb_printf(notes, "%s/" STATE_ADMIN_DIR ": not a directory: removed\n", sd->path);
	}
	if (mkdirat(sd->dirfd, STATE_ADMIN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open_dir_at(sd->dirfd, STATE_ADMIN_DIR);
	if (fd < 0)
		return fd;
	sd->admin_fd = fd;
	if (!root || uid == (uid_t)-1 || fstat(fd, &st) < 0)
		return 0;
	if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
		return -errno;
	if ((st.st_mode & 07777) != 0755 && fchmod(fd, 0755) < 0)
		return -errno;
	return 0;
}

/* The old layout kept "admin" in state_dir itself: carry the word over
 * into admin.d (unless admin.d has one), whatever the file was, read with
 * the same care. */
static void migrate_admin(struct state_dir *sd, struct strbuf *notes)
{
	char shown[sizeof(sd->path) + 8], err[sizeof(shown) + 96];
	enum admin_state a;

	if (!entry_exists(sd->dirfd, "admin"))
		return;
	snprintf(shown, sizeof(shown), "%s/admin", sd->path);
	if (read_admin_at(sd->dirfd, "admin", shown, &a, err, sizeof(err)) < 0)
		sb_printf(notes, "%s; removed\n", err);
	else if (!entry_exists(sd->admin_fd, "admin") && admin_state_save(sd, a) == 0)
		sb_printf(notes, "%s: moved to %s/" STATE_ADMIN_DIR "/admin (%s)\n", shown, sd->path,
			  admin_state_name(a));
	(void)unlinkat(sd->dirfd, "admin", 0);
}

int state_dir_prepare(const char *path, uid_t uid, gid_t gid, struct state_dir *out, struct strbuf *notes)
{
	bool untrusted = false;
	int ret = init_dir(path, out);

	if (ret == 0 && mkdir(path, 0755) < 0 && errno != EEXIST)
		ret = -errno;
	if (ret == 0)
		ret = open_dir_at(AT_FDCWD, path);
	if (ret >= 0) {
		out->dirfd = ret;
		ret = take_over(out, &untrusted, notes);
	}
	if (ret == 0 && untrusted)
		ret = move_aside_applied(out, notes);
	if (ret == 0)
		ret = open_admin_dir(out, uid, gid, notes);
	if (ret == 0)
		migrate_admin(out, notes);
	if (ret < 0) {
		sb_printf(notes, "state directory %s: %s\n", path, refusal(ret));
		state_dir_close(out);
	}
	return ret;
}
