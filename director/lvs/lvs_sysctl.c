/* The IPVS sysctls of net.ipv4.vs that decide what happens to
 * connections when real servers come and go ([global] ipvs_expire_*,
 * ipvs_sloppy_*, ipvs_conn_reuse_mode). Only those the configuration
 * gives are ever written: the rest are the host's business. They exist
 * once the ip_vs module is loaded, so they are set after IPVS opened, at
 * start and at every reload, through the engine's kernel seam. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "lvs_engine_int.h"
#include "sysctl.h"

int lve_sysctl_get(const char *name, int *value)
{
	char path[96];

	snprintf(path, sizeof(path), "net/ipv4/vs/%s", name);
	return sysctl_read_int(path, value);
}

int lve_sysctl_set(const char *name, int value)
{
	char path[96];

	snprintf(path, sizeof(path), "net/ipv4/vs/%s", name);
	return sysctl_write_int(path, value);
}

/* The reason, with what usually causes it. */
static const char *sysctl_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such sysctl (ip_vs not loaded, or a kernel without it)";
	case -EROFS:
		return "/proc/sys is read-only here (systemd's ProtectKernelTunables= needs "
		       "ReadWritePaths=/proc/sys/net/ipv4/vs, which exists only once ip_vs is loaded)";
	case -EACCES:
	case -EPERM:
		return "permission denied (writing it takes CAP_NET_ADMIN in the network namespace)";
	default:
		return strerror(-err);
	}
}

/* Write one when the kernel has another value; say a failure once. */
static void sysctl_apply(struct lvs_engine *e, enum lvs_sysctl s)
{
	const struct lvs_sysctl_def *d = &lvs_sysctl_defs[s];
	int want = (int)e->cfg->lvs.sysctl[s].value, have = -1, ret;

	if (e->k->sysctl_get(d->name, &have) == 0 && have == want) {
		if (e->sysctl_err[s])
			log_info("ipvs: net.ipv4.vs.%s = %d now", d->name, want);
		else
			log_debug("ipvs: net.ipv4.vs.%s already %d", d->name, want);
		e->sysctl_err[s] = 0;
		return;
	}
	if ((ret = e->k->sysctl_set(d->name, want)) < 0) {
		if (ret != e->sysctl_err[s])
			log_warnx("ipvs: setting net.ipv4.vs.%s = %d (%s): %s", d->name, want, d->key,
				  sysctl_strerror(ret));
		e->sysctl_err[s] = ret;
		return;
	}
	log_info("ipvs: net.ipv4.vs.%s = %d (was %d)", d->name, want, have);
	e->sysctl_err[s] = 0;
}

void lve_sysctls_apply(struct lvs_engine *e)
{
	for (int s = 0; s < LVS_SYSCTL_N; s++) {
		if (e->cfg->lvs.sysctl[s].set)
			sysctl_apply(e, (enum lvs_sysctl)s);
		else
			e->sysctl_err[s] = 0;	/* not ours any more */
	}
}

/* Each sysctl as the kernel has it, what the configuration asks (null:
 * nothing, the kernel's is left), and why the last write failed. */
static void sysctl_json(const struct lvs_engine *e, struct json *j, enum lvs_sysctl s)
{
	const struct opt_uint *want = &e->cfg->lvs.sysctl[s];
	int have;

	json_object_begin(j, lvs_sysctl_defs[s].name);
	if (e->k->sysctl_get(lvs_sysctl_defs[s].name, &have) == 0)
		json_int(j, "value", have);
	else
		json_null(j, "value");
	if (want->set)
		json_uint(j, "configured", want->value);
	else
		json_null(j, "configured");
	json_string(j, "error", e->sysctl_err[s] ? sysctl_strerror(e->sysctl_err[s]) : NULL);
	json_object_end(j);
}

static void sysctl_text(const struct lvs_engine *e, struct strbuf *out, enum lvs_sysctl s)
{
	const struct opt_uint *want = &e->cfg->lvs.sysctl[s];
	int have;

	if (e->k->sysctl_get(lvs_sysctl_defs[s].name, &have) == 0)
		sb_printf(out, " %s %d", lvs_sysctl_defs[s].name, have);
	else
		sb_printf(out, " %s ?", lvs_sysctl_defs[s].name);
	if (want->set)
		sb_printf(out, " (configured %u)", want->value);
	sb_append(out, s + 1 < LVS_SYSCTL_N ? "," : "\n");
}

void lve_sysctls_status(const struct lvs_engine *e, struct json *j, struct strbuf *out)
{
	if (j) {
		json_object_begin(j, "sysctls");
		for (int s = 0; s < LVS_SYSCTL_N; s++)
			sysctl_json(e, j, (enum lvs_sysctl)s);
		json_object_end(j);
		return;
	}
	sb_append(out, "sysctls:");
	for (int s = 0; s < LVS_SYSCTL_N; s++)
		sysctl_text(e, out, (enum lvs_sysctl)s);
	for (int s = 0; s < LVS_SYSCTL_N; s++)
		if (e->sysctl_err[s])
			sb_printf(out, "  error setting %s = %u: %s\n", lvs_sysctl_defs[s].name,
				  e->cfg->lvs.sysctl[s].value, sysctl_strerror(e->sysctl_err[s]));
}
