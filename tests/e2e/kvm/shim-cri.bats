#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A Kubernetes pod through containerd's CRI plugin (Debian's containerd 1.6)
# on containerd-shim-hull-v2: tests/e2e/lib/cri/cri.py makes the kubelet's
# calls (RunPodSandbox with runtime handler "hull", CreateContainer,
# StartContainer, ExecSync, Stop/Remove) on containerd's gRPC socket. The
# sandbox image is a busybox whose command sleeps forever, imported into
# namespace k8s.io; CNI is a test-private bridge + host-local config, over
# which two pods (two VMs) talk.
# Needs a /dev/kvm that boots Linux:
#   make all kernel initramfs
#   ./hack/nested-kvm --timeout 1500 -- bats --tap tests/e2e/kvm/shim-cri.bats

bats_require_minimum_version 1.5.0
load ../lib/containerd

PAUSE_IMAGE=docker.io/library/hull-pause:latest
BRIDGE=hullcri0

setup_file() {
	containerd_env
	/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || skip "no python3-grpcio"
	command -v protoc >/dev/null || skip "no protoc (protobuf-compiler)"
	[ -x /usr/lib/cni/bridge ] || skip "no CNI plugins (containernetworking-plugins)"
	export CRI="/usr/bin/python3 $ROOT_DIR/tests/e2e/lib/cri/cri.py $CD/containerd.sock"
	export CRI_PY_OUT=$CD/cri-py
	mkdir -p "$CD/cni" "$CD/logs"
	cat >"$CD/cni/10-hull-test.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "hull-test", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$CD/cni-ipam",
            "ranges": [[{"subnet": "10.77.0.0/24"}]]}},
  {"type": "loopback"}]}
JSON
	containerd_config \
		'[plugins."io.containerd.grpc.v1.cri"]' \
		"  sandbox_image = \"$PAUSE_IMAGE\"" \
		'  disable_apparmor = true' \
		'  stream_server_address = "127.0.0.1"' \
		'  stream_server_port = "0"' \
		'[plugins."io.containerd.grpc.v1.cri".cni]' \
		'  bin_dir = "/usr/lib/cni"' \
		"  conf_dir = \"$CD/cni\"" \
		'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]' \
		'  runtime_type = "io.containerd.runc.v2"' \
		'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull]' \
		"  runtime_type = \"$RUNTIME\""
	containerd_start
	busybox_image_import ctr -a "$CD/containerd.sock" -n k8s.io >/dev/null
	# the pod's pause process: sleeps until the sandbox is killed
	busybox_image_tar "$BATS_FILE_TMPDIR/pause.tar" "$PAUSE_IMAGE" \
		'["sh","-c","while :; do sleep 3600; done"]' >&2
	ctr -a "$CD/containerd.sock" -n k8s.io image import "$BATS_FILE_TMPDIR/pause.tar" >&2
}

teardown_file() {
	containerd_cleanup
	ip link del "$BRIDGE" 2>/dev/null || true
}

teardown() {
	[ -n "$BATS_TEST_COMPLETED" ] || containerd_log_tail 60
}

@test "cri: a pod of two containers in one VM, talking over localhost; nothing left" {
	run $CRI version
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == containerd* ]]

	pod=$($CRI runp web-pod hull "$CD/logs")
	[ -n "$pod" ]
	web=$($CRI create "$pod" web-pod "$CD/logs" "$HULL_TEST_IMAGE" web sh -c \
		'mkdir -p /tmp/www && echo hello-from-web >/tmp/www/index.html &&
		exec httpd -f -p 127.0.0.1:8080 -h /tmp/www')
	$CRI start "$web"
	client=$($CRI create "$pod" web-pod "$CD/logs" "$HULL_TEST_IMAGE" client sh -c \
		'echo client-started; trap "exit 0" TERM; while :; do sleep 1; done')
	$CRI start "$client"
	run $CRI status "$web"
	[ "$output" = "CONTAINER_RUNNING 0" ]

	# one shim and one VM serve the whole pod
	[ "$(pgrep -fc -- "-address $CD/containerd.sock ")" -eq 1 ]
	[ "$(pgrep -cx hull-vmm)" -eq 1 ]

	run $CRI exec "$client" 120 sh -c \
		'for i in $(seq 150); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.2; done; exit 1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-web ]
	# the pod's CNI interface reached the VM (tc redirect + virtio-net, docs/network.md)
	run $CRI exec "$client" 60 ip -4 addr show
	echo "$output"
	[[ "$output" == *"inet 10.77.0."* ]]
	run $CRI exec "$client" 60 sh -c 'exit 3'
	[ "$status" -eq 3 ]
	# the container's stdout reached the log the kubelet reads (CRI's format)
	for _ in $(seq 50); do
		grep -q ' stdout F client-started$' "$CD/logs/client.log" 2>/dev/null && break
		sleep 0.2
	done
	cat "$CD/logs/client.log"
	grep -q ' stdout F client-started$' "$CD/logs/client.log"

	$CRI stop "$client" 10
	run $CRI status "$client"
	echo "$output"
	[ "$output" = "CONTAINER_EXITED 0" ]
	$CRI stop "$web" 0
	$CRI rm "$client"
	$CRI rm "$web"
	$CRI stopp "$pod"
	$CRI rmp "$pod"
	no_leftovers
}

@test "cri: two pods on the CNI bridge, a client in one fetches from the other's IP; nothing left" {
	local a b ip srv cli
	a=$(timeout -k 10 300 $CRI runp pod-a hull "$CD/logs")
	b=$(timeout -k 10 300 $CRI runp pod-b hull "$CD/logs")
	[ -n "$a" ] && [ -n "$b" ]
	# the address CNI gave pod A, as the kubelet reads it
	ip=$(timeout -k 10 60 $CRI podip "$a")
	echo "pod A: $ip"
	[[ "$ip" == 10.77.0.* ]]
	srv=$(timeout -k 10 120 $CRI create "$a" pod-a "$CD/logs" "$HULL_TEST_IMAGE" srv sh -c \
		'mkdir -p /tmp/www && echo hello-from-pod-a >/tmp/www/index.html &&
		exec httpd -f -p 8080 -h /tmp/www')
	timeout -k 10 120 $CRI start "$srv"
	cli=$(timeout -k 10 120 $CRI create "$b" pod-b "$CD/logs" "$HULL_TEST_IMAGE" cli sh -c \
		'trap "exit 0" TERM; while :; do sleep 1; done')
	timeout -k 10 120 $CRI start "$cli"
	[ "$(pgrep -cx hull-vmm)" -eq 2 ]

	# pod B -> bridge -> pod A: both VMs' tc redirects and virtio-nets
	run timeout -k 10 150 $CRI exec "$cli" 120 sh -c \
		"for i in \$(seq 150); do wget -q -O - http://$ip:8080/ && exit 0; sleep 0.2; done; exit 1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-pod-a ]

	timeout -k 10 60 $CRI stop "$cli" 10
	timeout -k 10 60 $CRI stop "$srv" 0
	timeout -k 10 60 $CRI rm "$cli"
	timeout -k 10 60 $CRI rm "$srv"
	timeout -k 10 120 $CRI stopp "$b"
	timeout -k 10 120 $CRI stopp "$a"
	timeout -k 10 60 $CRI rmp "$b"
	timeout -k 10 60 $CRI rmp "$a"
	no_leftovers
}
