#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull create/start/state/delete booting real microVMs: hull-vmm with our
# kernel + initramfs (hull-agent as PID 1), the bundle's rootfs shared by
# Debian's virtiofsd. Checks the monitor is the container's host pid (with
# hull-vmm its child), the container really runs (its write lands in the host
# rootfs), stdio, exit statuses, exec, signals, a console socket, and that
# delete, every failed create and a crash of the VMM or the monitor leave
# nothing behind. Needs a /dev/kvm that
# boots Linux:
#   make BUILD=build/h-cli all kernel initramfs
#   BUILD=build/h-cli hack/nested-kvm -- bats tests/e2e/kvm/cli.bats

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/kvm_cli

setup_file() { kvm_cli_setup_file; }

setup() {
	# virtio-fs (writes land in the bundle) or block (an ext4 copy on virtio-blk)
	ROOTFS_MODE=${HULL_TEST_ROOTFS:-virtiofs}
	kvm_cli_setup cli 256 "$ROOTFS_MODE"
	BUNDLE=$BATS_TEST_TMPDIR/bundle
}

teardown() {
	"$HULL" --root "$R" delete -f c1 2>/dev/null || true
	rm -rf "$R" "$R".*
}

@test "kvm cli: create boots the VM, start runs the process, delete leaves nothing" {
	make_busybox_bundle "$BUNDLE" sh -c \
		'trap "echo got-term >/termed; exit 0" TERM; echo ran-in-hull >/proof; sleep 1000 & wait'
	bundle_jq "$BUNDLE" '.root.readonly = false'
	# the container's stdio are create's: not bats' capture pipes, which
	# would stay open as long as the container runs
	"$HULL" --root "$R" create --bundle "$BUNDLE" --pid-file "$R.pid" c1 \
		</dev/null >"$R.out" 2>&1 || { cat "$R.out"; false; }
	vmm=$(cat "$R.pid")
	[ "$(cat /proc/$vmm/comm)" = hull ]
	pgrep -P "$vmm" -x hull-vmm
	[ "$ROOTFS_MODE" = block ] || [ -n "$(pgrep -f "$R/c1/fs0.sock")" ]
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "created"'* ]]
	[[ "$output" == *"\"pid\": $vmm,"* ]]
	[ ! -e "$BUNDLE/rootfs/proof" ]

	run "$HULL" --root "$R" start c1
	echo "$output"
	[ "$status" -eq 0 ]
	# with virtio-fs the container's writes land in the bundle
	if [ "$ROOTFS_MODE" = virtiofs ]; then
		for _ in $(seq 100); do [ -e "$BUNDLE/rootfs/proof" ] && break; sleep 0.1; done
		[ "$(cat "$BUNDLE/rootfs/proof")" = ran-in-hull ]
	fi
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "running"'* ]]
	run "$HULL" --root "$R" start c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot start an already running container"* ]]

	run "$HULL" --root "$R" delete c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"that is not stopped: running"* ]]
	run "$HULL" --root "$R" resume c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container c1 is running, not paused"* ]]
	"$HULL" --root "$R" pause c1
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "paused"'* ]]
	"$HULL" --root "$R" resume c1
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "running"'* ]]
	run "$HULL" --root "$R" kill c1 BOGUS
	[ "$status" -eq 1 ]
	[[ "$output" == *'unknown signal "BOGUS"'* ]]
	"$HULL" --root "$R" kill c1 term
	if [ "$ROOTFS_MODE" = virtiofs ]; then
		for _ in $(seq 100); do [ -e "$BUNDLE/rootfs/termed" ] && break; sleep 0.1; done
		[ "$(cat "$BUNDLE/rootfs/termed")" = got-term ]
	fi
	"$HULL" --root "$R" delete -f c1
	[ ! -e "$R/c1" ]
	no_sandbox_left
}

@test "kvm cli: an id in use is refused and the first container is untouched" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	"$HULL" --root "$R" create -b "$BUNDLE" c1 </dev/null >/dev/null 2>&1
	run "$HULL" --root "$R" create -b "$BUNDLE" c1
	[ "$status" -eq 1 ]
	[[ "$output" == *"container with id c1 already exists"* ]]
	run "$HULL" --root "$R" state c1
	[[ "$output" == *'"status": "created"'* ]]
	"$HULL" --root "$R" delete c1
	no_sandbox_left
}

