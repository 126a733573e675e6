#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of hack/nested-kvm's test VM: reach the host root over 9p, put a
# tmpfs overlay on it, share the source tree writable at its own path, and
# switch_root (not chroot: container runtimes need a real root to pivot_root
# from) into hack/nested-init-stage2.sh.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

die() { echo "nested-kvm stage1: $*"; poweroff -f; }

for m in $(cat /modules.order); do
	insmod "/modules/$m" || die "insmod $m failed"
done

for arg in $(cat /proc/cmdline); do
	case "$arg" in
	hull.repo=*) repo=${arg#hull.repo=} ;;
	hull.run=*) run=${arg#hull.run=} ;;
	hull.modules=*) modules=${arg#hull.modules=} ;;
	esac
done
[ -n "$repo" ] && [ -n "$run" ] || die "hull.repo= and hull.run= missing from the kernel command line"

mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower ||
	die "cannot mount the host root over 9p"
mount -t tmpfs -o mode=755 tmpfs /upper || die "tmpfs"
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work /newroot ||
	die "cannot mount the overlay root"
# a kernel that is not the host's (NESTED_KERNEL_ROOT) brings its modules
if [ -n "$modules" ]; then
	mkdir -p "/newroot/lib/modules/$(uname -r)"
	mount --bind "/newroot$modules" "/newroot/lib/modules/$(uname -r)" ||
		die "cannot bind $modules to /lib/modules/$(uname -r)"
fi
mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap,msize=512000 repo "/newroot$repo" ||
	die "cannot mount the source tree at $repo"

umount /proc /sys 2>/dev/null
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /bin/sh "$repo/hack/nested-init-stage2.sh" "$repo" "$run"
