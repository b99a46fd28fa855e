/* VRRP as pure logic: the advertisement codec (RFC 3768 v2, RFC 5798 v3,
 * IPv4 and IPv6) and the per-instance state machine. Nothing here touches
 * a socket or a clock: callers pass packets and the current time in, and
 * get decisions out, so every rule is unit-tested with virtual time. */
#ifndef DSRKIT_VRRP_H
#define DSRKIT_VRRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define VRRP_PROTO 112
#define VRRP_TTL 255			/* sent, and required on receive */
#define VRRP_MAX_ADDRS 255		/* "Count IPvX Addr" is 8 bits */
#define VRRP_V3_MAX_INTERVAL_CS 4095	/* 12 bits of centiseconds */
#define VRRP_PRIO_STOP 0		/* the master is leaving */
#define VRRP_PRIO_OWNER 255		/* owns the addresses */
#define VRRP_V2_AUTH_LEN 8
#define VRRP_PACKET_MAX (8 + VRRP_MAX_ADDRS * 16 + VRRP_V2_AUTH_LEN)

/* ---- the advertisement ---- */

enum vrrp_auth { VRRP_AUTH_NONE = 0, VRRP_AUTH_SIMPLE = 1 };	/* v2 only */

struct vrrp_advert {
	uint8_t version;		/* 2 or 3 */
	uint8_t vrid;			/* 1-255 */
	uint8_t priority;
	uint16_t interval_cs;		/* centiseconds; v2 carries whole seconds */
	int family;			/* AF_INET or AF_INET6 (v3 only) */
	uint8_t naddrs;
	struct ipaddr addrs[VRRP_MAX_ADDRS];
	uint8_t auth_type;		/* enum vrrp_auth, v2 */
	char auth[VRRP_V2_AUTH_LEN];	/* v2 simple password, not NUL-terminated */
};

/* Why a received packet was dropped; every one is counted per instance. */
enum vrrp_drop {
	VRRP_OK = 0,
	VRRP_DROP_TRUNCATED,		/* shorter than its header or address list */
	VRRP_DROP_IP_HEADER,		/* bad IPv4 header, not protocol 112 */
	VRRP_DROP_TTL,			/* TTL / hop limit not 255 */
	VRRP_DROP_VERSION,		/* not the configured version */
	VRRP_DROP_TYPE,			/* not an advertisement */
	VRRP_DROP_CHECKSUM,
	VRRP_DROP_VRID,			/* no instance for this VRID (caller) */
	VRRP_DROP_AUTH,			/* v2 auth type or password mismatch */
	VRRP_DROP_INTERVAL,		/* v2 advert interval differs from ours */
	VRRP_DROP_ADDR_FAMILY,		/* v2 over IPv6, or family mismatch */
	VRRP_DROP_PEER,			/* unicast: source not on the peer list */
	VRRP_DROP_OWN,			/* our own packet looped back */
	VRRP_DROP__COUNT,
};

const char *vrrp_drop_name(enum vrrp_drop d);

/* Encode a into buf. src/dst are the IP source and destination, needed for
 * the v3 checksum's pseudo-header (always for IPv6; for IPv4 only when
 * v3_pseudo_header, which keepalived and FRR expect and is the default).
 * Returns the length written, or -EINVAL / -ENOSPC. */
int vrrp_encode(const struct vrrp_advert *a, const struct ipaddr *src, const struct ipaddr *dst,
		bool v3_pseudo_header, uint8_t *buf, size_t size);

/* Decode a VRRP message (the IP payload). expect_version selects the
 * format (2 or 3). On success returns 0; otherwise a negative errno and
 * *why says which check failed. Interval and password checks against the
 * instance are the state machine's business, not the decoder's. */
int vrrp_decode(const uint8_t *buf, size_t len, int family, const struct ipaddr *src,
		const struct ipaddr *dst, int expect_version, bool v3_pseudo_header,
		struct vrrp_advert *out, enum vrrp_drop *why);

/* Split a received IPv4 packet (raw sockets deliver the IP header) into
 * its addresses, TTL and payload. Returns 0 or -EINVAL with *why set. */
int vrrp_parse_ipv4(const uint8_t *pkt, size_t len, struct ipaddr *src, struct ipaddr *dst,
		    uint8_t *ttl, const uint8_t **payload, size_t *plen, enum vrrp_drop *why);

/* Whether a received advert's TTL / hop limit is accepted: multicast
 * needs 255 (it never crossed a router); unicast needs it only with
 * unicast_ttl_check (peers may sit behind a router, so by default the
 * peer list vouches for them instead, as keepalived does). */
bool vrrp_ttl_accepted(uint8_t ttl, bool unicast, bool unicast_ttl_check);

/* Internet checksum (RFC 1071) over buf, continuing from sum. */
uint32_t inet_csum_add(uint32_t sum, const void *buf, size_t len);
uint16_t inet_csum_fold(uint32_t sum);

/* ---- the state machine of one instance (RFC 5798 section 6.4) ---- */

enum vrrp_state { VRRP_STATE_INIT, VRRP_STATE_BACKUP, VRRP_STATE_MASTER, VRRP_STATE_FAULT };

