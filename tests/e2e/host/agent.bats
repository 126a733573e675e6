#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull-agent in host mode (`hull-agent --listen unix:PATH`): busybox
# containers run through the real agent (same code as in the guest except
# PID-1 duties and vsock), driven by tests/tools/agentctl. Each OCI feature is
# checked from inside the container. cgroup limits need a pure cgroup2 host:
# they are in tests/e2e/kvm/agent-cgroup.bats.

bats_require_minimum_version 1.5.0
load ../lib/bundle
load ../lib/agent

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	agent_setup_file
}

teardown_file() {
	agent_teardown_file
}

setup() {
	BUN="$BATS_TEST_TMPDIR/bundle"
	make_busybox_bundle "$BUN" sh
	ID="c$BATS_TEST_NUMBER"
}

@test "agent: ping answers with the version" {
	run actl ping
	[ "$status" -eq 0 ]
	[ "$output" = "0.1.0" ]
}

@test "agent: exit status of 'exit 3' is 3" {
	bundle_args "$BUN" sh -c 'exit 3'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 3 ]
}

@test "agent: stdout and stderr arrive on their own streams" {
	bundle_args "$BUN" sh -c 'echo out; echo err >&2'
	run --separate-stderr actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "out" ]
	[ "$stderr" = "err" ]
}

@test "agent: stdin is copied to the process" {
	bundle_args "$BUN" sh -c 'read a; echo "got $a"'
	run actl run -i -b "$BUN" "$ID" <<<"hello"
	[ "$status" -eq 0 ]
	[ "$output" = "got hello" ]
}

@test "agent: 4 MB of output arrive whole" {
	bundle_args "$BUN" sh -c 'yes 0123456789abcdef | head -c 4194304'
	actl run -b "$BUN" "$ID" >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/out")" -eq 4194304 ]
}

@test "agent: output written before the host attaches is not lost" {
	bundle_args "$BUN" sh -c 'echo early; echo early-err >&2'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	run actl wait "$ID"
	[ "$output" = "0" ]
	# The process is gone; its output is still in the pipes.
	run actl attach "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *early* ]]
	[[ "$output" == *early-err* ]]
	actl rm "$ID"
}

@test "agent: the process is PID 1 of a new pid namespace" {
	bundle_args "$BUN" sh -c 'echo $$; ps | wc -l'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" -le 4 ] # header, sh, ps, wc
}

@test "agent: hostname comes from the spec" {
	bundle_args "$BUN" hostname
	bundle_jq "$BUN" '.hostname = "hull-test"'
	run actl run -b "$BUN" "$ID"
	[ "$output" = "hull-test" ]
	[ "$(hostname)" != "hull-test" ]
}

@test "agent: pivot_root: the host's files are not visible" {
	bundle_args "$BUN" sh -c 'ls /work /tmp/hull-agent-e2e-* 2>&1; awk "\$5 == \"/\"" /proc/self/mountinfo | wc -l'
	run actl run -b "$BUN" "$ID"
	[[ "$output" != *agent.sock* ]]
	[[ "$output" == *"/work: No such file"* ]]
	# Exactly one mount is "/": the rootfs, pivoted to (no chroot).
	[ "${lines[-1]}" = 1 ]
}

@test "agent: capabilities are the spec's (all five sets)" {
	bundle_args "$BUN" grep ^Cap /proc/self/status
	bundle_jq "$BUN" '.process.capabilities.inheritable = ["CAP_KILL"] | .process.capabilities.ambient = ["CAP_KILL"]'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	# CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_AUDIT_WRITE=29
	[[ "$output" == *"CapInh:	0000000000000020"* ]]
	[[ "$output" == *"CapPrm:	0000000020000420"* ]]
	[[ "$output" == *"CapEff:	0000000020000420"* ]]
	[[ "$output" == *"CapBnd:	0000000020000420"* ]]
	[[ "$output" == *"CapAmb:	0000000000000020"* ]]
}

@test "agent: no_new_privileges is set" {
	bundle_args "$BUN" grep NoNewPrivs /proc/self/status
	run actl run -b "$BUN" "$ID"
	[ "$output" = "NoNewPrivs:	1" ]
	bundle_jq "$BUN" '.process.noNewPrivileges = false'
	run actl run -b "$BUN" "$ID-b"
	[ "$output" = "NoNewPrivs:	0" ]
}

@test "agent: docker's default seccomp profile loads and the container works" {
	[ -f /usr/share/containers/seccomp.json ] || skip "no default seccomp profile installed"
	bundle_args "$BUN" sh -c 'grep ^Seccomp: /proc/self/status; echo works'
	bundle_jq "$BUN" '.linux.seccomp = $p[0]' --slurpfile p /usr/share/containers/seccomp.json
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Seccomp:	2" ]
	[ "${lines[1]}" = "works" ]
}

