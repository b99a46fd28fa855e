/* keepalived.conf import: the lexer and parser (kaconf.c) and the
 * converter (kaimport.c), edge cases. The whole files are golden tests
 * (kaimport-golden.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kaconf.h"
#include "kaimport.h"
#include "test.h"
#include "test_diag.h"

static char dir[64];

static void write_at(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void make_dir(void)
{
	if (!dir[0]) {
		strlcpy_safe(dir, "/tmp/dsrkit-kaconf.XXXXXX", sizeof(dir));
		if (!mkdtemp(dir))
			dir[0] = '\0';
	}
}

static int parse(const char *text, struct ka_tree **tree, struct ini_diag *d)
{
	ini_diag_init(d);
	return kaconf_parse_buffer("t.conf", text, strlen(text), NULL, tree, d);
}

/* Parse a text that must not fail; NULL when it does (reported). */
static struct ka_tree *parse_ok(const char *text)
{
	struct ka_tree *tree = NULL;
	struct ini_diag d;
	int ret = parse(text, &tree, &d);

	CHECK_EQ_INT(ret, 0);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "    %s\n", d.msgs[i]);
	ini_diag_free(&d);
	return ret == 0 ? tree : NULL;
}

TEST(words_quotes_comments)
{
	struct ka_tree *t = parse_ok("! a comment\n"
				     "vrrp_script chk {   # another\n"
				     "  script \"killall -0 haproxy # not a comment\"\n"
				     "  a\"b c\"d e!f\n"
				     "}\n");
	const struct ka_node *n, *s;

	if (!t)
		return;
	n = t->root;
	CHECK_EQ_INT(n->nwords, 2);
	CHECK_EQ_STR(n->words[0], "vrrp_script");
	CHECK_EQ_INT(n->line, 2);
	CHECK(n->has_block);
	s = n->child;
	CHECK_EQ_STR(s->words[1], "killall -0 haproxy # not a comment");
	CHECK(s->quoted[1]);
	CHECK(!s->quoted[0]);
	CHECK_EQ_INT(s->line, 3);
	s = s->next;
	CHECK_EQ_INT(s->nwords, 2);
	CHECK_EQ_STR(s->words[0], "ab cd");
	CHECK_EQ_STR(s->words[1], "e");	/* '!' starts a comment anywhere */
	CHECK(!s->next);
	CHECK_EQ_STR(s->file, "t.conf");
	kaconf_free(t);
}

TEST(braces_anywhere)
{
	struct ka_tree *t = parse_ok("virtual_ipaddress\n{\n 192.0.2.1\n}\n"
				     "HTTP_GET { url { path /x } connect_timeout 2 }\n"
				     "a {}\nb\n");
	const struct ka_node *n;

	if (!t)
		return;
	n = t->root;
	CHECK_EQ_STR(n->words[0], "virtual_ipaddress");
	CHECK(n->child && strcmp(n->child->words[0], "192.0.2.1") == 0);
	n = n->next;
	CHECK_EQ_STR(n->words[0], "HTTP_GET");
	CHECK_EQ_STR(n->child->words[0], "url");
	CHECK_EQ_STR(n->child->child->words[1], "/x");
	CHECK_EQ_STR(n->child->next->words[0], "connect_timeout");
	CHECK_EQ_INT(n->child->next->line, 5);
	n = n->next;
	CHECK(n->has_block && !n->child);
	CHECK_EQ_STR(n->next->words[0], "b");
	kaconf_free(t);
}

TEST(syntax_errors_have_lines)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "global_defs {\n router_id a\n", "t.conf:1: unterminated block: 'global_defs {' has no '}'" },
		{ "a {\n b {\n}\n", "t.conf:1: unterminated block" },
		{ "a\n}\n", "t.conf:2: '}' without a block to close" },
		{ "\n{\n}\n", "t.conf:2: '{' without a keyword before it" },
		{ "x {\n script \"abc\n}\n", "t.conf:2: unterminated quoted string" },
		{ "include other.conf\n", "t.conf:1: include is not allowed here" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		static const struct ka_opts no_include = { false, 0 };
		struct ka_tree *t = NULL;
		struct ini_diag d;

		ini_diag_init(&d);
		CHECK(kaconf_parse_buffer("t.conf", cases[i].text, strlen(cases[i].text), &no_include, &t, &d) < 0);
		CHECK(t == NULL);
		CHECK(diag_has(&d, cases[i].msg));
		ini_diag_free(&d);
	}
}

