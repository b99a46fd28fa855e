/* VRRP advertisements on the wire: RFC 3768 (v2, IPv4 only) and RFC 5798
 * (v3, IPv4 and IPv6). Every field is read and written byte by byte in
 * network order, so nothing depends on host endianness or alignment.
 *
 *  0       4       8              16              24             31
 *  | Ver   | Type  | Virtual Rtr ID|   Priority    |  Count Addrs  |
 *  v2: | Auth Type | Adver Int (s)  |          Checksum            |
 *  v3: | rsvd  | Max Adver Int (centiseconds, 12 bits) | Checksum |
 *  |  Count addresses: 4 bytes each (IPv4) or 16 bytes each (IPv6)  |
 *  |  v2 only: 8 bytes of authentication data                        |
 *
 * What the decoder does not check is the instance's business (interval
 * and password against ours, VRID lookup, TTL, our own address). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"
#include "vrrp.h"

#define VRRP_HDR_LEN		8
#define VRRP_TYPE_ADVERT	1
#define VRRP_V2_MAX_INTERVAL_S	255
#define CS_PER_S		100
#define IPV4_HDR_MIN		20
#define IPV4_FRAG_MASK		0x3fff	/* MF flag and fragment offset; DF may be set */

static const char *const drop_names[] = {
	[VRRP_OK] = "ok",
	[VRRP_DROP_TRUNCATED] = "truncated",
	[VRRP_DROP_IP_HEADER] = "ip_header",
	[VRRP_DROP_TTL] = "ttl",
	[VRRP_DROP_VERSION] = "version",
	[VRRP_DROP_TYPE] = "type",
	[VRRP_DROP_CHECKSUM] = "checksum",
	[VRRP_DROP_VRID] = "vrid",
	[VRRP_DROP_AUTH] = "auth",
	[VRRP_DROP_INTERVAL] = "interval",
	[VRRP_DROP_ADDR_FAMILY] = "address_family",
	[VRRP_DROP_PEER] = "peer",
	[VRRP_DROP_OWN] = "own",
};

_Static_assert(ARRAY_SIZE(drop_names) == VRRP_DROP__COUNT, "a drop reason has no name");

bool vrrp_ttl_accepted(uint8_t ttl, bool unicast, bool unicast_ttl_check)
{
	return ttl == VRRP_TTL || (unicast && !unicast_ttl_check);
}

const char *vrrp_drop_name(enum vrrp_drop d)
{
	if ((unsigned)d >= ARRAY_SIZE(drop_names) || !drop_names[d])
		return "unknown";
	return drop_names[d];
}

/* ---- RFC 1071 checksum ---- */

/* Words are read big-endian, so the folded result is the value to store
 * big-endian. An odd final byte counts as the high half of a word padded
 * with zero; only the last piece of a chained sum may be odd. */
uint32_t inet_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	for (; len >= 2; p += 2, len -= 2)
		acc += (uint32_t)p[0] << 8 | p[1];
	if (len)
		acc += (uint32_t)p[0] << 8;
	/* 2^16 == 1 in one's complement arithmetic, so folding keeps the value
	 * and the result always fits the next call. */
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

uint16_t inet_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	return (uint16_t)~sum;
}

