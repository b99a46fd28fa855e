/* oneline: the smallest honest agent-check responder, the reference that
 * rs-agent's replies/s and RSS are compared with.
 *
 * One thread, epoll, libc only. Same wire behaviour as rs-agent's port:
 * accept, send the fixed line, shutdown(SHUT_WR), read until the client's
 * EOF, close. No allow list, no state, no timers, no health checks.
 * Runs until SIGTERM/SIGINT, or -t seconds (default 600) at the most. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	const char *line = "up ready\n";
	int lfd, epfd, one = 1, c, limit_s = 600;
	size_t line_len;
	time_t until;

	while ((c = getopt(argc, argv, "a:p:l:t:")) != -1) {
		switch (c) {
		case 'a': if (inet_pton(AF_INET, optarg, &sin.sin_addr) != 1) return 2; break;
		case 'p': sin.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'l': line = optarg; break;
		case 't': limit_s = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: oneline [-a ADDR] -p PORT [-l LINE] [-t SECONDS]\n");
			return 2;
		}
	}
	line_len = strlen(line);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || epfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 128) < 0) {
		perror("oneline");
		return 1;
	}
	ev.data.fd = lfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	until = time(NULL) + limit_s;
	while (!stop && time(NULL) < until) {
		int n = epoll_wait(epfd, evs, 64, 500);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				for (int k = 0; k < 64; k++) {
					int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct epoll_event cev = { .events = EPOLLIN };

					if (cfd < 0)
						break;
					if (send(cfd, line, line_len, MSG_NOSIGNAL) != (ssize_t)line_len) {
						close(cfd);
						continue;
					}
					shutdown(cfd, SHUT_WR);
					cev.data.fd = cfd;
					if (epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev) < 0)
						close(cfd);
				}
			} else {
				char scratch[512];
				ssize_t r = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);

				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
					close(fd);
			}
		}
	}
	return 0;
}
