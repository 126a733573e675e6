// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the split-virtqueue walker: the input becomes the whole guest RAM
 * (descriptor table, rings, indirect tables, all attacker-controlled); the
 * first bytes pick the queue size, ring addresses and features. Every chain
 * popped must lie inside RAM; pop must never hang or read outside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/virtio.h"

#define RAM_SIZE 65536

static const struct virtio_dev_ops fuzz_ops = {.name = "fuzz"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	static uint8_t *ram;
	if (!ram)
		ram = malloc(RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + 8, size - 8 < RAM_SIZE ? size - 8 : RAM_SIZE);

	struct vmm_mem mem;
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, 0x10000, RAM_SIZE, ram); /* RAM not at 0: gpa 0 is a hole */

	struct virtio_dev dev;
	memset(&dev, 0, sizeof(dev));
	if (virtio_dev_init(&dev, &fuzz_ops, 4, 1, 256, &mem, NULL) < 0)
		return 0;
	dev.features = (data[0] & 1 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
		       (data[0] & 2 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
	struct virtq *vq = &dev.vqs[0];
	vq->size = (uint16_t)(1u << (data[1] % 9)); /* 1..256 */
	vq->desc_gpa = 0x10000 + (uint64_t)data[2] * 64;
	vq->avail_gpa = 0x10000 + (uint64_t)data[3] * 128;
	vq->used_gpa = 0x10000 + (uint64_t)data[4] * 256;
	vq->ready = true;
	if (virtio_dev_activate(&dev) == 0) {
		static struct virtq_chain c;
		uint8_t scratch[512];
		unsigned budget = data[5] + 1u;
		int r;
		while (budget-- > 0 && (r = virtq_pop(vq, &c)) > 0) {
			for (unsigned i = 0; i < c.n_out + c.n_in; i++) {
				uint8_t *p = c.iov[i].iov_base;
				if (p < ram || p + c.iov[i].iov_len > ram + RAM_SIZE)
					abort();
			}
			virtq_chain_read(&c, data[6], scratch, sizeof(scratch));
			size_t w = virtq_chain_write(&c, data[7], scratch, sizeof(scratch));
			virtq_push(vq, &c, (uint32_t)w);
			virtq_notify(vq);
		}
	}
	virtio_dev_reset(&dev);
	virtio_dev_exit(&dev);
	return 0;
}
