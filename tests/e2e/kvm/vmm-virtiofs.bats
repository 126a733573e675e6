#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# virtio-fs end to end: Debian's virtiofsd shares a host directory, hull-vmm
# boots the real guest kernel with --fs TAG,SOCKET, and a test init
# (tests/e2e/guest/vfs_test_init.c) mounts it with `mount -t virtiofs`, reads
# the file the host wrote and writes one the host then reads. Needs a
# /dev/kvm that boots Linux: natively there, or here through hack/nested-kvm:
#   make BUILD=build/h-vfs all kernel initramfs vmm-guest-inits
#   BUILD=build/h-vfs hack/nested-kvm -- bats tests/e2e/kvm/vmm-virtiofs.bats
# The last test goes through the hull CLI: `hull run` of a busybox bundle
# whose rootfs reaches the guest over virtio-fs (the CLI's default).

bats_require_minimum_version 1.5.0
load ../lib/bundle

VIRTIOFSD=/usr/lib/qemu/virtiofsd

setup_file() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT/${BUILD:-build}
	export ROOT B
	for f in bin/hull-vmm kernel/bzImage guest/vfs_test_init; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel vmm-guest-inits)" >&2; return 1; }
	done
	export INITRD=$BATS_FILE_TMPDIR/initrd.cpio.gz
	"$ROOT/hack/mkinitramfs.sh" "$INITRD" "$B/guest/vfs_test_init"
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
	[ -x "$VIRTIOFSD" ] || skip "no $VIRTIOFSD"
	# Sockets on tmpfs: the nested test VM's shared tree cannot hold them.
	RUNDIR=$(mktemp -d /run/hull-vfs-test.XXXXXX)
	SHARE=$BATS_TEST_TMPDIR/share
	mkdir -p "$SHARE"
}

teardown() {
	[ -z "${VFSD_PID:-}" ] || kill "$VFSD_PID" 2>/dev/null || true
	[ -z "${RUNDIR:-}" ] || rm -rf "$RUNDIR"
}

start_virtiofsd() {
	"$VIRTIOFSD" --socket-path="$RUNDIR/vfsd.sock" -o source="$SHARE" -o cache=auto \
		>"$RUNDIR/virtiofsd.log" 2>&1 &
	VFSD_PID=$!
	for _ in $(seq 100); do
		[ -S "$RUNDIR/vfsd.sock" ] && return 0
		sleep 0.05
	done
	cat "$RUNDIR/virtiofsd.log"
	return 1
}

@test "vmm-virtiofs: the guest reads a host file and its write lands on the host" {
	echo "hello from the host" >"$SHARE/from-host.txt"
	start_virtiofsd
	run timeout 300 "$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" \
		--mem 256 --cmdline "quiet hulltest.fstag=hostshare" \
		--fs "hostshare,$RUNDIR/vfsd.sock" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST vfs-mount ok hostshare"* ]]
	[[ "$output" == *"HULLTEST vfs-read hello from the host"* ]]
	[[ "$output" == *"HULLTEST vfs-write ok 36"* ]]
	[[ "$output" == *"HULLTEST vfs-entries 2"* ]]
	[[ "$output" == *"HULLTEST vfs-umount ok"* ]]
	[ "$(cat "$SHARE/from-guest.txt")" = "written by the guest over virtio-fs" ]
}

@test "vmm-virtiofs: driver unbind/bind resets the device and hands the rings over again" {
	echo "hello from the host" >"$SHARE/from-host.txt"
	start_virtiofsd
	run timeout 300 "$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" \
		--mem 256 --cmdline "quiet hulltest.fstag=hostshare hulltest.rebind=1" \
		--fs "hostshare,$RUNDIR/vfsd.sock" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST vfs-rebind ok"* ]]
	[ "$(grep -c "HULLTEST vfs-read hello from the host" <<<"$output")" -eq 2 ]
	[ "$(grep -c "HULLTEST vfs-umount ok" <<<"$output")" -eq 2 ]
	[[ "$output" != *"needs reset"* ]]
}

@test "vmm-virtiofs: hull run on a virtio-fs rootfs: the container's writes land in the bundle" {
	for f in bin/hull initramfs.cpio.gz; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all initramfs)" >&2; return 1; }
	done
	export BUSYBOX_ROOTFS_CACHE=$BATS_FILE_TMPDIR/busybox-rootfs
	local bundle=$BATS_TEST_TMPDIR/bundle
	make_busybox_bundle "$bundle" sh -c \
		'echo written-in-the-guest >/proof; mkdir -p /made/here; echo a >/made/here/f; cat /from-host; exit 3'
	bundle_jq "$bundle" '.root.readonly = false'
	echo "put there by the host" >"$bundle/rootfs/from-host"
	export HULL_CONFIG=$RUNDIR/config.json
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 256,
 "rootfs": "virtiofs"}
JSON
	# generous: guests boot slowly under nested TCG on a loaded host
	HULL_BOOT_TIMEOUT_MS=180000 run --separate-stderr timeout 400 "$B/bin/hull" \
		--root "$RUNDIR/state" run -b "$bundle" c1
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 3 ]
	[ "$output" = "put there by the host" ]
	[ "$(cat "$bundle/rootfs/proof")" = written-in-the-guest ]
	[ "$(cat "$bundle/rootfs/made/here/f")" = a ]
	# run deleted the container: no VMM or virtiofsd of it is left
	[ ! -e "$RUNDIR/state/c1" ]
	[ -z "$(pgrep -f "$RUNDIR/state/c1")" ]
}

@test "vmm-virtiofs: a wrong tag fails the mount, not the VM" {
	start_virtiofsd
	run timeout 300 "$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" \
		--mem 256 --cmdline "quiet hulltest.fstag=other" \
		--fs "hostshare,$RUNDIR/vfsd.sock" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST vfs-mount FAIL"* ]]
}
