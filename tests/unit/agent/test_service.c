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

/* UpdateNetwork: one decode with a mutation applied; returns the error. */
static char *network_decode(void (*mutate)(Hull__Agent__V1__UpdateNetworkRequest *))
{
	static uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1}, v4[4] = {10, 0, 0, 2}, gw[4] = {10, 0, 0, 1};
	Hull__Agent__V1__IPAddress addr = HULL__AGENT__V1__IPADDRESS__INIT, *addrs[] = {&addr};
	addr.address = (ProtobufCBinaryData){4, v4};
	addr.prefix_len = 24;
	Hull__Agent__V1__Interface f = HULL__AGENT__V1__INTERFACE__INIT, *fs[] = {&f};
	f.name = "eth0";
	f.mac = (ProtobufCBinaryData){6, mac};
	f.mtu = 1500;
	f.addresses = addrs;
	f.n_addresses = 1;
	Hull__Agent__V1__Route rt = HULL__AGENT__V1__ROUTE__INIT, *rts[] = {&rt};
	rt.family = 4;
	rt.gateway = (ProtobufCBinaryData){4, gw};
	rt.device = "eth0";
	static uint8_t nmac[6] = {0x02, 0, 0, 0, 0, 0xc8}, v6[16] = {0xfd, [15] = 0xc8};
	Hull__Agent__V1__Neighbour n4 = HULL__AGENT__V1__NEIGHBOUR__INIT;
	Hull__Agent__V1__Neighbour n6 = HULL__AGENT__V1__NEIGHBOUR__INIT, *ns[] = {&n4, &n6};
	n4.address = (ProtobufCBinaryData){4, gw};
	n4.mac = (ProtobufCBinaryData){6, nmac};
	n4.device = "eth0";
	n6.address = (ProtobufCBinaryData){16, v6};
	n6.mac = (ProtobufCBinaryData){6, nmac};
	n6.device = "eth0";
	Hull__Agent__V1__UpdateNetworkRequest req = HULL__AGENT__V1__UPDATE_NETWORK_REQUEST__INIT;
	req.interfaces = fs;
	req.n_interfaces = 1;
	req.routes = rts;
	req.n_routes = 1;
	req.neighbours = ns;
	req.n_neighbours = 2;
	if (mutate)
		mutate(&req);
	size_t len;
	_cleanup_free_ uint8_t *buf = pack(&req.base, &len);
	ProtobufCMessage *m = NULL;
	struct err *err = NULL;
	if (agent_service_decode("UpdateNetwork", buf, len, &m, &err) == 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	char *msg = strdup(err_msg(err));
	err_free(&err);
	return msg;
}

static void net_short_mac(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->interfaces[0]->mac.len = 5;
}
static void net_bad_name(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->interfaces[0]->name = "../eth0";
}
static void net_long_prefix(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->interfaces[0]->addresses[0]->prefix_len = 33;
}
static void net_odd_address(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->interfaces[0]->addresses[0]->address.len = 3;
}
static void net_unknown_device(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->routes[0]->device = "eth1";
}
static void net_family_mismatch(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->routes[0]->family = 6; /* with a 4-byte gateway */
}
static void net_prefix_without_dst(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->routes[0]->destination_len = 8;
}
static void net_tiny_mtu(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->interfaces[0]->mtu = 67;
}
static void net_neigh_short_mac(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->neighbours[1]->mac.len = 0;
}
static void net_neigh_odd_address(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->neighbours[0]->address.len = 3;
}
static void net_neigh_unknown_device(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	r->neighbours[1]->device = "";
}
static void net_neigh_too_many(Hull__Agent__V1__UpdateNetworkRequest *r)
{
	static Hull__Agent__V1__Neighbour *many[257];
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = r->neighbours[0];
	r->neighbours = many;
	r->n_neighbours = ARRAY_SIZE(many);
}

static void network_request_is_checked(void **state)
{
	char *msg = network_decode(NULL);
	assert_null(msg);
	static const struct {
		void (*mutate)(Hull__Agent__V1__UpdateNetworkRequest *);
		const char *want;
	} cases[] = {
	    {net_short_mac, "interfaces[0]: mac must be 6 bytes"},
	    {net_bad_name, "interfaces[0]: bad name"},
	    {net_long_prefix, "addresses[0]: prefix length 33"},
	    {net_odd_address, "addresses[0]: 4 or 16 bytes"},
	    {net_unknown_device, "routes[0]: device 'eth1' is not one of the interfaces"},
	    {net_family_mismatch, "routes[0]: gateway must be 16 bytes"},
	    {net_prefix_without_dst, "routes[0]: bad prefix length 8"},
	    {net_tiny_mtu, "interfaces[0]: mtu 67 out of 68..65535"},
	    {net_neigh_short_mac, "neighbours[1]: mac must be 6 bytes"},
	    {net_neigh_odd_address, "neighbours[0]: address must be 4 or 16 bytes"},
	    {net_neigh_unknown_device, "neighbours[1]: device '' is not one of the interfaces"},
	    {net_neigh_too_many, "more than 256 neighbours"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		msg = network_decode(cases[i].mutate);
		if (!msg || !strstr(msg, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, msg ? msg : "(ok)",
				 cases[i].want);
		free(msg);
	}
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
	    cmocka_unit_test(network_request_is_checked),
	    cmocka_unit_test(stdio_header_parses),
	    cmocka_unit_test(stdio_header_refuses_junk),
	    cmocka_unit_test(docker_default_seccomp_profile_compiles),
	    cmocka_unit_test(seccomp_notify_is_refused),
	    cmocka_unit_test(seccomp_unknown_syscalls_are_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
