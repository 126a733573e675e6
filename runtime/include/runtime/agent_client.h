/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host-side client of hull-agent's API (lib/proto/agent.proto) over ttrpc,
 * plus the stdio streams. Used by the hull CLI, the shim and tests.
 *
 * Addresses:
 *   "unix:PATH"     a host-mode agent (`hull-agent --listen unix:PATH`); its
 *                   stdio listener is PATH.stdio
 *   "hvsock:PATH"   a guest agent behind the VMM's hybrid-vsock unix socket
 *                   PATH (API on port 1024, stdio on port 1025)
 *   "vsock:CID"     a guest agent over kernel vsock (e.g. QEMU vhost-vsock),
 *                   same ports
 *
 * Every call returns 0 or -errno with *err set ("agent CreateContainer:
 * container c1: spec: process.args: ..."). Errors from the agent map back to
 * errno: NOT_FOUND -> ENOENT, ALREADY_EXISTS -> EEXIST, FAILED_PRECONDITION
 * -> EBUSY, INVALID_ARGUMENT -> EINVAL, DEADLINE_EXCEEDED -> ETIMEDOUT,
 * UNIMPLEMENTED -> EOPNOTSUPP, others -> EIO. Thread-safe: calls from several
 * threads run concurrently on one connection.
 */
#ifndef HULL_RUNTIME_AGENT_CLIENT_H
#define HULL_RUNTIME_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct rt_agent;

/* Connect, retrying until timeout_ms (<= 0: one attempt) passes: a guest
 * agent may still be booting. */
int rt_agent_connect(const char *addr, int timeout_ms, struct rt_agent **out, struct err **err);
void rt_agent_free(struct rt_agent *a);

/* Version string (malloc'd) of the agent. */
int rt_agent_ping(struct rt_agent *a, char **version, struct err **err);

struct rt_agent_stdio {
	bool open_stdin, open_stdout, open_stderr;
	bool terminal; /* one pty instead: the "tty" stream */
};

enum rt_agent_rootfs_type {
	RT_AGENT_ROOTFS_PATH = 0, /* spec root.path is a path in the guest */
	RT_AGENT_ROOTFS_VIRTIOFS = 1,
	RT_AGENT_ROOTFS_BLOCK = 2,
	RT_AGENT_ROOTFS_BIND = 3, /* source: a directory the agent can see */
};

struct rt_agent_rootfs {
	enum rt_agent_rootfs_type type;
	const char *source; /* virtio-fs tag, block device, or directory */
	const char *fstype; /* block: "ext4", ... */
	const char *const *options;
	size_t n_options;
	const char *subdir; /* rootfs is this dir of the mounted source */
};

struct rt_agent_mount {
	const char *type, *source, *target;
	const char *options; /* data string, may be NULL */
};

struct rt_agent_create {
	const char *id;
	const char *spec_json;
	size_t spec_len;
	struct rt_agent_rootfs rootfs;
	const struct rt_agent_mount *mounts;
	size_t n_mounts;
	struct rt_agent_stdio stdio;
};

int rt_agent_create_container(struct rt_agent *a, const struct rt_agent_create *req, pid_t *pid,
			      struct err **err);
int rt_agent_start_container(struct rt_agent *a, const char *id, struct err **err);
/* process_json: an OCI process object. */
int rt_agent_exec_process(struct rt_agent *a, const char *id, const char *exec_id,
			  const char *process_json, size_t len, const struct rt_agent_stdio *stdio,
			  pid_t *pid, struct err **err);
/* exec_id NULL or "": the init process. all: every process of the container. */
int rt_agent_signal_process(struct rt_agent *a, const char *id, const char *exec_id, int sig,
			    bool all, struct err **err);

struct rt_agent_exit {
	int status; /* exit code, 128+signal when signalled */
	bool signaled;
	int signal;
	bool oom_killed;
	int64_t exited_at_ns;
};
/* Blocks until the process exits (timeout_ms <= 0: no limit). */
int rt_agent_wait_process(struct rt_agent *a, const char *id, const char *exec_id, int timeout_ms,
			  struct rt_agent_exit *out, struct err **err);
int rt_agent_close_stdin(struct rt_agent *a, const char *id, const char *exec_id, struct err **err);
int rt_agent_resize_tty(struct rt_agent *a, const char *id, const char *exec_id, unsigned width,
			unsigned height, struct err **err);

struct rt_agent_process {
	pid_t pid;
	char *exec_id; /* "" for processes the agent did not start itself */
	char *cmdline;
};
/* *out: malloc'd array; free with rt_agent_processes_free. */
int rt_agent_list_processes(struct rt_agent *a, const char *id, struct rt_agent_process **out,
			    size_t *n, struct err **err);
void rt_agent_processes_free(struct rt_agent_process *p, size_t n);

struct rt_agent_stats {
	uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	uint64_t cpu_nr_throttled, cpu_throttled_usec;
	uint64_t memory_usage, memory_limit, memory_max_usage, memory_oom_kill;
	uint64_t pids_current, pids_limit;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
};
int rt_agent_stats(struct rt_agent *a, const char *id, struct rt_agent_stats *out,
		   struct err **err);

/* 0 leaves a value unchanged; -1 means unlimited. */
struct rt_agent_resources {
	int64_t memory_limit;
	int64_t cpu_quota;
	uint64_t cpu_period;
	uint64_t cpu_shares;
	int64_t pids_limit;
	uint32_t blkio_weight;
};
int rt_agent_update(struct rt_agent *a, const char *id, const struct rt_agent_resources *res,
		    struct err **err);
int rt_agent_pause(struct rt_agent *a, const char *id, struct err **err);
int rt_agent_resume(struct rt_agent *a, const char *id, struct err **err);
int rt_agent_remove_container(struct rt_agent *a, const char *id, bool force, struct err **err);
/* Waits for the next OOM kill in any container: *id malloc'd. -ETIMEDOUT. */
int rt_agent_get_oom_event(struct rt_agent *a, int timeout_ms, char **id, uint64_t *count,
			   struct err **err);
int rt_agent_set_time(struct rt_agent *a, int64_t sec, int64_t nsec, struct err **err);

/*
 * Open one stdio stream of a process: stream is "stdin", "stdout", "stderr"
 * or "tty"; exec_id NULL or "" is the init process. Returns the connected fd
 * (close-on-exec) once the agent accepted it: raw bytes from then on. Read
 * stdout/stderr until EOF; close (or shutdown SHUT_WR) stdin to send EOF.
 */
int rt_agent_attach(struct rt_agent *a, const char *id, const char *exec_id, const char *stream,
		    struct err **err);

#endif
