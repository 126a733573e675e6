// SPDX-License-Identifier: Apache-2.0
/* Flag parsing with runc's spellings; see runtime/cli_args.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/err.h"
#include "runtime/cli_args.h"

/* Does name match one of the comma-separated names? */
static bool name_matches(const char *names, const char *name, size_t len)
{
	const char *p = names;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static int flag_find(const struct rt_flag *flags, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (name_matches(flags[i].names, name, len))
			return (int)i;
	return -1;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, f[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

static int list_add(struct rt_flag_val *v, const char *s)
{
	const char **nl = realloc(v->list, (v->n + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl[v->n++] = s;
	v->list = nl;
	return 0;
}

/*
 * One flag at argv[*i] ("-x", "--x", "-x=v", "--x=v"); may consume the next
 * argument as its value.
 */
static int parse_flag(struct rt_args *a, int argc, char *const *argv, int *i, struct err **err)
{
	const char *arg = argv[*i];
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	if (len == 0 || name[0] == '-' || name[0] == '=')
		return err_set(err, 0, "bad flag syntax: %s", arg);

	int idx = flag_find(a->flags, a->n_flags, name, len);
	if (idx < 0) {
		if ((len == 4 && strncmp(name, "help", 4) == 0) || (len == 1 && name[0] == 'h')) {
			a->help = true;
			return 0;
		}
		return err_set(err, 0, "flag provided but not defined: -%.*s", (int)len, name);
	}
	const struct rt_flag *f = &a->flags[idx];
	struct rt_flag_val *v = &a->vals[idx];
	v->set = true;
	if (f->type == RT_FLAG_BOOL) {
		v->b = true;
		if (eq && parse_bool(eq + 1, &v->b) < 0)
			return err_set(err, 0,
				       "invalid boolean value \"%s\" for -%.*s: parse error",
				       eq + 1, (int)len, name);
		return 0;
	}
	const char *value = eq ? eq + 1 : NULL;
	if (!value) {
		if (*i + 1 >= argc)
			return err_set(err, 0, "flag needs an argument: -%.*s", (int)len, name);
		value = argv[++*i];
	}
	if (f->type == RT_FLAG_STRING) {
		v->s = value;
		return 0;
	}
	if (list_add(v, value) < 0)
		return err_set(err, ENOMEM, "flag -%.*s", (int)len, name);
	return 0;
}

int rt_args_parse(const struct rt_flag *flags, size_t n_flags, int argc, char *const *argv,
		  bool stop_at_pos, struct rt_args *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	out->flags = flags;
	out->n_flags = n_flags;
	out->vals = calloc(n_flags ? n_flags : 1, sizeof(*out->vals));
	out->pos = calloc((size_t)argc + 1, sizeof(*out->pos));
	if (!out->vals || !out->pos)
		return err_set(err, ENOMEM, "parse arguments");

	bool flags_done = false;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (!flags_done && strcmp(arg, "--") == 0) {
			flags_done = true;
			continue;
		}
		if (flags_done || arg[0] != '-' || arg[1] == '\0') {
			out->pos[out->n_pos++] = argv[i];
			if (stop_at_pos)
				flags_done = true;
			continue;
		}
		int r = parse_flag(out, argc, argv, &i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void rt_args_free(struct rt_args *a)
{
	if (a->vals)
		for (size_t i = 0; i < a->n_flags; i++)
			free(a->vals[i].list);
	free(a->vals);
	free(a->pos);
	memset(a, 0, sizeof(*a));
}

static const struct rt_flag_val *lookup(const struct rt_args *a, const char *name)
{
	int idx = flag_find(a->flags, a->n_flags, name, strlen(name));
	if (idx < 0)
		abort(); /* a command asked for a flag it does not define: a bug */
	return &a->vals[idx];
}

bool rt_args_has(const struct rt_args *a, const char *name)
{
	return lookup(a, name)->set;
}

bool rt_args_bool(const struct rt_args *a, const char *name)
{
	return lookup(a, name)->b;
}

const char *rt_args_str(const struct rt_args *a, const char *name, const char *def)
{
	const struct rt_flag_val *v = lookup(a, name);
	return v->set && v->s ? v->s : def;
}

const char *const *rt_args_list(const struct rt_args *a, const char *name, size_t *n)
{
	const struct rt_flag_val *v = lookup(a, name);
	*n = v->n;
	return v->list;
}

/* "--bundle value, -b value" into buf. */
static void flag_spelling(const struct rt_flag *f, char *buf, size_t len)
{
	size_t o = 0;
	const char *p = f->names;
	buf[0] = '\0';
	while (*p && o < len) {
		size_t n = strcspn(p, ",");
		o += (size_t)snprintf(buf + o, len - o, "%s%s%.*s%s", o ? ", " : "",
				      n == 1 ? "-" : "--", (int)n, p,
				      f->type == RT_FLAG_BOOL ? "" : " value");
		p += n;
		if (*p == ',')
			p++;
	}
}

void rt_args_help(FILE *f, const struct rt_flag *flags, size_t n_flags)
{
	char spell[128];
	size_t width = 0;
	for (size_t i = 0; i < n_flags; i++) {
		flag_spelling(&flags[i], spell, sizeof(spell));
		if (strlen(spell) > width)
			width = strlen(spell);
	}
	for (size_t i = 0; i < n_flags; i++) {
		flag_spelling(&flags[i], spell, sizeof(spell));
		fprintf(f, "   %-*s  %s", (int)width, spell, flags[i].usage);
		if (flags[i].def)
			fprintf(f, " (default: \"%s\")", flags[i].def);
		fputc('\n', f);
	}
}
