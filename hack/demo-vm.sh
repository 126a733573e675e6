#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The demo proper (see hack/demo.sh); needs a /dev/kvm that boots Linux.
# `hull run` boots hull-vmm with the guest kernel and the hull-agent
# initramfs, the agent creates the container from an OCI bundle of Debian's
# busybox-static, and hull relays its output and exits with its status.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-build}
[[ "$B" = /* ]] || B=$repo/$B
for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
	[ -e "$B/$f" ] || { echo "demo: $B/$f missing (run make demo from the top)" >&2; exit 1; }
done

# State, sockets and config on tmpfs (the nested test VM cannot hold
# sockets on the shared tree).
dir=$(mktemp -d /run/hull-demo.XXXXXX)
trap '"$B/bin/hull" --root "$dir/state" delete -f demo >/dev/null 2>&1; rm -rf "$dir"' EXIT
export HULL_CONFIG=$dir/config.json
# The bundle's rootfs reaches the guest over virtio-fs, as by default.
cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "/usr/lib/qemu/virtiofsd",
 "default_memory_mib": 256, "default_vcpus": 1}
JSON

export BUSYBOX_ROOTFS_CACHE=$dir/busybox-rootfs
# shellcheck source=/dev/null
. "$repo/tests/e2e/lib/bundle.bash"
make_busybox_bundle "$dir/bundle" sh -c \
	'echo "hello from a container in a hull microVM"; echo "kernel $(uname -r) on $(uname -m), hostname $(hostname), $(nproc) vCPU, $(awk "/MemTotal/ { print int(\$2/1024) }" /proc/meminfo) MiB"; echo "inside: pid $$, $(ls / | tr "\n" " ")"'

echo "demo: hull run -b BUNDLE demo   (kernel $(stat -c %s "$B/kernel/bzImage") B, initramfs $(stat -c %s "$B/initramfs.cpio.gz") B)"
start=$(date +%s%N)
set +e
"$B/bin/hull" --root "$dir/state" run -b "$dir/bundle" demo
rc=$?
set -e
end=$(date +%s%N)
echo "demo: container exited with status $rc after $(((end - start) / 1000000)) ms (boot + run + teardown)"
exit $rc
