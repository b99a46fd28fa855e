/* OpenSSL for tls.c, loaded by the first process that needs it.
 *
 * Linked, libssl and libcrypto cost every process some 1.7 MB before it
 * does anything: the dynamic loader reads their relocations, writes their
 * data and binds their thousands of symbols. Most processes never use
 * them (the parent, the VRRP engine, an LVS engine or an rs-agent with no
 * https check), so the daemons do not link them: the first PEM check or
 * TLS context opens libssl (and with it libcrypto) and looks up the
 * functions tls.c calls, each typed by the headers it was built with. */
#ifndef DSRKIT_TLS_OPENSSL_H
#define DSRKIT_TLS_OPENSSL_H

#include <stddef.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Every OpenSSL function tls.c calls; SSL_CTX_ctrl and SSL_ctrl for the
 * headers' macros (SSL_CTX_set_min_proto_version...) that expand to them. */
#define TLS_OPENSSL_CALLS(X) \
	X(BIO_free) X(BIO_new_mem_buf) \
	X(ERR_clear_error) X(ERR_peek_error) X(ERR_peek_last_error) X(ERR_reason_error_string) \
	X(EVP_Digest) X(EVP_PKEY_free) X(EVP_sha256) \
	X(PEM_read_bio_PrivateKey) X(PEM_read_bio_X509_AUX) \
	X(SSL_CTX_check_private_key) X(SSL_CTX_ctrl) X(SSL_CTX_free) X(SSL_CTX_get_cert_store) \
	X(SSL_CTX_new) X(SSL_CTX_set_options) X(SSL_CTX_set_verify) X(SSL_CTX_use_PrivateKey) \
	X(SSL_CTX_use_certificate) \
	X(SSL_ctrl) X(SSL_do_handshake) X(SSL_free) X(SSL_get0_param) X(SSL_get_error) \
	X(SSL_get_verify_result) X(SSL_new) X(SSL_read_ex) X(SSL_set1_host) X(SSL_set_connect_state) \
	X(SSL_set_fd) X(SSL_write_ex) X(TLS_client_method) \
	X(X509_STORE_add_cert) X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_VERIFY_PARAM_set_hostflags) \
	X(X509_check_private_key) X(X509_free) X(X509_verify_cert_error_string)

struct tls_openssl_calls {
#define TLS_OPENSSL_POINTER(name) __typeof__(name) *name;
	TLS_OPENSSL_CALLS(TLS_OPENSSL_POINTER)
#undef TLS_OPENSSL_POINTER
};

/* Filled by the first tls_openssl_load() that succeeds. */
extern struct tls_openssl_calls openssl;

/* Load OpenSSL once per process (any thread; later calls only wait for
 * the first): 0, or -ELIBACC with dlerror's words in err. */
int tls_openssl_load(char *err, size_t size);

#endif
