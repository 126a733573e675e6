// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-vsock device against fake guest memory and split rings (no
 * /dev/kvm): device identity and config, packets through real descriptor
 * chains laid out the way Linux 6.1 does (rx: a 44-byte header buffer plus a
 * 4 KiB data buffer), a 1 MiB+ transfer each way, broken chains, reset.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../vmm/virtio_vsock.h"
#include "../../../vmm/vsock_packet.h"
#include "fake_guest.h"
#include "lib/fd.h"
#include "vsock_sim.h"

#define RXQ      0
#define TXQ      1
#define EVQ      2
#define QSIZE    64
#define N_RX     8
#define RX_DATA  4096
#define GUEST_ID 3

struct env {
	struct fake_guest g;
	struct vsock_sim paths; /* only for its temp dir and helpers */
	struct virtio_dev *dev;
	uint64_t rx_hdr[N_RX], rx_data[N_RX];
	uint16_t rx_head[N_RX];
	unsigned rx_next; /* next rx slot to post */
	uint64_t tx_buf;
	int fds_before;
};

static void rx_post(struct env *e, unsigned slot)
{
	struct fake_buf b[] = {{e->rx_hdr[slot], VSOCK_HDR_SIZE, true},
			       {e->rx_data[slot], RX_DATA, true}};
	e->rx_head[slot] = fake_vq_add(&e->g, RXQ, b, 2);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->fds_before = vsock_sim_fd_count();
	assert_int_equal(fake_guest_init(&e->g, 4u << 20), 0);
	/* A temp dir for sockets; the device makes its own muxer there. */
	snprintf(e->paths.dir, sizeof(e->paths.dir), "/tmp/hull-vsockdev-XXXXXX");
	assert_non_null(mkdtemp(e->paths.dir));
	snprintf(e->paths.path, sizeof(e->paths.path), "%.60s/vm.sock", e->paths.dir);
	struct virtio_vsock_config cfg = {.uds_path = e->paths.path, .guest_cid = GUEST_ID};
	assert_int_equal(virtio_vsock_create(&e->g.mem, NULL, &cfg, &e->dev), 0);
	fake_dev_attach(&e->g, e->dev);
	fake_vq_setup(&e->g, RXQ, QSIZE);
	fake_vq_setup(&e->g, TXQ, QSIZE);
	fake_vq_setup(&e->g, EVQ, QSIZE);
	pthread_mutex_lock(&e->dev->lock);
	assert_int_equal(virtio_dev_activate(e->dev), 0);
	pthread_mutex_unlock(&e->dev->lock);
	for (unsigned i = 0; i < N_RX; i++) {
		e->rx_hdr[i] = fake_alloc(&e->g, VSOCK_HDR_SIZE);
		e->rx_data[i] = fake_alloc(&e->g, RX_DATA);
		rx_post(e, i);
	}
	e->tx_buf = fake_alloc(&e->g, VSOCK_HDR_SIZE + VSOCK_MAX_PKT_LEN);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	pthread_mutex_lock(&e->dev->lock);
	virtio_dev_reset(e->dev);
	pthread_mutex_unlock(&e->dev->lock);
	e->dev->ops->free(e->dev);
	assert_int_equal(access(e->paths.path, F_OK), -1); /* socket unlinked */
	e->paths.m = NULL;
	vsock_sim_exit(&e->paths);
	fake_guest_free(&e->g);
	assert_int_equal(vsock_sim_fd_count(), e->fds_before);
	free(e);
	return 0;
}

/* The guest sends one packet; header and payload in separate descriptors
 * when split, else one buffer. */
static void guest_tx(struct env *e, uint16_t op, uint32_t sport, uint32_t dport, uint32_t flags,
		     uint32_t fwd, const void *data, uint32_t len, bool split)
{
	struct vsock_hdr h = {.src_cid = GUEST_ID,
			      .dst_cid = VSOCK_HOST_CID,
			      .src_port = sport,
			      .dst_port = dport,
			      .len = len,
			      .type = VSOCK_TYPE_STREAM,
			      .op = op,
			      .flags = flags,
			      .buf_alloc = 256 * 1024,
			      .fwd_cnt = fwd};
	uint8_t *p = fake_ptr(&e->g, e->tx_buf);
	vsock_hdr_build(&h, p);
	if (len)
		memcpy(p + VSOCK_HDR_SIZE, data, len);
	unsigned used_before = e->g.q[TXQ].used_seen;
	if (split && len) {
		struct fake_buf b[] = {{e->tx_buf, VSOCK_HDR_SIZE, false},
				       {e->tx_buf + VSOCK_HDR_SIZE, len, false}};
		fake_vq_post(&e->g, TXQ, b, 2);
	} else {
		struct fake_buf b[] = {{e->tx_buf, VSOCK_HDR_SIZE + len, false}};
		fake_vq_post(&e->g, TXQ, b, 1);
	}
	uint32_t id, ulen;
	assert_true(fake_vq_used(&e->g, TXQ, &id, &ulen)); /* consumed at once */
	assert_int_equal(ulen, 0);
	assert_int_equal(e->g.q[TXQ].used_seen, used_before + 1);
}

