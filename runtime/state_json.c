// SPDX-License-Identifier: Apache-2.0
/*
 * state.json, the record of one container under --root. The file is written
 * only by hull, but it sits on disk where a bug or a person may damage it, so
 * parsing bounds-checks every field and names the one that is wrong.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/net.h"
#include "runtime/state.h"

static const char *const status_names[] = {
    [RT_STATUS_CREATING] = "creating", [RT_STATUS_CREATED] = "created",
    [RT_STATUS_RUNNING] = "running",   [RT_STATUS_PAUSED] = "paused",
    [RT_STATUS_STOPPED] = "stopped",
};

const char *rt_status_name(enum rt_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

int rt_status_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (strcmp(name, status_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

int rt_id_validate(const char *id, struct err **err)
{
	size_t n = strlen(id);
	bool ok = n > 0 && n <= RT_ID_MAX && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
	for (size_t i = 0; ok && i < n; i++) {
		char c = id[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '_' || c == '+' || c == '-' || c == '.';
	}
	if (!ok)
		return err_set(err, 0, "invalid id format: %s", id);
	return 0;
}

void rt_time_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t w = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + w, len - w, ".%09ldZ", ts.tv_nsec);
}

void rt_state_free(struct rt_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->vsock);
	free(st->console_log);
	for (size_t i = 0; i < st->annotations.n; i++) {
		free(st->annotations.items[i].key);
		free(st->annotations.items[i].value);
	}
	free(st->annotations.items);
	for (size_t i = 0; i < st->n_virtiofsd; i++) {
		free(st->virtiofsd[i].socket);
		free(st->virtiofsd[i].shared);
	}
	free(st->virtiofsd);
	free(st->netns);
	for (size_t i = 0; i < st->n_net_links; i++)
		free(st->net_links[i]);
	free(st->net_links);
	memset(st, 0, sizeof(*st));
}

/* ---- writing ---------------------------------------------------------------------------- */

static int gen_proc(yajl_gen g, const char *pid_key, const char *start_key, const struct rt_proc *p)
{
	int r = rt_json_kv_int(g, pid_key, p->pid);
	/* start times fit in 63 bits for 10^9 years of uptime */
	return r < 0 ? r : rt_json_kv_int(g, start_key, (long long)p->start);
}

static int gen_virtiofsd(yajl_gen g, const struct rt_state *st)
{
	int r = rt_json_str(g, "virtiofsd");
	if (r < 0 || yajl_gen_array_open(g) != yajl_gen_status_ok)
		return -EINVAL;
	for (size_t i = 0; i < st->n_virtiofsd && r >= 0; i++) {
		const struct rt_virtiofsd *v = &st->virtiofsd[i];
		yajl_gen_map_open(g);
		r = gen_proc(g, "pid", "start", &v->proc);
		if (r >= 0)
			r = rt_json_kv_str(g, "socket", v->socket);
		if (r >= 0)
			r = rt_json_kv_str(g, "shared", v->shared);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	return r;
}

static int gen_state(yajl_gen g, const struct rt_state *st)
{
	int r = 0;
	yajl_gen_map_open(g);
	r = rt_json_kv_str(g, "id", st->id);
	if (r >= 0)
		r = rt_json_kv_str(g, "bundle", st->bundle);
	if (r >= 0)
		r = rt_json_kv_str(g, "rootfs", st->rootfs);
	if (r >= 0)
		r = gen_proc(g, "pid", "pid_start", &st->vmm);
	if (r >= 0 && st->monitor.pid > 0)
		r = gen_proc(g, "monitor_pid", "monitor_start", &st->monitor);
	if (r >= 0)
		r = rt_json_kv_str(g, "status", rt_status_name(st->status));
	if (r >= 0)
		r = rt_json_kv_str(g, "created", st->created);
	if (r >= 0 && (r = rt_json_str(g, "annotations")) >= 0) {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < st->annotations.n && r >= 0; i++)
			r = rt_json_kv_str(g, st->annotations.items[i].key,
					   st->annotations.items[i].value);
		yajl_gen_map_close(g);
	}
	if (r >= 0)
		r = rt_json_kv_str(g, "vsock", st->vsock);
	if (r >= 0)
		r = rt_json_kv_str(g, "console_log", st->console_log);
	if (r >= 0)
		r = gen_virtiofsd(g, st);
	if (r >= 0 && st->netns) {
		r = rt_json_kv_str(g, "netns", st->netns);
		if (r >= 0 && (r = rt_json_str(g, "net_links")) >= 0) {
			yajl_gen_array_open(g);
			for (size_t i = 0; i < st->n_net_links && r >= 0; i++)
				r = rt_json_str(g, st->net_links[i]);
			yajl_gen_array_close(g);
		}
	}
	yajl_gen_map_close(g);
	return r;
}

