/* libFuzzer: the decoding of IPVS services and destinations as the kernel
 * dumps them (the nested attributes of IPVS_CMD_ATTR_SERVICE / _DEST).
 * Whatever decodes must be a service or destination that makes sense. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "ipvs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, so reading past it is caught. */
	uint8_t *copy = malloc(size ? size : 1);
	struct ipvs_service s;
	struct ipvs_stats st;
	struct ipvs_dest d;
	char name[96];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (ipvs_service_decode(copy, size, &s, &st) == 0) {
		if ((s.af != AF_INET && s.af != AF_INET6) || !s.sched[0] || strlen(s.sched) >= sizeof(s.sched))
			abort();
		if (s.netmask > (s.af == AF_INET ? 32u : 128u) || (s.flags & IP_VS_SVC_F_HASHED))
			abort();
		if (!s.fwmark && s.addr.family != s.af)
			abort();
		ipvs_service_name(&s, name, sizeof(name));
	}
	if (ipvs_dest_decode(copy, size, AF_INET, &d) == 0) {
		if (d.addr.family != AF_INET && d.addr.family != AF_INET6)
			abort();
		if (d.fwd & ~(uint32_t)IP_VS_CONN_F_FWD_MASK)
			abort();
	}
	free(copy);
	return 0;
}
