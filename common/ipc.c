/* Parent <-> engine messages over SOCK_SEQPACKET. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ipc.h"

int ipc_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	return 0;
}

int ipc_send(int fd, uint16_t type, const void *payload, size_t len)
{
	struct ipc_hdr hdr = { .type = type, .len = (uint32_t)len };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (len > IPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EPIPE ? -ECONNRESET : -errno;
	/* SEQPACKET sends all or nothing. */
	return (size_t)n == sizeof(hdr) + len ? 0 : -EIO;
}

int ipc_parse(const uint8_t *buf, size_t n, struct ipc_msg *msg)
{
	struct ipc_hdr hdr;

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

int ipc_recv(int fd, uint8_t *buf, size_t size, struct ipc_msg *msg)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;	/* SEQPACKET: zero bytes is the peer closing */
	if (mh.msg_flags & MSG_TRUNC)
		return -EBADMSG;
	return ipc_parse(buf, (size_t)n, msg);
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
