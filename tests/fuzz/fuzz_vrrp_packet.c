/* libFuzzer target: VRRP advertisements are bytes from anyone on the LAN.
 *
 * Input: one mode byte, then
 *   IPv4, whole packet:  an IPv4 packet, split by vrrp_parse_ipv4;
 *   IPv4, payload only:  4-byte source, 4-byte destination, VRRP message;
 *   IPv6:                16-byte source, 16-byte destination, VRRP message.
 * Mode bits: MODE_IPV6, MODE_V3 (else v2), MODE_PSEUDO (the IPv4 v3
 * pseudo-header option), MODE_IP_PACKET (IPv4 only), MODE_RESEAL (store a
 * correct checksum first, so mutations reach the checks behind it).
 *
 * Whatever decodes must satisfy the advert's invariants, encode again, and
 * decode from that encoding to exactly the same fields. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vrrp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define MODE_IPV6	0x01
#define MODE_V3		0x02
#define MODE_PSEUDO	0x04
#define MODE_IP_PACKET	0x08
#define MODE_RESEAL	0x10

struct input {
	int family;
	int version;
	bool pseudo;
	struct ipaddr src, dst;
	uint8_t msg[VRRP_PACKET_MAX + 64];
	size_t len;
};

static void set_addr(struct ipaddr *a, int family, const uint8_t *bytes)
{
	size_t alen = family == AF_INET6 ? 16 : 4;

	memset(a, 0, sizeof(*a));
	a->family = family;
	a->prefixlen = (uint8_t)(alen * 8);
	memcpy(a->u.bytes, bytes, alen);
}

static void check_parsed_ipv4(const uint8_t *pkt, size_t len, const struct ipaddr *src, const struct ipaddr *dst,
			      const uint8_t *payload, size_t plen)
{
	REQUIRE(src->family == AF_INET && dst->family == AF_INET);
	REQUIRE(payload >= pkt + 20 && payload <= pkt + len);
	REQUIRE(plen <= (size_t)(pkt + len - payload));
	REQUIRE(memcmp(src->u.bytes, pkt + 12, 4) == 0 && memcmp(dst->u.bytes, pkt + 16, 4) == 0);
}

/* The pseudo-header as RFC 768 (IPv4) and RFC 2460 8.1 (IPv6) lay it out. */
static uint32_t pseudo_sum(const struct input *in, size_t msg_len)
{
	uint8_t ph[40] = { 0 };

	if (in->family == AF_INET) {
		memcpy(ph, in->src.u.bytes, 4);
		memcpy(ph + 4, in->dst.u.bytes, 4);
		ph[9] = VRRP_PROTO;
		ph[10] = (uint8_t)(msg_len >> 8);
		ph[11] = (uint8_t)msg_len;
		return inet_csum_add(0, ph, 12);
	}
	memcpy(ph, in->src.u.bytes, 16);
	memcpy(ph + 16, in->dst.u.bytes, 16);
	ph[34] = (uint8_t)(msg_len >> 8);
	ph[35] = (uint8_t)msg_len;
	ph[39] = VRRP_PROTO;
	return inet_csum_add(0, ph, 40);
}

/* Store the checksum the message should carry, when its count says it is
 * complete: a fuzzer cannot guess checksums, and everything the decoder
 * checks after the checksum would otherwise go untested. */
static void reseal_if_complete(struct input *in)
{
	size_t msg_len;
	uint32_t sum = 0;
	uint16_t c;

	if (in->len < 8)
		return;
	msg_len = 8 + in->msg[3] * (in->family == AF_INET6 ? 16u : 4u) + (in->version == 2 ? VRRP_V2_AUTH_LEN : 0);
	if (in->len < msg_len)
		return;
	if (in->version == 3 && (in->family == AF_INET6 || in->pseudo))
		sum = pseudo_sum(in, msg_len);
	in->msg[6] = in->msg[7] = 0;
	c = inet_csum_fold(inet_csum_add(sum, in->msg, msg_len));
	in->msg[6] = (uint8_t)(c >> 8);
	in->msg[7] = (uint8_t)c;
}

/* Split the fuzz input into addresses and a message; false when too short
 * or when the IPv4 header is refused. */
