// SPDX-License-Identifier: Apache-2.0
/*
 * The pod's network namespace on the host (see runtime/net.h), with
 * libnl-route-3. Kata Containers' "tcfilter" model: for each interface eth0
 * that CNI (or podman's netavark) put in the namespace,
 *
 *   tc qdisc add dev eth0 ingress
 *   tc filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 \
 *      action mirred egress redirect dev tap0_hull
 *   tc qdisc add dev tap0_hull ingress
 *   tc filter add dev tap0_hull parent ffff: protocol all u32 match u32 0 0 \
 *      action mirred egress redirect dev eth0
 *
 * so every frame arriving on eth0 leaves through the tap into the VM and
 * every frame the VM sends leaves through eth0, untouched: the VM's NIC has
 * eth0's MAC and addresses, and the namespace's own stack never sees them.
 *
 * The tap is not persistent: the VMM holds its only fd, so when the VMM
 * exits (or is killed) the kernel removes the tap and its qdisc. What stays
 * is eth0's ingress qdisc, which teardown removes (hull delete, or the
 * cleanup of a failed create).
 *
 * Permanent neighbours (ARP/NDP entries made by hand or by a CNI plugin) are
 * copied too: the guest answers and resolves for itself, so without them
 * an entry the pod relies on (a static gateway MAC, say) would be lost.
 *
 * Everything that talks to the namespace runs on the calling thread after
 * setns(CLONE_NEWNET), which affects only that thread, and returns to the
 * thread's own namespace before returning: the shim links this too.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/netlink.h>
#include <netlink/route/action.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "runtime/net.h"

int rt_net_from_spec(const struct oci_spec *spec, const char **netns, struct err **err)
{
	*netns = NULL;
	const struct oci_linux *l = spec->linux_;
	for (size_t i = 0; l && i < l->namespaces_len; i++)
		if (l->namespaces[i].type == OCI_NS_NETWORK) {
			*netns = l->namespaces[i].path;
			return 0;
		}
	return err_set(err, EPERM,
		       "the spec shares the host's network namespace (no linux.namespaces entry "
		       "of type network, as with --net=host); hull runs the container in a VM, "
		       "which cannot share the host's network stack: give it a network "
		       "namespace (e.g. --net=none, a CNI or podman network)");
}

/* ---- entering the namespace -------------------------------------------------------------- */

struct ns_guard {
	int self; /* this thread's own network namespace */
};

static int ns_enter(const char *path, struct ns_guard *g, struct err **err)
{
	g->self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (g->self < 0)
		return err_set(err, errno, "open /proc/thread-self/ns/net");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = fd < 0 ? -errno : setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	if (r < 0) {
		close(g->self);
		g->self = -1;
		return err_set(err, -r, "network namespace %s", path);
	}
	return 0;
}

static void ns_leave(struct ns_guard *g)
{
	if (g->self < 0)
		return;
	/* A thread left in the pod's namespace would make every later socket
	 * of ours there: no way to carry on safely. */
	if (setns(g->self, CLONE_NEWNET) < 0) {
		log_error("return to our network namespace: %m");
		abort();
	}
	close(g->self);
	g->self = -1;
}

static int nl_open(struct nl_sock **out, struct err **err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return err_set(err, ENOMEM, "netlink socket");
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return err_set(err, 0, "netlink: %s", nl_geterror(r));
	}
	*out = sk;
	return 0;
}

/* ---- reading the namespace --------------------------------------------------------------- */

struct walk {
	struct rt_net *net;
	int err; /* first -NLE_* / -errno */
	const char *what;
};

static bool our_tap(const char *name)
{
	size_t n = strlen(name);
	return strncmp(name, "tap", 3) == 0 && n > 8 && strcmp(name + n - 5, "_hull") == 0;
}

