/* IPVS over generic netlink through libnl-genl. See ipvs.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "ipvs.h"
#include "nlsock.h"
#include "util.h"

struct ipvs {
	struct nlsock ns;
	int family;
	uint32_t batch_seq;		/* ipvs_apply's own sequence numbers */
};

/* Requests per sendmsg. All but the last go without NLM_F_ACK: the kernel
 * answers those only when they fail, so a batch costs one send and one
 * receive; 128 failures still fit the default receive buffer. */
#define BATCH_MAX 128
#define BATCH_SEQ_BASE 0x40000000u	/* away from libnl's automatic ones */

/* ---- errors ---- */

/* libnl's result as 0 or -errno (common/nlsock: the kernel's own errno,
 * -ETIMEDOUT when no answer came in time). */
static int result(struct ipvs *v, int nle)
{
	return nlsock_result(&v->ns, nle);
}

const char *ipvs_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:		return "success";
	case ENOENT:	return "no such object, or no such scheduler (is the ip_vs_<name> module available?)";
	case ESRCH:	return "no such service";
	case EEXIST:	return "already exists";
	case EINVAL:	return "invalid argument (a value the kernel refuses)";
	case EPERM:	return "operation not permitted (CAP_NET_ADMIN needed)";
	case EAFNOSUPPORT: return "address family not supported (IPv6 in IPVS missing?)";
	case EPROTONOSUPPORT: return "protocol not supported";
	case ENOMEM:	return "out of memory";
	case EBUSY:	return "busy (the sync daemon is already running?)";
	case ENODEV:	return "no such interface";
	case ENOPKG:	return "the kernel has no IPVS (is the ip_vs module loaded?)";
	case ETIMEDOUT:	return "the kernel did not answer within 5 s";
	default:	return strerror(err < 0 ? -err : err);
	}
}

const char *ipvs_daemon_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EEXIST:	return "a sync daemon already runs in that state";
	case ESRCH:	return "no sync daemon runs in that state";
	case ENODEV:	return "no such interface";
	case EINVAL:	return "invalid argument (the group is not multicast, or a service has destinations of the "
			       "other family, which sync cannot carry)";
	case EAFNOSUPPORT: return "an IPv6 group, but the kernel's IPVS has no IPv6";
	case EADDRINUSE: return "the sync port is already in use on that interface";
	case EADDRNOTAVAIL: return "the interface has no address of the group's family";
	case ENOPROTOOPT: return "IPVS is being unloaded";
	default:	return ipvs_strerror(err);
	}
}

/* ---- the socket ---- */

int ipvs_open(struct ipvs **out)
{
	struct ipvs *v;
	int err;

	*out = NULL;
	if (!(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	if ((err = nlsock_open(&v->ns, NETLINK_GENERIC, 0)) < 0) {
		free(v);
		return err;
	}
	v->batch_seq = BATCH_SEQ_BASE;
	v->family = genl_ctrl_resolve(v->ns.sk, IPVS_GENL_NAME);
	if (v->family < 0) {
		err = v->family == -NLE_OBJ_NOTFOUND ? -ENOPKG : result(v, v->family);
		ipvs_close(v);
		return err;
	}
	*out = v;
	return 0;
}

void ipvs_close(struct ipvs *v)
{
	if (!v)
		return;
	nlsock_close(&v->ns);
	free(v);
}

/* ---- encoding ---- */

static uint32_t v4_mask(uint32_t prefixlen)
{
	return htonl(prefixlen >= 32 ? 0xffffffffu : prefixlen == 0 ? 0 : ~(0xffffffffu >> prefixlen));
}

/* The kernel reads addresses as a 16-byte union nf_inet_addr. */
static int put_addr(struct nl_msg *msg, int type, const struct ipaddr *a)
{
	uint8_t buf[16] = { 0 };

	memcpy(buf, a->u.bytes, a->family == AF_INET ? 4 : 16);
	return nla_put(msg, type, sizeof(buf), buf);
}

static bool service_valid(const struct ipvs_service *s)
{
	if (s->af != AF_INET && s->af != AF_INET6)
		return false;
	if (s->fwmark)
		return true;
	return s->addr.family == s->af &&
	       (s->protocol == IPPROTO_TCP || s->protocol == IPPROTO_UDP || s->protocol == IPPROTO_SCTP);
}

/* full: what NEW and SET need besides the key. */
static int put_service(struct nl_msg *msg, const struct ipvs_service *s, bool full)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags fl = { .flags = s->flags & ~(uint32_t)IP_VS_SVC_F_HASHED, .mask = ~0u };
	int err = 0;

	if (!nest)
		return -EMSGSIZE;
	err |= nla_put_u16(msg, IPVS_SVC_ATTR_AF, (uint16_t)s->af);
	if (s->fwmark) {
		err |= nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, s->fwmark);
	} else {
		err |= nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, s->protocol);
		err |= put_addr(msg, IPVS_SVC_ATTR_ADDR, &s->addr);
		err |= nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(s->port));
	}
	if (full) {
		err |= nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, s->sched);
		err |= nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl);
		err |= nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, s->timeout);
		/* IPv4: a mask in network order; IPv6: a prefix length. */
		err |= nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK,
				   s->af == AF_INET ? v4_mask(s->netmask ? s->netmask : 32) : (s->netmask ? s->netmask : 128));
	}
	nla_nest_end(msg, nest);
	return err ? -EMSGSIZE : 0;
}

