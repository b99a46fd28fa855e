/* https checks (common/probe.c over common/tls.c) against a real TLS
 * server from Debian, `openssl s_server`, on 127.0.0.1, with certificates
 * this test makes with the openssl CLI (tests/tools/mkcerts.sh): a CA, a
 * server certificate for www.test and 127.0.0.1, an expired one, a
 * self-signed one nobody trusts, another name's, a client certificate.
 * The probe runs on a real event loop; s_server is a child process. No
 * root. Every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "probe.h"
#include "test.h"
#include "test_tls_server.h"
#include "tls.h"

/* ---- probes ---- */

struct results {
	unsigned n;
	struct hc_outcome last;
};

static void on_done(struct hc_probe *p, const struct hc_outcome *o, void *arg)
{
	struct results *r = arg;

	(void)p;
	r->n++;
	r->last = *o;
}

static struct hc_spec spec_for(uint16_t port, const char *path, const char *host)
{
	struct hc_spec s;

	memset(&s, 0, sizeof(s));
	s.type = HC_HTTPS;
	s.addr.family = AF_INET;
	s.addr.prefixlen = 32;
	s.addr.u.v4.s_addr = htonl(INADDR_LOOPBACK);
	s.port = port;
	s.interval_ms = 60000;	/* one attempt */
	s.timeout_ms = 3000;
	s.path = path;
	s.host = host;
	s.user_agent = "directord";
	return s;
}

/* One attempt of s on a loop of its own, with a context made of the
 * files named (NULL: none); "no result" when none came within 6 s. */
static struct hc_outcome probe_once(struct hc_spec *s, const char *ca, const char *cert, const char *key)
{
	char *ca_pem = ca ? pem_of(ca) : NULL, *cert_pem = cert ? pem_of(cert) : NULL;
	char *key_pem = key ? pem_of(key) : NULL;
	struct results r = { 0 };
	struct hc_probe *p = NULL;
	struct evloop *loop = NULL;
	uint64_t deadline;

	strcpy(r.last.reason, "no result");
	r.last.result = HC_FAIL;
	CHECK_EQ_INT(evloop_new(&loop), 0);
	CHECK_EQ_INT(tls_client_get(ca_pem, cert_pem, key_pem, &s->tls), 0);
	if (loop && s->tls && hc_probe_start(loop, s, on_done, &r, &p) == 0) {
		deadline = now_ms() + 6000;
		while (r.n == 0 && now_ms() < deadline)
			evloop_run_once(loop, 10);
		CHECK_EQ_INT(r.n, 1);
		hc_probe_stop(p);
	}
	tls_client_put(s->tls);
	s->tls = NULL;
	evloop_free(loop);
	free(ca_pem);
	free(cert_pem);
	free(key_pem);
	return r.last;
}

static const char *skip_all;	/* why nothing here can run */

#define SETUP_OR_SKIP() do { if (skip_all) SKIP(skip_all); } while (0)

#define EXPECT(o, res, why) do { \
	CHECK_EQ_INT((o).result, (res)); \
	CHECK_CONTAINS((o).reason, (why)); \
} while (0)

/* One probe of s with the files named, and what it must give. */
#define EXPECT_PROBE(s, ca, cert, key, res, why) do { \
	struct hc_outcome o_ = probe_once((s), (ca), (cert), (key)); \
	EXPECT(o_, (res), (why)); \
} while (0)

/* ---- tests ---- */

TEST(https_pass)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	CHECK(tls_server_start(&srv, "server", NULL));
	s = spec_for(srv.port, "/health", NULL);
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_PASS, "HTTP 200");
	/* The body check reads through TLS as http's does. */
	s.body = "healthy";
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_PASS, "HTTP 200");
	s.body = "sick";
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_FAIL, "body lacks 'sick'");
	tls_server_stop(&srv);
}

TEST(https_wrong_status)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	CHECK(tls_server_start(&srv, "server", NULL));
	s = spec_for(srv.port, "/down", "www.test");
	s.status_lo = 200;
	s.status_hi = 399;
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_FAIL, "HTTP 503 (expected 200-399)");
	tls_server_stop(&srv);
}

