/* [track_process]: matching a process and the verdict on a count, pure
 * (proctrack.h). Names match exactly, as keepalived's track_process and
 * `pgrep -x` do: `haproxy` is not `haproxy-wrapper`. */
#include <string.h>

#include "proctrack.h"

bool proc_match_needs_cmdline(const struct track_process_conf *t)
{
	return t->full_command || t->args;
}

/* The NUL-terminated word at *pos in buf[0..len), its end at len when the
 * last NUL is missing; false past the end. */
static bool next_word(const char *buf, size_t len, size_t *pos, const char **word, size_t *wlen)
{
	const char *end;

	if (*pos >= len)
		return false;
	*word = buf + *pos;
	end = memchr(*word, '\0', len - *pos);
	*wlen = end ? (size_t)(end - *word) : len - *pos;
	*pos += *wlen + 1;
	return true;
}

/* The next blank-separated word of args at *p, or false. */
static bool next_arg(const char **p, const char **word, size_t *wlen)
{
	const char *s = *p + strspn(*p, " \t");

	if (!*s)
		return false;
	*word = s;
	*wlen = strcspn(s, " \t");
	*p = s + *wlen;
	return true;
}

static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static bool name_matches(const struct track_process_conf *t, const char *argv0, size_t len)
{
	const char *base = argv0;

	if (!strchr(t->process, '/')) {
		for (size_t i = 0; i < len; i++)
			if (argv0[i] == '/')
				base = argv0 + i + 1;
		len -= (size_t)(base - argv0);
	}
	return same(base, len, t->process, strlen(t->process));
}

/* The process's arguments (cmdline after argv[0], from pos) against
 * t->args, word by word: exact, all of them; partial, the first ones
 * (more may follow); initial, all of them, the last one a prefix. */
static bool args_match(const struct track_process_conf *t, const char *cmdline, size_t len, size_t pos)
{
	const char *want = t->args, *w, *have;
	size_t wlen, hlen;
	bool more = next_arg(&want, &w, &wlen);

	while (more) {
		const char *cur = w;
		size_t curlen = wlen;

		if (!next_word(cmdline, len, &pos, &have, &hlen))
			return false;		/* fewer arguments than asked */
		more = next_arg(&want, &w, &wlen);
		if (!more && t->param_match == PARAM_MATCH_INITIAL) {
			if (hlen < curlen || memcmp(have, cur, curlen) != 0)
				return false;
		} else if (!same(have, hlen, cur, curlen)) {
			return false;
		}
	}
	return t->param_match == PARAM_MATCH_PARTIAL || pos >= len;
}

bool proc_match(const struct track_process_conf *t, const char *comm, size_t comm_len, const char *cmdline,
		size_t cmdline_len)
{
	const char *argv0;
	size_t pos = 0, len;

	if (!proc_match_needs_cmdline(t)) {
		const char *nul = memchr(comm, '\0', comm_len);

		if (nul)
			comm_len = (size_t)(nul - comm);
		if (comm_len && comm[comm_len - 1] == '\n')
			comm_len--;
		return same(comm, comm_len, t->process, strlen(t->process));
	}
	/* An empty command line: a kernel thread or a zombie. */
	if (!next_word(cmdline, cmdline_len, &pos, &argv0, &len) || len == 0 || !name_matches(t, argv0, len))
		return false;
	return !t->args || args_match(t, cmdline, cmdline_len, pos);
}

/* Is comm (stripped) the kernel's cut of name's base name, as exec sets it? */
static bool comm_is_base(const char *comm, size_t comm_len, const char *name, size_t len)
{
	const char *base = name;

	for (size_t i = 0; i < len; i++)
		if (name[i] == '/')
			base = name + i + 1;
	len -= (size_t)(base - name);
	return same(comm, comm_len, base, len < PROC_COMM_CUT ? len : PROC_COMM_CUT);
}

bool proc_comm_may_match(const struct track_process_conf *t, const char *comm, size_t comm_len)
{
	const char *nul = memchr(comm, '\0', comm_len), *p, *w;
	size_t wlen;

	if (!proc_match_needs_cmdline(t))
		return true;
	if (nul)
		comm_len = (size_t)(nul - comm);
	if (comm_len && comm[comm_len - 1] == '\n')
		comm_len--;
	if (comm_is_base(comm, comm_len, t->process, strlen(t->process)))
		return true;
	/* A script run by its interpreter: comm is the script's name. */
	for (p = t->args ? t->args : ""; next_arg(&p, &w, &wlen);)
		if (comm_is_base(comm, comm_len, w, wlen))
			return true;
	return false;
}

bool proc_count_ok(const struct track_process_conf *t, unsigned count)
{
	return count >= t->quorum && (!t->quorum_max.set || count <= t->quorum_max.value);
}

bool proc_verdict_count(struct proc_verdict *v, const struct track_process_conf *t, unsigned count, uint64_t now_ms)
{
	uint64_t delay;

	v->count = count;
	v->count_ok = proc_count_ok(t, count);
	if (!v->known) {
		v->known = true;
		v->up = v->count_ok;
		v->due_ms = 0;
		return true;
	}
	if (v->count_ok == v->up) {
		v->due_ms = 0;		/* back before its delay ran out: nothing happened */
		return false;
	}
	if (v->due_ms)
		return false;		/* already on its way */
	delay = v->up ? t->terminate_delay_ms : t->fork_delay_ms;
	if (delay == 0) {
		v->up = v->count_ok;
		return true;
	}
	v->due_ms = now_ms + delay;
	return false;
}

bool proc_verdict_timeout(struct proc_verdict *v, uint64_t now_ms)
{
	if (!v->due_ms || now_ms < v->due_ms)
		return false;
	v->due_ms = 0;
	if (v->up == v->count_ok)
		return false;
	v->up = v->count_ok;
	return true;
}
