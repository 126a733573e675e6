// SPDX-License-Identifier: Apache-2.0
/*
 * hull exec [options] ID [COMMAND ARGS...]: run a new process in a running
 * container, as runc exec does: from -p process.json, or from the
 * container's own process (config.json) with the command and the flags laid
 * over it. A monitor stands for the process on the host (runtime/monitor.h):
 * in the foreground hull waits for it and exits with the process's status;
 * with -d it keeps running and --pid-file names it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"
#include "runtime/monitor.h"
#include "runtime/state.h"

static const struct rt_flag exec_flags[] = {
    {"console-socket", RT_FLAG_STRING,
     "path to an AF_UNIX socket which will receive a file descriptor referencing the master end "
     "of the console's pseudoterminal",
     NULL},
    {"cwd", RT_FLAG_STRING, "current working directory in the container", NULL},
    {"env,e", RT_FLAG_STRINGS, "set environment variables", NULL},
    {"tty,t", RT_FLAG_BOOL, "allocate a pseudo-TTY", NULL},
    {"user,u", RT_FLAG_STRING, "UID (format: <uid>[:<gid>])", NULL},
    {"additional-gids,g", RT_FLAG_STRINGS, "additional gids", NULL},
    {"process,p", RT_FLAG_STRING, "path to the process.json", NULL},
    {"detach,d", RT_FLAG_BOOL, "detach from the container's process", NULL},
    {"pid-file", RT_FLAG_STRING, "specify the file to write the process id to", NULL},
    {"process-label", RT_FLAG_STRING, "set the asm process label for the process", NULL},
    {"apparmor", RT_FLAG_STRING, "set the apparmor profile for the process", NULL},
    {"no-new-privs", RT_FLAG_BOOL, "set the no new privileges value for the process", NULL},
    {"cap,c", RT_FLAG_STRINGS, "add a capability to the bounding set for the process", NULL},
    {"preserve-fds", RT_FLAG_STRING,
     "pass N additional file descriptors to the container (only 0 supported yet)", "0"},
    {"cgroup", RT_FLAG_STRINGS, "accepted: a process always joins the container's cgroup", NULL},
    {"ignore-paused", RT_FLAG_BOOL, "allow exec in a paused container", NULL},
};

static int parse_u32(const char *s, const char *what, uint32_t *out, struct err **err)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > UINT32_MAX)
		return err_set(err, 0, "invalid %s: %s", what, s);
	*out = (uint32_t)v;
	return 0;
}

static int strv_push(struct oci_strv *v, const char *s)
{
	char **n = realloc(v->items, (v->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	v->items = n;
	if (!(v->items[v->n] = strdup(s)))
		return -ENOMEM;
	v->n++;
	return 0;
}

static int capset_add(struct oci_capset *cs, const char *name, int num)
{
	if (cs->mask & (1ull << num))
		return 0;
	int *nums = realloc(cs->nums, (cs->names.n + 1) * sizeof(*nums));
	if (!nums)
		return -ENOMEM;
	cs->nums = nums;
	nums[cs->names.n] = num;
	cs->mask |= 1ull << num;
	return strv_push(&cs->names, name);
}

/* --cap: into the bounding, effective and permitted sets, as runc adds them. */
static int add_caps(struct oci_process *p, const char *const *caps, size_t n, struct err **err)
{
	if (n && !p->capabilities && !(p->capabilities = calloc(1, sizeof(*p->capabilities))))
		return err_set(err, ENOMEM, "exec");
	for (size_t i = 0; i < n; i++) {
		int num = oci_cap_parse(caps[i]);
		if (num < 0)
			return err_set(err, 0, "unknown capability %s", caps[i]);
		struct oci_capabilities *c = p->capabilities;
		if (capset_add(&c->bounding, caps[i], num) < 0 ||
		    capset_add(&c->effective, caps[i], num) < 0 ||
		    capset_add(&c->permitted, caps[i], num) < 0)
			return err_set(err, ENOMEM, "exec");
	}
	return 0;
}

