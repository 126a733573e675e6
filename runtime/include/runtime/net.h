/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod's network, the Kata way (tc redirect): the runtime enters the
 * network namespace the OCI spec names, reads its interfaces, addresses,
 * routes and permanent neighbours, and for each interface creates a tap
 * there and joins tap and interface with ingress qdiscs and mirred redirect
 * filters in both directions. The VMM gets one virtio-net per tap with the
 * interface's MAC and MTU; the agent recreates addresses, routes and
 * neighbours in the guest.
 */
#ifndef HULL_RUNTIME_NET_H
#define HULL_RUNTIME_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct oci_spec;
struct rt_agent;

#define RT_NET_MAX_LINKS  8 /* = VMM_MAX_NETS */
#define RT_NET_MAX_ADDRS  16
#define RT_NET_MAX_ROUTES 64
#define RT_NET_MAX_NEIGHS 64

/* The tap of the i-th interface, in the pod's namespace: tapI_hull. */

struct rt_net_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint8_t addr[16];
};

struct rt_net_link {
	char name[16]; /* IFNAMSIZ */
	int ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	char tap[16];
	int tap_fd; /* -1 once handed to the VMM */
	struct rt_net_addr addrs[RT_NET_MAX_ADDRS];
	size_t n_addrs;
};

struct rt_net_route {
	uint8_t family; /* 4 or 6 */
	uint8_t dst_len;
	uint8_t scope;
	bool has_dst, has_gw;
	uint8_t dst[16], gw[16];
	size_t link; /* index into links */
	uint32_t metric;
};

/* A permanent ARP (IPv4) or NDP (IPv6) entry on one of the links. */
struct rt_net_neigh {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint8_t mac[6];
	size_t link; /* index into links */
};

struct rt_net {
	struct rt_net_link links[RT_NET_MAX_LINKS];
	size_t n_links;
	struct rt_net_route routes[RT_NET_MAX_ROUTES];
	size_t n_routes;
	struct rt_net_neigh neighs[RT_NET_MAX_NEIGHS];
	size_t n_neighs;
};

/*
 * Which network the spec asks for. Returns 0 and *netns (a path inside the
 * spec, or NULL for a new, empty namespace: the VM gets no NIC). A spec
 * without a network namespace asks for the host's network (--net=host),
 * which a VM cannot share: -EPERM with a message that says so.
 */
int rt_net_from_spec(const struct oci_spec *spec, const char **netns, struct err **err);

/*
 * In the network namespace at path netns: read its interfaces (not lo, not
 * our taps), their addresses, routes and permanent neighbours; create a tap per interface (open
 * fd, IFF_VNET_HDR, same MTU, up) and the redirects both ways. On failure
 * everything made here is removed again. Release the fds with
 * rt_net_close() once the VMM holds them (the taps then live as long as the
 * VMM does); remove the redirects with rt_net_teardown().
 */
int rt_net_setup(const char *netns, struct rt_net *net, struct err **err);
void rt_net_close(struct rt_net *net);

/*
 * Remove what rt_net_setup made in netns for the interfaces named links
 * (the ingress qdiscs, which take their filters along, and the taps if they
 * are still there). An interface that has gone (deleted while the
 * container ran) is logged and skipped; a namespace that has gone leaves
 * nothing to remove. Returns the first real failure.
 */
int rt_net_teardown(const char *netns, char *const *links, size_t n_links, struct err **err);

/* Send the network to the guest agent (UpdateNetwork). */
int rt_agent_update_network(struct rt_agent *a, const struct rt_net *net, struct err **err);

#endif
