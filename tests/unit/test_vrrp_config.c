/* director.ini: the two keepalived setups dsrkit replaces, as INI, and the
 * errors that span keys and sections. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

#include "cfgcheck.h"
#include "directord.h"
#include "evloop.h"
#include "test.h"
#include "test_diag.h"

static char path[64];

static int load_text(const char *text, struct director_config **cfg, struct ini_diag *diag)
{
	FILE *f;
	int fd;

	strlcpy_safe(path, "/tmp/dsrkit-dirconf.XXXXXX", sizeof(path));
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
	ini_diag_init(diag);
	return director_config_load(path, cfg, diag);
}

static const char sync_group_setup[] =
	"[global]\n"
	"router_id = lb1\n"
	"\n"
	"[track_script chk_haproxy]\n"
	"command = killall -0 haproxy\n"
	"interval = 2s\n"
	"weight = 2\n"
	"\n"
	"[sync_group VSG]\n"
	"instances = VI_PUBLIC, VI_PRIVATE\n"
	"\n"
	"[vrrp VI_PUBLIC]\n"
	"interface = eth0\n"
	"virtual_router_id = 51\n"
	"priority = 101\n"
	"virtual_ipaddress = 100.100.100.100/24 brd 100.100.100.255 label eth0:pub\n"
	"track_script = chk_haproxy\n"
	"\n"
	"[vrrp VI_PRIVATE]\n"
	"interface = eth1\n"
	"virtual_router_id = 52\n"
	"priority = 101\n"
	"version = 2\n"
	"auth_pass = secret\n"
	"virtual_ipaddress = 192.0.2.10, 192.0.2.11/32 scope link\n"
	"track_script = chk_haproxy weight 5\n"
	"track_interface = eth0 weight -10, eth1\n"
	"track_process = haproxy, nginx weight -3\n"
	"\n"
	"[track_process haproxy]\n"
	"process = haproxy\n"
	"args =\n"
	"param_match = initial\n"
	"\n"
	"[track_process nginx]\n"
	"process = /usr/sbin/nginx\n"
	"full_command = yes\n"
	"quorum = 2\n"
	"quorum_max = 3\n"
	"delay = 1s\n";

TEST(sync_group_setup_loads)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	struct vrrp_conf *pub, *priv;
	struct track_script_conf *t;

	CHECK_EQ_INT(load_text(sync_group_setup, &cfg, &diag), 0);
	CHECK_EQ_INT(diag.n, 0);
	if (!cfg)
		goto out;
	CHECK_EQ_INT(cfg->ninstances, 2);
	pub = director_config_instance(cfg, "vi_public");	/* iniparser lowercases names */
	priv = director_config_instance(cfg, "vi_private");
	CHECK(pub && priv);
	if (!pub || !priv)
		goto out;
	CHECK_EQ_INT(pub->vrid, 51);
	CHECK_EQ_INT(pub->version, 3);
	CHECK_EQ_INT(pub->advert_interval_ms, 1000);
	CHECK(pub->preempt && pub->accept && pub->pseudo_header_checksum);
	CHECK_EQ_INT(pub->vips.n, 1);
	CHECK_EQ_INT(pub->vips.items[0].addr.prefixlen, 24);
	CHECK_EQ_INT(pub->vips.items[0].brd.family, AF_INET);
	CHECK_EQ_STR(pub->vips.items[0].label, "eth0:pub");
	CHECK(pub->group && priv->group && pub->group == priv->group);
	CHECK_EQ_INT(priv->version, 2);
	CHECK_EQ_STR(priv->auth_pass, "secret");
	CHECK_EQ_INT(priv->vips.n, 2);
	CHECK_EQ_INT(priv->vips.items[0].addr.prefixlen, 32);
	CHECK_EQ_INT(priv->track_scripts.items[0].weight, 5);
	CHECK_EQ_INT(priv->track_interfaces.n, 2);
	CHECK_EQ_INT(priv->track_interfaces.items[0].weight, -10);
	CHECK(!priv->track_interfaces.items[1].has_weight);
	t = director_config_track_script(cfg, "chk_haproxy");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->weight, 2);
		CHECK_EQ_INT(t->interval_ms, 2000);
		CHECK_EQ_INT(t->timeout_ms, 2000);	/* defaults to the interval */
	}
