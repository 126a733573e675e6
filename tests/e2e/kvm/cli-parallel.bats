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
load ../lib/kvm_cli

N=${HULL_PARALLEL_N:-20}

setup_file() { kvm_cli_setup_file; }

setup() {
	kvm_cli_setup par 128 virtiofs
	# hack/run-tests.sh turns it off in the nested test VM, whose own kernel
	# does not survive 10 guests reporting free pages at once
	jq --argjson on "${HULL_PARALLEL_FREE_PAGE_REPORTING:-true}" '.free_page_reporting = $on' \
		"$HULL_CONFIG" >"$HULL_CONFIG.new" && mv "$HULL_CONFIG.new" "$HULL_CONFIG"
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

	# nothing of any of them is left
	run "$HULL" --root "$R" list -q
	[ -z "$output" ]
	no_sandbox_left
}
