/* Table-driven INI configuration on top of iniparser.
 *
 * iniparser lowercases names, keeps only the last of two equal keys and
 * knows no line numbers, so the text is read twice:
 *
 *  1. Our scanner walks the lines with iniparser's own syntax (comments,
 *     [section] headers, key = value, backslash continuation) and checks the
 *     structure against the schema: unknown sections and keys, duplicates,
 *     names, line length. Every line it accepts is kept, per section, with
 *     its line number.
 *  2. iniparser reads only those accepted lines (through a memfd), so the
 *     two readers cannot disagree, and gives the values (quotes, inline
 *     comments). Each value goes through its key's type, in file order;
 *     absent keys get their defaults.
 *
 * Most values have nothing for iniparser to interpret: no quote, no
 * comment, no control character. iniparser's reading of those is the text
 * with the blanks around it removed (ini_plain_value), so they are taken
 * as they are, and only the others go through iniparser: its line parsing
 * was half of the time a 10,000-service file took to load.
 *
 * A repeatable key (ini.h) is given on many lines. iniparser would keep
 * only the last of them, so each line reaches it under a name of its own
 * (append_value_name); the text after '=' is passed unchanged, so the
 * values are still iniparser's reading, not ours.
 *
 * Errors are collected, sorted by line, and reported together. Nothing here
 * prints: iniparser's own complaints go to a silent callback. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iniparser.h>

#include "ini.h"

/* 10,000 virtual servers with their real servers take a few MiB. */
#define INI_MAX_FILE	(32 * 1024 * 1024)
/* iniparser 4.1 fails on a logical line of more than 1022 bytes. The lines
 * it is fed may be a few bytes longer than those read (append_value_name
 * adds ":N" to repeatable keys): the margin is for that. */
#define INI_MAX_LINE	1000
#define INI_MAX_NAME	64
#define INI_MAX_ERRORS	100
/* iniparser's dictionary is a linear list (quadratic to fill and to
 * search), so it is fed at most this many entries at a time: 128 took 30 %
 * fewer instructions than 1024 on a 10,000-service file; fewer do not help. */
#define INI_BATCH	128
#define SUGGEST_MAX	2

#define MS_PER_S	1000ULL
#define MS_PER_M	(60 * MS_PER_S)
#define MS_PER_H	(60 * MS_PER_M)

/* ---- small helpers ---- */

/* isspace() in the C locale, which is what iniparser trims. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static size_t trimmed_len(const char *s, size_t n)
{
	while (n > 0 && is_space(s[n - 1]))
		n--;
	return n;
}

static void lowercase_n(char *s, size_t n)
{
	for (; n > 0 && *s; s++, n--)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void lowercase(char *s)
{
	lowercase_n(s, SIZE_MAX);
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (is_space(*s))
			return true;
	return false;
}

static int type_fail(char *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int type_fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, PARSE_ERR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- diagnostics ---- */

void ini_diag_init(struct ini_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void ini_diag_free(struct ini_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	ini_diag_init(d);
}

/* "FILE:LINE: section.key: message"; "[section]" when there is no key. */
static char *diag_format(const char *file, unsigned line, const char *section, const char *key,
			 const char *fmt, va_list ap)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_append(&sb, "");
	if (file) {
		sb_append(&sb, file);
		if (line)
			sb_printf(&sb, ":%u", line);
		sb_append(&sb, ": ");
	} else if (line) {
		sb_printf(&sb, "line %u: ", line);
	}
	if (section && key)
		sb_printf(&sb, "%s.%s: ", section, key);
	else if (section)
		sb_printf(&sb, "[%s]: ", section);
	else if (key)
		sb_printf(&sb, "%s: ", key);
	sb_vprintf(&sb, fmt, ap);
	if (sb.failed) {
		sb_free(&sb);
		return NULL;
	}
	return sb.buf;
}

/* Takes ownership of msg. */
static void diag_push(struct ini_diag *d, char *msg)
{
	if (!msg)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **p = cap < SIZE_MAX / sizeof(*p) ? realloc(d->msgs, cap * sizeof(*p)) : NULL;

		if (!p) {
			free(msg);
			return;
		}
		d->msgs = p;
		d->cap = cap;
	}
	d->msgs[d->n++] = msg;
}

void ini_diag_add(struct ini_diag *d, const char *file, unsigned line,
		  const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(d, diag_format(file, line, section, key, fmt, ap));
	va_end(ap);
}

/* ---- the document: sections, keys and their lines ---- */

struct doc_key {
	unsigned line;		/* first occurrence; 0 = absent */
	unsigned nvalues;	/* values handed on so far: the next one's nth */
};

/* One accepted "key = value" line, in file order. */
struct doc_value {
	unsigned line;
	unsigned key;		/* index in the schema's keys */
	unsigned nth;		/* 0, or which line of a repeatable key */
	size_t end;		/* end of its line in the section's text */
	size_t plain;		/* in the section's plain values, or NOT_PLAIN */
};

#define NOT_PLAIN	SIZE_MAX

struct doc_section {
	const struct ini_section *schema;
	char *header;		/* "check web": type, one space, name; lowercase */
	char *display;		/* the same with the name as written */
	const char *name;	/* inside display; NULL for unnamed sections */
	unsigned line;
	struct doc_key *keys;	/* one per schema key */
	size_t nkeys;
	struct strbuf text;	/* the accepted lines as iniparser gets them */
	struct strbuf plain;	/* the plain values, each ending in a NUL */
	struct doc_value *values;
	size_t nvalues, capvalues;
	void *base;		/* loading: the instance the values go to */
};

struct ini_doc {
	char *path;
	struct doc_section *sections;
	size_t n, cap;
	size_t *slots;		/* open-addressing index by header: position + 1 */
	size_t nslots;
};

static size_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static long doc_find(const struct ini_doc *doc, const char *header)
{
	size_t mask, i;

	if (!doc || doc->nslots == 0)
		return -1;
	mask = doc->nslots - 1;
	for (i = hash_name(header) & mask; doc->slots[i]; i = (i + 1) & mask) {
		size_t pos = doc->slots[i] - 1;

		if (strcmp(doc->sections[pos].header, header) == 0)
			return (long)pos;
	}
	return -1;
}

static void slots_insert(size_t *slots, size_t nslots, const char *header, size_t pos)
{
	size_t mask = nslots - 1, i;

	for (i = hash_name(header) & mask; slots[i]; i = (i + 1) & mask)
		;
	slots[i] = pos + 1;
}

/* Keep the index at most half full. */
static int doc_index_grow(struct ini_doc *doc)
{
	size_t nslots, *slots;

	if ((doc->n + 1) * 2 <= doc->nslots)
		return 0;
	nslots = doc->nslots ? doc->nslots * 2 : 16;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t pos = 0; pos < doc->n; pos++)
		slots_insert(slots, nslots, doc->sections[pos].header, pos);
	free(doc->slots);
	doc->slots = slots;
	doc->nslots = nslots;
	return 0;
}

static size_t schema_nkeys(const struct ini_section *sec)
{
	size_t n = 0;

	while (sec->keys && sec->keys[n].name)
		n++;
	return n;
}

