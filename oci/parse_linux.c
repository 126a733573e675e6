// SPDX-License-Identifier: Apache-2.0
/*
 * Reading the "linux" object (OCI runtime spec config-linux.md): namespaces,
 * id mappings, devices, cgroups resources, sysctl, seccomp, propagation,
 * masked/read-only paths, personality.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "internal.h"

#define LIST(c, v, key, arr, fn)                                                                   \
	j_list(c, v, key, sizeof(*(arr)), (void **)&(arr), &(arr##_len), fn)

static int read_namespace(struct jctx *c, yajl_val e, void *item)
{
	struct oci_namespace *ns = item;
	_cleanup_free_ char *type = NULL;
	int r = j_str(c, e, "type", &type, J_REQ);
	if (r < 0)
		return r;
	int t = oci_ns_parse(type);
	if (t < 0)
		return jctx_fail_key(c, "type", "unknown namespace type \"%.64s\"", type);
	ns->type = (enum oci_ns_type)t;
	ns->clone_flag = oci_ns_clone_flag(ns->type);
	return j_str(c, e, "path", &ns->path, 0);
}

static int read_device(struct jctx *c, yajl_val e, void *item)
{
	struct oci_device *d = item;
	_cleanup_free_ char *type = NULL;
	int r;
	if ((r = j_str(c, e, "path", &d->path, J_REQ)) < 0)
		return r;
	if ((r = j_str(c, e, "type", &type, J_REQ)) < 0)
		return r;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return jctx_fail_key(c, "type",
				     "expected \"c\", \"b\", \"u\" or \"p\", got \"%.64s\"", type);
	d->type = type[0];
	if ((r = j_i64(c, e, "major", 0, INT64_MAX, &d->major, 0)) < 0)
		return r;
	d->has_major = r;
	if ((r = j_i64(c, e, "minor", 0, INT64_MAX, &d->minor, 0)) < 0)
		return r;
	d->has_minor = r;
	if ((r = j_u32(c, e, "fileMode", &d->file_mode, 0)) < 0)
		return r;
	d->has_file_mode = r;
	if ((r = j_u32(c, e, "uid", &d->uid, 0)) < 0)
		return r;
	d->has_uid = r;
	if ((r = j_u32(c, e, "gid", &d->gid, 0)) < 0)
		return r;
	d->has_gid = r;
	return 0;
}

static int read_device_rule(struct jctx *c, yajl_val e, void *item)
{
	struct oci_device_rule *d = item;
	_cleanup_free_ char *type = NULL;
	int r;
	if ((r = j_bool(c, e, "allow", &d->allow, J_REQ)) < 0)
		return r;
	if ((r = j_str(c, e, "type", &type, 0)) < 0)
		return r;
	d->type = 'a';
	if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
		return jctx_fail_key(c, "type", "expected \"a\", \"c\" or \"b\", got \"%.64s\"",
				     type);
	if (type)
		d->type = type[0];
	if ((r = j_i64(c, e, "major", -1, INT64_MAX, &d->major, 0)) < 0)
		return r;
	d->has_major = r;
	if ((r = j_i64(c, e, "minor", -1, INT64_MAX, &d->minor, 0)) < 0)
		return r;
	d->has_minor = r;
	if ((r = j_str(c, e, "access", &d->access, 0)) < 0)
		return r;
	for (const char *p = d->access; p && *p; p++)
		if (!strchr("rwm", *p))
			return jctx_fail_key(
			    c, "access", "expected letters of \"rwm\", got \"%.16s\"", d->access);
	return 0;
}

/* Optional signed field with its has_ flag. */
#define OPT_I64(c, o, key, min, s, field)                                                          \
	do {                                                                                       \
		int r_ = j_i64(c, o, key, min, INT64_MAX, &(s)->field, 0);                         \
		if (r_ < 0)                                                                        \
			return r_;                                                                 \
		(s)->has_##field = r_;                                                             \
	} while (0)
