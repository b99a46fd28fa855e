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

TEST_MAIN(T(drained_round_trip), T(what_others_could_put_there_is_refused))
