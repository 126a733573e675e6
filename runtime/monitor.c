// SPDX-License-Identifier: Apache-2.0
/*
 * Starting a monitor (see runtime/monitor.h). The parent forks it and reads
 * one report from a pipe: "OK" once the process exists with its stdio
 * attached, or the error text. The monitor never writes to its own stdio
 * (they belong to the container), so its log goes to a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "runtime/agent_client.h"
#include "runtime/monitor.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

#define REPORT_MAX 65536 /* bytes of error text a monitor may report */

/* Send the pty master to the console socket as runc does: the fd in
 * SCM_RIGHTS, the pty's name as the payload. */
static int send_console(const char *path, int master, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "console socket %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_set(err, errno, "connect to console socket %s", path);
	char name[64];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		snprintf(name, sizeof(name), "/dev/ptmx");
	struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		return err_set(err, errno, "send the pty master to %s", path);
	return 0;
}

/* A host pty whose master goes to the console socket; we keep the slave as
 * our controlling terminal (so a resize of the master signals SIGWINCH to
 * us) in raw mode: the guest's pty does the line discipline. */
static int open_pty(const char *console_socket, struct err **err)
{
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return err_set(err, errno, "open a pty");
	char name[64];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return err_set(err, errno, "pty name");
	int slave = open(name, O_RDWR | O_CLOEXEC);
	if (slave < 0)
		return err_set(err, errno, "open %s", name);
	struct termios t;
	if (tcgetattr(slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(slave, TCSANOW, &t);
	}
	ioctl(slave, TIOCSCTTY, 0);
	int r = send_console(console_socket, master, err);
	if (r < 0) {
		close(slave);
		return r;
	}
	return slave;
}

static void open_log(const struct rt_monitor_opts *o)
{
	if (!o->log_to_state_dir)
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s/monitor-%s.log", o->root, o->id,
		 o->exec_id ? o->exec_id : "init");
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	log_set_fd(fd >= 0 ? fd : open("/dev/null", O_WRONLY | O_CLOEXEC));
}

/* Create mode: boot the sandbox (we become hull-vmm's parent) and record
 * ourselves as the container's host process. */
static int create_sandbox(const struct rt_monitor_opts *o, pid_t *vmm, struct err **err)
{
	struct rt_sandbox_create so = *o->create;
	so.stdio = (struct rt_agent_stdio){.open_stdin = !o->terminal,
					   .open_stdout = !o->terminal,
					   .open_stderr = !o->terminal,
					   .terminal = o->terminal};
	so.tie_to_caller = true;
	struct rt_container *c = NULL;
	int r = rt_sandbox_create(&so, &c, err);
	if (r < 0)
		return r;
	*vmm = c->state.vmm.pid;
	if ((r = rt_proc_get(getpid(), &c->state.monitor)) < 0)
		r = err_set(err, -r, "monitor");
	if (r >= 0)
		r = rt_container_save(c, err);
	if (r < 0) {
		struct err *e = NULL;
		rt_sandbox_destroy(c, &e);
		err_free(&e);
	}
	rt_container_close(c);
	return r;
}

static int exec_process(const struct rt_monitor_opts *o, struct rt_agent *agent, struct err **err)
{
	struct rt_agent_stdio st = {.open_stdin = !o->terminal,
				    .open_stdout = !o->terminal,
				    .open_stderr = !o->terminal,
				    .terminal = o->terminal};
	pid_t pid;
	return rt_agent_exec_process(agent, o->id, o->exec_id, o->process_json, o->process_len, &st,
				     &pid, err);
}

static int connect_agent(const struct rt_monitor_opts *o, struct rt_agent **agent, struct err **err)
{
	_cleanup_rt_container_ struct rt_container *c = NULL;
	_cleanup_free_ char *addr = NULL;
	int r = rt_container_open(o->root, o->id, false, &c, err);
	if (r < 0)
		return r;
	if (!o->create && rt_state_status(&c->state) != RT_STATUS_RUNNING &&
	    rt_state_status(&c->state) != RT_STATUS_CREATED)
		return err_set(err, 0, "cannot exec in a stopped container");
	if ((r = rt_sandbox_agent_addr(c, &addr, err)) < 0)
		return r;
	return rt_agent_connect(addr, 2000, agent, err);
}

/* Attach the process's streams to our stdio (or a pty) and fill the relay. */
static int attach(const struct rt_monitor_opts *o, struct rt_relay *rl, struct err **err)
{
	const char *x = o->exec_id;
	if (o->terminal) {
		int host = 0;
		if (o->console_socket && (host = open_pty(o->console_socket, err)) < 0)
			return host;
		rl->in_fd = host;
		rl->out_fd = o->console_socket ? host : 1;
		rl->winsz_fd = host;
		rl->s_out = rt_agent_attach(rl->agent, o->id, x, "tty", err);
		rl->s_in = rl->s_out < 0 ? -1 : dup(rl->s_out);
		return rl->s_out < 0 ? rl->s_out : 0;
	}
	rl->in_fd = 0;
	rl->out_fd = 1;
	rl->err_fd = 2;
	if ((rl->s_out = rt_agent_attach(rl->agent, o->id, x, "stdout", err)) < 0 ||
	    (rl->s_err = rt_agent_attach(rl->agent, o->id, x, "stderr", err)) < 0 ||
	    (rl->s_in = rt_agent_attach(rl->agent, o->id, x, "stdin", err)) < 0)
		return -EIO;
	return 0;
}

