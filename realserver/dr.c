/* The Direct Routing state of a real server: every VIP on the loopback (or
 * the configured interface), ARP sysctls that keep the server from answering
 * ARP for those VIPs. Apply, verify and remove all run against kernel_ops, so
 * this logic is tested without root against a fake kernel. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs-agent.h"

static const char *const conf_names[] = { "all", "default" };

void dr_report_init(struct dr_report *r)
{
	memset(r, 0, sizeof(*r));
}

void dr_report_free(struct dr_report *r)
{
	free(r->items);
	dr_report_init(r);
}

static void __attribute__((format(printf, 4, 5)))
report(struct dr_report *r, enum dr_severity sev, bool changed, const char *fmt, ...)
{
	struct dr_item *item;
	va_list ap;

	if (changed)
		r->changes++;
	if (sev > r->worst)
		r->worst = sev;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct dr_item *items = realloc(r->items, cap * sizeof(*items));

		if (!items) {
			r->errors++;
			return;
		}
		r->items = items;
		r->cap = cap;
	}
	item = &r->items[r->n++];
	item->severity = sev;
	item->changed = changed;
	va_start(ap, fmt);
	vsnprintf(item->text, sizeof(item->text), fmt, ap);
	va_end(ap);
	if (sev == DR_CRITICAL && !r->first_problem[0])
		strlcpy_safe(r->first_problem, item->text, sizeof(r->first_problem));
}

void dr_report_add(struct dr_report *r, enum dr_severity sev, const char *fmt, ...)
{
	char text[sizeof(((struct dr_item *)0)->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	report(r, sev, false, "%s", text);
}

static void report_error(struct dr_report *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_error(struct dr_report *r, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r->errors++;
	report(r, DR_CRITICAL, false, "%s: %s", what, strerror(-err));
}

/* The addresses on one interface, read once per pass: a config of a
 * thousand VIPs must not cost a thousand dumps. */
struct addr_set {
	struct rtnl_addrinfo *items;
	size_t n;
};

static int addr_set_read(struct kernel_ops *k, int ifindex, struct addr_set *set)
{
	return k->addr_list(k->ctx, ifindex, &set->items, &set->n);
}

static const struct rtnl_addrinfo *addr_set_find(const struct addr_set *set, const struct ipaddr *a)
{
	for (size_t i = 0; i < set->n; i++)
		if (ipaddr_equal(&set->items[i].addr, a))
			return &set->items[i];
	return NULL;
}

static bool addr_set_has(const struct addr_set *set, const struct ipaddr *a)
{
	return addr_set_find(set, a) != NULL;
}

static int vip_ifindex(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep)
{
	int ifindex = k->ifindex(k->ctx, cfg->interface);

	if (ifindex < 0)
		report_error(rep, ifindex, "interface %s for the VIPs", cfg->interface);
	return ifindex;
}

/* Remember what we found before the first change, never overwriting it:
 * a second apply must not record our own values as the originals. */
static int record_original(struct applied_state *st, const char *name, int arp_ignore, int arp_announce)
{
	struct sysctl_record *r = applied_state_sysctl(st, name, true);

	if (!r)
		return -ENOMEM;
	if (r->arp_ignore < 0 && arp_ignore >= 0) {
		r->arp_ignore = arp_ignore;
		st->dirty = true;
	}
	if (r->arp_announce < 0 && arp_announce >= 0) {
		r->arp_announce = arp_announce;
		st->dirty = true;
	}
	return 0;
}

static void apply_conf(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
		       const char *which, struct dr_report *rep)
{
	int ign, ann, want_ign = (int)cfg->arp_ignore, want_ann = (int)cfg->arp_announce, ret;

	ret = k->conf_get(k->ctx, which, &ign, &ann);
	if (ret < 0) {
		report_error(rep, ret, "reading conf/%s", which);
		return;
	}
	if (record_original(st, which, ign, ann) < 0)
		rep->errors++;
	if (ign == want_ign && ann == want_ann) {
		report(rep, DR_OK, false, "conf/%s: arp_ignore %d, arp_announce %d", which, ign, ann);
		return;
	}
	ret = k->conf_set(k->ctx, which, want_ign, want_ann);
	if (ret < 0)
		report_error(rep, ret, "setting conf/%s", which);
	else
		report(rep, DR_OK, true, "conf/%s: arp_ignore %d -> %d, arp_announce %d -> %d",
		       which, ign, want_ign, ann, want_ann);
}

