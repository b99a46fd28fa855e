/* Writing Prometheus' text exposition format (0.0.4), shared by both
 * daemons' metrics: a family's HELP and TYPE lines, samples with escaped
 * label values, and a latency histogram small enough to keep per health
 * check. Pure: it appends to a strbuf. */
#ifndef DSRKIT_PROMTEXT_H
#define DSRKIT_PROMTEXT_H

#include <stdint.h>

#include "util.h"

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge,
 * histogram), once per family, before its samples; help escaped as the
 * format wants (backslash, newline). */
void prom_family(struct strbuf *out, const char *name, const char *type, const char *help);
/* One sample, "name{l1="v1",l2="v2"} value": the labels are name, value
 * pairs ended by NULL (a NULL value skips its pair). */
void prom_u64(struct strbuf *out, const char *name, uint64_t value, ...) __attribute__((sentinel));
void prom_int(struct strbuf *out, const char *name, long long value, ...) __attribute__((sentinel));
void prom_dbl(struct strbuf *out, const char *name, double value, ...) __attribute__((sentinel));
/* A label value as the format wants it: \ " and newline escaped, and a
 * byte that is not UTF-8 written as the text \xHH (Prometheus refuses a
 * scrape with a label value that is not UTF-8). */
void prom_escape(struct strbuf *out, const char *value);

/* Check latencies, in milliseconds, counted in the buckets 1 ms .. 10 s. */
#define PROM_HIST_BUCKETS 12
struct prom_hist {
	uint32_t counts[PROM_HIST_BUCKETS + 1];	/* per bucket, not cumulative; the last is +Inf */
	uint64_t sum_ms;
};

void prom_hist_observe(struct prom_hist *h, uint64_t ms);
/* name_bucket{...,le="..."}, name_sum{...} (seconds), name_count{...}. */
void prom_hist(struct strbuf *out, const char *name, const struct prom_hist *h, ...) __attribute__((sentinel));

#endif
