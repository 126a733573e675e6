/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fake guest memory and a fake virtio driver for device unit tests (no
 * /dev/kvm): a malloc'd RAM registered as vmm_mem at gpa 0, and helpers that
 * lay out split rings and post descriptor chains the way a driver would.
 *
 *   struct fake_guest g;
 *   fake_guest_init(&g, 1 << 20);
 *   virtio_dev_init(&dev, &ops, id, 2, 256, &g.mem, NULL);
 *   fake_dev_attach(&g, &dev);                    // counts interrupts in g.irqs
 *   fake_vq_setup(&g, &dev, 0, 16);               // queue 0, 16 entries, ready
 *   virtio_dev_activate(&dev);
 *   uint64_t buf = fake_alloc(&g, 512);
 *   struct fake_buf b[] = {{buf, 512, true}};
 *   fake_vq_post(&g, 0, b, 1);                    // driver: add + kick
 */
#ifndef HULL_TESTS_FAKE_GUEST_H
#define HULL_TESTS_FAKE_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "../../../vmm/virtio.h"

#define FAKE_MAX_QUEUES 8

struct fake_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct fake_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t next_desc; /* next free descriptor (wraps) */
	uint16_t avail_idx;
	uint16_t used_seen;
};

struct fake_guest {
	struct vmm_mem mem;
	uint8_t *ram;
	uint64_t size;
	uint64_t brk; /* bump allocator for fake_alloc */
	struct virtio_dev *dev;
	struct fake_queue q[FAKE_MAX_QUEUES];
	unsigned irqs;
};

int fake_guest_init(struct fake_guest *g, uint64_t size);
/* The same on real guest RAM (vmm_mem_alloc: a shared memfd mapping), for
 * devices that give memory back to the host. */
int fake_guest_init_memfd(struct fake_guest *g, uint64_t size);
void fake_guest_free(struct fake_guest *g);
/* Guest-physical address of a fresh zeroed block (16-byte aligned). */
uint64_t fake_alloc(struct fake_guest *g, uint64_t len);
void *fake_ptr(struct fake_guest *g, uint64_t gpa);
/* Count interrupts of dev in g->irqs. */
void fake_dev_attach(struct fake_guest *g, struct virtio_dev *dev);
/* Allocate rings for queue q of size entries and mark it ready (as the driver
 * would through the transport). Call before virtio_dev_activate(). */
void fake_vq_setup(struct fake_guest *g, unsigned q, uint16_t size);
/* Write a chain of descriptors and publish it; returns the head index. Does
 * not notify the device. */
uint16_t fake_vq_add(struct fake_guest *g, unsigned q, const struct fake_buf *bufs, unsigned n);
/* fake_vq_add + ops->notify under the device lock. */
uint16_t fake_vq_post(struct fake_guest *g, unsigned q, const struct fake_buf *bufs, unsigned n);
/* Next used element: returns true and fills id/len if the device pushed one. */
bool fake_vq_used(struct fake_guest *g, unsigned q, uint32_t *id, uint32_t *len);

#endif
