// SPDX-License-Identifier: Apache-2.0
/* hull state ID: the OCI state of a container as JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/state.h"

static int state_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	_cleanup_rt_container_ struct rt_container *c = NULL;
	int r = rt_container_open(cli->root, a->pos[0], false, &c, err);
	if (r < 0)
		return r;
	struct oci_state os;
	char owner[64];
	rt_cli_oci_state(c, &os, owner, sizeof(owner));
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	r = oci_state_to_json(&os, &json, &len, err);
	if (r < 0)
		return err_wrap(err, "container %s", a->pos[0]);
	fwrite(json, 1, len, stdout);
	if (len && json[len - 1] != '\n')
		fputc('\n', stdout);
	return 0;
}

const struct rt_cli_cmd rt_cmd_state = {
    .name = "state",
    .args_usage = "<container-id>",
    .summary = "output the state of a container",
    .description = "The state command outputs current state information for the\n"
		   "instance of a container.",
    .min_args = 1,
    .max_args = 1,
    .run = state_run,
};
