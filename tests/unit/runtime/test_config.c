// SPDX-License-Identifier: Apache-2.0
/* runtime: /etc/hull/config.json loading (HULL_CONFIG), defaults and refusals. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/config.h"

static void defaults(void **state)
{
	struct rt_config cfg;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(rt_config_defaults(&cfg, &err), 0);
	assert_string_equal(cfg.kernel, "/usr/local/share/hull/bzImage");
	assert_string_equal(cfg.virtiofsd, "/usr/lib/qemu/virtiofsd");
	assert_int_equal(cfg.default_memory_mib, 128);
	assert_int_equal(cfg.default_vcpus, 1);
	assert_true(cfg.free_page_reporting);
	rt_config_free(&cfg);
}

/* The file hack/default-config.sh prints parses to exactly the built-in defaults. */
static void default_config_script(void **state)
{
	FILE *p = popen("sh hack/default-config.sh /opt/h 2>/dev/null || "
			"sh ../../../../hack/default-config.sh /opt/h",
			"r");
	assert_non_null(p);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), p);
	pclose(p);
	if (n == 0)
		skip(); /* run from somewhere the script cannot be found */
	struct rt_config cfg;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(rt_config_defaults(&cfg, &err), 0);
	assert_int_equal(rt_config_parse(buf, n, &cfg, &err), 0);
	assert_string_equal(cfg.kernel, "/opt/h/share/hull/bzImage");
	assert_string_equal(cfg.initramfs, "/opt/h/share/hull/initramfs.cpio.gz");
	assert_string_equal(cfg.vmm, "/opt/h/bin/hull-vmm");
	assert_string_equal(cfg.log_level, "info");
	rt_config_free(&cfg);
}

static void refusals(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
	    {"{\"kernel\": 5}", "kernel: expected a string"},
	    {"{\"kernel\": \"vmlinux\"}", "kernel: expected an absolute path"},
	    {"{\"default_vcpus\": 0}", "default_vcpus: expected an integer in 1..254"},
	    {"{\"free_page_reporting\": 1}", "free_page_reporting: expected true or false"},
	    {"{\"default_vcpus\": 300}", "default_vcpus: expected an integer in 1..254"},
	    {"{\"default_memory_mib\": \"128\"}", "default_memory_mib: expected an integer"},
	    {"{\"log_level\": \"loud\"}", "log_level: expected one of"},
	    {"{\"kernal\": \"/k\"}", "kernal: unknown key"},
	    {"{\"kernel\": ", "invalid JSON"},
	    {"[]", "expected a JSON object"},
	    {"{\"rootfs\": \"nfs\"}", "rootfs: expected \"virtiofs\" or \"block\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_config cfg;
		_cleanup_err_ struct err *err = NULL;
		assert_int_equal(rt_config_defaults(&cfg, &err), 0);
		assert_true(rt_config_parse(cases[i].json, strlen(cases[i].json), &cfg, &err) < 0);
		if (!strstr(err_msg(err), cases[i].msg))
			fail_msg("case %zu: got \"%s\"", i, err_msg(err));
		rt_config_free(&cfg);
	}
}

static void load_from_env(void **state)
{
	char path[] = "/tmp/hull-test-config.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *json =
	    "{\"kernel\": \"/k/bzImage\", \"default_memory_mib\": 512,"
	    " \"default_vcpus\": 2, \"log_level\": \"debug\", \"rootfs\": \"block\","
	    " \"free_page_reporting\": false}";
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);

	struct rt_config cfg;
	_cleanup_err_ struct err *err = NULL;
	setenv("HULL_CONFIG", path, 1);
	assert_int_equal(rt_config_load(&cfg, &err), 0);
	assert_string_equal(cfg.kernel, "/k/bzImage");
	assert_string_equal(cfg.virtiofsd, "/usr/lib/qemu/virtiofsd"); /* default kept */
	assert_int_equal(cfg.default_memory_mib, 512);
	assert_int_equal(cfg.default_vcpus, 2);
	assert_string_equal(cfg.log_level, "debug");
	assert_true(cfg.rootfs_block);
	assert_false(cfg.free_page_reporting);
	rt_config_free(&cfg);

	/* errors name the file */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "{\"vmm\": 1}", 10), 10);
	close(fd);
	assert_int_equal(rt_config_load(&cfg, &err), -EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "%s: vmm: expected a string", path);
	assert_string_equal(err_msg(err), want);

	/* a file named by HULL_CONFIG must exist */
	unlink(path);
	assert_int_equal(rt_config_load(&cfg, &err), -ENOENT);
	assert_non_null(strstr(err_msg(err), path));
	unsetenv("HULL_CONFIG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(default_config_script),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(load_from_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
