/* spin: one busy loop, the CPU load of the directord stability benchmark.
 *
 *   spin SECONDS
 *
 * Burns CPU in user space without a system call until SECONDS have
 * passed (alarm(2): the default action of SIGALRM ends it), so it is
 * bounded even if nobody stops it. bench/director.sh runs one per core,
 * pinned with taskset, at the default scheduling policy and nice 0. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	volatile unsigned long n = 0;
	char *end;
	unsigned long secs;

	if (argc != 2) {
		fprintf(stderr, "usage: spin SECONDS\n");
		return 2;
	}
	secs = strtoul(argv[1], &end, 10);
	if (*end || secs == 0 || secs > 3600) {
		fprintf(stderr, "spin: SECONDS must be 1 to 3600\n");
		return 2;
	}
	alarm((unsigned)secs);
	for (;;)
		n++;
}
