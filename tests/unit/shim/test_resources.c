// SPDX-License-Identifier: Apache-2.0
/* shim: Update's Any-wrapped LinuxResources mapped onto the agent's update, and Stats' Metrics. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../shim/shim.h"
#include "lib/err.h"
#include "shim/proto/metrics.pb-c.h"

static int parse(const char *type, const char *json, struct rt_agent_resources *r, struct err **err)
{
	return shim_resources_parse(type, (const uint8_t *)json, json ? strlen(json) : 0, r, err);
}

static void maps_what_the_agent_changes(void **state)
{
	struct rt_agent_resources r;
	const char *json = "{\"memory\": {\"limit\": 200000000}, \"cpu\": {\"quota\": 50000, "
			   "\"period\": 100000, \"shares\": 512}, \"pids\": {\"limit\": 64}, "
			   "\"blockIO\": {\"weight\": 300}}";
	assert_int_equal(parse(SHIM_RESOURCES_TYPE, json, &r, NULL), 0);
	assert_int_equal(r.memory_limit, 200000000);
	assert_int_equal(r.cpu_quota, 50000);
	assert_int_equal(r.cpu_period, 100000);
	assert_int_equal(r.cpu_shares, 512);
	assert_int_equal(r.pids_limit, 64);
	assert_int_equal(r.blkio_weight, 300);
}

static void unlimited_and_untouched(void **state)
{
	struct rt_agent_resources r;
	assert_int_equal(parse(SHIM_RESOURCES_TYPE,
			       "{\"memory\": {\"limit\": -1}, \"pids\": {\"limit\": 0}}", &r, NULL),
			 0);
	assert_int_equal(r.memory_limit, -1); /* unlimited */
	assert_int_equal(r.pids_limit, -1);
	assert_int_equal(r.cpu_quota, 0); /* not given: unchanged */
	assert_int_equal(r.cpu_shares, 0);
}

static void bad_input_is_named(void **state)
{
	struct rt_agent_resources r;
	struct err *err = NULL;
	assert_int_equal(parse("types.containerd.io/foo", "{}", &r, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "resources of type \"types.containerd.io/foo\""));
	err_free(&err);

	assert_int_equal(parse(SHIM_RESOURCES_TYPE, NULL, &r, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "empty resources"));
	err_free(&err);

	assert_true(parse(SHIM_RESOURCES_TYPE, "{\"memory\": {\"limit\": \"x\"}}", &r, &err) < 0);
	assert_non_null(strstr(err_msg(err), "memory.limit"));
	err_free(&err);

	assert_true(parse(SHIM_RESOURCES_TYPE, "{\"memory\":", &r, &err) < 0);
	err_free(&err);
}

static void metrics_decode_as_containerd_reads_them(void **state)
{
	struct rt_agent_stats st = {.cpu_usage_usec = 1000,
				    .cpu_user_usec = 600,
				    .cpu_system_usec = 400,
				    .memory_usage = 4096,
				    .memory_limit = 0,
				    .pids_current = 3,
				    .pids_limit = 10,
				    .memory_oom_kill = 2,
				    .io_read_bytes = 7};
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(shim_metrics_pack(&st, &buf, &len), 0);
	Io__Containerd__Cgroups__V2__Metrics *m =
	    io__containerd__cgroups__v2__metrics__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_int_equal(m->cpu->usage_usec, 1000);
	assert_int_equal(m->cpu->user_usec, 600);
	assert_int_equal(m->cpu->system_usec, 400);
	assert_int_equal(m->memory->usage, 4096);
	assert_true(m->memory->usage_limit == UINT64_MAX); /* no limit: "max" */
	assert_int_equal(m->pids->current, 3);
	assert_int_equal(m->pids->limit, 10);
	assert_int_equal(m->memory_events->oom_kill, 2);
	assert_int_equal(m->io->n_usage, 1);
	assert_int_equal(m->io->usage[0]->rbytes, 7);
	/* field numbers on the wire: pids is 1, cpu 2, memory 4 (tag bytes) */
	assert_int_equal(buf[0], (1 << 3) | 2);
	io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(maps_what_the_agent_changes),
	    cmocka_unit_test(unlimited_and_untouched),
	    cmocka_unit_test(bad_input_is_named),
	    cmocka_unit_test(metrics_decode_as_containerd_reads_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
