#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fetches the kernel of hack/nested-kvm's test VM: Debian's newest backported
# kernel (bookworm-backports' linux-image-amd64, 6.12 today), unpacked under
# $HULL_CACHE/nested-kernel/<version>/ (boot/, lib/modules/), and prints that
# directory. Nothing is installed on the host and its apt setup is left as it
# is: apt runs with a sources list and package lists of its own in the cache.
#
# Why not the host's 6.1: under QEMU's emulated AMD-V its kvm_amd now and then
# takes an interrupt while the guest's GS base is still loaded (6.1 switches
# it in C around the VMRUN; 6.2 moved that next to the VMRUN) and the test VM
# dies of a kernel stack overflow with many guests running (docs/status.md).
#
# Idempotent: with a kernel in the cache it only prints its directory.
# HULL_NESTED_SUITE (default bookworm-backports) and HULL_DEBIAN_MIRROR
# (default http://deb.debian.org/debian) choose where it comes from.
set -eu

cache=${HULL_CACHE:-$HOME/.cache/hull}/nested-kernel
mkdir -p "$cache"
# one fetch at a time (the test shards start together)
exec 9>"$cache/.lock"
flock 9
have() { ls -d "$cache"/*/boot 2>/dev/null | sort -V | tail -1 | sed 's,/boot$,,'; }
if [ -n "$(have)" ]; then
	have
	exit 0
fi

suite=${HULL_NESTED_SUITE:-bookworm-backports}
mirror=${HULL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
echo "deb $mirror $suite main" >"$apt/sources.list"
set -- -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1 \
	-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
echo "fetch-nested-kernel: the test VM's kernel from $suite" >&2
apt-get "$@" -qq update >&2
# the metapackage names the versioned image package
pkg=$(apt-cache "$@" depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || {
	echo "fetch-nested-kernel: no linux-image-amd64 in $suite at $mirror" >&2
	exit 1
}
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get "$@" -qq download "$pkg") >&2
kver=${pkg#linux-image-}
dpkg-deb -x "$work"/*.deb "$work/root"
[ -e "$work/root/boot/vmlinuz-$kver" ] || {
	echo "fetch-nested-kernel: $pkg has no boot/vmlinuz-$kver" >&2
	exit 1
}
# the package's postinst would have made modules.dep
depmod -b "$work/root" "$kver"
rm -rf "${cache:?}/$kver"
mv "$work/root" "$cache/$kver"
echo "fetch-nested-kernel: $kver unpacked in $cache/$kver" >&2
echo "$cache/$kver"
