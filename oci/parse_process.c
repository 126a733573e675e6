// SPDX-License-Identifier: Apache-2.0
/*
 * Reading the "process" object (config.md "Process", config-linux.md for the
 * POSIX user, capabilities, rlimits, ioPriority). Used for config.json's
 * process and for a standalone process.json (`runc exec -p`).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "internal.h"

static int read_user(struct jctx *c, yajl_val v, struct oci_user *u)
{
	int r;
	if ((r = j_u32(c, v, "uid", &u->uid, J_REQ)) < 0)
		return r;
	if ((r = j_u32(c, v, "gid", &u->gid, J_REQ)) < 0)
		return r;
	if ((r = j_u32(c, v, "umask", &u->umask, 0)) < 0)
		return r;
	u->has_umask = r;
	if ((r = j_str(c, v, "username", &u->username, 0)) < 0)
		return r;

	yajl_val a;
	if ((r = j_arr(c, v, "additionalGids", &a, 0)) <= 0)
		return r;
	size_t n = a->u.array.len;
	size_t kmark = jctx_push_key(c, "additionalGids");
	uint32_t *g = jctx_calloc(c, n, sizeof(*g));
	if (!g) {
		jctx_pop(c, kmark);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		uint64_t x = 0;
		size_t mark = jctx_push_index(c, i);
		r = jv_u64(c, a->u.array.values[i], UINT32_MAX, &x);
		jctx_pop(c, mark);
		g[i] = (uint32_t)x;
	}
	jctx_pop(c, kmark);
	if (r < 0) {
		free(g);
		return r;
	}
	free(u->additional_gids);
	u->additional_gids = g;
	u->additional_gids_len = n;
	return 0;
}

/* One capability set: names are checked, canonicalised and numbered. */
static int read_capset(struct jctx *c, yajl_val v, const char *key, struct oci_capset *set)
{
	int r = j_strv(c, v, key, &set->names, 0);
	if (r <= 0)
		return r;
	int *nums = jctx_calloc(c, set->names.n, sizeof(*nums));
	if (!nums)
		return -ENOMEM;
	free(set->nums);
	set->nums = nums;
	set->mask = 0;
	for (size_t i = 0; i < set->names.n; i++) {
		int cap = oci_cap_parse(set->names.items[i]);
		if (cap < 0) {
			size_t kmark = jctx_push_key(c, key);
			size_t mark = jctx_push_index(c, i);
			r = jctx_fail(c, "unknown capability \"%.64s\"", set->names.items[i]);
			jctx_pop(c, mark);
			jctx_pop(c, kmark);
			return r;
		}
		/* Canonical spelling, so writers and the agent see "CAP_X". */
		const char *canon = oci_cap_name(cap);
		if (strcmp(canon, set->names.items[i]) != 0) {
			char *s = strdup(canon);
			if (!s)
				return err_set(c->err, ENOMEM, "%s", c->path);
			free(set->names.items[i]);
			set->names.items[i] = s;
		}
		nums[i] = cap;
		set->mask |= UINT64_C(1) << cap;
	}
	return 0;
}

static int read_capabilities(struct jctx *c, yajl_val v, struct oci_process *p)
{
	yajl_val o;
	int r = j_obj(c, v, "capabilities", &o, 0);
	if (r <= 0)
		return r;
	if (!p->capabilities) {
		p->capabilities = jctx_calloc(c, 1, sizeof(*p->capabilities));
		if (!p->capabilities)
			return -ENOMEM;
	}
	struct oci_capabilities *caps = p->capabilities;
	size_t mark = jctx_push_key(c, "capabilities");
	if ((r = read_capset(c, o, "bounding", &caps->bounding)) >= 0 &&
	    (r = read_capset(c, o, "effective", &caps->effective)) >= 0 &&
	    (r = read_capset(c, o, "inheritable", &caps->inheritable)) >= 0 &&
	    (r = read_capset(c, o, "permitted", &caps->permitted)) >= 0)
		r = read_capset(c, o, "ambient", &caps->ambient);
	jctx_pop(c, mark);
	return r;
}

static int read_rlimit(struct jctx *c, yajl_val e, struct oci_rlimit *rl)
{
	int r = jv_obj(c, e);
	if (r < 0)
		return r;
	if ((r = j_str(c, e, "type", &rl->type, J_REQ)) < 0)
		return r;
	rl->resource = oci_rlimit_parse(rl->type);
	if (rl->resource < 0)
		return jctx_fail_key(c, "type", "unknown rlimit \"%.64s\"", rl->type);
	if ((r = j_u64(c, e, "hard", UINT64_MAX, &rl->hard, J_REQ)) < 0)
		return r;
	return j_u64(c, e, "soft", UINT64_MAX, &rl->soft, J_REQ);
}

