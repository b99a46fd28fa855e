/* See daemonize.h. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "daemonize.h"
#include "log.h"

int daemon_detach(const char *name)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC) < 0)
		fatal("pipe");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) == 1 && c == 'R')
			_exit(0);
		fprintf(stderr, "%s: the daemon failed to start (see the log)\n", name);
		_exit(1);
	}
	close(fds[0]);
	if (setsid() < 0)
		fatal("setsid");
	return fds[1];
}

void daemon_ready(int ready_fd, const char *name)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_init(name, false, log_getlevel());
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(ready_fd, "R", 1) != 1)
		log_warn("telling the process that started us that we are ready");
	close(ready_fd);
}
