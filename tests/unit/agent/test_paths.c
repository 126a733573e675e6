// SPDX-License-Identifier: Apache-2.0
/* Mount targets stay inside the rootfs; executables are found on PATH. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../guest-agent/spawn.h"
#include "lib/cleanup.h"

static char root[64];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/hull-pathtest-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	char p[256];
	snprintf(p, sizeof(p), "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bin", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/abs", root);
	symlink("/etc", p); /* absolute: must resolve inside root */
	snprintf(p, sizeof(p), "%s/up", root);
	symlink("../../../../..", p); /* climbs: must stop at root */
	snprintf(p, sizeof(p), "%s/loop", root);
	symlink("loop", p);
	snprintf(p, sizeof(p), "%s/bin/tool", root);
	FILE *f = fopen(p, "w");
	fclose(f);
	chmod(p, 0755);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void join(const char *path, const char *want_rel)
{
	char out[PATH_MAX], want[PATH_MAX];
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_path_join(root, path, out, sizeof(out), &err), 0);
	snprintf(want, sizeof(want), "%s%s", root, want_rel);
	assert_string_equal(out, want);
}

static void plain_paths_join(void **state)
{
	join("/proc", "/proc");
	join("/dev/pts", "/dev/pts");
	join("/", "");
	join("//a/./b/", "/a/b");
}

static void dotdot_stops_at_root(void **state)
{
	join("/../../etc", "/etc");
	join("/a/../../../b", "/b");
}

static void symlinks_resolve_inside_root(void **state)
{
	join("/abs/passwd", "/etc/passwd");
	join("/up/etc", "/etc");
	join("/up", "");
}

static void symlink_loops_fail(void **state)
{
	char out[PATH_MAX];
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_path_join(root, "/loop/x", out, sizeof(out), &err), -ELOOP);
}

static void exec_lookup_uses_env_path(void **state)
{
	char out[PATH_MAX], path_env[300];
	snprintf(path_env, sizeof(path_env), "PATH=/nonexistent:%s/bin", root);
	char *env[] = {path_env, NULL};
	assert_int_equal(agent_exec_lookup("tool", env, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "/bin/tool"));
	assert_int_equal(agent_exec_lookup("no-such-tool", env, out, sizeof(out)), -ENOENT);
	assert_int_equal(agent_exec_lookup("/bin/sh", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/bin/sh");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_paths_join),
	    cmocka_unit_test(dotdot_stops_at_root),
	    cmocka_unit_test(symlinks_resolve_inside_root),
	    cmocka_unit_test(symlink_loops_fail),
	    cmocka_unit_test(exec_lookup_uses_env_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