TEST(https_verified)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	CHECK(tls_server_start(&srv, "server", NULL));
	s = spec_for(srv.port, "/health", "www.test");
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_PASS, "HTTP 200");
	/* A port in the Host value is not part of the name. */
	s.host = "www.test:8443";
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_PASS, "HTTP 200");
	/* No host: the certificate must name the address (it does). */
	s.host = NULL;
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_PASS, "HTTP 200");
	tls_server_stop(&srv);
}

TEST(https_host_mismatch)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	CHECK(tls_server_start(&srv, "server", NULL));
	s = spec_for(srv.port, "/health", "other.test");
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_FAIL, "TLS handshake: certificate: hostname mismatch");
	/* Not verifying, the name does not matter. */
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_PASS, "HTTP 200");
	tls_server_stop(&srv);
	/* By address: other.pem names no address. */
	CHECK(tls_server_start(&srv, "other", NULL));
	s = spec_for(srv.port, "/health", NULL);
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_FAIL, "IP address mismatch");
	tls_server_stop(&srv);
}

/* A server showing the certificate name.pem: refused, saying why, when
 * verified against ca.pem; answered when nothing is verified. */
static void expect_refused_when_verified(const char *name, const char *why)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	CHECK(tls_server_start(&srv, name, NULL));
	s = spec_for(srv.port, "/health", "www.test");
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_FAIL, why);
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_PASS, "HTTP 200");
	tls_server_stop(&srv);
}

TEST(https_expired)
{
	SETUP_OR_SKIP();
	expect_refused_when_verified("expired", "certificate has expired");
}

TEST(https_untrusted)
{
	SETUP_OR_SKIP();
	expect_refused_when_verified("self", "self-signed certificate");
}

/* The server shows www.test's certificate only to a client that asks for
 * www.test by SNI; any other gets other.test's. */
TEST(https_sni)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	CHECK(tls_server_start(&srv, "other", "-servername", "www.test", "-cert2", path_of("server.pem"), "-key2",
			   path_of("server.key"), NULL));
	s = spec_for(srv.port, "/health", "www.test");
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_PASS, "HTTP 200");
	s.host = "other.test";
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_PASS, "HTTP 200");
	tls_server_stop(&srv);
}

TEST(https_ipv6)
{
	struct tls_server srv = { .ipv6 = true };
	struct hc_spec s;

	SETUP_OR_SKIP();
	if (free_port(true) == 0)
		SKIP("no ::1 here");
	CHECK(tls_server_start(&srv, "server", NULL));
	s = spec_for(srv.port, "/health", "www.test");
	s.addr.family = AF_INET6;
	s.addr.prefixlen = 128;
	s.addr.u.v6 = in6addr_loopback;
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_PASS, "HTTP 200");
	/* By address, ::1 is not in the certificate. */
	s.host = NULL;
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_FAIL, "IP address mismatch");
	tls_server_stop(&srv);
}

/* A server that takes the connection and never speaks TLS: the check
 * fails at its timeout, and the loop went on meanwhile. */
TEST(https_handshake_timeout)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct hc_spec s;
	struct hc_outcome o;

	SETUP_OR_SKIP();
	/* The kernel completes the connection from the backlog. */
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(lfd, 8) == 0 &&
	      getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	s = spec_for(ntohs(sin.sin_port), "/health", "www.test");
	s.timeout_ms = 300;
	o = probe_once(&s, "ca.pem", NULL, NULL);
	EXPECT(o, HC_FAIL, "TLS handshake: timeout after 300 ms");
	CHECK(o.duration_ms >= 290 && o.duration_ms < 2000);
	close(lfd);
}

/* A peer that answers the ClientHello with a close_notify alert: the
 * handshake fails with a reason that says so (the step once came back as
 * "closed" with its reason never written, and the probe reported stack
 * garbage). A child process plays the peer. */
