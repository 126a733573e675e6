// SPDX-License-Identifier: Apache-2.0
/*
 * rt_container_agent_op(): the steps every command that talks to a live
 * container's guest agent shares (pause, resume, ps, events, update): open
 * and lock the container, refuse a state the operation cannot act on, connect
 * to the agent behind its VMM's vsock, run the operation, and release it all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/agent_client.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

/* A guest agent that is up answers at once; this only covers a busy guest. */
#define AGENT_CONNECT_TIMEOUT_MS 2000

/* "running" or "running or paused": the states an op accepts, for messages. */
static void allowed_names(unsigned allowed, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int s = RT_STATUS_CREATING; s <= RT_STATUS_STOPPED && o < len; s++)
		if (allowed & RT_OP_STATUS(s))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " or " : "",
					      rt_status_name((enum rt_status)s));
}

static int refuse(const struct rt_agent_op *op, enum rt_status now, struct err **err)
{
	if (op->refusal)
		return err_set(err, 0, "%s", op->refusal);
	char names[96];
	allowed_names(op->allowed, names, sizeof(names));
	return err_set(err, 0, "container %s is %s, not %s", op->id, rt_status_name(now), names);
}

int rt_container_agent_op(struct rt_cli *cli, const struct rt_agent_op *op, rt_agent_op_fn fn,
			  void *data, struct err **err)
{
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, op->id, op->exclusive, &c, err);
	if (r < 0)
		return r;
	enum rt_status now = rt_state_status(&c->state);
	if (!(op->allowed & RT_OP_STATUS(now)))
		return refuse(op, now, err);

	_cleanup_free_ char *addr = NULL;
	struct rt_agent *agent = NULL;
	if ((r = rt_sandbox_agent_addr(c, &addr, err)) < 0 ||
	    (r = rt_agent_connect(addr, AGENT_CONNECT_TIMEOUT_MS, &agent, err)) < 0)
		return err_wrap(err, "container %s", op->id);
	/* The store's lock is a flock on the directory fd (runtime/state.h):
	 * dropping it early lets delete and kill go ahead while we watch. */
	if (op->unlock)
		flock(c->dirfd, LOCK_UN);
	r = fn(c, agent, data, err);
	rt_agent_free(agent);
	if (r < 0)
		return err_wrap(err, "container %s", op->id);
	return r;
}
