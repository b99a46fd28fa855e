/* The agent-check port: every connection gets one line ("up ready 75%",
 * "down #vip missing", ...) in HAProxy's agent-check protocol.
 *
 * Only addresses on the allow list get an answer. The reply is sent as soon
 * as the connection is accepted; the connection is then kept only to read
 * whatever the client sends until it closes, because closing a socket with
 * unread data makes the kernel send an RST, and an RST can destroy the reply
 * before the director has read it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rs-agent.h"
#include "tcpserv.h"

/* Accepts per wakeup: a connection storm cannot starve the rest of the loop. */
#define AGENT_ACCEPT_BURST 64
#define AGENT_LISTEN_BACKLOG 128

struct agent_conn {
	struct tcpsrv_conn tcp;		/* first: the server's part */
	char line[AGENT_LINE_MAX + 2];
};

struct agent_server {
	struct tcpsrv *tcp;
	uint16_t port;
	agent_reply_cb cb;
	void *arg;
	struct agent_counters counters;
};

/* ---- the reply (pure) ---- */

static void agent_reply_clear(struct agent_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->state = AGENT_STATE_NONE;
	r->admin = AGENT_ADMIN_NONE;
	r->weight_pct = -1;
	r->maxconn = -1;
}

/* The operator's word comes first (maint, drain), but a broken real server
 * is reported down even when draining: a drained server still carries its
 * existing connections, and the directors must know those are failing. */
void report_compose(const struct report_input *in, struct agent_reply *out)
{
	agent_reply_clear(out);
	if (in->admin == ADMIN_MAINT) {
		out->admin = AGENT_ADMIN_MAINT;
	} else if (!in->dr_ok) {
		out->state = AGENT_STATE_DOWN;
		strlcpy_safe(out->reason, in->dr_problem ? in->dr_problem : "", sizeof(out->reason));
	} else if (!in->checks_ok) {
		out->state = AGENT_STATE_DOWN;
		strlcpy_safe(out->reason, in->check_problem ? in->check_problem : "",
			     sizeof(out->reason));
	} else if (in->admin == ADMIN_DRAIN) {
		out->admin = AGENT_ADMIN_DRAIN;
	} else {
		/* "ready" too, so HAProxy leaves drain once the agent is told ready. */
		out->state = AGENT_STATE_UP;
		out->admin = AGENT_ADMIN_READY;
		if (in->weight_pct >= 0)
			out->weight_pct = in->weight_pct;
	}
}

/* ---- who may ask ---- */

/* An empty list allows nobody: the port answers only whom it was told to. */
bool agent_addr_allowed(const struct ipaddr_list *allow, const struct ipaddr *peer)
{
	return ipaddr_list_allows(allow, peer);
}

/* ---- the port, on the TCP server (tcpserv.h) ---- */

/* The line is composed and sent as soon as the peer is let in. */
static int agent_open(struct tcpsrv_conn *tc, void *arg)
{
	struct agent_conn *c = (struct agent_conn *)tc;
	struct agent_server *s = arg;
	struct agent_reply reply;
	int len;

	agent_reply_clear(&reply);
	s->cb(&reply, s->arg);
	len = agent_reply_format(&reply, c->line, sizeof(c->line));
	if (len < 0)
		return len;
	s->counters.answers[agent_reply_answer(&reply)]++;
	(void)tcpsrv_send(tc, c->line, (size_t)len);
	return 0;
}

static void agent_sent(struct tcpsrv_conn *tc, void *arg)
{
	(void)tc;
	((struct agent_server *)arg)->counters.served++;
}

/* Logging refusals is the daemon's business (from the counters), so only
 * debug here. */
static void agent_note(enum tcpsrv_event ev, const struct ipaddr *peer, void *arg)
{
	struct agent_counters *n = &((struct agent_server *)arg)->counters;
	char addr[INET6_ADDRSTRLEN];

	switch (ev) {
	case TCPSRV_ACCEPTED:
		break;
	case TCPSRV_REFUSED_ADDR:
		n->rejected_addr++;
		log_debug("agent: refused, not allowed: %s", ipaddr_ntop(peer, addr, sizeof(addr)));
		break;
	case TCPSRV_REFUSED_BUSY:
		n->rejected_busy++;
		log_debug("agent: refused, too many connections: %s", ipaddr_ntop(peer, addr, sizeof(addr)));
		break;
	case TCPSRV_TIMEOUT:	/* closed before its line was all sent */
	case TCPSRV_ERROR:
		n->errors++;
		break;
	}
}

static const struct tcpsrv_proto agent_proto = {
	.conn_size = sizeof(struct agent_conn),
	.accept_burst = AGENT_ACCEPT_BURST,
	.on_open = agent_open,
	.on_sent = agent_sent,
	.note = agent_note,
};

static struct tcpsrv_conf agent_tcp_conf(const struct rs_config *cfg)
{
	return (struct tcpsrv_conf){ .allow = &cfg->allow, .max_conns = cfg->max_connections,
				     .timeout_ms = cfg->agent_timeout_ms };
}

static int listen_socket_open(const struct ipendpoint *ep, uint16_t *bound_port)
{
	int fd = tcp_listen_open(ep, AGENT_LISTEN_BACKLOG), port;

	if (fd < 0)
		return fd;
	if ((port = tcp_bound_port(fd)) < 0) {
		close(fd);
		return port;
	}
	*bound_port = (uint16_t)port;
	return fd;
}

int agent_server_start(struct evloop *loop, const struct rs_config *cfg, agent_reply_cb cb,
		       void *arg, struct agent_server **out)
{
	struct tcpsrv_conf tc = agent_tcp_conf(cfg);
	struct agent_server *s;
	int fd, ret;

	*out = NULL;
	if (!cb)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cb = cb;
	s->arg = arg;
	if ((fd = listen_socket_open(&cfg->listen, &s->port)) < 0) {
		free(s);
		return fd;
	}
	if ((ret = tcpsrv_start(loop, fd, &tc, &agent_proto, s, &s->tcp)) < 0) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void agent_server_stop(struct agent_server *s)
{
	if (!s)
		return;
	tcpsrv_stop(s->tcp);
	free(s);
}

/* Connections already open keep their deadline; new ones get the new rules. */
void agent_server_update(struct agent_server *s, const struct rs_config *cfg)
{
	struct tcpsrv_conf tc = agent_tcp_conf(cfg);

	if (tcpsrv_update(s->tcp, &tc) < 0)
		s->counters.errors++;	/* keep the old rules rather than none */
}

const struct agent_counters *agent_server_counters(const struct agent_server *s)
{
	return &s->counters;
}

int agent_server_port(const struct agent_server *s)
{
	return s->port;
}
