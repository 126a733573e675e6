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
#include "lib/log.h"

#define RAM_GPA  0x10000
#define QSIZE    16
#define SLOT     0x10000 /* one descriptor's buffer: up to 64 KiB, never shared */
#define DATA_GPA (RAM_GPA + 0x4000)
#define RAM_SIZE (0x4000 + 2 * QSIZE * SLOT)
#define HDR      ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define MAX_TX   8192 /* well below the socket's buffer: a frame is never dropped */
#define MAX_IND  64   /* buffers in an indirect table */

static uint8_t *ram;
static struct vmm_loop *loop;

struct chain {
	uint16_t head, n;
	uint32_t cap;  /* writable bytes */
	bool sane;     /* shaped as a driver should (tx: its bytes reach the host) */
	bool indirect; /* one descriptor pointing at a table of n */
	uint64_t gpa[MAX_IND];
	uint32_t len[MAX_IND];
	bool wr[MAX_IND];
};

struct drv {
	struct virtio_dev *dev;
	int host; /* the socketpair's other end */
	const uint8_t *p;
	size_t left;
	bool mrg;
	uint16_t next_desc[2], avail_idx[2], used_seen[2];
	struct chain fifo[2][QSIZE]; /* in flight, oldest first: used in order */
	unsigned fifo_head[2], fifo_len[2], desc_busy[2];
	unsigned frame_left; /* rx: chains the current frame still takes */
};

static void *at(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}
static uint64_t q_desc(unsigned q)
{
	return RAM_GPA + q * 0x1000;
}
static uint64_t q_avail(unsigned q)
{
	return q_desc(q) + 16 * QSIZE;
}
static uint64_t q_used(unsigned q)
{
	return q_desc(q) + 0x800;
}
/* Descriptor k of queue q has its own slot: chains in flight never overlap. */
static uint64_t slot(unsigned q, unsigned k)
{
	return DATA_GPA + (uint64_t)(q * QSIZE + k) * SLOT;
}

static int byte(struct drv *d)
{
	if (!d->left)
		return -1;
	d->left--;
	return *d->p++;
}

static void kick(struct drv *d, unsigned q)
{
	pthread_mutex_lock(&d->dev->lock);
	if (d->dev->active && !d->dev->failed)
		d->dev->ops->notify(d->dev, q);
	pthread_mutex_unlock(&d->dev->lock);
}

/* An indirect table at the start of the head's slot, its buffers after it. */
static void post_indirect(struct drv *d, unsigned q, struct chain *c)
{
	struct vring_desc *desc = at(q_desc(q));
	uint64_t table = slot(q, c->head);
	uint64_t buf = table + MAX_IND * sizeof(struct vring_desc);
	struct vring_desc *t = at(table);
	for (unsigned i = 0; i < c->n; i++) {
		c->gpa[i] = buf;
		buf += c->len[i];
		t[i] =
		    (struct vring_desc){.addr = c->gpa[i],
					.len = c->len[i],
					.flags = (uint16_t)(VRING_DESC_F_WRITE |
							    (i + 1 < c->n ? VRING_DESC_F_NEXT : 0)),
					.next = (uint16_t)(i + 1)};
		c->cap += c->len[i];
	}
	desc[c->head] = (struct vring_desc){.addr = table,
					    .len = (uint32_t)(c->n * sizeof(struct vring_desc)),
					    .flags = VRING_DESC_F_INDIRECT};
}

/* Publish c (gpa[] are filled in here) on queue q. */
static bool post(struct drv *d, unsigned q, struct chain *c)
{
	unsigned ndesc = c->indirect ? 1 : c->n;
	if (d->desc_busy[q] + ndesc > QSIZE)
		return false; /* ring full: a real driver waits too */
	struct vring_desc *desc = at(q_desc(q));
	c->head = d->next_desc[q];
	c->cap = 0;
	for (unsigned i = 0; i < c->n && !c->indirect; i++) {
		uint16_t k = (uint16_t)((c->head + i) % QSIZE);
		if (!c->gpa[i])
			c->gpa[i] = slot(q, k);
		desc[k] =
		    (struct vring_desc){.addr = c->gpa[i],
					.len = c->len[i],
					.flags = (uint16_t)((c->wr[i] ? VRING_DESC_F_WRITE : 0) |
							    (i + 1 < c->n ? VRING_DESC_F_NEXT : 0)),
					.next = (uint16_t)((k + 1) % QSIZE)};
		if (c->wr[i])
			c->cap += c->len[i];
	}
	if (c->indirect)
		post_indirect(d, q, c);
	d->next_desc[q] = (uint16_t)((c->head + ndesc) % QSIZE);
	d->fifo[q][(d->fifo_head[q] + d->fifo_len[q]++) % QSIZE] = *c;
	d->desc_busy[q] += ndesc;
	struct vring_avail *avail = at(q_avail(q));
	avail->ring[d->avail_idx[q] % QSIZE] = c->head;
	__atomic_store_n(&avail->idx, ++d->avail_idx[q], __ATOMIC_RELEASE);
	return true;
}

