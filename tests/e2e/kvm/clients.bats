#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Real container engines driving the hull CLI as their runc, every container a
# real microVM (hull-vmm + our kernel + hull-agent):
#   - ctr + containerd 1.6 (Debian) through containerd's own runc shim
#     (io.containerd.runc.v2 with --runc-binary hull): a locally built busybox
#     image, output, exit statuses, stdin, `ctr task kill`;
#   - podman (Debian's, with conmon) with --runtime hull on a busybox --rootfs;
#   - dockerd (docker.io) with --add-runtime hull, vfs storage, no iptables.
# Each engine runs with its own root/state/sockets under /tmp, and after each
# test nothing of it may be left: no hull-vmm, monitor or shim process.
# Needs a /dev/kvm that boots Linux:
#   make BUILD=build/h-cl all kernel initramfs
#   BUILD=build/h-cl ./hack/nested-kvm --timeout 1500 -- \
#       sh -c 'BATS_TEST_TIMEOUT=400 bats --tap tests/e2e/kvm/clients.bats'

bats_require_minimum_version 1.5.0
load ../lib/image

VIRTIOFSD=/usr/lib/qemu/virtiofsd
NS=hullclients
# every client command gets this long: guests boot under TCG in the nested VM
T=${HULL_TEST_CLIENT_TIMEOUT:-300}

