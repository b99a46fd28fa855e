/* TLS for https health checks, over OpenSSL (see tls.h).
 *
 * OpenSSL keeps its errors in a per-thread queue that every probe of the
 * loop shares, so each step clears it first and reads it right after: one
 * probe's failure is never reported as another's. Its functions are
 * called through tls_openssl.h, loaded by the entry points that start
 * using them: PEM checks and the first client context. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tls.h"
#include "tls_openssl.h"
#include "util.h"

/* The headers' macros (SSL_CTX_set_min_proto_version...) call these. */
#define SSL_CTX_ctrl openssl.SSL_CTX_ctrl
#define SSL_ctrl openssl.SSL_ctrl

/* ---- PEM ---- */

/* The reason of OpenSSL's last error, or what, into err; the queue
 * emptied. */
static int openssl_fail(char *err, size_t size, const char *what)
{
	unsigned long e = openssl.ERR_peek_last_error();
	const char *reason = e ? openssl.ERR_reason_error_string(e) : NULL;

	if (reason)
		snprintf(err, size, "%s: %s", what, reason);
	else
		snprintf(err, size, "%s", what);
	openssl.ERR_clear_error();
	return -EINVAL;
}

static BIO *pem_bio(const char *pem)
{
	return openssl.BIO_new_mem_buf(pem, -1);
}

/* Every certificate of pem, in order: the number read (0 when there is
 * none), or -EINVAL when a PEM block is damaged. each(x509, i, arg)
 * takes a reference of its own if it keeps the certificate. */
typedef int (*cert_fn)(X509 *x, size_t i, void *arg);

static int pem_each_cert(const char *pem, cert_fn each, void *arg, char *err, size_t size)
{
	BIO *bio = pem_bio(pem);
	size_t n = 0;
	X509 *x;

	if (!bio)
		return openssl_fail(err, size, "out of memory");
	openssl.ERR_clear_error();
	while ((x = openssl.PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL))) {
		int ret = each ? each(x, n, arg) : 0;

		openssl.X509_free(x);
		if (ret < 0) {
			openssl.BIO_free(bio);
			return openssl_fail(err, size, "cannot use a certificate");
		}
		n++;
	}
	openssl.BIO_free(bio);
	/* The end of the text is "no start line"; anything else is damage. */
	if (ERR_GET_REASON(openssl.ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		return openssl_fail(err, size, "a damaged PEM certificate");
	openssl.ERR_clear_error();
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* No passphrase prompt, ever: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)arg = true;
	return -1;
}

static EVP_PKEY *pem_key(const char *pem, char *err, size_t size)
{
	BIO *bio = pem_bio(pem);
	bool encrypted = false;
	EVP_PKEY *k;

	if (!bio) {
		openssl_fail(err, size, "out of memory");
		return NULL;
	}
	openssl.ERR_clear_error();
	k = openssl.PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &encrypted);
	openssl.BIO_free(bio);
	if (!k && encrypted) {
		openssl.ERR_clear_error();
		snprintf(err, size, "an encrypted key: give it without a passphrase");
	} else if (!k) {
		/* OpenSSL's reason ("unsupported", "no start line") says less. */
		openssl.ERR_clear_error();
		snprintf(err, size, "no usable PEM private key in it");
	}
	return k;
}

static X509 *pem_first_cert(const char *pem)
{
	BIO *bio = pem_bio(pem);
	X509 *x = bio ? openssl.PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL) : NULL;

	openssl.BIO_free(bio);
	return x;
}

int tls_pem_check(enum tls_pem_kind kind, const char *pem, char *err)
{
	EVP_PKEY *k;
	int n = tls_openssl_load(err, PARSE_ERR_MAX);

	if (n < 0)
		return n;
	if (kind == TLS_PEM_KEY) {
		k = pem_key(pem, err, PARSE_ERR_MAX);
		openssl.EVP_PKEY_free(k);
		return k ? 0 : -EINVAL;
	}
	n = pem_each_cert(pem, NULL, NULL, err, PARSE_ERR_MAX);
	if (n < 0)
		return n;
	if (n == 0) {
		snprintf(err, PARSE_ERR_MAX, "no PEM certificate in it");
		return -EINVAL;
	}
	return 0;
}