static void take_link(struct nl_object *o, void *arg)
{
	struct walk *w = arg;
	struct rtnl_link *l = (struct rtnl_link *)o;
	const char *name = rtnl_link_get_name(l);
	struct nl_addr *mac = rtnl_link_get_addr(l);
	/* only Ethernet links carry a pod's traffic; lo stays the namespace's */
	if ((rtnl_link_get_flags(l) & IFF_LOOPBACK) || rtnl_link_get_arptype(l) != ARPHRD_ETHER ||
	    !name || our_tap(name) || !mac || nl_addr_get_len(mac) != 6)
		return;
	if (w->net->n_links == RT_NET_MAX_LINKS) {
		w->err = -E2BIG;
		w->what = name;
		return;
	}
	struct rt_net_link *k = &w->net->links[w->net->n_links++];
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->ifindex = rtnl_link_get_ifindex(l);
	memcpy(k->mac, nl_addr_get_binary_addr(mac), 6);
	k->mtu = rtnl_link_get_mtu(l);
	k->tap_fd = -1;
}

static struct rt_net_link *link_of(struct rt_net *net, int ifindex, size_t *idx)
{
	for (size_t i = 0; i < net->n_links; i++)
		if (net->links[i].ifindex == ifindex) {
			if (idx)
				*idx = i;
			return &net->links[i];
		}
	return NULL;
}

static bool v6_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static void take_addr(struct nl_object *o, void *arg)
{
	struct walk *w = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)o;
	struct rt_net_link *k = link_of(w->net, rtnl_addr_get_ifindex(a), NULL);
	struct nl_addr *local = rtnl_addr_get_local(a);
	int fam = rtnl_addr_get_family(a);
	if (!k || !local || (fam != AF_INET && fam != AF_INET6))
		return;
	size_t len = nl_addr_get_len(local);
	const uint8_t *b = nl_addr_get_binary_addr(local);
	/* the guest kernel makes its own IPv6 link-local address from the MAC */
	if (len != (fam == AF_INET ? 4u : 16u) || (fam == AF_INET6 && v6_link_local(b)))
		return;
	if (k->n_addrs == RT_NET_MAX_ADDRS) {
		w->err = -E2BIG;
		w->what = k->name;
		return;
	}
	struct rt_net_addr *x = &k->addrs[k->n_addrs++];
	x->family = fam == AF_INET ? 4 : 6;
	x->prefix = (uint8_t)rtnl_addr_get_prefixlen(a);
	memcpy(x->addr, b, len);
}

static void take_route(struct nl_object *o, void *arg)
{
	struct walk *w = arg;
	struct rtnl_route *rt = (struct rtnl_route *)o;
	int fam = rtnl_route_get_family(rt);
	/* Only the main table's unicast routes that someone configured: the
	 * guest kernel adds the prefix routes of its addresses itself. */
	if ((fam != AF_INET && fam != AF_INET6) || rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(rt) != RTN_UNICAST ||
	    rtnl_route_get_protocol(rt) == RTPROT_KERNEL || rtnl_route_get_nnexthops(rt) != 1)
		return;
	struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
	size_t idx;
	if (!nh || !link_of(w->net, rtnl_route_nh_get_ifindex(nh), &idx))
		return;
	size_t alen = fam == AF_INET ? 4 : 16;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
	if ((dst && nl_addr_get_prefixlen(dst) > 0 && nl_addr_get_len(dst) != alen) ||
	    (gw && nl_addr_get_len(gw) != alen))
		return;
	if (fam == AF_INET6 && dst && nl_addr_get_prefixlen(dst) > 0 &&
	    (v6_link_local(nl_addr_get_binary_addr(dst)) ||
	     ((const uint8_t *)nl_addr_get_binary_addr(dst))[0] == 0xff))
		return;
	if (w->net->n_routes == RT_NET_MAX_ROUTES) {
		w->err = -E2BIG;
		w->what = "routes";
		return;
	}
	struct rt_net_route *x = &w->net->routes[w->net->n_routes++];
	memset(x, 0, sizeof(*x));
	x->family = fam == AF_INET ? 4 : 6;
	x->link = idx;
	x->scope = (uint8_t)rtnl_route_get_scope(rt);
	x->metric = rtnl_route_get_priority(rt);
	if (dst && nl_addr_get_prefixlen(dst) > 0) {
		x->has_dst = true;
		x->dst_len = (uint8_t)nl_addr_get_prefixlen(dst);
		memcpy(x->dst, nl_addr_get_binary_addr(dst), alen);
	}
	if (gw) {
		x->has_gw = true;
		memcpy(x->gw, nl_addr_get_binary_addr(gw), alen);
	}
}

