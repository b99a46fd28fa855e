/* Frames of `directorctl doctor` (doctor_pkt.h): built and read byte by
 * byte at fixed offsets, so that nothing depends on the alignment of what
 * arrives, and every length is checked before it is read. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "doctor_pkt.h"

#define ARP_LEN 28
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 20
#define ICMP_HDR 8
#define PROTO_VRRP 112
#define ICMP6_NS 135
#define ICMP6_NA 136
#define ICMP6_ECHO 128
#define ICMP6_ECHO_REPLY 129

static const struct doc_mac broadcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The Internet checksum's running sum of n bytes. */
static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t sum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header's sum for an upper-layer length and protocol. */
static uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, size_t len, uint8_t proto)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t sum = sum_bytes(sum_bytes(0, src, alen), dst, alen);

	return sum + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + proto;
}

static void eth_put(uint8_t *f, const struct doc_mac *dst, const struct doc_mac *src, uint16_t type)
{
	memcpy(f, dst->b, 6);
	memcpy(f + 6, src->b, 6);
	put16(f + 12, type);
}

static bool eth_is(const uint8_t *f, size_t len, uint16_t type, size_t need)
{
	return len >= DOC_ETH_LEN + need && get16(f + 12) == type;
}

/* ---- ARP ---- */

size_t doc_arp_request(uint8_t *buf, size_t size, const struct doc_mac *smac, struct in_addr sip, struct in_addr tip)
{
	uint8_t *a = buf + DOC_ETH_LEN;

	if (size < DOC_ETH_LEN + ARP_LEN)
		return 0;
	eth_put(buf, &broadcast, smac, ETHERTYPE_ARP);
	put16(a, 1);			/* Ethernet */
	put16(a + 2, ETHERTYPE_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);		/* request */
	memcpy(a + 8, smac->b, 6);
	memcpy(a + 14, &sip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &tip, 4);
	return DOC_ETH_LEN + ARP_LEN;
}

int doc_arp_reply_parse(const uint8_t *f, size_t len, struct in_addr tip, struct doc_mac *mac)
{
	const uint8_t *a = f + DOC_ETH_LEN;

	if (!eth_is(f, len, ETHERTYPE_ARP, ARP_LEN) || get16(a) != 1 || get16(a + 2) != ETHERTYPE_IP ||
	    a[4] != 6 || a[5] != 4 || get16(a + 6) != 2 || memcmp(a + 14, &tip, 4) != 0)
		return -ENOENT;
	memcpy(mac->b, a + 8, 6);
	return 0;
}

/* ---- IPv6 neighbour discovery ---- */

static void ip6_put(uint8_t *p, size_t payload, uint8_t next, uint8_t hops, const uint8_t *src, const uint8_t *dst)
{
	put32(p, 0x60000000);
	put16(p + 4, (uint16_t)payload);
	p[6] = next;
	p[7] = hops;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
}

size_t doc_ns_build(uint8_t *buf, size_t size, const struct doc_mac *smac, const struct in6_addr *src,
		    const struct in6_addr *target)
{
	static const size_t icmp_len = 24 + 8;	/* NS, source link-layer address option */
	uint8_t group[16] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };
	struct doc_mac gmac = { { 0x33, 0x33, 0xff } };
	uint8_t *ip = buf + DOC_ETH_LEN, *icmp = ip + IP6_LEN;

	if (size < DOC_ETH_LEN + IP6_LEN + icmp_len)
		return 0;
	memcpy(group + 13, target->s6_addr + 13, 3);
	memcpy(gmac.b + 3, target->s6_addr + 13, 3);
	eth_put(buf, &gmac, smac, ETHERTYPE_IPV6);
	ip6_put(ip, icmp_len, IPPROTO_ICMPV6, 255, src->s6_addr, group);
	memset(icmp, 0, icmp_len);
	icmp[0] = ICMP6_NS;
	memcpy(icmp + 8, target->s6_addr, 16);
	icmp[24] = 1;			/* source link-layer address */
	icmp[25] = 1;			/* 8 bytes */
	memcpy(icmp + 26, smac->b, 6);
	put16(icmp + 2, sum_fold(sum_bytes(pseudo_sum(AF_INET6, src->s6_addr, group, icmp_len, IPPROTO_ICMPV6),
					   icmp, icmp_len)));
	return DOC_ETH_LEN + IP6_LEN + icmp_len;
}

