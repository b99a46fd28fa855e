/* director.ini's IPVS sysctl keys ([global] ipvs_expire_nodest_conn and
 * the others: range, "not given" kept apart from 0, printed by -t -v) and
 * the warnings of `directord -t` for the IPVS traps (config_lvs.c): each
 * warns at its line with the trap's configuration, and is silent with
 * the fixed one. */
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directord.h"
#include "test.h"
#include "test_diag.h"
#include "test_director_conf.h"

#define HEAD "[global]\nuser = nobody\n"
/* Line 3 of the file is the first line after HEAD. */
#define VS_AT(line) "/etc/dsrkit/test.ini:" #line ": virtual_server web."

/* The warnings of text ("" when none), to free. */
static char *warnings_of(const char *text)
{
	struct director_config *cfg = conf(text);
	char *w = strdup(cfg && cfg->warnings ? cfg->warnings : "");

	director_config_free(cfg);
	return w;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

#define EXPECT_WARNINGS(text, n, needle) do { \
	char *w_ = warnings_of(text); \
	CHECK_EQ_INT(lines(w_), n); \
	if (needle) \
		CHECK_CONTAINS(w_, needle); \
	free(w_); \
} while (0)

/* A trap of the service svc (its key at line 5) that a global sysctl set
 * to 1 silences: warned with warning when the sysctl is not set, warned
 * (at line 6) when it is 0, silent when it is 1. */
#define EXPECT_SYSCTL_SILENCES(svc, sysctl, key, warning) do { \
	char text_[1024]; \
	snprintf(text_, sizeof(text_), HEAD "%s", (svc)); \
	EXPECT_WARNINGS(text_, 1, VS_AT(5) key ": warning: " warning); \
	snprintf(text_, sizeof(text_), HEAD sysctl " = 0\n%s", (svc)); \
	EXPECT_WARNINGS(text_, 1, VS_AT(6) key ": warning:"); \
	snprintf(text_, sizeof(text_), HEAD sysctl " = 1\n%s", (svc)); \
	EXPECT_WARNINGS(text_, 0, NULL); \
} while (0)

TEST(sysctl_keys_parse_and_print)
{
	struct director_config *cfg = conf(HEAD "ipvs_expire_nodest_conn = 1\nipvs_expire_quiescent_template = 0\n"
					   "ipvs_sloppy_tcp = 1\nipvs_sloppy_sctp = 0\nipvs_conn_reuse_mode = 3\n"
					   "[virtual_server web]\naddress = 198.18.0.100:80\ncheck = none\n"
					   "real_servers = 198.18.3.1:80\n");
	struct strbuf sb;

	if (!cfg)
		return;
	CHECK(cfg->lvs.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN].set);
	CHECK_EQ_INT(cfg->lvs.sysctl[LVS_SYSCTL_EXPIRE_NODEST_CONN].value, 1);
	CHECK(cfg->lvs.sysctl[LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE].set);
	CHECK_EQ_INT(cfg->lvs.sysctl[LVS_SYSCTL_EXPIRE_QUIESCENT_TEMPLATE].value, 0);
	CHECK_EQ_INT(cfg->lvs.sysctl[LVS_SYSCTL_CONN_REUSE_MODE].value, 3);
	sb_init(&sb);
	director_config_print(cfg, &sb);
	CHECK_CONTAINS(sb_str(&sb), "ipvs_expire_nodest_conn = 1\nipvs_expire_quiescent_template = 0\n"
		       "ipvs_sloppy_tcp = 1\nipvs_sloppy_sctp = 0\nipvs_conn_reuse_mode = 3\n");
	sb_free(&sb);
	director_config_free(cfg);

	/* Not given: not set (the kernel's stays), not printed. */
	cfg = conf(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\ncheck = none\nreal_servers = 198.18.3.1:80\n");
	if (!cfg)
		return;
	for (int i = 0; i < LVS_SYSCTL_N; i++)
		CHECK(!cfg->lvs.sysctl[i].set);
	sb_init(&sb);
	director_config_print(cfg, &sb);
	CHECK(strstr(sb_str(&sb), "ipvs_expire") == NULL && strstr(sb_str(&sb), "ipvs_sloppy") == NULL);
	sb_free(&sb);
	director_config_free(cfg);

	/* The sysctls alone start no LVS engine: they matter to services. */
	cfg = conf(HEAD "ipvs_sloppy_tcp = 1\n[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\n"
		   "virtual_ipaddress = 198.18.0.100/24\n");
	CHECK(cfg && !lvs_config_wanted(&cfg->lvs));
	director_config_free(cfg);
}