static int read_rlimits(struct jctx *c, yajl_val v, struct oci_process *p)
{
	yajl_val a;
	int r = j_arr(c, v, "rlimits", &a, 0);
	if (r <= 0)
		return r;
	size_t n = a->u.array.len;
	struct oci_rlimit *rl = jctx_calloc(c, n, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	p->rlimits = rl;
	p->rlimits_len = n;
	size_t kmark = jctx_push_key(c, "rlimits");
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark = jctx_push_index(c, i);
		r = read_rlimit(c, a->u.array.values[i], &rl[i]);
		jctx_pop(c, mark);
	}
	jctx_pop(c, kmark);
	return r;
}

static int read_console_size(struct jctx *c, yajl_val v, struct oci_process *p)
{
	yajl_val o;
	int r = j_obj(c, v, "consoleSize", &o, 0);
	if (r <= 0)
		return r;
	size_t mark = jctx_push_key(c, "consoleSize");
	if ((r = j_u32(c, o, "height", &p->console_height, J_REQ)) >= 0)
		r = j_u32(c, o, "width", &p->console_width, J_REQ);
	jctx_pop(c, mark);
	p->has_console_size = r >= 0;
	return r;
}

static int read_io_priority(struct jctx *c, yajl_val v, struct oci_process *p)
{
	yajl_val o;
	int r = j_obj(c, v, "ioPriority", &o, 0);
	if (r <= 0)
		return r;
	if (!p->io_priority) {
		p->io_priority = jctx_calloc(c, 1, sizeof(*p->io_priority));
		if (!p->io_priority)
			return -ENOMEM;
	}
	struct oci_io_priority *io = p->io_priority;
	size_t mark = jctx_push_key(c, "ioPriority");
	r = j_str(c, o, "class", &io->class_name, J_REQ);
	if (r >= 0) {
		io->class_num = oci_ioprio_class_parse(io->class_name);
		if (io->class_num < 0)
			r = jctx_fail_key(c, "class", "unknown I/O priority class \"%.64s\"",
					  io->class_name);
	}
	int64_t prio = 0;
	if (r >= 0)
		r = j_i64(c, o, "priority", 0, 7, &prio, 0);
	io->priority = (int)prio;
	jctx_pop(c, mark);
	return r;
}

int oci_process_read(struct jctx *c, yajl_val v, struct oci_process *p)
{
	int r;
	yajl_val user;
	if ((r = j_bool(c, v, "terminal", &p->terminal, 0)) < 0)
		return r;
	if ((r = read_console_size(c, v, p)) < 0)
		return r;
	if ((r = j_obj(c, v, "user", &user, 0)) < 0)
		return r;
	if (r > 0) {
		size_t mark = jctx_push_key(c, "user");
		r = read_user(c, user, &p->user);
		jctx_pop(c, mark);
		if (r < 0)
			return r;
	}
	if ((r = j_strv(c, v, "args", &p->args, 0)) < 0)
		return r;
	if ((r = j_strv(c, v, "env", &p->env, 0)) < 0)
		return r;
	if ((r = j_str(c, v, "cwd", &p->cwd, J_REQ)) < 0)
		return r;
	if ((r = read_capabilities(c, v, p)) < 0)
		return r;
	if ((r = read_rlimits(c, v, p)) < 0)
		return r;
	if ((r = j_bool(c, v, "noNewPrivileges", &p->no_new_privileges, 0)) < 0)
		return r;
	int64_t adj = 0;
	if ((r = j_i64(c, v, "oomScoreAdj", INT32_MIN, INT32_MAX, &adj, 0)) < 0)
		return r;
	p->has_oom_score_adj = r;
	p->oom_score_adj = (int)adj;
	if ((r = j_str(c, v, "apparmorProfile", &p->apparmor_profile, 0)) < 0)
		return r;
	if ((r = j_str(c, v, "selinuxLabel", &p->selinux_label, 0)) < 0)
		return r;
	return read_io_priority(c, v, p);
}

int oci_process_parse(const char *json, size_t len, struct oci_process **out, struct err **err)
{
	yajl_val root;
	int r = json_tree_parse(json, len, &root, err);
	if (r < 0)
		return err_wrap(err, "process");
	struct oci_process *p = calloc(1, sizeof(*p));
	if (!p) {
		yajl_tree_free(root);
		return err_set(err, ENOMEM, "process");
	}
	struct jctx c;
	jctx_init(&c, err);
	r = oci_process_read(&c, root, p);
	yajl_tree_free(root);
	if (r < 0) {
		oci_process_free(p);
		return r;
	}
	*out = p;
	return 0;
}
