// SPDX-License-Identifier: Apache-2.0
/* oci: parsing a full docker-style config.json, round trips, the default spec. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"
#include "helpers.h"

/* Replace a string list (what a caller like ctr does before create). */
static int strv_set(struct oci_strv *v, const char *const *items, size_t n)
{
	oci_strv_free(v);
	v->items = calloc(n + 1, sizeof(*v->items));
	if (!v->items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v->items[i] = strdup(items[i]);
	v->n = n;
	return 0;
}

static struct oci_spec *parse_ok(const char *json, size_t len)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;
	int r = oci_spec_parse(json, len, &s, &err);
	if (r < 0)
		fail_msg("parse: %s", err_msg(err));
	return s;
}

static struct oci_spec *docker_spec(void)
{
	size_t len;
	_cleanup_free_ char *json = fixture_read("docker-config.json", &len);
	assert_non_null(json);
	return parse_ok(json, len);
}

static void docker_process(void **state)
{
	struct oci_spec *s = docker_spec();
	assert_string_equal(s->oci_version, "1.0.2-dev");
	struct oci_process *p = s->process;
	assert_non_null(p);
	assert_false(p->terminal);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.additional_gids_len, 2);
	assert_int_equal(p->user.additional_gids[0], 10);
	assert_int_equal(p->args.n, 3);
	assert_string_equal(p->args.items[2], "echo hello && sleep 1");
	assert_null(p->args.items[3]); /* NULL-terminated for execve */
	assert_string_equal(p->cwd, "/home/app");
	assert_non_null(p->capabilities);
	assert_int_equal(p->capabilities->bounding.names.n, 14);
	assert_int_equal(p->capabilities->bounding.nums[0], 0);              /* CAP_CHOWN */
	assert_true(p->capabilities->effective.mask & (UINT64_C(1) << 18));  /* SYS_CHROOT */
	assert_false(p->capabilities->effective.mask & (UINT64_C(1) << 21)); /* no SYS_ADMIN */
	assert_int_equal(p->capabilities->ambient.names.n, 0);
	assert_int_equal(p->rlimits_len, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(p->rlimits[1].hard == UINT64_MAX);
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, 0);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "docker-default");
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(oci_spec_validate(s, &err), 0);
	oci_spec_free(s);
}

