/* dr.c against a fake kernel: apply/verify/remove logic without root. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs-agent.h"
#include "test.h"

#define FAKE_LINKS 4
#define FAKE_ADDRS 8

struct fake_kernel {
	struct rs_link links[FAKE_LINKS];
	size_t nlinks;
	struct rtnl_addrinfo addrs[FAKE_ADDRS];	/* on ifindex 1 (lo) */
	size_t naddrs;
	int conf[2][2];			/* all/default x ignore/announce */
	unsigned calls_set;
	unsigned calls_list;		/* address dumps */
	int fail_add;			/* -errno to return from addr_add */
	struct rtnl_proxy proxies[2];	/* the proxy-NDP table */
	size_t nproxies;
	unsigned calls_proxies;
};

static int which_conf(const char *which)
{
	return strcmp(which, "all") == 0 ? 0 : 1;
}

static int f_ifindex(void *ctx, const char *name)
{
	struct fake_kernel *f = ctx;

	for (size_t i = 0; i < f->nlinks; i++)
		if (strcmp(f->links[i].name, name) == 0)
			return f->links[i].ifindex;
	return -ENODEV;
}

static int f_links(void *ctx, struct rs_link **out, size_t *n)
{
	struct fake_kernel *f = ctx;

	*out = malloc(sizeof(f->links));
	memcpy(*out, f->links, sizeof(f->links));
	*n = f->nlinks;
	return 0;
}

static int f_proxy_list(void *ctx, struct rtnl_proxy **out, size_t *n)
{
	struct fake_kernel *f = ctx;

	f->calls_proxies++;
	*out = malloc(sizeof(f->proxies));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, f->proxies, sizeof(f->proxies));
	*n = f->nproxies;
	return 0;
}

static int f_link_set_arp(void *ctx, int ifindex, int ign, int ann)
{
	struct fake_kernel *f = ctx;

	f->calls_set++;
	for (size_t i = 0; i < f->nlinks; i++) {
		if (f->links[i].ifindex == ifindex) {
			f->links[i].arp_ignore = ign;
			f->links[i].arp_announce = ann;
			return 0;
		}
	}
	return -ENODEV;
}

static int f_addr_list(void *ctx, int ifindex, struct rtnl_addrinfo **out, size_t *n)
{
	struct fake_kernel *f = ctx;

	(void)ifindex;
	f->calls_list++;
	*out = malloc(sizeof(f->addrs));
	memcpy(*out, f->addrs, sizeof(f->addrs));
	*n = f->naddrs;
	return 0;
}

static int f_addr_add(void *ctx, int ifindex, const struct ipaddr *a, const char *label)
{
	struct fake_kernel *f = ctx;

	(void)ifindex;
	if (f->fail_add)
		return f->fail_add;
	f->calls_set++;
	/* Like the kernel: an IPv4 address without a label gets the device's name. */
	strlcpy_safe(f->addrs[f->naddrs].label, a->family == AF_INET6 ? "" : label ? label : "lo",
		     sizeof(f->addrs[0].label));
	f->addrs[f->naddrs++].addr = *a;
	return 0;
}

static int f_addr_del(void *ctx, int ifindex, const struct ipaddr *a)
{
	struct fake_kernel *f = ctx;

	(void)ifindex;
	f->calls_set++;
	for (size_t i = 0; i < f->naddrs; i++) {
		if (ipaddr_equal(&f->addrs[i].addr, a)) {
			f->addrs[i] = f->addrs[--f->naddrs];
			return 0;
		}
	}
	return 0;
}

static int f_conf_get(void *ctx, const char *which, int *ign, int *ann)
{
	struct fake_kernel *f = ctx;

	*ign = f->conf[which_conf(which)][0];
	*ann = f->conf[which_conf(which)][1];
	return 0;
}

static int f_conf_set(void *ctx, const char *which, int ign, int ann)
{
	struct fake_kernel *f = ctx;

	f->calls_set++;
	f->conf[which_conf(which)][0] = ign;
	f->conf[which_conf(which)][1] = ann;
	return 0;
}

static struct fake_kernel fk;
static struct kernel_ops kops;
static struct rs_config cfg;
static struct ipaddr vips[2];