/* num_buffers of the header at the start of c's writable buffers */
static uint16_t num_buffers(const struct chain *c)
{
	uint8_t h[HDR];
	uint32_t got = 0;
	for (unsigned i = 0; i < c->n && got < HDR; i++) {
		if (!c->wr[i])
			continue;
		uint32_t k = c->len[i] < HDR - got ? c->len[i] : HDR - got;
		memcpy(h + got, at(c->gpa[i]), k);
		got += k;
	}
	return (uint16_t)(h[10] | h[11] << 8);
}

/* What the host received must be the chain's readable bytes, in order. */
static void check_tx_frame(struct drv *d, const struct chain *c)
{
	uint8_t want[MAX_TX], got[MAX_TX + 1];
	size_t n = 0;
	for (unsigned i = 0; i < c->n; i++)
		if (!c->wr[i]) {
			memcpy(want + n, at(c->gpa[i]), c->len[i]);
			n += c->len[i];
		}
	ssize_t r = recv(d->host, got, sizeof(got), MSG_DONTWAIT);
	if (r != (ssize_t)n || memcmp(got, want, n) != 0) {
		fprintf(stderr, "tx: the host got %zd bytes, the chain had %zu\n", r, n);
		abort();
	}
}

/* Every used element must be the oldest chain in flight and fit it. */
static void check_used(struct drv *d, unsigned q)
{
	struct vring_used *used = at(q_used(q));
	while (d->used_seen[q] != __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) {
		struct vring_used_elem e = used->ring[d->used_seen[q]++ % QSIZE];
		if (!d->fifo_len[q])
			abort(); /* used more than was posted */
		struct chain *c = &d->fifo[q][d->fifo_head[q]];
		if (e.id != c->head || e.len > c->cap || (q == 1 && e.len != 0)) {
			fprintf(stderr, "q%u used id %u len %u; expected id %u len <= %u\n", q,
				e.id, e.len, c->head, c->cap);
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
			uint16_t nb = num_buffers(c);
			if (nb == 0 || (!d->mrg && nb != 1) || nb > d->fifo_len[q]) {
				fprintf(stderr, "rx: num_buffers %u with %u chains in flight\n", nb,
					d->fifo_len[q]);
				abort();
			}
			d->frame_left = nb;
		}
		if (q == 0)
			d->frame_left--;
		d->desc_busy[q] -= c->indirect ? 1 : c->n;
		d->fifo_head[q] = (d->fifo_head[q] + 1) % QSIZE;
		d->fifo_len[q]--;
	}
}

