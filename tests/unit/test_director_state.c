/* directord's state directory (director/parent/director_state.c): the
 * drained flag of drain-director survives, and what others could put
 * there (a link, a FIFO, other bytes, a directory others may write) is
 * refused, never followed or waited on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "director_state.h"
#include "test.h"

static char base[64];

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", base, name);
}

static int make_base(void)
{
	snprintf(base, sizeof(base), "/tmp/dsrkit-state-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static void remove_base(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CHECK_EQ_INT(system(cmd), 0);
}

TEST(drained_round_trip)
{
	char dir[128];
	bool drained = true;
	int fd;

	CHECK_EQ_INT(make_base(), 0);
	path_of(dir, sizeof(dir), "state");
	fd = director_state_open(dir, true, getuid(), getgid());
	CHECK(fd >= 0);
	CHECK_EQ_INT(director_state_drained_load(fd, &drained), 0);
	CHECK(!drained);
	CHECK_EQ_INT(director_state_drained_save(fd, true), 0);
	CHECK_EQ_INT(director_state_drained_save(fd, true), 0);
	CHECK_EQ_INT(director_state_drained_load(fd, &drained), 0);
	CHECK(drained);
	CHECK_EQ_INT(director_state_drained_save(fd, false), 0);
	CHECK_EQ_INT(director_state_drained_save(fd, false), 0);
	CHECK_EQ_INT(director_state_drained_load(fd, &drained), 0);
	CHECK(!drained);
	close(fd);
	/* Made 0700. */
	{
		struct stat st;

		CHECK_EQ_INT(stat(dir, &st), 0);
		CHECK_EQ_INT((int)(st.st_mode & 0777), 0700);
	}
	remove_base();
}

TEST(what_others_could_put_there_is_refused)
{
	char dir[128], file[160], link[128];
	bool drained = true;
	int fd;

	CHECK_EQ_INT(make_base(), 0);
	path_of(dir, sizeof(dir), "state");
	path_of(link, sizeof(link), "link");
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	/* A link to the directory: not followed. */
	CHECK_EQ_INT(symlink(dir, link), 0);
	CHECK(director_state_open(link, false, getuid(), getgid()) < 0);
	/* A directory others may write. */
	CHECK_EQ_INT(chmod(dir, 0777), 0);
	CHECK_EQ_INT(director_state_open(dir, false, getuid(), getgid()), -EPERM);
	CHECK_EQ_INT(chmod(dir, 0700), 0);
	fd = director_state_open(dir, false, getuid(), getgid());
	CHECK(fd >= 0);
	snprintf(file, sizeof(file), "%s/director-drained", dir);
	/* A FIFO: refused at once, not waited on. */
	CHECK_EQ_INT(mkfifo(file, 0600), 0);
	CHECK_EQ_INT(director_state_drained_load(fd, &drained), -EINVAL);
	CHECK(!drained);
	CHECK_EQ_INT(unlink(file), 0);
	/* A link to a file that says drained: not followed. */
	{
		char target[160];
		FILE *f;

		snprintf(target, sizeof(target), "%s/elsewhere", base);
		CHECK((f = fopen(target, "w")) != NULL);
		if (f) {
			fputs("drained\n", f);
			fclose(f);
		}
		CHECK_EQ_INT(symlink(target, file), 0);
		CHECK(director_state_drained_load(fd, &drained) < 0);
		CHECK(!drained);
		CHECK_EQ_INT(unlink(file), 0);
		/* Other bytes. */
		CHECK((f = fopen(file, "w")) != NULL);
		if (f) {
			fputs("drained please\n", f);
			fclose(f);
		}
		CHECK_EQ_INT(director_state_drained_load(fd, &drained), -EINVAL);
		CHECK(!drained);
	}
	close(fd);
	remove_base();
}

/* Root makes state_dir and gives it to the daemon's user: only through
 * directories no one else can change. A user who owns a directory on the
 * way could put a link there to a directory of root's, which root would
 * then give away. A sticky directory (/tmp) is fine: root's entries in it
 * are root's to rename. */
TEST(root_makes_it_only_through_directories_root_alone_changes)
{
	char bob[128], victim[128], st_dir[160], via[200], sticky[128], ok[160];
	const uid_t nobody = 65534;
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		printf("SKIP root_makes_it_only_through_directories_root_alone_changes: not root\n");
		return;
	}
	CHECK_EQ_INT(make_base(), 0);
	CHECK_EQ_INT(chmod(base, 0755), 0);
	path_of(bob, sizeof(bob), "bob");
	path_of(victim, sizeof(victim), "victim");
	CHECK_EQ_INT(mkdir(bob, 0755), 0);
	CHECK_EQ_INT(chown(bob, nobody, nobody), 0);
	CHECK_EQ_INT(mkdir(victim, 0755), 0);
	snprintf(st_dir, sizeof(st_dir), "%s/state", victim);
	CHECK_EQ_INT(mkdir(st_dir, 0755), 0);
	/* bob's link to root's directory: refused, root's left root's. */
	snprintf(via, sizeof(via), "%s/link", bob);
	CHECK_EQ_INT(symlink(victim, via), 0);
	snprintf(via, sizeof(via), "%s/link/state", bob);
	CHECK_EQ_INT(director_state_open(via, true, nobody, nobody), -EPERM);
	CHECK_EQ_INT(stat(st_dir, &st), 0);
	CHECK_EQ_INT((int)st.st_uid, 0);
	/* Nor under a directory others may write that is not sticky. */
	CHECK_EQ_INT(chmod(victim, 0777), 0);
	CHECK_EQ_INT(director_state_open(st_dir, true, nobody, nobody), -EPERM);
	CHECK_EQ_INT(chmod(victim, 0755), 0);
	/* Root's own path, and a sticky one: made and given. */
	fd = director_state_open(st_dir, true, nobody, nobody);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(stat(st_dir, &st), 0);
	CHECK_EQ_INT((int)st.st_uid, (int)nobody);
	path_of(sticky, sizeof(sticky), "sticky");
	CHECK_EQ_INT(mkdir(sticky, 0755), 0);
	CHECK_EQ_INT(chmod(sticky, 01777), 0);
	snprintf(ok, sizeof(ok), "%s/state/", sticky);
	fd = director_state_open(ok, true, nobody, nobody);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	remove_base();
}

TEST_MAIN(T(drained_round_trip), T(what_others_could_put_there_is_refused),
	  T(root_makes_it_only_through_directories_root_alone_changes))
