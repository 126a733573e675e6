// SPDX-License-Identifier: Apache-2.0
/* OCI resources -> cgroup v2 files, against a fake cgroup directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../guest-agent/cgroup.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "oci/spec.h"

static void shares_to_weight_matches_runc(void **state)
{
	assert_int_equal(agent_cgroup_shares_to_weight(2), 1);
	assert_int_equal(agent_cgroup_shares_to_weight(1024), 39);
	assert_int_equal(agent_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(agent_cgroup_shares_to_weight(1), 1); /* clamped */
	assert_int_equal(agent_cgroup_shares_to_weight(1 << 30), 10000);
}

static void blkio_weight_to_io_weight(void **state)
{
	assert_int_equal(agent_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(agent_cgroup_blkio_to_io_weight(1000), 10000);
	assert_int_equal(agent_cgroup_blkio_to_io_weight(500), 1 + (490 * 9999) / 990);
}

static void cpu_max_from_quota_and_period(void **state)
{
	char buf[64];
	agent_cgroup_cpu_max(50000, 100000, buf, sizeof(buf));
	assert_string_equal(buf, "50000 100000");
	agent_cgroup_cpu_max(-1, 250000, buf, sizeof(buf));
	assert_string_equal(buf, "max 250000");
	agent_cgroup_cpu_max(20000, 0, buf, sizeof(buf));
	assert_string_equal(buf, "20000 100000");
}

static void kv_get_reads_flat_keyed_files(void **state)
{
	const char *ev = "low 0\nhigh 3\nmax 10\noom 2\noom_kill 1\n";
	uint64_t v = 0;
	assert_int_equal(agent_cgroup_kv_get(ev, "oom_kill", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(agent_cgroup_kv_get(ev, "oom", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(agent_cgroup_kv_get(ev, "oom_group_kill", &v), -ENOENT);
}

/* A directory that looks like a cgroup with the given controllers. */
static char *fake_cgroup(const char *controllers)
{
	char *dir = strdup("/tmp/hull-cgtest-XXXXXX");
	assert_non_null(mkdtemp(dir));
	static const char *files[] = {"memory.max", "memory.low", "cpu.max",    "cpu.weight",
				      "pids.max",   "io.weight",  "memory.high"};
	char path[256];
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	FILE *f = fopen(path, "w");
	fputs(controllers, f);
	fclose(f);
	return dir;
}

static void rm_fake(char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static char *read_in(const char *dir, const char *file)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *s = NULL;
	assert_int_equal(fd_read_file(path, &s, NULL, 4096), 0);
	return s;
}

static void apply_writes_each_limit(void **state)
{
	char *dir = fake_cgroup("cpuset cpu io memory pids\n");
	struct oci_memory mem = {
	    .has_limit = true, .limit = 64 << 20, .has_reservation = true, .reservation = -1};
	struct oci_cpu cpu = {.has_quota = true,
			      .quota = 25000,
			      .has_period = true,
			      .period = 50000,
			      .has_shares = true,
			      .shares = 512};
	struct oci_pids pids = {.limit = 42};
	struct oci_blkio blk = {.has_weight = true, .weight = 1000};
	struct oci_kv kv = {(char *)"memory.high", (char *)"1000000"};
	struct oci_resources res = {
	    .memory = &mem, .cpu = &cpu, .pids = &pids, .block_io = &blk, .unified = {&kv, 1}};
	_cleanup_err_ struct err *err = NULL;
	assert_true(agent_cgroup_needed(&res));
	assert_int_equal(agent_cgroup_apply(dir, &res, &err), 0);
	struct {
		const char *file, *want;
	} exp[] = {{"memory.max", "67108864"}, {"memory.low", "max"},
		   {"cpu.max", "25000 50000"}, {"cpu.weight", "20"},
		   {"pids.max", "42"},         {"io.weight", "default 10000"},
		   {"memory.high", "1000000"}};
	for (size_t i = 0; i < ARRAY_SIZE(exp); i++) {
		_cleanup_free_ char *got = read_in(dir, exp[i].file);
		assert_string_equal(got, exp[i].want);
	}
	rm_fake(dir);
}

static void unlimited_values_write_max(void **state)
{
	char *dir = fake_cgroup("memory pids\n");
	struct oci_memory mem = {.has_limit = true, .limit = -1};
	struct oci_pids pids = {.limit = 0};
	struct oci_resources res = {.memory = &mem, .pids = &pids};
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_cgroup_apply(dir, &res, &err), 0);
	_cleanup_free_ char *m = read_in(dir, "memory.max");
	_cleanup_free_ char *p = read_in(dir, "pids.max");
	assert_string_equal(m, "max");
	assert_string_equal(p, "max");
	rm_fake(dir);
}

static void missing_controller_is_named(void **state)
{
	char *dir = fake_cgroup("cpu pids\n");
	struct oci_memory mem = {.has_limit = true, .limit = 1 << 20};
	struct oci_resources res = {.memory = &mem};
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_cgroup_apply(dir, &res, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err_msg(err), "controller 'memory' is not available"));
	rm_fake(dir);
}

static void unified_refuses_path_names(void **state)
{
	char *dir = fake_cgroup("memory\n");
	struct oci_kv kv = {(char *)"../../etc/passwd", (char *)"x"};
	struct oci_resources res = {.unified = {&kv, 1}};
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_cgroup_apply(dir, &res, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "bad cgroup file name"));
	rm_fake(dir);
}

static void nothing_needed_without_limits(void **state)
{
	struct oci_resources res = {0};
	assert_false(agent_cgroup_needed(NULL));
	assert_false(agent_cgroup_needed(&res));
	struct oci_pids pids = {.limit = 0};
	res.pids = &pids;
	assert_false(agent_cgroup_needed(&res));
}

static void cgroup_path_stays_below_root(void **state)
{
	char *root = fake_cgroup("");
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(agent_cgroup_create(root, "c1", NULL, &a, &err), 0);
	assert_non_null(strstr(a, "/hull/c1"));
	assert_int_equal(agent_cgroup_create(root, "c2", "/kube/pod1/c2", &b, &err), 0);
	assert_non_null(strstr(b, "/kube/pod1/c2"));
	/* ".." or systemd-style "slice:prefix:name" fall back to hull/<id> */
	assert_int_equal(agent_cgroup_create(root, "c3", "/../../etc", &c, &err), 0);
	assert_non_null(strstr(c, "/hull/c3"));
	struct stat st;
	assert_int_equal(stat(b, &st), 0);
	rm_fake(root);
}

static void root_must_be_cgroup2(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	assert_true(agent_cgroup_root_init("/tmp", &err) < 0);
	assert_non_null(strstr(err_msg(err), "not a cgroup2 mount"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shares_to_weight_matches_runc),
	    cmocka_unit_test(blkio_weight_to_io_weight),
	    cmocka_unit_test(cpu_max_from_quota_and_period),
	    cmocka_unit_test(kv_get_reads_flat_keyed_files),
	    cmocka_unit_test(apply_writes_each_limit),
	    cmocka_unit_test(unlimited_values_write_max),
	    cmocka_unit_test(missing_controller_is_named),
	    cmocka_unit_test(unified_refuses_path_names),
	    cmocka_unit_test(nothing_needed_without_limits),
	    cmocka_unit_test(cgroup_path_stays_below_root),
	    cmocka_unit_test(root_must_be_cgroup2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