static long doc_add_section(struct ini_doc *doc, const struct ini_section *schema,
			    const char *header, const char *display, size_t type_len, unsigned line)
{
	struct doc_section *rec;

	if (doc_index_grow(doc) < 0)
		return -ENOMEM;
	if (doc->n == doc->cap) {
		size_t cap = doc->cap ? doc->cap * 2 : 8;
		struct doc_section *p = realloc(doc->sections, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		doc->sections = p;
		doc->cap = cap;
	}
	rec = &doc->sections[doc->n];
	memset(rec, 0, sizeof(*rec));
	rec->schema = schema;
	rec->line = line;
	rec->nkeys = schema_nkeys(schema);
	rec->header = strdup(header);
	rec->display = strdup(display);
	rec->keys = calloc(rec->nkeys ? rec->nkeys : 1, sizeof(*rec->keys));
	if (!rec->header || !rec->display || !rec->keys) {
		free(rec->header);
		free(rec->display);
		free(rec->keys);
		return -ENOMEM;
	}
	/* Names match without regard to case (iniparser folds them), but the
	 * program sees them as written: notify scripts compare them. */
	rec->name = display[type_len] ? rec->display + type_len + 1 : NULL;
	sb_init(&rec->text);
	sb_init(&rec->plain);
	slots_insert(doc->slots, doc->nslots, rec->header, doc->n);
	return (long)doc->n++;
}

void ini_doc_free(struct ini_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n; i++) {
		free(doc->sections[i].header);
		free(doc->sections[i].display);
		free(doc->sections[i].keys);
		free(doc->sections[i].values);
		sb_free(&doc->sections[i].text);
		sb_free(&doc->sections[i].plain);
	}
	free(doc->sections);
	free(doc->slots);
	free(doc->path);
	free(doc);
}

const char *ini_doc_path(const struct ini_doc *doc)
{
	return doc ? doc->path : NULL;
}

