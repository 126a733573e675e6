// SPDX-License-Identifier: Apache-2.0
/*
 * The pod's network inside the guest (UpdateNetwork): the host found the
 * interfaces, addresses, routes and permanent neighbours of the pod's
 * network namespace and gave the VM one virtio-net NIC per interface with
 * that interface's MAC (see runtime/net.c). Here each NIC is found by its
 * MAC, renamed to the pod's name (eth0), given the MTU and addresses,
 * brought up, then the routes and the permanent neighbours are added, all
 * over rtnetlink with libnl-route-3. Containers share the guest's network
 * namespace (spawn.c), so this is their network.
 *
 * agent_network_check() validates a request before anything touches the
 * kernel; it runs at decode time (service.c), so the fuzzer covers it.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "agent.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/proto/agent.pb-c.h"

#define MAX_IFACES 8   /* the VMM has at most VMM_MAX_NETS NICs */
#define MAX_ADDRS  64  /* per interface */
#define MAX_ROUTES 256 /* in all */
#define MAX_NEIGHS 256 /* in all */

typedef Hull__Agent__V1__UpdateNetworkRequest net_req;
typedef Hull__Agent__V1__Interface net_iface;
typedef Hull__Agent__V1__Route net_route;
typedef Hull__Agent__V1__Neighbour net_neigh;

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int addr_len(uint32_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : -1;
}

/* The index of the interface named name, or -1. */
static int iface_of(const net_req *req, const char *name)
{
	for (size_t k = 0; k < req->n_interfaces; k++)
		if (strcmp(req->interfaces[k]->name, name) == 0)
			return (int)k;
	return -1;
}

static int check_route(const net_req *req, size_t i, struct err **err)
{
	const net_route *r = req->routes[i];
	int len = addr_len(r->family);
	if (len < 0)
		return err_set(err, 0, "routes[%zu]: family must be 4 or 6", i);
	if (r->destination.len != 0 && r->destination.len != (size_t)len)
		return err_set(err, 0, "routes[%zu]: destination must be %d bytes", i, len);
	if (r->destination_len > (uint32_t)len * 8 ||
	    (r->destination.len == 0 && r->destination_len != 0))
		return err_set(err, 0, "routes[%zu]: bad prefix length %u", i, r->destination_len);
	if (r->gateway.len != 0 && r->gateway.len != (size_t)len)
		return err_set(err, 0, "routes[%zu]: gateway must be %d bytes", i, len);
	if (r->scope > 255)
		return err_set(err, 0, "routes[%zu]: scope %u", i, r->scope);
	if (iface_of(req, r->device) < 0)
		return err_set(err, 0, "routes[%zu]: device '%.16s' is not one of the interfaces",
			       i, r->device);
	return 0;
}

static int check_neigh(const net_req *req, size_t i, struct err **err)
{
	const net_neigh *n = req->neighbours[i];
	if (n->address.len != 4 && n->address.len != 16)
		return err_set(err, 0, "neighbours[%zu]: address must be 4 or 16 bytes", i);
	if (n->mac.len != 6)
		return err_set(err, 0, "neighbours[%zu]: mac must be 6 bytes", i);
	if (iface_of(req, n->device) < 0)
		return err_set(err, 0,
			       "neighbours[%zu]: device '%.16s' is not one of the interfaces", i,
			       n->device);
	return 0;
}

