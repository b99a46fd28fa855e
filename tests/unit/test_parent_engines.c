/* The parent's logic (director/parent/parent.c) through its seam (struct
 * parent_ops, parent.h), without root and without fork: spawning an
 * engine makes a socketpair and a made-up pid, and this test plays both
 * engines on the other ends with the real messages (proto.h over
 * common/ipc), reports their exits, and records the signals the parent
 * sends. The real parent loop runs a bounded turn at a time. Checked:
 * which engines start and with what configuration, VRRP states relayed to
 * the LVS engine and again to a restarted one, control requests answered
 * by id while another waits, restarts with backoff, a deaf engine killed,
 * a reload bringing and taking away the LVS engine (the file checked by
 * cfgcheck's real child: a fork, no root), the stop. The real engine
 * processes are the netns and VM tests'. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "directord.h"
#include "evloop.h"
#include "ipc.h"
#include "parent.h"
#include "test.h"
#include "vrrp.h"

enum { VRRP, LVS };

/* Above any pid_max (2^22): no process has them, /proc shows none. */
#define FAKE_PID_BASE 0x40000000
#define STEP_MS 5
#define INBOX 32

struct received {
	uint16_t type;
	bool had_fd;			/* a descriptor came with it */
	uint32_t len;
	uint8_t payload[512];
};

/* One engine as the parent sees it, played by the test. */
struct fake_engine {
	int fd;				/* the engine's end; -1: not running */
	pid_t pid;
	int spawns;
	uint64_t spawned_ms;
	bool deaf;			/* leaves pings unanswered */
	struct evloop *loop;		/* the exit watch, as the parent asked for it */
	ev_child_cb exited;
	void *exited_arg;
	struct received inbox[INBOX];	/* what the parent sent, pings aside */
	size_t ninbox;
	/* What the spawn was given. */
	size_t cfg_instances;		/* VRRP: its configuration's */
	bool cfg_has_services;		/* VRRP: virtual servers kept in its configuration */
	int image_services;		/* LVS: virtual servers read from the image; -1: none readable */
};

static struct world {
	struct fake_engine eng[2];
	pid_t next_pid;
	struct {
		pid_t pid;
		int sig;
		uint64_t ms;
	} kills[16];
	size_t nkills;
	char notified[16][16];
	size_t nnotified;
	int privdrops;
	char user[32];
	char dir[64];
	char sock[128];
	char conf[128];
	char global_extra[128];		/* more [global] lines */
} W;

static uint8_t rbuf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];

/* ---- the outside, faked ---- */

static int image_services(int image)
{
	struct director_config *cfg = NULL;
	int n = 0;

	if (image < 0 || director_config_from_image_fd(image, NULL, NULL, &cfg) < 0)
		return -1;
	for (const struct virtual_server_conf *vs = cfg->lvs.services; vs; vs = vs->next)
		n++;
	director_config_free(cfg);
	return n;
}

static int fake_spawn(const struct parent_spawn *what, int *ipc_fd, pid_t *pid)
{
	struct fake_engine *fe = &W.eng[what->lvs ? LVS : VRRP];
	int fds[2], ret = ipc_pair(fds);

	if (ret < 0)
		return ret;
	if (fe->fd >= 0)
		close(fe->fd);
	fe->fd = fds[1];
	fe->pid = *pid = W.next_pid++;
	*ipc_fd = fds[0];
	fe->spawns++;
	fe->spawned_ms = now_ms();
	fe->ninbox = 0;
	if (what->lvs) {
		fe->image_services = image_services(what->image);
	} else {
		fe->cfg_instances = what->cfg->ninstances;
		fe->cfg_has_services = what->cfg->lvs.services != NULL;
	}
	return 0;
}

static struct fake_engine *engine_of(pid_t pid)
{
	for (size_t i = 0; i < ARRAY_SIZE(W.eng); i++)
		if (W.eng[i].pid == pid)
			return &W.eng[i];
	return NULL;
}

static int fake_watch(struct evloop *loop, pid_t pid, ev_child_cb cb, void *arg)
{
	struct fake_engine *fe = engine_of(pid);

	if (!fe)
		return -ESRCH;
	fe->loop = loop;
	fe->exited = cb;
	fe->exited_arg = arg;
	return 0;
}

static int fake_kill(pid_t pid, int sig)
{
	if (W.nkills < ARRAY_SIZE(W.kills))
		W.kills[W.nkills++] = (typeof(W.kills[0])){ pid, sig, now_ms() };
	return 0;
}

