/* rs-agent: command line. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlsock.h"
#include "log.h"
#include "privdrop.h"
#include "rs-agent.h"

#define CTL_TIMEOUT_MS 5000

/* `check` exit codes, as monitoring plugins use them. */
enum { EXIT_OK = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_UNKNOWN = 3 };

struct options {
	const char *config;
	bool verbose;
	bool detach;
	bool json;
	bool configtest;
	const char *command;
};

static const char usage_text[] =
	"usage: rs-agent [-dtv] [-f file] command\n"
	"commands:\n"
	"  run              run the agent (foreground; -d to detach)\n"
	"  apply            put the VIPs and ARP settings in place, once\n"
	"  check            verify the live state; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN\n"
	"  status [--json]  what the running agent sees and reports\n"
	"  drain | ready | maint\n"
	"                   set the admin state (kept across restarts)\n"
	"  reload           make the running agent re-read its configuration\n"
	"  remove           undo what apply did\n"
	"  configtest       check the configuration (same as -t)\n";

static void __attribute__((noreturn)) usage(int code)
{
	usage_exit(code, usage_text);
}

/* A usage error of the command line whose command is `command` (NULL
 * when none). `check` follows the monitoring plugins' convention, where
 * 2 is CRITICAL: its usage errors are UNKNOWN (3), with the reason as
 * the first line of stdout, which is what a monitoring system shows. An
 * empty fmt: getopt has said what is wrong already. */
static void __attribute__((noreturn, format(printf, 2, 3))) usage_fail(const char *command, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (command && strcmp(command, "check") == 0) {
		printf("UNKNOWN: %s\n", reason[0] ? reason : "an option rs-agent does not take, or one without its value");
		fflush(stdout);
		usage_exit(EXIT_UNKNOWN, usage_text);
	}
	if (reason[0])
		usage_error(2, usage_text, "rs-agent: %s", reason);
	usage(2);
}

static struct rs_config *load_config(const struct options *o)
{
	struct rs_config *cfg = NULL;
	struct ini_diag diag;
	int ret;

	ini_diag_init(&diag);
	ret = rs_config_load(o->config, &cfg, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	if (ret < 0 && diag.n == 0)
		fprintf(stderr, "%s: %s\n", o->config, strerror(-ret));
	ini_diag_free(&diag);
	return ret < 0 ? NULL : cfg;
}

static int cmd_configtest(const struct options *o)
{
	struct rs_config *cfg = load_config(o);
	struct strbuf sb;

	if (!cfg)
		return 1;
	if (cfg->user_warning[0])
		fprintf(stderr, "%s\n", cfg->user_warning);
	if (o->verbose) {
		sb_init(&sb);
		rs_config_print(cfg, &sb);
		fputs(sb_str(&sb), stdout);
		sb_free(&sb);
	}
	printf("configuration OK\n");
	rs_config_free(cfg);
	return 0;
}

static void print_notes(const char *text)
{
	const char *end;

	for (; *text; text = end + (*end == '\n')) {
		end = strchrnul(text, '\n');
		fprintf(stderr, "rs-agent: %.*s\n", (int)(end - text), text);
	}
}

/* state_dir as root prepares it; admin.d goes to global.user. */
static int open_state(const struct rs_config *cfg, struct state_dir *sd)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct strbuf notes;
	int ret;

	if (geteuid() == 0 && user_lookup(cfg->user, &uid, &gid) < 0)
		uid = (uid_t)-1;
	sb_init(&notes);
	ret = state_dir_prepare(cfg->state_dir, uid, gid, sd, &notes);
	print_notes(sb_str(&notes));
	sb_free(&notes);
	return ret;
}

static void print_report(const struct dr_report *rep, bool only_changes)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct dr_item *it = &rep->items[i];

		if (it->changed)
			printf("changed: %s\n", it->text);
		else if (it->severity == DR_CRITICAL)
			printf("error: %s\n", it->text);
		else if (it->severity == DR_WARNING)
			printf("warning: %s\n", it->text);
		else if (!only_changes)
			printf("ok: %s\n", it->text);
	}
}