out:
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

TEST(normalized_output_loads_again)
{
	struct director_config *cfg = NULL, *again = NULL;
	struct ini_diag diag;
	struct strbuf one, two;

	sb_init(&one);
	sb_init(&two);
	CHECK_EQ_INT(load_text(sync_group_setup, &cfg, &diag), 0);
	unlink(path);
	if (cfg) {
		director_config_print(cfg, &one);
		ini_diag_free(&diag);
		CHECK_EQ_INT(load_text(sb_str(&one), &again, &diag), 0);
		unlink(path);
		if (again) {
			director_config_print(again, &two);
			CHECK_EQ_STR(sb_str(&one), sb_str(&two));
		}
	}
	director_config_free(cfg);
	director_config_free(again);
	ini_diag_free(&diag);
	sb_free(&one);
	sb_free(&two);
}

static void expect_error(const char *text, const char *needle)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	CHECK(load_text(text, &cfg, &diag) < 0);
	CHECK(cfg == NULL);
	CHECK(diag_has(&diag, needle));
	ini_diag_free(&diag);
	unlink(path);
}

#define VRRP(extra) "[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1\n" extra

TEST(cross_checks)
{
	expect_error(VRRP("track_script = nope\n"), ":5: vrrp a.track_script: no [track_script nope] section");
	expect_error(VRRP("version = 2\nadvert_interval = 1500ms\n"), "vrrp a.advert_interval: VRRPv2 counts whole seconds");
	expect_error(VRRP("advert_interval = 15ms\n"), "VRRPv3 counts centiseconds");
	expect_error(VRRP("auth_pass = x\n"), "vrrp a.auth_pass: only VRRPv2 has authentication");
	expect_error(VRRP("version = 2\nauth_pass = 123456789\n"), "1 to 8 characters");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nversion = 2\nvirtual_ipaddress = 2001:db8::1\n",
		     "VRRPv2 carries IPv4 only");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1, 2001:db8::1\n",
		     "all addresses of one instance must be of one family");
	expect_error(VRRP("[vrrp b]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.2\n"),
		     "vrrp b.virtual_router_id: 1 is already used on eth0 by [vrrp a]");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1 label eth1:x\n",
		     "label eth1:x must be the interface name or start with it and ':'");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1 label eth0x\n",
		     "label eth0x must be the interface name");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1 brd\n",
		     "'brd' needs a value");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.1 color red\n",
		     "unknown option 'color'");
	expect_error(VRRP("[sync_group g]\ninstances = a, ghost\n"), "sync_group g.instances: no [vrrp ghost] section");
	expect_error(VRRP("[sync_group g]\ninstances = a\n"), "a sync group needs at least two instances");
	expect_error(VRRP("unicast_peer = 2001:db8::2\n"), "every peer must be of the VIPs' family");
	/* One host each: a prefix length has no meaning, and is refused. */
	expect_error(VRRP("unicast_peer = 192.0.2.2, 192.0.2.3/32\n"),
		     ":5: vrrp a.unicast_peer: 192.0.2.3/32: addresses without a prefix length");
	expect_error(VRRP("unicast_src_ip = 192.0.2.9/24\n"), ":5: vrrp a.unicast_src_ip: an address without a prefix length");
	expect_error(VRRP("track_interface = eth0 weight 300\n"), "vrrp a.track_interface");
	expect_error("[global]\nuser = root\n" VRRP(""), "global.user: the daemon must not run as root");
	expect_error("[global]\n", "no [vrrp NAME] or [virtual_server NAME] section");
	expect_error(VRRP("virtual_router_idd = 3\n"), "did you mean 'virtual_router_id'?");
	expect_error(VRRP("accept = no\n"), "vrrp a.accept: 'no' is not supported");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 2001:db8::1 brd 2001:db8::ff\n",
		     "brd is for IPv4 addresses");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_ipaddress = 192.0.2.1\n", "vrrp a.virtual_router_id: missing required key");
}

