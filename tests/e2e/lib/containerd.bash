# SPDX-License-Identifier: Apache-2.0
# A private containerd (Debian's 1.6) for the shim's e2e tests
# (`load ../lib/containerd`): config, root, state and sockets under $CD (on
# tmpfs: the nested VM's shared tree cannot hold sockets), hull's host config
# in $HULL_CONFIG, the shim's state under $HULL_SHIM_ROOT.
#
#   containerd_env                 sets ROOT_DIR B CD HULL_* PATH (setup_file)
#   containerd_config [TOML...]    writes $CD/config.toml, extra lines appended
#   containerd_start / _stop       run it (a restart keeps root and state)
#   containerd_cleanup             kill our shims, containerd, unmount, rm $CD
#   ctr_ ARGS                      ctr on our socket, namespace hulltest
#   task_status_is ID STATUS       wait until `ctr task ls` says so
#   no_leftovers                   no shim, hull-vmm, virtiofsd, mount or socket

# shellcheck source=image.bash
source "${BASH_SOURCE[0]%/*}/image.bash"

RUNTIME=io.containerd.hull.v2
VIRTIOFSD=/usr/lib/qemu/virtiofsd

containerd_env() {
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=${BUILD:-build}
	[[ "$B" = /* ]] || B=$ROOT_DIR/$B
	export ROOT_DIR B
	local f
	for f in bin/containerd-shim-hull-v2 bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel initramfs)" >&2; return 1; }
	done
	command -v containerd >/dev/null || skip "no containerd"
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT_DIR/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
	CD=$(mktemp -d /tmp/hull-cd-test.XXXXXX)
	export CD
	export HULL_CONFIG=$CD/hull.json HULL_SHIM_ROOT=$CD/shim PATH=$B/bin:$PATH
	# guests boot under TCG here, slower still when the host is loaded
	export HULL_SHIM_BOOT_TIMEOUT_MS=120000
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 256,
 "rootfs": "${HULL_TEST_ROOTFS:-block}"}
JSON
}

containerd_config() {
	{
		cat <<TOML
version = 2
root = "$CD/root"
state = "$CD/state"
[grpc]
  address = "$CD/containerd.sock"
[ttrpc]
  address = "$CD/containerd.sock.ttrpc"
[debug]
  level = "debug"
TOML
		local line
		for line in "$@"; do echo "$line"; done
	} >"$CD/config.toml"
}

containerd_start() {
	# 3>&-: bats waits on fd 3; a daemon holding it would hang the run
	containerd --config "$CD/config.toml" >>"$CD/containerd.log" 2>&1 3>&- &
	echo $! >"$CD/containerd.pid"
	local _
	for _ in $(seq 300); do
		ctr -a "$CD/containerd.sock" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -30 "$CD/containerd.log" >&2
	return 1
}

containerd_stop() {
	local pid
	pid=$(cat "$CD/containerd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	local _
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
}

containerd_cleanup() {
	[ -n "${CD:-}" ] || return 0
	local p
	# shims of this containerd: their -address is our socket
	for p in $(pgrep -f -- "-address $CD/containerd.sock "); do kill -9 "$p" 2>/dev/null; done
	containerd_stop
	sleep 0.5
	# no mounts left is no failure (callers may run under set -e -o pipefail)
	{ grep -o " $CD/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$CD"
}

# A hung ctr fails its test instead of holding bats' pipes (and the whole
# file) until the file's deadline.
ctr_() {
	timeout -k 10 "${HULL_CTR_TIMEOUT:-300}" ctr -a "$CD/containerd.sock" -n hulltest "$@"
}

# Wait until `ctr task ls` shows task $1 with status $2.
task_status_is() {
	local _
	for _ in $(seq 300); do
		ctr_ task ls | grep -qE "^$1[[:space:]].*[[:space:]]$2([[:space:]]|$)" && return 0
		sleep 0.2
	done
	ctr_ task ls >&2
	return 1
}

# Nothing of a finished task stays: no shim of ours, no hull-vmm, no
# virtiofsd, no mount under containerd's state or the shim's root, no socket
# under the shim's root (zombies count as gone).
no_leftovers() {
	local p left= _
	for _ in $(seq 50); do
		left=
		for p in $(pgrep -f -- "-address $CD/containerd.sock "; pgrep -x hull-vmm; pgrep -x virtiofsd); do
			[ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
			left="$left $p"
		done
		[ -z "$left" ] && ! grep -q " $CD/state\| $HULL_SHIM_ROOT" /proc/mounts &&
			[ -z "$(find "$HULL_SHIM_ROOT" -type s 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	for p in $left; do echo "left behind: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2; done
	grep " $CD/state\| $HULL_SHIM_ROOT" /proc/mounts >&2
	find "$HULL_SHIM_ROOT" -type s >&2
	return 1
}

# What the shim and containerd said, when a test failed.
containerd_log_tail() {
	echo "--- containerd log (shim lines) ---" >&2
	grep -a 'containerd-shim-hull-v2\|level=error\|failed to load plugin' "$CD/containerd.log" |
		tail -"${1:-40}" >&2
}
