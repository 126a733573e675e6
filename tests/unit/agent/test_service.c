// SPDX-License-Identifier: Apache-2.0
/* Request decoding, ids, the stdio header and seccomp profile translation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../guest-agent/agent.h"
#include "../../../guest-agent/service.h"
#include "../../../guest-agent/spawn.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/proto/agent.pb-c.h"
#include "oci/spec.h"

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len + 1);
	protobuf_c_message_pack(m, buf);
	return buf;
}

static void create_request_decodes(void **state)
{
	Hull__Agent__V1__CreateContainerRequest req =
	    HULL__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.id = (char *)"c1";
	req.spec_json.data = (uint8_t *)"{}";
	req.spec_json.len = 2;
	size_t len;
	_cleanup_free_ uint8_t *buf = pack(&req.base, &len);
	ProtobufCMessage *m = NULL;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_service_decode("CreateContainer", buf, len, &m, &err), 0);
	assert_string_equal(((Hull__Agent__V1__CreateContainerRequest *)m)->id, "c1");
	protobuf_c_message_free_unpacked(m, NULL);
}

static void bad_ids_are_refused(void **state)
{
	const char *bad[] = {"", "..", "a/b", "x y", "ünï"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Hull__Agent__V1__StartContainerRequest req =
		    HULL__AGENT__V1__START_CONTAINER_REQUEST__INIT;
		req.id = (char *)bad[i];
		size_t len;
		_cleanup_free_ uint8_t *buf = pack(&req.base, &len);
		ProtobufCMessage *m = NULL;
		_cleanup_err_ struct err *err = NULL;
		assert_int_equal(agent_service_decode("StartContainer", buf, len, &m, &err),
				 -EINVAL);
		assert_non_null(strstr(err_msg(err), "container id"));
	}
	Hull__Agent__V1__WaitProcessRequest w = HULL__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
	w.id = (char *)"ok";
	w.exec_id = (char *)"../x";
	size_t len;
	_cleanup_free_ uint8_t *buf = pack(&w.base, &len);
	ProtobufCMessage *m = NULL;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_service_decode("WaitProcess", buf, len, &m, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "exec id"));
}

static void garbage_and_unknown_methods_fail(void **state)
{
	const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
	ProtobufCMessage *m = NULL;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_service_decode("StartContainer", junk, sizeof(junk), &m, &err),
			 -EINVAL);
	assert_non_null(strstr(err_msg(err), "does not decode"));
	assert_int_equal(agent_service_decode("Nope", junk, 0, &m, &err), -EOPNOTSUPP);
}

static void create_needs_spec_and_absolute_mounts(void **state)
{
	Hull__Agent__V1__CreateContainerRequest req =
	    HULL__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.id = (char *)"c1";
	size_t len;
	_cleanup_free_ uint8_t *buf = pack(&req.base, &len);
	ProtobufCMessage *m = NULL;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_service_decode("CreateContainer", buf, len, &m, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "spec_json is empty"));

	Hull__Agent__V1__Mount mnt = HULL__AGENT__V1__MOUNT__INIT;
	Hull__Agent__V1__Mount *mp = &mnt;
	mnt.target = (char *)"relative";
	req.spec_json.data = (uint8_t *)"{}";
	req.spec_json.len = 2;
	req.mounts = &mp;
	req.n_mounts = 1;
	_cleanup_free_ uint8_t *buf2 = pack(&req.base, &len);
	assert_int_equal(agent_service_decode("CreateContainer", buf2, len, &m, &err), -EINVAL);
	assert_non_null(strstr(err_msg(err), "must be absolute"));
}

static void stdio_header_parses(void **state)
{
	char line[] = "c1 - stdout";
	char *id, *exec_id;
	enum agent_stream s;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_stdio_header_parse(line, &id, &exec_id, &s, &err), 0);
	assert_string_equal(id, "c1");
	assert_string_equal(exec_id, "");
	assert_int_equal(s, STREAM_STDOUT);
	char line2[] = "c1 e1 tty";
	assert_int_equal(agent_stdio_header_parse(line2, &id, &exec_id, &s, &err), 0);
	assert_string_equal(exec_id, "e1");
	assert_int_equal(s, STREAM_TTY);
}

static void stdio_header_refuses_junk(void **state)
{
	const char *bad[] = {
	    "", "c1", "c1 -", "c1 - stdout extra", "c1 - stdfoo", "../x - stdin", "c1 a/b stdin"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "%s", bad[i]);
		char *id, *exec_id;
		enum agent_stream s;
		_cleanup_err_ struct err *err = NULL;
		assert_true(agent_stdio_header_parse(line, &id, &exec_id, &s, &err) < 0);
	}
}

static void docker_default_seccomp_profile_compiles(void **state)
{
	_cleanup_free_ char *prof = NULL;
	size_t plen = 0;
	if (fd_read_file("/usr/share/containers/seccomp.json", &prof, &plen, 1 << 20) < 0)
		skip();
	/* Wrap the profile into a minimal spec so oci/ parses it as it would. */
	_cleanup_free_ char *json = NULL;
	assert_true(asprintf(&json,
			     "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},"
			     "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
			     "\"linux\":{\"seccomp\":%s}}",
			     prof) > 0);
	struct oci_spec *spec = NULL;
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(oci_spec_parse(json, strlen(json), &spec, &err), 0);
	assert_non_null(spec->linux_->seccomp);
	assert_true(spec->linux_->seccomp->syscalls_len > 10);
	assert_int_equal(agent_seccomp_check(spec->linux_->seccomp, &err), 0);
	oci_spec_free(spec);
}

static void seccomp_notify_is_refused(void **state)
{
	struct oci_seccomp sc = {.default_action = OCI_SECCOMP_NOTIFY};
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_seccomp_check(&sc, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err_msg(err), "not supported"));
}

static void seccomp_unknown_syscalls_are_skipped(void **state)
{
	char *names[] = {(char *)"no_such_syscall_xyz", (char *)"getpid", NULL};
	struct oci_seccomp_syscall rule = {.names = {names, 2}, .action = OCI_SECCOMP_ERRNO};
	struct oci_seccomp sc = {
	    .default_action = OCI_SECCOMP_ALLOW, .syscalls = &rule, .syscalls_len = 1};
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_seccomp_check(&sc, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_request_decodes),
	    cmocka_unit_test(bad_ids_are_refused),
	    cmocka_unit_test(garbage_and_unknown_methods_fail),
	    cmocka_unit_test(create_needs_spec_and_absolute_mounts),
	    cmocka_unit_test(stdio_header_parses),
	    cmocka_unit_test(stdio_header_refuses_junk),
	    cmocka_unit_test(docker_default_seccomp_profile_compiles),
	    cmocka_unit_test(seccomp_notify_is_refused),
	    cmocka_unit_test(seccomp_unknown_syscalls_are_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