/* The ICMPv6 message of an IPv6 frame without extension headers, its
 * checksum checked: its start and length, or NULL. */
static const uint8_t *icmp6_of(const uint8_t *f, size_t len, size_t *icmp_len)
{
	const uint8_t *ip = f + DOC_ETH_LEN;
	size_t plen;

	if (!eth_is(f, len, ETHERTYPE_IPV6, IP6_LEN) || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_ICMPV6)
		return NULL;
	plen = get16(ip + 4);
	if (plen < 4 || plen > len - DOC_ETH_LEN - IP6_LEN)
		return NULL;
	if (sum_fold(sum_bytes(pseudo_sum(AF_INET6, ip + 8, ip + 24, plen, IPPROTO_ICMPV6), ip + IP6_LEN, plen)))
		return NULL;
	*icmp_len = plen;
	return ip + IP6_LEN;
}

int doc_na_parse(const uint8_t *f, size_t len, const struct in6_addr *target, struct doc_mac *mac)
{
	size_t n, off;
	const uint8_t *icmp = icmp6_of(f, len, &n);

	if (!icmp || n < 24 || icmp[0] != ICMP6_NA || icmp[1] != 0 || f[DOC_ETH_LEN + 7] != 255 ||
	    memcmp(icmp + 8, target->s6_addr, 16) != 0)
		return -ENOENT;
	memcpy(mac->b, f + 6, 6);
	for (off = 24; off + 2 <= n && icmp[off + 1]; off += (size_t)icmp[off + 1] * 8)
		if (icmp[off] == 2 && icmp[off + 1] == 1 && off + 8 <= n)	/* target link-layer address */
			memcpy(mac->b, icmp + off + 2, 6);
	return 0;
}

/* ---- IP headers ---- */

static void ip4_put(uint8_t *p, size_t total, uint8_t proto, const struct ipaddr *src, const struct ipaddr *dst)
{
	memset(p, 0, IP4_LEN);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)total);
	put16(p + 6, 0x4000);		/* DF */
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, &src->u.v4, 4);
	memcpy(p + 16, &dst->u.v4, 4);
	put16(p + 10, sum_fold(sum_bytes(0, p, IP4_LEN)));
}

/* The IP header for an upper-layer message of ulen bytes: its length, 0
 * when it does not fit or the families are not one. */
static size_t ip_put(uint8_t *p, size_t room, size_t ulen, uint8_t proto, const struct ipaddr *src,
		     const struct ipaddr *dst)
{
	if (src->family != dst->family || (src->family != AF_INET && src->family != AF_INET6))
		return 0;
	if (src->family == AF_INET) {
		if (room < IP4_LEN + ulen || IP4_LEN + ulen > 0xffff)
			return 0;
		ip4_put(p, IP4_LEN + ulen, proto, src, dst);
		return IP4_LEN;
	}
	if (room < IP6_LEN + ulen || ulen > 0xffff)
		return 0;
	ip6_put(p, ulen, proto, 64, src->u.v6.s6_addr, dst->u.v6.s6_addr);
	return IP6_LEN;
}

/* The upper-layer message of an IP frame from `from` with protocol proto
 * (IPv4 without fragments, IPv6 without extension headers): its start and
 * length, and where the IP header's addresses are; NULL otherwise. */
