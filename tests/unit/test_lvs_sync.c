/* The connection-sync daemon and the IPVS timeouts: the [global]
 * ipvs_sync_* and ipvs_timeout_* keys (defaults, the default sync id
 * taken from the followed instance, every error at its line), what the
 * engine asks the kernel for (lvs_sync_daemon_conf, lvs_timeouts_conf),
 * the decision from the VRRP state and the plan against what runs
 * (lvs_policy.c), and the decoding of the kernel's daemon and config
 * replies (ipvs.c), built here with libnl as the kernel lays them out. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "directord.h"
#include "ipvs.h"
#include "lvs.h"
#include "test.h"
#include "vrrp.h"

static char path[64];

static int load_text(const char *text, struct director_config **cfg, struct ini_diag *diag)
{
	FILE *f;
	int fd;

	*cfg = NULL;
	strlcpy_safe(path, "/tmp/dsrkit-lvssync.XXXXXX", sizeof(path));
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

static void print_diag(const struct ini_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    %s\n", d->msgs[i]);
}

static struct director_config *load_ok(const char *text)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	int ret = load_text(text, &cfg, &diag);

	if (ret != 0 || diag.n != 0) {
		fprintf(stderr, "  load failed (%d):\n", ret);
		print_diag(&diag);
		test_failed_checks++;
	}
	ini_diag_free(&diag);
	unlink(path);
	return cfg;
}

/* needle follows the path: ":LINE: section.key: message". */
static void expect_error_at(const char *text, const char *needle, int line)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	bool found = false;

	if (load_text(text, &cfg, &diag) >= 0 || cfg != NULL) {
		fprintf(stderr, "  test line %d: loaded, expected \"%s\"\n", line, needle);
		test_failed_checks++;
	} else {
		for (size_t i = 0; i < diag.n; i++)
			found |= strstr(diag.msgs[i], needle) != NULL;
		if (!found) {
			fprintf(stderr, "  test line %d: no message contains \"%s\"; got:\n", line, needle);
			print_diag(&diag);
			test_failed_checks++;
		}
	}
	director_config_free(cfg);
	ini_diag_free(&diag);
	unlink(path);
}

#define expect_error(text, needle) expect_error_at(text, needle, __LINE__)

/* A director with two instances in a sync group; [global] lines first. */
#define VRRP_PART \
	"[vrrp VI_A]\ninterface = eth0\nvirtual_router_id = 51\nvirtual_ipaddress = 192.0.2.80/24\n" \
	"[vrrp VI_B]\ninterface = eth1\nvirtual_router_id = 52\nvirtual_ipaddress = 198.18.1.80/24\n" \
	"[sync_group G]\ninstances = VI_B, VI_A\n"
#define GLOBAL(lines) "[global]\n" lines VRRP_PART

/* ---- keys ---- */

TEST(defaults_without_sync)
{
	struct director_config *cfg = load_ok(GLOBAL(""));
	struct ipvs_daemon d;
	struct ipvs_timeouts t;

	if (!cfg)
		return;
	CHECK(cfg->lvs.sync.interface == NULL);
	CHECK(!lvs_sync_daemon_conf(&cfg->lvs, IPVS_DAEMON_MASTER, &d));
	CHECK(!lvs_timeouts_conf(&cfg->lvs, &t));
	CHECK_EQ_INT(t.tcp, 0);
	CHECK(!lvs_config_wanted(&cfg->lvs));	/* no LVS engine for VRRP alone */
	director_config_free(cfg);
}

TEST(sync_defaults_follow_instance)
{
	struct director_config *cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = vi_a\n"));
	struct ipvs_daemon d;

	if (!cfg)
		return;
	CHECK_EQ_STR(cfg->lvs.sync.interface, "eth1");
	CHECK(cfg->lvs.sync.sync_id.set);
	CHECK_EQ_INT(cfg->lvs.sync.sync_id.value, 51);	/* VI_A's virtual_router_id */
	CHECK_EQ_INT(cfg->lvs.sync.port, 8848);
	CHECK_EQ_INT(cfg->lvs.sync.ttl, 1);
	CHECK_EQ_INT(cfg->lvs.sync.group.family, 0);
	CHECK(!cfg->lvs.sync.maxlen.set);
	CHECK(lvs_config_wanted(&cfg->lvs));
	CHECK(lvs_sync_daemon_conf(&cfg->lvs, IPVS_DAEMON_BACKUP, &d));
	CHECK_EQ_INT(d.state, IPVS_DAEMON_BACKUP);
	CHECK_EQ_STR(d.ifname, "eth1");
	CHECK_EQ_INT(d.sync_id, 51);
	CHECK_EQ_INT(d.port, 8848);
	CHECK_EQ_INT(d.ttl, 1);
	CHECK_EQ_INT(d.maxlen, 0);
	CHECK_EQ_INT(d.group.family, 0);
	director_config_free(cfg);
}

