// SPDX-License-Identifier: Apache-2.0
/*
 * Semantic checks of a parsed spec, the MUSTs of config.md/config-linux.md
 * that types alone do not capture, plus the checks runc's validator makes
 * (libcontainer/configs/validate) so mistakes surface at `create` with the
 * field named rather than as a failed syscall inside the guest.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "internal.h"

static bool is_abs(const char *p)
{
	return p && p[0] == '/';
}

/* SemVer "MAJOR.MINOR.PATCH[-pre][+build]" with MAJOR 1. */
static int check_version(const char *v, struct err **err)
{
	const char *p = v;
	for (int part = 0; part < 3; part++) {
		if (!isdigit((unsigned char)*p))
			return err_set(err, 0, "ociVersion: \"%.64s\" is not a SemVer version", v);
		while (isdigit((unsigned char)*p))
			p++;
		if (part < 2 && *p++ != '.')
			return err_set(err, 0, "ociVersion: \"%.64s\" is not a SemVer version", v);
	}
	if (*p && *p != '-' && *p != '+')
		return err_set(err, 0, "ociVersion: \"%.64s\" is not a SemVer version", v);
	if (strncmp(v, "1.", 2) != 0)
		return err_set(err, 0, "ociVersion: unsupported version \"%.64s\" (want 1.x)", v);
	return 0;
}

static int check_strv_abs(const struct oci_strv *v, const char *what, struct err **err)
{
	for (size_t i = 0; i < v->n; i++)
		if (!is_abs(v->items[i]))
			return err_set(err, 0, "%s[%zu]: \"%.128s\" is not an absolute path", what,
				       i, v->items[i]);
	return 0;
}