int rt_state_to_json(const struct rt_state *st, char **json, size_t *len, struct err **err)
{
	if (!st->id || !st->bundle || !st->created)
		return err_set(err, 0, "state: id, bundle and created are required");
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return err_set(err, ENOMEM, "state");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	int r = gen_state(g, st);
	if (r >= 0)
		r = rt_json_take(g, json, len);
	yajl_gen_free(g);
	if (r < 0)
		return err_set(err, -r, "state: write JSON");
	return 0;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static int get_str(yajl_val v, const char *name, char **dst, struct err **err)
{
	if (!YAJL_IS_STRING(v))
		return err_set(err, 0, "%s: expected a string", name);
	if (!(*dst = strdup(v->u.string)))
		return err_set(err, ENOMEM, "%s", name);
	return 0;
}

static int get_abs(yajl_val v, const char *name, char **dst, struct err **err)
{
	int r = get_str(v, name, dst, err);
	if (r >= 0 && (*dst)[0] != '/')
		return err_set(err, 0, "%s: expected an absolute path", name);
	return r;
}

static int get_int(yajl_val v, const char *name, long long min, long long max, long long *dst,
		   struct err **err)
{
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max)
		return err_set(err, 0, "%s: expected an integer in %lld..%lld", name, min, max);
	*dst = YAJL_GET_INTEGER(v);
	return 0;
}

static int get_pid(yajl_val v, const char *name, pid_t *dst, struct err **err)
{
	long long x = 0;
	int r = get_int(v, name, 0, INT_MAX, &x, err);
	*dst = (pid_t)x;
	return r;
}

static int get_start(yajl_val v, const char *name, uint64_t *dst, struct err **err)
{
	long long x = 0;
	int r = get_int(v, name, 0, LLONG_MAX, &x, err);
	*dst = (uint64_t)x;
	return r;
}

