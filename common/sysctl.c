/* Integer sysctls under /proc/sys. The files live in the network namespace
 * of the calling process, which is what the tests rely on. Names that end
 * up in a path are checked first, so that "../../kernel/x" cannot reach a
 * file outside net/ipv4/conf. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysctl.h"

#define SYSCTL_ROOT "/proc/sys/"

/* Meaningful values as documented in ip-sysctl.rst: arp_ignore 4-7 are
 * reserved, 8 drops every request; arp_announce stops at 2. */
#define ARP_IGNORE_MAX 8
#define ARP_ANNOUNCE_MAX 2

/* The kernel's own rule for device names (dev_valid_name), plus no
 * control bytes; "all" and "default" satisfy it too. */
static bool ifname_is_valid(const char *ifname)
{
	size_t len;

	if (!ifname)
		return false;
	len = strnlen(ifname, IF_NAMESIZE);
	if (len == 0 || len >= IF_NAMESIZE)
		return false;
	if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ifname[i];

		if (c == '/' || c == ':' || isspace(c) || iscntrl(c))
			return false;
	}
	return true;
}

/* A relative path below /proc/sys without "." or ".." components. */
static bool sysctl_path_is_valid(const char *path)
{
	const char *p = path;

	if (!path || *path == '\0' || *path == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

static int sysctl_full_path(const char *path, char *buf, size_t size)
{
	int n;

	if (!sysctl_path_is_valid(path))
		return -EINVAL;
	n = snprintf(buf, size, SYSCTL_ROOT "%s", path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* The value with optional surrounding whitespace, nothing else. */
static int parse_int_text(const char *text, int *value)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (end == text || errno == ERANGE || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -EINVAL;
	*value = (int)v;
	return 0;
}

int sysctl_read_int(const char *path, int *value)
{
	char full[PATH_MAX], text[64];
	ssize_t n;
	int fd, err;

	if ((err = sysctl_full_path(path, full, sizeof(full))) < 0)
		return err;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, text, sizeof(text) - 1);
	} while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	text[n] = '\0';
	return parse_int_text(text, value);
}

int sysctl_write_int(const char *path, int value)
{
	char full[PATH_MAX], text[32];
	ssize_t n;
	int fd, len, err;

	if ((err = sysctl_full_path(path, full, sizeof(full))) < 0)
		return err;
	len = snprintf(text, sizeof(text), "%d\n", value);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* proc handlers take the value in one write; a short one is an error. */
	do {
		n = write(fd, text, (size_t)len);
	} while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : (n != len ? -EIO : 0);
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static int conf_path(const char *ifname, const char *key, char *buf, size_t size)
{
	int n;

	if (!ifname_is_valid(ifname))
		return -EINVAL;
	n = snprintf(buf, size, "net/ipv4/conf/%s/%s", ifname, key);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* A missing conf directory means there is no such device (with IPv4). */
static int device_errno(int err)
{
	return err == -ENOENT ? -ENODEV : err;
}

static int conf_get(const char *ifname, const char *key, int *value)
{
	char path[128];
	int err;

	if ((err = conf_path(ifname, key, path, sizeof(path))) < 0)
		return err;
	return device_errno(sysctl_read_int(path, value));
}

static int conf_set(const char *ifname, const char *key, int value, int max)
{
	char path[128];
	int err;

	if (value < 0 || value > max)
		return -EINVAL;
	if ((err = conf_path(ifname, key, path, sizeof(path))) < 0)
		return err;
	return device_errno(sysctl_write_int(path, value));
}

int sysctl_get_arp_ignore(const char *ifname, int *value)
{
	return conf_get(ifname, "arp_ignore", value);
}

int sysctl_set_arp_ignore(const char *ifname, int value)
{
	return conf_set(ifname, "arp_ignore", value, ARP_IGNORE_MAX);
}

int sysctl_get_arp_announce(const char *ifname, int *value)
{
	return conf_get(ifname, "arp_announce", value);
}

int sysctl_set_arp_announce(const char *ifname, int value)
{
	return conf_set(ifname, "arp_announce", value, ARP_ANNOUNCE_MAX);
}
