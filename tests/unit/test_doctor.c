/* directorctl doctor without root: its frames and parsers byte by byte,
 * the daemon's target lines, and the checks run against a segment in
 * memory (a struct doctor_io whose hosts answer as each DR mistake makes a
 * real one answer), so that every verdict is tested without a kernel.
 * tests/netns/135-directorctl-doctor.sh runs the same against real ones. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "test.h"

static struct ipaddr ip(const char *s)
{
	struct ipaddr a;
	char err[PARSE_ERR_MAX];

	memset(&a, 0, sizeof(a));
	if (parse_ipaddr(s, &a, err) < 0)
		abort();
	return a;
}

static const struct doc_mac MAC_D = { { 2, 0, 0, 0, 1, 1 } }, MAC_R = { { 2, 0, 0, 0, 0x11, 1 } };

/* The Internet checksum, written apart from doctor_pkt.c's. */
static uint16_t cksum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo6(const uint8_t *ip6, size_t len, uint8_t proto)
{
	uint32_t sum = 0;

	for (size_t i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip6[i] << 8 | ip6[i + 1]);
	return sum + (uint32_t)len + proto;
}

/* ---- frames ---- */

TEST(arp_request_and_reply)
{
	struct ipaddr dip = ip("198.18.0.1"), rip = ip("198.18.0.11");
	uint8_t f[64], r[64];
	struct doc_mac m;
	size_t n = doc_arp_request(f, sizeof(f), &MAC_D, dip.u.v4, rip.u.v4);

	CHECK_EQ_INT(n, 42);
	CHECK(memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) == 0 && memcmp(f + 6, MAC_D.b, 6) == 0);
	CHECK(f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 1);
	CHECK(memcmp(f + 28, &dip.u.v4, 4) == 0 && memcmp(f + 38, &rip.u.v4, 4) == 0);
	CHECK_EQ_INT(doc_arp_request(f, 41, &MAC_D, dip.u.v4, rip.u.v4), 0);
	/* The reply: op 2, sender = the real server. */
	memcpy(r, f, 42);
	r[21] = 2;
	memcpy(r + 22, MAC_R.b, 6);
	memcpy(r + 28, &rip.u.v4, 4);
	CHECK_EQ_INT(doc_arp_reply_parse(r, 42, rip.u.v4, &m), 0);
	CHECK(memcmp(&m, &MAC_R, 6) == 0);
	CHECK_EQ_INT(doc_arp_reply_parse(r, 42, dip.u.v4, &m), -ENOENT);	/* not for that address */
	CHECK_EQ_INT(doc_arp_reply_parse(r, 41, rip.u.v4, &m), -ENOENT);	/* short */
	CHECK_EQ_INT(doc_arp_reply_parse(f, 42, dip.u.v4, &m), -ENOENT);	/* a request */
}

/* An NA for target from mac, built by hand (with or without the option). */
static size_t na_frame(uint8_t *f, const struct in6_addr *target, const struct doc_mac *mac, bool option)
{
	size_t plen = option ? 32 : 24;

	memset(f, 0, 14 + 40 + plen);
	memcpy(f + 6, MAC_D.b, 6);	/* a frame source other than the option's */
	f[12] = 0x86, f[13] = 0xdd;
	f[14] = 0x60;
	f[19] = (uint8_t)plen;
	f[20] = 58;
	f[21] = 255;
	f[22] = 0xfe, f[23] = 0x80, f[37] = 1;
	f[38] = 0xff, f[39] = 2, f[53] = 1;
	f[54] = 136;
	memcpy(f + 54 + 8, target, 16);
	if (option) {
		f[54 + 24] = 2, f[54 + 25] = 1;
		memcpy(f + 54 + 26, mac->b, 6);
	}
	uint16_t s = cksum(f + 54, plen, pseudo6(f + 14, plen, 58));
	f[56] = (uint8_t)(s >> 8), f[57] = (uint8_t)s;
	return 14 + 40 + plen;
}

