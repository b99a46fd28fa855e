/* libFuzzer target for common/parse.c: every value parser on a
 * NUL-terminated copy of the input, with consistency checks on success. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 16

static void check_ipaddr(const char *s)
{
	char err[PARSE_ERR_MAX], text[INET6_ADDRSTRLEN + 8], buf[INET6_ADDRSTRLEN];
	struct ipaddr a, b;

	if (parse_ipaddr(s, &a, err) < 0) {
		if (!err[0])
			abort();
		return;
	}
	if ((a.family == AF_INET && a.prefixlen > 32) || (a.family == AF_INET6 && a.prefixlen > 128) ||
	    (a.family != AF_INET && a.family != AF_INET6))
		abort();
	/* What ntop prints parses back to the same address. */
	if (a.has_prefix)
		snprintf(text, sizeof(text), "%s/%u", ipaddr_ntop(&a, buf, sizeof(buf)), a.prefixlen);
	else
		snprintf(text, sizeof(text), "%s", ipaddr_ntop(&a, buf, sizeof(buf)));
	if (parse_ipaddr(text, &b, err) < 0 || !ipaddr_equal(&a, &b) || a.prefixlen != b.prefixlen)
		abort();
	if (!ipaddr_in_prefix(&a, &a))
		abort();
}

static void check_endpoint(const char *s)
{
	char err[PARSE_ERR_MAX];
	struct ipendpoint ep;

	if (parse_ipendpoint(s, true, &ep, err) == 0 && ep.port == 0)
		abort();
	if (parse_ipendpoint(s, false, &ep, err) == 0 && ep.addr.has_prefix)
		abort();
}

static void check_numbers(const char *s)
{
	char err[PARSE_ERR_MAX];
	uint64_t ms;
	unsigned u;
	long long ll;
	bool b;
	int ret;

	ret = parse_duration_ms(s, 0, UINT64_MAX, &ms, err);
	if (ret != 0 && ret != -EINVAL && ret != -ERANGE)
		abort();
	if (parse_duration_ms(s, 100, 3600000, &ms, err) == 0 && (ms < 100 || ms > 3600000))
		abort();
	if (parse_percent(s, 10, 90, &u, err) == 0 && (u < 10 || u > 90))
		abort();
	if (parse_mode(s, &u, err) == 0 && u > 0777)
		abort();
	if (parse_int_range(s, -5, 70000, &ll, err) == 0 && (ll < -5 || ll > 70000))
		abort();
	(void)parse_bool(s, &b, err);
}

static void check_split(const char *s, size_t len)
{
	char *copy = malloc(len + 1), *items[MAX_ITEMS];
	int n;

	if (!copy)
		return;
	memcpy(copy, s, len + 1);
	n = split_list(copy, items, MAX_ITEMS);
	if (n != -E2BIG && (n < 0 || n > MAX_ITEMS))
		abort();
	for (int i = 0; i < n; i++)
		if (!items[i][0] || strpbrk(items[i], ", \t\r\n\v\f"))
			abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_ipaddr(s);
	check_endpoint(s);
	check_numbers(s);
	check_split(s, strlen(s));
	free(s);
	return 0;
}
