#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# containerd-shim-hull-v2 under Debian's containerd 1.6, driven by ctr: every
# task boots a real microVM (hull-vmm + our kernel + hull-agent). A busybox
# image is built locally (tests/e2e/lib/image.bash) and imported; containerd
# runs with its own config, root, state and sockets under /tmp. After every
# test nothing may be left: no shim, hull-vmm or virtiofsd, no mount under
# containerd's state. Needs a /dev/kvm that boots Linux:
#   make all kernel initramfs
#   ./hack/nested-kvm --timeout 1500 -- bats --tap tests/e2e/kvm/shim.bats

bats_require_minimum_version 1.5.0
load ../lib/containerd

setup_file() {
	containerd_env
	containerd_config 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
	containerd_start
	busybox_image_import ctr -a "$CD/containerd.sock" -n hulltest >/dev/null
	# every event containerd gets, to check what the shim published and in which order
	ctr -a "$CD/containerd.sock" -n hulltest events >"$CD/events.log" 2>&1 3>&- &
	echo $! >"$CD/events.pid"
}

teardown_file() {
	[ -n "${CD:-}" ] && [ -f "$CD/events.pid" ] && kill "$(cat "$CD/events.pid")" 2>/dev/null
	containerd_cleanup
}

setup() {
	IMG=$HULL_TEST_IMAGE
}

# The task topics containerd saw for container $1, in order, once $2 is among them.
events_of() {
	local got
	for _ in $(seq 50); do
		got=$(grep -a "\"container_id\":\"$1\"" "$CD/events.log" | grep -o '/tasks/[a-z-]*' |
			tr '\n' ' ')
		[[ "$got" == *"$2"* ]] && break
		sleep 0.1
	done
	echo "$got"
}

teardown() {
	local t
	for t in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s SIGKILL "$t" 2>/dev/null || true; done
	sleep 0.5
	for t in $(ctr_ task ls -q 2>/dev/null); do ctr_ task rm -f "$t" >/dev/null 2>&1 || true; done
	for t in $(ctr_ container ls -q 2>/dev/null); do ctr_ container rm "$t" 2>/dev/null || true; done
	[ -n "$BATS_TEST_COMPLETED" ] || containerd_log_tail
}

@test "shim: ctr run echo hello prints hello and exits 0, nothing left" {
	run ctr_ run --runtime "$RUNTIME" --rm "$IMG" t1 echo hello </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run events_of t1 /tasks/delete
	echo "events: $output"
	[ "$output" = "/tasks/create /tasks/start /tasks/exit /tasks/delete " ]
	no_leftovers
}

@test "shim: the exit status reaches ctr" {
	run ctr_ run --runtime "$RUNTIME" --rm "$IMG" t2 sh -c 'echo out; echo err >&2; exit 7' </dev/null
	echo "$output"
	[ "$status" -eq 7 ]
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	no_leftovers
}

@test "shim: 10 MiB of output arrive intact" {
	# seq is deterministic: the host computes the same bytes
	run --separate-stderr ctr_ run --runtime "$RUNTIME" --rm "$IMG" t3 seq 1 1450000 </dev/null
	[ "$status" -eq 0 ]
	want=$(seq 1 1450000 | sha256sum)
	got=$(printf '%s\n' "$output" | sha256sum)
	echo "bytes: $(printf '%s\n' "$output" | wc -c)"
	[ "$got" = "$want" ]
	[ "$(printf '%s\n' "$output" | wc -c)" -ge 10485760 ]
	no_leftovers
}

@test "shim: exec, ps, metrics, pause/resume on a running task" {
	ctr_ run --runtime "$RUNTIME" -d "$IMG" t4 sh -c 'while true; do sleep 1; done' </dev/null
	task_status_is t4 RUNNING

	run ctr_ task exec --exec-id e1 t4 sh -c 'echo from-exec; exit 5' </dev/null
	echo "$output"
	[ "$status" -eq 5 ]
	[ "$output" = from-exec ]

	run ctr_ task ps t4
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^[0-9]')" -ge 1 ]

	run ctr_ task metrics t4
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *memory.usage* ]]
	[[ "$output" == *cpu.usage_usec* ]]
	[[ "$output" == *pids.current* ]]

	ctr_ task pause t4
	task_status_is t4 PAUSED
	ctr_ task resume t4
	task_status_is t4 RUNNING

	ctr_ task kill -s SIGKILL t4
	task_status_is t4 STOPPED
	run ctr_ task rm t4
	echo "$output"
	[[ "$output" == *"exit code 137"* ]]
	ctr_ container rm t4
	run events_of t4 /tasks/delete
	echo "events: $output"
	[ "$output" = "/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit /tasks/paused /tasks/resumed /tasks/exit /tasks/delete " ]
	no_leftovers
}

