/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hull CLI's flag parser, with the spellings runc's (urfave/cli v1 on Go's
 * flag package) accepts, so that docker, podman and containerd's go-runc can
 * drive hull unchanged:
 *
 *   --bundle value, --bundle=value, -bundle value, -b value, -b=value
 *   --detach, -d, --detach=false   (bool flags never take the next argument)
 *   --                             ends the flags
 *   -                              is a positional argument
 *
 * Flags may follow positional arguments ("hull state ID --bogus" is refused
 * like runc does) unless the command stops at its first positional argument
 * (exec: "hull exec ID ls -l" passes -l on). -h/--help asks for help when the
 * command does not define them itself. Errors use Go's words: "flag provided
 * but not defined: -x", "flag needs an argument: -x".
 */
#ifndef HULL_RUNTIME_CLI_ARGS_H
#define HULL_RUNTIME_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct err;

enum rt_flag_type {
	RT_FLAG_BOOL = 0,
	RT_FLAG_STRING,  /* last one given wins */
	RT_FLAG_STRINGS, /* repeatable: every value kept, in order */
};

struct rt_flag {
	const char *names; /* "bundle,b": first the long name, then aliases */
	enum rt_flag_type type;
	const char *usage;
	const char *def; /* shown as (default: "...") in help; NULL: none */
};

struct rt_flag_val {
	bool set;
	bool b;
	const char *s;     /* STRING: the last value (points into argv) */
	const char **list; /* STRINGS */
	size_t n;
};

struct rt_args {
	const struct rt_flag *flags;
	size_t n_flags;
	struct rt_flag_val *vals; /* one per flag */
	char **pos;               /* positional arguments (point into argv) */
	size_t n_pos;
	bool help; /* -h / --help was given */
};

/*
 * Parse argv[0..argc). stop_at_pos: everything from the first positional
 * argument on is positional. Returns 0, or -EINVAL with *err set to Go's
 * message. Free with rt_args_free even on failure.
 */
int rt_args_parse(const struct rt_flag *flags, size_t n_flags, int argc, char *const *argv,
		  bool stop_at_pos, struct rt_args *out, struct err **err);
void rt_args_free(struct rt_args *a);

/* Lookups by any of a flag's names; asking for an undefined flag aborts (a bug). */
bool rt_args_has(const struct rt_args *a, const char *name);
bool rt_args_bool(const struct rt_args *a, const char *name);
const char *rt_args_str(const struct rt_args *a, const char *name, const char *def);
const char *const *rt_args_list(const struct rt_args *a, const char *name, size_t *n);

/* The OPTIONS block of a help text, aligned like urfave/cli's. */
void rt_args_help(FILE *f, const struct rt_flag *flags, size_t n_flags);

#endif