static void setup(void)
{
	char err[PARSE_ERR_MAX];

	memset(&fk, 0, sizeof(fk));
	fk.links[0] = (struct rs_link){ 1, "lo", 0, 0 };
	fk.links[1] = (struct rs_link){ 2, "eth0", 0, 1 };
	fk.nlinks = 2;
	fk.conf[1][1] = 1;	/* default/arp_announce = 1 */
	kops = (struct kernel_ops){ &fk, f_ifindex, f_links, f_link_set_arp, f_addr_list,
				    f_addr_add, f_addr_del, f_conf_get, f_conf_set, f_proxy_list };
	memset(&cfg, 0, sizeof(cfg));
	cfg.interface = "lo";
	cfg.label = "dsr";
	cfg.arp_ignore = 1;
	cfg.arp_announce = 2;
	parse_ipaddr("198.18.0.10", &vips[0], err);
	parse_ipaddr("2001:db8::10", &vips[1], err);
	cfg.vips.items = vips;
	cfg.vips.n = 2;
}

/* An address someone else put there. */
static void fake_addr(const struct ipaddr *a, const char *label)
{
	fk.addrs[fk.naddrs].addr = *a;
	strlcpy_safe(fk.addrs[fk.naddrs].label, label, sizeof(fk.addrs[0].label));
	fk.naddrs++;
}

TEST(apply_sets_everything_and_records_originals)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_apply(&cfg, &kops, &st, &rep), 0);
	CHECK_EQ_INT(fk.naddrs, 2);
	CHECK_EQ_STR(fk.addrs[0].label, "lo:dsr");
	CHECK_EQ_INT(fk.conf[0][0], 1);
	CHECK_EQ_INT(fk.conf[1][1], 2);
	CHECK_EQ_INT(fk.links[1].arp_ignore, 1);
	CHECK_EQ_INT(fk.links[1].arp_announce, 2);
	CHECK_EQ_INT(st.nvips, 2);
	CHECK_EQ_INT(applied_state_sysctl(&st, "default", false)->arp_announce, 1);
	CHECK_EQ_INT(applied_state_sysctl(&st, "eth0", false)->arp_announce, 1);
	CHECK(rep.changes == 2 + 2 + 2);	/* 2 confs, 2 links, 2 VIPs */
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(second_apply_changes_nothing)
{
	struct applied_state st = { 0 };
	struct dr_report rep;
	unsigned calls;

	setup();
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	dr_report_free(&rep);
	calls = fk.calls_set;
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_apply(&cfg, &kops, &st, &rep), 0);
	CHECK_EQ_INT(rep.changes, 0);
	CHECK_EQ_INT(fk.calls_set, calls);
	/* Originals are not overwritten with our own values. */
	CHECK_EQ_INT(applied_state_sysctl(&st, "all", false)->arp_ignore, 0);
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(preexisting_vip_is_not_recorded_and_not_removed)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	fake_addr(&vips[0], "lo:0");
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	CHECK_EQ_INT(st.nvips, 1);
	CHECK(!applied_state_has_vip(&st, &vips[0]));
	dr_report_free(&rep);
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_remove(&kops, &st, &rep), 0);
	CHECK_EQ_INT(fk.naddrs, 1);
	CHECK(ipaddr_equal(&fk.addrs[0].addr, &vips[0]));
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(remove_restores_originals_exactly)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	dr_report_free(&rep);
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_remove(&kops, &st, &rep), 0);
	CHECK_EQ_INT(fk.naddrs, 0);
	CHECK_EQ_INT(fk.conf[0][0], 0);
	CHECK_EQ_INT(fk.conf[0][1], 0);
	CHECK_EQ_INT(fk.conf[1][1], 1);
	CHECK_EQ_INT(fk.links[1].arp_ignore, 0);
	CHECK_EQ_INT(fk.links[1].arp_announce, 1);
	CHECK_EQ_INT(st.nvips, 0);
	CHECK_EQ_INT(st.nsysctls, 0);
	dr_report_free(&rep);
}

