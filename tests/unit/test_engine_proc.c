/* The process body both engines share (director/engine_proc.c), through
 * its seam (struct engine_ops) with a fake engine in a child process: the
 * heartbeat is answered from the loop; a status larger than one message
 * arrives whole and in order in pieces, though the parent reads late (the
 * channel's queue fills and the engine queues the rest instead of
 * waiting); the engine's own messages reach it; an unknown message is
 * survived; DIR_IPC_STOP ends it with status 0. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "directord.h"
#include "engine_proc.h"
#include "test.h"

#define FAKE_ECHO_REQ 200
#define FAKE_ECHO_REPLY 201
#define BIG_STATUS (300 * 1024)

static uint8_t rbuf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];

static int fake_start(struct engine_proc *p, const void *arg)
{
	p->engine = (void *)arg;
	return 0;
}

static void fake_stop(struct engine_proc *p)
{
	(void)p;
}

/* Text: BIG_STATUS bytes of a pattern the reader can check; JSON: one member. */
static void fake_status(struct engine_proc *p, struct json *j, struct strbuf *out)
{
	(void)p;
	if (j) {
		json_string(j, "fake", "yes");
		return;
	}
	for (size_t i = 0; i < BIG_STATUS; i++)
		sb_appendn(out, &"abcdefghijklmnopqrstuvwxyz"[i % 26], 1);
}

static void fake_metrics(struct engine_proc *p, struct strbuf *out)
{
	(void)p;
	sb_append(out, "dsrkit_fake 1\n");
}

static int fake_reload(struct engine_proc *p, const struct director_config *fresh)
{
	(void)p;
	(void)fresh;
	return 0;
}

static bool fake_message(struct engine_proc *p, const struct ipc_msg *msg)
{
	if (msg->type != FAKE_ECHO_REQ)
		return false;
	(void)engine_proc_send(p, FAKE_ECHO_REPLY, msg->payload, msg->len);
	return true;
}

static const struct engine_ops fake_ops = {
	.name = "fake engine",
	.reload_log_prefix = "fake: ",
	.reads_per_wake = 4,
	.start = fake_start,
	.stop = fake_stop,
	.status = fake_status,
	.metrics = fake_metrics,
	.reload = fake_reload,
	.message = fake_message,
};

