/* The body both engine processes share (vrrp_proc.c, lvs_proc.c): an
 * event loop of their own; the channel to the parent, never waited on
 * (what the parent cannot take yet is queued and sent as it reads);
 * SIGTERM and SIGINT; a reload read beside the loop and applied on it;
 * status replies of any size; the heartbeat's answer. What differs
 * between the engines is in struct engine_ops. */
#ifndef DSRKIT_ENGINE_PROC_H
#define DSRKIT_ENGINE_PROC_H

#include <stdbool.h>

#include "directord.h"
#include "evloop.h"
#include "ipc.h"
#include "json.h"

struct engine_proc;

struct engine_ops {
	const char *name;		/* "vrrp engine", in the log */
	const char *reload_log_prefix;	/* before "configuration reloaded (...)" */
	bool virtual_servers;		/* keeps them (the LVS engine); a reload finds the unchanged */
	unsigned reads_per_wake;	/* parent messages handled per wake-up */
	/* Start the engine on p->loop (p->engine set); log it; 0 or -errno. */
	int (*start)(struct engine_proc *p, const void *arg);
	void (*stop)(struct engine_proc *p);
	/* The status as members of the JSON object j, or (j NULL) as text. */
	void (*status)(struct engine_proc *p, struct json *j, struct strbuf *out);
	/* Its metrics (DIR_STATUS_METRICS). */
	void (*metrics)(struct engine_proc *p, struct strbuf *out);
	/* What `directorctl doctor` probes (DIR_STATUS_DOCTOR); NULL: nothing. */
	void (*doctor)(struct engine_proc *p, struct strbuf *out);
	/* Take fresh (then freed with the engine or at the next reload) and
	 * free the old configuration; or, having set p->reload_kept_old, stay
	 * wholly on the old one, which is kept, and fresh is freed. */
	int (*reload)(struct engine_proc *p, const struct director_config *fresh);
	/* A message of the engine's own; false when it does not know it. */
	bool (*message)(struct engine_proc *p, const struct ipc_msg *msg);
};

struct engine_proc {
	const struct engine_ops *ops;
	struct evloop *loop;
	struct director_config *cfg;
	void *engine;
	struct config_load *load;	/* a reload reading the file */
	uint32_t reload_id;		/* the parent's request it answers */
	bool reload_kept_old;		/* set by ops->reload: see there */
	int ipc_fd;
	bool watching_out;		/* EPOLLOUT on: the queue waits for the parent */
	struct ipc_outq out;
	uint8_t buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
};

/* Send to the parent, now or as soon as it reads. 0 or -errno. */
int engine_proc_send(struct engine_proc *p, uint16_t type, const void *data, size_t len);
/* An answer to the parent's request id: the id, then data. */
int engine_proc_answer(struct engine_proc *p, uint16_t type, uint32_t id, const void *data, size_t len);

/* Run the engine until DIR_IPC_STOP, SIGTERM, SIGINT or the parent's end
 * closing. Takes ownership of cfg. Returns an exit code. */
int engine_proc_run(const struct engine_ops *ops, struct director_config *cfg, int ipc_fd, const void *start_arg);

#endif