TEST(deep_nesting_refused)
{
	char text[200] = "";
	struct ka_tree *t = NULL;
	struct ini_diag d;

	for (int i = 0; i < KA_MAX_NESTING + 1; i++)
		strcat(text, "a {\n");
	CHECK(parse(text, &t, &d) < 0);
	CHECK(diag_has(&d, "blocks nested deeper than"));
	ini_diag_free(&d);
}

static int parse_path(const char *name, struct ka_tree **t, struct ini_diag *d)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ini_diag_init(d);
	return kaconf_parse_file(path, NULL, t, d);
}

TEST(include_glob_relative_sorted)
{
	struct ka_tree *t = NULL;
	struct ini_diag d;
	char sub[128];
	const struct ka_node *n;

	make_dir();
	snprintf(sub, sizeof(sub), "%s/conf.d", dir);
	mkdir(sub, 0755);
	write_at("main.conf", "global_defs {\n}\ninclude conf.d/*.conf\nlast\n");
	write_at("conf.d/b.conf", "second\n");
	write_at("conf.d/a.conf", "\n\nfirst {\n  include ../inner.inc\n}\n");
	write_at("inner.inc", "inner 1\n");
	CHECK_EQ_INT(parse_path("main.conf", &t, &d), 0);
	ini_diag_free(&d);
	if (!t)
		return;
	n = t->root->next;
	CHECK_EQ_STR(n->words[0], "first");
	CHECK_EQ_INT(n->line, 3);
	CHECK(strstr(n->file, "conf.d/a.conf") != NULL);
	CHECK_EQ_STR(n->child->words[0], "inner");
	CHECK(strstr(n->child->file, "inner.inc") != NULL);
	n = n->next;
	CHECK_EQ_STR(n->words[0], "second");
	CHECK(strstr(n->file, "conf.d/b.conf") != NULL);
	CHECK_EQ_STR(n->next->words[0], "last");
	CHECK_EQ_INT(n->next->line, 4);
	kaconf_free(t);
}

