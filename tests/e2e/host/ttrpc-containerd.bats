#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Interoperability of hull's ttrpc (lib/ttrpc_*.c) with containerd's own
# ttrpc server: a private containerd 1.6 (own root, state and socket under a
# temp dir) serves ttrpc on <address>.ttrpc; tests/tools/ttrpc_forward calls
# containerd.services.events.ttrpc.v1.Events/Forward and `ctr events` must
# show the event.

setup_file() {
	command -v containerd >/dev/null || skip "containerd not installed"
	command -v ctr >/dev/null || skip "ctr not installed"
	ROOT="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
	local build="${BUILD:-build}"
	[[ "$build" = /* ]] || build="$ROOT/$build"
	export TOOL="$build/tests/tools/ttrpc_forward"
	if [ ! -x "$TOOL" ]; then
		make -s -C "$ROOT" BUILD="$build" ttrpc-tools >&2 || return 1
	fi

	export DIR="$(mktemp -d /tmp/hull-ttrpc-e2e-XXXXXX)"
	export SOCK="$DIR/c.sock"
	cat >"$DIR/config.toml" <<-TOML
	version = 2
	root = "$DIR/root"
	state = "$DIR/state"
	# Only what the events service needs: no CRI, no extra snapshotters.
	disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
	  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
	  "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt",
	  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
	[grpc]
	  address = "$SOCK"
	TOML
	# 3>&-: bats waits on fd 3; a daemon holding it would hang the run.
	containerd --config "$DIR/config.toml" >"$DIR/containerd.log" 2>&1 3>&- &
	echo $! >"$DIR/containerd.pid"
	for _ in $(seq 100); do
		[ -S "$SOCK.ttrpc" ] && [ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	echo "containerd did not start:" >&2
	cat "$DIR/containerd.log" >&2
	return 1
}

teardown_file() {
	[ -n "${DIR:-}" ] || return 0
	if [ -f "$DIR/containerd.pid" ]; then
		local pid
		pid="$(cat "$DIR/containerd.pid")"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	umount -R "$DIR/state" 2>/dev/null || true
	rm -rf "$DIR"
}

teardown() {
	if [ -n "${EVENTS_PID:-}" ]; then
		kill "$EVENTS_PID" 2>/dev/null || true
		wait "$EVENTS_PID" 2>/dev/null || true
	fi
}

@test "Events/Forward from hull's ttrpc client shows up in ctr events" {
	ctr --address "$SOCK" events >"$DIR/events" 2>&1 3>&- &
	EVENTS_PID=$!
	local id="hull-ttrpc-$$"
	# The subscription starts asynchronously: forward until ctr prints it.
	for _ in $(seq 50); do
		run "$TOOL" forward "$SOCK.ttrpc" hull-test /tasks/exit "$id" 7
		[ "$status" -eq 0 ]
		[ "$output" = "ok" ]
		grep -q "\"container_id\":\"$id\"" "$DIR/events" && break
		sleep 0.2
	done
	cat "$DIR/events"
	grep -q " hull-test /tasks/exit {\"container_id\":\"$id\",\"id\":\"$id\",\"pid\":4242,\"exit_status\":7," "$DIR/events"
}

@test "containerd answers an unknown method and service with UNIMPLEMENTED" {
	run "$TOOL" call "$SOCK.ttrpc" containerd.services.events.ttrpc.v1.Events NoSuchMethod
	echo "$output"
	[ "$status" -eq 2 ]
	[ "$output" = "code=12 message=method NoSuchMethod" ]
	run "$TOOL" call "$SOCK.ttrpc" hull.no.Such Method
	[ "$status" -eq 2 ]
	[ "$output" = "code=12 message=service hull.no.Such" ]
}

@test "containerd's error status for a bad envelope reaches the caller" {
	run "$TOOL" forward "$SOCK.ttrpc" hull-test not-a-topic c1 0
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == code=3\ message=*topic* ]]
}