static int put_dest(struct nl_msg *msg, const struct ipvs_service *s, const struct ipvs_dest *d, bool full)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
	int err = 0;

	if (!nest)
		return -EMSGSIZE;
	err |= put_addr(msg, IPVS_DEST_ATTR_ADDR, &d->addr);
	err |= nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(d->port));
	if (d->addr.family != s->af)
		err |= nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, (uint16_t)d->addr.family);
	if (full) {
		err |= nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, d->fwd & IP_VS_CONN_F_FWD_MASK);
		err |= nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, (uint32_t)d->weight);
		err |= nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, d->u_threshold);
		err |= nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, d->l_threshold);
	}
	nla_nest_end(msg, nest);
	return err ? -EMSGSIZE : 0;
}

static int new_request(struct ipvs *v, uint8_t cmd, int flags, struct nl_msg **out)
{
	struct nl_msg *msg = nlmsg_alloc();

	*out = NULL;
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, v->family, 0, flags, cmd, IPVS_GENL_VERSION)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	*out = msg;
	return 0;
}

/* One request, waiting for its acknowledgement. */
static int request(struct ipvs *v, uint8_t cmd, const struct ipvs_service *s, const struct ipvs_dest *d)
{
	bool full = cmd == IPVS_CMD_NEW_SERVICE || cmd == IPVS_CMD_SET_SERVICE || cmd == IPVS_CMD_NEW_DEST ||
		    cmd == IPVS_CMD_SET_DEST;
	struct nl_msg *msg;
	int err;

	if (!v || !s || !service_valid(s) || (d && d->addr.family != AF_INET && d->addr.family != AF_INET6))
		return -EINVAL;
	if ((err = new_request(v, cmd, 0, &msg)) < 0)
		return err;
	err = put_service(msg, s, full && !d);
	if (err == 0 && d)
		err = put_dest(msg, s, d, full);
	if (err < 0) {
		nlmsg_free(msg);
		return err;
	}
	return result(v, nl_send_sync(v->ns.sk, msg));	/* frees msg */
}

int ipvs_service_add(struct ipvs *v, const struct ipvs_service *s)
{
	return request(v, IPVS_CMD_NEW_SERVICE, s, NULL);
}

int ipvs_service_edit(struct ipvs *v, const struct ipvs_service *s)
{
	return request(v, IPVS_CMD_SET_SERVICE, s, NULL);
}

int ipvs_service_del(struct ipvs *v, const struct ipvs_service *s)
{
	return request(v, IPVS_CMD_DEL_SERVICE, s, NULL);
}

int ipvs_dest_add(struct ipvs *v, const struct ipvs_service *s, const struct ipvs_dest *d)
{
	return d ? request(v, IPVS_CMD_NEW_DEST, s, d) : -EINVAL;
}

int ipvs_dest_edit(struct ipvs *v, const struct ipvs_service *s, const struct ipvs_dest *d)
{
	return d ? request(v, IPVS_CMD_SET_DEST, s, d) : -EINVAL;
}

int ipvs_dest_del(struct ipvs *v, const struct ipvs_service *s, const struct ipvs_dest *d)
{
	return d ? request(v, IPVS_CMD_DEL_DEST, s, d) : -EINVAL;
}

/* ---- sync daemons and timeouts ---- */

_Static_assert(IPVS_DAEMON_MASTER == IP_VS_STATE_MASTER && IPVS_DAEMON_BACKUP == IP_VS_STATE_BACKUP,
	       "daemon states are the kernel's");
_Static_assert(IPVS_IFNAME_MAX == IP_VS_IFNAME_MAXLEN, "interface names as the kernel's");

#define SYNC_GROUP_DEFAULT 0xe0000051u	/* 224.0.0.81, the kernel's IP_VS_SYNC_GROUP */

static bool daemon_state_valid(uint32_t state)
{
	return state == IPVS_DAEMON_MASTER || state == IPVS_DAEMON_BACKUP;
}

static bool daemon_valid(const struct ipvs_daemon *d)
{
	size_t n = strnlen(d->ifname, sizeof(d->ifname));

	return daemon_state_valid(d->state) && n > 0 && n < sizeof(d->ifname) && d->sync_id <= 255 &&
	       (d->group.family == 0 || d->group.family == AF_INET || d->group.family == AF_INET6);
}

/* The optional attributes go only when set, so the kernel's defaults
 * apply to the others (as ipvsadm does). The port is in host order. */
static int put_daemon(struct nl_msg *msg, const struct ipvs_daemon *d, bool full)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_DAEMON);
	int err = 0;

	if (!nest)
		return -EMSGSIZE;
	err |= nla_put_u32(msg, IPVS_DAEMON_ATTR_STATE, d->state);
	if (full) {
		err |= nla_put_string(msg, IPVS_DAEMON_ATTR_MCAST_IFN, d->ifname);
		err |= nla_put_u32(msg, IPVS_DAEMON_ATTR_SYNC_ID, d->sync_id);
		if (d->group.family == AF_INET)
			err |= nla_put(msg, IPVS_DAEMON_ATTR_MCAST_GROUP, 4, d->group.u.bytes);
		else if (d->group.family == AF_INET6)
			err |= nla_put(msg, IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, d->group.u.bytes);
		if (d->port)
			err |= nla_put_u16(msg, IPVS_DAEMON_ATTR_MCAST_PORT, d->port);
		if (d->ttl)
			err |= nla_put_u8(msg, IPVS_DAEMON_ATTR_MCAST_TTL, d->ttl);
		if (d->maxlen)
			err |= nla_put_u16(msg, IPVS_DAEMON_ATTR_SYNC_MAXLEN, d->maxlen);
	}
	nla_nest_end(msg, nest);
	return err ? -EMSGSIZE : 0;
}

