// SPDX-License-Identifier: Apache-2.0
/*
 * runtime: the values `hull update` and `hull events` take, parsed as runc's
 * Go libraries parse them (go-units sizes, time.ParseDuration, runc's update
 * flags), and the update the agent's UpdateContainer gets from them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../runtime/cli/cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"
#include "runtime/agent_client.h"

static void test_size(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {
	    {"0", 0},
	    {"1024", 1024},
	    {"64m", 64 << 20},
	    {"64M", 64 << 20},
	    {"64mb", 64 << 20},
	    {"64MiB", 64 << 20},
	    {"1k", 1024},
	    {"1g", 1 << 30},
	    {"2 GiB", 2LL << 30},
	    {"1.5g", 1610612736},
	    {"0.1k", 102}, /* truncated, as Go's int64(float) */
	    {"10b", 10},
	    {"10i", 10},
	    {"1t", 1LL << 40},
	    {"8191p", 8191LL << 50},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int64_t v = -7;
		if (rt_cli_size_parse(ok[i].s, &v) != 0 || v != ok[i].v)
			fail_msg("size \"%s\": got %lld, want %lld", ok[i].s, (long long)v,
				 (long long)ok[i].v);
	}
	static const char *const bad[] = {
	    "",     "12x", "-1",  "m",    "1.2.3", " 1",     "1g ",
	    "1  g", "1kk", "1bi", "0x10", "1e3",   "16384p", "9223372036854775807",
	    ".5k",  "5.k",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t v = 0;
		if (rt_cli_size_parse(bad[i], &v) != -EINVAL)
			fail_msg("size \"%s\" accepted as %lld", bad[i], (long long)v);
	}
}

static void test_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t ns;
	} ok[] = {
	    {"5s", 5000000000LL},
	    {"1m30s", 90000000000LL},
	    {"250ms", 250000000},
	    {"1.5h", 5400000000000LL},
	    {"300us", 300000},
	    {"300\xc2\xb5s", 300000},
	    {"0", 0},
	    {"-1s", -1000000000LL},
	    {"1.s", 1000000000},
	    {".5s", 500000000},
	    {"1h1m1s1ms1us1ns", 3661001001001LL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int64_t ns = -7;
		if (rt_cli_duration_parse(ok[i].s, &ns) != 0 || ns != ok[i].ns)
			fail_msg("duration \"%s\": got %lld, want %lld", ok[i].s, (long long)ns,
				 (long long)ok[i].ns);
	}
	static const char *const bad[] = {"",      "5",   "s", "5x",      ".s",
					  "1..5s", "5 s", "-", "3000000h"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ns = 0;
		if (rt_cli_duration_parse(bad[i], &ns) >= 0)
			fail_msg("duration \"%s\" accepted as %lld", bad[i], (long long)ns);
	}
}

/* Parse `hull update ARGS... c1` (NULL-terminated) with the real flag table. */
static int parse(struct rt_args *a, struct err **err, ...)
{
	char *argv[40];
	int argc = 0;
	va_list ap;
	va_start(ap, err);
	for (char *s; (s = va_arg(ap, char *)) && argc < 39;)
		argv[argc++] = s;
	va_end(ap);
	argv[argc++] = (char *)"c1";
	return rt_args_parse(rt_update_flags, RT_UPDATE_N_FLAGS, argc, argv, false, a, err);
}

/* Flags -> resources -> agent request; returns the first failure. */
static int update(struct rt_agent_resources *out, struct err **err, struct rt_args *a)
{
	struct oci_resources *res = NULL;
	int r = rt_cli_update_from_flags(a, &res, err);
	if (r < 0)
		return r;
	r = rt_cli_update_to_agent(res, out, err);
	oci_resources_free(res);
	return r;
}

static void test_flags_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < RT_UPDATE_N_FLAGS; i++) {
		assert_non_null(rt_update_flags[i].names);
		assert_non_null(rt_update_flags[i].usage);
	}
}

static void test_flags_update(void **state)
{
	(void)state;
	_cleanup_err_ struct err *err = NULL;
	struct rt_args a;
	assert_int_equal(parse(&a, &err, "--memory", "64m", "--cpu-quota", "50000",
			       "--cpu-period=100000", "-cpu-shares", "512", "--pids-limit", "32",
			       "--blkio-weight", "500", "--kernel-memory", "1m", NULL),
			 0);
	struct rt_agent_resources ar;
	assert_int_equal(update(&ar, &err, &a), 0);
	assert_int_equal(ar.memory_limit, 64 << 20);
	assert_int_equal(ar.cpu_quota, 50000);
	assert_int_equal(ar.cpu_period, 100000);
	assert_int_equal(ar.cpu_shares, 512);
	assert_int_equal(ar.pids_limit, 32);
	assert_int_equal(ar.blkio_weight, 500);
	rt_args_free(&a);

	/* nothing given: nothing changes (every field 0) */
	assert_int_equal(parse(&a, &err, NULL), 0);
	assert_int_equal(update(&ar, &err, &a), 0);
	static const struct rt_agent_resources zero;
	assert_memory_equal(&ar, &zero, sizeof(ar));
	rt_args_free(&a);

	/* -1: unlimited; a memory+swap at least the memory limit is accepted (no swap) */
	assert_int_equal(
	    parse(&a, &err, "--memory", "-1", "--pids-limit", "-1", "--cpu-quota", "-1", NULL), 0);
	assert_int_equal(update(&ar, &err, &a), 0);
	assert_int_equal(ar.memory_limit, -1);
	assert_int_equal(ar.pids_limit, -1);
	assert_int_equal(ar.cpu_quota, -1);
	rt_args_free(&a);
	assert_int_equal(parse(&a, &err, "--memory", "64m", "--memory-swap", "128m", NULL), 0);
	assert_int_equal(update(&ar, &err, &a), 0);
	assert_int_equal(ar.memory_limit, 64 << 20);
	rt_args_free(&a);
}

