// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the virtio-vsock device end to end: a hostile driver builds tx and rx
 * descriptor chains of any shape (headers split anywhere, short, long,
 * writable where they should be readable, lengths that lie) in fake guest
 * RAM, while host clients connect and write. The input is a script:
 *
 *   0  tx packet: control byte, chain shape bytes, 44-byte header, payload
 *   1  rx buffers: a chain of 1-3 writable buffers of fuzzed sizes
 *   2  poll the device (host socket events)
 *   3  a host client connects with "CONNECT <small port>\n" and writes
 *   4  reset the device and start it again
 *
 * Must hold: no crash, no out-of-bounds access, every used length the device
 * reports fits the chain it was given.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/virtio_vsock.h"
#include "../../vmm/vsock_packet.h"
#include "lib/log.h"

#define CID      3
#define RAM_GPA  0x10000
#define RAM_SIZE (512 * 1024)
#define QSIZE    16
#define DATA_GPA (RAM_GPA + 0x4000) /* buffers live above the rings */
#define DATA_LEN (RAM_SIZE - 0x4000)

static char dir[64], path[96];
static int listener;
static uint8_t *ram;

struct drv {
	struct virtio_dev *dev;
	const uint8_t *p;
	size_t left;
	uint16_t next_desc[2], avail_idx[2], used_seen[2];
	/* Chains in flight per queue, oldest first: the device uses them in
	 * order, so descriptors are only reused once returned. */
	struct {
		uint16_t head, n;
		uint32_t cap; /* writable bytes */
	} fifo[2][QSIZE];
	unsigned fifo_head[2], fifo_len[2], desc_busy[2];
	uint32_t data_off; /* bump pointer in the data area (wraps) */
	int host[8];
	unsigned n_host;
};

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
static void *at(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}

static int byte(struct drv *d)
{
	if (!d->left)
		return -1;
	d->left--;
	return *d->p++;
}

static uint64_t data_alloc(struct drv *d, uint32_t len)
{
	if (d->data_off + len > DATA_LEN)
		d->data_off = 0;
	uint64_t gpa = DATA_GPA + d->data_off;
	d->data_off += (len + 15) & ~15u;
	return gpa;
}