static int fake_privdrop(const char *user, const cap_value_t *keep, size_t nkeep)
{
	(void)keep;
	(void)nkeep;
	W.privdrops++;
	strlcpy_safe(W.user, user, sizeof(W.user));
	return 0;
}

static int fake_notify(const char *state)
{
	if (W.nnotified < ARRAY_SIZE(W.notified))
		strlcpy_safe(W.notified[W.nnotified++], state, sizeof(W.notified[0]));
	return 0;
}

static const struct parent_ops fake_ops = {
	.spawn = fake_spawn,
	.watch = fake_watch,
	.kill = fake_kill,
	.privdrop = fake_privdrop,
	.notify = fake_notify,
};

static bool notified(const char *state)
{
	for (size_t i = 0; i < W.nnotified; i++)
		if (strcmp(W.notified[i], state) == 0)
			return true;
	return false;
}

/* ---- the engines, played ---- */

/* What the parent sent: pings answered at once (unless deaf), the rest
 * kept for the test to look at. */
static void engine_read(struct fake_engine *fe)
{
	struct ipc_msg msg;
	int ret;

	while (fe->fd >= 0 && (ret = ipc_recv_fd(fe->fd, rbuf, sizeof(rbuf), &msg)) != -EAGAIN) {
		bool had_fd = msg.fd >= 0;

		if (had_fd)
			close(msg.fd);
		if (ret < 0)
			break;
		if (msg.type == DIR_IPC_PING) {
			if (!fe->deaf)
				(void)ipc_send(fe->fd, DIR_IPC_PONG, msg.payload, msg.len);
			continue;
		}
		if (fe->ninbox == INBOX || msg.len > sizeof(fe->inbox[0].payload))
			continue;
		fe->inbox[fe->ninbox].type = msg.type;
		fe->inbox[fe->ninbox].had_fd = had_fd;
		fe->inbox[fe->ninbox].len = msg.len;
		memcpy(fe->inbox[fe->ninbox++].payload, msg.payload, msg.len);
	}
}

/* The parent's loop for about ms, the engines reading between turns:
 * false once the parent has stopped. */
static bool pump(struct parent *p, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	bool running = true;

	do {
		running = parent_step(p, STEP_MS);
		for (size_t i = 0; i < ARRAY_SIZE(W.eng); i++)
			engine_read(&W.eng[i]);
	} while (running && now_ms() < end);
	return running;
}

/* Take the first message of type the engine got, waiting up to 2 s. */
static bool expect_msg(struct parent *p, int k, uint16_t type, struct received *out)
{
	struct fake_engine *fe = &W.eng[k];

	for (int turn = 0; turn < 200; turn++) {
		for (size_t i = 0; i < fe->ninbox; i++) {
			if (fe->inbox[i].type != type)
				continue;
			*out = fe->inbox[i];
			memmove(&fe->inbox[i], &fe->inbox[i + 1], (fe->ninbox - i - 1) * sizeof(fe->inbox[0]));
			fe->ninbox--;
			return true;
		}
		if (!pump(p, 10))
			break;
	}
	return false;
}

/* The same, its payload copied to payload (len bytes at most). */
static bool expect(struct parent *p, int k, uint16_t type, void *payload, size_t len)
{
	struct received r;

	if (!expect_msg(p, k, type, &r))
		return false;
	if (payload)
		memcpy(payload, r.payload, len < r.len ? len : r.len);
	return true;
}

static size_t count(int k, uint16_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < W.eng[k].ninbox; i++)
		n += W.eng[k].inbox[i].type == type;
	return n;
}

static void say_state(int k, const char *instance, int state, int priority)
{
	struct dir_ipc_state st = { .state = state, .priority = priority };

	strlcpy_safe(st.instance, instance, sizeof(st.instance));
	CHECK_EQ_INT(ipc_send(W.eng[k].fd, DIR_IPC_STATE, &st, sizeof(st)), 0);
}

/* An answer as engine_proc_answer sends it: the request's id, the text. */
static void answer(int k, uint16_t type, uint32_t id, const char *text)
{
	uint8_t msg[256];
	size_t len = strlen(text);

	memcpy(msg, &id, sizeof(id));
	memcpy(msg + sizeof(id), text, len);
	CHECK_EQ_INT(ipc_send(W.eng[k].fd, type, msg, sizeof(id) + len), 0);
}

/* The engine ends: its channel closes, then its exit is reported, as
 * the kernel does (status as from waitpid). */
