/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd-shim-hull-v2: containerd's shim v2 (runtime/v2 in containerd
 * 1.6) for hull. One shim process per task: it serves containerd.task.v2.Task
 * over ttrpc, runs the container in a microVM through runtime's sandbox
 * library, relays stdio between containerd's FIFOs and the guest agent's
 * stdio streams, and publishes task events back to containerd.
 *
 * Files: main.c (flags, start/delete/serve), service.c (the ttrpc methods),
 * task.c (container and process state, the agent), stdio.c (relays, log
 * URIs), events.c (publisher), mount.c (rootfs mounts), resources.c (Update's
 * resources), metrics.c (Stats).
 */
#ifndef HULL_SHIM_SHIM_H
#define HULL_SHIM_SHIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "runtime/agent_client.h"
#include "runtime/state.h"

struct err;
struct rt_container;

#define SHIM_NAME         "containerd-shim-hull-v2"
#define SHIM_VERSION      "0.1.0"
#define SHIM_ROOT_DEFAULT "/run/hull-shim" /* HULL_SHIM_ROOT overrides */
#define SHIM_SERVICE      "containerd.task.v2.Task"
#define SHIM_NS_METADATA  "containerd-namespace-ttrpc"
#define SHIM_EXIT_KILLED  (128 + 9) /* what a task whose VM vanished reports */
#define SHIM_MAX_MOUNTS   64        /* rootfs mounts in one Create */
#define SHIM_MAX_OPTIONS  128       /* options of one mount */
#define SHIM_MAX_OPTION   4096      /* bytes of one option */

/* ---- events.c: ordered publishing to containerd ($TTRPC_ADDRESS) ---- */

struct shim_events;

/* addr: containerd's ttrpc socket ("unix:///..." or a path); NULL or "":
 * events are only logged. */
int shim_events_new(const char *addr, const char *ns, struct shim_events **out);
/* Queue one event; it is sent after every event queued before it. type is
 * the Any type name ("containerd.events.TaskExit"), topic "/tasks/exit". */
void shim_events_publish(struct shim_events *ev, const char *topic, const char *type,
			 const ProtobufCMessage *msg);
/* Send what is queued (up to timeout_ms), stop, free. */
void shim_events_free(struct shim_events *ev, int timeout_ms);

/* ---- mount.c: containerd's rootfs mounts ---- */

struct shim_mount_opts {
	unsigned long flags;       /* MS_* for mount(2) */
	unsigned long propagation; /* MS_SHARED/MS_PRIVATE/... (| MS_REC), 0: none */
	char *data;                /* the rest, comma-joined; malloc'd, may be "" */
};

/* Split containerd/mount(8) options into flags and data. Bounds: at most
 * SHIM_MAX_OPTIONS options of at most SHIM_MAX_OPTION bytes, data shorter
 * than a page. Errors name the offending option. */
int shim_mount_opts_parse(const char *const *opts, size_t n, struct shim_mount_opts *out,
			  struct err **err);
void shim_mount_opts_free(struct shim_mount_opts *o);

struct shim_mount {
	const char *type, *source, *target; /* target: relative to the rootfs, may be "" */
	const char *const *options;
	size_t n_options;
};
/* Mount every m on rootfs (in order); on failure undo what was mounted. */
int shim_rootfs_mount(const struct shim_mount *m, size_t n, const char *rootfs, struct err **err);
/* Unmount everything on rootfs (repeatedly, lazily as a last resort). */
int shim_rootfs_unmount(const char *rootfs, struct err **err);

/* ---- resources.c: Update's resources (an Any holding OCI LinuxResources) ---- */

#define SHIM_RESOURCES_TYPE "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
#define SHIM_PROCESS_TYPE   "types.containerd.io/opencontainers/runtime-spec/1/Process"

/* type_url and value of the Any; fills *out for rt_agent_update. */
int shim_resources_parse(const char *type_url, const uint8_t *value, size_t len,
			 struct rt_agent_resources *out, struct err **err);

/* ---- metrics.c: Stats ---- */

#define SHIM_METRICS_TYPE "io.containerd.cgroups.v2.Metrics"

/* The agent's stats as a packed io.containerd.cgroups.v2.Metrics (malloc'd). */
int shim_metrics_pack(const struct rt_agent_stats *st, uint8_t **out, size_t *len);

