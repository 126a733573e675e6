// SPDX-License-Identifier: Apache-2.0
/* oci: every bad input gets an error that names the offending field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"

/* A valid base document with one hole (%s) where each case puts its fragment. */
#define BASE                                                                                       \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"                                \
	"\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]}%s}"

struct parse_case {
	const char *fragment; /* appended to BASE's object */
	const char *msg;      /* the whole message; NULL in validate_cases: must be accepted */
};

static const struct parse_case parse_cases[] = {
    {",\"process\":{\"cwd\":\"/\",\"args\":[\"a\",\"b\",7]}",
     "process.args[2]: expected a string, got 7"},
    {",\"process\":{\"args\":[\"a\"]}", "process.cwd: missing required field"},
    {",\"process\":{\"cwd\":1}", "process.cwd: expected a string, got 1"},
    {",\"process\":{\"cwd\":\"/\",\"terminal\":\"yes\"}",
     "process.terminal: expected true or false, got \"yes\""},
    {",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":-1,\"gid\":0}}",
     "process.user.uid: -1 is out of range (0..4294967295)"},
    {",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":4294967296,\"gid\":0}}",
     "process.user.uid: 4294967296 is out of range (0..4294967295)"},
    {",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":0}}",
     "process.user.gid: missing required field"},
    {",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":1.5,\"gid\":0}}",
     "process.user.uid: expected an integer, got 1.5"},
    {",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":1e3,\"gid\":0}}",
     "process.user.uid: expected an integer, got 1e3"},
    {",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[1,\"x\"]}}",
     "process.user.additionalGids[1]: expected an integer, got \"x\""},
    {",\"process\":{\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\","
     "\"CAP_SETUID\",\"CAP_FOO\"]}}",
     "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\""},
    {",\"process\":{\"cwd\":\"/\",\"capabilities\":{\"ambient\":\"CAP_KILL\"}}",
     "process.capabilities.ambient: expected an array, got \"CAP_KILL\""},
    {",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"hard\":1,\"soft\":1}]}",
     "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":1}]}",
     "process.rlimits[0].soft: missing required field"},
    {",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":"
     "18446744073709551616,\"soft\":1}]}",
     "process.rlimits[0].hard: 18446744073709551616 is out of range (0..18446744073709551615)"},
    {",\"process\":{\"cwd\":\"/\",\"oomScoreAdj\":99999999999}",
     "process.oomScoreAdj: 99999999999 is out of range (-2147483648..2147483647)"},
    {",\"process\":{\"cwd\":\"/\",\"consoleSize\":{\"height\":1}}",
     "process.consoleSize.width: missing required field"},
    {",\"process\":{\"cwd\":\"/\",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_X\"}}",
     "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_X\""},
    {",\"process\":{\"cwd\":\"/\",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\",\"priority\":8}}",
     "process.ioPriority.priority: 8 is out of range (0..7)"},
    {",\"root\":{}", "root.path: missing required field"},
    {",\"root\":[]", "root: expected an object, got an array"},
    {",\"hostname\":false", "hostname: expected a string, got false"},
    {",\"mounts\":[{\"type\":\"tmpfs\"}]", "mounts[0].destination: missing required field"},
    {",\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"/b\",\"options\":[\"ro\",{}]}]",
     "mounts[1].options[1]: expected a string, got an object"},
    {",\"mounts\":[{\"destination\":\"/a\",\"uidMappings\":[{\"containerID\":0,\"hostID\":0}]}]",
     "mounts[0].uidMappings[0].size: missing required field"},
    {",\"mounts\":{}", "mounts: expected an array, got an object"},
    {",\"hooks\":{\"poststop\":[{\"args\":[]}]}", "hooks.poststop[0].path: missing required field"},
    {",\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"timeout\":0}]}",
     "hooks.prestart[0].timeout: 0 is out of range (1..2147483647)"},
    {",\"annotations\":{\"a\":\"b\",\"c\":1}", "annotations.c: expected a string, got 1"},
    /* keys from the document are escaped in messages */
    {",\"annotations\":{\"a\\nb\":1}", "annotations.a\\x0ab: expected a string, got 1"},
    {",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"bogus\"}]}",
     "linux.namespaces[1].type: unknown namespace type \"bogus\""},
    {",\"linux\":{\"namespaces\":[{}]}", "linux.namespaces[0].type: missing required field"},
    {",\"linux\":{\"namespaces\":[\"pid\"]}",
     "linux.namespaces[0]: expected an object, got \"pid\""},
    {",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"abc\"}}}",
     "linux.resources.memory.limit: expected an integer, got \"abc\""},
    {",\"linux\":{\"resources\":{\"memory\":{\"limit\":-2}}}",
     "linux.resources.memory.limit: -2 is out of range (-1..9223372036854775807)"},
    {",\"linux\":{\"resources\":{\"memory\":{\"limit\":9223372036854775808}}}",
     "linux.resources.memory.limit: 9223372036854775808 is out of range "
     "(-1..9223372036854775807)"},
    {",\"linux\":{\"resources\":{\"cpu\":{\"shares\":-1}}}",
     "linux.resources.cpu.shares: -1 is out of range (0..18446744073709551615)"},
    {",\"linux\":{\"resources\":{\"pids\":{}}}",
     "linux.resources.pids.limit: missing required field"},
    {",\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}}",
     "linux.resources.devices[0].type: expected \"a\", \"c\" or \"b\", got \"x\""},
    {",\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}}",
     "linux.resources.devices[0].access: expected letters of \"rwm\", got \"rwx\""},
    {",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\"}]}}",
     "linux.resources.devices[0].allow: missing required field"},
    {",\"linux\":{\"resources\":{\"blockIO\":{\"weight\":70000}}}",
     "linux.resources.blockIO.weight: 70000 is out of range (0..65535)"},
    {",\"linux\":{\"resources\":{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,"
     "\"minor\":0}]}}}",
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate: missing required field"},
    {",\"linux\":{\"resources\":{\"hugepageLimits\":[{\"limit\":1}]}}",
     "linux.resources.hugepageLimits[0].pageSize: missing required field"},
    {",\"linux\":{\"resources\":{\"rdma\":{\"mlx\":{\"hcaHandles\":\"x\"}}}}",
     "linux.resources.rdma.mlx.hcaHandles: expected an integer, got \"x\""},
    {",\"linux\":{\"resources\":{\"unified\":{\"memory.max\":5}}}",
     "linux.resources.unified.memory.max: expected a string, got 5"},
    {",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\"}]}",
     "linux.devices[0].type: expected \"c\", \"b\", \"u\" or \"p\", got \"q\""},
    {",\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":1}}",
     "linux.sysctl.net.ipv4.ip_forward: expected a string, got 1"},
    {",\"linux\":{\"seccomp\":{}}", "linux.seccomp.defaultAction: missing required field"},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}",
     "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\""},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":["
     "\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_Z80\"]}}",
     "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"X\"]}}",
     "linux.seccomp.flags[0]: unknown seccomp flag \"X\""},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":"
     "\"SCMP_ACT_ERRNO\"}]}}",
     "linux.seccomp.syscalls[0].names: missing required field"},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
     "[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":"
     "\"SCMP_CMP_EQ\"}]}]}}",
     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0..5)"},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
     "[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":"
     "\"SCMP_CMP_XX\"}]}]}}",
     "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_XX\""},
    {",\"linux\":{\"rootfsPropagation\":\"sideways\"}",
     "linux.rootfsPropagation: expected one of private, shared, slave, unbindable (with or "
     "without an r prefix), got \"sideways\""},
    {",\"linux\":{\"personality\":{\"domain\":\"BSD\"}}",
     "linux.personality.domain: expected \"LINUX\" or \"LINUX32\", got \"BSD\""},
    {",\"linux\":{\"intelRdt\":true}", "linux.intelRdt: expected an object, got true"},
    {",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":-1}]}",
     "linux.uidMappings[0].size: -1 is out of range (0..4294967295)"},
    {",\"linux\":{\"maskedPaths\":[null]}", "linux.maskedPaths[0]: expected a string, got null"},
};

