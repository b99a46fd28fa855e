/* libFuzzer target: the replies directorctl doctor reads off the wire
 * (ARP replies, neighbour advertisements, TCP replies, echo replies, VRRP
 * adverts) are bytes from any host on the segment. Every parser gets every
 * input, for IPv4 and IPv6 addresses; what one accepts must hold. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static struct ipaddr addr(int family, const char *s)
{
	struct ipaddr a = { .family = family, .prefixlen = family == AF_INET ? 32 : 128 };

	inet_pton(family, s, a.u.bytes);
	return a;
}

static void parse_all(const uint8_t *f, size_t len, int family)
{
	struct ipaddr vip = addr(family, family == AF_INET ? "198.18.0.100" : "2001:db8::100");
	struct ipaddr dip = addr(family, family == AF_INET ? "198.18.0.1" : "2001:db8::1");
	struct doc_tcp_reply r;
	struct doc_mac m;

	if (family == AF_INET)
		(void)doc_arp_reply_parse(f, len, vip.u.v4, &m);
	else
		(void)doc_na_parse(f, len, &vip.u.v6, &m);
	if (doc_tcp_reply_parse(f, len, &vip, 80, &dip, 40000, &r) == 0)
		REQUIRE(len >= DOC_ETH_LEN + (family == AF_INET ? 40u : 60u));
	(void)doc_echo_reply_parse(f, len, &vip, 7, 1);
	(void)doc_vrrp_advert_parse(f, len, 51, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past the frame. */
	uint8_t *f = malloc(size ? size : 1);

	if (!f)
		return 0;
	memcpy(f, data, size);
	parse_all(f, size, AF_INET);
	parse_all(f, size, AF_INET6);
	free(f);
	return 0;
}
