// SPDX-License-Identifier: Apache-2.0
/* oci: name tables (capabilities, namespaces, seccomp, rlimits), state and features JSON. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"

static void capability_names(void **state)
{
	assert_int_equal(oci_cap_parse("CAP_CHOWN"), CAP_CHOWN);
	assert_int_equal(oci_cap_parse("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
	assert_int_equal(oci_cap_parse("cap_net_raw"), CAP_NET_RAW);
	assert_int_equal(oci_cap_parse("NET_ADMIN"), CAP_NET_ADMIN);
	assert_int_equal(oci_cap_parse("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(oci_cap_parse("CAP_FOO"), -EINVAL);
	assert_int_equal(oci_cap_parse("CAP_"), -EINVAL);
	assert_int_equal(oci_cap_parse(""), -EINVAL);
	assert_int_equal(oci_cap_parse(NULL), -EINVAL);
	assert_string_equal(oci_cap_name(CAP_KILL), "CAP_KILL");
	assert_null(oci_cap_name(-1));
	assert_null(oci_cap_name(oci_cap_last() + 1));
	assert_int_equal(oci_cap_last(), 40);
	/* Every name agrees with libcap's idea of the number. */
	for (int i = 0; i <= oci_cap_last(); i++) {
		cap_value_t v;
		assert_int_equal(cap_from_name(oci_cap_name(i), &v), 0);
		assert_int_equal(v, i);
		assert_int_equal(oci_cap_parse(oci_cap_name(i)), i);
	}
}

static void namespace_names(void **state)
{
	assert_int_equal(oci_ns_parse("network"), OCI_NS_NETWORK);
	assert_int_equal(oci_ns_parse("mount"), OCI_NS_MOUNT);
	assert_int_equal(oci_ns_parse("net"), -EINVAL);
	assert_string_equal(oci_ns_name(OCI_NS_CGROUP), "cgroup");
	assert_string_equal(oci_ns_proc_name(OCI_NS_NETWORK), "net");
	assert_string_equal(oci_ns_proc_name(OCI_NS_MOUNT), "mnt");
	assert_null(oci_ns_name(OCI_NS_COUNT));
	for (int i = 0; i < OCI_NS_COUNT; i++)
		assert_int_equal(oci_ns_parse(oci_ns_name((enum oci_ns_type)i)), i);
}

static void seccomp_and_rlimit_names(void **state)
{
	assert_int_equal(oci_seccomp_action_parse("SCMP_ACT_ERRNO"), OCI_SECCOMP_ERRNO);
	assert_int_equal(oci_seccomp_action_parse("SCMP_ACT_KILL_PROCESS"),
			 OCI_SECCOMP_KILL_PROCESS);
	assert_int_equal(oci_seccomp_action_parse("scmp_act_errno"), -EINVAL);
	assert_string_equal(oci_seccomp_action_name(OCI_SECCOMP_NOTIFY), "SCMP_ACT_NOTIFY");
	assert_int_equal(oci_seccomp_op_parse("SCMP_CMP_MASKED_EQ"), OCI_SECCOMP_OP_MASKED_EQ);
	assert_int_equal(oci_seccomp_op_parse("SCMP_CMP_XX"), -EINVAL);
	assert_string_equal(oci_seccomp_op_name(OCI_SECCOMP_OP_LE), "SCMP_CMP_LE");
	assert_int_equal(oci_rlimit_parse("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(oci_rlimit_parse("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(oci_rlimit_parse("NOFILE"), -EINVAL);
}

static void state_json(void **state)
{
	struct oci_kv kv[] = {{"a", "1"}, {"b", "2"}};
	struct oci_map ann = {kv, 2};
	struct oci_state st = {
	    .id = "c1",
	    .status = "running",
	    .pid = 4242,
	    .bundle = "/run/b",
	    .rootfs = "/run/b/rootfs",
	    .created = "2026-11-21T09:00:00.000000000Z",
	    .annotations = &ann,
	};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *j = NULL;
	size_t len;
	assert_int_equal(oci_state_to_json(&st, &j, &len, &err), 0);
	assert_int_equal(strlen(j), len);
	assert_string_equal(j, "{\n"
			       "\t\"ociVersion\": \"" OCI_VERSION "\",\n"
			       "\t\"id\": \"c1\",\n"
			       "\t\"pid\": 4242,\n"
			       "\t\"status\": \"running\",\n"
			       "\t\"bundle\": \"/run/b\",\n"
			       "\t\"rootfs\": \"/run/b/rootfs\",\n"
			       "\t\"created\": \"2026-11-21T09:00:00.000000000Z\",\n"
			       "\t\"annotations\": {\n"
			       "\t\t\"a\": \"1\",\n"
			       "\t\t\"b\": \"2\"\n"
			       "\t},\n"
			       "\t\"owner\": \"\"\n"
			       "}\n");

	struct oci_state stopped = {.id = "c\"2", .status = "stopped", .bundle = "/b"};
	_cleanup_free_ char *j2 = NULL;
	assert_int_equal(oci_state_to_json(&stopped, &j2, NULL, &err), 0);
	assert_non_null(strstr(j2, "\"id\": \"c\\\"2\""));
	assert_non_null(strstr(j2, "\"pid\": 0"));
	assert_null(strstr(j2, "annotations"));

	struct oci_state bad = {.id = "x\xff", .status = "created"};
	char *j3 = NULL;
	assert_int_equal(oci_state_to_json(&bad, &j3, NULL, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "not valid UTF-8"));
	assert_null(j3);

	struct oci_state noid = {.status = "created"};
	assert_int_equal(oci_state_to_json(&noid, &j3, NULL, &err), -EINVAL);
}

static void features_json(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *j = NULL;
	size_t len;
	assert_int_equal(oci_features_json(&j, &len, &err), 0);
	/* Fields features.md defines, and entries that must be present. */
	const char *want[] = {
	    "\"ociVersionMin\": \"1.0.0\"",
	    "\"ociVersionMax\": \"" OCI_VERSION "\"",
	    "\"createRuntime\"",
	    "\"rbind\"",
	    "\"rprivate\"",
	    "\"tmpcopyup\"",
	    "\"CAP_CHECKPOINT_RESTORE\"",
	    "\"SCMP_ACT_NOTIFY\"",
	    "\"SCMP_CMP_MASKED_EQ\"",
	    "\"SCMP_ARCH_X86_64\"",
	    "\"SECCOMP_FILTER_FLAG_TSYNC\"",
	    "\"v2\": true",
	    "\"time\"",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(j, want[i]))
			fail_msg("features JSON lacks %s", want[i]);
	/* mountOptions are sorted, as runc prints them. */
	const char *a = strstr(j, "\"acl\""), *z = strstr(j, "\"unbindable\"");
	assert_non_null(a);
	assert_non_null(z);
	assert_true(a < z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(capability_names),
	    cmocka_unit_test(namespace_names),
	    cmocka_unit_test(seccomp_and_rlimit_names),
	    cmocka_unit_test(state_json),
	    cmocka_unit_test(features_json),
	};
	return cmocka_run_group_tests_name("oci/names", tests, NULL, NULL);
}
