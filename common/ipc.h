/* Messages between directord's parent and its engines, in the spirit of
 * OpenBSD's imsg: a fixed header (type, length) and a payload, over a
 * SOCK_SEQPACKET socketpair so that one recv is one message. Every message
 * is length-checked on receipt; a peer that sends garbage is cut off. */
#ifndef DSRKIT_IPC_H
#define DSRKIT_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_MAX_PAYLOAD (64 * 1024)

struct ipc_hdr {
	uint16_t type;
	uint16_t reserved;		/* zero */
	uint32_t len;			/* payload bytes after the header */
};

struct ipc_msg {
	uint16_t type;
	uint32_t len;
	const uint8_t *payload;		/* points into the receive buffer */
	int fd;				/* ipc_recv_fd: a descriptor sent with it, or -1 */
};

/* A connected pair; fds are non-blocking and close-on-exec. */
int ipc_pair(int fds[2]);

/* Send one message. -EAGAIN when the peer's queue is full (the caller
 * decides: drop, or retry later), -EMSGSIZE above IPC_MAX_PAYLOAD. */
int ipc_send(int fd, uint16_t type, const void *payload, size_t len);
/* The same with a descriptor (SCM_RIGHTS) that the peer receives as its
 * own copy; pass_fd -1 sends none. */
int ipc_send_fd(int fd, uint16_t type, const void *payload, size_t len, int pass_fd);

/* Receive one message into buf (at least sizeof(struct ipc_hdr) +
 * IPC_MAX_PAYLOAD bytes). 0 and *msg; -EAGAIN when none is waiting;
 * -ECONNRESET when the peer is gone; -EBADMSG for a malformed message. */
int ipc_recv(int fd, uint8_t *buf, size_t size, struct ipc_msg *msg);
/* ipc_recv that also takes a descriptor sent with the message: msg->fd,
 * close-on-exec, the caller's to close (also on an error return, when it
 * is not -1). ipc_recv closes any such descriptor itself. */
int ipc_recv_fd(int fd, uint8_t *buf, size_t size, struct ipc_msg *msg);

/* Check one received datagram: header complete, reserved zero, length
 * matching exactly. Exposed for tests and the fuzzer. */
int ipc_parse(const uint8_t *buf, size_t n, struct ipc_msg *msg);

/* The payload of msg as a fixed-size struct: 0, or -EBADMSG when the
 * length differs (the receiver never reads past what was sent). */
int ipc_payload_fixed(const struct ipc_msg *msg, void *out, size_t size);

/* Messages a loop could not send at once because its peer's queue was
 * full, kept in order and sent as the peer reads: a loop never waits on
 * its peer, and nothing it says is dropped while the peer lives. At most
 * max_bytes are held (0: IPC_OUTQ_DEFAULT_MAX). */
#define IPC_OUTQ_DEFAULT_MAX (32u * 1024 * 1024)

struct ipc_outq_msg;
struct ipc_outq {
	struct ipc_outq_msg *head, *tail;
	size_t bytes, max_bytes;
};

/* Send now when nothing waits before it, else queue. 0 when sent, 1 when
 * queued (the caller watches the fd for EPOLLOUT and calls
 * ipc_outq_flush), -ENOBUFS over max_bytes, -ENOMEM, or ipc_send's error. */
int ipc_outq_send(struct ipc_outq *q, int fd, uint16_t type, const void *payload, size_t len);
/* Send what the peer takes now: 0 when the queue is empty, 1 when some
 * remain, or -errno (-ECONNRESET: the peer is gone). */
int ipc_outq_flush(struct ipc_outq *q, int fd);
void ipc_outq_free(struct ipc_outq *q);

#endif
