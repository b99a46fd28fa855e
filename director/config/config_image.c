/* A validated configuration as bytes, so that it is read and checked once.
 *
 * On a reload the file is parsed and checked in one short-lived child
 * (cfgcheck.h); the child writes what it loaded here, and the parent and
 * both engines rebuild it from these bytes instead of reading the file
 * again (OpenBSD's daemons send IMSG_RECONF_* the same way). Rebuilding
 * costs a fraction of a parse (no text, no lookups, no checks), and every
 * process runs exactly the configuration that was checked.
 *
 * The image is made and read by the same binary (the parent's children),
 * so each struct travels as its bytes, followed by what its pointers point
 * to, in a fixed order; the reader sets every pointer itself and never
 * trusts one from the image. Where each struct's pointers are is said once,
 * in its layout below, which both the writer and the reader follow. The
 * header carries the sizes of the structs, so an image from another build
 * is refused, not misread. A struct that gains a pointer must gain it in
 * its layout: tests/unit/test_config_image.c round-trips a file that sets
 * every key.
 *
 * The PEM texts of the https checks travel once each, in a table before
 * the virtual servers, which name them by index: a CA bundle named by
 * 10,000 services is one copy in the image and one in each reader (they
 * are shared there, tls_pem_text_share), not 10,000.
 *
 * Reading checks every length and index against what is there, so a
 * damaged image is -EBADMSG, never a crash (tests/fuzz/fuzz_config_image.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cfgcheck.h"
#include "config.h"

#define IMAGE_MAGIC	"dsrkcfg2"
#define NO_STRING	UINT32_MAX

struct image_header {
	char magic[8];
	uint32_t sizes[11];	/* sizeof of each struct below, in this order */
};

static void header_sizes(uint32_t sizes[11])
{
	const size_t s[11] = {
		sizeof(struct director_config), sizeof(struct track_script_conf), sizeof(struct track_file_conf),
		sizeof(struct sync_group_conf), sizeof(struct vrrp_conf), sizeof(struct virtual_server_conf),
		sizeof(struct real_server_conf), sizeof(struct vip_conf), sizeof(struct route_conf),
		sizeof(struct track_ref), sizeof(struct track_process_conf),
	};

	for (size_t i = 0; i < 11; i++)
		sizes[i] = (uint32_t)s[i];
}

/* ---- writing ---- */

static void put_u32(struct strbuf *out, uint32_t v)
{
	sb_appendn(out, (const char *)&v, sizeof(v));
}

static void put_string(struct strbuf *out, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_u32(out, s ? (uint32_t)n : NO_STRING);
	sb_appendn(out, s ? s : "", n);
}

static void put_raw(struct strbuf *out, const void *p, size_t size)
{
	sb_appendn(out, p, size);
}

/* An array of plain structs: its count, then its bytes. */
static void put_array(struct strbuf *out, const void *items, size_t n, size_t size)
{
	put_u32(out, (uint32_t)n);
	if (n)
		put_raw(out, items, n * size);
}

static void put_strlist(struct strbuf *out, const struct strlist *l)
{
	put_u32(out, (uint32_t)l->n);
	for (size_t i = 0; i < l->n; i++)
		put_string(out, l->items[i]);
}

/* ---- where each struct's pointers are ---- */

#define END_OF	SIZE_MAX

/* An array of plain structs inside a struct: its items and its count. */
struct array_at {
	size_t items, n, size;	/* size 0 ends a list of them */
};

struct layout {
	size_t size;
	const size_t *strings;		/* char * fields (offsets, END_OF-ended) */
	const size_t *strlists;		/* struct strlist fields */
	const struct array_at *arrays;
	/* The other pointers (lists, links made by validation), cleared on
	 * reading: they are relinked, or filled by the caller. */
	void (*clear)(void *obj);
};

#define ARRAY_AT(type, f) { offsetof(type, f.items), offsetof(type, f.n), sizeof(*((type *)0)->f.items) }

