// SPDX-License-Identifier: Apache-2.0
/*
 * Native KVM test with a hand-assembled guest (works on PVM too, which runs
 * protected-mode code but not Linux): the VM, vCPU thread, port I/O and MMIO
 * exits, and ending the VM from a device. Skipped without /dev/kvm.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../vmm/devices.h"
#include "../../../vmm/mmio.h"
#include "../../../vmm/vm.h"

#define TEST_PORT 0x500
#define RNG_BASE  0x90000u /* reachable from real mode, above the 512 KiB of RAM */

struct seen {
	struct vmm_vm *vm;
	uint32_t vals[8];
	unsigned n;
};

static void on_port(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct seen *s = ctx;
	if (off == 1 && write) {
		vmm_vm_exit(s->vm, VMM_EXIT_POWEROFF, "test guest done");
		return;
	}
	if (write && s->n < 8) {
		uint32_t v = 0;
		memcpy(&v, data, len > 4 ? 4 : len);
		s->vals[s->n++] = v;
	}
}

/* 16-bit real-mode code: read virtio-mmio registers of a real virtio-rng
 * device, set a status bit, print on the 8250, finish. */
static const uint8_t guest_code[] = {
    0xb8, 0x00, 0x90,                                     /* mov ax, 0x9000 */
    0x8e, 0xd8,                                           /* mov ds, ax */
    0xba, 0x00, 0x05,                                     /* mov dx, 0x500 */
    0x66, 0xa1, 0x00, 0x00,                               /* mov eax, [0x000] MagicValue */
    0x66, 0xef,                                           /* out dx, eax */
    0x66, 0xa1, 0x04, 0x00,                               /* mov eax, [0x004] Version */
    0x66, 0xef,                                           /* out dx, eax */
    0x66, 0xa1, 0x08, 0x00,                               /* mov eax, [0x008] DeviceID */
    0x66, 0xef,                                           /* out dx, eax */
    0x66, 0xc7, 0x06, 0x70, 0x00, 0x03, 0x00, 0x00, 0x00, /* mov dword [0x070], 3 */
    0x66, 0xa1, 0x70, 0x00,                               /* mov eax, [0x070] Status */
    0x66, 0xef,                                           /* out dx, eax */
    0xba, 0xf8, 0x03,                                     /* mov dx, 0x3f8 */
    0xb0, 'h',  0xee,                                     /* out 'h' */
    0xb0, 'i',  0xee,                                     /* out 'i' */
    0xb0, '\n', 0xee,                                     /* out '\n' */
    0xba, 0x01, 0x05,                                     /* mov dx, 0x501 */
    0xee,                                                 /* out dx, al: done */
    0xeb, 0xfe,                                           /* jmp $ */
};

static void test_tiny_guest(void **state)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		skip();
	struct vmm_vm *vm;
	struct vmm_vm_opts o = {.mem_size = 512u << 10, .n_vcpus = 1};
	assert_int_equal(vmm_vm_create(&o, &vm), 0);
	struct seen s = {.vm = vm};
	assert_int_equal(vmm_bus_add(&vm->pio, TEST_PORT, 2, on_port, &s), 0);
	assert_int_equal(legacy_devices_add(vm), 0);

	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	struct serial *ser;
	assert_int_equal(serial_create(vm, pipefd[1], -1, &ser), 0);
	struct virtio_dev *rng;
	struct mmio_dev *m;
	assert_int_equal(virtio_rng_create(&vm->mem, vm->loop, &rng), 0);
	assert_int_equal(mmio_dev_add(vm, rng, RNG_BASE, 5, &m), 0);

	assert_int_equal(vmm_mem_write(&vm->mem, 0x1000, guest_code, sizeof(guest_code)), 0);
	assert_int_equal(vcpu_setup_real(&vm->vcpus[0], 0x1000), 0);
	assert_int_equal(vmm_vm_start(vm), 0);
	enum vmm_exit why = vmm_vm_run(vm);
	if (why != VMM_EXIT_POWEROFF)
		print_error("exit %d: %s\n", why, vm->exit_msg);
	assert_int_equal(why, VMM_EXIT_POWEROFF);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.vals[0], 0x74726976); /* "virt" */
	assert_int_equal(s.vals[1], 2);          /* modern virtio-mmio */
	assert_int_equal(s.vals[2], 4);          /* VIRTIO_ID_RNG */
	assert_int_equal(s.vals[3], 3);          /* ACKNOWLEDGE | DRIVER */

	serial_free(ser);
	char out[16] = {0};
	assert_int_equal(read(pipefd[0], out, sizeof(out)), 3);
	assert_string_equal(out, "hi\n");
	close(pipefd[0]);
	close(pipefd[1]);
	mmio_dev_free(m);
	vmm_vm_destroy(vm);
}