/* Each bad update fails with a message containing want. */
static void expect_refused(const char *want, ...)
{
	char *argv[8];
	int argc = 0;
	va_list ap;
	va_start(ap, want);
	for (char *s; (s = va_arg(ap, char *)) && argc < 7;)
		argv[argc++] = s;
	va_end(ap);
	argv[argc++] = (char *)"c1";
	_cleanup_err_ struct err *err = NULL;
	struct rt_args a;
	int r = rt_args_parse(rt_update_flags, RT_UPDATE_N_FLAGS, argc, argv, false, &a, &err);
	struct rt_agent_resources ar;
	if (r >= 0)
		r = update(&ar, &err, &a);
	rt_args_free(&a);
	if (r >= 0)
		fail_msg("%s: accepted", argv[0]);
	if (!strstr(err_msg(err), want))
		fail_msg("%s: got \"%s\", want \"%s\"", argv[0], err_msg(err), want);
}

static void test_flags_refused(void **state)
{
	(void)state;
	expect_refused("invalid value for memory: invalid size: '12x'", "--memory", "12x", NULL);
	expect_refused("invalid value for memory-swap: invalid size: '-2'", "--memory-swap", "-2",
		       NULL);
	expect_refused("invalid value for cpu-period: parsing \"abc\": invalid syntax",
		       "--cpu-period", "abc", NULL);
	expect_refused("invalid value for cpu-share: parsing \"-5\": invalid syntax", "--cpu-share",
		       "-5", NULL);
	expect_refused("invalid value for cpu-quota: parsing \"99999999999999999999\": value out "
		       "of range",
		       "--cpu-quota", "99999999999999999999", NULL);
	expect_refused("invalid value \"x\" for flag -pids-limit: parse error", "--pids-limit", "x",
		       NULL);
	expect_refused("blockIO.weight: 5 is out of range (10..1000)", "--blkio-weight", "5", NULL);
	expect_refused("memory.swap: 33554432 is below memory.limit 67108864", "--memory", "64m",
		       "--memory-swap", "32m", NULL);
	expect_refused("cpu.cpus (--cpuset-cpus): hull cannot update it yet", "--cpuset-cpus",
		       "0-1", NULL);
	expect_refused("cpu.mems (--cpuset-mems)", "--cpuset-mems", "0", NULL);
	expect_refused("memory.reservation (--memory-reservation)", "--memory-reservation", "1m",
		       NULL);
	expect_refused("cpu.idle (--cpu-idle)", "--cpu-idle", "1", NULL);
	expect_refused("Intel RDT/CAT: l3 cache schema is not enabled", "--l3-cache-schema",
		       "L3:0=f", NULL);
	expect_refused("flag provided but not defined: -bogus", "--bogus", NULL);
}

/* -r: the JSON goes through oci/, whose errors name the field. */
static void test_resources_json(void **state)
{
	(void)state;
	_cleanup_err_ struct err *err = NULL;
	struct oci_resources *res = NULL;
	const char *bad = "{\"memory\": {\"limit\": \"64m\"}}";
	assert_true(oci_resources_parse(bad, strlen(bad), &res, &err) < 0);
	assert_non_null(strstr(err_msg(err), "memory.limit"));
	err_free(&err);

	const char *good =
	    "{\"memory\": {\"limit\": 67108864, \"reservation\": 0, \"swap\": 0},"
	    " \"cpu\": {\"shares\": 0, \"quota\": 20000, \"period\": 0, \"cpus\": \"\","
	    " \"mems\": \"\"}, \"pids\": {\"limit\": -5}, \"blockIO\": {\"weight\": 10},"
	    " \"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}";
	assert_int_equal(oci_resources_parse(good, strlen(good), &res, &err), 0);
	assert_int_equal(oci_resources_validate(res, &err), 0);
	struct rt_agent_resources ar;
	assert_int_equal(rt_cli_update_to_agent(res, &ar, &err), 0);
	oci_resources_free(res);
	assert_int_equal(ar.memory_limit, 67108864);
	assert_int_equal(ar.cpu_quota, 20000);
	assert_int_equal(ar.cpu_period, 0);
	assert_int_equal(ar.pids_limit, -1);
	assert_int_equal(ar.blkio_weight, 10);

	const char *unified = "{\"unified\": {\"memory.high\": \"1000000\"}}";
	assert_int_equal(oci_resources_parse(unified, strlen(unified), &res, &err), 0);
	assert_true(rt_cli_update_to_agent(res, &ar, &err) < 0);
	assert_non_null(strstr(err_msg(err), "unified"));
	oci_resources_free(res);
	err_free(&err);

	/* oci/ refuses limits below -1 by name; a struct built otherwise too */
	const char *neg = "{\"memory\": {\"limit\": -2}}";
	assert_true(oci_resources_parse(neg, strlen(neg), &res, &err) < 0);
	assert_non_null(strstr(err_msg(err), "memory.limit"));
	err_free(&err);
	struct oci_cpu cpu = {.has_quota = true, .quota = -3};
	struct oci_resources r = {.cpu = &cpu};
	assert_true(rt_cli_update_to_agent(&r, &ar, &err) < 0);
	assert_non_null(strstr(err_msg(err), "cpu.quota: -3 is not a limit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size),          cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_flags_table),   cmocka_unit_test(test_flags_update),
	    cmocka_unit_test(test_flags_refused), cmocka_unit_test(test_resources_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
