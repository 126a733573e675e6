// SPDX-License-Identifier: Apache-2.0
/*
 * hull update [-r FILE|-] [--memory N] [--cpu-quota N] ... ID: change the
 * resource limits of a container's cgroup in its guest, through the agent's
 * UpdateContainer. Flags and the resources JSON are runc's (ops_parse.c);
 * with -r the other flags are ignored, as runc ignores them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"
#include "runtime/agent_client.h"
#include "runtime/state.h"

/* Standard input may be a pipe or a socket: read it, bounded. */
static int read_stdin(char **out, size_t *len, struct err **err)
{
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return err_set(err, ENOMEM, "read standard input");
	for (;;) {
		if (n == cap) {
			if (cap >= OCI_MAX_SIZE)
				return err_set(err, EFBIG, "read standard input");
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return err_set(err, ENOMEM, "read standard input");
			buf = nb;
		}
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, errno, "read standard input");
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

/* The resources -r names, parsed and validated by oci/ (errors name the field). */
static int resources_from_file(const char *path, struct oci_resources **out, struct err **err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	int r = strcmp(path, "-") == 0 ? read_stdin(&json, &len, err)
				       : rt_cli_read_json(path, &json, &len, err);
	if (r < 0)
		return r;
	if ((r = oci_resources_parse(json, len, out, err)) < 0)
		return r;
	if ((r = oci_resources_validate(*out, err)) < 0) {
		oci_resources_free(*out);
		*out = NULL;
	}
	return r;
}

static int send(struct rt_container *c, struct rt_agent *agent, void *data, struct err **err)
{
	return rt_agent_update(agent, c->state.id, data, err);
}

static int update_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	struct oci_resources *res = NULL;
	const char *file = rt_args_str(a, "resources", NULL);
	int r = file && file[0] ? resources_from_file(file, &res, err)
				: rt_cli_update_from_flags(a, &res, err);
	if (r < 0)
		return r;
	struct rt_agent_resources ar;
	r = rt_cli_update_to_agent(res, &ar, err);
	oci_resources_free(res);
	if (r < 0)
		return r;
	const struct rt_agent_op op = {
	    .id = a->pos[0],
	    /* exclusive: two updates must not interleave (cpu quota and period) */
	    .exclusive = true,
	    .allowed = RT_OP_STATUS(RT_STATUS_CREATED) | RT_OP_STATUS(RT_STATUS_RUNNING) |
		       RT_OP_STATUS(RT_STATUS_PAUSED),
	    .refusal = "container not running",
	};
	return rt_container_agent_op(cli, &op, send, &ar, err);
}

const struct rt_cli_cmd rt_cmd_update = {
    .name = "update",
    .args_usage = "<container-id>",
    .summary = "update container resource constraints",
    .description = "The update command changes the cgroup limits of the container inside its\n"
		   "   microVM. Memory sizes take bytes or k/m/g/t/p suffixes; -1 is unlimited.\n"
		   "   The memory limit cannot grow the VM itself: the VM's size is fixed at\n"
		   "   create.",
    .flags = rt_update_flags,
    .n_flags = RT_UPDATE_N_FLAGS,
    .min_args = 1,
    .max_args = 1,
    .run = update_run,
};
