// SPDX-License-Identifier: Apache-2.0
/*
 * Arbitrary bytes as a container's state.json: parse, write back, parse again
 * and compare. Any crash, leak, message-less failure or round-trip mismatch is
 * a bug. The same bytes go through the host config parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "runtime/config.h"
#include "runtime/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_str(const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
		abort();
}

static void state_round_trip(const char *json, size_t size)
{
	struct err *err = NULL;
	struct rt_state a, b;
	if (rt_state_parse(json, size, &a, &err) < 0) {
		if (!err || !err->msg)
			abort();
		err_free(&err);
		return;
	}
	char *out = NULL;
	size_t len = 0;
	if (rt_state_to_json(&a, &out, &len, &err) < 0) {
		/* only strings yajl refuses to write (invalid UTF-8) may fail here */
		err_free(&err);
		rt_state_free(&a);
		return;
	}
	if (rt_state_parse(out, len, &b, &err) < 0)
		abort();
	same_str(a.id, b.id);
	same_str(a.bundle, b.bundle);
	same_str(a.rootfs, b.rootfs);
	same_str(a.created, b.created);
	same_str(a.vsock, b.vsock);
	if (a.vmm.pid != b.vmm.pid || a.vmm.start != b.vmm.start || a.status != b.status ||
	    a.annotations.n != b.annotations.n || a.n_virtiofsd != b.n_virtiofsd)
		abort();
	for (size_t i = 0; i < a.annotations.n; i++)
		same_str(a.annotations.items[i].value, b.annotations.items[i].value);
	free(out);
	rt_state_free(&a);
	rt_state_free(&b);
}

static void config_parse(const char *json, size_t size)
{
	struct err *err = NULL;
	struct rt_config cfg;
	if (rt_config_defaults(&cfg, &err) < 0)
		abort();
	if (rt_config_parse(json, size, &cfg, &err) < 0) {
		if (!err || !err->msg)
			abort();
		err_free(&err);
	} else if (!cfg.kernel || cfg.kernel[0] != '/' || cfg.default_vcpus < 1 ||
		   cfg.default_vcpus > RT_CONFIG_MAX_CPUS) {
		abort();
	}
	rt_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	state_round_trip((const char *)data, size);
	config_parse((const char *)data, size);
	return 0;
}
