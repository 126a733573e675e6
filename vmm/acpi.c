// SPDX-License-Identifier: Apache-2.0
/*
 * Minimal ACPI tables (ACPI 6.4): RSDP -> XSDT -> {FADT -> DSDT, MADT}.
 *
 * Why ACPI at all: with an in-kernel LAPIC, a Linux guest without ACPI halts
 * on poweroff instead of exiting, and reboot and panic look alike (both end
 * in the i8042 reset). So we describe a small ACPI machine:
 *  - FADT with a PM1a event and control block in I/O space (legacy.c):
 *    Linux's poweroff writes SLP_TYP(5)|SLP_EN to PM1a_CNT -> exit 0. SMI_CMD
 *    is 0, so the machine is always in ACPI mode. RESET_REG is the i8042
 *    command port with 0xfe, so reboot=acpi works too.
 *    Not HW_REDUCED_ACPI (what cloud-hypervisor and QEMU microvm use): Linux
 *    then drops the legacy PIC and IRQs 0-15, so the UART and command-line
 *    virtio-mmio devices would need DSDT descriptions and PNP probing. The
 *    legacy fixed-hardware model keeps IRQs 0-15 identity-mapped.
 *  - DSDT AML: Name(_S5_, Package{5}) so Linux offers S5, and a pvpanic
 *    device (_HID "QEMU0001", one byte of MMIO) so a panic is reported
 *    before the reset -> non-zero exit.
 *  - MADT: one enabled LAPIC per vCPU and the IOAPIC, for SMP without an
 *    MP table, and the usual override of ISA IRQ 0 to GSI 2 (where KVM's
 *    default routing delivers the PIT on the IOAPIC).
 * Linux 6.1 loads the DSDT only with CONFIG_PCI=y (ACPICA installs a PCI
 * config space handler by default and fails without one); without it the
 * MADT still works, but poweroff halts and pvpanic is not found.
 * IAPC_BOOT_ARCH says: no VGA, no CMOS RTC, no 8042 (so Linux does not
 * probe them; reboot=k still resets through port 0x64).
 */
#include <errno.h>
#include <string.h>

#include "boot.h"

#define OEM_ID       "HULL  "
#define OEM_TABLE_ID "HULLVMM "

#define OFF_XSDT 0x40
#define OFF_FADT 0x100
#define OFF_MADT 0x300
#define OFF_DSDT 0x800

#define FADT_LEN             276
#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_NO_VGA     (1u << 2)
#define BOOT_ARCH_NO_CMOS    (1u << 5)
#define GAS_SYSTEM_IO        1
#define GAS_ACCESS_BYTE      1

struct table {
	uint8_t *p;
	size_t len;
};

static void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0 - sum);
}

/* The 36-byte common header; the checksum is fixed up by finish(). */
static void header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put32(p, 4, len);
	put8(p, 8, rev);
	memcpy(p + 10, OEM_ID, 6);
	memcpy(p + 16, OEM_TABLE_ID, 8);
	put32(p, 24, 1);
	memcpy(p + 28, "HULL", 4);
	put32(p, 32, 1);
}

static void finish(uint8_t *p, uint32_t len)
{
	p[9] = 0;
	p[9] = checksum(p, len);
}

/* Generic Address Structure for a register of `bits` at an I/O port. */
static void gas_io(uint8_t *p, size_t off, uint16_t port, uint8_t bits)
{
	put8(p, off, GAS_SYSTEM_IO);
	put8(p, off + 1, bits); /* bit width */
	put8(p, off + 2, 0);    /* bit offset */
	put8(p, off + 3, GAS_ACCESS_BYTE);
	put64(p, off + 4, port);
}

static void build_fadt(uint8_t *p)
{
	header(p, "FACP", FADT_LEN, 6);
	put32(p, 40, (uint32_t)(VMM_ACPI_ADDR + OFF_DSDT));
	put16(p, 46, VMM_IRQ_SCI); /* never raised: no events */
	put32(p, 56, VMM_PORT_PM1_EVT);
	put32(p, 64, VMM_PORT_PM1_CNT);
	put8(p, 88, 4); /* PM1_EVT_LEN: status + enable */
	put8(p, 89, 2); /* PM1_CNT_LEN */
	put16(p, 109, BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS);
	put32(p, 112, FADT_F_WBINVD | FADT_F_RESET_REG_SUP);
	gas_io(p, 116, VMM_PORT_I8042_CMD, 8);
	put8(p, 128, 0xfe);
	put8(p, 131, 4); /* FADT minor version: 6.4 */
	put64(p, 140, VMM_ACPI_ADDR + OFF_DSDT);
	gas_io(p, 148, VMM_PORT_PM1_EVT, 32);
	gas_io(p, 172, VMM_PORT_PM1_CNT, 16);
	memcpy(p + 268, "HULLVMM", 8); /* hypervisor vendor identity */
	finish(p, FADT_LEN);
}

