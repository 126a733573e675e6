// SPDX-License-Identifier: Apache-2.0
/*
 * The container's filesystem, built inside its new mount namespace the way
 * runc's rootfs_linux.go does: make the inherited mounts slaves so nothing
 * propagates back, mount the rootfs source, bind it onto itself so it is a
 * mount point, perform the OCI mounts in order below it (targets resolved
 * with symlinks confined to the rootfs), populate /dev, pivot_root into it
 * and detach the old root, then mask and read-only-protect paths and finally
 * make the root read-only if asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "spawn.h"

int agent_path_join(const char *root, const char *path, char *out, size_t len, struct err **err)
{
	char cur[PATH_MAX] = "";
	char rest[PATH_MAX];
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		return err_set(err, ENAMETOOLONG, "path %s", path);
	int links = 0;
	char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX)
			return err_set(err, ENAMETOOLONG, "path %s", path);
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			/* Lexically up, but never above the root. */
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			continue;
		}
		char cand[PATH_MAX], full[PATH_MAX];
		if (snprintf(cand, sizeof(cand), "%s/%s", cur, comp) >= (int)sizeof(cand) ||
		    snprintf(full, sizeof(full), "%s%s", root, cand) >= (int)sizeof(full))
			return err_set(err, ENAMETOOLONG, "path %s", path);
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
			if (++links > 40)
				return err_set(err, ELOOP, "path %s", path);
			char target[PATH_MAX];
			ssize_t tl = readlink(full, target, sizeof(target) - 1);
			if (tl < 0)
				return err_set(err, errno, "readlink %s", full);
			target[tl] = '\0';
			if (target[0] == '/')
				cur[0] = '\0';
			/* The link's target replaces this component. */
			char nrest[PATH_MAX];
			if (snprintf(nrest, sizeof(nrest), "%s/%s", target, p) >=
			    (int)sizeof(nrest))
				return err_set(err, ENAMETOOLONG, "path %s", path);
			memcpy(rest, nrest, sizeof(rest));
			p = rest;
			continue;
		}
		memcpy(cur, cand, sizeof(cur));
	}
	if (snprintf(out, len, "%s%s", root, cur[0] ? cur : "") >= (int)len)
		return err_set(err, ENAMETOOLONG, "path %s", path);
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Create an empty file (for bind mounts of files), with its parents. */
static int touch_p(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int r = mkdir_p(dir, 0755);
		if (r < 0)
			return r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EEXIST && errno != EISDIR)
		return -errno;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Flags a bind remount must keep (they are locked on the original). */
static unsigned long mnt_flags_of(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

static int mount_rootfs_source(const struct agent_spawn *s, char *root, size_t len,
			       struct err **err)
{
	const struct agent_rootfs_req *rf = s->rootfs;
	const char *base = NULL;
	switch (rf->type) {
	case AGENT_ROOTFS_VIRTIOFS:
		if (mount(rf->source, s->rootfs_dir, "virtiofs", 0, NULL) < 0)
			return err_set(err, errno, "mount virtiofs tag %s", rf->source);
		base = s->rootfs_dir;
		break;
	case AGENT_ROOTFS_BLOCK: {
		/* Options as in an OCI mount: "ro,noatime,discard" -> flags + data. */
		if (rf->n_options > 64)
			return err_set(err, E2BIG, "rootfs: more than 64 options");
		char *items[rf->n_options + 1]; /* an oci_strv is NULL-terminated */
		for (size_t i = 0; i < rf->n_options; i++)
			items[i] = rf->options[i];
		items[rf->n_options] = NULL;
		struct oci_strv sv = {items, rf->n_options};
		struct oci_mount_opts o = {0};
		int r = oci_mount_opts_parse(&sv, &o, err);
		if (r < 0)
			return err_wrap(err, "rootfs options");
		r = mount(rf->source, s->rootfs_dir, rf->fstype ? rf->fstype : "ext4",
			  o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT), o.data);
		int e = errno;
		oci_mount_opts_free(&o);
		if (r < 0)
			return err_set(err, e, "mount block device %s", rf->source);
		base = s->rootfs_dir;
		break;
	}
	case AGENT_ROOTFS_BIND:
		base = rf->source;
		break;
	default:
		base = s->spec->root ? s->spec->root->path : NULL;
		break;
	}
	if (!base || base[0] != '/')
		return err_set(err, 0, "rootfs: no absolute path (root.path or a rootfs source)");
	if (rf->subdir && rf->subdir[0])
		snprintf(root, len, "%s/%s", base, rf->subdir);
	else
		snprintf(root, len, "%s", base);
	/* pivot_root wants the new root to be a mount point. */
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_set(err, errno, "bind rootfs %s", root);
	return 0;
}

