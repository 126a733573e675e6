// SPDX-License-Identifier: Apache-2.0
/* runtime: VM sizing from a spec's resources and the host config defaults. */
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
#include "oci/spec.h"
#include "runtime/config.h"
#include "runtime/sandbox.h"

static void size_of(const char *resources, unsigned *mem, unsigned *cpus)
{
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
		 " \"linux\": {\"resources\": %s}}",
		 resources);
	struct oci_spec *spec = NULL;
	struct rt_config cfg;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(oci_spec_parse(json, strlen(json), &spec, &err), 0);
	assert_int_equal(rt_config_defaults(&cfg, &err), 0);
	cfg.default_memory_mib = 200;
	cfg.default_vcpus = 2;
	rt_sandbox_size(spec, &cfg, mem, cpus);
	rt_config_free(&cfg);
	oci_spec_free(spec);
}

static void sizing(void **state)
{
	unsigned mem, cpus;
	size_of("{}", &mem, &cpus);
	assert_int_equal(mem, 200);
	assert_int_equal(cpus, 2);
	/* limit rounded up to MiB, plus the guest's own overhead */
	size_of("{\"memory\": {\"limit\": 268435457}}", &mem, &cpus);
	assert_int_equal(mem, 257 + RT_VM_MEM_OVERHEAD);
	assert_int_equal(cpus, 2);
	size_of("{\"memory\": {\"limit\": -1}}", &mem, &cpus);
	assert_int_equal(mem, 200);
	/* quota/period rounded up to whole vCPUs */
	size_of("{\"cpu\": {\"quota\": 150000, \"period\": 100000}}", &mem, &cpus);
	assert_int_equal(cpus, 2);
	size_of("{\"cpu\": {\"quota\": 50000}}", &mem, &cpus);
	assert_int_equal(cpus, 1);
	size_of("{\"cpu\": {\"quota\": 400000, \"period\": 100000}}", &mem, &cpus);
	assert_int_equal(cpus, 4);
	size_of("{\"cpu\": {\"quota\": -1}}", &mem, &cpus);
	assert_int_equal(cpus, 2);
	size_of("{\"cpu\": {\"quota\": 99999999999, \"period\": 1000}}", &mem, &cpus);
	assert_int_equal(cpus, RT_CONFIG_MAX_CPUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sizing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