static void engine_exit(struct parent *p, int k, int status)
{
	struct fake_engine *fe = &W.eng[k];
	pid_t pid = fe->pid;

	if (fe->fd >= 0)
		close(fe->fd);
	fe->fd = -1;
	(void)pump(p, 10);
	fe->pid = 0;
	CHECK(fe->exited != NULL);
	if (fe->exited)
		fe->exited(fe->loop, pid, status, false, fe->exited_arg);
}

/* Wait up to 3 s for engine k to be spawned for the n-th time. */
static bool spawned(struct parent *p, int k, int n)
{
	for (int turn = 0; turn < 300 && W.eng[k].spawns < n; turn++)
		if (!pump(p, 10))
			break;
	return W.eng[k].spawns >= n;
}

/* ---- a control client that never blocks the loop ---- */

static int ctl_send(const char *request)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char line[64];
	int len = snprintf(line, sizeof(line), "%s\n", request);

	strlcpy_safe(sun.sun_path, W.sock, sizeof(sun.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || write(fd, line, len) != len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* True once the whole reply is in (the server closed). */
static bool ctl_read(int fd, struct strbuf *reply)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		sb_appendn(reply, buf, (size_t)n);
	return n == 0;
}

static bool ctl_wait(struct parent *p, int fd, struct strbuf *reply, unsigned ms)
{
	for (unsigned turn = 0; turn * 10 < ms; turn++) {
		if (ctl_read(fd, reply))
			return true;
		if (!pump(p, 10))
			break;
	}
	return ctl_read(fd, reply);
}

/* ---- the parent, with a configuration of documentation addresses ---- */

static const char vrrp_part[] =
	"[vrrp VI_1]\ninterface = lo\nvirtual_router_id = 51\npriority = 150\n"
	"virtual_ipaddress = 192.0.2.10/24\n";
static const char lvs_part[] =
	"[virtual_server web]\naddress = 192.0.2.10:80\nprotocol = tcp\n"
	"real_servers = 198.18.0.1:80, 198.18.0.2:80\ncheck = none\n"
	"[virtual_server dns]\naddress = [2001:db8::53]:53\nprotocol = udp\n"
	"real_servers = [2001:db8::1]:53\ncheck = none\n";

/* director.ini in the test's directory: what a reload reads. */
static bool write_config(bool virtual_servers, const char *heartbeat)
{
	FILE *f = fopen(W.conf, "w");

	if (!f)
		return false;
	fprintf(f, "[global]\nuser = nobody\ncontrol_socket = %s\nengine_heartbeat_timeout = %s\n%s%s%s", W.sock,
		heartbeat, W.global_extra, vrrp_part, virtual_servers ? lvs_part : "");
	return fclose(f) == 0;
}

/* The image in a memfd, and the configuration without virtual servers
 * rebuilt from it: what main.c hands the parent. */
static int make_image(struct director_config **out)
{
	struct director_config *cfg = NULL;
	struct ini_diag d;
	struct strbuf image;
	int fd = -1, ret;

	ini_diag_init(&d);
	ret = director_config_load(W.conf, &cfg, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "    %s\n", d.msgs[i]);
	ini_diag_free(&d);
	CHECK_EQ_INT(ret, 0);
	if (ret < 0)
		return -1;
	sb_init(&image);
	if (director_config_image(cfg, &image) == 0 && (fd = memfd_create("test-image", MFD_CLOEXEC)) >= 0 &&
	    write(fd, image.buf, image.len) != (ssize_t)image.len) {
		close(fd);
		fd = -1;
	}
	sb_free(&image);
	director_config_free(cfg);
	if (fd >= 0 && director_config_from_image_fd(fd, image_vs_skip, NULL, out) < 0) {
		close(fd);
		fd = -1;
	}
	CHECK(fd >= 0);
	return fd;
}

static struct parent *start(bool virtual_servers, const char *heartbeat)
{
	struct director_config *cfg = NULL;
	int image;

	char extra[sizeof(W.global_extra)];

	strlcpy_safe(extra, W.global_extra, sizeof(extra));	/* set before start */
	memset(&W, 0, sizeof(W));
	strlcpy_safe(W.global_extra, extra, sizeof(W.global_extra));
	W.eng[VRRP].fd = W.eng[LVS].fd = -1;
	W.next_pid = FAKE_PID_BASE;
	strlcpy_safe(W.dir, "/tmp/test_parent_engines.XXXXXX", sizeof(W.dir));
	if (!mkdtemp(W.dir))
		return NULL;
	snprintf(W.sock, sizeof(W.sock), "%s/ctl.sock", W.dir);
	snprintf(W.conf, sizeof(W.conf), "%s/director.ini", W.dir);
	CHECK(write_config(virtual_servers, heartbeat));
	image = make_image(&cfg);
	if (image < 0)
		return NULL;
	return parent_start(cfg, image, false, &fake_ops);
}

/* Stop it if it runs, free it; the test's directory goes. */
static void finish(struct parent *p)
{
	for (int turn = 0; p && turn < 100 && (W.eng[VRRP].pid > 0 || W.eng[LVS].pid > 0); turn++) {
		if (turn == 0)
			kill(getpid(), SIGTERM);
		for (int k = VRRP; k <= LVS; k++)
			if (W.eng[k].pid > 0)
				engine_exit(p, k, 0);
		(void)pump(p, 10);
	}
	if (p)
		CHECK_EQ_INT(parent_end(p, 0), 0);
	for (int k = VRRP; k <= LVS; k++)
		if (W.eng[k].fd >= 0)
			close(W.eng[k].fd);
	CHECK(access(W.sock, F_OK) < 0);	/* the parent removed its socket */
	unlink(W.conf);
	rmdir(W.dir);
}

/* ---- the tests ---- */

TEST(starts_the_engines_the_configuration_has)
{
	struct parent *p = start(true, "0");

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(W.eng[VRRP].spawns, 1);
	CHECK_EQ_INT(W.eng[LVS].spawns, 1);
	CHECK(W.eng[VRRP].pid != W.eng[LVS].pid);
	/* The VRRP engine runs the configuration without its virtual
	 * servers; the LVS engine gets all of them through the image. */
	CHECK_EQ_INT(W.eng[VRRP].cfg_instances, 1);
	CHECK(!W.eng[VRRP].cfg_has_services);
	CHECK_EQ_INT(W.eng[LVS].image_services, 2);
	CHECK_EQ_INT(W.privdrops, 1);
	CHECK_EQ_STR(W.user, "nobody");
	CHECK(notified("READY=1"));
	CHECK(access(W.sock, F_OK) == 0);
	finish(p);

	p = start(false, "0");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(W.eng[VRRP].spawns, 1);
	CHECK_EQ_INT(W.eng[LVS].spawns, 0);	/* no [virtual_server]: no LVS engine */
	(void)pump(p, 50);
	CHECK_EQ_INT(W.eng[LVS].spawns, 0);
	finish(p);
}

TEST(vrrp_states_reach_the_lvs_engine_and_its_successor)
{
	struct parent *p = start(true, "0");
	struct dir_ipc_state got;

	if (!p)
		return;
	say_state(VRRP, "VI_1", VRRP_STATE_MASTER, 150);
	memset(&got, 0, sizeof(got));
	CHECK(expect(p, LVS, DIR_IPC_VRRP_STATE, &got, sizeof(got)));
	CHECK_EQ_STR(got.instance, "VI_1");
	CHECK_EQ_INT(got.state, VRRP_STATE_MASTER);
	CHECK_EQ_INT(got.priority, 150);
	say_state(VRRP, "VI_1", VRRP_STATE_BACKUP, 100);
	CHECK(expect(p, LVS, DIR_IPC_VRRP_STATE, &got, sizeof(got)));
	CHECK_EQ_INT(got.state, VRRP_STATE_BACKUP);
	/* The LVS engine's own DIR_IPC_STATE is not a VRRP state. */
	say_state(LVS, "VI_1", VRRP_STATE_MASTER, 1);
	(void)pump(p, 50);
	CHECK_EQ_INT(count(LVS, DIR_IPC_VRRP_STATE), 0);

	/* A new LVS engine learns the current state, once. */
	engine_exit(p, LVS, 1 << 8);
	CHECK(spawned(p, LVS, 2));
	(void)pump(p, 50);
	CHECK_EQ_INT(count(LVS, DIR_IPC_VRRP_STATE), 1);
	memset(&got, 0, sizeof(got));
	CHECK(expect(p, LVS, DIR_IPC_VRRP_STATE, &got, sizeof(got)));
	CHECK_EQ_STR(got.instance, "VI_1");
	CHECK_EQ_INT(got.state, VRRP_STATE_BACKUP);
	CHECK_EQ_INT(got.priority, 100);
	finish(p);
}

/* Two status requests at once, answered by id in the other order: the one
 * answered first is replied to while the other still waits on an engine. */
TEST(control_requests_answered_by_id_without_waiting)
{
	struct parent *p = start(true, "0");
	struct dir_ipc_status_req qa[2], qb[2];
	struct strbuf ra, rb, rc;
	int a, b, c;

	if (!p)
		return;
	sb_init(&ra);
	sb_init(&rb);
	sb_init(&rc);
	a = ctl_send("status");
	CHECK(a >= 0);
	for (int k = VRRP; k <= LVS; k++)
		CHECK(expect(p, k, DIR_IPC_STATUS_REQ, &qa[k], sizeof(qa[k])));
	b = ctl_send("status");
	CHECK(b >= 0);
	for (int k = VRRP; k <= LVS; k++)
		CHECK(expect(p, k, DIR_IPC_STATUS_REQ, &qb[k], sizeof(qb[k])));
	CHECK_EQ_INT(qa[VRRP].id, qa[LVS].id);	/* one request, both engines */
	CHECK(qa[VRRP].id != qb[VRRP].id);
	CHECK_EQ_INT(qa[VRRP].json, 0);

	answer(LVS, DIR_IPC_STATUS_REPLY, qb[LVS].id, "lvs says b\n");
	answer(LVS, DIR_IPC_STATUS_REPLY, qa[LVS].id, "lvs says a\n");
	answer(VRRP, DIR_IPC_STATUS_PART, qb[VRRP].id, "vrrp says ");
	answer(VRRP, DIR_IPC_STATUS_REPLY, qb[VRRP].id, "b\n");
	CHECK(ctl_wait(p, b, &rb, 2000));
	CHECK_CONTAINS(sb_str(&rb), "vrrp says b\n");
	CHECK_CONTAINS(sb_str(&rb), "lvs says b\n");
	CHECK(!strstr(sb_str(&rb), "says a"));
	CHECK(!ctl_wait(p, a, &ra, 50));	/* the VRRP engine owes a its answer */
	CHECK_EQ_INT(ra.len, 0);

	/* A third, served meanwhile: an engine that exits answers no more. */
	c = ctl_send("status");
	CHECK(c >= 0);
	CHECK(expect(p, VRRP, DIR_IPC_STATUS_REQ, &qb[VRRP], sizeof(qb[VRRP])));
	CHECK(expect(p, LVS, DIR_IPC_STATUS_REQ, NULL, 0));
	answer(VRRP, DIR_IPC_STATUS_REPLY, qb[VRRP].id, "vrrp says c\n");
	engine_exit(p, LVS, 1 << 8);
	CHECK(ctl_wait(p, c, &rc, 2000));
	CHECK_CONTAINS(sb_str(&rc), "vrrp says c\n");
	CHECK_CONTAINS(sb_str(&rc), "lvs engine not answering");

	answer(VRRP, DIR_IPC_STATUS_REPLY, 424242, "nobody asked\n");	/* dropped */
	answer(VRRP, DIR_IPC_STATUS_REPLY, qa[VRRP].id, "vrrp says a\n");
	CHECK(ctl_wait(p, a, &ra, 2000));
	CHECK_CONTAINS(sb_str(&ra), "vrrp says a\n");
	CHECK_CONTAINS(sb_str(&ra), "lvs says a\n");
	CHECK(!strstr(sb_str(&ra), "nobody asked"));
	close(a);
	close(b);
	close(c);
	sb_free(&ra);
	sb_free(&rb);
	sb_free(&rc);
	finish(p);
}

/* `doctor` asks the LVS engine alone (DIR_STATUS_DOCTOR) and answers with
 * its lines as they are; without an LVS engine it is an error at once. */
TEST(doctor_asks_the_lvs_engine_alone)
{
	struct parent *p = start(true, "0");
	struct dir_ipc_status_req q;
	struct strbuf r;
	int c;

	if (!p)
		return;
	sb_init(&r);
	c = ctl_send("doctor");
	CHECK(c >= 0);
	CHECK(expect(p, LVS, DIR_IPC_STATUS_REQ, &q, sizeof(q)));
	CHECK_EQ_INT(q.json, DIR_STATUS_DOCTOR);
	CHECK_EQ_INT(count(VRRP, DIR_IPC_STATUS_REQ), 0);
	answer(LVS, DIR_IPC_STATUS_REPLY, q.id, "vs web tcp 198.18.0.100 80\n");
	CHECK(ctl_wait(p, c, &r, 2000));
	CHECK_EQ_STR(sb_str(&r), "vs web tcp 198.18.0.100 80\n");
	close(c);
	sb_reset(&r);
	engine_exit(p, LVS, 1 << 8);	/* restarting: not answering */
	c = ctl_send("doctor");
	CHECK(c >= 0);
	CHECK(ctl_wait(p, c, &r, 2000));
	CHECK_CONTAINS(sb_str(&r), "the lvs engine is not answering");
	close(c);
	sb_free(&r);
	finish(p);
}

/* A free TCP port on 127.0.0.1 (for a moment). */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int scrape(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char req[] = "GET /metrics HTTP/1.1\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The parent and both engines, with the metrics endpoint on
 * 127.0.0.1:port. */
static struct parent *start_with_metrics(int port)
{
	struct parent *p;

	snprintf(W.global_extra, sizeof(W.global_extra), "metrics_listen = 127.0.0.1:%d\nmetrics_allow = 127.0.0.1\n",
		 port);
	p = start(true, "0");
	W.global_extra[0] = '\0';
	return p;
}

/* A scrape is a request by id to both engines (DIR_STATUS_METRICS); the
 * parent goes on meanwhile (a status is answered), and answers with its
 * own families and the engines' texts, an engine that never answers
 * counted down after its bound. */
TEST(a_scrape_asks_both_engines_by_id)
{
	struct dir_ipc_status_req q[2], qs[2];
	struct strbuf body, st;
	int port = free_port(), fd, c;
	struct parent *p;

	p = start_with_metrics(port);
	if (!p)
		return;
	sb_init(&body);
	sb_init(&st);
	fd = scrape(port);
	CHECK(fd >= 0);
	for (int k = VRRP; k <= LVS; k++)
		CHECK(expect(p, k, DIR_IPC_STATUS_REQ, &q[k], sizeof(q[k])));
	CHECK_EQ_INT(q[VRRP].json, DIR_STATUS_METRICS);
	CHECK_EQ_INT(q[VRRP].id, q[LVS].id);
	/* Meanwhile a status is asked and answered. */
	c = ctl_send("status");
	for (int k = VRRP; k <= LVS; k++)
		CHECK(expect(p, k, DIR_IPC_STATUS_REQ, &qs[k], sizeof(qs[k])));
	for (int k = VRRP; k <= LVS; k++)
		answer(k, DIR_IPC_STATUS_REPLY, qs[k].id, "fine\n");
	CHECK(ctl_wait(p, c, &st, 2000));
	CHECK_CONTAINS(sb_str(&st), "fine");
	/* The VRRP engine answers in two pieces; the LVS engine never. */
	answer(VRRP, DIR_IPC_STATUS_PART, q[VRRP].id, "dsrkit_vrrp_x");
	answer(VRRP, DIR_IPC_STATUS_REPLY, q[VRRP].id, " 1\n");
	CHECK(!ctl_wait(p, fd, &body, 500));
	CHECK(ctl_wait(p, fd, &body, 3000));
	CHECK_CONTAINS(sb_str(&body), "HTTP/1.1 200 OK\r\n");
	CHECK_CONTAINS(sb_str(&body), "\ndsrkit_engine_up{engine=\"vrrp\"} 1\ndsrkit_engine_up{engine=\"lvs\"} 0\n");
	CHECK_CONTAINS(sb_str(&body), "\ndsrkit_reloads_total{result=\"success\"} 0\n");
	CHECK_CONTAINS(sb_str(&body), "\ndsrkit_metrics_refused_connections_total{reason=\"not_allowed\"} 0\n");
	CHECK_CONTAINS(sb_str(&body), "\ndsrkit_vrrp_x 1\n");
	if (fd >= 0)
		close(fd);
	if (c >= 0)
		close(c);
	sb_free(&body);
	sb_free(&st);
	finish(p);
}

/* Scrapes whose clients hang up (a reset) before the engines answered
 * keep their places until then: clients that ask and leave in a loop set
 * no more than 4 scrapes in work, so the engines are asked 4 times, not
 * once per connection. */
TEST(scrapes_that_hang_up_ask_the_engines_four_times_at_most)
{
	struct linger reset = { 1, 0 };
	struct dir_ipc_status_req q;
	int port = free_port(), fd;
	struct parent *p;

	p = start_with_metrics(port);
	if (!p)
		return;
	for (int i = 0; i < 10; i++) {
		fd = scrape(port);
		CHECK(fd >= 0);
		(void)pump(p, 30);
		if (fd >= 0) {
			CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) == 0);
			close(fd);
		}
		(void)pump(p, 30);
	}
	CHECK_EQ_INT(count(VRRP, DIR_IPC_STATUS_REQ), 4);
	CHECK_EQ_INT(count(LVS, DIR_IPC_STATUS_REQ), 4);
	/* Answered, the places are free: the next scrape is asked. */
	for (int i = 0; i < 4; i++)
		for (int k = VRRP; k <= LVS; k++)
			if (expect(p, k, DIR_IPC_STATUS_REQ, &q, sizeof(q)))
				answer(k, DIR_IPC_STATUS_REPLY, q.id, "");
	(void)pump(p, 30);
	fd = scrape(port);
	CHECK(expect(p, VRRP, DIR_IPC_STATUS_REQ, &q, sizeof(q)));
	if (fd >= 0)
		close(fd);
	finish(p);
}

