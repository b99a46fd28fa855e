/* lvs-accept: the real servers of bench/lvs.sh's check runs. Listens on
 * ADDR:PORT (0.0.0.0 takes every address of the namespace: 2,000 real
 * server addresses on a dummy interface share one socket), accepts and
 * closes every connection, and prints once a second
 *   "T N"   (CLOCK_REALTIME epoch seconds, connections accepted so far)
 * so that the benchmark sees how many health checks reached the servers.
 *
 *   lvs-accept ADDR PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned long long accepted = 0;
	double next;
	int fd, one = 1;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: lvs-accept ADDR PORT\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		perror("lvs-accept");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%.6f %llu listening\n", now_epoch(), accepted);
	next = now_epoch() + 1;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double now = now_epoch();
		int c;

		if (now >= next) {
			printf("%.6f %llu\n", now, accepted);
			next += 1;
			if (next < now)
				next = now + 1;
		}
		if (poll(&p, 1, (int)((next - now) * 1000) + 1) <= 0)
			continue;
		while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			close(c);
			accepted++;
		}
	}
}
