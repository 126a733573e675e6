// SPDX-License-Identifier: Apache-2.0
/* Fake guest memory and driver for vmm device tests; see fake_guest.h. */
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"

int fake_guest_init(struct fake_guest *g, uint64_t size)
{
	memset(g, 0, sizeof(*g));
	g->ram = calloc(1, size);
	if (!g->ram)
		return -1;
	g->size = size;
	g->brk = 0x1000; /* keep gpa 0 unused: a zero address is a typical bug */
	vmm_mem_init(&g->mem);
	return vmm_mem_add(&g->mem, 0, size, g->ram);
}

int fake_guest_init_memfd(struct fake_guest *g, uint64_t size)
{
	memset(g, 0, sizeof(*g));
	if (vmm_mem_alloc(&g->mem, size, size) < 0)
		return -1;
	g->ram = g->mem.regions[0].hva;
	g->size = size;
	g->brk = 0x1000;
	return 0;
}

void fake_guest_free(struct fake_guest *g)
{
	if (g->mem.fd >= 0)
		vmm_mem_free(&g->mem);
	else
		free(g->ram);
	g->ram = NULL;
}

uint64_t fake_alloc(struct fake_guest *g, uint64_t len)
{
	uint64_t at = (g->brk + 15) & ~15ull;
	if (at + len > g->size)
		abort(); /* test bug: give the fake guest more RAM */
	g->brk = at + len;
	memset(g->ram + at, 0, len);
	return at;
}

void *fake_ptr(struct fake_guest *g, uint64_t gpa)
{
	return g->ram + gpa;
}

static void count_irq(struct virtio_dev *dev, void *ctx)
{
	struct fake_guest *g = ctx;
	__atomic_fetch_add(&g->irqs, 1, __ATOMIC_SEQ_CST);
}

void fake_dev_attach(struct fake_guest *g, struct virtio_dev *dev)
{
	g->dev = dev;
	dev->irq_fn = count_irq;
	dev->irq_ctx = g;
	dev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	dev->features = dev->host_features | (1ull << VIRTIO_F_VERSION_1);
}

void fake_vq_setup(struct fake_guest *g, unsigned q, uint16_t size)
{
	struct fake_queue *fq = &g->q[q];
	struct virtq *vq = &g->dev->vqs[q];
	fq->size = size;
	fq->desc = fake_alloc(g, 16ull * size);
	fq->avail = fake_alloc(g, 6 + 2ull * size);
	fq->used = fake_alloc(g, 6 + 8ull * size);
	vq->size = size;
	vq->desc_gpa = fq->desc;
	vq->avail_gpa = fq->avail;
	vq->used_gpa = fq->used;
	vq->ready = true;
}

uint16_t fake_vq_add(struct fake_guest *g, unsigned q, const struct fake_buf *bufs, unsigned n)
{
	struct fake_queue *fq = &g->q[q];
	struct vring_desc *desc = fake_ptr(g, fq->desc);
	uint16_t head = fq->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % fq->size);
		desc[d].addr = bufs[i].gpa;
		desc[d].len = bufs[i].len;
		desc[d].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[d].next = (uint16_t)((d + 1) % fq->size);
	}
	fq->next_desc = (uint16_t)((head + n) % fq->size);
	struct vring_avail *avail = fake_ptr(g, fq->avail);
	avail->ring[fq->avail_idx % fq->size] = head;
	fq->avail_idx++;
	__atomic_store_n(&avail->idx, fq->avail_idx, __ATOMIC_RELEASE);
	return head;
}

uint16_t fake_vq_post(struct fake_guest *g, unsigned q, const struct fake_buf *bufs, unsigned n)
{
	uint16_t head = fake_vq_add(g, q, bufs, n);
	pthread_mutex_lock(&g->dev->lock);
	g->dev->ops->notify(g->dev, q);
	pthread_mutex_unlock(&g->dev->lock);
	return head;
}

bool fake_vq_used(struct fake_guest *g, unsigned q, uint32_t *id, uint32_t *len)
{
	struct fake_queue *fq = &g->q[q];
	struct vring_used *used = fake_ptr(g, fq->used);
	if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == fq->used_seen)
		return false;
	struct vring_used_elem *e = &used->ring[fq->used_seen % fq->size];
	*id = e->id;
	*len = e->len;
	fq->used_seen++;
	return true;
}