TEST(ns_and_na)
{
	struct ipaddr ll = ip("fe80::1"), vip = ip("2001:db8::100");
	uint8_t f[128];
	struct doc_mac m;
	size_t n = doc_ns_build(f, sizeof(f), &MAC_D, &ll.u.v6, &vip.u.v6);

	CHECK_EQ_INT(n, 14 + 40 + 32);
	CHECK(f[0] == 0x33 && f[1] == 0x33 && f[2] == 0xff && f[3] == 0x00 && f[4] == 0x01 && f[5] == 0x00);
	CHECK(f[14 + 7] == 255 && f[14 + 6] == 58 && f[54] == 135);
	CHECK(f[14 + 24] == 0xff && f[14 + 25] == 2 && f[14 + 35] == 1 && f[14 + 36] == 0xff);
	CHECK_EQ_INT(cksum(f + 54, 32, pseudo6(f + 14, 32, 58)), 0);	/* a valid checksum */
	n = na_frame(f, &vip.u.v6, &MAC_R, true);
	CHECK_EQ_INT(doc_na_parse(f, n, &vip.u.v6, &m), 0);
	CHECK(memcmp(&m, &MAC_R, 6) == 0);				/* the option's MAC */
	n = na_frame(f, &vip.u.v6, &MAC_R, false);
	CHECK_EQ_INT(doc_na_parse(f, n, &vip.u.v6, &m), 0);
	CHECK(memcmp(&m, &MAC_D, 6) == 0);				/* else the frame's */
	f[60] ^= 1;							/* checksum broken */
	CHECK_EQ_INT(doc_na_parse(f, n, &vip.u.v6, &m), -ENOENT);
	f[60] ^= 1;
	CHECK_EQ_INT(doc_na_parse(f, n, &ll.u.v6, &m), -ENOENT);	/* another target */
	for (size_t len = 0; len < n; len++)
		CHECK_EQ_INT(doc_na_parse(f, len, &vip.u.v6, &m), -ENOENT);
}

static void tcp_roundtrip(const char *d, const char *v)
{
	struct ipaddr dip = ip(d), vip = ip(v);
	struct doc_tcp_reply r;
	uint8_t f[128];
	size_t n = doc_tcp_build(f, sizeof(f), &MAC_D, &MAC_R, &dip, 40000, &vip, 80, TH_SYN, 1000, 0);
	size_t alen = dip.family == AF_INET ? 4 : 16, iphl = dip.family == AF_INET ? 20 : 40;
	uint32_t sum = 0;

	CHECK_EQ_INT(n, 14 + iphl + 20);
	CHECK(memcmp(f, MAC_R.b, 6) == 0);
	/* The SYN's TCP checksum, computed apart. */
	for (size_t i = 0; i < 2 * alen; i += 2)
		sum += (uint32_t)(f[14 + iphl - 2 * alen + i] << 8 | f[14 + iphl - 2 * alen + i + 1]);
	CHECK_EQ_INT(cksum(f + 14 + iphl, 20, sum + 20 + IPPROTO_TCP), 0);
	if (dip.family == AF_INET) {
		CHECK_EQ_INT(cksum(f + 14, 20, 0), 0);
		CHECK(f[20] & 0x40);	/* DF */
	}
	/* The answer, from the VIP. */
	n = doc_tcp_build(f, sizeof(f), &MAC_R, &MAC_D, &vip, 80, &dip, 40000, TH_SYN | TH_ACK, 7, 1001);
	CHECK_EQ_INT(doc_tcp_reply_parse(f, n, &vip, 80, &dip, 40000, &r), 0);
	CHECK(r.flags == (TH_SYN | TH_ACK) && r.ack == 1001 && r.seq == 7);
	CHECK_EQ_INT(doc_tcp_reply_parse(f, n, &vip, 81, &dip, 40000, &r), -ENOENT);
	CHECK_EQ_INT(doc_tcp_reply_parse(f, n, &dip, 80, &vip, 40000, &r), -ENOENT);
	CHECK_EQ_INT(doc_tcp_reply_parse(f, n, &vip, 80, &dip, 40001, &r), -ENOENT);
	for (size_t len = 0; len < n; len++)
		CHECK_EQ_INT(doc_tcp_reply_parse(f, len, &vip, 80, &dip, 40000, &r), -ENOENT);
}

TEST(tcp_syn_and_reply)
{
	struct ipaddr a = ip("198.18.0.1"), b = ip("2001:db8::1");
	uint8_t f[128];

	tcp_roundtrip("198.18.0.1", "198.18.0.100");
	tcp_roundtrip("2001:db8::1", "2001:db8::100");
	CHECK_EQ_INT(doc_tcp_build(f, sizeof(f), &MAC_D, &MAC_R, &a, 1, &b, 2, TH_SYN, 0, 0), 0);	/* mixed */
}