static void docker_mounts_hooks(void **state)
{
	struct oci_spec *s = docker_spec();
	assert_int_equal(s->mounts_len, 11);
	assert_string_equal(s->mounts[1].destination, "/dev");
	assert_int_equal(s->mounts[1].opts.flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(s->mounts[1].opts.data, "mode=755,size=65536k");
	assert_int_equal(s->mounts[10].opts.flags, MS_BIND | MS_REC | MS_RDONLY);
	assert_int_equal(s->mounts[10].opts.propagation, MS_PRIVATE | MS_REC);
	assert_null(s->mounts[10].opts.data);
	assert_non_null(s->hooks);
	assert_int_equal(s->hooks->prestart.n, 1);
	assert_string_equal(s->hooks->prestart.items[0].args.items[0], "libnetwork-setkey");
	assert_true(s->hooks->prestart.items[0].has_timeout);
	assert_int_equal(s->hooks->prestart.items[0].timeout, 10);
	assert_int_equal(s->annotations.n, 2);
	assert_string_equal(oci_map_get(&s->annotations, "com.example.team"), "infra");
	assert_null(oci_map_get(&s->annotations, "nope"));
	oci_spec_free(s);
}

static void docker_linux(void **state)
{
	struct oci_spec *s = docker_spec();
	struct oci_linux *l = s->linux_;
	assert_non_null(l);
	assert_int_equal(l->namespaces_len, 6);
	assert_int_equal(l->namespaces[0].type, OCI_NS_MOUNT);
	assert_int_equal(l->namespaces[0].clone_flag, CLONE_NEWNS);
	assert_null(l->namespaces[0].path);
	assert_int_equal(l->rootfs_propagation_flags, MS_PRIVATE | MS_REC);
	assert_int_equal(l->sysctl.n, 2);
	struct oci_resources *r = l->resources;
	assert_non_null(r);
	assert_int_equal(r->devices_len, 9);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_false(r->devices[0].has_major);
	assert_int_equal(r->devices[8].minor, -1);
	assert_true(r->memory->has_limit);
	assert_int_equal(r->memory->limit, 536870912);
	assert_false(r->memory->has_kernel);
	assert_true(r->memory->has_disable_oom_killer);
	assert_int_equal(r->cpu->shares, 512);
	assert_int_equal(r->cpu->quota, 50000);
	assert_string_equal(r->cpu->cpus, "0-1");
	assert_int_equal(r->pids->limit, 1024);
	assert_int_equal(r->block_io->weight, 500);
	assert_int_equal(r->block_io->throttle_read_bps_len, 1);
	assert_int_equal(r->block_io->throttle_read_bps[0].rate, 10485760);
	assert_int_equal(r->hugepage_limits_len, 1);
	assert_string_equal(oci_map_get(&r->unified, "memory.high"), "483183820");
	assert_int_equal(l->devices_len, 1);
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_int_equal(l->masked_paths.n, 10);
	oci_spec_free(s);
}

/* Docker's default seccomp profile, rendered for x86_64. */
static void docker_seccomp(void **state)
{
	struct oci_spec *s = docker_spec();
	struct oci_seccomp *sc = s->linux_->seccomp;
	assert_non_null(sc);
	assert_int_equal(sc->default_action, OCI_SECCOMP_ERRNO);
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, EPERM);
	assert_int_equal(sc->architectures.n, 3);
	assert_int_equal(sc->syscalls_len, 12);
	assert_int_equal(sc->syscalls[0].action, OCI_SECCOMP_ALLOW);
	assert_int_equal(sc->syscalls[0].names.n, 339);
	assert_int_equal(sc->syscalls[1].args_len, 1);
	assert_int_equal(sc->syscalls[1].args[0].op, OCI_SECCOMP_OP_NE);
	assert_int_equal(sc->syscalls[1].args[0].value, 40);
	assert_true(sc->syscalls[6].args[0].value == 4294967295u);
	assert_int_equal(sc->syscalls[10].args[0].op, OCI_SECCOMP_OP_MASKED_EQ);
	assert_int_equal(sc->syscalls[11].action, OCI_SECCOMP_ERRNO);
	assert_int_equal(sc->syscalls[11].errno_ret, ENOSYS);
	oci_spec_free(s);
}

/* parse -> to_json -> parse -> to_json gives the same text; nothing is lost. */
static void round_trip(const char *json, size_t len)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *a = parse_ok(json, len);
	_cleanup_free_ char *j1 = NULL, *j2 = NULL;
	size_t l1, l2;
	assert_int_equal(oci_spec_to_json(a, &j1, &l1, &err), 0);
	assert_int_equal(strlen(j1), l1);
	struct oci_spec *b = parse_ok(j1, l1);
	assert_int_equal(oci_spec_to_json(b, &j2, &l2, &err), 0);
	assert_string_equal(j1, j2);
	oci_spec_free(a);
	oci_spec_free(b);
}

static void docker_round_trip(void **state)
{
	size_t len;
	_cleanup_free_ char *json = fixture_read("docker-config.json", &len);
	assert_non_null(json);
	round_trip(json, len);

	/* And the values survive, not only the text: spot-check the reparsed spec. */
	struct oci_spec *s = docker_spec();
	_cleanup_free_ char *j = NULL;
	size_t jl;
	assert_int_equal(oci_spec_to_json(s, &j, &jl, NULL), 0);
	struct oci_spec *t = parse_ok(j, jl);
	assert_true(t->process->rlimits[1].hard == UINT64_MAX);
	assert_int_equal(t->linux_->resources->devices[8].minor, -1);
	assert_int_equal(t->linux_->seccomp->syscalls[0].names.n, 339);
	assert_string_equal(t->mounts[1].opts.data, "mode=755,size=65536k");
	assert_int_equal(t->process->capabilities->bounding.mask,
			 s->process->capabilities->bounding.mask);
	oci_spec_free(s);
	oci_spec_free(t);
}

