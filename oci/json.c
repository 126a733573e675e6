// SPDX-License-Identifier: Apache-2.0
/*
 * Reading and writing JSON for oci/ on top of yajl; documents go through the
 * bounded front end in lib/json.c before yajl builds a tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/json.h"
#include "json.h"

void jctx_init(struct jctx *c, struct err **err)
{
	c->err = err;
	c->path[0] = '\0';
	c->len = 0;
}

/* Append to the path; a path too long for the buffer is truncated, never overflowed. */
static size_t push(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(struct jctx *c, const char *fmt, ...)
{
	size_t mark = c->len;
	if (c->len >= sizeof(c->path) - 1)
		return mark;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->path + c->len, sizeof(c->path) - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n;
	if (c->len >= sizeof(c->path))
		c->len = sizeof(c->path) - 1;
	return mark;
}

/*
 * Map keys come from the document: show at most 64 bytes of them, with
 * control bytes escaped, so an error message cannot carry forged log lines.
 */
size_t jctx_push_key(struct jctx *c, const char *key)
{
	char safe[64 * 4 + 4];
	size_t o = 0;
	for (size_t i = 0; key[i] && i < 64; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(safe + o, sizeof(safe) - o, "\\x%02x", ch);
		else
			safe[o++] = (char)ch;
	}
	if (strlen(key) > 64) {
		memcpy(safe + o, "...", 3);
		o += 3;
	}
	safe[o] = '\0';
	return c->len ? push(c, ".%s", safe) : push(c, "%s", safe);
}

size_t jctx_push_index(struct jctx *c, size_t i)
{
	return push(c, "[%zu]", i);
}

void jctx_pop(struct jctx *c, size_t mark)
{
	if (mark < sizeof(c->path)) {
		c->len = mark;
		c->path[mark] = '\0';
	}
}

static int vfail(struct jctx *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int vfail(struct jctx *c, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->len)
		return err_set(c->err, 0, "%s: %s", c->path, msg);
	return err_set(c->err, 0, "%s", msg);
}

int jctx_fail(struct jctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(c, fmt, ap);
	va_end(ap);
	return r;
}

int jctx_fail_key(struct jctx *c, const char *key, const char *fmt, ...)
{
	size_t mark = jctx_push_key(c, key);
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(c, fmt, ap);
	va_end(ap);
	jctx_pop(c, mark);
	return r;
}

void *jctx_calloc(struct jctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		err_set(c->err, ENOMEM, "%s", c->len ? c->path : "parse");
	return p;
}

/*
 * config.json, process.json and resources.json: the lib front end with the
 * OCI limits (runc reads them with Go's decoder, which refuses comments and
 * has no \u0000 problem; both are refused here). Its default wording is ours.
 */
int json_tree_parse(const char *json, size_t len, yajl_val *out, struct err **err)
{
	static const struct lib_json_limits limits = {
	    .max_size = OCI_MAX_SIZE,
	    .max_depth = OCI_MAX_DEPTH,
	    .max_values = OCI_MAX_VALUES,
	    .object = true,
	};
	struct lib_json_error je;
	int r = lib_json_parse(json, len, &limits, out, &je);
	return r < 0 ? lib_json_error_set(&je, err) : 0;
}

yajl_val jobj_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = obj->u.object.len; i-- > 0;) {
		if (strcmp(obj->u.object.keys[i], key) == 0) {
			yajl_val v = obj->u.object.values[i];
			return YAJL_IS_NULL(v) ? NULL : v;
		}
	}
	return NULL;
}