static void apply_one_link(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
			   const struct rs_link *l, struct dr_report *rep)
{
	int want_ign = (int)cfg->arp_ignore, want_ann = (int)cfg->arp_announce, ret;

	if (l->arp_ignore < 0 || l->arp_announce < 0) {
		report(rep, DR_WARNING, false, "%s: the kernel reports no IPv4 settings", l->name);
		return;
	}
	if (record_original(st, l->name, l->arp_ignore, l->arp_announce) < 0)
		rep->errors++;
	if (l->arp_ignore == want_ign && l->arp_announce == want_ann) {
		report(rep, DR_OK, false, "%s: arp_ignore %d, arp_announce %d", l->name,
		       l->arp_ignore, l->arp_announce);
		return;
	}
	ret = k->link_set_arp(k->ctx, l->ifindex, want_ign, want_ann);
	if (ret < 0)
		report_error(rep, ret, "setting ARP sysctls on %s", l->name);
	else
		report(rep, DR_OK, true, "%s: arp_ignore %d -> %d, arp_announce %d -> %d", l->name,
		       l->arp_ignore, want_ign, l->arp_announce, want_ann);
}

static void apply_links(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
			int only_ifindex, struct dr_report *rep)
{
	struct rs_link *links;
	size_t n;
	int ret = k->links(k->ctx, &links, &n);

	if (ret < 0) {
		report_error(rep, ret, "listing interfaces");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (only_ifindex <= 0 || links[i].ifindex == only_ifindex)
			apply_one_link(cfg, k, st, &links[i], rep);
	free(links);
}

/* A VIP already there with exactly the label and prefix rs-agent gives
 * its own is one it added (before a restart, or in a run whose record it
 * could no longer write): record it, so remove takes it away. */
static void adopt_vip(struct applied_state *st, const struct rtnl_addrinfo *found, const struct ipaddr *vip,
		      const char *label, const char *ifname, struct dr_report *rep)
{
	char buf[INET6_ADDRSTRLEN];

	ipaddr_ntop(vip, buf, sizeof(buf));
	if (vip->family != AF_INET || applied_state_has_vip(st, vip) || strcmp(found->label, label) != 0 ||
	    found->addr.prefixlen != vip->prefixlen) {
		report(rep, DR_OK, false, "vip %s on %s", buf, ifname);
		return;
	}
	if (applied_state_add_vip(st, vip, label) < 0)
		rep->errors++;
	report(rep, DR_OK, false, "vip %s on %s, labelled %s: recorded as rs-agent's", buf, ifname, label);
}

/* The VIPs' interface and the addresses on it: its ifindex, or -1 with
 * the reason reported. */
static int vip_interface_read(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep,
			      struct addr_set *present)
{
	int ifindex = vip_ifindex(cfg, k, rep), ret;

	if (ifindex < 0)
		return -1;
	if ((ret = addr_set_read(k, ifindex, present)) < 0) {
		report_error(rep, ret, "listing the addresses on %s", cfg->interface);
		return -1;
	}
	return ifindex;
}

static void apply_vips(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
		       struct dr_report *rep)
{
	char label[32], buf[INET6_ADDRSTRLEN];
	struct addr_set present;
	int ifindex = vip_interface_read(cfg, k, rep, &present);

	if (ifindex < 0)
		return;
	rs_config_vip_label(cfg, label, sizeof(label));
	strlcpy_safe(st->vip_ifname, cfg->interface, sizeof(st->vip_ifname));
	for (size_t i = 0; i < cfg->vips.n; i++) {
		const struct ipaddr *vip = &cfg->vips.items[i];
		const struct rtnl_addrinfo *found = addr_set_find(&present, vip);
		int ret;

		if (found) {
			adopt_vip(st, found, vip, label, cfg->interface, rep);
			continue;
		}
		ipaddr_ntop(vip, buf, sizeof(buf));
		ret = k->addr_add(k->ctx, ifindex, vip, label);
		if (ret < 0) {
			report_error(rep, ret, "adding vip %s to %s", buf, cfg->interface);
			continue;
		}
		if (applied_state_add_vip(st, vip, vip->family == AF_INET ? label : "") < 0)
			rep->errors++;
		rep->vip_changes++;
		report(rep, DR_OK, true, "vip %s was missing on %s: added", buf, cfg->interface);
	}
	free(present.items);
}

int dr_record(struct kernel_ops *k, struct applied_state *st)
{
	struct rs_link *links;
	size_t n;
	int ign, ann, ret;

	for (size_t i = 0; i < ARRAY_SIZE(conf_names); i++) {
		ret = k->conf_get(k->ctx, conf_names[i], &ign, &ann);
		if (ret < 0)
			return ret;
		if (record_original(st, conf_names[i], ign, ann) < 0)
			return -ENOMEM;
	}
	ret = k->links(k->ctx, &links, &n);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n && ret == 0; i++)
		if (links[i].arp_ignore >= 0 && links[i].arp_announce >= 0)
			ret = record_original(st, links[i].name, links[i].arp_ignore, links[i].arp_announce);
	free(links);
	return ret;
}