static int check_rlimits(const struct oci_process *p, const char *pre, struct err **err)
{
	uint64_t seen = 0; /* resources are < 64 */
	for (size_t i = 0; i < p->rlimits_len; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];
		uint64_t bit = UINT64_C(1) << (rl->resource & 63);
		if (seen & bit)
			return err_set(err, 0, "%srlimits[%zu]: duplicate rlimit %s", pre, i,
				       rl->type);
		seen |= bit;
		if (rl->soft > rl->hard)
			return err_set(
			    err, 0, "%srlimits[%zu]: soft limit %llu exceeds hard limit %llu", pre,
			    i, (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	}
	return 0;
}

static int check_process(const struct oci_process *p, const char *pre, struct err **err)
{
	if (!p->args.n)
		return err_set(err, 0, "%sargs: must contain at least one entry", pre);
	if (!p->args.items[0][0])
		return err_set(err, 0, "%sargs[0]: must not be empty", pre);
	if (!is_abs(p->cwd))
		return err_set(err, 0, "%scwd: \"%.128s\" is not an absolute path", pre,
			       p->cwd ? p->cwd : "");
	for (size_t i = 0; i < p->env.n; i++) {
		const char *eq = strchr(p->env.items[i], '=');
		if (!eq || eq == p->env.items[i])
			return err_set(err, 0, "%senv[%zu]: \"%.64s\" is not of the form KEY=value",
				       pre, i, p->env.items[i]);
	}
	if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
		return err_set(err, 0, "%soomScoreAdj: %d is out of range (-1000..1000)", pre,
			       p->oom_score_adj);
	return check_rlimits(p, pre, err);
}

int oci_process_validate(const struct oci_process *p, struct err **err)
{
	return check_process(p, "", err);
}

static int check_idmaps(const struct oci_idmap *m, size_t n, const char *what, struct err **err)
{
	for (size_t i = 0; i < n; i++) {
		if (!m[i].size)
			return err_set(err, 0, "%s[%zu].size: must be greater than 0", what, i);
		if ((uint64_t)m[i].container_id + m[i].size > UINT64_C(1) << 32 ||
		    (uint64_t)m[i].host_id + m[i].size > UINT64_C(1) << 32)
			return err_set(err, 0, "%s[%zu]: range exceeds the 32-bit id space", what,
				       i);
	}
	return 0;
}

static int check_mounts(const struct oci_spec *s, struct err **err)
{
	for (size_t i = 0; i < s->mounts_len; i++) {
		const struct oci_mount *m = &s->mounts[i];
		if (!is_abs(m->destination))
			return err_set(
			    err, 0, "mounts[%zu].destination: \"%.128s\" is not an absolute path",
			    i, m->destination);
		char what[64];
		snprintf(what, sizeof(what), "mounts[%zu].uidMappings", i);
		int r = check_idmaps(m->uid_mappings, m->uid_mappings_len, what, err);
		if (r < 0)
			return r;
		snprintf(what, sizeof(what), "mounts[%zu].gidMappings", i);
		if ((r = check_idmaps(m->gid_mappings, m->gid_mappings_len, what, err)) < 0)
			return r;
		if (!m->uid_mappings_len != !m->gid_mappings_len)
			return err_set(
			    err, 0,
			    "mounts[%zu]: uidMappings and gidMappings must be given together", i);
	}
	return 0;
}

static int check_hooks(const struct oci_hooks *h, struct err **err)
{
	const struct {
		const char *name;
		const struct oci_hook_list *l;
	} lists[] = {
	    {"prestart", &h->prestart},
	    {"createRuntime", &h->create_runtime},
	    {"createContainer", &h->create_container},
	    {"startContainer", &h->start_container},
	    {"poststart", &h->poststart},
	    {"poststop", &h->poststop},
	};
	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
		for (size_t i = 0; i < lists[k].l->n; i++)
			if (!is_abs(lists[k].l->items[i].path))
				return err_set(
				    err, 0,
				    "hooks.%s[%zu].path: \"%.128s\" is not an absolute path",
				    lists[k].name, i, lists[k].l->items[i].path);
	return 0;
}

/* Bitmask of namespace types; fails on duplicates. */
static int check_namespaces(const struct oci_linux *l, unsigned *have, struct err **err)
{
	*have = 0;
	for (size_t i = 0; i < l->namespaces_len; i++) {
		const struct oci_namespace *ns = &l->namespaces[i];
		if (*have & (1u << ns->type))
			return err_set(err, 0,
				       "linux.namespaces[%zu]: duplicate namespace type \"%s\"", i,
				       oci_ns_name(ns->type));
		*have |= 1u << ns->type;
		if (ns->path && !is_abs(ns->path))
			return err_set(
			    err, 0,
			    "linux.namespaces[%zu].path: \"%.128s\" is not an absolute path", i,
			    ns->path);
	}
	return 0;
}

static int check_user_ns(const struct oci_linux *l, unsigned have, struct err **err)
{
	int r = check_idmaps(l->uid_mappings, l->uid_mappings_len, "linux.uidMappings", err);
	if (r < 0)
		return r;
	if ((r = check_idmaps(l->gid_mappings, l->gid_mappings_len, "linux.gidMappings", err)) < 0)
		return r;
	bool userns = have & (1u << OCI_NS_USER);
	if ((l->uid_mappings_len || l->gid_mappings_len) && !userns)
		return err_set(
		    err, 0,
		    "linux.uidMappings: id mappings need a user namespace in linux.namespaces");
	bool joining = false;
	for (size_t i = 0; i < l->namespaces_len; i++)
		if (l->namespaces[i].type == OCI_NS_USER && l->namespaces[i].path)
			joining = true;
	if (userns && !joining && (!l->uid_mappings_len || !l->gid_mappings_len))
		return err_set(err, 0,
			       "linux.namespaces: a new user namespace needs linux.uidMappings and "
			       "linux.gidMappings");
	return 0;
}

/* runc's sysctl rule: a namespaced sysctl needs its namespace, others are refused. */
static int check_sysctl(const struct oci_linux *l, unsigned have, struct err **err)
{
	for (size_t i = 0; i < l->sysctl.n; i++) {
		const char *k = l->sysctl.items[i].key;
		int need;
		if (strncmp(k, "net.", 4) == 0)
			need = OCI_NS_NETWORK;
		else if (strncmp(k, "fs.mqueue.", 10) == 0 || strncmp(k, "kernel.msg", 10) == 0 ||
			 strcmp(k, "kernel.sem") == 0 || strncmp(k, "kernel.shm", 10) == 0)
			need = OCI_NS_IPC;
		else if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0)
			need = OCI_NS_UTS;
		else
			return err_set(err, 0,
				       "linux.sysctl.%.128s: not a namespaced sysctl, refused", k);
		if (!(have & (1u << need)))
			return err_set(
			    err, 0, "linux.sysctl.%.128s: needs a %s namespace in linux.namespaces",
			    k, oci_ns_name((enum oci_ns_type)need));
	}
	return 0;
}

static int check_devices(const struct oci_linux *l, struct err **err)
{
	for (size_t i = 0; i < l->devices_len; i++) {
		const struct oci_device *d = &l->devices[i];
		if (!is_abs(d->path))
			return err_set(
			    err, 0, "linux.devices[%zu].path: \"%.128s\" is not an absolute path",
			    i, d->path);
		if (d->type != 'p' && (!d->has_major || !d->has_minor))
			return err_set(err, 0,
				       "linux.devices[%zu]: type \"%c\" needs major and minor", i,
				       d->type);
	}
	return 0;
}