/* A short description of what a value is, for "expected X, got Y". */
static void describe(yajl_val v, char *buf, size_t size)
{
	switch (v->type) {
	case yajl_t_string: {
		size_t o = 0;
		buf[o++] = '"';
		const unsigned char *s = (const unsigned char *)v->u.string;
		size_t i;
		for (i = 0; s[i] && o + 6 < size && i < 40; i++) {
			if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\' || s[i] == 0x7f)
				o += (size_t)snprintf(buf + o, size - o, "\\x%02x", s[i]);
			else
				buf[o++] = (char)s[i];
		}
		if (s[i] && o + 4 < size) {
			memcpy(buf + o, "...", 3);
			o += 3;
		}
		buf[o++] = '"';
		buf[o] = '\0';
		break;
	}
	case yajl_t_number:
		snprintf(buf, size, "%.40s", v->u.number.r ? v->u.number.r : "a number");
		break;
	case yajl_t_object:
		snprintf(buf, size, "an object");
		break;
	case yajl_t_array:
		snprintf(buf, size, "an array");
		break;
	case yajl_t_true:
		snprintf(buf, size, "true");
		break;
	case yajl_t_false:
		snprintf(buf, size, "false");
		break;
	default:
		snprintf(buf, size, "null");
		break;
	}
}

static int wrong_type(struct jctx *c, yajl_val v, const char *expected)
{
	char got[64];
	describe(v, got, sizeof(got));
	return jctx_fail(c, "expected %s, got %s", expected, got);
}

/* Look up key; 0 if absent (error if required), 1 if present. */
static int lookup(struct jctx *c, yajl_val obj, const char *key, int flags, yajl_val *v)
{
	*v = jobj_get(obj, key);
	if (*v)
		return 1;
	if (flags & J_REQ)
		return jctx_fail_key(c, key, "missing required field");
	return 0;
}

int jv_obj(struct jctx *c, yajl_val v)
{
	return YAJL_IS_OBJECT(v) ? 0 : wrong_type(c, v, "an object");
}

int j_obj(struct jctx *c, yajl_val obj, const char *key, yajl_val *out, int flags)
{
	yajl_val v;
	int r = lookup(c, obj, key, flags, &v);
	if (r <= 0)
		return r;
	size_t mark = jctx_push_key(c, key);
	r = jv_obj(c, v);
	jctx_pop(c, mark);
	if (r < 0)
		return r;
	*out = v;
	return 1;
}

int j_arr(struct jctx *c, yajl_val obj, const char *key, yajl_val *out, int flags)
{
	yajl_val v;
	int r = lookup(c, obj, key, flags, &v);
	if (r <= 0)
		return r;
	if (!YAJL_IS_ARRAY(v)) {
		size_t mark = jctx_push_key(c, key);
		r = wrong_type(c, v, "an array");
		jctx_pop(c, mark);
		return r;
	}
	*out = v;
	return 1;
}

int jv_str(struct jctx *c, yajl_val v, char **out)
{
	if (!YAJL_IS_STRING(v))
		return wrong_type(c, v, "a string");
	char *s = strdup(v->u.string);
	if (!s)
		return err_set(c->err, ENOMEM, "%s", c->path);
	free(*out); /* a repeated field replaces the earlier value */
	*out = s;
	return 1;
}

int j_str(struct jctx *c, yajl_val obj, const char *key, char **out, int flags)
{
	yajl_val v;
	int r = lookup(c, obj, key, flags, &v);
	if (r <= 0)
		return r;
	size_t mark = jctx_push_key(c, key);
	r = jv_str(c, v, out);
	jctx_pop(c, mark);
	return r;
}

int j_bool(struct jctx *c, yajl_val obj, const char *key, bool *out, int flags)
{
	yajl_val v;
	int r = lookup(c, obj, key, flags, &v);
	if (r <= 0)
		return r;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
		size_t mark = jctx_push_key(c, key);
		r = wrong_type(c, v, "true or false");
		jctx_pop(c, mark);
		return r;
	}
	*out = YAJL_IS_TRUE(v);
	return 1;
}

