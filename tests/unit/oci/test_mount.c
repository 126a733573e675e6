// SPDX-License-Identifier: Apache-2.0
/* oci: mount options decode like runc's parseMountOptions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/spec.h"

struct mcase {
	const char *opts[8]; /* NULL-terminated */
	unsigned long flags;
	unsigned long clear;
	unsigned long propagation;
	uint64_t attr_set;
	uint64_t attr_clr;
	uint32_t ext;
	const char *data;
};

static const struct mcase cases[] = {
    {{NULL}, 0, 0, 0, 0, 0, 0, NULL},
    {{"ro", NULL}, MS_RDONLY, 0, 0, 0, 0, 0, NULL},
    {{"ro", "rw", NULL}, 0, MS_RDONLY, 0, 0, 0, 0, NULL},
    {{"rw", "ro", NULL}, MS_RDONLY, 0, 0, 0, 0, 0, NULL},
    {{"nosuid", "nodev", "noexec", NULL}, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0, 0, 0, 0, NULL},
    {{"suid", "dev", "exec", NULL}, 0, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0, 0, 0, NULL},
    {{"bind", NULL}, MS_BIND, 0, 0, 0, 0, 0, NULL},
    {{"rbind", "rprivate", NULL}, MS_BIND | MS_REC, 0, MS_PRIVATE | MS_REC, 0, 0, 0, NULL},
    {{"bind", "shared", NULL}, MS_BIND, 0, MS_SHARED, 0, 0, 0, NULL},
    {{"rshared", NULL}, 0, 0, MS_SHARED | MS_REC, 0, 0, 0, NULL},
    {{"slave", NULL}, 0, 0, MS_SLAVE, 0, 0, 0, NULL},
    {{"rslave", NULL}, 0, 0, MS_SLAVE | MS_REC, 0, 0, 0, NULL},
    {{"unbindable", NULL}, 0, 0, MS_UNBINDABLE, 0, 0, 0, NULL},
    {{"runbindable", NULL}, 0, 0, MS_UNBINDABLE | MS_REC, 0, 0, 0, NULL},
    {{"private", "rslave", NULL}, 0, 0, MS_SLAVE | MS_REC, 0, 0, 0, NULL}, /* last wins */
    {{"relatime", NULL}, MS_RELATIME, 0, 0, 0, 0, 0, NULL},
    {{"norelatime", NULL}, 0, MS_RELATIME, 0, 0, 0, 0, NULL},
    {{"strictatime", NULL}, MS_STRICTATIME, 0, 0, 0, 0, 0, NULL},
    {{"noatime", "nodiratime", NULL}, MS_NOATIME | MS_NODIRATIME, 0, 0, 0, 0, 0, NULL},
    {{"sync", "dirsync", NULL}, MS_SYNCHRONOUS | MS_DIRSYNC, 0, 0, 0, 0, 0, NULL},
    {{"sync", "async", NULL}, 0, MS_SYNCHRONOUS, 0, 0, 0, 0, NULL},
    {{"remount", "ro", "bind", NULL}, MS_REMOUNT | MS_RDONLY | MS_BIND, 0, 0, 0, 0, 0, NULL},
    {{"mand", "lazytime", "iversion", "silent", "acl", NULL},
     MS_MANDLOCK | MS_LAZYTIME | MS_I_VERSION | MS_SILENT | MS_POSIXACL,
     0,
     0,
     0,
     0,
     0,
     NULL},
    {{"defaults", NULL}, 0, 0, 0, 0, 0, 0, NULL},
    {{"nosymfollow", NULL}, MS_NOSYMFOLLOW, 0, 0, 0, 0, 0, NULL},
    {{"nosuid", "strictatime", "mode=755", "size=65536k", NULL},
     MS_NOSUID | MS_STRICTATIME,
     0,
     0,
     0,
     0,
     0,
     "mode=755,size=65536k"},
    {{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL},
     0,
     0,
     0,
     0,
     0,
     0,
     "newinstance,ptmxmode=0666,mode=0620,gid=5"},
    {{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", NULL},
     0,
     0,
     0,
     0,
     0,
     0,
     "lowerdir=/a:/b,upperdir=/u,workdir=/w"},
    {{"", "ro", "", NULL}, MS_RDONLY, 0, 0, 0, 0, 0, NULL},
    {{"tmpcopyup", NULL}, 0, 0, 0, 0, 0, OCI_MOUNT_EXT_TMPCOPYUP, NULL},
    {{"bind", "idmap", NULL}, MS_BIND, 0, 0, 0, 0, OCI_MOUNT_EXT_IDMAP, NULL},
    {{"rbind", "ridmap", NULL}, MS_BIND | MS_REC, 0, 0, 0, 0, OCI_MOUNT_EXT_RIDMAP, NULL},
    {{"rbind", "rro", "rnosuid", "rnodev", "rnoexec", NULL},
     MS_BIND | MS_REC,
     0,
     0,
     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
     0,
     0,
     NULL},
    {{"rro", "rrw", NULL}, 0, 0, 0, 0, MOUNT_ATTR_RDONLY, 0, NULL},
    {{"rnoatime", NULL}, 0, 0, 0, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, 0, NULL},
    {{"rnoatime", "rstrictatime", NULL},
     0,
     0,
     0,
     MOUNT_ATTR_STRICTATIME,
     MOUNT_ATTR__ATIME,
     0,
     NULL},
    {{"rnodiratime", "rnosymfollow", NULL},
     0,
     0,
     0,
     MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW,
     0,
     0,
     NULL},
    {{"rdev", "rexec", "rsuid", NULL},
     0,
     0,
     0,
     0,
     MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID,
     0,
     NULL},
};

static void option_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *c = &cases[i];
		struct oci_strv v = {(char **)c->opts, 0};
		while (c->opts[v.n])
			v.n++;
		struct oci_mount_opts o;
		_cleanup_err_ struct err *err = NULL;
		assert_int_equal(oci_mount_opts_parse(&v, &o, &err), 0);
		if (o.flags != c->flags || o.clear != c->clear || o.propagation != c->propagation ||
		    o.attr_set != c->attr_set || o.attr_clr != c->attr_clr || o.ext != c->ext ||
		    (o.data == NULL) != (c->data == NULL) ||
		    (o.data && strcmp(o.data, c->data) != 0))
			fail_msg(
			    "case %zu (%s...): flags %#lx clear %#lx prop %#lx attr %#llx/%#llx "
			    "ext %u data %s",
			    i, c->opts[0] ? c->opts[0] : "", o.flags, o.clear, o.propagation,
			    (unsigned long long)o.attr_set, (unsigned long long)o.attr_clr, o.ext,
			    o.data ? o.data : "(null)");
		oci_mount_opts_free(&o);
	}
}

