// SPDX-License-Identifier: Apache-2.0
/* A fake virtio driver over fake guest RAM for fuzz targets; see fake_driver.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_driver.h"

static uint8_t *ram;
static uint64_t ram_size;

/* Each queue's rings in its own page: descriptors first, avail right after
 * them, used at +2 KiB (FDRV_MAX_QSIZE keeps them apart). */
static uint64_t q_desc(const struct fdrv *d, unsigned q)
{
	return d->cfg->ram_gpa + q * 0x1000;
}
static uint64_t q_avail(const struct fdrv *d, unsigned q)
{
	return q_desc(d, q) + 16 * d->cfg->qsize;
}
static uint64_t q_used(const struct fdrv *d, unsigned q)
{
	return q_desc(d, q) + 0x800;
}

void fdrv_init(struct fdrv *d, const struct fdrv_config *cfg, const uint8_t *data, size_t size)
{
	if (cfg->n_queues > FDRV_MAX_QUEUES || !cfg->qsize || cfg->qsize > FDRV_MAX_QSIZE ||
	    cfg->ram_size <= FDRV_RINGS ||
	    FDRV_RINGS + (uint64_t)cfg->n_queues * cfg->qsize * cfg->slot_size > cfg->ram_size)
		abort(); /* the target's layout does not fit */
	/* Once per process; only the rings are zeroed again (fdrv_start): a
	 * buffer may hold an earlier input's bytes, as one may in a guest. */
	if (!ram) {
		ram = calloc(1, cfg->ram_size);
		ram_size = cfg->ram_size;
	}
	if (!ram || ram_size != cfg->ram_size)
		abort();
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->ram = ram;
	d->in = (struct input){.p = data, .left = size};
	vmm_mem_init(&d->mem);
	if (vmm_mem_add(&d->mem, cfg->ram_gpa, cfg->ram_size, ram) < 0)
		abort();
}

void *fdrv_at(struct fdrv *d, uint64_t gpa)
{
	return d->ram + (gpa - d->cfg->ram_gpa);
}

uint64_t fdrv_slot(struct fdrv *d, unsigned q, unsigned k)
{
	if (!d->cfg->slot_size)
		abort(); /* a chain without addresses in a layout without slots */
	return d->cfg->ram_gpa + FDRV_RINGS + (uint64_t)(q * d->cfg->qsize + k) * d->cfg->slot_size;
}

uint64_t fdrv_alloc(struct fdrv *d, uint32_t len)
{
	uint64_t room = d->cfg->ram_size - FDRV_RINGS;
	if (d->cfg->slot_size)
		abort(); /* it would hand out the slots' bytes */
	if (d->data_off + len > room)
		d->data_off = 0;
	uint64_t gpa = d->cfg->ram_gpa + FDRV_RINGS + d->data_off;
	d->data_off += (len + 15) & ~15u;
	return gpa;
}

int fdrv_start(struct fdrv *d, uint64_t features)
{
	memset(d->ram, 0, FDRV_RINGS);
	memset(d->next_desc, 0, sizeof(d->next_desc));
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	memset(d->used_seen, 0, sizeof(d->used_seen));
	memset(d->fifo_head, 0, sizeof(d->fifo_head));
	memset(d->fifo_len, 0, sizeof(d->fifo_len));
	memset(d->desc_busy, 0, sizeof(d->desc_busy));
	struct virtio_dev *dev = d->dev;
	dev->features = features;
	dev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	for (unsigned q = 0; q < d->cfg->n_queues; q++) {
		struct virtq *vq = &dev->vqs[q];
		vq->size = d->cfg->qsize;
		vq->desc_gpa = q_desc(d, q);
		vq->avail_gpa = q_avail(d, q);
		vq->used_gpa = q_used(d, q);
		vq->ready = true;
	}
	pthread_mutex_lock(&dev->lock);
	int r = virtio_dev_activate(dev);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

void fdrv_reset(struct fdrv *d)
{
	pthread_mutex_lock(&d->dev->lock);
	virtio_dev_reset(d->dev);
	pthread_mutex_unlock(&d->dev->lock);
}

void fdrv_free(struct fdrv *d)
{
	fdrv_reset(d);
	d->dev->ops->free(d->dev);
	d->dev = NULL;
}

/* An indirect table at the start of the head's slot, its buffers after it. */
static void post_indirect(struct fdrv *d, unsigned q, struct fdrv_chain *c)
{
	struct vring_desc *desc = fdrv_at(d, q_desc(d, q));
	uint64_t table = fdrv_slot(d, q, c->head);
	uint64_t buf = table + FDRV_MAX_BUFS * sizeof(struct vring_desc);
	struct vring_desc *t = fdrv_at(d, table);
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

bool fdrv_post(struct fdrv *d, unsigned q, struct fdrv_chain *c)
{
	uint16_t qsize = d->cfg->qsize;
	unsigned ndesc = c->indirect ? 1 : c->n;
	if (d->desc_busy[q] + ndesc > qsize)
		return false;
	struct vring_desc *desc = fdrv_at(d, q_desc(d, q));
	c->head = d->next_desc[q];
	c->cap = 0;
	for (unsigned i = 0; i < c->n && !c->indirect; i++) {
		uint16_t k = (uint16_t)((c->head + i) % qsize);
		if (!c->gpa[i])
			c->gpa[i] = fdrv_slot(d, q, k);
		desc[k] =
		    (struct vring_desc){.addr = c->gpa[i],
					.len = c->len[i],
					.flags = (uint16_t)((c->wr[i] ? VRING_DESC_F_WRITE : 0) |
							    (i + 1 < c->n ? VRING_DESC_F_NEXT : 0)),
					.next = (uint16_t)((k + 1) % qsize)};
		if (c->wr[i])
			c->cap += c->len[i];
	}
	if (c->indirect)
		post_indirect(d, q, c);
	d->next_desc[q] = (uint16_t)((c->head + ndesc) % qsize);
	d->fifo[q][(d->fifo_head[q] + d->fifo_len[q]++) % qsize] = *c;
	d->desc_busy[q] += ndesc;
	struct vring_avail *avail = fdrv_at(d, q_avail(d, q));
	avail->ring[d->avail_idx[q] % qsize] = c->head;
	__atomic_store_n(&avail->idx, ++d->avail_idx[q], __ATOMIC_RELEASE);
	return true;
}

void fdrv_kick(struct fdrv *d, unsigned q)
{
	/* mmio.c's queue_notify does not call a device that is not running either. */
	pthread_mutex_lock(&d->dev->lock);
	if (d->dev->active && !d->dev->failed)
		d->dev->ops->notify(d->dev, q);
	pthread_mutex_unlock(&d->dev->lock);
}

void fdrv_reap(struct fdrv *d, unsigned q)
{
	uint16_t qsize = d->cfg->qsize;
	struct vring_used *used = fdrv_at(d, q_used(d, q));
	while (d->used_seen[q] != __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) {
		struct vring_used_elem e = used->ring[d->used_seen[q]++ % qsize];
		if (!d->fifo_len[q])
			abort(); /* used more than was posted */
		struct fdrv_chain *c = &d->fifo[q][d->fifo_head[q]];
		if (e.id != c->head || e.len > c->cap) {
			fprintf(stderr, "q%u used id %u len %u; expected id %u len <= %u\n", q,
				e.id, e.len, c->head, c->cap);
			abort();
		}
		if (d->on_used)
			d->on_used(d, q, c, &e);
		d->desc_busy[q] -= c->indirect ? 1 : c->n;
		d->fifo_head[q] = (d->fifo_head[q] + 1) % qsize;
		d->fifo_len[q]--;
	}
}