static void every_field_round_trips(void **state)
{
	static const char json[] =
	    "{\"ociVersion\":\"1.1.0\",\"process\":{\"terminal\":true,"
	    "\"consoleSize\":{\"height\":25,\"width\":80},"
	    "\"user\":{\"uid\":1,\"gid\":2,\"umask\":18,\"additionalGids\":[3],\"username\":\"u\"},"
	    "\"args\":[\"a\"],\"env\":[\"A=1\"],\"cwd\":\"/"
	    "\",\"capabilities\":{\"ambient\":[\"cap_kill\"]},"
	    "\"noNewPrivileges\":true,\"oomScoreAdj\":-500,\"apparmorProfile\":\"p\","
	    "\"selinuxLabel\":\"l\",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":4}},"
	    "\"root\":{\"path\":\"rootfs\"},\"domainname\":\"example.org\","
	    "\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\",\"source\":\"/"
	    "s\",\"options\":[\"bind\","
	    "\"idmap\"],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
	    "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}],"
	    "\"hooks\":{\"createRuntime\":[{\"path\":\"/h\"}],\"createContainer\":[{\"path\":\"/"
	    "h\"}],"
	    "\"startContainer\":[{\"path\":\"/h\",\"env\":[\"X=1\"]}],\"poststart\":[{\"path\":\"/"
	    "h\"}],"
	    "\"poststop\":[{\"path\":\"/h\",\"timeout\":3}]},"
	    "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
	    "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
	    "\"namespaces\":[{\"type\":\"user\"},{\"type\":\"time\"},{\"type\":\"uts\"},{\"type\":"
	    "\"network\","
	    "\"path\":\"/var/run/netns/x\"}],\"cgroupsPath\":\"c\","
	    "\"resources\":{\"memory\":{\"limit\":-1,\"swap\":-1,\"kernel\":0,\"kernelTCP\":1,"
	    "\"swappiness\":10,\"useHierarchy\":true},\"cpu\":{\"burst\":1,\"realtimeRuntime\":-5,"
	    "\"realtimePeriod\":7,\"idle\":1,\"mems\":\"0\"},"
	    "\"blockIO\":{\"leafWeight\":20,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":"
	    "100,"
	    "\"leafWeight\":50}],\"throttleWriteBpsDevice\":[{\"major\":1,\"minor\":2,\"rate\":3}],"
	    "\"throttleReadIOPSDevice\":[{\"major\":1,\"minor\":2,\"rate\":4}],"
	    "\"throttleWriteIOPSDevice\":[{\"major\":1,\"minor\":2,\"rate\":18446744073709551615}]}"
	    ","
	    "\"network\":{\"classID\":5,\"priorities\":[{\"name\":\"eth0\",\"priority\":3}]},"
	    "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}}},"
	    "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"flags\":["
	    "\"SECCOMP_FILTER_FLAG_LOG\"],\"listenerPath\":\"/l\",\"listenerMetadata\":\"m\","
	    "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"},{\"names\":["
	    "\"x\"],"
	    "\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":5,\"args\":[{\"index\":5,\"value\":1,"
	    "\"valueTwo\":2,\"op\":\"SCMP_CMP_GT\"}]}]},"
	    "\"mountLabel\":\"ml\",\"intelRdt\":{\"closID\":\"x\"},"
	    "\"personality\":{\"domain\":\"LINUX32\",\"flags\":[\"f\"]},"
	    "\"devices\":[{\"path\":\"/dev/p\",\"type\":\"p\"}]}}";
	round_trip(json, sizeof(json) - 1);
	struct oci_spec *s = parse_ok(json, sizeof(json) - 1);
	_cleanup_err_ struct err *err = NULL;
	if (oci_spec_validate(s, &err) < 0)
		fail_msg("validate: %s", err_msg(err));
	assert_string_equal(s->process->capabilities->ambient.names.items[0], "CAP_KILL");
	assert_int_equal(s->process->io_priority->class_num, 2);
	assert_int_equal(s->linux_->namespaces[1].type, OCI_NS_TIME);
	assert_string_equal(s->linux_->namespaces[3].path, "/var/run/netns/x");
	assert_int_equal(s->linux_->resources->memory->limit, -1);
	assert_int_equal(s->linux_->resources->rdma_len, 1);
	assert_int_equal(s->linux_->resources->rdma[0].hca_objects, 10000);
	assert_int_equal(s->linux_->seccomp->flag_bits, OCI_SECCOMP_FLAG_LOG);
	assert_true(s->linux_->has_intel_rdt);
	assert_int_equal(s->mounts[0].opts.ext, OCI_MOUNT_EXT_IDMAP);
	oci_spec_free(s);
}

