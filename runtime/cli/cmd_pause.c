// SPDX-License-Identifier: Apache-2.0
/* hull pause ID / hull resume ID: freeze and thaw every process of a container. */
#include <stdlib.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/agent_client.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

/* One transition: from -> to through the agent's Pause or Resume. */
static int transition(struct rt_cli *cli, const char *id, bool pause, struct err **err)
{
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, id, true, &c, err);
	if (r < 0)
		return r;
	enum rt_status from = pause ? RT_STATUS_RUNNING : RT_STATUS_PAUSED;
	enum rt_status now = rt_state_status(&c->state);
	if (now != from)
		return err_set(err, 0, "container %s is %s, not %s", id, rt_status_name(now),
			       rt_status_name(from));
	_cleanup_free_ char *addr = NULL;
	struct rt_agent *agent = NULL;
	if ((r = rt_sandbox_agent_addr(c, &addr, err)) < 0 ||
	    (r = rt_agent_connect(addr, 2000, &agent, err)) < 0)
		return err_wrap(err, "container %s", id);
	r = pause ? rt_agent_pause(agent, id, err) : rt_agent_resume(agent, id, err);
	rt_agent_free(agent);
	if (r < 0)
		return err_wrap(err, "container %s", id);
	c->state.status = pause ? RT_STATUS_PAUSED : RT_STATUS_RUNNING;
	return rt_container_save(c, err);
}

static int pause_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	return transition(cli, a->pos[0], true, err);
}

static int resume_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	return transition(cli, a->pos[0], false, err);
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
