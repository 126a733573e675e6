// SPDX-License-Identifier: Apache-2.0
/* hull-vmm's JSON config (parse, refuse bad values by name, round trip) and
 * vmm_spawn() starting the real binary. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/vmm.h"

static int parse(const char *json, struct vmm_config *cfg, void **owned, char *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	return vmm_config_parse(json, strlen(json), cfg, owned, err, 256);
}

static void test_parse_full(void **state)
{
	struct vmm_config cfg;
	void *owned;
	char err[256];
	const char *json =
	    "{\"kernel\": \"/k\", \"initrd\": \"/i\", \"cmdline\": \"quiet\", \"mem_mib\": 256,"
	    " \"vcpus\": 2, \"console\": \"file\", \"console_path\": \"/c\","
	    " \"disks\": [{\"path\": \"/d0\"}, {\"path\": \"/d1\", \"read_only\": true, "
	    "\"serial\": \"s1\"}], \"rng\": true, \"vsock\": {\"cid\": 3, \"uds\": \"/v\"},"
	    " \"api_socket\": \"/a\", \"reboot_exit\": 5, \"log_level\": \"debug\", "
	    "\"seccomp\": false}";
	assert_int_equal(parse(json, &cfg, &owned, err), 0);
	assert_string_equal(cfg.kernel, "/k");
	assert_int_equal(cfg.mem_mib, 256);
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(cfg.console, VMM_CONSOLE_FILE);
	assert_int_equal(cfg.n_disks, 2);
	assert_true(cfg.disks[1].read_only);
	assert_string_equal(cfg.disks[1].serial, "s1");
	assert_int_equal(cfg.vsock_cid, 3);
	assert_int_equal(cfg.reboot_exit, 5);
	assert_true(cfg.no_seccomp);

	/* round trip */
	char *out;
	assert_int_equal(vmm_config_to_json(&cfg, &out), 0);
	struct vmm_config back;
	void *owned2;
	assert_int_equal(parse(out, &back, &owned2, err), 0);
	assert_string_equal(back.cmdline, "quiet");
	assert_string_equal(back.disks[0].path, "/d0");
	assert_string_equal(back.vsock_uds, "/v");
	assert_int_equal(back.vcpus, 2);
	assert_true(back.no_seccomp);
	free(out);
	vmm_config_free_strings(owned2);
	vmm_config_free_strings(owned);
}

static void expect_error(const char *json, const char *msg)
{
	struct vmm_config cfg;
	void *owned;
	char err[256];
	assert_int_equal(parse(json, &cfg, &owned, err), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not contain '%s'", err, msg);
}

static void test_parse_errors(void **state)
{
	expect_error("{\"kernal\": \"/k\"}", "unknown key \"kernal\"");
	expect_error("{\"mem_mib\": 8}", "\"mem_mib\" must be an integer from 16");
	expect_error("{\"mem_mib\": \"128\"}", "\"mem_mib\"");
	expect_error("{\"vcpus\": 65}", "\"vcpus\"");
	expect_error("{\"console\": \"tty\"}", "\"console\" must be");
	expect_error("{\"disks\": [{\"read_only\": true}]}", "has no \"path\"");
	expect_error("{\"disks\": [{\"path\": \"/d\", \"ro\": 1}]}", "disks[0].ro");
	expect_error("{\"disks\": [{\"path\": \"/d\", \"serial\": \"123456789012345678901\"}]}",
		     "longer than 20");
	expect_error("{\"vsock\": {\"cid\": 2, \"uds\": \"/v\"}}", "\"vsock.cid\"");
	expect_error("{\"vsock\": {\"cid\": 3}}", "needs both");
	expect_error("[1, 2]", "must be a JSON object");
	expect_error("{\"kernel\": ", "not valid JSON");
	expect_error("{\"rng\": 1}", "\"rng\" must be true or false");
}

/* The hull-vmm next to this test binary: $BUILD/tests/unit/vmm/x -> $BUILD/bin. */
static int find_vmm(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	char *p = strstr(self, "/tests/unit/vmm/");
	if (!p)
		return -1;
	*p = '\0';
	if (strlen(self) + sizeof("/bin/hull-vmm") > len)
		return -1;
	strcpy(buf, self);
	strcat(buf, "/bin/hull-vmm");
	return access(buf, X_OK);
}

static void test_spawn(void **state)
{
	char bin[PATH_MAX];
	if (find_vmm(bin, sizeof(bin)) < 0)
		skip(); /* hull-vmm not built in this build dir */
	struct vmm_config cfg = {.size = sizeof(cfg),
				 .kernel = "/nonexistent/vmlinux",
				 .console = VMM_CONSOLE_OFF,
				 .mem_mib = 64};
	int errp[2];
	assert_int_equal(pipe(errp), 0);
	struct vmm_spawn_opts o = {.size = sizeof(o),
				   .binary = bin,
				   .stdin_fd = -1,
				   .stdout_fd = -1,
				   .stderr_fd = errp[1]};
	struct vmm_process p;
	assert_int_equal(vmm_spawn(&cfg, &o, &p), 0);
	close(errp[1]);
	char msg[4096] = {0};
	size_t len = 0;
	ssize_t n;
	while ((n = read(errp[0], msg + len, sizeof(msg) - 1 - len)) > 0)
		len += (size_t)n;
	close(errp[0]);
	int st;
	assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), VMM_STATUS_ERROR);
	/* It got the config: the error names our kernel path (or /dev/kvm
	 * when this machine has none, which fails first). */
	if (!strstr(msg, "/nonexistent/vmlinux") && !strstr(msg, "/dev/kvm"))
		fail_msg("unexpected stderr: %s", msg);

	/* Bad arguments never reach the child */
	struct vmm_config bad = {.size = sizeof(bad) - 1, .kernel = "/k"};
	assert_int_equal(vmm_spawn(&bad, &o, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_full),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_spawn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
