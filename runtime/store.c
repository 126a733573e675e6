// SPDX-License-Identifier: Apache-2.0
/* The per-container directories under --root; see runtime/state.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "runtime/state.h"

#define STATE_FILE "state.json"
#define STATE_TMP  "state.json.tmp"
#define RM_DEPTH   4 /* sandbox dirs are shallow; deeper trees are not ours */

void rt_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void rt_container_close(struct rt_container *c)
{
	if (c->dirfd >= 0)
		close(c->dirfd); /* drops the flock */
	rt_state_free(&c->state);
	free(c->root);
	free(c->dir);
	free(c);
}

static int container_new(const char *root, const char *id, struct rt_container **out,
			 struct err **err)
{
	struct rt_container *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, ENOMEM, "container %s", id);
	c->dirfd = -1;
	c->root = strdup(root);
	if (!c->root || asprintf(&c->dir, "%s/%s", root, id) < 0) {
		c->dir = NULL;
		rt_container_close(c);
		return err_set(err, ENOMEM, "container %s", id);
	}
	*out = c;
	return 0;
}

/* Lock the open directory, then make sure it was not removed meanwhile. */
static int lock_dir(struct rt_container *c, const char *id, bool exclusive, struct err **err)
{
	int r;
	do
		r = flock(c->dirfd, exclusive ? LOCK_EX : LOCK_SH);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(err, errno, "lock %s", c->dir);
	c->exclusive = exclusive;
	struct stat sb;
	if (fstat(c->dirfd, &sb) < 0)
		return err_set(err, errno, "stat %s", c->dir);
	if (sb.st_nlink == 0)
		return err_set(err, ENOENT, "container %s does not exist", id), -ENOENT;
	c->owner = sb.st_uid;
	return 0;
}

