/* directord: the director daemon (VRRP failover, IPVS with health checks).
 * What its parts share: the configuration (config/config.h), the LVS
 * engine (lvs/lvs.h), the VRRP engine's entry points and the processes'
 * (this file), the messages between them (proto.h). */
#ifndef DIRECTORD_H
#define DIRECTORD_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ini.h"
#include "lvs.h"
#include "parse.h"
#include "proto.h"
#include "util.h"

/* ---- the VRRP engine (vrrp_engine.c) ---- */

struct evloop;
struct ipc_msg;
struct json;
struct vrrp_engine;
struct vrrp_kernel_ops;

/* Called on every state change of an instance (for the parent). */
typedef void (*vrrp_state_cb)(const char *instance, int state, int priority, void *arg);

/* Open sockets, start tracking and start every instance (after its
 * startup_delay), talking to the kernel through kernel (vrrp_kernel_linux,
 * or a test's). cfg must outlive the engine (until reload/stop). */
int vrrp_engine_start(struct evloop *loop, const struct director_config *cfg, vrrp_state_cb cb, void *arg,
		      const struct vrrp_kernel_ops *kernel, struct vrrp_engine **out);
/* Leave: every master sends priority 0 and removes its VIPs. */
void vrrp_engine_stop(struct vrrp_engine *e);
/* Status of every instance and track, as JSON object members / text. */
void vrrp_engine_status_json(const struct vrrp_engine *e, struct json *j);
void vrrp_engine_status_text(const struct vrrp_engine *e, struct strbuf *out);
/* Its metrics in Prometheus' text format, at now (now_ms()'s clock). */
void vrrp_engine_metrics(const struct vrrp_engine *e, uint64_t now, struct strbuf *out);

/* ---- processes (parent.c, vrrp_proc.c, lvs_proc.c) ---- */

/* The VRRP engine process: runs until DIR_IPC_STOP, SIGTERM or the
 * parent's end of fd closing. Takes ownership of cfg. Returns an exit code. */
int vrrp_proc_main(struct director_config *cfg, int ipc_fd);

/* The heartbeat's rules (parent.c), pure for tests. The bound for an
 * engine: as configured (0: off), at least 30s for the LVS engine. One
 * step at now, with the unanswered ping sent at *ping_ms (0: none): true
 * when the engine is stuck; else *ping_ms is the ping to send (now when
 * there was none) and *next_ms when to look again, from now. */
uint64_t heartbeat_timeout_for(uint64_t configured, bool lvs);
bool heartbeat_step(uint64_t *ping_ms, uint64_t now, uint64_t timeout, uint64_t *next_ms);

/* How long a check child may take over director.ini, at start and on a
 * reload, before it is killed and the file refused. */
#define CONFIG_CHECK_TIMEOUT_MS 30000

/* The parent: control socket, supervision of the engines, reload, stop.
 * cfg is the configuration without its virtual servers, image the whole
 * of it (config_image.c): parent_main owns both. */
int parent_main(struct director_config *cfg, int image, bool detach);

/* Reload an engine with a new configuration: instances whose settings did
 * not change keep their state and VIPs. cfg must outlive the engine.
 * -errno: it stayed on the old configuration (out of memory). */
int vrrp_engine_reload(struct vrrp_engine *e, const struct director_config *cfg);

#endif
