#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# PID 1 of hack/nested-kvm's test VM after switch_root: set up what tests and
# container runtimes expect of a host, load KVM, run the command, hand back its
# exit status, power off.
repo=$1
run=$2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# The shared tree may live under /tmp or /run (a CI clone in /tmp, say): move
# its mount aside while those become tmpfs, then put it back on top. This
# script keeps running from its open file meanwhile.
mkdir -p /mnt/.hull-tree
mount --move "$repo" /mnt/.hull-tree
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p "$repo"
mount --move /mnt/.hull-tree "$repo"
mkdir -p /run/lock /var/tmp
mount --make-rshared /
ln -sf /proc/self/fd /dev/fd 2>/dev/null
# Raw output: no \n -> \r\n translation, so output comes back verbatim.
stty -F /dev/console -opost 2>/dev/null
hostname nested-kvm
ip link set lo up 2>/dev/null

# Controllers for everything below the root, as systemd would do.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done

if ! modprobe kvm_amd 2>/dev/null || [ ! -c /dev/kvm ]; then
	echo "nested-kvm: kvm_amd did not load: the test VM has no usable AMD-V"
fi
modprobe tun 2>/dev/null
modprobe vhost_vsock 2>/dev/null
chmod 666 /dev/kvm 2>/dev/null

# the host side's boot watchdog waits for this
: >"$run/started"
sh "$run/cmd.sh" </dev/null >/dev/console 2>&1
rc=$?
echo "$rc" >"$run/rc.tmp" && mv "$run/rc.tmp" "$run/rc"
sync
exec /bin/busybox poweroff -f
