/* Loading OpenSSL when it is first needed (see tls_openssl.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "tls_openssl.h"

/* The library the headers describe ("libssl.so.3"). */
#define STR_(x) #x
#define STR(x) STR_(x)
#define LIBSSL_SONAME "libssl.so." STR(OPENSSL_SHLIB_VERSION)

struct tls_openssl_calls openssl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[200];	/* empty once loaded */

/* Every function, looked up in libssl and the libcrypto it depends on;
 * never closed: the first user keeps it to the end of the process. */
static void load(void)
{
	void *lib = dlopen(LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!lib) {
		snprintf(load_error, sizeof(load_error), "cannot load OpenSSL: %s", dlerror());
		return;
	}
#define TLS_OPENSSL_LOOKUP(name) \
	if (!missing && !(openssl.name = (__typeof__(openssl.name))dlsym(lib, #name))) \
		missing = #name;
	TLS_OPENSSL_CALLS(TLS_OPENSSL_LOOKUP)
#undef TLS_OPENSSL_LOOKUP
	if (missing)
		snprintf(load_error, sizeof(load_error), "cannot load OpenSSL: no %s in %s", missing, LIBSSL_SONAME);
}

int tls_openssl_load(char *err, size_t size)
{
	pthread_once(&load_once, load);
	if (!load_error[0])
		return 0;
	snprintf(err, size, "%s", load_error);
	return -ELIBACC;
}