static void expect_refused(const char *text, const char *needle)
{
	struct director_config *cfg = NULL;
	struct ini_diag d;

	ini_diag_init(&d);
	CHECK(director_config_load_buffer("/etc/dsrkit/test.ini", text, strlen(text), &cfg, &d) < 0);
	CHECK(cfg == NULL);
	CHECK(diag_has(&d, needle));
	director_config_free(cfg);
	ini_diag_free(&d);
}

TEST(sysctl_keys_refuse_bad_values)
{
	expect_refused(HEAD "ipvs_expire_nodest_conn = 2\n",
		       "/etc/dsrkit/test.ini:3: global.ipvs_expire_nodest_conn: value 2 out of range 0-1");
	expect_refused(HEAD "ipvs_expire_quiescent_template = yes\n",
		       "/etc/dsrkit/test.ini:3: global.ipvs_expire_quiescent_template:");
	expect_refused(HEAD "\nipvs_sloppy_tcp = -1\n", "/etc/dsrkit/test.ini:4: global.ipvs_sloppy_tcp:");
	expect_refused(HEAD "ipvs_sloppy_sctp = 1x\n", "/etc/dsrkit/test.ini:3: global.ipvs_sloppy_sctp:");
	expect_refused(HEAD "ipvs_conn_reuse_mode = 4\n",
		       "/etc/dsrkit/test.ini:3: global.ipvs_conn_reuse_mode: value 4 out of range 0-3");
}

/* mh or sh, a server that can reach weight 0, no fallback: warned at
 * the scheduler line; the flag silences it. */
TEST(trap_hash_scheduler_without_fallback)
{
	static const char *const zero_causes[] = {
		"check = none\ninhibit_on_failure = yes\n",
		"check = agent\n",
		"check = tcp, agent\n",
		"check = script\ncheck_command = /bin/true\ncheck_dynamic_weight = yes\n",
	};
	char text[1024];

	for (size_t i = 0; i < ARRAY_SIZE(zero_causes); i++) {
		snprintf(text, sizeof(text), HEAD "ipvs_expire_nodest_conn = 1\n[virtual_server web]\n"
			 "address = 198.18.0.100:80\nscheduler = mh\n%sreal_servers = 198.18.3.1:80, 198.18.3.2:80\n",
			 zero_causes[i]);
		EXPECT_WARNINGS(text, 1, VS_AT(6) "scheduler: warning: mh without scheduler_flags = mh-fallback");
		snprintf(text, sizeof(text), HEAD "ipvs_expire_nodest_conn = 1\n[virtual_server web]\n"
			 "address = 198.18.0.100:80\nscheduler = mh\nscheduler_flags = mh-fallback, mh-port\n%s"
			 "real_servers = 198.18.3.1:80, 198.18.3.2:80\n", zero_causes[i]);
		EXPECT_WARNINGS(text, 0, NULL);
	}
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\nscheduler = sh\ncheck = none\n"
			"real_servers = 198.18.3.1:80 weight=0, 198.18.3.2:80\n", 1,
			VS_AT(5) "scheduler: warning: sh without scheduler_flags = sh-fallback, and a server at weight=0");
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\nscheduler = sh\n"
			"scheduler_flags = sh-fallback\ncheck = none\nreal_servers = 198.18.3.1:80 weight=0\n", 0, NULL);
	/* Nothing sets weight 0 by itself: no warning. */
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\nscheduler = mh\ncheck = none\n"
			"real_servers = 198.18.3.1:80, 198.18.3.2:80\n", 0, NULL);
	/* Other schedulers pass over a weight-0 server. */
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\nscheduler = wrr\ncheck = none\n"
			"inhibit_on_failure = yes\nreal_servers = 198.18.3.1:80\n", 0, NULL);
}

