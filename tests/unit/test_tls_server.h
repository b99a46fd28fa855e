/* A real TLS server for tests of https checks: `openssl s_server -HTTP`
 * from Debian, a child process on 127.0.0.1, with certificates made by
 * tests/tools/mkcerts.sh into a directory of the test's own (see there
 * for the names). tls_setup() says why nothing can run, or NULL. */
#ifndef DSRKIT_TEST_TLS_SERVER_H
#define DSRKIT_TEST_TLS_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "tls.h"

static char tls_dir[128];	/* the certificates, and what s_server serves */

/* ---- the files ---- */

static inline char *path_of(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", tls_dir, name);
	return b;
}

/* A file's content (what the config loader keeps), or NULL. */
static inline char *pem_of(const char *name)
{
	struct tls_pem_file f;
	char err[PARSE_ERR_MAX];

	if (tls_pem_file_load(strstr(name, ".key") ? TLS_PEM_KEY : TLS_PEM_CERT, path_of(name), &f, err) < 0) {
		fprintf(stderr, "  %s: %s\n", name, err);
		return NULL;
	}
	free(f.path);
	return f.pem;
}

static inline void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* mkcerts.sh, found from the working directory (make runs tests from the
 * top of the tree) or from the binary's (BUILD/tests/). */
static inline const char *mkcerts_path(void)
{
	static char exe[PATH_MAX], p[PATH_MAX + 64];
	ssize_t n;

	if (access("tests/tools/mkcerts.sh", R_OK) == 0)
		return "tests/tools/mkcerts.sh";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (int up = 0; up < 4; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return NULL;
		*slash = '\0';
		snprintf(p, sizeof(p), "%s/tests/tools/mkcerts.sh", exe);
		if (access(p, R_OK) == 0)
			return p;
	}
	return NULL;
}

/* The certificates, and the files s_server -HTTP answers with: health
 * (200) and down (503). */
static inline const char *tls_setup(void)
{
	char cmd[PATH_MAX * 2 + 64];
	const char *mk = mkcerts_path();

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return "no openssl command (Debian package openssl)";
	if (!mk)
		return "tests/tools/mkcerts.sh not found";
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/dsrkit-test-https.XXXXXX");
	if (!mkdtemp(tls_dir)) {
		tls_dir[0] = '\0';
		return "mkdtemp failed";
	}
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s'", mk, tls_dir);
	if (system(cmd) != 0)
		return "mkcerts.sh failed";
	/* s_server -HTTP answers GET /NAME with the file NAME as it is. */
	write_text("health", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhealthy\n");
	write_text("down", "HTTP/1.0 503 Service Unavailable\r\n\r\ndown\n");
	return NULL;
}

static inline void tls_teardown(void)
{
	char cmd[PATH_MAX + 16];

	if (tls_dir[0] && strncmp(tls_dir, "/tmp/dsrkit-test-https.", 23) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tls_dir);
		CHECK_EQ_INT(system(cmd), 0);
	}
}

/* ---- the server ---- */

struct tls_server {
	pid_t pid;
	uint16_t port;
	bool ipv6;		/* set before starting: on [::1], not 127.0.0.1 */
};

/* The loopback address of a family, at port. */
static inline socklen_t loopback_at(bool ipv6, uint16_t port, struct sockaddr_in6 *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*out));
	if (ipv6) {
		out->sin6_family = AF_INET6;
		out->sin6_port = htons(port);
		out->sin6_addr = in6addr_loopback;
		return sizeof(*out);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sin);
}

static inline uint16_t free_port(bool ipv6)
{
	struct sockaddr_in6 sa;
	socklen_t len = loopback_at(ipv6, 0, &sa);
	int fd = socket(sa.sin6_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	/* Both structs keep the port at the same place. */
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, len) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin6_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static inline bool port_open(bool ipv6, uint16_t port)
{
	struct sockaddr_in6 sa;
	socklen_t len = loopback_at(ipv6, port, &sa);
	int fd = socket(sa.sin6_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* openssl s_server -HTTP in tls_dir with cert NAME.pem / NAME.key and extra
 * arguments (NULL-terminated); false when it does not listen within 5 s. */
static inline bool tls_server_start(struct tls_server *s, const char *name, ...)
{
	char cert[PATH_MAX], key[PATH_MAX], accept_at[32];
	const char *argv[32];
	size_t n = 0;
	va_list ap;

	s->port = free_port(s->ipv6);
	snprintf(cert, sizeof(cert), "%s/%s.pem", tls_dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", tls_dir, name);
	snprintf(accept_at, sizeof(accept_at), s->ipv6 ? "[::1]:%u" : "127.0.0.1:%u", s->port);
	argv[n++] = "openssl";
	argv[n++] = "s_server";
	argv[n++] = "-quiet";
	argv[n++] = "-HTTP";
	argv[n++] = "-accept";
	argv[n++] = accept_at;
	argv[n++] = "-cert";
	argv[n++] = cert;
	argv[n++] = "-key";
	argv[n++] = key;
	va_start(ap, name);
	for (const char *a; n < ARRAY_SIZE(argv) - 1 && (a = va_arg(ap, const char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	s->pid = fork();
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (chdir(tls_dir) == 0)
			execvp("openssl", (char *const *)argv);
		_exit(127);
	}
	CHECK(s->pid > 0);
	for (int i = 0; i < 100 && s->pid > 0; i++) {
		if (port_open(s->ipv6, s->port))
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static inline void tls_server_stop(struct tls_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

#endif
