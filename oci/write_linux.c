// SPDX-License-Identifier: Apache-2.0
/* Writing the "linux" object (config-linux.md), in specs-go's field order. */
#include <stdlib.h>

#include "internal.h"

#define KI64(w, s, key, field)                                                                     \
	do {                                                                                       \
		if ((s)->has_##field)                                                              \
			jw_ki64(w, key, (s)->field);                                               \
	} while (0)
#define KU64(w, s, key, field)                                                                     \
	do {                                                                                       \
		if ((s)->has_##field)                                                              \
			jw_ku64(w, key, (s)->field);                                               \
	} while (0)

static void write_device_rules(struct jw *w, const struct oci_resources *r)
{
	if (!r->devices_len)
		return;
	jw_aopen(w, "devices");
	for (size_t i = 0; i < r->devices_len; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		jw_open(w, NULL);
		jw_kbool(w, "allow", d->allow);
		if (d->type && d->type != 'a')
			jw_kstr(w, "type", (char[]){d->type, '\0'});
		KI64(w, d, "major", major);
		KI64(w, d, "minor", minor);
		jw_kstr(w, "access", d->access);
		jw_close(w);
	}
	jw_aclose(w);
}

static void write_memory(struct jw *w, const struct oci_memory *m)
{
	jw_open(w, "memory");
	KI64(w, m, "limit", limit);
	KI64(w, m, "reservation", reservation);
	KI64(w, m, "swap", swap);
	KI64(w, m, "kernel", kernel);
	KI64(w, m, "kernelTCP", kernel_tcp);
	KU64(w, m, "swappiness", swappiness);
	if (m->has_disable_oom_killer)
		jw_kbool(w, "disableOOMKiller", m->disable_oom_killer);
	if (m->has_use_hierarchy)
		jw_kbool(w, "useHierarchy", m->use_hierarchy);
	jw_close(w);
}

static void write_cpu(struct jw *w, const struct oci_cpu *c)
{
	jw_open(w, "cpu");
	KU64(w, c, "shares", shares);
	KI64(w, c, "quota", quota);
	KU64(w, c, "burst", burst);
	KU64(w, c, "period", period);
	KI64(w, c, "realtimeRuntime", realtime_runtime);
	KU64(w, c, "realtimePeriod", realtime_period);
	jw_kstr(w, "cpus", c->cpus);
	jw_kstr(w, "mems", c->mems);
	KI64(w, c, "idle", idle);
	jw_close(w);
}

static void write_throttle(struct jw *w, const char *key, const struct oci_blkio_throttle *t,
			   size_t n)
{
	if (!n)
		return;
	jw_aopen(w, key);
	for (size_t i = 0; i < n; i++) {
		jw_open(w, NULL);
		jw_ki64(w, "major", t[i].major);
		jw_ki64(w, "minor", t[i].minor);
		jw_ku64(w, "rate", t[i].rate);
		jw_close(w);
	}
	jw_aclose(w);
}

static void write_blkio(struct jw *w, const struct oci_blkio *b)
{
	jw_open(w, "blockIO");
	KU64(w, b, "weight", weight);
	KU64(w, b, "leafWeight", leaf_weight);
	if (b->weight_device_len) {
		jw_aopen(w, "weightDevice");
		for (size_t i = 0; i < b->weight_device_len; i++) {
			const struct oci_blkio_weight_device *d = &b->weight_device[i];
			jw_open(w, NULL);
			jw_ki64(w, "major", d->major);
			jw_ki64(w, "minor", d->minor);
			KU64(w, d, "weight", weight);
			KU64(w, d, "leafWeight", leaf_weight);
			jw_close(w);
		}
		jw_aclose(w);
	}
	write_throttle(w, "throttleReadBpsDevice", b->throttle_read_bps, b->throttle_read_bps_len);
	write_throttle(w, "throttleWriteBpsDevice", b->throttle_write_bps,
		       b->throttle_write_bps_len);
	write_throttle(w, "throttleReadIOPSDevice", b->throttle_read_iops,
		       b->throttle_read_iops_len);
	write_throttle(w, "throttleWriteIOPSDevice", b->throttle_write_iops,
		       b->throttle_write_iops_len);
	jw_close(w);
}

static void write_network_rdma(struct jw *w, const struct oci_resources *r)
{
	if (r->network) {
		const struct oci_network *n = r->network;
		jw_open(w, "network");
		KU64(w, n, "classID", class_id);
		if (n->priorities_len) {
			jw_aopen(w, "priorities");
			for (size_t i = 0; i < n->priorities_len; i++) {
				jw_open(w, NULL);
				jw_kstr(w, "name", n->priorities[i].name);
				jw_ku64(w, "priority", n->priorities[i].priority);
				jw_close(w);
			}
			jw_aclose(w);
		}
		jw_close(w);
	}
	if (r->rdma_len) {
		jw_open(w, "rdma");
		for (size_t i = 0; i < r->rdma_len; i++) {
			jw_open(w, r->rdma[i].device);
			KU64(w, &r->rdma[i], "hcaHandles", hca_handles);
			KU64(w, &r->rdma[i], "hcaObjects", hca_objects);
			jw_close(w);
		}
		jw_close(w);
	}
}

void oci_resources_write(struct jw *w, const char *key, const struct oci_resources *r)
{
	jw_open(w, key);
	write_device_rules(w, r);
	if (r->memory)
		write_memory(w, r->memory);
	if (r->cpu)
		write_cpu(w, r->cpu);
	if (r->pids) {
		jw_open(w, "pids");
		jw_ki64(w, "limit", r->pids->limit);
		jw_close(w);
	}
	if (r->block_io)
		write_blkio(w, r->block_io);
	if (r->hugepage_limits_len) {
		jw_aopen(w, "hugepageLimits");
		for (size_t i = 0; i < r->hugepage_limits_len; i++) {
			jw_open(w, NULL);
			jw_kstr(w, "pageSize", r->hugepage_limits[i].page_size);
			jw_ku64(w, "limit", r->hugepage_limits[i].limit);
			jw_close(w);
		}
		jw_aclose(w);
	}
	write_network_rdma(w, r);
	jw_kmap(w, "unified", &r->unified);
	jw_close(w);
}

static void write_namespaces(struct jw *w, const struct oci_linux *l)
{
	if (!l->namespaces_len)
		return;
	jw_aopen(w, "namespaces");
	for (size_t i = 0; i < l->namespaces_len; i++) {
		jw_open(w, NULL);
		jw_kstr(w, "type", oci_ns_name(l->namespaces[i].type));
		jw_kstr(w, "path", l->namespaces[i].path);
		jw_close(w);
	}
	jw_aclose(w);
}

static void write_devices(struct jw *w, const struct oci_linux *l)
{
	if (!l->devices_len)
		return;
	jw_aopen(w, "devices");
	for (size_t i = 0; i < l->devices_len; i++) {
		const struct oci_device *d = &l->devices[i];
		jw_open(w, NULL);
		jw_kstr(w, "path", d->path);
		jw_kstr(w, "type", (char[]){d->type, '\0'});
		KI64(w, d, "major", major);
		KI64(w, d, "minor", minor);
		KU64(w, d, "fileMode", file_mode);
		KU64(w, d, "uid", uid);
		KU64(w, d, "gid", gid);
		jw_close(w);
	}
	jw_aclose(w);
}

static void write_syscall(struct jw *w, const struct oci_seccomp_syscall *s)
{
	jw_open(w, NULL);
	/* names is required: written even when empty, so the output parses again. */
	jw_aopen(w, "names");
	for (size_t i = 0; i < s->names.n; i++)
		jw_str(w, s->names.items[i]);
	jw_aclose(w);
	jw_kstr(w, "action", oci_seccomp_action_name(s->action));
	KU64(w, s, "errnoRet", errno_ret);
	if (s->args_len) {
		jw_aopen(w, "args");
		for (size_t i = 0; i < s->args_len; i++) {
			const struct oci_seccomp_arg *a = &s->args[i];
			jw_open(w, NULL);
			jw_ku64(w, "index", a->index);
			jw_ku64(w, "value", a->value);
			if (a->value_two)
				jw_ku64(w, "valueTwo", a->value_two);
			jw_kstr(w, "op", oci_seccomp_op_name(a->op));
			jw_close(w);
		}
		jw_aclose(w);
	}
	jw_close(w);
}

static void write_seccomp(struct jw *w, const struct oci_seccomp *s)
{
	jw_open(w, "seccomp");
	jw_kstr(w, "defaultAction", oci_seccomp_action_name(s->default_action));
	KU64(w, s, "defaultErrnoRet", default_errno_ret);
	jw_kstrv(w, "architectures", &s->architectures);
	jw_kstrv(w, "flags", &s->flags);
	jw_kstr(w, "listenerPath", s->listener_path);
	jw_kstr(w, "listenerMetadata", s->listener_metadata);
	if (s->syscalls_len) {
		jw_aopen(w, "syscalls");
		for (size_t i = 0; i < s->syscalls_len; i++)
			write_syscall(w, &s->syscalls[i]);
		jw_aclose(w);
	}
	jw_close(w);
}

void oci_linux_write(struct jw *w, const struct oci_linux *l)
{
	jw_open(w, NULL);
	jw_kidmaps(w, "uidMappings", l->uid_mappings, l->uid_mappings_len);
	jw_kidmaps(w, "gidMappings", l->gid_mappings, l->gid_mappings_len);
	jw_kmap(w, "sysctl", &l->sysctl);
	if (l->resources)
		oci_resources_write(w, "resources", l->resources);
	jw_kstr(w, "cgroupsPath", l->cgroups_path);
	write_namespaces(w, l);
	write_devices(w, l);
	if (l->seccomp)
		write_seccomp(w, l->seccomp);
	jw_kstr(w, "rootfsPropagation", l->rootfs_propagation);
	jw_kstrv(w, "maskedPaths", &l->masked_paths);
	jw_kstrv(w, "readonlyPaths", &l->readonly_paths);
	jw_kstr(w, "mountLabel", l->mount_label);
	if (l->has_intel_rdt) {
		jw_open(w, "intelRdt");
		jw_close(w);
	}
	if (l->personality) {
		jw_open(w, "personality");
		jw_kstr(w, "domain", l->personality->domain);
		jw_kstrv(w, "flags", &l->personality->flags);
		jw_close(w);
	}
	jw_close(w);
}