/* Only the entries someone made by hand (ip neigh add ... nud permanent, or
 * a CNI plugin): what the kernel learnt the guest learns again itself. */
static void take_neigh(struct nl_object *o, void *arg)
{
	struct walk *w = arg;
	struct rtnl_neigh *n = (struct rtnl_neigh *)o;
	int fam = rtnl_neigh_get_family(n);
	struct nl_addr *dst = rtnl_neigh_get_dst(n);
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
	size_t idx, alen = fam == AF_INET ? 4 : 16;
	if ((fam != AF_INET && fam != AF_INET6) || !(rtnl_neigh_get_state(n) & NUD_PERMANENT) ||
	    !link_of(w->net, rtnl_neigh_get_ifindex(n), &idx) || !dst ||
	    nl_addr_get_len(dst) != alen || !ll || nl_addr_get_len(ll) != 6)
		return;
	if (w->net->n_neighs == RT_NET_MAX_NEIGHS) {
		w->err = -E2BIG;
		w->what = "neighbours";
		return;
	}
	struct rt_net_neigh *x = &w->net->neighs[w->net->n_neighs++];
	memset(x, 0, sizeof(*x));
	x->family = fam == AF_INET ? 4 : 6;
	x->link = idx;
	memcpy(x->addr, nl_addr_get_binary_addr(dst), alen);
	memcpy(x->mac, nl_addr_get_binary_addr(ll), 6);
}

/* On-link routes first: a route via a gateway needs the gateway reachable. */
static void order_routes(struct rt_net *net)
{
	struct rt_net_route tmp[RT_NET_MAX_ROUTES];
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < net->n_routes; i++)
			if (net->routes[i].has_gw == (pass == 1))
				tmp[n++] = net->routes[i];
	memcpy(net->routes, tmp, n * sizeof(tmp[0]));
}

static int discover(struct nl_sock *sk, struct rt_net *net, struct err **err)
{
	struct walk w = {.net = net};
	struct nl_cache *c = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &c);
	if (r < 0)
		return err_set(err, 0, "list links: %s", nl_geterror(r));
	nl_cache_foreach(c, take_link, &w);
	nl_cache_free(c);
	if (w.err == 0 && (r = rtnl_addr_alloc_cache(sk, &c)) >= 0) {
		nl_cache_foreach(c, take_addr, &w);
		nl_cache_free(c);
	}
	if (r < 0)
		return err_set(err, 0, "list addresses: %s", nl_geterror(r));
	if (w.err == 0 && (r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &c)) >= 0) {
		nl_cache_foreach(c, take_route, &w);
		nl_cache_free(c);
	}
	if (r < 0)
		return err_set(err, 0, "list routes: %s", nl_geterror(r));
	if (w.err == 0 && (r = rtnl_neigh_alloc_cache(sk, &c)) >= 0) {
		nl_cache_foreach(c, take_neigh, &w);
		nl_cache_free(c);
	}
	if (r < 0)
		return err_set(err, 0, "list neighbours: %s", nl_geterror(r));
	if (w.err < 0)
		return err_set(err, E2BIG,
			       "%s: more than hull carries into a VM (%d links, %d "
			       "addresses each, %d routes, %d neighbours)",
			       w.what, RT_NET_MAX_LINKS, RT_NET_MAX_ADDRS, RT_NET_MAX_ROUTES,
			       RT_NET_MAX_NEIGHS);
	order_routes(net);
	return 0;
}

/* ---- taps and redirects ------------------------------------------------------------------ */

/* i < RT_NET_MAX_LINKS (one digit) */
static void tap_name(size_t i, char name[16])
{
	memcpy(name, "tap0_hull", 10);
	name[3] = (char)('0' + i % 10);
}

