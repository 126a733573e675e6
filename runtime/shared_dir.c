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
 *
 * A pod adds containers to a running sandbox: their rootfs and binds go into
 * shared/c/<id>/ while virtiofsd already serves the directory. Debian's C
 * virtiofsd unshares its mount namespace and makes it a slave of ours, so the
 * directory is bound onto itself and made a shared mount before virtiofsd
 * starts: what is mounted under it later propagates into virtiofsd, and what
 * is unmounted here goes there too.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* "c/<id>" must stay one level below c/: ids are checked by rt_id_validate,
 * but this is the line a path is built from. */
static int sub_valid(const char *sub)
{
	if (!sub)
		return 0;
	if (strncmp(sub, "c/", 2) != 0 || !sub[2] || strchr(sub + 2, '/') ||
	    strcmp(sub + 2, ".") == 0 || strcmp(sub + 2, "..") == 0)
		return -EINVAL;
	return 0;
}

int rt_shared_dir_add(const struct rt_container *c, const char *sub, const char *rootfs,
		      struct oci_spec *spec, struct err **err)
{
	if (sub_valid(sub) < 0)
		return err_set(err, EINVAL, "shared directory entry \"%.80s\"", sub);
	char dir[PATH_MAX];
	if (shared_path(c, sub, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "shared directory");
	if (sub) {
		char cdir[PATH_MAX];
		if (shared_path(c, "c", cdir, sizeof(cdir)) < 0)
			return err_set(err, ENAMETOOLONG, "shared directory");
		if (mkdir(cdir, 0700) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s", cdir);
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s", dir);
	char name[PATH_MAX], guest[PATH_MAX];
	const char *pre = sub ? sub : "", *slash = sub ? "/" : "";
	int r;
	snprintf(name, sizeof(name), "%s%srootfs", pre, slash);
	if (rootfs && (r = bind_in(c, rootfs, name, false, err)) < 0)
		return err_wrap(err, "rootfs");
	for (size_t i = 0; i < spec->mounts_len; i++) {
		struct oci_mount *m = &spec->mounts[i];
		if (!host_bind(m))
			continue;
		snprintf(name, sizeof(name), "%s%sm%zu", pre, slash, i);
		if ((size_t)snprintf(guest, sizeof(guest), "%s/%s", RT_GUEST_SHARED, name) >=
		    sizeof(guest))
			return err_set(err, ENAMETOOLONG, "mount %s", m->destination);
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

int rt_shared_dir_setup(const struct rt_container *c, struct oci_spec *spec, bool rootfs_block,
			struct err **err)
{
	char dir[PATH_MAX];
	if (shared_path(c, NULL, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "shared directory");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s", dir);
	/* its own shared mount, before virtiofsd copies our namespace (see top) */
	if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
		return err_set(err, errno, "bind %s onto itself", dir);
	if (mount(NULL, dir, NULL, MS_SHARED, NULL) < 0)
		return err_set(err, errno, "make %s a shared mount", dir);
	return rt_shared_dir_add(c, NULL, rootfs_block ? NULL : c->state.rootfs, spec, err);
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

static int by_length_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Every mount at or below dir, deepest first, lazily: a mount busy on the
 * host (a virtiofsd still exiting) must not keep the state directory alive;
 * what is detached is gone for everyone else. */
static int unmount_below(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	size_t n = 0, cap = 0, dlen = strlen(dir);
	char **list = NULL, *line = NULL;
	size_t llen = 0;
	int first = 0;
	while (getline(&line, &llen, f) > 0) {
		/* id parent major:minor root mountpoint ... */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape(tok);
		if (strncmp(tok, dir, dlen) != 0 || (tok[dlen] != '\0' && tok[dlen] != '/'))
			continue;
		if (n == cap) {
			char **nl = realloc(list, (cap = cap ? cap * 2 : 16) * sizeof(*list));
			if (!nl) {
				first = -ENOMEM;
				break;
			}
			list = nl;
		}
		if (!(list[n] = strdup(tok))) {
			first = -ENOMEM;
			break;
		}
		n++;
	}
	free(line);
	fclose(f);
	if (n)
		qsort(list, n, sizeof(*list), by_length_desc);
	for (size_t i = 0; i < n; i++) {
		/* stacked mounts and duplicates: until nothing is mounted there */
		while (umount2(list[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			;
		if (errno != EINVAL && errno != ENOENT && first == 0) {
			first = -errno;
			log_warn("unmount %s: %m", list[i]);
		}
		free(list[i]);
	}
	free(list);
	return first;
}

int rt_shared_dir_remove(const struct rt_container *c, const char *sub)
{
	char dir[PATH_MAX];
	if (sub_valid(sub) < 0 || !sub || shared_path(c, sub, dir, sizeof(dir)) < 0)
		return -EINVAL;
	int r = unmount_below(dir);
	if (r < 0)
		return r;
	/* only empty directories and the empty files binds were made on */
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno == EISDIR &&
		    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 && r == 0)
			r = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && r == 0)
		r = -errno;
	return r;
}

int rt_shared_dir_release(const struct rt_container *c)
{
	char dir[PATH_MAX];
	if (shared_path(c, NULL, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	return unmount_below(dir);
}
