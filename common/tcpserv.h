/* The TCP server both daemons' small ports share: rs-agent's agent-check
 * port and the metrics endpoints (httpserv.h). It owns the listening
 * socket, accepts in bursts (a connection storm cannot starve the loop;
 * out of descriptors, it stops accepting for a second rather than spin on
 * a listener that stays readable), closes peers off the allow list or
 * over the connection limit at accept without a byte, and keeps the
 * connections, each with one deadline for its whole life. Once a
 * connection's answer is all sent it shuts down its side (the FIN tells
 * the client the answer is complete) and reads whatever the client still
 * sends until it closes: closing with unread data would send a reset,
 * which can destroy an answer the client has not read yet.
 * What is said on a connection is the protocol's (struct tcpsrv_proto).
 * Nothing here logs: what happened goes to the protocol's note(). */
#ifndef DSRKIT_TCPSERV_H
#define DSRKIT_TCPSERV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "ini.h"
#include "parse.h"

/* A listening TCP socket on ep (IPv6 only for an IPv6 address), before
 * privileges are dropped (a port below 1024). The descriptor, or -errno. */
int tcp_listen_open(const struct ipendpoint *ep, int backlog);
/* The port fd is bound to (ep's port 0 picks one), or -errno. */
int tcp_bound_port(int fd);

/* Whether peer is on the list (an IPv4-mapped IPv6 peer is matched as
 * the IPv4 address). An empty list allows nobody. */
bool ipaddr_list_allows(const struct ipaddr_list *allow, const struct ipaddr *peer);
/* An accepted peer's address (a host address: prefix 32 or 128). */
struct sockaddr_storage;
void ipaddr_from_sockaddr(const struct sockaddr_storage *ss, struct ipaddr *a);

struct tcpsrv;

enum tcpsrv_conn_state {
	TCPSRV_OPEN,		/* the protocol's: its on_event gets the socket's events */
	TCPSRV_SENDING,		/* tcpsrv_send's answer going out */
	TCPSRV_DRAINING,	/* all sent; reading until the client closes */
};

/* The head of a protocol's connection (its first member). */
struct tcpsrv_conn {
	struct tcpsrv *srv;
	struct tcpsrv_conn *prev, *next;
	int fd;				/* -1 once orphaned */
	enum tcpsrv_conn_state state;
	const char *out;		/* the answer (the protocol's, kept until sent) */
	size_t outlen, sent;
	struct ev_timer deadline;
};

/* What note() is told. */
enum tcpsrv_event {
	TCPSRV_ACCEPTED,	/* a peer let in */
	TCPSRV_REFUSED_ADDR,	/* closed at accept: not on the allow list */
	TCPSRV_REFUSED_BUSY,	/* closed at accept: max_conns reached */
	TCPSRV_TIMEOUT,		/* closed at the deadline before its answer was all sent */
	TCPSRV_ERROR,		/* accept, memory, epoll, send */
};

struct tcpsrv_proto {
	size_t conn_size;		/* the protocol's connection, struct tcpsrv_conn first */
	unsigned accept_burst;		/* accepts per wakeup */
	/* A connection let in, zeroed beyond its head: 0, or < 0 to close
	 * it as an error. May send (and so close) at once, then returns 0. */
	int (*on_open)(struct tcpsrv_conn *c, void *arg);
	/* Events of an open connection (TCPSRV_OPEN): may close it. NULL
	 * for a protocol that sends at open. */
	void (*on_event)(struct tcpsrv_conn *c, uint32_t events, void *arg);
	/* The answer is all sent (NULL: nothing to do). */
	void (*on_sent)(struct tcpsrv_conn *c, void *arg);
	/* Before the connection is freed (NULL: nothing to release). */
	void (*on_close)(struct tcpsrv_conn *c, void *arg);
	/* peer: the connection's address for accepts and refusals, else NULL. */
	void (*note)(enum tcpsrv_event ev, const struct ipaddr *peer, void *arg);
};

struct tcpsrv_conf {
	const struct ipaddr_list *allow; /* copied */
	unsigned max_conns;		/* at a time; more are closed at accept */
	uint64_t timeout_ms;		/* a connection's whole life */
};

/* Serve on fd (taken over: closed by tcpsrv_stop, or here on failure).
 * proto and arg outlive the server. 0 or -errno. */
int tcpsrv_start(struct evloop *loop, int fd, const struct tcpsrv_conf *conf, const struct tcpsrv_proto *proto,
		 void *arg, struct tcpsrv **out);
/* New rules for new connections (open ones keep their deadline); 0 or
 * -ENOMEM (the old rules kept, all of them). */
int tcpsrv_update(struct tcpsrv *s, const struct tcpsrv_conf *conf);
/* Close every connection (on_close each), the listener, free s. */
void tcpsrv_stop(struct tcpsrv *s);

/* Send len bytes of out (kept by the caller until on_sent or close),
 * without blocking: what the kernel takes now, the rest on EPOLLOUT; then
 * drain. False when the connection was closed (a send error). */
bool tcpsrv_send(struct tcpsrv_conn *c, const char *out, size_t len);
void tcpsrv_close(struct tcpsrv_conn *c);
/* The client's socket goes, but the connection keeps its place (counted
 * against max_conns) until the protocol closes it or the deadline. */
void tcpsrv_orphan(struct tcpsrv_conn *c);

/* The connections (newest first), and how many. */
struct tcpsrv_conn *tcpsrv_conns(const struct tcpsrv *s);
unsigned tcpsrv_nconns(const struct tcpsrv *s);

#endif