static bool daemon_running(const struct rs_config *cfg)
{
	struct strbuf sb;
	int ret;

	sb_init(&sb);
	ret = ctl_call(cfg->control_socket, "status json", CTL_TIMEOUT_MS, &sb);
	sb_free(&sb);
	return ret == 0;
}

/* What apply and remove both work on: the configuration, the record of
 * what apply changed, and the kernel. Only when no agent runs, since two
 * writers of state_dir/applied would lose records. */
struct offline {
	struct rs_config *cfg;
	struct state_dir sd;
	struct applied_state st;
	struct kernel_ops k;
};

static int offline_open(const struct options *o, struct offline *off, const char *why_not_running)
{
	char err[512];
	int ret;

	memset(off, 0, sizeof(*off));
	off->cfg = load_config(o);
	if (!off->cfg)
		return -1;
	if (daemon_running(off->cfg)) {
		fprintf(stderr, "rs-agent: the agent is running; %s\n", why_not_running);
		goto fail_cfg;
	}
	if (open_state(off->cfg, &off->sd) < 0)
		goto fail_cfg;
	ret = applied_state_load(&off->sd, &off->st, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "rs-agent: %s; nothing done\n", err);
		goto fail_sd;
	}
	dr_default_labels(off->cfg, &off->st);
	ret = kernel_open(&off->k);
	if (ret < 0) {
		fprintf(stderr, "rs-agent: rtnetlink: %s\n", strerror(-ret));
		applied_state_free(&off->st);
		goto fail_sd;
	}
	return 0;
fail_sd:
	state_dir_close(&off->sd);
fail_cfg:
	rs_config_free(off->cfg);
	return -1;
}

static void offline_close(struct offline *off)
{
	kernel_close(&off->k);
	state_dir_close(&off->sd);
	applied_state_free(&off->st);
	rs_config_free(off->cfg);
}

static int cmd_apply(const struct options *o)
{
	struct offline off;
	struct dr_report rep;
	const char *dir;
	int ret;

	if (offline_open(o, &off, "it applies the configuration itself (use rs-agent reload)") < 0)
		return 1;
	dir = off.cfg->state_dir;
	/* Originals reach the disk before the first change. */
	ret = dr_record(&off.k, &off.st);
	if (ret == 0)
		ret = applied_state_save(&off.sd, &off.st);
	if (ret < 0) {
		fprintf(stderr, "rs-agent: recording the current settings in %s: %s\n", dir, strerror(-ret));
		offline_close(&off);
		return 1;
	}
	dr_report_init(&rep);
	ret = dr_apply(off.cfg, &off.k, &off.st, &rep);
	print_report(&rep, !o->verbose);
	if (applied_state_save(&off.sd, &off.st) < 0)
		fprintf(stderr, "rs-agent: saving %s/applied failed\n", dir);
	if (ret < 0)
		printf("apply failed: %u error(s)\n", rep.errors);
	else if (rep.changes == 0)
		printf("nothing to change: %zu VIP(s) and the ARP settings are already in place\n", off.cfg->vips.n);
	else
		printf("applied %u change(s)\n", rep.changes);
	dr_report_free(&rep);
	offline_close(&off);
	return ret < 0 ? 1 : 0;
}

static int cmd_remove(const struct options *o)
{
	struct offline off;
	struct dr_report rep;
	int ret;

	if (offline_open(o, &off, "it would put everything back; stop it first") < 0)
		return 1;
	dr_report_init(&rep);
	ret = dr_remove(&off.k, &off.st, &rep);
	print_report(&rep, !o->verbose);
	if (ret < 0) {
		printf("remove failed: %u error(s); %s/applied kept for another try\n", rep.errors, off.cfg->state_dir);
	} else {
		ret = applied_state_remove(&off.sd);
		if (ret < 0)
			fprintf(stderr, "rs-agent: removing %s/applied: %s\n", off.cfg->state_dir, strerror(-ret));
		if (rep.changes == 0)
			printf("nothing to remove\n");
		else
			printf("removed %u change(s)\n", rep.changes);
	}
	dr_report_free(&rep);
	offline_close(&off);
	return ret < 0 ? 1 : 0;
}

