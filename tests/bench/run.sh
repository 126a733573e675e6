#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: runs every tests/bench/bench-*.sh and prints their figures.
# Each benchmark measures hull against a peer in the same run (QEMU microvm
# for boot, crun/runsc for container start) and prints ratios; none asserts
# a time.
#
# A benchmark whose header has the line "# bench-needs: guest" boots Linux
# guests. Where this host's /dev/kvm cannot (hack/kvm-check: missing, or PVM
# as on our development machines) it runs inside a hack/nested-kvm test VM
# (emulated AMD-V under QEMU TCG: its guest-side figures are only comparable
# with the peer measured beside them), after a native run for the figures
# that need no guest (e.g. VMM startup on this host's own KVM). The test VM
# gets HULL_BENCH_MEM MiB (default 12288: bench-cli holds 50 idle sandboxes).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export BUILD=${BUILD:-build}
native_kvm=yes
./hack/kvm-check -q || native_kvm=no
rc=0
for b in tests/bench/bench-*.sh; do
	[ -e "$b" ] || continue
	name=$(basename "$b")
	echo "==> $name"
	if ! "$b"; then
		echo "$name: FAILED"
		rc=1
	fi
	if [ "$native_kvm" = no ] && grep -q '^# bench-needs: guest' "$b"; then
		echo "==> $name (inside hack/nested-kvm: this host's /dev/kvm cannot boot Linux)"
		if ! ./hack/nested-kvm --timeout "${HULL_BENCH_TIMEOUT:-3000}" --mem "${HULL_BENCH_MEM:-12288}" -- env BUILD="$BUILD" "$b"; then
			echo "$name (nested): FAILED"
			rc=1
		fi
	fi
done
exit $rc
