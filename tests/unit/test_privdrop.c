/* Privilege dropping. The drops happen in forked children (they cannot be
 * undone); a child reports the number of its first failed check as its
 * exit status, 0 meaning all passed. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "privdrop.h"
#include "test.h"
#include "util.h"

/* The hex value of a Cap* line of /proc/self/status, or ~0 on error. */
static unsigned long long proc_caps(const char *field)
{
	char buf[4096], *p;
	size_t len;

	if (read_small_file("/proc/self/status", buf, sizeof(buf), &len) < 0)
		return ~0ULL;
	p = strstr(buf, field);
	if (!p)
		return ~0ULL;
	return strtoull(p + strlen(field) + 1, NULL, 16);
}

/* Fork, run fn in the child, return its exit code (or 255 if it died). */
static int in_child(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 254;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

TEST(user_lookup_works)
{
	uid_t uid = 1;
	gid_t gid = 1;

	CHECK_EQ_INT(user_lookup("root", &uid, &gid), 0);
	CHECK_EQ_INT(uid, 0);
	CHECK_EQ_INT(gid, 0);
	CHECK_EQ_INT(user_lookup("nobody", &uid, &gid), 0);
	CHECK(uid != 0);
	CHECK_EQ_INT(user_lookup("dsrkit-no-such-user", &uid, &gid), -ENOENT);
	CHECK_EQ_INT(user_lookup("", &uid, &gid), -EINVAL);
	CHECK_EQ_INT(user_lookup(NULL, &uid, &gid), -EINVAL);
}

static int drop_to_nobody_keep_net_admin(void)
{
	const cap_value_t keep[] = { CAP_NET_ADMIN };
	uid_t nobody;
	gid_t nogroup;
	gid_t groups[4];

	if (user_lookup("nobody", &nobody, &nogroup) < 0)
		return 1;
	if (privdrop("nobody", keep, 1) != 0)
		return 2;
	if (getuid() == 0 || geteuid() == 0 || getuid() != nobody)
		return 3;
	if (getgid() != nogroup || getegid() != nogroup)
		return 4;
	if (getgroups(4, groups) != 1 || groups[0] != nogroup)
		return 5;
	if (!cap_is_effective(CAP_NET_ADMIN))
		return 6;
	if (cap_is_effective(CAP_SYS_ADMIN) || cap_is_effective(CAP_SETUID))
		return 7;
	if (proc_caps("CapEff") != 1ULL << CAP_NET_ADMIN)
		return 8;
	if (proc_caps("CapPrm") != 1ULL << CAP_NET_ADMIN)
		return 9;
	if (proc_caps("CapInh") != 0 || proc_caps("CapAmb") != 0)
		return 10;
	if (proc_caps("CapBnd") != 1ULL << CAP_NET_ADMIN)
		return 11;
	if (setuid(0) == 0)
		return 12;
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return 13;
	/* Its memory may hold root-only keys: not for the user's processes. */
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 14;
	return 0;
}

TEST(privdrop_as_root_keeps_exactly_net_admin)
{
	if (geteuid() != 0)
		SKIP("needs root");
	CHECK_EQ_INT(in_child(drop_to_nobody_keep_net_admin), 0);
	/* The parent is untouched. */
	CHECK_EQ_INT(geteuid(), 0);
}

static int drop_twice_then_shrink(void)
{
	const cap_value_t two[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	const cap_value_t one[] = { CAP_NET_RAW };
	const cap_value_t other[] = { CAP_SYS_ADMIN };

	if (privdrop("nobody", two, 2) != 0)
		return 1;
	if (proc_caps("CapEff") != (1ULL << CAP_NET_ADMIN | 1ULL << CAP_NET_RAW))
		return 2;
	/* Now unprivileged: the user is not needed, the sets only shrink. */
	if (privdrop(NULL, one, 1) != 0)
		return 3;
	if (proc_caps("CapEff") != 1ULL << CAP_NET_RAW || proc_caps("CapPrm") != 1ULL << CAP_NET_RAW)
		return 4;
	/* Asking for something not held is refused. */
	if (privdrop(NULL, other, 1) != -EPERM)
		return 5;
	if (!cap_is_effective(CAP_NET_RAW))
		return 6;
	if (privdrop(NULL, NULL, 0) != 0 || proc_caps("CapEff") != 0 || proc_caps("CapPrm") != 0)
		return 7;
	return 0;
}

TEST(privdrop_unprivileged_only_shrinks)
{
	if (geteuid() != 0)
		SKIP("needs root (to reach the unprivileged state with capabilities)");
	CHECK_EQ_INT(in_child(drop_twice_then_shrink), 0);
}

static int drop_bad_arguments(void)
{
	const cap_value_t keep[] = { CAP_NET_ADMIN };
	const cap_value_t bogus[] = { 4000 };

	if (privdrop("dsrkit-no-such-user", keep, 1) != -ENOENT)
		return 1;
	if (privdrop("root", keep, 1) != -EINVAL)
		return 2;
	if (privdrop(NULL, keep, 1) != -EINVAL)
		return 3;
	if (privdrop("nobody", bogus, 1) != -EINVAL)
		return 4;
	/* None of these dropped anything. */
	if (geteuid() != 0 || !cap_is_effective(CAP_SYS_ADMIN))
		return 5;
	return 0;
}

TEST(privdrop_rejects_bad_arguments)
{
	if (geteuid() != 0)
		SKIP("needs root");
	CHECK_EQ_INT(in_child(drop_bad_arguments), 0);
}

static int clear_all(void)
{
	if (caps_clear() != 0)
		return 1;
	if (cap_is_effective(CAP_NET_ADMIN) || cap_is_effective(CAP_SYS_ADMIN))
		return 2;
	if (proc_caps("CapEff") != 0 || proc_caps("CapPrm") != 0 || proc_caps("CapInh") != 0)
		return 3;
	return 0;
}

TEST(caps_clear_empties_sets)
{
	/* Works (trivially) unprivileged too. */
	CHECK_EQ_INT(in_child(clear_all), 0);
}

TEST(cap_is_effective_matches_proc)
{
	unsigned long long eff = proc_caps("CapEff");

	CHECK(eff != ~0ULL);
	CHECK_EQ_INT(cap_is_effective(CAP_NET_ADMIN), (eff >> CAP_NET_ADMIN) & 1);
	CHECK_EQ_INT(cap_is_effective(CAP_CHOWN), (eff >> CAP_CHOWN) & 1);
	CHECK(!cap_is_effective(-1));
	CHECK(!cap_is_effective(4000));
}

static int unprivileged_keep_nothing(void)
{
	const cap_value_t keep[] = { CAP_NET_ADMIN };

	/* Holding nothing, asking to keep something: refused. */
	if (privdrop(NULL, keep, 1) != -EPERM)
		return 1;
	/* A user's own process is dumpable; privdrop makes it not. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 || privdrop(NULL, NULL, 0) != 0)
		return 2;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 4;
	return 0;
}

/* As root, become nobody first (setresuid without KEEPCAPS empties the
 * capability sets), so the unprivileged path runs in every environment. */
static int as_nobody_keep_nothing(void)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() == 0) {
		if (user_lookup("nobody", &uid, &gid) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			return 3;
	}
	return unprivileged_keep_nothing();
}

TEST(privdrop_when_not_root)
{
	CHECK_EQ_INT(in_child(as_nobody_keep_nothing), 0);
}

/* Which users a daemon may run as: not root, not a missing one, nobody
 * (shared) only when the configuration names it. */
TEST(daemon_user_rules)
{
	char msg[512];

	CHECK_EQ_INT(daemon_user_check("root", true, msg, sizeof(msg)), -EPERM);
	CHECK_CONTAINS(msg, "must not run as root");
	CHECK_EQ_INT(daemon_user_check("nobody", false, msg, sizeof(msg)), -EACCES);
	CHECK_CONTAINS(msg, "has the uid of nobody");
	CHECK_CONTAINS(msg, "or set user = nobody to insist");
	CHECK_EQ_INT(daemon_user_check("nobody", true, msg, sizeof(msg)), 1);
	CHECK_CONTAINS(msg, "warning: 'nobody' (uid ");
	CHECK_CONTAINS(msg, "shared with other daemons");
	CHECK_EQ_INT(daemon_user_check("dsrkit-no-such-user", true, msg, sizeof(msg)), -ENOENT);
	CHECK_EQ_STR(msg, "no such user 'dsrkit-no-such-user'");
	CHECK_EQ_INT(daemon_user_check("dsrkit-no-such-user", false, msg, sizeof(msg)), -ENOENT);
	CHECK_CONTAINS(msg, "(the default): create it with 'systemd-sysusers'");
	CHECK_CONTAINS(msg, "useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dsrkit");
	/* A user of its own: fit, whether named or the default. */
	if (getpwnam(DAEMON_USER)) {
		CHECK_EQ_INT(daemon_user_check(DAEMON_USER, false, msg, sizeof(msg)), 0);
		CHECK_EQ_INT(daemon_user_check(DAEMON_USER, true, msg, sizeof(msg)), 0);
	}
}

TEST_MAIN(T(user_lookup_works), T(daemon_user_rules), T(privdrop_as_root_keeps_exactly_net_admin),
	  T(privdrop_unprivileged_only_shrinks), T(privdrop_rejects_bad_arguments),
	  T(caps_clear_empties_sets), T(cap_is_effective_matches_proc), T(privdrop_when_not_root))
