/* Parent <-> engine messages over SOCK_SEQPACKET. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc.h"

int ipc_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	return 0;
}

int ipc_send_fd(int fd, uint16_t type, const void *payload, size_t len, int pass_fd)
{
	struct ipc_hdr hdr = { .type = type, .len = (uint32_t)len };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (len > IPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EPIPE ? -ECONNRESET : -errno;
	/* SEQPACKET sends all or nothing. */
	return (size_t)n == sizeof(hdr) + len ? 0 : -EIO;
}

int ipc_send(int fd, uint16_t type, const void *payload, size_t len)
{
	return ipc_send_fd(fd, type, payload, len, -1);
}

int ipc_parse(const uint8_t *buf, size_t n, struct ipc_msg *msg)
{
	struct ipc_hdr hdr;

	msg->fd = -1;
	if (n < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.reserved != 0 || hdr.len > IPC_MAX_PAYLOAD || hdr.len != n - sizeof(hdr))
		return -EBADMSG;
	msg->type = hdr.type;
	msg->len = hdr.len;
	msg->payload = buf + sizeof(hdr);
	return 0;
}

/* The descriptors that came with a message: the first is kept, any other
 * closed (a peer sends one at most). */
static int take_fds(struct msghdr *mh)
{
	int kept = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (kept < 0)
				kept = fd;
			else
				close(fd);
		}
	}
	return kept;
}

int ipc_recv_fd(int fd, uint8_t *buf, size_t size, struct ipc_msg *msg)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	int passed;
	ssize_t n;
	int ret;

	msg->fd = -1;
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	passed = take_fds(&mh);
	if (n == 0)
		ret = -ECONNRESET;	/* SEQPACKET: zero bytes is the peer closing */
	else if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		ret = -EBADMSG;
	else
		ret = ipc_parse(buf, (size_t)n, msg);
	msg->fd = passed;
	return ret;
}

int ipc_recv(int fd, uint8_t *buf, size_t size, struct ipc_msg *msg)
{
	int ret = ipc_recv_fd(fd, buf, size, msg);

	if (msg->fd >= 0) {
		close(msg->fd);
		msg->fd = -1;
	}
	return ret;
}

int ipc_payload_fixed(const struct ipc_msg *msg, void *out, size_t size)
{
	if (msg->len != size)
		return -EBADMSG;
	memcpy(out, msg->payload, size);
	return 0;
}

/* ---- the outgoing queue ---- */

struct ipc_outq_msg {
	struct ipc_outq_msg *next;
	uint16_t type;
	size_t len;
	uint8_t payload[];
};

int ipc_outq_flush(struct ipc_outq *q, int fd)
{
	while (q->head) {
		struct ipc_outq_msg *m = q->head;
		int ret = ipc_send(fd, m->type, m->payload, m->len);

		if (ret == -EAGAIN)
			return 1;
		if (ret < 0)
			return ret;
		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
		q->bytes -= m->len;
		free(m);
	}
	return 0;
}

int ipc_outq_send(struct ipc_outq *q, int fd, uint16_t type, const void *payload, size_t len)
{
	size_t max = q->max_bytes ? q->max_bytes : IPC_OUTQ_DEFAULT_MAX;
	struct ipc_outq_msg *m;
	int ret;

	if (len > IPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!q->head) {
		ret = ipc_send(fd, type, payload, len);
		if (ret != -EAGAIN)
			return ret;
	}
	if (q->bytes + len > max)
		return -ENOBUFS;
	if (!(m = malloc(sizeof(*m) + len)))
		return -ENOMEM;
	m->next = NULL;
	m->type = type;
	m->len = len;
	if (len)
		memcpy(m->payload, payload, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += len;
	return 1;
}

void ipc_outq_free(struct ipc_outq *q)
{
	while (q->head) {
		struct ipc_outq_msg *m = q->head;

		q->head = m->next;
		free(m);
	}
	q->tail = NULL;
	q->bytes = 0;
}