@test "shim: kill with SIGTERM runs the process's handler" {
	ctr_ run --runtime "$RUNTIME" -d "$IMG" t5 \
		sh -c 'trap "exit 3" TERM; while true; do sleep 0.2; done' </dev/null
	task_status_is t5 RUNNING
	ctr_ task kill t5
	task_status_is t5 STOPPED
	run ctr_ task rm t5
	echo "$output"
	[[ "$output" == *"exit code 3"* ]]
	ctr_ container rm t5
	no_leftovers
}

@test "shim: a VMM that dies reports the task exited and cleans up" {
	ctr_ run --runtime "$RUNTIME" -d "$IMG" t6 sh -c 'while true; do sleep 1; done' </dev/null
	task_status_is t6 RUNNING
	pkill -9 -x hull-vmm
	task_status_is t6 STOPPED
	run ctr_ task rm t6
	echo "$output"
	[[ "$output" == *"exit code 137"* ]]
	ctr_ container rm t6
	no_leftovers
}

@test "shim: log URIs file:// and binary://" {
	run ctr_ run --runtime "$RUNTIME" --rm --log-uri "file://$CD/t7.log" "$IMG" t7 \
		sh -c 'echo to-file; echo err-to-file >&2' </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx to-file "$CD/t7.log"
	grep -qx err-to-file "$CD/t7.log"

	# containerd's logging-binary contract: stdout on fd 3, stderr on fd 4,
	# close fd 5 when ready; the URI's query becomes its arguments
	cat >"$CD/logger.sh" <<'SH'
#!/bin/sh
[ "$1" = out ] || exit 1
echo "id=$CONTAINER_ID ns=$CONTAINER_NAMESPACE" >"$2"
exec 5>&-
cat <&3 >>"$2"
cat <&4 >>"$2"
SH
	chmod +x "$CD/logger.sh"
	run ctr_ run --runtime "$RUNTIME" --rm --log-uri "binary://$CD/logger.sh?out=$CD/t8.log" \
		"$IMG" t8 sh -c 'echo to-binary; echo err-to-binary >&2' </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do grep -q err-to-binary "$CD/t8.log" 2>/dev/null && break; sleep 0.1; done
	cat "$CD/t8.log"
	grep -qx "id=t8 ns=hulltest" "$CD/t8.log"
	grep -qx to-binary "$CD/t8.log"
	grep -qx err-to-binary "$CD/t8.log"
	no_leftovers
}

@test "shim: stdin reaches the process and CloseIO ends it" {
	run ctr_ run --runtime "$RUNTIME" --rm "$IMG" t9 sh -c 'cat; echo after-eof' <<<"from-stdin"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'from-stdin\nafter-eof')" ]
	no_leftovers
}

@test "shim: a terminal (ctr run -t under script's pty)" {
	command -v script >/dev/null || skip "no script(1)"
	run timeout -k 10 300 script -qec "ctr -a $CD/containerd.sock -n hulltest run --runtime $RUNTIME --rm -t $IMG t10 sh -c '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; echo term-ok'" /dev/null </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *is-a-tty* ]]
	[[ "$output" == *term-ok* ]]
	no_leftovers
}

@test "shim: a shim killed under a running task is cleaned up by 'delete'" {
	ctr_ run --runtime "$RUNTIME" -d "$IMG" t11 sh -c 'while true; do sleep 1; done' </dev/null
	task_status_is t11 RUNNING
	shim=$(pgrep -f -- "-address $CD/containerd.sock .*-id t11 ")
	[ -n "$shim" ]
	kill -9 "$shim"
	# containerd sees the shim go, runs `containerd-shim-hull-v2 ... delete`
	# (which kills the VM) and forgets the task
	for _ in $(seq 150); do
		ctr_ task ls | grep -qE "^t11[[:space:]].*RUNNING" || break
		sleep 0.2
	done
	! ctr_ task ls | grep -qE "^t11[[:space:]].*RUNNING"
	ctr_ task rm t11 2>/dev/null || true
	ctr_ container rm t11
	no_leftovers
	grep -a 'id=t11' "$CD/containerd.log" | grep -i 'cleaning up dead shim\|cleanup' | head -3
}