static const uint8_t *upper_of(const uint8_t *f, size_t len, const struct ipaddr *from, uint8_t proto,
			       size_t *ulen, const uint8_t **src, const uint8_t **dst)
{
	const uint8_t *ip = f + DOC_ETH_LEN;

	if (from->family == AF_INET) {
		size_t hl, total;

		if (!eth_is(f, len, ETHERTYPE_IP, IP4_LEN) || (ip[0] >> 4) != 4 || ip[9] != proto)
			return NULL;
		hl = (size_t)(ip[0] & 0x0f) * 4;
		total = get16(ip + 2);
		if (hl < IP4_LEN || total < hl || total > len - DOC_ETH_LEN || (get16(ip + 6) & 0x3fff) ||
		    memcmp(ip + 12, &from->u.v4, 4) != 0)
			return NULL;
		*ulen = total - hl;
		*src = ip + 12;
		*dst = ip + 16;
		return ip + hl;
	}
	if (from->family != AF_INET6 || !eth_is(f, len, ETHERTYPE_IPV6, IP6_LEN) || (ip[0] >> 4) != 6 ||
	    ip[6] != proto || memcmp(ip + 8, from->u.v6.s6_addr, 16) != 0)
		return NULL;
	*ulen = get16(ip + 4);
	if (*ulen > len - DOC_ETH_LEN - IP6_LEN)
		return NULL;
	*src = ip + 8;
	*dst = ip + 24;
	return ip + IP6_LEN;
}

static const uint8_t *addr_bytes(const struct ipaddr *a)
{
	return a->family == AF_INET ? (const uint8_t *)&a->u.v4 : a->u.v6.s6_addr;
}

/* ---- TCP ---- */

size_t doc_tcp_build(uint8_t *buf, size_t size, const struct doc_mac *smac, const struct doc_mac *dmac,
		     const struct ipaddr *src, uint16_t sport, const struct ipaddr *dst, uint16_t dport,
		     uint8_t flags, uint32_t seq, uint32_t ack)
{
	uint8_t *ip = buf + DOC_ETH_LEN, *tcp;
	size_t hl;

	if (size < DOC_ETH_LEN || !(hl = ip_put(ip, size - DOC_ETH_LEN, TCP_LEN, IPPROTO_TCP, src, dst)))
		return 0;
	eth_put(buf, dmac, smac, src->family == AF_INET ? ETHERTYPE_IP : ETHERTYPE_IPV6);
	tcp = ip + hl;
	memset(tcp, 0, TCP_LEN);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (TCP_LEN / 4) << 4;
	tcp[13] = flags;
	put16(tcp + 14, flags & TH_RST ? 0 : 64240);
	put16(tcp + 16, sum_fold(sum_bytes(pseudo_sum(src->family, addr_bytes(src), addr_bytes(dst), TCP_LEN,
						      IPPROTO_TCP), tcp, TCP_LEN)));
	return DOC_ETH_LEN + hl + TCP_LEN;
}

int doc_tcp_reply_parse(const uint8_t *f, size_t len, const struct ipaddr *from, uint16_t fport,
			const struct ipaddr *to, uint16_t tport, struct doc_tcp_reply *out)
{
	const uint8_t *src, *dst;
	size_t n;
	const uint8_t *tcp = upper_of(f, len, from, IPPROTO_TCP, &n, &src, &dst);

	if (!tcp || to->family != from->family || n < TCP_LEN || (size_t)(tcp[12] >> 4) * 4 < TCP_LEN ||
	    memcmp(dst, addr_bytes(to), from->family == AF_INET ? 4 : 16) != 0 || get16(tcp) != fport ||
	    get16(tcp + 2) != tport)
		return -ENOENT;
	/* No checksum test: a frame from a local stack over veth (and from
	 * NICs with offloads) may carry only the pseudo-header's sum. The
	 * caller matches the ack to its own sequence number. */
	out->flags = tcp[13];
	out->seq = get32(tcp + 4);
	out->ack = get32(tcp + 8);
	return 0;
}