/* A required key that is absent leaves its field NULL or empty: the checks
 * across keys, which run after such errors too, must not read it (a
 * [vrrp] without interface crashed directord -t and a reload). */
TEST(required_keys_absent)
{
	expect_error("[vrrp a]\nvirtual_router_id = 5\npriority = 100\nvirtual_ipaddress = 192.0.2.5/32\n",
		     ":1: vrrp a.interface: missing required key");
	expect_error("[vrrp a]\nvirtual_router_id = 5\nvirtual_ipaddress = 192.0.2.5 label eth0:x\n",
		     ":1: vrrp a.interface: missing required key");
	/* Two instances with one VRID, the second, then the first, without
	 * an interface to compare. */
	expect_error(VRRP("[vrrp b]\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.2\n"),
		     ":5: vrrp b.interface: missing required key");
	expect_error("[vrrp b]\nvirtual_router_id = 1\nvirtual_ipaddress = 192.0.2.2\n" VRRP(""),
		     ":1: vrrp b.interface: missing required key");
	expect_error("[vrrp a]\ninterface = eth0\nvirtual_router_id = 1\n",
		     ":1: vrrp a.virtual_ipaddress: missing required key");
	expect_error(VRRP("track_file = f\n[track_file f]\nweight = 2\n"), ":6: track_file f.path: missing required key");
	expect_error(VRRP("track_script = s\n[track_script s]\ninterval = 1s\n"),
		     ":6: track_script s.command: missing required key");
	expect_error(VRRP("[sync_group g]\nnotify = /bin/true\n"), ":5: sync_group g.instances: missing required key");
	expect_error(VRRP("[sync_group g]\ninstances =\n"), "sync_group g.instances");
	expect_error("[vrrp a]\n", ":1: vrrp a.interface: missing required key");
}

/* [track_process]: every key range-checked, with its file and line. */
TEST(track_process_errors)
{
#define TPV(extra) VRRP("track_process = h\n[track_process h]\n" extra)
	expect_error(TPV("quorum = 2\n"), ":6: track_process h.process: missing required key");
	expect_error(TPV("process = haproxy\nquorum = 70000\n"), ":8: track_process h.quorum");
	expect_error(TPV("process = haproxy\nquorum_max = -1\n"), ":8: track_process h.quorum_max");
	expect_error(TPV("process = haproxy\nquorum = 3\nquorum_max = 2\n"),
		     ":9: track_process h.quorum_max: 2 is less than quorum (3)");
	expect_error(TPV("process = haproxy\nweight = 255\n"), ":8: track_process h.weight");
	expect_error(TPV("process = haproxy\ndelay = 2h\n"), ":8: track_process h.delay");
	expect_error(TPV("process = haproxy\nterminate_delay = soon\n"), ":8: track_process h.terminate_delay");
	expect_error(TPV("process = haproxy\nfork_delay = -1s\n"), ":8: track_process h.fork_delay");
	expect_error(TPV("process = haproxy\nparam_match = fuzzy\n"), ":8: track_process h.param_match");
	expect_error(TPV("process = haproxy\nfull_command = maybe\n"), ":8: track_process h.full_command");
	expect_error(TPV("process = haproxy -f x\n"), ":7: track_process h.process: a process name: not empty, no blanks");
	expect_error(TPV("process = a-name-of-sixteen-b\n"), ":7: track_process h.process: longer than the 15 bytes");
	expect_error(TPV("process = haproxy\nquorom = 1\n"), "did you mean 'quorum'?");
	expect_error(VRRP("track_process = ghost\n"), ":5: vrrp a.track_process: no [track_process ghost] section");
	expect_error(VRRP("track_process = h weight 300\n[track_process h]\nprocess = x\n"), ":5: vrrp a.track_process");
#undef TPV
}

/* Item 4 of issue 14: said once at line 1, and the rest is still read. */
TEST(byte_order_mark)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	CHECK(load_text("\xef\xbb\xbf" VRRP(""), &cfg, &diag) < 0);
	CHECK(diag_has(&diag, ":1: file starts with a UTF-8 byte-order mark; save it without one"));
	CHECK_EQ_INT(diag.n, 1);
	ini_diag_free(&diag);
	unlink(path);
	director_config_free(cfg);
}