TEST(sync_default_id_of_sync_group)
{
	/* The group's first instance is VI_B (52), not the first section. */
	struct director_config *cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = G\n"));

	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->lvs.sync.sync_id.value, 52);
	director_config_free(cfg);
}

TEST(sync_values_given)
{
	struct director_config *cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\n"
						     "ipvs_sync_id = 0\nipvs_sync_group = 239.1.2.3\n"
						     "ipvs_sync_port = 9000\nipvs_sync_ttl = 255\n"
						     "ipvs_sync_maxlen = 1400\n"));
	struct ipvs_daemon d;
	char buf[160];

	if (!cfg)
		return;
	/* 0 given is 0, not the default. */
	CHECK(cfg->lvs.sync.sync_id.set);
	CHECK_EQ_INT(cfg->lvs.sync.sync_id.value, 0);
	CHECK(lvs_sync_daemon_conf(&cfg->lvs, IPVS_DAEMON_MASTER, &d));
	CHECK_EQ_INT(d.sync_id, 0);
	CHECK_EQ_INT(d.group.family, AF_INET);
	CHECK_EQ_INT(d.port, 9000);
	CHECK_EQ_INT(d.ttl, 255);
	CHECK_EQ_INT(d.maxlen, 1400);
	CHECK_EQ_STR(ipvs_daemon_text(&d, buf, sizeof(buf)),
		     "master on eth1, sync id 0, group 239.1.2.3:9000, ttl 255, maxlen 1400");
	director_config_free(cfg);
	cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_group = ff02::8848\n"));
	if (!cfg)
		return;
	CHECK(lvs_sync_daemon_conf(&cfg->lvs, IPVS_DAEMON_MASTER, &d));
	CHECK_EQ_INT(d.group.family, AF_INET6);
	CHECK_EQ_STR(ipvs_daemon_text(&d, buf, sizeof(buf)), "master on eth1, sync id 51, group [ff02::8848]:8848, ttl 1");
	director_config_free(cfg);
}

TEST(timeouts)
{
	struct director_config *cfg = load_ok(GLOBAL("ipvs_timeout_tcp = 15m\nipvs_timeout_udp = 200\n"));
	struct ipvs_timeouts t;

	if (!cfg)
		return;
	CHECK(lvs_timeouts_conf(&cfg->lvs, &t));
	CHECK_EQ_INT(t.tcp, 900);
	CHECK_EQ_INT(t.tcp_fin, 0);	/* left as the kernel has it */
	CHECK_EQ_INT(t.udp, 200);
	CHECK(lvs_config_wanted(&cfg->lvs));	/* the LVS engine sets them */
	director_config_free(cfg);
	cfg = load_ok(GLOBAL("ipvs_timeout_tcp_fin = 2147483s\n"));	/* the largest */
	if (!cfg)
		return;
	CHECK(lvs_timeouts_conf(&cfg->lvs, &t));
	CHECK_EQ_INT(t.tcp_fin, 2147483);
	director_config_free(cfg);
}

