/* Unit tests for director/config/config_image.c: a validated configuration
 * that sets every key of every section survives the trip through its
 * image (printed the same, every section the same by its own comparison,
 * the links validation set rebuilt), and a damaged image is refused. The
 * PEM texts of https checks are held and carried once per content. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "test.h"
#include "test_tls_server.h"

/* Every key of every section at least once, with values other than the
 * defaults where the checks allow. */
static const char full[] =
	"[global]\n"
	"router_id = lb-image\n"
	"user = nobody\n"
	"control_socket = /run/dsrkit-test/ctl.sock\n"
	"control_mode = 0660\n"
	"control_group = root\n"
	"notify_fifo = /run/dsrkit-test/notify.fifo\n"
	"script_timeout = 7s\n"
	"log_level = debug\n"
	"vrrp_realtime_priority = 12\n"
	"engine_heartbeat_timeout = 9s\n"
	"metrics_listen = [2001:db8::1]:9101\n"
	"metrics_allow = 198.18.0.0/24, 2001:db8::2\n"
	"ipvs_on_stop = remove\n"
	"ipvs_reconcile_interval = 45s\n"
	"ipvs_sync_interface = eth1\n"
	"ipvs_sync_follow = G1\n"
	"ipvs_sync_id = 77\n"
	"ipvs_sync_group = 224.0.0.82\n"
	"ipvs_sync_port = 8849\n"
	"ipvs_sync_ttl = 2\n"
	"ipvs_sync_maxlen = 1400\n"
	"ipvs_timeout_tcp = 900s\n"
	"ipvs_timeout_tcp_fin = 30s\n"
	"ipvs_timeout_udp = 60s\n"
	"announce_interface = dummy7\nannounce_table = 1000\nannounce_protocol = 99\n"
	"\n[track_script chk]\ncommand = /bin/true --quick\ninterval = 3s\ntimeout = 2s\nrise = 2\nfall = 3\nweight = -20\n"
	"\n[track_file tf]\npath = /run/dsrkit-test/weight\nweight = 5\n"
	"\n[track_process tp]\nprocess = /usr/sbin/haproxy\nargs = -f /etc/haproxy\nparam_match = initial\n"
	"full_command = yes\nquorum = 2\nquorum_max = 9\ndelay = 1s\nterminate_delay = 3s\nfork_delay = 500ms\n"
	"weight = -7\n"
	"\n[sync_group G1]\ninstances = VI_1, VI_2\nnotify = /bin/true\nnotify_master = /bin/true m\n"
	"notify_backup = /bin/true b\nnotify_fault = /bin/true f\n"
	"\n[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 150\nversion = 3\n"
	"advert_interval = 500ms\n"
	"virtual_ipaddress = 198.18.0.100/24 brd 198.18.0.255 label eth0:vip scope global, 198.18.1.1\n"
	"virtual_routes = 198.18.9.0/24 via 198.18.0.254 metric 7 table 100, blackhole 198.18.10.0/24\n"
	"preempt = no\npreempt_delay = 5s\nstartup_delay = 2s\n"
	"unicast_src_ip = 198.18.0.1\nunicast_peer = 198.18.0.2, 198.18.0.3\nunicast_ttl_check = yes\n"
	"track_script = chk weight -10\ntrack_interface = eth2 weight -30\ntrack_file = tf\n"
	"track_process = tp weight 4\n"
	"notify = /bin/true n\nnotify_master = /bin/true nm\nnotify_backup = /bin/true nb\n"
	"notify_fault = /bin/true nf\nnotify_stop = /bin/true ns\n"
	"garp_count = 3\ngarp_repeat_delay = 2s\ngarp_refresh = 60s\npseudo_header_checksum = no\naccept = yes\n"
	"\n[vrrp VI_2]\ninterface = eth0\nvirtual_router_id = 52\npriority = 100\nversion = 2\n"
	"virtual_ipaddress = 198.18.2.1/24\nauth_pass = secret\n"
	"\n[virtual_server web]\naddress = 198.18.0.100:80\nprotocol = tcp\nscheduler = mh\n"
	"scheduler_flags = mh-fallback, mh-port\nmethod = dr\npersistence_timeout = 300s\npersistence_netmask = 24\n"
	"real_servers = 198.18.3.1:80 weight=3, 198.18.3.2 weight=0 u_threshold=100 l_threshold=10\n"
	"real_server = 198.18.3.3:80 check_port=8080 check_path=/health check_host=h.example agent_port=5556\n"
	"real_server = 198.18.3.4:80 check_address=198.18.4.4\n"
	"sorry_server = 198.18.5.5:80\nquorum = 2\nquorum_hysteresis = 1\ninhibit_on_failure = yes\nstart_down = no\n"
	"vrrp = VI_1\ncheck = http, agent\ncheck_interval = 2s\ncheck_timeout = 1500ms\ncheck_rise = 2\ncheck_fall = 4\n"
	"check_address = 198.18.6.6\ncheck_port = 81\ncheck_path = /status?x=1\ncheck_host = www.example\n"
	"check_status = 200-299\ncheck_body = OK\nagent_port = 5557\nagent_interval = 5s\n"
	"\n[virtual_server dns]\naddress = [2001:db8::53]:53\nprotocol = udp\none_packet = yes\nannounce = yes\n"
	"real_servers = [2001:db8::1]:53\ncheck = script\ncheck_command = /bin/true dns\ncheck_dynamic_weight = yes\n"
	"real_server = [2001:db8::2]:53 check_command=/bin/true\n"
	"\n[virtual_server marked]\nfwmark = 7\nfamily = inet\nreal_servers = 198.18.7.1, 198.18.7.2 method=tun\n"
	"check = none\n";

