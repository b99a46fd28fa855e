/* directord's state directory (global.state_dir): what must survive a
 * restart of directord, today only that the director is drained
 * (directorctl drain-director), as the file "director-drained".
 *
 * Root makes the directory at start (0700, given to the daemon's user,
 * who alone writes it afterwards), through directories that only root can
 * change (so no one can swap one for a link to a directory of root's that
 * root would then give away), and the parent keeps it open; the
 * unprivileged parent reads and writes the file through that descriptor
 * (openat, O_NOFOLLOW, O_NONBLOCK, type and size checked), so a link or a
 * FIFO put there is refused, never followed or waited on. The file is a
 * few bytes on a local disk, written as a new file renamed into place
 * (read_file_at, write_file_at). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "director_state.h"
#include "util.h"

#define DRAINED_FILE "director-drained"
#define DRAINED_TEXT "drained\n"
#define STATE_FILE_MAX 64

/* Only root may change it: root's, and writable by no one else (or sticky,
 * where no one else can rename or remove root's entries). */
static bool only_root_changes(const struct stat *st)
{
	return st->st_uid == 0 && (!(st->st_mode & 022) || (st->st_mode & S_ISVTX));
}

/* The directory that holds path's last component, opened from / one
 * component at a time, each one only root can change; *leaf is that last
 * component. A descriptor or -errno (-EPERM for one others can change). */
static int open_trusted_parent(const char *path, char *copy, size_t size, const char **leaf)
{
	char *slash, *name, *next;
	int fd, sub;

	if (snprintf(copy, size, "%s", path) >= (int)size)
		return -ENAMETOOLONG;
	while ((slash = strrchr(copy, '/')) && slash != copy && slash[1] == '\0')
		*slash = '\0';	/* "dir/" is "dir" */
	slash = strrchr(copy, '/');
	if (copy[0] != '/' || !slash || slash[1] == '\0')
		return -EINVAL;
	*slash = '\0';
	*leaf = slash + 1;
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	for (name = copy; name; name = next) {
		struct stat st;

		if ((next = strchr(name, '/')))
			*next++ = '\0';
		if (*name) {
			sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(fd);
			if ((fd = sub) < 0)
				return -errno;
		}
		if (fstat(fd, &st) < 0 || !only_root_changes(&st)) {
			int err = fstat(fd, &st) < 0 ? -errno : -EPERM;

			close(fd);
			return err;
		}
	}
	return fd;
}

/* Made (as root) in a directory only root can change; opened without
 * following a link. */
static int open_leaf(const char *path, bool make)
{
	char copy[4096];
	const char *leaf;
	int pfd, fd;

	if (!make) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if ((pfd = open_trusted_parent(path, copy, sizeof(copy), &leaf)) < 0)
		return pfd;
	if (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST) {
		fd = -errno;
	} else {
		fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	close(pfd);
	return fd;
}

int director_state_open(const char *path, bool make, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd;

	if ((fd = open_leaf(path, make)) < 0)
		return fd;
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
	size_t len;
	int err = read_file_at(dirfd, DRAINED_FILE, buf, sizeof(buf), &len, NULL);

	*drained = false;
	if (err < 0)
		return err == -ENOENT ? 0 : err;
	if (strcmp(buf, DRAINED_TEXT) != 0)
		return -EINVAL;
	*drained = true;
	return 0;
}

/* Written anew and renamed over (common/util.c): a link or FIFO planted
 * under the name is replaced, never written through. */
int director_state_drained_save(int dirfd, bool drained)
{
	if (!drained)
		return unlinkat(dirfd, DRAINED_FILE, 0) < 0 && errno != ENOENT ? -errno : 0;
	return write_file_at(dirfd, DRAINED_FILE, DRAINED_TEXT, strlen(DRAINED_TEXT), 0600);
}
