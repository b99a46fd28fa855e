/* Dropping root with libcap: switch user, keep exactly the listed
 * capabilities, empty the bounding and ambient sets of everything else. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privdrop.h"

/* Capability numbers are probed up to this; the kernel answers EINVAL
 * past its last one, so newer kernels are handled without rebuilding. */
#define CAP_PROBE_MAX 64
#define PW_BUF_MAX (1024 * 1024)

int user_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *found = NULL;
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 4096;
	char *buf;
	int r;

	if (!user || !*user)
		return -EINVAL;
	for (;;) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		r = getpwnam_r(user, &pw, buf, size, &found);
		if (r != ERANGE || size >= PW_BUF_MAX)
			break;
		free(buf);
		size *= 2;
	}
	if (r == 0 && found) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(buf);
	if (r != 0)
		return -r;
	return found ? 0 : -ENOENT;
}

/* nobody, and the kernel's overflow uid that unmapped owners show as. */
#define OVERFLOW_UID 65534

static bool uid_is_shared(uid_t uid)
{
	uid_t nobody;
	gid_t gid;

	if (uid == OVERFLOW_UID)
		return true;
	return user_lookup("nobody", &nobody, &gid) == 0 && uid == nobody;
}

int daemon_user_check(const char *user, bool named, char *msg, size_t msglen)
{
	uid_t uid;
	gid_t gid;

	if (user_lookup(user, &uid, &gid) < 0) {
		if (named)
			snprintf(msg, msglen, "no such user '%s'", user);
		else
			snprintf(msg, msglen, "no such user '%s' (the default): " DAEMON_USER_HOW
				 "; or set user = NAME", user);
		return -ENOENT;
	}
	if (uid == 0) {
		snprintf(msg, msglen, "the daemon must not run as root");
		return -EPERM;
	}
	if (!uid_is_shared(uid))
		return 0;
	if (!named) {
		snprintf(msg, msglen, "user '%s' has the uid of nobody (%u), which other daemons share: "
			 "give it a uid of its own, or set user = %s to insist", user, (unsigned)uid, user);
		return -EACCES;
	}
	snprintf(msg, msglen, "warning: '%s' (uid %u) is shared with other daemons, any of which may "
		 "signal or stop this one's processes; a user of its own (" DAEMON_USER ") is safer",
		 user, (unsigned)uid);
	return 1;
}

static bool cap_listed(cap_value_t cap, const cap_value_t *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

/* Permitted and effective = keep; inheritable empty. */
static int caps_set_exactly(const cap_value_t *keep, size_t nkeep)
{
	cap_t caps = cap_init();
	int r = 0;

	if (!caps)
		return -errno;
	if (nkeep > 0 &&
	    (cap_set_flag(caps, CAP_PERMITTED, (int)nkeep, keep, CAP_SET) < 0 ||
	     cap_set_flag(caps, CAP_EFFECTIVE, (int)nkeep, keep, CAP_SET) < 0))
		r = -errno;
	if (r == 0 && cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	return r;
}

static int ambient_clear(void)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;	/* EINVAL: kernel without ambient capabilities */
	return 0;
}

/* Needs CAP_SETPCAP in the effective set. */
static int bounding_drop_except(const cap_value_t *keep, size_t nkeep)
{
	for (int cap = 0; cap < CAP_PROBE_MAX; cap++) {
		if (cap_listed(cap, keep, nkeep))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;	/* past the kernel's last capability */
			return -errno;
		}
	}
	return 0;
}

static int caps_all_permitted(const cap_value_t *keep, size_t nkeep)
{
	cap_t caps = cap_get_proc();
	int r = 0;

	if (!caps)
		return -errno;
	for (size_t i = 0; i < nkeep && r == 0; i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(caps, keep[i], CAP_PERMITTED, &v) < 0)
			r = -errno;
		else if (v != CAP_SET)
			r = -EPERM;
	}
	cap_free(caps);
	return r;
}

/* Root to user, with KEEPCAPS so the permitted set survives setresuid()
 * (the effective set is emptied by it and restored by the caller). The
 * bounding set is trimmed first: that needs CAP_SETPCAP effective. */
static int switch_user(const char *user, const cap_value_t *keep, size_t nkeep)
{
	uid_t uid;
	gid_t gid;
	int r;

	if (!user)
		return -EINVAL;
	r = user_lookup(user, &uid, &gid);
	if (r < 0)
		return r;
	if (uid == 0)
		return -EINVAL;	/* dropping "to root" would drop nothing */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	r = bounding_drop_except(keep, nkeep);
	if (r < 0)
		return r;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	return 0;
}

/* Already unprivileged: only shrink, never ask for what we do not have.
 * The bounding set can only be trimmed with CAP_SETPCAP; without it the
 * (empty) permitted set is what matters. */
static int shrink_caps(const cap_value_t *keep, size_t nkeep)
{
	int r = caps_all_permitted(keep, nkeep);

	if (r < 0)
		return r;
	if (cap_is_effective(CAP_SETPCAP))
		return bounding_drop_except(keep, nkeep);
	return 0;
}

/* Defence in depth: unless CAP_SETUID was asked for, getting root back
 * must be impossible now. */
static int verify_dropped(const cap_value_t *keep, size_t nkeep)
{
	if (cap_listed(CAP_SETUID, keep, nkeep))
		return 0;
	if (setuid(0) == 0 || geteuid() == 0)
		return -EPERM;
	return 0;
}

int privdrop(const char *user, const cap_value_t *keep, size_t nkeep)
{
	int r;

	for (size_t i = 0; i < nkeep; i++)
		if (!cap_valid(keep[i]))
			return -EINVAL;
	if (geteuid() == 0)
		r = switch_user(user, keep, nkeep);
	else
		r = shrink_caps(keep, nkeep);
	if (r == 0)
		r = caps_set_exactly(keep, nkeep);
	if (r == 0)
		r = ambient_clear();
	/* Reset even on failure: keep-caps must not outlive the switch. */
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (r < 0)
		return r;
	/* Not dumpable, also where no setresuid() cleared it: the daemons
	 * hold what only root may read (a check's client private key, in
	 * the LVS engine and in the parent's configuration image), and
	 * scripts run as the same user. Dumpable, any process of that user
	 * could read their memory and fds (/proc/PID/mem, ptrace). The
	 * price: no core dumps unless fs.suid_dumpable is 2, debugging as
	 * root, and the parent sees only a stuck engine's state (its
	 * /proc/PID/syscall and wchan are root's now). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return verify_dropped(keep, nkeep);
}

int caps_clear(void)
{
	int r = caps_set_exactly(NULL, 0);

	if (r < 0)
		return r;
	return ambient_clear();
}

bool cap_is_effective(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps;

	if (!cap_valid(cap))
		return false;
	caps = cap_get_proc();
	if (!caps)
		return false;
	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &v) < 0)
		v = CAP_CLEAR;
	cap_free(caps);
	return v == CAP_SET;
}
