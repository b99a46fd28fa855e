/* directord's state directory (global.state_dir): what must survive a
 * restart of directord, today only that the director is drained
 * (directorctl drain-director), as the file "director-drained".
 *
 * Root makes the directory at start (0700, given to the daemon's user,
 * who alone writes it afterwards) and the parent keeps it open; the
 * unprivileged parent reads and writes the file through that descriptor
 * (openat, O_NOFOLLOW, O_NONBLOCK, type and size checked), so a link or a
 * FIFO put there is refused, never followed or waited on. The file is a
 * few bytes on a local disk, written as a new file renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "director_state.h"

#define DRAINED_FILE "director-drained"
#define DRAINED_TEXT "drained\n"
#define STATE_FILE_MAX 64

int director_state_open(const char *path, bool make, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd;

	if (make && mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* Root's, or already the daemon's: given to the daemon (root alone
	 * can); anyone else's is not ours to use. */
	if (make && st.st_uid != uid && st.st_uid == 0 && fchown(fd, uid, gid) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if ((st.st_uid != uid && st.st_uid != 0) || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int director_state_drained_load(int dirfd, bool *drained)
{
	char buf[STATE_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd = openat(dirfd, DRAINED_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), err = 0;

	*drained = false;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_size > STATE_FILE_MAX)
		err = -EINVAL;
	else if ((n = read(fd, buf, STATE_FILE_MAX)) < 0)
		err = -errno;
	else if ((buf[n] = '\0', strcmp(buf, DRAINED_TEXT) != 0))
		err = -EINVAL;
	else
		*drained = true;
	close(fd);
	return err;
}

int director_state_drained_save(int dirfd, bool drained)
{
	char tmp[64];
	int fd, err = 0;

	if (!drained)
		return unlinkat(dirfd, DRAINED_FILE, 0) < 0 && errno != ENOENT ? -errno : 0;
	snprintf(tmp, sizeof(tmp), ".%s.%ld", DRAINED_FILE, (long)getpid());
	(void)unlinkat(dirfd, tmp, 0);	/* a previous life's, never followed */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, DRAINED_TEXT, strlen(DRAINED_TEXT)) != (ssize_t)strlen(DRAINED_TEXT))
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, DRAINED_FILE) < 0)
		err = -errno;
	if (err)
		(void)unlinkat(dirfd, tmp, 0);
	return err;
}