/* ---- layout ---- */

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static bool family_known(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* The message length is defined by the address count, not by the IP length. */
static size_t message_len(int version, int family, unsigned naddrs)
{
	return VRRP_HDR_LEN + naddrs * addr_len(family) + (version == 2 ? VRRP_V2_AUTH_LEN : 0);
}

/* v2 sums the message alone; v3 adds the pseudo-header, always over IPv6
 * and over IPv4 unless configured off for peers that leave it out. */
static bool uses_pseudo_header(int version, int family, bool v3_pseudo_header)
{
	return version == 3 && (family == AF_INET6 || v3_pseudo_header);
}

static bool endpoints_match(int family, const struct ipaddr *src, const struct ipaddr *dst)
{
	return src && dst && src->family == family && dst->family == family;
}

/* IPv4 (RFC 768 style): src, dst, zero, protocol, 16-bit length.
 * IPv6 (RFC 2460 section 8.1): src, dst, 32-bit length, 3 zeros, next header. */
static uint32_t pseudo_header_sum(const struct ipaddr *src, const struct ipaddr *dst, size_t msg_len)
{
	uint8_t ph[40] = { 0 };
	size_t alen = addr_len(src->family);

	memcpy(ph, src->u.bytes, alen);
	memcpy(ph + alen, dst->u.bytes, alen);
	if (src->family == AF_INET) {
		ph[9] = VRRP_PROTO;
		ph[10] = (uint8_t)(msg_len >> 8);
		ph[11] = (uint8_t)msg_len;
		return inet_csum_add(0, ph, 12);
	}
	ph[34] = (uint8_t)(msg_len >> 8);
	ph[35] = (uint8_t)msg_len;
	ph[39] = VRRP_PROTO;
	return inet_csum_add(0, ph, sizeof(ph));
}

static uint32_t checksum_start(int version, int family, bool v3_pseudo_header, const struct ipaddr *src,
			       const struct ipaddr *dst, size_t msg_len)
{
	if (!uses_pseudo_header(version, family, v3_pseudo_header))
		return 0;
	return pseudo_header_sum(src, dst, msg_len);
}

/* ---- encode ---- */

static bool v2_interval_valid(uint16_t cs)
{
	return cs >= CS_PER_S && cs <= VRRP_V2_MAX_INTERVAL_S * CS_PER_S && cs % CS_PER_S == 0;
}

static bool v3_interval_valid(uint16_t cs)
{
	return cs >= 1 && cs <= VRRP_V3_MAX_INTERVAL_CS;
}

static bool advert_valid(const struct vrrp_advert *a)
{
	if (a->vrid == 0 || a->naddrs == 0)
		return false;
	switch (a->version) {
	case 2:
		if (a->family != AF_INET || !v2_interval_valid(a->interval_cs))
			return false;
		if (a->auth_type != VRRP_AUTH_NONE && a->auth_type != VRRP_AUTH_SIMPLE)
			return false;
		break;
	case 3:
		/* v3 has no authentication: a set auth_type is a caller's mistake. */
		if (!family_known(a->family) || !v3_interval_valid(a->interval_cs) ||
		    a->auth_type != VRRP_AUTH_NONE)
			return false;
		break;
	default:
		return false;
	}
	for (unsigned i = 0; i < a->naddrs; i++)
		if (a->addrs[i].family != a->family)
			return false;
	return true;
}

static void put_interval(const struct vrrp_advert *a, uint8_t *buf)
{
	if (a->version == 2) {
		buf[4] = a->auth_type;
		buf[5] = (uint8_t)(a->interval_cs / CS_PER_S);
	} else {
		buf[4] = (uint8_t)(a->interval_cs >> 8);	/* rsvd bits stay zero */
		buf[5] = (uint8_t)a->interval_cs;
	}
}

static void put_auth(const struct vrrp_advert *a, uint8_t *p)
{
	if (a->auth_type == VRRP_AUTH_SIMPLE)
		memcpy(p, a->auth, VRRP_V2_AUTH_LEN);
	else
		memset(p, 0, VRRP_V2_AUTH_LEN);
}

int vrrp_encode(const struct vrrp_advert *a, const struct ipaddr *src, const struct ipaddr *dst,
		bool v3_pseudo_header, uint8_t *buf, size_t size)
{
	size_t len, alen;
	uint8_t *p;
	uint16_t csum;
	uint32_t sum;

	if (!a || !buf || !advert_valid(a))
		return -EINVAL;
	if (uses_pseudo_header(a->version, a->family, v3_pseudo_header) &&
	    !endpoints_match(a->family, src, dst))
		return -EINVAL;
	len = message_len(a->version, a->family, a->naddrs);
	if (len > size)
		return -ENOSPC;

	buf[0] = (uint8_t)(a->version << 4 | VRRP_TYPE_ADVERT);
	buf[1] = a->vrid;
	buf[2] = a->priority;
	buf[3] = a->naddrs;
	put_interval(a, buf);
	buf[6] = buf[7] = 0;
	alen = addr_len(a->family);
	p = buf + VRRP_HDR_LEN;
	for (unsigned i = 0; i < a->naddrs; i++, p += alen)
		memcpy(p, a->addrs[i].u.bytes, alen);
	if (a->version == 2)
		put_auth(a, p);

	sum = checksum_start(a->version, a->family, v3_pseudo_header, src, dst, len);
	csum = inet_csum_fold(inet_csum_add(sum, buf, len));
	buf[6] = (uint8_t)(csum >> 8);
	buf[7] = (uint8_t)csum;
	return (int)len;
}

/* ---- decode ---- */

static uint16_t wire_interval_cs(int version, const uint8_t *buf)
{
	if (version == 2)
		return (uint16_t)(buf[5] * CS_PER_S);
	/* RFC 5798 5.2.6: the 4 reserved bits are ignored on receipt. */
	return (uint16_t)((buf[4] & 0x0f) << 8 | buf[5]);
}

/* Layout checks, in the order RFC 5798 section 7.1 lists them: version,
 * then a complete message (which needs a known type and family to be
 * defined at all). On success *msg_len is the message length.
 *
 * Trailing bytes past the message are tolerated and ignored: the RFCs
 * define the message by its address count, the checksum covers exactly
 * that message, and nothing past it is ever read. IPv4 link padding is
 * already gone (vrrp_parse_ipv4 trusts the IP total length), so extra
 * bytes only come from a sloppy sender, and dropping a packet whose every
 * field is intact and checksummed would buy nothing. Too short is always
 * an error. */
static enum vrrp_drop check_layout(const uint8_t *buf, size_t len, int family, int expect_version,
				   size_t *msg_len)
{
	if (expect_version != 2 && expect_version != 3)
		return VRRP_DROP_VERSION;
	if (!family_known(family))
		return VRRP_DROP_ADDR_FAMILY;
	if (len < VRRP_HDR_LEN)
		return VRRP_DROP_TRUNCATED;
	if (buf[0] >> 4 != expect_version)
		return VRRP_DROP_VERSION;
	if ((buf[0] & 0x0f) != VRRP_TYPE_ADVERT)
		return VRRP_DROP_TYPE;
	if (expect_version == 2 && family != AF_INET)
		return VRRP_DROP_ADDR_FAMILY;
	/* A count of zero leaves the required address list missing: the
	 * minimum is 1 and a count of 0 MUST be ignored (RFC 9568 5.2.5). */
	if (buf[3] == 0)
		return VRRP_DROP_TRUNCATED;
	*msg_len = message_len(expect_version, family, buf[3]);
	if (len < *msg_len)
		return VRRP_DROP_TRUNCATED;
	return VRRP_OK;
}

/* Field checks once the checksum has vouched for the bytes. */
static enum vrrp_drop check_fields(const uint8_t *buf, int version)
{
	if (buf[1] == 0)
		return VRRP_DROP_VRID;
	if (wire_interval_cs(version, buf) == 0)
		return VRRP_DROP_INTERVAL;
	/* RFC 3768 keeps types 1 and 2 for RFC 2338 peers; we speak 0 and 1
	 * (simple password) and cannot verify anything else. */
	if (version == 2 && buf[4] != VRRP_AUTH_NONE && buf[4] != VRRP_AUTH_SIMPLE)
		return VRRP_DROP_AUTH;
	return VRRP_OK;
}

static void fill_advert(const uint8_t *buf, int family, int version, struct vrrp_advert *out)
{
	size_t alen = addr_len(family);
	const uint8_t *p = buf + VRRP_HDR_LEN;

	memset(out, 0, sizeof(*out));
	out->version = (uint8_t)version;
	out->vrid = buf[1];
	out->priority = buf[2];
	out->naddrs = buf[3];
	out->interval_cs = wire_interval_cs(version, buf);
	out->family = family;
	for (unsigned i = 0; i < out->naddrs; i++, p += alen) {
		out->addrs[i].family = family;
		out->addrs[i].prefixlen = (uint8_t)(alen * 8);
		out->addrs[i].has_prefix = false;
		memcpy(out->addrs[i].u.bytes, p, alen);
	}
	if (version == 2) {
		out->auth_type = buf[4];
		/* With no authentication the data is ignored (RFC 3768 5.3.6). */
		if (out->auth_type == VRRP_AUTH_SIMPLE)
			memcpy(out->auth, p, VRRP_V2_AUTH_LEN);
	}
}

/* Report the reason (VRRP_OK included) and turn it into a return value. */
static int verdict(enum vrrp_drop reason, enum vrrp_drop *why)
{
	if (why)
		*why = reason;
	return reason == VRRP_OK ? 0 : -EINVAL;
}

int vrrp_decode(const uint8_t *buf, size_t len, int family, const struct ipaddr *src,
		const struct ipaddr *dst, int expect_version, bool v3_pseudo_header,
		struct vrrp_advert *out, enum vrrp_drop *why)
{
	enum vrrp_drop reason;
	size_t msg_len = 0;
	uint32_t sum;

	if (!buf || !out)
		return verdict(VRRP_DROP_TRUNCATED, why);
	reason = check_layout(buf, len, family, expect_version, &msg_len);
	if (reason != VRRP_OK)
		return verdict(reason, why);
	if (uses_pseudo_header(expect_version, family, v3_pseudo_header) &&
	    !endpoints_match(family, src, dst))
		return verdict(VRRP_DROP_ADDR_FAMILY, why);

	/* Summing the stored checksum too gives zero for an intact message. */
	sum = checksum_start(expect_version, family, v3_pseudo_header, src, dst, msg_len);
	if (inet_csum_fold(inet_csum_add(sum, buf, msg_len)) != 0)
		return verdict(VRRP_DROP_CHECKSUM, why);

	reason = check_fields(buf, expect_version);
	if (reason != VRRP_OK)
		return verdict(reason, why);
	fill_advert(buf, family, expect_version, out);
	return verdict(VRRP_OK, why);
}

/* ---- IPv4 header of a raw-socket read ---- */

static void ipv4_from_bytes(const uint8_t *p, struct ipaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->prefixlen = 32;
	memcpy(a->u.bytes, p, 4);
}

/* The kernel has already verified the header checksum and reassembled
 * fragments before a raw socket sees the packet, so a fragment here is
 * malformed, and the header checksum is not checked again. The payload
 * ends at the IP total length, which drops any link-layer padding. */
int vrrp_parse_ipv4(const uint8_t *pkt, size_t len, struct ipaddr *src, struct ipaddr *dst,
		    uint8_t *ttl, const uint8_t **payload, size_t *plen, enum vrrp_drop *why)
{
	size_t hlen, total;

	if (!pkt || len < IPV4_HDR_MIN)
		return verdict(VRRP_DROP_TRUNCATED, why);
	if (pkt[0] >> 4 != 4)
		return verdict(VRRP_DROP_IP_HEADER, why);
	hlen = (size_t)(pkt[0] & 0x0f) * 4;
	if (hlen < IPV4_HDR_MIN)
		return verdict(VRRP_DROP_IP_HEADER, why);
	if (hlen > len)
		return verdict(VRRP_DROP_TRUNCATED, why);
	total = (size_t)pkt[2] << 8 | pkt[3];
	if (total < hlen)
		return verdict(VRRP_DROP_IP_HEADER, why);
	if (total > len)
		return verdict(VRRP_DROP_TRUNCATED, why);
	if (((pkt[6] << 8 | pkt[7]) & IPV4_FRAG_MASK) != 0)
		return verdict(VRRP_DROP_IP_HEADER, why);
	if (pkt[9] != VRRP_PROTO)
		return verdict(VRRP_DROP_IP_HEADER, why);

	ipv4_from_bytes(pkt + 12, src);
	ipv4_from_bytes(pkt + 16, dst);
	*ttl = pkt[8];
	*payload = pkt + hlen;
	*plen = total - hlen;
	return verdict(VRRP_OK, why);
}
