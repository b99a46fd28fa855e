/* libFuzzer: the director.ini value parsers of its own (virtual_ipaddress
 * and virtual_routes entries, track references, real_servers lists and
 * entries). A route or a real_servers list that parses prints as text that
 * parses to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directord.h"
#include "lvs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void real_server_invariants(const struct real_server_conf *rs)
{
	if ((rs->addr.family != AF_INET && rs->addr.family != AF_INET6) || rs->weight > 65535 ||
	    rs->l_threshold > rs->u_threshold)
		abort();
}

/* A printed value as iniparser hands it back: without its quotes, or
 * without the empty comment that keeps a final backslash from continuing. */
static char *as_read(const char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
		return strndup(v + 1, n - 2);
	if (n >= 2 && strcmp(v + n - 2, " ;") == 0)
		return strndup(v, n - 2);
	return strdup(v);
}

/* The whole value of real_servers: parse, print, parse, print the same. */
static void real_servers_round_trip(const char *text)
{
	struct real_server_list list = { NULL, 0 }, again = { NULL, 0 };
	struct real_server_conf rs;
	char err[PARSE_ERR_MAX];
	struct strbuf a, b;
	char *unquoted;

	if (real_server_parse(text, &rs, err) == 0) {
		real_server_invariants(&rs);
		real_server_conf_release(&rs);
	}
	if (real_server_list_type.parse(NULL, text, &list, err) != 0)
		return;
	sb_init(&a);
	sb_init(&b);
	for (size_t i = 0; i < list.n; i++)
		real_server_invariants(&list.items[i]);
	real_server_list_type.print(NULL, &list, &a);
	if (a.failed)
		abort();
	unquoted = as_read(sb_str(&a));
	if (!unquoted || real_server_list_type.parse(NULL, unquoted, &again, err) != 0)
		abort();
	free(unquoted);
	real_server_list_type.print(NULL, &again, &b);
	if (again.n != list.n || strcmp(sb_str(&a), sb_str(&b)) != 0)
		abort();
	real_server_list_type.free(&list);
	real_server_list_type.free(&again);
	sb_free(&a);
	sb_free(&b);
}

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
	real_servers_round_trip(text);
	free(text);
	return 0;
}
