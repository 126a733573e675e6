#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-vmm's virtio-fs front-end on this host, without booting a guest: the
# --fs flag and "fs" config key, a missing back-end refused at start, and the
# vhost-user handshake with Debian's real virtiofsd at VMM start (its log
# shows the connection; it exits when the VMM goes). SET_MEM_TABLE and the
# rings follow the guest driver's DRIVER_OK: they are exercised against the
# real virtiofsd by tests/unit/vmm/test_virtio_fs_virtiofsd.c (FUSE requests
# through shared memfd RAM) and with a booting guest by
# tests/e2e/kvm/vmm-virtiofs.bats.

VIRTIOFSD=/usr/lib/qemu/virtiofsd

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT/${BUILD:-build}
	VMM=$B/bin/hull-vmm
	[ -x "$VMM" ] || skip "hull-vmm not built ($VMM)"
	RUNDIR=$(mktemp -d /tmp/hull-vfs-host.XXXXXX)
}

teardown() {
	[ -z "${VMM_PID:-}" ] || kill -KILL "$VMM_PID" 2>/dev/null || true
	[ -z "${VFSD_PID:-}" ] || kill "$VFSD_PID" 2>/dev/null || true
	rm -rf "$RUNDIR"
}

@test "vmm-virtiofs: --fs and the fs config key are checked" {
	run "$VMM" --help
	[[ "$output" == *"--fs TAG,SOCKET"* ]]
	run "$VMM" --kernel /k --fs nosocket
	[ "$status" -eq 1 ]
	[[ "$output" == *"--fs: expected TAG,SOCKET"* ]]
	run "$VMM" --kernel /k --fs ",/tmp/s"
	[ "$status" -eq 1 ]
	run "$VMM" --kernel /k --fs "$(printf 'a%.0s' $(seq 37)),/tmp/s"
	[ "$status" -eq 1 ]
	echo '{"kernel": "/k", "fs": [{"tag": "t"}]}' >"$RUNDIR/c.json"
	run "$VMM" --config "$RUNDIR/c.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *'"fs[0]" needs both "tag" and "socket"'* ]]
	echo '{"kernel": "/k", "fs": [{"tag": "t", "socket": "/s", "cache": 1}]}' >"$RUNDIR/c.json"
	run "$VMM" --config "$RUNDIR/c.json"
	[[ "$output" == *'unknown key "fs[0].cache"'* ]]
}

@test "vmm-virtiofs: no virtiofsd listening is an error at start" {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	[ -e "$B/kernel/bzImage" ] || skip "no kernel (make kernel)"
	run timeout 30 "$VMM" --kernel "$B/kernel/bzImage" --console off \
		--fs "share,$RUNDIR/none.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"connecting to virtiofsd at $RUNDIR/none.sock"* ]]
}

@test "vmm-virtiofs: the handshake with the real virtiofsd" {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	[ -e "$B/kernel/bzImage" ] || skip "no kernel (make kernel)"
	[ -x "$VIRTIOFSD" ] || skip "no $VIRTIOFSD"
	[ "$(id -u)" -eq 0 ] || skip "virtiofsd needs root"
	mkdir "$RUNDIR/share"
	"$VIRTIOFSD" --socket-path="$RUNDIR/vfsd.sock" -o source="$RUNDIR/share" \
		-o log_level=debug >"$RUNDIR/vfsd.log" 2>&1 &
	VFSD_PID=$!
	for _ in $(seq 100); do [ -S "$RUNDIR/vfsd.sock" ] && break; sleep 0.05; done
	# The guest never gets far on a /dev/kvm that cannot boot Linux; the
	# device is set up before the first instruction, which is what we check.
	"$VMM" --kernel "$B/kernel/bzImage" --console off --log-level debug \
		--fs "share,$RUNDIR/vfsd.sock" 2>"$RUNDIR/vmm.log" &
	VMM_PID=$!
	for _ in $(seq 100); do
		grep -q "virtio_mmio.device=" "$RUNDIR/vmm.log" && break
		sleep 0.05
	done
	cat "$RUNDIR/vmm.log" "$RUNDIR/vfsd.log"
	grep -q "Received vhost-user socket connection" "$RUNDIR/vfsd.log"
	! grep -qi "error" "$RUNDIR/vmm.log"
	kill -TERM "$VMM_PID" 2>/dev/null || true # it may have ended: this /dev/kvm may not run Linux
	wait "$VMM_PID" || true
	VMM_PID=
	# virtiofsd ends with its only front-end.
	for _ in $(seq 100); do kill -0 "$VFSD_PID" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$VFSD_PID" 2>/dev/null
	VFSD_PID=
}