static int do_bind(const struct oci_mount *m, const char *dst, struct err **err)
{
	const struct oci_mount_opts *o = &m->opts;
	struct stat st;
	if (!m->source || stat(m->source, &st) < 0)
		return err_set(err, errno ? errno : EINVAL, "bind source %s",
			       m->source ? m->source : "(none)");
	int r = S_ISDIR(st.st_mode) ? mkdir_p(dst, 0755) : touch_p(dst);
	if (r < 0)
		return err_set(err, -r, "create mount point %s", dst);
	if (mount(m->source, dst, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
		return err_set(err, errno, "bind %s on %s", m->source, dst);
	unsigned long extra = o->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
					  MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
	if (extra) {
		/* Per-mount flags of a bind only take effect on a remount. */
		unsigned long f = MS_BIND | MS_REMOUNT | extra | mnt_flags_of(dst);
		if (mount(NULL, dst, NULL, f, NULL) < 0)
			return err_set(err, errno, "remount %s", dst);
	}
	return 0;
}

static int do_mount(const struct oci_mount *m, const char *root, struct err **err)
{
	char dst[PATH_MAX];
	int r = agent_path_join(root, m->destination, dst, sizeof(dst), err);
	if (r < 0)
		return r;
	const struct oci_mount_opts *o = &m->opts;
	const char *type = m->type;
	if ((o->flags & MS_BIND) || (type && strcmp(type, "bind") == 0)) {
		r = do_bind(m, dst, err);
	} else {
		if ((r = mkdir_p(dst, 0755)) < 0)
			return err_set(err, -r, "create mount point %s", dst);
		if (type && strcmp(type, "cgroup") == 0)
			type = "cgroup2"; /* the guest has only cgroup v2 */
		unsigned long f = o->flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
		if (mount(m->source ? m->source : type, dst, type, f, o->data) < 0) {
			r = -errno;
			/* No cgroup2 (a hybrid host in host mode) is not fatal. */
			if (type && strcmp(type, "cgroup2") == 0) {
				log_warn("mount cgroup2 on %s: %s (skipped)", dst, strerror(-r));
				return 0;
			}
			return err_set(err, -r, "mount %s (%s) on %s", m->source ? m->source : "",
				       type ? type : "", m->destination);
		}
	}
	if (r < 0)
		return r;
	if (o->propagation && mount(NULL, dst, NULL, o->propagation, NULL) < 0)
		return err_set(err, errno, "set propagation of %s", dst);
	return 0;
}

static const struct {
	const char *name;
	unsigned maj, min;
} default_devs[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Create a device node; where mknod is refused, bind the agent's node. */
static int make_dev(const char *root, const char *path, mode_t type, unsigned maj, unsigned min,
		    mode_t perm, uid_t uid, gid_t gid, struct err **err)
{
	char dst[PATH_MAX];
	int r = agent_path_join(root, path, dst, sizeof(dst), err);
	if (r < 0)
		return r;
	unlink(dst);
	if (mknod(dst, type | perm, makedev(maj, min)) == 0) {
		if (chmod(dst, perm) < 0 || chown(dst, uid, gid) < 0)
			return err_set(err, errno, "chmod/chown %s", path);
		return 0;
	}
	if (errno != EPERM)
		return err_set(err, errno, "mknod %s", path);
	if ((r = touch_p(dst)) < 0)
		return err_set(err, -r, "create %s", dst);
	if (mount(path, dst, NULL, MS_BIND, NULL) < 0)
		return err_set(err, errno, "bind %s", path);
	return 0;
}

static int setup_dev(const struct agent_spawn *s, const char *root, struct err **err)
{
	int r;
	for (size_t i = 0; i < ARRAY_SIZE(default_devs); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/%s", default_devs[i].name);
		r = make_dev(root, path, S_IFCHR, default_devs[i].maj, default_devs[i].min, 0666, 0,
			     0, err);
		if (r < 0)
			return r;
	}
	const struct oci_linux *lx = s->spec->linux_;
	for (size_t i = 0; lx && i < lx->devices_len; i++) {
		const struct oci_device *d = &lx->devices[i];
		mode_t t = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		r = make_dev(root, d->path, t, (unsigned)d->major, (unsigned)d->minor,
			     d->has_file_mode ? d->file_mode & 07777 : 0666,
			     d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, err);
		if (r < 0)
			return err_wrap(err, "device %s", d->path);
	}
	static const char *links[][2] = {
	    {"/proc/self/fd", "fd"},
	    {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"},
	    {"/proc/self/fd/2", "stderr"},
	};
	char dev[PATH_MAX], p[PATH_MAX + 16];
	if ((r = agent_path_join(root, "/dev", dev, sizeof(dev), err)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(p, sizeof(p), "%s/%s", dev, links[i][1]);
		if (symlink(links[i][0], p) < 0 && errno != EEXIST)
			return err_set(err, errno, "symlink /dev/%s", links[i][1]);
	}
	snprintf(p, sizeof(p), "%s/pts/ptmx", dev);
	if (access(p, F_OK) == 0) {
		snprintf(p, sizeof(p), "%s/ptmx", dev);
		unlink(p);
		if (symlink("pts/ptmx", p) < 0)
			return err_set(err, errno, "symlink /dev/ptmx");
	}
	if (s->console) {
		snprintf(p, sizeof(p), "%s/console", dev);
		if ((r = touch_p(p)) < 0)
			return err_set(err, -r, "create /dev/console");
		if (mount(s->console, p, NULL, MS_BIND, NULL) < 0)
			return err_set(err, errno, "bind %s on /dev/console", s->console);
	}
	return 0;
}

/* runc's pivot_root(".", ".") trick: no temporary directory for the old
 * root; the old root is stacked under the new one and lazily detached after
 * being made a slave so the unmount does not propagate to the agent. */
static int do_pivot(const char *root, struct err **err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return err_set(err, errno, "open / or %s", root);
	if (fchdir(newroot) < 0)
		return err_set(err, errno, "chdir %s", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_set(err, errno, "pivot_root %s", root);
	if (fchdir(oldroot) < 0)
		return err_set(err, errno, "chdir old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_set(err, errno, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return err_set(err, errno, "detach old root");
	if (chdir("/") < 0)
		return err_set(err, errno, "chdir /");
	return 0;
}

static int mask_paths(const struct oci_linux *lx, struct err **err)
{
	for (size_t i = 0; lx && i < lx->masked_paths.n; i++) {
		const char *p = lx->masked_paths.items[i];
		struct stat st;
		if (stat(p, &st) < 0)
			continue; /* absent: nothing to mask */
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0)
				return err_set(err, errno, "mask %s", p);
		} else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
			return err_set(err, errno, "mask %s", p);
		}
	}
	for (size_t i = 0; lx && i < lx->readonly_paths.n; i++) {
		const char *p = lx->readonly_paths.items[i];
		if (access(p, F_OK) < 0)
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL,
			  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | mnt_flags_of(p), NULL) < 0)
			return err_set(err, errno, "make %s read-only", p);
	}
	return 0;
}

static int extra_mounts(const struct agent_spawn *s, struct err **err)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct agent_extra_mount *m = &s->mounts[i];
		int r = mkdir_p(m->target, 0755);
		if (r < 0)
			return err_set(err, -r, "mkdir %s", m->target);
		bool bind = m->type && strcmp(m->type, "bind") == 0;
		if (mount(m->source, m->target, bind ? NULL : m->type, bind ? MS_BIND | MS_REC : 0,
			  bind ? NULL : m->options) < 0)
			return err_set(err, errno, "mount %s on %s", m->source, m->target);
	}
	return 0;
}

