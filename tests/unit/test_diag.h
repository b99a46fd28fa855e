/* Checking the messages of an ini_diag in unit tests. */
#ifndef DSRKIT_TEST_DIAG_H
#define DSRKIT_TEST_DIAG_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ini.h"

/* Does any message contain needle? If not, show them all. */
static inline bool diag_has(const struct ini_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], needle))
			return true;
	fprintf(stderr, "  no message contains \"%s\"; got:\n", needle);
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    %s\n", d->msgs[i]);
	return false;
}

#endif
