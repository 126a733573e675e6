#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-vmm boots the real guest kernel (bzImage and vmlinux) to a test init
# (tests/e2e/guest/vmm_test_init.c) that checks virtio-rng and virtio-blk and
# reports "HULLTEST key value" lines on the serial console, then powers off,
# reboots, panics or hangs as asked. Needs a /dev/kvm that boots Linux: run
# natively there, or here through hack/nested-kvm:
#   make BUILD=build/h-vmm all kernel vmm-guest-inits
#   BUILD=build/h-vmm hack/nested-kvm -- bats tests/e2e/kvm/vmm.bats

setup_file() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT/${BUILD:-build}
	export ROOT B
	for f in bin/hull-vmm kernel/bzImage kernel/vmlinux guest/vmm_test_init; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel vmm-guest-inits)" >&2; return 1; }
	done
	export INITRD=$BATS_FILE_TMPDIR/initrd.cpio.gz
	"$ROOT/hack/mkinitramfs.sh" "$INITRD" "$B/guest/vmm_test_init"
}

teardown() {
	# a background hull-vmm of a failed test must not outlive it
	[ -z "${BG_PID:-}" ] || kill -KILL "$BG_PID" 2>/dev/null || true
}

# Wait until FILE contains TEXT (guest boots are slow under nested TCG).
wait_for() { # FILE TEXT
	for _ in $(seq 3000); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
}

# A 4 MiB disk whose sector 0 holds the marker the init looks for.
make_disk() { # FILE [NAME]: NAME (8 characters) ends the marker
	rm -f "$1"
	truncate -s 4M "$1"
	printf 'HULLDISK marker from %-8.8s...' "${2:-the host}" | dd of="$1" conv=notrunc status=none
}

vmm() { # KERNEL CMDLINE [hull-vmm args...]
	local kernel=$1 cmdline=$2
	shift 2
	timeout 300 "$B/bin/hull-vmm" --kernel "$B/kernel/$kernel" --initrd "$INITRD" \
		--cmdline "quiet $cmdline" "$@" </dev/null
}

boot_devices() { # KERNEL
	local disk=$BATS_TEST_TMPDIR/disk.img
	make_disk "$disk"
	run vmm "$1" "hulltest.rng=1 hulltest.blk=1" --mem 128 --rng --disk "$disk"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST init started"* ]]
	[[ "$output" == *"HULLTEST rng OK"* ]]
	[[ "$output" == *"HULLTEST blk_marker HULLDISK"* ]]
	[[ "$output" == *"HULLTEST blk OK"* ]]
	[[ "$output" == *"HULLTEST end poweroff"* ]]
	# what the guest wrote reached the host file
	[ "$(dd if="$disk" bs=512 skip=8 count=1 status=none | head -c 10)" = GUESTWROTE ]
}

@test "vmm: bzImage boots to init; rng, blk read/write; poweroff exits 0" {
	boot_devices bzImage
}

@test "vmm: vmlinux (ELF) boots to init; rng, blk read/write; poweroff exits 0" {
	boot_devices vmlinux
}

@test "vmm: a verbose boot logs no kernel warning (XSAVE sizes, CPUID)" {
	# no "quiet": WARN() prints at KERN_WARNING, which quiet hides
	run timeout 300 "$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" \
		--mem 128 --cmdline "loglevel=7" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST init started"* ]]
	[[ "$output" == *"x86/fpu: Enabled xstate features"* ]]
	[[ "$output" != *"WARNING:"* ]]
	[[ "$output" != *"Call Trace"* ]]
	[[ "$output" != *"XSAVE consistency problem"* ]]
}

