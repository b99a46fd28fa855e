/* Detaching a daemon so that its start-up still fails visibly: the
 * process started from the shell waits until the daemon says it is ready
 * (exit 0), or until the daemon ends without saying so (exit 1, pointing
 * at the log). Start-up errors meanwhile still reach the terminal. One
 * implementation for directord and rs-agent. */
#ifndef DSRKIT_DAEMONIZE_H
#define DSRKIT_DAEMONIZE_H

/* Fork; the foreground process waits as above and never returns. In the
 * daemon: a new session, and the descriptor to hand to daemon_ready. */
int daemon_detach(const char *name);

/* Start-up is done: logging goes to syslog as name, standard input, output
 * and error to /dev/null, and the foreground process exits 0. */
void daemon_ready(int ready_fd, const char *name);

#endif
