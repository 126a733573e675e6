#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fetches what hack/nested-kvm's test VM runs on from Debian's
# bookworm-backports, unpacked under $HULL_CACHE/nested/<what>/<version>/,
# and prints that directory:
#
#   hack/fetch-nested.sh kernel   linux-image-amd64's image (6.12 today):
#                                 boot/vmlinuz-*, lib/modules/*
#   hack/fetch-nested.sh qemu     qemu-system-x86 and qemu-system-data (10.0
#                                 today): usr/bin/qemu-system-x86_64,
#                                 usr/share/qemu/
#
# Nothing is installed on the host and its apt setup is left as it is: apt
# runs with a sources list and package lists of its own in the cache, and
# checks them against the host's Debian archive keys. hull itself keeps
# using Debian 12's own QEMU packages (their C virtiofsd among them).
#
# Why not Debian 12's own (docs/status.md has the runs):
#   kernel  under QEMU's emulated AMD-V, 6.1's kvm_amd now and then takes an
#           interrupt while the guest's GS base is loaded (6.1 switches it in
#           C around VMRUN; 6.2 moved that next to VMRUN) and the test VM dies
#           of a kernel stack overflow with many guests running.
#   qemu    QEMU 7.2's multi-threaded TCG can run a stale translation of code
#           that another vCPU patched (fixed in 8.1): the test VM's kernel
#           then hits an int3 that live patching had already removed.
#
# Idempotent: with one in the cache it only prints its directory.
# HULL_NESTED_SUITE (default bookworm-backports) and HULL_DEBIAN_MIRROR
# (default http://deb.debian.org/debian) choose where it comes from.
set -eu

what=${1:-}
case "$what" in
kernel) probe=boot ;;
qemu) probe=usr/bin/qemu-system-x86_64 ;;
*)
	echo "usage: fetch-nested.sh kernel|qemu" >&2
	exit 2
	;;
esac
top=${HULL_CACHE:-$HOME/.cache/hull}/nested
cache=$top/$what
mkdir -p "$cache"
# one fetch at a time (the test shards start together)
exec 9>"$top/.fetch.lock"
flock 9
have() { ls -d "$cache"/*/$probe 2>/dev/null | sort -V | tail -1 | sed "s,/$probe\$,,"; }
if [ -n "$(have)" ]; then
	have
	exit 0
fi

suite=${HULL_NESTED_SUITE:-bookworm-backports}
mirror=${HULL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
apt=$top/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
echo "deb $mirror $suite main" >"$apt/sources.list"
set -- -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1 \
	-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
echo "fetch-nested: the test VM's $what from $suite" >&2
apt-get "$@" -qq update >&2
if [ "$what" = kernel ]; then
	# the metapackage names the versioned image package
	pkgs=$(apt-cache "$@" depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	ver=${pkgs#linux-image-}
else
	pkgs="qemu-system-x86 qemu-system-data"
	ver=$(apt-cache "$@" show qemu-system-x86 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
fi
[ -n "$pkgs" ] && [ -n "$ver" ] || {
	echo "fetch-nested: no $what in $suite at $mirror" >&2
	exit 1
}
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086 # the package list splits on purpose
(cd "$work" && apt-get "$@" -qq download $pkgs) >&2
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
[ -e "$work/root/$probe" ] || {
	echo "fetch-nested: $pkgs brought no $probe" >&2
	exit 1
}
# the kernel package's postinst would have made modules.dep
[ "$what" != kernel ] || depmod -b "$work/root" "$ver"
ver=$(echo "$ver" | tr ':~' '__')
rm -rf "${cache:?}/$ver"
mv "$work/root" "$cache/$ver"
echo "fetch-nested: $what $ver unpacked in $cache/$ver" >&2
echo "$cache/$ver"
