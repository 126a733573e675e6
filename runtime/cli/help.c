// SPDX-License-Identifier: Apache-2.0
/* Help and version texts, laid out like runc's (urfave/cli) so users find their way. */
#include <string.h>

#include "cli.h"
#include "oci/spec.h"

void rt_cli_version(FILE *f)
{
	fprintf(f, "hull version %s\nspec: %s\n", HULL_VERSION, OCI_VERSION);
}

void rt_cli_help_app(FILE *f, const struct rt_cli_cmd *const *cmds, size_t n,
		     const struct rt_flag *globals, size_t n_globals)
{
	fputs("NAME:\n"
	      "   hull - OCI runtime that runs each container in its own KVM microVM\n\n"
	      "hull is a command line client for running applications packaged according to\n"
	      "the Open Container Initiative (OCI) format, compatible with runc's interface.\n"
	      "Each container runs in a microVM; its hull-vmm process is the container's\n"
	      "pid on the host.\n\n"
	      "To start a new instance of a container:\n\n"
	      "    # hull run [ -b bundle ] <container-id>\n\n"
	      "USAGE:\n"
	      "   hull [global options] command [command options] [arguments...]\n\n",
	      f);
	fprintf(f, "VERSION:\n   %s\nspec: %s\n\nCOMMANDS:\n", HULL_VERSION, OCI_VERSION);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "   %-10s  %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f, "   %-10s  %s\n", "help, h", "Shows a list of commands or help for one command");
	fputs("\nGLOBAL OPTIONS:\n", f);
	rt_args_help(f, globals, n_globals);
}

void rt_cli_help_cmd(FILE *f, const struct rt_cli_cmd *cmd)
{
	fprintf(f, "NAME:\n   hull %s - %s\n\nUSAGE:\n   hull %s%s %s\n", cmd->name, cmd->summary,
		cmd->name, cmd->n_flags ? " [command options]" : "",
		cmd->args_usage ? cmd->args_usage : "");
	if (cmd->description)
		fprintf(f, "\nDESCRIPTION:\n   %s\n", cmd->description);
	if (cmd->n_flags) {
		fputs("\nOPTIONS:\n", f);
		rt_args_help(f, cmd->flags, cmd->n_flags);
	}
}
