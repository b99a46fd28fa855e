/* TLS for the https health checks of both daemons, over OpenSSL.
 *
 * Two halves. At configuration load, the PEM files a check names (a CA
 * file, a client certificate and its key) are read and checked, and their
 * contents kept beside their paths: the director ships the contents to its
 * engines in the configuration image (which run unprivileged and never read
 * files), and both daemons build their TLS contexts from memory. On the
 * event loop, a connection's handshake, writes and reads are non-blocking
 * steps that say which way the socket must become ready before the next
 * one; nothing here ever waits.
 *
 * Contexts are shared: the caller makes one per configured check (a
 * virtual server, an rs-agent check) and every probe of it holds a
 * reference, so thousands of real servers of one service cost one context
 * and one CA store, not thousands; equal contents share one context too. */
#ifndef DSRKIT_TLS_H
#define DSRKIT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "ini.h"
#include "parse.h"

/* A PEM file larger than this is not a certificate or key (Debian's whole
 * CA bundle is about 220 KiB). */
#define TLS_PEM_MAX (1024 * 1024)

enum tls_pem_kind {
	TLS_PEM_CA,		/* one or more certificates to trust */
	TLS_PEM_CERT,		/* a certificate, then its chain */
	TLS_PEM_KEY,		/* one private key, not encrypted */
};

/* A PEM file of a configuration: the path as written (printed by -t -v)
 * and the content read at load (what the checks use). */
struct tls_pem_file {
	char *path;
	char *pem;
};

/* Is pem (NUL-terminated) usable as kind? 0, or -EINVAL with why in err
 * (PARSE_ERR_MAX bytes); -ELIBACC when OpenSSL cannot be loaded (these
 * and tls_client_get load it: tls_openssl.h). */
int tls_pem_check(enum tls_pem_kind kind, const char *pem, char *err);
/* Does the key belong to the certificate (the first of cert_pem)? */
int tls_pem_pair_check(const char *cert_pem, const char *key_pem, char *err);
/* Read path (absolute; a regular file that only root or the caller can
 * change; opened without blocking; at most TLS_PEM_MAX bytes) and check it
 * as kind. 0 and out filled (release with tls_pem_file_free), or -errno
 * and err. */
int tls_pem_file_load(enum tls_pem_kind kind, const char *path, struct tls_pem_file *out, char *err);
void tls_pem_file_free(struct tls_pem_file *f);

/* Shared texts: a process holds each PEM content once, however many
 * services name it (the system's CA bundle in 10,000 services would be
 * 2 GB of copies), with a count of its holders.
 * tls_pem_text_share: *pem (a text of its own, from tls_pem_file_load or
 * malloc) becomes the shared text of that content, a reference taken; the
 * own copy is wiped and freed. -ENOMEM leaves *pem its own (still valid).
 * tls_pem_text_ref: another reference to pem (a copy when pem is not
 * shared; NULL when out of memory).
 * tls_pem_text_free: drops a reference, or frees a text of its own; the
 * last holder wipes the text (it may be a key) before freeing it. */
int tls_pem_text_share(char **pem);
char *tls_pem_text_ref(const char *pem);
void tls_pem_text_free(char *pem);

/* What loading PEM files cost so far in this process: files read (a file
 * a configuration holds, unchanged since, is not read again), texts
 * parsed by tls_pem_check (at most once per content and kind) and
 * digested (texts a configuration already holds as good are neither).
 * For tests and diagnostics. */
struct tls_pem_work {
	unsigned long read, parsed, digested;
};
struct tls_pem_work tls_pem_work(void);

/* The config key types (field: struct tls_pem_file): the value is a path,
 * the file is read and checked when the key is parsed, so a missing,
 * unreadable or bad file is an error at the key's line; its text is
 * shared (tls_pem_text_share), so pem compares by pointer first. A file
 * whose text is held, found good as that kind, and unchanged since it was
 * read (the same inode, size and times, and those a second or two old) is
 * still checked and opened (may we read it?) but not read again. Equal
 * means the same path and the same content: a reload after a certificate
 * was renewed in place restarts the checks that use it. */
extern const struct ini_type tls_ca_file_type, tls_cert_file_type, tls_key_file_type;

/* The name a Host value stands for ("www.example.com:8443" ->
 * "www.example.com", "[2001:db8::1]:443" -> "2001:db8::1") into buf; true
 * when it is an IP address literal (no SNI is sent for one, RFC 6066). */
bool tls_host_name(const char *host, char *buf, size_t size);
/* The longest such name a connection takes (a DNS name is at most 253). */
#define TLS_NAME_MAX 255

/* ---- on the loop ---- */

/* The result of a step. */
enum tls_step {
	TLS_DONE,		/* handshake finished; read/write moved bytes */
	TLS_WANT_READ,		/* again once the socket is readable */
	TLS_WANT_WRITE,		/* again once the socket is writable */
	TLS_CLOSED,		/* read: the peer closed (cleanly or not) */
	TLS_FAILED,		/* why says what happened */
};

struct tls_client;
struct tls_conn;

/* The shared client context for these PEM contents (any may be NULL):
 * TLS 1.2 at least; with ca_pem the server's chain is verified against it
 * (and nothing else), without it nothing is verified; with cert_pem and
 * key_pem the client presents them. 0 and *out (a reference), -EINVAL
 * (bad PEM), -ENOMEM or -ELIBACC (OpenSSL cannot be loaded). */
int tls_client_get(const char *ca_pem, const char *cert_pem, const char *key_pem, struct tls_client **out);
/* Another reference to c. */
struct tls_client *tls_client_ref(struct tls_client *c);
void tls_client_put(struct tls_client *c);

/* A client connection over the connected socket fd (not taken over).
 * host: the Host value, or NULL; a name in it is sent as SNI and, when the
 * context verifies, must match the certificate; with no name, the
 * certificate must match addr. 0, -EINVAL, -ENAMETOOLONG (a name longer
 * than TLS_NAME_MAX) or -ENOMEM. */
int tls_conn_new(struct tls_client *c, int fd, const char *host, const struct ipaddr *addr, struct tls_conn **out);
enum tls_step tls_conn_handshake(struct tls_conn *t, char *why, size_t size);
/* *n: bytes written or read (TLS_DONE only). */
enum tls_step tls_conn_write(struct tls_conn *t, const void *buf, size_t len, size_t *n, char *why, size_t size);
enum tls_step tls_conn_read(struct tls_conn *t, void *buf, size_t len, size_t *n, char *why, size_t size);
/* Free without a close_notify: the socket is reset by its owner. */
void tls_conn_free(struct tls_conn *t);

#endif
