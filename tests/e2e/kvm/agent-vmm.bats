#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-agent as PID 1 under hull-vmm: the production path. The host reaches
# the agent through hull-vmm's hybrid vsock ("CONNECT 1024\n" on the VMM's
# unix socket: address hvsock:PATH), the busybox rootfs is a virtio-blk
# disk. Needs a /dev/kvm that boots Linux: run inside hack/nested-kvm.

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/agent

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	grep -qE 'vmx|svm' /proc/cpuinfo || skip "no hardware virtualization (run in hack/nested-kvm)"
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	agent_paths
	export VMM="$B/bin/hull-vmm"
	if [ ! -f "$B/kernel/bzImage" ] || [ ! -f "$B/initramfs.cpio.gz" ] || [ ! -x "$AGENTCTL" ] ||
		[ ! -x "$VMM" ]; then
		make -s -C "$ROOT" BUILD="$B" kernel initramfs agent-tools "$VMM" >&2 || return 1
	fi
	export VDIR="$(mktemp -d /tmp/hull-agent-vmm-XXXXXX)"
	export BUSYBOX_ROOTFS_CACHE="$VDIR/busybox-rootfs"
	make_busybox_bundle "$VDIR/bundle" sh
	mke2fs -q -t ext4 -d "$VDIR/bundle/rootfs" "$VDIR/rootfs.img" 64M
	export HULL_AGENT="hvsock:$VDIR/vsock.sock"
	local t0=$(date +%s%N)
	# 3>&-: bats waits on fd 3; a daemon holding it would hang the run.
	"$VMM" --kernel "$B/kernel/bzImage" --initrd "$B/initramfs.cpio.gz" --mem 256 --cpus 1 \
		--cmdline "quiet -- --log-level=debug" --console "file:$VDIR/console.log" \
		--vsock "3,$VDIR/vsock.sock" --disk "$VDIR/rootfs.img" \
		>"$VDIR/vmm.log" 2>&1 3>&- &
	echo $! >"$VDIR/vmm.pid"
	# Connect only once the agent listens: a CONNECT to a port nobody
	# listens on yet is answered with a reset, and we want to measure the
	# agent, not retries.
	while [ $((($(date +%s%N) - t0) / 1000000000)) -lt 120 ]; do
		grep -q "hull-agent info: ready" "$VDIR/console.log" 2>/dev/null && break
		sleep 0.05
	done
	while [ $((($(date +%s%N) - t0) / 1000000000)) -lt 120 ]; do
		if timeout 5 "$AGENTCTL" ping >/dev/null 2>&1; then
			echo "# hull-vmm: boot to agent ready: $((($(date +%s%N) - t0) / 1000000)) ms (nested)" >&3
			return 0
		fi
		kill -0 "$(cat "$VDIR/vmm.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "guest agent did not answer; vmm log and console:" >&2
	cat "$VDIR/vmm.log" "$VDIR/console.log" >&2
	return 1
}

teardown_file() {
	[ -n "${VDIR:-}" ] || return 0
	# The guest's console (the agent logs there) and the VMM's log, for
	# diagnosis.
	tail -n 25 "$VDIR/console.log" "$VDIR/vmm.log" 2>/dev/null | sed 's/^/# /' >&3
	[ -f "$VDIR/vmm.pid" ] && kill "$(cat "$VDIR/vmm.pid")" 2>/dev/null
	sleep 0.5
	rm -rf "$VDIR"
}

setup() {
	BUN="$BATS_TEST_TMPDIR/bundle"
	make_busybox_bundle "$BUN" sh
	ID="v$BATS_TEST_NUMBER"
}

@test "agent-vmm: the agent answers over hull-vmm's hybrid vsock" {
	run actl ping
	[ "$output" = "0.1.0" ]
}

@test "agent-vmm: a container runs with its stdio over vsock and its exit status" {
	bundle_args "$BUN" sh -c 'read x; echo "got $x"; echo err >&2; exit 4'
	run --separate-stderr actl run -i --time --rootfs-block /dev/vda --rootfs-fstype ext4 \
		-b "$BUN" "$ID" <<<"hello"
	echo "# $stderr" >&3
	[ "$status" -eq 4 ]
	[ "$output" = "got hello" ]
	[[ "$stderr" == *err* ]]
}

@test "agent-vmm: exec into the running container" {
	bundle_args "$BUN" sleep 1000
	actl create --rootfs-block /dev/vda --rootfs-fstype ext4 -b "$BUN" "$ID"
	actl start "$ID"
	run actl exec -b "$BUN" "$ID" e1 -- sh -c 'cat /proc/1/cmdline; exit 2'
	[ "$status" -eq 2 ]
	[[ "$output" == sleep* ]]
	actl rm -f "$ID"
}

@test "agent-vmm: 1 MiB of container output reaches the host intact" {
	for i in 1 2 3 4 5; do one_mib_run "$ID-$i"; done
}

one_mib_run() {
	# The container generates the bytes itself (in /dev/shm: the rootfs is
	# read-only) and prints their checksum on stderr; the host checks what
	# it received against it.
	bundle_args "$BUN" sh -c 'head -c 1048576 /dev/urandom >/dev/shm/d; sha256sum /dev/shm/d >&2; cat /dev/shm/d'
	actl run --rootfs-block /dev/vda --rootfs-fstype ext4 -b "$BUN" "$1" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || {
		cat "$BATS_TEST_TMPDIR/err"
		false
	}
	want=$(awk '{print $1}' "$BATS_TEST_TMPDIR/err" | grep -E '^[0-9a-f]{64}$')
	got=$(sha256sum <"$BATS_TEST_TMPDIR/out" | awk '{print $1}')
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/out")" -eq 1048576 ]
	[ "$got" = "$want" ]
}

@test "agent-vmm: the agent reports its ready time after kernel start" {
	run grep -oE 'ready: .*, [0-9]+ ms after boot' "$VDIR/console.log"
	[ "$status" -eq 0 ]
	echo "# agent $output (nested)" >&3
}
