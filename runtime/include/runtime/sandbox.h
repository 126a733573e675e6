/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's sandbox on the host: its hull-vmm process, the virtiofsd
 * processes serving its rootfs and volumes, and their sockets and files.
 */
#ifndef HULL_RUNTIME_SANDBOX_H
#define HULL_RUNTIME_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/agent_client.h"

struct err;
struct oci_spec;
struct rt_config;
struct rt_container;

#define RT_KILL_TIMEOUT_MS   5000               /* how long a SIGKILLed process may take to go */
#define RT_BOOT_TIMEOUT_MS   30000              /* default wait for the guest agent */
#define RT_VM_MEM_OVERHEAD   64                 /* MiB on top of the container's memory limit */
#define RT_ROOTFS_IMAGE_SIZE "1G"               /* sparse: only what the rootfs holds is written */
#define RT_SHARED_TAG        "hullshared"       /* virtio-fs tag of the shared directory */
#define RT_GUEST_SHARED      "/run/hull/shared" /* where the guest mounts it */
#define RT_SOCK_DIR          "/run/hull-sock"   /* sockets of sandboxes with long state paths */

/* CRI's annotations on a pod's containers (containerd pkg/cri/annotations) */
#define RT_ANN_CONTAINER_TYPE     "io.kubernetes.cri.container-type" /* sandbox | container */
#define RT_ANN_SANDBOX_ID         "io.kubernetes.cri.sandbox-id"
#define RT_ANN_SANDBOX_MEMORY     "io.kubernetes.cri.sandbox-memory"     /* bytes */
#define RT_ANN_SANDBOX_CPU_QUOTA  "io.kubernetes.cri.sandbox-cpu-quota"  /* µs */
#define RT_ANN_SANDBOX_CPU_PERIOD "io.kubernetes.cri.sandbox-cpu-period" /* µs */

struct rt_sandbox_create {
	size_t size;      /* sizeof(struct rt_sandbox_create) */
	const char *root; /* --root */
	const char *id;
	const char *bundle; /* the bundle directory (made absolute here) */
	const struct rt_config *cfg;
	int boot_timeout_ms;         /* <= 0: RT_BOOT_TIMEOUT_MS */
	struct rt_agent_stdio stdio; /* streams of the init process to open */
	/* SIGKILL hull-vmm and virtiofsd when the calling thread exits (a
	 * long-lived owner such as the monitor: nothing outlives its crash). */
	bool tie_to_caller;
	/* The first container of a pod: serve the shared directory (virtio-fs)
	 * even with a block rootfs, so that more containers can join the VM
	 * (runtime/pod.h). */
	bool pod;
};

/*
 * Start a container's sandbox: load and validate BUNDLE/config.json, record
 * the container under root (status creating), start virtiofsd for the rootfs,
 * hull-vmm sized from the spec (memory limit + RT_VM_MEM_OVERHEAD MiB, vCPUs
 * from the CPU quota/period, else the config's defaults), wait for the guest
 * agent (a timeout or a VMM that exits reports the console's tail), create
 * the container in the guest, and record it as created. On any failure
 * everything started is torn down and the state directory removed.
 * Returns 0 and the locked container in *out.
 */
int rt_sandbox_create(const struct rt_sandbox_create *opts, struct rt_container **out,
		      struct err **err);

/*
 * The shared directory ROOT/ID/shared (runtime/shared_dir.c): one virtiofsd
 * serves it; it holds bind mounts of the rootfs (unless the rootfs is a block
 * image) and of the source of every host bind mount in the spec, whose
 * sources setup rewrites to RT_GUEST_SHARED/mN. Setup makes the directory a
 * shared mount of its own, so that what rt_shared_dir_add mounts in it later
 * reaches the running virtiofsd.
 * rt_shared_dir_add: the same for one more container of the sandbox, under
 * sub = "c/<id>" (rootfs NULL: none); rt_shared_dir_remove unmounts and
 * removes that entry. Release unmounts everything in the directory and the
 * directory itself (lazily); it is safe to call when there is nothing.
 */
bool rt_shared_dir_needed(const struct oci_spec *spec, bool rootfs_block);
int rt_shared_dir_setup(const struct rt_container *c, struct oci_spec *spec, bool rootfs_block,
			struct err **err);
int rt_shared_dir_add(const struct rt_container *c, const char *sub, const char *rootfs,
		      struct oci_spec *spec, struct err **err);
int rt_shared_dir_remove(const struct rt_container *c, const char *sub);
int rt_shared_dir_release(const struct rt_container *c);

/* VM size for a spec (exposed for tests): MiB and vCPUs. A CRI sandbox is
 * sized from the pod's annotations (RT_ANN_SANDBOX_*), anything else from its
 * memory limit and CPU quota; what is not given is the config's default. */
void rt_sandbox_size(const struct oci_spec *spec, const struct rt_config *cfg, unsigned *mem_mib,
		     unsigned *vcpus);

/* The agent address of a sandbox: "hvsock:<vsock socket>" (malloc'd). */
int rt_sandbox_agent_addr(const struct rt_container *c, char **addr, struct err **err);

/*
 * Tear down everything the sandbox of c holds on the host: SIGKILL the VMM
 * and every virtiofsd that is still the process we started (start times are
 * checked, a reused pid is never signalled), wait for them to go, remove their
 * sockets, then the container's state directory. Needs the exclusive lock.
 * Carries on past failures so that as much as possible is released; returns
 * the first error.
 */
int rt_sandbox_destroy(struct rt_container *c, struct err **err);

#endif