/* Forward compatibility: unknown fields anywhere are ignored, null is absent,
 * and a repeated key keeps the last value as Go's decoder does. */
static void unknown_fields_ignored(void **state)
{
	static const char json[] =
	    "{\"ociVersion\":\"1.0.0\",\"future\":{\"x\":[1,2,{}]},\"root\":{\"path\":\"r\","
	    "\"zz\":1},\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],\"scheduler\":{\"policy\":"
	    "\"SCHED_OTHER\"},\"env\":null},\"hostname\":\"a\",\"hostname\":\"b\","
	    "\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],\"netDevices\":{}},"
	    "\"annotations\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}";
	_cleanup_oci_spec_ struct oci_spec *s = parse_ok(json, sizeof(json) - 1);
	assert_string_equal(s->hostname, "b");
	assert_int_equal(s->process->env.n, 0);
	assert_int_equal(s->annotations.n, 2);
	/* entries keep the position of their surviving (last) occurrence */
	assert_string_equal(s->annotations.items[0].key, "j");
	assert_string_equal(oci_map_get(&s->annotations, "k"), "3");
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(oci_spec_validate(s, &err), 0);
}

static void default_spec_validates(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;
	assert_int_equal(oci_spec_default(&s, &err), 0);
	if (oci_spec_validate(s, &err) < 0)
		fail_msg("validate: %s", err_msg(err));
	assert_string_equal(s->oci_version, OCI_VERSION);
	assert_string_equal(s->process->args.items[0], "sh");
	assert_true(s->process->terminal);
	assert_int_equal(s->mounts_len, 7);
	assert_int_equal(s->linux_->namespaces_len, 5);
	assert_int_equal(s->process->capabilities->bounding.names.n, 3);
	assert_true(s->root->readonly);
	oci_spec_free(s);
}

/* Our default, written out, equals what `runc spec` writes once both go through
 * our parser and writer (only ociVersion and hostname differ by design). */
static void default_matches_runc_spec(void **state)
{
	char dir[] = "/tmp/hull-oci-runc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cd %s && runc spec >/dev/null 2>&1", dir);
	if (system(cmd) != 0) {
		rmdir(dir);
		skip();
	}
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *runc = NULL, *ours = NULL;
	int r = oci_spec_load(dir, &runc, &err);
	snprintf(cmd, sizeof(cmd), "%s/config.json", dir);
	unlink(cmd);
	rmdir(dir);
	if (r < 0)
		fail_msg("load runc spec: %s", err_msg(err));
	assert_int_equal(oci_spec_default(&ours, &err), 0);
	free(runc->oci_version);
	runc->oci_version = strdup(ours->oci_version);
	free(runc->hostname);
	runc->hostname = strdup(ours->hostname);
	_cleanup_free_ char *a = NULL, *b = NULL;
	assert_int_equal(oci_spec_to_json(runc, &a, NULL, &err), 0);
	assert_int_equal(oci_spec_to_json(ours, &b, NULL, &err), 0);
	assert_string_equal(a, b);
	oci_spec_free(runc);
	oci_spec_free(ours);
}

/* Run `cmd` in a fresh directory (it writes config.json there) and load the
 * result; skips the test when the tool is not installed. */
