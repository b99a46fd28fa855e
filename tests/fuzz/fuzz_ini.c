/* libFuzzer target for common/ini.c: arbitrary bytes as a config file.
 *
 * Besides crashes and leaks it checks these properties:
 *  - our line scanner and iniparser never disagree (no "internal error"),
 *    repeatable keys (one iniparser name per line) included;
 *  - a value the loader takes as it stands (ini_plain_value: the first
 *    line of the input as a value) is what iniparser reads for it;
 *  - a file that loads prints to text that loads again, to the same text;
 *  - every line of a repeatable key that loaded has its own line number. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iniparser.h>

#include "ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct item {
	char *name;
	int kind;
	struct ipaddr address;
	struct ipendpoint target;
	uint64_t every_ms;
	char *note;
	struct strlist tags;		/* repeatable, with a default */
	struct item *next;
};

struct conf {
	char *id;
	bool on;
	unsigned count;
	uint64_t delay_ms;
	unsigned share;
	unsigned mode;
	int level;
	struct ipaddr vip;
	struct ipendpoint listen;
	struct ipaddr_list allow;
	struct strlist words;
	struct strlist cmds;		/* repeatable */
	bool extra_on;
	struct item *items;
};

static const struct ini_enum levels[] = {
	{ "low", 1 }, { "mid", 2 }, { "high", 3 }, { NULL, 0 },
};

#define G(f) offsetof(struct conf, f)
#define I(f) offsetof(struct item, f)

