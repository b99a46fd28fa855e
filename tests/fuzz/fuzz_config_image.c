/* libFuzzer target for director/config/config_image.c: what an engine
 * rebuilds its configuration from.
 *
 * The image is made and read by one build, so a corpus of images would go
 * stale with every struct change. The target therefore makes a real image
 * itself (of a file with every kind of section) and the input damages it:
 * its first two bytes cut it to a length, each further three bytes flip
 * one byte at an offset. The input is also read as an image of its own,
 * after a valid header. Properties: no crash, no leak, and an image read
 * whole prints as a configuration. Three https services name PEM files
 * (written for the start, throwaway self-signed ones), so the image has a
 * table of texts and services that refer to its entries by index. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char text[] =
	"[global]\nrouter_id = fz\nuser = nobody\nipvs_sync_interface = eth1\nipvs_sync_follow = G\n"
	"[track_script chk]\ncommand = /bin/true\n"
	"[track_file tf]\npath = /tmp/w\n"
	"[sync_group G]\ninstances = A, B\nnotify = /bin/true\n"
	"[vrrp A]\ninterface = eth0\nvirtual_router_id = 1\npriority = 100\n"
	"virtual_ipaddress = 198.18.0.1/24, 198.18.0.2\nvirtual_routes = 198.18.9.0/24 via 198.18.0.254\n"
	"track_script = chk\ntrack_file = tf\ntrack_interface = eth2\nunicast_peer = 198.18.0.3\n"
	"[vrrp B]\ninterface = eth0\nvirtual_router_id = 2\npriority = 100\nversion = 2\nauth_pass = x\n"
	"virtual_ipaddress = 198.18.1.1\n"
	"[virtual_server web]\naddress = 198.18.0.1:80\nvrrp = A\ncheck = http\ncheck_body = ok\n"
	"real_servers = 198.18.3.1:80, 198.18.3.2:80 check_path=/h check_host=h\n"
	"[virtual_server s]\naddress = 198.18.0.2:53\nprotocol = udp\ncheck = script\ncheck_command = /bin/true\n"
	"real_server = 198.18.3.3:53 check_command=/bin/true\n";

/* %1$s: the directory of the PEM files. */
static const char https_text[] =
	"[virtual_server h1]\naddress = 198.18.0.3:443\ncheck = https\ncheck_ca_file = %1$s/a.pem\n"
	"real_servers = 198.18.3.4:443\n"
	"[virtual_server h2]\naddress = 198.18.0.4:443\ncheck = https\ncheck_ca_file = %1$s/b.pem\n"
	"real_servers = 198.18.3.5:443\n"
	"[virtual_server h3]\naddress = 198.18.0.5:443\ncheck = https\ncheck_ca_file = %1$s/a.pem\n"
	"check_cert_file = %1$s/a.pem\ncheck_key_file = %1$s/a.key\nreal_servers = 198.18.3.6:443\n";

