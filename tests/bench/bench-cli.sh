#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hull CLI benchmarks (numbers, never pass/fail): prints key=value lines.
#   run_true_ms_{hull,crun,runsc}  `<runtime> run` of busybox `true` on the same
#                   bundle, exec to exit, median of N (default 20); ratios
#                   against crun and runsc. runsc runs --rootless=false
#                   --network=none on the first platform of RUNSC_PLATFORMS
#                   (default "systrap kvm ptrace") that runs the bundle:
#                   runsc_platform= says which.
#   idle_pss_kib    host memory of one idle sandbox (busybox `sleep`): PSS
#                   from /proc/PID/smaps_rollup of the monitor, hull-vmm (its
#                   guest RAM included) and virtiofsd when used
#   idle_many_*     IDLE_N (default 50) idle sandboxes started IDLE_BATCH
#                   (default 5) at a time, stopping early when more than
#                   IDLE_MAX_FAILED (default 5) starts failed or less than
#                   512 MiB stays available: how many ran, how many starts
#                   failed (each failure's message is printed), how many
#                   still run at the end, their total PSS and the PSS per
#                   sandbox
# PARTS (default "run idle many") picks which of 1-3 run.
# VMs get default_memory_mib MEM_MIB (default 128), rootfs ROOTFS (default
# block). Needs a /dev/kvm that boots Linux (hack/kvm-check), e.g.
#   BUILD=build/h-cl ./hack/nested-kvm --timeout 1500 -- tests/bench/bench-cli.sh
# Under nested TCG the guest-side figures are far slower than on real KVM.
# bench-needs: guest
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
[[ "$B" = /* ]] || B=$ROOT/$B
HULL=$B/bin/hull
N=${N:-20}
IDLE_N=${IDLE_N:-50}
IDLE_BATCH=${IDLE_BATCH:-5}
IDLE_MAX_FAILED=${IDLE_MAX_FAILED:-5}
PARTS=" ${PARTS:-run idle many} "
MEM_MIB=${MEM_MIB:-128}
VIRTIOFSD=/usr/lib/qemu/virtiofsd

if ! "$ROOT/hack/kvm-check" -q; then
	echo "bench-cli: needs a guest ($("$ROOT/hack/kvm-check" 2>&1 | head -1)): runs under hack/nested-kvm"
	exit 0
fi
for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
	[ -e "$B/$f" ] || { echo "bench-cli: missing $B/$f (make all kernel initramfs)" >&2; exit 1; }
done

# sockets on tmpfs: the nested VM's shared tree cannot hold them
W=$(mktemp -d /tmp/hull-bench-cli.XXXXXX)
R=$W/hull
cleanup() {
	local id
	for id in $("$HULL" --root "$R" list -q 2>/dev/null); do
		"$HULL" --root "$R" delete -f "$id" >/dev/null 2>&1 &
	done
	wait
	rm -rf "$W"
}
trap cleanup EXIT
export HULL_CONFIG=$W/hull.json
cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": $MEM_MIB,
 "rootfs": "${ROOTFS:-block}"}
JSON
export HULL_BOOT_TIMEOUT_MS=${HULL_BOOT_TIMEOUT_MS:-600000}
export BUSYBOX_ROOTFS_CACHE=$W/busybox-rootfs
# shellcheck source=../e2e/lib/bundle.bash
source "$ROOT/tests/e2e/lib/bundle.bash"
make_busybox_bundle "$W/bundle" true
make_busybox_bundle "$W/idle" sleep 100000

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ns() { date +%s%N; }

# time_runs NAME CMD...: N runs of CMD ID (ID appended), one ms figure a line;
# a failed run prints its output and ends the series
time_runs() {
	local name=$1 i t0 t1
	shift
	for i in $(seq "$N"); do
		t0=$(now_ns)
		if ! "$@" "$name$i" </dev/null >"$W/out" 2>&1; then
			echo "bench-cli: $name run $i failed: $(tail -3 "$W/out")" >&2
			return 1
		fi
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000))
	done
}

us_to_ms() { awk '{printf "%.1f\n", $1 / 1000}'; }

# 1. run of `true`, side by side on the same bundle
if [[ "$PARTS" == *" run "* ]]; then
hull_us=$(time_runs h "$HULL" --root "$R" run -b "$W/bundle" | median) || hull_us=""
echo "run_true_ms_hull=$(echo "$hull_us" | us_to_ms)"
crun_us=""
if command -v crun >/dev/null; then
	crun_us=$(time_runs c crun --root "$W/crun" run -b "$W/bundle" | median) || crun_us=""
fi
echo "run_true_ms_crun=$(echo "${crun_us:-0}" | us_to_ms)"
runsc_us="" platform=none
if command -v runsc >/dev/null; then
	for pf in ${RUNSC_PLATFORMS:-systrap kvm ptrace}; do
		rs=(runsc --root "$W/runsc" --rootless=false --network=none --platform="$pf")
		if timeout 120 "${rs[@]}" run -bundle "$W/bundle" probe-$pf </dev/null >"$W/out" 2>&1; then
			platform=$pf
			break
		fi
		echo "bench-cli: runsc --platform=$pf: $(tail -1 "$W/out")" >&2
		"${rs[@]}" delete -force "probe-$pf" >/dev/null 2>&1 || true
	done
	if [ "$platform" != none ]; then
		runsc_us=$(time_runs r "${rs[@]}" run -bundle "$W/bundle" | median) || runsc_us=""
	fi
fi
echo "runsc_platform=$platform"
echo "run_true_ms_runsc=$(echo "${runsc_us:-0}" | us_to_ms)"
[ -n "$crun_us" ] && echo "run_true_ratio_crun=$(awk -v a="$hull_us" -v b="$crun_us" 'BEGIN {printf "%.1f", a / b}')"
[ -n "$runsc_us" ] && echo "run_true_ratio_runsc=$(awk -v a="$hull_us" -v b="$runsc_us" 'BEGIN {printf "%.2f", a / b}')"
fi

# sandbox_pss ID: PSS (KiB) of the monitor, its hull-vmm and the sandbox's virtiofsd
sandbox_pss() {
	local id=$1 mon pids p total=0 v
	mon=$("$HULL" --root "$R" state "$id" | jq -r .pid)
	pids="$mon $(pgrep -P "$mon" -x hull-vmm) $(pgrep -f "$VIRTIOFSD.*$R/$id/" || true)"
	for p in $pids; do
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# 2. one idle sandbox; the guest settles a moment after start
if [[ "$PARTS" == *" idle "* ]]; then
	"$HULL" --root "$R" run -d -b "$W/idle" idle0 </dev/null >/dev/null 2>&1
	sleep 5
	echo "idle_pss_kib=$(sandbox_pss idle0)"
	"$HULL" --root "$R" delete -f idle0
fi
[[ "$PARTS" == *" many "* ]] || exit 0

# 3. IDLE_N idle sandboxes at once, IDLE_BATCH boots at a time
started=0 failed=0 next=0
t0=$(now_ns)
while [ "$started" -lt "$IDLE_N" ] && [ "$failed" -le "$IDLE_MAX_FAILED" ]; do
	avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
	[ "$avail" -gt 524288 ] || break
	batch=() ids=()
	for _ in $(seq "$IDLE_BATCH"); do
		[ $((started + ${#batch[@]})) -lt "$IDLE_N" ] || break
		id=i$next
		next=$((next + 1))
		"$HULL" --root "$R" run -d -b "$W/idle" "$id" </dev/null >"$W/$id.out" 2>&1 &
		batch+=($!) ids+=("$id")
	done
	for k in "${!batch[@]}"; do
		if wait "${batch[$k]}"; then
			started=$((started + 1))
		else
			failed=$((failed + 1))
			echo "bench-cli: idle sandbox ${ids[$k]} failed to start: $(tail -2 "$W/${ids[$k]}.out")" >&2
		fi
	done
done
t1=$(now_ns)
sleep 5
total=0 running=0
for id in $("$HULL" --root "$R" list -q); do
	total=$((total + $(sandbox_pss "$id")))
	[ "$("$HULL" --root "$R" state "$id" | jq -r .status)" != running ] || running=$((running + 1))
done
echo "idle_many_requested=$IDLE_N"
echo "idle_many_started=$started"
echo "idle_many_failed=$failed"
echo "idle_many_still_running=$running"
echo "idle_many_start_s=$(((t1 - t0) / 1000000000))"
echo "idle_many_total_pss_kib=$total"
[ "$started" -gt 0 ] && echo "idle_many_pss_per_sandbox_kib=$((total / started))"
echo "mem_available_kib_after=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
exit 0