setup_file() {
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=${BUILD:-build}
	[[ "$B" = /* ]] || B=$ROOT_DIR/$B
	export ROOT_DIR B
	for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel initramfs)" >&2; return 1; }
	done
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT_DIR/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
	# state and sockets on tmpfs: the nested VM's shared tree cannot hold them
	W=$(mktemp -d /tmp/hull-clients.XXXXXX)
	export W HULL=$B/bin/hull
	# the engines pass their environment down to the runtime they run
	export HULL_CONFIG=$W/hull.json
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 256,
 "rootfs": "${HULL_TEST_ROOTFS:-block}"}
JSON
	export BUSYBOX_ROOTFS_CACHE=$W/busybox-rootfs
}

teardown_file() {
	[ -n "${W:-}" ] || return 0
	stop_containerd
	stop_dockerd
	grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$W"
}

# No hull-vmm, monitor (a `hull` process) or virtiofsd may remain once the
# engine has removed its container; zombies awaiting a reaper count as gone.
no_sandbox_left() {
	local p i
	for i in $(seq 50); do
		local left=""
		for p in $(pgrep -x hull-vmm; pgrep -x hull; pgrep -f "$VIRTIOFSD"); do
			[ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
			[ -e "/proc/$p" ] && left="$left $p"
		done
		[ -z "$left" ] && return 0
		sleep 0.2
	done
	for p in $left; do echo "left behind: $p $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2; done
	return 1
}

# --- containerd + ctr --------------------------------------------------------

start_containerd() {
	[ -S "$W/cd/containerd.sock" ] && return 0
	command -v containerd >/dev/null || skip "no containerd"
	mkdir -p "$W/cd"
	cat >"$W/cd/config.toml" <<TOML
version = 2
root = "$W/cd/root"
state = "$W/cd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$W/cd/containerd.sock"
[ttrpc]
  address = "$W/cd/containerd.sock.ttrpc"
TOML
	# 3>&-: bats waits on fd 3; a daemon holding it would hang the run
	containerd --config "$W/cd/config.toml" >"$W/cd/containerd.log" 2>&1 3>&- &
	echo $! >"$W/cd/containerd.pid"
	for _ in $(seq 100); do
		[ -S "$W/cd/containerd.sock" ] && break
		sleep 0.1
	done
	[ -S "$W/cd/containerd.sock" ] || { cat "$W/cd/containerd.log" >&2; return 1; }
	busybox_image_import ctr -a "$W/cd/containerd.sock" -n "$NS" >/dev/null
}

stop_containerd() {
	[ -f "$W/cd/containerd.pid" ] || return 0
	local p
	for p in $(pgrep -f -- "-namespace $NS "); do kill -9 "$p" 2>/dev/null; done
	kill "$(cat "$W/cd/containerd.pid")" 2>/dev/null
	rm -f "$W/cd/containerd.pid"
	sleep 0.5
}

c() { timeout -k 10 "$T" ctr -a "$W/cd/containerd.sock" -n "$NS" "$@"; }

# ctr run with containerd's runc shim calling hull as its runc
crun_hull() {
	c run --rm --runtime io.containerd.runc.v2 --runc-binary "$HULL" \
		--runc-root "$W/cd/runc-root" "$@"
}

# No shim of our namespace, no hull process, no container left in containerd.
ctr_nothing_left() {
	no_sandbox_left
	for _ in $(seq 50); do
		pgrep -f -- "containerd-shim-runc-v2 -namespace $NS " >/dev/null || break
		sleep 0.2
	done
	! pgrep -af -- "containerd-shim-runc-v2 -namespace $NS "
	[ -z "$(c containers ls -q)" ]
	# the shim gives hull --root <runc-root>/<namespace>: its state must be gone
	local state
	state=$(find "$W/cd/runc-root" -mindepth 2 2>/dev/null)
	echo "$state"
	[ -z "$state" ]
}

@test "ctr: run --rm with the runc shim and hull prints hello and exits 0" {
	start_containerd
	run --separate-stderr crun_hull "$HULL_TEST_IMAGE" t1 echo hello
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	ctr_nothing_left
}

@test "ctr: the container's exit status is ctr's" {
	start_containerd
	run --separate-stderr crun_hull "$HULL_TEST_IMAGE" t2 sh -c 'echo out; echo err >&2; exit 7'
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "$output" = out ]
	[[ "$stderr" == *err* ]]
	ctr_nothing_left
}

# ctr run without -t never closes the task's stdin at EOF (same with runc:
# `cat` hangs there too), so the container reads exactly the lines it wants.
@test "ctr: stdin piped into ctr run reaches the container" {
	start_containerd
	run --separate-stderr bash -c "printf 'line-1\nline-2\n' | \
		timeout -k 10 $T ctr -a $W/cd/containerd.sock -n $NS run --rm \
		--runtime io.containerd.runc.v2 --runc-binary $HULL --runc-root $W/cd/runc-root \
		$HULL_TEST_IMAGE t3 sh -c 'head -n 2; echo done'"
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'line-1\nline-2\ndone')" ]
	ctr_nothing_left
}

@test "ctr: task kill of a running task stops it; task and container delete leave nothing" {
	start_containerd
	c run -d --runtime io.containerd.runc.v2 --runc-binary "$HULL" \
		--runc-root "$W/cd/runc-root" "$HULL_TEST_IMAGE" t4 \
		sh -c 'trap "exit 42" TERM; sleep 1000 & wait' </dev/null >/dev/null 3>&-
	run c task ls
	echo "$output"
	[[ "$output" == *"t4 "*RUNNING* ]]
	# the task's pid is the monitor on the host, hull-vmm its child
	pid=$(c task ls | awk '$1 == "t4" { print $2 }')
	[ "$(cat "/proc/$pid/comm")" = hull ]
	pgrep -P "$pid" -x hull-vmm
	c task kill t4
	for _ in $(seq 300); do
		c task ls | grep -q "t4 .*STOPPED" && break
		sleep 0.2
	done
	run c task ls
	echo "$output"
	[[ "$output" == *"t4 "*STOPPED* ]]
	c task delete t4
	c container delete t4
	ctr_nothing_left
}

# --- podman ------------------------------------------------------------------

p() {
	timeout -k 10 "$T" podman --root "$W/podman/root" --runroot "$W/podman/runroot" \
		--tmpdir "$W/podman/tmp" --storage-driver vfs --events-backend file \
		--runtime "$HULL" --cgroup-manager cgroupfs "$@"
}

podman_run() {
	p run --rm --network none --log-driver k8s-file --rootfs "$W/podman/rootfs" "$@"
}

# A client's failure, with what it said (podman and docker bind-mount files
# they write on the host: /etc/hosts, /etc/hostname, /run/.containerenv,
# /dev/shm; they reach the guest through the sandbox's shared directory).
client_failed() {
	echo "### the client failed:" >&2
	echo "$1" >&2
	return 1
}

podman_setup() {
	command -v podman >/dev/null || skip "no podman"
	mkdir -p "$W/podman"/{root,runroot,tmp}
	# podman gives conmon (hence hull) only containers.conf's conmon_env_vars,
	# not its own environment
	export CONTAINERS_CONF=$W/podman/containers.conf
	cat >"$CONTAINERS_CONF" <<TOML
[engine]
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HULL_CONFIG=$HULL_CONFIG"]
TOML
	if [ ! -x "$W/podman/rootfs/bin/sh" ]; then
		make_busybox_bundle "$W/podman/b" true
		mv "$W/podman/b/rootfs" "$W/podman/rootfs"
	fi
}

@test "podman: run --rm --rootfs exits with the container's status and relays stdout" {
	podman_setup
	run --separate-stderr podman_run sh -c 'echo hi; exit 3'
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 3 ] || client_failed "$stderr"
	[ "$status" -eq 3 ]
	[ "$output" = hi ]
	run --separate-stderr podman_run true
	[ "$status" -eq 0 ]
	no_sandbox_left
	[ -z "$(p ps -aq)" ]
}

@test "podman: run -i pipes stdin into the container" {
	podman_setup
	run --separate-stderr bash -c "echo x-from-stdin | \
		timeout -k 10 $T podman --root $W/podman/root --runroot $W/podman/runroot \
		--tmpdir $W/podman/tmp --storage-driver vfs --events-backend file \
		--runtime $HULL --cgroup-manager cgroupfs run --rm -i --network none \
		--log-driver k8s-file --rootfs $W/podman/rootfs sh -c 'cat; exit 5'"
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 5 ] || client_failed "$stderr"
	[ "$status" -eq 5 ]
	[ "$output" = x-from-stdin ]
	no_sandbox_left
}

# --- docker ------------------------------------------------------------------

start_dockerd() {
	command -v dockerd >/dev/null || skip "no dockerd"
	command -v docker >/dev/null || skip "no docker CLI"
	local d=$W/docker
	mkdir -p "$d"/{data,exec}
	dockerd --add-runtime "hull=$HULL" --data-root "$d/data" --exec-root "$d/exec" \
		--pidfile "$d/dockerd.pid" -H "unix://$d/docker.sock" --iptables=false \
		--ip6tables=false --bridge=none --storage-driver=vfs \
		>"$d/dockerd.log" 2>&1 3>&- &
	for _ in $(seq 300); do
		[ -S "$d/docker.sock" ] && docker -H "unix://$d/docker.sock" info >/dev/null 2>&1 &&
			return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.2
	done
	echo "### dockerd did not come up; its log:" >&2
	tail -30 "$d/dockerd.log" >&2
	# it does run in the nested test VM: not coming up is a failure
	return 1
}

stop_dockerd() {
	[ -f "$W/docker/dockerd.pid" ] || return 0
	local pid
	pid=$(cat "$W/docker/dockerd.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$W/docker/dockerd.pid"
}

d() { timeout -k 10 "$T" docker -H "unix://$W/docker/docker.sock" "$@"; }

@test "docker: run --runtime hull exits with the status, stdin piped" {
	start_dockerd
	if ! d image inspect hull-busybox >/dev/null 2>&1; then
		make_busybox_bundle "$W/docker/b" true
		tar -C "$W/docker/b/rootfs" -c . | d import - hull-busybox >/dev/null
	fi
	run --separate-stderr d run --rm --runtime hull --network none hull-busybox \
		sh -c 'echo hi; exit 3'
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 3 ] || client_failed "$stderr"
	[ "$status" -eq 3 ]
	[ "$output" = hi ]
	run --separate-stderr bash -c "echo x | timeout -k 10 $T docker -H unix://$W/docker/docker.sock \
		run --rm -i --runtime hull --network none hull-busybox cat"
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = x ]
	no_sandbox_left
	[ -z "$(d ps -aq)" ]
}
