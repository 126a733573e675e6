// SPDX-License-Identifier: Apache-2.0
/* hull pause ID / hull resume ID: freeze and thaw every process of a container. */
#include <stdlib.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/agent_client.h"
#include "runtime/state.h"

/* The agent's Pause or Resume, then the new status on record (exclusive lock). */
static int transition(struct rt_container *c, struct rt_agent *agent, void *data, struct err **err)
{
	bool pause = *(bool *)data;
	int r = pause ? rt_agent_pause(agent, c->state.id, err)
		      : rt_agent_resume(agent, c->state.id, err);
	if (r < 0)
		return r;
	c->state.status = pause ? RT_STATUS_PAUSED : RT_STATUS_RUNNING;
	return rt_container_save(c, err);
}

static int run(struct rt_cli *cli, const char *id, bool pause, struct err **err)
{
	const struct rt_agent_op op = {
	    .id = id,
	    .exclusive = true,
	    .allowed = RT_OP_STATUS(pause ? RT_STATUS_RUNNING : RT_STATUS_PAUSED),
	};
	return rt_container_agent_op(cli, &op, transition, &pause, err);
}

static int pause_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	return run(cli, a->pos[0], true, err);
}

static int resume_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	return run(cli, a->pos[0], false, err);
}

const struct rt_cli_cmd rt_cmd_pause = {
    .name = "pause",
    .args_usage = "<container-id>",
    .summary = "pause suspends all processes inside the container",
    .description = "The pause command suspends all processes in the instance of the container.",
    .min_args = 1,
    .max_args = 1,
    .run = pause_run,
};

const struct rt_cli_cmd rt_cmd_resume = {
    .name = "resume",
    .args_usage = "<container-id>",
    .summary = "resumes all processes that have been previously paused",
    .description = "The resume command resumes all processes in the instance of the container.",
    .min_args = 1,
    .max_args = 1,
    .run = resume_run,
};
