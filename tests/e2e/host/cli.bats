#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The hull CLI without a guest: flags and refusals as runc has them, spec,
# features, and the state store (state, list, delete) over containers whose
# "VMM" is a plain host process, recorded the way hull create records one.

setup() {
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT_DIR/${BUILD:-build}
	HULL=$B/bin/hull
	[ -x "$HULL" ] || skip "hull not built ($HULL)"
	T=$(mktemp -d /tmp/hull-cli-bats.XXXXXX)
	R=$T/root
	export HULL_CONFIG=$T/config.json
	echo '{}' >"$HULL_CONFIG"
}

teardown() {
	[ -n "${SLEEPER:-}" ] && kill -9 "$SLEEPER" 2>/dev/null || true
	rm -rf "$T" ${RUNROOT:+"$RUNROOT"}
}

# fake_container ID PID STATUS: a state dir as hull create leaves it.
fake_container() {
	local start=0
	if [ "$2" -gt 0 ]; then start=$(sed 's/.*) //' "/proc/$2/stat" | awk '{print $20}'); fi
	mkdir -p "$R/$1"
	cat >"$R/$1/state.json" <<JSON
{"id": "$1", "bundle": "$T/bundle", "rootfs": "$T/bundle/rootfs", "pid": $2,
 "pid_start": $start, "status": "$3", "created": "2026-11-21T08:00:00.000000001Z",
 "annotations": {"org.example/a": "b"}}
JSON
}

@test "cli: --version, help, and help per command" {
	run "$HULL" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "hull version "*"spec: 1.1.0" ]]
	run "$HULL" -v
	[ "$status" -eq 0 ]
	run "$HULL"
	[ "$status" -eq 0 ]
	[[ "$output" == *"COMMANDS:"*"state"*"GLOBAL OPTIONS:"*"--root value"* ]]
	run "$HULL" help delete
	[ "$status" -eq 0 ]
	[[ "$output" == *"hull delete [command options] <container-id>"*"--force, -f"* ]]
	run "$HULL" list --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--format value, -f value"* ]]
}

@test "cli: unknown commands and flags are refused like runc" {
	run "$HULL" frobnicate
	[ "$status" -eq 3 ]
	[[ "$output" == *"No help topic for 'frobnicate'"* ]]
	run "$HULL" --root "$R" list --bogus
	[ "$status" -eq 1 ]
	[[ "$output" == *"Incorrect Usage: flag provided but not defined: -bogus"* ]]
	run "$HULL" --bogus list
	[ "$status" -eq 1 ]
	[[ "$output" == *"flag provided but not defined: -bogus"* ]]
	run "$HULL" state
	[ "$status" -eq 1 ]
	[[ "$output" == *'hull: "state" requires exactly 1 argument(s)'* ]]
	run "$HULL" --root "$R" delete a b
	[ "$status" -eq 1 ]
	[[ "$output" == *'"delete" requires exactly 1 argument(s)'* ]]
	run "$HULL" --log-format yaml list
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid log-format: yaml"* ]]
	run "$HULL" --root "$R" --systemd-cgroup --debug list -q
	[ "$status" -eq 0 ]
}

@test "cli: spec writes runc's default config.json and never overwrites" {
	mkdir "$T/b"
	run "$HULL" spec -b "$T/b"
	[ "$status" -eq 0 ]
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["process"]["args"]==["sh"]' "$T/b/config.json"
	if command -v runc >/dev/null; then
		mkdir "$T/r"
		(cd "$T/r" && runc spec)
		# identical apart from the two fields the version and name differ in
		diff <(grep -v -e ociVersion -e hostname "$T/r/config.json") \
			<(grep -v -e ociVersion -e hostname "$T/b/config.json")
	fi
	run "$HULL" spec --bundle "$T/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"File config.json exists. Remove it first"* ]]
	mkdir "$T/cwd"
	(cd "$T/cwd" && "$HULL" spec)
	[ -f "$T/cwd/config.json" ]
	run "$HULL" spec -b "$T/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"open bundle $T/missing"* ]]
}

