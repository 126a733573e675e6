// SPDX-License-Identifier: Apache-2.0
/*
 * Direct Linux boot (Documentation/arch/x86/boot.rst): load a vmlinux (ELF64,
 * entered at its physical e_entry, startup_64) or a bzImage (boot protocol
 * >= 2.10 with the 64-bit entry, XLF_KERNEL_64: protected-mode payload at
 * 1 MiB, entered at +0x200), the initrd near the top of low RAM, the command
 * line, and the zero page (struct boot_params) with the e820 map and the ACPI
 * RSDP address. The kernel file is untrusted input too: every header field
 * used is range-checked against the file and guest RAM.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "boot.h"
#include "lib/cleanup.h"
#include "lib/log.h"

#define HDRS_MAGIC       0x53726448 /* "HdrS" */
#define BOOT_FLAG        0xaa55
#define LOADER_UNDEFINED 0xff
#define BZ_KERNEL_ADDR   VMM_HIMEM_START
#define BZ_ENTRY_64      0x200
#define KERNEL_ALIGN     0x1000000
#define E820_RAM         1
#define E820_RESERVED    2

/* pread exactly len bytes at off; -EIO on a short file. */
static int read_at(int fd, uint64_t off, void *dst, uint64_t len)
{
	uint8_t *p = dst;
	while (len > 0) {
		ssize_t r = pread(fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p += r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* End of the RAM that starts at 0 (below the MMIO hole). */
static uint64_t low_ram_end(const struct vmm_vm *vm)
{
	return vm->mem.regions[0].size;
}

static int load_elf(struct vmm_vm *vm, int fd, uint64_t fsize, struct vmm_boot_info *info)
{
	Elf64_Ehdr eh;
	int r = read_at(fd, 0, &eh, sizeof(eh));
	if (r < 0)
		return log_error("kernel: ELF header: %s", strerror(-r)), r;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return log_error("kernel: not an x86-64 ELF64 vmlinux"), -ENOEXEC;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    eh.e_phoff > fsize || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff)
		return log_error("kernel: bad ELF program header table"), -ENOEXEC;
	Elf64_Phdr ph[64];
	r = read_at(fd, eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr));
	if (r < 0)
		return log_error("kernel: ELF program headers: %s", strerror(-r)), r;
	uint64_t end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_offset > fsize ||
		    p->p_filesz > fsize - p->p_offset)
			return log_error("kernel: ELF segment %u lies outside the file", i),
			       -ENOEXEC;
		uint8_t *dst = vmm_mem_ptr(&vm->mem, p->p_paddr, p->p_memsz);
		if (!dst || p->p_paddr < VMM_HIMEM_START)
			return log_error("kernel: ELF segment %u at 0x%llx+0x%llx does not fit in "
					 "guest RAM",
					 i, (unsigned long long)p->p_paddr,
					 (unsigned long long)p->p_memsz),
			       -E2BIG;
		r = read_at(fd, p->p_offset, dst, p->p_filesz);
		if (r < 0)
			return log_error("kernel: reading ELF segment %u: %s", i, strerror(-r)), r;
		/* The bss part is already zero: guest RAM is a fresh memfd. */
		if (p->p_paddr + p->p_memsz > end)
			end = p->p_paddr + p->p_memsz;
	}
	if (!vmm_mem_ptr(&vm->mem, eh.e_entry, 1))
		return log_error("kernel: ELF entry 0x%llx is not in guest RAM",
				 (unsigned long long)eh.e_entry),
		       -ENOEXEC;
	info->entry = eh.e_entry;
	info->kernel_end = end;
	/* No setup header in a vmlinux: fill in what startup_64 reads. */
	struct setup_header *h = &info->params.hdr;
	h->boot_flag = BOOT_FLAG;
	h->header = HDRS_MAGIC;
	h->version = 0x020f;
	h->kernel_alignment = KERNEL_ALIGN;
	h->cmdline_size = VMM_CMDLINE_MAX - 1;
	h->initrd_addr_max = 0x7fffffff;
	return 0;
}