int agent_mounts_setup(const struct agent_spawn *s, struct err **err)
{
	/* Nothing we mount may propagate back into the agent's namespace. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_set(err, errno, "make / rslave");
	int r = extra_mounts(s, err);
	if (r < 0)
		return r;
	char root[PATH_MAX];
	if ((r = mount_rootfs_source(s, root, sizeof(root), err)) < 0)
		return r;
	bool dev_mounted = false;
	for (size_t i = 0; i < s->spec->mounts_len; i++) {
		const struct oci_mount *m = &s->spec->mounts[i];
		if ((r = do_mount(m, root, err)) < 0)
			return err_wrap(err, "mount %s", m->destination);
		if (strcmp(m->destination, "/dev") == 0 && !(m->opts.flags & MS_BIND))
			dev_mounted = true;
	}
	/* Like runc: populate /dev unless the spec binds the agent's /dev. */
	if (dev_mounted || s->console) {
		char dev[PATH_MAX + 8];
		snprintf(dev, sizeof(dev), "%s/dev", root);
		mkdir_p(dev, 0755);
		if ((r = setup_dev(s, root, err)) < 0)
			return r;
	}
	return do_pivot(root, err);
}

int agent_mounts_finish(const struct agent_spawn *s, struct err **err)
{
	const struct oci_linux *lx = s->spec->linux_;
	unsigned long prop =
	    lx && lx->rootfs_propagation_flags ? lx->rootfs_propagation_flags : MS_SLAVE | MS_REC;
	int r = mask_paths(lx, err);
	if (r < 0)
		return r;
	if (s->spec->root && s->spec->root->readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mnt_flags_of("/"), NULL) < 0)
		return err_set(err, errno, "remount / read-only");
	if (lx && lx->rootfs_propagation_flags && mount(NULL, "/", NULL, prop, NULL) < 0)
		return err_set(err, errno, "rootfs propagation %s", lx->rootfs_propagation);
	return 0;
}