TEST(sync_errors)
{
	expect_error(GLOBAL("ipvs_sync_interface = eth1\n"),
		     ":2: global.ipvs_sync_interface: needs ipvs_sync_follow");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_X\n"),
		     ":3: global.ipvs_sync_follow: no [vrrp VI_X] or [sync_group VI_X] section");
	expect_error(GLOBAL("ipvs_sync_follow = VI_A\n"),
		     ":2: global.ipvs_sync_follow: only with ipvs_sync_interface");
	expect_error(GLOBAL("ipvs_sync_id = 5\n"), ":2: global.ipvs_sync_id: only with ipvs_sync_interface");
	expect_error(GLOBAL("ipvs_sync_group = 239.1.1.1\n"), ":2: global.ipvs_sync_group: only with ipvs_sync_interface");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_id = 256\n"),
		     ":4: global.ipvs_sync_id:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_ttl = 0\n"),
		     ":4: global.ipvs_sync_ttl:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_ttl = 256\n"),
		     ":4: global.ipvs_sync_ttl:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_port = 0\n"),
		     ":4: global.ipvs_sync_port:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_port = 65536\n"),
		     ":4: global.ipvs_sync_port:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_maxlen = 1023\n"),
		     ":4: global.ipvs_sync_maxlen:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_maxlen = 65488\n"),
		     ":4: global.ipvs_sync_maxlen:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_group = 192.0.2.1\n"),
		     ":4: global.ipvs_sync_group: 192.0.2.1 is not a multicast address");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_group = 2001:db8::1\n"),
		     ":4: global.ipvs_sync_group: 2001:db8::1 is not a multicast address");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_group = 239.0.0.0/8\n"),
		     ":4: global.ipvs_sync_group:");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\nipvs_sync_group = nowhere\n"),
		     ":4: global.ipvs_sync_group:");
	expect_error(GLOBAL("ipvs_sync_interface = a/b\nipvs_sync_follow = VI_A\n"),
		     ":2: global.ipvs_sync_interface: 'a/b' is not an interface name");
	expect_error(GLOBAL("ipvs_sync_interface = abcdefghijklmnopq\nipvs_sync_follow = VI_A\n"),
		     ":2: global.ipvs_sync_interface:");
}

/* ipvs_sync_mode = both: no VRRP instance to follow (none may be named),
 * no default sync id (0: a backup takes every id); printed, it loads
 * again. */
TEST(sync_mode_both)
{
	struct director_config *cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_mode = both\n")), *again;
	struct ipvs_daemon d;
	struct strbuf sb;

	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->lvs.sync.mode, LVS_SYNC_BOTH);
	CHECK(!cfg->lvs.sync.sync_id.set);
	CHECK(lvs_sync_daemon_conf(&cfg->lvs, IPVS_DAEMON_MASTER, &d) && d.sync_id == 0);
	sb_init(&sb);
	director_config_print(cfg, &sb);
	CHECK_CONTAINS(sb_str(&sb), "ipvs_sync_interface = eth1\nipvs_sync_mode = both\n");
	again = load_ok(sb_str(&sb));
	CHECK(again && again->lvs.sync.mode == LVS_SYNC_BOTH);
	director_config_free(again);
	sb_free(&sb);
	director_config_free(cfg);
	cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = VI_A\n"));
	CHECK(cfg && cfg->lvs.sync.mode == LVS_SYNC_VRRP);
	director_config_free(cfg);
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_mode = both\nipvs_sync_follow = VI_A\n"),
		     ":4: global.ipvs_sync_follow: not with ipvs_sync_mode = both: the master and the backup daemons "
		     "both run, whatever the VRRP states");
	expect_error(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_mode = all\n"), ":3: global.ipvs_sync_mode:");
}

TEST(timeout_errors)
{
	expect_error(GLOBAL("ipvs_timeout_tcp = 1500ms\n"), ":2: global.ipvs_timeout_tcp: IPVS counts whole seconds");
	expect_error(GLOBAL("ipvs_timeout_tcp_fin = 2147484s\n"), ":2: global.ipvs_timeout_tcp_fin:");
	expect_error(GLOBAL("ipvs_timeout_udp = soon\n"), ":2: global.ipvs_timeout_udp:");
	expect_error(GLOBAL("ipvs_timeout_udp = 10ms\n"), ":2: global.ipvs_timeout_udp: IPVS counts whole seconds");
}

/* The normalized output writes the default sync id out and loads again
 * to the same. */