/* Next rx packet (polling the device up to timeout_ms); reposts the buffer. */
static bool guest_rx(struct env *e, struct vsock_hdr *h, uint8_t *data, int timeout_ms)
{
	for (int waited = 0;; waited++) {
		uint32_t id, len;
		if (fake_vq_used(&e->g, RXQ, &id, &len)) {
			unsigned slot = e->rx_next;
			/* The device fills buffers in the order they were posted. */
			assert_int_equal(id, e->rx_head[slot]);
			e->rx_next = (slot + 1) % N_RX;
			assert_true(len >= VSOCK_HDR_SIZE);
			assert_int_equal(
			    vsock_hdr_parse(fake_ptr(&e->g, e->rx_hdr[slot]), VSOCK_HDR_SIZE, h),
			    0);
			assert_int_equal(len, VSOCK_HDR_SIZE + h->len);
			assert_true(h->len <= RX_DATA);
			if (data)
				memcpy(data, fake_ptr(&e->g, e->rx_data[slot]), h->len);
			rx_post(e, slot);
			return true;
		}
		if (waited >= timeout_ms)
			return false;
		struct pollfd p = {.fd = virtio_vsock_fd(e->dev), .events = POLLIN};
		poll(&p, 1, 1);
		virtio_vsock_poll(e->dev);
	}
}

static void kick_rx(struct env *e)
{
	pthread_mutex_lock(&e->dev->lock);
	e->dev->ops->notify(e->dev, RXQ);
	pthread_mutex_unlock(&e->dev->lock);
}

static void identity_and_config(void **state)
{
	struct env *e = *state;
	assert_int_equal(e->dev->device_id, 19);
	assert_int_equal(e->dev->n_vqs, 3);
	assert_int_equal(e->dev->config_len, 8);
	static const uint8_t cid[8] = {GUEST_ID, 0, 0, 0, 0, 0, 0, 0};
	assert_memory_equal(e->dev->config, cid, 8);
}

static void guest_stream_through_rings(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->paths, 52);
	unsigned irqs = e->g.irqs;
	guest_tx(e, VSOCK_OP_REQUEST, 1000, 52, 0, 0, NULL, 0, false);
	struct vsock_hdr h;
	uint8_t buf[RX_DATA];
	assert_true(guest_rx(e, &h, buf, 1000));
	assert_int_equal(h.op, VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_cid, VSOCK_HOST_CID);
	assert_int_equal(h.dst_cid, GUEST_ID);
	assert_int_equal(h.dst_port, 1000);
	assert_true(e->g.irqs > irqs); /* the driver was interrupted */
	int fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);

	guest_tx(e, VSOCK_OP_RW, 1000, 52, 0, 0, "hello", 5, true);
	char got[8] = {0};
	assert_int_equal(vsock_sim_read(fd, got, 5, 1000), 5);
	assert_string_equal(got, "hello");

	assert_int_equal(write(fd, "world", 5), 5);
	assert_true(guest_rx(e, &h, buf, 1000));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(h.fwd_cnt, 5);

	guest_tx(e, VSOCK_OP_SHUTDOWN, 1000, 52, VSOCK_SHUTDOWN_BOTH, 5, NULL, 0, false);
	assert_true(guest_rx(e, &h, NULL, 1000));
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(vsock_sim_read(fd, got, 1, 1000), 0);
	close(fd);
	close(lfd);
}

static void nothing_listens_gets_rst(void **state)
{
	struct env *e = *state;
	guest_tx(e, VSOCK_OP_REQUEST, 1001, 99, 0, 0, NULL, 0, false);
	struct vsock_hdr h;
	assert_true(guest_rx(e, &h, NULL, 1000));
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.src_port, 99);
	assert_int_equal(h.dst_port, 1001);
}