/* The reload's entry: the bytes, with the path for messages. */
TEST(load_from_buffer)
{
	static const char text[] = VRRP("");
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	ini_diag_init(&diag);
	CHECK_EQ_INT(director_config_load_buffer("/etc/x.ini", text, sizeof(text) - 1, &cfg, &diag), 0);
	CHECK(cfg && strcmp(cfg->path, "/etc/x.ini") == 0 && cfg->ninstances == 1);
	director_config_free(cfg);
	cfg = NULL;
	CHECK(director_config_load_buffer("/etc/x.ini", text, 20, &cfg, &diag) < 0);
	CHECK(cfg == NULL);
	CHECK(diag_has(&diag, "/etc/x.ini:"));
	ini_diag_free(&diag);
}

struct loaded {
	bool done;
	int result;
	bool said_unreadable;
	char router_id[32];
};

static void on_loaded(struct director_config *cfg, int result, const struct ini_diag *diag, uint64_t read_ms,
		      void *arg)
{
	struct loaded *l = arg;

	(void)read_ms;
	l->done = true;
	l->result = result;
	l->said_unreadable = result != 0 && diag_has(diag, "the configuration from the parent cannot be read");
	if (cfg && cfg->router_id)
		strlcpy_safe(l->router_id, cfg->router_id, sizeof(l->router_id));
	director_config_free(cfg);
}