static long key_index(const struct ini_section *sec, const char *name)
{
	/* The first letters first: this runs for every line of the file. */
	for (size_t i = 0; sec->keys && sec->keys[i].name; i++)
		if (sec->keys[i].name[0] == name[0] && strcmp(sec->keys[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* The section by its header text, in any case; NULL when absent. */
static const struct doc_section *doc_section_named(const struct ini_doc *doc, const char *section)
{
	char lower[INI_MAX_LINE + 2];
	long pos;

	if (!doc || !section || strlen(section) >= sizeof(lower))
		return NULL;
	strlcpy_safe(lower, section, sizeof(lower));
	lowercase(lower);
	pos = doc_find(doc, lower);
	return pos < 0 ? NULL : &doc->sections[pos];
}

unsigned ini_doc_line(const struct ini_doc *doc, const char *section, const char *key)
{
	const struct doc_section *rec = doc_section_named(doc, section);
	long k;

	if (!rec)
		return 0;
	if (!key)
		return rec->line;
	k = key_index(rec->schema, key);
	return k < 0 ? 0 : rec->keys[k].line;
}

/* Linear: only error messages ask, and a section has at most a few
 * thousand values. */
unsigned ini_doc_line_nth(const struct ini_doc *doc, const char *section, const char *key, size_t nth)
{
	const struct doc_section *rec = doc_section_named(doc, section);
	long k;

	if (!rec || !key)
		return 0;
	k = key_index(rec->schema, key);
	if (k < 0 || nth >= rec->keys[k].nvalues)
		return 0;
	for (size_t i = 0; i < rec->nvalues; i++)
		if (rec->values[i].key == (unsigned)k && rec->values[i].nth == nth)
			return rec->values[i].line;
	return 0;
}

/* At line, or at the section's line when the key has none. */
static void doc_verror(struct ini_diag *d, const struct ini_doc *doc, unsigned line, const char *section,
		       const char *key, const char *fmt, va_list ap)
{
	if (line == 0 && key)
		line = ini_doc_line(doc, section, NULL);
	diag_push(d, diag_format(ini_doc_path(doc), line, section, key, fmt, ap));
}

void ini_doc_error(struct ini_diag *d, const struct ini_doc *doc, const char *section,
		   const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	doc_verror(d, doc, ini_doc_line(doc, section, key), section, key, fmt, ap);
	va_end(ap);
}

void ini_doc_error_nth(struct ini_diag *d, const struct ini_doc *doc, const char *section,
		       const char *key, size_t nth, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	doc_verror(d, doc, ini_doc_line_nth(doc, section, key, nth), section, key, fmt, ap);
	va_end(ap);
}

/* ---- the loader ---- */

struct pending_msg {
	unsigned line;
	size_t seq;
	char *msg;
};

enum scan_context {
	IN_NOTHING,		/* before the first header */
	IN_SECTION,		/* inside doc->sections[current] */
	IN_REJECTED,		/* after a bad header: its keys are skipped */
};

struct loader {
	const char *file;
	const struct ini_schema *schema;
	void *cfg;
	struct ini_doc *doc;
	/* Errors wait here to be sorted by line before they reach the diag. */
	struct pending_msg *msgs;
	size_t nmsgs, capmsgs;
	size_t errors;
	bool nomem;
	enum scan_context ctx;
	size_t current;
};

static void loader_error(struct loader *l, unsigned line, const char *section, const char *key,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void loader_push(struct loader *l, unsigned line, char *msg)
{
	if (!msg)
		return;
	if (l->nmsgs == l->capmsgs) {
		size_t cap = l->capmsgs ? l->capmsgs * 2 : 16;
		struct pending_msg *p = realloc(l->msgs, cap * sizeof(*p));

		if (!p) {
			free(msg);
			return;
		}
		l->msgs = p;
		l->capmsgs = cap;
	}
	l->msgs[l->nmsgs] = (struct pending_msg){ line, l->nmsgs, msg };
	l->nmsgs++;
}

static void loader_error(struct loader *l, unsigned line, const char *section, const char *key,
			 const char *fmt, ...)
{
	va_list ap;

	l->errors++;
	if (l->errors > INI_MAX_ERRORS + 1)
		return;
	if (l->errors == INI_MAX_ERRORS + 1) {
		/* A file this broken is the wrong file; say so once. */
		loader_push(l, 0, strdup("too many errors, the rest are not shown"));
		return;
	}
	va_start(ap, fmt);
	loader_push(l, line, diag_format(l->file, line, section, key, fmt, ap));
	va_end(ap);
}

static void loader_nomem(struct loader *l)
{
	if (!l->nomem)
		loader_error(l, 0, NULL, NULL, "out of memory");
	l->nomem = true;
}

/* File order; messages without a line (missing sections) last. */
static int pending_cmp(const void *a, const void *b)
{
	const struct pending_msg *x = a, *y = b;
	unsigned lx = x->line ? x->line : UINT_MAX, ly = y->line ? y->line : UINT_MAX;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void loader_flush(struct loader *l, struct ini_diag *diag)
{
	if (l->nmsgs)
		qsort(l->msgs, l->nmsgs, sizeof(*l->msgs), pending_cmp);
	for (size_t i = 0; i < l->nmsgs; i++)
		diag_push(diag, l->msgs[i].msg);
	free(l->msgs);
	l->msgs = NULL;
	l->nmsgs = l->capmsgs = 0;
}

struct suggestion {
	const char *best;
	unsigned dist;
};

static void suggest_consider(struct suggestion *s, const char *word, const char *candidate)
{
	unsigned d = edit_distance(word, candidate, SUGGEST_MAX);

	if (d <= SUGGEST_MAX && (!s->best || d < s->dist)) {
		s->best = candidate;
		s->dist = d;
	}
}

static const struct ini_section *schema_section(const struct ini_schema *schema, const char *type)
{
	for (size_t i = 0; i < schema->nsections; i++)
		if (strcmp(schema->sections[i].type, type) == 0)
			return &schema->sections[i];
	return NULL;
}

static void report_unknown_type(struct loader *l, unsigned line, const char *header,
				const char *type)
{
	struct suggestion s = { NULL, 0 };

	for (size_t i = 0; i < l->schema->nsections; i++)
		suggest_consider(&s, type, l->schema->sections[i].type);
	if (s.best)
		loader_error(l, line, header, NULL, "unknown section type '%s' (did you mean '%s'?)",
			     type, s.best);
	else
		loader_error(l, line, header, NULL, "unknown section type '%s'", type);
}

/* Check a header's shape and its name against the schema; NULL when bad
 * (already reported). */
static const struct ini_section *check_header(struct loader *l, unsigned line, const char *header,
					      const char *type, const char *name)
{
	const struct ini_section *sec;

	if (strchr(header, ':')) {
		loader_error(l, line, header, NULL,
			     "':' is not allowed in section names (iniparser uses it as a separator)");
		return NULL;
	}
	sec = schema_section(l->schema, type);
	if (!sec) {
		report_unknown_type(l, line, header, type);
		return NULL;
	}
	if (name && has_space(name)) {
		loader_error(l, line, header, NULL, "a section name is a single word");
		return NULL;
	}
	if (sec->named && !name) {
		loader_error(l, line, header, NULL, "section needs a name, as in [%s NAME]", type);
		return NULL;
	}
	if (!sec->named && name) {
		loader_error(l, line, header, NULL, "section [%s] takes no name", type);
		return NULL;
	}
	if (name && strlen(name) > INI_MAX_NAME) {
		loader_error(l, line, header, NULL, "section name longer than %d characters", INI_MAX_NAME);
		return NULL;
	}
	return sec;
}

/* "[ Type  Name ]" -> "type Name" in buf (the type lowercase, the name as
 * written); returns the type length. */
static size_t normalize_header(char *inner, char *buf, size_t size)
{
	size_t type_len = strcspn(inner, " \t\n\r\v\f"), name_len, n;
	const char *name = inner + type_len;

	while (is_space(*name))
		name++;
	name_len = strlen(name);
	/* Copies, not a format: this runs for every section. */
	n = type_len < size - 1 ? type_len : size - 1;
	memcpy(buf, inner, n);
	if (*name && n + 1 + name_len < size) {
		buf[n++] = ' ';
		memcpy(buf + n, name, name_len);
		n += name_len;
	}
	buf[n] = '\0';
	return type_len;
}

static void scan_header(struct loader *l, unsigned line, char *s)
{
	char header[INI_MAX_LINE + 2], display[INI_MAX_LINE + 2], type[INI_MAX_LINE + 1], *inner;
	const struct ini_section *sec;
	size_t n = strlen(s), type_len;
	long pos;

	l->ctx = IN_REJECTED;
	if (s[n - 1] != ']') {
		loader_error(l, line, NULL, NULL,
			     "section header must end with ']' (comments go on a line of their own)");
		return;
	}
	s[n - 1] = '\0';
	inner = trim(s + 1);
	if (*inner == '\0' || strpbrk(inner, "[]")) {
		loader_error(l, line, NULL, NULL, "malformed section header");
		return;
	}
	type_len = normalize_header(inner, display, sizeof(display));
	lowercase_n(display, type_len);
	strlcpy_safe(header, display, sizeof(header));
	lowercase(header);
	memcpy(type, header, type_len);
	type[type_len] = '\0';
	sec = check_header(l, line, display, type, header[type_len] ? header + type_len + 1 : NULL);
	if (!sec)
		return;
	pos = doc_find(l->doc, header);
	if (pos >= 0) {
		/* iniparser merges a repeated section; we report it and do the same. */
		loader_error(l, line, display, NULL, "duplicate section (first at line %u)",
			     l->doc->sections[pos].line);
	} else {
		pos = doc_add_section(l->doc, sec, header, display, type_len, line);
		if (pos < 0) {
			loader_nomem(l);
			return;
		}
	}
	l->ctx = IN_SECTION;
	l->current = (size_t)pos;
}

/* iniparser takes a value in quotes up to the next same quote and silently
 * drops what follows; refuse what it would misread. */
static const char *quote_problem(const char *v)
{
	const char *close;
	char q;

	while (is_space(*v))
		v++;
	q = *v;
	if (q != '"' && q != '\'')
		return NULL;
	close = strchr(v + 1, q);
	if (!close)
		return "missing closing quote";
	for (close++; is_space(*close); close++)
		;
	if (*close && *close != ';' && *close != '#')
		return "unexpected text after the closing quote";
	return NULL;
}

static void report_unknown_key(struct loader *l, unsigned line, const struct doc_section *rec,
			       const char *key)
{
	struct suggestion s = { NULL, 0 };

	for (size_t i = 0; i < rec->nkeys; i++)
		suggest_consider(&s, key, rec->schema->keys[i].name);
	if (s.best)
		loader_error(l, line, rec->display, key, "unknown key (did you mean '%s'?)", s.best);
	else
		loader_error(l, line, rec->display, key, "unknown key");
}

static bool key_repeatable(const struct ini_key *key)
{
	return key->type->count != NULL;
}

/* The name a value has for iniparser. iniparser keeps only the last of
 * equal keys, so each line of a repeatable key gets a name of its own,
 * "key:N". No key of the file can have such a name: the scanner refuses
 * ':' in key names. */
static void append_value_name(struct strbuf *sb, const struct ini_key *key, unsigned nth)
{
	sb_append(sb, key->name);
	if (key_repeatable(key))
		sb_printf(sb, ":%u", nth);
}

/* Quotes, comments, the backslash, the control characters and DEL. */
static bool not_plain(unsigned char c)
{
	return c < ' ' || c == 0x7f || c == '"' || c == '\'' || c == ';' || c == '#' || c == '\\';
}

bool ini_plain_value(const char *text, size_t *off, size_t *len)
{
	size_t start = 0, end;

	while (text[start] == ' ')
		start++;
	for (end = start; text[end]; end++)
		if (not_plain((unsigned char)text[end]))
			return false;
	while (end > start && text[end - 1] == ' ')
		end--;
	*off = start;
	*len = end - start;
	return end > start;
}

/* Keep a value and where it came from: a plain one as it is read, the
 * others as "name = value" for iniparser, value being the text after '='
 * as written. */
static int doc_add_value(struct doc_section *rec, size_t k, unsigned line, const char *value)
{
	struct doc_value *v;
	size_t off, len;

	if (rec->nvalues == rec->capvalues) {
		size_t cap = rec->capvalues ? rec->capvalues * 2 : 8;

		v = cap < SIZE_MAX / sizeof(*v) ? realloc(rec->values, cap * sizeof(*v)) : NULL;
		if (!v)
			return -ENOMEM;
		rec->values = v;
		rec->capvalues = cap;
	}
	v = &rec->values[rec->nvalues];
	v->line = line;
	v->key = (unsigned)k;
	v->nth = rec->keys[k].nvalues;
	v->plain = NOT_PLAIN;
	if (ini_plain_value(value, &off, &len)) {
		v->plain = rec->plain.len;
		sb_appendn(&rec->plain, value + off, len);
		sb_appendn(&rec->plain, "", 1);
	} else {
		append_value_name(&rec->text, &rec->schema->keys[k], v->nth);
		/* Appends, not a format: this runs for many values. */
		sb_append(&rec->text, " =");
		sb_append(&rec->text, value);
		sb_append(&rec->text, "\n");
	}
	if (rec->text.failed || rec->plain.failed)
		return -ENOMEM;
	v->end = rec->text.len;
	rec->keys[k].nvalues++;
	rec->nvalues++;
	return 0;
}

static void scan_key(struct loader *l, unsigned line, const char *s)
{
	const char *eq = strchr(s, '='), *problem;
	char keybuf[INI_MAX_LINE + 1], *key;
	struct doc_section *rec;
	struct doc_key *st;
	long k;

	/* A line is at most INI_MAX_LINE bytes: the name fits. */
	memcpy(keybuf, s, (size_t)(eq - s));
	keybuf[eq - s] = '\0';
	key = trim(keybuf);
	lowercase(key);
	if (l->ctx == IN_NOTHING) {
		loader_error(l, line, NULL, key, "key before the first [section]");
		return;
	}
	if (l->ctx == IN_REJECTED)
		return;
	rec = &l->doc->sections[l->current];
	if (strchr(key, ':')) {
		loader_error(l, line, rec->display, key,
			     "':' is not allowed in key names (iniparser uses it as a separator)");
		return;
	}
	k = key_index(rec->schema, key);
	if (k < 0) {
		report_unknown_key(l, line, rec, key);
		return;
	}
	st = &rec->keys[k];
	if (st->line && !key_repeatable(&rec->schema->keys[k])) {
		loader_error(l, line, rec->display, key, "duplicate key (first set at line %u)", st->line);
		return;
	}
	/* Present from here on, even when refused below: it gets no default
	 * and is not reported missing. */
	if (!st->line)
		st->line = line;
	problem = quote_problem(eq + 1);
	if (problem) {
		loader_error(l, line, rec->display, key, "%s", problem);
		return;
	}
	if (doc_add_value(rec, (size_t)k, line, eq + 1) < 0)
		loader_nomem(l);
}

/* One logical line (continuations joined), classified the way iniparser
 * does: blank, comment, [header], key = value, or an error. */
static void scan_line(struct loader *l, unsigned line, char *s, bool too_long, bool has_nul)
{
	s = trim(s);
	if (too_long || has_nul) {
		/* Keys after a broken header must not land in the section before. */
		if (*s == '[')
			l->ctx = IN_REJECTED;
		if (too_long)
			loader_error(l, line, NULL, NULL, "line too long (more than %d bytes)", INI_MAX_LINE);
		else
			loader_error(l, line, NULL, NULL, "line contains a NUL byte");
		return;
	}
	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	if (*s == '[')
		scan_header(l, line, s);
	else if (*s != '=' && strchr(s, '='))
		scan_key(l, line, s);
	else
		loader_error(l, line, NULL, NULL,
			     "syntax error: expected [section], key = value or a comment");
}

/* Walk physical lines, joining continuations as iniparser does: trailing
 * blanks are dropped, then a final backslash joins the next line in its
 * place. A logical line is numbered by its first physical line. */
static void scan_text(struct loader *l, const char *data, size_t len)
{
	char buf[INI_MAX_LINE + 1];
	size_t pos = 0, used = 0;
	unsigned lineno = 0, start = 0;
	bool continued = false, too_long = false, has_nul = false;

	/* Editors on Windows add one; iniparser would take it as part of the
	 * first name. Said once, and the rest is still read. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		loader_error(l, 1, NULL, NULL, "file starts with a UTF-8 byte-order mark; save it without one");
		pos = 3;
	}
	while (pos < len) {
		const char *p = data + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos, keep;

		pos += n + (nl != NULL);
		lineno++;
		if (!continued) {
			start = lineno;
			used = 0;
			too_long = has_nul = false;
		}
		if (memchr(p, '\0', n))
			has_nul = true;
		n = trimmed_len(p, n);
		keep = n <= INI_MAX_LINE - used ? n : INI_MAX_LINE - used;
		memcpy(buf + used, p, keep);
		used += keep;
		if (keep < n)
			too_long = true;
		if (too_long) {
			continued = n > 0 && p[n - 1] == '\\';
		} else {
			used = trimmed_len(buf, used);
			continued = used > 0 && buf[used - 1] == '\\';
			if (continued)
				used--;
		}
		if (!continued) {
			buf[used] = '\0';
			scan_line(l, start, buf, too_long, has_nul);
		}
	}
	/* iniparser silently drops a continuation the file never completes. */
	if (continued)
		loader_error(l, start, NULL, NULL,
			     "the file ends inside a continued line (last line ends with '\\')");
}

/* ---- handing the accepted lines to iniparser ---- */

/* iniparser 4.1 reads only from a path: a memfd seen through /proc, or a
 * private temporary file when /proc is not mounted. */
struct feed {
	int fd;
	bool tmpfile;
	char path[PATH_MAX];
};

static int iniparser_quiet(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

static int feed_open(struct feed *f)
{
	const char *dir;

	f->tmpfile = false;
	f->fd = memfd_create("dsrkit-ini", MFD_CLOEXEC);
	if (f->fd >= 0) {
		snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
		if (access(f->path, R_OK) == 0)
			return 0;
		close(f->fd);
	}
	dir = secure_getenv("TMPDIR");
	if (!dir || *dir != '/')
		dir = "/tmp";
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s/dsrkit-ini.XXXXXX", dir) >= sizeof(f->path))
		return -ENAMETOOLONG;
	f->fd = mkostemp(f->path, O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	f->tmpfile = true;
	return 0;
}

static void feed_close(struct feed *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	if (f->tmpfile)
		unlink(f->path);
	f->fd = -1;
}

static int feed_load(struct feed *f, const struct strbuf *text, dictionary **out)
{
	size_t off = 0;
	int ret;

	*out = NULL;
	if (f->fd < 0) {
		ret = feed_open(f);
		if (ret < 0)
			return ret;
	}
	if (ftruncate(f->fd, 0) < 0)
		return -errno;
	while (off < text->len) {
		ssize_t n = pwrite(f->fd, text->buf + off, text->len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	iniparser_set_error_callback(iniparser_quiet);
	*out = iniparser_load(f->path);
	return *out ? 0 : -EIO;
}

/* ---- values and defaults ---- */

static void set_value(struct loader *l, unsigned line, const char *header,
		      const struct ini_key *key, const char *value, void *base)
{
	char err[PARSE_ERR_MAX];

	err[0] = '\0';		/* not the whole buffer: this runs for every value of the file */
	if (key->type->parse(key, value, (char *)base + key->offset, err) < 0)
		loader_error(l, line, header, key->name, "%s", err[0] ? err : "invalid value");
}

static void set_default(struct loader *l, const char *header, const struct ini_key *key, void *base)
{
	char err[PARSE_ERR_MAX];

	if (!key->def)
		return;
	err[0] = '\0';
	if (key->type->parse(key, key->def, (char *)base + key->offset, err) < 0)
		loader_error(l, 0, header, key->name, "invalid default '%s': %s", key->def, err);
}

/* The instance a section's values go to, asked for before its first. */
static void section_begin(struct loader *l, struct doc_section *rec)
{
	rec->base = rec->schema->instance ? rec->schema->instance(l->cfg, rec->name) : NULL;
	if (!rec->base)
		loader_nomem(l);
}

static void apply_value(struct loader *l, struct doc_section *rec, const struct doc_value *v,
			dictionary *dict)
{
	const struct ini_key *key = &rec->schema->keys[v->key];
	struct strbuf lookup;
	const char *value = NULL;

	if (!rec->base)
		return;
	if (v->plain != NOT_PLAIN) {
		set_value(l, v->line, rec->display, key, rec->plain.buf + v->plain, rec->base);
		return;
	}
	sb_init(&lookup);
	sb_append(&lookup, rec->header);
	sb_append(&lookup, ":");
	append_value_name(&lookup, key, v->nth);
	if (lookup.failed) {
		loader_nomem(l);
		return;
	}
	if (dict)
		value = iniparser_getstring(dict, sb_str(&lookup), NULL);
	sb_free(&lookup);
	if (!value) {
		/* Would mean our scanner and iniparser disagree. */
		loader_error(l, v->line, rec->display, key->name,
			     "internal error: iniparser did not return this value");
		return;
	}
	set_value(l, v->line, rec->display, key, value, rec->base);
}

/* After a section's last value: absent keys are reported when required,
 * or get their defaults. */
static void section_end(struct loader *l, struct doc_section *rec)
{
	const struct ini_key *keys = rec->schema->keys;

	sb_free(&rec->text);
	sb_free(&rec->plain);
	if (!rec->base)
		return;
	for (size_t i = 0; i < rec->nkeys; i++) {
		if (rec->keys[i].line)
			continue;
		if (keys[i].required)
			loader_error(l, rec->line, rec->display, keys[i].name, "missing required key");
		else
			set_default(l, rec->display, &keys[i], rec->base);
	}
	rec->base = NULL;
}

/* A place in the document: a section and one of its values. */
struct cursor {
	size_t section, value;
};

static bool cursor_before(const struct cursor *a, const struct cursor *b)
{
	return a->section < b->section || (a->section == b->section && a->value < b->value);
}

static size_t value_start(const struct doc_section *rec, size_t v)
{
	return v ? rec->values[v - 1].end : 0;
}

/* Append the lines from *cur on, at most INI_BATCH entries (a header or a
 * value is one; a batch has at least one value), and move *cur past them.
 * A section of many values (a repeatable key) is split over batches. */
static void batch_fill(const struct ini_doc *doc, struct cursor *cur, struct strbuf *batch)
{
	size_t entries = 0;

	while (cur->section < doc->n && entries + 2 <= INI_BATCH) {
		const struct doc_section *rec = &doc->sections[cur->section];
		size_t take = rec->nvalues - cur->value, from, to;

		if (take > INI_BATCH - entries - 1)
			take = INI_BATCH - entries - 1;
		entries += 1 + take;
		from = value_start(rec, cur->value);
		to = value_start(rec, cur->value + take);
		if (to > from) {	/* not plain values alone */
			sb_append(batch, "[");
			sb_append(batch, rec->header);
			sb_append(batch, "]\n");
			sb_appendn(batch, rec->text.buf + from, to - from);
		}
		cur->value += take;
		if (cur->value < rec->nvalues)
			break;
		cur->section++;
		cur->value = 0;
	}
}

/* The values from `from` to `to` (one batch) go through their types;
 * sections begin and end on the way. */
static void apply_batch(struct loader *l, struct cursor from, const struct cursor *to, dictionary *dict)
{
	while (cursor_before(&from, to)) {
		struct doc_section *rec = &l->doc->sections[from.section];
		size_t stop = from.section == to->section ? to->value : rec->nvalues;

		if (from.value == 0)
			section_begin(l, rec);
		for (; from.value < stop; from.value++)
			apply_value(l, rec, &rec->values[from.value], dict);
		if (stop < rec->nvalues)
			break;
		section_end(l, rec);
		from.section++;
		from.value = 0;
	}
}

static int apply_present_sections(struct loader *l)
{
	struct feed feed = { .fd = -1 };
	struct cursor cur = { 0, 0 };
	struct strbuf batch;
	int ret = 0;

	sb_init(&batch);
	while (cur.section < l->doc->n) {
		struct cursor from = cur;
		dictionary *dict = NULL;

		sb_reset(&batch);
		batch_fill(l->doc, &cur, &batch);
		if (batch.failed)
			ret = -ENOMEM;
		else if (batch.len)
			ret = feed_load(&feed, &batch, &dict);
		if (ret < 0)
			break;
		apply_batch(l, from, &cur, dict);
		if (dict)
			iniparser_freedict(dict);
	}
	feed_close(&feed);
	sb_free(&batch);
	return ret;
}

/* Unnamed sections not in the file still get their defaults. */
static void apply_absent_sections(struct loader *l)
{
	for (size_t s = 0; s < l->schema->nsections; s++) {
		const struct ini_section *sec = &l->schema->sections[s];
		void *base;

		if (sec->named || doc_find(l->doc, sec->type) >= 0)
			continue;
		if (sec->required)
			loader_error(l, 0, sec->type, NULL, "missing required section");
		base = sec->instance ? sec->instance(l->cfg, NULL) : NULL;
		if (!base) {
			loader_nomem(l);
			continue;
		}
		for (size_t i = 0; sec->keys && sec->keys[i].name; i++) {
			if (!sec->keys[i].required)
				set_default(l, sec->type, &sec->keys[i], base);
			else if (!sec->required)
				loader_error(l, 0, sec->type, sec->keys[i].name, "missing required key");
		}
	}
}

int ini_load_buffer(const char *name, const char *data, size_t len,
		    const struct ini_schema *schema, void *cfg,
		    struct ini_diag *diag, struct ini_doc **docp)
{
	struct loader l;
	int ret;

	if (docp)
		*docp = NULL;
	if (len > INI_MAX_FILE) {
		ini_diag_add(diag, name, 0, NULL, NULL, "file too large (more than %d KiB)",
			     INI_MAX_FILE / 1024);
		return -EFBIG;
	}
	memset(&l, 0, sizeof(l));
	l.file = name;
	l.schema = schema;
	l.cfg = cfg;
	l.ctx = IN_NOTHING;
	l.doc = calloc(1, sizeof(*l.doc));
	if (l.doc)
		l.doc->path = strdup(name ? name : "");
	if (!l.doc || !l.doc->path) {
		ini_doc_free(l.doc);
		ini_diag_add(diag, name, 0, NULL, NULL, "out of memory");
		return -ENOMEM;
	}
	scan_text(&l, data, len);
	ret = apply_present_sections(&l);
	if (ret == 0)
		apply_absent_sections(&l);
	else
		loader_error(&l, 0, NULL, NULL, "cannot hand the file to iniparser: %s", strerror(-ret));
	loader_flush(&l, diag);
	if (ret == 0 && l.nomem)
		ret = -ENOMEM;
	else if (ret == 0 && l.errors)
		ret = -EINVAL;
	if (docp && (ret == 0 || ret == -EINVAL))
		*docp = l.doc;
	else
		ini_doc_free(l.doc);
	return ret;
}

/* ---- a program's loader ---- */

static int program_load_buffer(const struct ini_program *prog, const char *path, const char *buf, size_t len,
			       void **cfgp, struct ini_diag *diag)
{
	void *cfg = calloc(1, prog->cfg_size);
	struct ini_doc *doc = NULL;
	size_t before = diag->n;
	char *name;
	int ret;

	if (!cfg || !(name = strdup(path))) {
		free(cfg);
		return -ENOMEM;
	}
	memcpy((char *)cfg + prog->path_offset, &name, sizeof(name));
	ret = ini_load_buffer(path, buf, len, prog->schema, cfg, diag, &doc);
	if (doc) {
		prog->check(cfg, doc, diag);
		if (ret == 0 && diag->n > before)
			ret = -EINVAL;
	}
	ini_doc_free(doc);
	if (ret < 0) {
		prog->free(cfg);
		return ret;
	}
	*cfgp = cfg;
	return 0;
}

int ini_program_load(const struct ini_program *prog, const char *path, const char *buf, size_t len, void **cfgp,
		     struct ini_diag *diag)
{
	char *data;
	int ret;

	*cfgp = NULL;
	if (buf)
		return program_load_buffer(prog, path, buf, len, cfgp, diag);
	if ((ret = ini_read_file(path, &data, &len, diag)) < 0)
		return ret;
	ret = program_load_buffer(prog, path, data, len, cfgp, diag);
	free(data);
	return ret;
}

/* ---- files ---- */

static int refuse(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int check_private_stat(const struct stat *st, char *err, size_t errlen)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	uid_t me = geteuid();

	if (mode & S_IWOTH)
		return refuse(err, errlen, -EPERM,
			      "refusing a file others can write: mode %04o lets anyone write it", mode);
	if ((mode & S_IWGRP) && st->st_gid != 0)
		return refuse(err, errlen, -EPERM,
			      "refusing a file others can write: mode %04o lets group %u write it",
			      mode, (unsigned)st->st_gid);
	if (st->st_uid != 0 && st->st_uid != me) {
		if (me == 0)
			return refuse(err, errlen, -EPERM,
				      "refusing a file others can write: it belongs to uid %u, not root",
				      (unsigned)st->st_uid);
		return refuse(err, errlen, -EPERM,
			      "refusing a file others can write: it belongs to uid %u, neither root nor uid %u",
			      (unsigned)st->st_uid, (unsigned)me);
	}
	return 0;
}

int file_check_private(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int ret = -errno;

		return refuse(err, errlen, ret, "cannot stat: %s", strerror(-ret));
	}
	return check_private_stat(&st, err, errlen);
}

int command_check_private(const char *command, char *err, size_t errlen)
{
	char prog[PATH_MAX];
	size_t n;

	if (!command || command[0] != '/')
		return 0;
	n = strcspn(command, " \t");
	if (n >= sizeof(prog))
		return 0;
	memcpy(prog, command, n);
	prog[n] = '\0';
	return file_check_private(prog, err, errlen);
}

/* The whole file, at most INI_MAX_FILE bytes (it may grow while read). */
static int read_config(int fd, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *p;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > INI_MAX_FILE) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;

			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > INI_MAX_FILE) {
		free(buf);
		return -EFBIG;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* Open without blocking (a FIFO must not hang a config check), then check
 * the very file we read. */
static int open_config(const char *path, struct ini_diag *diag)
{
	char err[256];
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		ini_diag_add(diag, path, 0, NULL, NULL, "cannot open: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		ini_diag_add(diag, path, 0, NULL, NULL, "cannot stat: %s", strerror(-ret));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		ini_diag_add(diag, path, 0, NULL, NULL, "not a regular file");
	} else {
		ret = check_private_stat(&st, err, sizeof(err));
		if (ret < 0)
			ini_diag_add(diag, path, 0, NULL, NULL, "%s", err);
	}
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

int ini_read_file(const char *path, char **bufp, size_t *lenp, struct ini_diag *diag)
{
	int fd, ret;

	*bufp = NULL;
	*lenp = 0;
	fd = open_config(path, diag);
	if (fd < 0)
		return fd;
	ret = read_config(fd, bufp, lenp);
	close(fd);
	if (ret == -EFBIG)
		ini_diag_add(diag, path, 0, NULL, NULL, "file too large (more than %d KiB)",
			     INI_MAX_FILE / 1024);
	else if (ret < 0)
		ini_diag_add(diag, path, 0, NULL, NULL, "cannot read: %s", strerror(-ret));
	return ret;
}

int ini_load(const char *path, const struct ini_schema *schema, void *cfg,
	     struct ini_diag *diag, struct ini_doc **docp)
{
	char *buf;
	size_t len;
	int ret;

	if (docp)
		*docp = NULL;
	ret = ini_read_file(path, &buf, &len, diag);
	if (ret < 0)
		return ret;
	/* iniparser sees the bytes we checked, not a second read of the path. */
	ret = ini_load_buffer(path, buf, len, schema, cfg, diag, docp);
	free(buf);
	return ret;
}

/* ---- printing ---- */

/* Write s so that iniparser reads it back unchanged: quote it when it is
 * empty, has edge blanks, could start a quote or comment, or ends in a
 * backslash (which would continue the line). */
static bool value_needs_quotes(const char *s)
{
	size_t n = strlen(s);

	return n == 0 || is_space(s[0]) || is_space(s[n - 1]) || s[0] == '"' || s[0] == '\'' ||
	       strpbrk(s, ";#") || s[n - 1] == '\\';
}

static void append_value(struct strbuf *out, const char *s, bool is_list)
{
	if (!value_needs_quotes(s)) {
		sb_append(out, s);
	} else if (!strchr(s, '"')) {
		sb_printf(out, "\"%s\"", s);
	} else if (!strchr(s, '\'')) {
		sb_printf(out, "'%s'", s);
	} else {
		/* Both quote characters: such a value was read unquoted, so it
		 * has no ';', '#' or edge blanks. A list may start with an
		 * (ignored) separator rather than a quote; a trailing
		 * backslash is kept from continuing by an empty comment. */
		if (is_list && (s[0] == '"' || s[0] == '\''))
			sb_append(out, ", ");
		sb_append(out, s);
		if (s[strlen(s) - 1] == '\\')
			sb_append(out, " ;");
	}
}

/* A list printed longer than the file it came from (", " where the file
 * had ","): written with "," alone when the line would be too long to
 * load again. The items hold no comma, so nothing else changes. */
static void fit_comma_list(const char *name, struct strbuf *value)
{
	size_t w = 0;

	if (value->failed || strlen(name) + 3 + value->len <= INI_MAX_LINE)
		return;
	for (size_t r = 0; r < value->len; r++) {
		value->buf[w++] = value->buf[r];
		if (value->buf[r] == ',' && r + 1 < value->len && value->buf[r + 1] == ' ')
			r++;
	}
	sb_truncate(value, w);
}

static void print_line(struct strbuf *out, const char *name, const struct strbuf *value)
{
	/* Nothing printed: the field is unset (no value, no default). */
	if (value->failed)
		out->failed = true;
	else if (value->len)
		sb_printf(out, "%s = %s\n", name, sb_str(value));
}

/* A repeatable key: one line per item, so that a long list never becomes
 * one line longer than INI_MAX_LINE. */
static void print_items(const struct ini_key *key, const void *field, struct strbuf *value,
			struct strbuf *out)
{
	size_t n = key->type->count(field);

	for (size_t i = 0; i < n; i++) {
		sb_reset(value);
		key->type->print_item(key, field, i, value);
		print_line(out, key->name, value);
	}
}

void ini_print_section(const struct ini_section *sec, const char *name,
		       const void *base, struct strbuf *out)
{
	struct strbuf value;

	if (name)
		sb_printf(out, "[%s %s]\n", sec->type, name);
	else
		sb_printf(out, "[%s]\n", sec->type);
	sb_init(&value);
	for (size_t i = 0; sec->keys && sec->keys[i].name; i++) {
		const struct ini_key *key = &sec->keys[i];
		const void *field = (const char *)base + key->offset;

		if (key_repeatable(key)) {
			print_items(key, field, &value, out);
			continue;
		}
		sb_reset(&value);
		key->type->print(key, field, &value);
		if (key->type->comma_list)
			fit_comma_list(key->name, &value);
		print_line(out, key->name, &value);
	}
	sb_free(&value);
}

void ini_free_section(const struct ini_section *sec, void *base)
{
	if (!base)
		return;
	for (size_t i = 0; sec->keys && sec->keys[i].name; i++)
		if (sec->keys[i].type->free)
			sec->keys[i].type->free((char *)base + sec->keys[i].offset);
}

/* ---- types ---- */

/* A key without min and max takes the natural range of its type. */
static bool range_unset(const struct ini_key *key)
{
	return key->min == 0 && key->max == 0;
}

/* A zero the range forbids can only be a field never set: print nothing,
 * so the output reloads. */
static bool unset_zero(const struct ini_key *key, uint64_t v)
{
	return v == 0 && !range_unset(key) && key->min > 0;
}

static int string_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	char **p = field, *s = strdup(value);

	(void)key;
	if (!s)
		return type_fail(err, -ENOMEM, "out of memory");
	free(*p);
	*p = s;
	return 0;
}

static void string_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const char *s = *(char *const *)field;

	(void)key;
	if (s)
		append_value(out, s, false);
}

static void string_free(void *field)
{
	char **p = field;

	free(*p);
	*p = NULL;
}

static int bool_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return parse_bool(value, field, err);
}

static void bool_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	(void)key;
	sb_append(out, *(const bool *)field ? "yes" : "no");
}

static int uint_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	long long min = 0, max = UINT_MAX, v;
	int ret;

	if (!range_unset(key)) {
		min = key->min < 0 ? 0 : key->min;
		max = key->max > (long long)UINT_MAX ? (long long)UINT_MAX : key->max;
	}
	ret = parse_int_range(value, min, max, &v, err);
	if (ret == 0)
		*(unsigned *)field = (unsigned)v;
	return ret;
}

static void uint_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	unsigned v = *(const unsigned *)field;

	if (!unset_zero(key, v))
		sb_printf(out, "%u", v);
}

static int duration_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	uint64_t min = 0, max = UINT64_MAX;

	if (!range_unset(key)) {
		min = key->min < 0 ? 0 : (uint64_t)key->min;
		max = key->max < 0 ? 0 : (uint64_t)key->max;
	}
	return parse_duration_ms(value, min, max, field, err);
}

static void duration_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	unsigned long long ms = *(const uint64_t *)field;

	if (unset_zero(key, ms))
		return;
	if (ms != 0 && ms % MS_PER_H == 0)
		sb_printf(out, "%lluh", ms / MS_PER_H);
	else if (ms != 0 && ms % MS_PER_M == 0)
		sb_printf(out, "%llum", ms / MS_PER_M);
	else if (ms % MS_PER_S == 0)
		sb_printf(out, "%llus", ms / MS_PER_S);
	else
		sb_printf(out, "%llums", ms);
}

static int percent_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	unsigned min = 0, max = 100;

	if (!range_unset(key)) {
		min = key->min < 0 ? 0 : key->min > UINT_MAX ? UINT_MAX : (unsigned)key->min;
		max = key->max < 0 ? 0 : key->max > UINT_MAX ? UINT_MAX : (unsigned)key->max;
	}
	return parse_percent(value, min, max, field, err);
}

static void percent_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	unsigned v = *(const unsigned *)field;

	if (!unset_zero(key, v))
		sb_printf(out, "%u%%", v);
}

