/* IPVS attribute decoding, fed what the kernel sends in its dumps (built
 * here with libnl as the kernel lays it out), plus what must be refused.
 * The real kernel is exercised in tests/vm. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ipvs.h"
#include "test.h"
#include "util.h"

struct svc_in {
	uint16_t af, protocol, port;
	const char *addr;
	uint32_t fwmark;
	const char *sched;
	uint32_t flags, timeout, netmask;
	bool stats64;
};

/* A nested IPVS_CMD_ATTR_SERVICE as ip_vs_genl_fill_service() writes it. */
static struct nl_msg *kernel_service(const struct svc_in *in)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest, *st;
	uint8_t addr[16] = { 0 };
	struct ip_vs_flags fl = { in->flags, ~0u };

	nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
	nla_put_u16(msg, IPVS_SVC_ATTR_AF, in->af);
	if (in->fwmark) {
		nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, in->fwmark);
	} else {
		nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, in->protocol);
		inet_pton(in->af, in->addr, addr);
		nla_put(msg, IPVS_SVC_ATTR_ADDR, sizeof(addr), addr);
		nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(in->port));
	}
	if (in->sched)
		nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, in->sched);
	nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl);
	nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, in->timeout);
	nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, in->netmask);
	st = nla_nest_start(msg, IPVS_SVC_ATTR_STATS);
	nla_put_u32(msg, IPVS_STATS_ATTR_CONNS, 7);
	nla_put_u32(msg, IPVS_STATS_ATTR_INPKTS, 70);
	nla_put_u32(msg, IPVS_STATS_ATTR_OUTPKTS, 0);
	nla_put_u64(msg, IPVS_STATS_ATTR_INBYTES, 7000);
	nla_put_u64(msg, IPVS_STATS_ATTR_OUTBYTES, 0);
	nla_nest_end(msg, st);
	if (in->stats64) {
		st = nla_nest_start(msg, IPVS_SVC_ATTR_STATS64);
		nla_put_u64(msg, IPVS_STATS_ATTR_CONNS, 5000000000ULL);
		nla_put_u64(msg, IPVS_STATS_ATTR_INPKTS, 70);
		nla_nest_end(msg, st);
	}
	nla_nest_end(msg, nest);
	return msg;
}

static int decode_service(struct nl_msg *msg, struct ipvs_service *s, struct ipvs_stats *st)
{
	struct nlattr *nest = (struct nlattr *)nlmsg_data(nlmsg_hdr(msg));

	return ipvs_service_decode(nla_data(nest), (size_t)nla_len(nest), s, st);
}

TEST(service_tcp_v4)
{
	struct svc_in in = { AF_INET, IPPROTO_TCP, 80, "192.0.2.80", 0, "wlc",
			     IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, 300, htonl(0xffffff00), false };
	struct nl_msg *msg = kernel_service(&in);
	struct ipvs_service s;
	struct ipvs_stats st;
	char buf[64];

	CHECK_EQ_INT(decode_service(msg, &s, &st), 0);
	CHECK_EQ_INT(s.af, AF_INET);
	CHECK_EQ_INT(s.protocol, IPPROTO_TCP);
	CHECK_EQ_INT(s.port, 80);
	CHECK_EQ_STR(ipvs_service_name(&s, buf, sizeof(buf)), "TCP 192.0.2.80:80");
	CHECK_EQ_STR(s.sched, "wlc");
	CHECK_EQ_INT(s.flags, IP_VS_SVC_F_PERSISTENT);	/* "hashed" is the kernel's business */
	CHECK_EQ_INT(s.timeout, 300);
	CHECK_EQ_INT(s.netmask, 24);			/* the mask as a prefix length */
	CHECK_EQ_INT(st.conns, 7);
	CHECK_EQ_INT(st.inpkts, 70);
	CHECK_EQ_INT(st.inbytes, 7000);
	CHECK_EQ_INT(st.outpkts, 0);
	nlmsg_free(msg);
}

TEST(service_v6_fwmark_stats64)
{
	struct svc_in in6 = { AF_INET6, IPPROTO_UDP, 53, "2001:db8::53", 0, "mh", IP_VS_SVC_F_ONEPACKET, 0, 128, true };
	struct svc_in fwm = { AF_INET, 0, 0, NULL, 7, "rr", 0, 0, htonl(0xffffffff), false };
	struct nl_msg *msg = kernel_service(&in6);
	struct ipvs_service s;
	struct ipvs_stats st;
	char buf[64];

	CHECK_EQ_INT(decode_service(msg, &s, &st), 0);
	CHECK_EQ_STR(ipvs_service_name(&s, buf, sizeof(buf)), "UDP [2001:db8::53]:53");
	CHECK_EQ_INT(s.netmask, 128);
	CHECK_EQ_INT(s.flags, IP_VS_SVC_F_ONEPACKET);
	CHECK(st.conns == 5000000000ULL);	/* the 64-bit counters win */
	nlmsg_free(msg);

	msg = kernel_service(&fwm);
	CHECK_EQ_INT(decode_service(msg, &s, NULL), 0);
	CHECK_EQ_INT(s.fwmark, 7);
	CHECK_EQ_INT(s.netmask, 32);
	CHECK_EQ_STR(ipvs_service_name(&s, buf, sizeof(buf)), "FWM 7");
	nlmsg_free(msg);
}

