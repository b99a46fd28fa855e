/* directorctl: ask the running directord over its control socket, and
 * convert keepalived.conf offline. It links common/ and its own folder
 * only: what it shares with the daemon is director/proto.h. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"
#include "doctor.h"
#include "privdrop.h"
#include "ini.h"
#include "kaconf.h"
#include "kaimport.h"
#include "proto.h"

#define CTL_TIMEOUT_MS 10000
#define DRAIN_WAIT_DEFAULT_S 30
#define DRAIN_WAIT_MAX_S 86400
#define DRAIN_QUIET_MS 2000		/* counters still this long: no traffic comes any more */
#define DRAIN_POLL_MS 250

static const char usage_text[] =
	"usage: directorctl [-f file | -s socket] command\n"
	"commands:\n"
	"  status [--json]        what directord sees: instances, priorities, masters, drops, tracks,\n"
	"                         virtual servers and the state and weight of each real server\n"
	"  reload                 re-read the configuration (what did not change keeps its state)\n"
	"  drain SERVICE SERVER   weight 0 for a real server: no new connections, existing ones go on\n"
	"  enable SERVICE SERVER  undo drain (SERVER is ADDR:PORT, or ADDR when it is there once)\n"
	"  drain-director [--wait[=SECONDS]]\n"
	"                         withdraw every announced VIP (kept across restarts); --wait: until\n"
	"                         the announced services' packet counters stay still for 2 s (at most\n"
	"                         SECONDS, default 30; exit 1 when they do not)\n"
	"  enable-director        announce them again\n"
	"  doctor [--json] [--timeout SECONDS] [SERVICE]\n"
	"                         probe each real server (of SERVICE, or all) from this director and say\n"
	"                         what breaks DR and how to fix it; exit 0: no finding, 1: findings,\n"
	"                         2: could not run (needs root: CAP_NET_RAW); at most SECONDS (60)\n"
	"  import-keepalived [-o out] keepalived.conf\n"
	"                         write the equivalent director.ini (to stdout by default) and list\n"
	"                         on stderr, with file and line, what has no equivalent\n";

static void __attribute__((noreturn)) usage(int code)
{
	usage_exit(code, usage_text);
}

/* Exit 2 with why, then the summary. */
#define usage_fail(...) usage_error(2, usage_text, "directorctl: " __VA_ARGS__)

/* Words after what a command takes (argv[0] is the command): refused as
 * such, so that `reload now` is not reported as an unknown command. */
static void no_more_args(int argc, char **argv, int used)
{
	if (argc <= used)
		return;
	if (argv[used][0] == '-')
		usage_fail("%s: unexpected argument '%s' (options come before the command)", argv[0], argv[used]);
	usage_fail("%s: unexpected argument '%s'", argv[0], argv[used]);
}