int agent_network_check(const net_req *req, struct err **err)
{
	if (req->n_interfaces > MAX_IFACES)
		return err_set(err, 0, "more than %d interfaces", MAX_IFACES);
	if (req->n_routes > MAX_ROUTES)
		return err_set(err, 0, "more than %d routes", MAX_ROUTES);
	if (req->n_neighbours > MAX_NEIGHS)
		return err_set(err, 0, "more than %d neighbours", MAX_NEIGHS);
	for (size_t i = 0; i < req->n_interfaces; i++) {
		const net_iface *f = req->interfaces[i];
		if (!name_ok(f->name))
			return err_set(err, 0, "interfaces[%zu]: bad name", i);
		if (f->mac.len != 6)
			return err_set(err, 0, "interfaces[%zu]: mac must be 6 bytes", i);
		if (f->mtu != 0 && (f->mtu < 68 || f->mtu > 65535))
			return err_set(err, 0, "interfaces[%zu]: mtu %u out of 68..65535", i,
				       f->mtu);
		if (f->n_addresses > MAX_ADDRS)
			return err_set(err, 0, "interfaces[%zu]: more than %d addresses", i,
				       MAX_ADDRS);
		for (size_t k = 0; k < f->n_addresses; k++) {
			const Hull__Agent__V1__IPAddress *a = f->addresses[k];
			if (a->address.len != 4 && a->address.len != 16)
				return err_set(
				    err, 0, "interfaces[%zu].addresses[%zu]: 4 or 16 bytes", i, k);
			if (a->prefix_len > a->address.len * 8)
				return err_set(err, 0,
					       "interfaces[%zu].addresses[%zu]: prefix length %u",
					       i, k, a->prefix_len);
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(req->interfaces[k]->name, f->name) == 0 ||
			    memcmp(req->interfaces[k]->mac.data, f->mac.data, 6) == 0)
				return err_set(err, 0, "interfaces[%zu]: same name or mac as [%zu]",
					       i, k);
	}
	for (size_t i = 0; i < req->n_routes; i++) {
		int r = check_route(req, i, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < req->n_neighbours; i++) {
		int r = check_neigh(req, i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- applying ---------------------------------------------------------------------------- */

struct found {
	const uint8_t *mac;
	int ifindex;
};

static void match_mac(struct nl_object *o, void *arg)
{
	struct found *f = arg;
	struct nl_addr *a = rtnl_link_get_addr((struct rtnl_link *)o);
	if (a && nl_addr_get_len(a) == 6 && memcmp(nl_addr_get_binary_addr(a), f->mac, 6) == 0)
		f->ifindex = rtnl_link_get_ifindex((struct rtnl_link *)o);
}

static int nl_fail(struct err **err, int nlerr, const char *what)
{
	return err_set(err, 0, "%s: %s", what, nl_geterror(nlerr));
}

/* Rename (while down: the kernel refuses to rename a running link), set
 * the MTU, then up. */
static int setup_link(struct nl_sock *sk, struct nl_cache *links, const net_iface *f, int *ifindex,
		      struct err **err)
{
	struct found fd = {.mac = f->mac.data, .ifindex = 0};
	nl_cache_foreach(links, match_mac, &fd);
	if (!fd.ifindex)
		return err_set(err, ENODEV,
			       "interface %s: no NIC with MAC %02x:%02x:%02x:%02x:%02x:%02x",
			       f->name, f->mac.data[0], f->mac.data[1], f->mac.data[2],
			       f->mac.data[3], f->mac.data[4], f->mac.data[5]);
	*ifindex = fd.ifindex;
	struct rtnl_link *old = rtnl_link_get(links, fd.ifindex);
	struct rtnl_link *chg = rtnl_link_alloc();
	int r = -NLE_NOMEM;
	if (old && chg) {
		rtnl_link_set_name(chg, f->name);
		if (f->mtu)
			rtnl_link_set_mtu(chg, f->mtu);
		r = rtnl_link_change(sk, old, chg, 0);
		if (r >= 0) {
			rtnl_link_put(chg);
			chg = rtnl_link_alloc();
			r = chg ? 0 : -NLE_NOMEM;
		}
		if (r >= 0) {
			rtnl_link_set_flags(chg, IFF_UP);
			r = rtnl_link_change(sk, old, chg, 0);
		}
	}
	if (chg)
		rtnl_link_put(chg);
	if (old)
		rtnl_link_put(old);
	if (r < 0)
		return err_set(err, 0, "interface %s: %s", f->name, nl_geterror(r));
	return 0;
}

static struct nl_addr *make_addr(const uint8_t *data, size_t len, unsigned prefix)
{
	struct nl_addr *a = nl_addr_build(len == 4 ? AF_INET : AF_INET6, data, len);
	if (a)
		nl_addr_set_prefixlen(a, (int)prefix);
	return a;
}

static int add_addrs(struct nl_sock *sk, const net_iface *f, int ifindex, struct err **err)
{
	for (size_t k = 0; k < f->n_addresses; k++) {
		const Hull__Agent__V1__IPAddress *in = f->addresses[k];
		struct rtnl_addr *a = rtnl_addr_alloc();
		struct nl_addr *local =
		    make_addr(in->address.data, in->address.len, in->prefix_len);
		int r = -NLE_NOMEM;
		if (a && local) {
			rtnl_addr_set_ifindex(a, ifindex);
			rtnl_addr_set_local(a, local);
			/* The address was already unique in the pod's namespace;
			 * duplicate detection would only delay its first use. */
			if (in->address.len == 16)
				rtnl_addr_set_flags(a, IFA_F_NODAD);
			r = rtnl_addr_add(sk, a, NLM_F_REPLACE);
		}
		if (local)
			nl_addr_put(local);
		if (a)
			rtnl_addr_put(a);
		if (r < 0)
			return err_set(err, 0, "interface %s: add address: %s", f->name,
				       nl_geterror(r));
	}
	return 0;
}

static int add_route(struct nl_sock *sk, const net_route *in, int ifindex, struct err **err)
{
	static const uint8_t zero[16];
	int len = addr_len(in->family);
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst =
	    in->destination.len
		? make_addr(in->destination.data, in->destination.len, in->destination_len)
		: make_addr(zero, (size_t)len, 0);
	struct nl_addr *gw = in->gateway.len
				 ? make_addr(in->gateway.data, in->gateway.len, (unsigned)len * 8)
				 : NULL;
	int r = -NLE_NOMEM;
	if (rt && nh && dst && (gw || !in->gateway.len)) {
		rtnl_route_set_family(rt, len == 4 ? AF_INET : AF_INET6);
		rtnl_route_set_table(rt, RT_TABLE_MAIN);
		rtnl_route_set_protocol(rt, RTPROT_BOOT);
		rtnl_route_set_scope(rt, (uint8_t)in->scope);
		rtnl_route_set_type(rt, RTN_UNICAST);
		if (in->metric)
			rtnl_route_set_priority(rt, in->metric);
		r = rtnl_route_set_dst(rt, dst);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		if (gw)
			rtnl_route_nh_set_gateway(nh, gw);
		if (r >= 0) {
			rtnl_route_add_nexthop(rt, nh); /* the route owns it now */
			nh = NULL;
			/* the kernel adds the prefix routes of addresses itself */
			r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
		}
	}
	if (nh)
		rtnl_route_nh_free(nh);
	if (dst)
		nl_addr_put(dst);
	if (gw)
		nl_addr_put(gw);
	if (rt)
		rtnl_route_put(rt);
	if (r < 0)
		return err_set(err, 0, "route via %s: %s", in->device, nl_geterror(r));
	return 0;
}

static int add_neigh(struct nl_sock *sk, const net_neigh *in, int ifindex, struct err **err)
{
	int fam = in->address.len == 4 ? AF_INET : AF_INET6;
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = nl_addr_build(fam, in->address.data, in->address.len);
	struct nl_addr *ll = nl_addr_build(AF_LLC, in->mac.data, 6);
	int r = -NLE_NOMEM;
	if (n && dst && ll) {
		rtnl_neigh_set_ifindex(n, ifindex);
		rtnl_neigh_set_family(n, fam);
		rtnl_neigh_set_lladdr(n, ll);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		r = rtnl_neigh_set_dst(n, dst);
		if (r >= 0)
			r = rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_REPLACE);
	}
	if (ll)
		nl_addr_put(ll);
	if (dst)
		nl_addr_put(dst);
	if (n)
		rtnl_neigh_put(n);
	if (r < 0)
		return err_set(err, 0, "neighbour on %s: %s", in->device, nl_geterror(r));
	return 0;
}

int agent_network_apply(struct agent *a, const net_req *req, struct err **err)
{
	if (!a->pid1)
		return err_set(err, EPERM, "the network is only set up by the guest's init");
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return err_set(err, ENOMEM, "netlink socket");
	struct nl_cache *links = NULL;
	int ifindex[MAX_IFACES] = {0};
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		r = nl_fail(err, r, "netlink");
		goto out_sock;
	}
	if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0) {
		r = nl_fail(err, r, "list links");
		goto out_sock;
	}
	for (size_t i = 0; i < req->n_interfaces && r >= 0; i++) {
		r = setup_link(sk, links, req->interfaces[i], &ifindex[i], err);
		if (r >= 0)
			r = add_addrs(sk, req->interfaces[i], ifindex[i], err);
		if (r >= 0)
			log_info("interface %s: up with %zu addresses", req->interfaces[i]->name,
				 req->interfaces[i]->n_addresses);
	}
	/* agent_network_check() made sure each device is one of the interfaces */
	for (size_t i = 0; i < req->n_routes && r >= 0; i++)
		r = add_route(sk, req->routes[i], ifindex[iface_of(req, req->routes[i]->device)],
			      err);
	for (size_t i = 0; i < req->n_neighbours && r >= 0; i++)
		r = add_neigh(sk, req->neighbours[i],
			      ifindex[iface_of(req, req->neighbours[i]->device)], err);
	if (r >= 0 && req->n_neighbours)
		log_info("%zu permanent neighbours", req->n_neighbours);
	nl_cache_free(links);
out_sock:
	nl_socket_free(sk);
	return r < 0 ? r : 0;
}
