#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull ps, events, update, pause and resume on containers in real microVMs
# (hull-vmm + our kernel + hull-agent as PID 1, rootfs as an ext4 copy on
# virtio-blk), all through the hull CLI. The numbers checked come from the
# container's cgroup in the guest, through the agent. Needs a /dev/kvm that
# boots Linux:
#   make BUILD=build/h-ops all kernel initramfs
#   BUILD=build/h-ops hack/nested-kvm --timeout 900 -- bats --tap tests/e2e/kvm/cli-ops.bats

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/kvm_cli

setup_file() { kvm_cli_setup_file; }

setup() {
	kvm_cli_setup ops 256 block
	BUNDLE=$BATS_TEST_TMPDIR/bundle
}

teardown() {
	[ -n "${EVENTS:-}" ] && kill -9 "$EVENTS" 2>/dev/null || true
	"$HULL" --root "$R" delete -f c1 2>/dev/null || true
	rm -rf "$R" "$HULL_CONFIG" "$R".*
}

# hull run -d c1 from $BUNDLE. Its stdio goes to a file: the container's
# process (through its host-side monitor) may hold what it inherits, and a
# pipe held open would stall bats.
start_c1() {
	timeout 300 "$HULL" --root "$R" run -d -b "$BUNDLE" c1 </dev/null >"$R.out" 2>&1 ||
		{ cat "$R.out"; return 1; }
}

# stats FIELD...: one `hull events --stats`, printed as the values of the
# given Python expressions over the data object d (one per line).
stats() {
	local json
	json=$("$HULL" --root "$R" events --stats c1) || return 1
	echo "$json" >&2
	python3 -c '
import json, sys
e = json.loads(sys.argv[1])
assert e["type"] == "stats" and e["id"] == "c1", e
d = e["data"]
for expr in sys.argv[2:]:
    print(eval(expr))' "$json" "$@"
}

# The container's init: a sleeper plus a light, steady CPU load.
BUSY='sleep 1000 & while :; do i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; sleep 0.2; done'

@test "kvm cli-ops: ps lists the container's processes, table and json" {
	make_busybox_bundle "$BUNDLE" sh -c "$BUSY"
	start_c1

	run "$HULL" --root "$R" ps c1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "PID"*"CMD" ]]
	[[ "$output" == *"sleep 1000"* ]]
	[[ "$output" == *"sh -c sleep 1000 &"* ]]

	run "$HULL" --root "$R" ps --format json c1
	echo "$output"
	[ "$status" -eq 0 ]
	python3 -c '
import json, sys
pids = json.loads(sys.argv[1])
assert isinstance(pids, list) and len(pids) >= 2 and all(type(p) is int and p > 0 for p in pids), pids' "$output"
	# same pids as the table
	table=$("$HULL" --root "$R" ps c1 | awk 'NR > 1 && /sleep 1000$/ {print $1}')
	[[ "$output" == *"$table"* ]]

	run "$HULL" --root "$R" ps c1 -aux
	[ "$status" -eq 1 ]
	[[ "$output" == *'ps options are not supported (got "-aux")'* ]]
	"$HULL" --root "$R" ps c1 -ef | grep -q 'sleep 1000'

	"$HULL" --root "$R" delete -f c1
	no_sandbox_left
	run "$HULL" --root "$R" ps c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1 does not exist"* ]]
}

@test "kvm cli-ops: the VM is sized from the spec's memory limit and CPU quota" {
	# 256 MiB + the guest's overhead (64 MiB), 150% of a CPU -> 2 vCPUs
	# (one line: make_busybox_bundle takes an argument a line)
	make_busybox_bundle "$BUNDLE" sh -c 'echo "cpus=$(grep -c ^processor /proc/cpuinfo)"; echo "memtotal_kib=$(sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo)"; echo "memory.max=$(cat /sys/fs/cgroup/memory.max)"'
	bundle_jq "$BUNDLE" '.linux.resources.memory = {"limit": 268435456} |
		.linux.resources.cpu = {"quota": 150000, "period": 100000}'
	run timeout 300 "$HULL" --root "$R" run -b "$BUNDLE" c1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cpus=2"* ]]
	[[ "$output" == *"memory.max=268435456"* ]]
	# MemTotal is the VM's 320 MiB less the kernel and what it reserves
	local kib
	kib=$(echo "$output" | sed -n 's/^memtotal_kib=//p')
	[ "$kib" -gt $((280 * 1024)) ] && [ "$kib" -le $((320 * 1024)) ]
	no_sandbox_left
}