static void parse_errors_name_the_field(void **state)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		char json[2048];
		snprintf(json, sizeof(json), BASE, parse_cases[i].fragment);
		_cleanup_err_ struct err *err = NULL;
		struct oci_spec *s = NULL;
		int r = oci_spec_parse(json, strlen(json), &s, &err);
		if (r != -EINVAL || strcmp(err_msg(err), parse_cases[i].msg) != 0)
			fail_msg("case %zu: %s\n  got r=%d \"%s\"\n  want \"%s\"", i, json, r,
				 err_msg(err), parse_cases[i].msg);
		assert_null(s);
	}
}

static const struct parse_case validate_cases[] = {
    {",\"ociVersion\":\"2.0.0\"", "ociVersion: unsupported version \"2.0.0\" (want 1.x)"},
    {",\"ociVersion\":\"one\"", "ociVersion: \"one\" is not a SemVer version"},
    {",\"root\":{\"path\":\"\"}", "root.path: must not be empty"},
    {",\"process\":{\"cwd\":\"/\"}", "process.args: must contain at least one entry"},
    {",\"process\":{\"cwd\":\"rel\",\"args\":[\"sh\"]}",
     "process.cwd: \"rel\" is not an absolute path"},
    {",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":[\"A=1\",\"NOEQUALS\"]}",
     "process.env[1]: \"NOEQUALS\" is not of the form KEY=value"},
    {",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],\"oomScoreAdj\":1001}",
     "process.oomScoreAdj: 1001 is out of range (-1000..1000)"},
    {",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
     "\"hard\":1,\"soft\":1},{\"type\":\"RLIMIT_NOFILE\",\"hard\":2,\"soft\":2}]}",
     "process.rlimits[1]: duplicate rlimit RLIMIT_NOFILE"},
    {",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
     "\"hard\":1,\"soft\":2}]}",
     "process.rlimits[0]: soft limit 2 exceeds hard limit 1"},
    {",\"mounts\":[{\"destination\":\"/ok\"},{\"destination\":\"tmp\"}]",
     "mounts[1].destination: \"tmp\" is not an absolute path"},
    {",\"hooks\":{\"poststart\":[{\"path\":\"hook\"}]}",
     "hooks.poststart[0].path: \"hook\" is not an absolute path"},
    {",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"pid\"}]}",
     "linux.namespaces[2]: duplicate namespace type \"pid\""},
    {",\"linux\":{\"namespaces\":[{\"type\":\"net\"}]}",
     "linux.namespaces[0].type: unknown namespace type \"net\""},
    {",\"hostname\":\"h\"", "hostname: needs a uts namespace in linux.namespaces"},
    {",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
     "linux.uidMappings: id mappings need a user namespace in linux.namespaces"},
    {",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}",
     "linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings"},
    {",\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}",
     "linux.sysctl.net.ipv4.ip_forward: needs a network namespace in linux.namespaces"},
    {",\"linux\":{\"sysctl\":{\"vm.swappiness\":\"1\"}}",
     "linux.sysctl.vm.swappiness: not a namespaced sysctl, refused"},
    {",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1}]}",
     "linux.devices[0]: type \"c\" needs major and minor"},
    {",\"linux\":{\"resources\":{\"memory\":{\"swappiness\":101}}}",
     "linux.resources.memory.swappiness: 101 is out of range (0..100)"},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}}",
     "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
     "[\"x\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}}",
     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"},
    {",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
     "[],\"action\":\"SCMP_ACT_LOG\"}]}}",
     "linux.seccomp.syscalls[0].names: must not be empty"},
    {",\"linux\":{\"cgroupsPath\":\"/hull/../../escape\"}",
     "linux.cgroupsPath: \"/hull/../../escape\" must not contain \"..\""},
    {",\"linux\":{\"cgroupsPath\":\"..\"}", "linux.cgroupsPath: \"..\" must not contain \"..\""},
    {",\"linux\":{\"cgroupsPath\":\"/a/..b/c..\"}", NULL},
    {",\"linux\":{\"maskedPaths\":[\"/proc/kcore\",\"proc/keys\"]}",
     "linux.maskedPaths[1]: \"proc/keys\" is not an absolute path"},
};

