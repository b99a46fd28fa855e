/* `directorctl doctor`: the checks, from probe results to findings, every
 * probe through struct doctor_io (doctor.h says where it runs and why).
 * Each real server address is probed once however many services name it:
 * its route (on the link, or behind a gateway), its MAC (ARP from the
 * director's address, then an ARP probe from 0.0.0.0, which tells a host
 * that drops the director's packets from one that is not there), a SYN
 * through the VIP path and one to its real address (which answered says
 * what is wrong), an echo of the interface's MTU with DF, its agent. Then
 * who else answers ARP for each VIP, and the director's own sysctls. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcheck.h"
#include "doctor.h"
#include "json.h"

#define ETH_P_IP_ 0x0800
#define ETH_P_ARP_ 0x0806
#define ETH_P_IPV6_ 0x86dd
#define MACS_MAX 16
#define ECHO_SMALL 84			/* an ordinary ping's IP length */

/* What is known of one real server address. */
struct rs_probe {
	struct ipaddr addr;
	bool reachable;			/* on the link, its MAC known, it takes the director's packets */
	struct doc_route route;
	struct doc_link link;
	struct doc_mac mac;
	bool mtu_done;
	uint16_t agent_done;		/* the agent port already asked */
};

struct run {
	const struct doc_targets *t;
	struct doctor_io *io;
	struct doc_report *r;
	unsigned wait_ms;
	uint64_t deadline_ms;		/* past it, what is left is noted, not probed */
	struct rs_probe *rs;
	size_t nrs;
	char vip_done[64][INET6_ADDRSTRLEN + IF_NAMESIZE + 2];	/* VIP%IF asked already */
	size_t nvip_done;
	struct { unsigned vrid; int ifindex; bool known; struct doc_mac mac; } master[16];
	size_t nmaster;
};

static uint16_t eth_type(int family)
{
	return family == AF_INET ? ETH_P_IP_ : ETH_P_IPV6_;
}

static const char *ntop(const struct ipaddr *a, char *buf, size_t size)
{
	return ipaddr_ntop(a, buf, size) ? buf : "?";
}

