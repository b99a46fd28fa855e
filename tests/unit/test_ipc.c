/* ipc.c: framing and length checks of parent <-> engine messages. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "test.h"

static uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];

struct sample {
	uint32_t a;
	uint8_t b[12];
};

TEST(round_trip)
{
	struct sample s = { 7, "vi_public" }, back;
	struct ipc_msg msg;
	int fds[2];

	CHECK_EQ_INT(ipc_pair(fds), 0);
	CHECK_EQ_INT(ipc_send(fds[0], 42, &s, sizeof(s)), 0);
	CHECK_EQ_INT(ipc_send(fds[0], 43, NULL, 0), 0);
	CHECK_EQ_INT(ipc_recv(fds[1], buf, sizeof(buf), &msg), 0);
	CHECK_EQ_INT(msg.type, 42);
	CHECK_EQ_INT(ipc_payload_fixed(&msg, &back, sizeof(back)), 0);
	CHECK_EQ_INT(back.a, 7);
	CHECK_EQ_STR((char *)back.b, "vi_public");
	CHECK_EQ_INT(ipc_recv(fds[1], buf, sizeof(buf), &msg), 0);
	CHECK_EQ_INT(msg.type, 43);
	CHECK_EQ_INT(msg.len, 0);
	CHECK_EQ_INT(ipc_recv(fds[1], buf, sizeof(buf), &msg), -EAGAIN);
	close(fds[0]);
	CHECK_EQ_INT(ipc_recv(fds[1], buf, sizeof(buf), &msg), -ECONNRESET);
	CHECK_EQ_INT(ipc_send(fds[1], 1, NULL, 0), -ECONNRESET);
	close(fds[1]);
}

/* A descriptor travels with its message: ipc_recv_fd hands it over
 * (close-on-exec), ipc_recv closes it. Seen through a pipe: its reader
 * gets end-of-file once every copy of the writer is closed. */