@test "kvm cli-ops: events --stats, update limits, pause freezes and resume thaws" {
	make_busybox_bundle "$BUNDLE" sh -c "$BUSY"
	start_c1

	# the guest cgroup's numbers: memory in use, CPU used, no limits yet
	run stats 'd["memory"]["usage"]["usage"] > 0' 'd["cpu"]["usage"]["total"] > 0' \
		'd["pids"]["current"] >= 2' 'd["memory"]["usage"]["limit"] == 2**64 - 1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -4 | sort -u)" = True ]

	run "$HULL" --root "$R" update --memory 64m --pids-limit 40 c1
	echo "$output"
	[ "$status" -eq 0 ]
	run stats 'd["memory"]["usage"]["limit"]' 'd["pids"]["limit"]'
	[ "${lines[-2]}" = 67108864 ]
	[ "${lines[-1]}" = 40 ]

	# -r: a LinuxResources JSON from stdin; other flags are then ignored
	echo '{"memory": {"limit": 100663296}, "pids": {"limit": -1}}' |
		"$HULL" --root "$R" update -r - --memory 1g c1
	run stats 'd["memory"]["usage"]["limit"]' 'd["pids"]["limit"]'
	[ "${lines[-2]}" = 100663296 ]
	[ "${lines[-1]}" = 18446744073709551615 ]

	# refusals name what was wrong, and change nothing
	run "$HULL" --root "$R" update --memory 12x c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid value for memory: invalid size: '12x'"* ]]
	echo '{"memory": {"limit": "big"}}' >"$R.res.json"
	run "$HULL" --root "$R" update -r "$R.res.json" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"memory.limit"* ]]
	run "$HULL" --root "$R" update --cpuset-cpus 0 c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cpu.cpus (--cpuset-cpus)"* ]]
	run stats 'd["memory"]["usage"]["limit"]'
	[ "${lines[-1]}" = 100663296 ]

	# paused: the cgroup is frozen, its CPU time stands still
	"$HULL" --root "$R" pause c1
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "paused"'* ]]
	t1=$(stats 'd["cpu"]["usage"]["total"]')
	sleep 3
	t2=$(stats 'd["cpu"]["usage"]["total"]')
	echo "paused: $t1 -> $t2"
	[ "$t1" = "$t2" ]
	"$HULL" --root "$R" ps c1 | grep -q 'sleep 1000'
	run "$HULL" --root "$R" pause c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1 is paused, not running"* ]]

	"$HULL" --root "$R" resume c1
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "running"'* ]]
	sleep 3
	t3=$(stats 'd["cpu"]["usage"]["total"]')
	echo "resumed: $t2 -> $t3"
	[ "$t3" -gt "$t2" ]

	"$HULL" --root "$R" delete -f c1
	no_sandbox_left
	run "$HULL" --root "$R" events --stats c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1 does not exist"* ]]
}

@test "kvm cli-ops: events streams every interval, stops on SIGINT and when the container goes" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	start_c1

	"$HULL" --root "$R" events --interval 1s c1 >"$R.ev" 2>"$R.everr" &
	EVENTS=$!
	for _ in $(seq 60); do [ "$(wc -l <"$R.ev")" -ge 2 ] && break; sleep 0.5; done
	kill -INT "$EVENTS"
	# wait in this shell: `run` would wait from a subshell, whose child it is not
	st=0
	wait "$EVENTS" || st=$?
	EVENTS=
	cat "$R.ev" "$R.everr"
	[ "$st" -eq 0 ]
	[ "$(wc -l <"$R.ev")" -ge 2 ]
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert e["type"] == "stats" and e["id"] == "c1", e
    assert e["data"]["memory"]["usage"]["usage"] > 0, e' "$R.ev"

	# a watch holds no lock: delete goes ahead, and the watch ends with it
	"$HULL" --root "$R" events --interval 1s c1 >"$R.ev" 2>"$R.everr" &
	EVENTS=$!
	sleep 2
	"$HULL" --root "$R" delete -f c1
	for _ in $(seq 60); do kill -0 "$EVENTS" 2>/dev/null || break; sleep 0.5; done
	st=0
	wait "$EVENTS" || st=$?
	EVENTS=
	cat "$R.everr"
	[ "$st" -eq 0 ]
	no_sandbox_left
}

@test "kvm cli-ops: events reports an OOM kill in the container" {
	# after 6 s (time to lower the limit), a subshell doubles a string until
	# the cgroup's OOM killer ends it; init and the sleeper keep the container up
	make_busybox_bundle "$BUNDLE" sh -c \
		'sleep 1000 & (sleep 6; x=0123456789abcdef; while :; do x=$x$x; done) & wait'
	start_c1
	"$HULL" --root "$R" update --memory 24m c1
	"$HULL" --root "$R" events --interval 2s c1 >"$R.ev" 2>"$R.everr" &
	EVENTS=$!
	for _ in $(seq 120); do grep -q '"type":"oom"' "$R.ev" && break; sleep 0.5; done
	kill -INT "$EVENTS" || true
	st=0
	wait "$EVENTS" || st=$?
	EVENTS=
	cat "$R.ev" "$R.everr"
	[ "$st" -eq 0 ]
	grep -qx '{"type":"oom","id":"c1"}' "$R.ev"
	run stats 'd["memory"]["event_count"]["oom_kill"] >= 1'
	[ "${lines[-1]}" = True ]
	"$HULL" --root "$R" delete -f c1
	no_sandbox_left
}
