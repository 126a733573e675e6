// SPDX-License-Identifier: Apache-2.0
/* Freeing the spec structs; every function accepts partially filled structs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void oci_strv_free(struct oci_strv *v)
{
	if (!v)
		return;
	for (size_t i = 0; v->items && i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->n = 0;
}

void oci_map_clear(struct oci_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].key);
		free(m->items[i].value);
	}
	free(m->items);
	m->items = NULL;
	m->n = 0;
}

static void capset_clear(struct oci_capset *s)
{
	oci_strv_free(&s->names);
	free(s->nums);
}

void oci_process_clear(struct oci_process *p)
{
	free(p->user.additional_gids);
	free(p->user.username);
	oci_strv_free(&p->args);
	oci_strv_free(&p->env);
	free(p->cwd);
	if (p->capabilities) {
		capset_clear(&p->capabilities->bounding);
		capset_clear(&p->capabilities->effective);
		capset_clear(&p->capabilities->inheritable);
		capset_clear(&p->capabilities->permitted);
		capset_clear(&p->capabilities->ambient);
		free(p->capabilities);
	}
	for (size_t i = 0; p->rlimits && i < p->rlimits_len; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	if (p->io_priority)
		free(p->io_priority->class_name);
	free(p->io_priority);
}

void oci_process_free(struct oci_process *p)
{
	if (!p)
		return;
	oci_process_clear(p);
	free(p);
}

void oci_resources_clear(struct oci_resources *r)
{
	for (size_t i = 0; r->devices && i < r->devices_len; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->memory);
	if (r->cpu) {
		free(r->cpu->cpus);
		free(r->cpu->mems);
		free(r->cpu);
	}
	free(r->pids);
	if (r->block_io) {
		free(r->block_io->weight_device);
		free(r->block_io->throttle_read_bps);
		free(r->block_io->throttle_write_bps);
		free(r->block_io->throttle_read_iops);
		free(r->block_io->throttle_write_iops);
		free(r->block_io);
	}
	for (size_t i = 0; r->hugepage_limits && i < r->hugepage_limits_len; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	if (r->network) {
		for (size_t i = 0; r->network->priorities && i < r->network->priorities_len; i++)
			free(r->network->priorities[i].name);
		free(r->network->priorities);
		free(r->network);
	}
	for (size_t i = 0; r->rdma && i < r->rdma_len; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	oci_map_clear(&r->unified);
}

static void seccomp_free(struct oci_seccomp *s)
{
	if (!s)
		return;
	oci_strv_free(&s->architectures);
	oci_strv_free(&s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; s->syscalls && i < s->syscalls_len; i++) {
		oci_strv_free(&s->syscalls[i].names);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	free(s);
}

void oci_linux_clear(struct oci_linux *l)
{
	for (size_t i = 0; l->namespaces && i < l->namespaces_len; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; l->devices && i < l->devices_len; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	if (l->resources) {
		oci_resources_clear(l->resources);
		free(l->resources);
	}
	oci_map_clear(&l->sysctl);
	seccomp_free(l->seccomp);
	free(l->rootfs_propagation);
	oci_strv_free(&l->masked_paths);
	oci_strv_free(&l->readonly_paths);
	free(l->mount_label);
	if (l->personality) {
		free(l->personality->domain);
		oci_strv_free(&l->personality->flags);
		free(l->personality);
	}
}

static void hook_list_clear(struct oci_hook_list *l)
{
	for (size_t i = 0; l->items && i < l->n; i++) {
		free(l->items[i].path);
		oci_strv_free(&l->items[i].args);
		oci_strv_free(&l->items[i].env);
	}
	free(l->items);
}

void oci_spec_free(struct oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	oci_process_free(s->process);
	if (s->root)
		free(s->root->path);
	free(s->root);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; s->mounts && i < s->mounts_len; i++) {
		struct oci_mount *m = &s->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		oci_strv_free(&m->options);
		free(m->uid_mappings);
		free(m->gid_mappings);
		oci_mount_opts_free(&m->opts);
	}
	free(s->mounts);
	if (s->hooks) {
		hook_list_clear(&s->hooks->prestart);
		hook_list_clear(&s->hooks->create_runtime);
		hook_list_clear(&s->hooks->create_container);
		hook_list_clear(&s->hooks->start_container);
		hook_list_clear(&s->hooks->poststart);
		hook_list_clear(&s->hooks->poststop);
		free(s->hooks);
	}
	oci_map_clear(&s->annotations);
	if (s->linux_) {
		oci_linux_clear(s->linux_);
		free(s->linux_);
	}
	free(s);
}

int oci_strv_from(struct oci_strv *v, const char *const *items, size_t n)
{
	oci_strv_free(v);
	v->items = calloc(n + 1, sizeof(*v->items));
	if (!v->items)
		return -1;
	for (size_t i = 0; i < n; i++) {
		v->items[i] = strdup(items[i]);
		if (!v->items[i]) {
			oci_strv_free(v);
			return -1;
		}
		v->n = i + 1;
	}
	return 0;
}