#define OPT_U64(c, o, key, max, s, field)                                                          \
	do {                                                                                       \
		uint64_t v_ = 0;                                                                   \
		int r_ = j_u64(c, o, key, max, &v_, 0);                                            \
		if (r_ < 0)                                                                        \
			return r_;                                                                 \
		(s)->field = v_;                                                                   \
		(s)->has_##field = r_;                                                             \
	} while (0)
#define OPT_BOOL(c, o, key, s, field)                                                              \
	do {                                                                                       \
		int r_ = j_bool(c, o, key, &(s)->field, 0);                                        \
		if (r_ < 0)                                                                        \
			return r_;                                                                 \
		(s)->has_##field = r_;                                                             \
	} while (0)

static int read_memory(struct jctx *c, yajl_val o, struct oci_memory *m)
{
	/* -1 means unlimited for the int64 limits (config-linux.md "Memory"). */
	OPT_I64(c, o, "limit", -1, m, limit);
	OPT_I64(c, o, "reservation", -1, m, reservation);
	OPT_I64(c, o, "swap", -1, m, swap);
	OPT_I64(c, o, "kernel", -1, m, kernel);
	OPT_I64(c, o, "kernelTCP", -1, m, kernel_tcp);
	OPT_U64(c, o, "swappiness", UINT64_MAX, m, swappiness);
	OPT_BOOL(c, o, "disableOOMKiller", m, disable_oom_killer);
	OPT_BOOL(c, o, "useHierarchy", m, use_hierarchy);
	return 0;
}

static int read_cpu(struct jctx *c, yajl_val o, struct oci_cpu *p)
{
	int r;
	OPT_U64(c, o, "shares", UINT64_MAX, p, shares);
	OPT_I64(c, o, "quota", -1, p, quota);
	OPT_U64(c, o, "burst", UINT64_MAX, p, burst);
	OPT_U64(c, o, "period", UINT64_MAX, p, period);
	OPT_I64(c, o, "realtimeRuntime", INT64_MIN, p, realtime_runtime);
	OPT_U64(c, o, "realtimePeriod", UINT64_MAX, p, realtime_period);
	OPT_I64(c, o, "idle", INT64_MIN, p, idle);
	if ((r = j_str(c, o, "cpus", &p->cpus, 0)) < 0)
		return r;
	return j_str(c, o, "mems", &p->mems, 0);
}

static int read_weight_device(struct jctx *c, yajl_val e, void *item)
{
	struct oci_blkio_weight_device *d = item;
	int r;
	if ((r = j_i64(c, e, "major", 0, INT64_MAX, &d->major, J_REQ)) < 0)
		return r;
	if ((r = j_i64(c, e, "minor", 0, INT64_MAX, &d->minor, J_REQ)) < 0)
		return r;
	uint64_t w = 0;
	if ((r = j_u64(c, e, "weight", UINT16_MAX, &w, 0)) < 0)
		return r;
	d->has_weight = r;
	d->weight = (uint16_t)w;
	if ((r = j_u64(c, e, "leafWeight", UINT16_MAX, &w, 0)) < 0)
		return r;
	d->has_leaf_weight = r;
	d->leaf_weight = (uint16_t)w;
	return 0;
}

static int read_throttle(struct jctx *c, yajl_val e, void *item)
{
	struct oci_blkio_throttle *t = item;
	int r;
	if ((r = j_i64(c, e, "major", 0, INT64_MAX, &t->major, J_REQ)) < 0)
		return r;
	if ((r = j_i64(c, e, "minor", 0, INT64_MAX, &t->minor, J_REQ)) < 0)
		return r;
	return j_u64(c, e, "rate", UINT64_MAX, &t->rate, J_REQ);
}

