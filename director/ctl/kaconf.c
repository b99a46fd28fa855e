/* keepalived.conf lexer and parser: words, "quoted strings", { } blocks,
 * '#' and '!' comments, include with globs. See kaconf.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kaconf.h"

#define MAX_WORDS 1024		/* per statement */
#define MAX_WORD 65536		/* bytes per word */

enum tok { T_WORD, T_LBRACE, T_RBRACE, T_NL, T_EOF, T_ERR };

struct level {
	struct ka_node **tail;		/* where the next statement goes */
	struct ka_node *owner;		/* the statement whose block this is */
};

struct parser {
	const struct ka_opts *opts;
	struct ka_tree *tree;
	struct ini_diag *diag;
	char *open_files[KA_MAX_INCLUDE_DEPTH + 1];	/* real paths being read: cycles */
	unsigned depth;
	bool nomem;
};

/* One file being read. */
struct source {
	const char *name;		/* owned by the tree */
	const char *p, *end;
	unsigned line;
	struct level stack[KA_MAX_NESTING + 1];
	unsigned nlev;
	struct ka_node *cur;		/* the statement of this line, not yet linked */
	struct ka_node *last;		/* the last one linked at this level */
	struct strbuf word;
	bool word_quoted;
	bool at_root;			/* its statements are top-level ones */
	unsigned statements;		/* of this file, counted up to KA_SNIFF_STATEMENTS */
};

static int parse_source(struct parser *ps, const struct source *from, const char *name, const char *data,
			size_t len, struct ka_node **tail);

static void node_free(struct ka_node *n)
{
	while (n) {
		struct ka_node *next = n->next;

		node_free(n->child);
		for (size_t i = 0; i < n->nwords; i++)
			free(n->words[i]);
		free(n->words);
		free(n->quoted);
		free(n);
		n = next;
	}
}

void kaconf_free(struct ka_tree *tree)
{
	if (!tree)
		return;
	node_free(tree->root);
	for (size_t i = 0; i < tree->nfiles; i++)
		free(tree->files[i]);
	free(tree->files);
	free(tree);
}

#define ERR(ps, src, ...) ini_diag_add((ps)->diag, (src)->name, (src)->line, NULL, NULL, __VA_ARGS__)

/* File names live as long as the tree: nodes point at them. */
static const char *tree_file(struct parser *ps, const char *name)
{
	char **files = realloc(ps->tree->files, (ps->tree->nfiles + 1) * sizeof(*files));
	char *copy = strdup(name);

	if (files)
		ps->tree->files = files;
	if (!files || !copy) {
		free(copy);
		ps->nomem = true;
		return NULL;
	}
	files[ps->tree->nfiles++] = copy;
	return copy;
}

/* ---- the lexer ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool ends_word(char c)
{
	return is_blank(c) || c == '\n' || c == '{' || c == '}' || c == '#' || c == '!';
}

/* A word: bare characters and "quoted parts", which may hold blanks,
 * braces and comment characters. */
static enum tok lex_word(struct parser *ps, struct source *s)
{
	sb_reset(&s->word);
	s->word_quoted = false;
	while (s->p < s->end && !ends_word(*s->p)) {
		if (*s->p == '\0') {
			ERR(ps, s, "NUL byte in the file");
			return T_ERR;
		}
		if (*s->p != '"') {
			sb_appendn(&s->word, s->p++, 1);
		} else {
			const char *q = memchr(s->p + 1, '"', (size_t)(s->end - s->p - 1));
			const char *nl = memchr(s->p + 1, '\n', (size_t)(s->end - s->p - 1));

			if (!q || (nl && nl < q)) {
				ERR(ps, s, "unterminated quoted string");
				return T_ERR;
			}
			sb_appendn(&s->word, s->p + 1, (size_t)(q - s->p - 1));
			s->word_quoted = true;
			s->p = q + 1;
		}
		if (s->word.len > MAX_WORD) {
			ERR(ps, s, "word longer than %d bytes", MAX_WORD);
			return T_ERR;
		}
	}
	if (s->word.failed) {
		ps->nomem = true;
		return T_ERR;
	}
	if (memchr(sb_str(&s->word), '\0', s->word.len)) {
		ERR(ps, s, "NUL byte in the file");
		return T_ERR;
	}
	return T_WORD;
}

