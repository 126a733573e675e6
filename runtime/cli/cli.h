/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hull CLI: one file per command (cmd_*.c), each a thin wrapper over the
 * runtime library, described by a struct rt_cli_cmd that main.c dispatches.
 */
#ifndef HULL_RUNTIME_CLI_H
#define HULL_RUNTIME_CLI_H

#include <stdbool.h>
#include <stddef.h>
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
extern const struct rt_cli_cmd rt_cmd_features;
extern const struct rt_cli_cmd rt_cmd_kill;
extern const struct rt_cli_cmd rt_cmd_list;
extern const struct rt_cli_cmd rt_cmd_pause;
extern const struct rt_cli_cmd rt_cmd_resume;
extern const struct rt_cli_cmd rt_cmd_run;
extern const struct rt_cli_cmd rt_cmd_spec;
extern const struct rt_cli_cmd rt_cmd_start;
extern const struct rt_cli_cmd rt_cmd_state;

struct rt_container;
struct oci_state;

/* util.c: the OCI state of an open container, as `state` and `list` print it.
 * Fields borrow from c and owner (>= 64 bytes). */
void rt_cli_oci_state(const struct rt_container *c, struct oci_state *out, char *owner,
		      size_t owner_len);
/* Read a small JSON file a user named (process.json, resources.json). */
int rt_cli_read_json(const char *path, char **buf, size_t *len, struct err **err);

/* cmd_create.c: the create step `create` and `run` share; *out stays locked. */
struct rt_agent_stdio;
int rt_cli_create(struct rt_cli *cli, const struct rt_args *a, const struct rt_agent_stdio *stdio,
		  struct rt_container **out, struct err **err);
/* cmd_start.c: start a created container (c locked exclusively). */
int rt_cli_start(struct rt_container *c, struct err **err);

/* cmd_kill.c: "KILL", "sigkill", "9" -> 9; -EINVAL when unknown. */
int rt_cli_signal_parse(const char *s);

/* help.c */
void rt_cli_help_app(FILE *f, const struct rt_cli_cmd *const *cmds, size_t n,
		     const struct rt_flag *globals, size_t n_globals);
void rt_cli_help_cmd(FILE *f, const struct rt_cli_cmd *cmd);
void rt_cli_version(FILE *f);

#endif
