/* What crosses directord's process boundaries, and nothing else: the
 * control socket's request words (directorctl <-> the parent), the
 * messages between the parent and its engines, and the VRRP state record
 * the parent relays. directorctl includes this header and common/ alone,
 * never daemon code; the daemon's parts include it through directord.h. */
#ifndef DSRKIT_DIRECTOR_PROTO_H
#define DSRKIT_DIRECTOR_PROTO_H

#include <stdint.h>

#include "confdir.h"

#define DIRECTORD_CONF DSRKIT_CONFDIR "/director.ini"
#define DIRECTORD_SOCKET "/run/dsrkit/directord.sock"	/* global.control_socket's default */
#define DIRECTORD_STATE_DIR "/var/lib/dsrkit/director"	/* global.state_dir's default */

/* ---- the control socket: one request line of blank-separated words ---- */

#define CTL_WORD_STATUS "status"	/* status [json] */
#define CTL_WORD_JSON "json"
#define CTL_WORD_RELOAD "reload"	/* reload */
#define CTL_WORD_DRAIN "drain"		/* drain SERVICE SERVER */
#define CTL_WORD_ENABLE "enable"	/* enable SERVICE SERVER */
#define CTL_WORD_DRAIN_DIRECTOR "drain-director"	/* withdraw every announced VIP */
#define CTL_WORD_ENABLE_DIRECTOR "enable-director"	/* announce them again */
#define CTL_WORD_DOCTOR "doctor"	/* doctor: what `directorctl doctor` probes (below) */
#define CTL_WORD_MAX 100		/* bytes in one word of a request */

/* Messages between the parent and the engines (common/ipc.h). A request
 * carries an id that its answer repeats first (uint32_t), so the parent
 * routes every answer to the request it belongs to and never waits for
 * one: a late answer to a request that ran out of time is recognized and
 * dropped. */
enum dir_ipc_type {
	DIR_IPC_STATE = 1,		/* engine -> parent: struct dir_ipc_state */
	DIR_IPC_STATUS_REQ,		/* parent -> engine: struct dir_ipc_status_req */
	DIR_IPC_STATUS_REPLY,		/* engine -> parent: id, then the text */
	DIR_IPC_RELOAD,			/* parent -> engine: apply the validated configuration:
					 * struct dir_ipc_reload, with its image's memfd */
	DIR_IPC_RELOAD_REPLY,		/* engine -> parent: struct dir_ipc_result */
	DIR_IPC_STOP,			/* parent -> engine: leave (priority 0) and exit */
	DIR_IPC_VRRP_STATE,		/* parent -> LVS engine: struct dir_ipc_state, relayed */
	DIR_IPC_ADMIN,			/* parent -> LVS engine: struct dir_ipc_admin */
	DIR_IPC_ADMIN_REPLY,		/* LVS engine -> parent: id, then "" (done) or the error text */
	DIR_IPC_STATUS_PART,		/* engine -> parent: id, then a piece of a status larger than
					 * one message; more follow, the last is DIR_IPC_STATUS_REPLY */
	DIR_IPC_PING,			/* parent -> engine: uint64_t, the parent's now_ms() (the heartbeat) */
	DIR_IPC_PONG,			/* engine -> parent: the same, from the engine's loop */
	DIR_IPC_DIRECTOR,		/* parent -> LVS engine: struct dir_ipc_director */
	DIR_IPC_DIRECTOR_REPLY,		/* LVS engine -> parent: id, then the text for directorctl
					 * (DIR_DIRECTOR_PACKETS line included) or "error: ..." */
};

/* directorctl drain-director / enable-director. Idempotent, so that
 * drain-director --wait asks again to read the packet counter, whose line
 * in the answer starts with DIR_DIRECTOR_PACKETS. */
struct dir_ipc_director {
	uint32_t id;
	uint32_t drained;		/* 1: drain, 0: enable */
};
#define DIR_DIRECTOR_PACKETS "announced services' packets: "

/* The largest status the parent accepts in pieces (10,000 virtual servers
 * with their real servers fit). */
#define DIR_STATUS_MAX (16 * 1024 * 1024)

struct dir_ipc_status_req {
	uint32_t id;
	uint32_t json;			/* 0: text, 1: JSON members, DIR_STATUS_METRICS */
};
/* The engine's metrics in Prometheus' text format: its own families,
 * which the parent puts after its own for a scrape of metrics_listen
 * (an empty answer: the engine could not give them). */
#define DIR_STATUS_METRICS 2
/* The LVS engine's answer to `doctor`: what `directorctl doctor` probes,
 * one record a line, words separated by one blank (names and addresses
 * hold none; the text of a trap is the rest of its line):
 *   vrrp NAME IFNAME VRID STATE VIP...     STATE: vrrp_state_name(), or "-"
 *   vs NAME tcp|udp|sctp ADDR PORT         ADDR "-" and PORT 0 for a fwmark service
 *   rs ADDR PORT dr|nat|tun AGENT_PORT     a real server of the last vs; AGENT_PORT 0: none
 *   trap TEXT                              a warning of `directord -t` (the IPVS traps)
 * Any other first word is for a later directorctl to read: skipped. */
#define DIR_STATUS_DOCTOR 3

/* directorctl drain|enable SERVICE SERVER. */
struct dir_ipc_admin {
	uint32_t id;
	char service[64];
	char server[64];		/* "ADDR:PORT" or "ADDR" */
	int32_t admin;			/* enum lvs_admin */
};

/* A reload. The configuration the parent's check child validated comes
 * with it as an image (director/config/config_image.c) in a sealed memfd
 * (SCM_RIGHTS): an engine never reads the file, so it runs exactly what
 * was checked. */
struct dir_ipc_reload {
	uint32_t id;
	uint32_t reserved;		/* 0 */
};

struct dir_ipc_result {
	uint32_t id;
	int32_t result;			/* 0 or -errno */
};

struct dir_ipc_state {
	char instance[64];
	int32_t state;			/* enum vrrp_state */
	int32_t priority;
};

#endif
