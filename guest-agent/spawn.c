// SPDX-License-Identifier: Apache-2.0
/*
 * fork -> (cgroup, namespaces) -> fork -> (setup) -> [wait for start] -> exec.
 *
 * The agent is multi-threaded; fork() from glibc keeps malloc usable in the
 * single-threaded child, and everything after that runs in a process of its
 * own, so the setup code may allocate and report errors freely. unshare(2)
 * of CLONE_NEWPID only affects children, hence the second fork: the grandchild
 * is PID 1 of the new pid namespace (or joins the container's with setns).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "spawn.h"

/* Child side: write one record (atomic: shorter than PIPE_BUF). */
static void report(int fd, char kind, const void *data, uint16_t len)
{
	uint8_t buf[3 + 512];
	if (len > 512)
		len = 512;
	buf[0] = (uint8_t)kind;
	memcpy(buf + 1, &len, 2);
	if (len)
		memcpy(buf + 3, data, len);
	fd_write_full(fd, buf, 3u + len);
}

static _Noreturn void child_fail(int fd, struct err **err)
{
	const char *m = err_msg(*err);
	report(fd, 'E', m, (uint16_t)strlen(m));
	_exit(127);
}

int agent_spawn_report(int fd, pid_t *pid, struct err **err)
{
	uint8_t hdr[3];
	ssize_t n = fd_read_full(fd, hdr, 3);
	if (n == 0)
		return 1;
	if (n < 0)
		return err_set(err, (int)-n, "read child report");
	uint16_t len;
	memcpy(&len, hdr + 1, 2);
	char msg[513];
	if (len > 512 || (len && fd_read_full(fd, msg, len) != len))
		return err_set(err, EPROTO, "bad child report");
	msg[len] = '\0';
	switch (hdr[0]) {
	case 'R':
		return 0;
	case 'P':
		if (len != sizeof(uint32_t))
			return err_set(err, EPROTO, "bad pid report");
		uint32_t p;
		memcpy(&p, msg, sizeof(p));
		*pid = (pid_t)p;
		return 2;
	case 'E':
		return err_set(err, 0, "%s", msg);
	default:
		return err_set(err, EPROTO, "bad child report kind %d", hdr[0]);
	}
}

static void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

static int setup_stdio(const struct agent_spawn *s, struct err **err)
{
	if (setsid() < 0)
		return err_set(err, errno, "setsid");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		int fd = s->stdio[i] >= 0 ? s->stdio[i] : null;
		if (fd < 0)
			return err_set(err, errno, "open /dev/null");
		if (dup2(fd, i) < 0)
			return err_set(err, errno, "dup2 stdio %d", i);
	}
	if (s->terminal && ioctl(0, TIOCSCTTY, 0) < 0)
		return err_set(err, errno, "set controlling terminal");
	if (null >= 0 && null > 2)
		close(null);
	return 0;
}

static int set_names(const struct oci_spec *spec, struct err **err)
{
	bool uts = false;
	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces_len; i++)
		if (spec->linux_->namespaces[i].type == OCI_NS_UTS)
			uts = true;
	if (!uts)
		return 0;
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return err_set(err, errno, "sethostname %s", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return err_set(err, errno, "setdomainname %s", spec->domainname);
	return 0;
}

static int set_sysctls(const struct oci_linux *lx, struct err **err)
{
	for (size_t i = 0; lx && i < lx->sysctl.n; i++) {
		const char *k = lx->sysctl.items[i].key, *v = lx->sysctl.items[i].value;
		if (strstr(k, ".."))
			return err_set(err, 0, "sysctl %s: bad name", k);
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/sys/%s", k);
		for (char *c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, v, strlen(v)) < 0)
			return err_set(err, errno, "sysctl %s=%s", k, v);
	}
	return 0;
}

/* The container's process (grandchild): never returns. */
static _Noreturn void child_main(const struct agent_spawn *s, int report_fd, int sync_rd)
{
	struct err *err = NULL;
	const struct oci_seccomp *sc = s->spec->linux_ ? s->spec->linux_->seccomp : NULL;
	reset_signals();
	if (setup_stdio(s, &err) < 0)
		child_fail(report_fd, &err);
	/* No agent fd (sockets, other containers' pipes) may reach the
	 * container, whoever opened it without O_CLOEXEC. */
	syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
	const struct oci_personality *pers = s->spec->linux_ ? s->spec->linux_->personality : NULL;
	if (pers && personality(pers->persona) < 0) {
		err_set(&err, errno, "personality %s", pers->domain);
		child_fail(report_fd, &err);
	}
	if (!s->ns_pid) {
		if (agent_mounts_setup(s, &err) < 0 || set_names(s->spec, &err) < 0 ||
		    set_sysctls(s->spec->linux_, &err) < 0 || agent_mounts_finish(s, &err) < 0)
			child_fail(report_fd, &err);
		report(report_fd, 'R', NULL, 0);
		char go;
		ssize_t n;
		do
			n = read(sync_rd, &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(0); /* removed before start */
		close(sync_rd);
	}
	agent_proc_exec(s->proc, sc, &err);
	child_fail(report_fd, &err);
}

static int ns_flags(const struct oci_spec *spec, struct err **err)
{
	int flags = CLONE_NEWNS; /* always: the rootfs must not leak into the agent */
	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces_len; i++) {
		const struct oci_namespace *ns = &spec->linux_->namespaces[i];
		switch (ns->type) {
		case OCI_NS_NETWORK:
			continue; /* the VM is the network sandbox: shared by its containers */
		case OCI_NS_USER:
			return err_set(err, EOPNOTSUPP, "user namespaces are not supported");
		case OCI_NS_TIME:
			continue;
		default:
			break;
		}
		if (ns->path) {
			_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, ns->clone_flag) < 0)
				return err_set(err, errno, "join %s namespace %s",
					       oci_ns_name(ns->type), ns->path);
			continue;
		}
		flags |= ns->clone_flag;
	}
	return flags;
}

