/* SPDX-License-Identifier: Apache-2.0 */
/* Constructors of hull-vmm's emulated devices (private to vmm/). */
#ifndef HULL_VMM_DEVICES_H
#define HULL_VMM_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"
#include "vm.h"

/* virtio-rng: entropy from getrandom(). */
int virtio_rng_create(struct vmm_mem *mem, struct vmm_loop *loop, struct virtio_dev **out);

struct virtio_blk_opts {
	const char *path;
	bool read_only;
	const char *serial; /* VIRTIO_BLK_ID_BYTES max; NULL: derived from path */
};
/* virtio-blk on a file or block device. Returns 0 or -errno (logged). */
int virtio_blk_create(struct vmm_mem *mem, struct vmm_loop *loop,
		      const struct virtio_blk_opts *opts, struct virtio_dev **out);

struct virtio_net_opts {
	const char *tap; /* tap interface name (created if missing, needs CAP_NET_ADMIN) */
	int fd;          /* with tap NULL: an open tap (IFF_VNET_HDR), owned from here on */
	uint8_t mac[6];
	uint16_t mtu; /* 0: VIRTIO_NET_F_MTU not offered */
};
/* virtio-net on a tap device. */
int virtio_net_create(struct vmm_mem *mem, struct vmm_loop *loop,
		      const struct virtio_net_opts *opts, struct virtio_dev **out);
/* The same on a non-blocking fd made ready already (opts->tap and ->fd
 * unused): each read gives and each write takes one frame behind its 12-byte
 * virtio-net header — a tap after virtio_net_create()'s ioctls, or in tests
 * one end of a datagram socketpair. offloads: offer CSUM/TSO (the fd takes
 * TUNSETOFFLOAD). The fd is owned from here on, also on failure. */
int virtio_net_create_fd(struct vmm_mem *mem, struct vmm_loop *loop, int fd, bool offloads,
			 const struct virtio_net_opts *opts, struct virtio_dev **out);

struct vmm_balloon_stats {
	bool valid; /* the guest has reported at least once */
	uint64_t free_bytes, total_bytes, available_bytes;
	uint64_t target_bytes, actual_bytes; /* asked for / handed over */
};
/* virtio-balloon: inflate/deflate, the statistics queue, free page reporting. */
int virtio_balloon_create(struct vmm_mem *mem, struct vmm_loop *loop, struct virtio_dev **out);
/* Ask the guest to hand over `bytes` of its RAM (0: give it all back). */
void virtio_balloon_set_target(struct virtio_dev *dev, uint64_t bytes);
/* The last stats the guest reported; also asks it for fresh ones. */
void virtio_balloon_get_stats(struct virtio_dev *dev, struct vmm_balloon_stats *out);

/* 8250 UART at COM1 (0x3f8, IRQ 4). Output to out_fd (-1: discarded); input
 * from in_fd (-1: none) through the event loop. */
struct serial;
int serial_create(struct vmm_vm *vm, int out_fd, int in_fd, struct serial **out);
void serial_free(struct serial *s);

/* i8042 (reset via 0x64 <- 0xfe), ACPI sleep registers (S5 -> poweroff),
 * pvpanic MMIO (panic) and the port 0x80 POST sink. */
int legacy_devices_add(struct vmm_vm *vm);

#endif
