/* lvs-mem: the LVS engine's memory with a large configuration, on a host
 * without IPVS, for finding where its bytes go (bench/BENCHMARKS.md).
 *
 *   lvs-mem FILE [RELOADS]
 *
 * Loads FILE as the engine process gets it (parsed and written as an
 * image by a child, read back from the image), starts the real engine
 * against a kernel that accepts every request and holds nothing, runs its
 * loop until the table is programmed, then reloads the same file RELOADS
 * times (default 0) as the engine process does. Prints
 * VmHWM and VmRSS and malloc's own count after each step. Run it under
 * `valgrind --tool=massif` for the allocation sites. The VM's bench/lvs.sh
 * is the measurement of record; this only finds the cost. */
#include <malloc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "config.h"
#include "directord.h"
#include "evloop.h"
#include "lvs.h"

static unsigned applied;

static struct ipvs *null_handle(void)
{
	static char h;

	return (struct ipvs *)&h;
}

static int null_open(struct ipvs **out)
{
	*out = null_handle();
	return 0;
}

static void null_close(struct ipvs *v)
{
	(void)v;
}

static int null_apply(struct ipvs *v, struct ipvs_request *reqs, size_t n)
{
	(void)v;
	for (size_t i = 0; i < n; i++)
		reqs[i].result = 0;
	applied += (unsigned)n;
	return 0;
}

static int null_services(struct ipvs *v, ipvs_service_cb cb, void *arg)
{
	(void)v, (void)cb, (void)arg;
	return 0;
}

static int null_dests(struct ipvs *v, const struct ipvs_service *s, ipvs_dest_cb cb, void *arg)
{
	(void)v, (void)s, (void)cb, (void)arg;
	return 0;
}

static int null_daemons(struct ipvs *v, ipvs_daemon_cb cb, void *arg)
{
	(void)v, (void)cb, (void)arg;
	return 0;
}

static int null_daemon_add(struct ipvs *v, const struct ipvs_daemon *d)
{
	(void)v, (void)d;
	return 0;
}

static int null_daemon_del(struct ipvs *v, uint32_t state)
{
	(void)v, (void)state;
	return 0;
}

static int null_timeouts_get(struct ipvs *v, struct ipvs_timeouts *t)
{
	(void)v;
	memset(t, 0, sizeof(*t));
	return 0;
}

static int null_timeouts_set(struct ipvs *v, const struct ipvs_timeouts *t)
{
	(void)v, (void)t;
	return 0;
}

static int null_sysctl_get(const char *name, int *value)
{
	(void)name, (void)value;
	return -ENOENT;
}

static int null_sysctl_set(const char *name, int value)
{
	(void)name, (void)value;
	return -ENOENT;
}

static const struct lvs_kernel_ops null_kernel = {
	null_open, null_close, null_apply, null_services, null_dests, null_daemons, null_daemon_add,
	null_daemon_del, null_timeouts_get, null_timeouts_set, null_sysctl_get, null_sysctl_set,
	NULL, NULL, NULL,	/* no announcing */
};

static void report(const char *step)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	struct mallinfo2 mi = mallinfo2();

	printf("%-22s", step);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6) || !strncmp(line, "VmRSS:", 6))
			printf(" %.*s", (int)strcspn(line, "\n"), line);
	printf("  malloc in use %zu kB, arena %zu kB\n", mi.uordblks / 1024, (mi.arena + mi.hblkhd) / 1024);
	if (f)
		fclose(f);
	fflush(stdout);
}

/* The image of FILE in a memfd, as the parent's check child makes it (in
 * a child: its memory is not the engine's). */
