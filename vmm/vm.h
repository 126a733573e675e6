/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM object of hull-vmm (private to vmm/): the KVM VM, guest memory,
 * vCPU threads, the port-I/O and MMIO buses that route exits to emulated
 * devices, and how the VM ends.
 *
 * Threads: the main thread builds the VM, starts one thread per vCPU with
 * vmm_vm_start(), then runs the event loop (vmm_vm_run()) until something ends
 * the VM: a vCPU (poweroff, reset, panic, crash) or a signal/control command
 * calls vmm_vm_exit(), which stops the loop and kicks every vCPU out of
 * KVM_RUN. The buses are filled before vmm_vm_start() and read-only after.
 */
#ifndef HULL_VMM_VM_H
#define HULL_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "virtio.h"

/*
 * Guest-physical layout (x86). Low memory below 1 MiB holds the boot data
 * the VMM writes; the kernel goes at 1 MiB; [VMM_MMIO_START, 4 GiB) is never
 * RAM: virtio-mmio windows, pvpanic, IOAPIC, LAPIC.
 */
#define VMM_GDT_ADDR         0x500ull
#define VMM_IDT_ADDR         0x520ull
#define VMM_ZERO_PAGE_ADDR   0x7000ull
#define VMM_BOOT_STACK       0x8ff0ull
#define VMM_PML4_ADDR        0x9000ull
#define VMM_PDPTE_ADDR       0xa000ull
#define VMM_PDE_ADDR         0xb000ull
#define VMM_CMDLINE_ADDR     0x20000ull
#define VMM_CMDLINE_MAX      4096u
#define VMM_EBDA_START       0x9fc00ull
#define VMM_ACPI_ADDR        0xe0000ull /* RSDP + tables, in the BIOS area */
#define VMM_ACPI_MAX         0x10000ull
#define VMM_HIMEM_START      0x100000ull
#define VMM_MMIO_START       0xc0000000ull /* RAM above this moves to 4 GiB */
#define VMM_VIRTIO_MMIO_BASE 0xd0000000ull /* 4 KiB per device */
#define VMM_PVPANIC_ADDR     0xd1000000ull
#define VMM_IOAPIC_ADDR      0xfec00000ull
#define VMM_LAPIC_ADDR       0xfee00000ull
#define VMM_TSS_ADDR         0xfffbd000ull /* KVM_SET_TSS_ADDR: 3 pages below 4 GiB */
#define VMM_IDMAP_ADDR       0xfffbc000ull

/* Ports of the emulated legacy devices and the ACPI sleep registers. */
#define VMM_PORT_COM1       0x3f8
#define VMM_IRQ_COM1        4
#define VMM_PORT_I8042_DATA 0x60
#define VMM_PORT_I8042_CMD  0x64
#define VMM_PORT_PM1_EVT    0x600 /* ACPI PM1a status (2) + enable (2) */
#define VMM_PORT_PM1_CNT    0x604 /* ACPI PM1a control (2) */
#define VMM_IRQ_SCI         9

#define VMM_MAX_VCPUS 64

/* How the VM ended, in order of precedence (the first non-NONE wins). */
enum vmm_exit {
	VMM_EXIT_NONE = 0,
	VMM_EXIT_POWEROFF, /* ACPI S5: exit 0 */
	VMM_EXIT_REBOOT,   /* i8042 reset / ACPI reset register */
	VMM_EXIT_PANIC,    /* pvpanic: the guest kernel panicked */
	VMM_EXIT_CRASH,    /* triple fault, KVM internal error, failed entry */
	VMM_EXIT_STOP,     /* SIGTERM/SIGINT or the control socket: orderly stop */
	VMM_EXIT_ERROR,    /* the VMM itself failed */
};

/* A device access: offset is relative to the handler's base. data holds len
 * (1, 2, 4 or 8) little-endian bytes; for a read the handler fills it. */
typedef void (*vmm_io_fn)(void *ctx, uint64_t offset, uint8_t *data, uint32_t len, bool write);