/* Exits in a row: restarted after RESTART_BACKOFF_MIN_MS, then twice
 * that, then twice again. */
TEST(an_engine_that_exits_is_restarted_with_backoff)
{
	struct parent *p = start(false, "0");
	uint64_t delay = RESTART_BACKOFF_MIN_MS;

	if (!p)
		return;
	for (int n = 2; n <= 4; n++, delay *= 2) {
		uint64_t t0;

		engine_exit(p, VRRP, 1 << 8);
		t0 = now_ms();
		CHECK(spawned(p, VRRP, n));
		CHECK(W.eng[VRRP].spawned_ms - t0 + 2 >= delay);	/* the loop's clock may round by 1 */
		CHECK(W.eng[VRRP].spawned_ms - t0 < delay + 300);
	}
	CHECK_EQ_INT(W.nkills, 0);
	finish(p);
}

/* A loop that answers no ping for the whole heartbeat timeout is killed
 * (SIGKILL) and, once reaped, started again; one that answers never is. */
TEST(a_deaf_engine_is_killed_and_restarted)
{
	struct parent *p = start(false, "500ms");
	uint64_t deaf_from;

	if (!p)
		return;
	(void)pump(p, 1200);	/* answered: more than twice the timeout */
	CHECK_EQ_INT(W.nkills, 0);
	W.eng[VRRP].deaf = true;
	deaf_from = now_ms();
	for (int turn = 0; turn < 200 && W.nkills == 0; turn++)
		(void)pump(p, 10);
	CHECK_EQ_INT(W.nkills, 1);
	CHECK_EQ_INT(W.kills[0].pid, W.eng[VRRP].pid);
	CHECK_EQ_INT(W.kills[0].sig, SIGKILL);
	CHECK(W.kills[0].ms - deaf_from >= 500);
	CHECK(W.kills[0].ms - deaf_from < 500 + 125 + 300);
	W.eng[VRRP].deaf = false;
	engine_exit(p, VRRP, SIGKILL);	/* as waitpid says: killed by SIGKILL */
	CHECK(spawned(p, VRRP, 2));
	CHECK(W.eng[VRRP].pid != W.kills[0].pid);
	(void)pump(p, 700);
	CHECK_EQ_INT(W.nkills, 1);	/* the new one answers */
	finish(p);
}