static struct oci_spec *tool_spec(const char *cmd)
{
	char dir[] = "/tmp/hull-oci-tool-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sh[256], path[128];
	snprintf(sh, sizeof(sh), "cd %s && { %s; } >/dev/null 2>&1", dir, cmd);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	int rc = system(sh);
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;
	int r = rc == 0 ? oci_spec_load(dir, &s, &err) : -ENOENT;
	unlink(path);
	rmdir(dir);
	if (rc != 0)
		skip();
	if (r < 0)
		fail_msg("%s: %s", cmd, err_msg(err));
	return s;
}

/* crun's default spec parses and validates. tool_spec() may skip(), which
 * longjmps: each test loads one tool's spec so nothing is left to free. */
static void crun_spec_validates(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *crun = tool_spec("crun spec");
	int r = oci_spec_validate(crun, &err);
	size_t ns = crun->linux_ ? crun->linux_->namespaces_len : 0;
	oci_spec_free(crun);
	if (r < 0)
		fail_msg("crun spec: %s", err_msg(err));
	assert_int_equal(ns, 5);
}

/* containerd's default spec parses; it has no args yet (ctr fills them in per
 * container), which validation reports, and with args it validates. */
static void containerd_spec_validates(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_oci_spec_ struct oci_spec *ctr = tool_spec("ctr oci spec > config.json");
	assert_int_equal(oci_spec_validate(ctr, &err), -EINVAL);
	assert_string_equal(err_msg(err), "process.args: must contain at least one entry");
	const char *const args[] = {"/bin/true"};
	assert_int_equal(strv_set(&ctr->process->args, args, 1), 0);
	if (oci_spec_validate(ctr, &err) < 0)
		fail_msg("ctr oci spec: %s", err_msg(err));
	assert_true(ctr->process->capabilities->bounding.names.n >= 14);
}

static void load_missing_bundle(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;
	assert_int_equal(oci_spec_load("/nonexistent-bundle", &s, &err), -ENOENT);
	assert_string_equal(err_msg(err),
			    "read /nonexistent-bundle/config.json: No such file or directory");
}

static void load_names_config_json(void **state)
{
	char dir[] = "/tmp/hull-oci-bundle-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"args\":[\"a\",\"b\",3]}}", f);
	fclose(f);
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;
	int r = oci_spec_load(dir, &s, &err);
	unlink(path);
	rmdir(dir);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err_msg(err), "config.json: process.args[2]: expected a string, got 3");
}

static void load_refuses_odd_files(void **state)
{
	char dir[] = "/tmp/hull-oci-odd-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], want[256];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	_cleanup_err_ struct err *err = NULL;
	struct oci_spec *s = NULL;

	/* A FIFO would block a plain read forever. */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(oci_spec_load(dir, &s, &err), -EINVAL);
	snprintf(want, sizeof(want), "read %s: not a regular file", path);
	assert_string_equal(err_msg(err), want);
	unlink(path);

	/* Larger than the limit: refused from its size, before reading. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fseeko(f, (off_t)OCI_MAX_SIZE, SEEK_SET), 0);
	fputc(' ', f);
	fclose(f);
	assert_int_equal(oci_spec_load(dir, &s, &err), -EFBIG);
	assert_non_null(strstr(err_msg(err), "config.json: larger than 16777216 bytes"));
	unlink(path);
	rmdir(dir);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(docker_process),
	    cmocka_unit_test(docker_mounts_hooks),
	    cmocka_unit_test(docker_linux),
	    cmocka_unit_test(docker_seccomp),
	    cmocka_unit_test(docker_round_trip),
	    cmocka_unit_test(every_field_round_trips),
	    cmocka_unit_test(unknown_fields_ignored),
	    cmocka_unit_test(default_spec_validates),
	    cmocka_unit_test(default_matches_runc_spec),
	    cmocka_unit_test(crun_spec_validates),
	    cmocka_unit_test(containerd_spec_validates),
	    cmocka_unit_test(load_missing_bundle),
	    cmocka_unit_test(load_names_config_json),
	    cmocka_unit_test(load_refuses_odd_files),
	};
	return cmocka_run_group_tests_name("oci/spec", tests, NULL, NULL);
}