static void validate_errors_name_the_field(void **state)
{
	for (size_t i = 0; i < sizeof(validate_cases) / sizeof(validate_cases[0]); i++) {
		char json[2048];
		snprintf(json, sizeof(json), BASE, validate_cases[i].fragment);
		_cleanup_err_ struct err *err = NULL;
		struct oci_spec *s = NULL;
		int r = oci_spec_parse(json, strlen(json), &s, &err);
		if (r == 0)
			r = oci_spec_validate(s, &err);
		oci_spec_free(s);
		if (!validate_cases[i].msg) {
			if (r != 0)
				fail_msg("case %zu: %s\n  got r=%d \"%s\", want success", i, json,
					 r, err_msg(err));
			continue;
		}
		if (r != -EINVAL || strcmp(err_msg(err), validate_cases[i].msg) != 0)
			fail_msg("case %zu: %s\n  got r=%d \"%s\"\n  want \"%s\"", i, json, r,
				 err_msg(err), validate_cases[i].msg);
	}
}

static void expect_doc_error(const char *json, size_t len, int code, const char *prefix)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;
	int r = oci_spec_parse(json, len, &s, &err);
	if (r != code || strncmp(err_msg(err), prefix, strlen(prefix)) != 0)
		fail_msg("got r=%d \"%s\", want %d \"%s...\"", r, err_msg(err), code, prefix);
	assert_null(s);
}

