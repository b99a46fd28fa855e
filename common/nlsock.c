/* The netlink request layer: see nlsock.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "nlsock.h"

int nlsock_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_SUCCESS:		return 0;
	case NLE_INTR:			return -EINTR;
	case NLE_BAD_SOCK:		return -EBADF;
	case NLE_AGAIN:			return -EAGAIN;
	case NLE_NOMEM:			return -ENOMEM;
	case NLE_EXIST:			return -EEXIST;
	case NLE_INVAL:			return -EINVAL;
	case NLE_RANGE:			return -ERANGE;
	case NLE_MSGSIZE:		return -EMSGSIZE;
	case NLE_OPNOTSUPP:		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:		return -ENOENT;
	case NLE_NOADDR:		return -EADDRNOTAVAIL;
	case NLE_BUSY:			return -EBUSY;
	case NLE_PROTO_MISMATCH:	return -EPROTONOSUPPORT;
	case NLE_NOACCESS:		return -EACCES;
	case NLE_PERM:			return -EPERM;
	case NLE_NODEV:			return -ENODEV;
	case NLE_DUMP_INTR:		return -EAGAIN;	/* the dump changed under us: retry */
	default:			return -EIO;
	}
}

static void replace_socket(struct nlsock *ns);

static int remember_kernel_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlsock *ns = arg;

	(void)who;
	ns->kernel_errno = e->error < 0 ? -e->error : e->error;
	return NL_STOP;
}

int nlsock_result(struct nlsock *ns, int nle)
{
	int kerr = ns->kernel_errno;

	ns->kernel_errno = 0;
	if (nle >= 0)
		return 0;
	if (kerr > 0 && nl_syserr2nlerr(kerr) == -nle)
		return -kerr;
	/* A blocking socket's recvmsg says EAGAIN only when SO_RCVTIMEO ran out. */
	if (-nle == NLE_AGAIN) {
		replace_socket(ns);
		return -ETIMEDOUT;
	}
	return nlsock_errno(nle);
}

int nlsock_connect(struct nl_sock **out, int protocol)
{
	struct nl_sock *sk;
	int err, fd, flags;

	*out = NULL;
	if (!(sk = nl_socket_alloc()))
		return -ENOMEM;
	if ((err = nl_connect(sk, protocol)) < 0) {
		nl_socket_free(sk);
		return nlsock_errno(err);
	}
	/* Scripts and checks are forked from the daemons: no netlink for them. */
	fd = nl_socket_get_fd(sk);
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
		err = -errno;
		nl_socket_free(sk);
		return err;
	}
	*out = sk;
	return 0;
}

static int set_answer_timeout(int fd, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ? -errno : 0;
}

static int connect_request_socket(struct nlsock *ns)
{
	struct nl_sock *sk;
	int err, one = 1;

	if ((err = nlsock_connect(&sk, ns->protocol)) < 0)
		return err;
	if ((err = set_answer_timeout(nl_socket_get_fd(sk), ns->timeout_ms)) < 0 ||
	    (err = nlsock_errno(nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, remember_kernel_error, ns))) < 0) {
		nl_socket_free(sk);
		return err;
	}
	/* Acknowledgements without a copy of each request: a batch's acks
	 * then fit the default receive buffer. Old kernels lack it: fine. */
	(void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	ns->sk = sk;
	ns->kernel_errno = 0;
	return 0;
}

/* The answer may still come, to the old socket, which goes with it. */
static void replace_socket(struct nlsock *ns)
{
	struct nl_sock *old = ns->sk;

	if (connect_request_socket(ns) == 0)
		nl_socket_free(old);
}

int nlsock_open(struct nlsock *ns, int protocol, int timeout_ms)
{
	ns->sk = NULL;
	ns->protocol = protocol;
	ns->timeout_ms = timeout_ms > 0 ? timeout_ms : NLSOCK_ANSWER_TIMEOUT_MS;
	return connect_request_socket(ns);
}

void nlsock_close(struct nlsock *ns)
{
	if (ns && ns->sk) {
		nl_socket_free(ns->sk);
		ns->sk = NULL;
	}
}
