/* state.c: the admin and applied files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rs-agent.h"
#include "test.h"

TEST(applied_round_trip)
{
	struct applied_state st = { 0 }, back;
	struct ipaddr a;
	struct strbuf sb;
	char err[PARSE_ERR_MAX];

	strlcpy_safe(st.vip_ifname, "lo", sizeof(st.vip_ifname));
	parse_ipaddr("2001:db8::10", &a, err);
	CHECK_EQ_INT(applied_state_add_vip(&st, &a, ""), 0);
	CHECK_EQ_INT(applied_state_add_vip(&st, &a, ""), 0);	/* no duplicates */
	CHECK_EQ_INT(st.nvips, 1);
	applied_state_sysctl(&st, "all", true)->arp_ignore = 0;
	applied_state_sysctl(&st, "eth0", true)->arp_announce = 2;
	sb_init(&sb);
	applied_state_format(&st, &sb);
	CHECK_EQ_INT(applied_state_parse(sb.buf, sb.len, &back, NULL), 0);
	CHECK_EQ_STR(back.vip_ifname, "lo");
	CHECK_EQ_INT(back.nvips, 1);
	CHECK(ipaddr_equal(&back.vips[0].addr, &a));
	CHECK_EQ_INT(back.nsysctls, 2);
	CHECK_EQ_INT(applied_state_sysctl(&back, "all", false)->arp_ignore, 0);
	CHECK_EQ_INT(applied_state_sysctl(&back, "all", false)->arp_announce, -1);
	CHECK_EQ_INT(applied_state_sysctl(&back, "eth0", false)->arp_announce, 2);
	sb_free(&sb);
	applied_state_free(&st);
	applied_state_free(&back);
}

TEST(applied_rejects_garbage)
{
	static const char *const bad[] = {
		"vip 300.1.1.1\n", "sysctl ../etc 1 2\n", "sysctl eth0 1\n", "sysctl eth0 1 999\n",
		"frob\n", "vip-interface a/b\n", "vip 198.18.0.10/32 lo:dsr extra\n",
		"vip 198.18.0.10/32 a/b\n",
	};
	struct applied_state st;
	unsigned line;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(applied_state_parse(bad[i], strlen(bad[i]), &st, &line) < 0);
		CHECK_EQ_INT(line, 1);
		CHECK_EQ_INT(st.nvips, 0);
	}
	CHECK_EQ_INT(applied_state_parse("# only a comment\n\n", 18, &st, &line), 0);
	CHECK_EQ_INT(line, 0);
	applied_state_free(&st);
}

TEST(applied_refusal_names_the_line)
{
	static const char text[] = "# c\nvip-interface lo\nvip 198.18.0.10/32 lo:dsr\nvip-interface dummy0 x\n";
	struct applied_state st;
	unsigned line = 0;

	CHECK_EQ_INT(applied_state_parse(text, sizeof(text) - 1, &st, &line), -EINVAL);
	CHECK_EQ_INT(line, 4);
}

TEST(applied_records_prefix_and_label)
{
	static const char text[] = "vip-interface lo\nvip 198.18.0.10/32 lo:dsr\nvip 2001:db8::10/128\n"
				   "vip 198.18.0.11\n";
	struct applied_state st;

	CHECK_EQ_INT(applied_state_parse(text, sizeof(text) - 1, &st, NULL), 0);
	CHECK_EQ_INT(st.nvips, 3);
	CHECK_EQ_STR(st.vips[0].label, "lo:dsr");
	CHECK_EQ_INT(st.vips[0].addr.prefixlen, 32);
	CHECK_EQ_STR(st.vips[1].label, "");
	CHECK_EQ_INT(st.vips[1].addr.prefixlen, 128);
	CHECK_EQ_STR(st.vips[2].label, "");	/* older files: no label */
	applied_state_free(&st);
}

/* A scratch state_dir with its descriptors, removed by scratch_free. */
struct scratch {
	char dir[64];
	struct state_dir sd;
	struct strbuf notes;
};

static int scratch_new(struct scratch *s)
{
	strlcpy_safe(s->dir, "/tmp/dsrkit-state.XXXXXX", sizeof(s->dir));
	sb_init(&s->notes);
	if (!mkdtemp(s->dir))
		return -1;
	chmod(s->dir, 0755);
	return state_dir_prepare(s->dir, (uid_t)-1, (gid_t)-1, &s->sd, &s->notes);
}

