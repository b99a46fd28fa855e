/* Test tool: send one line to a unix stream socket and print the reply
 * (used for HAProxy's admin socket). */
#include <stdio.h>
#include <string.h>

#include "ctlsock.h"

int main(int argc, char **argv)
{
	struct strbuf sb;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: unixquery socket request\n");
		return 2;
	}
	sb_init(&sb);
	ret = ctl_call(argv[1], argv[2], 5000, &sb);
	if (ret < 0) {
		fprintf(stderr, "unixquery: %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	fputs(sb_str(&sb), stdout);
	sb_free(&sb);
	return 0;
}
