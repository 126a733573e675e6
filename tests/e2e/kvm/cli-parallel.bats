#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Many sandboxes at once: N (default 20) containers started with `hull run -d`
# all at the same time, each a microVM of its own (hull-vmm, virtiofsd, a
# monitor), each answering an exec, then all deleted at the same time. After
# that nothing of theirs may be left: no process, mount, socket or state
# directory. Needs a /dev/kvm that boots Linux:
#   make all kernel initramfs
#   hack/nested-kvm -- bats tests/e2e/kvm/cli-parallel.bats

bats_require_minimum_version 1.5.0
load ../lib/bundle

VIRTIOFSD=/usr/lib/qemu/virtiofsd
N=${HULL_PARALLEL_N:-20}

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
	R=$(mktemp -d /run/hull-par-test.XXXXXX)
	export HULL_CONFIG=$R.config.json
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 128,
 "rootfs": "virtiofs"}
JSON
	# N guests boot at once on two emulated CPUs: each boot takes N times longer
	export HULL_BOOT_TIMEOUT_MS=600000
	BUNDLE=$BATS_TEST_TMPDIR/bundle
}

teardown() {
	local id pids=()
	for id in $("$HULL" --root "$R" list -q 2>/dev/null); do
		timeout 60 "$HULL" --root "$R" delete -f "$id" >/dev/null 2>&1 &
		pids+=($!)
	done
	# by pid: a bare `wait` would also wait for bats' BATS_TEST_TIMEOUT watchdog
	for id in "${pids[@]}"; do wait "$id"; done
	rm -rf "$R" "$R".*
}

# Run "CMD {}" for i in 1..N at once (with {} replaced by i); fails, naming
# each failed i and its output, unless every one exits 0.
all_at_once() {
	local i bad=0
	for i in $(seq "$N"); do
		"${@//\{\}/$i}" </dev/null >"$R.out$i" 2>&1 &
		echo $! >"$R.job$i"
	done
	for i in $(seq "$N"); do
		if ! wait "$(cat "$R.job$i")"; then
			echo "#$i failed: $(tail -5 "$R.out$i")" >&2
			bad=1
		fi
	done
	return $bad
}

@test "kvm cli-parallel: $N sandboxes run at once and delete leaves nothing" {
	make_busybox_bundle "$BUNDLE" sleep 100000
	all_at_once timeout 900 "$HULL" --root "$R" run -d -b "$BUNDLE" c{}

	# every one is a separate running VM whose agent answers
	run "$HULL" --root "$R" list -q
	echo "list: $output"
	[ "$(echo "$output" | grep -c '^c')" -eq "$N" ]
	[ "$(pgrep -x hull-vmm | wc -l)" -eq "$N" ]
	[ "$(pgrep -f "$VIRTIOFSD.*$R/" | wc -l)" -ge "$N" ]
	all_at_once timeout 300 "$HULL" --root "$R" exec c{} sh -c 'echo exec-in-{}'
	for i in $(seq "$N"); do
		[ "$(cat "$R.out$i")" = "exec-in-$i" ]
		run "$HULL" --root "$R" state "c$i"
		[[ "$output" == *'"status": "running"'* ]]
	done

	all_at_once timeout 300 "$HULL" --root "$R" delete -f c{}

	# nothing of any of them is left (zombies awaiting a reaper count as gone)
	local p
	for p in $(pgrep -x hull-vmm; pgrep -f "$R/"); do
		[ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
		echo "left behind: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2
		false
	done
	! grep -F "$R" /proc/self/mountinfo
	[ -z "$(find "$R" /run/hull-sock -type s 2>/dev/null)" ]
	run "$HULL" --root "$R" list -q
	[ -z "$output" ]
	[ -z "$(ls -A "$R")" ]
}