/* An engine that sends what the channel cannot carry (here a datagram
 * shorter than a header) no longer speaks the protocol: it is killed and
 * restarted. Before, the parent took its channel off the loop and left it
 * running, its states relayed only when the heartbeat came by. */
TEST(an_engine_that_sends_garbage_is_restarted)
{
	struct parent *p = start(true, "0");
	const char garbage[3] = { 1, 2, 3 };

	if (!p)
		return;
	CHECK_EQ_INT(W.nkills, 0);
	CHECK(send(W.eng[VRRP].fd, garbage, sizeof(garbage), MSG_DONTWAIT) == (ssize_t)sizeof(garbage));
	for (int turn = 0; turn < 50 && W.nkills == 0; turn++)
		(void)pump(p, 10);
	CHECK_EQ_INT(W.nkills, 1);
	CHECK_EQ_INT(W.kills[0].pid, W.eng[VRRP].pid);
	CHECK_EQ_INT(W.kills[0].sig, SIGKILL);
	engine_exit(p, VRRP, SIGKILL);
	CHECK(spawned(p, VRRP, 2));
	/* The new one is heard at once. */
	say_state(VRRP, "VI_1", VRRP_STATE_MASTER, 150);
	CHECK(expect(p, LVS, DIR_IPC_VRRP_STATE, NULL, 0));
	CHECK_EQ_INT(W.eng[LVS].pid > 0, 1);
	CHECK_EQ_INT(W.nkills, 1);
	finish(p);
}

