/* libFuzzer: the decoding of what the kernel's IPVS sends: services and
 * destinations as it dumps them (the nested attributes of
 * IPVS_CMD_ATTR_SERVICE / _DEST), sync daemons (IPVS_CMD_ATTR_DAEMON) and
 * the GET_CONFIG reply's timeouts. Whatever decodes must make sense. */
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
	struct ipvs_dest_counters dc;
	struct ipvs_dest d;
	struct ipvs_daemon dm;
	struct ipvs_timeouts t;
	char name[160];

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
	if (ipvs_dest_decode(copy, size, AF_INET, &d, &dc) == 0) {
		if (d.addr.family != AF_INET && d.addr.family != AF_INET6)
			abort();
		if (d.fwd & ~(uint32_t)IP_VS_CONN_F_FWD_MASK)
			abort();
	}
	if (ipvs_daemon_decode(copy, size, &dm) == 0) {
		size_t n = strnlen(dm.ifname, sizeof(dm.ifname));

		if ((dm.state != IPVS_DAEMON_MASTER && dm.state != IPVS_DAEMON_BACKUP) || n == 0 ||
		    n >= sizeof(dm.ifname) || dm.sync_id > 255)
			abort();
		if (dm.group.family != 0 && dm.group.family != AF_INET && dm.group.family != AF_INET6)
			abort();
		ipvs_daemon_text(&dm, name, sizeof(name));
		if (!ipvs_daemon_same(&dm, &dm) && dm.group.family)
			abort();	/* a daemon is what it is */
	}
	if (ipvs_timeouts_decode(copy, size, &t) == 0)
		(void)(t.tcp + t.tcp_fin + t.udp);
	free(copy);
	return 0;
}
