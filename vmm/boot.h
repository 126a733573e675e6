/* SPDX-License-Identifier: Apache-2.0 */
/* Direct Linux boot: kernel (vmlinux or bzImage), initrd, cmdline, zero page. */
#ifndef HULL_VMM_BOOT_H
#define HULL_VMM_BOOT_H

#include <stdint.h>

#include <asm/bootparam.h>

#include "vm.h"

struct vmm_boot_opts {
	const char *kernel;  /* vmlinux (ELF64) or bzImage */
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* complete kernel command line */
};

struct vmm_boot_info {
	uint64_t entry;      /* 64-bit entry point (guest-physical) */
	uint64_t kernel_end; /* first byte after the loaded kernel */
	struct boot_params params;
};

/* Load everything into guest memory and write the boot page tables; returns 0
 * or -errno with the reason logged ("kernel X: ..."). Boot vCPU 0 at
 * info->entry with rsi = VMM_ZERO_PAGE_ADDR (vcpu_setup_linux). */
int vmm_boot_load(struct vmm_vm *vm, const struct vmm_boot_opts *o, struct vmm_boot_info *info);

/* ACPI tables (RSDP at VMM_ACPI_ADDR): FADT (hardware-reduced, sleep
 * registers), DSDT (\_S5, pvpanic), MADT (n_vcpus LAPICs, IOAPIC). */
int vmm_acpi_write(struct vmm_vm *vm);

#endif
