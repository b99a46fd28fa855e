/* Announced services (director.ini(5), ANNOUNCED SERVICES): what their
 * keys default to when not given (mh with mh-port and mh-fallback,
 * inhibit_on_failure, ipvs_sloppy_tcp), that what is given is kept and
 * that -t -v prints the filled-in values so the printed file loads to
 * the same; and the warnings of `directord -t` about settings that let
 * directors send one flow to different real servers, word for word at
 * their lines. */
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directord.h"
#include "test.h"
#include "test_director_conf.h"

#define HEAD "[global]\nuser = nobody\n"
#define SVC "[virtual_server web]\naddress = 198.18.0.100:80\nannounce = yes\n"
#define RS "real_servers = 198.18.3.1:80, 198.18.3.2:80\n"
#define MH_FLAGS (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2)

static char *printed(const struct director_config *cfg)
{
	struct strbuf sb;
	char *s;

	sb_init(&sb);
	director_config_print(cfg, &sb);
	s = strdup(sb_str(&sb));
	sb_free(&sb);
	return s;
}

static const char *warnings(const struct director_config *cfg)
{
	return cfg && cfg->warnings ? cfg->warnings : "";
}

TEST(announced_service_gets_the_stable_defaults)
{
	struct director_config *cfg = conf(HEAD SVC "check = tcp\n" RS), *again;
	char *text, *text2;

	if (!cfg)
		return;
	CHECK(cfg->lvs.services->announce);
	CHECK_EQ_STR(cfg->lvs.services->scheduler, "mh");
	CHECK_EQ_INT(cfg->lvs.services->scheduler_flags, MH_FLAGS);
	CHECK(cfg->lvs.services->inhibit_on_failure);
	CHECK(cfg->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].set);
	CHECK_EQ_INT(cfg->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].value, 1);
	CHECK_EQ_STR(warnings(cfg), "");
	/* -t -v says what runs, and loads to the same. */
	text = printed(cfg);
	CHECK_CONTAINS(text, "ipvs_sloppy_tcp = 1\n");
	CHECK_CONTAINS(text, "scheduler = mh\nscheduler_flags = flag-1, flag-2\n");
	CHECK_CONTAINS(text, "inhibit_on_failure = yes\n");
	CHECK_CONTAINS(text, "announce = yes\n");
	again = conf(text);
	text2 = again ? printed(again) : NULL;
	CHECK(text2 && strcmp(text, text2) == 0);
	CHECK(again && virtual_server_conf_same(cfg->lvs.services, again->lvs.services));
	free(text2);
	free(text);
	director_config_free(again);
	director_config_free(cfg);
}

/* Not announced: the defaults of old, and the sysctl left to the host. */
TEST(unannounced_defaults_unchanged)
{
	struct director_config *cfg = conf(HEAD "ipvs_expire_nodest_conn = 1\n[virtual_server web]\n"
					   "address = 198.18.0.100:80\ncheck = tcp\n" RS);

	if (!cfg)
		return;
	CHECK(!cfg->lvs.services->announce);
	CHECK_EQ_STR(cfg->lvs.services->scheduler, "wlc");
	CHECK_EQ_INT(cfg->lvs.services->scheduler_flags, 0);
	CHECK(!cfg->lvs.services->inhibit_on_failure);
	CHECK(!cfg->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].set);
	director_config_free(cfg);
}

/* What the file gives is what runs (with a warning where it costs). */
TEST(given_values_are_kept)
{
	struct director_config *cfg;

	cfg = conf(HEAD SVC "scheduler = rr\n" RS);
	CHECK(cfg && strcmp(cfg->lvs.services->scheduler, "rr") == 0 && cfg->lvs.services->scheduler_flags == 0);
	director_config_free(cfg);
	/* mh given with its own flags: those flags, none added. */
	cfg = conf(HEAD SVC "scheduler = mh\nscheduler_flags = mh-fallback\n" RS);
	CHECK(cfg && cfg->lvs.services->scheduler_flags == IP_VS_SVC_F_SCHED1);
	director_config_free(cfg);
	/* Flags without a scheduler: mh with those flags. */
	cfg = conf(HEAD SVC "scheduler_flags = mh-port, mh-fallback\n" RS);
	CHECK(cfg && strcmp(cfg->lvs.services->scheduler, "mh") == 0 &&
	      cfg->lvs.services->scheduler_flags == MH_FLAGS);
	director_config_free(cfg);
	cfg = conf(HEAD "ipvs_expire_nodest_conn = 1\nipvs_sloppy_tcp = 0\n" SVC "inhibit_on_failure = no\n" RS);
	CHECK(cfg && !cfg->lvs.services->inhibit_on_failure);
	CHECK(cfg && cfg->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].set && cfg->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].value == 0);
	director_config_free(cfg);
}