static void null_options(void **state)
{
	struct oci_mount_opts o;
	assert_int_equal(oci_mount_opts_parse(NULL, &o, NULL), 0);
	assert_int_equal(o.flags, 0);
	assert_null(o.data);
	oci_mount_opts_free(&o);
}

/* Many data options: the data string grows linearly, not quadratically. */
static void many_options(void **state)
{
	size_t n = 200000;
	char **items = calloc(n + 1, sizeof(*items));
	assert_non_null(items);
	for (size_t i = 0; i < n; i++)
		items[i] = (i % 2) ? "x=1" : "ro";
	struct oci_strv v = {items, n};
	struct oci_mount_opts o;
	assert_int_equal(oci_mount_opts_parse(&v, &o, NULL), 0);
	assert_int_equal(o.flags, MS_RDONLY);
	assert_int_equal(strlen(o.data), (n / 2) * 4 - 1);
	oci_mount_opts_free(&o);
	free(items);
}

/* In a child with its own mount namespace: mount a tmpfs with what the parser
 * produced and read back what the kernel applied. Returns 0 or a step number. */
static int mount_in_child(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return 77; /* skip: not allowed here */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	char dir[] = "/tmp/hull-oci-mnt-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *opts[] = {"nosuid",   "nodev",   "noexec",  "ro", "strictatime",
			"mode=711", "size=1m", "rshared", NULL};
	struct oci_strv v = {opts, 8};
	struct oci_mount_opts o;
	int rc = 0;
	if (oci_mount_opts_parse(&v, &o, NULL) < 0)
		rc = 2;
	else if (mount("tmpfs", dir, "tmpfs", o.flags, o.data) < 0)
		rc = 3;
	else if (mount(NULL, dir, NULL, o.propagation, NULL) < 0)
		rc = 4;
	struct statvfs sv;
	if (!rc && statvfs(dir, &sv) < 0)
		rc = 5;
	unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
	if (!rc && (sv.f_flag & want) != want)
		rc = 6;
	/* mountinfo shows the data options and the propagation the kernel took. */
	char line[1024];
	bool found = false;
	FILE *f = rc ? NULL : fopen("/proc/self/mountinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, dir))
			continue;
		found = true;
		if (!strstr(line, "size=1024k") || !strstr(line, "mode=711") ||
		    !strstr(line, " shared:"))
			rc = 7;
	}
	if (f)
		fclose(f);
	if (!rc && !found)
		rc = 8;
	oci_mount_opts_free(&o);
	umount(dir);
	rmdir(dir);
	return rc;
}

static void kernel_applies_options(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(mount_in_child());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(option_table),
	    cmocka_unit_test(null_options),
	    cmocka_unit_test(many_options),
	    cmocka_unit_test(kernel_applies_options),
	};
	return cmocka_run_group_tests_name("oci/mount", tests, NULL, NULL);
}
