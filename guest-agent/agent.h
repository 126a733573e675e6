/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-agent internals: the container and process tables shared by the RPC
 * handlers, the reaper and the stdio relays.
 *
 * Locking: one mutex (agent.lock) guards both tables and every field below
 * that changes after creation; agent.cond is broadcast whenever a process
 * exits or a container changes state, which is what WaitProcess sleeps on.
 */
#ifndef HULL_AGENT_AGENT_H
#define HULL_AGENT_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define AGENT_VERSION     "0.1.0"
#define AGENT_API_VERSION "hull.agent.v1"
#define AGENT_PORT_API    1024
#define AGENT_PORT_STDIO  1025
#define AGENT_ID_MAX      128

struct oci_spec;
struct oci_process;

enum agent_proc_state { PROC_CREATED = 0, PROC_RUNNING, PROC_EXITED };
enum agent_ctr_state { CTR_CREATED = 0, CTR_RUNNING, CTR_PAUSED, CTR_STOPPED };

enum agent_stream { STREAM_STDIN = 0, STREAM_STDOUT, STREAM_STDERR, STREAM_TTY, STREAM_MAX };

struct agent_container;

struct agent_proc {
	struct agent_proc *next;
	struct agent_container *ctr;
	char *exec_id; /* "" for the container's init process */
	pid_t pid;
	enum agent_proc_state state;
	int status; /* raw wait status once PROC_EXITED */
	int64_t exited_at_ns;
	bool oom_killed;
	/* Agent's ends: stdin write end, stdout/stderr read ends, pty master.
	 * -1 when absent; taken (set to -1) by the stdio relay that attaches. */
	int fds[STREAM_MAX];
	bool attached[STREAM_MAX];
	int relay_stdin_sock; /* the attached stdin connection, for CloseStdin */
	bool stdin_closed;
	int sync_fd;   /* init only: start pipe write end until started */
	int report_fd; /* init only: child's report pipe read end */
};

struct agent_container {
	struct agent_container *next;
	char *id;
	struct oci_spec *spec;
	enum agent_ctr_state state;
	char *cgroup;      /* absolute cgroup dir, NULL when no cgroup */
	uint64_t oom_base; /* memory.events oom_kill at create time */
	uint64_t oom_seen; /* last value reported by GetOOMEvent */
	struct agent_proc *init;
	struct agent_proc *procs; /* init first, then execs */
	int refs;                 /* RPCs sleeping on this container (WaitProcess) */
	bool removing;            /* RemoveContainer waits for refs to drop to 0 */
	char *run_dir;            /* agent-side scratch dir (rootfs mount point) */
};

/* Exits of pids not yet in the table (a child can exit before its creator
 * registers it). Bounded ring; oldest dropped. */
#define AGENT_UNCLAIMED_MAX 64
struct agent_exit {
	pid_t pid;
	int status;
};

struct agent {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct agent_container *containers;
	struct agent_exit unclaimed[AGENT_UNCLAIMED_MAX];
	unsigned n_unclaimed;
	char *cgroup_root;  /* cgroup2 mount the agent uses, NULL when none */
	char *run_dir;      /* scratch space for rootfs mount points */
	bool pid1;          /* running as the guest's init */
	int64_t started_ns; /* CLOCK_MONOTONIC at start, for Ping uptime */
};

/* agent.c: tables and the reaper */
int agent_init(struct agent *a, const char *cgroup_root, const char *run_dir, bool pid1,
	       struct err **err);
void agent_exit(struct agent *a);
/* Block SIGCHLD (call before any thread exists) and start the reaper thread. */
int agent_reaper_start(struct agent *a, struct err **err);
/* Lookups; caller holds a->lock. */
struct agent_container *agent_container_find(struct agent *a, const char *id);
void agent_container_free(struct agent_container *c);
struct agent_proc *agent_proc_find(struct agent_container *c, const char *exec_id);
/* Register a freshly started process (takes a->lock). Applies an exit the
 * reaper saw before the registration. */
void agent_proc_register(struct agent *a, struct agent_proc *p);
struct agent_proc *agent_proc_new(const char *exec_id);
void agent_proc_free(struct agent_proc *p);
int64_t agent_now_ns(int clock);
/* 128+signal for signalled, else the exit code. */
int agent_proc_exit_code(const struct agent_proc *p);
/* Wait (a->lock held on entry and exit) until p has exited or the deadline
 * (CLOCK_MONOTONIC ns, 0: none) passes: -ETIMEDOUT. */
int agent_proc_wait_locked(struct agent *a, struct agent_proc *p, int64_t deadline_ns);

/* container.c: lifecycle */
struct agent_stdio_req {
	bool open_stdin, open_stdout, open_stderr, terminal;
};
struct agent_rootfs_req {
	int type; /* AGENT_ROOTFS_* */
	const char *source;
	const char *fstype;
	char *const *options; /* mount options (block), as in OCI mounts */
	size_t n_options;
	const char *subdir; /* rootfs is this dir of the mounted source; may be NULL */
};
enum { AGENT_ROOTFS_NONE = 0, AGENT_ROOTFS_VIRTIOFS, AGENT_ROOTFS_BLOCK, AGENT_ROOTFS_BIND };

struct agent_extra_mount {
	const char *type, *source, *target, *options;
};

struct agent_create_req {
	const char *id;
	const char *spec_json;
	size_t spec_len;
	struct agent_rootfs_req rootfs;
	const struct agent_extra_mount *mounts;
	size_t n_mounts;
	struct agent_stdio_req stdio;
};

int agent_container_create(struct agent *a, const struct agent_create_req *req, pid_t *pid,
			   struct err **err);
int agent_container_start(struct agent *a, const char *id, struct err **err);
int agent_container_exec(struct agent *a, const char *id, const char *exec_id, const char *json,
			 size_t len, const struct agent_stdio_req *stdio, pid_t *pid,
			 struct err **err);
int agent_container_signal(struct agent *a, const char *id, const char *exec_id, int sig, bool all,
			   struct err **err);
int agent_container_remove(struct agent *a, const char *id, bool force, struct err **err);
int agent_container_pause(struct agent *a, const char *id, bool pause, struct err **err);
/* Validate a container or exec id: 1..AGENT_ID_MAX of [A-Za-z0-9_.-], not "." or "..". */
int agent_id_check(const char *what, const char *id, struct err **err);

/* stdio.c: the stdio listener */
int agent_stdio_serve(struct agent *a, int listen_fd);
/* Parse "<id> <exec_id> <stream>" (no newline). exec_id "-" means init.
 * Returns 0 and fills the outputs (pointers into line, which is modified). */
int agent_stdio_header_parse(char *line, char **id, char **exec_id, enum agent_stream *stream,
			     struct err **err);

/* network.c: UpdateNetwork. check validates a decoded request (bounds,
 * lengths, names; no kernel calls); apply sets up the guest's interfaces,
 * addresses and routes (PID 1 only). */
struct Hull__Agent__V1__UpdateNetworkRequest;
int agent_network_check(const struct Hull__Agent__V1__UpdateNetworkRequest *req, struct err **err);
int agent_network_apply(struct agent *a, const struct Hull__Agent__V1__UpdateNetworkRequest *req,
			struct err **err);

#endif