static enum tok lex(struct parser *ps, struct source *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
	if (s->p < s->end && (*s->p == '#' || *s->p == '!'))
		while (s->p < s->end && *s->p != '\n')
			s->p++;
	if (s->p >= s->end)
		return T_EOF;
	switch (*s->p) {
	case '\n':
		s->p++;		/* the line is counted once its statement is done */
		return T_NL;
	case '{':
		s->p++;
		return T_LBRACE;
	case '}':
		s->p++;
		return T_RBRACE;
	default:
		return lex_word(ps, s);
	}
}

/* ---- what a keepalived.conf looks like ---- */

bool ka_word_is_keyword(const char *w)
{
	size_t i = 0;

	bool param = w[0] == '$';

	if (w[0] == '$' || w[0] == '@')
		i++;
	if (!isalpha((unsigned char)w[i]) && w[i] != '_')
		return false;
	while (isalnum((unsigned char)w[i]) || w[i] == '_')
		i++;
	/* $NAME=VALUE defines a parameter: the value is printable. */
	if (param && w[i] == '=')
		while (w[i] > 0x20 && w[i] < 0x7f)
			i++;
	return w[i] == '\0' && i <= KA_KEYWORD_MAX;
}

const char *ka_word_shown(const char *w)
{
	return ka_word_is_keyword(w) ? w : "(not shown: not a keepalived keyword)";
}

/* The entries of address lists (virtual_ipaddress, virtual_server_group,
 * unicast_peer) begin with an address or a range, not a keyword. */
static bool is_address_word(const char *w)
{
	if (!isxdigit((unsigned char)w[0]) && w[0] != ':')
		return false;
	return w[strspn(w, "0123456789abcdefABCDEF.:/%-")] == '\0';
}

/* The first top-level statements of each file must begin with a keyword
 * or an address; else the file is not keepalived syntax and is not read
 * on. A file included inside a block holds that block's entries (names,
 * interfaces) and is not judged. */
static int sniff_statement(struct parser *ps, struct source *s, const struct ka_node *n)
{
	if (!s->at_root || s->nlev > 0 || s->statements >= KA_SNIFF_STATEMENTS)
		return 0;
	s->statements++;
	if (ka_word_is_keyword(n->words[0]) || is_address_word(n->words[0]))
		return 0;
	ERR(ps, s, "not keepalived syntax: the line does not begin with a keyword; "
	    "the file is not read (its content is not shown)");
	return -EINVAL;
}

/* ---- statements ---- */

static int add_word(struct parser *ps, struct source *s)
{
	struct ka_node *n = s->cur;
	char **words;
	bool *quoted;

	if (!n) {
		n = s->cur = calloc(1, sizeof(*n));
		if (!n)
			goto nomem;
		n->file = s->name;
		n->line = s->line;
	}
	if (n->nwords >= MAX_WORDS) {
		ERR(ps, s, "more than %d words in one statement", MAX_WORDS);
		return -EINVAL;
	}
	words = realloc(n->words, (n->nwords + 1) * sizeof(*words));
	if (words)
		n->words = words;
	quoted = realloc(n->quoted, (n->nwords + 1) * sizeof(*quoted));
	if (quoted)
		n->quoted = quoted;
	if (!words || !quoted || !(n->words[n->nwords] = strdup(sb_str(&s->word))))
		goto nomem;
	n->quoted[n->nwords++] = s->word_quoted;
	return 0;
nomem:
	ps->nomem = true;
	return -ENOMEM;
}