@test "vmm: two disks, the second read-only: writes land on vda, fail on vdb" {
	local rw=$BATS_TEST_TMPDIR/rw.img ro=$BATS_TEST_TMPDIR/ro.img
	make_disk "$rw" "disk-rw"
	make_disk "$ro" "disk-ro"
	local before
	before=$(sha256sum <"$ro")
	run vmm bzImage "hulltest.blk=2" --disk "$rw" --disk "$ro,ro"
	echo "$output"
	[ "$status" -eq 0 ]
	# in the order given, each with its own contents
	[[ "$output" == *"HULLTEST blk_marker HULLDISK marker from disk-rw"* ]]
	[[ "$output" == *"HULLTEST blk OK"* ]]
	[[ "$output" == *"HULLTEST blk_vdb_marker HULLDISK marker from disk-ro"* ]]
	[[ "$output" == *"HULLTEST blk_vdb FAIL write"* ]]
	[ "$(dd if="$rw" bs=512 skip=8 count=1 status=none | head -c 10)" = GUESTWROTE ]
	[ "$(sha256sum <"$ro")" = "$before" ]
}

@test "vmm: guest reboot exits with --reboot-exit" {
	run vmm bzImage "hulltest.end=reboot" --reboot-exit 7
	echo "$output"
	[ "$status" -eq 7 ]
	[[ "$output" == *"guest reset the machine"* ]]
}

@test "vmm: guest kernel panic exits 2 (pvpanic, or the console banner)" {
	# With CONFIG_PCI=y the kernel loads our DSDT and reports through
	# pvpanic; without it (Linux 6.1 cannot load the DSDT then) the VMM
	# recognises the panic banner before the panic=-1 reset.
	run vmm bzImage "hulltest.end=panic"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"guest kernel panicked"* ]]
}