static int mode_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return parse_mode(value, field, err);
}

static void mode_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	(void)key;
	sb_printf(out, "%04o", *(const unsigned *)field);
}

static int enum_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct strbuf names;
	const struct ini_enum *e;

	if (!key->enums)
		return type_fail(err, -EINVAL, "no values are defined for this key");
	for (e = key->enums; e->name; e++) {
		if (strcasecmp(e->name, value) == 0) {
			*(int *)field = e->value;
			return 0;
		}
	}
	sb_init(&names);
	for (e = key->enums; e->name; e++)
		sb_printf(&names, "%s%s", e == key->enums ? "" : ", ", e->name);
	type_fail(err, -EINVAL, "'%.40s' is not one of: %s", value, sb_str(&names));
	sb_free(&names);
	return -EINVAL;
}

static void enum_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	int v = *(const int *)field;

	for (const struct ini_enum *e = key->enums; e && e->name; e++) {
		if (e->value == v) {
			sb_append(out, e->name);
			return;
		}
	}
}

static int ipaddr_parse_field(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return parse_ipaddr(value, field, err);
}

/* One host's address (a peer, a source, a check's target): a prefix
 * length has no meaning there, and is refused. */
static int host_ipaddr_parse_field(const struct ini_key *key, const char *value, void *field, char *err)
{
	const struct ipaddr *a = field;

	(void)key;
	if (parse_ipaddr(value, field, err) < 0)
		return -EINVAL;
	if (a->has_prefix) {
		snprintf(err, PARSE_ERR_MAX, "an address without a prefix length, such as 192.0.2.1");
		return -EINVAL;
	}
	return 0;
}

