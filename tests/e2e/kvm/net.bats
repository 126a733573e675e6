#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The pod's network in the VM (runtime/net.c, guest-agent/network.c): a
# network namespace set up by Debian's CNI plugins (bridge + host-local,
# IPv4 and IPv6) is carried into the guest over tc mirred redirects; the
# container gets the namespace's address, MAC, MTU, routes and permanent
# neighbours, pings the bridge's gateway, serves HTTP to the host, reaches a
# second sandbox over the bridge; teardown leaves no tap and no qdisc; a veth deleted while the
# container runs is logged and cleaned up; --net=host is refused. Needs a
# /dev/kvm that boots Linux:
#   make all kernel initramfs
#   hack/nested-kvm -- bats tests/e2e/kvm/net.bats

bats_require_minimum_version 1.5.0
load ../lib/bundle

VIRTIOFSD=/usr/lib/qemu/virtiofsd
CNI=/usr/lib/cni
BR=hullbr$$

setup_file() {
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
	B=$ROOT_DIR/${BUILD:-build}
	export ROOT_DIR B
	for f in bin/hull bin/hull-vmm kernel/bzImage initramfs.cpio.gz; do
		[ -e "$B/$f" ] || { echo "missing $B/$f (make all kernel initramfs)" >&2; return 1; }
	done
	export BUSYBOX_ROOTFS_CACHE=$BATS_FILE_TMPDIR/busybox-rootfs
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	"$ROOT_DIR/hack/kvm-check" -q || skip "this /dev/kvm cannot boot Linux (use hack/nested-kvm)"
	[ -x "$VIRTIOFSD" ] || skip "no $VIRTIOFSD"
	[ -x "$CNI/bridge" ] && [ -x "$CNI/host-local" ] || skip "no CNI plugins (containernetworking-plugins)"
	command -v tc >/dev/null || skip "no tc(8)"
	HULL=$B/bin/hull
	R=$(mktemp -d /run/hull-net-test.XXXXXX)
	export HULL_CONFIG=$R.config.json
	cat >"$HULL_CONFIG" <<JSON
{"kernel": "$B/kernel/bzImage", "initramfs": "$B/initramfs.cpio.gz",
 "vmm": "$B/bin/hull-vmm", "virtiofsd": "$VIRTIOFSD", "default_memory_mib": 256}
JSON
	NETNS=()
}

teardown() {
	local c ns
	# what the kernel said about our devices, for a failure's report
	dmesg | grep -E "tap|eth0|unregister|mirred|BUG|WARN" | tail -20 >&2 || true
	for c in c1 c2; do
		[ -e "$R/$c" ] || continue
		echo "### $c: vmm.log, console tail, create output" >&2
		cat "$R/$c/vmm.log" "$R.$c.out" >&2 2>/dev/null || true
		grep -v '^\[' "$R/$c/console.log" 2>/dev/null | tail -15 >&2 || true
	done
	for c in c1 c2; do "$HULL" --root "$R" delete -f $c 2>/dev/null || true; done
	for ns in "${NETNS[@]}"; do
		cni DEL "$ns" >/dev/null 2>&1 || true
		ip netns del "$ns" 2>/dev/null || true
	done
	ip link del "$BR" 2>/dev/null || true
	rm -rf "$R" "$R".*
}