static int read_blkio(struct jctx *c, yajl_val o, struct oci_blkio *b)
{
	int r;
	uint64_t w = 0;
	if ((r = j_u64(c, o, "weight", UINT16_MAX, &w, 0)) < 0)
		return r;
	b->has_weight = r;
	b->weight = (uint16_t)w;
	if ((r = j_u64(c, o, "leafWeight", UINT16_MAX, &w, 0)) < 0)
		return r;
	b->has_leaf_weight = r;
	b->leaf_weight = (uint16_t)w;
	if ((r = LIST(c, o, "weightDevice", b->weight_device, read_weight_device)) < 0)
		return r;
	if ((r = LIST(c, o, "throttleReadBpsDevice", b->throttle_read_bps, read_throttle)) < 0)
		return r;
	if ((r = LIST(c, o, "throttleWriteBpsDevice", b->throttle_write_bps, read_throttle)) < 0)
		return r;
	if ((r = LIST(c, o, "throttleReadIOPSDevice", b->throttle_read_iops, read_throttle)) < 0)
		return r;
	r = LIST(c, o, "throttleWriteIOPSDevice", b->throttle_write_iops, read_throttle);
	return r < 0 ? r : 0;
}

static int read_hugepage(struct jctx *c, yajl_val e, void *item)
{
	struct oci_hugepage_limit *h = item;
	int r = j_str(c, e, "pageSize", &h->page_size, J_REQ);
	if (r < 0)
		return r;
	return j_u64(c, e, "limit", UINT64_MAX, &h->limit, J_REQ);
}

static int read_priority(struct jctx *c, yajl_val e, void *item)
{
	struct oci_net_priority *p = item;
	int r = j_str(c, e, "name", &p->name, J_REQ);
	if (r < 0)
		return r;
	return j_u32(c, e, "priority", &p->priority, J_REQ);
}

static int read_network(struct jctx *c, yajl_val o, struct oci_network *n)
{
	int r = j_u32(c, o, "classID", &n->class_id, 0);
	if (r < 0)
		return r;
	n->has_class_id = r;
	r = LIST(c, o, "priorities", n->priorities, read_priority);
	return r < 0 ? r : 0;
}

/* rdma is a map: device name -> {hcaHandles, hcaObjects}. */
static int read_rdma(struct jctx *c, yajl_val v, struct oci_resources *res)
{
	yajl_val o;
	int r = j_obj(c, v, "rdma", &o, 0);
	if (r <= 0)
		return r;
	size_t n = o->u.object.len;
	_cleanup_free_ bool *keep = jobj_unique(c, o);
	res->rdma = keep ? jctx_calloc(c, n, sizeof(*res->rdma)) : NULL;
	if (!res->rdma)
		return -ENOMEM;
	size_t kmark = jctx_push_key(c, "rdma");
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct oci_rdma *d = &res->rdma[res->rdma_len];
		yajl_val e = o->u.object.values[i];
		/* A repeated key counts once: the later value wins; null is absent. */
		if (!keep[i] || YAJL_IS_NULL(e))
			continue;
		size_t mark = jctx_push_key(c, o->u.object.keys[i]);
		res->rdma_len++;
		d->device = strdup(o->u.object.keys[i]);
		r = d->device ? jv_obj(c, e) : err_set(c->err, ENOMEM, "%s", c->path);
		if (r >= 0 && (r = j_u32(c, e, "hcaHandles", &d->hca_handles, 0)) >= 0)
			d->has_hca_handles = r;
		if (r >= 0 && (r = j_u32(c, e, "hcaObjects", &d->hca_objects, 0)) >= 0)
			d->has_hca_objects = r;
		jctx_pop(c, mark);
	}
	jctx_pop(c, kmark);
	return r;
}

/* An optional sub-object read into a freshly allocated struct. */
#define SUBOBJ(c, v, key, ptr, fn)                                                                 \
	({                                                                                         \
		yajl_val o_;                                                                       \
		int r_ = j_obj(c, v, key, &o_, 0);                                                 \
		if (r_ > 0) {                                                                      \
			(ptr) = jctx_calloc(c, 1, sizeof(*(ptr)));                                 \
			size_t m_ = jctx_push_key(c, key);                                         \
			r_ = (ptr) ? fn(c, o_, ptr) : -ENOMEM;                                     \
			jctx_pop(c, m_);                                                           \
		}                                                                                  \
		r_;                                                                                \
	})

