// SPDX-License-Identifier: Apache-2.0
/*
 * The four readers on top of lib_json_parse, fed the same bad documents:
 * OCI config.json (oci_spec_parse), runtime's files (rt_json_parse),
 * hull-vmm's configuration (vmm_config_parse) and its control socket
 * (vmm_control_req_parse). Each keeps its own wording and its own limits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../runtime/json.h"
#include "../../../vmm/control_req.h"
#include "lib/err.h"
#include "oci/spec.h"
#include "vmm/vmm.h"

struct wording {
	const char *json;
	size_t len;
	const char *oci, *runtime, *vmm_config, *control;
};

static void check(const char *who, const char *json, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("%s, input %.40s:\n  got  \"%s\"\n  want \"%s\"", who, json, got, want);
}

static void check_all(const struct wording *w)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *spec = NULL;
	assert_true(oci_spec_parse(w->json, w->len, &spec, &err) < 0);
	check("oci", w->json, err_msg(err), w->oci);

	yajl_val v = NULL;
	assert_true(rt_json_parse(w->json, w->len, 1u << 20, &v, &err) < 0);
	check("runtime", w->json, err_msg(err), w->runtime);

	struct vmm_config cfg = {.size = sizeof(cfg)};
	void *owned = NULL;
	char buf[256];
	assert_true(vmm_config_parse(w->json, w->len, &cfg, &owned, buf, sizeof(buf)) < 0);
	assert_null(owned);
	check("vmm config", w->json, buf, w->vmm_config);

	struct vmm_control_req req;
	assert_true(vmm_control_req_parse(w->json, w->len, &req, buf, sizeof(buf)) < 0);
	check("control", w->json, buf, w->control);
}

#define DOC(s) s, sizeof(s) - 1

static void same_input_own_wording(void **state)
{
	static const struct wording cases[] = {
	    {DOC("[1]"), "expected a JSON object at the top level", "expected a JSON object",
	     "the configuration must be a JSON object", "expected {\"cmd\": NAME}"},
	    {DOC("{\"a\":"), "invalid JSON: parse error: premature EOF at byte 5",
	     "invalid JSON: parse error: premature EOF at byte 5",
	     "not valid JSON: parse error: premature EOF at byte 5",
	     "invalid JSON: parse error: premature EOF at byte 5"},
	    {DOC("{\"a\":\"\0\"}"), "NUL byte at offset 6", "contains a NUL byte",
	     "NUL byte inside the JSON", "NUL byte at offset 6"},
	    /* New for runtime and hull-vmm: comments and \u0000 (the lib's words). */
	    {DOC("{\"a\":1 /* x */}"), "invalid JSON: comment at byte 7",
	     "invalid JSON: comment at byte 7", "invalid JSON: comment at byte 7",
	     "invalid JSON: comment at byte 7"},
	    {DOC("{\"a\":\"\\u0000\"}"), "NUL character (\\u0000) in a string at byte 6",
	     "NUL character (\\u0000) in a string at byte 6",
	     "NUL character (\\u0000) in a string at byte 6",
	     "NUL character (\\u0000) in a string at byte 6"},
	    {DOC(""), "empty document, expected a JSON object",
	     "empty document, expected a JSON object", "empty document, expected a JSON object",
	     "empty document, expected a JSON object"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_all(&cases[i]);
}

/* Depth: 64 for OCI, 16 for runtime's files, 8 for hull-vmm's two. */
static void each_own_depth(void **state)
{
	char doc[256];
	size_t o = (size_t)sprintf(doc, "{\"a\":");
	memset(doc + o, '[', 70);
	memset(doc + o + 70, ']', 70);
	o += 140;
	doc[o++] = '}';
	doc[o] = '\0';
	struct wording w = {doc,
			    o,
			    "JSON nested deeper than 64 levels at byte 68",
			    "nested deeper than 16 levels",
			    "JSON nested deeper than 8 levels at byte 12",
			    "JSON nested deeper than 8 levels at byte 12"};
	check_all(&w);
}

static void control_requests(void **state)
{
	struct vmm_control_req req;
	char why[256];
	const char *ok = "{\"cmd\": \"balloon\", \"target_mib\": 64}";
	assert_int_equal(vmm_control_req_parse(ok, strlen(ok), &req, why, sizeof(why)), 0);
	assert_int_equal(req.cmd, VMM_CONTROL_BALLOON);
	assert_true(req.has_target);
	assert_int_equal(req.target_mib, 64);
	/* A bad target is not a bad request: the VM answers for it. */
	const char *neg = "{\"cmd\": \"balloon\", \"target_mib\": -1}";
	assert_int_equal(vmm_control_req_parse(neg, strlen(neg), &req, why, sizeof(why)), 0);
	assert_false(req.has_target);
	const char *st = "{\"target_mib\": 5, \"cmd\": \"status\"}\r";
	assert_int_equal(vmm_control_req_parse(st, strlen(st), &req, why, sizeof(why)), 0);
	assert_int_equal(req.cmd, VMM_CONTROL_STATUS);
	assert_false(req.has_target);

	const char *bad[][2] = {
	    {"{\"cmd\": \"reboot\"}", "unknown command"},
	    {"{\"cmd\": 1}", "expected {\"cmd\": NAME}"},
	    {"{}", "expected {\"cmd\": NAME}"},
	    {"not json", "invalid JSON: lexical error: invalid string in json text at byte 0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    vmm_control_req_parse(bad[i][0], strlen(bad[i][0]), &req, why, sizeof(why)),
		    -EINVAL);
		check("control", bad[i][0], why, bad[i][1]);
	}
	/* What used to pass: yajl read up to the NUL and ran "stop". */
	assert_int_equal(vmm_control_req_parse("{\"cmd\":\"stop\"}\0x", 16, &req, why, sizeof(why)),
			 -EINVAL);
	check("control", "stop NUL", why, "NUL byte at offset 14");
}

static void control_error_replies(void **state)
{
	char out[64];
	vmm_control_error_format(out, sizeof(out), "expected {\"cmd\": NAME}");
	assert_string_equal(out, "{\"ok\": false, \"error\": \"expected {\\\"cmd\\\": NAME}\"}");
	/* Cut to fit, never in the middle of an escape, always closed. */
	vmm_control_error_format(out, 32, "ab\"cd\"ef");
	assert_string_equal(out, "{\"ok\": false, \"error\": \"ab\\\"\"}");
	vmm_control_error_format(out, 4, "x");
	assert_string_equal(out, "");
	vmm_control_error_format(out, sizeof(out), "bad\x01\xff");
	assert_string_equal(out, "{\"ok\": false, \"error\": \"bad??\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(same_input_own_wording),
	    cmocka_unit_test(each_own_depth),
	    cmocka_unit_test(control_requests),
	    cmocka_unit_test(control_error_replies),
	};
	return cmocka_run_group_tests_name("lib/json callers", tests, NULL, NULL);
}
