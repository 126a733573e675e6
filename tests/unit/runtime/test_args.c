// SPDX-License-Identifier: Apache-2.0
/* runtime: the CLI flag parser accepts runc's spellings and refuses like Go's flag package. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/cli_args.h"

static const struct rt_flag flags[] = {
    {"bundle,b", RT_FLAG_STRING, "bundle", NULL},
    {"detach,d", RT_FLAG_BOOL, "detach", NULL},
    {"env,e", RT_FLAG_STRINGS, "env", NULL},
    {"pid-file", RT_FLAG_STRING, "pid file", NULL},
};

/* Parse a NULL-terminated list; returns the parser's result. */
static int parse(struct rt_args *a, bool stop, struct err **err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, err);
	for (char *s; (s = va_arg(ap, char *));)
		argv[argc++] = s;
	va_end(ap);
	return rt_args_parse(flags, ARRAY_SIZE(flags), argc, argv, stop, a, err);
}

static void spellings(void **state)
{
	static const char *const forms[][2] = {
	    {"--bundle", "/b"}, {"-bundle", "/b"},     {"-b", "/b"},
	    {"--b", "/b"},      {"--bundle=/b", NULL}, {"-b=/b", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct rt_args a;
		_cleanup_err_ struct err *err = NULL;
		assert_int_equal(parse(&a, false, &err, "ID", forms[i][0], forms[i][1], NULL), 0);
		assert_true(rt_args_has(&a, "bundle"));
		assert_true(rt_args_has(&a, "b"));
		assert_string_equal(rt_args_str(&a, "b", NULL), "/b");
		assert_int_equal(a.n_pos, 1);
		assert_string_equal(a.pos[0], "ID");
		rt_args_free(&a);
	}
}

static void bools_and_lists(void **state)
{
	struct rt_args a;
	_cleanup_err_ struct err *err = NULL;
	/* a bool never eats the next argument; a list keeps every value in order */
	assert_int_equal(parse(&a, false, &err, "-d", "ID", "-e", "A=1", "--env=B=2", NULL), 0);
	assert_true(rt_args_bool(&a, "detach"));
	size_t n;
	const char *const *env = rt_args_list(&a, "env", &n);
	assert_int_equal(n, 2);
	assert_string_equal(env[0], "A=1");
	assert_string_equal(env[1], "B=2");
	assert_int_equal(a.n_pos, 1);
	assert_null(rt_args_str(&a, "pid-file", NULL));
	assert_string_equal(rt_args_str(&a, "pid-file", "dflt"), "dflt");
	rt_args_free(&a);

	assert_int_equal(parse(&a, false, &err, "--detach=false", NULL), 0);
	assert_true(rt_args_has(&a, "d"));
	assert_false(rt_args_bool(&a, "d"));
	rt_args_free(&a);

	assert_int_equal(parse(&a, false, &err, "-d=maybe", NULL), -EINVAL);
	assert_string_equal(err_msg(err), "invalid boolean value \"maybe\" for -d: parse error");
	rt_args_free(&a);
}

static void refusals(void **state)
{
	struct rt_args a;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(parse(&a, false, &err, "ID", "--bogus", NULL), -EINVAL);
	assert_string_equal(err_msg(err), "flag provided but not defined: -bogus");
	rt_args_free(&a);
	assert_int_equal(parse(&a, false, &err, "-x=1", NULL), -EINVAL);
	assert_string_equal(err_msg(err), "flag provided but not defined: -x");
	rt_args_free(&a);
	assert_int_equal(parse(&a, false, &err, "ID", "--bundle", NULL), -EINVAL);
	assert_string_equal(err_msg(err), "flag needs an argument: -bundle");
	rt_args_free(&a);
	assert_int_equal(parse(&a, false, &err, "---b", "x", NULL), -EINVAL);
	assert_string_equal(err_msg(err), "bad flag syntax: ---b");
	rt_args_free(&a);
	assert_int_equal(parse(&a, false, &err, "--=x", NULL), -EINVAL);
	rt_args_free(&a);
}

static void positional_rules(void **state)
{
	struct rt_args a;
	_cleanup_err_ struct err *err = NULL;
	/* exec-style: flags end at the first positional argument */
	assert_int_equal(parse(&a, true, &err, "-d", "ID", "ls", "-l", "--bundle", NULL), 0);
	assert_true(rt_args_bool(&a, "d"));
	assert_false(rt_args_has(&a, "bundle"));
	assert_int_equal(a.n_pos, 4);
	assert_string_equal(a.pos[2], "-l");
	rt_args_free(&a);
	/* "--" ends flags; "-" is an argument */
	assert_int_equal(parse(&a, false, &err, "--", "-d", "-", NULL), 0);
	assert_false(rt_args_has(&a, "d"));
	assert_int_equal(a.n_pos, 2);
	assert_string_equal(a.pos[0], "-d");
	assert_string_equal(a.pos[1], "-");
	rt_args_free(&a);
	/* help is noticed, not refused */
	assert_int_equal(parse(&a, false, &err, "ID", "--help", NULL), 0);
	assert_true(a.help);
	rt_args_free(&a);
	assert_int_equal(parse(&a, false, &err, "-h", NULL), 0);
	assert_true(a.help);
	rt_args_free(&a);
	/* the last value of a plain string flag wins */
	assert_int_equal(parse(&a, false, &err, "-b", "1", "-b", "2", NULL), 0);
	assert_string_equal(rt_args_str(&a, "bundle", NULL), "2");
	rt_args_free(&a);
}

static void help_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	rt_args_help(f, flags, ARRAY_SIZE(flags));
	fclose(f);
	assert_non_null(strstr(buf, "   --bundle value, -b value  bundle\n"));
	assert_non_null(strstr(buf, "   --detach, -d              detach\n"));
	assert_non_null(strstr(buf, "   --pid-file value          pid file\n"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(spellings), cmocka_unit_test(bools_and_lists),
	    cmocka_unit_test(refusals),  cmocka_unit_test(positional_rules),
	    cmocka_unit_test(help_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