int tls_pem_pair_check(const char *cert_pem, const char *key_pem, char *err)
{
	int ret = tls_openssl_load(err, PARSE_ERR_MAX);
	X509 *x;
	EVP_PKEY *k;

	if (ret < 0)
		return ret;
	x = pem_first_cert(cert_pem);
	k = pem_key(key_pem, err, PARSE_ERR_MAX);
	if (!x || !k)
		ret = -EINVAL;
	else if (openssl.X509_check_private_key(x, k) != 1)
		ret = openssl_fail(err, PARSE_ERR_MAX, "the key does not belong to the certificate");
	if (!x && k)
		snprintf(err, PARSE_ERR_MAX, "no PEM certificate");
	openssl.X509_free(x);
	openssl.EVP_PKEY_free(k);
	openssl.ERR_clear_error();
	return ret;
}

/* PEM texts found good lately, by their SHA-256: a configuration that
 * names the system's CA bundle (some 140 certificates, 20 ms to parse) in
 * thousands of services parses it once per load, not once per service.
 * Digests only: no text outlives its configuration. */
#define PEM_GOOD_MAX 8

static struct pem_good {
	unsigned char md[32];
	enum tls_pem_kind kind;
	bool set;
} pem_good[PEM_GOOD_MAX];
static unsigned pem_good_next;
static pthread_mutex_t pem_good_lock = PTHREAD_MUTEX_INITIALIZER;

static bool pem_good_has(enum tls_pem_kind kind, const unsigned char md[32])
{
	bool found = false;

	pthread_mutex_lock(&pem_good_lock);
	for (size_t i = 0; i < PEM_GOOD_MAX && !found; i++)
		found = pem_good[i].set && pem_good[i].kind == kind && memcmp(pem_good[i].md, md, 32) == 0;
	pthread_mutex_unlock(&pem_good_lock);
	return found;
}

static void pem_good_add(enum tls_pem_kind kind, const unsigned char md[32])
{
	struct pem_good *g;

	pthread_mutex_lock(&pem_good_lock);
	g = &pem_good[pem_good_next++ % PEM_GOOD_MAX];
	memcpy(g->md, md, 32);
	g->kind = kind;
	g->set = true;
	pthread_mutex_unlock(&pem_good_lock);
}

static bool shared_good(enum tls_pem_kind kind, const char *pem);

static struct tls_pem_work pem_work;	/* under pem_good_lock */

struct tls_pem_work tls_pem_work(void)
{
	struct tls_pem_work w;

	pthread_mutex_lock(&pem_good_lock);
	w = pem_work;
	pthread_mutex_unlock(&pem_good_lock);
	return w;
}

static void pem_work_count(unsigned long *counter)
{
	pthread_mutex_lock(&pem_good_lock);
	(*counter)++;
	pthread_mutex_unlock(&pem_good_lock);
}

/* tls_pem_check, once for each content: a text a configuration already
 * holds as good is known by comparison (many services naming one CA
 * bundle cost one digest, not one each); else by its digest. */
static int pem_check_once(enum tls_pem_kind kind, const char *pem, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	bool have;
	int ret;

	if (shared_good(kind, pem))
		return 0;
	if ((ret = tls_openssl_load(err, PARSE_ERR_MAX)) < 0)
		return ret;
	pem_work_count(&pem_work.digested);
	have = openssl.EVP_Digest(pem, strlen(pem), md, &n, openssl.EVP_sha256(), NULL) == 1 && n == 32;
	openssl.ERR_clear_error();
	if (have && pem_good_has(kind, md))
		return 0;
	pem_work_count(&pem_work.parsed);
	ret = tls_pem_check(kind, pem, err);
	if (ret == 0 && have)
		pem_good_add(kind, md);
	return ret;
}

/* A PEM text may be a private key: wiped before its memory goes back. */
static void pem_text_wipe_free(char *pem)
{
	if (pem)
		explicit_bzero(pem, strlen(pem));
	free(pem);
}

