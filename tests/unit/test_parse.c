/* Unit tests for common/parse.c: value parsers, their errors and bounds. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "test.h"

TEST(test_bool)
{
	char err[PARSE_ERR_MAX];
	bool b;

	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "False", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		CHECK_EQ_INT(parse_bool(yes[i], &b, err), 0);
		CHECK(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		CHECK_EQ_INT(parse_bool(no[i], &b, err), 0);
		CHECK(!b);
	}
	b = true;
	CHECK_EQ_INT(parse_bool("yess", &b, err), -EINVAL);
	CHECK(b);	/* untouched on failure */
	CHECK_CONTAINS(err, "expected yes or no");
	CHECK_EQ_INT(parse_bool("", &b, err), -EINVAL);
	CHECK_EQ_INT(parse_bool(" yes", &b, err), -EINVAL);
}

TEST(test_int_range)
{
	char err[PARSE_ERR_MAX];
	long long v = 0;

	CHECK_EQ_INT(parse_int_range("80", 1, 65535, &v, err), 0);
	CHECK_EQ_INT(v, 80);
	CHECK_EQ_INT(parse_int_range("65535", 1, 65535, &v, err), 0);
	CHECK_EQ_INT(v, 65535);
	CHECK_EQ_INT(parse_int_range("-5", -10, 10, &v, err), 0);
	CHECK_EQ_INT(v, -5);
	CHECK_EQ_INT(parse_int_range("-9223372036854775808", INT64_MIN, 0, &v, err), 0);
	CHECK_EQ_INT(v, INT64_MIN);

	v = 7;
	CHECK_EQ_INT(parse_int_range("70000", 1, 65535, &v, err), -ERANGE);
	CHECK_EQ_STR(err, "value 70000 out of range 1-65535");
	CHECK_EQ_INT(v, 7);
	CHECK_EQ_INT(parse_int_range("0", 1, 65535, &v, err), -ERANGE);
	CHECK_EQ_STR(err, "value 0 out of range 1-65535");
	CHECK_EQ_INT(parse_int_range("99999999999999999999999", 0, 10, &v, err), -ERANGE);
	CHECK_CONTAINS(err, "out of range 0-10");
	CHECK_EQ_INT(parse_int_range("9223372036854775808", 0, INT64_MAX, &v, err), -ERANGE);
	CHECK_EQ_INT(parse_int_range("-1", 0, 10, &v, err), -ERANGE);

	CHECK_EQ_INT(parse_int_range("", 0, 10, &v, err), -EINVAL);
	CHECK_EQ_STR(err, "expected a whole number");
	CHECK_EQ_INT(parse_int_range("12abc", 0, 100, &v, err), -EINVAL);
	CHECK_EQ_INT(parse_int_range("1.5", 0, 100, &v, err), -EINVAL);
	CHECK_EQ_INT(parse_int_range(" 1", 0, 100, &v, err), -EINVAL);
	CHECK_EQ_INT(parse_int_range("-", 0, 100, &v, err), -EINVAL);
	CHECK_EQ_INT(parse_int_range("0x10", 0, 100, &v, err), -EINVAL);
	CHECK_EQ_INT(v, 7);
}

