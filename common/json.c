/* Minimal JSON writer: strings are escaped per RFC 8259 and always come
 * out as valid UTF-8; commas are tracked per nesting level.
 *
 * j->depth is the logical nesting depth and may exceed JSON_MAX_DEPTH.
 * A value at depth d is written only when d < JSON_MAX_DEPTH (its comma
 * state lives in need_comma[d]), and a container opened at depth d only
 * when its contents can be written (d + 1 < JSON_MAX_DEPTH). Anything
 * deeper is dropped whole, key included, so the output stays well formed. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j, struct strbuf *sb)
{
	memset(j, 0, sizeof(*j));
	j->sb = sb;
}

static bool json_value_writable(const struct json *j)
{
	return j->depth >= 0 && j->depth < JSON_MAX_DEPTH;
}

static bool json_container_writable(const struct json *j)
{
	return j->depth >= 0 && j->depth < JSON_MAX_DEPTH - 1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_sequence_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;	/* allowed range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;	/* also stops at the terminating NUL */
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void json_append_escaped(struct strbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	sb_append(sb, "\"");
	while (*s) {
		size_t run = 0, n;

		/* Copy the longest stretch needing no escape in one go. */
		while (s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' &&
		       (n = utf8_sequence_len(s + run)) > 0)
			run += n;
		if (run > 0) {
			sb_appendn(sb, (const char *)s, run);
			s += run;
			continue;
		}
		switch (*s) {
		case '"':
			sb_append(sb, "\\\"");
			break;
		case '\\':
			sb_append(sb, "\\\\");
			break;
		case '\n':
			sb_append(sb, "\\n");
			break;
		case '\t':
			sb_append(sb, "\\t");
			break;
		case '\r':
			sb_append(sb, "\\r");
			break;
		default:
			if (*s < 0x20)
				sb_printf(sb, "\\u%04x", *s);
			else
				sb_append(sb, "\\ufffd");	/* invalid UTF-8 byte */
			break;
		}
		s++;
	}
	sb_append(sb, "\"");
}

/* Comma (if a sibling came before) and "key": for the next value. */
static void json_value_prefix(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		sb_append(j->sb, ",");
	j->need_comma[j->depth] = true;
	if (key) {
		json_append_escaped(j->sb, key);
		sb_append(j->sb, ":");
	}
}

static void json_container_begin(struct json *j, const char *key, const char *open)
{
	if (json_container_writable(j)) {
		json_value_prefix(j, key);
		sb_append(j->sb, open);
		j->need_comma[j->depth + 1] = false;
	}
	if (j->depth < INT_MAX)
		j->depth++;
}

static void json_container_end(struct json *j, const char *close)
{
	if (j->depth <= 0)
		return;	/* unbalanced end: ignore */
	j->depth--;
	if (json_container_writable(j))
		sb_append(j->sb, close);
}

void json_object_begin(struct json *j, const char *key)
{
	json_container_begin(j, key, "{");
}

void json_object_end(struct json *j)
{
	json_container_end(j, "}");
}

void json_array_begin(struct json *j, const char *key)
{
	json_container_begin(j, key, "[");
}

void json_array_end(struct json *j)
{
	json_container_end(j, "]");
}

void json_string(struct json *j, const char *key, const char *value)
{
	if (!json_value_writable(j))
		return;
	json_value_prefix(j, key);
	if (value)
		json_append_escaped(j->sb, value);
	else
		sb_append(j->sb, "null");
}

void json_int(struct json *j, const char *key, long long value)
{
	if (!json_value_writable(j))
		return;
	json_value_prefix(j, key);
	sb_printf(j->sb, "%lld", value);
}

void json_uint(struct json *j, const char *key, unsigned long long value)
{
	if (!json_value_writable(j))
		return;
	json_value_prefix(j, key);
	sb_printf(j->sb, "%llu", value);
}

void json_bool(struct json *j, const char *key, bool value)
{
	if (!json_value_writable(j))
		return;
	json_value_prefix(j, key);
	sb_append(j->sb, value ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
	if (!json_value_writable(j))
		return;
	json_value_prefix(j, key);
	sb_append(j->sb, "null");
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;

		if (d == 16)
			return -EINVAL;
		*v = *v << 4 | d;
	}
	return 0;
}

static void append_utf8(struct strbuf *out, unsigned cp)
{
	char b[4];

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		b[0] = (char)cp;
		sb_appendn(out, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		sb_appendn(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		sb_appendn(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		sb_appendn(out, b, 4);
	}
}

/* After "\u" at in[i]: one code point, a surrogate pair counted as one. */
static long decode_u_escape(const char *in, size_t len, size_t i, unsigned *cp)
{
	unsigned lo;

	if (len - i < 4 || hex4(in + i, cp) < 0)
		return -EINVAL;
	i += 4;
	if (*cp >= 0xd800 && *cp <= 0xdbff && len - i >= 6 && in[i] == '\\' && in[i + 1] == 'u' &&
	    hex4(in + i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	}
	return (long)i;
}

long json_string_decode(const char *in, size_t len, struct strbuf *out)
{
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	size_t i = 1;

	if (!in || len < 2 || in[0] != '"')
		return -EINVAL;
	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		const char *esc;
		unsigned cp;
		long next;

		if (c == '"')
			return (long)(i + 1);
		if (c < 0x20)
			return -EINVAL;
		if (c != '\\') {
			sb_appendn(out, in + i, 1);
			i++;
			continue;
		}
		if (++i >= len)
			return -EINVAL;
		if (in[i] == 'u') {
			if ((next = decode_u_escape(in, len, i + 1, &cp)) < 0)
				return next;
			append_utf8(out, cp);
			i = (size_t)next;
			continue;
		}
		esc = in[i] ? strchr(simple_in, in[i]) : NULL;
		if (!esc)
			return -EINVAL;
		sb_appendn(out, simple_out + (esc - simple_in), 1);
		i++;
	}
	return -EINVAL;
}