/* The file a shared text was last read from, known again by its inode,
 * size and times: thousands of keys naming one CA file read it once while
 * a configuration holds its text (tls_pem_file_load). */
struct pem_source {
	bool set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

static bool same_source(const struct pem_source *src, const struct stat *st)
{
	return src->set && src->dev == st->st_dev && src->ino == st->st_ino && src->size == st->st_size &&
	       src->mtime.tv_sec == st->st_mtim.tv_sec && src->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       src->ctime.tv_sec == st->st_ctim.tv_sec && src->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* The file's source, or none when it changed in the last second or two: a
 * file's times move in clock ticks, so a rewrite within the tick of its
 * last change could leave them as they were. */
static struct pem_source source_of(const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (st->st_ctim.tv_sec + 2 > now.tv_sec)
		return (struct pem_source){ .set = false };
	return (struct pem_source){ .set = true, .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
				    .mtime = st->st_mtim, .ctime = st->st_ctim };
}

/* The shared texts (tls.h), few (one per distinct file content): a list.
 * Configurations are loaded on other threads too (config_async.c). */
struct pem_shared {
	char *text;
	size_t len, refs;
	unsigned good;			/* the kinds it was loaded as: 1 << kind */
	struct pem_source src;		/* the file it was last read from */
	struct pem_shared *next;
};

static struct pem_shared *pem_shared;
static pthread_mutex_t pem_shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* The entry whose text is pem (by address), or NULL; *prev its link. With
 * the lock held. */
static struct pem_shared *shared_of(const char *pem, struct pem_shared ***prev)
{
	struct pem_shared **link = &pem_shared;

	for (; *link; link = &(*link)->next)
		if ((*link)->text == pem)
			break;
	if (prev)
		*prev = link;
	return *link;
}

/* The entry of that content, or NULL. With the lock held. */
static struct pem_shared *shared_same(const char *pem, size_t len)
{
	for (struct pem_shared *s = pem_shared; s; s = s->next)
		if (s->len == len && memcmp(s->text, pem, len) == 0)
			return s;
	return NULL;
}

/* Is this content held, and found good as kind when it was loaded? */
static bool shared_good(enum tls_pem_kind kind, const char *pem)
{
	struct pem_shared *s;
	bool good;

	pthread_mutex_lock(&pem_shared_lock);
	s = shared_same(pem, strlen(pem));
	good = s && (s->good & 1u << kind);
	pthread_mutex_unlock(&pem_shared_lock);
	return good;
}

/* pem (shared) was read from the file st and found good as kind. */
static void shared_mark_good(enum tls_pem_kind kind, const char *pem, const struct stat *st)
{
	struct pem_shared *s;

	pthread_mutex_lock(&pem_shared_lock);
	if ((s = shared_of(pem, NULL))) {
		s->good |= 1u << kind;
		s->src = source_of(st);
	}
	pthread_mutex_unlock(&pem_shared_lock);
}

/* The held text read from the file st, unchanged since, found good as
 * kind: a reference to it, or NULL. */
static char *shared_from_file(enum tls_pem_kind kind, const struct stat *st)
{
	struct pem_shared *s;

	pthread_mutex_lock(&pem_shared_lock);
	for (s = pem_shared; s; s = s->next)
		if (same_source(&s->src, st) && (s->good & 1u << kind)) {
			s->refs++;
			break;
		}
	pthread_mutex_unlock(&pem_shared_lock);
	return s ? s->text : NULL;
}

int tls_pem_text_share(char **pem)
{
	size_t len = strlen(*pem);
	struct pem_shared *s;
	char *own = *pem;

	pthread_mutex_lock(&pem_shared_lock);
	if ((s = shared_of(own, NULL))) {		/* already shared: nothing to do */
		pthread_mutex_unlock(&pem_shared_lock);
		return 0;
	}
	if ((s = shared_same(own, len))) {
		s->refs++;
		*pem = s->text;
	} else if ((s = malloc(sizeof(*s)))) {
		*s = (struct pem_shared){ .text = own, .len = len, .refs = 1, .next = pem_shared };
		pem_shared = s;
		own = NULL;
	}
	pthread_mutex_unlock(&pem_shared_lock);
	if (!s)
		return -ENOMEM;
	pem_text_wipe_free(own);
	return 0;
}

char *tls_pem_text_ref(const char *pem)
{
	struct pem_shared *s;

	if (!pem)
		return NULL;
	pthread_mutex_lock(&pem_shared_lock);
	if ((s = shared_of(pem, NULL)))
		s->refs++;
	pthread_mutex_unlock(&pem_shared_lock);
	return s ? (char *)pem : strdup(pem);
}

void tls_pem_text_free(char *pem)
{
	struct pem_shared *s, **link;
	bool held;

	if (!pem)
		return;
	pthread_mutex_lock(&pem_shared_lock);
	s = shared_of(pem, &link);
	held = s && --s->refs > 0;
	if (s && !held)
		*link = s->next;
	pthread_mutex_unlock(&pem_shared_lock);
	if (held)
		return;
	free(s);
	pem_text_wipe_free(pem);
}

/* The first len bytes of buf, in an allocation of their own (never
 * realloc, which may leave a key's copy in freed memory); buf wiped and
 * freed. NULL when out of memory (buf still wiped). */
static char *pem_text_shrink(char *buf, size_t size, size_t len)
{
	char *p;

	len = strnlen(buf, len);	/* what the parsers read of it */
	if ((p = malloc(len + 1))) {
		memcpy(p, buf, len);
		p[len] = '\0';
	}
	explicit_bzero(buf, size);
	free(buf);
	return p;
}

static int pem_read_error(int ret, char *err)
{
	if (ret == -EFBIG)
		snprintf(err, PARSE_ERR_MAX, "larger than %d KiB", TLS_PEM_MAX / 1024);
	else if (ret == -EINVAL)
		snprintf(err, PARSE_ERR_MAX, "not a regular file");
	else if (ret == -ENOMEM)
		snprintf(err, PARSE_ERR_MAX, "out of memory");
	else
		snprintf(err, PARSE_ERR_MAX, "cannot read: %s", strerror(-ret));
	return ret;
}

/* fd's whole text (at most TLS_PEM_MAX bytes), of its own; fd closed. */
static int pem_text_read(int fd, char **text, char *err)
{
	char *buf = malloc(TLS_PEM_MAX + 2);
	size_t len = 0;
	int ret;

	pem_work_count(&pem_work.read);
	if (!buf) {
		close(fd);
		return pem_read_error(-ENOMEM, err);
	}
	ret = read_close(fd, buf, TLS_PEM_MAX + 2, &len);
	if (ret == 0 && len > TLS_PEM_MAX)
		ret = -EFBIG;
	if (ret < 0) {
		explicit_bzero(buf, TLS_PEM_MAX + 2);
		free(buf);
		return pem_read_error(ret, err);
	}
	/* Only the len bytes read can hold the file's text. */
	if (!(*text = pem_text_shrink(buf, len, len)))
		return pem_read_error(-ENOMEM, err);
	return 0;
}

/* tls_pem_file_load; shared, the text is a shared one, known without
 * reading when its file is held unchanged (the config key types). */
static int pem_file_load(enum tls_pem_kind kind, const char *path, bool shared, struct tls_pem_file *out,
			 char *err)
{
	char why[PARSE_ERR_MAX - 32], *text = NULL;
	struct stat st;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	if (path[0] != '/') {
		snprintf(err, PARSE_ERR_MAX, "an absolute path");
		return -EINVAL;
	}
	/* Files only root (or we) can change: nobody else decides whom a
	 * check trusts or which key it shows. */
	ret = file_check_private(path, why, sizeof(why));
	if (ret < 0) {
		snprintf(err, PARSE_ERR_MAX, "%s", why);
		return ret;
	}
	/* Opened whatever is held: whether we may read it is decided now. */
	if ((fd = open_typed(path, O_RDONLY, S_IFREG)) < 0)
		return pem_read_error(fd, err);
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return pem_read_error(ret, err);
	}
	if (shared && (text = shared_from_file(kind, &st))) {
		close(fd);
	} else {
		if ((ret = pem_text_read(fd, &text, err)) < 0)
			return ret;
		if ((ret = pem_check_once(kind, text, err)) < 0) {
			pem_text_wipe_free(text);
			return ret;
		}
		/* Out of memory to share it, the text stays its own: still right. */
		if (shared && tls_pem_text_share(&text) == 0)
			shared_mark_good(kind, text, &st);
	}
	if (!(out->path = strdup(path))) {
		tls_pem_text_free(text);
		return pem_read_error(-ENOMEM, err);
	}
	out->pem = text;
	return 0;
}

int tls_pem_file_load(enum tls_pem_kind kind, const char *path, struct tls_pem_file *out, char *err)
{
	return pem_file_load(kind, path, false, out, err);
}

void tls_pem_file_free(struct tls_pem_file *f)
{
	free(f->path);
	tls_pem_text_free(f->pem);
	f->path = f->pem = NULL;
}

/* ---- the config key types ---- */

static int pem_file_parse(enum tls_pem_kind kind, const char *value, void *field, char *err)
{
	struct tls_pem_file fresh;
	int ret = pem_file_load(kind, value, true, &fresh, err);

	if (ret < 0)
		return ret;
	tls_pem_file_free(field);
	*(struct tls_pem_file *)field = fresh;
	return 0;
}

static int ca_file_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return pem_file_parse(TLS_PEM_CA, value, field, err);
}