static uint32_t build_madt(uint8_t *p, unsigned n_vcpus)
{
	size_t off = 44;
	put32(p, 36, (uint32_t)VMM_LAPIC_ADDR);
	put32(p, 40, 1); /* PCAT_COMPAT: there is a (KVM) 8259 pair */
	for (unsigned i = 0; i < n_vcpus; i++, off += 8) {
		put8(p, off, 0); /* Processor Local APIC */
		put8(p, off + 1, 8);
		put8(p, off + 2, (uint8_t)i); /* ACPI processor UID */
		put8(p, off + 3, (uint8_t)i); /* APIC id, as in CPUID leaf 1 */
		put32(p, off + 4, 1);         /* enabled */
	}
	put8(p, off, 1); /* I/O APIC */
	put8(p, off + 1, 12);
	put8(p, off + 2, (uint8_t)n_vcpus); /* IOAPIC id after the LAPICs */
	put32(p, off + 4, (uint32_t)VMM_IOAPIC_ADDR);
	put32(p, off + 8, 0); /* GSI base */
	off += 12;
	put8(p, off, 2); /* Interrupt Source Override: ISA IRQ 0 -> GSI 2 */
	put8(p, off + 1, 10);
	put8(p, off + 2, 0);  /* ISA bus */
	put8(p, off + 3, 0);  /* source IRQ */
	put32(p, off + 4, 2); /* GSI */
	put16(p, off + 8, 0); /* conforming polarity and trigger */
	off += 10;
	header(p, "APIC", (uint32_t)off, 4);
	finish(p, (uint32_t)off);
	return (uint32_t)off;
}

/* AML PkgLength (ACPI 20.2.4) for a body of n bytes; returns bytes written. */
static size_t pkglen(uint8_t *p, size_t n)
{
	if (n + 1 < 0x40) {
		p[0] = (uint8_t)(n + 1);
		return 1;
	}
	size_t total = n + 2; /* two-byte form: up to 4095 */
	p[0] = (uint8_t)(0x40 | (total & 0xf));
	p[1] = (uint8_t)(total >> 4);
	return 2;
}

/* op, PkgLength, body: for Scope/Device/Package/Buffer. */
static size_t aml_wrap(uint8_t *dst, const uint8_t *op, size_t op_len, const uint8_t *body,
		       size_t body_len)
{
	memcpy(dst, op, op_len);
	size_t n = op_len + pkglen(dst + op_len, body_len);
	memcpy(dst + n, body, body_len);
	return n + body_len;
}

static size_t build_pvpanic_device(uint8_t *out)
{
	uint8_t dev[64];
	size_t n = 0;
	memcpy(dev + n, "PEVT", 4);
	n += 4;
	/* Name(_HID, "QEMU0001") */
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E',
				      'M',  'U', '0', '0', '0', '1',  0x00};
	memcpy(dev + n, hid, sizeof(hid));
	n += sizeof(hid);
	/* Name(_CRS, ResourceTemplate { Memory32Fixed(ReadWrite, ADDR, 2) }) */
	uint8_t res[16] = {0x0a, 14,                /* BufferSize */
			   0x86, 0x09, 0x00, 0x01}; /* Memory32Fixed, RW */
	put32(res, 6, (uint32_t)VMM_PVPANIC_ADDR);
	put32(res, 10, 2);
	res[14] = 0x79; /* End tag, checksum 0 */
	res[15] = 0x00;
	static const uint8_t crs_name[] = {0x08, '_', 'C', 'R', 'S'};
	memcpy(dev + n, crs_name, sizeof(crs_name));
	n += sizeof(crs_name);
	static const uint8_t buffer_op[] = {0x11};
	n += aml_wrap(dev + n, buffer_op, 1, res, sizeof(res));
	static const uint8_t device_op[] = {0x5b, 0x82};
	return aml_wrap(out, device_op, 2, dev, n);
}

static uint32_t build_dsdt(uint8_t *p)
{
	size_t off = 36;
	/* Name(_S5_, Package(2) { 5, 5 }): SLP_TYPa, SLP_TYPb */
	static const uint8_t s5[] = {0x08, '_',  'S',  '5',  '_',  0x12,
				     0x06, 0x02, 0x0a, 0x05, 0x0a, 0x05};
	memcpy(p + off, s5, sizeof(s5));
	off += sizeof(s5);
	/* Scope(\_SB_) { Device(PEVT) {...} } */
	uint8_t scope[96];
	static const uint8_t sb[] = {'\\', '_', 'S', 'B', '_'};
	memcpy(scope, sb, sizeof(sb));
	size_t n = sizeof(sb) + build_pvpanic_device(scope + sizeof(sb));
	static const uint8_t scope_op[] = {0x10};
	off += aml_wrap(p + off, scope_op, 1, scope, n);
	header(p, "DSDT", (uint32_t)off, 2);
	finish(p, (uint32_t)off);
	return (uint32_t)off;
}

int vmm_acpi_write(struct vmm_vm *vm)
{
	uint8_t *base = vmm_mem_ptr(&vm->mem, VMM_ACPI_ADDR, VMM_ACPI_MAX);
	if (!base)
		return -EFAULT;
	memset(base, 0, VMM_ACPI_MAX);

	build_fadt(base + OFF_FADT);
	build_madt(base + OFF_MADT, vm->n_vcpus);
	build_dsdt(base + OFF_DSDT);

	uint8_t *x = base + OFF_XSDT;
	uint32_t xlen = 36 + 2 * 8;
	header(x, "XSDT", xlen, 1);
	put64(x, 36, VMM_ACPI_ADDR + OFF_FADT);
	put64(x, 44, VMM_ACPI_ADDR + OFF_MADT);
	finish(x, xlen);

	uint8_t *r = base; /* RSDP, ACPI 2.0+ form */
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	put8(r, 15, 2);
	put32(r, 20, 36);
	put64(r, 24, VMM_ACPI_ADDR + OFF_XSDT);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, 36);
	return 0;
}
