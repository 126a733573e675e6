// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the virtio-mmio register file as a hostile driver would use it: the
 * input is a list of register accesses (offset, width, value) against a
 * virtio-rng and a virtio-balloon on fake guest RAM whose contents come from
 * the input too, so queue setup, feature negotiation, activation, resets,
 * notifies and config writes all run in random orders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/devices.h"
#include "../../vmm/mmio.h"

#define RAM_SIZE 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	if (!ram)
		ram = malloc(RAM_SIZE);
	if (size < 2)
		return 0;
	/* First half: RAM; second half: accesses. */
	size_t half = size / 2;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data, half < RAM_SIZE ? half : RAM_SIZE);
	struct vmm_mem mem;
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, 0, RAM_SIZE, ram);

	struct virtio_dev *dev;
	int r = data[0] & 1 ? virtio_balloon_create(&mem, NULL, &dev)
			    : virtio_rng_create(&mem, NULL, &dev);
	if (r < 0)
		abort();
	struct mmio_dev *m;
	if (mmio_dev_new_detached(dev, &m) < 0)
		abort();
	const uint8_t *p = data + half, *end = data + size;
	while (end - p >= 7) {
		uint16_t off = (uint16_t)((p[0] | p[1] << 8) & 0xfff);
		static const uint32_t widths[] = {1, 2, 4, 8};
		uint32_t len = widths[p[2] & 3];
		bool write = p[2] & 4;
		uint8_t buf[8] = {p[3], p[4], p[5], p[6]};
		mmio_dev_access(m, off, buf, len, write);
		p += 7;
	}
	mmio_dev_free(m);
	return 0;
}