static int tap_open(struct rt_net_link *k, size_t i, struct err **err)
{
	tap_name(i, k->tap);
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "open /dev/net/tun");
	/* no IFF_MULTI_QUEUE: one queue pair, as the VMM's device has */
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", k->tap);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "create tap %s%s", k->tap,
			       e == EBUSY ? " (is another VM attached to this namespace?)" : "");
	}
	k->tap_fd = fd;
	return 0;
}

static int link_up(struct nl_sock *sk, const char *name, uint32_t mtu, int *ifindex,
		   struct err **err)
{
	struct rtnl_link *old = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &old);
	if (r < 0)
		return err_set(err, 0, "link %s: %s", name, nl_geterror(r));
	*ifindex = rtnl_link_get_ifindex(old);
	struct rtnl_link *chg = rtnl_link_alloc();
	r = -NLE_NOMEM;
	if (chg) {
		rtnl_link_set_mtu(chg, mtu);
		rtnl_link_set_flags(chg, IFF_UP);
		r = rtnl_link_change(sk, old, chg, 0);
		rtnl_link_put(chg);
	}
	rtnl_link_put(old);
	return r < 0 ? err_set(err, 0, "set %s up (mtu %u): %s", name, mtu, nl_geterror(r)) : 0;
}

static void tc_ingress(struct rtnl_tc *tc, int ifindex)
{
	rtnl_tc_set_ifindex(tc, ifindex);
	rtnl_tc_set_parent(tc, TC_H_INGRESS);
	rtnl_tc_set_handle(tc, TC_HANDLE(0xffff, 0));
	rtnl_tc_set_kind(tc, "ingress");
}

/* Everything arriving on from leaves through to, as it came. */
static int redirect(struct nl_sock *sk, const char *from_name, int from, int to, struct err **err)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = rtnl_act_alloc();
	int r = -NLE_NOMEM;
	const char *step = "allocate";
	if (q && cls && act) {
		tc_ingress(TC_CAST(q), from);
		step = "add ingress qdisc";
		r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	}
	if (r >= 0) {
		rtnl_tc_set_kind(TC_CAST(act), "mirred");
		rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
		rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
		rtnl_mirred_set_ifindex(act, (uint32_t)to);
		rtnl_tc_set_ifindex(TC_CAST(cls), from);
		rtnl_tc_set_parent(TC_CAST(cls), TC_HANDLE(0xffff, 0));
		/* u32 with one key that matches everything, as Kata does: older
		 * kernels and minimal configs lack the matchall classifier */
		rtnl_tc_set_kind(TC_CAST(cls), "u32");
		rtnl_cls_set_protocol(cls, ETH_P_ALL);
		rtnl_cls_set_prio(cls, 1);
		step = "add mirred filter";
		r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
		if (r >= 0)
			r = rtnl_u32_set_cls_terminal(cls);
		if (r >= 0)
			r = rtnl_u32_add_action(cls, act); /* takes its own reference */
		if (r >= 0)
			r = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
	}
	if (act)
		rtnl_act_put(act);
	if (cls)
		rtnl_cls_put(cls);
	if (q)
		rtnl_qdisc_put(q);
	if (r == -NLE_EXIST && strcmp(step, "add ingress qdisc") == 0)
		return err_set(err, EEXIST,
			       "%s already has an ingress qdisc (is another VM attached to this "
			       "namespace?)",
			       from_name);
	return r < 0 ? err_set(err, 0, "%s on %s: %s", step, from_name, nl_geterror(r)) : 0;
}

/* 0, or -ENODEV when the link is not there (any more). */
static int del_ingress(struct nl_sock *sk, const char *name, struct err **err)
{
	int ifindex = 0;
	struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &l);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		return -ENODEV;
	if (r < 0)
		return err_set(err, 0, "link %s: %s", name, nl_geterror(r));
	ifindex = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	if (!q)
		return err_set(err, ENOMEM, "qdisc");
	tc_ingress(TC_CAST(q), ifindex);
	r = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	/* none there: already removed, or never added (a create that failed) */
	if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_INVAL && r != -NLE_NOADDR)
		return err_set(err, 0, "remove the ingress qdisc of %s: %s", name, nl_geterror(r));
	return 0;
}