/* The name of ifindex for a message ("ifindex N" when gone). */
static void link_name(struct kernel_ops *k, int ifindex, char *buf, size_t len)
{
	struct rs_link *links;
	size_t n;

	snprintf(buf, len, "ifindex %d", ifindex);
	if (k->links(k->ctx, &links, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (links[i].ifindex == ifindex)
			snprintf(buf, len, "%s", links[i].name);
	free(links);
}

/* The IPv6 counterpart of ARP flux: Linux answers neighbour solicitations
 * only for an interface's own addresses, and for its proxy-NDP entries
 * (with proxy_ndp and forwarding on it). An entry for a VIP would hand
 * the VIP's traffic to this server, past the directors. */
static void verify_proxies(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep)
{
	char buf[INET6_ADDRSTRLEN], name[IF_NAMESIZE + 16];
	struct rtnl_proxy *proxies;
	bool any_v6 = false;
	size_t n;
	int ret;

	for (size_t i = 0; i < cfg->vips.n; i++)
		any_v6 |= cfg->vips.items[i].family == AF_INET6;
	if (!any_v6 || !k->proxy_list)
		return;
	ret = k->proxy_list(k->ctx, &proxies, &n);
	if (ret < 0) {
		report_error(rep, ret, "reading the proxy-NDP entries");
		return;
	}
	for (size_t i = 0; i < cfg->vips.n; i++)
		for (size_t j = 0; j < n; j++) {
			if (!ipaddr_equal(&proxies[j].addr, &cfg->vips.items[i]))
				continue;
			ipaddr_ntop(&cfg->vips.items[i], buf, sizeof(buf));
			link_name(k, proxies[j].ifindex, name, sizeof(name));
			report(rep, DR_CRITICAL, false,
			       "vip %s: a proxy-NDP entry on %s answers for it (ip -6 neigh del proxy %s dev %s)",
			       buf, name, buf, name);
		}
	free(proxies);
}

int dr_apply(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
	     struct dr_report *rep)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_names); i++)
		apply_conf(cfg, k, st, conf_names[i], rep);
	apply_links(cfg, k, st, 0, rep);
	apply_vips(cfg, k, st, rep);
	verify_proxies(cfg, k, rep);	/* not ours to change: reported */
	return rep->errors ? -EIO : 0;
}

int dr_apply_link(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
		  int ifindex, struct dr_report *rep)
{
	apply_links(cfg, k, st, ifindex, rep);
	return rep->errors ? -EIO : 0;
}

static void fact(struct dr_report *rep, enum dr_item_kind kind, const char *subject, const char *sysctl, int value,
		 bool ok)
{
	struct dr_fact f = { kind, subject, sysctl, value, ok };

	if (rep->on_fact)
		rep->on_fact(&f, rep->fact_arg);
}