static void document_errors(void **state)
{
	expect_doc_error("", 0, -EINVAL, "empty document");
	expect_doc_error("[]", 2, -EINVAL, "expected a JSON object at the top level");
	expect_doc_error("{\"a\":", 5, -EINVAL, "invalid JSON: ");
	expect_doc_error("{\"a\":1}x", 8, -EINVAL, "invalid JSON: ");
	expect_doc_error("{\"ociVersion\":\"1\0\"}", 19, -EINVAL, "NUL byte at offset 16");
	expect_doc_error("{\"ociVersion\":\"\xff\"}", 18, -EINVAL, "invalid JSON: ");
	expect_doc_error("{}", 2, -EINVAL, "ociVersion: missing required field");
	expect_doc_error("{\"a\":\"x\\u0000y\"}", 16, -EINVAL,
			 "NUL character (\\u0000) in a string at byte 7");
	expect_doc_error("{\"a\\u0000\":1}", 13, -EINVAL,
			 "NUL character (\\u0000) in a string at byte 3");
	/* yajl would accept comments; a quote in one must not hide deep nesting. */
	expect_doc_error("{\"a\": /* \" */ 1}", 16, -EINVAL, "invalid JSON: comment at byte 6");
	expect_doc_error("{\"a\":1} // x", 12, -EINVAL, "invalid JSON: comment at byte 8");
	expect_doc_error("{\"ociVersion\":null}", 19, -EINVAL,
			 "ociVersion: missing required field");
}

static void depth_and_size_limits(void **state)
{
	/* 100,000 nested arrays: refused before yajl builds (and recursively frees) a tree. */
	size_t n = 100000;
	char *deep = malloc(2 * n + 32);
	assert_non_null(deep);
	size_t o = (size_t)sprintf(deep, "{\"x\":");
	memset(deep + o, '[', n);
	memset(deep + o + n, ']', n);
	o += 2 * n;
	deep[o++] = '}';
	expect_doc_error(deep, o, -EINVAL, "JSON nested deeper than 64 levels");
	free(deep);

	/* Brackets inside strings do not count. */
	char str[300];
	o = (size_t)sprintf(str, "{\"ociVersion\":\"1.0.0\",\"hostname\":\"");
	memset(str + o, '[', 200);
	o += 200;
	o += (size_t)sprintf(str + o, "\"}");
	struct oci_spec *s = NULL;
	assert_int_equal(oci_spec_parse(str, o, &s, NULL), 0);
	assert_int_equal(strlen(s->hostname), 200);
	oci_spec_free(s);

	/* Too many values: refused before yajl spends ~100 bytes on each. */
	n = OCI_MAX_VALUES + 1;
	char *wide = malloc(2 * n + 4096);
	assert_non_null(wide);
	o = (size_t)sprintf(wide, "{\"x\":[");
	for (size_t i = 0; i < n; i++) {
		wide[o++] = '1';
		wide[o++] = ',';
	}
	wide[o - 1] = ']';
	wide[o++] = '}';
	expect_doc_error(wide, o, -E2BIG, "JSON has more than 250000 values");
	/* ... while just under the limit parses. Spread over 500 small arrays:
	 * yajl grows arrays one realloc per element, which sanitizers make
	 * quadratic for one huge array. */
	o = (size_t)sprintf(wide, "{\"ociVersion\":\"1.0.0\"");
	for (size_t a = 0; a < 500; a++) {
		o += (size_t)sprintf(wide + o, ",\"k%zu\":[", a);
		for (size_t i = 0; i < 495; i++) {
			wide[o++] = '1';
			wide[o++] = ',';
		}
		wide[o - 1] = ']';
	}
	wide[o++] = '}';
	s = NULL;
	assert_int_equal(oci_spec_parse(wide, o, &s, NULL), 0);
	oci_spec_free(s);
	free(wide);

	/* Size is checked first: a huge length is refused without reading it. */
	expect_doc_error("{}", (size_t)OCI_MAX_SIZE + 1, -EFBIG, "JSON is 16777217 bytes");
}

