#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Packs a gzip'd newc initramfs with INIT as /init.
#
#   hack/mkinitramfs.sh OUT.cpio.gz INIT [SRC:DEST ...]
#
# Extra files are copied to DEST (absolute path inside the initramfs). No
# device nodes are made (that needs root): the kernel's init must mount
# devtmpfs on /dev itself before it opens the console.
set -eu
out=${1:?usage: mkinitramfs.sh OUT.cpio.gz INIT [SRC:DEST ...]}
init=${2:?usage: mkinitramfs.sh OUT.cpio.gz INIT [SRC:DEST ...]}
shift 2
[ -x "$init" ] || { echo "mkinitramfs: $init is not an executable file" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/tmp" "$stage/mnt"
cp "$init" "$stage/init"
chmod 0755 "$stage/init"
for spec in "$@"; do
	src=${spec%%:*}
	dest=${spec#*:}
	case "$dest" in /*) ;; *) echo "mkinitramfs: destination '$dest' must be absolute" >&2; exit 1 ;; esac
	mkdir -p "$stage$(dirname "$dest")"
	cp -a "$src" "$stage$dest"
done
mkdir -p "$(dirname "$out")"
# Fixed owner and mtimes: the same inputs give the same bytes.
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) >"$out.tmp"
mv "$out.tmp" "$out"
