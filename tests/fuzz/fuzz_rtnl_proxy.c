/* libFuzzer: the decoding of one message of the kernel's proxy-neighbour
 * dump (rtnl_proxy_decode: a netlink header, struct ndmsg, attributes),
 * which rs-agent reads to find a proxy-NDP entry for a VIP. Whatever
 * decodes must be an IPv6 host address. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, aligned as netlink messages are,
	 * so reading past it is caught. */
	uint8_t *copy = malloc(size ? size : 1);
	struct rtnl_proxy p;
	int ret;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ret = rtnl_proxy_decode(copy, size, &p);
	if (ret < -EINVAL || ret > 1)
		abort();
	if (ret == 1 && (p.addr.family != AF_INET6 || p.addr.prefixlen != 128))
		abort();
	free(copy);
	return 0;
}