static const size_t no_offsets[] = { END_OF };
static const struct array_at no_arrays[] = { { 0, 0, 0 } };

static void clear_global(void *obj)
{
	struct director_config *c = obj;

	c->track_scripts = NULL;
	c->track_files = NULL;
	c->track_processes = NULL;
	c->sync_groups = NULL;
	c->instances = NULL;
	c->ninstances = 0;
	c->lvs.services = c->lvs.last = NULL;
	c->lvs.nservices = 0;
}

static const size_t global_strings[] = {
	offsetof(struct director_config, router_id), offsetof(struct director_config, user),
	offsetof(struct director_config, control_socket), offsetof(struct director_config, control_group),
	offsetof(struct director_config, notify_fifo), offsetof(struct director_config, path),
	offsetof(struct director_config, lvs.sync.interface), offsetof(struct director_config, lvs.sync.follow),
	offsetof(struct director_config, warnings), offsetof(struct director_config, lvs.announce.interface),
	offsetof(struct director_config, state_dir), END_OF,
};

static const struct array_at global_arrays[] = { ARRAY_AT(struct director_config, metrics_allow), { 0, 0, 0 } };

static const struct layout global_layout = {
	sizeof(struct director_config), global_strings, no_offsets, global_arrays, clear_global,
};

/* Named sections are lists: next is relinked by the reader. */
static void clear_track_script(void *obj)
{
	((struct track_script_conf *)obj)->next = NULL;
}

static const size_t track_script_strings[] = {
	offsetof(struct track_script_conf, name), offsetof(struct track_script_conf, command), END_OF,
};

static const struct layout track_script_layout = {
	sizeof(struct track_script_conf), track_script_strings, no_offsets, no_arrays, clear_track_script,
};

static void clear_track_file(void *obj)
{
	((struct track_file_conf *)obj)->next = NULL;
}

static const size_t track_file_strings[] = {
	offsetof(struct track_file_conf, name), offsetof(struct track_file_conf, path), END_OF,
};

static const struct layout track_file_layout = {
	sizeof(struct track_file_conf), track_file_strings, no_offsets, no_arrays, clear_track_file,
};

static void clear_track_process(void *obj)
{
	((struct track_process_conf *)obj)->next = NULL;
}

static const size_t track_process_strings[] = {
	offsetof(struct track_process_conf, name), offsetof(struct track_process_conf, process),
	offsetof(struct track_process_conf, args), END_OF,
};

static const struct layout track_process_layout = {
	sizeof(struct track_process_conf), track_process_strings, no_offsets, no_arrays, clear_track_process,
};

static void clear_sync_group(void *obj)
{
	((struct sync_group_conf *)obj)->next = NULL;
}

static const size_t sync_group_strings[] = {
	offsetof(struct sync_group_conf, name), offsetof(struct sync_group_conf, notify),
	offsetof(struct sync_group_conf, notify_master), offsetof(struct sync_group_conf, notify_backup),
	offsetof(struct sync_group_conf, notify_fault), END_OF,
};
static const size_t sync_group_strlists[] = { offsetof(struct sync_group_conf, instances), END_OF };

static const struct layout sync_group_layout = {
	sizeof(struct sync_group_conf), sync_group_strings, sync_group_strlists, no_arrays, clear_sync_group,
};

static void clear_vrrp(void *obj)
{
	struct vrrp_conf *v = obj;

	v->group = NULL;
	v->next = NULL;
}

static const size_t vrrp_strings[] = {
	offsetof(struct vrrp_conf, name), offsetof(struct vrrp_conf, interface), offsetof(struct vrrp_conf, auth_pass),
	offsetof(struct vrrp_conf, notify), offsetof(struct vrrp_conf, notify_master),
	offsetof(struct vrrp_conf, notify_backup), offsetof(struct vrrp_conf, notify_fault),
	offsetof(struct vrrp_conf, notify_stop), END_OF,
};
static const struct array_at vrrp_arrays[] = {
	ARRAY_AT(struct vrrp_conf, vips), ARRAY_AT(struct vrrp_conf, routes), ARRAY_AT(struct vrrp_conf, unicast_peers),
	ARRAY_AT(struct vrrp_conf, track_scripts), ARRAY_AT(struct vrrp_conf, track_interfaces),
	ARRAY_AT(struct vrrp_conf, track_files), ARRAY_AT(struct vrrp_conf, track_processes), { 0, 0, 0 },
};

