// SPDX-License-Identifier: Apache-2.0
/*
 * hull-agent: PID 1 of the guest (no arguments needed: serves the API on
 * vsock port 1024 and stdio on 1025), or, for tests on the host,
 *
 *   hull-agent --listen unix:PATH [--stdio-listen unix:PATH2] [--cgroup-root DIR]
 *
 * which runs the same server on unix sockets (stdio on PATH.stdio by
 * default) inside a private mount namespace, so nothing it mounts is seen
 * by the host. Containers are killed when the host-mode agent gets
 * SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "agent.h"
#include "init.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "service.h"

static int listen_on(const char *addr, int def_port, struct err **err)
{
	int fd;
	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(addr + 5) >= sizeof(sa.sun_path))
			return err_set(err, ENAMETOOLONG, "socket path %s", addr + 5);
		strcpy(sa.sun_path, addr + 5);
		unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return err_set(err, e, "bind %s", addr);
		}
	} else if (strncmp(addr, "vsock:", 6) == 0 || strcmp(addr, "vsock") == 0) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY};
		sa.svm_port = addr[5] == ':' ? (unsigned)atoi(addr + 6) : (unsigned)def_port;
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return err_set(err, e, "bind vsock port %u", sa.svm_port);
		}
	} else {
		return err_set(err, 0, "listen address %s: expected unix:PATH or vsock[:PORT]",
			       addr);
	}
	if (listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "listen %s", addr);
	}
	return fd;
}

struct stdio_thread {
	struct agent *a;
	int fd;
};

static void *stdio_main(void *arg)
{
	struct stdio_thread *t = arg;
	int r = agent_stdio_serve(t->a, t->fd);
	log_error("stdio listener stopped: %s", strerror(-r));
	return NULL;
}

static struct agent agent;

/* Host mode: on SIGTERM/SIGINT kill every container, then exit. */
static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
	sigwait(set, &sig);
	log_info("signal %d: killing containers and exiting", sig);
	pthread_mutex_lock(&agent.lock);
	for (struct agent_container *c = agent.containers; c; c = c->next)
		if (c->init && c->init->state != PROC_EXITED && c->init->pid > 0)
			kill(c->init->pid, SIGKILL);
	pthread_mutex_unlock(&agent.lock);
	_exit(0);
}

static int host_mode_setup(const char *run_dir, struct err **err)
{
	/* Private mount namespace: container rootfs mounts stay ours. */
	if (unshare(CLONE_NEWNS) < 0)
		return err_set(err, errno, "unshare mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_set(err, errno, "make / private");
	mkdir(run_dir, 0711);
	if (mount("tmpfs", run_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711") < 0)
		return err_set(err, errno, "mount tmpfs on %s", run_dir);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hull-agent [--listen unix:PATH|vsock[:PORT]] [--stdio-listen ADDR]\n"
		   "                  [--cgroup-root DIR] [--run-dir DIR] [--log-level LEVEL]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"stdio-listen", required_argument, NULL, 's'},
	    {"cgroup-root", required_argument, NULL, 'c'},
	    {"run-dir", required_argument, NULL, 'r'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_addr = NULL, *stdio_addr = NULL, *cgroup_root = NULL;
	const char *run_dir = NULL;
	_cleanup_free_ char *stdio_buf = NULL;
	bool pid1 = getpid() == 1;
	log_set_ident("hull-agent");
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		enum log_level lvl;
		switch (o) {
		case 'l':
			listen_addr = optarg;
			break;
		case 's':
			stdio_addr = optarg;
			break;
		case 'c':
			cgroup_root = optarg;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'L':
			if (log_level_parse(optarg, &lvl) < 0) {
				usage(stderr);
				return 2;
			}
			log_set_level(lvl);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			/* The kernel passes unknown cmdline words to init: ignore. */
			if (pid1)
				break;
			usage(stderr);
			return 2;
		}
	}
	struct err *err = NULL;
	if (pid1) {
		if (agent_init_pid1(&err) < 0) {
			log_error("init: %s", err_msg(err));
			/* Keep PID 1 alive so the console shows the error. */
			for (;;)
				pause();
		}
		listen_addr = listen_addr ? listen_addr : "vsock:1024";
		stdio_addr = stdio_addr ? stdio_addr : "vsock:1025";
		cgroup_root = cgroup_root ? cgroup_root : "/sys/fs/cgroup";
		run_dir = run_dir ? run_dir : "/run/hull";
		mkdir(run_dir, 0711);
	} else {
		if (!listen_addr) {
			usage(stderr);
			return 2;
		}
		if (!stdio_addr) {
			if (asprintf(&stdio_buf, "%s.stdio", listen_addr) < 0)
				return 1;
			stdio_addr = stdio_buf;
		}
		run_dir = run_dir ? run_dir : "/run/hull-agent";
		if (host_mode_setup(run_dir, &err) < 0)
			goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	if (!pid1)
		pthread_sigmask(SIG_BLOCK, &term, NULL);
	if (agent_init(&agent, cgroup_root, run_dir, pid1, &err) < 0 ||
	    agent_reaper_start(&agent, &err) < 0)
		goto fail;
	pthread_t t;
	if (!pid1 && pthread_create(&t, NULL, signal_main, &term) == 0)
		pthread_detach(t);
	int api_fd = listen_on(listen_addr, AGENT_PORT_API, &err);
	if (api_fd < 0)
		goto fail;
	struct stdio_thread st = {&agent, listen_on(stdio_addr, AGENT_PORT_STDIO, &err)};
	if (st.fd < 0)
		goto fail;
	if (pthread_create(&t, NULL, stdio_main, &st) != 0) {
		err_set(&err, errno, "start stdio thread");
		goto fail;
	}
	pthread_detach(t);
	struct ttrpc_server *srv = NULL;
	if (agent_service_new(&agent, &srv, &err) < 0)
		goto fail;
	/* CLOCK_BOOTTIME counts from kernel start: as PID 1 this is the
	 * agent-ready time after kernel start. */
	log_info("ready: api %s, stdio %s%s, %lld ms after boot", listen_addr, stdio_addr,
		 agent.cgroup_root ? "" : " (no cgroups)",
		 (long long)(agent_now_ns(CLOCK_BOOTTIME) / 1000000));
	int r = ttrpc_server_serve(srv, api_fd);
	log_error("api server stopped: %s", strerror(-r));
	ttrpc_server_free(srv);
	/* PID 1 exiting panics the guest; stay so the console stays readable. */
	if (pid1)
		for (;;)
			pause();
	return 1;
fail:
	log_error("%s", err_msg(err));
	err_free(&err);
	if (pid1)
		for (;;)
			pause();
	return 1;
}