@test "cli: features prints OCI features JSON" {
	run "$HULL" features
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ociVersionMax"]=="1.1.0"'
}

@test "cli: list, state and delete on an empty or missing root" {
	run "$HULL" --root "$R" list
	[ "$status" -eq 0 ]
	[ "$output" = "ID          PID         STATUS      BUNDLE      CREATED     OWNER" ]
	run "$HULL" --root "$R" list --format json
	[ "$output" = "null" ]
	run "$HULL" --root "$R" list --format yaml
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid format option"* ]]
	run "$HULL" --root "$R" state nope
	[ "$status" -eq 1 ]
	[[ "$output" == *"container nope does not exist"* ]]
	run "$HULL" --root "$R" delete nope
	[ "$status" -eq 1 ]
	[[ "$output" == *"container nope does not exist"* ]]
	run "$HULL" --root "$R" delete --force nope
	[ "$status" -eq 0 ]
	run "$HULL" --root "$R" state ../etc
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid id format: ../etc"* ]]
}

@test "cli: state follows the VMM process: alive is its status, dead is stopped" {
	sleep 300 &
	SLEEPER=$!
	fake_container c1 "$SLEEPER" running
	run "$HULL" --root "$R" state c1
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["id"] == "c1" and d["status"] == "running" and d["pid"] == int(sys.argv[1]), d
assert d["bundle"].endswith("/bundle") and d["annotations"] == {"org.example/a": "b"}, d
assert d["created"] == "2026-11-21T08:00:00.000000001Z" and d["owner"], d' "$SLEEPER"
	kill -9 "$SLEEPER"
	wait "$SLEEPER" 2>/dev/null || true
	run "$HULL" --root "$R" state c1
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="stopped" and d["pid"]==0, d'
}

@test "cli: a reused pid is not the container's" {
	sleep 300 &
	SLEEPER=$!
	fake_container c1 "$SLEEPER" running
	# same pid, another start time: what a recycled pid looks like
	sed -i 's/"pid_start": [0-9]*/"pid_start": 1/' "$R/c1/state.json"
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "stopped"'* ]]
	run "$HULL" --root "$R" delete c1
	[ "$status" -eq 0 ]
	# the unrelated process was not signalled
	kill -0 "$SLEEPER"
}

@test "cli: list shows every container, -q the ids, json the states" {
	sleep 300 &
	SLEEPER=$!
	fake_container b2 "$SLEEPER" created
	fake_container a1 0 stopped
	run "$HULL" --root "$R" list -q
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a1\nb2')" ]
	run "$HULL" --root "$R" list
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == "a1  "*" 0  "*"stopped  "*"$T/bundle  "*"2026-11-21T08:00:00.000000001Z  "* ]]
	[[ "${lines[2]}" == "b2  "*" $SLEEPER  "*"created  "* ]]
	run "$HULL" --root "$R" list --format=json
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [c["id"] for c in d] == ["a1", "b2"], d
assert d[0]["status"] == "stopped" and d[1]["status"] == "created", d
assert d[1]["pid"] == int(sys.argv[1]) and d[1]["annotations"]["org.example/a"] == "b", d' "$SLEEPER"
	# a damaged container is reported, not fatal to the list
	mkdir -p "$R/bad" && echo '{"id": 5}' >"$R/bad/state.json"
	run "$HULL" --root "$R" list -q
	[ "$status" -eq 0 ]
	[[ "$output" == *"id: expected a string"* ]]
	run "$HULL" --root "$R" state bad
	[ "$status" -eq 1 ]
	[[ "$output" == *"$R/bad/state.json: id: expected a string"* ]]
}