/* ---- ICMP echo ---- */

size_t doc_echo_build(uint8_t *buf, size_t size, const struct doc_mac *smac, const struct doc_mac *dmac,
		      const struct ipaddr *src, const struct ipaddr *dst, uint16_t id, uint16_t seq, size_t ip_len)
{
	size_t iphl = src->family == AF_INET ? IP4_LEN : IP6_LEN, ulen, hl;
	uint8_t proto = src->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, *ip = buf + DOC_ETH_LEN, *icmp;
	uint32_t sum;

	if (ip_len < iphl + ICMP_HDR || size < DOC_ETH_LEN ||
	    !(hl = ip_put(ip, size - DOC_ETH_LEN, ulen = ip_len - iphl, proto, src, dst)))
		return 0;
	eth_put(buf, dmac, smac, src->family == AF_INET ? ETHERTYPE_IP : ETHERTYPE_IPV6);
	icmp = ip + hl;
	for (size_t i = ICMP_HDR; i < ulen; i++)
		icmp[i] = (uint8_t)i;
	memset(icmp, 0, ICMP_HDR);
	icmp[0] = src->family == AF_INET ? 8 : ICMP6_ECHO;
	put16(icmp + 4, id);
	put16(icmp + 6, seq);
	sum = src->family == AF_INET ? 0 : pseudo_sum(AF_INET6, addr_bytes(src), addr_bytes(dst), ulen, proto);
	put16(icmp + 2, sum_fold(sum_bytes(sum, icmp, ulen)));
	return DOC_ETH_LEN + hl + ulen;
}

int doc_echo_reply_parse(const uint8_t *f, size_t len, const struct ipaddr *from, uint16_t id, uint16_t seq)
{
	uint8_t proto = from->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	const uint8_t *src, *dst;
	size_t n;
	const uint8_t *icmp = upper_of(f, len, from, proto, &n, &src, &dst);
	uint32_t sum;

	if (!icmp || n < ICMP_HDR || icmp[0] != (from->family == AF_INET ? 0 : ICMP6_ECHO_REPLY) ||
	    get16(icmp + 4) != id || get16(icmp + 6) != seq)
		return -ENOENT;
	sum = from->family == AF_INET ? 0 : pseudo_sum(AF_INET6, src, dst, n, proto);
	return sum_fold(sum_bytes(sum, icmp, n)) ? -ENOENT : 0;
}

/* ---- VRRP ---- */

int doc_vrrp_advert_parse(const uint8_t *f, size_t len, unsigned vrid, struct doc_mac *mac)
{
	const uint8_t *ip = f + DOC_ETH_LEN, *v;
	size_t hl;

	if (eth_is(f, len, ETHERTYPE_IP, IP4_LEN) && (ip[0] >> 4) == 4 && ip[9] == PROTO_VRRP) {
		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (hl < IP4_LEN || len < DOC_ETH_LEN + hl + 8)
			return -ENOENT;
		v = ip + hl;
	} else if (eth_is(f, len, ETHERTYPE_IPV6, IP6_LEN + 8) && (ip[0] >> 4) == 6 && ip[6] == PROTO_VRRP) {
		v = ip + IP6_LEN;
	} else {
		return -ENOENT;
	}
	if ((v[0] & 0x0f) != 1 || ((v[0] >> 4) != 2 && (v[0] >> 4) != 3) || v[1] != vrid)
		return -ENOENT;
	memcpy(mac->b, f + 6, 6);
	return 0;
}

bool doc_mac_is_vrrp(const struct doc_mac *m)
{
	return m->b[0] == 0 && m->b[1] == 0 && m->b[2] == 0x5e && m->b[3] == 0 && (m->b[4] == 1 || m->b[4] == 2);
}

const char *doc_mac_ntop(const struct doc_mac *m, char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2], m->b[3], m->b[4], m->b[5]);
	return buf;
}
