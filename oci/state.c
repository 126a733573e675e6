// SPDX-License-Identifier: Apache-2.0
/*
 * The documents a runtime prints about itself: the container state
 * (runtime.md "State", with runc's extra rootfs/created/owner fields) and
 * `features` (features.md), built from the same tables the parser uses so
 * they cannot drift apart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "internal.h"

int oci_state_to_json(const struct oci_state *st, char **json, size_t *len, struct err **err)
{
	if (!st->id || !st->status)
		return err_set(err, 0, "state: id and status are required");
	struct jw w;
	int r = jw_init(&w, err);
	if (r < 0)
		return r;
	jw_open(&w, NULL);
	jw_kstr(&w, "ociVersion", st->oci_version ? st->oci_version : OCI_VERSION);
	jw_kstr(&w, "id", st->id);
	jw_ki64(&w, "pid", st->pid);
	jw_kstr(&w, "status", st->status);
	jw_kstr(&w, "bundle", st->bundle ? st->bundle : "");
	jw_kstr(&w, "rootfs", st->rootfs);
	jw_kstr(&w, "created", st->created);
	jw_kmap(&w, "annotations", st->annotations);
	jw_kstr(&w, "owner", st->owner ? st->owner : "");
	jw_close(&w);
	r = jw_finish(&w, json, len, err);
	jw_exit(&w);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void write_mount_options(struct jw *w)
{
	const char *names[128];
	size_t n = oci_mount_opt_list(names, ARRAY_SIZE(names));
	qsort(names, n, sizeof(names[0]), cmp_str);
	jw_aopen(w, "mountOptions");
	for (size_t i = 0; i < n; i++)
		jw_str(w, names[i]);
	jw_aclose(w);
}

static void write_seccomp_features(struct jw *w)
{
	jw_open(w, "seccomp");
	jw_kbool(w, "enabled", true);
	jw_aopen(w, "actions");
	for (int i = 0; oci_seccomp_action_name((enum oci_seccomp_action)i); i++)
		jw_str(w, oci_seccomp_action_name((enum oci_seccomp_action)i));
	jw_aclose(w);
	jw_aopen(w, "operators");
	for (int i = 0; oci_seccomp_op_name((enum oci_seccomp_op)i); i++)
		jw_str(w, oci_seccomp_op_name((enum oci_seccomp_op)i));
	jw_aclose(w);
	jw_aopen(w, "archs");
	for (size_t i = 0; oci_seccomp_arch_name(i); i++)
		jw_str(w, oci_seccomp_arch_name(i));
	jw_aclose(w);
	jw_aopen(w, "knownFlags");
	for (size_t i = 0; oci_seccomp_flag_name(i); i++)
		jw_str(w, oci_seccomp_flag_name(i));
	jw_aclose(w);
	jw_aopen(w, "supportedFlags");
	for (size_t i = 0; oci_seccomp_flag_name(i); i++)
		jw_str(w, oci_seccomp_flag_name(i));
	jw_aclose(w);
	jw_close(w);
}

static void write_linux_features(struct jw *w)
{
	jw_open(w, "linux");
	jw_aopen(w, "namespaces");
	for (int i = 0; i < OCI_NS_COUNT; i++)
		jw_str(w, oci_ns_name((enum oci_ns_type)i));
	jw_aclose(w);
	jw_aopen(w, "capabilities");
	for (int i = 0; i <= oci_cap_last(); i++)
		jw_str(w, oci_cap_name(i));
	jw_aclose(w);
	/* The guest agent drives cgroup v2 directly; there is no systemd in the VM. */
	jw_open(w, "cgroup");
	jw_kbool(w, "v1", false);
	jw_kbool(w, "v2", true);
	jw_kbool(w, "systemd", false);
	jw_kbool(w, "systemdUser", false);
	jw_kbool(w, "rdma", false);
	jw_close(w);
	write_seccomp_features(w);
	/* The guest kernel has no LSMs: the VM boundary replaces them. */
	jw_open(w, "apparmor");
	jw_kbool(w, "enabled", false);
	jw_close(w);
	jw_open(w, "selinux");
	jw_kbool(w, "enabled", false);
	jw_close(w);
	jw_open(w, "intelRdt");
	jw_kbool(w, "enabled", false);
	jw_close(w);
	jw_close(w);
}

int oci_features_json(char **json, size_t *len, struct err **err)
{
	struct jw w;
	int r = jw_init(&w, err);
	if (r < 0)
		return r;
	jw_open(&w, NULL);
	jw_kstr(&w, "ociVersionMin", "1.0.0");
	jw_kstr(&w, "ociVersionMax", OCI_VERSION);
	jw_aopen(&w, "hooks");
	static const char *const hooks[] = {"prestart",       "createRuntime", "createContainer",
					    "startContainer", "poststart",     "poststop"};
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++)
		jw_str(&w, hooks[i]);
	jw_aclose(&w);
	write_mount_options(&w);
	write_linux_features(&w);
	jw_open(&w, "annotations");
	jw_kstr(&w, "io.github.hull.vm-isolation", "kvm");
	jw_close(&w);
	jw_close(&w);
	r = jw_finish(&w, json, len, err);
	jw_exit(&w);
	return r;
}
