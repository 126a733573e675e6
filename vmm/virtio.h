/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device-facing virtio API of hull-vmm (private to vmm/): guest memory,
 * split virtqueues (virtio 1.2 section 2.7), the device ops table the
 * virtio-mmio transport (mmio.c, section 4.2) drives, and the event loop.
 *
 * Guest memory is hostile. Everything read from it (indices, descriptors,
 * addresses, lengths) is checked here before a device sees it; a device only
 * ever gets host pointers that lie wholly inside guest RAM.
 *
 * Writing a device (see virtio_rng.c for the smallest complete one):
 *
 *   struct my_dev { struct virtio_dev vdev; ...; };  // vdev first, or use container_of
 *
 *   static void my_notify(struct virtio_dev *d, unsigned q)   // driver kicked queue q
 *   {
 *           struct virtq *vq = &d->vqs[q];
 *           struct virtq_chain c;
 *           int r;
 *           while ((r = virtq_pop(vq, &c)) > 0) {
 *                   // c.iov[0 .. c.n_out)            device-readable buffers
 *                   // c.iov[c.n_out .. c.n_out+c.n_in) device-writable buffers
 *                   // copy headers out first (virtq_chain_read) - the guest can
 *                   // change its memory while we look at it
 *                   virtq_push(vq, &c, bytes_written);
 *           }
 *           if (r < 0)
 *                   return virtio_dev_fail(d, "my: bad chain on queue %u", q);
 *           virtq_notify(vq);               // interrupt unless the driver suppressed it
 *   }
 *   static const struct virtio_dev_ops my_ops = {
 *           .name = "my", .notify = my_notify, .activate = ..., .reset = ..., .free = ...,
 *   };
 *
 *   int my_create(struct vmm_mem *mem, struct vmm_loop *loop, ..., struct virtio_dev **out)
 *   {
 *           struct my_dev *m = calloc(1, sizeof(*m));
 *           virtio_dev_init(&m->vdev, &my_ops, VIRTIO_ID_xxx, 3, 256, mem, loop);
 *           m->vdev.host_features = 1ull << VIRTIO_xxx_F_yyy;  // VERSION_1 is added for you
 *           m->vdev.config = &m->cfg; m->vdev.config_len = sizeof(m->cfg);  // little-endian
 *           *out = &m->vdev;
 *   }
 *
 * The VM then hands the device to the transport (mmio_dev_add() in mmio.h),
 * which gives it an MMIO window, an IRQ, a kernel cmdline entry, an ioeventfd
 * per queue and an irqfd.
 *
 * Threads and locking: every ops callback is called with dev->lock held -
 * config access, activate and reset from vCPU threads (MMIO exits), notify
 * from the event-loop thread (ioeventfd). Callbacks a device registers itself
 * with vmm_loop_add() run on the loop thread WITHOUT dev->lock: take it
 * (pthread_mutex_lock(&dev->lock)) before touching queues or state that ops
 * also touch. Queues are only valid between activate() and reset(); check
 * dev->active under the lock. All virtq_* calls need dev->lock held.
 *
 * Errors: a device never exits the process on guest input. virtio_dev_fail()
 * logs once, sets DEVICE_NEEDS_RESET and tells the driver; the device stops
 * processing until the driver resets it.
 */
#ifndef HULL_VMM_VIRTIO_H
#define HULL_VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

/* ---- guest memory -------------------------------------------------------- */

#define VMM_MEM_MAX_REGIONS 4

struct vmm_mem_region {
	uint64_t gpa;       /* guest-physical start */
	uint64_t size;      /* bytes */
	uint8_t *hva;       /* host mapping of gpa */
	uint64_t fd_offset; /* offset of this region in vmm_mem.fd */
};

struct vmm_mem {
	struct vmm_mem_region regions[VMM_MEM_MAX_REGIONS];
	unsigned n_regions;
	int fd;         /* memfd backing all regions, or -1 (fake memory in tests) */
	uint64_t total; /* sum of region sizes */
};

/* Empty memory (fd -1). */
void vmm_mem_init(struct vmm_mem *mem);
/*
 * Guest RAM for a VM: one memfd of ram_size bytes, mapped MAP_SHARED |
 * MAP_NORESERVE (touched on demand; shareable with vhost-user backends), laid
 * out as [0, min(ram, hole_start)) and, above 4 GiB, the rest, so that
 * [hole_start, 4 GiB) stays free for MMIO devices. Returns 0 or -errno.
 */