static pid_t alert_peer_start(uint16_t *port)
{
	static const unsigned char close_notify[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd;
	char buf[4096];
	pid_t pid;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	pid = fork();
	if (pid == 0) {
		alarm(10);
		cfd = accept(lfd, NULL, NULL);
		if (cfd >= 0 && read(cfd, buf, sizeof(buf)) > 0 &&
		    write(cfd, close_notify, sizeof(close_notify)) == (ssize_t)sizeof(close_notify))
			while (read(cfd, buf, sizeof(buf)) > 0)
				;
		_exit(0);
	}
	close(lfd);
	return pid;
}

TEST(https_close_notify_in_handshake)
{
	struct hc_spec s;
	uint16_t port = 0;
	pid_t peer;

	SETUP_OR_SKIP();
	peer = alert_peer_start(&port);
	CHECK(peer > 0);
	if (peer <= 0)
		return;
	s = spec_for(port, "/health", "www.test");
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_FAIL, "TLS handshake: closed by the peer");
	kill(peer, SIGKILL);
	waitpid(peer, NULL, 0);
}

TEST(https_client_certificate)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	CHECK(tls_server_start(&srv, "server", "-Verify", "1", "-verify_return_error", "-CAfile", path_of("ca.pem"), NULL));
	s = spec_for(srv.port, "/health", "www.test");
	EXPECT_PROBE(&s, "ca.pem", "client.pem", "client.key", HC_PASS, "HTTP 200");
	/* TLS 1.3: the client's handshake ends before the server has
	 * judged it; its alert comes instead of the answer. */
	EXPECT_PROBE(&s, "ca.pem", NULL, NULL, HC_FAIL, "certificate required");
	/* Signed by no CA the server trusts. */
	EXPECT_PROBE(&s, "ca.pem", "self.pem", "self.key", HC_FAIL, "unknown ca");
	tls_server_stop(&srv);
}

/* TLS 1.1 and older are refused even when the server would. */
TEST(https_tls12_minimum)
{
	struct tls_server srv = { 0 };
	struct hc_spec s;

	SETUP_OR_SKIP();
	if (!tls_server_start(&srv, "server", "-tls1_1", "-cipher", "ALL:@SECLEVEL=0", NULL)) {
		tls_server_stop(&srv);
		SKIP("openssl s_server -tls1_1 does not run here");
	}
	s = spec_for(srv.port, "/health", "www.test");
	EXPECT_PROBE(&s, NULL, NULL, NULL, HC_FAIL, "TLS handshake");
	tls_server_stop(&srv);
}

TEST(https_targets_and_refused)
{
	struct hc_spec s = spec_for(1, "/x", NULL);
	struct results r = { 0 };
	struct hc_probe *p = NULL;
	struct evloop *loop = NULL;
	uint64_t deadline;

	SETUP_OR_SKIP();
	CHECK_EQ_INT(evloop_new(&loop), 0);
	/* No context given: the probe makes one that verifies nothing. */
	CHECK_EQ_INT(hc_probe_start(loop, &s, on_done, &r, &p), 0);
	CHECK_EQ_STR(hc_probe_target(p), "https 127.0.0.1:1/x");
	deadline = now_ms() + 3000;
	while (r.n == 0 && now_ms() < deadline)
		evloop_run_once(loop, 10);
	EXPECT(r.last, HC_FAIL, "connect 127.0.0.1:1:");
	hc_probe_stop(p);
	evloop_free(loop);
}

/* ---- the files and contexts, without a server ---- */