@test "kvm cli: a guest that never answers times out with the console tail, nothing left" {
	make_busybox_bundle "$BUNDLE" true
	# a kernel with an initramfs that has no /init panics instead of booting the agent
	echo garbage | gzip >"$R.bad-initrd"
	sed -i "s|$B/initramfs.cpio.gz|$R.bad-initrd|" "$HULL_CONFIG"
	HULL_BOOT_TIMEOUT_MS=20000 run "$HULL" --root "$R" create -b "$BUNDLE" c1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"guest agent "*"console tail:"* ]]
	[[ "$output" == *"Kernel panic"* || "$output" == *"initramfs"* ]]
	[ ! -e "$R/c1" ]
	no_sandbox_left
	rm -f "$R.bad-initrd"
}

@test "kvm cli: run relays the output, exits with the status, deletes the container" {
	make_busybox_bundle "$BUNDLE" sh -c 'echo out-line; echo err-line >&2; exit 7'
	run --separate-stderr "$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "$output" = out-line ]
	[[ "$stderr" == *err-line* ]]
	[ ! -e "$R/c1" ]
	no_sandbox_left
}

@test "kvm cli: run exits with 0, 3 and 137 (SIGKILL), stdin is piped in and echoed" {
	make_busybox_bundle "$BUNDLE" sh -c 'read x; echo "got $x"'
	run "$HULL" --root "$R" run -b "$BUNDLE" c1 <<<"piped-line"
	[ "$status" -eq 0 ]
	[ "$output" = "got piped-line" ]
	bundle_args "$BUNDLE" sh -c 'exit 3'
	run "$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null
	[ "$status" -eq 3 ]
	# the container's init cannot SIGKILL itself (pid 1 of its namespace)
	bundle_args "$BUNDLE" sleep 1000
	"$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null >/dev/null 2>&1 &
	local runner=$!
	for _ in $(seq 100); do
		"$HULL" --root "$R" state c1 2>/dev/null | grep -q '"status": "running"' && break
		sleep 0.1
	done
	"$HULL" --root "$R" kill c1 KILL
	status=0
	wait "$runner" || status=$?
	[ "$status" -eq 137 ]
	[ ! -e "$R/c1" ]
	no_sandbox_left
}

@test "kvm cli: 10 MiB of stdout arrive intact, stderr separately" {
	# the container makes the data and prints its checksum on stderr
	make_busybox_bundle "$BUNDLE" sh -c \
		'head -c 10485760 /dev/urandom >/dev/shm/d; sha256sum /dev/shm/d >&2; cat /dev/shm/d'
	"$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null >"$R.data" 2>"$R.err"
	[ "$(stat -c %s "$R.data")" -eq 10485760 ]
	[ "$(sha256sum <"$R.data" | cut -d' ' -f1)" = "$(cut -d' ' -f1 "$R.err")" ]
	rm -f "$R.data" "$R.err"
}

@test "kvm cli: exec runs in the container with its env, cwd, user and exit status" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	"$HULL" --root "$R" run -d -b "$BUNDLE" c1 </dev/null >/dev/null 2>&1
	run --separate-stderr "$HULL" --root "$R" exec -e FOO=bar --cwd /etc -u 1000:1001 c1 \
		sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"; cat /proc/1/cmdline | tr "\0" " "; echo e >&2; exit 4'
	echo "status $status: $output / $stderr"
	[ "$status" -eq 4 ]
	[ "${lines[0]}" = "bar /etc 1000:1001" ]
	[[ "${lines[1]}" == "sleep 1000"* ]]
	[ "$stderr" = e ]
	# -d: the monitor stands for the exec'd process and exits with it
	"$HULL" --root "$R" exec -d --pid-file "$R.epid" c1 sleep 1000 </dev/null >/dev/null 2>&1
	epid=$(cat "$R.epid")
	[ "$(cat /proc/$epid/comm)" = hull ]
	run "$HULL" --root "$R" exec c1 sh -c \
		'for c in /proc/[0-9]*/cmdline; do tr "\0" " " <$c; echo; done | grep -c "^sleep 1000"'
	[ "$output" = 2 ]
	run "$HULL" --root "$R" exec c1 no-such-command
	[ "$status" -ne 0 ]
	"$HULL" --root "$R" delete -f c1
	# the exec's monitor exits with its VM
	for _ in $(seq 50); do kill -0 "$epid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$epid" 2>/dev/null
	no_sandbox_left
}

