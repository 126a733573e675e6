// SPDX-License-Identifier: Apache-2.0
/*
 * Host processes a sandbox owns (hull-vmm, virtiofsd), identified by pid plus
 * start time so that a reused pid is never mistaken for ours or signalled.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fd.h"
#include "runtime/state.h"

/*
 * /proc/PID/stat is "pid (comm) state ppid ... starttime ...": comm may hold
 * spaces and parentheses, so fields are counted after the LAST ')'. The state
 * is field 3 and starttime field 22 (proc(5)).
 */
int rt_proc_start_time(pid_t pid, uint64_t *start)
{
	if (pid <= 0)
		return -ESRCH;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *buf = NULL;
	int r = fd_read_file(path, &buf, NULL, 4096);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	char state = *p;
	if (state == 'Z' || state == 'X' || state == 'x')
		return -ESRCH;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EIO;
	*start = v;
	return 0;
}

int rt_proc_get(pid_t pid, struct rt_proc *p)
{
	uint64_t start;
	int r = rt_proc_start_time(pid, &start);
	if (r < 0)
		return r;
	p->pid = pid;
	p->start = start;
	return 0;
}

bool rt_proc_alive(const struct rt_proc *p)
{
	uint64_t start;
	return p->pid > 0 && rt_proc_start_time(p->pid, &start) == 0 && start == p->start;
}

int rt_proc_kill(const struct rt_proc *p, int timeout_ms)
{
	if (!rt_proc_alive(p))
		return 0;
	/* A pidfd pins the process: after the start-time check, a signal sent
	 * through it cannot reach a new process that reused the pid. */
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (pfd < 0)
		return errno == ESRCH ? 0 : -errno;
	if (!rt_proc_alive(p))
		return 0;
	if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return -errno;
	/* The pidfd polls readable once the process has exited (a non-child
	 * then lingers only as a zombie of its own parent, which alive() skips). */
	struct pollfd pf = {.fd = pfd, .events = POLLIN};
	int r;
	do
		r = poll(&pf, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r > 0)
		/* reap it when it is our child (the monitor's VMM, a shim's) */
		waitpid(p->pid, NULL, WNOHANG);
	return r == 0 ? -ETIMEDOUT : 0;
}

static const struct rt_proc *host_proc(const struct rt_state *st)
{
	return st->monitor.pid > 0 ? &st->monitor : &st->vmm;
}

pid_t rt_state_pid(const struct rt_state *st)
{
	return host_proc(st)->pid;
}

enum rt_status rt_state_status(const struct rt_state *st)
{
	const struct rt_proc *p = host_proc(st);
	if (p->pid <= 0)
		return st->status == RT_STATUS_CREATING ? RT_STATUS_CREATING : RT_STATUS_STOPPED;
	/* the VMM must live too: a monitor whose VM died is about to exit */
	if (!rt_proc_alive(p) || (st->vmm.pid > 0 && !rt_proc_alive(&st->vmm)))
		return RT_STATUS_STOPPED;
	return st->status;
}
