// SPDX-License-Identifier: Apache-2.0
/* runtime: VM sizing from a spec's resources, a CRI sandbox's annotations and
 * the host config defaults; a pod container's namespace paths. */
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
#include "runtime/pod.h"
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

/* A CRI sandbox with annotations and a resources block that must not count. */
static void pod_size_of(const char *annotations, unsigned *mem, unsigned *cpus)
{
	char json[2048];
	snprintf(json, sizeof(json),
		 "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
		 " \"annotations\": {%s},"
		 " \"linux\": {\"resources\": {\"memory\": {\"limit\": 1073741824}}}}",
		 annotations);
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

#define SB "\"io.kubernetes.cri.container-type\": \"sandbox\""

static void pod_sizing(void **state)
{
	(void)state;
	unsigned mem, cpus;
	/* no pod resources: the defaults, not the pause container's limit */
	pod_size_of(SB, &mem, &cpus);
	assert_int_equal(mem, 200);
	assert_int_equal(cpus, 2);
	pod_size_of(SB ", \"io.kubernetes.cri.sandbox-memory\": \"0\","
		       " \"io.kubernetes.cri.sandbox-cpu-quota\": \"0\"",
		    &mem, &cpus);
	assert_int_equal(mem, 200);
	assert_int_equal(cpus, 2);
	pod_size_of(SB ", \"io.kubernetes.cri.sandbox-memory\": \"178257920\","
		       " \"io.kubernetes.cri.sandbox-cpu-quota\": \"250000\","
		       " \"io.kubernetes.cri.sandbox-cpu-period\": \"100000\"",
		    &mem, &cpus);
	assert_int_equal(mem, 170 + RT_VM_MEM_OVERHEAD);
	assert_int_equal(cpus, 3);
	/* not numbers, or absurd: ignored or clamped, never wrapped */
	pod_size_of(SB ", \"io.kubernetes.cri.sandbox-memory\": \"-5\","
		       " \"io.kubernetes.cri.sandbox-cpu-quota\": \"1e9\"",
		    &mem, &cpus);
	assert_int_equal(mem, 200);
	assert_int_equal(cpus, 2);
	pod_size_of(SB ", \"io.kubernetes.cri.sandbox-memory\": \"99999999999999999999\","
		       " \"io.kubernetes.cri.sandbox-cpu-quota\": \"9999999999999999999\"",
		    &mem, &cpus);
	assert_int_equal(mem, 200);
	assert_int_equal(cpus, RT_CONFIG_MAX_CPUS);
	/* a pod's app container is sized by its own resources (it joins a VM anyway) */
	pod_size_of("\"io.kubernetes.cri.container-type\": \"container\"", &mem, &cpus);
	assert_int_equal(mem, 1024 + RT_VM_MEM_OVERHEAD);
}

static void pod_namespaces(void **state)
{
	(void)state;
	const char *json =
	    "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}, \"linux\":"
	    " {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"},"
	    " {\"type\": \"ipc\", \"path\": \"/proc/4242/ns/ipc\"},"
	    " {\"type\": \"uts\", \"path\": \"/proc/4242/ns/uts\"},"
	    " {\"type\": \"network\", \"path\": \"/var/run/netns/cni-1\"}]}}";
	struct oci_spec *spec = NULL;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(oci_spec_parse(json, strlen(json), &spec, &err), 0);
	assert_int_equal(rt_pod_spec_namespaces(spec, 17, &err), 0);
	struct oci_linux *lx = spec->linux_;
	assert_int_equal(lx->namespaces_len, 5);
	assert_null(lx->namespaces[0].path);
	assert_null(lx->namespaces[1].path);
	assert_string_equal(lx->namespaces[2].path, "/proc/17/ns/ipc");
	assert_string_equal(lx->namespaces[3].path, "/proc/17/ns/uts");
	assert_null(lx->namespaces[4].path);
	/* no sandbox process known: new namespaces */
	assert_int_equal(rt_pod_spec_namespaces(spec, 0, &err), 0);
	assert_null(lx->namespaces[2].path);
	oci_spec_free(spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sizing),
	    cmocka_unit_test(pod_sizing),
	    cmocka_unit_test(pod_namespaces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