static const char pem_a[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBeDCCAR+gAwIBAgIUBhWBDkgd81HuxM4aS41CcRstghswCgYIKoZIzj0EAwIw\n"
	"ETEPMA0GA1UEAwwGZnV6eiBhMCAXDTI2MTIwNzAzMjIwNloYDzIxMjYxMTEzMDMy\n"
	"MjA2WjARMQ8wDQYDVQQDDAZmdXp6IGEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
	"AAQplsn6QkONgD2TRu/48dl5/PnU0w8PLnxpx47nk73EP9n+1EILvGp6QmERaDik\n"
	"DWcrcwks4b8A5DoinTbNWLTDo1MwUTAdBgNVHQ4EFgQUbYdeMibnSzJBPtY9b7XN\n"
	"p9ENXd4wHwYDVR0jBBgwFoAUbYdeMibnSzJBPtY9b7XNp9ENXd4wDwYDVR0TAQH/\n"
	"BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAz9FJE3i6yhRfU+FUPI9o7Zx8jUyI2\n"
	"QF687WL+aTcrdwIgNceyjLLhTBGunv2EEX+oF3Kbxrr55zWFyvffKdAAfec=\n"
	"-----END CERTIFICATE-----\n";
static const char pem_b[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBeTCCAR+gAwIBAgIUJCmUdsX6ntpUbjMGF457lkUgFSwwCgYIKoZIzj0EAwIw\n"
	"ETEPMA0GA1UEAwwGZnV6eiBiMCAXDTI2MTIwNzAzMjIwNloYDzIxMjYxMTEzMDMy\n"
	"MjA2WjARMQ8wDQYDVQQDDAZmdXp6IGIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
	"AARVpupprF06IMzdmFigfWqNyUccTIoNveNEROtmCaYrg/pbLbpiTlGiSOTLFQHF\n"
	"4Z0dVXfm/y57r5zW0eub06Vuo1MwUTAdBgNVHQ4EFgQUoykMwOCLP5N57zQsHV3j\n"
	"nZgoEBAwHwYDVR0jBBgwFoAUoykMwOCLP5N57zQsHV3jnZgoEBAwDwYDVR0TAQH/\n"
	"BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiA6YAvhhJ288brgp6dSCZZ/z1vO/0fz\n"
	"ISae7nkUMJq7HwIhAIrYpUwEaATAq6EYX45ZNxX69AVk6joUTgic8cNPOcxl\n"
	"-----END CERTIFICATE-----\n";
static const char key_a[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguBCFZ8M4lEIgnBpK\n"
	"+oiWyccKCY7DSMfQ3qiIfe2TF0mhRANCAAQplsn6QkONgD2TRu/48dl5/PnU0w8P\n"
	"Lnxpx47nk73EP9n+1EILvGp6QmERaDikDWcrcwks4b8A5DoinTbNWLTD\n"
	"-----END PRIVATE KEY-----\n";

static const struct {
	const char *name, *text;
} pem_files[] = { { "a.pem", pem_a }, { "b.pem", pem_b }, { "a.key", key_a } };

static void pem_file_write(const char *dir, const char *name, const char *pem)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "w")) || fputs(pem, f) < 0 || fclose(f) != 0)
		abort();
}

static void pem_file_remove(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static struct strbuf image;

static void make_image(void)
{
	char dir[] = "/tmp/dsrkit-fuzz-image.XXXXXX";
	struct director_config *cfg = NULL;
	struct strbuf all;
	struct ini_diag d;
	size_t i;

	if (!mkdtemp(dir))
		abort();
	for (i = 0; i < sizeof(pem_files) / sizeof(pem_files[0]); i++)
		pem_file_write(dir, pem_files[i].name, pem_files[i].text);
	sb_init(&all);
	sb_append(&all, text);
	sb_printf(&all, https_text, dir);
	ini_diag_init(&d);
	if (all.failed || director_config_load_buffer("/fuzz.ini", all.buf, all.len, &cfg, &d) < 0 ||
	    director_config_image(cfg, &image) < 0)
		abort();
	ini_diag_free(&d);
	sb_free(&all);
	director_config_free(cfg);
	for (i = 0; i < sizeof(pem_files) / sizeof(pem_files[0]); i++)
		pem_file_remove(dir, pem_files[i].name);
	rmdir(dir);
}

/* The same bytes through a file, the virtual servers only counted (the
 * parent's way): refused or read, never a crash. */
static void try_skipping(const uint8_t *buf, size_t len)
{
	static int fd = -1;
	struct director_config *cfg = NULL;

	if (fd < 0 && (fd = memfd_create("fuzz-image", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, len, 0) != (ssize_t)len)
		abort();
	if (director_config_from_image_fd(fd, image_vs_skip, NULL, &cfg) == 0 && cfg->lvs.services)
		abort();
	director_config_free(cfg);
}

static void try_image(const uint8_t *buf, size_t len)
{
	struct director_config *cfg = NULL;
	struct strbuf out;

	try_skipping(buf, len);
	if (director_config_from_image(buf, len, &cfg) < 0) {
		if (cfg)
			abort();	/* nothing is returned on failure */
		return;
	}
	sb_init(&out);
	director_config_print(cfg, &out);
	sb_free(&out);
	director_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *damaged;
	size_t len;

	if (!image.len)
		make_image();
	len = image.len;
	if (size >= 2)
		len = ((size_t)data[0] << 8 | data[1]) % (image.len + 1);
	if (!(damaged = malloc(image.len)))
		return 0;
	memcpy(damaged, image.buf, image.len);
	for (size_t i = 2; i + 3 <= size; i += 3) {
		size_t off = ((size_t)data[i] << 8 | data[i + 1]) % image.len;

		damaged[off] ^= data[i + 2];
	}
	try_image(damaged, len);
	/* The input itself, behind the image's own header. */
	if (size + 48 <= image.len) {
		memcpy(damaged + 48, data, size);
		try_image(damaged, 48 + size);
	}
	free(damaged);
	return 0;
}
