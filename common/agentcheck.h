/* HAProxy agent-check protocol: one line of words separated by blanks or
 * commas, e.g. "up ready 75%", "drain", "down #vip missing", "maint".
 * Shared by rs-agent (which formats) and directord (which parses). */
#ifndef DSRKIT_AGENTCHECK_H
#define DSRKIT_AGENTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#define AGENT_REASON_MAX 128
#define AGENT_LINE_MAX 256

enum agent_state { AGENT_STATE_NONE, AGENT_STATE_UP, AGENT_STATE_DOWN, AGENT_STATE_FAIL, AGENT_STATE_STOPPED };
enum agent_admin { AGENT_ADMIN_NONE, AGENT_ADMIN_READY, AGENT_ADMIN_DRAIN, AGENT_ADMIN_MAINT };

struct agent_reply {
	enum agent_state state;
	enum agent_admin admin;
	int weight_pct;		/* -1 when absent; "75%" or "weight:75%" */
	int maxconn;		/* -1 when absent; "maxconn:30" */
	char reason[AGENT_REASON_MAX];	/* text after '#', trimmed */
	unsigned unknown_words;	/* words not understood (ignored, as HAProxy does) */
};

/* Parse one line (without or with trailing CR/LF; len bytes, need not be
 * NUL-terminated). Returns 0, or -EINVAL when the line holds nothing usable
 * (empty, NUL or control bytes, over AGENT_LINE_MAX, bad percentage). */
int agent_reply_parse(const char *line, size_t len, struct agent_reply *out);

/* Format as a line ending in "\n". Returns length, or -ENOSPC. */
int agent_reply_format(const struct agent_reply *r, char *buf, size_t size);

/* An agent's words as text safe to show anywhere (logs, status, JSON, a
 * terminal): blanks trimmed, tabs as spaces, every byte that is not
 * printable ASCII as '?', truncated to size - 1. */
void agent_text_copy(const char *s, size_t n, char *dst, size_t size);

/* A reply in one word, for counting replies by answer: what decides it
 * for a director, in the order directord applies them. */
enum agent_answer {
	AGENT_ANSWER_MAINT, AGENT_ANSWER_DOWN, AGENT_ANSWER_FAIL, AGENT_ANSWER_STOPPED, AGENT_ANSWER_DRAIN,
	AGENT_ANSWER_UP, AGENT_ANSWER_READY, AGENT_ANSWER_OTHER, AGENT_ANSWER_COUNT
};
enum agent_answer agent_reply_answer(const struct agent_reply *r);
const char *agent_answer_name(enum agent_answer a);	/* "maint", "down", ..., "other" */

const char *agent_state_name(enum agent_state s);
const char *agent_admin_name(enum agent_admin a);

#endif
