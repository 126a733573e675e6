#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package hull needs to build, test, benchmark and run.
# Idempotent: a second run with everything present does no apt work at all.
set -eu

# Grouped by what needs them; keep README.md's table in step with this list.
BUILD="build-essential gcc clang lld llvm libclang-rt-14-dev pkg-config clang-format
  libseccomp-dev libcap-dev libyajl-dev libnl-3-dev libnl-route-3-dev
  libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev liburing-dev"
TEST="libcmocka-dev bats jq socat expect tmux python3 python3-grpcio python3-protobuf
  protobuf-compiler iproute2 iptables procps psmisc curl
  util-linux e2fsprogs kmod cpio xz-utils"
KERNEL="linux-source-6.1 bc flex bison libelf-dev libssl-dev lz4"
NESTED="qemu-system-x86 qemu-system-common qemu-utils linux-image-amd64 busybox-static"
CLIENTS="containerd runc crun runsc podman docker.io containernetworking-plugins
  umoci skopeo criu conmon"
BENCH="hyperfine gnuplot-nox iperf3"

PKGS=$(echo $BUILD $TEST $KERNEL $NESTED $CLIENTS $BENCH)

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Refresh the lists when they are absent or older than a day; a stale list
# names versions the mirror no longer has.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
	$SUDO apt-get update -qq
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