/* exec: enter every namespace of the container's init. */
static int join_ns(pid_t pid, struct err **err)
{
	static const struct {
		const char *name;
		int flag;
	} nss[] = {{"ipc", CLONE_NEWIPC},
		   {"uts", CLONE_NEWUTS},
		   {"cgroup", CLONE_NEWCGROUP},
		   {"pid", CLONE_NEWPID},
		   {"mnt", CLONE_NEWNS}};
	int fds[ARRAY_SIZE(nss)];
	/* Open all first: after entering the mount namespace /proc is the
	 * container's. */
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, nss[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return err_set(err, errno, "open %s", path);
	}
	char self[64], theirs[64];
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		snprintf(self, sizeof(self), "/proc/self/ns/%s", nss[i].name);
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, nss[i].name);
		char a[64] = "", b[64] = "";
		/* Skip namespaces the container shares with us: setns into
		 * our own pid namespace is an error. */
		if (readlink(self, a, sizeof(a) - 1) > 0 &&
		    readlink(theirs, b, sizeof(b) - 1) > 0 && strcmp(a, b) == 0)
			continue;
		if (setns(fds[i], nss[i].flag) < 0)
			return err_set(err, errno, "setns %s", nss[i].name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++)
		close(fds[i]);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Close every inherited fd but ours, first thing after fork. Another thread
 * of the agent may be setting up another container at the same time; without
 * this, our process would hold that container's pipe ends (its stdin write
 * end: no EOF on CloseStdin; its stdout write end: no EOF for the host) until
 * we exec, which for a created container may be much later.
 */
static void close_others(const struct agent_spawn *s, int report_fd, int sync_rd)
{
	int keep[5] = {report_fd, sync_rd, s->stdio[0], s->stdio[1], s->stdio[2]};
	qsort(keep, ARRAY_SIZE(keep), sizeof(keep[0]), cmp_int);
	unsigned lo = 3;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* The intermediate child: never returns. */
static _Noreturn void middle_main(const struct agent_spawn *s, int report_fd, int sync_rd)
{
	struct err *err = NULL;
	close_others(s, report_fd, sync_rd);
	if (s->cgroup && agent_cgroup_join(s->cgroup, getpid(), &err) < 0)
		child_fail(report_fd, &err);
	if (s->ns_pid) {
		if (join_ns(s->ns_pid, &err) < 0)
			child_fail(report_fd, &err);
	} else {
		int flags = ns_flags(s->spec, &err);
		if (flags < 0 || unshare(flags) < 0) {
			if (flags >= 0)
				err_set(&err, errno, "unshare namespaces");
			child_fail(report_fd, &err);
		}
	}
	pid_t pid = fork();
	if (pid < 0) {
		err_set(&err, errno, "fork");
		child_fail(report_fd, &err);
	}
	if (pid == 0)
		child_main(s, report_fd, sync_rd);
	uint32_t p = (uint32_t)pid;
	report(report_fd, 'P', &p, sizeof(p));
	_exit(0);
}

int agent_spawn(const struct agent_spawn *s, pid_t *pid, int *report_fd, int *sync_fd,
		struct err **err)
{
	int rep[2], syn[2] = {-1, -1};
	if (pipe2(rep, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe");
	if (!s->ns_pid && pipe2(syn, O_CLOEXEC) < 0) {
		close(rep[0]);
		close(rep[1]);
		return err_set(err, errno, "pipe");
	}
	pid_t mid = fork();
	if (mid < 0) {
		int e = errno;
		close(rep[0]);
		close(rep[1]);
		if (syn[0] >= 0) {
			close(syn[0]);
			close(syn[1]);
		}
		return err_set(err, e, "fork");
	}
	if (mid == 0) {
		close(rep[0]);
		if (syn[1] >= 0)
			close(syn[1]);
		middle_main(s, rep[1], syn[0]);
	}
	close(rep[1]);
	if (syn[0] >= 0)
		close(syn[0]);
	_cleanup_close_ int rfd = rep[0];
	_cleanup_close_ int sfd = syn[1];
	/* The intermediate is reaped by the agent's reaper thread. */
	*pid = -1;
	bool ready = false, done = false;
	while (!done) {
		pid_t p = -1;
		int r = agent_spawn_report(rfd, &p, err);
		if (r < 0) {
			if (*pid > 0)
				kill(*pid, SIGKILL);
			return r;
		}
		if (r == 2)
			*pid = p;
		else if (r == 0)
			ready = true;
		else
			done = true; /* EOF */
		if (!s->ns_pid && *pid > 0 && ready)
			break;
	}
	if (*pid <= 0)
		return err_set(err, ECHILD, "process did not start");
	if (!s->ns_pid && !ready)
		return err_set(err, ECHILD, "container init exited during setup");
	*report_fd = s->ns_pid ? -1 : TAKE_FD(rfd);
	*sync_fd = TAKE_FD(sfd);
	return 0;
}