static void finding(struct run *run, const char *check, const char *service, const char *server, const char *fix,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void finding(struct run *run, const char *check, const char *service, const char *server, const char *fix,
		    const char *fmt, ...)
{
	struct doc_report *r = run->r;
	struct doc_finding *f;
	va_list ap;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		void *p = realloc(r->items, cap * sizeof(*r->items));

		if (!p) {
			r->not_checked++;
			return;
		}
		r->items = p;
		r->cap = cap;
	}
	f = &r->items[r->n++];
	strlcpy_safe(f->check, check, sizeof(f->check));
	strlcpy_safe(f->service, service ? service : "", sizeof(f->service));
	strlcpy_safe(f->server, server ? server : "", sizeof(f->server));
	strlcpy_safe(f->fix, fix, sizeof(f->fix));
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

/* What was not checked, and why: a failure (counted: exit 2 when there
 * is no finding) or what does not apply (udp, tun, no ping). */
static void note(struct run *run, bool failure, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void note(struct run *run, bool failure, const char *fmt, ...)
{
	va_list ap;

	run->r->not_checked += failure;
	va_start(ap, fmt);
	sb_vprintf(&run->r->notes, fmt, ap);
	va_end(ap);
	sb_append(&run->r->notes, "\n");
}

/* The run's time is up: what is left is noted as not checked. */
static bool out_of_time(struct run *run)
{
	return run->io->now_ms(run->io) >= run->deadline_ms;
}

/* ---- frames awaited ---- */

struct mac_wait {
	int family;
	const struct ipaddr *target;
	struct doc_mac macs[MACS_MAX];
	size_t n;
	bool all;			/* collect every MAC until the wait ends */
};

static bool mac_cb(const uint8_t *f, size_t len, void *arg)
{
	struct mac_wait *w = arg;
	struct doc_mac m;
	int ret = w->family == AF_INET ? doc_arp_reply_parse(f, len, w->target->u.v4, &m) :
					 doc_na_parse(f, len, &w->target->u.v6, &m);

	if (ret < 0)
		return false;
	for (size_t i = 0; i < w->n; i++)
		if (memcmp(&w->macs[i], &m, sizeof(m)) == 0)
			return !w->all;
	if (w->n < MACS_MAX)
		w->macs[w->n++] = m;
	return !w->all;
}

/* Who answers ARP (a neighbour solicitation) for target on the link of
 * p, asked from src (0.0.0.0: an ARP probe): the MACs in w; -errno. */
static int ask_neighbour(struct run *run, const struct rs_probe *p, const struct ipaddr *target,
			 const struct ipaddr *src, struct mac_wait *w)
{
	uint8_t frame[128];
	size_t len;
	int ret = 0;

	w->family = target->family;
	w->target = target;
	if (target->family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&p->link.ll6))
		return -EADDRNOTAVAIL;	/* from :: it would be a DAD probe, which changes things */
	if (target->family == AF_INET)
		len = doc_arp_request(frame, sizeof(frame), &p->link.mac, src->u.v4, target->u.v4);
	else
		len = doc_ns_build(frame, sizeof(frame), &p->link.mac, &p->link.ll6, &target->u.v6);
	/* Twice, half the wait each: one frame lost is not a finding. */
	for (int i = 0; i < 2 && ret == 0 && (w->all || w->n == 0); i++)
		ret = run->io->exchange(run->io, p->route.ifindex, target->family == AF_INET ? ETH_P_ARP_ : ETH_P_IPV6_,
					frame, len, run->wait_ms / 2, mac_cb, w);
	return ret;
}

struct tcp_wait {
	const struct ipaddr *from, *to;
	uint16_t fport, tport;
	uint32_t seq;			/* the SYN's: a reply acks seq + 1 */
	bool got;
	struct doc_tcp_reply reply;
};

static bool tcp_cb(const uint8_t *f, size_t len, void *arg)
{
	struct tcp_wait *w = arg;

	w->got = doc_tcp_reply_parse(f, len, w->from, w->fport, w->to, w->tport, &w->reply) == 0 &&
		 (w->reply.flags & TH_ACK) && w->reply.ack == w->seq + 1;
	return w->got;
}

enum syn_result { SYN_NONE, SYN_ACK, SYN_RST };

/* A SYN from the director's address to dst:port, sent to p's MAC as IPVS
 * DR sends it; a SYN-ACK is ended with a RST (nothing is left open). */
static int syn_probe(struct run *run, const struct rs_probe *p, const struct ipaddr *dst, uint16_t port,
		     enum syn_result *out)
{
	/* Below Linux's ephemeral ports (32768 and up): never the port of a
	 * connection of the director's own (a check) to that server. */
	uint16_t sport = (uint16_t)(20000 + run->io->random(run->io) % 12768);
	uint32_t seq = run->io->random(run->io);
	struct tcp_wait w = { .from = dst, .to = &p->route.src, .fport = port, .tport = sport, .seq = seq };
	uint8_t frame[128];
	size_t len = doc_tcp_build(frame, sizeof(frame), &p->link.mac, &p->mac, &p->route.src, sport, dst, port,
				   TH_SYN, seq, 0);
	int ret;

	if (!len)
		return -EINVAL;
	if ((ret = run->io->exchange(run->io, p->route.ifindex, eth_type(dst->family), frame, len, run->wait_ms,
				     tcp_cb, &w)) < 0)
		return ret;
	*out = !w.got ? SYN_NONE : (w.reply.flags & TH_RST) ? SYN_RST : SYN_ACK;
	if (*out == SYN_ACK && (w.reply.flags & TH_SYN) &&
	    (len = doc_tcp_build(frame, sizeof(frame), &p->link.mac, &p->mac, &p->route.src, sport, dst, port,
				 TH_RST, seq + 1, 0)))
		(void)run->io->exchange(run->io, p->route.ifindex, eth_type(dst->family), frame, len, 0, NULL, NULL);
	return 0;
}

struct echo_wait {
	const struct ipaddr *from;
	uint16_t id, seq;
	bool got;
};

static bool echo_cb(const uint8_t *f, size_t len, void *arg)
{
	struct echo_wait *w = arg;

	w->got = doc_echo_reply_parse(f, len, w->from, w->id, w->seq) == 0;
	return w->got;
}

/* An echo of ip_len bytes to p (DF): 1 answered, 0 not, -errno. */
static int echo_probe(struct run *run, const struct rs_probe *p, size_t ip_len)
{
	static uint16_t seq;
	struct echo_wait w = { .from = &p->addr, .id = (uint16_t)run->io->random(run->io), .seq = ++seq };
	uint8_t *frame = malloc(DOC_FRAME_MAX);
	size_t len = frame ? doc_echo_build(frame, DOC_FRAME_MAX, &p->link.mac, &p->mac, &p->route.src, &p->addr,
					    w.id, w.seq, ip_len) : 0;
	int ret = -EINVAL;

	for (int i = 0; len && i < 2 && !w.got; i++)
		if ((ret = run->io->exchange(run->io, p->route.ifindex, eth_type(p->addr.family), frame, len,
					     run->wait_ms / 2, echo_cb, &w)) < 0)
			break;
	free(frame);
	return ret < 0 ? ret : w.got;
}

/* ---- one real server address ---- */

static bool is_vip(const struct doc_targets *t, const struct ipaddr *a)
{
	for (size_t i = 0; i < t->nvrrp; i++)
		for (size_t j = 0; j < t->vrrp[i].nvips; j++)
			if (ipaddr_equal(&t->vrrp[i].vips[j], a))
				return true;
	for (size_t i = 0; i < t->nvs; i++)
		if (!t->vs[i].fwmark && ipaddr_equal(&t->vs[i].vip, a))
			return true;
	return false;
}

/* Its route: on the link, or a finding. */
static bool check_route(struct run *run, struct rs_probe *p, const char *vs, const char *name)
{
	char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
	int ret = run->io->route(run->io, &p->addr, &p->route);

	if (ret < 0 || !p->route.unicast) {
		finding(run, "route", vs, name, "give the director a route to it on the directors' segment",
			"no route from the director to %s%s%s", ntop(&p->addr, a, sizeof(a)), ret < 0 ? ": " : "",
			ret < 0 ? strerror(-ret) : "");
		return false;
	}
	if (p->route.gateway.family) {
		finding(run, "route", vs, name, "DR needs every real server on the directors' segment: put it on "
			"the subnet of an interface of the director, or use method = tun or nat",
			"reached through the gateway %s (dev %s), not on the directors' segment: IPVS DR can send "
			"only to a neighbour", ntop(&p->route.gateway, g, sizeof(g)), p->route.ifname);
		return false;
	}
	if (is_vip(run->t, &p->route.src))
		finding(run, "source", vs, name, "give the director an address of its own on that subnet, and "
			"add IPv6 VIPs deprecated (preferred_lft 0)",
			"the director's own traffic to it leaves from the VIP %s: the real server answers its own "
			"loopback, checks and agent queries time out", ntop(&p->route.src, a, sizeof(a)));
	if (run->io->link(run->io, p->route.ifindex, &p->link) < 0) {
		note(run, true, "%s: the interface %s could not be read", name, p->route.ifname);
		return false;
	}
	return true;
}

/* Its MAC, asked from the director's address; when that is not
 * answered, an ARP probe from 0.0.0.0 tells a host that ignores the
 * director (rp_filter, arp_filter) from one that is not there. */
static bool check_neighbour(struct run *run, struct rs_probe *p, const char *vs, const char *name)
{
	struct ipaddr zero = { .family = AF_INET };
	struct mac_wait w = { .n = 0 };
	char a[INET6_ADDRSTRLEN];
	const char *what = p->addr.family == AF_INET ? "ARP" : "neighbour solicitations";

	if (ask_neighbour(run, p, &p->addr, &p->route.src, &w) < 0) {
		note(run, true, "%s: %s could not be sent on %s", name, what, p->route.ifname);
		return false;
	}
	if (w.n) {
		p->mac = w.macs[0];
		return true;
	}
	if (p->addr.family == AF_INET && ask_neighbour(run, p, &p->addr, &zero, &w) == 0 && w.n) {
		finding(run, "rp_filter", vs, name, "on it: net.ipv4.conf.all.rp_filter = 2 (loose), or a route back "
			"to the director through the interface on this segment",
			"answers ARP from 0.0.0.0 but not from the director's %s: it drops the director's packets "
			"(rp_filter or arp_filter, its route back to the director leaving another interface)",
			ntop(&p->route.src, a, sizeof(a)));
		return false;
	}
	finding(run, "arp", vs, name, "bring it up on this segment (its address, its link, the switch's VLAN)",
		"does not answer %s on %s: down, or not on this segment", what, p->route.ifname);
	return false;
}

static struct rs_probe *rs_probe_of(struct run *run, const struct doc_vs *vs, const struct doc_rs *rs,
				    const char *name)
{
	struct rs_probe *p;

	for (size_t i = 0; i < run->nrs; i++)
		if (ipaddr_equal(&run->rs[i].addr, &rs->addr))
			return &run->rs[i];
	if (!(p = realloc(run->rs, (run->nrs + 1) * sizeof(*p))))
		return NULL;
	run->rs = p;
	p = &run->rs[run->nrs++];
	memset(p, 0, sizeof(*p));
	p->addr = rs->addr;
	p->reachable = check_route(run, p, vs->name, name) && check_neighbour(run, p, vs->name, name);
	return p;
}

/* ---- the service, through the VIP and to the real address ---- */

static void service_verdict(struct run *run, const struct doc_vs *vs, const char *name, enum syn_result vip,
			    enum syn_result real, uint16_t port)
{
	char v[INET6_ADDRSTRLEN];

	ntop(&vs->vip, v, sizeof(v));
	if (vip == SYN_ACK)
		return;
	if (vip == SYN_RST && real == SYN_ACK)
		finding(run, "service", vs->name, name, "make it listen on the VIP or on the wildcard address "
			"(0.0.0.0, [::]) of that port",
			"the service answers on its real address but refuses %s port %u: it listens on its real "
			"address only", v, port);
	else if (vip == SYN_RST)
		finding(run, "service", vs->name, name, "start the service (on the VIP or the wildcard address)",
			"nothing listens on port %u: %s port %u is refused%s", port, v, port,
			real == SYN_RST ? ", and so is its real address" : "");
	else if (real != SYN_NONE)
		finding(run, "vip", vs->name, name, "on it: the VIP on the loopback (rs-agent apply does it: "
			"ip address add VIP dev lo), and no firewall rule dropping it",
			"does not answer packets for the VIP %s (its real address %s): the VIP is not on its "
			"loopback, or a firewall there drops traffic to it", v,
			real == SYN_ACK ? "answers" : "refuses the port");
	else if (vs->vip.family == AF_INET)
		finding(run, "service", vs->name, name, "on it: accept the director's packets (firewall; "
			"net.ipv4.conf.all.rp_filter = 2 if its route back leaves another interface)",
			"answers ARP but no TCP from the director, to the VIP %s nor to its real address: a "
			"firewall, or rp_filter with its route back to the director through another interface", v);
	else
		finding(run, "service", vs->name, name, "on it: accept the director's packets (firewall, "
			"netfilter's rpfilter)", "answers neighbour solicitations but no TCP from the director, to "
			"the VIP %s nor to its real address: a firewall drops the director's packets", v);
}

static void check_service(struct run *run, const struct doc_vs *vs, const struct doc_rs *rs,
			  const struct rs_probe *p, const char *name)
{
	enum syn_result vip = SYN_NONE, real = SYN_NONE;
	bool dr = rs->method == DOC_DR;

	if (strcmp(vs->proto, "tcp") != 0 || rs->method == DOC_TUN || (dr && vs->fwmark) ||
	    (dr && vs->vip.family != rs->addr.family)) {
		note(run, false, "%s %s: the service (only tcp through dr or nat is probed)", vs->name, name);
		return;
	}
	if ((dr && syn_probe(run, p, &vs->vip, rs->port, &vip) < 0) ||
	    syn_probe(run, p, &rs->addr, rs->port, &real) < 0) {
		note(run, true, "%s %s: the service: a SYN could not be sent", vs->name, name);
		return;
	}
	if (dr) {
		service_verdict(run, vs, name, vip, real, rs->port);
	} else if (real != SYN_ACK) {
		finding(run, "service", vs->name, name, "start the service on its real address",
			"%s on its real address (method nat)", real == SYN_RST ? "refuses the port" : "no answer");
	}
}

static void check_mtu(struct run *run, struct rs_probe *p, const char *vs, const char *name)
{
	int small, big;

	if (p->mtu_done)
		return;
	p->mtu_done = true;
	if ((small = echo_probe(run, p, ECHO_SMALL)) <= 0) {
		note(run, small < 0, "%s: the MTU (%s)", name, small < 0 ? "the echo could not be sent" :
		     "it does not answer ping");
		return;
	}
	if ((big = echo_probe(run, p, p->link.mtu)) == 0)
		finding(run, "mtu", vs, name, "give it and every port between the same MTU as the director's "
			"interface (or lower the director's)",
			"answers a ping but not one of %u bytes with DF (the MTU of %s): frames the director forwards "
			"at full size are lost", p->link.mtu, p->route.ifname);
	else if (big < 0)
		note(run, true, "%s: the MTU (an echo of %u bytes could not be sent)", name, p->link.mtu);
}

static void check_agent(struct run *run, struct rs_probe *p, const struct doc_vs *vs, const struct doc_rs *rs,
			const char *name)
{
	char line[AGENT_LINE_MAX + 2], text[AGENT_LINE_MAX];
	struct agent_reply a;
	int ret;

	if (!rs->agent_port || p->agent_done == rs->agent_port)
		return;
	p->agent_done = rs->agent_port;
	ret = run->io->agent(run->io, &rs->addr, rs->agent_port, run->wait_ms, line, sizeof(line));
	if (ret == -ECONNREFUSED)
		finding(run, "agent", vs->name, name, "start rs-agent there (rs-agent run), listening on that port",
			"agent port %u refused: rs-agent is not running there, or listens on another port",
			rs->agent_port);
	else if (ret == -ETIMEDOUT)
		finding(run, "agent", vs->name, name, "let the director reach that TCP port (firewall)",
			"agent port %u: no answer within %u ms: blocked on the way or on it", rs->agent_port,
			run->wait_ms);
	else if (ret == -ETIME)
		finding(run, "agent", vs->name, name, "on it, see why rs-agent does not answer (rs-agent status)",
			"agent port %u accepted the connection but sent no line within %u ms", rs->agent_port,
			run->wait_ms);
	else if (ret == -ENODATA)
		finding(run, "agent", vs->name, name, "add the director's addresses to the agent's allow list "
			"(rs-agent.ini(5))", "the agent on port %u closed without a word: the director is not on "
			"its allow list", rs->agent_port);
	else if (ret < 0)
		finding(run, "agent", vs->name, name, "let the director reach that TCP port",
			"agent port %u: %s", rs->agent_port, strerror(-ret));
	else if (agent_reply_parse(line, strlen(line), &a) < 0)
		finding(run, "agent", vs->name, name, "run dsrkit's rs-agent (or an agent-check of HAProxy's protocol)",
			"the agent on port %u answers something that is not an agent-check line", rs->agent_port);
	else if (a.state == AGENT_STATE_DOWN || a.state == AGENT_STATE_FAIL || a.state == AGENT_STATE_STOPPED) {
		agent_text_copy(line, strlen(line), text, sizeof(text));
		finding(run, "agent", vs->name, name, "on it, rs-agent status says why", "its agent reports '%s'",
			text);
	}
}

/* ---- the VIPs: who else answers for them ---- */

static const struct doc_vrrp *vrrp_of_vip(const struct doc_targets *t, const struct ipaddr *vip)
{
	for (size_t i = 0; i < t->nvrrp; i++)
		for (size_t j = 0; j < t->vrrp[i].nvips; j++)
			if (ipaddr_equal(&t->vrrp[i].vips[j], vip))
				return &t->vrrp[i];
	return NULL;
}

struct advert_wait {
	unsigned vrid;
	struct doc_mac mac;
	bool got;
};

static bool advert_cb(const uint8_t *f, size_t len, void *arg)
{
	struct advert_wait *w = arg;

	w->got = doc_vrrp_advert_parse(f, len, w->vrid, &w->mac) == 0;
	return w->got;
}

/* The master director's MAC, from its adverts on ifindex (once). */
static bool master_mac(struct run *run, const struct doc_vrrp *in, int family, int ifindex, struct doc_mac *out)
{
	struct advert_wait w = { .vrid = in->vrid };
	size_t i;

	for (i = 0; i < run->nmaster; i++)
		if (run->master[i].vrid == in->vrid && run->master[i].ifindex == ifindex)
			break;
	if (i == run->nmaster) {
		if (i == sizeof(run->master) / sizeof(run->master[0]))
			return false;
		/* Adverts come every advert_interval (1 s by default): up to 3 waits. */
		(void)run->io->exchange(run->io, ifindex, eth_type(family), NULL, 0, 3 * run->wait_ms, advert_cb, &w);
		run->master[i].vrid = in->vrid;
		run->master[i].ifindex = ifindex;
		run->master[i].known = w.got;
		run->master[i].mac = w.mac;
		run->nmaster++;
	}
	*out = run->master[i].mac;
	return run->master[i].known;
}

/* The real server of that MAC, by its address of family if it has one. */
static const struct rs_probe *rs_of_mac(const struct run *run, const struct doc_mac *m, int family)
{
	const struct rs_probe *other = NULL;

	for (size_t i = 0; i < run->nrs; i++)
		if (run->rs[i].reachable && memcmp(&run->rs[i].mac, m, sizeof(*m)) == 0) {
			if (run->rs[i].addr.family == family)
				return &run->rs[i];
			other = &run->rs[i];
		}
	return other;
}

static void vip_answer(struct run *run, const struct doc_vs *vs, const struct rs_probe *via,
		       const struct doc_mac *m)
{
	const struct doc_vrrp *in = vrrp_of_vip(run->t, &vs->vip);
	const struct rs_probe *rs = rs_of_mac(run, m, vs->vip.family);
	const char *what = vs->vip.family == AF_INET ? "ARP" : "neighbour solicitations";
	char v[INET6_ADDRSTRLEN], a[INET6_ADDRSTRLEN], mac[18];
	struct doc_mac master;

	ntop(&vs->vip, v, sizeof(v));
	doc_mac_ntop(m, mac, sizeof(mac));
	if (rs) {
		finding(run, "vip_arp", vs->name, ntop(&rs->addr, a, sizeof(a)), vs->vip.family == AF_INET ?
			"on it: net.ipv4.conf.all.arp_ignore = 1 and arp_announce = 2 (rs-agent apply sets them)" :
			"on it: the VIP on lo only, no proxy_ndp (rs-agent apply)",
			"answers %s for the VIP %s on %s (MAC %s): clients and the router can reach it directly, "
			"bypassing the director", what, v, via->route.ifname, mac);
		return;
	}
	if (in && strcmp(in->state, "MASTER") != 0 && master_mac(run, in, vs->vip.family, via->route.ifindex, &master) &&
	    memcmp(&master, m, sizeof(*m)) == 0)
		return;		/* the master director */
	finding(run, "vip_arp", vs->name, "", "find that host by its MAC (the switch's table) and take the VIP "
		"off it, or make it ignore ARP for it",
		"%s answers %s for the VIP %s on %s and is neither this director%s nor a real server", mac, what, v,
		via->route.ifname, in && strcmp(in->state, "MASTER") != 0 ? ", the master director" : "");
}

/* Who answers for vs's VIP on the link of via (once per VIP and link). */
static void check_vip(struct run *run, const struct doc_vs *vs, const struct rs_probe *via)
{
	struct ipaddr zero = { .family = AF_INET };
	struct mac_wait w = { .all = true };
	char key[sizeof(run->vip_done[0])], v[INET6_ADDRSTRLEN];

	snprintf(key, sizeof(key), "%s%%%s", ntop(&vs->vip, v, sizeof(v)), via->route.ifname);
	for (size_t i = 0; i < run->nvip_done; i++)
		if (strcmp(run->vip_done[i], key) == 0)
			return;
	if (run->nvip_done < sizeof(run->vip_done) / sizeof(run->vip_done[0]))
		strlcpy_safe(run->vip_done[run->nvip_done++], key, sizeof(key));
	if (ask_neighbour(run, via, &vs->vip, vs->vip.family == AF_INET ? &zero : &via->route.src, &w) < 0) {
		note(run, true, "%s: who answers for the VIP %s on %s", vs->name, v, via->route.ifname);
		return;
	}
	for (size_t i = 0; i < w.n; i++)
		if (memcmp(&w.macs[i], &via->link.mac, sizeof(w.macs[i])) != 0 && !doc_mac_is_vrrp(&w.macs[i]))
			vip_answer(run, vs, via, &w.macs[i]);
}

static void check_vs(struct run *run, const struct doc_vs *vs)
{
	char name[DOC_NAME_MAX], a[INET6_ADDRSTRLEN];
	size_t via[8], nvia = 0;	/* indexes in run->rs (which moves as it grows) */

	for (size_t i = 0; i < vs->nrs; i++) {
		const struct doc_rs *rs = &vs->rs[i];
		struct rs_probe *p;
		size_t k;

		snprintf(name, sizeof(name), rs->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			 ntop(&rs->addr, a, sizeof(a)), rs->port);
		if (out_of_time(run)) {
			note(run, true, "%s %s: out of time", vs->name, name);
			continue;
		}
		if (!(p = rs_probe_of(run, vs, rs, name))) {
			note(run, true, "%s %s: out of memory", vs->name, name);
			continue;
		}
		if (p->reachable) {
			check_service(run, vs, rs, p, name);
			check_mtu(run, p, vs->name, name);
		}
		check_agent(run, p, vs, rs, name);
		if (!p->reachable || rs->method != DOC_DR || vs->fwmark || vs->vip.family != rs->addr.family)
			continue;
		for (k = 0; k < nvia && run->rs[via[k]].route.ifindex != p->route.ifindex; k++)
			;
		if (k == nvia && nvia < sizeof(via) / sizeof(via[0]))
			via[nvia++] = (size_t)(p - run->rs);
	}
	for (size_t k = 0; k < nvia; k++)
		if (out_of_time(run))
			note(run, true, "%s: who answers for its VIP on %s: out of time", vs->name,
			     run->rs[via[k]].route.ifname);
		else
			check_vip(run, vs, &run->rs[via[k]]);
}

/* ---- the director's own sysctls ---- */

/* net.ipv4.conf.{all,IF}.KEY as the kernel applies it: the larger. */
static int conf_max(struct run *run, const char *key, const char *ifname, int *value)
{
	char path[128];
	int all, one;

	snprintf(path, sizeof(path), "net/ipv4/conf/all/%s", key);
	if (run->io->sysctl(run->io, path, &all) < 0)
		return -1;
	snprintf(path, sizeof(path), "net/ipv4/conf/%s/%s", ifname, key);
	if (run->io->sysctl(run->io, path, &one) < 0)
		return -1;
	*value = all > one ? all : one;
	return 0;
}

static void check_forwarding(struct run *run, const struct doc_vs *vs, int family)
{
	const char *path = family == AF_INET ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding";
	int v;

	if (run->io->sysctl(run->io, path, &v) < 0)
		note(run, true, "%s: %s could not be read", vs->name, path);
	else if (v == 0)
		finding(run, "sysctl", vs->name, "", "sysctl net.ipv4.ip_forward = 1 (net.ipv6.conf.all.forwarding "
			"for IPv6) on both directors", "%s is 0 and method nat is used: the real servers' replies "
			"are not forwarded back to the clients", path);
}

/* Strict rp_filter on the interface of the VIPs drops clients whose route
 * back leaves another interface: the default route's, here. IPv4's only:
 * the kernel has no reverse-path filter for IPv6 (an instance's VIPs are
 * of one family). */
static void check_rp_filter(struct run *run, const struct doc_vrrp *in)
{
	char def[IF_NAMESIZE];
	int v;

	if (in->nvips && in->vips[0].family != AF_INET)
		return;
	if (conf_max(run, "rp_filter", in->ifname, &v) < 0) {
		note(run, true, "the director's rp_filter on %s could not be read", in->ifname);
		return;
	}
	if (v == 1 && run->io->default_ifname(run->io, AF_INET, def) == 0 && strcmp(def, in->ifname) != 0)
		finding(run, "sysctl", "", "", "net.ipv4.conf.all.rp_filter and conf.IF.rp_filter = 2 (loose) on the "
			"directors", "strict rp_filter on %s, where the VIPs of %s are, while the default route leaves "
			"%s: packets from clients routed that way are dropped", in->ifname, in->name, def);
}

static void check_director(struct run *run, const char *service)
{
	char section[DOC_NAME_MAX + 32];
	bool fwd_done[2] = { false, false };

	for (size_t i = 0; i < run->t->nvs; i++) {
		const struct doc_vs *vs = &run->t->vs[i];

		if (service && strcmp(service, vs->name) != 0)
			continue;
		for (size_t j = 0; j < vs->nrs; j++) {
			int f = vs->rs[j].addr.family == AF_INET6;

			if (vs->rs[j].method == DOC_NAT && !fwd_done[f]) {
				fwd_done[f] = true;
				check_forwarding(run, vs, vs->rs[j].addr.family);
			}
		}
	}
	for (size_t i = 0; i < run->t->nvrrp; i++)
		check_rp_filter(run, &run->t->vrrp[i]);
	snprintf(section, sizeof(section), "virtual_server %s.", service ? service : "");
	for (size_t i = 0; i < run->t->ntraps; i++)
		if (!service || strstr(run->t->traps[i], section))
			finding(run, "trap", "", "", "director.ini(5), THE IPVS TRAPS", "%s", run->t->traps[i]);
}

int doctor_run(const struct doc_targets *t, const struct doc_options *opt, struct doctor_io *io,
	       struct doc_report *r)
{
	struct run *run = calloc(1, sizeof(*run));
	bool found = false;

	if (!run)
		return -ENOMEM;
	run->t = t;
	run->io = io;
	run->r = r;
	run->wait_ms = opt->wait_ms ? opt->wait_ms : 1000;
	run->deadline_ms = io->now_ms(io) + 1000ull * (opt->timeout_s ? opt->timeout_s : 60);
	for (size_t i = 0; i < t->nvs; i++) {
		if (opt->service && strcmp(opt->service, t->vs[i].name) != 0)
			continue;
		found = true;
		check_vs(run, &t->vs[i]);
	}
	if (opt->service && !found) {
		free(run);
		return -ENOENT;
	}
	check_director(run, opt->service);
	free(run->rs);
	free(run);
	return 0;
}

/* ---- the report ---- */

void doc_report_init(struct doc_report *r)
{
	memset(r, 0, sizeof(*r));
	sb_init(&r->notes);
}

void doc_report_free(struct doc_report *r)
{
	free(r->items);
	sb_free(&r->notes);
	memset(r, 0, sizeof(*r));
}

void doc_report_text(const struct doc_report *r, struct strbuf *out)
{
	const char *n = sb_str(&r->notes);

	for (size_t i = 0; i < r->n; i++) {
		const struct doc_finding *f = &r->items[i];

		sb_printf(out, "%s%s%s: [%s] %s; fix: %s\n", f->service[0] ? f->service : "director",
			  f->server[0] ? " " : "", f->server, f->check, f->what, f->fix);
	}
	while (*n) {
		size_t len = strcspn(n, "\n");

		sb_printf(out, "not checked: %.*s\n", (int)len, n);
		n += len + (n[len] == '\n');
	}
	if (r->n == 0)
		sb_append(out, r->not_checked ? "no finding in what could be checked\n" : "no finding\n");
}

void doc_report_json(const struct doc_report *r, struct strbuf *out)
{
	const char *n = sb_str(&r->notes);
	struct json j;

	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "findings");
	for (size_t i = 0; i < r->n; i++) {
		const struct doc_finding *f = &r->items[i];

		json_object_begin(&j, NULL);
		json_string(&j, "check", f->check);
		json_string(&j, "service", f->service[0] ? f->service : NULL);
		json_string(&j, "server", f->server[0] ? f->server : NULL);
		json_string(&j, "what", f->what);
		json_string(&j, "fix", f->fix);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "not_checked");
	while (*n) {
		size_t len = strcspn(n, "\n");
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)len, n);
		json_string(&j, NULL, line);
		n += len + (n[len] == '\n');
	}
	json_array_end(&j);
	json_object_end(&j);
	sb_append(out, "\n");
}
