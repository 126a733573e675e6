// SPDX-License-Identifier: Apache-2.0
/*
 * Update's resources: containerd wraps an OCI LinuxResources object in an
 * Any typed "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
 * whose value is its JSON (containerd's typeurl marshals non-protobuf types as
 * JSON). The JSON is parsed and validated by oci/ (errors name the field) and
 * mapped onto what the guest agent can change. It comes from containerd's
 * clients, so it is untrusted: see tests/fuzz/fuzz_shim_resources.c.
 */
#include <errno.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "shim.h"

static void map_resources(const struct oci_resources *r, struct rt_agent_resources *out)
{
	if (r->memory && r->memory->has_limit)
		out->memory_limit = r->memory->limit > 0 ? r->memory->limit : -1;
	if (r->cpu) {
		if (r->cpu->has_quota)
			out->cpu_quota = r->cpu->quota > 0 ? r->cpu->quota : -1;
		if (r->cpu->has_period)
			out->cpu_period = r->cpu->period;
		if (r->cpu->has_shares)
			out->cpu_shares = r->cpu->shares;
		if ((r->cpu->cpus && r->cpu->cpus[0]) || (r->cpu->mems && r->cpu->mems[0]))
			log_warn("update: cpu.cpus/cpu.mems are not applied (the VM's vCPUs are "
				 "fixed at boot)");
	}
	if (r->pids)
		out->pids_limit = r->pids->limit > 0 ? r->pids->limit : -1;
	if (r->block_io && r->block_io->has_weight)
		out->blkio_weight = r->block_io->weight;
	if (r->devices_len || r->hugepage_limits_len || r->rdma_len || r->unified.n)
		log_warn("update: devices, hugepage, rdma and unified limits are not applied");
}

int shim_resources_parse(const char *type_url, const uint8_t *value, size_t len,
			 struct rt_agent_resources *out, struct err **err)
{
	*out = (struct rt_agent_resources){0};
	if (!type_url || strcmp(type_url, SHIM_RESOURCES_TYPE) != 0)
		return err_set(err, EINVAL, "update: resources of type \"%.128s\", expected %s",
			       type_url ? type_url : "", SHIM_RESOURCES_TYPE);
	if (!value || len == 0)
		return err_set(err, EINVAL, "update: empty resources");
	struct oci_resources *r = NULL;
	int ret = oci_resources_parse((const char *)value, len, &r, err);
	if (ret >= 0)
		ret = oci_resources_validate(r, err);
	if (ret >= 0)
		map_resources(r, out);
	if (r)
		oci_resources_free(r);
	return ret < 0 ? err_wrap(err, "update: resources") : 0;
}