static int report(int fd, int r, struct err *e)
{
	const char *msg = r < 0 ? err_msg(e) : "OK";
	if (r < 0 && !msg[0])
		msg = strerror(-r);
	if (fd_write_full(fd, msg, strlen(msg)) < 0)
		return -EPIPE;
	close(fd);
	return 0;
}

/* Nothing of the caller's but stdio may stay open in a long-lived process
 * (bats, for one, waits for its fd 3 to close). */
static void close_inherited(int keep1, int keep2)
{
	int lo = keep1 < keep2 ? keep1 : keep2, hi = keep1 < keep2 ? keep2 : keep1;
	int from = 3;
	for (int k = 0; k < 2; k++) {
		int keep = k ? hi : lo;
		if (keep >= from) {
			if (keep > from)
				close_range((unsigned)from, (unsigned)keep - 1, 0);
			from = keep + 1;
		}
	}
	close_range((unsigned)from, ~0U, 0);
}

__attribute__((noreturn)) static void monitor_main(const struct rt_monitor_opts *o, int report_fd)
{
	_cleanup_err_ struct err *err = NULL;
	/* Our own session, as a runc container's process: a ^C meant for the
	 * caller's terminal does not reach us directly (hull run forwards it). */
	setsid();
	close_inherited(report_fd, log_get_fd());
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	rt_relay_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct rt_relay rl = {.id = o->id,
			      .exec_id = o->exec_id,
			      .in_fd = -1,
			      .err_fd = -1,
			      .s_in = -1,
			      .s_out = -1,
			      .s_err = -1,
			      .winsz_fd = -1};
	rl.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int r = rl.sigfd < 0 ? err_set(&err, errno, "signalfd") : 0;
	bool created = false;
	if (r >= 0 && o->create)
		created = (r = create_sandbox(o, &rl.vmm, &err)) >= 0;
	if (r >= 0)
		open_log(o);
	if (r >= 0)
		r = connect_agent(o, &rl.agent, &err);
	if (r >= 0 && !o->create)
		r = exec_process(o, rl.agent, &err);
	if (r >= 0)
		r = attach(o, &rl, &err);
	if (r < 0 && created) {
		/* the sandbox exists: a monitor that cannot serve it takes it down */
		struct rt_container *c = NULL;
		struct err *e = NULL;
		if (rt_container_open(o->root, o->id, true, &c, &e) == 0) {
			rt_sandbox_destroy(c, &e);
			rt_container_close(c);
		}
		err_free(&e);
	}
	report(report_fd, r, err);
	if (r < 0)
		_exit(1);
	int status = rt_relay_run(&rl);
	log_debug("%s%s%s exited with status %d", o->id, o->exec_id ? "/" : "",
		  o->exec_id ? o->exec_id : "", status);
	/* Exiting takes the VM with us (PR_SET_PDEATHSIG); state says stopped. */
	_exit(status);
}

int rt_monitor_start(const struct rt_monitor_opts *o, pid_t *pid, struct err **err)
{
	if (o->size < sizeof(*o))
		return err_set(err, EINVAL, "rt_monitor_start: old options");
	if (!o->create && (!o->exec_id || !o->process_json))
		return err_set(err, EINVAL, "rt_monitor_start: nothing to run");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe");
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return err_set(err, e, "fork the monitor");
	}
	if (child == 0) {
		close(p[0]);
		monitor_main(o, p[1]);
	}
	close(p[1]);
	_cleanup_free_ char *msg = malloc(REPORT_MAX);
	size_t len = 0;
	ssize_t n;
	while (msg && len < REPORT_MAX - 1 &&
	       ((n = read(p[0], msg + len, REPORT_MAX - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(p[0]);
	if (msg)
		msg[len] = '\0';
	if (msg && strcmp(msg, "OK") == 0) {
		*pid = child;
		return 0;
	}
	/* it exits right after reporting a failure */
	int ws;
	while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
		;
	if (!msg || !len)
		return err_set(
		    err, 0, "the container's monitor process died while starting (status %#x)", ws);
	return err_set(err, 0, "%s", msg);
}

int rt_monitor_wait(pid_t pid)
{
	sigset_t set, old;
	rt_relay_sigset(&set);
	sigdelset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[2] = {{.fd = pfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	while (pfd >= 0 && poll(p, 2, -1) >= 0 && !p[0].revents) {
		struct signalfd_siginfo si;
		if (p[1].revents && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			kill(pid, (int)si.ssi_signo);
	}
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 255;
}
