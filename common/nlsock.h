/* One netlink request socket over libnl, and the one place that turns
 * libnl's results into -errno: rtnetlink (common/rtnl.c) and IPVS
 * (director/lvs/ipvs.c) both sit on it.
 *
 * libnl folds several kernel errnos into one of its codes (ENOENT and
 * ESRCH both become "object not found"), so the socket records the errno
 * of every NLMSG_ERROR and that is what callers get back.
 *
 * Every wait for an answer is bounded: the kernel does not always answer
 * (a generic netlink handler that returns EINTR gets no acknowledgement,
 * as IPVS_CMD_DEL_DAEMON does when the sync thread never ran), and a
 * daemon's loop must not sit in recvmsg forever. A request that gets no
 * answer in time fails with -ETIMEDOUT and the socket is replaced at
 * once, so a late answer cannot pass for the next request's. Library
 * code: no logging. */
#ifndef DSRKIT_NLSOCK_H
#define DSRKIT_NLSOCK_H

/* How long a request waits for its answer (SO_RCVTIMEO). */
#define NLSOCK_ANSWER_TIMEOUT_MS 5000

struct nl_sock;

struct nlsock {
	struct nl_sock *sk;
	int protocol;		/* NETLINK_ROUTE, NETLINK_GENERIC */
	int timeout_ms;
	int kernel_errno;	/* of the last NLMSG_ERROR, 0 when none */
};

/* Connect ns (a zeroed struct at a stable address: libnl's error callback
 * keeps a pointer to it) to the kernel, close-on-exec, with answers
 * awaited at most timeout_ms (0: NLSOCK_ANSWER_TIMEOUT_MS). */
int nlsock_open(struct nlsock *ns, int protocol, int timeout_ms);
void nlsock_close(struct nlsock *ns);

/* A libnl result (>= 0 or -NLE_*) as 0 or -errno. The recorded kernel
 * errno is used only when it is what libnl reports, never a stale one. A
 * wait that ran out is -ETIMEDOUT, and ns->sk is then a new socket (the
 * old one, if a new one cannot be had): callers hold no copy of it. */
int nlsock_result(struct nlsock *ns, int nle);

/* A bare libnl socket connected to protocol, close-on-exec (for sockets
 * read without libnl, such as rtnetlink's notifications). */
int nlsock_connect(struct nl_sock **out, int protocol);

/* libnl's code alone as -errno (for results no socket was involved in). */
int nlsock_errno(int nle);

#endif