@test "agent: a seccomp rule returns its errno" {
	# Without the rule mkdir fails with EROFS (read-only root); with it,
	# with the rule's errno (1, EPERM).
	bundle_args "$BUN" mkdir /newdir
	run actl run -b "$BUN" "$ID-a"
	[[ "$output" == *"Read-only file system"* ]]
	bundle_jq "$BUN" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": ["SCMP_ARCH_X86_64"],
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	run actl run -b "$BUN" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "agent: rlimits apply (ulimit -n)" {
	bundle_args "$BUN" sh -c 'ulimit -n; ulimit -Hn'
	bundle_jq "$BUN" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]'
	run actl run -b "$BUN" "$ID"
	[ "${lines[0]}" = 321 ]
	[ "${lines[1]}" = 654 ]
}

@test "agent: user, group and additional groups (id)" {
	bundle_args "$BUN" id
	bundle_jq "$BUN" '.process.user = {"uid": 1234, "gid": 4321, "additionalGids": [10, 20]}'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "uid=1234 gid=4321 groups=10,20" ]
}

@test "agent: env, cwd and umask" {
	bundle_args "$BUN" sh -c 'echo "$FOO"; pwd; umask'
	bundle_jq "$BUN" '.process.env += ["FOO=bar baz"] | .process.cwd = "/etc" | .process.user.umask = 63'
	run actl run -b "$BUN" "$ID"
	[ "${lines[0]}" = "bar baz" ]
	[ "${lines[1]}" = "/etc" ]
	[ "${lines[2]}" = "0077" ]
}

@test "agent: ioPriority and personality" {
	bundle_args "$BUN" sh -c 'ionice -p $$; uname -m'
	bundle_jq "$BUN" '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0} |
		.linux.personality = {"domain": "LINUX32"}'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == idle* ]]
	[ "${lines[1]}" = i686 ]
}

@test "agent: oom_score_adj" {
	bundle_args "$BUN" cat /proc/self/oom_score_adj
	bundle_jq "$BUN" '.process.oomScoreAdj = 500'
	run actl run -b "$BUN" "$ID"
	[ "$output" = 500 ]
}

@test "agent: the read-only rootfs refuses writes" {
	bundle_args "$BUN" touch /newfile
	run actl run -b "$BUN" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	bundle_jq "$BUN" '.root.readonly = false'
	bundle_args "$BUN" sh -c 'touch /tmp/newfile && echo written'
	run actl run -b "$BUN" "$ID-rw"
	[ "$output" = written ]
}

@test "agent: a read-only path refuses writes" {
	bundle_args "$BUN" sh -c 'echo x > /proc/sys/kernel/domainname'
	run actl run -b "$BUN" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
}

@test "agent: a masked path reads empty" {
	bundle_args "$BUN" sh -c 'wc -c < /proc/keys; ls /sys/firmware | wc -l'
	run actl run -b "$BUN" "$ID"
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
}

@test "agent: /dev has the default devices, spec devices and the usual links" {
	bundle_args "$BUN" sh -c 'stat -c "%n %F %t,%T %a" /dev/null /dev/zero /dev/mine; for l in fd stdin ptmx; do readlink /dev/$l; done'
	bundle_jq "$BUN" '.linux.devices = [{"path": "/dev/mine", "type": "c", "major": 1, "minor": 7, "fileMode": 384}]'
	run actl run -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/null character special file 1,3 666" ]
	[ "${lines[1]}" = "/dev/zero character special file 1,5 666" ]
	[ "${lines[2]}" = "/dev/mine character special file 1,7 600" ]
	[ "${lines[3]}" = "/proc/self/fd" ]
	[ "${lines[4]}" = "/proc/self/fd/0" ]
	[ "${lines[5]}" = "pts/ptmx" ]
}

