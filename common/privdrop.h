/* Dropping root: switch to an unprivileged user and keep only the listed
 * capabilities (permitted and effective; nothing inheritable or ambient). */
#ifndef DSRKIT_PRIVDROP_H
#define DSRKIT_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/types.h>

int user_lookup(const char *user, uid_t *uid, gid_t *gid);

/* The system user both daemons run as unless their configuration names
 * another; `make install` creates it (sysusers.d/dsrkit.conf). */
#define DAEMON_USER "dsrkit"
#define DAEMON_USER_HOW \
	"create it with 'systemd-sysusers' (make install does), or with " \
	"'useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin " DAEMON_USER "'"

/* May a daemon run as `user`? It must exist and not be root; a user shared
 * with other daemons (nobody: any of them may signal or stop ours) only when
 * the configuration names it (`named`). Returns 0 when fit, 1 when fit but
 * shared (a warning in msg), else -ENOENT, -EPERM (root) or -EACCES (shared,
 * not named) with the error in msg. */
int daemon_user_check(const char *user, bool named, char *msg, size_t msglen);

/* If running as root: setgroups/setgid/setuid to user keeping caps across the
 * switch, then reduce to exactly `keep`. If already unprivileged: only reduce
 * the capability sets. Also clears the bounding set of everything else and
 * leaves the process not dumpable (PR_SET_DUMPABLE 0: it may hold
 * root-only secrets; privdrop.c). Returns 0 or -errno. */
int privdrop(const char *user, const cap_value_t *keep, size_t nkeep);

/* Drop every capability of the calling process (for children before exec). */
int caps_clear(void);

/* Is capability `cap` in the effective set of the calling process? */
bool cap_is_effective(cap_value_t cap);

#endif