static int write_state(struct rt_container *c, struct err **err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	int r = rt_state_to_json(&c->state, &json, &len, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd =
	    openat(c->dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, errno, "create %s/%s", c->dir, STATE_TMP);
	ssize_t w = fd_write_full(fd, json, len);
	if (w < 0)
		return err_set(err, (int)-w, "write %s/%s", c->dir, STATE_TMP);
	/* fsync before rename: a crash must leave the old or the new file, whole */
	if (fsync(fd) < 0)
		return err_set(err, errno, "fsync %s/%s", c->dir, STATE_TMP);
	if (renameat(c->dirfd, STATE_TMP, c->dirfd, STATE_FILE) < 0)
		return err_set(err, errno, "rename %s/%s", c->dir, STATE_FILE);
	return 0;
}

int rt_container_save(struct rt_container *c, struct err **err)
{
	if (!c->exclusive)
		return err_set(err, EPERM, "container %s: save without the exclusive lock",
			       c->state.id);
	return write_state(c, err);
}

/* mkdir -p with mode 0700, as runc makes its --root. */
static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return errno = ENOMEM, -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int rt_container_create(const char *root, struct rt_state *st, struct rt_container **out,
			struct err **err)
{
	int r = rt_id_validate(st->id, err);
	if (r < 0)
		return r;
	if (mkdir_parents(root) < 0)
		return err_set(err, errno, "create root %s", root);
	struct rt_container *c = NULL;
	r = container_new(root, st->id, &c, err);
	if (r < 0)
		return r;
	if (mkdir(c->dir, 0700) < 0) {
		if (errno == EEXIST) {
			err_set(err, 0, "container with id %s already exists", st->id);
			r = -EEXIST;
		} else {
			r = err_set(err, errno, "create %s", c->dir);
		}
		rt_container_close(c);
		return r;
	}
	c->state = *st;
	memset(st, 0, sizeof(*st));
	c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		r = err_set(err, errno, "open %s", c->dir);
	if (r >= 0)
		r = lock_dir(c, c->state.id, true, err);
	if (r >= 0)
		r = write_state(c, err);
	if (r < 0) {
		rt_container_remove(c, NULL);
		rt_container_close(c);
		return r;
	}
	*out = c;
	return 0;
}

static int load_state(struct rt_container *c, const char *id, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_close_ int fd = openat(c->dirfd, STATE_FILE, O_RDONLY | O_CLOEXEC);
	/* A directory without state.json is a create that never finished. */
	if (fd < 0 && errno == ENOENT)
		return err_set(err, 0, "container %s does not exist", id), -ENOENT;
	if (fd < 0)
		return err_set(err, errno, "open %s/%s", c->dir, STATE_FILE);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = fd_read_file(path, &buf, &len, RT_STATE_MAX_SIZE);
	if (r < 0)
		return err_set(err, -r, "read %s/%s", c->dir, STATE_FILE);
	r = rt_state_parse(buf, len, &c->state, err);
	if (r < 0)
		return err_wrap(err, "%s/%s", c->dir, STATE_FILE);
	if (strcmp(c->state.id, id) != 0)
		return err_set(err, 0, "%s/%s: id is %s", c->dir, STATE_FILE, c->state.id);
	return 0;
}

int rt_container_open(const char *root, const char *id, bool exclusive, struct rt_container **out,
		      struct err **err)
{
	int r = rt_id_validate(id, err);
	if (r < 0)
		return r;
	struct rt_container *c = NULL;
	r = container_new(root, id, &c, err);
	if (r < 0)
		return r;
	c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		r = errno == ENOENT || errno == ENOTDIR
			? (err_set(err, 0, "container %s does not exist", id), -ENOENT)
			: err_set(err, errno, "open %s", c->dir);
	if (r >= 0)
		r = lock_dir(c, id, exclusive, err);
	if (r >= 0)
		r = load_state(c, id, err);
	if (r < 0) {
		rt_container_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* Remove everything inside dirfd (which is consumed). */
static int rm_contents(int dirfd, int depth)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -errno;
	}
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR || depth >= RM_DEPTH) {
			ret = -errno;
			continue;
		}
		/* Never into another mount (a shared-directory bind of a bundle's
		 * rootfs that is still there): that would delete the user's files. */
		struct statx here, sx;
		if (statx(dirfd, ".", 0, STATX_MNT_ID, &here) < 0 ||
		    statx(dirfd, e->d_name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0 ||
		    !(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != here.stx_mnt_id) {
			ret = -EBUSY;
			continue;
		}
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int r = sub < 0 ? -errno : rm_contents(sub, depth + 1);
		if (r == 0 && unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
			r = -errno;
		if (r < 0)
			ret = r;
	}
	closedir(d);
	return ret;
}

int rt_container_remove(struct rt_container *c, struct err **err)
{
	if (!c->exclusive || c->dirfd < 0)
		return err_set(err, EPERM, "remove %s without the exclusive lock", c->dir);
	/* rm_contents consumes its fd; keep ours (it holds the lock). */
	int fd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "open %s", c->dir);
	int r = rm_contents(fd, 0);
	if (r < 0)
		return err_set(err, -r, "remove the contents of %s", c->dir);
	if (rmdir(c->dir) < 0 && errno != ENOENT)
		return err_set(err, errno, "remove %s", c->dir);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_container_list(const char *root, char ***ids, size_t *n, struct err **err)
{
	*ids = NULL;
	*n = 0;
	DIR *d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : err_set(err, errno, "open root %s", root);
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		if (rt_id_validate(e->d_name, NULL) < 0)
			continue; /* ".", "..", and anything that is not a container */
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[cnt] = strdup(e->d_name))) {
			r = -ENOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	if (r < 0) {
		rt_strv_free(v, cnt);
		return err_set(err, -r, "list %s", root);
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*ids = v;
	*n = cnt;
	return 0;
}

int rt_container_remove_stale(const char *root, const char *id, struct err **err)
{
	int r = rt_id_validate(id, err);
	if (r < 0)
		return r;
	struct rt_container *c = NULL;
	r = container_new(root, id, &c, err);
	if (r < 0)
		return r;
	c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		r = errno == ENOENT ? 0 : err_set(err, errno, "open %s", c->dir);
	} else if ((r = lock_dir(c, id, true, NULL)) < 0) {
		r = r == -ENOENT ? 0 : err_set(err, -r, "lock %s", c->dir);
	} else if (faccessat(c->dirfd, STATE_FILE, F_OK, 0) == 0) {
		r = err_set(err, EEXIST, "%s holds a container", c->dir);
	} else {
		r = rt_container_remove(c, err);
	}
	rt_container_close(c);
	return r;
}