static int load_bzimage(struct vmm_vm *vm, int fd, uint64_t fsize, struct vmm_boot_info *info)
{
	struct boot_params *bp = &info->params;
	if (fsize < 0x1000)
		return log_error("kernel: bzImage too small"), -ENOEXEC;
	uint8_t jump_len;
	int r = read_at(fd, 0x201, &jump_len, 1);
	/* The setup header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	size_t hdr_end = 0x202 + (size_t)jump_len;
	if (r == 0 && hdr_end > offsetof(struct boot_params, hdr) + sizeof(bp->hdr))
		hdr_end = offsetof(struct boot_params, hdr) + sizeof(bp->hdr);
	if (r == 0)
		r = read_at(fd, 0x1f1, (uint8_t *)bp + 0x1f1, hdr_end - 0x1f1);
	if (r < 0)
		return log_error("kernel: setup header: %s", strerror(-r)), r;
	struct setup_header *h = &bp->hdr;
	if (h->header != HDRS_MAGIC || h->boot_flag != BOOT_FLAG)
		return log_error("kernel: neither an ELF vmlinux nor a bzImage (no HdrS)"),
		       -ENOEXEC;
	if (h->version < 0x020a || !(h->loadflags & LOADED_HIGH))
		return log_error("kernel: bzImage boot protocol %u.%02u too old (need >= 2.10)",
				 h->version >> 8, h->version & 0xff),
		       -ENOEXEC;
	if (h->version >= 0x020c && !(h->xloadflags & XLF_KERNEL_64))
		return log_error("kernel: bzImage has no 64-bit entry point (XLF_KERNEL_64)"),
		       -ENOEXEC;
	uint64_t setup = (h->setup_sects ? h->setup_sects : 4) + 1ull;
	uint64_t off = setup * 512;
	if (off >= fsize)
		return log_error("kernel: bzImage setup_sects beyond the file"), -ENOEXEC;
	uint64_t len = fsize - off;
	uint8_t *dst = vmm_mem_ptr(&vm->mem, BZ_KERNEL_ADDR, len);
	if (!dst)
		return log_error("kernel: %llu MiB bzImage does not fit in guest RAM",
				 (unsigned long long)(len >> 20)),
		       -E2BIG;
	r = read_at(fd, off, dst, len);
	if (r < 0)
		return log_error("kernel: reading bzImage payload: %s", strerror(-r)), r;
	/* The decompressor needs init_size bytes from where the kernel will
	 * run: pref_address for a relocatable kernel loaded below it. */
	uint64_t run_at = h->pref_address > BZ_KERNEL_ADDR ? h->pref_address : BZ_KERNEL_ADDR;
	if (run_at + h->init_size > low_ram_end(vm))
		return log_error("kernel: needs %llu MiB of memory to decompress; give the VM more",
				 (unsigned long long)((run_at + h->init_size) >> 20) + 1),
		       -E2BIG;
	info->entry = BZ_KERNEL_ADDR + BZ_ENTRY_64;
	info->kernel_end = BZ_KERNEL_ADDR + len;
	return 0;
}

static int load_initrd(struct vmm_vm *vm, const char *path, struct vmm_boot_info *info)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error("initrd %s: %s", path, strerror(errno)), -errno;
	struct setup_header *h = &info->params.hdr;
	uint64_t size = (uint64_t)st.st_size;
	uint64_t top = low_ram_end(vm);
	if (h->initrd_addr_max && top > (uint64_t)h->initrd_addr_max + 1)
		top = (uint64_t)h->initrd_addr_max + 1;
	/* Highest page-aligned spot, clear of the kernel. */
	if (size == 0 || size > top)
		return log_error("initrd %s: %llu bytes do not fit in guest RAM", path,
				 (unsigned long long)size),
		       -E2BIG;
	uint64_t addr = (top - size) & ~0xfffull;
	if (addr < info->kernel_end)
		return log_error("initrd %s: does not fit in guest RAM next to the kernel; "
				 "give the VM more memory",
				 path),
		       -E2BIG;
	int r = read_at(fd, 0, vmm_mem_ptr(&vm->mem, addr, size), size);
	if (r < 0)
		return log_error("initrd %s: %s", path, strerror(-r)), r;
	h->ramdisk_image = (uint32_t)addr;
	h->ramdisk_size = (uint32_t)size;
	return 0;
}

