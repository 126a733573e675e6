// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues, device side (virtio 1.2 section 2.7): taking descriptor
 * chains from the available ring and returning them on the used ring.
 *
 * The rings live in guest memory and the guest may rewrite them at any time,
 * from another vCPU, while we read. So: every index is reduced or checked
 * before use, each descriptor is copied out once before it is interpreted,
 * chains are walked with a hard step limit (a looping `next` cannot hang us)
 * and every buffer is translated with vmm_mem_ptr() (no part outside RAM).
 * x86 only: virtio 1.x rings are little-endian like the host, so no byte
 * swapping.
 */
#include <errno.h>
#include <string.h>

#include "virtio.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian");

static uint16_t load16(const volatile uint16_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

int virtq_start(struct virtq *vq)
{
	const struct vmm_mem *mem = vq->dev->mem;
	uint64_t n = vq->size;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) != 0)
		return -EINVAL;
	/* Alignment from 2.7: desc 16, avail 2, used 4. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	/* avail and used carry the event-idx word after the ring. */
	vq->desc = vmm_mem_ptr(mem, vq->desc_gpa, 16 * n);
	vq->avail = vmm_mem_ptr(mem, vq->avail_gpa, 6 + 2 * n);
	vq->used = vmm_mem_ptr(mem, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->event_idx = virtio_dev_has(vq->dev, VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = virtio_dev_has(vq->dev, VIRTIO_RING_F_INDIRECT_DESC);
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	struct virtio_dev *dev = vq->dev;
	unsigned index = vq->index;
	memset(vq, 0, sizeof(*vq));
	vq->dev = dev;
	vq->index = index;
}

bool virtq_has_avail(struct virtq *vq)
{
	if (!vq->avail)
		return false;
	return load16(&vq->avail->idx) != vq->last_avail;
}

/* Append one buffer; -EFAULT outside RAM, -E2BIG when the chain is too long. */
static int chain_add(const struct vmm_mem *mem, struct virtq_chain *c, const struct vring_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;

	/* 2.7.4.2: device-writable buffers come after all readable ones. */
	if (!writable && c->n_in > 0)
		return -EPROTO;
	void *p = vmm_mem_ptr(mem, d->addr, d->len);
	if (!p)
		return -EFAULT;
	if (d->len == 0)
		return 0;
	unsigned n = c->n_out + c->n_in;
	if (n >= VIRTQ_MAX_CHAIN)
		return -E2BIG;
	c->iov[n].iov_base = p;
	c->iov[n].iov_len = d->len;
	if (writable) {
		c->n_in++;
		c->in_len += d->len;
	} else {
		c->n_out++;
		c->out_len += d->len;
	}
	return 0;
}

/* Walk an indirect table (2.7.5.3). It may not nest or chain onward. */
static int walk_indirect(const struct vmm_mem *mem, struct virtq_chain *c,
			 const struct vring_desc *ind)
{
	if (ind->len == 0 || ind->len % sizeof(struct vring_desc) != 0)
		return -EPROTO;
	uint32_t n = ind->len / sizeof(struct vring_desc);
	if (n > VIRTQ_MAX_CHAIN)
		return -E2BIG;
	const struct vring_desc *table = vmm_mem_ptr(mem, ind->addr, ind->len);
	if (!table || ((uintptr_t)table & 7) != 0)
		return -EFAULT;

	uint32_t i = 0;
	/* At most n steps: a chain longer than the table has a loop. */
	for (uint32_t steps = 0; steps < n; steps++) {
		struct vring_desc d;
		memcpy(&d, &table[i], sizeof(d)); /* one snapshot per descriptor */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EPROTO;
		int r = chain_add(mem, c, &d);
		if (r < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -ERANGE;
		i = d.next;
	}
	return -ELOOP;
}

static int walk_chain(struct virtq *vq, struct virtq_chain *c, uint16_t head)
{
	const struct vmm_mem *mem = vq->dev->mem;
	uint16_t i = head;

	/* 2.7.4.1 caps a chain at the queue size: more steps means a loop. */
	for (unsigned steps = 0; steps < vq->size; steps++) {
		struct vring_desc d;
		memcpy(&d, &vq->desc[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* Only if negotiated, and the table ends the chain. */
			if (!vq->indirect || (d.flags & VRING_DESC_F_NEXT))
				return -EPROTO;
			return walk_indirect(mem, c, &d);
		}
		int r = chain_add(mem, c, &d);
		if (r < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return -ERANGE;
		i = d.next;
	}
	return -ELOOP;
}

/* With EVENT_IDX the driver kicks only when avail idx passes avail_event
 * (2.7.10): publish the next index we have not seen. */
static void set_avail_event(struct virtq *vq)
{
	uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->size];
	__atomic_store_n(avail_event, vq->last_avail, __ATOMIC_RELEASE);
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	if (!vq->avail)
		return 0;
	uint16_t avail_idx = load16(&vq->avail->idx);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0 && vq->event_idx) {
		/* Ask for a kick on the next buffer, then look again: the
		 * driver may have added one before it saw our avail_event. */
		set_avail_event(vq);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16(&vq->avail->idx);
		pending = (uint16_t)(avail_idx - vq->last_avail);
	}
	if (pending == 0)
		return 0;
	/* The driver can only be ahead by at most one ring's worth. */
	if (pending > vq->size)
		return -ERANGE;
	/* The acquire load of idx orders the ring read after it. */
	uint16_t head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size)
		return -ERANGE;

	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	int r = walk_chain(vq, c, head);
	if (r < 0)
		return r;
	vq->last_avail++;
	if (vq->event_idx)
		set_avail_event(vq);
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
	if (vq->event_idx)
		set_avail_event(vq); /* a kick for the chain we gave back, too */
}

void virtq_push(struct virtq *vq, const struct virtq_chain *c, uint32_t len)
{
	if (!vq->used)
		return;
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	e->id = c->head;
	e->len = len;
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

void virtq_notify(struct virtq *vq)
{
	if (!vq->avail)
		return;
	/* Order our used->idx store before reading the driver's suppression
	 * state (the driver does the mirror image), else a wakeup is lost. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		/* 2.7.7.2: interrupt when used_event lies in (old, new]. */
		uint16_t used_event = load16(&vq->avail->ring[vq->size]);
		uint16_t new_idx = vq->used_idx;
		uint16_t old_idx = vq->signalled_used;
		bool valid = vq->signalled_valid;
		vq->signalled_used = new_idx;
		vq->signalled_valid = true;
		if (valid && (uint16_t)(new_idx - used_event - 1) >= (uint16_t)(new_idx - old_idx))
			return;
	} else if (load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT) {
		return;
	}
	virtio_dev_interrupt(vq->dev, 1 /* VIRTIO_MMIO_INT_VRING */);
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < c->n_out && done < len; i++) {
		size_t l = c->iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t n = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)c->iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	size_t done = 0;
	for (unsigned i = c->n_out; i < c->n_out + c->n_in && done < len; i++) {
		size_t l = c->iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t n = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)c->iov[i].iov_base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}
