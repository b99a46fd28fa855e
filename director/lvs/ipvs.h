/* IPVS over generic netlink (family "IPVS", <linux/ip_vs.h>): the one file
 * that talks to the kernel's load balancer. Services and destinations are
 * plain structs; every call returns 0 or -errno and never logs;
 * ipvs_strerror() turns the kernel's errnos into words. */
#ifndef DSRKIT_IPVS_H
#define DSRKIT_IPVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define IPVS_SCHED_MAX 16		/* IP_VS_SCHEDNAME_MAXLEN, NUL included */

/* A virtual service: protocol + address + port, or a firewall mark. */
struct ipvs_service {
	int af;				/* AF_INET or AF_INET6 */
	uint16_t protocol;		/* IPPROTO_TCP, _UDP, _SCTP; 0 with fwmark */
	struct ipaddr addr;		/* family 0 with fwmark */
	uint16_t port;			/* host order */
	uint32_t fwmark;		/* 0: an address service */
	char sched[IPVS_SCHED_MAX];	/* "rr", "wlc", "mh", ... */
	uint32_t flags;			/* IP_VS_SVC_F_PERSISTENT, _ONEPACKET, _SCHED1..3 */
	uint32_t timeout;		/* persistence, seconds */
	uint32_t netmask;		/* persistence: prefix length; 0 means the whole address */
};

struct ipvs_stats {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
};

/* A real server of a service: what is set. The LVS engine holds one per
 * real server twice (wanted, and what the kernel has), so what is only
 * read back is apart, in ipvs_dest_counters. */
struct ipvs_dest {
	struct ipaddr addr;		/* may differ in family from the service's */
	uint16_t port;			/* host order; 0 for fwmark services means "as the client asked" */
	uint32_t fwd;			/* IP_VS_CONN_F_DROUTE, _MASQ or _TUNNEL */
	int32_t weight;
	uint32_t u_threshold, l_threshold;
};

/* What the kernel counts for a real server: read back only. */
struct ipvs_dest_counters {
	uint32_t active_conns, inact_conns, persist_conns;
	struct ipvs_stats stats;
};

struct ipvs;

/* Connect and resolve the family; -ENOPKG when the kernel has no IPVS. */
int ipvs_open(struct ipvs **out);
void ipvs_close(struct ipvs *v);

/* "Make it so" is for the caller: these report EEXIST, ESRCH, ENOENT as the
 * kernel does, so a reconciler can tell what it found. */
int ipvs_service_add(struct ipvs *v, const struct ipvs_service *s);
int ipvs_service_edit(struct ipvs *v, const struct ipvs_service *s);
int ipvs_service_del(struct ipvs *v, const struct ipvs_service *s);
int ipvs_dest_add(struct ipvs *v, const struct ipvs_service *s, const struct ipvs_dest *d);
int ipvs_dest_edit(struct ipvs *v, const struct ipvs_service *s, const struct ipvs_dest *d);
int ipvs_dest_del(struct ipvs *v, const struct ipvs_service *s, const struct ipvs_dest *d);

/* Many operations at once: each is acknowledged and gets its own result,
 * but they travel many to a message (one system call for up to 64), so
 * programming thousands of objects does not wait for one ack at a time. */
enum ipvs_req_type {
	IPVS_REQ_SERVICE_ADD, IPVS_REQ_SERVICE_EDIT, IPVS_REQ_SERVICE_DEL,
	IPVS_REQ_DEST_ADD, IPVS_REQ_DEST_EDIT, IPVS_REQ_DEST_DEL,
};

struct ipvs_request {
	enum ipvs_req_type type;
	const struct ipvs_service *svc;
	const struct ipvs_dest *dest;	/* the _DEST_ types only */
	int result;			/* set by ipvs_apply: 0 or -errno */
};

/* Returns how many requests failed (each with its result), or -errno when
 * the batch could not be sent at all (results then undefined). */
int ipvs_apply(struct ipvs *v, struct ipvs_request *reqs, size_t n);

/* Dumps: the callback sees each object; a negative return stops the dump
 * and is returned. */
typedef int (*ipvs_service_cb)(const struct ipvs_service *s, const struct ipvs_stats *st, void *arg);
typedef int (*ipvs_dest_cb)(const struct ipvs_dest *d, const struct ipvs_dest_counters *c, void *arg);
int ipvs_services(struct ipvs *v, ipvs_service_cb cb, void *arg);
int ipvs_dests(struct ipvs *v, const struct ipvs_service *s, ipvs_dest_cb cb, void *arg);

/* What an errno from one of the calls above means, in words. */
const char *ipvs_strerror(int err);

/* ---- connection synchronization ---- */