static bool split_input(const uint8_t *data, size_t size, struct input *in)
{
	uint8_t mode;
	size_t alen;

	if (size < 1)
		return false;
	mode = data[0];
	data++;
	size--;
	in->family = mode & MODE_IPV6 ? AF_INET6 : AF_INET;
	in->version = mode & MODE_V3 ? 3 : 2;
	in->pseudo = mode & MODE_PSEUDO;

	if (in->family == AF_INET && (mode & MODE_IP_PACKET)) {
		const uint8_t *payload;
		size_t plen;
		uint8_t ttl;
		enum vrrp_drop why = VRRP_DROP__COUNT;

		if (vrrp_parse_ipv4(data, size, &in->src, &in->dst, &ttl, &payload, &plen, &why) < 0) {
			REQUIRE(why == VRRP_DROP_TRUNCATED || why == VRRP_DROP_IP_HEADER);
			return false;
		}
		REQUIRE(why == VRRP_OK);
		check_parsed_ipv4(data, size, &in->src, &in->dst, payload, plen);
		data = payload;
		size = plen;
	} else {
		alen = in->family == AF_INET6 ? 16 : 4;
		if (size < 2 * alen)
			return false;
		set_addr(&in->src, in->family, data);
		set_addr(&in->dst, in->family, data + alen);
		data += 2 * alen;
		size -= 2 * alen;
	}
	if (size > sizeof(in->msg))
		return false;
	memcpy(in->msg, data, size);
	in->len = size;
	if (mode & MODE_RESEAL)
		reseal_if_complete(in);
	return true;
}

static void check_advert(const struct vrrp_advert *a, const struct input *in)
{
	REQUIRE(a->version == in->version);
	REQUIRE(a->family == in->family);
	REQUIRE(a->vrid >= 1);
	REQUIRE(a->naddrs >= 1);
	if (a->version == 2) {
		REQUIRE(a->interval_cs >= 100 && a->interval_cs <= 25500 && a->interval_cs % 100 == 0);
		REQUIRE(a->auth_type == VRRP_AUTH_NONE || a->auth_type == VRRP_AUTH_SIMPLE);
	} else {
		REQUIRE(a->interval_cs >= 1 && a->interval_cs <= VRRP_V3_MAX_INTERVAL_CS);
		REQUIRE(a->auth_type == VRRP_AUTH_NONE);
	}
	if (a->auth_type == VRRP_AUTH_NONE)
		REQUIRE(memcmp(a->auth, "\0\0\0\0\0\0\0\0", VRRP_V2_AUTH_LEN) == 0);
	for (unsigned i = 0; i < a->naddrs; i++) {
		REQUIRE(a->addrs[i].family == a->family);
		REQUIRE(a->addrs[i].prefixlen == (a->family == AF_INET6 ? 128 : 32));
		REQUIRE(!a->addrs[i].has_prefix);
	}
}

static void require_same(const struct vrrp_advert *a, const struct vrrp_advert *b)
{
	size_t alen = a->family == AF_INET6 ? 16 : 4;

	REQUIRE(a->version == b->version);
	REQUIRE(a->vrid == b->vrid);
	REQUIRE(a->priority == b->priority);
	REQUIRE(a->interval_cs == b->interval_cs);
	REQUIRE(a->family == b->family);
	REQUIRE(a->naddrs == b->naddrs);
	REQUIRE(a->auth_type == b->auth_type);
	REQUIRE(memcmp(a->auth, b->auth, VRRP_V2_AUTH_LEN) == 0);
	for (unsigned i = 0; i < a->naddrs; i++) {
		REQUIRE(a->addrs[i].family == b->addrs[i].family);
		REQUIRE(a->addrs[i].prefixlen == b->addrs[i].prefixlen);
		REQUIRE(a->addrs[i].has_prefix == b->addrs[i].has_prefix);
		REQUIRE(memcmp(a->addrs[i].u.bytes, b->addrs[i].u.bytes, alen) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	static struct vrrp_advert a, b;
	static uint8_t enc[VRRP_PACKET_MAX];
	enum vrrp_drop why = VRRP_DROP__COUNT;
	int ret, n;

	if (!split_input(data, size, &in))
		return 0;
	ret = vrrp_decode(in.msg, in.len, in.family, &in.src, &in.dst, in.version, in.pseudo, &a, &why);
	if (ret < 0) {
		REQUIRE(ret == -EINVAL);
		REQUIRE(why > VRRP_OK && why < VRRP_DROP__COUNT);
		REQUIRE(strcmp(vrrp_drop_name(why), "unknown") != 0);
		return 0;
	}
	REQUIRE(ret == 0 && why == VRRP_OK);
	check_advert(&a, &in);

	n = vrrp_encode(&a, &in.src, &in.dst, in.pseudo, enc, sizeof(enc));
	REQUIRE(n > 0 && (size_t)n <= in.len);
	/* Same header bytes and addresses as received, apart from the
	 * checksum, v3's reserved bits and ignored v2 auth data. */
	REQUIRE(memcmp(enc, in.msg, 4) == 0);
	REQUIRE(enc[5] == in.msg[5]);
	REQUIRE(enc[4] == (in.version == 3 ? (in.msg[4] & 0x0f) : in.msg[4]));
	REQUIRE(memcmp(enc + 8, in.msg + 8, (size_t)a.naddrs * (a.family == AF_INET6 ? 16 : 4)) == 0);

	why = VRRP_DROP__COUNT;
	REQUIRE(vrrp_decode(enc, (size_t)n, in.family, &in.src, &in.dst, in.version, in.pseudo, &b, &why) == 0);
	REQUIRE(why == VRRP_OK);
	require_same(&a, &b);
	return 0;
}