static const struct layout vrrp_layout = {
	sizeof(struct vrrp_conf), vrrp_strings, no_offsets, vrrp_arrays, clear_vrrp,
};

static const size_t real_server_strings[] = {
	offsetof(struct real_server_conf, check.path), offsetof(struct real_server_conf, check.host),
	offsetof(struct real_server_conf, check.command), END_OF,
};

static const struct layout real_server_layout = {
	sizeof(struct real_server_conf), real_server_strings, no_offsets, no_arrays, NULL,
};

/* Its real servers follow it, each with its strings. */
static void clear_virtual_server(void *obj)
{
	struct virtual_server_conf *vs = obj;

	memset(&vs->real_servers, 0, sizeof(vs->real_servers));
	vs->check_ca_file.pem = vs->check_cert_file.pem = vs->check_key_file.pem = NULL;
	vs->unchanged = NULL;
	vs->next = NULL;
}

static const size_t virtual_server_strings[] = {
	offsetof(struct virtual_server_conf, name), offsetof(struct virtual_server_conf, scheduler),
	offsetof(struct virtual_server_conf, vrrp), offsetof(struct virtual_server_conf, check_path),
	offsetof(struct virtual_server_conf, check_host), offsetof(struct virtual_server_conf, check_body),
	offsetof(struct virtual_server_conf, check_command),
	offsetof(struct virtual_server_conf, check_ca_file.path), offsetof(struct virtual_server_conf, check_cert_file.path),
	offsetof(struct virtual_server_conf, check_key_file.path), END_OF,
};

/* https: the PEM contents travel (the engines never read a file), each
 * as an index into the image's table of them. */
static const size_t virtual_server_pems[] = {
	offsetof(struct virtual_server_conf, check_ca_file), offsetof(struct virtual_server_conf, check_cert_file),
	offsetof(struct virtual_server_conf, check_key_file), END_OF,
};

static const struct layout virtual_server_layout = {
	sizeof(struct virtual_server_conf), virtual_server_strings, no_offsets, no_arrays, clear_virtual_server,
};

#define FIELD(obj, off, type) ((type *)((char *)(obj) + (off)))
#define CFIELD(obj, off, type) ((const type *)((const char *)(obj) + (off)))

/* ---- writing, by layout ---- */

static void put_object(struct strbuf *out, const void *obj, const struct layout *l)
{
	put_raw(out, obj, l->size);
	for (const size_t *o = l->strings; *o != END_OF; o++)
		put_string(out, *CFIELD(obj, *o, char *));
	for (const size_t *o = l->strlists; *o != END_OF; o++)
		put_strlist(out, CFIELD(obj, *o, struct strlist));
	for (const struct array_at *a = l->arrays; a->size; a++)
		put_array(out, *CFIELD(obj, a->items, void *), *CFIELD(obj, a->n, size_t), a->size);
}

static void put_track_script(struct strbuf *out, const struct track_script_conf *t)
{
	put_object(out, t, &track_script_layout);
}

static void put_track_file(struct strbuf *out, const struct track_file_conf *t)
{
	put_object(out, t, &track_file_layout);
}

static void put_track_process(struct strbuf *out, const struct track_process_conf *t)
{
	put_object(out, t, &track_process_layout);
}

static void put_sync_group(struct strbuf *out, const struct sync_group_conf *g)
{
	put_object(out, g, &sync_group_layout);
}

static void put_vrrp(struct strbuf *out, const struct vrrp_conf *v)
{
	put_object(out, v, &vrrp_layout);
}

