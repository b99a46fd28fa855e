/* systemd readiness notification without libsystemd: one datagram to
 * $NOTIFY_SOCKET. A no-op when not started by systemd. */
#ifndef DSRKIT_SDNOTIFY_H
#define DSRKIT_SDNOTIFY_H

/* "READY=1", "RELOADING=1", "STOPPING=1". Returns 0 or -errno. */
int sd_notify_state(const char *state);

#endif