/* SIGTERM: every engine is asked to stop (by message, or by SIGTERM when
 * its channel is gone), nothing is restarted, and the parent ends when
 * the last one has exited. */
TEST(stop_asks_both_engines_and_ends_when_they_are_gone)
{
	struct parent *p = start(true, "0");
	pid_t vrrp_pid, lvs_pid;

	if (!p)
		return;
	vrrp_pid = W.eng[VRRP].pid;
	lvs_pid = W.eng[LVS].pid;
	/* The LVS engine's channel is closed, its process not yet reaped. */
	close(W.eng[LVS].fd);
	W.eng[LVS].fd = -1;
	(void)pump(p, 20);
	kill(getpid(), SIGTERM);
	CHECK(pump(p, 50));
	CHECK(notified("STOPPING=1"));
	CHECK(expect(p, VRRP, DIR_IPC_STOP, NULL, 0));
	CHECK_EQ_INT(W.nkills, 1);
	CHECK_EQ_INT(W.kills[0].pid, lvs_pid);
	CHECK_EQ_INT(W.kills[0].sig, SIGTERM);
	engine_exit(p, VRRP, 0);
	CHECK(pump(p, 200));	/* the LVS engine is still there */
	CHECK_EQ_INT(W.eng[VRRP].spawns, 1);
	engine_exit(p, LVS, SIGTERM);
	CHECK(!pump(p, 50));
	CHECK_EQ_INT(W.eng[VRRP].spawns, 1);
	CHECK_EQ_INT(W.eng[LVS].spawns, 1);
	CHECK(vrrp_pid != lvs_pid);
	CHECK_EQ_INT(W.nkills, 1);
	finish(p);
}