static int daemon_request(struct ipvs *v, uint8_t cmd, const struct ipvs_daemon *d)
{
	struct nl_msg *msg;
	int err;

	if ((err = new_request(v, cmd, 0, &msg)) < 0)
		return err;
	if ((err = put_daemon(msg, d, cmd == IPVS_CMD_NEW_DAEMON)) < 0) {
		nlmsg_free(msg);
		return err;
	}
	return result(v, nl_send_sync(v->ns.sk, msg));	/* frees msg */
}

int ipvs_daemon_add(struct ipvs *v, const struct ipvs_daemon *d)
{
	if (!v || !d || !daemon_valid(d))
		return -EINVAL;
	return daemon_request(v, IPVS_CMD_NEW_DAEMON, d);
}

int ipvs_daemon_del(struct ipvs *v, uint32_t state)
{
	struct ipvs_daemon d = { .state = state };

	if (!v || !daemon_state_valid(state))
		return -EINVAL;
	return daemon_request(v, IPVS_CMD_DEL_DAEMON, &d);
}

int ipvs_timeouts_set(struct ipvs *v, const struct ipvs_timeouts *t)
{
	struct nl_msg *msg;
	int err = 0;

	if (!v || !t)
		return -EINVAL;
	if (!t->tcp && !t->tcp_fin && !t->udp)
		return 0;	/* nothing to change */
	if ((err = new_request(v, IPVS_CMD_SET_CONFIG, 0, &msg)) < 0)
		return err;
	/* The kernel changes only what is given and not 0. */
	if (t->tcp)
		err |= nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_TCP, t->tcp);
	if (t->tcp_fin)
		err |= nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t->tcp_fin);
	if (t->udp)
		err |= nla_put_u32(msg, IPVS_CMD_ATTR_TIMEOUT_UDP, t->udp);
	if (err) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return result(v, nl_send_sync(v->ns.sk, msg));	/* frees msg */
}

/* ---- batches ---- */

static const uint8_t req_cmd[] = {
	[IPVS_REQ_SERVICE_ADD] = IPVS_CMD_NEW_SERVICE, [IPVS_REQ_SERVICE_EDIT] = IPVS_CMD_SET_SERVICE,
	[IPVS_REQ_SERVICE_DEL] = IPVS_CMD_DEL_SERVICE, [IPVS_REQ_DEST_ADD] = IPVS_CMD_NEW_DEST,
	[IPVS_REQ_DEST_EDIT] = IPVS_CMD_SET_DEST, [IPVS_REQ_DEST_DEL] = IPVS_CMD_DEL_DEST,
};

static struct nl_msg *build_request(struct ipvs *v, const struct ipvs_request *r, uint32_t seq, bool ack,
				    int *err)
{
	bool dest = r->type >= IPVS_REQ_DEST_ADD;
	bool full = r->type == IPVS_REQ_SERVICE_ADD || r->type == IPVS_REQ_SERVICE_EDIT ||
		    r->type == IPVS_REQ_DEST_ADD || r->type == IPVS_REQ_DEST_EDIT;
	struct nl_msg *msg = nlmsg_alloc();

	*err = -ENOMEM;
	if (!msg)
		return NULL;
	*err = -EINVAL;
	if ((unsigned)r->type >= ARRAY_SIZE(req_cmd) || !r->svc || !service_valid(r->svc) ||
	    (dest && (!r->dest || (r->dest->addr.family != AF_INET && r->dest->addr.family != AF_INET6))))
		goto fail;
	*err = -EMSGSIZE;
	/* nl_sendto() does not complete messages as nl_send_auto() does. */
	if (!genlmsg_put(msg, 0, seq, v->family, 0, NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), req_cmd[r->type],
			 IPVS_GENL_VERSION))
		goto fail;
	if ((*err = put_service(msg, r->svc, full && !dest)) < 0 || (dest && (*err = put_dest(msg, r->svc, r->dest, full)) < 0))
		goto fail;
	*err = 0;
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

struct batch_ctx {
	struct ipvs_request *reqs;
	uint32_t first_seq;
	size_t n;
	uint32_t last_seq;		/* the one request sent with NLM_F_ACK */
	bool done;			/* its answer came: all answers are in */
	unsigned answers;		/* acks and errors read */
};

static void batch_answer(struct batch_ctx *c, uint32_t seq, int error)
{
	uint32_t k = seq - c->first_seq;

	c->answers++;
	if (k < c->n)
		c->reqs[k].result = error > 0 ? -error : error;
	if (seq == c->last_seq)
		c->done = true;
}

static int batch_ack(struct nl_msg *msg, void *arg)
{
	batch_answer(arg, nlmsg_hdr(msg)->nlmsg_seq, 0);
	return NL_OK;
}

static int batch_err(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	(void)who;
	batch_answer(arg, e->msg.nlmsg_seq, e->error);
	return NL_SKIP;		/* the rest of the batch's answers follow */
}

