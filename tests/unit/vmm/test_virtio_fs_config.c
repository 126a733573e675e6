// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-fs part of hull-vmm's configuration: the "fs" JSON key (parse,
 * refusals naming the key, round trip through vmm_config_to_json as
 * vmm_spawn sends it) and virtio_fs_create's own checks of its options.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../vmm/virtio_fs.h"
#include "vmm/vmm.h"

static int parse(const char *json, struct vmm_config *cfg, void **owned, char *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	return vmm_config_parse(json, strlen(json), cfg, owned, err, 256);
}

static void test_fs_key(void **state)
{
	struct vmm_config cfg, again;
	void *owned, *owned2;
	char err[256] = "";
	assert_int_equal(
	    parse("{\"kernel\": \"/k\", \"fs\": [{\"tag\": \"rootfs\", \"socket\": "
		  "\"/run/a.sock\"}, {\"tag\": \"vol\", \"socket\": \"/run/b.sock\"}]}",
		  &cfg, &owned, err),
	    0);
	assert_int_equal(cfg.n_fs, 2);
	assert_string_equal(cfg.fs[0].tag, "rootfs");
	assert_string_equal(cfg.fs[0].socket, "/run/a.sock");
	assert_string_equal(cfg.fs[1].tag, "vol");
	char *json;
	assert_int_equal(vmm_config_to_json(&cfg, &json), 0);
	assert_int_equal(parse(json, &again, &owned2, err), 0);
	assert_int_equal(again.n_fs, 2);
	assert_string_equal(again.fs[1].socket, "/run/b.sock");
	free(json);
	vmm_config_free_strings(owned);
	vmm_config_free_strings(owned2);
}

static void test_fs_key_refused(void **state)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
	    {"{\"fs\": {}}", "\"fs\" must be an array"},
	    {"{\"fs\": [1]}", "\"fs[0]\" must be an object"},
	    {"{\"fs\": [{\"tag\": \"t\"}]}", "\"fs[0]\" needs both \"tag\" and \"socket\""},
	    {"{\"fs\": [{\"tag\": 3, \"socket\": \"/s\"}]}", "\"fs[].tag\" must be a string"},
	    {"{\"fs\": [{\"tag\": \"\", \"socket\": \"/s\"}]}", "\"fs[0].tag\" must be 1 to 36"},
	    {"{\"fs\": [{\"tag\": \"0123456789012345678901234567890123456\", \"socket\": \"/s\"}]}",
	     "\"fs[0].tag\" must be 1 to 36"},
	    {"{\"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"x\": 1}]}",
	     "unknown key \"fs[0].x\""},
	    {"{\"fs\": [{\"tag\":\"a\",\"socket\":\"/s\"},{\"tag\":\"b\",\"socket\":\"/s\"},"
	     "{\"tag\":\"c\",\"socket\":\"/s\"},{\"tag\":\"d\",\"socket\":\"/s\"},"
	     "{\"tag\":\"e\",\"socket\":\"/s\"}]}",
	     "at most 4"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmm_config cfg;
		void *owned = NULL;
		char err[256] = "";
		assert_int_equal(parse(bad[i].json, &cfg, &owned, err), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err, bad[i].msg);
		vmm_config_free_strings(owned);
	}
}

/* The device refuses what it cannot serve before it talks to anyone. */
static void test_create_refusals(void **state)
{
	struct vmm_mem mem;
	struct virtio_dev *dev = NULL;
	char ram[4096];
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, 0, sizeof(ram), ram);
	struct virtio_fs_opts o = {.tag = "t", .socket = "/nonexistent.sock", .timeout_ms = 20};
	/* malloc'd memory cannot be shared with a back-end */
	assert_int_equal(virtio_fs_create(&mem, NULL, &o, &dev), -EINVAL);
	assert_int_equal(vmm_mem_alloc(&mem, 1 << 20, 1 << 20), 0);
	o.tag = "";
	assert_int_equal(virtio_fs_create(&mem, NULL, &o, &dev), -EINVAL);
	o.tag = "0123456789012345678901234567890123456";
	assert_int_equal(virtio_fs_create(&mem, NULL, &o, &dev), -EINVAL);
	o.tag = "t";
	assert_int_equal(virtio_fs_create(&mem, NULL, &o, &dev), -ENOENT);
	assert_null(dev);
	vmm_mem_free(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fs_key),
	    cmocka_unit_test(test_fs_key_refused),
	    cmocka_unit_test(test_create_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
