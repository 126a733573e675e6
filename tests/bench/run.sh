#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: runs every tests/bench/bench-*.sh and prints their figures.
# Each benchmark measures hull against a peer in the same run (QEMU microvm
# for boot, crun/runsc for container start) and prints ratios; none asserts
# a time. Benchmarks that need a /dev/kvm able to boot Linux say so and run
# themselves inside hack/nested-kvm when this host's cannot.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export BUILD=${BUILD:-build}
rc=0
for b in tests/bench/bench-*.sh; do
	[ -e "$b" ] || continue
	echo "==> $(basename "$b")"
	if ! "$b"; then
		echo "$(basename "$b"): FAILED"
		rc=1
	fi
done
exit $rc
