#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Pods in containerd-shim-hull-v2, driven by ctr with the annotations
# containerd's CRI puts on a pod's containers (io.kubernetes.cri.container-type
# sandbox | container, io.kubernetes.cri.sandbox-id): one shim and one VM per
# pod, the containers share the VM's network, the VM stops with the pod's
# last task. And a shim that outlives a containerd restart. Needs a /dev/kvm
# that boots Linux:
#   make all kernel initramfs
#   ./hack/nested-kvm --timeout 1500 -- bats --tap tests/e2e/kvm/shim-pod.bats

bats_require_minimum_version 1.5.0
load ../lib/containerd

setup_file() {
	containerd_env
	containerd_config 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
	containerd_start
	busybox_image_import ctr -a "$CD/containerd.sock" -n hulltest >/dev/null
}

teardown_file() {
	containerd_cleanup
}

setup() {
	IMG=$HULL_TEST_IMAGE
}

teardown() {
	local t
	for t in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s SIGKILL "$t" 2>/dev/null || true; done
	sleep 0.5
	for t in $(ctr_ task ls -q 2>/dev/null); do ctr_ task rm -f "$t" >/dev/null 2>&1 || true; done
	for t in $(ctr_ container ls -q 2>/dev/null); do ctr_ container rm "$t" 2>/dev/null || true; done
	[ -n "$BATS_TEST_COMPLETED" ] || containerd_log_tail
}

# run_in POD ID [ctr run flags] -- ARGS: a container of pod POD (POD = ID: its sandbox)
run_in() {
	local pod=$1 id=$2 type=container
	shift 2
	[ "$pod" = "$id" ] && type=sandbox
	local flags=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	ctr_ run --runtime "$RUNTIME" \
		--annotation "io.kubernetes.cri.container-type=$type" \
		--annotation "io.kubernetes.cri.sandbox-id=$pod" \
		"${flags[@]}" "$IMG" "$id" "$@" </dev/null
}

shims() {
	local p n=0
	for p in $(pgrep -f -- "-address $CD/containerd.sock "); do
		[ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] || n=$((n + 1))
	done
	echo $n
}

@test "pod: one shim and one VM, sized from the pod, containers talk over localhost" {
	# the pod's resources as containerd passes them: 512 MiB, 2 CPUs
	run_in p1 p1 -d --annotation io.kubernetes.cri.sandbox-memory=536870912 \
		--annotation io.kubernetes.cri.sandbox-cpu-quota=200000 \
		--annotation io.kubernetes.cri.sandbox-cpu-period=100000 \
		-- sh -c 'while true; do sleep 1; done'
	task_status_is p1 RUNNING
	run_in p1 web -d -- sh -c 'mkdir -p /tmp/www && echo hello-from-web >/tmp/www/index.html &&
		exec httpd -f -p 127.0.0.1:8080 -h /tmp/www'
	task_status_is web RUNNING
	[ "$(shims)" -eq 1 ]
	[ "$(pgrep -cx hull-vmm)" -eq 1 ]

	# another container of the pod reaches the first on localhost; its own
	# rootfs does not have the first one's files
	run run_in p1 client --rm -- sh -c '[ ! -e /tmp/www ] || exit 9
		for i in $(seq 150); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.2; done
		exit 1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-web ]

	# the VM has the pod's size: 2 vCPUs, 512 MiB + the guest's overhead
	run ctr_ task exec --exec-id size p1 sh -c 'grep -c ^processor /proc/cpuinfo;
		sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -eq 2 ]
	[ "${lines[1]}" -gt $((500 * 1024)) ]

	# deleting one container leaves the pod running
	ctr_ task kill -s SIGKILL web
	task_status_is web STOPPED
	ctr_ task rm web
	ctr_ container rm web
	[ "$(pgrep -cx hull-vmm)" -eq 1 ]
	run ctr_ task exec --exec-id e2 p1 echo still-here
	[ "$output" = still-here ]
	[ -z "$(find "$HULL_SHIM_ROOT" -path '*/shared/c/*' 2>/dev/null)" ]

	ctr_ task kill -s SIGKILL p1
	task_status_is p1 STOPPED
	ctr_ task rm p1
	ctr_ container rm p1
	no_leftovers
}

@test "pod: the sandbox deleted first, the VM stays until its last container goes" {
	run_in p2 p2 -d -- sh -c 'while true; do sleep 1; done'
	task_status_is p2 RUNNING
	run_in p2 c2 -d -- sh -c 'echo data >/tmp/f; trap "exit 3" TERM; while true; do sleep 0.2; done'
	task_status_is c2 RUNNING
	ctr_ task kill -s SIGKILL p2
	task_status_is p2 STOPPED
	ctr_ task rm p2
	ctr_ container rm p2
	[ "$(pgrep -cx hull-vmm)" -eq 1 ]
	task_status_is c2 RUNNING
	run ctr_ task exec --exec-id e1 c2 cat /tmp/f
	echo "$output"
	[ "$output" = data ]
	ctr_ task kill c2
	task_status_is c2 STOPPED
	run ctr_ task rm c2
	echo "$output"
	[[ "$output" == *"exit code 3"* ]]
	ctr_ container rm c2
	no_leftovers
}

@test "pod: a container whose sandbox is not running fails, nothing left" {
	run run_in nosuchpod c3 --rm -- true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"sandbox nosuchpod is not served by this shim"* ]]
	ctr_ container rm c3 2>/dev/null || true
	no_leftovers
}

@test "shim: a task outlives a containerd restart; kill and delete work after it" {
	ctr_ run --runtime "$RUNTIME" -d "$IMG" r1 sh -c 'trap "exit 4" TERM; while true; do sleep 0.2; done' </dev/null
	task_status_is r1 RUNNING
	shim=$(pgrep -f -- "-address $CD/containerd.sock .*-id r1 ")
	vmm=$(pgrep -x hull-vmm)
	containerd_stop
	# the shim and the VM do not depend on containerd
	kill -0 "$shim"
	kill -0 "$vmm"
	containerd_start
	task_status_is r1 RUNNING
	[ "$(pgrep -f -- "-address $CD/containerd.sock .*-id r1 ")" = "$shim" ]
	run ctr_ task exec --exec-id after r1 echo after-restart
	echo "$output"
	[ "$output" = after-restart ]
	ctr_ task kill r1
	task_status_is r1 STOPPED
	run ctr_ task rm r1
	echo "$output"
	[[ "$output" == *"exit code 4"* ]]
	ctr_ container rm r1
	no_leftovers
}