static pid_t start_fake(int *fd)
{
	int fds[2];
	pid_t pid;

	if (ipc_pair(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct director_config *cfg = calloc(1, sizeof(*cfg));

		close(fds[0]);
		cfg->path = strdup("fake.ini");
		_exit(engine_proc_run(&fake_ops, cfg, fds[1], "fake"));
	}
	close(fds[1]);
	*fd = fds[0];
	return pid;
}

/* The next message, waiting at most 5 s. */
static int next_msg(int fd, struct ipc_msg *msg)
{
	for (int i = 0; i < 500; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ret = ipc_recv(fd, rbuf, sizeof(rbuf), msg);

		if (ret != -EAGAIN)
			return ret;
		(void)poll(&pfd, 1, 10);
	}
	return -ETIMEDOUT;
}

/* The engine exits with status 0 within 5 s (else it is killed). */
static bool exits_cleanly(pid_t pid)
{
	int status = -1;

	for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return false;
}

TEST(heartbeat_status_messages_stop)
{
	uint64_t ping = 4242, pong = 0;
	struct dir_ipc_status_req text = { .id = 77, .json = 0 };
	uint32_t id;
	struct ipc_msg msg;
	struct strbuf got;
	int fd = -1, ret;
	pid_t pid = start_fake(&fd);
	bool pattern_ok = true;

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_EQ_INT(ipc_send(fd, DIR_IPC_PING, &ping, sizeof(ping)), 0);
	CHECK_EQ_INT(next_msg(fd, &msg), 0);
	CHECK_EQ_INT(msg.type, DIR_IPC_PONG);
	CHECK_EQ_INT(ipc_payload_fixed(&msg, &pong, sizeof(pong)), 0);
	CHECK_EQ_INT(pong, 4242);

	/* Ask for the big status and read nothing for a while: the
	 * channel's queue fills, and the engine must go on meanwhile. */
	CHECK_EQ_INT(ipc_send(fd, DIR_IPC_STATUS_REQ, &text, sizeof(text)), 0);
	usleep(200 * 1000);
	CHECK_EQ_INT(ipc_send(fd, DIR_IPC_PING, &ping, sizeof(ping)), 0);
	CHECK_EQ_INT(ipc_send(fd, 999, "?", 1), 0);	/* unknown: logged, survived */
	CHECK_EQ_INT(ipc_send(fd, FAKE_ECHO_REQ, "hello", 5), 0);
	sb_init(&got);
	for (int i = 0; i < 100; i++) {
		if ((ret = next_msg(fd, &msg)) < 0)
			break;
		if (msg.type != DIR_IPC_STATUS_PART && msg.type != DIR_IPC_STATUS_REPLY)
			break;
		/* Every piece is led by the request's id. */
		CHECK(msg.len >= sizeof(id));
		memcpy(&id, msg.payload, sizeof(id));
		CHECK_EQ_INT(id, 77);
		sb_appendn(&got, (const char *)msg.payload + sizeof(id), msg.len - sizeof(id));
		if (msg.type == DIR_IPC_STATUS_REPLY)
			break;
	}
	CHECK_EQ_INT(msg.type, DIR_IPC_STATUS_REPLY);
	CHECK_EQ_INT(got.len, BIG_STATUS);
	for (size_t i = 0; i < got.len && pattern_ok; i++)
		pattern_ok = got.buf[i] == "abcdefghijklmnopqrstuvwxyz"[i % 26];
	CHECK(pattern_ok);
	sb_free(&got);
	/* Then, in order, what was asked after it. */
	CHECK_EQ_INT(next_msg(fd, &msg), 0);
	CHECK_EQ_INT(msg.type, DIR_IPC_PONG);
	CHECK_EQ_INT(next_msg(fd, &msg), 0);
	CHECK_EQ_INT(msg.type, FAKE_ECHO_REPLY);
	CHECK(msg.len == 5 && memcmp(msg.payload, "hello", 5) == 0);

	text.id = 78;
	text.json = 1;
	CHECK_EQ_INT(ipc_send(fd, DIR_IPC_STATUS_REQ, &text, sizeof(text)), 0);
	CHECK_EQ_INT(next_msg(fd, &msg), 0);
	CHECK_EQ_INT(msg.type, DIR_IPC_STATUS_REPLY);
	memcpy(&id, msg.payload, sizeof(id));
	CHECK_EQ_INT(id, 78);
	CHECK(msg.len == 4 + strlen("{\"fake\":\"yes\"}") &&
	      memcmp(msg.payload + 4, "{\"fake\":\"yes\"}", msg.len - 4) == 0);
	/* The metrics: the engine's own text. */
	text.id = 79;
	text.json = DIR_STATUS_METRICS;
	CHECK_EQ_INT(ipc_send(fd, DIR_IPC_STATUS_REQ, &text, sizeof(text)), 0);
	CHECK_EQ_INT(next_msg(fd, &msg), 0);
	CHECK_EQ_INT(msg.type, DIR_IPC_STATUS_REPLY);
	memcpy(&id, msg.payload, sizeof(id));
	CHECK_EQ_INT(id, 79);
	CHECK(msg.len == 4 + 14 && memcmp(msg.payload + 4, "dsrkit_fake 1\n", 14) == 0);

	CHECK_EQ_INT(ipc_send(fd, DIR_IPC_STOP, NULL, 0), 0);
	CHECK(exits_cleanly(pid));
	close(fd);
}

/* The parent gone: the engine leaves cleanly instead of spinning. */
TEST(parent_gone)
{
	int fd = -1;
	pid_t pid = start_fake(&fd);

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	close(fd);
	CHECK(exits_cleanly(pid));
}

TEST_MAIN(T(heartbeat_status_messages_stop), T(parent_gone))
