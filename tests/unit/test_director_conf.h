/* A director.ini given as text, loaded as the daemon loads it, for the
 * engines' unit tests; a refusal is a failed check with its messages.
 * Include after test.h. */
#ifndef DSRKIT_TEST_DIRECTOR_CONF_H
#define DSRKIT_TEST_DIRECTOR_CONF_H

#include <stdio.h>
#include <string.h>

#include "directord.h"

static inline struct director_config *conf(const char *text)
{
	struct director_config *cfg = NULL;
	struct ini_diag d;

	ini_diag_init(&d);
	if (director_config_load_buffer("/etc/dsrkit/test.ini", text, strlen(text), &cfg, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "    %s\n", d.msgs[i]);
		test_failed_checks++;
	}
	ini_diag_free(&d);
	return cfg;
}

#endif