/* Publish a chain of n buffers on queue q and kick it. */
static void post(struct drv *d, unsigned q, const uint64_t *gpa, const uint32_t *len,
		 const bool *wr, unsigned n)
{
	if (d->desc_busy[q] + n > QSIZE)
		return; /* ring full: a real driver waits too */
	struct vring_desc *desc = at(q_desc(q));
	uint16_t head = d->next_desc[q];
	uint32_t cap = 0;
	for (unsigned i = 0; i < n; i++) {
		uint16_t k = (uint16_t)((head + i) % QSIZE);
		desc[k] =
		    (struct vring_desc){.addr = gpa[i],
					.len = len[i],
					.flags = (uint16_t)((wr[i] ? VRING_DESC_F_WRITE : 0) |
							    (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
					.next = (uint16_t)((k + 1) % QSIZE)};
		if (wr[i])
			cap += len[i];
	}
	d->next_desc[q] = (uint16_t)((head + n) % QSIZE);
	unsigned slot = (d->fifo_head[q] + d->fifo_len[q]++) % QSIZE;
	d->fifo[q][slot].head = head;
	d->fifo[q][slot].n = (uint16_t)n;
	d->fifo[q][slot].cap = cap;
	d->desc_busy[q] += n;
	struct vring_avail *avail = at(q_avail(q));
	avail->ring[d->avail_idx[q] % QSIZE] = head;
	__atomic_store_n(&avail->idx, ++d->avail_idx[q], __ATOMIC_RELEASE);
	pthread_mutex_lock(&d->dev->lock);
	d->dev->ops->notify(d->dev, q);
	pthread_mutex_unlock(&d->dev->lock);
}

/* Every used element must be the oldest chain in flight and fit its
 * writable room. */
static void check_used(struct drv *d, unsigned q)
{
	struct vring_used *used = at(q_used(q));
	while (d->used_seen[q] != __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) {
		struct vring_used_elem e = used->ring[d->used_seen[q]++ % QSIZE];
		if (!d->fifo_len[q])
			abort(); /* used more than was posted */
		unsigned slot = d->fifo_head[q];
		if (e.id != d->fifo[q][slot].head || e.len > d->fifo[q][slot].cap) {
			fprintf(stderr, "q%u used id %u len %u; expected id %u len <= %u\n", q,
				e.id, e.len, d->fifo[q][slot].head, d->fifo[q][slot].cap);
			abort();
		}
		d->desc_busy[q] -= d->fifo[q][slot].n;
		d->fifo_head[q] = (slot + 1) % QSIZE;
		d->fifo_len[q]--;
	}
}

static void tx_packet(struct drv *d)
{
	int ctl = byte(d), shape = byte(d);
	if (ctl < 0 || shape < 0 || d->left < VSOCK_HDR_SIZE)
		return;
	struct vsock_hdr h;
	vsock_hdr_parse(d->p, VSOCK_HDR_SIZE, &h);
	d->p += VSOCK_HDR_SIZE;
	d->left -= VSOCK_HDR_SIZE;
	if (ctl & 1)
		h.src_cid = CID;
	if (ctl & 2)
		h.dst_cid = VSOCK_HOST_CID;
	if (ctl & 4)
		h.type = VSOCK_TYPE_STREAM;
	if (ctl & 8)
		h.op = (uint16_t)(h.op % 8);
	if (ctl & 16)
		h.dst_port = 1;
	if (ctl & 32)
		h.len %= 4096;
	uint32_t plen = h.len < d->left ? h.len : (uint32_t)d->left;
	if (plen > 8192)
		plen = 8192;
	/* Lay out header + payload contiguously, then cut it into up to three
	 * buffers at fuzzed points; a buffer may also be marked writable or
	 * claim more bytes than were written. */
	uint32_t total = VSOCK_HDR_SIZE + plen;
	uint64_t base = data_alloc(d, total + 64);
	vsock_hdr_build(&h, at(base));
	memcpy((uint8_t *)at(base) + VSOCK_HDR_SIZE, d->p, plen);
	d->p += plen;
	d->left -= plen;
	unsigned n = 1 + (shape & 3) % 3;
	uint32_t cut1 = (uint32_t)(shape * 7) % (total + 1), cut2 = cut1 + (total - cut1) / 2;
	uint64_t gpa[3] = {base, base + cut1, base + cut2};
	uint32_t len[3] = {cut1, cut2 - cut1, total - cut2};
	if (n == 1)
		len[0] = total;
	else if (n == 2)
		len[1] = total - cut1;
	if (shape & 0x40)
		len[n - 1] += 64; /* lies: the chain is longer than the packet */
	bool wr[3] = {false, false, (shape & 0x80) != 0};
	post(d, 1, gpa, len, wr, n);
	check_used(d, 1);
	check_used(d, 0);
}

static void rx_buffers(struct drv *d)
{
	int a = byte(d), b = byte(d), c = byte(d);
	if (a < 0 || b < 0 || c < 0)
		return;
	unsigned n = 1 + (unsigned)a % 3;
	uint32_t len[3] = {(uint32_t)b * 3, (uint32_t)c * 17, 4096};
	if (a & 0x80)
		len[0] = VSOCK_HDR_SIZE; /* Linux 6.1 style: header buffer + data buffer */
	uint64_t gpa[3];
	bool wr[3] = {true, true, true};
	for (unsigned i = 0; i < n; i++)
		gpa[i] = data_alloc(d, len[i] + 16);
	post(d, 0, gpa, len, wr, n);
	check_used(d, 0);
}

static void host_connect(struct drv *d)
{
	int port = byte(d), n = byte(d);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || d->n_host == 8 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char line[32];
	int l = snprintf(line, sizeof(line), "CONNECT %d\n", port < 0 ? 1 : port % 3);
	send(fd, line, (size_t)l, MSG_NOSIGNAL);
	size_t k = n < 0 ? 0 : (size_t)n < d->left ? (size_t)n : d->left;
	send(fd, d->p, k, MSG_NOSIGNAL);
	d->p += k;
	d->left -= k;
	d->host[d->n_host++] = fd;
}

static int start(struct drv *d)
{
	memset(ram, 0, 0x4000);
	memset(d->next_desc, 0, sizeof(d->next_desc));
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	memset(d->used_seen, 0, sizeof(d->used_seen));
	memset(d->fifo_head, 0, sizeof(d->fifo_head));
	memset(d->fifo_len, 0, sizeof(d->fifo_len));
	memset(d->desc_busy, 0, sizeof(d->desc_busy));
	struct virtio_dev *dev = d->dev;
	dev->features = 1ull << VIRTIO_F_VERSION_1;
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
	return r;
}

static void init_once(void)
{
	log_set_level(LOG_ERROR);
	ram = malloc(RAM_SIZE);
	snprintf(dir, sizeof(dir), "/tmp/hull-fuzz-vsockdev-XXXXXX");
	if (!ram || !mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listener, 64) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ram)
		init_once();
	struct vmm_mem mem;
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, RAM_GPA, RAM_SIZE, ram);
	struct drv d = {.p = data, .left = size};
	struct virtio_vsock_config cfg = {.uds_path = path, .guest_cid = CID, .max_conns = 4};
	if (virtio_vsock_create(&mem, NULL, &cfg, &d.dev) < 0 || start(&d) < 0)
		abort();
	for (int op; (op = byte(&d)) >= 0;) {
		switch (op % 5) {
		case 0:
			tx_packet(&d);
			break;
		case 1:
			rx_buffers(&d);
			break;
		case 2: {
			int fd;
			while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				if (d.n_host < 8)
					d.host[d.n_host++] = fd;
				else
					close(fd);
			}
			virtio_vsock_poll(d.dev);
			check_used(&d, 0);
			break;
		}
		case 3:
			host_connect(&d);
			break;
		case 4:
			pthread_mutex_lock(&d.dev->lock);
			virtio_dev_reset(d.dev);
			pthread_mutex_unlock(&d.dev->lock);
			if (start(&d) < 0)
				abort();
			break;
		}
	}
	/* Half the inputs end as a guest poweroff does: the tx queue is taken
	 * and host-bound bytes drained (timeout 0) before the teardown. */
	if (size && (data[0] & 1))
		virtio_vsock_drain(d.dev, 0);
	pthread_mutex_lock(&d.dev->lock);
	virtio_dev_reset(d.dev);
	pthread_mutex_unlock(&d.dev->lock);
	d.dev->ops->free(d.dev);
	for (unsigned i = 0; i < d.n_host; i++)
		close(d.host[i]);
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	return 0;
}
