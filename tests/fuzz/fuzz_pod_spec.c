// SPDX-License-Identifier: Apache-2.0
/*
 * What the runtime reads of a pod's container spec (from containerd, so from
 * the kubelet and the pod's author): the CRI annotations that size a
 * sandbox's VM (rt_sandbox_size) and the namespace paths turned into guest
 * ones (rt_pod_spec_namespaces). Input: a config.json.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "oci/spec.h"
#include "runtime/config.h"
#include "runtime/pod.h"
#include "runtime/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct oci_spec *spec = NULL;
	struct err *err = NULL;
	if (oci_spec_parse((const char *)data, size, &spec, &err) < 0) {
		err_free(&err);
		return 0;
	}
	struct rt_config cfg;
	if (rt_config_defaults(&cfg, &err) < 0)
		abort();
	unsigned mem = 0, cpus = 0;
	rt_sandbox_size(spec, &cfg, &mem, &cpus);
	if (mem < 1 || mem > RT_CONFIG_MAX_MEM || cpus < 1 || cpus > RT_CONFIG_MAX_CPUS)
		abort();
	rt_config_free(&cfg);
	if (rt_pod_spec_namespaces(spec, 4242, &err) < 0) {
		err_free(&err);
	} else {
		const struct oci_linux *lx = spec->linux_;
		for (size_t i = 0; lx && i < lx->namespaces_len; i++) {
			const char *p = lx->namespaces[i].path;
			if (p && strncmp(p, "/proc/4242/ns/", 14) != 0)
				abort(); /* nothing of the host may remain */
		}
	}
	oci_spec_free(spec);
	return 0;
}