/* A word of a request line: the daemon splits the line on blanks. */
static bool word_ok(const char *s)
{
	if (!*s || strlen(s) > CTL_WORD_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* [global] control_socket, and nothing else of the file: a mistake
 * elsewhere in it (often why one asks the daemon) must not keep the
 * client from the daemon, which runs the file it last accepted. */
struct ctl_global {
	char *control_socket;
};

static void *ctl_global_instance(void *cfg, const char *name)
{
	(void)name;
	return cfg;
}

static const struct ini_key ctl_global_keys[] = {
	{ "control_socket", &ini_type_string, offsetof(struct ctl_global, control_socket), 0, 0, DIRECTORD_SOCKET,
	  false, NULL },
	{ NULL, NULL, 0, 0, 0, NULL, false, NULL },
};

static const struct ini_section ctl_sections[] = {
	{ "global", false, false, ctl_global_keys, ctl_global_instance },
};

/* The socket named in the file's [global], or the default when the file
 * does not name one. A file that cannot be read: NULL and the reason on
 * stderr when it was named with -f; the default socket when it is the
 * default file (a host where the daemon runs from another file). */
static char *socket_from_config(const char *path, bool named)
{
	const struct ini_schema schema = { ctl_sections, 1 };
	struct ctl_global g = { NULL };
	struct ini_diag diag;
	char *data = NULL, *sock = NULL;
	size_t len;

	ini_diag_init(&diag);
	if (ini_read_file(path, &data, &len, &diag) < 0) {
		for (size_t i = 0; named && i < diag.n; i++)
			fprintf(stderr, "directorctl: %s\n", diag.msgs[i]);
		ini_diag_free(&diag);
		return named ? NULL : strdup(DIRECTORD_SOCKET);
	}
	ini_diag_free(&diag);
	ini_diag_init(&diag);	/* the rest of the file's errors: not ours to report */
	(void)ini_load_buffer(path, data, len, &schema, &g, &diag, NULL);
	ini_diag_free(&diag);
	free(data);
	sock = strdup(g.control_socket ? g.control_socket : DIRECTORD_SOCKET);
	free(g.control_socket);
	return sock;
}

/* Errors go to stderr, one message per line; JSON stays JSON. Returns
 * the exit code. */
static int print_reply(char **cmd, bool json, const char *reply)
{
	const char *command = cmd[0];

	struct strbuf msg;
	int is_error;

	sb_init(&msg);
	is_error = ctl_reply_error_text(reply, &msg);
	if (is_error && !json)
		fprintf(stderr, "directorctl: %s failed:\n%s\n", command, sb_str(&msg));
	else if (!json && strcmp(command, CTL_WORD_RELOAD) == 0)
		printf("configuration reloaded\n");
	else if (strcmp(command, CTL_WORD_DRAIN) == 0 || strcmp(command, CTL_WORD_ENABLE) == 0)
		printf("%s %s: %s\n", cmd[1], cmd[2], strcmp(command, CTL_WORD_DRAIN) == 0 ? "drained" : "enabled");
	else
		fputs(reply, stdout);
	sb_free(&msg);
	return is_error ? 1 : 0;
}

/* import-keepalived [-o OUT] FILE: offline, no daemon asked. Exit 0 when
 * converted (warnings or not), 1 when the file cannot be read or parsed,
 * 2 for a usage error. */
static int import_keepalived(int argc, char **argv)
{
	const char *out_path = NULL;
	struct ka_tree *tree = NULL;
	struct ini_diag diag, warnings;
	struct strbuf out;
	int c, ret;

	optind = 1;
	while ((c = getopt(argc, argv, "+o:")) != -1) {
		if (c != 'o')
			usage(2);	/* getopt said which option */
		out_path = optarg;
	}
	if (optind == argc)
		usage_fail("import-keepalived: missing keepalived.conf");
	if (optind + 1 < argc)
		usage_fail("import-keepalived: unexpected argument '%s'", argv[optind + 1]);
	ini_diag_init(&diag);
	ret = kaconf_parse_file(argv[optind], NULL, &tree, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	ini_diag_free(&diag);
	if (ret < 0) {
		fprintf(stderr, "directorctl: %s: not converted\n", argv[optind]);
		return 1;
	}
	ini_diag_init(&warnings);
	sb_init(&out);
	ret = ka_import(tree, &out, &warnings);
	kaconf_free(tree);
	for (size_t i = 0; i < warnings.n; i++)
		fprintf(stderr, "%s\n", warnings.msgs[i]);
	ini_diag_free(&warnings);
	if (ret == 0 && out_path)
		ret = write_file_atomic(out_path, sb_str(&out), out.len, 0644);
	else if (ret == 0 && fwrite(sb_str(&out), 1, out.len, stdout) != out.len)
		ret = -EIO;
	if (ret < 0)
		fprintf(stderr, "directorctl: %s: %s\n", out_path ? out_path : "stdout", strerror(-ret));
	sb_free(&out);
	return ret < 0 ? 1 : 0;
}

/* The user the doctor's probes run as when started as root: they read
 * nothing of root's and write nothing. */
#define DOCTOR_USER "nobody"

/* doctor [--json] [--timeout SECONDS] [SERVICE]: what to probe from the daemon, then the
 * probes from here (doctor.h). Exit 0 no finding, 1 findings, 2 when it
 * could not run (or, without a finding, when something could not be
 * checked). */
static int doctor(int argc, char **argv, const char *sock)
{
	struct doc_options opt = { .service = NULL, .wait_ms = 1000 };
	struct doc_targets t;
	struct doc_report r;
	struct doctor_io *io;
	struct strbuf reply, msg, out;
	bool json = false;
	char err[512];
	int ret, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		long long v;

		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--timeout") == 0) {
			if (i + 1 == argc || parse_int_range(argv[i + 1], 1, 3600, &v, err) < 0)
				usage_fail("doctor: --timeout takes seconds, 1 to 3600");
			opt.timeout_s = (unsigned)v;
			i++;
		} else {
			usage_fail("doctor: unknown option '%s'", argv[i]);
		}
	}
	if (i < argc)
		opt.service = argv[i++];
	no_more_args(argc, argv, i);
	if ((ret = doctor_sys_open(&io, err, sizeof(err))) < 0) {
		fprintf(stderr, "directorctl: doctor: %s\n", err);
		return 2;
	}
	sb_init(&reply);
	sb_init(&msg);
	if ((ret = ctl_call(sock, CTL_WORD_DOCTOR, CTL_TIMEOUT_MS, &reply)) < 0 ||
	    ctl_reply_error_text(sb_str(&reply), &msg)) {
		fprintf(stderr, "directorctl: doctor: %s: %s\n", sock, ret < 0 ? strerror(-ret) : sb_str(&msg));
		sb_free(&reply);
		sb_free(&msg);
		return 2;
	}
	sb_free(&msg);
	/* What follows acts on lines an engine running as the daemon's
	 * user wrote: with CAP_NET_RAW alone, not as root. */
	if ((ret = privdrop(DOCTOR_USER, &(cap_value_t){ CAP_NET_RAW }, 1)) < 0) {
		fprintf(stderr, "directorctl: doctor: dropping privileges to %s and CAP_NET_RAW: %s\n", DOCTOR_USER,
			strerror(-ret));
		sb_free(&reply);
		return 2;
	}
	ret = doc_targets_parse(reply.buf ? reply.buf : "", reply.len, &t, err, sizeof(err));
	sb_free(&reply);
	if (ret < 0) {
		fprintf(stderr, "directorctl: doctor: directord's answer: %s\n", err);
		return 2;
	}
	doc_report_init(&r);
	if ((ret = doctor_run(&t, &opt, io, &r)) < 0)
		fprintf(stderr, "directorctl: doctor: %s\n", ret == -ENOENT ? "no such virtual server" : strerror(-ret));
	sb_init(&out);
	if (ret == 0)
		(json ? doc_report_json : doc_report_text)(&r, &out);
	/* A report that could not be written is no report: not 0 nor 1. */
	if (ret == 0 && (fwrite(sb_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
		fprintf(stderr, "directorctl: doctor: stdout: %s\n", strerror(errno));
		ret = -EIO;
	}
	sb_free(&out);
	ret = ret < 0 ? 2 : r.n ? 1 : r.not_checked ? 2 : 0;
	doc_report_free(&r);
	doc_targets_free(&t);
	doctor_sys_close(io);
	return ret;
}

/* The request line for the command in argv[0] and its arguments; a
 * usage error exits. */
/* drain-director's --wait[=SECONDS]: 0 without it. */
static unsigned drain_wait_arg(int argc, char **argv)
{
	char err[PARSE_ERR_MAX];
	long long v;

	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "--wait") == 0)
		return DRAIN_WAIT_DEFAULT_S;
	if (strncmp(argv[1], "--wait=", 7) != 0)
		return 0;
	if (parse_int_range(argv[1] + 7, 1, DRAIN_WAIT_MAX_S, &v, err) < 0)
		usage_fail("%s: --wait=%s: %s", argv[0], argv[1] + 7, err);
	return (unsigned)v;
}

static void build_request(int argc, char **argv, char *request, size_t size, bool *json, unsigned *wait_s)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, CTL_WORD_STATUS) == 0) {
		*json = argc > 1 && strcmp(argv[1], "--json") == 0;
		no_more_args(argc, argv, *json ? 2 : 1);
		snprintf(request, size, *json ? CTL_WORD_STATUS " " CTL_WORD_JSON : CTL_WORD_STATUS);
	} else if (strcmp(cmd, CTL_WORD_RELOAD) == 0) {
		no_more_args(argc, argv, 1);
		snprintf(request, size, CTL_WORD_RELOAD);
	} else if (strcmp(cmd, CTL_WORD_DRAIN) == 0 || strcmp(cmd, CTL_WORD_ENABLE) == 0) {
		if (argc < 3)
			usage_fail("%s: missing %s", cmd, argc == 1 ? "SERVICE and SERVER" : "SERVER");
		no_more_args(argc, argv, 3);
		if (!word_ok(argv[1]) || !word_ok(argv[2]))
			usage_fail("%s: SERVICE and SERVER are single words", cmd);
		snprintf(request, size, "%s %s %s", cmd, argv[1], argv[2]);
	} else if (strcmp(cmd, CTL_WORD_DRAIN_DIRECTOR) == 0) {
		*wait_s = drain_wait_arg(argc, argv);
		no_more_args(argc, argv, *wait_s ? 2 : 1);
		snprintf(request, size, "%s", cmd);
	} else if (strcmp(cmd, CTL_WORD_ENABLE_DIRECTOR) == 0) {
		no_more_args(argc, argv, 1);
		snprintf(request, size, "%s", cmd);
	} else {
		usage_fail("unknown command '%s'", cmd);
	}
}