static void host_connect_waits_for_rx_buffers(void **state)
{
	struct env *e = *state;
	/* Use up every rx buffer with stray-packet RSTs, then connect from the
	 * host: the REQUEST waits until the driver posts a buffer. */
	for (unsigned i = 0; i < N_RX; i++)
		guest_tx(e, VSOCK_OP_RW, 5000 + i, 1, 0, 0, "x", 1, false);
	int fd = vsock_sim_client(&e->paths);
	assert_int_equal(write(fd, "CONNECT 7\n", 10), 10);
	for (int i = 0; i < 20; i++) {
		struct pollfd p = {.fd = virtio_vsock_fd(e->dev), .events = POLLIN};
		poll(&p, 1, 5);
		virtio_vsock_poll(e->dev);
	}
	struct vsock_hdr h;
	uint32_t id, len;
	for (unsigned i = 0; i < N_RX; i++) {
		assert_true(fake_vq_used(&e->g, RXQ, &id, &len));
		assert_int_equal(vsock_hdr_parse(fake_ptr(&e->g, e->rx_hdr[i]), VSOCK_HDR_SIZE, &h),
				 0);
		assert_int_equal(h.op, VSOCK_OP_RST);
	}
	assert_false(fake_vq_used(&e->g, RXQ, &id, &len)); /* the REQUEST is held */
	e->g.q[RXQ].used_seen -= N_RX;                     /* let guest_rx walk them again */
	for (unsigned i = 0; i < N_RX; i++)
		assert_true(guest_rx(e, &h, NULL, 0)); /* reposts each buffer */
	kick_rx(e);
	assert_true(guest_rx(e, &h, NULL, 1000));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 7);
	uint32_t lport = h.src_port;
	guest_tx(e, VSOCK_OP_RESPONSE, 7, lport, 0, 0, NULL, 0, false);
	char ok[32] = {0}, want[32];
	int n = snprintf(want, sizeof(want), "OK %u\n", lport);
	assert_int_equal(vsock_sim_read(fd, ok, (size_t)n, 1000), n);
	assert_string_equal(ok, want);
	close(fd);
}

static uint8_t pat(uint32_t i)
{
	return (uint8_t)((i * 2654435761u) >> 24);
}

static void transfer_1mib_each_way(void **state)
{
	struct env *e = *state;
	const uint32_t size = (1u << 20) + 777;
	int fd = vsock_sim_client(&e->paths);
	assert_int_equal(write(fd, "CONNECT 8\n", 10), 10);
	struct vsock_hdr h;
	static uint8_t buf[VSOCK_MAX_PKT_LEN];
	assert_true(guest_rx(e, &h, NULL, 1000));
	uint32_t lport = h.src_port;
	guest_tx(e, VSOCK_OP_RESPONSE, 8, lport, 0, 0, NULL, 0, false);
	char ok[32] = {0};
	int n = snprintf(ok, sizeof(ok), "OK %u\n", lport);
	assert_int_equal(vsock_sim_read(fd, buf, (size_t)n, 1000), n);

	/* Host -> guest: the host writes, the guest reads through its rings. */
	uint32_t sent = 0, rcvd = 0;
	uint32_t host_alloc = h.buf_alloc, host_fwd = 0, gsent = 0, hrcvd = 0;
	fd_set_nonblock(fd, 1);
	time_t start = time(NULL);
	while (rcvd < size || hrcvd < size) {
		if (time(NULL) - start > 20) {
			print_error("stalled: sent %u rcvd %u gsent %u hrcvd %u alloc %u fwd %u\n",
				    sent, rcvd, gsent, hrcvd, host_alloc, host_fwd);
			fail();
		}
		if (sent < size) {
			uint32_t k = size - sent < 32768 ? size - sent : 32768;
			for (uint32_t i = 0; i < k; i++)
				buf[i] = pat(sent + i);
			ssize_t w = send(fd, buf, k, MSG_DONTWAIT);
			if (w > 0)
				sent += (uint32_t)w;
		}
		virtio_vsock_poll(e->dev); /* what the event loop would do */
		while (guest_rx(e, &h, buf, 0)) {
			host_alloc = h.buf_alloc;
			host_fwd = h.fwd_cnt;
			if (h.op == VSOCK_OP_CREDIT_REQUEST || h.op == VSOCK_OP_CREDIT_UPDATE)
				continue;
			assert_int_equal(h.op, VSOCK_OP_RW);
			for (uint32_t i = 0; i < h.len; i++)
				if (buf[i] != pat(rcvd + i))
					fail_msg("host->guest byte %u", rcvd + i);
			rcvd += h.len;
			/* Consumed at once: tell the device (256 KiB guest buffer). */
			if (rcvd % 16384 < h.len)
				guest_tx(e, VSOCK_OP_CREDIT_UPDATE, 8, lport, 0, rcvd, NULL, 0,
					 false);
		}
		/* Guest -> host within the device's credit. */
		uint32_t credit = host_alloc - (gsent - host_fwd);
		uint32_t k = size - gsent < credit ? size - gsent : credit;
		k = k < VSOCK_MAX_PKT_LEN ? k : VSOCK_MAX_PKT_LEN;
		if (k > 0) {
			for (uint32_t i = 0; i < k; i++)
				buf[i] = pat(gsent + i + 1);
			guest_tx(e, VSOCK_OP_RW, 8, lport, 0, rcvd, buf, k, (gsent & 1) != 0);
			gsent += k;
		}
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pat(hrcvd + (uint32_t)i + 1))
				fail_msg("guest->host byte %u", hrcvd + (uint32_t)i);
		if (r > 0)
			hrcvd += (uint32_t)r;
		if (credit == 0) {
			/* Starved: ask, as a Linux guest would be told on its own. */
			guest_tx(e, VSOCK_OP_CREDIT_REQUEST, 8, lport, 0, rcvd, NULL, 0, false);
		}
	}
	assert_int_equal(rcvd, size);
	assert_int_equal(hrcvd, size);
	close(fd);
}

