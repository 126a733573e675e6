// SPDX-License-Identifier: Apache-2.0
/*
 * hull ps [--format table|json] ID [ps options]: the processes of a
 * container, as its guest agent lists them (the container's cgroup in the
 * guest). runc runs the host's ps and keeps the container's lines; here the
 * processes live in the microVM's own kernel, so the pids are guest pids and
 * the table holds what the agent reports: PID and command line.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/agent_client.h"
#include "runtime/state.h"

static const struct rt_flag ps_flags[] = {
    {"format,f", RT_FLAG_STRING, "select one of: table or json", "table"},
};

/* The command line as ps shows it: a container chooses its argv, and must
 * not reach the terminal of whoever lists it with control sequences. */
static void print_cmd(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	putchar('\n');
}

static int list(struct rt_container *c, struct rt_agent *agent, void *data, struct err **err)
{
	bool json = *(bool *)data;
	struct rt_agent_process *p = NULL;
	size_t n = 0;
	int r = rt_agent_list_processes(agent, c->state.id, &p, &n, err);
	if (r < 0)
		return r;
	if (json) {
		/* runc's: the JSON array of pids */
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)p[i].pid);
		fputs("]\n", stdout);
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		for (size_t i = 0; i < n; i++) {
			printf("%-8d ", (int)p[i].pid);
			print_cmd(p[i].cmdline);
		}
	}
	rt_agent_processes_free(p, n);
	return 0;
}

static int ps_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *format = rt_args_str(a, "format", "table");
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "table") != 0)
		return err_set(err, 0, "invalid format option");
	/* runc passes these to the host's ps; "-ef" is its default */
	for (size_t i = 1; i < a->n_pos; i++)
		if (strcmp(a->pos[i], "-ef") != 0)
			return err_set(
			    err, 0,
			    "ps options are not supported (got \"%s\"): the processes run "
			    "in the container's own guest kernel, where hull lists PID and "
			    "command only",
			    a->pos[i]);
	char refusal[RT_ID_MAX + 64];
	snprintf(refusal, sizeof(refusal), "container with id %s is not running", a->pos[0]);
	const struct rt_agent_op op = {
	    .id = a->pos[0],
	    .allowed = RT_OP_STATUS(RT_STATUS_CREATED) | RT_OP_STATUS(RT_STATUS_RUNNING) |
		       RT_OP_STATUS(RT_STATUS_PAUSED),
	    .refusal = refusal,
	};
	return rt_container_agent_op(cli, &op, list, &json, err);
}

const struct rt_cli_cmd rt_cmd_ps = {
    .name = "ps",
    .args_usage = "<container-id> [ps options]",
    .summary = "ps displays the processes running inside a container",
    .description = "The ps command lists the processes of the container as its guest agent sees\n"
		   "   them: the pids are the container's pids in its microVM's own kernel, not\n"
		   "   host pids. The table shows PID and command line; --format json prints the\n"
		   "   array of pids. ps options other than runc's default -ef are refused.",
    .flags = ps_flags,
    .n_flags = ARRAY_SIZE(ps_flags),
    .min_args = 1,
    .max_args = -1,
    .stop_at_pos = true,
    .run = ps_run,
};
