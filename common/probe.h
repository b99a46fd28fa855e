/* One health probe: tcp, http, https, script or agent, attempted every interval
 * on the caller's event loop, never blocking it. directord's checks of
 * its real servers and rs-agent's checks of its own service are this one
 * implementation, so a check means the same on both sides. */
#ifndef DSRKIT_PROBE_H
#define DSRKIT_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "agentcheck.h"
#include "parse.h"

#define HC_REASON_MAX 128

enum hc_type {
	HC_NONE,
	HC_TCP,			/* connect() succeeds */
	HC_HTTP,		/* GET, status in range, optional body substring */
	HC_SCRIPT,		/* exit 0 up; with dynamic_weight 2..255 set the weight */
	HC_AGENT,		/* an agent-check line */
	HC_HTTPS,		/* http over TLS (1.2 at least) */
};

/* What to probe: built by the engine from a virtual server and a real
 * server (overrides applied), by rs-agent from a local check. Strings are
 * borrowed from the config and must outlive the probe. */
struct hc_spec {
	int type;			/* enum hc_type */
	struct ipaddr addr;
	uint16_t port;
	/* Sockets leave from it (a director's own address, never a VIP that
	 * the server it checks holds too); family 0: the kernel's choice. */
	struct ipaddr source;
	uint64_t interval_ms;
	uint64_t timeout_ms;
	uint64_t first_delay_ms;	/* before the first attempt (spreads a start) */
	const char *path, *host;	/* http, https (host is also the TLS server name) */
	const char *user_agent;		/* http; NULL: "dsrkit" */
	unsigned status_lo, status_hi;	/* http */
	const char *body;		/* http, NULL: any */
	/* https: the TLS context (tls_client_get: CA to verify against, the
	 * client's certificate), the probe takes a reference of its own; NULL:
	 * no verification and no client certificate. */
	struct tls_client *tls;
	const char *command;		/* script */
	char *const *env;		/* script: extra "NAME=value" strings, NULL-terminated; may be NULL */
	bool dynamic_weight;		/* script */
	const char *script_user;	/* script: run as (when root); NULL: the caller's */
};

enum hc_result { HC_PASS, HC_FAIL };

struct hc_outcome {
	enum hc_result result;
	int weight;			/* script with dynamic_weight: exit-2; else -1 */
	bool have_agent;		/* agent probes: the line was parsed */
	struct agent_reply agent;
	char reason[HC_REASON_MAX];	/* "connect: Connection refused", "HTTP 503", "exit 1", ... */
	uint64_t duration_ms;
};

struct hc_probe;
struct evloop;
struct tls_client;
typedef void (*hc_done_cb)(struct hc_probe *p, const struct hc_outcome *o, void *arg);

/* Start attempts every interval (the first after first_delay); cb runs
 * once per attempt, from the loop. Nothing blocks: sockets are
 * non-blocking, scripts are children with the timeout as their limit. */
int hc_probe_start(struct evloop *loop, const struct hc_spec *spec, hc_done_cb cb, void *arg,
		   struct hc_probe **out);
/* Stop and free (an attempt in flight is abandoned; a script is killed). */
void hc_probe_stop(struct hc_probe *p);
/* "http 198.18.0.11:80/" for status. */
const char *hc_probe_target(const struct hc_probe *p);

#endif
