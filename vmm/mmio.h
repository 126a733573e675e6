/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport (virtio 1.2 section 4.2, modern register layout,
 * Version 2 only). A device is given a 4 KiB window and an IRQ; queue
 * notifies arrive by ioeventfd on the event loop, interrupts leave by irqfd.
 */
#ifndef HULL_VMM_MMIO_H
#define HULL_VMM_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "virtio.h"
#include "vm.h"

#define MMIO_WINDOW      0x1000
#define MMIO_MAX_DEVICES 9

struct mmio_dev {
	struct virtio_dev *dev;
	struct vmm_vm *vm; /* NULL in unit tests: no ioeventfd/irqfd */
	uint64_t base;
	unsigned irq;
	int irqfd;
	int *notify_fds; /* one ioeventfd per queue, or -1 */
	/* Transport registers the driver writes. */
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
};

/* Give dev a window at `base` and `irq`: bus registration, irqfd, one
 * ioeventfd per queue watched by the event loop. Takes ownership of dev
 * (freed by mmio_dev_free). */
int mmio_dev_add(struct vmm_vm *vm, struct virtio_dev *dev, uint64_t base, unsigned irq,
		 struct mmio_dev **out);
/* Without KVM (unit tests and fuzzing): just the register file. */
int mmio_dev_new_detached(struct virtio_dev *dev, struct mmio_dev **out);
void mmio_dev_free(struct mmio_dev *m);
/* A register access at offset `off` in the window (the bus callback). */
void mmio_dev_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write);
/* The kernel command-line word announcing the device:
 * "virtio_mmio.device=4K@0xBASE:IRQ". */
int mmio_dev_cmdline(const struct mmio_dev *m, char *buf, size_t len);

#endif