static void append_ipaddr(struct strbuf *out, const struct ipaddr *a)
{
	char buf[INET6_ADDRSTRLEN];

	sb_append(out, ipaddr_ntop(a, buf, sizeof(buf)));
	if (a->has_prefix)
		sb_printf(out, "/%u", a->prefixlen);
}

static void ipaddr_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct ipaddr *a = field;

	(void)key;
	if (a->family)
		append_ipaddr(out, a);
}

static int endpoint_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return parse_ipendpoint(value, false, field, err);
}

static void endpoint_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct ipendpoint *ep = field;
	char buf[INET6_ADDRSTRLEN];

	(void)key;
	if (!ep->addr.family)
		return;
	ipaddr_ntop(&ep->addr, buf, sizeof(buf));
	if (ep->port == 0)
		sb_append(out, buf);
	else if (ep->addr.family == AF_INET6)
		sb_printf(out, "[%s]:%u", buf, ep->port);
	else
		sb_printf(out, "%s:%u", buf, ep->port);
}

static int ipaddr_item_parse(const char *text, void *item, char *err)
{
	return parse_ipaddr(text, item, err);
}

/* Separated by commas or blanks; as many as the text holds. */
static const struct item_list_spec ipaddr_items = {
	sizeof(struct ipaddr), 0, false, "addresses", NULL, true, ipaddr_item_parse, NULL,
};

