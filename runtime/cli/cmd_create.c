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
#include "oci/spec.h"
#include "runtime/monitor.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static const struct rt_flag create_flags[] = {
    {"bundle,b", RT_FLAG_STRING,
     "path to the root of the bundle directory, defaults to the current directory", NULL},
    {"console-socket", RT_FLAG_STRING,
     "path to an AF_UNIX socket which will receive a file descriptor referencing the master end "
     "of the console's pseudoterminal",
     NULL},
    {"pid-file", RT_FLAG_STRING, "specify the file to write the process id to", NULL},
    {"no-pivot", RT_FLAG_BOOL, "accepted: the guest agent always pivots into the rootfs", NULL},
    {"no-new-keyring", RT_FLAG_BOOL, "accepted: the container runs in its own kernel", NULL},
    {"preserve-fds", RT_FLAG_STRING,
     "number of additional fds to pass into the container (only 0 supported yet)", NULL},
};

/* Written via a temporary file and rename, as runc does: supervisors poll it. */
int rt_cli_write_pid_file(const char *path, pid_t pid, struct err **err)
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

/* runc's rules for a terminal: a detached one needs a console socket, and a
 * console socket needs a terminal. */
static int check_terminal(const char *bundle, bool foreground, const char *console_socket,
			  bool *terminal, struct err **err)
{
	_cleanup_oci_spec_ struct oci_spec *spec = NULL;
	struct err *e = NULL;
	if (oci_spec_load(bundle, &spec, &e) < 0) {
		/* the sandbox reports a bad bundle, in its words */
		err_free(&e);
		*terminal = false;
		return 0;
	}
	*terminal = spec->process && spec->process->terminal;
	return rt_cli_check_tty(*terminal, !foreground, console_socket, err);
}

int rt_cli_create(struct rt_cli *cli, const struct rt_args *a, bool foreground, pid_t *monitor,
		  bool *terminal_out, struct err **err)
{
	const char *fds = rt_args_str(a, "preserve-fds", "0");
	if (fds[0] != '0' || fds[1])
		return err_set(err, EOPNOTSUPP, "--preserve-fds %s", fds);
	const char *bundle = rt_args_str(a, "bundle", ".");
	const char *console = rt_args_str(a, "console-socket", NULL);
	bool terminal = false;
	int r = rt_id_validate(a->pos[0], err);
	if (r >= 0)
		r = check_terminal(bundle, foreground, console, &terminal, err);
	if (r < 0)
		return r;
	if (terminal_out)
		*terminal_out = terminal;
	struct rt_sandbox_create so = {
	    .size = sizeof(so),
	    .root = cli->root,
	    .id = a->pos[0],
	    .bundle = bundle,
	    .cfg = &cli->cfg,
	};
	const char *t = getenv("HULL_BOOT_TIMEOUT_MS");
	if (t)
		so.boot_timeout_ms = atoi(t);
	struct rt_monitor_opts mo = {
	    .size = sizeof(mo),
	    .root = cli->root,
	    .id = a->pos[0],
	    .create = &so,
	    .terminal = terminal,
	    .console_socket = console,
	    .log_to_state_dir = cli->log_to_stderr,
	};
	if ((r = rt_monitor_start(&mo, monitor, err)) < 0)
		return r;
	const char *pid_file = rt_args_str(a, "pid-file", NULL);
	if (pid_file && (r = rt_cli_write_pid_file(pid_file, *monitor, err)) < 0) {
		/* a container nobody can find does not stay behind */
		struct rt_container *c = NULL;
		struct err *e = NULL;
		if (rt_container_open(cli->root, a->pos[0], true, &c, &e) == 0) {
			rt_sandbox_destroy(c, &e);
			rt_container_close(c);
		}
		err_free(&e);
		return r;
	}
	return 0;
}

static int create_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	pid_t monitor;
	return rt_cli_create(cli, a, false, &monitor, NULL, err);
}

const struct rt_cli_cmd rt_cmd_create = {
    .name = "create",
    .args_usage = "<container-id>",
    .summary = "create a container",
    .description = "The create command creates an instance of a container for a bundle: it\n"
		   "   boots the container's microVM and prepares the container in it. Its\n"
		   "   pid on the host is a small monitor process that relays the container's\n"
		   "   stdio and signals and exits with its exit status.",
    .flags = create_flags,
    .n_flags = ARRAY_SIZE(create_flags),
    .min_args = 1,
    .max_args = 1,
    .run = create_run,
};