/* One reload: the client's answer waits for every engine asked. */
static void reload_once(struct parent *p, bool vrrp_asked, bool lvs_asked, struct strbuf *reply)
{
	struct received got[2];
	struct dir_ipc_reload req[2];
	bool asked[2] = { vrrp_asked, lvs_asked };
	int c = ctl_send("reload");

	CHECK(c >= 0);
	for (int k = VRRP; k <= LVS; k++) {
		if (!asked[k])
			continue;
		/* The file is checked in a child first: a bound of seconds. */
		for (int turn = 0; turn < 5 && count(k, DIR_IPC_RELOAD) == 0; turn++)
			(void)pump(p, 200);
		CHECK(expect_msg(p, k, DIR_IPC_RELOAD, &got[k]));
		CHECK(got[k].had_fd);	/* the checked image comes with it */
		memcpy(&req[k], got[k].payload, sizeof(req[k]));
	}
	CHECK(!ctl_wait(p, c, reply, 30));	/* not before the engines answered */
	for (int k = VRRP; k <= LVS; k++) {
		struct dir_ipc_result res = { .id = req[k].id, .result = 0 };

		if (asked[k])
			CHECK_EQ_INT(ipc_send(W.eng[k].fd, DIR_IPC_RELOAD_REPLY, &res, sizeof(res)), 0);
	}
	CHECK(ctl_wait(p, c, reply, 2000));
	close(c);
}