static int ipaddr_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct ipaddr_list *list = field;
	void *items;
	size_t n;
	int ret;

	(void)key;
	if ((ret = parse_items(&ipaddr_items, value, &items, &n, err)) < 0)
		return ret;
	free(list->items);
	list->items = items;
	list->n = n;
	return 0;
}

static int host_ipaddr_list_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	const struct ipaddr_list *list = field;
	char buf[INET6_ADDRSTRLEN];

	if (ipaddr_list_parse(key, value, field, err) < 0)
		return -EINVAL;
	for (size_t i = 0; i < list->n; i++) {
		if (list->items[i].has_prefix) {
			snprintf(err, PARSE_ERR_MAX, "%s/%u: addresses without a prefix length, such as 192.0.2.1",
				 ipaddr_ntop(&list->items[i], buf, sizeof(buf)), list->items[i].prefixlen);
			return -EINVAL;	/* the list is the field's: freed with it */
		}
	}
	return 0;
}

static void ipaddr_list_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct ipaddr_list *list = field;

	(void)key;
	if (list->n == 0)
		sb_append(out, "\"\"");
	for (size_t i = 0; i < list->n; i++) {
		if (i)
			sb_append(out, ", ");
		append_ipaddr(out, &list->items[i]);
	}
}

static void ipaddr_list_free(void *field)
{
	struct ipaddr_list *list = field;

	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static void strlist_release(struct strlist *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static int strlist_push(struct strlist *list, const char *s, size_t n)
{
	char **items, *item;

	if (list->n == SIZE_MAX / sizeof(*items) - 1)
		return -ENOMEM;
	items = realloc(list->items, (list->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	list->items = items;
	item = strndup(s, n);
	if (!item)
		return -ENOMEM;
	list->items[list->n++] = item;
	return 0;
}

/* Comma-separated; each item trimmed, empty items skipped. */
static int strlist_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	struct strlist *list = field, parsed = { NULL, 0 };
	const char *p = value;

	(void)key;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *start = p;

		while (n > 0 && is_space(*start)) {
			start++;
			n--;
		}
		n = trimmed_len(start, n);
		if (n > 0 && strlist_push(&parsed, start, n) < 0) {
			strlist_release(&parsed);
			return type_fail(err, -ENOMEM, "out of memory");
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	strlist_release(list);
	*list = parsed;
	return 0;
}

static void strlist_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct strlist *list = field;
	struct strbuf joined;

	(void)key;
	sb_init(&joined);
	for (size_t i = 0; i < list->n; i++) {
		if (i)
			sb_append(&joined, ", ");
		sb_append(&joined, list->items[i]);
	}
	if (joined.failed)
		out->failed = true;
	else
		append_value(out, sb_str(&joined), true);
	sb_free(&joined);
}

static void strlist_free(void *field)
{
	strlist_release(field);
}

/* One string per line: each line appends its value as it is. */
static int repeated_string_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	if (strlist_push(field, value, strlen(value)) < 0)
		return type_fail(err, -ENOMEM, "out of memory");
	return 0;
}

static size_t strlist_count(const void *field)
{
	return ((const struct strlist *)field)->n;
}

static void repeated_string_print_item(const struct ini_key *key, const void *field, size_t i,
				       struct strbuf *out)
{
	(void)key;
	append_value(out, ((const struct strlist *)field)->items[i], false);
}

/* ---- equality (reload: what changed) ---- */

bool ini_string_equal(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return x == y || (x && y && strcmp(x, y) == 0);
}

static bool bool_equal(const void *a, const void *b)
{
	return *(const bool *)a == *(const bool *)b;
}

bool ini_unsigned_equal(const void *a, const void *b)
{
	return *(const unsigned *)a == *(const unsigned *)b;
}

bool ini_int_equal(const void *a, const void *b)
{
	return *(const int *)a == *(const int *)b;
}

bool ini_u16_equal(const void *a, const void *b)
{
	return *(const uint16_t *)a == *(const uint16_t *)b;
}

static bool u64_equal(const void *a, const void *b)
{
	return *(const uint64_t *)a == *(const uint64_t *)b;
}

bool ini_ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->has_prefix == b->has_prefix && a->prefixlen == b->prefixlen && a->u.v4.s_addr == b->u.v4.s_addr;
	if (a->family == AF_INET6)
		return a->has_prefix == b->has_prefix && a->prefixlen == b->prefixlen &&
		       memcmp(a->u.bytes, b->u.bytes, sizeof(a->u.v6)) == 0;
	return true;
}

static bool ipaddr_field_equal(const void *a, const void *b)
{
	return ini_ipaddr_equal(a, b);
}

bool ini_endpoint_equal(const void *a, const void *b)
{
	const struct ipendpoint *x = a, *y = b;

	return x->port == y->port && ini_ipaddr_equal(&x->addr, &y->addr);
}

static bool ipaddr_list_equal(const void *a, const void *b)
{
	const struct ipaddr_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (!ini_ipaddr_equal(&x->items[i], &y->items[i]))
			return false;
	return true;
}

static bool strlist_equal(const void *a, const void *b)
{
	const struct strlist *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->items[i], y->items[i]) != 0)
			return false;
	return true;
}

