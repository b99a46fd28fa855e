/* libFuzzer target: control replies as a client (directorctl) reads them,
 * and JSON string literals. An error reply made from any text must come
 * back as that text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf msg, reply;
	char *text;
	long n;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	sb_init(&msg);
	sb_init(&reply);

	/* Arbitrary bytes as a literal: consumed length within bounds, and
	 * the decoded text holds no NUL. */
	n = json_string_decode(text, size, &msg);
	if (n > (long)size || (n >= 0 && (n < 2 || strlen(sb_str(&msg)) != msg.len)))
		abort();
	/* As a whole reply. */
	if (ctl_reply_error_text(text, &msg) == 1 && strlen(sb_str(&msg)) != msg.len)
		abort();
	/* Round trip: plain text (up to the first NUL) survives. */
	ctl_reply_error(&reply, text);
	if (ctl_reply_error_text(sb_str(&reply), &msg) != 1)
		abort();
	if (plain_ascii(text) && strcmp(sb_str(&msg), text) != 0)
		abort();
	sb_free(&msg);
	sb_free(&reply);
	free(text);
	return 0;
}
