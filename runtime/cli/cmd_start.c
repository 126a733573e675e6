// SPDX-License-Identifier: Apache-2.0
/* hull start ID: run the user process of a created container. */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/agent_client.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

int rt_cli_start(struct rt_container *c, struct err **err)
{
	int r;
	switch (rt_state_status(&c->state)) {
	case RT_STATUS_CREATED:
		break;
	case RT_STATUS_STOPPED:
		return err_set(err, 0, "cannot start a container that has stopped");
	case RT_STATUS_RUNNING:
	case RT_STATUS_PAUSED:
		return err_set(err, 0, "cannot start an already running container");
	default:
		return err_set(err, 0, "cannot start a container in the creating state");
	}
	_cleanup_free_ char *addr = NULL;
	struct rt_agent *agent = NULL;
	if ((r = rt_sandbox_agent_addr(c, &addr, err)) < 0 ||
	    (r = rt_agent_connect(addr, 2000, &agent, err)) < 0)
		return err_wrap(err, "container %s", c->state.id);
	r = rt_agent_start_container(agent, c->state.id, err);
	rt_agent_free(agent);
	if (r < 0)
		return err_wrap(err, "container %s", c->state.id);
	c->state.status = RT_STATUS_RUNNING;
	return rt_container_save(c, err);
}

static int start_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, a->pos[0], true, &c, err);
	return r < 0 ? r : rt_cli_start(c, err);
}

const struct rt_cli_cmd rt_cmd_start = {
    .name = "start",
    .args_usage = "<container-id>",
    .summary = "executes the user defined process in a created container",
    .description = "The start command executes the user defined process in a created container.",
    .min_args = 1,
    .max_args = 1,
    .run = start_run,
};
