/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake virtio driver over fake guest RAM for the device fuzz targets (a
 * fuzz-target helper, see tests/tests.mk). Unlike tests/unit/vmm/fake_guest.h
 * it keeps every chain it posted until the device returns it, and checks each
 * used element: it must be the oldest chain in flight (these devices use
 * chains in order, so a descriptor is only reused once returned) with a
 * length that fits the chain's writable bytes.
 *
 * Guest RAM: cfg.ram_size bytes at cfg.ram_gpa, allocated once and kept
 * across inputs (as a guest's RAM outlives a device reset). Queue q's rings
 * sit in the 4 KiB page q from ram_gpa: descriptor table, avail ring right
 * after it, used ring at +2 KiB. The rest, the data area, is either cut into
 * a slot per descriptor (cfg.slot_size: a chain's buffers never overlap
 * another's) or handed out by fdrv_alloc().
 *
 *   static const struct fdrv_config cfg = {.ram_gpa = 0x10000, ...};
 *   struct fdrv d;
 *   fdrv_init(&d, &cfg, data, size);
 *   xxx_create(&d.mem, ..., &d.dev);
 *   fdrv_start(&d, features);
 *   struct fdrv_chain c = {.n = 1, .len = {512}, .wr = {true}};
 *   if (fdrv_post(&d, 0, &c))
 *           fdrv_kick(&d, 0);
 *   fdrv_reap(&d, 0);
 *   fdrv_free(&d);
 */
#ifndef HULL_TESTS_FUZZ_FAKE_DRIVER_H
#define HULL_TESTS_FUZZ_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../../vmm/virtio.h"
#include "input.h"

#define FDRV_MAX_QUEUES 4      /* one 4 KiB page of rings each */
#define FDRV_RINGS      0x4000 /* the rings' pages; the data area follows */
#define FDRV_MAX_QSIZE  64     /* descriptors, avail and used ring fit their page */
#define FDRV_MAX_BUFS   64     /* buffers in a chain (or an indirect table) */

struct fdrv_config {
	uint64_t ram_gpa, ram_size;
	unsigned n_queues;  /* queues set up by fdrv_start, from 0 */
	uint16_t qsize;     /* entries in each */
	uint32_t slot_size; /* 0: no slots, chains bring their addresses */
};

struct fdrv_chain {
	uint16_t head, n;
	uint32_t cap;  /* writable bytes */
	bool sane;     /* shaped as a driver should; what that promises is the target's */
	bool indirect; /* one descriptor pointing at a table of n (needs slots) */
	uint64_t gpa[FDRV_MAX_BUFS]; /* 0: the descriptor's slot */
	uint32_t len[FDRV_MAX_BUFS];
	bool wr[FDRV_MAX_BUFS];
};

struct fdrv;
/* Extra checks of a used element e for chain c, before c is retired. */
typedef void (*fdrv_used_fn)(struct fdrv *d, unsigned q, const struct fdrv_chain *c,
			     const struct vring_used_elem *e);

struct fdrv {
	const struct fdrv_config *cfg;
	uint8_t *ram;
	struct vmm_mem mem; /* give it to the device */
	struct virtio_dev *dev;
	struct input in; /* the fuzz input */
	fdrv_used_fn on_used;
	void *ctx; /* the target's, for on_used */
	uint16_t next_desc[FDRV_MAX_QUEUES], avail_idx[FDRV_MAX_QUEUES], used_seen[FDRV_MAX_QUEUES];
	/* Chains in flight, oldest first. */
	struct fdrv_chain fifo[FDRV_MAX_QUEUES][FDRV_MAX_QSIZE];
	unsigned fifo_head[FDRV_MAX_QUEUES], fifo_len[FDRV_MAX_QUEUES], desc_busy[FDRV_MAX_QUEUES];
	uint32_t data_off; /* fdrv_alloc's bump pointer (wraps) */
};

/* RAM (allocated on the first call), memory map and input; no device yet. */
void fdrv_init(struct fdrv *d, const struct fdrv_config *cfg, const uint8_t *data, size_t size);
/* Host pointer of gpa (inside RAM). */
void *fdrv_at(struct fdrv *d, uint64_t gpa);
/* Descriptor k of queue q's slot in the data area. */
uint64_t fdrv_slot(struct fdrv *d, unsigned q, unsigned k);
/* len bytes of the data area (16-byte aligned); wraps to the start when the
 * area is full, even over chains still in flight (a hostile guest may too). */
uint64_t fdrv_alloc(struct fdrv *d, uint32_t len);
/* Bring the device up as a driver would: zeroed rings, queues ready, DRIVER_OK
 * with features, activate. Returns what virtio_dev_activate does. */
int fdrv_start(struct fdrv *d, uint64_t features);
/* Device reset (status 0); fdrv_start brings it up again. */
void fdrv_reset(struct fdrv *d);
/* Reset and free the device. */
void fdrv_free(struct fdrv *d);
/* Write c's descriptors and publish it on queue q, filling in c's head, cap
 * and gpa[]; false when the ring has no room (a real driver waits too). */
bool fdrv_post(struct fdrv *d, unsigned q, struct fdrv_chain *c);
/* Notify queue q, as the transport does: only while the device runs. */
void fdrv_kick(struct fdrv *d, unsigned q);
/* Take what the device used on queue q, checking each element (aborts). */
void fdrv_reap(struct fdrv *d, unsigned q);

#endif