static int any_seq(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;		/* ours are checked against the batch instead */
}

/* Send reqs[0..n) (n <= BATCH_MAX) in one buffer and collect the answers.
 * The kernel handles the buffer's requests in order while sending it, so
 * once the last (acknowledged) one is answered, every failure before it
 * has been reported too. */
static int send_batch(struct ipvs *v, struct ipvs_request *reqs, size_t n, struct nl_cb *cb, struct batch_ctx *c)
{
	struct strbuf buf;
	size_t last = n;
	int err = 0;

	c->reqs = reqs;
	c->first_seq = v->batch_seq;
	c->n = n;
	c->done = false;
	c->answers = 0;
	v->batch_seq += (uint32_t)n;
	/* The last request that can be sent carries the acknowledgement. */
	for (size_t k = n; k-- > 0 && last == n;) {
		struct nl_msg *msg = build_request(v, &reqs[k], 0, false, &reqs[k].result);

		if (msg)
			last = k;
		nlmsg_free(msg);
	}
	if (last == n)
		return 0;	/* every one refused here */
	c->last_seq = c->first_seq + (uint32_t)last;
	sb_init(&buf);
	for (size_t k = 0; k <= last; k++) {
		struct nl_msg *msg = build_request(v, &reqs[k], c->first_seq + (uint32_t)k, k == last, &reqs[k].result);
		struct nlmsghdr *h;

		if (!msg)
			continue;	/* refused here, result set; never sent */
		h = nlmsg_hdr(msg);
		sb_appendn(&buf, (const char *)h, NLMSG_ALIGN(h->nlmsg_len));
		nlmsg_free(msg);
	}
	if (buf.failed)
		err = -ENOMEM;
	else if (nl_sendto(v->ns.sk, buf.buf, buf.len) < 0)
		err = -EIO;
	sb_free(&buf);
	/* Bounded: at most one answer per request, read one at a time. */
	for (size_t rounds = 0; err == 0 && !c->done; rounds++) {
		int nle;

		if (rounds > n + 8) {
			err = -ETIMEDOUT;
			break;
		}
		nle = nl_recvmsgs(v->ns.sk, cb);
		if (nle < 0)
			err = result(v, nle);	/* -ETIMEDOUT: no answer in time */
	}
	/* libnl moves its expected sequence number on with every ack or
	 * error it reads, ours included; move the next one it sends along,
	 * or the following dump or request fails its sequence check. */
	for (unsigned k = 0; k < c->answers; k++)
		nl_socket_use_seq(v->ns.sk);
	return err;
}

int ipvs_apply(struct ipvs *v, struct ipvs_request *reqs, size_t n)
{
	struct batch_ctx c;
	struct nl_cb *cb;
	int err = 0, failed = 0;

	if (!v || (n && !reqs))
		return -EINVAL;
	if (!(cb = nl_cb_alloc(NL_CB_DEFAULT)))
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, batch_ack, &c);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, any_seq, NULL);
	nl_cb_err(cb, NL_CB_CUSTOM, batch_err, &c);
	for (size_t at = 0; at < n && err == 0; at += BATCH_MAX)
		err = send_batch(v, reqs + at, n - at < BATCH_MAX ? n - at : BATCH_MAX, cb, &c);
	nl_cb_put(cb);
	if (err < 0)
		return err;
	for (size_t k = 0; k < n; k++)
		failed += reqs[k].result != 0;
	return failed;
}

/* ---- decoding ---- */

static const struct nla_policy stats_policy[IPVS_STATS_ATTR_MAX + 1] = {
	[IPVS_STATS_ATTR_CONNS] = { .type = NLA_U32 },
	[IPVS_STATS_ATTR_INPKTS] = { .type = NLA_U32 },
	[IPVS_STATS_ATTR_OUTPKTS] = { .type = NLA_U32 },
	[IPVS_STATS_ATTR_INBYTES] = { .type = NLA_U64 },
	[IPVS_STATS_ATTR_OUTBYTES] = { .type = NLA_U64 },
};

static const struct nla_policy stats64_policy[IPVS_STATS_ATTR_MAX + 1] = {
	[IPVS_STATS_ATTR_CONNS] = { .type = NLA_U64 },
	[IPVS_STATS_ATTR_INPKTS] = { .type = NLA_U64 },
	[IPVS_STATS_ATTR_OUTPKTS] = { .type = NLA_U64 },
	[IPVS_STATS_ATTR_INBYTES] = { .type = NLA_U64 },
	[IPVS_STATS_ATTR_OUTBYTES] = { .type = NLA_U64 },
};

static const struct nla_policy svc_policy[IPVS_SVC_ATTR_MAX + 1] = {
	[IPVS_SVC_ATTR_AF] = { .type = NLA_U16 },
	[IPVS_SVC_ATTR_PROTOCOL] = { .type = NLA_U16 },
	[IPVS_SVC_ATTR_ADDR] = { .type = NLA_UNSPEC, .minlen = 16 },
	[IPVS_SVC_ATTR_PORT] = { .type = NLA_U16 },
	[IPVS_SVC_ATTR_FWMARK] = { .type = NLA_U32 },
	[IPVS_SVC_ATTR_SCHED_NAME] = { .type = NLA_UNSPEC },
	[IPVS_SVC_ATTR_FLAGS] = { .type = NLA_UNSPEC, .minlen = sizeof(struct ip_vs_flags) },
	[IPVS_SVC_ATTR_TIMEOUT] = { .type = NLA_U32 },
	[IPVS_SVC_ATTR_NETMASK] = { .type = NLA_U32 },
	[IPVS_SVC_ATTR_STATS] = { .type = NLA_NESTED },
	[IPVS_SVC_ATTR_STATS64] = { .type = NLA_NESTED },
};

