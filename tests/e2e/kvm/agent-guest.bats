#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-agent as PID 1 of a real guest: our kernel + initramfs (the static
# agent as /init) booted by QEMU's microvm with a vhost-vsock device (QEMU is
# the reference peer here, independent of hull-vmm), the busybox rootfs on a
# virtio-blk ext4 image. Checks the agent re-roots off the initramfs so that
# pivot_root and exec work, and that cgroups work in the guest.
# Needs a /dev/kvm that boots Linux: run inside hack/nested-kvm.

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/agent

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing"
	grep -qE 'vmx|svm' /proc/cpuinfo || skip "no hardware virtualization (run in hack/nested-kvm)"
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	modprobe vhost_vsock 2>/dev/null || true
	[ -c /dev/vhost-vsock ] || skip "no /dev/vhost-vsock"
	agent_paths
	# Build on the host beforehand (compiling under TCG is slow); only what
	# is missing is built here.
	if [ ! -f "$B/kernel/bzImage" ] || [ ! -f "$B/initramfs.cpio.gz" ] || [ ! -x "$AGENTCTL" ]; then
		make -s -C "$ROOT" BUILD="$B" kernel initramfs agent-tools >&2 || return 1
	fi
	export GDIR="$(mktemp -d /tmp/hull-agent-guest-XXXXXX)"
	export BUSYBOX_ROOTFS_CACHE="$GDIR/busybox-rootfs"
	make_busybox_bundle "$GDIR/bundle" sh
	mke2fs -q -t ext4 -d "$GDIR/bundle/rootfs" "$GDIR/rootfs.img" 64M
	# A second copy of the rootfs served by virtiofsd (writes land on it).
	cp -a "$GDIR/bundle/rootfs" "$GDIR/vfsroot"
	local vfsd=/usr/lib/qemu/virtiofsd
	VFS_ARGS=()
	if [ -x "$vfsd" ]; then
		"$vfsd" --socket-path="$GDIR/vfs.sock" -o source="$GDIR/vfsroot" -o cache=none \
			>"$GDIR/virtiofsd.log" 2>&1 3>&- &
		echo $! >"$GDIR/virtiofsd.pid"
		for _ in $(seq 50); do [ -S "$GDIR/vfs.sock" ] && break; sleep 0.1; done
		# vhost-user needs guest RAM the daemon can map: a shared memfd.
		VFS_ARGS=(-object memory-backend-memfd,id=mem,size=512M,share=on
			-machine memory-backend=mem
			-chardev "socket,id=vfs,path=$GDIR/vfs.sock"
			-device vhost-user-fs-device,chardev=vfs,tag=hullroot)
	fi
	export CID=$((1000 + RANDOM % 30000))
	export HULL_AGENT="vsock:$CID"
	local t0=$(date +%s%N)
	# 3>&-: bats waits on fd 3; a daemon holding it would hang the run.
	# As in kernel.bats: no ACPI, so QEMU lists the virtio-mmio devices on
	# the kernel command line.
	qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off -accel kvm -cpu host \
		-m 512 -smp 2 -nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$GDIR/console.log" \
		-kernel "$B/kernel/bzImage" -initrd "$B/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet reboot=t panic=-1" \
		-device "vhost-vsock-device,guest-cid=$CID" \
		-drive "file=$GDIR/rootfs.img,if=none,id=d0,format=raw" \
		-device virtio-blk-device,drive=d0 \
		-global virtio-mmio.force-legacy=false "${VFS_ARGS[@]}" \
		3>&- &
	echo $! >"$GDIR/qemu.pid"
	# Bounded by time: a vsock connect to a guest not up yet may block.
	while [ $((($(date +%s%N) - t0) / 1000000000)) -lt 120 ]; do
		if timeout 5 "$AGENTCTL" ping >/dev/null 2>&1; then
			echo "# boot to agent ready: $((($(date +%s%N) - t0) / 1000000)) ms (nested, QEMU)" >&3
			return 0
		fi
		kill -0 "$(cat "$GDIR/qemu.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "guest agent did not answer; console:" >&2
	cat "$GDIR/console.log" >&2
	return 1
}

teardown_file() {
	[ -n "${GDIR:-}" ] || return 0
	[ -f "$GDIR/qemu.pid" ] && kill "$(cat "$GDIR/qemu.pid")" 2>/dev/null
	[ -f "$GDIR/virtiofsd.pid" ] && kill "$(cat "$GDIR/virtiofsd.pid")" 2>/dev/null
	sleep 0.5
	rm -rf "$GDIR"
}

setup() {
	BUN="$BATS_TEST_TMPDIR/bundle"
	make_busybox_bundle "$BUN" sh
	ID="g$BATS_TEST_NUMBER"
}

grun() {
	actl run --rootfs-block /dev/vda --rootfs-fstype ext4 "$@"
}

@test "agent-guest: PID 1 serves the API over vsock" {
	run actl ping
	[ "$output" = "0.1.0" ]
	grep -q "ready: api vsock:1024" "$GDIR/console.log"
}

@test "agent-guest: a busybox container runs and its exit status comes back" {
	bundle_args "$BUN" sh -c 'hostname; echo out; exit 3'
	bundle_jq "$BUN" '.hostname = "in-guest"'
	run --separate-stderr grun --time -b "$BUN" "$ID"
	echo "# $stderr" >&3
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "in-guest" ]
	[ "${lines[1]}" = "out" ]
}

@test "agent-guest: pivot_root works (the agent left the initramfs)" {
	bundle_args "$BUN" sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo | wc -l; ls /init 2>&1'
	run grun -b "$BUN" "$ID"
	[ "${lines[0]}" = 1 ]
	[[ "${lines[1]}" == *"No such file"* ]]
}

@test "agent-guest: exec lands inside the container's rootfs" {
	bundle_args "$BUN" sleep 1000
	actl create --rootfs-block /dev/vda --rootfs-fstype ext4 -b "$BUN" "$ID"
	actl start "$ID"
	run actl exec -b "$BUN" "$ID" e1 -- sh -c 'ls /bin/busybox; cat /proc/1/cmdline'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /bin/busybox ]
	actl kill "$ID" 9
	run actl wait "$ID"
	[ "$status" -eq 137 ]
	actl rm "$ID"
}

@test "agent-guest: a memory limit OOM-kills and is reported" {
	bundle_args "$BUN" tail /dev/zero
	bundle_jq "$BUN" '.linux.resources += {"memory": {"limit": 16777216}}'
	run grun -b "$BUN" "$ID"
	[ "$status" -eq 137 ]
	[[ "$output" == *OOM-killed* ]]
}

@test "agent-guest: a virtio-fs rootfs works and its writes reach the host" {
	[ -S "$GDIR/vfs.sock" ] || skip "no virtiofsd"
	bundle_args "$BUN" sh -c 'echo from-guest > /tmp/hello; cat /etc/passwd | head -1'
	bundle_jq "$BUN" '.root.readonly = false'
	run actl run --rootfs-virtiofs hullroot -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "root:x:0:0:root:/root:/bin/sh" ]
	[ "$(cat "$GDIR/vfsroot/tmp/hello")" = from-guest ]
}
