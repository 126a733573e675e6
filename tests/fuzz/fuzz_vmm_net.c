// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz virtio-net's guest-facing paths (vmm/virtio_net.c): a hostile driver
 * posts transmit chains (the 12-byte virtio-net header split anywhere,
 * short, writable where they should be readable, lengths that lie) and
 * receive chains (one to three writable buffers of any size, or a readable
 * one), while the host side sends frames. The tap is one end of a datagram
 * socketpair: one message per frame, header included, as a tap with
 * IFF_VNET_HDR reads and writes them. Byte 0 picks the features (mergeable
 * rx buffers, event index, indirect descriptors, offloads); then a script:
 *
 *   0  tx frame: shape byte, length byte, payload
 *   1  rx chain: shape byte and two size bytes
 *   2  host frame: length byte, payload; then one round of the event loop
 *   3  reset the device and start it again
 *   4  kick the rx queue (no new buffers)
 *   5  rx chain behind an indirect descriptor: count and size bytes
 *
 * Must hold: no crash, no out-of-bounds access; every used element is the
 * oldest chain in flight with a length that fits it; each transmitted frame
 * reaches the host as the chain's readable bytes, and one too short for the
 * header stops the device (NEEDS_RESET); with mergeable rx buffers
 * num_buffers counts the chains a frame took, and 1 without.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "../../vmm/devices.h"
#include "fake_driver.h"
#include "lib/log.h"

#define QSIZE    16
#define SLOT     0x10000 /* one descriptor's buffer: up to 64 KiB, never shared */
#define RAM_GPA  0x10000
#define RAM_SIZE (FDRV_RINGS + 2 * QSIZE * SLOT)
#define HDR      ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define MAX_TX   8192 /* well below the socket's buffer: a frame is never dropped */

static const struct fdrv_config layout = {
    .ram_gpa = RAM_GPA, .ram_size = RAM_SIZE, .n_queues = 2, .qsize = QSIZE, .slot_size = SLOT};
static struct vmm_loop *loop;

struct drv {
	struct fdrv f;
	int host; /* the socketpair's other end */
	bool mrg;
	unsigned frame_left; /* rx: chains the current frame still takes */
};

/* num_buffers of the header at the start of c's writable buffers */
static uint16_t num_buffers(struct fdrv *f, const struct fdrv_chain *c)
{
	uint8_t h[HDR];
	uint32_t got = 0;
	for (unsigned i = 0; i < c->n && got < HDR; i++) {
		if (!c->wr[i])
			continue;
		uint32_t k = c->len[i] < HDR - got ? c->len[i] : HDR - got;
		memcpy(h + got, fdrv_at(f, c->gpa[i]), k);
		got += k;
	}
	return (uint16_t)(h[10] | h[11] << 8);
}

/* What the host received must be the chain's readable bytes, in order. */
static void check_tx_frame(struct drv *d, const struct fdrv_chain *c)
{
	uint8_t want[MAX_TX], got[MAX_TX + 1];
	size_t n = 0;
	for (unsigned i = 0; i < c->n; i++)
		if (!c->wr[i]) {
			memcpy(want + n, fdrv_at(&d->f, c->gpa[i]), c->len[i]);
			n += c->len[i];
		}
	ssize_t r = recv(d->host, got, sizeof(got), MSG_DONTWAIT);
	if (r != (ssize_t)n || memcmp(got, want, n) != 0) {
		fprintf(stderr, "tx: the host got %zd bytes, the chain had %zu\n", r, n);
		abort();
	}
}

/* fdrv_reap checked id and room; here what is particular to virtio-net. */
static void check_used(struct fdrv *f, unsigned q, const struct fdrv_chain *c,
		       const struct vring_used_elem *e)
{
	struct drv *d = f->ctx;
	if (q == 1 && e->len != 0) {
		fprintf(stderr, "q1 used id %u len %u; a tx chain has nothing written\n", e->id,
			e->len);
		abort();
	}
	if (q == 1 && c->sane) {
		check_tx_frame(d, c);
	} else if (q == 1) {
		uint8_t junk[64]; /* its bytes are not ours to check */
		recv(d->host, junk, sizeof(junk), MSG_DONTWAIT);
	}
	if (q == 0 && d->frame_left == 0) {
		/* the first chain of a frame: its header says how many */
		uint16_t nb = num_buffers(f, c);
		if (nb == 0 || (!d->mrg && nb != 1) || nb > f->fifo_len[q]) {
			fprintf(stderr, "rx: num_buffers %u with %u chains in flight\n", nb,
				f->fifo_len[q]);
			abort();
		}
		d->frame_left = nb;
	}
	if (q == 0)
		d->frame_left--;
}