int oci_resources_read(struct jctx *c, yajl_val v, struct oci_resources *res)
{
	int r;
	if ((r = LIST(c, v, "devices", res->devices, read_device_rule)) < 0)
		return r;
	if ((r = SUBOBJ(c, v, "memory", res->memory, read_memory)) < 0)
		return r;
	if ((r = SUBOBJ(c, v, "cpu", res->cpu, read_cpu)) < 0)
		return r;
	yajl_val pids;
	if ((r = j_obj(c, v, "pids", &pids, 0)) < 0)
		return r;
	if (r > 0) {
		if (!(res->pids = jctx_calloc(c, 1, sizeof(*res->pids))))
			return -ENOMEM;
		size_t mark = jctx_push_key(c, "pids");
		r = j_i64(c, pids, "limit", INT64_MIN, INT64_MAX, &res->pids->limit, J_REQ);
		jctx_pop(c, mark);
		if (r < 0)
			return r;
	}
	if ((r = SUBOBJ(c, v, "blockIO", res->block_io, read_blkio)) < 0)
		return r;
	if ((r = LIST(c, v, "hugepageLimits", res->hugepage_limits, read_hugepage)) < 0)
		return r;
	if ((r = SUBOBJ(c, v, "network", res->network, read_network)) < 0)
		return r;
	if ((r = read_rdma(c, v, res)) < 0)
		return r;
	r = j_map(c, v, "unified", &res->unified, 0);
	return r < 0 ? r : 0;
}

static int read_seccomp_arg(struct jctx *c, yajl_val e, void *item)
{
	struct oci_seccomp_arg *a = item;
	_cleanup_free_ char *op = NULL;
	int r;
	if ((r = j_u32(c, e, "index", &a->index, J_REQ)) < 0)
		return r;
	if (a->index > 5) /* a syscall has six argument registers */
		return jctx_fail_key(c, "index", "%u is out of range (0..5)", a->index);
	if ((r = j_u64(c, e, "value", UINT64_MAX, &a->value, J_REQ)) < 0)
		return r;
	if ((r = j_u64(c, e, "valueTwo", UINT64_MAX, &a->value_two, 0)) < 0)
		return r;
	if ((r = j_str(c, e, "op", &op, J_REQ)) < 0)
		return r;
	int n = oci_seccomp_op_parse(op);
	if (n < 0)
		return jctx_fail_key(c, "op", "unknown seccomp operator \"%.64s\"", op);
	a->op = (enum oci_seccomp_op)n;
	return 0;
}

static int read_action(struct jctx *c, yajl_val e, const char *key, enum oci_seccomp_action *out)
{
	_cleanup_free_ char *name = NULL;
	int r = j_str(c, e, key, &name, J_REQ);
	if (r < 0)
		return r;
	int a = oci_seccomp_action_parse(name);
	if (a < 0)
		return jctx_fail_key(c, key, "unknown seccomp action \"%.64s\"", name);
	*out = (enum oci_seccomp_action)a;
	return 0;
}

static int read_syscall(struct jctx *c, yajl_val e, void *item)
{
	struct oci_seccomp_syscall *s = item;
	int r;
	if ((r = j_strv(c, e, "names", &s->names, J_REQ)) < 0)
		return r;
	if ((r = read_action(c, e, "action", &s->action)) < 0)
		return r;
	if ((r = j_u32(c, e, "errnoRet", &s->errno_ret, 0)) < 0)
		return r;
	s->has_errno_ret = r;
	r = LIST(c, e, "args", s->args, read_seccomp_arg);
	return r < 0 ? r : 0;
}

