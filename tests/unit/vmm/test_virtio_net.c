// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net against fake guest memory, with one end of a datagram
 * socketpair standing in for the tap (one message per frame, behind its
 * 12-byte virtio-net header, as a tap with IFF_VNET_HDR): the config space,
 * a transmitted frame reaching the host, a received frame in one buffer and
 * spread over mergeable buffers, and a driver error that breaks only the
 * device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_net.h>

#include "../../../vmm/devices.h"
#include "fake_guest.h"

#define RXQ 0
#define TXQ 1
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define BUF 1526 /* what Linux posts per mergeable buffer: header + 1514 */

struct net_env {
	struct fake_guest g;
	struct vmm_loop *loop;
	struct virtio_dev *dev;
	int host; /* the "tap"'s far end: what the host network sees */
};

static int net_setup(void **state, bool mrg)
{
	struct net_env *e = calloc(1, sizeof(*e));
	int sv[2];
	assert_non_null(e);
	assert_int_equal(fake_guest_init(&e->g, 1 << 20), 0);
	assert_int_equal(vmm_loop_new(&e->loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	struct virtio_net_opts o = {.mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}, .mtu = 1400};
	assert_int_equal(virtio_net_create_fd(&e->g.mem, e->loop, sv[0], false, &o, &e->dev), 0);
	e->host = sv[1];
	fake_dev_attach(&e->g, e->dev);
	e->dev->features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) |
			   (mrg ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0);
	fake_vq_setup(&e->g, RXQ, 64);
	fake_vq_setup(&e->g, TXQ, 64);
	assert_int_equal(virtio_dev_activate(e->dev), 0);
	*state = e;
	return 0;
}

static int setup_plain(void **state)
{
	return net_setup(state, false);
}

static int setup_mrg(void **state)
{
	return net_setup(state, true);
}

static int teardown(void **state)
{
	struct net_env *e = *state;
	e->dev->ops->free(e->dev);
	vmm_loop_free(e->loop);
	close(e->host);
	fake_guest_free(&e->g);
	free(e);
	return 0;
}

/* The host sends one frame of len bytes (pattern i * 7) behind a zero header. */
static void host_send(struct net_env *e, size_t len)
{
	static uint8_t frame[HDR + 4000];
	assert_true(len <= 4000);
	memset(frame, 0, HDR);
	for (size_t i = 0; i < len; i++)
		frame[HDR + i] = (uint8_t)(i * 7);
	assert_int_equal(send(e->host, frame, HDR + len, 0), (ssize_t)(HDR + len));
}

static void test_config(void **state)
{
	struct net_env *e = *state;
	const struct virtio_net_config *c = e->dev->config;
	assert_memory_equal(c->mac, "\x02\x11\x22\x33\x44\x55", 6);
	assert_int_equal(c->mtu, 1400);
	assert_int_equal(c->status, VIRTIO_NET_S_LINK_UP);
	uint64_t f = e->dev->host_features;
	assert_true(f & (1ull << VIRTIO_NET_F_MAC));
	assert_true(f & (1ull << VIRTIO_NET_F_MTU));
	assert_true(f & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	/* no offloads offered on an fd that cannot take them */
	assert_false(f & (1ull << VIRTIO_NET_F_CSUM));
	assert_false(f & (1ull << VIRTIO_NET_F_GUEST_TSO4));
}

/* A frame split over header and payload descriptors reaches the host whole. */
static void test_tx(void **state)
{
	struct net_env *e = *state;
	uint64_t hdr = fake_alloc(&e->g, HDR), data = fake_alloc(&e->g, 5);
	memcpy(fake_ptr(&e->g, data), "hello", 5);
	struct fake_buf b[2] = {{hdr, HDR, false}, {data, 5, false}};
	uint16_t head = fake_vq_post(&e->g, TXQ, b, 2);
	uint32_t id, len;
	assert_true(fake_vq_used(&e->g, TXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	uint8_t got[64];
	assert_int_equal(recv(e->host, got, sizeof(got), 0), HDR + 5);
	assert_memory_equal(got + HDR, "hello", 5);
	assert_false(e->dev->failed);
}

/* Without mergeable buffers a frame takes one chain; num_buffers is 1. */
static void test_rx_plain(void **state)
{
	struct net_env *e = *state;
	host_send(e, 60);
	uint64_t buf = fake_alloc(&e->g, BUF);
	struct fake_buf b = {buf, BUF, true};
	uint16_t head = fake_vq_post(&e->g, RXQ, &b, 1);
	uint32_t id, len;
	assert_true(fake_vq_used(&e->g, RXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 60);
	const struct virtio_net_hdr_v1 *h = fake_ptr(&e->g, buf);
	assert_int_equal(h->num_buffers, 1);
	const uint8_t *p = fake_ptr(&e->g, buf + HDR);
	assert_int_equal(p[59], (uint8_t)(59 * 7));
	assert_true(e->g.irqs > 0);
}

/* With mergeable buffers a 3000-byte frame fills two 1526-byte buffers;
 * num_buffers in the first says 2 and the rest stay with the device. */
static void test_rx_mergeable(void **state)
{
	struct net_env *e = *state;
	host_send(e, 3000);
	uint64_t bufs[48];
	uint16_t heads[48];
	uint32_t id, len;
	/* the device gathers room for the largest (64 KiB) frame first */
	for (unsigned i = 0; i < 48; i++) {
		bufs[i] = fake_alloc(&e->g, BUF);
		struct fake_buf b = {bufs[i], BUF, true};
		heads[i] = fake_vq_post(&e->g, RXQ, &b, 1);
	}
	assert_true(fake_vq_used(&e->g, RXQ, &id, &len));
	assert_int_equal(id, heads[0]);
	assert_int_equal(len, BUF);
	const struct virtio_net_hdr_v1 *h = fake_ptr(&e->g, bufs[0]);
	assert_int_equal(h->num_buffers, 2);
	assert_true(fake_vq_used(&e->g, RXQ, &id, &len));
	assert_int_equal(id, heads[1]);
	assert_int_equal(len, HDR + 3000 - BUF);
	assert_false(fake_vq_used(&e->g, RXQ, &id, &len));
	/* the frame's bytes continue across the two buffers */
	const uint8_t *first = fake_ptr(&e->g, bufs[0] + HDR), *second = fake_ptr(&e->g, bufs[1]);
	assert_int_equal(first[BUF - HDR - 1], (uint8_t)((BUF - HDR - 1) * 7));
	assert_int_equal(second[0], (uint8_t)((BUF - HDR) * 7));
	assert_false(e->dev->failed);
}

/* A transmit chain shorter than its header is a driver bug: the device
 * stops (NEEDS_RESET) and nothing reaches the host. */
static void test_tx_short_header(void **state)
{
	struct net_env *e = *state;
	uint64_t hdr = fake_alloc(&e->g, HDR);
	struct fake_buf b = {hdr, 6, false};
	fake_vq_post(&e->g, TXQ, &b, 1);
	assert_true(e->dev->failed);
	uint8_t got[64];
	assert_int_equal(recv(e->host, got, sizeof(got), 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_tx, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_plain, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mergeable, setup_mrg, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_short_header, setup_plain, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