static struct director_config *load(const char *text)
{
	struct director_config *cfg = NULL;
	struct ini_diag d;
	int ret;

	ini_diag_init(&d);
	ret = director_config_load_buffer("/etc/dsrkit/image.ini", text, strlen(text), &cfg, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "    %s\n", d.msgs[i]);
	CHECK_EQ_INT(ret, 0);
	ini_diag_free(&d);
	return cfg;
}

/* Both print the same (what print shows: every key). */
static void check_same_print(const struct director_config *a, const struct director_config *b)
{
	struct strbuf pa, pb;

	sb_init(&pa);
	sb_init(&pb);
	director_config_print(a, &pa);
	director_config_print(b, &pb);
	CHECK_EQ_STR(sb_str(&pa), sb_str(&pb));
	CHECK_CONTAINS(sb_str(&pb), "[global]");
	sb_free(&pa);
	sb_free(&pb);
}

static struct director_config *round_trip(const struct director_config *cfg, struct strbuf *image)
{
	struct director_config *back = NULL;

	sb_init(image);
	CHECK_EQ_INT(director_config_image(cfg, image), 0);
	CHECK_EQ_INT(director_config_from_image(image->buf, image->len, &back), 0);
	return back;
}

TEST(test_every_key_survives)
{
	struct director_config *cfg = load(full), *back;
	struct strbuf image, b;

	if (!cfg)
		return;
	back = round_trip(cfg, &image);
	CHECK(back != NULL);
	if (back) {
		sb_init(&b);
		director_config_print(back, &b);
		CHECK_CONTAINS(sb_str(&b), "check_command = /bin/true dns");
		CHECK_CONTAINS(sb_str(&b), "auth_pass = secret");
		sb_free(&b);
		check_same_print(cfg, back);
		/* What print does not show, and validation set. */
		CHECK_EQ_STR(back->path, "/etc/dsrkit/image.ini");
		CHECK_EQ_INT(back->ninstances, 2);
		CHECK_EQ_INT(back->lvs.nservices, 3);
		CHECK_EQ_STR(back->lvs.last->name, "marked");
		CHECK_EQ_INT(back->user_named, cfg->user_named);
		CHECK_EQ_STR(back->user_warning, cfg->user_warning);
		for (struct vrrp_conf *v = cfg->instances, *w = back->instances; v && w; v = v->next, w = w->next) {
			CHECK(vrrp_conf_same(v, w));
			CHECK(w->group != NULL && strcmp(w->group->name, "G1") == 0);
			CHECK(w->group == back->sync_groups);
		}
		for (struct virtual_server_conf *v = cfg->lvs.services, *w = back->lvs.services; v && w;
		     v = v->next, w = w->next) {
			CHECK(virtual_server_conf_same(v, w));
			CHECK_EQ_INT(w->real_servers.n, v->real_servers.n);
			for (size_t i = 0; i < v->real_servers.n && i < w->real_servers.n; i++) {
				/* filled in by validation: the service's port and method */
				CHECK_EQ_INT(w->real_servers.items[i].port, v->real_servers.items[i].port);
				CHECK_EQ_INT(w->real_servers.items[i].fwd, v->real_servers.items[i].fwd);
			}
		}
		CHECK_EQ_INT(director_config_mark_unchanged(back, cfg), 0);
		for (struct virtual_server_conf *w = back->lvs.services; w; w = w->next)
			CHECK(w->unchanged != NULL);
	}
	director_config_free(back);
	director_config_free(cfg);
	sb_free(&image);
}

