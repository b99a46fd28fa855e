/* keepalived.conf as a tree of statements (kaconf.c), for
 * `directorctl import-keepalived`.
 *
 * A statement is a keyword and its words on one line, optionally followed
 * by a { } block of statements; `include PATTERN` is replaced by the
 * statements of the files it matches. Every statement keeps the file and
 * line it came from. Errors are "FILE:LINE: message" in an ini_diag. */
#ifndef DSRKIT_KACONF_H
#define DSRKIT_KACONF_H

#include <stdbool.h>
#include <stddef.h>

#include "ini.h"

#define KA_MAX_INCLUDE_DEPTH 8	/* files inside files */
#define KA_MAX_NESTING 16	/* blocks inside blocks */
#define KA_MAX_FILE_SIZE (16 * 1024 * 1024)

struct ka_node {
	char **words;			/* words[0] is the keyword */
	bool *quoted;			/* a word was written in double quotes */
	size_t nwords;
	const char *file;		/* owned by the tree */
	unsigned line;
	bool has_block;			/* followed by { ... }, maybe empty */
	unsigned block_line;		/* where its '{' is */
	struct ka_node *child;		/* first statement of the block */
	struct ka_node *next;
};

struct ka_tree {
	struct ka_node *root;		/* the top-level statements */
	char **files;			/* names of every file read */
	size_t nfiles;
};

struct ka_opts {
	bool allow_include;		/* false: an include is an error (fuzzing) */
	unsigned max_depth;		/* 0 or above KA_MAX_INCLUDE_DEPTH: that */
};

/* Statements of a file that must look like keepalived's before the rest
 * is read: a file included by mistake (/etc/shadow) is refused at once,
 * and none of its lines is shown. */
#define KA_SNIFF_STATEMENTS 5
#define KA_KEYWORD_MAX 64

/* A keyword's shape: a letter or '_', then letters, digits and '_'
 * (keepalived's parameters and conditions, $NAME and @NAME, too), at most
 * KA_KEYWORD_MAX bytes. Only such words are shown in messages about
 * unknown keywords. */
bool ka_word_is_keyword(const char *w);

/* w itself when it has a keyword's shape, else words that say it is not
 * shown: a line of a file that is not keepalived.conf is never echoed. */
const char *ka_word_shown(const char *w);

/* Parse a file (and what it includes). 0, or -errno with every error in
 * diag (-EINVAL for syntax errors). *out is set only on success. */
int kaconf_parse_file(const char *path, const struct ka_opts *opts, struct ka_tree **out,
		      struct ini_diag *diag);
/* The same from memory; name is used in messages and as the base of
 * relative includes. */
int kaconf_parse_buffer(const char *name, const char *data, size_t len, const struct ka_opts *opts,
			struct ka_tree **out, struct ini_diag *diag);
void kaconf_free(struct ka_tree *tree);

#endif