/* A memfd holding len bytes of image. */
static int image_fd(const char *image, size_t len)
{
	int fd = memfd_create("test-image", MFD_CLOEXEC);

	if (fd >= 0 && write(fd, image, len) != (ssize_t)len) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* An engine's reload: the configuration rebuilt from the image the
 * parent sent, beside the loop. */
static int engine_load(int image, struct loaded *l)
{
	struct evloop *loop;
	struct config_load *cl;
	int ret;

	memset(l, 0, sizeof(*l));
	if (evloop_new(&loop) < 0)
		return -ENOMEM;
	ret = config_load_start(loop, image, NULL, true, on_loaded, l, &cl);
	for (int i = 0; ret == 0 && !l->done && i < 500; i++)
		evloop_run_once(loop, 10);
	evloop_free(loop);
	return ret;
}

/* The engine takes the image, never the file: the file is gone before it
 * loads. A damaged image is refused, with why. */
TEST(engine_loads_the_image_not_the_file)
{
	static const char text[] = "[global]\nrouter_id = from-the-image\n" VRRP("");
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	struct strbuf image;
	struct loaded l;

	CHECK_EQ_INT(load_text(text, &cfg, &diag), 0);
	ini_diag_free(&diag);
	unlink(path);
	if (!cfg)
		return;
	sb_init(&image);
	CHECK_EQ_INT(director_config_image(cfg, &image), 0);
	director_config_free(cfg);
	CHECK_EQ_INT(engine_load(image_fd(image.buf, image.len), &l), 0);
	CHECK(l.done);
	CHECK_EQ_INT(l.result, 0);
	CHECK_EQ_STR(l.router_id, "from-the-image");
	CHECK_EQ_INT(engine_load(image_fd(image.buf, image.len / 2), &l), 0);
	CHECK(l.done);
	CHECK_EQ_INT(l.result, -EBADMSG);
	CHECK(l.said_unreadable);
	CHECK_EQ_INT(engine_load(image_fd("", 0), &l), 0);
	CHECK_EQ_INT(l.result, -EBADMSG);
	sb_free(&image);
}

/* engine_heartbeat_timeout: 3s unless set, 0 (off) or 500ms to 60s. */
TEST(heartbeat_timeout_key)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	expect_error("[global]\nengine_heartbeat_timeout = 100ms\n" VRRP(""),
		     "global.engine_heartbeat_timeout: 0 (off) or at least 500ms");
	expect_error("[global]\nengine_heartbeat_timeout = 2m\n" VRRP(""), "global.engine_heartbeat_timeout");
	CHECK_EQ_INT(load_text(VRRP(""), &cfg, &diag), 0);
	if (cfg)
		CHECK_EQ_INT(cfg->heartbeat_timeout_ms, 3000);
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
	cfg = NULL;
	CHECK_EQ_INT(load_text("[global]\nengine_heartbeat_timeout = 0\n" VRRP(""), &cfg, &diag), 0);
	if (cfg)
		CHECK_EQ_INT(cfg->heartbeat_timeout_ms, 0);
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

/* metrics_listen and metrics_allow: off unless set; then a port and an
 * allow list; each error at its line. */
TEST(metrics_keys)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;

	expect_error("[global]\nmetrics_listen = 192.0.2.1\nmetrics_allow = 192.0.2.9\n" VRRP(""),
		     ":2: global.metrics_listen: a port is required");
	expect_error("[global]\nmetrics_listen = 192.0.2.1:9101\n" VRRP(""),
		     "global.metrics_allow: the addresses of the Prometheus servers are required with metrics_listen");
	expect_error("[global]\nuser = nobody\nmetrics_allow = 192.0.2.9\n" VRRP(""),
		     ":3: global.metrics_allow: without metrics_listen");
	expect_error("[global]\nmetrics_listen = 192.0.2.1:70000\nmetrics_allow = 192.0.2.9\n" VRRP(""),
		     ":2: global.metrics_listen");
	expect_error("[global]\nmetrics_listen = [2001:db8::1]:9101\nmetrics_allow = 192.0.2.300\n" VRRP(""),
		     ":3: global.metrics_allow");
	CHECK_EQ_INT(load_text("[global]\nmetrics_listen = [2001:db8::1]:9101\nmetrics_allow = 192.0.2.0/28, 2001:db8::9\n"
			       VRRP(""), &cfg, &diag), 0);
	if (cfg) {
		CHECK_EQ_INT(cfg->metrics_listen.port, 9101);
		CHECK_EQ_INT(cfg->metrics_allow.n, 2);
	}
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

TEST(vip_entry_parser)
{
	struct vip_conf v;
	char err[PARSE_ERR_MAX];

	CHECK_EQ_INT(vip_conf_parse("2001:db8::10/64 dev eth1 scope global", &v, err), 0);
	CHECK_EQ_INT(v.addr.family, AF_INET6);
	CHECK_EQ_INT(v.addr.prefixlen, 64);
	CHECK_EQ_STR(v.dev, "eth1");
	CHECK(vip_conf_parse("192.0.2.1 brd 2001:db8::1", &v, err) < 0);
	CHECK_CONTAINS(err, "family");
	CHECK(vip_conf_parse("192.0.2.1 scope moon", &v, err) < 0);
	CHECK(vip_conf_parse("", &v, err) < 0);
}

static const char *route_round_trip(const char *text, struct strbuf *sb)
{
	struct route_conf r;
	char err[PARSE_ERR_MAX];

	sb_reset(sb);
	if (route_conf_parse(text, &r, err) < 0) {
		sb_printf(sb, "error: %s", err);
		return sb_str(sb);
	}
	route_conf_print(&r, sb);
	return sb_str(sb);
}

TEST(route_entry_parser)
{
	struct route_conf r;
	struct strbuf sb;
	char err[PARSE_ERR_MAX];

	/* keepalived's order reads too. */
	CHECK_EQ_INT(route_conf_parse("src 192.0.2.1 to 198.18.60.0/24 via 198.18.0.254 dev eth1 metric 10", &r, err), 0);
	CHECK_EQ_INT(r.src.family, AF_INET);
	CHECK_EQ_INT(r.type, RTN_UNICAST);
	CHECK_EQ_INT(r.dst.prefixlen, 24);
	CHECK_EQ_INT(r.metric, 10);
	CHECK_EQ_STR(r.dev, "eth1");
	CHECK_EQ_INT(r.scope, -1);
	CHECK_EQ_INT(r.table, 0);

	sb_init(&sb);
	CHECK_EQ_STR(route_round_trip("198.18.60.0/24 via 198.18.0.254", &sb), "198.18.60.0/24 via 198.18.0.254");
	CHECK_EQ_STR(route_round_trip("blackhole 198.18.61.0/24 table 100", &sb), "blackhole 198.18.61.0/24 table 100");
	CHECK_EQ_STR(route_round_trip("198.18.62.7 dev eth0 table main scope link", &sb), "198.18.62.7/32 dev eth0 scope link");
	CHECK_EQ_STR(route_round_trip("2001:db8:5::/48 via 2001:db8::fe metric 4294967295", &sb),
		     "2001:db8:5::/48 via 2001:db8::fe metric 4294967295");
	CHECK_EQ_STR(route_round_trip("unreachable 0.0.0.0/0", &sb), "unreachable 0.0.0.0/0");
	/* Mistakes say what is wrong. */
	CHECK_CONTAINS(route_round_trip("198.18.60.1/24 via 198.18.0.254", &sb), "host bits");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 via 2001:db8::1", &sb), "family");
	CHECK_CONTAINS(route_round_trip("blackhole 198.18.60.0/24 dev eth0", &sb), "a blackhole route takes neither via nor dev");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 via", &sb), "'via' needs a value");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 gateway 198.18.0.1", &sb), "unknown option 'gateway'");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 table 0", &sb), "table");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 metric -1", &sb), "metric");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 via 198.18.0.1/24", &sb), "without a prefix length");
	CHECK_CONTAINS(route_round_trip("blackhole", &sb), "no destination");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 to", &sb), "unknown option 'to'");
	CHECK_CONTAINS(route_round_trip("src 192.0.2.1 to", &sb), "no destination");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 198.18.61.0/24", &sb), "unknown option '198.18.61.0/24'");
	CHECK_CONTAINS(route_round_trip("198.18.60.0/24 scope moon", &sb), "scope 'moon'");
	sb_free(&sb);
	expect_error(VRRP("virtual_routes = 198.18.60.0/24 via 198.18.0.254, 198.18.70.0/33\n"),
		     "vrrp a.virtual_routes: '198.18.70.0/33'");
}