TEST(normalized_output_loads_again)
{
	struct director_config *cfg = load_ok(GLOBAL("ipvs_sync_interface = eth1\nipvs_sync_follow = G\n"
						     "ipvs_sync_group = 239.1.2.3\nipvs_timeout_tcp = 15m\n"));
	struct director_config *again;
	struct strbuf one, two;

	if (!cfg)
		return;
	sb_init(&one);
	sb_init(&two);
	director_config_print(cfg, &one);
	CHECK_CONTAINS(sb_str(&one), "ipvs_sync_id = 52\n");
	CHECK_CONTAINS(sb_str(&one), "ipvs_sync_group = 239.1.2.3\n");
	CHECK_CONTAINS(sb_str(&one), "ipvs_timeout_tcp = 15m\n");
	CHECK(strstr(sb_str(&one), "ipvs_sync_maxlen") == NULL);
	again = load_ok(sb_str(&one));
	if (again) {
		director_config_print(again, &two);
		CHECK_EQ_STR(sb_str(&two), sb_str(&one));
	}
	director_config_free(again);
	director_config_free(cfg);
	/* Without a sync daemon nothing of it is printed that would not load. */
	cfg = load_ok(GLOBAL(""));
	sb_free(&one);
	sb_init(&one);
	if (cfg) {
		director_config_print(cfg, &one);
		again = load_ok(sb_str(&one));
		director_config_free(again);
	}
	director_config_free(cfg);
	sb_free(&one);
	sb_free(&two);
}

/* ---- the decision ---- */

TEST(wanted_state_from_vrrp)
{
	CHECK_EQ_INT(lvs_sync_wanted_state(true, VRRP_STATE_MASTER), IPVS_DAEMON_MASTER);
	CHECK_EQ_INT(lvs_sync_wanted_state(true, VRRP_STATE_BACKUP), IPVS_DAEMON_BACKUP);
	CHECK_EQ_INT(lvs_sync_wanted_state(true, VRRP_STATE_FAULT), IPVS_DAEMON_BACKUP);
	CHECK_EQ_INT(lvs_sync_wanted_state(true, VRRP_STATE_INIT), IPVS_DAEMON_BACKUP);
	/* Not known yet (start): backup, whatever the number says. */
	CHECK_EQ_INT(lvs_sync_wanted_state(false, VRRP_STATE_MASTER), IPVS_DAEMON_BACKUP);
}

static struct ipvs_daemon daemon_of(uint32_t state, const char *ifname, uint32_t id)
{
	struct ipvs_daemon d;

	memset(&d, 0, sizeof(d));
	d.state = state;
	strlcpy_safe(d.ifname, ifname, sizeof(d.ifname));
	d.sync_id = id;
	return d;
}

/* What the kernel reports for a daemon started with defaults. */
static struct ipvs_daemon running_of(uint32_t state, const char *ifname, uint32_t id)
{
	struct ipvs_daemon d = daemon_of(state, ifname, id);

	d.group.family = AF_INET;
	d.group.u.v4.s_addr = htonl(0xe0000051);
	d.port = 8848;
	d.ttl = 1;
	d.maxlen = 1472;
	return d;
}

TEST(plan_against_running)
{
	struct ipvs_daemon want = daemon_of(IPVS_DAEMON_MASTER, "eth1", 51);
	struct ipvs_daemon run[2];
	struct lvs_sync_plan p;

	/* Nothing runs: start it. */
	lvs_sync_plan(&want, run, 0, &p);
	CHECK(p.start);
	CHECK_EQ_INT(p.stop, 0);
	/* It runs as wanted, with the kernel's defaults filled in: leave it. */
	run[0] = running_of(IPVS_DAEMON_MASTER, "eth1", 51);
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(!p.start);
	CHECK_EQ_INT(p.stop, 0);
	/* The backup runs as well: master state and not backup. */
	run[1] = running_of(IPVS_DAEMON_BACKUP, "eth1", 51);
	lvs_sync_plan(&want, run, 2, &p);
	CHECK(!p.start);
	CHECK_EQ_INT(p.stop, IPVS_DAEMON_BACKUP);
	/* Mastership lost: stop the master, start the backup. */
	want.state = IPVS_DAEMON_BACKUP;
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start);
	CHECK_EQ_INT(p.stop, IPVS_DAEMON_MASTER);
	/* Another sync id, interface, port, ttl or group: restart. */
	want = daemon_of(IPVS_DAEMON_MASTER, "eth1", 77);
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start);
	CHECK_EQ_INT(p.stop, IPVS_DAEMON_MASTER);
	want = daemon_of(IPVS_DAEMON_MASTER, "eth2", 51);
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start && p.stop == IPVS_DAEMON_MASTER);
	want = daemon_of(IPVS_DAEMON_MASTER, "eth1", 51);
	want.port = 9000;
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start && p.stop == IPVS_DAEMON_MASTER);
	want.port = 8848;	/* the default written out is the same */
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(!p.start && p.stop == 0);
	want.ttl = 2;
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start && p.stop == IPVS_DAEMON_MASTER);
	want.ttl = 0;
	want.group.family = AF_INET;
	want.group.u.v4.s_addr = htonl(0xef010203);
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start && p.stop == IPVS_DAEMON_MASTER);
	/* maxlen: unset takes what runs; given must match. */
	want = daemon_of(IPVS_DAEMON_MASTER, "eth1", 51);
	want.maxlen = 1472;
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(!p.start && p.stop == 0);
	want.maxlen = 1400;
	lvs_sync_plan(&want, run, 1, &p);
	CHECK(p.start && p.stop == IPVS_DAEMON_MASTER);
	/* No daemon wanted (keys removed): stop all. */
	run[1] = running_of(IPVS_DAEMON_BACKUP, "eth1", 51);
	lvs_sync_plan(NULL, run, 2, &p);
	CHECK(!p.start);
	CHECK_EQ_INT(p.stop, IPVS_DAEMON_MASTER | IPVS_DAEMON_BACKUP);
	lvs_sync_plan(NULL, run, 0, &p);
	CHECK(!p.start && p.stop == 0);
}

