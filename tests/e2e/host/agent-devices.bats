#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The device allow-list (cgroup v2 eBPF program) in host mode. Device
# programs attach to any cgroup2 directory, controllers or not, so a hybrid
# host's /sys/fs/cgroup/unified is enough here.

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/agent

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	local cg=""
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		if [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ]; then
			cg=$d
			break
		fi
	done
	[ -n "$cg" ] || skip "no cgroup2 mount"
	agent_setup_file --cgroup-root "$cg"
}

teardown_file() {
	agent_teardown_file
}

setup() {
	BUN="$BATS_TEST_TMPDIR/bundle"
	make_busybox_bundle "$BUN" sh -c 'echo ok > /dev/null && echo null-ok; echo x > /dev/mine; echo "rc=$?"'
	bundle_jq "$BUN" '.linux.devices = [{"path": "/dev/mine", "type": "c", "major": 1, "minor": 11, "fileMode": 438}]'
	ID="dev$BATS_TEST_NUMBER"
}

@test "agent-devices: deny-all keeps runc's default devices and blocks the rest" {
	run actl run -b "$BUN" "$ID"
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *"/dev/mine: Operation not permitted"* ]]
	[[ "$output" == *"rc=1"* ]]
}

@test "agent-devices: a later allow rule wins" {
	bundle_jq "$BUN" '.linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
	run actl run -b "$BUN" "$ID"
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *"rc=0"* ]]
}

@test "agent-devices: access letters are honoured (read-only rule refuses writes)" {
	bundle_jq "$BUN" '.linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]'
	run actl run -b "$BUN" "$ID"
	[[ "$output" == *"Operation not permitted"* ]]
}