static const struct nla_policy dest_policy[IPVS_DEST_ATTR_MAX + 1] = {
	[IPVS_DEST_ATTR_ADDR] = { .type = NLA_UNSPEC, .minlen = 16 },
	[IPVS_DEST_ATTR_PORT] = { .type = NLA_U16 },
	[IPVS_DEST_ATTR_FWD_METHOD] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_WEIGHT] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_U_THRESH] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_L_THRESH] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_ACTIVE_CONNS] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_INACT_CONNS] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_PERSIST_CONNS] = { .type = NLA_U32 },
	[IPVS_DEST_ATTR_STATS] = { .type = NLA_NESTED },
	[IPVS_DEST_ATTR_ADDR_FAMILY] = { .type = NLA_U16 },
	[IPVS_DEST_ATTR_STATS64] = { .type = NLA_NESTED },
};

static int parse_nested(struct nlattr **tb, int max, const void *data, size_t len,
			const struct nla_policy *policy)
{
	if (!data || len > INT32_MAX)
		return -EINVAL;
	return nla_parse(tb, max, (struct nlattr *)data, (int)len, (struct nla_policy *)policy) < 0 ? -EINVAL : 0;
}

/* Stats64 when present (kernels since 4.x), else the 32-bit counters. */
static void decode_stats(struct nlattr *stats64, struct nlattr *stats32, struct ipvs_stats *st)
{
	struct nlattr *tb[IPVS_STATS_ATTR_MAX + 1];
	bool wide = stats64 != NULL;
	struct nlattr *src = wide ? stats64 : stats32;

	memset(st, 0, sizeof(*st));
	if (!src || parse_nested(tb, IPVS_STATS_ATTR_MAX, nla_data(src), (size_t)nla_len(src),
				 wide ? stats64_policy : stats_policy) < 0)
		return;
#define GET(attr, field) \
	if (tb[attr]) \
		st->field = wide || (attr) >= IPVS_STATS_ATTR_INBYTES ? nla_get_u64(tb[attr]) : nla_get_u32(tb[attr])
	GET(IPVS_STATS_ATTR_CONNS, conns);
	GET(IPVS_STATS_ATTR_INPKTS, inpkts);
	GET(IPVS_STATS_ATTR_OUTPKTS, outpkts);
	GET(IPVS_STATS_ATTR_INBYTES, inbytes);
	GET(IPVS_STATS_ATTR_OUTBYTES, outbytes);
#undef GET
}

static int decode_addr(const struct nlattr *a, int family, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	out->family = family;
	out->prefixlen = family == AF_INET ? 32 : 128;
	memcpy(out->u.bytes, nla_data(a), family == AF_INET ? 4 : 16);
	return 0;
}

static int v4_prefixlen(uint32_t mask_be, uint32_t *prefixlen)
{
	uint32_t m = ntohl(mask_be), n = 0;

	while (n < 32 && (m & (0x80000000u >> n)))
		n++;
	/* The rest must be zero: a mask, not any number. */
	if (n < 32 && (m << n) != 0)
		return -EINVAL;
	*prefixlen = n;
	return 0;
}

int ipvs_service_decode(const void *data, size_t len, struct ipvs_service *s, struct ipvs_stats *st)
{
	struct nlattr *tb[IPVS_SVC_ATTR_MAX + 1];
	struct ipvs_stats ignored;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (parse_nested(tb, IPVS_SVC_ATTR_MAX, data, len, svc_policy) < 0 || !tb[IPVS_SVC_ATTR_AF] ||
	    !tb[IPVS_SVC_ATTR_SCHED_NAME] || !tb[IPVS_SVC_ATTR_FLAGS] || !tb[IPVS_SVC_ATTR_TIMEOUT] ||
	    !tb[IPVS_SVC_ATTR_NETMASK])
		return -EINVAL;
	s->af = nla_get_u16(tb[IPVS_SVC_ATTR_AF]);
	if (s->af != AF_INET && s->af != AF_INET6)
		return -EINVAL;
	if (tb[IPVS_SVC_ATTR_FWMARK] && nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK])) {
		s->fwmark = nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]);
	} else {
		if (!tb[IPVS_SVC_ATTR_PROTOCOL] || !tb[IPVS_SVC_ATTR_ADDR] || !tb[IPVS_SVC_ATTR_PORT])
			return -EINVAL;
		s->protocol = nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
		if (decode_addr(tb[IPVS_SVC_ATTR_ADDR], s->af, &s->addr) < 0)
			return -EINVAL;
		s->port = ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT]));
	}
	/* The name must end inside the attribute and fit ours. */
	n = strnlen(nla_data(tb[IPVS_SVC_ATTR_SCHED_NAME]), (size_t)nla_len(tb[IPVS_SVC_ATTR_SCHED_NAME]));
	if (n == 0 || n >= sizeof(s->sched) || n >= (size_t)nla_len(tb[IPVS_SVC_ATTR_SCHED_NAME]))
		return -EINVAL;
	memcpy(s->sched, nla_data(tb[IPVS_SVC_ATTR_SCHED_NAME]), n);
	{
		struct ip_vs_flags fl;

		memcpy(&fl, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
		s->flags = fl.flags & ~(uint32_t)IP_VS_SVC_F_HASHED;
	}
	s->timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
	s->netmask = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
	if (s->af == AF_INET ? v4_prefixlen(s->netmask, &s->netmask) < 0 : s->netmask > 128)
		return -EINVAL;
	decode_stats(tb[IPVS_SVC_ATTR_STATS64], tb[IPVS_SVC_ATTR_STATS], st ? st : &ignored);
	return 0;
}

