#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The guest kernel boots under QEMU's microvm machine with real KVM (runs
# where /dev/kvm can boot Linux: natively or inside hack/nested-kvm).

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT/${BUILD:-build}
	[ -c /dev/kvm ] || { echo "no /dev/kvm here" >&2; return 1; }
}

# QEMU's microvm machine without ACPI (MP table, legacy devices), quiet
# console: every console byte is a port-I/O exit, slow under nesting.
# -no-reboot turns the guest's reboot (reboot=t: triple fault) into QEMU's exit.
boot_qemu() { # $1: extra -append text, rest: extra qemu args
	local append=$1
	shift
	timeout 120 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off \
		-accel kvm -cpu host -m 256 -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -kernel "$B/kernel/bzImage" -initrd "$B/tests/guest/marker.cpio.gz" \
		-append "console=ttyS0 quiet reboot=t panic=-1 $append" "$@" </dev/null
}

@test "kernel: bzImage boots under QEMU microvm (KVM) to the marker init and powers off" {
	run boot_qemu "" -smp 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULL-MARKER init reached"*", 1 CPUs online"* ]]
}

@test "kernel: boots with 2 vCPUs and brings both online" {
	run boot_qemu "" -smp 2
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULL-MARKER init reached"*", 2 CPUs online"* ]]
}

@test "kernel: a missing init panics and the VM stops instead of hanging" {
	run timeout 120 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off \
		-accel kvm -cpu host -m 256 -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -kernel "$B/kernel/bzImage" \
		-append "console=ttyS0 quiet reboot=t panic=-1 rdinit=/nonexistent root=/dev/none" </dev/null
	[ "$status" -ne 124 ]
	[[ "$output" == *"Kernel panic"* ]]
	[[ "$output" != *"HULL-MARKER"* ]]
}