static void process_json(void **state)
{
	static const char ok[] =
	    "{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"ps\","
	    "\"aux\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/tmp\",\"capabilities\":"
	    "{\"bounding\":[\"CAP_SYS_ADMIN\"]}}";
	_cleanup_err_ struct err *err = NULL;
	struct oci_process *p = NULL;
	assert_int_equal(oci_process_parse(ok, sizeof(ok) - 1, &p, &err), 0);
	assert_true(p->terminal);
	assert_string_equal(p->args.items[1], "aux");
	assert_int_equal(p->capabilities->bounding.nums[0], 21);
	assert_int_equal(oci_process_validate(p, &err), 0);
	_cleanup_free_ char *j = NULL;
	size_t len;
	assert_int_equal(oci_process_to_json(p, &j, &len, &err), 0);
	struct oci_process *q = NULL;
	assert_int_equal(oci_process_parse(j, len, &q, &err), 0);
	assert_string_equal(q->cwd, "/tmp");
	assert_int_equal(q->capabilities->bounding.mask, p->capabilities->bounding.mask);
	oci_process_free(p);
	oci_process_free(q);

	static const char bad[] = "{\"cwd\":\"/\",\"args\":[\"a\"],\"env\":[1]}";
	p = NULL;
	assert_int_equal(oci_process_parse(bad, sizeof(bad) - 1, &p, &err), -EINVAL);
	assert_string_equal(err_msg(err), "env[0]: expected a string, got 1");
	assert_null(p);

	static const char rel[] = "{\"cwd\":\"x\",\"args\":[\"a\"]}";
	assert_int_equal(oci_process_parse(rel, sizeof(rel) - 1, &p, &err), 0);
	assert_int_equal(oci_process_validate(p, &err), -EINVAL);
	assert_string_equal(err_msg(err), "cwd: \"x\" is not an absolute path");
	oci_process_free(p);

	assert_int_equal(oci_process_parse("[1]", 3, &p, &err), -EINVAL);
	assert_string_equal(err_msg(err), "process: expected a JSON object at the top level");
}

/* `runc update -r resources.json`: a LinuxResources object on its own. */
static void resources_json(void **state)
{
	static const char ok[] = "{\"memory\":{\"limit\":1073741824,\"swap\":-1},\"cpu\":{"
				 "\"quota\":20000,\"period\":100000},\"pids\":{\"limit\":64},"
				 "\"unified\":{\"io.max\":\"8:0 rbps=1024\"}}";
	_cleanup_err_ struct err *err = NULL;
	struct oci_resources *r = NULL, *q = NULL;
	assert_int_equal(oci_resources_parse(ok, sizeof(ok) - 1, &r, &err), 0);
	assert_int_equal(r->memory->limit, 1073741824);
	assert_int_equal(r->memory->swap, -1);
	assert_int_equal(r->cpu->quota, 20000);
	assert_int_equal(r->pids->limit, 64);
	assert_int_equal(oci_resources_validate(r, &err), 0);
	_cleanup_free_ char *j1 = NULL, *j2 = NULL;
	size_t l1, l2;
	assert_int_equal(oci_resources_to_json(r, &j1, &l1, &err), 0);
	assert_int_equal(oci_resources_parse(j1, l1, &q, &err), 0);
	assert_int_equal(oci_resources_to_json(q, &j2, &l2, &err), 0);
	assert_string_equal(j1, j2);
	oci_resources_free(r);
	oci_resources_free(q);

	static const char bad[] = "{\"cpu\":{\"period\":\"fast\"}}";
	r = NULL;
	assert_int_equal(oci_resources_parse(bad, sizeof(bad) - 1, &r, &err), -EINVAL);
	assert_string_equal(err_msg(err), "cpu.period: expected an integer, got \"fast\"");
	assert_null(r);

	static const char swappy[] = "{\"memory\":{\"swappiness\":200}}";
	assert_int_equal(oci_resources_parse(swappy, sizeof(swappy) - 1, &r, &err), 0);
	assert_int_equal(oci_resources_validate(r, &err), -EINVAL);
	assert_string_equal(err_msg(err),
			    "linux.resources.memory.swappiness: 200 is out of range (0..100)");
	oci_resources_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_errors_name_the_field),
	    cmocka_unit_test(validate_errors_name_the_field),
	    cmocka_unit_test(document_errors),
	    cmocka_unit_test(depth_and_size_limits),
	    cmocka_unit_test(process_json),
	    cmocka_unit_test(resources_json),
	};
	return cmocka_run_group_tests_name("oci/errors", tests, NULL, NULL);
}
