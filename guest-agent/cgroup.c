// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup v2 (Documentation/admin-guide/cgroup-v2.rst) for containers.
 *
 * Layout: ROOT (the guest's /sys/fs/cgroup, or --cgroup-root in host mode)
 * gets every controller enabled in cgroup.subtree_control; containers live in
 * ROOT/hull/<id> so the "no internal processes" rule never bites: ROOT/hull
 * holds no process itself. OCI resources map to v2 files the way runc and crun
 * convert them (cpu.shares -> cpu.weight, blkio weight -> io.weight).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "oci/spec.h"

static int cg_write(const char *dir, const char *file, const char *value, struct err **err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "open %s", path);
	if (write(fd, value, strlen(value)) < 0)
		return err_set(err, errno, "write '%s' to %s", value, path);
	return 0;
}

static int cg_read(const char *dir, const char *file, char **out)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return fd_read_file(path, out, NULL, 1 << 20);
}

int agent_cgroup_kv_get(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			*out = strtoull(l + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

/* Is word in the space-separated list? */
static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* Enable every controller dir has in its subtree_control. */
static int enable_controllers(const char *dir, struct err **err)
{
	_cleanup_free_ char *ctrls = NULL;
	int r = cg_read(dir, "cgroup.controllers", &ctrls);
	if (r < 0)
		return err_set(err, -r, "read %s/cgroup.controllers", dir);
	char *save = NULL;
	for (char *c = strtok_r(ctrls, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		char buf[64];
		snprintf(buf, sizeof(buf), "+%s", c);
		/* One at a time: a controller that cannot be enabled (e.g.
		 * cpu with realtime tasks) must not block the others. */
		if (cg_write(dir, "cgroup.subtree_control", buf, err) < 0) {
			log_warn("cgroup: %s", err_msg(*err));
			err_free(err);
		}
	}
	return 0;
}

int agent_cgroup_root_init(const char *root, struct err **err)
{
	struct statfs sfs;
	if (statfs(root, &sfs) < 0)
		return err_set(err, errno, "statfs %s", root);
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return err_set(err, 0, "%s is not a cgroup2 mount", root);
	int r = enable_controllers(root, err);
	if (r < 0)
		return r;
	char hull[PATH_MAX];
	snprintf(hull, sizeof(hull), "%s/hull", root);
	if (mkdir(hull, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s", hull);
	return enable_controllers(hull, err);
}

bool agent_cgroup_needed(const struct oci_resources *res)
{
	if (!res)
		return false;
	if (res->memory &&
	    (res->memory->has_limit || res->memory->has_swap || res->memory->has_reservation))
		return true;
	if (res->cpu && (res->cpu->has_quota || res->cpu->has_shares || res->cpu->cpus))
		return true;
	if (res->pids && res->pids->limit > 0)
		return true;
	if (res->block_io && res->block_io->has_weight && res->block_io->weight)
		return true;
	return res->unified.n > 0;
}

int agent_cgroup_create(const char *root, const char *id, const char *cgroups_path, char **out,
			struct err **err)
{
	char path[PATH_MAX];
	/* A spec path is taken relative to the agent's root; ".." is refused
	 * so a spec cannot pick a cgroup outside it. */
	if (cgroups_path && cgroups_path[0] && !strstr(cgroups_path, "..") &&
	    !strchr(cgroups_path, ':'))
		snprintf(path, sizeof(path), "%s/%s", root,
			 cgroups_path + strspn(cgroups_path, "/"));
	else
		snprintf(path, sizeof(path), "%s/hull/%s", root, id);
	/* mkdir -p below root */
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s", path);
		struct err *e = NULL;
		enable_controllers(path, &e);
		err_free(&e);
		*s = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s", path);
	*out = strdup(path);
	return *out ? 0 : err_set(err, ENOMEM, "cgroup path");
}

uint64_t agent_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 100;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t agent_cgroup_blkio_to_io_weight(uint64_t w)
{
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + ((w - 10) * 9999) / 990;
}

void agent_cgroup_cpu_max(int64_t quota, uint64_t period, char *buf, size_t len)
{
	if (!period)
		period = 100000;
	if (quota <= 0)
		snprintf(buf, len, "max %" PRIu64, period);
	else
		snprintf(buf, len, "%" PRId64 " %" PRIu64, quota, period);
}

static int need_controller(const char *dir, const char *ctrl, struct err **err)
{
	_cleanup_free_ char *ctrls = NULL;
	int r = cg_read(dir, "cgroup.controllers", &ctrls);
	if (r < 0)
		return err_set(err, -r, "read %s/cgroup.controllers", dir);
	if (!word_in(ctrls, ctrl))
		return err_set(err, EOPNOTSUPP, "cgroup2 controller '%s' is not available in %s",
			       ctrl, dir);
	return 0;
}

static void fmt_limit(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%" PRId64, v);
}

static int apply_memory(const char *dir, const struct oci_memory *m, struct err **err)
{
	char buf[64];
	int r = need_controller(dir, "memory", err);
	if (r < 0)
		return r;
	if (m->has_limit) {
		fmt_limit(m->limit, buf, sizeof(buf));
		if ((r = cg_write(dir, "memory.max", buf, err)) < 0)
			return r;
	}
	if (m->has_reservation) {
		fmt_limit(m->reservation, buf, sizeof(buf));
		if ((r = cg_write(dir, "memory.low", buf, err)) < 0)
			return r;
	}
	/* OCI swap is memory+swap (v1 semantics); v2 wants swap alone. */
	if (m->has_swap && access("/proc/swaps", F_OK) == 0) {
		int64_t swap = m->swap;
		if (swap >= 0 && m->has_limit && m->limit >= 0)
			swap = swap > m->limit ? swap - m->limit : 0;
		fmt_limit(swap, buf, sizeof(buf));
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
		if (access(path, F_OK) == 0 && (r = cg_write(dir, "memory.swap.max", buf, err)) < 0)
			return r;
	}
	return 0;
}

static int apply_cpu(const char *dir, const struct oci_cpu *c, struct err **err)
{
	char buf[64];
	int r;
	if (c->has_quota || c->has_shares || c->has_period) {
		if ((r = need_controller(dir, "cpu", err)) < 0)
			return r;
	}
	if (c->has_quota || c->has_period) {
		agent_cgroup_cpu_max(c->has_quota ? c->quota : -1, c->has_period ? c->period : 0,
				     buf, sizeof(buf));
		if ((r = cg_write(dir, "cpu.max", buf, err)) < 0)
			return r;
	}
	if (c->has_shares) {
		snprintf(buf, sizeof(buf), "%" PRIu64, agent_cgroup_shares_to_weight(c->shares));
		if ((r = cg_write(dir, "cpu.weight", buf, err)) < 0)
			return r;
	}
	if (c->cpus || c->mems) {
		if ((r = need_controller(dir, "cpuset", err)) < 0)
			return r;
		if (c->cpus && (r = cg_write(dir, "cpuset.cpus", c->cpus, err)) < 0)
			return r;
		if (c->mems && (r = cg_write(dir, "cpuset.mems", c->mems, err)) < 0)
			return r;
	}
	return 0;
}

int agent_cgroup_apply(const char *dir, const struct oci_resources *res, struct err **err)
{
	if (!res)
		return 0;
	char buf[64];
	int r;
	if (res->memory && (r = apply_memory(dir, res->memory, err)) < 0)
		return r;
	if (res->cpu && (r = apply_cpu(dir, res->cpu, err)) < 0)
		return r;
	if (res->pids) {
		if ((r = need_controller(dir, "pids", err)) < 0)
			return r;
		fmt_limit(res->pids->limit > 0 ? res->pids->limit : -1, buf, sizeof(buf));
		if ((r = cg_write(dir, "pids.max", buf, err)) < 0)
			return r;
	}
	if (res->block_io && res->block_io->has_weight && res->block_io->weight) {
		if ((r = need_controller(dir, "io", err)) < 0)
			return r;
		snprintf(buf, sizeof(buf), "default %" PRIu64,
			 agent_cgroup_blkio_to_io_weight(res->block_io->weight));
		if ((r = cg_write(dir, "io.weight", buf, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < res->unified.n; i++) {
		const char *k = res->unified.items[i].key;
		if (strchr(k, '/') || k[0] == '.')
			return err_set(err, 0, "unified: bad cgroup file name '%s'", k);
		if ((r = cg_write(dir, k, res->unified.items[i].value, err)) < 0)
			return r;
	}
	return 0;
}

int agent_cgroup_join(const char *dir, pid_t pid, struct err **err)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return cg_write(dir, "cgroup.procs", buf, err);
}

int agent_cgroup_freeze(const char *dir, bool frozen, struct err **err)
{
	int r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err);
	if (r < 0)
		return r;
	/* cgroup.events says "frozen 1" once every task has stopped. */
	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *ev = NULL;
		uint64_t f = 0;
		if (cg_read(dir, "cgroup.events", &ev) < 0 ||
		    agent_cgroup_kv_get(ev, "frozen", &f) < 0)
			return 0;
		if ((f != 0) == frozen)
			return 0;
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
	return err_set(err, ETIMEDOUT, "%s %s", frozen ? "freeze" : "thaw", dir);
}

int agent_cgroup_pids(const char *dir, pid_t **out, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	int r = cg_read(dir, "cgroup.procs", &text);
	if (r < 0)
		return r;
	size_t cap = 16, cnt = 0;
	pid_t *pids = malloc(cap * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	char *save = NULL;
	for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (cnt == cap) {
			pid_t *np = realloc(pids, (cap *= 2) * sizeof(*pids));
			if (!np) {
				free(pids);
				return -ENOMEM;
			}
			pids = np;
		}
		pids[cnt++] = (pid_t)atoi(t);
	}
	*out = pids;
	*n = cnt;
	return 0;
}

int agent_cgroup_kill(const char *dir, int sig)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	if (sig == SIGKILL && access(path, F_OK) == 0) {
		struct err *e = NULL;
		int r = cg_write(dir, "cgroup.kill", "1", &e);
		err_free(&e);
		if (r == 0)
			return 0;
	}
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r = agent_cgroup_pids(dir, &pids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
	return 0;
}

int agent_cgroup_remove(const char *dir, struct err **err)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		agent_cgroup_kill(dir, SIGKILL);
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
	return err_set(err, errno, "rmdir %s", dir);
}

int agent_cgroup_oom_count(const char *dir, uint64_t *out)
{
	_cleanup_free_ char *ev = NULL;
	int r = cg_read(dir, "memory.events", &ev);
	if (r < 0)
		return r;
	return agent_cgroup_kv_get(ev, "oom_kill", out);
}

static uint64_t read_u64(const char *dir, const char *file)
{
	_cleanup_free_ char *t = NULL;
	if (cg_read(dir, file, &t) < 0 || strncmp(t, "max", 3) == 0)
		return 0;
	return strtoull(t, NULL, 10);
}

/* io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." per device. */
static void io_stat_sum(const char *text, struct agent_cgroup_stats *st)
{
	static const char *keys[] = {"rbytes=", "wbytes=", "rios=", "wios="};
	uint64_t *dst[] = {&st->io_read_bytes, &st->io_write_bytes, &st->io_read_ops,
			   &st->io_write_ops};
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		for (const char *p = text; (p = strstr(p, keys[k])); p += strlen(keys[k]))
			*dst[k] += strtoull(p + strlen(keys[k]), NULL, 10);
}

int agent_cgroup_stats(const char *dir, struct agent_cgroup_stats *st, struct err **err)
{
	memset(st, 0, sizeof(*st));
	_cleanup_free_ char *cpu = NULL, *mev = NULL, *io = NULL;
	if (cg_read(dir, "cpu.stat", &cpu) < 0)
		return err_set(err, errno ? errno : EIO, "read %s/cpu.stat", dir);
	agent_cgroup_kv_get(cpu, "usage_usec", &st->cpu_usage_usec);
	agent_cgroup_kv_get(cpu, "user_usec", &st->cpu_user_usec);
	agent_cgroup_kv_get(cpu, "system_usec", &st->cpu_system_usec);
	agent_cgroup_kv_get(cpu, "nr_throttled", &st->cpu_nr_throttled);
	agent_cgroup_kv_get(cpu, "throttled_usec", &st->cpu_throttled_usec);
	st->memory_usage = read_u64(dir, "memory.current");
	st->memory_limit = read_u64(dir, "memory.max");
	st->memory_max_usage = read_u64(dir, "memory.peak");
	if (cg_read(dir, "memory.events", &mev) == 0)
		agent_cgroup_kv_get(mev, "oom_kill", &st->memory_oom_kill);
	st->pids_current = read_u64(dir, "pids.current");
	st->pids_limit = read_u64(dir, "pids.max");
	if (cg_read(dir, "io.stat", &io) == 0)
		io_stat_sum(io, st);
	return 0;
}
