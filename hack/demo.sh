#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: runs a busybox container in a hull microVM.
#
# hull-vmm boots the guest kernel with the hull-agent initramfs, the
# container's rootfs on a virtio-blk disk (an ext4 image of Debian's
# busybox-static), and the agent's control channel on hybrid vsock; agentctl
# (the runtime's agent client) creates and starts the container over ttrpc
# and relays its output. Natively where /dev/kvm can boot Linux, otherwise
# inside the nested test VM (hack/nested-kvm).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if ./hack/kvm-check -q; then
	exec ./hack/demo-vm.sh
fi
echo "demo: $(./hack/kvm-check || true)"
echo "demo: running inside the nested test VM (hack/nested-kvm, ~6 s to boot it)"
exec ./hack/nested-kvm --timeout 900 -- ./hack/demo-vm.sh