TEST(verify_severities)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_CRITICAL);
	CHECK_CONTAINS(rep.first_problem, "vip 198.18.0.10 missing on lo");
	dr_report_free(&rep);

	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	dr_report_free(&rep);
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_OK);
	dr_report_free(&rep);

	fk.links[1].arp_ignore = 0;	/* conf/all still 1: effective fine */
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_WARNING);
	dr_report_free(&rep);

	fk.conf[0][0] = 0;		/* now effective 0 on eth0: ARP flux */
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_CRITICAL);
	CHECK_CONTAINS(rep.first_problem, "eth0: arp_ignore 0 (effective 0, want 1)");
	dr_report_free(&rep);
	applied_state_free(&st);
}

/* The IPv6 counterpart of ARP flux: a proxy-NDP entry for a VIP on
 * the LAN interface answers neighbour solicitations for it. An entry
 * for another address is none of ours; with IPv4 VIPs only, the table
 * is not even read. */
TEST(proxy_ndp_entry_for_a_vip_is_critical)
{
	struct applied_state st = { 0 };
	struct dr_report rep;
	char err[PARSE_ERR_MAX];

	setup();
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	dr_report_free(&rep);
	fk.proxies[0].ifindex = 2;
	parse_ipaddr("2001:db8::99", &fk.proxies[0].addr, err);
	fk.nproxies = 1;
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_OK);
	dr_report_free(&rep);

	fk.proxies[1] = fk.proxies[0];
	fk.proxies[1].addr = vips[1];
	fk.nproxies = 2;
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_CRITICAL);
	CHECK_CONTAINS(rep.first_problem,
		       "vip 2001:db8::10: a proxy-NDP entry on eth0 answers for it (ip -6 neigh del proxy 2001:db8::10 dev eth0)");
	dr_report_free(&rep);

	/* The daemon's passes apply (repair): they report it too, and leave
	 * the entry. */
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	CHECK_EQ_INT(rep.worst, DR_CRITICAL);
	CHECK_CONTAINS(rep.first_problem, "vip 2001:db8::10: a proxy-NDP entry on eth0");
	CHECK_EQ_INT(fk.nproxies, 2);
	dr_report_free(&rep);

	cfg.vips.n = 1;		/* 198.18.0.10 alone */
	fk.calls_proxies = 0;
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(rep.worst, DR_OK);
	CHECK_EQ_INT(fk.calls_proxies, 0);
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(failed_add_is_reported_critical)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	fk.fail_add = -EPERM;
	dr_report_init(&rep);
	CHECK(dr_apply(&cfg, &kops, &st, &rep) < 0);
	CHECK_EQ_INT(rep.worst, DR_CRITICAL);
	CHECK_CONTAINS(rep.first_problem, "adding vip 198.18.0.10 to lo");
	CHECK_EQ_INT(st.nvips, 0);
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(prune_removes_unconfigured_recorded_vips)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	dr_report_free(&rep);
	cfg.vips.n = 1;		/* reload without 2001:db8::10 */
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_prune_vips(&cfg, &kops, &st, &rep), 0);
	CHECK_EQ_INT(fk.naddrs, 1);
	CHECK_EQ_INT(st.nvips, 1);
	CHECK(applied_state_has_vip(&st, &vips[0]));
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(one_address_dump_per_pass)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	dr_report_init(&rep);
	dr_apply(&cfg, &kops, &st, &rep);
	CHECK_EQ_INT(fk.calls_list, 1);
	dr_report_free(&rep);
	dr_report_init(&rep);
	dr_verify(&cfg, &kops, &rep);
	CHECK_EQ_INT(fk.calls_list, 2);
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(record_does_not_change_anything)
{
	struct applied_state st = { 0 };

	setup();
	CHECK_EQ_INT(dr_record(&kops, &st), 0);
	CHECK_EQ_INT(fk.calls_set, 0);
	CHECK_EQ_INT(st.nsysctls, 4);
	applied_state_free(&st);
}