/* The distinct PEM texts of the virtual servers, by address (a loaded
 * configuration shares equal contents, so equal means the same). */
struct pem_table {
	const char **texts;
	size_t n, cap;
};

static uint32_t pem_index(const struct pem_table *t, const char *pem)
{
	for (size_t i = 0; pem && i < t->n; i++)
		if (t->texts[i] == pem)
			return (uint32_t)i;
	return NO_STRING;
}

static int pem_table_add(struct pem_table *t, const char *pem)
{
	if (!pem || pem_index(t, pem) != NO_STRING)
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		const char **texts = realloc(t->texts, cap * sizeof(*texts));

		if (!texts)
			return -ENOMEM;
		t->texts = texts;
		t->cap = cap;
	}
	t->texts[t->n++] = pem;
	return 0;
}

static int pem_table_fill(struct pem_table *t, const struct virtual_server_conf *services)
{
	for (const struct virtual_server_conf *vs = services; vs; vs = vs->next)
		for (const size_t *o = virtual_server_pems; *o != END_OF; o++)
			if (pem_table_add(t, CFIELD(vs, *o, struct tls_pem_file)->pem) < 0)
				return -ENOMEM;
	return 0;
}

static void put_virtual_server(struct strbuf *out, const struct virtual_server_conf *vs, const struct pem_table *t)
{
	put_object(out, vs, &virtual_server_layout);
	for (const size_t *o = virtual_server_pems; *o != END_OF; o++)
		put_u32(out, pem_index(t, CFIELD(vs, *o, struct tls_pem_file)->pem));
	put_u32(out, (uint32_t)vs->real_servers.n);
	for (size_t i = 0; i < vs->real_servers.n; i++)
		put_object(out, &vs->real_servers.items[i], &real_server_layout);
}

/* Each list: its length, then its members in order. */
#define PUT_LIST(out, type, head, put) do { \
	uint32_t n_ = 0; \
	for (const type *m_ = (head); m_; m_ = m_->next) \
		n_++; \
	put_u32((out), n_); \
	for (const type *m_ = (head); m_; m_ = m_->next) \
		put((out), m_); \
} while (0)

/* The table, then the virtual servers. */
static int put_virtual_servers(struct strbuf *out, const struct virtual_server_conf *services)
{
	struct pem_table t = { 0 };
	uint32_t n = 0;

	if (pem_table_fill(&t, services) < 0) {
		free(t.texts);
		return -ENOMEM;
	}
	put_u32(out, (uint32_t)t.n);
	for (size_t i = 0; i < t.n; i++)
		put_string(out, t.texts[i]);
	for (const struct virtual_server_conf *vs = services; vs; vs = vs->next)
		n++;
	put_u32(out, n);
	for (const struct virtual_server_conf *vs = services; vs; vs = vs->next)
		put_virtual_server(out, vs, &t);
	free(t.texts);
	return 0;
}

int director_config_image(const struct director_config *cfg, struct strbuf *out)
{
	struct image_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	header_sizes(h.sizes);
	put_raw(out, &h, sizeof(h));
	put_object(out, cfg, &global_layout);
	PUT_LIST(out, struct track_script_conf, cfg->track_scripts, put_track_script);
	PUT_LIST(out, struct track_file_conf, cfg->track_files, put_track_file);
	PUT_LIST(out, struct track_process_conf, cfg->track_processes, put_track_process);
	PUT_LIST(out, struct sync_group_conf, cfg->sync_groups, put_sync_group);
	PUT_LIST(out, struct vrrp_conf, cfg->instances, put_vrrp);
	if (put_virtual_servers(out, cfg->lvs.services) < 0)
		return -ENOMEM;
	return out->failed ? -ENOMEM : 0;
}

/* ---- reading ---- */

/* Bytes from memory, or from a file read 64 KiB at a time (so that
 * reading an image never holds all of it: it would count in the peak
 * memory of every process that reads one). */
#define READ_CHUNK	(64 * 1024)

