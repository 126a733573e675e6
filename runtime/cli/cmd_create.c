// SPDX-License-Identifier: Apache-2.0
/* hull create [--bundle DIR] [--pid-file FILE] ID: a container in a new microVM, not started. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static const struct rt_flag create_flags[] = {
    {"bundle,b", RT_FLAG_STRING,
     "path to the root of the bundle directory, defaults to the current directory", NULL},
    {"console-socket", RT_FLAG_STRING,
     "path to an AF_UNIX socket which will receive the pty master (not supported yet)", NULL},
    {"pid-file", RT_FLAG_STRING, "specify the file to write the process id to", NULL},
    {"no-pivot", RT_FLAG_BOOL, "accepted: the guest agent always pivots into the rootfs", NULL},
    {"no-new-keyring", RT_FLAG_BOOL, "accepted: the container runs in its own kernel", NULL},
    {"preserve-fds", RT_FLAG_STRING,
     "number of additional fds to pass into the container (only 0 supported yet)", NULL},
};

/* Written via a temporary file and rename, as runc does: supervisors poll it. */
static int write_pid_file(const char *path, pid_t pid, struct err **err)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.hull-tmp", path) < 0)
		return err_set(err, ENOMEM, "pid file");
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, errno, "create pid file %s", tmp);
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (fd_write_full(fd, buf, (size_t)n) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return err_set(err, e, "write pid file %s", path);
	}
	return 0;
}

int rt_cli_create(struct rt_cli *cli, const struct rt_args *a, const struct rt_agent_stdio *stdio,
		  struct rt_container **out, struct err **err)
{
	if (rt_args_has(a, "console-socket"))
		return err_set(err, EOPNOTSUPP, "--console-socket");
	const char *fds = rt_args_str(a, "preserve-fds", "0");
	if (fds[0] != '0' || fds[1])
		return err_set(err, EOPNOTSUPP, "--preserve-fds %s", fds);
	struct rt_sandbox_create o = {
	    .size = sizeof(o),
	    .root = cli->root,
	    .id = a->pos[0],
	    .bundle = rt_args_str(a, "bundle", "."),
	    .cfg = &cli->cfg,
	};
	if (stdio)
		o.stdio = *stdio;
	const char *t = getenv("HULL_BOOT_TIMEOUT_MS");
	if (t)
		o.boot_timeout_ms = atoi(t);
	struct rt_container *c = NULL;
	int r = rt_sandbox_create(&o, &c, err);
	if (r < 0)
		return r;
	const char *pid_file = rt_args_str(a, "pid-file", NULL);
	if (pid_file && (r = write_pid_file(pid_file, c->state.vmm.pid, err)) < 0) {
		struct err *e = NULL;
		rt_sandbox_destroy(c, &e);
		err_free(&e);
		rt_container_close(c);
		return r;
	}
	*out = c;
	return 0;
}

static int create_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	struct rt_container *c = NULL;
	int r = rt_cli_create(cli, a, NULL, &c, err);
	if (r >= 0)
		rt_container_close(c);
	return r;
}

const struct rt_cli_cmd rt_cmd_create = {
    .name = "create",
    .args_usage = "<container-id>",
    .summary = "create a container",
    .description = "The create command creates an instance of a container for a bundle: it\n"
		   "   boots the container's microVM and prepares the container in it. The\n"
		   "   hull-vmm process is the container's pid on the host.",
    .flags = create_flags,
    .n_flags = ARRAY_SIZE(create_flags),
    .min_args = 1,
    .max_args = 1,
    .run = create_run,
};
