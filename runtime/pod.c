// SPDX-License-Identifier: Apache-2.0
/*
 * Containers added to a running sandbox (see runtime/pod.h). The host side
 * is the shared directory's entry c/<id> (rootfs and bind sources, bound in
 * while virtiofsd serves the directory: it is a shared mount, the binds
 * propagate into virtiofsd's namespace), the guest side the agent's
 * CreateContainer with the shared directory mounted in the container's mount
 * namespace and the rootfs a bind of its entry there.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "runtime/agent_client.h"
#include "runtime/pod.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

/* The name under /proc/PID/ns/, NULL: nothing to join in the guest. */
static const char *proc_ns_name(enum oci_ns_type t)
{
	switch (t) {
	case OCI_NS_PID:
		return "pid";
	case OCI_NS_IPC:
		return "ipc";
	case OCI_NS_UTS:
		return "uts";
	case OCI_NS_CGROUP:
		return "cgroup";
	default:
		return NULL;
	}
}

int rt_pod_spec_namespaces(struct oci_spec *spec, pid_t pid, struct err **err)
{
	struct oci_linux *lx = spec->linux_;
	for (size_t i = 0; lx && i < lx->namespaces_len; i++) {
		struct oci_namespace *ns = &lx->namespaces[i];
		if (!ns->path)
			continue;
		const char *name = proc_ns_name(ns->type);
		char *p = NULL;
		if (name && pid > 0 && asprintf(&p, "/proc/%d/ns/%s", (int)pid, name) < 0)
			return err_set(err, ENOMEM, "namespace %s", oci_ns_name(ns->type));
		log_debug("namespace %s: %s -> %s", oci_ns_name(ns->type), ns->path,
			  p ? p : "(new)");
		free(ns->path);
		ns->path = p;
	}
	return 0;
}

int rt_pod_container_create(const struct rt_container *sb, struct rt_agent *agent,
			    const struct rt_pod_container *o, pid_t *guest_pid, struct err **err)
{
	if (o->size < sizeof(*o))
		return err_set(err, EINVAL, "rt_pod_container_create: old options");
	int r = rt_id_validate(o->id, err);
	if (r < 0)
		return r;
	char bundle[PATH_MAX], sub[PATH_MAX], rootfs_guest[PATH_MAX];
	if (!realpath(o->bundle, bundle))
		return err_set(err, errno, "bundle %s", o->bundle);
	_cleanup_oci_spec_ struct oci_spec *spec = NULL;
	if ((r = oci_spec_load(bundle, &spec, err)) < 0 || (r = oci_spec_validate(spec, err)) < 0)
		return err_wrap(err, "bundle %s", bundle);
	_cleanup_free_ char *rootfs = NULL, *json = NULL;
	size_t len = 0;
	const char *rp = spec->root->path;
	if (rp[0] == '/' ? !(rootfs = strdup(rp)) : asprintf(&rootfs, "%s/%s", bundle, rp) < 0)
		return err_set(err, ENOMEM, "container %s", o->id);
	/* ids are at most RT_ID_MAX characters: these fit */
	if ((size_t)snprintf(sub, sizeof(sub), "c/%s", o->id) >= sizeof(sub) ||
	    (size_t)snprintf(rootfs_guest, sizeof(rootfs_guest), "%s/c/%s/rootfs", RT_GUEST_SHARED,
			     o->id) >= sizeof(rootfs_guest))
		return err_set(err, ENAMETOOLONG, "container %s", o->id);
	if ((r = rt_pod_spec_namespaces(spec, o->sandbox_pid, err)) < 0 ||
	    (r = rt_shared_dir_add(sb, sub, rootfs, spec, err)) < 0)
		goto fail;
	if ((r = oci_spec_to_json(spec, &json, &len, err)) < 0)
		goto fail;
	/* the shared directory first, in the container's mount namespace */
	static const struct rt_agent_mount shared_mount = {
	    .type = "virtiofs", .source = RT_SHARED_TAG, .target = RT_GUEST_SHARED};
	struct rt_agent_create req = {
	    .id = o->id,
	    .spec_json = json,
	    .spec_len = len,
	    .rootfs = {.type = RT_AGENT_ROOTFS_BIND, .source = rootfs_guest},
	    .mounts = &shared_mount,
	    .n_mounts = 1,
	    .stdio = o->stdio,
	};
	if ((r = rt_agent_create_container(agent, &req, guest_pid, err)) < 0)
		goto fail;
	return 0;
fail:
	rt_shared_dir_remove(sb, sub);
	return err_wrap(err, "container %s in sandbox %s", o->id, sb->state.id);
}

int rt_pod_container_remove(const struct rt_container *sb, struct rt_agent *agent, const char *id,
			    struct err **err)
{
	int first = 0;
	if (rt_id_validate(id, err) < 0)
		return -EINVAL;
	if (agent) {
		struct err *e = NULL;
		int r = rt_agent_remove_container(agent, id, true, &e);
		/* gone already (never created, or the VM is gone) is fine */
		if (r < 0 && r != -ENOENT) {
			first = r;
			err_set(err, -r, "%s", err_msg(e));
		}
		err_free(&e);
	}
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "c/%s", id);
	int r = rt_shared_dir_remove(sb, sub);
	if (r < 0 && first == 0)
		first = err_set(err, -r, "release the shared entry %s of sandbox %s", sub,
				sb->state.id);
	return first < 0 ? err_wrap(err, "container %s", id) : 0;
}