static int cert_file_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return pem_file_parse(TLS_PEM_CERT, value, field, err);
}

static int key_file_parse(const struct ini_key *key, const char *value, void *field, char *err)
{
	(void)key;
	return pem_file_parse(TLS_PEM_KEY, value, field, err);
}

static void pem_file_print(const struct ini_key *key, const void *field, struct strbuf *out)
{
	const struct tls_pem_file *f = field;

	(void)key;
	if (f->path)
		sb_append(out, f->path);
}

static void pem_file_release(void *field)
{
	tls_pem_file_free(field);
}

static bool pem_file_equal(const void *a, const void *b)
{
	const struct tls_pem_file *x = a, *y = b;

	return ini_string_equal(&x->path, &y->path) && ini_string_equal(&x->pem, &y->pem);
}

const struct ini_type tls_ca_file_type = {
	.name = "CA file", .parse = ca_file_parse, .print = pem_file_print, .free = pem_file_release,
	.equal = pem_file_equal,
};
const struct ini_type tls_cert_file_type = {
	.name = "certificate file", .parse = cert_file_parse, .print = pem_file_print, .free = pem_file_release,
	.equal = pem_file_equal,
};
const struct ini_type tls_key_file_type = {
	.name = "key file", .parse = key_file_parse, .print = pem_file_print, .free = pem_file_release,
	.equal = pem_file_equal,
};