TEST(pem_checks)
{
	char err[PARSE_ERR_MAX], cmd[PATH_MAX * 2];
	char *ca = NULL, *client = NULL, *ckey = NULL, *skey = NULL;
	struct tls_pem_file f;

	SETUP_OR_SKIP();
	ca = pem_of("ca.pem");
	client = pem_of("client.pem");
	ckey = pem_of("client.key");
	skey = pem_of("server.key");
	CHECK(ca && client && ckey && skey);
	if (!ca || !client || !ckey || !skey)
		goto out;
	CHECK_EQ_INT(tls_pem_check(TLS_PEM_CA, ca, err), 0);
	CHECK_EQ_INT(tls_pem_check(TLS_PEM_KEY, ckey, err), 0);
	CHECK_EQ_INT(tls_pem_check(TLS_PEM_CA, ckey, err), -EINVAL);
	CHECK_CONTAINS(err, "no PEM certificate");
	CHECK_EQ_INT(tls_pem_check(TLS_PEM_KEY, client, err), -EINVAL);
	CHECK_CONTAINS(err, "no usable PEM private key");
	CHECK_EQ_INT(tls_pem_pair_check(client, ckey, err), 0);
	CHECK_EQ_INT(tls_pem_pair_check(client, skey, err), -EINVAL);
	CHECK_CONTAINS(err, "the key does not belong to the certificate");
	/* Damage inside a certificate's block. */
	write_text("damaged.pem", "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n");
	CHECK_EQ_INT(tls_pem_file_load(TLS_PEM_CA, path_of("damaged.pem"), &f, err), -EINVAL);
	CHECK_CONTAINS(err, "damaged");
	CHECK_EQ_INT(tls_pem_file_load(TLS_PEM_CA, "ca.pem", &f, err), -EINVAL);
	CHECK_CONTAINS(err, "an absolute path");
	CHECK(tls_pem_file_load(TLS_PEM_CA, path_of("missing.pem"), &f, err) < 0);
	CHECK_CONTAINS(err, "No such file");
	/* A file others can write decides nothing. */
	CHECK_EQ_INT(chmod(path_of("ca.pem"), 0666), 0);
	CHECK_EQ_INT(tls_pem_file_load(TLS_PEM_CA, path_of("ca.pem"), &f, err), -EPERM);
	CHECK_CONTAINS(err, "others can write");
	CHECK_EQ_INT(chmod(path_of("ca.pem"), 0644), 0);
	/* An encrypted key would need a prompt: refused. */
	snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -aes256 -passout pass:x -out '%s' 2>/dev/null",
		 path_of("client.key"), path_of("encrypted.key"));
	CHECK_EQ_INT(system(cmd), 0);
	CHECK_EQ_INT(tls_pem_file_load(TLS_PEM_KEY, path_of("encrypted.key"), &f, err), -EINVAL);
	CHECK_CONTAINS(err, "encrypted");
	CHECK_EQ_INT(tls_pem_file_load(TLS_PEM_CERT, path_of("client.pem"), &f, err), 0);
	CHECK_EQ_STR(f.path, path_of("client.pem"));
	CHECK_EQ_STR(f.pem, client);
	tls_pem_file_free(&f);
out:
	free(ca);
	free(client);
	free(ckey);
	free(skey);
}

TEST(contexts_shared)
{
	struct tls_client *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	char *ca = NULL, *ca2 = NULL;

	SETUP_OR_SKIP();
	ca = pem_of("ca.pem");
	ca2 = ca ? strdup(ca) : NULL;
	CHECK(ca && ca2);
	if (!ca2)
		goto out;
	/* Equal contents, wherever they are: one context. */
	CHECK_EQ_INT(tls_client_get(ca, NULL, NULL, &a), 0);
	CHECK_EQ_INT(tls_client_get(ca2, NULL, NULL, &b), 0);
	CHECK(a == b);
	CHECK_EQ_INT(tls_client_get(NULL, NULL, NULL, &c), 0);
	CHECK(c != a);
	CHECK_EQ_INT(tls_client_get("not PEM", NULL, NULL, &d), -EINVAL);
	CHECK(d == NULL);
	tls_client_put(a);
	tls_client_put(b);
	tls_client_put(c);
out:
	free(ca);
	free(ca2);
}

TEST(host_names)
{
	char buf[64];

	CHECK(!tls_host_name("www.example.com", buf, sizeof(buf)));
	CHECK_EQ_STR(buf, "www.example.com");
	CHECK(!tls_host_name("www.example.com:8443", buf, sizeof(buf)));
	CHECK_EQ_STR(buf, "www.example.com");
	CHECK(tls_host_name("198.18.0.11:443", buf, sizeof(buf)));
	CHECK_EQ_STR(buf, "198.18.0.11");
	CHECK(tls_host_name("[2001:db8::1]:443", buf, sizeof(buf)));
	CHECK_EQ_STR(buf, "2001:db8::1");
	CHECK(tls_host_name("2001:db8::1", buf, sizeof(buf)));
	CHECK_EQ_STR(buf, "2001:db8::1");
}

/* A CA file named by thousands of services (the system's bundle holds
 * some 140 certificates) is parsed once per content, not once per key:
 * 300 services with the bundle took 6 s to load, most of a reload. Here
 * 200 loads of a 300-certificate file parse it once; another kind parses
 * it again (found good as a CA is no free pass for a key). */
