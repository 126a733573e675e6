/* SPDX-License-Identifier: Apache-2.0 */
/*
 * More containers in a running sandbox: a Kubernetes pod is one VM, its
 * first container (the CRI sandbox, "pause") made by rt_sandbox_create with
 * .pod set, every other container added here. Each added container's rootfs
 * and bind-mount sources reach the guest through the sandbox's shared
 * directory (ROOT/SANDBOX/shared/c/ID, already served by virtiofsd), and it
 * shares the VM's network. Namespace paths in its spec name host processes
 * (CRI writes /proc/<sandbox pid>/ns/ipc): they are turned into the same
 * namespaces of the sandbox container inside the guest.
 */
#ifndef HULL_RUNTIME_POD_H
#define HULL_RUNTIME_POD_H

#include <stddef.h>
#include <sys/types.h>

#include "runtime/agent_client.h"

struct err;
struct oci_spec;
struct rt_container;

struct rt_pod_container {
	size_t size; /* sizeof(struct rt_pod_container) */
	const char *id;
	const char *bundle;          /* its config.json; the rootfs is BUNDLE/root.path */
	struct rt_agent_stdio stdio; /* streams of its init process */
	pid_t sandbox_pid;           /* the sandbox container's init, a guest pid */
};

/*
 * Add container o->id to the sandbox of sb (locked, from rt_sandbox_create)
 * through its agent: shared-directory entries, then CreateContainer. On
 * failure nothing of it is left. *guest_pid: its init process in the guest.
 */
int rt_pod_container_create(const struct rt_container *sb, struct rt_agent *agent,
			    const struct rt_pod_container *o, pid_t *guest_pid, struct err **err);

/* Remove container id from the guest (killing what still runs) and release
 * its shared-directory entry. Carries on past failures; the first error. */
int rt_pod_container_remove(const struct rt_container *sb, struct rt_agent *agent, const char *id,
			    struct err **err);

/* Point the spec's ipc/uts/pid/cgroup namespace paths at those of guest
 * process pid (0: drop the paths: new namespaces); a network namespace is
 * dropped (the VM is the pod's network). Exposed for tests. */
int rt_pod_spec_namespaces(struct oci_spec *spec, pid_t pid, struct err **err);

#endif