@test "kvm cli: signals reach the container through hull kill and through its host pid" {
	# one line: make_busybox_bundle makes each line an argument
	make_busybox_bundle "$BUNDLE" true || { ls -la "$BUNDLE" "$BUSYBOX_ROOTFS_CACHE" | head -20; false; }
	make_busybox_bundle "$BUNDLE" sh -c 'trap "echo got-usr1" USR1; trap "echo got-hup" HUP; trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.2; done'
	"$HULL" --root "$R" create -b "$BUNDLE" --pid-file "$R.pid" c1 </dev/null >"$R.out" 2>&1
	"$HULL" --root "$R" start c1
	for _ in $(seq 100); do grep -q ready "$R.out" && break; sleep 0.1; done
	"$HULL" --root "$R" kill c1 USR1
	for _ in $(seq 100); do grep -q got-usr1 "$R.out" && break; sleep 0.1; done
	"$HULL" --root "$R" kill c1 1
	for _ in $(seq 100); do grep -q got-hup "$R.out" && break; sleep 0.1; done
	# a signal to the host pid is forwarded: what docker and conmon rely on
	kill -TERM "$(cat "$R.pid")"
	for _ in $(seq 100); do
		"$HULL" --root "$R" state c1 | grep -q '"status": "stopped"' && break
		sleep 0.1
	done
	cat "$R.out"
	grep -q got-usr1 "$R.out"
	grep -q got-hup "$R.out"
	grep -q got-term "$R.out"
	"$HULL" --root "$R" state c1 | grep -q '"status": "stopped"'
	"$HULL" --root "$R" delete c1
	no_sandbox_left
}

@test "kvm cli: delete --force of a running container leaves nothing" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	"$HULL" --root "$R" run -d -b "$BUNDLE" c1 </dev/null >/dev/null 2>&1
	"$HULL" --root "$R" state c1 | grep -q '"status": "running"'
	"$HULL" --root "$R" delete --force c1
	[ ! -e "$R/c1" ]
	no_sandbox_left
}

@test "kvm cli: -t with --console-socket gets the pty master; resize reaches the guest" {
	make_busybox_bundle "$BUNDLE" sh -c 'test -t 0 && echo is-a-tty; sleep 1; stty size'
	bundle_jq "$BUNDLE" '.process.terminal = true'
	run "$HULL" --root "$R" create -b "$BUNDLE" c1 </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot allocate tty if hull will detach without setting console socket"* ]]
	# a console socket receiver as containerd's and conmon's: take the master,
	# size it, read until the pty closes
	python3 - "$R.console" >"$R.tty" 2>&1 <<'PY' &
import fcntl, os, socket, struct, sys, termios
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1024, 1)
m = fds[0]
fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
while True:
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d:
        break
    sys.stdout.buffer.write(d)
    sys.stdout.flush()
PY
	rx=$!
	for _ in $(seq 50); do [ -S "$R.console" ] && break; sleep 0.1; done
	"$HULL" --root "$R" create -b "$BUNDLE" --console-socket "$R.console" c1 </dev/null >/dev/null 2>&1
	"$HULL" --root "$R" start c1
	wait "$rx"
	cat "$R.tty"
	grep -q is-a-tty "$R.tty"
	grep -q "40 100" "$R.tty"
	"$HULL" --root "$R" delete c1
	no_sandbox_left
}

@test "kvm cli: kill -9 of the VMM or of the monitor: stopped, delete cleans up" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	"$HULL" --root "$R" run -d -b "$BUNDLE" --pid-file "$R.pid" c1 </dev/null >/dev/null 2>&1
	kill -9 "$(pgrep -P "$(cat "$R.pid")" -x hull-vmm)"
	for _ in $(seq 50); do
		"$HULL" --root "$R" state c1 | grep -q '"status": "stopped"' && break
		sleep 0.1
	done
	"$HULL" --root "$R" state c1 | grep -q '"status": "stopped"'
	"$HULL" --root "$R" delete c1
	no_sandbox_left
	# the monitor: its VM goes with it (PR_SET_PDEATHSIG)
	"$HULL" --root "$R" run -d -b "$BUNDLE" --pid-file "$R.pid" c1 </dev/null >/dev/null 2>&1
	kill -9 "$(cat "$R.pid")"
	for _ in $(seq 50); do pgrep -x hull-vmm >/dev/null || break; sleep 0.1; done
	"$HULL" --root "$R" state c1 | grep -q '"status": "stopped"'
	"$HULL" --root "$R" delete c1
	no_sandbox_left
}