static void scratch_free(struct scratch *s)
{
	char cmd[128];

	state_dir_close(&s->sd);
	sb_free(&s->notes);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", s->dir);
}

static int write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		ret = -1;
	return ret == 0 ? chmod(path, mode) : -1;
}

static void at(char *buf, size_t size, const struct scratch *s, const char *name)
{
	snprintf(buf, size, "%s/%s", s->dir, name);
}

TEST(admin_state_persists)
{
	struct scratch s;
	enum admin_state a;
	char err[256] = "";
	struct stat st;
	char path[128];

	CHECK_EQ_INT(scratch_new(&s), 0);
	at(path, sizeof(path), &s, STATE_ADMIN_DIR);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a, ADMIN_READY);		/* missing file: ready */
	CHECK_EQ_INT(admin_state_save(&s.sd, ADMIN_DRAIN), 0);
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a, ADMIN_DRAIN);
	CHECK_EQ_INT(admin_state_save(&s.sd, ADMIN_MAINT), 0);
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a, ADMIN_MAINT);
	CHECK(admin_state_parse("sleepy", &a) == -EINVAL);
	at(path, sizeof(path), &s, STATE_ADMIN_DIR "/admin");
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	scratch_free(&s);
}

/* What an unprivileged user can plant where the daemon writes: root reads
 * none of it, follows none of it, and does not wait on a FIFO. */
TEST(admin_state_refuses_links_and_fifos)
{
	char canary[] = "/tmp/dsrkit-canary.XXXXXX", path[128], buf[32], err[256];
	struct scratch s;
	enum admin_state a;
	int fd;

	fd = mkstemp(canary);
	CHECK(fd >= 0 && write(fd, "drain\n", 6) == 6);
	close(fd);
	CHECK_EQ_INT(scratch_new(&s), 0);
	at(path, sizeof(path), &s, STATE_ADMIN_DIR "/admin");

	CHECK_EQ_INT(symlink(canary, path), 0);
	err[0] = '\0';
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), -ELOOP);
	CHECK_EQ_INT(a, ADMIN_READY);
	CHECK_CONTAINS(err, "admin.d/admin: a symbolic link: refused");
	/* Saving replaces the link; the canary keeps its content. */
	CHECK_EQ_INT(admin_state_save(&s.sd, ADMIN_MAINT), 0);
	CHECK_EQ_INT(read_small_file(canary, buf, sizeof(buf), NULL), 0);
	CHECK_EQ_STR(buf, "drain\n");
	unlink(path);

	CHECK_EQ_INT(link(canary, path), 0);
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), -EMLINK);
	CHECK_CONTAINS(err, "has other hard links");
	CHECK_EQ_INT(admin_state_save(&s.sd, ADMIN_READY), 0);
	CHECK_EQ_INT(read_small_file(canary, buf, sizeof(buf), NULL), 0);
	CHECK_EQ_STR(buf, "drain\n");
	unlink(path);

	CHECK_EQ_INT(mkfifo(path, 0644), 0);
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "not a regular file");
	unlink(path);
	scratch_free(&s);
	unlink(canary);
}

TEST(applied_refuses_what_others_could_write)
{
	char path[128], other[128], err[512];
	struct applied_state st;
	struct scratch s;

	CHECK_EQ_INT(scratch_new(&s), 0);
	at(path, sizeof(path), &s, "applied");
	at(other, sizeof(other), &s, "elsewhere");

	CHECK_EQ_INT(write_text(path, "vip-interface lo\nvip 198.18.0.10/32 lo:dsr\n", 0666), 0);
	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), -EPERM);
	CHECK_CONTAINS(err, "applied: mode 0666 lets others write it: refused");
	CHECK_EQ_INT(st.nvips, 0);

	CHECK_EQ_INT(chmod(path, 0644), 0);
	CHECK_EQ_INT(link(path, other), 0);
	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), -EMLINK);
	CHECK_EQ_INT(st.nvips, 0);
	unlink(other);

	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), 0);
	CHECK_EQ_INT(st.nvips, 1);
	applied_state_free(&st);

	CHECK_EQ_INT(write_text(path, "vip-interface lo\nvip 198.18.0.10/32 lo:dsr\nsysctl eth0 0\n", 0644), 0);
	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "/applied:3: not a line rs-agent writes");
	CHECK_EQ_INT(st.nvips, 0);

	unlink(path);
	CHECK_EQ_INT(mkfifo(path, 0644), 0);
	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "applied: not a regular file");
	unlink(path);
	CHECK_EQ_INT(symlink("/etc/passwd", path), 0);
	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), -ELOOP);
	CHECK_CONTAINS(err, "applied: a symbolic link: refused");
	scratch_free(&s);
}