/* Both ARP sysctls of one place, each against what is wanted. */
static void fact_arp(struct dr_report *rep, const struct rs_config *cfg, const char *subject, int ign, int ann)
{
	fact(rep, DR_ITEM_SYSCTL, subject, "arp_ignore", ign, ign == (int)cfg->arp_ignore);
	fact(rep, DR_ITEM_SYSCTL, subject, "arp_announce", ann, ann == (int)cfg->arp_announce);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* Severity of an effective value against the configured one: lower than
 * configured lets the server answer ARP for the VIP (ARP flux). */
static enum dr_severity compare_effective(int effective, unsigned want)
{
	if (effective < (int)want)
		return DR_CRITICAL;
	return effective == (int)want ? DR_OK : DR_WARNING;
}

static void verify_link(const struct rs_config *cfg, const struct rs_link *l, int all_ign, int all_ann,
			struct dr_report *rep)
{
	int eff_ign = max_int(all_ign, l->arp_ignore), eff_ann = max_int(all_ann, l->arp_announce);
	enum dr_severity s_ign = compare_effective(eff_ign, cfg->arp_ignore);
	enum dr_severity s_ann = compare_effective(eff_ann, cfg->arp_announce);
	enum dr_severity sev = s_ign > s_ann ? s_ign : s_ann;

	if (l->arp_ignore < 0 || l->arp_announce < 0) {
		report(rep, DR_WARNING, false, "%s: the kernel reports no IPv4 settings", l->name);
		return;
	}
	fact_arp(rep, cfg, l->name, eff_ign, eff_ann);
	if (sev == DR_OK && (l->arp_ignore != (int)cfg->arp_ignore ||
			     l->arp_announce != (int)cfg->arp_announce))
		sev = DR_WARNING;	/* right only thanks to conf/all */
	if (sev == DR_OK)
		report(rep, DR_OK, false, "%s: arp_ignore %d, arp_announce %d", l->name, eff_ign, eff_ann);
	else
		report(rep, sev, false, "%s: arp_ignore %d (effective %d, want %u), arp_announce %d (effective %d, want %u)",
		       l->name, l->arp_ignore, eff_ign, cfg->arp_ignore, l->arp_announce, eff_ann,
		       cfg->arp_announce);
}

static void verify_sysctls(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep)
{
	int all_ign = 0, all_ann = 0, ign, ann, ret;
	struct rs_link *links;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(conf_names); i++) {
		ret = k->conf_get(k->ctx, conf_names[i], &ign, &ann);
		if (ret < 0) {
			report_error(rep, ret, "reading conf/%s", conf_names[i]);
			continue;
		}
		if (i == 0) {
			all_ign = ign;
			all_ann = ann;
		}
		fact_arp(rep, cfg, conf_names[i], ign, ann);
		if (ign == (int)cfg->arp_ignore && ann == (int)cfg->arp_announce)
			report(rep, DR_OK, false, "conf/%s: arp_ignore %d, arp_announce %d", conf_names[i], ign, ann);
		else
			report(rep, DR_WARNING, false, "conf/%s: arp_ignore %d (want %u), arp_announce %d (want %u)",
			       conf_names[i], ign, cfg->arp_ignore, ann, cfg->arp_announce);
	}
	ret = k->links(k->ctx, &links, &n);
	if (ret < 0) {
		report_error(rep, ret, "listing interfaces");
		return;
	}
	for (size_t i = 0; i < n; i++)
		verify_link(cfg, &links[i], all_ign, all_ann, rep);
	free(links);
}

static void verify_vips(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep)
{
	char buf[INET6_ADDRSTRLEN];
	struct addr_set present;
	int ifindex = vip_interface_read(cfg, k, rep, &present);

	if (ifindex < 0)
		return;
	for (size_t i = 0; i < cfg->vips.n; i++) {
		ipaddr_ntop(&cfg->vips.items[i], buf, sizeof(buf));
		fact(rep, DR_ITEM_VIP, buf, NULL, addr_set_has(&present, &cfg->vips.items[i]),
		     addr_set_has(&present, &cfg->vips.items[i]));
		if (addr_set_has(&present, &cfg->vips.items[i]))
			report(rep, DR_OK, false, "vip %s on %s", buf, cfg->interface);
		else
			report(rep, DR_CRITICAL, false, "vip %s missing on %s", buf, cfg->interface);
	}
	free(present.items);
}