/* The echo request f turned into its reply, checksum made again. */
static void echo_to_reply(uint8_t *f, size_t n, bool v6)
{
	size_t hl = v6 ? 40 : 20;
	uint8_t *icmp = f + 14 + hl, tmp[16];
	size_t alen = v6 ? 16 : 4, so = v6 ? 8 : 12;
	uint32_t sum = 0;

	memcpy(tmp, f + 14 + so, alen);
	memmove(f + 14 + so, f + 14 + so + alen, alen);
	memcpy(f + 14 + so + alen, tmp, alen);
	icmp[0] = v6 ? 129 : 0;
	icmp[2] = icmp[3] = 0;
	if (v6)
		sum = pseudo6(f + 14, n - 14 - hl, 58);
	uint16_t s = cksum(icmp, n - 14 - hl, sum);
	icmp[2] = (uint8_t)(s >> 8), icmp[3] = (uint8_t)s;
}

TEST(echo_of_a_size)
{
	struct ipaddr d = ip("198.18.0.1"), r = ip("198.18.0.11"), d6 = ip("2001:db8::1"), r6 = ip("2001:db8::11");
	uint8_t *f = malloc(DOC_FRAME_MAX);
	size_t n;

	n = doc_echo_build(f, DOC_FRAME_MAX, &MAC_D, &MAC_R, &d, &r, 9, 3, 1500);
	CHECK_EQ_INT(n, 1514);
	CHECK_EQ_INT(f[16] << 8 | f[17], 1500);
	CHECK(f[20] & 0x40);
	CHECK_EQ_INT(cksum(f + 34, 1480, 0), 0);
	CHECK_EQ_INT(doc_echo_reply_parse(f, n, &r, 9, 3), -ENOENT);	/* a request */
	echo_to_reply(f, n, false);
	CHECK_EQ_INT(doc_echo_reply_parse(f, n, &r, 9, 3), 0);
	CHECK_EQ_INT(doc_echo_reply_parse(f, n, &r, 9, 4), -ENOENT);
	CHECK_EQ_INT(doc_echo_reply_parse(f, n - 1, &r, 9, 3), -ENOENT);
	n = doc_echo_build(f, DOC_FRAME_MAX, &MAC_D, &MAC_R, &d6, &r6, 9, 3, 1280);
	CHECK_EQ_INT(n, 14 + 1280);
	echo_to_reply(f, n, true);
	CHECK_EQ_INT(doc_echo_reply_parse(f, n, &r6, 9, 3), 0);
	f[100] ^= 0xff;
	CHECK_EQ_INT(doc_echo_reply_parse(f, n, &r6, 9, 3), -ENOENT);	/* checksum */
	CHECK_EQ_INT(doc_echo_build(f, 100, &MAC_D, &MAC_R, &d, &r, 9, 3, 1500), 0);	/* no room */
	free(f);
}

static size_t advert_frame(uint8_t *f, unsigned vrid)
{
	memset(f, 0, 60);
	memcpy(f + 6, MAC_R.b, 6);
	f[12] = 8;
	f[14] = 0x45;
	f[16] = 0, f[17] = 40;
	f[23] = 112;
	f[34] = 0x31;	/* v3 advert */
	f[35] = (uint8_t)vrid;
	return 60;
}

TEST(vrrp_advert_gives_the_master_mac)
{
	uint8_t f[60];
	struct doc_mac m;
	size_t n = advert_frame(f, 51);

	CHECK_EQ_INT(doc_vrrp_advert_parse(f, n, 51, &m), 0);
	CHECK(memcmp(&m, &MAC_R, 6) == 0);
	CHECK_EQ_INT(doc_vrrp_advert_parse(f, n, 52, &m), -ENOENT);
	CHECK_EQ_INT(doc_vrrp_advert_parse(f, 41, 51, &m), -ENOENT);
	f[34] = 0x32;	/* not an advert */
	CHECK_EQ_INT(doc_vrrp_advert_parse(f, n, 51, &m), -ENOENT);
	CHECK(doc_mac_is_vrrp(&(struct doc_mac){ { 0, 0, 0x5e, 0, 1, 51 } }));
	CHECK(!doc_mac_is_vrrp(&MAC_R));
}

/* ---- the daemon's lines ---- */

static const char TARGETS[] =
	"vrrp VI_1 eth0 51 MASTER 198.18.0.100 2001:db8::100\n"
	"vs web tcp 198.18.0.100 80\n"
	"rs 198.18.0.11 80 dr 5555\n"
	"rs 198.18.0.12 8080 nat 0\n"
	"future words we do not know\n"
	"vs mark tcp - 0\n"
	"trap d.ini:7: virtual_server web.check: warning: x y\n";