/* As root: taken over, and nothing found in it believed. */
static void others_dir_as_root(struct scratch *s)
{
	char path[128], err[256];
	struct applied_state st;
	enum admin_state a;
	struct stat sb;

	at(path, sizeof(path), s, "applied");
	CHECK_EQ_INT(write_text(path, "vip-interface eth1\nvip 192.0.2.99/32\n", 0644), 0);
	at(path, sizeof(path), s, "admin");
	CHECK_EQ_INT(write_text(path, "drain\n", 0644), 0);
	CHECK_EQ_INT(state_dir_prepare(s->dir, 65534, 65534, &s->sd, &s->notes), 0);
	CHECK_CONTAINS(sb_str(&s->notes), "mode 0777, so another user could write it");
	CHECK_CONTAINS(sb_str(&s->notes), "applied: another user could have written it: not trusted, moved to");
	CHECK(stat(s->dir, &sb) == 0 && sb.st_uid == 0 && (sb.st_mode & 07777) == 0755);
	CHECK_EQ_INT(applied_state_load(&s->sd, &st, err, sizeof(err)), 0);
	CHECK_EQ_INT(st.nvips, 0);
	at(path, sizeof(path), s, "applied.untrusted");
	CHECK(stat(path, &sb) == 0);
	at(path, sizeof(path), s, STATE_ADMIN_DIR);
	CHECK(stat(path, &sb) == 0 && sb.st_uid == 65534 && (sb.st_mode & 07777) == 0755);
	CHECK_EQ_INT(admin_state_load(&s->sd, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a, ADMIN_DRAIN);
}

/* Not root: refused, since it cannot be made ours. */
static void others_dir_as_user(struct scratch *s)
{
	CHECK_EQ_INT(state_dir_prepare(s->dir, (uid_t)-1, (gid_t)-1, &s->sd, &s->notes), -EPERM);
	CHECK_CONTAINS(sb_str(&s->notes), "mode 0777: not this user's alone; refused");
	CHECK_EQ_INT(s->sd.dirfd, -1);
}

TEST(state_dir_others_can_write)
{
	struct scratch s;

	CHECK_EQ_INT(scratch_new(&s), 0);
	state_dir_close(&s.sd);
	sb_reset(&s.notes);
	CHECK_EQ_INT(chmod(s.dir, 0777), 0);
	if (geteuid() == 0)
		others_dir_as_root(&s);
	else
		others_dir_as_user(&s);
	scratch_free(&s);
}

TEST(state_dir_moves_old_admin_into_admin_d)
{
	char path[128], err[256];
	struct scratch s;
	enum admin_state a;

	CHECK_EQ_INT(scratch_new(&s), 0);
	state_dir_close(&s.sd);
	at(path, sizeof(path), &s, "admin");
	CHECK_EQ_INT(write_text(path, "maint\n", 0644), 0);
	CHECK_EQ_INT(state_dir_prepare(s.dir, (uid_t)-1, (gid_t)-1, &s.sd, &s.notes), 0);
	CHECK_CONTAINS(sb_str(&s.notes), "/admin: moved to");
	CHECK(access(path, F_OK) < 0);
	CHECK_EQ_INT(admin_state_load(&s.sd, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a, ADMIN_MAINT);
	scratch_free(&s);
}

TEST(applied_saved_only_when_changed)
{
	struct applied_state st = { 0 };
	char path[128], err[256];
	struct scratch s;
	struct ipaddr a;
	char perr[PARSE_ERR_MAX];
	struct stat sb;

	CHECK_EQ_INT(scratch_new(&s), 0);
	at(path, sizeof(path), &s, "applied");
	CHECK_EQ_INT(applied_state_save_if_changed(&s.sd, &st), 0);
	CHECK(stat(path, &sb) < 0);			/* nothing changed: no write */
	parse_ipaddr("198.18.0.10", &a, perr);
	applied_state_add_vip(&st, &a, "lo:dsr");
	CHECK(st.dirty);
	CHECK_EQ_INT(applied_state_save_if_changed(&s.sd, &st), 0);
	CHECK(!st.dirty);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0644);
	applied_state_add_vip(&st, &a, "lo:dsr");		/* already there */
	CHECK(!st.dirty);
	applied_state_free(&st);
	CHECK_EQ_INT(applied_state_load(&s.sd, &st, err, sizeof(err)), 0);
	CHECK(!st.dirty);
	CHECK_EQ_INT(st.nvips, 1);
	CHECK_EQ_STR(st.vips[0].label, "lo:dsr");
	applied_state_free(&st);
	CHECK_EQ_INT(applied_state_remove(&s.sd), 0);
	CHECK(stat(path, &sb) < 0);
	scratch_free(&s);
}

/* common/util: the two primitives the state files rest on. */
TEST(read_file_at_bounds_and_types)
{
	char buf[8];
	struct scratch s;
	size_t len;
	char path[128];

	CHECK_EQ_INT(scratch_new(&s), 0);
	at(path, sizeof(path), &s, "f");
	CHECK_EQ_INT(write_text(path, "1234567", 0644), 0);
	CHECK_EQ_INT(read_file_at(s.sd.dirfd, "f", buf, sizeof(buf), &len, NULL), 0);
	CHECK_EQ_INT(len, 7);
	CHECK_EQ_INT(write_text(path, "12345678", 0644), 0);
	CHECK_EQ_INT(read_file_at(s.sd.dirfd, "f", buf, sizeof(buf), &len, NULL), -EFBIG);
	CHECK_EQ_INT(read_file_at(s.sd.dirfd, STATE_ADMIN_DIR, buf, sizeof(buf), &len, NULL), -EINVAL);
	CHECK_EQ_INT(read_file_at(s.sd.dirfd, "missing", buf, sizeof(buf), &len, NULL), -ENOENT);
	scratch_free(&s);
}

TEST(write_file_at_replaces_never_writes_through)
{
	char canary[] = "/tmp/dsrkit-canary.XXXXXX", path[128], buf[32];
	struct scratch s;
	struct stat st;
	int fd;

	fd = mkstemp(canary);
	CHECK(fd >= 0 && write(fd, "keep\n", 5) == 5);
	close(fd);
	CHECK_EQ_INT(scratch_new(&s), 0);
	at(path, sizeof(path), &s, "f");
	CHECK_EQ_INT(link(canary, path), 0);
	CHECK_EQ_INT(write_file_at(s.sd.dirfd, "f", "new\n", 4, 0644), 0);
	CHECK_EQ_INT(read_small_file(canary, buf, sizeof(buf), NULL), 0);
	CHECK_EQ_STR(buf, "keep\n");
	CHECK(stat(canary, &st) == 0 && st.st_nlink == 1);
	CHECK_EQ_INT(read_small_file(path, buf, sizeof(buf), NULL), 0);
	CHECK_EQ_STR(buf, "new\n");
	unlink(path);
	CHECK_EQ_INT(symlink(canary, path), 0);
	CHECK_EQ_INT(write_file_at(s.sd.dirfd, "f", "new\n", 4, 0644), 0);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK_EQ_INT(read_small_file(canary, buf, sizeof(buf), NULL), 0);
	CHECK_EQ_STR(buf, "keep\n");
	scratch_free(&s);
	unlink(canary);
}

TEST_MAIN(T(applied_round_trip), T(applied_rejects_garbage), T(applied_refusal_names_the_line),
	  T(applied_records_prefix_and_label), T(admin_state_persists), T(admin_state_refuses_links_and_fifos),
	  T(applied_refuses_what_others_could_write), T(state_dir_others_can_write),
	  T(state_dir_moves_old_admin_into_admin_d), T(applied_saved_only_when_changed),
	  T(read_file_at_bounds_and_types), T(write_file_at_replaces_never_writes_through))
