// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz hull-vmm's control-socket request parser (vmm_control_req_parse, one
 * line as a client sends it) and the error reply built from what it says:
 * a refused request must come with a one-line printable reason, and the
 * reply carrying it must itself be a JSON object that reads back the reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/control_req.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *why, size_t cut)
{
	char reply[384];
	vmm_control_error_format(reply, sizeof(reply), why);
	static const struct lib_json_limits limits = {
	    .max_size = sizeof(reply), .max_depth = 1, .max_values = 8, .object = true};
	yajl_val v = NULL;
	if (lib_json_parse(reply, strlen(reply), &limits, &v, NULL) < 0)
		abort();
	const char *okp[] = {"ok", NULL}, *errp[] = {"error", NULL};
	yajl_val e = yajl_tree_get(v, errp, yajl_t_string);
	if (!YAJL_IS_FALSE(yajl_tree_get(v, okp, yajl_t_any)) || !e)
		abort();
	/* The reason, or its beginning when escaping made it too long. */
	const char *got = YAJL_GET_STRING(e);
	if (strncmp(got, why, strlen(got)) != 0 ||
	    (2 * strlen(why) + 32 < sizeof(reply) && strcmp(got, why) != 0))
		abort();
	yajl_tree_free(v);

	/* A short buffer: still NUL-terminated inside it. */
	memset(reply, 'x', sizeof(reply));
	vmm_control_error_format(reply, cut, why);
	if (cut && !memchr(reply, '\0', cut))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_control_req req;
	char why[256];
	int r = vmm_control_req_parse((const char *)data, size, &req, why, sizeof(why));
	if (r == 0) {
		if ((unsigned)req.cmd > VMM_CONTROL_BALLOON ||
		    (req.has_target && req.cmd != VMM_CONTROL_BALLOON))
			abort();
		return 0;
	}
	if (!why[0])
		abort();
	for (const char *p = why; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			abort();
	check_reply(why, size % 48);
	return 0;
}