/* ---- decoding the kernel's replies ---- */

struct dm_in {
	uint32_t state, sync_id;
	const char *ifname;
	const char *group;		/* NULL: none; IPv4 or IPv6 text */
	uint16_t port, maxlen;
	uint8_t ttl;
};

/* A nested IPVS_CMD_ATTR_DAEMON as ip_vs_genl_fill_daemon() writes it. */
static struct nl_msg *kernel_daemon(const struct dm_in *in)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_DAEMON);
	uint8_t a[16];

	nla_put_u32(msg, IPVS_DAEMON_ATTR_STATE, in->state);
	if (in->ifname)
		nla_put_string(msg, IPVS_DAEMON_ATTR_MCAST_IFN, in->ifname);
	nla_put_u32(msg, IPVS_DAEMON_ATTR_SYNC_ID, in->sync_id);
	nla_put_u16(msg, IPVS_DAEMON_ATTR_SYNC_MAXLEN, in->maxlen);
	nla_put_u16(msg, IPVS_DAEMON_ATTR_MCAST_PORT, in->port);
	nla_put_u8(msg, IPVS_DAEMON_ATTR_MCAST_TTL, in->ttl);
	if (in->group && inet_pton(AF_INET, in->group, a) == 1)
		nla_put(msg, IPVS_DAEMON_ATTR_MCAST_GROUP, 4, a);
	else if (in->group && inet_pton(AF_INET6, in->group, a) == 1)
		nla_put(msg, IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, a);
	nla_nest_end(msg, nest);
	return msg;
}

static int decode_daemon(const struct dm_in *in, struct ipvs_daemon *d)
{
	struct nl_msg *msg = kernel_daemon(in);
	struct nlattr *nest = (struct nlattr *)nlmsg_data(nlmsg_hdr(msg));
	int ret = ipvs_daemon_decode(nla_data(nest), (size_t)nla_len(nest), d);

	nlmsg_free(msg);
	return ret;
}