int vmm_mem_alloc(struct vmm_mem *mem, uint64_t ram_size, uint64_t hole_start);
/* Unmap and close what vmm_mem_alloc made. */
void vmm_mem_free(struct vmm_mem *mem);
/* Register an already mapped range (tests: any malloc'd buffer). Regions must
 * not overlap. Returns 0, -EINVAL or -ENOSPC. */
int vmm_mem_add(struct vmm_mem *mem, uint64_t gpa, uint64_t size, void *hva);
/*
 * Host pointer for guest range [gpa, gpa+len), or NULL when any byte of it is
 * outside guest RAM or the range wraps. The whole range lies in one region.
 * len 0 is allowed (NULL is still returned for an invalid gpa).
 */
void *vmm_mem_ptr(const struct vmm_mem *mem, uint64_t gpa, uint64_t len);
/* Bounds-checked copies; -EFAULT when the range is not guest RAM. */
int vmm_mem_read(const struct vmm_mem *mem, uint64_t gpa, void *dst, uint64_t len);
int vmm_mem_write(const struct vmm_mem *mem, uint64_t gpa, const void *src, uint64_t len);

/* ---- event loop ---------------------------------------------------------- */

struct vmm_loop;

/* events: EPOLLIN/EPOLLOUT/... as returned by epoll. */
typedef void (*vmm_loop_fn)(struct vmm_loop *loop, int fd, uint32_t events, void *ctx);

/*
 * One epoll thread for all device I/O. add/mod/del may be called from any
 * thread and from inside a callback (deleting the fd being dispatched, too);
 * a deleted fd's callback is never called again after del returns on the
 * loop thread. The loop does not close fds.
 */
int vmm_loop_new(struct vmm_loop **out);
void vmm_loop_free(struct vmm_loop *loop);
int vmm_loop_add(struct vmm_loop *loop, int fd, uint32_t events, vmm_loop_fn fn, void *ctx);
int vmm_loop_mod(struct vmm_loop *loop, int fd, uint32_t events);
int vmm_loop_del(struct vmm_loop *loop, int fd);
/* Run callbacks until vmm_loop_stop(); returns 0 or -errno. */
int vmm_loop_run(struct vmm_loop *loop);
/* One round: wait up to timeout_ms (-1 forever) and dispatch. Returns the
 * number of callbacks run or -errno. For tests and the main thread. */
int vmm_loop_run_once(struct vmm_loop *loop, int timeout_ms);
/* Thread-safe; wakes the loop and makes vmm_loop_run() return. */
void vmm_loop_stop(struct vmm_loop *loop);

/* ---- split virtqueue (virtio 1.2, 2.7) ----------------------------------- */

/* Most buffers one chain may have (direct + indirect); longer chains are a
 * guest error. Linux uses at most queue size or 128+2 (virtio-blk seg_max). */
#define VIRTQ_MAX_CHAIN 256
#define VIRTQ_MAX_SIZE  1024

struct virtio_dev;

struct virtq {
	struct virtio_dev *dev;
	unsigned index;
	/* Set by the driver through the transport before activation. */
	uint16_t size; /* entries, <= max size, power of two */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	/* Resolved by virtq_start() (host pointers into guest memory). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;     /* next avail ring slot to take */
	uint16_t used_idx;       /* next used ring slot to fill */
	bool event_idx;          /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;           /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t signalled_used; /* used_idx at the last interrupt (event_idx) */
	bool signalled_valid;
};