/* The packet counter in a drain-director answer; false when it has none. */
static bool reply_packets(const char *reply, unsigned long long *out)
{
	const char *at = strstr(reply, DIR_DIRECTOR_PACKETS);
	char *end;

	if (!at)
		return false;
	errno = 0;
	*out = strtoull(at + strlen(DIR_DIRECTOR_PACKETS), &end, 10);
	return errno == 0 && end != at + strlen(DIR_DIRECTOR_PACKETS);
}

/* drain-director --wait: ask again (it is idempotent) until the announced
 * services' packet counter has not moved for DRAIN_QUIET_MS, at most
 * wait_s. Exit code. */
static int drain_wait(const char *sock, const char *request, const char *first, unsigned wait_s)
{
	uint64_t t0 = now_ms(), still_since = t0;
	unsigned long long last, now;
	struct strbuf reply;
	int ret = 0;

	if (!reply_packets(first, &last)) {
		fprintf(stderr, "directorctl: drain-director: the answer has no packet counter\n");
		return 1;
	}
	sb_init(&reply);
	while (now_ms() - t0 < (uint64_t)wait_s * 1000) {
		if (now_ms() - still_since >= DRAIN_QUIET_MS) {
			printf("no new packets for %d s: the director carries no traffic of the announced services\n",
			       DRAIN_QUIET_MS / 1000);
			sb_free(&reply);
			return 0;
		}
		(void)poll(NULL, 0, DRAIN_POLL_MS);
		sb_reset(&reply);
		if ((ret = ctl_call(sock, request, CTL_TIMEOUT_MS, &reply)) < 0 || !reply_packets(sb_str(&reply), &now)) {
			fprintf(stderr, "directorctl: drain-director: %s\n", ret < 0 ? strerror(-ret) : sb_str(&reply));
			sb_free(&reply);
			return 1;
		}
		if (now != last) {
			last = now;
			still_since = now_ms();
		}
	}
	sb_free(&reply);
	fprintf(stderr, "directorctl: drain-director: packets still arrive after %u s (the routers have not "
		"moved the traffic away yet)\n", wait_s);
	return 1;
}