TEST(daemon_decode)
{
	struct dm_in in = { IPVS_DAEMON_BACKUP, 51, "eth1", "224.0.0.81", 8848, 1472, 1 };
	struct ipvs_daemon d, want = daemon_of(IPVS_DAEMON_BACKUP, "eth1", 51);
	char a[INET6_ADDRSTRLEN];

	CHECK_EQ_INT(decode_daemon(&in, &d), 0);
	CHECK_EQ_INT(d.state, IPVS_DAEMON_BACKUP);
	CHECK_EQ_STR(d.ifname, "eth1");
	CHECK_EQ_INT(d.sync_id, 51);
	CHECK_EQ_INT(d.port, 8848);	/* host order, as the kernel keeps it */
	CHECK_EQ_INT(d.ttl, 1);
	CHECK_EQ_INT(d.maxlen, 1472);
	CHECK_EQ_STR(ipaddr_ntop(&d.group, a, sizeof(a)), "224.0.0.81");
	CHECK(ipvs_daemon_same(&want, &d));
	in.group = "ff02::8848";
	in.state = IPVS_DAEMON_MASTER;
	CHECK_EQ_INT(decode_daemon(&in, &d), 0);
	CHECK_EQ_INT(d.group.family, AF_INET6);
	CHECK_EQ_STR(ipaddr_ntop(&d.group, a, sizeof(a)), "ff02::8848");
	CHECK(!ipvs_daemon_same(&want, &d));
	/* Refused: no interface, an unknown state, a sync id above 255, a
	 * group that is not multicast, a name too long. */
	in.group = NULL;
	in.ifname = NULL;
	CHECK_EQ_INT(decode_daemon(&in, &d), -EINVAL);
	in.ifname = "eth1";
	in.state = 3;
	CHECK_EQ_INT(decode_daemon(&in, &d), -EINVAL);
	in.state = IPVS_DAEMON_MASTER;
	in.sync_id = 256;
	CHECK_EQ_INT(decode_daemon(&in, &d), -EINVAL);
	in.sync_id = 0;
	in.group = "192.0.2.1";
	CHECK_EQ_INT(decode_daemon(&in, &d), -EINVAL);
	in.group = NULL;
	in.ifname = "abcdefghijklmnop";
	CHECK_EQ_INT(decode_daemon(&in, &d), -EINVAL);
	in.ifname = "";
	CHECK_EQ_INT(decode_daemon(&in, &d), -EINVAL);
	CHECK_EQ_INT(ipvs_daemon_decode(NULL, 0, &d), -EINVAL);
}

TEST(timeouts_decode)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct ipvs_timeouts t;
	uint8_t junk[3] = { 1, 2, 3 };

	nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_TCP, 900);
	nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, 120);
	nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_UDP, 300);
	CHECK_EQ_INT(ipvs_timeouts_decode(nlmsg_data(nlmsg_hdr(msg)), nlmsg_datalen(nlmsg_hdr(msg)), &t), 0);
	CHECK_EQ_INT(t.tcp, 900);
	CHECK_EQ_INT(t.tcp_fin, 120);
	CHECK_EQ_INT(t.udp, 300);
	nlmsg_free(msg);
	/* Nothing of it, or a truncated attribute: refused. */
	msg = nlmsg_alloc();
	nla_put_u32(msg, IPVS_CMD_ATTR_SERVICE, 1);
	CHECK_EQ_INT(ipvs_timeouts_decode(nlmsg_data(nlmsg_hdr(msg)), nlmsg_datalen(nlmsg_hdr(msg)), &t), -EINVAL);
	nlmsg_free(msg);
	msg = nlmsg_alloc();
	nla_put(msg, IPVS_CMD_ATTR_TIMEOUT_TCP, sizeof(junk), junk);
	CHECK_EQ_INT(ipvs_timeouts_decode(nlmsg_data(nlmsg_hdr(msg)), nlmsg_datalen(nlmsg_hdr(msg)), &t), -EINVAL);
	nlmsg_free(msg);
}

TEST(daemon_arguments_checked_before_the_kernel)
{
	struct ipvs_daemon d = daemon_of(3, "eth1", 1);

	/* No socket is needed to refuse these. */
	CHECK_EQ_INT(ipvs_daemon_add(NULL, &d), -EINVAL);
	CHECK_EQ_INT(ipvs_daemon_del(NULL, IPVS_DAEMON_MASTER), -EINVAL);
	CHECK_EQ_INT(ipvs_timeouts_get(NULL, NULL), -EINVAL);
	CHECK_CONTAINS(ipvs_daemon_strerror(-EEXIST), "already runs");
	CHECK_CONTAINS(ipvs_daemon_strerror(-ENODEV), "no such interface");
	CHECK_CONTAINS(ipvs_daemon_strerror(-ESRCH), "no sync daemon");
	CHECK_CONTAINS(ipvs_daemon_strerror(-EPERM), "CAP_NET_ADMIN");
}

TEST_MAIN(T(defaults_without_sync), T(sync_mode_both), T(sync_defaults_follow_instance), T(sync_default_id_of_sync_group),
	  T(sync_values_given), T(timeouts), T(sync_errors), T(timeout_errors), T(normalized_output_loads_again),
	  T(wanted_state_from_vrrp), T(plan_against_running), T(daemon_decode), T(timeouts_decode),
	  T(daemon_arguments_checked_before_the_kernel))