TEST(test_duration)
{
	char err[PARSE_ERR_MAX];
	uint64_t ms = 0;

	CHECK_EQ_INT(parse_duration_ms("100ms", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, 100);
	CHECK_EQ_INT(parse_duration_ms("2s", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, 2000);
	CHECK_EQ_INT(parse_duration_ms("2", 0, UINT64_MAX, &ms, err), 0);	/* bare = seconds */
	CHECK_EQ_INT(ms, 2000);
	CHECK_EQ_INT(parse_duration_ms("1m", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, 60000);
	CHECK_EQ_INT(parse_duration_ms("3h", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, 3 * 3600000ULL);
	CHECK_EQ_INT(parse_duration_ms("0", 0, 10, &ms, err), 0);
	CHECK_EQ_INT(ms, 0);

	ms = 42;
	static const char *const bad[] = { "", "ms", "-1s", "10 s", "10S", "10d", "1sec",
					   "5s ", "s5", "1m30s", "+5", ".5s", "5.s", "1.5.5s", "1e3s",
					   "-1.5s", "1,5s", "1.5 s", "1.", ".", "0x1s", "1.5e0s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ_INT(parse_duration_ms(bad[i], 0, UINT64_MAX, &ms, err), -EINVAL);
		CHECK_EQ_STR(err, "expected a duration such as 100ms, 2s or 1m");
	}
	CHECK_EQ_INT(ms, 42);

	/* Overflow of the number itself and of the unit multiplication. */
	CHECK_EQ_INT(parse_duration_ms("18446744073709551616ms", 0, UINT64_MAX, &ms, err), -ERANGE);
	CHECK_EQ_INT(parse_duration_ms("18446744073709551615ms", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, UINT64_MAX);
	CHECK_EQ_INT(parse_duration_ms("18446744073709552s", 0, UINT64_MAX, &ms, err), -ERANGE);
	CHECK_EQ_INT(parse_duration_ms("5124095576030432h", 0, UINT64_MAX, &ms, err), -ERANGE);

	CHECK_EQ_INT(parse_duration_ms("5ms", 10, 3600000, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "value 5ms out of range 10ms-1h");
	CHECK_EQ_INT(parse_duration_ms("2h", 100, 3600000, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "value 2h out of range 100ms-1h");
	CHECK_EQ_INT(parse_duration_ms("90s", 100, 60000, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "value 90s out of range 100ms-1m");
	CHECK_EQ_INT(parse_duration_ms("1s", 2000, UINT64_MAX, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "value 1s is below the minimum 2s");
	CHECK_EQ_INT(parse_duration_ms("1h", 100, 3600000, &ms, err), 0);
	CHECK_EQ_INT(ms, 3600000);
}

static uint64_t duration_or_zero(const char *s)
{
	char err[PARSE_ERR_MAX];
	uint64_t ms = 0;

	err[0] = '\0';
	if (parse_duration_ms(s, 0, UINT64_MAX, &ms, err) != 0) {
		fprintf(stderr, "  %s: %s\n", s, err);
		return 0;
	}
	return ms;
}

TEST(test_duration_fraction)
{
	char err[PARSE_ERR_MAX];
	uint64_t ms = 42;

	CHECK_EQ_INT(duration_or_zero("1.5s"), 1500);
	CHECK_EQ_INT(duration_or_zero("0.1s"), 100);
	CHECK_EQ_INT(duration_or_zero("2.5m"), 150000);
	CHECK_EQ_INT(duration_or_zero("0.001s"), 1);
	CHECK_EQ_INT(duration_or_zero("1.25h"), 4500000);
	CHECK_EQ_INT(duration_or_zero("0.0000125h"), 45);	/* 7 places, still whole ms */
	CHECK_EQ_INT(duration_or_zero("1.5"), 1500);		/* bare = seconds */
	CHECK_EQ_INT(duration_or_zero("2.0ms"), 2);
	CHECK_EQ_INT(duration_or_zero("1.500000000000000000000000s"), 1500);	/* zeros are no precision */
	CHECK_EQ_INT(duration_or_zero("0001.5s"), 1500);
	CHECK_EQ_INT(parse_duration_ms("0.0s", 0, 10, &ms, err), 0);
	CHECK_EQ_INT(ms, 0);
	CHECK_EQ_INT(parse_duration_ms("18446744073709551.615s", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, UINT64_MAX);

	/* Never rounded: a part of a millisecond is an error. */
	static const char *const part_ms[] = { "1.0005s", "0.5ms", "0.0001s", "0.00000001h",
					       "1.0000000001s", "0.1234567891h", "2.5ms" };
	for (size_t i = 0; i < sizeof(part_ms) / sizeof(part_ms[0]); i++) {
		err[0] = '\0';
		ms = 42;
		CHECK_EQ_INT(parse_duration_ms(part_ms[i], 0, UINT64_MAX, &ms, err), -EINVAL);
		CHECK_CONTAINS(err, "durations are in whole milliseconds");
		CHECK_EQ_INT(ms, 42);
	}
	CHECK_EQ_INT(parse_duration_ms("0.5ms", 0, UINT64_MAX, &ms, err), -EINVAL);
	CHECK_EQ_STR(err, "duration 0.5ms has a fraction of a millisecond: durations are in whole milliseconds");

	/* Overflow with a fraction: of the digits, of the unit, of the sum. */
	CHECK_EQ_INT(parse_duration_ms("99999999999999999999.5h", 0, UINT64_MAX, &ms, err), -ERANGE);
	CHECK_EQ_INT(parse_duration_ms("5124095576030.5h", 0, UINT64_MAX, &ms, err), -ERANGE);
	CHECK_EQ_INT(parse_duration_ms("5124095576030.4h", 0, UINT64_MAX, &ms, err), 0);
	CHECK_EQ_INT(ms, 18446744073709440000ULL);
	ms = 42;
	CHECK_EQ_INT(parse_duration_ms("18446744073709551.616s", 0, UINT64_MAX, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "duration 18446744073709551.616s is too long");
	CHECK_EQ_INT(ms, 42);

	/* Ranges apply to the whole value, printed as the file could say it. */
	CHECK_EQ_INT(parse_duration_ms("0.05s", 100, 3600000, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "value 50ms out of range 100ms-1h");
	CHECK_EQ_INT(parse_duration_ms("1.5h", 100, 3600000, &ms, err), -ERANGE);
	CHECK_EQ_STR(err, "value 90m out of range 100ms-1h");
	CHECK_EQ_INT(parse_duration_ms("0.1s", 100, 3600000, &ms, err), 0);
	CHECK_EQ_INT(ms, 100);
}

TEST(test_ipaddr)
{
	char err[PARSE_ERR_MAX], buf[INET6_ADDRSTRLEN];
	struct ipaddr a;

	CHECK_EQ_INT(parse_ipaddr("198.18.0.1", &a, err), 0);
	CHECK_EQ_INT(a.family, AF_INET);
	CHECK_EQ_INT(a.prefixlen, 32);
	CHECK(!a.has_prefix);
	CHECK_EQ_STR(ipaddr_ntop(&a, buf, sizeof(buf)), "198.18.0.1");

	CHECK_EQ_INT(parse_ipaddr("198.18.0.1/24", &a, err), 0);
	CHECK_EQ_INT(a.prefixlen, 24);
	CHECK(a.has_prefix);

	CHECK_EQ_INT(parse_ipaddr("2001:DB8::1/64", &a, err), 0);
	CHECK_EQ_INT(a.family, AF_INET6);
	CHECK_EQ_INT(a.prefixlen, 64);
	CHECK_EQ_STR(ipaddr_ntop(&a, buf, sizeof(buf)), "2001:db8::1");
	CHECK_EQ_INT(parse_ipaddr("::/0", &a, err), 0);
	CHECK_EQ_INT(a.prefixlen, 0);
	CHECK_EQ_INT(parse_ipaddr("2001:db8::1/128", &a, err), 0);
	CHECK_EQ_INT(a.prefixlen, 128);
	CHECK_EQ_INT(parse_ipaddr("0.0.0.0/0", &a, err), 0);

	CHECK_EQ_INT(parse_ipaddr("198.18.0.1/33", &a, err), -ERANGE);
	CHECK_EQ_STR(err, "prefix length 33 out of range 0-32");
	CHECK_EQ_INT(parse_ipaddr("2001:db8::/129", &a, err), -ERANGE);
	CHECK_EQ_STR(err, "prefix length 129 out of range 0-128");
	CHECK_EQ_INT(parse_ipaddr("198.18.0.1/99999999999999999999999", &a, err), -ERANGE);
	CHECK_EQ_INT(parse_ipaddr("198.18.0.1/", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("198.18.0.1/2x", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("198.18.0.1/-1", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("198.18.0.256", &a, err), -EINVAL);
	CHECK_CONTAINS(err, "expected an IP address");
	CHECK_EQ_INT(parse_ipaddr("198.18.1", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("/24", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("lb1.example", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr(" 198.18.0.1", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("fe80::1%eth0", &a, err), -EINVAL);
	CHECK_EQ_INT(parse_ipaddr("1111:2222:3333:4444:5555:6666:7777:8888:9999:0000", &a, err), -EINVAL);
}

TEST(test_ipendpoint)
{
	char err[PARSE_ERR_MAX], buf[INET6_ADDRSTRLEN];
	struct ipendpoint ep;

	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4:80", true, &ep, err), 0);
	CHECK_EQ_INT(ep.addr.family, AF_INET);
	CHECK_EQ_INT(ep.port, 80);
	CHECK_EQ_STR(ipaddr_ntop(&ep.addr, buf, sizeof(buf)), "1.2.3.4");

	CHECK_EQ_INT(parse_ipendpoint("[2001:db8::1]:443", true, &ep, err), 0);
	CHECK_EQ_INT(ep.addr.family, AF_INET6);
	CHECK_EQ_INT(ep.port, 443);
	CHECK_EQ_STR(ipaddr_ntop(&ep.addr, buf, sizeof(buf)), "2001:db8::1");

	/* A bare address only when the port is optional. */
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4", false, &ep, err), 0);
	CHECK_EQ_INT(ep.port, 0);
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4", true, &ep, err), -EINVAL);
	CHECK_CONTAINS(err, "missing port");
	CHECK_EQ_INT(parse_ipendpoint("2001:db8::1", false, &ep, err), 0);
	CHECK_EQ_INT(ep.addr.family, AF_INET6);
	CHECK_EQ_INT(ep.port, 0);
	CHECK_EQ_INT(parse_ipendpoint("2001:db8::1", true, &ep, err), -EINVAL);
	CHECK_CONTAINS(err, "brackets");
	CHECK_EQ_INT(parse_ipendpoint("[2001:db8::1]", false, &ep, err), 0);
	CHECK_EQ_INT(ep.port, 0);
	CHECK_EQ_INT(parse_ipendpoint("[2001:db8::1]", true, &ep, err), -EINVAL);

	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4:0", true, &ep, err), -ERANGE);
	CHECK_EQ_STR(err, "port 0 out of range 1-65535");
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4:65536", true, &ep, err), -ERANGE);
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4:65535", true, &ep, err), 0);
	CHECK_EQ_INT(ep.port, 65535);
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4:", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4:http", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("1.2.3.4/24:80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("[1.2.3.4]:80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("[2001:db8::1:80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("[2001:db8::1]80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("[2001:db8::1/64]:80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("[]:80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint(":80", false, &ep, err), -EINVAL);
	CHECK_EQ_INT(parse_ipendpoint("", false, &ep, err), -EINVAL);
}

TEST(test_mode)
{
	char err[PARSE_ERR_MAX];
	unsigned m = 1;

	CHECK_EQ_INT(parse_mode("0660", &m, err), 0);
	CHECK_EQ_INT(m, 0660);
	CHECK_EQ_INT(parse_mode("0777", &m, err), 0);
	CHECK_EQ_INT(m, 0777);
	CHECK_EQ_INT(parse_mode("600", &m, err), 0);
	CHECK_EQ_INT(m, 0600);
	CHECK_EQ_INT(parse_mode("0", &m, err), 0);
	CHECK_EQ_INT(m, 0);
	CHECK_EQ_INT(parse_mode("01777", &m, err), -ERANGE);
	CHECK_CONTAINS(err, "at most 0777");
	CHECK_EQ_INT(parse_mode("77777777777777777777777", &m, err), -ERANGE);
	CHECK_EQ_INT(parse_mode("0680", &m, err), -EINVAL);
	CHECK_CONTAINS(err, "octal mode");
	CHECK_EQ_INT(parse_mode("", &m, err), -EINVAL);
	CHECK_EQ_INT(parse_mode("rw", &m, err), -EINVAL);
	CHECK_EQ_INT(m, 0);
}

TEST(test_percent)
{
	char err[PARSE_ERR_MAX];
	unsigned p = 3;

	CHECK_EQ_INT(parse_percent("75%", 0, 100, &p, err), 0);
	CHECK_EQ_INT(p, 75);
	CHECK_EQ_INT(parse_percent("75", 0, 100, &p, err), 0);
	CHECK_EQ_INT(parse_percent("0%", 0, 100, &p, err), 0);
	CHECK_EQ_INT(p, 0);
	CHECK_EQ_INT(parse_percent("150%", 0, 100, &p, err), -ERANGE);
	CHECK_EQ_STR(err, "value 150% out of range 0%-100%");
	CHECK_EQ_INT(parse_percent("5", 10, 100, &p, err), -ERANGE);
	CHECK_EQ_INT(parse_percent("99999999999999999999999%", 0, 100, &p, err), -ERANGE);
	CHECK_EQ_INT(parse_percent("75%%", 0, 100, &p, err), -EINVAL);
	CHECK_EQ_INT(parse_percent("%", 0, 100, &p, err), -EINVAL);
	CHECK_EQ_INT(parse_percent("7.5%", 0, 100, &p, err), -EINVAL);
	CHECK_EQ_INT(parse_percent("", 0, 100, &p, err), -EINVAL);
	CHECK_EQ_INT(parse_percent("-5%", 0, 100, &p, err), -EINVAL);
	CHECK_EQ_INT(p, 0);
}

TEST(test_split_list)
{
	char s1[] = "a, b,c  d,,\t e ,";
	char *items[8];
	int n;

	n = split_list(s1, items, 8);
	CHECK_EQ_INT(n, 5);
	if (n == 5) {
		CHECK_EQ_STR(items[0], "a");
		CHECK_EQ_STR(items[1], "b");
		CHECK_EQ_STR(items[2], "c");
		CHECK_EQ_STR(items[3], "d");
		CHECK_EQ_STR(items[4], "e");
	}

	char s2[] = "a b c";
	CHECK_EQ_INT(split_list(s2, items, 2), -E2BIG);
	char s3[] = "a b";
	CHECK_EQ_INT(split_list(s3, items, 2), 2);
	char s4[] = " , ,  ";
	CHECK_EQ_INT(split_list(s4, items, 8), 0);
	char s5[] = "";
	CHECK_EQ_INT(split_list(s5, items, 0), 0);
	char s6[] = "x";
	CHECK_EQ_INT(split_list(s6, items, 0), -E2BIG);
}

static struct ipaddr addr(const char *s)
{
	struct ipaddr a;
	char err[PARSE_ERR_MAX];

	memset(&a, 0, sizeof(a));
	CHECK_EQ_INT(parse_ipaddr(s, &a, err), 0);
	return a;
}

TEST(test_equal_and_prefix)
{
	struct ipaddr a = addr("198.18.0.1"), b = addr("198.18.0.1/32"), c = addr("198.18.0.2");
	struct ipaddr v6 = addr("2001:db8::1"), mapped = addr("::ffff:198.18.0.1");
	struct ipaddr net24 = addr("198.18.0.0/24"), net23 = addr("198.18.2.0/23");
	struct ipaddr net0 = addr("0.0.0.0/0"), net6 = addr("2001:db8::/33");
	struct ipaddr net25 = addr("198.18.0.128/25");

	CHECK(ipaddr_equal(&a, &b));		/* the prefix is not compared */
	CHECK(ipaddr_equal(&a, &net24) == false);
	CHECK(!ipaddr_equal(&a, &c));
	CHECK(!ipaddr_equal(&a, &mapped));	/* different families */

	CHECK(ipaddr_in_prefix(&a, &net24));
	CHECK(ipaddr_in_prefix(&c, &net24));
	CHECK(!ipaddr_in_prefix(&a, &net25));
	struct ipaddr hi = addr("198.18.0.200");
	CHECK(ipaddr_in_prefix(&hi, &net25));
	CHECK(!ipaddr_in_prefix(&a, &net23));
	struct ipaddr in23 = addr("198.18.3.7");
	CHECK(ipaddr_in_prefix(&in23, &net23));
	CHECK(ipaddr_in_prefix(&a, &net0));
	CHECK(!ipaddr_in_prefix(&v6, &net0));	/* family must match */
	CHECK(ipaddr_in_prefix(&v6, &net6));
	struct ipaddr out6 = addr("2001:db8:8000::1");
	CHECK(!ipaddr_in_prefix(&out6, &net6));
	CHECK(ipaddr_in_prefix(&a, &a));	/* a host is its own /32 */
	CHECK(!ipaddr_in_prefix(&c, &a));
}

TEST(test_ntop_small_buffer)
{
	struct ipaddr a = addr("2001:db8::1");
	char tiny[4] = "xyz";

	CHECK_EQ_STR(ipaddr_ntop(&a, tiny, sizeof(tiny)), "?");
	memset(&a, 0, sizeof(a));
	char buf[INET6_ADDRSTRLEN];
	CHECK_EQ_STR(ipaddr_ntop(&a, buf, sizeof(buf)), "?");
}

TEST_MAIN(T(test_bool), T(test_int_range), T(test_duration), T(test_duration_fraction),
	  T(test_ipaddr), T(test_ipendpoint),
	  T(test_mode), T(test_percent), T(test_split_list), T(test_equal_and_prefix),
	  T(test_ntop_small_buffer))