static int get_annotations(yajl_val v, struct oci_map *m, struct err **err)
{
	if (!YAJL_IS_OBJECT(v))
		return err_set(err, 0, "annotations: expected an object");
	size_t n = v->u.object.len;
	if (n == 0)
		return 0;
	m->items = calloc(n, sizeof(*m->items));
	if (!m->items)
		return err_set(err, ENOMEM, "annotations");
	for (size_t i = 0; i < n; i++) {
		const char *k = v->u.object.keys[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->items[j].key, k) == 0)
				return err_set(err, 0, "annotations.%s: duplicate key", k);
		char name[64];
		snprintf(name, sizeof(name), "annotations.%.40s", k);
		if (!(m->items[i].key = strdup(k)))
			return err_set(err, ENOMEM, "annotations");
		m->n++;
		int r = get_str(v->u.object.values[i], name, &m->items[i].value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int get_one_fsd(yajl_val v, size_t idx, struct rt_virtiofsd *f, struct err **err)
{
	char name[64];
	if (!YAJL_IS_OBJECT(v))
		return err_set(err, 0, "virtiofsd[%zu]: expected an object", idx);
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val x = v->u.object.values[i];
		snprintf(name, sizeof(name), "virtiofsd[%zu].%.20s", idx, k);
		int r = 0;
		if (strcmp(k, "pid") == 0)
			r = get_pid(x, name, &f->proc.pid, err);
		else if (strcmp(k, "start") == 0)
			r = get_start(x, name, &f->proc.start, err);
		else if (strcmp(k, "socket") == 0 && !f->socket)
			r = get_abs(x, name, &f->socket, err);
		else if (strcmp(k, "shared") == 0 && !f->shared)
			r = get_abs(x, name, &f->shared, err);
		else
			r = err_set(err, 0, "%s: unknown or duplicate field", name);
		if (r < 0)
			return r;
	}
	return 0;
}

static int get_virtiofsd(yajl_val v, struct rt_state *st, struct err **err)
{
	if (!YAJL_IS_ARRAY(v))
		return err_set(err, 0, "virtiofsd: expected an array");
	size_t n = v->u.array.len;
	if (n > RT_STATE_MAX_FSD)
		return err_set(err, 0, "virtiofsd: more than %d entries", RT_STATE_MAX_FSD);
	if (n == 0)
		return 0;
	st->virtiofsd = calloc(n, sizeof(*st->virtiofsd));
	if (!st->virtiofsd)
		return err_set(err, ENOMEM, "virtiofsd");
	for (size_t i = 0; i < n; i++) {
		st->n_virtiofsd++;
		int r = get_one_fsd(v->u.array.values[i], i, &st->virtiofsd[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int get_net_links(yajl_val v, struct rt_state *st, struct err **err)
{
	if (!YAJL_IS_ARRAY(v))
		return err_set(err, 0, "net_links: expected an array");
	size_t n = v->u.array.len;
	if (n > RT_NET_MAX_LINKS)
		return err_set(err, 0, "net_links: more than %d entries", RT_NET_MAX_LINKS);
	if (n == 0)
		return 0;
	if (!(st->net_links = calloc(n, sizeof(*st->net_links))))
		return err_set(err, ENOMEM, "net_links");
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "net_links[%zu]", i);
		int r = get_str(v->u.array.values[i], name, &st->net_links[i], err);
		if (r < 0)
			return r;
		st->n_net_links++;
		size_t len = strlen(st->net_links[i]);
		if (len == 0 || len >= 16 || strchr(st->net_links[i], '/'))
			return err_set(err, 0, "%s: not an interface name", name);
	}
	return 0;
}

/* One top-level field; a field given twice is refused (yajl keeps both). */
static int get_field(struct rt_state *st, const char *k, yajl_val v, unsigned *seen,
		     struct err **err)
{
	static const char *const fields[] = {
	    "id",        "bundle",      "rootfs",        "pid",   "pid_start",
	    "status",    "created",     "annotations",   "vsock", "console_log",
	    "virtiofsd", "monitor_pid", "monitor_start", "netns", "net_links"};
	size_t f = 0;
	while (f < ARRAY_SIZE(fields) && strcmp(fields[f], k) != 0)
		f++;
	if (f == ARRAY_SIZE(fields))
		return err_set(err, 0, "%s: unknown field", k);
	if (*seen & (1u << f))
		return err_set(err, 0, "%s: duplicate field", k);
	*seen |= 1u << f;

	switch (f) {
	case 0: {
		int r = get_str(v, k, &st->id, err);
		return r < 0 ? r : rt_id_validate(st->id, err);
	}
	case 1:
		return get_abs(v, k, &st->bundle, err);
	case 2:
		return get_abs(v, k, &st->rootfs, err);
	case 3:
		return get_pid(v, k, &st->vmm.pid, err);
	case 4:
		return get_start(v, k, &st->vmm.start, err);
	case 5: {
		int s = YAJL_IS_STRING(v) ? rt_status_parse(v->u.string) : -EINVAL;
		if (s < 0)
			return err_set(err, 0,
				       "status: expected creating|created|running|paused|stopped");
		st->status = (enum rt_status)s;
		return 0;
	}
	case 6:
		return get_str(v, k, &st->created, err);
	case 7:
		return get_annotations(v, &st->annotations, err);
	case 8:
		return get_abs(v, k, &st->vsock, err);
	case 9:
		return get_abs(v, k, &st->console_log, err);
	case 10:
		return get_virtiofsd(v, st, err);
	case 11:
		return get_pid(v, k, &st->monitor.pid, err);
	case 13:
		return get_abs(v, k, &st->netns, err);
	case 14:
		return get_net_links(v, st, err);
	default:
		return get_start(v, k, &st->monitor.start, err);
	}
}

int rt_state_parse(const char *json, size_t len, struct rt_state *st, struct err **err)
{
	memset(st, 0, sizeof(*st));
	yajl_val root = NULL;
	int r = rt_json_parse(json, len, RT_STATE_MAX_SIZE, &root, err);
	if (r < 0)
		return r;
	unsigned seen = 0;
	for (size_t i = 0; i < root->u.object.len && r >= 0; i++)
		r = get_field(st, root->u.object.keys[i], root->u.object.values[i], &seen, err);
	yajl_tree_free(root);
	if (r >= 0 && (!st->id || !st->bundle || !st->created))
		r = err_set(err, 0, "%s: required field missing",
			    !st->id       ? "id"
			    : !st->bundle ? "bundle"
					  : "created");
	if (r < 0)
		rt_state_free(st);
	return r < 0 ? r : 0;
}
