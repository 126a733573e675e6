# SPDX-License-Identifier: Apache-2.0
# A host-mode hull-agent for end-to-end tests (`load ../lib/agent`).
#
#   agent_setup_file [AGENT-ARGS...]  build if needed, start the agent on a
#                                     socket under a fresh /tmp dir ($ADIR);
#                                     exports HULL_AGENT for agentctl
#   agent_teardown_file               stop it (SIGTERM kills its containers)
#   actl ARGS...                      run agentctl
#
# $ROOT is the repository, $B the build dir ($BUILD, default build).

agent_paths() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
	B="${BUILD:-build}"
	[[ "$B" = /* ]] || B="$ROOT/$B"
	export ROOT B
	export AGENT_BIN="$B/bin/hull-agent" AGENTCTL="$B/tests/tools/agentctl"
}

agent_setup_file() {
	agent_paths
	if [ ! -x "$AGENT_BIN" ] || [ ! -x "$AGENTCTL" ]; then
		make -s -C "$ROOT" BUILD="$B" agent-tools >&2 || return 1
	fi
	# Sockets on tmpfs: the nested test VM cannot hold them on 9p.
	export ADIR="$(mktemp -d /tmp/hull-agent-e2e-XXXXXX)"
	export BUSYBOX_ROOTFS_CACHE="$ADIR/busybox-rootfs"
	export HULL_AGENT="unix:$ADIR/agent.sock"
	# 3>&-: bats waits on fd 3; a daemon holding it would hang the run.
	"$AGENT_BIN" --listen "$HULL_AGENT" --run-dir "$ADIR/run" --log-level debug "$@" \
		>"$ADIR/agent.log" 2>&1 3>&- &
	echo $! >"$ADIR/agent.pid"
	for _ in $(seq 100); do
		"$AGENTCTL" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "agent did not come up:" >&2
	cat "$ADIR/agent.log" >&2
	return 1
}

agent_teardown_file() {
	[ -n "${ADIR:-}" ] || return 0
	if [ -f "$ADIR/agent.pid" ]; then
		local pid
		pid=$(cat "$ADIR/agent.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
	fi
	rm -rf "$ADIR"
}

actl() {
	"$AGENTCTL" "$@"
}
