/* Unix control socket: a client writes one request line, the server writes
 * its reply (JSON, or text for humans) and closes. */
#ifndef DSRKIT_CTLSOCK_H
#define DSRKIT_CTLSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"
#include "util.h"

#define CTL_REQUEST_MAX 512
#define CTL_MAX_ARGS 8

struct ctlserver;

/* Parsed request: words split on blanks. Returns 0, or -EINVAL for an
 * empty line, a control character, or more than CTL_MAX_ARGS words. The
 * line is modified in place. */
struct ctl_request {
	int argc;
	char *argv[CTL_MAX_ARGS];
};
int ctl_request_parse(char *line, struct ctl_request *req);

/* The handler fills reply; the server sends it and closes the connection. */
typedef void (*ctl_handler)(const struct ctl_request *req, struct strbuf *reply, void *arg);

/* Create the listening socket (removing a stale socket file), then set the
 * file's owner, group and mode explicitly. uid/gid (uid_t)-1 = unchanged. */
int ctlsock_listen(const char *path, uid_t owner, gid_t group, unsigned mode, int *fd);

/* Serve connections on fd from the loop. Requests longer than
 * CTL_REQUEST_MAX or slower than timeout_ms are answered with an error. */
int ctlserver_start(struct evloop *loop, int listen_fd, unsigned timeout_ms,
		    ctl_handler handler, void *arg, struct ctlserver **out);
void ctlserver_stop(struct ctlserver *srv);

/* A reply that cannot be given at once (the daemon must ask a process of
 * its own first): called from the handler, it keeps the connection open
 * without an answer and returns a ticket (never 0); the handler leaves
 * reply empty. The loop goes on meanwhile. ctlserver_answer() sends the
 * reply; a client that hangs up meanwhile is forgotten, and one still
 * waiting after timeout_ms gets an error reply. */
uint64_t ctlserver_defer(struct ctlserver *srv, unsigned timeout_ms);
/* The reply for ticket: 0, or -ENOENT when its client is gone. Given
 * before the handler that deferred it returns, it is sent as an immediate
 * reply. */
int ctlserver_answer(struct ctlserver *srv, uint64_t ticket, const char *reply, size_t len);

/* All a daemon does to open its control socket: group looked up (NULL:
 * the caller's), the socket's directory made (0755) when missing, the
 * socket bound owned by the caller with that group and mode, then served
 * from loop. 0, or -errno with what failed in err (-EADDRINUSE: another
 * daemon answers on path). */
int ctlsock_serve(struct evloop *loop, const char *path, const char *group, unsigned mode, unsigned timeout_ms,
		  ctl_handler handler, void *arg, int *fd, struct ctlserver **out, char *err, size_t errlen);

/* Standard replies: {"ok":true[,"key":"value"]} and {"error":"msg"}, each
 * with a final newline. */
void ctl_reply_ok(struct strbuf *out, const char *key, const char *value);
void ctl_reply_error(struct strbuf *out, const char *msg);
/* For clients: 1 and the message in msg when reply is such an error
 * reply, 0 when it is anything else. */
int ctl_reply_error_text(const char *reply, struct strbuf *msg);

/* Client: send request (a newline is added), read the whole reply.
 * Returns 0 or -errno (-ECONNREFUSED/-ENOENT when no daemon listens). */
int ctl_call(const char *path, const char *request, unsigned timeout_ms, struct strbuf *reply);

#endif
