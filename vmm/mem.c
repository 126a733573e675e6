// SPDX-License-Identifier: Apache-2.0
/*
 * Guest memory: a few regions of guest-physical address space backed by host
 * mappings, and overflow-safe gpa -> hva translation. Every access a device
 * makes on behalf of the guest goes through vmm_mem_ptr().
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio.h"

#define GIB (1ull << 30)

void vmm_mem_init(struct vmm_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
}

static bool overlaps(const struct vmm_mem_region *r, uint64_t gpa, uint64_t size)
{
	return gpa < r->gpa + r->size && r->gpa < gpa + size;
}

int vmm_mem_add(struct vmm_mem *mem, uint64_t gpa, uint64_t size, void *hva)
{
	if (size == 0 || hva == NULL || gpa + size < gpa)
		return -EINVAL;
	if (mem->n_regions >= VMM_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < mem->n_regions; i++)
		if (overlaps(&mem->regions[i], gpa, size))
			return -EINVAL;
	mem->regions[mem->n_regions++] =
	    (struct vmm_mem_region){.gpa = gpa, .size = size, .hva = hva, .fd_offset = mem->total};
	mem->total += size;
	return 0;
}

void *vmm_mem_ptr(const struct vmm_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->n_regions; i++) {
		const struct vmm_mem_region *r = &mem->regions[i];
		/* Written so that no sum can overflow: gpa-r->gpa only after
		 * gpa >= r->gpa, and len compared against the room left. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		if (len > r->size - off)
			return NULL;
		return r->hva + off;
	}
	return NULL;
}

int vmm_mem_read(const struct vmm_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = vmm_mem_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int vmm_mem_write(const struct vmm_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = vmm_mem_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int vmm_mem_alloc(struct vmm_mem *mem, uint64_t ram_size, uint64_t hole_start)
{
	vmm_mem_init(mem);
	if (ram_size == 0 || hole_start == 0 || hole_start > 4 * GIB)
		return -EINVAL;
	int fd = memfd_create("hull-guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)ram_size) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	/* One mapping of the whole file; regions are slices of it. NORESERVE
	 * so that an idle 2 GiB guest costs no host memory up front. */
	void *base =
	    mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED) {
		int r = -errno;
		close(fd);
		return r;
	}
	/* Guest RAM is not worth dumping with the VMM and never inherited. */
	madvise(base, ram_size, MADV_DONTDUMP);
	madvise(base, ram_size, MADV_DONTFORK);
	mem->fd = fd;
	uint64_t low = ram_size < hole_start ? ram_size : hole_start;
	vmm_mem_add(mem, 0, low, base);
	if (ram_size > low)
		vmm_mem_add(mem, 4 * GIB, ram_size - low, (uint8_t *)base + low);
	return 0;
}

void vmm_mem_free(struct vmm_mem *mem)
{
	if (mem->fd >= 0 && mem->n_regions > 0) {
		munmap(mem->regions[0].hva, mem->total);
		close(mem->fd);
	}
	vmm_mem_init(mem);
}
