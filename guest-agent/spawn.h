/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting container processes. The agent fork()s an intermediate child that
 * joins the cgroup and enters (unshare or setns) the namespaces, then fork()s
 * the real process, which is thereby inside the new pid namespace; the
 * intermediate reports that pid and exits (the agent, PID 1 or a child
 * subreaper, adopts the process). Setup steps run in the process itself; it
 * reports over a CLOEXEC pipe:
 *
 *   'P' u32 pid      from the intermediate
 *   'R'              setup done, waiting for start (create only)
 *   'E' u16 len msg  failed; the process exits
 *   EOF              execve succeeded (all write ends are gone)
 */
#ifndef HULL_AGENT_SPAWN_H
#define HULL_AGENT_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent.h"

struct oci_spec;
struct oci_process;
struct oci_seccomp;

struct agent_spawn {
	const struct oci_spec *spec;    /* the container's spec */
	const struct oci_process *proc; /* what to run */
	const char *cgroup;             /* join this cgroup dir; NULL: none */
	/* create */
	const char *id;
	const struct agent_rootfs_req *rootfs;
	const char *rootfs_dir; /* where the rootfs source gets mounted */
	const struct agent_extra_mount *mounts;
	size_t n_mounts;
	const char *console; /* pty slave path to bind on /dev/console, or NULL */
	/* exec: join the namespaces of this pid (0: create new ones) */
	pid_t ns_pid;
	int stdio[3];  /* the process's stdin/out/err; -1: /dev/null */
	bool terminal; /* stdio[0] is a pty slave: make it the controlling tty */
};

/* Start the process. *report_fd: read end of the report pipe; *sync_fd: write
 * end of the start pipe (create only, else -1). Waits for 'P' and, for create,
 * 'R'. For exec it waits for the EOF/'E' that says whether execve worked. */
int agent_spawn(const struct agent_spawn *s, pid_t *pid, int *report_fd, int *sync_fd,
		struct err **err);
/* Read one report: 'R' -> 0, EOF -> 1, 'P' -> 2 with *pid, 'E' -> -errno. */
int agent_spawn_report(int fd, pid_t *pid, struct err **err);

/* mounts.c (in the child, new mount namespace): rootfs, OCI mounts, /dev,
 * pivot_root. Then (after sysctls, as runc orders it) agent_mounts_finish:
 * masked and read-only paths, read-only root, rootfs propagation. */
int agent_mounts_setup(const struct agent_spawn *s, struct err **err);
int agent_mounts_finish(const struct agent_spawn *s, struct err **err);
/* Join path (absolute, inside the container) to root resolving symlinks as if
 * root were "/": the result never leaves root. out has len bytes. */
int agent_path_join(const char *root, const char *path, char *out, size_t len, struct err **err);

/* security.c (in the child): rlimits, user, capabilities, no_new_privs,
 * seccomp, umask, cwd, env, execve. Returns only on failure. */
int agent_proc_exec(const struct oci_process *p, const struct oci_seccomp *sc, struct err **err);
/* Build and load a seccomp filter from the OCI profile. */
int agent_seccomp_load(const struct oci_seccomp *sc, struct err **err);
/* Build (not load) the filter, for tests: returns 0 when libseccomp accepts it. */
int agent_seccomp_check(const struct oci_seccomp *sc, struct err **err);
/* Find file in the PATH of env (NULL: default PATH) like execvp. */
int agent_exec_lookup(const char *file, char *const *env, char *out, size_t len);

#endif