/* Every shorter image, and every image with one byte changed in its
 * header or its lengths, is refused or read whole: never a crash, never a
 * leak (run under ASan in `make asan`). */
TEST(test_damaged_images_refused)
{
	struct director_config *cfg = load(full), *back;
	struct strbuf image;
	size_t refused = 0;

	if (!cfg)
		return;
	sb_init(&image);
	CHECK_EQ_INT(director_config_image(cfg, &image), 0);
	for (size_t n = 0; n < image.len; n++) {
		back = NULL;
		CHECK_EQ_INT(director_config_from_image(image.buf, n, &back), -EBADMSG);
		CHECK(back == NULL);
	}
	for (size_t i = 0; i < image.len; i++) {
		char saved = image.buf[i];

		image.buf[i] = (char)(saved ^ 0x80);
		back = NULL;
		if (director_config_from_image(image.buf, image.len, &back) < 0)
			refused++;
		director_config_free(back);
		image.buf[i] = saved;
	}
	CHECK(refused > 0);
	/* Trailing bytes are not an image either. */
	sb_appendn(&image, "x", 1);
	back = NULL;
	CHECK_EQ_INT(director_config_from_image(image.buf, image.len, &back), -EBADMSG);
	sb_free(&image);
	director_config_free(cfg);
}

TEST(test_other_build_refused)
{
	struct director_config *cfg = load("[vrrp V]\ninterface = eth0\nvirtual_router_id = 1\npriority = 100\n"
					   "virtual_ipaddress = 198.18.0.1\n"), *back = NULL;
	struct strbuf image;

	if (!cfg)
		return;
	sb_init(&image);
	CHECK_EQ_INT(director_config_image(cfg, &image), 0);
	image.buf[8] ^= 1;	/* the first struct size in the header */
	CHECK_EQ_INT(director_config_from_image(image.buf, image.len, &back), -EBADMSG);
	image.buf[8] ^= 1;
	image.buf[0] = 'X';	/* the magic */
	CHECK_EQ_INT(director_config_from_image(image.buf, image.len, &back), -EBADMSG);
	sb_free(&image);
	director_config_free(cfg);
}

/* From a file, read in pieces: the same configuration, and a file cut
 * anywhere refused. The image is larger than one piece (64 KiB). */