static void tx_frame(struct drv *d)
{
	struct fdrv *f = &d->f;
	int shape = input_byte(&f->in), l = input_byte(&f->in);
	if (shape < 0 || l < 0)
		return;
	uint32_t total = HDR + (uint32_t)l * 32;
	if (total > MAX_TX)
		total = MAX_TX;
	/* header + payload cut into 1-3 buffers at fuzzed points */
	struct fdrv_chain c = {.n = (uint16_t)(1 + (shape & 3) % 3), .sane = true};
	uint32_t cut1 = (uint32_t)(shape >> 2) * 7 % (total + 1);
	uint32_t cut2 = cut1 + (total - cut1) / 2;
	uint32_t len[3] = {cut1, cut2 - cut1, total - cut2};
	if (c.n == 1)
		len[0] = total;
	else if (c.n == 2)
		len[1] = total - cut1;
	memcpy(c.len, len, sizeof(len));
	if (shape & 0x40)
		c.wr[c.n - 1] = true; /* a writable buffer in a tx chain: ignored */
	if (shape & 0x80) {
		c.len[0] = SLOT + 16; /* lies: runs into the next slot (or off RAM) */
		c.sane = false;
	}
	if (!fdrv_post(f, 1, &c))
		return;
	for (unsigned i = 0; i < c.n; i++) {
		const uint8_t *src;
		size_t k = input_take(&f->in, c.len[i], &src);
		if (c.len[i] <= SLOT)
			memcpy(fdrv_at(f, c.gpa[i]), src, k);
	}
	uint64_t readable = 0;
	for (unsigned i = 0; i < c.n; i++)
		readable += c.wr[i] ? 0 : c.len[i];
	bool running = f->dev->active && !f->dev->failed;
	fdrv_kick(f, 1);
	/* no room for the header: the driver's error, the device must stop */
	if (running && readable < HDR && !(f->dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		fprintf(stderr, "tx: a %llu-byte frame did not stop the device\n",
			(unsigned long long)readable);
		abort();
	}
	fdrv_reap(f, 1);
}

static void rx_chain(struct drv *d)
{
	struct fdrv *f = &d->f;
	int shape = input_byte(&f->in), a = input_byte(&f->in), b = input_byte(&f->in);
	if (shape < 0 || a < 0 || b < 0)
		return;
	struct fdrv_chain c = {.n = (uint16_t)(1 + shape % 3)};
	uint32_t len[3] = {(uint32_t)a * (shape & 0x10 ? 256 : 3), (uint32_t)b * 64, 1500};
	if (shape & 0x20)
		len[0] = SLOT; /* Linux's big-packet chains: 64 KiB */
	for (unsigned i = 0; i < c.n; i++) {
		c.len[i] = len[i];
		c.wr[i] = true;
	}
	if (shape & 0x40)
		c.wr[0] = false; /* a readable buffer first */
	if (shape & 0x80)
		c.gpa[c.n - 1] = RAM_GPA + RAM_SIZE - 8; /* runs off RAM */
	if (fdrv_post(f, 0, &c))
		fdrv_kick(f, 0);
	fdrv_reap(f, 0);
}

/* Many small buffers behind one descriptor: more than the device gathers
 * iovecs for, at times. */
static void rx_indirect(struct drv *d)
{
	struct fdrv *f = &d->f;
	int n = input_byte(&f->in), l = input_byte(&f->in);
	if (n < 0 || l < 0)
		return;
	struct fdrv_chain c = {.n = (uint16_t)(1 + n % FDRV_MAX_BUFS), .indirect = true};
	uint32_t room = (uint32_t)(SLOT - FDRV_MAX_BUFS * sizeof(struct vring_desc)) / c.n;
	for (unsigned i = 0; i < c.n; i++) {
		c.len[i] = (uint32_t)l * 16 < room ? (uint32_t)l * 16 : room;
		c.wr[i] = true;
	}
	if (fdrv_post(f, 0, &c))
		fdrv_kick(f, 0);
	fdrv_reap(f, 0);
}

static void host_frame(struct drv *d)
{
	struct fdrv *f = &d->f;
	int l = input_byte(&f->in);
	if (l < 0)
		return;
	static uint8_t buf[HDR + 255 * 64];
	size_t n = (size_t)l * 64 + (size_t)(l & 15);
	const uint8_t *src;
	size_t k = input_take(&f->in, n, &src);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, src, k);
	if (send(d->host, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN)
		abort();
	vmm_loop_run_once(loop, 0);
	fdrv_reap(f, 0);
}

static void start(struct drv *d, uint64_t features)
{
	d->frame_left = 0;
	/* frames the host got from before the reset are not checked */
	uint8_t junk[64];
	while (recv(d->host, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
		;
	if (fdrv_start(&d->f, features) < 0)
		abort();
}

static void no_irq(struct virtio_dev *dev, void *ctx)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!loop) {
		log_set_level(LOG_ERROR);
		if (vmm_loop_new(&loop) < 0)
			abort();
	}
	if (size < 1)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct drv d = {.host = sv[1], .mrg = data[0] & 1};
	fdrv_init(&d.f, &layout, data + 1, size - 1);
	d.f.on_used = check_used;
	d.f.ctx = &d;
	struct virtio_net_opts o = {.mac = {2, 0, 0, 0, 0, 1}, .mtu = data[0] & 0x10 ? 1400 : 0};
	if (virtio_net_create_fd(&d.f.mem, loop, sv[0], data[0] & 8, &o, &d.f.dev) < 0)
		abort();
	d.f.dev->irq_fn = no_irq;
	uint64_t features =
	    1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
	    (data[0] & 1 ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0) |
	    (data[0] & 2 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
	    (data[0] & 4 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
	    (data[0] & 8 ? 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_CSUM : 0);
	start(&d, features);
	for (int op; (op = input_byte(&d.f.in)) >= 0;) {
		switch (op % 6) {
		case 0:
			tx_frame(&d);
			break;
		case 1:
			rx_chain(&d);
			break;
		case 2:
			host_frame(&d);
			break;
		case 3:
			fdrv_reset(&d.f);
			start(&d, features);
			break;
		case 4:
			fdrv_kick(&d.f, 0);
			fdrv_reap(&d.f, 0);
			break;
		case 5:
			rx_indirect(&d);
			break;
		}
	}
	fdrv_free(&d.f); /* closes sv[0] and takes it off the loop */
	close(sv[1]);
	return 0;
}
