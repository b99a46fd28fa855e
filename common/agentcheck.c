/* HAProxy agent-check replies: parse what an agent says, format what
 * rs-agent says. The parser sees bytes from the network, so it trusts
 * nothing: every index is checked against the line length and numbers are
 * bounded while they are read, never after. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agentcheck.h"
#include "util.h"

#define WEIGHT_PCT_MAX 1000	/* HAProxy caps agent weights at 1000% too */

static const char *const state_names[] = {
	[AGENT_STATE_NONE] = "none",
	[AGENT_STATE_UP] = "up",
	[AGENT_STATE_DOWN] = "down",
	[AGENT_STATE_FAIL] = "fail",
	[AGENT_STATE_STOPPED] = "stopped",
};

static const char *const admin_names[] = {
	[AGENT_ADMIN_NONE] = "none",
	[AGENT_ADMIN_READY] = "ready",
	[AGENT_ADMIN_DRAIN] = "drain",
	[AGENT_ADMIN_MAINT] = "maint",
};

const char *agent_state_name(enum agent_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

const char *agent_admin_name(enum agent_admin a)
{
	if ((unsigned)a >= sizeof(admin_names) / sizeof(admin_names[0]))
		return "unknown";
	return admin_names[a];
}

static bool is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Tabs are the only control byte a line may hold; DEL counts as control. */
static bool is_forbidden_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Case-insensitive comparison of a counted word with a literal. */
static bool word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(w, lit, n) == 0;
}

static bool word_has_prefix(const char *w, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return n >= plen && strncasecmp(w, prefix, plen) == 0;
}

/* Decimal digits only (no sign, no blanks), at most max; the bound is
 * checked per digit so that no string of digits can overflow. */
