/* Table-driven INI configuration on top of iniparser.
 *
 * iniparser reads values; this layer adds what it lacks: line numbers,
 * duplicate keys, unknown sections and keys (with "did you mean"), typed and
 * range-checked values, defaults, required keys, and collection of every
 * error before failing. Errors read "FILE:LINE: section.key: message".
 *
 * A program describes its file as ini_section tables. A section is either
 * unnamed ("[global]") or named ("[check web]": type "check", name "web"). */
#ifndef DSRKIT_INI_H
#define DSRKIT_INI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "util.h"

struct ini_key;

struct ini_type {
	const char *name;
	/* Parse value into field; on error return -errno and write err
	 * (PARSE_ERR_MAX bytes). Called once per key present (or for its
	 * default), or, for a repeatable type, once per line: see below. */
	int (*parse)(const struct ini_key *key, const char *value, void *field, char *err);
	/* Append the normalized value (as it would be written in the file).
	 * Unused for a repeatable type. */
	void (*print)(const struct ini_key *key, const void *field, struct strbuf *out);
	/* Release what parse allocated; NULL when nothing is allocated. May
	 * be called more than once on the same field (two keys may share
	 * one), so it leaves the field empty. */
	void (*free)(void *field);
	/* print writes items separated by ", " that themselves hold no comma:
	 * a line too long for the loader is written with "," alone. */
	bool comma_list;
	/* Repeatable types (count set): the key may be given on any number
	 * of lines, each one item, as in
	 *	real_server = 198.18.0.11:80 weight=2
	 *	real_server = 198.18.0.12:80
	 * The key is not a duplicate when given again. parse is called once
	 * per line, in file order, with the same field, and appends one item
	 * (a failed line appends nothing; the line of its error is its own).
	 * The values of a section are parsed in file order, so keys that
	 * share a field (a list key and a repeatable one) append in the order
	 * they are written. ini_doc_line_nth finds the line of each value.
	 * Printing writes one "key = item" line per item: count gives the
	 * number of items and print_item appends item i, quoted when needed.
	 * A default, if any, is parsed once when the key is absent; required
	 * means at least one line. */
	size_t (*count)(const void *field);
	void (*print_item)(const struct ini_key *key, const void *field, size_t i, struct strbuf *out);
	/* Same value in two fields (of two loads of a file), for deciding
	 * cheaply what a reload changed. NULL: the values are compared as
	 * printed, which is always right but slower. */
	bool (*equal)(const void *a, const void *b);
};

struct ini_enum {
	const char *name;
	int value;
};

struct ini_key {
	const char *name;		/* lowercase */
	const struct ini_type *type;
	size_t offset;			/* field offset inside the section struct */
	long long min, max;		/* ranges: integers as is, durations in ms */
	const char *def;		/* default, in file syntax; NULL = no default */
	bool required;
	const struct ini_enum *enums;	/* for ini_type_enum, NULL-name terminated */
};

/* Field types (field C type in parentheses). */
extern const struct ini_type ini_type_string;	/* char * (strdup) */
extern const struct ini_type ini_type_bool;	/* bool */
extern const struct ini_type ini_type_uint;	/* unsigned, [min,max] */
extern const struct ini_type ini_type_duration;	/* uint64_t ms, [min,max] ms */
extern const struct ini_type ini_type_percent;	/* unsigned, [min,max] */
extern const struct ini_type ini_type_mode;	/* unsigned (octal) */
extern const struct ini_type ini_type_enum;	/* int, from key->enums */
extern const struct ini_type ini_type_ipaddr;	/* struct ipaddr */
extern const struct ini_type ini_type_endpoint;	/* struct ipendpoint, port optional */
extern const struct ini_type ini_type_ipaddr_list; /* struct ipaddr_list */
/* The same for one host's address each: a prefix length is refused. */
extern const struct ini_type ini_type_host_ipaddr;	/* struct ipaddr */
extern const struct ini_type ini_type_host_ipaddr_list; /* struct ipaddr_list */
extern const struct ini_type ini_type_strlist;	/* struct strlist */
/* struct strlist, repeatable: one string (as ini_type_string) per line. */
extern const struct ini_type ini_type_repeated_string;

struct ipaddr_list {
	struct ipaddr *items;
	size_t n;
};

struct strlist {
	char **items;
	size_t n;
};

struct ini_section {
	const char *type;		/* "global", "check", ... */
	bool named;			/* needs "[type NAME]" */
	bool required;			/* an unnamed section that must be present */
	const struct ini_key *keys;	/* terminated by a key with name NULL */
	/* Return storage for this section instance (zeroed on first use), or
	 * NULL on allocation failure. name is NULL for unnamed sections.
	 * Called once per instance present in the file, and once for every
	 * unnamed section that is absent so its defaults apply. */
	void *(*instance)(void *cfg, const char *name);
};

struct ini_schema {
	const struct ini_section *sections;
	size_t nsections;
};

/* Error messages, collected in order. */
struct ini_diag {
	char **msgs;
	size_t n;
	size_t cap;
};