/* Persistence, weight-0 servers, expire_quiescent_template not 1: warned
 * at persistence_timeout (also when the key says 0); 1 silences it. */
TEST(trap_persistence_with_quiescent_templates)
{
	static const char *const svc = "[virtual_server web]\naddress = 198.18.0.100:80\npersistence_timeout = 300s\n"
		"check = tcp\ninhibit_on_failure = yes\nreal_servers = 198.18.3.1:80, 198.18.3.2:80\n";

	EXPECT_SYSCTL_SILENCES(svc, "ipvs_expire_quiescent_template", "persistence_timeout",
			       "inhibit_on_failure can set a server's weight to 0, and "
			       "global.ipvs_expire_quiescent_template is not 1: persistent clients keep going");
	/* Without persistence there are no templates. */
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\ncheck = tcp\ninhibit_on_failure = yes\n"
			"real_servers = 198.18.3.1:80\n", 0, NULL);
}

/* A service that removes failed servers, expire_nodest_conn not 1:
 * warned at its check line (its section's when the check is the
 * default); 1 silences it, and so does inhibit_on_failure. */
TEST(trap_removed_servers_without_expire_nodest_conn)
{
	static const char *const svc = "[virtual_server web]\naddress = 198.18.0.100:80\ncheck = http\n"
		"real_servers = 198.18.3.1:80\n";

	EXPECT_SYSCTL_SILENCES(svc, "ipvs_expire_nodest_conn", "check",
			       "a failed check without inhibit_on_failure removes servers, "
			       "and global.ipvs_expire_nodest_conn is not 1: their connections are black-holed");
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\nreal_servers = 198.18.3.1:80\n", 1,
			"/etc/dsrkit/test.ini:3: virtual_server web.check: warning:");
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\ncheck = tcp\ninhibit_on_failure = yes\n"
			"real_servers = 198.18.3.1:80\n", 0, NULL);
	/* The agent's maint takes a server out even with inhibit_on_failure. */
	EXPECT_WARNINGS(HEAD "[virtual_server web]\naddress = 198.18.0.100:80\ncheck = agent\ninhibit_on_failure = yes\n"
			"real_servers = 198.18.3.1:80\n", 1, VS_AT(5) "check: warning: the agent's maint removes servers");
}

/* Many services with one trap: five are shown, the rest counted. */
TEST(many_trapped_services_are_counted)
{
	struct strbuf sb;
	char *w;

	sb_init(&sb);
	sb_append(&sb, HEAD);
	for (int i = 0; i < 8; i++)
		sb_printf(&sb, "[virtual_server s%d]\naddress = 198.18.0.%d:80\nreal_servers = 198.18.3.1:80\n", i, i + 1);
	w = warnings_of(sb_str(&sb));
	CHECK_EQ_INT(lines(w), 6);
	CHECK_CONTAINS(w, "/etc/dsrkit/test.ini: warning: 3 more virtual servers (servers removed)\n");
	free(w);
	sb_free(&sb);
}

/* The warnings travel in the image, to the parent that logs them. */
TEST(warnings_survive_the_image)
{
	struct director_config *cfg = conf(HEAD "ipvs_sloppy_tcp = 1\n[virtual_server web]\naddress = 198.18.0.100:80\n"
					   "real_servers = 198.18.3.1:80\n"), *back = NULL;
	struct strbuf image;

	if (!cfg)
		return;
	sb_init(&image);
	CHECK_EQ_INT(director_config_image(cfg, &image), 0);
	CHECK_EQ_INT(director_config_from_image(image.buf, image.len, &back), 0);
	CHECK(back && back->warnings && cfg->warnings && strcmp(back->warnings, cfg->warnings) == 0);
	CHECK(back && back->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].set && back->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].value == 1);
	director_config_free(back);
	director_config_free(cfg);
	sb_free(&image);
}

TEST_MAIN(T(sysctl_keys_parse_and_print), T(sysctl_keys_refuse_bad_values), T(trap_hash_scheduler_without_fallback),
	  T(trap_persistence_with_quiescent_templates), T(trap_removed_servers_without_expire_nodest_conn),
	  T(many_trapped_services_are_counted), T(warnings_survive_the_image))