# cni ADD|DEL NETNS: the bridge plugin with host-local IPAM, IPv4 and IPv6.
cni() {
	local cmd=$1 ns=$2
	cat >"$R.cni.json" <<JSON
{"cniVersion": "1.0.0", "name": "hullnet", "type": "bridge", "bridge": "$BR",
 "isGateway": true, "ipMasq": false, "hairpinMode": false,
 "ipam": {"type": "host-local", "dataDir": "$R/cni-ipam",
  "ranges": [[{"subnet": "10.89.7.0/24", "gateway": "10.89.7.1"}],
             [{"subnet": "fd00:89:7::/64", "gateway": "fd00:89:7::1"}]],
  "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}}
JSON
	CNI_COMMAND=$cmd CNI_CONTAINERID=$ns CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$CNI "$CNI/bridge" <"$R.cni.json"
}

# A namespace set up by CNI; prints nothing, sets NETNS.
cni_netns() {
	local ns=$1
	ip netns add "$ns"
	NETNS+=("$ns")
	cni ADD "$ns" >"$R.$ns.result" || { cat "$R.$ns.result" >&2; return 1; }
}

# Bundle dir, netns, args...: a busybox container in that namespace. The
# bundle goes beside the rootfs cache (BATS_TEST_TMPDIR): bundle.bash links
# the rootfs with cp -al, which cannot cross file systems.
net_bundle() {
	local dir=$1 ns=$2
	shift 2
	make_busybox_bundle "$dir" "$@"
	# ping needs a raw socket, as docker's default capabilities allow
	bundle_jq "$dir" '.root.readonly = false |
		.process.capabilities[] += ["CAP_NET_RAW"] |
		.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/run/netns/$ns"
}

start() {
	"$HULL" --root "$R" create --bundle "$1" "$2" </dev/null >"$R.$2.out" 2>&1 ||
		{ cat "$R.$2.out" >&2; return 1; }
	"$HULL" --root "$R" start "$2"
}

hx() {
	"$HULL" --root "$R" exec "$@" </dev/null
}

ns_addr() { # netns family -> the address CNI gave eth0
	ip -n "$1" -"$2" -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1
}

# Nothing of ours in the namespace: no tap, no ingress qdisc on eth0.
nothing_in_netns() {
	local ns=$1
	if ip -n "$ns" -o link show | grep -F _hull >&2; then
		echo "tap left behind in $ns" >&2
		return 1
	fi
	if ip -n "$ns" link show eth0 >/dev/null 2>&1 &&
		[[ "$(tc -n "$ns" qdisc show dev eth0 ingress)" == *"qdisc ingress"* ]]; then
		echo "ingress qdisc left on eth0 in $ns" >&2
		return 1
	fi
	[ -z "$(pgrep -x hull-vmm)" ]
}

@test "net: a CNI bridge network in the VM: address, MAC, MTU, IPv6, neighbours, ping, HTTP from the host, a second pod" {
	local ns1=hullns1$$ ns2=hullns2$$
	cni_netns "$ns1"
	ip -n "$ns1" link set eth0 mtu 1400
	# permanent neighbours made by hand are copied into the guest
	ip netns exec "$ns1" ip neigh add 10.89.7.200 lladdr 02:00:00:00:00:c8 dev eth0 nud permanent
	ip netns exec "$ns1" ip -6 neigh add fd00:89:7::c8 lladdr 02:00:00:00:00:c9 dev eth0 nud permanent
	net_bundle "$BATS_TEST_TMPDIR/b1" "$ns1" sh -c \
		'mkdir -p /www && echo hello-from-hull >/www/index.html && httpd -p 8080 -h /www && exec sleep 1000'
	start "$BATS_TEST_TMPDIR/b1" c1
	# the redirects both ways, on eth0 and on the tap
	run tc -n "$ns1" filter show dev eth0 ingress
	echo "$output"
	[[ "$output" == *"Redirect to device tap0_hull"* ]]
	run tc -n "$ns1" filter show dev tap0_hull ingress
	echo "$output"
	[[ "$output" == *"Redirect to device eth0"* ]]

	local v4 v6 mac
	v4=$(ns_addr "$ns1" 4)
	v6=$(ns_addr "$ns1" 6)
	mac=$(ip -n "$ns1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	[ -n "$v4" ] && [ -n "$v6" ] && [ -n "$mac" ]
	run hx c1 ip addr show eth0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet $v4/24"* ]]
	[[ "$output" == *"inet6 $v6/64"* ]]
	[[ "$output" == *"link/ether $mac"* ]]
	[[ "$output" == *"mtu 1400"* ]]
	run hx c1 ip route
	echo "$output"
	[[ "$output" == *"default via 10.89.7.1 dev eth0"* ]]
	run hx c1 ip -6 route
	echo "$output"
	[[ "$output" == *"default via fd00:89:7::1 dev eth0"* ]]
	run hx c1 ip -4 neigh
	echo "$output"
	echo "$output" | grep -q '^10\.89\.7\.200 dev eth0 lladdr 02:00:00:00:00:c8 .*PERMANENT'
	run hx c1 ip -6 neigh
	echo "$output"
	echo "$output" | grep -q '^fd00:89:7::c8 dev eth0 lladdr 02:00:00:00:00:c9 .*PERMANENT'

	# the gateway is the host's bridge, outside the VM
	run hx c1 ping -c 2 -W 10 10.89.7.1
	echo "$output"
	[ "$status" -eq 0 ]
	run hx c1 ping6 -c 2 -W 10 fd00:89:7::1
	echo "$output"
	[ "$status" -eq 0 ]

	# the host reaches the container's server, IPv4 and IPv6
	run curl -sS --max-time 60 "http://$v4:8080/"
	[ "$output" = hello-from-hull ]
	run curl -sS --max-time 60 -g "http://[$v6]:8080/"
	[ "$output" = hello-from-hull ]

	# a second pod on the bridge reaches the first
	cni_netns "$ns2"
	net_bundle "$BATS_TEST_TMPDIR/b2" "$ns2" sleep 1000
	start "$BATS_TEST_TMPDIR/b2" c2
	# (nc: static busybox's wget crashes resolving names without NSS)
	run hx c2 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc $v4 8080"
	echo "$output"
	[[ "$output" == *hello-from-hull* ]]

	"$HULL" --root "$R" delete -f c2
	"$HULL" --root "$R" delete -f c1
	nothing_in_netns "$ns1"
	nothing_in_netns "$ns2"
}

@test "net: the VMM dies: its tap goes with it, delete removes the redirect on eth0" {
	local ns=hullns3$$
	cni_netns "$ns"
	net_bundle "$BATS_TEST_TMPDIR/b1" "$ns" sleep 1000
	start "$BATS_TEST_TMPDIR/b1" c1
	ip -n "$ns" link show tap0_hull
	pkill -KILL -x hull-vmm
	# the kernel removes a tap whose last fd closed (the wait is bounded
	# only so that a kernel that keeps it fails here rather than hangs)
	local i
	for i in $(seq 300); do
		ip -n "$ns" link show tap0_hull >/dev/null 2>&1 || break
		sleep 0.2
	done
	run ip -n "$ns" link show tap0_hull
	[ "$status" -ne 0 ]
	run tc -n "$ns" qdisc show dev eth0 ingress
	[[ "$output" == *"qdisc ingress"* ]]
	"$HULL" --root "$R" delete -f c1
	nothing_in_netns "$ns"
}

@test "net: the veth is deleted while the container runs: a clear error, cleanup still works" {
	local ns=hullns4$$
	cni_netns "$ns"
	net_bundle "$BATS_TEST_TMPDIR/b1" "$ns" sleep 1000
	start "$BATS_TEST_TMPDIR/b1" c1
	ip -n "$ns" link del eth0
	run --separate-stderr "$HULL" --root "$R" delete -f c1
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"interface eth0 has gone from namespace /run/netns/$ns"* ]]
	nothing_in_netns "$ns"
	[ ! -e "$R/c1" ]
}

@test "net: --net=host (no network namespace) is refused with a reason" {
	make_busybox_bundle "$BATS_TEST_TMPDIR/b1" true
	bundle_jq "$BATS_TEST_TMPDIR/b1" '.linux.namespaces |= map(select(.type != "network"))'
	run --separate-stderr "$HULL" --root "$R" create --bundle "$BATS_TEST_TMPDIR/b1" c1
	echo "status $status, stderr: $stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"cannot share the host's network stack"* ]]
	[ ! -e "$R/c1" ]
	[ -z "$(pgrep -x hull-vmm)" ]
}

@test "net: an empty new network namespace gives the VM no NIC, only lo" {
	make_busybox_bundle "$BATS_TEST_TMPDIR/b1" sleep 1000
	start "$BATS_TEST_TMPDIR/b1" c1
	run hx c1 ip -o link
	echo "$output"
	[[ "$output" == *" lo:"* ]]
	[[ "$output" != *"eth0"* ]]
	"$HULL" --root "$R" delete -f c1
}

# podman with its default network (CNI on Debian 12: bridge + portmap) and a
# published port: podman makes the namespace and the port forward, hull
# carries the namespace into the VM.
@test "net: podman run -p 8080:80: the host reaches the container's port" {
	command -v podman >/dev/null || skip "no podman"
	local W=$R.podman
	mkdir -p "$W"/{root,runroot,tmp}
	export CONTAINERS_CONF=$W/containers.conf
	cat >"$CONTAINERS_CONF" <<TOML
[engine]
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HULL_CONFIG=$HULL_CONFIG"]
TOML
	make_busybox_bundle "$BATS_TEST_TMPDIR/pb" true
	mkdir -p "$BATS_TEST_TMPDIR/pb/rootfs/www"
	echo hello-from-podman >"$BATS_TEST_TMPDIR/pb/rootfs/www/index.html"
	p() {
		timeout -k 10 300 podman --root "$W/root" --runroot "$W/runroot" --tmpdir "$W/tmp" \
			--storage-driver vfs --events-backend file --runtime "$HULL" \
			--cgroup-manager cgroupfs "$@"
	}
	run --separate-stderr p run -d --name web -p 8080:80 --log-driver k8s-file \
		--rootfs "$BATS_TEST_TMPDIR/pb/rootfs" httpd -f -p 80 -h /www
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 0 ]
	local ip
	ip=$(p inspect -f '{{.NetworkSettings.IPAddress}}' web)
	echo "container ip $ip"
	# the forward from a host address podman's portmap rules cover
	run curl -sS --max-time 60 "http://$ip:80/"
	[ "$output" = hello-from-podman ]
	local host_ip
	host_ip=$(ip -4 -o addr show scope global | awk '$2 !~ /^(cni|hull|veth)/ {print $4}' | cut -d/ -f1 | head -1)
	[ -n "$host_ip" ] || host_ip=$(ip -4 -o addr show dev cni-podman0 | awk '{print $4}' | cut -d/ -f1)
	echo "host ip $host_ip"
	run curl -sS --max-time 60 "http://$host_ip:8080/"
	echo "$output"
	[ "$output" = hello-from-podman ]
	p rm -f web
	[ -z "$(pgrep -x hull-vmm)" ]
	rm -rf "$W"
}