static const char *check_summary(const struct dr_report *rep)
{
	static char buf[256];
	unsigned bad = 0;
	const char *first = NULL;

	for (size_t i = 0; i < rep->n; i++) {
		if (rep->items[i].severity == rep->worst && rep->worst != DR_OK && !first)
			first = rep->items[i].text;
		bad += rep->items[i].severity != DR_OK;
	}
	if (!first)
		snprintf(buf, sizeof(buf), "%zu items checked, all fine", rep->n);
	else if (bad > 1)
		snprintf(buf, sizeof(buf), "%s (and %u more)", first, bad - 1);
	else
		snprintf(buf, sizeof(buf), "%s", first);
	return buf;
}

static int cmd_check(const struct options *o)
{
	static const char *const words[] = { "OK", "WARNING", "CRITICAL" };
	struct rs_config *cfg = load_config(o);
	enum admin_state admin;
	struct state_dir sd;
	struct kernel_ops k;
	struct dr_report rep;
	char err[512];
	int ret, rc;

	if (!cfg) {
		printf("UNKNOWN: configuration %s is not valid\n", o->config);
		return EXIT_UNKNOWN;
	}
	ret = kernel_open(&k);
	if (ret < 0) {
		printf("UNKNOWN: rtnetlink: %s\n", strerror(-ret));
		rs_config_free(cfg);
		return EXIT_UNKNOWN;
	}
	dr_report_init(&rep);
	dr_verify(cfg, &k, &rep);
	if (state_dir_open_ro(cfg->state_dir, &sd) < 0)
		dr_report_add(&rep, DR_WARNING, "cannot open the state directory %s", cfg->state_dir);
	else if (admin_state_load(&sd, &admin, err, sizeof(err)) < 0)
		dr_report_add(&rep, DR_WARNING, "admin state: %s", err);
	else if (admin != ADMIN_READY)
		dr_report_add(&rep, DR_WARNING, "admin state is %s", admin_state_name(admin));
	else
		dr_report_add(&rep, DR_OK, "admin state is ready");
	rc = (int)rep.worst;
	/* Monitoring systems show the first line: make it the summary. */
	printf("%s: %s\n", words[rc], check_summary(&rep));
	for (size_t i = 0; i < rep.n; i++)
		printf("%s: %s\n", words[rep.items[i].severity], rep.items[i].text);
	dr_report_free(&rep);
	state_dir_close(&sd);
	kernel_close(&k);
	rs_config_free(cfg);
	return rc;
}

static int cmd_control(const struct options *o, const char *request, bool raw)
{
	struct rs_config *cfg = load_config(o);
	struct strbuf sb;
	int ret, rc = 0;

	if (!cfg)
		return 1;
	sb_init(&sb);
	ret = ctl_call(cfg->control_socket, request, CTL_TIMEOUT_MS, &sb);
	if (ret == -EACCES || ret == -EPERM) {
		fprintf(stderr, "rs-agent: %s: permission denied (see global.control_group and control_mode)\n",
			cfg->control_socket);
		rc = 1;
	} else if (ret < 0) {
		fprintf(stderr, "rs-agent: the agent is not running (%s: %s)\n", cfg->control_socket,
			strerror(-ret));
		rc = 1;
	} else {
		fputs(sb_str(&sb), stdout);
		if (!raw && strstr(sb_str(&sb), "\"error\""))
			rc = 1;
	}
	sb_free(&sb);
	rs_config_free(cfg);
	return rc;
}