/* One descriptor chain taken from the available ring. */
struct virtq_chain {
	uint16_t head;            /* give back to virtq_push */
	unsigned n_out, n_in;     /* readable first, then writable */
	uint64_t out_len, in_len; /* byte totals */
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/*
 * Resolve and check the ring addresses (alignment, in guest RAM). Called by the
 * transport when the driver sets DRIVER_OK; -EFAULT/-EINVAL on a bad ring.
 */
int virtq_start(struct virtq *vq);
/* Forget ring state (device reset). */
void virtq_reset(struct virtq *vq);
/*
 * Take the next available chain. Returns 1 with *c filled, 0 when the ring is
 * empty, or a negative errno when the driver broke the ring (index out of
 * range, loop, buffer outside RAM, writable-before-readable, nested indirect,
 * too long): the caller should virtio_dev_fail(). Zero-length buffers are
 * dropped from the list.
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);
/* Put c back unused (it will be popped again). Only for the chain just popped. */
void virtq_unpop(struct virtq *vq);
/* Return a chain to the driver with `len` bytes written to its writable part. */
void virtq_push(struct virtq *vq, const struct virtq_chain *c, uint32_t len);
/* Interrupt the driver if it wants one (avail flags, or used_event with EVENT_IDX). */
void virtq_notify(struct virtq *vq);
/* True when the ring has chains waiting (for polling devices). */
bool virtq_has_avail(struct virtq *vq);

/* Copy out of the readable part / into the writable part of a chain, starting
 * `off` bytes into that part; return bytes copied (short at the end). */
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len);

/* ---- virtio device ------------------------------------------------------- */

struct virtio_dev_ops {
	const char *name;
	/* Driver set DRIVER_OK; queues are started. Nonzero: fail the device. */
	int (*activate)(struct virtio_dev *dev);
	/* Driver wrote QueueNotify for queue q (via ioeventfd, on the loop thread). */
	void (*notify)(struct virtio_dev *dev, unsigned q);
	/* Driver reset the device (status 0) after it was active: stop I/O,
	 * unregister fds; queues are reset by the transport afterwards. */
	void (*reset)(struct virtio_dev *dev);
	/* Optional: the driver wrote config bytes [off, off+len) (already stored
	 * in dev->config). */
	void (*config_write)(struct virtio_dev *dev, uint32_t off, uint32_t len);
	/* Free the device (called once, at VM teardown, after reset if active). */
	void (*free)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	pthread_mutex_t lock;
	struct vmm_mem *mem;
	struct vmm_loop *loop;
	uint32_t device_id;     /* VIRTIO_ID_* */
	uint64_t host_features; /* device-specific feature bits the device offers */
	uint64_t features;      /* negotiated (driver-acked) */
	void *config;           /* device config space, little-endian */
	uint32_t config_len;
	uint32_t config_generation;
	unsigned n_vqs;
	uint16_t queue_max;
	struct virtq *vqs;
	uint32_t status; /* VIRTIO_CONFIG_S_* */
	bool active;     /* between activate() and reset() */
	bool failed;     /* virtio_dev_fail() was called since the last reset */
	/* Interrupt: InterruptStatus bits, raised through irq_fn (set by the
	 * transport: irqfd; tests: a counter). */
	uint32_t isr; /* atomic */
	/* Bits InterruptStatus always reads as set: a vhost-user device's
	 * back-end signals the irqfd directly, so the VMM never sets VRING. */
	uint32_t isr_always;
	void (*irq_fn)(struct virtio_dev *dev, void *ctx);
	void *irq_ctx;
	void *transport; /* mmio state */
};

/* Fill the common part; allocates n_vqs queues. Returns 0 or -ENOMEM. */
int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops, uint32_t device_id,
		    unsigned n_vqs, uint16_t queue_max, struct vmm_mem *mem, struct vmm_loop *loop);
/* Undo virtio_dev_init (queues, lock); devices call it from ops->free. */
void virtio_dev_exit(struct virtio_dev *dev);
/* Set InterruptStatus bit(s) (VIRTIO_MMIO_INT_VRING / _CONFIG) and raise. */
void virtio_dev_interrupt(struct virtio_dev *dev, uint32_t bits);
/* Guest broke the device: log once, DEVICE_NEEDS_RESET, config interrupt.
 * Call with dev->lock held. */
void virtio_dev_fail(struct virtio_dev *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The driver accepted feature bit `bit`. */
static inline bool virtio_dev_has(const struct virtio_dev *dev, unsigned bit)
{
	return (dev->features >> bit) & 1;
}
/* Config changed under the driver: bump generation, config interrupt. */
void virtio_dev_config_changed(struct virtio_dev *dev);

/* Called by the transport: DRIVER_OK -> start queues + activate; 0 -> reset. */
int virtio_dev_activate(struct virtio_dev *dev);
void virtio_dev_reset(struct virtio_dev *dev);

#endif