int dr_verify(const struct rs_config *cfg, struct kernel_ops *k, struct dr_report *rep)
{
	verify_vips(cfg, k, rep);
	verify_proxies(cfg, k, rep);
	verify_sysctls(cfg, k, rep);
	return rep->errors ? -EIO : 0;
}

/* Why the address the kernel has is not the one recorded, or NULL when it
 * is: same prefix length, and for IPv4 the recorded label, which must be
 * one rs-agent sets ("IF:..."). */
static const char *not_ours(const struct applied_vip *v, const struct rtnl_addrinfo *found, const char *ifname,
			    char *why, size_t size)
{
	size_t n = strlen(ifname);

	if (found->addr.prefixlen != v->addr.prefixlen)
		snprintf(why, size, "the kernel has it as /%u, recorded /%u", found->addr.prefixlen,
			 v->addr.prefixlen);
	else if (v->addr.family == AF_INET && (strncmp(v->label, ifname, n) != 0 || v->label[n] != ':'))
		snprintf(why, size, "recorded label '%s' is not one rs-agent sets on %s", v->label, ifname);
	else if (v->addr.family == AF_INET && strcmp(found->label, v->label) != 0)
		snprintf(why, size, "its label is '%s', recorded '%s'", found->label, v->label);
	else
		return NULL;
	return why;
}

static void remove_vip(struct kernel_ops *k, int ifindex, const char *ifname, const struct addr_set *present,
		       const struct applied_vip *v, struct dr_report *rep)
{
	const struct rtnl_addrinfo *found = addr_set_find(present, &v->addr);
	char buf[INET6_ADDRSTRLEN], why[96];
	int ret;

	ipaddr_ntop(&v->addr, buf, sizeof(buf));
	if (!found) {
		report(rep, DR_OK, false, "vip %s already absent from %s", buf, ifname);
		return;
	}
	if (not_ours(v, found, ifname, why, sizeof(why))) {
		report(rep, DR_WARNING, false, "vip %s on %s left alone: %s", buf, ifname, why);
		return;
	}
	ret = k->addr_del(k->ctx, ifindex, &v->addr);
	if (ret < 0)
		report_error(rep, ret, "removing vip %s from %s", buf, ifname);
	else
		report(rep, DR_OK, true, "vip %s removed from %s", buf, ifname);
}

/* Remove the recorded VIPs that `keep` does not want (all when keep is
 * NULL) and forget them in st. */
static void remove_recorded_vips(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
				 bool (*keep)(const struct rs_config *cfg, const struct ipaddr *a),
				 struct dr_report *rep)
{
	const char *ifname = st->vip_ifname;
	struct addr_set present = { NULL, 0 };
	int ifindex, ret;

	if (st->nvips == 0)
		return;
	ifindex = k->ifindex(k->ctx, ifname);
	if (ifindex < 0) {
		report(rep, DR_OK, false, "%s is gone, and its VIPs with it", ifname);
	} else {
		ret = addr_set_read(k, ifindex, &present);
		if (ret < 0) {
			report_error(rep, ret, "listing the addresses on %s", ifname);
			return;
		}
	}
	for (size_t i = st->nvips; i-- > 0;) {
		struct applied_vip vip = st->vips[i];
		unsigned errors = rep->errors;

		if (keep && keep(cfg, &vip.addr))
			continue;
		if (ifindex > 0)
			remove_vip(k, ifindex, ifname, &present, &vip, rep);
		if (rep->errors == errors)
			applied_state_del_vip(st, &vip.addr);
	}
	free(present.items);
}