static bool parse_bounded_uint(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* "75%" or "weight:75%". */
static int parse_weight_word(const char *w, size_t n, int *pct)
{
	long v;

	if (word_has_prefix(w, n, "weight:")) {
		w += strlen("weight:");
		n -= strlen("weight:");
	}
	if (n < 2 || w[n - 1] != '%')
		return -EINVAL;
	if (!parse_bounded_uint(w, n - 1, WEIGHT_PCT_MAX, &v))
		return -EINVAL;
	*pct = (int)v;
	return 0;
}

static int parse_maxconn_word(const char *w, size_t n, int *maxconn)
{
	long v;

	w += strlen("maxconn:");
	n -= strlen("maxconn:");
	if (!parse_bounded_uint(w, n, INT_MAX, &v))
		return -EINVAL;
	*maxconn = (int)v;
	return 0;
}

static bool lookup_state(const char *w, size_t n, enum agent_state *state)
{
	for (size_t i = AGENT_STATE_UP; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (word_is(w, n, state_names[i])) {
			*state = (enum agent_state)i;
			return true;
		}
	}
	return false;
}

static bool lookup_admin(const char *w, size_t n, enum agent_admin *admin)
{
	for (size_t i = AGENT_ADMIN_READY; i < sizeof(admin_names) / sizeof(admin_names[0]); i++) {
		if (word_is(w, n, admin_names[i])) {
			*admin = (enum agent_admin)i;
			return true;
		}
	}
	return false;
}

/* One word; a later word of the same kind overrides an earlier one. */
static int apply_word(const char *w, size_t n, struct agent_reply *out)
{
	if (lookup_state(w, n, &out->state) || lookup_admin(w, n, &out->admin))
		return 0;
	if (word_has_prefix(w, n, "maxconn:"))
		return parse_maxconn_word(w, n, &out->maxconn);
	if (word_has_prefix(w, n, "weight:") || w[n - 1] == '%')
		return parse_weight_word(w, n, &out->weight_pct);
	out->unknown_words++;
	return 0;
}

/* Trim blanks at both ends of s[0..n): returns the start, sets *len. */
static const char *trim_blanks(const char *s, size_t n, size_t *len)
{
	while (n > 0 && is_blank(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* Printable ASCII survives, a tab becomes a space (it was whitespace to
 * the writer), anything else becomes '?', so a reason can be shown
 * anywhere without escaping. Truncated to fit, then trimmed again. */
void agent_text_copy(const char *s, size_t n, char *dst, size_t size)
{
	size_t len, i;

	if (size == 0)
		return;
	s = trim_blanks(s, n, &len);
	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t')
			dst[i] = ' ';
		else if (c < 0x20 || c > 0x7e)
			dst[i] = '?';
		else
			dst[i] = (char)c;
	}
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

static void reply_init(struct agent_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->state = AGENT_STATE_NONE;
	r->admin = AGENT_ADMIN_NONE;
	r->weight_pct = -1;
	r->maxconn = -1;
}

/* The line proper: up to the first LF, without one CR before it. */
static size_t line_length(const char *line, size_t len)
{
	const char *lf = memchr(line, '\n', len);

	if (lf)
		len = (size_t)(lf - line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

int agent_reply_parse(const char *line, size_t len, struct agent_reply *out)
{
	struct agent_reply r;
	size_t i, words = 0;
	int err;

	reply_init(out);
	if (!line)
		return -EINVAL;
	len = line_length(line, len);
	if (len == 0 || len > AGENT_LINE_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (is_forbidden_byte((unsigned char)line[i]))
			return -EINVAL;

	reply_init(&r);
	i = 0;
	while (i < len) {
		size_t start;

		if (is_separator(line[i])) {
			i++;
			continue;
		}
		if (line[i] == '#') {
			agent_text_copy(line + i + 1, len - i - 1, r.reason, sizeof(r.reason));
			break;
		}
		start = i;
		while (i < len && !is_separator(line[i]) && line[i] != '#')
			i++;
		err = apply_word(line + start, i - start, &r);
		if (err < 0)
			return err;
		words++;
	}
	/* Blanks, commas and a comment say nothing about the server. */
	if (words == 0)
		return -EINVAL;
	*out = r;
	return 0;
}

static bool state_takes_reason(enum agent_state s)
{
	return s == AGENT_STATE_DOWN || s == AGENT_STATE_FAIL || s == AGENT_STATE_STOPPED;
}

/* Append one word, space-separated from what is already there. */
static int append_word(char *buf, size_t size, size_t *len, const char *word)
{
	int n = snprintf(buf + *len, size - *len, "%s%s", *len ? " " : "", word);

	if (n < 0 || (size_t)n >= size - *len)
		return -ENOSPC;
	*len += (size_t)n;
	return 0;
}

static bool reply_is_valid(const struct agent_reply *r)
{
	if ((unsigned)r->state > AGENT_STATE_STOPPED || (unsigned)r->admin > AGENT_ADMIN_MAINT)
		return false;
	return r->weight_pct <= WEIGHT_PCT_MAX;
}

int agent_reply_format(const struct agent_reply *r, char *buf, size_t size)
{
	char word[AGENT_REASON_MAX + 1];	/* '#' + reason + NUL */
	size_t len = 0;
	int err = 0;

	if (!buf || size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (!r || !reply_is_valid(r))
		return -EINVAL;

	if (r->state != AGENT_STATE_NONE)
		err = append_word(buf, size, &len, state_names[r->state]);
	if (!err && r->admin != AGENT_ADMIN_NONE)
		err = append_word(buf, size, &len, admin_names[r->admin]);
	if (!err && r->weight_pct >= 0) {
		snprintf(word, sizeof(word), "%d%%", r->weight_pct);
		err = append_word(buf, size, &len, word);
	}
	if (!err && r->maxconn >= 0) {
		snprintf(word, sizeof(word), "maxconn:%d", r->maxconn);
		err = append_word(buf, size, &len, word);
	}
	if (err)
		goto fail;
	/* A line without a single word would not parse back. */
	if (len == 0)
		return -EINVAL;
	if (state_takes_reason(r->state)) {
		word[0] = '#';
		agent_text_copy(r->reason, strnlen(r->reason, sizeof(r->reason)), word + 1,
			    AGENT_REASON_MAX);
		if (word[1] != '\0' && (err = append_word(buf, size, &len, word)) < 0)
			goto fail;
	}
	if (size - len < 2) {
		err = -ENOSPC;
		goto fail;
	}
	buf[len++] = '\n';
	buf[len] = '\0';
	return (int)len;

fail:
	buf[0] = '\0';
	return err;
}

enum agent_answer agent_reply_answer(const struct agent_reply *r)
{
	if (r->admin == AGENT_ADMIN_MAINT)
		return AGENT_ANSWER_MAINT;
	switch (r->state) {
	case AGENT_STATE_DOWN:
		return AGENT_ANSWER_DOWN;
	case AGENT_STATE_FAIL:
		return AGENT_ANSWER_FAIL;
	case AGENT_STATE_STOPPED:
		return AGENT_ANSWER_STOPPED;
	default:
		break;
	}
	if (r->admin == AGENT_ADMIN_DRAIN)
		return AGENT_ANSWER_DRAIN;
	if (r->state == AGENT_STATE_UP)
		return AGENT_ANSWER_UP;
	return r->admin == AGENT_ADMIN_READY ? AGENT_ANSWER_READY : AGENT_ANSWER_OTHER;
}

const char *agent_answer_name(enum agent_answer a)
{
	static const char *const names[] = { "maint", "down", "fail", "stopped", "drain", "up", "ready", "other" };

	return (unsigned)a < ARRAY_SIZE(names) ? names[a] : "other";
}
