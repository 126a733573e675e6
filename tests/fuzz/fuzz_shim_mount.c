// SPDX-License-Identifier: Apache-2.0
/*
 * The shim's Create input: a packed containerd.task.v2.CreateTaskRequest (as
 * containerd sends it) whose rootfs mounts' options go through the option
 * parser, or (first byte odd) a NUL-separated option list given directly.
 * Nothing is mounted: only decoding and option parsing are exercised.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../shim/shim.h"
#include "lib/err.h"
#include "shim/proto/shim.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *const *opts, size_t n)
{
	struct shim_mount_opts o;
	struct err *err = NULL;
	if (shim_mount_opts_parse(opts, n, &o, &err) < 0) {
		if (!err || !err->msg)
			abort(); /* every refusal says why */
		err_free(&err);
		return;
	}
	if (strlen(o.data) >= 4096)
		abort(); /* more than the kernel takes */
	shim_mount_opts_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] & 1) {
		char *buf = malloc(size);
		if (!buf)
			return 0;
		memcpy(buf, data + 1, size - 1);
		buf[size - 1] = '\0';
		const char *opts[SHIM_MAX_OPTIONS + 2];
		size_t n = 0;
		for (size_t i = 0; i < size && n < SHIM_MAX_OPTIONS + 2; i += strlen(buf + i) + 1)
			opts[n++] = buf + i;
		check(opts, n);
		free(buf);
		return 0;
	}
	Containerd__Task__V2__CreateTaskRequest *m =
	    containerd__task__v2__create_task_request__unpack(NULL, size - 1, data + 1);
	if (!m)
		return 0;
	for (size_t i = 0; i < m->n_rootfs && i < SHIM_MAX_MOUNTS; i++)
		check((const char *const *)m->rootfs[i]->options, m->rootfs[i]->n_options);
	containerd__task__v2__create_task_request__free_unpacked(m, NULL);
	return 0;
}