bool tls_host_name(const char *host, char *buf, size_t size)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *end, *colon;
	size_t n;

	if (host[0] == '[') {
		host++;
		end = strchr(host, ']');
		n = end ? (size_t)(end - host) : strlen(host);
	} else {
		colon = strrchr(host, ':');
		/* One colon: a port after a name or IPv4 address. */
		n = colon && colon == strchr(host, ':') ? (size_t)(colon - host) : strlen(host);
	}
	if (n >= size)
		n = size - 1;
	memcpy(buf, host, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 || inet_pton(AF_INET6, buf, &a6) == 1;
}

/* ---- shared client contexts ---- */

struct tls_client {
	SSL_CTX *ctx;
	char *ca, *cert, *key;		/* what it was made of: the cache's key */
	bool verify;
	unsigned refs;
	struct tls_client *next;
};

/* Contexts in use, by content. The loop's thread only. */
static struct tls_client *clients;

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int store_add(X509 *x, size_t i, void *arg)
{
	(void)i;
	return openssl.X509_STORE_add_cert(arg, x) == 1 ? 0 : -1;
}

static int chain_add(X509 *x, size_t i, void *arg)
{
	SSL_CTX *ctx = arg;

	if (i == 0)
		return openssl.SSL_CTX_use_certificate(ctx, x) == 1 ? 0 : -1;
	return SSL_CTX_add1_chain_cert(ctx, x) == 1 ? 0 : -1;
}

