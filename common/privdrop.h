/* Dropping root: switch to an unprivileged user and keep only the listed
 * capabilities (permitted and effective; nothing inheritable or ambient). */
#ifndef DSRKIT_PRIVDROP_H
#define DSRKIT_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/types.h>

int user_lookup(const char *user, uid_t *uid, gid_t *gid);

/* If running as root: setgroups/setgid/setuid to user keeping caps across the
 * switch, then reduce to exactly `keep`. If already unprivileged: only reduce
 * the capability sets. Also clears the bounding set of everything else and
 * sets PR_SET_DUMPABLE back to 1. Returns 0 or -errno. */
int privdrop(const char *user, const cap_value_t *keep, size_t nkeep);

/* Drop every capability of the calling process (for children before exec). */
int caps_clear(void);

/* Is capability `cap` in the effective set of the calling process? */
bool cap_is_effective(cap_value_t cap);

#endif
