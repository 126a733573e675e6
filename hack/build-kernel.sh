#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the hull guest kernel from Debian's linux-source-6.1 and the fragments
# in kernel-config/, caching the result outside the tree.
#
#   hack/build-kernel.sh OUTDIR [FRAGMENT...]
#
# Without FRAGMENTs, kernel-config/*.config are used. OUTDIR receives bzImage,
# vmlinux and config. The cache key is the hash of the fragments, the source
# package version, the compiler and this script, so any change rebuilds and an
# unchanged tree copies the cached result in seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-kernel.sh OUTDIR [FRAGMENT...]}
shift
if [ $# -gt 0 ]; then
	frags=("$@")
else
	frags=("$here"/kernel-config/*.config)
fi

cache=${HULL_CACHE:-$HOME/.cache/hull}
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "build-kernel: $tarball missing (run make deps)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)

key=$( {
	echo "linux-source-6.1 $srcver"
	gcc --version | head -1
	cat "$0"
	for f in "${frags[@]}"; do echo "== $(basename "$f")"; cat "$f"; done
} | sha256sum | cut -c1-16)

done_dir=$cache/kernel/$key
mkdir -p "$out" "$cache/kbuild"
copy_cached() {
	if [ -f "$done_dir/bzImage" ] && [ -f "$done_dir/vmlinux" ]; then
		cp "$done_dir/bzImage" "$done_dir/vmlinux" "$done_dir/config" "$out/"
		echo "build-kernel: cached $key ($done_dir)"
		exit 0
	fi
}
copy_cached
# One build per key at a time: a second caller waits, then copies the result.
exec 9>"$cache/kbuild/$key.lock"
flock 9
copy_cached

# Unpack once per source version; unpack to a temporary name so an
# interrupted unpack is never mistaken for a complete one.
src=$cache/src/linux-source-6.1_$srcver
if [ ! -f "$src/Makefile" ]; then
	echo "build-kernel: unpacking $tarball"
	mkdir -p "$cache/src"
	tmp=$(mktemp -d "$cache/src/unpack.XXXXXX")
	tar -C "$tmp" -xf "$tarball"
	rm -rf "$src"
	mv "$tmp/linux-source-6.1" "$src"
	rmdir "$tmp"
fi

obj=$cache/kbuild/$key
mkdir -p "$obj"
kmake() { make -s -C "$src" O="$obj" ARCH=x86_64 "$@"; }

echo "build-kernel: configuring $key from ${#frags[@]} fragment(s)"
kmake tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${frags[@]}" >/dev/null
kmake olddefconfig >/dev/null

# merge_config.sh silently drops options whose dependencies are unmet; every
# line a fragment asks for must be in the final .config, or we stop here.
bad=0
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			opt=${line%%=*}
			if ! grep -qxF -- "$line" "$obj/.config"; then
				got=$(grep -E "^(# )?$opt[= ]" "$obj/.config" || echo "$opt absent")
				echo "build-kernel: $(basename "$f"): asked for '$line', got '$got'" >&2
				bad=1
			fi
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -qE "^$opt=" "$obj/.config"; then
				echo "build-kernel: $(basename "$f"): asked for '$line', got '$(grep -E "^$opt=" "$obj/.config")'" >&2
				bad=1
			fi
			;;
		esac
	done <"$f"
done
if [ $bad -ne 0 ]; then
	echo "build-kernel: the fragments ask for options the kernel would not enable (unmet dependencies); fix the fragment(s) named above" >&2
	exit 1
fi

echo "build-kernel: building bzImage and vmlinux with $(nproc) jobs"
kmake -j"$(nproc)" bzImage vmlinux

mkdir -p "$cache/kernel"
tmp=$(mktemp -d "$cache/kernel/tmp.XXXXXX")
cp "$obj/arch/x86/boot/bzImage" "$obj/vmlinux" "$tmp/"
cp "$obj/.config" "$tmp/config"
rm -rf "$done_dir"
mv "$tmp" "$done_dir"
cp "$done_dir/bzImage" "$done_dir/vmlinux" "$done_dir/config" "$out/"
echo "build-kernel: built $key: bzImage $(stat -c %s "$out/bzImage") bytes"