static int image_of(const char *path)
{
	int fd = memfd_create("lvs-mem", MFD_CLOEXEC), status;
	pid_t pid;

	if (fd < 0 || (pid = fork()) < 0) {
		perror("lvs-mem");
		exit(1);
	}
	if (pid == 0) {
		struct director_config *cfg = NULL;
		struct strbuf image = { 0 };
		struct ini_diag d;

		ini_diag_init(&d);
		if (director_config_load(path, &cfg, &d) < 0) {
			for (size_t i = 0; i < d.n; i++)
				fprintf(stderr, "%s\n", d.msgs[i]);
			_exit(1);
		}
		if (director_config_image(cfg, &image) < 0 || write(fd, image.buf, image.len) != (ssize_t)image.len)
			_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || status != 0 || lseek(fd, 0, SEEK_SET) < 0) {
		fprintf(stderr, "lvs-mem: %s could not be loaded\n", path);
		exit(1);
	}
	return fd;
}

static struct director_config *load(const char *path)
{
	struct director_config *cfg;
	int fd = image_of(path);

	if (director_config_from_image_fd(fd, NULL, NULL, &cfg) < 0) {
		fprintf(stderr, "lvs-mem: the image could not be read\n");
		exit(1);
	}
	close(fd);
	return cfg;
}

/* A reload as engine_proc.c does it: rebuilt in a thread, applied on the
 * loop, the old configuration freed in a thread. */
struct reload {
	struct lvs_engine *e;
	struct director_config **running;
	bool done;
};

static void reload_read(struct director_config *fresh, int result, const struct ini_diag *diag, uint64_t read_ms,
			void *arg)
{
	struct reload *r = arg;
	uint64_t t0 = now_ms();

	(void)diag;
	if (result < 0 || lvs_engine_reload(r->e, fresh) < 0) {
		fprintf(stderr, "lvs-mem: the reload failed\n");
		exit(1);
	}
	config_free_async(*r->running);
	*r->running = fresh;
	r->done = true;
	printf("reload: taken in %llu ms, applied in %llu ms\n", (unsigned long long)read_ms,
	       (unsigned long long)(now_ms() - t0));
}

static void reload(struct evloop *loop, struct lvs_engine *e, struct director_config **running, const char *path)
{
	struct reload r = { e, running, false };
	struct config_load *l;
	uint64_t t0 = now_ms();

	int fd = image_of(path);

	printf("reload: image made in %llu ms\n", (unsigned long long)(now_ms() - t0));
	if (config_load_start(loop, fd, *running, true, reload_read, &r, &l) < 0)
		exit(1);
	while (!r.done && now_ms() - t0 < 60000)
		evloop_run_once(loop, 20);
}

/* Until the kernel has seen no request for 200 ms, at most 60 s. */
static void settle(struct evloop *loop)
{
	unsigned last = ~0u;
	uint64_t quiet = now_ms(), t0 = now_ms();

	while (now_ms() - t0 < 60000 && now_ms() - quiet < 200) {
		if (applied != last) {
			last = applied;
			quiet = now_ms();
		}
		evloop_run_once(loop, 20);
	}
}

int main(int argc, char **argv)
{
	struct director_config *cfg;
	struct evloop *loop;
	struct lvs_engine *e;
	int reloads = argc > 2 ? atoi(argv[2]) : 0;

	if (argc < 2) {
		fprintf(stderr, "usage: lvs-mem FILE [RELOADS]\n");
		return 2;
	}
	(void)mallopt(M_ARENA_MAX, 1);	/* as lvs_proc_main sets it */
	report("empty");
	cfg = load(argv[1]);
	report("config read");
	if (evloop_new(&loop) < 0 || lvs_engine_start(loop, cfg, NULL, &null_kernel, &e) < 0) {
		fprintf(stderr, "lvs-mem: the engine did not start\n");
		return 1;
	}
	settle(loop);
	printf("programmed: %u requests\n", applied);
	report("programmed");
	for (int i = 1; i <= reloads; i++) {
		reload(loop, e, &cfg, argv[1]);
		settle(loop);
		report("reloaded");
	}
	lvs_engine_stop(e);
	director_config_free(cfg);
	evloop_free(loop);
	report("stopped");
	return 0;
}
