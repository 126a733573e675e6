/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hull CLI: one file per command (cmd_*.c), each a thin wrapper over the
 * runtime library, described by a struct rt_cli_cmd that main.c dispatches.
 */
#ifndef HULL_RUNTIME_CLI_H
#define HULL_RUNTIME_CLI_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/cli_args.h"
#include "runtime/config.h"

#define HULL_VERSION "0.1.0"

struct err;

/* What every command gets: the global flags and the host config. */
struct rt_cli {
	const char *root; /* --root */
	bool debug;
	bool systemd_cgroup; /* accepted; the guest agent always drives cgroupfs */
	bool log_to_stderr;  /* no --log file: hull's log is stderr */
	struct rt_config cfg;
};

struct rt_cli_cmd {
	const char *name;
	const char *args_usage; /* "<container-id>" */
	const char *summary;    /* one line, for the command list */
	const char *description;
	const struct rt_flag *flags;
	size_t n_flags;
	int min_args, max_args; /* max -1: no limit */
	bool stop_at_pos;       /* flags end at the first positional argument */
	/* Returns 0 (exit 0), > 0 (that exit status) or -errno with *err set (exit 1). */
	int (*run)(struct rt_cli *cli, const struct rt_args *a, struct err **err);
};

extern const struct rt_cli_cmd rt_cmd_create;
extern const struct rt_cli_cmd rt_cmd_delete;
extern const struct rt_cli_cmd rt_cmd_exec;
extern const struct rt_cli_cmd rt_cmd_features;
extern const struct rt_cli_cmd rt_cmd_kill;
extern const struct rt_cli_cmd rt_cmd_list;
extern const struct rt_cli_cmd rt_cmd_events;
extern const struct rt_cli_cmd rt_cmd_pause;
extern const struct rt_cli_cmd rt_cmd_ps;
extern const struct rt_cli_cmd rt_cmd_resume;
extern const struct rt_cli_cmd rt_cmd_run;
extern const struct rt_cli_cmd rt_cmd_spec;
extern const struct rt_cli_cmd rt_cmd_start;
extern const struct rt_cli_cmd rt_cmd_state;
extern const struct rt_cli_cmd rt_cmd_update;

struct rt_container;
struct oci_state;

/* util.c: the OCI state of an open container, as `state` and `list` print it.
 * Fields borrow from c and owner (>= 64 bytes). */
void rt_cli_oci_state(const struct rt_container *c, struct oci_state *out, char *owner,
		      size_t owner_len);
/* Read a small JSON file a user named (process.json, resources.json). */
int rt_cli_read_json(const char *path, char **buf, size_t *len, struct err **err);
/* runc's terminal rules (create, run, exec): a detached terminal needs a
 * console socket, and a console socket needs a terminal. */
int rt_cli_check_tty(bool terminal, bool detach, const char *console_socket, struct err **err);
/* In the foreground a terminal on our stdin is the container's: raw, so that
 * every key reaches its pty, which does the line discipline. Returns false
 * (nothing changed) when stdin is no terminal; restore with *saved. */
struct termios;
bool rt_cli_stdin_raw(struct termios *saved);
void rt_cli_stdin_restore(const struct termios *saved);

/* cmd_create.c: the create step `create` and `run` share: the container's
 * monitor boots the sandbox; *monitor is its pid (written to --pid-file).
 * foreground: `run` without -d (a terminal may then be the caller's own). */
int rt_cli_create(struct rt_cli *cli, const struct rt_args *a, bool foreground, pid_t *monitor,
		  bool *terminal, struct err **err);
/* Write a pid file via a temporary file and rename, as runc does. */
int rt_cli_write_pid_file(const char *path, pid_t pid, struct err **err);
/* cmd_start.c: start a created container (c locked exclusively). */
int rt_cli_start(struct rt_container *c, struct err **err);

/* cmd_kill.c: "KILL", "sigkill", "9" -> 9; -EINVAL when unknown. */
int rt_cli_signal_parse(const char *s);

/* agent_op.c: one operation on a live container's guest agent. */
struct rt_agent;
#define RT_OP_STATUS(s) (1u << (s))
struct rt_agent_op {
	const char *id;
	bool exclusive;      /* LOCK_EX (the op changes the state), else LOCK_SH */
	bool unlock;         /* drop the lock once connected (long-running readers) */
	unsigned allowed;    /* RT_OP_STATUS() bits of the states the op acts on */
	const char *refusal; /* message for other states; NULL: "container ID is S, not A" */
};
typedef int (*rt_agent_op_fn)(struct rt_container *c, struct rt_agent *agent, void *data,
			      struct err **err);
/*
 * Open and lock container op->id, refuse a state not in op->allowed, connect
 * to its guest agent and run fn. Errors of fn come back wrapped with
 * "container ID"; returns what fn returned otherwise.
 */
int rt_container_agent_op(struct rt_cli *cli, const struct rt_agent_op *op, rt_agent_op_fn fn,
			  void *data, struct err **err);

/*
 * ops_parse.c (in libhull-cli, unit-tested): the values ps, events and update
 * take, parsed the way runc's Go libraries do.
 */
/* A size as runc's --memory takes it (go-units RAMInBytes): "1024", "64m",
 * "1.5g", "2 GiB"; binary multiples, case-insensitive. -EINVAL when malformed
 * or beyond INT64_MAX. */
int rt_cli_size_parse(const char *s, int64_t *out);
/* A Go time.Duration ("5s", "1m30s", "250ms", "1.5h") into nanoseconds. */
int rt_cli_duration_parse(const char *s, int64_t *ns);
/* `hull update`'s flags, runc's set. */
#define RT_UPDATE_N_FLAGS 19
extern const struct rt_flag rt_update_flags[RT_UPDATE_N_FLAGS];
/* The update the flags of a parsed `hull update` ask for (runc's rules:
 * "-1" is unlimited, sizes for the memory flags). Errors name the flag:
 * "invalid value for memory: invalid size: '12x'". */
struct oci_resources;
int rt_cli_update_from_flags(const struct rt_args *a, struct oci_resources **out, struct err **err);
/* What the agent's UpdateContainer carries; fields it cannot carry are
 * refused by name ("cpu.cpus: ..."), zero/empty values mean "unchanged". */
struct rt_agent_resources;
int rt_cli_update_to_agent(const struct oci_resources *r, struct rt_agent_resources *out,
			   struct err **err);

/* help.c */
void rt_cli_help_app(FILE *f, const struct rt_cli_cmd *const *cmds, size_t n,
		     const struct rt_flag *globals, size_t n_globals);
void rt_cli_help_cmd(FILE *f, const struct rt_cli_cmd *cmd);
void rt_cli_version(FILE *f);

#endif
