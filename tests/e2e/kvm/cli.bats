#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull create/start/state/delete booting real microVMs: hull-vmm with our
# kernel + initramfs (hull-agent as PID 1), the bundle's rootfs shared by
# Debian's virtiofsd. Checks the VMM is the container's host pid, the
# container really runs (its write lands in the host rootfs), and that
# delete and every failed create leave nothing behind. Needs a /dev/kvm that
# boots Linux:
#   make BUILD=build/h-cli all kernel initramfs
#   BUILD=build/h-cli hack/nested-kvm -- bats tests/e2e/kvm/cli.bats

bats_require_minimum_version 1.5.0
load ../lib/bundle

VIRTIOFSD=/usr/lib/qemu/virtiofsd

setup_file() {
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT_DIR/${BUILD:-build}
	export ROOT_DIR B
	for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel initramfs)" >&2; return 1; }
	done
	export BUSYBOX_ROOTFS_CACHE=$BATS_FILE_TMPDIR/busybox-rootfs
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT_DIR/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
	[ -x "$VIRTIOFSD" ] || skip "no $VIRTIOFSD"
	HULL=$B/bin/hull
	# virtio-fs (writes land in the bundle) or block (an ext4 copy on virtio-blk)
	ROOTFS_MODE=${HULL_TEST_ROOTFS:-block}
	# state and sockets on tmpfs: the nested VM's shared tree cannot hold sockets
	R=$(mktemp -d /run/hull-cli-test.XXXXXX)
	export HULL_CONFIG=$R.config.json
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 256,
 "rootfs": "$ROOTFS_MODE"}
JSON
	BUNDLE=$BATS_TEST_TMPDIR/bundle
}

teardown() {
	"$HULL" --root "$R" delete -f c1 2>/dev/null || true
	rm -rf "$R" "$HULL_CONFIG"
}

# No virtiofsd of this test and no hull-vmm at all may remain (the nested VM
# runs only this file); zombies awaiting a reaper count as gone.
no_sandbox_left() {
	local p
	for p in $(pgrep -f "$R"; pgrep -x hull-vmm); do
		[ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
		echo "left behind: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2
		return 1
	done
}

@test "kvm cli: create boots the VM, start runs the process, delete leaves nothing" {
	make_busybox_bundle "$BUNDLE" sh -c \
		'trap "echo got-term >/termed; exit 0" TERM; echo ran-in-hull >/proof; sleep 1000 & wait'
	run "$HULL" --root "$R" create --bundle "$BUNDLE" --pid-file "$R.pid" c1
	echo "$output"
	[ "$status" -eq 0 ]
	vmm=$(cat "$R.pid")
	[ "$(cat /proc/$vmm/comm)" = hull-vmm ]
	[ "$ROOTFS_MODE" = block ] || [ -n "$(pgrep -f "$R/c1/fs0.sock")" ]
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "created"'* ]]
	[[ "$output" == *"\"pid\": $vmm,"* ]]
	[ ! -e "$BUNDLE/rootfs/proof" ]

	run "$HULL" --root "$R" start c1
	echo "$output"
	[ "$status" -eq 0 ]
	# with virtio-fs the container's writes land in the bundle
	if [ "$ROOTFS_MODE" = virtiofs ]; then
		for _ in $(seq 100); do [ -e "$BUNDLE/rootfs/proof" ] && break; sleep 0.1; done
		[ "$(cat "$BUNDLE/rootfs/proof")" = ran-in-hull ]
	fi
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "running"'* ]]
	run "$HULL" --root "$R" start c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot start an already running container"* ]]

	run "$HULL" --root "$R" delete c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"that is not stopped: running"* ]]
	run "$HULL" --root "$R" resume c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1 is running, not paused"* ]]
	"$HULL" --root "$R" pause c1
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "paused"'* ]]
	"$HULL" --root "$R" resume c1
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "running"'* ]]
	run "$HULL" --root "$R" kill c1 BOGUS
	[ "$status" -eq 1 ]
	[[ "$output" == *'unknown signal "BOGUS"'* ]]
	"$HULL" --root "$R" kill c1 term
	if [ "$ROOTFS_MODE" = virtiofs ]; then
		for _ in $(seq 100); do [ -e "$BUNDLE/rootfs/termed" ] && break; sleep 0.1; done
		[ "$(cat "$BUNDLE/rootfs/termed")" = got-term ]
	fi
	"$HULL" --root "$R" delete -f c1
	[ ! -e "$R/c1" ]
	no_sandbox_left
}

@test "kvm cli: an id in use is refused and the first container is untouched" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	"$HULL" --root "$R" create -b "$BUNDLE" c1
	run "$HULL" --root "$R" create -b "$BUNDLE" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container with id c1 already exists"* ]]
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "created"'* ]]
	"$HULL" --root "$R" delete c1
	no_sandbox_left
}

@test "kvm cli: a guest that never answers times out with the console tail, nothing left" {
	make_busybox_bundle "$BUNDLE" true
	# a kernel with an initramfs that has no /init panics instead of booting the agent
	echo garbage | gzip >"$R.bad-initrd"
	sed -i "s|$B/initramfs.cpio.gz|$R.bad-initrd|" "$HULL_CONFIG"
	HULL_BOOT_TIMEOUT_MS=20000 run "$HULL" --root "$R" create -b "$BUNDLE" c1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"guest agent "*"console tail:"* ]]
	[[ "$output" == *"Kernel panic"* || "$output" == *"initramfs"* ]]
	[ ! -e "$R/c1" ]
	no_sandbox_left
	rm -f "$R.bad-initrd"
}

@test "kvm cli: run relays the output, exits with the status, deletes the container" {
	make_busybox_bundle "$BUNDLE" sh -c 'echo out-line; echo err-line >&2; exit 7'
	run --separate-stderr "$HULL" --root "$R" run -b "$BUNDLE" c1
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "$output" = out-line ]
	[[ "$stderr" == *err-line* ]]
	[ ! -e "$R/c1" ]
	no_sandbox_left
}
