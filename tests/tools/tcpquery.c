/* Test tool: connect to HOST PORT (optionally from a source address), print
 * whatever the server sends until it closes. Exit 0 when connected (even if
 * nothing came), 1 when the connection failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int resolve(const char *host, const char *port, struct addrinfo **out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };

	return getaddrinfo(host, port, &hints, out);
}

int main(int argc, char **argv)
{
	const char *src = NULL;
	struct addrinfo *dst, *srcai = NULL;
	int timeout_ms = 3000, fd, c;
	char buf[4096];

	while ((c = getopt(argc, argv, "s:t:")) != -1) {
		if (c == 's')
			src = optarg;
		else if (c == 't')
			timeout_ms = atoi(optarg);
		else
			return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: tcpquery [-s src] [-t ms] host port\n");
		return 2;
	}
	if (resolve(argv[optind], argv[optind + 1], &dst) != 0 || (src && resolve(src, "0", &srcai) != 0)) {
		fprintf(stderr, "tcpquery: bad address\n");
		return 2;
	}
	fd = socket(dst->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || (srcai && bind(fd, srcai->ai_addr, srcai->ai_addrlen) < 0)) {
		perror("tcpquery: socket/bind");
		return 1;
	}
	if (connect(fd, dst->ai_addr, dst->ai_addrlen) < 0) {
		perror("tcpquery: connect");
		return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	freeaddrinfo(dst);
	if (srcai)
		freeaddrinfo(srcai);
	return 0;
}
