/* The exposition format's writer (promtext.h). Numbers are written so
 * that a counter never loses precision (integers as integers) and a
 * float as the shortest text that reads back the same. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static const uint64_t bucket_ms[PROM_HIST_BUCKETS] = { 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
static const char *const bucket_le[PROM_HIST_BUCKETS + 1] = {
	"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
};

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0 when the
 * byte there does not start one (as Go's utf8.ValidString judges, which
 * Prometheus applies to label values: no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_sequence(const unsigned char *p)
{
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* value with backslash and newline escaped, and (label values) the
 * double quote. Bytes that are not UTF-8 (a name in Latin-1, a device's
 * name from the kernel) are written as the text \xHH: Prometheus refuses
 * a whole scrape for one invalid label value. */
static void escape(struct strbuf *out, const char *value, bool quote)
{
	for (const unsigned char *p = (const unsigned char *)value; *p;) {
		size_t n = 0;

		while (p[n] && p[n] < 0x80 && p[n] != '\\' && p[n] != '\n' && (p[n] != '"' || !quote))
			n++;
		if (n) {	/* the usual: a run of nothing to escape */
			sb_appendn(out, (const char *)p, n);
			p += n;
			continue;
		}
		n = utf8_sequence(p);
		if (*p == '\\')
			sb_append(out, "\\\\");
		else if (*p == '"')
			sb_append(out, "\\\"");
		else if (*p == '\n')
			sb_append(out, "\\n");
		else if (n == 0)
			sb_printf(out, "\\\\x%02X", *p);
		else
			sb_appendn(out, (const char *)p, n);
		p += n ? n : 1;
	}
}

void prom_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	sb_printf(out, "# HELP %s ", name);
	escape(out, help, false);
	sb_printf(out, "\n# TYPE %s %s\n", name, type);
}

void prom_escape(struct strbuf *out, const char *value)
{
	escape(out, value, true);
}

/* name{labels[,le="..."]}. Appended piece by piece, without printf: a
 * scrape writes thousands of samples, on the VRRP engine's loop too. */
static void sample_start(struct strbuf *out, const char *name, const char *suffix, va_list ap, const char *le)
{
	const char *k, *v;
	bool any = false;

	sb_append(out, name);
	sb_append(out, suffix);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!v)
			continue;
		sb_append(out, any ? "," : "{");
		sb_append(out, k);
		sb_append(out, "=\"");
		prom_escape(out, v);
		sb_append(out, "\"");
		any = true;
	}
	if (le) {
		sb_append(out, any ? ",le=\"" : "{le=\"");
		sb_append(out, le);
		sb_append(out, "\"");
	}
	if (any || le)
		sb_append(out, "}");
}

/* " value\n" */
static void sample_u64(struct strbuf *out, bool negative, uint64_t value)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\n';
	do
		*--p = (char)('0' + value % 10);
	while ((value /= 10) != 0);
	if (negative)
		*--p = '-';
	*--p = ' ';
	sb_appendn(out, p, (size_t)(buf + sizeof(buf) - p));
}

void prom_u64(struct strbuf *out, const char *name, uint64_t value, ...)
{
	va_list ap;

	va_start(ap, value);
	sample_start(out, name, "", ap, NULL);
	va_end(ap);
	sample_u64(out, false, value);
}

void prom_int(struct strbuf *out, const char *name, long long value, ...)
{
	va_list ap;

	va_start(ap, value);
	sample_start(out, name, "", ap, NULL);
	va_end(ap);
	sample_u64(out, value < 0, value < 0 ? -(uint64_t)value : (uint64_t)value);
}

/* The shortest text that reads back as v (0.1, not 0.10000000000000001). */
static const char *shortest(double v, char *buf, size_t size)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, size, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

void prom_dbl(struct strbuf *out, const char *name, double value, ...)
{
	char buf[32];
	va_list ap;

	va_start(ap, value);
	sample_start(out, name, "", ap, NULL);
	va_end(ap);
	if (isnan(value))
		sb_append(out, " NaN\n");
	else if (isinf(value))
		sb_append(out, value > 0 ? " +Inf\n" : " -Inf\n");
	else
		sb_printf(out, " %s\n", shortest(value, buf, sizeof(buf)));
}

void prom_hist_observe(struct prom_hist *h, uint64_t ms)
{
	size_t i = 0;

	while (i < PROM_HIST_BUCKETS && ms > bucket_ms[i])
		i++;
	h->counts[i]++;
	h->sum_ms += ms;
}

void prom_hist(struct strbuf *out, const char *name, const struct prom_hist *h, ...)
{
	uint64_t cum = 0;
	va_list ap;

	for (size_t i = 0; i <= PROM_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		va_start(ap, h);
		sample_start(out, name, "_bucket", ap, bucket_le[i]);
		va_end(ap);
		sample_u64(out, false, cum);
	}
	va_start(ap, h);
	sample_start(out, name, "_sum", ap, NULL);
	va_end(ap);
	sb_printf(out, " %llu.%03llu\n", (unsigned long long)(h->sum_ms / 1000), (unsigned long long)(h->sum_ms % 1000));
	va_start(ap, h);
	sample_start(out, name, "_count", ap, NULL);
	va_end(ap);
	sample_u64(out, false, cum);
}
