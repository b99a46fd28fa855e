/* lvs-stamp: copies stdin to stdout, each line prefixed with the
 * CLOCK_REALTIME epoch time (microseconds) at which it was read, for
 * bench/lvs.sh: directord and keepalived log without timestamps, and the
 * benchmark times log lines ("ipvs: start: ... operations").
 *
 *   DAEMON 2>&1 >FIFO & lvs-stamp <FIFO >LOG
 *
 * A daemon that flushes each line wakes this reader per line, so the
 * stamp is within a scheduling delay of the write. Ends at EOF.
 *
 *   lvs-stamp -s PATH >LOG
 *
 * is a syslog socket instead: binds a unix datagram socket at PATH
 * (/dev/log) and writes each message received, stamped, as a line. In
 * the VM nothing listens on /dev/log, and keepalived -l, whose openlog()
 * has LOG_CONS, then writes every message to the serial console as well:
 * slow under TCG, and it floods vm.sh's output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int syslog_sink(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[1 << 16];
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "lvs-stamp: path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("lvs-stamp");
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		struct timespec ts;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("lvs-stamp: recv");
			return 1;
		}
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
			n--;
		buf[n] = '\0';
		clock_gettime(CLOCK_REALTIME, &ts);
		printf("%lld.%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, buf);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	static char buf[1 << 16], line[1 << 16];
	size_t used = 0;
	int at_start = 1;

	if (argc == 3 && strcmp(argv[1], "-s") == 0)
		return syslog_sink(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: lvs-stamp <IN >OUT, or lvs-stamp -s SOCKET_PATH >OUT\n");
		return 2;
	}
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		struct timespec ts;
		char stamp[32];

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(stamp, sizeof(stamp), "%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
		for (ssize_t i = 0; i < n; i++) {
			if (at_start) {
				memcpy(line, stamp, strlen(stamp));
				used = strlen(stamp);
				at_start = 0;
			}
			if (used < sizeof(line) - 1)
				line[used++] = buf[i];
			if (buf[i] == '\n') {
				fwrite(line, 1, used, stdout);
				used = 0;
				at_start = 1;
			}
		}
		fflush(stdout);
	}
	if (!at_start) {
		line[used++] = '\n';
		fwrite(line, 1, used, stdout);
	}
	return 0;
}