static void restore_link(struct kernel_ops *k, const struct sysctl_record *r, const struct rs_link *links,
			 size_t n, struct dr_report *rep)
{
	for (size_t i = 0; i < n; i++) {
		const struct rs_link *l = &links[i];
		int ret;

		if (strcmp(l->name, r->ifname) != 0)
			continue;
		if (l->arp_ignore == r->arp_ignore && l->arp_announce == r->arp_announce) {
			report(rep, DR_OK, false, "%s: arp_ignore %d, arp_announce %d already", l->name,
			       l->arp_ignore, l->arp_announce);
			return;
		}
		ret = k->link_set_arp(k->ctx, l->ifindex, r->arp_ignore, r->arp_announce);
		if (ret < 0)
			report_error(rep, ret, "restoring ARP sysctls on %s", l->name);
		else
			report(rep, DR_OK, true, "%s: arp_ignore %d -> %d, arp_announce %d -> %d", l->name,
			       l->arp_ignore, r->arp_ignore, l->arp_announce, r->arp_announce);
		return;
	}
	report(rep, DR_OK, false, "%s is gone; nothing to restore", r->ifname);
}

static void restore_conf(struct kernel_ops *k, const struct sysctl_record *r, struct dr_report *rep)
{
	int ign, ann, ret = k->conf_get(k->ctx, r->ifname, &ign, &ann);

	if (ret < 0) {
		report_error(rep, ret, "reading conf/%s", r->ifname);
		return;
	}
	if (ign == r->arp_ignore && ann == r->arp_announce) {
		report(rep, DR_OK, false, "conf/%s: arp_ignore %d, arp_announce %d already", r->ifname, ign, ann);
		return;
	}
	ret = k->conf_set(k->ctx, r->ifname, r->arp_ignore, r->arp_announce);
	if (ret < 0)
		report_error(rep, ret, "restoring conf/%s", r->ifname);
	else
		report(rep, DR_OK, true, "conf/%s: arp_ignore %d -> %d, arp_announce %d -> %d", r->ifname,
		       ign, r->arp_ignore, ann, r->arp_announce);
}

static bool is_conf_name(const char *name)
{
	return strcmp(name, "all") == 0 || strcmp(name, "default") == 0;
}

int dr_remove(struct kernel_ops *k, struct applied_state *st, struct dr_report *rep)
{
	struct rs_link *links = NULL;
	size_t n = 0;
	int ret;

	remove_recorded_vips(NULL, k, st, NULL, rep);
	ret = k->links(k->ctx, &links, &n);
	if (ret < 0)
		report_error(rep, ret, "listing interfaces");
	/* Devices first, then conf/default and conf/all, the reverse of apply. */
	for (size_t i = 0; i < st->nsysctls; i++)
		if (!is_conf_name(st->sysctls[i].ifname) && ret == 0)
			restore_link(k, &st->sysctls[i], links, n, rep);
	for (size_t i = st->nsysctls; i-- > 0;)
		if (is_conf_name(st->sysctls[i].ifname))
			restore_conf(k, &st->sysctls[i], rep);
	free(links);
	if (rep->errors)
		return -EIO;
	applied_state_free(st);
	return 0;
}

static bool vip_configured(const struct rs_config *cfg, const struct ipaddr *a)
{
	for (size_t i = 0; i < cfg->vips.n; i++)
		if (ipaddr_equal(&cfg->vips.items[i], a))
			return true;
	return false;
}

int dr_prune_vips(const struct rs_config *cfg, struct kernel_ops *k, struct applied_state *st,
		  struct dr_report *rep)
{
	bool moved = st->vip_ifname[0] && strcmp(st->vip_ifname, cfg->interface) != 0;

	/* A recorded VIP stays while it is configured on the same interface. */
	remove_recorded_vips(cfg, k, st, moved ? NULL : vip_configured, rep);
	return rep->errors ? -EIO : 0;
}

void dr_default_labels(const struct rs_config *cfg, struct applied_state *st)
{
	char label[32];

	if (strcmp(st->vip_ifname, cfg->interface) != 0)
		return;
	rs_config_vip_label(cfg, label, sizeof(label));
	for (size_t i = 0; i < st->nvips; i++)
		if (st->vips[i].addr.family == AF_INET && !st->vips[i].label[0])
			strlcpy_safe(st->vips[i].label, label, sizeof(st->vips[i].label));
}
