/* Minimal JSON writer on top of strbuf: enough for status replies.
 * The caller emits keys and values in order; commas are handled here. */
#ifndef DSRKIT_JSON_H
#define DSRKIT_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define JSON_MAX_DEPTH 16

struct json {
	struct strbuf *sb;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, struct strbuf *sb);
void json_object_begin(struct json *j, const char *key);	/* key NULL inside arrays / top level */
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);	/* value NULL -> null */
void json_int(struct json *j, const char *key, long long value);
void json_uint(struct json *j, const char *key, unsigned long long value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);

/* Read one JSON string literal at the start of in[0..len): its text goes to
 * out as UTF-8 (\u0000 and lone surrogates become U+FFFD, so out holds no
 * NUL). Returns the bytes consumed, or -EINVAL. */
long json_string_decode(const char *in, size_t len, struct strbuf *out);

#endif
