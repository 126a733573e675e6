#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-agent's cgroup v2 work: limits, OOM kills reported, stats, pause and
# resume with the freezer, update. Needs a pure cgroup2 hierarchy with
# controllers (as in the guest), so it runs inside the nested test VM:
#   hack/nested-kvm -- bats tests/e2e/kvm/agent-cgroup.bats
# The agent runs in host mode there with --cgroup-root /sys/fs/cgroup.

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/agent

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "/sys/fs/cgroup is not cgroup2"
	grep -qw memory /sys/fs/cgroup/cgroup.controllers || skip "no memory controller"
	agent_setup_file --cgroup-root /sys/fs/cgroup
}

teardown_file() {
	agent_teardown_file
}

setup() {
	BUN="$BATS_TEST_TMPDIR/bundle"
	make_busybox_bundle "$BUN" sh
	ID="cg$BATS_TEST_NUMBER"
	CG="/sys/fs/cgroup/hull/$ID"
}

@test "agent-cgroup: limits land in the container's cgroup files" {
	bundle_args "$BUN" sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/pids.max; cat /proc/self/cgroup'
	bundle_jq "$BUN" '.linux.resources += {"memory": {"limit": 67108864},
		"cpu": {"quota": 50000, "period": 100000, "shares": 1024}, "pids": {"limit": 99}}'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 67108864 ]
	[ "${lines[1]}" = "50000 100000" ]
	[ "${lines[2]}" = 39 ]
	[ "${lines[3]}" = 99 ]
	# cgroup namespace: the container sees its cgroup as the root.
	[ "${lines[4]}" = "0::/" ]
	[ ! -e "$CG" ] # removed with the container
}

@test "agent-cgroup: a memory limit OOM-kills and the kill is reported" {
	bundle_args "$BUN" sh -c 'tail /dev/zero'
	bundle_jq "$BUN" '.linux.resources += {"memory": {"limit": 16777216}}'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	run actl oom 60000
	[ "$status" -eq 0 ]
	[[ "$output" == "$ID "* ]]
	run actl wait "$ID"
	[ "$status" -eq 137 ]
	[ "$output" = "137 oom" ]
	actl rm "$ID"
}

@test "agent-cgroup: pids.max stops a fork bomb" {
	bundle_args "$BUN" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done 2>&1; wait'
	bundle_jq "$BUN" '.linux.resources += {"pids": {"limit": 5}}'
	run actl run -b "$BUN" "$ID"
	[[ "$output" == *"can't fork"* ]] || [[ "$output" == *"Resource temporarily unavailable"* ]]
}

@test "agent-cgroup: stats report cpu, memory and pids" {
	bundle_args "$BUN" sh -c 'sleep 1000 & sleep 1000 & wait'
	bundle_jq "$BUN" '.linux.resources += {"memory": {"limit": 33554432}, "pids": {"limit": 50}}'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	# Under TCG the two sleeps may take a moment to appear.
	for _ in $(seq 50); do
		actl stats "$ID" | grep -q '^pids_current=3' && break
		sleep 0.2
	done
	run actl stats "$ID"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"memory_limit=33554432"* ]]
	[[ "$output" == *"pids_current=3"* ]]
	[[ "$output" == *"pids_limit=50"* ]]
	grep -q '^memory_usage=[1-9]' <<<"$output"
	grep -q '^cpu_usage_usec=[1-9]' <<<"$output"
	run actl ps "$ID"
	[ "${#lines[@]}" -eq 3 ]
	actl rm -f "$ID"
}

@test "agent-cgroup: pause freezes and resume thaws" {
	bundle_args "$BUN" sleep 1000
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	actl pause "$ID"
	grep -q '^frozen 1' "$CG/cgroup.events"
	run actl pause "$ID"
	[[ "$output" == *"invalid transition paused→paused"* ]]
	run actl exec -b "$BUN" "$ID" e1 -- true
	[[ "$output" == *"is paused"* ]]
	actl resume "$ID"
	grep -q '^frozen 0' "$CG/cgroup.events"
	actl rm -f "$ID"
}

@test "agent-cgroup: update changes the limits of a running container" {
	bundle_args "$BUN" sleep 1000
	bundle_jq "$BUN" '.linux.resources += {"memory": {"limit": 33554432}}'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	actl update "$ID" --memory 50331648 --pids 20 --cpu-quota 10000 --cpu-period 100000
	[ "$(cat "$CG/memory.max")" = 50331648 ]
	[ "$(cat "$CG/pids.max")" = 20 ]
	[ "$(cat "$CG/cpu.max")" = "10000 100000" ]
	actl rm -f "$ID"
}

@test "agent-cgroup: exec joins the container's cgroup" {
	bundle_args "$BUN" sleep 1000
	bundle_jq "$BUN" '.linux.resources += {"pids": {"limit": 10}}'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	run actl exec -b "$BUN" "$ID" e1 -- cat /proc/self/cgroup
	[ "$output" = "0::/" ]
	actl rm -f "$ID"
}

@test "agent-cgroup: the device allow-list is enforced (eBPF)" {
	# The bundle's resources.devices denies everything; runc's defaults
	# (null, zero, tty, pts, ...) stay allowed.
	bundle_args "$BUN" sh -c 'echo ok > /dev/null && echo null-ok; echo x > /dev/mine'
	bundle_jq "$BUN" '.linux.devices = [{"path": "/dev/mine", "type": "c", "major": 1, "minor": 11, "fileMode": 438}]'
	run actl run -b "$BUN" "$ID"
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *"Operation not permitted"* ]]
	bundle_jq "$BUN" '.linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
	run actl run -b "$BUN" "$ID-b"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Operation not permitted"* ]]
}