struct reader {
	const uint8_t *p;	/* the bytes at hand */
	size_t avail;		/* how many */
	size_t left;		/* all that is left: avail and the rest of the file */
	int fd;			/* -1: memory only */
	off_t off;		/* in the file, after what is at hand */
	uint8_t *chunk;
	int err;		/* the first failure: -EBADMSG, -ENOMEM or -errno */
	char **pems;		/* the image's PEM texts (NULL when skipped) */
	size_t npems;		/* how many the image has */
};

static void fail(struct reader *r, int err)
{
	if (!r->err)
		r->err = err;
	r->left = r->avail = 0;
}

static bool refill(struct reader *r)
{
	size_t want = r->left < READ_CHUNK ? r->left : READ_CHUNK;
	ssize_t n;

	if (r->fd < 0 || want == 0) {
		fail(r, -EBADMSG);
		return false;
	}
	do
		n = pread(r->fd, r->chunk, want, r->off);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		fail(r, n < 0 ? -errno : -EBADMSG);
		return false;
	}
	r->p = r->chunk;
	r->avail = (size_t)n;
	r->off += n;
	return true;
}

/* size bytes into dst, or past them (dst NULL). */
static bool get_raw(struct reader *r, void *dst, size_t size)
{
	uint8_t *out = dst;

	if (r->err || size > r->left) {
		fail(r, -EBADMSG);
		return false;
	}
	while (size > 0) {
		size_t n;

		if (r->avail == 0 && !refill(r))
			return false;
		n = size < r->avail ? size : r->avail;
		if (out) {
			memcpy(out, r->p, n);
			out += n;
		}
		r->p += n;
		r->avail -= n;
		r->left -= n;
		size -= n;
	}
	return true;
}

static uint32_t get_u32(struct reader *r)
{
	uint32_t v = 0;

	(void)get_raw(r, &v, sizeof(v));
	return v;
}

static char *get_string(struct reader *r)
{
	uint32_t n = get_u32(r);
	char *s;

	if (r->err || n == NO_STRING)
		return NULL;
	if (n > r->left) {
		fail(r, -EBADMSG);
		return NULL;
	}
	if (!(s = malloc((size_t)n + 1))) {
		fail(r, -ENOMEM);
		return NULL;
	}
	if (!get_raw(r, s, n)) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	if (strlen(s) != n) {	/* a NUL inside: not one of ours */
		free(s);
		fail(r, -EBADMSG);
		return NULL;
	}
	return s;
}

/* A count of items of at least min_size bytes each: no more than what is
 * left could hold, so a damaged count cannot ask for a huge allocation. */
static size_t get_count(struct reader *r, size_t min_size)
{
	uint32_t n = get_u32(r);

	if (!r->err && (size_t)n > r->left / (min_size ? min_size : 1)) {
		fail(r, -EBADMSG);
		return 0;
	}
	return r->err ? 0 : n;
}

static void *get_array(struct reader *r, size_t size, size_t *n)
{
	void *items;

	*n = get_count(r, size);
	if (*n == 0)
		return NULL;
	if (!(items = calloc(*n, size))) {
		fail(r, -ENOMEM);
		*n = 0;
		return NULL;
	}
	if (!get_raw(r, items, *n * size)) {
		free(items);
		*n = 0;
		return NULL;
	}
	return items;
}

