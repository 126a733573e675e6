// SPDX-License-Identifier: Apache-2.0
/*
 * vCPU architectural state for a direct Linux boot: CPUID (what KVM supports,
 * plus our topology), the MSRs Linux expects firmware to have set, FPU, LAPIC
 * LINT pins, and the 64-bit long-mode entry state of the Linux x86 boot
 * protocol (Documentation/arch/x86/boot.rst, "64-bit boot protocol"): paging
 * on with an identity map, flat 64-bit CS, rsi = boot_params.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/cleanup.h"
#include "vm.h"

#define MSR_IA32_TSC          0x10
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

#define X86_CR0_PE  0x1ull
#define X86_CR0_ET  0x10ull
#define X86_CR0_PG  0x80000000ull
#define X86_CR4_PAE 0x20ull
#define EFER_LME    0x100ull
#define EFER_LMA    0x400ull

#define APIC_LVT0        0x350
#define APIC_LVT1        0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

/* Bits needed to number n things (x2APIC topology shift). */
static uint32_t order_bits(unsigned n)
{
	uint32_t b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

static void adjust_cpuid_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n)
{
	switch (e->function) {
	case 1:
		/* APIC id, logical processor count, CLFLUSH line size 8*8. */
		e->ebx = (id << 24) | ((n & 0xff) << 16) | (8 << 8);
		e->ecx |= 1u << 31; /* hypervisor present */
		if (n > 1)
			e->edx |= 1u << 28; /* HTT: the count above is valid */
		break;
	case 0xb:
		/* x2APIC topology: one thread per core, n cores per package. */
		e->edx = id;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | 0;
		} else if (e->index == 1) {
			e->eax = order_bits(n);
			e->ebx = n;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 7:
		/* No protection keys: PKRU's XSAVE layout comes out inconsistent
		 * under nested virtualization, and containers do not need it. */
		if (e->index == 0)
			e->ecx &= ~((1u << 3) | (1u << 4)); /* PKU, OSPKE */
		break;
	case 0xd:
		if (e->index == 0)
			e->eax &= ~(1u << 9); /* XCR0.PKRU */
		else if (e->index == 9)
			e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xa:
		/* No guest PMU: saves the PMU MSR dance at boot. */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x80000008:
		/* AMD: number of cores - 1. */
		e->ecx = (e->ecx & ~0xffu) | ((n - 1) & 0xff);
		break;
	}
	if (e->function == 4) {
		/* Intel: cores per package - 1 in eax[31:26]; 1 thread per cache. */
		e->eax = (e->eax & 0x3ff) | ((n - 1) << 26);
	}
}

/* The user state components the guest's CPUID offers (leaf 0xD.0 EDX:EAX),
 * or 0 without XSAVE (leaf 1 ECX bit 26). */
static uint64_t offered_xcr0(const struct kvm_cpuid2 *c)
{
	bool xsave = false;
	uint64_t mask = 0;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			xsave = e->ecx & (1u << 26);
		else if (e->function == 0xd && e->index == 0)
			mask = ((uint64_t)e->edx << 32) | e->eax;
	}
	return xsave ? mask : 0;
}

/*
 * Start the vCPU with XCR0 = every user state component its CPUID offers,
 * which is what Linux enables. KVM derives CPUID.0xD.0:EBX (the XSAVE area
 * size for the components enabled in XCR0) from the XCR0 it knows; the
 * guest's own XSETBV normally updates both, but a nested hypervisor that
 * does not intercept XSETBV (QEMU TCG's SVM) leaves KVM at the reset value
 * (x87 only, 576 bytes), and Linux then warns "XSAVE consistency problem"
 * at every boot. Starting from the final value makes them agree anywhere.
 */
static int set_xcr0(struct vmm_vcpu *vcpu, const struct kvm_cpuid2 *c)
{
	uint64_t xcr0 = offered_xcr0(c);
	if (!xcr0)
		return 0;
	struct kvm_xcrs x;
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0; /* XCR0 */
	x.xcrs[0].value = xcr0;
	return ioctl(vcpu->fd, KVM_SET_XCRS, &x) < 0 ? -errno : 0;
}

int vcpu_init_cpuid(struct vmm_vcpu *vcpu)
{
	const struct kvm_cpuid2 *src = vcpu->vm->cpuid;
	size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, src, sz);
	for (uint32_t i = 0; i < c->nent; i++)
		adjust_cpuid_entry(&c->entries[i], vcpu->id, vcpu->vm->n_vcpus);
	int r = ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	/* After KVM_SET_CPUID2: KVM checks XCR0 against the guest's CPUID. */
	if (r == 0)
		r = set_xcr0(vcpu, c);
	free(c);
	return r;
}

static int set_msrs(struct vmm_vcpu *vcpu)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} init[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_LSTAR, 0},
	    {MSR_IA32_TSC, 0},
	    {MSR_IA32_MISC_ENABLE, 1}, /* fast strings */
	    /* MTRRs enabled, default write-back: without it Linux maps all
	     * RAM uncached and boots many times slower. */
	    {MSR_MTRR_DEF_TYPE, (1u << 11) | 6},
	};
	struct kvm_msrs *m = calloc(1, sizeof(*m) + ARRAY_SIZE(init) * sizeof(m->entries[0]));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		m->entries[i].index = init[i].index;
		m->entries[i].data = init[i].data;
	}
	m->nmsrs = ARRAY_SIZE(init);
	int r = ioctl(vcpu->fd, KVM_SET_MSRS, m);
	free(m);
	if (r < 0)
		return -errno;
	return r == (int)ARRAY_SIZE(init) ? 0 : -EINVAL;
}