TEST(test_from_a_file)
{
	struct strbuf text, image;
	struct director_config *cfg, *back = NULL;
	int fd;

	sb_init(&text);
	sb_append(&text, "[global]\nuser = nobody\n");
	for (int i = 0; i < 400; i++)
		sb_printf(&text, "[virtual_server s%d]\naddress = 198.18.%d.%d:80\nreal_servers = 198.19.0.1:80, 198.19.0.2:80\n"
			  "check = none\n", i, 1 + i / 250, 1 + i % 250);
	cfg = load(sb_str(&text));
	sb_free(&text);
	if (!cfg)
		return;
	sb_init(&image);
	CHECK_EQ_INT(director_config_image(cfg, &image), 0);
	CHECK(image.len > 64 * 1024);
	fd = memfd_create("test-image", MFD_CLOEXEC);
	CHECK(fd >= 0 && write(fd, image.buf, image.len) == (ssize_t)image.len);
	CHECK_EQ_INT(director_config_from_image_fd(fd, NULL, NULL, &back), 0);
	if (back) {
		check_same_print(cfg, back);
		CHECK_EQ_INT(back->lvs.nservices, 400);
		director_config_free(back);
		back = NULL;
	}
	/* Without the virtual servers (the parent's, the VRRP engine's):
	 * counted, not kept. */
	CHECK_EQ_INT(director_config_from_image_fd(fd, image_vs_skip, NULL, &back), 0);
	if (back) {
		CHECK_EQ_INT(back->lvs.nservices, 400);
		CHECK(back->lvs.services == NULL);
		CHECK_EQ_STR(back->user, "nobody");
		director_config_free(back);
	}
	for (size_t cut = 0; cut < image.len; cut += image.len / 7) {
		back = NULL;
		CHECK_EQ_INT(ftruncate(fd, (off_t)cut), 0);
		CHECK_EQ_INT(director_config_from_image_fd(fd, NULL, NULL, &back), -EBADMSG);
		CHECK(back == NULL);
	}
	close(fd);
	sb_free(&image);
	director_config_free(cfg);
}

/* n https services naming ca.pem, then "odd" naming other.pem as its CA
 * and client.pem/client.key; with_ca false: the same without ca.pem. */
static struct director_config *load_https(int n, bool with_ca)
{
	struct director_config *cfg;
	struct strbuf text;

	sb_init(&text);
	sb_append(&text, "[global]\nuser = nobody\n");
	for (int i = 0; i < n; i++) {
		sb_printf(&text, "[virtual_server s%d]\naddress = 198.18.1.%d:443\ncheck = https\n"
			  "real_servers = 198.19.0.1:443\n", i, 1 + i);
		if (with_ca)
			sb_printf(&text, "check_ca_file = %s\n", path_of("ca.pem"));
	}
	sb_printf(&text, "[virtual_server odd]\naddress = 198.18.2.1:443\ncheck = https\nreal_servers = 198.19.0.2:443\n"
		  "check_ca_file = %s\ncheck_cert_file = %s\ncheck_key_file = %s\n", path_of("other.pem"),
		  path_of("client.pem"), path_of("client.key"));
	cfg = load(sb_str(&text));
	sb_free(&text);
	return cfg;
}

/* Every service of cfg: its CA text is ca (the same text, by address,
 * when shared), odd's files are other, client and key. */
static void check_pem_texts(const struct director_config *cfg, const char *ca, const char *other, const char *client,
			    const char *key, int n)
{
	const struct virtual_server_conf *first = cfg->lvs.services;
	int seen = 0;

	CHECK(first != NULL);
	for (const struct virtual_server_conf *vs = first; vs; vs = vs->next, seen++) {
		if (strcmp(vs->name, "odd") == 0) {
			CHECK_EQ_STR(vs->check_ca_file.pem, other);
			CHECK_EQ_STR(vs->check_cert_file.pem, client);
			CHECK_EQ_STR(vs->check_key_file.pem, key);
			CHECK_EQ_STR(vs->check_ca_file.path, path_of("other.pem"));
			continue;
		}
		CHECK(vs->check_ca_file.pem == first->check_ca_file.pem);	/* one text */
		CHECK_EQ_STR(vs->check_ca_file.pem, ca);
		CHECK_EQ_STR(vs->check_ca_file.path, path_of("ca.pem"));
		CHECK(vs->check_cert_file.pem == NULL && vs->check_key_file.pem == NULL);
	}
	CHECK_EQ_INT(seen, n + 1);
}