/* A reload that brings virtual servers starts the LVS engine with them;
 * one that takes them away has it apply the file, then stop, and it is
 * not started again. */
TEST(reload_starts_and_stops_the_lvs_engine)
{
	struct parent *p = start(false, "0");
	struct strbuf reply;

	if (!p)
		return;
	sb_init(&reply);
	CHECK(write_config(true, "0"));
	reload_once(p, true, false, &reply);
	CHECK_CONTAINS(sb_str(&reply), "\"ok\":true");
	CHECK_EQ_INT(W.eng[LVS].spawns, 1);
	CHECK_EQ_INT(W.eng[LVS].image_services, 2);
	CHECK(notified("RELOADING=1"));

	sb_free(&reply);
	sb_init(&reply);
	CHECK(write_config(false, "0"));
	reload_once(p, true, true, &reply);
	CHECK_CONTAINS(sb_str(&reply), "\"ok\":true");
	CHECK(expect(p, LVS, DIR_IPC_STOP, NULL, 0));
	CHECK_EQ_INT(count(VRRP, DIR_IPC_STOP), 0);
	engine_exit(p, LVS, 0);
	(void)pump(p, 300);
	CHECK_EQ_INT(W.eng[LVS].spawns, 1);
	CHECK_EQ_INT(W.eng[VRRP].spawns, 1);
	CHECK_EQ_INT(W.nkills, 0);
	sb_free(&reply);
	finish(p);
}

TEST_MAIN(T(a_scrape_asks_both_engines_by_id), T(scrapes_that_hang_up_ask_the_engines_four_times_at_most), T(starts_the_engines_the_configuration_has), T(vrrp_states_reach_the_lvs_engine_and_its_successor),
	  T(control_requests_answered_by_id_without_waiting), T(an_engine_that_exits_is_restarted_with_backoff),
	  T(a_deaf_engine_is_killed_and_restarted), T(an_engine_that_sends_garbage_is_restarted), T(reload_starts_and_stops_the_lvs_engine),
	  T(stop_asks_both_engines_and_ends_when_they_are_gone), T(doctor_asks_the_lvs_engine_alone))
