/* Weight from load: a busy real server asks for less traffic.
 *
 * The directors scale the configured weight by the percentage reported here,
 * never below min_weight so a loaded server still takes its share rather
 * than looking dead. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rs-agent.h"

#define LOADAVG_PATH "/proc/loadavg"
#define PRESSURE_CPU_PATH "/proc/pressure/cpu"

static unsigned percent_clamp(double pct, unsigned min_weight)
{
	unsigned floor_pct = min_weight > 100 ? 100 : min_weight;
	unsigned w;

	/* NaN compares false everywhere: treat it as fully loaded. */
	if (!(pct >= 0.0))
		return floor_pct;
	if (pct >= 100.0)
		return 100;
	w = (unsigned)(pct + 0.5);
	if (w > 100)
		w = 100;
	return w < floor_pct ? floor_pct : w;
}

unsigned weight_from_loadavg(double load1, unsigned ncpu, unsigned min_weight)
{
	double per_core = load1 / (double)(ncpu ? ncpu : 1);

	if (!(per_core >= 0.0))	/* negative or NaN: nonsense input */
		return percent_clamp(per_core < 0.0 ? 100.0 : 0.0, min_weight);
	return percent_clamp(100.0 * (1.0 - per_core), min_weight);
}

unsigned weight_from_pressure(double some_avg10, unsigned min_weight)
{
	return percent_clamp(100.0 - some_avg10, min_weight);
}

/* strtod, refusing an empty number. */
static int parse_double(const char *s, double *out)
{
	char *e;

	errno = 0;
	*out = strtod(s, &e);
	if (e == s || errno)
		return -EINVAL;
	return 0;
}

/* "0.52 0.58 0.59 2/345 12345" -> 0.52 */
static int loadavg_read(double *load1)
{
	char buf[256];
	size_t len;
	int ret;

	ret = read_small_file(LOADAVG_PATH, buf, sizeof(buf), &len);
	if (ret < 0)
		return ret;
	return parse_double(buf, load1);
}

/* "some avg10=1.23 avg60=0.50 avg300=0.10 total=12345\nfull ..." -> 1.23 */
static int pressure_read(double *avg10)
{
	static const char key[] = "avg10=";
	char buf[512];
	const char *p;
	size_t len;
	int ret;

	ret = read_small_file(PRESSURE_CPU_PATH, buf, sizeof(buf), &len);
	/* No file (old kernel) or psi=0 on the command line: not available. */
	if (ret == -ENOENT || ret == -EOPNOTSUPP)
		return -ENOENT;
	if (ret < 0)
		return ret;
	if (strncmp(buf, "some ", 5) != 0)
		return -EINVAL;
	p = strstr(buf, key);
	if (!p || memchr(buf, '\n', (size_t)(p - buf)))
		return -EINVAL;
	return parse_double(p + sizeof(key) - 1, avg10);
}

int load_weight_read(int source, unsigned min_weight, unsigned *pct)
{
	double v;
	long ncpu;
	int ret;

	switch (source) {
	case WEIGHT_LOADAVG:
		ret = loadavg_read(&v);
		if (ret < 0)
			return ret;
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		*pct = weight_from_loadavg(v, ncpu > 0 ? (unsigned)ncpu : 1, min_weight);
		return 0;
	case WEIGHT_PRESSURE:
		ret = pressure_read(&v);
		if (ret < 0)
			return ret;
		*pct = weight_from_pressure(v, min_weight);
		return 0;
	default:
		return -EINVAL;
	}
}