/* ---- stdio.c: one process's stdio ---- */

struct shim_io_paths {
	const char *stdin_, *stdout_, *stderr_; /* FIFO paths or file:// / binary:// URIs */
	bool terminal;
};

struct shim_io;

/* Open what containerd gave (FIFOs, log files, logging binaries). */
int shim_io_open(const struct shim_io_paths *p, const char *ns, const char *id,
		 struct shim_io **out, struct err **err);
/* Which agent streams the process needs. */
struct rt_agent_stdio shim_io_streams(const struct shim_io *io);
/* Attach the agent's streams of (id, exec_id) and start relaying. */
int shim_io_attach(struct shim_io *io, struct rt_agent *agent, const char *id, const char *exec_id,
		   struct err **err);
/* CloseIO: forward what stdin holds now, then EOF. */
void shim_io_close_stdin(struct shim_io *io);
/* Wait until the output streams reached EOF (all output delivered). */
void shim_io_drain(struct shim_io *io);
void shim_io_free(struct shim_io *io);

/* ---- task.c: the container and its processes ---- */

enum shim_status { SHIM_CREATED = 1, SHIM_RUNNING = 2, SHIM_STOPPED = 3, SHIM_PAUSED = 4 };

struct shim_proc {
	char *exec_id; /* "" for the init process */
	enum shim_status status;
	uint32_t pid;
	char *stdin_, *stdout_, *stderr_;
	bool terminal;
	char *spec_json; /* exec: the OCI process */
	size_t spec_len;
	struct shim_io *io;
	uint32_t exit_status;
	int64_t exited_at_ns;
	bool has_waiter;
	pthread_t waiter;
	struct shim_task *task;
	struct shim_proc *next;
};

/* The VM: one per shim. It belongs to the task that booted it (a lone task,
 * or a pod's sandbox container) and lives while any task of the pod does. */
struct shim_pod {
	char *id; /* the task that booted it */
	struct rt_container *c;
	struct rt_agent *agent;
	struct rt_proc vmm; /* hull-vmm, with its start time */
	pid_t vmm_pid;
	pid_t sandbox_pid; /* the first container's init in the guest */
	bool is_pod;       /* a CRI sandbox: more containers may join */
	unsigned refs;     /* tasks using it */
	bool has_reaper;
	pthread_t reaper;
	bool oom_running, stopping;
	pthread_t oom; /* publishes the guest's OOM kills */
	struct shim_service *svc;
};

struct shim_task {
	char *id;
	char *bundle;
	char *rootfs; /* BUNDLE/rootfs when we mounted it, else NULL */
	struct shim_pod *pod;
	bool joined;             /* a container added to the pod's VM (not its first) */
	struct shim_proc *procs; /* the init process first */
	struct shim_service *svc;
	struct shim_task *next;
};

struct shim_service {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a process exited */
	char *ns;
	char *root; /* the sandbox store of this namespace */
	struct shim_events *events;
	struct shim_task *tasks; /* every task of the pod */
	struct shim_pod *pod;    /* NULL until the first Create */
	struct ttrpc_server *server;
};

struct shim_create {
	const char *id, *bundle;
	const struct shim_mount *mounts;
	size_t n_mounts;
	struct shim_io_paths io;
};

/* Shared by task.c and process.c; all under svc->lock. */
int shim_proc_transition(struct shim_proc *p, enum shim_status to, struct err **err);
/* start the thread that waits for p's exit, drains its stdio, reports it */
int shim_proc_waiter_start(struct shim_proc *p, struct err **err);
struct shim_proc *shim_proc_new(struct shim_task *t, const char *exec_id,
				const struct shim_io_paths *io);
void shim_proc_free(struct shim_proc *p);
/* record p's exit, publish TaskExit, wake Wait */
void shim_proc_exited(struct shim_service *s, struct shim_proc *p, uint32_t status, int64_t at_ns);
int64_t shim_now_ns(void); /* CLOCK_REALTIME */
const char *shim_status_name(enum shim_status s);

/* The store root for a namespace: $HULL_SHIM_ROOT (or SHIM_ROOT_DEFAULT)/NS. */
int shim_root_path(const char *ns, char **out, struct err **err);

