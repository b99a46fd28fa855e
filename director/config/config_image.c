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
 * trusts one from the image. The header carries the sizes of the structs,
 * so an image from another build is refused, not misread. A struct that
 * gains a pointer must gain it in *_clear() and in both walks below:
 * tests/unit/test_config_image.c round-trips a file that sets every key.
 *
 * Reading checks every length against what is left, so a damaged image is
 * -EBADMSG, never a crash (tests/fuzz/fuzz_config_image.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define IMAGE_MAGIC	"dsrkcfg1"
#define NO_STRING	UINT32_MAX

struct image_header {
	char magic[8];
	uint32_t sizes[10];	/* sizeof of each struct below, in this order */
};

static void header_sizes(uint32_t sizes[10])
{
	const size_t s[10] = {
		sizeof(struct director_config), sizeof(struct track_script_conf), sizeof(struct track_file_conf),
		sizeof(struct sync_group_conf), sizeof(struct vrrp_conf), sizeof(struct virtual_server_conf),
		sizeof(struct real_server_conf), sizeof(struct vip_conf), sizeof(struct route_conf),
		sizeof(struct track_ref),
	};

	for (size_t i = 0; i < 10; i++)
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

static void put_global(struct strbuf *out, const struct director_config *c)
{
	put_raw(out, c, sizeof(*c));
	put_string(out, c->router_id);
	put_string(out, c->user);
	put_string(out, c->control_socket);
	put_string(out, c->control_group);
	put_string(out, c->notify_fifo);
	put_string(out, c->path);
	put_string(out, c->lvs.sync.interface);
	put_string(out, c->lvs.sync.follow);
}

static void put_track_script(struct strbuf *out, const struct track_script_conf *t)
{
	put_raw(out, t, sizeof(*t));
	put_string(out, t->name);
	put_string(out, t->command);
}

static void put_track_file(struct strbuf *out, const struct track_file_conf *t)
{
	put_raw(out, t, sizeof(*t));
	put_string(out, t->name);
	put_string(out, t->path);
}

static void put_sync_group(struct strbuf *out, const struct sync_group_conf *g)
{
	put_raw(out, g, sizeof(*g));
	put_string(out, g->name);
	put_strlist(out, &g->instances);
	put_string(out, g->notify);
	put_string(out, g->notify_master);
	put_string(out, g->notify_backup);
	put_string(out, g->notify_fault);
}

static void put_vrrp(struct strbuf *out, const struct vrrp_conf *v)
{
	put_raw(out, v, sizeof(*v));
	put_string(out, v->name);
	put_string(out, v->interface);
	put_array(out, v->vips.items, v->vips.n, sizeof(*v->vips.items));
	put_array(out, v->routes.items, v->routes.n, sizeof(*v->routes.items));
	put_array(out, v->unicast_peers.items, v->unicast_peers.n, sizeof(*v->unicast_peers.items));
	put_string(out, v->auth_pass);
	put_array(out, v->track_scripts.items, v->track_scripts.n, sizeof(*v->track_scripts.items));
	put_array(out, v->track_interfaces.items, v->track_interfaces.n, sizeof(*v->track_interfaces.items));
	put_array(out, v->track_files.items, v->track_files.n, sizeof(*v->track_files.items));
	put_string(out, v->notify);
	put_string(out, v->notify_master);
	put_string(out, v->notify_backup);
	put_string(out, v->notify_fault);
	put_string(out, v->notify_stop);
}

static void put_real_server(struct strbuf *out, const struct real_server_conf *rs)
{
	put_raw(out, rs, sizeof(*rs));
	put_string(out, rs->check.path);
	put_string(out, rs->check.host);
	put_string(out, rs->check.command);
}

static void put_virtual_server(struct strbuf *out, const struct virtual_server_conf *vs)
{
	put_raw(out, vs, sizeof(*vs));
	put_string(out, vs->name);
	put_string(out, vs->scheduler);
	put_string(out, vs->vrrp);
	put_string(out, vs->check_path);
	put_string(out, vs->check_host);
	put_string(out, vs->check_body);
	put_string(out, vs->check_command);
	put_u32(out, (uint32_t)vs->real_servers.n);
	for (size_t i = 0; i < vs->real_servers.n; i++)
		put_real_server(out, &vs->real_servers.items[i]);
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

int director_config_image(const struct director_config *cfg, struct strbuf *out)
{
	struct image_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	header_sizes(h.sizes);
	put_raw(out, &h, sizeof(h));
	put_global(out, cfg);
	PUT_LIST(out, struct track_script_conf, cfg->track_scripts, put_track_script);
	PUT_LIST(out, struct track_file_conf, cfg->track_files, put_track_file);
	PUT_LIST(out, struct sync_group_conf, cfg->sync_groups, put_sync_group);
	PUT_LIST(out, struct vrrp_conf, cfg->instances, put_vrrp);
	PUT_LIST(out, struct virtual_server_conf, cfg->lvs.services, put_virtual_server);
	return out->failed ? -ENOMEM : 0;
}

/* ---- reading ---- */

struct reader {
	const uint8_t *p;
	size_t left;
	int err;		/* the first failure: -EBADMSG or -ENOMEM */
};

static void fail(struct reader *r, int err)
{
	if (!r->err)
		r->err = err;
	r->left = 0;
}

static bool get_raw(struct reader *r, void *dst, size_t size)
{
	if (r->err || size > r->left) {
		fail(r, -EBADMSG);
		return false;
	}
	memcpy(dst, r->p, size);
	r->p += size;
	r->left -= size;
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
	(void)get_raw(r, s, n);
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

/* The pointers of a struct just read, which point into another process:
 * cleared before anything can free the struct. */
static void global_clear(struct director_config *c)
{
	c->router_id = c->user = c->control_socket = c->control_group = c->notify_fifo = c->path = NULL;
	c->track_scripts = NULL;
	c->track_files = NULL;
	c->sync_groups = NULL;
	c->instances = NULL;
	c->lvs.services = c->lvs.last = NULL;
	c->lvs.sync.interface = c->lvs.sync.follow = NULL;
}

static void track_script_clear(struct track_script_conf *t)
{
	t->name = t->command = NULL;
	t->next = NULL;
}

static void track_file_clear(struct track_file_conf *t)
{
	t->name = t->path = NULL;
	t->next = NULL;
}

static void sync_group_clear(struct sync_group_conf *g)
{
	g->name = g->notify = g->notify_master = g->notify_backup = g->notify_fault = NULL;
	g->instances.items = NULL;
	g->instances.n = 0;
	g->next = NULL;
}

static void vrrp_clear(struct vrrp_conf *v)
{
	v->name = v->interface = v->auth_pass = NULL;
	v->notify = v->notify_master = v->notify_backup = v->notify_fault = v->notify_stop = NULL;
	memset(&v->vips, 0, sizeof(v->vips));
	memset(&v->routes, 0, sizeof(v->routes));
	memset(&v->unicast_peers, 0, sizeof(v->unicast_peers));
	memset(&v->track_scripts, 0, sizeof(v->track_scripts));
	memset(&v->track_interfaces, 0, sizeof(v->track_interfaces));
	memset(&v->track_files, 0, sizeof(v->track_files));
	v->group = NULL;
	v->next = NULL;
}

static void real_server_clear(struct real_server_conf *rs)
{
	rs->check.path = rs->check.host = rs->check.command = NULL;
}

static void virtual_server_clear(struct virtual_server_conf *vs)
{
	vs->name = vs->scheduler = vs->vrrp = NULL;
	vs->check_path = vs->check_host = vs->check_body = vs->check_command = NULL;
	memset(&vs->real_servers, 0, sizeof(vs->real_servers));
	vs->unchanged = NULL;
	vs->next = NULL;
}

/* A struct's own bytes, its pointers cleared; NULL on failure. */
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

static struct track_script_conf *get_track_script(struct reader *r)
{
	struct track_script_conf *t = get_struct(r, sizeof(*t));

	if (!t)
		return NULL;
	track_script_clear(t);
	t->name = get_string(r);
	t->command = get_string(r);
	return t;
}

static struct track_file_conf *get_track_file(struct reader *r)
{
	struct track_file_conf *t = get_struct(r, sizeof(*t));

	if (!t)
		return NULL;
	track_file_clear(t);
	t->name = get_string(r);
	t->path = get_string(r);
	return t;
}

static struct sync_group_conf *get_sync_group(struct reader *r)
{
	struct sync_group_conf *g = get_struct(r, sizeof(*g));

	if (!g)
		return NULL;
	sync_group_clear(g);
	g->name = get_string(r);
	get_strlist(r, &g->instances);
	g->notify = get_string(r);
	g->notify_master = get_string(r);
	g->notify_backup = get_string(r);
	g->notify_fault = get_string(r);
	return g;
}

static struct vrrp_conf *get_vrrp(struct reader *r)
{
	struct vrrp_conf *v = get_struct(r, sizeof(*v));

	if (!v)
		return NULL;
	vrrp_clear(v);
	v->name = get_string(r);
	v->interface = get_string(r);
	v->vips.items = get_array(r, sizeof(*v->vips.items), &v->vips.n);
	v->routes.items = get_array(r, sizeof(*v->routes.items), &v->routes.n);
	v->unicast_peers.items = get_array(r, sizeof(*v->unicast_peers.items), &v->unicast_peers.n);
	v->auth_pass = get_string(r);
	v->track_scripts.items = get_array(r, sizeof(*v->track_scripts.items), &v->track_scripts.n);
	v->track_interfaces.items = get_array(r, sizeof(*v->track_interfaces.items), &v->track_interfaces.n);
	v->track_files.items = get_array(r, sizeof(*v->track_files.items), &v->track_files.n);
	v->notify = get_string(r);
	v->notify_master = get_string(r);
	v->notify_backup = get_string(r);
	v->notify_fault = get_string(r);
	v->notify_stop = get_string(r);
	return v;
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
		real_server_clear(rs);
		list->n++;
		rs->check.path = get_string(r);
		rs->check.host = get_string(r);
		rs->check.command = get_string(r);
	}
}

static struct virtual_server_conf *get_virtual_server(struct reader *r)
{
	struct virtual_server_conf *vs = get_struct(r, sizeof(*vs));

	if (!vs)
		return NULL;
	virtual_server_clear(vs);
	vs->name = get_string(r);
	vs->scheduler = get_string(r);
	vs->vrrp = get_string(r);
	vs->check_path = get_string(r);
	vs->check_host = get_string(r);
	vs->check_body = get_string(r);
	vs->check_command = get_string(r);
	get_real_servers(r, &vs->real_servers);
	return vs;
}

/* Each list in order, through a tail pointer; a member without its name
 * is a damaged image. *count (when given) is the length. */
#define GET_LIST(r, type, head, get, count) do { \
	size_t n_ = get_count((r), sizeof(type)); \
	type **tail_ = &(head); \
	for (size_t i_ = 0; i_ < n_ && !(r)->err; i_++) { \
		type *m_ = get((r)); \
		if (!m_) \
			break; \
		*tail_ = m_; \
		tail_ = &m_->next; \
		if (count) \
			(*(size_t *)(count))++; \
		if (!m_->name && !(r)->err) \
			fail((r), -EBADMSG); \
	} \
} while (0)

/* What validation set that points within the configuration. */
static void relink(struct director_config *c)
{
	for (struct sync_group_conf *g = c->sync_groups; g; g = g->next)
		for (size_t i = 0; i < g->instances.n; i++) {
			struct vrrp_conf *v = director_config_instance(c, g->instances.items[i]);

			if (v)
				v->group = g;
		}
	for (struct virtual_server_conf *vs = c->lvs.services; vs; vs = vs->next)
		c->lvs.last = vs;
}

int director_config_from_image(const void *buf, size_t len, struct director_config **out)
{
	struct reader r = { .p = buf, .left = len, .err = 0 };
	struct image_header h, want;
	struct director_config *c;

	*out = NULL;
	memset(&want, 0, sizeof(want));
	memcpy(want.magic, IMAGE_MAGIC, sizeof(want.magic));
	header_sizes(want.sizes);
	if (!get_raw(&r, &h, sizeof(h)) || memcmp(&h, &want, sizeof(h)) != 0)
		return -EBADMSG;
	if (!(c = get_struct(&r, sizeof(*c))))
		return r.err;
	global_clear(c);
	c->ninstances = c->lvs.nservices = 0;
	c->router_id = get_string(&r);
	c->user = get_string(&r);
	c->control_socket = get_string(&r);
	c->control_group = get_string(&r);
	c->notify_fifo = get_string(&r);
	c->path = get_string(&r);
	c->lvs.sync.interface = get_string(&r);
	c->lvs.sync.follow = get_string(&r);
	GET_LIST(&r, struct track_script_conf, c->track_scripts, get_track_script, NULL);
	GET_LIST(&r, struct track_file_conf, c->track_files, get_track_file, NULL);
	GET_LIST(&r, struct sync_group_conf, c->sync_groups, get_sync_group, NULL);
	GET_LIST(&r, struct vrrp_conf, c->instances, get_vrrp, &c->ninstances);
	GET_LIST(&r, struct virtual_server_conf, c->lvs.services, get_virtual_server, &c->lvs.nservices);
	if (!r.err && (r.left != 0 || !c->path))
		r.err = -EBADMSG;
	if (r.err) {
		director_config_free(c);
		return r.err;
	}
	relink(c);
	*out = c;
	return 0;
}