TEST(same_ca_file_parsed_once)
{
	char *ca = NULL, err[PARSE_ERR_MAX];
	struct tls_pem_work before, after;
	struct tls_pem_file f;
	FILE *out;
	int bad = 0;

	SETUP_OR_SKIP();
	ca = pem_of("ca.pem");
	out = fopen(path_of("bundle.pem"), "w");
	CHECK(ca && out);
	if (!ca || !out)
		goto out;
	for (int i = 0; i < 300; i++)
		fputs(ca, out);
	fclose(out);
	before = tls_pem_work();
	for (int i = 0; i < 200; i++) {
		if (tls_pem_file_load(TLS_PEM_CA, path_of("bundle.pem"), &f, err) < 0)
			bad++;
		else
			tls_pem_file_free(&f);
	}
	after = tls_pem_work();
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT((int)(after.parsed - before.parsed), 1);
	CHECK_EQ_INT(tls_pem_file_load(TLS_PEM_KEY, path_of("bundle.pem"), &f, err), -EINVAL);
	CHECK_EQ_INT((int)(tls_pem_work().parsed - after.parsed), 1);
out:
	free(ca);
}

/* Keys of a configuration naming one file share its text, and a text the
 * configuration already holds as good is known by comparison: 100 keys
 * naming the system's bundle cost one digest of its 200 KiB, not 100
 * (10,000 https services spent 1.4 s of every reload's check on them). */
TEST(held_text_not_digested_again)
{
	struct tls_pem_file keys[100] = { 0 };
	char err[PARSE_ERR_MAX];
	struct tls_pem_work before, after;
	int bad = 0;

	SETUP_OR_SKIP();
	before = tls_pem_work();
	for (int i = 0; i < 100; i++)
		if (tls_ca_file_type.parse(NULL, path_of("ca.pem"), &keys[i], err) < 0)
			bad++;
	after = tls_pem_work();
	CHECK_EQ_INT(bad, 0);
	CHECK(keys[0].pem && keys[0].pem == keys[99].pem);
	CHECK_EQ_INT((int)(after.digested - before.digested), 1);
	/* Held as a CA, not as a certificate: that kind is checked anew. */
	{
		struct tls_pem_file cert = { 0 };

		(void)tls_cert_file_type.parse(NULL, path_of("ca.pem"), &cert, err);
		CHECK_EQ_INT((int)(tls_pem_work().digested - after.digested), 1);
		tls_cert_file_type.free(&cert);
	}
	for (int i = 0; i < 100; i++)
		tls_ca_file_type.free(&keys[i]);
}

/* Until name's last change is two seconds old (its times are trusted to
 * tell a change only then); at most 4 s. */