static void tx_frame(struct drv *d)
{
	int shape = byte(d), l = byte(d);
	if (shape < 0 || l < 0)
		return;
	uint32_t total = HDR + (uint32_t)l * 32;
	if (total > MAX_TX)
		total = MAX_TX;
	/* header + payload cut into 1-3 buffers at fuzzed points */
	struct chain c = {.n = (uint16_t)(1 + (shape & 3) % 3), .sane = true};
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
	if (!post(d, 1, &c))
		return;
	struct chain *in = &d->fifo[1][(d->fifo_head[1] + d->fifo_len[1] - 1) % QSIZE];
	for (unsigned i = 0; i < c.n; i++) {
		uint32_t k = c.len[i] < d->left ? c.len[i] : (uint32_t)d->left;
		if (c.len[i] <= SLOT)
			memcpy(at(in->gpa[i]), d->p, k);
		d->p += k;
		d->left -= k;
	}
	uint64_t readable = 0;
	for (unsigned i = 0; i < c.n; i++)
		readable += c.wr[i] ? 0 : c.len[i];
	bool running = d->dev->active && !d->dev->failed;
	kick(d, 1);
	/* no room for the header: the driver's error, the device must stop */
	if (running && readable < HDR && !(d->dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		fprintf(stderr, "tx: a %llu-byte frame did not stop the device\n",
			(unsigned long long)readable);
		abort();
	}
	check_used(d, 1);
}

static void rx_chain(struct drv *d)
{
	int shape = byte(d), a = byte(d), b = byte(d);
	if (shape < 0 || a < 0 || b < 0)
		return;
	struct chain c = {.n = (uint16_t)(1 + shape % 3)};
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
	if (post(d, 0, &c))
		kick(d, 0);
	check_used(d, 0);
}

/* Many small buffers behind one descriptor: more than the device gathers
 * iovecs for, at times. */
static void rx_indirect(struct drv *d)
{
	int n = byte(d), l = byte(d);
	if (n < 0 || l < 0)
		return;
	struct chain c = {.n = (uint16_t)(1 + n % MAX_IND), .indirect = true};
	uint32_t room = (uint32_t)(SLOT - MAX_IND * sizeof(struct vring_desc)) / c.n;
	for (unsigned i = 0; i < c.n; i++) {
		c.len[i] = (uint32_t)l * 16 < room ? (uint32_t)l * 16 : room;
		c.wr[i] = true;
	}
	if (post(d, 0, &c))
		kick(d, 0);
	check_used(d, 0);
}

static void host_frame(struct drv *d)
{
	int l = byte(d);
	if (l < 0)
		return;
	static uint8_t buf[HDR + 255 * 64];
	size_t n = (size_t)l * 64 + (size_t)(l & 15);
	size_t k = n < d->left ? n : d->left;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, d->p, k);
	d->p += k;
	d->left -= k;
	if (send(d->host, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN)
		abort();
	vmm_loop_run_once(loop, 0);
	check_used(d, 0);
}

static void start(struct drv *d, uint64_t features)
{
	memset(ram, 0, 0x4000);
	memset(d->next_desc, 0, sizeof(d->next_desc));
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	memset(d->used_seen, 0, sizeof(d->used_seen));
	memset(d->fifo_head, 0, sizeof(d->fifo_head));
	memset(d->fifo_len, 0, sizeof(d->fifo_len));
	memset(d->desc_busy, 0, sizeof(d->desc_busy));
	d->frame_left = 0;
	/* frames the host got from before the reset are not checked */
	uint8_t junk[64];
	while (recv(d->host, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
		;
	struct virtio_dev *dev = d->dev;
	dev->features = features;
	dev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &dev->vqs[q];
		vq->size = QSIZE;
		vq->desc_gpa = q_desc(q);
		vq->avail_gpa = q_avail(q);
		vq->used_gpa = q_used(q);
		vq->ready = true;
	}
	pthread_mutex_lock(&dev->lock);
	int r = virtio_dev_activate(dev);
	pthread_mutex_unlock(&dev->lock);
	if (r < 0)
		abort();
}

static void no_irq(struct virtio_dev *dev, void *ctx)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ram) {
		log_set_level(LOG_ERROR);
		ram = calloc(1, RAM_SIZE);
		if (!ram || vmm_loop_new(&loop) < 0)
			abort();
	}
	if (size < 1)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct vmm_mem mem;
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, RAM_GPA, RAM_SIZE, ram);
	struct drv d = {.host = sv[1], .p = data + 1, .left = size - 1};
	struct virtio_net_opts o = {.mac = {2, 0, 0, 0, 0, 1}, .mtu = data[0] & 0x10 ? 1400 : 0};
	if (virtio_net_create_fd(&mem, loop, sv[0], data[0] & 8, &o, &d.dev) < 0)
		abort();
	d.dev->irq_fn = no_irq;
	d.mrg = data[0] & 1;
	uint64_t features =
	    1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
	    (data[0] & 1 ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0) |
	    (data[0] & 2 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
	    (data[0] & 4 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
	    (data[0] & 8 ? 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_CSUM : 0);
	start(&d, features);
	for (int op; (op = byte(&d)) >= 0;) {
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
			pthread_mutex_lock(&d.dev->lock);
			virtio_dev_reset(d.dev);
			pthread_mutex_unlock(&d.dev->lock);
			start(&d, features);
			break;
		case 4:
			kick(&d, 0);
			check_used(&d, 0);
			break;
		case 5:
			rx_indirect(&d);
			break;
		}
	}
	pthread_mutex_lock(&d.dev->lock);
	virtio_dev_reset(d.dev);
	pthread_mutex_unlock(&d.dev->lock);
	d.dev->ops->free(d.dev); /* closes sv[0] and takes it off the loop */
	close(sv[1]);
	return 0;
}