@test "vmm: vCPU and memory matrix (1/64M, 2/256M, 4/2048M)" {
	for spec in 1:64 2:256 4:2048; do
		local cpus=${spec%%:*} mem=${spec#*:}
		run vmm bzImage "" --cpus "$cpus" --mem "$mem"
		echo "== $cpus vCPUs, $mem MiB: status $status"
		echo "$output" | grep HULLTEST
		[ "$status" -eq 0 ]
		[[ "$output" == *"HULLTEST cpus $cpus"* ]]
		local kb
		kb=$(echo "$output" | sed -n 's/^HULLTEST memtotal_kb //p' | tr -d '\r')
		# MemTotal is RAM minus the kernel image, reserved areas and the
		# page structs (~18 MiB at 64 MiB, ~52 MiB at 2 GiB)
		[ "$kb" -gt $((mem * 1024 * 85 / 100 - 20 * 1024)) ]
		[ "$kb" -le $((mem * 1024)) ]
	done
}

@test "vmm: SIGTERM stops a running guest in order (exit 0)" {
	local log=$BATS_TEST_TMPDIR/console.log
	"$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" \
		--cmdline "quiet hulltest.end=hang" --console "file:$log" \
		2>"$BATS_TEST_TMPDIR/stderr" </dev/null 3>&- &
	local pid=$!
	BG_PID=$pid
	wait_for "$log" "HULLTEST end hang"
	kill -TERM "$pid"
	local status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/stderr"
	[ "$status" -eq 0 ]
	grep -q "stopped by signal" "$BATS_TEST_TMPDIR/stderr"
}

@test "vmm: ACPI tables drive a distro kernel's poweroff (S5) and describe pvpanic" {
	local k
	k=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
	[ -n "$k" ] || skip "no distro kernel in /boot"
	run timeout 300 "$B/bin/hull-vmm" --kernel "$k" --initrd "$INITRD" --mem 256 </dev/null
	echo "$output" | grep -E "ACPI|pnp|HULLTEST|hull-vmm"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Preparing to enter system sleep state S5"* ]]
	[[ "$output" == *"guest powered off (ACPI S5)"* ]]
	[[ "$output" != *"ACPI Error"* ]]
	[[ "$output" != *"ACPI BIOS Error"* ]]
}

@test "vmm: virtio-net on a tap: the guest pings the host" {
	command -v ip >/dev/null || skip "no ip(8)"
	local tap=hullvmm$$
	ip tuntap add dev "$tap" mode tap || skip "cannot create a tap (needs CAP_NET_ADMIN)"
	ip addr add 10.77.0.1/24 dev "$tap"
	ip link set "$tap" up
	run vmm bzImage "hulltest.net=10.77.0.2,10.77.0.1" --net "$tap,mac=52:54:00:12:34:56"
	ip link del "$tap"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST net OK echo reply from 10.77.0.1"* ]]
}

@test "vmm: control socket: status, pause, resume, memory, stop" {
	command -v socat >/dev/null || skip "no socat"
	local sock=/tmp/hull-vmm-api-$$.sock log=$BATS_TEST_TMPDIR/console.log
	"$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" --mem 128 \
		--cmdline "quiet hulltest.end=hang" --console "file:$log" --api-socket "$sock" \
		2>"$BATS_TEST_TMPDIR/stderr" </dev/null 3>&- &
	local pid=$!
	BG_PID=$pid
	wait_for "$log" "HULLTEST end hang"
	api() { echo "$1" | socat -t 5 - "UNIX-CONNECT:$sock"; }
	run api '{"cmd": "status"}'
	echo "$output"
	[[ "$output" == *'"state": "running"'* ]]
	[[ "$output" == *'"mem_mib": 128'* ]]
	run api '{"cmd": "pause"}'
	[[ "$output" == *'"ok": true'* ]]
	run api '{"cmd": "status"}'
	[[ "$output" == *'"state": "paused"'* ]]
	run api '{"cmd": "resume"}'
	run api '{"cmd": "status"}'
	[[ "$output" == *'"state": "running"'* ]]
	run api '{"cmd": "memory"}'
	echo "$output"
	local resident rss
	resident=$(echo "$output" | sed -n 's/.*"guest_resident_kib": \([0-9]*\).*/\1/p')
	rss=$(echo "$output" | sed -n 's/.*"vmm_rss_kib": \([0-9]*\).*/\1/p')
	# guest RAM is touched on demand: resident, but less than all 128 MiB
	[ "$resident" -gt 0 ]
	[ "$resident" -lt $((128 * 1024)) ]
	[ "$rss" -gt 0 ]
	run api 'not json'
	[[ "$output" == *'"ok": false'* ]]
	run api '{"cmd": "stop"}'
	[[ "$output" == *'"ok": true'* ]]
	local status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/stderr"
	[ "$status" -eq 0 ]
	[ ! -e "$sock" ]
}

@test "vmm: the guest's clock and timer tick work (busy loop, nanosleep, a spinning task)" {
	# Without a working LAPIC timer the guest's tick-driven clocks stand
	# still and a task spinning in user space is never preempted.
	run vmm bzImage "hulltest.time=1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HULLTEST time_busy OK"* ]]
	[[ "$output" == *"HULLTEST time_sleep OK"* ]]
	[[ "$output" == *"HULLTEST time_sleep_busy OK"* ]]
}

@test "vmm: virtio-vsock (hybrid): 1 MiB echoed guest->host and host->guest" {
	vsock_echo ""
}

@test "vmm: virtio-vsock with a guest task spinning on the only vCPU" {
	vsock_echo "hulltest.busy=1"
}

vsock_echo() { # EXTRA_CMDLINE
	command -v python3 >/dev/null || skip "no python3"
	local uds=/tmp/hull-vmm-vsock-$$.sock log=$BATS_TEST_TMPDIR/console.log
	# host echo server on <uds>_5000: the guest connects to host port 5000
	python3 - "${uds}_5000" 3>&- <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
c.shutdown(socket.SHUT_WR)
PY
	local echo_pid=$!
	# the guest connects early: the echo server must be listening by then
	for _ in $(seq 300); do [ -S "${uds}_5000" ] && break; sleep 0.1; done
	"$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" --mem 128 \
		--vsock "3,$uds" --cmdline "quiet hulltest.vsock=5000 $1" --console "file:$log" \
		--log-level debug \
		2>"$BATS_TEST_TMPDIR/stderr" </dev/null 3>&- &
	local pid=$!
	BG_PID=$pid
	wait_for "$log" "HULLTEST vsock_h2g listening"
	# host -> guest: CONNECT 5001, then 1 MiB both ways at once
	run python3 - "$uds" <<'PY'
import hashlib, socket, sys, threading
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"CONNECT 5001\n")
line = b""
while not line.endswith(b"\n"):
    ch = s.recv(1)
    if not ch:
        sys.exit("closed before OK")
    line += ch
