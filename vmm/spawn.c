// SPDX-License-Identifier: Apache-2.0
/*
 * vmm_spawn(): start a hull-vmm process for a struct vmm_config. The config
 * goes over a pipe as JSON (`--config-fd 3`), so callers never assemble
 * command lines and nothing sensitive lands in argv or on disk. Tap fds of
 * cfg->nets are inherited at 4, 5, ... and the JSON names them there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fd.h"
#include "vmm/vmm.h"

#define CONFIG_FD 3
#define NET_FD    4 /* tap fds follow the config: 4, 5, ... */

/* In the child: put fd at target (or /dev/null for -1). Async-signal-safe. */
static int place_fd(int fd, int target, int flags)
{
	if (fd < 0) {
		fd = open("/dev/null", flags);
		if (fd < 0)
			return -1;
	}
	if (fd == target)
		return fcntl(fd, F_SETFD, 0); /* keep it across exec */
	return dup2(fd, target) < 0 ? -1 : 0;
}

__attribute__((noreturn)) static void child(const char *binary, int cfg_fd,
					    const struct vmm_spawn_opts *o, const int *nets,
					    unsigned n_nets, pid_t owner)
{
	/* Move the config pipe and the taps out of the way of 0-3+n first,
	 * then lay out the standard fds, the config at 3, the taps after it. */
	int tmp = fcntl(cfg_fd, F_DUPFD_CLOEXEC, 64);
	int net_tmp[VMM_MAX_NETS];
	for (unsigned i = 0; i < n_nets; i++)
		if ((net_tmp[i] = fcntl(nets[i], F_DUPFD_CLOEXEC, 64)) < 0)
			_exit(VMM_STATUS_ERROR);
	if (tmp < 0 || place_fd(o->stdin_fd, 0, O_RDONLY) < 0 ||
	    place_fd(o->stdout_fd, 1, O_WRONLY) < 0 ||
	    (o->stderr_fd >= 0 && place_fd(o->stderr_fd, 2, O_WRONLY) < 0) ||
	    dup2(tmp, CONFIG_FD) < 0)
		_exit(VMM_STATUS_ERROR);
	for (unsigned i = 0; i < n_nets; i++)
		if (dup2(net_tmp[i], NET_FD + (int)i) < 0) /* dup2 clears FD_CLOEXEC */
			_exit(VMM_STATUS_ERROR);
	if (o->parent_death_signal) {
		prctl(PR_SET_PDEATHSIG, o->parent_death_signal);
		/* the owner may have died between fork and prctl */
		if (getppid() != owner)
			_exit(VMM_STATUS_ERROR);
	}
	/* A fresh signal state: the caller may block or ignore signals. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	char *argv[] = {(char *)binary, "--config-fd", "3", NULL};
	execvp(binary, argv);
	_exit(127);
}

int vmm_spawn(const struct vmm_config *cfg, const struct vmm_spawn_opts *opts,
	      struct vmm_process *out)
{
	struct vmm_spawn_opts o = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	if (opts) {
		if (opts->size < sizeof(o))
			return -EINVAL;
		o = *opts;
	}
	if (!cfg || cfg->size < sizeof(*cfg) || !cfg->kernel)
		return -EINVAL;
	const char *binary = o.binary ? o.binary : "hull-vmm";
	char *json;
	if (cfg->n_nets > VMM_MAX_NETS)
		return -EINVAL;
	/* The child sees the taps at NET_FD + i; the JSON says so. */
	struct vmm_config moved = *cfg;
	int nets[VMM_MAX_NETS];
	for (unsigned i = 0; i < cfg->n_nets; i++) {
		nets[i] = cfg->nets[i].fd;
		moved.nets[i].fd = NET_FD + (int)i;
	}
	int r = vmm_config_to_json(&moved, &json);
	if (r < 0)
		return r;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		free(json);
		return r;
	}
	pid_t owner = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		free(json);
		return r;
	}
	if (pid == 0) {
		close(p[1]);
		child(binary, p[0], &o, nets, cfg->n_nets, owner);
	}
	close(p[0]);
	/* The child reads to EOF; a child that died early gives EPIPE, which
	 * its exit status explains better than we could. */
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (fd_write_full(p[1], json, strlen(json)) == -EPIPE) {
		/* Consume our SIGPIPE before unblocking it. */
		struct timespec zero = {0};
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	close(p[1]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(json);
	out->pid = pid;
	out->stdout_fd = -1;
	return 0;
}
