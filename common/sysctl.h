/* IPv4 ARP sysctls under /proc/sys/net/ipv4/conf/<if>/. "all" and
 * "default" are not devices, so they can only be set here; per-device
 * values go over rtnetlink (rtnl.h). One small function per sysctl. */
#ifndef DSRKIT_SYSCTL_H
#define DSRKIT_SYSCTL_H

int sysctl_get_arp_ignore(const char *ifname, int *value);
int sysctl_set_arp_ignore(const char *ifname, int value);
int sysctl_get_arp_announce(const char *ifname, int *value);
int sysctl_set_arp_announce(const char *ifname, int value);

/* Lower-level: read/write an integer at /proc/sys/<path>. Return 0 or -errno. */
int sysctl_read_int(const char *path, int *value);
int sysctl_write_int(const char *path, int value);

#endif