TEST(include_missing_and_cycle)
{
	struct ka_tree *t = NULL;
	struct ini_diag d;

	make_dir();
	write_at("missing.conf", "a\ninclude nowhere.conf\n");
	CHECK(parse_path("missing.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "missing.conf:2: include "));
	CHECK(diag_has(&d, "nowhere.conf: No such file or directory"));
	ini_diag_free(&d);

	write_at("nomatch.conf", "include none.d/*.conf\n");
	CHECK(parse_path("nomatch.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "nomatch.conf:1: include "));
	CHECK(diag_has(&d, "no file matches"));
	ini_diag_free(&d);

	write_at("cyc1.conf", "a\ninclude cyc2.conf\n");
	write_at("cyc2.conf", "b\n\ninclude cyc1.conf\n");
	CHECK(parse_path("cyc1.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "cyc2.conf:3: include "));
	CHECK(diag_has(&d, "include cycle"));
	ini_diag_free(&d);

	write_at("self.conf", "include self.conf\n");
	CHECK(parse_path("self.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "include cycle"));
	ini_diag_free(&d);

	/* an error in an included file names that file */
	write_at("bad.inc", "x {\n");
	write_at("incbad.conf", "include bad.inc\n");
	CHECK(parse_path("incbad.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "bad.inc:1: unterminated block"));
	ini_diag_free(&d);
}

/* A FIFO named by mistake is refused at once; reading it would block. */
TEST(include_fifo_refused)
{
	struct ka_tree *t = NULL;
	struct ini_diag d;
	char path[256];

	make_dir();
	snprintf(path, sizeof(path), "%s/pipe.conf", dir);
	CHECK(mkfifo(path, 0600) == 0);
	write_at("fifo.conf", "a\ninclude pipe.conf\n");
	CHECK(parse_path("fifo.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "fifo.conf:2: include "));
	CHECK(diag_has(&d, "pipe.conf: not a regular file"));
	ini_diag_free(&d);
	CHECK(parse_path("pipe.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "pipe.conf: not a regular file"));
	ini_diag_free(&d);
}

TEST(include_depth_limited)
{
	struct ka_tree *t = NULL;
	struct ini_diag d;
	char name[32], text[64];

	make_dir();
	for (int i = 0; i < KA_MAX_INCLUDE_DEPTH + 3; i++) {
		snprintf(name, sizeof(name), "deep%d.conf", i);
		snprintf(text, sizeof(text), "include deep%d.conf\n", i + 1);
		write_at(name, text);
	}
	CHECK(parse_path("deep0.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "includes nested deeper than"));
	ini_diag_free(&d);
}

/* A caller's max_depth above the parser's own table is capped to it, not
 * trusted (it wrote past the table of open files). */
TEST(include_depth_capped)
{
	struct ka_opts opts = { .allow_include = true, .max_depth = KA_MAX_INCLUDE_DEPTH * 4 };
	struct ka_tree *t = NULL;
	struct ini_diag d;
	char path[256], name[32], text[64], want[64];

	make_dir();
	for (int i = 0; i < KA_MAX_INCLUDE_DEPTH * 3; i++) {
		snprintf(name, sizeof(name), "cap%d.conf", i);
		snprintf(text, sizeof(text), "include cap%d.conf\n", i + 1);
		write_at(name, text);
	}
	snprintf(path, sizeof(path), "%s/cap0.conf", dir);
	ini_diag_init(&d);
	CHECK(kaconf_parse_file(path, &opts, &t, &d) < 0);
	snprintf(want, sizeof(want), "includes nested deeper than %d files", KA_MAX_INCLUDE_DEPTH);
	CHECK(diag_has(&d, want));
	ini_diag_free(&d);
}

/* ---- the converter ---- */

struct conv_result {
	struct strbuf out;
	struct ini_diag warn;
};

static bool convert(const char *text, struct conv_result *r)
{
	struct ka_tree *t = parse_ok(text);

	sb_init(&r->out);
	ini_diag_init(&r->warn);
	if (!t)
		return false;
	CHECK_EQ_INT(ka_import(t, &r->out, &r->warn), 0);
	kaconf_free(t);
	return true;
}

static void conv_free(struct conv_result *r)
{
	sb_free(&r->out);
	ini_diag_free(&r->warn);
}

static const char instance[] =
	"vrrp_instance VI_1 {\n"
	"  state MASTER\n"
	"  interface eth0\n"
	"  virtual_router_id 51\n"
	"  priority 150\n"
	"  advert_int 0.5\n"
	"  authentication {\n"
	"    auth_type PASS\n"
	"    auth_pass 123456789\n"
	"  }\n"
	"  virtual_ipaddress {\n"
	"    192.0.2.10/24 brd 192.0.2.255 dev eth0 label eth0:1 no_track\n"
	"  }\n"
	"  track_interface {\n"
	"    eth1 weight -20\n"
	"  }\n"
	"  track_script {\n"
	"    chk weight 5\n"
	"    chk2 weight 5 reverse\n"
	"  }\n"
	"  nopreempt\n"
	"  use_vmac\n"
	"  frobnicate 3\n"
	"}\n";

TEST(instance_maps_and_warns)
{
	struct conv_result r;

	if (!convert(instance, &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[vrrp VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 150\n"
				       "advert_interval = 500ms\n");
	CHECK_CONTAINS(sb_str(&r.out), "auth_pass = 12345678\n");
	CHECK_CONTAINS(sb_str(&r.out), "virtual_ipaddress = 192.0.2.10/24 brd 192.0.2.255 dev eth0 label eth0:1\n");
	CHECK_CONTAINS(sb_str(&r.out), "track_interface = eth1 weight -20\n");
	CHECK_CONTAINS(sb_str(&r.out), "track_script = chk weight 5\n");
	/* keepalived clears nopreempt in an instance with state MASTER */
	CHECK(!strstr(sb_str(&r.out), "preempt = no\n"));
	CHECK(diag_has(&r.warn, "t.conf:21: nopreempt: keepalived ignores it in an instance with state MASTER"));
	/* keepalived's default version */
	CHECK_CONTAINS(sb_str(&r.out), "version = 2\n");
	CHECK(diag_has(&r.warn, "t.conf:2: state MASTER: "));
	CHECK(diag_has(&r.warn, "priority 150"));
	CHECK(diag_has(&r.warn, "t.conf:9: auth_pass: longer than 8"));
	CHECK(diag_has(&r.warn, "t.conf:12: virtual_ipaddress 192.0.2.10/24: 'no_track'"));
	CHECK(diag_has(&r.warn, "t.conf:19: track_script chk2: 'reverse'"));
	CHECK(diag_has(&r.warn, "t.conf:22: use_vmac: no equivalent"));
	CHECK(diag_has(&r.warn, "t.conf:23: frobnicate: unknown keyword in vrrp_instance"));
	/* the warnings head the output as comments */
	CHECK_CONTAINS(sb_str(&r.out), ";   t.conf:23: frobnicate: unknown keyword");
	conv_free(&r);
}

/* keepalived takes fractions of a second; director.ini whole milliseconds:
 * a finer one is not converted, and said so, never rounded away. */
TEST(seconds_in_whole_milliseconds)
{
	struct conv_result r;

	if (!convert("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  advert_int 0.0005\n"
		     "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n", &r))
		return;
	CHECK(!strstr(sb_str(&r.out), "advert_interval"));
	CHECK(diag_has(&r.warn, "t.conf:4: advert_int: '0.0005' is not a number of seconds in whole milliseconds"));
	conv_free(&r);
	if (!convert("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  advert_int 0.2500\n"
		     "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "advert_interval = 250ms\n");
	conv_free(&r);
}

TEST(global_defaults_and_sync)
{
	struct conv_result r;

	if (!convert("global_defs {\n router_id lb1\n vrrp_version 3\n vrrp_garp_master_delay 2\n"
		     " lvs_sync_daemon eth1 VI_1 id 7 port 9000 bogus\n lvs_timeouts tcp 900 udp 30\n"
		     " smtp_server 1.2.3.4\n}\n"
		     "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n"
		     " virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
		     "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 1\n"
		     " virtual_ipaddress {\n  2001:db8::1/64\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[global]\nrouter_id = lb1\nipvs_sync_interface = eth1\n"
				       "ipvs_sync_follow = VI_1\nipvs_sync_id = 7\nipvs_sync_port = 9000\n"
				       "ipvs_timeout_tcp = 900s\nipvs_timeout_udp = 30s\n");
	CHECK_CONTAINS(sb_str(&r.out), "virtual_ipaddress = 192.0.2.1\nversion = 3\ngarp_repeat_delay = 2s\n");
	CHECK(diag_has(&r.warn, "t.conf:5: lvs_sync_daemon: 'bogus' is not converted"));
	CHECK(diag_has(&r.warn, "t.conf:7: smtp_server: no equivalent"));
	conv_free(&r);

	/* without vrrp_version: 2, but 3 for IPv6 as keepalived does */
	if (!convert("vrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n"
		     " virtual_ipaddress {\n  2001:db8::1/64\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "version = 3\n");
	conv_free(&r);
}

TEST(script_and_group)
{
	struct conv_result r;

	if (!convert("vrrp_script chk {\n script \"pgrep -x -u haproxy haproxy\"\n timeout 5\n weight -10\n user haproxy\n}\n"
		     "vrrp_script chk2 {\n script /usr/bin/true\n interval 3\n}\n"
		     "vrrp_sync_group G {\n group {\n  A B\n  C\n }\n notify_master \"/bin/x y\" root\n"
		     " notify_stop /bin/z\n track_script {\n  chk\n }\n}\n", &r))
		return;
	/* keepalived's default interval (1s), and the timeout held to it */
	CHECK_CONTAINS(sb_str(&r.out), "[track_script chk]\ncommand = pgrep -x -u haproxy haproxy\ntimeout = 1s\n"
				       "weight = -10\ninterval = 1s\n");
	CHECK_CONTAINS(sb_str(&r.out), "[track_script chk2]\ncommand = /usr/bin/true\ninterval = 3s\n");
	CHECK_CONTAINS(sb_str(&r.out), "[sync_group G]\ninstances = A, B, C\nnotify_master = /bin/x y\n");
	CHECK(diag_has(&r.warn, "t.conf:3: timeout 5: longer than the interval"));
	CHECK(diag_has(&r.warn, "t.conf:5: user: no equivalent"));
	CHECK(diag_has(&r.warn, "t.conf:16: notify_master: user root"));
	CHECK(diag_has(&r.warn, "t.conf:17: notify_stop: no equivalent"));
	CHECK(diag_has(&r.warn, "t.conf:18: track_script: no equivalent"));
	conv_free(&r);
}

/* A script that only asks whether a process runs becomes [track_process]
 * with a note, and the instances that tracked it track the process; one
 * that asks more stays a script. */
TEST(process_scripts_become_track_process)
{
	static const char *const forms[] = {
		"killall -0 haproxy", "/usr/bin/killall -0 haproxy", "pidof haproxy", "pgrep -x haproxy",
		"/usr/bin/pgrep haproxy",
	};
	struct conv_result r;
	char text[512];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(text, sizeof(text), "vrrp_script chk {\n script \"%s\"\n interval 2\n weight 2\n}\n"
			 "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n"
			 " track_script {\n  chk weight 5\n }\n}\n", forms[i]);
		if (!convert(text, &r))
			return;
		CHECK_CONTAINS(sb_str(&r.out), "[track_process chk]\n; from vrrp_script chk (");
		CHECK_CONTAINS(sb_str(&r.out), "directord follows the process itself");
		CHECK_CONTAINS(sb_str(&r.out), "process = haproxy\nweight = 2\n");
		CHECK_CONTAINS(sb_str(&r.out), "track_process = chk weight 5\n");
		CHECK(!strstr(sb_str(&r.out), "track_script"));
		CHECK_EQ_INT(r.warn.n, 0);
		conv_free(&r);
	}
	for (const char *const *o = (const char *const[]){ "killall haproxy", "pgrep -f haproxy", "pidof -s haproxy",
							      "killall -0 'a b'", "pgrep -x haproxy; true", NULL };
	     *o; o++) {
		snprintf(text, sizeof(text), "vrrp_script chk {\n script \"%s\"\n}\n", *o);
		if (!convert(text, &r))
			return;
		CHECK_CONTAINS(sb_str(&r.out), "[track_script chk]\n");
		CHECK(!strstr(sb_str(&r.out), "[track_process"));
		conv_free(&r);
	}
	/* A name or parameter with a blank cannot be written. */
	if (!convert("vrrp_track_process p {\n process \"/opt/a b\"\n}\n"
		     "vrrp_track_process q {\n process x \"p 2\"\n}\n", &r))
		return;
	CHECK(diag_has(&r.warn, "t.conf:2: process: '/opt/a b' is empty or holds blanks"));
	CHECK(diag_has(&r.warn, "t.conf:5: process: 'p 2' is empty or holds blanks"));
	CHECK(diag_has(&r.warn, "t.conf:1: vrrp_track_process p: no process"));
	conv_free(&r);
}

TEST(virtual_server_checks)
{
	struct conv_result r;

	if (!convert("virtual_server 192.0.2.80 80 {\n delay_loop 3\n lb_algo rr\n lb_kind DR\n"
		     " persistence_timeout 300\n persistence_granularity 255.255.255.0\n protocol TCP\n"
		     " sorry_server 198.18.0.99 80\n"
		     " real_server 198.18.0.1 80 {\n  weight 3\n  inhibit_on_failure\n"
		     "  HTTP_GET {\n   url {\n    path /a\n    digest abc\n   }\n   connect_timeout 5\n"
		     "   connect_port 8080\n   retry 2\n   delay_before_retry 1\n  }\n }\n"
		     " real_server 198.18.0.2 80 {\n  HTTP_GET {\n   url {\n    path /b\n   }\n   connect_timeout 5\n"
		     "   retry 2\n  }\n  notify_down /bin/x\n }\n"
		     " real_server 198.18.0.3 80 {\n  TCP_CHECK {\n  }\n }\n"
		     "}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[virtual_server vs_192.0.2.80_80]\naddress = 192.0.2.80:80\n"
				       "check_interval = 3s\nscheduler = rr\nmethod = dr\npersistence_timeout = 300s\n"
				       "persistence_netmask = 24\nprotocol = tcp\nsorry_server = 198.18.0.99:80\n"
				       "start_down = no\ncheck = http\ncheck_rise = 1\ncheck_fall = 3\n"
				       "check_timeout = 3s\ncheck_path = /a\ncheck_status = 200-299\n"
				       "inhibit_on_failure = yes\n"
				       "real_server = 198.18.0.1:80 weight=3 check_port=8080\n"
				       "real_server = 198.18.0.2:80 check_path=/b\n"
				       "real_server = 198.18.0.3:80\n");
	CHECK(diag_has(&r.warn, "t.conf:15: digest: no equivalent"));
	CHECK(diag_has(&r.warn, "t.conf:17: connect_timeout 5: longer than delay_loop"));
	CHECK(diag_has(&r.warn, "t.conf:20: delay_before_retry: no equivalent"));
	CHECK(diag_has(&r.warn, "t.conf:31: notify_down: no equivalent"));
	CHECK(diag_has(&r.warn, "t.conf:34: real_server 198.18.0.3: checked by http"));
	CHECK(diag_has(&r.warn, "inhibit_on_failure: set on 1 of 3 real servers"));
	conv_free(&r);
}

TEST(virtual_server_misc_fwmark_group)
{
	struct conv_result r;

	if (!convert("virtual_server fwmark 7 {\n lb_kind DR\n protocol UDP\n"
		     " real_server 198.18.0.1 53 {\n  MISC_CHECK {\n   misc_path \"/usr/bin/dig @x\"\n"
		     "   misc_timeout 2\n   misc_dynamic\n  }\n }\n}\n"
		     "virtual_server group G {\n}\n"
		     "virtual_server 2001:db8::1 443 {\n protocol UDP\n real_server 2001:db8::2 443 {\n  SSL_GET {\n  }\n }\n}\n",
		     &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[virtual_server fwmark_7]\nfwmark = 7\nmethod = dr\nstart_down = no\n"
				       "check = script\ncheck_interval = 60s\ncheck_rise = 1\ncheck_fall = 1\n"
				       "check_timeout = 2s\n"
				       "check_command = /usr/bin/dig @x\ncheck_dynamic_weight = yes\n"
				       "real_server = 198.18.0.1\n");
	CHECK_CONTAINS(sb_str(&r.out), "[virtual_server vs_2001_db8__1_443_udp]\naddress = [2001:db8::1]:443\n");
	/* SSL_GET is an https check, which verifies no certificate either. */
	CHECK_CONTAINS(sb_str(&r.out), "check = https\n");
	CHECK_CONTAINS(sb_str(&r.out), "check_status = 200-299\n");
	CHECK_CONTAINS(sb_str(&r.out), "real_server = [2001:db8::2]:443\n");
	CHECK(diag_has(&r.warn, "t.conf:3: protocol: a firewall mark service takes every protocol"));
	CHECK(diag_has(&r.warn, "t.conf:12: virtual_server group G: "));
	CHECK(!diag_has(&r.warn, "SSL_GET"));
	conv_free(&r);
}

/* keepalived's defaults (keepalived.conf(5) of Debian's keepalived 2.2.7)
 * where directord's differ: each is written out explicitly. */
static const char plain_vs[] =
	"virtual_server 192.0.2.80 80 {\n"
	" real_server 198.18.0.1 80 {\n"
	"  HTTP_GET {\n   url {\n    path /\n   }\n  }\n }\n}\n";

TEST(defaults_virtual_server)
{
	struct conv_result r;

	if (!convert(plain_vs, &r))
		return;
	/* "Override default LVS forwarding method (default is NAT)" */
	CHECK_CONTAINS(sb_str(&r.out), "method = nat\n");
	/* "delay timer for checker polling (60 seconds if not specified)" */
	CHECK_CONTAINS(sb_str(&r.out), "check_interval = 60s\n");
	/* "connect_timeout ... The default is 5 seconds" */
	CHECK_CONTAINS(sb_str(&r.out), "check_timeout = 5s\n");
	/* "retry ... Default: 1": down at the second failure in a row */
	CHECK_CONTAINS(sb_str(&r.out), "check_fall = 2\n");
	/* status_code "Default is 200-299" */
	CHECK_CONTAINS(sb_str(&r.out), "check_status = 200-299\n");
	/* a server is back at its first good check, and up at start without alpha */
	CHECK_CONTAINS(sb_str(&r.out), "check_rise = 1\n");
	CHECK_CONTAINS(sb_str(&r.out), "start_down = no\n");
	CHECK_EQ_INT(r.warn.n, 0);
	conv_free(&r);

	/* a real server's lvs_method is kept in its entry, over the default */
	if (!convert("virtual_server 192.0.2.80 80 {\n alpha\n persistence_timeout\n"
		     " real_server 198.18.0.1 80 {\n  lvs_method DR\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "method = nat\n");
	CHECK_CONTAINS(sb_str(&r.out), "real_server = 198.18.0.1:80 method=dr\n");
	CHECK_CONTAINS(sb_str(&r.out), "start_down = yes\n");
	/* "persistence_timeout [<INTEGER>]": "default 6 minutes" */
	CHECK_CONTAINS(sb_str(&r.out), "persistence_timeout = 360s\n");
	conv_free(&r);
}

TEST(defaults_retry_and_timeout)
{
	struct conv_result r;

	/* retry N is N more checks after a failure: check_fall N + 1 */
	if (!convert("virtual_server 192.0.2.80 80 {\n delay_loop 10\n"
		     " real_server 198.18.0.1 80 {\n  TCP_CHECK {\n   retry 3\n   delay_before_retry 2\n  }\n }\n}\n",
		     &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "check_fall = 4\n");
	CHECK(diag_has(&r.warn, "t.conf:6: delay_before_retry: no equivalent"));
	conv_free(&r);

	/* MISC_CHECK: "The retry default is 0" */
	if (!convert("virtual_server 192.0.2.80 80 {\n delay_loop 10\n"
		     " real_server 198.18.0.1 80 {\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "check_fall = 1\n");
	conv_free(&r);

	/* retry and connect_timeout of the virtual server, then of the real
	 * server, are the defaults of the checks below them */
	if (!convert("virtual_server 192.0.2.80 80 {\n delay_loop 10\n retry 2\n connect_timeout 4\n"
		     " real_server 198.18.0.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "check_fall = 3\n");
	CHECK_CONTAINS(sb_str(&r.out), "check_timeout = 4s\n");
	conv_free(&r);
	if (!convert("virtual_server 192.0.2.80 80 {\n delay_loop 10\n retry 2\n"
		     " real_server 198.18.0.1 80 {\n  retry 5\n  connect_timeout 3\n  TCP_CHECK {\n  }\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "check_fall = 6\n");
	CHECK_CONTAINS(sb_str(&r.out), "check_timeout = 3s\n");
	conv_free(&r);

	/* the default 5 s timeout held to a shorter delay_loop, with a warning */
	if (!convert("virtual_server 192.0.2.80 80 {\n delay_loop 2\n"
		     " real_server 198.18.0.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "check_interval = 2s\n");
	CHECK_CONTAINS(sb_str(&r.out), "check_timeout = 2s\n");
	CHECK(diag_has(&r.warn, "t.conf:4: TCP_CHECK: keepalived's default connect_timeout of 5s"));
	conv_free(&r);
}

TEST(defaults_vrrp)
{
	struct conv_result r;

	/* state MASTER without a priority is the address owner, 255; keepalived
	 * clears nopreempt and preempt_delay with state MASTER */
	if (!convert("vrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 1\n nopreempt\n"
		     " preempt_delay 5\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "priority = 255\n");
	CHECK(!strstr(sb_str(&r.out), "\npreempt = ") && !strstr(sb_str(&r.out), "\npreempt_delay = "));
	CHECK(diag_has(&r.warn, "t.conf:2: state MASTER: no equivalent"));
	CHECK(diag_has(&r.warn, "priority 255, keepalived's default for state MASTER"));
	CHECK(diag_has(&r.warn, "t.conf:5: nopreempt: keepalived ignores it"));
	CHECK(diag_has(&r.warn, "t.conf:6: preempt_delay: keepalived ignores it"));
	/* "vrrp_version ... (default: 2, but IPv6 instances will use version 3)" */
	CHECK_CONTAINS(sb_str(&r.out), "version = 2\n");
	conv_free(&r);

	/* state BACKUP: priority 100, as directord; nopreempt kept */
	if (!convert("vrrp_instance B {\n state BACKUP\n interface eth0\n virtual_router_id 1\n nopreempt\n"
		     " virtual_ipaddress {\n  192.0.2.1\n }\n}\n", &r))
		return;
	CHECK(!strstr(sb_str(&r.out), "priority ="));
	CHECK_CONTAINS(sb_str(&r.out), "preempt = no\n");
	CHECK(diag_has(&r.warn, "(this one has priority 100)"));
	conv_free(&r);

	/* IPv6 always speaks VRRPv3, whatever vrrp_version or version say */
	if (!convert("global_defs {\n vrrp_version 2\n}\n"
		     "vrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n"
		     " virtual_ipaddress {\n  2001:db8::1/64\n }\n}\n"
		     "vrrp_instance W6 {\n interface eth0\n virtual_router_id 2\n version 2\n"
		     " virtual_ipaddress {\n  2001:db8::2/64\n }\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[vrrp V6]\ninterface = eth0\nvirtual_router_id = 1\n"
				       "virtual_ipaddress = 2001:db8::1/64\nversion = 3\n");
	CHECK_CONTAINS(sb_str(&r.out), "[vrrp W6]\ninterface = eth0\nvirtual_router_id = 2\nversion = 3\n");
	CHECK(!strstr(sb_str(&r.out), "version = 2"));
	CHECK(diag_has(&r.warn, "t.conf:14: version 2: keepalived ignores it for an IPv6 instance"));
	conv_free(&r);

	/* vrrp_script: "seconds between script invocations, (default: 1 second)" */
	if (!convert("vrrp_script s {\n script /bin/true\n}\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[track_script s]\ncommand = /bin/true\ninterval = 1s\n");
	conv_free(&r);

	/* global_tracking is sync_group_tracking_weight: no warning on the
	 * members' weights */
	if (!convert("vrrp_sync_group G {\n group {\n  A\n }\n global_tracking\n}\n"
		     "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
		     " virtual_ipaddress {\n  192.0.2.1\n }\n track_interface {\n  eth1 weight 5\n }\n}\n", &r))
		return;
	CHECK(diag_has(&r.warn, "t.conf:5: global_tracking: no equivalent in director.ini: deprecated"));
	CHECK(r.warn.n == 1);
	conv_free(&r);
	if (!convert("vrrp_sync_group G {\n group {\n  A\n }\n}\n"
		     "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
		     " virtual_ipaddress {\n  192.0.2.1\n }\n track_interface {\n  eth1 weight 5\n }\n}\n", &r))
		return;
	CHECK(diag_has(&r.warn, "t.conf:13: track_interface eth1: keepalived sets the tracking weights"));
	conv_free(&r);
}

TEST(values_needing_quotes_and_names)
{
	struct conv_result r;

	if (!convert("vrrp_script \"chk:a\" {\n script \"pgrep x; pgrep y\"\n}\n"
		     "vrrp_instance I {\n interface eth0\n virtual_router_id 2\n"
		     " virtual_ipaddress {\n  192.0.2.1\n }\n track_script {\n  chk:a\n }\n}\n"
		     "unknown_top 1\n$VAR=1\n", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "[track_script chk_a]\ncommand = \"pgrep x; pgrep y\"\n");
	CHECK_CONTAINS(sb_str(&r.out), "track_script = chk_a\n");
	CHECK(diag_has(&r.warn, "t.conf:1: vrrp_script chk:a: written as chk_a"));
	CHECK(diag_has(&r.warn, "t.conf:14: unknown_top: unknown keyword"));
	CHECK(diag_has(&r.warn, "t.conf:15: $VAR=1: keepalived's parameters"));
	conv_free(&r);
}

static const char shadow_like[] = "root:$y$j9T$SECRETHASH:19000:0:99999:7:::\n"
				  "daemon:*:19000:0:99999:7:::\n";

/* A file that is not keepalived.conf (an include of /etc/shadow by
 * mistake) is refused at its first line, and none of it is echoed. */
TEST(include_not_keepalived_refused)
{
	struct ka_tree *t = NULL;
	struct ini_diag d;

	make_dir();
	write_at("shadow", shadow_like);
	write_at("incshadow.conf", "global_defs {\n router_id lb1\n}\ninclude shadow\n");
	CHECK(parse_path("incshadow.conf", &t, &d) < 0);
	CHECK(diag_has(&d, "shadow:1: not keepalived syntax"));
	CHECK(!diag_has(&d, "SECRET"));
	CHECK(!diag_has(&d, "daemon"));
	ini_diag_free(&d);

	/* Words in blocks are names and addresses: not judged, but an unknown
	 * one that is not shaped as a keyword is not shown either. */
	struct conv_result r;

	write_at("inblock.conf", "vrrp_instance I {\n interface eth0\n include shadow\n}\n");
	CHECK_EQ_INT(parse_path("inblock.conf", &t, &d), 0);
	ini_diag_free(&d);
	sb_init(&r.out);
	ini_diag_init(&r.warn);
	if (t) {
		CHECK_EQ_INT(ka_import(t, &r.out, &r.warn), 0);
		kaconf_free(t);
	}
	CHECK(diag_has(&r.warn, "shadow:1: (not shown: not a keepalived keyword): unknown keyword in vrrp_instance"));
	CHECK(!diag_has(&r.warn, "SECRET"));
	CHECK(!strstr(sb_str(&r.out), "SECRET"));
	conv_free(&r);
}

TEST(nothing_to_convert)
{
	struct conv_result r;

	if (!convert("global_defs {\n router_id x\n}\n", &r))
		return;
	CHECK(diag_has(&r.warn, "no vrrp_instance and no virtual_server"));
	conv_free(&r);
	/* an empty file converts to an empty one, without crashing */
	if (!convert("", &r))
		return;
	CHECK_CONTAINS(sb_str(&r.out), "Every keepalived setting was converted");
	conv_free(&r);
}

/* The temporary files go when the tests end. */
static void __attribute__((destructor)) cleanup(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

TEST_MAIN(T(words_quotes_comments), T(braces_anywhere), T(syntax_errors_have_lines), T(deep_nesting_refused), T(include_depth_capped), T(include_not_keepalived_refused),
	  T(include_glob_relative_sorted), T(include_missing_and_cycle), T(include_fifo_refused), T(include_depth_limited),
	  T(instance_maps_and_warns), T(seconds_in_whole_milliseconds), T(global_defaults_and_sync), T(script_and_group), T(process_scripts_become_track_process),
	  T(virtual_server_checks), T(virtual_server_misc_fwmark_group), T(defaults_virtual_server),
	  T(defaults_retry_and_timeout), T(defaults_vrrp), T(values_needing_quotes_and_names),
	  T(nothing_to_convert))
