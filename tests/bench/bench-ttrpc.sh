#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ttrpc unary round-trip latency over a unix socket (hull's lib/ttrpc client
# and server in one process, an AF_UNIX socketpair between them).
#   tests/bench/bench-ttrpc.sh [CALLS]      BUILD=<dir> selects the build tree
set -eu
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tests/tools/ttrpc_bench" >&2
exec "$BUILD/tests/tools/ttrpc_bench" "${1:-10000}"
