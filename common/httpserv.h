/* The smallest HTTP/1.x server a Prometheus scrape needs, for both
 * daemons' `metrics_listen`: one GET /metrics per connection, answered
 * (now, or later by ticket when the daemon must ask a process of its own
 * first) and closed. Peers off the allow list are closed at accept without
 * a byte; a request is read within a size and a time limit; the answer is
 * written without ever blocking, from a queue bounded in size; at most
 * max_clients connections at a time. Nothing here logs: what happened is
 * counted (struct httpsrv_counters), for the daemons' own metrics. */
#ifndef DSRKIT_HTTPSERV_H
#define DSRKIT_HTTPSERV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "ini.h"
#include "parse.h"
#include "tcpserv.h"

#define HTTPSRV_REQUEST_MAX 4096	/* request line and headers */
#define HTTPSRV_PATH "/metrics"
/* The exposition format's media type (text format 0.0.4). */
#define HTTPSRV_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- the request (pure; fuzzed by tests/fuzz/fuzz_http_request.c) ---- */

struct http_request_head {
	char method[16];
	char path[256];			/* the target without its query */
};

/* Parse what was received so far. Returns the length of the complete head
 * (through its empty line) with *out filled, 0 when more is needed,
 * -E2BIG when it would exceed HTTPSRV_REQUEST_MAX (or a method or path
 * its fields cannot hold), -EINVAL when it is not HTTP/1.x. */
int http_request_head_parse(const char *buf, size_t len, struct http_request_head *out);
/* The answer a parsed request gets: 200 (GET /metrics, any query), 405
 * (another method), 404 (another path). */
int http_request_route(const struct http_request_head *h);

/* ---- who may ask ---- */

/* ipaddr_list_allows, ipaddr_from_sockaddr: tcpserv.h. */

/* The rule both daemons' metrics_listen and metrics_allow follow: off
 * without a listen address; with one, a port and an allow list. NULL
 * when they are right, else the message, with *key the key it is about
 * ("metrics_listen" or "metrics_allow"). */
const char *metrics_keys_problem(const struct ipendpoint *listen, const struct ipaddr_list *allow, const char **key);

/* ---- the server ---- */

struct httpsrv_conf {
	const struct ipaddr_list *allow; /* copied */
	/* Connections at a time, a client that left before its answer
	 * counted until the daemon answers it: so also the daemon's scrapes
	 * in work. More are closed at accept. */
	unsigned max_clients;
	uint64_t timeout_ms;		/* a connection's whole life: request, answer, close */
	size_t max_answer;		/* the largest answer (the output queue's bound); larger: 500 */
};

struct httpsrv_counters {
	uint64_t accepted;		/* allowed connections */
	uint64_t refused_addr;		/* closed at accept: not on the allow list */
	uint64_t refused_busy;		/* closed at accept: max_clients reached */
	uint64_t answered[4];		/* by class: 2xx, 4xx, 5xx, other */
	uint64_t bad_requests;		/* 400, 431 */
	uint64_t timeouts;		/* closed at the deadline */
	uint64_t errors;		/* accept, memory, send */
};

struct httpsrv;

/* A GET /metrics came: answer it with httpsrv_answer(s, ticket, ...), now
 * (from inside the handler) or later from the loop. */
typedef void (*httpsrv_handler)(struct httpsrv *s, uint64_t ticket, void *arg);

/* tcp_listen_open, tcp_bound_port: tcpserv.h. */
/* Serve on fd (taken over: closed by httpsrv_stop). 0 or -errno. */
int httpsrv_start(struct evloop *loop, int fd, const struct httpsrv_conf *conf, httpsrv_handler handler, void *arg,
		  struct httpsrv **out);
/* New rules for new connections (a reload); 0 or -ENOMEM (the old kept). */
int httpsrv_update(struct httpsrv *s, const struct httpsrv_conf *conf);
void httpsrv_stop(struct httpsrv *s);
/* The answer to ticket: status 200 with body as the exposition format,
 * else body as plain text. 0, or -ENOENT when the connection is gone
 * (timed out, reset). */
int httpsrv_answer(struct httpsrv *s, uint64_t ticket, int status, const char *body, size_t len);
const struct httpsrv_counters *httpsrv_counters(const struct httpsrv *s);
/* Connections open now, and places held for answers whose client left. */
unsigned httpsrv_clients(const struct httpsrv *s);

#endif
