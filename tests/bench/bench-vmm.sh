#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hull-vmm benchmarks (numbers, never pass/fail): prints key=value lines.
#   startup_ms      hull-vmm exec to vCPU 0's first KVM_RUN (median of N)
#   vmm_rss_kib     VMM resident memory, excluding guest RAM, idle guest
#   guest_resident_kib  guest RAM actually touched after boot (of 128 MiB)
#   boot_ms_hull / boot_ms_qemu / boot_ratio
#                   exec to the guest's poweroff message (the test init boots
#                   and powers off at once), hull-vmm vs QEMU microvm: same
#                   kernel, initramfs, 1 vCPU, 128 MiB. The marker is the
#                   kernel's own last line, because under QEMU microvm's
#                   hardware-reduced ACPI the init's console output is lost.
# The boot numbers need a /dev/kvm that boots Linux (hack/kvm-check), e.g.
#   BUILD=build/h-vmm hack/nested-kvm -- tests/bench/bench-vmm.sh
# Under nested TCG they are only comparable with each other.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/${BUILD:-build}
VMM=$B/bin/hull-vmm
KERNEL=$B/kernel/bzImage
N=${N:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$ROOT/hack/mkinitramfs.sh" "$tmp/initrd.cpio.gz" "$B/guest/vmm_test_init"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { date +%s%3N; }

# 1. startup: the VMM logs the first guest entry relative to its own start.
for _ in $(seq "$N"); do
	timeout 60 "$VMM" --kernel "$KERNEL" --initrd "$tmp/initrd.cpio.gz" --console off \
		--log-level debug --cmdline "quiet" 2>&1 </dev/null |
		sed -n 's/.*first guest entry \([0-9.]*\) ms.*/\1/p'
done | median | sed 's/^/startup_ms=/'

"$ROOT/hack/kvm-check" -q || { echo "boot: skipped ($("$ROOT/hack/kvm-check"))"; exit 0; }

# 2. memory, with an idle guest
sock=$tmp/api.sock
"$VMM" --kernel "$KERNEL" --initrd "$tmp/initrd.cpio.gz" --mem 128 --console "file:$tmp/c.log" \
	--cmdline "quiet hulltest.end=hang" --api-socket "$sock" 2>/dev/null </dev/null &
pid=$!
for _ in $(seq 600); do grep -q "HULLTEST end hang" "$tmp/c.log" 2>/dev/null && break; sleep 0.1; done
mem=$(echo '{"cmd": "memory"}' | socat -t 5 - "UNIX-CONNECT:$sock")
echo "$mem" | sed -n 's/.*"vmm_rss_kib": \([0-9]*\).*/vmm_rss_kib=\1/p'
echo "$mem" | sed -n 's/.*"guest_resident_kib": \([0-9]*\).*/guest_resident_kib=\1/p'
echo '{"cmd": "stop"}' | socat -t 5 - "UNIX-CONNECT:$sock" >/dev/null
wait "$pid" || true

# 3. boot to init: hull-vmm vs QEMU microvm
boot_ms() { # command... ; prints ms from start to the poweroff message
	local t0 out
	t0=$(now_ms)
	out=$(timeout 120 "$@" </dev/null 2>&1 | while IFS= read -r line; do
		case "$line" in
		*"reboot: System halted"* | *"reboot: Power down"* | *"sleep state S5"*)
			now_ms
			break
			;;
		esac
	done)
	[ -n "$out" ] && echo $((out - t0))
}
hull=$(for _ in $(seq "$N"); do
	boot_ms "$VMM" --kernel "$KERNEL" --initrd "$tmp/initrd.cpio.gz" --mem 128 \
		--cmdline "quiet hulltest.end=poweroff"
done | median)
qemu=$(for _ in $(seq "$N"); do
	boot_ms qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=on -accel kvm \
		-cpu host -m 128 -smp 1 -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -kernel "$KERNEL" -initrd "$tmp/initrd.cpio.gz" \
		-append "console=ttyS0 reboot=k panic=-1 quiet hulltest.end=poweroff"
done | median)
echo "boot_ms_hull=$hull"
echo "boot_ms_qemu=$qemu"
awk -v h="$hull" -v q="$qemu" 'BEGIN { if (q > 0) printf "boot_ratio=%.2f\n", h / q }'
