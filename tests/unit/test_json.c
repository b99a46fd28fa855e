/* JSON writer: escaping, UTF-8 handling, commas, nesting and its cap. */
#include "json.h"
#include "test.h"

/* Encode one string value at top level and return the output. */
static const char *encode_string(struct strbuf *sb, const char *value)
{
	struct json j;

	sb_reset(sb);
	json_init(&j, sb);
	json_string(&j, NULL, value);
	return sb_str(sb);
}

TEST(escapes_quotes_and_backslash)
{
	struct strbuf sb;

	sb_init(&sb);
	CHECK_EQ_STR(encode_string(&sb, "say \"hi\""), "\"say \\\"hi\\\"\"");
	CHECK_EQ_STR(encode_string(&sb, "C:\\dir\\"), "\"C:\\\\dir\\\\\"");
	CHECK_EQ_STR(encode_string(&sb, "\\\""), "\"\\\\\\\"\"");
	CHECK_EQ_STR(encode_string(&sb, "/ is fine"), "\"/ is fine\"");
	CHECK_EQ_STR(encode_string(&sb, ""), "\"\"");
	sb_free(&sb);
}

TEST(escapes_control_characters)
{
	struct strbuf sb;

	sb_init(&sb);
	CHECK_EQ_STR(encode_string(&sb, "a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
	CHECK_EQ_STR(encode_string(&sb, "\x01\x1f"), "\"\\u0001\\u001f\"");
	CHECK_EQ_STR(encode_string(&sb, "bell\a back\b ff\f esc\x1b"),
		     "\"bell\\u0007 back\\u0008 ff\\u000c esc\\u001b\"");
	/* DEL and space need no escape. */
	CHECK_EQ_STR(encode_string(&sb, " \x7f"), "\" \x7f\"");
	sb_free(&sb);
}

TEST(utf8_passes_through)
{
	struct strbuf sb;

	sb_init(&sb);
	CHECK_EQ_STR(encode_string(&sb, "caf\xc3\xa9"), "\"caf\xc3\xa9\"");		/* é */
	CHECK_EQ_STR(encode_string(&sb, "\xe2\x82\xac 5"), "\"\xe2\x82\xac 5\"");	/* € */
	CHECK_EQ_STR(encode_string(&sb, "\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");	/* emoji */
	CHECK_EQ_STR(encode_string(&sb, "\xef\xbf\xbf"), "\"\xef\xbf\xbf\"");		/* U+FFFF */
	CHECK_EQ_STR(encode_string(&sb, "\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	sb_free(&sb);
}

TEST(invalid_utf8_is_replaced)
{
	struct strbuf sb;

	sb_init(&sb);
	/* Lone continuation byte, truncated sequence, overlong '/', a UTF-16
	 * surrogate, beyond U+10FFFF, and bytes that never start anything. */
	CHECK_EQ_STR(encode_string(&sb, "a\x80z"), "\"a\\ufffdz\"");
	CHECK_EQ_STR(encode_string(&sb, "\xc3"), "\"\\ufffd\"");
	CHECK_EQ_STR(encode_string(&sb, "\xe2\x82"), "\"\\ufffd\\ufffd\"");
	CHECK_EQ_STR(encode_string(&sb, "\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	CHECK_EQ_STR(encode_string(&sb, "\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_EQ_STR(encode_string(&sb, "\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_EQ_STR(encode_string(&sb, "\xff\xfe"), "\"\\ufffd\\ufffd\"");
	/* A quote right after a truncated sequence is still escaped. */
	CHECK_EQ_STR(encode_string(&sb, "\xe2\""), "\"\\ufffd\\\"\"");
	sb_free(&sb);
}

TEST(keys_are_escaped)
{
	struct strbuf sb;
	struct json j;

	sb_init(&sb);
	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	json_int(&j, "a\"b\n", 1);
	json_object_end(&j);
	CHECK_EQ_STR(sb_str(&sb), "{\"a\\\"b\\n\":1}");
	sb_free(&sb);
}

TEST(values_and_commas)
{
	struct strbuf sb;
	struct json j;

	sb_init(&sb);
	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	json_string(&j, "name", "web");
	json_string(&j, "none", NULL);
	json_int(&j, "neg", -42);
	json_int(&j, "min", -9223372036854775807LL - 1);
	json_uint(&j, "big", 18446744073709551615ULL);
	json_bool(&j, "up", true);
	json_bool(&j, "down", false);
	json_null(&j, "nil");
	json_object_end(&j);
	CHECK_EQ_STR(sb_str(&sb),
		     "{\"name\":\"web\",\"none\":null,\"neg\":-42,"
		     "\"min\":-9223372036854775808,\"big\":18446744073709551615,"
		     "\"up\":true,\"down\":false,\"nil\":null}");
	sb_free(&sb);
}

TEST(nesting_and_commas)
{
	struct strbuf sb;
	struct json j;

	sb_init(&sb);
	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "servers");
	json_object_begin(&j, NULL);
	json_string(&j, "addr", "192.0.2.1:80");
	json_uint(&j, "weight", 1);
	json_object_end(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "addr", "192.0.2.2:80");
	json_array_begin(&j, "flags");
	json_array_end(&j);
	json_object_end(&j);
	json_int(&j, NULL, 3);
	json_array_end(&j);
	json_object_begin(&j, "empty");
	json_object_end(&j);
	json_bool(&j, "last", true);
	json_object_end(&j);
	CHECK_EQ_STR(sb_str(&sb),
		     "{\"servers\":[{\"addr\":\"192.0.2.1:80\",\"weight\":1},"
		     "{\"addr\":\"192.0.2.2:80\",\"flags\":[]},3],"
		     "\"empty\":{},\"last\":true}");
	CHECK_EQ_INT(j.depth, 0);
	sb_free(&sb);
}

TEST(top_level_array_of_scalars)
{
	struct strbuf sb;
	struct json j;

	sb_init(&sb);
	json_init(&j, &sb);
	json_array_begin(&j, NULL);
	json_string(&j, NULL, "a");
	json_int(&j, NULL, 1);
	json_null(&j, NULL);
	json_array_end(&j);
	CHECK_EQ_STR(sb_str(&sb), "[\"a\",1,null]");
	sb_free(&sb);
}

/* Brackets balance, never a comma before a closing bracket or after an
 * opening one, never two commas in a row (strings here hold none). */
static bool well_formed(const char *s)
{
	int depth = 0;
	char prev = 0;

	for (; *s; s++) {
		if (*s == '[' || *s == '{')
			depth++;
		if (*s == ']' || *s == '}') {
			if (--depth < 0 || prev == ',')
				return false;
		}
		if (*s == ',' && (prev == ',' || prev == '[' || prev == '{' || prev == ':'))
			return false;
		prev = *s;
	}
	return depth == 0;
}

TEST(depth_is_capped_safely)
{
	struct strbuf sb;
	struct json j;
	const int deep = JSON_MAX_DEPTH + 8;
	int opened = 0;

	sb_init(&sb);
	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	for (int i = 0; i < deep; i++) {
		json_array_begin(&j, i == 0 ? "deep" : NULL);
		json_int(&j, NULL, i);
	}
	for (int i = 0; i < deep; i++) {
		json_int(&j, NULL, 100 + i);
		json_array_end(&j);
	}
	json_string(&j, "after", "ok");
	json_object_end(&j);
	CHECK_EQ_INT(j.depth, 0);
	CHECK(well_formed(sb_str(&sb)));
	CHECK_CONTAINS(sb_str(&sb), "\"after\":\"ok\"}");
	for (const char *p = sb_str(&sb); *p; p++)
		opened += *p == '[';
	CHECK_EQ_INT(opened, JSON_MAX_DEPTH - 2);	/* the object takes one level */

	/* Unbalanced ends are ignored. */
	json_object_end(&j);
	json_array_end(&j);
	CHECK_EQ_INT(j.depth, 0);
	sb_free(&sb);
}

/* Decoding: what the writer escapes comes back unchanged. */
static bool round_trips(const char *text)
{
	struct strbuf enc, dec;
	struct json j;
	long n;
	bool ok;

	sb_init(&enc);
	sb_init(&dec);
	json_init(&j, &enc);
	json_string(&j, NULL, text);
	n = json_string_decode(sb_str(&enc), enc.len, &dec);
	ok = n == (long)enc.len && strcmp(sb_str(&dec), text) == 0;
	sb_free(&enc);
	sb_free(&dec);
	return ok;
}

static const char *decoded(const char *literal, struct strbuf *out)
{
	sb_reset(out);
	return json_string_decode(literal, strlen(literal), out) < 0 ? "(invalid)" : sb_str(out);
}

TEST(decode_strings)
{
	struct strbuf sb;

	CHECK(round_trips(""));
	CHECK(round_trips("a.ini:3: vrrp VI_1.prority: unknown key (did you mean 'priority'?)\nsecond"));
	CHECK(round_trips("quote \" backslash \\ tab \t cr \r bell \a del \x7f"));
	CHECK(round_trips("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));

	sb_init(&sb);
	CHECK_EQ_STR(decoded("\"\\/\\b\\f\\u0041\\u00e9\"", &sb), "/\b\fA\xc3\xa9");
	CHECK_EQ_STR(decoded("\"\\ud83d\\ude00\"", &sb), "\xf0\x9f\x98\x80");	/* surrogate pair */
	/* No NUL gets in, nor a lone surrogate: both become U+FFFD. */
	CHECK_EQ_STR(decoded("\"a\\u0000b\\udc00\"", &sb), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	/* Only the literal is consumed. */
	CHECK_EQ_INT(json_string_decode("\"ab\"}", 5, &sb), 4);
	CHECK_EQ_STR(decoded("\"unterminated", &sb), "(invalid)");
	CHECK_EQ_STR(decoded("\"bad \\x escape\"", &sb), "(invalid)");
	CHECK_EQ_STR(decoded("\"short \\u12\"", &sb), "(invalid)");
	CHECK_EQ_STR(decoded("\"raw\nnewline\"", &sb), "(invalid)");
	CHECK_EQ_STR(decoded("no quote", &sb), "(invalid)");
	CHECK_EQ_STR(decoded("\"trailing backslash\\", &sb), "(invalid)");
	sb_free(&sb);
}

TEST_MAIN(T(escapes_quotes_and_backslash), T(escapes_control_characters), T(utf8_passes_through),
	  T(invalid_utf8_is_replaced), T(keys_are_escaped), T(values_and_commas),
	  T(nesting_and_commas), T(top_level_array_of_scalars), T(depth_is_capped_safely),
	  T(decode_strings))
