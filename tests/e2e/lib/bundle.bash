# SPDX-License-Identifier: Apache-2.0
# Busybox OCI bundles for end-to-end tests (bats helpers; `load ../lib/bundle`).
#
#   make_busybox_bundle DIR [ARG...]   DIR/rootfs (Debian's busybox-static, its
#                                      applets as hard links, as in the official
#                                      image) + DIR/config.json running ARGs
#                                      (default: sh), like `runc spec` with
#                                      terminal false
#   bundle_jq DIR FILTER [JQ-ARGS...]  edit DIR/config.json with jq
#   bundle_args DIR ARG...             set process.args
#
# The rootfs is built once per BUSYBOX_ROOTFS_CACHE (default
# $BATS_RUN_TMPDIR/busybox-rootfs) and copied with hard links (cp -al), so a
# bundle costs a few milliseconds. The config is the default spec of runc 1.1:
# its namespaces, mounts, masked and read-only paths and capabilities.

busybox_rootfs_build() {
	local root=$1 bb=${BUSYBOX:-/bin/busybox}
	[ -x "$bb" ] || { echo "busybox not found at $bb (apt install busybox-static)" >&2; return 1; }
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var,run}
	cp "$bb" "$root/bin/busybox"
	# One process for the ~400 links: a fork per applet takes minutes in the
	# nested test VM.
	python3 - "$root" "$bb" <<'PY' || return 1
import os, subprocess, sys
root, bb = sys.argv[1], sys.argv[2]
apps = subprocess.run([bb, "--list-full"], capture_output=True, text=True, check=True).stdout
for app in apps.split():
    if app == "bin/busybox":
        continue
    path = os.path.join(root, app)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    os.link(os.path.join(root, "bin/busybox"), path)
PY
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

busybox_config() {
	local args_json=$1
	cat <<JSON
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": {"uid": 0, "gid": 0},
		"args": $args_json,
		"env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts",
		 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		 "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		 "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs",
		 "options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		 "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
	],
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [
			{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
			{"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
			"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
			"/proc/sched_debug", "/sys/firmware", "/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
		]
	}
}
JSON
}

make_busybox_bundle() {
	local dir=$1
	shift
	local cache=${BUSYBOX_ROOTFS_CACHE:-${BATS_RUN_TMPDIR:-/tmp}/busybox-rootfs}
	if [ ! -x "$cache/bin/sh" ]; then
		rm -rf "$cache.tmp"
		busybox_rootfs_build "$cache.tmp" && mv "$cache.tmp" "$cache" || return 1
	fi
	mkdir -p "$dir"
	rm -rf "$dir/rootfs"
	# Across file systems cp -al fails half-way, leaving directories: without
	# the rm, cp -a would then copy the cache *into* the existing rootfs.
	cp -al "$cache" "$dir/rootfs" 2>/dev/null || { rm -rf "$dir/rootfs" && cp -a "$cache" "$dir/rootfs"; }
	local args='["sh"]'
	if [ $# -gt 0 ]; then
		args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
	fi
	busybox_config "$args" >"$dir/config.json"
}

bundle_jq() {
	local dir=$1 filter=$2
	shift 2
	jq "$@" "$filter" "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

bundle_args() {
	local dir=$1
	shift
	local args
	args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
	bundle_jq "$dir" ".process.args = $args"
}
