/* Pure parsers for configuration values: strict (no whitespace, no trailing
 * junk), overflow-checked, allocation-free. Failures return -EINVAL for bad
 * syntax and -ERANGE for a well-formed value outside its bounds, with a
 * message in err that can follow "section.key: ". */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

#define MS_PER_S	1000ULL
#define MS_PER_M	(60 * MS_PER_S)
#define MS_PER_H	(60 * MS_PER_M)

/* Longest address text we hand to inet_pton, with room for the NUL. */
#define ADDR_TEXT_MAX	INET6_ADDRSTRLEN

static int fail(char *err, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, PARSE_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Leading decimal digits of s into *out; *end points past them.
 * -EINVAL when there is no digit, -ERANGE when the number overflows. */
static int scan_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	bool overflow = false;
	const char *p;

	for (p = s; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	*end = p;
	if (p == s)
		return -EINVAL;
	if (overflow)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out, char *err)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(err, -EINVAL, "expected yes or no (also true/false, on/off, 1/0)");
}

int parse_int_range(const char *s, long long min, long long max, long long *out, char *err)
{
	const char *digits = s, *end;
	bool negative = false;
	uint64_t mag;
	long long v;
	int ret;

	if (*digits == '-') {
		negative = true;
		digits++;
	}
	ret = scan_u64(digits, &end, &mag);
	if (ret == -EINVAL || *end != '\0')
		return fail(err, -EINVAL, "expected a whole number");
	if (ret == -ERANGE || mag > (uint64_t)LLONG_MAX + negative)
		return fail(err, -ERANGE, "value %.32s out of range %lld-%lld", s, min, max);
	if (negative)
		v = mag == (uint64_t)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag;
	else
		v = (long long)mag;
	if (v < min || v > max)
		return fail(err, -ERANGE, "value %lld out of range %lld-%lld", v, min, max);
	*out = v;
	return 0;
}

/* The largest unit that represents ms exactly, as the file would say it. */
static void format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % MS_PER_H == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / MS_PER_H));
	else if (ms != 0 && ms % MS_PER_M == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / MS_PER_M));
	else if (ms % MS_PER_S == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / MS_PER_S));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}

static int duration_unit(const char *unit, uint64_t *mult)
{
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		*mult = MS_PER_S;	/* a bare number means seconds */
	else if (strcmp(unit, "ms") == 0)
		*mult = 1;
	else if (strcmp(unit, "m") == 0)
		*mult = MS_PER_M;
	else if (strcmp(unit, "h") == 0)
		*mult = MS_PER_H;
	else
		return -EINVAL;
	return 0;
}

/* Significant fraction digits beyond this are never whole milliseconds:
 * k digits ending in a non-zero one are whole only if 2^k or 5^k divides
 * the unit, and the hour (2^7 * 3^2 * 5^5 ms) has neither above k = 7.
 * The bound keeps the arithmetic below in range. */
#define FRACTION_DIGITS_MAX	9

/* The digits after the '.' (at least one) into *digits and *places,
 * trailing zeros dropped as they change nothing; *end past them.
 * -EINVAL when there is no digit, -EDOM when too precise to be whole ms. */
static int scan_fraction(const char *s, const char **end, uint64_t *digits, unsigned *places)
{
	const char *last = s, *p;

	for (p = s; is_digit(*p); p++)
		if (*p != '0')
			last = p + 1;
	*end = p;
	if (p == s)
		return -EINVAL;
	if (last - s > FRACTION_DIGITS_MAX)
		return -EDOM;
	*digits = 0;
	*places = (unsigned)(last - s);
	for (p = s; p < last; p++)
		*digits = *digits * 10 + (uint64_t)(*p - '0');
	return 0;
}

/* digits / 10^places of a unit of mult ms, when that is whole ms. */
static int fraction_ms(uint64_t digits, unsigned places, uint64_t mult, uint64_t *out)
{
	uint64_t scaled = digits * mult, ten_pow = 1;	/* < 10^9 * 3600000: no overflow */

	while (places-- > 0)
		ten_pow *= 10;
	if (scaled % ten_pow != 0)
		return -EDOM;
	*out = scaled / ten_pow;
	return 0;
}

static int check_duration_range(uint64_t ms, uint64_t min_ms, uint64_t max_ms, char *err)
{
	char lo[32], hi[32], got[32];

	if (ms >= min_ms && ms <= max_ms)
		return 0;
	format_duration(ms, got, sizeof(got));
	format_duration(min_ms, lo, sizeof(lo));
	if (max_ms == UINT64_MAX)
		return fail(err, -ERANGE, "value %s is below the minimum %s", got, lo);
	format_duration(max_ms, hi, sizeof(hi));
	return fail(err, -ERANGE, "value %s out of range %s-%s", got, lo, hi);
}