/* warned(text, exact): the warnings of text are exactly the lines given. */
static void warned(const char *text, const char *exact)
{
	struct director_config *cfg = conf(text);

	CHECK_EQ_STR(warnings(cfg), exact);
	director_config_free(cfg);
}

#define AT(line, key) "/etc/dsrkit/test.ini:" #line ": virtual_server web." key ": warning: announced"

TEST(settings_that_break_stickiness_are_warned_at_their_line)
{
	warned(HEAD SVC "scheduler = wrr\n" RS,
	       AT(6, "scheduler") ", and wrr is not mh: a flow that reaches another director may go to another "
	       "real server\n");
	warned(HEAD SVC "scheduler = mh\nscheduler_flags = mh-fallback\n" RS,
	       AT(7, "scheduler_flags") ", mh without mh-port: mh hashes the client's address alone, so all "
	       "connections of a client (or of a NAT) go to one real server\n");
	/* scheduler_flags not given at all: at the section's line; and
	 * without mh-fallback the failed server's flows fail (the trap of
	 * every service that can put a server at weight 0). */
	warned(HEAD SVC "scheduler = mh\ncheck = none\n" RS,
	       "/etc/dsrkit/test.ini:6: virtual_server web.scheduler: warning: mh without scheduler_flags = "
	       "mh-fallback, and inhibit_on_failure can set a server's weight to 0: new connections that hash to it "
	       "fail\n"
	       "/etc/dsrkit/test.ini:3: virtual_server web.scheduler_flags: warning: announced, mh without mh-port: "
	       "mh hashes the client's address alone, so all connections of a client (or of a NAT) go to one real "
	       "server\n");
	warned(HEAD "ipvs_expire_nodest_conn = 1\n" SVC "inhibit_on_failure = no\n" RS,
	       AT(7, "inhibit_on_failure") ", and inhibit_on_failure = no: a failed server is removed, which "
	       "rebuilds the scheduler's table (flows of other servers may move), and a director that re-adds it "
	       "lists it in another order than one that never removed it\n");
	warned(HEAD "ipvs_sloppy_tcp = 0\n" SVC RS,
	       "/etc/dsrkit/test.ini:3: global.ipvs_sloppy_tcp: warning: announced TCP services ([virtual_server "
	       "web]), and ipvs_sloppy_tcp = 0: a director that gets a connection after its start (another director "
	       "failed, the router's paths changed) resets it\n");
	/* The same settings on a service that is not announced: silent. */
	warned(HEAD "ipvs_sloppy_tcp = 0\nipvs_expire_nodest_conn = 1\n[virtual_server web]\n"
	       "address = 198.18.0.100:80\nscheduler = mh\nscheduler_flags = mh-fallback\ninhibit_on_failure = yes\n" RS,
	       "");
	/* A UDP service has no use for sloppy_tcp. */
	warned(HEAD "ipvs_sloppy_tcp = 0\n" SVC "protocol = udp\n" RS, "");
}

TEST(persistence_is_warned)
{
	warned(HEAD "ipvs_expire_quiescent_template = 1\n" SVC "persistence_timeout = 300s\n" RS,
	       AT(7, "persistence_timeout") ", with persistence: each director keeps its own persistence templates, "
	       "so a client's connections that reach different directors may go to different real servers\n");
}

/* The warnings are the traps': they travel in the image and are logged
 * at start and reload (test_lvs_traps.c, warnings_survive_the_image). */
TEST(defaults_survive_the_image)
{
	struct director_config *cfg = conf(HEAD SVC RS), *back = NULL;
	struct strbuf image;

	if (!cfg)
		return;
	sb_init(&image);
	CHECK_EQ_INT(director_config_image(cfg, &image), 0);
	CHECK_EQ_INT(director_config_from_image(image.buf, image.len, &back), 0);
	CHECK(back && back->lvs.services && back->lvs.services->announce);
	CHECK(back && back->lvs.services && strcmp(back->lvs.services->scheduler, "mh") == 0);
	CHECK(back && back->lvs.services && back->lvs.services->inhibit_on_failure);
	CHECK(back && back->lvs.sysctl[LVS_SYSCTL_SLOPPY_TCP].set);
	director_config_free(back);
	director_config_free(cfg);
	sb_free(&image);
}

TEST_MAIN(T(announced_service_gets_the_stable_defaults), T(unannounced_defaults_unchanged), T(given_values_are_kept),
	  T(settings_that_break_stickiness_are_warned_at_their_line), T(persistence_is_warned),
	  T(defaults_survive_the_image))