int ipvs_dest_decode(const void *data, size_t len, int service_af, struct ipvs_dest *d, struct ipvs_dest_counters *c)
{
	struct nlattr *tb[IPVS_DEST_ATTR_MAX + 1];
	struct ipvs_dest_counters ignored;
	int af = service_af;

	if (!c)
		c = &ignored;
	memset(d, 0, sizeof(*d));
	memset(c, 0, sizeof(*c));
	if (parse_nested(tb, IPVS_DEST_ATTR_MAX, data, len, dest_policy) < 0 || !tb[IPVS_DEST_ATTR_ADDR] ||
	    !tb[IPVS_DEST_ATTR_PORT] || !tb[IPVS_DEST_ATTR_FWD_METHOD] || !tb[IPVS_DEST_ATTR_WEIGHT])
		return -EINVAL;
	if (tb[IPVS_DEST_ATTR_ADDR_FAMILY])
		af = nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]);
	if (decode_addr(tb[IPVS_DEST_ATTR_ADDR], af, &d->addr) < 0)
		return -EINVAL;
	d->port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]));
	d->fwd = nla_get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
	d->weight = (int32_t)nla_get_u32(tb[IPVS_DEST_ATTR_WEIGHT]);
	if (tb[IPVS_DEST_ATTR_U_THRESH])
		d->u_threshold = nla_get_u32(tb[IPVS_DEST_ATTR_U_THRESH]);
	if (tb[IPVS_DEST_ATTR_L_THRESH])
		d->l_threshold = nla_get_u32(tb[IPVS_DEST_ATTR_L_THRESH]);
	if (tb[IPVS_DEST_ATTR_ACTIVE_CONNS])
		c->active_conns = nla_get_u32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS]);
	if (tb[IPVS_DEST_ATTR_INACT_CONNS])
		c->inact_conns = nla_get_u32(tb[IPVS_DEST_ATTR_INACT_CONNS]);
	if (tb[IPVS_DEST_ATTR_PERSIST_CONNS])
		c->persist_conns = nla_get_u32(tb[IPVS_DEST_ATTR_PERSIST_CONNS]);
	decode_stats(tb[IPVS_DEST_ATTR_STATS64], tb[IPVS_DEST_ATTR_STATS], &c->stats);
	return 0;
}

static const struct nla_policy daemon_policy[IPVS_DAEMON_ATTR_MAX + 1] = {
	[IPVS_DAEMON_ATTR_STATE] = { .type = NLA_U32 },
	[IPVS_DAEMON_ATTR_MCAST_IFN] = { .type = NLA_UNSPEC },
	[IPVS_DAEMON_ATTR_SYNC_ID] = { .type = NLA_U32 },
	[IPVS_DAEMON_ATTR_SYNC_MAXLEN] = { .type = NLA_U16 },
	[IPVS_DAEMON_ATTR_MCAST_GROUP] = { .type = NLA_U32 },
	[IPVS_DAEMON_ATTR_MCAST_GROUP6] = { .type = NLA_UNSPEC, .minlen = 16 },
	[IPVS_DAEMON_ATTR_MCAST_PORT] = { .type = NLA_U16 },
	[IPVS_DAEMON_ATTR_MCAST_TTL] = { .type = NLA_U8 },
};