static bool settled(const char *name)
{
	struct stat st;

	for (int i = 0; i < 90 && stat(path_of(name), &st) == 0; i++) {
		if (st.st_ctim.tv_sec + 2 <= time(NULL))
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Keys naming a file the configuration holds, unchanged, do not read it
 * again (3,000 services naming the system's bundle: directord -t went from
 * 0.4 to 0.08 s), but still check it: made writable by others, it is
 * refused; rewritten in place with another content of the same size, it
 * is read again and its new text is the one used. */
TEST(held_file_not_read_again)
{
	struct tls_pem_file keys[50] = { 0 }, fresh = { 0 };
	char *ca = NULL, *server = NULL, *ab = NULL, *ba = NULL, err[PARSE_ERR_MAX];
	struct tls_pem_work before, after;
	int bad = 0;

	SETUP_OR_SKIP();
	ca = pem_of("ca.pem");
	server = pem_of("server.pem");
	CHECK(ca && server && asprintf(&ab, "%s%s", ca, server) > 0 && asprintf(&ba, "%s%s", server, ca) > 0);
	if (!ab || !ba)
		goto out;
	write_text("held.pem", ab);
	CHECK(settled("held.pem"));
	before = tls_pem_work();
	for (int i = 0; i < 50; i++)
		if (tls_ca_file_type.parse(NULL, path_of("held.pem"), &keys[i], err) < 0)
			bad++;
	after = tls_pem_work();
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT((int)(after.read - before.read), 1);
	CHECK(keys[0].pem && keys[0].pem == keys[49].pem && strcmp(keys[0].pem, ab) == 0);
	/* Still checked: a file others can write decides nothing. */
	CHECK_EQ_INT(chmod(path_of("held.pem"), 0666), 0);
	CHECK(tls_ca_file_type.parse(NULL, path_of("held.pem"), &fresh, err) < 0);
	CHECK_CONTAINS(err, "others can write");
	CHECK_EQ_INT(chmod(path_of("held.pem"), 0644), 0);
	/* Renewed in place, the same size: read again. */
	write_text("held.pem", ba);
	after = tls_pem_work();
	CHECK_EQ_INT(tls_ca_file_type.parse(NULL, path_of("held.pem"), &fresh, err), 0);
	CHECK_EQ_INT((int)(tls_pem_work().read - after.read), 1);
	CHECK(fresh.pem && strcmp(fresh.pem, ba) == 0);
	tls_ca_file_type.free(&fresh);
	for (int i = 0; i < 50; i++)
		tls_ca_file_type.free(&keys[i]);
out:
	free(ca);
	free(server);
	free(ab);
	free(ba);
}

/* Texts shared by content: equal ones become one, each holder a reference
 * (freed by the last: ASan sees any early free), and another holder of a
 * text that is not shared gets a copy of its own. */
TEST(pem_texts_shared)
{
	char *a = strdup("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	char *b = a ? strdup(a) : NULL, *c = strdup("other"), *own, *ref;

	CHECK(a && b && c && a != b);
	if (!a || !b || !c)
		goto out;
	CHECK_EQ_INT(tls_pem_text_share(&a), 0);
	CHECK_EQ_INT(tls_pem_text_share(&b), 0);
	CHECK(a == b);				/* b's own copy is gone */
	CHECK_EQ_INT(tls_pem_text_share(&b), 0);	/* already shared: no new reference */
	CHECK_EQ_INT(tls_pem_text_share(&c), 0);
	CHECK(c != a && strcmp(c, "other") == 0);
	ref = tls_pem_text_ref(a);
	CHECK(ref == a);
	tls_pem_text_free(a);
	tls_pem_text_free(b);
	CHECK(strncmp(ref, "-----BEGIN", 10) == 0);	/* still held by ref */
	tls_pem_text_free(ref);
	own = strdup("not shared");
	ref = own ? tls_pem_text_ref(own) : NULL;
	CHECK(ref && ref != own && strcmp(ref, "not shared") == 0);
	tls_pem_text_free(own);
	tls_pem_text_free(ref);
	tls_pem_text_free(c);
	return;
out:
	free(a);
	free(b);
	free(c);
}

/* A Host name too long for the connection is refused, never cut: the cut
 * name would go out as SNI and be what the certificate is matched to
 * (rs-agent's host key had no length limit). */
TEST(host_name_too_long)
{
	struct ipaddr addr = { .family = AF_INET, .prefixlen = 32, .u.v4.s_addr = htonl(INADDR_LOOPBACK) };
	char host[TLS_NAME_MAX + 64];
	struct tls_client *c = NULL;
	struct tls_conn *t = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_EQ_INT(tls_client_get(NULL, NULL, NULL, &c), 0);
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	CHECK_EQ_INT(tls_conn_new(c, fd, host, &addr, &t), -ENAMETOOLONG);
	CHECK(t == NULL);
	tls_conn_free(t);
	/* The longest name that fits still does, with a port after it. */
	memcpy(host + TLS_NAME_MAX, ":443", 5);
	CHECK_EQ_INT(tls_conn_new(c, fd, host, &addr, &t), 0);
	tls_conn_free(t);
	tls_client_put(c);
	close(fd);
}

static void run_setup(void)
{
	skip_all = tls_setup();
}

static void run_teardown(void)
{
	tls_teardown();
}

TEST_MAIN(T(run_setup), T(https_pass), T(https_wrong_status), T(https_verified), T(https_host_mismatch),
	  T(https_expired), T(https_untrusted), T(https_sni), T(https_ipv6), T(https_handshake_timeout), T(https_close_notify_in_handshake),
	  T(https_client_certificate), T(https_tls12_minimum), T(https_targets_and_refused), T(pem_checks),
	  T(contexts_shared), T(host_names), T(host_name_too_long), T(same_ca_file_parsed_once), T(held_text_not_digested_again),
	  T(held_file_not_read_again), T(pem_texts_shared), T(run_teardown))
