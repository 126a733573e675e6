// SPDX-License-Identifier: Apache-2.0
/*
 * The shim's Update input: a packed containerd.task.v2.UpdateTaskRequest
 * whose resources Any goes through shim_resources_parse, or (first byte odd)
 * raw bytes as the JSON of an Any with the right type.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../shim/shim.h"
#include "lib/err.h"
#include "shim/proto/shim.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *type, const uint8_t *value, size_t len)
{
	struct rt_agent_resources r;
	struct err *err = NULL;
	if (shim_resources_parse(type, value, len, &r, &err) < 0) {
		if (!err || !err->msg)
			abort();
		err_free(&err);
		return;
	}
	if (r.memory_limit < -1 || r.cpu_quota < -1 || r.pids_limit < -1)
		abort(); /* only -1 means unlimited */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] & 1) {
		check(SHIM_RESOURCES_TYPE, data + 1, size - 1);
		return 0;
	}
	Containerd__Task__V2__UpdateTaskRequest *m =
	    containerd__task__v2__update_task_request__unpack(NULL, size - 1, data + 1);
	if (!m)
		return 0;
	if (m->resources)
		check(m->resources->type_url, m->resources->value.data, m->resources->value.len);
	containerd__task__v2__update_task_request__free_unpacked(m, NULL);
	return 0;
}
