// SPDX-License-Identifier: Apache-2.0
/* hull features: what this runtime supports, as OCI features JSON. */
#include <stdio.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "oci/spec.h"

static int features_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	int r = oci_features_json(&json, &len, err);
	if (r < 0)
		return r;
	fwrite(json, 1, len, stdout);
	if (len && json[len - 1] != '\n')
		fputc('\n', stdout);
	return 0;
}

const struct rt_cli_cmd rt_cmd_features = {
    .name = "features",
    .summary = "show the enabled features",
    .description = "Show the enabled features.\n"
		   "   The result is parsable as a JSON (OCI runtime-spec features.md).",
    .min_args = 0,
    .max_args = 0,
    .run = features_run,
};