@test "cli: delete refuses a running container, --force kills it, nothing is left" {
	sleep 300 &
	SLEEPER=$!
	fake_container c1 "$SLEEPER" running
	touch "$R/c1/console.log"
	run "$HULL" --root "$R" delete c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot delete container c1 that is not stopped: running"* ]]
	kill -0 "$SLEEPER"
	run "$HULL" --root "$R" delete -f c1
	[ "$status" -eq 0 ]
	! kill -0 "$SLEEPER" 2>/dev/null || [ "$(sed 's/.*) //' /proc/$SLEEPER/stat | cut -c1)" = Z ]
	[ ! -e "$R/c1" ]
	# a created container is deleted without --force, as runc does
	sleep 300 &
	SLEEPER=$!
	fake_container c2 "$SLEEPER" created
	run "$HULL" --root "$R" delete c2
	[ "$status" -eq 0 ]
	[ ! -e "$R/c2" ]
	# a stopped one, and the leftover of a create that died half-way
	fake_container c3 0 stopped
	mkdir "$R/c4"
	"$HULL" --root "$R" delete c3
	run "$HULL" --root "$R" delete c4
	[ "$status" -eq 1 ]
	[ ! -e "$R/c3" ] && [ ! -e "$R/c4" ]
}

@test "cli: --log and --log-format json carry the error, stderr too" {
	run "$HULL" --root "$R" --log "$T/log.json" --log-format json state nope
	[ "$status" -eq 1 ]
	[[ "$output" == "container nope does not exist" ]]
	python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["level"] == "error" and d["msg"] == "container nope does not exist" and d["time"], d' "$T/log.json"
}

@test "cli: a malformed host config is refused naming the key" {
	echo '{"default_vcpus": "two"}' >"$HULL_CONFIG"
	run "$HULL" --root "$R" list
	[ "$status" -eq 1 ]
	[[ "$output" == *"$HULL_CONFIG: default_vcpus: expected an integer in 1..254"* ]]
	HULL_CONFIG=$T/none run "$HULL" --root "$R" list
	[ "$status" -eq 1 ]
	[[ "$output" == *"read $T/none: No such file or directory"* ]]
}

@test "cli: create refuses a missing bundle, a bad config.json, a bad id; nothing is left" {
	run "$HULL" --root "$R" create -b "$T/nobundle" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"bundle $T/nobundle: No such file or directory"* ]]
	mkdir -p "$T/b/rootfs"
	echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": "sh"}}' >"$T/b/config.json"
	run "$HULL" --root "$R" create -b "$T/b" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"config.json: process.args: expected an array"* ]]
	rm "$T/b/config.json"
	"$HULL" spec -b "$T/b"
	run "$HULL" --root "$R" create -b "$T/b" "bad/id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid id format: bad/id"* ]]
	# runc's spec asks for a terminal: detached, it needs a console socket
	run "$HULL" --root "$R" create -b "$T/b" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot allocate tty if hull will detach without setting console socket"* ]]
	jq '.process.terminal = false' "$T/b/config.json" >"$T/b/c.json" && mv "$T/b/c.json" "$T/b/config.json"
	run "$HULL" --root "$R" create --console-socket /x -b "$T/b" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot use console socket if hull will not detach or allocate tty"* ]]
	run "$HULL" --root "$R" list -q
	[ "$output" = "" ]
}

@test "cli: a VMM that cannot start fails create with the console tail, nothing is left" {
	[ -x /usr/lib/qemu/virtiofsd ] || skip "no virtiofsd"
	[ -x "$B/bin/hull-vmm" ] || skip "hull-vmm not built"
	mkdir -p "$T/b/rootfs"
	"$HULL" spec -b "$T/b"
	jq '.process.terminal = false' "$T/b/config.json" >"$T/b/c.json" && mv "$T/b/c.json" "$T/b/config.json"
	# not a kernel: hull-vmm refuses it and exits at once
	echo "not a kernel" >"$T/kernel"
	echo "not an initramfs" >"$T/initrd"
	# a file the config names that is not there is refused by name, at once
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$T/nokernel", "initramfs": "$T/initrd", "vmm": "$B/bin/hull-vmm", "virtiofsd": "/usr/lib/qemu/virtiofsd"}
JSON
	run "$HULL" --root "$R" create -b "$T/b" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"hull config: kernel $T/nokernel: No such file or directory"* ]]
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$T/kernel", "initramfs": "$T/initrd", "vmm": "$B/bin/hull-vmm", "virtiofsd": "/usr/lib/qemu/virtiofsd"}
JSON
	RUNROOT=/run/hull-cli-bats.$$ # sockets need a short path
	R=$RUNROOT
	HULL_BOOT_TIMEOUT_MS=5000 run "$HULL" --root "$R" create -b "$T/b" c1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1: hull-vmm exited before the guest agent answered"* ]]
	[[ "$output" == *"hull-vmm error: kernel"* ]] # the VMM's own reason is quoted
	[ ! -e "$R/c1" ]
	HULL_BOOT_TIMEOUT_MS=5000 run "$HULL" --root "$R" run -d -b "$T/b" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"hull-vmm exited before the guest agent answered"* ]]
	[ ! -e "$R/c1" ]
	! pgrep -f "$R/c1" | while read -r p; do
		[ "$(sed 's/.*) //' "/proc/$p/stat" | cut -c1)" = Z ] || echo "left: $p"
	done | grep -q left
	rm -rf "$R"
}

