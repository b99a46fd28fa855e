/* HTTP/1.x health-check requests and responses, for rs-agent's local http
 * checks and directord's http checks: one request format and one response
 * parser, so both daemons judge a server's answer the same way.
 *
 * The parser reads bytes from whatever answers on the checked port, a
 * piece at a time as recv() delivers them. It is pure (no allocation, no
 * state between calls) and fuzzed. */
#ifndef DSRKIT_HTTP_H
#define DSRKIT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "parse.h"
#include "util.h"

/* Enough for the status line, the headers and the start of any health
 * page; a checker reads no more than this of one response. */
#define HTTP_RESPONSE_MAX (64 * 1024)
/* A status line (with its line end) longer than this is not HTTP. */
#define HTTP_STATUS_LINE_MAX 256

/* The status line of a response read so far:
 *   "HTTP/" 1*DIGIT [ "." 1*DIGIT ] 1*SP 3DIGIT ( SP / HTAB / CRLF / LF ).
 * 0 and *status (100-599) once the line is complete; -EAGAIN while it is
 * not (no LF within the first len < HTTP_STATUS_LINE_MAX bytes); -EINVAL
 * when it cannot become one (a wrong first byte is enough, no line end
 * within HTTP_STATUS_LINE_MAX bytes, a bad line). */
int http_parse_status(const char *buf, size_t len, unsigned *status);

/* A response read so far: -EAGAIN (need more), -EINVAL (not HTTP), or 0
 * with *status and, once the header is complete (the first empty line,
 * "\r\n" or "\n"), *body pointing just past it inside buf (buf + len for a
 * body not yet received); *body is NULL while the header is incomplete.
 * Reading more bytes never changes a status or a body offset already
 * reported. */
int http_response_parse(const char *buf, size_t len, unsigned *status, const char **body);

/* Request path and Host value go into the request line and a header as
 * they are: false when s has a blank or a control byte, which would make
 * the request something else. */
bool http_token_ok(const char *s);

/* "GET path HTTP/1.0\r\nHost: host\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n"
 * into out (reset first). path NULL or "" is "/"; host NULL or "" is addr
 * ("[2001:db8::1]" for IPv6). Returns 0, -EINVAL (bad path or host) or
 * -ENOMEM. */
int http_request_format(struct strbuf *out, const char *path, const char *host, const struct ipaddr *addr,
			const char *user_agent);

#endif
