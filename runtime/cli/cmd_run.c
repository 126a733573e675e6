// SPDX-License-Identifier: Apache-2.0
/*
 * hull run [-d] [--bundle DIR] [--pid-file FILE] ID: create and start a
 * container. In the foreground its stdout and stderr are relayed, hull exits
 * with its exit status and the container is deleted afterwards, as runc does.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "runtime/agent_client.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static const struct rt_flag run_flags[] = {
    {"bundle,b", RT_FLAG_STRING,
     "path to the root of the bundle directory, defaults to the current directory", NULL},
    {"console-socket", RT_FLAG_STRING,
     "path to an AF_UNIX socket which will receive the pty master (not supported yet)", NULL},
    {"detach,d", RT_FLAG_BOOL, "detach from the container's process", NULL},
    {"pid-file", RT_FLAG_STRING, "specify the file to write the process id to", NULL},
    {"no-pivot", RT_FLAG_BOOL, "accepted: the guest agent always pivots into the rootfs", NULL},
    {"no-new-keyring", RT_FLAG_BOOL, "accepted: the container runs in its own kernel", NULL},
    {"preserve-fds", RT_FLAG_STRING,
     "number of additional fds to pass into the container (only 0 supported yet)", NULL},
};

/* Copy both streams to ours until each reaches EOF. */
static void relay(int out, int errfd)
{
	struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
	int dst[2] = {STDOUT_FILENO, STDERR_FILENO};
	char buf[16384];
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || fd_write_full(dst[i], buf, (size_t)n) < 0)
				p[i].fd = -1; /* EOF, or nobody reads ours any more */
		}
	}
}

/* Attach, start, relay, wait, delete. Once started, *cp is released (and
 * NULLed) so that state, kill and list are not blocked by our lock while the
 * container runs; before that, failures leave it to the caller. */
static int run_foreground(struct rt_cli *cli, struct rt_container **cp, struct err **err)
{
	struct rt_container *c = *cp;
	_cleanup_free_ char *id = strdup(c->state.id), *addr = NULL;
	struct rt_agent *agent = NULL;
	int r = id ? rt_sandbox_agent_addr(c, &addr, err) : err_set(err, ENOMEM, "run");
	if (r >= 0)
		r = rt_agent_connect(addr, 2000, &agent, err);
	if (r < 0)
		return r;
	_cleanup_close_ int out = rt_agent_attach(agent, id, NULL, "stdout", err);
	_cleanup_close_ int errfd = out < 0 ? -1 : rt_agent_attach(agent, id, NULL, "stderr", err);
	r = out < 0 ? out : errfd < 0 ? errfd : rt_cli_start(c, err);
	if (r >= 0) {
		rt_container_close(c);
		*cp = c = NULL;
		relay(out, errfd);
		struct rt_agent_exit ex;
		r = rt_agent_wait_process(agent, id, NULL, 0, &ex, err);
		if (r >= 0)
			r = ex.status;
	}
	rt_agent_free(agent);
	if (c)
		return r;
	/* gone from the store meanwhile (hull delete -f): nothing left to do */
	struct rt_container *again = NULL;
	struct err *e = NULL;
	if (rt_container_open(cli->root, id, true, &again, &e) == 0) {
		if (rt_sandbox_destroy(again, &e) < 0)
			log_error("container %s: delete: %s", id, err_msg(e));
		rt_container_close(again);
	}
	err_free(&e);
	return r;
}

static int run_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	bool detach = rt_args_bool(a, "detach");
	struct rt_agent_stdio stdio = {.open_stdout = !detach, .open_stderr = !detach};
	struct rt_container *c = NULL;
	int r = rt_cli_create(cli, a, &stdio, &c, err);
	if (r < 0)
		return r;
	r = detach ? rt_cli_start(c, err) : run_foreground(cli, &c, err);
	if (c) {
		/* a container that could not be started does not stay behind */
		struct err *e = NULL;
		if (r < 0 && rt_sandbox_destroy(c, &e) < 0)
			log_error("container %s: delete: %s", a->pos[0], err_msg(e));
		err_free(&e);
		rt_container_close(c);
	}
	return r;
}

const struct rt_cli_cmd rt_cmd_run = {
    .name = "run",
    .args_usage = "<container-id>",
    .summary = "create and run a container",
    .description = "The run command creates an instance of a container for a bundle and\n"
		   "   starts it; without --detach hull relays its output, exits with its\n"
		   "   exit status and deletes it.",
    .flags = run_flags,
    .n_flags = ARRAY_SIZE(run_flags),
    .min_args = 1,
    .max_args = 1,
    .run = run_run,
};
