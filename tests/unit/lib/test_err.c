// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/err.h"

static void set_formats_errno(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(err_set(&err, ENOENT, "open %s", "/x"), -ENOENT);
	assert_string_equal(err_msg(err), "open /x: No such file or directory");
	assert_int_equal(err->code, ENOENT);
}

static void wrap_prefixes_context(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	err_set(&err, EACCES, "mount %s", "proc");
	assert_int_equal(err_wrap(&err, "container %s", "c1"), -EACCES);
	assert_string_equal(err_msg(err), "container c1: mount proc: Permission denied");
}

static void code_zero_is_einval_without_strerror(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(err_set(&err, 0, "field %s: expected a string", "ociVersion"), -EINVAL);
	assert_string_equal(err_msg(err), "field ociVersion: expected a string");
}

static void null_err_is_allowed(void **state)
{
	assert_int_equal(err_set(NULL, EIO, "x"), -EIO);
	assert_string_equal(err_msg(NULL), "unknown error");
	assert_int_equal(err_wrap(NULL, "y"), -EINVAL);
}

static void set_replaces_previous(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	err_set(&err, EIO, "first");
	err_set(&err, EBUSY, "second");
	assert_string_equal(err_msg(err), "second: Device or resource busy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_formats_errno),
		cmocka_unit_test(wrap_prefixes_context),
		cmocka_unit_test(code_zero_is_einval_without_strerror),
		cmocka_unit_test(null_err_is_allowed),
		cmocka_unit_test(set_replaces_previous),
	};
	return cmocka_run_group_tests_name("lib/err", tests, NULL, NULL);
}