int main(int argc, char **argv)
{
	const char *config = DIRECTORD_CONF, *sock_arg = NULL;
	bool config_named = false;
	char request[CTL_REQUEST_MAX], *sock;
	struct strbuf reply;
	bool json = false;
	unsigned wait_s = 0;
	int c, ret;

	while ((c = getopt(argc, argv, "+f:hs:")) != -1) {
		switch (c) {
		case 'f': config = optarg; config_named = true; break;
		case 's': sock_arg = optarg; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind >= argc)
		usage_fail("no command");
	if (strcmp(argv[optind], "import-keepalived") == 0)
		return import_keepalived(argc - optind, argv + optind);
	if (strcmp(argv[optind], CTL_WORD_DOCTOR) != 0)
		build_request(argc - optind, argv + optind, request, sizeof(request), &json, &wait_s);
	sock = sock_arg ? strdup(sock_arg) : socket_from_config(config, config_named);
	if (!sock)
		return 1;
	if (strcmp(argv[optind], CTL_WORD_DOCTOR) == 0) {
		ret = doctor(argc - optind, argv + optind, sock);
		free(sock);
		return ret;
	}
	sb_init(&reply);
	ret = ctl_call(sock, request, CTL_TIMEOUT_MS, &reply);
	if (ret < 0) {
		fprintf(stderr, "directorctl: %s: %s\n", sock, strerror(-ret));
		free(sock);
		return 1;
	}
	ret = print_reply(argv + optind, json, sb_str(&reply));
	if (ret == 0 && wait_s) {
		fflush(stdout);
		ret = drain_wait(sock, request, sb_str(&reply), wait_s);
	}
	sb_free(&reply);
	free(sock);
	return ret;
}
