/* directord: command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cfgcheck.h"
#include "directord.h"
#include "log.h"

static const char usage_text[] =
	"usage: directord [-dnv] [-f file] [-t]\n"
	"  -f file  configuration (default " DIRECTORD_CONF ")\n"
	"  -n       stay in the foreground (for systemd; logs to stderr)\n"
	"  -d       debug logging\n"
	"  -t       check the configuration and exit; with -v print it normalized\n"
	"  -v       more output\n";

static void __attribute__((noreturn)) usage(int code)
{
	usage_exit(code, usage_text);
}

static void print_diag(const char *path, int ret, const struct ini_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++)
		fprintf(stderr, "%s\n", diag->msgs[i]);
	if (ret < 0 && diag->n == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(-ret));
}

/* -t: here, at once. */
static struct director_config *load(const char *path)
{
	struct director_config *cfg = NULL;
	struct ini_diag diag;
	int ret;

	ini_diag_init(&diag);
	ret = director_config_load(path, &cfg, &diag);
	print_diag(path, ret, &diag);
	ini_diag_free(&diag);
	return ret < 0 ? NULL : cfg;
}

/* The daemon: as on a reload, parsed and checked in a child, and rebuilt
 * here from its image, so that the parent (and every engine it forks)
 * never holds what parsing took. */
static struct director_config *load_checked(const char *path, int *image)
{
	void *cfg = NULL;
	struct ini_diag diag;
	int ret;

	ini_diag_init(&diag);
	ret = cfgcheck_load(&director_config_loader, path, CONFIG_CHECK_TIMEOUT_MS, &cfg, image, &diag);
	print_diag(path, ret, &diag);
	ini_diag_free(&diag);
	return ret < 0 ? NULL : cfg;
}

int main(int argc, char **argv)
{
	const char *path = DIRECTORD_CONF;
	bool foreground = false, debug = false, test = false, verbose = false;
	struct director_config *cfg;
	int c, image = -1;

	while ((c = getopt(argc, argv, "df:hntv")) != -1) {
		switch (c) {
		case 'd': debug = true; break;
		case 'f': path = optarg; break;
		case 'n': foreground = true; break;
		case 't': test = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage_error(2, usage_text, "directord: unexpected argument '%s'", argv[optind]);
	/* -t checks and exits: options of the running daemon mean nothing
	 * with it, and are refused rather than silently ignored. */
	if (test && (debug || foreground))
		usage_error(2, usage_text, "directord: -%c is for running the daemon, not with -t", debug ? 'd' : 'n');
	cfg = test ? load(path) : load_checked(path, &image);
	if (!cfg)
		return 1;
	if (test) {
		if (cfg->user_warning[0])
			fprintf(stderr, "%s\n", cfg->user_warning);
		if (cfg->warnings)
			fputs(cfg->warnings, stderr);
		if (verbose) {
			struct strbuf sb;

			sb_init(&sb);
			director_config_print(cfg, &sb);
			fputs(sb_str(&sb), stdout);
			sb_free(&sb);
		}
		printf("configuration OK\n");
		director_config_free(cfg);
		return 0;
	}
	log_init("directord", true, debug || verbose ? LOG_LEVEL_DEBUG : (enum log_level)cfg->log_level);
	if (cfg->user_warning[0])
		log_warnx("%s", cfg->user_warning);
	director_config_log_warnings(cfg);
	return parent_main(cfg, image, !foreground);
}