static void test_triple_fault(void **state)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		skip();
	struct vmm_vm *vm;
	struct vmm_vm_opts o = {.mem_size = 512u << 10, .n_vcpus = 1};
	assert_int_equal(vmm_vm_create(&o, &vm), 0);
	/* 32-bit protected mode with an empty IDT, then ud2: #UD has no
	 * handler -> #DF -> triple fault. (In real mode PVM ignores the IDT
	 * limit, so protected mode it is.) */
	static const uint8_t code[] = {0x0f, 0x0b, 0xeb, 0xfe}; /* ud2; jmp $ */
	assert_int_equal(vmm_mem_write(&vm->mem, 0x1000, code, sizeof(code)), 0);
	assert_int_equal(vcpu_setup_real(&vm->vcpus[0], 0x1000), 0);
	struct kvm_sregs sr;
	assert_int_equal(ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &sr), 0);
	struct kvm_segment flat = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = 0x10,
				   .type = 3,
				   .present = 1,
				   .db = 1,
				   .s = 1,
				   .g = 1};
	sr.ds = sr.es = sr.ss = sr.fs = sr.gs = flat;
	flat.selector = 0x08;
	flat.type = 0xb;
	sr.cs = flat;
	sr.cr0 |= 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	assert_int_equal(ioctl(vm->vcpus[0].fd, KVM_SET_SREGS, &sr), 0);
	assert_int_equal(vmm_vm_start(vm), 0);
	assert_int_equal(vmm_vm_run(vm), VMM_EXIT_CRASH);
	assert_non_null(strstr(vm->exit_msg, "triple fault"));
	vmm_vm_destroy(vm);
}

/* Print msg on the UART, then reset through the i8042 (what Linux does with
 * reboot=k, and after a panic with panic=-1). */
static enum vmm_exit run_reset_guest(const char *msg)
{
	struct vmm_vm *vm;
	struct vmm_vm_opts o = {.mem_size = 512u << 10, .n_vcpus = 1};
	assert_int_equal(vmm_vm_create(&o, &vm), 0);
	assert_int_equal(legacy_devices_add(vm), 0);
	struct serial *ser;
	assert_int_equal(serial_create(vm, -1, -1, &ser), 0);
	uint8_t code[128] = {
	    0xbe, 0x14, 0x10, /* mov si, 0x1014 (msg) */
	    0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
	    0xac,             /* lodsb */
	    0x84, 0xc0,       /* test al, al */
	    0x74, 0x03,       /* jz +3 */
	    0xee,             /* out dx, al */
	    0xeb, 0xf8,       /* jmp lodsb */
	    0xb0, 0xfe,       /* mov al, 0xfe */
	    0xe6, 0x64,       /* out 0x64, al: reset */
	    0xeb, 0xfe,       /* jmp $ */
	};
	assert_true(strlen(msg) < sizeof(code) - 21);
	memcpy(code + 20, msg, strlen(msg) + 1);
	assert_int_equal(vmm_mem_write(&vm->mem, 0x1000, code, sizeof(code)), 0);
	assert_int_equal(vcpu_setup_real(&vm->vcpus[0], 0x1000), 0);
	assert_int_equal(vmm_vm_start(vm), 0);
	enum vmm_exit why = vmm_vm_run(vm);
	serial_free(ser);
	vmm_vm_destroy(vm);
	return why;
}

static void test_reset_and_panic(void **state)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		skip();
	assert_int_equal(run_reset_guest("reboot: Restarting system\n"), VMM_EXIT_REBOOT);
	assert_int_equal(run_reset_guest("Kernel panic - not syncing: Attempted to kill init!\n"),
			 VMM_EXIT_PANIC);
	/* a near miss is not a panic */
	assert_int_equal(run_reset_guest("Kernel panic - not syncinG\n"), VMM_EXIT_REBOOT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tiny_guest),
	    cmocka_unit_test(test_triple_fault),
	    cmocka_unit_test(test_reset_and_panic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