/* Grammar: DIGITS [ "." DIGITS ] [ "ms" | "s" | "m" | "h" ]; no sign, no
 * exponent, a digit on both sides of the '.' (".5s" and "5.s" are refused).
 * Integers only, so no rounding and no locale. */
int parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *out, char *err)
{
	const char *unit;
	uint64_t n, mult, digits = 0, frac = 0, ms;
	unsigned places = 0;
	int ret, fret = 0;

	ret = scan_u64(s, &unit, &n);
	if (ret != -EINVAL && *unit == '.')
		fret = scan_fraction(unit + 1, &unit, &digits, &places);
	if (ret == -EINVAL || fret == -EINVAL || duration_unit(unit, &mult) < 0)
		return fail(err, -EINVAL, "expected a duration such as 100ms, 2s or 1m");
	if (fret == -EDOM || fraction_ms(digits, places, mult, &frac) < 0)
		return fail(err, -EINVAL, "duration %.32s has a fraction of a millisecond: "
			    "durations are in whole milliseconds", s);
	if (ret == -ERANGE || n > UINT64_MAX / mult || n * mult > UINT64_MAX - frac)
		return fail(err, -ERANGE, "duration %.32s is too long", s);
	ms = n * mult + frac;
	ret = check_duration_range(ms, min_ms, max_ms, err);
	if (ret == 0)
		*out = ms;
	return ret;
}

/* Address text (no prefix) into a; false when it is neither family. */
static bool pton_any(const char *text, struct ipaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, &a->u.v4) == 1) {
		a->family = AF_INET;
		a->prefixlen = 32;
		return true;
	}
	if (inet_pton(AF_INET6, text, &a->u.v6) == 1) {
		a->family = AF_INET6;
		a->prefixlen = 128;
		return true;
	}
	return false;
}

/* Copy n bytes of s into a NUL-terminated buffer of ADDR_TEXT_MAX. */
static bool copy_addr_text(const char *s, size_t n, char *buf)
{
	if (n == 0 || n >= ADDR_TEXT_MAX)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

int parse_ipaddr(const char *s, struct ipaddr *out, char *err)
{
	char text[ADDR_TEXT_MAX];
	const char *slash = strchr(s, '/'), *end;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct ipaddr a;
	uint64_t plen = 0;
	int ret;

	if (!copy_addr_text(s, n, text) || !pton_any(text, &a))
		return fail(err, -EINVAL, "expected an IP address such as 192.0.2.1 or 2001:db8::1/64");
	if (slash) {
		ret = scan_u64(slash + 1, &end, &plen);
		if (ret == -EINVAL || *end != '\0')
			return fail(err, -EINVAL, "expected a prefix length after '/'");
		if (ret == -ERANGE || plen > a.prefixlen)
			return fail(err, -ERANGE, "prefix length %.16s out of range 0-%u",
				    slash + 1, a.prefixlen);
		a.prefixlen = (uint8_t)plen;
		a.has_prefix = true;
	}
	*out = a;
	return 0;
}

static int parse_port(const char *s, uint16_t *port, char *err)
{
	const char *end;
	uint64_t v;
	int ret;

	ret = scan_u64(s, &end, &v);
	if (ret == -EINVAL || *end != '\0')
		return fail(err, -EINVAL, "expected a port number after ':'");
	if (ret == -ERANGE || v < 1 || v > 65535)
		return fail(err, -ERANGE, "port %.16s out of range 1-65535", s);
	*port = (uint16_t)v;
	return 0;
}

/* "[v6]" or "[v6]:port": addr_len/port_text describe the pieces. */
static int split_bracketed(const char *s, size_t *addr_len, const char **port_text, char *err)
{
	const char *close = strchr(s, ']');

	if (!close)
		return fail(err, -EINVAL, "missing ']' after the IPv6 address");
	*addr_len = (size_t)(close - (s + 1));
	if (close[1] == ':')
		*port_text = close + 2;
	else if (close[1] == '\0')
		*port_text = NULL;
	else
		return fail(err, -EINVAL, "expected ':' and a port after ']'");
	return 0;
}

int parse_ipendpoint(const char *s, bool port_required, struct ipendpoint *out, char *err)
{
	static const char example[] = "such as 192.0.2.1:80 or [2001:db8::1]:80";
	char text[ADDR_TEXT_MAX];
	const char *addr = s, *port_text = NULL, *colon;
	size_t addr_len = 0;
	struct ipendpoint ep;
	int ret;

	memset(&ep, 0, sizeof(ep));
	colon = strchr(s, ':');
	if (*s == '[') {
		ret = split_bracketed(s, &addr_len, &port_text, err);
		if (ret < 0)
			return ret;
		addr = s + 1;
	} else if (colon && strchr(colon + 1, ':')) {
		/* Several colons without brackets: a bare IPv6 address. */
		if (port_required)
			return fail(err, -EINVAL, "write IPv6 endpoints in brackets, as in [2001:db8::1]:80");
		addr_len = strlen(s);
	} else if (colon) {
		addr_len = (size_t)(colon - s);
		port_text = colon + 1;
	} else {
		addr_len = strlen(s);
	}
	if (!copy_addr_text(addr, addr_len, text) || !pton_any(text, &ep.addr))
		return fail(err, -EINVAL, "expected an address and port %s", example);
	if (*s == '[' && ep.addr.family != AF_INET6)
		return fail(err, -EINVAL, "brackets are for IPv6 addresses only");
	if (port_text) {
		ret = parse_port(port_text, &ep.port, err);
		if (ret < 0)
			return ret;
	} else if (port_required) {
		return fail(err, -EINVAL, "missing port, %s", example);
	}
	*out = ep;
	return 0;
}

int parse_mode(const char *s, unsigned *out, char *err)
{
	unsigned v = 0;
	const char *p;

	if (*s == '\0')
		return fail(err, -EINVAL, "expected an octal mode such as 0660");
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return fail(err, -EINVAL, "expected an octal mode such as 0660");
		v = v * 8 + (unsigned)(*p - '0');
		if (v > 0777)	/* checked per digit, so v never overflows */
			return fail(err, -ERANGE, "mode %.16s out of range (at most 0777)", s);
	}
	*out = v;
	return 0;
}

