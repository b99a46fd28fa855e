/* libFuzzer target: the lines directord answers to `doctor` (proto.h,
 * DIR_STATUS_DOCTOR), read by directorctl. What parses must hold: names
 * within their arrays, VRIDs in range, every server under a service. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc_targets t;
	char err[128];

	if (doc_targets_parse((const char *)data, size, &t, err, sizeof(err)) < 0) {
		REQUIRE(t.nvs == 0 && t.nvrrp == 0 && t.ntraps == 0);
		REQUIRE(memchr(err, '\0', sizeof(err)));
		return 0;
	}
	for (size_t i = 0; i < t.nvrrp; i++) {
		REQUIRE(memchr(t.vrrp[i].name, '\0', sizeof(t.vrrp[i].name)) && t.vrrp[i].name[0]);
		REQUIRE(memchr(t.vrrp[i].ifname, '\0', sizeof(t.vrrp[i].ifname)));
		REQUIRE(t.vrrp[i].vrid >= 1 && t.vrrp[i].vrid <= 255);
		for (size_t j = 0; j < t.vrrp[i].nvips; j++)
			REQUIRE(t.vrrp[i].vips[j].family == AF_INET || t.vrrp[i].vips[j].family == AF_INET6);
	}
	for (size_t i = 0; i < t.nvs; i++) {
		REQUIRE(memchr(t.vs[i].name, '\0', sizeof(t.vs[i].name)) && t.vs[i].name[0]);
		for (size_t j = 0; j < t.vs[i].nrs; j++)
			REQUIRE(t.vs[i].rs[j].method <= DOC_TUN);
	}
	for (size_t i = 0; i < t.ntraps; i++)
		REQUIRE(strchr(t.traps[i], '\n') == NULL);
	doc_targets_free(&t);
	return 0;
}
