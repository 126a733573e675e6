// SPDX-License-Identifier: Apache-2.0
/* hull delete [--force] ID: release a container's sandbox and forget it. */
#include <errno.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static const struct rt_flag delete_flags[] = {
    {"force,f", RT_FLAG_BOOL,
     "Forcibly deletes the container if it is still running (uses SIGKILL)", NULL},
};

static int delete_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *id = a->pos[0];
	bool force = rt_args_bool(a, "force");
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, id, true, &c, err);
	if (r == -ENOENT) {
		/* A create that died half-way leaves a directory without state.json:
		 * clear it, and let --force succeed on nothing, as runc does. */
		if (rt_container_remove_stale(cli->root, id, NULL) < 0)
			return r;
		return force ? 0 : r;
	}
	if (r < 0)
		return r;
	enum rt_status status = rt_state_status(&c->state);
	/* A created container never ran its process: runc deletes it without --force. */
	if (status != RT_STATUS_STOPPED && status != RT_STATUS_CREATED && !force)
		return err_set(err, 0, "cannot delete container %s that is not stopped: %s", id,
			       rt_status_name(status));
	return rt_sandbox_destroy(c, err);
}

const struct rt_cli_cmd rt_cmd_delete = {
    .name = "delete",
    .args_usage = "<container-id>",
    .summary = "delete any resources held by the container often used with detached container",
    .description = "Where \"<container-id>\" is the name for the instance of the container.\n\n"
		   "   EXAMPLE: for a container with id \"ubuntu01\":\n"
		   "          # hull delete ubuntu01",
    .flags = delete_flags,
    .n_flags = ARRAY_SIZE(delete_flags),
    .min_args = 1,
    .max_args = 1,
    .run = delete_run,
};
