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

/* A real server of a service. */
struct ipvs_dest {
	struct ipaddr addr;		/* may differ in family from the service's */
	uint16_t port;			/* host order; 0 for fwmark services means "as the client asked" */
	uint32_t fwd;			/* IP_VS_CONN_F_DROUTE, _MASQ or _TUNNEL */
	int32_t weight;
	uint32_t u_threshold, l_threshold;
	/* Read back from the kernel only. */
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
typedef int (*ipvs_dest_cb)(const struct ipvs_dest *d, void *arg);
int ipvs_services(struct ipvs *v, ipvs_service_cb cb, void *arg);
int ipvs_dests(struct ipvs *v, const struct ipvs_service *s, ipvs_dest_cb cb, void *arg);

/* What an errno from one of the calls above means, in words. */
const char *ipvs_strerror(int err);

/* The attribute decoders behind the dumps, for tests and the fuzzer:
 * data/len is the payload of an IPVS_CMD_ATTR_SERVICE or _DEST attribute
 * (its nested attributes). 0, or -EINVAL for anything incomplete or out of
 * range. */
int ipvs_service_decode(const void *data, size_t len, struct ipvs_service *s, struct ipvs_stats *st);
int ipvs_dest_decode(const void *data, size_t len, int service_af, struct ipvs_dest *d);

/* Text for logs and status: "TCP 192.0.2.80:80", "[2001:db8::80]:443",
 * "FWM 7". */
const char *ipvs_service_name(const struct ipvs_service *s, char *buf, size_t size);

#endif
