// SPDX-License-Identifier: Apache-2.0
/*
 * The sandbox's shared directory (see runtime/sandbox.h): ROOT/ID/shared
 * holds bind mounts of everything of the host the container may see, the
 * rootfs (virtio-fs mode) and the source of every bind mount in the spec,
 * and one virtiofsd serves it to the guest, where the agent mounts it at
 * RT_GUEST_SHARED. Each spec bind mount is rewritten to name its copy there,
 * so the agent binds it the way runc would on the host. Files (docker's and
 * podman's /etc/hosts, resolv.conf, hostname) are bound onto empty files.
 *
 * Read-only mounts are made read-only on the host too: the guest cannot
 * write through virtiofsd to what it was given read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static int shared_path(const struct rt_container *c, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/shared%s%s", c->dir, name ? "/" : "", name ? name : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Bind src onto a new entry "name" of the shared directory. */
static int bind_in(const struct rt_container *c, const char *src, const char *name, bool ro,
		   struct err **err)
{
	char dst[PATH_MAX];
	if (shared_path(c, name, dst, sizeof(dst)) < 0)
		return err_set(err, ENAMETOOLONG, "shared %s", name);
	struct stat sb;
	if (stat(src, &sb) < 0)
		return err_set(err, errno, "%s", src);
	if (S_ISDIR(sb.st_mode)) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s", dst);
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_set(err, errno, "create %s", dst);
		close(fd);
	}
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_set(err, errno, "bind %s on %s", src, dst);
	/* a bind mount ignores MS_RDONLY: it takes a remount */
	if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return err_set(err, errno, "make %s read-only", dst);
	return 0;
}

static bool host_bind(const struct oci_mount *m)
{
	return (m->opts.flags & MS_BIND) && m->source && m->source[0] == '/';
}

bool rt_shared_dir_needed(const struct oci_spec *spec, bool rootfs_block)
{
	if (!rootfs_block)
		return true;
	for (size_t i = 0; i < spec->mounts_len; i++)
		if (host_bind(&spec->mounts[i]))
			return true;
	return false;
}

int rt_shared_dir_setup(const struct rt_container *c, struct oci_spec *spec, bool rootfs_block,
			struct err **err)
{
	char dir[PATH_MAX];
	if (shared_path(c, NULL, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "shared directory");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s", dir);
	int r;
	if (!rootfs_block && (r = bind_in(c, c->state.rootfs, "rootfs", false, err)) < 0)
		return err_wrap(err, "rootfs");
	for (size_t i = 0; i < spec->mounts_len; i++) {
		struct oci_mount *m = &spec->mounts[i];
		if (!host_bind(m))
			continue;
		char name[32], guest[64];
		snprintf(name, sizeof(name), "m%zu", i);
		snprintf(guest, sizeof(guest), "%s/%s", RT_GUEST_SHARED, name);
		if ((r = bind_in(c, m->source, name, m->opts.flags & MS_RDONLY, err)) < 0)
			return err_wrap(err, "mount %s", m->destination);
		char *g = strdup(guest);
		if (!g)
			return err_set(err, ENOMEM, "mount %s", m->destination);
		free(m->source);
		m->source = g;
	}
	return 0;
}

/* Lazily: a mount busy on the host (a virtiofsd still exiting) must not keep
 * the state directory alive; what is detached is gone for everyone else. */
int rt_shared_dir_release(const struct rt_container *c)
{
	char dir[PATH_MAX];
	if (shared_path(c, NULL, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int first = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
			continue;
		/* a path may carry several stacked mounts */
		while (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			;
		if (errno != EINVAL && errno != ENOENT && first == 0) {
			first = -errno;
			log_warn("unmount %s: %m", p);
		}
	}
	closedir(d);
	return first;
}
