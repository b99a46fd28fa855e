/* Tiny unit-test harness: each TEST is a function; CHECK records a failure
 * with file and line and carries on. main() comes from TEST_MAIN. Output is
 * one "PASS name" / "FAIL name" line per test, read by tests/run.sh. */
#ifndef DSRKIT_TEST_H
#define DSRKIT_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks;
static const char *test_skip_reason;

/* Mark the running test skipped (with a reason) and leave it. */
#define SKIP(reason) do { test_skip_reason = (reason); return; } while (0)

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failed_checks++; \
	} \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); \
		test_failed_checks++; \
	} \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
		fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
			a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		test_failed_checks++; \
	} \
} while (0)

#define CHECK_CONTAINS(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (!h_ || !strstr(h_, n_)) { \
		fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
			h_ ? h_ : "(null)", n_); \
		test_failed_checks++; \
	} \
} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(name) static void name(void)

#define TEST_MAIN(...) \
int main(void) \
{ \
	static const struct test_case cases[] = { __VA_ARGS__ }; \
	int failed = 0; \
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) { \
		int before = test_failed_checks; \
		test_skip_reason = NULL; \
		cases[i].fn(); \
		if (test_failed_checks != before) { \
			printf("FAIL %s\n", cases[i].name); \
			failed++; \
		} else if (test_skip_reason) { \
			printf("SKIP %s: %s\n", cases[i].name, test_skip_reason); \
		} else { \
			printf("PASS %s\n", cases[i].name); \
		} \
		fflush(stdout); \
	} \
	return failed ? 1 : 0; \
}

#define T(fn) { #fn, fn }

#endif