TEST(targets_parse)
{
	struct doc_targets t;
	char err[128] = "";

	CHECK_EQ_INT(doc_targets_parse(TARGETS, strlen(TARGETS), &t, err, sizeof(err)), 0);
	CHECK_EQ_INT(t.nvrrp, 1);
	CHECK_EQ_STR(t.vrrp[0].ifname, "eth0");
	CHECK_EQ_INT(t.vrrp[0].vrid, 51);
	CHECK_EQ_INT(t.vrrp[0].nvips, 2);
	CHECK_EQ_INT(t.nvs, 2);
	CHECK_EQ_INT(t.vs[0].nrs, 2);
	CHECK_EQ_INT(t.vs[0].rs[0].agent_port, 5555);
	CHECK_EQ_INT(t.vs[0].rs[1].method, DOC_NAT);
	CHECK_EQ_INT(t.vs[0].rs[1].port, 8080);
	CHECK(t.vs[1].fwmark);
	CHECK_EQ_INT(t.ntraps, 1);
	CHECK_EQ_STR(t.traps[0], "d.ini:7: virtual_server web.check: warning: x y");
	doc_targets_free(&t);
}

/* An instance may hold 255 VIPs (director.ini: the advert's 8-bit count):
 * its line has 260 words, and the doctor must still read it. */
TEST(targets_instance_with_255_vips)
{
	struct doc_targets t;
	struct strbuf text;
	char err[128] = "";

	sb_init(&text);
	sb_append(&text, "vrrp VI_1 eth0 51 MASTER");
	for (int i = 0; i < 255; i++)
		sb_printf(&text, " 198.18.%d.%d", 10 + i / 200, 1 + i % 200);
	sb_append(&text, "\nvs web tcp 198.18.10.1 80\n");
	CHECK_EQ_INT(doc_targets_parse(sb_str(&text), text.len, &t, err, sizeof(err)), 0);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(t.nvrrp, 1);
	CHECK_EQ_INT(t.nvrrp ? t.vrrp[0].nvips : 0, 255);
	CHECK_EQ_INT(t.nvs, 1);
	doc_targets_free(&t);
	sb_free(&text);
}