static bool has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[{") != NULL;
}

/* Relative names are relative to the directory of the including file. */
static char *include_pattern(const char *including, const char *name)
{
	const char *slash = strrchr(including, '/');
	char *out;

	if (name[0] == '/' || !slash)
		return strdup(name);
	if (asprintf(&out, "%.*s/%s", (int)(slash - including), including, name) < 0)
		return NULL;
	return out;
}

/* Opened without blocking: a FIFO (or a device) named by mistake is
 * refused as not a regular file instead of hanging the conversion. */
static int read_whole(const char *path, char **data, size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r = 0;
	char *buf = NULL;
	int fd = open_typed(path, O_RDONLY, S_IFREG), ret = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (st.st_size > KA_MAX_FILE_SIZE)
		ret = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		ret = -ENOMEM;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)r;
	ret = r < 0 ? -errno : 0;
	close(fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* A caller may ask for less nesting, never more than open_files holds. */
static unsigned depth_limit(const struct ka_opts *opts)
{
	if (opts->max_depth == 0 || opts->max_depth > KA_MAX_INCLUDE_DEPTH)
		return KA_MAX_INCLUDE_DEPTH;
	return opts->max_depth;
}

/* Read one file at tail, refusing cycles and deep nesting. */
static int parse_file_at(struct parser *ps, struct source *from, const char *path, struct ka_node **tail)
{
	char *real = realpath(path, NULL), *data = NULL;
	size_t len = 0;
	int ret;

	if (!real) {
		ret = -errno;
		if (from)
			ERR(ps, from, "include %s: %s", path, strerror(-ret));
		else
			ini_diag_add(ps->diag, path, 0, NULL, NULL, "%s", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < ps->depth; i++)
		if (strcmp(ps->open_files[i], real) == 0) {
			ERR(ps, from, "include %s: include cycle (the file is already being read)", path);
			free(real);
			return -ELOOP;
		}
	if (ps->depth > depth_limit(ps->opts)) {
		ERR(ps, from, "include %s: includes nested deeper than %u files", path, depth_limit(ps->opts));
		free(real);
		return -ELOOP;
	}
	ret = read_whole(path, &data, &len);
	if (ret < 0) {
		const char *why = ret == -EINVAL ? "not a regular file" :
				  ret == -EFBIG ? "larger than 16 MiB" : strerror(-ret);

		if (from)
			ERR(ps, from, "include %s: %s", path, why);
		else
			ini_diag_add(ps->diag, path, 0, NULL, NULL, "%s", why);
		free(real);
		return ret;
	}
	ps->open_files[ps->depth++] = real;
	ret = parse_source(ps, from, path, data, len, tail);
	free(ps->open_files[--ps->depth]);
	free(data);
	return ret;
}

static int do_include(struct parser *ps, struct source *s, struct ka_node *inc)
{
	struct ka_node **tail = s->stack[s->nlev].tail;
	char *pattern;
	glob_t g;
	int ret = 0, r;

	if (!ps->opts->allow_include) {
		ERR(ps, s, "include is not allowed here");
		return -EINVAL;
	}
	if (inc->nwords != 2) {
		ERR(ps, s, "include takes one file name or pattern");
		return -EINVAL;
	}
	pattern = include_pattern(s->name, inc->words[1]);
	if (!pattern) {
		ps->nomem = true;
		return -ENOMEM;
	}
	if (!has_glob_chars(inc->words[1])) {
		ret = parse_file_at(ps, s, pattern, tail);
		free(pattern);
		return ret;
	}
	r = glob(pattern, GLOB_BRACE, NULL, &g);
	if (r == GLOB_NOMATCH) {
		ERR(ps, s, "include %s: no file matches", pattern);
		free(pattern);
		return -ENOENT;
	} else if (r != 0) {
		ERR(ps, s, "include %s: %s", pattern, r == GLOB_NOSPACE ? strerror(ENOMEM) : "cannot read the directory");
		free(pattern);
		return -EIO;
	}
	for (size_t i = 0; i < g.gl_pathc && ret != -ENOMEM; i++) {
		/* Every file is read, so that one run shows every error. */
		ret = parse_file_at(ps, s, g.gl_pathv[i], tail);
		while (*tail)
			tail = &(*tail)->next;
	}
	globfree(&g);
	free(pattern);
	return ret;
}

/* The statement of the line is complete: link it, or read what it includes. */
static int end_statement(struct parser *ps, struct source *s)
{
	struct ka_node *n = s->cur;
	struct level *lv = &s->stack[s->nlev];
	int ret;

	if (!n)
		return 0;
	s->cur = NULL;
	if ((ret = sniff_statement(ps, s, n)) < 0) {
		node_free(n);
		return ret;
	}
	if (strcmp(n->words[0], "include") == 0) {
		/* Errors of included files are reported and do not stop this
		 * one: one run shows them all. */
		ret = do_include(ps, s, n) == -ENOMEM ? -ENOMEM : 0;
		node_free(n);
		while (*lv->tail)
			lv->tail = &(*lv->tail)->next;
		s->last = NULL;		/* an include takes no block */
		return ret;
	}
	*lv->tail = n;
	lv->tail = &n->next;
	s->last = n;
	return 0;
}

static int open_block(struct parser *ps, struct source *s)
{
	struct ka_node *owner;
	int ret = end_statement(ps, s);

	if (ret < 0)
		return ret;
	/* "keyword {" or "keyword" then "{" on the next line. */
	owner = s->last;
	if (!owner || owner->has_block) {
		ERR(ps, s, "'{' without a keyword before it");
		return -EINVAL;
	}
	if (s->nlev >= KA_MAX_NESTING) {
		ERR(ps, s, "blocks nested deeper than %d", KA_MAX_NESTING);
		return -EINVAL;
	}
	owner->has_block = true;
	owner->block_line = s->line;
	s->nlev++;
	s->stack[s->nlev].tail = &owner->child;
	s->stack[s->nlev].owner = owner;
	s->last = NULL;
	return 0;
}

static int close_block(struct parser *ps, struct source *s)
{
	int ret = end_statement(ps, s);

	if (ret < 0)
		return ret;
	if (s->nlev == 0) {
		ERR(ps, s, "'}' without a block to close");
		return -EINVAL;
	}
	s->last = s->stack[s->nlev].owner;
	s->nlev--;
	return 0;
}

/* Statements of data at tail. Stops at the first syntax error of the
 * file: what follows would be misread. */
static int parse_source(struct parser *ps, const struct source *from, const char *name, const char *data,
			size_t len, struct ka_node **tail)
{
	struct source s = { .p = data, .end = data + len, .line = 1,
			    .at_root = !from || (from->at_root && from->nlev == 0) };
	enum tok t = T_EOF;
	int ret = 0;

	s.name = tree_file(ps, name);
	if (!s.name)
		return -ENOMEM;
	s.stack[0].tail = tail;
	sb_init(&s.word);
	while (ret >= 0) {
		t = lex(ps, &s);
		if (t == T_EOF || t == T_ERR)
			break;
		if (t == T_WORD) {
			ret = add_word(ps, &s);
		} else if (t == T_NL) {
			if ((ret = end_statement(ps, &s)) >= 0)
				s.line++;
		} else if (t == T_LBRACE)
			ret = open_block(ps, &s);
		else
			ret = close_block(ps, &s);
		if (ps->nomem)
			break;
	}
	if (ret >= 0 && t == T_EOF)
		ret = end_statement(ps, &s);
	if (ret >= 0 && t == T_ERR)
		ret = ps->nomem ? -ENOMEM : -EINVAL;
	if (ret >= 0 && s.nlev > 0) {
		const struct ka_node *o = s.stack[s.nlev].owner;

		ini_diag_add(ps->diag, s.name, o->block_line, NULL, NULL, "unterminated block: '%s {' has no '}'",
			     o->words[0]);
		ret = -EINVAL;
	}
	node_free(s.cur);
	sb_free(&s.word);
	return ps->nomem ? -ENOMEM : ret;
}

static int parse_common(const char *name, const char *data, size_t len, const struct ka_opts *opts,
			struct ka_tree **out, struct ini_diag *diag)
{
	static const struct ka_opts defaults = { true, 0 };
	struct parser ps = { opts ? opts : &defaults, NULL, diag, { NULL }, 0, false };
	size_t before = diag->n;
	int ret;

	ps.tree = calloc(1, sizeof(*ps.tree));
	if (!ps.tree)
		return -ENOMEM;
	if (data)
		ret = parse_source(&ps, NULL, name, data, len, &ps.tree->root);
	else
		ret = parse_file_at(&ps, NULL, name, &ps.tree->root);
	if (ret == 0 && diag->n > before)
		ret = -EINVAL;
	if (ret < 0) {
		kaconf_free(ps.tree);
		return ret;
	}
	*out = ps.tree;
	return 0;
}

int kaconf_parse_file(const char *path, const struct ka_opts *opts, struct ka_tree **out, struct ini_diag *diag)
{
	return parse_common(path, NULL, 0, opts, out, diag);
}

int kaconf_parse_buffer(const char *name, const char *data, size_t len, const struct ka_opts *opts,
			struct ka_tree **out, struct ini_diag *diag)
{
	return parse_common(name, data ? data : "", data ? len : 0, opts, out, diag);
}