/* global.user: dsrkit unless the file names a user; nobody, named, loads
 * with a warning at its line; the loader says whether the user was named. */
TEST(daemon_user_default_and_named)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	int r = load_text(VRRP(""), &cfg, &diag);

	if (getpwnam("dsrkit")) {
		CHECK_EQ_INT(r, 0);
		if (cfg) {
			CHECK_EQ_STR(cfg->user, "dsrkit");
			CHECK(!cfg->user_named);
			CHECK_EQ_STR(cfg->user_warning, "");
		}
	} else {
		CHECK(r < 0);
		CHECK(diag_has(&diag, ":1: global.user: no such user 'dsrkit' (the default): create it with"));
	}
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
	cfg = NULL;
	CHECK_EQ_INT(load_text("[global]\nuser = nobody\n" VRRP(""), &cfg, &diag), 0);
	if (cfg) {
		CHECK_EQ_STR(cfg->user, "nobody");
		CHECK(cfg->user_named);
		CHECK_CONTAINS(cfg->user_warning, ":2: global.user: warning: 'nobody' (uid ");
		CHECK(strncmp(cfg->user_warning, path, strlen(path)) == 0);
	}
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

TEST(track_ref_parser)
{
	struct track_ref t;
	char err[PARSE_ERR_MAX];

	CHECK_EQ_INT(track_ref_parse("chk weight -20", &t, err), 0);
	CHECK_EQ_STR(t.name, "chk");
	CHECK_EQ_INT(t.weight, -20);
	CHECK(t.has_weight);
	CHECK(track_ref_parse("chk wait 2", &t, err) < 0);
	CHECK(track_ref_parse("chk weight", &t, err) < 0);
}

TEST_MAIN(T(track_process_errors), T(sync_group_setup_loads), T(normalized_output_loads_again), T(cross_checks), T(required_keys_absent),
	  T(byte_order_mark), T(load_from_buffer), T(engine_loads_the_image_not_the_file), T(heartbeat_timeout_key), T(metrics_keys),
	  T(vip_entry_parser), T(route_entry_parser), T(track_ref_parser), T(daemon_user_default_and_named))
