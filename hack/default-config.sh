#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints the default /etc/hull/config.json for an install under PREFIX.
prefix=${1:-/usr/local}
cat <<JSON
{
  "kernel": "$prefix/share/hull/bzImage",
  "initramfs": "$prefix/share/hull/initramfs.cpio.gz",
  "virtiofsd": "/usr/lib/qemu/virtiofsd",
  "vmm": "$prefix/bin/hull-vmm",
  "default_memory_mib": 128,
  "default_vcpus": 1,
  "log_level": "info"
}
JSON
