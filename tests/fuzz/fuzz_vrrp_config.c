/* libFuzzer: the director.ini value parsers of its own (virtual_ipaddress
 * entries, track references). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directord.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[PARSE_ERR_MAX];
	struct vip_conf vip;
	struct track_ref ref;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (vip_conf_parse(text, &vip, err) == 0 && vip.addr.family != AF_INET && vip.addr.family != AF_INET6)
		abort();
	if (track_ref_parse(text, &ref, err) == 0 && (ref.weight < -254 || ref.weight > 254))
		abort();
	free(text);
	return 0;
}