/* A sync daemon (the kernel's ip_vs_sync.c): in master state it multicasts
 * the state of the connections it balances, in backup state it installs
 * the connections it hears of, so that a backup director taking over
 * knows where each connection goes. The kernel runs at most one of each
 * state at a time. */
#define IPVS_DAEMON_MASTER 1		/* IP_VS_STATE_MASTER */
#define IPVS_DAEMON_BACKUP 2		/* IP_VS_STATE_BACKUP */
#define IPVS_IFNAME_MAX 16		/* IP_VS_IFNAME_MAXLEN, NUL included */
#define IPVS_SYNC_PORT_DEFAULT 8848	/* the kernel's when none is given */

struct ipvs_daemon {
	uint32_t state;			/* IPVS_DAEMON_MASTER or _BACKUP */
	char ifname[IPVS_IFNAME_MAX];	/* the interface it multicasts on / listens on */
	uint32_t sync_id;		/* 0..255: a backup takes only its master's messages */
	struct ipaddr group;		/* family 0: the kernel's default, 224.0.0.81 */
	uint16_t port;			/* 0: the kernel's default, 8848 */
	uint8_t ttl;			/* 0: the kernel's default, 1 */
	uint16_t maxlen;		/* UDP payload size; 0: from the interface's MTU */
};

/* Start one; -EEXIST when a daemon of that state already runs (whatever
 * its settings), -ENODEV when the interface does not exist. */
int ipvs_daemon_add(struct ipvs *v, const struct ipvs_daemon *d);
/* Stop the daemon of that state; -ESRCH when none runs. */
int ipvs_daemon_del(struct ipvs *v, uint32_t state);
/* The running daemons (none, one or two), as the kernel has them: it fills
 * in the defaults, so group, port, ttl and maxlen are always set. */
typedef int (*ipvs_daemon_cb)(const struct ipvs_daemon *d, void *arg);
int ipvs_daemons(struct ipvs *v, ipvs_daemon_cb cb, void *arg);
/* ipvs_strerror for the daemon calls, which give some errnos a meaning of
 * their own (EEXIST, ESRCH, EINVAL). */
const char *ipvs_daemon_strerror(int err);
/* Does the running daemon do what want asks? The kernel's defaults stand
 * for want's unset fields; a maxlen left unset takes whatever runs. */
bool ipvs_daemon_same(const struct ipvs_daemon *want, const struct ipvs_daemon *running);
/* A group the kernel takes: 224.0.0.0/4 or ff00::/8. */
bool ipvs_group_is_multicast(const struct ipaddr *g);
/* "master on eth1, sync id 51, group 224.0.0.81:8848, ttl 1". */
const char *ipvs_daemon_text(const struct ipvs_daemon *d, char *buf, size_t size);

/* ---- timeouts ---- */

/* The kernel's connection timeouts (ipvsadm --set), in seconds: an
 * established TCP connection, one after its FIN, a UDP "connection". In
 * ipvs_timeouts_set a 0 leaves the kernel's value as it is. */
struct ipvs_timeouts {
	uint32_t tcp, tcp_fin, udp;
};

int ipvs_timeouts_get(struct ipvs *v, struct ipvs_timeouts *t);
int ipvs_timeouts_set(struct ipvs *v, const struct ipvs_timeouts *t);

/* The attribute decoders behind the dumps, for tests and the fuzzer:
 * data/len is the payload of an IPVS_CMD_ATTR_SERVICE or _DEST attribute
 * (its nested attributes). 0, or -EINVAL for anything incomplete or out of
 * range. */
int ipvs_service_decode(const void *data, size_t len, struct ipvs_service *s, struct ipvs_stats *st);
int ipvs_dest_decode(const void *data, size_t len, int service_af, struct ipvs_dest *d, struct ipvs_dest_counters *c);

/* The same for a sync daemon: data/len is the payload of an
 * IPVS_CMD_ATTR_DAEMON attribute. The state, interface and sync id are
 * required; the state must be master or backup, the sync id fit 0..255. */
int ipvs_daemon_decode(const void *data, size_t len, struct ipvs_daemon *d);
/* And of a GET_CONFIG reply: data/len is the generic netlink payload after
 * the genlmsghdr (the IPVS_CMD_ATTR_TIMEOUT_* attributes); absent ones are
 * 0. -EINVAL when none is there. */
int ipvs_timeouts_decode(const void *data, size_t len, struct ipvs_timeouts *t);

/* Text for logs and status: "TCP 192.0.2.80:80", "[2001:db8::80]:443",
 * "FWM 7". */
const char *ipvs_service_name(const struct ipvs_service *s, char *buf, size_t size);

#endif