TEST(descriptor_passing)
{
	struct sample s = { 9, "image" }, back;
	struct ipc_msg msg;
	int fds[2], pipefd[2];
	char c = 0;

	CHECK_EQ_INT(ipc_pair(fds), 0);
	CHECK_EQ_INT(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_EQ_INT(ipc_send_fd(fds[0], 5, &s, sizeof(s), pipefd[1]), 0);
	CHECK_EQ_INT(ipc_send_fd(fds[0], 6, NULL, 0, pipefd[1]), 0);
	CHECK_EQ_INT(ipc_send(fds[0], 7, NULL, 0), 0);
	close(pipefd[1]);
	CHECK_EQ_INT(ipc_recv_fd(fds[1], buf, sizeof(buf), &msg), 0);
	CHECK_EQ_INT(msg.type, 5);
	CHECK_EQ_INT(ipc_payload_fixed(&msg, &back, sizeof(back)), 0);
	CHECK_EQ_INT(back.a, 9);
	CHECK(msg.fd >= 0);
	CHECK(msg.fd >= 0 && (fcntl(msg.fd, F_GETFD) & FD_CLOEXEC));
	CHECK(msg.fd >= 0 && write(msg.fd, "x", 1) == 1);
	CHECK(read(pipefd[0], &c, 1) == 1 && c == 'x');
	if (msg.fd >= 0)
		close(msg.fd);
	CHECK_EQ_INT(ipc_recv(fds[1], buf, sizeof(buf), &msg), 0);	/* its copy closed */
	CHECK_EQ_INT(msg.type, 6);
	CHECK_EQ_INT(msg.fd, -1);
	CHECK_EQ_INT(ipc_recv_fd(fds[1], buf, sizeof(buf), &msg), 0);
	CHECK_EQ_INT(msg.type, 7);
	CHECK_EQ_INT(msg.fd, -1);	/* none sent */
	CHECK_EQ_INT(read(pipefd[0], &c, 1), 0);	/* no writer left anywhere */
	close(pipefd[0]);
	close(fds[0]);
	close(fds[1]);
}

TEST(length_checks)
{
	struct ipc_hdr hdr = { .type = 1, .len = 4 };
	uint8_t raw[sizeof(hdr) + 8] = { 0 };
	struct ipc_msg msg;
	struct sample s;

	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_EQ_INT(ipc_parse(raw, sizeof(hdr) + 4, &msg), 0);
	CHECK_EQ_INT(ipc_parse(raw, sizeof(hdr) + 3, &msg), -EBADMSG);	/* short */
	CHECK_EQ_INT(ipc_parse(raw, sizeof(hdr) + 5, &msg), -EBADMSG);	/* trailing */
	CHECK_EQ_INT(ipc_parse(raw, 3, &msg), -EBADMSG);		/* no header */
	hdr.reserved = 1;
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_EQ_INT(ipc_parse(raw, sizeof(hdr) + 4, &msg), -EBADMSG);
	hdr.reserved = 0;
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_EQ_INT(ipc_parse(raw, sizeof(hdr) + 4, &msg), 0);
	CHECK_EQ_INT(ipc_payload_fixed(&msg, &s, sizeof(s)), -EBADMSG);	/* wrong size for the type */
	CHECK_EQ_INT(ipc_send(0, 1, raw, IPC_MAX_PAYLOAD + 1), -EMSGSIZE);
}

TEST(truncated_datagram_rejected)
{
	static uint8_t big[2048];
	uint8_t small[64];
	struct ipc_msg msg;
	int fds[2];

	CHECK_EQ_INT(ipc_pair(fds), 0);
	CHECK_EQ_INT(ipc_send(fds[0], 9, big, sizeof(big)), 0);
	CHECK_EQ_INT(ipc_recv(fds[1], small, sizeof(small), &msg), -EBADMSG);
	close(fds[0]);
	close(fds[1]);
}

/* One numbered message through the queue: 0 sent, 1 queued, else refused. */
static int outq_numbered(struct ipc_outq *q, int fd, uint32_t *seq)
{
	static uint8_t big[4096];
	int ret;

	memcpy(big, seq, sizeof(*seq));
	ret = ipc_outq_send(q, fd, 7, big, sizeof(big));
	if (ret == 0 || ret == 1)
		++*seq;
	return ret;
}

/* A full peer queue: later messages wait in order, nothing accepted is
 * dropped, and the bound holds. */
TEST(outq_keeps_order_when_the_peer_is_full)
{
	struct ipc_outq q = { .max_bytes = 64 * 1024 };
	struct ipc_msg msg;
	uint32_t seq = 0, next = 0;
	int fds[2], queued = 0, ret = 0;

	CHECK_EQ_INT(ipc_pair(fds), 0);
	for (int i = 0; i < 100000 && queued < 5; i++) {
		ret = outq_numbered(&q, fds[0], &seq);
		CHECK(ret == 0 || ret == 1);
		queued += ret == 1;
	}
	CHECK(seq > 5);
	CHECK_EQ_INT(queued, 5);
	CHECK_EQ_INT(q.bytes, 5 * 4096);
	CHECK_EQ_INT(ipc_outq_flush(&q, fds[0]), 1);	/* nobody read yet */
	for (int i = 0; i < 40 && (ret = outq_numbered(&q, fds[0], &seq)) == 1; i++)
		;
	CHECK_EQ_INT(ret, -ENOBUFS);
	CHECK(q.bytes <= 64 * 1024);
	/* The reader drains; flushing as it goes delivers all, in order. */
	for (int rounds = 0; rounds < 100000; rounds++) {
		ret = ipc_recv(fds[1], buf, sizeof(buf), &msg);
		if (ret == -EAGAIN) {
			if (ipc_outq_flush(&q, fds[0]) == 0 && !q.head &&
			    (ret = ipc_recv(fds[1], buf, sizeof(buf), &msg)) == -EAGAIN)
				break;
			if (ret == -EAGAIN)
				continue;
		}
		CHECK_EQ_INT(ret, 0);
		if (ret == 0) {
			uint32_t v;

			memcpy(&v, msg.payload, sizeof(v));
			if (v != next)
				CHECK_EQ_INT(v, next);
			next = v + 1;
		}
	}
	CHECK_EQ_INT(next, seq);
	CHECK_EQ_INT(q.bytes, 0);
	CHECK(q.head == NULL);
	ipc_outq_free(&q);
	close(fds[0]);
	close(fds[1]);
}

TEST(outq_peer_gone)
{
	struct ipc_outq q = { 0 };
	int fds[2];

	CHECK_EQ_INT(ipc_pair(fds), 0);
	close(fds[1]);
	CHECK_EQ_INT(ipc_outq_send(&q, fds[0], 1, "x", 1), -ECONNRESET);
	CHECK(q.head == NULL);
	close(fds[0]);
}

TEST_MAIN(T(round_trip), T(descriptor_passing), T(length_checks), T(truncated_datagram_rejected), T(outq_keeps_order_when_the_peer_is_full),
	  T(outq_peer_gone))
