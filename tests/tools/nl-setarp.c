/* Test tool: set arp_ignore/arp_announce on a device over rtnetlink, the
 * way another program (not /proc) would flip them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtnl.h"

int main(int argc, char **argv)
{
	struct rtnl *r;
	int ifindex, ret;

	if (argc != 4) {
		fprintf(stderr, "usage: nl-setarp dev arp_ignore arp_announce\n");
		return 2;
	}
	ret = rtnl_open(&r);
	if (ret < 0) {
		fprintf(stderr, "nl-setarp: %s\n", strerror(-ret));
		return 1;
	}
	ifindex = rtnl_ifindex(r, argv[1]);
	ret = ifindex < 0 ? ifindex : rtnl_link_set_arp(r, ifindex, atoi(argv[2]), atoi(argv[3]));
	rtnl_close(r);
	if (ret < 0) {
		fprintf(stderr, "nl-setarp: %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	return 0;
}