/* An integer literal: optional '-', then digits only (no fraction, no exponent). */
static bool is_int_literal(const char *s)
{
	if (!s)
		return false;
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int jv_i64(struct jctx *c, yajl_val v, int64_t min, int64_t max, int64_t *out)
{
	if (!YAJL_IS_NUMBER(v) || !is_int_literal(v->u.number.r))
		return wrong_type(c, v, "an integer");
	errno = 0;
	char *end;
	long long n = strtoll(v->u.number.r, &end, 10);
	if (errno == ERANGE || *end || n < min || n > max)
		return jctx_fail(c, "%.40s is out of range (%" PRId64 "..%" PRId64 ")",
				 v->u.number.r, min, max);
	*out = n;
	return 1;
}

int jv_u64(struct jctx *c, yajl_val v, uint64_t max, uint64_t *out)
{
	if (!YAJL_IS_NUMBER(v) || !is_int_literal(v->u.number.r))
		return wrong_type(c, v, "an integer");
	const char *s = v->u.number.r;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	/* strtoull accepts "-1" as ULLONG_MAX: refuse signs explicitly. */
	if (s[0] == '-' || errno == ERANGE || *end || n > max)
		return jctx_fail(c, "%.40s is out of range (0..%" PRIu64 ")", s, max);
	*out = n;
	return 1;
}

int j_i64(struct jctx *c, yajl_val obj, const char *key, int64_t min, int64_t max, int64_t *out,
	  int flags)
{
	yajl_val v;
	int r = lookup(c, obj, key, flags, &v);
	if (r <= 0)
		return r;
	size_t mark = jctx_push_key(c, key);
	r = jv_i64(c, v, min, max, out);
	jctx_pop(c, mark);
	return r;
}

int j_u64(struct jctx *c, yajl_val obj, const char *key, uint64_t max, uint64_t *out, int flags)
{
	yajl_val v;
	int r = lookup(c, obj, key, flags, &v);
	if (r <= 0)
		return r;
	size_t mark = jctx_push_key(c, key);
	r = jv_u64(c, v, max, out);
	jctx_pop(c, mark);
	return r;
}

int j_u32(struct jctx *c, yajl_val obj, const char *key, uint32_t *out, int flags)
{
	uint64_t n = 0;
	int r = j_u64(c, obj, key, UINT32_MAX, &n, flags);
	if (r > 0)
		*out = (uint32_t)n;
	return r;
}

int j_strv(struct jctx *c, yajl_val obj, const char *key, struct oci_strv *out, int flags)
{
	yajl_val a;
	int r = j_arr(c, obj, key, &a, flags);
	if (r <= 0)
		return r;
	oci_strv_free(out);
	size_t n = a->u.array.len;
	size_t kmark = jctx_push_key(c, key);
	char **items = jctx_calloc(c, n + 1, sizeof(*items));
	if (!items) {
		jctx_pop(c, kmark);
		return -ENOMEM;
	}
	out->items = items;
	for (size_t i = 0; i < n; i++) {
		size_t mark = jctx_push_index(c, i);
		r = jv_str(c, a->u.array.values[i], &items[i]);
		jctx_pop(c, mark);
		if (r < 0) {
			oci_strv_free(out);
			jctx_pop(c, kmark);
			return r;
		}
		out->n = i + 1;
	}
	jctx_pop(c, kmark);
	return 1;
}

struct keyidx {
	const char *key;
	size_t idx;
};

static int keyidx_cmp(const void *a, const void *b)
{
	const struct keyidx *x = a, *y = b;
	int r = strcmp(x->key, y->key);
	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Which entries of an object survive de-duplication (the last of equal keys,
 * like Go's map decoding). Sorting keeps this O(n log n) for hostile input.
 */
bool *jobj_unique(struct jctx *c, yajl_val o)
{
	size_t n = o->u.object.len;
	bool *keep = jctx_calloc(c, n, sizeof(*keep));
	_cleanup_free_ struct keyidx *ki = jctx_calloc(c, n, sizeof(*ki));
	if (!keep || !ki) {
		free(keep);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		ki[i] = (struct keyidx){o->u.object.keys[i], i};
	qsort(ki, n, sizeof(*ki), keyidx_cmp);
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || strcmp(ki[i].key, ki[i + 1].key) != 0)
			keep[ki[i].idx] = true;
	return keep;
}

int j_map(struct jctx *c, yajl_val obj, const char *key, struct oci_map *out, int flags)
{
	yajl_val o;
	int r = j_obj(c, obj, key, &o, flags);
	if (r <= 0)
		return r;
	size_t n = o->u.object.len;
	size_t kmark = jctx_push_key(c, key);
	_cleanup_free_ bool *keep = jobj_unique(c, o);
	struct oci_kv *items = keep ? jctx_calloc(c, n, sizeof(*items)) : NULL;
	if (!items) {
		jctx_pop(c, kmark);
		return -ENOMEM;
	}
	size_t m = 0;
	r = 1;
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (!keep[i])
			continue;
		size_t mark = jctx_push_key(c, o->u.object.keys[i]);
		r = jv_str(c, o->u.object.values[i], &items[m].value);
		jctx_pop(c, mark);
		if (r >= 0) {
			items[m].key = strdup(o->u.object.keys[i]);
			if (!items[m].key)
				r = err_set(c->err, ENOMEM, "%s", c->path);
		}
		if (items[m].value)
			m++;
	}
	jctx_pop(c, kmark);
	/* Replace whatever was there (a repeated key) only once fully read. */
	struct oci_map fresh = {items, m};
	if (r < 0) {
		for (size_t i = 0; i < m; i++) {
			free(items[i].key);
			free(items[i].value);
		}
		free(items);
		return r;
	}
	for (size_t i = 0; i < out->n; i++) {
		free(out->items[i].key);
		free(out->items[i].value);
	}
	free(out->items);
	*out = fresh;
	return 1;
}

int j_idmaps(struct jctx *c, yajl_val obj, const char *key, struct oci_idmap **out, size_t *len)
{
	yajl_val a;
	int r = j_arr(c, obj, key, &a, 0);
	if (r <= 0)
		return r;
	size_t n = a->u.array.len;
	size_t kmark = jctx_push_key(c, key);
	struct oci_idmap *m = jctx_calloc(c, n, sizeof(*m));
	if (!m) {
		jctx_pop(c, kmark);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark = jctx_push_index(c, i);
		yajl_val e = a->u.array.values[i];
		r = jv_obj(c, e);
		if (r >= 0)
			r = j_u32(c, e, "containerID", &m[i].container_id, J_REQ);
		if (r >= 0)
			r = j_u32(c, e, "hostID", &m[i].host_id, J_REQ);
		if (r >= 0)
			r = j_u32(c, e, "size", &m[i].size, J_REQ);
		jctx_pop(c, mark);
	}
	jctx_pop(c, kmark);
	if (r < 0) {
		free(m);
		return r;
	}
	free(*out);
	*out = m;
	*len = n;
	return 1;
}

int j_list(struct jctx *c, yajl_val obj, const char *key, size_t size, void **items, size_t *len,
	   j_elem_fn fn)
{
	yajl_val a;
	int r = j_arr(c, obj, key, &a, 0);
	if (r <= 0)
		return r;
	size_t n = a->u.array.len;
	void *arr = jctx_calloc(c, n, size);
	if (!arr)
		return -ENOMEM;
	/* Hand the array over before filling it, so the caller's clear function
	 * frees what a failing element left behind. */
	*items = arr;
	*len = n;
	size_t kmark = jctx_push_key(c, key);
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark = jctx_push_index(c, i);
		yajl_val e = a->u.array.values[i];
		r = jv_obj(c, e);
		if (r >= 0)
			r = fn(c, e, (char *)arr + i * size);
		jctx_pop(c, mark);
	}
	jctx_pop(c, kmark);
	return r < 0 ? r : 1;
}
