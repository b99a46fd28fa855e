/* Pure parsers for configuration values. No allocation unless stated, no
 * logging: each returns 0 on success or -EINVAL/-ERANGE and, on failure,
 * writes a short human message ("expected a duration such as 2s") to err. */
#ifndef DSRKIT_PARSE_H
#define DSRKIT_PARSE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARSE_ERR_MAX 160

/* An IPv4 or IPv6 address with an optional prefix length. */
struct ipaddr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t prefixlen;	/* 32/128 when not given */
	bool has_prefix;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} u;
};

/* Address plus port (port 0 = not given). */
struct ipendpoint {
	struct ipaddr addr;
	uint16_t port;
};

int parse_bool(const char *s, bool *out, char *err);
/* Decimal integer in [min, max]. */
int parse_int_range(const char *s, long long min, long long max, long long *out, char *err);
/* Duration with unit: 100ms, 2s, 1m, 1h; a bare number means seconds. A
 * decimal fraction is allowed (1.5s, 0.1s, 2.5m) when the result is whole
 * milliseconds, -EINVAL if not. Result checked against [min_ms, max_ms]. */
int parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *out, char *err);
/* "198.18.0.1", "198.18.0.1/24", "2001:db8::1/64". */
int parse_ipaddr(const char *s, struct ipaddr *out, char *err);
/* "198.18.0.1:80", "[2001:db8::1]:80"; port_required selects whether
 * a bare address is accepted (port then 0). */
int parse_ipendpoint(const char *s, bool port_required, struct ipendpoint *out, char *err);
/* Octal file mode such as 0660, at most 0777. */
int parse_mode(const char *s, unsigned *out, char *err);
/* Percentage "75%" or "75" in [min, max]. */
int parse_percent(const char *s, unsigned min, unsigned max, unsigned *out, char *err);

/* Split a comma- (and/or whitespace-) separated list in place: the string is
 * modified, up to max items stored. Returns the count, or -E2BIG when more
 * items than max are present. Empty items are skipped. */
int split_list(char *s, char **items, int max);
/* Split at commas only, in place, trimming blanks around each item, so
 * items may hold spaces ("192.0.2.80/24 brd 192.0.2.255"). Empty items are
 * skipped. Returns the count, or -E2BIG when more than max. */
int split_commas(char *s, char **items, size_t max);

/* A list of items in one value, each parsed by its own function into an
 * array of item_size bytes: virtual_ipaddress, virtual_routes, track_*,
 * unicast_peer. max 0: as many as the text can hold. */
struct strbuf;
struct item_list_spec {
	size_t item_size;
	int max;
	bool commas_only;		/* split_commas (items hold blanks), else split_list */
	const char *noun;		/* "more than MAX <noun>" */
	const char *none;		/* the error for an empty list; NULL: allowed */
	bool name_item;			/* an item's error names the item */
	int (*parse)(const char *text, void *item, char *err);
	void (*print)(const void *item, struct strbuf *out);	/* for the caller's printing */
};

/* 0 with *itemsp (malloc'd, room for one more; NULL when empty) and *np,
 * or -errno with err set. */
int parse_items(const struct item_list_spec *spec, const char *value, void **itemsp, size_t *np, char *err);

/* Format an address (without prefix) into buf (INET6_ADDRSTRLEN is enough). */
const char *ipaddr_ntop(const struct ipaddr *a, char *buf, size_t size);
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* Does addr fall inside net/prefixlen (same family)? */
bool ipaddr_in_prefix(const struct ipaddr *addr, const struct ipaddr *net);

#endif
