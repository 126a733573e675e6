#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hack/build-kernel.sh: the fragment check and the cache.

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT/${BUILD:-build}
}

@test "kernel-config: an option whose dependencies are unmet fails the build, naming it and its fragment" {
	frag=$BATS_TEST_TMPDIR/broken.config
	# MODULE_UNLOAD needs MODULES, which base.config turns off.
	echo 'CONFIG_MODULE_UNLOAD=y' >"$frag"
	run "$ROOT/hack/build-kernel.sh" "$BATS_TEST_TMPDIR/out" "$ROOT"/kernel-config/*.config "$frag"
	[ "$status" -ne 0 ]
	[[ "$output" == *"broken.config: asked for 'CONFIG_MODULE_UNLOAD=y'"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out/bzImage" ]
}

@test "kernel-config: a second build of unchanged fragments comes from the cache" {
	run "$ROOT/hack/build-kernel.sh" "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"build-kernel: cached"* ]]
	cmp "$BATS_TEST_TMPDIR/out/bzImage" "$B/kernel/bzImage"
}

@test "kernel-config: every fragment line is in the built .config" {
	for f in "$ROOT"/kernel-config/*.config; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*=*) grep -qxF -- "$line" "$B/kernel/config" || { echo "missing: $line ($f)"; return 1; } ;;
			esac
		done <"$f"
	done
}

@test "kernel-config: no modules, no virtio-pci, no vsock loopback" {
	grep -qx '# CONFIG_MODULES is not set' "$B/kernel/config"
	! grep -q '^CONFIG_VIRTIO_PCI=' "$B/kernel/config"
	! grep -q '^CONFIG_VSOCKETS_LOOPBACK=' "$B/kernel/config"
}
