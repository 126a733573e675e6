#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# containerd's Go ttrpc client against hull's ttrpc server: `ctr shim state`
# dials a shim's task service on the legacy abstract socket
# "\0/containerd-shim/<ns>/<id>/shim.sock" (after trying /run/containerd/s/,
# where nothing of ours listens), which tests/tools/ttrpc_serve serves.

setup() {
	command -v ctr >/dev/null || skip "ctr not installed"
	ROOT="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
	local build="${BUILD:-build}"
	[[ "$build" = /* ]] || build="$ROOT/$build"
	SERVE="$build/tests/tools/ttrpc_serve"
	if [ ! -x "$SERVE" ]; then
		make -s -C "$ROOT" BUILD="$build" ttrpc-tools >&2 || return 1
	fi
	NS="hull-ttrpc-$$"
	ID="c$RANDOM"
	OUT="$(mktemp /tmp/hull-ttrpc-serve-XXXXXX)"
	# 3>&-: bats waits on fd 3; a background server holding it would hang it.
	"$SERVE" "@/containerd-shim/$NS/$ID/shim.sock" >"$OUT" 2>&1 3>&- &
	SERVE_PID=$!
	for _ in $(seq 50); do
		grep -q ready "$OUT" && return 0
		sleep 0.1
	done
	cat "$OUT" >&2
	return 1
}

teardown() {
	if [ -n "${SERVE_PID:-}" ]; then
		kill "$SERVE_PID" 2>/dev/null || true
		# SIGTERM makes ttrpc_serve shut down; its exit status says if cleanly
		wait "$SERVE_PID" 2>/dev/null || echo "ttrpc_serve exited with $?" >&2
	fi
	rm -f "${OUT:-}"
}

@test "ctr shim state (Go ttrpc client) gets hull's State answer" {
	run timeout 20 ctr -n "$NS" shim --id "$ID" state
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"id\": \"$ID\""* ]]
	[[ "$output" == *"\"bundle\": \"/hull/bundle/$ID\""* ]]
	[[ "$output" == *"\"pid\": 4242"* ]]
	[[ "$output" == *"\"status\": 2"* ]]
}

@test "ctr shim start on hull's server reports UNIMPLEMENTED" {
	run timeout 20 ctr -n "$NS" shim --id "$ID" start
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"code = Unimplemented desc = method Start"* ]]
}