TEST(service_refusals)
{
	struct svc_in bad_af = { 99, IPPROTO_TCP, 80, "192.0.2.80", 0, "rr", 0, 0, htonl(0xffffffff), false };
	struct svc_in no_sched = { AF_INET, IPPROTO_TCP, 80, "192.0.2.80", 0, NULL, 0, 0, htonl(0xffffffff), false };
	struct svc_in long_sched = { AF_INET, IPPROTO_TCP, 80, "192.0.2.80", 0, "abcdefghijklmnopq", 0, 0,
				     htonl(0xffffffff), false };
	struct svc_in holes = { AF_INET, IPPROTO_TCP, 80, "192.0.2.80", 0, "rr", 0, 0, htonl(0xff00ff00), false };
	struct svc_in v6_mask = { AF_INET6, IPPROTO_TCP, 80, "2001:db8::1", 0, "rr", 0, 0, 129, false };
	const struct svc_in *cases[] = { &bad_af, &no_sched, &long_sched, &holes, &v6_mask };
	struct ipvs_service s;
	uint8_t junk[3] = { 1, 2, 3 };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nl_msg *msg = kernel_service(cases[i]);

		CHECK_EQ_INT(decode_service(msg, &s, NULL), -EINVAL);
		nlmsg_free(msg);
	}
	CHECK_EQ_INT(ipvs_service_decode(junk, sizeof(junk), &s, NULL), -EINVAL);
	CHECK_EQ_INT(ipvs_service_decode(NULL, 0, &s, NULL), -EINVAL);
}

TEST(dest_decode)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest, *st;
	uint8_t addr[16] = { 0 };
	struct ipvs_dest d;
	struct ipvs_dest_counters dc;

	nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
	inet_pton(AF_INET, "198.18.1.11", addr);
	nla_put(msg, IPVS_DEST_ATTR_ADDR, sizeof(addr), addr);
	nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(80));
	nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_DROUTE | 0x100);
	nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, 3);
	nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, 1000);
	nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, 10);
	nla_put_u32(msg, IPVS_DEST_ATTR_ACTIVE_CONNS, 4);
	nla_put_u32(msg, IPVS_DEST_ATTR_INACT_CONNS, 2);
	nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
	st = nla_nest_start(msg, IPVS_DEST_ATTR_STATS64);
	nla_put_u64(msg, IPVS_STATS_ATTR_OUTPKTS, 0);
	nla_put_u64(msg, IPVS_STATS_ATTR_INPKTS, 12);
	nla_nest_end(msg, st);
	nla_nest_end(msg, nest);
	nest = (struct nlattr *)nlmsg_data(nlmsg_hdr(msg));
	/* An IPv4 real server of an IPv6 service says so in ADDR_FAMILY. */
	CHECK_EQ_INT(ipvs_dest_decode(nla_data(nest), (size_t)nla_len(nest), AF_INET6, &d, &dc), 0);
	CHECK_EQ_INT(d.addr.family, AF_INET);
	CHECK_EQ_INT(d.port, 80);
	CHECK_EQ_INT(d.fwd, IP_VS_CONN_F_DROUTE);
	CHECK_EQ_INT(d.weight, 3);
	CHECK_EQ_INT(d.u_threshold, 1000);
	CHECK_EQ_INT(d.l_threshold, 10);
	CHECK_EQ_INT(dc.active_conns, 4);
	CHECK_EQ_INT(dc.inact_conns, 2);
	CHECK_EQ_INT(dc.stats.inpkts, 12);
	/* Cut short: refused, never read past the end. */
	CHECK_EQ_INT(ipvs_dest_decode(nla_data(nest), 8, AF_INET, &d, NULL), -EINVAL);
	nlmsg_free(msg);
}

TEST(arguments_checked_before_the_kernel)
{
	struct ipvs_service s = { .af = AF_INET, .protocol = IPPROTO_ICMP };
	struct ipvs_dest d = { 0 };

	CHECK_EQ_INT(ipvs_service_add(NULL, &s), -EINVAL);
	CHECK_EQ_INT(ipvs_dest_add(NULL, &s, &d), -EINVAL);
	CHECK_EQ_INT(ipvs_apply(NULL, NULL, 0), -EINVAL);
	CHECK_CONTAINS(ipvs_strerror(-ESRCH), "no such service");
	CHECK_CONTAINS(ipvs_strerror(-ENOENT), "scheduler");
}

TEST_MAIN(T(service_tcp_v4), T(service_v6_fwmark_stats64), T(service_refusals), T(dest_decode),
	  T(arguments_checked_before_the_kernel))
