// SPDX-License-Identifier: Apache-2.0
/*
 * The few legacy devices that end a VM:
 *  - i8042 keyboard controller, only what Linux's reboot=k path and probe
 *    need: status reads "nothing pending", command 0xfe pulses CPU reset.
 *  - ACPI PM1a event and control blocks (ACPI 6.4 section 4.8.3): writing
 *    SLP_EN with SLP_TYP 5 (our \_S5) to PM1a_CNT is poweroff; SCI_EN
 *    reads as set (always in ACPI mode); no events are ever raised.
 *  - pvpanic-mmio (QEMU's pvpanic spec, ACPI _HID QEMU0001 in our DSDT): the
 *    guest kernel writes PVPANIC_PANICKED when it panics.
 *  - port 0x80 (POST codes, used by Linux for I/O delays): ignored.
 */
#include <stdio.h>
#include <string.h>

#include "devices.h"

#define I8042_CMD_RESET      0xfe
#define PM1_SCI_EN           (1u << 0)
#define PM1_SLP_EN           (1u << 13)
#define PM1_SLP_TYP(v)       (((v) >> 10) & 7)
#define S5_TYPE              5 /* matches Name(_S5_, Package{5, 5}) in acpi.c */
#define PVPANIC_PANICKED     1
#define PVPANIC_CRASH_LOADED 2

static void i8042_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct vmm_vm *vm = ctx;
	uint64_t port = VMM_PORT_I8042_DATA + off;
	if (!write) {
		data[0] = 0; /* no data, input buffer empty: the guest never waits */
		return;
	}
	if (port != VMM_PORT_I8042_CMD || data[0] != I8042_CMD_RESET)
		return;
	if (__atomic_load_n(&vm->panic_seen, __ATOMIC_SEQ_CST))
		vmm_vm_exit(vm, VMM_EXIT_PANIC, "guest kernel panicked (console), then reset");
	else
		vmm_vm_exit(vm, VMM_EXIT_REBOOT, "guest reset the machine (i8042)");
}

struct pm1 {
	struct vmm_vm *vm;
	uint16_t enable; /* PM1 enable: stored, nothing to enable */
};

/* One VM per hull-vmm process, so one PM1 block; reset by legacy_devices_add(). */
static struct pm1 pm1_state;

/* [0,2) status, [2,4) enable, [4,6) control; the driver may use any width. */
static void pm1_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct pm1 *pm = ctx;
	uint8_t regs[6] = {0};
	memcpy(&regs[2], &pm->enable, 2);
	regs[4] = PM1_SCI_EN;
	if (off >= sizeof(regs) || len > sizeof(regs) - off) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	if (!write) {
		memcpy(data, regs + off, len);
		return;
	}
	memcpy(regs + off, data, len);
	memcpy(&pm->enable, &regs[2], 2);
	uint16_t cnt;
	memcpy(&cnt, &regs[4], 2);
	if (off + len > 4 && (cnt & PM1_SLP_EN) && PM1_SLP_TYP(cnt) == S5_TYPE)
		vmm_vm_exit(pm->vm, VMM_EXIT_POWEROFF, "guest powered off (ACPI S5)");
}

static void pvpanic_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct vmm_vm *vm = ctx;
	if (!write) {
		/* Capabilities: the events we understand. */
		data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return;
	}
	if (data[0] & PVPANIC_PANICKED)
		vmm_vm_exit(vm, VMM_EXIT_PANIC, "guest kernel panicked (pvpanic)");
}

static void sink_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	if (!write)
		data[0] = 0;
}

int legacy_devices_add(struct vmm_vm *vm)
{
	pm1_state = (struct pm1){.vm = vm};
	int r = vmm_bus_add(&vm->pio, VMM_PORT_I8042_DATA, 5, i8042_access, vm);
	if (r == 0)
		r = vmm_bus_add(&vm->pio, VMM_PORT_PM1_EVT, 6, pm1_access, &pm1_state);
	if (r == 0)
		r = vmm_bus_add(&vm->pio, 0x80, 1, sink_access, vm);
	if (r == 0)
		r = vmm_bus_add(&vm->mmio, VMM_PVPANIC_ADDR, 2, pvpanic_access, vm);
	return r;
}