/* All of these take svc->lock themselves. */
int shim_task_create(struct shim_service *s, const struct shim_create *req, uint32_t *pid,
		     struct err **err);
int shim_task_start(struct shim_service *s, const char *id, const char *exec_id, uint32_t *pid,
		    struct err **err);
int shim_task_exec(struct shim_service *s, const char *id, const char *exec_id,
		   const struct shim_io_paths *io, const char *spec_json, size_t spec_len,
		   struct err **err);
int shim_task_wait(struct shim_service *s, const char *id, const char *exec_id, uint32_t *status,
		   int64_t *exited_at_ns, struct err **err);
int shim_task_delete(struct shim_service *s, const char *id, const char *exec_id, uint32_t *pid,
		     uint32_t *status, int64_t *exited_at_ns, struct err **err);
int shim_task_kill(struct shim_service *s, const char *id, const char *exec_id, int sig, bool all,
		   struct err **err);
int shim_task_pause(struct shim_service *s, const char *id, bool pause, struct err **err);
int shim_task_close_io(struct shim_service *s, const char *id, const char *exec_id,
		       struct err **err);
/* Under svc->lock: the process, or NULL with *err "task ID not found" /
 * "process EXEC of task ID not found". */
struct shim_proc *shim_task_find(struct shim_service *s, const char *id, const char *exec_id,
				 struct err **err);
/* Agent calls on a live task (under svc->lock, so Delete cannot free it). */
int shim_task_stats(struct shim_service *s, const char *id, struct rt_agent_stats *st,
		    struct err **err);
int shim_task_update(struct shim_service *s, const char *id, const struct rt_agent_resources *res,
		     struct err **err);
int shim_task_pids(struct shim_service *s, const char *id, struct rt_agent_process **procs,
		   size_t *n, struct err **err);
int shim_task_resize(struct shim_service *s, const char *id, const char *exec_id, unsigned width,
		     unsigned height, struct err **err);
/* The pid containerd knows for task id (the VMM; 0: no such task). */
pid_t shim_task_vmm_pid(struct shim_service *s, const char *id);
bool shim_task_any(struct shim_service *s);
/* Kill whatever is left (shim shutting down). */
void shim_task_destroy_all(struct shim_service *s);

/* ---- pod.c: the VM of the shim's tasks ---- */

/* What a bundle's annotations say about its place in a pod (malloc'd,
 * NULL when absent). */
struct shim_pod_role {
	char *type, *sandbox_id;
};
int shim_pod_role_read(const char *bundle, struct shim_pod_role *out, struct err **err);
void shim_pod_role_free(struct shim_pod_role *r);

struct shim_io;
/* Under s->lock: boot the VM for task t (its first container, whose init
 * streams are init_io); sets s->pod on success. On failure the caller
 * releases what is half made with shim_pod_unref. */
int shim_pod_boot(struct shim_service *s, struct shim_task *t, struct shim_io *init_io, bool is_pod,
		  struct err **err);
/* Under s->lock: add container t to the running VM; fills the init pid. */
int shim_pod_join(struct shim_service *s, struct shim_task *t, struct shim_io *init_io,
		  struct err **err);
/* No lock held: take t's container out of the guest (a joined container, or
 * the first one while others still use the VM), without stopping the VM. */
int shim_pod_leave(struct shim_service *s, struct shim_task *t, struct err **err);
/* No lock held: when pod has no other task, mark it stopping and stop the
 * VM (*stopped true); otherwise nothing. */
int shim_pod_stop_if_last(struct shim_service *s, struct shim_pod *pod, bool *stopped,
			  struct err **err);
/* No lock held: drop t's reference; the last one stops the VM and releases
 * everything of it. Returns the first error. */
int shim_pod_unref(struct shim_service *s, struct shim_pod *pod, struct err **err);

/* ---- service.c ---- */

int shim_service_init(struct shim_service *s, const char *ns, struct err **err);
void shim_service_exit(struct shim_service *s);
/* Serve on listen_fd until Shutdown. */
int shim_service_serve(struct shim_service *s, int listen_fd, struct err **err);

/* errno of a failed task call -> the gRPC code containerd expects */
int shim_errno_code(int negerrno);

#endif
