/* libFuzzer target: the process connector's messages as proc_watch.c
 * parses them (proc_cn_parse). They come from the kernel only (port 0 is
 * checked), but a parser of netlink lengths is still checked against
 * every length: it must not read past what it was given (ASan), it must
 * report only real pids, and the acknowledgement only when asked.
 *
 * Input: four bytes of nonce, one mode byte (bit 0: look for the
 * acknowledgement), then the bytes of one recv(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void each(pid_t pid, void *arg)
{
	REQUIRE(pid > 0);
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t nonce;
	size_t calls = 0, len;
	int acked = 1;
	bool want_ack;
	void *buf;

	if (size < 5)
		return 0;
	memcpy(&nonce, data, sizeof(nonce));
	want_ack = data[4] & 1;
	len = size - 5;
	/* Exactly len bytes, aligned as the daemon's buffer is. */
	if (!(buf = malloc(len ? len : 1)))
		abort();
	memcpy(buf, data + 5, len);
	proc_cn_parse(buf, len, nonce, want_ack ? &acked : NULL, each, &calls);
	if (want_ack)
		REQUIRE(calls == 0 && (acked == 1 || (acked <= 0 && acked > -4096)));
	free(buf);
	return 0;
}
