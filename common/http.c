/* HTTP health-check requests and responses (see http.h).
 *
 * The response parser sees bytes from the network, so every index is
 * checked against len, and it decides only from bytes it has: anything it
 * reports for a prefix of a response stays true for the whole response. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "http.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One status line without its line end. */
static int status_line_parse(const char *line, size_t len, unsigned *status)
{
	static const char prefix[] = "HTTP/";
	size_t i = sizeof(prefix) - 1;
	unsigned code = 0;

	if (len < i || memcmp(line, prefix, i) != 0)
		return -EINVAL;
	if (i >= len || !is_digit(line[i]))
		return -EINVAL;
	while (i < len && is_digit(line[i]))
		i++;
	if (i < len && line[i] == '.') {
		i++;
		if (i >= len || !is_digit(line[i]))
			return -EINVAL;
		while (i < len && is_digit(line[i]))
			i++;
	}
	if (i >= len || line[i] != ' ')
		return -EINVAL;
	while (i < len && line[i] == ' ')
		i++;
	for (int d = 0; d < 3; d++, i++) {
		if (i >= len || !is_digit(line[i]))
			return -EINVAL;
		code = code * 10 + (unsigned)(line[i] - '0');
	}
	if (i < len && line[i] != ' ' && line[i] != '\t')
		return -EINVAL;
	if (code < 100 || code > 599)
		return -EINVAL;
	*status = code;
	return 0;
}

/* The status line's LF within the first HTTP_STATUS_LINE_MAX bytes, or
 * NULL. */
static const char *status_line_end(const char *buf, size_t len)
{
	size_t scan = len < HTTP_STATUS_LINE_MAX ? len : HTTP_STATUS_LINE_MAX;

	return memchr(buf, '\n', scan);
}

int http_parse_status(const char *buf, size_t len, unsigned *status)
{
	static const char prefix[] = "HTTP/";
	size_t cmp = len < sizeof(prefix) - 1 ? len : sizeof(prefix) - 1;
	const char *lf;
	size_t line_len;

	if (len == 0)
		return -EAGAIN;
	/* Refuse garbage (an SSH banner, a TLS alert) at once instead of
	 * waiting for a line end that may never come. */
	if (memcmp(buf, prefix, cmp) != 0)
		return -EINVAL;
	lf = status_line_end(buf, len);
	if (!lf)
		return len < HTTP_STATUS_LINE_MAX ? -EAGAIN : -EINVAL;
	line_len = (size_t)(lf - buf);
	if (line_len > 0 && buf[line_len - 1] == '\r')
		line_len--;
	return status_line_parse(buf, line_len, status);
}

/* Header lines from pos (the start of a line) on: just past the first
 * empty one ("\r\n" or "\n"), or NULL while none has been read. Scanning
 * line by line, rather than for "\r\n\r\n", also finds the end of a
 * header with mixed line ends. */
static const char *header_end(const char *buf, size_t len, size_t pos)
{
	while (pos < len) {
		const char *lf;

		if (buf[pos] == '\n')
			return buf + pos + 1;
		if (buf[pos] == '\r') {
			if (pos + 1 >= len)
				return NULL;	/* an empty line, or not: wait */
			if (buf[pos + 1] == '\n')
				return buf + pos + 2;
		}
		lf = memchr(buf + pos, '\n', len - pos);
		if (!lf)
			return NULL;
		pos = (size_t)(lf - buf) + 1;
	}
	return NULL;
}

int http_response_parse(const char *buf, size_t len, unsigned *status, const char **body)
{
	int ret;

	*body = NULL;
	ret = http_parse_status(buf, len, status);
	if (ret < 0)
		return ret;
	/* A complete status line has its LF within the scanned bytes. */
	*body = header_end(buf, len, (size_t)(status_line_end(buf, len) - buf) + 1);
	return 0;
}

bool http_token_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int http_request_format(struct strbuf *out, const char *path, const char *host, const struct ipaddr *addr,
			const char *user_agent)
{
	char abuf[INET6_ADDRSTRLEN], hbuf[INET6_ADDRSTRLEN + 2];

	if (!path || !path[0])
		path = "/";
	if (!host || !host[0]) {
		ipaddr_ntop(addr, abuf, sizeof(abuf));
		/* RFC 7230: an IPv6 literal in Host is bracketed. */
		snprintf(hbuf, sizeof(hbuf), addr->family == AF_INET6 ? "[%s]" : "%s", abuf);
		host = hbuf;
	}
	if (!http_token_ok(path) || !http_token_ok(host) || !http_token_ok(user_agent))
		return -EINVAL;
	sb_reset(out);
	sb_printf(out, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", path,
		  host, user_agent);
	return out->failed ? -ENOMEM : 0;
}
