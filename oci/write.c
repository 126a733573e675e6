// SPDX-License-Identifier: Apache-2.0
/*
 * Writing config.json and process.json. Field order and omission follow
 * runtime-spec's Go types (specs-go/config.go, fields marked omitempty are left
 * out when empty), so the output reads like what runc and containerd write.
 */
#include <errno.h>
#include <stdlib.h>

#include "lib/err.h"
#include "internal.h"

static void write_capset(struct jw *w, const char *key, const struct oci_capset *s)
{
	jw_kstrv(w, key, &s->names);
}

static void write_user(struct jw *w, const struct oci_user *u)
{
	jw_open(w, "user");
	jw_ku64(w, "uid", u->uid);
	jw_ku64(w, "gid", u->gid);
	if (u->has_umask)
		jw_ku64(w, "umask", u->umask);
	if (u->additional_gids_len) {
		jw_aopen(w, "additionalGids");
		for (size_t i = 0; i < u->additional_gids_len; i++)
			jw_u64(w, u->additional_gids[i]);
		jw_aclose(w);
	}
	jw_kstr(w, "username", u->username);
	jw_close(w);
}

void oci_process_write(struct jw *w, const struct oci_process *p)
{
	jw_open(w, NULL);
	if (p->terminal)
		jw_kbool(w, "terminal", true);
	if (p->has_console_size) {
		jw_open(w, "consoleSize");
		jw_ku64(w, "height", p->console_height);
		jw_ku64(w, "width", p->console_width);
		jw_close(w);
	}
	write_user(w, &p->user);
	jw_kstrv(w, "args", &p->args);
	jw_kstrv(w, "env", &p->env);
	jw_kstr(w, "cwd", p->cwd ? p->cwd : "/");
	if (p->capabilities) {
		const struct oci_capabilities *c = p->capabilities;
		jw_open(w, "capabilities");
		write_capset(w, "bounding", &c->bounding);
		write_capset(w, "effective", &c->effective);
		write_capset(w, "inheritable", &c->inheritable);
		write_capset(w, "permitted", &c->permitted);
		write_capset(w, "ambient", &c->ambient);
		jw_close(w);
	}
	if (p->rlimits_len) {
		jw_aopen(w, "rlimits");
		for (size_t i = 0; i < p->rlimits_len; i++) {
			jw_open(w, NULL);
			jw_kstr(w, "type", p->rlimits[i].type);
			jw_ku64(w, "hard", p->rlimits[i].hard);
			jw_ku64(w, "soft", p->rlimits[i].soft);
			jw_close(w);
		}
		jw_aclose(w);
	}
	if (p->no_new_privileges)
		jw_kbool(w, "noNewPrivileges", true);
	if (p->has_oom_score_adj)
		jw_ki64(w, "oomScoreAdj", p->oom_score_adj);
	jw_kstr(w, "apparmorProfile", p->apparmor_profile);
	jw_kstr(w, "selinuxLabel", p->selinux_label);
	if (p->io_priority) {
		jw_open(w, "ioPriority");
		jw_kstr(w, "class", p->io_priority->class_name);
		jw_ki64(w, "priority", p->io_priority->priority);
		jw_close(w);
	}
	jw_close(w);
}

static void write_mounts(struct jw *w, const struct oci_spec *s)
{
	if (!s->mounts_len)
		return;
	jw_aopen(w, "mounts");
	for (size_t i = 0; i < s->mounts_len; i++) {
		const struct oci_mount *m = &s->mounts[i];
		jw_open(w, NULL);
		jw_kstr(w, "destination", m->destination);
		jw_kstr(w, "type", m->type);
		jw_kstr(w, "source", m->source);
		jw_kstrv(w, "options", &m->options);
		jw_kidmaps(w, "uidMappings", m->uid_mappings, m->uid_mappings_len);
		jw_kidmaps(w, "gidMappings", m->gid_mappings, m->gid_mappings_len);
		jw_close(w);
	}
	jw_aclose(w);
}

static void write_hook_list(struct jw *w, const char *key, const struct oci_hook_list *l)
{
	if (!l->n)
		return;
	jw_aopen(w, key);
	for (size_t i = 0; i < l->n; i++) {
		const struct oci_hook *h = &l->items[i];
		jw_open(w, NULL);
		jw_kstr(w, "path", h->path);
		jw_kstrv(w, "args", &h->args);
		jw_kstrv(w, "env", &h->env);
		if (h->has_timeout)
			jw_ki64(w, "timeout", h->timeout);
		jw_close(w);
	}
	jw_aclose(w);
}

static void write_hooks(struct jw *w, const struct oci_hooks *h)
{
	if (!h)
		return;
	jw_open(w, "hooks");
	write_hook_list(w, "prestart", &h->prestart);
	write_hook_list(w, "createRuntime", &h->create_runtime);
	write_hook_list(w, "createContainer", &h->create_container);
	write_hook_list(w, "startContainer", &h->start_container);
	write_hook_list(w, "poststart", &h->poststart);
	write_hook_list(w, "poststop", &h->poststop);
	jw_close(w);
}

static void write_spec(struct jw *w, const struct oci_spec *s)
{
	jw_open(w, NULL);
	jw_kstr(w, "ociVersion", s->oci_version ? s->oci_version : OCI_VERSION);
	if (s->process) {
		jw_key(w, "process");
		oci_process_write(w, s->process);
	}
	if (s->root) {
		jw_open(w, "root");
		jw_kstr(w, "path", s->root->path ? s->root->path : "");
		if (s->root->readonly)
			jw_kbool(w, "readonly", true);
		jw_close(w);
	}
	jw_kstr(w, "hostname", s->hostname);
	jw_kstr(w, "domainname", s->domainname);
	write_mounts(w, s);
	write_hooks(w, s->hooks);
	jw_kmap(w, "annotations", &s->annotations);
	if (s->linux_) {
		jw_key(w, "linux");
		oci_linux_write(w, s->linux_);
	}
	jw_close(w);
}

int oci_spec_to_json(const struct oci_spec *spec, char **json, size_t *len, struct err **err)
{
	struct jw w;
	int r = jw_init(&w, err);
	if (r < 0)
		return r;
	write_spec(&w, spec);
	r = jw_finish(&w, json, len, err);
	jw_exit(&w);
	return r;
}

int oci_process_to_json(const struct oci_process *p, char **json, size_t *len, struct err **err)
{
	struct jw w;
	int r = jw_init(&w, err);
	if (r < 0)
		return r;
	oci_process_write(&w, p);
	r = jw_finish(&w, json, len, err);
	jw_exit(&w);
	return r;
}