@test "cli: start, kill, pause and resume refuse what they cannot act on" {
	fake_container c1 0 stopped
	run "$HULL" --root "$R" start c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot start a container that has stopped"* ]]
	run "$HULL" --root "$R" kill c1 KILL
	[ "$status" -eq 1 ]
	[[ "$output" == *"container not running"* ]]
	run "$HULL" --root "$R" kill c1 SIGNOPE
	[ "$status" -eq 1 ]
	[[ "$output" == *'unknown signal "SIGNOPE"'* ]]
	run "$HULL" --root "$R" pause c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1 is stopped, not running"* ]]
	run "$HULL" --root "$R" resume nope
	[ "$status" -eq 1 ]
	[[ "$output" == *"container nope does not exist"* ]]
	run "$HULL" --root "$R" kill c1 1 2
	[ "$status" -eq 1 ]
	[[ "$output" == *'"kill" requires a maximum of 2 argument(s)'* ]]
}

@test "cli: ps, events and update refuse what they cannot act on" {
	fake_container c1 0 stopped
	run "$HULL" --root "$R" ps c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container with id c1 is not running"* ]]
	run "$HULL" --root "$R" events --stats c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container with id c1 is not running"* ]]
	run "$HULL" --root "$R" update --memory 64m c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container not running"* ]]
	run "$HULL" --root "$R" ps nope
	[ "$status" -eq 1 ]
	[[ "$output" == *"container nope does not exist"* ]]
	# bad values are refused before the container is looked at
	run "$HULL" --root "$R" ps --format yaml c1
	[[ "$output" == *"invalid format option"* ]]
	run "$HULL" --root "$R" ps c1 aux
	[[ "$output" == *'ps options are not supported (got "aux")'* ]]
	run "$HULL" --root "$R" events --interval 0s c1
	[[ "$output" == *"duration interval must be greater than 0"* ]]
	run "$HULL" --root "$R" events --interval soon c1
	[[ "$output" == *'invalid value "soon" for flag -interval: parse error'* ]]
	run "$HULL" --root "$R" update --memory 12x c1
	[[ "$output" == *"invalid value for memory: invalid size: '12x'"* ]]
	run "$HULL" --root "$R" update --cpuset-cpus 0 c1
	[[ "$output" == *"cpu.cpus (--cpuset-cpus): hull cannot update it yet"* ]]
	run "$HULL" --root "$R" update --bogus 1 c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"flag provided but not defined: -bogus"* ]]
	echo '{"memory": {"limit": true}}' >"$T/res.json"
	run "$HULL" --root "$R" update -r "$T/res.json" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"memory.limit"* ]]
	run "$HULL" --root "$R" update -r "$T/missing.json" c1
	[[ "$output" == *"read $T/missing.json: No such file or directory"* ]]
	run "$HULL" help ps
	[[ "$output" == *"guest kernel"* || "$output" == *"not"*"host pids"* ]]
	run "$HULL" update --help
	[[ "$output" == *"--memory-swap value"*"--pids-limit value"* ]]
}
