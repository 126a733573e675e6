#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-vmm's command line and config refusals, and kernel loading errors
# (no guest boots here; where /dev/kvm is missing those tests skip).

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT/${BUILD:-build}
	VMM=$B/bin/hull-vmm
	[ -x "$VMM" ] || skip "hull-vmm not built ($VMM)"
}

@test "vmm-cli: --help lists the flags and exits 0" {
	run "$VMM" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--kernel PATH"* ]]
	[[ "$output" == *"--disk PATH[,ro]"* ]]
}

@test "vmm-cli: --kernel is required" {
	run "$VMM" --mem 64
	[ "$status" -eq 1 ]
	[[ "$output" == *"--kernel is required"* ]]
}

@test "vmm-cli: bad values are refused naming the flag" {
	run "$VMM" --kernel /k --mem 8
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid value '8' for --mem"* ]]
	run "$VMM" --kernel /k --cpus 0
	[[ "$output" == *"invalid value '0' for --cpus"* ]]
	run "$VMM" --kernel /k --console tty
	[[ "$output" == *"invalid value 'tty' for --console"* ]]
	run "$VMM" --kernel /k --disk /d,rx
	[ "$status" -eq 1 ]
	[[ "$output" == *"--disk: unknown option 'rx'"* ]]
	run "$VMM" --kernel /k --vsock 2,/tmp/v
	[[ "$output" == *"--vsock: bad guest CID '2'"* ]]
	run "$VMM" --kernel /k --log-level loud
	[[ "$output" == *"invalid value 'loud' for --log-level"* ]]
	run "$VMM" --kernel /k extra
	[[ "$output" == *"unexpected argument 'extra'"* ]]
}

@test "vmm-cli: a bad config file is refused naming the key" {
	local cfg=$BATS_TEST_TMPDIR/c.json
	echo '{"kernel": "/k", "mem_mb": 64}' >"$cfg"
	run "$VMM" --config "$cfg"
	[ "$status" -eq 1 ]
	[[ "$output" == *'unknown key "mem_mb"'* ]]
	echo '{"kernel": "/k", "vcpus": 100}' >"$cfg"
	run "$VMM" --config "$cfg"
	[[ "$output" == *'"vcpus" must be an integer from 1 to 64'* ]]
	run "$VMM" --config "$BATS_TEST_TMPDIR/none.json"
	[[ "$output" == *"No such file"* ]]
}

@test "vmm-cli: config from a file, flags after it override it" {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	local cfg=$BATS_TEST_TMPDIR/c.json
	echo '{"kernel": "/nonexistent/a", "mem_mib": 64}' >"$cfg"
	run "$VMM" --config "$cfg" --kernel /nonexistent/b
	[ "$status" -eq 1 ]
	[[ "$output" == *"kernel /nonexistent/b: No such file or directory"* ]]
}

@test "vmm-cli: a file that is no kernel is refused" {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	local k=$BATS_TEST_TMPDIR/junk
	head -c 65536 /dev/zero >"$k"
	run "$VMM" --kernel "$k" --mem 64 --console off
	[ "$status" -eq 1 ]
	[[ "$output" == *"neither an ELF vmlinux nor a bzImage"* ]]
	printf '\177ELF\001' >"$k"
	head -c 100 /dev/zero >>"$k"
	run "$VMM" --kernel "$k" --mem 64 --console off
	[ "$status" -eq 1 ]
	[[ "$output" == *"not an x86-64 ELF64 vmlinux"* ]]
}

@test "vmm-cli: too little memory for the bzImage to decompress is refused" {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	[ -e "$B/kernel/bzImage" ] || skip "no kernel (make kernel)"
	run "$VMM" --kernel "$B/kernel/bzImage" --mem 16 --console off
	[ "$status" -eq 1 ]
	[[ "$output" == *"MiB of memory to decompress"* ]]
}

@test "vmm-cli: a missing disk is refused naming it" {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	[ -e "$B/kernel/bzImage" ] || skip "no kernel (make kernel)"
	run "$VMM" --kernel "$B/kernel/bzImage" --disk /nonexistent/disk.img --console off
	[ "$status" -eq 1 ]
	[[ "$output" == *"disk /nonexistent/disk.img: No such file or directory"* ]]
}
