/* `directorctl doctor [SERVICE]`: why a real server does not work in DR,
 * found from the director, actively, within seconds.
 *
 * Where it runs. directorctl asks directord over the control socket what
 * to probe (`doctor`: the LVS engine's lines, proto.h DIR_STATUS_DOCTOR:
 * the VRRP instances with their interfaces, states and VIPs, each virtual
 * server with its real servers, methods and agent ports, and the IPVS
 * traps `directord -t` warns about, from the same code), then probes
 * itself, in its own short-lived process: nothing runs in the daemon, whose
 * loops never wait, and the daemon gains no capability and no code that
 * sends. The probes need CAP_NET_RAW (packet sockets), which directord's
 * parent keeps; run as root, as directord starts. Without it directorctl
 * says so and exits 2. Nothing is changed: ARP and neighbour solicitations
 * ask only (an ARP probe from 0.0.0.0 updates no cache), a SYN-ACK the
 * doctor caused is answered with a RST, no sysctl is written.
 *
 * Shape. The probes are pure pieces (frames built and parsed in
 * doctor_pkt.c; the targets' lines parsed in doctor_targets.c; verdicts
 * from probe results in doctor.c) around one seam, struct doctor_io, whose
 * real instance (doctor_sys.c) holds every socket; tests/unit/test_doctor.c
 * gives it a segment in memory; tests/netns/135-directorctl-doctor.sh the
 * real kernel, and tests/vm/35-directorctl-doctor.sh the same lab
 * (tests/netns/doctor-lab.sh) beside IPVS programmed by directord. */
#ifndef DSRKIT_DOCTOR_H
#define DSRKIT_DOCTOR_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doctor_pkt.h"
#include "parse.h"
#include "util.h"

#define DOC_NAME_MAX 64

/* ---- what directord says to probe (doctor_targets.c) ---- */

struct doc_vrrp {
	char name[DOC_NAME_MAX];
	char ifname[IF_NAMESIZE];
	unsigned vrid;
	char state[16];			/* "MASTER", "BACKUP", ..., "-" */
	struct ipaddr *vips;
	size_t nvips;
};

enum doc_method { DOC_DR, DOC_NAT, DOC_TUN };

struct doc_rs {
	struct ipaddr addr;
	uint16_t port;
	enum doc_method method;
	uint16_t agent_port;		/* 0: no agent */
};

struct doc_vs {
	char name[DOC_NAME_MAX];
	char proto[8];			/* "tcp", "udp", "sctp" */
	bool fwmark;			/* no address: not probed through the VIP */
	struct ipaddr vip;
	uint16_t port;
	struct doc_rs *rs;
	size_t nrs;
};

struct doc_targets {
	struct doc_vrrp *vrrp;
	size_t nvrrp;
	struct doc_vs *vs;
	size_t nvs;
	char **traps;
	size_t ntraps;
};

/* Parse the daemon's answer (len bytes); 0, -EINVAL with the line's
 * number and why in err, -ENOMEM. Lines of an unknown kind are skipped. */
int doc_targets_parse(const char *text, size_t len, struct doc_targets *out, char *err, size_t errsize);
void doc_targets_free(struct doc_targets *t);

/* ---- the seam: every socket and file ---- */

struct doc_route {
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct ipaddr gateway;		/* family 0: on the link */
	struct ipaddr src;		/* the director's source toward it */
	bool unicast;			/* false: local, unreachable, blackhole... */
};

struct doc_link {
	struct doc_mac mac;
	unsigned mtu;
	struct in6_addr ll6;		/* its IPv6 link-local address (:: when none) */
};

/* A frame received: true when it was the one awaited (the wait ends). */
typedef bool (*doc_frame_cb)(const uint8_t *f, size_t len, void *arg);

struct doctor_io {
	int (*route)(struct doctor_io *io, const struct ipaddr *dst, struct doc_route *out);
	int (*link)(struct doctor_io *io, int ifindex, struct doc_link *out);
	/* The interface of the IPv4 or IPv6 default route: 0, or -ENOENT. */
	int (*default_ifname)(struct doctor_io *io, int family, char name[IF_NAMESIZE]);
	/* Send frame (len 0: none) on ifindex, then give cb every frame of
	 * ethertype received there until cb says done or wait_ms passes; 0
	 * (whether or not cb was done), or -errno. */
	int (*exchange)(struct doctor_io *io, int ifindex, uint16_t ethertype, const uint8_t *frame, size_t len,
			unsigned wait_ms, doc_frame_cb cb, void *arg);
	/* Connect to the agent and read its line: 0 and the line, or
	 * -ECONNREFUSED, -ETIMEDOUT, -errno. */
	int (*agent)(struct doctor_io *io, const struct ipaddr *addr, uint16_t port, unsigned wait_ms, char *line,
		     size_t size);
	/* A sysctl under /proc/sys ("net/ipv4/ip_forward"). */
	int (*sysctl)(struct doctor_io *io, const char *path, int *value);
	uint32_t (*random)(struct doctor_io *io);
	uint64_t (*now_ms)(struct doctor_io *io);	/* a monotonic clock */
};

/* ---- findings ---- */

struct doc_finding {
	char check[16];			/* "route", "source", "arp", "rp_filter", "vip_arp", "service", "vip", "mtu",
					 * "agent", "sysctl", "trap" */
	char service[DOC_NAME_MAX];	/* "" when it is the director's own */
	char server[DOC_NAME_MAX];	/* the real server's ADDR:PORT, "" when none */
	char what[512];
	char fix[512];
};

struct doc_report {
	struct doc_finding *items;
	size_t n;
	size_t cap;
	unsigned not_checked;		/* probes that could not run (I/O errors) */
	struct strbuf notes;		/* why, one a line */
};

struct doc_options {
	const char *service;		/* NULL: all */
	unsigned wait_ms;		/* one probe's wait (default 1000) */
	unsigned timeout_s;		/* the whole run's; what is left then is not checked (default 60) */
};

/* Run every check of t (the service named, or all) through io into r.
 * -ENOENT when the service named is not there. */
int doctor_run(const struct doc_targets *t, const struct doc_options *opt, struct doctor_io *io,
	       struct doc_report *r);
void doc_report_init(struct doc_report *r);
void doc_report_free(struct doc_report *r);
/* One line a finding, then the notes (text), or a JSON object. */
void doc_report_text(const struct doc_report *r, struct strbuf *out);
void doc_report_json(const struct doc_report *r, struct strbuf *out);

/* The real seam (doctor_sys.c): 0, or -errno with why in err (EPERM: no
 * CAP_NET_RAW). */
int doctor_sys_open(struct doctor_io **out, char *err, size_t errsize);
void doctor_sys_close(struct doctor_io *io);

#endif
