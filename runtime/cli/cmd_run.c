// SPDX-License-Identifier: Apache-2.0
/*
 * hull run [-d] [--bundle DIR] [--pid-file FILE] ID: create and start a
 * container. In the foreground its stdout and stderr are relayed, hull exits
 * with its exit status and the container is deleted afterwards, as runc does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "runtime/monitor.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static const struct rt_flag run_flags[] = {
    {"bundle,b", RT_FLAG_STRING,
     "path to the root of the bundle directory, defaults to the current directory", NULL},
    {"console-socket", RT_FLAG_STRING,
     "path to an AF_UNIX socket which will receive a file descriptor referencing the master end "
     "of the console's pseudoterminal",
     NULL},
    {"detach,d", RT_FLAG_BOOL, "detach from the container's process", NULL},
    {"pid-file", RT_FLAG_STRING, "specify the file to write the process id to", NULL},
    {"no-pivot", RT_FLAG_BOOL, "accepted: the guest agent always pivots into the rootfs", NULL},
    {"no-new-keyring", RT_FLAG_BOOL, "accepted: the container runs in its own kernel", NULL},
    {"preserve-fds", RT_FLAG_STRING,
     "number of additional fds to pass into the container (only 0 supported yet)", NULL},
};

/* Delete the container (it may already be gone: hull delete -f). */
static void remove_container(struct rt_cli *cli, const char *id)
{
	struct rt_container *c = NULL;
	struct err *e = NULL;
	if (rt_container_open(cli->root, id, true, &c, &e) == 0) {
		if (rt_sandbox_destroy(c, &e) < 0)
			log_error("container %s: delete: %s", id, err_msg(e));
		rt_container_close(c);
	}
	err_free(&e);
}

static int start_container(struct rt_cli *cli, const char *id, struct err **err)
{
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, id, true, &c, err);
	return r < 0 ? r : rt_cli_start(c, err);
}

static int run_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	bool detach = rt_args_bool(a, "detach");
	const char *id = a->pos[0];
	pid_t monitor;
	bool terminal = false;
	int r = rt_cli_create(cli, a, !detach, &monitor, &terminal, err);
	if (r < 0)
		return r;
	struct termios saved;
	bool raw =
	    !detach && terminal && !rt_args_has(a, "console-socket") && rt_cli_stdin_raw(&saved);
	if ((r = start_container(cli, id, err)) < 0) {
		/* a container that could not be started does not stay behind */
		remove_container(cli, id);
		rt_monitor_wait(monitor);
	} else if (!detach) {
		r = rt_monitor_wait(monitor);
		remove_container(cli, id);
	}
	if (raw)
		rt_cli_stdin_restore(&saved);
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
