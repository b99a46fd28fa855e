/* The VRRP engine's kernel seam (struct vrrp_kernel_ops, vrrp_net.h) as
 * the real kernel: raw sockets and announcements (vrrp_net.c), rtnetlink
 * (common/rtnl.c), the process watch (proc_watch.c). Its own file so that
 * the engine names no kernel call, and a unit test links the engine with a
 * kernel of its own. */
#include "vrrp_net.h"

const struct vrrp_kernel_ops vrrp_kernel_linux = {
	.sock_open = vrrp_sock_open,
	.sock_send_each = vrrp_sock_send_each,
	.sock_recv = vrrp_sock_recv,
	.sock_close = vrrp_sock_close,
	.announcer_new = vrrp_announcer_new,
	.announce = vrrp_announce,
	.announcer_free = vrrp_announcer_free,
	.rtnl_open = rtnl_open,
	.rtnl_close = rtnl_close,
	.ifindex = rtnl_ifindex,
	.link_get = rtnl_link_get,
	.addr_list = rtnl_addr_dump,
	.addr_add = rtnl_addr_add_opts,
	.addr_del = rtnl_addr_del,
	.route_add = rtnl_route_spec_add,
	.route_del = rtnl_route_spec_del,
	.watch_open = rtnl_watch_open,
	.watch_read = rtnl_watch_read,
	.watch_close = rtnl_watch_close,
	.proc_watch_open = proc_watch_open,
	.proc_watch_read = proc_watch_read,
	.proc_watch_close = proc_watch_close,
};
