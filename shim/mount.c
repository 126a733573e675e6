// SPDX-License-Identifier: Apache-2.0
/*
 * The rootfs mounts containerd hands a shim in Create (api/types/mount.proto):
 * a snapshotter's overlay {type overlay, options lowerdir=...,upperdir=...},
 * a bind {type bind, options rbind,ro}, a block device for devmapper... They
 * are mounted on BUNDLE/rootfs on the host, as containerd-shim-runc-v2 does;
 * the sandbox then shares (virtio-fs) or copies (block) that directory.
 *
 * Options follow mount(8)'s names, split as containerd's mount_linux.go
 * splits them: known flags (oci/'s table, a superset of containerd's) become
 * MS_* bits, propagation words a second mount(2) call, everything else the
 * filesystem's data string. The options
 * come from containerd (and, through it, from a snapshotter and a client), so
 * every count and length is bounded and a bad one is named in the error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "shim.h"

#define UNMOUNT_TRIES 16 /* stacked mounts on one rootfs */

int shim_mount_opts_parse(const char *const *opts, size_t n, struct shim_mount_opts *out,
			  struct err **err)
{
	*out = (struct shim_mount_opts){0};
	if (n > SHIM_MAX_OPTIONS)
		return err_set(err, E2BIG, "mount options: %zu options (at most %d)", n,
			       SHIM_MAX_OPTIONS);
	/* the kernel takes one page of data */
	long page = sysconf(_SC_PAGESIZE);
	size_t cap = page > 0 ? (size_t)page : 4096;
	_cleanup_free_ char *data = calloc(1, cap);
	if (!data)
		return err_set(err, ENOMEM, "mount options");
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		const char *o = opts[i];
		if (!o)
			return err_set(err, EINVAL, "mount option %zu: missing", i);
		size_t len = strnlen(o, SHIM_MAX_OPTION + 1);
		if (len == 0 || len > SHIM_MAX_OPTION)
			return err_set(err, EINVAL, "mount option %zu: %s", i,
				       len ? "longer than 4096 bytes" : "empty");
		if (memchr(o, ',', len))
			return err_set(err, EINVAL, "mount option %zu \"%.64s\": contains a comma",
				       i, o);
		unsigned long flag;
		bool clear;
		if (oci_mount_flag_parse(o, &flag, &clear) == 0) {
			if (clear)
				out->flags &= ~flag;
			else
				out->flags |= flag;
			continue;
		}
		if (oci_propagation_parse(o, &flag) == 0) {
			out->propagation = flag;
			continue;
		}
		if (used + (used ? 1 : 0) + len >= cap)
			return err_set(err, E2BIG,
				       "mount options: data longer than %zu bytes at "
				       "option %zu \"%.64s\"",
				       cap - 1, i, o);
		if (used)
			data[used++] = ',';
		memcpy(data + used, o, len);
		used += len;
	}
	out->data = TAKE_PTR(data);
	return 0;
}

void shim_mount_opts_free(struct shim_mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}

/* target under rootfs; a target may not climb out of it */
static int target_path(const char *rootfs, const char *target, char *buf, size_t len,
		       struct err **err)
{
	if (!target || !target[0] || strcmp(target, "/") == 0) {
		snprintf(buf, len, "%s", rootfs);
		return 0;
	}
	for (const char *p = target; *p;) {
		while (*p == '/')
			p++;
		size_t seg = strcspn(p, "/");
		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return err_set(err, EINVAL, "mount target %s: leaves the rootfs", target);
		p += seg;
	}
	if ((size_t)snprintf(buf, len, "%s/%s", rootfs, target) >= len)
		return err_set(err, ENAMETOOLONG, "mount target %s", target);
	return 0;
}

static int mount_one(const struct shim_mount *m, const char *rootfs, struct err **err)
{
	if (!m->type || !m->type[0])
		return err_set(err, EINVAL, "rootfs mount of %s: no type",
			       m->source ? m->source : "?");
	struct shim_mount_opts o;
	int r = shim_mount_opts_parse(m->options, m->n_options, &o, err);
	if (r < 0)
		return err_wrap(err, "rootfs mount %s", m->type);
	char target[PATH_MAX];
	if ((r = target_path(rootfs, m->target, target, sizeof(target), err)) < 0)
		goto out;
	/* a bind's type is "bind": mount(2) ignores the type of a bind */
	if (strcmp(m->type, "bind") == 0)
		o.flags |= MS_BIND;
	const char *type = (o.flags & MS_BIND) ? "none" : m->type;
	unsigned long flags = o.flags & ~(MS_REMOUNT);
	if (mount(m->source, target, type, flags, o.data[0] ? o.data : NULL) < 0) {
		r = err_set(err, errno, "mount %s %s on %s (options %s)", m->type,
			    m->source ? m->source : "", target, o.data);
		goto out;
	}
	/* a bind mount ignores every flag but MS_REC: read-only etc. need a remount */
	unsigned long extra = flags & ~(MS_BIND | MS_REC);
	if ((flags & MS_BIND) && extra &&
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0) {
		r = err_set(err, errno, "remount %s with its flags", target);
		umount2(target, MNT_DETACH);
		goto out;
	}
	if (o.propagation && mount(NULL, target, NULL, o.propagation, NULL) < 0) {
		r = err_set(err, errno, "set propagation of %s", target);
		umount2(target, MNT_DETACH);
		goto out;
	}
	r = 0;
out:
	shim_mount_opts_free(&o);
	return r;
}

int shim_rootfs_mount(const struct shim_mount *m, size_t n, const char *rootfs, struct err **err)
{
	if (n > SHIM_MAX_MOUNTS)
		return err_set(err, E2BIG, "rootfs: %zu mounts (at most %d)", n, SHIM_MAX_MOUNTS);
	for (size_t i = 0; i < n; i++) {
		int r = mount_one(&m[i], rootfs, err);
		if (r < 0) {
			shim_rootfs_unmount(rootfs, NULL);
			return r;
		}
	}
	return 0;
}

int shim_rootfs_unmount(const char *rootfs, struct err **err)
{
	/* Mounts may be stacked: unmount until the directory is no mount point. */
	for (int i = 0; i < UNMOUNT_TRIES; i++) {
		if (umount2(rootfs, UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return 0; /* nothing (more) mounted there */
		if (errno == EBUSY && umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
			log_warn("rootfs %s was busy: detached", rootfs);
			continue;
		}
		return err_set(err, errno, "unmount %s", rootfs);
	}
	return err_set(err, EBUSY, "unmount %s: still mounted after %d unmounts", rootfs,
		       UNMOUNT_TRIES);
}