@test "agent: bind mounts (read-only) and tmpfs mounts with options" {
	mkdir -p "$BATS_TEST_TMPDIR/vol"
	echo "from host" >"$BATS_TEST_TMPDIR/vol/file"
	bundle_args "$BUN" sh -c 'cat /data/file; touch /data/x; echo "rc=$?"; grep " /scratch " /proc/mounts'
	bundle_jq "$BUN" '.mounts += [{"destination": "/data", "type": "bind", "source": $v, "options": ["rbind", "ro"]},
		{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m", "mode=700"]}]' \
		--arg v "$BATS_TEST_TMPDIR/vol"
	# stdout and stderr (touch's complaint) travel separately: no order between them
	run --separate-stderr actl run -b "$BUN" "$ID"
	[ "${lines[0]}" = "from host" ]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"/scratch tmpfs rw,nosuid"*"size=1024k,mode=700"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/vol/x" ]
}

@test "agent: sysctl is written in the container's namespace" {
	bundle_args "$BUN" cat /proc/sys/kernel/shmmni
	bundle_jq "$BUN" '.linux.sysctl = {"kernel.shmmni": "1234"}'
	run actl run -b "$BUN" "$ID"
	[ "$output" = 1234 ]
	[ "$(cat /proc/sys/kernel/shmmni)" != 1234 ]
}

@test "agent: SIGKILL gives exit status 137" {
	bundle_args "$BUN" sleep 1000
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	actl kill "$ID" 9
	run actl wait "$ID"
	[ "$status" -eq 137 ]
	[ "$output" = 137 ]
	actl rm "$ID"
}

@test "agent: kill --all reaches every process of the container" {
	# sh is PID 1 of its namespace without a TERM handler: only its
	# children die of SIGTERM, and it then reports that they did.
	bundle_args "$BUN" sh -c 'sleep 1000 & sleep 1000 & wait; echo "children gone"'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	sleep 0.2
	actl kill --all "$ID" 15
	run actl wait "$ID"
	[ "$status" -eq 0 ]
	run actl attach "$ID"
	[ "$output" = "children gone" ]
	actl rm "$ID"
}

@test "agent: exec joins the running container" {
	bundle_args "$BUN" sleep 1000
	bundle_jq "$BUN" '.hostname = "exec-host"'
	actl create -b "$BUN" "$ID"
	actl start "$ID"
	run actl exec -b "$BUN" "$ID" e1 -- sh -c 'hostname; cat /proc/1/cmdline | tr "\0" " "; echo; ls /work 2>&1; exit 7'
	[ "$status" -eq 7 ]
	[ "${lines[0]}" = "exec-host" ]
	[ "${lines[1]}" = "sleep 1000 " ]
	[[ "${lines[2]}" == *"No such file"* ]]
	run actl ps "$ID"
	[[ "$output" == *"sleep 1000"* ]]
	run actl exec -b "$BUN" "$ID" e1 -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]
	actl kill "$ID" 9
	actl wait "$ID" || true
	actl rm "$ID"
}

@test "agent: terminal: /dev/console is the pty, with the spec's size" {
	bundle_args "$BUN" sh -c 'tty; stty size'
	bundle_jq "$BUN" '.process.terminal = true | .process.consoleSize = {"height": 40, "width": 100}'
	run actl run -t -b "$BUN" "$ID" </dev/null
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "/dev/console"* ]]
	[[ "${lines[1]}" == "40 100"* ]]
}

@test "agent: CloseStdin gives the process EOF" {
	bundle_args "$BUN" sh -c 'cat; echo "stdin closed"'
	actl create -i -b "$BUN" "$ID"
	actl start "$ID"
	actl closein "$ID"
	run actl wait "$ID"
	[ "$status" -eq 0 ]
	run actl attach "$ID"
	[ "$output" = "stdin closed" ]
	actl rm "$ID"
}

@test "agent: ResizeTty changes the terminal size" {
	bundle_args "$BUN" sh -c 'read x; stty size'
	bundle_jq "$BUN" '.process.terminal = true'
	actl create -t -b "$BUN" "$ID"
	actl start "$ID"
	actl resize "$ID" 132 43
	run actl attach -t -i "$ID" <<<"go"
	[[ "$output" == *"43 132"* ]]
	run actl wait "$ID"
	[ "$status" -eq 0 ]
	actl rm "$ID"
}

@test "agent: a missing executable fails start with its name" {
	bundle_args "$BUN" /bin/no-such-program
	run actl run -b "$BUN" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"executable /bin/no-such-program"* ]]
}

@test "agent: a bad spec is refused naming the field" {
	bundle_jq "$BUN" '.process.args = 5'
	run actl create -b "$BUN" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.args"* ]]
}

@test "agent: resource limits without cgroup2 are refused clearly" {
	bundle_jq "$BUN" '.linux.resources.memory = {"limit": 33554432}'
	run actl create -b "$BUN" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cgroup2 is not available"* ]]
}

@test "agent: lifecycle errors say what is wrong" {
	bundle_args "$BUN" sleep 1000
	actl create -b "$BUN" "$ID"
	run actl create -b "$BUN" "$ID"
	[[ "$output" == *"already exists"* ]]
	run actl pause "$ID"
	[[ "$output" == *"invalid transition created→paused"* ]]
	actl start "$ID"
	run actl start "$ID"
	[ "$status" -ne 0 ]
	run actl rm "$ID"
	[[ "$output" == *"is running"* ]]
	actl rm -f "$ID"
	run actl wait "$ID"
	[[ "$output" == *"not found"* ]]
	run actl start "bad/id"
	[[ "$output" == *"not allowed"* ]]
}

@test "agent: create+start of busybox is quick (reported, not asserted)" {
	bundle_args "$BUN" true
	run actl run --time -b "$BUN" "$ID"
	[ "$status" -eq 0 ]
	echo "# $output" >&3
}
