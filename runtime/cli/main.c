// SPDX-License-Identifier: Apache-2.0
/*
 * hull: the runc-compatible OCI runtime CLI. Global flags, then a command:
 *
 *   hull [--root DIR] [--log FILE] [--log-format text|json] [--debug]
 *        [--systemd-cgroup] COMMAND [command options] ARGS...
 *
 * Exit status as runc's: 0 ok, 1 any error (message on stderr and in --log),
 * 3 unknown command ("No help topic for 'x'").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "runtime/state.h"

#define EXIT_NO_COMMAND 3 /* urfave/cli's status for an unknown command */

static const struct rt_cli_cmd *const commands[] = {
    &rt_cmd_create, &rt_cmd_delete, &rt_cmd_events, &rt_cmd_exec,  &rt_cmd_features,
    &rt_cmd_kill,   &rt_cmd_list,   &rt_cmd_pause,  &rt_cmd_ps,    &rt_cmd_resume,
    &rt_cmd_run,    &rt_cmd_spec,   &rt_cmd_start,  &rt_cmd_state, &rt_cmd_update,
};

static const struct rt_flag global_flags[] = {
    {"debug", RT_FLAG_BOOL, "enable debug logging", NULL},
    {"log", RT_FLAG_STRING, "set the log file to write hull logs to (default is '/dev/stderr')",
     NULL},
    {"log-format", RT_FLAG_STRING, "set the log format ('text' (default), or 'json')", "text"},
    {"root", RT_FLAG_STRING,
     "root directory for storage of container state (this should be located in tmpfs)",
     RT_ROOT_DEFAULT},
    {"systemd-cgroup", RT_FLAG_BOOL, "accepted for compatibility; cgroups live in the guest", NULL},
    {"version,v", RT_FLAG_BOOL, "print the version", NULL},
};

static bool log_to_stderr = true;

/* runc's fatal(): the message goes to the log, and to stderr too when the
 * log is elsewhere (go-runc reads the --log file, people read stderr). */
static int fail(const char *msg, int status)
{
	log_error("%s", msg);
	if (!log_to_stderr)
		fprintf(stderr, "%s\n", msg);
	return status;
}

static const struct rt_cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int setup_logging(const struct rt_args *g, struct err **err)
{
	const char *format = rt_args_str(g, "log-format", "text");
	if (strcmp(format, "json") == 0)
		log_set_format(LOG_JSON);
	else if (strcmp(format, "text") != 0)
		return err_set(err, 0, "invalid log-format: %s", format);
	const char *path = rt_args_str(g, "log", NULL);
	if (path && path[0] && strcmp(path, "/dev/stderr") != 0) {
		/* the fd lives as long as the process: it is the log */
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_set(err, errno, "open log file %s", path);
		log_set_fd(fd);
		log_to_stderr = false;
	}
	if (rt_args_bool(g, "debug"))
		log_set_level(LOG_DEBUG);
	log_set_ident("hull");
	return 0;
}

static int check_nargs(const struct rt_cli_cmd *cmd, size_t n, struct err **err)
{
	if (cmd->min_args == cmd->max_args && (int)n != cmd->min_args)
		return err_set(err, 0, "hull: \"%s\" requires exactly %d argument(s)", cmd->name,
			       cmd->min_args);
	if ((int)n < cmd->min_args)
		return err_set(err, 0, "hull: \"%s\" requires a minimum of %d argument(s)",
			       cmd->name, cmd->min_args);
	if (cmd->max_args >= 0 && (int)n > cmd->max_args)
		return err_set(err, 0, "hull: \"%s\" requires a maximum of %d argument(s)",
			       cmd->name, cmd->max_args);
	return 0;
}

static int run_command(struct rt_cli *cli, const struct rt_cli_cmd *cmd, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	struct rt_args a;
	int r = rt_args_parse(cmd->flags, cmd->n_flags, argc, argv, cmd->stop_at_pos, &a, &err);
	if (r >= 0 && a.help) {
		rt_cli_help_cmd(stdout, cmd);
		rt_args_free(&a);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "Incorrect Usage: %s\n\n", err_msg(err));
		rt_cli_help_cmd(stderr, cmd);
	} else if ((r = check_nargs(cmd, a.n_pos, &err)) < 0) {
		fputs("Incorrect Usage.\n\n", stderr);
		rt_cli_help_cmd(stderr, cmd);
	} else {
		r = cmd->run(cli, &a, &err);
	}
	rt_args_free(&a);
	if (r < 0)
		return fail(err_msg(err), EXIT_FAILURE);
	return r;
}

/* `hull help [command]` */
static int run_help(int argc, char **argv)
{
	if (argc < 1) {
		rt_cli_help_app(stdout, commands, ARRAY_SIZE(commands), global_flags,
				ARRAY_SIZE(global_flags));
		return 0;
	}
	const struct rt_cli_cmd *cmd = find_command(argv[0]);
	if (!cmd) {
		char msg[300];
		snprintf(msg, sizeof(msg), "No help topic for '%.200s'", argv[0]);
		return fail(msg, EXIT_NO_COMMAND);
	}
	rt_cli_help_cmd(stdout, cmd);
	return 0;
}

static int run_main(int argc, char **argv, struct rt_args *g)
{
	_cleanup_err_ struct err *err = NULL;
	if (rt_args_parse(global_flags, ARRAY_SIZE(global_flags), argc - 1, argv + 1, true, g,
			  &err) < 0) {
		fprintf(stderr, "Incorrect Usage. %s\n\n", err_msg(err));
		rt_cli_help_app(stderr, commands, ARRAY_SIZE(commands), global_flags,
				ARRAY_SIZE(global_flags));
		return fail(err_msg(err), EXIT_FAILURE);
	}
	if (setup_logging(g, &err) < 0)
		return fail(err_msg(err), EXIT_FAILURE);
	if (rt_args_bool(g, "version")) {
		rt_cli_version(stdout);
		return 0;
	}
	/* the command and its arguments follow the global flags */
	int cargc = (int)g->n_pos - 1;
	char **cargv = g->pos + 1;
	if (g->help || g->n_pos == 0)
		return run_help(0, NULL);
	const char *name = g->pos[0];
	if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0)
		return run_help(cargc, cargv);
	const struct rt_cli_cmd *cmd = find_command(name);
	if (!cmd)
		return run_help(1, g->pos);

	struct rt_cli cli = {
	    .log_to_stderr = log_to_stderr,
	    .root = rt_args_str(g, "root", RT_ROOT_DEFAULT),
	    .debug = rt_args_bool(g, "debug"),
	    .systemd_cgroup = rt_args_bool(g, "systemd-cgroup"),
	};
	/* runc makes --root absolute: state records paths other cwds must find */
	_cleanup_free_ char *abs_root = NULL;
	if (cli.root[0] != '/') {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (!cwd || asprintf(&abs_root, "%s/%s", cwd, cli.root) < 0)
			return fail("--root: cannot make the path absolute", EXIT_FAILURE);
		cli.root = abs_root;
	}
	if (rt_config_load(&cli.cfg, &err) < 0)
		return fail(err_msg(err), EXIT_FAILURE);
	enum log_level level;
	if (!cli.debug && log_level_parse(cli.cfg.log_level, &level) == 0)
		log_set_level(level);
	int r = run_command(&cli, cmd, cargc, cargv);
	rt_config_free(&cli.cfg);
	return r;
}

int main(int argc, char **argv)
{
	struct rt_args g;
	int status = run_main(argc, argv, &g);
	rt_args_free(&g);
	fflush(stdout);
	return status;
}