static int del_tap(struct nl_sock *sk, const char *name, struct err **err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return err_set(err, ENOMEM, "link");
	rtnl_link_set_name(l, name);
	int r = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
		return err_set(err, 0, "remove tap %s: %s", name, nl_geterror(r));
	return 0;
}

static int connect_links(struct nl_sock *sk, struct rt_net *net, struct err **err)
{
	for (size_t i = 0; i < net->n_links; i++) {
		struct rt_net_link *k = &net->links[i];
		int tap_index = 0;
		int r = tap_open(k, i, err);
		if (r >= 0)
			r = link_up(sk, k->tap, k->mtu, &tap_index, err);
		if (r >= 0)
			r = redirect(sk, k->name, k->ifindex, tap_index, err);
		if (r >= 0)
			r = redirect(sk, k->tap, tap_index, k->ifindex, err);
		if (r < 0)
			return r;
		log_debug("network: %s <-> %s (mtu %u, %zu addresses)", k->name, k->tap, k->mtu,
			  k->n_addrs);
	}
	return 0;
}

void rt_net_close(struct rt_net *net)
{
	for (size_t i = 0; i < net->n_links; i++)
		if (net->links[i].tap_fd >= 0) {
			close(net->links[i].tap_fd);
			net->links[i].tap_fd = -1;
		}
}

int rt_net_setup(const char *netns, struct rt_net *net, struct err **err)
{
	memset(net, 0, sizeof(*net));
	struct ns_guard g;
	int r = ns_enter(netns, &g, err);
	if (r < 0)
		return r;
	struct nl_sock *sk = NULL;
	r = nl_open(&sk, err);
	if (r >= 0)
		r = discover(sk, net, err);
	if (r >= 0)
		r = connect_links(sk, net, err);
	if (r >= 0)
		log_debug("network: %zu interfaces, %zu routes, %zu neighbours from %s",
			  net->n_links, net->n_routes, net->n_neighs, netns);
	if (r < 0 && sk) {
		/* undo: the taps go with their fds, eth0's qdiscs by hand */
		for (size_t i = 0; i < net->n_links; i++)
			if (net->links[i].tap[0]) {
				del_ingress(sk, net->links[i].name, NULL);
				del_tap(sk, net->links[i].tap, NULL);
			}
		rt_net_close(net);
	}
	if (sk)
		nl_socket_free(sk);
	ns_leave(&g);
	return r < 0 ? err_wrap(err, "network namespace %s", netns) : 0;
}

int rt_net_teardown(const char *netns, char *const *links, size_t n_links, struct err **err)
{
	if (access(netns, F_OK) < 0 && errno == ENOENT) {
		log_debug("network namespace %s is gone: nothing to remove", netns);
		return 0;
	}
	struct ns_guard g;
	struct err *e = NULL;
	int r = ns_enter(netns, &g, &e);
	if (r == -EINVAL) {
		/* the file is there but no namespace is mounted on it any more
		 * (unmounted by its owner): its devices went with it */
		log_debug("%s: %s: nothing to remove", netns, err_msg(e));
		err_free(&e);
		return 0;
	}
	if (r < 0) {
		if (err)
			*err = e;
		else
			err_free(&e);
		return r;
	}
	struct nl_sock *sk = NULL;
	int first = nl_open(&sk, err);
	for (size_t i = 0; sk && i < n_links; i++) {
		char tap[16];
		tap_name(i, tap);
		r = del_ingress(sk, links[i], first < 0 ? NULL : err);
		if (r == -ENODEV)
			log_error("network: interface %s has gone from namespace %s while the "
				  "container ran (deleted?): the VM lost its network there",
				  links[i], netns);
		else if (r < 0)
			first = r;
		r = del_tap(sk, tap, first < 0 ? NULL : err);
		if (r < 0 && first >= 0)
			first = r;
	}
	if (sk)
		nl_socket_free(sk);
	ns_leave(&g);
	return first < 0 ? err_wrap(err, "network namespace %s", netns) : 0;
}