void ini_diag_init(struct ini_diag *d);
void ini_diag_free(struct ini_diag *d);
/* Append "FILE:LINE: section.key: message" (parts left out when 0/NULL). */
void ini_diag_add(struct ini_diag *d, const char *file, unsigned line,
		  const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* What was read, kept for line lookups during program-level validation. */
struct ini_doc;

/* Read, check and store the file into cfg. Returns 0 when there were no
 * errors; otherwise -EINVAL (or -errno for I/O) with every problem in diag.
 * *docp is set on success and on validation errors (NULL for I/O errors). */
int ini_load(const char *path, const struct ini_schema *schema, void *cfg,
	     struct ini_diag *diag, struct ini_doc **docp);
/* The bytes ini_load reads: path opened without blocking (a FIFO must
 * not hang anyone), a regular file that only root or the caller can
 * change (file_check_private), at most the size ini_load accepts. 0 and a
 * malloc'd *bufp, or -errno with the reason in diag. */
int ini_read_file(const char *path, char **bufp, size_t *lenp, struct ini_diag *diag);
/* Same as ini_load, from memory (what ini_read_file read, for a reload
 * checked before it is applied; tests; the fuzzer); name is used in
 * messages. */
int ini_load_buffer(const char *name, const char *data, size_t len,
		    const struct ini_schema *schema, void *cfg,
		    struct ini_diag *diag, struct ini_doc **docp);
void ini_doc_free(struct ini_doc *doc);
/* Whether the text after a key's '=' is a value iniparser 4.1 reads as it
 * stands: not empty, with no quote, comment or control character; it is
 * then text[*off] for *len bytes (the spaces around it removed). */
bool ini_plain_value(const char *text, size_t *off, size_t *len);

/* What a program's loader adds to ini_load_buffer: its configuration
 * struct (cfg_size bytes, zeroed, with the file's name strdup'd into the
 * char * at path_offset), its checks across keys (run even after key
 * errors, so one pass shows every error; check must itself skip what the
 * key errors left unset), and its free function. */
struct ini_program {
	const struct ini_schema *schema;
	size_t cfg_size;
	size_t path_offset;
	void (*check)(void *cfg, const struct ini_doc *doc, struct ini_diag *diag);
	void (*free)(void *cfg);
};
/* Load a program's configuration from buf (len bytes, named path), or,
 * buf NULL, from the file path (ini_read_file). 0 and a new *cfgp, or
 * -EINVAL (any error at all) or -errno, with every message in diag. */
int ini_program_load(const struct ini_program *prog, const char *path, const char *buf, size_t len, void **cfgp,
		     struct ini_diag *diag);
const char *ini_doc_path(const struct ini_doc *doc);

/* Line of "[section]" (key NULL) or of section.key; 0 when absent. section is
 * the full header text, e.g. "check web". */
unsigned ini_doc_line(const struct ini_doc *doc, const char *section, const char *key);
/* Add an error at the line of section.key (or of the section). */
void ini_doc_error(struct ini_diag *d, const struct ini_doc *doc, const char *section,
		   const char *key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The line of the value of section.key that its type's parse was given the
 * nth time (from 0): each line of a repeatable key has its own. nth 0 of
 * any other key is its line. 0 when there is no such value (a line
 * refused before parsing, such as one with a missing quote, has none). */
unsigned ini_doc_line_nth(const struct ini_doc *doc, const char *section, const char *key, size_t nth);
/* ini_doc_error at that line (or of the section when there is none). */
void ini_doc_error_nth(struct ini_diag *d, const struct ini_doc *doc, const char *section,
		       const char *key, size_t nth, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Normalized output of one section instance ("[type name]" and every key;
 * a repeatable key once per item). */
void ini_print_section(const struct ini_section *sec, const char *name,
		       const void *base, struct strbuf *out);
/* Every key of two instances of a section has the same value (by the
 * types' equal, else as printed). Names are not compared. */
bool ini_section_equal(const struct ini_section *sec, const void *a, const void *b);
/* The equal functions of the field types, for types of a program's own
 * whose fields are one of these. */
bool ini_string_equal(const void *a, const void *b);	/* char *, NULL equals only NULL */
bool ini_unsigned_equal(const void *a, const void *b);
bool ini_int_equal(const void *a, const void *b);
bool ini_u16_equal(const void *a, const void *b);
bool ini_endpoint_equal(const void *a, const void *b);	/* struct ipendpoint, prefix included */
/* struct ipaddr, its prefix included (ipaddr_equal compares addresses). */
bool ini_ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

/* Free what the parse functions allocated inside one section instance. */
void ini_free_section(const struct ini_section *sec, void *base);

/* Refuse files that someone other than root or the caller can modify:
 * world-writable, group-writable by a non-root group, or owned by another
 * user. Returns 0 or -EPERM/-errno with a message in err. */
int file_check_private(const char *path, char *err, size_t errlen);
/* The same for the program of a command run through /bin/sh -c, when the
 * command names it by its path ("/usr/local/bin/check --x"); a command
 * such as "killall -0 haproxy" is the shell's to find. */
int command_check_private(const char *command, char *err, size_t errlen);

#endif