/* The image without its last PEM text (client.key's, odd's key): odd's
 * index to it is out of range. */
static bool cut_last_pem(struct strbuf *image, const char *ca, const char *key)
{
	char *at_ca = memmem(image->buf, image->len, ca, strlen(ca));
	char *at_key = memmem(image->buf, image->len, key, strlen(key));
	uint32_t count, len;

	if (!at_ca || !at_key || at_ca - image->buf < 8 || at_key < at_ca)
		return false;
	memcpy(&count, at_ca - 8, 4);
	memcpy(&len, at_key - 4, 4);
	if (count != 4 || len != strlen(key))
		return false;
	count = 3;
	memcpy(at_ca - 8, &count, 4);
	memmove(at_key - 4, at_key + len, (size_t)(image->buf + image->len - (at_key + len)));
	image->len -= 4 + len;
	return true;
}

static int read_via_file(const struct strbuf *image, image_vs_visit visit)
{
	struct director_config *back = NULL;
	int fd = memfd_create("test-image", MFD_CLOEXEC), ret;

	CHECK(fd >= 0 && write(fd, image->buf, image->len) == (ssize_t)image->len);
	ret = director_config_from_image_fd(fd, visit, NULL, &back);
	director_config_free(back);
	close(fd);
	return ret;
}

/* 64 services naming one CA file: the configuration holds its text once,
 * the image carries it once (the old one had 64 copies in both), and the
 * texts come back right, each service's its own file's. */
TEST(test_pem_texts_travel_once)
{
	enum { N = 64 };
	struct director_config *cfg, *bare, *back = NULL;
	char *ca, *other, *client, *key;
	struct strbuf image, bare_image;
	const char *skip = tls_setup();

	if (skip)
		SKIP(skip);
	ca = pem_of("ca.pem");
	other = pem_of("other.pem");
	client = pem_of("client.pem");
	key = pem_of("client.key");
	CHECK(ca && other && client && key && strcmp(ca, other) != 0);
	cfg = load_https(N, true);
	bare = load_https(N, false);
	if (ca && other && client && key && cfg && bare) {
		size_t per_service = strlen(path_of("ca.pem")) + 2 * sizeof(uint32_t);

		check_pem_texts(cfg, ca, other, client, key, N);
		back = round_trip(cfg, &image);
		sb_init(&bare_image);
		CHECK_EQ_INT(director_config_image(bare, &bare_image), 0);
		/* The CA text once, then a path and an index per service. */
		CHECK(image.len > bare_image.len + strlen(ca));
		CHECK(image.len < bare_image.len + strlen(ca) + 4 + N * per_service);
		if (back) {
			check_pem_texts(back, ca, other, client, key, N);
			check_same_print(cfg, back);
			director_config_free(back);
		}
		CHECK_EQ_INT(read_via_file(&image, NULL), 0);
		CHECK_EQ_INT(read_via_file(&image, image_vs_skip), 0);
		/* A service naming a text the table has not: refused, by the
		 * reader that keeps them and by the one that skips them. */
		back = NULL;
		CHECK(cut_last_pem(&image, ca, key));
		CHECK_EQ_INT(director_config_from_image(image.buf, image.len, &back), -EBADMSG);
		CHECK(back == NULL);
		CHECK_EQ_INT(read_via_file(&image, NULL), -EBADMSG);
		CHECK_EQ_INT(read_via_file(&image, image_vs_skip), -EBADMSG);
		sb_free(&image);
		sb_free(&bare_image);
	}
	director_config_free(cfg);
	director_config_free(bare);
	free(ca);
	free(other);
	free(client);
	free(key);
	tls_teardown();
}

TEST_MAIN(T(test_every_key_survives), T(test_from_a_file), T(test_damaged_images_refused), T(test_other_build_refused),
	  T(test_pem_texts_travel_once))