static const struct ini_key main_keys[] = {
	{ "id", &ini_type_string, G(id), 0, 0, NULL, true, NULL },
	{ "on", &ini_type_bool, G(on), 0, 0, "yes", false, NULL },
	{ "count", &ini_type_uint, G(count), 1, 65535, "3", false, NULL },
	{ "delay", &ini_type_duration, G(delay_ms), 10, 3600000, "2s", false, NULL },
	{ "share", &ini_type_percent, G(share), 0, 100, "50%", false, NULL },
	{ "mode", &ini_type_mode, G(mode), 0, 0777, "0640", false, NULL },
	{ "level", &ini_type_enum, G(level), 0, 0, "mid", false, levels },
	{ "vip", &ini_type_ipaddr, G(vip), 0, 0, NULL, false, NULL },
	{ "listen", &ini_type_endpoint, G(listen), 0, 0, "127.0.0.1:5555", false, NULL },
	{ "allow", &ini_type_ipaddr_list, G(allow), 0, 0, "192.0.2.0/24", false, NULL },
	{ "words", &ini_type_strlist, G(words), 0, 0, NULL, false, NULL },
	{ "cmd", &ini_type_repeated_string, G(cmds), 0, 0, NULL, false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_key extra_keys[] = {
	{ "on", &ini_type_bool, G(extra_on), 0, 0, "no", false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_key item_keys[] = {
	{ "kind", &ini_type_enum, I(kind), 0, 0, NULL, true, levels },
	{ "address", &ini_type_ipaddr, I(address), 0, 0, NULL, false, NULL },
	{ "target", &ini_type_endpoint, I(target), 0, 0, NULL, false, NULL },
	{ "every", &ini_type_duration, I(every_ms), 0, 0, "1m", false, NULL },
	{ "note", &ini_type_string, I(note), 0, 0, "-", false, NULL },
	{ "tag", &ini_type_repeated_string, I(tags), 0, 0, "untagged", false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static void *main_instance(void *cfg, const char *name)
{
	(void)name;
	return cfg;
}

static void *item_instance(void *cfgp, const char *name)
{
	struct conf *cfg = cfgp;
	struct item *it = calloc(1, sizeof(*it)), **tail;

	if (!it)
		return NULL;
	it->name = strdup(name ? name : "");
	if (!it->name) {
		free(it);
		return NULL;
	}
	for (tail = &cfg->items; *tail; tail = &(*tail)->next)
		;
	*tail = it;
	return it;
}

static const struct ini_section sections[] = {
	{ "main", false, true, main_keys, main_instance },
	{ "extra", false, false, extra_keys, main_instance },
	{ "item", true, false, item_keys, item_instance },
};

static const struct ini_schema schema = { sections, 3 };

static void conf_free(struct conf *cfg)
{
	struct item *it, *next;

	for (it = cfg->items; it; it = next) {
		next = it->next;
		ini_free_section(&sections[2], it);
		free(it->name);
		free(it);
	}
	ini_free_section(&sections[0], cfg);
	ini_free_section(&sections[1], cfg);
	memset(cfg, 0, sizeof(*cfg));
}

static void conf_print(const struct conf *cfg, struct strbuf *out)
{
	ini_print_section(&sections[0], NULL, cfg, out);
	ini_print_section(&sections[1], NULL, cfg, out);
	for (const struct item *it = cfg->items; it; it = it->next)
		ini_print_section(&sections[2], it->name, it, out);
}

/* Messages end with their text; names from the input come before it. */
static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void check_diag(const struct ini_diag *d, const char *input, size_t len)
{
	for (size_t i = 0; i < d->n; i++) {
		if (ends_with(d->msgs[i], ": internal error: iniparser did not return this value")) {
			fprintf(stderr, "scanner and iniparser disagree: %s\n", d->msgs[i]);
			fwrite(input, 1, len, stderr);
			abort();
		}
	}
}

/* A file that loaded must print to text that loads to the same print. */
static void check_round_trip(const struct conf *cfg)
{
	struct conf again;
	struct ini_diag d;
	struct strbuf p1, p2;
	int ret;

	sb_init(&p1);
	sb_init(&p2);
	conf_print(cfg, &p1);
	memset(&again, 0, sizeof(again));
	ini_diag_init(&d);
	ret = ini_load_buffer("printed", p1.buf, p1.len, &schema, &again, &d, NULL);
	if (ret != 0) {
		fprintf(stderr, "printed config does not reload (%d):\n%s", ret, sb_str(&p1));
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %s\n", d.msgs[i]);
		abort();
	}
	conf_print(&again, &p2);
	if (strcmp(sb_str(&p1), sb_str(&p2)) != 0) {
		fprintf(stderr, "print is not stable:\n%s---\n%s", sb_str(&p1), sb_str(&p2));
		abort();
	}
	conf_free(&again);
	ini_diag_free(&d);
	sb_free(&p1);
	sb_free(&p2);
}

static int quiet(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/* iniparser's reading of "k = LINE" against the loader's plain reading. */
static void check_plain(const char *text, size_t size)
{
	static int fd = -1;
	static char path[64];
	const char *nl = memchr(text, '\n', size), *got;
	size_t n = nl ? (size_t)(nl - text) : size, off, len;
	char line[901], file[sizeof(line) + 16];
	dictionary *d;
	int flen;

	if (n >= sizeof(line) || memchr(text, '\0', n))
		return;
	memcpy(line, text, n);
	line[n] = '\0';
	if (!ini_plain_value(line, &off, &len))
		return;
	if (fd < 0) {
		fd = memfd_create("fuzz-plain", 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	flen = snprintf(file, sizeof(file), "[s]\nk = %s\n", line);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, file, (size_t)flen, 0) != flen)
		abort();
	iniparser_set_error_callback(quiet);
	if (!(d = iniparser_load(path)))
		abort();
	got = iniparser_getstring(d, "s:k", NULL);
	if (!got || strlen(got) != len || memcmp(got, line + off, len) != 0)
		abort();
	iniparser_freedict(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct ini_doc *doc = NULL;
	struct ini_diag d;
	struct conf cfg;
	int ret;

	check_plain(text, size);
	memset(&cfg, 0, sizeof(cfg));
	ini_diag_init(&d);
	ret = ini_load_buffer("fuzz.ini", text, size, &schema, &cfg, &d, &doc);
	check_diag(&d, text, size);
	if ((ret == 0) != (d.n == 0))
		abort();
	if (ret == 0)
		check_round_trip(&cfg);
	if (doc) {
		/* Exercise the lookups programs use for their own checks. */
		(void)ini_doc_line(doc, "main", "id");
		(void)ini_doc_line_nth(doc, "main", "id", 1);
		/* Without errors, every cmd line was parsed, each at its line. */
		for (size_t i = 0; ret == 0 && i < cfg.cmds.n; i++)
			if (ini_doc_line_nth(doc, "main", "cmd", i) == 0)
				abort();
		if (ret == 0 && ini_doc_line_nth(doc, "main", "cmd", cfg.cmds.n) != 0)
			abort();
		for (const struct item *it = cfg.items; it; it = it->next) {
			char sec[128];

			snprintf(sec, sizeof(sec), "item %s", it->name);
			if (ini_doc_line(doc, sec, NULL) == 0)
				abort();	/* every instance came from a header */
			ini_doc_error(&d, doc, sec, "note", "fuzz %s", "check");
			ini_doc_error_nth(&d, doc, sec, "tag", it->tags.n / 2, "fuzz %s", "tag");
		}
		ini_doc_free(doc);
	}
	conf_free(&cfg);
	ini_diag_free(&d);
	return 0;
}