static void print_key(const struct ini_key *key, const void *field, struct strbuf *out)
{
	struct strbuf value;

	if (!key_repeatable(key)) {
		key->type->print(key, field, out);
		return;
	}
	sb_init(&value);
	print_items(key, field, &value, out);
	sb_free(&value);
}

static bool printed_equal(const struct ini_key *key, const void *a, const void *b)
{
	struct strbuf x, y;
	bool same;

	sb_init(&x);
	sb_init(&y);
	print_key(key, a, &x);
	print_key(key, b, &y);
	same = !x.failed && !y.failed && x.len == y.len && memcmp(sb_str(&x), sb_str(&y), x.len) == 0;
	sb_free(&x);
	sb_free(&y);
	return same;
}

bool ini_section_equal(const struct ini_section *sec, const void *a, const void *b)
{
	for (size_t i = 0; sec->keys && sec->keys[i].name; i++) {
		const struct ini_key *key = &sec->keys[i];
		const void *x = (const char *)a + key->offset, *y = (const char *)b + key->offset;

		if (key->type->equal ? !key->type->equal(x, y) : !printed_equal(key, x, y))
			return false;
	}
	return true;
}

const struct ini_type ini_type_string = {
	.name = "string", .parse = string_parse, .print = string_print, .free = string_free,
	.equal = ini_string_equal,
};
const struct ini_type ini_type_bool = { .name = "bool", .parse = bool_parse, .print = bool_print, .equal = bool_equal };
const struct ini_type ini_type_uint = {
	.name = "uint", .parse = uint_parse, .print = uint_print, .equal = ini_unsigned_equal,
};
const struct ini_type ini_type_duration = {
	.name = "duration", .parse = duration_parse, .print = duration_print, .equal = u64_equal,
};
const struct ini_type ini_type_percent = {
	.name = "percent", .parse = percent_parse, .print = percent_print, .equal = ini_unsigned_equal,
};
const struct ini_type ini_type_mode = {
	.name = "mode", .parse = mode_parse, .print = mode_print, .equal = ini_unsigned_equal,
};
const struct ini_type ini_type_enum = { .name = "enum", .parse = enum_parse, .print = enum_print, .equal = ini_int_equal };
const struct ini_type ini_type_ipaddr = {
	.name = "ipaddr", .parse = ipaddr_parse_field, .print = ipaddr_print, .equal = ipaddr_field_equal,
};
const struct ini_type ini_type_host_ipaddr = {
	.name = "address", .parse = host_ipaddr_parse_field, .print = ipaddr_print, .equal = ipaddr_field_equal,
};
const struct ini_type ini_type_endpoint = {
	.name = "endpoint", .parse = endpoint_parse, .print = endpoint_print, .equal = ini_endpoint_equal,
};
const struct ini_type ini_type_ipaddr_list = {
	.name = "ipaddr_list", .parse = ipaddr_list_parse, .print = ipaddr_list_print, .free = ipaddr_list_free,
	.equal = ipaddr_list_equal, .comma_list = true,
};
const struct ini_type ini_type_host_ipaddr_list = {
	.name = "address list", .parse = host_ipaddr_list_parse, .print = ipaddr_list_print,
	.free = ipaddr_list_free, .equal = ipaddr_list_equal, .comma_list = true,
};
const struct ini_type ini_type_strlist = {
	.name = "strlist", .parse = strlist_parse, .print = strlist_print, .free = strlist_free,
	.equal = strlist_equal, .comma_list = true,
};
const struct ini_type ini_type_repeated_string = {
	.name = "repeated string", .parse = repeated_string_parse, .free = strlist_free,
	.count = strlist_count, .print_item = repeated_string_print_item, .equal = strlist_equal,
};