static const struct nla_policy config_policy[IPVS_CMD_ATTR_MAX + 1] = {
	[IPVS_CMD_ATTR_TIMEOUT_TCP] = { .type = NLA_U32 },
	[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = { .type = NLA_U32 },
	[IPVS_CMD_ATTR_TIMEOUT_UDP] = { .type = NLA_U32 },
};

bool ipvs_group_is_multicast(const struct ipaddr *g)
{
	if (g->family == AF_INET)
		return (ntohl(g->u.v4.s_addr) & 0xf0000000u) == 0xe0000000u;
	return g->family == AF_INET6 && g->u.bytes[0] == 0xff;
}

int ipvs_daemon_decode(const void *data, size_t len, struct ipvs_daemon *d)
{
	struct nlattr *tb[IPVS_DAEMON_ATTR_MAX + 1];
	struct nlattr *a;
	size_t n;

	memset(d, 0, sizeof(*d));
	if (parse_nested(tb, IPVS_DAEMON_ATTR_MAX, data, len, daemon_policy) < 0 || !tb[IPVS_DAEMON_ATTR_STATE] ||
	    !(a = tb[IPVS_DAEMON_ATTR_MCAST_IFN]) || !tb[IPVS_DAEMON_ATTR_SYNC_ID])
		return -EINVAL;
	d->state = nla_get_u32(tb[IPVS_DAEMON_ATTR_STATE]);
	d->sync_id = nla_get_u32(tb[IPVS_DAEMON_ATTR_SYNC_ID]);
	if (!daemon_state_valid(d->state) || d->sync_id > 255)
		return -EINVAL;
	/* The name must end inside the attribute and fit ours. */
	n = strnlen(nla_data(a), (size_t)nla_len(a));
	if (n == 0 || n >= sizeof(d->ifname) || n >= (size_t)nla_len(a))
		return -EINVAL;
	memcpy(d->ifname, nla_data(a), n);
	if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP]) {
		d->group.family = AF_INET;
		d->group.prefixlen = 32;
		memcpy(d->group.u.bytes, nla_data(tb[IPVS_DAEMON_ATTR_MCAST_GROUP]), 4);
	} else if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP6]) {
		d->group.family = AF_INET6;
		d->group.prefixlen = 128;
		memcpy(d->group.u.bytes, nla_data(tb[IPVS_DAEMON_ATTR_MCAST_GROUP6]), 16);
	}
	if (d->group.family && !ipvs_group_is_multicast(&d->group))
		return -EINVAL;
	if (tb[IPVS_DAEMON_ATTR_MCAST_PORT])
		d->port = nla_get_u16(tb[IPVS_DAEMON_ATTR_MCAST_PORT]);
	if (tb[IPVS_DAEMON_ATTR_MCAST_TTL])
		d->ttl = nla_get_u8(tb[IPVS_DAEMON_ATTR_MCAST_TTL]);
	if (tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN])
		d->maxlen = nla_get_u16(tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
	return 0;
}

int ipvs_timeouts_decode(const void *data, size_t len, struct ipvs_timeouts *t)
{
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];

	memset(t, 0, sizeof(*t));
	if (parse_nested(tb, IPVS_CMD_ATTR_MAX, data, len, config_policy) < 0)
		return -EINVAL;
	if (!tb[IPVS_CMD_ATTR_TIMEOUT_TCP] && !tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] && !tb[IPVS_CMD_ATTR_TIMEOUT_UDP])
		return -EINVAL;
	if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP])
		t->tcp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP]);
	if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN])
		t->tcp_fin = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]);
	if (tb[IPVS_CMD_ATTR_TIMEOUT_UDP])
		t->udp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_UDP]);
	return 0;
}

/* ---- dumps ---- */

struct dump_ctx {
	int cmd_attr;			/* IPVS_CMD_ATTR_SERVICE, _DEST or _DAEMON */
	int service_af;
	ipvs_service_cb service_cb;
	ipvs_dest_cb dest_cb;
	ipvs_daemon_cb daemon_cb;
	void *arg;
	int err;			/* first decode error or callback result */
};

static int dump_one(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *c = arg;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct nlattr *a;
	int ret;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, IPVS_CMD_ATTR_MAX, NULL) < 0 || !(a = tb[c->cmd_attr])) {
		c->err = -EPROTO;
		return NL_STOP;
	}
	if (c->service_cb) {
		struct ipvs_service s;
		struct ipvs_stats st;

		ret = ipvs_service_decode(nla_data(a), (size_t)nla_len(a), &s, &st);
		if (ret == 0)
			ret = c->service_cb(&s, &st, c->arg);
	} else if (c->daemon_cb) {
		struct ipvs_daemon d;

		ret = ipvs_daemon_decode(nla_data(a), (size_t)nla_len(a), &d);
		if (ret == 0)
			ret = c->daemon_cb(&d, c->arg);
	} else {
		struct ipvs_dest d;
		struct ipvs_dest_counters dc;

		ret = ipvs_dest_decode(nla_data(a), (size_t)nla_len(a), c->service_af, &d, &dc);
		if (ret == 0)
			ret = c->dest_cb(&d, &dc, c->arg);
	}
	if (ret < 0) {
		c->err = ret;
		return NL_STOP;
	}
	return NL_OK;
}

static int dump(struct ipvs *v, struct nl_msg *msg, struct dump_ctx *c)
{
	struct nl_cb *cb = nl_cb_clone(nl_socket_get_cb(v->ns.sk));
	int nle;

	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_one, c);
	nle = nl_send_auto(v->ns.sk, msg);
	nlmsg_free(msg);
	if (nle >= 0)
		nle = nl_recvmsgs(v->ns.sk, cb);
	nl_cb_put(cb);
	if (c->err)
		return c->err;
	return result(v, nle);
}

int ipvs_services(struct ipvs *v, ipvs_service_cb cb, void *arg)
{
	struct dump_ctx c = { .cmd_attr = IPVS_CMD_ATTR_SERVICE, .service_cb = cb, .arg = arg };
	struct nl_msg *msg;
	int err;

	if (!v || !cb)
		return -EINVAL;
	if ((err = new_request(v, IPVS_CMD_GET_SERVICE, NLM_F_DUMP, &msg)) < 0)
		return err;
	return dump(v, msg, &c);
}

int ipvs_dests(struct ipvs *v, const struct ipvs_service *s, ipvs_dest_cb cb, void *arg)
{
	struct dump_ctx c = { .cmd_attr = IPVS_CMD_ATTR_DEST, .dest_cb = cb, .arg = arg };
	struct nl_msg *msg;
	int err;

	if (!v || !s || !cb || !service_valid(s))
		return -EINVAL;
	c.service_af = s->af;
	if ((err = new_request(v, IPVS_CMD_GET_DEST, NLM_F_DUMP, &msg)) < 0)
		return err;
	if ((err = put_service(msg, s, false)) < 0) {
		nlmsg_free(msg);
		return err;
	}
	return dump(v, msg, &c);
}

