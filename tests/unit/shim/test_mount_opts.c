// SPDX-License-Identifier: Apache-2.0
/* shim: containerd's rootfs mount options split into MS_* flags, propagation and data. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <cmocka.h>

#include "../../../shim/shim.h"
#include "lib/err.h"

static int parse(struct shim_mount_opts *o, struct err **err, const char *const *opts, size_t n)
{
	return shim_mount_opts_parse(opts, n, o, err);
}

static void overlay_options_are_data(void **state)
{
	const char *opts[] = {"index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2"};
	struct shim_mount_opts o;
	assert_int_equal(parse(&o, NULL, opts, 4), 0);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.propagation, 0);
	assert_string_equal(o.data, "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2");
	shim_mount_opts_free(&o);
}

static void flags_set_and_clear(void **state)
{
	const char *opts[] = {"rbind", "ro",   "nosuid",   "nodev",
			      "rw",    "suid", "rprivate", "size=1m"};
	struct shim_mount_opts o;
	assert_int_equal(parse(&o, NULL, opts, 8), 0);
	/* rw clears ro, suid clears nosuid: the last word wins, as in mount(8) */
	assert_int_equal(o.flags, MS_BIND | MS_REC | MS_NODEV);
	assert_int_equal(o.propagation, MS_PRIVATE | MS_REC);
	assert_string_equal(o.data, "size=1m");
	shim_mount_opts_free(&o);
}

static void bad_options_are_named(void **state)
{
	struct shim_mount_opts o;
	struct err *err = NULL;
	const char *comma[] = {"ro", "a=b,c=d"};
	assert_int_equal(parse(&o, &err, comma, 2), -EINVAL);
	assert_non_null(strstr(err_msg(err), "mount option 1 \"a=b,c=d\": contains a comma"));
	err_free(&err);

	const char *empty[] = {""};
	assert_int_equal(parse(&o, &err, empty, 1), -EINVAL);
	assert_non_null(strstr(err_msg(err), "mount option 0: empty"));
	err_free(&err);

	const char *missing[] = {NULL};
	assert_int_equal(parse(&o, &err, missing, 1), -EINVAL);
	err_free(&err);
}

static void limits(void **state)
{
	struct shim_mount_opts o;
	struct err *err = NULL;
	/* too many options */
	const char *many[SHIM_MAX_OPTIONS + 1];
	for (size_t i = 0; i < SHIM_MAX_OPTIONS + 1; i++)
		many[i] = "ro";
	assert_int_equal(parse(&o, &err, many, SHIM_MAX_OPTIONS + 1), -E2BIG);
	err_free(&err);
	assert_int_equal(parse(&o, NULL, many, SHIM_MAX_OPTIONS), 0);
	shim_mount_opts_free(&o);

	/* one option longer than allowed */
	char *big = malloc(SHIM_MAX_OPTION + 2);
	memset(big, 'x', SHIM_MAX_OPTION + 1);
	big[SHIM_MAX_OPTION + 1] = '\0';
	const char *one[] = {big};
	assert_int_equal(parse(&o, &err, one, 1), -EINVAL);
	assert_non_null(strstr(err_msg(err), "longer than"));
	err_free(&err);

	/* data that does not fit in a page */
	big[3000] = '\0';
	const char *two[] = {big, big};
	assert_int_equal(parse(&o, &err, two, 2), -E2BIG);
	assert_non_null(strstr(err_msg(err), "data longer than"));
	err_free(&err);
	free(big);
}

static void unmount_of_nothing_is_fine(void **state)
{
	assert_int_equal(shim_rootfs_unmount("/nonexistent/hull-shim-test", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(overlay_options_are_data),   cmocka_unit_test(flags_set_and_clear),
	    cmocka_unit_test(bad_options_are_named),      cmocka_unit_test(limits),
	    cmocka_unit_test(unmount_of_nothing_is_fine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