struct vmm_io_range {
	uint64_t base, len;
	vmm_io_fn fn;
	void *ctx;
};

#define VMM_BUS_MAX 32

struct vmm_bus {
	struct vmm_io_range ranges[VMM_BUS_MAX];
	unsigned n;
};

struct vmm_vm;

struct vmm_vcpu {
	struct vmm_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool probe; /* atomic: halt probe requested (see vm.c) */
	bool dead;  /* atomic: at the last probe, halted with interrupts off */
};

struct vmm_vm {
	int kvm_fd, vm_fd;
	struct vmm_mem mem;
	unsigned n_vcpus;
	struct vmm_vcpu vcpus[VMM_MAX_VCPUS];
	size_t run_size;
	struct vmm_loop *loop;
	struct vmm_bus pio, mmio;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, adjusted per vCPU */
	/* The end: set once by vmm_vm_exit(). */
	pthread_mutex_t exit_lock;
	enum vmm_exit exit_reason;
	char exit_msg[256];
	bool paused;
	/* The console showed Linux's panic banner (serial.c): a reset that
	 * follows is the panic=-1 reboot, reported as a panic. A fallback for
	 * guests without pvpanic; the guest can only misreport its own end. */
	bool panic_seen; /* atomic */
	int probe_timerfd; /* periodic check for a guest that halted for good */
	bool probe_seen_dead;
};

/* CLOCK_MONOTONIC ns when hull-vmm started (set by main); 0 if unknown. */
extern uint64_t vmm_start_ns;

struct vmm_vm_opts {
	uint64_t mem_size; /* bytes, >= 1 MiB */
	unsigned n_vcpus;  /* 1..VMM_MAX_VCPUS */
};

/* Open /dev/kvm, create the VM with in-kernel irqchip and PIT, guest memory,
 * the vCPU fds and the event loop. Returns 0 or -errno (logged). */
int vmm_vm_create(const struct vmm_vm_opts *opts, struct vmm_vm **out);
void vmm_vm_destroy(struct vmm_vm *vm);

/* Register [base, base+len) on a bus; -ENOSPC, -EEXIST on overlap. */
int vmm_bus_add(struct vmm_bus *bus, uint64_t base, uint64_t len, vmm_io_fn fn, void *ctx);
/* Dispatch one access; unknown addresses read as zero and ignore writes.
 * Returns true when a handler took it. */
bool vmm_bus_access(struct vmm_bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool write);

/* Set an IRQ line (in-kernel IOAPIC/PIC). level 1 = asserted. */
int vmm_vm_irq_line(struct vmm_vm *vm, unsigned irq, int level);
/* An edge: assert then deassert. */
int vmm_vm_irq_pulse(struct vmm_vm *vm, unsigned irq);

/* Start one thread per vCPU (state must be set: cpu.c). */
int vmm_vm_start(struct vmm_vm *vm);
/* Run the event loop until the VM ends, stop and join the vCPUs; returns the
 * exit reason. */
enum vmm_exit vmm_vm_run(struct vmm_vm *vm);
/* End the VM (any thread; the first reason wins). printf-style message. */
void vmm_vm_exit(struct vmm_vm *vm, enum vmm_exit reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Pause/resume all vCPUs (they leave KVM_RUN and wait). */
void vmm_vm_pause(struct vmm_vm *vm, bool pause);

/* cpu.c: per-vCPU architectural state. */
int vcpu_init_cpuid(struct vmm_vcpu *vcpu);
/* 64-bit long mode at entry, rsi = boot_params (Linux 64-bit boot protocol). */
int vcpu_setup_linux(struct vmm_vcpu *vcpu, uint64_t entry, uint64_t boot_params);
/* 16-bit real mode at 0:entry, for hand-written test guests (which reach
 * ports and MMIO below 1 MiB + 64 KiB). */
int vcpu_setup_real(struct vmm_vcpu *vcpu, uint16_t entry);
/* Identity page tables and GDT in guest memory for vcpu_setup_linux. */
int vmm_boot_tables_write(struct vmm_vm *vm);

#endif