/* drain/ready/maint: through the daemon when it runs, else on disk. */
static int cmd_admin(const struct options *o, enum admin_state a)
{
	struct rs_config *cfg;
	struct state_dir sd;
	int ret;

	cfg = load_config(o);
	if (!cfg)
		return 1;
	if (daemon_running(cfg)) {
		rs_config_free(cfg);
		return cmd_control(o, admin_state_name(a), false);
	}
	ret = open_state(cfg, &sd);
	if (ret == 0) {
		ret = admin_state_save(&sd, a);
		state_dir_close(&sd);
	}
	if (ret < 0)
		fprintf(stderr, "rs-agent: saving the admin state in %s/" STATE_ADMIN_DIR ": %s\n",
			cfg->state_dir, strerror(-ret));
	else
		printf("admin state: %s (saved; the agent is not running and will start with it)\n",
		       admin_state_name(a));
	rs_config_free(cfg);
	return ret < 0 ? 1 : 0;
}

static int cmd_run(const struct options *o)
{
	struct rs_config *cfg = load_config(o);

	if (!cfg)
		return 1;
	/* Start-up errors go to the terminal even with -d; the daemon moves to
	 * syslog once it is ready. */
	log_init("rs-agent", true, o->verbose ? LOG_LEVEL_DEBUG : (enum log_level)cfg->log_level);
	return daemon_run(cfg, o->detach, o->verbose);
}

/* -d and --json belong to one command each; -t is configtest. */
static void check_combinations(const struct options *o)
{
	const char *what = o->configtest ? "-t" : o->command;

	if (o->detach && strcmp(o->command, "run") != 0)
		usage_fail(o->command, "-d (detach) is for run only, not for %s", what);
	if (o->json && strcmp(o->command, "status") != 0)
		usage_fail(o->command, "--json is for status only, not for %s", what);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "detach", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool bad_option = false;
	const char *word;
	int c;

	o->config = RS_AGENT_CONF;
	/* A bad option is reported once the command is known: its exit code
	 * depends on it (see usage_fail). */
	while ((c = getopt_long(argc, argv, "df:htv", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->detach = true; break;
		case 'f': o->config = optarg; break;
		case 'j': o->json = true; break;
		case 't': o->configtest = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(0);
		default: bad_option = true; break;
		}
	}
	word = optind < argc ? argv[optind] : NULL;
	if (bad_option)
		usage_fail(word, "%s", "");
	if (o->configtest && word)
		usage_fail(word, "-t is the configtest command: no command may follow it ('%s')", word);
	if (!o->configtest && !word)
		usage_fail(NULL, "no command");
	o->command = o->configtest ? "configtest" : argv[optind++];
	/* `status --json` reads naturally; accept options after the command
	 * (getopt has taken them already, unless POSIXLY_CORRECT is set). */
	for (; optind < argc; optind++) {
		if (strcmp(argv[optind], "--json") != 0)
			usage_fail(o->command, "%s: unexpected argument '%s'", o->command, argv[optind]);
		o->json = true;
	}
	check_combinations(o);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	enum admin_state a;

	parse_args(argc, argv, &o);
	log_init("rs-agent", true, o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (strcmp(o.command, "configtest") == 0)
		return cmd_configtest(&o);
	if (strcmp(o.command, "run") == 0)
		return cmd_run(&o);
	if (strcmp(o.command, "apply") == 0)
		return cmd_apply(&o);
	if (strcmp(o.command, "remove") == 0)
		return cmd_remove(&o);
	if (strcmp(o.command, "check") == 0)
		return cmd_check(&o);
	if (strcmp(o.command, "status") == 0)
		return cmd_control(&o, o.json ? "status json" : "status", false);
	if (strcmp(o.command, "reload") == 0)
		return cmd_control(&o, "reload", false);
	if (admin_state_parse(o.command, &a) == 0)
		return cmd_admin(&o, a);
	usage_fail(o.command, "unknown command '%s'", o.command);
}