const char *vrrp_state_name(enum vrrp_state s);	/* "INIT", "BACKUP", "MASTER", "FAULT" */

struct vrrp_fsm_conf {
	uint8_t version;		/* 2 or 3 */
	uint8_t vrid;
	uint8_t priority;		/* base priority, 1-255 */
	uint16_t interval_cs;		/* our Advertisement_Interval */
	bool preempt;			/* false: nopreempt */
	uint64_t preempt_delay_ms;	/* no preemption this long after start-up */
	struct ipaddr primary;		/* our primary address: breaks priority ties */
};

/* What the caller must do after an event; bit flags, in this order. */
enum vrrp_action {
	VRRP_ACT_LEAVE_MASTER = 1 << 0,	/* remove the VIPs */
	VRRP_ACT_SEND_STOP = 1 << 1,	/* send an advert with priority 0 */
	VRRP_ACT_BECOME_MASTER = 1 << 2, /* add the VIPs, start gratuitous ARP/NA */
	VRRP_ACT_SEND_ADVERT = 1 << 3,	/* send an advert with the current priority */
	VRRP_ACT_STATE_CHANGED = 1 << 4, /* run notify scripts, tell the parent */
	VRRP_ACT_REANNOUNCE = 1 << 5,	/* gratuitous ARP/NA again, as on becoming master */
};

struct vrrp_fsm {
	struct vrrp_fsm_conf conf;
	enum vrrp_state state;
	enum vrrp_state prev_state;
	uint8_t priority;		/* effective (tracking applied) */
	uint16_t master_interval_cs;	/* learned from the master's adverts (v3) */
	uint64_t adver_due_ms;		/* 0 = not armed */
	uint64_t master_down_due_ms;	/* 0 = not armed */
	uint64_t started_ms;
	/* what we know of the current master */
	bool master_known;
	struct ipaddr master_addr;
	uint8_t master_priority;
	uint64_t last_advert_ms;
	/* counters */
	uint64_t transitions;
	uint64_t became_master;
	uint64_t master_since_ms;	/* our last takeover */
	bool other_master_seen;		/* since then, adverts of a master that should yield */
	uint64_t other_master_last_ms;	/* the last of them: a new episode re-announces */
	uint64_t split_brain;		/* such adverts, once the election has settled */
	/* timeliness, for telling a late engine from a late network */
	uint64_t advert_late_max_ms;	/* master: the most an advert went out after it was due */
	uint64_t adverts_late;		/* master: adverts sent more than half an interval late */
	uint64_t advert_gap_max_ms;	/* backup: the longest wait between two adverts of one master */
	uint64_t takeovers_deferred;	/* backup: Master_Down ran out late (we were stalled): one more interval */
	uint64_t takeover_silence_ms;	/* our last takeover: how long the master had been silent (0: none known) */
	uint64_t stalled_yields;	/* master: stalled, found a backup had taken over: followed it first */
	uint64_t prio0_received;
	uint64_t preempted_lower;	/* lower-priority adverts discarded to preempt */
};

void vrrp_fsm_init(struct vrrp_fsm *f, const struct vrrp_fsm_conf *conf);

/* Events. Each returns the actions (enum vrrp_action bits) to take now. */
unsigned vrrp_fsm_startup(struct vrrp_fsm *f, uint64_t now_ms);
unsigned vrrp_fsm_shutdown(struct vrrp_fsm *f, uint64_t now_ms);
/* A decoded, validated advert for our VRID from src. */
unsigned vrrp_fsm_receive(struct vrrp_fsm *f, const struct vrrp_advert *a, const struct ipaddr *src,
			  uint64_t now_ms);
/* Call when now_ms >= vrrp_fsm_next_due(f). */
unsigned vrrp_fsm_timeout(struct vrrp_fsm *f, uint64_t now_ms);
/* Enter (fault) or leave Fault: link down, a tracked script at weight 0. */
unsigned vrrp_fsm_set_fault(struct vrrp_fsm *f, bool fault, uint64_t now_ms);
/* New effective priority from tracking (1-254; an owner stays 255). */
unsigned vrrp_fsm_set_priority(struct vrrp_fsm *f, uint8_t priority, uint64_t now_ms);
/* Sync groups: make a member follow its group (to BACKUP or MASTER). */
unsigned vrrp_fsm_force(struct vrrp_fsm *f, enum vrrp_state to, uint64_t now_ms);

/* The earliest armed timer (ms), or 0 when none is armed. */
uint64_t vrrp_fsm_next_due(const struct vrrp_fsm *f);

/* RFC timing in milliseconds for a priority and an interval. v3:
 * Skew_Time = ((256 - priority) * Master_Adver_Interval) / 256;
 * v2: (256 - priority) / 256 seconds. Master_Down_Interval =
 * 3 * Master_Adver_Interval + Skew_Time. */
uint64_t vrrp_skew_ms(int version, uint8_t priority, uint16_t interval_cs);
uint64_t vrrp_master_down_ms(int version, uint8_t priority, uint16_t interval_cs);

#endif