static void bad(const char *text, const char *msg)
{
	struct doc_targets t;
	char err[128] = "";

	CHECK_EQ_INT(doc_targets_parse(text, strlen(text), &t, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, msg);
	CHECK_EQ_INT(t.nvs, 0);
}

TEST(targets_refused)
{
	bad("vs web tcp 198.18.0.100 80\nrs 198.18.0.11 99999 dr 0\n", "line 2: rs: bad address or port");
	bad("rs 198.18.0.11 80 dr 0\n", "line 1: rs: before any vs");
	bad("vs web icmp 198.18.0.100 80\n", "bad name or protocol");
	bad("vs web tcp 198.18.0.0/24 80\n", "bad address");
	bad("vrrp VI_1 eth0 300 MASTER\n", "bad name, interface, vrid or state");
	bad("vrrp VI_1 eth0\x01 3 MASTER\n", "control character");
	bad("vs web tcp 198.18.0.100 80 more\n", "expected 5 words");
	{
		struct doc_targets t;
		char err[64];

		CHECK_EQ_INT(doc_targets_parse("vs a tcp - 0\n\0x", 15, &t, err, sizeof(err)), -EINVAL);
		CHECK_CONTAINS(err, "NUL");
	}
}

/* ---- the checks, against a segment in memory ---- */

/* A real server as its mistakes make it answer. */
struct host {
	const char *addr;
	struct doc_mac mac;
	bool behind_gateway, ignores_director, vip_on_lo, arp_flux, listens_vip, listens_real;
	bool source_is_vip;		/* the director's route toward it picks the VIP as source */
	unsigned mtu;
	int agent;			/* 0: answers agent_line; else -errno */
	const char *agent_line;
};

struct fake {
	struct doctor_io io;
	struct host *hosts;
	size_t n;
	struct ipaddr vip;
	int rp_filter, ip_forward;
	unsigned exchanges;
	uint64_t clock_ms;		/* advanced by each exchange's wait, as if nothing answered early */
	bool advert;			/* a master director's adverts can be heard */
	struct doc_mac master;
	unsigned mtu;			/* the director's interface's; 0: 1500 */
};

static struct fake *fake_of(struct doctor_io *io)
{
	return (struct fake *)io;
}

static struct host *host_by_ip(struct fake *fk, const uint8_t *a4)
{
	for (size_t i = 0; i < fk->n; i++) {
		struct ipaddr h = ip(fk->hosts[i].addr);

		if (memcmp(&h.u.v4, a4, 4) == 0)
			return &fk->hosts[i];
	}
	return NULL;
}

static int f_route(struct doctor_io *io, const struct ipaddr *dst, struct doc_route *out)
{
	struct host *h = host_by_ip(fake_of(io), (const uint8_t *)&dst->u.v4);

	memset(out, 0, sizeof(*out));
	out->ifindex = 2;
	strcpy(out->ifname, "eth0");
	out->src = ip("198.18.0.1");
	out->unicast = true;
	if (h && h->behind_gateway)
		out->gateway = ip("198.18.0.254");
	if (h && h->source_is_vip)
		out->src = ip("198.18.0.100");
	return 0;
}

static int f_link(struct doctor_io *io, int ifindex, struct doc_link *out)
{
	(void)ifindex;
	memset(out, 0, sizeof(*out));
	out->mac = MAC_D;
	out->mtu = fake_of(io)->mtu ? fake_of(io)->mtu : 1500;
	return 0;
}

static int f_default(struct doctor_io *io, int family, char name[IF_NAMESIZE])
{
	(void)io;
	(void)family;
	strcpy(name, "eth1");
	return 0;
}

static void deliver_arp(const uint8_t *req, const struct doc_mac *mac, doc_frame_cb cb, void *arg)
{
	uint8_t r[42];

	memcpy(r, req, 42);
	r[21] = 2;
	memcpy(r + 22, mac->b, 6);
	memcpy(r + 28, req + 38, 4);
	cb(r, sizeof(r), arg);
}

static void answer_arp(struct fake *fk, const uint8_t *f, doc_frame_cb cb, void *arg)
{
	bool from_zero = memcmp(f + 28, "\0\0\0\0", 4) == 0;
	struct host *h = host_by_ip(fk, f + 38);

	if (h && (from_zero || !h->ignores_director))
		deliver_arp(f, &h->mac, cb, arg);
	if (memcmp(f + 38, &fk->vip.u.v4, 4) == 0) {
		for (size_t i = 0; i < fk->n; i++)
			if (fk->hosts[i].vip_on_lo && fk->hosts[i].arp_flux)
				deliver_arp(f, &fk->hosts[i].mac, cb, arg);
		if (fk->advert)
			deliver_arp(f, &fk->master, cb, arg);
	}
}

static struct host *host_by_mac(struct fake *fk, const uint8_t *m)
{
	for (size_t i = 0; i < fk->n; i++)
		if (memcmp(fk->hosts[i].mac.b, m, 6) == 0)
			return &fk->hosts[i];
	return NULL;
}

static void answer_tcp(struct fake *fk, struct host *h, const uint8_t *f, doc_frame_cb cb, void *arg)
{
	struct ipaddr src = { .family = AF_INET }, dst = { .family = AF_INET };
	uint8_t r[128];
	bool to_vip;
	uint8_t flags;
	size_t n;

	memcpy(&src.u.v4, f + 26, 4);
	memcpy(&dst.u.v4, f + 30, 4);
	to_vip = ipaddr_equal(&dst, &fk->vip);
	if (f[47] & TH_RST || (to_vip && !h->vip_on_lo))
		return;
	flags = (to_vip ? h->listens_vip : h->listens_real) ? TH_SYN | TH_ACK : TH_RST | TH_ACK;
	n = doc_tcp_build(r, sizeof(r), &h->mac, &MAC_D, &dst, (uint16_t)(f[36] << 8 | f[37]), &src,
			  (uint16_t)(f[34] << 8 | f[35]), flags, 5,
			  ((uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 | (uint32_t)f[40] << 8 | f[41]) + 1);
	cb(r, n, arg);
}

static void answer_echo(struct host *h, const uint8_t *f, size_t len, doc_frame_cb cb, void *arg)
{
	uint8_t *r;

	if ((unsigned)(f[16] << 8 | f[17]) > (h->mtu ? h->mtu : 1500) || !(r = malloc(len)))
		return;
	memcpy(r, f, len);
	echo_to_reply(r, len, false);
	cb(r, len, arg);
	free(r);
}

static int f_exchange(struct doctor_io *io, int ifindex, uint16_t ethertype, const uint8_t *f, size_t len,
		      unsigned wait_ms, doc_frame_cb cb, void *arg)
{
	struct fake *fk = fake_of(io);
	struct host *h;

	(void)ifindex;
	fk->exchanges++;
	fk->clock_ms += wait_ms;
	if (!cb)
		return 0;
	if (len == 0) {		/* listening for adverts */
		uint8_t a[60];
		size_t n = advert_frame(a, 51);

		memcpy(a + 6, fk->master.b, 6);
		if (fk->advert)
			cb(a, n, arg);
		return 0;
	}
	if (ethertype == 0x0806) {
		answer_arp(fk, f, cb, arg);
		return 0;
	}
	if (!(h = host_by_mac(fk, f)) || h->ignores_director)
		return 0;
	if (f[23] == IPPROTO_TCP)
		answer_tcp(fk, h, f, cb, arg);
	else if (f[23] == IPPROTO_ICMP)
		answer_echo(h, f, len, cb, arg);
	return 0;
}

static int f_agent(struct doctor_io *io, const struct ipaddr *addr, uint16_t port, unsigned wait_ms, char *line,
		   size_t size)
{
	struct host *h = host_by_ip(fake_of(io), (const uint8_t *)&addr->u.v4);

	(void)port;
	(void)wait_ms;
	if (!h || h->agent)
		return h ? h->agent : -ETIMEDOUT;
	strlcpy_safe(line, h->agent_line ? h->agent_line : "up 100%", size);
	return 0;
}

static int f_sysctl(struct doctor_io *io, const char *path, int *value)
{
	struct fake *fk = fake_of(io);

	*value = strstr(path, "rp_filter") ? fk->rp_filter : strstr(path, "ip_forward") ? fk->ip_forward : 0;
	return 0;
}

static uint32_t f_random(struct doctor_io *io)
{
	(void)io;
	return 12345;
}

static uint64_t f_now(struct doctor_io *io)
{
	return fake_of(io)->clock_ms;
}

#define HEALTHY .vip_on_lo = true, .listens_vip = true, .listens_real = true

static struct host hosts[] = {
	{ "198.18.0.11", { { 2, 0, 0, 0, 0x11, 1 } }, HEALTHY },
	{ "198.18.0.12", { { 2, 0, 0, 0, 0x12, 1 } }, HEALTHY, .arp_flux = true },
	{ "198.18.0.13", { { 2, 0, 0, 0, 0x13, 1 } }, HEALTHY, .behind_gateway = true },
	{ "198.18.0.14", { { 2, 0, 0, 0, 0x14, 1 } }, .vip_on_lo = true, .listens_real = true },
	{ "198.18.0.15", { { 2, 0, 0, 0, 0x15, 1 } }, HEALTHY, .ignores_director = true },
	{ "198.18.0.16", { { 2, 0, 0, 0, 0x16, 1 } }, HEALTHY, .mtu = 1400 },
	{ "198.18.0.17", { { 2, 0, 0, 0, 0x17, 1 } }, .listens_vip = true, .listens_real = true },
	{ "198.18.0.18", { { 2, 0, 0, 0, 0x18, 1 } }, HEALTHY, .agent = -ETIMEDOUT },
	{ "198.18.0.19", { { 2, 0, 0, 0, 0x19, 1 } }, HEALTHY, .agent_line = "down #vip missing" },
	{ "198.18.0.20", { { 2, 0, 0, 0, 0x20, 1 } }, HEALTHY, .agent = -ECONNREFUSED },
};

static struct fake fake_new(size_t nhosts)
{
	struct fake fk = {
		.io = { f_route, f_link, f_default, f_exchange, f_agent, f_sysctl, f_random, f_now },
		.hosts = hosts, .n = nhosts, .vip = ip("198.18.0.100"),
		.master = { { 2, 0, 0, 0, 2, 1 } },
	};
	return fk;
}

static const char *const CHECKS[] = {
	NULL, "vip_arp", "route", "service", "rp_filter", "mtu", "vip", "agent", "agent", "agent",
};

/* The report's only finding about host i (its check), or NULL. */
static const struct doc_finding *finding_of(const struct doc_report *r, size_t i)
{
	const struct doc_finding *found = NULL;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%s", hosts[i].addr);
	for (size_t k = 0; k < r->n; k++)
		if (strncmp(r->items[k].server, prefix, strlen(prefix)) == 0) {
			CHECK(!found);
			found = &r->items[k];
		}
	return found;
}

static void run_lines(const char *text, struct fake *fk, struct doc_report *r, const char *service)
{
	struct doc_targets t;
	struct doc_options opt = { .service = service, .wait_ms = 100 };
	char err[128];

	CHECK_EQ_INT(doc_targets_parse(text, strlen(text), &t, err, sizeof(err)), 0);
	doc_report_init(r);
	CHECK_EQ_INT(doctor_run(&t, &opt, &fk->io, r), 0);
	doc_targets_free(&t);
}

TEST(each_mistake_named)
{
	struct fake fk = fake_new(sizeof(hosts) / sizeof(hosts[0]));
	struct strbuf text;
	struct doc_report r;

	sb_init(&text);
	sb_append(&text, "vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\n");
	for (size_t i = 0; i < fk.n; i++)
		sb_printf(&text, "rs %s 80 dr 5555\n", hosts[i].addr);
	run_lines(sb_str(&text), &fk, &r, NULL);
	CHECK_EQ_INT(r.n, fk.n - 1);
	CHECK_EQ_INT(r.not_checked, 0);
	for (size_t i = 0; i < fk.n; i++) {
		const struct doc_finding *f = finding_of(&r, i);

		if (!CHECKS[i]) {
			CHECK(!f);
			continue;
		}
		CHECK(f != NULL);
		if (f)
			CHECK_EQ_STR(f->check, CHECKS[i]);
	}
	CHECK_CONTAINS(finding_of(&r, 1)->what, "MAC 02:00:00:00:12:01");
	CHECK_CONTAINS(finding_of(&r, 3)->what, "listens on its real address only");
	CHECK_CONTAINS(finding_of(&r, 6)->what, "not on its loopback");
	CHECK_CONTAINS(finding_of(&r, 8)->what, "'down #vip missing'");
	CHECK_CONTAINS(finding_of(&r, 9)->what, "refused");
	doc_report_free(&r);
	sb_free(&text);
}

TEST(healthy_no_finding_and_a_backup_knows_its_master)
{
	struct fake fk = fake_new(1);
	struct doc_report r;
	struct strbuf out;

	fk.advert = true;	/* the master answers for the VIP: not a finding */
	run_lines("vrrp VI_1 eth0 51 BACKUP 198.18.0.100\nvs web tcp 198.18.0.100 80\nrs 198.18.0.11 80 dr 5555\n",
		  &fk, &r, NULL);
	CHECK_EQ_INT(r.n, 0);
	sb_init(&out);
	doc_report_text(&r, &out);
	CHECK_EQ_STR(sb_str(&out), "no finding\n");
	doc_report_free(&r);
	/* A master: another MAC answering for its VIP is a finding. */
	run_lines("vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\nrs 198.18.0.11 80 dr 0\n",
		  &fk, &r, NULL);
	CHECK_EQ_INT(r.n, 1);
	CHECK_CONTAINS(r.items[0].what, "02:00:00:00:02:01 answers ARP for the VIP");
	doc_report_free(&r);
	sb_free(&out);
}

TEST(director_sysctls_and_traps)
{
	struct fake fk = fake_new(1);
	struct doc_report r;
	struct strbuf out;

	fk.rp_filter = 1;	/* strict, and the default route leaves eth1 */
	fk.ip_forward = 0;
	run_lines("vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\nrs 198.18.0.11 80 nat 0\n"
		  "trap d.ini:3: virtual_server web.check: warning: w\ntrap d.ini:9: virtual_server api.check: warning: a\n",
		  &fk, &r, "web");
	CHECK_EQ_INT(r.n, 3);
	sb_init(&out);
	doc_report_text(&r, &out);
	CHECK_CONTAINS(sb_str(&out), "web: [sysctl] net/ipv4/ip_forward is 0 and method nat is used");
	CHECK_CONTAINS(sb_str(&out), "director: [sysctl] strict rp_filter on eth0");
	CHECK_CONTAINS(sb_str(&out), "director: [trap] d.ini:3: virtual_server web.check");
	CHECK(!strstr(sb_str(&out), "api.check"));	/* another service's trap */
	sb_reset(&out);
	doc_report_json(&r, &out);
	CHECK_CONTAINS(sb_str(&out), "{\"findings\":[{\"check\":\"sysctl\",\"service\":\"web\",\"server\":null,");
	doc_report_free(&r);
	sb_free(&out);
}

/* rp_filter is IPv4's: an instance of IPv6 VIPs on an interface with
 * strict rp_filter, the IPv4 default route leaving another, loses no
 * client (the kernel has no reverse-path filter for IPv6). */
TEST(rp_filter_not_a_finding_for_ipv6_vips)
{
	struct fake fk = fake_new(0);
	struct doc_report r;

	fk.rp_filter = 1;	/* strict, and the default route leaves eth1 */
	run_lines("vrrp VI_6 eth0 61 MASTER 2001:db8::100\nvrrp VI_1 eth0 51 MASTER 198.18.0.100\n", &fk, &r, NULL);
	CHECK_EQ_INT(r.n, 1);
	CHECK(r.n && strstr(r.items[0].what, "where the VIPs of VI_1 are"));
	doc_report_free(&r);
}

/* Jumbo frames beyond 9000 bytes (9216, a common switch MTU; 9001): the
 * echo of the interface's MTU is built and answered, no "could not be
 * sent" (exit 2 with nothing wrong). */
TEST(mtu_of_jumbo_frames_is_probed)
{
	static const unsigned mtus[] = { 9001, 9216, 65535 };
	struct host saved = hosts[0];

	for (size_t i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
		struct fake fk = fake_new(1);
		struct doc_report r;

		fk.mtu = hosts[0].mtu = mtus[i];
		run_lines("vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\n"
			  "rs 198.18.0.11 80 dr 0\n", &fk, &r, NULL);
		CHECK_EQ_INT(r.n, 0);
		CHECK_EQ_INT(r.not_checked, 0);
		CHECK_EQ_STR(sb_str(&r.notes), "");
		doc_report_free(&r);
		/* A server with a smaller MTU than the director's is named. */
		fk = fake_new(1);
		fk.mtu = mtus[i];
		hosts[0].mtu = 9000;
		run_lines("vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\n"
			  "rs 198.18.0.11 80 dr 0\n", &fk, &r, NULL);
		CHECK_EQ_INT(r.n, 1);
		CHECK(r.n && strcmp(r.items[0].check, "mtu") == 0);
		doc_report_free(&r);
	}
	hosts[0] = saved;
}

TEST(source_and_agent_allow_list)
{
	struct host saved = hosts[0];
	struct fake fk = fake_new(1);
	struct doc_report r;

	hosts[0].source_is_vip = true;
	hosts[0].agent = -ENODATA;
	run_lines("vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\nrs 198.18.0.11 80 dr 5555\n",
		  &fk, &r, NULL);
	hosts[0] = saved;
	CHECK(r.n >= 2);
	CHECK_EQ_STR(r.items[0].check, "source");
	CHECK_CONTAINS(r.items[0].what, "leaves from the VIP 198.18.0.100");
	CHECK_EQ_STR(r.items[r.n - 1].check, "agent");
	CHECK_CONTAINS(r.items[r.n - 1].what, "not on its allow list");
	doc_report_free(&r);
}

/* The whole run is bounded: past its time, what is left is listed as not
 * checked (and counted: exit 2 without a finding). */
TEST(bounded_in_time)
{
	struct fake fk = fake_new(sizeof(hosts) / sizeof(hosts[0]));
	struct doc_options opt = { .wait_ms = 1000, .timeout_s = 3 };
	struct doc_targets t;
	struct doc_report r;
	struct strbuf text;
	char err[64];

	sb_init(&text);
	sb_append(&text, "vrrp VI_1 eth0 51 MASTER 198.18.0.100\nvs web tcp 198.18.0.100 80\n");
	for (size_t i = 0; i < fk.n; i++)
		sb_printf(&text, "rs %s 80 dr 5555\n", hosts[i].addr);
	CHECK_EQ_INT(doc_targets_parse(sb_str(&text), text.len, &t, err, sizeof(err)), 0);
	doc_report_init(&r);
	CHECK_EQ_INT(doctor_run(&t, &opt, &fk.io, &r), 0);
	CHECK(r.not_checked >= 5);
	CHECK_CONTAINS(sb_str(&r.notes), "web 198.18.0.20:80: out of time");
	CHECK(fk.clock_ms < 3000 + 8 * 1000);	/* the last server begun before the end, no more */
	doc_report_free(&r);
	doc_targets_free(&t);
	sb_free(&text);
}

TEST(unknown_service)
{
	struct fake fk = fake_new(1);
	struct doc_targets t;
	struct doc_options opt = { .service = "nosuch" };
	struct doc_report r;
	char err[64];

	CHECK_EQ_INT(doc_targets_parse(TARGETS, strlen(TARGETS), &t, err, sizeof(err)), 0);
	doc_report_init(&r);
	CHECK_EQ_INT(doctor_run(&t, &opt, &fk.io, &r), -ENOENT);
	CHECK_EQ_INT(fk.exchanges, 0);
	doc_report_free(&r);
	doc_targets_free(&t);
}

TEST_MAIN(T(arp_request_and_reply), T(ns_and_na), T(tcp_syn_and_reply),
	  T(echo_of_a_size), T(vrrp_advert_gives_the_master_mac), T(targets_parse),
	  T(targets_refused), T(targets_instance_with_255_vips), T(each_mistake_named),
	  T(healthy_no_finding_and_a_backup_knows_its_master), T(director_sysctls_and_traps), T(rp_filter_not_a_finding_for_ipv6_vips), T(mtu_of_jumbo_frames_is_probed), T(source_and_agent_allow_list), T(bounded_in_time),
	  T(unknown_service))