TEST(remove_leaves_alone_what_is_not_as_recorded)
{
	struct applied_state st = { 0 };
	struct ipaddr slash24 = vips[0], other;
	struct dr_report rep;
	char err[PARSE_ERR_MAX];

	setup();
	parse_ipaddr("198.18.0.11", &other, err);
	slash24.prefixlen = 24;
	fake_addr(&slash24, "lo:dsr");		/* recorded /32, the kernel has /24 */
	fake_addr(&vips[1], "");
	fake_addr(&other, "lo:0");		/* recorded lo:dsr, the kernel has lo:0 */
	strlcpy_safe(st.vip_ifname, "lo", sizeof(st.vip_ifname));
	applied_state_add_vip(&st, &vips[0], "lo:dsr");
	applied_state_add_vip(&st, &vips[1], "");
	applied_state_add_vip(&st, &other, "lo:dsr");
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_remove(&kops, &st, &rep), 0);
	CHECK_EQ_INT(fk.naddrs, 2);		/* only 2001:db8::10 went */
	CHECK_EQ_INT(rep.changes, 1);
	CHECK_EQ_INT(rep.worst, DR_WARNING);
	CHECK(rep.n >= 2);
	CHECK_CONTAINS(rep.items[0].text, "vip 198.18.0.11 on lo left alone: its label is 'lo:0', recorded 'lo:dsr'");
	CHECK_CONTAINS(rep.items[2].text, "vip 198.18.0.10 on lo left alone: the kernel has it as /24, recorded /32");
	dr_report_free(&rep);
}

/* A record naming someone else's address: not a label rs-agent gives. */
TEST(remove_refuses_a_record_of_a_foreign_address)
{
	struct applied_state st;
	struct dr_report rep;
	struct ipaddr foreign;
	char err[PARSE_ERR_MAX];
	static const char text[] = "vip-interface eth0\nvip 192.0.2.99/32 eth0\nsysctl eth0 0 1\n";

	setup();
	parse_ipaddr("192.0.2.99", &foreign, err);
	fk.links[1].arp_ignore = 2;
	fake_addr(&foreign, "eth0");
	CHECK_EQ_INT(applied_state_parse(text, sizeof(text) - 1, &st, NULL), 0);
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_remove(&kops, &st, &rep), 0);
	CHECK_EQ_INT(fk.naddrs, 1);
	CHECK_CONTAINS(rep.items[0].text, "recorded label 'eth0' is not one rs-agent sets on eth0");
	/* The recorded interface goes back to the recorded value; lo and
	 * conf/all, not recorded, are not touched. */
	CHECK_EQ_INT(fk.links[1].arp_ignore, 0);
	CHECK_EQ_INT(fk.links[0].arp_ignore, 0);
	CHECK_EQ_INT(fk.conf[0][0], 0);
	CHECK_EQ_INT(fk.calls_set, 1);
	dr_report_free(&rep);
}

TEST(apply_adopts_vips_with_its_own_label_only)
{
	struct applied_state st = { 0 };
	struct dr_report rep;

	setup();
	fake_addr(&vips[0], "lo:dsr");		/* from an earlier run */
	dr_report_init(&rep);
	CHECK_EQ_INT(dr_apply(&cfg, &kops, &st, &rep), 0);
	CHECK(applied_state_has_vip(&st, &vips[0]));
	CHECK_EQ_STR(st.vips[0].label, "lo:dsr");
	CHECK_EQ_INT(st.nvips, 2);
	dr_report_free(&rep);
	applied_state_free(&st);
}

TEST(old_records_get_the_configured_label)
{
	struct applied_state st;
	static const char text[] = "vip-interface lo\nvip 198.18.0.10\nvip 2001:db8::10\n";

	setup();
	CHECK_EQ_INT(applied_state_parse(text, sizeof(text) - 1, &st, NULL), 0);
	dr_default_labels(&cfg, &st);
	CHECK_EQ_STR(st.vips[0].label, "lo:dsr");
	CHECK_EQ_STR(st.vips[1].label, "");
	applied_state_free(&st);
}

TEST_MAIN(T(apply_sets_everything_and_records_originals), T(second_apply_changes_nothing),
	  T(preexisting_vip_is_not_recorded_and_not_removed), T(remove_restores_originals_exactly),
	  T(verify_severities), T(proxy_ndp_entry_for_a_vip_is_critical), T(failed_add_is_reported_critical),
	  T(prune_removes_unconfigured_recorded_vips), T(one_address_dump_per_pass),
	  T(record_does_not_change_anything), T(remove_leaves_alone_what_is_not_as_recorded),
	  T(remove_refuses_a_record_of_a_foreign_address), T(apply_adopts_vips_with_its_own_label_only),
	  T(old_records_get_the_configured_label))