static void add_e820(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0 || bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	bp->e820_table[bp->e820_entries++] =
	    (struct boot_e820_entry){.addr = addr, .size = size, .type = type};
}

static int write_zero_page(struct vmm_vm *vm, const char *cmdline, struct vmm_boot_info *info)
{
	struct boot_params *bp = &info->params;
	struct setup_header *h = &bp->hdr;
	size_t clen = strlen(cmdline);
	uint32_t max = h->cmdline_size ? h->cmdline_size : 255;
	if (clen >= VMM_CMDLINE_MAX || clen > max)
		return log_error("kernel command line is %zu bytes; the kernel takes at most %u",
				 clen, max < VMM_CMDLINE_MAX - 1 ? max : VMM_CMDLINE_MAX - 1),
		       -E2BIG;
	int r = vmm_mem_write(&vm->mem, VMM_CMDLINE_ADDR, cmdline, clen + 1);
	if (r < 0)
		return r;
	h->type_of_loader = LOADER_UNDEFINED;
	h->loadflags |= CAN_USE_HEAP;
	h->heap_end_ptr = 0xfe00;
	h->cmd_line_ptr = (uint32_t)VMM_CMDLINE_ADDR;
	h->ext_loader_ver = 0;
	bp->acpi_rsdp_addr = VMM_ACPI_ADDR;

	/* e820: low RAM up to the EBDA, the BIOS area (ACPI tables) reserved,
	 * RAM from 1 MiB, and above 4 GiB whatever did not fit below the hole. */
	add_e820(bp, 0, VMM_EBDA_START, E820_RAM);
	add_e820(bp, VMM_EBDA_START, VMM_HIMEM_START - VMM_EBDA_START, E820_RESERVED);
	for (unsigned i = 0; i < vm->mem.n_regions; i++) {
		const struct vmm_mem_region *reg = &vm->mem.regions[i];
		if (reg->gpa == 0)
			add_e820(bp, VMM_HIMEM_START, reg->size - VMM_HIMEM_START, E820_RAM);
		else
			add_e820(bp, reg->gpa, reg->size, E820_RAM);
	}
	return vmm_mem_write(&vm->mem, VMM_ZERO_PAGE_ADDR, bp, sizeof(*bp));
}

int vmm_boot_load(struct vmm_vm *vm, const struct vmm_boot_opts *o, struct vmm_boot_info *info)
{
	memset(info, 0, sizeof(*info));
	if (vm->mem.n_regions == 0 || vm->mem.regions[0].gpa != 0 ||
	    low_ram_end(vm) < VMM_HIMEM_START + (2u << 20))
		return log_error("guest memory too small to boot Linux"), -EINVAL;
	_cleanup_close_ int fd = open(o->kernel, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error("kernel %s: %s", o->kernel, strerror(errno)), -errno;
	uint8_t magic[4] = {0};
	int r = read_at(fd, 0, magic, sizeof(magic));
	if (r < 0)
		return log_error("kernel %s: %s", o->kernel, strerror(-r)), r;
	if (memcmp(magic, ELFMAG, SELFMAG) == 0)
		r = load_elf(vm, fd, (uint64_t)st.st_size, info);
	else
		r = load_bzimage(vm, fd, (uint64_t)st.st_size, info);
	if (r == 0 && o->initrd)
		r = load_initrd(vm, o->initrd, info);
	if (r == 0)
		r = write_zero_page(vm, o->cmdline ? o->cmdline : "", info);
	if (r == 0)
		r = vmm_boot_tables_write(vm);
	return r;
}
