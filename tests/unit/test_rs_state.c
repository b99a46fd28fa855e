/* state.c: the admin and applied files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rs-agent.h"
#include "test.h"

TEST(applied_round_trip)
{
	struct applied_state st = { 0 }, back;
	struct ipaddr a;
	struct strbuf sb;
	char err[PARSE_ERR_MAX];

	strlcpy_safe(st.vip_ifname, "lo", sizeof(st.vip_ifname));
	parse_ipaddr("2001:db8::10", &a, err);
	CHECK_EQ_INT(applied_state_add_vip(&st, &a), 0);
	CHECK_EQ_INT(applied_state_add_vip(&st, &a), 0);	/* no duplicates */
	CHECK_EQ_INT(st.nvips, 1);
	applied_state_sysctl(&st, "all", true)->arp_ignore = 0;
	applied_state_sysctl(&st, "eth0", true)->arp_announce = 2;
	sb_init(&sb);
	applied_state_format(&st, &sb);
	CHECK_EQ_INT(applied_state_parse(sb.buf, sb.len, &back), 0);
	CHECK_EQ_STR(back.vip_ifname, "lo");
	CHECK_EQ_INT(back.nvips, 1);
	CHECK(ipaddr_equal(&back.vips[0], &a));
	CHECK_EQ_INT(back.nsysctls, 2);
	CHECK_EQ_INT(applied_state_sysctl(&back, "all", false)->arp_ignore, 0);
	CHECK_EQ_INT(applied_state_sysctl(&back, "all", false)->arp_announce, -1);
	CHECK_EQ_INT(applied_state_sysctl(&back, "eth0", false)->arp_announce, 2);
	sb_free(&sb);
	applied_state_free(&st);
	applied_state_free(&back);
}

TEST(applied_rejects_garbage)
{
	static const char *const bad[] = {
		"vip 300.1.1.1\n", "sysctl ../etc 1 2\n", "sysctl eth0 1\n", "sysctl eth0 1 999\n",
		"frob\n", "vip-interface a/b\n",
	};
	struct applied_state st;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(applied_state_parse(bad[i], strlen(bad[i]), &st) < 0);
		CHECK_EQ_INT(st.nvips, 0);
	}
	CHECK_EQ_INT(applied_state_parse("# only a comment\n\n", 18, &st), 0);
	applied_state_free(&st);
}

TEST(admin_state_persists)
{
	char dir[] = "/tmp/dsrkit-state.XXXXXX";
	enum admin_state a;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ_INT(admin_state_load(dir, &a), 0);
	CHECK_EQ_INT(a, ADMIN_READY);		/* missing file: ready */
	CHECK_EQ_INT(admin_state_save(dir, ADMIN_DRAIN), 0);
	CHECK_EQ_INT(admin_state_load(dir, &a), 0);
	CHECK_EQ_INT(a, ADMIN_DRAIN);
	CHECK_EQ_INT(admin_state_save(dir, ADMIN_MAINT), 0);
	CHECK_EQ_INT(admin_state_load(dir, &a), 0);
	CHECK_EQ_INT(a, ADMIN_MAINT);
	CHECK(admin_state_parse("sleepy", &a) == -EINVAL);
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/admin", dir);
		unlink(path);
	}
	rmdir(dir);
}

TEST(applied_saved_only_when_changed)
{
	char dir[] = "/tmp/dsrkit-state.XXXXXX", path[256];
	struct applied_state st = { 0 };
	struct ipaddr a;
	char err[PARSE_ERR_MAX];
	struct stat sb;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/applied", dir);
	CHECK_EQ_INT(applied_state_save_if_changed(dir, &st), 0);
	CHECK(stat(path, &sb) < 0);			/* nothing changed: no write */
	parse_ipaddr("198.18.0.10", &a, err);
	applied_state_add_vip(&st, &a);
	CHECK(st.dirty);
	CHECK_EQ_INT(applied_state_save_if_changed(dir, &st), 0);
	CHECK(!st.dirty);
	CHECK(stat(path, &sb) == 0);
	applied_state_add_vip(&st, &a);		/* already there */
	CHECK(!st.dirty);
	applied_state_free(&st);
	CHECK_EQ_INT(applied_state_load(dir, &st), 0);
	CHECK(!st.dirty);
	CHECK_EQ_INT(st.nvips, 1);
	applied_state_free(&st);
	unlink(path);
	rmdir(dir);
}

TEST_MAIN(T(applied_round_trip), T(applied_rejects_garbage), T(admin_state_persists),
	  T(applied_saved_only_when_changed))