static int set_fpu(struct vmm_vcpu *vcpu)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* FNINIT state */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
	return ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static void lvt_set_mode(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

static int set_lapic(struct vmm_vcpu *vcpu)
{
	/* LINT0 = ExtINT (the PIC), LINT1 = NMI, as a BIOS would leave them. */
	struct kvm_lapic_state l;
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	lvt_set_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lvt_set_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static struct kvm_segment gdt_segment(uint64_t desc, uint16_t sel)
{
	/* Unpack a GDT descriptor into KVM's segment form. */
	return (struct kvm_segment){
	    .base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24),
	    .limit = (uint32_t)((desc & 0xffff) | (((desc >> 48) & 0xf) << 16)),
	    .selector = sel,
	    .type = (desc >> 40) & 0xf,
	    .present = (desc >> 47) & 1,
	    .dpl = (desc >> 45) & 3,
	    .db = (desc >> 54) & 1,
	    .s = (desc >> 44) & 1,
	    .l = (desc >> 53) & 1,
	    .g = (desc >> 55) & 1,
	    .avl = (desc >> 52) & 1,
	};
}

/* null, code64, data, tss: the GDT Linux's startup_64 expects to find. */
static const uint64_t boot_gdt[] = {
    0x0000000000000000ull, 0x00af9b000000ffffull, /* 0x08: code, 64-bit, present, exec/read */
    0x00cf93000000ffffull,                        /* 0x10: data, 4 GiB, read/write */
    0x008f8b000000ffffull,                        /* 0x18: 32-bit busy TSS */
};

int vmm_boot_tables_write(struct vmm_vm *vm)
{
	int r = vmm_mem_write(&vm->mem, VMM_GDT_ADDR, boot_gdt, sizeof(boot_gdt));
	uint64_t zero = 0;
	if (r == 0)
		r = vmm_mem_write(&vm->mem, VMM_IDT_ADDR, &zero, sizeof(zero));
	/* Identity map of the first 1 GiB with 2 MiB pages: enough for the
	 * kernel, boot_params and cmdline until Linux builds its own tables. */
	uint64_t pml4 = VMM_PDPTE_ADDR | 0x3, pdpte = VMM_PDE_ADDR | 0x3;
	if (r == 0)
		r = vmm_mem_write(&vm->mem, VMM_PML4_ADDR, &pml4, 8);
	if (r == 0)
		r = vmm_mem_write(&vm->mem, VMM_PDPTE_ADDR, &pdpte, 8);
	for (uint64_t i = 0; r == 0 && i < 512; i++) {
		uint64_t pde = (i << 21) | 0x83; /* present, writable, 2 MiB page */
		r = vmm_mem_write(&vm->mem, VMM_PDE_ADDR + i * 8, &pde, 8);
	}
	return r;
}

static int set_long_mode(struct vmm_vcpu *vcpu)
{
	struct kvm_sregs s;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.gdt.base = VMM_GDT_ADDR;
	s.gdt.limit = sizeof(boot_gdt) - 1;
	s.idt.base = VMM_IDT_ADDR;
	s.idt.limit = 7;
	s.cs = gdt_segment(boot_gdt[1], 0x08);
	s.ds = s.es = s.fs = s.gs = s.ss = gdt_segment(boot_gdt[2], 0x10);
	s.tr = gdt_segment(boot_gdt[3], 0x18);
	s.cr3 = VMM_PML4_ADDR;
	s.cr4 |= X86_CR4_PAE;
	s.cr0 |= X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
	s.efer |= EFER_LME | EFER_LMA;
	return ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

static int set_common(struct vmm_vcpu *vcpu)
{
	int r = vcpu_init_cpuid(vcpu);
	if (r == 0)
		r = set_msrs(vcpu);
	if (r == 0)
		r = set_fpu(vcpu);
	if (r == 0)
		r = set_lapic(vcpu);
	return r;
}

int vcpu_setup_linux(struct vmm_vcpu *vcpu, uint64_t entry, uint64_t boot_params)
{
	int r = set_common(vcpu);
	if (r < 0)
		return r;
	/* Application processors wait for INIT/SIPI from the BSP in the
	 * in-kernel LAPIC; only the boot processor gets the entry state. */
	if (vcpu->id != 0)
		return 0;
	r = set_long_mode(vcpu);
	if (r < 0)
		return r;
	struct kvm_regs regs = {
	    .rflags = 0x2, /* bit 1 is reserved and always set */
	    .rip = entry,
	    .rsp = VMM_BOOT_STACK,
	    .rbp = VMM_BOOT_STACK,
	    .rsi = boot_params,
	};
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

int vcpu_setup_real(struct vmm_vcpu *vcpu, uint16_t entry)
{
	/* 16-bit real mode at 0:entry. Test guests use it rather than flat
	 * protected mode because PVM (this project's development KVM) cannot
	 * emulate MMIO in protected mode without paging; in real mode it can. */
	int r = set_common(vcpu);
	if (r < 0)
		return r;
	struct kvm_sregs s;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	struct kvm_regs regs = {.rflags = 0x2, .rip = entry, .rsp = 0x7000};
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}
