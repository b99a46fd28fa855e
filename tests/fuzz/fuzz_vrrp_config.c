/* libFuzzer: the director.ini value parsers of its own (virtual_ipaddress
 * and virtual_routes entries, track references). A route that parses
 * prints as text that parses to the same route. */
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
	struct route_conf route, again;
	struct strbuf a, b;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (vip_conf_parse(text, &vip, err) == 0 && vip.addr.family != AF_INET && vip.addr.family != AF_INET6)
		abort();
	if (track_ref_parse(text, &ref, err) == 0 && (ref.weight < -254 || ref.weight > 254))
		abort();
	if (route_conf_parse(text, &route, err) == 0) {
		sb_init(&a);
		sb_init(&b);
		route_conf_print(&route, &a);
		if (a.failed || route_conf_parse(sb_str(&a), &again, err) != 0)
			abort();
		route_conf_print(&again, &b);
		if (strcmp(sb_str(&a), sb_str(&b)) != 0)
			abort();
		sb_free(&a);
		sb_free(&b);
	}
	free(text);
	return 0;
}
