#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Network benchmarks, hull vs crun in the same run (numbers, never pass/fail):
# prints key=value lines. Each runtime runs the same busybox bundle (plus
# Debian's iperf3 and its libraries) in its own network namespace on one CNI
# bridge (bridge + host-local, as tests/e2e/kvm/net.bats); the host is the
# client.
#   tcp_mbps_{hull,crun}      iperf3 TCP throughput host -> container, T
#                             seconds (default 10)
#   tcp_rev_mbps_{hull,crun}  the same, container -> host (iperf3 -R)
#   http_ms_{hull,crun}       median of N (default 50) HTTP requests to
#                             busybox httpd in the container (curl time_total)
#   *_ratio                   hull / crun
# VMM_ALT=/path/to/hull-vmm adds the same figures for that VMM build as
# "hullalt" (an A/B of a VMM change in the same run).
# Needs a /dev/kvm that boots Linux, e.g.
#   ./hack/nested-kvm --timeout 1500 -- tests/bench/bench-net.sh
# Under nested TCG every guest-side figure is far below real KVM.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
[[ "$B" = /* ]] || B=$ROOT/$B
HULL=$B/bin/hull
T=${T:-10}
N=${N:-50}
CNI=/usr/lib/cni
VIRTIOFSD=/usr/lib/qemu/virtiofsd

if ! "$ROOT/hack/kvm-check" -q; then
	echo "bench-net: skipped ($("$ROOT/hack/kvm-check" 2>&1 | head -1); use hack/nested-kvm)"
	exit 0
fi
for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
	[ -e "$B/$f" ] || { echo "bench-net: missing $B/$f (make all kernel initramfs)" >&2; exit 1; }
done
for t in iperf3 curl crun "$CNI/bridge"; do
	command -v "$t" >/dev/null || { echo "bench-net: missing $t (hack/install-deps.sh)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/hull-bench-net.XXXXXX)
R=$W/hull
BR=hullbrb$$
NETNS=()
cleanup() {
	"$HULL" --root "$R" delete -f h1 >/dev/null 2>&1 || true
	crun --root "$W/crun" delete -f c1 >/dev/null 2>&1 || true
	for ns in "${NETNS[@]}"; do
		cni DEL "$ns" >/dev/null 2>&1 || true
		ip netns del "$ns" 2>/dev/null || true
	done
	ip link del "$BR" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
export HULL_CONFIG=$W/hull.json
cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 512,
 "default_vcpus": 2}
JSON
export HULL_BOOT_TIMEOUT_MS=${HULL_BOOT_TIMEOUT_MS:-600000}
export BUSYBOX_ROOTFS_CACHE=$W/busybox-rootfs
# shellcheck source=../e2e/lib/bundle.bash
source "$ROOT/tests/e2e/lib/bundle.bash"

cni() {
	local cmd=$1 ns=$2
	CNI_COMMAND=$cmd CNI_CONTAINERID=$ns CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$CNI "$CNI/bridge" <<JSON
{"cniVersion": "1.0.0", "name": "hullbench", "type": "bridge", "bridge": "$BR",
 "isGateway": true, "ipMasq": false,
 "ipam": {"type": "host-local", "dataDir": "$W/cni-ipam",
  "ranges": [[{"subnet": "10.89.9.0/24", "gateway": "10.89.9.1"}]],
  "routes": [{"dst": "0.0.0.0/0"}]}}
JSON
}

# bundle DIR NETNS: busybox + iperf3 with its libraries, httpd and iperf3 servers
bundle() {
	local dir=$1 ns=$2 lib
	# httpd only once iperf3 listens, so that an answer means both do (one
	# line: make_busybox_bundle splits arguments at newlines)
	make_busybox_bundle "$dir" sh -c \
		'mkdir -p /www && echo hi >/www/index.html && iperf3 -s & until netstat -ltn | grep -q :5201; do sleep 0.1; done; exec httpd -f -p 8080 -h /www'
	cp /usr/bin/iperf3 "$dir/rootfs/bin/"
	for lib in $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
		mkdir -p "$dir/rootfs$(dirname "$lib")"
		cp -L "$lib" "$dir/rootfs$lib"
	done
	bundle_jq "$dir" '.root.readonly = false |
		.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/run/netns/$ns"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# measure NAME IP: the figures for one running container
measure() {
	local name=$1 ip=$2 i
	# the servers start with the container; wait until they answer (httpd
	# starts after iperf3 listens)
	for i in $(seq 600); do
		curl -s --max-time 2 "http://$ip:8080/" >/dev/null && break
		sleep 0.5
	done
	local dir
	for dir in fwd rev; do
		iperf3 -c "$ip" -t "$T" $([ $dir = rev ] && echo -R) -J >"$W/$name.$dir.json" || true
		if jq -e .error "$W/$name.$dir.json" >/dev/null; then
			echo "bench-net: $name iperf3 $dir: $(jq -r .error "$W/$name.$dir.json")" >&2
			tail -5 "$W"/*1.out >&2 || true
		fi
	done
	eval "tcp_$name=$(jq '(.end.sum_received.bits_per_second // 0) / 1e6 | floor' "$W/$name.fwd.json")"
	eval "tcp_rev_$name=$(jq '(.end.sum_received.bits_per_second // 0) / 1e6 | floor' "$W/$name.rev.json")"
	local ms
	ms=$(for i in $(seq "$N"); do
		curl -s -o /dev/null -w '%{time_total}\n' "http://$ip:8080/"
	done | median)
	eval "http_$name=$(awk -v s="$ms" 'BEGIN {printf "%.2f", s * 1000}')"
}

ns_ip() { ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }

for ns in hullbh$$ hullbc$$; do
	ip netns add "$ns"
	NETNS+=("$ns")
	cni ADD "$ns" >/dev/null
done
bundle "$W/bh" "hullbh$$"
bundle "$W/bc" "hullbc$$"

# run_hull NAME: the hull figures with the VMM the config names
run_hull() {
	"$HULL" --root "$R" run -d -b "$W/bh" h1 </dev/null >"$W/h1.out" 2>&1 ||
		{ echo "bench-net: hull run failed: $(tail -3 "$W/h1.out")" >&2; exit 1; }
	# the virtio feature bits the guest driver acked (bit 15: MRG_RXBUF)
	echo "features_$1=$("$HULL" --root "$R" exec h1 sh -c 'cat /sys/bus/virtio/drivers/virtio_net/virtio*/features' </dev/null)"
	measure "$1" "$(ns_ip "hullbh$$")"
	"$HULL" --root "$R" delete -f h1
}
run_hull hull
if [ -n "${VMM_ALT:-}" ]; then
	jq --arg v "$VMM_ALT" '.vmm = $v' "$HULL_CONFIG" >"$HULL_CONFIG.alt"
	HULL_CONFIG=$HULL_CONFIG.alt run_hull hullalt
fi

crun --root "$W/crun" run -d -b "$W/bc" c1 </dev/null >"$W/c1.out" 2>&1 ||
	{ echo "bench-net: crun run failed: $(tail -3 "$W/c1.out")" >&2; exit 1; }
measure crun "$(ns_ip "hullbc$$")"
crun --root "$W/crun" delete -f c1

echo "tcp_mbps_hull=$tcp_hull"
echo "tcp_mbps_crun=$tcp_crun"
echo "tcp_mbps_ratio=$(ratio "$tcp_hull" "$tcp_crun")"
echo "tcp_rev_mbps_hull=$tcp_rev_hull"
echo "tcp_rev_mbps_crun=$tcp_rev_crun"
echo "tcp_rev_mbps_ratio=$(ratio "$tcp_rev_hull" "$tcp_rev_crun")"
echo "http_ms_hull=$http_hull"
echo "http_ms_crun=$http_crun"
echo "http_ms_ratio=$(ratio "$http_hull" "$http_crun")"
if [ -n "${VMM_ALT:-}" ]; then
	echo "tcp_mbps_hullalt=$tcp_hullalt"
	echo "tcp_rev_mbps_hullalt=$tcp_rev_hullalt"
	echo "http_ms_hullalt=$http_hullalt"
fi
exit 0