static void get_strlist(struct reader *r, struct strlist *l)
{
	size_t n = get_count(r, sizeof(uint32_t));

	l->n = 0;
	l->items = n ? calloc(n, sizeof(*l->items)) : NULL;
	if (n && !l->items) {
		fail(r, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < n && !r->err; i++) {
		l->items[i] = get_string(r);
		if (l->items[i])
			l->n++;
		else if (!r->err)
			fail(r, -EBADMSG);	/* a list holds no NULL */
	}
}

/* A struct's own bytes; NULL on failure. */
static void *get_struct(struct reader *r, size_t size)
{
	void *p;

	if (r->err || size > r->left) {
		fail(r, -EBADMSG);
		return NULL;
	}
	if (!(p = malloc(size))) {
		fail(r, -ENOMEM);
		return NULL;
	}
	(void)get_raw(r, p, size);
	return p;
}

/* The pointers of a struct just read point into another process: all
 * cleared before anything can free the struct. */
static void clear_object(void *obj, const struct layout *l)
{
	for (const size_t *o = l->strings; *o != END_OF; o++)
		*FIELD(obj, *o, char *) = NULL;
	for (const size_t *o = l->strlists; *o != END_OF; o++)
		memset(FIELD(obj, *o, struct strlist), 0, sizeof(struct strlist));
	for (const struct array_at *a = l->arrays; a->size; a++) {
		*FIELD(obj, a->items, void *) = NULL;
		*FIELD(obj, a->n, size_t) = 0;
	}
	if (l->clear)
		l->clear(obj);
}

static void get_fields(struct reader *r, void *obj, const struct layout *l)
{
	for (const size_t *o = l->strings; *o != END_OF; o++)
		*FIELD(obj, *o, char *) = get_string(r);
	for (const size_t *o = l->strlists; *o != END_OF; o++)
		get_strlist(r, FIELD(obj, *o, struct strlist));
	for (const struct array_at *a = l->arrays; a->size; a++)
		*FIELD(obj, a->items, void *) = get_array(r, a->size, FIELD(obj, a->n, size_t));
}

static void *get_object(struct reader *r, const struct layout *l)
{
	void *obj = get_struct(r, l->size);

	if (!obj)
		return NULL;
	clear_object(obj, l);
	get_fields(r, obj, l);
	return obj;
}

static struct track_script_conf *get_track_script(struct reader *r)
{
	return get_object(r, &track_script_layout);
}

static struct track_file_conf *get_track_file(struct reader *r)
{
	return get_object(r, &track_file_layout);
}

static struct track_process_conf *get_track_process(struct reader *r)
{
	return get_object(r, &track_process_layout);
}

static struct sync_group_conf *get_sync_group(struct reader *r)
{
	return get_object(r, &sync_group_layout);
}

static struct vrrp_conf *get_vrrp(struct reader *r)
{
	return get_object(r, &vrrp_layout);
}

static void get_real_servers(struct reader *r, struct real_server_list *list)
{
	size_t n = get_count(r, sizeof(struct real_server_conf));

	if (n == 0)
		return;
	if (!(list->items = calloc(n, sizeof(*list->items)))) {
		fail(r, -ENOMEM);
		return;
	}
	list->cap = n;
	for (size_t i = 0; i < n && !r->err; i++) {
		struct real_server_conf *rs = &list->items[i];

		if (!get_raw(r, rs, sizeof(*rs)))
			break;
		clear_object(rs, &real_server_layout);
		list->n++;
		get_fields(r, rs, &real_server_layout);
	}
}

/* Past a string, its bytes unread. */
static void skip_string(struct reader *r)
{
	uint32_t n = get_u32(r);

	if (!r->err && n != NO_STRING)
		(void)get_raw(r, NULL, n);
}

/* The table of PEM texts, kept (shared, so the services' references are
 * the same text) or only counted. */
static void get_pem_table(struct reader *r, bool keep)
{
	size_t n = get_count(r, sizeof(uint32_t));

	if (keep && n && !(r->pems = calloc(n, sizeof(*r->pems)))) {
		fail(r, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < n && !r->err; i++) {
		char *pem;

		if (!keep) {
			skip_string(r);
			r->npems++;
			continue;
		}
		if (!(pem = get_string(r))) {
			if (!r->err)
				fail(r, -EBADMSG);	/* the table holds no NULL */
			break;
		}
		(void)tls_pem_text_share(&pem);	/* unshared, still right */
		r->pems[r->npems++] = pem;
	}
}

static void free_pem_table(struct reader *r)
{
	for (size_t i = 0; r->pems && i < r->npems; i++)
		tls_pem_text_free(r->pems[i]);
	free(r->pems);
	r->pems = NULL;
	r->npems = 0;
}

/* A file's text by its index, into f (there exactly when its path is);
 * f NULL: skipping, the index only checked. */
static void get_pem_ref(struct reader *r, struct tls_pem_file *f)
{
	uint32_t i = get_u32(r);

	if (r->err)
		return;
	if ((i != NO_STRING && i >= r->npems) || (f && (i == NO_STRING) != !f->path)) {
		fail(r, -EBADMSG);
		return;
	}
	if (i == NO_STRING || !f)
		return;
	if (!(f->pem = tls_pem_text_ref(r->pems[i])))
		fail(r, -ENOMEM);
}

static struct virtual_server_conf *get_virtual_server(struct reader *r)
{
	struct virtual_server_conf *vs = get_object(r, &virtual_server_layout);

	if (!vs)
		return NULL;
	for (const size_t *o = virtual_server_pems; *o != END_OF; o++)
		get_pem_ref(r, FIELD(vs, *o, struct tls_pem_file));
	get_real_servers(r, &vs->real_servers);
	return vs;
}

/* Each list in order, through a tail pointer; a member without its name
 * is a damaged image. */
#define GET_LIST(r, type, head, get) do { \
	size_t n_ = get_count((r), sizeof(type)); \
	type **tail_ = &(head); \
	for (size_t i_ = 0; i_ < n_ && !(r)->err; i_++) { \
		type *m_ = get((r)); \
		if (!m_) \
			break; \
		*tail_ = m_; \
		tail_ = &m_->next; \
		if (!m_->name && !(r)->err) \
			fail((r), -EBADMSG); \
	} \
} while (0)

/* What validation set that points within the configuration, and the
 * count of instances. */
static void relink(struct director_config *c)
{
	for (struct vrrp_conf *v = c->instances; v; v = v->next)
		c->ninstances++;
	for (struct sync_group_conf *g = c->sync_groups; g; g = g->next)
		for (size_t i = 0; i < g->instances.n; i++) {
			struct vrrp_conf *v = director_config_instance(c, g->instances.items[i]);

			if (v)
				v->group = g;
		}
	for (struct virtual_server_conf *vs = c->lvs.services; vs; vs = vs->next)
		c->lvs.last = vs;
}

void image_vs_skip(const struct virtual_server_conf *vs, void *arg)
{
	(void)vs;
	(void)arg;
}

/* Past an object as put_object wrote it, allocating nothing. */
static void skip_object(struct reader *r, const struct layout *l)
{
	(void)get_raw(r, NULL, l->size);
	for (const size_t *o = l->strings; *o != END_OF; o++)
		skip_string(r);
	for (const size_t *o = l->strlists; *o != END_OF; o++)
		for (size_t n = get_count(r, sizeof(uint32_t)); n > 0 && !r->err; n--)
			skip_string(r);
	for (const struct array_at *a = l->arrays; a->size; a++)
		(void)get_raw(r, NULL, get_count(r, a->size) * a->size);
}

static void skip_virtual_server(struct reader *r)
{
	skip_object(r, &virtual_server_layout);
	for (const size_t *o = virtual_server_pems; *o != END_OF; o++)
		get_pem_ref(r, NULL);
	for (size_t n = get_count(r, sizeof(struct real_server_conf)); n > 0 && !r->err; n--)
		skip_object(r, &real_server_layout);
}

/* The virtual servers, each kept in order, shown to visit and freed, or
 * (image_vs_skip) only counted. */
static void get_virtual_servers(struct reader *r, struct director_config *c, image_vs_visit visit, void *arg)
{
	struct virtual_server_conf **tail = &c->lvs.services;
	size_t n;

	get_pem_table(r, visit != image_vs_skip);
	n = get_count(r, sizeof(struct virtual_server_conf));

	for (size_t i = 0; i < n && !r->err; i++) {
		struct virtual_server_conf *vs;

		if (visit == image_vs_skip) {
			skip_virtual_server(r);
			c->lvs.nservices += !r->err;
			continue;
		}
		if (!(vs = get_virtual_server(r)))
			break;
		c->lvs.nservices++;
		if (!vs->name && !r->err)
			fail(r, -EBADMSG);
		if (visit) {
			if (!r->err)
				visit(vs, arg);
			virtual_server_conf_free(vs);
			continue;
		}
		*tail = vs;
		tail = &vs->next;
	}
}

static int read_image(struct reader *r, image_vs_visit visit, void *arg, struct director_config **out)
{
	struct image_header h, want;
	struct director_config *c;

	*out = NULL;
	memset(&want, 0, sizeof(want));
	memcpy(want.magic, IMAGE_MAGIC, sizeof(want.magic));
	header_sizes(want.sizes);
	if (!get_raw(r, &h, sizeof(h)) || memcmp(&h, &want, sizeof(h)) != 0)
		return r->err ? r->err : -EBADMSG;
	if (!(c = get_object(r, &global_layout)))
		return r->err;
	GET_LIST(r, struct track_script_conf, c->track_scripts, get_track_script);
	GET_LIST(r, struct track_file_conf, c->track_files, get_track_file);
	GET_LIST(r, struct track_process_conf, c->track_processes, get_track_process);
	GET_LIST(r, struct sync_group_conf, c->sync_groups, get_sync_group);
	GET_LIST(r, struct vrrp_conf, c->instances, get_vrrp);
	get_virtual_servers(r, c, visit, arg);
	free_pem_table(r);
	if (!r->err && (r->left != 0 || !c->path))
		r->err = -EBADMSG;
	if (r->err) {
		director_config_free(c);
		return r->err;
	}
	relink(c);
	*out = c;
	return 0;
}

int director_config_from_image(const void *buf, size_t len, struct director_config **out)
{
	struct reader r = { .p = buf, .avail = len, .left = len, .fd = -1 };

	return read_image(&r, NULL, NULL, out);
}

int director_config_from_image_fd(int fd, image_vs_visit visit, void *arg, struct director_config **out)
{
	struct reader r = { .fd = fd };
	struct stat st;
	int ret;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		return -EBADMSG;
	if (!(r.chunk = malloc(READ_CHUNK)))
		return -ENOMEM;
	r.left = (size_t)st.st_size;
	ret = read_image(&r, visit, arg, out);
	free(r.chunk);
	return ret;
}

/* ---- director.ini for cfgcheck: loaded in the check child, imaged; the
 * parent keeps the image and a configuration without virtual servers ---- */

static int loader_load(const char *path, const char *buf, size_t len, void **cfg, struct ini_diag *diag)
{
	struct director_config *c = NULL;
	int ret = director_config_load_buffer(path, buf, len, &c, diag);

	*cfg = c;
	return ret;
}

static void loader_free(void *cfg)
{
	director_config_free(cfg);
}

static int loader_image(const void *cfg, struct strbuf *out)
{
	return director_config_image(cfg, out);
}

int director_config_parent_view(int fd, struct director_config **out)
{
	return director_config_from_image_fd(fd, image_vs_skip, NULL, out);
}

static int loader_from_image(int fd, void **cfg)
{
	struct director_config *c = NULL;
	int ret = director_config_parent_view(fd, &c);

	*cfg = c;
	return ret;
}

const struct cfgcheck_loader director_config_loader = { loader_load, loader_free, loader_image, loader_from_image };

/* A reload's: the image only (sealed by cfgcheck), no configuration read
 * back. The parent hands the image to the running engines first and reads
 * its own view after, so that its reading is not on the path from SIGHUP
 * to the kernel. */
static int loader_image_only(int fd, void **cfg)
{
	(void)fd;
	*cfg = NULL;
	return 0;
}

const struct cfgcheck_loader director_config_reload_loader = { loader_load, loader_free, loader_image,
							       loader_image_only };