static int ctx_identity(SSL_CTX *ctx, const char *cert_pem, const char *key_pem)
{
	char err[PARSE_ERR_MAX];
	EVP_PKEY *k;
	int ok;

	if (pem_each_cert(cert_pem, chain_add, ctx, err, sizeof(err)) <= 0)
		return -EINVAL;
	k = pem_key(key_pem, err, sizeof(err));
	if (!k)
		return -EINVAL;
	ok = openssl.SSL_CTX_use_PrivateKey(ctx, k) == 1 && openssl.SSL_CTX_check_private_key(ctx) == 1;
	openssl.EVP_PKEY_free(k);
	return ok ? 0 : -EINVAL;
}

static SSL_CTX *ctx_new(const char *ca_pem, const char *cert_pem, const char *key_pem)
{
	SSL_CTX *ctx = openssl.SSL_CTX_new(openssl.TLS_client_method());
	char err[PARSE_ERR_MAX];

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A server that closes without close_notify after its answer has
	 * still answered: the answer is judged as it is. */
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	openssl.SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	openssl.SSL_CTX_set_verify(ctx, ca_pem ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if ((ca_pem && pem_each_cert(ca_pem, store_add, openssl.SSL_CTX_get_cert_store(ctx), err, sizeof(err)) <= 0) ||
	    ((cert_pem || key_pem) && (!cert_pem || !key_pem || ctx_identity(ctx, cert_pem, key_pem) < 0))) {
		openssl.SSL_CTX_free(ctx);
		openssl.ERR_clear_error();
		return NULL;
	}
	return ctx;
}

/* The cache's own reference: the same text when it is shared. */
static char *dup_or_null(const char *s, bool *oom)
{
	char *d = tls_pem_text_ref(s);

	if (s && !d)
		*oom = true;
	return d;
}

static void client_free(struct tls_client *c)
{
	openssl.SSL_CTX_free(c->ctx);
	tls_pem_text_free(c->ca);
	tls_pem_text_free(c->cert);
	tls_pem_text_free(c->key);
	free(c);
}

int tls_client_get(const char *ca_pem, const char *cert_pem, const char *key_pem, struct tls_client **out)
{
	char why[PARSE_ERR_MAX];
	struct tls_client *c;
	bool oom = false;

	*out = NULL;
	if (tls_openssl_load(why, sizeof(why)) < 0)
		return -ELIBACC;
	for (c = clients; c; c = c->next) {
		if (same_text(c->ca, ca_pem) && same_text(c->cert, cert_pem) && same_text(c->key, key_pem)) {
			c->refs++;
			*out = c;
			return 0;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ca = dup_or_null(ca_pem, &oom);
	c->cert = dup_or_null(cert_pem, &oom);
	c->key = dup_or_null(key_pem, &oom);
	c->verify = ca_pem != NULL;
	c->ctx = oom ? NULL : ctx_new(ca_pem, cert_pem, key_pem);
	if (!c->ctx) {
		client_free(c);
		return oom ? -ENOMEM : -EINVAL;
	}
	c->refs = 1;
	c->next = clients;
	clients = c;
	*out = c;
	return 0;
}

struct tls_client *tls_client_ref(struct tls_client *c)
{
	c->refs++;
	return c;
}

void tls_client_put(struct tls_client *c)
{
	struct tls_client **pp;

	if (!c || --c->refs > 0)
		return;
	for (pp = &clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	client_free(c);
}

/* ---- connections ---- */

struct tls_conn {
	SSL *ssl;
	bool verify;
};

/* What to verify the certificate against: the name of host, else the
 * address. */
static int conn_expect(SSL *ssl, const char *name, bool is_ip, const struct ipaddr *addr)
{
	X509_VERIFY_PARAM *param = openssl.SSL_get0_param(ssl);
	char abuf[INET6_ADDRSTRLEN];

	openssl.X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (name[0] && !is_ip)
		return openssl.SSL_set1_host(ssl, name) == 1 ? 0 : -EINVAL;
	if (!name[0])
		name = ipaddr_ntop(addr, abuf, sizeof(abuf));
	return openssl.X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 ? 0 : -EINVAL;
}

int tls_conn_new(struct tls_client *c, int fd, const char *host, const struct ipaddr *addr, struct tls_conn **out)
{
	char name[TLS_NAME_MAX + 2] = "";
	struct tls_conn *t;
	bool is_ip = false;
	int ret = 0;

	*out = NULL;
	if (host && host[0])
		is_ip = tls_host_name(host, name, sizeof(name));
	/* Cut to fit, it would be another name: sent as SNI and matched
	 * against the certificate, a certificate for the cut name would do. */
	if (strlen(name) > TLS_NAME_MAX)
		return -ENAMETOOLONG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	openssl.ERR_clear_error();
	t->ssl = openssl.SSL_new(c->ctx);
	t->verify = c->verify;
	if (!t->ssl || openssl.SSL_set_fd(t->ssl, fd) != 1)
		ret = -ENOMEM;
	/* SNI names a host by name, never by address (RFC 6066, 3). */
	if (ret == 0 && name[0] && !is_ip && SSL_set_tlsext_host_name(t->ssl, name) != 1)
		ret = -EINVAL;
	if (ret == 0 && c->verify)
		ret = conn_expect(t->ssl, name, is_ip, addr);
	if (ret < 0) {
		openssl.ERR_clear_error();
		tls_conn_free(t);
		return ret;
	}
	openssl.SSL_set_connect_state(t->ssl);
	*out = t;
	return 0;
}

/* What SSL_get_error says of a step that did not finish, with why. */
static enum tls_step step_fail(struct tls_conn *t, int r, const char *what, bool eof_ends, char *why, size_t size)
{
	int saved = errno, e = openssl.SSL_get_error(t->ssl, r);
	long vr;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		/* The peer's close_notify: after an answer, its end; in a
		 * handshake or a request (an alert instead of ServerHello),
		 * a failure, and why always says so. */
		openssl.ERR_clear_error();
		snprintf(why, size, "%s: closed by the peer", what);
		return eof_ends ? TLS_CLOSED : TLS_FAILED;
	default:
		break;
	}
	vr = openssl.SSL_get_verify_result(t->ssl);
	if (t->verify && vr != X509_V_OK) {
		snprintf(why, size, "%s: certificate: %s", what, openssl.X509_verify_cert_error_string(vr));
		openssl.ERR_clear_error();
	} else if (e == SSL_ERROR_SYSCALL && openssl.ERR_peek_error() == 0) {
		/* A close without close_notify, after an answer: an end. */
		if (eof_ends && saved == 0)
			return TLS_CLOSED;
		snprintf(why, size, "%s: %s", what, saved ? strerror(saved) : "connection closed");
	} else {
		openssl_fail(why, size, what);
	}
	return TLS_FAILED;
}

enum tls_step tls_conn_handshake(struct tls_conn *t, char *why, size_t size)
{
	int r;

	openssl.ERR_clear_error();
	errno = 0;
	r = openssl.SSL_do_handshake(t->ssl);
	if (r == 1)
		return TLS_DONE;
	return step_fail(t, r, "TLS handshake", false, why, size);
}

enum tls_step tls_conn_write(struct tls_conn *t, const void *buf, size_t len, size_t *n, char *why, size_t size)
{
	int r;

	*n = 0;
	openssl.ERR_clear_error();
	errno = 0;
	r = openssl.SSL_write_ex(t->ssl, buf, len, n);
	if (r == 1)
		return TLS_DONE;
	return step_fail(t, r, "TLS write", false, why, size);
}

enum tls_step tls_conn_read(struct tls_conn *t, void *buf, size_t len, size_t *n, char *why, size_t size)
{
	int r;

	*n = 0;
	openssl.ERR_clear_error();
	errno = 0;
	r = openssl.SSL_read_ex(t->ssl, buf, len, n);
	if (r == 1)
		return TLS_DONE;
	return step_fail(t, r, "TLS read", true, why, size);
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	openssl.SSL_free(t->ssl);
	free(t);
}
