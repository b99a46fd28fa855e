/* The daemon's answer to `doctor` (proto.h, DIR_STATUS_DOCTOR) read into
 * struct doc_targets. It comes from a root-owned socket, but it is still
 * bytes from another process: every word is length-checked and parsed,
 * and a line that is not understood is an error with its number
 * (tests/fuzz/fuzz_doctor_targets.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

/* An instance's VIPs at most: VRRP's 8-bit address count, director.ini's
 * limit (DIR_MAX_VIPS_PER_INSTANCE). A vrrp line has them and 5 words. */
#define VIPS_MAX 255
#define WORDS_MAX (5 + VIPS_MAX)

struct line {
	char *w[WORDS_MAX];
	size_t n;
};

/* Split s in place on single blanks; false when there are too many. */
static bool split(char *s, struct line *l)
{
	l->n = 0;
	while (*s) {
		if (l->n == WORDS_MAX)
			return false;
		l->w[l->n++] = s;
		s += strcspn(s, " ");
		if (*s)
			*s++ = '\0';
	}
	return true;
}

static bool copy_word(char *dst, size_t size, const char *w)
{
	if (!*w || strlen(w) >= size)
		return false;
	strlcpy_safe(dst, w, size);
	return true;
}

static bool parse_port(const char *s, uint16_t *out)
{
	long long v;
	char err[PARSE_ERR_MAX];

	if (parse_int_range(s, 0, 65535, &v, err) < 0)
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool parse_host(const char *s, struct ipaddr *a)
{
	char err[PARSE_ERR_MAX];

	return parse_ipaddr(s, a, err) == 0 && !a->has_prefix;
}

static int grow(void **items, size_t n, size_t size)
{
	void *p = realloc(*items, (n + 1) * size);

	if (!p)
		return -ENOMEM;
	*items = p;
	memset((char *)p + n * size, 0, size);
	return 0;
}

static const char *vrrp_line(struct doc_targets *t, const struct line *l)
{
	struct doc_vrrp *v;
	uint16_t vrid;

	if (l->n < 5)
		return "vrrp: too few words";
	if (grow((void **)&t->vrrp, t->nvrrp, sizeof(*t->vrrp)) < 0)
		return NULL;
	v = &t->vrrp[t->nvrrp++];
	if (!copy_word(v->name, sizeof(v->name), l->w[1]) || !copy_word(v->ifname, sizeof(v->ifname), l->w[2]) ||
	    !parse_port(l->w[3], &vrid) || vrid < 1 || vrid > 255 || !copy_word(v->state, sizeof(v->state), l->w[4]))
		return "vrrp: bad name, interface, vrid or state";
	v->vrid = vrid;
	if (!(v->vips = calloc(l->n - 5 + 1, sizeof(*v->vips))))
		return NULL;
	for (size_t i = 5; i < l->n; i++)
		if (!parse_host(l->w[i], &v->vips[v->nvips++]))
			return "vrrp: bad address";
	return "";
}

static const char *vs_line(struct doc_targets *t, const struct line *l)
{
	struct doc_vs *v;

	if (l->n != 5)
		return "vs: expected 5 words";
	if (grow((void **)&t->vs, t->nvs, sizeof(*t->vs)) < 0)
		return NULL;
	v = &t->vs[t->nvs++];
	if (!copy_word(v->name, sizeof(v->name), l->w[1]) || (strcmp(l->w[2], "tcp") && strcmp(l->w[2], "udp") &&
	    strcmp(l->w[2], "sctp")))
		return "vs: bad name or protocol";
	strlcpy_safe(v->proto, l->w[2], sizeof(v->proto));
	v->fwmark = strcmp(l->w[3], "-") == 0;
	if ((!v->fwmark && !parse_host(l->w[3], &v->vip)) || !parse_port(l->w[4], &v->port))
		return "vs: bad address or port";
	return "";
}

static const char *rs_line(struct doc_targets *t, const struct line *l)
{
	static const char *const methods[] = { [DOC_DR] = "dr", [DOC_NAT] = "nat", [DOC_TUN] = "tun" };
	struct doc_vs *v = t->nvs ? &t->vs[t->nvs - 1] : NULL;
	struct doc_rs *r;

	if (!v)
		return "rs: before any vs";
	if (l->n != 5)
		return "rs: expected 5 words";
	if (grow((void **)&v->rs, v->nrs, sizeof(*v->rs)) < 0)
		return NULL;
	r = &v->rs[v->nrs++];
	if (!parse_host(l->w[1], &r->addr) || !parse_port(l->w[2], &r->port) || !parse_port(l->w[4], &r->agent_port))
		return "rs: bad address or port";
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(l->w[3], methods[i]) == 0) {
			r->method = (enum doc_method)i;
			return "";
		}
	return "rs: bad method";
}

static const char *trap_line(struct doc_targets *t, const char *text)
{
	if (grow((void **)&t->traps, t->ntraps, sizeof(*t->traps)) < 0 || !(t->traps[t->ntraps] = strdup(text)))
		return NULL;
	t->ntraps++;
	return "";
}

/* "" when the line was read, the reason when not, NULL out of memory. */
static const char *one_line(struct doc_targets *t, char *s)
{
	struct line l;

	for (char *c = s; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			return "control character";
	if (strncmp(s, "trap ", 5) == 0)
		return trap_line(t, s + 5);
	if (!split(s, &l))
		return "too many words";
	if (l.n == 0)
		return "";
	if (strcmp(l.w[0], "vrrp") == 0)
		return vrrp_line(t, &l);
	if (strcmp(l.w[0], "vs") == 0)
		return vs_line(t, &l);
	if (strcmp(l.w[0], "rs") == 0)
		return rs_line(t, &l);
	return "";		/* a later daemon's: not ours */
}

int doc_targets_parse(const char *text, size_t len, struct doc_targets *out, char *err, size_t errsize)
{
	char *copy = malloc(len + 1), *s, *nl;
	const char *why = "";
	unsigned lineno = 0;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len) {
		free(copy);
		snprintf(err, errsize, "a NUL byte in the answer");
		return -EINVAL;
	}
	for (s = copy; *s && why && !*why; s = nl) {
		lineno++;
		nl = s + strcspn(s, "\n");
		if (*nl)
			*nl++ = '\0';
		why = one_line(out, s);
	}
	free(copy);
	if (why && !*why)
		return 0;
	if (why)
		snprintf(err, errsize, "line %u: %s", lineno, why);
	else
		snprintf(err, errsize, "out of memory");
	doc_targets_free(out);
	return why ? -EINVAL : -ENOMEM;
}

void doc_targets_free(struct doc_targets *t)
{
	for (size_t i = 0; i < t->nvrrp; i++)
		free(t->vrrp[i].vips);
	for (size_t i = 0; i < t->nvs; i++)
		free(t->vs[i].rs);
	for (size_t i = 0; i < t->ntraps; i++)
		free(t->traps[i]);
	free(t->vrrp);
	free(t->vs);
	free(t->traps);
	memset(t, 0, sizeof(*t));
}
