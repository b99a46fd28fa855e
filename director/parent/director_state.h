/* directord's state directory (director_state.c): what survives a
 * restart. Every function returns 0 (or a descriptor) or -errno. */
#ifndef DSRKIT_DIRECTOR_STATE_H
#define DSRKIT_DIRECTOR_STATE_H

#include <stdbool.h>
#include <sys/types.h>

/* Open path (made 0700 and given to uid:gid with make, which needs
 * root); refused (-EPERM) when it belongs to another user or others may
 * write it. */
int director_state_open(const char *path, bool make, uid_t uid, gid_t gid);
/* drain-director's state: false when no file says drained; -EINVAL for
 * a file that is not what this writes. */
int director_state_drained_load(int dirfd, bool *drained);
int director_state_drained_save(int dirfd, bool drained);

#endif
