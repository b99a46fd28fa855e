/* What the code under test logs (to stderr, the log's default), caught
 * in a memfd so that a test can count it. */
#ifndef DSRKIT_TEST_STDERR_H
#define DSRKIT_TEST_STDERR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* stderr (where the log goes here) into a memfd, until stderr_back. */
static inline int stderr_away(void)
{
	int saved, fd = memfd_create("test-log", MFD_CLOEXEC);

	fflush(stderr);
	saved = dup(2);
	if (fd >= 0)
		dup2(fd, 2);
	if (fd >= 0)
		close(fd);
	return saved;
}

/* What was logged meanwhile (to free), stderr restored. */
static inline char *stderr_back(int saved)
{
	char *text = calloc(1, 65536);
	ssize_t n;

	fflush(stderr);
	if (text && lseek(2, 0, SEEK_SET) == 0 && (n = read(2, text, 65535)) > 0)
		text[n] = '\0';
	dup2(saved, 2);
	close(saved);
	return text;
}

static inline unsigned occurrences(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

#endif