if not line.startswith(b"OK "):
    sys.exit("bad reply %r" % line)
data = bytes((i * 7 + (i >> 10)) & 0xff for i in range(1 << 20))
def send():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while len(got) < len(data):
    d = s.recv(65536)
    if not d:
        break
    got += d
t.join()
print("h2g", "OK" if hashlib.sha256(got).digest() == hashlib.sha256(data).digest() else "FAIL %d bytes" % len(got))
PY
	local h2g=$output
	local status=0
	wait "$pid" || status=$?
	kill "$echo_pid" 2>/dev/null || true
	echo "$h2g"
	grep HULLTEST "$log"
	cat "$BATS_TEST_TMPDIR/stderr"
	[[ "$h2g" == *"h2g OK"* ]]
	[ "$status" -eq 0 ]
	grep -q "HULLTEST vsock_g2h OK 1 MiB echoed" "$log"
	grep -q "HULLTEST vsock_h2g echoed 1048576 bytes" "$log"
}

@test "vmm: vsock bytes still buffered at guest poweroff reach the host" {
	command -v python3 >/dev/null || skip "no python3"
	local uds=/tmp/hull-vmm-flush-$$.sock log=$BATS_TEST_TMPDIR/console.log
	local err=$BATS_TEST_TMPDIR/vmm.err kib=384
	# The host end accepts but reads nothing until hull-vmm logs that the
	# guest is gone, so the socket fills and the VMM holds the rest when
	# the guest resets its devices and powers off; then it reads to EOF.
	python3 - "${uds}_5100" "$err" "$kib" >"$BATS_TEST_TMPDIR/reader.out" 3>&- <<'PY' &
import os, socket, sys, time
path, err, kib = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(1)
c, _ = s.accept()
deadline = time.time() + 600
while time.time() < deadline:
    if os.path.exists(err) and b"guest powered off" in open(err, "rb").read():
        break
    time.sleep(0.01)
got = bytearray()
while True:
    d = c.recv(65536)
    if not d:
        break
    got += d
n = kib * 1024
want = bytes((i * 7 + (i >> 10)) & 0xff for i in range(n))
print("flush got %d of %d bytes, %s" % (len(got), n, "intact" if bytes(got) == want[:len(got)] else "CORRUPT"))
PY
	local reader=$!
	for _ in $(seq 300); do [ -S "${uds}_5100" ] && break; sleep 0.1; done
	local vmm_status=0
	timeout 300 "$B/bin/hull-vmm" --kernel "$B/kernel/bzImage" --initrd "$INITRD" --mem 128 \
		--vsock "3,$uds" --cmdline "quiet hulltest.flush=5100,$kib" --console "file:$log" \
		--log-level debug 2>"$err" </dev/null 3>&- || vmm_status=$?
	wait "$reader" || true
	grep HULLTEST "$log"
	grep -i "vsock\|powered" "$err" || true
	cat "$BATS_TEST_TMPDIR/reader.out"
	[ "$vmm_status" -eq 0 ]
	grep -q "HULLTEST vsock_flush sent $((kib * 1024)) bytes" "$log"
	# the case under test happened: the VMM still held bytes at poweroff
	grep -q "the guest stopped with [1-9][0-9]* bytes owed to host sockets" "$err"
	grep -q "flush got $((kib * 1024)) of $((kib * 1024)) bytes, intact" "$BATS_TEST_TMPDIR/reader.out"
}