@test "kvm cli: hull create killed half-way (-9, guest still booting): delete cleans up" {
	make_busybox_bundle "$BUNDLE" sleep 1000
	"$HULL" --root "$R" create -b "$BUNDLE" c1 </dev/null >"$R.out" 2>&1 &
	local create=$!
	# kill it once the VMM runs: the sandbox is half made
	for _ in $(seq 300); do pgrep -x hull-vmm >/dev/null && break; sleep 0.1; done
	pgrep -x hull-vmm >/dev/null
	kill -9 "$create"
	wait "$create" || true
	run "$HULL" --root "$R" list
	echo "$output"
	run "$HULL" --root "$R" delete -f c1
	echo "$output"
	[ "$status" -eq 0 ]
	no_sandbox_left
	# and the id can be used again
	bundle_args "$BUNDLE" true
	timeout 300 "$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null
	no_sandbox_left
}

@test "kvm cli: files: rootfs writes land in the bundle, bind mounts (rw, ro, a file), ro rootfs" {
	[ "$ROOTFS_MODE" = virtiofs ] || skip "rootfs writes reach the bundle only over virtio-fs"
	mkdir -p "$R.vol" "$R.rovol"
	echo from-host >"$R.vol/in"
	echo ro-data >"$R.rovol/data"
	echo "nameserver 192.0.2.53" >"$R.resolv"
	make_busybox_bundle "$BUNDLE" sh -c 'cat /vol/in; echo from-guest >/vol/out; cat /ro/data; echo x >/ro/new || echo ro-refused; cat /etc/resolv.conf; echo w >/written-in-rootfs'
	bundle_jq "$BUNDLE" '.root.readonly = false'
	bundle_jq "$BUNDLE" '.mounts += [
		{"destination": "/vol", "type": "bind", "source": $v, "options": ["rbind", "rw"]},
		{"destination": "/ro", "type": "bind", "source": $r, "options": ["bind", "ro"]},
		{"destination": "/etc/resolv.conf", "type": "bind", "source": $f, "options": ["rbind", "ro"]}]' \
		--arg v "$R.vol" --arg r "$R.rovol" --arg f "$R.resolv"
	run --separate-stderr "$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null
	echo "status $status: $output / $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = from-host ]
	[ "${lines[1]}" = ro-data ]
	[ "${lines[2]}" = ro-refused ]
	[ "${lines[3]}" = "nameserver 192.0.2.53" ]
	[ "$(cat "$R.vol/out")" = from-guest ]
	[ ! -e "$R.rovol/new" ]
	[ "$(cat "$BUNDLE/rootfs/written-in-rootfs")" = w ]
	# the bundle's rootfs is intact after delete (its bind mount is gone first)
	[ -x "$BUNDLE/rootfs/bin/busybox" ]
	no_sandbox_left
	# root.readonly: the rootfs refuses writes
	bundle_args "$BUNDLE" sh -c 'echo x >/nope || echo refused'
	bundle_jq "$BUNDLE" '.root.readonly = true'
	run --separate-stderr "$HULL" --root "$R" run -b "$BUNDLE" c1 </dev/null
	echo "status $status: $output / $stderr"
	[ "$output" = refused ]
	[ ! -e "$BUNDLE/rootfs/nope" ]
	no_sandbox_left
}

@test "kvm cli: a bind mount of a missing host path fails create by name, nothing left" {
	make_busybox_bundle "$BUNDLE" true
	bundle_jq "$BUNDLE" '.mounts += [
		{"destination": "/vol", "type": "bind", "source": $v, "options": ["rbind"]}]' \
		--arg v "$R.missing"
	run "$HULL" --root "$R" create -b "$BUNDLE" c1 </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"mount /vol: $R.missing: No such file or directory"* ]]
	[ ! -e "$R/c1" ]
	no_sandbox_left
}

@test "kvm cli: virtiofsd killed under a running container: I/O fails, delete cleans up" {
	[ "$ROOTFS_MODE" = virtiofs ] || skip "needs the virtio-fs rootfs"
	make_busybox_bundle "$BUNDLE" sleep 1000
	bundle_jq "$BUNDLE" '.root.readonly = false'
	"$HULL" --root "$R" run -d -b "$BUNDLE" c1 </dev/null >/dev/null 2>&1
	run "$HULL" --root "$R" exec c1 sh -c 'echo before >/before; cat /before'
	echo "status $status: $output"
	[ "$output" = before ]
	pkill -9 -f "$R/c1/fs0.sock"
	# writes to the rootfs now fail in the guest (or the exec itself does)
	run "$HULL" --root "$R" exec c1 sh -c 'echo after >/after && sync /after && cat /after'
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	[ ! -e "$BUNDLE/rootfs/after" ]
	"$HULL" --root "$R" delete -f c1
	[ ! -e "$R/c1" ]
	no_sandbox_left
}
