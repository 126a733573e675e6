# SPDX-License-Identifier: Apache-2.0
# Shared setup of the bats files that drive the hull CLI on real microVMs
# (tests/e2e/kvm/cli*.bats, net.bats):
#
#   setup_file() { kvm_cli_setup_file; }
#   setup()      { kvm_cli_setup NAME MEM_MIB [ROOTFS]; ... }
#
# kvm_cli_setup_file checks that the build has the CLI, the VMM, the kernel
# and the initramfs, and points the busybox rootfs cache at the file's tmp.
# kvm_cli_setup skips (saying why) where no guest can boot, then sets HULL,
# R (a fresh state root on tmpfs: the nested VM's shared tree cannot hold
# sockets) and HULL_CONFIG (the VMs get MEM_MIB and the ROOTFS mode, the
# runtime's default when not given). no_sandbox_left checks that nothing of
# the test's sandboxes remains.

VIRTIOFSD=/usr/lib/qemu/virtiofsd

kvm_cli_setup_file() {
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT_DIR/${BUILD:-build}
	export ROOT_DIR B
	local f
	for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel initramfs)" >&2; return 1; }
	done
	export BUSYBOX_ROOTFS_CACHE=$BATS_FILE_TMPDIR/busybox-rootfs
}

kvm_cli_setup() { # NAME MEM_MIB [ROOTFS]
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT_DIR/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
	[ -x "$VIRTIOFSD" ] || skip "no $VIRTIOFSD"
	# shellcheck disable=SC2034 # used by the bats files
	HULL=$B/bin/hull
	R=$(mktemp -d "/run/hull-$1-test.XXXXXX")
	export HULL_CONFIG=$R.config.json
	local rootfs=""
	[ -z "${3:-}" ] || rootfs=", \"rootfs\": \"$3\""
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": $2$rootfs}
JSON
}

# No process of this test's root and no hull-vmm at all may remain (the
# nested VM runs one file at a time), no mount under the root, no socket
# (sandboxes with long state paths keep theirs in /run/hull-sock), and the
# root is empty. Zombies awaiting a reaper count as gone.
no_sandbox_left() {
	local p
	for p in $(pgrep -f "$R/"; pgrep -x hull-vmm); do
		[ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
		echo "left behind: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2
		return 1
	done
	if grep -F "$R/" /proc/self/mountinfo >&2; then
		echo "mounts left behind" >&2
		return 1
	fi
	[ -z "$(find /run/hull-sock -type s 2>/dev/null)" ] || { ls -laR /run/hull-sock >&2; return 1; }
	[ -z "$(ls -A "$R")" ] || { ls -la "$R" >&2; return 1; }
}
