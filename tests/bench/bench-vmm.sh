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
#   vsock_g2h_mibs / vsock_h2g_mibs
#                   MiB/s through the hybrid vsock (VSOCK_MIB MiB, default 64,
#                   one stream, guest-timed: g2h ends when the VMM has written
#                   the last byte to the host socket, h2g when the guest read EOF)
#   blk_write_mibs / blk_read_mibs
#                   virtio-blk sequential O_DIRECT 1 MiB requests in the guest
#                   (BLK_MIB MiB, default 64), on a file in $TMPDIR
#   blk_write_host_mibs / blk_read_host_mibs / blk_*_ratio
#                   dd on the host on the same kind of file in the same run
#                   (O_DIRECT when the filesystem takes it, else buffered plus
#                   fdatasync), and guest / host
# The boot numbers need a /dev/kvm that boots Linux (hack/kvm-check), e.g.
#   BUILD=build/h-vmm hack/nested-kvm -- tests/bench/bench-vmm.sh
# Under nested TCG they are only comparable with each other.
# bench-needs: guest
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/${BUILD:-build}
VMM=$B/bin/hull-vmm
KERNEL=$B/kernel/bzImage
N=${N:-5}
VSOCK_MIB=${VSOCK_MIB:-64}
BLK_MIB=${BLK_MIB:-64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$ROOT/hack/mkinitramfs.sh" "$tmp/initrd.cpio.gz" "$B/guest/vmm_test_init"
"$ROOT/hack/mkinitramfs.sh" "$tmp/bench.cpio.gz" "$B/guest/vmm_bench_init"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { date +%s%3N; }

# 1. startup: the VMM logs the first guest entry relative to its own start.
for _ in $(seq "$N"); do
	# only the first lines matter: a guest that cannot boot (PVM) or boots
	# slowly (nested TCG) is not waited for
	{ timeout 10 "$VMM" --kernel "$KERNEL" --initrd "$tmp/initrd.cpio.gz" --console off \
		--log-level debug --cmdline "quiet" 2>&1 </dev/null || true; } |
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

# 4. throughput: vsock both ways and virtio-blk, one boot of the bench init
uds=/tmp/hull-bench-vsock-$$.sock
python3 - "${uds}_5200" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
while c.recv(1 << 20):
    pass
PY
sink=$!
for _ in $(seq 100); do [ -S "${uds}_5200" ] && break; sleep 0.1; done
truncate -s "${BLK_MIB}M" "$tmp/disk.img"
"$VMM" --kernel "$KERNEL" --initrd "$tmp/bench.cpio.gz" --mem 256 --vsock "3,$uds" \
	--disk "$tmp/disk.img" --console "file:$tmp/bench.log" \
	--cmdline "quiet hullbench.g2h=5200,$VSOCK_MIB hullbench.h2g=5201 hullbench.blk=$BLK_MIB" \
	2>"$tmp/bench.err" </dev/null &
vmm=$!
for _ in $(seq 3000); do grep -q "h2g_listening" "$tmp/bench.log" 2>/dev/null && break; sleep 0.1; done
python3 - "$uds" "$VSOCK_MIB" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"CONNECT 5201\n")
line = b""
while not line.endswith(b"\n"):
    ch = s.recv(1)
    if not ch:
        sys.exit("vsock: closed before OK")
    line += ch
chunk = bytes(1 << 20)
for _ in range(int(sys.argv[2])):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
s.recv(1)
PY
wait "$vmm" || echo "bench: hull-vmm exited $? ($(tail -3 "$tmp/bench.err"))" >&2
kill "$sink" 2>/dev/null || true
rm -f "$uds" "${uds}_5200"
sed -n 's/^HULLBENCH \(.*_mibs=.*\)/\1/p; s/^HULLBENCH \(.*_error=.*\)/\1/p' "$tmp/bench.log"

# the same I/O with dd on the host, on the same filesystem
dd_mibs() { # dd args...: MiB/s of BLK_MIB MiB
	local t0 t1
	t0=$(date +%s%N)
	dd "$@" bs=1M count="$BLK_MIB" status=none 2>/dev/null || return 1
	t1=$(date +%s%N)
	awk -v n="$BLK_MIB" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }'
}
hw=$(dd_mibs if=/dev/zero of="$tmp/host.img" oflag=direct conv=fdatasync ||
	dd_mibs if=/dev/zero of="$tmp/host.img" conv=fdatasync)
hr=$(dd_mibs if="$tmp/host.img" of=/dev/null iflag=direct || dd_mibs if="$tmp/host.img" of=/dev/null)
echo "blk_write_host_mibs=$hw"
echo "blk_read_host_mibs=$hr"
gw=$(sed -n 's/^HULLBENCH blk_write_mibs=//p' "$tmp/bench.log")
gr=$(sed -n 's/^HULLBENCH blk_read_mibs=//p' "$tmp/bench.log")
awk -v g="$gw" -v h="$hw" 'BEGIN { if (g > 0 && h > 0) printf "blk_write_ratio=%.2f\n", g / h }'
awk -v g="$gr" -v h="$hr" 'BEGIN { if (g > 0 && h > 0) printf "blk_read_ratio=%.2f\n", g / h }'
