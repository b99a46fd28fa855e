/* ipc.c: framing and length checks of parent <-> engine messages. */
#include <errno.h>
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

TEST_MAIN(T(round_trip), T(length_checks), T(truncated_datagram_rejected))