static int read_seccomp(struct jctx *c, yajl_val o, struct oci_seccomp *s)
{
	int r;
	if ((r = read_action(c, o, "defaultAction", &s->default_action)) < 0)
		return r;
	if ((r = j_u32(c, o, "defaultErrnoRet", &s->default_errno_ret, 0)) < 0)
		return r;
	s->has_default_errno_ret = r;
	if ((r = j_strv(c, o, "architectures", &s->architectures, 0)) < 0)
		return r;
	for (size_t i = 0; i < s->architectures.n; i++) {
		if (oci_seccomp_arch_known(s->architectures.items[i]))
			continue;
		size_t mark = jctx_push_key(c, "architectures");
		jctx_push_index(c, i);
		r = jctx_fail(c, "unknown architecture \"%.64s\"", s->architectures.items[i]);
		jctx_pop(c, mark);
		return r;
	}
	if ((r = j_strv(c, o, "flags", &s->flags, 0)) < 0)
		return r;
	for (size_t i = 0; i < s->flags.n; i++) {
		int bit = oci_seccomp_flag_parse(s->flags.items[i]);
		if (bit < 0) {
			size_t mark = jctx_push_key(c, "flags");
			jctx_push_index(c, i);
			r = jctx_fail(c, "unknown seccomp flag \"%.64s\"", s->flags.items[i]);
			jctx_pop(c, mark);
			return r;
		}
		s->flag_bits |= (uint32_t)bit;
	}
	if ((r = j_str(c, o, "listenerPath", &s->listener_path, 0)) < 0)
		return r;
	if ((r = j_str(c, o, "listenerMetadata", &s->listener_metadata, 0)) < 0)
		return r;
	r = LIST(c, o, "syscalls", s->syscalls, read_syscall);
	return r < 0 ? r : 0;
}

static int read_personality(struct jctx *c, yajl_val o, struct oci_personality *p)
{
	int r = j_str(c, o, "domain", &p->domain, J_REQ);
	if (r < 0)
		return r;
	if (oci_personality_parse(p->domain, &p->persona) < 0)
		return jctx_fail_key(c, "domain",
				     "expected \"LINUX\" or \"LINUX32\", got \"%.64s\"", p->domain);
	r = j_strv(c, o, "flags", &p->flags, 0);
	return r < 0 ? r : 0;
}

static int read_propagation(struct jctx *c, yajl_val v, struct oci_linux *l)
{
	int r = j_str(c, v, "rootfsPropagation", &l->rootfs_propagation, 0);
	if (r <= 0)
		return r;
	if (oci_propagation_parse(l->rootfs_propagation, &l->rootfs_propagation_flags) < 0)
		return jctx_fail_key(c, "rootfsPropagation",
				     "expected one of private, shared, slave, unbindable (with or "
				     "without an r prefix), got \"%.64s\"",
				     l->rootfs_propagation);
	return 0;
}

int oci_linux_read(struct jctx *c, yajl_val v, struct oci_linux *l)
{
	int r;
	yajl_val rdt;
	if ((r = LIST(c, v, "namespaces", l->namespaces, read_namespace)) < 0)
		return r;
	if ((r = j_idmaps(c, v, "uidMappings", &l->uid_mappings, &l->uid_mappings_len)) < 0)
		return r;
	if ((r = j_idmaps(c, v, "gidMappings", &l->gid_mappings, &l->gid_mappings_len)) < 0)
		return r;
	if ((r = LIST(c, v, "devices", l->devices, read_device)) < 0)
		return r;
	if ((r = j_str(c, v, "cgroupsPath", &l->cgroups_path, 0)) < 0)
		return r;
	if ((r = SUBOBJ(c, v, "resources", l->resources, oci_resources_read)) < 0)
		return r;
	if ((r = j_map(c, v, "sysctl", &l->sysctl, 0)) < 0)
		return r;
	if ((r = SUBOBJ(c, v, "seccomp", l->seccomp, read_seccomp)) < 0)
		return r;
	if ((r = read_propagation(c, v, l)) < 0)
		return r;
	if ((r = j_strv(c, v, "maskedPaths", &l->masked_paths, 0)) < 0)
		return r;
	if ((r = j_strv(c, v, "readonlyPaths", &l->readonly_paths, 0)) < 0)
		return r;
	if ((r = j_str(c, v, "mountLabel", &l->mount_label, 0)) < 0)
		return r;
	if ((r = SUBOBJ(c, v, "personality", l->personality, read_personality)) < 0)
		return r;
	/* intelRdt: accepted (it must be an object) and otherwise ignored. */
	if ((r = j_obj(c, v, "intelRdt", &rdt, 0)) < 0)
		return r;
	l->has_intel_rdt = r;
	return 0;
}
