// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz virtio-blk request handling: the input is guest RAM holding a
 * descriptor table and ring, driven through the real device on a small
 * memfd-backed disk (parsing, bounds checks, preadv/pwritev, status byte).
 * The first bytes pick the queue size, disk mode and ring addresses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../vmm/devices.h"
#include "../../vmm/virtio_blk.h"

#define RAM_SIZE  65536
#define DISK_SIZE (64 * 512 + 100) /* a partial last sector too */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_irq(struct virtio_dev *dev, void *ctx)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static char path[64];
	if (!ram) {
		ram = malloc(RAM_SIZE);
		int fd = memfd_create("fuzz-disk", 0);
		if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (size < 8)
		return 0;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + 8, size - 8 < RAM_SIZE ? size - 8 : RAM_SIZE);

	struct vmm_mem mem;
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, 0x100000, RAM_SIZE, ram);
	struct virtio_dev *dev;
	struct virtio_blk_opts o = {.path = path, .read_only = data[0] & 1};
	if (virtio_blk_create(&mem, NULL, &o, &dev) < 0)
		abort();
	dev->irq_fn = count_irq;
	dev->features = (1ull << VIRTIO_F_VERSION_1) |
			(data[0] & 2 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
			(data[0] & 4 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
	dev->status = VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK;
	struct virtq *vq = &dev->vqs[0];
	vq->size = (uint16_t)(1u << (data[1] % 9));
	vq->desc_gpa = 0x100000 + (uint64_t)data[2] * 64;
	vq->avail_gpa = 0x100000 + (uint64_t)data[3] * 128;
	vq->used_gpa = 0x100000 + (uint64_t)data[4] * 256;
	vq->ready = true;
	pthread_mutex_lock(&dev->lock);
	if (virtio_dev_activate(dev) == 0)
		dev->ops->notify(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	dev->ops->free(dev);
	return 0;
}