static void broken_tx_chains_are_dropped(void **state)
{
	struct env *e = *state;
	/* Shorter than a header. */
	struct fake_buf b1[] = {{e->tx_buf, 10, false}};
	fake_vq_post(&e->g, TXQ, b1, 1);
	/* Header claims more payload than the chain holds. */
	struct vsock_hdr h = {.src_cid = GUEST_ID,
			      .dst_cid = 2,
			      .src_port = 1,
			      .dst_port = 2,
			      .len = 1000,
			      .type = 1,
			      .op = VSOCK_OP_RW};
	vsock_hdr_build(&h, fake_ptr(&e->g, e->tx_buf));
	struct fake_buf b2[] = {{e->tx_buf, VSOCK_HDR_SIZE + 10, false}};
	fake_vq_post(&e->g, TXQ, b2, 1);
	/* Only writable buffers: no header to read. */
	struct fake_buf b3[] = {{e->tx_buf, 100, true}};
	fake_vq_post(&e->g, TXQ, b3, 1);
	uint32_t id, len;
	for (int i = 0; i < 3; i++)
		assert_true(fake_vq_used(&e->g, TXQ, &id, &len));
	struct vsock_hdr r;
	assert_false(guest_rx(e, &r, NULL, 20)); /* nothing answered */
	assert_false(e->dev->failed);
	/* An oversized len is answered with RST. */
	h.len = VSOCK_MAX_PKT_LEN + 1;
	vsock_hdr_build(&h, fake_ptr(&e->g, e->tx_buf));
	fake_vq_post(&e->g, TXQ, b2, 1);
	assert_true(fake_vq_used(&e->g, TXQ, &id, &len));
	assert_true(guest_rx(e, &r, NULL, 100));
	assert_int_equal(r.op, VSOCK_OP_RST);
}

static void tiny_rx_buffer_fails_device(void **state)
{
	struct env *e = *state;
	/* Drain the good rx buffers, then offer one too small for a header. */
	for (unsigned i = 0; i < N_RX; i++)
		guest_tx(e, VSOCK_OP_RW, 6000 + i, 1, 0, 0, "x", 1, false);
	uint32_t id, len;
	for (unsigned i = 0; i < N_RX; i++)
		assert_true(fake_vq_used(&e->g, RXQ, &id, &len));
	guest_tx(e, VSOCK_OP_RW, 7000, 1, 0, 0, "x", 1, false); /* owes an RST */
	struct fake_buf b[] = {{fake_alloc(&e->g, 16), 16, true}};
	fake_vq_post(&e->g, RXQ, b, 1);
	assert_true(e->dev->failed);
	assert_true(e->dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* A failed device ignores further kicks. */
	struct fake_buf t[] = {{e->tx_buf, VSOCK_HDR_SIZE, false}};
	fake_vq_post(&e->g, TXQ, t, 1);
	assert_false(fake_vq_used(&e->g, TXQ, &id, &len));
}

static void reset_closes_host_sockets(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->paths, 53);
	guest_tx(e, VSOCK_OP_REQUEST, 1002, 53, 0, 0, NULL, 0, false);
	struct vsock_hdr h;
	assert_true(guest_rx(e, &h, NULL, 1000));
	assert_int_equal(h.op, VSOCK_OP_RESPONSE);
	int fd = accept(lfd, NULL, NULL);
	pthread_mutex_lock(&e->dev->lock);
	virtio_dev_reset(e->dev);
	pthread_mutex_unlock(&e->dev->lock);
	char c;
	assert_int_equal(vsock_sim_read(fd, &c, 1, 1000), 0);
	close(fd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(identity_and_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_stream_through_rings, setup, teardown),
	    cmocka_unit_test_setup_teardown(nothing_listens_gets_rst, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_connect_waits_for_rx_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(transfer_1mib_each_way, setup, teardown),
	    cmocka_unit_test_setup_teardown(broken_tx_chains_are_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(tiny_rx_buffer_fails_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(reset_closes_host_sockets, setup, teardown),
	};
	return cmocka_run_group_tests_name("vmm/vsock_device", tests, NULL, NULL);
}