int ipvs_daemons(struct ipvs *v, ipvs_daemon_cb cb, void *arg)
{
	struct dump_ctx c = { .cmd_attr = IPVS_CMD_ATTR_DAEMON, .daemon_cb = cb, .arg = arg };
	struct nl_msg *msg;
	int err;

	if (!v || !cb)
		return -EINVAL;
	if ((err = new_request(v, IPVS_CMD_GET_DAEMON, NLM_F_DUMP, &msg)) < 0)
		return err;
	return dump(v, msg, &c);
}

/* ---- one answer to one request (GET_CONFIG) ---- */

struct config_ctx {
	struct ipvs_timeouts *t;
	bool seen;			/* a reply came: its ack follows */
	bool got;			/* ... and it decoded */
	int err;
};

static int config_reply(struct nl_msg *msg, void *arg)
{
	struct config_ctx *c = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);

	c->seen = true;
	if (!genlmsg_valid_hdr(h, 0)) {
		c->err = -EPROTO;
		return NL_STOP;
	}
	c->err = ipvs_timeouts_decode(genlmsg_attrdata(nlmsg_data(h), 0),
				      (size_t)genlmsg_attrlen(nlmsg_data(h), 0), c->t);
	c->got = c->err == 0;
	return NL_STOP;
}

int ipvs_timeouts_get(struct ipvs *v, struct ipvs_timeouts *t)
{
	struct config_ctx c = { .t = t };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int nle, err;

	if (!v || !t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if ((err = new_request(v, IPVS_CMD_GET_CONFIG, 0, &msg)) < 0)
		return err;
	if (!(cb = nl_cb_clone(nl_socket_get_cb(v->ns.sk)))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, config_reply, &c);
	/* The reply, then the acknowledgement that libnl asked for: read
	 * both, so the next request's sequence numbers are in step. */
	nle = nl_send_auto(v->ns.sk, msg);
	nlmsg_free(msg);
	if (nle >= 0)
		nle = nl_recvmsgs(v->ns.sk, cb);
	nl_cb_put(cb);
	/* Even a reply that does not decode has its ack to read. */
	if (nle >= 0 && c.seen)
		nle = nl_wait_for_ack(v->ns.sk);
	if ((err = result(v, nle)) < 0)
		return err;
	if (c.err)
		return c.err;
	return c.got ? 0 : -EPROTO;
}

/* ---- names ---- */

static const char *protocol_name(uint16_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	case IPPROTO_SCTP: return "SCTP";
	default: return "?";
	}
}

const char *ipvs_service_name(const struct ipvs_service *s, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (s->fwmark)
		snprintf(buf, size, "FWM %u%s", s->fwmark, s->af == AF_INET6 ? " IPv6" : "");
	else if (s->af == AF_INET6)
		snprintf(buf, size, "%s [%s]:%u", protocol_name(s->protocol), ipaddr_ntop(&s->addr, a, sizeof(a)),
			 s->port);
	else
		snprintf(buf, size, "%s %s:%u", protocol_name(s->protocol), ipaddr_ntop(&s->addr, a, sizeof(a)),
			 s->port);
	return buf;
}

static const char *daemon_state_name(uint32_t state)
{
	return state == IPVS_DAEMON_MASTER ? "master" : state == IPVS_DAEMON_BACKUP ? "backup" : "?";
}

const char *ipvs_daemon_text(const struct ipvs_daemon *d, char *buf, size_t size)
{
	char g[INET6_ADDRSTRLEN] = "224.0.0.81", ml[24] = "";

	if (d->group.family)
		ipaddr_ntop(&d->group, g, sizeof(g));
	if (d->maxlen)
		snprintf(ml, sizeof(ml), ", maxlen %u", d->maxlen);
	snprintf(buf, size, "%s on %s, sync id %u, group %s%s%s:%u, ttl %u%s", daemon_state_name(d->state), d->ifname,
		 d->sync_id, d->group.family == AF_INET6 ? "[" : "", g, d->group.family == AF_INET6 ? "]" : "",
		 d->port ? d->port : IPVS_SYNC_PORT_DEFAULT, d->ttl ? d->ttl : 1, ml);
	return buf;
}

bool ipvs_daemon_same(const struct ipvs_daemon *want, const struct ipvs_daemon *running)
{
	struct ipaddr g = want->group;

	if (!g.family) {
		g.family = AF_INET;
		g.prefixlen = 32;
		g.u.v4.s_addr = htonl(SYNC_GROUP_DEFAULT);
	}
	if (running->group.family != g.family ||
	    memcmp(running->group.u.bytes, g.u.bytes, g.family == AF_INET ? 4 : 16) != 0)
		return false;
	return want->state == running->state && strcmp(want->ifname, running->ifname) == 0 &&
	       want->sync_id == running->sync_id &&
	       (want->port ? want->port : IPVS_SYNC_PORT_DEFAULT) == (running->port ? running->port : IPVS_SYNC_PORT_DEFAULT) &&
	       (want->ttl ? want->ttl : 1) == (running->ttl ? running->ttl : 1) &&
	       (!want->maxlen || want->maxlen == running->maxlen);
}