int oci_resources_validate(const struct oci_resources *r, struct err **err)
{
	if (r->memory && r->memory->has_swappiness && r->memory->swappiness > 100)
		return err_set(err, 0,
			       "linux.resources.memory.swappiness: %llu is out of range (0..100)",
			       (unsigned long long)r->memory->swappiness);
	if (r->memory && r->memory->has_limit && r->memory->has_swap && r->memory->limit > 0 &&
	    r->memory->swap > 0 && r->memory->swap < r->memory->limit)
		return err_set(err, 0,
			       "linux.resources.memory.swap: %lld is below memory.limit %lld "
			       "(swap is memory+swap)",
			       (long long)r->memory->swap, (long long)r->memory->limit);
	/* 0 means "not set", as runc takes it (docker sends it on every container) */
	if (r->block_io && r->block_io->has_weight && r->block_io->weight != 0 &&
	    (r->block_io->weight < 10 || r->block_io->weight > 1000))
		return err_set(err, 0,
			       "linux.resources.blockIO.weight: %u is out of range (10..1000)",
			       r->block_io->weight);
	if (r->cpu && r->cpu->has_idle && r->cpu->idle != 0 && r->cpu->idle != 1)
		return err_set(err, 0, "linux.resources.cpu.idle: expected 0 or 1, got %lld",
			       (long long)r->cpu->idle);
	return 0;
}

static int check_seccomp(const struct oci_seccomp *s, struct err **err)
{
	if (s->default_action == OCI_SECCOMP_NOTIFY)
		return err_set(
		    err, 0, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default");
	if (s->has_default_errno_ret && s->default_action != OCI_SECCOMP_ERRNO &&
	    s->default_action != OCI_SECCOMP_TRACE)
		return err_set(err, 0,
			       "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or "
			       "SCMP_ACT_TRACE");
	for (size_t i = 0; i < s->syscalls_len; i++) {
		const struct oci_seccomp_syscall *sc = &s->syscalls[i];
		if (!sc->names.n)
			return err_set(err, 0,
				       "linux.seccomp.syscalls[%zu].names: must not be empty", i);
		for (size_t j = 0; j < sc->names.n; j++)
			if (!sc->names.items[j][0])
				return err_set(
				    err, 0,
				    "linux.seccomp.syscalls[%zu].names[%zu]: empty syscall name", i,
				    j);
		if (sc->has_errno_ret && sc->action != OCI_SECCOMP_ERRNO &&
		    sc->action != OCI_SECCOMP_TRACE)
			return err_set(err, 0,
				       "linux.seccomp.syscalls[%zu].errnoRet: only valid with "
				       "SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
				       i);
		if (sc->action == OCI_SECCOMP_NOTIFY && !s->listener_path)
			return err_set(err, 0,
				       "linux.seccomp.syscalls[%zu].action: SCMP_ACT_NOTIFY needs "
				       "linux.seccomp.listenerPath",
				       i);
	}
	return 0;
}

/* A ".." component would let cgroupsPath climb out of the runtime's cgroup subtree. */
static int check_cgroups_path(const char *p, struct err **err)
{
	for (const char *c = p; c && *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return err_set(err, 0,
				       "linux.cgroupsPath: \"%.128s\" must not contain \"..\"", p);
		c += n;
		c += strspn(c, "/");
	}
	return 0;
}

static int check_linux(const struct oci_spec *s, struct err **err)
{
	const struct oci_linux *l = s->linux_;
	unsigned have = 0;
	int r;
	if (l && (r = check_namespaces(l, &have, err)) < 0)
		return r;
	if ((s->hostname && s->hostname[0]) && !(have & (1u << OCI_NS_UTS)))
		return err_set(err, 0, "hostname: needs a uts namespace in linux.namespaces");
	if ((s->domainname && s->domainname[0]) && !(have & (1u << OCI_NS_UTS)))
		return err_set(err, 0, "domainname: needs a uts namespace in linux.namespaces");
	if (!l)
		return 0;
	if ((r = check_cgroups_path(l->cgroups_path, err)) < 0)
		return r;
	if ((r = check_user_ns(l, have, err)) < 0 || (r = check_sysctl(l, have, err)) < 0 ||
	    (r = check_devices(l, err)) < 0)
		return r;
	if (l->resources && (r = oci_resources_validate(l->resources, err)) < 0)
		return r;
	if (l->seccomp && (r = check_seccomp(l->seccomp, err)) < 0)
		return r;
	if ((r = check_strv_abs(&l->masked_paths, "linux.maskedPaths", err)) < 0)
		return r;
	return check_strv_abs(&l->readonly_paths, "linux.readonlyPaths", err);
}

int oci_spec_validate(const struct oci_spec *s, struct err **err)
{
	int r = check_version(s->oci_version ? s->oci_version : "", err);
	if (r < 0)
		return r;
	/* config.md: root is REQUIRED on every platform but Windows. */
	if (!s->root)
		return err_set(err, 0, "root: missing required field");
	if (!s->root->path || !s->root->path[0])
		return err_set(err, 0, "root.path: must not be empty");
	if (s->process && (r = check_process(s->process, "process.", err)) < 0)
		return r;
	if ((r = check_mounts(s, err)) < 0)
		return r;
	if (s->hooks && (r = check_hooks(s->hooks, err)) < 0)
		return r;
	return check_linux(s, err);
}
