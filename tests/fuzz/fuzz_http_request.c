/* libFuzzer target: the metrics endpoint's request heads are bytes from
 * the network (common/httpserv.c). Whatever is accepted must be a
 * complete head within the size limit, with a method of token bytes and
 * a path that starts with '/' and holds no blank, control byte or query;
 * a prefix of an accepted head is never accepted with another length. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpserv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request_head h, h2;
	int n = http_request_head_parse((const char *)data, size, &h), route;

	REQUIRE(n == 0 || n == -EINVAL || n == -E2BIG || (n > 0 && (size_t)n <= size && n <= HTTPSRV_REQUEST_MAX));
	if (n <= 0)
		return 0;
	REQUIRE(data[n - 1] == '\n');
	REQUIRE(h.method[0] && strlen(h.method) < sizeof(h.method));
	REQUIRE(h.path[0] == '/' && strlen(h.path) < sizeof(h.path));
	for (const char *p = h.path; *p; p++)
		REQUIRE((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '?');
	route = http_request_route(&h);
	REQUIRE(route == 200 || route == 404 || route == 405);
	/* The same head alone parses the same; one byte less is incomplete. */
	REQUIRE(http_request_head_parse((const char *)data, (size_t)n, &h2) == n);
	REQUIRE(strcmp(h.method, h2.method) == 0 && strcmp(h.path, h2.path) == 0);
	REQUIRE(http_request_head_parse((const char *)data, (size_t)n - 1, &h2) <= 0);
	return 0;
}
