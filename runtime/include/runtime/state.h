/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container state store under --root (default /run/hull), shared by every
 * hull command: one directory per container holding state.json.
 *
 *   ROOT/ID/            mode 0700; everything a sandbox leaves on the host that
 *                       is not elsewhere lives here (sockets, console log)
 *   ROOT/ID/state.json  written atomically (state.json.tmp + rename)
 *
 * Mutual exclusion: flock(2) on the container directory's fd. Commands that
 * change a container hold LOCK_EX for their whole run; readers take LOCK_SH.
 * A directory removed while we waited for its lock is detected (st_nlink 0)
 * and reported as "does not exist".
 *
 * The host pid of a container is its monitor (runtime/monitor.h: the process
 * that stands for the container's process on the host, parent of hull-vmm),
 * or hull-vmm itself for sandboxes without one. Because pids are reused, the
 * store keeps the process start time (field 22 of /proc/PID/stat) and only
 * trusts a pid whose start time still matches, as runc does.
 */
#ifndef HULL_RUNTIME_STATE_H
#define HULL_RUNTIME_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/spec.h"

struct err;

#define RT_ROOT_DEFAULT   "/run/hull"
#define RT_ID_MAX         250        /* a directory name, with room for a suffix */
#define RT_STATE_MAX_SIZE (1u << 20) /* a state.json larger than this is refused */
#define RT_STATE_MAX_FSD  64         /* virtiofsd processes one sandbox may have */

enum rt_status {
	RT_STATUS_CREATING = 0,
	RT_STATUS_CREATED,
	RT_STATUS_RUNNING,
	RT_STATUS_PAUSED,
	RT_STATUS_STOPPED,
};

/* A host process the sandbox owns, with its start time to detect pid reuse. */
struct rt_proc {
	pid_t pid;
	uint64_t start; /* starttime from /proc/PID/stat, clock ticks since boot */
};

struct rt_virtiofsd {
	struct rt_proc proc;
	char *socket; /* vhost-user socket */
	char *shared; /* host directory it serves */
};

struct rt_state {
	char *id;
	char *bundle;           /* absolute */
	char *rootfs;           /* absolute, may be NULL */
	struct rt_proc vmm;     /* pid 0: no VMM (yet) */
	struct rt_proc monitor; /* pid 0: none; else the container's host pid */
	enum rt_status status;  /* as last recorded; see rt_state_status() */
	char *created;          /* RFC 3339 with nanoseconds, UTC */
	struct oci_map annotations;
	/* sandbox resources, all optional */
	char *vsock;       /* hybrid-vsock unix socket of the VMM */
	char *console_log; /* the guest console */
	struct rt_virtiofsd *virtiofsd;
	size_t n_virtiofsd;
	/* The pod's network namespace and its interfaces joined to the VM's
	 * taps (runtime/net.c): what teardown removes there. */
	char *netns;
	char **net_links;
	size_t n_net_links;
};

const char *rt_status_name(enum rt_status s);
/* "created" -> RT_STATUS_CREATED, or -EINVAL. */
int rt_status_parse(const char *name);

/* runc's rules: 1..RT_ID_MAX characters of [A-Za-z0-9_+.-], not "." or "..".
 * Error: "invalid id format: ID". */
int rt_id_validate(const char *id, struct err **err);

/* state.json <-> struct. Parsing bounds-checks everything and names the field. */
int rt_state_to_json(const struct rt_state *st, char **json, size_t *len, struct err **err);
int rt_state_parse(const char *json, size_t len, struct rt_state *st, struct err **err);
void rt_state_free(struct rt_state *st);

/* RFC 3339 "now" with nanoseconds (UTC) into buf (>= 40 bytes). */
void rt_time_now(char *buf, size_t len);

/* Start time of pid: 0 and *start, -ESRCH when it is gone or a zombie. */
int rt_proc_start_time(pid_t pid, uint64_t *start);
/* Fill p for a running pid (reads its start time). */
int rt_proc_get(pid_t pid, struct rt_proc *p);
/* True when p names a live (non-zombie) process with the recorded start time. */
bool rt_proc_alive(const struct rt_proc *p);
/* SIGKILL p if alive (never a reused pid) and wait up to timeout_ms for it to go. */
int rt_proc_kill(const struct rt_proc *p, int timeout_ms);

/* The status a user sees: the recorded one while the container's host
 * process (monitor, else VMM) lives, else stopped (creating stays creating
 * while its creator holds the lock). */
enum rt_status rt_state_status(const struct rt_state *st);
/* The container's host pid: the monitor's, else the VMM's. */
pid_t rt_state_pid(const struct rt_state *st);

/* An open, locked container directory. */
struct rt_container {
	char *root;
	char *dir; /* ROOT/ID */
	int dirfd;
	bool exclusive;
	uid_t owner; /* owner of the directory */
	struct rt_state state;
};

/*
 * Make ROOT/ID (creating ROOT with mode 0700 when needed), lock it
 * exclusively and write st as its state.json. *st is moved into the handle
 * (zeroed here). "container with id ID already exists" when ID is taken.
 */
int rt_container_create(const char *root, struct rt_state *st, struct rt_container **out,
			struct err **err);
/* Open and lock ROOT/ID, load its state. "container ID does not exist". */
int rt_container_open(const char *root, const char *id, bool exclusive, struct rt_container **out,
		      struct err **err);
/* Write c->state atomically (needs the exclusive lock). */
int rt_container_save(struct rt_container *c, struct err **err);
/* Remove ROOT/ID and everything in it; c stays valid until rt_container_close. */
int rt_container_remove(struct rt_container *c, struct err **err);
void rt_container_close(struct rt_container *c);
/* Remove ROOT/ID if it is a leftover without state.json (a create that died
 * half-way). 0 also when there is nothing; -EEXIST when it holds a container. */
int rt_container_remove_stale(const char *root, const char *id, struct err **err);

/* The container ids under root, sorted; a missing root is an empty list. */
int rt_container_list(const char *root, char ***ids, size_t *n, struct err **err);
void rt_strv_free(char **v, size_t n);

static inline void rt_container_closep(struct rt_container **c)
{
	if (*c)
		rt_container_close(*c);
}
#define _cleanup_rt_container_ __attribute__((cleanup(rt_container_closep)))

#endif
