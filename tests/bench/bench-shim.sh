#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# containerd shim benchmarks (numbers, never pass/fail): prints key=value lines.
#   ctr_run_true_ms_{hull,runc}  `ctr run --rm <image> <id> true` through
#                   containerd 1.6 (Debian's) with runtime io.containerd.hull.v2
#                   and io.containerd.runc.v2, same image, same containerd,
#                   same run: client start to exit, median of N (default 20);
#                   the ratio hull/runc. runsc takes part only when
#                   containerd-shim-runsc-v1 is installed (Debian's runsc
#                   package does not ship it): runsc=absent says so.
#   shim_rss_kib, shim_pss_kib  the hull shim's resident and proportional
#                   memory with one idle task (busybox sleep), and the same
#                   for runc's shim (runc_shim_*)
# VMs get default_memory_mib MEM_MIB (default 128), rootfs ROOTFS (default
# block). Needs a /dev/kvm that boots Linux; when this host's cannot, the
# script runs itself inside hack/nested-kvm (where guests boot under TCG:
# far slower than on real KVM, only the ratio between runs of one machine
# means something).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
[[ "$B" = /* ]] || B=$ROOT/$B
N=${N:-20}
MEM_MIB=${MEM_MIB:-128}

for f in bin/containerd-shim-hull-v2 bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
	[ -e "$B/$f" ] || { echo "bench-shim: missing $B/$f (make all kernel initramfs)" >&2; exit 1; }
done
command -v containerd >/dev/null || { echo "bench-shim: skipped (no containerd)"; exit 0; }
if ! "$ROOT/hack/kvm-check" -q; then
	if [ -n "${HULL_BENCH_NESTED:-}" ]; then
		echo "bench-shim: skipped ($("$ROOT/hack/kvm-check" 2>&1 | head -1))"
		exit 0
	fi
	echo "bench-shim: this /dev/kvm cannot boot Linux: running in hack/nested-kvm" >&2
	exec "$ROOT/hack/nested-kvm" --timeout "${NESTED_TIMEOUT:-2400}" -- \
		env HULL_BENCH_NESTED=1 BUILD="$B" N="$N" MEM_MIB="$MEM_MIB" \
		ROOTFS="${ROOTFS:-block}" "$0"
fi

# sockets on tmpfs: the nested VM's shared tree cannot hold them
CD=$(mktemp -d /tmp/hull-bench-shim.XXXXXX)
export CD
# shellcheck source=../e2e/lib/containerd.bash
source "$ROOT/tests/e2e/lib/containerd.bash"
trap containerd_cleanup EXIT
export HULL_CONFIG=$CD/hull.json HULL_SHIM_ROOT=$CD/shim PATH=$B/bin:$PATH
export HULL_SHIM_BOOT_TIMEOUT_MS=600000
cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": $MEM_MIB,
 "rootfs": "${ROOTFS:-block}"}
JSON
containerd_config 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
containerd_start
busybox_image_tar "$CD/busybox.tar" >/dev/null
ctr_ image import "$CD/busybox.tar" >/dev/null
IMG=$HULL_TEST_IMAGE

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ns() { date +%s%N; }
us_to_ms() { awk '{printf "%.1f\n", $1 / 1000}'; }

# time_runs RUNTIME NAME: N runs of `ctr run --rm IMG NAME<i> true`, µs a line;
# a failed run prints its output and ends the series
time_runs() {
	local rt=$1 name=$2 i t0 t1
	for i in $(seq "$N"); do
		t0=$(now_ns)
		if ! ctr_ run --runtime "$rt" --rm "$IMG" "$name$i" true </dev/null >"$CD/out" 2>&1; then
			echo "bench-shim: $rt run $i failed: $(tail -3 "$CD/out")" >&2
			return 1
		fi
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000))
	done
}

hull_us=$(time_runs io.containerd.hull.v2 h | median) || hull_us=""
echo "ctr_run_true_ms_hull=$(echo "${hull_us:-0}" | us_to_ms)"
runc_us=$(time_runs io.containerd.runc.v2 r | median) || runc_us=""
echo "ctr_run_true_ms_runc=$(echo "${runc_us:-0}" | us_to_ms)"
if [ -n "$hull_us" ] && [ -n "$runc_us" ]; then
	echo "ctr_run_true_ratio_runc=$(awk -v a="$hull_us" -v b="$runc_us" 'BEGIN {printf "%.1f", a / b}')"
fi
if command -v containerd-shim-runsc-v1 >/dev/null; then
	runsc_us=$(time_runs io.containerd.runsc.v1 s | median) || runsc_us=""
	echo "ctr_run_true_ms_runsc=$(echo "${runsc_us:-0}" | us_to_ms)"
	[ -n "$hull_us" ] && [ -n "$runsc_us" ] &&
		echo "ctr_run_true_ratio_runsc=$(awk -v a="$hull_us" -v b="$runsc_us" 'BEGIN {printf "%.2f", a / b}')"
else
	echo "runsc=absent"
fi

# shim_mem RUNTIME ID PREFIX: RSS and PSS (KiB) of the shim of an idle task
shim_mem() {
	local rt=$1 id=$2 pre=$3 pid rss pss
	ctr_ run --runtime "$rt" -d "$IMG" "$id" sleep 100000 </dev/null >/dev/null
	task_status_is "$id" RUNNING >/dev/null
	# runc's shim puts -id before -address, ours after
	pid=$(pgrep -f -- "-address $CD/containerd.sock .*-id $id |-id $id -address $CD/containerd.sock" |
		head -1)
	[ -n "$pid" ] || { echo "bench-shim: no shim for task $id" >&2; return 1; }
	# one read: both figures of the same moment
	read -r rss pss < <(awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} END {print r, p}' \
		"/proc/$pid/smaps_rollup")
	echo "${pre}_rss_kib=$rss"
	echo "${pre}_pss_kib=$pss"
	ctr_ task kill -s SIGKILL "$id" >/dev/null
	task_status_is "$id" STOPPED >/dev/null
	ctr_ task rm "$id" >/dev/null 2>&1 || true
	ctr_ container rm "$id" >/dev/null
}
shim_mem io.containerd.hull.v2 hm shim
shim_mem io.containerd.runc.v2 rm runc_shim
