// SPDX-License-Identifier: Apache-2.0
/* hull kill [--all] ID [SIGNAL]: signal the container's process(es) in the guest. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/agent_client.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static const struct rt_flag kill_flags[] = {
    {"all,a", RT_FLAG_BOOL, "send the specified signal to all processes inside the container",
     NULL},
};

/* runc's parseSignal: a number, or a name with or without "SIG", any case. */
int rt_cli_signal_parse(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *name = sigabbrev_np(i);
		if (name && strcasecmp(name, s) == 0)
			return i;
	}
	return -EINVAL;
}

static int kill_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *sigstr = a->n_pos > 1 ? a->pos[1] : "SIGTERM";
	int sig = rt_cli_signal_parse(sigstr);
	if (sig < 0)
		return err_set(err, 0, "unknown signal \"%s\"", sigstr);
	/* shared lock: a kill must not wait for, nor block, a long create */
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, a->pos[0], false, &c, err);
	if (r < 0)
		return r;
	enum rt_status st = rt_state_status(&c->state);
	if (st == RT_STATUS_STOPPED || st == RT_STATUS_CREATING)
		return err_set(err, 0, "container not running");
	_cleanup_free_ char *addr = NULL;
	struct rt_agent *agent = NULL;
	if ((r = rt_sandbox_agent_addr(c, &addr, err)) < 0 ||
	    (r = rt_agent_connect(addr, 2000, &agent, err)) < 0)
		return err_wrap(err, "container %s", c->state.id);
	r = rt_agent_signal_process(agent, c->state.id, NULL, sig, rt_args_bool(a, "all"), err);
	rt_agent_free(agent);
	return r < 0 ? err_wrap(err, "container %s", c->state.id) : 0;
}

const struct rt_cli_cmd rt_cmd_kill = {
    .name = "kill",
    .args_usage = "<container-id> [signal]",
    .summary = "kill sends the specified signal (default: SIGTERM) to the container's init "
	       "process",
    .description = "EXAMPLE: to send a KILL signal to the init process of \"ubuntu01\":\n\n"
		   "          # hull kill ubuntu01 KILL",
    .flags = kill_flags,
    .n_flags = ARRAY_SIZE(kill_flags),
    .min_args = 1,
    .max_args = 2,
    .run = kill_run,
};
