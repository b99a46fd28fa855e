/* The frames `directorctl doctor` sends and the replies it recognizes:
 * ARP who-has and neighbour solicitations (whose MACs answer for an
 * address), a TCP SYN as IPVS DR sends it (to the real server's MAC, the
 * VIP as destination) and the SYN-ACK or RST that answers it, an ICMP
 * echo of a given size with DF (the MTU), and a VRRP advert (the master
 * director's MAC). Pure: builders write into a buffer, parsers read bytes
 * off the wire and never trust a length they did not check (each has a
 * libFuzzer target, tests/fuzz/fuzz_doctor_pkt.c). */
#ifndef DSRKIT_DOCTOR_PKT_H
#define DSRKIT_DOCTOR_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define DOC_ETH_LEN 14
#define DOC_FRAME_MAX (DOC_ETH_LEN + 65535)	/* the largest MTU probed: an IP packet's largest */

struct doc_mac {
	uint8_t b[6];
};

/* A TCP reply: SYN-ACK (something listens), RST (nothing does). */
struct doc_tcp_reply {
	uint8_t flags;			/* TH_SYN, TH_ACK, TH_RST... */
	uint32_t seq, ack;
};

/* ARP who-has tip from (smac, sip): sip 0.0.0.0 is an ARP probe (RFC
 * 5227), which a host answers without looking at its routes. Broadcast.
 * Bytes written (42), or 0 when size is too small. */
size_t doc_arp_request(uint8_t *buf, size_t size, const struct doc_mac *smac, struct in_addr sip,
		       struct in_addr tip);
/* An ARP reply that says "tip is at MAC": 0 and the MAC; -ENOENT for any
 * other frame. */
int doc_arp_reply_parse(const uint8_t *f, size_t len, struct in_addr tip, struct doc_mac *mac);

/* A neighbour solicitation for target from (smac, src, a link-local
 * address) to the target's solicited-node group, hop limit 255. */
size_t doc_ns_build(uint8_t *buf, size_t size, const struct doc_mac *smac, const struct in6_addr *src,
		    const struct in6_addr *target);
/* A neighbour advertisement for target: 0 and the MAC (its target
 * link-layer address option, else the frame's source); -ENOENT. */
int doc_na_parse(const uint8_t *f, size_t len, const struct in6_addr *target, struct doc_mac *mac);

/* A TCP segment with flags (TH_SYN; TH_RST|TH_ACK to end what a SYN-ACK
 * began) from src:sport to dst:dport in a frame from smac to dmac; both
 * addresses of one family. */
size_t doc_tcp_build(uint8_t *buf, size_t size, const struct doc_mac *smac, const struct doc_mac *dmac,
		     const struct ipaddr *src, uint16_t sport, const struct ipaddr *dst, uint16_t dport,
		     uint8_t flags, uint32_t seq, uint32_t ack);
/* The reply to such a SYN: a TCP segment from from:fport to to:tport; 0,
 * or -ENOENT. Its checksum is not checked (offloads leave it partial):
 * the caller checks the ack against its sequence number. */
int doc_tcp_reply_parse(const uint8_t *f, size_t len, const struct ipaddr *from, uint16_t fport,
			const struct ipaddr *to, uint16_t tport, struct doc_tcp_reply *out);

/* An ICMP (ICMPv6) echo request of ip_len bytes in all (IP header
 * included), DF set for IPv4 (IPv6 never fragments on the way). */
size_t doc_echo_build(uint8_t *buf, size_t size, const struct doc_mac *smac, const struct doc_mac *dmac,
		      const struct ipaddr *src, const struct ipaddr *dst, uint16_t id, uint16_t seq, size_t ip_len);
/* The echo reply from `from` with id and seq: 0, or -ENOENT. */
int doc_echo_reply_parse(const uint8_t *f, size_t len, const struct ipaddr *from, uint16_t id, uint16_t seq);

/* A VRRP advert (IP protocol 112, v2 or v3, IPv4 or IPv6) for vrid: 0 and
 * the sender's MAC; -ENOENT. */
int doc_vrrp_advert_parse(const uint8_t *f, size_t len, unsigned vrid, struct doc_mac *mac);

/* The MACs of VRRP's virtual routers (00:00:5e:00:01:xx, 00:00:5e:00:02:xx). */
bool doc_mac_is_vrrp(const struct doc_mac *m);
const char *doc_mac_ntop(const struct doc_mac *m, char *buf, size_t size);	/* size >= 18 */

#endif