static int set_user(struct oci_process *p, const struct rt_args *a, struct err **err)
{
	const char *u = rt_args_str(a, "user", NULL);
	if (u) {
		char uid[32];
		const char *colon = strchr(u, ':');
		snprintf(uid, sizeof(uid), "%.*s", colon ? (int)(colon - u) : (int)strlen(u), u);
		int r = parse_u32(uid, "uid", &p->user.uid, err);
		if (r < 0 || (colon && (r = parse_u32(colon + 1, "gid", &p->user.gid, err)) < 0))
			return r;
	}
	size_t n;
	const char *const *gids = rt_args_list(a, "additional-gids", &n);
	if (!n)
		return 0;
	uint32_t *g = calloc(n, sizeof(*g));
	if (!g)
		return err_set(err, ENOMEM, "exec");
	free(p->user.additional_gids);
	p->user.additional_gids = g;
	p->user.additional_gids_len = n;
	for (size_t i = 0; i < n; i++) {
		int r = parse_u32(gids[i], "additional gid", &g[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The container's own process with the command line and flags over it. */
static int process_from_args(const struct rt_container *c, const struct rt_args *a,
			     struct oci_process **out, struct err **err)
{
	if (a->n_pos < 2)
		return err_set(err, 0, "exec: no command given (args or -p process.json)");
	_cleanup_oci_spec_ struct oci_spec *spec = NULL;
	int r = oci_spec_load(c->state.bundle, &spec, err);
	if (r < 0)
		return err_wrap(err, "bundle %s", c->state.bundle);
	if (!spec->process)
		return err_set(err, 0, "bundle %s: config.json has no process", c->state.bundle);
	struct oci_process *p = TAKE_PTR(spec->process);
	*out = p;
	oci_strv_free(&p->args);
	p->terminal = rt_args_bool(a, "tty");
	p->has_console_size = false;
	for (size_t i = 1; i < a->n_pos; i++)
		if (strv_push(&p->args, a->pos[i]) < 0)
			return err_set(err, ENOMEM, "exec");
	size_t n;
	const char *const *env = rt_args_list(a, "env", &n);
	for (size_t i = 0; i < n; i++)
		if (strv_push(&p->env, env[i]) < 0)
			return err_set(err, ENOMEM, "exec");
	const char *cwd = rt_args_str(a, "cwd", NULL);
	if (cwd && (free(p->cwd), !(p->cwd = strdup(cwd))))
		return err_set(err, ENOMEM, "exec");
	if (rt_args_bool(a, "no-new-privs"))
		p->no_new_privileges = true;
	const char *const *caps = rt_args_list(a, "cap", &n);
	if ((r = add_caps(p, caps, n, err)) < 0 || (r = set_user(p, a, err)) < 0)
		return r;
	return 0;
}

static int process_json(const struct rt_container *c, const struct rt_args *a, char **json,
			size_t *len, bool *terminal, struct err **err)
{
	struct oci_process *p = NULL;
	const char *path = rt_args_str(a, "process", NULL);
	int r;
	if (path) {
		_cleanup_free_ char *buf = NULL;
		size_t n;
		if ((r = rt_cli_read_json(path, &buf, &n, err)) >= 0 &&
		    (r = oci_process_parse(buf, n, &p, err)) < 0)
			r = err_wrap(err, "%s", path);
	} else {
		r = process_from_args(c, a, &p, err);
	}
	if (r >= 0 && (r = oci_process_validate(p, err)) < 0)
		r = err_wrap(err, "process");
	if (r >= 0) {
		*terminal = p->terminal;
		r = oci_process_to_json(p, json, len, err);
	}
	if (p)
		oci_process_free(p);
	return r;
}

static int exec_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *id = a->pos[0];
	const char *fds = rt_args_str(a, "preserve-fds", "0");
	if (fds[0] != '0' || fds[1])
		return err_set(err, EOPNOTSUPP, "--preserve-fds %s", fds);
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	bool terminal = false;
	{
		_cleanup_rt_container_ struct rt_container *c = NULL;
		int r = rt_container_open(cli->root, id, false, &c, err);
		if (r < 0)
			return r;
		enum rt_status s = rt_state_status(&c->state);
		if (s == RT_STATUS_PAUSED && !rt_args_bool(a, "ignore-paused"))
			return err_set(
			    err, 0,
			    "cannot exec in a paused container (use --ignore-paused to override)");
		if (s != RT_STATUS_RUNNING && s != RT_STATUS_CREATED && s != RT_STATUS_PAUSED)
			return err_set(err, 0, "cannot exec in a stopped container");
		if ((r = process_json(c, a, &json, &len, &terminal, err)) < 0)
			return r;
	}
	bool detach = rt_args_bool(a, "detach");
	const char *console = rt_args_str(a, "console-socket", NULL);
	int r = rt_cli_check_tty(terminal, detach, console, err);
	if (r < 0)
		return r;
	/* runc names execs itself; ours must be unique in the container */
	char exec_id[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(exec_id, sizeof(exec_id), "exec-%d-%lx", (int)getpid(), (long)ts.tv_nsec);
	struct rt_monitor_opts mo = {
	    .size = sizeof(mo),
	    .root = cli->root,
	    .id = id,
	    .exec_id = exec_id,
	    .process_json = json,
	    .process_len = len,
	    .terminal = terminal,
	    .console_socket = console,
	    .log_to_state_dir = cli->log_to_stderr,
	};
	struct termios saved;
	bool raw = !detach && terminal && !console && rt_cli_stdin_raw(&saved);
	pid_t monitor;
	r = rt_monitor_start(&mo, &monitor, err);
	const char *pid_file = rt_args_str(a, "pid-file", NULL);
	if (r >= 0 && pid_file)
		r = rt_cli_write_pid_file(pid_file, monitor, err);
	if (r >= 0 && !detach)
		r = rt_monitor_wait(monitor);
	if (raw)
		rt_cli_stdin_restore(&saved);
	return r;
}

const struct rt_cli_cmd rt_cmd_exec = {
    .name = "exec",
    .args_usage = "<container-id> <command> [command options]  || -p process.json <container-id>",
    .summary = "execute new process inside the container",
    .description = "The exec command executes a new process inside a running container, in\n"
		   "   all of its namespaces and its cgroup. In the foreground hull exits with\n"
		   "   the process's exit status.",
    .flags = exec_flags,
    .n_flags = ARRAY_SIZE(exec_flags),
    .min_args = 1,
    .max_args = -1,
    .stop_at_pos = true,
    .run = exec_run,
};