int parse_percent(const char *s, unsigned min, unsigned max, unsigned *out, char *err)
{
	const char *end;
	uint64_t v;
	int ret;

	ret = scan_u64(s, &end, &v);
	if (ret == -EINVAL || !(*end == '\0' || (end[0] == '%' && end[1] == '\0')))
		return fail(err, -EINVAL, "expected a percentage such as 75%%");
	if (ret == -ERANGE || v < min || v > max)
		return fail(err, -ERANGE, "value %.24s out of range %u%%-%u%%", s, min, max);
	*out = (unsigned)v;
	return 0;
}

static bool is_list_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int split_list(char *s, char **items, int max)
{
	int n = 0;

	while (*s) {
		if (is_list_separator(*s)) {
			s++;
			continue;
		}
		if (n >= max)
			return -E2BIG;
		items[n++] = s;
		while (*s && !is_list_separator(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

int parse_items(const struct item_list_spec *spec, const char *value, void **itemsp, size_t *np, char *err)
{
	size_t max = spec->max > 0 ? (size_t)spec->max : strlen(value) / 2 + 1;
	char *copy = strdup(value), **texts = calloc(max, sizeof(char *));
	unsigned char *items = NULL;
	int n, ret = 0;

	*itemsp = NULL;
	*np = 0;
	if (!copy || !texts) {
		snprintf(err, PARSE_ERR_MAX, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	n = spec->commas_only ? split_commas(copy, texts, max) : split_list(copy, texts, (int)max);
	if (n < 0 || (n == 0 && spec->none)) {
		if (n == 0)
			snprintf(err, PARSE_ERR_MAX, "%s", spec->none);
		else
			snprintf(err, PARSE_ERR_MAX, "more than %zu %s", max, spec->noun);
		ret = -EINVAL;
		goto out;
	}
	if (!(items = calloc((size_t)n + 1, spec->item_size))) {
		snprintf(err, PARSE_ERR_MAX, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n && ret == 0; i++) {
		ret = spec->parse(texts[i], items + (size_t)i * spec->item_size, err);
		if (ret < 0 && spec->name_item) {
			char why[PARSE_ERR_MAX];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, PARSE_ERR_MAX, "'%.40s': %.110s", texts[i], why);
		}
	}
	if (ret == 0 && n > 0) {
		*itemsp = items;
		*np = (size_t)n;
		items = NULL;
	}
out:
	free(items);
	free(texts);
	free(copy);
	return ret;
}

const char *ipaddr_ntop(const struct ipaddr *a, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->u.bytes, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

static size_t family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

/* Same family and same address; prefix lengths are not compared, so a
 * configured VIP matches the kernel's copy of it whatever its prefix. */
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	size_t bits = family_bits(a->family);

	return bits != 0 && a->family == b->family && memcmp(a->u.bytes, b->u.bytes, bits / 8) == 0;
}

bool ipaddr_in_prefix(const struct ipaddr *addr, const struct ipaddr *net)
{
	size_t bits = family_bits(net->family), full, rest;

	if (bits == 0 || addr->family != net->family)
		return false;
	if (net->prefixlen < bits)
		bits = net->prefixlen;
	full = bits / 8;
	rest = bits % 8;
	if (memcmp(addr->u.bytes, net->u.bytes, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((addr->u.bytes[full] ^ net->u.bytes[full]) & mask)
			return false;
	}
	return true;
}

int split_commas(char *s, char **items, size_t max)
{
	char *save = NULL;
	size_t n = 0;

	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;

		tok += strspn(tok, " \t");
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok)
			continue;
		if (n == max)
			return -E2BIG;
		items[n++] = tok;
	}
	return (int)n;
}
